/* Points on their way to the sender until it takes them; see the .h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "worker.h"
#include "worker_inflight.h"

void
worker_inflight_init(struct worker_inflight *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->msgs);
}

static void
drop(struct worker_inflight *q, struct inflight_msg *im)
{
	TAILQ_REMOVE(&q->msgs, im, entry);
	q->bytes -= im->m.len;
	q->held -= im->m.npoints;
	free((char *)im->m.data);
	free(im);
}

void
worker_inflight_free(struct worker_inflight *q)
{
	struct inflight_msg	*im;

	if (q->msgs.tqh_last == NULL)
		return;
	while ((im = TAILQ_FIRST(&q->msgs)) != NULL)
		drop(q, im);
}

/* To the sender now up, with an id of its own; kept for the next one. */
static int
put(struct worker *w, struct inflight_msg *im)
{
	struct pbuf	 pb;
	int		 rv;

	if (++w->inflight.next_reqid == 0)
		w->inflight.next_reqid = 1;
	im->reqid = w->inflight.next_reqid;
	codec_put_init(&pb);
	points_msg_encode_head(&pb, &im->m);
	rv = codec_put_failed(&pb) ? -1 : worker_send_peer2(w, ROLE_SENDER,
	    MSG_POINTS, im->reqid, pb.buf, pb.len, im->m.data, im->m.len);
	codec_put_free(&pb);
	if (rv == -1)
		im->reqid = 0;
	return rv;
}

int
worker_inflight_send(struct worker *w, const struct points_msg *m)
{
	struct worker_inflight	*q = &w->inflight;
	struct inflight_msg	*im, *old;
	char			*data;
	uint64_t		 given_up = 0;

	/* a worker made with memset alone (the tests') starts empty too */
	if (q->msgs.tqh_last == NULL)
		worker_inflight_init(q);
	if ((im = calloc(1, sizeof(*im))) == NULL ||
	    (data = malloc(m->len > 0 ? m->len : 1)) == NULL) {
		free(im);
		errno = ENOMEM;
		return -1;
	}
	memcpy(data, m->data, m->len);
	im->m = *m;
	im->m.data = data;
	/* the bound: what waits longest goes first */
	while ((old = TAILQ_FIRST(&q->msgs)) != NULL &&
	    q->bytes + m->len > INFLIGHT_MAX_BYTES) {
		given_up += old->m.npoints;
		drop(q, old);
	}
	if (given_up > 0) {
		q->lost += given_up;
		log_warnx("%s: %llu points given up: no sender took them and "
		    "%d MiB wait already", __func__,
		    (unsigned long long)given_up,
		    INFLIGHT_MAX_BYTES / (1024 * 1024));
	}
	TAILQ_INSERT_TAIL(&q->msgs, im, entry);
	q->bytes += m->len;
	q->held += m->npoints;
	if (put(w, im) == -1 && errno != ENOTCONN) {
		/* the edge will not take it (too large): it never will */
		log_warn("%s: %u points for %s", __func__, m->npoints,
		    m->topic);
		drop(q, im);
		return -1;
	}
	return 0;
}

int
worker_inflight_ack(struct worker *w, uint32_t reqid, const void *data,
    size_t len)
{
	struct worker_inflight	*q = &w->inflight;
	struct inflight_msg	*im;
	struct preader		 pr;
	enum points_verdict	 v;
	char			 why[256];

	if (reqid == 0 || q->msgs.tqh_last == NULL)
		return -1;
	TAILQ_FOREACH(im, &q->msgs, entry)
		if (im->reqid == reqid)
			break;
	if (im == NULL)
		return -1;
	codec_get_init(&pr, data, len);
	if (points_ack_decode(&pr, &v, why, sizeof(why)) == -1) {
		log_warnx("%s: a bad answer from the sender: %s", __func__,
		    why);
		return -1;
	}
	/* refused: the sender counts it and says why in its log */
	if (v != POINTS_ACCEPTED)
		q->refused += im->m.npoints;
	drop(q, im);
	return 0;
}

void
worker_inflight_sender(struct worker *w, int up)
{
	struct worker_inflight	*q = &w->inflight;
	struct inflight_msg	*im;
	uint64_t		 again = 0;

	if (q->msgs.tqh_last == NULL)
		return;
	TAILQ_FOREACH(im, &q->msgs, entry) {
		if (!up) {
			/* the sender that had it is gone */
			if (im->reqid != 0)
				im->resend = 1;
			im->reqid = 0;
			continue;
		}
		if (im->reqid != 0)
			continue;
		if (put(w, im) == -1)
			break;		/* gone again: at its next HELLO */
		if (im->resend)
			again += im->m.npoints;
	}
	q->resent += again;
	if (again > 0)
		log_warnx("%s: %llu points sent again: the sender before did "
		    "not say it took them", __func__,
		    (unsigned long long)again);
}
