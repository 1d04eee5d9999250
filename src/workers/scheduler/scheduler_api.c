/*
 * The /plugins/ API (lodastack-protocols.md 6.3): the front relays the
 * request as MSG_PLUGIN_REQ and our answer, an HTTP status and a JSON
 * body, verbatim.  Every check is made here.
 *
 *   list     200 [{plugin}, ...]
 *   run      200 {run} when the run ended (the body says whether the
 *            plugin failed); 400 bad repo, parameter or timeout; 404
 *            unknown plugin; 409 running; 502 checkout failed; 503
 *            gitpull or the scheduler not available
 *   update   200 {"ns","repo","commit"}; 502 {"error"} from git
 *   enable   200 {"ns","repo","enabled":true} (also when it was)
 *   disable  200 {"ns","repo","enabled":false}; 500 when the marker
 *            file cannot be written or removed
 * Errors are {"error": "..."}.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "encode.h"
#include "log.h"

#define ERR_NS_REPO	"invalid ns or repo"
#define ERR_REPO	"invalid repo"
#define ERR_UNKNOWN	"plugin doesn't exist, add to loda first please"
#define ERR_TIMEOUT	"invalid timeout"
#define ERR_RUNNING	"plugin is running"
#define OUTPUT_HEAD	256	/* bytes of stdout shown in a run answer */

static void
json_key(struct buf *b, int *first, const char *key)
{
	if (!*first)
		buf_addc(b, ',');
	*first = 0;
	encode_json_string(b, key, strlen(key));
	buf_addc(b, ':');
}

static void
json_str(struct buf *b, int *first, const char *key, const char *v)
{
	json_key(b, first, key);
	encode_json_string(b, v, strlen(v));
}

static void
json_u64(struct buf *b, int *first, const char *key, uint64_t v)
{
	json_key(b, first, key);
	buf_printf(b, "%llu", (unsigned long long)v);
}

static void
json_i64(struct buf *b, int *first, const char *key, int64_t v)
{
	json_key(b, first, key);
	buf_printf(b, "%lld", (long long)v);
}

static void
json_bool(struct buf *b, int *first, const char *key, int v)
{
	json_key(b, first, key);
	buf_adds(b, v ? "true" : "false");
}

static void
json_secs(struct buf *b, int *first, const char *key, double v)
{
	json_key(b, first, key);
	buf_printf(b, "%.3f", v);
}

static void
json_null(struct buf *b, int *first, const char *key)
{
	json_key(b, first, key);
	buf_adds(b, "null");
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
	default:
		return "none";
	}
}

/* exit, signal, timed_out of a run: null for what does not apply. */
static void
json_ending(struct buf *b, int *first, const struct last_run *l)
{
	if (l->exited)
		json_i64(b, first, "exit", l->status);
	else
		json_null(b, first, "exit");
	if (l->signo != 0)
		json_i64(b, first, "signal", l->signo);
	else
		json_null(b, first, "signal");
	json_bool(b, first, "timed_out", l->timed_out);
}

static void
plugin_json(struct buf *b, const struct plugin *p)
{
	const struct plugin_item	*it = &p->item;
	size_t				 i;
	int				 first = 1;

	buf_addc(b, '{');
	json_str(b, &first, "ns", it->ns);
	json_str(b, &first, "name", it->name);
	json_str(b, &first, "git", it->git);
	json_str(b, &first, "repo", it->repo);
	json_str(b, &first, "project", it->project);
	json_i64(b, &first, "interval", it->interval);
	json_key(b, &first, "params");
	buf_addc(b, '[');
	for (i = 0; i < it->params.n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		encode_json_string(b, it->params.v[i],
		    strlen(it->params.v[i]));
	}
	buf_addc(b, ']');
	json_bool(b, &first, "enabled", p->enabled);
	json_bool(b, &first, "scheduled", ev_is_active(&p->timer));
	json_str(b, &first, "checkout", checkout_name(p->checkout));
	json_str(b, &first, "commit", p->commit);
	json_str(b, &first, "git_error", p->git_error);
	json_bool(b, &first, "running", p->run != NULL);
	if (p->last.at == 0)
		json_null(b, &first, "last_run");
	else {
		json_i64(b, &first, "last_run", (int64_t)p->last.at);
		json_str(b, &first, "last_type", p->last.kind == RUN_CALL ?
		    "call" : "regular");
		json_str(b, &first, "status", p->last.ok ? "ok" : "failed");
		json_secs(b, &first, "duration", p->last.duration);
		json_ending(b, &first, &p->last);
		json_u64(b, &first, "points", p->last.points);
		json_u64(b, &first, "dropped", p->last.dropped);
		json_str(b, &first, "error", p->last.error);
		json_str(b, &first, "drop_error", p->last.drop_error);
		json_str(b, &first, "stderr", p->last.stderr_tail);
	}
	json_u64(b, &first, "runs", p->runs);
	json_u64(b, &first, "failures", p->failures);
	json_u64(b, &first, "skipped", p->skipped);
	json_u64(b, &first, "timeouts", p->timeouts);
	json_u64(b, &first, "points_total", p->points);
	json_u64(b, &first, "dropped_total", p->dropped);
	buf_addc(b, '}');
}

