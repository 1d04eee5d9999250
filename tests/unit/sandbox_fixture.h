/*
 * What the sandbox tests share (test_sandbox.c: front, deny-list,
 * collector, plans and sandbox_enter; test_sandbox_clients.c: fetcher and
 * sender).  Every filter is loaded for real, in a "kid": a process forked
 * from the Criterion worker.  The worker itself is not used because it
 * runs a second (nanomsg) thread that TSYNC would put under the filter
 * too, and because a worker that survives a filter still has to report
 * to Criterion and, under ASan, run LeakSanitizer at exit, which needs
 * ptrace and clone (both killed by our filters).  The kid is
 * single-threaded, ends with _exit() and reports over a pipe; before a
 * call that must kill it, it writes "calling <what>", so a death is
 * proved to come from that call and not from anything earlier.
 */
#ifndef AGENT_TEST_SANDBOX_FIXTURE_H
#define AGENT_TEST_SANDBOX_FIXTURE_H

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

static inline void
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
static inline void
wait_go(int go)
{
	char	 c;

	while (read(go, &c, 1) == -1 && errno == EINTR)
		;
}

static inline int
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
static inline void
no_core(void)
{
	const struct rlimit	 zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		cr_log_warn("setrlimit(RLIMIT_CORE): %s", strerror(errno));
}

/* ---- helpers used by the parent */

static inline void
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
static inline int
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
static inline void
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
static inline void
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

static inline void
kid_run(struct kid *k, kid_fn fn, void *arg)
{
	kid_start(k, fn, arg);
	kid_finish(k);
}

static inline void
assert_exit0(const struct kid *k)
{
	cr_assert(WIFEXITED(k->status) && WEXITSTATUS(k->status) == 0,
	    "kid %s %d; it said:\n%s",
	    WIFEXITED(k->status) ? "exited with" : "killed by signal",
	    WIFEXITED(k->status) ? WEXITSTATUS(k->status) :
	    WTERMSIG(k->status), k->out);
}

/* The kid died of `sig` right after saying "calling <what>". */
static inline void
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
	    "%s: the kid did not die at that call; it said:\n%s", what,
	    k->out);
}

/* Value of `key` in /proc/<pid>/status ("Seccomp" -> "2"). */
static inline void
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

static inline void
assert_status(pid_t pid, const char *key, const char *want)
{
	char	 val[256];

	proc_status(pid, key, val, sizeof(val));
	cr_assert_str_eq(val, want, "/proc/%ld/status %s: \"%s\", want "
	    "\"%s\"", (long)pid, key, val, want);
}

static inline void
conf_zero(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
}

static inline void
make_jail(char *dir, size_t len)
{
	(void)strlcpy(dir, "/tmp/sandbox-jail.XXXXXX", len);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

/* ---- forbidden calls, one per death test */

static inline void
call_open(pid_t other)
{
	int	 fd;

	if ((fd = open("/etc/passwd", O_RDONLY)) != -1)
		(void)close(fd);
}

static inline void
call_open_raw(pid_t other)
{
	(void)syscall(SYS_open, "/etc/passwd", O_RDONLY);
}

static inline void
call_openat2(pid_t other)
{
	(void)syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", NULL, 0);
}

static inline void
call_stat_path(pid_t other)
{
	struct stat	 st;

	(void)stat("/etc/passwd", &st);
}

static inline void
call_socket(pid_t other)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
}

static inline void
call_socketpair(pid_t other)
{
	int	 sv[2];

	(void)socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static inline void
call_connect(pid_t other)
{
	(void)syscall(SYS_connect, -1, NULL, 0);
}

static inline void
call_bind(pid_t other)
{
	(void)syscall(SYS_bind, -1, NULL, 0);
}

static inline void
call_listen(pid_t other)
{
	(void)syscall(SYS_listen, -1, 0);
}

static inline void
call_execve(pid_t other)
{
	char *const	 argv[] = { "true", NULL };

	(void)execve("/bin/true", argv, environ);
}

static inline void
call_fork(pid_t other)
{
	pid_t	 pid;

	/* should the filter fail, do not leave two test processes */
	if ((pid = fork()) == 0)
		_exit(0);
}

static inline void
call_vfork_raw(pid_t other)
{
	/* the raw syscall: glibc vfork() would share our stack */
	if (syscall(SYS_vfork) == 0)
		_exit(0);
}

static inline void
call_clone_process(pid_t other)
{
	/* fork-like clone (no CLONE_THREAD), raw */
	if (syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) == 0)
		_exit(0);
}

