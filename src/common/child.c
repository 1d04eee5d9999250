/*
 * The one fork->exec of the agent (child.h): workers, plugins and git all
 * start here, so a fix to how a child starts is made once.
 *
 * How: clone(CLONE_VM | CLONE_VFORK) with a stack of its own, as glibc's
 * and musl's posix_spawn do, not fork().  The child borrows the parent's
 * memory instead of copying its page tables, and the parent sleeps until
 * the child has exec'd or exited.  fork() of the scheduler or the master
 * copies the mappings of the whole process for a child that throws them
 * away a few system calls later; with a plugin run every few seconds
 * that copy is most of the cost of a run (issue 14 asks for a run within
 * 2x of posix_spawn).  posix_spawn itself is not used because it cannot
 * reset signals 32 and 33, report which step failed, call
 * PR_SET_PDEATHSIG, or set the umask, and its chdir file action is a
 * GNU extension of 2.29.
 *
 * What sharing memory asks of the child:
 *  - It runs on a stack in the parent's frame (the parent does not run
 *    until the child is done with it).  Only raw system calls, through
 *    syscall(3), which the parent calls first so that its PLT slot is
 *    bound: nothing that takes a lock, allocates, or resolves a symbol
 *    (signal-safety(7) and more).  errno, the only thing syscall(3)
 *    writes outside that stack, is the parent thread's, and the parent
 *    puts its own back.
 *  - No signal handler of the parent may run in it: the parent blocks
 *    every signal (all 64, glibc's own 32 and 33 included, hence the raw
 *    rt_sigprocmask) before clone and restores its mask after.  Without
 *    CLONE_SIGHAND the child has its own copy of the handlers, which it
 *    sets back to SIG_DFL with raw rt_sigaction (glibc's sigaction
 *    refuses 32 and 33, which may be ignored all the same) before it
 *    empties its mask: ignored dispositions and masks survive exec.
 *  - Without CLONE_FILES and CLONE_FS its descriptor table, working
 *    directory and umask are its own: dup3, close_range, chdir and umask
 *    do not touch the parent.
 *  - The sanitizers stay out of it (no_sanitize): their bookkeeping would
 *    run on the borrowed stack and write to the parent's shadow memory.
 *
 * Failure before exec is told through the memory the child shares: it
 * writes the step and errno into the parent's child_args, then exits
 * 127.  The parent reads them once clone returns, which with CLONE_VFORK
 * is after the exec (they stay empty: an exec'd child has memory of its
 * own) or the exit.  glibc's posix_spawn tells its errors the same way;
 * a pipe would cost four system calls a run.
 *
 * Seccomp: the scheduler's and gitpull's deny-lists let clone through
 * unless it asks for a namespace (CLONE_VM | CLONE_VFORK does not), and
 * kill nothing used here; the other workers never start a process.
 */
#include "child.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define CHILD_STACK	(64 * 1024)	/* room for the dynamic linker too */
#define CHILD_NSIG	64		/* signals 1..64 on Linux */
#define CHILD_SIGSETSIZE 8		/* the kernel's sigset_t, in bytes */
#define CHILD_FD_LOOP	65536		/* close() bound without close_range */

/* Between clone and exec: no instrumentation on the borrowed stack. */
#define CHILD_CODE	__attribute__((no_sanitize("address", "undefined"), \
			    noinline))

struct child_args {
	const struct child_spec	*spec;
	pid_t			 parent;
	struct child_fail	 fail;		/* written by the child */
};

static void	 child_die(struct child_args *, int, int) CHILD_CODE
		    __attribute__((noreturn));
static int	 child_fds(const struct child_args *, int *) CHILD_CODE;
static int	 child_limit(int, long long) CHILD_CODE;
static int	 child_nicer(int) CHILD_CODE;
static int	 child_main(void *) CHILD_CODE;

void
child_spec_init(struct child_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->exec_fd = -1;
	s->landlock_fd = -1;
	s->fd[0] = s->fd[1] = s->fd[2] = -1;
	s->umask = -1;
}

void
child_spec_close_stdio(struct child_spec *s)
{
	int	 i;

	for (i = 0; i < 3; i++)
		if (s->fd[i] >= 0) {
			(void)close(s->fd[i]);
			s->fd[i] = -1;
		}
}

