/*
 * The fetcher worker: asks the registry which namespaces this host is in
 * and what to collect, keeps the last good answer in pluginsdir, and
 * tells the front (namespaces), the scheduler and the collector (items).
 * The message flow is described in fetcher.h; the registry conversation
 * is in fetcher_refresh.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "fetcher.h"
#include "fetcher_cache.h"
#include "fetcher_items.h"
#include "log.h"
#include "metrics.h"
#include "plugin_msg.h"
#include "status.h"

static void
send_items(struct fetcher *f, enum role to)
{
	uint32_t	 reqid = 0;

	if (f->items_sent.len == 0 || f->w->peer_pid[to] <= 0)
		return;
	/* the scheduler acknowledges: numbered, never 0 */
	if (to == ROLE_SCHEDULER && ++f->items_seq == 0)
		f->items_seq = 1;
	if (to == ROLE_SCHEDULER)
		reqid = f->items_seq;
	if (worker_send_peer(f->w, to, MSG_ITEMS, reqid, f->items_sent.buf,
	    f->items_sent.len) == -1) {
		log_warn("%s: %zu bytes of items to %s", __func__,
		    f->items_sent.len, proto_role_name(to));
		return;
	}
	if (to == ROLE_SCHEDULER)
		f->items_unacked = reqid;
	f->st.items_sent++;
}

static void
send_namespaces(struct fetcher *f, uint32_t reqid, int ok, const char *err)
{
	struct pbuf	 pb;

	if (f->w->peer_pid[ROLE_FRONT] <= 0)
		return;
	codec_put_init(&pb);
	plugin_msg_namespaces_encode(&pb, ok, err, fetcher_namespaces(f));
	if (codec_put_failed(&pb) || worker_send_peer(f->w, ROLE_FRONT,
	    MSG_NAMESPACES, reqid, pb.buf, pb.len) == -1)
		log_warn("%s: namespaces to the front", __func__);
	codec_put_free(&pb);
}

/*
 * Tell the peers what changed: MSG_ITEMS when the encoded items differ
 * from the last ones sent, MSG_NAMESPACES when the namespaces do.  A peer
 * that is down gets them when it comes back (fetcher_peer_changed).
 * Returns 1 when the items changed.
 */
static int
publish(struct fetcher *f)
{
	struct pbuf	 tmp;
	int		 changed = 0;

	codec_put_reset(&f->items_msg);
	items_encode(&f->items_msg, &f->items);
	if (codec_put_failed(&f->items_msg)) {
		log_warnx("%s: out of memory for the items", __func__);
		codec_put_free(&f->items_msg);
		codec_put_init(&f->items_msg);
	} else if (f->items_msg.len != f->items_sent.len ||
	    memcmp(f->items_msg.buf, f->items_sent.buf,
	    f->items_msg.len) != 0) {
		/* swap: items_sent is now what goes out */
		tmp = f->items_sent;
		f->items_sent = f->items_msg;
		f->items_msg = tmp;
		send_items(f, ROLE_SCHEDULER);
		send_items(f, ROLE_COLLECTOR);
		changed = 1;
	}
	if (!f->ns_sent_once || !strlist_equal(&f->ns_sent,
	    fetcher_namespaces(f))) {
		strlist_free(&f->ns_sent);
		if (strlist_copy(&f->ns_sent, fetcher_namespaces(f)) == -1) {
			/* compared as different next time: sent again */
			strlist_free(&f->ns_sent);
			f->ns_sent_once = 0;
		} else
			f->ns_sent_once = 1;
		send_namespaces(f, 0, f->last_ok, f->last_error);
	}
	return changed;
}

const struct strlist *
fetcher_namespaces(const struct fetcher *f)
{
	return &f->items.namespaces;
}

