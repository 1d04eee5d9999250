/*
 * Cutting requests from the sender's buffer (sender_cut_next() in sender.h):
 * several messages per request at the point, message-byte, request-byte
 * and message-count limits, one topic and format per request, and a
 * property run over random buffers that checks every point goes out
 * exactly once, in order, within every limit.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "workers/sender/sender.h"

#define TOPIC	"collect.pool.loda"

static struct batchq	 q;

static void
setup(void)
{
	TAILQ_INIT(&q);
}

static void
teardown(void)
{
	struct batch	*b;

	while ((b = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, b, entry);
		free(b->data);
		free(b);
	}
}

/* Append a batch of `n` points "<prefix><i>" padded to `width` bytes. */
static struct batch *
add_batch(const char *topic, enum out_format fmt, const char *prefix,
    uint32_t first, uint32_t n, size_t width)
{
	struct batch	*b;
	struct buf	 d;
	size_t		 start;
	uint32_t	 i;

	cr_assert_not_null(b = calloc(1, sizeof(*b)));
	buf_init(&d);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&d, '\n');
		start = d.len;
		buf_printf(&d, "%s%u", prefix, first + i);
		while (d.len - start < width)
			buf_addc(&d, 'x');
	}
	cr_assert(!buf_failed(&d));
	b->data = d.p;
	b->len = d.len;
	b->npoints = n;
	b->fmt = fmt;
	strlcpy(b->topic, topic, sizeof(b->topic));
	TAILQ_INSERT_TAIL(&q, b, entry);
	return b;
}

static void
batch_gone(struct batch *b)
{
	TAILQ_REMOVE(&q, b, entry);
	free(b->data);
	free(b);
}

/* The first `n` points of the buffer are gone. */
static void
consume_head(uint32_t n)
{
	struct batch	*b;
	uint32_t	 left;

	while (n > 0 && (b = TAILQ_FIRST(&q)) != NULL) {
		left = b->npoints - b->done;
		(void)sender_batch_advance(b, n);
		n = n > left ? n - left : 0;
		if (b->done == b->npoints)
			batch_gone(b);
	}
}

/*
 * What sender_consume() does: the points the cut took are gone.  Its
 * takes are in the buffer's order and add up to the cut's points.
 */
static void
consume_cut(struct cut *c)
{
	struct batch	*b, *at = TAILQ_FIRST(&q);
	uint32_t	 sum = 0;
	size_t		 i, len;

	for (i = 0; i < c->ntakes; i++) {
		b = c->takes[i].b;
		while (at != NULL && at != b)
			at = TAILQ_NEXT(at, entry);
		cr_assert_not_null(at, "take %zu: a batch of the buffer, in "
		    "order", i);
		at = TAILQ_NEXT(at, entry);
		cr_assert_gt(c->takes[i].n, 0);
		cr_assert_leq(c->takes[i].n, b->npoints - b->done);
		sum += c->takes[i].n;
		len = b->len - b->off;
		cr_assert_leq(sender_batch_advance(b, c->takes[i].n), len);
		if (b->done == b->npoints)
			batch_gone(b);
	}
	if (c->nmsgs > 0)
		cr_assert_eq(sum, c->npoints);
	c->ntakes = 0;
}

static struct cut_limits
limits(uint32_t points, size_t msgbytes, size_t reqbytes, size_t reqmsgs)
{
	struct cut_limits	 l;

	l.points = points;
	l.msgbytes = msgbytes;
	l.reqbytes = reqbytes;
	l.reqmsgs = reqmsgs;
	l.gather = SIZE_MAX;
	return l;
}

/* Message `i` of the cut as a C string (freed by the caller). */
static char *
msg_str(const struct cut *c, size_t i)
{
	char	*s;

	cr_assert_lt(i, c->nmsgs);
	cr_assert_not_null(s = strndup(c->msgs[i].data, c->msgs[i].len));
	return s;
}

