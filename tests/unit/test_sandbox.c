/*
 * Sandbox tests.  Every filter is loaded for real, in a "kid": a process
 * forked from the Criterion worker.  The worker itself is not used
 * because it runs a second (nanomsg) thread that TSYNC would put under
 * the filter too, and because a worker that survives a filter still has
 * to report to Criterion and, under ASan, run LeakSanitizer at exit,
 * which needs ptrace and clone (both killed by our filters).  The kid is
 * single-threaded, ends with _exit() and reports over a pipe; before a
 * call that must kill it, it writes "calling <what>", so a death is
 * proved to come from that call and not from anything earlier.
 *
 * Two tests load a default-allow filter in the worker itself and assert
 * with .signal = SIGSYS, which also shows TSYNC works with a second
 * thread present.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <criterion/criterion.h>
#include <ev.h>

#include "sandbox.h"

extern char **environ;

#define KID_TIMEOUT_MS	10000
#define NOBODY_UID	65534

#define NEED_ROOT() do {						\
	if (geteuid() != 0)						\
		cr_skip_test("skipped: needs root");			\
} while (0)

typedef int (*kid_fn)(int rep, int go, void *arg);

struct kid {
	pid_t	 pid;
	int	 rep;		/* read end: the kid's report lines */
	int	 go;		/* write end: closed to release the kid */
	char	 out[8192];	/* everything the kid said */
	size_t	 len;
	int	 status;	/* waitpid status */
};

/* ---- helpers used inside the kid (async-signal-safe or sandbox-safe) */

static void
say(int rep, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* write(2) is allowed by every filter; a short pipe write of
	 * < PIPE_BUF bytes is atomic */
	if (write(rep, line, (size_t)n) == -1)
		return;
}

/* Block until the parent closes its end of `go`. */
static void
wait_go(int go)
{
	char	 c;

	while (read(go, &c, 1) == -1 && errno == EINTR)
		;
}

static int
install(int rep, enum sandbox_filter f)
{
	char	 err[256];

	if (sandbox_seccomp(f, err, sizeof(err)) == -1) {
		say(rep, "sandbox_seccomp: %s", err);
		return -1;
	}
	return 0;
}

/* No core files from the expected SIGSYS deaths. */
static void
no_core(void)
{
	const struct rlimit	 zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		cr_log_warn("setrlimit(RLIMIT_CORE): %s", strerror(errno));
}

/* ---- helpers used by the parent */

static void
kid_start(struct kid *k, kid_fn fn, void *arg)
{
	int	 rep[2], go[2];

	memset(k, 0, sizeof(*k));
	cr_assert_eq(pipe2(rep, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	k->pid = fork();
	cr_assert_neq(k->pid, -1, "fork: %s", strerror(errno));
	if (k->pid == 0) {
		struct rlimit	 core;

		/* Never outlive the test, whatever happens to it.  No core
		 * files from expected deaths: the soft limit only, so the
		 * hard limit sandbox_enter sets can still be checked. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1 ||
		    getrlimit(RLIMIT_CORE, &core) == -1)
			_exit(120);
		core.rlim_cur = 0;
		if (setrlimit(RLIMIT_CORE, &core) == -1)
			_exit(121);
		(void)close(rep[0]);
		(void)close(go[1]);
		_exit(fn(rep[1], go[0], arg));
	}
	(void)close(rep[1]);
	(void)close(go[0]);
	k->rep = rep[0];
	k->go = go[1];
}

/* Read what the kid says; 1 on data, 0 on EOF, -1 on timeout/error. */
static int
kid_read(struct kid *k)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	pfd.fd = k->rep;
	pfd.events = POLLIN;
	if ((r = poll(&pfd, 1, KID_TIMEOUT_MS)) <= 0)
		return -1;
	if (k->len >= sizeof(k->out) - 1)
		return -1;
	n = read(k->rep, k->out + k->len, sizeof(k->out) - 1 - k->len);
	if (n == -1)
		return errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	k->len += (size_t)n;
	k->out[k->len] = '\0';
	return 1;
}

/* Wait until the kid has said `token` (a whole line). */
static void
kid_expect(struct kid *k, const char *token)
{
	char	 line[256];

	(void)snprintf(line, sizeof(line), "%s\n", token);
	while (strstr(k->out, line) == NULL) {
		if (kid_read(k) != 1) {
			(void)kill(k->pid, SIGKILL);
			cr_assert_fail("kid never said \"%s\"; it said:\n%s",
			    token, k->out);
		}
	}
}

/* Release the kid, collect the rest of its output and its status. */
static void
kid_finish(struct kid *k)
{
	int	 r;

	if (k->go != -1)
		(void)close(k->go);
	k->go = -1;
	while ((r = kid_read(k)) == 1)
		;
	if (r == -1)
		(void)kill(k->pid, SIGKILL);
	(void)close(k->rep);
	while (waitpid(k->pid, &k->status, 0) == -1) {
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	}
}

static void
kid_run(struct kid *k, kid_fn fn, void *arg)
{
	kid_start(k, fn, arg);
	kid_finish(k);
}

static void
assert_exit0(const struct kid *k)
{
	cr_assert(WIFEXITED(k->status) && WEXITSTATUS(k->status) == 0,
	    "kid %s %d; it said:\n%s",
	    WIFEXITED(k->status) ? "exited with" : "killed by signal",
	    WIFEXITED(k->status) ? WEXITSTATUS(k->status) :
	    WTERMSIG(k->status), k->out);
}

/* The kid died of `sig` right after saying "calling <what>". */
static void
assert_died_at(const struct kid *k, int sig, const char *what)
{
	char	 tail[256];
	size_t	 n;

	cr_assert(WIFSIGNALED(k->status) && WTERMSIG(k->status) == sig,
	    "%s: expected death by signal %d, kid %s %d; it said:\n%s", what,
	    sig, WIFEXITED(k->status) ? "exited with" : "killed by signal",
	    WIFEXITED(k->status) ? WEXITSTATUS(k->status) :
	    WTERMSIG(k->status), k->out);
	n = (size_t)snprintf(tail, sizeof(tail), "calling %s\n", what);
	cr_assert(k->len >= n && strcmp(k->out + k->len - n, tail) == 0,
	    "%s: the kid did not die at that call; it said:\n%s", what, k->out);
}

/* Value of `key` in /proc/<pid>/status ("Seccomp" -> "2"). */
static void
proc_status(pid_t pid, const char *key, char *val, size_t len)
{
	char	 path[64], buf[8192], *p, *e;
	size_t	 klen = strlen(key), vlen;
	ssize_t	 n;
	int	 fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_neq(fd, -1, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "read %s: %s", path, strerror(errno));
	(void)close(fd);
	buf[n] = '\0';
	for (p = buf; p != NULL && *p != '\0'; p = e) {
		if ((e = strchr(p, '\n')) != NULL)
			*e++ = '\0';
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, "\t ");
			/* "Groups:" ends with a space */
			for (vlen = strlen(p); vlen > 0 && p[vlen - 1] == ' ';)
				p[--vlen] = '\0';
			(void)strlcpy(val, p, len);
			return;
		}
	}
	cr_assert_fail("%s: no %s line", path, key);
}

static void
assert_status(pid_t pid, const char *key, const char *want)
{
	char	 val[256];

	proc_status(pid, key, val, sizeof(val));
	cr_assert_str_eq(val, want, "/proc/%ld/status %s: \"%s\", want "
	    "\"%s\"", (long)pid, key, val, want);
}

static void
conf_zero(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
}

static void
make_jail(char *dir, size_t len)
{
	(void)strlcpy(dir, "/tmp/sandbox-jail.XXXXXX", len);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

/* ---- forbidden calls, one per death test */

static void
call_open(pid_t other)
{
	int	 fd;

	if ((fd = open("/etc/passwd", O_RDONLY)) != -1)
		(void)close(fd);
}

static void
call_open_raw(pid_t other)
{
	(void)syscall(SYS_open, "/etc/passwd", O_RDONLY);
}

static void
call_openat2(pid_t other)
{
	(void)syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", NULL, 0);
}

static void
call_stat_path(pid_t other)
{
	struct stat	 st;

	(void)stat("/etc/passwd", &st);
}

static void
call_socket(pid_t other)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
}

static void
call_socketpair(pid_t other)
{
	int	 sv[2];

	(void)socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static void
call_connect(pid_t other)
{
	(void)syscall(SYS_connect, -1, NULL, 0);
}

static void
call_bind(pid_t other)
{
	(void)syscall(SYS_bind, -1, NULL, 0);
}

static void
call_listen(pid_t other)
{
	(void)syscall(SYS_listen, -1, 0);
}

static void
call_execve(pid_t other)
{
	char *const	 argv[] = { "true", NULL };

	(void)execve("/bin/true", argv, environ);
}

static void
call_fork(pid_t other)
{
	pid_t	 pid;

	/* should the filter fail, do not leave two test processes */
	if ((pid = fork()) == 0)
		_exit(0);
}

static void
call_vfork_raw(pid_t other)
{
	/* the raw syscall: glibc vfork() would share our stack */
	if (syscall(SYS_vfork) == 0)
		_exit(0);
}

static void
call_clone_process(pid_t other)
{
	/* fork-like clone (no CLONE_THREAD), raw */
	if (syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) == 0)
		_exit(0);
}

static void
call_clone_newuser(pid_t other)
{
	if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL,
	    0) == 0)
		_exit(0);
}

