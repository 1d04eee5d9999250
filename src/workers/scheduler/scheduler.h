/*
 * The scheduler's state, shared by its files:
 *   scheduler.c         the worker: items, timers, runs, stats
 *   scheduler_git.c     checkouts through gitpull
 *   scheduler_run.c     one plugin run (fork/exec, capture, timeout, reap)
 *   scheduler_output.c  plugin stdout -> points, plugin.result, names;
 *                       a finished run's points to the sender
 *   scheduler_api.c     MSG_PLUGIN_REQ from the front
 *   scheduler_state.c   disable markers in pluginsdir/plugin.disabled/:
 *                       read here
 *   scheduler_marks.c   ...written by gitpull: disable, enable, sweep
 *   scheduler_once.c    agent test, agent plugin run: each plugin once
 */
#ifndef AGENT_SCHEDULER_H
#define AGENT_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <bsd/sys/queue.h>
#include <ev.h>

#include "buf.h"
#include "conf.h"
#include "encode.h"
#include "items.h"
#include "metrics.h"
#include "plugin_msg.h"
#include "scheduler_run.h"
#include "warn_limit.h"
#include "workers/worker.h"

#define SCHED_KEY_MAX		(ITEM_NS_MAX + 1 + 256 + 1)
#define SCHED_RUN_TIMEOUT	10	/* /plugins/run default, seconds */
#define SCHED_RUN_TIMEOUT_MAX	300	/* and the most it may ask */
#define SCHED_ERROR_MAX		512
#define SCHED_STDERR_KEPT	1024	/* bytes of the last stderr listed */
#define SCHED_START_GAP		0.05	/* s a start waits for the one before */
/*
 * Plugins of one period that start in one second, at most: one after
 * another, SCHED_START_GAP apart if each runs on, the last still starts
 * within the second, before the next second's first.
 */
#define SCHED_SECOND_MAX	20
/* s a timer may miss its second by before it is put back on it */
#define SCHED_ALIGN_SLACK	0.1

enum checkout_state {
	CHECKOUT_NONE = 0,	/* not asked yet */
	CHECKOUT_PENDING,	/* asked gitpull, no answer yet */
	CHECKOUT_OK,
	CHECKOUT_FAILED,	/* not scheduled; asked again at the next
				 * MSG_ITEMS, /plugins/run or update */
	CHECKOUT_UNTRUSTED	/* likewise: the signature check refused
				 * the commit that would run */
};

/* How a run came about: the plugin.result "type" tag. */
enum run_kind {
	RUN_REGULAR = 0,	/* its timer */
	RUN_CALL		/* /plugins/run */
};

/* What the last run of a plugin did (GET /plugins/list). */
struct last_run {
	time_t		 at;		/* start, unix seconds; 0 = never */
	enum run_kind	 kind;
	int		 ok;
	double		 duration;
	int		 exited;
	int		 status;
	int		 signo;
	int		 timed_out;
	size_t		 points;	/* published */
	size_t		 dropped;	/* bad points left out */
	size_t		 outbytes;
	char		 error[SCHED_ERROR_MAX];	/* why it failed */
	char		 drop_error[SCHED_ERROR_MAX];	/* first bad point */
	char		 stderr_tail[SCHED_STDERR_KEPT + 1];
};

struct plugin {
	TAILQ_ENTRY(plugin)	 entry;
	struct sched		*s;
	char			 key[SCHED_KEY_MAX];	/* <ns>|<project> */
	struct plugin_item	 item;		/* our copy of the registry's */
	int			 gone;		/* not in the items any more;
						 * freed once idle */
	int			 seen;		/* in the current MSG_ITEMS */
	int			 enabled;
	enum checkout_state	 checkout;
	int			 moved;		/* its directory may hold the
						 * old repository's checkout:
						 * every ask fetches, until one
						 * did */
	char			 commit[64];
	char			 signer[256];	/* of commit, gitsigners set */
	char			 git_error[1024];
	ev_timer		 timer;
	double			 period;	/* of timer, while active */
	uint64_t		 second;	/* of period it starts at */
	TAILQ_ENTRY(plugin)	 due_entry;	/* in sched_starts.due */
	int			 due;		/* waits there to start */
	struct run		*run;		/* in progress, or NULL */
	enum run_kind		 run_kind;
	uint32_t		 run_reqid;	/* front request waiting, 0 none */
	time_t			 run_at;
	struct last_run		 last;
	uint64_t		 runs;
	uint64_t		 failures;
	uint64_t		 skipped;
	uint64_t		 timeouts;
	uint64_t		 points;
	uint64_t		 dropped;
	struct metric_hist	 duration;	/* of the runs that started */
};
TAILQ_HEAD(pluginlist, plugin);

