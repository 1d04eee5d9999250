/*
 * Sandbox tests: the front's, the deny-list's and the collector's
 * filters, the role table, sandbox_plan and sandbox_enter.  The kids
 * that load a filter are in sandbox_fixture.h; the fetcher's and the
 * sender's filters are tested in test_sandbox_clients.c.
 *
 * Two tests load a default-allow filter in the worker itself and assert
 * with .signal = SIGSYS, which also shows TSYNC works with a second
 * thread present.
 */
#include "sandbox_fixture.h"

#include "log.h"

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

/*
 * No leases (sandbox_seccomp.c): an open of a leased file waits for the
 * holder, and a plugin's exec, which the scheduler waits for, opens what
 * the plugin chose.  Refused with the high bits of cmd set too, which
 * the kernel does not read; reading the lease state still works.
 */
static int
kid_deny_lease(int rep, int go, void *arg)
{
	char	 path[] = "/tmp/test_sandbox_lease.XXXXXX";
	int	 fd, rv = 0;

	if ((fd = mkstemp(path)) == -1)
		return 3;
	(void)unlink(path);
	if (install(rep, SANDBOX_FILTER_DENYLIST) == -1)
		rv = 2;
	else if (errno = 0, fcntl(fd, F_SETLEASE, F_RDLCK) != -1 ||
	    errno != EPERM)
		rv = 10;
	else if (errno = 0, syscall(SYS_fcntl, fd, (1L << 32) | F_SETLEASE,
	    F_WRLCK) != -1 || errno != EPERM)
		rv = 11;
	else if (fcntl(fd, F_GETLEASE) != F_UNLCK)
		rv = 12;
	(void)close(fd);
	return rv;
}

Test(denylist, leases_are_refused)
{
	struct kid	 k;

	kid_run(&k, kid_deny_lease, NULL);
	assert_exit0(&k);
}

/*
 * What a plugin would do to the scheduler it runs under (same user, same
 * filter): every way of signalling, renicing, rescheduling or limiting
 * it that names its pid or group, or every process of the user.  Each
 * must get EPERM in the kid's child; the same calls on the child itself
 * or on a process of its own still work.  The number returned names the
 * step that was let through.
 */
#define GUARD_REFUSED(step, call) do {					\
	errno = 0;							\
	if ((call) != -1 || errno != EPERM)				\
		return (step);						\
} while (0)

/*
 * Any other process of the user (another plugin's run; here a child):
 * not reniced, rescheduled, limited or moved either, which Landlock's
 * signal scope does not cover.
 */
static int
guard_others_attack(pid_t other)
{
	struct rlimit	 rl = { 1, 1 };
	struct sched_param sp = { 0 };
	cpu_set_t	 cpus;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	GUARD_REFUSED(60, prlimit(other, RLIMIT_CPU, &rl, NULL));
	GUARD_REFUSED(61, setpriority(PRIO_PROCESS, other, 19));
	GUARD_REFUSED(62, setpriority(PRIO_PGRP, other, 19));
	GUARD_REFUSED(63, sched_setscheduler(other, SCHED_IDLE, &sp));
	GUARD_REFUSED(64, sched_setparam(other, &sp));
	GUARD_REFUSED(65, sched_setaffinity(other, sizeof(cpus), &cpus));
	GUARD_REFUSED(66, syscall(SYS_ioprio_set, 1, other, 7));
	GUARD_REFUSED(67, syscall(SYS_prlimit64, (1L << 32) | other,
	    RLIMIT_CPU, &rl, NULL));
	return 0;
}

