/*
 * DISK type family (collect_disk.c) on fixture trees: which devices
 * (whole disks, nvme namespaces, dm with their names), rates between two
 * samples, wraps, devices coming and going.
 */
#include "collect_fixture.h"

static void
expect_disk(const struct famrun *r, const char *dev, double rd, double wr,
    double await, double util)
{
	expect_float(r, "disk.io.read_requests", "device", dev, rd);
	expect_float(r, "disk.io.write_requests", "device", dev, wr);
	expect_float(r, "disk.io.await", "device", dev, await);
	expect_float(r, "disk.io.util", "device", dev, util);
}

Test(disk, devices_and_rates)
{
	static const char *const absent[] = {
		"sda1", "nvme0n1p1", "nvme0c0n1", "loop0", "zram0", "md0",
		"dm-0",		/* tagged with its dm name */
		"sdc",		/* no reads completed, as the Go agent */
		"sdd",		/* wrapped */
		"sde",		/* gone */
		"sdg",		/* new: first sample */
		NULL
	};
	struct famrun		 r;
	const char *const	*a;

	fr_init(&r, &collect_disk_family);
	cr_assert_eq(fr_collect(&r, "disk-a", 0.0), 0, "%s", r.err);
	cr_expect_eq(r.pl.n, 0, "rates on a first sample");
	cr_assert_eq(fr_collect(&r, "disk-b", 10.0), 0, "%s", r.err);
	expect_disk(&r, "sda", 12.3, 45.6, 2.0, 50.0);
	/* 200 % busy is impossible: capped */
	expect_disk(&r, "sdaa", 0.1, 0.2, 0.0, 100.0);
	expect_disk(&r, "nvme0n1", 0.0, 0.0, 0.0, 0.0);
	expect_disk(&r, "vg0-root", 0.7, 0.0, 1.42, 0.03);
	/* no /sys/block/dm-1/dm/name: the kernel name */
	expect_disk(&r, "dm-1", 0.1, 0.0, 1.0, 0.01);
	expect_disk(&r, "xvda", 5.0, 0.0, 1.0, 10.0);
	/* a 14-field line (kernels before 4.18) */
	expect_disk(&r, "sdf", 1.0, 0.0, 0.2, 0.2);
	expect_disk(&r, "hioa", 0.5, 0.0, 0.2, 0.01);
	cr_expect_eq(r.pl.n, 8 * 4);
	for (a = absent; *a != NULL; a++)
		expect_none(&r, "disk.io.util", "device", *a);
	expect_sane(&r);

	/* no time passed: no rates at all */
	cr_assert_eq(fr_collect(&r, "disk-b", 10.0), 0, "%s", r.err);
	cr_expect_eq(r.pl.n, 0);
	/* nothing moved in 10 s: zeros, and the new sdg and the wrapped
	 * sdd are compared now */
	cr_assert_eq(fr_collect(&r, "disk-b", 20.0), 0, "%s", r.err);
	expect_disk(&r, "sda", 0.0, 0.0, 0.0, 0.0);
	expect_disk(&r, "sdd", 0.0, 0.0, 0.0, 0.0);
	expect_disk(&r, "sdg", 0.0, 0.0, 0.0, 0.0);
	cr_expect_eq(r.pl.n, 10 * 4);
	/* back to the older sample: every counter went backwards */
	cr_assert_eq(fr_collect(&r, "disk-a", 30.0), 0, "%s", r.err);
	expect_none(&r, "disk.io.util", "device", "sda");
	expect_disk(&r, "nvme0n1", 0.0, 0.0, 0.0, 0.0);
	expect_sane(&r);
	fr_fini(&r);
}

Test(disk, host)
{
	struct famrun	 r;

	fr_init(&r, &collect_disk_family);
	cr_assert_eq(fr_collect(&r, "host-a", 100.0), 0, "%s", r.err);
	cr_assert_eq(fr_collect(&r, "host-b", 105.0), 0, "%s", r.err);
	expect_disk(&r, "vda", 13.8, 71.2, 0.22, 1.12);
	/* loop and zram devices of this machine are not disks */
	cr_expect_eq(r.pl.n, 4);
	fr_fini(&r);
}

Test(disk, unreadable)
{
	struct famrun	 r;

	fr_init(&r, &collect_disk_family);
	cr_assert_eq(fr_collect(&r, "disk-a", 0.0), 0, "%s", r.err);
	cr_expect_eq(fr_collect(&r, "no-such-tree", 10.0), -1);
	cr_expect_not_null(strstr(r.err, "/proc/diskstats"), "%s", r.err);
	/* the sample before the failure is not compared across it */
	cr_assert_eq(fr_collect(&r, "disk-b", 20.0), 0, "%s", r.err);
	cr_expect_eq(r.pl.n, 0);
	fr_fini(&r);
}