/*
 * Questions about the items (ITEMS) sent to gitpull and not yet answered,
 * at most: the rest wait here.  gitpull queues 1024 requests in all
 * (GQ_MAX_WAITERS) and refuses more, so a namespace of thousands of
 * plugins asked about at once left no room for another's, nor for
 * /plugins/run and /plugins/update.
 */
#define SCHED_GIT_ITEMS_INFLIGHT	64

/* Why we asked gitpull. */
enum git_why {
	GIT_FOR_ITEMS = 0,	/* a new plugin, or one that failed: then
				 * schedule it */
	GIT_FOR_RUN,		/* /plugins/run: then run it */
	GIT_FOR_UPDATE		/* /plugins/update: then answer */
};

struct gitwait {
	TAILQ_ENTRY(gitwait)	 entry;
	struct sched		*s;
	uint32_t		 reqid;		/* ours, on the gitpull edge */
	struct plugin		*p;
	enum git_why		 why;
	int			 sent;		/* 0: waits for gitpull */
	int			 update;	/* as sent: fetch and reset */
	char			 repo[512];	/* as sent: group/project */
	uint32_t		 front_reqid;	/* RUN, UPDATE; 0 = nobody */
	struct strlist		 argv;		/* RUN: the parameters */
	uint32_t		 timeout;	/* RUN: seconds */
	ev_timer		 expire;
};
TAILQ_HEAD(gitwaitlist, gitwait);
TAILQ_HEAD(markwaitlist, markwait);

struct sched_stats {
	uint64_t	 runs;
	uint64_t	 failures;
	uint64_t	 timeouts;
	uint64_t	 skipped;
	uint64_t	 output_over;
	uint64_t	 points_sent;
	uint64_t	 points_received;	/* valid points in output */
	uint64_t	 points_dropped;	/* bad points in output */
	uint64_t	 points_unsent;	/* the sender was not there */
	uint64_t	 git_errors;
	uint64_t	 untrusted;	/* commits refused by the signature
					 * check (also in git_errors) */
	uint64_t	 requests;	/* from the front */
};

/* What the outbox holds for one namespace (scheduler_outbox.c). */
struct outbox_ns {
	char			 ns[ITEM_NS_MAX + 8];
	enum out_format		 fmt;
	struct buf		 pts;		/* encoded, '\n' between */
	size_t			 npoints;
};

struct sched_outbox {
	struct outbox_ns	*v;
	size_t			 n;
	size_t			 cap;
	ev_timer		 hold;		/* pluginflushms at most */
	ev_prepare		 now;		/* at the end of this turn */
};

/* Regular runs that fell due together, started one after another. */
struct sched_starts {
	struct pluginlist	 due;		/* by due_entry, in order */
	struct plugin		*last;		/* started last, still going */
	ev_timer		 gap;		/* until the next may start */
	double			 gap_s;		/* SCHED_START_GAP; tests */
};

struct sched {
	struct worker		*w;
	struct runner		*runner;
	struct pluginlist	 plugins;
	struct gitwaitlist	 gitwaits;
	struct markwaitlist	 markwaits;	/* scheduler_marks.c */
	size_t			 git_inflight;	/* asked, not yet answered */
	uint32_t		 next_reqid;	/* below SCHED_MARK_REQID */
	uint32_t		 next_mark_reqid;	/* with it */
	int			 stopping;
	char			 host[256];	/* the host tag */
	char			 home[CONF_STR_MAX];	/* HOME of plugins */
	ev_timer		 sweep;		/* disable markers, hourly */
	ev_timer		 stop_timer;
	struct sched_stats	 st;
	struct sched_outbox	 outbox;
	struct sched_starts	 starts;
	struct metric_set	 ms;		/* /metrics, push after push */
	struct warn_limit	 list_cut;	/* lists without stderr */
	struct warn_limit	 respond_failed;	/* answers not sent */
	struct warn_limit	 front_busy;	/* 503: the front reads none */
	struct warn_limit	 git_unsent;	/* 503: gitpull's edge refused */
	struct warn_limit	 no_sec_ns;	/* SEC points, nowhere to go */
	long long		 run_nproc;	/* a run's limits (child.h), */
	long long		 run_data;	/* 0: none */
	char			 last_error[256];
};

/* scheduler.c */
/* A plugin of the items, not scheduled yet; NULL when out of memory. */
struct plugin	*scheduler_plugin_new(struct sched *,
		    const struct plugin_item *, const char *key);
