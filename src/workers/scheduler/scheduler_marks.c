/*
 * Disabling and enabling a plugin: the marker that makes it last is
 * gitpull's to write (gitpull_marker.h says why), so /plugins/disable
 * and /plugins/enable, and the hourly sweep of markers a day old, ask
 * gitpull (MSG_GIT_REQ with a `mark`) and act on its answer.  What runs
 * changes only once the marker is what was asked: an answer the client
 * gets says what survives a restart.
 *
 * A question carries the plugin's key, not the plugin: the plugin may
 * leave the items before the answer comes, and the marker is still what
 * the client asked about.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "jsonw.h"
#include "log.h"

#define MARK_WAIT_MAX	30.0	/* seconds for gitpull's answer: a file */
#define MARK_SWEEP_MAX	1024	/* markers removed by one sweep */

struct markwait {
	TAILQ_ENTRY(markwait)	 entry;
	struct sched		*s;
	uint32_t		 reqid;		/* ours, on the gitpull edge */
	uint32_t		 front_reqid;	/* 0: the sweep, or nobody */
	int			 sweep;
	enum git_mark		 mark;
	char			 key[SCHED_KEY_MAX];
	char			 ns[ITEM_NS_MAX + 1];
	char			 repo[512];	/* group/project, for answers */
	ev_timer		 expire;
};

static void
mark_free(struct markwait *mw)
{
	struct sched	*s = mw->s;

	TAILQ_REMOVE(&s->markwaits, mw, entry);
	ev_timer_stop(s->w->loop, &mw->expire);
	free(mw);
}

/* The client's answer: what the plugin is now, as the Go agent said it. */
static void
mark_answer(struct markwait *mw)
{
	struct jsonw	 w;
	struct buf	 b;

	if (mw->front_reqid == 0)
		return;
	buf_init(&b);
	jsonw_init(&w, &b, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "ns");
	jsonw_string(&w, mw->ns);
	jsonw_key(&w, "repo");
	jsonw_string(&w, mw->repo);
	jsonw_key(&w, "enabled");
	jsonw_bool(&w, mw->mark == GIT_MARK_ENABLE);
	jsonw_map_close(&w);
	if (jsonw_finish(&w) == -1)
		scheduler_respond_error(mw->s, mw->front_reqid, 500,
		    "out of memory");
	else
		scheduler_respond(mw->s, mw->front_reqid, 200, b.p);
	buf_free(&b);
}

static void
mark_expire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct markwait	*mw = t->data;
	char		 msg[128];

	snprintf(msg, sizeof(msg), "gitpull did not answer within %.0f s: "
	    "the disable marker is as it was, or not; try again",
	    MARK_WAIT_MAX);
	log_warnx("%s: plugin %s: %s", __func__, mw->key, msg);
	scheduler_respond_error(mw->s, mw->front_reqid, 504, msg);
	mark_free(mw);
}

int
scheduler_mark(struct sched *s, const char *key, const char *ns,
    const char *repo, const char *project, enum git_mark mark,
    time_t before, uint32_t front_reqid)
{
	struct markwait	*mw;
	struct git_req	 r;
	int		 saved;

	if ((mw = calloc(1, sizeof(*mw))) == NULL)
		return -1;
	mw->s = s;
	mw->mark = mark;
	mw->front_reqid = front_reqid;
	mw->sweep = before > 0;
	strlcpy(mw->key, key, sizeof(mw->key));
	strlcpy(mw->ns, ns, sizeof(mw->ns));
	strlcpy(mw->repo, repo, sizeof(mw->repo));
	/* a number of their own: a late answer is never a checkout's */
	s->next_mark_reqid = (s->next_mark_reqid + 1) | SCHED_MARK_REQID;
	mw->reqid = s->next_mark_reqid;

	memset(&r, 0, sizeof(r));
	strlcpy(r.ns, ns, sizeof(r.ns));
	strlcpy(r.repo, repo, sizeof(r.repo));
	strlcpy(r.project, project, sizeof(r.project));
	r.mark = mark;
	r.mark_before = (int64_t)before;
	if (scheduler_git_req_send(s, mw->reqid, &r) == -1) {
		saved = errno;
		free(mw);
		errno = saved;
		return -1;
	}
	TAILQ_INSERT_TAIL(&s->markwaits, mw, entry);
	ev_timer_init(&mw->expire, mark_expire_cb, MARK_WAIT_MAX, 0.);
	mw->expire.data = mw;
	ev_timer_start(s->w->loop, &mw->expire);
	return 0;
}