static void
log_set(const struct fetcher *f, const char *what)
{
	char	 nss[256];
	size_t	 i;

	strlcpy(nss, f->items.namespaces.n == 0 ? "none" : "", sizeof(nss));
	for (i = 0; i < f->items.namespaces.n; i++) {
		if (i > 0)
			strlcat(nss, ",", sizeof(nss));
		strlcat(nss, f->items.namespaces.v[i], sizeof(nss));
	}
	log_info("%s: %zu namespace%s (%s), %zu plugins, %zu PORT and %zu "
	    "PROC checks, %llu items rejected", what,
	    f->items.namespaces.n, f->items.namespaces.n == 1 ? "" : "s",
	    nss, f->items.nplugins, f->items.nports, f->items.nprocs,
	    (unsigned long long)f->st.rejected_items);
}

/* The namespaces the cache left out: how many, some of them in `out`. */
static size_t
cache_left_out(const struct regset *rs, const char *skip, char *out,
    size_t outlen)
{
	size_t	 i, n = 0, used = 0;
	int	 w;

	out[0] = '\0';
	for (i = 0; i < rs->n; i++) {
		if (!skip[i])
			continue;
		if (n++ < 4 && used < outlen) {
			w = snprintf(out + used, outlen - used, "%s%s",
			    used > 0 ? ", " : "", rs->v[i].ns);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	if (n > 4 && used < outlen)
		(void)snprintf(out + used, outlen - used, ", ...");
	return n;
}

/* Rewrite the cache when what runs differs from what it holds. */
static void
write_cache(struct fetcher *f)
{
	struct buf	 doc;
	char		 err[512], names[300], *skip;
	int		 kind;

	buf_init(&doc);
	if ((skip = calloc(f->running.n + 1, 1)) == NULL ||
	    (kind = fetcher_cache_doc(&doc, &f->running, skip)) == -1) {
		log_warnx("%s: out of memory", __func__);
		goto out;
	}
	if (kind == 3) {
		/* the agent runs on; the next start may be from older data */
		log_warnx("%s: registry cache: %zu bytes even without any "
		    "namespace's items, more than the %d it is read back at: "
		    "not written", __func__, doc.len, REG_ANSWER_MAX);
		goto out;
	}
	if (doc.len == f->cache_doc.len && (doc.len == 0 ||
	    memcmp(doc.p, f->cache_doc.p, doc.len) == 0))
		goto out;
	if (fetcher_cache_write(f->w->conf.pluginsdir, &doc, err,
	    sizeof(err)) == -1) {
		/* the agent runs on; the next start may be from older data */
		log_warnx("%s: registry cache: %s", __func__, err);
		goto out;
	}
	if (kind == 1)
		log_info("registry cache: the answers take more than %d "
		    "bytes: only the items and keys the agent reads are kept",
		    REG_ANSWER_MAX);
	if (kind == 2)
		log_warnx("%s: registry cache: the answers take more than %d "
		    "bytes even with only the items and keys the agent reads: "
		    "the items of %zu namespaces are left out, the largest "
		    "(%s)", __func__, REG_ANSWER_MAX, cache_left_out(
		    &f->running, skip, names, sizeof(names)), names);
	buf_free(&f->cache_doc);
	f->cache_doc = doc;
	buf_init(&doc);
out:
	buf_free(&doc);
	free(skip);
}

/* The largest MSG_ITEMS both of its receivers take. */
static size_t
items_msg_max(void)
{
	const struct edge_def	*s, *c;

	s = proto_peer_edge_find(ROLE_FETCHER, ROLE_SCHEDULER);
	c = proto_peer_edge_find(ROLE_FETCHER, ROLE_COLLECTOR);
	if (s == NULL || c == NULL)
		return 0;
	return s->maxpayload < c->maxpayload ? s->maxpayload : c->maxpayload;
}

static int
apply_set(struct fetcher *f, struct regset *next, int from_cache)
{
	struct items	 it;
	size_t		 rejected;

	fetcher_regset_sort(next);
	items_init(&it);
	if (fetcher_regset_to_items(next, &it, &rejected) == -1 ||
	    fetcher_items_fit(&it, items_msg_max(), &rejected) == -1) {
		items_free(&it);
		return -1;
	}
	items_free(&f->items);
	f->items = it;
	fetcher_regset_free(&f->running);
	f->running = *next;
	fetcher_regset_init(next);
	f->have_running = 1;
	f->st.rejected_items = rejected;
	f->st.from_cache = from_cache;
	if (!from_cache)
		write_cache(f);
	if (publish(f))
		log_set(f, from_cache ? "starting from the registry cache" :
		    "registry");
	return 0;
}

int
fetcher_apply(struct fetcher *f, struct regset *next)
{
	return apply_set(f, next, 0);
}

int
fetcher_apply_conf(struct fetcher *f)
{
	struct items	 it;

	items_init(&it);
	if (strlist_copy(&it.namespaces, &f->w->conf.namespaces) == -1) {
		items_free(&it);
		return -1;
	}
	items_free(&f->items);
	f->items = it;
	fetcher_regset_free(&f->running);
	f->have_running = 0;
	f->st.rejected_items = 0;
	f->st.from_cache = 0;
	if (publish(f))
		log_set(f, fetcher_registry_kind(f->w->conf.registryaddr) ==
		    REGISTRY_NONE ? "no registry ([agent] namespaces)" :
		    "until the registry answers ([agent] namespaces)");
	return 0;
}

void
fetcher_push_stats(struct fetcher *f)
{
	const struct stat_kv	 v[] = {
		{ "refresh_ok", f->st.refresh_ok },
		{ "refresh_failed", f->st.refresh_failed },
		{ "last_refresh_ok", f->st.last_success },
		{ "reports_ok", f->st.reports_ok },
		{ "reports_failed", f->st.reports_failed },
		{ "namespaces", f->items.namespaces.n },
		{ "plugins", f->items.nplugins },
		{ "ports", f->items.nports },
		{ "procs", f->items.nprocs },
		{ "rejected_items", f->st.rejected_items },
		{ "from_cache", f->st.from_cache },
		{ "items_sent", f->st.items_sent },
	};
	struct metric_set	 ms;

	metrics_init(&ms);
	(void)metrics_put(&ms, "registry_requests_total", f->st.refresh_ok +
	    f->st.reports_ok, "result", "ok", NULL);
	(void)metrics_put(&ms, "registry_requests_total",
	    f->st.refresh_failed + f->st.reports_failed, "result", "failed",
	    NULL);
	/* a gauge: the set in use, not every refresh that says it again */
	(void)metrics_put(&ms, "registry_items_rejected",
	    f->st.rejected_items, NULL);
	(void)worker_push_stats_all(f->w, v, sizeof(v) / sizeof(v[0]), NULL, 0,
	    f->last_error, &ms);
	metrics_free(&ms);
}

static void
answer_now(struct fetcher *f, int ok, const char *err)
{
	size_t	 i;

	ev_timer_stop(f->w->loop, &f->ack_timer);
	f->held = 0;
	for (i = 0; i < f->nwaiters; i++)
		send_namespaces(f, f->waiters[i], ok, err);
	f->nwaiters = 0;
}

/*
 * After a refresh: answer /update, but only once the scheduler applied
 * the items it changed, so a /plugins call right after sees them (the Go
 * agent answered once everything was applied).
 */
static void
answer_waiters(struct fetcher *f, int ok, const char *err)
{
	if (f->nwaiters == 0)
		return;
	if (f->items_unacked == 0 || f->w->peer_pid[ROLE_SCHEDULER] <= 0) {
		answer_now(f, ok, err);
		return;
	}
	f->held = 1;
	f->held_ok = ok;
	strlcpy(f->held_error, err, sizeof(f->held_error));
	if (!ev_is_active(&f->ack_timer)) {
		ev_timer_set(&f->ack_timer, FETCHER_ACK_WAIT, 0.);
		ev_timer_start(f->w->loop, &f->ack_timer);
	}
}

/* The scheduler is slow or gone: answer anyway, the items will follow. */
static void
release_held(struct fetcher *f)
{
	if (f->held)
		answer_now(f, f->held_ok, f->held_error);
}

static void
ack_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fetcher	*f = t->data;

	log_warnx("%s: the scheduler did not confirm new items within %.0f s; "
	    "answering /update anyway", __func__, FETCHER_ACK_WAIT);
	release_held(f);
}

static int
items_ack(struct fetcher *f, struct frame_in *in)
{
	if (in->datalen != 0)
		return -1;
	if (in->hdr.reqid == f->items_unacked) {
		f->items_unacked = 0;
		release_held(f);
	}
	return 0;
}

static void
arm_refresh(struct fetcher *f, double after)
{
	ev_timer_stop(f->w->loop, &f->refresh_timer);
	ev_timer_set(&f->refresh_timer, after, 0.);
	ev_timer_start(f->w->loop, &f->refresh_timer);
}

void
fetcher_refresh_done(struct fetcher *f, int ok, const char *error)
{
	double	 interval = (double)f->w->conf.registryinterval, jitter;

	f->last_ok = ok;
	strlcpy(f->last_error, error, sizeof(f->last_error));
	if (ok) {
		f->st.refresh_ok++;
		f->st.last_success = (uint64_t)time(NULL);
	} else {
		f->st.refresh_failed++;
		log_warnx("%s: registry refresh failed: %s", __func__, error);
	}
	answer_waiters(f, ok, error);
	/* spread the agents of a fleet over the interval */
	jitter = interval * FETCHER_JITTER *
	    ((double)arc4random_uniform(2001) / 1000.0 - 1.0);
	arm_refresh(f, interval + jitter);
	fetcher_report_start_cycle(f);
	fetcher_push_stats(f);
}

static void
refresh_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fetcher	*f = t->data;

	fetcher_refresh_start(f);
}

