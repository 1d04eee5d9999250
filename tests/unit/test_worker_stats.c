/*
 * A worker's counters to the master (src/workers/worker_stats.c): sent
 * when they change, never on a clock.  One process: a struct worker with
 * a stats hook over test variables, its control edge on a socketpair
 * whose other end is this test as the master, both on one loop.  What
 * is asserted is state, not time: after a turn of the loop with nothing
 * changed, no message went and no timer is armed (nothing would wake the
 * worker); a change goes out, and goes out once.  The role's hook is
 * called at most once a pace (here a second, the test role's own; the
 * default is WORKER_STATS_EVERY), and what it pushes is sent only when it
 * differs from what was sent last (worker_push_stats_all()).  When the
 * master asks (MSG_STATS_REQ), the answer goes at once, changed or not,
 * with the request's reqid.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "status.h"
#include "workers/worker.h"

#include "worker_fixture.h"

/* generous: only a hang fails on it */
#define HANG_BOUND	10.0

static uint64_t		 counter;
static const char	*note_now;

static int		 calls;

static void
fake_stats(struct worker *w)
{
	const struct stat_kv	 k[] = {
		{ "runs", counter },
		{ "fixed", 7 },
	};

	calls++;
	(void)worker_push_stats(w, k, 2, note_now);
}

static const struct worker_ops fake_ops = {
	.role = ROLE_SCHEDULER,
	.stats = fake_stats,
	.stats_every = 1.0,
};

/* a role that pushes as things happen, with no hook */
static const struct worker_ops hookless_ops = {
	.role = ROLE_SCHEDULER,
};

struct h {
	struct ev_loop		*loop;
	struct worker		 w;
	struct frame_conn	*master;
	int			 nstats;
	struct worker_stats	 last;
	uint32_t		 last_reqid;
};

static void
master_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;

	if (in->hdr.type != MSG_STATS)
		return;
	codec_get_init(&pr, in->data, in->datalen);
	cr_assert_eq(status_stats_decode(&pr, &h->last), 0);
	h->last_reqid = in->hdr.reqid;
	h->nstats++;
}

static void
closed(struct frame_conn *fc, const char *why, void *arg)
{
}

/* the master asks for counters here, as worker.c's ctl_msg_cb() hands on */
static void
worker_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	if (in->hdr.type != MSG_STATS_REQ)
		cr_assert_fail("the worker got %s",
		    proto_msg_name(in->hdr.type));
	worker_stats_answer(arg, in->hdr.reqid);
}

static void
h_init(struct h *h)
{
	struct frame_rules	 rules;
	int			 sv[2];

	memset(h, 0, sizeof(*h));
	counter = 0;
	calls = 0;
	note_now = NULL;
	log_init("test", LOG_LVL_WARN);
	cr_assert_not_null(h->loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
	    0);
	rules.edge = proto_control_edge(ROLE_SCHEDULER);
	rules.self = ROLE_SCHEDULER;
	rules.name = "scheduler<->master";
	h->w.ops = &fake_ops;
	h->w.role = ROLE_SCHEDULER;
	h->w.loop = h->loop;
	cr_assert_not_null(h->w.ctl = frame_conn_new(h->loop, sv[0], &rules,
	    worker_msg, closed, &h->w));
	rules.self = ROLE_MASTER;
	rules.name = "master<->scheduler";
	cr_assert_not_null(h->master = frame_conn_new(h->loop, sv[1], &rules,
	    master_msg, closed, h));
	worker_stats_start(&h->w);
}

static void
h_free(struct h *h)
{
	ev_prepare_stop(h->loop, &h->w.stats_check);
	ev_timer_stop(h->loop, &h->w.stats_timer);
	worker_stats_free(&h->w);
	frame_conn_close(h->w.ctl);
	frame_conn_close(h->master);
	ev_loop_destroy(h->loop);
}

/* Turns of the loop, without blocking, until nothing is left to do. */
static void
h_settle(struct h *h)
{
	int	 i;

	for (i = 0; i < 20; i++)
		ev_run(h->loop, EVRUN_NOWAIT);
}

/* Block in the loop until `n` MSG_STATS came; 1 when they did. */
static int
h_wait_stats(struct h *h, int n)
{
	ev_tstamp	 end;

	ev_now_update(h->loop);
	end = ev_now(h->loop) + HANG_BOUND;
	while (h->nstats < n && ev_now(h->loop) < end)
		ev_run(h->loop, EVRUN_ONCE);
	h_settle(h);
	return h->nstats >= n;
}

