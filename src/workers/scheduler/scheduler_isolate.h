/*
 * Every plugin run in a Landlock domain of its own, so that one plugin
 * cannot reach into another: every plugin runs as pluginsuser, and the
 * kernel lets a process read and write the memory (/proc/<pid>/mem) of
 * any dumpable process of its uid, and signal it.  A plugin could so
 * write points in another's name, read what it holds, or kill it on
 * every run; and where user and pluginsuser are one user (the default),
 * do the same to the git that gitpull runs for a clone.  A process in a
 * Landlock domain has ptrace access (ptrace itself, which the plugins'
 * seccomp filter refuses anyway, /proc/<pid>/mem) only to processes in
 * its own domain or in domains nested in it: sibling domains, one a
 * run, are strangers to each other and to everything outside.  With
 * Landlock ABI 6 (Linux 6.12) the domain also scopes signals the same
 * way.  What needs PTRACE_MODE_READ (environ, cwd,
 * exe, io) is refused too; stat, cmdline and the list of the fd
 * directory are not (as on Linux 6.18).
 *
 * The ruleset is made once; the child of each run enters a new domain
 * of it (child.h, landlock_fd), so a run costs the scheduler nothing.
 */
#ifndef AGENT_SCHEDULER_ISOLATE_H
#define AGENT_SCHEDULER_ISOLATE_H

#include <stddef.h>
#include <sys/types.h>

enum isolate_kind {
	ISOLATE_NONE = 0,	/* no Landlock here: runs are not isolated */
	ISOLATE_PTRACE,		/* ABI 2-5: memory, environment, fds */
	ISOLATE_SIGNALS		/* ABI 6 on: those, and signals */
};

/* max_abi: no isolation at all */
#define ISOLATE_ABI_OFF	(-1)

/*
 * The ruleset for the runs, close-on-exec: its descriptor, or -1 with
 * `why` when this kernel cannot isolate them or max_abi is
 * ISOLATE_ABI_OFF (*kind ISOLATE_NONE).  max_abi caps the Landlock ABI
 * used (0: whatever the kernel has), so that the older kernels' ruleset
 * can be tested on a newer one.
 */
int		 scheduler_isolate_ruleset(int max_abi, enum isolate_kind *kind,
		    char *why, size_t whylen);

const char	*scheduler_isolate_name(enum isolate_kind);

/*
 * What [agent] isolateplugins and the plugins' uid ask for: 0 (the
 * kernel's ABI) or ISOLATE_ABI_OFF, and why off.  Plugins run as root
 * are not isolated: a domain could not keep root from anything that
 * matters, and would keep a root plugin from what it is for (`kill -0`
 * of a daemon's pid, its /proc/<pid>/io or exe).
 */
int		 scheduler_isolate_wanted(int isolateplugins, uid_t uid,
		    const char **why);

#endif
