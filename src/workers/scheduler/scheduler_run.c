/*
 * Running one plugin: start (child.c), capture, timeout, kill, reap.
 *
 * A run costs the scheduler a wakeup for each thing it waits for, and on
 * a virtual machine a wakeup is dearer than the system calls around it,
 * so a run is built to need one: its end.
 *  - The end comes through a pidfd on the event loop (child.c's
 *    CLONE_PIDFD), not a SIGCHLD handler: no signal frame, no self-pipe
 *    to relay it, no waitid over every child to find whose it was, and
 *    the channels are drained in the same turn.  With no handler, SIGCHLD
 *    keeps its default action, so the kernel drops it where it is sent
 *    and wakes nobody (it would reap for us only if it were SIG_IGN).
 *  - The channels are not watched for the first RUN_QUIET seconds: most
 *    plugins print and exit well within that, and their output waits in
 *    the channel until the end is read (a pipe holds 64 KiB; a socket
 *    pair some 200 KiB in large writes, but every write is a buffer of
 *    its own: a few hundred small ones fill it).  A plugin that says
 *    more stops in write() until then; one that runs longer is read as
 *    it writes from then on, as before.
 *
 * stdout and stderr: every plugin runs as pluginsuser and is dumpable,
 * so any other plugin may open /proc/<pid>/fd/1, and an open there of a
 * pipe is a new file on that very pipe, to read the plugin's output
 * before we do or to write points in its name.  A run in a Landlock
 * domain of its own (scheduler_isolate.h, the default) is out of reach
 * of that open (EACCES: it needs ptrace access, which the domain
 * refuses before the kernel looks at the descriptor), so its output
 * goes through pipes, the cheapest channel.  A run without one gets
 * socket pairs, whose open fails (ENXIO); pidfd_getfd and ptrace, which
 * need no open, the seccomp filter refuses.  But a socket takes
 * descriptors (SCM_RIGHTS), and one we read past is closed in our name:
 * a TCP socket set to linger with unsent data blocks that close, the
 * scheduler with it, as long as the plugin asked.  So our end refuses
 * them (SO_PASSRIGHTS off, Linux 6.16); on a kernel without that, the
 * output goes through pipes all the same (run_channel()).
 */
#include "scheduler_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/sys/queue.h>

#include "buf.h"
#include "child.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK	65536
#define READS_PER_CB	16	/* chunks per wakeup: others get a turn */
#define READS_DRAIN	64	/* chunks at the end: a writer that escaped
				 * the group must not keep us here */
#define RUN_QUIET	0.05	/* seconds before the channels are watched */
#define RUN_REAP_RETRY	0.1	/* s between reaps of a zombie a tracer holds */

struct run {
	TAILQ_ENTRY(run)	 entry;
	struct runner		*rn;
	pid_t			 pid;
	int			 pidfd;		/* readable at its end */
	int			 outfd;		/* -1 once closed */
	int			 errfd;
	ev_io			 pid_w;
	ev_io			 out_w;
	ev_io			 err_w;
	ev_timer		 quiet;		/* then the channels are watched */
	ev_timer		 timer;		/* timeout, then grace */
	ev_timer		 reap;		/* held by a tracer: again */
	int			 term_sent;
	int			 reaped;	/* its pid may be reused */
	double			 grace;
	ev_tstamp		 started;
	struct buf		 out;
	char			 tail[RUN_STDERR_TAIL];
	size_t			 taillen;
	run_done_cb		 cb;
	void			*arg;
	struct run_result	 res;
};

TAILQ_HEAD(runlist, run);

struct runner {
	struct ev_loop		*loop;
	int			 devnull;	/* every plugin's stdin */
	int			 pipes;		/* no SO_PASSRIGHTS here */
	int			 landlock;	/* each run's domain; -1 */
	enum isolate_kind	 isolation;
	struct runlist		 runs;
	size_t			 n;
};

static void	 run_finish(struct run *, int status);