static void
call_clone3(pid_t other)
{
	(void)syscall(SYS_clone3, NULL, 0);
}

static void
call_posix_spawn(pid_t other)
{
	char *const	 argv[] = { "true", NULL };
	pid_t		 pid;

	(void)posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
}

static void
call_mmap_exec(pid_t other)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void
call_mprotect_exec(pid_t other)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void
call_kill_parent(pid_t other)
{
	(void)kill(other, 0);
}

static void
call_tgkill_parent(pid_t other)
{
	(void)syscall(SYS_tgkill, other, other, 0);
}

static void
call_setrlimit(pid_t other)
{
	struct rlimit	 rl = { 16, 16 };

	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static void
call_fcntl_setown(pid_t other)
{
	(void)fcntl(0, F_SETOWN, getpid());
}

static void
call_ioctl(pid_t other)
{
	int	 n;

	(void)ioctl(0, FIONREAD, &n);
}

static void
call_prctl(pid_t other)
{
	(void)prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

static void
call_setuid(pid_t other)
{
	/* the filter kills before this returns; the result is moot */
	if (setuid(0) == -1)
		return;
}

static void
call_ptrace(pid_t other)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
call_mount(pid_t other)
{
	/* would fail harmlessly (no such mount point) without the filter */
	(void)mount("none", "/nonexistent-sandbox-test", "tmpfs", 0, NULL);
}

static void
call_umount2(pid_t other)
{
	(void)umount2("/nonexistent-sandbox-test", 0);
}

static void
call_chroot(pid_t other)
{
	if (chroot("/nonexistent-sandbox-test") == -1)
		return;
}

static void
call_unshare(pid_t other)
{
	(void)unshare(CLONE_NEWUSER);
}

static void
call_setns(pid_t other)
{
	(void)setns(-1, 0);
}

static void
call_process_vm_readv(pid_t other)
{
	(void)syscall(SYS_process_vm_readv, other, NULL, 0, NULL, 0, 0);
}

static void
call_pidfd_getfd(pid_t other)
{
	(void)syscall(SYS_pidfd_getfd, -1, 0, 0);
}

static void
call_bpf(pid_t other)
{
	(void)syscall(SYS_bpf, -1, NULL, 0);
}

static void
call_keyctl(pid_t other)
{
	(void)syscall(SYS_keyctl, -1, 0, 0, 0, 0);
}

static void
call_clock_settime(pid_t other)
{
	struct timespec	 ts = { 0, 0 };

	/* invalid clock: harmless should the filter let it through */
	(void)syscall(SYS_clock_settime, -1, &ts);
}

/*
 * `other` is the parent's pid, taken before the filter: computing it in
 * the kid (getppid) after "calling" would itself be a forbidden call in
 * the front and prove nothing.
 */
#if defined(__x86_64__)
/* i386 getpid (20) through the 32-bit entry: a foreign architecture */
static long
int80_getpid(void)
{
	long	 r;

	__asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r;
}

static void
call_int80(pid_t other)
{
	(void)int80_getpid();
}

/*
 * Can this kernel take a 32-bit system call at all?  Without IA32
 * emulation (CONFIG_IA32_EMULATION off, as in Firecracker guests) "int
 * $0x80" is a general protection fault: SIGSEGV before any seccomp
 * filter sees it, so a filter's architecture check cannot be shown
 * there.  Asked in an unfiltered child, which may die of it.
 */
static int
ia32_syscalls_work(void)
{
	pid_t	 pid;
	int	 status;

	cr_assert_neq(pid = fork(), -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* a plain death, not ASan's report of a SEGV */
		(void)signal(SIGSEGV, SIG_DFL);
		_exit(int80_getpid() == getpid() ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "i386 getpid answered wrong (status %#x)", status);
	return 1;
}

#define NEED_IA32() do {						\
	if (!ia32_syscalls_work())					\
		cr_skip_test("skipped: the kernel has no IA32 "	\
		    "emulation (int $0x80 is SIGSEGV before any "	\
		    "filter), so the architecture check cannot be "	\
		    "shown here");					\
} while (0)

static void
call_x32(pid_t other)
{
	/* x32 ABI: x86_64 numbers with bit 30 set */
	(void)syscall(0x40000000 | SYS_getpid);
}
#endif

struct death {
	enum sandbox_filter	 filter;
	void			(*call)(pid_t);
	const char		*what;
	pid_t			 other;
};

static int
kid_death(int rep, int go, void *arg)
{
	const struct death	*d = arg;

	if (install(rep, d->filter) == -1)
		return 2;
	say(rep, "calling %s", d->what);
	d->call(d->other);
	say(rep, "survived %s", d->what);
	return 1;
}

static void
expect_death(enum sandbox_filter f, void (*call)(pid_t), const char *what)
{
	struct death	 d = { f, call, what, getpid() };
	struct kid	 k;

	kid_run(&k, kid_death, &d);
	assert_died_at(&k, SIGSYS, what);
}

/* ---- FRONT */

static int
kid_front_pause(int rep, int go, void *arg)
{
	if (install(rep, SANDBOX_FILTER_FRONT) == -1)
		return 2;
	say(rep, "ready");
	wait_go(go);
	return 0;
}

Test(front, status_seen_by_parent)
{
	struct kid	 k;

	kid_start(&k, kid_front_pause, NULL);
	kid_expect(&k, "ready");
	assert_status(k.pid, "Seccomp", "2");
	assert_status(k.pid, "NoNewPrivs", "1");
	assert_status(k.pid, "Seccomp_filters", "1");
	kid_finish(&k);
	assert_exit0(&k);
}

#define FRONT_DEATH(name, fn)						\
Test(front, dies_##name)						\
{									\
	expect_death(SANDBOX_FILTER_FRONT, fn, #name);			\
}

FRONT_DEATH(open, call_open)
FRONT_DEATH(open_raw, call_open_raw)
FRONT_DEATH(openat2, call_openat2)
FRONT_DEATH(stat_path, call_stat_path)
FRONT_DEATH(socket, call_socket)
FRONT_DEATH(socketpair, call_socketpair)
FRONT_DEATH(connect, call_connect)
FRONT_DEATH(bind, call_bind)
FRONT_DEATH(listen, call_listen)
FRONT_DEATH(execve, call_execve)
FRONT_DEATH(fork, call_fork)
FRONT_DEATH(vfork, call_vfork_raw)
FRONT_DEATH(clone, call_clone_process)
FRONT_DEATH(clone3, call_clone3)
FRONT_DEATH(mmap_exec, call_mmap_exec)
FRONT_DEATH(mprotect_exec, call_mprotect_exec)
FRONT_DEATH(kill, call_kill_parent)
FRONT_DEATH(tgkill_other, call_tgkill_parent)
FRONT_DEATH(setrlimit, call_setrlimit)
FRONT_DEATH(fcntl_setown, call_fcntl_setown)
FRONT_DEATH(ioctl, call_ioctl)
FRONT_DEATH(prctl, call_prctl)
FRONT_DEATH(setuid, call_setuid)
FRONT_DEATH(ptrace, call_ptrace)

/* What the front does besides its loop: memory, pipes, limits, time. */
static int
kid_front_basics(int rep, int go, void *arg)
{
	struct rlimit	 rl;
	struct timespec	 ts = { 0, 1000000 };
	struct stat	 st;
	char		*p, *q, buf[8];
	void		*m;
	int		 pfd[2], fl;
	size_t		 i;

	/* made before the filter: the front gets all its descriptors
	 * from the master */
	if (pipe(pfd) == -1)
		return 3;
	if (install(rep, SANDBOX_FILTER_FRONT) == -1)
		return 2;

	for (i = 0; i < 1000; i++) {
		if ((p = malloc(16 + i * 7)) == NULL)
			return 10;
		p[0] = 'x';
		free(p);
	}
	/* large: mmap'd chunks, then mremap when it grows */
	if ((p = malloc(1 << 20)) == NULL)
		return 11;
	memset(p, 'a', 1 << 20);
	if ((q = realloc(p, 8 << 20)) == NULL)
		return 12;
	q[(8 << 20) - 1] = 'b';
	free(q);
	if ((p = calloc(4096, 64)) == NULL)
		return 13;
	free(p);
	m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 14;
	if (mprotect(m, 4096, PROT_READ) == -1 ||
	    madvise(m, 65536, MADV_DONTNEED) == -1 ||
	    munmap(m, 65536) == -1)
		return 15;

	if (write(pfd[1], "hello", 5) != 5 ||
	    read(pfd[0], buf, sizeof(buf)) != 5 ||
	    memcmp(buf, "hello", 5) != 0)
		return 20;
	if (fstat(pfd[0], &st) == -1 || !S_ISFIFO(st.st_mode))
		return 21;
	if ((fl = fcntl(pfd[0], F_GETFL)) == -1 ||
	    fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(pfd[0], F_SETFD, FD_CLOEXEC) == -1)
		return 22;
	if (read(pfd[0], buf, 1) != -1 || errno != EAGAIN)
		return 23;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 30;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    nanosleep(&(struct timespec){ 0, 1000000 }, NULL) == -1)
		return 31;
	if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return 32;
	(void)getpid();
	(void)getuid();
	(void)sched_yield();
	if (close(pfd[0]) == -1 || close(pfd[1]) == -1)
		return 40;
	say(rep, "done");
	return 0;
}

Test(front, basics_work)
{
	struct kid	 k;

	kid_run(&k, kid_front_basics, NULL);
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, "done\n"), "%s", k.out);
}

static int
kid_front_abort(int rep, int go, void *arg)
{
	if (install(rep, SANDBOX_FILTER_FRONT) == -1)
		return 2;
	say(rep, "calling abort");
	abort();
}

/* tgkill to ourselves is allowed so a crash reads SIGABRT, not SIGSYS. */
Test(front, abort_is_sigabrt)
{
	struct kid	 k;

	kid_run(&k, kid_front_abort, NULL);
	assert_died_at(&k, SIGABRT, "abort");
}

/*
 * The front's loop, under the filter: libev with the epoll backend,
 * ev_io on a TCP listen socket and on a unix socket that brings
 * descriptors, an ev_timer, and ev_signal for SIGHUP, SIGINT and
 * SIGTERM sent by another process.
 */
struct loopkid {
	int		 lfd;		/* TCP listener, made by the parent */
	int		 usock;		/* unix socket, fds arrive here */
	int		 rep;
	struct ev_loop	*loop;
	ev_io		 listen_w, conn_w, unix_w;
	ev_timer	 timer_w;
	ev_signal	 hup_w, int_w, term_w;
	char		 cbuf[8];
	size_t		 clen;
	int		 conns, fds, ticks, hups, ints;
	int		 fail;
};

static void
loop_fail(struct loopkid *s, int code, const char *what)
{
	say(s->rep, "fail %s: %s", what, strerror(errno));
	if (s->fail == 0)
		s->fail = code;
	ev_break(s->loop, EVBREAK_ALL);
}

static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct loopkid		*s = w->data;
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	ssize_t			 n;
	int			 one = 1;

	n = read(w->fd, s->cbuf + s->clen, 4 - s->clen);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0)
		return loop_fail(s, 50, "read conn");
	if ((s->clen += (size_t)n) < 4)
		return;
	if (memcmp(s->cbuf, "ping", 4) != 0)
		return loop_fail(s, 51, "ping");
	slen = sizeof(sin);
	if (getpeername(w->fd, (struct sockaddr *)&sin, &slen) == -1)
		return loop_fail(s, 52, "getpeername");
	slen = sizeof(sin);
	if (getsockname(w->fd, (struct sockaddr *)&sin, &slen) == -1)
		return loop_fail(s, 53, "getsockname");
	if (setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1)
		return loop_fail(s, 54, "setsockopt");
	if (write(w->fd, "pong", 4) != 4)
		return loop_fail(s, 55, "write pong");
	if (shutdown(w->fd, SHUT_WR) == -1)
		return loop_fail(s, 56, "shutdown");
	ev_io_stop(loop, w);
	if (close(w->fd) == -1)
		return loop_fail(s, 57, "close conn");
	s->conns++;
	say(s->rep, "conn");
}

