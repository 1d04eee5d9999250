/*
 * Points a producer (the scheduler, the collector) handed the sender, kept
 * until the sender says it took them (MSG_POINTS_ACK with the request's
 * id): a sender that dies with them in its socket, or in ours, would take
 * them along unseen.  Sent again, in order, to the next sender once it
 * says HELLO; kept while no sender is up, INFLIGHT_MAX_BYTES at most, the
 * oldest given up first, counted.  The front does not use this: its
 * client, told 503, sends again.
 */
#ifndef AGENT_WORKER_INFLIGHT_H
#define AGENT_WORKER_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>

#include "points_msg.h"

#define INFLIGHT_MAX_BYTES	(8 * 1024 * 1024)

struct inflight_msg {
	TAILQ_ENTRY(inflight_msg) entry;
	uint32_t		 reqid;	/* 0: not with the sender now up */
	int			 resend;	/* a sender had it before */
	struct points_msg	 m;	/* m.data is ours */
};
TAILQ_HEAD(inflight_list, inflight_msg);

struct worker_inflight {
	struct inflight_list	 msgs;
	size_t			 bytes;
	uint32_t		 next_reqid;
	uint64_t		 held;		/* points kept now */
	uint64_t		 resent;	/* points sent again */
	uint64_t		 lost;		/* points given up: the bound */
	uint64_t		 refused;	/* the sender said no */
};

struct worker;

void	 worker_inflight_init(struct worker_inflight *);
void	 worker_inflight_free(struct worker_inflight *);
/*
 * Keep a copy of `m` and send it when the sender is up: 0 (taken: sent
 * or kept), or -1 (errno: ENOMEM, or the edge refused it; not kept).
 */
int	 worker_inflight_send(struct worker *, const struct points_msg *);
/* MSG_POINTS_ACK from the sender: 0 when it was one of ours. */
int	 worker_inflight_ack(struct worker *, uint32_t reqid,
	    const void *data, size_t len);
/* The sender came up (pid > 0), or went (0). */
void	 worker_inflight_sender(struct worker *, int up);

#endif
