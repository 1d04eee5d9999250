/*
 * The NSQ client codec: byte-exact commands, the frame reader at every
 * split point, classification of answers, topic names and the batch
 * splitter at nsqd's size limits.  Expected bytes are written out by
 * hand from https://nsq.io/clients/tcp_protocol_spec.html and
 * https://nsq.io/components/nsqd.html.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "config.h"
#include "workers/sender/nsq_proto.h"

/* Compare a buffer with expected bytes (which may hold NULs). */
#define ASSERT_BYTES(b, exp)	assert_bytes((b), (exp), sizeof(exp) - 1)

static void
assert_bytes(const struct buf *b, const char *exp, size_t len)
{
	size_t	 i;

	cr_assert(!buf_failed(b));
	cr_assert_eq(b->len, len, "length %zu, expected %zu", b->len, len);
	for (i = 0; i < len; i++)
		cr_assert_eq((unsigned char)b->p[i], (unsigned char)exp[i],
		    "byte %zu: 0x%02x, expected 0x%02x", i,
		    (unsigned char)b->p[i], (unsigned char)exp[i]);
}

/* ---- Commands ------------------------------------------------------- */

Test(nsq_enc, magic_and_nop)
{
	struct buf	 b;

	buf_init(&b);
	cr_assert_eq(nsq_enc_magic(&b), 0);
	ASSERT_BYTES(&b, "  V2");
	buf_reset(&b);
	cr_assert_eq(nsq_enc_nop(&b), 0);
	ASSERT_BYTES(&b, "NOP\n");
	buf_free(&b);
}

Test(nsq_enc, pub)
{
	struct buf	 b;

	buf_init(&b);
	cr_assert_eq(nsq_enc_pub(&b, "t", "hello", 5), 0);
	ASSERT_BYTES(&b, "PUB t\n" "\x00\x00\x00\x05" "hello");
	buf_reset(&b);
	/* Binary data travels as is, NULs and newlines included. */
	cr_assert_eq(nsq_enc_pub(&b, "a.b_c-d#ephemeral", "\0\n\xff", 3), 0);
	ASSERT_BYTES(&b, "PUB a.b_c-d#ephemeral\n" "\x00\x00\x00\x03"
	    "\x00\n\xff");
	buf_free(&b);
}

Test(nsq_enc, pub_size_bytes_are_big_endian)
{
	struct buf	 b;
	char		*msg;

	msg = malloc(0x010203);
	cr_assert_not_null(msg);
	memset(msg, 'x', 0x010203);
	buf_init(&b);
	cr_assert_eq(nsq_enc_pub(&b, "t", msg, 0x010203), 0);
	cr_assert_eq(b.len, 6 + 4 + 0x010203);
	cr_assert_eq(memcmp(b.p, "PUB t\n\x00\x01\x02\x03xx", 12), 0);
	buf_free(&b);
	free(msg);
}

Test(nsq_enc, mpub)
{
	struct buf	 b;
	struct nsq_msg	 m[2] = { { "ab", 2 }, { "cde", 3 } };

	buf_init(&b);
	cr_assert_eq(nsq_enc_mpub(&b, "metrics", m, 2), 0);
	/* body = 4 (count) + (4 + 2) + (4 + 3) = 17 = 0x11 */
	ASSERT_BYTES(&b, "MPUB metrics\n"
	    "\x00\x00\x00\x11"
	    "\x00\x00\x00\x02"
	    "\x00\x00\x00\x02" "ab"
	    "\x00\x00\x00\x03" "cde");
	cr_assert_eq(nsq_mpub_body_size(m, 2), 17);
	buf_free(&b);
}

Test(nsq_enc, mpub_single)
{
	struct buf	 b;
	struct nsq_msg	 m = { "z", 1 };

	buf_init(&b);
	cr_assert_eq(nsq_enc_mpub(&b, "t", &m, 1), 0);
	ASSERT_BYTES(&b, "MPUB t\n" "\x00\x00\x00\x09" "\x00\x00\x00\x01"
	    "\x00\x00\x00\x01" "z");
	buf_free(&b);
}

Test(nsq_enc, identify_all_fields)
{
	struct buf		 b;
	struct nsq_identify	 id = {
		.client_id = "c1",
		.hostname = "h",
		.user_agent = "agent/9.9",
		.heartbeat_ms = 30000,
		.msg_timeout_ms = 60000
	};

	buf_init(&b);
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	/* The JSON is 132 = 0x84 bytes. */
	ASSERT_BYTES(&b, "IDENTIFY\n" "\x00\x00\x00\x84"
	    "{\"client_id\":\"c1\",\"hostname\":\"h\","
	    "\"user_agent\":\"agent/9.9\",\"feature_negotiation\":true,"
	    "\"heartbeat_interval\":30000,\"msg_timeout\":60000}");
	buf_free(&b);
}

Test(nsq_enc, identify_minimal)
{
	struct buf		 b;
	struct nsq_identify	 id = { .user_agent = "x" };

	buf_init(&b);
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	ASSERT_BYTES(&b, "IDENTIFY\n" "\x00\x00\x00\x2d"
	    "{\"user_agent\":\"x\",\"feature_negotiation\":true}");
	buf_reset(&b);
	id.heartbeat_ms = -1;		/* heartbeats off */
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	cr_assert_str_eq(b.p + 13, "{\"user_agent\":\"x\","
	    "\"feature_negotiation\":true,\"heartbeat_interval\":-1}");
	buf_free(&b);
}

