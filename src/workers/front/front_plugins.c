/*
 * The plugin API: /plugins/{list,update,run,enable,disable} relayed to
 * the scheduler, /update to the fetcher, and /me/ns.
 *
 * The front checks only what is its own business: who may ask (no web
 * page in a browser may change anything, see front_guard.c; changing
 * calls over TCP from another host need the bearer token, and without
 * it /plugins/list leaves out what may be secret), the size of each
 * parameter, and the run timeout.  The scheduler checks ns and repo
 * (form, known plugin) and writes the answer: its status and JSON body
 * go to the client verbatim.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "codec.h"
#include "front.h"
#include "front_guard.h"
#include "jsonw.h"
#include "log.h"
#include "plugin_msg.h"

/* /plugins/run?timeout=: seconds, as the Go agent took them. */
#define RUN_TIMEOUT_DEFAULT	10
#define RUN_TIMEOUT_MAX		300
/* The answer may come this long after the plugin's own timeout. */
#define RUN_MARGIN		10.0
/*
 * /plugins/update: the scheduler asks gitpull for a clone or a fetch
 * and reset, at most GIT_CALLS git calls that may each take gittimeout.
 */
#define GIT_CALLS		2
#define GIT_MARGIN		10.0
#define GIT_DEADLINE_DEFAULT	300.0
/* /update: the fetcher asks the registry for every namespace. */
#define REFRESH_DEADLINE	120.0

/*
 * Equal to the secret?  The time taken depends on the length the client
 * sent, never on where the first difference is.
 */
static int
token_equal(const char *given, size_t glen, const char *secret)
{
	size_t		 slen = strlen(secret), i;
	unsigned	 d;

	if (slen == 0)
		return 0;
	d = glen != slen;
	for (i = 0; i < glen; i++)
		d |= (unsigned char)given[i] ^ (unsigned char)secret[i % slen];
	return d == 0;
}

/* "Bearer <token>" (the scheme in any case, RFC 9110 11.1). */
static int
bearer_ok(const char *auth, const char *secret)
{
	size_t	 n;

	if (strncasecmp(auth, "Bearer", 6) != 0 ||
	    (auth[6] != ' ' && auth[6] != '\t'))
		return 0;
	auth += 6;
	while (*auth == ' ' || *auth == '\t')
		auth++;
	n = strlen(auth);
	while (n > 0 && (auth[n - 1] == ' ' || auth[n - 1] == '\t'))
		n--;
	return token_equal(auth, n, secret);
}

/* What a loopback client's connection turned out to be. */
enum loopback_peer {
	LOOPBACK_TRUSTED,	/* root, apiusers */
	LOOPBACK_OURS,		/* a socket of `user` or `pluginsuser` */
	LOOPBACK_OTHER,		/* another local user's */
	LOOPBACK_UNFOUND	/* not in /proc/net/tcp */
};

/* What the connection's note says of its client (0: not looked up). */
#define NOTE_FOUND	1	/* note[1] is the uid */
#define NOTE_UNFOUND	2

static enum loopback_peer
peer_of(struct front *f, uid_t uid)
{
	switch (front_peeruid_verdict(&f->peeruid, uid)) {
	case PEERUID_ALLOWED:
		return LOOPBACK_TRUSTED;
	case PEERUID_OURS:
		return LOOPBACK_OURS;
	default:
		return LOOPBACK_OTHER;
	}
}

/*
 * A loopback client is trusted when its socket is root's or an apiusers
 * user's: a plugin (pluginsuser), a worker (user) or any other local
 * user must not disable, enable, update or run plugins, or read their
 * parameters.  The owner is found at the accept (sock_diag), else looked
 * up once per connection in the tables; the verdict is the current
 * apiusers', which a reload may change.
 */
