/* The registry request bodies; see fetcher_report.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fetcher_report.h"
#include "jsonw.h"

#ifndef AGENT_COMMIT
#define AGENT_COMMIT	"unknown"
#endif
#ifndef AGENT_BRANCH
#define AGENT_BRANCH	"unknown"
#endif
#ifndef AGENT_BUILDTIME
#define AGENT_BUILDTIME	"unknown"
#endif

#if defined(__clang__)
#define AGENT_COMPILER	"clang " __clang_version__
#elif defined(__GNUC__)
#define AGENT_COMPILER	"gcc " __VERSION__
#else
#define AGENT_COMPILER	"unknown"
#endif

void
fetcher_report_build_info(struct build_info *b)
{
	b->version = PACKAGE_VERSION;
	b->commit = AGENT_COMMIT;
	b->branch = AGENT_BRANCH;
	b->buildtime = AGENT_BUILDTIME;
	b->compiler = AGENT_COMPILER;
}

/* A list of strings, or null for none. */
static void
json_list(struct jsonw *w, const struct strlist *l)
{
	size_t	 i;

	if (l == NULL) {
		jsonw_null(w);
		return;
	}
	jsonw_array_open(w);
	for (i = 0; i < l->n; i++)
		jsonw_string(w, l->v[i]);
	jsonw_array_close(w);
}

void
fetcher_report_json(struct buf *b, const struct report_info *r)
{
	struct jsonw	 w;

	jsonw_init(&w, b, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "uuid");
	json_list(&w, r->uuid);
	jsonw_key(&w, "sn");
	jsonw_string(&w, r->sn);
	jsonw_key(&w, "newiplist");
	json_list(&w, r->newiplist);
	jsonw_key(&w, "oldiplist");
	json_list(&w, r->oldiplist);
	jsonw_key(&w, "ns");
	json_list(&w, r->ns);
	jsonw_key(&w, "version");
	jsonw_string(&w, r->build.version);
	jsonw_key(&w, "commit");
	jsonw_string(&w, r->build.commit);
	jsonw_key(&w, "branch");
	jsonw_string(&w, r->build.branch);
	jsonw_key(&w, "buildtime");
	jsonw_string(&w, r->build.buildtime);
	jsonw_key(&w, "goversion");
	jsonw_string(&w, r->build.compiler);
	jsonw_key(&w, "newhostname");
	jsonw_string(&w, r->newhostname);
	jsonw_key(&w, "oldhostname");
	jsonw_string(&w, r->oldhostname);
	jsonw_key(&w, "agenttype");
	jsonw_string(&w, "loda-agent");
	jsonw_key(&w, "update");
	jsonw_bool(&w, r->update);
	jsonw_key(&w, "utime");
	jsonw_string(&w, r->utime);
	jsonw_map_close(&w);
	/* a failure marks b failed: the caller checks buf_failed() */
	(void)jsonw_finish(&w);
}

void
fetcher_report_ns_json(struct buf *b, const char *hostname, const char *ip,
    const char *sn)
{
	struct jsonw	 w;

	/* a Go map: keys sorted */
	jsonw_init(&w, b, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "hostname");
	jsonw_string(&w, hostname);
	jsonw_key(&w, "ip");
	jsonw_string(&w, ip);
	jsonw_key(&w, "sn");
	jsonw_string(&w, sn);
	jsonw_map_close(&w);
	(void)jsonw_finish(&w);
}

int
fetcher_report_format_utime(const struct timespec *ts, char *buf, size_t len)
{
	struct tm	 tm;
	char		 frac[16], zone[8];
	long		 off, nsec = ts->tv_nsec;
	int		 digits = 9;

	if (localtime_r(&ts->tv_sec, &tm) == NULL)
		return -1;
	frac[0] = '\0';
	if (nsec > 0) {
		while (nsec % 10 == 0) {
			nsec /= 10;
			digits--;
		}
		snprintf(frac, sizeof(frac), ".%0*ld", digits, nsec);
	}
	off = tm.tm_gmtoff / 60;
	if (off == 0)
		snprintf(zone, sizeof(zone), "Z");
	else
		snprintf(zone, sizeof(zone), "%c%02ld:%02ld",
		    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		    (off < 0 ? -off : off) % 60);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac, zone);
	return 0;
}
