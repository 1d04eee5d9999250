/* What the master and the CLI read of other processes in /proc. */
#ifndef AGENT_PROCINFO_H
#define AGENT_PROCINFO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Parent, process group and command name (comm may be NULL) of a
 * process, from /proc/<pid>/stat; 0, or -1 when it is gone or
 * unreadable.
 */
int	 procinfo_stat_ids(pid_t, pid_t *ppid, pid_t *pgid, char *comm,
	    size_t commlen);

#endif
