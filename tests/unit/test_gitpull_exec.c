/*
 * gitpull_exec: a command whose output never ends does not hold the
 * worker's loop (a hostile server's endless "remote:" lines reach git's
 * stderr); a command killed at its timeout is reaped even when its
 * SIGCHLD is lost.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "workers/gitpull/gitpull_exec.h"

struct flood {
	int		 done;
	int		 timed_out;
	int		 said;		/* the tail holds what it wrote */
	ev_tstamp	 last_tick;
	ev_tstamp	 widest;	/* between two ticks */
};

static void
flood_done(const struct gexec_result *r, void *arg)
{
	struct flood	*f = arg;

	f->done = 1;
	f->timed_out = r->timed_out;
	f->said = strstr(r->err, "0123456789abcdef\n") != NULL;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct flood	*f = t->data;
	ev_tstamp	 now = ev_time();

	if (now - f->last_tick > f->widest)
		f->widest = now - f->last_tick;
	f->last_tick = now;
}

/*
 * Four `yes` on stderr, for 1.5 s (the timeout): a timer of 20 ms must
 * still fire.  Here the reads outpace them, so reading until EAGAIN, as
 * drain() did before its bound, passes too: this guards the property,
 * and the bound holds it on a machine where the writers win.
 */
Test(gitpull_exec, endless_output_does_not_hold_the_loop, .timeout = 30)
{
	char *const	 argv[] = { "sh", "-c",
			    "for i in 1 2 3 4; do "
			    "/usr/bin/yes 0123456789abcdef >&2 & done; wait",
			    NULL };
	char *const	 envp[] = { NULL };
	struct ev_loop	*loop;
	struct gexec	*g;
	struct flood	 f;
	ev_timer	 tick;
	char		 err[256];

	memset(&f, 0, sizeof(f));
	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	g = gitpull_exec_start(loop, "/bin/sh", argv, envp, "/", 1.5, 0,
	    flood_done, &f, err, sizeof(err));
	cr_assert_not_null(g, "%s", err);
	f.last_tick = ev_time();
	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	tick.data = &f;
	ev_timer_start(loop, &tick);
	while (!f.done)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	cr_assert(f.timed_out);
	cr_assert(f.said);
	cr_assert_lt(f.widest, 0.5, "the loop was held %.3f s", f.widest);
}

static void
killed_done(const struct gexec_result *r, void *arg)
{
	*(int *)arg = r->timed_out ? 1 : -1;
}

static void
hang_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cr_assert_fail("the killed command was never reaped");
}

/*
 * A command killed at its timeout whose SIGCHLD the loop never sees (a
 * git was once found a zombie 18 s after its kill in a loaded make
 * check): it is reaped all the same.  The signal's loss is made here by
 * taking SIGCHLD from libev once the command runs.
 */
Test(gitpull_exec, a_lost_sigchld_does_not_hold_a_killed_command,
    .timeout = 30)
{
	char *const	 argv[] = { "sleep", "30", NULL };
	char *const	 envp[] = { NULL };
	struct ev_loop	*loop;
	struct gexec	*g;
	ev_timer	 hang;
	char		 err[256];
	int		 done = 0;

	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	g = gitpull_exec_start(loop, "/bin/sleep", argv, envp, "/", 0.5, 0,
	    killed_done, &done, err, sizeof(err));
	cr_assert_not_null(g, "%s", err);
	cr_assert_neq(signal(SIGCHLD, SIG_DFL), SIG_ERR);
	ev_timer_init(&hang, hang_cb, 10., 0.);
	ev_timer_start(loop, &hang);
	while (!done)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &hang);
	ev_loop_destroy(loop);
	cr_assert_eq(done, 1);
}
