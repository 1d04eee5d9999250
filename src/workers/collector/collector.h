/*
 * The collector's state, shared by its files: collector.c (the worker:
 * items, timers, runs, counters) and collector_out.c (what a run
 * publishes: MSG_POINTS per namespace, MSG_TRAFFIC for /me/traffic).
 */
#ifndef AGENT_COLLECTOR_H
#define AGENT_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "collect.h"
#include "collect_pids.h"
#include "points_msg.h"
#include "items.h"
#include "metrics.h"
#include "warn_limit.h"
#include "workers/worker.h"

#define COLLECT_MSG_BYTES	(512 * 1024)	/* per MSG_POINTS */
#define SECURITY_NS		"security.monitor.loda"	/* KERNEL copies */

/* One family of the table and what it keeps between runs. */
struct family_run {
	const struct collect_family	*f;
	void				*state;
	int				 off;		/* init failed */
	/* its failures, its points dropped: said COLLECT_LOG_EVERY at most
	 * (monotonic s) */
	struct warn_limit		 fail_say;
	struct warn_limit		 drop_say;
};

struct collector;

/* One timer per type that has a family. */
struct type_timer {
	ev_timer		 timer;
	struct collector	*c;
	enum sys_type		 type;
	double			 period;	/* seconds; 0 = stopped */
	uint64_t		 runs;
};

/* An encoded point of the current run: where it is in `enc`. */
struct enc_span {
	size_t		 off;
	size_t		 len;
	int		 ok;		/* normalized and encoded */
};

struct collector {
	struct worker		*w;
	struct items		 items;
	int			 have_items;
	char			 host[256];
	/* the families start() takes: collect_families; a unit test's own */
	const struct collect_family *const *families;
	size_t			 nfamilies;
	struct family_run	*fam;
	size_t			 nfam;
	int			 started;	/* start() ran */
	struct type_timer	 timers[SYS_TYPE_MAX];
	struct collect_pids	*pids;		/* walks of /proc/<pid> */

	/* one run at a time: reused run after run */
	struct point_list	 pl;
	struct buf		 enc;
	struct enc_span		*spans;
	size_t			 spancap;
	struct buf		 msg;
	char			*picked;	/* per point: in this ns */

	/* GET /me/traffic: the JSON the front was (or will be) sent */
	struct buf		 traffic;
	int			 have_traffic;
	uint64_t		 net_runs;

	/* self metrics (collector_self.c) */
	ev_timer		 self_timer;
	uint32_t		 self_seq;
	uint32_t		 self_reqid;	/* the answer we wait for */
	int			 self_run;	/* c->pl holds self points */

	struct {
		uint64_t	 points_received;	/* valid points made */
		uint64_t	 points_received_self;
		uint64_t	 self_rounds;
		uint64_t	 points_sent;	/* points x namespaces */
		uint64_t	 points_unsent;
		uint64_t	 points_invalid;
		uint64_t	 errors;	/* family failures */
		uint64_t	 families_off;	/* init failed: left out */
		uint64_t	 last_round_us;	/* duration of the last run */
		uint64_t	 traffic_sent;
	} st;
	char			 last_error[256];
	struct warn_limit	 norm_warn;	/* points point_normalize()
						 * refused */

	/* unit tests: MSG_POINTS go here instead of to the sender */
	int			(*send_hook)(struct collector *,
				    const struct points_msg *);
};

/* collector.c */
/* One run of every family of `type` into c->pl, then published. */
void	 collector_run(struct collector *, enum sys_type);
/* Has `type` a family that runs (its init did not fail)? */
int	 collector_type_has_family(const struct collector *, enum sys_type);

/* collector_once.c */
/*
 * agent test: the collector of a hosted worker (worker_host_enter done,
 * the sender attached) runs every type that has a family twice, a second
 * apart (so rates exist), for the namespaces and items of `it` (taken
 * over: left empty), and publishes the second run only.  collect = no:
 * nothing runs.  0, or -1 when out of memory.
 */
int	 collector_once(struct worker *, struct items *it);

/* collector_out.c */
/*
 * Normalize, encode and send what the run of `type` produced in c->pl;
 * SYS_TYPE_MAX: self metrics, sent like system points.
 */
void	 collector_publish(struct collector *, enum sys_type, int64_t now);
/* After a NET run without failures: the /me/traffic JSON from c->pl
 * (raw points: call before collector_publish), sent to the front. */
void	 collector_traffic_update(struct collector *);
/* Send the last /me/traffic JSON to the front (it came back). */
void	 collector_traffic_send(struct collector *);

/* collector_self.c */
/* Self metrics on or off, at their interval, after a (re)config. */
void	 collector_self_apply(struct collector *, const struct agent_conf *);
/* MSG_STATUS from the master: published as agent.* points. */
int	 collector_self_status(struct collector *, struct frame_in *);
/* The samples of a table as points (unit tests); 0 or -1. */
int	 collector_self_points(const struct metric_set *, struct point_list *);

#endif
