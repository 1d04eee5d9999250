/*
 * The master's life: start every worker, supervise, answer what the
 * workers send on their control edges (kept beside the state it changes,
 * as httpd.c keeps its parent's dispatch), reload on SIGHUP, reopen logs
 * on SIGUSR1, stop everything on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bsd/string.h>

#include "codec.h"
#include "conf_load.h"
#include "config.h"
#include "dirs.h"
#include "log.h"
#include "master.h"
#include "reloadfile.h"
#include "status.h"
#include "users_wait.h"
#include "util.h"

void
master_log_sink(enum log_level level, const char *msg, void *arg)
{
	struct master	*m = arg;

	logfile_write(&m->log, level, "master", getpid(), msg);
}

#define START_WARNINGS_MAX	64	/* kept for the log, at start */

static void
conf_warn(const char *msg, void *arg)
{
	struct master	*m = arg;

	log_warnx("%s: %s", __func__, msg);
	/*
	 * At start the log is not open yet (its path is in the config):
	 * said on stderr only, which a daemon started in the background has
	 * left by the time anyone reads agent.log.  Kept to write there.
	 */
	if (m != NULL && m->log.fd == -1 &&
	    m->start_warnings.n < START_WARNINGS_MAX)
		(void)strlist_add(&m->start_warnings, msg);
}

/* The start's config warnings into the log just opened, the file only:
 * stderr had them. */
static void
start_warnings_write(struct master *m)
{
	char	 line[1024];
	size_t	 i;

	for (i = 0; i < m->start_warnings.n; i++) {
		snprintf(line, sizeof(line), "conf_warn: %s",
		    m->start_warnings.v[i]);
		logfile_write(&m->log, LOG_LVL_WARN, "master", getpid(),
		    line);
	}
	strlist_free(&m->start_warnings);
}

static void
master_stop(struct master *m, int code)
{
	struct wslot	*w;
	enum role	 r;

	if (m->phase == M_STOPPING)
		return;
	m->phase = M_STOPPING;
	m->exit_code = code;
	notify_send(&m->notify, NOTIFY_STOPPING, code == 0 ?
	    "stopping the workers" : "startup failed; stopping");
	ev_timer_stop(m->loop, &m->reload_timer);
	ev_timer_stop(m->loop, &m->reopen_timer);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		ev_timer_stop(m->loop, &w->restart_timer);
		ev_timer_stop(m->loop, &w->setup_timer);
		if (w->pid <= 0) {
			w->state = W_DOWN;
			continue;
		}
		w->state = W_STOPPING;
		if (w->ctl == NULL ||
		    frame_send(w->ctl, MSG_SHUTDOWN, 0, NULL, 0, -1) == -1) {
			if (kill(w->pid, SIGTERM) == -1 && errno != ESRCH)
				log_warn("%s: kill %s", __func__,
				    proto_role_name(r));
		}
	}
	ev_timer_start(m->loop, &m->stop_timer);
	master_check_stopped(m);
}

static int
master_all_down(const struct master *m)
{
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].pid > 0)
			return 0;
	return 1;
}

void
master_check_stopped(struct master *m)
{
	if (m->phase != M_STOPPING || !master_all_down(m))
		return;
	ev_timer_stop(m->loop, &m->stop_timer);
	ev_break(m->loop, EVBREAK_ALL);
}

static void
stop_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct master	*m = t->data;
	struct wslot	*w;
	enum role	 r;

	if (m->stop_killed) {
		/*
		 * Not reaped after SIGKILL: held in the kernel (a request to
		 * a file system that does not answer, which even SIGKILL does
		 * not end).  It goes when the kernel lets it; the stop must
		 * not wait for that, or `agent stop` and systemd never end.
		 */
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
			w = &m->w[r];
			if (w->pid <= 0)
				continue;
			log_warnx("%s: %s (pid %ld) could not be reaped %.0f s "
			    "after SIGKILL (held in the kernel?): stopping "
			    "without it", __func__, proto_role_name(r),
			    (long)w->pid, STOP_KILL_GRACE);
			/*
			 * Still our child: the last sweep, before the master
			 * exits, must not take it for what a worker left
			 * behind (it is the worker, said just now).  One
			 * held from before keeps its place (one per role).
			 */
			if (w->left <= 0)
				w->left = w->pid;
			w->pid = 0;
			w->state = W_DOWN;
		}
		master_check_stopped(m);
		return;
	}
	m->stop_killed = 1;
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		if (m->w[r].pid <= 0)
			continue;
		log_warnx("%s: %s (pid %ld) did not stop in time; killing it",
		    __func__, proto_role_name(r), (long)m->w[r].pid);
		if (kill(m->w[r].pid, SIGKILL) == -1 && errno != ESRCH)
			log_warn("%s: kill", __func__);
	}
	ev_timer_stop(loop, &m->stop_timer);
	ev_timer_set(&m->stop_timer, STOP_KILL_GRACE, 0.);
	ev_timer_start(loop, &m->stop_timer);
}

void
master_fail_start(struct master *m, const char *fmt, ...)
{
	va_list	 ap;

	if (m->phase != M_STARTING)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(m->fail_reason, sizeof(m->fail_reason), fmt, ap);
	va_end(ap);
	log_warnx("%s: startup failed: %s", __func__, m->fail_reason);
	master_stop(m, 1);
}

