/*
 * Processes left behind by workers.  The master is a child subreaper, so
 * a plugin or a git command whose worker died (or that a plugin forked
 * and abandoned in a session of its own) is reparented here instead of
 * to init.  Nothing but workers should ever be our children: anything
 * else is killed, with its process group when it leads one, and reaped
 * by supervise_reap().
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "procinfo.h"

#define ORPHAN_SWEEP_EVERY	2.0	/* seconds */

int
orphans_become_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		log_warn("%s: prctl(PR_SET_CHILD_SUBREAPER)", __func__);
		return -1;
	}
	return 0;
}

static int
is_worker(const struct master *m, pid_t pid)
{
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].pid == pid)
			return 1;
	return 0;
}

static void
kill_stray(pid_t pid, pid_t pgid, const char *comm)
{
	log_warnx("%s: killing process %ld (%s) left behind by a worker",
	    __func__, (long)pid, comm);
	/*
	 * An unreaped child of ours keeps its pid, so this cannot hit
	 * someone else.  Its group goes too when it leads one: that is how
	 * plugin runs are started, and their helpers share the group.
	 */
	if (pgid == pid && kill(-pgid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("%s: kill(-%ld)", __func__, (long)pgid);
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("%s: kill(%ld)", __func__, (long)pid);
}

int
orphans_sweep(struct master *m)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		 self = getpid(), pid, ppid, pgid;
	char		 comm[64];
	int		 killed = 0;

	/* /proc/<pid>/task/<tid>/children needs a kernel option; the
	 * full scan works everywhere and the master runs it rarely. */
	if ((d = opendir("/proc")) == NULL) {
		log_warn("%s: opendir /proc", __func__);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid <= 0 || pid == self ||
		    procinfo_stat_ids(pid, &ppid, &pgid, comm,
		    sizeof(comm)) == -1)
			continue;
		if (ppid != self || is_worker(m, pid))
			continue;
		kill_stray(pid, pgid, comm);
		killed++;
	}
	(void)closedir(d);
	return killed;
}

static void
sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)orphans_sweep(t->data);
}

void
orphans_start(struct master *m)
{
	ev_timer_init(&m->orphan_timer, sweep_cb, ORPHAN_SWEEP_EVERY,
	    ORPHAN_SWEEP_EVERY);
	m->orphan_timer.data = m;
	ev_timer_start(m->loop, &m->orphan_timer);
}