Test(worker_stats, first_turn_sends_then_nothing_while_unchanged)
{
	struct h	 h;

	h_init(&h);
	h_settle(&h);
	cr_assert_eq(h.nstats, 1, "the first counters go at once");
	cr_assert_eq(stat_of(&h.last, "runs"), 0);
	cr_assert_eq(stat_of(&h.last, "fixed"), 7);
	/*
	 * The turns after it, within the second, leave one call due: the
	 * timer, whose turn calls the hook, which sends nothing (nothing
	 * changed); then nothing is armed to wake us.
	 */
	h_settle(&h);
	cr_assert_eq(h.nstats, 1);
	cr_assert_eq(calls, 1, "the hook called again within the second");
	cr_assert(ev_is_active(&h.w.stats_timer));
	/* the timer's turn, then the turn whose prepare calls the hook */
	while (ev_is_active(&h.w.stats_timer))
		ev_run(h.loop, EVRUN_ONCE);
	ev_run(h.loop, EVRUN_NOWAIT);
	cr_assert_eq(calls, 2);
	/*
	 * Nothing armed: with nothing else to do, the loop would block for
	 * good (here it shares the loop with the master's end, so no more
	 * turns are made to look).
	 */
	cr_assert(!ev_is_active(&h.w.stats_timer), "an idle worker woken");
	h_settle(&h);
	cr_assert_eq(h.nstats, 1, "unchanged counters were sent again");
	h_free(&h);
}

Test(worker_stats, a_change_goes_once)
{
	struct h	 h;

	h_init(&h);
	h_settle(&h);
	cr_assert_eq(h.nstats, 1);
	counter = 5;
	/*
	 * Within WORKER_STATS_EVERY of the first: held for the rest of it
	 * (the timer is armed), or sent at once on a machine so slow that
	 * it has passed; either way it arrives, and once.
	 */
	ev_run(h.loop, EVRUN_NOWAIT);
	cr_assert(h.nstats == 2 || ev_is_active(&h.w.stats_timer));
	cr_assert(h_wait_stats(&h, 2), "the change never came");
	cr_assert_eq(stat_of(&h.last, "runs"), 5);
	cr_assert_eq(h.nstats, 2);
	/* a changed note is a change too */
	note_now = "it broke";
	cr_assert(h_wait_stats(&h, 3));
	cr_assert_str_eq(h.last.note, "it broke");
	cr_assert_eq(h.nstats, 3);
	h_free(&h);
}

Test(worker_stats, flush_sends_only_what_changed)
{
	struct h	 h;

	h_init(&h);
	h_settle(&h);
	cr_assert_eq(h.nstats, 1);
	counter = 9;
	/* at once, whatever the time since the last; then no more pacing */
	worker_stats_flush(&h.w);
	cr_assert(!ev_is_active(&h.w.stats_timer));
	cr_assert(!ev_is_active(&h.w.stats_check));
	h_settle(&h);
	cr_assert_eq(h.nstats, 2);
	cr_assert_eq(stat_of(&h.last, "runs"), 9);
	/* unchanged: a second flush sends nothing */
	worker_stats_start(&h.w);
	worker_stats_flush(&h.w);
	h_settle(&h);
	cr_assert_eq(h.nstats, 2, "unchanged counters flushed again");
	h_free(&h);
}

static const struct worker_ops slow_ops = {
	.role = ROLE_SCHEDULER,
	.stats = fake_stats,
	.stats_every = 30.0,
};

static const struct worker_ops quick_ops = {
	.role = ROLE_SENDER,
	.stats = fake_stats,
	.stats_every = 0.4,
};

/* A worker of a role with its own pace, its first counters sent. */
static void
h_init_paced(struct h *h, const struct worker_ops *ops)
{
	h_init(h);
	h->w.ops = ops;
	h_settle(h);
	cr_assert_eq(h->nstats, 1, "the first counters go at once");
}

