/*
 * The gitpull worker: clones and updates plugin repositories by running git
 * for the scheduler (issue 4).
 * Until its job lands it runs the common worker runtime: it takes its
 * config, serves its control edge and its peer edges, and stops cleanly.
 */
#include "worker.h"

const struct worker_ops gitpull_ops = {
	.role = ROLE_GITPULL,
};
