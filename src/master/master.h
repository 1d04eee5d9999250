/*
 * The master: owns the config, the pidfile, the log files and the listening
 * sockets; spawns one process per worker role, wires the peer edges,
 * restarts workers that die, and turns signals into reload and shutdown.
 */
#ifndef AGENT_MASTER_H
#define AGENT_MASTER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <ev.h>

#include "conf.h"
#include "frame.h"
#include "logfile.h"
#include "lograte.h"
#include "pidfile.h"
#include "proto.h"
#include "relay.h"
#include "status.h"
#include "warn_limit.h"

#define SETUP_TIMEOUT		10.0	/* seconds for a worker's handshake */
#define STOP_TIMEOUT		10.0	/* seconds before SIGKILL at exit */
#define STOP_KILL_GRACE		5.0	/* then seconds before giving up */
#define BACKOFF_FIRST		0.1	/* first restart delay, seconds */
#define BACKOFF_CAP		30.0
#define BACKOFF_STABLE		60.0	/* a run this long resets backoff */
#define RELOAD_ACK_TIMEOUT	10.0	/* seconds for workers to ack */
#define REOPEN_GAP		1.0	/* seconds between SIGUSR1 reopens */
#define EXIT_WORKER_CONFIG	2	/* worker cannot apply its config */
/* a worker's config needs a new process (worker.h WORKER_EXIT_RESPAWN) */
#define EXIT_WORKER_RESPAWN	3

enum wstate {
	W_DOWN = 0,
	W_STARTING,		/* forked, handshake running */
	W_RUNNING,		/* READY received */
	W_BACKOFF,		/* died, restart timer armed */
	W_STOPPING		/* asked to exit */
};

struct master;

/* The service manager's socket (notify.c); fd -1: none. */
struct notify {
	int			 fd;
	struct sockaddr_un	 sa;
	socklen_t		 salen;
	char			 err[256];	/* why it is not used */
	uint64_t		 watchdog_usec;	/* WATCHDOG_USEC; 0: none */
	ev_timer		 watchdog;	/* WATCHDOG=1 every half */
	struct ev_loop		*loop;
};

enum notify_state {
	NOTIFY_STATUS = 0,	/* STATUS= only */
	NOTIFY_READY,
	NOTIFY_RELOADING,
	NOTIFY_STOPPING
};

#define STATUS_OWED_NONE	0
#define STATUS_OWED_PULL	1	/* after a pull (the front) */
#define STATUS_OWED_NOW		2	/* once this turn's frames are in */

struct wslot {
	struct master		*m;
	enum role		 role;
	enum wstate		 state;
	pid_t			 pid;
	int			 reaped;	/* pid is gone: never signal it */
	struct frame_conn	*ctl;
	uint32_t		 restarts;
	unsigned		 failures;	/* consecutive short runs */
	ev_tstamp		 started_mono;
	time_t			 started_wall;
	char			 last_exit[128];
	char			 last_words[256];/* its last WARN/ERROR line */
	time_t			 last_exit_at;
	uint64_t		 acked_gen;
	/* the generation it last exited EXIT_WORKER_RESPAWN for */
	uint64_t		 respawn_gen;
	int			 respawning;	/* that successor not forked yet */
	pid_t			 peers[ROLE_MAX];
	struct worker_stats	 stats;		/* its last MSG_STATS */
	struct metric_set	 metrics;	/* and its typed samples */
	/* the storage of the set before, which the next MSG_STATS fills:
	 * the scheduler's is a megabyte with 60 plugins (stats.c) */
	struct metric_set	 metrics_spare;
	ev_timer		 setup_timer;
	ev_timer		 restart_timer;
	ev_timer		 killed_timer;	/* SIGKILL sent: reaped yet? */
	pid_t			 left;		/* killed, held in the kernel:
					 * reaped when it lets go */
	double			 heard;		/* its last frame, monotonic
					 * seconds (watchdog.c) */
	/* its MSG_STATUS_REQ not yet answered: one at a time (pull.c) */
	int			 status_owed;	/* STATUS_OWED_* */
	uint32_t		 status_reqid;
	struct warn_limit	 status_dropped;	/* requests while owed */
	struct warn_limit	 status_failed;	/* answers not sent */
	struct warn_limit	 status_cut;	/* samples left out */
	/* its role's log lines, over all its processes (lograte.h) */
	struct lograte		 lograte;
};

