/* The point model, validator and normalizer (point.h). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "point.h"

#define NOW	1714538096LL

static void
add(struct point *p, const char *k, const char *v)
{
	cr_assert_eq(point_add_tag(p, k, strlen(k), v, strlen(v)), 0,
	    "add %s=%s", k, v);
}

static void
named(struct point *p, const char *name)
{
	point_init(p);
	cr_assert_eq(point_set_name(p, name, strlen(name)), 0);
	point_set_int(p, 1);
}

/* Normalize a point with one tag k=v; expect success, return value. */
static void
norm_ok(struct point *p, const char *prefix, const char *host)
{
	char	 err[512];

	err[0] = '\0';
	cr_assert_eq(point_normalize(p, prefix, host, NOW, err, sizeof(err)),
	    0, "unexpected error: %s", err);
	cr_assert_str_eq(err, "");
}

static void
norm_err(struct point *p, const char *prefix, const char *host,
    const char *want)
{
	char	 err[512];

	cr_assert_eq(point_normalize(p, prefix, host, NOW, err, sizeof(err)),
	    -1, "expected: %s", want);
	cr_assert_str_eq(err, want);
}

/* A point named "m" with the single tag k=v: the value error for it. */
static void
tag_err(const char *k, const char *v, const char *want)
{
	struct point	 p;

	named(&p, "m");
	add(&p, k, v);
	norm_err(&p, NULL, "h", want);
	point_free(&p);
}

static const char *
tag(const struct point *p, const char *k)
{
	size_t	 i;

	for (i = 0; i < p->ntags; i++)
		if (strcmp(p->tags[i].key, k) == 0)
			return p->tags[i].value;
	return NULL;
}

/* ---- model ---- */

Test(point, init_and_free)
{
	struct point	 p;

	point_init(&p);
	cr_assert_null(p.name);
	cr_assert_null(p.tags);
	cr_assert_eq(p.ntags, 0);
	cr_assert_eq(p.kind, POINT_NONE);
	cr_assert_eq(point_set_name(&p, "a", 1), 0);
	cr_assert_eq(point_set_name(&p, "bc", 2), 0);	/* replaces */
	cr_assert_str_eq(p.name, "bc");
	add(&p, "k", "v");
	add(&p, "k2", "v2");
	cr_assert_eq(p.ntags, 2);
	cr_assert_str_eq(p.tags[1].value, "v2");
	point_free(&p);
	cr_assert_null(p.name);
	cr_assert_null(p.tags);
	cr_assert_eq(p.ntags, 0);
	point_free(&p);		/* again: harmless */
}

Test(point, setters)
{
	struct point	 p;

	point_init(&p);
	point_set_int(&p, -5);
	cr_assert_eq(p.kind, POINT_INT);
	cr_assert_eq(p.ival, -5);
	point_set_float(&p, 2.5);
	cr_assert_eq(p.kind, POINT_FLOAT);
	cr_assert_eq(p.fval, 2.5);
	point_set_bool(&p, 7);
	cr_assert_eq(p.kind, POINT_BOOL);
	cr_assert_eq(p.bval, 1);
	point_set_bool(&p, 0);
	cr_assert_eq(p.bval, 0);
	point_free(&p);
}

Test(point, copies_not_references)
{
	struct point	 p;
	char		 name[] = "abc", k[] = "key", v[] = "val";

	point_init(&p);
	cr_assert_eq(point_set_name(&p, name, 2), 0);	/* a length */
	cr_assert_eq(point_add_tag(&p, k, 3, v, 1), 0);
	name[0] = k[0] = v[0] = 'X';
	cr_assert_str_eq(p.name, "ab");
	cr_assert_str_eq(p.tags[0].key, "key");
	cr_assert_str_eq(p.tags[0].value, "v");
	point_free(&p);
}

