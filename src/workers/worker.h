/*
 * What every worker process shares: the control edge to the master, the
 * setup handshake, the sandbox, config generations, the peer edges and a
 * clean shutdown.  A role plugs in through struct worker_ops.
 */
#ifndef AGENT_WORKER_H
#define AGENT_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "frame.h"
#include "proto.h"
#include "warn_limit.h"
#include "worker_inflight.h"

#define WORKER_SETUP_TIMEOUT	30.0	/* seconds to receive SETUP_END */
#define WORKER_EXIT_CONFIG	2	/* config we cannot apply */
/* a config this process cannot apply and a new one can (master.h) */
#define WORKER_EXIT_RESPAWN	3
/* what reconfigure returns for it: the runtime stops, the master
 * starts a successor with the new config at once */
#define WORKER_RECONF_RESPAWN	1
#define WORKER_QUIET_SIGNALS	4	/* caught and dropped (worker.c) */
#define WORKER_STATS_EVERY	5.0	/* s between MSG_STATS, about */
/* A turn this far into the pace calls; the timer waits this long. */
#define WORKER_STATS_EARLY	0.75	/* of the pace */
#define WORKER_STATS_LATE	1.25	/* of the pace */

struct worker;

struct worker_ops {
	enum role	 role;
	/* after SETUP_END, before the sandbox (still privileged) */
	int		(*setup)(struct worker *, char *err, size_t errlen);
	/* after the sandbox, before READY */
	int		(*start)(struct worker *, char *err, size_t errlen);
	/*
	 * A new config generation; `next` replaces w->conf on success (0).
	 * WORKER_RECONF_RESPAWN, with err saying why: only a new process
	 * can apply it (what it needs is loaded before the sandbox); the
	 * config is not acknowledged, the worker stops as at a shutdown and
	 * exits WORKER_EXIT_RESPAWN.
	 */
	int		(*reconfigure)(struct worker *,
			    const struct agent_conf *next, char *err,
			    size_t errlen);
	/* control messages the runtime does not handle itself */
	int		(*control_msg)(struct worker *, struct frame_in *);
	/* data frames from a peer (HELLO is handled by the runtime) */
	int		(*peer_msg)(struct worker *, enum role from,
			    struct frame_in *);
	/* a peer edge came up (pid known) or went down (pid 0) */
	void		(*peer_changed)(struct worker *, enum role, pid_t);
	/* asked to stop: finish what is in flight, then worker_exit() */
	void		(*shutdown)(struct worker *);
	/* free role state */
	void		(*cleanup)(struct worker *);
	/*
	 * Push the role's counters (worker_push_stats*()).  Called after a
	 * turn of the loop, about once per WORKER_STATS_EVERY; what did
	 * not change since the last push is not sent (worker_stats.c).
	 * NULL: the role has none.
	 */
	void		(*stats)(struct worker *);
	/*
	 * Seconds between two calls at least, when WORKER_STATS_EVERY is too
	 * often for what the role sends (0: WORKER_STATS_EVERY).
	 */
	double		 stats_every;
};

struct worker {
	const struct worker_ops	*ops;
	enum role		 role;
	struct ev_loop		*loop;
	struct frame_conn	*ctl;
	struct frame_conn	*peers[ROLE_MAX];
	pid_t			 peer_pid[ROLE_MAX];
	struct agent_conf	 conf;
	uint64_t		 generation;
	int			 have_conf;
	int			 setup_done;
	int			 stopping;
	int			 respawn;	/* the stop ends in a successor */
	int			 exit_code;
	int			 unprivileged;	/* not started as root */
	ev_timer		 setup_timer;
	ev_signal		 sig_term;
	ev_signal		 sig_quiet[WORKER_QUIET_SIGNALS];
	void			*priv;		/* role state */

	/* pacing of ops->stats and the last MSG_STATS (worker_stats.c) */
	ev_prepare		 stats_check;
	ev_timer		 stats_timer;
	ev_tstamp		 stats_at;	/* ops->stats last called */
	int			 stats_called;
	void			*stats_last;	/* payload last sent */
	size_t			 stats_last_len;
	uint32_t		 stats_reqid;	/* the master asked: answer */
	struct warn_limit	 stats_cut;	/* samples left out of one */

