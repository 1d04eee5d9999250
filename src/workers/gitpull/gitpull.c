/*
 * The gitpull worker: clones and updates the plugin checkouts
 * (pluginsdir/<ns>/<project>) for the scheduler by running git, as `user`,
 * the owner of pluginsdir (lodastack-protocols.md section 3).
 *
 * MSG_GIT_REQ {ns, repo, project, update} is answered with MSG_GIT_RESP
 * {ok, commit, error} under the same request id.  Requests are queued and
 * coalesced per checkout (gitpull_queue.c); an operation is a chain of git
 * commands (gitpull_op.c), each one a child on the event loop with a
 * timeout (gitpull_exec.c).  Nothing is ever updated unless asked.  With
 * [agent] gitsigners nothing is checked out unless its signature passes
 * (gitpull_verify.c); the answer then says `untrusted` and why.  A
 * request with a `mark` is about a disable marker instead, answered at
 * once (gitpull_marker.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "codec.h"
#include "gitpull_cmd.h"
#include "gitpull_marker.h"
#include "gitpull_op.h"
#include "gitpull_queue.h"
#include "log.h"
#include "metrics.h"
#include "plugin_msg.h"
#include "signers.h"
#include "status.h"
#include "workers/worker.h"

#define GITPULL_MAX_RUNNING	2	/* git operations at once */
#define STOP_GRACE		5.0	/* seconds to reap killed gits */

struct gitpull {
	struct worker		*w;
	char			 git[PATH_MAX];	/* "" = none found */
	char			 sshkeygen[PATH_MAX];	/* "" = none */
	struct gitpull_conf	 gc;
	struct gitpull_trust	 trust;
	struct gq		 q;
	struct gitop_stats	 ost;
	ev_timer		 stop_timer;
	uint64_t		 markers;	/* disable markers asked */
	uint64_t		 markers_failed;
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
		{ "signatures_verified", gp->ost.verified },
		{ "signatures_untrusted", gp->ost.untrusted },
		{ "running", gp->q.nrunning },
		{ "waiting", gp->q.nwaiters },
		{ "checkouts", gp->q.ncheckouts },
		{ "markers", gp->markers },
		{ "markers_failed", gp->markers_failed },
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
	(void)metrics_put(&ms, "plugin_signatures_total", gp->ost.verified,
	    "result", "verified", NULL);
	(void)metrics_put(&ms, "plugin_signatures_total", gp->ost.untrusted,
	    "result", "untrusted", NULL);
	(void)worker_push_stats_all(gp->w, v, sizeof(v) / sizeof(v[0]), NULL, 0,
	    gp->last_error, &ms);
	metrics_free(&ms);
}

/* ops->stats */
static void
gitpull_stats(struct worker *w)
{
	struct gitpull	*gp = w->priv;

	if (gp != NULL)
		gitpull_push_stats(gp);
}

/* gq_ops.answer */
static void
gitpull_answer(struct gq *q, uint32_t reqid, const struct git_resp *r)
{
	struct gitpull	*gp = q->arg;
	struct git_resp	 resp = *r;
	struct pbuf	 pb;

	/*
	 * Once stopping, what fails was killed by the stop, or refused for
	 * it (gitpull_shutdown()): the scheduler says so as what it is.
	 */
	if (gp->w->stopping && !resp.ok && !resp.untrusted)
		resp.stopped = 1;
	codec_put_init(&pb);
	plugin_msg_git_resp_encode(&pb, &resp);
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
	} else if (r->untrusted) {
		log_warnx("%s: %s/%s: %s%s", __func__, c->ns, c->project,
		    r->error, r->kept ? "; the checkout stays where it was" :
		    "; nothing checked out");
		snprintf(gp->last_error, sizeof(gp->last_error), "%s/%s: %s",
		    c->ns, c->project, r->error);
	} else if (gp->w->stopping) {
		/* killed by the stop (gitpull_shutdown()): no failure */
		log_info("%s: %s", __func__, r->error);
	} else {
		log_warnx("%s: %s", __func__, r->error);
		snprintf(gp->last_error, sizeof(gp->last_error), "%s",
		    r->error);
	}
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
	/* a missing git is every request's error, not a restart loop */
	if (gitpull_find_git(gp->git, sizeof(gp->git)) == -1) {
		gp->git[0] = '\0';
		log_warnx("%s: no git binary found: plugins cannot be cloned",
		    __func__);
	}
	/* only needed with [agent] gitsigners; said then */
	if (gitpull_find_program("ssh-keygen", gp->sshkeygen,
	    sizeof(gp->sshkeygen)) == -1)
		gp->sshkeygen[0] = '\0';
	return 0;
}