struct plugin	*scheduler_find(struct sched *, const char *key);
struct plugin	*scheduler_find_repo(struct sched *, const char *ns,
		    const char *repo);
/* Free a plugin gone from the items once nothing refers to it. */
void		 scheduler_plugin_release(struct plugin *);
int		 scheduler_plugin_waits_git(const struct plugin *);
/* Start a run now; the answer to `reqid` (0 = none) comes at its end. */
void		 scheduler_run(struct plugin *, enum run_kind,
		    const struct strlist *argv, double timeout, uint32_t reqid);
void		 scheduler_schedule(struct plugin *);
/* MSG_PLUGIN_RESP; reqid 0 (nobody waits) sends nothing. */
void		 scheduler_respond(struct sched *, uint32_t reqid, int status,
		    const char *json);
void		 scheduler_respond_error(struct sched *, uint32_t reqid,
		    int status, const char *msg);
/* The host's second of a period, in [0, period): stable, by its name. */
uint64_t	 scheduler_phase(const char *host, double period);
/*
 * The second of its period a plugin starts at: the first from `phase`
 * that fewer than SCHED_SECOND_MAX of the other plugins of that period
 * (their seconds in `taken`) start at.
 */
uint64_t	 scheduler_second(uint64_t phase, double period,
		    const uint64_t *taken, size_t n);
/*
 * Seconds from `now` (the loop's clock) to the first run: the next whole
 * second of the clock that is `second` of the period, so that timers set
 * at different moments for the same second fire together, and the
 * plugins of periods that divide one another meet.
 */
double		 scheduler_first_in(uint64_t second, double period,
		    ev_tstamp now);
/* When a scheduled plugin's timer fires next, on the loop's clock. */
double		 scheduler_next_at(const struct plugin *);
/* Timer period and run timeout of a registry interval. */
double		 scheduler_period(int64_t interval);
double		 scheduler_timeout(int64_t interval);

/* scheduler_output.c */
/*
 * A finished run's output to the sender as points, then its
 * plugin.result; p->last gets the points, drops and the output error
 * (and ok).  Returns `ok`, cleared when the output is not points at all.
 */
int		 scheduler_output_publish_run(struct plugin *,
    const struct run_result *,
		    int ok);
/* The plugin.result of a commit the signature check refused. */
void		 scheduler_output_publish_untrusted(struct plugin *);

/* scheduler_outbox.c */
void		 scheduler_outbox_init(struct sched *);
/*
 * Hold encoded points of a finished run for `ns` until the runs still
 * going end (pluginflushms at most).  Returns how many were taken: all,
 * or 0 (logged, counted unsent) when no topic can be made of `ns` or
 * memory ran out.
 */
size_t		 scheduler_outbox_add(struct sched *, const char *ns,
		    enum out_format, const struct buf *pts, size_t npoints);
/* Everything held to the sender, now. */
void		 scheduler_outbox_send(struct sched *);
void		 scheduler_outbox_free(struct sched *);

/* scheduler_starts.c */
void		 scheduler_starts_init(struct sched *);
/* A regular run of `p` is due: now, or once the one before it lets it. */
void		 scheduler_starts_add(struct plugin *);
/* The run of `p` has ended (run_done()). */
void		 scheduler_starts_ended(struct plugin *);
/* `p` is about to be freed. */
void		 scheduler_starts_forget(struct plugin *);
/* Nothing more starts from the queue (stopping). */
void		 scheduler_starts_clear(struct sched *);
/* 1 while due runs wait to start. */
int		 scheduler_starts_pending(const struct sched *);

/* scheduler_git.c */
/*
 * Ask gitpull.  NULL (and nothing asked) when it is not there and a
 * client waits (RUN, UPDATE), with errno (ENOTCONN: not there; ENOBUFS:
 * its edge full); ITEMS questions wait for it instead.
 */
struct gitwait	*scheduler_git(struct sched *, struct plugin *, enum git_why,
		    uint32_t front_reqid);
/* `r` to gitpull as request `reqid`: 0, or -1 with errno (ENOTCONN:
 * gitpull is not there; ENOBUFS: its edge full; ENOMEM). */
int		 scheduler_git_req_send(struct sched *, uint32_t reqid,
		    const struct git_req *);
void		 scheduler_gitwait_free(struct gitwait *);
int		 scheduler_git_resp(struct sched *, struct frame_in *);
void		 scheduler_git_down(struct sched *);
void		 scheduler_git_up(struct sched *);