const char *
child_step_name(int step)
{
	switch (step) {
	case CHILD_STEP_NONE:
		return "none";
	case CHILD_STEP_SETSID:
		return "setsid";
	case CHILD_STEP_SETPGID:
		return "setpgid";
	case CHILD_STEP_PDEATHSIG:
		return "prctl(PR_SET_PDEATHSIG)";
	case CHILD_STEP_FDS:
		return "descriptors";
	case CHILD_STEP_CHDIR:
		return "chdir";
	case CHILD_STEP_RLIMIT:
		return "resource limit";
	case CHILD_STEP_LANDLOCK:
		return "Landlock domain";
	case CHILD_STEP_NICE:
		return "setpriority";
	case CHILD_STEP_EXEC:
		return "exec";
	default:
		return "unknown step";
	}
}

/* Tell the parent which step failed and why, then go. */
static void
child_die(struct child_args *a, int step, int err)
{
	a->fail.step = step;
	a->fail.err = err;
	for (;;)
		(void)syscall(SYS_exit_group, 127);
}

/*
 * The spec's descriptors onto 0..2 and 3.., the exec descriptor right
 * after them, close-on-exec; everything else closed.  Every source first
 * goes above all the targets, so that no dup3 overwrites a source still
 * to be moved.  0, or -1 with *err.
 */
static int
child_fds(const struct child_args *a, int *err)
{
	const struct child_spec	*s = a->spec;
	struct rlimit		 rl;
	int			 src[3 + CHILD_KEEP_MAX + 1];
	int			 dst[3 + CHILD_KEEP_MAX + 1];
	int			 fl[3 + CHILD_KEEP_MAX + 1];
	int			 n = 0, i, lo, fd;
	long			 d;

	for (i = 0; i < 3; i++)
		if (s->fd[i] >= 0) {
			src[n] = s->fd[i];
			dst[n] = i;
			fl[n++] = 0;
		}
	for (i = 0; i < s->nkeep; i++) {
		src[n] = s->keep[i];
		dst[n] = 3 + i;
		fl[n++] = 0;
	}
	lo = 3 + s->nkeep;
	if (s->path == NULL) {
		src[n] = s->exec_fd;
		dst[n] = lo++;
		fl[n++] = O_CLOEXEC;
	}

	for (i = 0; i < n; i++) {
		if ((d = syscall(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, lo)) == -1) {
			*err = errno;
			return -1;
		}
		src[i] = (int)d;
	}
	for (i = 0; i < n; i++)
		if (syscall(SYS_dup3, src[i], dst[i], fl[i]) == -1) {
			*err = errno;
			return -1;
		}
	/* the copies above lo go with the rest */
	if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0U) == -1) {
		if (errno != ENOSYS && errno != EINVAL) {
			*err = errno;
			return -1;
		}
		if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == -1 ||
		    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > CHILD_FD_LOOP)
			rl.rlim_cur = CHILD_FD_LOOP;
		for (fd = lo; (rlim_t)fd < rl.rlim_cur; fd++)
			(void)syscall(SYS_close, fd);
	}
	return 0;
}

/* A limit, soft and hard, when asked for (> 0): the program cannot lift
 * it. */
static int
child_limit(int resource, long long value)
{
	const struct rlimit	 rl = { (rlim_t)value, (rlim_t)value };

	if (value <= 0)
		return 0;
	return syscall(SYS_prlimit64, 0, resource, &rl, NULL) == -1 ? -1 : 0;
}

/*
 * `step` nicer than now, at most 19.  The raw getpriority returns
 * 20 - nice (never negative, so never taken for an error).
 */
static int
child_nicer(int step)
{
	long	 now, want;

	if ((now = syscall(SYS_getpriority, PRIO_PROCESS, 0)) == -1)
		return -1;
	want = 20 - now + step;
	if (want > 19)
		want = 19;
	return syscall(SYS_setpriority, PRIO_PROCESS, 0, want) == -1 ? -1 : 0;
}