void
master_started(struct master *m)
{
	char	 msg[512];

	snprintf(msg, sizeof(msg), "agent %s started: %d workers ready, "
	    "master pid %ld%s%s%s%s", PACKAGE_VERSION,
	    ROLE_MAX - ROLE_FIRST_WORKER, (long)getpid(),
	    m->listen_tcp != -1 ? ", http://" : "",
	    m->listen_tcp != -1 ? m->conf.listen : "",
	    m->listen_unix != -1 ? ", unix:" : "",
	    m->listen_unix != -1 ? m->conf.socket : "");
	log_info("%s", msg);
	notify_send(&m->notify, NOTIFY_READY, msg);
	if (m->foreground && m->listen_tcp != -1)
		log_info("try: curl -s http://%s/me/status", m->conf.listen);
	strlcat(msg, "\n", sizeof(msg));
	daemon_report(&m->report_fd, 1, msg);
	/* from the loop, not inside the READY being handled now */
	if (m->reload_asked) {
		m->reload_asked = 0;
		ev_feed_signal_event(m->loop, SIGHUP);
	}
}

/* The status with the table of `skip` and `cut` into pb; 0 when it fits. */
static int
status_try(struct master *m, struct agent_status *st, struct pbuf *pb,
    size_t max, unsigned skip, enum role cut, size_t keep)
{
	/* a sample lost to memory is better than no answer at all */
	if (stats_table_cut(m, &st->metrics, skip, cut, keep) == -1)
		log_warnx("%s: some samples left out of the status", __func__);
	codec_put_reset(pb);
	status_encode(pb, st);
	return !codec_put_failed(pb) && pb->len <= max ? 0 : -1;
}

/*
 * Encode the status within what a frame to the worker carries.  Every
 * worker's samples come from frames of its own within that bound, so
 * together they may pass it (a scheduler of a few thousand plugins, its
 * dead predecessors' counters of plugins the registry has named others
 * since, or a compromised worker sending as much as it may): the role
 * with the most samples is cut to as many as fit (its living worker's
 * first), and only when none fits does it go whole and the next role
 * is cut, rather than no status at all.
 */
static void
status_fit(struct master *m, struct wslot *to, struct agent_status *st,
    struct pbuf *pb)
{
	size_t		 max = proto_control_edge(to->role)->maxpayload;
	size_t		 all, none, keep;
	unsigned	 skip = 0;
	enum role	 r;
	uint64_t	 n;
	char		 left[128] = "";

	for (;;) {
		if (status_try(m, st, pb, max, skip, ROLE_MAX, 0) == 0 ||
		    codec_put_failed(pb) ||
		    (r = stats_largest(m, skip)) == ROLE_MAX)
			break;
		all = pb->len;
		if (left[0] != '\0')
			strlcat(left, ", ", sizeof(left));
		if (status_try(m, st, pb, max, skip, r, 0) == 0) {
			/*
			 * As many as fit at the role's bytes per sample, a
			 * plugin's four counters and histogram alike; an
			 * eighth fewer at a time while they do not.  A few
			 * encodings, not one per halving: a hostile client
			 * may ask for /metrics without pause.
			 */
			none = pb->len;
			keep = stats_role_samples(m, r) * (max - none) /
			    (all - none);
			while (keep > 0 && status_try(m, st, pb, max, skip, r,
			    keep) == -1)
				keep -= keep / 8 + 1;
			if (keep == 0)
				(void)status_try(m, st, pb, max, skip, r, 0);
			strlcat(left, "some of ", sizeof(left));
			strlcat(left, proto_role_name(r), sizeof(left));
			break;
		}
		skip |= 1U << r;
		strlcat(left, proto_role_name(r), sizeof(left));
	}
	if (left[0] != '\0' && warn_limit_due(&to->status_cut,
	    ev_now(m->loop), &n))
		log_warnx("%s: the samples of %s left out of the status to %s: "
		    "with them it takes more than the %zu bytes a frame "
		    "carries (%llu times since the last warning)", __func__,
		    left, proto_role_name(to->role), max,
		    (unsigned long long)n);
}

void
master_send_status(struct master *m, struct wslot *to, uint32_t reqid)
{
	struct agent_status	 st;
	struct worker_status	*ws;
	struct wslot		*w;
	struct pbuf		 pb;
	enum role		 r;
	uint64_t		 n;

	/* answered, sent or not: the worker may ask again */
	to->status_owed = STATUS_OWED_NONE;
	memset(&st, 0, sizeof(st));
	strlcpy(st.version, PACKAGE_VERSION, sizeof(st.version));
	st.master_pid = (uint32_t)getpid();
	st.started = m->started;
	st.generation = m->generation;
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		ws = &st.w[st.nworkers++];
		ws->role = r;
		ws->pid = w->pid > 0 ? (uint32_t)w->pid : 0;
		strlcpy(ws->state, supervise_state_name(w->state),
		    sizeof(ws->state));
		ws->restarts = w->restarts;
		ws->log_dropped = w->lograte.total;
		ws->started = w->pid > 0 ? w->started_wall : 0;
		strlcpy(ws->last_exit, w->last_exit, sizeof(ws->last_exit));
		ws->last_exit_at = w->last_exit_at;
		ws->generation = w->acked_gen;
		ws->stats = w->stats;
		memcpy(ws->peers, w->peers, sizeof(ws->peers));
	}
	codec_put_init(&pb);
	status_fit(m, to, &st, &pb);
	/*
	 * A worker that asks without reading the answers fills the queue: a
	 * line per failure would rotate the log away.
	 */
	if ((codec_put_failed(&pb) ||
	    frame_send(to->ctl, MSG_STATUS, reqid, pb.buf, pb.len, -1) == -1) &&
	    warn_limit_due(&to->status_failed, ev_now(m->loop), &n))
		log_warn("%s: status to %s (%llu not sent since the last "
		    "warning)", __func__, proto_role_name(to->role),
		    (unsigned long long)n);
	codec_put_free(&pb);
	status_free(&st);
}

