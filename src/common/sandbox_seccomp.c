/*
 * The seccomp filters of the workers, the last step of the sandbox
 * (sandbox.c has the steps before it).
 *
 * Model: OpenSSH sandbox-seccomp-filter.c (allow-list, kill by default,
 * architecture first, never fail open), which OpenSSH too keeps apart from
 * the privilege drop.  See reference/privsep-anchors.md section 4.
 *
 * Nothing here logs: every failure is reported through `err` and the
 * caller, which knows its role, logs it and exits.
 */
#include "sandbox.h"
#include "sandbox_int.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int	 rule_names(scmp_filter_ctx, uint32_t, const char *const *,
		    char *, size_t);
static int	 rule_add(scmp_filter_ctx, uint32_t, const char *,
		    unsigned int, const struct scmp_arg_cmp *, char *, size_t);
static int	 build_base(scmp_filter_ctx, char *, size_t);
static int	 build_front(scmp_filter_ctx, char *, size_t);
static int	 build_denylist(scmp_filter_ctx, char *, size_t);
static int	 build_collector(scmp_filter_ctx, char *, size_t);
static int	 build_fetcher(scmp_filter_ctx, char *, size_t);
static int	 build_sender(scmp_filter_ctx, char *, size_t);

/*
 * Open flags that ask for more than reading: write access, creating,
 * truncating, appending, an unnamed temporary file.  An open whose flags
 * hold none of them reads (O_ACCMODE == O_RDONLY).
 */
#define OPEN_WRITE_FLAGS	(O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | \
				 (O_TMPFILE & ~O_DIRECTORY))

/* Namespaces through clone: as large a hole as unshare. */
#define CLONE_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			 CLONE_NEWNET)

/*
 * Add one rule for a syscall given by name.  Names this architecture
 * does not have (negative: unknown or a libseccomp pseudo-syscall) are
 * skipped: nothing can call them here.
 */
static int
rule_add(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv, char *err,
    size_t errlen)
{
	int	 nr, r;

	if ((nr = seccomp_syscall_resolve_name(name)) < 0)
		return 0;
	if ((r = seccomp_rule_add_array(ctx, action, nr, argc, argv)) < 0)
		return sandbox_failx(err, errlen, "seccomp_rule_add(%s): %s",
		    name,
		    strerror(-r));
	return 0;
}

/* rule_add() for sandbox_guard.c, which keeps the deny-list's guard */
int
sandbox_rule_add(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv, char *err,
    size_t errlen)
{
	return rule_add(ctx, action, name, argc, argv, err, errlen);
}

static int
rule_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names,
    char *err, size_t errlen)
{
	for (; *names != NULL; names++)
		if (rule_add(ctx, action, *names, 0, NULL, err, errlen) == -1)
			return -1;
	return 0;
}

/*
 * FRONT: everything not listed kills the process.  The front is a libev
 * (epoll) loop serving HTTP on descriptors the master passed it; it must
 * never open, exec, create sockets or connect.  Deliberately absent:
 * open/openat/openat2/creat, execve/execveat, socket/socketpair/connect/
 * bind/listen, fork/vfork/clone/clone3, ptrace, kill, prctl, ioctl and
 * pread64 (neither libev nor glibc needs them here), eventfd2 (made
 * before the filter, with the loop and its watchers), timerfd_* (libev
 * uses one only for ev_periodic, which the front does not use).
 */