static enum loopback_peer
loopback_peer(struct front *f, struct http_request *req, uid_t *who)
{
	struct sockaddr_storage	 local;
	char			 why[128], peer[80];
	char			 more[80];
	uid_t			 uid;
	int			*note;

	*who = (uid_t)-1;
	if (front_http_request_peer_uid(req, &uid) == 0) {
		*who = uid;
		return peer_of(f, uid);
	}
	if ((note = front_http_request_note(req)) != NULL &&
	    note[0] != 0) {
		if (note[0] == NOTE_UNFOUND)
			return LOOPBACK_UNFOUND;
		*who = (uid_t)note[1];
		return peer_of(f, *who);
	}
	if (front_http_request_local(req, &local) == -1) {
		log_warn("%s: getsockname", __func__);
		return LOOPBACK_UNFOUND;	/* gone: nothing to answer */
	}
	if (front_peeruid_lookup(&f->peeruid, &req->peer, &local, &uid, why,
	    sizeof(why)) == -1) {
		/* a local user can make it happen at will: closing early */
		(void)front_http_peer_str(req, peer, sizeof(peer));
		if (front_throttle_pass(f, &f->unfound_peer, more,
		    sizeof(more)))
			log_warnx("%s: loopback client %s: %s%s", __func__,
			    peer, why, more);
		if (note != NULL)
			note[0] = NOTE_UNFOUND;
		return LOOPBACK_UNFOUND;
	}
	if (note != NULL) {
		note[0] = NOTE_FOUND;
		note[1] = (int)uid;
	}
	*who = uid;
	return peer_of(f, uid);
}

/* What the request's bearer token turned out to be. */
enum token_verdict {
	TOKEN_NONE,		/* none sent, or none configured */
	TOKEN_RIGHT,
	TOKEN_WRONG,
	TOKEN_WAIT		/* not checked: its source waits */
};

struct token_result {
	enum token_verdict	 verdict;
	double			 wait;	/* TOKEN_WAIT: seconds left */
};

/* Seconds on the monotonic clock: a stepped clock moves no wait. */
static double
mono_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0.;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The token checked, unless its source has sent too many wrong ones
 * (front_authfail.h): a loopback client by the uid of its socket, `who`
 * ((uid_t)-1: not known), any other by its address.  A client on another
 * address of this host (eth0's, a bridge's) counts by its uid too: every
 * local user has those addresses as well, and by address one guessing
 * would make all of them wait, the operator with the right token
 * included, and each address would give it AUTHFAIL_FREE more.
 */
static struct token_result
token_check(struct front *f, struct http_request *req, uid_t who)
{
	struct token_result	 tr = { TOKEN_NONE, 0. };
	const char		*secret = f->w->conf.token;
	uint8_t			 key[AUTHFAIL_KEY];
	double			 now;

	if (secret[0] == '\0' || req->authorization[0] == '\0')
		return tr;
	if (who == (uid_t)-1)
		(void)front_http_request_host_uid(req, &who);
	if (who != (uid_t)-1)
		front_authfail_key_uid(who, key);
	else
		front_authfail_key_addr(&req->peer, key);
	now = mono_now();
	if ((tr.wait = front_authfail_wait(&f->authfail, key, now)) > 0.) {
		f->authfail.waited++;
		tr.verdict = TOKEN_WAIT;
	} else if (bearer_ok(req->authorization, secret)) {
		front_authfail_right(&f->authfail, key);
		tr.verdict = TOKEN_RIGHT;
	} else {
		(void)front_authfail_wrong(&f->authfail, key, now);
		tr.verdict = TOKEN_WRONG;
	}
	return tr;
}

/*
 * Trusted: the unix socket (its permissions decide who gets there),
 * loopback TCP peers that are root or apiusers, and anyone with the
 * configured token.  *tr says what the token was (TOKEN_NONE when it
 * did not matter).
 */
static int
api_trusted(struct front *f, struct http_request *req,
    struct token_result *tr)
{
	uid_t		 who = (uid_t)-1;

