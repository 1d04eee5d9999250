/*
 * The sender: takes encoded points from the producers, keeps them
 * (spool on disk and a window of it in memory, or memory only), cuts
 * them into messages, and publishes requests of one or more messages
 * through one output, one request at a time.  Nothing leaves the buffer
 * unpublished without being counted.
 *
 * This file is the worker: the messages of the producers and their
 * answers, the spool's syncs, counters, reload and stop.  See sender.h
 * for the others.
 *
 * Pushed or scheduled follows from the edge the points came on: the
 * front's are pushed (a client waits for the answer, and gets 503 rather
 * than see them dropped), the scheduler's and the collector's scheduled
 * (they age out when full).  The producer's own word for it is not
 * trusted: a scheduler that says "pushed" could pin its points where
 * /post's belong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <curl/curl.h>

#include "codec.h"
#include "log.h"
#include "sender.h"
#include "sender_spool.h"
#include "status.h"

#define STOP_FLUSH_TIME		5.0	/* seconds to empty the buffer */
#define SENDER_SYNC_EARLY	0.75	/* of spoolsync: a turn syncs now */

static const struct sink_ops *
sink_for(const struct agent_conf *c)
{
	size_t	 i;

	if (strcmp(c->output_name, "file") == 0)
		return &sink_file_ops;
	if (strcmp(c->output_name, "influxdb") == 0)
		return &sink_influxdb_ops;
	if (strcmp(c->output_name, "nsq") == 0) {
		/*
		 * host:port is nsqd's HTTP API, tcp://host:port the TCP
		 * protocol V2; the config loader refuses a mix.
		 */
		for (i = 0; i < c->servers.n; i++)
			if (strncasecmp(c->servers.v[i], "tcp://", 6) == 0)
				return &sink_nsq_tcp_ops;
		return &sink_nsq_http_ops;
	}
	return NULL;
}

/* An HTTP output: nsq at host:port, influxdb. */
static int
sender_uses_curl(const struct agent_conf *c)
{
	const struct sink_ops	*ops = sink_for(c);

	return ops != NULL && ops->uses_curl;
}

/*
 * libcurl is loaded at the setup only for an HTTP output, or without a
 * spool: a reload to an HTTP output then starts a new sender, whose stop
 * keeps what it holds in the spool; without one, it would lose it.
 */
static int
sender_needs_curl(const struct agent_conf *c)
{
	return c->spool[0] == '\0' || sender_uses_curl(c);
}

void
sender_spool_logfn(const char *msg, void *arg)
{
	log_warnx("%s: sender_spool: %s", __func__, msg);
}

static void	 stop_cb(struct ev_loop *, ev_timer *, int);

/*
 * Whether a stop should give the output its time: not when none is open,
 * nor when it is the file output and the master closed its file (a
 * reload to another output closes it before the config arrives), with a
 * spool to keep what is held.  Without one, a file given back in time is
 * all that could keep it.
 */
static int
sender_output_may_take(const struct sender *s)
{
	if (s->ops == NULL)
		return 0;
	if (s->ops == &sink_file_ops && !sink_file_usable(s))
		return s->spool == NULL;
	return 1;
}

/*
 * The answer to a producer: accepted, full (503) or rejected (400) for
 * the front; for the scheduler and the collector, that they can forget
 * the points (worker_inflight.c).
 */
static void
answer_to(struct sender *s, enum role to, uint32_t reqid,
    enum points_verdict v, const char *why)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	points_ack_encode(&pb, v, why);
	if (codec_put_failed(&pb) || worker_send_peer(s->w, to,
	    MSG_POINTS_ACK, reqid, pb.buf, pb.len) == -1)
		log_warn("%s: answer to the %s", __func__,
		    proto_role_name(to));
	codec_put_free(&pb);
}

/*
 * Nothing more to wait for from the producers at a stop: no spool to
 * keep what they send, or both gone (the agent stops), or a stop for a
 * respawn, whose successor takes what they send next (worker.h).
 */
int
sender_producers_gone(const struct sender *s)
{
	return s->spool == NULL || s->w->respawn ||
	    (s->w->peers[ROLE_SCHEDULER] == NULL &&
	    s->w->peers[ROLE_COLLECTOR] == NULL);
}

