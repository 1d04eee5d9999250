#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "util.h"

static pid_t
pidfile_read_fd(int fd)
{
	char		 buf[32];
	ssize_t		 n;
	long long	 v;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (util_parse_int64(buf, 1, 0x7fffffff, &v) == -1)
		return 0;
	return (pid_t)v;
}

/* Is the file we hold still the one at `path`? */
static int
pidfile_same(int fd, const char *path)
{
	struct stat	 a, b;

	if (fstat(fd, &a) == -1 || stat(path, &b) == -1)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
pidfile_lock(struct pidfile *pf, const char *path, pid_t *stale_pid,
    char *err, size_t errlen)
{
	pid_t	 other;
	char	*dir, *slash;

	pf->fd = -1;
	*stale_pid = 0;
	if (strlcpy(pf->path, path, sizeof(pf->path)) >= sizeof(pf->path)) {
		snprintf(err, errlen, "pidfile path too long: %s", path);
		return -1;
	}
	if ((dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "pidfile_lock: %s", strerror(errno));
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (util_mkdir_p(dir, 0755) == -1) {
			snprintf(err, errlen, "cannot create %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
again:
	/* close-on-exec: workers must not hold the lock after the master */
	pf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pf->fd == -1) {
		snprintf(err, errlen, "cannot open pidfile %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			other = pidfile_read_fd(pf->fd);
			snprintf(err, errlen, "agent is already running "
			    "(pid %ld, pidfile %s)", (long)other, path);
		} else
			snprintf(err, errlen, "cannot lock pidfile %s: %s",
			    path, strerror(errno));
		close(pf->fd);
		pf->fd = -1;
		return -1;
	}
	if (!pidfile_same(pf->fd, path)) {
		/* removed as stale between our open and lock: take the new */
		close(pf->fd);
		goto again;
	}
	*stale_pid = pidfile_read_fd(pf->fd);
	return 0;
}

int
pidfile_write(struct pidfile *pf, pid_t pid, char *err, size_t errlen)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	if (ftruncate(pf->fd, 0) == -1 ||
	    pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write pidfile %s: %s", pf->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
pidfile_remove(struct pidfile *pf)
{
	if (pf->fd == -1)
		return;
	/* unlink while still holding the lock, so no one sees a gap */
	if (unlink(pf->path) == -1 && errno != ENOENT)
		dprintf(STDERR_FILENO, "pidfile_remove: %s: %s\n", pf->path,
		    strerror(errno));
	close(pf->fd);
	pf->fd = -1;
}

int
pidfile_remove_stale(const char *path, char *err, size_t errlen)
{
	int	 fd, rv = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	/* only while nobody holds it: a starting agent may have just
	 * taken it */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "pidfile %s is locked again: an agent is "
		    "starting", path);
		close(fd);
		return -1;
	}
	if (pidfile_same(fd, path) && unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale pidfile %s: %s",
		    path, strerror(errno));
		rv = -1;
	}
	close(fd);
	return rv;
}

int
pidfile_probe(const char *path, pid_t *pid, char *err, size_t errlen)
{
	int	 fd, held;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open pidfile %s: %s", path,
		    strerror(errno));
		return -1;
	}
	*pid = pidfile_read_fd(fd);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		held = 0;
	} else if (errno == EWOULDBLOCK) {
		held = 1;
	} else {
		snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return held;
}