/* The messages sit back to back in the body, in order. */
static void
assert_layout(const struct cut *c)
{
	size_t		 i, off = 0;
	uint32_t	 pts = 0;

	for (i = 0; i < c->nmsgs; i++) {
		cr_assert_eq(c->msgs[i].data, c->body.p + off, "message %zu",
		    i);
		cr_assert_gt(c->msgs[i].len, 0);
		off += c->msgs[i].len;
		pts += c->msgs[i].npoints;
	}
	cr_assert_eq(off, c->body.len);
	cr_assert_eq(pts, c->npoints);
}

TestSuite(cut, .init = setup, .fini = teardown);

Test(cut, empty_buffer)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);

	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 0);
	cr_assert_eq(c.nmsgs, 0);
	sender_cut_free(&c);
}

Test(cut, one_message_when_all_fits)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);
	char			*s;

	add_batch(TOPIC, FORMAT_LINE, "m v=", 0, 3, 0);
	add_batch(TOPIC, FORMAT_LINE, "m v=", 3, 2, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 1);
	cr_assert_eq(c.npoints, 5);
	cr_assert_str_eq(c.topic, TOPIC);
	cr_assert_eq(c.fmt, FORMAT_LINE);
	s = msg_str(&c, 0);
	cr_assert_str_eq(s, "m v=0\nm v=1\nm v=2\nm v=3\nm v=4\n");
	free(s);
	assert_layout(&c);
	sender_cut_free(&c);
}

Test(cut, several_messages_at_batchpoints)
{
	struct cut		 c;
	struct cut_limits	 l = limits(3, 1048576, 5242880, 100);
	const char		*want[] = { "p0\np1\np2\n", "p3\np4\np5\n",
	    "p6\np7\np8\n", "p9\n" };
	char			*s;
	size_t			 i;

	/* the points of a message come from several batches */
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 4, 0);
	add_batch(TOPIC, FORMAT_LINE, "p", 4, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "p", 5, 5, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 4);
	cr_assert_eq(c.npoints, 10);
	for (i = 0; i < 4; i++) {
		s = msg_str(&c, i);
		cr_assert_str_eq(s, want[i]);
		free(s);
		cr_assert_eq(c.msgs[i].npoints, i < 3 ? 3 : 1);
	}
	assert_layout(&c);
	sender_cut_free(&c);
}

Test(cut, requestmessages_bounds_the_count)
{
	struct cut		 c;
	struct cut_limits	 l = limits(3, 1048576, 5242880, 2);
	char			*s;

	add_batch(TOPIC, FORMAT_LINE, "p", 0, 10, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 6);
	/* the next request starts where this one ended */
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 4);
	s = msg_str(&c, 0);
	cr_assert_str_eq(s, "p6\np7\np8\n");
	free(s);
	/* 1: one message per request, as after a refused MPUB */
	l.reqmsgs = 1;
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 1);
	cr_assert_eq(c.npoints, 3);
	sender_cut_free(&c);
}

Test(cut, messagebytes_bounds_each_message)
{
	struct cut		 c;
	struct cut_limits	 l;
	size_t			 room, i;

	/*
	 * Points of 100 bytes take 101 with their separator, 8 of them
	 * 807: room for exactly 7 in a message, one byte short of 8.
	 */
	room = 8 * 101 - 2;
	l = limits(1000, room + SENDER_ENVELOPE_BYTES + strlen(TOPIC),
	    5242880, 100);
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 30, 100);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 5);
	cr_assert_eq(c.npoints, 30);
	for (i = 0; i < c.nmsgs; i++) {
		cr_assert_eq(c.msgs[i].npoints, i < 4 ? 7 : 2, "message %zu",
		    i);
		cr_assert_leq(c.msgs[i].len, l.msgbytes);
	}
	/* one byte more and 8 fit */
	l.msgbytes++;
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.msgs[0].npoints, 8);
	sender_cut_free(&c);
}

