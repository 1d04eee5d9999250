/* Reading files under the collector's root: sizes around the buffers. */
#include "collect_fixture_io.h"

#include "workers/collect_io.h"

Test(collect_file, read_and_slurp)
{
	static const size_t sizes[] = { 0, 1, 4094, 4095, 4096, 4097, 8191,
	    8192, 10000 };
	char		 root[PATH_MAX], path[PATH_MAX], small[16], *big, *out;
	size_t		 i, len;
	ssize_t		 n;

	tmp_root(root, sizeof(root));
	cr_assert_not_null(big = malloc(10001));
	for (i = 0; i < 10000; i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		put_bytes(root, "f", big, sizes[i]);
		cr_assert_eq(cf_path(path, sizeof(path), root, "/%s", "f"), 0);
		cr_assert_eq(cf_slurp(path, 10000, &out, &len), 0, "%zu",
		    sizes[i]);
		cr_assert_eq(len, sizes[i]);
		cr_assert_eq(memcmp(out, big, len), 0);
		cr_assert_eq(out[len], '\0');
		free(out);
		/* one byte over the limit */
		if (sizes[i] > 0) {
			cr_assert_eq(cf_slurp(path, sizes[i] - 1, &out, &len),
			    -1);
			cr_assert_eq(errno, EFBIG);
			cr_assert_null(out);
		}
		n = cf_read(path, small, sizeof(small));
		if (sizes[i] < sizeof(small)) {
			cr_assert_eq(n, (ssize_t)sizes[i]);
			cr_assert_eq(small[n], '\0');
		} else {
			cr_assert_eq(n, -1);
			cr_assert_eq(errno, EFBIG);
		}
	}
	put_bytes(root, "f", big, 15);
	cr_assert_eq(cf_read(path, small, sizeof(small)), 15);
	cr_assert_eq(cf_read("/nonexistent/x", small, sizeof(small)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(cf_slurp("/nonexistent/x", 10, &out, &len), -1);
	cr_assert_eq(cf_path(path, 8, "/root/", "%s", "x"), 0);
	cr_assert_eq(cf_path(path, 8, "/root/", "%s", "xy"), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	cr_assert_eq(cf_path(path, 4, "/root/", "%s", ""), -1);
	free(big);
	rm_tree(root);
}

Test(collect_file, u64)
{
	const char	*s = "  12 18446744073709551615\t7 18446744073709551616 x";
	uint64_t	 v;

	cr_assert_eq(cf_u64(&s, &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(cf_u64(&s, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(cf_u64(&s, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(cf_u64(&s, &v), -1);	/* overflow */
	s = " x";
	cr_assert_eq(cf_u64(&s, &v), -1);
	cr_assert_str_eq(s, " x");
}