static void
listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct loopkid	*s = w->data;
	int		 fd;

	if ((fd = accept4(w->fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		return loop_fail(s, 60, "accept4");
	}
	s->clen = 0;
	ev_io_init(&s->conn_w, conn_cb, fd, EV_READ);
	s->conn_w.data = s;
	ev_io_start(loop, &s->conn_w);
}

static void
unix_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct loopkid	*s = w->data;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 msg;
	struct cmsghdr	*c;
	struct iovec	 iov;
	char		 b;
	ssize_t		 n;
	int		 fd;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &b;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(w->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		return loop_fail(s, 70, "recvmsg");
	}
	if (n == 0) {
		ev_io_stop(loop, w);
		return;
	}
	if (msg.msg_flags & MSG_CTRUNC)
		return loop_fail(s, 71, "MSG_CTRUNC");
	if ((c = CMSG_FIRSTHDR(&msg)) == NULL ||
	    c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return loop_fail(s, 72, "no descriptor");
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	if (fcntl(fd, F_GETFD) != FD_CLOEXEC)
		return loop_fail(s, 73, "not close-on-exec");
	if (write(fd, "fd-ok", 5) != 5)
		return loop_fail(s, 74, "write passed fd");
	if (close(fd) == -1)
		return loop_fail(s, 75, "close passed fd");
	s->fds++;
	say(s->rep, "fd");
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct loopkid	*s = w->data;

	if (s->ticks++ == 0)
		say(s->rep, "tick");
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct loopkid	*s = w->data;

	switch (w->signum) {
	case SIGHUP:
		s->hups++;
		say(s->rep, "hup");
		break;
	case SIGINT:
		s->ints++;
		say(s->rep, "int");
		break;
	case SIGTERM:
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

static int
kid_front_loop(int rep, int go, void *arg)
{
	struct loopkid	*s = arg;

	s->rep = rep;
	/* The loop and every watcher are set up before the filter, as the
	 * front does; the epoll descriptor and libev's signal wakeup
	 * (eventfd) are created here. */
	if ((s->loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		return 3;
	if (ev_backend(s->loop) != EVBACKEND_EPOLL)
		return 4;
	ev_io_init(&s->listen_w, listen_cb, s->lfd, EV_READ);
	ev_io_init(&s->unix_w, unix_cb, s->usock, EV_READ);
	ev_timer_init(&s->timer_w, timer_cb, 0.01, 0.01);
	ev_signal_init(&s->hup_w, signal_cb, SIGHUP);
	ev_signal_init(&s->int_w, signal_cb, SIGINT);
	ev_signal_init(&s->term_w, signal_cb, SIGTERM);
	s->listen_w.data = s->unix_w.data = s->timer_w.data = s;
	s->hup_w.data = s->int_w.data = s->term_w.data = s;
	ev_io_start(s->loop, &s->listen_w);
	ev_io_start(s->loop, &s->unix_w);
	ev_timer_start(s->loop, &s->timer_w);
	ev_signal_start(s->loop, &s->hup_w);
	ev_signal_start(s->loop, &s->int_w);
	ev_signal_start(s->loop, &s->term_w);

	if (install(rep, SANDBOX_FILTER_FRONT) == -1)
		return 2;
	say(rep, "ready");
	(void)ev_run(s->loop, 0);
	if (s->fail != 0)
		return s->fail;
	if (s->conns != 1 || s->fds != 1 || s->ticks < 1 || s->hups != 1 ||
	    s->ints != 1) {
		say(rep, "counts conns %d fds %d ticks %d hups %d ints %d",
		    s->conns, s->fds, s->ticks, s->hups, s->ints);
		return 5;
	}
	/* tear down under the filter too, as the front does on exit */
	ev_loop_destroy(s->loop);
	say(rep, "clean");
	return 0;
}

static void
send_fd(int sock, int fd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 msg;
	struct cmsghdr	*c;
	struct iovec	 iov;
	char		 b = 'F';

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &b;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	cr_assert_eq(sendmsg(sock, &msg, 0), 1, "sendmsg: %s",
	    strerror(errno));
}

Test(front, libev_loop_works, .timeout = 30)
{
	struct loopkid		 s;
	struct kid		 k;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	char			 buf[16];
	ssize_t			 n;
	size_t			 got;
	int			 sp[2], pp[2], c;

	memset(&s, 0, sizeof(s));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	cr_assert_neq(s.lfd, -1, "socket: %s", strerror(errno));
	cr_assert_eq(bind(s.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "bind: %s", strerror(errno));
	cr_assert_eq(listen(s.lfd, 8), 0, "listen: %s", strerror(errno));
	cr_assert_eq(getsockname(s.lfd, (struct sockaddr *)&sin, &slen), 0,
	    "getsockname: %s", strerror(errno));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
	    0, "socketpair: %s", strerror(errno));
	s.usock = sp[1];
	cr_assert_neq(fcntl(s.usock, F_SETFL, O_NONBLOCK), -1, "fcntl");

	kid_start(&k, kid_front_loop, &s);
	(void)close(s.lfd);
	(void)close(sp[1]);
	kid_expect(&k, "ready");

	/* signals come from another process: kill(2) is not allowed */
	cr_assert_eq(kill(k.pid, SIGHUP), 0, "kill: %s", strerror(errno));
	kid_expect(&k, "hup");
	cr_assert_eq(kill(k.pid, SIGINT), 0, "kill: %s", strerror(errno));
	kid_expect(&k, "int");

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(c, -1, "socket: %s", strerror(errno));
	cr_assert_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "connect: %s", strerror(errno));
	cr_assert_eq(write(c, "ping", 4), 4, "write: %s", strerror(errno));
	for (got = 0; got < sizeof(buf); got += (size_t)n) {
		n = read(c, buf + got, sizeof(buf) - got);
		cr_assert_neq(n, -1, "read: %s", strerror(errno));
		if (n == 0)
			break;
	}
	cr_assert(got == 4 && memcmp(buf, "pong", 4) == 0,
	    "TCP answer: %zu bytes; kid said:\n%s", got, k.out);
	(void)close(c);
	kid_expect(&k, "conn");

	cr_assert_eq(pipe2(pp, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	send_fd(sp[0], pp[1]);
	(void)close(pp[1]);
	for (got = 0; got < sizeof(buf); got += (size_t)n) {
		n = read(pp[0], buf + got, sizeof(buf) - got);
		cr_assert_neq(n, -1, "read: %s", strerror(errno));
		if (n == 0)
			break;
	}
	cr_assert(got == 5 && memcmp(buf, "fd-ok", 5) == 0,
	    "passed fd: %zu bytes; kid said:\n%s", got, k.out);
	(void)close(pp[0]);
	kid_expect(&k, "fd");
	kid_expect(&k, "tick");

	cr_assert_eq(kill(k.pid, SIGTERM), 0, "kill: %s", strerror(errno));
	kid_finish(&k);
	(void)close(sp[0]);
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, "clean\n"), "%s", k.out);
}

/* ---- DENYLIST */

#define DENY_DEATH(name, fn)						\
Test(denylist, dies_##name)						\
{									\
	expect_death(SANDBOX_FILTER_DENYLIST, fn, #name);		\
}

DENY_DEATH(mount, call_mount)
DENY_DEATH(umount2, call_umount2)
DENY_DEATH(chroot, call_chroot)
DENY_DEATH(ptrace, call_ptrace)
DENY_DEATH(unshare, call_unshare)
DENY_DEATH(setns, call_setns)
DENY_DEATH(clone_newuser, call_clone_newuser)
DENY_DEATH(process_vm_readv, call_process_vm_readv)
DENY_DEATH(pidfd_getfd, call_pidfd_getfd)
DENY_DEATH(bpf, call_bpf)
DENY_DEATH(keyctl, call_keyctl)
DENY_DEATH(clock_settime, call_clock_settime)

/*
 * The architecture check, on a default-allow filter where it matters
 * most: i386 numbers differ (21 is mount there, access here), so a
 * deny-list without it could be walked around.
 */
Test(denylist, dies_foreign_arch_i386)
{
#if defined(__x86_64__)
	NEED_IA32();
	expect_death(SANDBOX_FILTER_DENYLIST, call_int80, "int80");
#else
	cr_skip_test("skipped: x86_64 only");
#endif
}

Test(denylist, dies_foreign_arch_x32)
{
#if defined(__x86_64__)
	expect_death(SANDBOX_FILTER_DENYLIST, call_x32, "x32");
#else
	cr_skip_test("skipped: x86_64 only");
#endif
}

/* In the worker itself: default-allow, so its other thread is safe. */
Test(denylist, ptrace_in_worker, .signal = SIGSYS)
{
	char	 err[256];

	no_core();
	cr_assert_eq(sandbox_seccomp(SANDBOX_FILTER_DENYLIST, err,
	    sizeof(err)), 0, "%s", err);
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return arg;
}

/* What the scheduler and gitpull need: run git, shells and plugins. */
static int
kid_deny_exec(int rep, int go, void *arg)
{
	char *const	 argv[] = { "true", NULL };
	pthread_t	 t;
	pid_t		 pid;
	int		 st, v = 0, fd;

	if (install(rep, SANDBOX_FILTER_DENYLIST) == -1)
		return 2;
	if ((pid = fork()) == -1)
		return 10;
	if (pid == 0) {
		(void)execv("/bin/true", argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return 11;
	/* glibc posix_spawn tries clone3 first: ENOSYS, then clone */
	if ((errno = posix_spawn(&pid, "/bin/true", NULL, NULL, argv,
	    environ)) != 0)
		return 12;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return 13;
	if ((errno = pthread_create(&t, NULL, thread_main, &v)) != 0 ||
	    (errno = pthread_join(t, NULL)) != 0 || v != 42)
		return 14;
	if ((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) == -1)
		return 15;
	(void)close(fd);
	say(rep, "done");
	return 0;
}

Test(denylist, fork_exec_spawn_thread_work)
{
	struct kid	 k;

	kid_run(&k, kid_deny_exec, NULL);
	assert_exit0(&k);
}

static int
kid_deny_enosys(int rep, int go, void *arg)
{
	if (install(rep, SANDBOX_FILTER_DENYLIST) == -1)
		return 2;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 10;
	errno = 0;
	if (syscall(SYS_io_uring_setup, 1, NULL) != -1 || errno != ENOSYS)
		return 11;
	return 0;
}

Test(denylist, clone3_and_io_uring_are_enosys)
{
	struct kid	 k;

	kid_run(&k, kid_deny_enosys, NULL);
	assert_exit0(&k);
}

/* ---- COLLECTOR */

static void
call_thread(pid_t other)
{
	pthread_t	 t;
	int		 v = 0;

	if (pthread_create(&t, NULL, thread_main, &v) == 0)
		(void)pthread_join(t, NULL);
}

static void
call_socket_raw(pid_t other)
{
	(void)socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
}

static void
call_socket_packet(pid_t other)
{
	(void)socket(AF_PACKET, SOCK_DGRAM, 0);
}

static void
call_rename(pid_t other)
{
	(void)rename("/nonexistent-sandbox-a", "/nonexistent-sandbox-b");
}

static void
call_mkdir(pid_t other)
{
	(void)mkdir("/nonexistent-sandbox-test/x", 0700);
}

static void
call_chmod(pid_t other)
{
	(void)chmod("/nonexistent-sandbox-test", 0700);
}

#define COLLECTOR_DEATH(name, fn)					\
Test(collector, dies_##name)						\
{									\
	expect_death(SANDBOX_FILTER_COLLECTOR, fn, #name);		\
}

COLLECTOR_DEATH(execve, call_execve)
COLLECTOR_DEATH(fork, call_fork)
COLLECTOR_DEATH(vfork, call_vfork_raw)
COLLECTOR_DEATH(clone, call_clone_process)
COLLECTOR_DEATH(clone3, call_clone3)
COLLECTOR_DEATH(thread, call_thread)
COLLECTOR_DEATH(posix_spawn, call_posix_spawn)
COLLECTOR_DEATH(ptrace, call_ptrace)
COLLECTOR_DEATH(process_vm_readv, call_process_vm_readv)
COLLECTOR_DEATH(kill, call_kill_parent)
COLLECTOR_DEATH(tgkill_other, call_tgkill_parent)
COLLECTOR_DEATH(mount, call_mount)
COLLECTOR_DEATH(chroot, call_chroot)
COLLECTOR_DEATH(unshare, call_unshare)
COLLECTOR_DEATH(setuid, call_setuid)
COLLECTOR_DEATH(prctl, call_prctl)
COLLECTOR_DEATH(setrlimit, call_setrlimit)
COLLECTOR_DEATH(fcntl_setown, call_fcntl_setown)
COLLECTOR_DEATH(bind, call_bind)
COLLECTOR_DEATH(listen, call_listen)
COLLECTOR_DEATH(socketpair, call_socketpair)
COLLECTOR_DEATH(socket_raw, call_socket_raw)
COLLECTOR_DEATH(socket_packet, call_socket_packet)
COLLECTOR_DEATH(openat2, call_openat2)
COLLECTOR_DEATH(rename, call_rename)
COLLECTOR_DEATH(mkdir, call_mkdir)
COLLECTOR_DEATH(chmod, call_chmod)
COLLECTOR_DEATH(bpf, call_bpf)
COLLECTOR_DEATH(clock_settime, call_clock_settime)
#if defined(__x86_64__)
Test(collector, dies_foreign_arch_i386)
{
	NEED_IA32();
	expect_death(SANDBOX_FILTER_COLLECTOR, call_int80, "foreign_arch_i386");
}
#endif

/* Sockets the parent made before the filter, as a test peer. */
struct collkid {
	struct sockaddr_in	 tcp;	/* a listener of the parent */
	struct sockaddr_in	 udp;	/* bound in the kid, pre-filter */
	int			 udpfd;
	char			 dir[64];	/* for the FS probe */
};

/* What the collector's families do, all of it under the filter. */
static int
kid_collector_work(int rep, int go, void *arg)
{
	struct collkid		*ck = arg;
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_in	 from;
	struct pollfd		 pfd;
	struct statfs		 sfs;
	struct dirent		*de;
	socklen_t		 slen;
	DIR			*d;
	char			 buf[4096], path[128];
	void			*m;
	ssize_t			 n;
	int			 fd, s, soerr, u, pids = 0, on = 1;

	if (install(rep, SANDBOX_FILTER_COLLECTOR) == -1)
		return 2;

	/* /proc and /sys, plain reads */
	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, buf, sizeof(buf)) <= 0 || close(fd) == -1)
		return 10;
	if ((fd = open("/proc/stat", O_RDONLY | O_CLOEXEC)) == -1 ||
	    pread(fd, buf, 16, 0) != 16 || lseek(fd, 0, SEEK_SET) != 0 ||
	    close(fd) == -1)
		return 11;
	if ((d = opendir("/proc")) == NULL)
		return 12;
	while ((de = readdir(d)) != NULL)
		pids += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	if (closedir(d) == -1 || pids == 0)
		return 13;
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0)
		return 14;
	if (statfs("/", &sfs) == -1 || access("/proc/stat", R_OK) == -1)
		return 15;

	/* the FS probe: create, write, read back, delete */
	snprintf(path, sizeof(path), "%s/.loda-fs-detect", ck->dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return 20;
	if (write(fd, "FS-RW", 5) != 5 || fsync(fd) == -1 ||
	    pread(fd, buf, 5, 0) != 5 || memcmp(buf, "FS-RW", 5) != 0 ||
	    ftruncate(fd, 0) == -1 || close(fd) == -1 || unlink(path) == -1)
		return 21;

	/* PORT: a non-blocking TCP connect, as a check does it */
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return 30;
	if (connect(s, (struct sockaddr *)&ck->tcp, sizeof(ck->tcp)) == -1 &&
	    errno != EINPROGRESS)
		return 31;
	pfd.fd = s;
	pfd.events = POLLOUT;
	slen = sizeof(soerr);
	if (poll(&pfd, 1, 5000) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR,
	    &soerr, &slen) == -1 || soerr != 0)
		return 32;
	if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1 ||
	    close(s) == -1)
		return 33;

	/* TIME: SNTP is one UDP datagram each way */
	if ((u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 40;
	if (connect(u, (struct sockaddr *)&ck->udp, sizeof(ck->udp)) == -1 ||
	    send(u, "ntp?", 4, 0) != 4)
		return 41;
	slen = sizeof(from);
	if (recvfrom(ck->udpfd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &slen) != 4 ||
	    sendto(ck->udpfd, "ntp!", 4, 0, (struct sockaddr *)&from,
	    slen) != 4 || recv(u, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "ntp!", 4) != 0 || close(u) == -1)
		return 42;
	if ((u = socket(AF_INET6, SOCK_DGRAM, 0)) == -1 || close(u) == -1)
		return 43;

	/* glibc's own attempts are refused without a death */
	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EACCES)
		return 50;
	if (socket(AF_NETLINK, SOCK_RAW, 0) != -1 || errno != EACCES)
		return 51;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo("localhost", "123", &hints, &res) != 0 || res == NULL)
		return 52;
	freeaddrinfo(res);
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED || errno != EPERM)
		return 53;
	if (ioctl(0, FIONREAD, &n) != -1 || errno != ENOTTY)
		return 54;

	/* memory and time */
	if ((m = malloc(8 << 20)) == NULL)
		return 60;
	memset(m, 1, 8 << 20);
	free(m);
	if (clock_gettime(CLOCK_MONOTONIC, &(struct timespec){ 0, 0 }) == -1 ||
	    time(NULL) == (time_t)-1)
		return 61;
	if (gethostname(buf, sizeof(buf)) == -1)
		return 62;
	say(rep, "done");
	return 0;
}

Test(collector, reads_probes_connects, .timeout = 30)
{
	struct sockaddr_in	 sin;
	struct collkid		 ck;
	struct kid		 k;
	socklen_t		 slen;
	int			 l;

	memset(&ck, 0, sizeof(ck));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(l, -1, "socket: %s", strerror(errno));
	cr_assert_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(l, 4), 0);
	slen = sizeof(ck.tcp);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&ck.tcp, &slen), 0);
	ck.udpfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(ck.udpfd, -1);
	cr_assert_eq(bind(ck.udpfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	slen = sizeof(ck.udp);
	cr_assert_eq(getsockname(ck.udpfd, (struct sockaddr *)&ck.udp,
	    &slen), 0);
	(void)strlcpy(ck.dir, "/tmp/sandbox-coll.XXXXXX", sizeof(ck.dir));
	cr_assert_not_null(mkdtemp(ck.dir));

	kid_run(&k, kid_collector_work, &ck);
	(void)close(l);
	(void)close(ck.udpfd);
	(void)rmdir(ck.dir);
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, "done\n"), "%s", k.out);
}

static int
kid_collector_abort(int rep, int go, void *arg)
{
	if (install(rep, SANDBOX_FILTER_COLLECTOR) == -1)
		return 2;
	say(rep, "calling abort");
	abort();
}

Test(collector, abort_is_sigabrt)
{
	struct kid	 k;

	kid_run(&k, kid_collector_abort, NULL);
	assert_died_at(&k, SIGABRT, "abort");
}

static int
kid_collector_pause(int rep, int go, void *arg)
{
	if (install(rep, SANDBOX_FILTER_COLLECTOR) == -1)
		return 2;
	say(rep, "ready");
	wait_go(go);
	return 0;
}

Test(collector, status_seen_by_parent)
{
	struct kid	 k;

	kid_start(&k, kid_collector_pause, NULL);
	kid_expect(&k, "ready");
	assert_status(k.pid, "Seccomp", "2");
	assert_status(k.pid, "NoNewPrivs", "1");
	kid_finish(&k);
	assert_exit0(&k);
}

/*
 * TSYNC: a thread that existed before the filter is under it too, or it
 * would be a way out.
 */
struct tsync {
	int	 rep;
	int	 gofd;
	int	 upfd;
};

static void *
tsync_thread(void *arg)
{
	struct tsync	*t = arg;

	/* glibc's thread start makes its own syscalls (set_robust_list,
	 * rseq): report only once they are behind us */
	if (write(t->upfd, "u", 1) != 1)
		return NULL;
	wait_go(t->gofd);
	say(t->rep, "calling open");
	call_open(0);
	say(t->rep, "survived open");
	return NULL;
}

static int
kid_tsync(int rep, int go, void *arg)
{
	struct tsync	 t;
	pthread_t	 th;
	char		 c;
	int		 p[2], up[2];

	if (pipe(p) == -1 || pipe(up) == -1)
		return 3;
	t.rep = rep;
	t.gofd = p[0];
	t.upfd = up[1];
	if ((errno = pthread_create(&th, NULL, tsync_thread, &t)) != 0)
		return 4;
	if (read(up[0], &c, 1) != 1)
		return 5;
	if (install(rep, SANDBOX_FILTER_FRONT) == -1)
		return 2;
	/* release the thread: it was created before the filter */
	(void)close(p[1]);
	(void)pthread_join(th, NULL);
	return 1;
}

Test(seccomp, filter_covers_existing_threads)
{
	struct kid	 k;

	kid_run(&k, kid_tsync, NULL);
	assert_died_at(&k, SIGSYS, "open");
}

Test(seccomp, unknown_filter_refused)
{
	char	 err[256] = "";

	cr_assert_eq(sandbox_seccomp((enum sandbox_filter)99, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "unknown filter"), "%s", err);
}

/* ---- sandbox_plan */

Test(plan, front)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "", dir[64];

	NEED_ROOT();
	make_jail(dir, sizeof(dir));
	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));
	(void)strlcpy(conf.chroot, dir, sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    0, "%s", err);
	(void)rmdir(dir);
	cr_assert_eq(p.role, ROLE_FRONT);
	cr_assert_eq(p.unprivileged, 0);
	cr_assert_eq(p.switch_user, 1);
	cr_assert_eq(p.uid, NOBODY_UID);
	cr_assert_str_eq(p.user, "nobody");
	cr_assert_str_eq(p.chroot, dir);
	cr_assert_eq(p.filter, SANDBOX_FILTER_FRONT);
	cr_assert_eq(p.nproc_zero, 1);
	cr_assert_eq(p.fsize_zero, 1);
	cr_assert_eq(p.keep_read_caps, 0);
}

