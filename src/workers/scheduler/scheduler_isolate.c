/*
 * The Landlock ruleset each plugin run enters a domain of (see
 * scheduler_isolate.h).  No rule here restricts what a plugin may read
 * or write: a domain is what isolates, and the ruleset is only what the
 * kernel needs to make one.
 */
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scheduler_isolate.h"

/* ABI 6 (Linux 6.12); Debian's headers may predate it */
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL	(1ULL << 1)
#endif

/*
 * The kernel's attribute as of ABI 6.  An older kernel takes it whole:
 * it only requires the fields it does not know to be zero.
 */
struct isolate_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

const char *
scheduler_isolate_name(enum isolate_kind k)
{
	switch (k) {
	case ISOLATE_PTRACE:
		return "memory";
	case ISOLATE_SIGNALS:
		return "memory and signals";
	case ISOLATE_NONE:
		break;
	}
	return "nothing";
}

/*
 * Before ABI 6 a ruleset must handle some file access.  Making block
 * devices is one that no plugin (no capabilities, no new privileges)
 * could use anyway.  But a ruleset that handles any file access refuses
 * every rename or link into another directory (REFER) that no rule
 * allows, so one rule allows it beneath "/": renames and links work as
 * they did.
 */
static int
isolate_files_ruleset(char *why, size_t whylen)
{
	struct isolate_attr			 attr;
	struct landlock_path_beneath_attr	 rule;
	long					 fd;
	int					 root, e;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_REFER;
	if ((fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0)) == -1) {
		snprintf(why, whylen, "landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	if ((root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		e = errno;
		close((int)fd);
		snprintf(why, whylen, "open /: %s", strerror(e));
		return -1;
	}
	memset(&rule, 0, sizeof(rule));
	rule.allowed_access = LANDLOCK_ACCESS_FS_REFER;
	rule.parent_fd = root;
	if (syscall(SYS_landlock_add_rule, (int)fd, LANDLOCK_RULE_PATH_BENEATH,
	    &rule, 0) == -1) {
		e = errno;
		close(root);
		close((int)fd);
		snprintf(why, whylen, "landlock_add_rule: %s", strerror(e));
		return -1;
	}
	close(root);
	return (int)fd;
}

int
scheduler_isolate_ruleset(int max_abi, enum isolate_kind *kind, char *why,
    size_t whylen)
{
	struct isolate_attr	 attr;
	long			 abi, fd;

	*kind = ISOLATE_NONE;
	if (max_abi == ISOLATE_ABI_OFF) {
		snprintf(why, whylen, "not asked for");
		return -1;
	}
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi == -1) {
		/* ENOSYS: not built in; EOPNOTSUPP: not in the boot's lsm= */
		snprintf(why, whylen, "this kernel has no Landlock (%s)",
		    strerror(errno));
		return -1;
	}
	if (max_abi > 0 && abi > max_abi)
		abi = max_abi;
	if (abi < 2) {
		snprintf(why, whylen, "Landlock ABI 1 (Linux 5.13 to 5.18) "
		    "would refuse plugins every rename into another "
		    "directory");
		return -1;
	}
	if (abi < 6) {
		if ((fd = isolate_files_ruleset(why, whylen)) == -1)
			return -1;
		*kind = ISOLATE_PTRACE;
		return (int)fd;
	}
	memset(&attr, 0, sizeof(attr));
	attr.scoped = LANDLOCK_SCOPE_SIGNAL;
	if ((fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0)) == -1) {
		snprintf(why, whylen, "landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	*kind = ISOLATE_SIGNALS;
	return (int)fd;
}

int
scheduler_isolate_wanted(int isolateplugins, uid_t uid, const char **why)
{
	*why = NULL;
	if (!isolateplugins)
		*why = "isolateplugins = no";
	else if (uid == 0)
		*why = "plugins run as root";
	return *why == NULL ? 0 : ISOLATE_ABI_OFF;
}
