/*
 * Restart backoff: doubling from 0.1 s, capped, reset by a stable run;
 * a respawn asked for a config not yet acknowledged; READY as it comes.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <criterion/criterion.h>
#include <ev.h>

#include "log.h"
#include "master/master.h"

Test(backoff, doubles_from_first_delay_up_to_the_cap)
{
	unsigned	 failures = 0;
	double		 want = BACKOFF_FIRST, d;
	int		 i;

	for (i = 0; i < 20; i++) {
		d = supervise_backoff(&failures, 1.0, 0);
		cr_assert_float_eq(d, want, 1e-9, "death %d: %f", i + 1, d);
		want = want * 2 > BACKOFF_CAP ? BACKOFF_CAP : want * 2;
	}
	cr_assert_eq(failures, 20);
	cr_assert_float_eq(d, BACKOFF_CAP, 1e-9);
}

/* Criterion's float asserts evaluate their argument twice: call once. */
static double
next(unsigned *failures, double ran, int config_error)
{
	return supervise_backoff(failures, ran, config_error);
}

Test(backoff, a_stable_minute_resets)
{
	unsigned	 failures = 0;
	double		 d;

	(void)next(&failures, 0.5, 0);
	(void)next(&failures, 0.5, 0);
	d = next(&failures, 0.5, 0);
	cr_assert_float_eq(d, 0.4, 1e-9);
	d = next(&failures, BACKOFF_STABLE - 1, 0);
	cr_assert_float_eq(d, 0.8, 1e-9);
	d = next(&failures, BACKOFF_STABLE, 0);
	cr_assert_float_eq(d, BACKOFF_FIRST, 1e-9);
	cr_assert_eq(failures, 1);
}

Test(backoff, config_errors_wait_the_cap)
{
	unsigned	 failures = 0;
	double		 d;

	d = next(&failures, 0.1, 1);
	cr_assert_float_eq(d, BACKOFF_CAP, 1e-9);
	cr_assert_eq(failures, 1);
}

/* Wait statuses as waitpid() gives them (<sys/wait.h> has no maker). */
#define EXITED(code)	(((code) & 0xff) << 8)
#define KILLED(sig)	((sig) & 0x7f)

Test(respawn, once_for_a_generation_not_yet_acknowledged)
{
	uint64_t	 seen = 0;

	/* config 2 sent, acknowledged by nobody yet: at once */
	cr_assert(supervise_respawn_due(2, 1, &seen, EXITED(3)));
	cr_assert_eq(seen, 2);
	/* its successor asking again for the same config: a crash */
	cr_assert_not(supervise_respawn_due(2, 0, &seen, EXITED(3)));
	/* the next reload may ask again */
	cr_assert(supervise_respawn_due(3, 2, &seen, EXITED(3)));
	cr_assert_eq(seen, 3);
}

Test(respawn, a_worker_with_its_config_asking_is_a_crash)
{
	uint64_t	 seen = 0;

	/* what a compromised worker would do between reloads */
	cr_assert_not(supervise_respawn_due(1, 1, &seen, EXITED(3)));
	cr_assert_not(supervise_respawn_due(4, 4, &seen, EXITED(3)));
	cr_assert_eq(seen, 0);
}

Test(respawn, other_ends_are_crashes)
{
	uint64_t	 seen = 0;

	cr_assert_not(supervise_respawn_due(2, 1, &seen, EXITED(0)));
	cr_assert_not(supervise_respawn_due(2, 1, &seen, EXITED(1)));
	cr_assert_not(supervise_respawn_due(2, 1, &seen, EXITED(2)));
	cr_assert_not(supervise_respawn_due(2, 1, &seen, KILLED(9)));
	/* signal 3 is not exit 3 */
	cr_assert_not(supervise_respawn_due(2, 1, &seen, KILLED(3)));
	cr_assert_eq(seen, 0);
}

static char	 said[1024];

static void
said_sink(enum log_level lvl, const char *msg, void *arg)
{
	if (lvl >= LOG_LVL_WARN)
		(void)strlcat(said, msg, sizeof(said));
}

/* A master stopping (a startup failed, `agent stop`), `r` in `state`. */
static struct master *
master_stopping(enum role r, enum wstate state)
{
	struct master	*m;

	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	cr_assert_not_null(m->loop = ev_loop_new(EVFLAG_AUTO));
	m->phase = M_STOPPING;
	supervise_init_slot(m, &m->w[r], r);
	m->w[r].state = state;
	m->w[r].pid = 12345;
	said[0] = '\0';
	log_set_sink(said_sink, NULL);
	return m;
}

static void
master_done(struct master *m)
{
	log_set_sink(NULL, NULL);
	ev_loop_destroy(m->loop);
	free(m);
}

/*
 * A worker still setting up when the start failed (the front refusing
 * its sandbox) or the agent was stopped has its READY on the way: it is
 * its first, not a second, and the worker stays one being stopped.
 */
Test(ready, a_worker_asked_to_stop_during_its_setup_is_not_said_twice)
{
	struct master	*m = master_stopping(ROLE_SENDER, W_STOPPING);

	supervise_ready(m, &m->w[ROLE_SENDER]);
	cr_assert_eq(m->w[ROLE_SENDER].state, W_STOPPING);
	cr_assert_eq(m->phase, M_STOPPING);
	cr_assert_str_empty(said, "said: %s", said);
	master_done(m);
}

Test(ready, a_second_ready_while_running_is_said)
{
	struct master	*m = master_stopping(ROLE_GITPULL, W_RUNNING);

	m->phase = M_RUNNING;
	supervise_ready(m, &m->w[ROLE_GITPULL]);
	cr_assert_eq(m->w[ROLE_GITPULL].state, W_RUNNING);
	cr_assert_not_null(strstr(said, "gitpull sent READY twice"),
	    "said: %s", said);
	master_done(m);
}
