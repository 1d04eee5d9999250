/*
 * Plain reads for the metric families (collect_file.h).  No stdio: one
 * open, reads until EOF, one close; /proc files report size 0, so the
 * buffer grows as the reads fill it.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_file.h"

#define CFILE_FIRST	8192
#define CFILE_MAX	(64u * 1024 * 1024)

void
cfile_free(struct cfile *f)
{
	free(f->p);
	memset(f, 0, sizeof(*f));
}

int
collect_path(const struct collect_env *env, const char *path, char *out,
    size_t outlen, char *err, size_t errlen)
{
	int	 n;

	n = snprintf(out, outlen, "%s%s", env->root, path);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "%s%s: path too long", env->root, path);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
cfile_grow(struct cfile *f)
{
	size_t	 cap;
	char	*p;

	cap = f->cap == 0 ? CFILE_FIRST : f->cap * 2;
	if (cap > CFILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	if ((p = realloc(f->p, cap)) == NULL)
		return -1;
	f->p = p;
	f->cap = cap;
	return 0;
}

int
collect_slurp(const struct collect_env *env, const char *path,
    struct cfile *f, char *err, size_t errlen)
{
	char	 full[COLLECT_PATH_MAX];
	ssize_t	 n;
	int	 fd, saved;

	f->len = 0;
	if (collect_path(env, path, full, sizeof(full), err, errlen) == -1)
		return -1;
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		goto fail;
	for (;;) {
		/* room for the bytes and the NUL */
		if (f->cap - f->len < 2 && cfile_grow(f) == -1)
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

ssize_t
collect_read_small(const struct collect_env *env, const char *path,
    char *buf, size_t len)
{
	char	 full[COLLECT_PATH_MAX], why[8];
	size_t	 got = 0;
	ssize_t	 n;
	int	 fd, saved;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (collect_path(env, path, full, sizeof(full), why,
	    sizeof(why)) == -1)
		return -1;
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			(void)close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (close(fd) == -1)
		return -1;
	return (ssize_t)got;
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
collect_u64(const char *s, unsigned long long *out)
{
	unsigned long long	 v = 0;
	unsigned		 d;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (v > (~0ULL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*s != '\0')
		return -1;
	*out = v;
	return 0;
}
