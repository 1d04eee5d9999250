/*
 * A worker's counters to the master (MSG_STATS: /me/status and /metrics),
 * sent when they change and never on a clock.
 *
 * Why not a timer: on an idle agent the wakeups are the cost.  A process
 * woken once a second to send counters that did not change, and the
 * master woken to read them, spent more CPU than the collection itself
 * (bench/README.md, "bench/footprint").  Counters change only when something
 * happened, and something happening is a turn of the loop: an
 * ev_prepare, which libev runs before it blocks again, has the role push
 * its counters (ops->stats), and worker_push_stats_all() sends them only
 * when the payload differs from the last one sent.  About one call per
 * WORKER_STATS_EVERY (or the role's ops->stats_every), the pace:
 *
 * - a turn WORKER_STATS_EARLY of the pace or more after the last call
 *   makes the call;
 * - an earlier one arms a one-shot timer for WORKER_STATS_LATE of the
 *   pace after the last call, whose own turn makes it, if no turn did.
 *
 * Why the slack both ways: a worker busy once a second (the sender with
 * plugins) would otherwise wake a second time every second for the
 * timer, at a fixed distance from its work.  With it, the calls drift
 * into the turns the work makes anyway, and the timer fires only when
 * work stops.  A change waits WORKER_STATS_LATE of the pace at most.
 *
 * Why a pace of seconds: nobody reads the counters between two reads of
 * /me/status or /metrics, and those ask for them fresh (MSG_STATS_REQ,
 * worker_stats_answer()).  What the pushes are for is what a worker that
 * dies had counted: the master adds its last push to the role's base.
 * Pushed every second, the sender's counters were the master's only
 * wakeup while plugins ran (bench/README.md, "bench/plugins").
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

static void
stats_call(struct worker *w)
{
	ev_timer_stop(w->loop, &w->stats_timer);
	w->stats_at = ev_now(w->loop);
	w->stats_called = 1;
	w->ops->stats(w);
}

static void
stats_check_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker	*w = p->data;
	double		 pace, since;

	if (w->ctl == NULL)
		return;
	pace = w->ops->stats_every > 0 ? w->ops->stats_every :
	    WORKER_STATS_EVERY;
	since = ev_now(loop) - w->stats_at;
	if (!w->stats_called || since >= pace * WORKER_STATS_EARLY) {
		stats_call(w);
		return;
	}
	if (!ev_is_active(&w->stats_timer)) {
		ev_timer_set(&w->stats_timer, pace * WORKER_STATS_LATE - since,
		    0.);
		ev_timer_start(loop, &w->stats_timer);
	}
}

/* Its turn of the loop ends in stats_check_cb(), which calls. */
static void
stats_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
}

void
worker_stats_start(struct worker *w)
{
	if (w->ops->stats == NULL || ev_is_active(&w->stats_check))
		return;
	ev_prepare_init(&w->stats_check, stats_check_cb);
	w->stats_check.data = w;
	ev_prepare_start(w->loop, &w->stats_check);
	ev_timer_init(&w->stats_timer, stats_timer_cb, 0., 0.);
	w->stats_timer.data = w;
}

/*
 * The master waits for this answer to serve a /me/status or /metrics, so
 * it goes at once and even when nothing changed.  The role's own push
 * carries the reqid (worker_push_stats_all()); a role with no ops->stats
 * (it pushes as things happen), or none yet, answers with what it sent
 * last, or an empty set.
 */
void
worker_stats_answer(struct worker *w, uint32_t reqid)
{
	w->stats_reqid = reqid;
	if (w->ops->stats != NULL && ev_is_active(&w->stats_check))
		stats_call(w);
	if (w->stats_reqid == 0)
		return;
	if (w->stats_last == NULL) {
		(void)worker_push_stats_all(w, NULL, 0, NULL, 0, NULL, NULL);
		return;
	}
	if (worker_send_ctl(w, MSG_STATS, reqid, w->stats_last,
	    w->stats_last_len) == -1)
		log_warn("%s: %s", __func__, proto_role_name(w->role));
	w->stats_reqid = 0;
}

void
worker_stats_flush(struct worker *w)
{
	if (w->ops->stats == NULL || !ev_is_active(&w->stats_check))
		return;
	ev_prepare_stop(w->loop, &w->stats_check);
	ev_timer_stop(w->loop, &w->stats_timer);
	if (w->ctl != NULL)
		w->ops->stats(w);
}

/*
 * 1 when `payload` is what was sent last; else it becomes the last (a
 * copy that cannot be made only costs a resend).
 */
int
worker_stats_same(struct worker *w, const void *payload, size_t len)
{
	void	*copy;

	if (w->stats_last != NULL && w->stats_last_len == len &&
	    memcmp(w->stats_last, payload, len) == 0)
		return 1;
	free(w->stats_last);
	w->stats_last = NULL;
	w->stats_last_len = 0;
	if ((copy = malloc(len > 0 ? len : 1)) != NULL) {
		memcpy(copy, payload, len);
		w->stats_last = copy;
		w->stats_last_len = len;
	}
	return 0;
}

void
worker_stats_free(struct worker *w)
{
	free(w->stats_last);
	w->stats_last = NULL;
	w->stats_last_len = 0;
}