/* The group is the plugin's session: kill(-pid) reaches all of it. */
static void
run_kill_group(struct run *r, int sig)
{
	if (r->reaped)
		return;
	if (kill(-r->pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill(-%ld, %d)", __func__, (long)r->pid, sig);
}

static void
run_close_out(struct run *r)
{
	if (r->outfd == -1)
		return;
	ev_io_stop(r->rn->loop, &r->out_w);
	close(r->outfd);
	r->outfd = -1;
}

static void
run_close_err(struct run *r)
{
	if (r->errfd == -1)
		return;
	ev_io_stop(r->rn->loop, &r->err_w);
	close(r->errfd);
	r->errfd = -1;
}

/*
 * Read what stdout holds.  Past the cap the plugin is killed: nothing it
 * says after that can be used, and it must not fill memory or block.
 * `drain`: the plugin is gone, read what the channel holds: to EAGAIN or
 * EOF, or a read that fills less than the chunk, which found it empty (a
 * read spared), READS_DRAIN chunks at most (a process that escaped the
 * group may still write; it gets EPIPE once we close).
 */
static void
run_read_out(struct run *r, int drain)
{
	char	 chunk[READ_CHUNK];
	ssize_t	 n;
	size_t	 room;
	int	 i;

	for (i = 0; r->outfd != -1 && i < (drain ? READS_DRAIN :
	    READS_PER_CB); i++) {
		n = read(r->outfd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n == -1)
				log_warn("%s: read stdout of %ld", __func__,
				    (long)r->pid);
			run_close_out(r);
			return;
		}
		/*
		 * Killed before its channel is closed: a socket closed with
		 * bytes unread fails the writer's next write with ECONNRESET,
		 * not SIGPIPE, and a plugin could end on its own first.
		 */
		room = r->res.outmax - r->out.len;
		if ((size_t)n > room) {
			buf_add(&r->out, chunk, room);
			r->res.output_over = 1;
			run_kill_group(r, SIGKILL);
			run_close_out(r);
			return;
		}
		buf_add(&r->out, chunk, (size_t)n);
		if (buf_failed(&r->out)) {
			/* as good as over the cap: nothing usable */
			r->res.output_over = 1;
			run_kill_group(r, SIGKILL);
			run_close_out(r);
			return;
		}
		if (drain && (size_t)n < sizeof(chunk))
			return;
	}
}

/* Keep the last RUN_STDERR_TAIL bytes of stderr. */
static void
run_read_err(struct run *r, int drain)
{
	char	 chunk[READ_CHUNK];
	ssize_t	 n;
	int	 i;

	for (i = 0; r->errfd != -1 && i < (drain ? READS_DRAIN :
	    READS_PER_CB); i++) {
		n = read(r->errfd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			run_close_err(r);
			return;
		}
		r->res.errtotal += (size_t)n;
		util_tail_append(r->tail, sizeof(r->tail), &r->taillen, chunk,
		    (size_t)n);
		if (drain && (size_t)n < sizeof(chunk))
			return;
	}
}

static void
out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	run_read_out(w->data, 0);
}

static void
err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	run_read_err(w->data, 0);
}

/* The run outlasted RUN_QUIET: read what it says as it says it. */
static void
quiet_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct run	*r = t->data;

	if (r->outfd != -1)
		ev_io_start(loop, &r->out_w);
	if (r->errfd != -1)
		ev_io_start(loop, &r->err_w);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct run	*r = t->data;

	if (!r->term_sent) {
		r->term_sent = 1;
		if (!r->res.stopped)
			r->res.timed_out = 1;
		log_debug("pid %ld: %s; SIGTERM to its group", (long)r->pid,
		    r->res.stopped ? "stopping" : "timed out");
		run_kill_group(r, SIGTERM);
		ev_timer_set(t, r->grace, 0.);
		ev_timer_start(loop, t);
		return;
	}
	log_debug("pid %ld: still there after %.1f s; SIGKILL to its group",
	    (long)r->pid, r->grace);
	run_kill_group(r, SIGKILL);
}

/* Our own child could not be waited for: say so in the run's result. */
static void
run_lost(struct run *r, const char *call)
{
	snprintf(r->res.err, sizeof(r->res.err), "%s(pid %ld): %s", call,
	    (long)r->pid, strerror(errno));
	log_warnx("run: %s", r->res.err);
}

/*
 * The plugin has ended (its pidfd is readable): a zombie until we reap
 * it, so it holds its pid while the rest of its group is killed, and the
 * group id cannot have been reused by then.  No waitid(WNOWAIT) to make
 * sure first: the kernel marks the process a zombie before its pidfd
 * polls readable.
 *
 * But a tracer sees a traced zombie first (an operator's strace, or a
 * program running as pluginsuser outside the agent; the plugins' own
 * filter refuses ptrace): until the tracer waits for it or goes, waitpid
 * finds nothing here and the pidfd stays readable.  Then the reap is
 * tried again every RUN_REAP_RETRY, neither spinning on the pidfd nor
 * blocking the loop in waitpid.
 */
