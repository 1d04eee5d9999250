/* Parsing /post bodies and plugin output into encoded points. */
#include <criterion/criterion.h>

#include <string.h>

#include "buf.h"
#include "points_json.h"

#define NOW	1714538096

static int
parse(const char *body, struct buf *out, struct post_result *res)
{
	buf_init(out);
	return points_json_parse(body, strlen(body), POINTS_JSON_STRICT,
	    "RUN.", "web-01", NOW, FORMAT_LINE, out, 0, res);
}

Test(points_json_strict, good_points_are_encoded)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[{\"name\":\"qps\",\"timestamp\":1714538000,"
	    "\"tags\":{\"port\":\"3306\"},\"value\":12},"
	    "{\"Name\":\"up\",\"value\":true,\"extra\":{\"a\":[1,{\"b\":2}]}}]",
	    &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 2);
	cr_assert_str_eq(out.p,
	    "RUN.qps,host=web-01,port=3306 value=12 1714538000\n"
	    "RUN.up,host=web-01 value=true 1714538096");
	buf_free(&out);
}

Test(points_json_strict, empty_array_is_fine)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[]", &out, &res), 0);
	cr_assert_eq(res.npoints, 0);
	buf_free(&out);
}

Test(points_json_strict, bad_bodies_name_the_point)
{
	static const struct {
		const char	*body;
		long		 index;
		const char	*want;
	} cases[] = {
		{ "{}", -1, "must be a JSON array" },
		{ "[1]", 0, "not an object" },
		{ "[{\"name\":\"a\",\"value\":1},{\"name\":\"b\",\"value\":\"x\"}]",
		    1, "value is a string" },
		{ "[{\"name\":\"a\",\"value\":null}]", 0, "value is null" },
		{ "[{\"name\":\"a b\",\"value\":1}]", 0, "name" },
		{ "[{\"name\":\"a\",\"value\":1,\"timestamp\":1.5}]", 0,
		    "timestamp 1.5 is not an integer" },
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":{\"k\":1}}]", 0,
		    "tag \"k\" is a number" },
		{ "[{\"name\":\"a\",\"value\":[1]}]", 0, "value must not be an "
		    "array" },
		{ "[{\"name\":\"a\",\"value\":1e999}]", 0, "out of range" },
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":5}]", 0,
		    "point 0: tags must be an object" },
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":true}]", 0,
		    "point 0: tags must be an object" },
		{ "[{\"name\":\"a\",\"value\":1},{\"name\":\"b\",\"value\":1,"
		    "\"tags\":\"x\"}]", 1, "point 1: tags must be an object" },
		{ "[{\"name\":\"a\",\"value\":1}", -1, "invalid JSON" },
		{ "[{\"name\":\"a\",\"value\":1}] x", -1, "invalid JSON" },
		{ "[{\"name\":\"\\u00e9\xff\",\"value\":1}]", -1,
		    "invalid JSON" },
		{ "[{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}]", 0,
		    "nesting deeper" },
		/* line protocol: InfluxDB cannot read it back */
		{ "[{\"name\":\"a\",\"value\":1},{\"name\":\"x\",\"value\":1,"
		    "\"tags\":{\"path\":\"C:\\\\\"}}]", 1,
		    "point 1: name \"RUN.x\", tag \"path\": value \"C:\\\\\" ends in "
		    "a backslash, which InfluxDB cannot read in line protocol" },
	};
	struct post_result	 res;
	struct buf		 out;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].body, &out, &res), -1, "%s",
		    cases[i].body);
		cr_assert_eq(res.bad_index, cases[i].index, "%s: index %ld",
		    cases[i].body, res.bad_index);
		cr_assert(strstr(res.err, cases[i].want) != NULL,
		    "%s: \"%s\" lacks \"%s\"", cases[i].body, res.err,
		    cases[i].want);
		cr_assert_eq(res.npoints, 0);
		buf_free(&out);
	}
}

Test(points_json_strict, a_failure_leaves_the_buffer_as_it_was)
{
	const char		*body = "[{\"name\":\"a\",\"value\":1},"
	    "{\"name\":\"b\",\"value\":\"x\"}]";
	struct post_result	 res;
	struct buf		 out;

	buf_init(&out);
	buf_adds(&out, "kept");
	cr_assert_eq(points_json_parse(body, strlen(body), POINTS_JSON_STRICT,
	    "", "h", NOW, FORMAT_LINE, &out, 0, &res), -1);
	cr_assert_eq(res.bad_index, 1);
	cr_assert_eq(out.len, 4);
	cr_assert_str_eq(out.p, "kept");
	buf_free(&out);
}