/*
 * A batch held in memory only, because the spool could not take it, left
 * memory: published, or dropped and counted here, or carried over to a
 * new spool (synced).  Its producer may forget it now.  A producer that
 * died since is not answered: its successor's requests have ids of their
 * own, and one of them could be taken for it.
 */
void
sender_answer_later(struct sender *s, const struct batch *b)
{
	if (b->ackpid == 0 || s->w->peer_pid[b->ackto] != b->ackpid)
		return;
	answer_to(s, b->ackto, b->ackreqid, POINTS_ACCEPTED, "");
}

/*
 * spoolsync = 0, before the loop waits again: one sync for every answer
 * held back in this iteration (group commit), then the answers.  A sync
 * that fails makes them 503: never a 200 for what may not be on disk.
 */
static void
group_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct sender	*s = p->data;
	char		 err[256], why[300];
	size_t		 i;
	int		 rc = 0;

	ev_prepare_stop(loop, p);
	if (s->spool != NULL && sender_spool_dirty(s->spool) &&
	    (rc = sender_spool_sync(s->spool, err, sizeof(err))) == -1) {
		sender_spool_warn(s, "sync", err);
		snprintf(why, sizeof(why), "the spool cannot be synced: %s",
		    err);
	}
	for (i = 0; i < s->nacks; i++)
		answer_to(s, ROLE_FRONT, s->acks[i], rc == 0 ?
		    POINTS_ACCEPTED : POINTS_FULL, rc == 0 ? "" : why);
	s->nacks = 0;
}

/* Hold an answer for the next sync; -1 when it cannot be held. */
static int
hold_answer(struct sender *s, uint32_t reqid)
{
	uint32_t	*v;
	size_t		 cap;

	if (s->nacks == s->capacks) {
		cap = s->capacks == 0 ? 64 : s->capacks * 2;
		if ((v = reallocarray(s->acks, cap, sizeof(*v))) == NULL)
			return -1;
		s->acks = v;
		s->capacks = cap;
	}
	s->acks[s->nacks++] = reqid;
	ev_prepare_start(s->w->loop, &s->group);
	return 0;
}

static void
sync_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;
	char		 err[256];

	ev_timer_stop(loop, t);
	s->unsynced_since = 0;
	/* first: what it lets go, the spool need not sync */
	if (sender_out_sync(s) == -1)
		return;
	if (s->spool != NULL && sender_spool_sync_needed(s->spool) &&
	    sender_spool_sync(s->spool, err, sizeof(err)) == -1)
		sender_spool_warn(s, "sync", err);
}

/*
 * After a turn of the loop: the mark to its file if it moved on, and a
 * sync for what the spool holds unsynced that the output does not have
 * yet.  The deadline counts from the first turn that left such a record:
 * a sync now if that was SENDER_SYNC_EARLY of spoolsync ago or more,
 * else by a timer at spoolsync.  So a write waits spoolsync at most; a
 * sender whose output took the points meanwhile (flushms, 20 ms by
 * default, then the answer of the output) syncs nothing, and the disk
 * sees no flush a second from a healthy agent; a sender behind a slow or
 * dead output, busy once a second, syncs in the turn its work makes
 * anyway instead of waking again for a timer a moment later; syncs come
 * SENDER_SYNC_EARLY of spoolsync apart at the least.  Nothing runs on a
 * clock: an idle sender (nothing written) is never woken for it.
 */
static void
sync_arm_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct sender	*s = p->data;
	double		 every = (double)s->w->conf.spoolsync / 1000.0, since;

	/* the mark moved on in this turn: once for all its requests */
	if (s->spool != NULL)
		sender_spool_write_mark(s->spool);
	if (s->spool == NULL)
		return;
	if (every <= 0) {
		/* the output file too is synced before the loop waits */
		(void)sender_out_sync(s);
		return;
	}
	if (!sender_spool_sync_needed(s->spool) && !sender_out_unsynced(s)) {
		/* published meanwhile: nothing left for the sync to keep */
		ev_timer_stop(loop, &s->sync_timer);
		s->unsynced_since = 0;
		return;
	}
	if (s->unsynced_since == 0)
		s->unsynced_since = ev_now(loop);
	since = ev_now(loop) - s->unsynced_since;
	if (since >= every * SENDER_SYNC_EARLY) {
		sync_cb(loop, &s->sync_timer, 0);
		return;
	}
	if (!ev_is_active(&s->sync_timer)) {
		ev_timer_set(&s->sync_timer, every - since, 0.);
		ev_timer_start(loop, &s->sync_timer);
	}
}

