/*
 * agent test and agent plugin run (testmode*.c): what the daemon would
 * run, run as it would, its points printed instead of published.
 *
 * The command plays the master and the sender, and the front and the
 * scheduler towards the fetcher:
 *   - the fetcher and gitpull are the real workers (fork and exec of
 *     `agent worker ROLE`, the same handshake as the master's): the
 *     registry (HTTP, file, or the last-good cache when it fails) and the
 *     checkouts (clones, signature checks) are theirs;
 *   - the plugins run in a forked child that hosts the scheduler's code
 *     (worker_host_init, scheduler_once): pluginsuser, its sandbox, its
 *     environment, timeouts and output parsing; gitpull is its peer;
 *   - the system collectors run in a forked child that hosts the
 *     collector's code (collector_once): two samples a second apart;
 *   - whatever they would send the sender comes here as MSG_POINTS and
 *     is printed in the output's format; no sender runs, nothing is
 *     published.
 *
 *   testmode.c        the commands: options, the phases, the exit code
 *   testmode_proc.c   processes and edges: spawn, handshake, logs, reaping
 *   testmode_fetch.c  the registry through the fetcher
 *   testmode_print.c  the points as the file output would write them
 */
#ifndef AGENT_TESTMODE_H
#define AGENT_TESTMODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "conf.h"
#include "encode.h"
#include "frame.h"
#include "items.h"
#include "log.h"
#include "points_msg.h"
#include "proto.h"
#include "relay.h"

struct testmode;
struct worker;

/* One process of the test: a real worker or a hosted child. */
struct tm_proc {
	struct testmode		*tm;
	enum role		 role;
	pid_t			 pid;		/* 0: not started */
	struct frame_conn	*ctl;
	int			 ready;
	int			 reaped;
	int			 status;	/* wait status once reaped */
};

/* What a producer sent the "sender", kept to be printed. */
struct tm_batch {
	enum out_format		 fmt;
	char			 topic[TOPIC_MAX + 1];
	uint32_t		 npoints;
	char			*data;
	size_t			 len;
};

struct testmode {
	struct ev_loop		*loop;
	struct relay_set	 relays;	/* workers' stdio to a tty */
	struct agent_conf	 conf;
	enum log_level		 show;		/* workers' lines shown */
	int			 failed;	/* something went wrong */

	struct tm_proc		 fetcher;
	struct tm_proc		 gitpull;
	struct tm_proc		 sched;
	struct tm_proc		 collector;
	struct tm_proc		*stopping;	/* testmode_stop() waits */

	/* the fetcher's answers (testmode_fetch.c) */
	struct frame_conn	*as_front;
	struct frame_conn	*as_sched;
	int			 fetcher_up;
	uint32_t		 refresh_reqid;
	int			 refreshed;
	int			 refresh_ok;
	char			 refresh_err[1024];
	struct items		 items;
	int			 have_items;

	/* the points (testmode_print.c) */
	struct frame_conn	*sink[2];	/* scheduler's, collector's */
	struct tm_batch		*batches;
	size_t			 nbatches;
	size_t			 cap;
	size_t			 npoints;
};

/* testmode.c */
int	 testmode_test(int argc, char **argv);
int	 testmode_plugin_run(int argc, char **argv);

/* testmode_proc.c */
/* fork + exec `agent worker ROLE` with a control edge; 0 or -1 (said). */
int	 testmode_spawn(struct testmode *, struct tm_proc *, enum role);
/* Give a spawned worker its config, one peer edge end each, SETUP_END. */
int	 testmode_setup(struct testmode *, struct tm_proc *,
	    const enum role *peers, const int *fds, size_t n);
/*
 * fork a child that hosts `role` (worker_host_*): `sink` its edge to the
 * sender (us), `gitfd` its edge to gitpull (-1: none); `body` runs in
 * the child after the sandbox and gives its exit code.
 */
int	 testmode_host(struct testmode *, struct tm_proc *, enum role,
	    int sinkfd, int gitfd,
	    int (*body)(struct worker *, void *), void *arg);
/* Our end of an edge: frame conn with the rules of `self`'s side. */
struct frame_conn *testmode_edge(struct testmode *, int fd, enum role self,
	    enum role other, frame_msg_cb, frame_close_cb, void *arg);
/* HELLO as `self` on our end of an edge; 0 or -1. */
int	 testmode_hello(struct frame_conn *, enum role self);
/* Run the loop until cond(tm) or `seconds` pass; 1 when cond held. */
int	 testmode_wait(struct testmode *, int (*cond)(struct testmode *),
	    double seconds);
/* MSG_SHUTDOWN, then SIGKILL after `grace` s; reaped on return. */
void	 testmode_stop(struct testmode *, struct tm_proc *, double grace);
/* "exited with status 1", "killed by signal 9 (Killed)". */
void	 testmode_describe(int status, char *buf, size_t len);

/* testmode_fetch.c */
/* The fetcher's items after a refresh; 0, or -1 (said on stderr). */
int	 testmode_fetch(struct testmode *);

/* testmode_print.c */
/* Our end of a producer's edge to the sender; NULL on failure. */
struct frame_conn *testmode_sink(struct testmode *, int fd, enum role from);
/* Every batch, in the output's format, on standard output. */
int	 testmode_print(struct testmode *);
void	 testmode_batches_free(struct testmode *);

#endif
