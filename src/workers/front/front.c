/*
 * The front: the HTTP API on the sockets the master bound.  It runs
 * chrooted under a strict seccomp allow-list, so everything it knows about
 * the rest of the agent it learns over its edges.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "front.h"
#include "front_http.h"
#include "front_metrics.h"
#include "jsonw.h"
#include "log.h"
#include "status.h"
#include "workers/worker.h"

static void	 route_healthz(struct http_request *, void *);
static void	 route_me_status(struct http_request *, void *);
static void	 route_me_traffic(struct http_request *, void *);
static void	 route_metrics(struct http_request *, void *);


/* Any of these methods, like the Go agent's mux (HEAD rides on GET). */
#define M_ANY	(HTTP_M_GET | HTTP_M_POST)

/* The API: later issues add their endpoints here. */
static const struct http_route front_routes[] = {
	{ "/healthz", HTTP_M_GET, route_healthz },
	{ "/me/status", HTTP_M_GET, route_me_status },
	{ "/metrics", HTTP_M_GET, route_metrics },
	{ "/me/ns", M_ANY, front_route_me_ns },
	{ "/me/traffic", M_ANY, route_me_traffic },
	{ "/post", HTTP_M_POST, front_route_post },
	{ "/write", HTTP_M_POST, front_route_write },
	{ "/update", M_ANY, front_route_update },
	{ "/plugins/list", M_ANY, front_route_plugins_list },
	{ "/plugins/update", M_ANY, front_route_plugins_update },
	{ "/plugins/run", M_ANY, front_route_plugins_run },
	{ "/plugins/enable", M_ANY, front_route_plugins_enable },
	/* the Go agent's spelling, kept for its clients */
	{ "/plugins/enbable", M_ANY, front_route_plugins_enable },
	{ "/plugins/disable", M_ANY, front_route_plugins_disable },
};

uint32_t
front_reqid(struct front *f)
{
	if (++f->next_reqid == 0)
		f->next_reqid = 1;
	return f->next_reqid;
}

static int
pending_add(struct front *f, uint32_t reqid, struct http_request *req,
    enum pending_kind kind, uint32_t npoints, double keep)
{
	struct pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->reqid = reqid;
	p->req = req;
	p->kind = kind;
	p->npoints = npoints;
	p->since = ev_now(f->w->loop);
	p->expires = p->since + keep;
	TAILQ_INSERT_TAIL(&f->pending, p, entry);
	if (!ev_is_active(&f->sweep))
		ev_timer_start(f->w->loop, &f->sweep);
	return 0;
}

int
front_wait(struct front *f, uint32_t reqid, struct http_request *req,
    enum pending_kind kind, uint32_t npoints)
{
	return pending_add(f, reqid, req, kind, npoints, PENDING_EXPIRE);
}

int
front_wait_for(struct front *f, uint32_t reqid, struct http_request *req,
    enum pending_kind kind, uint32_t npoints, double seconds)
{
	/* Only fails once answered (504) or orphaned: still ours to free. */
	if (front_http_request_set_timeout(req, seconds) == -1)
		log_debug("%s: request %u already answered or gone", __func__,
		    reqid);
	return pending_add(f, reqid, req, kind, npoints,
	    seconds + PENDING_SLACK);
}

static void
front_sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct front	*f = t->data;
	struct pending	*p, *tp;

	/* deadlines differ per request: the list is not in expiry order */
	TAILQ_FOREACH_SAFE(p, &f->pending, entry, tp) {
		if (ev_now(loop) < p->expires)
			continue;
		TAILQ_REMOVE(&f->pending, p, entry);
		log_warnx("%s: request %u got no answer within %.0f s",
		    __func__, p->reqid, p->expires - p->since);
		front_http_respond_error(p->req, 504,
		    "no answer from the agent");
		free(p);
	}
	if (TAILQ_EMPTY(&f->pending))
		ev_timer_stop(loop, t);
}

void
front_fail_pending(struct front *f, enum pending_kind kind, const char *msg)
{
	struct pending	*p, *tp;

	TAILQ_FOREACH_SAFE(p, &f->pending, entry, tp) {
		if (p->kind != kind)
			continue;
		TAILQ_REMOVE(&f->pending, p, entry);
		front_http_respond_error(p->req, 503, msg);
		free(p);
	}
}

