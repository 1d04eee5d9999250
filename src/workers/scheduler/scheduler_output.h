/*
 * What a plugin run publishes (lodastack-protocols.md 3.5 and 6.1):
 * its standard output as points named <item name>.<metric> in the
 * plugin's ns, and one plugin.result point per run in
 * exception.monitor.loda.  Pure functions: no state, no I/O; sending
 * them when a run ends is scheduler_output_publish_run() (scheduler.h).
 */
#ifndef AGENT_SCHEDULER_OUTPUT_H
#define AGENT_SCHEDULER_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "encode.h"
#include "items.h"
#include "points_json.h"
#include "points_msg.h"	/* points_chunks(), used to be here */

#define EXCEPTION_NS		"exception.monitor.loda"
#define PLUGIN_RESULT_NAME	"plugin.result"

/* Where the points of one plugin go and how they are named. */
struct scheduler_output_target {
	char		 prefix[ITEM_NAME_MAX + 8];	/* "PLUGIN.mysql." */
	char		 ns[ITEM_NS_MAX + 8];
	int		 send;		/* 0: nowhere to send them */
};

/*
 * The usual: prefix "<name>.", the plugin's ns.  A project whose first
 * '-'-separated field is "SEC" (the Go agent's security plugins): prefix
 * "SEC.<name>.", ns "sec.<ns without its first label>"; an ns without a
 * dot gives send = 0.
 */
void	 scheduler_output_target(const char *ns, const char *name,
    const char *project,
	    struct scheduler_output_target *);

/*
 * Plugin stdout into encoded points appended to `pts` (lenient: bad
 * points dropped and counted in res).  Output of white space only is no
 * points and no error.  0, or -1 with res->err when it is not a JSON
 * array at all.
 */
int	 scheduler_output_points(const char *out, size_t len,
	    const struct scheduler_output_target *, const char *host,
	    int64_t now,
	    enum out_format, struct buf *pts, struct post_result *res);

/* plugin.result "type": how a run came about, or why none could. */
#define RESULT_REGULAR		"regular"	/* its timer */
#define RESULT_CALL		"call"		/* /plugins/run */
#define RESULT_UNTRUSTED	"untrusted"	/* a commit refused by the
						 * signature check */

/*
 * One plugin.result point (value 0 ok, 1 failed; tags ns, name = repo,
 * type, host) appended to `pts`.  0 or -1 with err.
 */
int	 scheduler_output_result_point(const char *ns, const char *repo,
	    const char *type, int failed, const char *host, int64_t now,
	    enum out_format, struct buf *pts, char *err, size_t errlen);

#endif
