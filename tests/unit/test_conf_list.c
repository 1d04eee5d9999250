/*
 * conf_parse_list: the one parser of list values ([ "a", "b" ] as the seed
 * file writes them, [] and a bare word), and its errors.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "master/conf_list.h"

static struct strlist	 l;
static char		 err[256];

static void
list_ok(const char *raw, size_t n, const char *const *want)
{
	size_t	 i;

	err[0] = '\0';
	cr_assert_eq(conf_parse_list(raw, &l, err, sizeof(err)), 0,
	    "%s: %s", raw, err);
	cr_assert_eq(l.n, n, "%s: %zu elements, want %zu", raw, l.n, n);
	for (i = 0; i < n; i++)
		cr_expect_str_eq(l.v[i], want[i], "%s: element %zu", raw, i);
	strlist_free(&l);
}

static void
list_bad(const char *raw, const char *why)
{
	err[0] = '\0';
	cr_assert_eq(conf_parse_list(raw, &l, err, sizeof(err)), -1,
	    "%s: accepted", raw);
	cr_expect(strstr(err, why) != NULL, "%s: error \"%s\", want \"%s\"",
	    raw, err, why);
	/* nothing to free after a failure */
	cr_expect_eq(l.n, 0);
	cr_expect_null(l.v);
}

Test(conf_list, seed_forms)
{
	list_ok("[ \"eth\" ]", 1, (const char *[]){ "eth" });
	list_ok("[ \"0.0.0.0:7777\" ]", 1, (const char *[]){ "0.0.0.0:7777" });
	list_ok("[ \"eth\", \"em\", \"bond\" ]", 3,
	    (const char *[]){ "eth", "em", "bond" });
}

Test(conf_list, spacing_and_quotes)
{
	list_ok("[\"a\",\"b\"]", 2, (const char *[]){ "a", "b" });
	list_ok("\t[\t\"a\" ,\t\"b\"\t]\t", 2, (const char *[]){ "a", "b" });
	list_ok("[ 'a', \"b\" ]", 2, (const char *[]){ "a", "b" });
	list_ok("[ \"a b\" ]", 1, (const char *[]){ "a b" });
	list_ok("[ 'say \"hi\"' ]", 1, (const char *[]){ "say \"hi\"" });
	list_ok("[ \"it's\" ]", 1, (const char *[]){ "it's" });
	list_ok("[ \"a,b\" ]", 1, (const char *[]){ "a,b" });
	list_ok("[ \"a]\" ]", 1, (const char *[]){ "a]" });
}

Test(conf_list, empty_lists)
{
	list_ok("[]", 0, NULL);
	list_ok("[ ]", 0, NULL);
	list_ok("[\t]", 0, NULL);
	list_ok("", 0, NULL);
	list_ok("  ", 0, NULL);
}

Test(conf_list, single_word_shorthand)
{
	list_ok("eth", 1, (const char *[]){ "eth" });
	list_ok("eth  ", 1, (const char *[]){ "eth" });
	list_ok("\"eth\"", 1, (const char *[]){ "eth" });
	list_ok("'eth'", 1, (const char *[]){ "eth" });
	list_ok("tcp://10.0.0.1:4150", 1,
	    (const char *[]){ "tcp://10.0.0.1:4150" });
}

Test(conf_list, trailing_comma_as_toml)
{
	list_ok("[ \"a\", ]", 1, (const char *[]){ "a" });
}

Test(conf_list, unterminated_quote)
{
	list_bad("[ \"eth ]", "unterminated quote");
	list_bad("[ \"a\", \"b ]", "element 2: unterminated quote");
	list_bad("[ 'eth ]", "unterminated quote");
	list_bad("\"eth", "unterminated quote");
}

Test(conf_list, missing_comma)
{
	list_bad("[ \"a\" \"b\" ]", "missing comma after element 1");
	list_bad("[ \"a\", \"b\" \"c\" ]", "missing comma after element 2");
}

Test(conf_list, trailing_text)
{
	list_bad("[ \"a\" ] x", "text after the closing bracket");
	list_bad("[ \"a\" ]]", "text after the closing bracket");
	list_bad("\"a\" b", "text after the value");
}

Test(conf_list, empty_element)
{
	list_bad("[ \"\" ]", "element 1: empty element");
	list_bad("[ \"a\", \"\" ]", "element 2: empty element");
	list_bad("[ \"a\", , \"b\" ]", "element 2: empty element");
	list_bad("[ , ]", "element 1: empty element");
	list_bad("[ '' ]", "empty element");
}

Test(conf_list, missing_bracket)
{
	list_bad("[", "missing closing bracket");
	list_bad("[ \"a\"", "missing closing bracket");
	list_bad("[ \"a\",", "missing closing bracket");
}

Test(conf_list, unquoted_elements)
{
	list_bad("[ eth ]", "element 1: must be quoted");
	list_bad("[ \"a\", b ]", "element 2: must be quoted");
	list_bad("eth em", "a list must be written");
	list_bad("eth,em", "a list must be written");
	list_bad("eth]", "a list must be written");
}

Test(conf_list, too_long_element)
{
	char	 raw[CONF_STR_MAX + 16];

	memset(raw, 'x', sizeof(raw));
	raw[0] = '[';
	raw[1] = '"';
	strcpy(raw + CONF_STR_MAX + 2, "\"]");
	list_bad(raw, "longer than");

	memset(raw, 'x', CONF_STR_MAX);
	raw[CONF_STR_MAX] = '\0';
	list_bad(raw, "longer than");

	/* the longest element that fits */
	memset(raw, 'x', sizeof(raw));
	raw[0] = '[';
	raw[1] = '"';
	strcpy(raw + CONF_STR_MAX + 1, "\"]");
	err[0] = '\0';
	cr_assert_eq(conf_parse_list(raw, &l, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 1);
	cr_expect_eq(strlen(l.v[0]), CONF_STR_MAX - 1);
	strlist_free(&l);
}

Test(conf_list, strlist_helpers)
{
	struct strlist	 a, b;

	strlist_init(&a);
	cr_assert_eq(strlist_add(&a, "one"), 0);
	cr_assert_eq(strlist_add(&a, "two"), 0);
	cr_assert_eq(strlist_copy(&b, &a), 0);
	cr_assert_eq(b.n, 2);
	cr_expect_neq(b.v[0], a.v[0], "copy must not share strings");
	cr_expect_str_eq(b.v[1], "two");
	strlist_free(&a);
	cr_expect_eq(a.n, 0);
	cr_expect_null(a.v);
	cr_expect_str_eq(b.v[0], "one");
	strlist_free(&b);
	/* freeing twice is harmless: free leaves an empty list */
	strlist_free(&b);
}
