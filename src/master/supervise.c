/*
 * Watching workers: reaping, classifying deaths, restarting with
 * exponential backoff, and the handshake deadline.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

const char *
supervise_state_name(enum wstate s)
{
	switch (s) {
	case W_DOWN:
		return "down";
	case W_STARTING:
		return "starting";
	case W_RUNNING:
		return "running";
	case W_BACKOFF:
		return "backoff";
	case W_STOPPING:
		return "stopping";
	}
	return "unknown";
}

static void
describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "stopped with wait status %#x", status);
}

static void	 worker_exited(struct master *, struct wslot *, int);

/* Kill a worker we no longer trust; the reaper restarts it. */
void
supervise_kill(struct wslot *w, const char *why)
{
	if (w->pid <= 0 || w->reaped)
		return;
	log_warnx("%s: killing %s (pid %ld): %s", __func__,
	    proto_role_name(w->role), (long)w->pid, why);
	if (kill(w->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("%s: kill %ld", __func__, (long)w->pid);
	if (w->ctl != NULL) {
		frame_conn_close(w->ctl);
		w->ctl = NULL;
	}
	if (!ev_is_active(&w->killed_timer)) {
		ev_timer_set(&w->killed_timer, STOP_KILL_GRACE, 0.);
		ev_timer_start(w->m->loop, &w->killed_timer);
	}
}

/*
 * Not reaped STOP_KILL_GRACE after its SIGKILL: held in the kernel (a
 * request to a file system that does not answer, which even SIGKILL
 * does not end).  Its role must not wait for the kernel: a new worker
 * takes its place, and the old one is reaped whenever it is let go.
 * One left behind per role at most: a second held the same way waits,
 * or every restart would leave one more.
 */
static void
killed_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = t->data;
	struct master	*m = w->m;

	if (w->pid <= 0 || w->reaped || m->phase == M_STOPPING)
		return;
	if (w->left > 0) {
		log_warnx("%s: %s (pid %ld) not reaped %.0f s after SIGKILL, "
		    "and pid %ld still held before it: waiting for the "
		    "kernel", __func__, proto_role_name(w->role),
		    (long)w->pid, STOP_KILL_GRACE, (long)w->left);
		return;
	}
	log_warnx("%s: %s (pid %ld) not reaped %.0f s after SIGKILL (held "
	    "in the kernel?): a new one takes its place; it is reaped when "
	    "the kernel lets it go", __func__, proto_role_name(w->role),
	    (long)w->pid, STOP_KILL_GRACE);
	w->left = w->pid;
	worker_exited(m, w, SIGKILL);
}

static void
restart_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = t->data;
	struct master	*m = w->m;

	if (m->phase == M_STOPPING)
		return;
	log_info("restarting %s (restart #%u)", proto_role_name(w->role),
	    w->restarts);
	if (spawn_worker(m, w) == -1) {
		/* a child that exists is reaped, and that re-arms us */
		if (w->pid > 0)
			return;
		/* fork or socketpair failed: try again later */
		w->state = W_BACKOFF;
		ev_timer_set(&w->restart_timer, BACKOFF_CAP, 0.);
		ev_timer_start(loop, &w->restart_timer);
		return;
	}
	spawn_wire_worker(m, w);
}

static void
setup_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = t->data;

	if (w->state != W_STARTING)
		return;
	log_warnx("%s: %s (pid %ld) did not finish its setup within %.0f s",
	    __func__, proto_role_name(w->role), (long)w->pid, SETUP_TIMEOUT);
	if (w->m->phase == M_STARTING)
		master_fail_start(w->m, "worker %s did not finish its setup "
		    "within %.0f s", proto_role_name(w->role), SETUP_TIMEOUT);
	supervise_kill(w, "setup timed out");
}

void
supervise_init_slot(struct master *m, struct wslot *w, enum role r)
{
	memset(w, 0, sizeof(*w));
	w->m = m;
	w->role = r;
	w->state = W_DOWN;
	ev_timer_init(&w->setup_timer, setup_timeout_cb, SETUP_TIMEOUT, 0.);
	w->setup_timer.data = w;
	ev_timer_init(&w->restart_timer, restart_cb, BACKOFF_FIRST, 0.);
	w->restart_timer.data = w;
	ev_timer_init(&w->killed_timer, killed_timeout_cb, STOP_KILL_GRACE,
	    0.);
	w->killed_timer.data = w;
}

void
supervise_ready(struct master *m, struct wslot *w)
{
	enum role	 r;

	/*
	 * Asked to stop while it set up (a start another worker failed, an
	 * `agent stop` during a restart): its READY was on the way, its
	 * first, not a second.  It stays one being stopped.
	 */
	if (w->state == W_STOPPING) {
		log_debug("%s: %s ready while being stopped", __func__,
		    proto_role_name(w->role));
		return;
	}
	if (w->state != W_STARTING) {
		/* as often as it likes: within its role's log budget */
		if (lograte_take(&w->lograte, ev_now(m->loop), 0))
			log_warnx("%s: %s sent READY twice", __func__,
			    proto_role_name(w->role));
		return;
	}
	ev_timer_stop(m->loop, &w->setup_timer);
	w->state = W_RUNNING;
	watchdog_heard(m, w);
	log_info("%s ready (pid %ld)", proto_role_name(w->role), (long)w->pid);
	if (m->phase != M_STARTING)
		return;
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].state != W_RUNNING)
			return;
	m->phase = M_RUNNING;
	master_started(m);
}

