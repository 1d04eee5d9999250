/* Parsing /write bodies (InfluxDB line protocol) into encoded points. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "point.h"
#include "points_line.h"

#define NOW	1714538096

static int
wp_len(const char *body, size_t len, const char *precision,
    enum out_format fmt, struct buf *out, struct post_result *res)
{
	buf_init(out);
	return points_line_parse(body, len, "RUN.", "web-01", NOW, precision,
	    fmt, out, 0, res);
}

static int
wp(const char *body, const char *precision, enum out_format fmt,
    struct buf *out, struct post_result *res)
{
	return wp_len(body, strlen(body), precision, fmt, out, res);
}

/* body -> exactly `want` (line format, default precision). */
static void
expect_lines(const char *body, const char *want, size_t npoints)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(wp(body, NULL, FORMAT_LINE, &out, &res), 0,
	    "%s: %s", body, res.err);
	cr_expect_eq(res.npoints, npoints, "%s: %zu points", body,
	    res.npoints);
	cr_expect_eq(res.bad_index, -1);
	cr_expect_str_eq(out.p != NULL ? out.p : "", want, "%s:\n got %s\n"
	    "want %s", body, out.p, want);
	buf_free(&out);
}

static void
expect_json(const char *body, const char *want)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(wp(body, NULL, FORMAT_JSON, &out, &res), 0,
	    "%s: %s", body, res.err);
	cr_expect_str_eq(out.p, want, "%s:\n got %s\nwant %s", body, out.p,
	    want);
	buf_free(&out);
}

/* body -> -1, bad_index `index`, err containing `want`, nothing out. */
static void
expect_error_len(const char *body, size_t len, long index, const char *want)
{
	struct post_result	 res;
	struct buf		 out;

	buf_init(&out);
	buf_adds(&out, "kept");
	cr_assert_eq(points_line_parse(body, len, "RUN.", "web-01", NOW, NULL,
	    FORMAT_LINE, &out, 0, &res), -1, "%s: accepted", body);
	cr_expect_eq(res.bad_index, index, "%s: index %ld, want %ld", body,
	    res.bad_index, index);
	cr_expect(strstr(res.err, want) != NULL, "%s: \"%s\" lacks \"%s\"",
	    body, res.err, want);
	cr_expect_eq(res.npoints, 0);
	cr_expect_str_eq(out.p, "kept", "%s: out changed to %s", body, out.p);
	buf_free(&out);
}

static void
expect_error(const char *body, long index, const char *want)
{
	expect_error_len(body, strlen(body), index, want);
}

/* ---- the basics ---- */

Test(points_line, single_value_field_is_the_measurement)
{
	expect_lines("cpu,port=3306 value=12 1714538000000000000",
	    "RUN.cpu,host=web-01,port=3306 value=12 1714538000", 1);
	expect_lines("cpu value=1.5",
	    "RUN.cpu,host=web-01 value=1.5 1714538096", 1);
}

Test(points_line, each_field_is_a_point)
{
	expect_lines("cpu,dc=x idle=90,user=5i,value=1,up=t 1714538000000000000",
	    "RUN.cpu.idle,dc=x,host=web-01 value=90 1714538000\n"
	    "RUN.cpu.user,dc=x,host=web-01 value=5 1714538000\n"
	    "RUN.cpu,dc=x,host=web-01 value=1 1714538000\n"
	    "RUN.cpu.up,dc=x,host=web-01 value=true 1714538000", 4);
	/* a lone field that is not "value" keeps its name too */
	expect_lines("mem used=3i",
	    "RUN.mem.used,host=web-01 value=3 1714538096", 1);
	/* a repeated key gives two points, as InfluxDB keeps the last */
	expect_lines("m a=1,a=2",
	    "RUN.m.a,host=web-01 value=1 1714538096\n"
	    "RUN.m.a,host=web-01 value=2 1714538096", 2);
}

Test(points_line, several_lines)
{
	expect_lines("a value=1\nb value=2\nc x=3,y=4\n",
	    "RUN.a,host=web-01 value=1 1714538096\n"
	    "RUN.b,host=web-01 value=2 1714538096\n"
	    "RUN.c.x,host=web-01 value=3 1714538096\n"
	    "RUN.c.y,host=web-01 value=4 1714538096", 4);
}

