/*
 * The /plugins/ API (lodastack-protocols.md 6.3): the front relays the
 * request as MSG_PLUGIN_REQ and our answer, an HTTP status and a JSON
 * body, verbatim.  Every check is made here.
 *
 *   list     200 [{plugin}, ...]; for a client the front does not trust
 *            with them, without "params" and "stderr" and with
 *            "redacted": true
 *   run      200 {run} when the run ended (the body says whether the
 *            plugin failed); 400 bad repo, parameter or timeout; 404
 *            unknown plugin; 409 running; 502 checkout failed; 503
 *            gitpull or the scheduler not available
 *   update   200 {"ns","repo","commit"}; 502 {"error"} from git
 *   enable   200 {"ns","repo","enabled":true} (also when it was)
 *   disable  200 {"ns","repo","enabled":false}; 500 when the marker
 *            file cannot be written or removed (gitpull writes it), 503
 *            when gitpull is not running
 * Errors are {"error": "..."}.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jsonw.h"
#include "log.h"
#include "warn_limit.h"

#define ERR_NS_REPO	"invalid ns or repo"
#define ERR_REPO	"invalid repo"
#define ERR_UNKNOWN	"plugin doesn't exist, add to loda first please"
#define ERR_TIMEOUT	"invalid timeout"
#define ERR_RUNNING	"plugin is running"
#define OUTPUT_HEAD	256	/* bytes of stdout shown in a run answer */

/* Seconds with milliseconds, as the answers always gave them. */
static void
json_secs(struct jsonw *w, double v)
{
	char	 num[320];	/* any double: 309 digits at most, ".xxx" */
	int	 n;

	n = snprintf(num, sizeof(num), "%.3f", v);
	/* jsonw_number refuses "", and a NaN's "nan" */
	jsonw_number(w, n > 0 && (size_t)n < sizeof(num) ? num : "");
}

static const char *
checkout_name(enum checkout_state c)
{
	switch (c) {
	case CHECKOUT_PENDING:
		return "pending";
	case CHECKOUT_OK:
		return "ok";
	case CHECKOUT_FAILED:
		return "failed";
	case CHECKOUT_UNTRUSTED:
		return "untrusted";
	default:
		return "none";
	}
}

/* exit, signal, timed_out of a run: null for what does not apply. */
static void
json_ending(struct jsonw *w, const struct last_run *l)
{
	jsonw_key(w, "exit");
	if (l->exited)
		jsonw_int64(w, l->status);
	else
		jsonw_null(w);
	jsonw_key(w, "signal");
	if (l->signo != 0)
		jsonw_int64(w, l->signo);
	else
		jsonw_null(w);
	jsonw_key(w, "timed_out");
	jsonw_bool(w, l->timed_out);
}

