/* Small shared helpers (util.h). */
#include <criterion/criterion.h>

#include <sys/resource.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

Test(util, tail_append_keeps_the_last_bytes)
{
	char	 buf[4];
	size_t	 len = 0;

	util_tail_append(buf, sizeof(buf), &len, "ab", 2);
	cr_assert_eq(len, 2);
	cr_assert_eq(memcmp(buf, "ab", 2), 0);
	util_tail_append(buf, sizeof(buf), &len, "cd", 2);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(buf, "abcd", 4), 0);
	/* over the cap: the oldest bytes go */
	util_tail_append(buf, sizeof(buf), &len, "e", 1);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(buf, "bcde", 4), 0);
	util_tail_append(buf, sizeof(buf), &len, "fgh", 3);
	cr_assert_eq(memcmp(buf, "efgh", 4), 0);
	/* one piece as long as the cap, or longer */
	util_tail_append(buf, sizeof(buf), &len, "ijkl", 4);
	cr_assert_eq(memcmp(buf, "ijkl", 4), 0);
	util_tail_append(buf, sizeof(buf), &len, "0123456789", 10);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(buf, "6789", 4), 0);
	util_tail_append(buf, sizeof(buf), &len, "", 0);
	cr_assert_eq(memcmp(buf, "6789", 4), 0);
}

/* What was written, read back from the start of fd. */
static size_t
read_back(int fd, char *buf, size_t len)
{
	ssize_t	 n;

	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, buf, len);
	cr_assert_geq(n, 0);
	return (size_t)n;
}

Test(util, writev_all_writes_every_piece_in_order)
{
	char		 path[] = "/tmp/agent-test-writev-XXXXXX", got[64];
	struct iovec	 iov[4];
	int		 fd;

	cr_assert_geq(fd = mkstemp(path), 0);
	cr_assert_eq(unlink(path), 0);
	iov[0] = (struct iovec){ "head", 4 };
	iov[1] = (struct iovec){ "", 0 };	/* an empty piece is skipped */
	iov[2] = (struct iovec){ "-body-", 6 };
	iov[3] = (struct iovec){ "\n", 1 };
	cr_assert_eq(util_writev_all(fd, iov, 4), 0);
	cr_assert_eq(read_back(fd, got, sizeof(got)), 11);
	cr_assert_eq(memcmp(got, "head-body-\n", 11), 0);
	close(fd);
}

/*
 * A short write (the file size limit cuts the first writev) is resumed
 * with what is left, and the error of that second call is the answer:
 * what went first is on disk, whole pieces and the part of the cut one.
 */
Test(util, writev_all_resumes_a_short_write_and_reports_its_error)
{
	char		 path[] = "/tmp/agent-test-writev-XXXXXX", got[64];
	struct iovec	 iov[2];
	struct rlimit	 rl = { 7, 7 };
	int		 fd;

	cr_assert_geq(fd = mkstemp(path), 0);
	cr_assert_eq(unlink(path), 0);
	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	iov[0] = (struct iovec){ "abcd", 4 };
	iov[1] = (struct iovec){ "efghij", 6 };
	errno = 0;
	cr_assert_eq(util_writev_all(fd, iov, 2), -1);
	cr_assert_eq(errno, EFBIG);
	cr_assert_eq(read_back(fd, got, sizeof(got)), 7);
	cr_assert_eq(memcmp(got, "abcdefg", 7), 0);
	close(fd);
}

Test(util, all_digits_wants_one_digit_or_more_and_nothing_else)
{
	cr_assert(util_all_digits("0", 1));
	cr_assert(util_all_digits("1234567890", 10));
	/* only the n bytes count */
	cr_assert(util_all_digits("12x", 2));
	cr_assert(!util_all_digits("12x", 3));
	cr_assert(!util_all_digits("", 0));
	cr_assert(!util_all_digits("-1", 2));
	cr_assert(!util_all_digits(" 1", 2));
	cr_assert(!util_all_digits("1/", 2));
	cr_assert(!util_all_digits("1:", 2));
}

/* A name looked up, or a uid as the master sends one; none past uid_t. */
Test(util, uid_of_a_name_or_a_number)
{
	uid_t	 u = 42;

	cr_assert_eq(util_uid_of("0", &u), 0);
	cr_assert_eq(u, 0);
	cr_assert_eq(util_uid_of("4294967294", &u), 0);
	cr_assert_eq(u, 4294967294U);
	cr_assert_eq(util_uid_of("4294967295", &u), -1, "(uid_t)-1: none");
	cr_assert_eq(util_uid_of("99999999999999999999", &u), -1);
	cr_assert_eq(util_uid_of("root", &u), 0);
	cr_assert_eq(u, 0);
	cr_assert_eq(util_uid_of("no-such-user-xq", &u), -1);
	cr_assert_eq(util_uid_of("", &u), -1);
}