Test(plan, other_roles)
{
	const enum role		 userroles[] = {
		ROLE_FETCHER, ROLE_SENDER, ROLE_GITPULL, ROLE_SCHEDULER
	};
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "";
	size_t			 i;

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));
	(void)strlcpy(conf.pluginsuser, "nobody", sizeof(conf.pluginsuser));
	/* only the front chroots */
	(void)strlcpy(conf.chroot, "/nonexistent", sizeof(conf.chroot));
	for (i = 0; i < sizeof(userroles) / sizeof(userroles[0]); i++) {
		cr_assert_eq(sandbox_plan(userroles[i], &conf, &p, err,
		    sizeof(err)), 0, "%s: %s", proto_role_name(userroles[i]),
		    err);
		cr_assert_eq(p.switch_user, 1);
		cr_assert_eq(p.uid, NOBODY_UID);
		cr_assert_str_eq(p.chroot, "");
		cr_assert_eq(p.filter, SANDBOX_FILTER_DENYLIST);
		cr_assert_eq(p.nproc_zero, 0);
		cr_assert_eq(p.fsize_zero, 0);
		cr_assert_eq(p.keep_read_caps, 0);
	}
	cr_assert_eq(sandbox_plan(ROLE_COLLECTOR, &conf, &p, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.switch_user, 0);
	cr_assert_eq(p.uid, 0);
	cr_assert_str_eq(p.chroot, "");
	cr_assert_eq(p.filter, SANDBOX_FILTER_COLLECTOR);
	cr_assert_eq(p.keep_read_caps, 1);
	cr_assert_eq(p.nproc_zero, 1);

	err[0] = '\0';
	cr_assert_eq(sandbox_plan(ROLE_MASTER, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "master"), "%s", err);
}

