/*
 * CPU type family (collect_cpu.c) on fixture trees, and the point list
 * and collect_trunc2 every family uses (collect_list.c).
 */
#include <math.h>

#include "collect_fixture.h"

Test(cpu, host_two_samples)
{
	struct famrun	 r;

	fr_init(&r, &collect_cpu_family);
	/* first sample: everything but the idle shares */
	cr_assert_eq(fr_collect(&r, "host-a", 100.0), 0, "%s", r.err);
	expect_int(&r, "agent.alive", NULL, NULL, 1);
	cr_expect_eq(fr_count(&r, "cpu.idle"), 0);
	cr_expect_eq(fr_count(&r, "cpu.idle.core"), 0);
	expect_float(&r, "cpu.loadavg.1", NULL, NULL, 0.84);
	expect_float(&r, "cpu.loadavg.5", NULL, NULL, 0.66);
	expect_float(&r, "cpu.loadavg.15", NULL, NULL, 0.62);
	/* two processes in the fixture: systemd-like 1 (S), a zombie */
	expect_int(&r, "ps.total.num", NULL, NULL, 2);
	expect_int(&r, "ps.running.num", NULL, NULL, 0);
	expect_int(&r, "ps.zombies.num", NULL, NULL, 1);
	cr_expect_eq(r.pl.n, 7);
	expect_sane(&r);

	/* second: the shares between the two */
	cr_assert_eq(fr_collect(&r, "host-b", 105.0), 0, "%s", r.err);
	expect_int(&r, "agent.alive", NULL, NULL, 1);
	expect_float(&r, "cpu.idle", NULL, NULL, 87.37);
	expect_float(&r, "cpu.idle.core", "core", "0", 86.9);
	expect_float(&r, "cpu.idle.core", "core", "1", 87.67);
	cr_expect_eq(fr_count(&r, "cpu.idle.core"), 2);
	expect_float(&r, "cpu.loadavg.1", NULL, NULL, 0.78);
	expect_float(&r, "cpu.loadavg.5", NULL, NULL, 0.65);
	expect_float(&r, "cpu.loadavg.15", NULL, NULL, 0.61);
	cr_expect_eq(r.pl.n, 10);
	expect_sane(&r);
	fr_fini(&r);
}

/*
 * 128 cores: core 5 did not tick (left out, the list goes on), core 6
 * went backwards (left out), core 127 went offline (left out).
 */
Test(cpu, cores_128)
{
	struct famrun	 r;
	char		 core[8];
	double		 want;
	int		 i;

	fr_init(&r, &collect_cpu_family);
	cr_assert_eq(fr_collect(&r, "cpu128-a", 0.0), 0, "%s", r.err);
	cr_expect_eq(fr_count(&r, "cpu.idle.core"), 0);
	cr_assert_eq(fr_collect(&r, "cpu128-b", 10.0), 0, "%s", r.err);
	expect_float(&r, "cpu.idle", NULL, NULL, 84.6);
	cr_expect_eq(fr_count(&r, "cpu.idle.core"), 125);
	for (i = 0; i < 128; i++) {
		snprintf(core, sizeof(core), "%d", i);
		if (i == 5 || i == 6 || i == 127) {
			expect_none(&r, "cpu.idle.core", "core", core);
			continue;
		}
		/* each core: 1000 ticks, 850 - i % 7 of them idle */
		want = trunc((double)(850 - i % 7) * 100.0 / 1000.0 * 100.0) /
		    100.0;
		expect_float(&r, "cpu.idle.core", "core", core, want);
	}
	expect_float(&r, "cpu.idle.core", "core", "1", 84.9);
	expect_float(&r, "cpu.idle.core", "core", "7", 85.0);
	expect_float(&r, "cpu.loadavg.1", NULL, NULL, 0.0);
	expect_float(&r, "cpu.loadavg.5", NULL, NULL, 1.05);
	expect_float(&r, "cpu.loadavg.15", NULL, NULL, 100.75);
	/* 1 S, 2 R, 3 Z, 42 R (its name holds ") Z ("), 77 I; 100 has no
	 * stat (gone), "self" and "12abc" are not processes */
	expect_int(&r, "ps.total.num", NULL, NULL, 5);
	expect_int(&r, "ps.running.num", NULL, NULL, 2);
	expect_int(&r, "ps.zombies.num", NULL, NULL, 1);
	expect_sane(&r);

	/* the same sample again: no time passed on any core */
	cr_assert_eq(fr_collect(&r, "cpu128-b", 20.0), 0, "%s", r.err);
	expect_float(&r, "cpu.idle", NULL, NULL, 0.0);
	cr_expect_eq(fr_count(&r, "cpu.idle.core"), 0);
	fr_fini(&r);
}