Test(cut, json_messages_stay_within_messagebytes)
{
	struct cut		 c;
	struct cut_limits	 l;
	size_t			 i, room;
	uint32_t		 n;
	char			*s;

	l = limits(1000, 4096, 5242880, 100);
	add_batch(TOPIC, FORMAT_JSON, "{\"p\":", 0, 200, 60);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_gt(c.nmsgs, 1);
	cr_assert_eq(c.npoints, 200);
	for (i = 0; i < c.nmsgs; i++) {
		cr_assert_leq(c.msgs[i].len, 4096);
		/* a message is a whole document, not a slice of one */
		s = msg_str(&c, i);
		cr_assert(strncmp(s, "{\"database\":\"" TOPIC "\"",
		    strlen("{\"database\":\"" TOPIC "\"")) == 0, "%s", s);
		cr_assert(strstr(s, "],\"precision\":\"s\"}") ==
		    s + strlen(s) - strlen("],\"precision\":\"s\"}"), "%s", s);
		free(s);
	}
	/*
	 * Points of 60 bytes and a comma each: the first message stops
	 * where the next point would not fit in what the envelope and the
	 * topic leave.
	 */
	room = 4096 - SENDER_ENVELOPE_BYTES - strlen(TOPIC);
	n = c.msgs[0].npoints;
	cr_assert_leq((size_t)n * 61 - 1, room);
	cr_assert_gt((size_t)(n + 1) * 61 - 1, room);
	assert_layout(&c);
	sender_cut_free(&c);
}

Test(cut, requestbytes_bounds_several_messages)
{
	struct cut		 c;
	struct cut_limits	 l;
	uint64_t		 size;
	size_t			 i;

	/* messages of 10 points of 100 bytes: 1010 bytes of lines */
	l = limits(10, 1048576, 20000, 1000);
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 1000, 100);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_gt(c.nmsgs, 1);
	size = sender_cut_mpub_size(c.msgs, c.nmsgs);
	cr_assert_leq(size, 20000);
	/* full, short of what one more message would need (its size
	 * field, a point and the envelope the cut must allow for) */
	cr_assert_gt(size + 4 + 101 + SENDER_ENVELOPE_BYTES + strlen(TOPIC),
	    20000, "size %llu", (unsigned long long)size);
	for (i = 0; i < c.nmsgs; i++)
		cr_assert_leq(c.msgs[i].npoints, 10);
	sender_cut_free(&c);
}

Test(cut, one_message_is_not_bounded_by_requestbytes)
{
	struct cut		 c;
	struct cut_limits	 l;

	/* a message larger than requestbytes still goes, alone, as PUB */
	l = limits(1000, 1048576, 4096, 100);
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 100, 100);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 1);
	cr_assert_eq(c.npoints, 100);
	cr_assert_gt(c.msgs[0].len, 4096);
	sender_cut_free(&c);
}

Test(cut, one_topic_and_format_per_request)
{
	struct cut		 c;
	struct cut_limits	 l = limits(2, 1048576, 5242880, 100);
	char			*s;

	add_batch(TOPIC, FORMAT_LINE, "a", 0, 3, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 0, 3, 0);
	add_batch("collect.other", FORMAT_JSON, "{\"c\":", 0, 1, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 3);
	cr_assert_str_eq(c.topic, TOPIC);
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_str_eq(c.topic, "collect.other");
	cr_assert_eq(c.fmt, FORMAT_LINE);
	cr_assert_eq(c.npoints, 3);
	s = msg_str(&c, 1);
	cr_assert_str_eq(s, "b2\n");
	free(s);
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.fmt, FORMAT_JSON);
	cr_assert_eq(c.nmsgs, 1);
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 0);
	sender_cut_free(&c);
}

Test(cut, a_partly_published_batch_starts_where_it_stopped)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);
	char			*s;

	add_batch(TOPIC, FORMAT_LINE, "p", 0, 5, 0);
	consume_head(2);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.npoints, 3);
	s = msg_str(&c, 0);
	cr_assert_str_eq(s, "p2\np3\np4\n");
	free(s);
	sender_cut_free(&c);
}

Test(cut, first_point_over_messagebytes)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 4096, 5242880, 100);

	add_batch(TOPIC, FORMAT_LINE, "big", 0, 1, 5000);
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 1, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), -2);
	cr_assert_eq(c.ntakes, 1);
	cr_assert_eq(c.takes[0].n, 1);
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.npoints, 1);
	sender_cut_free(&c);
}

