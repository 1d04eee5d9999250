/*
 * The sender: takes encoded points from the producers, buffers them
 * (bounded in points and bytes), cuts them into messages, and publishes
 * requests of one or more messages through one output, one request at a
 * time.  Nothing leaves the buffer unpublished without being counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "codec.h"
#include "log.h"
#include "sender.h"
#include "status.h"

#define BACKOFF_MIN		0.1	/* seconds after a failed publish */
#define BACKOFF_MAX		10.0
#define STATS_INTERVAL		1.0	/* counters to the master */
#define STOP_FLUSH_TIME		5.0	/* seconds to empty the buffer */

static void	 sender_kick(struct sender *);

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

static void
batch_free(struct batch *b)
{
	free(b->data);
	free(b);
}

/* Drop a whole batch from the buffer, counting its points. */
static void
batch_drop(struct sender *s, struct batch *b, uint64_t *counter)
{
	uint32_t	 left = b->npoints - b->done;

	TAILQ_REMOVE(&s->queue, b, entry);
	s->qpoints -= left;
	s->qbytes -= b->len - b->off;
	*counter += left;
	batch_free(b);
}

/* Length of the first `n` points of `p` (without the '\n' after). */
static size_t
points_span(const char *p, size_t len, uint32_t n)
{
	const char	*nl = p;

	while (n-- > 0) {
		nl = memchr(nl, '\n', len - (size_t)(nl - p));
		if (nl == NULL)
			return len;
		if (n > 0)
			nl++;
	}
	return (size_t)(nl - p);
}

/* What the next request may hold, from the config of the moment. */
static void
sender_limits(const struct sender *s, struct cut_limits *l)
{
	const struct agent_conf	*c = &s->w->conf;

	l->points = (uint32_t)c->batchpoints;
	l->msgbytes = (size_t)c->messagebytes;
	l->reqbytes = (size_t)c->requestbytes;
	/* one message per request until the refused ones are through */
	l->reqmsgs = s->solo > 0 ? 1 : (size_t)c->requestmessages;
}

/* The first `n` points of the buffer are published: let them go. */
static void
sender_consume(struct sender *s, uint32_t n)
{
	struct batch	*b;
	uint32_t	 left;
	size_t		 span;

	while (n > 0 && (b = TAILQ_FIRST(&s->queue)) != NULL) {
		left = b->npoints - b->done;
		if (n >= left) {
			n -= left;
			TAILQ_REMOVE(&s->queue, b, entry);
			s->qpoints -= left;
			s->qbytes -= b->len - b->off;
			batch_free(b);
			continue;
		}
		span = points_span(b->data + b->off, b->len - b->off, n);
		/* and the '\n' after the last one */
		span++;
		b->off += span;
		b->done += n;
		s->qpoints -= n;
		s->qbytes -= span;
		n = 0;
	}
}

/* The request's points are gone from the buffer (published or not). */
static void
sender_consume_request(struct sender *s)
{
	s->solo = s->solo > s->inflight ? s->solo - s->inflight : 0;
	sender_consume(s, s->inflight);
	s->inflight = 0;
}

void
sender_sink_done(struct sender *s, int ok, const char *err)
{
	if (!s->busy)
		return;
	s->busy = 0;
	if (ok) {
		s->st.published += s->inflight;
		s->st.messages += s->cut.nmsgs;
		s->st.requests++;
		sender_consume_request(s);
		s->backoff = 0;
	} else {
		s->st.publish_errors++;
		strlcpy(s->last_error, err != NULL ? err : "publish failed",
		    sizeof(s->last_error));
		s->backoff = s->backoff == 0 ? BACKOFF_MIN :
		    s->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
		    s->backoff * 2;
		/* jitter, so agents behind one outage do not retry in step */
		s->backoff *= 0.75 + (double)arc4random_uniform(501) / 1000.0;
		log_warnx("%s: publish of %u points in %zu message%s failed: "
		    "%s; retrying in %.1f s",
		    __func__, s->inflight, s->cut.nmsgs,
		    s->cut.nmsgs == 1 ? "" : "s", s->last_error, s->backoff);
		/* all of them stay, and go again */
		s->inflight = 0;
	}
	sender_kick(s);
}

