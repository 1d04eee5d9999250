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
buf_reserve(struct buf *b, size_t more)
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

int
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

const char *
buf_str(const struct buf *b)
{
	return b->p != NULL ? b->p : "";
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
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
