/* The registry request bodies; see fetcher_report.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "encode.h"
#include "fetcher_report.h"

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
build_info_get(struct build_info *b)
{
	b->version = PACKAGE_VERSION;
	b->commit = AGENT_COMMIT;
	b->branch = AGENT_BRANCH;
	b->buildtime = AGENT_BUILDTIME;
	b->compiler = AGENT_COMPILER;
}

static void
json_str(struct buf *b, const char *s)
{
	encode_json_string(b, s, strlen(s));
}

static void
json_key(struct buf *b, const char *key, int first)
{
	if (!first)
		buf_addc(b, ',');
	json_str(b, key);
	buf_addc(b, ':');
}

static void
json_list(struct buf *b, const struct strlist *l)
{
	size_t	 i;

	if (l == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		json_str(b, l->v[i]);
	}
	buf_addc(b, ']');
}

void
report_json(struct buf *b, const struct report_info *r)
{
	buf_addc(b, '{');
	json_key(b, "uuid", 1);
	json_list(b, r->uuid);
	json_key(b, "sn", 0);
	json_str(b, r->sn);
	json_key(b, "newiplist", 0);
	json_list(b, r->newiplist);
	json_key(b, "oldiplist", 0);
	json_list(b, r->oldiplist);
	json_key(b, "ns", 0);
	json_list(b, r->ns);
	json_key(b, "version", 0);
	json_str(b, r->build.version);
	json_key(b, "commit", 0);
	json_str(b, r->build.commit);
	json_key(b, "branch", 0);
	json_str(b, r->build.branch);
	json_key(b, "buildtime", 0);
	json_str(b, r->build.buildtime);
	json_key(b, "goversion", 0);
	json_str(b, r->build.compiler);
	json_key(b, "newhostname", 0);
	json_str(b, r->newhostname);
	json_key(b, "oldhostname", 0);
	json_str(b, r->oldhostname);
	json_key(b, "agenttype", 0);
	json_str(b, "loda-agent");
	json_key(b, "update", 0);
	buf_adds(b, r->update ? "true" : "false");
	json_key(b, "utime", 0);
	json_str(b, r->utime);
	buf_addc(b, '}');
}

void
ns_request_json(struct buf *b, const char *hostname, const char *ip,
    const char *sn)
{
	/* a Go map: keys sorted */
	buf_addc(b, '{');
	json_key(b, "hostname", 1);
	json_str(b, hostname);
	json_key(b, "ip", 0);
	json_str(b, ip);
	json_key(b, "sn", 0);
	json_str(b, sn);
	buf_addc(b, '}');
}

int
format_utime(const struct timespec *ts, char *buf, size_t len)
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
