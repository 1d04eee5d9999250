/*
 * The runtime every worker runs: handshake with the master, sandbox,
 * config generations, peer edges, shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "codec.h"
#include "log.h"
#include "points_msg.h"
#include "sandbox.h"
#include "status.h"
#include "worker.h"

static const struct worker_ops *const role_ops[ROLE_MAX] = {
	[ROLE_FRONT] = &front_ops,
	[ROLE_FETCHER] = &fetcher_ops,
	[ROLE_GITPULL] = &gitpull_ops,
	[ROLE_SCHEDULER] = &scheduler_ops,
	[ROLE_SENDER] = &sender_ops,
	[ROLE_COLLECTOR] = &collector_ops,
};

static void
worker_log_sink(enum log_level level, const char *msg, void *arg)
{
	struct worker	*w = arg;
	struct pbuf	 pb;
	char		 line[4200];
	size_t		 n;

	if (w->ctl != NULL) {
		codec_put_init(&pb);
		codec_put_u32(&pb, (uint32_t)level);
		codec_put_str(&pb, msg);
		if (!codec_put_failed(&pb) && frame_send(w->ctl, MSG_LOG, 0,
		    pb.buf, pb.len, -1) == 0) {
			codec_put_free(&pb);
			return;
		}
		codec_put_free(&pb);
	}
	/*
	 * No master to tell (the edge gone), or none that reads (its queue
	 * full): stderr is all that is left, and a counter (log_stderr)
	 * says how many the log lacks once the master reads again.
	 */
	w->log_stderr++;
	n = log_format_line(line, sizeof(line), level, proto_role_name(w->role),
	    getpid(), msg);
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

/* A dying worker's last words must reach the master's log. */
static void
worker_fatal_hook(void *arg)
{
	struct worker	*w = arg;

	if (w->ctl != NULL)
		(void)frame_flush(w->ctl, 1000);
}

int
worker_send_ctl(struct worker *w, uint16_t type, uint32_t reqid,
    const void *data, size_t len)
{
	if (w->ctl == NULL) {
		errno = EPIPE;
		return -1;
	}
	return frame_send(w->ctl, type, reqid, data, len, -1);
}

int
worker_send_peer(struct worker *w, enum role to, uint16_t type,
    uint32_t reqid, const void *data, size_t len)
{
	return worker_send_peer2(w, to, type, reqid, data, len, NULL, 0);
}

int
worker_send_peer2(struct worker *w, enum role to, uint16_t type,
    uint32_t reqid, const void *head, size_t headlen, const void *body,
    size_t bodylen)
{
	/* up means its HELLO came: it has started and can take messages */
	if ((unsigned)to >= ROLE_MAX || w->peers[to] == NULL ||
	    w->peer_pid[to] <= 0) {
		errno = ENOTCONN;
		return -1;
	}
	return frame_send2(w->peers[to], type, reqid, head, headlen, body,
	    bodylen, -1);
}

void
worker_exit(struct worker *w, int code)
{
	/* a clean end of a stop for a respawn asks the master for it */
	if (code == 0 && w->respawn)
		code = WORKER_EXIT_RESPAWN;
	w->exit_code = code;
	ev_break(w->loop, EVBREAK_ALL);
}

static void
report_peer(struct worker *w, enum role peer, pid_t pid)
{
	struct pbuf	 pb;

	w->peer_pid[peer] = pid;
	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)peer);
	codec_put_u32(&pb, (uint32_t)pid);
	if (codec_put_failed(&pb) || worker_send_ctl(w, MSG_PEER_STATE, 0,
	    pb.buf, pb.len) == -1)
		log_warn("%s: peer state of %s", __func__,
		    proto_role_name(peer));
	codec_put_free(&pb);
	/* the front's pushes are its clients' to send again, not ours */
	if (peer == ROLE_SENDER && w->role != ROLE_FRONT)
		worker_inflight_sender(w, pid > 0);
	if (w->ops->peer_changed != NULL)
		w->ops->peer_changed(w, peer, pid);
}

/* Which peer a conn belongs to; the conn's arg is the worker. */
static enum role
peer_of(struct worker *w, struct frame_conn *fc)
{
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (w->peers[r] == fc)
			return r;
	return ROLE_MASTER;
}