/* Whether and how plugins are checked; said at start and when it changes. */
static void
gitpull_say_signing(const struct gitpull *gp)
{
	struct signers	 s;
	char		 err[256];

	if (gp->gc.signers == NULL) {
		log_info("plugin signatures are not checked ([agent] "
		    "gitsigners is empty)");
		return;
	}
	if (signers_parse(&s, gp->gc.signers, err, sizeof(err)) == -1) {
		log_warnx("%s: [agent] gitsigners = \"%s\": %s; every "
		    "checkout will be refused", __func__,
		    gp->gc.signers_path, err);
		return;
	}
	log_info("plugin signatures are checked: only %s signed by a key "
	    "of %s (%zu line%s) are checked out", gp->gc.signed_tags ?
	    "commits carrying a tag" : "commits", gp->gc.signers_path, s.n,
	    s.n == 1 ? "" : "s");
	if (gp->sshkeygen[0] == '\0')
		log_warnx("%s: no ssh-keygen found (package openssh-client): "
		    "every checkout will be refused", __func__);
	signers_free(&s);
}

static int
signing_changed(const struct gitpull_conf *a, const struct gitpull_conf *b)
{
	if ((a->signers == NULL) != (b->signers == NULL))
		return 1;
	return a->signers != NULL && (a->signed_tags != b->signed_tags ||
	    strcmp(a->signers, b->signers) != 0 ||
	    strcmp(a->signers_path, b->signers_path) != 0);
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
	(void)gitpull_rm_signers_files(gp->gc.pluginsdir);
}

static int
gitpull_start(struct worker *w, char *err, size_t errlen)
{
	struct gitpull	*gp = w->priv;

	if (gitpull_conf_from(&gp->gc, &w->conf, gp->git, gp->sshkeygen, err,
	    errlen) == -1)
		return -1;
	gitpull_say_signing(gp);
	gitpull_prepare_dir(gp);
	gitpull_push_stats(gp);
	return 0;
}

static int
gitpull_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct gitpull		*gp = w->priv;
	struct gitpull_conf	 gc;
	struct git_resp		 recheck;
	int			 moved, signing;

	if (gp == NULL || !w->setup_done)
		return 0;
	if (gitpull_conf_from(&gc, next, gp->git, gp->sshkeygen, err,
	    errlen) == -1)
		return -1;
	/* operations under way keep the settings they started with */
	moved = strcmp(gc.pluginsdir, gp->gc.pluginsdir) != 0 ||
	    strcmp(gc.url_template, gp->gc.url_template) != 0;
	signing = signing_changed(&gc, &gp->gc);
	gitpull_conf_free(&gp->gc);
	gp->gc = gc;
	if (moved)
		gitpull_prepare_dir(gp);
	if (signing) {
		gitpull_say_signing(gp);
		/*
		 * What runs was checked against the old settings, and the
		 * scheduler checks out nothing again by itself: told now,
		 * after the new ones apply here, so that what it asks next
		 * is checked with them.
		 */
		gitpull_queue_settings_changed(&gp->q);
		memset(&recheck, 0, sizeof(recheck));
		recheck.recheck = 1;
		gitpull_answer(&gp->q, 0, &recheck);
	}
	return 0;
}

/*
 * A disable marker, made or removed at once: a file in a directory of
 * ours, not a git command, so it does not wait behind the clones.
 */
static void
gitpull_mark(struct gitpull *gp, const struct git_req *req, uint32_t reqid)
{
	struct git_resp	 resp;

	memset(&resp, 0, sizeof(resp));
	gp->markers++;
	if (gitpull_marker_apply(gp->gc.pluginsdir, req, time(NULL),
	    &resp.kept, resp.error, sizeof(resp.error)) == 0)
		resp.ok = 1;
	else {
		gp->markers_failed++;
		log_warnx("%s: %s", __func__, resp.error);
		snprintf(gp->last_error, sizeof(gp->last_error), "%s",
		    resp.error);
	}
	gitpull_answer(&gp->q, reqid, &resp);
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
	if (req.mark != GIT_MARK_NONE) {
		gitpull_mark(gp, &req, in->hdr.reqid);
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
	gitpull_conf_free(&gp->gc);
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
	.stats = gitpull_stats,
};
