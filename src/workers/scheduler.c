/*
 * The scheduler worker: runs plugins as pluginsuser on their intervals
 * and answers the front's plugin requests (issue 4).
 * Until its job lands it runs the common worker runtime: it takes its
 * config, serves its control edge and its peer edges, and stops cleanly.
 */
#include "worker.h"

const struct worker_ops scheduler_ops = {
	.role = ROLE_SCHEDULER,
};
