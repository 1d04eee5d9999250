/*
 * One plugin run, on the scheduler's event loop: started by child.c in a
 * new session (its own process group), stdout captured up to a cap, the
 * tail of stderr kept, a timeout (SIGTERM to the group, a grace, then
 * SIGKILL to the group), and after the plugin is gone, SIGKILL to what
 * is left of its group.  Every child is reaped here, each through its
 * own pidfd (one owner of reaping, DESIGN.md 8): the scheduler has no
 * other children, and is no subreaper, so no orphan comes to it.
 *
 * The runner knows nothing about plugins, items or points: it runs a
 * command and reports how it ended, so it can be tested on its own.
 */
#ifndef AGENT_SCHEDULER_RUN_H
#define AGENT_SCHEDULER_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#include "scheduler_isolate.h"

#define RUN_STDERR_TAIL	4096	/* bytes of stderr kept (the last ones) */
#define RUN_GRACE	2.0	/* seconds from SIGTERM to SIGKILL */

struct run_spec {
	const char	*dir;		/* working directory */
	const char	*path;		/* the executable (absolute) */
	char *const	*argv;		/* argv[0] first, NULL-terminated */
	char *const	*envp;		/* the whole environment */
	double		 timeout;	/* seconds; then SIGTERM to the group */
	double		 grace;		/* SIGTERM to SIGKILL, seconds */
	size_t		 outmax;	/* stdout bytes kept; more kills it */
	long long	 nproc;		/* RLIMIT_NPROC, > 0 (child.h) */
	long long	 data;		/* RLIMIT_DATA, > 0 (child.h) */
	int		 nice;		/* this much nicer, > 0 (child.h) */
};

struct run_result {
	pid_t		 pid;
	int		 exited;	/* exit() ended it: status is valid */
	int		 status;	/* exit status */
	int		 signo;		/* or this signal, 0 = none */
	int		 timed_out;	/* the timeout killed it */
	int		 output_over;	/* stdout over outmax: killed */
	int		 stopped;	/* killed because the runner stops */
	double		 duration;	/* seconds from start to reaping */
	const char	*out;		/* stdout, NUL-terminated; valid in
					 * the callback only */
	size_t		 outlen;
	size_t		 outmax;	/* the spec's, for messages */
	double		 timeout;	/* the spec's, for messages */
	char		 err[320];	/* the exec failed: which step, why */
	char		 errtail[RUN_STDERR_TAIL + 1];	/* stderr, last bytes,
							 * NUL-terminated */
	size_t		 errtotal;	/* stderr bytes read in all */
};

/* The run ended (reaped, sockets drained); it is freed after the call. */
typedef void (*run_done_cb)(const struct run_result *, void *arg);

struct runner;
struct run;

/*
 * Every run in a Landlock domain of its own where the kernel can
 * (scheduler_isolate.h); max_abi caps the ABI used (0: none, and
 * ISOLATE_ABI_OFF: no domain at all).  _isolate changes that for the
 * runs started from then on, and says what they get.
 */
struct runner	*scheduler_runner_new(struct ev_loop *, int max_abi);
enum isolate_kind scheduler_runner_isolate(struct runner *, int max_abi);
enum isolate_kind scheduler_runner_isolation(const struct runner *);
/* Kills (SIGKILL) and reaps what still runs, without callbacks. */
void		 scheduler_runner_free(struct runner *);

/*
 * Start `spec` (child_spawn: everything prepared before, only raw
 * system calls in the child).  NULL with err when it could not start at
 * all (no such plugin file, not executable, out of descriptors, clone
 * failed): no callback then.  An exec that fails in the child is
 * reported through the callback, with result.err saying why.
 */
struct run	*scheduler_run_start(struct runner *, const struct run_spec *,
		    run_done_cb, void *arg, char *err, size_t errlen);

/* SIGTERM to every group now, SIGKILL after `grace`; callbacks follow. */
void		 scheduler_runner_stop_all(struct runner *, double grace);
/* Runs not yet reaped. */
size_t		 scheduler_runner_active(const struct runner *);

/* 1 when the run went well: exit 0, no timeout, output within the cap. */
int		 scheduler_run_ok(const struct run_result *);
/*
 * Why a run failed, in one line: "exit status 3", "killed by signal 9
 * after the timeout of 10 s", "output over 1048576 bytes", "exec
 * ./plugin: Permission denied"; "" when scheduler_run_ok().
 */
void		 scheduler_run_describe(const struct run_result *, char *buf,
		    size_t len);

#endif
