/*
 * sender_cut_as_json: a request of line protocol messages rewritten as
 * the json messages their producers would have written, point for
 * point; a message that does not read back leaves the request as it was.
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

/* Message `i` of the cut: `n` points from `ps`, as lines in `c`, and
 * the json message they make in `want`. */
static void
add_message(struct cut *c, size_t *offs, const struct point *ps, size_t n,
    struct buf *want)
{
	struct buf	 pts;
	size_t		 i;

	buf_init(&pts);
	offs[c->nmsgs] = c->body.len;
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&pts, '\n');
		encode_point(&pts, FORMAT_JSON, &ps[i]);
		encode_point(&c->body, FORMAT_LINE, &ps[i]);
		buf_addc(&c->body, '\n');
	}
	encode_message(want, FORMAT_JSON, TOPIC, pts.p, pts.len, n);
	buf_addc(want, '|');
	c->msgs[c->nmsgs].npoints = (uint32_t)n;
	c->nmsgs++;
	c->npoints += (uint32_t)n;
	buf_free(&pts);
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

Test(sender_convert, lines_become_the_json_of_the_same_points)
{
	struct point	 ps[4];
	struct sink_msg	 msgs[2];
	struct cut	 c;
	struct buf	 want, got;
	size_t		 offs[2], i;
	char		 why[256];

	sender_cut_init(&c);
	c.msgs = msgs;
	c.capmsgs = 2;
	c.topic = TOPIC;
	c.fmt = FORMAT_LINE;
	buf_init(&want);
	make(&ps[0], "x", "all", " x, y=z ", 4.25, 0);
	make(&ps[1], "x", "city", "Z\xc3\xbcrich <&>", 6.02e23, 0);
	make(&ps[2], "tiny", NULL, NULL, 1e-310, 0);
	make(&ps[3], "flag", "k", "v", 1, 1);
	add_message(&c, offs, ps, 3, &want);
	add_message(&c, offs, ps + 3, 1, &want);
	fix_pointers(&c, offs);

	cr_assert_eq(sender_cut_as_json(&c, NOW, why, sizeof(why)), 0, "%s",
	    why);
	cr_assert_eq(c.fmt, FORMAT_JSON);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 4);
	buf_init(&got);
	for (i = 0; i < c.nmsgs; i++) {
		buf_add(&got, c.msgs[i].data, c.msgs[i].len);
		buf_addc(&got, '|');
	}
	cr_assert_str_eq(got.p, want.p);
	for (i = 0; i < 4; i++)
		point_free(&ps[i]);
	buf_free(&got);
	buf_free(&want);
	c.msgs = NULL;
	sender_cut_free(&c);
}

Test(sender_convert, a_message_that_does_not_read_back_stays)
{
	static const char	 body[] = "RUN.a,host=h value=1 1\nnot a line\n";
	struct sink_msg		 msgs[1];
	struct cut		 c;
	char			 why[256];

	sender_cut_init(&c);
	buf_add(&c.body, body, sizeof(body) - 1);
	msgs[0].data = c.body.p;
	msgs[0].len = c.body.len;
	msgs[0].npoints = 2;
	c.msgs = msgs;
	c.nmsgs = 1;
	c.npoints = 2;
	c.topic = TOPIC;
	c.fmt = FORMAT_LINE;
	cr_assert_eq(sender_cut_as_json(&c, NOW, why, sizeof(why)), -1);
	cr_assert(strstr(why, "message 0 does not read back as 2 points: "
	    "line 2") != NULL, "%s", why);
	cr_assert_eq(c.fmt, FORMAT_LINE);
	cr_assert_eq(msgs[0].data, c.body.p);
	cr_assert_str_eq(c.body.p, body);
	c.msgs = NULL;
	sender_cut_free(&c);
}
