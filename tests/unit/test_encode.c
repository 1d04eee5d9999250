/* Output encoders (encode.h): Go-compatible JSON and line protocol. */
#include <criterion/criterion.h>

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "encode.h"

#define NOW	1714538096LL

static void
expect_float(double v, const char *want)
{
	struct buf	 b;

	buf_init(&b);
	encode_json_float(&b, v);
	cr_assert(!buf_failed(&b));
	cr_expect_str_eq(b.p, want, "%.17g: got %s, want %s", v, b.p, want);
	buf_free(&b);
}

static void
expect_string(const char *s, size_t len, const char *want)
{
	struct buf	 b;

	buf_init(&b);
	encode_json_string(&b, s, len);
	cr_assert(!buf_failed(&b));
	cr_expect_str_eq(b.p, want, "got %s, want %s", b.p, want);
	buf_free(&b);
}

#define STR(s, want)	expect_string((s), sizeof(s) - 1, (want))

/* A point built through the API and normalized with host web-01. */
static void
mk(struct point *p, const char *name, const char **tags)
{
	point_init(p);
	cr_assert_eq(point_set_name(p, name, strlen(name)), 0);
	for (; tags != NULL && tags[0] != NULL; tags += 2)
		cr_assert_eq(point_add_tag(p, tags[0], strlen(tags[0]),
		    tags[1], strlen(tags[1])), 0);
	point_set_int(p, 0);
	p->timestamp = 0;
}

static void
norm(struct point *p)
{
	char	 err[256];

	cr_assert_eq(point_normalize(p, NULL, "web-01", NOW, err,
	    sizeof(err)), 0, "%s", err);
}

static void
expect_point(enum out_format f, const struct point *p, const char *want)
{
	struct buf	 b;

	buf_init(&b);
	encode_point(&b, f, p);
	cr_assert(!buf_failed(&b));
	cr_expect_str_eq(b.p, want, "got %s, want %s", b.p, want);
	cr_expect_null(memchr(b.p, '\n', b.len));
	buf_free(&b);
}

/* A point with raw (not normalized) name and one tag, for escaping. */
static void
expect_line(const char *name, const char *k, const char *v,
    const char *want)
{
	struct point	 p;

	point_init(&p);
	cr_assert_eq(point_set_name(&p, name, strlen(name)), 0);
	if (k != NULL)
		cr_assert_eq(point_add_tag(&p, k, strlen(k), v, strlen(v)),
		    0);
	point_set_int(&p, 1);
	p.timestamp = NOW;
	expect_point(FORMAT_LINE, &p, want);
	point_free(&p);
}

/* ---- formats ---- */

Test(encode, format_names)
{
	enum out_format	 f;

	cr_assert_str_eq(encode_format_name(FORMAT_JSON), "json");
	cr_assert_str_eq(encode_format_name(FORMAT_LINE), "line");
	cr_assert_eq(encode_format_parse("json", &f), 0);
	cr_assert_eq(f, FORMAT_JSON);
	cr_assert_eq(encode_format_parse("line", &f), 0);
	cr_assert_eq(f, FORMAT_LINE);
	f = FORMAT_LINE;
	cr_assert_eq(encode_format_parse("JSON", &f), -1);
	cr_assert_eq(encode_format_parse("", &f), -1);
	cr_assert_eq(encode_format_parse("json ", &f), -1);
	cr_assert_eq(encode_format_parse("influx", &f), -1);
	cr_assert_eq(encode_format_parse(NULL, &f), -1);
	cr_assert_eq(f, FORMAT_LINE);	/* untouched on error */
}

/* ---- Go's float64 formatting ---- */