/* A /me/status or /metrics waiting for the workers' counters (pull.c). */
struct pull_asker {
	enum role		 role;
	pid_t			 pid;
	uint32_t		 reqid;		/* its request's */
	uint32_t		 pull_id;	/* the pull that answers it */
};

#define PULL_ASKERS_MAX		64

struct pull {
	ev_timer		 wait;		/* for the answers */
	ev_timer		 gap;		/* before the next pull */
	uint32_t		 id;		/* reqid of the last pull */
	int			 out;		/* it is waiting for answers */
	unsigned		 waiting;	/* roles yet to answer, bits */
	ev_tstamp		 started;
	struct pull_asker	 askers[PULL_ASKERS_MAX];
	size_t			 nasker;
	ev_prepare		 owed;		/* STATUS_OWED_NOW answers */
};

enum mphase {
	M_STARTING,		/* waiting for every worker's READY */
	M_RUNNING,
	M_STOPPING
};

/* spoolheld.c: the spool the sender holds, when not the configured one */
#define SPOOLHELD_SEEN_MAX	8	/* spool paths of configs remembered */
/* a change the sender reported is saved at most once a second */
#define SPOOLHELD_SAVE_EVERY	1.0
struct spoolheld {
	char			 held[CONF_STR_MAX];	/* "" = the config's */
	char			 seen[SPOOLHELD_SEEN_MAX][CONF_STR_MAX];
	size_t			 nseen;
	int			 pending;	/* held not saved yet */
	double			 save_next;	/* no save before (ev_now) */
	ev_timer		 save_timer;	/* then saves what is pending */
	uint64_t		 saves;		/* spoolheld_save() calls */
	struct warn_limit	 kept_warn;	/* reports: kept the old one */
	struct warn_limit	 left_warn;	/* left it */
	struct warn_limit	 unnamed_warn;	/* one no config named */
};

struct bounded;

struct master {
	struct ev_loop		*loop;
	enum mphase		 phase;
	struct agent_conf	 conf;
	char			 conf_path[PATH_MAX];	/* realpath(3) size */
	char			 exe[1024];
	int			 exe_fd;	/* our own image, for workers */
	uint64_t		 generation;
	uint64_t		 reloads_told;	/* reloadfile.h */
	int			 foreground;
	int			 unprivileged;
	struct wslot		 w[ROLE_MAX];
	int			 listen_tcp;	/* -1 when not listening */
	int			 listen_unix;
	struct logfile		 log;
	struct relay_set	 relays;	/* workers' stdio to a tty */
	/* the config's warnings at start, said before the log opened */
	struct strlist		 start_warnings;
	struct pidfile		 pidfile;
	int			 report_fd;	/* start result to the CLI */
	time_t			 started;
	int			 exit_code;
	char			 fail_reason[512];
	ev_signal		 sig_hup, sig_term, sig_int, sig_chld, sig_usr1;
	ev_timer		 stop_timer;
	int			 stop_killed;	/* stop_timer's SIGKILLs sent */
	ev_timer		 reload_timer;	/* acks of a new generation */
	ev_timer		 reopen_timer;	/* the last SIGUSR1 of a burst */
	ev_tstamp		 reopened_at;
	ev_timer		 watchdog_timer;	/* watchdog.c */
	double			 watchdog_tick_at;	/* monotonic */
	ev_timer		 orphan_timer;	/* orphans.c sweep */
	ev_prepare		 orphan_check;	/* a sweep in a turn */
	ev_tstamp		 orphan_swept_at;
	int			 orphan_children_fd;	/* ours, from /proc */
	pid_t			 orphan_self;
	pid_t			 orphan_last_killed;	/* logged */
	struct warn_limit	 orphan_warn;	/* a plugin leaves them at will */
	ev_tstamp		 orphan_busy_until;
	/* per role, what its dead processes counted (stats.c) */
	struct metric_set	 base[ROLE_MAX];
	struct pull		 pull;		/* fresh counters (pull.c) */
	struct notify		 notify;	/* systemd's, if any */
	int			 reload_asked;	/* SIGHUP while starting */
	int			 reloading;	/* RELOADING=1 sent, READY=1
						 * not yet */
	struct spoolheld	 spoolheld;
	int			 fds_warned;	/* no SO_PASSRIGHTS, said once */
	struct bounded		*users_pending;	/* users_wait.h */
};