int
front_throttle_pass(struct front *f, struct warn_limit *t, char *note,
    size_t len)
{
	uint64_t	 n;

	if (!warn_limit_due(t, ev_now(f->w->loop), &n))
		return 0;
	/* n counts this one too */
	if (n > 1)
		snprintf(note, len, "; %llu more not logged since the last "
		    "such line", (unsigned long long)(n - 1));
	else if (len > 0)
		note[0] = '\0';
	return 1;
}

int
front_param_refused(struct http_request *req, const char *key, int n,
    size_t len)
{
	char	 msg[128];

	if (n == HTTP_PARAM_NUL)
		snprintf(msg, sizeof(msg), "%s: holds a NUL byte", key);
	else if (n == HTTP_PARAM_BADESCAPE)
		snprintf(msg, sizeof(msg), "%s: broken %%-escape", key);
	else if (n == HTTP_PARAM_TOOLONG)
		snprintf(msg, sizeof(msg), "%s: longer than %zu bytes", key,
		    len - 1);
	else
		return 0;
	front_http_respond_error(req, 400, msg);
	return 1;
}

const struct strlist *
front_namespaces(struct front *f)
{
	return f->have_ns ? &f->ns : &f->w->conf.namespaces;
}

struct http_request *
front_take(struct front *f, uint32_t reqid, enum pending_kind kind,
    uint32_t *npoints)
{
	struct pending		*p;
	struct http_request	*req;

	TAILQ_FOREACH(p, &f->pending, entry) {
		if (p->reqid != reqid || p->kind != kind)
			continue;
		TAILQ_REMOVE(&f->pending, p, entry);
		req = p->req;
		if (npoints != NULL)
			*npoints = p->npoints;
		free(p);
		return req;
	}
	return NULL;
}

static void
route_healthz(struct http_request *req, void *ctx)
{
	front_http_respond_json(req, 200, "{\"status\":\"ok\"}");
}

/* Answer everything waiting for status `reqid` with an error: how many. */
static size_t
status_fail(struct front *f, uint32_t reqid, int code, const char *msg)
{
	struct http_request	*req;
	size_t			 n = 0;

	while ((req = front_take(f, reqid, PENDING_STATUS, NULL)) != NULL ||
	    (req = front_take(f, reqid, PENDING_METRICS, NULL)) != NULL) {
		front_http_respond_error(req, code, msg);
		n++;
	}
	return n;
}

static void
status_ask(struct front *f, uint32_t reqid)
{
	char	 note[80];
	size_t	 n;
	int	 saved;

	f->status_out = reqid;
	f->status_sent = ev_now(f->w->loop);
	if (worker_send_ctl(f->w, MSG_STATUS_REQ, reqid, NULL, 0) == -1) {
		saved = errno;
		f->status_out = 0;
		n = status_fail(f, reqid, 503, "the master is not reachable");
		/*
		 * A master gone (EPIPE) ends us too.  One that reads nothing
		 * (ENOBUFS: 64 MiB of our lines wait for it) nobody else
		 * says; this line then goes by stderr (worker_log_sink).
		 */
		if (saved != EPIPE && front_throttle_pass(f,
		    &f->unsent_status, note, sizeof(note)))
			log_warnx("%s: status request not sent to the master: "
			    "%s; answered 503 to /me/status and /metrics (%zu "
			    "waiting)%s", __func__, strerror(saved), n, note);
	}
}

/*
 * Both ask the master for its table and answer when it comes.  The master
 * answers one request of ours at a time and drops any other (pull.c):
 * those that come while one is out share the next one, asked once it is
 * answered, so that each sees what was done before it.  One out for
 * PENDING_EXPIRE is taken for lost.
 */