static int
lenient(const char *body, struct buf *out, struct post_result *res)
{
	buf_init(out);
	return points_json_parse(body, strlen(body), POINTS_JSON_LENIENT,
	    "PLUGIN.mysql.", "web-01", NOW, FORMAT_LINE, out, 0, res);
}

Test(points_json_lenient, good_points_are_prefixed)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(lenient("[{\"name\":\"qps\",\"timestamp\":1714538000,"
	    "\"tags\":{\"port\":\"3306\"},\"value\":12.5},"
	    "{\"name\":\"up\",\"value\":true}]", &out, &res), 0, "%s",
	    res.err);
	cr_assert_eq(res.npoints, 2);
	cr_assert_eq(res.ndropped, 0);
	cr_assert_eq(res.bad_index, -1);
	cr_assert_str_eq(res.err, "");
	cr_assert_str_eq(out.p,
	    "PLUGIN.mysql.qps,host=web-01,port=3306 value=12.5 1714538000\n"
	    "PLUGIN.mysql.up,host=web-01 value=true 1714538096");
	buf_free(&out);
}

/*
 * Every kind of bad point, between good ones: each bad one is dropped
 * (quirk 8: the Go agent skipped the point after a removed one and
 * prefixed the last one twice), the good ones keep their order.
 */
Test(points_json_lenient, bad_points_are_dropped_the_rest_kept)
{
	static const char *const bad[] = {
		"1",
		"\"x\"",
		"null",
		"true",
		"[1,[2,{\"a\":3}]]",
		"{\"name\":\"a b\",\"value\":1}",
		"{\"name\":\"\",\"value\":1}",
		"{\"value\":1}",
		"{\"name\":\"s\",\"value\":\"x\"}",
		"{\"name\":\"s\",\"value\":null}",
		"{\"name\":\"s\",\"value\":{\"deep\":[1,2,{\"x\":[]}]}}",
		"{\"name\":\"s\",\"value\":[1]}",
		"{\"name\":\"s\",\"value\":1,\"timestamp\":1.5}",
		"{\"name\":\"s\",\"value\":1,\"tags\":{\"k\":1}}",
		"{\"name\":\"s\",\"value\":1,\"tags\":{\"k\":{\"x\":[1]}}}",
		"{\"name\":\"s\",\"tags\":{\"k\":[]},\"value\":1}",
		"{\"name\":\"s\",\"value\":1e999}",
		"{\"name\":{\"n\":1},\"value\":1}",
		"{\"name\":\"s\",\"value\":1,\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",
		"{\"name\":\"s\",\"value\":1,\"tags\":{\"k\":\"\"}}",
	};
	struct post_result	 res;
	struct buf		 out, body, want;
	size_t			 i, n = sizeof(bad) / sizeof(bad[0]);

	buf_init(&body);
	buf_init(&want);
	buf_adds(&body, "[");
	for (i = 0; i < n; i++) {
		buf_printf(&body, "{\"name\":\"g%zu\",\"value\":%zu},%s,",
		    i, i, bad[i]);
		buf_printf(&want, "%sPLUGIN.mysql.g%zu,host=web-01 value=%zu "
		    "1714538096", i > 0 ? "\n" : "", i, i);
	}
	buf_adds(&body, "{\"name\":\"last\",\"value\":-1}]");
	buf_adds(&want, "\nPLUGIN.mysql.last,host=web-01 value=-1 1714538096");
	cr_assert_eq(lenient(body.p, &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, n + 1, "%zu points", res.npoints);
	cr_assert_eq(res.ndropped, n, "%zu dropped", res.ndropped);
	cr_assert_str_eq(out.p, want.p);
	/* the first bad point's reason is kept */
	cr_assert_eq(res.bad_index, 1);
	cr_assert(strstr(res.err, "point 1: not an object") != NULL, "%s",
	    res.err);
	buf_free(&out);
	buf_free(&body);
	buf_free(&want);
}

Test(points_json_lenient, garbage_fails_as_a_whole)
{
	static const char *const cases[] = {
		"Traceback (most recent call last):",
		"{\"name\":\"a\",\"value\":1}",
		"[{\"name\":\"a\",\"value\":1},",
		"[{\"name\":\"a\",\"value\":1}] trailing",
		"[{\"name\":\"a\",\"value\":1}][]",
		"\"x\"",
		"[{\"name\":\"a\",\"value\":\"bad\"},{\"name\":\"b\",\"value\":1",
	};
	struct post_result	 res;
	struct buf		 out;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(lenient(cases[i], &out, &res), -1, "%s",
		    cases[i]);
		cr_assert_eq(res.npoints, 0);
		cr_assert_eq(res.ndropped, 0);
		cr_assert_eq(res.bad_index, -1, "%s", cases[i]);
		cr_assert(res.err[0] != '\0');
		cr_assert_eq(out.len, 0, "%s", cases[i]);
		buf_free(&out);
	}
}

