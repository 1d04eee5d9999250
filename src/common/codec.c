/*
 * Payload codec: a stream of tagged fields (see codec.h for the layout).
 *
 * Field numbers in reader error messages count from 1 ("field 1" is the
 * first field of the payload), because they are read by people; r->field
 * itself counts the fields already read (0-based index of the next one).
 */
#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_U32		'I'
#define TAG_U64		'L'
#define TAG_I64		'J'
#define TAG_DBL		'D'
#define TAG_BOOL	'B'
#define TAG_STR		'S'
#define TAG_BYTES	'Y'

#define PB_MINCAP	64

/* Readers point here for an empty payload given as NULL, so that pointer
 * arithmetic never starts from NULL. */
static const uint8_t	pr_empty[1];

static int	 pb_reserve(struct pbuf *, size_t);
static void	 pb_put(struct pbuf *, int, const void *, size_t);
static void	 pb_lenfield(struct pbuf *, int, const void *, size_t);
static void	 pr_fail(struct preader *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *tag_name(int);
static int	 pr_fixed(struct preader *, int, void *, size_t);
static const uint8_t *pr_lenfield(struct preader *, int, size_t *);

void
codec_put_init(struct pbuf *b)
{
	b->buf = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = 0;
}

void
codec_put_free(struct pbuf *b)
{
	free(b->buf);
	codec_put_init(b);
}

void
codec_put_reset(struct pbuf *b)
{
	b->len = 0;
	b->failed = 0;
}

int
codec_put_failed(const struct pbuf *b)
{
	return b->failed;
}

/* Room for `more` bytes; doubles so that a long message costs O(n). */
static int
pb_reserve(struct pbuf *b, size_t more)
{
	size_t	 need, ncap;
	uint8_t	*nbuf;

	if (b->failed)
		return -1;
	if (more > SIZE_MAX - b->len) {
		b->failed = 1;
		return -1;
	}
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < PB_MINCAP ? PB_MINCAP : b->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((nbuf = realloc(b->buf, ncap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->buf = nbuf;
	b->cap = ncap;
	return 0;
}

static void
pb_put(struct pbuf *b, int tag, const void *v, size_t n)
{
	if (pb_reserve(b, 1 + n) == -1)
		return;
	b->buf[b->len++] = (uint8_t)tag;
	if (n > 0) {
		memcpy(b->buf + b->len, v, n);
		b->len += n;
	}
}

/* Tag, u32 length, bytes: the shape of strings and byte strings. */
static void
pb_lenfield(struct pbuf *b, int tag, const void *v, size_t n)
{
	uint32_t	 l;

	if (b->failed)
		return;
	/* The length travels as a u32; refuse rather than cut. */
	if (n > UINT32_MAX || (n > 0 && v == NULL) ||
	    n > SIZE_MAX - 1 - sizeof(l)) {
		b->failed = 1;
		return;
	}
	if (pb_reserve(b, 1 + sizeof(l) + n) == -1)
		return;
	l = (uint32_t)n;
	b->buf[b->len++] = (uint8_t)tag;
	memcpy(b->buf + b->len, &l, sizeof(l));
	b->len += sizeof(l);
	if (n > 0) {
		memcpy(b->buf + b->len, v, n);
		b->len += n;
	}
}

void
codec_put_u32(struct pbuf *b, uint32_t v)
{
	pb_put(b, TAG_U32, &v, sizeof(v));
}

void
codec_put_u64(struct pbuf *b, uint64_t v)
{
	pb_put(b, TAG_U64, &v, sizeof(v));
}

void
codec_put_i64(struct pbuf *b, int64_t v)
{
	pb_put(b, TAG_I64, &v, sizeof(v));
}

void
codec_put_dbl(struct pbuf *b, double v)
{
	pb_put(b, TAG_DBL, &v, sizeof(v));
}

void
codec_put_bool(struct pbuf *b, int v)
{
	uint8_t	 c = v ? 1 : 0;

	pb_put(b, TAG_BOOL, &c, sizeof(c));
}

void
codec_put_str(struct pbuf *b, const char *s)
{
	if (s == NULL)
		s = "";
	pb_lenfield(b, TAG_STR, s, strlen(s));
}

void
codec_put_bytes(struct pbuf *b, const void *v, size_t n)
{
	pb_lenfield(b, TAG_BYTES, v, n);
}

void
codec_put_bytes_head(struct pbuf *b, size_t n)
{
	uint32_t	 l;

	if (b->failed)
		return;
	if (n > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	if (pb_reserve(b, 1 + sizeof(l)) == -1)
		return;
	l = (uint32_t)n;
	b->buf[b->len++] = (uint8_t)TAG_BYTES;
	memcpy(b->buf + b->len, &l, sizeof(l));
	b->len += sizeof(l);
}

void
codec_get_init(struct preader *r, const void *p, size_t len)
{
	r->p = p != NULL ? p : pr_empty;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->field = 0;
	r->failed = 0;
	r->err[0] = '\0';
}

/* Keep the first error only: later ones are consequences of it. */
static void
pr_fail(struct preader *r, const char *fmt, ...)
{
	va_list	 ap;

	if (r->failed)
		return;
	r->failed = 1;
	va_start(ap, fmt);
	(void)vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

static const char *
tag_name(int tag)
{
	switch (tag) {
	case TAG_U32:
		return "u32";
	case TAG_U64:
		return "u64";
	case TAG_I64:
		return "i64";
	case TAG_DBL:
		return "double";
	case TAG_BOOL:
		return "bool";
	case TAG_STR:
		return "string";
	case TAG_BYTES:
		return "bytes";
	default:
		return NULL;
	}
}

/*
 * Check the next field's tag; on success the offset is past the tag.
 * The field counter moves only when the whole field was read.
 */
static int
pr_tag(struct preader *r, int want)
{
	int		 tag;
	const char	*name;

	if (r->failed)
		return -1;
	if (r->off >= r->len) {
		pr_fail(r, "field %u: expected %s, found end of payload",
		    r->field + 1, tag_name(want));
		return -1;
	}
	tag = r->p[r->off];
	if (tag != want) {
		if ((name = tag_name(tag)) != NULL)
			pr_fail(r, "field %u: expected %s, found %s",
			    r->field + 1, tag_name(want), name);
		else
			pr_fail(r, "field %u: expected %s, found unknown tag "
			    "0x%02x", r->field + 1, tag_name(want), tag);
		return -1;
	}
	r->off++;
	return 0;
}

static int
pr_fixed(struct preader *r, int tag, void *out, size_t n)
{
	size_t	 start = r->off;

	if (pr_tag(r, tag) == -1)
		return -1;
	if (r->len - r->off < n) {
		pr_fail(r, "field %u: %s needs %zu bytes, %zu left",
		    r->field + 1, tag_name(tag), n, r->len - r->off);
		r->off = start;
		return -1;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
	r->field++;
	return 0;
}

/* Tag, u32 length, bytes; returns the bytes in place. */
static const uint8_t *
pr_lenfield(struct preader *r, int tag, size_t *lenp)
{
	size_t		 start = r->off, left;
	uint32_t	 l;
	const uint8_t	*v;

	*lenp = 0;
	if (pr_tag(r, tag) == -1)
		return NULL;
	left = r->len - r->off;
	if (left < sizeof(l)) {
		pr_fail(r, "field %u: %s length needs %zu bytes, %zu left",
		    r->field + 1, tag_name(tag), sizeof(l), left);
		r->off = start;
		return NULL;
	}
	memcpy(&l, r->p + r->off, sizeof(l));
	left -= sizeof(l);
	if (l > left) {
		pr_fail(r, "field %u: %s length %u past end of payload "
		    "(%zu bytes left)", r->field + 1, tag_name(tag), l, left);
		r->off = start;
		return NULL;
	}
	v = r->p + r->off + sizeof(l);
	if (tag == TAG_STR && l > 0 && memchr(v, '\0', l) != NULL) {
		pr_fail(r, "field %u: NUL inside string", r->field + 1);
		r->off = start;
		return NULL;
	}
	r->off += sizeof(l) + l;
	r->field++;
	*lenp = l;
	return v;
}

uint32_t
codec_get_u32(struct preader *r)
{
	uint32_t	 v;

	if (pr_fixed(r, TAG_U32, &v, sizeof(v)) == -1)
		return 0;
	return v;
}

uint64_t
codec_get_u64(struct preader *r)
{
	uint64_t	 v;

	if (pr_fixed(r, TAG_U64, &v, sizeof(v)) == -1)
		return 0;
	return v;
}

int64_t
codec_get_i64(struct preader *r)
{
	int64_t	 v;

	if (pr_fixed(r, TAG_I64, &v, sizeof(v)) == -1)
		return 0;
	return v;
}

double
codec_get_dbl(struct preader *r)
{
	double	 v;

	if (pr_fixed(r, TAG_DBL, &v, sizeof(v)) == -1)
		return 0;
	return v;
}

int
codec_get_bool(struct preader *r)
{
	uint8_t	 v;

	if (pr_fixed(r, TAG_BOOL, &v, sizeof(v)) == -1)
		return 0;
	if (v > 1) {
		/* Not consumed as valid: the counter names this field. */
		r->field--;
		pr_fail(r, "field %u: bool value %u is not 0 or 1",
		    r->field + 1, v);
		return 0;
	}
	return v;
}

char *
codec_get_str(struct preader *r)
{
	const uint8_t	*v;
	size_t		 n;
	char		*s;

	if ((v = pr_lenfield(r, TAG_STR, &n)) == NULL)
		return NULL;
	if ((s = malloc(n + 1)) == NULL) {
		pr_fail(r, "field %u: out of memory for a string of %zu "
		    "bytes", r->field, n);
		return NULL;
	}
	memcpy(s, v, n);
	s[n] = '\0';
	return s;
}

int
codec_get_strbuf(struct preader *r, char *buf, size_t size)
{
	const uint8_t	*v;
	size_t		 n;

	if (size > 0)
		buf[0] = '\0';
	if ((v = pr_lenfield(r, TAG_STR, &n)) == NULL)
		return -1;
	if (n >= size) {
		/* r->field already counts this one: it is the last read. */
		pr_fail(r, "field %u: string of %zu bytes does not fit in "
		    "%zu", r->field, n, size);
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

const void *
codec_get_bytes(struct preader *r, size_t *lenp)
{
	size_t	 dummy;

	if (lenp == NULL)
		lenp = &dummy;
	return pr_lenfield(r, TAG_BYTES, lenp);
}

int
codec_get_peek(const struct preader *r)
{
	if (r->failed || r->off >= r->len)
		return 0;
	return r->p[r->off];
}

/*
 * A failed reader counts as at the end, so that a loop reading "until the
 * end" stops on the first error instead of spinning.
 */
int
codec_get_at_end(const struct preader *r)
{
	return r->failed || r->off >= r->len;
}

int
codec_get_end(struct preader *r)
{
	if (r->failed)
		return -1;
	if (r->off < r->len) {
		pr_fail(r, "%zu bytes left after last field", r->len - r->off);
		return -1;
	}
	return 0;
}
