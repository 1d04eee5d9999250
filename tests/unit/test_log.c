/*
 * The escaping of log lines and of text for a terminal (src/common/log.c):
 * one record is one line, and no text quoted in it (a plugin's stderr, a
 * git server's error, a worker's words) reaches a terminal or log viewer
 * as a control: C0, DEL, and the C1 controls U+0080..U+009F (U+009B is
 * CSI, which terminals take for ESC [), nor as bytes that are not UTF-8
 * (0x9b alone is CSI to a terminal in an 8-bit charset).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "log.h"

/* The escaped message of a log line, from after "]: ". */
static const char *
logged(char *line, size_t len, const char *msg)
{
	const char	*p;

	cr_assert_gt(log_format_line(line, len, LOG_LVL_INFO, "test", 42,
	    msg), 0);
	p = strstr(line, "]: ");
	cr_assert_not_null(p);
	return p + 3;
}

Test(log, c0_and_del_escaped)
{
	char	 out[256], line[512];

	log_escape_all(out, sizeof(out), "a\nb\rc\x1b[31md\x7f\t");
	cr_assert_str_eq(out, "a\\nb\\rc\\x1b[31md\\x7f\\x09");
	/* in a log line a tab is a space */
	cr_assert_str_eq(logged(line, sizeof(line), "a\tb\x1b" "c"),
	    "a b\\x1bc\n");
}

Test(log, c1_controls_escaped)
{
	char	 out[256], line[512];

	/* U+009B (CSI) and U+0085 (NEL) in UTF-8 */
	log_escape_all(out, sizeof(out), "x\xc2\x9b" "31my\xc2\x85z");
	cr_assert_str_eq(out, "x\\xc2\\x9b31my\\xc2\\x85z");
	cr_assert_str_eq(logged(line, sizeof(line), "x\xc2\x9b" "2J"),
	    "x\\xc2\\x9b2J\n");
}

Test(log, bytes_that_are_not_utf8_escaped)
{
	char	 out[256], line[512];

	/* a lone CSI byte, a stray continuation, an overlong '/' */
	log_escape_all(out, sizeof(out), "a\x9b" "2Jb\x80\xc0\xaf");
	cr_assert_str_eq(out, "a\\x9b2Jb\\x80\\xc0\\xaf");
	cr_assert_str_eq(logged(line, sizeof(line), "\x9b" "31m"),
	    "\\x9b31m\n");
	/* a sequence cut at the end */
	log_escape_all(out, sizeof(out), "e\xe2\x82");
	cr_assert_str_eq(out, "e\\xe2\\x82");
}

Test(log, characters_pass_whole)
{
	char	 out[256], line[512];

	/* é, U+00A0 (just above C1), €, an emoji */
	log_escape_all(out, sizeof(out), "caf\xc3\xa9\xc2\xa0\xe2\x82\xac"
	    "\xf0\x9f\x98\x80");
	cr_assert_str_eq(out, "caf\xc3\xa9\xc2\xa0\xe2\x82\xac"
	    "\xf0\x9f\x98\x80");
	cr_assert_str_eq(logged(line, sizeof(line), "\xe2\x82\xac 5"),
	    "\xe2\x82\xac 5\n");
}

Test(log, a_character_is_not_cut)
{
	char	 out[6];

	/* "ab" and a 4-byte character do not fit in 5 bytes and a NUL */
	log_escape_all(out, sizeof(out), "ab\xf0\x9f\x98\x80");
	cr_assert_str_eq(out, "ab");
	/* nor is an escape */
	log_escape_all(out, sizeof(out), "abc\x1b");
	cr_assert_str_eq(out, "abc");
}
