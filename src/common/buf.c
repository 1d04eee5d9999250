#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN		256

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

int
buf_failed(const struct buf *b)
{
	return b->failed;
}

/* Room for `more` bytes plus the NUL. */
int
buf_grow(struct buf *b, size_t more)
{
	size_t	 want, cap;
	char	*p;

	if (b->failed)
		return -1;
	if (more > SIZE_MAX - b->len - 1) {
		b->failed = 1;
		return -1;
	}
	want = b->len + more + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->p != NULL ? b->p : "";
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (buf_reserve(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_add_u64(struct buf *b, unsigned long long v)
{
	char	 tmp[24];
	size_t	 n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_add(b, tmp + n, sizeof(tmp) - n);
}

const char *
buf_i64_str(char tmp[BUF_I64_MAX], long long v, size_t *len)
{
	size_t	 n = BUF_I64_MAX - 1;
	/* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	tmp[n] = '\0';
	do {
		tmp[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[--n] = '-';
	*len = BUF_I64_MAX - 1 - n;
	return tmp + n;
}

void
buf_add_i64(struct buf *b, long long v)
{
	char		 tmp[BUF_I64_MAX];
	const char	*s;
	size_t		 len;

	s = buf_i64_str(tmp, v, &len);
	buf_add(b, s, len);
}
