/*
 * The fetcher worker: asks the registry which namespaces this host is in
 * and what to collect, keeps the last good answer, and tells the scheduler
 * and the collector (issue 4).
 * Until its job lands it runs the common worker runtime: it takes its
 * config, serves its control edge and its peer edges, and stops cleanly.
 */
#include "worker.h"

const struct worker_ops fetcher_ops = {
	.role = ROLE_FETCHER,
};
