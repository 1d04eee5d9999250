/* Reading files under the collector's root (collect_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "collect_io.h"

int
cf_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 r;
	int	 n;

	r = strlcpy(buf, root, len);
	if (r >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + r, len - r, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - r) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* read() until len bytes, EOF or an error; EINTR retried. */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 r;

	while (off < len) {
		r = read(fd, buf + off, len - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	return (ssize_t)off;
}

ssize_t
cf_read(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	char	 extra;
	int	 fd, saved;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	n = read_full(fd, buf, len - 1);
	/* one byte more tells a file that fits from one that does not */
	if (n == (ssize_t)len - 1 && read_full(fd, &extra, 1) == 1) {
		n = -1;
		errno = EFBIG;
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	if (n == -1)
		return -1;
	buf[n] = '\0';
	return n;
}

int
cf_slurp(const char *path, size_t max, char **out, size_t *outlen)
{
	char	*buf = NULL, *nb;
	size_t	 cap = 0, len = 0;
	ssize_t	 r;
	int	 fd, saved;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > max + 2)
				cap = max + 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	(void)close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
 fail:
	saved = errno;
	(void)close(fd);
	free(buf);
	errno = saved;
	return -1;
}

int
cf_u64(const char **s, uint64_t *out)
{
	const char	*p = *s;
	uint64_t	 v = 0;
	unsigned	 d;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*s = p;
	return 0;
}