Test(plan, unknown_user)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.user, "no-such-user-sbx", sizeof(conf.user));
	(void)strlcpy(conf.pluginsuser, "no-such-plugins-sbx",
	    sizeof(conf.pluginsuser));
	cr_assert_eq(sandbox_plan(ROLE_SENDER, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err,
	    "user \"no-such-user-sbx\" does not exist"), "%s", err);
	cr_assert_not_null(strstr(err, "[agent] user"), "%s", err);
	cr_assert_eq(sandbox_plan(ROLE_SCHEDULER, &conf, &p, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err,
	    "user \"no-such-plugins-sbx\" does not exist"), "%s", err);
	cr_assert_not_null(strstr(err, "[agent] pluginsuser"), "%s", err);
}

Test(plan, root_plugins)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.pluginsuser, "root", sizeof(conf.pluginsuser));
	cr_assert_eq(sandbox_plan(ROLE_SCHEDULER, &conf, &p, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "[agent] pluginsuser"), "%s", err);
	cr_assert_not_null(strstr(err, "allowrootplugins"), "%s", err);

	conf.allowrootplugins = 1;
	cr_assert_eq(sandbox_plan(ROLE_SCHEDULER, &conf, &p, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.uid, 0);
	cr_assert_eq(p.switch_user, 1);
	cr_assert_eq(p.filter, SANDBOX_FILTER_DENYLIST);
}

