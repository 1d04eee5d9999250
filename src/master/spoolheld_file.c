/*
 * The spool held (spoolheld.c), kept across a restart of the agent.
 *
 * After a move that failed, the records in the old spool were answered
 * 200, and only the master's memory said where they are: a restart (agent
 * stop and start, a master killed) gave the sender the configured spool
 * and left them there for good.  So the master writes the held spool's
 * path next to the pidfile, `<pidfile>.spool`, in the directory it walked
 * and locked (pidfile.c), and removes it once no spool is held; a master
 * starting reads it, and when that directory still passes the checks a
 * configured spool passes, its sender reads it first, then tries the move
 * again.  The file is root's (or ours), in a directory nobody else can
 * write: not a worker's word.  The default pidfile directory, /run, does
 * not survive a reboot; the old spool's records then wait for a reload
 * that names it again (the master says where at each failed move).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "dirs.h"
#include "log.h"
#include "master.h"
#include "pathsafe.h"

#define SPOOLHELD_SUFFIX	".spool"

void
spoolheld_save(struct master *m)
{
	const char	*held = m->spoolheld.held;
	char		 name[sizeof(m->pidfile.name) + 8], dir[1024];
	char		 why[768];
	ssize_t		 n;
	size_t		 len;
	int		 fd;

	m->spoolheld.pending = 0;
	if (pidfile_sibling(&m->pidfile, SPOOLHELD_SUFFIX, name, sizeof(name), dir,
	    sizeof(dir)) == -1)
		return;
	m->spoolheld.saves++;
	if (held[0] == '\0') {
		if (unlinkat(m->pidfile.dfd, name, 0) == -1 && errno != ENOENT)
			log_warn("%s: %s", __func__, name);
		return;
	}
	fd = pidfile_sibling_open(&m->pidfile, dir, name, PATHSAFE_F_SYNCDIR,
	    why, sizeof(why));
	if (fd == -1) {
		log_warnx("%s: %s: a restart will not find the spool %s",
		    __func__, why, held);
		return;
	}
	len = strlen(held);
	if (ftruncate(fd, 0) == -1 ||
	    (n = pwrite(fd, held, len, 0)) != (ssize_t)len ||
	    pwrite(fd, "\n", 1, (off_t)len) != 1 || fdatasync(fd) == -1)
		log_warn("%s: %s/%s: a restart may not find the spool %s",
		    __func__, dir, name, held);
	(void)close(fd);
}

void
spoolheld_restore(struct master *m)
{
	struct agent_conf	 probe;
	char			 name[sizeof(m->pidfile.name) + 8];
	char			 path[CONF_STR_MAX + 1], dir[1024], why[768];
	ssize_t			 n;
	int			 fd;

	if (pidfile_sibling(&m->pidfile, SPOOLHELD_SUFFIX, name, sizeof(name), dir,
	    sizeof(dir)) == -1)
		return;
	fd = openat(m->pidfile.dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("%s: %s", __func__, name);
		return;
	}
	if (pathsafe_check_fd(fd, dir, name, geteuid(), 0, why,
	    sizeof(why)) == -1) {
		log_warnx("%s: %s: not read", __func__, why);
		(void)close(fd);
		return;
	}
	n = pread(fd, path, sizeof(path) - 1, 0);
	(void)close(fd);
	if (n <= 0 || path[n - 1] != '\n') {
		log_warnx("%s: %s/%s: no spool path in it: not read", __func__,
		    dir, name);
		return;
	}
	path[n - 1] = '\0';
	if (path[0] != '/' || strchr(path, '\n') != NULL)
		return;
	if (strcmp(path, m->conf.spool) == 0) {
		spoolheld_save(m);	/* configured again: nothing held */
		return;
	}
	/* a spool directory as a config naming it would have it */
	probe = m->conf;
	strlcpy(probe.spool, path, sizeof(probe.spool));
	if (dirs_check(&probe, geteuid(), why, sizeof(why)) == -1) {
		log_warnx("the spool %s, which the sender kept before the "
		    "restart, is not read: %s", path, why);
		return;
	}
	spoolheld_configured(m, path);
	strlcpy(m->spoolheld.held, path, sizeof(m->spoolheld.held));
	log_warnx("the sender kept the spool %s before the restart (a move "
	    "to %s failed): it reads it first, then tries the move again",
	    path, m->conf.spool[0] != '\0' ? m->conf.spool : "memory");
}