Test(point, setter_limits)
{
	struct point	 p;
	char		 big[POINT_TAG_MAX + 2];
	char		 k[16];
	int		 i;

	memset(big, 'a', sizeof(big));
	point_init(&p);
	cr_assert_eq(point_set_name(&p, big, POINT_NAME_MAX), 0);
	cr_assert_eq(point_set_name(&p, big, POINT_NAME_MAX + 1), -1);
	cr_assert_eq(strlen(p.name), POINT_NAME_MAX);	/* unchanged */
	cr_assert_eq(point_add_tag(&p, big, POINT_TAG_MAX, "v", 1), 0);
	cr_assert_eq(point_add_tag(&p, "k", 1, big, POINT_TAG_MAX), 0);
	cr_assert_eq(point_add_tag(&p, big, POINT_TAG_MAX + 1, "v", 1), -1);
	cr_assert_eq(point_add_tag(&p, "k", 1, big, POINT_TAG_MAX + 1), -1);
	cr_assert_eq(p.ntags, 2);
	for (i = 2; i < POINT_TAGS_MAX; i++) {
		(void)snprintf(k, sizeof(k), "t%d", i);
		add(&p, k, "v");
	}
	cr_assert_eq(p.ntags, POINT_TAGS_MAX);
	cr_assert_eq(point_add_tag(&p, "x", 1, "v", 1), -1);
	cr_assert_eq(p.ntags, POINT_TAGS_MAX);
	point_free(&p);
}

/* A C string cut at an embedded NUL would validate as something else. */
Test(point, setters_refuse_nul)
{
	struct point	 p;

	point_init(&p);
	cr_assert_eq(point_set_name(&p, "ab\0c", 4), -1);
	cr_assert_null(p.name);
	cr_assert_eq(point_add_tag(&p, "k\0x", 3, "v", 1), -1);
	cr_assert_eq(point_add_tag(&p, "k", 1, "v\0", 2), -1);
	cr_assert_eq(p.ntags, 0);
	cr_assert_eq(point_add_tag(&p, "", 0, "", 0), 0);	/* empty ok */
	point_free(&p);
}

/* ---- names ---- */

Test(point, name_valid)
{
	cr_assert(point_name_valid("cpu.idle", 8));
	cr_assert(point_name_valid("A-z_0.9", 7));
	cr_assert(point_name_valid("-", 1));
	cr_assert(!point_name_valid("", 0));
	cr_assert(!point_name_valid("cpu idle", 8));
	cr_assert(!point_name_valid("a,b", 3));
	cr_assert(!point_name_valid("a=b", 3));
	cr_assert(!point_name_valid("a/b", 3));
	cr_assert(!point_name_valid("a\\b", 3));
	cr_assert(!point_name_valid("caf\xc3\xa9", 5));
	cr_assert(!point_name_valid("a\tb", 3));
	cr_assert(point_name_valid("ab cd", 2));	/* only len bytes */
}

Test(point, name_prefix)
{
	struct point	 p;

	named(&p, "cpu.idle");
	norm_ok(&p, "RUN.", "h");
	cr_assert_str_eq(p.name, "RUN.cpu.idle");
	point_free(&p);

	named(&p, "cpu.idle");
	norm_ok(&p, NULL, "h");
	cr_assert_str_eq(p.name, "cpu.idle");
	point_free(&p);

	named(&p, "cpu.idle");
	norm_ok(&p, "", "h");
	cr_assert_str_eq(p.name, "cpu.idle");
	point_free(&p);
}

