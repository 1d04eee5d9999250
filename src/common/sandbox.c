/*
 * Worker sandbox: the table of every role's policy, and the privilege
 * drop, capabilities, rlimits, no_new_privs and seccomp, in the order of
 * DESIGN.md section 2 "Sandbox order".  The seccomp filters themselves
 * are in sandbox_seccomp.c.
 *
 * Model: OpenSSH uidswap.c permanently_set_uid (setres[ug]id, then prove
 * the old ids cannot be regained).  See reference/privsep-anchors.md
 * section 4.
 *
 * Nothing here logs: every failure is reported through `err` and the
 * caller, which knows its role, logs it and exits.
 */
#include "sandbox.h"
#include "sandbox_int.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

/*
 * The collector keeps exactly these (DESIGN.md section 2, process table):
 * reading any file and directory, and other users' /proc/<pid>/exe, fd
 * and io.  Not CAP_DAC_OVERRIDE: it would let it write anywhere.
 */
#define KEEP_READ_CAPS	((1ULL << CAP_DAC_READ_SEARCH) |		\
			 (1ULL << CAP_SYS_PTRACE))

/* Capability numbers fit in two 32-bit words (_LINUX_CAPABILITY_U32S_3). */
#define CAP_MAX_PROBE	63

#define USER(key, field)	.user_key = key,				\
				.user_off = offsetof(struct agent_conf, field)

/*
 * Every worker's policy.  Rows in role order; sandbox_role() finds one.
 *  - front: serves HTTP on sockets it is given, chrooted to an empty
 *    directory; never forks or writes a file.
 *  - fetcher, sender: network clients with their own allow-lists; they
 *    start threads (DNS), so RLIMIT_NPROC stays; they write their files.
 *  - gitpull, scheduler: exec git and plugins, which inherit the filter,
 *    hence only a deny-list.
 *  - collector: stays root for reading, with the reading capabilities
 *    only; never forks, never writes a file.  It starts threads (its
 *    /proc walks, collect_pids.h), which RLIMIT_NPROC counts: left as
 *    it is (for uid 0 it is not enforced anyway, setrlimit(2)); the
 *    filter kills fork and any clone that is not a thread.
 * Every role's bounding set is cut to its caps (none but the collector's).
 */
static const struct sandbox_role roles[] = {
	{ .role = ROLE_FRONT, USER("user", user), .chroot = 1,
	    .nproc_zero = 1, .fsize_zero = 1,
	    .filter = SANDBOX_FILTER_FRONT },
	{ .role = ROLE_FETCHER, USER("user", user),
	    .filter = SANDBOX_FILTER_FETCHER },
	{ .role = ROLE_GITPULL, USER("user", user),
	    .filter = SANDBOX_FILTER_DENYLIST },
	{ .role = ROLE_SCHEDULER, USER("pluginsuser", pluginsuser),
	    .filter = SANDBOX_FILTER_DENYLIST },
	{ .role = ROLE_SENDER, USER("user", user),
	    .filter = SANDBOX_FILTER_SENDER },
	{ .role = ROLE_COLLECTOR, .caps = KEEP_READ_CAPS,
	    .fsize_zero = 1,
	    .filter = SANDBOX_FILTER_COLLECTOR },
};

static int	 sb_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 plan_user(struct sandbox_plan *, const char *, const char *,
		    char *, size_t);
static int	 plan_chroot(struct sandbox_plan *, const char *, char *,
		    size_t);
static int	 enter_user(const struct sandbox_plan *, char *, size_t);
static int	 caps_get(uint64_t *, uint64_t *, uint64_t *, char *, size_t);
static int	 enter_bounding(uint64_t, char *, size_t);
static int	 enter_caps(uint64_t, char *, size_t);
static int	 enter_rlimits(const struct sandbox_plan *, char *, size_t);

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
int
sandbox_failx(char *err, size_t errlen, const char *fmt, ...)
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
			return sandbox_failx(err, errlen,
			    "user \"%s\" does not exist ([agent] %s)", name,
			    key);
		return sb_fail(err, errlen, "getpwnam(%s)", name);
	}
	if (strlcpy(plan->user, pw->pw_name, sizeof(plan->user)) >=
	    sizeof(plan->user))
		return sandbox_failx(err, errlen,
		    "[agent] %s: user name \"%s\" "
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
		return sandbox_failx(err, errlen,
		    "[agent] chroot \"%s\": not an "
		    "absolute path", dir);
	if (stat(dir, &st) == -1)
		return sb_fail(err, errlen, "[agent] chroot \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return sandbox_failx(err, errlen,
		    "[agent] chroot \"%s\": not a "
		    "directory", dir);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return sandbox_failx(err, errlen,
		    "[agent] chroot \"%s\": must be "
		    "owned by root and not writable by group or others", dir);
	if (strlcpy(plan->chroot, dir, sizeof(plan->chroot)) >=
	    sizeof(plan->chroot))
		return sandbox_failx(err, errlen,
		    "[agent] chroot \"%s\": path too "
		    "long", dir);
	return 0;
}