Test(points_json_lenient, all_bad_is_not_a_failure)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(lenient("[{\"name\":\"a b\",\"value\":1},2]", &out,
	    &res), 0);
	cr_assert_eq(res.npoints, 0);
	cr_assert_eq(res.ndropped, 2);
	cr_assert(strstr(res.err, "point 0: name") != NULL, "%s", res.err);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
}

Test(points_json_lenient, endless_nesting_in_a_point_is_refused)
{
	struct post_result	 res;
	struct buf		 out, body;
	int			 i;

	buf_init(&body);
	buf_adds(&body, "[{\"name\":\"a\",\"value\":");
	for (i = 0; i < 5000; i++)
		buf_addc(&body, '[');
	for (i = 0; i < 5000; i++)
		buf_addc(&body, ']');
	buf_adds(&body, "}]");
	cr_assert_eq(lenient(body.p, &out, &res), -1);
	cr_assert(strstr(res.err, "nesting deeper") != NULL, "%s", res.err);
	buf_free(&out);
	buf_free(&body);
}

/* The lodastack json body holds any tag value; only line is checked. */
Test(points_json_strict, trailing_backslash_is_fine_in_json)
{
	static const char	 body[] = "[{\"name\":\"x\",\"value\":1,"
	    "\"tags\":{\"path\":\"C:\\\\\"}}]";
	struct post_result	 res;
	struct buf		 out;

	buf_init(&out);
	cr_assert_eq(points_json_parse(body, strlen(body), POINTS_JSON_STRICT,
	    "RUN.", "web-01", NOW, FORMAT_JSON, &out, 0, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 1);
	buf_free(&out);
}

/*
 * One rule for /post and /write (points_line.h): any finite number is
 * taken, rounded to the nearest double, subnormals and numbers below them
 * included; beyond the double range is an error.  strtod() says ERANGE
 * for both ends: only overflow may refuse a point.
 */
Test(points_json_strict, subnormals_are_numbers)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[{\"name\":\"a\",\"value\":1e-310},"
	    "{\"name\":\"b\",\"value\":7e-317},"
	    "{\"name\":\"c\",\"value\":-5e-324},"
	    "{\"name\":\"d\",\"value\":2.2250738585072011e-308},"
	    "{\"name\":\"e\",\"value\":1e-400}]", &out, &res), 0, "%s",
	    res.err);
	cr_assert_eq(res.npoints, 5);
	cr_assert_str_eq(out.p,
	    "RUN.a,host=web-01 value=1e-310 1714538096\n"
	    "RUN.b,host=web-01 value=7e-317 1714538096\n"
	    "RUN.c,host=web-01 value=-5e-324 1714538096\n"
	    "RUN.d,host=web-01 value=2.225073858507201e-308 1714538096\n"
	    "RUN.e,host=web-01 value=0 1714538096");
	buf_free(&out);
	/* -0 is a float, as /write reads it: and stays -0 */
	cr_assert_eq(parse("[{\"name\":\"z\",\"value\":-0},"
	    "{\"name\":\"y\",\"value\":0}]", &out, &res), 0, "%s", res.err);
	cr_assert_str_eq(out.p, "RUN.z,host=web-01 value=-0 1714538096\n"
	    "RUN.y,host=web-01 value=0 1714538096");
	buf_free(&out);
	cr_assert_eq(parse("[{\"name\":\"a\",\"value\":-1.8e308}]", &out,
	    &res), -1);
	cr_assert_str_eq(res.err, "point 0: value -1.8e308 is out of range");
	buf_free(&out);
}

/*
 * Messages go into a JSON answer (and, lenient, into /plugins/list and
 * the log): what the client sent is quoted printably.  "\udc00" decodes
 * to ED B0 80, which is not UTF-8; it once went into the 400 as it was.
 */
