/*
 * The nsq output over nsqd's HTTP API: a request of one message is
 * "POST http://<server>/pub?topic=<topic>" with the message as the body;
 * one of several is "POST .../mpub?topic=<topic>&binary=true" with the
 * binary body (4-byte count, then per message a 4-byte size and the
 * bytes), which nsqd takes all or nothing.  Through the shared HTTP
 * plumbing (sender_http.h: libcurl's multi interface on the worker's
 * libev loop, one kept-alive easy handle, failover across servers; and
 * sink_http.h: the request in flight).
 *
 * Failover: each request starts at the server after the one the
 * previous request started at, so load is spread, and on any failure
 * (connect error, timeout, an answer other than 2xx) moves on to the
 * next server, trying each server once.  When all of them failed the
 * request is reported failed with every server's reason; retrying
 * later, with backoff, is the sender's job, not ours.
 *
 * Refusals: 400 is about the request itself (INVALID_TOPIC, MSG_EMPTY,
 * ...), the same on every nsqd, so the request is rejected: the sender
 * drops a single message, and sends the messages of a refused /mpub
 * again one by one.  413 is about its size (MSG_TOO_BIG, BODY_TOO_BIG,
 * and /mpub's BAD_MESSAGE or BAD_BODY): too big is not bad, the sender
 * cuts it again smaller (sender_sink_toobig(); nsqd's HTTP answer gives
 * no limit, so the sender halves what was refused).
 *
 * Size: the sender cuts messages within [output] messagebytes (nsqd's
 * -max-msg-size) and requests within requestbytes (-max-body-size), or
 * what it learned; a request over them is not sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>

#include "log.h"
#include "nsq_proto.h"
#include "sender.h"
#include "sink_http.h"

struct nsq_http {
	struct sink_http	 r;		/* the body: the sender's, or
						 * mpub's */
	struct nsq_limits	 limits;

	/* the request in flight */
	struct buf		 path;		/* /pub?topic=..., /mpub?... */
	struct buf		 mpub;		/* the binary /mpub body */
	struct nsq_msg		*msgs;		/* to encode it */
	size_t			 capmsgs;
};

/* Post the request to the current server (servers are host:port). */
static void
attempt_start(void *arg)
{
	struct nsq_http	*h = arg;

	sink_http_post(&h->r, "http://", 0, &h->path, h->r.body, h->r.len);
}

/* A request ended: judge the answer. */
static void
attempt_end(struct sender_http *http, void *arg)
{
	struct nsq_http	*h = arg;
	char		 why[384];

	if (!h->r.busy)
		return;
	/* nsqd explains a refusal in a short body, e.g. {"message":"..."} */
	if (!sender_http_status(http, why, sizeof(why))) {
		if (http->result == CURLE_OK && http->code == 413) {
			/* BODY_TOO_BIG, BAD_BODY: the request; else a
			 * message (MSG_TOO_BIG, BAD_MESSAGE) */
			sink_http_refused_size(&h->r,
			    sender_http_shown(http), memmem(http->answer,
			    http->answerlen, "BODY", 4) != NULL ?
			    SINK_TOOBIG_BODY : SINK_TOOBIG_MESSAGE, 0, why);
			return;
		}
		if (http->result == CURLE_OK && http->code == 400) {
			/* INVALID_TOPIC, MSG_EMPTY...: on any nsqd, unless
			 * this one is broken: the others are asked too */
			sink_http_refused(&h->r, why);
			return;
		}
		sink_http_failed(&h->r, why);
		return;
	}
	sender_http_server_ok(http);
	sink_http_done(&h->r, 1, NULL);
}

/* The binary /mpub body of the request into h->mpub. */
static int
mpub_body(struct nsq_http *h, const struct sink_msg *m, size_t n)
{
	struct nsq_msg	*v;
	size_t		 i;

	if (n > h->capmsgs) {
		if ((v = reallocarray(h->msgs, n, sizeof(*v))) == NULL)
			return -1;
		h->msgs = v;
		h->capmsgs = n;
	}
	for (i = 0; i < n; i++) {
		h->msgs[i].data = m[i].data;
		h->msgs[i].len = m[i].len;
	}
	buf_reset(&h->mpub);
	if (nsq_http_mpub_body(&h->mpub, h->msgs, n) == -1 ||
	    buf_failed(&h->mpub))
		return -1;
	return 0;
}

