/*
 * The sender worker: batches points from the producers and publishes them to the
 * output, with a bounded buffer (issue 3).
 * Until its job lands it runs the common worker runtime: it takes its
 * config, serves its control edge and its peer edges, and stops cleanly.
 */
#include "worker.h"

const struct worker_ops sender_ops = {
	.role = ROLE_SENDER,
};
