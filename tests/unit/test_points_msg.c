/* MSG_POINTS / MSG_POINTS_ACK payloads. */
#include <criterion/criterion.h>

#include <string.h>

#include "codec.h"
#include "points_msg.h"

static int
roundtrip(const struct points_msg *in, struct points_msg *out, char *err)
{
	struct pbuf	 pb;
	struct preader	 pr;
	static uint8_t	 keep[4096];
	int		 rv;

	codec_put_init(&pb);
	points_msg_encode(&pb, in);
	cr_assert(!codec_put_failed(&pb));
	cr_assert_leq(pb.len, sizeof(keep));
	memcpy(keep, pb.buf, pb.len);
	codec_get_init(&pr, keep, pb.len);
	rv = points_msg_decode(&pr, out, err, 256);
	codec_put_free(&pb);
	return rv;
}

Test(points_msg, round_trip)
{
	struct points_msg	 m, back;
	char			 err[256];

	memset(&m, 0, sizeof(m));
	m.fmt = FORMAT_LINE;
	m.origin = ORIGIN_SCHEDULED;
	strcpy(m.topic, "collect.pool.loda");
	m.data = "a value=1 1\nb value=2 2";
	m.len = strlen(m.data);
	m.npoints = 2;
	cr_assert_eq(roundtrip(&m, &back, err), 0, "%s", err);
	cr_assert_eq(back.fmt, FORMAT_LINE);
	cr_assert_eq(back.origin, ORIGIN_SCHEDULED);
	cr_assert_str_eq(back.topic, "collect.pool.loda");
	cr_assert_eq(back.npoints, 2);
	cr_assert_eq(back.len, m.len);
	cr_assert_eq(memcmp(back.data, m.data, m.len), 0);
}

Test(points_msg, count_must_match_the_data)
{
	struct points_msg	 m, back;
	char			 err[256];

	memset(&m, 0, sizeof(m));
	strcpy(m.topic, "t");
	m.data = "a\nb\nc";
	m.len = 5;
	m.npoints = 2;
	cr_assert_eq(roundtrip(&m, &back, err), -1);
	cr_assert(strstr(err, "2 points announced, 3 found") != NULL, "%s",
	    err);
	m.data = "a\n";
	m.len = 2;
	m.npoints = 1;
	cr_assert_eq(roundtrip(&m, &back, err), -1);
	m.npoints = 0;
	m.len = 0;
	m.data = "";
	cr_assert_eq(roundtrip(&m, &back, err), -1);
	cr_assert(strstr(err, "bad header") != NULL, "%s", err);
	/* the peer's topic in the error is shown, never raw */
	strcpy(m.topic, "t\x1b]0;x\a");
	cr_assert_eq(roundtrip(&m, &back, err), -1);
	cr_assert(strstr(err, "topic \"t\\x1b]0;x\\x07\"") != NULL, "%s",
	    err);
}

Test(points_msg, ack)
{
	struct pbuf		 pb;
	struct preader		 pr;
	enum points_verdict	 v;
	char			 msg[64];

	codec_put_init(&pb);
	points_ack_encode(&pb, POINTS_FULL, "buffer full");
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(points_ack_decode(&pr, &v, msg, sizeof(msg)), 0);
	cr_assert_eq(v, POINTS_FULL);
	cr_assert_str_eq(msg, "buffer full");
	codec_put_reset(&pb);
	codec_put_u32(&pb, 7);
	codec_put_str(&pb, "x");
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(points_ack_decode(&pr, &v, msg, sizeof(msg)), -1);
	codec_put_free(&pb);
}

/* The head and then the points on the wire: the bytes of the whole. */
Test(points_msg, head_then_points_is_the_whole)
{
	struct points_msg	 m, back;
	struct pbuf		 whole, head;
	struct preader		 pr;
	uint8_t			 wire[256];
	char			 err[256];

	memset(&m, 0, sizeof(m));
	m.fmt = FORMAT_JSON;
	m.origin = ORIGIN_PUSHED;
	strcpy(m.topic, "collect.pool.loda");
	m.data = "{\"a\":1}\n{\"b\":2}";
	m.len = strlen(m.data);
	m.npoints = 2;
	codec_put_init(&whole);
	points_msg_encode(&whole, &m);
	codec_put_init(&head);
	points_msg_encode_head(&head, &m);
	cr_assert(!codec_put_failed(&whole) && !codec_put_failed(&head));
	cr_assert_eq(head.len + m.len, whole.len);
	memcpy(wire, head.buf, head.len);
	memcpy(wire + head.len, m.data, m.len);
	cr_assert_eq(memcmp(wire, whole.buf, whole.len), 0);
	codec_get_init(&pr, wire, whole.len);
	cr_assert_eq(points_msg_decode(&pr, &back, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(back.len, m.len);
	cr_assert_eq(memcmp(back.data, m.data, m.len), 0);
	codec_put_free(&whole);
	codec_put_free(&head);
}