/* Before the sandbox: the serial number is readable by root only. */
static int
fetcher_setup(struct worker *w, char *err, size_t errlen)
{
	struct fetcher	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->w = w;
	w->priv = f;
	fetcher_regset_init(&f->running);
	items_init(&f->items);
	codec_put_init(&f->items_msg);
	codec_put_init(&f->items_sent);
	strlist_init(&f->ns_sent);
	buf_init(&f->cache_doc);
	f->last_ok = 1;
	ev_timer_init(&f->refresh_timer, refresh_timer_cb, 0., 0.);
	f->refresh_timer.data = f;
	ev_timer_init(&f->ack_timer, ack_timeout_cb, FETCHER_ACK_WAIT, 0.);
	f->ack_timer.data = f;
	ev_timer_init(&f->report_timer, fetcher_report_timer_cb, 0., 0.);
	f->report_timer.data = f;
	fetcher_ident_sn_read(IDENT_SN_PATH, f->sn, sizeof(f->sn));
	if (f->sn[0] == '\0')
		log_debug("no serial number in %s (readable by root only)",
		    IDENT_SN_PATH);
	/*
	 * Single-threaded and before the sandbox, as libcurl asks; only for
	 * a registry over HTTP: a file registry never maps it (curl_dl.h),
	 * and a reload to an HTTP one starts a new fetcher.
	 */
	if (fetcher_registry_kind(w->conf.registryaddr) != REGISTRY_HTTP) {
		log_debug("libcurl not loaded: no registry over HTTP");
		return 0;
	}
	return curl_dl_open(&f->curl, err, errlen);
}