static void
plugin_json(struct jsonw *w, const struct plugin *p, int redact, int tails)
{
	const struct plugin_item	*it = &p->item;
	size_t				 i;

	jsonw_map_open(w);
	jsonw_key(w, "ns");
	jsonw_string(w, it->ns);
	jsonw_key(w, "name");
	jsonw_string(w, it->name);
	jsonw_key(w, "git");
	jsonw_string(w, it->git);
	jsonw_key(w, "repo");
	jsonw_string(w, it->repo);
	jsonw_key(w, "project");
	jsonw_string(w, it->project);
	jsonw_key(w, "interval");
	jsonw_int64(w, it->interval);
	if (redact) {
		jsonw_key(w, "redacted");
		jsonw_bool(w, 1);
	} else {
		jsonw_key(w, "params");
		jsonw_array_open(w);
		for (i = 0; i < it->params.n; i++)
			jsonw_string(w, it->params.v[i]);
		jsonw_array_close(w);
	}
	jsonw_key(w, "enabled");
	jsonw_bool(w, p->enabled);
	jsonw_key(w, "scheduled");
	jsonw_bool(w, ev_is_active(&p->timer));
	jsonw_key(w, "next_run");	/* unix seconds, rounded */
	if (!ev_is_active(&p->timer) || !p->enabled)	/* none starts */
		jsonw_null(w);
	else
		jsonw_int64(w, (int64_t)(scheduler_next_at(p) + 0.5));
	jsonw_key(w, "checkout");
	jsonw_string(w, checkout_name(p->checkout));
	jsonw_key(w, "commit");
	jsonw_string(w, p->commit);
	jsonw_key(w, "signer");
	jsonw_string(w, p->signer);
	jsonw_key(w, "git_error");
	jsonw_string(w, p->git_error);
	jsonw_key(w, "running");
	jsonw_bool(w, p->run != NULL);
	jsonw_key(w, "last_run");
	if (p->last.at == 0)
		jsonw_null(w);
	else {
		jsonw_int64(w, (int64_t)p->last.at);
		jsonw_key(w, "last_type");
		jsonw_string(w, p->last.kind == RUN_CALL ? "call" : "regular");
		jsonw_key(w, "status");
		jsonw_string(w, p->last.ok ? "ok" : "failed");
		jsonw_key(w, "duration");
		json_secs(w, p->last.duration);
		json_ending(w, &p->last);
		jsonw_key(w, "points");
		jsonw_uint64(w, p->last.points);
		jsonw_key(w, "dropped");
		jsonw_uint64(w, p->last.dropped);
		jsonw_key(w, "error");
		jsonw_string(w, p->last.error);
		jsonw_key(w, "drop_error");
		jsonw_string(w, p->last.drop_error);
		if (!redact) {
			jsonw_key(w, "stderr");
			jsonw_string(w, tails ? p->last.stderr_tail : "");
			if (!tails && p->last.stderr_tail[0] != '\0') {
				jsonw_key(w, "stderr_cut");
				jsonw_bool(w, 1);
			}
		}
	}
	jsonw_key(w, "runs");
	jsonw_uint64(w, p->runs);
	jsonw_key(w, "failures");
	jsonw_uint64(w, p->failures);
	jsonw_key(w, "skipped");
	jsonw_uint64(w, p->skipped);
	jsonw_key(w, "timeouts");
	jsonw_uint64(w, p->timeouts);
	jsonw_key(w, "points_total");
	jsonw_uint64(w, p->points);
	jsonw_key(w, "dropped_total");
	jsonw_uint64(w, p->dropped);
	jsonw_map_close(w);
}

void
scheduler_list_json(struct sched *s, struct buf *b, int redact, int tails)
{
	struct plugin	*p;
	struct jsonw	 w;

	jsonw_init(&w, b, JSONW_GO);
	jsonw_array_open(&w);
	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (!p->gone)
			plugin_json(&w, p, redact, tails);
	}
	jsonw_array_close(&w);
	/* a failure marks b failed: the caller checks buf_failed() */
	(void)jsonw_finish(&w);
}