static void
peer_msg_cb(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct worker	*w = arg;
	struct preader	 pr;
	enum role	 from = peer_of(w, fc);
	uint32_t	 role;
	uint64_t	 gen;

	if (from == ROLE_MASTER)
		return;
	if (in->hdr.type == MSG_HELLO) {
		codec_get_init(&pr, in->data, in->datalen);
		role = codec_get_u32(&pr);
		gen = codec_get_u64(&pr);
		if (codec_get_end(&pr) == -1 || role != (uint32_t)from) {
			log_warnx("%s: bad HELLO from %s: %s", __func__,
			    proto_role_name(from), pr.failed ? pr.err :
			    "role does not match the edge");
			frame_conn_close(fc);
			w->peers[from] = NULL;
			report_peer(w, from, 0);
			return;
		}
		log_debug("peer %s up (pid %u, config generation %llu)",
		    proto_role_name(from), in->hdr.pid,
		    (unsigned long long)gen);
		report_peer(w, from, (pid_t)in->hdr.pid);
		return;
	}
	if (from == ROLE_SENDER && in->hdr.type == MSG_POINTS_ACK &&
	    w->role != ROLE_FRONT) {
		if (worker_inflight_ack(w, in->hdr.reqid, in->data,
		    in->datalen) == -1)
			log_debug("%s: an answer for request %u, not waited "
			    "for", __func__, in->hdr.reqid);
		return;
	}
	if (w->ops->peer_msg == NULL || w->ops->peer_msg(w, from, in) == -1) {
		log_warnx("%s: %s from %s not handled; closing the edge",
		    __func__, proto_msg_name(in->hdr.type),
		    proto_role_name(from));
		frame_conn_close(fc);
		w->peers[from] = NULL;
		report_peer(w, from, 0);
	}
}

static void
peer_close_cb(struct frame_conn *fc, const char *why, void *arg)
{
	struct worker	*w = arg;
	enum role	 from = peer_of(w, fc);

	if (from == ROLE_MASTER)
		return;
	w->peers[from] = NULL;
	if (strcmp(why, "closed by peer") == 0)
		log_debug("peer %s went away", proto_role_name(from));
	else
		log_warnx("%s: edge to %s closed: %s", __func__,
		    proto_role_name(from), why);
	report_peer(w, from, 0);
}

/*
 * A peer sends us data only once our HELLO came, and we send it as our
 * role's start() runs (worker_go()), in the same turn of the loop: a
 * message never reaches a worker that cannot take it yet.
 */
static void
send_hello(struct worker *w, enum role peer)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)w->role);
	codec_put_u64(&pb, w->generation);
	if (codec_put_failed(&pb) || frame_send(w->peers[peer], MSG_HELLO, 0,
	    pb.buf, pb.len, -1) == -1)
		log_warn("%s: HELLO to %s", __func__, proto_role_name(peer));
	codec_put_free(&pb);
}

int
worker_peer_attach(struct worker *w, enum role peer, int fd)
{
	struct frame_rules	 rules;
	const struct edge_def	*e;
	char			 name[64];

	if ((unsigned)peer >= ROLE_MAX ||
	    (e = proto_peer_edge_find(w->role, peer)) == NULL) {
		(void)close(fd);
		errno = EINVAL;
		return -1;
	}
	if (w->peers[peer] != NULL) {
		/*
		 * The master re-wired this edge: the old one is dead, even if
		 * its EOF has not arrived yet; what waited on it must know.
		 */
		frame_conn_close(w->peers[peer]);
		w->peers[peer] = NULL;
		report_peer(w, peer, 0);
	}
	snprintf(name, sizeof(name), "%s<->%s", proto_role_name(w->role),
	    proto_role_name(peer));
	rules.edge = e;
	rules.self = w->role;
	rules.name = name;
	w->peers[peer] = frame_conn_new(w->loop, fd, &rules, peer_msg_cb,
	    peer_close_cb, w);
	if (w->peers[peer] == NULL)
		return -1;
	/* before our start() the HELLO waits: see worker_go() */
	if (w->setup_done)
		send_hello(w, peer);
	return 0;
}

static int
attach_peer(struct worker *w, struct frame_in *in)
{
	struct preader		 pr;
	uint32_t		 peer;
	int			 fd = in->fd;

	codec_get_init(&pr, in->data, in->datalen);
	peer = codec_get_u32(&pr);
	if (codec_get_end(&pr) == -1 || fd == -1 || peer >= ROLE_MAX ||
	    proto_peer_edge_find(w->role, (enum role)peer) == NULL) {
		log_warnx("%s: bad PEER message: %s", __func__,
		    pr.failed ? pr.err : "no descriptor or no such edge");
		return -1;
	}
	in->fd = -1;
	if (worker_peer_attach(w, (enum role)peer, fd) == -1)
		log_warn("%s: edge to %s", __func__,
		    proto_role_name((enum role)peer));
	return 0;
}

