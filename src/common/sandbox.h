/*
 * Worker sandbox, DESIGN.md section 2 "Sandbox order":
 *   chroot (front only) -> capability bounding set cut to what the role
 *   keeps -> setgroups/setresgid/setresuid, then prove the old ids cannot
 *   be regained -> effective/permitted/inheritable/ambient sets cut
 *   (collector: the reading ones; the others: none) -> rlimits ->
 *   no_new_privs -> seccomp (libseccomp, architecture checked first).
 *
 * sandbox_plan() resolves users and paths while /etc is still reachable;
 * sandbox_enter() performs the steps.  Any failure returns -1 with the
 * step and the reason in `err` ("setresuid(65534): Operation not
 * permitted"); the worker treats it as fatal.
 *
 * Not root: no user switch, no chroot, no capability change; the rest
 * applies (plan->unprivileged is set so the caller can say so once).
 * Every role's policy is one row of one table (sandbox_role()).
 */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "proto.h"

enum sandbox_filter {
	SANDBOX_FILTER_FRONT,		/* strict allow-list: no open, exec,
					 * socket, connect */
	SANDBOX_FILTER_DENYLIST,	/* kills dangerous syscalls only; what
					 * it execs inherits it */
	SANDBOX_FILTER_COLLECTOR,	/* allow-list: read-only opens, TCP
					 * and UDP clients; no exec, fork,
					 * thread, write to files, ptrace */
	SANDBOX_FILTER_FETCHER,		/* allow-list: HTTP(S) client, DNS
					 * thread, read-only opens, its cache
					 * files; no exec, fork */
	SANDBOX_FILTER_SENDER,		/* allow-list: HTTP and TCP clients,
					 * DNS thread, file output and spool
					 * file operations; no exec, fork */
	SANDBOX_FILTER_MAX
};

/*
 * The collector's filter kills a pread64 or an lseek at this offset or
 * beyond (sandbox_seccomp.c, rules_collector_offsets): 64 GiB.  A file it
 * reads at an offset (wtmp, btmp) that is larger is left out instead.
 */
#define SANDBOX_COLLECTOR_OFFSET_MAX	(1ULL << 36)

/*
 * One role's whole policy: one row of the table in sandbox.c.  Who it
 * runs as, whether it is chrooted, the capabilities it keeps (the
 * effective, permitted and bounding sets; never inheritable or ambient),
 * its rlimits and its seccomp filter.
 */
struct sandbox_role {
	enum role		 role;
	const char		*user_key;	/* "user", "pluginsuser": the
						 * [agent] key naming the
						 * account; NULL: stays root */
	size_t			 user_off;	/* that key in agent_conf */
	int			 chroot;	/* to [agent] chroot */
	uint64_t		 caps;		/* 1 << CAP_*: kept as root */
	int			 nproc_zero;	/* never forks (RLIMIT_NPROC) */
	int			 fsize_zero;	/* never writes a file
						 * (RLIMIT_FSIZE) */
	enum sandbox_filter	 filter;
};

/* What sandbox_enter() does for one worker, resolved by sandbox_plan(). */
struct sandbox_plan {
	enum role		 role;
	int			 unprivileged;	/* not started as root */
	int			 switch_user;
	uid_t			 uid;
	gid_t			 gid;
	char			 user[64];
	char			 chroot[1024];	/* "" = no chroot */
	int			 set_caps;	/* root: cut the capability
						 * sets (bounding included)
						 * to `caps` */
	uint64_t		 caps;		/* kept (effective, permitted,
						 * bounding) */
	int			 nproc_zero;
	int			 fsize_zero;
	enum sandbox_filter	 filter;
};

/* The row of a worker role; NULL for the master and unknown roles. */
const struct sandbox_role *sandbox_role(enum role);
int	 sandbox_plan(enum role, const struct agent_conf *,
	    struct sandbox_plan *, char *err, size_t errlen);
int	 sandbox_enter(const struct sandbox_plan *, char *err, size_t errlen);

/* Load just the seccomp filter (used by tests of the filters alone). */
int	 sandbox_seccomp(enum sandbox_filter, char *err, size_t errlen);

#endif