	tr->verdict = TOKEN_NONE;
	if (req->via == HTTP_VIA_UNIX || (front_http_peer_loopback(req) &&
	    loopback_peer(f, req, &who) == LOOPBACK_TRUSTED))
		return 1;
	*tr = token_check(f, req, who);
	return tr->verdict == TOKEN_RIGHT;
}

/* 429 to a source that sent too many wrong tokens, with Retry-After. */
static void
refuse_waiting(struct http_request *req, double wait, const char *path,
    const char *peer, int logit, const char *note)
{
	char	 msg[200], after[16];

	snprintf(after, sizeof(after), "%.0f", wait < 1. ? 1. : wait + 0.5);
	if (logit)
		log_info("%s from %s refused: too many wrong bearer tokens "
		    "from it; its tokens are not checked for %s s%s", path,
		    peer, after, note);
	if (front_http_request_add_header(req, "Retry-After", after) == -1)
		log_warnx("%s: cannot add Retry-After", __func__);
	snprintf(msg, sizeof(msg), "too many wrong bearer tokens from this "
	    "client: the next one is checked in %s s", after);
	front_http_respond_error(req, 429, msg);
}

/* A loopback client refused: 403 saying why, and a line in the log. */
static void
refuse_loopback(struct front *f, struct http_request *req, const char *path,
    const char *peer, int logit, const char *note)
{
	char	 msg[320];
	uid_t	 who;

	switch (loopback_peer(f, req, &who)) {
	case LOOPBACK_OURS:
		if (logit)
			log_info("%s from %s refused: a process of [agent] "
			    "user or pluginsuser (a plugin, a worker)%s", path,
			    peer, note);
		front_http_respond_error(req, 403, "changing requests are "
		    "not taken from the agent's own users ([agent] user, "
		    "pluginsuser): a plugin may not change the others");
		return;
	case LOOPBACK_OTHER:
		if (logit)
			log_info("%s from %s refused: uid %lu is neither root "
			    "nor in [agent] apiusers%s", path, peer,
			    (unsigned long)who, note);
		snprintf(msg, sizeof(msg), "changing requests from loopback "
		    "are taken from root and [agent] apiusers only, and this "
		    "client's socket is uid %lu's; use the unix socket, or "
		    "Authorization: Bearer with [agent] token",
		    (unsigned long)who);
		front_http_respond_error(req, 403, msg);
		return;
	default:
		if (logit)
			log_info("%s from %s refused: the client's socket was "
			    "not found%s", path, peer, note);
		front_http_respond_error(req, 403, "the loopback client "
		    "could not be told (its socket is not in /proc/net/tcp)");
		return;
	}
}

/*
 * May this client change things?  Never from a web page; else when
 * trusted.  Answers 401/403 and returns 0 when not.
 */
static int
api_allowed(struct front *f, struct http_request *req)
{
	const char	*secret = f->w->conf.token;
	char		 peer[80], path[64], note[80];
	struct token_result tr;
	int		 missing, logit;

	if (!front_guard_check(f, req))
		return 0;
	if (api_trusted(f, req, &tr))
		return 1;
	(void)front_http_peer_str(req, peer, sizeof(peer));
	(void)front_http_logstr(req->path, path, sizeof(path));
	logit = front_throttle_pass(f, &f->refused_api, note, sizeof(note));
	if (tr.verdict == TOKEN_WAIT) {
		refuse_waiting(req, tr.wait, path, peer, logit, note);
		return 0;
	}
	if (front_http_peer_loopback(req)) {
		refuse_loopback(f, req, path, peer, logit, note);
		return 0;
	}
	if (secret[0] == '\0') {
		if (logit)
			log_info("%s from %s refused: not loopback and no "
			    "token configured%s", path, peer, note);
		front_http_respond_error(req, 403,
		    "changing requests are accepted on the unix socket and "
		    "from root and [agent] apiusers on loopback only; set "
		    "[agent] token to allow other hosts with Authorization: "
		    "Bearer");
		return 0;
	}
	missing = req->authorization[0] == '\0';
	if (logit)
		log_info("%s from %s refused: %s bearer token%s", path, peer,
		    missing ? "no" : "wrong", note);
	if (front_http_request_add_header(req, "WWW-Authenticate", missing ?
	    "Bearer realm=\"agent\"" :
	    "Bearer realm=\"agent\", error=\"invalid_token\"") == -1)
		log_warnx("%s: cannot add WWW-Authenticate", __func__);
	front_http_respond_error(req, 401, missing ? "this request needs "
	    "Authorization: Bearer <token> from a non-loopback address" :
	    "wrong bearer token");
	return 0;
}

