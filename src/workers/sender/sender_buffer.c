/*
 * The sender's buffer: taking producers' points in, letting published
 * ones go, and what happens when there is no room.
 *
 * Without a spool the buffer is all there is, bounded by buffersize
 * points and bufferbytes bytes: when full, scheduled points age out,
 * oldest first, and pushed ones are refused (503).
 *
 * With a spool, every batch is written to it before it is accepted, and
 * the buffer is a window on it: the oldest records not yet published.  A
 * record is held in memory as it is written when nothing older waits on
 * disk and the window has room; otherwise it is read back when it does
 * (sender_refill()).  The bound is spoolbytes: when the spool is full,
 * scheduled points age out a segment at a time, oldest first, and pushed
 * ones are refused; a write that fails refuses pushed points too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "sender.h"
#include "sender_spool.h"

#define SPOOL_WARN_EVERY	1.0	/* seconds between write error logs */

void
sender_batch_free(struct sender *s, struct batch *b)
{
	if (b->seg != NULL && s->spool != NULL && !sender_hold_batch(s, b))
		sender_spool_release(s->spool, b->seg);
	if (b->ackreqid != 0)
		sender_answer_later(s, b);
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
	sender_batch_free(s, b);
}

static struct batch *
batch_new(enum out_format fmt, enum points_origin origin, const char *topic,
    const char *data, size_t len, uint32_t npoints)
{
	struct batch	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->data = malloc(len)) == NULL) {
		free(b);
		return NULL;
	}
	memcpy(b->data, data, len);
	b->len = len;
	b->fmt = fmt;
	b->origin = origin;
	strlcpy(b->topic, topic, sizeof(b->topic));
	b->npoints = npoints;
	return b;
}

static void
batch_append(struct sender *s, struct batch *b)
{
	TAILQ_INSERT_TAIL(&s->queue, b, entry);
	s->qpoints += b->npoints;
	s->qbytes += b->len;
}

void
sender_consume(struct sender *s, struct cut *c)
{
	struct batch	*b;
	size_t		 i;
	uint32_t	 n;

	for (i = 0; i < c->ntakes; i++) {
		b = c->takes[i].b;
		n = c->takes[i].n;
		b->flight = 0;
		if (n >= b->npoints - b->done) {
			n = b->npoints - b->done;
			TAILQ_REMOVE(&s->queue, b, entry);
			s->qpoints -= n;
			s->qbytes -= b->len - b->off;
			sender_batch_free(s, b);
			continue;
		}
		s->qbytes -= sender_batch_advance(b, n);
		s->qpoints -= n;
	}
	/* what they pointed to may be gone */
	c->ntakes = 0;
}

/* Points of `b` are in the request in flight: it stays. */
static int
in_flight(const struct sender *s, const struct batch *b)
{
	return s->busy && b->flight > 0;
}

/*
 * Scheduled points aged out to make room: counted (dropped_full), and
 * said, or an operator sees the gap in the data and nothing in the log.
 * A full buffer ages points out at every message while the output is
 * down: one line every WARN_LIMIT_EVERY at most, with the points since
 * the last one (those of a flood's end go with the next drop's line).
 */
static void
aged_out_say(struct sender *s, const char *full)
{
	uint64_t	 n;

	if (s->st.dropped_full == s->aged_said ||
	    !warn_limit_due(&s->aged_warn, ev_now(s->w->loop), &n))
		return;
	log_warnx("%s: %llu scheduled points dropped, the oldest first, to "
	    "make room: %s (%llu dropped in all)", __func__,
	    (unsigned long long)(s->st.dropped_full - s->aged_said), full,
	    (unsigned long long)s->st.dropped_full);
	s->aged_said = s->st.dropped_full;
}

/*
 * Memory only: make room for scheduled points by ageing out the oldest
 * scheduled batches.  Pushed points were answered 200 and stay; neither
 * may the batches under the request in flight go.  Nothing is dropped
 * unless enough can be.
 */