Test(encode, go_floats)
{
	expect_float(0.0, "0");
	expect_float(-0.0, "-0");
	expect_float(1.0, "1");
	expect_float(-1.0, "-1");
	expect_float(1.5, "1.5");
	expect_float(0.1, "0.1");
	expect_float(0.3, "0.3");
	expect_float(0.1 + 0.2, "0.30000000000000004");
	expect_float(1e20, "100000000000000000000");
	expect_float(1e21, "1e+21");
	expect_float(-1e21, "-1e+21");
	expect_float(999999999999999900000.0, "999999999999999900000");
	expect_float(1e-6, "0.000001");
	expect_float(-1e-6, "-0.000001");
	expect_float(1e-7, "1e-7");
	expect_float(1.5e-7, "1.5e-7");
	expect_float(1e-9, "1e-9");
	expect_float(1e-10, "1e-10");
	expect_float(123456789.123, "123456789.123");
	expect_float(5e-324, "5e-324");
	expect_float(-5e-324, "-5e-324");
	expect_float(2.2250738585072014e-308, "2.2250738585072014e-308");
	expect_float(1.7976931348623157e308, "1.7976931348623157e+308");
	expect_float(1e100, "1e+100");
	expect_float(38.54, "38.54");
	expect_float(83128.8, "83128.8");
	expect_float(100.0 / 3, "33.333333333333336");
	expect_float(2.0 / 3, "0.6666666666666666");
	expect_float(15885.0, "15885");
	expect_float(1234567.0, "1234567");
	expect_float(9007199254740993.0, "9007199254740992");
	expect_float(123456789012345680000.0, "123456789012345680000");
	expect_float(0.000123, "0.000123");
	/* Powers of two where the nearest short decimal misses (see
	 * shortest_digits()): Go prints these, not 17 digits. */
	expect_float(ldexp(1, -44), "5.684341886080802e-14");
	expect_float(ldexp(1, -24), "5.960464477539063e-8");
	expect_float(ldexp(1, 89), "6.189700196426902e+26");
	/* No JSON form; never produced from a normalized point. */
	expect_float(NAN, "null");
	expect_float(INFINITY, "null");
}

/*
 * The daemon runs in the C locale, but the digits must not depend on it:
 * %e and strtod() follow LC_NUMERIC.  uselocale() rather than
 * setlocale() so that the locale can be freed again (no leak report).
 */
Test(encode, floats_any_locale)
{
	static const char *names[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
		"ru_RU.UTF-8", "nl_NL.UTF-8",
	};
	locale_t	 loc = (locale_t)0;
	size_t		 i;
	char		 tmp[16];

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((loc = newlocale(LC_NUMERIC_MASK, names[i],
		    (locale_t)0)) != (locale_t)0)
			break;
	if (loc == (locale_t)0)
		cr_skip_test("skipped: no locale with a decimal comma "
		    "installed (make deps generates de_DE.UTF-8)");
	cr_assert_neq(uselocale(loc), (locale_t)0);
	(void)snprintf(tmp, sizeof(tmp), "%.1f", 1.5);
	cr_assert_str_eq(tmp, "1,5");		/* the locale is in effect */
	expect_float(1.5, "1.5");
	expect_float(38.54, "38.54");
	expect_float(1e-7, "1e-7");
	expect_float(1.5e300, "1.5e+300");
	expect_float(100.0 / 3, "33.333333333333336");
	(void)uselocale(LC_GLOBAL_LOCALE);
	freelocale(loc);
}

/* ---- Go's string escaping ---- */

Test(encode, json_strings)
{
	STR("", "\"\"");
	STR("plain text 123", "\"plain text 123\"");
	STR("a\"b", "\"a\\\"b\"");
	STR("a\\b", "\"a\\\\b\"");
	STR("/path/", "\"/path/\"");		/* '/' is not escaped */
	STR("\n\r\t", "\"\\n\\r\\t\"");
	STR("\x01", "\"\\u0001\"");
	STR("\x1f", "\"\\u001f\"");
	STR("\b\f", "\"\\u0008\\u000c\"");
	STR("\x1b", "\"\\u001b\"");
	STR("a\0b", "\"a\\u0000b\"");
	STR("\x7f", "\"\x7f\"");		/* DEL is copied */
	STR("<a href='x'>&amp;</a>",
	    "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\"");
	STR("\xe2\x80\xa8|\xe2\x80\xa9", "\"\\u2028|\\u2029\"");
	STR("\xe2\x80\xaa", "\"\xe2\x80\xaa\"");	/* U+202A: copied */
	STR("Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80",
	    "\"Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80\"");
	STR("\xc2\x85", "\"\xc2\x85\"");	/* C1 passes in Go too */
	STR("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");
	/* Invalid UTF-8: one \ufffd per bad byte, as Go does. */
	STR("a\xff" "b", "\"a\\ufffdb\"");
	STR("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	STR("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	STR("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	STR("x\xe6\x97", "\"x\\ufffd\\ufffd\"");
	STR("\xe6\x97\xa5\x80", "\"\xe6\x97\xa5\\ufffd\"");
}

Test(encode, json_string_appends)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "x=");
	encode_json_string(&b, "ab", 1);	/* only len bytes */
	cr_assert_str_eq(b.p, "x=\"a\"");
	buf_free(&b);
}