/*
 * Parameter `key' into buf ("" when absent, *present says which).
 * -1 after answering 400 when it does not fit or holds a NUL byte.
 */
static int
get_param(struct http_request *req, const char *key, char *buf, size_t len,
    int *present)
{
	int	 n;

	n = front_http_form_param(req, key, buf, len);
	if (front_param_refused(req, key, n, len))
		return -1;
	if (n < 0)
		buf[0] = '\0';
	if (present != NULL)
		*present = n >= 0;
	return 0;
}

/* timeout=: digits only, 1..RUN_TIMEOUT_MAX; empty or absent: default. */
static int
get_timeout(struct http_request *req, uint32_t *timeout)
{
	char		 buf[16];
	unsigned long	 v = 0;
	size_t		 i;
	int		 n;

	n = front_http_form_param(req, "timeout", buf, sizeof(buf));
	if (n == HTTP_PARAM_ABSENT || n == 0) {
		*timeout = RUN_TIMEOUT_DEFAULT;
		return 0;
	}
	if (n == HTTP_PARAM_NUL) {
		front_http_respond_error(req, 400, "timeout: holds a NUL byte");
		return -1;
	}
	if (n < 0)		/* too long, a broken escape */
		goto bad;
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			goto bad;
		v = v * 10 + (unsigned long)(buf[i] - '0');
		if (v > RUN_TIMEOUT_MAX)
			goto bad;
	}
	if (v == 0)
		goto bad;
	*timeout = (uint32_t)v;
	return 0;
 bad:
	front_http_respond_error(req, 400, "invalid timeout");
	return -1;
}

/* How long /plugins/update may take: git calls of gittimeout each. */
static double
update_deadline(struct front *f)
{
	if (f->w->conf.gittimeout <= 0)
		return GIT_DEADLINE_DEFAULT;
	return GIT_CALLS * (double)f->w->conf.gittimeout + GIT_MARGIN;
}

/*
 * A question the scheduler's or the fetcher's edge would not take: one
 * that is gone (ENOTCONN) the master says; one that reads nothing
 * (ENOBUFS, 64 MiB queued) nobody else does, and any client can ask
 * again and again: a line every 10 s at most, with how many since.
 */
static void
plugin_unsent(struct front *f, struct warn_limit *t, const char *what)
{
	char	 note[80];
	int	 saved = errno;

	if (saved != ENOTCONN && front_throttle_pass(f, t, note,
	    sizeof(note)))
		log_warnx("%s: %s: %s; answered 503%s", __func__, what,
		    strerror(saved), note);
	errno = saved;
}

static void	 list_ask(struct front *, int, uint32_t);

/*
 * /plugins/list is open to every client and the scheduler builds the
 * whole list for each (thousands of plugins: megabytes of JSON): asked
 * by the hundred at once, it would spend its time on them instead of
 * running plugins.  So, as /me/status does with the master, one of each
 * kind (full, redacted) is out at a time, and those that come while it
 * is share the next one, asked once it is answered: each still sees
 * what was done before it.  One out for PENDING_EXPIRE is taken for
 * lost.
 */