void
sched_list_json(struct sched *s, struct buf *b)
{
	struct plugin	*p;
	int		 first = 1;

	buf_addc(b, '[');
	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (p->gone)
			continue;
		if (!first)
			buf_addc(b, ',');
		first = 0;
		plugin_json(b, p);
	}
	buf_addc(b, ']');
}

int
sched_split_params(const char *param, struct strlist *l, char *err,
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
sched_check_repo(const char *repo, char *grouprepo, size_t grouprepolen,
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
	return repo_from_git(repo, grouprepo, grouprepolen, project,
	    projectlen, err, sizeof(err));
}

void
sched_respond(struct sched *s, uint32_t reqid, int status, const char *json)
{
	struct pbuf	 pb;

	if (reqid == 0)
		return;
	pb_init(&pb);
	plugin_resp_encode(&pb, status, json);
	if (pb_failed(&pb) || worker_send_peer(s->w, ROLE_FRONT,
	    MSG_PLUGIN_RESP, reqid, pb.buf, pb.len) == -1) {
		if (errno == EMSGSIZE && status == 200)
			sched_respond_error(s, reqid, 500, "the answer is "
			    "larger than the front takes");
		else
			log_warn("%s: answer %d to request %u", __func__,
			    status, reqid);
	}
	pb_free(&pb);
}

void
sched_respond_error(struct sched *s, uint32_t reqid, int status,
    const char *msg)
{
	struct buf	 b;
	int		 first = 1;

	buf_init(&b);
	buf_addc(&b, '{');
	json_str(&b, &first, "error", msg);
	buf_addc(&b, '}');
	if (buf_failed(&b))
		log_warnx("%s: out of memory", __func__);
	else
		sched_respond(s, reqid, status, b.p);
	buf_free(&b);
}

/* {"ns", "repo", more...}: the start of a plugin's answers. */
static void
answer_head(struct buf *b, int *first, const struct plugin *p)
{
	buf_addc(b, '{');
	json_str(b, first, "ns", p->item.ns);
	json_str(b, first, "repo", p->item.repo);
}

static void
answer_send(struct sched *s, uint32_t reqid, struct buf *b)
{
	buf_addc(b, '}');
	if (buf_failed(b))
		sched_respond_error(s, reqid, 500, "out of memory");
	else
		sched_respond(s, reqid, 200, b->p);
	buf_free(b);
}

void
sched_answer_run(struct plugin *p, uint32_t reqid,
    const struct run_result *res)
{
	const struct last_run	*l = &p->last;
	struct buf		 b;
	int			 first = 1;

	buf_init(&b);
	answer_head(&b, &first, p);
	json_str(&b, &first, "commit", p->commit);
	json_str(&b, &first, "status", l->ok ? "ok" : "failed");
	json_ending(&b, &first, l);
	json_secs(&b, &first, "duration", l->duration);
	json_u64(&b, &first, "points", l->points);
	json_u64(&b, &first, "dropped", l->dropped);
	json_str(&b, &first, "error", l->error);
	json_str(&b, &first, "drop_error", l->drop_error);
	json_u64(&b, &first, "output_bytes", l->outbytes);
	json_key(&b, &first, "output_head");
	if (res != NULL)
		encode_json_string(&b, res->out, res->outlen < OUTPUT_HEAD ?
		    res->outlen : OUTPUT_HEAD);
	else
		buf_adds(&b, "\"\"");
	json_str(&b, &first, "stderr", res != NULL ? res->errtail : "");
	answer_send(p->s, reqid, &b);
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

	if (timeout > SCHED_RUN_TIMEOUT_MAX) {
		sched_respond_error(s, reqid, 400, ERR_TIMEOUT);
		return;
	}
	strlist_init(&argv);
	if (r->has_param && sched_split_params(r->param, &argv, err,
	    sizeof(err)) == -1) {
		strlist_free(&argv);
		sched_respond_error(s, reqid, 400, err);
		return;
	}
	if (p->run != NULL) {
		strlist_free(&argv);
		sched_respond_error(s, reqid, 409, ERR_RUNNING);
		return;
	}
	/* as the Go agent: make sure the checkout is there, no update */
	if ((gw = sched_git(s, p, GIT_FOR_RUN, reqid)) == NULL) {
		strlist_free(&argv);
		sched_respond_error(s, reqid, 503, "gitpull is not "
		    "running: the checkout cannot be checked; try again");
		return;
	}
	gw->argv = argv;
	gw->timeout = timeout;
}

void
sched_answer_update(struct plugin *p, uint32_t reqid)
{
	struct buf	 b;
	int		 first = 1;

	buf_init(&b);
	answer_head(&b, &first, p);
	json_str(&b, &first, "commit", p->commit);
	answer_send(p->s, reqid, &b);
}

static void
op_update(struct sched *s, uint32_t reqid, struct plugin *p)
{
	if (sched_git(s, p, GIT_FOR_UPDATE, reqid) == NULL)
		sched_respond_error(s, reqid, 503, "gitpull is not running; "
		    "try again");
}

static void
op_enable(struct sched *s, uint32_t reqid, struct plugin *p, int enable)
{
	struct buf	 b;
	char		 err[512];
	int		 first = 1, rv;

	if (enable)
		rv = marker_remove(s->w->conf.pluginsdir, p->key, err,
		    sizeof(err));
	else
		rv = marker_create(s->w->conf.pluginsdir, p->key, err,
		    sizeof(err));
	if (rv == -1) {
		log_warnx("%s %s: %s", enable ? "enable" : "disable", p->key,
		    err);
		sched_respond_error(s, reqid, 500, err);
		return;
	}
	if (p->enabled != enable)
		log_info("plugin %s %s", p->key, enable ? "enabled" :
		    "disabled");
	p->enabled = enable;
	buf_init(&b);
	answer_head(&b, &first, p);
	json_bool(&b, &first, "enabled", enable);
	answer_send(s, reqid, &b);
}

int
sched_plugin_req(struct sched *s, struct frame_in *in)
{
	struct plugin_req	 r;
	struct preader		 pr;
	struct plugin		*p;
	struct buf		 b;
	char			 err[256], repo[512], project[256];
	uint32_t		 reqid = in->hdr.reqid;

	s->st.requests++;
	pr_init(&pr, in->data, in->datalen);
	if (plugin_req_decode(&pr, &r, err, sizeof(err)) == -1) {
		/* the front's bug; the edge stays for the next request */
		log_warnx("%s: bad PLUGIN_REQ: %s", __func__, err);
		sched_respond_error(s, reqid, 400, err);
		return 0;
	}
	log_debug("%s %s %s", plugin_op_name(r.op), r.ns, r.repo);
	if (r.op == PLUGIN_OP_LIST) {
		buf_init(&b);
		sched_list_json(s, &b);
		if (buf_failed(&b))
			sched_respond_error(s, reqid, 500, "out of memory");
		else
			sched_respond(s, reqid, 200, b.p);
		buf_free(&b);
		return 0;
	}
	if (s->stopping) {
		sched_respond_error(s, reqid, 503, "the agent is stopping");
		return 0;
	}
	if (r.ns[0] == '\0' || r.repo[0] == '\0') {
		sched_respond_error(s, reqid, 400, ERR_NS_REPO);
		return 0;
	}
	if (sched_check_repo(r.repo, repo, sizeof(repo), project,
	    sizeof(project)) == -1) {
		sched_respond_error(s, reqid, 400, ERR_REPO);
		return 0;
	}
	if ((p = sched_find_repo(s, r.ns, repo)) == NULL) {
		sched_respond_error(s, reqid, 404, ERR_UNKNOWN);
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
		sched_respond_error(s, reqid, 400, "unknown operation");
		break;
	}
	return 0;
}
