/*
 * Fresh counters for /me/status and /metrics: before the master answers
 * the front, it asks every running worker for its counters
 * (MSG_STATS_REQ) and waits for their MSG_STATS, PULL_WAIT at most.
 *
 * Why: the workers push their counters only every few seconds
 * (worker_stats.c), so that a busy agent does not wake the master every
 * second for counters nobody reads.  A status is read after something
 * was done (a /post, a plugin run); it must show it.
 *
 * A request is answered by a pull that started after it arrived: one that
 * comes while a pull is out waits for the next, so that a worker cannot
 * have answered before the thing the caller did was counted.  Pulls start
 * PULL_GAP apart at least, and all the requests that wait share one: a
 * client that asks in a loop, or many at once, cost the workers ten
 * rounds a second at most, not one per request, for 0.1 s more of wait
 * at worst.  A worker that does not answer in PULL_WAIT (stopped, busy)
 * holds nobody up longer: the status then shows what it pushed last.
 *
 * The collector's requests (its self metrics, every interval) are
 * answered from what the workers pushed, at the end of the turn that
 * brought them: pulling for them would wake every worker every interval
 * on an idle agent.
 *
 * A worker has one request answered at a time: one that comes while its
 * last is unanswered is dropped (and counted, a warning every
 * WARN_LIMIT_EVERY).  Dropped, not a protocol error: the front asks again
 * only once answered, and the collector does not wait for a missing
 * answer, so an honest worker loses nothing; one that floods gets one
 * status a turn, not one a request (each a walk of every table and tens
 * of KB queued).  An answer also waits while the worker's queue holds
 * STATUS_QUEUE_MAX: one that asks without reading cannot grow it further.
 */
#include <string.h>

#include "log.h"
#include "master.h"

#define PULL_WAIT	0.25	/* seconds for the workers' answers */
#define PULL_GAP	0.1	/* seconds between two pulls' starts */
#define STATUS_QUEUE_MAX (1024 * 1024)	/* bytes queued to a worker */

static void	 pull_start(struct master *);

/* The answers owed now, to those whose queue has room. */
static void
pull_owed_cb(struct ev_loop *loop, ev_prepare *c, int revents)
{
	struct master	*m = c->data;
	struct wslot	*w;
	enum role	 r;
	int		 left = 0;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		if (w->status_owed != STATUS_OWED_NOW)
			continue;
		if (w->ctl == NULL || w->reaped) {
			w->status_owed = STATUS_OWED_NONE;
			continue;
		}
		/* the write watcher wakes us as it drains */
		if (frame_queued(w->ctl) >= STATUS_QUEUE_MAX) {
			left++;
			continue;
		}
		master_send_status(m, w, w->status_reqid);
	}
	if (left == 0)
		ev_prepare_stop(loop, c);
}

/* The next pull, for those waiting: now, or PULL_GAP after the last. */
static void
pull_next(struct master *m)
{
	double	 since;

	if (m->pull.nasker == 0 || m->pull.out || ev_is_active(&m->pull.gap))
		return;
	since = ev_now(m->loop) - m->pull.started;
	if (m->pull.id != 0 && since < PULL_GAP) {
		ev_timer_set(&m->pull.gap, PULL_GAP - since, 0.);
		ev_timer_start(m->loop, &m->pull.gap);
		return;
	}
	pull_start(m);
}

static void
pull_answer(struct master *m, uint32_t id)
{
	struct pull_asker	*a;
	struct wslot		*w;
	size_t			 i, kept = 0;

	for (i = 0; i < m->pull.nasker; i++) {
		a = &m->pull.askers[i];
		if (a->pull_id != id) {
			m->pull.askers[kept++] = *a;
			continue;
		}
		w = &m->w[a->role];
		/* the one that asked is gone: its successor did not ask */
		if (w->pid != a->pid || w->ctl == NULL || w->reaped)
			continue;
		/*
		 * Not past the bound on what waits for it: a worker that asks
		 * and never reads would fill the queue, and a full queue
		 * fails the edges handed to it when a peer restarts.
		 */
		if (frame_queued(w->ctl) >= STATUS_QUEUE_MAX) {
			w->status_owed = STATUS_OWED_NOW;
			w->status_reqid = a->reqid;
			ev_prepare_start(m->loop, &m->pull.owed);
			continue;
		}
		master_send_status(m, w, a->reqid);
	}
	m->pull.nasker = kept;
}

