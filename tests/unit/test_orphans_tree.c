/*
 * orphans_kill_tree() (src/master/orphans_tree.c): a process left behind
 * goes with everything under it, whatever group or session each put
 * itself in.  Killing the process and its group left a child in a group
 * of its own alive, which became the master's and did the same again,
 * one generation per sweep, for ever.  The test is a subreaper, as the
 * master is, so that what is killed comes back to it to be reaped and
 * seen dead of SIGKILL.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "master/master.h"

#define DEPTH	4	/* the leftover and three generations under it */

/* The leftover and its generations: each says its pid, puts itself
 * apart (a group, then sessions of their own) and makes the next. */
static void __attribute__((noreturn))
generations(int fd)
{
	pid_t	 self, kid;
	int	 level;

	for (level = 0;; level++) {
		if (level == 1)
			(void)setpgid(0, 0);
		else if (level > 1)
			(void)setsid();
		self = getpid();
		if (write(fd, &self, sizeof(self)) != (ssize_t)sizeof(self))
			_exit(1);
		if (level + 1 == DEPTH || (kid = fork()) != 0)
			break;		/* the last, or a parent: it stays */
	}
	for (;;)
		pause();
}

/* The test a subreaper, and a tree under it: pids[0] its root. */
static void
start_tree(pid_t pids[DEPTH])
{
	pid_t	 root;
	int	 p[2], i;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(root = fork(), -1);
	if (root == 0) {
		(void)close(p[0]);
		generations(p[1]);
	}
	(void)close(p[1]);
	for (i = 0; i < DEPTH; i++)
		cr_assert_eq(read(p[0], &pids[i], sizeof(pids[i])),
		    (ssize_t)sizeof(pids[i]));
	(void)close(p[0]);
	cr_assert_eq(pids[0], root);
}

Test(orphans_tree, a_leftover_goes_with_every_generation_under_it,
    .timeout = 20)
{
	pid_t	 pids[DEPTH], got;
	int	 st, j, dead = 0;

	start_tree(pids);

	cr_assert_eq(orphans_kill_tree(pids[0], 64), DEPTH);
	/* each comes back to us, its subreaper, killed */
	while (dead < DEPTH) {
		got = waitpid(-1, &st, 0);
		cr_assert_neq(got, -1, "waitpid: %s", strerror(errno));
		for (j = 0; j < DEPTH && pids[j] != got; j++)
			;
		cr_assert_lt(j, DEPTH, "pid %ld is not of the tree",
		    (long)got);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		    "generation %d: status %#x", j, st);
		dead++;
	}
}

/* More processes than the bound: as many killed; the rest comes back to
 * the subreaper once its parent is gone, for the next sweep. */
Test(orphans_tree, past_the_bound_the_rest_waits_for_the_next_sweep,
    .timeout = 20)
{
	pid_t	 pids[DEPTH], got;
	int	 st, i;

	start_tree(pids);

	cr_assert_eq(orphans_kill_tree(pids[0], 2), 2);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(got = waitpid(-1, &st, 0), -1);
		cr_assert(got == pids[0] || got == pids[1]);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	/* the third is ours now: the next sweep's */
	cr_assert_eq(orphans_kill_tree(pids[2], 64), 2);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(got = waitpid(-1, &st, 0), -1);
		cr_assert(got == pids[2] || got == pids[3]);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
}

/*
 * A process of the tree that exits under the walk, listed but not yet
 * signalled, must not have its pid signalled once another process has
 * it.  A parent stopped by the walk cannot reap a child that exits, but
 * the kernel does that for it when it ignores SIGCHLD (SA_NOCLDWAIT
 * alike), stopped or not: the pid is free at once, and the master, root,
 * stopped and killed whatever process was given it next.  A plugin's
 * leftover can arrange all of it, and can bring the host's pid counter
 * round to the pid it frees (32768 on many hosts).
 *
 * Here in a pid namespace of its own, whose pid_max (Linux 6.14) is
 * small, so that the pid is reused at once: the leftover X ignores
 * SIGCHLD, has a child C that leaves as soon as it sees X stopped, and
 * thousands of threads, each a children file the walk reads before it comes
 * to C.  The counter is brought to just before X, so the next process
 * made anywhere in the namespace gets C's pid: a bystander B, forked by
 * a process outside the tree the moment C is gone.
 */
