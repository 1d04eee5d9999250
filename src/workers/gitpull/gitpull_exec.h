/*
 * Running one git command for the gitpull worker without blocking its
 * event loop: started by child.c (execve, no shell), its own process
 * group, umask 022, stdin /dev/null, stdout and stderr read through
 * non-blocking pipes (bounded), a timeout after which the whole group
 * gets SIGKILL, and the child reaped from a SIGCHLD watcher.
 */
#ifndef AGENT_GITPULL_EXEC_H
#define AGENT_GITPULL_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#define GEXEC_OUT_MAX	(64 * 1024)	/* bytes of stdout kept */
#define GEXEC_ERR_TAIL	4096		/* last bytes of stderr kept */

struct gexec_result {
	pid_t		 pid;		/* also the process group */
	int		 exited;	/* 1: status is the exit code */
	int		 status;	/* exit code, or the killing signal */
	int		 timed_out;	/* the timeout killed the group */
	int		 killed;	/* gitpull_exec_kill() killed it */
	const char	*out;		/* stdout, NUL-terminated */
	size_t		 outlen;
	int		 out_truncated;	/* more than GEXEC_OUT_MAX was written */
	const char	*err;		/* tail of stderr, NUL-terminated */
	double		 duration;	/* seconds */
};

struct gexec;

/* Called once, when the child is reaped; the result lives until return. */
typedef void	(*gexec_cb)(const struct gexec_result *, void *arg);

/*
 * The memory (RLIMIT_DATA) of a git that may write files of `fsize`
 * bytes: a pack under that limit can hold objects of any size (zeros
 * compress a thousandfold), which git inflates in memory to hash them,
 * and a server may advertise refs without end; the host's memory is not
 * the server's to take.  Room for an object of that size twice (a delta
 * and its base), and GEXEC_DATA_BASE for git itself.
 */
#define GEXEC_DATA_BASE		(256LL * 1024 * 1024)
#define GEXEC_DATA(fsize)	\
	((fsize) > 0 ? 2 * (fsize) + GEXEC_DATA_BASE : 0)

/*
 * Start `path` with `argv` and `envp` in directory `cwd`, no file it
 * writes larger than `fsize` bytes (0: no limit; a write past it fails,
 * "File too large") and its memory bounded by GEXEC_DATA(fsize) (an
 * allocation past it fails: "Out of memory").  NULL with a reason in
 * err when nothing could be started (the callback never runs).
 */
struct gexec	*gitpull_exec_start(struct ev_loop *, const char *path,
		    char *const argv[], char *const envp[], const char *cwd,
		    double timeout, long long fsize, gexec_cb, void *arg,
		    char *err, size_t errlen);
pid_t		 gitpull_exec_pid(const struct gexec *);
/* SIGKILL to the group; the callback still runs when it is reaped. */
void		 gitpull_exec_kill(struct gexec *);
/* SIGKILL to the group, reap it now, free; the callback never runs. */
void		 gitpull_exec_abort(struct gexec *);

#endif
