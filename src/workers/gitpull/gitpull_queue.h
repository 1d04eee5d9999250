/*
 * The gitpull worker's requests, per checkout (pluginsdir/<ns>/<project>):
 * at most one git operation per checkout and `max_running` in all, the
 * rest queued first come first served; a request that an operation
 * already covers waits for that operation's result instead of running
 * git again.
 *
 * Covering: an operation answers every request for the same repository
 * that arrived before it started; one that arrives while it runs joins it
 * only when it does not ask for an update (a fetch already under way may
 * have started before what the update is meant to fetch was pushed), and
 * otherwise waits for the next operation.  The next operation takes every
 * waiting request for one repository and updates if any of them asked.
 *
 * Urgent requests (a client waits: /plugins/run, /plugins/update) go
 * ahead of the others, and GQ_URGENT_EXTRA operations may run for them
 * beyond max_running: a registry that lists many plugins of a server
 * that answers slowly (or a hostile one that trickles) would otherwise
 * keep every slot for gittimeout each, and a run of a plugin checked
 * out long ago, which needs no network, wait an hour behind them.
 *
 * What runs an operation is behind struct gq_ops, so the logic here can
 * be tested without git.
 */
#ifndef AGENT_GITPULL_QUEUE_H
#define AGENT_GITPULL_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <bsd/sys/queue.h>

#include "plugin_msg.h"

#define GQ_MAX_WAITERS		1024	/* requests waiting in all */
#define GQ_MAX_CHECKOUTS	1024	/* checkouts remembered */
/* operations beyond max_running for requests a client waits for */
#define GQ_URGENT_EXTRA		1

struct gq_waiter {
	TAILQ_ENTRY(gq_waiter)	 entry;
	uint32_t		 reqid;
	int			 update;
	int			 urgent;	/* a client waits */
	char			 repo[512];
};
TAILQ_HEAD(gq_waiters, gq_waiter);

struct gq;

struct gq_checkout {
	struct gq		*q;
	TAILQ_ENTRY(gq_checkout) entry;	/* all, least recently used first */
	TAILQ_ENTRY(gq_checkout) ready;	/* waiting for a free slot */
	int			 in_ready;
	char			 ns[256];
	char			 project[256];
	struct gq_waiters	 running;	/* answered by the operation */
	struct gq_waiters	 pending;	/* wait for the next one */
	int			 busy;		/* an operation runs */
	char			 run_repo[512];	/* ... for this repository */
	int			 run_update;	/* ... and updates */
	uint64_t		 run_gen;	/* ... under these settings */
	void			*op;		/* the runner's handle */
	/* what the last operation found */
	char			 commit[64];	/* "" = never worked */
	char			 error[1024];	/* "" = it worked */
	time_t			 last_run;	/* 0 = never */
	uint64_t		 runs;
};

struct gq_ops {
	/*
	 * Start an operation on c (c->run_repo, c->run_update): 0 when it
	 * runs (gitpull_queue_finish() follows), -1 when it is over already,
	     the
	 * result in *now.
	 */
	int	(*start)(struct gq *, struct gq_checkout *, struct git_resp *now);
	/* Answer one request. */
	void	(*answer)(struct gq *, uint32_t reqid, const struct git_resp *);
};

struct gq_stats {
	uint64_t	 requests;
	uint64_t	 coalesced;	/* answered by another request's run */
	uint64_t	 refused;	/* queue full, or stopping */
	uint64_t	 ok;		/* answers */
	uint64_t	 failed;
};

struct gq {
	const struct gq_ops	*ops;
	void			*arg;
	TAILQ_HEAD(, gq_checkout) checkouts;
	TAILQ_HEAD(, gq_checkout) readyq;
	size_t			 ncheckouts;
	size_t			 nwaiters;
	size_t			 nrunning;
	size_t			 max_running;
	int			 stopping;
	int			 kicking;
	/* the settings' generation (gitpull_queue_settings_changed()) */
	uint64_t		 gen;
	struct gq_stats		 st;
};

void	 gitpull_queue_init(struct gq *, const struct gq_ops *, void *arg,
	    size_t max_running);
/* Free everything; nothing is answered. */
void	 gitpull_queue_free(struct gq *);
void	 gitpull_queue_request(struct gq *, const struct git_req *,
    uint32_t reqid);
/* The operation on c is over. */
void	 gitpull_queue_finish(struct gq *, struct gq_checkout *,
    const struct git_resp *);
/* The requester went away: its request ids mean nothing any more. */
void	 gitpull_queue_drop_waiters(struct gq *);
/*
 * The signature settings changed: an operation running now checks with
 * the old ones, so no request joins it any more; each waits for an
 * operation of its own.
 */
void	 gitpull_queue_settings_changed(struct gq *);
/* No new operation: every request not being worked on gets `why`. */
void	 gitpull_queue_stop(struct gq *, const char *why);

#endif
