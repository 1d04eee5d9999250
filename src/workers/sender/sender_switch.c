/*
 * A reload that changes [output] spool: what the spool in use holds, in
 * memory and on disk, is carried over to the new one (written there and
 * synced before it is let go in the old one), so nothing accepted is
 * lost or stranded.  To "" (memory only) what fits in memory comes
 * along; the rest stays in the old directory, logged, for a later start
 * with it.  A new directory that cannot be used keeps the old spool.
 *
 * The caller has no request in flight (the sink was closed): batches may
 * leave memory here without being counted as published or dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "log.h"
#include "sender.h"
#include "sender_spool.h"

/* Old segments whose records were carried over: let go after the sync. */
struct carried {
	struct spool_seg	**v;
	size_t			 n, cap;
};

static int
carried_add(struct carried *c, struct spool_seg *seg)
{
	struct spool_seg	**v;
	size_t			 cap;

	if (c->n == c->cap) {
		cap = c->cap == 0 ? 64 : c->cap * 2;
		if ((v = reallocarray(c->v, cap, sizeof(*v))) == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = seg;
	return 0;
}

/* A batch leaves memory; its old segment, if any, is kept for later. */
static int
batch_out(struct sender *s, struct batch *b, struct carried *c)
{
	if (b->seg != NULL && carried_add(c, b->seg) == -1)
		return -1;
	b->seg = NULL;
	TAILQ_REMOVE(&s->queue, b, entry);
	s->qpoints -= b->npoints - b->done;
	s->qbytes -= b->len - b->off;
	sender_batch_free(s, b);
	return 0;
}

/* Memory batches into `to`, unread there, as records of their own. */
static int
carry_memory(struct sender *s, struct spool *to, struct carried *c,
    char *err, size_t errlen)
{
	struct points_msg	 m;
	struct spool_seg	*held;
	struct batch		*b;

	while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
		memset(&m, 0, sizeof(m));
		m.fmt = b->fmt;
		strlcpy(m.topic, b->topic, sizeof(m.topic));
		m.npoints = b->npoints - b->done;
		m.data = b->data + b->off;
		m.len = b->len - b->off;
		if (sender_spool_append(to, b->origin == ORIGIN_PUSHED ?
		    SPOOL_PUSHED : SPOOL_SCHEDULED, &m, 0, &held, err,
		    errlen) == -1)
			return -1;
		if (batch_out(s, b, c) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* To memory only: the batches stay, their old segments go after. */
static int
detach_memory(struct sender *s, struct carried *c, char *err, size_t errlen)
{
	struct batch	*b;

	TAILQ_FOREACH(b, &s->queue, entry) {
		if (b->seg == NULL)
			continue;
		if (carried_add(c, b->seg) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		b->seg = NULL;
	}
	return 0;
}

/* The records of `from` not read yet: into `to`, or memory (to NULL). */
static int
carry_disk(struct sender *s, struct spool *from, struct spool *to,
    struct carried *c, char *err, size_t errlen)
{
	struct spool_rec	 rec;
	struct points_msg	 m;
	struct spool_seg	*held;
	struct batch		*b;

	while (sender_spool_next(from, &rec, err, errlen) == 1) {
		if (to == NULL) {
			if (!TAILQ_EMPTY(&s->queue) && (s->qpoints +
			    rec.npoints > (size_t)s->w->conf.buffersize ||
			    s->qbytes + rec.len >
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
		} else {
			memset(&m, 0, sizeof(m));
			m.fmt = rec.fmt;
			strlcpy(m.topic, rec.topic, sizeof(m.topic));
			m.npoints = rec.npoints;
			m.data = rec.data;
			m.len = rec.len;
			if (sender_spool_append(to, rec.lane, &m, 0, &held,
			    err, errlen) == -1)
				return -1;
		}
		sender_spool_take(from);
		if (carried_add(c, rec.seg) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

void
sender_spool_switch(struct sender *s, const char *path, uint64_t maxbytes)
{
	struct spool	*old = s->spool, *new = NULL;
	struct carried	 c;
	uint64_t	 recs, pts;
	size_t		 i;
	char		 err[256];
	int		 rc = 0;

	memset(&c, 0, sizeof(c));
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
	s->spool_error[0] = '\0';
	/* the batches in memory first: they are the oldest */
	if (new != NULL)
		rc = carry_memory(s, new, &c, err, sizeof(err));
	else
		rc = detach_memory(s, &c, err, sizeof(err));
	if (rc == 0 && old != NULL)
		rc = carry_disk(s, old, new, &c, err, sizeof(err));
	if (rc == -1)
		log_warnx("%s: carrying the spool over: %s; what is left "
		    "stays in %s", __func__, err, old != NULL ? old->path :
		    "memory");
	if (new != NULL && sender_spool_sync(new, err, sizeof(err)) == -1)
		log_warnx("%s: %s", __func__, err);
	/* on disk in the new one (or in memory): the old copies go */
	for (i = 0; old != NULL && i < c.n; i++)
		sender_spool_release(old, c.v[i]);
	free(c.v);
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
