/*
 * Disabled plugins survive restarts as empty files
 * pluginsdir/plugin.disabled/<ns>|<project>, the Go agent's layout
 * (lodastack-protocols.md 3.3).  The master makes the directory, owned by
 * `user`; gitpull writes there for us (scheduler_marks.c), the scheduler
 * and the plugins, pluginsuser's, only read it.
 */
#include "scheduler.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

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

	n = snprintf(buf, len, "%s/%s", pluginsdir, PLUGIN_MARKER_DIR);
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
	n = snprintf(buf, len, "%s/%s/%s", pluginsdir, PLUGIN_MARKER_DIR, key);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Only a regular file is a marker: anything else there was left by a
 * plugin of an older agent, when the directory was pluginsuser's (a
 * directory of its own would be a disable nobody could lift).  What
 * cannot be looked at counts as a marker, said in the log: a plugin the
 * operator disabled must not run because of an error.
 */
int
scheduler_marker_exists(const char *pluginsdir, const char *key)
{
	char		 path[CONF_STR_MAX + SCHED_KEY_MAX + 32];
	struct stat	 st;

	if (scheduler_marker_path(pluginsdir, key, path, sizeof(path)) == -1)
		return 0;
	if (lstat(path, &st) == 0)
		return S_ISREG(st.st_mode);
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	log_warn("%s: %s: taken as disabled", __func__, path);
	return 1;
}

int
scheduler_marker_expired(const char *pluginsdir, time_t now, time_t maxage,
    void (*cb)(const char *, time_t, void *), void *arg, char *err,
    size_t errlen)
{
	char		 dir[CONF_STR_MAX + 32];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 n = 0;

	if (marker_dir(pluginsdir, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "%s: path too long", pluginsdir);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* nothing disabled */
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '|') == NULL)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode) || now - st.st_mtime < maxage)
			continue;
		n++;
		cb(de->d_name, st.st_mtime, arg);
	}
	closedir(d);
	return n;
}
