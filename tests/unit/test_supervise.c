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