#include <sys/mount.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/utsname.h>
#include <time.h>

#define RACE_PID_MAX	"2048"
#define RACE_LOW	400	/* above 300, where a wrapped counter resumes */
#define RACE_THREADS	1000
#define RACE_BUDGET	30	/* seconds of tries, then failed */
#define RACE_SHOWN	3	/* tries that show B spared */

enum race_end {
	RACE_SPARED = 0,	/* B was not touched by the walk */
	RACE_KILLED,		/* B was */
	RACE_MISSED,		/* C was stopped before it could leave, or B
				 * came after the walk: nothing shown */
	RACE_SETUP		/* something else failed */
};

static int
race_write(const char *path, const char *s)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, strlen(s));
	(void)close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A pid taken and given back: the pid it was.  vfork: thousands of
 * these a try, and a fork of a sanitized process is slow. */
static pid_t
race_burn(void)
{
	pid_t	 pid;

	if ((pid = vfork()) == 0)
		_exit(0);
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
	return pid;
}

static char
race_state(pid_t pid)
{
	char		 path[64], buf[512], *s;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	if ((s = strstr(buf, "\nState:\t")) == NULL)
		return '?';
	return s[8];
}

static void *
race_sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* X: says C's pid on `ready`. */
static void __attribute__((noreturn))
race_leftover(int ready)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	pid_t		 self = getpid(), kid;
	int		 i;

	(void)signal(SIGCHLD, SIG_IGN);
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, 64 * 1024) != 0)
		_exit(3);
	if ((kid = fork()) == 0) {
		while (race_state(self) != 'T')
			;
		_exit(0);
	}
	for (i = 0; i < RACE_THREADS; i++)
		if (pthread_create(&t, &attr, race_sleeper, NULL) != 0)
			_exit(3);
	if (write(ready, &kid, sizeof(kid)) != (ssize_t)sizeof(kid))
		_exit(4);
	for (;;)
		pause();
}

/* S: told C's pid, forks B the moment C is gone; says B's pid, then
 * (told to) ends B with SIGTERM and says how B ended. */
static void __attribute__((noreturn))
race_spawner(int in, int out)
{
	pid_t	 c, b;
	int	 st;
	char	 go;

	if (read(in, &c, sizeof(c)) != (ssize_t)sizeof(c))
		_exit(5);
	/* a zombie is gone too: C stopped, then killed after X, is left
	 * to init, which reaps it only once this has said B's pid */
	while (race_state(c) != '?' && race_state(c) != 'Z')
		;
	if ((b = fork()) == 0)
		for (;;)
			pause();
	if (write(out, &b, sizeof(b)) != (ssize_t)sizeof(b) ||
	    read(in, &go, 1) != 1)
		_exit(6);
	(void)kill(b, SIGTERM);
	if (waitpid(b, &st, 0) != b ||
	    write(out, &st, sizeof(st)) != (ssize_t)sizeof(st))
		_exit(7);
	_exit(0);
}