double
supervise_backoff(unsigned *failures, double ran, int config_error)
{
	double		 d = BACKOFF_FIRST;
	unsigned	 n;

	/* a stable run means the last death was not part of a crash loop */
	if (ran >= BACKOFF_STABLE)
		*failures = 0;
	n = ++*failures;
	/* exit 2: it will fail the same way until the config changes */
	if (config_error)
		return BACKOFF_CAP;
	while (n-- > 1 && d < BACKOFF_CAP)
		d *= 2;
	return d > BACKOFF_CAP ? BACKOFF_CAP : d;
}

/*
 * An exit EXIT_WORKER_RESPAWN is a restart without backoff only for a
 * config generation the worker has not acknowledged, and once for each:
 * its successor is given that generation, so it never needs another.  A
 * compromised worker exiting so in a loop is then a crash loop like any
 * other, not a fork a tenth of a second.
 */
int
supervise_respawn_due(uint64_t generation, uint64_t acked_gen,
    uint64_t *respawn_gen, int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_WORKER_RESPAWN ||
	    acked_gen >= generation || *respawn_gen >= generation)
		return 0;
	*respawn_gen = generation;
	return 1;
}

static void
worker_exited(struct master *m, struct wslot *w, int status)
{
	char		 how[96];
	double		 ran, delay;
	pid_t		 pid;

	describe_status(status, how, sizeof(how));
	ev_timer_stop(m->loop, &w->setup_timer);
	ev_timer_stop(m->loop, &w->killed_timer);
	w->reaped = 1;
	/* its last words may still sit in the socket, unread */
	if (w->ctl != NULL && frame_drain(w->ctl) == 0)
		frame_conn_close(w->ctl);
	w->ctl = NULL;
	/* what it counted stays counted: rate() must not see a reset */
	stats_worker_died(m, w);
	pull_worker_gone(m, w);
	/* monotonic: a clock stepped back would never reset the backoff,
	 * one stepped on would reset it in a crash loop */
	ran = watchdog_mono_now() - w->started_mono;
	pid = w->pid;
	w->pid = 0;
	memset(w->peers, 0, sizeof(w->peers));
	/* its children (plugins, git) were reparented to us just now */
	(void)orphans_sweep(m);

	if (m->phase == M_STOPPING) {
		log_info("%s (pid %ld) %s", proto_role_name(w->role), (long)pid,
		    how);
		w->state = W_DOWN;
		master_check_stopped(m);
		return;
	}
	snprintf(w->last_exit, sizeof(w->last_exit), "%s", how);
	w->last_exit_at = time(NULL);
	if (m->phase == M_STARTING) {
		w->state = W_DOWN;
		if (w->last_words[0] != '\0')
			master_fail_start(m, "worker %s %s during startup: %s",
			    proto_role_name(w->role), how, w->last_words);
		else
			master_fail_start(m, "worker %s %s during startup (see "
			    "the log in %s)", proto_role_name(w->role), how,
			    m->conf.logdir);
		return;
	}
	w->restarts++;
	if (supervise_respawn_due(m->generation, w->acked_gen, &w->respawn_gen,
	    status)) {
		log_info("%s (pid %ld) stopped to apply config generation %llu "
		    "in a new process; starting it", proto_role_name(w->role),
		    (long)pid, (unsigned long long)m->generation);
		w->state = W_BACKOFF;
		w->respawning = 1;
		ev_timer_stop(m->loop, &w->restart_timer);
		ev_timer_set(&w->restart_timer, 0., 0.);
		ev_timer_start(m->loop, &w->restart_timer);
		return;
	}
	delay = supervise_backoff(&w->failures, ran, WIFEXITED(status) &&
	    WEXITSTATUS(status) == EXIT_WORKER_CONFIG);
	log_warnx("%s: worker %s (pid %ld) %s after %.1f s; restarting in %.1f "
	    "s", __func__,
	    proto_role_name(w->role), (long)pid, how, ran, delay);
	w->state = W_BACKOFF;
	ev_timer_stop(m->loop, &w->restart_timer);
	ev_timer_set(&w->restart_timer, delay, 0.);
	ev_timer_start(m->loop, &w->restart_timer);
	/* it may have been the last a reload waited for */
	master_reload_worker_gone(m);
}

/* One SIGCHLD may stand for several exits: reap until none is left. */
void
supervise_reap(struct master *m)
{
	struct wslot	*w;
	pid_t		 pid;
	int		 status;
	enum role	 r;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0)
			return;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("%s: waitpid", __func__);
			return;
		}
		w = NULL;
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
			if (m->w[r].pid == pid)
				w = &m->w[r];
			if (m->w[r].left == pid) {
				log_info("%s (pid %ld), left behind held in "
				    "the kernel, is gone", proto_role_name(r),
				    (long)pid);
				m->w[r].left = 0;
			}
		}
		if (w == NULL) {
			/* a stray orphans.c killed, or one that ended on
			 * its own after its worker died */
			log_debug("%s: reaped orphan %ld", __func__,
			    (long)pid);
			continue;
		}
		worker_exited(m, w, status);
	}
}
