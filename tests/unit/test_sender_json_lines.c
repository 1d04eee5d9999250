/*
 * sender_json_lines: json messages the producers encoded (encode.c)
 * back into the lines they would have encoded, point for point, byte for
 * byte; a point line protocol cannot carry left out and counted; anything
 * that is not such a message refused whole.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "point.h"
#include "workers/sender/sender_json_lines.h"

#define NOW	1714538000

struct spec {
	const char	*name;
	const char	*tags[8];	/* key, value, ..., NULL */
	int		 kind;		/* POINT_* */
	int64_t		 i;
	double		 f;
};

static const struct spec specs[] = {
	{ "cpu.idle", { NULL }, POINT_FLOAT, 0, 83128.8 },
	{ "x", { "all", " x, y=z ", "k,e y=", "v", NULL }, POINT_FLOAT, 0,
	    4.25 },
	{ "x", { "city", "Z\xc3\xbcrich <&>", "emoji", "\xf0\x9f\x99\x82 ok",
	    NULL }, POINT_FLOAT, 0, 6.02e23 },
	{ "x", { "slash", "back\\slash", NULL }, POINT_FLOAT, 0, -0.0 },
	{ "tiny", { NULL }, POINT_FLOAT, 0, 1e-7 },
	{ "tiny", { "sub", "normal", NULL }, POINT_FLOAT, 0, 1e-310 },
	{ "tiny", { "least", "one", NULL }, POINT_FLOAT, 0, 5e-324 },
	{ "huge", { NULL }, POINT_FLOAT, 0, -1.7976931348623157e308 },
	{ "big", { NULL }, POINT_INT, INT64_MIN, 0 },
	{ "big", { "k", "2^53+1", NULL }, POINT_INT, 9007199254740993LL, 0 },
	{ "flag", { NULL }, POINT_BOOL, 1, 0 },
	{ "flag", { NULL }, POINT_BOOL, 0, 0 },
};

static void
make(struct point *p, const struct spec *s)
{
	char	 err[256];
	size_t	 i;

	point_init(p);
	cr_assert_eq(point_set_name(p, s->name, strlen(s->name)), 0);
	for (i = 0; s->tags[i] != NULL; i += 2)
		cr_assert_eq(point_add_tag(p, s->tags[i], strlen(s->tags[i]),
		    s->tags[i + 1], strlen(s->tags[i + 1])), 0);
	if (s->kind == POINT_INT)
		point_set_int(p, s->i);
	else if (s->kind == POINT_BOOL)
		point_set_bool(p, (int)s->i);
	else
		point_set_float(p, s->f);
	p->timestamp = NOW;
	cr_assert_eq(point_normalize(p, "RUN.", "web-01", NOW, err,
	    sizeof(err)), 0, "%s", err);
}

/* The json message of `n` specs, and the lines they encode to. */
static void
encode_both(const struct spec *s, size_t n, struct buf *doc,
    struct buf *lines)
{
	struct buf	 pts;
	struct point	 p;
	size_t		 i;

	buf_init(&pts);
	for (i = 0; i < n; i++) {
		make(&p, &s[i]);
		if (i > 0)
			buf_addc(&pts, '\n');
		encode_point(&pts, FORMAT_JSON, &p);
		encode_point(lines, FORMAT_LINE, &p);
		buf_addc(lines, '\n');
		point_free(&p);
	}
	encode_message(doc, FORMAT_JSON, "collect.pool.loda", pts.p, pts.len,
	    n);
	cr_assert(!buf_failed(doc) && !buf_failed(lines));
	buf_free(&pts);
}