/* ---- JSON points and messages ---- */

Test(encode, json_point_values)
{
	static const char *tags[] = { "interface", "eth0", NULL };
	struct point	 p;

	mk(&p, "net.in", tags);
	point_set_float(&p, 83128.8);
	norm(&p);
	/* The tagged NET example of the reference, section 4.2. */
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"net.in\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"interface\":\"eth0\"},"
	    "\"fields\":{\"value\":83128.8}}");
	point_set_int(&p, INT64_MIN);
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"net.in\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"interface\":\"eth0\"},"
	    "\"fields\":{\"value\":-9223372036854775808}}");
	point_set_bool(&p, 1);
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"net.in\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"interface\":\"eth0\"},"
	    "\"fields\":{\"value\":true}}");
	point_set_bool(&p, 0);
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"net.in\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"interface\":\"eth0\"},"
	    "\"fields\":{\"value\":false}}");
	point_free(&p);
}

Test(encode, json_point_escaping)
{
	static const char *tags[] = {
		"path", "/a?b=<1>&c=\"2\"",
		"city", "  Z\xc3\xbcrich  \\ 1 ",
		NULL
	};
	struct point	 p;

	mk(&p, "m", tags);
	point_set_float(&p, 1e-7);
	norm(&p);
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"m\",\"timestamp\":1714538096,"
	    "\"tags\":{\"city\":\"Z\xc3\xbcrich-\\\\-1\","
	    "\"host\":\"web-01\","
	    "\"path\":\"/a?b=\\u003c1\\u003e\\u0026c=\\\"2\\\"\"},"
	    "\"fields\":{\"value\":1e-7}}");
	point_free(&p);
}

Test(encode, json_point_unnormalized)
{
	struct point	 p;

	/* No tags: an empty object, as Go prints an empty map. */
	point_init(&p);
	cr_assert_eq(point_set_name(&p, "m", 1), 0);
	expect_point(FORMAT_JSON, &p,
	    "{\"measurement\":\"m\",\"timestamp\":0,\"tags\":{},"
	    "\"fields\":{\"value\":null}}");
	point_free(&p);
}

