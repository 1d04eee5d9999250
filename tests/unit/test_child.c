/*
 * child_spawn: real children that exec real programs and say what they
 * got (signal dispositions and mask from /proc/self/status, descriptors,
 * session and group, umask, directory, environment), exec failures
 * reported with their step and errno, PR_SET_PDEATHSIG, and a spawn
 * under the deny-list seccomp filter the scheduler and gitpull run with.
 */
#include <criterion/criterion.h>

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "sandbox.h"

#define SH		"/bin/sh"
#define HANG_MS		10000	/* only a hang fails on this */

static char *const	 no_env[] = { NULL };

/* The kernel's struct sigaction for rt_sigaction(2), x86_64 layout and
 * others alike for what is used here (handler first, 64-bit mask). */
struct ksigaction {
	unsigned long	 handler;
	unsigned long	 flags;
	unsigned long	 restorer;
	uint64_t	 mask;
};

/* Run argv with stdout in a pipe; the output and the wait status. */
static int
run_capture(struct child_spec *cs, char *out, size_t outlen,
    struct child_fail *fail)
{
	int	 p[2], st;
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cs->fd[1] = p[1];
	pid = child_spawn(cs, fail);
	cr_assert_neq(pid, -1, "child_spawn: %s", strerror(errno));
	(void)close(p[1]);
	while (len < outlen - 1 &&
	    (n = read(p[0], out + len, outlen - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		cr_assert_neq(n, -1, "read: %s", strerror(errno));
		len += (size_t)n;
	}
	out[len] = '\0';
	(void)close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
sh_spec(struct child_spec *cs, char **argv, const char *script)
{
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	child_spec_init(cs);
	cs->path = SH;
	cs->argv = argv;
	cs->envp = no_env;
}

/* The hex value of `key` in the text of /proc/PID/status. */
static uint64_t
status_hex(const char *text, const char *key)
{
	char		 k[32];
	const char	*p;

	snprintf(k, sizeof(k), "\n%s:", key);
	p = strstr(text, k);
	cr_assert_not_null(p, "no %s in:\n%s", key, text);
	return strtoull(p + strlen(k), NULL, 16);
}

static void
raw_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old)
{
	cr_assert_eq(syscall(SYS_rt_sigaction, sig, act, old, 8), 0,
	    "rt_sigaction(%d): %s", sig, strerror(errno));
}

/*
 * Ignored in the parent: SIGUSR1, and 33, which glibc's sigaction will
 * not touch; blocked: SIGUSR2 and 34.  The child starts with all default
 * and nothing blocked.  /proc/self/status of cat itself, which changes
 * neither.
 */
Test(child, signals_reset_and_unblocked)
{
	static char *const	 argv[] = { "cat", "/proc/self/status", NULL };
	struct ksigaction	 ign, old1, old33;
	struct child_spec	 cs;
	struct child_fail	 fail;
	struct sigaction	 sa;
	uint64_t		 blk = (1ULL << (SIGUSR2 - 1)) |
				    (1ULL << (34 - 1)), oldmask, now;
	char			 out[8192];
	int			 st;

	/* glibc refuses 33 itself: why the raw call is needed */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	cr_assert_eq(sigaction(33, &sa, NULL), -1);

	memset(&ign, 0, sizeof(ign));
	ign.handler = (unsigned long)SIG_IGN;
	raw_sigaction(SIGUSR1, &ign, &old1);
	raw_sigaction(33, &ign, &old33);
	cr_assert_eq(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &blk, &oldmask,
	    8), 0);

	child_spec_init(&cs);
	cs.path = "/bin/cat";
	cs.argv = argv;
	cs.envp = no_env;
	st = run_capture(&cs, out, sizeof(out), &fail);

	/* the parent's own state is as it was */
	cr_assert_eq(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &oldmask, &now,
	    8), 0);
	cr_assert_eq(now & blk, blk, "the parent's mask changed");
	raw_sigaction(SIGUSR1, &old1, NULL);
	raw_sigaction(33, &old33, NULL);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_eq(fail.step, CHILD_STEP_NONE);
	cr_assert_eq(status_hex(out, "SigIgn"), 0, "%s", out);
	cr_assert_eq(status_hex(out, "SigBlk"), 0, "%s", out);
	cr_assert_eq(status_hex(out, "SigCgt"), 0, "%s", out);
}

