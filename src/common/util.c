#include <sys/uio.h>
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

int
util_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_writev_all(int fd, struct iovec *iov, int iovcnt)
{
	ssize_t	 n;
	size_t	 left;

	while (iovcnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			iovcnt--;
			continue;
		}
		n = writev(fd, iov, iovcnt);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		/* a partial write: skip what went, resume within an iovec */
		for (left = (size_t)n; iovcnt > 0 && left >= iov->iov_len;
		    iov++, iovcnt--)
			left -= iov->iov_len;
		if (left > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* mkdir, then the mode asked for whatever the umask: 0 or -1 (errno). */
static int
mkdir_exact(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1)
		return -1;
	/*
	 * Under systemd's UMask=0027 a pluginsdir made 0750 would shut
	 * the plugins' user out; only a directory made here is changed.
	 */
	return chmod(path, mode);
}

int
util_mkdir_p(const char *path, mode_t mode)
{
	char		 buf[PATH_MAX];
	char		*p;
	struct stat	 sb;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_exact(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir_exact(buf, mode) == -1) {
		if (errno != EEXIST)
			return -1;
		if (stat(buf, &sb) == -1)
			return -1;
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

int
util_uid_of(const char *name, uid_t *uid)
{
	struct passwd	*pw;
	long long	 v;

	if (util_all_digits(name, strlen(name))) {
		/* below (uid_t)-1, which means none */
		if (util_parse_int64(name, 0, (long long)UINT32_MAX - 1,
		    &v) == -1)
			return -1;
		*uid = (uid_t)v;
		return 0;
	}
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	return 0;
}

int
util_uid_set_add(uid_t *set, size_t *n, size_t cap, const char *name,
    uid_t *uid)
{
	size_t	 i;

	if (util_uid_of(name, uid) == -1)
		return -1;
	if (*uid == 0)
		return 0;
	for (i = 0; i < *n; i++)
		if (set[i] == *uid)
			return 0;
	if (*n == cap)
		return -2;
	set[(*n)++] = *uid;
	return 0;
}

int
util_all_digits(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
util_parse_int64(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *
util_format_duration(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh%lldm", s / 86400,
		    (s % 86400) / 3600, (s % 3600) / 60);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm%llds", s / 3600,
		    (s % 3600) / 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
	return buf;
}

int
util_refuse_fds(int fd)
{
	int	 off = 0;

	return setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off));
}

void
util_tail_append(char *buf, size_t cap, size_t *len, const void *p, size_t n)
{
	const char	*src = p;

	if (n >= cap) {
		memcpy(buf, src + n - cap, cap);
		*len = cap;
		return;
	}
	if (*len + n > cap) {
		memmove(buf, buf + *len + n - cap, cap - n);
		*len = cap - n;
	}
	memcpy(buf + *len, src, n);
	*len += n;
}