	/* a producer's points the sender has not said it took */
	struct worker_inflight	 inflight;

	/* log lines the master did not take, written to stderr instead */
	uint64_t		 log_stderr;
};

int	 worker_main(enum role, int argc, char **argv);

/* Send on a peer edge; -1 (errno ENOTCONN) when that peer is not up. */
int	 worker_send_peer(struct worker *, enum role to, uint16_t type,
	    uint32_t reqid, const void *data, size_t len);
/* The same with the payload in two pieces (frame_send2()). */
int	 worker_send_peer2(struct worker *, enum role to, uint16_t type,
	    uint32_t reqid, const void *head, size_t headlen,
	    const void *body, size_t bodylen);
int	 worker_send_ctl(struct worker *, uint16_t type, uint32_t reqid,
	    const void *data, size_t len);
struct points_msg;
/*
 * MSG_POINTS to the sender, kept until it says it took them, sent again
 * to its successor if it dies first, and kept while none is up
 * (worker_inflight.h).  0, or -1 when they could not be kept (logged).
 */
int	 worker_send_points(struct worker *, const struct points_msg *);

/* One counter of a worker's MSG_STATS (shown in /me/status). */
struct stat_kv {
	const char	*key;
	uint64_t	 value;
};

/* A text of a worker's MSG_STATS ("" shows as null). */
struct stat_text {
	const char	*key;
	const char	*value;
};

/* Send counters (at most STATS_MAX) and a note (the last error). */
int	 worker_push_stats(struct worker *, const struct stat_kv *, size_t n,
	    const char *note);
struct metric_set;
/*
 * The same with texts (at most STATS_TEXT_MAX, shown in /me/status) and
 * the worker's typed samples (metrics.h) for /metrics; either may be
 * NULL.
 */
int	 worker_push_stats_all(struct worker *, const struct stat_kv *,
	    size_t n, const struct stat_text *, size_t ntext,
	    const char *note, const struct metric_set *);
/*
 * ops->stats after every turn of the loop that found it due: at once when
 * the last call was WORKER_STATS_EARLY of the pace (WORKER_STATS_EVERY
 * or ops->stats_every) ago or more, else by a timer WORKER_STATS_LATE of
 * it after the last call, unless a turn comes first.  Nothing runs on a
 * clock, so an idle worker is not woken for its counters.  Started once
 * the role has started.
 */
void	 worker_stats_start(struct worker *);
/* ops->stats now, if it ran at all (before exiting); stop the pacing. */
void	 worker_stats_flush(struct worker *);
/*
 * MSG_STATS_REQ: the counters now, sent whether they changed or not, with
 * the request's reqid.
 */
void	 worker_stats_answer(struct worker *, uint32_t reqid);
/* worker_stats.c for worker_push_stats_all(): 1 when `payload` is the
 * one sent last, else it is kept as the last; forget it. */
int	 worker_stats_same(struct worker *, const void *payload, size_t len);
void	 worker_stats_free(struct worker *);
/* Leave the event loop and exit with `code` after flushing to master. */
void	 worker_exit(struct worker *, int code);

/* An edge to `peer` on `fd` (taken; closed on failure); 0 or -1. */
int	 worker_peer_attach(struct worker *, enum role peer, int fd);

/*
 * A role hosted outside worker_main: `agent test` and `agent plugin run`
 * (src/master/testmode*.c) run the scheduler's and the collector's code
 * in a forked child as those workers would, sandbox included, without a
 * master's handshake.  init: the config is given, `ctlfd` is the control
 * edge to whoever plays the master (log lines, counters); then attach
 * the peers; enter: setup, sandbox, start, HELLO, READY (0, or -1 when a
 * step failed, logged); free: the role's cleanup, what is queued
 * flushed, everything closed.
 */
int	 worker_host_init(struct worker *, enum role,
	    const struct agent_conf *, int ctlfd);
int	 worker_host_enter(struct worker *);
void	 worker_host_free(struct worker *);

/* The role tables (one per file in src/workers). */
extern const struct worker_ops front_ops;
extern const struct worker_ops fetcher_ops;
extern const struct worker_ops gitpull_ops;
extern const struct worker_ops scheduler_ops;
extern const struct worker_ops sender_ops;
extern const struct worker_ops collector_ops;

#endif