Test(points_line, empty_bodies_are_fine)
{
	expect_lines("", "", 0);
	expect_lines("\n\n", "", 0);
	expect_lines("# nothing here\n  # nor here\r\n\t\n", "", 0);
}

Test(points_line, host_tag_of_the_line_is_kept)
{
	expect_lines("cpu,host=db-02 value=1",
	    "RUN.cpu,host=db-02 value=1 1714538096", 1);
}

Test(points_line, json_output)
{
	expect_json("cpu,dc=x idle=0.5,n=7i 1714538000000000000",
	    "{\"measurement\":\"RUN.cpu.idle\",\"timestamp\":1714538000,"
	    "\"tags\":{\"dc\":\"x\",\"host\":\"web-01\"},"
	    "\"fields\":{\"value\":0.5}}\n"
	    "{\"measurement\":\"RUN.cpu.n\",\"timestamp\":1714538000,"
	    "\"tags\":{\"dc\":\"x\",\"host\":\"web-01\"},"
	    "\"fields\":{\"value\":7}}");
}

/* ---- value types ---- */

Test(points_line, floats)
{
	expect_lines("m value=1\nm value=1.5\nm value=-1e3\nm value=.5\n"
	    "m value=1.\nm value=1E+2\nm value=2.5e-3\nm value=-0.25\n"
	    "m value=007\nm value=1e21",
	    "RUN.m,host=web-01 value=1 1714538096\n"
	    "RUN.m,host=web-01 value=1.5 1714538096\n"
	    "RUN.m,host=web-01 value=-1000 1714538096\n"
	    "RUN.m,host=web-01 value=0.5 1714538096\n"
	    "RUN.m,host=web-01 value=1 1714538096\n"
	    "RUN.m,host=web-01 value=100 1714538096\n"
	    "RUN.m,host=web-01 value=0.0025 1714538096\n"
	    "RUN.m,host=web-01 value=-0.25 1714538096\n"
	    "RUN.m,host=web-01 value=7 1714538096\n"
	    "RUN.m,host=web-01 value=1e+21 1714538096", 10);
}

/*
 * Integers stay integers: 12345678901234567 is not a double, so a float
 * would come out as ...568.
 */
Test(points_line, integers_and_unsigned)
{
	expect_lines("m value=12345678901234567\n"
	    "m value=12345678901234567i\nm value=-12345678901234567i\n"
	    "m value=12345678901234567u\n"
	    "m value=9223372036854775807i\nm value=-9223372036854775808i\n"
	    "m value=9223372036854775807u\nm value=0u\nm value=0i",
	    "RUN.m,host=web-01 value=12345678901234568 1714538096\n"
	    "RUN.m,host=web-01 value=12345678901234567 1714538096\n"
	    "RUN.m,host=web-01 value=-12345678901234567 1714538096\n"
	    "RUN.m,host=web-01 value=12345678901234567 1714538096\n"
	    "RUN.m,host=web-01 value=9223372036854775807 1714538096\n"
	    "RUN.m,host=web-01 value=-9223372036854775808 1714538096\n"
	    "RUN.m,host=web-01 value=9223372036854775807 1714538096\n"
	    "RUN.m,host=web-01 value=0 1714538096\n"
	    "RUN.m,host=web-01 value=0 1714538096", 9);
}

Test(points_line, booleans_in_every_spelling)
{
	static const char *const trues[] = { "t", "T", "true", "True",
	    "TRUE" };
	static const char *const falses[] = { "f", "F", "false", "False",
	    "FALSE" };
	char	 body[64];
	size_t	 i;

	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "up value=%s", trues[i]);
		expect_lines(body, "RUN.up,host=web-01 value=true 1714538096",
		    1);
		snprintf(body, sizeof(body), "up value=%s", falses[i]);
		expect_lines(body, "RUN.up,host=web-01 value=false 1714538096",
		    1);
	}
	expect_error("up value=tRUE", 0, "line 1: field \"value\": invalid "
	    "value \"tRUE\"");
	expect_error("up value=yes", 0, "invalid value \"yes\"");
}

/* ---- escaping ---- */

