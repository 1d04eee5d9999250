/*
 * Processes left behind by workers.  The master is a child subreaper, so
 * a plugin or a git command whose worker died (or that a plugin forked
 * and abandoned in a session of its own) is reparented here instead of
 * to init.  Nothing but workers should ever be our children: anything
 * else is killed, with its process group when it leads one, and reaped
 * by supervise_reap().
 *
 * When: at once when a worker dies (supervise.c), and on a timer, since
 * nothing tells us when a plugin's leftover is reparented here.  Every
 * ORPHAN_SWEEP_BUSY seconds while the scheduler or gitpull is at work
 * (their counters changed within ORPHAN_BUSY_FOR: runs, git commands),
 * else every ORPHAN_SWEEP_IDLE: on an idle agent the wakeups are what
 * costs (bench/README.md, "bench/footprint").  A sweep reads our children
 * from /proc/self/task/<pid>/children, not the whole of /proc.
 *
 * While plugins run, the master is woken every 4 s or so anyway (the
 * sender's and the scheduler's counters, paced at WORKER_STATS_EVERY): a
 * turn of the loop ORPHAN_SWEEP_EARLY of the period (3.6 s) or more after
 * the last sweep sweeps then and restarts the timer, so the sweep rides
 * those turns and the timer (6 s) fires only when they stop.  The period
 * is well over the turns' so that the timer does not win the race with
 * them and lock into a wakeup of its own; that wakeup was a fifth of what
 * the master cost a plugin run (bench/README.md, "bench/plugins").  So
 * what a plugin leaves behind outside its group lives 6 s at most, with
 * everything it made (orphans_tree.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "procinfo.h"

#define ORPHAN_SWEEP_BUSY	6.0	/* seconds, while plugins or git run */
#define ORPHAN_SWEEP_IDLE	60.0	/* seconds, otherwise */
#define ORPHAN_BUSY_FOR		30.0	/* seconds after the last activity */
#define ORPHAN_CHILDREN_MAX	4096	/* bytes of pids read a sweep */
#define ORPHAN_SWEEP_EARLY	0.6	/* of the period: a turn sweeps */
#define ORPHAN_TREE_MAX		4096	/* processes killed under one */

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

	/* one left behind in the kernel is killed already, and waited
	 * for (supervise.c): not a stray to sweep */
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].pid == pid || m->w[r].left == pid)
			return 1;
	return 0;
}

