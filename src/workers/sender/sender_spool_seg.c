/*
 * The spool's record format (sender_spool.h): encoding a record and
 * checking one read back.  Pure: no descriptor, no state but the CRC
 * tables it is given, so every byte can be checked by unit tests.
 */
#include <string.h>

#include "sender_spool.h"

static const uint8_t	 seg_magic[8] = { 'A', 'G', 'S', 'P', 'O', 'O', 'L',
	1 };
static const uint8_t	 rec_magic[4] = { 'A', 'G', 'S', 'R' };
static const uint8_t	 mark_magic[4] = { 'A', 'G', 'S', 'M' };

#define OFF_LEN		4
#define OFF_CRC		8
#define OFF_NPOINTS	12
#define OFF_SEQ		16
#define OFF_FMT		24
#define OFF_LANE	25
#define OFF_TOPICLEN	26
#define OFF_ZERO	27

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void
sender_spool_seg_header(uint8_t out[SPOOL_SEG_HDR], uint64_t id)
{
	memcpy(out, seg_magic, sizeof(seg_magic));
	put64(out + 8, id);
}

int
sender_spool_seg_header_ok(const uint8_t in[SPOOL_SEG_HDR])
{
	return memcmp(in, seg_magic, sizeof(seg_magic)) == 0;
}

int
sender_spool_rec_head(struct buf *b, const struct crc32c *crc,
    uint64_t seq, enum spool_lane lane, const struct points_msg *m)
{
	uint8_t		*h;
	size_t		 tlen = strlen(m->topic), start = b->len, len, hlen;
	uint32_t	 c;

	len = SPOOL_REC_HDR + tlen + m->len;
	hlen = SPOOL_REC_HDR + tlen;
	if (tlen == 0 || tlen > TOPIC_MAX || len > SPOOL_REC_MAX ||
	    buf_reserve(b, hlen) == -1)
		return -1;
	h = (uint8_t *)b->p + start;
	memcpy(h, rec_magic, sizeof(rec_magic));
	put32(h + OFF_LEN, (uint32_t)len);
	put32(h + OFF_CRC, 0);
	put32(h + OFF_NPOINTS, m->npoints);
	put64(h + OFF_SEQ, seq);
	h[OFF_FMT] = (uint8_t)m->fmt;
	h[OFF_LANE] = (uint8_t)lane;
	h[OFF_TOPICLEN] = (uint8_t)tlen;
	h[OFF_ZERO] = 0;
	memcpy(h + SPOOL_REC_HDR, m->topic, tlen);
	/* the CRC covers the points too, which are not copied here */
	c = sender_crc32c(crc, 0, h, hlen);
	put32(h + OFF_CRC, sender_crc32c(crc, c, m->data, m->len));
	b->len += hlen;
	b->p[b->len] = '\0';
	return 0;
}

int
sender_spool_rec_encode(struct buf *b, const struct crc32c *crc,
    uint64_t seq, enum spool_lane lane, const struct points_msg *m)
{
	if (sender_spool_rec_head(b, crc, seq, lane, m) == -1 ||
	    buf_add(b, m->data, m->len) == -1)
		return -1;
	return 0;
}

uint32_t
sender_spool_rec_len(const uint8_t *h)
{
	uint32_t	 len;

	if (memcmp(h, rec_magic, sizeof(rec_magic)) != 0)
		return 0;
	len = get32(h + OFF_LEN);
	/* a topic and one point at least */
	if (len < SPOOL_REC_HDR + 2 || len > SPOOL_REC_MAX ||
	    h[OFF_TOPICLEN] == 0 || h[OFF_TOPICLEN] > TOPIC_MAX ||
	    SPOOL_REC_HDR + (uint32_t)h[OFF_TOPICLEN] >= len ||
	    h[OFF_FMT] > FORMAT_LINE || h[OFF_LANE] >= SPOOL_LANES ||
	    h[OFF_ZERO] != 0 || get32(h + OFF_NPOINTS) == 0)
		return 0;
	return len;
}

int
sender_spool_rec_check(const struct crc32c *crc, const uint8_t *p,
    size_t len, struct spool_rec *out)
{
	uint8_t		 zero[4] = { 0, 0, 0, 0 };
	uint32_t	 want, got, lines;
	const char	*d, *nl, *end;
	size_t		 tlen;

	if (len < SPOOL_REC_HDR || sender_spool_rec_len(p) != len)
		return -1;
	want = get32(p + OFF_CRC);
	got = sender_crc32c(crc, 0, p, OFF_CRC);
	got = sender_crc32c(crc, got, zero, sizeof(zero));
	got = sender_crc32c(crc, got, p + OFF_CRC + 4, len - OFF_CRC - 4);
	if (got != want)
		return -1;
	tlen = p[OFF_TOPICLEN];
	d = (const char *)p + SPOOL_REC_HDR + tlen;
	end = (const char *)p + len;
	/* what the sender's accounting relies on, as points_msg_decode() */
	if (memchr(p + SPOOL_REC_HDR, '\0', tlen) != NULL || end[-1] == '\n')
		return -1;
	for (lines = 1, nl = d; (nl = memchr(nl, '\n',
	    (size_t)(end - nl))) != NULL; nl++)
		lines++;
	if (lines != get32(p + OFF_NPOINTS))
		return -1;
	memset(out, 0, sizeof(*out));
	out->seq = get64(p + OFF_SEQ);
	out->fmt = (enum out_format)p[OFF_FMT];
	out->lane = (enum spool_lane)p[OFF_LANE];
	out->npoints = lines;
	memcpy(out->topic, p + SPOOL_REC_HDR, tlen);
	out->topic[tlen] = '\0';
	out->data = d;
	out->len = (size_t)(end - d);
	out->reclen = len;
	return 0;
}

uint64_t
sender_spool_rec_seq(const uint8_t *hdr)
{
	return get64(hdr + OFF_SEQ);
}

uint32_t
sender_spool_rec_npoints(const uint8_t *hdr)
{
	return get32(hdr + OFF_NPOINTS);
}

void
sender_spool_mark_encode(uint8_t out[SPOOL_MARK_LEN], const struct crc32c *c,
    uint64_t seq)
{
	memcpy(out, mark_magic, sizeof(mark_magic));
	put64(out + 8, seq);
	put32(out + 4, sender_crc32c(c, 0, out + 8, 8));
}

int
sender_spool_mark_decode(const uint8_t in[SPOOL_MARK_LEN],
    const struct crc32c *c, uint64_t *seq)
{
	if (memcmp(in, mark_magic, sizeof(mark_magic)) != 0 ||
	    get32(in + 4) != sender_crc32c(c, 0, in + 8, 8))
		return -1;
	*seq = get64(in + 8);
	return 0;
}

size_t
sender_spool_rec_find(const uint8_t *p, size_t len, size_t from)
{
	const uint8_t	*hit;

	if (from >= len)
		return len;
	hit = memmem(p + from, len - from, rec_magic, sizeof(rec_magic));
	return hit != NULL ? (size_t)(hit - p) : len;
}