Test(points_line, escapes_in_tags)
{
	/* comma, equals sign and space, in keys and in values */
	expect_json("m,a\\,b=x\\,y,c\\=d=x\\=y,e\\ f=x\\ y value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"a,b\":\"x,y\",\"c=d\":\"x=y\",\"e-f\":\"x-y\","
	    "\"host\":\"web-01\"},\"fields\":{\"value\":1}}");
	/* and back out in line protocol, escaped again */
	expect_lines("m,a\\,b=x\\,y,c\\=d=x\\=y value=1",
	    "RUN.m,a\\,b=x\\,y,c\\=d=x\\=y,host=web-01 value=1 1714538096",
	    1);
	/* quotes are plain bytes in tags, not string delimiters */
	expect_json("m,q=\"x\" value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"q\":\"\\\"x\\\"\"},"
	    "\"fields\":{\"value\":1}}");
}

/*
 * As in InfluxDB 1.x: a backslash escapes only the bytes listed for the
 * element; before anything else (another backslash included) it stays.
 */
Test(points_line, backslashes)
{
	/* C:\temp: kept */
	expect_json("m,p=C:\\temp value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"p\":\"C:\\\\temp\"},"
	    "\"fields\":{\"value\":1}}");
	/* a\\b: two backslashes stay two */
	expect_json("m,p=a\\\\b value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"p\":\"a\\\\\\\\b\"},"
	    "\"fields\":{\"value\":1}}");
	/* a\\,b: a backslash, then an escaped comma -> a\,b */
	expect_json("m,p=a\\\\,b value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"p\":\"a\\\\,b\"},"
	    "\"fields\":{\"value\":1}}");
	/* \= is no escape in a measurement: the backslash stays */
	expect_error("a\\=b value=1", 0, "name \"RUN.a\\\\=b\"");
	/*
	 * a\\\<space>: two backslashes, then an escaped blank, trimmed: a tag
	 * value ending in a backslash, which InfluxDB 1.x cannot read in
	 * line protocol; json takes it
	 */
	expect_error("x,a=1 value=1\nm,p=a\\\\\\  value=1", 1,
	    "line 2: name \"RUN.m\", tag \"p\": value \"a\\\\\\\\\" ends in a "
	    "backslash, which InfluxDB cannot read in line protocol");
	expect_json("m,p=a\\\\\\  value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"p\":\"a\\\\\\\\\"},"
	    "\"fields\":{\"value\":1}}");
}

Test(points_line, escapes_in_the_measurement)
{
	/* unescaped, then refused by the name rules: the message shows
	 * what was read */
	expect_error("cpu\\,01 value=1", 0,
	    "line 1: name \"RUN.cpu,01\": only [-_.a-zA-Z0-9] allowed");
	expect_error("cpu\\ 01 value=1", 0, "name \"RUN.cpu 01\"");
	/* a comma ends the measurement, so does a space */
	expect_lines("cpu,k=v value=1",
	    "RUN.cpu,host=web-01,k=v value=1 1714538096", 1);
}

Test(points_line, escapes_in_field_keys)
{
	expect_error("m a\\ b=1", 0, "name \"RUN.m.a b\"");
	expect_error("m a\\,b=1", 0, "name \"RUN.m.a,b\"");
	expect_error("m a\\=b=1", 0, "name \"RUN.m.a=b\"");
	expect_lines("m a_b=1,c-d=2",
	    "RUN.m.a_b,host=web-01 value=1 1714538096\n"
	    "RUN.m.c-d,host=web-01 value=2 1714538096", 2);
}

Test(points_line, quoted_strings_are_read_and_refused)
{
	/* commas, spaces, equals signs and escaped quotes inside the
	 * quotes do not confuse the parser: the error is about the string */
	expect_error("m f=\"a b,c=d\"", 0,
	    "line 1: field \"f\": strings are not accepted as values");
	expect_error("m g=1,f=\"say \\\"hi\\\"\" 1714538000", 0,
	    "field \"f\": strings are not accepted as values");
	expect_error("m f=\"a\\\\\"", 0, "strings are not accepted");
	expect_error("m f=\"\"", 0, "strings are not accepted");
	/* \" does not end it: unterminated */
	expect_error("m f=\"a\\\"", 0, "field \"f\": unterminated string");
	expect_error("m f=\"abc", 0, "unterminated string");
	/* a string cannot go on to the next line */
	expect_error("m f=\"abc\n\" 1", 0, "line 1: field \"f\": "
	    "unterminated string");
}

