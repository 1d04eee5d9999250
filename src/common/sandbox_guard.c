/*
 * The deny-list's guard of its own process (sandbox_int.h).
 *
 * The scheduler and gitpull start plugins and git under their own filter
 * and, for the scheduler, as their own user (pluginsuser).  The kernel
 * lets a process signal, renice, reschedule or limit any other process
 * of its uid, so any plugin could kill the scheduler on every run (the
 * master restarts it, backing off, and the other plugins' runs are
 * lost), lower its CPU limit until SIGXCPU kills it, or put it in
 * SCHED_IDLE.  A uid of the scheduler's own would settle it, but needs an
 * account on every host; this needs none.
 *
 * The filter is built in the process it guards, after its last fork of
 * a worker, so it knows that process's pid and group: every call that
 * names them gets EPERM, what the kernel answers for another user's
 * process; so do setpgid into its group and clone with CLONE_PARENT (a
 * child of its own that it never waits for).  Calls whose target is a
 * whole user (setpriority PRIO_USER, ioprio_set IOPRIO_WHO_USER) or
 * everyone (kill -1), or sits in memory seccomp cannot read (F_SETOWN_EX,
 * FIOSETOWN, SIOCSPGRP), or may be a /proc directory or a peer's pidfd
 * (pidfd_send_signal) get EPERM whatever it is.  A pid is compared on its
 * low 32 bits, as the kernel reads it, so high bits set in the register
 * do not slip past.  Reading a limit (prlimit64 with no new value) stays
 * allowed.  ptrace-like access (process_vm_*, /proc/<pid>/mem,
 * move_pages) needs a dumpable target, and no worker is one
 * (sandbox_enter()).
 *
 * Nor may a process under this filter renice, reschedule, limit or move
 * any process but itself (pid 0, which is also how glibc's setrlimit,
 * nice and the shell's ulimit say it): a plugin could otherwise lower
 * another plugin's CPU limit until SIGXCPU killed it, or put it in
 * SCHED_IDLE until it timed out, which Landlock's signal scope (the
 * plugins' isolation) does not cover.  Naming itself by its pid gets
 * EPERM too, which a filter fixed before the fork cannot tell apart.
 *
 * Not covered: a process of the same uid that did not start under this
 * filter: another daemon run as the same user, and, when user and
 * pluginsuser are one user (the defaults: nobody), the other workers and
 * whatever git runs for gitpull (their pids are not known when this
 * filter is built, and change when they restart).  Hence the master's
 * warning for that setup.
 */
#include "sandbox.h"
#include "sandbox_int.h"

#include <sys/ioctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <unistd.h>

#include <linux/sockios.h>

#define GUARD_LOW32	0xffffffffULL
#define GUARD_DENY	SCMP_ACT_ERRNO(EPERM)

/* ioprio_set(2)'s "which": the kernel's, not in glibc's headers */
#define GUARD_IOPRIO_WHO_PROCESS	1
#define GUARD_IOPRIO_WHO_PGRP		2
#define GUARD_IOPRIO_WHO_USER		3

/* Argument `arg` equals `v` in its low 32 bits. */
static struct scmp_arg_cmp
guard_eq(unsigned int arg, uint32_t v)
{
	struct scmp_arg_cmp	 c;

	c.arg = arg;
	c.op = SCMP_CMP_MASKED_EQ;
	c.datum_a = GUARD_LOW32;
	c.datum_b = v;

	return c;
}

/* `name` with argument `arg` naming `v`: refused. */
static int
guard_naming(scmp_filter_ctx ctx, const char *name, unsigned int arg,
    uint32_t v, char *err, size_t errlen)
{
	struct scmp_arg_cmp	 c[1];

	c[0] = guard_eq(arg, v);
	return sandbox_rule_add(ctx, GUARD_DENY, name, 1, c, err, errlen);
}

/* `name` with its argument 0 equal to `which` and argument 1 to `who`. */
static int
guard_which_who(scmp_filter_ctx ctx, const char *name, uint32_t which,
    uint32_t who, char *err, size_t errlen)
{
	struct scmp_arg_cmp	 c[2];

	c[0] = guard_eq(0, which);
	c[1] = guard_eq(1, who);
	return sandbox_rule_add(ctx, GUARD_DENY, name, 2, c, err, errlen);
}

/* Argument `arg` is not 0 (all 64 bits: a value the kernel reads as 0
 * with high bits set is refused too, which costs nothing). */
static struct scmp_arg_cmp
guard_not_self(unsigned int arg)
{
	struct scmp_arg_cmp	 c;

	c.arg = arg;
	c.op = SCMP_CMP_NE;
	c.datum_a = 0;
	c.datum_b = 0;
	return c;
}

