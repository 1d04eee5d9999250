/*
 * The scheduler's questions to gitpull (MSG_GIT_REQ) and what the answers
 * (MSG_GIT_RESP) set off: a new plugin is scheduled once its checkout is
 * there, /plugins/run runs, /plugins/update answers.  A question gitpull
 * cannot take now waits for it to come (back) when it is about the
 * items, and is refused at once when a client waits for it.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"
#include "log.h"

#define GIT_WAIT_MAX		600.0	/* seconds for a gitpull answer */

/* No answer is coming for a checkout nobody else asks about. */
static void
checkout_settle(struct plugin *p, const char *why)
{
	if (p->checkout != CHECKOUT_PENDING || scheduler_plugin_waits_git(p))
		return;
	p->checkout = CHECKOUT_FAILED;
	strlcpy(p->git_error, why, sizeof(p->git_error));
}

void
scheduler_gitwait_free(struct gitwait *gw)
{
	struct sched	*s = gw->s;

	TAILQ_REMOVE(&s->gitwaits, gw, entry);
	ev_timer_stop(s->w->loop, &gw->expire);
	strlist_free(&gw->argv);
	free(gw);
}

/*
 * The answer to `gw` tells what runs now: it was asked about the
 * plugin's repository as it is, and with a fetch when it had moved.
 */
static int
git_current(const struct gitwait *gw)
{
	return strcmp(gw->repo, gw->p->item.repo) == 0 &&
	    (gw->update || !gw->p->moved);
}

int
scheduler_git_req_send(struct sched *s, uint32_t reqid,
    const struct git_req *r)
{
	struct pbuf	 pb;
	int		 rv, saved;

	codec_put_init(&pb);
	plugin_msg_git_req_encode(&pb, r);
	if (codec_put_failed(&pb)) {
		errno = ENOMEM;
		rv = -1;
	} else
		rv = worker_send_peer(s->w, ROLE_GITPULL, MSG_GIT_REQ, reqid,
		    pb.buf, pb.len);
	/* the caller tells why it was not sent: not codec_put_free's */
	saved = errno;
	codec_put_free(&pb);
	errno = saved;
	return rv;
}

/* 0 sent; 1 an ITEMS question held back for room; -1 not sent. */
static int
git_send(struct gitwait *gw)
{
	struct sched	*s = gw->s;
	struct git_req	 r;

	if (gw->why == GIT_FOR_ITEMS &&
	    s->git_inflight >= SCHED_GIT_ITEMS_INFLIGHT)
		return 1;	/* sent by git_pump() when answers come */
	memset(&r, 0, sizeof(r));
	strlcpy(r.ns, gw->p->item.ns, sizeof(r.ns));
	strlcpy(r.repo, gw->p->item.repo, sizeof(r.repo));
	strlcpy(r.project, gw->p->item.project, sizeof(r.project));
	/*
	 * A moved plugin's directory holds the old repository's checkout.
	 * gitpull replaces a checkout whose origin is another repository
	 * at any check (gitpull_op.c); asking for an update as well keeps
	 * the answer current (git_current()) and the plugin waiting for it.
	 */
	gw->update = gw->why == GIT_FOR_UPDATE || gw->p->moved;
	r.update = gw->update;
	/* a client waits: not behind the registry's slow clones */
	r.urgent = gw->why != GIT_FOR_ITEMS;
	strlcpy(gw->repo, r.repo, sizeof(gw->repo));
	if (scheduler_git_req_send(s, gw->reqid, &r) == -1)
		return -1;
	gw->sent = 1;
	s->git_inflight++;
	ev_timer_set(&gw->expire, GIT_WAIT_MAX, 0.);
	ev_timer_start(s->w->loop, &gw->expire);
	return 0;
}

/* The ITEMS questions that wait for room, in the order they came. */
static void
git_pump(struct sched *s)
{
	struct gitwait	*gw;

	TAILQ_FOREACH(gw, &s->gitwaits, entry) {
		if (s->git_inflight >= SCHED_GIT_ITEMS_INFLIGHT)
			break;
		if (!gw->sent && git_send(gw) == -1) {
			log_warn("%s: to gitpull", __func__);
			break;
		}
	}
}

static void
gitwait_expire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gitwait	*gw = t->data;
	struct sched	*s = gw->s;
	struct plugin	*p = gw->p;
	char		 msg[128];

	snprintf(msg, sizeof(msg), "gitpull did not answer within %.0f s",
	    GIT_WAIT_MAX);
	log_warnx("%s: plugin %s: %s", __func__, p->key, msg);
	if (gw->why != GIT_FOR_ITEMS)
		scheduler_respond_error(gw->s, gw->front_reqid, 504, msg);
	/*
	 * Its room stays taken: gitpull still works on it and answers it
	 * (scheduler_git_resp counts it down then).  An answer lost is a
	 * gitpull gone, which scheduler_git_down() counts as all of them.
	 */
	scheduler_gitwait_free(gw);
	checkout_settle(p, msg);
	scheduler_plugin_release(p);
	git_pump(s);
}

