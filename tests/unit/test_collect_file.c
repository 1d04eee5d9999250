/* Reading files under the collector's root: sizes around the buffers. */
#include "collect_fixture.h"

#include "workers/collector/collect_file.h"

Test(collect_file, read_and_slurp)
{
	static const size_t sizes[] = { 0, 1, 4094, 4095, 4096, 4097, 8191,
	    8192, 8193, 10000 };
	struct cfile	 f, g;
	char		 root[PATH_MAX], path[PATH_MAX], small[16], *big;
	char		 err[2 * PATH_MAX];
	size_t		 i;
	ssize_t		 n;

	memset(&f, 0, sizeof(f));
	tmp_root(root, sizeof(root));
	cr_assert_not_null(big = malloc(10001));
	for (i = 0; i < 10000; i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		put_bytes(root, "f", big, sizes[i]);
		cr_assert_eq(collect_path(path, sizeof(path), root, "/%s", "f"),
		    0);
		/* f is kept from one size to the next, as a family does */
		cr_assert_eq(collect_slurp(root, "/f", 10000, &f, err,
		    sizeof(err)), 0, "%zu: %s", sizes[i], err);
		cr_assert_eq(f.len, sizes[i]);
		cr_assert_eq(memcmp(f.p, big, f.len), 0);
		cr_assert_eq(f.p[f.len], '\0');
		/* one byte over the limit, in a kept and in a new buffer */
		if (sizes[i] > 0) {
			cr_assert_eq(collect_slurp(root, "/f", sizes[i] - 1, &f,
			    err, sizeof(err)), -1);
			cr_assert_eq(errno, EFBIG);
			cr_assert_eq(f.len, 0);
			memset(&g, 0, sizeof(g));
			cr_assert_eq(collect_slurp(root, "/f", sizes[i] - 1, &g,
			    err, sizeof(err)), -1);
			cr_assert_eq(errno, EFBIG);
			collect_file_free(&g);
		}
		n = collect_read(path, small, sizeof(small));
		if (sizes[i] < sizeof(small)) {
			cr_assert_eq(n, (ssize_t)sizes[i]);
			cr_assert_eq(small[n], '\0');
		} else {
			cr_assert_eq(n, -1);
			cr_assert_eq(errno, EFBIG);
		}
	}
	put_bytes(root, "f", big, 15);
	cr_assert_eq(collect_read(path, small, sizeof(small)), 15);
	cr_assert_eq(collect_read("/nonexistent/x", small, sizeof(small)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(collect_slurp("/nonexistent", "/x", 10, &f, err,
	    sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_str_eq(err, "/nonexistent/x: No such file or directory");
	collect_file_free(&f);
	cr_assert_null(f.p);
	cr_assert_eq(collect_path(path, 8, "/root/", "%s", "x"), 0);
	cr_assert_eq(collect_path(path, 8, "/root/", "%s", "xy"), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	cr_assert_eq(collect_path(path, 4, "/root/", "%s", ""), -1);
	/* a root longer than any path */
	memset(big, 'r', PATH_MAX);
	big[PATH_MAX] = '\0';
	cr_assert_eq(collect_slurp(big, "/proc/stat", 10, &f, err,
	    sizeof(err)), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	cr_assert(strstr(err, "/proc/stat: path too long") != NULL, "%s", err);
	collect_file_free(&f);
	free(big);
	rm_tree(root);
}

Test(collect_file, u64)
{
	const char	*s = "  12 18446744073709551615\t7 "
	    "18446744073709551616 x";
	uint64_t	 v;

	cr_assert_eq(collect_u64(s, &s, &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(collect_u64(s, &s, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(collect_u64(s, &s, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(collect_u64(s, &s, &v), -1);	/* overflow */
	s = " x";
	cr_assert_eq(collect_u64(s, &s, &v), -1);
	cr_assert_str_eq(s, " x");
	/* without end: the number is the whole string */
	cr_assert_eq(collect_u64("18446744073709551615", NULL, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(collect_u64("0", NULL, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(collect_u64("12 ", NULL, &v), -1);
	cr_assert_eq(collect_u64("12kB", NULL, &v), -1);
	cr_assert_eq(collect_u64("", NULL, &v), -1);
	cr_assert_eq(collect_u64("-1", NULL, &v), -1);
	cr_assert_eq(collect_u64("18446744073709551616", NULL, &v), -1);
}

Test(collect_file, token)
{
	char	 line[] = "  cpu0 1\t22\n333  ", *p = line;

	cr_assert_str_eq(collect_token(&p), "cpu0");
	cr_assert_str_eq(collect_token(&p), "1");
	cr_assert_str_eq(collect_token(&p), "22");
	cr_assert_str_eq(collect_token(&p), "333");
	cr_assert_null(collect_token(&p));
	cr_assert_null(collect_token(&p));
}

Test(collect_file, line)
{
	char	 buf[] = "a b\n\nlast", *p = buf;
	char	 nl[] = "one\n", *q = nl;
	char	 none[] = "", *r = none;

	cr_assert_str_eq(collect_line(&p), "a b");
	/* an empty line is a line; the end of the buffer is not */
	cr_assert_str_eq(collect_line(&p), "");
	cr_assert_str_eq(collect_line(&p), "last");
	cr_assert_null(collect_line(&p));
	cr_assert_null(collect_line(&p));
	cr_assert_str_eq(collect_line(&q), "one");
	cr_assert_null(collect_line(&q));
	cr_assert_null(collect_line(&r));
}
