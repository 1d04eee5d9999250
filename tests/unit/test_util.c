/* Small shared helpers (util.h). */
#include <criterion/criterion.h>

#include <string.h>

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