/* From a new spoolsync on: the timer is armed again at the end of the
 * turn (sync_arm_cb(), which with 0 syncs the output file itself). */
static void
sync_timer_set(struct sender *s)
{
	ev_timer_stop(s->w->loop, &s->sync_timer);
	ev_prepare_start(s->w->loop, &s->sync_arm);
}

static int
sender_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct sender		*s = w->priv;
	struct points_msg	 m;
	struct points_from	 pf = { from, in->hdr.reqid, 0 };
	struct preader		 pr;
	enum points_verdict	 v;
	enum points_origin	 origin;
	char			 why[300], err[256];
	uint64_t		 n;
	int			 spooled = 0, said = 0;

	if (in->hdr.type != MSG_POINTS)
		return -1;
	/* the edge says which, not the producer (see the top) */
	origin = from == ROLE_FRONT ? ORIGIN_PUSHED : ORIGIN_SCHEDULED;
	codec_get_init(&pr, in->data, in->datalen);
	if (points_msg_decode(&pr, &m, why, sizeof(why)) == -1) {
		if (warn_limit_due(&s->malformed_warn, ev_now(w->loop), &n))
			log_warnx("%s: %s from %s: %s (%llu rejected since "
			    "the last warning)", __func__,
			    proto_msg_name(in->hdr.type),
			    proto_role_name(from), why,
			    (unsigned long long)n);
		s->st.rejected_malformed++;
		v = POINTS_REJECTED;
		said = 1;
	} else if (s->stopping && s->spool == NULL) {
		/* with a spool, what comes while stopping is kept there */
		snprintf(why, sizeof(why), "the agent is stopping");
		v = POINTS_FULL;
		/* a producer's are lost: no client sends them again */
		if (origin == ORIGIN_PUSHED)
			s->st.refused_full += m.npoints;
		else
			s->st.dropped_stop += m.npoints;
	} else {
		if (m.origin != origin)
			log_debug("%s: %s says its points are %s; taken as %s",
			    __func__, proto_role_name(from),
			    m.origin == ORIGIN_PUSHED ? "pushed" : "scheduled",
			    origin == ORIGIN_PUSHED ? "pushed" : "scheduled");
		/* the scheduler's outbox held them (pluginflushms) */
		v = sender_take(s, &m, origin, from == ROLE_SCHEDULER &&
		    w->conf.pluginflushms > 0, &pf, &spooled, why,
		    sizeof(why));
	}
	if (v == POINTS_ACCEPTED)
		why[0] = '\0';
	/* spoolsync = 0: scheduled points are synced as soon, unanswered */
	if (spooled && w->conf.spoolsync == 0)
		ev_prepare_start(w->loop, &s->group);
	/*
	 * A producer keeps what it sent until told: once written to the
	 * spool (or to memory without one), a sender that dies no longer
	 * loses it.  Held in memory because the spool cannot take it, it
	 * is told once they leave memory (sender_answer_later()).
	 */
	if (from != ROLE_FRONT) {
		/*
		 * The producer forgets refused points (worker_inflight.c)
		 * and logs nothing: said here, or they go unseen.
		 */
		if (v != POINTS_ACCEPTED && !said &&
		    warn_limit_due(&s->refused_warn, ev_now(w->loop), &n))
			log_warnx("%s: %u scheduled points from the %s "
			    "dropped: %s (%llu messages refused since the "
			    "last warning)", __func__, m.npoints,
			    proto_role_name(from), why,
			    (unsigned long long)n);
		if (in->hdr.reqid != 0 && !pf.later)
			answer_to(s, from, in->hdr.reqid, v, why);
		return 0;
	}
	/* on disk, synced before the answer: the next group commit */
	if (v == POINTS_ACCEPTED && spooled && w->conf.spoolsync == 0) {
		if (hold_answer(s, in->hdr.reqid) == 0)
			return 0;
		/* it cannot wait for the group's: a sync of its own */
		if (sender_spool_sync(s->spool, err, sizeof(err)) == -1) {
			sender_spool_warn(s, "sync", err);
			snprintf(why, sizeof(why), "the spool cannot be "
			    "synced: %s", err);
			v = POINTS_FULL;
		}
	}
	/*
	 * The client hears why (503 or 400, the reason in its body) and
	 * the counters say how many; the log too, or an operator asked
	 * why a client fails finds nothing there.
	 */
	if (v != POINTS_ACCEPTED && !said &&
	    warn_limit_due(&s->pushed_warn, ev_now(w->loop), &n))
		log_warnx("%s: %u pushed points %s: %s (%llu pushes answered "
		    "so since the last warning)", __func__, m.npoints,
		    v == POINTS_FULL ? "refused, answered 503; the client "
		    "sends them again" : "rejected", why,
		    (unsigned long long)n);
	answer_to(s, ROLE_FRONT, in->hdr.reqid, v, why);
	return 0;
}