void
sender_sink_rejected(struct sender *s, const char *err)
{
	if (!s->busy)
		return;
	s->busy = 0;
	strlcpy(s->last_error, err, sizeof(s->last_error));
	s->backoff = 0;
	if (s->cut.nmsgs > 1) {
		/*
		 * Which message was it?  One per request, each is taken or
		 * refused on its own, and only a refused one is dropped.
		 */
		log_warnx("%s: the output refused a request of %zu messages "
		    "(%u points): %s; sending them one message per request",
		    __func__, s->cut.nmsgs, s->inflight, err);
		s->solo = s->inflight;
		s->inflight = 0;
		sender_kick(s);
		return;
	}
	s->st.dropped_rejected += s->inflight;
	log_warnx("%s: the output refused %u points for good: %s; they are "
	    "dropped", __func__, s->inflight, err);
	sender_consume_request(s);
	sender_kick(s);
}

void
sender_sink_partial(struct sender *s, uint32_t dropped, const char *err)
{
	if (!s->busy)
		return;
	s->busy = 0;
	if (dropped > s->inflight)
		dropped = s->inflight;
	strlcpy(s->last_error, err, sizeof(s->last_error));
	log_warnx("%s: the output stored %u of %u points and refused %u for "
	    "good: %s", __func__, s->inflight - dropped, s->inflight, dropped,
	    err);
	s->st.published += s->inflight - dropped;
	s->st.dropped_rejected += dropped;
	s->st.messages += s->cut.nmsgs;
	s->st.requests++;
	sender_consume_request(s);
	s->backoff = 0;
	sender_kick(s);
}

void
sender_count_reconnect(struct sender *s)
{
	s->st.reconnects++;
}

static void
sender_publish(struct sender *s)
{
	struct cut_limits	 l;
	int			 rv;

	if (s->busy || s->ops == NULL)
		return;
	sender_limits(s, &l);
	while ((rv = sender_cut_next(&s->cut, &s->queue, &l)) == -2) {
		/* no message can hold it: drop it, counted, and go on */
		log_warnx("%s: a point of %s is larger than [output] "
		    "messagebytes (%lld): dropped",
		    __func__, TAILQ_FIRST(&s->queue)->topic,
		    (long long)s->w->conf.messagebytes);
		s->st.dropped_toolarge++;
		s->inflight = 1;
		sender_consume_request(s);
	}
	if (rv == -1)
		log_warnx("%s: out of memory for a request", __func__);
	if (rv != 1)
		return;
	s->busy = 1;
	s->inflight = s->cut.npoints;
	s->ops->publish(s, s->cut.topic, s->cut.fmt, s->cut.msgs,
	    s->cut.nmsgs);
}

static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;

	ev_timer_stop(loop, t);
	sender_publish(s);
}

/*
 * Decide when the next message goes: now when a full one is waiting,
 * after flushms for a partial one, after the backoff following a failure.
 */
static void
sender_kick(struct sender *s)
{
	struct ev_loop	*loop = s->w->loop;
	double		 after;

	if (s->busy || TAILQ_EMPTY(&s->queue)) {
		if (s->stopping && !s->busy && TAILQ_EMPTY(&s->queue))
			worker_exit(s->w, 0);
		return;
	}
	if (s->backoff > 0)
		after = s->backoff;
	else if (s->stopping ||
	    s->qpoints >= (size_t)s->w->conf.batchpoints ||
	    s->qbytes >= (size_t)s->w->conf.messagebytes)
		after = 0;	/* a full message is waiting */
	else
		after = (double)s->w->conf.flushms / 1000.0;
	if (ev_is_active(&s->flush) && after > 0)
		return;
	ev_timer_stop(loop, &s->flush);
	ev_timer_set(&s->flush, after, 0.);
	ev_timer_start(loop, &s->flush);
}

/*
 * Make room for scheduled points by ageing out the oldest scheduled
 * batches.  Pushed points were answered 200 and stay; neither may the
 * batches under the request in flight go.  Nothing is dropped unless
 * enough can be.
 */
static int
sender_make_room(struct sender *s, size_t points, size_t bytes)
{
	struct batch	*b, *next, *first_free;
	size_t		 needp, needb, canp = 0, canb = 0;
	uint32_t	 covered = s->busy ? s->inflight : 0, left;

	needp = s->qpoints + points > (size_t)s->w->conf.buffersize ?
	    s->qpoints + points - (size_t)s->w->conf.buffersize : 0;
	needb = s->qbytes + bytes > (size_t)s->w->conf.bufferbytes ?
	    s->qbytes + bytes - (size_t)s->w->conf.bufferbytes : 0;
	/* skip what the request in flight was cut from */
	for (b = TAILQ_FIRST(&s->queue); b != NULL && covered > 0;
	    b = TAILQ_NEXT(b, entry)) {
		left = b->npoints - b->done;
		covered = left >= covered ? 0 : covered - left;
	}
	first_free = b;
	for (b = first_free; b != NULL; b = TAILQ_NEXT(b, entry))
		if (b->origin == ORIGIN_SCHEDULED) {
			canp += b->npoints - b->done;
			canb += b->len - b->off;
		}
	if (canp < needp || canb < needb)
		return -1;
	for (b = first_free; b != NULL && (needp > 0 || needb > 0);
	    b = next) {
		next = TAILQ_NEXT(b, entry);
		if (b->origin != ORIGIN_SCHEDULED)
			continue;
		needp = needp > b->npoints - b->done ?
		    needp - (b->npoints - b->done) : 0;
		needb = needb > b->len - b->off ? needb - (b->len - b->off) : 0;
		batch_drop(s, b, &s->st.dropped_full);
	}
	return 0;
}

