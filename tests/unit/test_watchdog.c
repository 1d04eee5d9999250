/*
 * The master's watchdog (src/master/watchdog.c) on a loop of its own,
 * with a real child as the worker: one that closed its control edge and
 * lives on is killed once it has been silent for workertimeout.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "frame.h"
#include "master/master.h"
#include "proto.h"

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* The loop for `secs` seconds, whatever else it waits for. */
static void
run_for(struct ev_loop *loop, double secs)
{
	ev_timer	 t;

	ev_timer_init(&t, stop_cb, secs, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

Test(watchdog, a_worker_that_closed_its_control_edge_is_killed,
    .timeout = 20)
{
	struct frame_rules	 rules;
	struct master		*m;
	struct wslot		*w;
	pid_t			 child;
	int			 sv[2], status;

	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	cr_assert_not_null(m->loop = ev_loop_new(EVFLAG_AUTO));
	m->phase = M_RUNNING;
	m->conf.workertimeout = 1;
	w = &m->w[ROLE_SENDER];
	w->m = m;
	w->role = ROLE_SENDER;
	w->state = W_RUNNING;
	/* the worker: it lives on, whatever its edge */
	cr_assert_neq(child = fork(), -1);
	if (child == 0) {
		/* gone with the test's process, or in 20 s at most, even
		 * when the test fails before it kills the child */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(20);
		for (;;)
			pause();
	}
	w->pid = child;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rules.edge = proto_control_edge(ROLE_SENDER);
	rules.self = ROLE_MASTER;
	rules.name = NULL;
	cr_assert_not_null(w->ctl = frame_conn_new(m->loop, sv[0], &rules,
	    master_ctl_msg, master_ctl_close, w));
	watchdog_heard(m, w);
	watchdog_apply(m);

	/* it closes its end: the master's is closed too, nothing more */
	close(sv[1]);
	run_for(m->loop, 0.3);
	cr_assert_null(w->ctl, "the edge is still open");
	cr_assert_eq(waitpid(child, &status, WNOHANG), 0, "killed at once");

	/* a timeout later it is killed, as a hung worker is */
	run_for(m->loop, 1.5);
	cr_assert_eq(waitpid(child, &status, WNOHANG), child,
	    "it lives on without its control edge");
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	watchdog_stop(m);
	ev_loop_destroy(m->loop);
	free(m);
}
