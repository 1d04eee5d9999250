/*
 * sender_cut_convert: a request rewritten, lines as json or json as
 * lines, as the messages their producers would have written, point for
 * point; a point lines cannot carry left out and counted, a message left
 * empty gone; a message that does not read back leaves the request as it
 * was.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "point.h"
#include "workers/sender/sender.h"

#define NOW	1714538000
#define TOPIC	"collect.pool.loda"

static void
make(struct point *p, const char *name, const char *k, const char *v,
    double val, int isbool)
{
	char	 err[256];

	point_init(p);
	cr_assert_eq(point_set_name(p, name, strlen(name)), 0);
	if (k != NULL)
		cr_assert_eq(point_add_tag(p, k, strlen(k), v, strlen(v)), 0);
	if (isbool)
		point_set_bool(p, val != 0);
	else
		point_set_float(p, val);
	p->timestamp = NOW;
	cr_assert_eq(point_normalize(p, "RUN.", "web-01", NOW, err,
	    sizeof(err)), 0, "%s", err);
}

/* Message `i` of the cut: `n` points from `ps`, in `from` in `c`, and
 * the message they make in `to` appended to `want`, then '|'. */
static void
add_message(struct cut *c, size_t *offs, const struct point *ps, size_t n,
    enum out_format from, enum out_format to, struct buf *want)
{
	struct buf	 src, dst;
	size_t		 i;

	buf_init(&src);
	buf_init(&dst);
	for (i = 0; i < n; i++) {
		if (i > 0) {
			buf_addc(&src, '\n');
			buf_addc(&dst, '\n');
		}
		encode_point(&src, from, &ps[i]);
		encode_point(&dst, to, &ps[i]);
	}
	offs[c->nmsgs] = c->body.len;
	encode_message(&c->body, from, TOPIC, src.p, src.len, n);
	if (want != NULL) {
		encode_message(want, to, TOPIC, dst.p, dst.len, n);
		buf_addc(want, '|');
	}
	c->msgs[c->nmsgs].npoints = (uint32_t)n;
	c->nmsgs++;
	c->npoints += (uint32_t)n;
	c->fmt = from;
	buf_free(&src);
	buf_free(&dst);
}

static void
fix_pointers(struct cut *c, const size_t *offs)
{
	size_t	 i;

	for (i = 0; i < c->nmsgs; i++) {
		c->msgs[i].data = c->body.p + offs[i];
		c->msgs[i].len = (i + 1 < c->nmsgs ? offs[i + 1] :
		    c->body.len) - offs[i];
	}
}

static void
init_cut(struct cut *c, struct sink_msg *msgs, size_t cap)
{
	sender_cut_init(c);
	c->msgs = msgs;
	c->capmsgs = cap;
	c->topic = TOPIC;
}

/* The messages of `c`, each followed by '|'. */
static void
messages(const struct cut *c, struct buf *got)
{
	size_t	 i;

	for (i = 0; i < c->nmsgs; i++) {
		buf_add(got, c->msgs[i].data, c->msgs[i].len);
		buf_addc(got, '|');
	}
	buf_addc(got, '\0');
}

/* Two messages of these points, from one format to the other. */
static void
both_ways(enum out_format from, enum out_format to)
{
	struct point	 ps[4];
	struct sink_msg	 msgs[2];
	struct cut	 c;
	struct buf	 want, got;
	size_t		 offs[2], i;
	uint32_t	 left = 99;
	char		 why[256];

	init_cut(&c, msgs, 2);
	buf_init(&want);
	make(&ps[0], "x", "all", " x, y=z ", 4.25, 0);
	make(&ps[1], "x", "city", "Z\xc3\xbcrich <&>", 6.02e23, 0);
	make(&ps[2], "tiny", NULL, NULL, 1e-310, 0);
	make(&ps[3], "flag", "k", "v", 1, 1);
	add_message(&c, offs, ps, 3, from, to, &want);
	add_message(&c, offs, ps + 3, 1, from, to, &want);
	buf_addc(&want, '\0');
	fix_pointers(&c, offs);

	cr_assert_eq(sender_cut_convert(&c, to, NOW, &left, why,
	    sizeof(why)), 0, "%s", why);
	cr_assert_eq(left, 0);
	cr_assert_eq(c.fmt, to);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 4);
	cr_assert_eq(c.msgs[0].npoints + c.msgs[1].npoints, 4);
	buf_init(&got);
	messages(&c, &got);
	cr_assert_str_eq(got.p, want.p);
	for (i = 0; i < 4; i++)
		point_free(&ps[i]);
	buf_free(&got);
	buf_free(&want);
	c.msgs = NULL;
	sender_cut_free(&c);
}