Test(point, name_errors)
{
	struct point	 p;

	point_init(&p);
	point_set_int(&p, 1);
	norm_err(&p, NULL, "h", "name: empty");
	point_free(&p);

	/* Not "RUN.": an empty name stays an error under a prefix. */
	named(&p, "");
	norm_err(&p, "RUN.", "h", "name: empty");
	point_free(&p);

	named(&p, "cpu idle");
	norm_err(&p, NULL, "h",
	    "name \"cpu idle\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);

	named(&p, "cpu idle");
	norm_err(&p, "RUN.", "h",
	    "name \"RUN.cpu idle\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);

	named(&p, "ok");
	norm_err(&p, "bad prefix.", "h",
	    "name \"bad prefix.ok\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);

	/* Names are ASCII; non-ASCII is shown as is, controls escaped. */
	named(&p, "caf\xc3\xa9");
	norm_err(&p, NULL, "h",
	    "name \"caf\xc3\xa9\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);

	named(&p, "a\x01\"\\\xff");
	norm_err(&p, NULL, "h",
	    "name \"a\\x01\\\"\\\\\\xff\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);

	named(&p, " cpu");	/* names are not trimmed */
	norm_err(&p, NULL, "h",
	    "name \" cpu\": only [-_.a-zA-Z0-9] allowed");
	point_free(&p);
}

Test(point, name_length)
{
	struct point	 p;
	char		 n[POINT_NAME_MAX + 1], want[512];

	memset(n, 'a', POINT_NAME_MAX);
	n[POINT_NAME_MAX] = '\0';
	named(&p, n);
	norm_ok(&p, NULL, "h");
	cr_assert_eq(strlen(p.name), POINT_NAME_MAX);
	point_free(&p);

	/* The limit holds after the prefix. */
	n[POINT_NAME_MAX - 4] = '\0';
	named(&p, n);
	norm_ok(&p, "RUN.", "h");
	cr_assert_eq(strlen(p.name), POINT_NAME_MAX);
	point_free(&p);

	n[POINT_NAME_MAX - 4] = 'a';
	n[POINT_NAME_MAX - 3] = '\0';
	named(&p, n);
	/* Shown cut after 64 bytes. */
	(void)snprintf(want, sizeof(want),
	    "name \"RUN.%.60s\"...: longer than 256 bytes", n);
	norm_err(&p, "RUN.", "h", want);
	point_free(&p);
}

/* ---- values ---- */

Test(point, values)
{
	struct point	 p;

	named(&p, "m");
	point_set_int(&p, INT64_MIN);
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.kind, POINT_INT);
	cr_assert_eq(p.ival, INT64_MIN);
	point_free(&p);

	named(&p, "m");
	point_set_float(&p, -0.5);
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.kind, POINT_FLOAT);
	point_free(&p);

	named(&p, "m");
	point_set_bool(&p, 1);
	p.bval = 42;		/* set behind the setter's back */
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.bval, 1);
	point_free(&p);
}

Test(point, value_errors)
{
	struct point	 p;

	point_init(&p);
	cr_assert_eq(point_set_name(&p, "m", 1), 0);
	norm_err(&p, NULL, "h", "value: missing");
	point_free(&p);

	named(&p, "m");
	point_set_float(&p, NAN);
	norm_err(&p, NULL, "h", "value: NaN not allowed");
	point_free(&p);

	named(&p, "m");
	point_set_float(&p, INFINITY);
	norm_err(&p, NULL, "h", "value: infinity not allowed");
	point_free(&p);

	named(&p, "m");
	point_set_float(&p, -INFINITY);
	norm_err(&p, NULL, "h", "value: infinity not allowed");
	point_free(&p);
}

/* ---- timestamps ---- */

Test(point, seconds)
{
	static const struct {
		int64_t	 in, out;
	} t[] = {
		{ 0, NOW },
		{ 1714538096LL, 1714538096LL },			/* s */
		{ 1000000000LL, 1000000000LL },
		{ 9223372036LL, 9223372036LL },	/* InfluxDB's last */
		{ 9223372037LL, NOW },		/* past int64 ns */
		{ 9999999999LL, NOW },
		{ 999999999LL, NOW },
		{ 1, NOW },
		{ 10000000000LL, NOW },				/* between */
		{ 999999999999LL, NOW },
		{ 1714538096123LL, 1714538096LL },		/* ms */
		{ 1000000000000LL, 1000000000LL },
		{ 9223372036999LL, 9223372036LL },
		{ 9223372037000LL, NOW },
		{ 9999999999999LL, NOW },
		{ 10000000000000LL, NOW },			/* between */
		{ 999999999999999LL, NOW },
		{ 1714538096123456LL, 1714538096LL },		/* us */
		{ 1000000000000000LL, 1000000000LL },
		{ 9223372036999999LL, 9223372036LL },
		{ 9223372037000000LL, NOW },
		{ 9999999999999999LL, NOW },
		{ 10000000000000000LL, NOW },			/* between */
		{ 999999999999999999LL, NOW },
		{ 1714538096123456789LL, 1714538096LL },	/* ns */
		{ 1000000000000000000LL, 1000000000LL },
		{ INT64_MAX, 9223372036LL },
		{ -1, NOW },					/* negative */
		{ -1714538096LL, NOW },
		{ INT64_MIN, NOW },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(point_seconds(t[i].in, NOW), t[i].out,
		    "%lld -> %lld, want %lld", (long long)t[i].in,
		    (long long)point_seconds(t[i].in, NOW),
		    (long long)t[i].out);
}

Test(point, normalize_timestamp)
{
	struct point	 p;

	named(&p, "m");
	p.timestamp = 1714538000123LL;
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.timestamp, 1714538000LL);
	point_free(&p);

	named(&p, "m");
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.timestamp, NOW);
	point_free(&p);
}

/* ---- tags: trimming, squeezing, sorting, duplicates ---- */

Test(point, trim_and_squeeze)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "web01", "web01" },
		{ " web01", "web01" },
		{ "web01\t ", "web01" },
		{ "\t web 01 \t", "web-01" },
		{ "a  b", "a-b" },
		{ "a \t b\t\tc", "a-b-c" },
		{ "a-b", "a-b" },
		{ "a - b", "a---b" },
		{ "x", "x" },
		{ "  Z\xc3\xbcrich  \xe6\x9d\xb1\xe4\xba\xac ",
		  "Z\xc3\xbcrich-\xe6\x9d\xb1\xe4\xba\xac" },
		/* Only space and tab are white space here. */
		{ "a\xc2\xa0" "b", "a\xc2\xa0" "b" },
	};
	struct point	 p;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		named(&p, "m");
		add(&p, t[i].in, t[i].in);
		norm_ok(&p, NULL, NULL);
		cr_assert_eq(p.ntags, 1);
		cr_expect_str_eq(p.tags[0].key, t[i].out, "key %s", t[i].in);
		cr_expect_str_eq(p.tags[0].value, t[i].out, "value %s",
		    t[i].in);
		point_free(&p);
	}
}

