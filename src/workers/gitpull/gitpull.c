/*
 * The gitpull worker: clones and updates the plugin checkouts
 * (pluginsdir/<ns>/<project>) for the scheduler by running git, as `user`,
 * the owner of pluginsdir (lodastack-protocols.md section 3).
 *
 * MSG_GIT_REQ {ns, repo, project, update} is answered with MSG_GIT_RESP
 * {ok, commit, error} under the same request id.  Requests are queued and
 * coalesced per checkout (gitpull_queue.c); an operation is a chain of git
 * commands (gitpull_op.c), each one a child on the event loop with a
 * timeout (gitpull_exec.c).  Nothing is ever updated unless asked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"
#include "gitpull_cmd.h"
#include "gitpull_op.h"
#include "gitpull_queue.h"
#include "log.h"
#include "metrics.h"
#include "plugin_msg.h"
#include "status.h"
#include "workers/worker.h"

#define GITPULL_MAX_RUNNING	2	/* git operations at once */
#define STATS_INTERVAL		1.0	/* counters to the master, if new */
#define STOP_GRACE		5.0	/* seconds to reap killed gits */

struct gitpull {
	struct worker		*w;
	char			 git[PATH_MAX];	/* "" = none found */
	struct gitpull_conf	 gc;
	struct gitpull_trust	 trust;
	struct gq		 q;
	struct gitop_stats	 ost;
	ev_timer		 stats_timer;
	ev_timer		 stop_timer;
	int			 dirty;
	char			 last_error[256];
};

static void
gitpull_push_stats(struct gitpull *gp)
{
	const struct stat_kv	 v[] = {
		{ "requests", gp->q.st.requests },
		{ "coalesced", gp->q.st.coalesced },
		{ "refused", gp->q.st.refused },
		{ "answered_ok", gp->q.st.ok },
		{ "answered_failed", gp->q.st.failed },
		{ "git_runs", gp->ost.runs },
		{ "git_failures", gp->ost.failures },
		{ "git_timeouts", gp->ost.timeouts },
		{ "clones", gp->ost.clones },
		{ "fetches", gp->ost.fetches },
		{ "running", gp->q.nrunning },
		{ "waiting", gp->q.nwaiters },
		{ "checkouts", gp->q.ncheckouts },
	};

	struct metric_set	 ms;

	/* a timed out command is a failed one too: each counts once */
	metrics_init(&ms);
	(void)metrics_put(&ms, "git_commands_total", gp->ost.runs -
	    gp->ost.failures, "result", "ok", NULL);
	(void)metrics_put(&ms, "git_commands_total", gp->ost.failures -
	    gp->ost.timeouts, "result", "failed", NULL);
	(void)metrics_put(&ms, "git_commands_total", gp->ost.timeouts,
	    "result", "timeout", NULL);
	gp->dirty = 0;
	(void)worker_push_stats_metrics(gp->w, v, sizeof(v) / sizeof(v[0]),
	    gp->last_error, &ms);
	metrics_free(&ms);
}

static void
stats_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gitpull	*gp = t->data;

	if (gp->dirty)
		gitpull_push_stats(gp);
}

/* gq_ops.answer */
static void
gitpull_answer(struct gq *q, uint32_t reqid, const struct git_resp *r)
{
	struct gitpull	*gp = q->arg;
	struct pbuf	 pb;

	gp->dirty = 1;
	codec_put_init(&pb);
	plugin_msg_git_resp_encode(&pb, r);
	if (codec_put_failed(&pb) || worker_send_peer(gp->w, ROLE_SCHEDULER,
	    MSG_GIT_RESP, reqid, pb.buf, pb.len) == -1)
		log_warn("%s: answer %u to the scheduler", __func__, reqid);
	codec_put_free(&pb);
}