Test(sender_convert, lines_become_the_json_of_the_same_points)
{
	both_ways(FORMAT_LINE, FORMAT_JSON);
}

Test(sender_convert, json_becomes_the_lines_of_the_same_points)
{
	both_ways(FORMAT_JSON, FORMAT_LINE);
}

Test(sender_convert, a_request_in_the_format_already_is_left_alone)
{
	struct point	 p;
	struct sink_msg	 msgs[1];
	struct cut	 c;
	size_t		 offs[1];
	uint32_t	 left = 99;
	char		 why[256] = "";

	init_cut(&c, msgs, 1);
	make(&p, "x", NULL, NULL, 1, 0);
	add_message(&c, offs, &p, 1, FORMAT_JSON, FORMAT_JSON, NULL);
	fix_pointers(&c, offs);
	cr_assert_eq(sender_cut_convert(&c, FORMAT_JSON, NOW, &left, why,
	    sizeof(why)), 0);
	cr_assert_eq(left, 0);
	cr_assert_eq(msgs[0].data, c.body.p);
	point_free(&p);
	c.msgs = NULL;
	sender_cut_free(&c);
}

/*
 * A tag ending in a backslash, which json takes and a line cannot say:
 * left out, counted, its reason kept; the message it leaves empty is
 * gone; the request still counts every point it took from the buffer.
 */
Test(sender_convert, points_lines_cannot_carry_are_left_out)
{
	struct point	 ps[3];
	struct sink_msg	 msgs[3];
	struct cut	 c;
	struct buf	 got;
	size_t		 offs[3], i;
	uint32_t	 left;
	char		 why[256];

	init_cut(&c, msgs, 3);
	make(&ps[0], "bad", "path", "C:\\", 1, 0);
	make(&ps[1], "good", NULL, NULL, 2, 0);
	make(&ps[2], "bad", "path", "D:\\", 3, 0);
	add_message(&c, offs, &ps[0], 1, FORMAT_JSON, FORMAT_LINE, NULL);
	add_message(&c, offs, &ps[1], 2, FORMAT_JSON, FORMAT_LINE, NULL);
	add_message(&c, offs, &ps[2], 1, FORMAT_JSON, FORMAT_LINE, NULL);
	fix_pointers(&c, offs);

	cr_assert_eq(sender_cut_convert(&c, FORMAT_LINE, NOW, &left, why,
	    sizeof(why)), 0, "%s", why);
	cr_assert_eq(left, 3);
	cr_assert(strstr(why, "ends in a backslash") != NULL, "%s", why);
	cr_assert_eq(c.fmt, FORMAT_LINE);
	cr_assert_eq(c.npoints, 4);
	cr_assert_eq(c.nmsgs, 1);
	cr_assert_eq(c.msgs[0].npoints, 1);
	buf_init(&got);
	messages(&c, &got);
	cr_assert_str_eq(got.p, "RUN.good,host=web-01 value=2 1714538000\n|");
	for (i = 0; i < 3; i++)
		point_free(&ps[i]);
	buf_free(&got);
	c.msgs = NULL;
	sender_cut_free(&c);
}

Test(sender_convert, a_request_all_left_out_holds_no_message)
{
	struct point	 p;
	struct sink_msg	 msgs[1];
	struct cut	 c;
	size_t		 offs[1];
	uint32_t	 left;
	char		 why[256];

	init_cut(&c, msgs, 1);
	make(&p, "bad", "path", "C:\\", 1, 0);
	add_message(&c, offs, &p, 1, FORMAT_JSON, FORMAT_LINE, NULL);
	fix_pointers(&c, offs);
	cr_assert_eq(sender_cut_convert(&c, FORMAT_LINE, NOW, &left, why,
	    sizeof(why)), 0, "%s", why);
	cr_assert_eq(left, 1);
	cr_assert_eq(c.nmsgs, 0);
	cr_assert_eq(c.npoints, 1);
	point_free(&p);
	c.msgs = NULL;
	sender_cut_free(&c);
}

/* One message of `body` in `fmt`, said to hold `n` points. */
static void
one_message(struct cut *c, struct sink_msg *msgs, const char *body,
    uint32_t n, enum out_format fmt)
{
	init_cut(c, msgs, 1);
	buf_adds(&c->body, body);
	msgs[0].data = c->body.p;
	msgs[0].len = c->body.len;
	msgs[0].npoints = n;
	c->nmsgs = 1;
	c->npoints = n;
	c->fmt = fmt;
}