Test(cut, a_big_point_after_others_ends_the_request)
{
	struct cut		 c;
	struct cut_limits	 l = limits(2, 4096, 5242880, 100);

	/* not an error there: it starts (and fails) a request of its own */
	add_batch(TOPIC, FORMAT_LINE, "p", 0, 3, 0);
	add_batch(TOPIC, FORMAT_LINE, "big", 0, 1, 5000);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.nmsgs, 2);
	cr_assert_eq(c.npoints, 3);
	consume_cut(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), -2);
	sender_cut_free(&c);
}

Test(cut, mpub_size)
{
	struct sink_msg	 m[3] = {
		{ "a", 1, 1 }, { "bb", 2, 1 }, { "ccc", 3, 1 }
	};

	/* count, then a size field and the bytes per message */
	cr_assert_eq(sender_cut_mpub_size(m, 0), 4);
	cr_assert_eq(sender_cut_mpub_size(m, 1), 4 + 4 + 1);
	cr_assert_eq(sender_cut_mpub_size(m, 3), 4 + 5 + 6 + 7);
}

/* Cut everything away, checking each request; returns the requests. */
static size_t
drain(const struct cut_limits *l, uint32_t total, enum out_format fmt)
{
	struct cut	 c;
	char		 want[32], *s, *line, *save;
	uint32_t	 seen = 0, inmsg;
	size_t		 i, requests = 0;
	int		 rv;

	sender_cut_init(&c);
	while ((rv = sender_cut_next(&c, &q, l)) == 1) {
		requests++;
		cr_assert_geq(c.nmsgs, 1);
		cr_assert_leq(c.nmsgs, l->reqmsgs);
		if (c.nmsgs > 1)
			cr_assert_leq(sender_cut_mpub_size(c.msgs, c.nmsgs),
			    l->reqbytes);
		assert_layout(&c);
		for (i = 0; i < c.nmsgs; i++) {
			cr_assert_leq(c.msgs[i].len, l->msgbytes);
			cr_assert_leq(c.msgs[i].npoints, l->points);
			cr_assert_geq(c.msgs[i].npoints, 1);
			s = msg_str(&c, i);
			inmsg = 0;
			/* line: one point per line; json: "{"p":N..." */
			for (line = strtok_r(s, fmt == FORMAT_LINE ? "\n" :
			    "[", &save); line != NULL; line = strtok_r(NULL,
			    fmt == FORMAT_LINE ? "\n" : ",[", &save)) {
				if (fmt == FORMAT_JSON &&
				    strncmp(line, "{\"p\":", 5) != 0)
					continue;
				snprintf(want, sizeof(want), fmt ==
				    FORMAT_LINE ? "p%u" : "{\"p\":%u", seen);
				cr_assert(strncmp(line, want, strlen(want)) ==
				    0 && (line[strlen(want)] == 'x' ||
				    line[strlen(want)] == ']' ||
				    line[strlen(want)] == '\0'),
				    "point %u: got \"%.40s\"", seen, line);
				seen++;
				inmsg++;
			}
			cr_assert_eq(inmsg, c.msgs[i].npoints);
			free(s);
		}
		consume_cut(&c);
	}
	cr_assert_eq(rv, 0);
	cr_assert_eq(seen, total, "every point exactly once");
	sender_cut_free(&c);
	return requests;
}

Test(cut, random_buffers_every_point_once_within_limits)
{
	struct cut_limits	 l;
	uint32_t		 total, n;
	size_t			 requests;
	unsigned int		 seed = 20240601;
	int			 round;
	enum out_format		 fmt;

	for (round = 0; round < 60; round++) {
		fmt = round % 2 == 0 ? FORMAT_LINE : FORMAT_JSON;
		l = limits(1 + (uint32_t)(rand_r(&seed) % 50),
		    2048 + (size_t)(rand_r(&seed) % 8192),
		    4096 + (size_t)(rand_r(&seed) % 65536),
		    1 + (size_t)(rand_r(&seed) % 20));
		total = 0;
		while (total < 3000) {
			n = 1 + (uint32_t)(rand_r(&seed) % 300);
			add_batch(TOPIC, fmt, fmt == FORMAT_LINE ? "p" :
			    "{\"p\":", total, n,
			    (size_t)(rand_r(&seed) % 200));
			total += n;
		}
		requests = drain(&l, total, fmt);
		cr_assert_gt(requests, 0);
		cr_assert(TAILQ_EMPTY(&q));
	}
}

