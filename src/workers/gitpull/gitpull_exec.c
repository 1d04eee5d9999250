/*
 * One git command as a child of the gitpull worker; see gitpull_exec.h.
 *
 * The child is reaped from a SIGCHLD watcher (ev_child needs the default
 * loop, workers have their own).  Its exit is first seen with WNOWAIT:
 * while the leader is a zombie its pid cannot be reused, so the SIGKILL
 * to the group that follows cannot hit a stranger, and a helper git left
 * behind (git-remote-http, ssh) dies with it.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "gitpull_exec.h"
#include "util.h"

#define GEXEC_READS_PER_CB	64	/* reads of a pipe a wakeup, at most */
#define GEXEC_REAP_EVERY	0.2	/* seconds, once killed */

struct gexec {
	struct ev_loop	*loop;
	pid_t		 pid;
	int		 outfd;		/* -1 once closed */
	int		 errfd;
	ev_io		 out_io;
	ev_io		 err_io;
	ev_signal	 chld;
	ev_timer	 timer;
	char		*out;		/* GEXEC_OUT_MAX + 1 */
	size_t		 outlen;
	int		 out_truncated;
	char		 err[GEXEC_ERR_TAIL + 1];
	size_t		 errlen;
	int		 timed_out;
	int		 killed;
	ev_tstamp	 started;
	gexec_cb	 cb;
	void		*arg;
};

static void
close_pipe(struct gexec *g, int *fd, ev_io *io)
{
	if (*fd == -1)
		return;
	ev_io_stop(g->loop, io);
	(void)close(*fd);
	*fd = -1;
}

/*
 * Read what is there: until EAGAIN (more may come) or EOF (closed), or
 * GEXEC_READS_PER_CB reads: a writer as fast as we read (a server's
 * endless "remote:" lines on git's stderr, or a process that escaped
 * the group, after it ended) would otherwise keep the loop here, and
 * the worker from answering anyone, the master's watchdog included.
 * The watcher, level-triggered, brings us back for the rest.  Past the
 * stdout limit the bytes are read and dropped, so git never blocks on a
 * full pipe.
 */
static void
drain(struct gexec *g, int is_err)
{
	char	 scratch[4096];
	int	*fd = is_err ? &g->errfd : &g->outfd;
	ev_io	*io = is_err ? &g->err_io : &g->out_io;
	char	*dst;
	size_t	 room;
	ssize_t	 n;
	int	 reads;

	for (reads = 0; *fd != -1 && reads < GEXEC_READS_PER_CB; reads++) {
		if (!is_err && g->outlen < GEXEC_OUT_MAX) {
			dst = g->out + g->outlen;
			room = GEXEC_OUT_MAX - g->outlen;
		} else {
			dst = scratch;
			room = sizeof(scratch);
		}
		n = read(*fd, dst, room);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_pipe(g, fd, io);
			return;
		}
		if (is_err)
			/* the error is at the end */
			util_tail_append(g->err, GEXEC_ERR_TAIL, &g->errlen,
			    scratch, (size_t)n);
		else if (dst == scratch)
			g->out_truncated = 1;
		else
			g->outlen += (size_t)n;
	}
}

static void
out_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	drain(io->data, 0);
}

static void
err_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	drain(io->data, 1);
}

static void
gexec_free(struct gexec *g)
{
	close_pipe(g, &g->outfd, &g->out_io);
	close_pipe(g, &g->errfd, &g->err_io);
	ev_signal_stop(g->loop, &g->chld);
	ev_timer_stop(g->loop, &g->timer);
	free(g->out);
	free(g);
}

static void
gexec_finish(struct gexec *g, int wstatus, int lost)
{
	struct gexec_result	 r;

	/* what the group wrote before it died is in the pipes */
	drain(g, 0);
	drain(g, 1);
	g->out[g->outlen] = '\0';
	g->err[g->errlen] = '\0';
	memset(&r, 0, sizeof(r));
	r.pid = g->pid;
	if (lost) {
		r.exited = 0;
		r.status = 0;
	} else if (WIFEXITED(wstatus)) {
		r.exited = 1;
		r.status = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus))
		r.status = WTERMSIG(wstatus);
	r.timed_out = g->timed_out;
	r.killed = g->killed;
	r.out = g->out;
	r.outlen = g->outlen;
	r.out_truncated = g->out_truncated;
	r.err = g->err;
	r.duration = ev_now(g->loop) - g->started;
	if (r.duration < 0)
		r.duration = 0;
	g->cb(&r, g->arg);
	gexec_free(g);
}

/* Reap the child if it has ended; nothing if it goes on. */
static void
gexec_reap(struct gexec *g)
{
	siginfo_t	 si;
	int		 st = 0, r;

	/* every SIGCHLD wakes every watcher: is it ours? */
	memset(&si, 0, sizeof(si));
	while ((r = waitid(P_PID, (id_t)g->pid, &si,
	    WEXITED | WNOHANG | WNOWAIT)) == -1 && errno == EINTR)
		;
	if (r == -1) {
		/* someone else reaped it: nothing to kill, status unknown */
		gexec_finish(g, 0, 1);
		return;
	}
	if (si.si_pid == 0)
		return;
	/* the zombie holds the pid: the group cannot be a stranger's */
	(void)kill(-g->pid, SIGKILL);
	while (waitpid(g->pid, &st, 0) == -1 && errno == EINTR)
		;
	gexec_finish(g, st, 0);
}

