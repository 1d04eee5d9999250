/*
 * Hung workers.  The master restarts a worker that dies; one whose loop
 * stopped turning (a read that never returns, a bug that spins) lives on
 * and does nothing, and nothing else would notice: /me/status would show
 * its last counters for ever.
 *
 * Every tick (a quarter of [agent] workertimeout) the master looks at
 * when each running worker last sent anything on its control edge.  One
 * silent for half the timeout is asked for its counters (MSG_STATS_REQ
 * with WATCHDOG_REQID), which any loop that turns answers at once; one
 * silent for the whole timeout is killed, and restarted as after any
 * death; so is one that closed its control edge and lives on.  A busy worker pushes its counters and is never asked; an idle
 * one is asked about twice per timeout.
 *
 * Time is the monotonic clock, not the loop's wall-clock ev_now(): a
 * step of the wall clock (NTP at boot) must not make every worker look
 * silent.  And silence counts only while the master itself ran: a tick
 * that comes late (the master stopped, the machine suspended) gives every
 * worker a new window instead of killing them all.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "master.h"

/* The reqid of a probe: pull.c's pulls count from 1 up and would meet it
 * only after four billion pulls, and then only answer a pull early. */
#define WATCHDOG_REQID	UINT32_MAX

double
watchdog_mono_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		abort();	/* CLOCK_MONOTONIC cannot fail */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
watchdog_check(struct master *m, struct wslot *w, double now)
{
	double		 timeout = (double)m->conf.workertimeout;
	double		 silent = now - w->heard;
	char		 why[128];

	if (w->state != W_RUNNING || w->reaped)
		return;
	/*
	 * A worker that closed its control edge and lives on (a compromised
	 * one can) is silent too: without the edge it could not be asked,
	 * reloaded or told to stop, and would never be restarted.
	 */
	if (silent >= timeout) {
		if (w->ctl == NULL)
			snprintf(why, sizeof(why), "it closed its control edge "
			    "and lived on for %.0f s ([agent] workertimeout "
			    "%.0f)", silent, timeout);
		else
			snprintf(why, sizeof(why), "it answered nothing for "
			    "%.0f s ([agent] workertimeout %.0f): hung", silent,
			    timeout);
		supervise_kill(w, why);
		return;
	}
	if (w->ctl != NULL && silent >= timeout / 2 &&
	    frame_send(w->ctl, MSG_STATS_REQ, WATCHDOG_REQID, NULL, 0,
	    -1) == -1)
		log_warnx("%s: cannot ask %s for its counters", __func__,
		    proto_role_name(w->role));
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct master	*m = t->data;
	double		 now = watchdog_mono_now(), late;
	enum role	 r;

	late = now - m->watchdog_tick_at - t->repeat;
	m->watchdog_tick_at = now;
	if (m->phase == M_STOPPING)
		return;
	if (late > t->repeat) {
		log_warnx("%s: the master itself did not run for %.0f s: every "
		    "worker gets a new window", __func__, late + t->repeat);
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
			m->w[r].heard = now;
		return;
	}
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		watchdog_check(m, &m->w[r], now);
}

void
watchdog_heard(struct master *m, struct wslot *w)
{
	w->heard = watchdog_mono_now();
}

void
watchdog_apply(struct master *m)
{
	double	 tick = (double)m->conf.workertimeout / 4;

	if (m->watchdog_timer.data == NULL) {
		ev_timer_init(&m->watchdog_timer, watchdog_cb, 0., 0.);
		m->watchdog_timer.data = m;
	}
	ev_timer_stop(m->loop, &m->watchdog_timer);
	if (m->conf.workertimeout == 0)
		return;
	m->watchdog_tick_at = watchdog_mono_now();
	ev_timer_set(&m->watchdog_timer, tick, tick);
	ev_timer_start(m->loop, &m->watchdog_timer);
}

void
watchdog_stop(struct master *m)
{
	if (m->watchdog_timer.data != NULL)
		ev_timer_stop(m->loop, &m->watchdog_timer);
}
