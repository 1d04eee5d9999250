/*
 * JSON from outside the process into a bounded tree (json_tree.h): what
 * it reads as yajl_tree would, and the hostile documents it refuses
 * before they cost the stack or the heap.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_tree.h"

#define S(x)	(x), strlen(x)

static const struct json_tree_opts lim = { 1 << 24, 32, 1 << 26, 0 };

static yajl_val
parse_ok(const char *text)
{
	yajl_val	 v;
	char		 err[256];

	v = json_tree_parse(S(text), &lim, err, sizeof(err));
	cr_assert_not_null(v, "%s: %s", text, err);
	return v;
}

/* Refused, with `why` in the message. */
static void
parse_fails(const char *text, size_t len, const struct json_tree_opts *l,
    const char *why)
{
	char	 err[256];

	err[0] = '\0';
	cr_assert_null(json_tree_parse(text, len, l, err, sizeof(err)),
	    "accepted: %.60s", text);
	cr_assert(strstr(err, why) != NULL, "\"%s\" does not say \"%s\"", err,
	    why);
}

/* "[[[...]]]" or "/"-less garbage: n opening brackets, closed or not. */
static char *
brackets(const char *head, size_t n, int closed, size_t *len)
{
	size_t	 h = strlen(head);
	char	*p;

	cr_assert_not_null(p = malloc(h + 2 * n + 1));
	memcpy(p, head, h);
	memset(p + h, '[', n);
	*len = h + n;
	if (closed) {
		memset(p + h + n, ']', n);
		*len += n;
	}
	p[*len] = '\0';
	return p;
}

Test(json_tree, reads_what_yajl_tree_reads)
{
	yajl_val	 t, v;

	t = parse_ok("{\"s\":\"a\\u00e9\",\"i\":-42,\"d\":1.5,\"big\":"
	    "99999999999999999999,\"t\":true,\"f\":false,\"n\":null,"
	    "\"a\":[1,[],{}],\"s\":\"dup\"}");
	cr_assert(YAJL_IS_OBJECT(t));
	cr_assert_eq(t->u.object.len, 9);
	cr_assert_str_eq(t->u.object.keys[0], "s");
	cr_assert_str_eq(t->u.object.values[0]->u.string, "a\xc3\xa9");
	v = t->u.object.values[1];
	cr_assert(YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) == -42);
	cr_assert_str_eq(v->u.number.r, "-42");
	v = t->u.object.values[2];
	cr_assert(YAJL_IS_DOUBLE(v) && !YAJL_IS_INTEGER(v));
	cr_assert_eq(v->u.number.d, 1.5);
	v = t->u.object.values[3];
	cr_assert(!YAJL_IS_INTEGER(v) && YAJL_IS_DOUBLE(v),
	    "beyond long long is no integer");
	cr_assert(YAJL_IS_TRUE(t->u.object.values[4]));
	cr_assert(YAJL_IS_FALSE(t->u.object.values[5]));
	cr_assert(YAJL_IS_NULL(t->u.object.values[6]));
	v = t->u.object.values[7];
	cr_assert(YAJL_IS_ARRAY(v) && v->u.array.len == 3);
	cr_assert(YAJL_IS_ARRAY(v->u.array.values[1]) &&
	    v->u.array.values[1]->u.array.len == 0);
	cr_assert(YAJL_IS_OBJECT(v->u.array.values[2]));
	cr_assert_str_eq(t->u.object.values[8]->u.string, "dup");
	json_tree_free(t);

	t = parse_ok(" \"top\" ");
	cr_assert(YAJL_IS_STRING(t));
	json_tree_free(t);
	t = parse_ok("7");
	cr_assert(YAJL_IS_INTEGER(t) && t->u.number.i == 7);
	json_tree_free(t);
	json_tree_free(NULL);
}

Test(json_tree, grows_wide_containers)
{
	char		*p;
	size_t		 i, n = 5000, off;
	yajl_val	 t;

	cr_assert_not_null(p = malloc(n * 24 + 16));
	off = 0;
	p[off++] = '{';
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(p + off, "%s\"k%zu\":%zu", i ? "," : "",
		    i, i);
	p[off++] = '}';
	p[off] = '\0';
	t = parse_ok(p);
	cr_assert_eq(t->u.object.len, n);
	cr_assert_str_eq(t->u.object.keys[4321], "k4321");
	cr_assert_eq(t->u.object.values[4321]->u.number.i, 4321);
	json_tree_free(t);
	free(p);
}

Test(json_tree, syntax_errors_name_the_byte)
{
	parse_fails(S(""), &lim, "empty document");
	parse_fails(S("{\"a\":"), &lim, "invalid JSON at byte 5: parse error");
	parse_fails(S("<html>"), &lim, "invalid JSON at byte 0: lexical error");
	parse_fails(S("{} x"), &lim, "invalid JSON at byte 3");
	parse_fails(S("[1] [2]"), &lim, "invalid JSON at byte 4");
	parse_fails(S("\"\xff\""), &lim, "invalid JSON at byte");
	parse_fails("[1]\0[2]", 7, &lim, "invalid JSON at byte 3: NUL byte");
}

/*
 * The registry finding: a '"' inside a comment fooled a nesting check
 * that did not know comments, and yajl_tree_free() then recursed 300 000
 * levels deep.  Comments are not JSON: refused unless the caller asks
 * for them, and then the parser that skips them counts the levels.
 */
