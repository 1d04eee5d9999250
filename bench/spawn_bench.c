/*
 * spawn_bench: what starting one child costs the process that starts it,
 * for the ways the agent could start a plugin (bench/README.md, "Starting
 * children: bench/spawn_bench").
 *
 *   posix_spawn  glibc's posix_spawn with stdin, stdout and stderr file
 *                actions, a pipe read to EOF, waitpid: the baseline of
 *                issue 14 ("within 2x of a raw posix_spawn+pipe+waitpid").
 *   child_spawn  src/common/child.c as the scheduler calls it: its own
 *                session, PR_SET_PDEATHSIG, /dev/null on stdin, stdout and
 *                stderr pipes, chdir, an empty environment; pipes read to
 *                EOF, waitpid.
 *   fork         fork, then in the child what the old scheduler code did
 *                (setsid, prctl, 64 rt_sigaction, dup2, close_range,
 *                chdir, execve): the cost child.c replaced.
 *
 * The child is /bin/true.  The number is the CPU time (user + system, from
 * getrusage(RUSAGE_SELF)) of this process per start: what the scheduler
 * pays; the child's own time is reported apart (RUSAGE_CHILDREN).  fork's
 * cost grows with the parent's memory, so the parent first touches
 * -m MiB of heap (default 32, about a busy scheduler).
 *
 *   spawn_bench [-n starts] [-m MiB]
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

static char *const	 argv_true[] = { "true", NULL };
static char *const	 envp_none[] = { NULL };

static double
cpu_us(int who)
{
	struct rusage	 ru;

	if (getrusage(who, &ru) == -1)
		err(1, "getrusage");
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double
wall_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Read to EOF, reap, insist on exit 0. */
static void
finish(pid_t pid, int rfd)
{
	char	 buf[256];
	ssize_t	 n;
	int	 st;

	while ((n = read(rfd, buf, sizeof(buf))) != 0)
		if (n == -1 && errno != EINTR)
			err(1, "read");
	(void)close(rfd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			err(1, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(1, "child status %#x", st);
}

static void
one_posix_spawn(int devnull)
{
	posix_spawn_file_actions_t	 fa;
	pid_t				 pid;
	int				 p[2], e;

	if (pipe2(p, O_CLOEXEC) == -1)
		err(1, "pipe2");
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, devnull, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, p[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, p[1], 2) != 0)
		errx(1, "file actions");
	if ((e = posix_spawn(&pid, "/bin/true", &fa, NULL, argv_true,
	    envp_none)) != 0)
		errx(1, "posix_spawn: %s", strerror(e));
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)close(p[1]);
	finish(pid, p[0]);
}

static void
one_child_spawn(int devnull)
{
	struct child_spec	 cs;
	struct child_fail	 fail;
	pid_t			 pid;
	int			 o[2], e[2];

	if (pipe2(o, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1)
		err(1, "pipe2");
	child_spec_init(&cs);
	cs.path = "/bin/true";
	cs.argv = argv_true;
	cs.envp = envp_none;
	cs.dir = "/";
	cs.fd[0] = devnull;
	cs.fd[1] = o[1];
	cs.fd[2] = e[1];
	cs.flags = CHILD_SETSID | CHILD_PDEATHSIG;
	if ((pid = child_spawn(&cs, &fail)) == -1)
		err(1, "child_spawn");
	if (fail.step != CHILD_STEP_NONE)
		errx(1, "child_spawn: %s: %s", child_step_name(fail.step),
		    strerror(fail.err));
	(void)close(o[1]);
	(void)close(e[1]);
	(void)close(e[0]);
	finish(pid, o[0]);
}

static void
one_fork(int devnull)
{
	static const long	 dfl[8];
	pid_t			 pid;
	int			 p[2], sig;

	if (pipe2(p, O_CLOEXEC) == -1)
		err(1, "pipe2");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		(void)setsid();
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (sig = 1; sig <= 64; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				(void)syscall(SYS_rt_sigaction, sig, dfl, NULL,
				    8);
		if (dup2(devnull, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(126);
		(void)syscall(SYS_close_range, 3U, ~0U, 0U);
		if (chdir("/") == -1)
			_exit(126);
		execve("/bin/true", argv_true, envp_none);
		_exit(127);
	}
	(void)close(p[1]);
	finish(pid, p[0]);
}

static void
measure(const char *name, void (*one)(int), int devnull, int n)
{
	double	 s0, c0, w0, s1, c1, w1;
	int	 i;

	/* warm up: page tables, dynamic linking, the file actions */
	for (i = 0; i < n / 20 + 1; i++)
		one(devnull);
	s0 = cpu_us(RUSAGE_SELF);
	c0 = cpu_us(RUSAGE_CHILDREN);
	w0 = wall_us();
	for (i = 0; i < n; i++)
		one(devnull);
	s1 = cpu_us(RUSAGE_SELF);
	c1 = cpu_us(RUSAGE_CHILDREN);
	w1 = wall_us();
	printf("%-12s %8.1f %10.1f %10.1f\n", name, (s1 - s0) / n,
	    (c1 - c0) / n, (w1 - w0) / n);
}

int
main(int argc, char **argv)
{
	size_t	 mib = 32, i;
	char	*mem;
	int	 n = 2000, c, devnull;

	while ((c = getopt(argc, argv, "n:m:")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'm':
			mib = (size_t)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: spawn_bench [-n starts] "
			    "[-m MiB]\n");
			return 2;
		}
	}
	if (n < 1)
		errx(2, "-n: at least 1");
	/* a parent of some size, as the scheduler is: touched, so fork has
	 * page tables to copy */
	if (mib > 0) {
		if ((mem = malloc(mib << 20)) == NULL)
			err(1, "malloc");
		for (i = 0; i < (mib << 20); i += 4096)
			mem[i] = 1;
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "/dev/null");
	printf("%d starts of /bin/true, parent with %zu MiB touched\n", n, mib);
	printf("%-12s %8s %10s %10s\n", "", "self us", "children us",
	    "wall us");
	measure("posix_spawn", one_posix_spawn, devnull, n);
	measure("child_spawn", one_child_spawn, devnull, n);
	measure("fork", one_fork, devnull, n);
	return 0;
}
