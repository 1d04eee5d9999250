/*
 * The scheduler's outbox: the points of finished plugin runs on their
 * way to the sender, held while other runs still go, so that runs that
 * end close together reach the sender in one MSG_POINTS per namespace
 * instead of one each.
 *
 * Why: a run's points alone woke the sender (and, with them, its flush
 * and its output) once per run; runs that start in the same second
 * (scheduler_schedule()) end within a few milliseconds of each other
 * and can share all of that (bench/README.md, "bench/plugins").
 *
 * When: at the end of the turn of the loop in which the last run still
 * going ended, with none due to start after it (scheduler_starts.c); or
 * once the first point held has waited pluginflushms, whatever still
 * runs (a plugin that runs for minutes holds nobody up for longer); or at
 * once when a namespace holds a message's worth; or at the end of the
 * run's own turn with pluginflushms = 0.  What is held
 * was acknowledged to nobody: a scheduler that dies loses it as it loses
 * a run in progress; one that stops sends it first.
 */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "topic.h"
#include "workers/worker_points.h"

#define OUTBOX_MSG_BYTES	(512 * 1024)	/* per MSG_POINTS */

static struct outbox_ns *
outbox_find(struct sched_outbox *o, const char *ns, enum out_format fmt)
{
	struct outbox_ns	*v;
	size_t			 i, cap;

	for (i = 0; i < o->n; i++)
		if (o->v[i].fmt == fmt && strcmp(o->v[i].ns, ns) == 0)
			return &o->v[i];
	if (o->n == o->cap) {
		cap = o->cap == 0 ? 4 : o->cap * 2;
		if ((v = reallocarray(o->v, cap, sizeof(*v))) == NULL)
			return NULL;
		o->v = v;
		o->cap = cap;
	}
	v = &o->v[o->n++];
	memset(v, 0, sizeof(*v));
	strlcpy(v->ns, ns, sizeof(v->ns));
	v->fmt = fmt;
	buf_init(&v->pts);
	return v;
}

void
scheduler_outbox_send(struct sched *s)
{
	struct sched_outbox	*o = &s->outbox;
	struct outbox_ns	*v;
	char			 why[160];
	size_t			 i, sent;

	ev_timer_stop(s->w->loop, &o->hold);
	ev_prepare_stop(s->w->loop, &o->now);
	for (i = 0; i < o->n; i++) {
		v = &o->v[i];
		if (v->npoints == 0)
			continue;
		if (worker_points_publish(s->w, v->ns, v->fmt, v->pts.p,
		    v->pts.len, OUTBOX_MSG_BYTES, NULL, NULL, &sent, why,
		    sizeof(why)) == -1)
			log_warnx("%s: %zu points not sent: %s", __func__,
			    v->npoints, why);
		s->st.points_sent += sent;
		s->st.points_unsent += v->npoints - sent;
		v->npoints = 0;
		buf_reset(&v->pts);
	}
}

static void
hold_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	scheduler_outbox_send(t->data);
}

static void
now_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	scheduler_outbox_send(p->data);
}

void
scheduler_outbox_init(struct sched *s)
{
	struct sched_outbox	*o = &s->outbox;

	ev_timer_init(&o->hold, hold_cb, 0., 0.);
	o->hold.data = s;
	/* before frame.c's own prepare (EV_MINPRI): sent in this turn */
	ev_prepare_init(&o->now, now_cb);
	o->now.data = s;
}

size_t
scheduler_outbox_add(struct sched *s, const char *ns, enum out_format fmt,
    const struct buf *pts, size_t npoints)
{
	struct sched_outbox	*o = &s->outbox;
	struct outbox_ns	*v;
	char			 topic[TOPIC_MAX + 1], why[160];
	int64_t			 ms = s->w->conf.pluginflushms;

	if (npoints == 0)
		return 0;
	/* a namespace no topic can be made of is refused now, not later */
	if (topic_for_ns(s->w->conf.topic, ns, topic, sizeof(topic), why,
	    sizeof(why)) == -1) {
		log_warnx("%s: %zu points not sent: %s", __func__, npoints,
		    why);
		s->st.points_unsent += npoints;
		return 0;
	}
	if ((v = outbox_find(o, ns, fmt)) == NULL ||
	    buf_reserve(&v->pts, pts->len + 1) == -1) {
		/* what is held already is whole: it goes now */
		log_warnx("%s: %zu points not sent: out of memory", __func__,
		    npoints);
		s->st.points_unsent += npoints;
		ev_prepare_start(s->w->loop, &o->now);
		return 0;
	}
	if (v->pts.len > 0)
		buf_addc(&v->pts, '\n');
	(void)buf_add(&v->pts, pts->p, pts->len);
	v->npoints += npoints;
	if (ms == 0 || (scheduler_runner_active(s->runner) == 0 &&
	    !scheduler_starts_pending(s)) || v->pts.len >= OUTBOX_MSG_BYTES)
		ev_prepare_start(s->w->loop, &o->now);
	else if (!ev_is_active(&o->hold)) {
		ev_timer_set(&o->hold, (double)ms / 1000.0, 0.);
		ev_timer_start(s->w->loop, &o->hold);
	}
	return npoints;
}

void
scheduler_outbox_free(struct sched *s)
{
	struct sched_outbox	*o = &s->outbox;
	size_t			 i;

	ev_timer_stop(s->w->loop, &o->hold);
	ev_prepare_stop(s->w->loop, &o->now);
	for (i = 0; i < o->n; i++)
		buf_free(&o->v[i].pts);
	free(o->v);
	memset(o, 0, sizeof(*o));
}