/* Encoder output read back gives the same encoding. */
Test(points_line, reads_what_the_encoder_writes)
{
	static const char *tags[] = {
		"a,b", "x,y", "c=d", "v=w", "path", "C:\\dir", "bs", "a\\,b",
		"city", "Z\xc3\xbcrich", NULL
	};
	struct post_result	 res;
	struct point		 p;
	struct buf		 enc, out;
	char			 err[256];
	size_t			 i;

	point_init(&p);
	cr_assert_eq(point_set_name(&p, "m.x", 3), 0);
	for (i = 0; tags[i] != NULL; i += 2)
		cr_assert_eq(point_add_tag(&p, tags[i], strlen(tags[i]),
		    tags[i + 1], strlen(tags[i + 1])), 0);
	point_set_float(&p, 2.5);
	p.timestamp = 1714538000;
	cr_assert_eq(point_normalize(&p, NULL, "web-01", NOW, err,
	    sizeof(err)), 0, "%s", err);
	buf_init(&enc);
	encode_point(&enc, FORMAT_LINE, &p);
	buf_init(&out);
	cr_assert_eq(points_line_parse(enc.p, enc.len, "", "other", NOW, "s",
	    FORMAT_LINE, &out, 0, &res), 0, "%s: %s", enc.p, res.err);
	cr_expect_str_eq(out.p, enc.p);
	buf_free(&enc);
	buf_free(&out);
	point_free(&p);
}

Test(points_line, utf8_in_tags)
{
	expect_json("m,city=Z\xc3\xbcrich,"
	    "\xe5\x90\x8d=\xe5\x80\xa4\\ \xf0\x9f\x98\x80 value=1",
	    "{\"measurement\":\"RUN.m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"city\":\"Z\xc3\xbcrich\",\"host\":\"web-01\","
	    "\"\xe5\x90\x8d\":\"\xe5\x80\xa4-\xf0\x9f\x98\x80\"},"
	    "\"fields\":{\"value\":1}}");
	expect_lines("m,city=Z\xc3\xbcrich value=1",
	    "RUN.m,city=Z\xc3\xbcrich,host=web-01 value=1 1714538096", 1);
}

/* ---- timestamps ---- */

Test(points_line, timestamps_by_precision)
{
	static const struct {
		const char	*precision;
		const char	*ts;
		const char	*want;
	} cases[] = {
		{ NULL, "1714538000123456789", "1714538000" },
		{ "", "1714538000999999999", "1714538000" },
		{ "n", "1714538000123456789", "1714538000" },
		{ "ns", "1714538000123456789", "1714538000" },
		{ "u", "1714538000123456", "1714538000" },
		{ "us", "1714538000123456", "1714538000" },
		{ "ms", "1714538000123", "1714538000" },
		{ "s", "1714538000", "1714538000" },
		{ "m", "28575633", "1714537980" },
		{ "h", "476260", "1714536000" },
		/* missing, zero, negative, implausible: now */
		{ "s", NULL, "1714538096" },
		{ NULL, NULL, "1714538096" },
		{ "s", "0", "1714538096" },
		{ "s", "-1714538000", "1714538096" },
		{ NULL, "1714538000", "1714538096" },	/* 1.7 s in ns */
		{ "h", "5", "1714538096" },
	};
	struct post_result	 res;
	struct buf		 out;
	char			 body[128], want[128];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "m value=1%s%s",
		    cases[i].ts != NULL ? " " : "",
		    cases[i].ts != NULL ? cases[i].ts : "");
		snprintf(want, sizeof(want), "RUN.m,host=web-01 value=1 %s",
		    cases[i].want);
		cr_assert_eq(wp(body, cases[i].precision, FORMAT_LINE, &out,
		    &res), 0, "%s: %s", body, res.err);
		cr_expect_str_eq(out.p, want, "%s precision %s", body,
		    cases[i].precision != NULL ? cases[i].precision : "NULL");
		buf_free(&out);
	}
}

