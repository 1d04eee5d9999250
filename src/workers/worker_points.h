/*
 * Publishing encoded points to the sender, as the scheduler and the
 * collector do: MSG_POINTS on the topic [output] topic gives for the
 * namespace, cut to a size the edge takes.
 */
#ifndef AGENT_WORKER_POINTS_H
#define AGENT_WORKER_POINTS_H

#include <stddef.h>

#include "encode.h"
#include "points_msg.h"
#include "workers/worker.h"

/* Sends one message instead of worker_send_points() (a test's seam). */
typedef int	(*worker_points_send_fn)(void *arg,
		    const struct points_msg *);

/*
 * `len` bytes of '\n'-separated points encoded in `fmt`, for namespace
 * `ns`, to the sender in MSG_POINTS of at most `max` bytes each (see
 * points_chunks()), through `send` when not NULL.  0 with *sent = the
 * points that went; -1 with why when the topic cannot be made of the
 * namespace (nothing went).
 */
int	 worker_points_publish(struct worker *, const char *ns,
	    enum out_format fmt, const char *pts, size_t len, size_t max,
	    worker_points_send_fn send, void *arg, size_t *sent, char *why,
	    size_t whylen);

#endif
