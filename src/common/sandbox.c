/*
 * Worker sandbox: privilege drop, capabilities, rlimits, no_new_privs and
 * seccomp, in the order of DESIGN.md section 2 "Sandbox order".
 *
 * Models: OpenSSH sandbox-seccomp-filter.c (allow-list, kill by default,
 * architecture first, never fail open) and uidswap.c permanently_set_uid
 * (setres[ug]id, then prove the old ids cannot be regained).  See
 * reference/privsep-anchors.md section 4.
 *
 * Nothing here logs: every failure is reported through `err` and the
 * caller, which knows its role, logs it and exits.
 */
#include "sandbox.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

/* The collector keeps exactly these (DESIGN.md section 2, process table). */
#define KEEP_READ_CAPS	((1ULL << CAP_DAC_OVERRIDE) |			\
			 (1ULL << CAP_DAC_READ_SEARCH) |		\
			 (1ULL << CAP_SYS_PTRACE))

/* Capability numbers fit in two 32-bit words (_LINUX_CAPABILITY_U32S_3). */
#define CAP_MAX_PROBE	63

static int	 sb_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 sb_failx(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 plan_user(struct sandbox_plan *, const char *, const char *,
		    char *, size_t);
static int	 plan_chroot(struct sandbox_plan *, const char *, char *,
		    size_t);
static int	 enter_user(const struct sandbox_plan *, char *, size_t);
static int	 caps_get(uint64_t *, uint64_t *, uint64_t *, char *, size_t);
static int	 enter_caps(char *, size_t);
static int	 enter_rlimits(const struct sandbox_plan *, char *, size_t);
static int	 set_nnp(char *, size_t);
static int	 rule_names(scmp_filter_ctx, uint32_t, const char *const *,
		    char *, size_t);
static int	 rule_add(scmp_filter_ctx, uint32_t, const char *,
		    unsigned int, const struct scmp_arg_cmp *, char *, size_t);
static int	 build_front(scmp_filter_ctx, char *, size_t);
static int	 build_denylist(scmp_filter_ctx, char *, size_t);
static int	 build_base(scmp_filter_ctx, char *, size_t);
static int	 build_collector(scmp_filter_ctx, char *, size_t);

/* Failure with errno text appended: "step: strerror". */
static int
sb_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char		 what[512];
	va_list		 ap;
	int		 saved = errno;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(void)snprintf(err, errlen, "%s: %s", what, strerror(saved));
	errno = saved;
	return -1;
}

/* Failure without errno. */
static int
sb_failx(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Resolve the account a role switches to.  Done here, before any chroot,
 * because /etc/passwd is out of reach afterwards.
 */
static int
plan_user(struct sandbox_plan *plan, const char *name, const char *key,
    char *err, size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		/* getpwnam(3): these errno values all mean "not found" */
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			return sb_failx(err, errlen,
			    "user \"%s\" does not exist ([agent] %s)", name,
			    key);
		return sb_fail(err, errlen, "getpwnam(%s)", name);
	}
	if (strlcpy(plan->user, pw->pw_name, sizeof(plan->user)) >=
	    sizeof(plan->user))
		return sb_failx(err, errlen, "[agent] %s: user name \"%s\" "
		    "too long", key, name);
	plan->uid = pw->pw_uid;
	plan->gid = pw->pw_gid;
	plan->switch_user = 1;
	return 0;
}

/*
 * The chroot must be a directory the sandboxed user cannot change, or
 * the jail could be prepared from outside (sshd checks the same of its
 * privsep directory).
 */
static int
plan_chroot(struct sandbox_plan *plan, const char *dir, char *err,
    size_t errlen)
{
	struct stat	 st;

	if (dir[0] == '\0')
		return 0;
	if (dir[0] != '/')
		return sb_failx(err, errlen, "[agent] chroot \"%s\": not an "
		    "absolute path", dir);
	if (stat(dir, &st) == -1)
		return sb_fail(err, errlen, "[agent] chroot \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return sb_failx(err, errlen, "[agent] chroot \"%s\": not a "
		    "directory", dir);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return sb_failx(err, errlen, "[agent] chroot \"%s\": must be "
		    "owned by root and not writable by group or others", dir);
	if (strlcpy(plan->chroot, dir, sizeof(plan->chroot)) >=
	    sizeof(plan->chroot))
		return sb_failx(err, errlen, "[agent] chroot \"%s\": path too "
		    "long", dir);
	return 0;
}

int
sandbox_plan(enum role role, const struct agent_conf *conf,
    struct sandbox_plan *plan, char *err, size_t errlen)
{
	struct passwd	*pw;
	const char	*name = NULL, *key = NULL;