Test(points_line, unknown_precision)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(wp("m value=1", "d", FORMAT_LINE, &out, &res), -1);
	cr_expect_eq(res.bad_index, -1);
	cr_expect(strstr(res.err, "precision \"d\"") != NULL, "%s", res.err);
	buf_free(&out);
	cr_expect_eq(points_line_precision_valid(NULL), 0);
	cr_expect_eq(points_line_precision_valid("ms"), 0);
	cr_expect_eq(points_line_precision_valid("MS"), -1);
}

/* ---- line structure ---- */

Test(points_line, crlf_comments_blank_lines_and_spaces)
{
	expect_lines("# header\r\n\r\na value=1\r\n  # indented comment\r\n"
	    "\t\r\n  b value=2   1714538000000000000 \t\r\nc  value=3\r\n",
	    "RUN.a,host=web-01 value=1 1714538096\n"
	    "RUN.b,host=web-01 value=2 1714538000\n"
	    "RUN.c,host=web-01 value=3 1714538096", 3);
	/* no final newline, a lone \r line */
	expect_lines("a value=1\n\r\nb value=2",
	    "RUN.a,host=web-01 value=1 1714538096\n"
	    "RUN.b,host=web-01 value=2 1714538096", 2);
}

Test(points_line, bad_index_counts_data_lines_the_message_all_lines)
{
	expect_error("a value=1\n# comment\n\nb value=x\n", 1,
	    "line 4: field \"value\": invalid value \"x\"");
	expect_error("\r\n\r\nb value=1\r\nc\r\n", 1, "line 4: no fields");
}

/* ---- errors ---- */