/* The complete MEM example of lodastack-protocols.md section 4.2. */
Test(encode, mem_example_byte_exact)
{
	static const char *want =
"{\"database\":\"collect.web.product.loda\",\"retentionPolicy\":\"default\",\"points\":[{\"measurement\":\"mem.total\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":15885}},{\"measurement\":\"mem.used\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":6123}},{\"measurement\":\"mem.free\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":9762}},{\"measurement\":\"mem.used.percent\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":38.54}},{\"measurement\":\"mem.buffers\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":312}},{\"measurement\":\"mem.cached\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":7410}},{\"measurement\":\"mem.swap.used.percent\",\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":0}}],\"precision\":\"s\"}";
	static const struct {
		const char	*name;
		int		 isfloat;
		double		 v;
	} m[] = {
		{ "mem.total", 0, 15885 },
		{ "mem.used", 0, 6123 },
		{ "mem.free", 0, 9762 },
		{ "mem.used.percent", 1, 38.54 },
		{ "mem.buffers", 0, 312 },
		{ "mem.cached", 0, 7410 },
		{ "mem.swap.used.percent", 1, 0.0 },
	};
	struct point	 p;
	struct buf	 pts, msg;
	size_t		 i;

	buf_init(&pts);
	buf_init(&msg);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mk(&p, m[i].name, NULL);
		if (m[i].isfloat)
			point_set_float(&p, m[i].v);
		else
			point_set_int(&p, (int64_t)m[i].v);
		p.timestamp = 0;	/* -> now, as the collector does */
		norm(&p);
		if (i > 0)
			buf_addc(&pts, '\n');
		encode_point(&pts, FORMAT_JSON, &p);
		point_free(&p);
	}
	encode_message(&msg, FORMAT_JSON, "collect.web.product.loda",
	    pts.p, pts.len, sizeof(m) / sizeof(m[0]));
	cr_assert(!buf_failed(&msg));
	cr_assert_str_eq(msg.p, want);
	cr_assert_eq(msg.len, strlen(want));

	/* The same points as line protocol, one line each. */
	buf_reset(&pts);
	buf_reset(&msg);
	for (i = 0; i < 2; i++) {
		mk(&p, m[i * 3].name, NULL);
		if (m[i * 3].isfloat)
			point_set_float(&p, m[i * 3].v);
		else
			point_set_int(&p, (int64_t)m[i * 3].v);
		norm(&p);
		if (i > 0)
			buf_addc(&pts, '\n');
		encode_point(&pts, FORMAT_LINE, &p);
		point_free(&p);
	}
	encode_message(&msg, FORMAT_LINE, "collect.web.product.loda",
	    pts.p, pts.len, 2);
	cr_assert_str_eq(msg.p,
	    "mem.total,host=web-01 value=15885 1714538096\n"
	    "mem.used.percent,host=web-01 value=38.54 1714538096\n");
	buf_free(&pts);
	buf_free(&msg);
}

Test(encode, message_json)
{
	struct buf	 b;
	const char	*two = "{\"a\":1}\n{\"b\":2}";

	buf_init(&b);
	encode_message(&b, FORMAT_JSON, "collect.x", "", 0, 0);
	cr_assert_str_eq(b.p, "{\"database\":\"collect.x\","
	    "\"retentionPolicy\":\"default\",\"points\":[],"
	    "\"precision\":\"s\"}");
	buf_reset(&b);
	encode_message(&b, FORMAT_JSON, "t", two, strlen(two), 2);
	cr_assert_str_eq(b.p, "{\"database\":\"t\","
	    "\"retentionPolicy\":\"default\",\"points\":[{\"a\":1},{\"b\":2}],"
	    "\"precision\":\"s\"}");
	/* A trailing separator does not make an empty point. */
	buf_reset(&b);
	encode_message(&b, FORMAT_JSON, "t", "{\"a\":1}\n", 8, 1);
	cr_assert_str_eq(b.p, "{\"database\":\"t\","
	    "\"retentionPolicy\":\"default\",\"points\":[{\"a\":1}],"
	    "\"precision\":\"s\"}");
	/* The topic is a JSON string. */
	buf_reset(&b);
	encode_message(&b, FORMAT_JSON, "a\"<b>", "", 0, 0);
	cr_assert_str_eq(b.p, "{\"database\":\"a\\\"\\u003cb\\u003e\","
	    "\"retentionPolicy\":\"default\",\"points\":[],"
	    "\"precision\":\"s\"}");
	/* Appends. */
	buf_reset(&b);
	buf_adds(&b, "X");
	encode_message(&b, FORMAT_JSON, "t", "", 0, 0);
	cr_assert_eq(b.p[0], 'X');
	cr_assert_eq(b.p[1], '{');
	buf_free(&b);
}

Test(encode, message_line)
{
	struct buf	 b;
	const char	*two = "a value=1 1\nb value=2 2";

	buf_init(&b);
	encode_message(&b, FORMAT_LINE, "t", "", 0, 0);
	cr_assert_eq(b.len, 0);
	encode_message(&b, FORMAT_LINE, "t", two, strlen(two), 2);
	cr_assert_str_eq(b.p, "a value=1 1\nb value=2 2\n");
	buf_reset(&b);
	encode_message(&b, FORMAT_LINE, "t", "a value=1 1\n", 12, 1);
	cr_assert_str_eq(b.p, "a value=1 1\n");
	buf_reset(&b);
	encode_message(&b, FORMAT_LINE, "t", "a value=1 1", 11, 1);
	cr_assert_str_eq(b.p, "a value=1 1\n");
	buf_free(&b);
}