static void
chld_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	gexec_reap(s->data);
}

/*
 * The timeout: SIGKILL to the group, then SIGCHLD finishes it.  And a
 * look every GEXEC_REAP_EVERY seconds after that, should a SIGCHLD not
 * reach the loop: the operation holds a slot of gitpull's until the git
 * is reaped.  (No SIGCHLD was ever seen lost: the git of a test seen a
 * zombie 18 s after its kill in make check was the test's own loop held,
 * by its read of the /proc/<pid>/stat of a stranger held in execve.)
 */
static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gexec	*g = t->data;

	if (!g->timed_out) {
		g->timed_out = 1;
		(void)kill(-g->pid, SIGKILL);
		ev_timer_set(t, GEXEC_REAP_EVERY, GEXEC_REAP_EVERY);
		ev_timer_start(loop, t);
		return;
	}
	gexec_reap(g);
}

struct gexec *
gitpull_exec_start(struct ev_loop *loop, const char *path, char *const argv[],
    char *const envp[], const char *cwd, double timeout, long long fsize,
    gexec_cb cb, void *arg, char *err, size_t errlen)
{
	struct child_spec	 cs;
	struct child_fail	 fail;
	struct gexec		*g;
	char			 msg[1024];
	int			 devnull = -1, op[2] = { -1, -1 };
	int			 ep[2] = { -1, -1 }, saved, n;
	pid_t			 pid;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->out = malloc(GEXEC_OUT_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
		goto fail;
	}
	if (pipe2(op, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    fcntl(op[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(ep[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	g->loop = loop;
	g->cb = cb;
	g->arg = arg;
	g->outfd = op[0];
	g->errfd = ep[0];
	/* before the start: a quick exit must not come before the watcher */
	ev_signal_init(&g->chld, chld_cb, SIGCHLD);
	g->chld.data = g;
	ev_signal_start(loop, &g->chld);
	/*
	 * Its own process group: the timeout kills git and every helper
	 * at once.  umask 022: the scheduler's user must be able to read
	 * what git writes.  The group exists when this returns (the child
	 * has exec'd by then), so a kill right away reaches it.
	 */
	child_spec_init(&cs);
	cs.path = path;
	cs.argv = argv;
	cs.envp = envp;
	cs.dir = cwd;
	cs.fd[0] = devnull;
	cs.fd[1] = op[1];
	cs.fd[2] = ep[1];
	/*
	 * A session of its own, not only a group: what git runs (a filter
	 * a checkout's config names, when plugins can write checkouts)
	 * cannot join the agent's group with setpgid, which takes only a
	 * group of its session.
	 */
	cs.flags = CHILD_SETSID;
	cs.umask = 022;
	cs.fsize = fsize;
	cs.data = GEXEC_DATA(fsize);
	if ((pid = child_spawn(&cs, &fail)) == -1) {
		saved = errno;
		ev_signal_stop(loop, &g->chld);
		snprintf(err, errlen, "cannot start %s: %s", path,
		    strerror(saved));
		goto fail;
	}
	g->pid = pid;
	/* it has exited 127; the result says why, as git's stderr would */
	if (fail.step != CHILD_STEP_NONE) {
		n = snprintf(msg, sizeof(msg), "agent gitpull: %s %s: %s\n",
		    child_step_name(fail.step), fail.step == CHILD_STEP_CHDIR ?
		    cwd : path, strerror(fail.err));
		if (n > 0)
			util_tail_append(g->err, GEXEC_ERR_TAIL, &g->errlen,
			    msg, (size_t)n < sizeof(msg) ? (size_t)n :
			    sizeof(msg) - 1);
	}
	(void)close(devnull);
	(void)close(op[1]);
	(void)close(ep[1]);
	ev_io_init(&g->out_io, out_cb, g->outfd, EV_READ);
	g->out_io.data = g;
	ev_io_start(loop, &g->out_io);
	ev_io_init(&g->err_io, err_cb, g->errfd, EV_READ);
	g->err_io.data = g;
	ev_io_start(loop, &g->err_io);
	ev_now_update(loop);
	g->started = ev_now(loop);
	ev_timer_init(&g->timer, timer_cb, timeout, 0.);
	g->timer.data = g;
	ev_timer_start(loop, &g->timer);
	return g;
fail:
	if (devnull != -1)
		(void)close(devnull);
	if (op[0] != -1) {
		(void)close(op[0]);
		(void)close(op[1]);
	}
	if (ep[0] != -1) {
		(void)close(ep[0]);
		(void)close(ep[1]);
	}
	if (g != NULL)
		free(g->out);
	free(g);
	return NULL;
}

pid_t
gitpull_exec_pid(const struct gexec *g)
{
	return g->pid;
}

void
gitpull_exec_kill(struct gexec *g)
{
	g->killed = 1;
	(void)kill(-g->pid, SIGKILL);
}

void
gitpull_exec_abort(struct gexec *g)
{
	(void)kill(-g->pid, SIGKILL);
	while (waitpid(g->pid, NULL, 0) == -1 && errno == EINTR)
		;
	gexec_free(g);
}