	memset(plan, 0, sizeof(*plan));
	plan->role = role;
	plan->unprivileged = geteuid() != 0;

	switch (role) {
	case ROLE_FRONT:
		name = conf->user;
		key = "user";
		plan->filter = SANDBOX_FILTER_FRONT;
		/* The front never forks and never writes a file. */
		plan->nproc_zero = 1;
		plan->fsize_zero = 1;
		break;
	case ROLE_FETCHER:
	case ROLE_SENDER:
		/* Their allow-lists come with their jobs; deny-list until
		 * then. */
		name = conf->user;
		key = "user";
		plan->filter = SANDBOX_FILTER_DENYLIST;
		break;
	case ROLE_GITPULL:
		/* Execs git: the filter is inherited, so only a deny-list. */
		name = conf->user;
		key = "user";
		plan->filter = SANDBOX_FILTER_DENYLIST;
		break;
	case ROLE_SCHEDULER:
		/* Execs plugins: same reason as gitpull. */
		name = conf->pluginsuser;
		key = "pluginsuser";
		plan->filter = SANDBOX_FILTER_DENYLIST;
		break;
	case ROLE_COLLECTOR:
		/* Stays root, but only with the reading capabilities. */
		plan->filter = SANDBOX_FILTER_COLLECTOR;
		/* Not enforced for real uid 0 (setrlimit(2)); it matters
		 * for an unprivileged start, and the filter kills fork. */
		plan->nproc_zero = 1;
		plan->keep_read_caps = !plan->unprivileged;
		break;
	default:
		return sb_failx(err, errlen, "no sandbox for role %s",
		    role_name(role));
	}

	if (plan->unprivileged) {
		/* Nothing to switch to: keep who we are, only describe it.
		 * The configured users and chroot are not consulted. */
		plan->uid = geteuid();
		plan->gid = getegid();
		if ((pw = getpwuid(plan->uid)) != NULL)
			(void)strlcpy(plan->user, pw->pw_name,
			    sizeof(plan->user));
		else
			(void)snprintf(plan->user, sizeof(plan->user), "%lu",
			    (unsigned long)plan->uid);
		return 0;
	}

