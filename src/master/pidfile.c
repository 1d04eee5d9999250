#include "pidfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "pathsafe.h"
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

/* Is the file we hold still the one named `name` in `dfd`? */
static int
pidfile_same(int fd, int dfd, const char *name)
{
	struct stat	 a, b;

	if (fstat(fd, &a) == -1 ||
	    fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Does process `pid` hold the file `fd` is open on?  1, 0, or -1 when its
 * descriptors cannot be read (another user's process, for one not root).
 * A master holds its pidfile open for its whole life, and so does the
 * process that started it until it returns.
 */
static int
pid_holds(pid_t pid, int fd)
{
	struct dirent	*de;
	struct stat	 want, sb;
	char		 path[64];
	DIR		*d;
	int		 found = 0;

	if (fstat(fd, &want) == -1)
		return -1;
	(void)snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* the link followed: what the descriptor is open on */
		if (fstatat(dirfd(d), de->d_name, &sb, 0) == 0 &&
		    sb.st_dev == want.st_dev && sb.st_ino == want.st_ino)
			found = 1;
	}
	(void)closedir(d);
	return found;
}

/* 1 when users other than its owner may open the file, -1 on error. */
static int
pidfile_shared(int fd)
{
	struct stat	 sb;

	if (fstat(fd, &sb) == -1)
		return -1;
	return (sb.st_mode & 0077) != 0;
}

int
pidfile_lock(struct pidfile *pf, const char *path, pid_t *stale_pid,
    char *err, size_t errlen)
{
	char	 dir[sizeof(pf->path)], why[768];
	pid_t	 other;
	int	 replaced = 0, shared;

	pf->fd = -1;
	pf->dfd = -1;
	*stale_pid = 0;
	if (strlcpy(pf->path, path, sizeof(pf->path)) >= sizeof(pf->path) ||
	    pathsafe_split(path, dir, sizeof(dir), pf->name,
	    sizeof(pf->name)) == -1) {
		snprintf(err, errlen, "[agent] pidfile %s: not an absolute "
		    "path of a file", path);
		return -1;
	}
	pf->dfd = pathsafe_open_dir(dir, geteuid(), PATHSAFE_CREATE, 0755,
	    why, sizeof(why));
	if (pf->dfd < 0) {
		pf->dfd = -1;
		snprintf(err, errlen, "[agent] pidfile %s: %s", path, why);
		return -1;
	}
again:
	/*
	 * close-on-exec: workers must not hold the lock after the master.
	 * 0600: flock(2) needs only an open file, of any mode, so a file
	 * others can read is a lock others can hold.
	 */
	pf->fd = pathsafe_open_file_at(pf->dfd, dir, pf->name, O_RDWR,
	    PIDFILE_MODE, geteuid(), 0, why, sizeof(why));
	if (pf->fd == -1) {
		snprintf(err, errlen, "[agent] pidfile: %s", why);
		goto fail;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			other = pidfile_read_fd(pf->fd);
			/*
			 * A file others could open, locked by a process that
			 * is not the pid in it: not an agent.  Made again.
			 */
			if (pidfile_shared(pf->fd) == 1 &&
			    other > 0 && pid_holds(other, pf->fd) == 0 &&
			    pidfile_same(pf->fd, pf->dfd, pf->name) &&
			    ++replaced <= 3 &&
			    unlinkat(pf->dfd, pf->name, 0) == 0) {
				if (*stale_pid == 0)
					*stale_pid = other;
				close(pf->fd);
				goto again;
			}
			snprintf(err, errlen, "agent is already running "
			    "(pid %ld, pidfile %s)", (long)other, path);
		} else
			snprintf(err, errlen, "cannot lock pidfile %s: %s",
			    path, strerror(errno));
		goto fail;
	}
	if (!pidfile_same(pf->fd, pf->dfd, pf->name)) {
		/* removed as stale between our open and lock: take the new */
		close(pf->fd);
		goto again;
	}
	if (*stale_pid == 0)
		*stale_pid = pidfile_read_fd(pf->fd);
	if ((shared = pidfile_shared(pf->fd)) == -1) {
		snprintf(err, errlen, "cannot stat pidfile %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (shared) {
		/*
		 * Stale, and others could open it (an older agent made it
		 * 0644): one of them may hold it open, to take its lock once
		 * we are gone.  Made again.
		 */
		if (++replaced > 3 || unlinkat(pf->dfd, pf->name, 0) == -1) {
			snprintf(err, errlen, "cannot replace pidfile %s, "
			    "which others may open: %s", path, replaced > 3 ?
			    "it keeps coming back" : strerror(errno));
			goto fail;
		}
		close(pf->fd);
		goto again;
	}
	return 0;
fail:
	if (pf->fd != -1)
		close(pf->fd);
	close(pf->dfd);
	pf->fd = pf->dfd = -1;
	return -1;
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
	if (unlinkat(pf->dfd, pf->name, 0) == -1 && errno != ENOENT)
		dprintf(STDERR_FILENO, "pidfile_remove: %s: %s\n", pf->path,
		    strerror(errno));
	close(pf->fd);
	close(pf->dfd);
	pf->fd = pf->dfd = -1;
}

/*
 * For the CLI: the pidfile of a running agent, read-only, under the same
 * rules as the master's (a pid read from a file someone else could write
 * would make `stop` signal any process).  The descriptor, -1 with errno
 * ENOENT when there is none, or -2 with err; *dfd is its directory.
 */
static int
pidfile_open_existing(const char *path, int *dfd, char *name,
    size_t namelen, char *err, size_t errlen)
{
	char	 dir[PATH_MAX], why[768];
	int	 fd;

	*dfd = -1;
	if (pathsafe_split(path, dir, sizeof(dir), name, namelen) == -1) {
		snprintf(err, errlen, "pidfile %s: not an absolute path of a "
		    "file", path);
		return -2;
	}
	*dfd = pathsafe_open_dir(dir, geteuid(), PATHSAFE_CHECK, 0, why,
	    sizeof(why));
	if (*dfd == PATHSAFE_ABSENT) {
		*dfd = -1;
		errno = ENOENT;
		return -1;
	}
	if (*dfd == -1 || pathsafe_check_file_at(*dfd, dir, name, geteuid(),
	    0, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "pidfile %s: %s", path, why);
		goto fail;
	}
	/*
	 * What was checked may have been replaced before this open (in a
	 * sticky directory, by anyone): checked again, as opened.  Non-
	 * blocking: a FIFO put there must not hang `agent stop`.
	 */
	fd = openat(*dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK);
	if (fd != -1) {
		if (pathsafe_check_fd(fd, dir, name, geteuid(), 0, why,
		    sizeof(why)) == 0)
			return fd;
		close(fd);
		snprintf(err, errlen, "pidfile %s: %s", path, why);
		goto fail;
	}
	if (errno == ENOENT) {
		close(*dfd);
		*dfd = -1;
		errno = ENOENT;
		return -1;
	}
	snprintf(err, errlen, "cannot open pidfile %s: %s", path,
	    strerror(errno));
fail:
	if (*dfd >= 0)
		close(*dfd);
	*dfd = -1;
	return -2;
}

int
pidfile_remove_stale(const char *path, char *err, size_t errlen)
{
	char	 name[NAME_MAX + 1];
	int	 fd, dfd, rv = 0;

	if ((fd = pidfile_open_existing(path, &dfd, name, sizeof(name), err,
	    errlen)) == -1)
		return 0;
	if (fd == -2)
		return -1;
	/* only while nobody holds it: a starting agent may have just
	 * taken it */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "pidfile %s is locked again: an agent is "
		    "starting", path);
		close(fd);
		close(dfd);
		return -1;
	}
	if (pidfile_same(fd, dfd, name) && unlinkat(dfd, name, 0) == -1 &&
	    errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale pidfile %s: %s",
		    path, strerror(errno));
		rv = -1;
	}
	close(fd);
	close(dfd);
	return rv;
}

