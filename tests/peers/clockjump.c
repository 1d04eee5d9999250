/*
 * LD_PRELOAD shim for the tests: the wall clock of one agent worker
 * steps by CLOCKJUMP_BY seconds (negative: back, as NTP stepping a clock
 * that ran fast) once CLOCKJUMP_AFTER seconds have passed since it
 * started, or, with CLOCKJUMP_ARM, once the file it names says "1" (the
 * test steps it when it is ready: no race with a slow start), as far as
 * clock_gettime(CLOCK_REALTIME*), gettimeofday() and
 * time() say; the monotonic clock is left alone, as the kernel does.
 * Only the process exec'ed as "agent worker $CLOCKJUMP_ROLE" is affected
 * (CLOCKJUMP_ROLE=master: "agent start", the master).
 * Everything is resolved in the constructor, before the worker's sandbox.
 */
#define _GNU_SOURCE
#include <sys/time.h>

#include <dlfcn.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim_role.h"

static int (*real_cgt)(clockid_t, struct timespec *);
static int	 on;
static int	 armfd = -1;	/* CLOCKJUMP_ARM, opened before the sandbox */
static int	 armed;
static double	 start, after;
static long	 by;

static double
mono(void)
{
	struct timespec	 ts;

	real_cgt(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((constructor)) static void
init(void)
{
	const char	*role = getenv("CLOCKJUMP_ROLE");

	real_cgt = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
	    "clock_gettime");
	if (role == NULL || real_cgt == NULL)
		return;
	if (!shim_role_is(role))
		return;
	after = atof(getenv("CLOCKJUMP_AFTER") ? getenv("CLOCKJUMP_AFTER") :
	    "0");
	by = atol(getenv("CLOCKJUMP_BY") ? getenv("CLOCKJUMP_BY") : "0");
	if (getenv("CLOCKJUMP_ARM") != NULL)
		armfd = open(getenv("CLOCKJUMP_ARM"), O_RDONLY | O_CLOEXEC);
	start = mono();
	on = 1;
}

static long
offset(void)
{
	char	 c;

	if (!on)
		return 0;
	if (armfd == -1)
		return mono() - start >= after ? by : 0;
	/* stepped once, stepped for good */
	if (!armed && pread(armfd, &c, 1, 0) == 1 && c == '1')
		armed = 1;
	return armed ? by : 0;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int	 rc = real_cgt(id, ts);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset();
	return rc;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec	 ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