static const char *const front_allow[] = {
	/* descriptor I/O on sockets and pipes it was given */
	"read", "readv", "write", "writev",
	"pread64",		/* /proc/net/tcp, opened before (peeruid) */
	"recvmsg",		/* frames and SCM_RIGHTS from the master */
	"sendmsg",		/* frames to the peers */
	"recvfrom", "sendto",	/* what glibc recv()/send() are */
	"accept4", "accept",	/* on the listen sockets passed in */
	"close", "shutdown",
	"getsockopt", "setsockopt",	/* SO_ERROR, TCP_NODELAY, buffers */
	"getsockname", "getpeername",	/* client address for the log */
	/* the event loop */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	/*
	 * libev rebuilds its epoll set when the kernel reports an event for
	 * a stale registration, which happens when a descriptor number is
	 * reused while a dup of the old file lives on (listeners handed over
	 * again on reload).  A new epoll instance opens no path.
	 */
	"epoll_create1", "epoll_create",
	"poll", "ppoll", "select", "pselect6",	/* other libev backends */
	/* time: vDSO normally, these when the clock source has no vDSO */
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time",
	"getpid", "gettid",	/* libev signal code, log lines */
	"getuid", "geteuid", "getgid", "getegid",
	/* memory (mmap/mprotect: see build_front, no PROT_EXEC) */
	"brk", "munmap", "mremap",
	"madvise",		/* malloc trimming; advice cannot map code */
	"futex",		/* glibc locks (stdio, malloc) */
	/* signals: libev's ev_signal handler and its wakeup */
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"restart_syscall",	/* kernel restarts an interrupted sleep */
	"exit", "exit_group",
	"getrandom",		/* malloc tcache key, hash seeds */
	"fstat",		/* fd-only; the path form is newfstatat */
	"lseek",		/* stdio on a passed descriptor */
	"uname",		/* glibc and libev probe the kernel version */
	"sched_yield",		/* spin-then-yield in locks */
	NULL
};

/*
 * What the front and the collector share: memory without PROT_EXEC,
 * fstat of a descriptor, reading their own limits, fcntl for flags, and
 * tgkill of themselves.
 */
static int
build_base(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* mmap/mprotect: never executable memory, so an exploit cannot
	 * stage code (OpenSSH: protection restricted to READ|WRITE). */
	const struct scmp_arg_cmp noexec[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)
	};
	/* getrlimit() is prlimit64(0, res, NULL, old): read, own limits. */
	const struct scmp_arg_cmp rlim_read[] = {
		SCMP_A0(SCMP_CMP_EQ, 0),
		SCMP_A2(SCMP_CMP_EQ, 0)
	};
	/* fcntl: O_NONBLOCK and FD_CLOEXEC only; F_SETOWN/F_SETSIG could
	 * aim SIGIO at another process. */
	const int fcntl_cmds[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL };
	/* tgkill on our own thread group only: abort() and raise() (and
	 * so assert() and stack-protector failures) must end in SIGABRT,
	 * not SIGSYS; other processes stay out of reach. */
	const struct scmp_arg_cmp self[] = {
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid())
	};
	struct scmp_arg_cmp	 cmd[1];
	size_t			 i;

	if (rule_add(ctx, SCMP_ACT_ALLOW, "mmap", 1, noexec, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "mprotect", 1, noexec, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "prlimit64", 2, rlim_read, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, self, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++) {
		cmd[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntl_cmds[i]);
		if (rule_add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, cmd, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

static int
build_front(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* glibc fstat() is newfstatat(fd, "", AT_EMPTY_PATH); any other
	 * form looks up a path. */
	const struct scmp_arg_cmp emptypath[] = {
		SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH)
	};

	if (rule_names(ctx, SCMP_ACT_ALLOW, front_allow, err, errlen) == -1)
		return -1;
	if (build_base(ctx, err, errlen) == -1)
		return -1;
	return rule_add(ctx, SCMP_ACT_ALLOW, "newfstatat", 1, emptypath, err,
	    errlen);
}

/*
 * open and openat for reading only: the flags argument (seccomp sees the
 * registers, and flags is a plain int) has no bit of OPEN_WRITE_FLAGS.
 * Any other open kills.  openat2 (flags in memory seccomp cannot read)
 * and creat are never listed.
 */
static int
rules_open_readonly(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp open_ro[] = {
		SCMP_A1(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0)
	};
	const struct scmp_arg_cmp openat_ro[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0)
	};

	if (rule_add(ctx, SCMP_ACT_ALLOW, "open", 1, open_ro, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "openat", 1, openat_ro, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * socket() for the clients: IPv4 and IPv6, stream or datagram (type
 * masked: it carries SOCK_NONBLOCK and SOCK_CLOEXEC).  AF_UNIX, which
 * glibc's resolver tries on its own for nscd, gets EACCES and the lookup
 * goes on without it; so does AF_NETLINK (getaddrinfo's AI_ADDRCONFIG,
 * its address sorting) unless `netlink` allows NETLINK_ROUTE (the
 * fetcher's getifaddrs for the report's IP list).
 */
static int
rules_sockets(scmp_filter_ctx ctx, int netlink, char *err, size_t errlen)
{
	const int		 domains[] = { AF_INET, AF_INET6 };
	const int		 types[] = { SOCK_STREAM, SOCK_DGRAM };
	struct scmp_arg_cmp	 a[3];
	size_t			 i, j;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]);
			a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
			    (scmp_datum_t)types[j]);
			if (rule_add(ctx, SCMP_ACT_ALLOW, "socket", 2, a, err,
			    errlen) == -1)
				return -1;
		}
	}
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	if (rule_add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, a, err,
	    errlen) == -1)
		return -1;
	if (!netlink) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
		return rule_add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, a,
		    err, errlen);
	}
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	a[2] = SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE);
	for (j = 0; j < 2; j++) {
		a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
		    (scmp_datum_t)(j == 0 ? SOCK_RAW : SOCK_DGRAM));
		if (rule_add(ctx, SCMP_ACT_ALLOW, "socket", 3, a, err,
		    errlen) == -1)
			return -1;
	}
	/* any other netlink family (audit, kobject, ...): refused */
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	a[1] = SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE);
	return rule_add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 2, a, err,
	    errlen);
}