static void
op_done(struct gitop *op, const struct git_resp *r, void *arg)
{
	struct gq_checkout	*c = arg;
	struct gitpull		*gp = c->q->arg;

	if (r->ok) {
		if (strcmp(c->commit, r->commit) != 0)
			log_info("%s/%s at %s%s%s", c->ns, c->project,
			    r->commit, c->commit[0] != '\0' ? ", was " : "",
			    c->commit);
	} else {
		log_warnx("%s: %s", __func__, r->error);
		snprintf(gp->last_error, sizeof(gp->last_error), "%s",
		    r->error);
	}
	gp->dirty = 1;
	gitpull_queue_finish(c->q, c, r);
	if (gp->w->stopping && gp->q.nrunning == 0) {
		gitpull_push_stats(gp);
		worker_exit(gp->w, 0);
	}
}

/* gq_ops.start */
static int
gitpull_start_op(struct gq *q, struct gq_checkout *c, struct git_resp *now)
{
	struct gitpull	*gp = q->arg;

	if (gp->git[0] == '\0') {
		memset(now, 0, sizeof(*now));
		snprintf(now->error, sizeof(now->error), "no git binary "
		    "found (looked in /usr/bin, /bin, /usr/local/bin and "
		    "PATH)");
	} else if ((c->op = gitpull_op_start(gp->w->loop, &gp->gc, &gp->trust,
	    &gp->ost, c->ns, c->run_repo, c->project, c->run_update, op_done,
	    c, now)) != NULL) {
		log_debug("%s %s/%s (%s)", c->run_update ? "updating" :
		    "checking", c->ns, c->project, c->run_repo);
		return 0;
	}
	log_warnx("%s: %s", __func__, now->error);
	snprintf(gp->last_error, sizeof(gp->last_error), "%s", now->error);
	return -1;
}

static const struct gq_ops gitpull_gq_ops = {
	.start = gitpull_start_op,
	.answer = gitpull_answer,
};