/* Workers that have not acknowledged the current generation, as text. */
static int
reload_laggards(struct master *m, char *buf, size_t len)
{
	struct wslot	*w;
	enum role	 r;
	int		 n = 0;

	buf[0] = '\0';
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		/*
		 * One stopped for a respawn: its successor is to ack, and
		 * only once ready: it acks its config as it reads it, before
		 * its setup, where what the respawn was for (libcurl) is
		 * loaded or fails to; one that died is no ack either.
		 */
		if (w->respawn_gen == m->generation) {
			if (w->acked_gen == m->generation &&
			    w->state == W_RUNNING)
				continue;
		} else if ((w->pid <= 0 && !w->respawning) ||
		    w->acked_gen == m->generation)
			continue;
		if (n++ > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, proto_role_name(r), len);
	}
	return n;
}

/*
 * The manager learns the reload is over, applied or not; so does `agent
 * reload`, from `outcome` and `detail` (reloadfile.h).
 */
static void
reload_over(struct master *m, const char *how, const char *outcome,
    const char *detail)
{
	char	 status[256];

	if (!m->reloading)
		return;
	m->reloading = 0;
	reloadfile_write(m, outcome, detail);
	snprintf(status, sizeof(status), "config generation %llu: %s",
	    (unsigned long long)m->generation, how);
	notify_send(&m->notify, NOTIFY_READY, status);
}

static void
reload_acked(struct master *m)
{
	char		 who[128], down[128] = "", detail[256];
	enum role	 r;

	if (!ev_is_active(&m->reload_timer) ||
	    reload_laggards(m, who, sizeof(who)) > 0)
		return;
	ev_timer_stop(m->loop, &m->reload_timer);
	/* died before its ack: its next process is given this config */
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].pid <= 0) {
			if (down[0] != '\0')
				strlcat(down, ", ", sizeof(down));
			strlcat(down, proto_role_name(r), sizeof(down));
		}
	if (down[0] == '\0') {
		log_info("reload: config generation %llu acknowledged by "
		    "every worker", (unsigned long long)m->generation);
		reload_over(m, "reload applied by every worker", "applied",
		    "acknowledged by every worker");
		return;
	}
	snprintf(detail, sizeof(detail), "acknowledged by every running "
	    "worker (%s restarting, with it)", down);
	log_info("reload: config generation %llu %s",
	    (unsigned long long)m->generation, detail);
	reload_over(m, "reload applied by every running worker", "applied",
	    detail);
}

void
master_reload_worker_gone(struct master *m)
{
	reload_acked(m);
}

/*
 * A worker says it cannot apply the reload's config: it keeps the one it
 * has, and the operator hears so now, not at the timeout.  Its reason
 * stays in the log, not in the outcome file: the words are a worker's.
 */
static void
reload_unapplied(struct master *m, struct wslot *w)
{
	char	 who[96];

	if (!ev_is_active(&m->reload_timer))
		return;
	ev_timer_stop(m->loop, &m->reload_timer);
	snprintf(who, sizeof(who), "%s cannot apply it",
	    proto_role_name(w->role));
	reload_over(m, "reload not applied by every worker (see the log)",
	    "unapplied", who);
}

static void
reload_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct master	*m = t->data;
	char		 who[128];

	if (reload_laggards(m, who, sizeof(who)) > 0) {
		log_warnx("%s: reload: config generation %llu not acknowledged "
		    "within %.0f s by: %s", __func__,
		    (unsigned long long)m->generation, RELOAD_ACK_TIMEOUT, who);
		reload_over(m, "reload not acknowledged by every worker (see "
		    "the log)", "unacknowledged", who);
	}
}

/* Apply a new listener set; only what changed is re-bound. */
static int
reload_listeners(struct master *m, struct agent_conf *next, int *changed,
    char *err, size_t errlen)
{
	struct agent_conf	 probe;
	int			 tcp = -1, unixfd = -1, ign;
	int			 new_tcp, new_unix;

	new_tcp = strcmp(next->listen, m->conf.listen) != 0;
	new_unix = strcmp(next->socket, m->conf.socket) != 0;
	*changed = new_tcp || new_unix;
	memset(&probe, 0, sizeof(probe));
	if (new_tcp) {
		strlcpy(probe.listen, next->listen, sizeof(probe.listen));
		if (listen_open(&probe, &tcp, &ign, err, errlen) == -1)
			return -1;
	}
	if (new_unix) {
		probe.listen[0] = '\0';
		strlcpy(probe.socket, next->socket, sizeof(probe.socket));
		if (listen_open(&probe, &ign, &unixfd, err, errlen) == -1) {
			if (tcp != -1)
				close(tcp);
			return -1;
		}
	}
	/* both bound: only now let go of the old ones */
	if (new_tcp) {
		if (m->listen_tcp != -1)
			close(m->listen_tcp);
		m->listen_tcp = tcp;
	}
	if (new_unix) {
		ign = -1;
		listen_close(&m->conf, &ign, &m->listen_unix);
		m->listen_unix = unixfd;
	}
	return 0;
}