static void
ask_status(struct front *f, struct http_request *req, enum pending_kind kind)
{
	uint32_t	 reqid;
	int		 out;

	out = f->status_out != 0 &&
	    ev_now(f->w->loop) - f->status_sent < PENDING_EXPIRE;
	if (f->status_next == 0)
		f->status_next = front_reqid(f);
	reqid = f->status_next;
	if (front_wait(f, reqid, req, kind, 0) == -1) {
		front_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (out)
		return;
	f->status_next = 0;
	status_ask(f, reqid);
}

static void
route_me_status(struct http_request *req, void *ctx)
{
	ask_status(ctx, req, PENDING_STATUS);
}

static void
route_metrics(struct http_request *req, void *ctx)
{
	ask_status(ctx, req, PENDING_METRICS);
}

static void
answer_metrics(struct http_request *req, const struct agent_status *st)
{
	struct buf	 b;

	buf_init(&b);
	if (front_metrics_render(&st->metrics, &b) == -1)
		front_http_respond_error(req, 500, "cannot render the metrics");
	else
		front_http_respond(req, 200, FRONT_METRICS_CTYPE, buf_str(&b),
		    b.len);
	buf_free(&b);
}

/* The collector's latest NET values; null until it has sent them. */
static void
route_me_traffic(struct http_request *req, void *ctx)
{
	struct front	*f = ctx;

	if (f->traffic == NULL)
		front_http_respond(req, 200, "application/json", "null", 4);
	else
		front_http_respond(req, 200, "application/json", f->traffic,
		    f->traffic_len);
}

/* MSG_TRAFFIC: a JSON array the collector built, kept as it is. */
static int
front_traffic_msg(struct front *f, struct frame_in *in)
{
	struct preader	 pr;
	char		*json;

	codec_get_init(&pr, in->data, in->datalen);
	json = codec_get_str(&pr);
	if (codec_get_end(&pr) == -1 || json == NULL || json[0] != '[') {
		log_warnx("%s: bad TRAFFIC message: %s", __func__,
		    pr.failed ? pr.err : "not a JSON array");
		free(json);
		return -1;
	}
	free(f->traffic);
	f->traffic = json;
	f->traffic_len = strlen(json);
	return 0;
}

static void
gen_worker(struct jsonw *w, const struct worker_status *ws, time_t now)
{
	const struct edge_def	*e;
	enum role		 r;
	uint32_t		 i;

	jsonw_map_open(w);
	jsonw_key(w, "role");
	jsonw_string(w, proto_role_name((enum role)ws->role));
	jsonw_key(w, "pid");
	jsonw_int64(w, ws->pid);
	jsonw_key(w, "state");
	jsonw_string(w, ws->state);
	jsonw_key(w, "restarts");
	jsonw_int64(w, ws->restarts);
	jsonw_key(w, "log_lines_dropped");
	jsonw_uint64(w, ws->log_dropped);
	jsonw_key(w, "uptime");
	jsonw_int64(w, ws->pid != 0 ? now - ws->started : 0);
	jsonw_key(w, "last_exit");
	if (ws->last_exit[0] != '\0')
		jsonw_string(w, ws->last_exit);
	else
		jsonw_null(w);
	jsonw_key(w, "generation");
	jsonw_int64(w, (int64_t)ws->generation);
	jsonw_key(w, "last_exit_at");
	if (ws->last_exit_at != 0)
		jsonw_int64(w, ws->last_exit_at);
	else
		jsonw_null(w);
	if (ws->stats.n > 0 || ws->stats.note[0] != '\0') {
		jsonw_key(w, "stats");
		jsonw_map_open(w);
		for (i = 0; i < ws->stats.n; i++) {
			jsonw_key(w, ws->stats.v[i].key);
			jsonw_int64(w, (int64_t)ws->stats.v[i].value);
		}
		for (i = 0; i < ws->stats.ntext; i++) {
			jsonw_key(w, ws->stats.t[i].key);
			if (ws->stats.t[i].value[0] != '\0')
				jsonw_string(w, ws->stats.t[i].value);
			else
				jsonw_null(w);
		}
		jsonw_key(w, "last_error");
		if (ws->stats.note[0] != '\0')
			jsonw_string(w, ws->stats.note);
		else
			jsonw_null(w);
		jsonw_map_close(w);
	}
	jsonw_key(w, "peers");
	jsonw_map_open(w);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		e = proto_peer_edge_find((enum role)ws->role, r);
		if (e == NULL || r == (enum role)ws->role)
			continue;
		jsonw_key(w, proto_role_name(r));
		jsonw_int64(w, ws->peers[r]);
	}
	jsonw_map_close(w);
	jsonw_map_close(w);
}

