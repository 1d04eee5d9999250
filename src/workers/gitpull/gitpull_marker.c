/*
 * Disable markers for the scheduler (gitpull_marker.h).  Every name is
 * opened relative to the markers' directory, which is opened without
 * following a link: whatever an older agent or a plugin of an older
 * agent left there (the directory was pluginsuser's) is a name to
 * replace, never a file to follow.
 */
#include "gitpull_marker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The markers' directory, made when `create`; -2 when absent. */
static int
marker_dir_open(const char *pluginsdir, int create, char *err, size_t errlen)
{
	int	 pfd, dfd, e;

	if ((pfd = open(pluginsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", pluginsdir, strerror(errno));
		return -1;
	}
	dfd = openat(pfd, PLUGIN_MARKER_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 && errno == ENOENT && create) {
		/* the master made it at start; someone removed it since */
		if (mkdirat(pfd, PLUGIN_MARKER_DIR, 0755) == -1 &&
		    errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s/%s: %s", pluginsdir,
			    PLUGIN_MARKER_DIR, strerror(errno));
			close(pfd);
			return -1;
		}
		dfd = openat(pfd, PLUGIN_MARKER_DIR, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		/* whatever the umask: the scheduler must read it */
		if (dfd != -1 && fchmod(dfd, 0755) == -1) {
			snprintf(err, errlen, "chmod %s/%s: %s", pluginsdir,
			    PLUGIN_MARKER_DIR, strerror(errno));
			close(dfd);
			close(pfd);
			return -1;
		}
	}
	e = errno;
	close(pfd);
	if (dfd == -1 && e == ENOENT && !create)
		return -2;
	if (dfd == -1) {
		snprintf(err, errlen, "%s/%s: %s", pluginsdir,
		    PLUGIN_MARKER_DIR, e == ELOOP || e == ENOTDIR ?
		    "not a directory (the master makes it again at the next "
		    "start or reload)" : strerror(e));
		return -1;
	}
	return dfd;
}

/*
 * Remove the name `key`.  A directory there is no marker (the scheduler
 * counts only files) but a plugin of an older agent may have left one,
 * with things of its own inside that we cannot remove: it is moved
 * aside under a dot name, which nothing reads.
 */
static int
marker_unlink(int dfd, const char *key)
{
	struct stat	 st;
	char		 aside[64];

	if (unlinkat(dfd, key, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -1;
	if (unlinkat(dfd, key, AT_REMOVEDIR) == 0)
		return 0;
	if ((errno != ENOTEMPTY && errno != EEXIST) ||
	    fstatat(dfd, key, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	/* its inode number: no two of them at once */
	(void)snprintf(aside, sizeof(aside), ".aside.%llu",
	    (unsigned long long)st.st_ino);
	if (renameat2(dfd, key, dfd, aside, RENAME_NOREPLACE) == -1)
		return -1;
	log_warnx("%s/%s: a directory in a marker's place, left by a plugin "
	    "of an older agent: moved aside to %s", PLUGIN_MARKER_DIR, key,
	    aside);
	return 0;
}

/*
 * The marker, open for writing: a file of ours with one name.  Anything
 * else there (a FIFO, whose open would wait for a reader but for
 * O_NONBLOCK; a link; another user's file) is removed by its name and a
 * file made in its place.
 */
static int
marker_open(int dfd, const char *key)
{
	struct stat	 st;
	int		 fd;

	fd = openat(dfd, key, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	if (fd != -1) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() && st.st_nlink == 1)
			return fd;
		close(fd);
	} else if (errno != ENXIO && errno != ELOOP && errno != EACCES &&
	    errno != EISDIR && errno != EPERM)
		return -1;
	log_warnx("%s/%s: not a marker of ours: replaced", PLUGIN_MARKER_DIR,
	    key);
	if (marker_unlink(dfd, key) == -1)
		return -1;
	return openat(dfd, key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0644);
}

static int
marker_make(int dfd, const char *path, const char *key, time_t now, char *err,
    size_t errlen)
{
	struct timespec	 ts[2];
	int		 fd;

	if ((fd = marker_open(dfd, key)) == -1) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		return -1;
	}
	/* disabling again starts the 24 hours again */
	ts[0].tv_sec = ts[1].tv_sec = now;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) == -1) {
		snprintf(err, errlen, "touch %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
marker_remove(int dfd, const char *path, const char *key, time_t before,
    int *kept, char *err, size_t errlen)
{
	struct stat	 st;

	if (before > 0 && fstatat(dfd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_mtime > before) {
		*kept = 1;
		return 0;
	}
	/* no marker: enabled already, which is what was asked */
	if (marker_unlink(dfd, key) == -1) {
		snprintf(err, errlen, "remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
gitpull_marker_apply(const char *pluginsdir, const struct git_req *r,
    time_t now, int *kept, char *err, size_t errlen)
{
	char	 key[NAME_MAX + 1], path[PATH_MAX];
	int	 dfd, rv, n;

	*kept = 0;
	n = snprintf(key, sizeof(key), "%s|%s", r->ns, r->project);
	if (n < 0 || (size_t)n >= sizeof(key) || strchr(key, '/') != NULL ||
	    key[0] == '.') {
		snprintf(err, errlen, "marker \"%.64s|%.64s\": not a file name",
		    r->ns, r->project);
		return -1;
	}
	(void)snprintf(path, sizeof(path), "%s/%s/%s", pluginsdir,
	    PLUGIN_MARKER_DIR, key);
	if (r->mark != GIT_MARK_DISABLE && r->mark != GIT_MARK_ENABLE) {
		snprintf(err, errlen, "%s: no marker operation", path);
		return -1;
	}
	dfd = marker_dir_open(pluginsdir, r->mark == GIT_MARK_DISABLE, err,
	    errlen);
	if (dfd == -2)
		return 0;	/* no directory, no marker: enabled */
	if (dfd == -1)
		return -1;
	if (r->mark == GIT_MARK_DISABLE)
		rv = marker_make(dfd, path, key, now, err, errlen);
	else
		rv = marker_remove(dfd, path, key, (time_t)r->mark_before, kept,
		    err, errlen);
	close(dfd);
	return rv;
}