/* scheduler_api.c */
int		 scheduler_plugin_req(struct sched *, struct frame_in *);
/* The answer to a /plugins/run, once the run ended (res NULL: it did
 * not start; p->last says why). */
void		 scheduler_answer_run(struct plugin *, uint32_t reqid,
		    const struct run_result *res);
/* The answer to a /plugins/update that worked. */
void		 scheduler_answer_update(struct plugin *, uint32_t reqid);
/*
 * `param` split on single spaces, empty tokens dropped; a token holding
 * "&&", ";", "|", "<", ">" or "`" refuses the lot (the registry's rule,
 * lodastack-protocols.md 3.1).  0, or -1 with the bad token in err.
 */
int		 scheduler_split_params(const char *param, struct strlist *,
		    char *err, size_t errlen);
/*
 * The /plugins/ API's repo check (lodastack-protocols.md 6.3):
 * "x:group/project.git", one ':', one '/', ending in .git; repo and
 * project out.  0, or -1.
 */
int		 scheduler_check_repo(const char *repo, char *grouprepo,
		    size_t grouprepolen, char *project, size_t projectlen);
/* JSON array of every plugin and its state. */
/* redact: without params and stderr (a client not trusted with them) */
/* tails: with each plugin's stderr tail (0: without, "stderr_cut") */
void		 scheduler_list_json(struct sched *, struct buf *, int redact,
		    int tails);

/* scheduler_once.c */
struct scheduler_once {
	enum run_kind		 kind;	/* test: regular; plugin run: call */
	double			 timeout;	/* 0: the timer's (interval) */
	const struct strlist	*argv;	/* NULL: the item's parameters */
	int			 disabled_too;	/* run those with a marker */
	int			 report_fd;	/* a line per plugin here */
};
/*
 * The scheduler of a hosted worker (worker_host_enter done, gitpull and
 * the sender attached) runs each plugin of `it` once, as its timer or
 * /plugins/run would: checkout through gitpull first (clone what is
 * missing, signatures checked), then the run, its points and its
 * plugin.result to the sender.  One line per plugin to o->report_fd:
 * status, duration, points, the first error (and stderr when it
 * failed).  Returns how many plugins failed (not run counts as failed).
 */
int		 scheduler_once(struct worker *, const struct items *,
		    const struct scheduler_once *);

/* scheduler_state.c: pluginsdir/plugin.disabled/<ns>|<project> */
/*
 * The clock the markers' age is read by: the time of day, plus what a
 * test moved it forward with scheduler_clock_advance() (never called in
 * the daemon).
 */
time_t		 scheduler_now(void);
void		 scheduler_clock_advance(time_t);
int		 scheduler_marker_path(const char *pluginsdir, const char *key,
		    char *buf, size_t len);
int		 scheduler_marker_exists(const char *pluginsdir,
    const char *key);
/*
 * `cb` gets the key and time of each marker older than `maxage` seconds
 * (at `now`).  Returns how many, 0 when the directory is missing, -1
 * with err when it cannot be read.
 */
int		 scheduler_marker_expired(const char *pluginsdir, time_t now,
		    time_t maxage, void (*cb)(const char *key, time_t mtime,
		    void *), void *arg, char *err, size_t errlen);

/* scheduler_marks.c: disable and enable through gitpull */
#define SCHED_MARK_REQID	0x80000000u	/* set in a marker's reqid */
#define MARKER_MAX_AGE		(24 * 3600)	/* then enabled again */
/*
 * Ask gitpull to make (DISABLE) or remove (ENABLE) the marker of `key`;
 * `before` > 0: the sweep's removal of a marker it saw at that time.
 * The answer goes to front_reqid (0: nobody).  -1 with errno: not sent
 * (ENOTCONN: gitpull is not there; ENOBUFS: its edge full; ENOMEM).
 */
int		 scheduler_mark(struct sched *, const char *key,
		    const char *ns, const char *repo, const char *project,
		    enum git_mark, time_t before, uint32_t front_reqid);
/* 1 when `reqid` is a marker's (answered now, or expired); 0 if not. */
int		 scheduler_marks_resp(struct sched *, uint32_t reqid,
		    const struct git_resp *);
/* A new front knows none of the requests waiting. */
void		 scheduler_marks_forget_front(struct sched *);
/* Forget every question; `why` != NULL: their clients get a 503. */
void		 scheduler_marks_clear(struct sched *, const char *why);
/* Ask for the removal of every marker a day old. */
void		 scheduler_marks_sweep(struct sched *);

#endif