Test(point, tags_sorted)
{
	struct point	 p;

	named(&p, "m");
	add(&p, "zone", "1");
	add(&p, "b", "2");
	add(&p, "a", "3");
	add(&p, "B", "4");
	add(&p, "\xc3\xa9t\xc3\xa9", "5");	/* "été": bytes sort last */
	add(&p, "a1", "6");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 7);
	cr_assert_str_eq(p.tags[0].key, "B");
	cr_assert_str_eq(p.tags[1].key, "a");
	cr_assert_str_eq(p.tags[2].key, "a1");
	cr_assert_str_eq(p.tags[3].key, "b");
	cr_assert_str_eq(p.tags[4].key, "host");
	cr_assert_str_eq(p.tags[5].key, "zone");
	cr_assert_str_eq(p.tags[6].key, "\xc3\xa9t\xc3\xa9");
	cr_assert_str_eq(p.tags[1].value, "3");
	cr_assert_str_eq(p.tags[4].value, "web-01");
	point_free(&p);
}

Test(point, duplicate_keys)
{
	struct point	 p;

	named(&p, "m");
	add(&p, "dc", "a");
	add(&p, "x", "b");
	add(&p, "dc", "c");
	norm_err(&p, NULL, "h", "tag \"dc\": duplicate key");
	point_free(&p);

	/* The same once trimmed. */
	named(&p, "m");
	add(&p, " dc", "a");
	add(&p, "dc\t", "c");
	norm_err(&p, NULL, "h", "tag \"dc\": duplicate key");
	point_free(&p);

	named(&p, "m");
	add(&p, "my key", "a");
	add(&p, "my-key", "c");
	norm_err(&p, NULL, "h", "tag \"my-key\": duplicate key");
	point_free(&p);

	named(&p, "m");
	add(&p, "host", "a");
	add(&p, "host", "b");
	norm_err(&p, NULL, "h", "tag \"host\": duplicate key");
	point_free(&p);
}