/* A role's own pace: a change within it waits for the rest of it. */
Test(worker_stats, a_role_may_pace_itself_slower)
{
	struct h	 h;

	h_init_paced(&h, &slow_ops);
	counter = 3;
	h_settle(&h);
	cr_assert_eq(h.nstats, 1, "sent within the role's pace");
	cr_assert(ev_is_active(&h.w.stats_timer));
	/* due in the role's pace, not in WORKER_STATS_EVERY, and late */
	cr_assert_gt(ev_timer_remaining(h.loop, &h.w.stats_timer),
	    slow_ops.stats_every);
	worker_stats_flush(&h.w);
	h_settle(&h);
	cr_assert_eq(h.nstats, 2);
	cr_assert_eq(stat_of(&h.last, "runs"), 3);
	h_free(&h);
}

/*
 * A turn three quarters into the pace calls at once: a worker busy once
 * a pace is not woken a second time for a timer a little later.
 */
Test(worker_stats, a_turn_late_in_the_pace_calls_at_once)
{
	struct h	 h;

	h_init_paced(&h, &quick_ops);
	/* early in the pace: held, for longer than the pace */
	counter = 4;
	ev_run(h.loop, EVRUN_NOWAIT);
	if (ev_now(h.loop) - h.w.stats_at < 0.2) {
		cr_assert_eq(h.nstats, 1, "sent early in the pace");
		cr_assert(ev_is_active(&h.w.stats_timer));
		/* 1.25 of the pace after the last call, not the pace */
		cr_assert_gt(ev_timer_remaining(h.loop, &h.w.stats_timer),
		    0.45 - (ev_now(h.loop) - h.w.stats_at));
	}
	cr_assert(h_wait_stats(&h, 2), "the change never came");
	/* a turn 0.32 s on (of 0.4) makes the call, no timer needed */
	usleep(320 * 1000);
	counter = 5;
	ev_now_update(h.loop);
	ev_run(h.loop, EVRUN_NOWAIT);
	cr_assert_eq(calls, 3, "a turn late in the pace waited for a timer");
	h_settle(&h);
	cr_assert_eq(h.nstats, 3);
	cr_assert_eq(stat_of(&h.last, "runs"), 5);
	h_free(&h);
}

static void
h_ask(struct h *h, uint32_t reqid)
{
	cr_assert_eq(frame_send(h->master, MSG_STATS_REQ, reqid, NULL, 0, -1),
	    0);
	h_settle(h);
}

/*
 * Asked, the worker answers at once, unchanged counters too, with the
 * request's reqid; and the answer counts as its push for the pace.
 */
Test(worker_stats, an_ask_is_answered_at_once_changed_or_not)
{
	struct h	 h;

	h_init(&h);
	h_settle(&h);
	cr_assert_eq(h.nstats, 1);
	cr_assert_eq(h.last_reqid, 0, "a push carries no reqid");
	h_ask(&h, 41);
	cr_assert_eq(h.nstats, 2, "unchanged counters not sent when asked");
	cr_assert_eq(h.last_reqid, 41);
	cr_assert_eq(stat_of(&h.last, "runs"), 0);
	/* a change within the pace: the ask does not wait for the pace */
	counter = 6;
	h_ask(&h, 42);
	cr_assert_eq(h.nstats, 3);
	cr_assert_eq(h.last_reqid, 42);
	cr_assert_eq(stat_of(&h.last, "runs"), 6);
	/* what the answer carried is not pushed again after it */
	while (ev_is_active(&h.w.stats_timer))
		ev_run(h.loop, EVRUN_ONCE);
	h_settle(&h);
	cr_assert_eq(h.nstats, 3, "an answered change was pushed again");
	/* a role with no hook (never paced) answers with what it pushed last */
	ev_prepare_stop(h.loop, &h.w.stats_check);
	ev_timer_stop(h.loop, &h.w.stats_timer);
	h.w.ops = &hookless_ops;
	h_ask(&h, 43);
	cr_assert_eq(h.nstats, 4);
	cr_assert_eq(h.last_reqid, 43);
	cr_assert_eq(stat_of(&h.last, "runs"), 6);
	/* and with the runtime's own counter alone when it never pushed */
	worker_stats_free(&h.w);
	h_ask(&h, 44);
	cr_assert_eq(h.nstats, 5);
	cr_assert_eq(h.last_reqid, 44);
	cr_assert_eq(h.last.n, 1);
	cr_assert_eq(stat_of(&h.last, "log_lines_stderr"), 0);
	h_free(&h);
}