static enum race_end
race_once(void)
{
	pid_t	 x, c, s, b, q, got;
	struct pollfd	 pfd;
	int	 toS[2], fromS[2], ready[2], st, late;

	if (pipe(toS) == -1 || pipe(fromS) == -1 || pipe(ready) == -1)
		return RACE_SETUP;
	if ((s = fork()) == 0)
		race_spawner(toS[0], fromS[1]);
	/* q: a free pid; X right after it, then C */
	if (s == -1 || (q = race_burn()) == -1)
		return RACE_SETUP;
	if ((x = fork()) == 0)
		race_leftover(ready[1]);
	if (x != q + 1 || read(ready[0], &c, sizeof(c)) != (ssize_t)sizeof(c) ||
	    c != x + 1)
		return RACE_SETUP;
	if (write(toS[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
		return RACE_SETUP;
	/* the counter round to q: the next pid made is C's, once free */
	while ((got = race_burn()) != q)
		if (got == -1)
			return RACE_SETUP;

	(void)orphans_kill_tree(x, 64);
	/* B there before the walk ended, or this try shows nothing */
	pfd.fd = fromS[0];
	pfd.events = POLLIN;
	late = poll(&pfd, 1, 0) != 1;

	if (read(fromS[0], &b, sizeof(b)) != (ssize_t)sizeof(b) ||
	    write(toS[1], "x", 1) != 1 ||
	    read(fromS[0], &st, sizeof(st)) != (ssize_t)sizeof(st))
		return RACE_SETUP;
	while (waitpid(-1, NULL, 0) != -1)
		;
	(void)close(toS[0]);
	(void)close(toS[1]);
	(void)close(fromS[0]);
	(void)close(fromS[1]);
	(void)close(ready[0]);
	(void)close(ready[1]);
	/* shown only when B had C's pid before the walk ended */
	if (late || b != c)
		return RACE_MISSED;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? RACE_SPARED :
	    RACE_KILLED;
}

/* Linux 6.14 on: pid_max is per pid namespace. */
static int
race_pid_max_per_ns(void)
{
	struct utsname	 u;
	int		 major = 0, minor = 0;

	if (uname(&u) == -1 || sscanf(u.release, "%d.%d", &major,
	    &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 14);
}

/* The namespace's init: /proc of its own, a small pid_max, the tries. */
static int __attribute__((noreturn))
race_init(void)
{
	enum race_end	 e;
	time_t		 start;
	int		 spared = 0;

	/* never hold the test: the namespace goes with its init */
	(void)alarm(RACE_BUDGET + 20);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("proc", "/proc", "proc", 0, NULL) == -1)
		_exit(10 + RACE_SETUP);
	if (race_write("/proc/sys/kernel/pid_max", RACE_PID_MAX) == -1)
		_exit(20);	/* no pid_max per namespace: skipped */
	while (race_burn() < RACE_LOW)
		;
	/* B spared in a try can also be B made just after the last kill:
	 * shown only by several tries, and killed in any is enough */
	start = time(NULL);
	while (spared < RACE_SHOWN && time(NULL) - start < RACE_BUDGET) {
		e = race_once();
		if (e == RACE_SPARED)
			spared++;
		else if (e != RACE_MISSED)
			_exit(10 + (int)e);
	}
	_exit(10 + (spared < RACE_SHOWN ? RACE_MISSED : RACE_SPARED));
}

/*
 * No .timeout: Criterion's runner leaked under ASan with it when another
 * test ran beside this one; race_init's alarm() bounds it instead.
 */
Test(orphans_tree, a_pid_freed_under_the_walk_is_not_signalled)
{
	pid_t	 p, n;
	int	 st;

	if (geteuid() != 0)
		cr_skip_test("needs root (a pid namespace)");
	/*
	 * Before 6.14 pid_max is the host's, whatever the namespace: the
	 * write below would leave every process of the machine 2048 pids.
	 */
	if (!race_pid_max_per_ns())
		cr_skip_test("needs Linux 6.14 (a pid_max per pid namespace)");
	cr_assert_neq(p = fork(), -1);
	if (p == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) == -1)
			_exit(20);
		if ((n = fork()) == 0)
			race_init();
		if (n == -1 || waitpid(n, &st, 0) != n || !WIFEXITED(st))
			_exit(10 + RACE_SETUP);
		_exit(WEXITSTATUS(st));
	}
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_assert(WIFEXITED(st), "status %#x", st);
	if (WEXITSTATUS(st) == 20)
		cr_skip_test("no pid namespace with a pid_max of its own");
	/* 1-7 s here: the budget leaves room for a loaded machine */
	cr_assert_neq(WEXITSTATUS(st), 10 + RACE_MISSED, "the race was not "
	    "run to the point %d times in %d s", RACE_SHOWN, RACE_BUDGET);
	cr_assert_neq(WEXITSTATUS(st), 10 + RACE_SETUP, "setup failed");
	cr_assert_eq(WEXITSTATUS(st), 10 + RACE_SPARED, "a process that was "
	    "given a pid of the tree was killed (%d)", WEXITSTATUS(st));
}