static void
start_from_cache(struct fetcher *f)
{
	struct regset	 rs;
	char		 err[512];
	int		 r;

	fetcher_regset_init(&rs);
	r = fetcher_cache_load(f->w->conf.pluginsdir, &rs, err, sizeof(err));
	if (r == -1)
		log_warnx("%s: registry cache not used: %s", __func__, err);
	if (r == 1 && apply_set(f, &rs, 1) == -1)
		log_warnx("%s: registry cache not used: out of memory",
		    __func__);
	fetcher_regset_free(&rs);
	if (r == 1 && f->have_running) {
		/* what the file holds, so an unchanged answer is not
		 * written again */
		fetcher_cache_encode(&f->cache_doc, &f->running);
		if (buf_failed(&f->cache_doc)) {
			buf_free(&f->cache_doc);
			buf_init(&f->cache_doc);
		}
	}
}

static int
fetcher_start(struct worker *w, char *err, size_t errlen)
{
	struct fetcher	*f = w->priv;

	if (f->curl.handle != NULL) {
		if (fetcher_http_init(&f->http, w->loop, &f->curl, err,
		    errlen) == -1)
			return -1;
		f->http_up = 1;
	}
	if (fetcher_registry_kind(w->conf.registryaddr) != REGISTRY_NONE)
		start_from_cache(f);
	if (!f->have_running && fetcher_apply_conf(f) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* the first refresh as soon as the loop runs */
	arm_refresh(f, 0.);
	fetcher_push_stats(f);
	return 0;
}

static int
registry_changed(const struct agent_conf *a, const struct agent_conf *b)
{
	size_t	 i;

	if (strcmp(a->registryaddr, b->registryaddr) != 0 ||
	    strcmp(a->pluginsdir, b->pluginsdir) != 0 ||
	    a->registryinterval != b->registryinterval ||
	    a->registrytimeout != b->registrytimeout ||
	    !strlist_equal(&a->namespaces, &b->namespaces) ||
	    a->ifaceprefix.n != b->ifaceprefix.n)
		return 1;
	for (i = 0; i < a->ifaceprefix.n; i++)
		if (strcmp(a->ifaceprefix.v[i], b->ifaceprefix.v[i]) != 0)
			return 1;
	return 0;
}

/*
 * A reload that changed a registry setting refreshes at once (after the
 * runtime swapped the config in), from the new registry if it moved;
 * requests in flight to the old one are dropped.
 */
static int
fetcher_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct fetcher	*f = w->priv;

	if (f == NULL || !registry_changed(&w->conf, next))
		return 0;
	if (fetcher_registry_kind(next->registryaddr) == REGISTRY_HTTP &&
	    !f->http_up) {
		snprintf(err, errlen, "a registry over HTTP needs libcurl, "
		    "loaded only at the start of a fetcher that has one");
		return WORKER_RECONF_RESPAWN;
	}
	fetcher_refresh_cancel(f);
	if (strcmp(w->conf.registryaddr, next->registryaddr) != 0)
		fetcher_report_cancel(f);
	/* what the old directory's cache holds says nothing of the new's */
	if (strcmp(w->conf.pluginsdir, next->pluginsdir) != 0) {
		buf_free(&f->cache_doc);
		buf_init(&f->cache_doc);
	}
	log_info("registry settings changed: refreshing now");
	arm_refresh(f, 0.);
	return 0;
}

