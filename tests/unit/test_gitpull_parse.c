/*
 * gitpull_parse.c: what gitpull_op.c reads from git's output, the sizes
 * of ls-tree, a commit id, the origin's URL; hostile text included.  The
 * errors that quote it are tested through a real operation in
 * test_gitpull_ops.c (hostile_output_is_quoted_printable).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "workers/gitpull/gitpull_parse.h"

#define ID	"43bff5099a7d00c8fa2d6f478bab00db0f8527e2"

TestSuite(gitpull_parse, .timeout = 10);

/* The size of `out`, which must read. */
static int64_t
size_of(const char *out)
{
	const char	*bad = NULL;
	int64_t		 size = -1;

	cr_assert_eq(gitpull_parse_tree_size(out, &size, &bad), 0,
	    "\"%s\" refused at \"%s\"", out, bad);
	return size;
}

/* The offset of the line of `out` that does not read. */
static long
bad_at(const char *out)
{
	const char	*bad = NULL;
	int64_t		 size;

	cr_assert_eq(gitpull_parse_tree_size(out, &size, &bad), -1,
	    "\"%s\" read", out);
	cr_assert_not_null(bad);
	return (long)(bad - out);
}

#define B	4096	/* GITPULL_ENTRY_BYTES */

Test(gitpull_parse, tree_sizes)
{
	cr_expect_eq(size_of(""), 0);
	/* each file and directory a block at least, rounded up to blocks */
	cr_expect_eq(size_of("0\n"), B);
	cr_expect_eq(size_of("12\n0\n3000\n"), 3 * B);
	cr_expect_eq(size_of("4096\n4097\n"), B + 2 * B);
	/* a submodule: nothing of it is fetched, its empty directory made */
	cr_expect_eq(size_of("12\n-\n30\n"), 3 * B);
	cr_expect_eq(size_of("-\n-\n"), 2 * B);
	cr_expect_eq(size_of("007\n"), B);
	/* near the largest, then over it */
	cr_expect_eq(size_of("9223372036854771712\n"),
	    INT64_C(9223372036854771712));
	cr_expect_eq(size_of("9223372036854771712\n1\n"), INT64_MAX);
	cr_expect_eq(size_of("9223372036854775807\n"), INT64_MAX);
	cr_expect_eq(size_of("1\n9223372036854775807\n"), INT64_MAX);
	/* over int64_t but not unsigned long long, then over both */
	cr_expect_eq(size_of("9223372036854775808\n"), INT64_MAX);
	cr_expect_eq(size_of("18446744073709551615\n"), INT64_MAX);
	cr_expect_eq(size_of("99999999999999999999999999\n"), INT64_MAX);
	/* saturated stays saturated */
	cr_expect_eq(size_of("99999999999999999999999999\n0\n5\n"),
	    INT64_MAX);
}

Test(gitpull_parse, tree_size_bad_lines)
{
	/* each line ends in a newline, the last one too */
	cr_expect_eq(bad_at("12"), 0);
	cr_expect_eq(bad_at("12\n34"), 3);
	cr_expect_eq(bad_at("12\n-"), 3);
	/* strtoull would take a sign or blanks: not a size */
	cr_expect_eq(bad_at("12\n+3\n"), 3);
	cr_expect_eq(bad_at("12\n 3\n"), 3);
	cr_expect_eq(bad_at("-3\n"), 0);
	cr_expect_eq(bad_at("12\n\n"), 3);
	cr_expect_eq(bad_at("1 2\n"), 0);
	cr_expect_eq(bad_at("12\r\n"), 0);
	cr_expect_eq(bad_at("0x10\n"), 0);
	cr_expect_eq(bad_at("1\n2\n--\n3\n"), 4);
	cr_expect_eq(bad_at("1\n\033[31mred\n"), 2);
	/* the bad line comes after a saturated sum: still bad */
	cr_expect_eq(bad_at("99999999999999999999999999\nx\n"), 27);
}

Test(gitpull_parse, commit_ids)
{
	char	 c[64];

	memset(c, 'x', sizeof(c));
	cr_assert_eq(gitpull_parse_commit(ID "\n", c, sizeof(c)), 0);
	cr_expect_str_eq(c, ID);
	memset(c, 'x', sizeof(c));
	cr_assert_eq(gitpull_parse_commit(ID, c, sizeof(c)), 0);
	cr_expect_str_eq(c, ID);
	/* room for the id and its NUL, no more */
	memset(c, 'x', sizeof(c));
	cr_assert_eq(gitpull_parse_commit(ID "\n", c, 41), 0);
	cr_expect_str_eq(c, ID);
	cr_expect_eq(gitpull_parse_commit(ID "\n", c, 40), -1);

	cr_expect_eq(gitpull_parse_commit("", c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit("\n", c, sizeof(c)), -1);
	/* one digit short, one too many, a SHA-256 id */
	cr_expect_eq(gitpull_parse_commit(ID + 1, c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit(ID "0\n", c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit(ID ID "\n", c, sizeof(c)), -1);
	/* git writes lowercase */
	cr_expect_eq(gitpull_parse_commit("43BFF5099A7D00C8FA2D6F478BAB00DB0F85"
	    "27E2\n", c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit(ID " \n", c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit(ID "\r\n", c, sizeof(c)), -1);
	cr_expect_eq(gitpull_parse_commit(" " ID "\n", c, sizeof(c)), -1);
	/* only the first line counts: what follows the newline is not read */
	cr_expect_eq(gitpull_parse_commit(ID "\nmore\n", c, sizeof(c)), 0);
}

Test(gitpull_parse, origin)
{
	const char	*url = "https://git.example.com/grp/proj.git";

	cr_expect(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.git\n", url));
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.git", url));
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.git\n\n", url));
	/* config --get prints one value; two are not ours */
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.git\nhttps://git.example.com/grp/proj.git\n", url));
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.gitx\n", url));
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj\n", url));
	cr_expect_not(gitpull_parse_origin_is("https://git.example.com/grp/"
	    "proj.git \n", url));
	cr_expect_not(gitpull_parse_origin_is("", url));
	cr_expect_not(gitpull_parse_origin_is("\n", url));
	cr_expect(gitpull_parse_origin_is("\n", ""));
	cr_expect_not(gitpull_parse_origin_is("", ""));
}
