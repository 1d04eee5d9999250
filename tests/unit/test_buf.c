/* The growable text buffer. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

Test(buf, append_and_grow)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	buf_adds(&b, "end");
	buf_addc(&b, '!');
	cr_assert(!buf_failed(&b));
	cr_assert_eq(strncmp(b.p, "0,1,2,", 6), 0);
	cr_assert_eq(strcmp(b.p + b.len - 4, "end!"), 0);
	cr_assert_eq(strlen(b.p), b.len);
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.p, "");
	buf_add(&b, "a\0b", 3);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(memcmp(b.p, "a\0b", 4), 0);
	buf_free(&b);
	cr_assert_null(b.p);
}

Test(buf, integers_as_printf_writes_them)
{
	const long long	 v[] = { 0, 1, -1, 9, 10, -10, 1714538096LL,
	    -1714538096LL, 999999999999999999LL, LLONG_MAX, LLONG_MIN };
	struct buf	 b, want;
	char		 tmp[BUF_I64_MAX], one[32];
	const char	*s;
	size_t		 i, len;

	buf_init(&b);
	buf_init(&want);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_add_i64(&b, v[i]);
		buf_addc(&b, ',');
		buf_printf(&want, "%lld,", v[i]);
		/* the string form, which the scheduler's runs use */
		memset(tmp, 'x', sizeof(tmp));
		s = buf_i64_str(tmp, v[i], &len);
		snprintf(one, sizeof(one), "%lld", v[i]);
		cr_assert_str_eq(s, one);
		cr_assert_eq(len, strlen(one));
		cr_assert(s >= tmp && s + len + 1 <= tmp + sizeof(tmp));
	}
	buf_add_u64(&b, ULLONG_MAX);
	buf_printf(&want, "%llu", ULLONG_MAX);
	cr_assert_str_eq(b.p, want.p);
	cr_assert_eq(b.len, want.len);
	buf_free(&b);
	buf_free(&want);
}

Test(buf, a_failed_buffer_takes_nothing_more)
{
	struct buf	 b;
	volatile size_t	 huge = SIZE_MAX - 1;	/* not a constant to gcc */

	buf_init(&b);
	buf_adds(&b, "x");
	/* more than can ever be: the failure sticks */
	cr_assert_eq(buf_reserve(&b, huge), -1);
	cr_assert(buf_failed(&b));
	cr_assert_eq(buf_reserve(&b, 1), -1);
	buf_addc(&b, 'z');
	buf_add_i64(&b, 42);
	cr_assert_eq(b.len, 1);
	cr_assert_str_eq(b.p, "x");
	buf_free(&b);
}