/* Longest point in a batch, in bytes. */
static size_t
longest_point(const char *p, size_t len)
{
	const char	*end = p + len, *nl;
	size_t		 max = 0, n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > max)
			max = n;
		p = nl != NULL ? nl + 1 : end;
	}
	return max;
}

static enum points_verdict
sender_take(struct sender *s, const struct points_msg *m, char *why,
    size_t whylen)
{
	struct batch	*b;

	/* refused now, not dropped after a 200: no message could hold it */
	if (longest_point(m->data, m->len) + SENDER_ENVELOPE_BYTES +
	    strlen(m->topic) + 1 > (size_t)s->w->conf.messagebytes) {
		snprintf(why, whylen, "a point is larger than [output] "
		    "messagebytes (%lld)", (long long)s->w->conf.messagebytes);
		s->st.rejected += m->npoints;
		return POINTS_REJECTED;
	}
	if (m->npoints > (size_t)s->w->conf.buffersize ||
	    m->len > (size_t)s->w->conf.bufferbytes) {
		snprintf(why, whylen, "%u points (%zu bytes) exceed the whole "
		    "buffer (%lld points, %lld bytes)", m->npoints, m->len,
		    (long long)s->w->conf.buffersize,
		    (long long)s->w->conf.bufferbytes);
		s->st.rejected += m->npoints;
		return POINTS_REJECTED;
	}
	if (s->qpoints + m->npoints > (size_t)s->w->conf.buffersize ||
	    s->qbytes + m->len > (size_t)s->w->conf.bufferbytes) {
		if (m->origin == ORIGIN_PUSHED ||
		    sender_make_room(s, m->npoints, m->len) == -1) {
			snprintf(why, whylen, "buffer full (%zu points, %zu "
			    "bytes)", s->qpoints, s->qbytes);
			s->st.refused_full += m->npoints;
			return POINTS_FULL;
		}
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->data = malloc(m->len)) == NULL) {
		free(b);
		snprintf(why, whylen, "out of memory");
		s->st.refused_full += m->npoints;
		return POINTS_FULL;
	}
	memcpy(b->data, m->data, m->len);
	b->len = m->len;
	b->fmt = m->fmt;
	b->origin = m->origin;
	strlcpy(b->topic, m->topic, sizeof(b->topic));
	b->npoints = m->npoints;
	TAILQ_INSERT_TAIL(&s->queue, b, entry);
	s->qpoints += m->npoints;
	s->qbytes += m->len;
	s->st.accepted += m->npoints;
	sender_kick(s);
	return POINTS_ACCEPTED;
}

static int
sender_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct sender		*s = w->priv;
	struct points_msg	 m;
	struct preader		 pr;
	struct pbuf		 pb;
	enum points_verdict	 v;
	char			 why[256];

	if (in->hdr.type != MSG_POINTS)
		return -1;
	codec_get_init(&pr, in->data, in->datalen);
	if (points_msg_decode(&pr, &m, why, sizeof(why)) == -1) {
		log_warnx("%s: %s from %s: %s", __func__,
		    proto_msg_name(in->hdr.type), proto_role_name(from), why);
		s->st.rejected_malformed++;
		v = POINTS_REJECTED;
	} else if (s->stopping) {
		snprintf(why, sizeof(why), "the agent is stopping");
		v = POINTS_FULL;
		s->st.refused_full += m.npoints;
	} else
		v = sender_take(s, &m, why, sizeof(why));
	if (v == POINTS_ACCEPTED)
		why[0] = '\0';
	/* only the front waits for an answer (it holds an HTTP request) */
	if (from != ROLE_FRONT)
		return 0;
	codec_put_init(&pb);
	points_ack_encode(&pb, v, why);
	if (codec_put_failed(&pb) || worker_send_peer(w, from, MSG_POINTS_ACK,
	    in->hdr.reqid, pb.buf, pb.len) == -1)
		log_warn("%s: answer to %s", __func__, proto_role_name(from));
	codec_put_free(&pb);
	return 0;
}