static void
answer_status(struct front *f, struct http_request *req,
    const struct agent_status *st)
{
	struct jsonw	 w;
	struct buf	 b;
	size_t		 i;
	time_t		 now = time(NULL);

	buf_init(&b);
	/* last_error quotes git and the like: bytes not UTF-8 as U+FFFD */
	jsonw_init(&w, &b, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "version");
	jsonw_string(&w, st->version);
	jsonw_key(&w, "pid");
	jsonw_int64(&w, st->master_pid);
	jsonw_key(&w, "uptime");
	jsonw_int64(&w, now - st->started);
	jsonw_key(&w, "generation");
	jsonw_int64(&w, (int64_t)st->generation);
	jsonw_key(&w, "workers");
	jsonw_array_open(&w);
	for (i = 0; i < st->nworkers; i++)
		gen_worker(&w, &st->w[i], now);
	jsonw_array_close(&w);
	jsonw_map_close(&w);
	if (jsonw_finish(&w) == -1)
		front_http_respond_error(req, 500, "cannot encode the status");
	else
		front_http_respond(req, 200, "application/json", b.p, b.len);
	buf_free(&b);
}

static int
front_status_msg(struct front *f, struct frame_in *in)
{
	struct http_request	*req;
	struct agent_status	 st;
	struct preader		 pr;
	enum pending_kind	 kind;
	char			 err[256];
	uint32_t		 reqid;
	int			 n = 0;

	if (in->hdr.reqid == f->status_out)
		f->status_out = 0;
	codec_get_init(&pr, in->data, in->datalen);
	if (status_decode(&pr, &st, err, sizeof(err)) == -1) {
		status_fail(f, in->hdr.reqid, 500,
		    "bad status from the master");
		log_warnx("%s: %s", __func__, err);
		return -1;
	}
	for (;;) {
		kind = PENDING_STATUS;
		if ((req = front_take(f, in->hdr.reqid, kind, NULL)) == NULL &&
		    (req = front_take(f, in->hdr.reqid,
		    kind = PENDING_METRICS, NULL)) == NULL)
			break;
		if (kind == PENDING_METRICS)
			answer_metrics(req, &st);
		else
			answer_status(f, req, &st);
		n++;
	}
	status_free(&st);
	if (n == 0)
		log_warnx("%s: answer to unknown request %u", __func__,
		    in->hdr.reqid);
	/* those that came while it was out */
	if (f->status_out == 0 && f->status_next != 0) {
		reqid = f->status_next;
		f->status_next = 0;
		status_ask(f, reqid);
	}
	return 0;
}

/* Valid points taken in and the answers by status code. */
static void
front_push_stats(struct front *f)
{
	const uint64_t	*codes = front_http_server_codes(f->http);
	char		 code[8];
	uint64_t	 answers = 0;
	int		 i;

	metrics_reset(&f->ms);
	(void)metrics_put(&f->ms, "points_received_total",
	    f->st.received_post, "source", "post", NULL);
	(void)metrics_put(&f->ms, "points_received_total",
	    f->st.received_write, "source", "write", NULL);
	(void)metrics_put(&f->ms, "api_tokens_refused_total",
	    f->authfail.wrong, "reason", "wrong", NULL);
	(void)metrics_put(&f->ms, "api_tokens_refused_total",
	    f->authfail.waited, "reason", "waiting", NULL);
	for (i = 0; i < HTTP_CODE_SLOTS; i++) {
		if (codes[i] == 0)
			continue;
		answers += codes[i];
		snprintf(code, sizeof(code), "%d", HTTP_CODE_FIRST + i);
		(void)metrics_put(&f->ms, "http_requests_total", codes[i],
		    "code", code, NULL);
	}
	const struct stat_kv	 v[] = {
		{ "points_received_post", f->st.received_post },
		{ "points_received_write", f->st.received_write },
		{ "http_answers", answers },
	};
	(void)worker_push_stats_all(f->w, v, sizeof(v) / sizeof(v[0]), NULL, 0,
	    NULL, &f->ms);
}

/* ops->stats: worker_push_stats_all() sends only what changed */
static void
front_stats(struct worker *w)
{
	struct front	*f = w->priv;

	if (f != NULL && f->http != NULL)
		front_push_stats(f);
}