/* Renicing, rescheduling, limiting or moving another process. */
static int
guard_others(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const char *const by_pid[] = {
		"sched_setscheduler", "sched_setparam", "sched_setattr",
		"sched_setaffinity", "migrate_pages", NULL
	};
	struct scmp_arg_cmp	 c[2];
	const char *const	*n;

	c[0] = guard_not_self(0);
	for (n = by_pid; *n != NULL; n++)
		if (sandbox_rule_add(ctx, GUARD_DENY, *n, 1, c, err,
		    errlen) == -1)
			return -1;
	/* a new limit only: reading another's is harmless */
	c[1] = guard_not_self(2);
	if (sandbox_rule_add(ctx, GUARD_DENY, "prlimit64", 2, c, err,
	    errlen) == -1)
		return -1;
	c[1] = guard_not_self(1);
	c[0] = guard_eq(0, PRIO_PROCESS);
	if (sandbox_rule_add(ctx, GUARD_DENY, "setpriority", 2, c, err,
	    errlen) == -1)
		return -1;
	c[0] = guard_eq(0, PRIO_PGRP);
	if (sandbox_rule_add(ctx, GUARD_DENY, "setpriority", 2, c, err,
	    errlen) == -1)
		return -1;
	c[0] = guard_eq(0, GUARD_IOPRIO_WHO_PROCESS);
	if (sandbox_rule_add(ctx, GUARD_DENY, "ioprio_set", 2, c, err,
	    errlen) == -1)
		return -1;
	c[0] = guard_eq(0, GUARD_IOPRIO_WHO_PGRP);
	return sandbox_rule_add(ctx, GUARD_DENY, "ioprio_set", 2, c, err,
	    errlen);
}

int
sandbox_guard_self(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	/* calls whose argument 0 is one process */
	static const char *const by_pid[] = {
		"tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
		"pidfd_open", "sched_setscheduler", "sched_setparam",
		"sched_setattr", "sched_setaffinity", "migrate_pages", NULL
	};
	const uint32_t		 pid = (uint32_t)getpid();
	const uint32_t		 neg_pgrp = (uint32_t)-getpgrp();
	struct scmp_arg_cmp	 c[2];
	const char *const	*n;

	for (n = by_pid; *n != NULL; n++)
		if (guard_naming(ctx, *n, 0, pid, err, errlen) == -1)
			return -1;
	if (guard_others(ctx, err, errlen) == -1)
		return -1;
	if (guard_naming(ctx, "kill", 0, pid, err, errlen) == -1 ||
	    guard_naming(ctx, "kill", 0, neg_pgrp, err, errlen) == -1 ||
	    guard_naming(ctx, "kill", 0, (uint32_t)-1, err, errlen) == -1)
		return -1;
	/* a new limit only: reading one is harmless */
	c[0] = guard_eq(0, pid);
	c[1].arg = 2;
	c[1].op = SCMP_CMP_NE;
	c[1].datum_a = 0;
	c[1].datum_b = 0;
	if (sandbox_rule_add(ctx, GUARD_DENY, "prlimit64", 2, c, err,
	    errlen) == -1)
		return -1;
	if (guard_which_who(ctx, "setpriority", PRIO_PROCESS, pid, err,
	    errlen) == -1 ||
	    guard_which_who(ctx, "setpriority", PRIO_PGRP, -neg_pgrp, err,
	    errlen) == -1 ||
	    guard_naming(ctx, "setpriority", 0, PRIO_USER, err, errlen) == -1)
		return -1;
	if (guard_which_who(ctx, "ioprio_set", GUARD_IOPRIO_WHO_PROCESS, pid,
	    err, errlen) == -1 ||
	    guard_which_who(ctx, "ioprio_set", GUARD_IOPRIO_WHO_PGRP,
	    -neg_pgrp, err, errlen) == -1 ||
	    guard_naming(ctx, "ioprio_set", 0, GUARD_IOPRIO_WHO_USER, err,
	    errlen) == -1)
		return -1;
	/* SIGIO, SIGURG and lease or dnotify signals go to a descriptor's
	 * owner */
	c[0] = guard_eq(1, F_SETOWN);
	c[1] = guard_eq(2, pid);
	if (sandbox_rule_add(ctx, GUARD_DENY, "fcntl", 2, c, err,
	    errlen) == -1)
		return -1;
	c[1] = guard_eq(2, neg_pgrp);
	if (sandbox_rule_add(ctx, GUARD_DENY, "fcntl", 2, c, err,
	    errlen) == -1 ||
	    guard_naming(ctx, "fcntl", 1, F_SETOWN_EX, err, errlen) == -1 ||
	    guard_naming(ctx, "ioctl", 1, FIOSETOWN, err, errlen) == -1 ||
	    guard_naming(ctx, "ioctl", 1, SIOCSPGRP, err, errlen) == -1)
		return -1;
	/* into the guarded group, where kill(0) would reach it */
	if (guard_naming(ctx, "setpgid", 1, -neg_pgrp, err, errlen) == -1)
		return -1;
	/*
	 * A child made the guarded process's own (CLONE_PARENT) would be
	 * neither waited for (the scheduler waits for its runs' pids only)
	 * nor swept (the master sweeps its own children): its zombies
	 * would pile up, and one that left its group would live on.
	 */
	c[0].arg = 0;
	c[0].op = SCMP_CMP_MASKED_EQ;
	c[0].datum_a = CLONE_PARENT;
	c[0].datum_b = CLONE_PARENT;
	if (sandbox_rule_add(ctx, GUARD_DENY, "clone", 1, c, err,
	    errlen) == -1)
		return -1;
	return sandbox_rule_add(ctx, GUARD_DENY, "pidfd_send_signal", 0, NULL,
	    err, errlen);
}