Test(points_line, bad_lines_name_the_line_and_the_problem)
{
	static const struct {
		const char	*body;
		long		 index;
		const char	*want;
	} cases[] = {
		/* missing fields */
		{ "cpu", 0, "line 1: no fields" },
		{ "cpu,host=a", 0, "line 1: no fields" },
		{ "cpu,host=a   ", 0, "line 1: no fields" },
		{ "ok value=1\ncpu ", 1, "line 2: no fields" },
		{ "cpu value", 0, "line 1: field \"value\": no '=' after the key" },
		{ "cpu =1", 0, "line 1: empty field key" },
		{ "cpu a=1,", 0, "line 1: empty field key" },
		{ "cpu a=1,,b=2", 0, "line 1: empty field key" },
		{ "cpu a=", 0, "line 1: field \"a\": no value" },
		{ "cpu a=,b=1", 0, "line 1: field \"a\": no value" },
		/* measurement and tags */
		{ ",k=v value=1", 0, "line 1: empty measurement" },
		{ "cpu,=v value=1", 0, "line 1: empty tag key" },
		{ "cpu,k value=1", 0, "line 1: tag \"k\": no '=' after the key" },
		{ "cpu,k=v,j value=1", 0, "tag \"j\": no '=' after the key" },
		{ "cpu,k= value=1", 0, "line 1: tag \"k\": empty value" },
		{ "cpu,k=a=b value=1", 0, "tag \"k\": unescaped '=' in the value" },
		{ "cpu, value=1", 0, "empty tag key" },
		/* bad numbers */
		{ "m value=1.2.3", 0, "line 1: field \"value\": invalid value "
		    "\"1.2.3\": a number (1.5, 12i, 12u) or a boolean is "
		    "required" },
		{ "m value=12x", 0, "invalid value \"12x\"" },
		{ "m value=0x10", 0, "invalid value \"0x10\"" },
		{ "m value=1.5i", 0, "invalid value \"1.5i\"" },
		{ "m value=1e3i", 0, "invalid value \"1e3i\"" },
		{ "m value=-1u", 0, "invalid value \"-1u\"" },
		{ "m value=+1", 0, "invalid value \"+1\"" },
		{ "m value=1e", 0, "invalid value \"1e\"" },
		{ "m value=.", 0, "invalid value \".\"" },
		{ "m value=-", 0, "invalid value \"-\"" },
		{ "m value=i", 0, "invalid value \"i\"" },
		{ "m value=1\\", 0, "invalid value \"1\\\\\"" },
		{ "m value=9223372036854775808i", 0,
		    "integer \"9223372036854775808i\" out of range" },
		{ "m value=-9223372036854775809i", 0, "out of range" },
		{ "m value=9223372036854775808u", 0, "unsigned "
		    "\"9223372036854775808u\" is above 9223372036854775807" },
		{ "m value=18446744073709551616u", 0, "is above" },
		{ "m value=1e999", 0, "\"1e999\" is out of range" },
		{ "m value=-1e999", 0, "is out of range" },
		/* NaN and infinities, in every spelling */
		{ "m value=NaN", 0, "line 1: field \"value\": \"NaN\": NaN and "
		    "infinities are not accepted" },
		{ "m value=nan", 0, "NaN and infinities are not accepted" },
		{ "m value=-nan", 0, "NaN and infinities are not accepted" },
		{ "m value=Inf", 0, "NaN and infinities are not accepted" },
		{ "m value=+inf", 0, "NaN and infinities are not accepted" },
		{ "m value=-Infinity", 0, "NaN and infinities are not accepted" },
		/* a backslash at the end of the line escapes nothing */
		{ "cpu\\", 0, "line 1: backslash at the end of the line" },
		{ "cpu,k=v\\", 0, "backslash at the end of the line" },
		{ "cpu,k\\", 0, "backslash at the end of the line" },
		{ "cpu f\\", 0, "backslash at the end of the line" },
		{ "a value=1\r\ncpu,k=v\\\r\n", 1, "line 2: backslash at the end "
		    "of the line" },
		/* timestamps */
		{ "m value=1 1.5", 0, "line 1: timestamp \"1.5\" is not an "
		    "integer" },
		{ "m value=1 now", 0, "timestamp \"now\" is not an integer" },
		{ "m value=1 99999999999999999999", 0, "timestamp "
		    "\"99999999999999999999\" out of range" },
		{ "m value=1 1714538000 x", 0, "unexpected \"x\" after the "
		    "timestamp" },
		/* strings */
		{ "ok value=1\nok value=2\nm,k=v x=\"up\"", 2,
		    "line 3: field \"x\": strings are not accepted as values" },
		/* the normalizer's verdicts, with the line number */
		{ "m,k=\xff value=1", 0, "line 1: tag \"k\": value \"\\xff\": "
		    "invalid UTF-8" },
		{ "m,\xc3\x28=v value=1", 0, "invalid UTF-8" },
		{ "m,k=a\\ \xed\xa0\x80 value=1", 0, "invalid UTF-8" },
		{ "m\xff value=1", 0, "line 1: name \"RUN.m\\xff\": only "
		    "[-_.a-zA-Z0-9] allowed" },
		{ "m,k=a\x01 value=1", 0, "control character" },
		{ "m,k=v,k=w value=1", 0, "line 1: tag \"k\": duplicate key" },
		{ "m,k=\\  value=1", 0, "tag \"k\": empty value" },
		{ "m\xc3\xa9 value=1", 0, "only [-_.a-zA-Z0-9] allowed" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].body, cases[i].index, cases[i].want);
}

Test(points_line, nul_bytes)
{
	expect_error_len("m value=1\nm\0 value=1", 20, 1, "line 2: NUL byte");
	expect_error_len("m,k=a\0b value=1", 15, 0, "line 1: NUL byte");
}

Test(points_line, too_many_tags)
{
	struct buf	 body;
	int		 i;

	buf_init(&body);
	buf_adds(&body, "m");
	for (i = 0; i < POINT_TAGS_MAX; i++)
		buf_printf(&body, ",t%02d=v", i);
	buf_adds(&body, " value=1");
	/* 64 of them, and no room left for host */
	expect_error(body.p, 0, "line 1: tags: 64 already, no room for "
	    "\"host\"");
	buf_reset(&body);
	buf_adds(&body, "ok value=1\nm");
	for (i = 0; i <= POINT_TAGS_MAX; i++)
		buf_printf(&body, ",t%02d=v", i);
	buf_adds(&body, " value=1");
	expect_error(body.p, 1, "line 2: more than 64 tags");
	buf_free(&body);
}