static void
master_reload(struct master *m)
{
	struct agent_conf	 next;
	struct wslot		*w;
	char			 err[1024], ign[256];
	char			 prev_spool[CONF_STR_MAX];
	int			 listeners_changed, outfile_new;
	enum role		 r;

	if (m->phase == M_STARTING) {
		/* the file may have changed since it was read: once up */
		log_warnx("%s: reload asked while the agent starts: done once "
		    "every worker is up", __func__);
		m->reload_asked = 1;
		return;
	}
	if (m->phase != M_RUNNING) {
		log_warnx("%s: reload ignored: the agent is stopping",
		    __func__);
		reloadfile_write(m, "refused", "the agent is stopping");
		return;
	}
	log_info("reload: reading %s", m->conf_path);
	m->reloading = 1;
	notify_send(&m->notify, NOTIFY_RELOADING, "reloading the config");
	/* a failed load leaves `next` empty, safe to free */
	if (conf_load(m->conf_path, &next, conf_warn, m, err,
	    sizeof(err)) == -1)
		goto fail;
	/*
	 * The directories of `user` are chowned to the user a config names,
	 * and the workers that run on keep theirs: a sender whose spool went
	 * to another user could write no segment and read none back.
	 */
	if (strcmp(next.user, m->conf.user) != 0) {
		log_warnx("%s: reload: [agent] user changed (\"%s\", running "
		    "as \"%s\"); it takes effect at the next start", __func__,
		    next.user, m->conf.user);
		strlcpy(next.user, m->conf.user, sizeof(next.user));
	}
	if (users_wait(&next, USERS_WAIT_SECS, &m->users_pending, err,
	    sizeof(err)) == -1 ||
	    conf_check_env(&next, geteuid() == 0, conf_warn, m, err,
	    sizeof(err)) != 0 ||
	    dirs_check(&next, geteuid(), err, sizeof(err)) == -1 ||
	    dirs_prepare(&next, geteuid(), err, sizeof(err)) == -1)
		goto fail;
	if (strcmp(next.pidfile, m->conf.pidfile) != 0) {
		log_warnx("%s: reload: [agent] pidfile changed; it takes "
		    "effect at the next start", __func__);
		strlcpy(next.pidfile, m->conf.pidfile, sizeof(next.pidfile));
	}
	if (strcmp(next.chroot, m->conf.chroot) != 0 ||
	    strcmp(next.pluginsuser, m->conf.pluginsuser) != 0 ||
	    next.allowrootplugins != m->conf.allowrootplugins)
		log_warnx("%s: reload: sandbox settings (chroot, "
		    "pluginsuser, allowrootplugins) apply to workers started "
		    "from now on", __func__);
	if (logfile_configure(&m->log, next.logdir,
	    (uint64_t)next.logrotatesize, (unsigned)next.logrotatenum, err,
	    sizeof(err)) == -1)
		goto fail;
	if (reload_listeners(m, &next, &listeners_changed, err,
	    sizeof(err)) == -1) {
		(void)logfile_configure(&m->log, m->conf.logdir,
		    (uint64_t)m->conf.logrotatesize,
		    (unsigned)m->conf.logrotatenum, ign, sizeof(ign));
		goto fail;
	}
	outfile_new = outfile_changed(&m->conf, &next);
	strlcpy(prev_spool, m->conf.spool, sizeof(prev_spool));
	conf_free(&m->conf);
	m->conf = next;
	m->generation++;
	spoolheld_reload(m, prev_spool, m->conf.spool);
	watchdog_apply(m);
	m->log.min = m->conf.loglevel;
	log_set_level(m->conf.loglevel);
	log_info("reload: config generation %llu loaded; sending it to the "
	    "workers", (unsigned long long)m->generation);
	ev_timer_stop(m->loop, &m->reload_timer);
	ev_timer_set(&m->reload_timer, RELOAD_ACK_TIMEOUT, 0.);
	ev_timer_start(m->loop, &m->reload_timer);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		if (w->ctl == NULL || (w->state != W_RUNNING &&
		    w->state != W_STARTING))
			continue;
		/* the new file first: the new config opens the output */
		if ((r == ROLE_SENDER && outfile_new &&
		    outfile_send(m, w, &m->conf, 0) == -1) ||
		    spawn_send_conf(m, w, 0) == -1 ||
		    (listeners_changed && spawn_send_listeners(m, w) == -1))
			supervise_kill(w, "could not send its new config");
	}
	/* no worker to wait for (all restarting): over already */
	reload_acked(m);
	return;
fail:
	log_warnx("%s: reload failed, keeping config generation %llu: %s",
	    __func__, (unsigned long long)m->generation, err);
	conf_free(&next);
	reload_over(m, "reload refused, the running config stays (see the "
	    "log)", "refused", err);
}