Test(sender_convert, a_message_that_does_not_read_back_stays)
{
	static const struct {
		const char	*body;
		uint32_t	 n;
		enum out_format	 from;
		const char	*why;
	} bad[] = {
		{ "RUN.a,host=h value=1 1\nnot a line\n", 2, FORMAT_LINE,
		    "message 0 does not read back as 2 points: line 2" },
		{ "{\"database\":\"t\",\"points\":[", 1, FORMAT_JSON,
		    "message 0 does not read back as 1 points: a json "
		    "message" },
		/* a count that is not the message's */
		{ "{\"database\":\"t\",\"retentionPolicy\":\"default\","
		    "\"points\":[],\"precision\":\"s\"}", 1, FORMAT_JSON,
		    "message 0 does not read back as 1 points: 0 points" },
	};
	struct sink_msg		 msgs[1];
	struct cut		 c;
	uint32_t		 left = 99;
	size_t			 i;
	char			 why[256];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one_message(&c, msgs, bad[i].body, bad[i].n, bad[i].from);
		cr_assert_eq(sender_cut_convert(&c, bad[i].from == FORMAT_LINE ?
		    FORMAT_JSON : FORMAT_LINE, NOW, &left, why, sizeof(why)),
		    -2, "%s", bad[i].body);
		cr_assert(strstr(why, bad[i].why) != NULL, "%s", why);
		cr_assert_eq(left, 0);
		cr_assert_eq(c.fmt, bad[i].from);
		cr_assert_eq(msgs[0].data, c.body.p);
		cr_assert_str_eq(c.body.p, bad[i].body);
		c.msgs = NULL;
		sender_cut_free(&c);
	}
}

/*
 * A message that does not read back after one whose points were all
 * left out: the request comes back whole, its first message too, and
 * nothing counted as left out.
 */
Test(sender_convert, a_failure_after_a_point_left_out_leaves_all_as_it_was)
{
	static const char	 junk[] = "{\"points\":";
	struct point		 p;
	struct sink_msg		 msgs[2];
	struct cut		 c;
	struct buf		 before, after;
	size_t			 offs[2];
	uint32_t		 left = 99;
	char			 why[256];

	init_cut(&c, msgs, 2);
	make(&p, "bad", "path", "C:\\", 1, 0);
	add_message(&c, offs, &p, 1, FORMAT_JSON, FORMAT_LINE, NULL);
	offs[1] = c.body.len;
	buf_adds(&c.body, junk);
	msgs[1].npoints = 1;
	c.nmsgs = 2;
	c.npoints = 2;
	fix_pointers(&c, offs);
	buf_init(&before);
	messages(&c, &before);

	cr_assert_eq(sender_cut_convert(&c, FORMAT_LINE, NOW, &left, why,
	    sizeof(why)), -2);
	cr_assert(strstr(why, "message 1 does not read back") != NULL, "%s",
	    why);
	cr_assert_eq(left, 0);
	cr_assert_eq(c.fmt, FORMAT_JSON);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 2);
	cr_assert_eq(c.converted, 0);
	cr_assert_eq(msgs[0].data, c.body.p);
	buf_init(&after);
	messages(&c, &after);
	cr_assert_str_eq(after.p, before.p);
	point_free(&p);
	buf_free(&before);
	buf_free(&after);
	c.msgs = NULL;
	sender_cut_free(&c);
}

/* A rewritten request says so: a refusal as too big must know. */
Test(sender_convert, a_rewritten_request_says_so)
{
	struct point	 ps[2];
	struct sink_msg	 msgs[1];
	struct cut	 c;
	size_t		 offs[1];
	uint32_t	 left;
	char		 why[256];

	init_cut(&c, msgs, 1);
	make(&ps[0], "a", "k", "v", 1, 0);
	make(&ps[1], "b", NULL, NULL, 3.5, 0);
	add_message(&c, offs, ps, 2, FORMAT_LINE, FORMAT_JSON, NULL);
	fix_pointers(&c, offs);
	cr_assert_eq(sender_cut_convert(&c, FORMAT_LINE, NOW, &left, why,
	    sizeof(why)), 0, "%s", why);
	cr_assert_eq(c.converted, 0);
	cr_assert_eq(sender_cut_convert(&c, FORMAT_JSON, NOW, &left, why,
	    sizeof(why)), 0, "%s", why);
	cr_assert_eq(c.converted, 1);
	point_free(&ps[0]);
	point_free(&ps[1]);
	c.msgs = NULL;
	sender_cut_free(&c);
}
