/*
 * NET type family (collect_net.c) on fixture trees: ifaceprefix, link
 * speeds (none, -1), the plausibility filter, wraps, interfaces coming
 * and going, sockstat.
 */
#include "collect_fixture.h"

static void
prefixes(struct famrun *r, const char *const *p)
{
	strlist_free(&r->prefix);
	for (; *p != NULL; p++)
		cr_assert_eq(strlist_add(&r->prefix, *p), 0);
}

static void
expect_sockstat(const struct famrun *r, int64_t used, int64_t inuse,
    int64_t tw)
{
	expect_int(r, "net.sockets.used", NULL, NULL, used);
	expect_int(r, "net.tcp.inuse", NULL, NULL, inuse);
	expect_int(r, "net.tcp.timewait", NULL, NULL, tw);
}

Test(net, interfaces_and_rates)
{
	static const char *const pfx[] = { "eth", "wlan", "lo", NULL };
	struct famrun	 r;

	fr_init(&r, &collect_net_family);
	prefixes(&r, pfx);
	cr_assert_eq(fr_collect(&r, "net-a", 0.0), 0, "%s", r.err);
	/* first run: sockstat only */
	expect_sockstat(&r, 321, 12, 34);
	cr_expect_eq(r.pl.n, 3);

	cr_assert_eq(fr_collect(&r, "net-b", 10.0), 0, "%s", r.err);
	expect_sockstat(&r, 330, 15, 40);
	/* 1000 Mb/s: 10 Mb/s in is 1 % */
	expect_float(&r, "net.in", "interface", "eth0", 10000000.0);
	expect_float(&r, "net.out", "interface", "eth0", 100.0);
	expect_float(&r, "net.in.dropped", "interface", "eth0", 0.5);
	expect_float(&r, "net.out.dropped", "interface", "eth0", 0.0);
	expect_float(&r, "net.in.percent", "interface", "eth0", 1.0);
	expect_float(&r, "net.out.percent", "interface", "eth0", 0.0);
	expect_int(&r, "net.speed", "interface", "eth0", 1000);
	/* speed -1: 0, no percent */
	expect_float(&r, "net.in", "interface", "eth1", 800.0);
	expect_float(&r, "net.out", "interface", "eth1", 0.0);
	expect_none(&r, "net.in.percent", "interface", "eth1");
	expect_none(&r, "net.out.percent", "interface", "eth1");
	expect_int(&r, "net.speed", "interface", "eth1", 0);
	/* no speed file at all */
	expect_float(&r, "net.out.dropped", "interface", "eth2", 0.5);
	expect_int(&r, "net.speed", "interface", "eth2", 0);
	expect_none(&r, "net.in.percent", "interface", "eth2");
	/* 20 Mb/s in on a 10 Mb/s link: implausible, dropped with its
	 * percent; out is fine */
	expect_none(&r, "net.in", "interface", "eth4");
	expect_none(&r, "net.in.percent", "interface", "eth4");
	expect_float(&r, "net.out", "interface", "eth4", 1000.0);
	expect_float(&r, "net.out.percent", "interface", "eth4", 0.01);
	expect_int(&r, "net.speed", "interface", "eth4", 10);
	expect_float(&r, "net.in", "interface", "lo", 0.0);
	/* eth3 wrapped, eth5 went, wlan0 came, docker0 is not asked for */
	expect_none(&r, "net.speed", "interface", "eth3");
	expect_none(&r, "net.speed", "interface", "eth5");
	expect_none(&r, "net.speed", "interface", "wlan0");
	expect_none(&r, "net.speed", "interface", "docker0");
	cr_expect_eq(fr_count(&r, "net.speed"), 5);
	cr_expect_eq(r.pl.n, 3 + 7 + 5 + 5 + 5 + 5);
	expect_sane(&r);

	/* now wlan0 and eth3 have a previous sample */
	cr_assert_eq(fr_collect(&r, "net-b", 20.0), 0, "%s", r.err);
	expect_float(&r, "net.in", "interface", "wlan0", 0.0);
	expect_float(&r, "net.in", "interface", "eth3", 0.0);
	expect_float(&r, "net.in.percent", "interface", "eth0", 0.0);
	cr_expect_eq(fr_count(&r, "net.speed"), 7);
	/* the same time again: no rates */
	cr_assert_eq(fr_collect(&r, "net-b", 20.0), 0, "%s", r.err);
	cr_expect_eq(r.pl.n, 3);
	fr_fini(&r);
}

/* An empty ifaceprefix takes every interface, as the Go agent did. */
Test(net, empty_prefix_is_all)
{
	struct famrun	 r;

	fr_init(&r, &collect_net_family);
	cr_assert_eq(fr_collect(&r, "net-a", 0.0), 0, "%s", r.err);
	cr_assert_eq(fr_collect(&r, "net-b", 10.0), 0, "%s", r.err);
	expect_float(&r, "net.in", "interface", "docker0", 1000.0);
	expect_float(&r, "net.in.percent", "interface", "docker0", 0.0);
	expect_int(&r, "net.speed", "interface", "docker0", 10000);
	/* the 3-counter "bogus" line is not an interface */
	expect_none(&r, "net.speed", "interface", "bogus");
	cr_expect_eq(fr_count(&r, "net.speed"), 6);
	fr_fini(&r);
}

Test(net, host)
{
	static const char *const pfx[] = { "eth", "lo", NULL };
	struct famrun	 r;

	fr_init(&r, &collect_net_family);
	prefixes(&r, pfx);
	cr_assert_eq(fr_collect(&r, "host-a", 100.0), 0, "%s", r.err);
	expect_sockstat(&r, 21, 4, 591);
	cr_assert_eq(fr_collect(&r, "host-b", 105.0), 0, "%s", r.err);
	expect_sockstat(&r, 17, 2, 585);
	expect_float(&r, "net.in", "interface", "lo", 70742.39);
	expect_float(&r, "net.out", "interface", "lo", 70742.39);
	expect_float(&r, "net.in", "interface", "eth0", 0.0);
	/* this machine's eth0 says -1 */
	expect_int(&r, "net.speed", "interface", "eth0", 0);
	expect_none(&r, "net.speed", "interface", "ifb0");
	cr_expect_eq(r.pl.n, 3 + 5 + 5);
	expect_sane(&r);
	fr_fini(&r);
}

Test(net, failures)
{
	struct famrun	 r;

	fr_init(&r, &collect_net_family);
	/* no sockstat: reported, the interfaces still counted */
	cr_expect_eq(fr_collect(&r, "net-nosock", 0.0), -1);
	cr_expect_not_null(strstr(r.err, "sockstat"), "%s", r.err);
	cr_expect_eq(fr_collect(&r, "net-nosock", 10.0), -1);
	expect_float(&r, "net.in", "interface", "eth0", 0.0);
	cr_expect_eq(fr_collect(&r, "no-such-tree", 20.0), -1);
	cr_expect_not_null(strstr(r.err, "/proc/net/dev"), "%s", r.err);
	cr_expect_eq(r.pl.n, 0);
	fr_fini(&r);
}