/* ---- line protocol ---- */

Test(encode, line_escaping)
{
	/* Measurement: comma and space; '=' is fine there. */
	expect_line("my meas,x=y", NULL, NULL,
	    "my\\ meas\\,x=y value=1 1714538096");
	/* Tag keys and values: comma, equals sign and space. */
	expect_line("m", "a b,c=d", "e f,g=h",
	    "m,a\\ b\\,c\\=d=e\\ f\\,g\\=h value=1 1714538096");
	expect_line("m", "k", "=", "m,k=\\= value=1 1714538096");
	/* A backslash is written as it is ... */
	expect_line("m", "path", "C:\\temp\\x",
	    "m,path=C:\\temp\\x value=1 1714538096");
	expect_line("m", "a\\b", "v", "m,a\\b=v value=1 1714538096");
	/* ... also before an escaped byte (InfluxDB 1.x reads a\,b) ... */
	expect_line("m", "k", "a\\,b", "m,k=a\\\\,b value=1 1714538096");
	expect_line("m", "k", "a\\=b", "m,k=a\\\\=b value=1 1714538096");
	expect_line("m\\,", NULL, NULL, "m\\\\, value=1 1714538096");
	/* ... but doubled at the end of an element. */
	expect_line("m", "k", "a\\", "m,k=a\\\\ value=1 1714538096");
	expect_line("m", "k\\", "v", "m,k\\\\=v value=1 1714538096");
	expect_line("m", "k", "\\", "m,k=\\\\ value=1 1714538096");
	expect_line("m\\", NULL, NULL, "m\\\\ value=1 1714538096");
	/* Non-ASCII UTF-8 passes through. */
	expect_line("m", "city", "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac",
	    "m,city=Z\xc3\xbcrich\\ \xe6\x9d\xb1\xe4\xba\xac "
	    "value=1 1714538096");
	/* Quotes need no escaping outside string fields. */
	expect_line("m", "q", "\"x\"", "m,q=\"x\" value=1 1714538096");
	/* Control bytes never make it into a line (not from normalized
	 * points anyway): U+FFFD instead, so no newline splits a point. */
	expect_line("m", "k", "a\nb\x01", "m,k=a\xef\xbf\xbd" "b\xef\xbf\xbd "
	    "value=1 1714538096");
}

Test(encode, line_values)
{
	static const char *tags[] = { "b", "2", "a", "1", NULL };
	struct point	 p;

	mk(&p, "m", tags);
	norm(&p);
	point_set_int(&p, 15885);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=15885 1714538096");
	point_set_int(&p, -42);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=-42 1714538096");
	point_set_int(&p, INT64_MAX);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=9223372036854775807 1714538096");
	point_set_float(&p, 38.54);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=38.54 1714538096");
	point_set_float(&p, 1234567.0);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=1234567 1714538096");
	point_set_float(&p, 1e21);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=1e+21 1714538096");
	point_set_float(&p, -1.5e-7);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=-1.5e-7 1714538096");
	point_set_bool(&p, 1);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=true 1714538096");
	point_set_bool(&p, 0);
	expect_point(FORMAT_LINE, &p,
	    "m,a=1,b=2,host=web-01 value=false 1714538096");
	point_free(&p);
}

Test(encode, line_after_normalize)
{
	static const char *tags[] = {
		" data center ", "bj, room=3",
		"host", "",
		NULL
	};
	struct point	 p;

	mk(&p, "cpu.idle", tags);
	point_set_float(&p, 99.5);
	norm(&p);
	expect_point(FORMAT_LINE, &p,
	    "cpu.idle,data-center=bj\\,-room\\=3,host=web-01 value=99.5 "
	    "1714538096");
	point_free(&p);
}