static int
front_listen_msg(struct front *f, struct frame_in *in)
{
	struct preader	 pr;
	char		 kind[16], addr[1100], label[1200];
	int		 fd = in->fd;

	codec_get_init(&pr, in->data, in->datalen);
	codec_get_strbuf(&pr, kind, sizeof(kind));
	codec_get_strbuf(&pr, addr, sizeof(addr));
	if (codec_get_end(&pr) == -1 || fd == -1) {
		log_warnx("%s: bad LISTEN message: %s", __func__,
		    pr.failed ? pr.err : "no descriptor");
		return -1;
	}
	in->fd = -1;
	snprintf(label, sizeof(label), "%s:%s", kind, addr);
	if (front_http_server_listen(f->http, fd, label) == -1) {
		log_warn("%s: %s", __func__, label);
		return 0;
	}
	log_info("serving HTTP on %s", label);
	return 0;
}

static int
front_control(struct worker *w, struct frame_in *in)
{
	struct front	*f = w->priv;

	switch (in->hdr.type) {
	case MSG_LISTEN:
		return front_listen_msg(f, in);
	case MSG_STATUS:
		return front_status_msg(f, in);
	}
	return -1;
}

static int
front_setup(struct worker *w, char *err, size_t errlen)
{
	struct front	*f = w->priv;
	char		 why[256];

	if (f == NULL) {
		snprintf(err, errlen, "no listening socket from the master");
		return -1;
	}
	if (gethostname(f->host, sizeof(f->host)) == -1) {
		snprintf(err, errlen, "gethostname: %s", strerror(errno));
		return -1;
	}
	f->host[sizeof(f->host) - 1] = '\0';
	/* before the chroot: /proc/net, and the users' names */
	if (front_peeruid_setup(&f->peeruid, geteuid() == 0, w->conf.user,
	    w->conf.pluginsuser, why, sizeof(why)) == -1)
		log_warnx("%s: %s: loopback clients cannot be told apart, so "
		    "none may change plugins; the unix socket and [agent] "
		    "token still may", __func__, why);
	if (front_peeruid_allow(&f->peeruid, geteuid() == 0, &w->conf.apiusers,
	    why, sizeof(why)) == -1)
		log_warnx("%s: %s", __func__, why);
	return 0;
}

static int
front_start(struct worker *w, char *err, size_t errlen)
{
	struct front	*f = w->priv;

	front_push_stats(f);
	return 0;
}

static int
front_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct front	*f = w->priv;

	if (f == NULL)
		return -1;
	if (from == ROLE_SENDER && in->hdr.type == MSG_POINTS_ACK)
		return front_points_ack(f, in);
	if (from == ROLE_SCHEDULER && in->hdr.type == MSG_PLUGIN_RESP)
		return front_plugin_resp(f, in);
	if (from == ROLE_FETCHER && in->hdr.type == MSG_NAMESPACES)
		return front_namespaces_msg(f, in);
	if (from == ROLE_COLLECTOR && in->hdr.type == MSG_TRAFFIC)
		return front_traffic_msg(f, in);
	return -1;
}

/*
 * A peer went away: what it had not answered never will be.  A plugin
 * run or update may have happened, or not; the client has to look.
 */
static void
front_peer_changed(struct worker *w, enum role peer, pid_t pid)
{
	struct front	*f = w->priv;

	if (f == NULL || pid != 0)
		return;
	switch (peer) {
	case ROLE_SENDER:
		front_sender_down(f);
		break;
	case ROLE_SCHEDULER:
		front_fail_pending(f, PENDING_PLUGIN, "the scheduler went away "
		    "before answering; the outcome is unknown");
		front_plugins_down(f);
		break;
	case ROLE_FETCHER:
		front_fail_pending(f, PENDING_REFRESH, "the fetcher went away "
		    "before the refresh completed");
		break;
	case ROLE_COLLECTOR:
		/* a new collector has had no NET runs yet: null again */
		free(f->traffic);
		f->traffic = NULL;
		f->traffic_len = 0;
		break;
	default:
		break;
	}
}

/*
 * The owner of a TCP client's socket when it is on this host (loopback
 * or another of its addresses), for its user's share of the connections
 * and the budget of local clients; -1 for a remote one.
 */