int
pidfile_probe(const char *path, pid_t *pid, char *err, size_t errlen)
{
	char	 name[NAME_MAX + 1];
	int	 fd, dfd, held;

	*pid = 0;
	if ((fd = pidfile_open_existing(path, &dfd, name, sizeof(name), err,
	    errlen)) == -1)
		return 0;
	if (fd == -2)
		return -1;
	close(dfd);
	*pid = pidfile_read_fd(fd);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		held = 0;
	} else if (errno == EWOULDBLOCK) {
		held = 1;
		/*
		 * Whoever can open the file can lock it (an older agent made
		 * it 0644): the lock is the agent's only when the pid it
		 * names holds the file.  Else `stop` would signal whoever has
		 * that pid now.
		 */
		if (*pid > 0 && pid_holds(*pid, fd) != 1) {
			snprintf(err, errlen, "pidfile %s is locked, but pid "
			    "%ld, which it names, does not hold it: another "
			    "process does, and is not signalled", path,
			    (long)*pid);
			close(fd);
			return -1;
		}
	} else {
		snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return held;
}

int
pidfile_sibling(const struct pidfile *pf, const char *suffix, char *name,
    size_t len, char *dir, size_t dirlen)
{
	char	*slash;

	if (pf->path[0] == '\0' || pf->dfd < 0)
		return -1;	/* no pidfile taken: nowhere to keep it */
	if ((size_t)snprintf(name, len, "%s%s", pf->name, suffix) >= len)
		return -1;
	strlcpy(dir, pf->path, dirlen);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return 0;
}

int
pidfile_sibling_open(const struct pidfile *pf, const char *dir,
    const char *name, int flags, char *err, size_t errlen)
{
	struct stat	 sb;
	int		 fd, tries;

	/* a few times: whoever took the name may take it again at once */
	for (tries = 0; tries < 3; tries++) {
		fd = pathsafe_open_file_at(pf->dfd, dir, name, O_RDWR,
		    PIDFILE_MODE, geteuid(), flags, err, errlen);
		if (fd != -1 ||
		    fstatat(pf->dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			return fd;
		/* ours: what failed is something else */
		if (S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
		    sb.st_nlink == 1)
			return -1;
		/*
		 * The name is the agent's, beside the pidfile it holds
		 * locked.  In a sticky directory anyone may take it first,
		 * and the master wrote nothing there from then on: where
		 * the spool held after a failed move is, read again at the
		 * next start, was lost, and the records in it (answered
		 * 200) with it.  Whoever put it there loses only a name of
		 * theirs: it is never followed, and a hard link's file
		 * stays.
		 */
		if (unlinkat(pf->dfd, name, S_ISDIR(sb.st_mode) ?
		    AT_REMOVEDIR : 0) == -1 && errno != ENOENT) {
			(void)snprintf(err + strlen(err), errlen - strlen(err),
			    "; cannot remove it: %s", strerror(errno));
			return -1;
		}
		log_warnx("%s: %s/%s was not the master's (%s of uid %lu): "
		    "removed, made again", __func__, dir, name,
		    S_ISLNK(sb.st_mode) ? "a symbolic link" :
		    S_ISDIR(sb.st_mode) ? "a directory" :
		    S_ISREG(sb.st_mode) ? "a file" : "a special file",
		    (unsigned long)sb.st_uid);
	}
	return -1;
}