Test(sender_json_lines, the_lines_the_producer_would_have_written)
{
	struct buf	 doc, want, got;
	size_t		 dropped = 99;
	char		 why[256];

	buf_init(&doc);
	buf_init(&want);
	buf_init(&got);
	encode_both(specs, sizeof(specs) / sizeof(specs[0]), &doc, &want);
	buf_adds(&got, "kept\n");
	cr_assert_eq(sender_json_lines(doc.p, doc.len, &got, &dropped,
	    why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(dropped, 0);
	cr_assert_eq(got.len, want.len + 5, "%s\n---\n%s", got.p, want.p);
	cr_assert(memcmp(got.p + 5, want.p, want.len) == 0, "%s\n---\n%s",
	    got.p, want.p);
	buf_free(&doc);
	buf_free(&want);
	buf_free(&got);
}

/* A tag value ending in a backslash is fine in json, not in a line. */
Test(sender_json_lines, a_point_lines_cannot_carry_is_left_out)
{
	static const struct spec two[] = {
		{ "a", { "path", "C:\\", NULL }, POINT_INT, 1, 0 },
		{ "b", { NULL }, POINT_INT, 2, 0 },
	};
	struct buf	 doc, want, got;
	size_t		 dropped;
	char		 why[256];

	buf_init(&doc);
	buf_init(&want);
	buf_init(&got);
	encode_both(two, 2, &doc, &want);
	cr_assert_eq(sender_json_lines(doc.p, doc.len, &got, &dropped,
	    why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(dropped, 1);
	cr_assert(strstr(why, "ends in a backslash") != NULL, "%s", why);
	cr_assert_str_eq(got.p, "RUN.b,host=web-01 value=2 1714538000\n");
	buf_free(&doc);
	buf_free(&want);
	buf_free(&got);
}

/* Not a message at all: refused whole, nothing appended. */
Test(sender_json_lines, what_is_not_a_message_is_refused_whole)
{
	static const struct {
		const char	*doc;
		const char	*why;
	} bad[] = {
		{ "", "a json message: empty document" },
		{ "not json", "a json message: invalid JSON" },
		{ "{\"points\":{}}", "a json message without points" },
		{ "[1]", "a json message without points" },
		{ "{\"points\":[[[[[1]]]]]}", "nested more than 4 levels" },
	};
	struct buf	 got;
	size_t		 i, dropped;
	char		 why[256];

	buf_init(&got);
	buf_adds(&got, "kept");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sender_json_lines(bad[i].doc,
		    strlen(bad[i].doc), &got, &dropped, why, sizeof(why)), -1,
		    "%s", bad[i].doc);
		cr_assert(strstr(why, bad[i].why) != NULL, "%s: %s",
		    bad[i].doc, why);
		cr_assert_str_eq(got.p, "kept");
	}
	buf_free(&got);
}

/*
 * A point not of the encoder's shape (a hostile or damaged spool record)
 * is left out and counted; the good point next to it is written.
 */
Test(sender_json_lines, a_point_of_another_shape_is_left_out)
{
#define GOOD "{\"measurement\":\"g\",\"timestamp\":5,\"tags\":{}," \
	    "\"fields\":{\"value\":1}}"
	static const struct {
		const char	*point;
		const char	*why;
	} bad[] = {
		{ "1", "point 0: a point is not an object" },
		{ "{\"timestamp\":1}", "point 0: no measurement" },
		{ "{\"measurement\":\"a\",\"timestamp\":1.5,\"tags\":{},"
		    "\"fields\":{\"value\":1}}", "point 0: no timestamp" },
		{ "{\"measurement\":\"a\",\"timestamp\":1,"
		    "\"tags\":{\"k\":2},\"fields\":{\"value\":1}}",
		    "point 0: a tag that is not a string" },
		{ "{\"measurement\":\"a\",\"timestamp\":1,\"tags\":{},"
		    "\"fields\":{\"value\":\"s\"}}",
		    "point 0: a value that is not a number or a boolean" },
		{ "{\"measurement\":\"a\",\"timestamp\":1,\"tags\":{},"
		    "\"fields\":{}}", "point 0: no fields.value" },
		{ "{\"measurement\":\"a\",\"timestamp\":1,\"tags\":{},"
		    "\"fields\":{\"value\":1e400}}",
		    "point 0: a number beyond the range of a double" },
	};
	struct buf	 got;
	size_t		 i, dropped;
	char		 doc[512], why[256];

	buf_init(&got);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"points\":[%s,%s]}",
		    bad[i].point, GOOD);
		buf_reset(&got);
		cr_assert_eq(sender_json_lines(doc, strlen(doc), &got,
		    &dropped, why, sizeof(why)), 0, "%s: %s", doc, why);
		cr_assert_eq(dropped, 1, "%s", doc);
		cr_assert(strstr(why, bad[i].why) != NULL, "%s: %s", doc,
		    why);
		cr_assert_str_eq(got.p, "g value=1 5\n");
	}
	buf_free(&got);
#undef GOOD
}