Test(points_line, long_names_and_tags)
{
	char	 body[1200], big[300];

	memset(big, 'x', 257);
	big[257] = '\0';
	snprintf(body, sizeof(body), "%s value=1", big);
	expect_error(body, 0, "line 1: name \"xxxx");
	expect_error(body, 0, "longer than 256 bytes");
	/* measurement + "." + field over the limit */
	big[250] = '\0';
	snprintf(body, sizeof(body), "%s abcdefgh=1", big);
	expect_error(body, 0, "longer than 256 bytes");
	big[250] = 'x';
	snprintf(body, sizeof(body), "m,%s=v value=1", big);
	expect_error(body, 0, "key longer than 256 bytes");
	snprintf(body, sizeof(body), "m,k=%s value=1", big);
	expect_error(body, 0, "tag \"k\": value longer than 256 bytes");
	/* a long value is read as any other: no length of its own */
	snprintf(body, sizeof(body), "m value=1%s", big);
	expect_error(body, 0, "field \"value\": invalid value \"1xxx");
}

/* A bad line anywhere spoils the whole body: nothing is produced. */
Test(points_line, nothing_from_a_body_with_a_bad_line)
{
	struct post_result	 res;
	struct buf		 out;
	const char		*body = "a value=1\nb value=2\nc value=\"x\"\n";

	buf_init(&out);
	cr_assert_eq(points_line_parse(body, strlen(body), "RUN.", "web-01",
	    NOW,
	    NULL, FORMAT_JSON, &out, 0, &res), -1);
	cr_expect_eq(res.npoints, 0);
	cr_expect_eq(res.bad_index, 2);
	cr_expect(out.len == 0);
	buf_free(&out);
}

/* The rule of /post too (points_json.c): subnormals are numbers. */
Test(points_line, subnormals_are_numbers)
{
	expect_lines("m value=7e-317\nm value=1e-310\nm value=-5e-324\n"
	    "m value=1e-400",
	    "RUN.m,host=web-01 value=7e-317 1714538096\n"
	    "RUN.m,host=web-01 value=1e-310 1714538096\n"
	    "RUN.m,host=web-01 value=-5e-324 1714538096\n"
	    "RUN.m,host=web-01 value=0 1714538096", 4);
}

/* Any finite decimal, however long, as /post takes it. */
Test(points_line, long_decimals_are_numbers)
{
	char	 body[512];

	snprintf(body, sizeof(body), "m value=0.%0300d15", 0);
	expect_lines(body, "RUN.m,host=web-01 value=1.5e-301 1714538096", 1);
	snprintf(body, sizeof(body), "m value=1%0200di", 0);
	expect_error(body, 0, "integer \"1000");
}

Test(points_line, precision_is_quoted_printably)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(wp("m value=1", "\xff\n", FORMAT_LINE, &out, &res), -1);
	cr_expect_str_eq(res.err, "precision \"\\xff\\x0a\": not one of n, "
	    "ns, u, us, ms, s, m, h");
	buf_free(&out);
}

/*
 * A line's tags go into the point of each of its fields: a short body
 * can encode to far more than a frame carries.  The parse stops at
 * outmax, with no more than one point past it in `out`.
 */
Test(points_line, stops_at_outmax)
{
	struct post_result	 res;
	struct buf		 body, out;
	size_t			 i, j;

	buf_init(&body);
	for (j = 0; j < 40; j++) {
		buf_adds(&body, "m,t=");
		for (i = 0; i < 200; i++)
			buf_addc(&body, 'v');
		buf_addc(&body, ' ');
		for (i = 0; i < 250; i++)
			buf_adds(&body, i == 0 ? "a=1" : ",a=1");
		buf_addc(&body, '\n');
	}
	cr_assert(!buf_failed(&body));
	buf_init(&out);
	buf_adds(&out, "kept");
	cr_assert_eq(points_line_parse(body.p, body.len, "RUN.", "web-01",
	    NOW, NULL, FORMAT_LINE, &out, 4096, &res), -1);
	cr_expect(res.toobig);
	cr_expect_eq(res.npoints, 0);
	cr_expect_eq(res.bad_index, -1);
	cr_expect(strstr(res.err, "more than 4096 bytes") != NULL, "%s",
	    res.err);
	cr_expect_str_eq(out.p, "kept");
	/* under the limit, the same body is taken */
	buf_reset(&out);
	cr_assert_eq(points_line_parse(body.p, body.len, "RUN.", "web-01",
	    NOW, NULL, FORMAT_LINE, &out, 0, &res), 0, "%s", res.err);
	cr_expect_eq(res.npoints, 10000);
	cr_expect(!res.toobig);
	buf_free(&body);
	buf_free(&out);
}

