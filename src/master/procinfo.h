/* What the master and the CLI read of other processes in /proc. */
#ifndef AGENT_PROCINFO_H
#define AGENT_PROCINFO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Parent, process group and command name (comm may be NULL) of a
 * process: 0, or -1 when it is gone or unreadable.
 *
 * From /proc/<pid>/status and getpgid(2), never /proc/<pid>/stat: a read
 * of stat (like exe and io) waits for a process caught in execve, and an
 * execve can be held for ever by anyone who serves a FUSE file the
 * process has open (its close-on-exec close waits on the server).  The
 * master reads this for its children, which include what plugins leave
 * behind, and the CLI for every process.
 */
int	 procinfo_ids(pid_t, pid_t *ppid, pid_t *pgid, char *comm,
	    size_t commlen);

/*
 * 1 when the process is dying already: a zombie, or SIGKILL pending
 * (from its own /proc/<pid>/status, as above); 0 when not; -1 when it is
 * gone or unreadable.
 */
int	 procinfo_dying(pid_t);

/*
 * The first `len` - 1 bytes of /proc/<pid>/<name> (status, cmdline) into
 * buf, NUL-ended: 0, or -1 when gone, unreadable or empty.
 */
int	 procinfo_read(pid_t, const char *name, char *buf, size_t len);

#endif