/*
 * An executable mapping gets EPERM rather than death: dlopen of an NSS
 * module (a resolver lookup) then fails and the lookup goes on without
 * that module.  build_base allows the rest of mmap/mprotect.
 */
static int
rules_exec_eperm(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp exec[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)
	};

	if (rule_add(ctx, SCMP_ACT_ERRNO(EPERM), "mmap", 1, exec, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ERRNO(EPERM), "mprotect", 1, exec, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * What the collector and the clients (the fetcher, the sender) share:
 * descriptors and files opened read-only or as their own filter says,
 * connect-only sockets, a libev loop, time, memory, signals.  Each adds
 * its own list.
 */
static const char *const connected_allow[] = {
	/* descriptors: sockets, pipes, the edges, and the files it opened
	 * (the collector's /proc, /sys, /var/log, mount points, core dumps:
	 * open and openat read-only, rules_open_readonly) */
	"close", "read", "readv",	/* pread64, lseek: each its own */
	"write", "writev",	/* the collector's: descriptors only */
	"fstat", "stat", "lstat", "newfstatat", "statx",
	"statfs", "fstatfs",
	/* the collector's PROC (/proc/<pid>/exe); glibc's resolver
	 * (/etc/hosts, resolv.conf, nsswitch.conf, gai.conf), libcurl's and
	 * OpenSSL's CA store: they look first */
	"readlink", "readlinkat",
	"access", "faccessat", "faccessat2",
	"getcwd",		/* realpath(3) of a relative path */
	/* sockets: connect-only clients (socket() itself: rules_sockets) */
	"connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto", "recvfrom", "sendmsg", "recvmsg",	/* also the edges */
	"sendmmsg", "recvmmsg",		/* glibc's resolver: A and AAAA */
	"shutdown",
	/* the event loop and waiting for a socket */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"epoll_create1", "epoll_create",
	"poll", "ppoll", "select", "pselect6",
	"eventfd2", "signalfd4", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time",
	"getpid", "gettid", "getppid",
	"getuid", "geteuid", "getgid", "getegid",
	/* memory (mmap/mprotect: build_base, no PROT_EXEC) */
	"brk", "munmap", "mremap", "madvise",
	"futex", "sched_yield",		/* locks */
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"restart_syscall",
	"exit", "exit_group",
	"getrandom",		/* OpenSSL, malloc, hash seeds */
	"uname",		/* gethostname, OpenSSL and glibc probes */
	"sysinfo",		/* glibc qsort sizes its buffer with it */
	NULL
};

/*
 * Threads, for the collector and the clients: a thread is a clone()
 * with CLONE_THREAD sharing the memory and the handlers, never a new
 * process nor a namespace; clone3 gets ENOSYS so glibc falls back to
 * clone, whose flags seccomp can read.  glibc's thread start registers
 * a robust list and rseq, and pthread_getattr_np reads the affinity.
 */
static const char *const threads_allow[] = {
	"set_robust_list", "rseq", "sched_getaffinity",
	NULL
};

static int
rules_threads(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp clone_thread[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_NS_FLAGS,
		    CLONE_THREAD | CLONE_VM | CLONE_SIGHAND)
	};

	if (rule_names(ctx, SCMP_ACT_ALLOW, threads_allow, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "clone", 1, clone_thread, err,
	    errlen) == -1)
		return -1;
	return rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen);
}