/* A refresh asked for before the fetcher started: no namespaces yet. */
static void
answer_early(struct worker *w, uint32_t reqid)
{
	struct strlist	 none;
	struct pbuf	 pb;

	strlist_init(&none);
	codec_put_init(&pb);
	plugin_msg_namespaces_encode(&pb, 0, "the fetcher is starting", &none);
	if (codec_put_failed(&pb) || worker_send_peer(w, ROLE_FRONT,
	    MSG_NAMESPACES, reqid, pb.buf, pb.len) == -1)
		log_warn("%s: namespaces to the front", __func__);
	codec_put_free(&pb);
}

static int
fetcher_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct fetcher	*f = w->priv;

	if (in->hdr.type == MSG_ITEMS_ACK && from == ROLE_SCHEDULER)
		return f == NULL ? 0 : items_ack(f, in);
	if (in->hdr.type != MSG_REFRESH || from != ROLE_FRONT)
		return -1;
	if (f == NULL || !w->setup_done) {
		answer_early(w, in->hdr.reqid);
		return 0;
	}
	if (in->datalen != 0) {
		log_warnx("%s: REFRESH with a %zu-byte payload, expected none",
		    __func__, (size_t)in->datalen);
		send_namespaces(f, in->hdr.reqid, 0, "malformed request");
		return 0;
	}
	if (f->nwaiters == FETCHER_WAITERS_MAX) {
		send_namespaces(f, in->hdr.reqid, 0, "too many refresh "
		    "requests waiting");
		return 0;
	}
	f->waiters[f->nwaiters++] = in->hdr.reqid;
	/* one in flight already: its end answers this one too */
	fetcher_refresh_start(f);
	return 0;
}

