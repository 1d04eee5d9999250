/*
 * The daemon's state as the master sees it, carried to the front for
 * GET /me/status (MSG_STATUS).  Encoded with the payload codec.
 */
#ifndef AGENT_STATUS_H
#define AGENT_STATUS_H

#include <stdint.h>
#include <sys/types.h>

#include "metrics.h"
#include "proto.h"

struct pbuf;
struct preader;

#define STATS_MAX	48	/* counters per worker */
#define STATS_KEY_MAX	32
#define STATS_TEXT_MAX	4	/* short texts per worker */
#define STATS_TEXT_LEN	256

struct worker_stat {
	char		 key[STATS_KEY_MAX];
	uint64_t	 value;
};

/* A state that is no number (a path, an error); "" shows as null. */
struct worker_text {
	char		 key[STATS_KEY_MAX];
	char		 value[STATS_TEXT_LEN];
};

struct worker_stats {
	uint32_t	 n;
	struct worker_stat v[STATS_MAX];
	uint32_t	 ntext;
	struct worker_text t[STATS_TEXT_MAX];
	char		 note[256];	/* e.g. the last error */
};

/*
 * MSG_STATS, worker -> master: these flat counters (shown per worker in
 * /me/status, also inside MSG_STATUS), then the worker's typed samples
 * (metrics.h).
 */
void	 status_stats_encode(struct pbuf *, const struct worker_stats *);
int	 status_stats_decode(struct preader *, struct worker_stats *);
/* The whole MSG_STATS payload; 0, or -1 with err. */
int	 status_stats_msg_decode(struct preader *, struct worker_stats *,
	    struct metric_set *, char *err, size_t errlen);

struct worker_status {
	uint32_t	 role;		/* enum role */
	uint32_t	 pid;		/* 0 while not running */
	char		 state[16];	/* starting, running, backoff, ... */
	uint32_t	 restarts;
	uint64_t	 log_dropped;	/* its role's lines over the budget */
	int64_t		 started;	/* unix seconds of the current start */
	char		 last_exit[128];/* "" = never exited */
	int64_t		 last_exit_at;	/* unix seconds, 0 = never */
	uint64_t	 generation;	/* config generation it applied */
	struct worker_stats stats;	/* its last MSG_STATS */
	uint32_t	 peers[ROLE_MAX];/* peer pid as this worker sees it */
};

struct agent_status {
	char		 version[32];
	uint32_t	 master_pid;
	int64_t		 started;	/* unix seconds */
	uint64_t	 generation;	/* config generation */
	uint32_t	 nworkers;
	struct worker_status w[ROLE_MAX];
	/*
	 * Every role's samples as the master totals them (counters of dead
	 * workers included) and the master's own (metrics.h).
	 */
	struct metric_set metrics;
};

void	 status_encode(struct pbuf *, const struct agent_status *);
/* `st` needs status_free() after a successful decode. */
int	 status_decode(struct preader *, struct agent_status *, char *err,
	    size_t errlen);
void	 status_free(struct agent_status *);

#endif