Test(points_json_strict, messages_are_printable_utf8)
{
	static const struct {
		const char	*body;
		const char	*want;
	} cases[] = {
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":{\"\\udc00\":null}}]",
		    "invalid JSON at byte 32: \"\\udc00\" is half of a "
		    "surrogate pair, not a character" },
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":{\"a\\nb\":[]}}]",
		    "point 0: tag \"a\\nb\" is an array, not a string" },
		{ "[{\"name\":\"a\",\"value\":1,"
		    "\"tags\":{\"k\\u0000\":\"v\"}}]",
		    "point 0: tag \"k\\x00\": holds a NUL byte" },
		{ "[{\"name\":\"a\",\"value\":1,"
		    "\"tags\":{\"k\":\"v\\u0000\"}}]",
		    "point 0: tag \"k\": holds a NUL byte" },
		{ "[{\"name\":\"a\\u0000\",\"value\":1}]",
		    "point 0: name holds a NUL byte" },
		/* yajl ends its messages with a newline */
		{ "[", "invalid JSON at byte 1: parse error: premature EOF" },
	};
	struct post_result	 res;
	struct buf		 out;
	size_t			 i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].body, &out, &res), -1);
		cr_assert_str_eq(res.err, cases[i].want);
		for (j = 0; res.err[j] != '\0'; j++)
			cr_assert((unsigned char)res.err[j] >= 0x20 &&
			    (unsigned char)res.err[j] < 0x7f, "%s", res.err);
		buf_free(&out);
	}
}

/*
 * Integers of every length about the parser's short cut (18 digits) and
 * the int64 limits: the same values whichever way they were read.
 */
Test(points_json_strict, integers_of_every_length)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[{\"name\":\"a\",\"value\":999999999999999999},"
	    "{\"name\":\"b\",\"value\":-999999999999999999},"
	    "{\"name\":\"c\",\"value\":1000000000000000000},"
	    "{\"name\":\"d\",\"value\":9223372036854775807},"
	    "{\"name\":\"e\",\"value\":-9223372036854775808},"
	    "{\"name\":\"f\",\"value\":9223372036854775808},"
	    "{\"name\":\"g\",\"value\":-0},"
	    "{\"name\":\"h\",\"value\":7,\"timestamp\":-5},"
	    "{\"name\":\"i\",\"value\":1,\"timestamp\":1714538000123}]",
	    &out, &res), 0, "%s", res.err);
	cr_assert_str_eq(out.p,
	    "RUN.a,host=web-01 value=999999999999999999 1714538096\n"
	    "RUN.b,host=web-01 value=-999999999999999999 1714538096\n"
	    "RUN.c,host=web-01 value=1000000000000000000 1714538096\n"
	    "RUN.d,host=web-01 value=9223372036854775807 1714538096\n"
	    "RUN.e,host=web-01 value=-9223372036854775808 1714538096\n"
	    "RUN.f,host=web-01 value=9223372036854776000 1714538096\n"
	    "RUN.g,host=web-01 value=-0 1714538096\n"
	    "RUN.h,host=web-01 value=7 1714538096\n"
	    "RUN.i,host=web-01 value=1 1714538000");
	buf_free(&out);
}

/*
 * The Go agent's Metric has `json:"tags"` without omitempty: a Go client
 * or plugin with nil Tags sends "tags":null, which Go took as no tags.
 */
Test(points_json_strict, null_tags_are_no_tags)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[{\"name\":\"a\",\"value\":1,\"tags\":null,"
	    "\"timestamp\":1714538000}]", &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 1);
	cr_assert_str_eq(out.p, "RUN.a,host=web-01 value=1 1714538000");
	buf_free(&out);
}

/*
 * Any finite decimal, as the README says and /write takes: a long one
 * (digits past what a double holds, or many zeros) is no error.
 */