Test(point, empty_key_and_value)
{
	tag_err("dc", "", "tag \"dc\": empty value");
	tag_err("dc", " \t ", "tag \"dc\": empty value");
	tag_err("", "v", "tag key \"\": empty");
	tag_err(" \t", "v", "tag key \" \\t\": empty");
}

Test(point, control_characters)
{
	tag_err("dc", "a\nb", "tag \"dc\": value \"a\\nb\": control character");
	tag_err("dc", "a\rb", "tag \"dc\": value \"a\\rb\": control character");
	tag_err("dc", "\x01", "tag \"dc\": value \"\\x01\": control character");
	tag_err("dc", "x\x1f", "tag \"dc\": value \"x\\x1f\": control character");
	tag_err("dc", "\x7f", "tag \"dc\": value \"\\x7f\": control character");
	tag_err("dc", "\x1b[1m",
	    "tag \"dc\": value \"\\x1b[1m\": control character");
	/* C1 controls (U+0080..U+009F) are control characters too. */
	tag_err("dc", "a\xc2\x85",
	    "tag \"dc\": value \"a\\xc2\\x85\": control character");
	tag_err("a\nb", "v", "tag key \"a\\nb\": control character");
	tag_err("a\x7f", "v", "tag key \"a\\x7f\": control character");
}

Test(point, utf8_valid)
{
	static const char *ok[] = {
		"\xc3\xbc",			/* ü, 2 bytes */
		"\xc2\xa0",			/* U+00A0, lowest after C1 */
		"\xe6\x97\xa5\xe6\x9c\xac",	/* 日本, 3 bytes */
		"\xe0\xa0\x80",			/* U+0800, lowest 3-byte */
		"\xed\x9f\xbf",			/* U+D7FF, below surrogates */
		"\xee\x80\x80",			/* U+E000, above them */
		"\xef\xbf\xbd",			/* U+FFFD */
		"\xe2\x80\xa8",			/* U+2028 */
		"\xf0\x9f\x98\x80",		/* 😀, 4 bytes */
		"\xf0\x90\x80\x80",		/* U+10000 */
		"\xf4\x8f\xbf\xbf",		/* U+10FFFF */
		"<&>\"'\\",
	};
	struct point	 p;
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		named(&p, "m");
		add(&p, ok[i], ok[i]);
		norm_ok(&p, NULL, NULL);
		cr_expect_str_eq(p.tags[0].key, ok[i]);
		cr_expect_str_eq(p.tags[0].value, ok[i]);
		point_free(&p);
	}
}

Test(point, utf8_invalid)
{
	static const struct {
		const char	*in, *shown;
	} t[] = {
		{ "\xc0\xaf", "\\xc0\\xaf" },			/* overlong 2 */
		{ "\xc1\xbf", "\\xc1\\xbf" },
		{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },		/* overlong 3 */
		{ "\xe0\x9f\xbf", "\\xe0\\x9f\\xbf" },
		{ "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf" },	/* overlong 4 */
		{ "\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },		/* U+D800 */
		{ "\xed\xbf\xbf", "\\xed\\xbf\\xbf" },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },	/* U+110000 */
		{ "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
		{ "\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80" },
		{ "\xff", "\\xff" },
		{ "\xfe", "\\xfe" },
		{ "\x80", "\\x80" },				/* stray */
		{ "a\xbf" "b", "a\\xbf" "b" },
		{ "\xe6\x97", "\\xe6\\x97" },			/* truncated */
		{ "ok\xc3", "ok\\xc3" },
		{ "\xf0\x9f\x98", "\\xf0\\x9f\\x98" },
		{ "\xc3\x28", "\\xc3(" },			/* bad cont. */
		{ "\xe6\x28\xa5", "\\xe6(\\xa5" },
	};
	char	 want[256];
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		(void)snprintf(want, sizeof(want),
		    "tag \"k\": value \"%s\": invalid UTF-8", t[i].shown);
		tag_err("k", t[i].in, want);
		(void)snprintf(want, sizeof(want),
		    "tag key \"%s\": invalid UTF-8", t[i].shown);
		tag_err(t[i].in, "v", want);
	}
}