static void	worker_stop(struct worker *);

static void
ack_conf(struct worker *w, uint64_t gen, int ok, const char *err)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	codec_put_u64(&pb, gen);
	codec_put_u32(&pb, ok ? 1 : 0);
	codec_put_str(&pb, err);
	if (codec_put_failed(&pb) || worker_send_ctl(w, MSG_CONF_ACK, 0, pb.buf,
	    pb.len) == -1)
		log_warn("%s: CONF_ACK", __func__);
	codec_put_free(&pb);
}

static int
apply_conf(struct worker *w, struct frame_in *in)
{
	struct preader		 pr;
	struct agent_conf	 next;
	uint64_t		 gen;
	char			 err[512];
	int			 rv;

	codec_get_init(&pr, in->data, in->datalen);
	gen = codec_get_u64(&pr);
	if (pr.failed || conf_defaults(&next) == -1) {
		log_warnx("%s: bad CONF message: %s", __func__, pr.err);
		return -1;
	}
	if (conf_decode(&pr, &next, err, sizeof(err)) == -1) {
		log_warnx("%s: bad CONF message: %s", __func__, err);
		conf_free(&next);
		return -1;
	}
	/*
	 * Stopping for a respawn: a later generation is the successor's,
	 * which the master gives it.  Applied and acknowledged here, it
	 * would have the master take the exit that follows for a crash
	 * (supervise_respawn_due()), and the worker stop for nothing.
	 */
	if (w->respawn) {
		log_info("config generation %llu left to the new %s process",
		    (unsigned long long)gen, proto_role_name(w->role));
		conf_free(&next);
		return 0;
	}
	rv = 0;
	if (w->have_conf && w->ops->reconfigure != NULL)
		rv = w->ops->reconfigure(w, &next, err, sizeof(err));
	if (rv == -1) {
		log_warnx("%s: cannot apply config generation %llu: %s",
		    __func__, (unsigned long long)gen, err);
		ack_conf(w, gen, 0, err);
		conf_free(&next);
		return 0;
	}
	if (rv == WORKER_RECONF_RESPAWN) {
		/* the successor acknowledges it, the master waits for that */
		log_info("config generation %llu needs a new %s process: %s; "
		    "stopping for the master to start one",
		    (unsigned long long)gen, proto_role_name(w->role), err);
		conf_free(&next);
		w->respawn = 1;
		worker_stop(w);
		return 0;
	}
	if (w->have_conf)
		conf_free(&w->conf);
	w->conf = next;
	w->have_conf = 1;
	w->generation = gen;
	log_set_level(w->conf.loglevel);
	ack_conf(w, gen, 1, "");
	return 0;
}

static void
worker_go(struct worker *w)
{
	struct sandbox_plan	 plan;
	char			 err[512];
	enum role		 r;

	ev_timer_stop(w->loop, &w->setup_timer);
	if (!w->have_conf)
		fatalx("%s: setup ended without a config", __func__);
	if (w->ops->setup != NULL && w->ops->setup(w, err, sizeof(err)) == -1) {
		log_warnx("%s: setup failed: %s", __func__, err);
		worker_exit(w, WORKER_EXIT_CONFIG);
		return;
	}
	if (sandbox_plan(w->role, &w->conf, &plan, err, sizeof(err)) == -1 ||
	    sandbox_enter(&plan, err, sizeof(err)) == -1) {
		log_warnx("%s: sandbox: %s", __func__, err);
		worker_exit(w, WORKER_EXIT_CONFIG);
		return;
	}
	w->unprivileged = plan.unprivileged;
	/*
	 * The HELLOs before start(), which may send a peer data already (the
	 * fetcher its items): behind our HELLO, so that the peer knows us up
	 * when it reads them (the scheduler's ITEMS_ACK failed with ENOTCONN
	 * when the items came first).  What the peer sends back is read in a
	 * later turn, once start() has run.
	 */
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (w->peers[r] != NULL)
			send_hello(w, r);
	if (w->ops->start != NULL && w->ops->start(w, err, sizeof(err)) == -1) {
		log_warnx("%s: start failed: %s", __func__, err);
		worker_exit(w, 1);
		return;
	}
	w->setup_done = 1;
	if (worker_send_ctl(w, MSG_READY, 0, NULL, 0) == -1)
		fatal("%s: READY", __func__);
	worker_stats_start(w);
	log_debug("ready (uid %ld%s%s)", (long)getuid(),
	    plan.chroot[0] != '\0' && plan.switch_user ? ", chroot " : "",
	    plan.chroot[0] != '\0' && plan.switch_user ? plan.chroot : "");
}