struct gitwait *
scheduler_git(struct sched *s, struct plugin *p, enum git_why why,
    uint32_t front_reqid)
{
	struct gitwait		*gw;
	enum checkout_state	 prev = p->checkout;
	int			 rv, saved;

	/* not one sent before a move: it answers for the old checkout */
	if (why == GIT_FOR_ITEMS)
		TAILQ_FOREACH(gw, &s->gitwaits, entry)
			if (gw->p == p && gw->why == GIT_FOR_ITEMS &&
			    (!gw->sent || git_current(gw)))
				return gw;
	if ((gw = calloc(1, sizeof(*gw))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	gw->s = s;
	gw->p = p;
	gw->why = why;
	gw->front_reqid = front_reqid;
	strlist_init(&gw->argv);
	/* 1 .. SCHED_MARK_REQID - 1: the markers' have the top bit */
	if (++s->next_reqid >= SCHED_MARK_REQID)
		s->next_reqid = 1;
	gw->reqid = s->next_reqid;
	ev_timer_init(&gw->expire, gitwait_expire_cb, GIT_WAIT_MAX, 0.);
	gw->expire.data = gw;
	TAILQ_INSERT_TAIL(&s->gitwaits, gw, entry);
	if (p->checkout != CHECKOUT_OK)
		p->checkout = CHECKOUT_PENDING;
	if ((rv = git_send(gw)) == 0)
		return gw;
	if (why == GIT_FOR_ITEMS) {
		/* asked when others are answered, or gitpull comes (back) */
		strlcpy(p->git_error, rv == 1 ? "waiting for its turn at "
		    "gitpull" : "waiting for gitpull", sizeof(p->git_error));
		return gw;
	}
	saved = errno;
	scheduler_gitwait_free(gw);
	p->checkout = prev;
	errno = saved;
	return NULL;
}

/*
 * The signature check refused a commit: what runs stays only when the
 * refused one was an update's new tip and the checkout was trusted.
 */
static void
git_untrusted(struct plugin *p, const struct git_resp *r)
{
	struct sched	*s = p->s;
	int		 keep = r->kept && p->checkout == CHECKOUT_OK;

	s->st.git_errors++;
	s->st.untrusted++;
	strlcpy(p->git_error, r->error, sizeof(p->git_error));
	if (!keep) {
		p->checkout = CHECKOUT_UNTRUSTED;
		p->commit[0] = '\0';
		p->signer[0] = '\0';
		ev_timer_stop(s->w->loop, &p->timer);
	}
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s", p->key,
	    r->error);
	if (keep)
		log_warnx("%s: plugin %s: %s; it keeps running commit %.12s",
		    __func__, p->key, r->error, p->commit);
	else
		log_warnx("%s: plugin %s: %s; not run", __func__, p->key,
		    r->error);
	scheduler_output_publish_untrusted(p);
}

static void
git_answered(struct gitwait *gw, const struct git_resp *r)
{
	struct sched	*s = gw->s;
	struct plugin	*p = gw->p;
	char		 msg[sizeof(r->error) + 32];

	if (!git_current(gw)) {
		/* asked before the plugin moved: about the old repository */
		log_info("plugin %s: an answer about its old repository "
		    "left aside", p->key);
		if (gw->why != GIT_FOR_ITEMS)
			scheduler_respond_error(s, gw->front_reqid, 503,
			    "the plugin moved to another repository "
			    "meanwhile; try again");
		return;
	}
	if (r->ok && gw->update)
		p->moved = 0;
	if (r->ok) {
		if (p->checkout != CHECKOUT_OK || strcmp(p->commit, r->commit))
			log_info("plugin %s: checkout at %.12s%s%s", p->key,
			    r->commit, r->signer[0] != '\0' ? ", signed by " :
			    "", r->signer);
		p->checkout = CHECKOUT_OK;
		strlcpy(p->commit, r->commit, sizeof(p->commit));
		strlcpy(p->signer, r->signer, sizeof(p->signer));
		p->git_error[0] = '\0';
	} else if (r->untrusted)
		git_untrusted(p, r);
	else {
		s->st.git_errors++;
		strlcpy(p->git_error, r->error, sizeof(p->git_error));
		/* an update that failed leaves a checkout that works */
		if (p->checkout != CHECKOUT_OK) {
			p->checkout = CHECKOUT_FAILED;
			ev_timer_stop(s->w->loop, &p->timer);
		}
		snprintf(s->last_error, sizeof(s->last_error), "%s: git: %s",
		    p->key, r->error);
		/*
		 * gitpull stopping with the agent (it is told first, and may
		 * answer before our own stop is read): nothing failed
		 */
		log_msg(r->stopped || s->stopping ? LOG_LVL_INFO :
		    LOG_LVL_WARN, "%s: plugin %s: git %s failed: %s%s",
		    __func__, p->key, gw->why == GIT_FOR_UPDATE ? "update" :
		    "checkout", r->error, p->checkout == CHECKOUT_FAILED ?
		    "; not scheduled" : "");
	}
	if (r->ok && !ev_is_active(&p->timer))
		scheduler_schedule(p);
	switch (gw->why) {
	case GIT_FOR_ITEMS:
		break;
	case GIT_FOR_UPDATE:
		if (r->ok)
			scheduler_answer_update(p, gw->front_reqid);
		else {
			snprintf(msg, sizeof(msg), "update failed: %s",
			    r->error);
			scheduler_respond_error(s, gw->front_reqid, 502, msg);
		}
		break;
	case GIT_FOR_RUN:
		if (!r->ok) {
			snprintf(msg, sizeof(msg), "checkout failed: %s",
			    r->error);
			scheduler_respond_error(s, gw->front_reqid, 502, msg);
		} else if (p->run != NULL)
			scheduler_respond_error(s, gw->front_reqid, 409,
			    "plugin is running");
		else if (s->stopping)
			scheduler_respond_error(s, gw->front_reqid, 503,
			    "the agent is stopping");
		else
			scheduler_run(p, RUN_CALL, &gw->argv,
			    (double)gw->timeout, gw->front_reqid);
		break;
	}
}

/*
 * gitpull's signature settings changed: every checkout that runs is
 * paused and checked again (an ensure checks what runs); an answer
 * that it passed schedules it again, one that it did not stops it.
 * One refused before is checked again too: its signer may be trusted
 * now.
 */
static void
git_recheck(struct sched *s)
{
	struct plugin	*p;
	size_t		 n = 0, m = 0;

	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (p->gone)
			continue;
		if (p->checkout == CHECKOUT_UNTRUSTED) {
			(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
			m++;
			continue;
		}
		if (p->checkout != CHECKOUT_OK)
			continue;
		ev_timer_stop(s->w->loop, &p->timer);
		p->checkout = CHECKOUT_PENDING;
		strlcpy(p->git_error, "checked again: gitsigners changed",
		    sizeof(p->git_error));
		(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
		n++;
	}
	log_info("%s: the signature settings changed: %zu plugin%s paused "
	    "until checked again, %zu refused before checked again",
	    __func__, n, n == 1 ? "" : "s", m);
}

int
scheduler_git_resp(struct sched *s, struct frame_in *in)
{
	struct gitwait	*gw;
	struct plugin	*p;
	struct git_resp	 r;
	struct preader	 pr;
	char		 err[256];

	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_msg_git_resp_decode(&pr, &r, err, sizeof(err)) == -1) {
		log_warnx("%s: bad GIT_RESP: %s", __func__, err);
		return -1;
	}
	if (r.recheck && in->hdr.reqid == 0) {
		git_recheck(s);
		return 0;
	}
	/* a marker's: answered at once, never held for room */
	if (scheduler_marks_resp(s, in->hdr.reqid, &r))
		return 0;
	/*
	 * Every question gets one answer, also one whose plugin went away
	 * or whose wait expired meanwhile: gitpull held it until now.
	 */
	if (s->git_inflight > 0)
		s->git_inflight--;
	TAILQ_FOREACH(gw, &s->gitwaits, entry)
		if (gw->sent && gw->reqid == in->hdr.reqid)
			break;
	if (gw == NULL) {
		log_debug("%s: answer %u: nobody waits for it", __func__,
		    in->hdr.reqid);
		git_pump(s);
		return 0;
	}
	p = gw->p;
	git_answered(gw, &r);
	scheduler_gitwait_free(gw);
	/* still pending only when the answer was left aside */
	checkout_settle(p, "it moved while gitpull was asked about it");
	scheduler_plugin_release(p);
	git_pump(s);
	return 0;
}

/* gitpull is gone: who waits for it must know; items ask again later. */
void
scheduler_git_down(struct sched *s)
{
	struct gitwait	*gw, *tmp;
	struct plugin	*p;
	const char	*why = "gitpull went away before answering; try again";

	/* its queue went with it */
	s->git_inflight = 0;
	TAILQ_FOREACH_SAFE(gw, &s->gitwaits, entry, tmp) {
		if (!gw->sent)
			continue;
		ev_timer_stop(s->w->loop, &gw->expire);
		gw->sent = 0;
		p = gw->p;
		if (gw->why == GIT_FOR_ITEMS) {
			strlcpy(p->git_error, "gitpull went away; asking "
			    "again when it is back", sizeof(p->git_error));
			continue;
		}
		scheduler_respond_error(s, gw->front_reqid, 503, why);
		scheduler_gitwait_free(gw);
		checkout_settle(p, why);
		scheduler_plugin_release(p);
	}
}

void
scheduler_git_up(struct sched *s)
{
	git_pump(s);
}
