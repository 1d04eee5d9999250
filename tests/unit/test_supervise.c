/* Restart backoff: doubling from 0.1 s, capped, reset by a stable run. */
#include <criterion/criterion.h>

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