/*
 * COLLECTOR: everything not listed kills the process.  It reads /proc,
 * /sys and /var/log, looks at mounts with statfs, connects to local TCP
 * ports (PORT) and talks SNTP over UDP (TIME), never starting a
 * process.  Its walks over /proc/<pid> run in threads (collect_pids.h:
 * a process held in execve makes their reads wait), so it may start
 * threads (rules_threads), and nothing else.
 *
 * It runs as root (with CAP_DAC_READ_SEARCH), so it must not be able to
 * write any file: open and openat only for reading (rules_open_readonly)
 * and nothing that changes the file system by name.  write() stays: it
 * is what the edges to the master and the sender, the PORT and TIME
 * sockets and stderr take, and it works only on descriptors, and every
 * descriptor the collector can hold was either passed to it (stdio on
 * /dev/null, its edges) or opened read-only (a write to one fails with
 * EBADF).  pread64 and lseek only below 64 GiB (rules_collector_offsets).
 * Deliberately absent: execve/execveat, fork/vfork, a clone
 * that is not a thread, ptrace and process_vm_*, kill, bind/listen/accept,
 * mount and the rest of the deny-list, unlink/unlinkat, rename*, link*,
 * symlink*, mkdir*, mknod*, chmod, fchmod*, chown, fchown*, lchown,
 * truncate/ftruncate, pwrite64, fsync, utimes*, setxattr*, openat2,
 * creat, prctl.
 */
static const char *const collector_allow[] = {
	"getdents", "getdents64",	/* /proc, /sys, core dumps */
	NULL
};

/*
 * The collector's reads at an offset stay below 64 GiB, which no file it
 * reads reaches (pread64 of wtmp's records, and kernel_file() leaves out
 * a larger one; stdio's ftell and rewind are lseek to 0).
 * CAP_SYS_PTRACE, which its PROC checks need for other users'
 * /proc/<pid>/io, fd and exe, also lets it open any process's
 * /proc/<pid>/mem, where the offset is the address read: a read there
 * starts at 0, unmapped, and fails without moving on.  Above 2^36 lie a
 * PIE program's code, data and heap, its libraries, its stacks and its
 * other mappings (0x55..., 0x7f... on x86-64, 0xaaaa..., 0xffff... on
 * arm64), and a Go program's heap (0xc000000000 on x86-64, 0x4000000000
 * on arm64: below the 2^40 this was first, where a compromised collector
 * read a Go daemon's secrets): an ssh-agent's keys, say, stay out of a
 * compromised collector's reach.  Still within it: a program built
 * without PIE has its data and brk heap below 4 GiB, and a JVM may put
 * its heap below 32 GiB (compressed oops).  Any other offset kills
 * (the bound: SANDBOX_COLLECTOR_OFFSET_MAX, sandbox.h).
 */
