/*
 * Points pushed over the API: POST /post (the lodastack body).  A request
 * is answered 200 only once the sender has taken every point into its
 * buffer; 503 when it cannot, so the client knows to retry.
 *
 * Pushing changes what the monitoring sees, and a web page can make a
 * browser POST a text/plain body anywhere: /post and /write refuse what
 * looks like a browser's request, as the plugin calls do (front_guard.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "codec.h"
#include "front.h"
#include "front_guard.h"
#include "points_line.h"
#include "jsonw.h"
#include "log.h"
#include "points_json.h"
#include "points_msg.h"
#include "proto.h"
#include "topic.h"

/* Names pushed by local programs are marked as such (the Go agent did). */
#define POST_PREFIX	"RUN."

/*
 * {"error": msg, "index": n}, n omitted when < 0.  The parsers quote
 * what the client sent printably, but the body must be UTF-8 whatever
 * a message holds: Go's escaping turns bytes that are not into U+FFFD.
 */
static void
respond_bad_point(struct http_request *req, const char *msg, long index)
{
	struct buf	 b;

	buf_init(&b);
	if (jsonw_error_body(&b, msg, index) == 0)
		front_http_respond(req, 400, "application/json", b.p, b.len);
	else
		front_http_respond_error(req, 400, msg);
	buf_free(&b);
}

/*
 * Query parameter `key` into buf, "" when absent; -1 when answered
 * already (400 naming it): a value that was cut short, held a NUL or
 * could not be decoded is not taken for absent, which would put the
 * points under a default the client did not ask for.
 */
static int
post_param(struct http_request *req, const char *key, char *buf,
    size_t len)
{
	int	 n;

	n = front_http_query_param(req, key, buf, len);
	if (front_param_refused(req, key, n, len))
		return -1;
	if (n < 0)
		buf[0] = '\0';
	return 0;
}

/* The namespace: ?ns=, or (absent or empty) the only one the host is in. */
static int
post_namespace(struct front *f, struct http_request *req, char *ns,
    size_t len)
{
	const struct strlist	*nss = front_namespaces(f);
	char			 msg[160];

	if (post_param(req, "ns", ns, len) == -1)
		return -1;
	if (ns[0] != '\0')
		return 0;
	if (nss->n == 1) {
		snprintf(ns, len, "%s", nss->v[0]);
		return 0;
	}
	snprintf(msg, sizeof(msg), "ns is required: this host is in %zu "
	    "namespaces", nss->n);
	front_http_respond_error(req, 400, msg);
	return -1;
}

/* Topic for a namespace from the [output] topic template. */
static int
post_topic(struct front *f, const char *ns, char *topic, size_t len,
    char *why, size_t whylen)
{
	return topic_for_ns(f->w->conf.topic, ns, topic, len, why, whylen);
}

/*
 * Points parsed into f->pts, to the sender; the answer comes with its
 * ack.  Counted in *received once the sender has them: a push answered
 * 413, 500 or 503 here was not taken in (the client sends it again),
 * and the sender's own 503s are counted as refused.
 */
static void
points_submit(struct front *f, struct http_request *req,
    struct points_msg *m, size_t npoints, uint64_t *received)
{
	struct pbuf	 pb;
	uint32_t	 reqid;
	char		 note[80];
	int		 saved;

	if (npoints == 0) {
		front_http_respond_json(req, 200, "{\"accepted\":0}");
		return;
	}
	m->origin = ORIGIN_PUSHED;
	m->npoints = (uint32_t)npoints;
	m->data = f->pts.p;
	m->len = f->pts.len;
	/* the points go from f->pts, copied once, into the frame */
	codec_put_init(&pb);
	points_msg_encode_head(&pb, m);
	reqid = front_reqid(f);
	if (codec_put_failed(&pb) || front_wait(f, reqid, req, PENDING_POINTS,
	    m->npoints) == -1) {
		codec_put_free(&pb);
		front_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (worker_send_peer2(f->w, ROLE_SENDER, MSG_POINTS, reqid, pb.buf,
	    pb.len, m->data, m->len) == -1) {
		saved = errno;
		(void)front_take(f, reqid, PENDING_POINTS, NULL);
		/*
		 * A sender that is down the master says; one that reads
		 * nothing (ENOBUFS: 64 MiB wait for it) nobody else does,
		 * and every push then gets 503 from here.
		 */
		if (saved != EMSGSIZE && saved != ENOTCONN &&
		    front_throttle_pass(f, &f->unsent_push, note, sizeof(note)))
			log_warnx("%s: %u points of a push not sent to the "
			    "sender: %s; answered 503%s", __func__,
			    m->npoints, strerror(saved), note);
		if (saved == EMSGSIZE)
			front_http_respond_error(req, 413,
			    "too many points once "
			    "encoded; send fewer per request");
		else
			front_http_respond_error(req, 503, "the sender is not "
			    "available; nothing was accepted");
	} else
		*received += npoints;
	codec_put_free(&pb);
}

/*
 * The buffer a body's points are encoded into: the front's own, kept
 * from one request to the next, with room for what a body of `len`
 * bytes usually becomes (the JSON out is about 1.4 times the JSON in),
 * so that it neither grows nor faults its pages in per request.
 */
static struct buf *
points_buf(struct front *f, size_t len)
{
	buf_reset(&f->pts);
	(void)buf_reserve(&f->pts, len + len / 2);
	return &f->pts;
}

/* After the frame took a copy: an unusually large one is given back. */
static void
points_buf_done(struct front *f)
{
	if (f->pts.cap > FRONT_PTS_KEEP || buf_failed(&f->pts))
		buf_free(&f->pts);
}

/*
 * The most bytes the encoded points of push `m` may take: what the edge
 * to the sender carries less the head of the POINTS frame.  -1 when
 * answered already.
 */
static int
points_room(struct http_request *req, const struct points_msg *m,
    size_t *room)
{
	const struct edge_def	*e;
	struct points_msg	 h = *m;
	struct pbuf		 pb;

	e = proto_peer_edge_find(ROLE_FRONT, ROLE_SENDER);
	/* the counts are fixed-width: any value gives the head's length */
	h.npoints = 1;
	h.len = 1;
	codec_put_init(&pb);
	points_msg_encode_head(&pb, &h);
	if (e == NULL || codec_put_failed(&pb) || pb.len >= e->maxpayload) {
		codec_put_free(&pb);
		front_http_respond_error(req, 500, "out of memory");
		return -1;
	}
	*room = e->maxpayload - pb.len;
	codec_put_free(&pb);
	return 0;
}

/* A parse failed: the client sent too much (413) or a bad point (400). */
static void
respond_parse_error(struct http_request *req, const struct post_result *res)
{
	if (res->toobig)
		front_http_respond_error(req, 413, res->err);
	else
		respond_bad_point(req, res->err, res->bad_index);
}

/* Namespace, topic and format of a push; -1 when answered already. */
static int
points_target(struct front *f, struct http_request *req,
    struct points_msg *m)
{
	char	 ns[128], why[160];