/* A missing source is reported; what could be read is still sent. */
Test(cpu, missing_sources)
{
	struct famrun	 r;

	fr_init(&r, &collect_cpu_family);
	cr_assert_eq(fr_collect(&r, "no-such-tree", 0.0), -1);
	cr_expect_not_null(strstr(r.err, "/proc/stat"), "%s", r.err);
	expect_int(&r, "agent.alive", NULL, NULL, 1);
	cr_expect_eq(r.pl.n, 1);
	/* mem-noswap has no /proc/stat nor loadavg, but a /proc */
	cr_assert_eq(fr_collect(&r, "mem-noswap", 10.0), -1);
	expect_int(&r, "ps.total.num", NULL, NULL, 0);
	/* after a failed sample the next good one is a first one */
	cr_assert_eq(fr_collect(&r, "host-a", 20.0), 0, "%s", r.err);
	cr_expect_eq(fr_count(&r, "cpu.idle"), 0);
	cr_assert_eq(fr_collect(&r, "host-b", 30.0), 0, "%s", r.err);
	expect_float(&r, "cpu.idle", NULL, NULL, 87.37);
	fr_fini(&r);
}

/* ---- collect_list.c */

Test(list, trunc2_truncates_toward_zero)
{
	cr_expect(collect_trunc2(1.999) == 1.99);
	cr_expect(collect_trunc2(38.5499) == 38.54);
	cr_expect(collect_trunc2(0.004) == 0.0);
	cr_expect(collect_trunc2(100.0) == 100.0);
	cr_expect(collect_trunc2(-1.239) == -1.23);
	/* as the Go agent: 0.29 * 100 is 28.999..., so 0.28 */
	cr_expect(collect_trunc2(0.29) == 0.28);
	cr_expect(collect_trunc2(83128.8) == 83128.8);
}

Test(list, points_tags_routes)
{
	struct point_list	 pl;
	struct point		*p;
	size_t			 i;

	collect_list_init(&pl);
	p = collect_list_add_int(&pl, "a.b", 7, NULL);
	cr_assert_not_null(p);
	cr_expect_eq(p->kind, POINT_INT);
	cr_expect_eq(p->ival, 7);
	cr_expect_eq(p->ntags, 0);
	p = collect_list_add_float(&pl, "c", 1.5, "k1", "v1", "k2", "v2", NULL);
	cr_assert_not_null(p);
	cr_expect_eq(p->ntags, 2);
	cr_expect_str_eq(p->tags[1].value, "v2");
	collect_list_route(&pl, "x.loda");
	(void)collect_list_add_int(&pl, "PORT.a.1", 1, NULL);
	collect_list_route(&pl, NULL);
	(void)collect_list_add_int(&pl, "d", 0, NULL);
	cr_expect_null(pl.route[0]);
	cr_expect_str_eq(pl.route[2], "x.loda");
	cr_expect_null(pl.route[3]);
	/* many: the arrays grow together */
	for (i = 0; i < 1000; i++)
		cr_assert_not_null(collect_list_add_int(&pl, "n", (int64_t)i,
		    NULL));
	cr_expect_eq(pl.n, 1004);
	cr_expect_eq(pl.v[1003].ival, 999);
	collect_list_truncate(&pl, 2);
	cr_expect_eq(pl.n, 2);
	/* an over-long name, tag or too many tags: that point alone is
	 * dropped and counted, the list has not failed */
	{
		char	 big[POINT_TAG_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		cr_expect_null(collect_list_add_int(&pl, big, 1, NULL));
		cr_expect_null(collect_list_add_int(&pl, "t", 1, "k", big,
		    NULL));
		cr_expect_null(collect_list_add_int(&pl, "t", 1, big, "v",
		    NULL));
		cr_expect(!pl.failed);
		cr_expect_eq(pl.invalid, 3);
		cr_expect_not_null(collect_list_add_int(&pl, "ok", 1, NULL));
		cr_expect_eq(pl.n, 3);
	}
	collect_list_reset(&pl);
	cr_expect_eq(pl.n, 0);
	cr_expect_eq(pl.invalid, 0);
	cr_expect(!pl.failed);
	cr_expect_not_null(collect_list_add_int(&pl, "ok", 1, NULL));
	collect_list_free(&pl);
	cr_expect_eq(pl.n, 0);
	cr_expect_null(pl.v);
}