/* How many of the role's log lines its budget dropped (lograte.h). */
static void
lograte_say(struct master *m, struct wslot *w)
{
	uint64_t	 lines, bytes;
	double		 secs;

	if (!lograte_summary_due(&w->lograte, ev_now(m->loop), &lines, &bytes,
	    &secs))
		return;
	if (lines == 1 && secs == 0)
		log_warnx("%s[%ld] logs over its role's budget of %.0f lines "
		    "and %.0f bytes a second: this line and the next ones "
		    "over it are dropped, and counted here every %.0f s",
		    proto_role_name(w->role), (long)w->pid, LOGRATE_LINES,
		    LOGRATE_BYTES, WARN_LIMIT_EVERY);
	else
		log_warnx("%llu lines (%llu bytes) from %s dropped in the "
		    "last %.1f s (over %.0f lines or %.0f bytes a second)",
		    (unsigned long long)lines, (unsigned long long)bytes,
		    proto_role_name(w->role), secs, LOGRATE_LINES,
		    LOGRATE_BYTES);
}

/* Messages a worker sends the master on its control edge. */
void
master_ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct wslot	*w = arg;
	struct master	*m = w->m;
	struct preader	 pr;
	char		*text, why[256];
	uint32_t	 level, peer, peerpid, ok;
	uint64_t	 gen;

	codec_get_init(&pr, in->data, in->datalen);
	why[0] = '\0';
	watchdog_heard(m, w);
	/* lines dropped at the end of a flood: told at its next frame */
	if (in->hdr.type != MSG_LOG)
		lograte_say(m, w);
	/*
	 * A dead worker's last frames: its log lines still matter, and its
	 * last counters (they join its role's base right after).
	 */
	if (w->reaped && in->hdr.type != MSG_LOG && in->hdr.type != MSG_STATS)
		return;
	switch (in->hdr.type) {
	case MSG_READY:
		if (codec_get_end(&pr) == -1)
			break;
		supervise_ready(m, w);
		/* started on the spool held: now the move to the config's */
		if (w->role == ROLE_SENDER && spoolheld_for_start(m) != NULL &&
		    spawn_send_conf(m, w, 0) == -1)
			supervise_kill(w, "could not send its config");
		/* a respawn's successor acks a reload once ready */
		if (w->respawn_gen == m->generation)
			reload_acked(m);
		return;
	case MSG_LOG:
		level = codec_get_u32(&pr);
		text = codec_get_str(&pr);
		if (codec_get_end(&pr) == -1 || level >= LOG_LVL_MAX) {
			free(text);
			break;
		}
		/* kept to explain the worker's death if it follows */
		if (level >= LOG_LVL_WARN)
			strlcpy(w->last_words, text, sizeof(w->last_words));
		if (lograte_take(&w->lograte, ev_now(m->loop), strlen(text)))
			logfile_write(&m->log, (enum log_level)level,
			    proto_role_name(w->role), w->pid, text);
		free(text);
		lograte_say(m, w);
		return;
	case MSG_CONF_ACK:
		gen = codec_get_u64(&pr);
		ok = codec_get_u32(&pr);
		text = codec_get_str(&pr);
		if (codec_get_end(&pr) == -1 || ok > 1 || gen > m->generation) {
			free(text);
			break;
		}
		if (ok) {
			/* said once a generation, however often it comes */
			if (gen > 1 && gen == m->generation &&
			    w->acked_gen != gen) {
				w->acked_gen = gen;
				log_info("%s applied config generation %llu",
				    proto_role_name(w->role),
				    (unsigned long long)gen);
				reload_acked(m);
			} else
				w->acked_gen = gen;
		} else {
			if (lograte_take(&w->lograte, ev_now(m->loop),
			    strlen(text)))
				/* the worker's words: within its role's
				 * budget */
				log_warnx("%s: %s cannot apply config "
				    "generation %llu: %s", __func__,
				    proto_role_name(w->role),
				    (unsigned long long)gen, text);
			if (gen == m->generation)
				reload_unapplied(m, w);
		}
		lograte_say(m, w);
		free(text);
		return;
	case MSG_PEER_STATE:
		peer = codec_get_u32(&pr);
		peerpid = codec_get_u32(&pr);
		if (codec_get_end(&pr) == -1 || peer >= ROLE_MAX ||
		    proto_peer_edge_find(w->role, (enum role)peer) == NULL ||
		    peerpid > INT_MAX)
			break;
		w->peers[peer] = (pid_t)peerpid;
		return;
	case MSG_STATUS_REQ:
		if (codec_get_end(&pr) == -1)
			break;
		pull_status_req(m, w, in->hdr.reqid);
		return;
	case MSG_SPOOL_INUSE:
		text = codec_get_str(&pr);
		if (codec_get_end(&pr) == -1 || w->role != ROLE_SENDER) {
			free(text);
			break;
		}
		spoolheld_report(m, text, ev_now(m->loop));
		free(text);
		return;
	case MSG_STATS:
		if (stats_worker_msg(w, &pr, why, sizeof(why)) == -1)
			break;
		pull_stats_in(m, w, in->hdr.reqid);
		/* counters change when plugins or git ran: leftovers */
		if (w->role == ROLE_SCHEDULER || w->role == ROLE_GITPULL)
			orphans_activity(m);
		return;
	default:
		break;
	}
	/* a worker that breaks the protocol is not trusted to go on */
	log_warnx("%s: bad %s message from %s: %s", __func__,
	    proto_msg_name(in->hdr.type), proto_role_name(w->role),
	    why[0] != '\0' ? why : pr.failed ? pr.err : "unexpected");
	supervise_kill(w, "protocol error on its control edge");
}