static inline void
call_clone_newuser(pid_t other)
{
	if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL,
	    0) == 0)
		_exit(0);
}

static inline void
call_clone3(pid_t other)
{
	(void)syscall(SYS_clone3, NULL, 0);
}

static inline void
call_posix_spawn(pid_t other)
{
	char *const	 argv[] = { "true", NULL };
	pid_t		 pid;

	(void)posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
}

static inline void
call_mmap_exec(pid_t other)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static inline void
call_mprotect_exec(pid_t other)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static inline void
call_kill_parent(pid_t other)
{
	(void)kill(other, 0);
}

static inline void
call_tgkill_parent(pid_t other)
{
	(void)syscall(SYS_tgkill, other, other, 0);
}

static inline void
call_setrlimit(pid_t other)
{
	struct rlimit	 rl = { 16, 16 };

	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static inline void
call_fcntl_setown(pid_t other)
{
	(void)fcntl(0, F_SETOWN, getpid());
}

static inline void
call_ioctl(pid_t other)
{
	int	 n;

	(void)ioctl(0, FIONREAD, &n);
}

static inline void
call_prctl(pid_t other)
{
	(void)prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

static inline void
call_setuid(pid_t other)
{
	/* the filter kills before this returns; the result is moot */
	if (setuid(0) == -1)
		return;
}

static inline void
call_ptrace(pid_t other)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static inline void
call_mount(pid_t other)
{
	/* would fail harmlessly (no such mount point) without the filter */
	(void)mount("none", "/nonexistent-sandbox-test", "tmpfs", 0, NULL);
}

static inline void
call_umount2(pid_t other)
{
	(void)umount2("/nonexistent-sandbox-test", 0);
}

static inline void
call_chroot(pid_t other)
{
	if (chroot("/nonexistent-sandbox-test") == -1)
		return;
}

static inline void
call_unshare(pid_t other)
{
	(void)unshare(CLONE_NEWUSER);
}

static inline void
call_setns(pid_t other)
{
	(void)setns(-1, 0);
}

static inline void
call_process_vm_readv(pid_t other)
{
	(void)syscall(SYS_process_vm_readv, other, NULL, 0, NULL, 0, 0);
}

static inline void
call_pidfd_getfd(pid_t other)
{
	(void)syscall(SYS_pidfd_getfd, -1, 0, 0);
}

static inline void
call_bpf(pid_t other)
{
	(void)syscall(SYS_bpf, -1, NULL, 0);
}

static inline void
call_keyctl(pid_t other)
{
	(void)syscall(SYS_keyctl, -1, 0, 0, 0, 0);
}

static inline void
call_clock_settime(pid_t other)
{
	struct timespec	 ts = { 0, 0 };

	/* invalid clock: harmless should the filter let it through */
	(void)syscall(SYS_clock_settime, -1, &ts);
}


/* ---- writing to the file system: what the collector may never do.
 * Paths under a directory that does not exist, so that a filter that
 * failed to kill would change nothing. */

#define NOWHERE	"/nonexistent-sandbox-test/f"

static inline void
call_open_write(pid_t other)
{
	(void)syscall(SYS_open, NOWHERE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

static inline void
call_open_rdwr(pid_t other)
{
	(void)syscall(SYS_open, NOWHERE, O_RDWR);
}

static inline void
call_open_creat_rdonly(pid_t other)
{
	(void)syscall(SYS_open, NOWHERE, O_RDONLY | O_CREAT, 0600);
}

static inline void
call_open_trunc(pid_t other)
{
	(void)syscall(SYS_open, NOWHERE, O_RDONLY | O_TRUNC);
}

static inline void
call_open_append(pid_t other)
{
	(void)syscall(SYS_open, NOWHERE, O_WRONLY | O_APPEND);
}

static inline void
call_openat_write(pid_t other)
{
	(void)syscall(SYS_openat, AT_FDCWD, NOWHERE, O_WRONLY | O_CREAT, 0600);
}

static inline void
call_openat_rdwr_existing(pid_t other)
{
	/* an existing file, as a clobbering attacker would: read-write */
	(void)syscall(SYS_openat, AT_FDCWD, "/nonexistent-sandbox-test",
	    O_RDWR);
}

static inline void
call_open_tmpfile(pid_t other)
{
	(void)syscall(SYS_openat, AT_FDCWD, "/nonexistent-sandbox-test",
	    O_TMPFILE | O_RDWR, 0600);
}

static inline void
call_creat(pid_t other)
{
	(void)syscall(SYS_creat, NOWHERE, 0600);
}

static inline void
call_unlink(pid_t other)
{
	(void)syscall(SYS_unlink, NOWHERE);
}

static inline void
call_unlinkat(pid_t other)
{
	(void)syscall(SYS_unlinkat, AT_FDCWD, NOWHERE, 0);
}

static inline void
call_rename(pid_t other)
{
	(void)syscall(SYS_rename, "/nonexistent-sandbox-a",
	    "/nonexistent-sandbox-b");
}

static inline void
call_renameat(pid_t other)
{
	(void)syscall(SYS_renameat, AT_FDCWD, "/nonexistent-sandbox-a",
	    AT_FDCWD, "/nonexistent-sandbox-b");
}

static inline void
call_link(pid_t other)
{
	(void)syscall(SYS_link, "/nonexistent-sandbox-a", NOWHERE);
}

static inline void
call_symlink(pid_t other)
{
	(void)syscall(SYS_symlink, "/etc/shadow", NOWHERE);
}

static inline void
call_mkdir(pid_t other)
{
	(void)syscall(SYS_mkdir, "/nonexistent-sandbox-test/x", 0700);
}

static inline void
call_chmod(pid_t other)
{
	(void)syscall(SYS_chmod, "/nonexistent-sandbox-test", 0700);
}

static inline void
call_fchmod(pid_t other)
{
	(void)syscall(SYS_fchmod, -1, 0700);
}

static inline void
call_chown(pid_t other)
{
	(void)syscall(SYS_chown, "/nonexistent-sandbox-test", 0, 0);
}

static inline void
call_truncate(pid_t other)
{
	(void)syscall(SYS_truncate, NOWHERE, 0);
}

static inline void
call_ftruncate(pid_t other)
{
	(void)syscall(SYS_ftruncate, -1, 0);
}

static inline void
call_pwrite(pid_t other)
{
	(void)syscall(SYS_pwrite64, -1, "x", 1, 0);
}

/* reads at an address of /proc/<pid>/mem: a PIE program's memory */
#define HIGH_OFFSET	(1LL << 40)

static inline void
call_pread_high(pid_t other)
{
	char	 b[8];

	(void)syscall(SYS_pread64, -1, b, sizeof(b), HIGH_OFFSET);
}

/* a Go program's heap on x86-64, below the 2^40 of the first bound */
#define GO_HEAP		0xc000000000LL

static inline void
call_pread_go_heap(pid_t other)
{
	char	 b[8];

	(void)syscall(SYS_pread64, -1, b, sizeof(b), GO_HEAP);
}

static inline void
call_lseek_go_heap(pid_t other)
{
	(void)syscall(SYS_lseek, -1, GO_HEAP, SEEK_SET);
}

static inline void
call_lseek_high(pid_t other)
{
	(void)syscall(SYS_lseek, -1, HIGH_OFFSET, SEEK_SET);
}

/* steps forward from where it is, 1 TiB less one at a time */
static inline void
call_lseek_cur(pid_t other)
{
	(void)syscall(SYS_lseek, -1, HIGH_OFFSET - 1, SEEK_CUR);
}

static inline void
call_lseek_end(pid_t other)
{
	(void)syscall(SYS_lseek, -1, 4096, SEEK_END);
}

static inline void
call_mknod(pid_t other)
{
	(void)syscall(SYS_mknod, NOWHERE, S_IFIFO | 0600, 0);
}

static inline void
call_process_vm_writev(pid_t other)
{
	(void)syscall(SYS_process_vm_writev, other, NULL, 0, NULL, 0, 0);
}

static inline void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return arg;
}

static inline void
call_thread(pid_t other)
{
	pthread_t	 t;
	int		 v = 0;

	if (pthread_create(&t, NULL, thread_main, &v) == 0)
		(void)pthread_join(t, NULL);
}

static inline void
call_socket_raw(pid_t other)
{
	(void)socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
}

static inline void
call_socket_packet(pid_t other)
{
	(void)socket(AF_PACKET, SOCK_DGRAM, 0);
}

struct death {
	enum sandbox_filter	 filter;
	void			(*call)(pid_t);
	const char		*what;
	pid_t			 other;
};

static inline int
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

static inline void
expect_death(enum sandbox_filter f, void (*call)(pid_t), const char *what)
{
	struct death	 d = { f, call, what, getpid() };
	struct kid	 k;

	kid_run(&k, kid_death, &d);
	assert_died_at(&k, SIGSYS, what);
}

#endif