static int
child_main(void *arg)
{
	struct child_args	*a = arg;
	const struct child_spec	*s = a->spec;
	/* SIG_DFL, no flags, no restorer, empty mask, whatever the layout */
	const unsigned long	 dfl[8] = { 0 };
	const uint64_t		 none = 0;
	int			 sig, err = 0;

	for (sig = 1; sig <= CHILD_NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, dfl, NULL,
			    CHILD_SIGSETSIZE);
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    CHILD_SIGSETSIZE);

	/*
	 * Before the descriptors are moved: the ruleset's may be anywhere.
	 * No new privileges first, which the kernel requires of a process
	 * without CAP_SYS_ADMIN (a sandboxed worker has it already).
	 */
	if (s->landlock_fd >= 0 && (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS,
	    1, 0, 0, 0) == -1 || syscall(SYS_landlock_restrict_self,
	    s->landlock_fd, 0U) == -1))
		child_die(a, CHILD_STEP_LANDLOCK, errno);
	if ((s->flags & CHILD_SETSID) && syscall(SYS_setsid) == -1)
		child_die(a, CHILD_STEP_SETSID, errno);
	if ((s->flags & CHILD_SETPGID) && syscall(SYS_setpgid, 0, 0) == -1)
		child_die(a, CHILD_STEP_SETPGID, errno);
	if (s->nice > 0 && child_nicer(s->nice) == -1)
		child_die(a, CHILD_STEP_NICE, errno);
	if (s->flags & CHILD_PDEATHSIG) {
		if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
			child_die(a, CHILD_STEP_PDEATHSIG, errno);
		/* the parent died before the prctl: nobody to wait for us */
		if (syscall(SYS_getppid) != a->parent)
			child_die(a, CHILD_STEP_PDEATHSIG, ESRCH);
	}
	if (s->umask >= 0)
		(void)syscall(SYS_umask, s->umask);
	if (child_limit(RLIMIT_FSIZE, s->fsize) == -1 ||
	    child_limit(RLIMIT_NPROC, s->nproc) == -1 ||
	    child_limit(RLIMIT_DATA, s->data) == -1)
		child_die(a, CHILD_STEP_RLIMIT, errno);
	if (s->fsize > 0) {
		/* ignored: a write past the limit fails with EFBIG, which
		 * the program reports ("File too large"), where SIGXFSZ
		 * would end it without a word */
		const unsigned long	 ign[8] = { (unsigned long)SIG_IGN };

		(void)syscall(SYS_rt_sigaction, SIGXFSZ, ign, NULL,
		    CHILD_SIGSETSIZE);
	}
	if (child_fds(a, &err) == -1)
		child_die(a, CHILD_STEP_FDS, err);
	if (s->dir != NULL && syscall(SYS_chdir, s->dir) == -1)
		child_die(a, CHILD_STEP_CHDIR, errno);
	if (s->path != NULL)
		(void)syscall(SYS_execve, s->path, s->argv, s->envp);
	else
		(void)syscall(SYS_execveat, 3 + s->nkeep, "", s->argv, s->envp,
		    AT_EMPTY_PATH);
	child_die(a, CHILD_STEP_EXEC, errno);
}

pid_t
child_spawn(const struct child_spec *s, struct child_fail *fail)
{
	/* the child's stack: this frame waits until the child is done */
	char			 stack[CHILD_STACK] __attribute__((aligned(16)));
	struct child_args	 a;
	uint64_t		 all = ~(uint64_t)0, old;
	pid_t			 pid;
	int			 flags, saved;

	memset(fail, 0, sizeof(*fail));
	if (s->argv == NULL || s->argv[0] == NULL || s->envp == NULL ||
	    (s->path == NULL && s->exec_fd < 0) || s->nkeep < 0 ||
	    s->nkeep > CHILD_KEEP_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.spec = s;
	/* also binds syscall(3)'s PLT slot before the child needs it */
	a.parent = (pid_t)syscall(SYS_getpid);

	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old,
	    CHILD_SIGSETSIZE) == -1)
		return -1;
	flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	if (s->pidfd != NULL)
		flags |= CLONE_PIDFD;
	pid = clone(child_main, stack + sizeof(stack), flags, &a, s->pidfd);
	saved = errno;
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL,
	    CHILD_SIGSETSIZE);
	if (pid == -1) {
		errno = saved;
		return -1;
	}
	/* the child has exec'd (nothing written) or told us why not */
	if (a.fail.step != CHILD_STEP_NONE)
		*fail = a.fail;
	errno = saved;
	return pid;
}