	if (name == NULL) {
		(void)strlcpy(plan->user, "root", sizeof(plan->user));
		return 0;
	}
	if (plan_user(plan, name, key, err, errlen) == -1)
		return -1;
	if (plan->uid == 0) {
		/* Plugins as root only when the operator said so. */
		if (role == ROLE_SCHEDULER && !conf->allowrootplugins)
			return sb_failx(err, errlen, "[agent] pluginsuser "
			    "\"%s\" is root: refused unless allowrootplugins "
			    "= yes", name);
		/* A root front/fetcher/sender/gitpull keeps every
		 * capability: that is no privilege separation at all. */
		if (role != ROLE_SCHEDULER)
			return sb_failx(err, errlen, "[agent] user \"%s\" is "
			    "root: the workers must run unprivileged", name);
	}
	if (role == ROLE_FRONT && plan_chroot(plan, conf->chroot, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * chroot, then setgroups/setresgid/setresuid, then prove the old ids
 * are gone (OpenSSH permanently_set_uid).
 */
static int
enter_user(const struct sandbox_plan *plan, char *err, size_t errlen)
{
	uint64_t	 eff, prm, inh;
	uid_t		 old_euid, ru, eu, su;
	gid_t		 old_egid, rg, eg, sg, groups[2];
	int		 n;

	old_euid = geteuid();
	old_egid = getegid();

	/* chroot while still root; chdir so no directory handle points
	 * outside the jail. */
	if (plan->chroot[0] != '\0') {
		if (chroot(plan->chroot) == -1)
			return sb_fail(err, errlen, "chroot(%s)",
			    plan->chroot);
		if (chdir("/") == -1)
			return sb_fail(err, errlen, "chdir(/) in chroot %s",
			    plan->chroot);
	}

	/* Groups first: after setresuid we could no longer change them. */
	if (setgroups(1, &plan->gid) == -1)
		return sb_fail(err, errlen, "setgroups(%lu)",
		    (unsigned long)plan->gid);
	if (setresgid(plan->gid, plan->gid, plan->gid) == -1)
		return sb_fail(err, errlen, "setresgid(%lu)",
		    (unsigned long)plan->gid);
	if (setresuid(plan->uid, plan->uid, plan->uid) == -1)
		return sb_fail(err, errlen, "setresuid(%lu)",
		    (unsigned long)plan->uid);

	/*
	 * The regain test: if any of these succeeds a saved id survived
	 * and the drop is not permanent.  A root target (allowrootplugins)
	 * has nothing to lose, so there is nothing to prove.
	 */
	if (plan->uid != 0) {
		if (plan->gid != 0 && setgid(0) != -1)
			return sb_failx(err, errlen, "was able to regain gid 0 "
			    "after setresgid(%lu)", (unsigned long)plan->gid);
		if (old_egid != plan->gid && setegid(old_egid) != -1)
			return sb_failx(err, errlen, "was able to regain egid "
			    "%lu after setresgid(%lu)",
			    (unsigned long)old_egid, (unsigned long)plan->gid);
		if (setuid(0) != -1)
			return sb_failx(err, errlen, "was able to regain uid 0 "
			    "after setresuid(%lu)", (unsigned long)plan->uid);
		if (old_euid != plan->uid && seteuid(old_euid) != -1)
			return sb_failx(err, errlen, "was able to regain euid "
			    "%lu after setresuid(%lu)",
			    (unsigned long)old_euid, (unsigned long)plan->uid);
	}

	/* Verify every id, saved ones included, and the group list. */
	if (getresuid(&ru, &eu, &su) == -1)
		return sb_fail(err, errlen, "getresuid");
	if (getresgid(&rg, &eg, &sg) == -1)
		return sb_fail(err, errlen, "getresgid");
	if (getuid() != plan->uid || geteuid() != plan->uid ||
	    ru != plan->uid || eu != plan->uid || su != plan->uid ||
	    getgid() != plan->gid || getegid() != plan->gid ||
	    rg != plan->gid || eg != plan->gid || sg != plan->gid)
		return sb_failx(err, errlen, "ids after the switch are "
		    "uid %lu/%lu/%lu gid %lu/%lu/%lu, expected %lu/%lu",
		    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)plan->uid, (unsigned long)plan->gid);
	if ((n = getgroups(2, groups)) == -1)
		return sb_fail(err, errlen, "getgroups");
	if (n != 1 || groups[0] != plan->gid)
		return sb_failx(err, errlen, "supplementary groups not reduced "
		    "to %lu", (unsigned long)plan->gid);
	/*
	 * Leaving root must have cleared every capability; PR_SET_KEEPCAPS
	 * or SECBIT_NO_SETUID_FIXUP inherited from whoever started us
	 * would keep them, and a permitted one can be made effective again.
	 */
	if (plan->uid != 0) {
		if (caps_get(&eff, &prm, &inh, err, errlen) == -1)
			return -1;
		if (eff != 0 || prm != 0)
			return sb_failx(err, errlen, "capabilities left after "
			    "setresuid(%lu): eff %#llx prm %#llx",
			    (unsigned long)plan->uid, (unsigned long long)eff,
			    (unsigned long long)prm);
	}
	return 0;
}

/* Effective, permitted and inheritable sets of this process. */
static int
caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh, char *err,
    size_t errlen)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return sb_fail(err, errlen, "capget");
	*eff = (uint64_t)data[0].effective |
	    ((uint64_t)data[1].effective << 32);
	*prm = (uint64_t)data[0].permitted |
	    ((uint64_t)data[1].permitted << 32);
	*inh = (uint64_t)data[0].inheritable |
	    ((uint64_t)data[1].inheritable << 32);
	return 0;
}

/*
 * Collector: stay root but cut capabilities to the reading ones.  The
 * keep set is intersected with what we have, so a container without
 * CAP_SYS_PTRACE degrades (fewer PROC details) instead of failing;
 * nothing is ever gained.
 */