static void
fetcher_peer_changed(struct worker *w, enum role peer, pid_t pid)
{
	struct fetcher	*f = w->priv;

	/* before start() there is nothing to tell: start() publishes */
	if (f == NULL || !w->setup_done)
		return;
	if (pid == 0) {
		/* the request ids of a front that went away mean nothing */
		if (peer == ROLE_FRONT) {
			f->nwaiters = 0;
			f->held = 0;
			ev_timer_stop(w->loop, &f->ack_timer);
		}
		/* no acknowledgement will come: answer what waits for it */
		if (peer == ROLE_SCHEDULER) {
			f->items_unacked = 0;
			release_held(f);
		}
		return;
	}
	switch (peer) {
	case ROLE_FRONT:
		send_namespaces(f, 0, f->last_ok, f->last_error);
		break;
	case ROLE_SCHEDULER:
	case ROLE_COLLECTOR:
		send_items(f, peer);
		fetcher_push_stats(f);
		break;
	default:
		break;
	}
}

/*
 * Pushed as things happen, and on the runtime's pace too: its answer to
 * the master's ask (MSG_STATS_REQ) is then made fresh, with what the
 * runtime counts itself (log lines the master did not take), not the
 * last push again, or an empty one after a push that failed.
 */
static void
fetcher_stats(struct worker *w)
{
	struct fetcher	*f = w->priv;

	if (f != NULL)
		fetcher_push_stats(f);
}

static void
fetcher_shutdown(struct worker *w)
{
	struct fetcher	*f = w->priv;

	if (f != NULL) {
		fetcher_refresh_cancel(f);
		fetcher_report_cancel(f);
		answer_now(f, 0, w->respawn ? "the fetcher restarts to "
		    "apply a new config" : "the agent is stopping");
		fetcher_push_stats(f);
	}
	worker_exit(w, 0);
}

static void
fetcher_cleanup(struct worker *w)
{
	struct fetcher	*f = w->priv;

	if (f == NULL)
		return;
	fetcher_refresh_cancel(f);
	fetcher_report_cancel(f);
	ev_timer_stop(w->loop, &f->refresh_timer);
	ev_timer_stop(w->loop, &f->ack_timer);
	if (f->http_up)
		fetcher_http_close(&f->http);
	curl_dl_close(&f->curl);
	fetcher_regset_free(&f->running);
	items_free(&f->items);
	codec_put_free(&f->items_msg);
	codec_put_free(&f->items_sent);
	strlist_free(&f->ns_sent);
	buf_free(&f->cache_doc);
	free(f);
	w->priv = NULL;
}

const struct worker_ops fetcher_ops = {
	.role = ROLE_FETCHER,
	.setup = fetcher_setup,
	.start = fetcher_start,
	.reconfigure = fetcher_reconfigure,
	.peer_msg = fetcher_peer_msg,
	.peer_changed = fetcher_peer_changed,
	.shutdown = fetcher_shutdown,
	.cleanup = fetcher_cleanup,
	.stats = fetcher_stats,
};