static int
front_peer_uid(void *arg, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local, uid_t *uid)
{
	struct front	*f = arg;

	return front_peeruid_diag(&f->peeruid, peer, local, uid);
}

/* Created on the first control message: LISTEN precedes SETUP_END. */
static struct front *
front_state(struct worker *w)
{
	struct http_limits	 limits = HTTP_DEFAULT_LIMITS;
	struct front		*f;

	if (w->priv != NULL)
		return w->priv;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("%s", __func__);
	f->w = w;
	f->started = time(NULL);
	f->peeruid.fd4 = f->peeruid.fd6 = f->peeruid.diag.fd = -1;
	TAILQ_INIT(&f->pending);
	strlist_init(&f->ns);
	metrics_init(&f->ms);
	ev_timer_init(&f->sweep, front_sweep_cb, PENDING_EXPIRE / 4,
	    PENDING_EXPIRE / 4);
	f->sweep.data = f;
	f->http = front_http_server_new(w->loop, &limits, front_routes,
	    sizeof(front_routes) / sizeof(front_routes[0]), f);
	if (f->http == NULL)
		fatalx("%s: cannot create the HTTP server", __func__);
	front_http_server_set_peer_uid(f->http, front_peer_uid, f);
	w->priv = f;
	return f;
}

static int
front_control_entry(struct worker *w, struct frame_in *in)
{
	(void)front_state(w);
	return front_control(w, in);
}

static int
front_reconfigure(struct worker *w, const struct agent_conf *next, char *err,
    size_t errlen)
{
	struct front	*f = front_state(w);
	char		 why[128];

	front_peeruid_ours(&f->peeruid, next->pluginsuser);
	if (!strlist_equal(&next->apiusers, &w->conf.apiusers)) {
		if (front_peeruid_allow(&f->peeruid, geteuid() == 0,
		    &next->apiusers, why, sizeof(why)) == -1)
			log_warnx("%s: %s", __func__, why);
		log_info("[agent] apiusers changed: loopback clients of %zu "
		    "users besides root may change plugins", next->apiusers.n);
	}
	/* the master follows with LISTEN messages for the new sockets */
	if (strcmp(next->listen, w->conf.listen) != 0 ||
	    strcmp(next->socket, w->conf.socket) != 0) {
		log_info("listeners changed: switching to the new sockets");
		front_http_server_stop_listening(f->http);
	}
	return 0;
}

static void
front_drain_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct front	*f = t->data;

	f->drain_left -= t->repeat;
	if (front_http_server_conns(f->http) == 0 || f->drain_left <= 0) {
		ev_timer_stop(loop, t);
		worker_exit(f->w, 0);
	}
}

/* Stop accepting; answers under way get a bounded time to go out. */
static void
front_shutdown(struct worker *w)
{
	struct front	*f = w->priv;

	if (f != NULL)
		front_http_server_stop_listening(f->http);
	if (f == NULL || front_http_server_conns(f->http) == 0) {
		worker_exit(w, 0);
		return;
	}
	f->drain_left = FRONT_DRAIN_TIME;
	ev_timer_init(&f->drain, front_drain_cb, 0.05, 0.05);
	f->drain.data = f;
	ev_timer_start(w->loop, &f->drain);
}

static void
front_cleanup(struct worker *w)
{
	struct front	*f = w->priv;
	struct pending	*p;

	if (f == NULL)
		return;
	ev_timer_stop(w->loop, &f->sweep);
	ev_timer_stop(w->loop, &f->drain);
	while ((p = TAILQ_FIRST(&f->pending)) != NULL) {
		TAILQ_REMOVE(&f->pending, p, entry);
		free(p);
	}
	front_http_server_free(f->http);
	strlist_free(&f->ns);
	metrics_free(&f->ms);
	free(f->traffic);
	buf_free(&f->pts);
	front_peeruid_free(&f->peeruid);
	free(f);
	w->priv = NULL;
}

const struct worker_ops front_ops = {
	.role = ROLE_FRONT,
	.setup = front_setup,
	.start = front_start,
	.reconfigure = front_reconfigure,
	.control_msg = front_control_entry,
	.peer_msg = front_peer_msg,
	.peer_changed = front_peer_changed,
	.shutdown = front_shutdown,
	.cleanup = front_cleanup,
	.stats = front_stats,
};