/* Error messages quote, escape and cut the offending text. */
Test(point, message_escaping)
{
	char	 v[128], want[256];

	tag_err("dc", "say \"hi\"\x01",
	    "tag \"dc\": value \"say \\\"hi\\\"\\x01\": control character");
	tag_err("dc", "C:\\x\x01",
	    "tag \"dc\": value \"C:\\\\x\\x01\": control character");
	tag_err("dc", "\xc3\xbc\x01",
	    "tag \"dc\": value \"\xc3\xbc\\x01\": control character");
	tag_err("d\"c", "",
	    "tag \"d\\\"c\": empty value");

	memset(v, 'x', 100);
	v[100] = '\x01';
	v[101] = '\0';
	(void)snprintf(want, sizeof(want),
	    "tag \"dc\": value \"%.64s\"...: control character", v);
	tag_err("dc", v, want);

	/* A multi-byte character is not split at the cut. */
	memset(v, 'x', 63);
	memcpy(v + 63, "\xc3\xbc\x01", 4);
	(void)snprintf(want, sizeof(want),
	    "tag \"dc\": value \"%.63s\"...: control character", v);
	tag_err("dc", v, want);
}

Test(point, error_buffer)
{
	struct point	 p;
	char		 err[8];

	named(&p, "cpu idle");
	cr_assert_eq(point_normalize(&p, NULL, "h", NOW, NULL, 0), -1);
	point_free(&p);

	named(&p, "cpu idle");
	cr_assert_eq(point_normalize(&p, NULL, "h", NOW, err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "name \"c");	/* cut, terminated */
	point_free(&p);
}

/* ---- the host tag ---- */

Test(point, host_added)
{
	struct point	 p;

	named(&p, "m");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 1);
	cr_assert_str_eq(p.tags[0].key, "host");
	cr_assert_str_eq(p.tags[0].value, "web-01");
	point_free(&p);

	/* The host name goes through the same rules. */
	named(&p, "m");
	add(&p, "a", "1");
	norm_ok(&p, NULL, " my  host ");
	cr_assert_str_eq(tag(&p, "host"), "my-host");
	cr_assert_str_eq(p.tags[1].key, "host");
	point_free(&p);
}

Test(point, host_kept)
{
	struct point	 p;

	named(&p, "m");
	add(&p, "host", " web-99 ");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 1);
	cr_assert_str_eq(tag(&p, "host"), "web-99");
	point_free(&p);

	/* " host " is the host key once trimmed. */
	named(&p, "m");
	add(&p, " host ", "web-99");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 1);
	cr_assert_str_eq(tag(&p, "host"), "web-99");
	point_free(&p);

	/* Keys are case-sensitive: "Host" is another tag. */
	named(&p, "m");
	add(&p, "Host", "x");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 2);
	cr_assert_str_eq(tag(&p, "host"), "web-01");
	point_free(&p);
}

Test(point, host_replaced_when_empty)
{
	struct point	 p;

	named(&p, "m");
	add(&p, "z", "1");
	add(&p, "host", "");
	add(&p, "a", "1");
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, 3);
	cr_assert_str_eq(p.tags[1].key, "host");
	cr_assert_str_eq(p.tags[1].value, "web-01");
	point_free(&p);

	named(&p, "m");
	add(&p, "host", " \t ");
	norm_ok(&p, NULL, "web-01");
	cr_assert_str_eq(tag(&p, "host"), "web-01");
	point_free(&p);
}