Test(nsq_enc, identify_default_user_agent)
{
	struct buf		 b;
	struct nsq_identify	 id = { .hostname = "h" };
	const char		*want;
	size_t			 n;

	want = "{\"hostname\":\"h\",\"user_agent\":\"agent/" PACKAGE_VERSION
	    "\",\"feature_negotiation\":true}";
	n = strlen(want);
	buf_init(&b);
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	cr_assert_eq(b.len, 9 + 4 + n);
	cr_assert_eq(memcmp(b.p, "IDENTIFY\n\x00\x00", 11), 0);
	cr_assert_eq((unsigned char)b.p[11], (n >> 8) & 0xff);
	cr_assert_eq((unsigned char)b.p[12], n & 0xff);
	cr_assert_eq(memcmp(b.p + 13, want, n), 0);
	buf_free(&b);
}

Test(nsq_enc, identify_json_escaping)
{
	struct buf		 b;
	struct nsq_identify	 id = { .user_agent = "u" };
	const char		*json;
	char			 ebuf[128];
	yajl_val		 root, v;
	const char		*path[] = { "hostname", NULL };

	/*
	 * Quote, backslash, newline, tab, a control byte, valid UTF-8 (é,
	 * €, U+1F600), then ill-formed UTF-8: a stray 0xff, a cut
	 * sequence, an overlong '/', a surrogate, a code point above
	 * U+10FFFF.
	 */
	id.hostname = "a\"b\\c\nd\te\x01" "f\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80|\xff|\xe2\x82|\xc0\xaf|\xed\xa0\x80|"
	    "\xf4\x90\x80\x80|\x7f";
	buf_init(&b);
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	json = b.p + 13;
	cr_assert_str_eq(json, "{\"hostname\":\"a\\\"b\\\\c\\nd\\te\\u0001"
	    "f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\ufffd|\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd\\ufffd\\ufffd|\x7f\","
	    "\"user_agent\":\"u\",\"feature_negotiation\":true}");
	/* And a strict parser agrees it is JSON with that string. */
	root = yajl_tree_parse(json, ebuf, sizeof(ebuf));
	cr_assert_not_null(root, "%s", ebuf);
	v = yajl_tree_get(root, path, yajl_t_string);
	cr_assert_not_null(v);
	cr_assert_eq(strncmp(v->u.string, "a\"b\\c\nd\te\x01", 10), 0);
	yajl_tree_free(root);
	buf_free(&b);
}

Test(nsq_enc, refuses_invalid_commands)
{
	struct buf		 b;
	struct nsq_msg		 m[2] = { { "a", 1 }, { "", 0 } };
	struct nsq_identify	 id = { .heartbeat_ms = 999 };

	buf_init(&b);
	buf_adds(&b, "keep");
	cr_assert_eq(nsq_enc_pub(&b, "bad topic", "x", 1), -1);
	cr_assert_eq(nsq_enc_pub(&b, "", "x", 1), -1);
	cr_assert_eq(nsq_enc_pub(&b, "t", "", 0), -1);
	cr_assert_eq(nsq_enc_mpub(&b, "t", m, 0), -1);
	/* An empty message anywhere in the batch. */
	cr_assert_eq(nsq_enc_mpub(&b, "t", m, 2), -1);
	cr_assert_eq(nsq_enc_mpub(&b, "a/b", m, 1), -1);
	cr_assert_eq(nsq_http_mpub_body(&b, m, 0), -1);
	cr_assert_eq(nsq_http_mpub_body(&b, m, 2), -1);
	cr_assert_eq(nsq_http_pub_path(&b, "x y"), -1);
	cr_assert_eq(nsq_http_mpub_path(&b, ""), -1);
	cr_assert_eq(nsq_enc_identify(&b, &id), -1);
	id.heartbeat_ms = -2;
	cr_assert_eq(nsq_enc_identify(&b, &id), -1);
	id.heartbeat_ms = 1000;
	id.msg_timeout_ms = 999;
	cr_assert_eq(nsq_enc_identify(&b, &id), -1);
	id.msg_timeout_ms = -1;
	cr_assert_eq(nsq_enc_identify(&b, &id), -1);
	/* Nothing was appended by any of them. */
	ASSERT_BYTES(&b, "keep");
	id.msg_timeout_ms = 1000;
	cr_assert_eq(nsq_enc_identify(&b, &id), 0);
	buf_free(&b);
}

/* ---- HTTP ----------------------------------------------------------- */

Test(nsq_http, paths)
{
	struct buf	 b;

	buf_init(&b);
	cr_assert_eq(nsq_http_pub_path(&b, "collect.ns1"), 0);
	cr_assert_str_eq(b.p, "/pub?topic=collect.ns1");
	buf_reset(&b);
	cr_assert_eq(nsq_http_mpub_path(&b, "collect.ns1"), 0);
	cr_assert_str_eq(b.p, "/mpub?topic=collect.ns1&binary=true");
	buf_reset(&b);
	cr_assert_eq(nsq_http_mpub_path(&b, "t#ephemeral"), 0);
	cr_assert_str_eq(b.p, "/mpub?topic=t%23ephemeral&binary=true");
	buf_free(&b);
}

Test(nsq_http, mpub_binary_body)
{
	struct buf	 b, tcp;
	struct nsq_msg	 m[3] = {
		{ "ab", 2 }, { "\n", 1 }, { "cde", 3 }
	};

	buf_init(&b);
	cr_assert_eq(nsq_http_mpub_body(&b, m, 3), 0);
	/* [count][size][bytes]...: no leading body size, unlike MPUB. */
	ASSERT_BYTES(&b,
	    "\x00\x00\x00\x03"
	    "\x00\x00\x00\x02" "ab"
	    "\x00\x00\x00\x01" "\n"
	    "\x00\x00\x00\x03" "cde");
	cr_assert_eq(b.len, nsq_mpub_body_size(m, 3));
	/* Same bytes as the TCP MPUB body that follows its size field. */
	buf_init(&tcp);
	cr_assert_eq(nsq_enc_mpub(&tcp, "t", m, 3), 0);
	cr_assert_eq(tcp.len, 7 + 4 + b.len);
	cr_assert_eq(memcmp(tcp.p + 11, b.p, b.len), 0);
	buf_free(&tcp);
	buf_free(&b);
}

