/*
 * A reload that changes [output] spool: what the spool in use holds, in
 * memory and on disk, is carried over to the new one, all or nothing:
 * copied there and synced first, and only then let go in the old one.
 * A new directory that cannot be used, or that cannot take it all (full,
 * an I/O error), keeps the old spool: what was copied is removed from
 * the new one again, and nothing of the old one has moved.
 * To "" (memory only) what fits in memory comes along; the rest stays in
 * the old directory, logged, for a later start with it.
 *
 * The caller has no request in flight (the sink was closed): batches may
 * leave memory here without being counted as published or dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"
#include "log.h"
#include "sender.h"
#include "sender_spool.h"

/* The batches in memory into `to`, as records of their own; they stay. */
static int
copy_memory(struct sender *s, struct spool *to, char *err, size_t errlen)
{
	struct batch		*b;

	TAILQ_FOREACH(b, &s->queue, entry)
		if (sender_batch_append(to, b, err, errlen) == -1)
			return -1;
	return 0;
}

/* The new spool has them all: the batches leave memory, their records
 * and the unread ones leave the old spool. */
static void
let_go(struct sender *s, struct spool *old)
{
	struct spool_rec	 rec;
	struct batch		*b;
	char			 err[256];
	int			 rc;

	while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, b, entry);
		s->qpoints -= b->npoints - b->done;
		s->qbytes -= b->len - b->off;
		/* s->spool is still the old one: its record goes there */
		sender_batch_free(s, b);
	}
	if (old == NULL)
		return;
	while ((rc = sender_spool_next(old, &rec, err, sizeof(err))) == 1) {
		sender_spool_take(old);
		sender_spool_release(old, rec.seg);
	}
	if (rc == -1)
		log_warnx("%s: %s: %s; the new spool has its records too",
		    __func__, old->path, err);
}

/* To memory only: the batches stay, their old records go. */
static void
detach_memory(struct sender *s, struct spool *old)
{
	struct batch	*b;

	TAILQ_FOREACH(b, &s->queue, entry) {
		if (b->seg != NULL)
			sender_spool_release(old, b->seg);
		b->seg = NULL;
	}
}