static void
sink_nsq_http_publish(struct sender *s, const char *topic,
    enum out_format fmt, const struct sink_msg *m, size_t n)
{
	struct nsq_http	*h = s->sink;
	uint64_t	 size;
	size_t		 i;
	char		 why[256];

	if (h->r.busy) {
		/* the sender never does this; do not lose track of either */
		log_warnx("%s: nsq: publish while a request is in flight",
		    __func__);
		return;
	}
	h->r.busy = 1;
	for (i = 0; i < n; i++) {
		if (m[i].len == 0) {
			/* nsqd refuses empty messages (MSG_EMPTY) */
			sink_http_done(&h->r, 0, "empty message");
			return;
		}
		if (m[i].len > h->limits.max_msg_size) {
			snprintf(why, sizeof(why), "message of %zu bytes is "
			    "over [output] messagebytes (%zu bytes)", m[i].len,
			    h->limits.max_msg_size);
			sink_http_toobig(&h->r, "nsq", SINK_TOOBIG_MESSAGE,
			    h->limits.max_msg_size, why);
			return;
		}
	}
	if (n > 1 && (size = sender_cut_mpub_size(m,
	    n)) > h->limits.max_body_size) {
		snprintf(why, sizeof(why), "request of %llu bytes is over "
		    "[output] requestbytes (%zu bytes)",
		    (unsigned long long)size, h->limits.max_body_size);
		sink_http_toobig(&h->r, "nsq", SINK_TOOBIG_BODY,
		    h->limits.max_body_size, why);
		return;
	}
	buf_reset(&h->path);
	if ((n == 1 ? nsq_http_pub_path(&h->path, topic) :
	    nsq_http_mpub_path(&h->path, topic)) == -1 ||
	    buf_failed(&h->path)) {
		snprintf(why, sizeof(why), "topic \"%s\" is not a valid NSQ "
		    "topic", topic);
		sink_http_done(&h->r, 0, why);
		return;
	}
	if (n == 1) {
		/* the body stays in the sender's buffer until we report */
		sink_http_send(&h->r, m[0].data, m[0].len);
		return;
	}
	if (mpub_body(h, m, n) == -1) {
		sink_http_done(&h->r, 0, "out of memory for the /mpub body");
		return;
	}
	sink_http_send(&h->r, h->mpub.p, h->mpub.len);
}

static void
sink_nsq_http_close(struct sender *s)
{
	struct nsq_http	*h = s->sink;

	if (h == NULL)
		return;
	/* an in-flight message is abandoned: the sender keeps it */
	sink_http_close(&h->r);
	buf_free(&h->path);
	buf_free(&h->mpub);
	free(h->msgs);
	free(h);
	s->sink = NULL;
}

static int
sink_nsq_http_open(struct sender *s, char *err, size_t errlen)
{
	const struct strlist	*sv = &s->w->conf.servers;
	struct nsq_http		*h;
	size_t			 i;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf_init(&h->path);
	buf_init(&h->mpub);
	sink_http_init(&h->r, s, "nsq", attempt_end, attempt_start, h);
	s->sink = h;		/* from here on close() cleans up */

	/*
	 * nsqd's limits as configured; the config table keeps both within
	 * the signed 32-bit sizes of the wire.
	 */
	h->limits.max_msg_size = (size_t)s->w->conf.messagebytes;
	h->limits.max_body_size = (size_t)s->w->conf.requestbytes;
	for (i = 0; i < sv->n; i++)
		if (strncasecmp(sv->v[i], "tcp://", 6) == 0) {
			/* sink_for() never picks us for those */
			snprintf(err, errlen, "[output] servers = \"%s\": the "
			    "nsq HTTP output takes host:port", sv->v[i]);
			goto fail;
		}
	/* nsqd takes the body as the message, whatever it is */
	if (sender_http_open(&h->r.http, sv,
	    "Content-Type: application/octet-stream", err, errlen) == -1)
		goto fail;
	sink_http_opened(&h->r, "publishing over HTTP to");
	return 0;
fail:
	sink_nsq_http_close(s);
	return -1;
}

const struct sink_ops sink_nsq_http_ops = {
	.name = "nsq",
	.uses_curl = 1,
	.open = sink_nsq_http_open,
	.publish = sink_nsq_http_publish,
	.close = sink_nsq_http_close,
};
