/*
 * Cutting requests from the sender's buffer (see sender_cut_next() in
 * sender.h).  It reads the buffer and fills a struct cut, and leaves
 * the buffer as it is; the sender lets the points go only once the
 * output confirmed them (sender_consume(), by the cut's takes).
 *
 * Sizes: a json message is its points joined by ',' inside an envelope
 * of at most SENDER_ENVELOPE_BYTES plus the topic; a line message is
 * the points joined by '\n' plus one '\n'.  So a message whose points
 * take at most msgbytes - SENDER_ENVELOPE_BYTES - strlen(topic) bytes
 * (a separator per point included) fits in msgbytes, whatever the
 * format; the sender refuses at the door a point that cannot fit so.
 *
 * Why a request passes over other topics: producers of several
 * namespaces taking turns (one-point posts, the scheduler's outbox)
 * leave batches of alternating topics.  Cut from the head only, each
 * would be a request of its own, one round trip to the output each;
 * gathered by topic, they are one request per topic.  A topic's points
 * keep their order; the spool's mark stays at the oldest record not
 * published, so a crash publishes again at most what was published
 * ahead of it (duplicates, never a loss).
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "sender.h"

/* Where the next point of the buffer is. */
struct cursor {
	struct batch		*b;
	const char		*p;	/* next point in b */
	uint32_t		 left;	/* points of b from p on */
	uint32_t		 passed;/* batches of other topics passed */
	int			 end;	/* no more batches for this cut */
};

void
sender_cut_init(struct cut *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->pts);
	buf_init(&c->body);
}

void
sender_cut_free(struct cut *c)
{
	buf_free(&c->pts);
	buf_free(&c->body);
	free(c->msgs);
	c->msgs = NULL;
	c->nmsgs = c->capmsgs = 0;
	free(c->takes);
	c->takes = NULL;
	c->ntakes = c->captakes = 0;
	c->npoints = 0;
	c->topic = NULL;
}

uint64_t
sender_cut_mpub_size(const struct sink_msg *m, size_t n)
{
	uint64_t	 size = 4;
	size_t		 i;

	for (i = 0; i < n; i++)
		size += 4 + (uint64_t)m[i].len;
	return size;
}

/*
 * The batch after cur->b whose points this cut may take next: the next
 * of `first`'s topic and format, past batches of other topics while the
 * cut holds fewer than `gather` points (`taken`); none past a batch of
 * the topic in another format, or too many others.
 */
static struct batch *
next_batch(struct cursor *cur, const struct batch *first, size_t taken,
    size_t gather)
{
	struct batch	*b;
	int		 past = 0;

	if (cur->end)
		return NULL;
	for (b = TAILQ_NEXT(cur->b, entry); b != NULL;
	    b = TAILQ_NEXT(b, entry)) {
		if (strcmp(b->topic, first->topic) == 0) {
			/* past another topic only while the request is small:
			 * what it holds is not the buffer's to age out */
			if (b->fmt == first->fmt && (!past || taken < gather))
				return b;
			break;
		}
		past = 1;
		if (++cur->passed > SENDER_CUT_SCAN)
			break;
	}
	cur->end = 1;
	return NULL;
}

/* The cut holds one more point of `b`. */
static int
take_add(struct cut *c, struct batch *b)
{
	struct cut_take	*t;
	size_t		 cap;

	if (c->ntakes > 0 && c->takes[c->ntakes - 1].b == b) {
		c->takes[c->ntakes - 1].n++;
		return 0;
	}
	if (c->ntakes == c->captakes) {
		cap = c->captakes == 0 ? 8 : c->captakes * 2;
		if ((t = reallocarray(c->takes, cap, sizeof(*t))) == NULL)
			return -1;
		c->takes = t;
		c->captakes = cap;
	}
	c->takes[c->ntakes].b = b;
	c->takes[c->ntakes].n = 1;
	c->ntakes++;
	return 0;
}

/*
 * Gather into c->pts the points from `cur` on, up to `max` of them and
 * `limit` bytes (a separator per point counted), from batches of
 * `first`'s stream.  Returns how many, or -1 when out of memory;
 * *toolarge is set when the first point alone is over `limit`.
 */
static int64_t
cut_points(struct cut *c, struct cursor *cur, const struct batch *first,
    uint32_t max, size_t limit, size_t gather, int *toolarge)
{
	struct batch		*next;
	const char		*end, *nl;
	size_t			 linelen;
	uint32_t		 n = 0;

	*toolarge = 0;
	buf_reset(&c->pts);
	while (n < max) {
		if (cur->left == 0) {
			if ((next = next_batch(cur, first,
			    (size_t)c->npoints + n, gather)) == NULL)
				break;
			cur->b = next;
			cur->p = next->data + next->off;
			cur->left = next->npoints - next->done;
			continue;
		}
		end = cur->b->data + cur->b->len;
		nl = memchr(cur->p, '\n', (size_t)(end - cur->p));
		linelen = nl != NULL ? (size_t)(nl - cur->p) :
		    (size_t)(end - cur->p);
		/* json adds a comma per point, line a newline */
		if (c->pts.len + linelen + 1 > limit) {
			if (n == 0)
				*toolarge = 1;
			break;
		}
		if (take_add(c, cur->b) == -1)
			return -1;
		if (n > 0)
			buf_addc(&c->pts, '\n');
		buf_add(&c->pts, cur->p, linelen);
		n++;
		cur->p = nl != NULL ? nl + 1 : end;
		cur->left--;
	}
	return n;
}

