/*
 * bounded.h: a call waited for a while in a thread of its own.  One that
 * returns in time gives its argument back; one that does not is left to
 * finish, and its argument is freed then, not before; one held by the
 * caller says when it has returned, and its argument goes when both are
 * done with it, whichever is last.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "master/bounded.h"

struct job {
	int		 sleep_ms;
	int		 ran;
	atomic_int	*freed;
};

static void
job_run(void *p)
{
	struct job	*j = p;

	usleep((useconds_t)j->sleep_ms * 1000);
	j->ran = 1;
}

static void
job_free(void *p)
{
	struct job	*j = p;

	atomic_store(j->freed, 1);
	free(j);
}

Test(bounded, a_call_in_time_gives_its_argument_back)
{
	atomic_int	 freed = 0;
	struct job	*j;

	cr_assert_not_null(j = calloc(1, sizeof(*j)));
	j->freed = &freed;
	cr_assert_eq(bounded_call(job_run, j, job_free, 5, NULL), 0);
	cr_assert_eq(j->ran, 1);
	cr_assert_eq(atomic_load(&freed), 0, "freed behind the caller");
	job_free(j);
}

Test(bounded, a_late_call_is_left_to_finish_and_frees_its_argument)
{
	atomic_int	 freed = 0;
	struct job	*j;
	struct timespec	 t0, t1;
	int		 i;

	cr_assert_not_null(j = calloc(1, sizeof(*j)));
	j->sleep_ms = 2500;
	j->freed = &freed;
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	cr_assert_eq(bounded_call(job_run, j, job_free, 1, NULL), -1);
	cr_assert_eq(errno, ETIMEDOUT);
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 3, "waited past its bound");
	cr_assert_eq(atomic_load(&freed), 0, "freed while it still runs");
	for (i = 0; i < 500 && !atomic_load(&freed); i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&freed), 1, "never freed");
}

/* The thread ran a job that ends while it is held, then is let go. */
static void
held_until(atomic_int *freed, int sleep_ms, int release_first)
{
	struct bounded	*held = NULL;
	struct job	*j;
	int		 i;

	cr_assert_not_null(j = calloc(1, sizeof(*j)));
	j->sleep_ms = sleep_ms;
	j->freed = freed;
	cr_assert_eq(bounded_call(job_run, j, job_free, 1, &held), -1);
	cr_assert_eq(errno, ETIMEDOUT);
	cr_assert_not_null(held);
	cr_assert_eq(bounded_done(held), 0, "done while it still runs");
	if (release_first) {
		bounded_release(held);
		cr_assert_eq(atomic_load(freed), 0, "freed while it runs");
	} else {
		for (i = 0; i < 500 && !bounded_done(held); i++)
			usleep(10000);
		cr_assert_eq(bounded_done(held), 1, "never done");
		cr_assert_eq(atomic_load(freed), 0, "freed while held");
		bounded_release(held);
		cr_assert_eq(atomic_load(freed), 1, "not freed at the release");
		return;
	}
	for (i = 0; i < 500 && !atomic_load(freed); i++)
		usleep(10000);
	cr_assert_eq(atomic_load(freed), 1, "never freed");
}

Test(bounded, a_held_call_says_when_it_returned)
{
	atomic_int	 freed = 0;

	held_until(&freed, 1500, 0);
}

Test(bounded, a_held_call_let_go_before_it_returns_is_freed_by_it)
{
	atomic_int	 freed = 0;

	held_until(&freed, 1500, 1);
}