static int
rules_collector_offsets(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp pread_low[] = {
		SCMP_A3(SCMP_CMP_LT, SANDBOX_COLLECTOR_OFFSET_MAX)
	};
	const struct scmp_arg_cmp seek_zero[] = {
		SCMP_A1(SCMP_CMP_EQ, 0)
	};
	const struct scmp_arg_cmp seek_set_low[] = {
		SCMP_A1(SCMP_CMP_LT, SANDBOX_COLLECTOR_OFFSET_MAX),
		SCMP_A2(SCMP_CMP_EQ, SEEK_SET)
	};

	if (rule_add(ctx, SCMP_ACT_ALLOW, "pread64", 1, pread_low, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "lseek", 1, seek_zero, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "lseek", 2, seek_set_low, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
build_collector(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	if (rule_names(ctx, SCMP_ACT_ALLOW, connected_allow, err,
	    errlen) == -1 ||
	    rule_names(ctx, SCMP_ACT_ALLOW, collector_allow, err,
	    errlen) == -1 ||
	    rules_collector_offsets(ctx, err, errlen) == -1 ||
	    build_base(ctx, err, errlen) == -1 ||
	    rules_open_readonly(ctx, err, errlen) == -1 ||
	    rules_sockets(ctx, 0, err, errlen) == -1 ||
	    rules_exec_eperm(ctx, err, errlen) == -1 ||
	    rules_threads(ctx, err, errlen) == -1)
		return -1;
	/* isatty() on a file stdio opened: not a terminal, never one */
	return rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), "ioctl", 0, NULL, err,
	    errlen);
}

/*
 * What the fetcher and the sender share: network clients on a libev
 * loop, with libcurl (HTTP; the fetcher's HTTPS) and glibc's resolver,
 * which both run lookups in threads (libcurl's threaded resolver, the
 * sender's sender_resolve.c; rules_threads).  Everything not listed kills: execve/execveat, fork/vfork, a clone
 * that is not a thread, ptrace and process_vm_*, kill of another
 * process, bind (but the fetcher's netlink), listen/accept, mount and
 * the rest of the deny-list, chmod/chown by name, link/symlink, prctl,
 * setrlimit, setuid and friends.
 */
static const char *const client_allow[] = {
	"pipe2", "pipe",	/* libcurl's wakeup when socketpair fails */
	"pread64", "lseek",	/* stdio, OpenSSL's files, anywhere */
	NULL
};

static int
build_client(scmp_filter_ctx ctx, int netlink, char *err, size_t errlen)
{
	/* the only ioctl asked for is FIONREAD; isatty() and the rest get
	 * ENOTTY */
	const struct scmp_arg_cmp fionread[] = {
		SCMP_A1(SCMP_CMP_EQ, FIONREAD)
	};
	const struct scmp_arg_cmp not_fionread[] = {
		SCMP_A1(SCMP_CMP_NE, FIONREAD)
	};
	/* socketpair: libcurl's wakeup pairs, never a socket with a name */
	const struct scmp_arg_cmp unixpair[] = {
		SCMP_A0(SCMP_CMP_EQ, AF_UNIX)
	};

	if (rule_names(ctx, SCMP_ACT_ALLOW, connected_allow, err,
	    errlen) == -1 ||
	    rule_names(ctx, SCMP_ACT_ALLOW, client_allow, err,
	    errlen) == -1 ||
	    build_base(ctx, err, errlen) == -1 ||
	    rules_sockets(ctx, netlink, err, errlen) == -1 ||
	    rules_exec_eperm(ctx, err, errlen) == -1 ||
	    rules_threads(ctx, err, errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "socketpair", 1, unixpair, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, fionread, err,
	    errlen) == -1)
		return -1;
	return rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), "ioctl", 1, not_fionread,
	    err, errlen);
}

/*
 * FETCHER: a client (build_client) that parses answers from the network,
 * so it writes only what its job needs: opens read-only (a file://
 * registry, its cache, the CA store and the resolver's files, which
 * libcurl, OpenSSL and glibc open on first use, after the sandbox) or
 * creating a new file (O_CREAT|O_EXCL, never truncating one that exists:
 * mkostemp of the atomic writes of pluginsdir/.registry.json, .hostname
 * and .ip), then fchmod, fsync and rename over the old one, unlink of
 * its own temporary file on failure; mkdir of pluginsdir where it is
 * missing (fetcher_identity.c), which like a new file changes nothing
 * that exists.  The directory's permissions decide where.  A netlink
 * route socket, bound, for getifaddrs (the report's IP list).
 */
static const char *const fetcher_allow[] = {
	"fsync", "fdatasync", "fchmod",
	"rename", "renameat", "renameat2", "unlink", "unlinkat",
	"mkdir", "mkdirat",
	"bind",			/* the netlink socket of getifaddrs */
	NULL
};

