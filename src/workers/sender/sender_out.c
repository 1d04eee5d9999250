/*
 * Requests to the output: when the next one goes, what it may hold, and
 * what the sink reports about it (sender.h).  A request's points leave
 * the buffer only once the output took them, or refused them for good
 * (counted); a failure keeps them for another try after a backoff.
 *
 * Too big is not bad: a refusal for size (nsqd's max-msg-size and
 * max-body-size, HTTP 413) lowers the limits the sender cuts within to
 * what the refusal said, or to half of what was refused when it said no
 * number, and the points go again, smaller, down to one point per
 * message.  Limits the server stated are trusted: a point over them, in
 * the output's format, is dropped without being sent.  A guessed limit
 * is not: a point over it goes alone, and is dropped only when the
 * output refuses it so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "log.h"
#include "sender.h"
#include "sender_spool.h"

#define BACKOFF_MIN		0.1	/* seconds after a failed publish */
#define BACKOFF_MAX		10.0
#define SENDER_FLUSH_BURST	64	/* requests in one turn at most */

size_t
sender_msgbytes(const struct sender *s)
{
	size_t	 conf = (size_t)s->w->conf.messagebytes;

	return s->learned.msgbytes > 0 && s->learned.msgbytes < conf ?
	    s->learned.msgbytes : conf;
}

/* The output's format; 0, or -1 for a name conf_check never lets by. */
static int
output_format(const struct sender *s, enum out_format *want)
{
	return encode_format_parse(s->w->conf.format, want);
}

/* The head of the buffer is in another format than the output's. */
static int
head_rewritten(const struct sender *s)
{
	const struct batch	*b = TAILQ_FIRST(&s->queue);
	enum out_format		 want;

	return b != NULL && output_format(s, &want) == 0 && b->fmt != want;
}

/* What the next request may hold, from the config of the moment. */
static void
sender_limits(const struct sender *s, struct cut_limits *l)
{
	const struct agent_conf	*c = &s->w->conf;
	unsigned		 shift = s->learned.rewrite_shift;

	l->points = (uint32_t)c->batchpoints;
	l->msgbytes = sender_msgbytes(s);
	l->reqbytes = s->learned.reqbytes > 0 &&
	    s->learned.reqbytes < (size_t)c->requestbytes ?
	    s->learned.reqbytes : (size_t)c->requestbytes;
	/* half the buffer: the rest can age out while a request is out */
	l->gather = (size_t)c->buffersize / 2;
	/* one message per request until the refused ones are through */
	l->reqmsgs = s->solo > 0 ? 1 : (size_t)c->requestmessages;
	if (shift > 0 && head_rewritten(s)) {
		l->msgbytes >>= shift;
		l->reqbytes >>= shift;
	}
}

/* The batches the request holds points of stay until it is answered. */
static void
flight_begin(struct sender *s)
{
	size_t	 i;

	for (i = 0; i < s->cut.ntakes; i++)
		s->cut.takes[i].b->flight = s->cut.takes[i].n;
	s->busy = 1;
}

void
sender_flight_end(struct sender *s)
{
	size_t	 i;

	if (!s->busy)
		return;
	/* held while busy, so none is gone */
	for (i = 0; i < s->cut.ntakes; i++)
		s->cut.takes[i].b->flight = 0;
	s->busy = 0;
}

void
sender_set_mark(struct sender *s)
{
	struct batch	*b;

	/* what a crash would not publish again */
	TAILQ_FOREACH(b, &s->queue, entry)
		if (b->seg != NULL)
			break;
	sender_spool_set_mark(s->spool, sender_hold_mark(s,
	    b != NULL ? b->seq : 0));
}