static void
sender_push_stats(struct sender *s)
{
	const struct spool_stats *sp = s->spool != NULL ? &s->spool->st : NULL;
	/* a spool given up for another keeps no counters: the last ones */
	const struct stat_kv	 v[] = {
		{ "accepted", s->st.accepted },
		{ "published", s->st.published },
		{ "refused_full", s->st.refused_full },
		{ "rejected", s->st.rejected },
		{ "rejected_malformed", s->st.rejected_malformed },
		{ "dropped_full", s->st.dropped_full },
		{ "dropped_stop", s->st.dropped_stop },
		{ "dropped_toolarge", s->st.dropped_toolarge },
		{ "dropped_rejected", s->st.dropped_rejected },
		{ "dropped_spool", s->st.dropped_spool },
		{ "messages", s->st.messages },
		{ "requests", s->st.requests },
		{ "publish_errors", s->st.publish_errors },
		{ "reconnects", s->st.reconnects },
		{ "refused_toobig", s->st.toobig },
		{ "buffer_points", s->qpoints },
		{ "buffer_bytes", s->qbytes },
		{ "output_messagebytes", sender_msgbytes(s) },
		{ "output_requestbytes", s->learned.reqbytes > 0 &&
		    s->learned.reqbytes < (size_t)s->w->conf.requestbytes ?
		    s->learned.reqbytes : (size_t)s->w->conf.requestbytes },
		{ "spool_ok", s->spool != NULL },
		{ "spool_bytes", s->spool != NULL ? s->spool->bytes : 0 },
		{ "spool_segments", s->spool != NULL ? s->spool->nsegs : 0 },
		{ "spool_records_written", sp != NULL ? sp->written : 0 },
		{ "spool_records_replayed", sp != NULL ? sp->replayed : 0 },
		{ "spool_records_cut", sp != NULL ? sp->cut : 0 },
		{ "spool_records_skipped", sp != NULL ? sp->skipped : 0 },
		{ "spool_syncs", sp != NULL ? sp->syncs : 0 },
		{ "spool_sync_usec", sp != NULL ? sp->sync_usec : 0 },
		{ "spool_write_errors", sp != NULL ? sp->write_errors : 0 },
	};
	const struct stat_text	 t[] = {
		{ "spool", s->spool != NULL ? s->spool->path : "" },
		{ "spool_error", s->spool_error },
		{ "output_limits_by", s->learned.by },
	};
	struct metric_set	*ms = &s->ms;

	metrics_reset(ms);
	(void)metrics_put(ms, "points_published_total", s->st.published,
	    NULL);
	(void)metrics_put(ms, "points_dropped_total", s->st.dropped_full,
	    "reason", "buffer_full", NULL);
	(void)metrics_put(ms, "points_dropped_total", s->st.dropped_stop,
	    "reason", "shutdown", NULL);
	/* refused for size before a 200, or cut off after one */
	(void)metrics_put(ms, "points_dropped_total", s->st.rejected +
	    s->st.dropped_toolarge, "reason", "too_large", NULL);
	(void)metrics_put(ms, "points_dropped_total", s->st.dropped_rejected,
	    "reason", "output_rejected", NULL);
	/* scheduled points the spool could neither take nor memory hold */
	(void)metrics_put(ms, "points_dropped_total", s->st.dropped_spool,
	    "reason", "spool", NULL);
	(void)metrics_put(ms, "points_refused_total", s->st.refused_full,
	    NULL);
	/* a producer sending what cannot be read is broken or taken over */
	(void)metrics_put(ms, "messages_malformed_total",
	    s->st.rejected_malformed, NULL);
	(void)metrics_put(ms, "buffer_points", s->qpoints, NULL);
	(void)metrics_put(ms, "buffer_bytes", s->qbytes, NULL);
	(void)metrics_put(ms, "spool_bytes", s->spool != NULL ?
	    s->spool->bytes : 0, NULL);
	(void)metrics_put(ms, "spool_segments", s->spool != NULL ?
	    s->spool->nsegs : 0, NULL);
	(void)metrics_put(ms, "spool_write_errors_total", sp != NULL ?
	    sp->write_errors : 0, NULL);
	(void)worker_push_stats_all(s->w, v, sizeof(v) / sizeof(v[0]), t,
	    sizeof(t) / sizeof(t[0]), s->last_error, ms);
}

