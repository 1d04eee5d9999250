/*
 * Unit tests for src/common/codec.c: round trips of every field type,
 * boundaries, and every reader error with its message.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec.h"

/* Hand-built payloads for the error cases, independent of the writer. */
struct raw {
	uint8_t	 b[256];
	size_t	 len;
};

static void
raw_put(struct raw *r, const void *p, size_t n)
{
	cr_assert_leq(r->len + n, sizeof(r->b));
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void
raw_tag(struct raw *r, char tag)
{
	raw_put(r, &tag, 1);
}

static void
raw_u32(struct raw *r, uint32_t v)
{
	raw_put(r, &v, sizeof(v));
}

Test(codec, roundtrip_every_type)
{
	struct pbuf	 b;
	struct preader	 r;
	const uint8_t	 blob[] = { 0, 1, 2, 0xff, 0 };
	const void	*p;
	size_t		 n;
	char		*s, sb[16];

	codec_put_init(&b);
	codec_put_u32(&b, 0xdeadbeef);
	codec_put_u64(&b, 0x0123456789abcdefULL);
	codec_put_i64(&b, -42);
	codec_put_dbl(&b, 3.25);
	codec_put_bool(&b, 1);
	codec_put_bool(&b, 0);
	codec_put_bool(&b, 17);		/* any non-zero is true */
	codec_put_str(&b, "hello, world");
	codec_put_str(&b, "short");
	codec_put_bytes(&b, blob, sizeof(blob));
	cr_assert_eq(codec_put_failed(&b), 0);

	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_peek(&r), 'I');
	cr_assert_eq(codec_get_u32(&r), 0xdeadbeef);
	cr_assert_eq(codec_get_peek(&r), 'L');
	cr_assert_eq(codec_get_u64(&r), 0x0123456789abcdefULL);
	cr_assert_eq(codec_get_peek(&r), 'J');
	cr_assert_eq(codec_get_i64(&r), -42);
	cr_assert_eq(codec_get_peek(&r), 'D');
	cr_assert_eq(codec_get_dbl(&r), 3.25);
	cr_assert_eq(codec_get_peek(&r), 'B');
	cr_assert_eq(codec_get_bool(&r), 1);
	cr_assert_eq(codec_get_bool(&r), 0);
	cr_assert_eq(codec_get_bool(&r), 1);
	cr_assert_eq(codec_get_peek(&r), 'S');
	s = codec_get_str(&r);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "hello, world");
	free(s);
	cr_assert_eq(codec_get_strbuf(&r, sb, sizeof(sb)), 0);
	cr_assert_str_eq(sb, "short");
	cr_assert_eq(codec_get_peek(&r), 'Y');
	p = codec_get_bytes(&r, &n);
	cr_assert_not_null(p);
	cr_assert_eq(n, sizeof(blob));
	cr_assert_eq(memcmp(p, blob, n), 0);
	cr_assert_eq(codec_get_at_end(&r), 1);
	cr_assert_eq(codec_get_peek(&r), 0);
	cr_assert_eq(r.field, 10);
	cr_assert_eq(codec_get_end(&r), 0, "%s", r.err);
	cr_assert_eq(r.failed, 0);
	codec_put_free(&b);
	cr_assert_null(b.buf);
}

Test(codec, boundaries)
{
	struct pbuf	 b;
	struct preader	 r;
	const void	*p;
	size_t		 n;
	char		*s, sb[1];

	codec_put_init(&b);
	codec_put_u32(&b, 0);
	codec_put_u32(&b, UINT32_MAX);
	codec_put_u64(&b, UINT64_MAX);
	codec_put_i64(&b, INT64_MIN);
	codec_put_i64(&b, INT64_MAX);
	codec_put_dbl(&b, -0.0);
	codec_put_dbl(&b, DBL_MAX);
	codec_put_dbl(&b, INFINITY);
	codec_put_dbl(&b, NAN);
	codec_put_str(&b, "");
	codec_put_str(&b, NULL);		/* encodes as "" */
	codec_put_str(&b, "");
	codec_put_bytes(&b, NULL, 0);
	codec_put_bytes(&b, "x", 0);
	cr_assert_eq(codec_put_failed(&b), 0);

	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_u32(&r), 0);
	cr_assert_eq(codec_get_u32(&r), UINT32_MAX);
	cr_assert_eq(codec_get_u64(&r), UINT64_MAX);
	cr_assert_eq(codec_get_i64(&r), INT64_MIN);
	cr_assert_eq(codec_get_i64(&r), INT64_MAX);
	cr_assert(signbit(codec_get_dbl(&r)));
	cr_assert_eq(codec_get_dbl(&r), DBL_MAX);
	cr_assert(isinf(codec_get_dbl(&r)));
	cr_assert(isnan(codec_get_dbl(&r)));
	s = codec_get_str(&r);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "");
	free(s);
	s = codec_get_str(&r);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "");
	free(s);
	/* An empty string fits in a one-byte buffer (just the NUL). */
	cr_assert_eq(codec_get_strbuf(&r, sb, sizeof(sb)), 0);
	cr_assert_str_eq(sb, "");
	p = codec_get_bytes(&r, &n);
	cr_assert_not_null(p, "empty bytes must not look like an error");
	cr_assert_eq(n, 0);
	p = codec_get_bytes(&r, &n);
	cr_assert_not_null(p);
	cr_assert_eq(n, 0);
	cr_assert_eq(codec_get_end(&r), 0, "%s", r.err);
	codec_put_free(&b);
}