/* master.c */
int	 master_start(const char *conf_path, int foreground);
/*
 * A worker died: a reload waiting for its ack is over if nobody else is
 * to ack (its next process is given the reload's config).
 */
void	 master_reload_worker_gone(struct master *);
/* MSG_STATUS, the worker table and counters as they are, to `to`. */
void	 master_send_status(struct master *, struct wslot *to,
	    uint32_t reqid);

/* pull.c */
void	 pull_init(struct master *);
void	 pull_stop(struct master *);
/*
 * MSG_STATUS_REQ from `w`: answered after a pull (the front) or at the end
 * of the turn; one while `w` has one unanswered is dropped.
 */
void	 pull_status_req(struct master *, struct wslot *w, uint32_t reqid);
/* A MSG_STATS from `w` came with `reqid` (0: a push). */
void	 pull_stats_in(struct master *, struct wslot *w, uint32_t reqid);
/* `w` died: do not wait for its answer. */
void	 pull_worker_gone(struct master *, struct wslot *w);


/* spoolheld.c */
/* A config naming `path` as [output] spool was loaded. */
void	 spoolheld_configured(struct master *, const char *path);
/* A reload from spool `prev` to `next`: the old one held till told. */
void	 spoolheld_reload(struct master *, const char *prev,
	    const char *next);
/*
 * MSG_SPOOL_INUSE at `now` (ev_now): the sender holds `path` ("" = memory
 * only).  Saved at once, or within SPOOLHELD_SAVE_EVERY of the last save
 * (the last state wins); its lines are rate-limited (warn_limit.h).
 */
void	 spoolheld_report(struct master *, const char *path, double now);
/* Save a change not saved yet: at the master's exit, */
void	 spoolheld_flush(struct master *);
/* and by the timer spoolheld_report() started, at `now`. */
void	 spoolheld_save_due(struct master *, double now);
/* The spool to give a sender being started, when not the config's. */
const char *spoolheld_for_start(const struct master *);

/* spoolheld_file.c: the held spool across a restart, by the pidfile */
/* Write the held spool now (nothing is pending after it). */
void	 spoolheld_save(struct master *);
/* At start, once the pidfile is taken and the config's dirs prepared. */
void	 spoolheld_restore(struct master *);

/* spawn.c */
int	 spawn_worker(struct master *, struct wslot *);
int	 spawn_wire_edge(struct master *, const struct edge_def *,
	    struct wslot **failed);
void	 spawn_wire_worker(struct master *, struct wslot *);
/* `starting`: a new process, given the spool its predecessor held. */
int	 spawn_send_conf(struct master *, struct wslot *, int starting);
int	 spawn_send_listeners(struct master *, struct wslot *);

/* outfile.c */
/* Does going from a to b change the file the sender is given? */
int	 outfile_changed(const struct agent_conf *a,
	    const struct agent_conf *b);
/*
 * Open the file output of `c` and send it to the sender w (or that there
 * is none, or why it could not be opened; with `keep`, nothing is sent
 * then and the sender goes on with what it has).  0 or -1.
 */
int	 outfile_send(struct master *, struct wslot *,
	    const struct agent_conf *, int keep);

/* listen.c */
int	 listen_open(const struct agent_conf *, int *tcp, int *unixfd,
	    char *err, size_t errlen);
void	 listen_close(const struct agent_conf *, int *tcp, int *unixfd);

/* supervise.c */
void	 supervise_reap(struct master *);
void	 supervise_ready(struct master *, struct wslot *);
void	 supervise_kill(struct wslot *, const char *why);
const char *supervise_state_name(enum wstate);
void	 supervise_init_slot(struct master *, struct wslot *, enum role);
/* Seconds on the monotonic clock (watchdog.c): what a wall clock
 * stepped by NTP must not stretch or shrink. */
