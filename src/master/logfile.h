/*
 * The master's log files: logdir/agent.log, rotated by size into
 * agent.log.1 ... agent.log.N (N = logrotatenum; the oldest is dropped),
 * reopened on SIGUSR1 for an external logrotate.  Every process's lines end
 * up here: workers send theirs over the control edge.
 */
#ifndef AGENT_LOGFILE_H
#define AGENT_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

struct logfile {
	char		 dir[1024];
	char		 path[1100];
	int		 fd;
	uint64_t	 size;		/* bytes in the current file */
	uint64_t	 rotate_size;	/* rotate before exceeding this */
	unsigned	 rotate_num;	/* rotated files kept */
	int		 to_stderr;	/* also copy lines to stderr (-F) */
	/*
	 * > 0: the terminal on stderr, opened again non-blocking (relay.h),
	 * where the copy goes: a terminal that takes nothing (^S, a
	 * stalled ssh client) then costs the copy lines, which the file
	 * has, not the master's loop.  0: stderr itself, waited for.
	 */
	int		 err_nb;
	uint64_t	 err_skipped;	/* lines the terminal did not take */
	enum log_level	 min;
};

/*
 * Create the directory if needed and open the file, both under the rules
 * of pathsafe.h (agent.log never through a link, created with O_EXCL);
 * -1 with err.
 */
int	 logfile_open(struct logfile *, const char *dir, uint64_t rotate_size,
	    unsigned rotate_num, char *err, size_t errlen);
/* Apply new settings (reload); reopens when the directory changed. */
int	 logfile_configure(struct logfile *, const char *dir,
	    uint64_t rotate_size, unsigned rotate_num, char *err,
	    size_t errlen);
int	 logfile_reopen(struct logfile *, char *err, size_t errlen);
/* Write one record, rotating first when it would not fit. */
void	 logfile_write(struct logfile *, enum log_level, const char *role,
	    pid_t pid, const char *msg);
void	 logfile_close(struct logfile *);

#endif