static int
msgs_add(struct cut *c, size_t len, uint32_t npoints)
{
	struct sink_msg	*m;
	size_t		 cap;

	if (c->nmsgs == c->capmsgs) {
		cap = c->capmsgs == 0 ? 8 : c->capmsgs * 2;
		if ((m = reallocarray(c->msgs, cap, sizeof(*m))) == NULL)
			return -1;
		c->msgs = m;
		c->capmsgs = cap;
	}
	m = &c->msgs[c->nmsgs++];
	m->data = NULL;		/* set once the body stops moving */
	m->len = len;
	m->npoints = npoints;
	return 0;
}

int
sender_cut_next(struct cut *c, struct batchq *q, const struct cut_limits *l)
{
	struct batch		*first;
	struct cursor		 cur, save;
	uint64_t		 reqsize, over;
	size_t			 msglimit, limit, tlen, start, len, i, off;
	size_t			 savetakes;
	uint32_t		 savelast;
	int64_t			 n;
	int			 toolarge;

	c->nmsgs = 0;
	c->npoints = 0;
	c->ntakes = 0;
	c->topic = NULL;
	c->converted = 0;
	buf_reset(&c->body);
	if ((first = TAILQ_FIRST(q)) == NULL)
		return 0;
	memset(&cur, 0, sizeof(cur));
	cur.b = first;
	cur.p = first->data + first->off;
	cur.left = first->npoints - first->done;
	tlen = strlen(first->topic);
	over = (uint64_t)SENDER_ENVELOPE_BYTES + tlen;
	msglimit = l->msgbytes > over ? l->msgbytes - (size_t)over : 0;
	reqsize = 4;		/* the MPUB message count */
	while (c->nmsgs < l->reqmsgs) {
		limit = msglimit;
		if (c->nmsgs > 0) {
			/*
			 * A second message makes it an MPUB: the next one
			 * must fit in what requestbytes leaves, with its
			 * size field and envelope.
			 */
			if (reqsize + 4 + over >= l->reqbytes)
				break;
			if (l->reqbytes - reqsize - 4 - over < limit)
				limit = (size_t)(l->reqbytes - reqsize - 4 -
				    over);
		}
		save = cur;
		savetakes = c->ntakes;
		savelast = savetakes > 0 ? c->takes[savetakes - 1].n : 0;
		n = cut_points(c, &cur, first, l->points, limit, l->gather,
		    &toolarge);
		if (n == -1)
			return -1;
		if (n == 0) {
			if (c->nmsgs == 0 && toolarge) {
				/* the point it is about, for a drop */
				c->ntakes = 0;
				return take_add(c, first) == -1 ? -1 : -2;
			}
			break;
		}
		start = c->body.len;
		encode_message(&c->body, first->fmt, first->topic, c->pts.p,
		    c->pts.len, (uint32_t)n);
		if (buf_failed(&c->pts) || buf_failed(&c->body))
			return -1;
		len = c->body.len - start;
		if (c->nmsgs > 0 && reqsize + 4 + len > l->reqbytes) {
			/* the envelope estimate was short: the next request
			 * starts with this message */
			c->body.len = start;
			c->body.p[start] = '\0';
			cur = save;
			c->ntakes = savetakes;
			if (savetakes > 0)
				c->takes[savetakes - 1].n = savelast;
			break;
		}
		if (msgs_add(c, len, (uint32_t)n) == -1)
			return -1;
		reqsize += 4 + len;
		c->npoints += (uint32_t)n;
	}
	if (c->nmsgs == 0)
		return 0;
	/* back to back in the body, which is done growing */
	for (i = 0, off = 0; i < c->nmsgs; i++) {
		c->msgs[i].data = c->body.p + off;
		off += c->msgs[i].len;
	}
	c->topic = first->topic;
	c->fmt = first->fmt;
	return 1;
}

size_t
sender_batch_advance(struct batch *b, uint32_t n)
{
	const char	*p = b->data + b->off, *end = b->data + b->len, *nl;
	size_t		 span;
	uint32_t	 i;

	if (n >= b->npoints - b->done) {
		span = b->len - b->off;
		b->done = b->npoints;
		b->off = b->len;
		return span;
	}
	for (i = 0; i < n; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			p = end;
			break;
		}
		p = nl + 1;
	}
	span = (size_t)(p - (b->data + b->off));
	b->off += span;
	b->done += n;
	return span;
}
