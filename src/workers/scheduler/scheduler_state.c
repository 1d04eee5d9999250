/*
 * Disabled plugins survive restarts as empty files
 * pluginsdir/plugin.disabled/<ns>|<project>, the Go agent's layout
 * (lodastack-protocols.md 3.3).  The master makes the directory, owned by
 * pluginsuser; the scheduler is the only one writing there.
 */
#include "scheduler.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MARKER_DIR	"plugin.disabled"

/* How far tests moved the markers' clock (scheduler_clock_advance()). */
static time_t	 clock_skew;

time_t
scheduler_now(void)
{
	return time(NULL) + clock_skew;
}

void
scheduler_clock_advance(time_t secs)
{
	clock_skew += secs;
}

static int
marker_dir(const char *pluginsdir, char *buf, size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", pluginsdir, MARKER_DIR);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
scheduler_marker_path(const char *pluginsdir, const char *key, char *buf,
    size_t len)
{
	int	 n;

	/* the key is <ns>|<project>, both checked path components */
	if (strchr(key, '/') != NULL || key[0] == '.' || key[0] == '\0')
		return -1;
	n = snprintf(buf, len, "%s/%s/%s", pluginsdir, MARKER_DIR, key);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
scheduler_marker_exists(const char *pluginsdir, const char *key)
{
	char		 path[CONF_STR_MAX + SCHED_KEY_MAX + 32];
	struct stat	 st;

	if (scheduler_marker_path(pluginsdir, key, path, sizeof(path)) == -1)
		return 0;
	return lstat(path, &st) == 0;
}

int
scheduler_marker_dir_init(const char *pluginsdir, char *err, size_t errlen)
{
	char		 dir[CONF_STR_MAX + 32];
	struct stat	 st;

	if (marker_dir(pluginsdir, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "%s/%s: path too long", pluginsdir,
		    MARKER_DIR);
		return -1;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The marker, open for writing.  The directory is pluginsuser's, so a
 * plugin may have put anything there: a FIFO, whose open for writing
 * would wait for a reader (the scheduler with it) were it not for
 * O_NONBLOCK, or a link (O_NOFOLLOW).  Anything but a file is removed by
 * its name and a file made in its place.
 */
static int
marker_open(const char *path)
{
	struct stat	 st;
	int		 fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	if (fd != -1) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return fd;
		close(fd);
	} else if (errno != ENXIO && errno != ELOOP)
		return -1;
	log_warnx("%s: not a file: replaced", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		e = errno;
		errno = e == EISDIR ? EEXIST : e;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0644);
}

int
scheduler_marker_create(const char *pluginsdir, const char *key, char *err,
    size_t errlen)
{
	char		 path[CONF_STR_MAX + SCHED_KEY_MAX + 32];
	struct timespec	 ts[2];
	int		 fd;

	if (scheduler_marker_path(pluginsdir, key, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "marker for \"%s\": bad name or path "
		    "too long", key);
		return -1;
	}
	/* the directory may have been removed since the start */
	(void)scheduler_marker_dir_init(pluginsdir, err, errlen);
	if ((fd = marker_open(path)) == -1) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * Disabling again starts the 24 hours again.  The time is the
	 * sweep's own clock (scheduler_now()): the kernel's stamp can be a
	 * second ahead of time(2) (fine-grained file times against the
	 * coarse clock), and the marker then outlived its day by a sweep.
	 */
	ts[0].tv_sec = ts[1].tv_sec = scheduler_now();
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) == -1) {
		snprintf(err, errlen, "touch %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
scheduler_marker_remove(const char *pluginsdir, const char *key, char *err,
    size_t errlen)
{
	char	 path[CONF_STR_MAX + SCHED_KEY_MAX + 32];

	if (scheduler_marker_path(pluginsdir, key, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "marker for \"%s\": bad name or path "
		    "too long", key);
		return -1;
	}
	/* no marker: enabled already, which is what was asked */
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
scheduler_marker_sweep(const char *pluginsdir, time_t now, time_t maxage,
    void (*cb)(const char *, void *), void *arg, char *err, size_t errlen)
{
	char		 dir[CONF_STR_MAX + 32];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 dfd, n = 0;

	if (marker_dir(pluginsdir, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "%s: path too long", pluginsdir);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '|') == NULL)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - st.st_mtime < maxage)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == -1) {
			if (errno != ENOENT)
				snprintf(err, errlen, "remove %s/%s: %s", dir,
				    de->d_name, strerror(errno));
			continue;
		}
		n++;
		if (cb != NULL)
			cb(de->d_name, arg);
	}
	closedir(d);
	return n;
}