/*
 * A descriptor without FD_CLOEXEC on 100 is gone in the child; the
 * kept one is on 3; the report pipe (4) and the exec descriptor (5)
 * closed with the exec.  Checked by the shell's builtin `[`, so
 * /proc/self is the shell.
 */
Test(child, descriptors_closed_from_3)
{
	char			*argv[4];
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			 out[256], got[16];
	int			 fd, kp[2], st;

	fd = open("/dev/null", O_RDONLY);
	cr_assert_neq(fd, -1);
	cr_assert_eq(dup2(fd, 100), 100);
	cr_assert_eq(fcntl(100, F_GETFD), 0, "100 is close-on-exec");
	cr_assert_eq(pipe2(kp, O_CLOEXEC), 0);

	sh_spec(&cs, argv,
	    "for f in 3 4 5 100; do "
	    "[ -e /proc/self/fd/$f ] && echo $f open || echo $f closed; "
	    "done; echo kept >&3");
	/* through the image of a descriptor, as the master does */
	cs.path = NULL;
	cs.exec_fd = open(SH, O_PATH | O_CLOEXEC);
	cr_assert_neq(cs.exec_fd, -1);
	cs.keep[0] = kp[1];
	cs.nkeep = 1;
	st = run_capture(&cs, out, sizeof(out), &fail);
	(void)close(kp[1]);
	(void)close(cs.exec_fd);
	(void)close(fd);
	(void)close(100);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_str_eq(out, "3 open\n4 closed\n5 closed\n100 closed\n");
	memset(got, 0, sizeof(got));
	cr_assert_eq(read(kp[0], got, sizeof(got) - 1), 5);
	cr_assert_str_eq(got, "kept\n");
	(void)close(kp[0]);
}

/* Sources on 0..3 and in any order end up where they were asked for. */
Test(child, descriptors_that_cross)
{
	char			*argv[4];
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			 out[64], got[16];
	int			 p[2], st, saved0;

	/* the kept descriptor is 0 and stdout's pipe lands on 3 */
	cr_assert_eq(pipe2(p, 0), 0);
	saved0 = dup(0);
	cr_assert_neq(saved0, -1);
	cr_assert_eq(dup2(p[1], 0), 0);
	(void)close(p[1]);
	sh_spec(&cs, argv, "echo out; echo three >&3");
	cs.keep[0] = 0;
	cs.nkeep = 1;
	st = run_capture(&cs, out, sizeof(out), &fail);
	cr_assert_eq(dup2(saved0, 0), 0);
	(void)close(saved0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_str_eq(out, "out\n");
	memset(got, 0, sizeof(got));
	cr_assert_eq(read(p[0], got, sizeof(got) - 1), 6);
	cr_assert_str_eq(got, "three\n");
	(void)close(p[0]);
}

static void
assert_fails_at(struct child_spec *cs, int step, int err)
{
	struct child_fail	 fail;
	pid_t			 pid;
	int			 st;

	pid = child_spawn(cs, &fail);
	cr_assert_neq(pid, -1, "child_spawn: %s", strerror(errno));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 127, "status %#x", st);
	cr_assert_eq(fail.step, step, "step %s, want %s",
	    child_step_name(fail.step), child_step_name(step));
	cr_assert_eq(fail.err, err, "errno %s, want %s", strerror(fail.err),
	    strerror(err));
}

