/* The growable text buffer. */
#include <criterion/criterion.h>

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