/* 63 tags of 250-byte values, then `nfields` fields "f=1". */
static void
wide_line(struct buf *body, int nfields)
{
	int	 i, j;

	buf_addc(body, 'm');
	for (i = 0; i < 63; i++) {
		buf_printf(body, ",t%02d=", i);
		for (j = 0; j < 250; j++)
			buf_addc(body, 'v');
	}
	buf_addc(body, ' ');
	for (i = 0; i < nfields; i++)
		buf_adds(body, i == 0 ? "f=1" : ",f=1");
	buf_addc(body, '\n');
	cr_assert(!buf_failed(body));
}

/*
 * One 19 KB line of 700 fields, each a point repeating 63 long tags,
 * made 11.6 MB of points (a few dozen such requests filled a 1 GiB
 * spool): a line holds at most 256 fields.
 */
Test(points_line, a_line_holds_at_most_256_fields)
{
	struct post_result	 res;
	struct buf		 body, out;

	buf_init(&body);
	buf_adds(&body, "ok value=1\n");
	wide_line(&body, 700);
	cr_assert_eq(wp_len(body.p, body.len, NULL, FORMAT_JSON, &out, &res),
	    -1);
	cr_expect(!res.toobig);
	cr_expect_eq(res.bad_index, 1);
	cr_expect_str_eq(res.err, "line 2: more than 256 fields: each is a "
	    "point of its own, with the line's tags");
	cr_expect_eq(out.len, 0);
	buf_free(&out);
	/* 256 of them in a short line are fine */
	buf_reset(&body);
	buf_adds(&body, "m ");
	buf_adds(&body, "f=1");
	for (int i = 1; i < 256; i++)
		buf_adds(&body, ",f=1");
	cr_assert_eq(wp_len(body.p, body.len, NULL, FORMAT_LINE, &out, &res),
	    0, "%s", res.err);
	cr_expect_eq(res.npoints, 256);
	buf_free(&out);
	buf_free(&body);
}

/*
 * Within 256 fields a line of long tags still makes 250 times its size:
 * a body makes at most 64 times its size in points (1 MiB for a small
 * one), 413 naming the line where it got there.
 */
Test(points_line, points_at_most_64_times_the_body)
{
	struct post_result	 res;
	struct buf		 body, out;
	char			 want[400];

	buf_init(&body);
	buf_adds(&body, "# a comment\n");
	wide_line(&body, 256);
	cr_assert_eq(wp_len(body.p, body.len, NULL, FORMAT_LINE, &out, &res),
	    -1);
	cr_expect(res.toobig);
	cr_expect_eq(res.bad_index, -1);
	cr_expect_eq(out.len, 0);
	snprintf(want, sizeof(want), "line 2: the points of this body take "
	    "more than %zu bytes once encoded, the most a body of %zu bytes "
	    "may make (64 times its size, 1 MiB at least: each field is a "
	    "point with the line's tags); send fewer fields or shorter tags",
	    body.len * 64, body.len);
	cr_expect_str_eq(res.err, want);
	buf_free(&out);
	/* a frame's limit under the body's is the one said */
	buf_init(&out);
	cr_assert_eq(points_line_parse(body.p, body.len, "RUN.", "web-01",
	    NOW, NULL, FORMAT_LINE, &out, 4096, &res), -1);
	cr_expect(res.toobig);
	cr_expect(strstr(res.err, "more than 4096 bytes once encoded, the "
	    "most one request can carry") != NULL, "%s", res.err);
	buf_free(&out);
	/* 40 of its fields fit the 1 MiB a small body may make */
	buf_reset(&body);
	wide_line(&body, 40);
	cr_assert_eq(wp_len(body.p, body.len, NULL, FORMAT_LINE, &out, &res),
	    0, "%s", res.err);
	cr_expect_eq(res.npoints, 40);
	buf_free(&out);
	buf_free(&body);
}