/* ---- Topic names ---------------------------------------------------- */

Test(nsq_topic, valid)
{
	char		 t[80];
	const char	*why = "unset";

	cr_assert(nsq_topic_valid("a", &why));
	cr_assert_null(why);
	cr_assert(nsq_topic_valid("collect.RUN-ns_1", NULL));
	cr_assert(nsq_topic_valid("...", NULL));
	cr_assert(nsq_topic_valid("a#ephemeral", NULL));
	memset(t, 'a', 64);
	t[64] = '\0';
	cr_assert(nsq_topic_valid(t, NULL));		/* 64 bytes */
	memset(t, 'b', 54);
	strcpy(t + 54, "#ephemeral");
	cr_assert_eq(strlen(t), 64);
	cr_assert(nsq_topic_valid(t, NULL));
}

Test(nsq_topic, invalid)
{
	char		 t[80];
	const char	*why;

	cr_assert_not(nsq_topic_valid("", &why));
	cr_assert_str_eq(why, "empty topic name");
	cr_assert_not(nsq_topic_valid(NULL, NULL));
	memset(t, 'a', 65);
	t[65] = '\0';
	cr_assert_not(nsq_topic_valid(t, &why));	/* 65 bytes */
	cr_assert_str_eq(why, "topic name longer than 64 bytes");
	memset(t, 'b', 55);
	strcpy(t + 55, "#ephemeral");		/* 65 with the suffix */
	cr_assert_not(nsq_topic_valid(t, NULL));
	cr_assert_not(nsq_topic_valid("#ephemeral", &why));
	cr_assert_str_eq(why, "topic name is only #ephemeral");
	cr_assert_not(nsq_topic_valid("a b", &why));
	cr_assert_str_eq(why, "topic name has a byte outside [.a-zA-Z0-9_-]");
	cr_assert_not(nsq_topic_valid("a/b", NULL));
	cr_assert_not(nsq_topic_valid("a:b", NULL));
	cr_assert_not(nsq_topic_valid("a#b", NULL));
	cr_assert_not(nsq_topic_valid("a#ephemeralx", NULL));
	cr_assert_not(nsq_topic_valid("a#Ephemeral", NULL));
	cr_assert_not(nsq_topic_valid("a#ephemeral#ephemeral", NULL));
	cr_assert_not(nsq_topic_valid("caf\xc3\xa9", NULL));
	cr_assert_not(nsq_topic_valid("a\n", NULL));
}

/* ---- Frame reader --------------------------------------------------- */

/* Six frames as nsqd would send them. */
static const char stream[] =
    /* response "OK": size 6 */
    "\x00\x00\x00\x06" "\x00\x00\x00\x00" "OK"
    /* response "_heartbeat_": size 15 */
    "\x00\x00\x00\x0f" "\x00\x00\x00\x00" "_heartbeat_"
    /* error: size 4 + 45 = 49 */
    "\x00\x00\x00\x31" "\x00\x00\x00\x01"
    "E_BAD_TOPIC PUB topic name \"x y\" is not valid"
    /* response JSON: size 4 + 22 = 26 */
    "\x00\x00\x00\x1a" "\x00\x00\x00\x00" "{\"max_rdy_count\":2500}"
    /* empty response: size 4 */
    "\x00\x00\x00\x04" "\x00\x00\x00\x00"
    /* message: size 4 + 8 + 2 + 16 + 1 = 31 */
    "\x00\x00\x00\x1f" "\x00\x00\x00\x02"
    "\x00\x00\x00\x00\x00\x00\x00\x01" "\x00\x01" "0123456789abcdef" "m";

#define NFRAMES		6

static const struct {
	enum nsq_frame_type	 type;
	const char		*data;
	size_t			 len;
	enum nsq_kind		 kind;
} want[NFRAMES] = {
	{ NSQ_FRAME_RESPONSE, "OK", 2, NSQ_K_OK },
	{ NSQ_FRAME_RESPONSE, "_heartbeat_", 11, NSQ_K_HEARTBEAT },
	{ NSQ_FRAME_ERROR, "E_BAD_TOPIC PUB topic name \"x y\" is not valid",
	    45, NSQ_K_ERROR },
	{ NSQ_FRAME_RESPONSE, "{\"max_rdy_count\":2500}", 22, NSQ_K_JSON },
	{ NSQ_FRAME_RESPONSE, "", 0, NSQ_K_RESPONSE },
	{ NSQ_FRAME_MESSAGE, "\x00\x00\x00\x00\x00\x00\x00\x01" "\x00\x01"
	    "0123456789abcdef" "m", 27, NSQ_K_MESSAGE },
};

/* Take every complete frame, checking each against the next expected. */
static void
drain(struct nsq_reader *r, int *got)
{
	struct nsq_frame	 f;
	int			 rc;

	while ((rc = nsq_reader_next(r, &f)) == 1) {
		cr_assert_lt(*got, NFRAMES);
		cr_assert_eq(f.type, want[*got].type, "frame %d", *got);
		cr_assert_eq(f.len, want[*got].len, "frame %d", *got);
		cr_assert_eq(memcmp(f.data, want[*got].data, f.len), 0,
		    "frame %d", *got);
		cr_assert_eq(nsq_frame_kind(&f), want[*got].kind,
		    "frame %d", *got);
		(*got)++;
	}
	cr_assert_eq(rc, 0, "reader error: %s", nsq_reader_error(r));
}

Test(nsq_reader, whole_stream)
{
	struct nsq_reader	 r;
	int			 got = 0;

	cr_assert_eq(sizeof(stream) - 1, 10 + 19 + 53 + 30 + 8 + 35);
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, stream, sizeof(stream) - 1), 0);
	drain(&r, &got);
	cr_assert_eq(got, NFRAMES);
	cr_assert_eq(nsq_reader_pending(&r), 0);
	cr_assert_null(nsq_reader_error(&r));
	nsq_reader_free(&r);
}