Test(child, exec_failure_has_step_and_errno)
{
	static char *const	 argv[] = { "nothing", NULL };
	struct child_spec	 cs;
	int			 fd;

	child_spec_init(&cs);
	cs.path = "/nonexistent/nothing";
	cs.argv = argv;
	cs.envp = no_env;
	assert_fails_at(&cs, CHILD_STEP_EXEC, ENOENT);

	/* not executable */
	cs.path = "/etc/passwd";
	assert_fails_at(&cs, CHILD_STEP_EXEC, EACCES);

	cs.path = "/bin/true";
	cs.dir = "/nonexistent";
	assert_fails_at(&cs, CHILD_STEP_CHDIR, ENOENT);

	/* a descriptor that is not open */
	cs.dir = NULL;
	cs.fd[0] = 987;
	assert_fails_at(&cs, CHILD_STEP_FDS, EBADF);

	/* a Landlock domain of something that is not a ruleset: no exec */
	cs.fd[0] = -1;
	cs.landlock_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_neq(cs.landlock_fd, -1);
	assert_fails_at(&cs, CHILD_STEP_LANDLOCK, EBADFD);
	cr_assert_eq(close(cs.landlock_fd), 0);
	cs.landlock_fd = -1;

	/* a #! script through a close-on-exec descriptor cannot work */
	cs.fd[0] = -1;
	cs.path = NULL;
	fd = open("/bin/true", O_PATH | O_CLOEXEC);
	cr_assert_neq(fd, -1);
	cs.exec_fd = fd;
	{
		struct child_fail	 fail;
		pid_t			 pid;
		int			 st;

		pid = child_spawn(&cs, &fail);
		cr_assert_neq(pid, -1);
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		cr_assert_eq(fail.step, CHILD_STEP_NONE);
	}
	(void)close(fd);
	cr_assert_str_eq(child_step_name(CHILD_STEP_EXEC), "exec");
}

Test(child, bad_spec_refused)
{
	struct child_spec	 cs;
	struct child_fail	 fail;

	child_spec_init(&cs);
	cs.path = "/bin/true";
	cs.envp = no_env;
	errno = 0;
	cr_assert_eq(child_spawn(&cs, &fail), -1);	/* no argv */
	cr_assert_eq(errno, EINVAL);
	cs.argv = no_env;
	cr_assert_eq(child_spawn(&cs, &fail), -1);	/* argv[0] NULL */
	cs.argv = (char *const []){ "true", NULL };
	cs.nkeep = CHILD_KEEP_MAX + 1;
	cr_assert_eq(child_spawn(&cs, &fail), -1);
	cs.nkeep = 0;
	cs.path = NULL;
	cr_assert_eq(child_spawn(&cs, &fail), -1);	/* nothing to exec */
	cr_assert_eq(errno, EINVAL);
}

