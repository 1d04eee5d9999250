/*
 * Regular runs that fall due together start one after another: each as
 * soon as the one started before it has ended, or SCHED_START_GAP after
 * that one started if it still goes.
 *
 * Why: plugins start in whole seconds (scheduler_schedule()), so on a
 * host with many plugins several fall due in the same turn of the loop.
 * Started all at once they compete for the CPUs, and each start costs
 * the scheduler more: a run started while others still go finds no
 * kernel stack in the per-CPU cache for its task (`clone` allocates one)
 * and no CPU awake.  One after another, a second's plugins cost the
 * agent what a loop running them back to back costs (bench/README.md,
 * "bench/plugins").  The gap bounds what a slow plugin holds the others
 * up: the n-th of a second starts (n - 1) * SCHED_START_GAP late at most.
 *
 * Runs asked for by /plugins/run start at once, as before: an operator
 * waits for them.
 */
#include "scheduler.h"

static void
starts_next(struct sched *s)
{
	struct sched_starts	*st = &s->starts;
	struct plugin		*p;

	while (!ev_is_active(&st->gap) && (p = TAILQ_FIRST(&st->due)) != NULL) {
		TAILQ_REMOVE(&st->due, p, due_entry);
		p->due = 0;
		/* what changed while it waited (the items, a disable) */
		if (s->stopping || p->gone || !p->enabled || p->run != NULL ||
		    p->checkout != CHECKOUT_OK)
			continue;
		scheduler_run(p, RUN_REGULAR, &p->item.params,
		    scheduler_timeout(p->item.interval), 0);
		if (p->run == NULL)
			continue;	/* it could not start: told already */
		st->last = p;
		ev_timer_set(&st->gap, st->gap_s, 0.);
		ev_timer_start(s->w->loop, &st->gap);
	}
}

static void
gap_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sched	*s = t->data;

	/* fed by an end, but a start came first and set the gap again */
	if (ev_is_active(t))
		return;
	s->starts.last = NULL;
	starts_next(s);
}

void
scheduler_starts_init(struct sched *s)
{
	struct sched_starts	*st = &s->starts;

	TAILQ_INIT(&st->due);
	st->gap_s = SCHED_START_GAP;
	ev_timer_init(&st->gap, gap_cb, 0., 0.);
	st->gap.data = s;
}

void
scheduler_starts_add(struct plugin *p)
{
	struct sched	*s = p->s;

	if (p->due)
		return;
	p->due = 1;
	TAILQ_INSERT_TAIL(&s->starts.due, p, due_entry);
	starts_next(s);
}

/*
 * The next starts once the end of this one has been dealt with, not from
 * within it (the runner is still finishing this run): fed to the loop,
 * the gap's callback runs right after this callback returns, in the same
 * turn.  A timer at 0 would cost another turn, and its epoll_wait, a
 * run.
 */
void
scheduler_starts_ended(struct plugin *p)
{
	struct sched_starts	*st = &p->s->starts;

	if (st->last != p)
		return;
	st->last = NULL;
	ev_timer_stop(p->s->w->loop, &st->gap);
	if (TAILQ_EMPTY(&st->due))
		return;
	ev_feed_event(p->s->w->loop, &st->gap, EV_TIMER);
}

void
scheduler_starts_forget(struct plugin *p)
{
	struct sched_starts	*st = &p->s->starts;

	/* not `last`: that one's end (run_done()) came before */
	if (p->due) {
		TAILQ_REMOVE(&st->due, p, due_entry);
		p->due = 0;
	}
}

void
scheduler_starts_clear(struct sched *s)
{
	struct sched_starts	*st = &s->starts;
	struct plugin		*p;

	ev_timer_stop(s->w->loop, &st->gap);
	st->last = NULL;
	while ((p = TAILQ_FIRST(&st->due)) != NULL) {
		TAILQ_REMOVE(&st->due, p, due_entry);
		p->due = 0;
	}
}

int
scheduler_starts_pending(const struct sched *s)
{
	return !TAILQ_EMPTY(&s->starts.due);
}