static int
guard_attack(pid_t guarded)
{
	struct rlimit	 rl = { RLIM_INFINITY, RLIM_INFINITY }, old;
	struct sched_param sp = { 0 };
	cpu_set_t	 cpus;
	pid_t		 mine;
	int		 fd, pidfd, step;

	GUARD_REFUSED(20, kill(guarded, 0));
	GUARD_REFUSED(21, syscall(SYS_kill, (1L << 32) | guarded, 0));
	GUARD_REFUSED(22, kill(-getpgid(guarded), 0));
	GUARD_REFUSED(23, kill(-1, 0));
	GUARD_REFUSED(24, syscall(SYS_tgkill, guarded, guarded, 0));
	GUARD_REFUSED(25, syscall(SYS_tkill, guarded, 0));
	GUARD_REFUSED(26, prlimit(guarded, RLIMIT_CPU, &rl, NULL));
	GUARD_REFUSED(27, setpriority(PRIO_PROCESS, guarded, 1));
	GUARD_REFUSED(28, setpriority(PRIO_USER, getuid(), 1));
	GUARD_REFUSED(29, sched_setscheduler(guarded, SCHED_IDLE, &sp));
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	GUARD_REFUSED(30, sched_setaffinity(guarded, sizeof(cpus), &cpus));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 40;
	GUARD_REFUSED(31, fcntl(fd, F_SETOWN, guarded));
	GUARD_REFUSED(32, ioctl(fd, FIOSETOWN, &guarded));
	(void)close(fd);
	GUARD_REFUSED(33, syscall(SYS_pidfd_open, guarded, 0));
	if ((pidfd = open("/proc/self", O_DIRECTORY | O_RDONLY)) == -1)
		return 41;
	GUARD_REFUSED(34, syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0));
	(void)close(pidfd);
	GUARD_REFUSED(35, setpgid(0, getpgid(guarded)));
	/* a child of its own it would never wait for */
	errno = 0;
	if ((mine = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL,
	    NULL, 0)) == 0)
		_exit(0);
	if (mine != -1 || errno != EPERM)
		return 36;
	if ((mine = fork()) == -1)
		return 52;
	if (mine == 0) {
		pause();
		_exit(0);
	}
	if ((step = guard_others_attack(mine)) != 0) {
		(void)kill(mine, SIGKILL);
		(void)waitpid(mine, NULL, 0);
		return step;
	}
#undef GUARD_REFUSED
	/* what it may still do: read a limit, signal itself and its own,
	 * and renice, reschedule and limit itself (pid 0) */
	if (prlimit(guarded, RLIMIT_CPU, NULL, &old) == -1 ||
	    prlimit(mine, RLIMIT_CPU, NULL, &old) == -1)
		return 50;
	if (kill(getpid(), 0) == -1 || kill(0, 0) == -1)
		return 51;
	if (prlimit(0, RLIMIT_CPU, &old, NULL) == -1 ||
	    setpriority(PRIO_PROCESS, 0, 1) == -1 ||
	    sched_setaffinity(0, sizeof(cpus), &cpus) == -1 ||
	    syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 4) == -1)
		return 54;
	if (kill(mine, SIGKILL) == -1 || waitpid(mine, NULL, 0) != mine)
		return 53;
	return 0;
}

static int
kid_deny_guard(int rep, int go, void *arg)
{
	pid_t	 self = getpid(), pid;
	int	 st;

	if (install(rep, SANDBOX_FILTER_DENYLIST) == -1)
		return 2;
	if ((pid = fork()) == -1)
		return 10;
	if (pid == 0)
		_exit(guard_attack(self));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 11;
	return WEXITSTATUS(st);
}

Test(denylist, what_it_starts_cannot_signal_or_limit_it)
{
	struct kid	 k;

	kid_run(&k, kid_deny_guard, NULL);
	assert_exit0(&k);
}

/* ---- COLLECTOR */