static void
worker_stop(struct worker *w)
{
	if (w->stopping)
		return;
	w->stopping = 1;
	if (w->ops->shutdown != NULL)
		w->ops->shutdown(w);
	else
		worker_exit(w, 0);
}

/*
 * The agent stops: a stop for a respawn under way becomes this one,
 * which waits for the producers (sender_producers_gone()) and ends 0.
 */
static void
worker_shutdown(struct worker *w)
{
	w->respawn = 0;
	worker_stop(w);
}

static void
ctl_msg_cb(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct worker	*w = arg;
	int		 rv = 0;

	switch (in->hdr.type) {
	case MSG_CONF:
		rv = apply_conf(w, in);
		break;
	case MSG_PEER:
		rv = attach_peer(w, in);
		break;
	case MSG_SETUP_END:
		if (w->setup_done || in->datalen != 0) {
			rv = -1;
			break;
		}
		worker_go(w);
		break;
	case MSG_SHUTDOWN:
		if (in->datalen != 0) {
			rv = -1;
			break;
		}
		worker_shutdown(w);
		break;
	case MSG_STATS_REQ:
		if (in->datalen != 0 || in->hdr.reqid == 0) {
			rv = -1;
			break;
		}
		worker_stats_answer(w, in->hdr.reqid);
		break;
	default:
		if (w->ops->control_msg == NULL)
			rv = -1;
		else
			rv = w->ops->control_msg(w, in);
		break;
	}
	if (rv == -1) {
		/* the master sent what it should not: do not guess */
		log_warnx("%s: bad %s message from the master; exiting",
		    __func__, proto_msg_name(in->hdr.type));
		worker_exit(w, 1);
	}
}

static void
ctl_close_cb(struct frame_conn *fc, const char *why, void *arg)
{
	struct worker	*w = arg;

	w->ctl = NULL;
	/* without the master there is no config, no log and no supervisor */
	log_warnx("%s: control edge closed: %s; exiting", __func__, why);
	worker_exit(w, 1);
}

static void
setup_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = t->data;

	log_warnx("%s: no setup from the master within %.0f s", __func__,
	    WORKER_SETUP_TIMEOUT);
	worker_exit(w, 1);
}

static const int quiet_signals[WORKER_QUIET_SIGNALS] = {
	SIGINT, SIGHUP, SIGUSR1, SIGPIPE
};

static void
ignore_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
}

static void
sigterm_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct worker	*w = s->data;

	log_info("SIGTERM received: stopping");
	worker_shutdown(w);
}

/* The control edge and the log sink of a worker; 0 or -1. */
static int
ctl_attach(struct worker *w, int fd)
{
	struct frame_rules	 rules;
	char			 name[64];

	snprintf(name, sizeof(name), "%s<->master", proto_role_name(w->role));
	rules.edge = proto_control_edge(w->role);
	rules.self = w->role;
	rules.name = name;
	w->ctl = frame_conn_new(w->loop, fd, &rules, ctl_msg_cb,
	    ctl_close_cb, w);
	if (w->ctl == NULL)
		return -1;
	log_set_sink(worker_log_sink, w);
	log_set_fatal_hook(worker_fatal_hook, w);
	return 0;
}

