/*
 * The plain JSON reader (src/common/json_fast.c): what it takes, it
 * reads as yajl does, event for event; what it does not, it leaves to
 * yajl.  tests/fuzz/fuzz_json_fast.c compares the two on any input.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "json_events.h"

#define S(lit)	lit, sizeof(lit) - 1

static enum json_fast_status
agree(const char *text, size_t len, int cancel_at)
{
	enum json_fast_status	 st;
	char			 why[512];

	cr_assert_eq(json_events_differ(text, len, cancel_at, &st, why,
	    sizeof(why)), 0, "%.*s: %s", (int)len, text, why);
	return st;
}

Test(json_fast, reads_what_plugins_and_clients_send_as_yajl_does)
{
	static const char *const plain[] = {
		/* a plugin's, as bench/plugins.py writes them */
		"[{\"name\":\"m0\",\"timestamp\":0,\"tags\":{\"slot\":\"0\"},"
		    "\"value\":0},{\"name\":\"m1\",\"timestamp\":0,"
		    "\"tags\":{\"slot\":\"1\"},\"value\":1}]\n",
		/* sdk-go's, pretty-printed */
		"[\r\n  {\r\n    \"name\": \"cpu.idle\",\r\n"
		    "    \"timestamp\": 1714538096,\r\n    \"tags\": "
		    "{\"host\": \"web 1\", \"a\": \"\"},\r\n    \"value\": "
		    "-12.5e+3\r\n  }\r\n]",
		"[]", " [ ] ", "{}", "[[]]", "[{}]", "{\"a\":[]}",
		"[true,false,null]", "{\"\":\"\"}",
		"[0,-0,1,-1,10,0.5,-0.5,1e5,1E5,1e-5,1e+5,2.5E-10,"
		    "123456789012345678901234567890]",
		"\t[ 1 ,\n2 ]\r\n",
		"{\"k\" : \"v\" , \"k\" : [ {\"x\" :null } ] }",
		"\"just a string\"", "true", "null ",
		"[\"~ !#$%&'()*+,-./:;<=>?@[]^_`{|}\"]",
	};
	size_t	 i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		cr_assert_eq(agree(plain[i], strlen(plain[i]), 0),
		    JSON_FAST_OK, "not read plain: %s", plain[i]);
}

Test(json_fast, leaves_to_yajl_what_is_not_plain)
{
	static const struct {
		const char	*text;
		size_t		 len;
	} other[] = {
		/* what only yajl may judge: escapes, bytes past ASCII */
		{ S("[\"a\\\"b\"]") }, { S("[\"\\u00e9\"]") },
		{ S("[\"\xc3\xa9\"]") }, { S("[\"\xff\"]") },
		{ S("[\"a\tb\"]") }, { S("[\"\x7f\"]") },
		{ S("[\"a\0b\"]") }, { S("{\"\\n\":1}") },
		/* grammar errors and the cut short */
		{ S("") }, { S("  ") }, { S("[") }, { S("[1") }, { S("[1,") },
		{ S("[1,]") }, { S("[,1]") }, { S("{,}") }, { S("{\"a\"}") },
		{ S("{\"a\" 1}") }, { S("{\"a\":}") }, { S("{\"a\":1,}") },
		{ S("{1:2}") }, { S("[1 2]") }, { S("[1]]") }, { S("[}") },
		{ S("{]") }, { S("[1] x") }, { S("[1] [2]") }, { S("[\"a") },
		{ S("[01]") }, { S("[1.]") }, { S("[.5]") }, { S("[-]") },
		{ S("[1e]") }, { S("[1e+]") }, { S("[+1]") }, { S("[0x10]") },
		{ S("[1.5.5]") }, { S("[NaN]") }, { S("[Infinity]") },
		{ S("[tru]") }, { S("[truex]") }, { S("[nul]") },
		{ S("[True]") }, { S("['a']") }, { S("[/* c */1]") },
		{ S("[1]\v") }, { S("\f[1]") }, { S("[1]\0") },
		/* a number that ends the text: yajl's to end */
		{ S("1") }, { S("-1.5e3") },
	};
	size_t	 i;

	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		cr_assert_eq(agree(other[i].text, other[i].len, 0),
		    JSON_FAST_NOT_PLAIN, "read as plain: %.*s",
		    (int)other[i].len, other[i].text);
}

Test(json_fast, nesting_past_its_depth_is_left_to_yajl)
{
	char	 deep[2 * (JSON_FAST_DEPTH + 1) + 1];
	size_t	 n = JSON_FAST_DEPTH;

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	cr_assert_eq(agree(deep, 2 * n, 0), JSON_FAST_OK);
	n++;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	cr_assert_eq(agree(deep, 2 * n, 0), JSON_FAST_NOT_PLAIN);
}

/* A callback's 0 stops the plain reader where it stops yajl, each time. */
Test(json_fast, a_callback_that_says_stop_stops_it_where_yajl_stops)
{
	static const char	 body[] = "[{\"name\":\"a\",\"tags\":{\"b\":"
	    "\"c\"},\"value\":true,\"x\":null},[],{},-1.5]";
	int			 at, events = 20;

	for (at = 1; at <= events; at++)
		cr_assert_eq(agree(S(body), at), JSON_FAST_CANCELED,
		    "event %d", at);
	cr_assert_eq(agree(S(body), events + 1), JSON_FAST_OK);
}