static int
make_room(struct sender *s, size_t points, size_t bytes)
{
	struct batch	*b, *next;
	size_t		 needp, needb, canp = 0, canb = 0;
	char		 full[160];

	needp = s->qpoints + points > (size_t)s->w->conf.buffersize ?
	    s->qpoints + points - (size_t)s->w->conf.buffersize : 0;
	needb = s->qbytes + bytes > (size_t)s->w->conf.bufferbytes ?
	    s->qbytes + bytes - (size_t)s->w->conf.bufferbytes : 0;
	TAILQ_FOREACH(b, &s->queue, entry)
		if (b->origin == ORIGIN_SCHEDULED && !in_flight(s, b)) {
			canp += b->npoints - b->done;
			canb += b->len - b->off;
		}
	if (canp < needp || canb < needb)
		return -1;
	for (b = TAILQ_FIRST(&s->queue); b != NULL && (needp > 0 || needb > 0);
	    b = next) {
		next = TAILQ_NEXT(b, entry);
		if (b->origin != ORIGIN_SCHEDULED || in_flight(s, b))
			continue;
		needp = needp > b->npoints - b->done ?
		    needp - (b->npoints - b->done) : 0;
		needb = needb > b->len - b->off ? needb - (b->len - b->off) : 0;
		batch_drop(s, b, &s->st.dropped_full);
	}
	snprintf(full, sizeof(full), "the memory buffer is full (%lld points, "
	    "%lld bytes; the output does not take them)",
	    (long long)s->w->conf.buffersize,
	    (long long)s->w->conf.bufferbytes);
	aged_out_say(s, full);
	return 0;
}

/* A batch of this segment is under the request in flight. */
static int
seg_in_flight(struct sender *s, const struct spool_seg *seg)
{
	struct batch	*b;

	TAILQ_FOREACH(b, &s->queue, entry)
		if (b->seg == seg && in_flight(s, b))
			return 1;
	return 0;
}

/* Records of this segment wait for the output's sync (sender_hold.c):
 * it holds more records in memory than the buffer has batches of. */
static int
seg_held(struct sender *s, const struct spool_seg *seg)
{
	struct batch	*b;
	uint32_t	 n = 0;

	if (s->nheld == 0)
		return 0;
	TAILQ_FOREACH(b, &s->queue, entry)
		if (b->seg == seg)
			n++;
	return seg->inmem > n;
}

/*
 * With a spool: age out the oldest scheduled segments (those under the
 * request in flight excepted) until a record of `reclen` bytes fits.
 * Their points in memory and on disk are counted as dropped_full.
 */