static void
pull_done(struct master *m)
{
	ev_timer_stop(m->loop, &m->pull.wait);
	m->pull.out = 0;
	m->pull.waiting = 0;
	pull_answer(m, m->pull.id);
	/* those that came while it was out */
	pull_next(m);
}

static void
pull_start(struct master *m)
{
	struct wslot	*w;
	enum role	 r;

	if (++m->pull.id == 0)
		m->pull.id = 1;
	m->pull.out = 1;
	m->pull.waiting = 0;
	m->pull.started = ev_now(m->loop);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		if (w->state != W_RUNNING || w->ctl == NULL || w->reaped)
			continue;
		if (frame_send(w->ctl, MSG_STATS_REQ, m->pull.id, NULL, 0,
		    -1) == -1) {
			log_warn("%s: counters of %s", __func__,
			    proto_role_name(r));
			continue;
		}
		m->pull.waiting |= 1u << r;
	}
	if (m->pull.waiting == 0) {
		pull_done(m);
		return;
	}
	ev_timer_set(&m->pull.wait, PULL_WAIT, 0.);
	ev_timer_start(m->loop, &m->pull.wait);
}

static void
pull_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct master	*m = t->data;
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->pull.waiting & (1u << r))
			log_debug("%s: %s did not send its counters within "
			    "%.2f s; the status shows its last ones", __func__,
			    proto_role_name(r), PULL_WAIT);
	pull_done(m);
}

static void
pull_gap_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	pull_next(t->data);
}

void
pull_init(struct master *m)
{
	memset(&m->pull, 0, sizeof(m->pull));
	ev_timer_init(&m->pull.wait, pull_wait_cb, PULL_WAIT, 0.);
	m->pull.wait.data = m;
	ev_timer_init(&m->pull.gap, pull_gap_cb, PULL_GAP, 0.);
	m->pull.gap.data = m;
	ev_prepare_init(&m->pull.owed, pull_owed_cb);
	m->pull.owed.data = m;
}

void
pull_stop(struct master *m)
{
	ev_timer_stop(m->loop, &m->pull.wait);
	ev_timer_stop(m->loop, &m->pull.gap);
	ev_prepare_stop(m->loop, &m->pull.owed);
	m->pull.out = 0;
	m->pull.nasker = 0;
}

void
pull_status_req(struct master *m, struct wslot *w, uint32_t reqid)
{
	struct pull_asker	*a;
	uint64_t		 n;

	if (w->status_owed != STATUS_OWED_NONE) {
		if (warn_limit_due(&w->status_dropped, ev_now(m->loop), &n))
			log_warnx("%s: %s asked for the status again before "
			    "its answer: dropped (%llu since the last warning)",
			    __func__, proto_role_name(w->role),
			    (unsigned long long)n);
		return;
	}
	w->status_reqid = reqid;
	if (w->role != ROLE_FRONT || m->phase != M_RUNNING ||
	    m->pull.nasker == PULL_ASKERS_MAX) {
		w->status_owed = STATUS_OWED_NOW;
		ev_prepare_start(m->loop, &m->pull.owed);
		return;
	}
	w->status_owed = STATUS_OWED_PULL;
	a = &m->pull.askers[m->pull.nasker++];
	a->role = w->role;
	a->pid = w->pid;
	a->reqid = reqid;
	/* the pull out now may have been answered before this was done */
	a->pull_id = m->pull.id + 1;
	if (a->pull_id == 0)
		a->pull_id = 1;
	pull_next(m);
}

void
pull_stats_in(struct master *m, struct wslot *w, uint32_t reqid)
{
	if (!m->pull.out || reqid != m->pull.id ||
	    !(m->pull.waiting & (1u << w->role)))
		return;
	m->pull.waiting &= ~(1u << w->role);
	if (m->pull.waiting == 0)
		pull_done(m);
}

void
pull_worker_gone(struct master *m, struct wslot *w)
{
	pull_stats_in(m, w, m->pull.id);
}