Test(codec, empty_payload)
{
	struct preader	 r;

	codec_get_init(&r, NULL, 0);
	cr_assert_eq(codec_get_at_end(&r), 1);
	cr_assert_eq(codec_get_peek(&r), 0);
	cr_assert_eq(codec_get_end(&r), 0);

	codec_get_init(&r, NULL, 0);
	cr_assert_eq(codec_get_u32(&r), 0);
	cr_assert_eq(r.failed, 1);
	cr_assert_str_eq(r.err, "field 1: expected u32, found end of payload");
	cr_assert_eq(codec_get_end(&r), -1);

	/* no payload has no length, whatever the caller says */
	codec_get_init(&r, NULL, 10);
	cr_assert_eq(codec_get_at_end(&r), 1);
	cr_assert_eq(codec_get_u32(&r), 0);
	cr_assert_eq(r.failed, 1);
}

Test(codec, large_buffer_grows)
{
	struct pbuf	 b;
	struct preader	 r;
	uint8_t		*big;
	const uint8_t	*p;
	size_t		 n, i, cap0;

	big = malloc(3 * 1024 * 1024);
	cr_assert_not_null(big);
	for (i = 0; i < 3 * 1024 * 1024; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	codec_put_init(&b);
	codec_put_u32(&b, 1);
	cap0 = b.cap;
	cr_assert_geq(cap0, b.len);
	for (i = 0; i < 10000; i++)
		codec_put_u64(&b, i);
	codec_put_bytes(&b, big, 3 * 1024 * 1024);
	cr_assert_eq(codec_put_failed(&b), 0);
	cr_assert_geq(b.cap, b.len);

	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_u32(&r), 1);
	for (i = 0; i < 10000; i++)
		cr_assert_eq(codec_get_u64(&r), i);
	p = codec_get_bytes(&r, &n);
	cr_assert_eq(n, 3 * 1024 * 1024);
	cr_assert_eq(memcmp(p, big, n), 0);
	cr_assert_eq(codec_get_end(&r), 0);

	/* Reset keeps the memory and clears the contents. */
	codec_put_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_not_null(b.buf);
	codec_put_str(&b, "again");
	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_peek(&r), 'S');
	codec_put_free(&b);
	free(big);
}

Test(codec, wire_layout)
{
	struct pbuf	 b;
	uint32_t	 v = 7, l;

	/* The tag byte, then the value in host order: documented layout. */
	codec_put_init(&b);
	codec_put_u32(&b, v);
	codec_put_str(&b, "ab");
	cr_assert_eq(b.len, 1 + 4 + 1 + 4 + 2);
	cr_assert_eq(b.buf[0], 'I');
	cr_assert_eq(memcmp(b.buf + 1, &v, 4), 0);
	cr_assert_eq(b.buf[5], 'S');
	memcpy(&l, b.buf + 6, 4);
	cr_assert_eq(l, 2);
	cr_assert_eq(memcmp(b.buf + 10, "ab", 2), 0);
	codec_put_free(&b);
}

Test(codec, err_wrong_type)
{
	struct pbuf	 b;
	struct preader	 r;
	char		*s;

	codec_put_init(&b);
	codec_put_u32(&b, 1);
	codec_put_u32(&b, 2);
	codec_put_u32(&b, 3);
	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_u32(&r), 1);
	cr_assert_eq(codec_get_u32(&r), 2);
	s = codec_get_str(&r);
	cr_assert_null(s);
	cr_assert_str_eq(r.err, "field 3: expected string, found u32");
	/* Sticky: later reads fail and keep the first message. */
	cr_assert_eq(codec_get_u32(&r), 0);
	cr_assert_str_eq(r.err, "field 3: expected string, found u32");
	cr_assert_eq(codec_get_at_end(&r), 1,
	    "a failed reader ends read loops");
	cr_assert_eq(codec_get_peek(&r), 0);
	cr_assert_eq(codec_get_end(&r), -1);
	cr_assert_str_eq(r.err, "field 3: expected string, found u32");
	codec_put_free(&b);
}

