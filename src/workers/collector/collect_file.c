/*
 * Reading files under the collector's root (collect_file.h).  No stdio:
 * one open, reads until EOF, one close; /proc files report size 0, so a
 * whole-file buffer grows as the reads fill it.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "collect_file.h"

#define CFILE_FIRST	8192

void
collect_file_free(struct cfile *f)
{
	free(f->p);
	memset(f, 0, sizeof(*f));
}

int
collect_path(char *buf, size_t len, const char *root, const char *fmt, ...)
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

/* Double the buffer, up to room for max bytes, one more and the NUL. */
static int
cfile_grow(struct cfile *f, size_t max)
{
	size_t	 cap;
	char	*p;

	cap = f->cap == 0 ? CFILE_FIRST : f->cap * 2;
	if (cap > max + 2)
		cap = max + 2;
	if ((p = realloc(f->p, cap)) == NULL)
		return -1;
	f->p = p;
	f->cap = cap;
	return 0;
}

/* collect_slurp(), or with `head` collect_slurp_head(). */
static int
slurp(const char *root, const char *path, size_t max, int head,
    struct cfile *f, char *err, size_t errlen)
{
	char	 full[PATH_MAX], *nl;
	ssize_t	 n;
	int	 fd, saved;

	f->len = 0;
	if (collect_path(full, sizeof(full), root, "%s", path) == -1) {
		snprintf(err, errlen, "%s%s: path too long", root, path);
		return -1;
	}
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		goto fail;
	for (;;) {
		/* room for the bytes and the NUL; a byte past max tells
		 * a file that is too large (len > max stops before this) */
		if (f->cap - f->len < 2 && cfile_grow(f, max) == -1)
			goto fail_fd;
		n = read(fd, f->p + f->len, f->cap - f->len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		if (n == 0)
			break;
		f->len += (size_t)n;
		if (f->len > max) {
			errno = EFBIG;
			if (!head || (nl = memrchr(f->p, '\n', max)) == NULL)
				goto fail_fd;
			f->len = (size_t)(nl - f->p) + 1;
			f->p[f->len] = '\0';
			(void)close(fd);
			return 1;
		}
	}
	f->p[f->len] = '\0';
	if (close(fd) == -1)
		goto fail;
	return 0;
 fail_fd:
	saved = errno;
	(void)close(fd);
	errno = saved;
 fail:
	saved = errno;
	snprintf(err, errlen, "%s: %s", full, strerror(saved));
	errno = saved;
	f->len = 0;
	return -1;
}

int
collect_slurp(const char *root, const char *path, size_t max,
    struct cfile *f, char *err, size_t errlen)
{
	return slurp(root, path, max, 0, f, err, errlen);
}

int
collect_slurp_head(const char *root, const char *path, size_t max,
    struct cfile *f, char *err, size_t errlen)
{
	return slurp(root, path, max, 1, f, err, errlen);
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
collect_read(const char *path, char *buf, size_t len)
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

char *
collect_line(char **s)
{
	char	*line = *s, *nl;

	if (*line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*s = nl + 1;
	} else
		*s = line + strlen(line);
	return line;
}

char *
collect_token(char **s)
{
	char	*p = *s, *t;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	t = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return t;
}

int
collect_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t	 v = 0;
	unsigned	 d;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (end != NULL)
		*end = s;
	else if (*s != '\0')
		return -1;
	*out = v;
	return 0;
}
