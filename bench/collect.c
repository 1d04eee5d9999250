/*
 * bench/collect: what one collection round of every metric family in
 * collect_families[] costs on this machine, in CPU time and allocations.
 *
 * A round calls every family once (all types, as if their intervals
 * coincided), into one point list, on the real /proc and /sys, and then
 * does what the collector worker does with the points: normalize (host
 * tag, timestamp) and encode them (JSON).  The monotonic time handed to
 * the families advances 10 s per round, so the rate paths run as in
 * production.  Allocations are counted by replacing malloc and friends
 * (glibc lets a program do that; its own calls, opendir's included, come
 * here too).
 *
 *   collect [-n rounds] [-i ifaceprefix]... [-q]
 */
#include <sys/resource.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "encode.h"
#include "items.h"
#include "workers/collector/collect.h"

/* ---- counting allocator (glibc's own underneath) */

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
extern void	 __libc_free(void *);

static uint64_t	 nalloc;	/* a benchmark, not a worker: global */

void	*malloc(size_t);
void	*calloc(size_t, size_t);
void	*realloc(void *, size_t);
void	*reallocarray(void *, size_t, size_t);
void	 free(void *);

void *
malloc(size_t n)
{
	nalloc++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	nalloc++;
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	nalloc++;
	return __libc_realloc(p, n);
}

void *
reallocarray(void *p, size_t n, size_t m)
{
	if (m != 0 && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * m);
}

void
free(void *p)
{
	__libc_free(p);
}

/* ---- timing */

static double
cpu_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct famstat {
	double		 cpu;
	uint64_t	 allocs;
	uint64_t	 points;
	uint64_t	 failures;
	char		 lasterr[256];
};

static void
usage(void)
{
	fprintf(stderr, "usage: collect [-n rounds] [-i ifaceprefix]... "
	    "[-q]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct collect_env	 env;
	struct point_list	 pl;
	struct strlist		 prefix;
	struct items		 items;
	struct famstat		*fs;
	struct rusage		 ru0, ru1;
	struct buf		 enc;
	void			**state;
	char			 err[512], host[256];
	double			 c0, c1, w0, w1, t, cpu_fam = 0, cpu_all = 0;
	double			 cpu_min = 1e9, cpu_max = 0;
	uint64_t		 a0, alloc_fam = 0, alloc_all = 0, npoints = 0;
	uint64_t		 bytes = 0, invalid = 0;
	long			 rounds = 1000;
	size_t			 i, k;
	int			 ch, quiet = 0, r;

	strlist_init(&prefix);
	while ((ch = getopt(argc, argv, "n:i:q")) != -1) {
		switch (ch) {
		case 'n':
			rounds = strtol(optarg, NULL, 10);
			if (rounds < 2)
				usage();
			break;
		case 'i':
			if (strlist_add(&prefix, optarg) == -1)
				return 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "bench");
	host[sizeof(host) - 1] = '\0';
	items_init(&items);
	memset(&env, 0, sizeof(env));
	env.root = "";
	env.ifaceprefix = &prefix;
	env.items = &items;
	env.ntpserver = "";
	env.coredumpdir = "/home/coresave";

	fs = calloc(collect_family_count, sizeof(*fs));
	state = calloc(collect_family_count, sizeof(*state));
	if (fs == NULL || state == NULL)
		return 1;
	for (k = 0; k < collect_family_count; k++)
		if (collect_families[k]->init != NULL &&
		    (state[k] = collect_families[k]->init()) == NULL)
			return 1;
	collect_list_init(&pl);
	buf_init(&enc);

	if (getrusage(RUSAGE_SELF, &ru0) == -1)
		return 1;
	w0 = wall_now();
	/* round 0 warms the buffers and gives the families their first
	 * sample; it is not counted */
	for (r = 0; r <= rounds; r++) {
		env.now = (int64_t)time(NULL);
		env.mono = 1000.0 + 10.0 * r;
		collect_list_reset(&pl);
		buf_reset(&enc);
		c0 = cpu_now();
		a0 = nalloc;
		for (k = 0; k < collect_family_count; k++) {
			size_t	 before = pl.n;
			double	 f0 = cpu_now();
			uint64_t fa = nalloc;

			err[0] = '\0';
			if (collect_families[k]->collect(state[k], &env, &pl,
			    err, sizeof(err)) == -1 && r > 0) {
				fs[k].failures++;
				snprintf(fs[k].lasterr, sizeof(fs[k].lasterr),
				    "%s", err);
			}
			if (r > 0) {
				fs[k].cpu += cpu_now() - f0;
				fs[k].allocs += nalloc - fa;
				fs[k].points += pl.n - before;
			}
		}
		c1 = cpu_now();
		if (r > 0) {
			cpu_fam += c1 - c0;
			alloc_fam += nalloc - a0;
		}
		/* the worker's share: normalize and encode each point */
		for (i = 0; i < pl.n; i++) {
			if (point_normalize(&pl.v[i], NULL, host, env.now, err,
			    sizeof(err)) == -1) {
				invalid++;
				continue;
			}
			if (enc.len > 0)
				buf_addc(&enc, '\n');
			encode_point(&enc, FORMAT_JSON, &pl.v[i]);
		}
		t = cpu_now() - c0;
		if (r > 0) {
			cpu_all += t;
			alloc_all += nalloc - a0;
			npoints += pl.n;
			bytes += enc.len;
			if (t < cpu_min)
				cpu_min = t;
			if (t > cpu_max)
				cpu_max = t;
		}
		if (buf_failed(&enc))
			return 1;
	}
	w1 = wall_now();
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		return 1;

	printf("collect bench: %ld rounds of %zu families (", rounds,
	    collect_family_count);
	for (k = 0; k < collect_family_count; k++)
		printf("%s%s", k ? ", " : "", collect_families[k]->name);
	printf("), %.1f points and %.0f bytes of JSON per round\n",
	    (double)npoints / rounds, (double)bytes / rounds);
	printf("  per round, families + normalize + encode: CPU %.3f ms "
	    "(min %.3f, max %.3f), %.1f allocations\n",
	    cpu_all * 1e3 / rounds, cpu_min * 1e3, cpu_max * 1e3,
	    (double)alloc_all / rounds);
	printf("  per round, families only:                 CPU %.3f ms, "
	    "%.1f allocations\n", cpu_fam * 1e3 / rounds,
	    (double)alloc_fam / rounds);
	printf("  whole run: wall %.3f s, user %.3f s, sys %.3f s\n",
	    w1 - w0,
	    (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6,
	    (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6);
	if (!quiet) {
		for (k = 0; k < collect_family_count; k++) {
			printf("  %-10s CPU %.3f ms, %.1f allocations, %.1f "
			    "points", collect_families[k]->name,
			    fs[k].cpu * 1e3 / rounds,
			    (double)fs[k].allocs / rounds,
			    (double)fs[k].points / rounds);
			if (fs[k].failures > 0)
				printf(", failed %llu times: %s",
				    (unsigned long long)fs[k].failures,
				    fs[k].lasterr);
			printf("\n");
		}
	}
	if (invalid > 0)
		printf("  %llu points refused by point_normalize\n",
		    (unsigned long long)invalid);

	for (k = 0; k < collect_family_count; k++)
		if (collect_families[k]->fini != NULL)
			collect_families[k]->fini(state[k]);
	collect_list_free(&pl);
	buf_free(&enc);
	items_free(&items);
	strlist_free(&prefix);
	free(state);
	free(fs);
	return 0;
}
