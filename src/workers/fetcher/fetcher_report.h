/*
 * The JSON bodies the fetcher posts to the registry, byte for byte as the
 * Go agent's encoding/json wrote them (lodastack-protocols.md 1.1, 1.3):
 * keys in the order of the Go structs (sorted for the ns map), strings
 * escaped as Go escapes them (jsonw.h, JSONW_GO).
 *
 * Build information: `version` is the package version (configure.ac);
 * `commit`, `branch` and `buildtime` come from -DAGENT_COMMIT=\"...\",
 * -DAGENT_BRANCH, -DAGENT_BUILDTIME when the build defines them, else
 * "unknown", as the Go agent said without link-time values.  The report's
 * `goversion` (free text nothing checks) carries the C compiler that
 * built the agent, e.g. "gcc 12.2.0".
 */
#ifndef AGENT_FETCHER_REPORT_H
#define AGENT_FETCHER_REPORT_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "conf.h"

struct build_info {
	const char	*version;
	const char	*commit;
	const char	*branch;
	const char	*buildtime;
	const char	*compiler;	/* the report's "goversion" */
};

void	 fetcher_report_build_info(struct build_info *);

/* The models.Report fields, in order.  NULL lists encode as null. */
struct report_info {
	const struct strlist	*uuid;
	const char		*sn;
	const struct strlist	*newiplist;	/* never NULL: [] for none */
	const struct strlist	*oldiplist;
	const struct strlist	*ns;
	struct build_info	 build;
	const char		*newhostname;
	const char		*oldhostname;
	int			 update;
	const char		*utime;
};

/* POST /api/v1/agent/report body. */
void	 fetcher_report_json(struct buf *, const struct report_info *);

/* POST /api/v1/agent/ns body: {"hostname":..,"ip":..,"sn":..}. */
void	 fetcher_report_ns_json(struct buf *, const char *hostname,
    const char *ip,
	    const char *sn);

/*
 * Go's time.Time JSON: RFC 3339 with nanoseconds, trailing zeros of the
 * fraction dropped (no fraction when zero), the local offset or "Z".
 * `buf` of at least 40 bytes.  0, or -1 when the time cannot be broken
 * down.
 */
int	 fetcher_report_format_utime(const struct timespec *, char *buf,
    size_t len);

#endif