static int
enter_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];
	uint64_t			 keep, eff, prm, inh;
	int				 cap, last, r;

	if (caps_get(&eff, &prm, &inh, err, errlen) == -1)
		return -1;
	keep = KEEP_READ_CAPS & prm;

	/*
	 * Bounding set.  The kernel's last capability is found by probing
	 * PR_CAPBSET_READ (EINVAL past the end), so no /proc access is
	 * needed and a chroot does not matter.
	 */
	last = -1;
	for (cap = 0; cap <= CAP_MAX_PROBE; cap++) {
		if ((r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1) {
			if (errno == EINVAL)
				break;
			return sb_fail(err, errlen, "prctl(PR_CAPBSET_READ, "
			    "%d)", cap);
		}
		last = cap;
		if ((keep & (1ULL << cap)) != 0 || r == 0)
			continue;
		/* Bounds what any later exec could get back. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return sb_fail(err, errlen, "prctl(PR_CAPBSET_DROP, "
			    "%d)", cap);
	}
	if (last < 0)
		return sb_failx(err, errlen, "prctl(PR_CAPBSET_READ): no "
		    "capabilities found");

	/* Effective, permitted and inheritable all become the keep set. */
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = data[0].inheritable =
	    (uint32_t)keep;
	data[1].effective = data[1].permitted = data[1].inheritable =
	    (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1)
		return sb_fail(err, errlen, "capset");

	/* Ambient capabilities would survive an exec: none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return sb_fail(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");

	/* Verify: what the kernel says, not what we asked for. */
	if (caps_get(&eff, &prm, &inh, err, errlen) == -1)
		return -1;
	if (eff != keep || prm != keep || inh != keep)
		return sb_failx(err, errlen, "capabilities after capset: "
		    "eff %#llx prm %#llx inh %#llx, expected %#llx",
		    (unsigned long long)eff, (unsigned long long)prm,
		    (unsigned long long)inh, (unsigned long long)keep);
	for (cap = 0; cap <= last; cap++) {
		if ((r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1)
			return sb_fail(err, errlen, "prctl(PR_CAPBSET_READ, "
			    "%d)", cap);
		if ((r != 0) != ((keep & (1ULL << cap)) != 0))
			return sb_failx(err, errlen, "capability %d %s in the "
			    "bounding set", cap, r ? "still" : "not");
		if ((r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap,
		    0, 0)) == -1)
			return sb_fail(err, errlen, "prctl(PR_CAP_AMBIENT_IS_SET"
			    ", %d)", cap);
		if (r != 0)
			return sb_failx(err, errlen, "capability %d still "
			    "ambient", cap);
	}
	return 0;
}

/*
 * Hard limits too: without CAP_SYS_RESOURCE they cannot be raised again.
 * Set after the user switch because RLIMIT_NPROC is not enforced for
 * root (setrlimit(2)).
 */
static int
enter_rlimits(const struct sandbox_plan *plan, char *err, size_t errlen)
{
	const struct rlimit	 zero = { 0, 0 };

	/* A core file of a worker could hold config, tokens or points. */
	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		return sb_fail(err, errlen, "setrlimit(RLIMIT_CORE, 0)");
	/* Counts every process of the real uid: only roles that never
	 * fork (privsep-anchors.md 4.3). */
	if (plan->nproc_zero && setrlimit(RLIMIT_NPROC, &zero) == -1)
		return sb_fail(err, errlen, "setrlimit(RLIMIT_NPROC, 0)");
	if (plan->fsize_zero && setrlimit(RLIMIT_FSIZE, &zero) == -1)
		return sb_fail(err, errlen, "setrlimit(RLIMIT_FSIZE, 0)");
	return 0;
}

/* No set-uid or file-capability gain through exec, ever; also what lets
 * an unprivileged process install a filter. */
static int
set_nnp(char *err, size_t errlen)
{
	int	 r;

	if ((r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) == -1)
		return sb_fail(err, errlen, "prctl(PR_GET_NO_NEW_PRIVS)");
	if (r == 1)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return sb_fail(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return sb_failx(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): "
		    "flag not set");
	return 0;
}

int
sandbox_enter(const struct sandbox_plan *plan, char *err, size_t errlen)
{
	/* Not root: no user switch, no chroot, no capability change. */
	if (!plan->unprivileged) {
		if (plan->switch_user && enter_user(plan, err, errlen) == -1)
			return -1;
		if (plan->keep_read_caps && enter_caps(err, errlen) == -1)
			return -1;
	}
	if (enter_rlimits(plan, err, errlen) == -1)
		return -1;
	if (set_nnp(err, errlen) == -1)
		return -1;
	return sandbox_seccomp(plan->filter, err, errlen);
}

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
		return sb_failx(err, errlen, "seccomp_rule_add(%s): %s", name,
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
		return sb_failx(err, errlen, "seccomp: unknown filter %d",
		    (int)filter);
	}
	/* Set here too, so the filter alone is never loaded without it. */
	if (set_nnp(err, errlen) == -1)
		return -1;
	if ((ctx = seccomp_init(def)) == NULL)
		return sb_failx(err, errlen, "seccomp_init: failed");
	/* A syscall from a foreign ABI (i386 int 0x80, x32) has other
	 * numbers: kill rather than misread it. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		(void)sb_failx(err, errlen, "seccomp_attr_set(ACT_BADARCH): "
		    "%s", strerror(-r));
		goto out;
	}
	/* Every thread, not just this one, or a thread is a way out. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		(void)sb_failx(err, errlen, "seccomp_attr_set(CTL_TSYNC): %s",
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
		(void)sb_failx(err, errlen, "seccomp_load: %s",
		    strerror(r < 0 ? -r : r));
		goto out;
	}
	rc = 0;
 out:
	seccomp_release(ctx);
	return rc;
}