/* The records of `from` not read yet into memory, as far as it has room. */
static int
read_into_memory(struct sender *s, struct spool *from, char *err,
    size_t errlen)
{
	struct spool_rec	 rec;
	struct batch		*b;
	int			 rc;

	while ((rc = sender_spool_next(from, &rec, err, errlen)) == 1) {
		if (!TAILQ_EMPTY(&s->queue) && (s->qpoints + rec.npoints >
		    (size_t)s->w->conf.buffersize || s->qbytes + rec.len >
		    (size_t)s->w->conf.bufferbytes))
			return 0;
		if ((b = calloc(1, sizeof(*b))) == NULL ||
		    (b->data = malloc(rec.len)) == NULL) {
			free(b);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(b->data, rec.data, rec.len);
		b->len = rec.len;
		b->fmt = rec.fmt;
		b->origin = rec.lane == SPOOL_PUSHED ? ORIGIN_PUSHED :
		    ORIGIN_SCHEDULED;
		strlcpy(b->topic, rec.topic, sizeof(b->topic));
		b->npoints = rec.npoints;
		TAILQ_INSERT_TAIL(&s->queue, b, entry);
		s->qpoints += b->npoints;
		s->qbytes += b->len;
		sender_spool_take(from);
		sender_spool_release(from, rec.seg);
	}
	return rc;
}

#define COPY_TICK	5.0	/* seconds between progress lines */

struct copy_progress {
	struct sender	*s;
	const char	*to;
	ev_tstamp	 last;
};

/*
 * A copy of a large spool outlasts [agent] workertimeout, while this loop
 * does not turn: a line every COPY_TICK seconds, pushed out at once, says
 * how far it is, and tells the master's watchdog that we live (it would
 * kill us, and our successor would start the copy over, for ever).
 */
static void
copy_tick(void *arg, uint64_t records)
{
	struct copy_progress	*p = arg;
	ev_tstamp		 now = ev_time();

	if (now - p->last < COPY_TICK)
		return;
	p->last = now;
	log_info("carrying the spool over to %s: %llu records so far", p->to,
	    (unsigned long long)records);
	if (p->s->w->ctl != NULL)
		(void)frame_flush(p->s->w->ctl, 1000);
}

/* Copy everything into `new` and sync it: 0, or -1 with err. */
static int
copy_all(struct sender *s, struct spool *old, struct spool *new,
    uint64_t *records, char *err, size_t errlen)
{
	struct copy_progress	 p = { s, new->path, ev_time() };

	*records = 0;
	if (copy_memory(s, new, err, errlen) == -1)
		return -1;
	if (old != NULL && sender_spool_copy_unread(old, new, records,
	    copy_tick, &p, err, errlen) == -1)
		return -1;
	return sender_spool_sync(new, err, errlen);
}

static void
switch_to(struct sender *s, const char *path, uint64_t maxbytes)
{
	struct spool	*old = s->spool, *new = NULL;
	uint64_t	 recs, pts, first_id;
	char		 err[256], err2[256];

	if (path[0] != '\0' && sender_spool_open(&new, path, maxbytes,
	    sender_spool_logfn, s, err, sizeof(err)) == -1) {
		snprintf(s->spool_error, sizeof(s->spool_error), "%s", err);
		if (old != NULL) {
			log_warnx("%s: cannot use the new spool: %s; keeping "
			    "%s", __func__, err, old->path);
			return;
		}
		log_warnx("%s: cannot use the spool: %s; points are kept in "
		    "memory only", __func__, err);
		return;
	}
	if (new != NULL) {
		first_id = new->next_id;
		/*
		 * The mark `moving` must be gone for good before the old
		 * spool lets go: left, it has the next open of the new one
		 * remove the whole copy as one cut short.
		 */
		if (sender_spool_moving_begin(new, first_id, err,
		    sizeof(err)) == -1 ||
		    copy_all(s, old, new, &recs, err, sizeof(err)) == -1 ||
		    sender_spool_moving_end(new, err, sizeof(err)) == -1) {
			sender_spool_discard_from(new, first_id);
			/* a mark that stays only cuts a copy no longer
			 * needed: the old spool still has it all */
			(void)sender_spool_moving_end(new, err2, sizeof(err2));
			sender_spool_close(new);
			snprintf(s->spool_error, sizeof(s->spool_error),
			    "cannot carry the spool over to %s: %s", path,
			    err);
			log_warnx("%s: cannot carry the spool over to %s: %s; "
			    "keeping %s", __func__, path, err, old != NULL ?
			    old->path : "memory only");
			return;
		}
		/* whole and synced: a death from here on only duplicates
		 * what let_go() had not released yet */
		let_go(s, old);
	} else if (old != NULL) {
		detach_memory(s, old);
		if (read_into_memory(s, old, err, sizeof(err)) == -1)
			log_warnx("%s: taking the spool into memory: %s",
			    __func__, err);
	}
	s->spool_error[0] = '\0';
	if (old != NULL) {
		sender_spool_unread(old, &recs, &pts);
		if (recs > 0)
			log_warnx("%s: %llu records (%llu points) stay in the "
			    "old spool %s until an agent uses it again",
			    __func__, (unsigned long long)recs,
			    (unsigned long long)pts, old->path);
		sender_spool_close(old);
	}
	s->spool = new;
	log_info("spool: %s", new != NULL ? new->path :
	    "off, points are kept in memory only");
	sender_refill(s);
}

/*
 * The master is told which spool we hold, kept or new: it gives that one
 * to the sender it starts after us, so that records a failed move left
 * in the old directory are still read and sent after a crash.
 */
void
sender_spool_switch(struct sender *s, const char *path, uint64_t maxbytes)
{
	const char	*held;
	struct pbuf	 pb;

	/*
	 * The records held are the old spool's: on the output's disk first.
	 * A sync that fails ends the sender, and the next one publishes them
	 * again from the old spool, the only one they are in (read, they are
	 * not carried over): it stays ours, the move waits for the next
	 * reload.
	 */
	if (sender_out_sync(s) == -1)
		log_warnx("%s: the output file could not be synced: keeping "
		    "the spool %s for now", __func__, s->spool != NULL ?
		    s->spool->path : "(none)");
	else
		switch_to(s, path, maxbytes);
	held = s->spool != NULL ? s->spool->path : "";
	codec_put_init(&pb);
	codec_put_str(&pb, held);
	if (codec_put_failed(&pb) || worker_send_ctl(s->w, MSG_SPOOL_INUSE, 0,
	    pb.buf, pb.len) == -1)
		log_warn("%s: telling the master the spool is %s", __func__,
		    held[0] != '\0' ? held : "off");
	codec_put_free(&pb);
}