Test(nsq_reader, every_split_point)
{
	struct nsq_reader	 r;
	size_t			 n = sizeof(stream) - 1, i;
	int			 got;

	for (i = 0; i <= n; i++) {
		got = 0;
		nsq_reader_init(&r, 0);
		cr_assert_eq(nsq_reader_push(&r, stream, i), 0);
		drain(&r, &got);
		cr_assert_eq(nsq_reader_push(&r, stream + i, n - i), 0);
		drain(&r, &got);
		cr_assert_eq(got, NFRAMES, "split at %zu", i);
		cr_assert_eq(nsq_reader_pending(&r), 0);
		nsq_reader_free(&r);
	}
}

Test(nsq_reader, every_pair_of_split_points)
{
	struct nsq_reader	 r;
	size_t			 n = sizeof(stream) - 1, i, j;
	int			 got;

	for (i = 0; i <= n; i++)
		for (j = i; j <= n; j++) {
			got = 0;
			nsq_reader_init(&r, 0);
			cr_assert_eq(nsq_reader_push(&r, stream, i), 0);
			drain(&r, &got);
			cr_assert_eq(nsq_reader_push(&r, stream + i, j - i),
			    0);
			drain(&r, &got);
			cr_assert_eq(nsq_reader_push(&r, stream + j, n - j),
			    0);
			drain(&r, &got);
			cr_assert_eq(got, NFRAMES, "split at %zu, %zu", i, j);
			nsq_reader_free(&r);
		}
}

Test(nsq_reader, byte_by_byte)
{
	struct nsq_reader	 r;
	size_t			 n = sizeof(stream) - 1, i;
	int			 got = 0;

	nsq_reader_init(&r, 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(nsq_reader_push(&r, stream + i, 1), 0);
		drain(&r, &got);
	}
	cr_assert_eq(got, NFRAMES);
	nsq_reader_free(&r);
}

Test(nsq_reader, pending_partial_frame)
{
	struct nsq_reader	 r;
	struct nsq_frame	 f;

	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, stream, 12), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), 1);	/* "OK" */
	cr_assert_eq(nsq_reader_pending(&r), 2);
	cr_assert_eq(nsq_reader_next(&r, &f), 0);
	cr_assert_eq(nsq_reader_pending(&r), 2);
	cr_assert_eq(nsq_reader_push(&r, "", 0), 0);
	cr_assert_eq(nsq_reader_pending(&r), 2);
	nsq_reader_free(&r);
}

Test(nsq_reader, undersized_frames)
{
	static const char	*bad[] = {
		"\x00\x00\x00\x00",
		"\x00\x00\x00\x03",
	};
	struct nsq_reader	 r;
	struct nsq_frame	 f;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		nsq_reader_init(&r, 0);
		/* Only the size is in: refused before anything else. */
		cr_assert_eq(nsq_reader_push(&r, bad[i], 4), 0);
		cr_assert_eq(nsq_reader_next(&r, &f), -1);
		cr_assert_not_null(nsq_reader_error(&r));
		cr_assert_not_null(strstr(nsq_reader_error(&r), "below 4"),
		    "%s", nsq_reader_error(&r));
		/* Failed for good: no resynchronizing on a byte stream. */
		cr_assert_eq(nsq_reader_next(&r, &f), -1);
		cr_assert_eq(nsq_reader_push(&r, stream, 10), -1);
		nsq_reader_free(&r);
	}
}

Test(nsq_reader, oversized_frames)
{
	struct nsq_reader	 r;
	struct nsq_frame	 f;
	char			 frame[8 + 96];

	/* A configured maximum of 100: size 100 passes, 101 does not. */
	memset(frame, 'x', sizeof(frame));
	memcpy(frame, "\x00\x00\x00\x64" "\x00\x00\x00\x00", 8);
	nsq_reader_init(&r, 100);
	cr_assert_eq(nsq_reader_push(&r, frame, sizeof(frame)), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), 1);
	cr_assert_eq(f.len, 96);
	cr_assert_eq(nsq_reader_push(&r, "\x00\x00\x00\x65", 4), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), -1);
	cr_assert_str_eq(nsq_reader_error(&r),
	    "NSQ frame size 101 above the maximum 100");
	nsq_reader_free(&r);

	/* The default maximum is 1 MiB + 8. */
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, "\x00\x10\x00\x08" "\x00\x00\x00\x00",
	    8), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), 0);	/* fine, wants data */
	nsq_reader_free(&r);
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, "\x00\x10\x00\x09", 4), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), -1);
	cr_assert_str_eq(nsq_reader_error(&r),
	    "NSQ frame size 1048585 above the maximum 1048584");
	nsq_reader_free(&r);

	/* The largest 32-bit size does not wrap anything. */
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, "\xff\xff\xff\xff", 4), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), -1);
	nsq_reader_free(&r);
}

Test(nsq_reader, unknown_frame_type)
{
	struct nsq_reader	 r;
	struct nsq_frame	 f;

	/* Refused with the header alone, before its 996 bytes of data. */
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, "\x00\x00\x03\xe8" "\x00\x00\x00\x03",
	    8), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), -1);
	cr_assert_str_eq(nsq_reader_error(&r), "unknown NSQ frame type 3");
	nsq_reader_free(&r);

	/* A valid frame before it is still delivered. */
	nsq_reader_init(&r, 0);
	cr_assert_eq(nsq_reader_push(&r, stream, 10), 0);
	cr_assert_eq(nsq_reader_push(&r, "\x00\x00\x00\x05" "\xff\xff\xff\xff"
	    "x", 9), 0);
	cr_assert_eq(nsq_reader_next(&r, &f), 1);
	cr_assert_eq(nsq_frame_kind(&f), NSQ_K_OK);
	cr_assert_eq(nsq_reader_next(&r, &f), -1);
	cr_assert_str_eq(nsq_reader_error(&r),
	    "unknown NSQ frame type 4294967295");
	nsq_reader_free(&r);
}