Test(plan, root_user_refused)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.user, "root", sizeof(conf.user));
	conf.allowrootplugins = 1;	/* is about plugins only */
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "[agent] user"), "%s", err);
}

Test(plan, chroot_checks)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	char			 err[256] = "", dir[64], file[96];
	int			 fd;

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));

	(void)strlcpy(conf.chroot, "relative/dir", sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "absolute"), "%s", err);

	(void)strlcpy(conf.chroot, "/nonexistent-sbx", sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);

	/* world-writable (sticky /tmp) */
	(void)strlcpy(conf.chroot, "/tmp", sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "owned by root"), "%s", err);

	/* owned by the sandbox user */
	make_jail(dir, sizeof(dir));
	cr_assert_eq(chown(dir, NOBODY_UID, NOBODY_UID), 0, "chown: %s",
	    strerror(errno));
	(void)strlcpy(conf.chroot, dir, sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "owned by root"), "%s", err);

	/* not a directory */
	(void)snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_neq(fd, -1, "open: %s", strerror(errno));
	(void)close(fd);
	(void)strlcpy(conf.chroot, file, sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    -1);
	(void)unlink(file);
	(void)rmdir(dir);
	cr_assert_not_null(strstr(err, "not a directory"), "%s", err);

	/* empty: no chroot */
	conf.chroot[0] = '\0';
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_str_eq(p.chroot, "");
}