static void
list_call(struct front *f, struct http_request *req, int redact)
{
	uint32_t	 reqid;
	int		 out;

	out = f->list_out[redact] != 0 &&
	    ev_now(f->w->loop) - f->list_sent[redact] < PENDING_EXPIRE;
	if (f->list_next[redact] == 0)
		f->list_next[redact] = front_reqid(f);
	reqid = f->list_next[redact];
	if (front_wait(f, reqid, req, PENDING_PLUGIN, 0) == -1) {
		front_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (out)
		return;
	f->list_next[redact] = 0;
	list_ask(f, redact, reqid);
}

/* Answer every request waiting for `reqid` with an error. */
static void
list_fail(struct front *f, uint32_t reqid, int code, const char *msg)
{
	struct http_request	*req;

	while ((req = front_take(f, reqid, PENDING_PLUGIN, NULL)) != NULL)
		front_http_respond_error(req, code, msg);
}

static void
list_ask(struct front *f, int redact, uint32_t reqid)
{
	struct plugin_req	 pr;
	struct pbuf		 pb;

	memset(&pr, 0, sizeof(pr));
	pr.op = PLUGIN_OP_LIST;
	pr.redact = redact;
	codec_put_init(&pb);
	plugin_req_encode(&pb, &pr);
	if (codec_put_failed(&pb)) {
		codec_put_free(&pb);
		list_fail(f, reqid, 500, "out of memory");
		return;
	}
	f->list_out[redact] = reqid;
	f->list_sent[redact] = ev_now(f->w->loop);
	if (worker_send_peer(f->w, ROLE_SCHEDULER, MSG_PLUGIN_REQ, reqid,
	    pb.buf, pb.len) == -1) {
		plugin_unsent(f, &f->unsent_plugin, "PLUGIN_REQ to the "
		    "scheduler");
		f->list_out[redact] = 0;
		list_fail(f, reqid, 503, "the scheduler is not available; "
		    "try again");
	}
	codec_put_free(&pb);
}

/* An answer to `reqid` came (or cannot): the next list may be asked. */
static void
list_answered(struct front *f, uint32_t reqid)
{
	uint32_t	 next;
	int		 r;

	for (r = 0; r < 2; r++) {
		if (reqid == 0 || f->list_out[r] != reqid)
			continue;
		f->list_out[r] = 0;
		if ((next = f->list_next[r]) != 0) {
			f->list_next[r] = 0;
			list_ask(f, r, next);
		}
	}
}

void
front_plugins_down(struct front *f)
{
	int	 r;

	/* their waiters were answered (front_fail_pending) */
	for (r = 0; r < 2; r++)
		f->list_out[r] = f->list_next[r] = 0;
}

static void
plugin_call(struct http_request *req, struct front *f, enum plugin_op op)
{
	struct plugin_req	 pr;
	struct pbuf		 pb;
	struct token_result	 tr;
	uint32_t		 reqid;
	double			 deadline = 0;
	char			 peer[80], ns[64], repo[128];
	int			 rc;

	if (op != PLUGIN_OP_LIST && !api_allowed(f, req))
		return;
	memset(&pr, 0, sizeof(pr));
	pr.op = op;
	if (get_param(req, "ns", pr.ns, sizeof(pr.ns), NULL) == -1 ||
	    get_param(req, "repo", pr.repo, sizeof(pr.repo), NULL) == -1)
		return;
	if (op == PLUGIN_OP_LIST) {
		/*
		 * Checked as for the others, but the list is all plugins.
		 * Parameters often hold credentials, and stderr anything:
		 * only for trusted clients, and never for what looks like a
		 * web page (after DNS rebinding a browser on this host is a
		 * loopback client).  A token counts as for the others: a
		 * full list for a right one must not be a guesser's oracle.
		 * The guard comes first, as in api_allowed(): a page's token
		 * checked would count against its browser's client, and the
		 * page could make the operator's own uid or address wait.
		 */
		list_call(f, req, !front_guard_pass(f, req) ||
		    !api_trusted(f, req, &tr));
		return;
	}
	if (op == PLUGIN_OP_RUN) {
		if (get_timeout(req, &pr.timeout) == -1 ||
		    get_param(req, "param", pr.param, sizeof(pr.param),
		    &pr.has_param) == -1)
			return;
		deadline = pr.timeout + RUN_MARGIN;
	} else if (op == PLUGIN_OP_UPDATE)
		deadline = update_deadline(f);
	if (op != PLUGIN_OP_LIST)
		log_info("plugins/%s ns \"%s\" repo \"%s\" from %s",
		    plugin_op_name(op),
		    front_http_logstr(pr.ns, ns, sizeof(ns)),
		    front_http_logstr(pr.repo, repo, sizeof(repo)),
		    front_http_peer_str(req, peer, sizeof(peer)));
	codec_put_init(&pb);
	plugin_req_encode(&pb, &pr);
	reqid = front_reqid(f);
	if (codec_put_failed(&pb))
		rc = -1;
	else if (deadline > 0)
		rc = front_wait_for(f, reqid, req, PENDING_PLUGIN, 0,
		    deadline);
	else
		rc = front_wait(f, reqid, req, PENDING_PLUGIN, 0);
	if (rc == -1) {
		codec_put_free(&pb);
		front_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (worker_send_peer(f->w, ROLE_SCHEDULER, MSG_PLUGIN_REQ, reqid,
	    pb.buf, pb.len) == -1) {
		plugin_unsent(f, &f->unsent_plugin, "PLUGIN_REQ to the "
		    "scheduler");
		(void)front_take(f, reqid, PENDING_PLUGIN, NULL);
		front_http_respond_error(req, 503,
		    "the scheduler is not available; "
		    "try again");
	}
	codec_put_free(&pb);
}

void
front_route_plugins_list(struct http_request *req, void *ctx)
{
	plugin_call(req, ctx, PLUGIN_OP_LIST);
}

void
front_route_plugins_update(struct http_request *req, void *ctx)
{
	plugin_call(req, ctx, PLUGIN_OP_UPDATE);
}

void
front_route_plugins_run(struct http_request *req, void *ctx)
{
	plugin_call(req, ctx, PLUGIN_OP_RUN);
}

void
front_route_plugins_enable(struct http_request *req, void *ctx)
{
	plugin_call(req, ctx, PLUGIN_OP_ENABLE);
}

void
front_route_plugins_disable(struct http_request *req, void *ctx)
{
	plugin_call(req, ctx, PLUGIN_OP_DISABLE);
}

int
front_plugin_resp(struct front *f, struct frame_in *in)
{
	struct http_request	*req;
	struct preader		 pr;
	char			*json, err[256];
	int			 status, n;

	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_resp_decode(&pr, &status, &json, err, sizeof(err)) == -1) {
		log_warnx("%s: bad PLUGIN_RESP %u from the scheduler: %s",
		    __func__, in->hdr.reqid, err);
		/* a list's: every client that shares it */
		list_fail(f, in->hdr.reqid, 502, "bad answer from the "
		    "scheduler");
		list_answered(f, in->hdr.reqid);
		return -1;
	}
	n = 0;
	while ((req = front_take(f, in->hdr.reqid, PENDING_PLUGIN,
	    NULL)) != NULL) {
		front_http_respond(req, status, "application/json", json,
		    strlen(json));
		n++;
	}
	if (n == 0)
		/* answered already: 504, or the scheduler restarted */
		log_debug("%s: late answer to request %u", __func__,
		    in->hdr.reqid);
	free(json);
	list_answered(f, in->hdr.reqid);
	return 0;
}

/*
 * {"updated":true,"namespaces":[...]}, or with error instead of updated;
 * just the array when neither.  -1 when it cannot be encoded.
 */
static int
answer_namespaces(struct http_request *req, int status, const char *key,
    const char *error, const struct strlist *l)
{
	struct jsonw	 w;
	struct buf	 b;
	size_t		 i;
	int		 rc;

	buf_init(&b);
	/*
	 * The names are checked ASCII; the refresh's error may quote the
	 * registry, cut inside a character: bytes not UTF-8 as U+FFFD.
	 */
	jsonw_init(&w, &b, JSONW_GO);
	if (key != NULL) {
		jsonw_map_open(&w);
		jsonw_key(&w, key);
		if (error != NULL)
			jsonw_string(&w, error);
		else
			jsonw_bool(&w, 1);
		jsonw_key(&w, "namespaces");
	}
	jsonw_array_open(&w);
	for (i = 0; i < l->n; i++)
		jsonw_string(&w, l->v[i]);
	jsonw_array_close(&w);
	if (key != NULL)
		jsonw_map_close(&w);
	if ((rc = jsonw_finish(&w)) == 0)
		front_http_respond(req, status, "application/json", b.p, b.len);
	buf_free(&b);
	return rc;
}

void
front_route_me_ns(struct http_request *req, void *ctx)
{
	struct front	*f = ctx;

	if (answer_namespaces(req, 200, NULL, NULL, front_namespaces(f)) == -1)
		front_http_respond_error(req, 500,
		    "cannot encode the namespaces");
}

void
front_route_update(struct http_request *req, void *ctx)
{
	struct front	*f = ctx;
	uint32_t	 reqid;
	char		 peer[80];

	if (!api_allowed(f, req))
		return;
	log_info("registry refresh asked by %s",
	    front_http_peer_str(req, peer, sizeof(peer)));
	reqid = front_reqid(f);
	if (front_wait_for(f, reqid, req, PENDING_REFRESH, 0,
	    REFRESH_DEADLINE) == -1) {
		front_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (worker_send_peer(f->w, ROLE_FETCHER, MSG_REFRESH, reqid, NULL,
	    0) == -1) {
		plugin_unsent(f, &f->unsent_refresh, "REFRESH to the "
		    "fetcher");
		(void)front_take(f, reqid, PENDING_REFRESH, NULL);
		front_http_respond_error(req, 503,
		    "the fetcher is not available; "
		    "try again");
	}
}

/*
 * The fetcher's namespaces: pushed (reqid 0) or the end of a refresh
 * asked by /update.  Either way they are the ones in use from now on.
 */
int
front_namespaces_msg(struct front *f, struct frame_in *in)
{
	struct http_request	*req;
	struct preader		 pr;
	struct strlist		 l;
	char			 error[1024], err[256];
	int			 ok, rc;

	strlist_init(&l);
	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_msg_namespaces_decode(&pr, &ok, error, sizeof(error), &l,
	    err,
	    sizeof(err)) == -1) {
		strlist_free(&l);
		log_warnx("%s: bad NAMESPACES %u from the fetcher: %s",
		    __func__, in->hdr.reqid, err);
		if (in->hdr.reqid != 0 && (req = front_take(f, in->hdr.reqid,
		    PENDING_REFRESH, NULL)) != NULL)
			front_http_respond_error(req, 502,
			    "bad answer from the "
			    "fetcher");
		return -1;
	}
	strlist_free(&f->ns);
	f->ns = l;
	f->have_ns = 1;
	log_debug("%s: %zu namespaces from the fetcher%s", __func__, f->ns.n,
	    ok ? "" : " (refresh failed)");
	if (in->hdr.reqid == 0 || (req = front_take(f, in->hdr.reqid,
	    PENDING_REFRESH, NULL)) == NULL)
		return 0;
	if (ok)
		rc = answer_namespaces(req, 200, "updated", NULL, &f->ns);
	else
		rc = answer_namespaces(req, 502, "error", error[0] != '\0' ?
		    error : "the refresh failed", &f->ns);
	if (rc == -1)
		front_http_respond_error(req, 500,
		    "cannot encode the namespaces");
	return 0;
}
