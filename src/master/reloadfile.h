#ifndef RELOADFILE_H
#define RELOADFILE_H

#include <stddef.h>

#define RELOADFILE_SUFFIX	".reload"

struct master;

/*
 * How the last reload ended, in `<pidfile>.reload` beside the pidfile:
 * one line, "<master pid>:<count> <outcome> <generation>: <detail>",
 * outcome "applied", "refused", "unapplied" or "unacknowledged".
 * `agent reload` waits for it to change after its SIGHUP, so that its
 * exit status (and `systemctl reload`'s, whose ExecReload= it is) says
 * what the master did, not only that it was asked.
 */
void	 reloadfile_write(struct master *, const char *outcome,
	    const char *detail);

/*
 * The line in `path` (what reloadfile_write wrote) into buf: 1; 0 when
 * there is none or it is not whole yet; the token before the first blank
 * tells one reload's from the next.  -1, why in buf, when the file is
 * not one the master made (the pidfile's rules, pathsafe.h).
 */
int	 reloadfile_read(const char *path, char *buf, size_t len);

#endif