void
master_ctl_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct wslot	*w = arg;

	w->ctl = NULL;
	if (w->state == W_STOPPING || strcmp(why, "closed by peer") == 0) {
		log_debug("%s: control edge of %s closed", __func__,
		    proto_role_name(w->role));
		return;
	}
	log_warnx("%s: control edge of %s (pid %ld): %s", __func__,
	    proto_role_name(w->role), (long)w->pid, why);
	supervise_kill(w, "its control edge failed");
}

/* SIGUSR1 (logrotate): the log and the file output opened again. */
static void
master_reopen(struct master *m)
{
	char	 err[512];

	m->reopened_at = ev_now(m->loop);
	if (logfile_reopen(&m->log, err, sizeof(err)) == -1)
		log_warnx("%s: SIGUSR1: %s", __func__, err);
	else
		log_info("SIGUSR1: log file reopened");
	/* the file output rotates with the logs: a new descriptor */
	if (m->w[ROLE_SENDER].ctl != NULL &&
	    m->w[ROLE_SENDER].state == W_RUNNING &&
	    strcmp(m->conf.output_name, "file") == 0 &&
	    strcmp(m->conf.path, "-") != 0)
		(void)outfile_send(m, &m->w[ROLE_SENDER], &m->conf, 1);
}

static void
reopen_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	master_reopen(t->data);
}

/*
 * At most one reopen a REOPEN_GAP, the last signal of a burst answered
 * at its end: each reopen hands the sender a new descriptor, and a burst
 * to a stopped sender queued one per signal (2754 in 3 s), each logged.
 */
static void
master_reopen_asked(struct master *m)
{
	ev_tstamp	 wait;

	if (ev_is_active(&m->reopen_timer))
		return;
	wait = m->reopened_at + REOPEN_GAP - ev_now(m->loop);
	/*
	 * ev_now() is the wall clock: stepped back since the last reopen,
	 * it would hold this one for as long as the step, and the sender
	 * would write on into the file logrotate moved away (and then
	 * compresses and removes).  How long ago the last one was cannot
	 * be told then: now.
	 */
	if (wait > REOPEN_GAP)
		wait = 0;
	if (m->reopened_at > 0 && wait > 0) {
		ev_timer_set(&m->reopen_timer, wait, 0.);
		ev_timer_start(m->loop, &m->reopen_timer);
		return;
	}
	master_reopen(m);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct master	*m = s->data;

	switch (s->signum) {
	case SIGHUP:
		/*
		 * In the foreground on a terminal, a SIGHUP may be the
		 * kernel's word that the terminal hung up (its ssh session
		 * dropped, its window closed), not `agent reload`: the
		 * agent ends with its terminal, as a foreground program
		 * does, rather than reload for nobody and run on with its
		 * lines going nowhere.  A daemon has no terminal; an agent
		 * that outlived its terminal (setsid, a disowned job)
		 * reloads (relay_set_hung_up()).
		 */
		if (relay_set_hung_up(&m->relays)) {
			if (m->phase == M_STOPPING)
				break;
			log_info("SIGHUP and the terminal hung up: stopping "
			    "the workers (in the foreground the agent ends "
			    "with its terminal; started without -F it runs "
			    "on)");
			if (m->phase == M_STARTING)
				snprintf(m->fail_reason,
				    sizeof(m->fail_reason), "the terminal hung "
				    "up during startup");
			master_stop(m, m->phase == M_STARTING ? 1 : 0);
			break;
		}
		master_reload(m);
		break;
	case SIGTERM:
	case SIGINT:
		if (m->phase == M_STOPPING) {
			/* asked twice: the operator does not want to wait; a
			 * third must not give up on workers dying right now */
			if (m->stop_killed)
				break;
			log_warnx("%s: second stop signal: killing the workers "
			    "now", __func__);
			stop_timeout_cb(loop, &m->stop_timer, 0);
			break;
		}
		log_info("%s received: stopping the workers",
		    s->signum == SIGTERM ? "SIGTERM" : "SIGINT");
		if (m->phase == M_STARTING)
			snprintf(m->fail_reason, sizeof(m->fail_reason),
			    "interrupted by a signal during startup");
		master_stop(m, m->phase == M_STARTING ? 1 : 0);
		break;
	case SIGCHLD:
		supervise_reap(m);
		break;
	case SIGUSR1:
		master_reopen_asked(m);
		break;
	}
}