/* gitpull made or removed the marker: the plugin follows. */
static void
mark_done(struct markwait *mw, const struct git_resp *r)
{
	struct plugin	*p = scheduler_find(mw->s, mw->key);
	int		 enable = mw->mark == GIT_MARK_ENABLE;

	if (!r->ok) {
		log_warnx("%s: %s %s: %s", __func__, enable ? "enable" :
		    "disable", mw->key, r->error);
		snprintf(mw->s->last_error, sizeof(mw->s->last_error),
		    "%s: %s", mw->key, r->error);
		scheduler_respond_error(mw->s, mw->front_reqid, 500, r->error);
		return;
	}
	if (mw->sweep && r->kept) {
		log_info("plugin %s was disabled again since the sweep "
		    "looked: it stays disabled", mw->key);
		return;
	}
	if (mw->sweep)
		log_info("plugin %s disabled for 24 hours: enabled again",
		    mw->key);
	else if (p != NULL && p->enabled != enable)
		log_info("plugin %s %s", mw->key, enable ? "enabled" :
		    "disabled");
	if (p != NULL)
		p->enabled = enable;
	mark_answer(mw);
}

int
scheduler_marks_resp(struct sched *s, uint32_t reqid,
    const struct git_resp *r)
{
	struct markwait	*mw;

	if ((reqid & SCHED_MARK_REQID) == 0)
		return 0;
	TAILQ_FOREACH(mw, &s->markwaits, entry)
		if (mw->reqid == reqid)
			break;
	if (mw == NULL) {
		log_debug("%s: answer %u: nobody waits for it (expired, or "
		    "gitpull came back)", __func__, reqid);
		return 1;
	}
	mark_done(mw, r);
	mark_free(mw);
	return 1;
}

void
scheduler_marks_forget_front(struct sched *s)
{
	struct markwait	*mw;

	TAILQ_FOREACH(mw, &s->markwaits, entry)
		mw->front_reqid = 0;
}

void
scheduler_marks_clear(struct sched *s, const char *why)
{
	struct markwait	*mw;

	while ((mw = TAILQ_FIRST(&s->markwaits)) != NULL) {
		if (why != NULL)
			scheduler_respond_error(s, mw->front_reqid, 503, why);
		mark_free(mw);
	}
}

static int
mark_pending(const struct sched *s, const char *key)
{
	const struct markwait	*mw;

	TAILQ_FOREACH(mw, &s->markwaits, entry)
		if (strcmp(mw->key, key) == 0)
			return 1;
	return 0;
}

struct sweep_arg {
	struct sched	*s;
	int		 n;
};

static void
sweep_one(const char *key, time_t mtime, void *arg)
{
	struct sweep_arg	*a = arg;
	char			 ns[ITEM_NS_MAX + 1], project[256];
	const char		*bar = strchr(key, '|');
	size_t			 nslen;

	if (bar == NULL || a->n >= MARK_SWEEP_MAX)
		return;
	/* asked already (the timer's sweep and gitpull's coming, say) */
	if (mark_pending(a->s, key))
		return;
	nslen = (size_t)(bar - key);
	if (nslen >= sizeof(ns) || strlen(bar + 1) >= sizeof(project))
		return;
	memcpy(ns, key, nslen);
	ns[nslen] = '\0';
	strlcpy(project, bar + 1, sizeof(project));
	/* a marker's time is never 0 here: older than a day */
	if (scheduler_mark(a->s, key, ns, project, project, GIT_MARK_ENABLE,
	    mtime > 0 ? mtime : 1, 0) == 0)
		a->n++;
}

/*
 * Memory follows the files: an answer that never came (gitpull went
 * away after it made the change, or it came after 30 s) left a plugin
 * as it was.
 */
static void
marks_resync(struct sched *s)
{
	struct plugin	*p;
	int		 enabled;

	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (p->gone || mark_pending(s, p->key))
			continue;
		enabled = !scheduler_marker_exists(s->w->conf.pluginsdir,
		    p->key);
		if (enabled == p->enabled)
			continue;
		log_info("plugin %s %s (its marker file)", p->key, enabled ?
		    "enabled" : "disabled");
		p->enabled = enabled;
	}
}

void
scheduler_marks_sweep(struct sched *s)
{
	struct sweep_arg	 a = { s, 0 };
	char			 err[512];

	/* stopping, or `agent test`, which changes nothing that lasts */
	if (s->stopping)
		return;
	marks_resync(s);
	err[0] = '\0';
	if (scheduler_marker_expired(s->w->conf.pluginsdir, scheduler_now(),
	    MARKER_MAX_AGE, sweep_one, &a, err, sizeof(err)) == -1)
		log_warnx("%s: disable markers: %s", __func__, err);
	else if (a.n > 0)
		log_debug("%d disable markers a day old: gitpull removes them",
		    a.n);
}