static void
run_reap(struct run *r)
{
	struct ev_loop	*loop = r->rn->loop;
	pid_t		 pid;
	int		 status = 0;

	/* what the plugin left in its group goes with it */
	run_kill_group(r, SIGKILL);
	while ((pid = waitpid(r->pid, &status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (pid == 0) {
		if (ev_is_active(&r->pid_w)) {
			ev_io_stop(loop, &r->pid_w);
			log_warnx("run: pid %ld ended while another process "
			    "traces it: its end waits for that one",
			    (long)r->pid);
		}
		if (!ev_is_active(&r->reap)) {
			ev_timer_set(&r->reap, RUN_REAP_RETRY, RUN_REAP_RETRY);
			ev_timer_start(loop, &r->reap);
		}
		return;
	}
	ev_timer_stop(loop, &r->reap);
	if (pid == -1)
		run_lost(r, "waitpid");
	run_finish(r, status);
}

static void
pid_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	run_reap(w->data);
}

static void
reap_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	run_reap(t->data);
}

struct runner *
scheduler_runner_new(struct ev_loop *loop, int max_abi)
{
	struct runner	*rn;

	if ((rn = calloc(1, sizeof(*rn))) == NULL)
		return NULL;
	/* opened once: the scheduler's sandbox keeps it readable */
	if ((rn->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		free(rn);
		return NULL;
	}
	rn->loop = loop;
	TAILQ_INIT(&rn->runs);
	rn->landlock = -1;
	(void)scheduler_runner_isolate(rn, max_abi);
	return rn;
}

enum isolate_kind
scheduler_runner_isolate(struct runner *rn, int max_abi)
{
	char	 why[256];

	if (rn->landlock != -1)
		(void)close(rn->landlock);
	rn->landlock = scheduler_isolate_ruleset(max_abi, &rn->isolation,
	    why, sizeof(why));
	if (rn->landlock != -1)
		log_debug("each plugin run in a Landlock domain of its own: "
		    "%s isolated", scheduler_isolate_name(rn->isolation));
	else if (max_abi != ISOLATE_ABI_OFF)
		log_warnx("plugin runs are not isolated from each other: %s; "
		    "a plugin may read and write the memory of another, or "
		    "signal it", why);
	return rn->isolation;
}

enum isolate_kind
scheduler_runner_isolation(const struct runner *rn)
{
	return rn->isolation;
}

static void
run_free(struct run *r)
{
	run_close_out(r);
	run_close_err(r);
	ev_io_stop(r->rn->loop, &r->pid_w);
	close(r->pidfd);
	ev_timer_stop(r->rn->loop, &r->reap);
	ev_timer_stop(r->rn->loop, &r->quiet);
	ev_timer_stop(r->rn->loop, &r->timer);
	buf_free(&r->out);
	free(r);
}

void
scheduler_runner_free(struct runner *rn)
{
	struct run	*r;
	int		 status;

	if (rn == NULL)
		return;
	while ((r = TAILQ_FIRST(&rn->runs)) != NULL) {
		TAILQ_REMOVE(&rn->runs, r, entry);
		run_kill_group(r, SIGKILL);
		while (waitpid(r->pid, &status, 0) == -1 && errno == EINTR)
			;
		run_free(r);
	}
	(void)close(rn->devnull);
	if (rn->landlock != -1)
		(void)close(rn->landlock);
	free(rn);
}

size_t
scheduler_runner_active(const struct runner *rn)
{
	return rn->n;
}

void
scheduler_runner_stop_all(struct runner *rn, double grace)
{
	struct run	*r;

	TAILQ_FOREACH(r, &rn->runs, entry) {
		r->res.stopped = 1;
		r->grace = grace;
		ev_timer_stop(rn->loop, &r->timer);
		/* the timer's first phase sends SIGTERM, at once */
		r->term_sent = 0;
		ev_timer_set(&r->timer, 0., 0.);
		ev_timer_start(rn->loop, &r->timer);
	}
}

/* The plugin is gone: collect what it said, tell the owner, forget it. */
static void
run_finish(struct run *r, int status)
{
	struct runner		*rn = r->rn;

	r->reaped = 1;
	ev_io_stop(rn->loop, &r->pid_w);
	ev_timer_stop(rn->loop, &r->quiet);
	if (WIFEXITED(status)) {
		r->res.exited = 1;
		r->res.status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status))
		r->res.signo = WTERMSIG(status);
	ev_timer_stop(rn->loop, &r->timer);
	run_read_out(r, 1);
	run_read_err(r, 1);
	/*
	 * Whatever is still holding the channels escaped the group (setsid):
	 * the master kills it, we do not wait for it.
	 */
	run_close_out(r);
	run_close_err(r);
	r->res.duration = ev_time() - r->started;
	if (r->out.p == NULL)
		buf_adds(&r->out, "");
	r->res.out = r->out.p != NULL ? r->out.p : "";
	r->res.outlen = r->out.len;
	memcpy(r->res.errtail, r->tail, r->taillen);
	r->res.errtail[r->taillen] = '\0';
	TAILQ_REMOVE(&rn->runs, r, entry);
	rn->n--;
	r->cb(&r->res, r->arg);
	run_free(r);
}

/*
 * Our end of a channel just made has no status flags to keep (F_SETFL
 * ignores the access mode), so no F_GETFL first: a syscall less a run.
 * Not O_NONBLOCK at creation: that would make the plugin's end
 * non-blocking too.
 */
static int
set_nonblock(int fd)
{
	return fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ? -1 : 0;
}

static void
close_fds(int *fds, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/*
 * The exec failed: when the plugin's file is what is wrong (gone, not a
 * file, not executable), say so as a start that failed, and reap the
 * child, which has exited 127 (CLONE_VFORK let us run once it left our
 * memory: it is at most finishing its exit).  Anything else, a missing
 * interpreter for one, is the run's own error.  Checked here, not before
 * every start: two path walks a run for the rare plugin that is broken.
 */
static int
run_bad_file(const struct run_spec *s, pid_t pid, char *err, size_t errlen)
{
	struct stat	 st;
	int		 status;

	if (stat(s->path, &st) == -1)
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || access(s->path, X_OK) == -1)
		snprintf(err, errlen, "%s: not an executable file", s->path);
	else
		return 0;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return 1;
}

/*
 * One of the plugin's output channels, [0] ours, [1] the plugin's: a
 * pipe for a run in a Landlock domain, else a socket pair whose end of
 * ours takes no descriptors, or a pipe where the kernel cannot say so
 * (see the top).  A pipe holds 64 KiB where a socket pair held some
 * 200 KiB: a plugin that prints more waits in write() until RUN_QUIET,
 * and is then read as it writes.
 */
static int
run_channel(struct runner *rn, int fds[2])
{
	int	 off = 0, e;

	if (rn->landlock == -1 && !rn->pipes) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    fds) == -1)
			return -1;
		if (setsockopt(fds[0], SOL_SOCKET, SO_PASSRIGHTS, &off,
		    sizeof(off)) == 0)
			return 0;
		e = errno;
		close_fds(fds, 2);
		if (e != ENOPROTOOPT && e != EINVAL) {
			errno = e;
			return -1;
		}
		rn->pipes = 1;
		log_warnx("%s: plugins' output goes through pipes: this "
		    "kernel cannot refuse descriptors on a socket "
		    "(SO_PASSRIGHTS, Linux 6.16), so another plugin may open "
		    "a plugin's pipe through /proc/<pid>/fd", __func__);
	}
	return pipe2(fds, O_CLOEXEC);
}

