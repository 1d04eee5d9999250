/*
 * The collector worker: cpu, memory, disk, network and the PORT and PROC
 * checks, sent once per namespace (issue 5).
 * Until its job lands it runs the common worker runtime: it takes its
 * config, serves its control edge and its peer edges, and stops cleanly.
 */
#include "worker.h"

const struct worker_ops collector_ops = {
	.role = ROLE_COLLECTOR,
};
