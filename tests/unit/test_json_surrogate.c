/* json_surrogate.c: escapes of half a surrogate pair, found by offset. */
#include <criterion/criterion.h>

#include <string.h>

#include "json_surrogate.h"

static size_t
at(const char *s)
{
	return json_lone_surrogate(s, strlen(s), 0);
}

/* The same, for a text that may hold comments. */
static size_t
at_c(const char *s)
{
	return json_lone_surrogate(s, strlen(s), 1);
}

Test(json_surrogate, lone_halves_are_found_by_offset)
{
	cr_assert_eq(at("\"\\ud800\""), 1);
	cr_assert_eq(at("\"\\uDBFF\""), 1);
	cr_assert_eq(at("\"\\udc00\""), 1);
	cr_assert_eq(at("\"\\uDFFF\""), 1);
	cr_assert_eq(at("\"ok\\n\\ud800x\""), 5);
	/* high then not a low half: the high one is named */
	cr_assert_eq(at("\"\\ud800\\ud800\\udc00\""), 1);
	cr_assert_eq(at("\"\\ud800\\u0041\""), 1);
	/* a pair, then a low half of its own */
	cr_assert_eq(at("\"\\ud83d\\ude00\\ude00\""), 13);
	/* the text ends inside the pair */
	cr_assert_eq(at("\"\\ud800\\u"), 1);
	cr_assert_eq(at("\\ud800"), 0);
}

Test(json_surrogate, everything_else_is_none)
{
	cr_assert_eq(at(""), JSON_SURROGATE_NONE);
	cr_assert_eq(at("[1,2,\"plain\"]"), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\"\\ud83d\\ude00\""), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\"\\uD83D\\uDE00\\u00e9\\ud7ff\\ue000\""),
	    JSON_SURROGATE_NONE);
	/* an escaped backslash, then the text "ud800" */
	cr_assert_eq(at("\"\\\\ud800\""), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\"\\\\\\\\ud800\""), JSON_SURROGATE_NONE);
	/* bad or cut escapes are the parser's to name */
	cr_assert_eq(at("\"\\u12"), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\"\\uzzzz\""), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\\"), JSON_SURROGATE_NONE);
	cr_assert_eq(at("\"\\u"), JSON_SURROGATE_NONE);
}

/* With comments: a backslash in a comment is no escape; in a string it is. */
Test(json_surrogate, comments_are_told_from_strings)
{
	cr_assert_eq(at_c("/* \\ud800 */ [\"ok\"]"), JSON_SURROGATE_NONE);
	cr_assert_eq(at_c("// \\ud800\n[\"ok\"]"), JSON_SURROGATE_NONE);
	cr_assert_eq(at_c("/* \\ud800 */ [\"a\\ud800\"]"), 16);
	cr_assert_eq(at_c("// x\n{\"k\": \"\\udc00\"}"), 12);
	/* a quote or a comment opener inside a string is the string's */
	cr_assert_eq(at_c("[\"/* \\\" */\", \"\\ud800\"]"), 14);
	cr_assert_eq(at_c("[\"//\", \"\\ud800\"]"), 8);
	/* an unclosed comment ends the text */
	cr_assert_eq(at_c("[1] /* \\ud800"), JSON_SURROGATE_NONE);
	cr_assert_eq(at_c("[\"\\ud83d\\ude00\"] // \\ud800"),
	    JSON_SURROGATE_NONE);
	/* every lone half is found the same in both */
	cr_assert_eq(at_c("\"\\ud800\\u0041\""), 1);
	cr_assert_eq(at_c("\"\\ud83d\\ude00\\ude00\""), 13);
}