/* ---- Classification ------------------------------------------------- */

static enum nsq_kind
kind_of(enum nsq_frame_type t, const char *s)
{
	struct nsq_frame	 f;

	f.type = t;
	f.data = (const uint8_t *)s;
	f.len = strlen(s);
	return nsq_frame_kind(&f);
}

Test(nsq_kind, responses)
{
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "OK"), NSQ_K_OK);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "_heartbeat_"),
	    NSQ_K_HEARTBEAT);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "CLOSE_WAIT"),
	    NSQ_K_CLOSE_WAIT);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "{\"version\":\"1.2.1\"}"),
	    NSQ_K_JSON);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "OK "), NSQ_K_RESPONSE);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "ok"), NSQ_K_RESPONSE);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, "_heartbeat"),
	    NSQ_K_RESPONSE);
	cr_assert_eq(kind_of(NSQ_FRAME_RESPONSE, ""), NSQ_K_RESPONSE);
	/* The frame type decides first: "OK" in an error frame is not OK. */
	cr_assert_eq(kind_of(NSQ_FRAME_ERROR, "OK"), NSQ_K_ERROR);
	cr_assert_eq(kind_of(NSQ_FRAME_MESSAGE, "_heartbeat_"),
	    NSQ_K_MESSAGE);
}

/* ---- Errors --------------------------------------------------------- */

static void
err_of(const char *s, struct nsq_error *e)
{
	nsq_error_parse(s, strlen(s), e);
}

Test(nsq_error, split_and_classify)
{
	struct nsq_error	 e;

	err_of("E_BAD_TOPIC PUB topic name \"x y\" is not valid", &e);
	cr_assert_eq(e.code, NSQ_E_BAD_TOPIC);
	cr_assert_str_eq(e.name, "E_BAD_TOPIC");
	cr_assert_str_eq(e.text,
	    "E_BAD_TOPIC PUB topic name \"x y\" is not valid");
	cr_assert(e.fatal);
	cr_assert(e.permanent);

	err_of("E_BAD_BODY MPUB body too big 6000000 > 5242880", &e);
	cr_assert_eq(e.code, NSQ_E_BAD_BODY);
	cr_assert(e.fatal && e.permanent);

	err_of("E_BAD_MESSAGE PUB message too big 2000000 > 1048576", &e);
	cr_assert_eq(e.code, NSQ_E_BAD_MESSAGE);
	cr_assert(e.fatal && e.permanent);

	/* Transient (topic exiting): hang-up, but worth another try. */
	err_of("E_MPUB_FAILED MPUB failed exiting", &e);
	cr_assert_eq(e.code, NSQ_E_MPUB_FAILED);
	cr_assert(e.fatal);
	cr_assert_not(e.permanent);
	err_of("E_PUB_FAILED PUB failed exiting", &e);
	cr_assert_eq(e.code, NSQ_E_PUB_FAILED);
	cr_assert(e.fatal && !e.permanent);

	err_of("E_INVALID invalid command FOO", &e);
	cr_assert_eq(e.code, NSQ_E_INVALID);
	cr_assert(e.fatal && !e.permanent);

	/* A code with no description. */
	err_of("E_INVALID", &e);
	cr_assert_eq(e.code, NSQ_E_INVALID);
	cr_assert_str_eq(e.name, "E_INVALID");
}

Test(nsq_error, only_three_are_not_fatal)
{
	static const char	*nonfatal[] = {
		"E_FIN_FAILED x", "E_REQ_FAILED x", "E_TOUCH_FAILED x"
	};
	static const char	*fatal[] = {
		"E_INVALID x", "E_BAD_BODY x", "E_BAD_TOPIC x",
		"E_BAD_CHANNEL x", "E_BAD_MESSAGE x", "E_PUB_FAILED x",
		"E_MPUB_FAILED x", "E_DPUB_FAILED x", "E_SUB_FAILED x",
		"E_IDENTIFY_FAILED x", "E_AUTH_FIRST x", "E_AUTH_FAILED x",
		"E_AUTH_DISABLED x", "E_AUTH_ERROR x", "E_UNAUTHORIZED x"
	};
	struct nsq_error	 e;
	size_t			 i;

	for (i = 0; i < sizeof(nonfatal) / sizeof(nonfatal[0]); i++) {
		err_of(nonfatal[i], &e);
		cr_assert_neq(e.code, NSQ_E_OTHER, "%s", nonfatal[i]);
		cr_assert_not(e.fatal, "%s", nonfatal[i]);
		cr_assert_str_eq(nsq_ecode_name(e.code), e.name);
	}
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		err_of(fatal[i], &e);
		cr_assert_neq(e.code, NSQ_E_OTHER, "%s", fatal[i]);
		cr_assert(e.fatal, "%s", fatal[i]);
		cr_assert_str_eq(nsq_ecode_name(e.code), e.name);
	}
	cr_assert_str_eq(nsq_ecode_name(NSQ_E_OTHER), "E_OTHER");
}

