/*
 * Asking the registry (lodastack-protocols.md section 1): one refresh is
 * POST /api/v1/agent/ns, then GET /api/v1/agent/resource for each
 * namespace in turn; the report is POST /api/v1/agent/report.  A file://
 * registry is read in one go; no registry means [agent] namespaces.
 *
 * What a bad answer keeps:
 *  - the ns call fails or is malformed (or is skipped because the
 *    hostname changed): the namespaces stay as they were, and their
 *    items are still asked for, as the Go agent did;
 *  - a resource call fails or is malformed: that namespace keeps the
 *    items it had; the others take their new answers (quirk 3 fixed);
 *  - the refresh has taken registryinterval: the namespaces not asked
 *    for yet keep the items they had.  The calls go one after another,
 *    each up to registrytimeout, so a registry that answers each just in
 *    time (or trickles) held a refresh of 256 namespaces for 43 minutes
 *    at the default timeout, 21 hours at the largest, while the next
 *    ones were due.  Each call's timeout is cut to what is left of it.
 * Every failure is logged with what was wrong.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "fetcher.h"
#include "fetcher_file.h"
#include "fetcher_report.h"
#include "log.h"

#define HOSTNAME_FILE	".hostname"
#define IP_FILE		".ip"

struct refresh {
	struct fetcher		*f;
	struct regset		 next;
	size_t			 idx;		/* namespace asked for */
	int			 ns_ok;
	size_t			 failed;	/* calls that failed */
	size_t			 res_failed;	/* resource calls of them */
	size_t			 kept;		/* bytes of items taken */
	char			 error[FETCHER_ERR_MAX];
	struct fhttp_req	*req;
	char			 base[CONF_STR_MAX];
	ev_tstamp		 deadline;	/* ev_now() of its end */
};

struct report {
	struct fetcher		*f;
	struct fhttp_req	*req;
	char			*hostname;	/* written to .hostname on 200 */
	int			 host_changed;
	char			*ips;		/* written to .ip on 200 */
	int			 ip_changed;
};

static void	 resource_next(struct refresh *);

enum fetcher_registry_kind
fetcher_registry_kind(const char *addr)
{
	if (addr[0] == '\0')
		return REGISTRY_NONE;
	if (strncasecmp(addr, "file://", 7) == 0)
		return REGISTRY_FILE;
	return REGISTRY_HTTP;
}

