/*
 * A budget for the log lines of each worker role (master.c, MSG_LOG).
 *
 * Rotation caps the log's total size only: a worker sending lines as fast
 * as it can (a compromised one did 228k lines of 8000 bytes in 5 s)
 * rotated every earlier line away, warnings about it included.  So each
 * role has two token buckets, lines and bytes; a line either would
 * overdraw is dropped and counted, and the master says how many, at most
 * once per WARN_LIMIT_EVERY seconds.
 *
 * The budget: 100 lines and 64 KiB a second, bursts of 1000 lines and
 * 2 MiB.  The busiest legitimate logger is the scheduler when plugins
 * fail: one line per failed run, at most LOG_MSG_MAX (4 KiB) even with a
 * stderr tail, usually a few hundred bytes.  60 plugins failing every
 * 10 s is 6 lines and at most 24 KiB a second; 256 plugins failing at
 * once (a start, a bad push) a burst of 256 lines and 1 MiB.  A worker
 * at the budget fills a default log file of 100 MiB in 26 minutes, not
 * in a second, and cannot rotate the default five of them away in under
 * two hours.
 */
#ifndef AGENT_LOGRATE_H
#define AGENT_LOGRATE_H

#include <stddef.h>
#include <stdint.h>

#define LOGRATE_LINES		100.0		/* a second */
#define LOGRATE_LINES_BURST	1000.0
#define LOGRATE_BYTES		65536.0		/* a second */
#define LOGRATE_BYTES_BURST	2097152.0
/* what a line costs besides its text: time, level, role, pid */
#define LOGRATE_LINE_COST	64

struct lograte {
	int		 started;	/* the buckets were filled */
	double		 at;		/* when they were last topped up */
	double		 lines;		/* tokens left */
	double		 bytes;
	/* dropped since the last summary, from when */
	uint64_t	 dropped;
	uint64_t	 dropped_bytes;
	double		 dropped_since;
	double		 said_at;	/* the last summary */
	int		 said;		/* there was one */
	uint64_t	 total;		/* dropped ever */
};

/*
 * A line of `len` bytes at `now` (monotonic seconds): 1 when it may be
 * written, 0 when it is dropped (and counted).
 */
int	 lograte_take(struct lograte *, double now, size_t len);

/*
 * 1 when a summary of the dropped lines is due at `now`: `lines` and
 * `bytes` dropped over the last `secs` seconds, since the first of them
 * (0 for the first line dropped after a quiet spell, said at once).  At
 * most one per
 * WARN_LIMIT_EVERY seconds; called for every frame of the worker, so
 * lines dropped at the end of a flood are told at its next frame.
 */
int	 lograte_summary_due(struct lograte *, double now, uint64_t *lines,
	    uint64_t *bytes, double *secs);

#endif