/* Before the sandbox: find git while every directory can be looked at. */
static int
gitpull_setup(struct worker *w, char *err, size_t errlen)
{
	struct gitpull	*gp;

	if ((gp = calloc(1, sizeof(*gp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	gp->w = w;
	w->priv = gp;
	gitpull_trust_init(&gp->trust);
	gitpull_queue_init(&gp->q, &gitpull_gq_ops, gp, GITPULL_MAX_RUNNING);
	ev_timer_init(&gp->stats_timer, stats_cb, STATS_INTERVAL,
	    STATS_INTERVAL);
	gp->stats_timer.data = gp;
	/* a missing git is every request's error, not a restart loop */
	if (gitpull_find_git(gp->git, sizeof(gp->git)) == -1) {
		gp->git[0] = '\0';
		log_warnx("%s: no git binary found: plugins cannot be cloned",
		    __func__);
	}
	return 0;
}

/* The config file git reads as its global one; leftovers of a crash. */
static void
gitpull_prepare_dir(struct gitpull *gp)
{
	char	 err[512];
	int	 n;

	if (gitpull_trust_reset(&gp->trust, gp->gc.gitconfig, err,
	    sizeof(err)) == -1)
		log_warnx("%s: cannot write the git config of local sources: "
		    "%s; a local repository owned by another user will be "
		    "refused", __func__, err);
	if ((n = gitpull_rm_all_clones(gp->gc.pluginsdir)) > 0)
		log_info("removed %d unfinished clone%s", n, n == 1 ? "" :
		    "s");
}

static int
gitpull_start(struct worker *w, char *err, size_t errlen)
{
	struct gitpull	*gp = w->priv;

	if (gitpull_conf_from(&gp->gc, &w->conf, gp->git, err, errlen) == -1)
		return -1;
	gitpull_prepare_dir(gp);
	ev_timer_start(w->loop, &gp->stats_timer);
	gitpull_push_stats(gp);
	return 0;
}

static int
gitpull_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct gitpull		*gp = w->priv;
	struct gitpull_conf	 gc;

	if (gp == NULL || !w->setup_done)
		return 0;
	if (gitpull_conf_from(&gc, next, gp->git, err, errlen) == -1)
		return -1;
	/* operations under way keep the settings they started with */
	if (strcmp(gc.pluginsdir, gp->gc.pluginsdir) != 0 ||
	    strcmp(gc.url_template, gp->gc.url_template) != 0) {
		gp->gc = gc;
		gitpull_prepare_dir(gp);
	} else
		gp->gc = gc;
	return 0;
}

static int
gitpull_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct gitpull	*gp = w->priv;
	struct git_req	 req;
	struct git_resp	 resp;
	struct preader	 pr;
	char		 why[512];

	if (in->hdr.type != MSG_GIT_REQ || gp == NULL)
		return -1;
	gp->dirty = 1;
	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_msg_git_req_decode(&pr, &req, why, sizeof(why)) == -1) {
		log_warnx("%s: %s from %s: %s", __func__,
		    proto_msg_name(in->hdr.type), proto_role_name(from), why);
		gp->q.st.requests++;
		gp->q.st.refused++;
		gp->q.st.failed++;
		memset(&resp, 0, sizeof(resp));
		snprintf(resp.error, sizeof(resp.error), "bad request: %s",
		    why);
		gitpull_answer(&gp->q, in->hdr.reqid, &resp);
		return 0;
	}
	gitpull_queue_request(&gp->q, &req, in->hdr.reqid);
	return 0;
}

static void
gitpull_peer_changed(struct worker *w, enum role role, pid_t pid)
{
	struct gitpull	*gp = w->priv;

	/*
	 * A restarted scheduler numbers its requests afresh: an answer to
	 * an old id would be taken for a new request.  What runs finishes
	 * (the checkout is the same) but answers nobody.
	 */
	if (gp != NULL && role == ROLE_SCHEDULER && pid == 0 &&
	    gp->q.nwaiters > 0) {
		log_debug("scheduler gone: forgetting %zu requests",
		    gp->q.nwaiters);
		gitpull_queue_drop_waiters(&gp->q);
		gp->dirty = 1;
	}
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gitpull	*gp = t->data;

	log_warnx("%s: stopping with %zu git operations not reaped", __func__,
	    gp->q.nrunning);
	worker_exit(gp->w, 0);
}

/* Kill every git group; exit once all are reaped. */
static void
gitpull_shutdown(struct worker *w)
{
	struct gitpull		*gp = w->priv;
	struct gq_checkout	*c;

	if (gp == NULL || !w->setup_done) {
		worker_exit(w, 0);
		return;
	}
	gitpull_queue_stop(&gp->q, "the agent is stopping");
	if (gp->q.nrunning == 0) {
		gitpull_push_stats(gp);
		worker_exit(w, 0);
		return;
	}
	log_info("stopping: killing %zu git operation%s", gp->q.nrunning,
	    gp->q.nrunning == 1 ? "" : "s");
	TAILQ_FOREACH(c, &gp->q.checkouts, entry)
		if (c->busy && c->op != NULL)
			gitpull_op_kill(c->op);
	ev_timer_init(&gp->stop_timer, stop_cb, STOP_GRACE, 0.);
	gp->stop_timer.data = gp;
	ev_timer_start(w->loop, &gp->stop_timer);
}

static void
gitpull_cleanup(struct worker *w)
{
	struct gitpull		*gp = w->priv;
	struct gq_checkout	*c;

	if (gp == NULL)
		return;
	TAILQ_FOREACH(c, &gp->q.checkouts, entry)
		if (c->busy && c->op != NULL) {
			gitpull_op_abort(c->op);
			c->op = NULL;
		}
	gitpull_queue_free(&gp->q);
	gitpull_trust_free(&gp->trust);
	ev_timer_stop(w->loop, &gp->stats_timer);
	ev_timer_stop(w->loop, &gp->stop_timer);
	free(gp);
	w->priv = NULL;
}

const struct worker_ops gitpull_ops = {
	.role = ROLE_GITPULL,
	.setup = gitpull_setup,
	.start = gitpull_start,
	.reconfigure = gitpull_reconfigure,
	.peer_msg = gitpull_peer_msg,
	.peer_changed = gitpull_peer_changed,
	.shutdown = gitpull_shutdown,
	.cleanup = gitpull_cleanup,
};
