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
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static int	 rule_names(scmp_filter_ctx, uint32_t, const char *const *,
		    char *, size_t);
static int	 rule_add(scmp_filter_ctx, uint32_t, const char *,
		    unsigned int, const struct scmp_arg_cmp *, char *, size_t);
static int	 build_front(scmp_filter_ctx, char *, size_t);
static int	 build_denylist(scmp_filter_ctx, char *, size_t);
static int	 build_base(scmp_filter_ctx, char *, size_t);
static int	 build_collector(scmp_filter_ctx, char *, size_t);

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
 * COLLECTOR: everything not listed kills the process.  It reads /proc,
 * /sys and /var/log, writes the FS probe file at each mount point,
 * connects to local TCP ports (PORT) and talks SNTP over UDP (TIME), in
 * one thread, never starting a process.  Deliberately absent: execve/
 * execveat, fork/vfork/clone/clone3 (threads included), ptrace and
 * process_vm_*, kill, bind/listen/accept, mount and the rest of the
 * deny-list, chmod/chown, rename, mkdir, link/symlink, openat2, prctl.
 */
static const char *const collector_allow[] = {
	/* files: /proc, /sys, /var/log, the FS probe, core dumps */
	"open", "openat", "close", "read", "readv", "pread64", "lseek",
	"write", "writev", "pwrite64",
	"fstat", "stat", "lstat", "newfstatat", "statx",
	"statfs", "fstatfs",
	"getdents", "getdents64",
	"readlink", "readlinkat",		/* PROC: /proc/<pid>/exe */
	"access", "faccessat", "faccessat2",
	"unlink", "unlinkat",			/* FS probe */
	"fsync", "fdatasync", "ftruncate",	/* FS probe */
	"umask",
	"getcwd",		/* realpath(3) of a relative path */
	/* sockets: connect-only clients (socket() itself below) */
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
	"futex",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"restart_syscall",
	"exit", "exit_group",
	"getrandom",
	"uname",		/* gethostname, glibc's kernel checks */
	"sysinfo",		/* glibc qsort sizes its buffer with it */
	"sched_yield",
	NULL
};

static int
build_collector(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* socket(): IPv4 and IPv6, stream or datagram (type masked: it
	 * carries SOCK_NONBLOCK and SOCK_CLOEXEC) */
	const int domains[] = { AF_INET, AF_INET6 };
	const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	/*
	 * Asked for by glibc on its own, and fine to refuse: the resolver
	 * tries nscd (AF_UNIX) and getaddrinfo(AI_ADDRCONFIG) asks the
	 * kernel for addresses (AF_NETLINK); both fall back on an error.
	 */
	const int refused[] = { AF_UNIX, AF_NETLINK };
	/* dlopen of an NSS module needs executable mappings: EPERM, so
	 * the lookup goes on without that module instead of a dead
	 * collector; build_base allows the rest of mmap/mprotect */
	const struct scmp_arg_cmp exec[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)
	};
	struct scmp_arg_cmp	 a[2];
	size_t			 i, j;

	if (rule_names(ctx, SCMP_ACT_ALLOW, collector_allow, err,
	    errlen) == -1)
		return -1;
	if (build_base(ctx, err, errlen) == -1)
		return -1;
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
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)refused[i]);
		if (rule_add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, a, err,
		    errlen) == -1)
			return -1;
	}
	if (rule_add(ctx, SCMP_ACT_ERRNO(EPERM), "mmap", 1, exec, err,
	    errlen) == -1 ||
	    rule_add(ctx, SCMP_ACT_ERRNO(EPERM), "mprotect", 1, exec, err,
	    errlen) == -1)
		return -1;
	/* isatty() on a file stdio opened: not a terminal, never one */
	return rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), "ioctl", 0, NULL, err,
	    errlen);
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
	/* Namespace creation through clone is the same hole as unshare. */
	const unsigned long nsflags[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
	};
	struct scmp_arg_cmp	 flag[1];
	size_t			 i;

	if (rule_names(ctx, SCMP_ACT_KILL_PROCESS, deny_kill, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(nsflags) / sizeof(nsflags[0]); i++) {
		flag[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]);
		if (rule_add(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, flag, err,
		    errlen) == -1)
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

int
sandbox_seccomp(enum sandbox_filter filter, char *err, size_t errlen)
{
	scmp_filter_ctx	 ctx;
	uint32_t	 def;
	int		 r, rc = -1;

	switch (filter) {
	case SANDBOX_FILTER_FRONT:
	case SANDBOX_FILTER_COLLECTOR:
		def = SCMP_ACT_KILL_PROCESS;
		break;
	case SANDBOX_FILTER_DENYLIST:
		def = SCMP_ACT_ALLOW;
		break;
	default:
		return sandbox_failx(err, errlen, "seccomp: unknown filter %d",
		    (int)filter);
	}
	/* Set here too, so the filter alone is never loaded without it. */
	if (sandbox_set_nnp(err, errlen) == -1)
		return -1;
	if ((ctx = seccomp_init(def)) == NULL)
		return sandbox_failx(err, errlen, "seccomp_init: failed");
	/* A syscall from a foreign ABI (i386 int 0x80, x32) has other
	 * numbers: kill rather than misread it. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		(void)sandbox_failx(err, errlen,
		    "seccomp_attr_set(ACT_BADARCH): "
		    "%s", strerror(-r));
		goto out;
	}
	/* Every thread, not just this one, or a thread is a way out. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		(void)sandbox_failx(err, errlen,
		    "seccomp_attr_set(CTL_TSYNC): %s",
		    strerror(-r));
		goto out;
	}
	switch (filter) {
	case SANDBOX_FILTER_FRONT:
		r = build_front(ctx, err, errlen);
		break;
	case SANDBOX_FILTER_DENYLIST:
		r = build_denylist(ctx, err, errlen);
		break;
	case SANDBOX_FILTER_COLLECTOR:
		r = build_collector(ctx, err, errlen);
		break;
	}
	if (r == -1)
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
