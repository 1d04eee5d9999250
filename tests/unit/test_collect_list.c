/* The point list of the metric families and trunc2(). */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "workers/collect.h"

Test(collect_list, add_tags_ns)
{
	struct point_list	 pl;
	struct point		*p;
	char			 big[POINT_TAG_MAX + 2];
	int			 i;

	pl_init(&pl);
	pl_set_ns(&pl, "ignored");	/* empty list: nothing to set */
	p = pl_add_int(&pl, "fs.files.rw", 1, "mount", "/", NULL);
	cr_assert_not_null(p);
	p->timestamp = 1700000000;
	cr_assert_not_null(pl_add_float(&pl, "PROC.x.cpu", 1.5, NULL));
	pl_set_ns(&pl, "pool.loda");
	cr_assert_eq(pl.n, 2);
	cr_assert_str_eq(pl.v[0].name, "fs.files.rw");
	cr_assert_eq(pl.v[0].kind, POINT_INT);
	cr_assert_eq(pl.v[0].ival, 1);
	cr_assert_eq(pl.v[0].ntags, 1);
	cr_assert_str_eq(pl.v[0].tags[0].key, "mount");
	cr_assert_str_eq(pl.v[0].tags[0].value, "/");
	cr_assert_eq(pl.v[0].timestamp, 1700000000);
	cr_assert_null(pl.ns[0]);
	cr_assert_eq(pl.v[1].kind, POINT_FLOAT);
	cr_assert_eq(pl.v[1].fval, 1.5);
	cr_assert_str_eq(pl.ns[1], "pool.loda");
	cr_assert_eq(pl.failed, 0);

	/* a key without a value and a tag over the limit fail, sticky */
	cr_assert_null(pl_add_int(&pl, "a", 1, "k", NULL, NULL));
	cr_assert_eq(pl.failed, 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_null(pl_add_int(&pl, "a", 1, "k", big, NULL));
	cr_assert_eq(pl.n, 2);
	cr_assert_not_null(pl_add_int(&pl, "b", 2, NULL));
	cr_assert_eq(pl.failed, 1);

	/* growth past the first allocation keeps both arrays parallel */
	for (i = 0; i < 100; i++) {
		cr_assert_not_null(pl_add_int(&pl, "n", i, NULL));
		pl_set_ns(&pl, (i & 1) ? "odd" : NULL);
	}
	cr_assert_eq(pl.n, 103);
	cr_assert_eq(pl.v[102].ival, 99);
	cr_assert_str_eq(pl.ns[102], "odd");
	cr_assert_null(pl.ns[101]);

	pl_reset(&pl);
	cr_assert_eq(pl.n, 0);
	cr_assert_eq(pl.failed, 0);
	cr_assert_not_null(pl_add_int(&pl, "c", 3, NULL));
	cr_assert_null(pl.ns[0]);
	pl_free(&pl);
	cr_assert_eq(pl.n, 0);
	cr_assert_null(pl.v);
	pl_free(&pl);
}

Test(collect_list, trunc2)
{
	cr_assert_eq(trunc2(12.3456), 12.34);
	cr_assert_eq(trunc2(-12.3456), -12.34);
	cr_assert_eq(trunc2(99.999), 99.99);
	cr_assert_eq(trunc2(0.29), 0.28);	/* 0.29 * 100 < 29, as in Go */
	cr_assert_eq(trunc2(100), 100);
	cr_assert_eq(trunc2(0), 0);
	cr_assert(isnan(trunc2(NAN)));
	cr_assert_eq(trunc2(1e300), 1e300);
}