/* ops->stats */
static void
sender_stats(struct worker *w)
{
	if (w->priv != NULL)
		sender_push_stats(w->priv);
}

/* Never fatal: without an output, points are buffered, then refused. */
static void
sender_open_sink(struct sender *s)
{
	char			 err[256];
	const struct sink_ops	*ops;

	if ((ops = sink_for(&s->w->conf)) == NULL) {
		/* points are buffered, then refused: visible, not lost */
		log_warnx("%s: output \"%s\" is not built yet: points are "
		    "buffered, then refused", __func__, s->w->conf.output_name);
		snprintf(s->last_error, sizeof(s->last_error), "output \"%s\" "
		    "is not built yet", s->w->conf.output_name);
		s->ops = NULL;
		return;
	}
	s->ops = ops;
	if (ops->uses_curl && s->curl.handle == NULL)
		snprintf(err, sizeof(err), "libcurl is not loaded");
	if ((ops->uses_curl && s->curl.handle == NULL) ||
	    ops->open(s, err, sizeof(err)) == -1) {
		/*
		 * Not fatal: a restart would fail the same way.  Points are
		 * buffered, then refused, and the reason is in the log and in
		 * /me/status until a reload fixes the config.
		 */
		log_warnx("%s: %s output: %s; points are buffered, then "
		    "refused", __func__, ops->name, err);
		strlcpy(s->last_error, err, sizeof(s->last_error));
		s->ops = NULL;
		return;
	}
	log_info("publishing to the %s output", ops->name);
}

/* The spool of the config, or memory only: never fatal. */
static void
sender_open_spool(struct sender *s)
{
	const struct agent_conf	*c = &s->w->conf;
	uint64_t		 recs, pts;
	char			 err[256];

	if (c->spool[0] == '\0') {
		log_info("spool off: points are kept in memory only");
		return;
	}
	if (sender_spool_open(&s->spool, c->spool, (uint64_t)c->spoolbytes,
	    sender_spool_logfn, s, err, sizeof(err)) == -1) {
		strlcpy(s->spool_error, err, sizeof(s->spool_error));
		log_warnx("%s: cannot use the spool: %s; points are kept in "
		    "memory only, and lost if the agent dies", __func__, err);
		return;
	}
	sender_spool_unread(s->spool, &recs, &pts);
	if (recs > 0)
		log_info("spool %s: %llu points in %llu records to publish "
		    "first (%u segments)", c->spool, (unsigned long long)pts,
		    (unsigned long long)recs, s->spool->nsegs);
	else
		log_info("spool %s: empty", c->spool);
}

/* The state, made on the first need: MSG_OUTPUT_FILE precedes start. */
static struct sender *
sender_state(struct worker *w)
{
	struct sender	*s = w->priv;

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	s->w = w;
	s->outfile_fd = -1;
	s->outsync_fd = -1;
	s->nosync_fd = -1;
	TAILQ_INIT(&s->queue);
	sender_cut_init(&s->cut);
	sender_out_init(s);
	ev_timer_init(&s->stop_timer, stop_cb, STOP_FLUSH_TIME, 0.);
	s->stop_timer.data = s;
	sender_refill_init(s);
	ev_timer_init(&s->sync_timer, sync_cb, 1., 0.);
	s->sync_timer.data = s;
	ev_prepare_init(&s->sync_arm, sync_arm_cb);
	s->sync_arm.data = s;
	ev_prepare_init(&s->group, group_cb);
	s->group.data = s;
	w->priv = s;
	return s;
}