/*
 * Not root: the real code path, not a simulation.  As root the kid first
 * drops to nobody for good, so geteuid() != 0 inside sandbox_plan; as a
 * normal user it runs as is.  The users and the chroot named in the
 * config do not exist: unprivileged plans must not look at them.
 */
static int
kid_unprivileged(int rep, int go, void *arg)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 p;
	struct rlimit		 rl;
	char			 err[256];
	gid_t			 g = NOBODY_UID;

	if (geteuid() == 0 && (setgroups(1, &g) == -1 ||
	    setresgid(g, g, g) == -1 ||
	    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) == -1))
		return 3;
	conf_zero(&conf);
	(void)strlcpy(conf.user, "no-such-user-sbx", sizeof(conf.user));
	(void)strlcpy(conf.pluginsuser, "root", sizeof(conf.pluginsuser));
	(void)strlcpy(conf.chroot, "/nonexistent-sbx", sizeof(conf.chroot));

	if (sandbox_plan(ROLE_SCHEDULER, &conf, &p, err, sizeof(err)) == -1) {
		say(rep, "plan scheduler: %s", err);
		return 9;
	}
	if (!p.unprivileged || p.switch_user || p.uid != geteuid() ||
	    p.filter != SANDBOX_FILTER_DENYLIST)
		return 10;
	if (sandbox_plan(ROLE_COLLECTOR, &conf, &p, err, sizeof(err)) == -1) {
		say(rep, "plan collector: %s", err);
		return 11;
	}
	if (!p.unprivileged || p.switch_user || p.keep_read_caps ||
	    p.filter != SANDBOX_FILTER_COLLECTOR || !p.nproc_zero)
		return 12;
	if (sandbox_plan(ROLE_FRONT, &conf, &p, err, sizeof(err)) == -1) {
		say(rep, "plan front: %s", err);
		return 13;
	}
	if (!p.unprivileged || p.switch_user || p.chroot[0] != '\0' ||
	    p.filter != SANDBOX_FILTER_FRONT || !p.nproc_zero ||
	    !p.fsize_zero)
		return 14;
	if (sandbox_enter(&p, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 15;
	}
	if (getrlimit(RLIMIT_NPROC, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 16;
	say(rep, "ready");
	wait_go(go);
	say(rep, "calling open");
	call_open(0);
	return 1;
}

Test(plan, unprivileged)
{
	struct kid	 k;
	char		 uid[64];

	kid_start(&k, kid_unprivileged, NULL);
	kid_expect(&k, "ready");
	(void)snprintf(uid, sizeof(uid), "%lu\t%lu\t%lu\t%lu",
	    (unsigned long)(geteuid() == 0 ? NOBODY_UID : geteuid()),
	    (unsigned long)(geteuid() == 0 ? NOBODY_UID : geteuid()),
	    (unsigned long)(geteuid() == 0 ? NOBODY_UID : geteuid()),
	    (unsigned long)(geteuid() == 0 ? NOBODY_UID : geteuid()));
	assert_status(k.pid, "Uid", uid);
	assert_status(k.pid, "NoNewPrivs", "1");
	assert_status(k.pid, "Seccomp", "2");
	kid_finish(&k);
	assert_died_at(&k, SIGSYS, "open");
}

/* ---- sandbox_enter, as root */

struct enterkid {
	struct sandbox_plan	 plan;
};

static int
kid_enter_front(int rep, int go, void *arg)
{
	struct enterkid	*e = arg;
	struct rlimit	 np, fs, co;
	char		 err[256];

	if (sandbox_enter(&e->plan, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 3;
	}
	/* getrlimit is prlimit64(0, r, NULL, old): allowed */
	if (getrlimit(RLIMIT_NPROC, &np) == -1 ||
	    getrlimit(RLIMIT_FSIZE, &fs) == -1 ||
	    getrlimit(RLIMIT_CORE, &co) == -1)
		return 4;
	say(rep, "uid %lu euid %lu", (unsigned long)getuid(),
	    (unsigned long)geteuid());
	say(rep, "nproc %lu/%lu fsize %lu/%lu core %lu/%lu",
	    (unsigned long)np.rlim_cur, (unsigned long)np.rlim_max,
	    (unsigned long)fs.rlim_cur, (unsigned long)fs.rlim_max,
	    (unsigned long)co.rlim_cur, (unsigned long)co.rlim_max);
	say(rep, "ready");
	wait_go(go);
	say(rep, "calling open");
	call_open(0);
	return 1;
}

static void
assert_link(pid_t pid, const char *which, const char *want)
{
	char	 path[64], got[1024];
	ssize_t	 n;

	(void)snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, which);
	n = readlink(path, got, sizeof(got) - 1);
	cr_assert_neq(n, -1, "readlink %s: %s", path, strerror(errno));
	got[n] = '\0';
	cr_assert_str_eq(got, want, "%s -> %s, want %s", path, got, want);
}

Test(enter, front_as_root, .timeout = 30)
{
	struct agent_conf	 conf;
	struct enterkid		 e;
	struct kid		 k;
	char			 err[256] = "", dir[64];

	NEED_ROOT();
	make_jail(dir, sizeof(dir));
	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));
	(void)strlcpy(conf.chroot, dir, sizeof(conf.chroot));
	cr_assert_eq(sandbox_plan(ROLE_FRONT, &conf, &e.plan, err,
	    sizeof(err)), 0, "%s", err);

	kid_start(&k, kid_enter_front, &e);
	kid_expect(&k, "ready");
	cr_assert_not_null(strstr(k.out, "uid 65534 euid 65534\n"), "%s",
	    k.out);
	cr_assert_not_null(strstr(k.out, "nproc 0/0 fsize 0/0 core 0/0\n"),
	    "%s", k.out);
	assert_link(k.pid, "root", dir);
	assert_link(k.pid, "cwd", dir);
	/* real, effective, saved and fs ids: nothing left to setuid(0) to */
	assert_status(k.pid, "Uid", "65534\t65534\t65534\t65534");
	assert_status(k.pid, "Gid", "65534\t65534\t65534\t65534");
	assert_status(k.pid, "Groups", "65534");
	assert_status(k.pid, "CapEff", "0000000000000000");
	assert_status(k.pid, "CapPrm", "0000000000000000");
	assert_status(k.pid, "NoNewPrivs", "1");
	assert_status(k.pid, "Seccomp", "2");
	assert_status(k.pid, "Seccomp_filters", "1");
	kid_finish(&k);
	(void)rmdir(dir);
	assert_died_at(&k, SIGSYS, "open");
}