/* registryaddr without trailing slashes: the paths are appended. */
static void
registry_base(const char *addr, char *buf, size_t len)
{
	size_t	 n;

	strlcpy(buf, addr, len);
	while ((n = strlen(buf)) > 0 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
}

/* The first error of a refresh is its error; later ones are counted. */
static void
note_error(struct refresh *rf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_error(struct refresh *rf, const char *fmt, ...)
{
	va_list	 ap;

	if (rf->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rf->error, sizeof(rf->error), fmt, ap);
	va_end(ap);
}

static void
refresh_free(struct refresh *rf)
{
	if (rf == NULL)
		return;
	fetcher_http_cancel(rf->req);
	fetcher_regset_free(&rf->next);
	free(rf);
}

void
fetcher_refresh_cancel(struct fetcher *f)
{
	refresh_free(f->rf);
	f->rf = NULL;
}

/* The refresh is over: the new set (if any) runs, the waiters learn. */
static void
refresh_end(struct refresh *rf, int apply)
{
	struct fetcher	*f = rf->f;
	int		 ok, kept;
	char		 error[FETCHER_ERR_MAX];

	if (apply) {
		if ((kept = fetcher_regset_keep_unanswered(&rf->next,
		    &f->running)) == -1 ||
		    fetcher_apply(f, &rf->next) == -1)
			note_error(rf, "out of memory for the new items");
		else if (kept > 0)
			log_info("registry refresh: %d namespace%s kept the "
			    "items %s had", kept, kept > 1 ? "s" : "",
			    kept > 1 ? "they" : "it");
	}
	ok = rf->error[0] == '\0';
	if (!ok && rf->failed > 1)
		snprintf(error, sizeof(error), "%s (and %zu more failures)",
		    rf->error, rf->failed - 1);
	else
		strlcpy(error, rf->error, sizeof(error));
	f->rf = NULL;
	refresh_free(rf);
	fetcher_refresh_done(f, ok, error);
}

/* -- http(s) ------------------------------------------------------------ */

static void
resource_done(void *arg, const struct fhttp_result *res)
{
	struct refresh	*rf = arg;
	struct reg_ns	*ns = &rf->next.v[rf->idx];
	char		 why[FETCHER_ERR_MAX];
	size_t		 bytes;

	rf->req = NULL;
	if (res->error != NULL)
		snprintf(why, sizeof(why), "%s", res->error);
	else if (fetcher_registry_parse_resource(res->code, res->body, res->len,
	    ns, why, sizeof(why)) == 0) {
		why[0] = '\0';
		/*
		 * Each answer is bounded, not their sum: 256 namespaces of
		 * 16 MiB would be gigabytes.  Past the budget a namespace
		 * keeps the items it had, as for any answer refused.
		 */
		bytes = fetcher_regns_bytes(ns);
		if (rf->kept + bytes > REG_KEPT_MAX) {
			snprintf(why, sizeof(why), "with the namespaces "
			    "before it, its items would take more than %d MiB "
			    "of memory", REG_KEPT_MAX / (1024 * 1024));
			fetcher_regset_ns_free_items(ns);
			ns->answered = 0;
		} else
			rf->kept += bytes;
	}
	if (why[0] != '\0') {
		log_warnx("%s: registry: items of namespace \"%s\" (%s): %s; "
		    "it keeps the items it had",
		    __func__, ns->ns, res->url, why);
		note_error(rf, "items of \"%s\": %s", ns->ns, why);
		rf->failed++;
		rf->res_failed++;
	} else
		log_debug("registry: namespace \"%s\": %zu items (%.3f s)",
		    ns->ns, ns->nitems, res->seconds);
	rf->idx++;
	resource_next(rf);
}

/*
 * A call's timeout: registrytimeout, or what is left of the refresh's
 * time when that is less (a second at least); 0 when none is left.
 */
static long
call_timeout(struct refresh *rf)
{
	struct fetcher	*f = rf->f;
	ev_tstamp	 left = rf->deadline - ev_now(f->w->loop);

	if (left <= 0)
		return 0;
	if (left >= f->w->conf.registrytimeout)
		return (long)f->w->conf.registrytimeout;
	return left < 1 ? 1 : (long)left;
}

/* Out of time: the namespaces not asked for keep the items they had. */
static void
resource_out_of_time(struct refresh *rf)
{
	size_t	 left = rf->next.n - rf->idx;

	log_warnx("%s: registry: the refresh has taken [agent] "
	    "registryinterval (%lld s): %zu namespace%s (the first \"%s\") "
	    "not asked for, keeping the items %s had", __func__,
	    (long long)rf->f->w->conf.registryinterval, left,
	    left > 1 ? "s" : "", rf->next.v[rf->idx].ns,
	    left > 1 ? "they" : "it");
	note_error(rf, "items of \"%s\" and %zu more: not asked for, the "
	    "refresh took registryinterval", rf->next.v[rf->idx].ns,
	    left - 1);
	rf->failed += left;
	rf->res_failed += left;
	rf->idx = rf->next.n;
}

/* Ask for the items of the next namespace, or end the refresh. */
static void
resource_next(struct refresh *rf)
{
	struct fetcher	*f = rf->f;
	char		 url[CONF_STR_MAX + ITEM_NS_MAX + 64];
	char		 shown[sizeof(url)], err[256];
	long		 timeout;

	while (rf->idx < rf->next.n) {
		if ((timeout = call_timeout(rf)) == 0) {
			resource_out_of_time(rf);
			break;
		}
		/* the name was checked: nothing in it needs escaping */
		snprintf(url, sizeof(url), "%s/api/v1/agent/resource?ns=%s"
		    "&type=collect", rf->base, rf->next.v[rf->idx].ns);
		rf->req = fetcher_http_start(&f->http, url, NULL, 0,
		    timeout, resource_done, rf, err, sizeof(err));
		if (rf->req != NULL)
			return;
		fetcher_http_shown(url, shown, sizeof(shown));
		log_warnx("%s: registry: GET %s: %s", __func__, shown, err);
		note_error(rf, "items of \"%s\": %s", rf->next.v[rf->idx].ns,
		    err);
		rf->failed++;
		rf->res_failed++;
		rf->idx++;
	}
	/* nothing learnt at all: keep everything as it is */
	refresh_end(rf, rf->ns_ok || rf->res_failed < rf->next.n);
}

/* The namespaces we have, to ask for their items when the ns call
 * could not tell us. */
static int
keep_namespaces(struct refresh *rf)
{
	struct fetcher	*f = rf->f;
	size_t		 i;

	fetcher_regset_free(&rf->next);
	if (!f->have_running)
		return 0;
	for (i = 0; i < f->running.n; i++)
		if (fetcher_regset_add_ns(&rf->next, f->running.v[i].ns,
		    f->running.v[i].uuid) == NULL)
			return -1;
	return 0;
}

static void
ns_failed(struct refresh *rf)
{
	rf->ns_ok = 0;
	rf->failed++;
	if (keep_namespaces(rf) == -1) {
		note_error(rf, "out of memory");
		refresh_end(rf, 0);
		return;
	}
	rf->idx = 0;
	resource_next(rf);
}

static void
ns_done(void *arg, const struct fhttp_result *res)
{
	struct refresh	*rf = arg;
	char		 why[FETCHER_ERR_MAX];

	rf->req = NULL;
	if (res->error != NULL)
		snprintf(why, sizeof(why), "%s", res->error);
	else if (fetcher_registry_parse_ns(res->code, res->body, res->len,
	    &rf->next, why, sizeof(why)) == 0)
		why[0] = '\0';
	if (why[0] != '\0') {
		log_warnx("%s: registry: POST %s: %s; the namespaces stay as "
		    "they were", __func__, res->url, why);
		note_error(rf, "namespaces: %s", why);
		ns_failed(rf);
		return;
	}
	log_debug("registry: %zu namespaces (%.3f s)", rf->next.n,
	    res->seconds);
	rf->ns_ok = 1;
	rf->idx = 0;
	resource_next(rf);
}

/*
 * The ns call, unless the hostname differs from .hostname: then the
 * registry would register the new name as another machine, so the agent
 * waits until a report has told it about the rename (section 1.3.3).
 */
static void
refresh_http(struct refresh *rf)
{
	struct fetcher	*f = rf->f;
	const struct agent_conf *c = &f->w->conf;
	struct strlist	 ips;
	struct buf	 body;
	char		 host[IDENT_HOST_MAX], url[CONF_STR_MAX + 64];
	char		 shown[sizeof(url)];
	char		 err[256], *old = NULL, *ipjoined = NULL;
	int		 created, changed;

	registry_base(c->registryaddr, rf->base, sizeof(rf->base));
	if (fetcher_ident_hostname(host, sizeof(host), err,
	    sizeof(err)) == -1) {
		log_warnx("%s: registry: %s; the namespaces stay as they were",
		    __func__, err);
		note_error(rf, "namespaces: %s", err);
		ns_failed(rf);
		return;
	}
	changed = fetcher_ident_cache_check(c->pluginsdir, HOSTNAME_FILE, host,
	    &old, &created, err, sizeof(err));
	if (changed == -1)
		log_warnx("%s: registry: hostname cache: %s", __func__, err);
	if (changed == 1) {
		log_warnx("%s: registry: the hostname changed from \"%s\" to "
		    "\"%s\" (%s/%s): namespaces are not asked for until a "
		    "report to the registry is accepted", __func__, old, host,
		    c->pluginsdir, HOSTNAME_FILE);
		note_error(rf, "namespaces: hostname changed from \"%.64s\" "
		    "to \"%.64s\", skip fetch ns until a report is accepted",
		    old, host);
		free(old);
		ns_failed(rf);
		return;
	}
	free(old);
	strlist_init(&ips);
	if (fetcher_ident_host_ips(&c->ifaceprefix, &ips, err,
	    sizeof(err)) == -1)
		log_warnx("%s: registry: IP list: %s", __func__, err);
	buf_init(&body);
	if ((ipjoined = fetcher_ident_join(&ips, ',')) != NULL)
		fetcher_report_ns_json(&body, host, ipjoined, f->sn);
	free(ipjoined);
	strlist_free(&ips);
	snprintf(url, sizeof(url), "%s/api/v1/agent/ns", rf->base);
	if (buf_failed(&body) || body.p == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		rf->req = NULL;
	} else
		rf->req = fetcher_http_start(&f->http, url, body.p, body.len,
		    call_timeout(rf), ns_done, rf, err, sizeof(err));
	buf_free(&body);
	if (rf->req == NULL) {
		fetcher_http_shown(url, shown, sizeof(shown));
		log_warnx("%s: registry: POST %s: %s", __func__, shown, err);
		note_error(rf, "namespaces: %s", err);
		ns_failed(rf);
	}
}

/* -- file:// ------------------------------------------------------------ */

static void
refresh_file(struct refresh *rf)
{
	struct fetcher	*f = rf->f;
	const char	*path = f->w->conf.registryaddr + 7;
	char		 why[FETCHER_ERR_MAX], *text;
	size_t		 len, i;

	if (fetcher_file_read_all(path, REG_ANSWER_MAX, &text, &len) == -1) {
		snprintf(why, sizeof(why), "cannot read %s: %s", path,
		    errno == EFBIG ? "larger than 16 MiB" :
		    errno == FETCHER_FILE_NOTREG ? "not a regular file" :
		    strerror(errno));
		goto fail;
	}
	if (fetcher_registry_parse_file(path, text, len, &rf->next, why,
	    sizeof(why)) == -1) {
		free(text);
		goto fail;
	}
	free(text);
	for (i = 0; i < rf->next.n; i++)
		if (!rf->next.v[i].answered) {
			rf->failed++;
			note_error(rf, "%s: the items of \"%s\" are malformed "
			    "(see the log)", path, rf->next.v[i].ns);
		}
	refresh_end(rf, 1);
	return;
fail:
	log_warnx("%s: registry file %s: %s; everything stays as it was",
	    __func__, path, why);
	note_error(rf, "%s", why);
	rf->failed++;
	refresh_end(rf, 0);
}

void
fetcher_refresh_start(struct fetcher *f)
{
	struct refresh	*rf;

	if (f->rf != NULL)
		return;
	switch (fetcher_registry_kind(f->w->conf.registryaddr)) {
	case REGISTRY_NONE:
		if (fetcher_apply_conf(f) == -1)
			fetcher_refresh_done(f, 0, "out of memory");
		else
			fetcher_refresh_done(f, 1, "");
		return;
	case REGISTRY_FILE:
	case REGISTRY_HTTP:
		break;
	}
	if ((rf = calloc(1, sizeof(*rf))) == NULL) {
		fetcher_refresh_done(f, 0, "out of memory");
		return;
	}
	rf->f = f;
	rf->deadline = ev_now(f->w->loop) + f->w->conf.registryinterval;
	fetcher_regset_init(&rf->next);
	f->rf = rf;
	if (fetcher_registry_kind(f->w->conf.registryaddr) == REGISTRY_FILE)
		refresh_file(rf);
	else if (!f->http_up) {
		note_error(rf, "no HTTP client");
		rf->failed++;
		refresh_end(rf, 0);
	} else
		refresh_http(rf);
}

/* -- report ------------------------------------------------------------- */

static void
report_free(struct report *rp)
{
	if (rp == NULL)
		return;
	fetcher_http_cancel(rp->req);
	free(rp->hostname);
	free(rp->ips);
	free(rp);
}

void
fetcher_report_cancel(struct fetcher *f)
{
	report_free(f->rp);
	f->rp = NULL;
	ev_timer_stop(f->w->loop, &f->report_timer);
	f->reporting = 0;
}

static void
report_done(void *arg, const struct fhttp_result *res)
{
	struct report	*rp = arg;
	struct fetcher	*f = rp->f;
	const char	*dir = f->w->conf.pluginsdir;
	char		 err[256];

	rp->req = NULL;
	if (res->error != NULL || res->code != 200) {
		f->st.reports_failed++;
		if (res->error != NULL)
			log_warnx("%s: registry: report to %s failed: %s",
			    __func__, res->url, res->error);
		else
			log_warnx("%s: registry: report to %s failed: HTTP %ld",
			    __func__, res->url, res->code);
	} else {
		f->st.reports_ok++;
		log_debug("registry: report accepted");
		/* the registry knows now: the caches follow */
		if (rp->host_changed && fetcher_ident_cache_write(dir,
		    HOSTNAME_FILE, rp->hostname, err, sizeof(err)) == -1)
			log_warnx("%s: registry: hostname cache: %s", __func__,
			    err);
		if (rp->ip_changed && fetcher_ident_cache_write(dir, IP_FILE,
		    rp->ips, err, sizeof(err)) == -1)
			log_warnx("%s: registry: IP cache: %s", __func__, err);
		if (rp->host_changed)
			log_info("registry: rename to \"%s\" accepted; asking "
			    "for namespaces again", rp->hostname);
	}
	f->rp = NULL;
	report_free(rp);
	fetcher_push_stats(f);
}

/* ["a","b"] from "a,b" as Go's strings.Split does ("" gives [""]). */
static int
split_list(const char *s, struct strlist *out)
{
	char	*copy, *p, *tok;
	int	 rc = 0;

	if ((copy = strdup(s)) == NULL)
		return -1;
	for (p = copy; (tok = strsep(&p, ",")) != NULL;)
		if (strlist_add(out, tok) == -1) {
			rc = -1;
			break;
		}
	free(copy);
	return rc;
}

static void
report_send(struct fetcher *f)
{
	const struct agent_conf	*c = &f->w->conf;
	struct report_info	 ri;
	struct report		*rp;
	struct strlist		 ips, oldips, uuids, nss;
	struct timespec		 now;
	struct buf		 body;
	char			 host[IDENT_HOST_MAX], utime[64], err[256];
	char			 url[CONF_STR_MAX + 64], base[CONF_STR_MAX];
	char			*oldhost = NULL, *oldip = NULL;
	int			 created, hchanged, ichanged;
	size_t			 i, n;

	if (f->rp != NULL) {
		log_debug("registry: the previous report is still in flight");
		return;
	}
	if (fetcher_ident_hostname(host, sizeof(host), err,
	    sizeof(err)) == -1) {
		log_warnx("%s: registry: no report: %s", __func__, err);
		return;
	}
	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		log_warnx("%s: registry: no report: out of memory", __func__);
		return;
	}
	rp->f = f;
	strlist_init(&ips);
	strlist_init(&oldips);
	strlist_init(&uuids);
	strlist_init(&nss);
	buf_init(&body);
	if (fetcher_ident_host_ips(&c->ifaceprefix, &ips, err,
	    sizeof(err)) == -1)
		log_warnx("%s: registry: IP list: %s", __func__, err);
	if ((hchanged = fetcher_ident_cache_check(c->pluginsdir, HOSTNAME_FILE,
	    host, &oldhost, &created, err, sizeof(err))) == -1) {
		log_warnx("%s: registry: hostname cache: %s", __func__, err);
		hchanged = 0;
	}
	if ((rp->ips = fetcher_ident_join(&ips, ',')) == NULL ||
	    (rp->hostname = strdup(host)) == NULL)
		goto nomem;
	if ((ichanged = fetcher_ident_cache_check(c->pluginsdir, IP_FILE,
	    rp->ips, &oldip, &created, err, sizeof(err))) == -1) {
		log_warnx("%s: registry: IP cache: %s", __func__, err);
		ichanged = 0;
	}
	if (oldip != NULL && split_list(oldip, &oldips) == -1)
		goto nomem;
	rp->host_changed = hchanged;
	rp->ip_changed = ichanged;
	/* the registry's view: uuids and namespaces of its last answer */
	n = f->have_running ? f->running.n : 0;
	for (i = 0; i < n; i++)
		if (strlist_add(&uuids, f->running.v[i].uuid) == -1 ||
		    strlist_add(&nss, f->running.v[i].ns) == -1)
			goto nomem;
	if (clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    fetcher_report_format_utime(&now, utime, sizeof(utime)) == -1) {
		log_warnx("%s: registry: no report: cannot format the time",
		    __func__);
		goto out;
	}
	memset(&ri, 0, sizeof(ri));
	ri.uuid = f->have_running ? &uuids : NULL;
	ri.sn = f->sn;
	ri.newiplist = &ips;
	ri.oldiplist = oldip != NULL ? &oldips : NULL;
	ri.ns = &nss;
	fetcher_report_build_info(&ri.build);
	ri.newhostname = host;
	ri.oldhostname = hchanged && oldhost != NULL ? oldhost : host;
	ri.update = hchanged || ichanged;
	ri.utime = utime;
	fetcher_report_json(&body, &ri);
	if (buf_failed(&body))
		goto nomem;
	registry_base(c->registryaddr, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/api/v1/agent/report", base);
	rp->req = fetcher_http_start(&f->http, url, body.p, body.len,
	    (long)c->registrytimeout, report_done, rp, err, sizeof(err));
	if (rp->req == NULL) {
		fetcher_http_shown(url, base, sizeof(base));
		log_warnx("%s: registry: report: POST %s: %s", __func__, base,
		    err);
		f->st.reports_failed++;
		goto out;
	}
	if (ri.update)
		log_info("registry: reporting a change: hostname \"%s\" -> "
		    "\"%s\", IPs \"%s\" -> \"%s\"", ri.oldhostname, host,
		    oldip != NULL ? oldip : "", rp->ips);
	f->rp = rp;
	rp = NULL;
	goto out;
nomem:
	log_warnx("%s: registry: no report: out of memory", __func__);
out:
	report_free(rp);
	free(oldhost);
	free(oldip);
	strlist_free(&ips);
	strlist_free(&oldips);
	strlist_free(&uuids);
	strlist_free(&nss);
	buf_free(&body);
}

void
fetcher_report_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fetcher	*f = t->data;

	report_send(f);
}

/* Once at start, after a random 0-10 min, then every 10 min (1.3). */
void
fetcher_report_start_cycle(struct fetcher *f)
{
	double	 first;

	if (f->reporting ||
	    fetcher_registry_kind(f->w->conf.registryaddr) != REGISTRY_HTTP ||
	    !f->http_up)
		return;
	f->reporting = 1;
	report_send(f);
	first = (double)arc4random_uniform(600001) / 1000.0;
	ev_timer_stop(f->w->loop, &f->report_timer);
	ev_timer_set(&f->report_timer, first, FETCHER_REPORT_EVERY);
	ev_timer_start(f->w->loop, &f->report_timer);
}