/*
 * Before the sandbox: libcurl (curl_dl.h), loaded and initialized once
 * for the life of the process when sender_needs_curl(); and what tells
 * who serves a loopback output (sender_peer.h).
 */
static int
sender_setup(struct worker *w, char *err, size_t errlen)
{
	struct sender	*s = sender_state(w);

	sender_peer_setup(&s->peer, geteuid() == 0, w->conf.user,
	    w->conf.pluginsuser);
	sender_peer_server(&s->peer, w->conf.serveruser);
	if (!sender_needs_curl(&w->conf)) {
		log_debug("libcurl not loaded: the %s output does not use it",
		    w->conf.output_name);
		return 0;
	}
	return curl_dl_open(&s->curl, err, errlen);
}

static int
sender_start(struct worker *w, char *err, size_t errlen)
{
	struct sender	*s = sender_state(w);

	sender_open_spool(s);
	sync_timer_set(s);
	s->started = 1;
	sender_open_sink(s);
	/* what the spool holds goes first */
	sender_refill(s);
	sender_kick(s);
	/* before READY: /metrics has every family from the start */
	sender_push_stats(s);
	return 0;
}

static int
output_changed(const struct agent_conf *a, const struct agent_conf *b)
{
	size_t	 i;

	/* the sinks hold nsqd's limits from the config they opened with */
	if (strcmp(a->output_name, b->output_name) != 0 ||
	    strcmp(a->path, b->path) != 0 || a->servers.n != b->servers.n ||
	    a->messagebytes != b->messagebytes ||
	    a->requestbytes != b->requestbytes)
		return 1;
	for (i = 0; i < a->servers.n; i++)
		if (strcmp(a->servers.v[i], b->servers.v[i]) != 0)
			return 1;
	return 0;
}

/*
 * New settings: the buffer and the spool's content stay; the output is
 * reopened if it changed, and for a new spool directory (a request in
 * flight is given up, its points go again).
 */
static int
sender_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct sender		*s = w->priv;
	struct agent_conf	 old;
	int			 out, spool;

	if (s == NULL || !s->started)
		return 0;
	if (s->curl.handle == NULL && sender_uses_curl(next)) {
		if (s->spool == NULL) {
			/* its stop could keep nothing: the points stay here */
			snprintf(err, errlen, "the %s output needs libcurl, "
			    "which only a new sender can load, and %s; "
			    "restart the agent to apply it", next->output_name,
			    w->conf.spool[0] == '\0' ? "this one has no spool "
			    "to keep its points in while it stops" : "the "
			    "spool this one should keep its points in is not "
			    "open (see the log)");
			return -1;
		}
		snprintf(err, errlen, "the %s output needs libcurl, loaded "
		    "only at the start of a sender that has an HTTP output or "
		    "no spool", next->output_name);
		return WORKER_RECONF_RESPAWN;
	}
	/*
	 * A move to no spool without libcurl is applied here, not by a new
	 * sender (which sender_needs_curl() would want): that one would be
	 * given the spool this one holds to read first (spoolheld.c), start
	 * with it, so without libcurl, and stop again at the config's "" for
	 * ever.  A later reload to an HTTP output is refused (above).
	 */
	if (s->curl.handle == NULL && next->spool[0] == '\0' &&
	    w->conf.spool[0] != '\0')
		log_info("no spool from now on: libcurl is not loaded, so a "
		    "reload to an HTTP output needs a restart of the agent");
	sender_peer_server(&s->peer, next->serveruser);
	sender_peer_ours(&s->peer, next->pluginsuser);
	out = output_changed(&w->conf, next);
	/*
	 * Against the spool held, not the last config: a move that failed
	 * (the old one kept), or a spool that could not be used, is tried
	 * again at every reload.
	 */
	spool = strcmp(s->spool != NULL ? s->spool->path : "",
	    next->spool) != 0;
	if (s->spool != NULL && !spool)
		sender_spool_set_max(s->spool, (uint64_t)next->spoolbytes);
	sync_timer_set(s);
	/* what was learned of rewriting into the old format says nothing */
	if (strcmp(w->conf.format, next->format) != 0)
		s->learned.rewrite_shift = 0;
	if (!out && !spool)
		return 0;
	if (s->ops != NULL)
		s->ops->close(s);
	sender_flight_end(s);
	s->inflight = 0;
	s->solo = 0;
	/* open with the new settings; the runtime swaps w->conf after us */
	old = w->conf;
	w->conf = *next;
	if (spool)
		sender_spool_switch(s, next->spool,
		    (uint64_t)next->spoolbytes);
	if (out)
		memset(&s->learned, 0, sizeof(s->learned));
	sender_open_sink(s);
	w->conf = old;
	log_info("output reopened; %zu points kept in the buffer",
	    s->qpoints);
	sender_kick(s);
	return 0;
}