static int
build_fetcher(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp open_new[] = {
		SCMP_A1(SCMP_CMP_MASKED_EQ,
		    O_CREAT | O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY),
		    O_CREAT | O_EXCL)
	};
	const struct scmp_arg_cmp openat_new[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ,
		    O_CREAT | O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY),
		    O_CREAT | O_EXCL)
	};

	if (build_client(ctx, 1, err, errlen) == -1 ||
	    rule_names(ctx, SCMP_ACT_ALLOW, fetcher_allow, err,
	    errlen) == -1 ||
	    rules_open_readonly(ctx, err, errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "open", 1, open_new, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ALLOW, "openat", 1, openat_new, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * SENDER: a client (build_client) that also writes files: the file
 * output (`[output] path`, opened and reopened on SIGUSR1 here as long
 * as the master does not pass it) and the spool (`[output] spool`,
 * append-only segments created, appended, synced, truncated, renamed,
 * listed and removed in their own directory).  Opens with any flags: the
 * spool's and the output's directory permissions, not this filter,
 * confine where (the sender runs as `user`).  Nothing by name beyond
 * that: no chmod, chown, link, symlink, mknod.
 */
static const char *const sender_allow[] = {
	"open", "openat",
	"pwrite64", "pwritev", "preadv",
	"fsync", "fdatasync", "sync_file_range", "ftruncate", "fallocate",
	"fadvise64", "flock",
	"rename", "renameat", "renameat2", "unlink", "unlinkat",
	"mkdir", "mkdirat",
	"getdents", "getdents64",
	NULL
};

static int
build_sender(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* record locks for the spool, besides build_base's fcntl set */
	const int		 locks[] = { F_GETLK, F_SETLK, F_SETLKW,
	    F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW };
	struct scmp_arg_cmp	 cmd[1];
	size_t			 i;

	if (build_client(ctx, 0, err, errlen) == -1 ||
	    rule_names(ctx, SCMP_ACT_ALLOW, sender_allow, err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
		cmd[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)locks[i]);
		if (rule_add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, cmd, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * DENYLIST: everything allowed (git, shells and plugins inherit this
 * filter) except what reaches into the kernel, other processes, time,
 * namespaces or the mount table.
 */
static const char *const deny_kill[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot",
	"move_mount", "fsopen", "fsmount", "fspick", "open_tree",
	"mount_setattr",
	"ptrace", "process_vm_readv", "process_vm_writev",
	"pidfd_getfd",		/* like ptrace: steals another process's fd */
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "syslog",
	"quotactl", "quotactl_fd", "lookup_dcookie", "fanotify_init",
	"bpf", "perf_event_open", "userfaultfd",
	"open_by_handle_at",	/* bypasses path permissions */
	"name_to_handle_at",
	"setns", "unshare",	/* namespaces: large kernel surface */
	"keyctl", "add_key", "request_key",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"iopl", "ioperm",
	NULL
};

static int
build_denylist(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* Namespace creation through clone is the same hole as unshare;
	 * child.c's CLONE_VM | CLONE_VFORK passes. */
	const unsigned long	 nsflags[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
	};
	/* fcntl64: 32-bit ABIs; rule_add() skips what this one lacks */
	static const char *const fcntls[] = { "fcntl", "fcntl64" };
	struct scmp_arg_cmp	 flag[1], lease[1];
	size_t			 i;

	if (rule_names(ctx, SCMP_ACT_KILL_PROCESS, deny_kill, err,
	    errlen) == -1)
		return -1;
	/* what it starts, under this filter, leaves it alone */
	if (sandbox_guard_self(ctx, err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(nsflags) / sizeof(nsflags[0]); i++) {
		flag[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]);
		if (rule_add(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, flag, err,
		    errlen) == -1)
			return -1;
	}
	/*
	 * No leases.  A plugin's exec opens what the plugin chose (its #!
	 * interpreter, an ELF's PT_INTERP) while the scheduler waits for it
	 * (child.c: CLONE_VFORK), and an open of a leased file waits until
	 * the holder lets go or lease-break-time (45 s) passes: a plugin
	 * holding a lease on a file of its own (pluginsuser may lease what
	 * it owns) held the scheduler, every other run and the API's
	 * plugin calls with it, at every run that exec'd that file.  EPERM,
	 * what the kernel answers a process that does not own the file.
	 * Neither git nor a monitoring plugin has a use for leases (file
	 * servers do).
	 */
	for (i = 0; i < sizeof(fcntls) / sizeof(fcntls[0]); i++) {
		/* the kernel reads cmd's low 32 bits: so does this */
		lease[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL,
		    F_SETLEASE);
		if (rule_add(ctx, SCMP_ACT_ERRNO(EPERM), fcntls[i], 1, lease,
		    err, errlen) == -1)
			return -1;
	}
	/* clone3 takes its flags in memory seccomp cannot read: ENOSYS
	 * makes glibc (and others) fall back to clone, checked above. */
	if (rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen) == -1)
		return -1;
	/* io_uring operations are not seen by seccomp at all; ENOSYS
	 * looks like an old kernel and callers fall back. */
	if (rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "io_uring_setup", 0, NULL,
	    err, errlen) == -1)
		return -1;
	return 0;
}

/* Every filter: what the syscalls not listed get, and its rules. */
static const struct {
	uint32_t	 def;
	int		(*build)(scmp_filter_ctx, char *, size_t);
} filters[SANDBOX_FILTER_MAX] = {
	[SANDBOX_FILTER_FRONT] = { SCMP_ACT_KILL_PROCESS, build_front },
	[SANDBOX_FILTER_DENYLIST] = { SCMP_ACT_ALLOW, build_denylist },
	[SANDBOX_FILTER_COLLECTOR] = { SCMP_ACT_KILL_PROCESS,
	    build_collector },
	[SANDBOX_FILTER_FETCHER] = { SCMP_ACT_KILL_PROCESS, build_fetcher },
	[SANDBOX_FILTER_SENDER] = { SCMP_ACT_KILL_PROCESS, build_sender },
};

int
sandbox_seccomp(enum sandbox_filter filter, char *err, size_t errlen)
{
	scmp_filter_ctx	 ctx;
	int		 r, rc = -1;

	if ((unsigned)filter >= SANDBOX_FILTER_MAX ||
	    filters[filter].build == NULL)
		return sandbox_failx(err, errlen, "seccomp: unknown filter %d",
		    (int)filter);
	/* Set here too, so the filter alone is never loaded without it. */
	if (sandbox_set_nnp(err, errlen) == -1)
		return -1;
	/*
	 * The time zone, read now: a worker is exec'd afresh, and its first
	 * log line it formats itself (to stderr, when the master takes none
	 * or is gone) had gmtime_r() open /etc/localtime and seek back in
	 * it, an open the front's filter kills and an lseek the collector's
	 * does.  Read once, gmtime_r() does not read it again (glibc looks
	 * again only in localtime(), mktime(), tzset() and strftime()'s %Z,
	 * which neither the front nor the collector calls).  In the front's
	 * chroot it is not there: UTC, as the log writes anyway.
	 */
	tzset();
	if ((ctx = seccomp_init(filters[filter].def)) == NULL)
		return sandbox_failx(err, errlen, "seccomp_init: failed");
	/* A syscall from a foreign ABI (i386 int 0x80, x32) has other
	 * numbers: kill rather than misread it. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		(void)sandbox_failx(err, errlen,
		    "seccomp_attr_set(ACT_BADARCH): %s", strerror(-r));
		goto out;
	}
	/* Every thread, not just this one, or a thread is a way out. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		(void)sandbox_failx(err, errlen,
		    "seccomp_attr_set(CTL_TSYNC): %s", strerror(-r));
		goto out;
	}
	if (filters[filter].build(ctx, err, errlen) == -1)
		goto out;
	/* Never fail open (OpenSSH 7ab700f17): a load error is fatal. */
	if ((r = seccomp_load(ctx)) != 0) {
		(void)sandbox_failx(err, errlen, "seccomp_load: %s",
		    strerror(r < 0 ? -r : r));
		goto out;
	}
	rc = 0;
 out:
	seccomp_release(ctx);
	return rc;
}