/* When child_spawn returns, the child has exec'd: its group is there. */
Test(child, setsid_and_setpgid)
{
	static char *const	 argv[] = { "sleep", "30", NULL };
	struct child_spec	 cs;
	struct child_fail	 fail;
	pid_t			 pid;
	int			 st;

	child_spec_init(&cs);
	cs.path = "/bin/sleep";
	cs.argv = argv;
	cs.envp = no_env;
	cs.flags = CHILD_SETSID;
	pid = child_spawn(&cs, &fail);
	cr_assert_neq(pid, -1);
	cr_assert_eq(getsid(pid), pid);
	cr_assert_eq(getpgid(pid), pid);
	cr_assert_eq(kill(-pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	cs.flags = CHILD_SETPGID;
	pid = child_spawn(&cs, &fail);
	cr_assert_neq(pid, -1);
	cr_assert_eq(getpgid(pid), pid);
	cr_assert_eq(getsid(pid), getsid(0));
	cr_assert_eq(kill(-pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	/* neither: the parent's group and session */
	cs.flags = 0;
	pid = child_spawn(&cs, &fail);
	cr_assert_neq(pid, -1);
	cr_assert_eq(getpgid(pid), getpgid(0));
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
}

Test(child, umask_directory_environment)
{
	static char *const	 env[] = { "ONLY=this", NULL };
	char			*argv[4];
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			 out[256];
	mode_t			 before;
	int			 st;

	before = umask(022);
	(void)umask(before);
	sh_spec(&cs, argv, "umask; pwd; env");
	cs.envp = env;
	cs.umask = 027;
	cs.dir = "/tmp";
	st = run_capture(&cs, out, sizeof(out), &fail);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	/* dash's env adds PWD; nothing of ours besides ONLY */
	cr_assert(strncmp(out, "0027\n/tmp\n", 10) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "\nONLY=this\n"), "%s", out);
	cr_assert_null(strstr(out, "PATH="), "%s", out);
	/* ours did not move */
	cr_assert_eq(umask(before), before);
}

/*
 * The limits of the spec, soft and hard alike, and the others inherited:
 * the child's own /proc/self/limits.
 */
Test(child, limits_soft_and_hard)
{
	char			*argv[4];
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			 out[4096];
	int			 st;

	sh_spec(&cs, argv, "exec cat /proc/self/limits");
	cs.fsize = 1048576;
	cs.nproc = 77;
	cs.data = 64 << 20;
	st = run_capture(&cs, out, sizeof(out), &fail);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_eq(fail.step, CHILD_STEP_NONE);
	cr_assert_not_null(strstr(out, "Max file size             1048576"
	    "              1048576              bytes"), "%s", out);
	cr_assert_not_null(strstr(out, "Max processes             77"
	    "                   77                   processes"), "%s", out);
	cr_assert_not_null(strstr(out, "Max data size             67108864"
	    "             67108864             bytes"), "%s", out);

	/* none asked: as the parent's */
	sh_spec(&cs, argv, "exec cat /proc/self/limits");
	st = run_capture(&cs, out, sizeof(out), &fail);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_null(strstr(out, " 77 "), "%s", out);
	cr_assert_null(strstr(out, "67108864"), "%s", out);
}

/* The nice value of a child spawned with spec.nice = `nice`, as it
 * printed it from /proc/self/stat. */
static int
nice_of(int nice)
{
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			*argv[4], out[64];
	int			 st;

	sh_spec(&cs, argv, "exec cut -d' ' -f19 /proc/self/stat");
	cs.nice = nice;
	st = run_capture(&cs, out, sizeof(out), &fail);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_eq(fail.step, CHILD_STEP_NONE);
	return atoi(out);
}

/* nice: that much nicer than the parent, capped at 19; 0, as it. */
Test(child, nicer_than_the_parent)
{
	int	 base, n;

	errno = 0;
	base = getpriority(PRIO_PROCESS, 0);
	cr_assert_eq(errno, 0);
	n = nice_of(5);
	cr_assert_eq(n, base + 5 > 19 ? 19 : base + 5);
	n = nice_of(40);
	cr_assert_eq(n, 19);
	n = nice_of(0);
	cr_assert_eq(n, base);
}

/*
 * PR_SET_PDEATHSIG: a middle process starts two sleeps, one with the
 * flag and one without, then exits.  The first dies with it; the other
 * is still there when the first is gone (the signal is sent while the
 * parent exits, for all its children at once).
 */
Test(child, parent_death_kills)
{
	static char *const	 argv[] = { "sleep", "30", NULL };
	struct pollfd		 pfd;
	pid_t			 mid, kids[2];
	int			 rp[2], gp[2], fd[2], st;
	char			 c;

	cr_assert_eq(pipe2(rp, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(gp, O_CLOEXEC), 0);
	if ((mid = fork()) == 0) {
		struct child_spec	 cs;
		struct child_fail	 fail;
		pid_t			 p[2];

		(void)close(rp[0]);
		(void)close(gp[1]);
		child_spec_init(&cs);
		cs.path = "/bin/sleep";
		cs.argv = argv;
		cs.envp = no_env;
		cs.flags = CHILD_PDEATHSIG;
		p[0] = child_spawn(&cs, &fail);
		cs.flags = 0;
		p[1] = child_spawn(&cs, &fail);
		if (write(rp[1], p, sizeof(p)) != sizeof(p))
			_exit(1);
		/* EOF once the test has looked at them */
		_exit(read(gp[0], &c, 1) == 0 ? 0 : 1);
	}
	cr_assert_neq(mid, -1);
	(void)close(rp[1]);
	(void)close(gp[0]);
	cr_assert_eq(read(rp[0], kids, sizeof(kids)), sizeof(kids));
	cr_assert(kids[0] > 0 && kids[1] > 0);
	fd[0] = (int)syscall(SYS_pidfd_open, kids[0], 0);
	fd[1] = (int)syscall(SYS_pidfd_open, kids[1], 0);
	cr_assert(fd[0] >= 0 && fd[1] >= 0, "pidfd_open: %s", strerror(errno));
	(void)close(gp[1]);
	cr_assert_eq(waitpid(mid, &st, 0), mid);

	pfd.fd = fd[0];
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, HANG_MS), 1, "the PDEATHSIG child lives");
	pfd.fd = fd[1];
	cr_assert_eq(poll(&pfd, 1, 0), 0, "the other one died too");
	cr_assert_eq(syscall(SYS_pidfd_send_signal, fd[1], SIGKILL, NULL, 0),
	    0);
	cr_assert_eq(poll(&pfd, 1, HANG_MS), 1);
	(void)close(fd[0]);
	(void)close(fd[1]);
	(void)close(rp[0]);
}

/* Under the deny-list filter of the scheduler and gitpull (inherited by
 * what they start): clone(CLONE_VM | CLONE_VFORK) and the rest pass. */
Test(child, works_under_the_denylist_filter)
{
	char		 err[256];
	pid_t		 kid;
	int		 st;

	if ((kid = fork()) == 0) {
		char			*argv[4];
		struct child_spec	 cs;
		struct child_fail	 fail;
		pid_t			 pid;
		int			 s, p[2];
		char			 out[16] = "";

		if (sandbox_seccomp(SANDBOX_FILTER_DENYLIST, err,
		    sizeof(err)) == -1)
			_exit(2);
		if (pipe2(p, O_CLOEXEC) == -1)
			_exit(3);
		sh_spec(&cs, argv, "echo ok");
		cs.fd[1] = p[1];
		cs.flags = CHILD_SETSID | CHILD_PDEATHSIG;
		cs.dir = "/";
		if ((pid = child_spawn(&cs, &fail)) == -1 ||
		    fail.step != CHILD_STEP_NONE)
			_exit(4);
		(void)close(p[1]);
		if (read(p[0], out, sizeof(out) - 1) != 3 ||
		    strcmp(out, "ok\n") != 0)
			_exit(5);
		if (waitpid(pid, &s, 0) != pid || !WIFEXITED(s) ||
		    WEXITSTATUS(s) != 0)
			_exit(6);
		_exit(0);
	}
	cr_assert_neq(kid, -1);
	cr_assert_eq(waitpid(kid, &st, 0), kid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/*
 * With a pidfd (the scheduler's plugins): it turns readable once the
 * child has ended, not before, and the child is still there to be
 * reaped as any other.
 */
Test(child, a_pidfd_tells_the_end)
{
	char			*argv[4];
	struct child_spec	 cs;
	struct child_fail	 fail;
	struct pollfd		 pfd;
	pid_t			 pid;
	int			 pidfd = -1, go[2], st;

	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	sh_spec(&cs, argv, "read x; exit 3");
	cs.fd[0] = go[0];
	cs.pidfd = &pidfd;
	pid = child_spawn(&cs, &fail);
	cr_assert_neq(pid, -1, "child_spawn: %s", strerror(errno));
	cr_assert_eq(fail.step, CHILD_STEP_NONE);
	cr_assert_geq(pidfd, 0);
	cr_assert(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
	(void)close(go[0]);

	pfd.fd = pidfd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 200), 0, "readable while it runs");
	cr_assert_eq(write(go[1], "\n", 1), 1);
	cr_assert_eq(poll(&pfd, 1, HANG_MS), 1);
	cr_assert(pfd.revents & POLLIN);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %#x", st);
	(void)close(go[1]);
	(void)close(pidfd);
}

/* Many in a row: nothing leaks in the parent (descriptors, mask). */
Test(child, no_leaks_in_the_parent)
{
	static char *const	 argv[] = { "true", NULL };
	struct child_spec	 cs;
	struct child_fail	 fail;
	pid_t			 pid;
	int			 i, st, before, after;

	before = dup(0);
	(void)close(before);
	child_spec_init(&cs);
	cs.path = "/bin/true";
	cs.argv = argv;
	cs.envp = no_env;
	for (i = 0; i < 200; i++) {
		pid = child_spawn(&cs, &fail);
		cr_assert_neq(pid, -1);
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	after = dup(0);
	(void)close(after);
	cr_assert_eq(after, before, "descriptors leaked");
}