/*
 * At the stop, the batches in memory only (the spool could not take them
 * then) into the spool if it takes them now; those it does not are lost,
 * counted as dropped_stop: the points they still hold.  They stay in the
 * buffer, whose end (sender_cleanup()) is not a publication.
 */
static size_t
spool_memory_only(struct sender *s)
{
	struct batch		*b;
	uint32_t		 n;
	size_t			 lost = 0;
	char			 err[256];

	TAILQ_FOREACH(b, &s->queue, entry) {
		if (b->seg != NULL ||
		    sender_batch_append(s->spool, b, err, sizeof(err)) == 0)
			continue;
		n = b->npoints - b->done;
		log_warnx("%s: %u points held in memory only are lost: %s",
		    __func__, n, err);
		lost += n;
		s->st.dropped_stop += n;
	}
	/* synced as the spool is closed (sender_cleanup()) */
	return lost;
}

/* The bound of the stop is reached (or nothing can be published). */
static void
stop_now(struct sender *s)
{
	struct batch	*b;
	uint64_t	 recs = 0, pts = 0;
	size_t		 lost;

	if (s->spool != NULL) {
		/* nothing is lost: the next start publishes it */
		lost = spool_memory_only(s);
		sender_spool_unread(s->spool, &recs, &pts);
		if (s->qpoints - lost > 0 || pts > 0)
			log_warnx("%s: stopping with %llu points unpublished "
			    "(%zu in memory, %llu only on disk): they stay in "
			    "the spool %s for the next start; %s", __func__,
			    (unsigned long long)(s->qpoints - lost + pts),
			    s->qpoints - lost, (unsigned long long)pts,
			    s->spool->path,
			    s->last_error[0] != '\0' ? s->last_error :
			    "the output did not take them in time");
	} else {
		if (s->qpoints > 0)
			log_warnx("%s: stopping with %zu points unpublished "
			    "(%zu bytes), lost (no spool): %s", __func__,
			    s->qpoints, s->qbytes, s->last_error[0] != '\0' ?
			    s->last_error :
			    "the output did not take them in time");
		/*
		 * The request in flight is given up with its batches: an
		 * answer later in this turn (the loop ends with it) finds
		 * none, rather than the takes of freed batches to count
		 * and let go.
		 */
		sender_flight_end(s);
		s->inflight = 0;
		s->cut.ntakes = 0;
		while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
			TAILQ_REMOVE(&s->queue, b, entry);
			s->qpoints -= b->npoints - b->done;
			s->qbytes -= b->len - b->off;
			s->st.dropped_stop += b->npoints - b->done;
			/* unanswered: its producer gives it to our
			 * successor */
			b->ackreqid = 0;
			sender_batch_free(s, b);
		}
	}
	/* the last counters, so the master has dropped_stop too */
	sender_push_stats(s);
	worker_exit(s->w, 0);
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	stop_now(t->data);
}

/*
 * Publish what is buffered, for a bounded time, then go.  With a spool,
 * not before the scheduler and the collector have gone: they stop too,
 * and send what they hold as they do (the runs that ended, the
 * scheduler's outbox), which the spool keeps for the next start.
 */
static void
sender_shutdown(struct worker *w)
{
	struct sender	*s = w->priv;

	if (s == NULL || (TAILQ_EMPTY(&s->queue) &&
	    sender_producers_gone(s))) {
		worker_exit(w, 0);
		return;
	}
	if (!sender_output_may_take(s) && sender_producers_gone(s)) {
		/* no output to publish to: no point waiting */
		stop_now(s);
		return;
	}
	s->stopping = 1;
	s->backoff = 0;
	log_info("stopping: publishing %zu buffered points first%s",
	    s->qpoints, sender_producers_gone(s) ? "" : ", and spooling "
	    "what the scheduler and the collector send as they stop");
	ev_timer_start(w->loop, &s->stop_timer);
	sender_kick(s);
}