/* The points of message `i` of the cut, as one string. */
static void
assert_msg(const struct cut *c, size_t i, const char *want)
{
	char	*s = msg_str(c, i);

	cr_assert_str_eq(s, want);
	free(s);
}

/* The next request is of `topic`, its first message `msg0` (NULL: not
 * looked at); then it is published. */
static void
next_is(struct cut *c, const struct cut_limits *l, const char *topic,
    const char *msg0)
{
	cr_assert_eq(sender_cut_next(c, &q, l), 1);
	cr_assert_str_eq(c->topic, topic);
	if (msg0 != NULL)
		assert_msg(c, 0, msg0);
	consume_cut(c);
}

Test(cut, topics_taking_turns_make_one_request_a_topic)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);

	/* one-point posts of two namespaces in turn */
	add_batch(TOPIC, FORMAT_LINE, "a", 0, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 0, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 1, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 1, 2, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 2, 1, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_str_eq(c.topic, TOPIC);
	cr_assert_eq(c.nmsgs, 1);
	cr_assert_eq(c.npoints, 3);
	cr_assert_eq(c.ntakes, 3);
	assert_msg(&c, 0, "a0\na1\na2\n");
	consume_cut(&c);
	next_is(&c, &l, "collect.other", "b0\nb1\nb2\n");
	cr_assert(TAILQ_EMPTY(&q));
	cr_assert_eq(sender_cut_next(&c, &q, &l), 0);
	sender_cut_free(&c);
}

Test(cut, a_request_ends_at_its_topic_in_another_format)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);

	/* a reload changed the format between the two: a1 must not pass
	 * the json point of its topic */
	add_batch(TOPIC, FORMAT_LINE, "a", 0, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 0, 1, 0);
	add_batch(TOPIC, FORMAT_JSON, "{\"j\":", 0, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 1, 1, 0);
	sender_cut_init(&c);
	next_is(&c, &l, TOPIC, "a0\n");
	next_is(&c, &l, "collect.other", "b0\n");
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	cr_assert_eq(c.fmt, FORMAT_JSON);
	consume_cut(&c);
	next_is(&c, &l, TOPIC, "a1\n");
	cr_assert(TAILQ_EMPTY(&q));
	sender_cut_free(&c);
}

/* a, `others` batches of another topic, a: how many points the first
 * request holds. */
static uint32_t
first_request_past(uint32_t others)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);
	uint32_t		 i, n;

	add_batch(TOPIC, FORMAT_LINE, "a", 0, 1, 0);
	for (i = 0; i < others; i++)
		add_batch("collect.other", FORMAT_LINE, "b", i, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 1, 1, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	n = c.npoints;
	sender_cut_free(&c);
	teardown();
	return n;
}

Test(cut, a_request_passes_a_bounded_number_of_other_batches)
{
	cr_assert_eq(first_request_past(SENDER_CUT_SCAN), 2);
	cr_assert_eq(first_request_past(SENDER_CUT_SCAN + 1), 1);
}

Test(cut, a_request_passes_other_topics_only_while_it_is_small)
{
	struct cut		 c;
	struct cut_limits	 l = limits(1000, 1048576, 5242880, 100);

	/* gather 2: a0, past b0 a1, then no further past b1; a2 a3 in a
	 * row go together whatever the count */
	l.gather = 2;
	add_batch(TOPIC, FORMAT_LINE, "a", 0, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 0, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 1, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 1, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 2, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 3, 2, 0);
	sender_cut_init(&c);
	next_is(&c, &l, TOPIC, "a0\na1\n");
	next_is(&c, &l, "collect.other", "b0\nb1\n");
	next_is(&c, &l, TOPIC, "a2\na3\na4\n");
	cr_assert(TAILQ_EMPTY(&q));
	sender_cut_free(&c);
}

