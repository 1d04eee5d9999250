/*
 * A growable byte buffer for building text (encoders, HTTP bodies).
 * Allocation failures are sticky: check buf_failed() once at the end.
 */
#ifndef AGENT_BUF_H
#define AGENT_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char	*p;		/* NUL-terminated when len > 0 or after use */
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keep memory */
/* The text, "" when nothing was ever added. */
const char	*buf_str(const struct buf *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A decimal integer, as printf's %lld or %llu would write it. */
void	 buf_add_i64(struct buf *, long long);
/*
 * The same as a string, without printf: written at the end of tmp,
 * NUL-terminated; where it starts, and its length in *len.
 */
#define BUF_I64_MAX	21	/* "-9223372036854775808" and the NUL */
const char *buf_i64_str(char tmp[BUF_I64_MAX], long long, size_t *len);
void	 buf_add_u64(struct buf *, unsigned long long);
int	 buf_failed(const struct buf *);

/* buf_reserve()'s slow half: the allocation.  Use buf_reserve(). */
int	 buf_grow(struct buf *, size_t more);

/*
 * The next three run for every byte the encoders write (several per
 * point on the /post path): inline, with only the growth out of line.
 */

/* Room for `more` bytes and the NUL without another allocation; -1
 * once the buffer has failed. */
static inline int
buf_reserve(struct buf *b, size_t more)
{
	if (!b->failed && b->cap > b->len && more < b->cap - b->len)
		return 0;
	return buf_grow(b, more);
}

static inline int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/* Inline, so that a literal's length is known when compiling. */
static inline void
buf_adds(struct buf *b, const char *s)
{
	(void)buf_add(b, s, strlen(s));
}

static inline void
buf_addc(struct buf *b, char c)
{
	if (buf_reserve(b, 1) == -1)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

#endif