static void
kill_stray(struct master *m, pid_t pid, pid_t pgid, const char *comm)
{
	/*
	 * Said once per process: one held in the kernel outlives SIGKILL
	 * (a close on a FUSE file that is never answered, in execve), and
	 * every sweep finds it again until it goes.
	 */
	uint64_t	 since;
	char		 more[64] = "";
	int		 n, dying;

	/*
	 * Killed already, with the group it was in (gitpull's git at a stop
	 * or a timeout, a plugin's run), and handed to us as its parent died
	 * first: nobody left it behind, it is being reaped.  Killed again
	 * all the same (its own children may not be), but not said.
	 */
	dying = procinfo_dying(pid) == 1;
	/*
	 * An unreaped child of ours keeps its pid, so this cannot hit
	 * someone else.  Every process under it goes, in whatever group or
	 * session (orphans_tree.c); and its group when it leads one: that
	 * is how plugin runs are started, and their helpers share the
	 * group.  The tree first: killed first, it could be gone before its
	 * children were read, and they, handed to us, would wait for the
	 * next sweep, a generation at a time.
	 */
	n = orphans_kill_tree(pid, ORPHAN_TREE_MAX);
	if (pgid == pid && kill(-pgid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("%s: kill(-%ld)", __func__, (long)pgid);
	/*
	 * And one line per WARN_LIMIT_EVERY, with how many it stands for: a
	 * plugin may leave pluginmaxprocs of them at every run, and a line
	 * each, root's, filled the log's disk at its will.
	 */
	if (dying)
		log_debug("%s: process %ld (%s), killed already, handed to "
		    "us as it dies; %d under it", __func__, (long)pid, comm,
		    n - 1);
	else if (pid != m->orphan_last_killed &&
	    warn_limit_due(&m->orphan_warn, ev_now(m->loop), &since)) {
		if (since > 1)
			snprintf(more, sizeof(more), " (%llu more since the "
			    "last such line)", (unsigned long long)(since - 1));
		log_warnx("%s: killing process %ld (%s) left behind by a "
		    "worker, and %d under it%s", __func__, (long)pid, comm,
		    n - 1, more);
	}
	m->orphan_last_killed = pid;
}

/* One process that may be our child: kill it unless it is a worker. */
static int
check_child(struct master *m, pid_t pid)
{
	pid_t	 ppid, pgid, self = m->orphan_self;
	char	 comm[64];

	if (pid <= 0 || pid == self || is_worker(m, pid) ||
	    procinfo_ids(pid, &ppid, &pgid, comm, sizeof(comm)) == -1 ||
	    ppid != self)
		return 0;
	kill_stray(m, pid, pgid, comm);
	return 1;
}

/*
 * Our children as the kernel lists them; -1 when this kernel has no such
 * file (CONFIG_PROC_CHILDREN) or it cannot be read.  The main thread's
 * list is enough: the workers are started from it, and the kernel hands
 * an orphan to the first live thread of its reaper, which is the main
 * thread while the master runs.  The file is kept open and read again
 * from its start: opening it, and listing /proc/self/task to find it,
 * were most of what a sweep cost (bench/README.md, "bench/plugins").
 */
static int
sweep_children(struct master *m)
{
	char		 buf[ORPHAN_CHILDREN_MAX + 1], *p, *end;
	ssize_t		 n;
	long		 pid;
	int		 killed = 0;

	if (m->orphan_children_fd == -1)
		return -1;
	/* a list longer than the buffer: the rest waits for the next
	 * sweep, the killed ones leave room */
	if ((n = pread(m->orphan_children_fd, buf, sizeof(buf) - 1, 0)) == -1)
		return -1;
	buf[n] = '\0';
	for (p = buf; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0 && pid <= INT_MAX)
			killed += check_child(m, (pid_t)pid);
	}
	return killed;
}

int
orphans_sweep(struct master *m)
{
	DIR		*d;
	struct dirent	*de;
	int		 killed = 0;

	if ((killed = sweep_children(m)) >= 0)
		return killed;
	killed = 0;
	/* no children file: every process's parent, from the whole /proc */
	if ((d = opendir("/proc")) == NULL) {
		log_warn("%s: opendir /proc", __func__);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		killed += check_child(m, (pid_t)strtol(de->d_name, NULL,
		    10));
	}
	(void)closedir(d);
	return killed;
}

/* A sweep now; from the busy period back to the idle one when due. */
static void
sweep_now(struct master *m)
{
	ev_timer	*t = &m->orphan_timer;

	(void)orphans_sweep(m);
	m->orphan_swept_at = ev_now(m->loop);
	if (t->repeat != ORPHAN_SWEEP_IDLE &&
	    m->orphan_swept_at >= m->orphan_busy_until)
		t->repeat = ORPHAN_SWEEP_IDLE;
	ev_timer_again(m->loop, t);
}

static void
sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	sweep_now(t->data);
}

/* Before the loop blocks: a turn that woke for something else. */
static void
sweep_check_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct master	*m = p->data;
	ev_timer	*t = &m->orphan_timer;

	if (ev_is_active(t) &&
	    ev_now(loop) - m->orphan_swept_at >= t->repeat * ORPHAN_SWEEP_EARLY)
		sweep_now(m);
}

void
orphans_start(struct master *m)
{
	char	 path[64];

	m->orphan_self = getpid();
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
	    (long)m->orphan_self);
	m->orphan_children_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->orphan_children_fd == -1)
		log_debug("%s: %s: %s; sweeps read the whole of /proc",
		    __func__, path, strerror(errno));
	ev_timer_init(&m->orphan_timer, sweep_cb, 0., ORPHAN_SWEEP_BUSY);
	m->orphan_timer.data = m;
	m->orphan_busy_until = ev_now(m->loop) + ORPHAN_BUSY_FOR;
	m->orphan_swept_at = ev_now(m->loop);
	ev_timer_again(m->loop, &m->orphan_timer);
	ev_prepare_init(&m->orphan_check, sweep_check_cb);
	m->orphan_check.data = m;
	ev_prepare_start(m->loop, &m->orphan_check);
}

void
orphans_stop(struct master *m)
{
	ev_prepare_stop(m->loop, &m->orphan_check);
	ev_timer_stop(m->loop, &m->orphan_timer);
	if (m->orphan_children_fd != -1)
		(void)close(m->orphan_children_fd);
	m->orphan_children_fd = -1;
}

void
orphans_activity(struct master *m)
{
	m->orphan_busy_until = ev_now(m->loop) + ORPHAN_BUSY_FOR;
	if (m->orphan_timer.repeat != ORPHAN_SWEEP_BUSY) {
		m->orphan_timer.repeat = ORPHAN_SWEEP_BUSY;
		ev_timer_again(m->loop, &m->orphan_timer);
	}
}
