/*
 * Worker sandbox, DESIGN.md section 2 "Sandbox order":
 *   chroot (front only) -> setgroups/setresgid/setresuid, then prove the
 *   old ids cannot be regained -> capabilities (collector) -> rlimits ->
 *   no_new_privs -> seccomp (libseccomp, architecture checked first).
 *
 * sandbox_plan() resolves users and paths while /etc is still reachable;
 * sandbox_enter() performs the steps.  Any failure returns -1 with the
 * step and the reason in `err` ("setresuid(65534): Operation not
 * permitted"); the worker treats it as fatal.
 *
 * Not root: no user switch, no chroot, no capability change; the rest
 * applies (plan->unprivileged is set so the caller can say so once).
 */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "proto.h"

enum sandbox_filter {
	SANDBOX_FILTER_FRONT,		/* strict allow-list */
	SANDBOX_FILTER_DENYLIST,	/* kills dangerous syscalls only */
	SANDBOX_FILTER_COLLECTOR	/* strict allow-list: reads, the FS
					 * probe, TCP/UDP clients; no exec,
					 * fork, thread or ptrace */
};

struct sandbox_plan {
	enum role		 role;
	int			 unprivileged;	/* not started as root */
	int			 switch_user;
	uid_t			 uid;
	gid_t			 gid;
	char			 user[64];
	char			 chroot[1024];	/* "" = no chroot */
	int			 keep_read_caps;/* collector: root, reading
						 * capabilities only */
	int			 nproc_zero;	/* role never forks */
	int			 fsize_zero;	/* role never writes files */
	enum sandbox_filter	 filter;
};

int	 sandbox_plan(enum role, const struct agent_conf *,
	    struct sandbox_plan *, char *err, size_t errlen);
int	 sandbox_enter(const struct sandbox_plan *, char *err, size_t errlen);

/* Load just the seccomp filter (used by tests of the filters alone). */
int	 sandbox_seccomp(enum sandbox_filter, char *err, size_t errlen);

#endif