#define COLLECTOR_DEATH(name, fn)					\
Test(collector, dies_##name)						\
{									\
	expect_death(SANDBOX_FILTER_COLLECTOR, fn, #name);		\
}

COLLECTOR_DEATH(execve, call_execve)
COLLECTOR_DEATH(fork, call_fork)
COLLECTOR_DEATH(vfork, call_vfork_raw)
COLLECTOR_DEATH(clone, call_clone_process)
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
/* finding 4: nothing that writes to the file system */
COLLECTOR_DEATH(open_write, call_open_write)
COLLECTOR_DEATH(open_rdwr, call_open_rdwr)
COLLECTOR_DEATH(open_creat_rdonly, call_open_creat_rdonly)
COLLECTOR_DEATH(open_trunc, call_open_trunc)
COLLECTOR_DEATH(open_append, call_open_append)
COLLECTOR_DEATH(openat_write, call_openat_write)
COLLECTOR_DEATH(openat_rdwr, call_openat_rdwr_existing)
COLLECTOR_DEATH(open_tmpfile, call_open_tmpfile)
COLLECTOR_DEATH(creat, call_creat)
COLLECTOR_DEATH(unlink, call_unlink)
COLLECTOR_DEATH(unlinkat, call_unlinkat)
COLLECTOR_DEATH(rename, call_rename)
COLLECTOR_DEATH(renameat, call_renameat)
COLLECTOR_DEATH(link, call_link)
COLLECTOR_DEATH(symlink, call_symlink)
COLLECTOR_DEATH(mkdir, call_mkdir)
COLLECTOR_DEATH(mknod, call_mknod)
COLLECTOR_DEATH(chmod, call_chmod)
COLLECTOR_DEATH(fchmod, call_fchmod)
COLLECTOR_DEATH(chown, call_chown)
COLLECTOR_DEATH(truncate, call_truncate)
COLLECTOR_DEATH(ftruncate, call_ftruncate)
COLLECTOR_DEATH(pwrite, call_pwrite)
/* no read at an address of another process's memory (/proc/<pid>/mem) */
COLLECTOR_DEATH(pread_high, call_pread_high)
COLLECTOR_DEATH(lseek_high, call_lseek_high)
COLLECTOR_DEATH(lseek_cur, call_lseek_cur)
COLLECTOR_DEATH(lseek_end, call_lseek_end)
COLLECTOR_DEATH(pread_go_heap, call_pread_go_heap)
COLLECTOR_DEATH(lseek_go_heap, call_lseek_go_heap)
COLLECTOR_DEATH(process_vm_writev, call_process_vm_writev)
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
	char			 dir[64];	/* a file "f" with "FS" in it */
	int			 pipefd;	/* write end of a pipe */
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
	    pread(fd, buf, 4, 1) != 4 || lseek(fd, 3, SEEK_SET) != 3 ||
	    lseek(fd, 0, SEEK_CUR) != 3 || close(fd) == -1)
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

	/* FS: a mount point looked at, never written; every read-only
	 * form of open passes */
	if ((fd = open(ck->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstatfs(fd, &sfs) == -1)
		return 20;
	if ((s = openat(fd, "f", O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1 || pread(s, buf, 2, 0) != 2 ||
	    memcmp(buf, "FS", 2) != 0)
		return 21;
	/* written through: EBADF, the descriptor is read-only */
	if (write(s, "x", 1) != -1 || errno != EBADF || close(s) == -1 ||
	    close(fd) == -1)
		return 22;
	snprintf(path, sizeof(path), "%s/f", ck->dir);
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1 || close(fd) == -1)
		return 23;
	/* write() itself is for descriptors it was given: edges, pipes */
	if (write(ck->pipefd, "edge", 4) != 4)
		return 24;

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

Test(collector, reads_looks_connects, .timeout = 30)
{
	struct sockaddr_in	 sin;
	struct collkid		 ck;
	struct kid		 k;
	socklen_t		 slen;
	char			 file[96], edge[8];
	int			 l, fd, pp[2];

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
	(void)snprintf(file, sizeof(file), "%s/f", ck.dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, "FS", 2), 2);
	(void)close(fd);
	cr_assert_eq(pipe2(pp, O_CLOEXEC), 0);
	ck.pipefd = pp[1];

	kid_run(&k, kid_collector_work, &ck);
	(void)close(l);
	(void)close(ck.udpfd);
	(void)close(pp[1]);
	memset(edge, 0, sizeof(edge));
	cr_assert_eq(read(pp[0], edge, sizeof(edge) - 1), 4);
	cr_assert_str_eq(edge, "edge");
	(void)close(pp[0]);
	(void)unlink(file);
	(void)rmdir(ck.dir);
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, "done\n"), "%s", k.out);
}

/*
 * Its /proc walks run in threads (collect_pids.h): a thread starts and
 * ends; clone3, whose flags seccomp cannot read, is ENOSYS, so glibc
 * uses clone, where a process (call_clone_process, fork) still dies.
 */
static int
kid_collector_thread(int rep, int go, void *arg)
{
	pthread_t	 t;
	int		 v = 0;

	if (install(rep, SANDBOX_FILTER_COLLECTOR) == -1)
		return 2;
	if ((errno = pthread_create(&t, NULL, thread_main, &v)) != 0 ||
	    (errno = pthread_join(t, NULL)) != 0 || v != 42)
		return 10;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 11;
	say(rep, "done");
	return 0;
}

Test(collector, threads_start_and_clone3_is_enosys)
{
	struct kid	 k;

	kid_run(&k, kid_collector_thread, NULL);
	assert_exit0(&k);
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

/*
 * A worker is exec'd afresh and has not read the time zone when its
 * filter goes on: its first log line it formats itself (to stderr, when
 * the master takes none or is gone) has gmtime_r() read /etc/localtime,
 * and seek back in it, an open the front's filter kills and an lseek the
 * collector's does.
 */
static int
kid_log_line(int rep, int go, void *arg)
{
	const enum sandbox_filter	*f = arg;
	char				 line[256];

	if (install(rep, *f) == -1)
		return 2;
	say(rep, "calling log_format_line");
	if (log_format_line(line, sizeof(line), LOG_LVL_WARN, "kid",
	    getpid(), "a line") == 0)
		return 10;
	return 0;
}

Test(seccomp, a_log_line_formatted_under_every_filter)
{
	enum sandbox_filter	 f;
	struct kid		 k;

	for (f = 0; f < SANDBOX_FILTER_MAX; f++) {
		kid_run(&k, kid_log_line, &f);
		cr_assert(WIFEXITED(k.status) && WEXITSTATUS(k.status) == 0,
		    "filter %d: kid %s %d; it said:\n%s", (int)f,
		    WIFEXITED(k.status) ? "exited with" : "killed by signal",
		    WIFEXITED(k.status) ? WEXITSTATUS(k.status) :
		    WTERMSIG(k.status), k.out);
	}
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
	/* root: the bounding set too is cut, to nothing */
	cr_assert_eq(p.set_caps, 1);
	cr_assert_eq(p.caps, 0);
}

Test(plan, other_roles)
{
	const enum role		 userroles[] = {
		ROLE_FETCHER, ROLE_SENDER, ROLE_GITPULL, ROLE_SCHEDULER
	};
	const enum sandbox_filter filters[] = {
		SANDBOX_FILTER_FETCHER, SANDBOX_FILTER_SENDER,
		SANDBOX_FILTER_DENYLIST, SANDBOX_FILTER_DENYLIST
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
		cr_assert_eq(p.filter, filters[i]);
		/* threads (DNS) and processes (git, plugins) */
		cr_assert_eq(p.nproc_zero, 0);
		cr_assert_eq(p.fsize_zero, 0);
		cr_assert_eq(p.set_caps, 1);
		cr_assert_eq(p.caps, 0);
	}
	cr_assert_eq(sandbox_plan(ROLE_COLLECTOR, &conf, &p, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.switch_user, 0);
	cr_assert_eq(p.uid, 0);
	cr_assert_str_eq(p.chroot, "");
	cr_assert_eq(p.filter, SANDBOX_FILTER_COLLECTOR);
	cr_assert_eq(p.set_caps, 1);
	cr_assert_eq(p.caps, (1ULL << CAP_DAC_READ_SEARCH) |
	    (1ULL << CAP_SYS_PTRACE));
	/* its /proc walks are threads; the filter kills fork */
	cr_assert_eq(p.nproc_zero, 0);
	cr_assert_eq(p.fsize_zero, 1);

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
	/* root plugins, as asked: root's capabilities are left alone */
	cr_assert_eq(p.set_caps, 0);
}

/* One row per worker, none for the master; the network workers have
 * allow-lists now, only the two that exec keep the deny-list. */
Test(plan, role_table)
{
	const struct sandbox_role	*r;
	enum role			 role;

	cr_assert_null(sandbox_role(ROLE_MASTER));
	for (role = ROLE_FIRST_WORKER; role < ROLE_MAX; role++) {
		cr_assert_not_null(r = sandbox_role(role), "%s",
		    proto_role_name(role));
		cr_assert_eq(r->role, role);
		cr_assert_eq(r->filter == SANDBOX_FILTER_DENYLIST,
		    role == ROLE_GITPULL || role == ROLE_SCHEDULER, "%s",
		    proto_role_name(role));
		cr_assert_eq(r->caps != 0, role == ROLE_COLLECTOR);
		cr_assert_eq(r->user_key == NULL, role == ROLE_COLLECTOR);
		cr_assert_eq(r->chroot, role == ROLE_FRONT);
	}
	cr_assert_str_eq(sandbox_role(ROLE_SCHEDULER)->user_key,
	    "pluginsuser");
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
	if (!p.unprivileged || p.switch_user || p.set_caps ||
	    p.filter != SANDBOX_FILTER_COLLECTOR || p.nproc_zero)
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
	assert_status(k.pid, "CapInh", "0000000000000000");
	assert_status(k.pid, "CapBnd", "0000000000000000");
	assert_status(k.pid, "CapAmb", "0000000000000000");
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
	int		 st, cap;

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
	/* nothing in the bounding set: no exec can bring one back */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != -1; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0) {
			say(rep, "capability %d in the bounding set", cap);
			return 16;
		}
	if (cap < CAP_SYS_ADMIN)
		return 17;
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
 * Started without root, a worker changes no uid, so the kernel leaves it
 * dumpable, and the plugins' user (its own) could write its memory
 * through /proc/<pid>/mem: sandbox_enter() makes it not dumpable itself.
 * The kid becomes nobody first (as root that is the only way to be a
 * non-root process here) and makes itself dumpable again.
 */
static int
kid_enter_unprivileged(int rep, int go, void *arg)
{
	struct agent_conf	 conf;
	struct sandbox_plan	 plan;
	char			 err[256];

	if (setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID) == -1 ||
	    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) == -1)
		return 2;
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		return 3;
	conf_zero(&conf);
	if (sandbox_plan(ROLE_SCHEDULER, &conf, &plan, err,
	    sizeof(err)) == -1) {
		say(rep, "plan: %s", err);
		return 4;
	}
	if (!plan.unprivileged)
		return 5;
	if (sandbox_enter(&plan, err, sizeof(err)) == -1) {
		say(rep, "enter: %s", err);
		return 6;
	}
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 10;
}

Test(enter, not_dumpable_without_a_uid_change)
{
	struct kid	 k;

	NEED_ROOT();
	kid_run(&k, kid_enter_unprivileged, NULL);
	assert_exit0(&k);
}

/*
 * Make CAP_DAC_OVERRIDE inheritable and ambient, as a launcher might: the
 * collector must end with neither (nor with it effective).
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
	/* a read-only descriptor cannot be written: EBADF, no death */
	if (write(fd, "x", 1) != -1 || errno != EBADF)
		return 12;
	(void)close(fd);
	say(rep, "ready");
	wait_go(go);
	/* what finding 4 did: a root-owned file, opened for writing */
	say(rep, "calling open_write");
	call_open_write(0);
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
	/* DAC_READ_SEARCH(2) | SYS_PTRACE(19), no DAC_OVERRIDE(1) */
	assert_status(k.pid, "CapEff", "0000000000080004");
	assert_status(k.pid, "CapPrm", "0000000000080004");
	assert_status(k.pid, "CapInh", "0000000000000000");
	assert_status(k.pid, "CapBnd", "0000000000080004");
	assert_status(k.pid, "CapAmb", "0000000000000000");
	assert_status(k.pid, "NoNewPrivs", "1");
	assert_status(k.pid, "Seccomp", "2");
	kid_finish(&k);
	assert_died_at(&k, SIGSYS, "open_write");
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
	/* root plugins keep what root has */
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1)
		return 11;
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
