/*
 * reloadfile.h.  Written by the master as root in the pidfile's
 * directory, which it walked (pidfile.c); read by `agent reload`, as root
 * too, under the same rules: the directory may be sticky, where others
 * can add names but not take ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "master.h"
#include "pathsafe.h"
#include "reloadfile.h"

void
reloadfile_write(struct master *m, const char *outcome, const char *detail)
{
	char	 name[sizeof(m->pidfile.name) + 16], dir[1024], why[768];
	char	 line[1024];
	int	 fd, n;

	if (pidfile_sibling(&m->pidfile, RELOADFILE_SUFFIX, name,
	    sizeof(name), dir, sizeof(dir)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%ld:%llu %s %llu: %s\n",
	    (long)getpid(), (unsigned long long)++m->reloads_told, outcome,
	    (unsigned long long)m->generation, detail);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fd = pidfile_sibling_open(&m->pidfile, dir, name, 0, why,
	    sizeof(why));
	if (fd == -1) {
		log_warnx("%s: %s: agent reload cannot learn how it ended",
		    __func__, why);
		return;
	}
	/* the reader takes a line without its newline as not yet written */
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n)
		log_warn("%s: %s/%s", __func__, dir, name);
	(void)close(fd);
}

int
reloadfile_read(const char *path, char *buf, size_t len)
{
	char	 dir[PATH_MAX], name[NAME_MAX + 1], why[768];
	ssize_t	 n;
	char	*nl;
	int	 dfd, fd;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	/*
	 * The master's word only when it is the master's: beside a pidfile
	 * in a sticky directory anyone may plant this name first (the
	 * master then writes nothing there), and what it said was told as
	 * the outcome, its bytes on root's terminal.  The pidfile's rules.
	 */
	if (pathsafe_split(path, dir, sizeof(dir), name, sizeof(name)) == -1)
		return 0;
	dfd = pathsafe_open_dir(dir, geteuid(), PATHSAFE_CHECK, 0, why,
	    sizeof(why));
	if (dfd == PATHSAFE_ABSENT)
		return 0;
	if (dfd == -1)
		goto unsafe;
	/* checked before the open too: no device is opened, as pidfile.c */
	if (pathsafe_check_file_at(dfd, dir, name, geteuid(), 0, why,
	    sizeof(why)) == -1) {
		(void)close(dfd);
		goto unsafe;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1) {
		(void)close(dfd);
		if (errno == ENOENT)
			return 0;
		(void)snprintf(why, sizeof(why), "%s: %s", path,
		    strerror(errno));
		goto unsafe;
	}
	(void)close(dfd);
	if (pathsafe_check_fd(fd, dir, name, geteuid(), 0, why,
	    sizeof(why)) == -1) {
		(void)close(fd);
		goto unsafe;
	}
	n = read(fd, buf, len - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL)
		return 0;
	*nl = '\0';
	return strchr(buf, ' ') != NULL;
unsafe:
	strlcpy(buf, why, len);
	return -1;
}