double	 watchdog_mono_now(void);
/* Delay before the next restart; updates the count of quick deaths. */
double	 supervise_backoff(unsigned *failures, double ran, int config_error);
/* Whether wait status `status` asks a restart at once to apply
 * `generation` (supervise.c); notes it in *respawn_gen if so. */
int	 supervise_respawn_due(uint64_t generation, uint64_t acked_gen,
	    uint64_t *respawn_gen, int status);

/* watchdog.c: hung workers killed ([agent] workertimeout) */
/* (Re)arm after the config changed; 0 = off. */
void	 watchdog_apply(struct master *);
void	 watchdog_stop(struct master *);
/* A frame from w (or its start): it is alive. */
void	 watchdog_heard(struct master *, struct wslot *);

/* orphans.c */
int	 orphans_become_subreaper(void);
void	 orphans_start(struct master *);
/* No more sweeps on the loop; the children file closed. */
void	 orphans_stop(struct master *);
/* Kill our children that are not workers; how many were found.  After
 * orphans_start(), which learns who we are. */
int	 orphans_sweep(struct master *);
/* Plugins or git ran: sweep often for a while (orphans.c). */
void	 orphans_activity(struct master *);
/*
 * orphans_tree.c: SIGKILL to `root` and every process under it (at most
 * `max` in all; what is left over comes back to the master, its
 * subreaper, once its parent is killed, for a later sweep).  How many
 * were found.
 */
int	 orphans_kill_tree(pid_t root, size_t max);

/* stats.c */
struct preader;
/* MSG_STATS from `w`; 0, or -1 with err (a protocol error). */
int	 stats_worker_msg(struct wslot *, struct preader *, char *err,
	    size_t errlen);
/* `w` died: its counters join its role's base. */
void	 stats_worker_died(struct master *, struct wslot *);
/* Every sample: the master's, and each role's base plus its worker's. */
/* Every role's samples but those of the roles in the `skip` bit mask. */
int	 stats_table(struct master *, struct metric_set *out, unsigned skip);
/* The same with at most `keep` samples of role `cut` (ROLE_MAX: none
 * cut), the living worker's first. */
int	 stats_table_cut(struct master *, struct metric_set *out,
	    unsigned skip, enum role cut, size_t keep);
/* At most how many samples the role has in the table. */
size_t	 stats_role_samples(const struct master *, enum role);
/* The role with the most samples not in `skip`, or ROLE_MAX. */
enum role stats_largest(const struct master *, unsigned skip);
void	 stats_free(struct master *);

/* notify.c */
void	 notify_init(struct notify *);
/*
 * From NOTIFY_SOCKET (then removed from the environment); 0 when there
 * is none or it is usable, -1 with n->err when it is not (logged by the
 * caller, whose log may not be open yet).
 */
int	 notify_open(struct notify *);
void	 notify_close(struct notify *);
/*
 * With WATCHDOG_USEC (systemd's WatchdogSec=), WATCHDOG=1 every half of
 * it from the loop: a master whose loop hangs is restarted by the
 * service manager.  Stopped by notify_close().
 */
void	 notify_watchdog_start(struct notify *, struct ev_loop *);
/* Send one state; nothing without a socket, failures logged. */
void	 notify_send(struct notify *, enum notify_state, const char *status);
/* The datagram: 0 when it does not fit in len. */
size_t	 notify_build(char *buf, size_t len, enum notify_state,
	    uint64_t monotonic_usec, const char *status);
/* NOTIFY_SOCKET's value as an address; 0, or -1 with err. */
int	 notify_address(const char *, struct sockaddr_un *, socklen_t *,
	    char *err, size_t errlen);

/* daemon.c */
int	 daemon_detach(int *report_fd, char *err, size_t errlen);
void	 daemon_report(int *report_fd, int ok, const char *msg);

/* master.c, used by the modules above */
void	 master_fail_start(struct master *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 master_check_stopped(struct master *);
void	 master_started(struct master *);
void	 master_log_sink(enum log_level, const char *msg, void *arg);
/* The callbacks of a worker's control edge, given by spawn_worker(). */
void	 master_ctl_msg(struct frame_conn *, struct frame_in *, void *);
void	 master_ctl_close(struct frame_conn *, const char *, void *);

#endif