Test(codec, err_every_mismatch_name)
{
	static const struct {
		char		 tag;
		const char	*want;
	} cases[] = {
		{ 'I', "found u32" }, { 'L', "found u64" },
		{ 'J', "found i64" }, { 'D', "found double" },
		{ 'B', "found bool" }, { 'S', "found string" },
		{ 'Y', "found bytes" }, { 'Q', "found unknown tag 0x51" },
	};
	struct preader	 r;
	struct raw	 raw;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&raw, 0, sizeof(raw));
		raw_tag(&raw, cases[i].tag);
		raw_u32(&raw, 0);
		raw_u32(&raw, 0);
		codec_get_init(&r, raw.b, raw.len);
		if (cases[i].tag == 'I') {
			(void)codec_get_i64(&r);
			cr_assert_str_eq(r.err,
			    "field 1: expected i64, found u32");
		} else {
			(void)codec_get_u32(&r);
			cr_assert(strstr(r.err, cases[i].want) != NULL,
			    "tag %c: %s", cases[i].tag, r.err);
			cr_assert(strncmp(r.err, "field 1: expected u32, ",
			    23) == 0, "%s", r.err);
		}
	}
}

Test(codec, err_short_value)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };

	raw_tag(&raw, 'L');
	raw_u32(&raw, 5);		/* 4 of the 8 bytes */
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_u64(&r), 0);
	cr_assert_str_eq(r.err, "field 1: u64 needs 8 bytes, 4 left");

	raw.len = 0;
	raw_tag(&raw, 'I');
	raw_u32(&raw, 9);
	raw_tag(&raw, 'D');
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_u32(&r), 9);
	cr_assert_eq(codec_get_dbl(&r), 0);
	cr_assert_str_eq(r.err, "field 2: double needs 8 bytes, 0 left");

	raw.len = 0;
	raw_tag(&raw, 'B');
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_bool(&r), 0);
	cr_assert_str_eq(r.err, "field 1: bool needs 1 bytes, 0 left");
}

Test(codec, err_string_past_end)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };
	uint8_t		 pad[40];
	char		 buf[8];

	memset(pad, 'a', sizeof(pad));
	raw_tag(&raw, 'I');
	raw_u32(&raw, 1);
	raw_tag(&raw, 'S');
	raw_u32(&raw, 900);
	raw_put(&raw, pad, sizeof(pad));
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_u32(&r), 1);
	cr_assert_null(codec_get_str(&r));
	cr_assert_str_eq(r.err,
	    "field 2: string length 900 past end of payload (40 bytes left)");

	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_u32(&r), 1);
	cr_assert_eq(codec_get_strbuf(&r, buf, sizeof(buf)), -1);
	cr_assert_str_eq(buf, "");
	cr_assert_str_eq(r.err,
	    "field 2: string length 900 past end of payload (40 bytes left)");

	/* A length that would wrap a 32-bit sum must not pass either. */
	raw.len = 0;
	raw_tag(&raw, 'Y');
	raw_u32(&raw, UINT32_MAX);
	raw_put(&raw, pad, 3);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_null(codec_get_bytes(&r, &(size_t){ 0 }));
	cr_assert_str_eq(r.err,
	    "field 1: bytes length 4294967295 past end of payload "
	    "(3 bytes left)");

	/* one byte short is as short as any */
	raw.len = 0;
	raw_tag(&raw, 'S');
	raw_u32(&raw, 4);
	raw_put(&raw, "abc", 3);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_null(codec_get_str(&r));
	cr_assert_str_eq(r.err,
	    "field 1: string length 4 past end of payload (3 bytes left)");
	raw_put(&raw, "d", 1);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_strbuf(&r, buf, sizeof(buf)), 0, "%s", r.err);
	cr_assert_str_eq(buf, "abcd");
	cr_assert_eq(codec_get_end(&r), 0);
}

Test(codec, err_length_cut)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };
	size_t		 n = 99;

	raw_tag(&raw, 'Y');
	raw_put(&raw, "\x01\x00", 2);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_null(codec_get_bytes(&r, &n));
	cr_assert_eq(n, 0);
	cr_assert_str_eq(r.err, "field 1: bytes length needs 4 bytes, 2 left");

	/* three of its four bytes are no length either */
	raw_put(&raw, "\x00", 1);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_null(codec_get_bytes(&r, &n));
	cr_assert_str_eq(r.err, "field 1: bytes length needs 4 bytes, 3 left");
}