Test(nsq_error, unknown_and_garbage)
{
	struct nsq_error	 e;
	char			 longmsg[400];

	/* A code nsqd may add later: kept, treated as fatal. */
	err_of("E_NEW_THING something", &e);
	cr_assert_eq(e.code, NSQ_E_OTHER);
	cr_assert_str_eq(e.name, "E_NEW_THING");
	cr_assert(e.fatal);
	cr_assert_not(e.permanent);

	nsq_error_parse("bad\x01\xff stuff", 11, &e);
	cr_assert_eq(e.code, NSQ_E_OTHER);
	cr_assert_str_eq(e.name, "");
	cr_assert_str_eq(e.text, "bad?? stuff");
	cr_assert(e.fatal);

	err_of("E_", &e);
	cr_assert_str_eq(e.name, "");
	err_of("E_BAD_TOPIC:x", &e);
	cr_assert_str_eq(e.name, "");
	cr_assert_eq(e.code, NSQ_E_OTHER);
	err_of("e_bad_topic x", &e);
	cr_assert_eq(e.code, NSQ_E_OTHER);
	nsq_error_parse("", 0, &e);
	cr_assert_str_eq(e.text, "");
	cr_assert_eq(e.code, NSQ_E_OTHER);

	/* A name longer than the field is not cut into a wrong code. */
	err_of("E_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x", &e);
	cr_assert_str_eq(e.name, "");

	/* Long texts are cut and marked. */
	memset(longmsg, 'y', sizeof(longmsg));
	memcpy(longmsg, "E_BAD_BODY ", 11);
	nsq_error_parse(longmsg, sizeof(longmsg), &e);
	cr_assert_eq(e.code, NSQ_E_BAD_BODY);
	cr_assert_eq(strlen(e.text), sizeof(e.text) - 1);
	cr_assert_str_eq(e.text + sizeof(e.text) - 4, "...");
}

/* ---- IDENTIFY answer ------------------------------------------------ */

/* What nsqd 1.2 answers to IDENTIFY with feature_negotiation. */
static const char ident_resp[] =
    "{\"max_rdy_count\":2500,\"version\":\"1.2.1\","
    "\"max_msg_timeout\":900000,\"msg_timeout\":60000,\"tls_v1\":false,"
    "\"deflate\":false,\"deflate_level\":6,\"max_deflate_level\":6,"
    "\"snappy\":false,\"sample_rate\":0,\"auth_required\":false,"
    "\"output_buffer_size\":16384,\"output_buffer_timeout\":250}";