int
worker_host_init(struct worker *w, enum role role,
    const struct agent_conf *conf, int ctlfd)
{
	memset(w, 0, sizeof(*w));
	if (role < ROLE_FIRST_WORKER || role >= ROLE_MAX) {
		(void)close(ctlfd);
		errno = EINVAL;
		return -1;
	}
	w->role = role;
	w->ops = role_ops[role];
	worker_inflight_init(&w->inflight);
	log_init(proto_role_name(role), log_get_level());
	ev_set_syserr_cb(fatal_syserr);
	if ((w->loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		(void)close(ctlfd);
		return -1;
	}
	if (conf_copy(&w->conf, conf) == -1) {
		(void)close(ctlfd);
		return -1;
	}
	w->have_conf = 1;
	w->generation = 1;
	return ctl_attach(w, ctlfd);
}

int
worker_host_enter(struct worker *w)
{
	worker_go(w);
	return w->setup_done ? 0 : -1;
}

void
worker_host_free(struct worker *w)
{
	enum role	 r;

	if (w->ops != NULL) {
		worker_stats_flush(w);
		if (w->ops->cleanup != NULL)
			w->ops->cleanup(w);
	}
	worker_stats_free(w);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		if (w->peers[r] == NULL)
			continue;
		/* what is queued (points) reaches the peer before we go */
		(void)frame_flush(w->peers[r], 5000);
		frame_conn_close(w->peers[r]);
		w->peers[r] = NULL;
	}
	if (w->ctl != NULL) {
		(void)frame_flush(w->ctl, 1000);
		frame_conn_close(w->ctl);
		w->ctl = NULL;
	}
	log_set_sink(NULL, NULL);
	log_set_fatal_hook(NULL, NULL);
	if (w->have_conf)
		conf_free(&w->conf);
	w->have_conf = 0;
	worker_inflight_free(&w->inflight);
	if (w->loop != NULL)
		ev_loop_destroy(w->loop);
	w->loop = NULL;
}