Test(points_json_strict, long_decimals_are_numbers)
{
	struct post_result	 res;
	struct buf		 out, body;
	size_t			 i;

	buf_init(&body);
	buf_adds(&body, "[{\"name\":\"a\",\"value\":0.");
	for (i = 0; i < 300; i++)
		buf_addc(&body, '0');
	buf_adds(&body, "15},{\"name\":\"b\",\"value\":1.");
	for (i = 0; i < 100; i++)
		buf_addc(&body, '0');
	buf_adds(&body, "1},{\"name\":\"c\",\"value\":1");
	for (i = 0; i < 70; i++)
		buf_addc(&body, '0');
	buf_adds(&body, "}]");
	cr_assert(!buf_failed(&body));
	cr_assert_eq(parse(body.p, &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 3);
	cr_assert_str_eq(out.p,
	    "RUN.a,host=web-01 value=1.5e-301 1714538096\n"
	    "RUN.b,host=web-01 value=1 1714538096\n"
	    "RUN.c,host=web-01 value=1e+70 1714538096");
	buf_free(&out);
	buf_free(&body);
}

/* Past outmax the parse stops, a whole-body failure in either mode. */
Test(points_json, stops_at_outmax)
{
	const char		*body = "[{\"name\":\"a\",\"value\":1},"
	    "{\"name\":\"b\",\"value\":2},{\"name\":\"c\",\"value\":3}]";
	struct post_result	 res;
	struct buf		 out;
	int			 mode;

	for (mode = 0; mode < 2; mode++) {
		buf_init(&out);
		buf_adds(&out, "kept");
		cr_assert_eq(points_json_parse(body, strlen(body), mode ?
		    POINTS_JSON_LENIENT : POINTS_JSON_STRICT, "", "h", NOW,
		    FORMAT_LINE, &out, 40, &res), -1);
		cr_expect(res.toobig);
		cr_expect_eq(res.npoints, 0);
		cr_expect_eq(res.bad_index, -1);
		cr_expect(strstr(res.err, "more than 40 bytes") != NULL, "%s",
		    res.err);
		cr_expect_str_eq(out.p, "kept");
		buf_free(&out);
	}
	buf_init(&out);
	cr_assert_eq(points_json_parse(body, strlen(body), POINTS_JSON_STRICT,
	    "", "h", NOW, FORMAT_LINE, &out, 4096, &res), 0, "%s", res.err);
	cr_expect_eq(res.npoints, 3);
	buf_free(&out);
}

/*
 * yajl decodes "\ud800" with no low half after it into "?": a client's
 * tag changed without a word.  /post refuses the body, naming the byte;
 * a plugin's output keeps yajl's "?" (its points are each its own).
 */
Test(points_json_strict, half_a_surrogate_pair_is_refused)
{
	static const char	 body[] = "[{\"name\":\"x\",\"value\":1,"
	    "\"tags\":{\"t\":\"a\\ud800b\"}}]";
	static const char	 pair[] = "[{\"name\":\"x\",\"value\":1,"
	    "\"tags\":{\"t\":\"\\ud83d\\ude00\"}}]";
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse(body, &out, &res), -1);
	cr_assert_str_eq(res.err, "invalid JSON at byte 37: \"\\ud800\" is "
	    "half of a surrogate pair, not a character");
	cr_assert_eq(res.bad_index, -1);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
	cr_assert_eq(parse(pair, &out, &res), 0, "%s", res.err);
	cr_assert(strstr(out.p, "t=\xf0\x9f\x98\x80") != NULL, "%s", out.p);
	buf_free(&out);
	cr_assert_eq(lenient(body, &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 1);
	cr_assert(strstr(out.p, "t=a?b") != NULL, "%s", out.p);
	buf_free(&out);
}

/*
 * A body read plain until a string with an escape (json_fast.h): what the
 * plain reader made of its first points is undone, and yajl reads the
 * whole of it again, so nothing is there twice, in either mode.
 */
Test(points_json, a_body_plain_up_to_an_escape_is_read_once)
{
	static const char	 body[] = "[{\"name\":\"a\",\"value\":1},"
	    "{\"name\":\"bad\",\"value\":\"x\"},"
	    "{\"name\":\"b\",\"tags\":{\"k\":\"v\\u0041\"},\"value\":2}]";
	struct post_result	 res;
	struct buf		 out;

	buf_init(&out);
	buf_adds(&out, "before");
	cr_assert_eq(points_json_parse(body, strlen(body),
	    POINTS_JSON_LENIENT, "RUN.", "web-01", NOW, FORMAT_LINE, &out, 0,
	    &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 2);
	cr_assert_eq(res.ndropped, 1);
	cr_assert(strstr(res.err, "point 1: value is a string") == res.err,
	    "%s", res.err);
	cr_assert_str_eq(out.p, "before"
	    "RUN.a,host=web-01 value=1 1714538096\n"
	    "RUN.b,host=web-01,k=vA value=2 1714538096");
	buf_free(&out);

	buf_init(&out);
	cr_assert_eq(points_json_parse(body, strlen(body), POINTS_JSON_STRICT,
	    "RUN.", "web-01", NOW, FORMAT_LINE, &out, 0, &res), -1);
	cr_assert_eq(res.npoints, 0);
	cr_assert_eq(res.bad_index, 1);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
}