Test(json_tree, comments)
{
	struct json_tree_opts	 l = lim;
	yajl_val		 t;
	char			*p, err[256];
	size_t			 len;

	parse_fails(S("/*\"*/[1]"), &lim, "invalid JSON at byte 0: lexical "
	    "error: probable comment found");
	parse_fails(S("[1, // x\n 2]"), &lim, "comments are not enabled");
	p = brackets("/*\"*/", 300000, 1, &len);
	parse_fails(p, len, &lim, "comment");

	l.comments = 1;
	parse_fails(p, len, &l, "invalid JSON at byte 37: nested more than "
	    "32 levels deep");
	free(p);
	p = brackets("// \"\n", 300000, 1, &len);
	parse_fails(p, len, &l, "nested more than 32 levels deep");
	free(p);
	t = json_tree_parse(S("/* \"[[[ */ [1, // ]]]\"\n 2]"), &l, err,
	    sizeof(err));
	cr_assert_not_null(t, "%s", err);
	cr_assert(YAJL_IS_ARRAY(t) && t->u.array.len == 2);
	json_tree_free(t);
}

Test(json_tree, nesting_bounded)
{
	struct json_tree_opts	 l = lim;
	yajl_val		 t;
	char			*p, err[256];
	size_t			 len;

	l.max_depth = 3;
	t = json_tree_parse(S("[{\"a\":[1]}]"), &l, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	json_tree_free(t);
	parse_fails(S("[{\"a\":[[1]]}]"), &l, "invalid JSON at byte 7: nested "
	    "more than 3 levels deep");
	/* brackets in strings are text */
	t = json_tree_parse(S("[\"[[[[[[[[\"]"), &l, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	json_tree_free(t);

	/* closed or not, a million levels stop at the limit */
	p = brackets("", 1000000, 1, &len);
	parse_fails(p, len, &lim, "invalid JSON at byte 32: nested more than "
	    "32 levels deep");
	free(p);
	p = brackets("", 5000000, 0, &len);
	parse_fails(p, len, &lim, "nested more than 32 levels deep");
	free(p);
}

Test(json_tree, memory_bounded)
{
	struct json_tree_opts	 l = lim;
	char			*p;
	size_t			 i, n = 200000;

	/* 400 kB of "0," is 200 000 values: some 10 MB of tree */
	cr_assert_not_null(p = malloc(2 * n + 2));
	p[0] = '[';
	for (i = 0; i < n; i++) {
		p[1 + 2 * i] = '0';
		p[2 + 2 * i] = ',';
	}
	p[2 * n] = ']';
	p[2 * n + 1] = '\0';
	l.max_mem = 1 << 20;
	parse_fails(p, 2 * n + 1, &l, "would take more than 1048576 bytes of "
	    "memory");
	l.max_mem = 64 << 20;
	json_tree_free(parse_ok(p));
	free(p);

	/* long strings count too */
	l.max_mem = 4096;
	cr_assert_not_null(p = malloc(8192));
	memset(p, 'x', 8192);
	p[0] = '"';
	p[8190] = '"';
	p[8191] = '\0';
	parse_fails(p, 8191, &l, "would take more than 4096 bytes");
	l.max_len = 100;
	parse_fails(p, 8191, &l, "8191 bytes, more than 100");
	free(p);
}

/* The tree holds C strings of UTF-8: nothing may cut or break them. */
Test(json_tree, strings_must_be_c_strings_of_utf8)
{
	yajl_val	 t;

	parse_fails(S("[\"a\\u0000b\"]"), &lim, "a string holds \\u0000");
	parse_fails(S("{\"a\\u0000b\":1}"), &lim, "holds \\u0000");
	/* half a surrogate pair, either half: yajl makes "?" of a high one */
	parse_fails(S("[\"\\udc00\"]"), &lim, "invalid JSON at byte 2: "
	    "\"\\udc00\" is half of a surrogate pair, not a character");
	parse_fails(S("{\"\\udc00\":1}"), &lim, "half of a surrogate pair");
	parse_fails(S("[\"ab\\uD800\"]"), &lim, "at byte 4: \"\\uD800\" is "
	    "half");
	parse_fails(S("[\"\\ud800\\u0041\"]"), &lim, "\"\\ud800\" is half");
	parse_fails(S("[\"\\ud83d\\ude00\\ude00\"]"), &lim,
	    "at byte 14: \"\\ude00\"");
	/* a pair is fine, and so is a backslash before "ud800" */
	t = parse_ok("[\"\\ud83d\\ude00\"]");
	cr_assert_str_eq(t->u.array.values[0]->u.string, "\xf0\x9f\x98\x80");
	json_tree_free(t);
	t = parse_ok("[\"\\\\ud800\"]");
	cr_assert_str_eq(t->u.array.values[0]->u.string, "\\ud800");
	json_tree_free(t);
}

/*
 * With comments (the registry file) a backslash may stand in a comment,
 * where it is no escape; in a string half a pair is refused the same.
 */
Test(json_tree, comments_are_no_strings_for_the_surrogate_check)
{
	static const struct json_tree_opts c = { 1 << 24, 32, 1 << 26, 1 };
	yajl_val	 t;
	char		 err[256];

	parse_fails(S("/* \\ud800 */ [\"\\udc00\"]"), &c, "at byte 15: "
	    "\"\\udc00\" is half of a surrogate pair");
	parse_fails(S("// \\udc00\n[\"a\\ud800b\"]"), &c, "at byte 13: "
	    "\"\\ud800\"");
	cr_assert_not_null(t = json_tree_parse(S("/* \\ud800 */ [\"ok\"]"), &c,
	    err, sizeof(err)), "%s", err);
	json_tree_free(t);
}
