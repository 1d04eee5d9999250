/*
 * MEM type family (collect_mem.c) on fixture trees: MiB by integer
 * division, MemAvailable or its fallback, no swap.
 */
#include "collect_fixture.h"

Test(mem, host)
{
	struct famrun	 r;

	fr_init(&r, &collect_mem_family);
	cr_assert_eq(fr_collect(&r, "host-a", 0.0), 0, "%s", r.err);
	expect_int(&r, "mem.total", NULL, NULL, 24105);
	expect_int(&r, "mem.used", NULL, NULL, 416);
	expect_int(&r, "mem.free", NULL, NULL, 23689);
	expect_float(&r, "mem.used.percent", NULL, NULL, 1.72);
	expect_int(&r, "mem.buffers", NULL, NULL, 7);
	expect_int(&r, "mem.cached", NULL, NULL, 387);
	expect_float(&r, "mem.swap.used.percent", NULL, NULL, 0.0);
	cr_expect_eq(r.pl.n, 7);
	expect_sane(&r);
	/* no history: the second sample stands alone */
	cr_assert_eq(fr_collect(&r, "host-b", 10.0), 0, "%s", r.err);
	expect_int(&r, "mem.used", NULL, NULL, 399);
	expect_int(&r, "mem.free", NULL, NULL, 23705);
	expect_float(&r, "mem.used.percent", NULL, NULL, 1.65);
	expect_int(&r, "mem.cached", NULL, NULL, 386);
	fr_fini(&r);
}

Test(mem, no_swap)
{
	struct famrun	 r;

	fr_init(&r, &collect_mem_family);
	cr_assert_eq(fr_collect(&r, "mem-noswap", 0.0), 0, "%s", r.err);
	expect_int(&r, "mem.total", NULL, NULL, 7812);
	/* MemAvailable 5000000 kB */
	expect_int(&r, "mem.free", NULL, NULL, 4882);
	/* 3000000 kB, divided once: not 7812 - 4882 */
	expect_int(&r, "mem.used", NULL, NULL, 2929);
	expect_float(&r, "mem.used.percent", NULL, NULL, 37.5);
	expect_int(&r, "mem.buffers", NULL, NULL, 97);
	expect_int(&r, "mem.cached", NULL, NULL, 1953);
	expect_float(&r, "mem.swap.used.percent", NULL, NULL, 0.0);
	expect_sane(&r);
	fr_fini(&r);
}

/* Before Linux 3.14: free = MemFree + Buffers + Cached. */
Test(mem, no_memavailable)
{
	struct famrun	 r;

	fr_init(&r, &collect_mem_family);
	cr_assert_eq(fr_collect(&r, "mem-noavail", 0.0), 0, "%s", r.err);
	expect_int(&r, "mem.total", NULL, NULL, 4000);
	expect_int(&r, "mem.free", NULL, NULL, 1600);
	expect_int(&r, "mem.used", NULL, NULL, 2400);
	expect_float(&r, "mem.used.percent", NULL, NULL, 60.0);
	expect_int(&r, "mem.buffers", NULL, NULL, 100);
	expect_int(&r, "mem.cached", NULL, NULL, 500);
	expect_float(&r, "mem.swap.used.percent", NULL, NULL, 25.0);
	expect_sane(&r);
	fr_fini(&r);
}

Test(mem, broken)
{
	struct famrun	 r;

	fr_init(&r, &collect_mem_family);
	cr_expect_eq(fr_collect(&r, "mem-broken", 0.0), -1);
	cr_expect_not_null(strstr(r.err, "MemTotal"), "%s", r.err);
	cr_expect_eq(r.pl.n, 0);
	cr_expect_eq(fr_collect(&r, "mem-badnum", 0.0), -1);
	cr_expect_not_null(strstr(r.err, "40x96000"), "%s", r.err);
	cr_expect_eq(fr_collect(&r, "no-such-tree", 0.0), -1);
	cr_expect_not_null(strstr(r.err, "/proc/meminfo"), "%s", r.err);
	cr_expect_eq(r.pl.n, 0);
	/* and fine again */
	cr_expect_eq(fr_collect(&r, "mem-noswap", 0.0), 0);
	cr_expect_eq(r.pl.n, 7);
	fr_fini(&r);
}