struct run *
scheduler_run_start(struct runner *rn, const struct run_spec *s, run_done_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct child_spec	 cs;
	struct child_fail	 fail;
	struct run		*r;
	/* stdout ours, the plugin's; stderr ours, the plugin's */
	int			 fds[4] = { -1, -1, -1, -1 };
	pid_t			 pid;
	int			 pidfd = -1;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* nothing is ever written to our ends: no shutdown to say so */
	if (run_channel(rn, &fds[0]) == -1 || run_channel(rn, &fds[2]) == -1) {
		snprintf(err, errlen, "output channels for the plugin: %s",
		    strerror(errno));
		goto fail;
	}
	if (set_nonblock(fds[0]) == -1 || set_nonblock(fds[2]) == -1) {
		snprintf(err, errlen, "O_NONBLOCK: %s", strerror(errno));
		goto fail;
	}

	/*
	 * Its own session: its own process group, which the timeout kills
	 * whole, and no controlling terminal.  A killed scheduler takes its
	 * plugins with it.
	 */
	child_spec_init(&cs);
	cs.path = s->path;
	cs.argv = s->argv;
	cs.envp = s->envp;
	cs.dir = s->dir;
	cs.fd[0] = rn->devnull;
	cs.fd[1] = fds[1];
	cs.fd[2] = fds[3];
	cs.flags = CHILD_SETSID | CHILD_PDEATHSIG;
	cs.nproc = s->nproc;
	cs.data = s->data;
	cs.nice = s->nice;
	cs.landlock_fd = rn->landlock;
	cs.pidfd = &pidfd;
	if ((pid = child_spawn(&cs, &fail)) == -1) {
		snprintf(err, errlen, "cannot start a process: %s",
		    strerror(errno));
		goto fail;
	}
	if (fail.step == CHILD_STEP_EXEC && run_bad_file(s, pid, err, errlen))
		goto fail;
	/* it has exited 127 and is reaped as any run; this says why */
	if (fail.step != CHILD_STEP_NONE)
		snprintf(r->res.err, sizeof(r->res.err), "%s %s: %s",
		    child_step_name(fail.step), fail.step == CHILD_STEP_CHDIR ?
		    "to the plugin directory" : s->argv[0], strerror(fail.err));

	/* the child's ends are the child's: EOF comes when it is done */
	close(fds[1]);
	close(fds[3]);
	r->rn = rn;
	r->pid = pid;
	r->pidfd = pidfd;
	r->outfd = fds[0];
	r->errfd = fds[2];
	r->grace = s->grace;
	r->started = ev_time();
	r->cb = cb;
	r->arg = arg;
	r->res.pid = pid;
	r->res.outmax = s->outmax;
	r->res.timeout = s->timeout;
	buf_init(&r->out);
	/*
	 * EV_READ only: our end of a socket pair stays writable,
	 * and a watcher wanting EV_WRITE would wake at once, forever.  The
	 * end of a plugin is EPOLLHUP, which libev reports as both and so
	 * narrows the mask back with an epoll_ctl: a syscall more for a run
	 * that outlived RUN_QUIET, none for the others.
	 */
	ev_io_init(&r->out_w, out_cb, r->outfd, EV_READ);
	r->out_w.data = r;
	ev_io_init(&r->err_w, err_cb, r->errfd, EV_READ);
	r->err_w.data = r;
	ev_io_init(&r->pid_w, pid_cb, r->pidfd, EV_READ);
	r->pid_w.data = r;
	ev_io_start(rn->loop, &r->pid_w);
	ev_timer_init(&r->reap, reap_cb, 0., 0.);
	r->reap.data = r;
	ev_timer_init(&r->quiet, quiet_cb, RUN_QUIET, 0.);
	r->quiet.data = r;
	ev_timer_start(rn->loop, &r->quiet);
	ev_timer_init(&r->timer, timer_cb, s->timeout, 0.);
	r->timer.data = r;
	ev_timer_start(rn->loop, &r->timer);
	TAILQ_INSERT_TAIL(&rn->runs, r, entry);
	rn->n++;
	return r;

fail:
	close_fds(fds, 4);
	if (pidfd != -1)
		close(pidfd);
	free(r);
	return NULL;
}

int
scheduler_run_ok(const struct run_result *res)
{
	return res->exited && res->status == 0 && !res->timed_out &&
	    !res->output_over && !res->stopped && res->err[0] == '\0';
}

void
scheduler_run_describe(const struct run_result *res, char *buf, size_t len)
{
	char	 how[64];

	/* nothing to say of most runs: no format for them */
	if (scheduler_run_ok(res)) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	if (res->exited)
		snprintf(how, sizeof(how), "exit status %d", res->status);
	else
		snprintf(how, sizeof(how), "killed by signal %d", res->signo);
	if (res->err[0] != '\0')
		snprintf(buf, len, "%s", res->err);
	else if (res->output_over)
		snprintf(buf, len, "output over %zu bytes", res->outmax);
	else if (res->timed_out)
		snprintf(buf, len, "timed out after %g s (%s)", res->timeout,
		    how);
	else if (res->stopped)
		snprintf(buf, len, "stopped with the agent (%s)", how);
	else
		snprintf(buf, len, "%s", how);
}
