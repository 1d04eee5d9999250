/*
 * One log line per WARN_LIMIT_EVERY seconds for something another party
 * can make happen at will (a worker to the master, a client to the
 * front), with how many times it happened since the last line: a line
 * each would rotate the log away.
 */
#ifndef AGENT_WARN_LIMIT_H
#define AGENT_WARN_LIMIT_H

#include <stdint.h>

#define WARN_LIMIT_EVERY	10.0

struct warn_limit {
	double		 last;		/* when the last line went out */
	uint64_t	 count;		/* since then, not logged */
	uint64_t	 total;
};

/*
 * Count one event at `now` (the loop's clock): non-zero when its line is
 * due, `n_since` then the events it stands for, this one included.
 */
int	 warn_limit_due(struct warn_limit *, double now, uint64_t *n_since);
/* The same, one line per `every` seconds. */
int	 warn_limit_due_every(struct warn_limit *, double now, double every,
	    uint64_t *n_since);

#endif