Test(cut, a_partly_published_later_batch_goes_on_from_where_it_stopped)
{
	struct cut		 c;
	struct cut_limits	 l = limits(3, 1048576, 5242880, 1);

	/* three points a message, one message a request: the second
	 * batch of the topic is cut in the middle */
	add_batch(TOPIC, FORMAT_LINE, "a", 0, 1, 0);
	add_batch("collect.other", FORMAT_LINE, "b", 0, 1, 0);
	add_batch(TOPIC, FORMAT_LINE, "a", 1, 4, 0);
	sender_cut_init(&c);
	cr_assert_eq(sender_cut_next(&c, &q, &l), 1);
	assert_msg(&c, 0, "a0\na1\na2\n");
	cr_assert_eq(c.ntakes, 2);
	cr_assert_eq(c.takes[1].n, 2);
	consume_cut(&c);
	/* the head is now the other topic's */
	next_is(&c, &l, "collect.other", "b0\n");
	next_is(&c, &l, TOPIC, "a3\na4\n");
	cr_assert(TAILQ_EMPTY(&q));
	sender_cut_free(&c);
}

/*
 * Random buffers of three topics in turn: every point goes once, each
 * topic's in order, each request of one topic and within every limit;
 * and a topic waits behind no more requests than there are topics.
 */
Test(cut, random_topics_in_turn_every_point_once_in_order)
{
	static const char	*topics[3] = { TOPIC, "collect.b", "collect.c" };
	static const char	*prefix[3] = { "a", "b", "c" };
	struct cut		 c;
	struct cut_limits	 l;
	uint32_t		 total[3], seen[3], n;
	unsigned int		 seed = 20261206;
	char			 want[32], *s, *line, *save;
	size_t			 i, requests, bound;
	int			 round, t, rv;

	for (round = 0; round < 40; round++) {
		l = limits(1 + (uint32_t)(rand_r(&seed) % 50),
		    2048 + (size_t)(rand_r(&seed) % 8192),
		    4096 + (size_t)(rand_r(&seed) % 65536),
		    1 + (size_t)(rand_r(&seed) % 20));
		memset(total, 0, sizeof(total));
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 600; i++) {
			t = (int)(rand_r(&seed) % 3);
			n = 1 + (uint32_t)(rand_r(&seed) % 5);
			add_batch(topics[t], FORMAT_LINE, prefix[t], total[t],
			    n, (size_t)(rand_r(&seed) % 100));
			total[t] += n;
		}
		/* what one topic alone would need, three times over */
		bound = 0;
		for (t = 0; t < 3; t++)
			bound += 1 + total[t] / l.points;
		requests = 0;
		sender_cut_init(&c);
		while ((rv = sender_cut_next(&c, &q, &l)) == 1) {
			requests++;
			assert_layout(&c);
			for (t = 0; t < 3; t++)
				if (strcmp(c.topic, topics[t]) == 0)
					break;
			cr_assert_lt(t, 3);
			for (i = 0; i < c.nmsgs; i++) {
				cr_assert_leq(c.msgs[i].len, l.msgbytes);
				cr_assert_leq(c.msgs[i].npoints, l.points);
				s = msg_str(&c, i);
				for (line = strtok_r(s, "\n", &save);
				    line != NULL;
				    line = strtok_r(NULL, "\n", &save)) {
					snprintf(want, sizeof(want), "%s%u",
					    prefix[t], seen[t]);
					cr_assert(strncmp(line, want,
					    strlen(want)) == 0 &&
					    (line[strlen(want)] == 'x' ||
					    line[strlen(want)] == '\0'),
					    "%s point %u: got \"%.40s\"",
					    topics[t], seen[t], line);
					seen[t]++;
				}
				free(s);
			}
			if (c.nmsgs > 1)
				cr_assert_leq(sender_cut_mpub_size(c.msgs,
				    c.nmsgs), l.reqbytes);
			consume_cut(&c);
		}
		cr_assert_eq(rv, 0);
		sender_cut_free(&c);
		for (t = 0; t < 3; t++)
			cr_assert_eq(seen[t], total[t], "%s: every point once",
			    topics[t]);
		cr_assert(TAILQ_EMPTY(&q));
		/* the bytes limits may cut more often than points do */
		cr_assert_leq(requests, bound * 4, "round %d: %zu requests "
		    "for %zu", round, requests, bound);
	}
}