void
sender_consume_request(struct sender *s)
{

	s->solo = s->solo > s->inflight ? s->solo - s->inflight : 0;
	sender_consume(s, &s->cut);
	s->inflight = 0;
	if (s->spool == NULL)
		return;
	/* room in the window: the next records of the spool */
	sender_refill(s);
	sender_set_mark(s);
	/* otherwise at the end of the turn (sender.c, sync_arm_cb()) */
	if (s->w->conf.spoolsync == 0)
		sender_spool_write_mark(s->spool);
}

void
sender_sink_done(struct sender *s, int ok, const char *err)
{
	if (!s->busy)
		return;
	sender_flight_end(s);
	if (ok) {
		s->st.published += s->inflight - s->left_out;
		s->st.dropped_rejected += s->left_out;
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
	sender_flight_end(s);
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
	uint32_t	 sent;

	if (!s->busy)
		return;
	sender_flight_end(s);
	sent = s->inflight - s->left_out;
	if (dropped > sent)
		dropped = sent;
	strlcpy(s->last_error, err, sizeof(s->last_error));
	log_warnx("%s: the output stored %u of %u points and refused %u for "
	    "good: %s", __func__, sent - dropped, sent, dropped, err);
	s->st.published += sent - dropped;
	s->st.dropped_rejected += dropped + s->left_out;
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

/* Lower a learned limit; 1 when it went down. */
static int
lower(size_t *lim, size_t conf, size_t to)
{
	size_t	 cur = *lim > 0 && *lim < conf ? *lim : conf;

	if (to == 0 || to >= cur)
		return 0;
	*lim = to;
	return 1;
}

void
sender_sink_limits(struct sender *s, const char *server, size_t msgbytes,
    size_t reqbytes)
{
	int	 m, r;

	m = lower(&s->learned.msgbytes, (size_t)s->w->conf.messagebytes,
	    msgbytes);
	r = lower(&s->learned.reqbytes, (size_t)s->w->conf.requestbytes,
	    reqbytes);
	if (m)
		s->learned.stated = 1;
	if (!m && !r)
		return;
	snprintf(s->learned.by, sizeof(s->learned.by), "%s: announced "
	    "max-msg-size %zu, max-body-size %zu", server, msgbytes,
	    reqbytes);
	log_warnx("%s: %s takes messages of %zu bytes and requests of %zu "
	    "at most: cutting within %zu and %zu bytes from now on",
	    __func__, server, msgbytes, reqbytes, sender_msgbytes(s),
	    s->learned.reqbytes > 0 ? s->learned.reqbytes :
	    (size_t)s->w->conf.requestbytes);
}

/* 2^30, the largest messagebytes, down to a byte: a point at a time */
#define REWRITE_SHIFT_MAX	30

/*
 * A request rewritten in another format after it was cut, refused as
 * too big.  Its size says nothing of what the limits, which count the
 * bytes of the format the points were taken in, should be: what the
 * output said stands for everything, and the points still waiting in
 * the other format are cut at half the size again (learned.rewrite_shift,
 * until a reload changes the output or the format), so each refusal
 * gets closer.
 */
static void
toobig_rewritten(struct sender *s, const char *server, enum sink_toobig what,
    size_t stated, size_t refused, const char *err)
{
	const struct batch	*b = TAILQ_FIRST(&s->queue);

	/* a limit said, one that explains the refusal, is the output's */
	if (stated > 0 && stated < refused && what == SINK_TOOBIG_MESSAGE) {
		if (lower(&s->learned.msgbytes,
		    (size_t)s->w->conf.messagebytes, stated))
			s->learned.stated = 1;
	} else if (stated > 0 && stated < refused)
		(void)lower(&s->learned.reqbytes,
		    (size_t)s->w->conf.requestbytes, stated);
	if (s->learned.rewrite_shift < REWRITE_SHIFT_MAX)
		s->learned.rewrite_shift++;
	snprintf(s->learned.by, sizeof(s->learned.by), "%s: %s", server, err);
	log_warnx("%s: %s refused a rewritten %s of %zu bytes as too big "
	    "(%s): cutting points waiting in %s within 1/%u of the limits",
	    __func__, server, what == SINK_TOOBIG_MESSAGE ? "message" :
	    "request", refused, err, b != NULL ? encode_format_name(b->fmt) :
	    "another format", 1U << s->learned.rewrite_shift);
	s->inflight = 0;
	s->solo = 0;
	sender_kick(s);
}

void
sender_sink_toobig(struct sender *s, const char *server,
    enum sink_toobig what, size_t stated, const char *err)
{
	size_t	 refused = 0, to, i;
	int	 lowered;

	if (!s->busy)
		return;
	sender_flight_end(s);
	s->backoff = 0;
	s->st.toobig++;
	strlcpy(s->last_error, err, sizeof(s->last_error));
	if (s->inflight - s->left_out == 1) {
		/* one point, refused on its own: nothing smaller to send */
		s->st.dropped_toolarge++;
		s->st.dropped_rejected += s->left_out;
		log_warnx("%s: %s refused a single point as too big (%s); it "
		    "is dropped", __func__, server, err);
		sender_consume_request(s);
		sender_kick(s);
		return;
	}
	/* a request of one message is that message, whatever it says */
	if (s->cut.nmsgs == 1)
		what = SINK_TOOBIG_MESSAGE;
	if (what == SINK_TOOBIG_MESSAGE) {
		for (i = 0; i < s->cut.nmsgs; i++)
			if (s->cut.msgs[i].len > refused)
				refused = s->cut.msgs[i].len;
	} else
		refused = (size_t)sender_cut_mpub_size(s->cut.msgs,
		    s->cut.nmsgs);
	if (s->cut.converted) {
		toobig_rewritten(s, server, what, stated, refused, err);
		return;
	}
	/* what it said, or half of what it refused; smaller either way */
	to = stated > 0 && stated < refused ? stated : refused / 2;
	if (what == SINK_TOOBIG_MESSAGE) {
		lowered = lower(&s->learned.msgbytes,
		    (size_t)s->w->conf.messagebytes, to);
		if (lowered || stated > 0)
			s->learned.stated = stated > 0 && stated < refused;
	} else
		lowered = lower(&s->learned.reqbytes,
		    (size_t)s->w->conf.requestbytes, to);
	if (!lowered && what == SINK_TOOBIG_MESSAGE) {
		/* already within it, yet refused: half again */
		lowered = lower(&s->learned.msgbytes,
		    (size_t)s->w->conf.messagebytes, refused / 2);
		s->learned.stated = 0;
	}
	if (!lowered && what == SINK_TOOBIG_BODY)
		(void)lower(&s->learned.reqbytes,
		    (size_t)s->w->conf.requestbytes, refused / 2);
	snprintf(s->learned.by, sizeof(s->learned.by), "%s: %s", server, err);
	log_warnx("%s: %s refused a %s of %zu bytes as too big (%s): cutting "
	    "%s within %zu bytes from now on (%s)", __func__, server,
	    what == SINK_TOOBIG_MESSAGE ? "message" : "request", refused, err,
	    what == SINK_TOOBIG_MESSAGE ? "messages" : "requests",
	    what == SINK_TOOBIG_MESSAGE ? sender_msgbytes(s) :
	    s->learned.reqbytes, s->learned.stated &&
	    what == SINK_TOOBIG_MESSAGE ? "its limit" : "a guess: it gave no "
	    "limit");
	/* none of them is published or dropped: all go again, smaller */
	s->inflight = 0;
	s->solo = 0;
	sender_kick(s);
}

/* The first point of the buffer alone does not fit the message limit. */
static int
cut_oversized(struct sender *s, struct cut_limits *l)
{
	size_t	 conf = (size_t)s->w->conf.messagebytes;
	int	 rv;

	if ((!s->learned.stated || head_rewritten(s)) && l->msgbytes < conf) {
		/*
		 * It goes alone, within the configured limit.  Over a limit
		 * we only guessed: the output says whether it takes it.
		 * Measured in a format it waits to be rewritten from, over
		 * the limit the server stated or one lowered for such points
		 * only (learned.rewrite_shift): its rewriting may fit (a
		 * point's line is about half its json), and sender_publish()
		 * measures that.
		 */
		l->points = 1;
		l->msgbytes = conf;
		l->reqmsgs = 1;
		if ((rv = sender_cut_next(&s->cut, &s->queue, l)) != -2)
			return rv;
	}
	/* no message can hold it: drop it, counted, and go on */
	log_warnx("%s: a point of %s is larger than the output takes (%zu "
	    "bytes per message%s): dropped", __func__,
	    TAILQ_FIRST(&s->queue)->topic, l->msgbytes,
	    l->msgbytes < conf ? ", said the server" : "");
	s->st.dropped_toolarge++;
	s->inflight = 1;
	sender_consume_request(s);
	return -2;
}

/*
 * The request in the output's format, if it was taken in another
 * (sender_convert.c); what that leaves out is counted as refused when
 * the rest is published.  0: the request is ready (a message that does
 * not read back goes as it was taken, for the output to take or
 * refuse); -1: out of memory; -2: several messages, one of which does
 * not read back, so that the others may go rewritten, one at a time.
 */
static int
convert(struct sender *s)
{
	enum out_format	 want;
	uint64_t	 n;
	char		 why[512];
	int		 rv;

	s->left_out = 0;
	if (output_format(s, &want) == -1 || s->cut.fmt == want)
		return 0;
	rv = sender_cut_convert(&s->cut, want, (int64_t)time(NULL),
	    &s->left_out, why, sizeof(why));
	if (rv == -1 || (rv == -2 && s->cut.nmsgs > 1))
		return rv;
	if (rv == -2) {
		/* never dropped for it: sent as what they were taken as */
		if (warn_limit_due(&s->unconverted, ev_now(s->w->loop), &n))
			log_warnx("%s: a message taken in %s goes as it is "
			    "(%llu times): %s", __func__,
			    encode_format_name(s->cut.fmt),
			    (unsigned long long)n, why);
		return 0;
	}
	if (s->left_out > 0 && warn_limit_due(&s->leftout_warn,
	    ev_now(s->w->loop), &n))
		log_warnx("%s: %u points taken in %s cannot be written in %s "
		    "(%llu times): %s; they are refused", __func__,
		    s->left_out, encode_format_name(FORMAT_JSON),
		    encode_format_name(want), (unsigned long long)n, why);
	return 0;
}

/*
 * A point cut alone and rewritten (cut_oversized()) is still over the
 * limit the server stated: dropped, counted, as it would have been in
 * the format it was taken in; 1 when it was.
 */
static int
rewritten_over(struct sender *s)
{
	if (!s->cut.converted || !s->learned.stated || s->cut.npoints != 1 ||
	    s->cut.nmsgs != 1 || s->cut.msgs[0].len <= sender_msgbytes(s))
		return 0;
	log_warnx("%s: a point of %s is larger than the output takes (%zu "
	    "bytes per message, said the server), also as %s (%zu bytes): "
	    "dropped", __func__, s->cut.topic, sender_msgbytes(s),
	    encode_format_name(s->cut.fmt), s->cut.msgs[0].len);
	s->st.dropped_toolarge++;
	s->inflight = 1;
	sender_consume_request(s);
	return 1;
}

/*
 * A request whose every point its rewriting left out: nothing to send,
 * and no request made, so no output's answer to count or to end a
 * backoff with.
 */
static void
left_out_whole(struct sender *s)
{
	s->st.dropped_rejected += s->left_out;
	sender_consume_request(s);
}

/* Hand the sink the next request; 1 when one went, or ended at once. */
static int
sender_publish(struct sender *s)
{
	struct cut_limits	 l;
	int			 rv;

	if (s->busy || s->ops == NULL)
		return 0;
	s->left_out = 0;
	do {
		sender_limits(s, &l);
		if ((rv = sender_cut_next(&s->cut, &s->queue, &l)) == -2)
			rv = cut_oversized(s, &l);
		if (rv != 1)
			continue;	/* -2 cuts again, 0 and -1 end */
		if ((rv = convert(s)) == -2)
			/* one message per request: see convert() */
			s->solo = s->cut.npoints;
		else if (rv == 0 && rewritten_over(s))
			rv = -2;
		else if (rv == 0)
			rv = 1;
	} while (rv == -2);
	if (rv == 0)
		return 0;
	s->inflight = s->cut.npoints;
	if (rv == -1) {
		/* as a failed publish: all of them stay, and go again later */
		flight_begin(s);
		sender_sink_done(s, 0, "out of memory for a request");
		return 1;
	}
	if (s->cut.nmsgs == 0) {
		left_out_whole(s);
		return 1;
	}
	flight_begin(s);
	s->ops->publish(s, s->cut.topic, s->cut.fmt, s->cut.msgs,
	    s->cut.nmsgs);
	return 1;
}

/*
 * Seconds until the head of the buffer is due: a full message at once,
 * a partial one once its first point has waited flushms.
 */
static double
sender_due_in(const struct sender *s)
{
	const struct batch	*b = TAILQ_FIRST(&s->queue);
	double			 in, wait = (double)s->w->conf.flushms / 1000.0;

	if (b == NULL)
		return -1;
	if (s->stopping || s->qpoints >= (size_t)s->w->conf.batchpoints ||
	    s->qbytes >= sender_msgbytes(s))
		return 0;
	in = b->arrived + wait - ev_now(s->w->loop);
	/*
	 * ev_now() is the wall clock: stepped back since the head arrived
	 * (NTP, a resumed VM), it would hold the points for as long as the
	 * step; never more than flushms from now.
	 */
	if (in > wait)
		in = wait;
	return in > 0 ? in : 0;
}

/*
 * The head is due: requests go one after the other for as long as the
 * sink answers at once (the file output) and what follows is due too
 * (points that came together but differ in topic), up to a bound, so
 * that a backlog does not keep the loop from the rest.  Each point waits
 * flushms once, not once per request ahead of it.
 */
static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;
	int		 n;

	ev_timer_stop(loop, t);
	s->flushing = 1;
	for (n = 0; n < SENDER_FLUSH_BURST && sender_publish(s) == 1; n++)
		if (s->busy || s->backoff > 0 || sender_due_in(s) != 0)
			break;
	s->flushing = 0;
	sender_kick(s);
}

void
sender_out_init(struct sender *s)
{
	ev_timer_init(&s->flush, flush_cb, 0., 0.);
	s->flush.data = s;
}

/*
 * Decide when the next message goes: now when a full one is waiting,
 * once its first point waited flushms for a partial one, after the
 * backoff following a failure.
 */
void
sender_kick(struct sender *s)
{
	struct ev_loop	*loop = s->w->loop;
	double		 after;

	/* flush_cb publishes on, and kicks once it is done */
	if (s->flushing)
		return;
	if (s->busy || TAILQ_EMPTY(&s->queue)) {
		if (s->stopping && !s->busy && TAILQ_EMPTY(&s->queue) &&
		    sender_producers_gone(s))
			worker_exit(s->w, 0);
		return;
	}
	/* no output: nothing to publish until one opens (and kicks) */
	if (s->ops == NULL)
		return;
	if (s->backoff > 0)
		after = s->backoff;
	else
		after = sender_due_in(s);
	if (ev_is_active(&s->flush) && after > 0)
		return;
	ev_timer_stop(loop, &s->flush);
	ev_timer_set(&s->flush, after, 0.);
	ev_timer_start(loop, &s->flush);
}
