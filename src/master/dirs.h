/*
 * The paths of the config the master writes in, under the rules of
 * pathsafe.h: checked all at once before anything is touched (start exits
 * 2, a reload is refused and the running config kept), and the directories
 * the master makes for the workers, one row each in dirs.c.
 */
#ifndef AGENT_DIRS_H
#define AGENT_DIRS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/*
 * The log directory and agent.log, the pidfile and its directory, the
 * directory of the unix socket, the file output and its directory, the
 * chroot, the parent of every worker directory and what is there already,
 * and that no worker directory is or holds one of the master's:
 * 0, or -1 with err naming the key, the path, its owner and its mode.
 * Nothing is created or changed.  `me`: see pathsafe.h.
 */
int	 dirs_check(const struct agent_conf *, uid_t me, char *err,
	    size_t errlen);

/*
 * Make the worker directories (and the missing directories above them),
 * through descriptors, owned by their users when we are root.  -1 with
 * err.
 */
int	 dirs_prepare(const struct agent_conf *, uid_t me, char *err,
	    size_t errlen);

#endif
