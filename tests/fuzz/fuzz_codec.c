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
	if (r->err[0] == '\0' || !pr_at_end(r) || pr_peek(r) != 0)
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

	pr_init(&r, p, len);
	pb_init(&b);
	while (!pr_at_end(&r)) {
		t = pr_peek(&r);
		switch (t) {
		case 'I':
			u32 = pr_u32(&r);
			if (!r.failed)
				pb_u32(&b, u32);
			break;
		case 'L':
			u64 = pr_u64(&r);
			if (!r.failed)
				pb_u64(&b, u64);
			break;
		case 'J':
			i64 = pr_i64(&r);
			if (!r.failed)
				pb_i64(&b, i64);
			break;
		case 'D':
			d = pr_dbl(&r);
			if (!r.failed)
				pb_dbl(&b, d);
			break;
		case 'B':
			t = pr_bool(&r);
			if (!r.failed)
				pb_bool(&b, t);
			break;
		case 'S':
			s = pr_str(&r);
			if ((s == NULL) != (r.failed != 0))
				abort();
			if (s != NULL)
				pb_str(&b, s);
			free(s);
			break;
		case 'Y':
			v = pr_bytes(&r, &n);
			if ((v == NULL) != (r.failed != 0))
				abort();
			if (v != NULL)
				pb_bytes(&b, v, n);
			break;
		default:
			(void)pr_u64(&r);
			if (!r.failed)
				abort();
			break;
		}
		if (!r.failed)
			good = r.off;
	}
	if (pb_failed(&b))
		abort();
	/* Byte-exact re-encoding of everything read without error. */
	if (b.len != good || (good > 0 && memcmp(b.buf, p, good) != 0))
		abort();
	if (r.failed)
		check_failed(&r);
	else if (pr_end(&r) != 0)
		abort();
	pb_free(&b);
}

static void
schema(const uint8_t *sc, size_t sclen, const uint8_t *p, size_t len)
{
	struct preader	 r;
	char		 buf[8], *s;
	const void	*v;
	size_t		 i, n;
	int		 was;

	pr_init(&r, p, len);
	for (i = 0; i < sclen; i++) {
		was = r.failed;
		switch (sc[i] % 8) {
		case 0:
			(void)pr_u32(&r);
			break;
		case 1:
			(void)pr_u64(&r);
			break;
		case 2:
			(void)pr_i64(&r);
			break;
		case 3:
			(void)pr_dbl(&r);
			break;
		case 4:
			if (pr_bool(&r) > 1)
				abort();
			break;
		case 5:
			s = pr_str(&r);
			if (s != NULL && memchr(s, '\0', strlen(s) + 1) !=
			    s + strlen(s))
				abort();
			free(s);
			break;
		case 6:
			/* Buffer sizes 0..8 from the schema byte. */
			if (pr_strbuf(&r, buf, (sc[i] >> 3) % 9) == 0 &&
			    strlen(buf) >= (size_t)((sc[i] >> 3) % 9))
				abort();
			break;
		default:
			v = pr_bytes(&r, &n);
			if (v != NULL && (const uint8_t *)v + n > p + len)
				abort();
			break;
		}
		if (was && r.failed && r.off > len)
			abort();
		if (r.failed)
			check_failed(&r);
	}
	(void)pr_end(&r);
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