	if (post_namespace(f, req, ns, sizeof(ns)) == -1)
		return -1;
	memset(m, 0, sizeof(*m));
	if (post_topic(f, ns, m->topic, sizeof(m->topic), why,
	    sizeof(why)) == -1) {
		front_http_respond_error(req, 400, why);
		return -1;
	}
	if (encode_format_parse(f->w->conf.format, &m->fmt) == -1)
		m->fmt = FORMAT_JSON;
	return 0;
}

void
front_route_post(struct http_request *req, void *ctx)
{
	struct front		*f = ctx;
	struct post_result	 res;
	struct points_msg	 m;
	struct buf		*pts;
	size_t			 room;

	if (!front_guard_check(f, req))
		return;
	if (points_target(f, req, &m) == -1 ||
	    points_room(req, &m, &room) == -1)
		return;
	pts = points_buf(f, req->body_len);
	if (points_json_parse(req->body, req->body_len, POINTS_JSON_STRICT,
	    POST_PREFIX, f->host, (int64_t)time(NULL), m.fmt, pts, room,
	    &res) == -1)
		respond_parse_error(req, &res);
	else
		points_submit(f, req, &m, res.npoints, &f->st.received_post);
	points_buf_done(f);
}

/*
 * POST /write?ns=&precision=: InfluxDB line protocol, what Telegraf and
 * InfluxDB clients speak; validated and normalized like /post.
 */
void
front_route_write(struct http_request *req, void *ctx)
{
	struct front		*f = ctx;
	struct post_result	 res;
	struct points_msg	 m;
	struct buf		*pts;
	char			 precision[8], why[128];
	size_t			 room;

	if (!front_guard_check(f, req))
		return;
	if (post_param(req, "precision", precision, sizeof(precision)) == -1)
		return;
	if (points_line_precision_valid(precision) == -1) {
		snprintf(why, sizeof(why), "precision \"%.7s\": not one of n, "
		    "ns, u, us, ms, s, m, h", precision);
		front_http_respond_error(req, 400, why);
		return;
	}
	if (points_target(f, req, &m) == -1 ||
	    points_room(req, &m, &room) == -1)
		return;
	pts = points_buf(f, req->body_len);
	if (points_line_parse(req->body, req->body_len, POST_PREFIX, f->host,
	    (int64_t)time(NULL), precision, m.fmt, pts, room, &res) == -1)
		respond_parse_error(req, &res);
	else
		points_submit(f, req, &m, res.npoints, &f->st.received_write);
	points_buf_done(f);
}

int
front_points_ack(struct front *f, struct frame_in *in)
{
	struct http_request	*req;
	struct preader		 pr;
	enum points_verdict	 v;
	uint32_t		 n;
	char			 msg[256], body[64];

	codec_get_init(&pr, in->data, in->datalen);
	if (points_ack_decode(&pr, &v, msg, sizeof(msg)) == -1) {
		log_warnx("%s: bad POINTS_ACK from the sender", __func__);
		return -1;
	}
	if ((req = front_take(f, in->hdr.reqid, PENDING_POINTS, &n)) == NULL)
		return 0;	/* answered already (504) */
	switch (v) {
	case POINTS_ACCEPTED:
		snprintf(body, sizeof(body), "{\"accepted\":%u}", n);
		front_http_respond_json(req, 200, body);
		break;
	case POINTS_FULL:
		front_http_respond_error(req, 503, msg);
		break;
	case POINTS_REJECTED:
		front_http_respond_error(req, 400, msg);
		break;
	}
	return 0;
}

/*
 * The sender went away before it answered: whether it wrote the points
 * to its spool first cannot be told, so the client is told to send them
 * again, and that this may publish them twice (never none).
 */
void
front_sender_down(struct front *f)
{
	struct pending	*p, *tp;

	TAILQ_FOREACH_SAFE(p, &f->pending, entry, tp) {
		if (p->kind != PENDING_POINTS)
			continue;
		TAILQ_REMOVE(&f->pending, p, entry);
		front_http_respond_error(p->req, 503,
		    "the sender restarted before it answered; send the "
		    "points again (if it had spooled them, they are "
		    "published twice)");
		free(p);
	}
}