Test(point, host_unknown)
{
	struct point	 p;

	/* No host name to add: nothing added. */
	named(&p, "m");
	norm_ok(&p, NULL, NULL);
	cr_assert_eq(p.ntags, 0);
	point_free(&p);

	named(&p, "m");
	norm_ok(&p, NULL, " ");
	cr_assert_eq(p.ntags, 0);
	point_free(&p);

	/* But an empty host tag then stays an empty value. */
	named(&p, "m");
	add(&p, "host", "");
	norm_err(&p, NULL, NULL, "tag \"host\": empty value");
	point_free(&p);

	named(&p, "m");
	add(&p, "host", " ");
	norm_err(&p, NULL, "", "tag \"host\": empty value");
	point_free(&p);
}

Test(point, host_invalid)
{
	struct point	 p;
	char		 big[POINT_TAG_MAX + 2];

	named(&p, "m");
	norm_err(&p, NULL, "web\xff",
	    "tag \"host\": value \"web\\xff\": invalid UTF-8");
	point_free(&p);

	named(&p, "m");
	norm_err(&p, NULL, "web\n",
	    "tag \"host\": value \"web\\n\": control character");
	point_free(&p);

	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	named(&p, "m");
	norm_err(&p, NULL, big, "tag \"host\": value longer than 256 bytes");
	point_free(&p);

	/* A given host tag is not checked against the host name. */
	named(&p, "m");
	add(&p, "host", "web-99");
	norm_ok(&p, NULL, "web\xff");
	cr_assert_str_eq(tag(&p, "host"), "web-99");
	point_free(&p);
}

/* ---- limits ---- */

Test(point, tag_count_and_host)
{
	struct point	 p;
	char		 k[16];
	int		 i;

	/* 63 tags + host = 64: fine. */
	named(&p, "m");
	for (i = 0; i < POINT_TAGS_MAX - 1; i++) {
		(void)snprintf(k, sizeof(k), "t%02d", i);
		add(&p, k, "v");
	}
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, POINT_TAGS_MAX);
	cr_assert_str_eq(p.tags[0].key, "host");
	cr_assert_str_eq(p.tags[1].key, "t00");
	point_free(&p);

	/* 64 with host: fine. */
	named(&p, "m");
	add(&p, "host", "x");
	for (i = 1; i < POINT_TAGS_MAX; i++) {
		(void)snprintf(k, sizeof(k), "t%02d", i);
		add(&p, k, "v");
	}
	norm_ok(&p, NULL, "web-01");
	cr_assert_eq(p.ntags, POINT_TAGS_MAX);
	point_free(&p);

	/* 64 without host: no room for it. */
	named(&p, "m");
	for (i = 0; i < POINT_TAGS_MAX; i++) {
		(void)snprintf(k, sizeof(k), "t%02d", i);
		add(&p, k, "v");
	}
	norm_err(&p, NULL, "web-01",
	    "tags: 64 already, no room for \"host\"");
	point_free(&p);

	/* ... unless there is no host name to add. */
	named(&p, "m");
	for (i = 0; i < POINT_TAGS_MAX; i++) {
		(void)snprintf(k, sizeof(k), "t%02d", i);
		add(&p, k, "v");
	}
	norm_ok(&p, NULL, NULL);
	point_free(&p);
}

/*
 * Limits the setters enforce are checked again for hand-built points.
 * Their tags are the test's own memory, which point_free() leaves
 * alone: a point frees only the chunks it carved its own strings from.
 */
Test(point, limits_hand_built)
{
	struct point		 p;
	struct point_tag	 many[POINT_TAGS_MAX + 1], one;
	char			 big[POINT_TAG_MAX + 2], want[512];
	char			 k[POINT_TAGS_MAX + 1][2], v[] = "v";
	char			 dc[] = "dc";
	size_t			 i;

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	named(&p, "m");
	for (i = 0; i < POINT_TAGS_MAX + 1; i++) {
		memcpy(k[i], "k", sizeof(k[i]));
		many[i].key = k[i];
		many[i].value = v;
	}
	p.tags = many;
	p.ntags = POINT_TAGS_MAX + 1;
	norm_err(&p, NULL, "h", "tags: more than 64");
	point_free(&p);

	named(&p, "m");
	one.key = big;
	one.value = v;
	p.tags = &one;
	p.ntags = 1;
	(void)snprintf(want, sizeof(want),
	    "tag key \"%.64s\"...: longer than 256 bytes", big);
	norm_err(&p, NULL, "h", want);
	point_free(&p);

	named(&p, "m");
	one.key = dc;
	one.value = big;
	p.tags = &one;
	p.ntags = 1;
	norm_err(&p, NULL, "h", "tag \"dc\": value longer than 256 bytes");
	point_free(&p);
}