const struct sandbox_role *
sandbox_role(enum role role)
{
	size_t	 i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return &roles[i];
	return NULL;
}

int
sandbox_plan(enum role role, const struct agent_conf *conf,
    struct sandbox_plan *plan, char *err, size_t errlen)
{
	const struct sandbox_role	*r;
	struct passwd			*pw;
	const char			*name;

	memset(plan, 0, sizeof(*plan));
	if ((r = sandbox_role(role)) == NULL)
		return sandbox_failx(err, errlen, "no sandbox for role %s",
		    proto_role_name(role));
	plan->role = role;
	plan->unprivileged = geteuid() != 0;
	plan->filter = r->filter;
	plan->nproc_zero = r->nproc_zero;
	plan->fsize_zero = r->fsize_zero;

	if (plan->unprivileged) {
		/* Nothing to switch to: keep who we are, only describe it.
		 * The configured users and chroot are not consulted, and
		 * without CAP_SETPCAP no capability set can be cut. */
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

	plan->set_caps = 1;
	plan->caps = r->caps;
	if (r->user_key == NULL) {
		(void)strlcpy(plan->user, "root", sizeof(plan->user));
		return 0;
	}
	name = (const char *)conf + r->user_off;
	if (plan_user(plan, name, r->user_key, err, errlen) == -1)
		return -1;
	if (plan->uid == 0) {
		/* Plugins as root only when the operator said so. */
		if (role == ROLE_SCHEDULER && !conf->allowrootplugins)
			return sandbox_failx(err, errlen, "[agent] pluginsuser "
			    "\"%s\" is root: refused unless allowrootplugins "
			    "= yes", name);
		/* A root front/fetcher/sender/gitpull keeps every
		 * capability: that is no privilege separation at all. */
		if (role != ROLE_SCHEDULER)
			return sandbox_failx(err, errlen,
			    "[agent] user \"%s\" is "
			    "root: the workers must run unprivileged", name);
		/* allowrootplugins: plugins run as root as the operator
		 * asked, with root's capabilities; cutting them would
		 * make it a root that cannot do what root does. */
		plan->set_caps = 0;
	}
	if (r->chroot && plan_chroot(plan, conf->chroot, err, errlen) == -1)
		return -1;
	return 0;
}

/* chroot while still root; chdir so no directory handle points outside
 * the jail. */
static int
enter_chroot(const struct sandbox_plan *plan, char *err, size_t errlen)
{
	if (chroot(plan->chroot) == -1)
		return sb_fail(err, errlen, "chroot(%s)", plan->chroot);
	if (chdir("/") == -1)
		return sb_fail(err, errlen, "chdir(/) in chroot %s",
		    plan->chroot);
	return 0;
}

/* The drop is not permanent: `what` `id` came back after call(to). */
static int
regained(char *err, size_t errlen, const char *what, unsigned long id,
    const char *call, unsigned long to)
{
	return sandbox_failx(err, errlen, "was able to regain %s %lu after "
	    "%s(%lu)", what, id, call, to);
}

/*
 * setgroups/setresgid/setresuid, then prove the old ids are gone
 * (OpenSSH permanently_set_uid).
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
			return regained(err, errlen, "gid", 0, "setresgid",
			    plan->gid);
		if (old_egid != plan->gid && setegid(old_egid) != -1)
			return regained(err, errlen, "egid", old_egid,
			    "setresgid", plan->gid);
		if (setuid(0) != -1)
			return regained(err, errlen, "uid", 0, "setresuid",
			    plan->uid);
		if (old_euid != plan->uid && seteuid(old_euid) != -1)
			return regained(err, errlen, "euid", old_euid,
			    "setresuid", plan->uid);
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
		return sandbox_failx(err, errlen, "ids after the switch are "
		    "uid %lu/%lu/%lu gid %lu/%lu/%lu, expected %lu/%lu",
		    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)plan->uid, (unsigned long)plan->gid);
	if ((n = getgroups(2, groups)) == -1)
		return sb_fail(err, errlen, "getgroups");
	if (n != 1 || groups[0] != plan->gid)
		return sandbox_failx(err, errlen,
		    "supplementary groups not reduced "
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
			return sandbox_failx(err, errlen,
			    "capabilities left after "
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
 * The bounding set: what no later exec can bring back, for the worker or
 * anything it starts.  Cut while still root (PR_CAPBSET_DROP needs
 * CAP_SETPCAP), before the user switch.  The kernel's last capability is
 * found by probing PR_CAPBSET_READ (EINVAL past the end), so no /proc
 * access is needed and a chroot does not matter.  bounding_get(): the
 * set as a mask, and how many capabilities the kernel has.
 */
static int
bounding_get(uint64_t *set, int *ncaps, char *err, size_t errlen)
{
	int	 cap, r;

	*set = 0;
	for (cap = 0; cap <= CAP_MAX_PROBE; cap++) {
		if ((r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1) {
			if (errno == EINVAL)
				break;
			return sb_fail(err, errlen, "prctl(PR_CAPBSET_READ, "
			    "%d)", cap);
		}
		if (r != 0)
			*set |= 1ULL << cap;
	}
	*ncaps = cap;
	return 0;
}

/* Every capability of the bounding set not in `keep` dropped. */
static int
enter_bounding(uint64_t keep, char *err, size_t errlen)
{
	uint64_t	 set;
	int		 cap, ncaps;

	if (bounding_get(&set, &ncaps, err, errlen) == -1)
		return -1;
	if (ncaps == 0)
		return sandbox_failx(err, errlen, "prctl(PR_CAPBSET_READ): no "
		    "capabilities found");
	for (cap = 0; cap < ncaps; cap++) {
		if ((keep & (1ULL << cap)) != 0 || (set & (1ULL << cap)) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return sb_fail(err, errlen, "prctl(PR_CAPBSET_DROP, "
			    "%d)", cap);
	}
	return 0;
}

/*
 * The other sets, after the user switch: effective and permitted become
 * the keep set (the collector's reading capabilities, nothing for the
 * others), inheritable and ambient empty, so nothing passes through an
 * exec.  The keep set is intersected with what we have, so a container
 * without CAP_SYS_PTRACE degrades (fewer PROC details) instead of
 * failing; nothing is ever gained.  Then everything is read back from
 * the kernel, the bounding set included.
 */
static int
enter_caps(uint64_t want, char *err, size_t errlen)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];
	uint64_t			 keep, eff, prm, inh, set;
	int				 cap, ncaps, r;

	if (caps_get(&eff, &prm, &inh, err, errlen) == -1)
		return -1;
	keep = want & prm;

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1)
		return sb_fail(err, errlen, "capset");