int
worker_main(enum role role, int argc, char **argv)
{
	extern char		**environ;
	struct worker		 w;
	char			 comm[16];
	enum role		 r;
	size_t			 i;

	if (role < ROLE_FIRST_WORKER || role >= ROLE_MAX)
		return 1;
	memset(&w, 0, sizeof(w));
	w.role = role;
	w.ops = role_ops[role];
	worker_inflight_init(&w.inflight);
	log_init(proto_role_name(role), LOG_LVL_INFO);

	setproctitle_init(argc, argv, environ);
	setproctitle("%s", proto_role_name(role));
	snprintf(comm, sizeof(comm), "agent-%s", proto_role_name(role));
	if (prctl(PR_SET_NAME, comm, 0, 0, 0) == -1)
		log_warn("%s: PR_SET_NAME", __func__);

	ev_set_syserr_cb(fatal_syserr);
	if ((w.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		fatalx("%s: cannot create the event loop", __func__);
	if (ctl_attach(&w, CONTROL_FD) == -1)
		fatal("%s: control edge", __func__);

	ev_timer_init(&w.setup_timer, setup_timeout_cb, WORKER_SETUP_TIMEOUT,
	    0.);
	w.setup_timer.data = &w;
	ev_timer_start(w.loop, &w.setup_timer);
	ev_signal_init(&w.sig_term, sigterm_cb, SIGTERM);
	w.sig_term.data = &w;
	ev_signal_start(w.loop, &w.sig_term);
	/*
	 * ^C on a foreground agent reaches the whole process group, but the
	 * master decides when workers stop; SIGHUP and SIGUSR1 are the
	 * master's too.  Caught rather than ignored: an ignored signal would
	 * stay ignored in git and the plugins we exec.
	 */
	for (i = 0; i < sizeof(quiet_signals) / sizeof(quiet_signals[0]); i++) {
		ev_signal_init(&w.sig_quiet[i], ignore_cb, quiet_signals[i]);
		ev_signal_start(w.loop, &w.sig_quiet[i]);
	}

	ev_run(w.loop, 0);

	/* the last counters: the master keeps them across our restart */
	worker_stats_flush(&w);
	if (w.ops->cleanup != NULL)
		w.ops->cleanup(&w);
	worker_stats_free(&w);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (w.peers[r] != NULL) {
			/* what the last turns queued (points) goes first */
			(void)frame_flush(w.peers[r], 1000);
			frame_conn_close(w.peers[r]);
		}
	if (w.ctl != NULL) {
		(void)frame_flush(w.ctl, 1000);
		frame_conn_close(w.ctl);
		w.ctl = NULL;
	}
	log_set_sink(NULL, NULL);
	log_set_fatal_hook(NULL, NULL);
	if (w.have_conf)
		conf_free(&w.conf);
	worker_inflight_free(&w.inflight);
	ev_loop_destroy(w.loop);
	return w.exit_code;
}

int
worker_push_stats(struct worker *w, const struct stat_kv *v, size_t n,
    const char *note)
{
	return worker_push_stats_all(w, v, n, NULL, 0, note, NULL);
}

/*
 * The counters and samples into pb, within what a frame to the master
 * carries.  A scheduler's samples take a kilobyte each with the longest
 * names a registry may give (four per plugin and a histogram), so a few
 * hundred plugins passed the bound, and the frame, refused whole, took
 * every figure of the worker out of /metrics and /me/status.  Over it,
 * the samples from the first on that fit go (the runtime's own, then
 * the role's: a worker puts its own first, then the plugins' in their
 * order), and the log says how many did not, at most every 10 s.
 */
static void
stats_encode_fit(struct worker *w, struct pbuf *pb,
    const struct worker_stats *ws, const struct metric_set *own,
    const struct metric_set *ms)
{
	struct metric_set	 part;
	size_t			 max, lo, hi, mid;
	uint64_t		 n;

	/* half: the master sends them on with every other worker's */
	max = proto_control_edge(w->role)->maxpayload / 2;
	/* the decoder takes METRICS_MAX samples, ours among them */
	part = *ms;
	if (part.n > METRICS_MAX - own->n)
		part.n = METRICS_MAX - own->n;
	status_stats_encode(pb, ws);
	metrics_encode2(pb, own, &part);
	if (codec_put_failed(pb))
		return;
	if (pb->len > max) {
		/* the most samples that fit: lo fits (none does), hi not */
		lo = 0;
		hi = part.n;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			part.n = mid;
			codec_put_reset(pb);
			status_stats_encode(pb, ws);
			metrics_encode2(pb, own, &part);
			if (codec_put_failed(pb))
				return;
			if (pb->len <= max)
				lo = mid;
			else
				hi = mid;
		}
		part.n = lo;
		codec_put_reset(pb);
		status_stats_encode(pb, ws);
		metrics_encode2(pb, own, &part);
	}
	if (part.n < ms->n && warn_limit_due(&w->stats_cut, ev_now(w->loop),
	    &n))
		log_warnx("%s: %zu of %zu samples left out of the counters "
		    "sent to the master: with them they take more than the "
		    "%zu bytes or the %d samples they may (%llu times since "
		    "the last warning)", __func__, ms->n - part.n, ms->n, max,
		    METRICS_MAX, (unsigned long long)n);
}

int
worker_push_stats_all(struct worker *w, const struct stat_kv *v, size_t n,
    const struct stat_text *t, size_t ntext, const char *note,
    const struct metric_set *ms)
{
	struct worker_stats	 ws;
	struct metric_set	 none, own;
	struct pbuf		 pb;
	size_t			 i;
	int			 rv = 0;

	memset(&ws, 0, sizeof(ws));
	/* the role's counters, then the runtime's: the same in every role */
	for (i = 0; i < n && i < STATS_MAX - 1; i++) {
		strlcpy(ws.v[i].key, v[i].key, sizeof(ws.v[i].key));
		ws.v[i].value = v[i].value;
	}
	strlcpy(ws.v[i].key, "log_lines_stderr", sizeof(ws.v[i].key));
	ws.v[i].value = w->log_stderr;
	ws.n = (uint32_t)i + 1;
	for (i = 0; i < ntext && i < STATS_TEXT_MAX; i++) {
		strlcpy(ws.t[i].key, t[i].key, sizeof(ws.t[i].key));
		strlcpy(ws.t[i].value, t[i].value != NULL ? t[i].value : "",
		    sizeof(ws.t[i].value));
	}
	ws.ntext = (uint32_t)i;
	strlcpy(ws.note, note != NULL ? note : "", sizeof(ws.note));
	metrics_init(&none);
	metrics_init(&own);
	/* by role: every worker has one; the master sums a dead one's in */
	if (metrics_put(&own, "log_lines_stderr_total", w->log_stderr, "role",
	    proto_role_name(w->role), NULL) == -1)
		log_warnx("%s: %s: log_lines_stderr_total left out (out of "
		    "memory)", __func__, proto_role_name(w->role));
	codec_put_init(&pb);
	stats_encode_fit(w, &pb, &ws, &own, ms != NULL ? ms : &none);
	metrics_free(&own);
	if (codec_put_failed(&pb)) {
		log_warnx("%s: %s: cannot encode", __func__,
		    proto_role_name(w->role));
		rv = -1;
	} else if (worker_stats_same(w, pb.buf, pb.len) &&
	    w->stats_reqid == 0)
		;	/* nothing changed and nobody asked: the master has them */
	else if (worker_send_ctl(w, MSG_STATS, w->stats_reqid, pb.buf,
	    pb.len) == -1) {
		log_warn("%s: %s", __func__, proto_role_name(w->role));
		worker_stats_free(w);	/* the next push tries again */
		rv = -1;
	}
	w->stats_reqid = 0;
	codec_put_free(&pb);
	return rv;
}

int
worker_send_points(struct worker *w, const struct points_msg *m)
{
	return worker_inflight_send(w, m);
}