int
scheduler_split_params(const char *param, struct strlist *l, char *err,
    size_t errlen)
{
	const char	*p = param, *sp;
	char		 tok[PLUGIN_PARAM_MAX];
	size_t		 n;

	while (*p != '\0') {
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		n = (size_t)(sp - p);
		if (n > 0) {
			if (n >= sizeof(tok)) {
				snprintf(err, errlen, "parameter too long");
				return -1;
			}
			memcpy(tok, p, n);
			tok[n] = '\0';
			if (strstr(tok, "&&") != NULL ||
			    strpbrk(tok, ";|<>`") != NULL) {
				snprintf(err, errlen, "invalid parameter "
				    "\"%.64s\": && ; | < > ` are not allowed",
				    tok);
				return -1;
			}
			if (strlist_add(l, tok) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		p = *sp == '\0' ? sp : sp + 1;
	}
	return 0;
}

int
scheduler_check_repo(const char *repo, char *grouprepo, size_t grouprepolen,
    char *project, size_t projectlen)
{
	const char	*colon, *body;
	size_t		 len, i, slashes = 0;
	char		 err[256];

	if ((colon = strchr(repo, ':')) == NULL ||
	    strchr(colon + 1, ':') != NULL)
		return -1;
	body = colon + 1;
	len = strlen(body);
	if (len <= 4 || strcmp(body + len - 4, ".git") != 0)
		return -1;
	for (i = 0; i < len - 4; i++)
		if (body[i] == '/')
			slashes++;
	if (slashes != 1)
		return -1;
	/* and the names must be ones we would make directories of */
	return items_repo_from_git(repo, grouprepo, grouprepolen, project,
	    projectlen, err, sizeof(err));
}

/* The answer to the front: 0, or -1 with errno (EMSGSIZE: too large). */
static int
respond_frame(struct sched *s, uint32_t reqid, int status, const char *json)
{
	struct pbuf	 pb;
	int		 rv = 0;

	codec_put_init(&pb);
	plugin_resp_encode(&pb, status, json);
	if (codec_put_failed(&pb)) {
		errno = ENOMEM;
		rv = -1;
	} else if (worker_send_peer(s->w, ROLE_FRONT, MSG_PLUGIN_RESP, reqid,
	    pb.buf, pb.len) == -1)
		rv = -1;
	codec_put_free(&pb);
	return rv;
}

/*
 * An answer that cannot go is replaced by a short error, which usually
 * can: the front's client waits for one.  EMSGSIZE: over the edge's
 * largest payload; ENOBUFS: the front has not read what we sent before
 * (several large lists asked at once), 64 MiB of it.
 */
static void
respond_failed(struct sched *s, uint32_t reqid, int status)
{
	uint64_t	 n;

	if (errno == EMSGSIZE && status < 500)
		scheduler_respond_error(s, reqid, 500, "the answer is larger "
		    "than the front takes");
	else if (errno == ENOBUFS && status < 500) {
		/* the front's client sees a 503 and nothing else would say */
		if (warn_limit_due(&s->front_busy, ev_now(s->w->loop), &n))
			log_warnx("%s: answer %d to request %u not sent: the "
			    "front has not read the 64 MiB sent before it; "
			    "answered 503 (%llu more since the last such "
			    "line)", __func__, status, reqid,
			    (unsigned long long)(n - 1));
		scheduler_respond_error(s, reqid, 503, "too many answers wait "
		    "for the front; ask again");
	} else if (warn_limit_due(&s->respond_failed, ev_now(s->w->loop), &n))
		log_warn("%s: answer %d to request %u (%llu times)", __func__,
		    status, reqid, (unsigned long long)n);
}

void
scheduler_respond(struct sched *s, uint32_t reqid, int status, const char *json)
{
	if (reqid != 0 && respond_frame(s, reqid, status, json) == -1)
		respond_failed(s, reqid, status);
}

/*
 * The list, whole when it fits the edge to the front, else without the
 * stderr tails ("stderr_cut": true where one was left out): thousands of
 * plugins, or a few hundred whose tails are control bytes (six bytes
 * each once escaped), would otherwise make the list a 500 just when the
 * operator needs it.  /plugins/run still shows a run's tail.
 */
static void
list_respond(struct sched *s, uint32_t reqid, int redact)
{
	struct buf	 b;
	uint64_t	 n;
	int		 tails, e;

	/* redacted, the list has no tails to leave out */
	for (tails = 1; tails >= (redact ? 1 : 0); tails--) {
		buf_init(&b);
		scheduler_list_json(s, &b, redact, tails);
		if (buf_failed(&b)) {
			buf_free(&b);
			scheduler_respond_error(s, reqid, 500,
			    "out of memory");
			return;
		}
		if (respond_frame(s, reqid, 200, b.p) == 0) {
			buf_free(&b);
			if (!tails && warn_limit_due(&s->list_cut,
			    ev_now(s->w->loop), &n))
				log_warnx("%s: the plugin list is larger than "
				    "the front takes: answered without the "
				    "stderr tails (%llu times)", __func__,
				    (unsigned long long)n);
			return;
		}
		e = errno;
		buf_free(&b);
		if (e != EMSGSIZE) {
			errno = e;
			respond_failed(s, reqid, 200);
			return;
		}
	}
	scheduler_respond_error(s, reqid, 500, redact ? "the plugin list is "
	    "larger than the front takes" : "the plugin list is larger than "
	    "the front takes, even without the stderr tails");
}

void
scheduler_respond_error(struct sched *s, uint32_t reqid, int status,
    const char *msg)
{
	struct buf	 b;

	buf_init(&b);
	if (jsonw_error_body(&b, msg, -1) == -1)
		log_warnx("%s: out of memory", __func__);
	else
		scheduler_respond(s, reqid, status, b.p);
	buf_free(&b);
}

/* {"ns", "repo", more...}: the start of a plugin's answers. */
static void
answer_head(struct jsonw *w, struct buf *b, const struct plugin *p)
{
	buf_init(b);
	jsonw_init(w, b, JSONW_GO);
	jsonw_map_open(w);
	jsonw_key(w, "ns");
	jsonw_string(w, p->item.ns);
	jsonw_key(w, "repo");
	jsonw_string(w, p->item.repo);
}

static void
answer_send(struct sched *s, uint32_t reqid, struct jsonw *w, struct buf *b)
{
	jsonw_map_close(w);
	if (jsonw_finish(w) == -1)
		scheduler_respond_error(s, reqid, 500, "out of memory");
	else
		scheduler_respond(s, reqid, 200, b->p);
	buf_free(b);
}

void
scheduler_answer_run(struct plugin *p, uint32_t reqid,
    const struct run_result *res)
{
	const struct last_run	*l = &p->last;
	struct jsonw		 w;
	struct buf		 b;

	answer_head(&w, &b, p);
	jsonw_key(&w, "commit");
	jsonw_string(&w, p->commit);
	jsonw_key(&w, "status");
	jsonw_string(&w, l->ok ? "ok" : "failed");
	json_ending(&w, l);
	jsonw_key(&w, "duration");
	json_secs(&w, l->duration);
	jsonw_key(&w, "points");
	jsonw_uint64(&w, l->points);
	jsonw_key(&w, "dropped");
	jsonw_uint64(&w, l->dropped);
	jsonw_key(&w, "error");
	jsonw_string(&w, l->error);
	jsonw_key(&w, "drop_error");
	jsonw_string(&w, l->drop_error);
	jsonw_key(&w, "output_bytes");
	jsonw_uint64(&w, l->outbytes);
	jsonw_key(&w, "output_head");
	if (res != NULL)
		jsonw_stringn(&w, res->out, res->outlen < OUTPUT_HEAD ?
		    res->outlen : OUTPUT_HEAD);
	else
		jsonw_string(&w, "");
	jsonw_key(&w, "stderr");
	jsonw_string(&w, res != NULL ? res->errtail : "");
	answer_send(p->s, reqid, &w, &b);
}

/*
 * gitpull was not asked for `op` of `p` (scheduler_git() or
 * scheduler_mark() failed, errno why): 503, `msg` when it is not there.
 * A gitpull that is down the master says; one whose edge will not take
 * the question (ENOBUFS: it reads nothing, 64 MiB wait for it) nobody
 * else does.
 */
static void
git_unsent(struct sched *s, uint32_t reqid, const struct plugin *p,
    const char *op, const char *msg)
{
	uint64_t	 n;
	int		 saved = errno;

	if (saved != ENOTCONN && warn_limit_due(&s->git_unsent,
	    ev_now(s->w->loop), &n))
		log_warnx("%s: %s of plugin %s: gitpull not asked: %s; "
		    "answered 503 (%llu more since the last such line)",
		    __func__, op, p->key, strerror(saved),
		    (unsigned long long)(n - 1));
	/* the client is told which: a gitpull that runs is not "not
	 * running" */
	if (saved == ENOBUFS)
		msg = "gitpull is not reading: 64 MiB of questions wait for "
		    "it; try again";
	else if (saved != ENOTCONN)
		msg = "gitpull could not be asked (out of memory); try again";
	scheduler_respond_error(s, reqid, 503, msg);
}

static void
op_run(struct sched *s, uint32_t reqid, const struct plugin_req *r,
    struct plugin *p)
{
	struct gitwait	*gw;
	struct strlist	 argv;
	uint32_t	 timeout = r->timeout == 0 ? SCHED_RUN_TIMEOUT :
			    r->timeout;
	char		 err[256];
	int		 saved;

	if (timeout > SCHED_RUN_TIMEOUT_MAX) {
		scheduler_respond_error(s, reqid, 400, ERR_TIMEOUT);
		return;
	}
	strlist_init(&argv);
	if (r->has_param && scheduler_split_params(r->param, &argv, err,
	    sizeof(err)) == -1) {
		strlist_free(&argv);
		scheduler_respond_error(s, reqid, 400, err);
		return;
	}
	if (p->run != NULL) {
		strlist_free(&argv);
		scheduler_respond_error(s, reqid, 409, ERR_RUNNING);
		return;
	}
	/* as the Go agent: make sure the checkout is there, no update */
	if ((gw = scheduler_git(s, p, GIT_FOR_RUN, reqid)) == NULL) {
		saved = errno;
		strlist_free(&argv);
		errno = saved;
		git_unsent(s, reqid, p, "run", "gitpull is not running: the "
		    "checkout cannot be checked; try again");
		return;
	}
	gw->argv = argv;
	gw->timeout = timeout;
}

void
scheduler_answer_update(struct plugin *p, uint32_t reqid)
{
	struct jsonw	 w;
	struct buf	 b;

	answer_head(&w, &b, p);
	jsonw_key(&w, "commit");
	jsonw_string(&w, p->commit);
	answer_send(p->s, reqid, &w, &b);
}

static void
op_update(struct sched *s, uint32_t reqid, struct plugin *p)
{
	if (scheduler_git(s, p, GIT_FOR_UPDATE, reqid) == NULL)
		git_unsent(s, reqid, p, "update",
		    "gitpull is not running; try again");
}

/* Answered when gitpull has made or removed the marker. */
static void
op_enable(struct sched *s, uint32_t reqid, struct plugin *p, int enable)
{
	if (scheduler_mark(s, p->key, p->item.ns, p->item.repo,
	    p->item.project, enable ? GIT_MARK_ENABLE : GIT_MARK_DISABLE, 0,
	    reqid) == -1)
		git_unsent(s, reqid, p, enable ? "enable" : "disable",
		    "gitpull is not running: the disable marker cannot be "
		    "written; try again");
}

int
scheduler_plugin_req(struct sched *s, struct frame_in *in)
{
	struct plugin_req	 r;
	struct preader		 pr;
	struct plugin		*p;
	char			 err[256], repo[512], project[256];
	uint32_t		 reqid = in->hdr.reqid;

	s->st.requests++;
	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_req_decode(&pr, &r, err, sizeof(err)) == -1) {
		/* the front's bug; the edge stays for the next request */
		log_warnx("%s: bad PLUGIN_REQ: %s", __func__, err);
		scheduler_respond_error(s, reqid, 400, err);
		return 0;
	}
	log_debug("%s %s %s", plugin_op_name(r.op), r.ns, r.repo);
	if (r.op == PLUGIN_OP_LIST) {
		list_respond(s, reqid, r.redact);
		return 0;
	}
	if (s->stopping) {
		scheduler_respond_error(s, reqid, 503, "the agent is stopping");
		return 0;
	}
	if (r.ns[0] == '\0' || r.repo[0] == '\0') {
		scheduler_respond_error(s, reqid, 400, ERR_NS_REPO);
		return 0;
	}
	if (scheduler_check_repo(r.repo, repo, sizeof(repo), project,
	    sizeof(project)) == -1) {
		scheduler_respond_error(s, reqid, 400, ERR_REPO);
		return 0;
	}
	if ((p = scheduler_find_repo(s, r.ns, repo)) == NULL) {
		scheduler_respond_error(s, reqid, 404, ERR_UNKNOWN);
		return 0;
	}
	switch (r.op) {
	case PLUGIN_OP_RUN:
		op_run(s, reqid, &r, p);
		break;
	case PLUGIN_OP_UPDATE:
		op_update(s, reqid, p);
		break;
	case PLUGIN_OP_ENABLE:
		op_enable(s, reqid, p, 1);
		break;
	case PLUGIN_OP_DISABLE:
		op_enable(s, reqid, p, 0);
		break;
	default:
		scheduler_respond_error(s, reqid, 400, "unknown operation");
		break;
	}
	return 0;
}