/* A deny-list role as nobody: the regain calls themselves can be made. */
static int
kid_enter_gitpull(int rep, int go, void *arg)
{
	struct enterkid	*e = arg;
	struct rlimit	 co;
	char		 err[256];
	char *const	 argv[] = { "true", NULL };
	pid_t		 pid;
	gid_t		 g = 0;
	int		 st;

	if (sandbox_enter(&e->plan, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 3;
	}
	if (getuid() != NOBODY_UID || geteuid() != NOBODY_UID)
		return 10;
	if (setuid(0) != -1 || errno != EPERM)
		return 11;
	if (seteuid(0) != -1 || setgid(0) != -1 || setegid(0) != -1 ||
	    setgroups(1, &g) != -1)
		return 12;
	if (getrlimit(RLIMIT_CORE, &co) == -1 || co.rlim_max != 0)
		return 13;
	/* gitpull execs git: fork and exec still work as nobody */
	if ((pid = fork()) == -1)
		return 14;
	if (pid == 0) {
		(void)execv("/bin/true", argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return 15;
	say(rep, "done");
	return 0;
}

Test(enter, gitpull_as_root)
{
	struct agent_conf	 conf;
	struct enterkid		 e;
	struct kid		 k;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));
	cr_assert_eq(sandbox_plan(ROLE_GITPULL, &conf, &e.plan, err,
	    sizeof(err)), 0, "%s", err);
	kid_run(&k, kid_enter_gitpull, &e);
	assert_exit0(&k);
}

/*
 * Make CAP_DAC_OVERRIDE ambient, as a launcher might: it is in the keep
 * set, so only an explicit clear removes it from the ambient set.
 */
static int
raise_ambient(void)
{
	struct __user_cap_header_struct	 hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == -1)
		return -1;
	data[0].inheritable |= 1U << CAP_DAC_OVERRIDE;
	if (syscall(SYS_capset, &hdr, data) == -1)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_OVERRIDE,
	    0, 0);
}

static int
kid_enter_collector(int rep, int go, void *arg)
{
	struct enterkid	*e = arg;
	char		 err[256];
	int		 fd;

	if (raise_ambient() == -1 || prctl(PR_CAP_AMBIENT,
	    PR_CAP_AMBIENT_IS_SET, CAP_DAC_OVERRIDE, 0, 0) != 1) {
		say(rep, "raise_ambient: %s", strerror(errno));
		return 5;
	}
	if (sandbox_enter(&e->plan, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 3;
	}
	if (getuid() != 0 || geteuid() != 0)
		return 10;
	/* reading what root may read still works (DAC_READ_SEARCH) */
	if ((fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC)) == -1)
		return 11;
	(void)close(fd);
	say(rep, "ready");
	wait_go(go);
	say(rep, "calling execve");
	call_execve(0);
	return 1;
}

Test(enter, collector_as_root, .timeout = 30)
{
	struct agent_conf	 conf;
	struct enterkid		 e;
	struct kid		 k;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	cr_assert_eq(sandbox_plan(ROLE_COLLECTOR, &conf, &e.plan, err,
	    sizeof(err)), 0, "%s", err);
	kid_start(&k, kid_enter_collector, &e);
	kid_expect(&k, "ready");
	assert_status(k.pid, "Uid", "0\t0\t0\t0");
	/* DAC_OVERRIDE(1) | DAC_READ_SEARCH(2) | SYS_PTRACE(19) */
	assert_status(k.pid, "CapEff", "0000000000080006");
	assert_status(k.pid, "CapPrm", "0000000000080006");
	assert_status(k.pid, "CapInh", "0000000000080006");
	assert_status(k.pid, "CapBnd", "0000000000080006");
	assert_status(k.pid, "CapAmb", "0000000000000000");
	assert_status(k.pid, "NoNewPrivs", "1");
	assert_status(k.pid, "Seccomp", "2");
	kid_finish(&k);
	assert_died_at(&k, SIGSYS, "execve");
}

static int
kid_enter_rootplugins(int rep, int go, void *arg)
{
	struct enterkid	*e = arg;
	char		 err[256];

	if (sandbox_enter(&e->plan, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 3;
	}
	if (getuid() != 0 || geteuid() != 0)
		return 10;
	return 0;
}

/* allowrootplugins: root stays root, no regain test to fail. */
Test(enter, scheduler_root_allowed)
{
	struct agent_conf	 conf;
	struct enterkid		 e;
	struct kid		 k;
	char			 err[256] = "";

	NEED_ROOT();
	conf_zero(&conf);
	(void)strlcpy(conf.pluginsuser, "root", sizeof(conf.pluginsuser));
	conf.allowrootplugins = 1;
	cr_assert_eq(sandbox_plan(ROLE_SCHEDULER, &conf, &e.plan, err,
	    sizeof(err)), 0, "%s", err);
	kid_run(&k, kid_enter_rootplugins, &e);
	assert_exit0(&k);
}

static int
kid_enter_badchroot(int rep, int go, void *arg)
{
	struct enterkid	*e = arg;
	char		 err[256];

	if (sandbox_enter(&e->plan, err, sizeof(err)) != -1)
		return 3;
	say(rep, "%s", err);
	/* failed at step 1: nothing after it happened */
	if (getuid() != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0 ||
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		return 4;
	return 0;
}

Test(enter, failure_names_the_step)
{
	struct enterkid	 e;
	struct kid	 k;

	NEED_ROOT();
	memset(&e, 0, sizeof(e));
	e.plan.role = ROLE_FRONT;
	e.plan.switch_user = 1;
	e.plan.uid = NOBODY_UID;
	e.plan.gid = NOBODY_UID;
	e.plan.filter = SANDBOX_FILTER_FRONT;
	(void)strlcpy(e.plan.chroot, "/nonexistent-sbx",
	    sizeof(e.plan.chroot));
	kid_run(&k, kid_enter_badchroot, &e);
	assert_exit0(&k);
	cr_assert_str_eq(k.out, "chroot(/nonexistent-sbx): No such file or "
	    "directory\n");
}

/*
 * The regain test and the capability check must catch a drop that did
 * not stick.  SECBIT_NO_SETUID_FIXUP (as a container runtime might leave
 * it) keeps every capability across setresuid, so setgid(0) works again;
 * PR_SET_KEEPCAPS keeps the permitted set only, which setuid(0) cannot
 * show but capget can.
 */
struct regainkid {
	struct sandbox_plan	 plan;
	int			 how;	/* 0: no fixup, 1: keepcaps */
};

static int
kid_regain(int rep, int go, void *arg)
{
	struct regainkid	*r = arg;
	char			 err[256];

	if (r->how == 0 && prctl(PR_SET_SECUREBITS,
	    1 << 2 /* SECBIT_NO_SETUID_FIXUP */, 0, 0, 0) == -1)
		return 3;
	if (r->how == 1 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		return 3;
	if (sandbox_enter(&r->plan, err, sizeof(err)) != -1)
		return 4;
	say(rep, "%s", err);
	return 0;
}

static void
regain_case(int how, const char *want)
{
	struct agent_conf	 conf;
	struct regainkid	 r;
	struct kid		 k;
	char			 err[256] = "";

	conf_zero(&conf);
	(void)strlcpy(conf.user, "nobody", sizeof(conf.user));
	cr_assert_eq(sandbox_plan(ROLE_GITPULL, &conf, &r.plan, err,
	    sizeof(err)), 0, "%s", err);
	r.how = how;
	kid_run(&k, kid_regain, &r);
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, want), "%s", k.out);
}

Test(enter, regain_detected)
{
	NEED_ROOT();
	regain_case(0, "was able to regain gid 0");
}

Test(enter, kept_capabilities_detected)
{
	NEED_ROOT();
	regain_case(1, "capabilities left after setresuid(65534)");
}
