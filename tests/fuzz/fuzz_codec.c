/*
 * libFuzzer target for the payload reader (src/common/codec.c).
 *
 * Pass 1 decodes the input by its own tags and re-encodes every field it
 * read: the writer must reproduce exactly the bytes the reader consumed.
 * Pass 2 reads with a schema taken from the input itself, so that wrong
 * types, short payloads and small string buffers are hit; errors must be
 * sticky and explained.
 *
 * Input: byte 0 is the schema length for pass 2, then the schema, then
 * the payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_failed(const struct preader *r)
{
	/* A failure names itself and ends every "until the end" loop. */
	if (r->err[0] == '\0' || !codec_get_at_end(r) || codec_get_peek(r) != 0)
		abort();
	if (memchr(r->err, '\0', sizeof(r->err)) == NULL)
		abort();
}

static void
roundtrip(const uint8_t *p, size_t len)
{
	struct preader	 r;
	struct pbuf	 b;
	const void	*v;
	size_t		 n, good = 0;
	uint64_t	 u64;
	int64_t		 i64;
	double		 d;
	uint32_t	 u32;
	char		*s;
	int		 t;

	codec_get_init(&r, p, len);
	codec_put_init(&b);
	while (!codec_get_at_end(&r)) {
		t = codec_get_peek(&r);
		switch (t) {
		case 'I':
			u32 = codec_get_u32(&r);
			if (!r.failed)
				codec_put_u32(&b, u32);
			break;
		case 'L':
			u64 = codec_get_u64(&r);
			if (!r.failed)
				codec_put_u64(&b, u64);
			break;
		case 'J':
			i64 = codec_get_i64(&r);
			if (!r.failed)
				codec_put_i64(&b, i64);
			break;
		case 'D':
			d = codec_get_dbl(&r);
			if (!r.failed)
				codec_put_dbl(&b, d);
			break;
		case 'B':
			t = codec_get_bool(&r);
			if (!r.failed)
				codec_put_bool(&b, t);
			break;
		case 'S':
			s = codec_get_str(&r);
			if ((s == NULL) != (r.failed != 0))
				abort();
			if (s != NULL)
				codec_put_str(&b, s);
			free(s);
			break;
		case 'Y':
			v = codec_get_bytes(&r, &n);
			if ((v == NULL) != (r.failed != 0))
				abort();
			if (v != NULL)
				codec_put_bytes(&b, v, n);
			break;
		default:
			(void)codec_get_u64(&r);
			if (!r.failed)
				abort();
			break;
		}
		if (!r.failed)
			good = r.off;
	}
	if (codec_put_failed(&b))
		abort();
	/* Byte-exact re-encoding of everything read without error. */
	if (b.len != good || (good > 0 && memcmp(b.buf, p, good) != 0))
		abort();
	if (r.failed)
		check_failed(&r);
	else if (codec_get_end(&r) != 0)
		abort();
	codec_put_free(&b);
}

static void
schema(const uint8_t *sc, size_t sclen, const uint8_t *p, size_t len)
{
	struct preader	 r;
	char		 buf[8], *s;
	const void	*v;
	size_t		 i, n;
	int		 was;

	codec_get_init(&r, p, len);
	for (i = 0; i < sclen; i++) {
		was = r.failed;
		switch (sc[i] % 8) {
		case 0:
			(void)codec_get_u32(&r);
			break;
		case 1:
			(void)codec_get_u64(&r);
			break;
		case 2:
			(void)codec_get_i64(&r);
			break;
		case 3:
			(void)codec_get_dbl(&r);
			break;
		case 4:
			if (codec_get_bool(&r) > 1)
				abort();
			break;
		case 5:
			s = codec_get_str(&r);
			if (s != NULL && memchr(s, '\0', strlen(s) + 1) !=
			    s + strlen(s))
				abort();
			free(s);
			break;
		case 6:
			/* Buffer sizes 0..8 from the schema byte. */
			if (codec_get_strbuf(&r, buf, (sc[i] >> 3) % 9) == 0 &&
			    strlen(buf) >= (size_t)((sc[i] >> 3) % 9))
				abort();
			break;
		default:
			v = codec_get_bytes(&r, &n);
			if (v != NULL && (const uint8_t *)v + n > p + len)
				abort();
			break;
		}
		if (was && r.failed && r.off > len)
			abort();
		if (r.failed)
			check_failed(&r);
	}
	(void)codec_get_end(&r);
	if (r.off > r.len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 sclen;

	if (size < 1)
		return 0;
	sclen = data[0];
	if (sclen > size - 1)
		sclen = size - 1;
	roundtrip(data + 1 + sclen, size - 1 - sclen);
	roundtrip(data, size);
	schema(data + 1, sclen, data + 1 + sclen, size - 1 - sclen);
	return 0;
}