/* ops->peer_changed: a producer gone may be the last thing a stop
 * waited for */
static void
sender_peer_changed(struct worker *w, enum role peer, pid_t pid)
{
	struct sender	*s = w->priv;

	if (s == NULL || !s->stopping || pid != 0 ||
	    (peer != ROLE_SCHEDULER && peer != ROLE_COLLECTOR))
		return;
	if (!sender_output_may_take(s) && sender_producers_gone(s))
		stop_now(s);
	else
		sender_kick(s);
}

static void
sender_cleanup(struct worker *w)
{
	struct sender	*s = w->priv;
	struct batch	*b;

	if (s == NULL)
		return;
	if (s->ops != NULL)
		s->ops->close(s);
	sender_peer_free(&s->peer);
	ev_timer_stop(w->loop, &s->flush);
	ev_timer_stop(w->loop, &s->stop_timer);
	ev_timer_stop(w->loop, &s->refill_timer);
	ev_timer_stop(w->loop, &s->sync_timer);
	ev_prepare_stop(w->loop, &s->sync_arm);
	/* answers still waiting for their sync: synced and sent now */
	if (s->nacks > 0) {
		group_cb(w->loop, &s->group, 0);
		if (w->peers[ROLE_FRONT] != NULL)
			(void)frame_flush(w->peers[ROLE_FRONT], 1000);
	}
	ev_prepare_stop(w->loop, &s->group);
	/* what is in memory is on disk too: the segments stay; what is
	 * in memory only, its producer still has (unanswered) */
	while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, b, entry);
		b->seg = NULL;
		b->ackreqid = 0;
		sender_batch_free(s, b);
	}
	sender_spool_close(s->spool);
	s->spool = NULL;
	free(s->held);
	sender_cut_free(&s->cut);
	metrics_free(&s->ms);
	if (s->outfile_fd != -1)
		close(s->outfile_fd);
	free(s->acks);
	curl_dl_close(&s->curl);
	free(s);
	w->priv = NULL;
}

/*
 * The file output from the master: str path, str error, and the
 * descriptor, which replaces the one in use at once (SIGUSR1 after
 * logrotate moved the file; a reload to another path).  Path "": no file
 * output any more.
 */
static int
sender_output_file(struct sender *s, struct frame_in *in)
{
	struct preader	 pr;
	char		*path, *why;
	int		 had = s->outfile_fd != -1, rv = -1;

	codec_get_init(&pr, in->data, in->datalen);
	path = codec_get_str(&pr);
	why = codec_get_str(&pr);
	if (codec_get_end(&pr) == -1 || (path[0] == '\0' && in->fd != -1))
		goto out;
	sink_file_fd_closing(s);
	if (s->outfile_fd != -1)
		close(s->outfile_fd);
	s->outfile_fd = in->fd;
	in->fd = -1;
	snprintf(s->outfile_err, sizeof(s->outfile_err), "%s",
	    s->outfile_fd == -1 && why[0] == '\0' && path[0] != '\0' ?
	    "the master could not open it" : why);
	rv = 0;
	if (s->stopping && !sender_output_may_take(s) &&
	    sender_producers_gone(s)) {
		/* what it holds stays in the spool: nothing to wait for */
		stop_now(s);
		goto out;
	}
	if (!s->started || s->outfile_fd == -1 ||
	    strcmp(path, s->w->conf.path) != 0 ||
	    strcmp(s->w->conf.output_name, "file") != 0)
		goto out;
	if (s->ops == NULL) {
		/* it could not be opened before: it can now */
		sender_open_sink(s);
		sender_kick(s);
	} else if (had)
		log_info("output file %s reopened", path);
out:
	free(path);
	free(why);
	return rv;
}

static int
sender_control(struct worker *w, struct frame_in *in)
{
	if (in->hdr.type != MSG_OUTPUT_FILE)
		return -1;
	return sender_output_file(sender_state(w), in);
}

const struct worker_ops sender_ops = {
	.role = ROLE_SENDER,
	.setup = sender_setup,
	.start = sender_start,
	.reconfigure = sender_reconfigure,
	.peer_msg = sender_peer_msg,
	.peer_changed = sender_peer_changed,
	.control_msg = sender_control,
	.shutdown = sender_shutdown,
	.cleanup = sender_cleanup,
	.stats = sender_stats,
};