static void
master_signals(struct master *m)
{
	struct {
		ev_signal	*w;
		int		 sig;
	} sigs[] = {
		{ &m->sig_hup, SIGHUP }, { &m->sig_term, SIGTERM },
		{ &m->sig_int, SIGINT }, { &m->sig_chld, SIGCHLD },
		{ &m->sig_usr1, SIGUSR1 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev_signal_init(sigs[i].w, signal_cb, sigs[i].sig);
		sigs[i].w->data = m;
		ev_signal_start(m->loop, sigs[i].w);
	}
}

static int
master_setup(struct master *m, const char *conf_path, char *err,
    size_t errlen)
{
	pid_t		 stale;
	ssize_t		 n;
	int		 rc;

	if (conf_load(conf_path, &m->conf, conf_warn, m, err, errlen) == -1)
		return 2;
	/*
	 * 2, which the unit does not restart, for a config that is wrong;
	 * 1 for a lookup that failed for now (NSS, at boot), which a
	 * restart may get past
	 */
	if ((rc = conf_check_env(&m->conf, geteuid() == 0, conf_warn, m, err,
	    errlen)) != 0)
		return rc == -2 ? 1 : 2;
	/* a path someone else could change: refused before any is used */
	if (dirs_check(&m->conf, geteuid(), err, errlen) == -1)
		return 2;
	n = readlink("/proc/self/exe", m->exe, sizeof(m->exe) - 1);
	if (n == -1 || (size_t)n >= sizeof(m->exe) - 1 ||
	    (m->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot find our own binary: %s",
		    strerror(errno));
		return 1;
	}
	m->exe[n] = '\0';
	if (logfile_open(&m->log, m->conf.logdir,
	    (uint64_t)m->conf.logrotatesize, (unsigned)m->conf.logrotatenum,
	    err, errlen) == -1)
		return 1;
	m->log.min = m->conf.loglevel;
	start_warnings_write(m);
	/* until we detach the operator sees every line on the terminal too */
	m->log.to_stderr = 1;
	log_set_sink(master_log_sink, m);
	if (pidfile_lock(&m->pidfile, m->conf.pidfile, &stale, err,
	    errlen) == -1)
		return 1;
	if (stale > 0)
		log_warnx("%s: stale pidfile %s (pid %ld holds no lock): "
		    "replacing it", __func__, m->conf.pidfile, (long)stale);
	/* never leave a locked file naming a stale pid; rewritten after
	 * detaching */
	if (pidfile_write(&m->pidfile, getpid(), err, errlen) == -1)
		return 1;
	if (dirs_prepare(&m->conf, geteuid(), err, errlen) == -1)
		return 1;
	spoolheld_configured(m, m->conf.spool);
	spoolheld_restore(m);
	if (listen_open(&m->conf, &m->listen_tcp, &m->listen_unix, err,
	    errlen) == -1)
		return 1;
	return 0;
}

static void
master_cleanup(struct master *m)
{
	notify_close(&m->notify);
	if (m->exe_fd != -1)
		close(m->exe_fd);
	m->exe_fd = -1;
	listen_close(&m->conf, &m->listen_tcp, &m->listen_unix);
	/* a change the sender reported last, not saved yet (spoolheld.c) */
	spoolheld_flush(m);
	pidfile_remove(&m->pidfile);
	/* a lookup still waiting for the name service frees itself */
	users_wait_release(&m->users_pending);
	/* a start that failed before its log opened */
	strlist_free(&m->start_warnings);
}

/* Startup failed before the workers: undo what setup did. */
static int
master_abort(struct master *m, int code)
{
	master_cleanup(m);
	logfile_close(&m->log);
	conf_free(&m->conf);
	free(m);
	return code;
}

int
master_start(const char *conf_path, int foreground)
{
	struct master	*m;
	struct wslot	*failed;
	sigset_t	 none, early;
	char		 err[1024];
	enum role	 r;
	size_t		 i;
	int		 code;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		fprintf(stderr, "agent: out of memory\n");
		return 1;
	}
	m->foreground = foreground;
	m->listen_tcp = m->listen_unix = -1;
	m->exe_fd = -1;
	m->report_fd = -1;
	m->orphan_children_fd = -1;
	notify_init(&m->notify);
	m->pidfile.fd = -1;
	m->log.fd = -1;
	strlist_init(&m->start_warnings);
	m->generation = 1;
	m->phase = M_STARTING;
	log_init("master", LOG_LVL_INFO);
	/*
	 * Descriptors inherited from whoever started us (a CI runner's pipe,
	 * an ssh session) would be held for the daemon's whole life.
	 */
	if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 0) == -1)
		log_warn("%s: close_range", __func__);
	/*
	 * The signal mask is inherited too: a launcher that blocks SIGTERM
	 * (a script around its own work, a supervisor's thread) would leave
	 * `agent stop`, systemd and ^C waiting on a master that never hears
	 * them; ev_signal installs handlers, it does not undo a mask.
	 *
	 * But the signals we handle stay blocked until master_signals() has
	 * installed their handlers: the pidfile is locked and names us from
	 * master_setup() on, and what sends them checks just that (agent
	 * reload, logrotate's pkill -L -F, systemd's kill $MAINPID), while
	 * their default action ends the process.  A SIGUSR1 or SIGHUP in
	 * that window killed 3 to 4 of 10 starts.  Kept pending, they are
	 * handled once the loop runs.
	 */
	sigemptyset(&none);
	sigemptyset(&early);
	(void)sigaddset(&early, SIGHUP);
	(void)sigaddset(&early, SIGUSR1);
	(void)sigaddset(&early, SIGTERM);
	(void)sigaddset(&early, SIGINT);
	if (sigprocmask(SIG_SETMASK, &early, NULL) == -1)
		log_warn("%s: sigprocmask", __func__);
	/* before any child: none of them may inherit NOTIFY_SOCKET */
	(void)notify_open(&m->notify);
	/* SIGHUP re-reads it after we chdir("/") */
	if (realpath(conf_path, m->conf_path) == NULL) {
		fprintf(stderr, "agent: cannot read %s: %s\n", conf_path,
		    strerror(errno));
		notify_close(&m->notify);
		free(m);
		return 2;
	}
	conf_path = m->conf_path;

	if ((code = master_setup(m, conf_path, err, sizeof(err))) != 0) {
		if (m->log.fd != -1) {
			/* the log file and the terminal both get the reason */
			m->log.to_stderr = 0;
			logfile_write(&m->log, LOG_LVL_ERROR, "master",
			    getpid(), err);
			log_set_sink(NULL, NULL);
		}
		log_print_escaped(stderr, "agent: ", err, "\n");
		return master_abort(m, code);
	}
	log_set_level(m->conf.loglevel);
	if (!foreground && daemon_detach(&m->report_fd, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s", __func__, err);
		log_set_sink(NULL, NULL);
		log_print_escaped(stderr, "agent: ", err, "\n");
		return master_abort(m, 1);
	}
	/* from here on lines go to the log file (and stderr with -F) */
	m->log.to_stderr = foreground;
	if (pidfile_write(&m->pidfile, getpid(), err, sizeof(err)) == -1) {
		log_warnx("%s: %s", __func__, err);
		daemon_report(&m->report_fd, 0, err);
		log_set_sink(NULL, NULL);
		return master_abort(m, 1);
	}
	m->started = time(NULL);
	m->unprivileged = geteuid() != 0;
	log_info("agent %s starting (master pid %ld, config %s)",
	    PACKAGE_VERSION, (long)getpid(), conf_path);
	if (m->notify.err[0] != '\0')
		log_warnx("%s: %s: no readiness notifications", __func__,
		    m->notify.err);
	if (m->unprivileged)
		log_warnx("%s: not running as root: workers keep uid %ld, no "
		    "user switch and no chroot; rlimits, no_new_privs and "
		    "seccomp still apply", __func__, (long)geteuid());

	if (!m->unprivileged && strcmp(m->conf.user, m->conf.pluginsuser) == 0)
		log_warnx("%s: [agent] user and pluginsuser are both \"%s\": "
		    "plugins can change their own checkouts, the disable "
		    "markers and the spool; give the plugins a user of their "
		    "own", __func__, m->conf.user);

	/* a dead worker must not kill the master with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Not the default loop: it would install its own SIGCHLD handler
	 * and reap our children behind supervise_reap's back.
	 */
	ev_set_syserr_cb(fatal_syserr);
	if ((m->loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		fatalx("%s: cannot create the event loop", __func__);
	relay_set_init(&m->relays, m->loop);
	relay_set_watch_hangup(&m->relays);
	if (m->relays.out[STDERR_FILENO] != STDERR_FILENO)
		m->log.err_nb = m->relays.out[STDERR_FILENO];
	master_signals(m);
	/* handled from here on: what came meanwhile is delivered now */
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		log_warn("%s: sigprocmask", __func__);
	(void)orphans_become_subreaper();
	orphans_start(m);
	watchdog_apply(m);
	notify_watchdog_start(&m->notify, m->loop);
	pull_init(m);
	ev_timer_init(&m->stop_timer, stop_timeout_cb, STOP_TIMEOUT, 0.);
	m->stop_timer.data = m;
	ev_timer_init(&m->reload_timer, reload_timeout_cb, RELOAD_ACK_TIMEOUT,
	    0.);
	m->reload_timer.data = m;
	ev_timer_init(&m->reopen_timer, reopen_timer_cb, REOPEN_GAP, 0.);
	m->reopen_timer.data = m;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		supervise_init_slot(m, &m->w[r], r);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX && m->phase == M_STARTING;
	    r++)
		if (spawn_worker(m, &m->w[r]) == -1)
			master_fail_start(m, "cannot start worker %s",
			    proto_role_name(r));
	if (m->phase == M_STARTING) {
		for (i = 0; i < proto_peer_edge_count; i++)
			if (spawn_wire_edge(m, &proto_peer_edges[i],
			    &failed) == -1)
				master_fail_start(m, "cannot wire edge %s<->%s",
				    proto_role_name(proto_peer_edges[i].a),
				    proto_role_name(proto_peer_edges[i].b));
	}
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX && m->phase == M_STARTING;
	    r++)
		if (m->w[r].ctl != NULL && frame_send(m->w[r].ctl,
		    MSG_SETUP_END, 0, NULL, 0, -1) == -1)
			master_fail_start(m, "cannot finish setup of %s",
			    proto_role_name(r));

	/* a failure before the loop ran has already stopped everything */
	if (!(m->phase == M_STOPPING && master_all_down(m)))
		ev_run(m->loop, 0);
	/* what the workers left running must not outlive us */
	(void)orphans_sweep(m);
	orphans_stop(m);
	watchdog_stop(m);
	pull_stop(m);

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (m->w[r].ctl != NULL)
			frame_conn_close(m->w[r].ctl);
	code = m->exit_code;
	/* before the pidfile goes: `agent stop` returns then, and the log
	 * it leaves must already say so */
	log_info("agent stopped%s", code != 0 ? " (startup failed)" : "");
	master_cleanup(m);
	if (code != 0)
		daemon_report(&m->report_fd, 0, m->fail_reason[0] != '\0' ?
		    m->fail_reason : "stopped during startup");
	log_set_sink(NULL, NULL);
	logfile_close(&m->log);
	/* what the workers wrote last, after the master's last line; the
	 * terminal's second description goes with it */
	m->log.err_nb = 0;
	relay_set_flush(&m->relays);
	ev_loop_destroy(m->loop);
	stats_free(m);
	conf_free(&m->conf);
	free(m);
	return code;
}
