/* The front's state, shared by its files (front.c, front_data.c). */
#ifndef AGENT_FRONT_H
#define AGENT_FRONT_H

#include <stdint.h>
#include <bsd/sys/queue.h>
#include <time.h>

#include <ev.h>

#include "front_http.h"
#include "worker.h"

enum pending_kind {
	PENDING_STATUS,		/* MSG_STATUS from the master */
	PENDING_POINTS		/* MSG_POINTS_ACK from the sender */
};

/* A request waiting for an answer from another process. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint32_t		 reqid;
	enum pending_kind	 kind;
	uint32_t		 npoints;
	struct http_request	*req;
	ev_tstamp		 since;
};

/*
 * The HTTP server answers 504 after its handler timeout, but the request
 * is ours until we call http_respond: answers that never come are swept
 * after this long so the list cannot grow.
 */
#define PENDING_EXPIRE	60.0
TAILQ_HEAD(pendinglist, pending);

struct front {
	struct worker		*w;
	struct http_server	*http;
	struct pendinglist	 pending;
	uint32_t		 next_reqid;
	time_t			 started;
	char			 host[256];	/* for the host tag */
	ev_timer		 sweep;
	ev_timer		 drain;		/* shutting down */
	double			 drain_left;
};

/* Seconds open connections get to finish when the front stops. */
#define FRONT_DRAIN_TIME	2.0

uint32_t	 front_reqid(struct front *);
int		 front_wait(struct front *, uint32_t reqid,
		    struct http_request *, enum pending_kind, uint32_t npoints);
struct http_request *front_take(struct front *, uint32_t reqid,
		    enum pending_kind, uint32_t *npoints);

/* front_data.c */
void	 route_post(struct http_request *, void *);
void	 route_write(struct http_request *, void *);
int	 front_points_ack(struct front *, struct frame_in *);
void	 front_sender_down(struct front *);

#endif