Test(nsq_identify, parse_nsqd_answer)
{
	struct nsq_identify_resp	 r;
	struct nsq_limits		 l;
	char				 err[128];

	cr_assert_eq(nsq_identify_parse(ident_resp, sizeof(ident_resp) - 1,
	    &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.max_rdy_count, 2500);
	cr_assert_eq(r.max_msg_timeout, 900000);
	cr_assert_eq(r.msg_timeout, 60000);
	cr_assert_eq(r.output_buffer_size, 16384);
	cr_assert_eq(r.output_buffer_timeout, 250);
	cr_assert_eq(r.sample_rate, 0);
	cr_assert_str_eq(r.version, "1.2.1");
	cr_assert_not(r.tls_v1 || r.deflate || r.snappy || r.auth_required);
	/* nsqd 1.x does not report its size limits. */
	cr_assert_eq(r.max_msg_size, NSQ_ABSENT);
	cr_assert_eq(r.max_body_size, NSQ_ABSENT);
	cr_assert_null(nsq_identify_check(&r));

	/* So the configured limits stay as they are. */
	nsq_limits_default(&l);
	nsq_limits_apply(&l, &r);
	cr_assert_eq(l.max_msg_size, NSQ_DEF_MAX_MSG_SIZE);
	cr_assert_eq(l.max_body_size, NSQ_DEF_MAX_BODY_SIZE);
}

Test(nsq_identify, reported_limits_only_lower)
{
	static const char		 js[] =
	    "{\"max_msg_size\":1000,\"max_body_size\":99999999}";
	struct nsq_identify_resp	 r;
	struct nsq_limits		 l = { 0, 0 };

	cr_assert_eq(nsq_identify_parse(js, sizeof(js) - 1, &r, NULL, 0), 0);
	cr_assert_eq(r.max_msg_size, 1000);
	nsq_limits_apply(&l, &r);
	cr_assert_eq(l.max_msg_size, 1000);
	cr_assert_eq(l.max_body_size, NSQ_DEF_MAX_BODY_SIZE);
	cr_assert_eq(r.max_rdy_count, NSQ_ABSENT);
	cr_assert_str_eq(r.version, "");
}

Test(nsq_identify, unusable_connections)
{
	struct nsq_identify_resp	 r;
	const char			*js;

	js = "{\"auth_required\":true}";
	cr_assert_eq(nsq_identify_parse(js, strlen(js), &r, NULL, 0), 0);
	cr_assert_not_null(nsq_identify_check(&r));
	cr_assert_not_null(strstr(nsq_identify_check(&r), "AUTH"));
	js = "{\"tls_v1\":true}";
	cr_assert_eq(nsq_identify_parse(js, strlen(js), &r, NULL, 0), 0);
	cr_assert_not_null(strstr(nsq_identify_check(&r), "TLS"));
	js = "{\"snappy\":true}";
	cr_assert_eq(nsq_identify_parse(js, strlen(js), &r, NULL, 0), 0);
	cr_assert_not_null(strstr(nsq_identify_check(&r), "compression"));
	js = "{\"deflate\":true,\"tls_v1\":\"yes\"}";
	cr_assert_eq(nsq_identify_parse(js, strlen(js), &r, NULL, 0), 0);
	cr_assert_not(r.tls_v1);	/* only JSON true counts */
	cr_assert_not_null(strstr(nsq_identify_check(&r), "compression"));
}

Test(nsq_identify, bad_answers)
{
	struct nsq_identify_resp	 r;
	char				 err[128];

	cr_assert_eq(nsq_identify_parse("OK", 2, &r, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not JSON"), "%s", err);
	cr_assert_eq(nsq_identify_parse("[1,2]", 5, &r, err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "IDENTIFY answer is not a JSON object");
	cr_assert_eq(nsq_identify_parse("{\"a\":1", 6, &r, err, sizeof(err)),
	    -1);
	cr_assert_eq(nsq_identify_parse("{}\0{}", 5, &r, err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "IDENTIFY answer holds a NUL byte");
	cr_assert_eq(nsq_identify_parse("", 0, &r, err, sizeof(err)), -1);
	/* The error text stays on one printable line. */
	cr_assert_null(strchr(err, '\n'));
}

/*
 * A hostile nsqd: one frame (1 MB is allowed) of nested brackets made
 * yajl_tree_free() recurse half a million levels and the sender crash.
 */
Test(nsq_identify, deep_nesting_refused)
{
	struct nsq_identify_resp	 r;
	char				 err[256], *js;
	size_t				 n = 500000;

	cr_assert_not_null(js = malloc(2 * n));
	memset(js, '[', n);
	memset(js + n, ']', n);
	cr_assert_eq(nsq_identify_parse(js, 2 * n, &r, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "nested more than 8 levels deep"), "%s",
	    err);
	memset(js, '{', 1);
	cr_assert_eq(nsq_identify_parse(js, n, &r, err, sizeof(err)), -1);
	free(js);
	/* comments are not JSON, and nsqd sends none */
	js = "/**/{}";
	cr_assert_eq(nsq_identify_parse(js, strlen(js), &r, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "comment"), "%s", err);
}

/* ---- Limits and the splitter ---------------------------------------- */

static struct nsq_msg *
msgs_of(const size_t *lens, size_t n)
{
	static const char	 bytes[64] = { 0 };
	struct nsq_msg		*m;
	size_t			 i;

	m = calloc(n ? n : 1, sizeof(*m));
	cr_assert_not_null(m);
	for (i = 0; i < n; i++) {
		/* The splitter only looks at lengths. */
		m[i].data = bytes;
		m[i].len = lens[i];
	}
	return m;
}

struct step {
	enum nsq_plan_kind	 kind;
	size_t			 first, count;
	uint64_t		 body;
};

static void
assert_plan(const struct nsq_limits *l, const size_t *lens, size_t n,
    const struct step *exp, size_t nexp)
{
	struct nsq_msg	*m = msgs_of(lens, n);
	struct nsq_plan	 p;
	size_t		 pos = 0, k = 0;

	while (nsq_split_next(l, m, n, &pos, &p)) {
		cr_assert_lt(k, nexp, "more steps than expected");
		cr_assert_eq(p.kind, exp[k].kind, "step %zu kind", k);
		cr_assert_eq(p.first, exp[k].first, "step %zu first", k);
		cr_assert_eq(p.count, exp[k].count, "step %zu count", k);
		cr_assert_eq(p.body, exp[k].body, "step %zu body", k);
		if (p.kind == NSQ_PLAN_BATCH)
			cr_assert_eq(p.body,
			    nsq_mpub_body_size(m + p.first, p.count));
		k++;
	}
	cr_assert_eq(k, nexp, "%zu steps, expected %zu", k, nexp);
	cr_assert_eq(pos, n);
	free(m);
}

Test(nsq_split, zero_messages)
{
	struct nsq_plan	 p;
	size_t		 pos = 0;

	cr_assert_eq(nsq_split_next(NULL, NULL, 0, &pos, &p), 0);
	cr_assert_eq(pos, 0);
}

Test(nsq_split, body_exactly_max)
{
	struct nsq_limits	 l = { 10, 30 };
	/* 4 + (4 + 5) + (4 + 5) + (4 + 4) = 30 */
	size_t			 lens[] = { 5, 5, 4 };
	struct step		 exp[] = { { NSQ_PLAN_BATCH, 0, 3, 30 } };

	assert_plan(&l, lens, 3, exp, 1);
}

Test(nsq_split, body_one_byte_over)
{
	struct nsq_limits	 l = { 10, 30 };
	/* 4 + 9 + 9 + 9 = 31: the third message goes to the next MPUB. */
	size_t			 lens[] = { 5, 5, 5 };
	struct step		 exp[] = {
		{ NSQ_PLAN_BATCH, 0, 2, 22 },
		{ NSQ_PLAN_BATCH, 2, 1, 13 },
	};

	assert_plan(&l, lens, 3, exp, 2);
}

Test(nsq_split, message_over_max_msg_size)
{
	struct nsq_limits	 l = { 10, 100 };
	/* 10 is the limit itself and passes; 11 is one byte over. */
	size_t			 lens[] = { 3, 11, 10, 3, 50, 11 };
	struct step		 exp[] = {
		{ NSQ_PLAN_BATCH, 0, 1, 11 },
		{ NSQ_PLAN_TOO_BIG, 1, 1, 0 },
		{ NSQ_PLAN_BATCH, 2, 2, 25 },
		{ NSQ_PLAN_TOO_BIG, 4, 1, 0 },
		{ NSQ_PLAN_TOO_BIG, 5, 1, 0 },
	};

	assert_plan(&l, lens, 6, exp, 5);
}

Test(nsq_split, single_message_alone)
{
	struct nsq_limits	 l = { 11, 10 };
	size_t			 lens1[] = { 12 };
	struct step		 exp1[] = { { NSQ_PLAN_TOO_BIG, 0, 1, 0 } };
	size_t			 lens2[] = { 2 };
	struct step		 exp2[] = { { NSQ_PLAN_BATCH, 0, 1, 10 } };
	size_t			 lens3[] = { 3 };
	struct step		 exp3[] = { { NSQ_PLAN_TOO_BIG, 0, 1, 0 } };

	/* Too big for max_msg_size... */
	assert_plan(&l, lens1, 1, exp1, 1);
	/* ...fits a body of exactly 4 + 4 + 2 = 10... */
	assert_plan(&l, lens2, 1, exp2, 1);
	/* ...and 3 is within max_msg_size but cannot fit any MPUB body. */
	assert_plan(&l, lens3, 1, exp3, 1);
}

Test(nsq_split, empty_messages)
{
	struct nsq_limits	 l = { 10, 100 };
	size_t			 lens[] = { 0, 3, 0, 0, 3 };
	struct step		 exp[] = {
		{ NSQ_PLAN_EMPTY, 0, 1, 0 },
		{ NSQ_PLAN_BATCH, 1, 1, 11 },
		{ NSQ_PLAN_EMPTY, 2, 1, 0 },
		{ NSQ_PLAN_EMPTY, 3, 1, 0 },
		{ NSQ_PLAN_BATCH, 4, 1, 11 },
	};

	assert_plan(&l, lens, 5, exp, 5);
}

Test(nsq_split, nsqd_defaults)
{
	struct nsq_limits	 zero = { 0, 0 };
	/*
	 * Five messages of exactly 1 MiB: 4 + 4 * (4 + 1048576) = 4194324
	 * fits 5242880, a fifth would make 5242904.
	 */
	size_t			 lens[] = { 1048576, 1048576, 1048576,
				    1048576, 1048576, 1048577 };
	struct step		 exp[] = {
		{ NSQ_PLAN_BATCH, 0, 4, 4194324 },
		{ NSQ_PLAN_BATCH, 4, 1, 1048584 },
		{ NSQ_PLAN_TOO_BIG, 5, 1, 0 },
	};

	assert_plan(&zero, lens, 6, exp, 3);
	assert_plan(NULL, lens, 6, exp, 3);
}

Test(nsq_split, most_messages_in_one_body)
{
	struct nsq_limits	 l;
	struct nsq_msg		*m;
	struct nsq_plan		 p;
	size_t			 n = 1048576, i, pos = 0;

	/*
	 * 1-byte messages: (5242880 - 4) / 5 = 1048575 fit (body 5242879),
	 * which is also nsqd's cap on the count of one MPUB.
	 */
	nsq_limits_default(&l);
	m = calloc(n, sizeof(*m));
	cr_assert_not_null(m);
	for (i = 0; i < n; i++) {
		m[i].data = "x";
		m[i].len = 1;
	}
	cr_assert_eq(nsq_split_next(&l, m, n, &pos, &p), 1);
	cr_assert_eq(p.count, 1048575);
	cr_assert_eq(p.body, 5242879);
	cr_assert_eq(nsq_split_next(&l, m, n, &pos, &p), 1);
	cr_assert_eq(p.first, 1048575);
	cr_assert_eq(p.count, 1);
	cr_assert_eq(nsq_split_next(&l, m, n, &pos, &p), 0);
	free(m);
}

Test(nsq_split, covers_everything_in_order)
{
	struct nsq_limits	 l = { 40, 120 };
	struct nsq_msg		*m;
	struct nsq_plan		 p, again;
	size_t			 lens[500], n = 500, i, pos, pos2, next;
	uint32_t		 x = 12345;

	/* Deterministic pseudo-random lengths 0..49. */
	for (i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		lens[i] = (x >> 16) % 50;
	}
	m = msgs_of(lens, n);
	next = 0;
	pos = pos2 = 0;
	while (nsq_split_next(&l, m, n, &pos, &p)) {
		/* Same input, same plan. */
		cr_assert_eq(nsq_split_next(&l, m, n, &pos2, &again), 1);
		cr_assert_eq(memcmp(&p, &again, sizeof(p)), 0);
		cr_assert_eq(p.first, next);
		cr_assert_gt(p.count, 0);
		next = p.first + p.count;
		switch (p.kind) {
		case NSQ_PLAN_BATCH:
			cr_assert_leq(p.body, 120);
			for (i = p.first; i < next; i++)
				cr_assert(lens[i] > 0 && lens[i] <= 40);
			/* Greedy: the next sendable message did not fit. */
			if (next < n && lens[next] > 0 && lens[next] <= 40)
				cr_assert_gt(p.body + 4 + lens[next], 120);
			break;
		case NSQ_PLAN_TOO_BIG:
			cr_assert_eq(p.count, 1);
			cr_assert_gt(lens[p.first], 40);
			break;
		case NSQ_PLAN_EMPTY:
			cr_assert_eq(p.count, 1);
			cr_assert_eq(lens[p.first], 0);
			break;
		}
	}
	cr_assert_eq(next, n);
	free(m);
}

Test(nsq_split, encodes_at_exact_limit)
{
	struct nsq_limits	 l = { 10, 30 };
	size_t			 lens[] = { 5, 5, 4 };
	struct nsq_msg		*m = msgs_of(lens, 3);
	struct nsq_plan		 p;
	struct buf		 b;
	size_t			 pos = 0;

	cr_assert_eq(nsq_split_next(&l, m, 3, &pos, &p), 1);
	buf_init(&b);
	cr_assert_eq(nsq_enc_mpub(&b, "t", m + p.first, p.count), 0);
	/* "MPUB t\n", then a body size field of 30 and 30 bytes of body. */
	cr_assert_eq(b.len, 7 + 4 + 30);
	cr_assert_eq(memcmp(b.p + 7, "\x00\x00\x00\x1e" "\x00\x00\x00\x03",
	    8), 0);
	buf_reset(&b);
	cr_assert_eq(nsq_http_mpub_body(&b, m + p.first, p.count), 0);
	cr_assert_eq(b.len, 30);
	buf_free(&b);
	free(m);
}

Test(nsq_limits, check)
{
	struct nsq_limits	 l;

	nsq_limits_default(&l);
	cr_assert_eq(l.max_msg_size, 1048576);
	cr_assert_eq(l.max_body_size, 5242880);
	cr_assert_null(nsq_limits_check(&l));
	l.max_msg_size = 100;
	l.max_body_size = 108;
	cr_assert_null(nsq_limits_check(&l));
	l.max_body_size = 107;
	cr_assert_not_null(nsq_limits_check(&l));
	l.max_msg_size = 0;		/* default 1 MiB > 107 - 8 */
	cr_assert_not_null(nsq_limits_check(&l));
	l.max_body_size = (size_t)INT32_MAX + 1;
	cr_assert_not_null(nsq_limits_check(&l));
	l.max_body_size = 0;
	l.max_msg_size = (size_t)INT32_MAX + 1;
	cr_assert_not_null(nsq_limits_check(&l));
}