static int
spool_make_room(struct sender *s, uint64_t reclen)
{
	struct spool_seg	*seg, *next;
	struct batch		*b, *bn;
	uint64_t		 pts, before = s->st.dropped_full;
	char			 err[256], full[160];

	for (seg = sender_spool_seg_next(s->spool, SPOOL_SCHEDULED, NULL);
	    seg != NULL && !sender_spool_room(s->spool, reclen); seg = next) {
		next = sender_spool_seg_next(s->spool, SPOOL_SCHEDULED, seg);
		if (seg_in_flight(s, seg) || seg_held(s, seg))
			continue;
		for (b = TAILQ_FIRST(&s->queue); b != NULL; b = bn) {
			bn = TAILQ_NEXT(b, entry);
			if (b->seg != seg)
				continue;
			/* released here, so that the segment stays ours to
			 * drop rather than going on its own */
			seg->inmem--;
			b->seg = NULL;
			batch_drop(s, b, &s->st.dropped_full);
		}
		if (sender_spool_drop(s->spool, seg, &pts, err,
		    sizeof(err)) == -1) {
			log_warnx("%s: %s", __func__, err);
			continue;
		}
		s->st.dropped_full += pts;
	}
	if (s->st.dropped_full > before) {
		snprintf(full, sizeof(full), "the spool is full (%lld bytes, "
		    "[output] spoolbytes; the output does not take them)",
		    (long long)s->w->conf.spoolbytes);
		aged_out_say(s, full);
	}
	return sender_spool_room(s->spool, reclen) ? 0 : -1;
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

/* The window has room for this many more points and bytes. */
static int
window_room(const struct sender *s, size_t points, size_t bytes)
{
	return s->qpoints + points <= (size_t)s->w->conf.buffersize &&
	    s->qbytes + bytes <= (size_t)s->w->conf.bufferbytes;
}

void
sender_spool_warn(struct sender *s, const char *what, const char *err)
{
	ev_tstamp	 now = ev_now(s->w->loop);

	snprintf(s->last_error, sizeof(s->last_error), "spool: %s: %s", what,
	    err);
	if (now - s->spool_warned < SPOOL_WARN_EVERY)
		return;
	s->spool_warned = now;
	log_warnx("%s: spool: %s: %s", __func__, what, err);
}

int
sender_batch_append(struct spool *to, const struct batch *b, char *err,
    size_t errlen)
{
	struct points_msg	 m;
	struct spool_seg	*held;

	memset(&m, 0, sizeof(m));
	m.fmt = b->fmt;
	strlcpy(m.topic, b->topic, sizeof(m.topic));
	m.npoints = b->npoints - b->done;
	m.data = b->data + b->off;
	m.len = b->len - b->off;
	return sender_spool_append(to, b->origin == ORIGIN_PUSHED ?
	    SPOOL_PUSHED : SPOOL_SCHEDULED, &m, 0, &held, err, errlen);
}

/* Into the spool; memory holds it too when it may. */
static enum points_verdict
spool_take(struct sender *s, const struct points_msg *m,
    enum points_origin origin, ev_tstamp arrived, struct points_from *from,
    int *spooled, char *why, size_t whylen)
{
	struct spool_seg	*held;
	struct batch		*b = NULL;
	enum spool_lane		 lane;
	uint64_t		 reclen = sender_spool_record_size(m);
	char			 err[256];

	lane = origin == ORIGIN_PUSHED ? SPOOL_PUSHED : SPOOL_SCHEDULED;
	/*
	 * Records the file output took wait for its sync (sender_hold.c):
	 * a spool they fill has it now rather than refuse or age out points
	 * for want of the room they hold.  A sync that fails ends the
	 * sender: refused below.
	 */
	if (!sender_spool_room(s->spool, reclen) && s->nheld > 0)
		(void)sender_out_sync(s);
	if (!sender_spool_room(s->spool, reclen) && (origin == ORIGIN_PUSHED ||
	    spool_make_room(s, reclen) == -1)) {
		snprintf(why, whylen, "the spool is full (%llu bytes, "
		    "[output] spoolbytes = %lld)",
		    (unsigned long long)s->spool->bytes,
		    (long long)s->w->conf.spoolbytes);
		if (origin == ORIGIN_PUSHED)
			s->st.refused_full += m->npoints;
		else
			s->st.dropped_full += m->npoints;
		return POINTS_FULL;
	}
	/* made first: once held, a record is never read back */
	if (window_room(s, m->npoints, m->len) && (b = batch_new(m->fmt,
	    origin, m->topic, m->data, m->len, m->npoints)) != NULL)
		b->arrived = arrived;
	if (sender_spool_append(s->spool, lane, m, b != NULL, &held, err,
	    sizeof(err)) == -1) {
		sender_spool_warn(s, "write", err);
		/* pushed: never a 200 for what is not on disk */
		if (origin == ORIGIN_PUSHED || b == NULL ||
		    !sender_spool_caught_up(s->spool)) {
			snprintf(why, whylen, "the spool cannot be written: "
			    "%s", err);
			if (b != NULL)
				sender_batch_free(s, b);
			if (origin == ORIGIN_PUSHED)
				s->st.refused_full += m->npoints;
			else
				s->st.dropped_spool += m->npoints;
			return POINTS_FULL;
		}
		/*
		 * Scheduled: memory holds it, and only memory: its producer
		 * keeps its copy until it is published (a sender that dies
		 * meanwhile would lose it), so it is answered then.
		 */
		if (from != NULL && from->reqid != 0 &&
		    from->role != ROLE_FRONT) {
			b->ackreqid = from->reqid;
			b->ackto = from->role;
			b->ackpid = s->w->peer_pid[from->role];
			from->later = 1;
		}
	} else
		*spooled = 1;
	s->st.accepted += m->npoints;
	if (*spooled && held == NULL) {
		/* on disk only, read back when the window has room */
		if (b != NULL)
			sender_batch_free(s, b);
		sender_refill(s);
	} else {
		b->seg = held;
		if (held != NULL)
			b->seq = sender_spool_last_seq(s->spool);
		batch_append(s, b);
	}
	sender_kick(s);
	return POINTS_ACCEPTED;
}

/*
 * Points answered POINTS_FULL: pushed ones get a 503 and are sent again
 * by their client (refused); a producer's are forgotten on the answer
 * (worker_inflight.c), lost: dropped, with the buffer's ageing.
 */
static void
refused(struct sender *s, const struct points_msg *m,
    enum points_origin origin)
{
	if (origin == ORIGIN_PUSHED)
		s->st.refused_full += m->npoints;
	else
		s->st.dropped_full += m->npoints;
}

enum points_verdict
sender_take(struct sender *s, const struct points_msg *m,
    enum points_origin origin, int batched, struct points_from *from,
    int *spooled, char *why, size_t whylen)
{
	struct batch	*b;
	ev_tstamp	 arrived = batched ? 0 : ev_now(s->w->loop);
	/* a limit the server stated is one the output will hold us to */
	size_t		 most = s->learned.stated ? sender_msgbytes(s) :
			    (size_t)s->w->conf.messagebytes;

	*spooled = 0;
	if (from != NULL)
		from->later = 0;
	/* refused now, not dropped after a 200: no message could hold it */
	if (longest_point(m->data, m->len) + SENDER_ENVELOPE_BYTES +
	    strlen(m->topic) + 1 > most) {
		if (most < (size_t)s->w->conf.messagebytes)
			snprintf(why, whylen, "a point is larger than the "
			    "output takes (%zu bytes per message, said the "
			    "server)", most);
		else
			snprintf(why, whylen, "a point is larger than [output] "
			    "messagebytes (%lld)",
			    (long long)s->w->conf.messagebytes);
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
	if (s->spool != NULL)
		return spool_take(s, m, origin, arrived, from, spooled, why,
		    whylen);
	if (!window_room(s, m->npoints, m->len) &&
	    (origin == ORIGIN_PUSHED || make_room(s, m->npoints,
	    m->len) == -1)) {
		snprintf(why, whylen, "buffer full (%zu points, %zu bytes)",
		    s->qpoints, s->qbytes);
		refused(s, m, origin);
		return POINTS_FULL;
	}
	if ((b = batch_new(m->fmt, origin, m->topic, m->data, m->len,
	    m->npoints)) == NULL) {
		snprintf(why, whylen, "out of memory");
		refused(s, m, origin);
		return POINTS_FULL;
	}
	b->arrived = arrived;
	batch_append(s, b);
	s->st.accepted += m->npoints;
	sender_kick(s);
	return POINTS_ACCEPTED;
}

#define REFILL_AGAIN	1.0	/* seconds: the spool could not be read */

static void
refill_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sender	*s = t->data;

	ev_timer_stop(loop, t);
	sender_refill(s);
	sender_kick(s);
}

void
sender_refill_init(struct sender *s)
{
	ev_timer_init(&s->refill_timer, refill_cb, REFILL_AGAIN, 0.);
	s->refill_timer.data = s;
}

void
sender_refill(struct sender *s)
{
	struct spool_rec	 rec;
	struct batch		*b;
	char			 err[256];
	int			 rc;

	if (s->spool == NULL)
		return;
	while ((rc = sender_spool_next(s->spool, &rec, err,
	    sizeof(err))) != 0) {
		if (rc == -1) {
			/* out of descriptors or memory: the records stay
			 * on disk, read again in a moment */
			sender_spool_warn(s, "read", err);
			if (!ev_is_active(&s->refill_timer))
				ev_timer_start(s->w->loop, &s->refill_timer);
			break;
		}
		/* an empty window takes a record whatever its size */
		if (!TAILQ_EMPTY(&s->queue) &&
		    !window_room(s, rec.npoints, rec.len))
			break;
		if ((b = batch_new(rec.fmt, rec.lane == SPOOL_PUSHED ?
		    ORIGIN_PUSHED : ORIGIN_SCHEDULED, rec.topic, rec.data,
		    rec.len, rec.npoints)) == NULL) {
			log_warnx("%s: out of memory for %u points of the "
			    "spool", __func__, rec.npoints);
			break;
		}
		sender_spool_take(s->spool);
		b->seg = rec.seg;
		b->seq = rec.seq;
		batch_append(s, b);
	}
}