	/* Ambient capabilities would survive an exec: none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return sb_fail(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");

	/* Verify: what the kernel says, not what we asked for. */
	if (caps_get(&eff, &prm, &inh, err, errlen) == -1)
		return -1;
	if (eff != keep || prm != keep || inh != 0)
		return sandbox_failx(err, errlen, "capabilities after capset: "
		    "eff %#llx prm %#llx inh %#llx, expected %#llx, %#llx, 0",
		    (unsigned long long)eff, (unsigned long long)prm,
		    (unsigned long long)inh, (unsigned long long)keep,
		    (unsigned long long)keep);
	if (bounding_get(&set, &ncaps, err, errlen) == -1)
		return -1;
	for (cap = 0; cap < ncaps; cap++) {
		if ((set & (1ULL << cap)) != 0 && (want & (1ULL << cap)) == 0)
			return sandbox_failx(err, errlen, "capability %d still "
			    "in the bounding set", cap);
		if ((r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap,
		    0, 0)) == -1)
			return sb_fail(err, errlen, "prctl(PR_CAP_AMBIENT_IS_SET"
			    ", %d)", cap);
		if (r != 0)
			return sandbox_failx(err, errlen, "capability %d still "
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
int
sandbox_set_nnp(char *err, size_t errlen)
{
	int	 r;

	if ((r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) == -1)
		return sb_fail(err, errlen, "prctl(PR_GET_NO_NEW_PRIVS)");
	if (r == 1)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return sb_fail(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return sandbox_failx(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): "
		    "flag not set");
	return 0;
}

int
sandbox_enter(const struct sandbox_plan *plan, char *err, size_t errlen)
{
	/* Not root: no user switch, no chroot, no capability change. */
	if (!plan->unprivileged) {
		if (plan->chroot[0] != '\0' && enter_chroot(plan, err,
		    errlen) == -1)
			return -1;
		if (plan->set_caps && enter_bounding(plan->caps, err,
		    errlen) == -1)
			return -1;
		if (plan->switch_user && enter_user(plan, err, errlen) == -1)
			return -1;
		if (plan->set_caps && enter_caps(plan->caps, err,
		    errlen) == -1)
			return -1;
	}
	if (enter_rlimits(plan, err, errlen) == -1)
		return -1;
	/*
	 * Not dumpable, whatever the uid: a worker that changed its uid is
	 * not anyway, but one started without root runs as the plugins'
	 * user, who could otherwise write its memory through
	 * /proc/<pid>/mem or ptrace it.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return sb_fail(err, errlen, "prctl(PR_SET_DUMPABLE, 0)");
	if (sandbox_set_nnp(err, errlen) == -1)
		return -1;
	return sandbox_seccomp(plan->filter, err, errlen);
}
