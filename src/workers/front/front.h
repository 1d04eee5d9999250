/*
 * The front's state, shared by its files (front.c, front_data.c,
 * front_plugins.c).
 */
#ifndef AGENT_FRONT_H
#define AGENT_FRONT_H

#include <stdint.h>
#include <bsd/sys/queue.h>
#include <time.h>

#include <ev.h>

#include "buf.h"
#include "front_peeruid.h"
#include "front_http.h"
#include "metrics.h"
#include "workers/worker.h"
#include "warn_limit.h"
#include "front_authfail.h"

enum pending_kind {
	PENDING_STATUS,		/* MSG_STATUS from the master */
	PENDING_METRICS,	/* the same, for GET /metrics */
	PENDING_POINTS,		/* MSG_POINTS_ACK from the sender */
	PENDING_PLUGIN,		/* MSG_PLUGIN_RESP from the scheduler */
	PENDING_REFRESH		/* MSG_NAMESPACES from the fetcher */
};

/* A request waiting for an answer from another process. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint32_t		 reqid;
	enum pending_kind	 kind;
	uint32_t		 npoints;
	struct http_request	*req;
	ev_tstamp		 since;
	ev_tstamp		 expires;	/* swept then */
};

/*
 * The HTTP server answers 504 after its handler timeout, but the request
 * is ours until we call front_http_respond: answers that never come are swept
 * after this long so the list cannot grow.  A request given a longer
 * deadline (front_wait_for) is kept PENDING_SLACK past it.
 */
#define PENDING_EXPIRE	60.0
#define PENDING_SLACK	30.0
TAILQ_HEAD(pendinglist, pending);


struct front {
	struct worker		*w;
	struct http_server	*http;
	struct pendinglist	 pending;
	uint32_t		 next_reqid;
	time_t			 started;
	char			 host[256];	/* for the host tag */
	ev_timer		 sweep;
	/* the master answers one MSG_STATUS_REQ at a time (pull.c) */
	uint32_t		 status_out;	/* the one out, 0: none */
	ev_tstamp		 status_sent;
	uint32_t		 status_next;	/* for those waiting after it */
	/*
	 * /plugins/list likewise, one out per kind (full, redacted): any
	 * client may ask, and each answer is the whole list, built anew.
	 */
	uint32_t		 list_out[2];	/* by redact; 0: none */
	ev_tstamp		 list_sent[2];
	uint32_t		 list_next[2];
	ev_timer		 drain;		/* shutting down */
	double			 drain_left;
	struct strlist		 ns;		/* the fetcher's namespaces */
	int			 have_ns;	/* ns came from the fetcher */
	char			*traffic;	/* GET /me/traffic, NULL: null */
	size_t			 traffic_len;
	struct {
		uint64_t	 received_post;	/* valid points taken in */
		uint64_t	 received_write;
	} st;
	struct metric_set	 ms;		/* reused push after push */
	struct buf		 pts;		/* /post and /write's points,
						 * kept: no regrowth per body */
	struct warn_limit	 refused_guard;	/* front_guard_check() */
	struct warn_limit	 refused_api;	/* untrusted, no token */
	struct warn_limit	 unfound_peer;	/* loopback, owner not found */
	struct warn_limit	 unsent_push;	/* the edge to the sender full */
	struct warn_limit	 unsent_status;	/* the edge to the master full */
	struct warn_limit	 unsent_plugin;	/* to the scheduler: refused */
	struct warn_limit	 unsent_refresh; /* to the fetcher: refused */
	struct front_peeruid	 peeruid;	/* loopback clients' uids */
	struct front_authfail	 authfail;	/* wrong tokens by source */
};

/* Bytes of encoded points kept between requests (front_data.c). */
#define FRONT_PTS_KEEP		(4u * 1024 * 1024)

/* Seconds open connections get to finish when the front stops. */
#define FRONT_DRAIN_TIME	2.0

uint32_t	 front_reqid(struct front *);
int		 front_wait(struct front *, uint32_t reqid,
		    struct http_request *, enum pending_kind, uint32_t npoints);
/* Also sets the request's HTTP deadline to `seconds` from now. */
int		 front_wait_for(struct front *, uint32_t reqid,
		    struct http_request *, enum pending_kind, uint32_t npoints,
		    double seconds);
struct http_request *front_take(struct front *, uint32_t reqid,
		    enum pending_kind, uint32_t *npoints);
/* Answer every request waiting for `kind' with 503 `msg'. */
void		 front_fail_pending(struct front *, enum pending_kind,
		    const char *msg);
/*
 * 1 when a refusal of kind `t` is to be logged now (warn_limit.h: a
 * client can send them by the thousand, pipelined), with `note` set to
 * what the line ends with: "" or "; N more not logged since the last
 * such line"; else 0, and it is counted.
 */
int		 front_throttle_pass(struct front *, struct warn_limit *t,
		    char *note, size_t len);
/*
 * 1 after answering 400 naming `key` when `n`, what the lookup of a
 * parameter into a buffer of `len` bytes gave, says the client sent it
 * spoilt (cut short, a NUL, a broken escape): taken for absent, it would
 * put a default the client did not ask for.  0 otherwise.
 */
int		 front_param_refused(struct http_request *, const char *key,
		    int n, size_t len);
/* The host's namespaces: the fetcher's once it sent them, else the config's. */
const struct strlist *front_namespaces(struct front *);

/* front_data.c */
void	 front_route_post(struct http_request *, void *);
void	 front_route_write(struct http_request *, void *);
int	 front_points_ack(struct front *, struct frame_in *);
void	 front_sender_down(struct front *);

/* front_plugins.c */
void	 front_route_plugins_list(struct http_request *, void *);
void	 front_route_plugins_update(struct http_request *, void *);
void	 front_route_plugins_run(struct http_request *, void *);
void	 front_route_plugins_enable(struct http_request *, void *);
void	 front_route_plugins_disable(struct http_request *, void *);
void	 front_route_update(struct http_request *, void *);
void	 front_route_me_ns(struct http_request *, void *);
int	 front_plugin_resp(struct front *, struct frame_in *);
/* The scheduler went away: no list is out any more. */
void	 front_plugins_down(struct front *);
int	 front_namespaces_msg(struct front *, struct frame_in *);

#endif