Test(point, tag_length_at_limit)
{
	struct point	 p;
	char		 big[POINT_TAG_MAX + 1];

	memset(big, 'v', POINT_TAG_MAX);
	big[POINT_TAG_MAX] = '\0';
	named(&p, "m");
	add(&p, big, big);
	norm_ok(&p, NULL, "h");
	cr_assert_eq(p.ntags, 2);
	cr_assert_str_eq(p.tags[0].key, "host");
	cr_assert_eq(strlen(p.tags[1].key), POINT_TAG_MAX);
	cr_assert_str_eq(tag(&p, big), big);
	point_free(&p);
}

/* What the front posts: everything at once. */
Test(point, full_example)
{
	struct point	 p;

	named(&p, "nginx.requests");
	add(&p, " path ", "/api/v1  users");
	add(&p, "dc", "  bj 1");
	point_set_float(&p, 83128.8);
	p.timestamp = 1714538096000000000LL;
	norm_ok(&p, "RUN.", "web-01");
	cr_assert_str_eq(p.name, "RUN.nginx.requests");
	cr_assert_eq(p.ntags, 3);
	cr_assert_str_eq(p.tags[0].key, "dc");
	cr_assert_str_eq(p.tags[0].value, "bj-1");
	cr_assert_str_eq(p.tags[1].key, "host");
	cr_assert_str_eq(p.tags[1].value, "web-01");
	cr_assert_str_eq(p.tags[2].key, "path");
	cr_assert_str_eq(p.tags[2].value, "/api/v1-users");
	cr_assert_eq(p.timestamp, 1714538096LL);
	cr_assert_eq(p.fval, 83128.8);
	point_free(&p);
}

/*
 * Line format: a tag key or value ending in a backslash cannot be read
 * back by InfluxDB 1.x; one inside is fine.
 */
Test(point, check_line_refuses_a_trailing_backslash)
{
	struct point	 p;
	char		 err[512];

	named(&p, "x");
	add(&p, "path", "back\\slash");
	add(&p, "k\\ey", "v");
	norm_ok(&p, "RUN.", "web-01");
	err[0] = 'x';
	cr_assert_eq(point_check_line(&p, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "");
	cr_assert_eq(point_check_line(&p, NULL, 0), 0);
	point_free(&p);

	named(&p, "x");
	add(&p, "path", "C:\\");
	norm_ok(&p, "RUN.", "web-01");
	cr_assert_eq(point_check_line(&p, err, sizeof(err)), -1);
	/* shown escaped, as every value in these messages */
	cr_assert_str_eq(err, "name \"RUN.x\", tag \"path\": value \"C:\\\\\" "
	    "ends in a backslash, which InfluxDB cannot read in line "
	    "protocol");
	cr_assert_eq(point_check_line(&p, NULL, 0), -1);
	point_free(&p);

	/* trimmed first: the blank after it does not save it */
	named(&p, "x");
	add(&p, "dir\\", " v ");
	add(&p, "z", "a\\\\ ");
	norm_ok(&p, "RUN.", "web-01");
	cr_assert_eq(point_check_line(&p, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "name \"RUN.x\", tag key \"dir\\\\\" ends in a "
	    "backslash, which InfluxDB cannot read in line protocol");
	point_free(&p);

	named(&p, "x");
	add(&p, "z", "a\\\\ ");
	norm_ok(&p, "RUN.", "web-01");
	cr_assert_eq(point_check_line(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "tag \"z\": value \"a\\\\\\\\\" ends in a "
	    "backslash") != NULL, "%s", err);
	point_free(&p);
}