Test(codec, err_nul_in_string)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };
	char		 buf[16];

	raw_tag(&raw, 'S');
	raw_u32(&raw, 3);
	raw_put(&raw, "a\0b", 3);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_null(codec_get_str(&r));
	cr_assert_str_eq(r.err, "field 1: NUL inside string");

	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_strbuf(&r, buf, sizeof(buf)), -1);
	cr_assert_str_eq(r.err, "field 1: NUL inside string");

	/* Bytes may hold NULs. */
	raw.b[0] = 'Y';
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_not_null(codec_get_bytes(&r, &(size_t){ 0 }));
	cr_assert_eq(codec_get_end(&r), 0);
}

Test(codec, err_bool_range)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };

	raw_tag(&raw, 'B');
	raw_put(&raw, "\x01", 1);
	raw_tag(&raw, 'B');
	raw_put(&raw, "\x07", 1);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_bool(&r), 1);
	cr_assert_eq(codec_get_bool(&r), 0);
	cr_assert_str_eq(r.err, "field 2: bool value 7 is not 0 or 1");

	/* the first value past 1 */
	raw.len = 0;
	raw_tag(&raw, 'B');
	raw_put(&raw, "\x02", 1);
	codec_get_init(&r, raw.b, raw.len);
	cr_assert_eq(codec_get_bool(&r), 0);
	cr_assert_str_eq(r.err, "field 1: bool value 2 is not 0 or 1");
}

Test(codec, err_strbuf_too_small)
{
	struct pbuf	 b;
	struct preader	 r;
	char		 buf[5];

	codec_put_init(&b);
	codec_put_str(&b, "four");
	codec_put_str(&b, "fives");
	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_strbuf(&r, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "four");
	cr_assert_eq(codec_get_strbuf(&r, buf, sizeof(buf)), -1);
	cr_assert_str_eq(buf, "", "no cut copy is left behind");
	cr_assert_str_eq(r.err, "field 2: string of 5 bytes does not fit in 5");

	/* no room at all: not a byte written */
	codec_get_init(&r, b.buf, b.len);
	buf[0] = 'x';
	cr_assert_eq(codec_get_strbuf(&r, buf, 0), -1);
	cr_assert_eq(buf[0], 'x');
	codec_put_free(&b);
}

Test(codec, err_left_over)
{
	struct pbuf	 b;
	struct preader	 r;

	codec_put_init(&b);
	codec_put_u32(&b, 1);
	codec_put_bool(&b, 1);
	codec_get_init(&r, b.buf, b.len);
	cr_assert_eq(codec_get_u32(&r), 1);
	cr_assert_eq(codec_get_at_end(&r), 0);
	cr_assert_eq(codec_get_end(&r), -1);
	cr_assert_str_eq(r.err, "2 bytes left after last field");
	codec_put_free(&b);
}

/* At the end of its payload the reader looks no further, whatever is there. */
Test(codec, peek_at_the_end_reads_nothing_past_it)
{
	struct preader	 r;
	struct raw	 raw = { .len = 0 };

	raw_tag(&raw, 'I');
	raw_u32(&raw, 7);
	raw_tag(&raw, 'I');
	codec_get_init(&r, raw.b, raw.len - 1);
	cr_assert_eq(codec_get_peek(&r), 'I');
	cr_assert_eq(codec_get_u32(&r), 7);
	cr_assert_eq(codec_get_peek(&r), 0);
	cr_assert_eq(codec_get_at_end(&r), 1);
	cr_assert_eq(codec_get_end(&r), 0);
}

Test(codec, writer_refuses_oversize)
{
	struct pbuf	 b;

	/* The length field is a u32; a bigger blob fails, no cut. */
	codec_put_init(&b);
	codec_put_u32(&b, 1);
	codec_put_bytes(&b, "x", (size_t)UINT32_MAX + 1);
	cr_assert_eq(codec_put_failed(&b), 1);
	/* Sticky: nothing is appended afterwards. */
	codec_put_u32(&b, 2);
	cr_assert_eq(b.len, 5);
	codec_put_reset(&b);
	cr_assert_eq(codec_put_failed(&b), 0);
	codec_put_free(&b);

	codec_put_init(&b);
	codec_put_bytes(&b, NULL, 3);
	cr_assert_eq(codec_put_failed(&b), 1);
	codec_put_free(&b);

	/* the head of bytes written apart: the same limit */
	codec_put_init(&b);
	codec_put_bytes_head(&b, (size_t)UINT32_MAX + 1);
	cr_assert_eq(codec_put_failed(&b), 1);
	cr_assert_eq(b.len, 0);
	codec_put_bytes_head(&b, 0);
	cr_assert_eq(b.len, 0);
	codec_put_free(&b);
}