static void
sender_push_stats(struct sender *s)
{
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
		{ "messages", s->st.messages },
		{ "requests", s->st.requests },
		{ "publish_errors", s->st.publish_errors },
		{ "reconnects", s->st.reconnects },
		{ "buffer_points", s->qpoints },
		{ "buffer_bytes", s->qbytes },
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
	(void)metrics_put(ms, "points_refused_total", s->st.refused_full,
	    NULL);
	(void)metrics_put(ms, "buffer_points", s->qpoints, NULL);
	(void)metrics_put(ms, "buffer_bytes", s->qbytes, NULL);
	(void)worker_push_stats_metrics(s->w, v, sizeof(v) / sizeof(v[0]),
	    s->last_error, ms);
}

static void
stats_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;

	sender_push_stats(s);
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
	if (ops->open(s, err, sizeof(err)) == -1) {
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
	TAILQ_INIT(&s->queue);
	sender_cut_init(&s->cut);
	ev_timer_init(&s->flush, flush_cb, 0., 0.);
	s->flush.data = s;
	ev_timer_init(&s->stats_timer, stats_cb, STATS_INTERVAL,
	    STATS_INTERVAL);
	s->stats_timer.data = s;
	w->priv = s;
	return s;
}

static int
sender_start(struct worker *w, char *err, size_t errlen)
{
	struct sender	*s = sender_state(w);

	ev_timer_start(w->loop, &s->stats_timer);
	s->started = 1;
	sender_open_sink(s);
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

/* New settings: the buffer stays; the output is reopened if it changed. */
static int
sender_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct sender		*s = w->priv;
	struct agent_conf	 old;

	if (s == NULL || !s->started || !output_changed(&w->conf, next))
		return 0;
	if (s->ops != NULL)
		s->ops->close(s);
	s->busy = 0;
	s->inflight = 0;
	/* open with the new settings; the runtime swaps w->conf after us */
	old = w->conf;
	w->conf = *next;
	sender_open_sink(s);
	w->conf = old;
	log_info("output reopened; %zu points kept in the buffer",
	    s->qpoints);
	sender_kick(s);
	return 0;
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;
	struct batch	*b;

	if (s->qpoints > 0)
		log_warnx("%s: stopping with %zu points unpublished (%zu "
		    "bytes): %s", __func__, s->qpoints, s->qbytes,
		    s->last_error[0] != '\0' ?
		    s->last_error : "the output did not take them in time");
	while ((b = TAILQ_FIRST(&s->queue)) != NULL)
		batch_drop(s, b, &s->st.dropped_stop);
	/* the last counters, so the master has dropped_stop too */
	sender_push_stats(s);
	worker_exit(s->w, 0);
}

/* Publish what is buffered, for a bounded time, then go. */
static void
sender_shutdown(struct worker *w)
{
	struct sender	*s = w->priv;

	if (s == NULL || TAILQ_EMPTY(&s->queue)) {
		worker_exit(w, 0);
		return;
	}
	s->stopping = 1;
	s->backoff = 0;
	log_info("stopping: publishing %zu buffered points first",
	    s->qpoints);
	ev_timer_stop(w->loop, &s->stats_timer);
	ev_timer_init(&s->stats_timer, stop_cb, STOP_FLUSH_TIME, 0.);
	s->stats_timer.data = s;
	ev_timer_start(w->loop, &s->stats_timer);
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
	ev_timer_stop(w->loop, &s->flush);
	ev_timer_stop(w->loop, &s->stats_timer);
	while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, b, entry);
		batch_free(b);
	}
	sender_cut_free(&s->cut);
	metrics_free(&s->ms);
	if (s->outfile_fd != -1)
		close(s->outfile_fd);
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
	if (s->outfile_fd != -1)
		close(s->outfile_fd);
	s->outfile_fd = in->fd;
	in->fd = -1;
	snprintf(s->outfile_err, sizeof(s->outfile_err), "%s",
	    s->outfile_fd == -1 && why[0] == '\0' && path[0] != '\0' ?
	    "the master could not open it" : why);
	rv = 0;
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
	.start = sender_start,
	.reconfigure = sender_reconfigure,
	.peer_msg = sender_peer_msg,
	.control_msg = sender_control,
	.shutdown = sender_shutdown,
	.cleanup = sender_cleanup,
};
