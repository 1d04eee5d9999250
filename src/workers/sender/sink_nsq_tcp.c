/*
 * The nsq output over nsqd's TCP protocol V2 (servers written
 * "tcp://host:port"), with the codec of nsq_proto.h, on the worker's
 * libev loop: non-blocking sockets; names are looked up in a thread per
 * lookup (sender_resolve.h), never on the loop.  This file has the sink
 * and its requests; one connection to one nsqd is sink_nsq_tcp_conn.c.
 *
 * Requests: the sender hands over one request at a time, of one message
 * or several of one topic, and keeps them in its buffer until
 * sender_sink_done(ok); one message goes out as PUB, several as one
 * MPUB, which nsqd takes all or nothing.  Each request starts at the
 * server after the one the previous request started at (load spread),
 * and when that server fails it (down, refused, timed out, answered an
 * error, hung up, or is not connected yet while a later one is) the
 * next one is tried, each server once, before the
 * request is reported failed with every server's reason.  Retrying later
 * is the sender's job, with its own backoff.  A request is only reported
 * published on nsqd's "OK", so a stalled or dropped connection never
 * loses a point; it may duplicate some (nsqd may have taken a command
 * whose answer we never saw), which is NSQ's at-least-once delivery.
 *
 * A refusal (too big, or E_BAD_TOPIC, E_BAD_MESSAGE, E_BAD_BODY) moves
 * the request on too, as a broken server may refuse what the others
 * take; only when no server took it does the first refusal end it.
 *
 * Sizes: the sender cuts messages within [output] messagebytes (nsqd's
 * -max-msg-size) and requests within requestbytes (-max-body-size), or
 * within lower limits it learned.  A request over a server's limits
 * (those its IDENTIFY answer reported, or those its "message too big N >
 * M" or "body too big" refusal gave) goes back to the sender as too big,
 * with the limit: the sender cuts it again, smaller (sender_sink_toobig).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <ev.h>

#include "log.h"
#include "sink_nsq_tcp_int.h"

#define SCHEME			"tcp://"
#define SCHEME_LEN		(sizeof(SCHEME) - 1)

/* Forget the request: the sender has it (and is told next). */
static void
request_clear(struct nsq_tcp *t)
{
	t->busy = 0;
	t->nmsgs = 0;
}

/* The request is done, one way or the other: tell the sender, last. */
void
sink_nsq_tcp_message_done(struct nsq_tcp *t, int ok, const char *err)
{
	request_clear(t);
	sender_sink_done(t->s, ok, err);
}

/* Refused for good (see sender_sink_rejected()). */
static void
message_rejected(struct nsq_tcp *t, const char *err)
{
	request_clear(t);
	sender_sink_rejected(t->s, err);
}

/* Refused for its size: cut again (see sender_sink_toobig()). */
static void
message_toobig(struct nsq_tcp *t, const char *server, enum sink_toobig what,
    size_t limit, const char *err)
{
	request_clear(t);
	sender_sink_toobig(t->s, server, what, limit, err);
}

static void
reason_add(struct nsq_tcp *t, const char *server, const char *why)
{
	if (t->reasons.len > 0)
		buf_adds(&t->reasons, "; ");
	buf_printf(&t->reasons, "%s: %s", server, why);
}

static const char *
reasons_text(const struct nsq_tcp *t)
{
	return buf_failed(&t->reasons) || t->reasons.len == 0 ?
	    "every server failed (out of memory for the reasons)" :
	    t->reasons.p;
}

/* The request in flight is within these limits. */
static int
request_fits(const struct nsq_tcp *t, const struct nsq_limits *l)
{
	return t->longest <= l->max_msg_size &&
	    (t->nmsgs <= 1 || t->mpubsize <= l->max_body_size);
}

/* Another server than c takes requests this large, for all it said. */
static int
fits_elsewhere(const struct nsq_tcp *t, const struct nsq_conn *c)
{
	size_t	 i;

	for (i = 0; i < t->nconns; i++)
		if (i != c->idx && request_fits(t, &t->conns[i].limits))
			return 1;
	return 0;
}

/* Send the request in flight as PUB or MPUB on this READY connection. */
int
sink_nsq_tcp_conn_pub(struct nsq_conn *c)
{
	struct nsq_tcp	*t = c->t;
	char		 why[256];
	int		 rc;

	if (t->longest > c->limits.max_msg_size)
		snprintf(why, sizeof(why), "message of %zu bytes is over "
		    "this nsqd's max-msg-size (%zu bytes)", t->longest,
		    c->limits.max_msg_size);
	else if (!request_fits(t, &c->limits))
		snprintf(why, sizeof(why), "MPUB of %llu bytes is over this "
		    "nsqd's max-body-size (%zu bytes)",
		    (unsigned long long)t->mpubsize, c->limits.max_body_size);
	if (!request_fits(t, &c->limits)) {
		/*
		 * What one server said is not what the others take: a
		 * server announcing 100 bytes made the sender drop every
		 * point, the others up.  Only when no server takes it does
		 * the sender cut for this one.
		 */
		if (fits_elsewhere(t, c)) {
			sink_nsq_tcp_attempt_failed(t, why);
			return 0;
		}
		message_toobig(t, c->server, t->longest >
		    c->limits.max_msg_size ? SINK_TOOBIG_MESSAGE :
		    SINK_TOOBIG_BODY, t->longest > c->limits.max_msg_size ?
		    c->limits.max_msg_size : c->limits.max_body_size, why);
		return 0;
	}
	/* topic and sizes were checked in publish(): -1 is memory */
	rc = t->nmsgs == 1 ? nsq_enc_pub(&c->out, t->topic, t->msgs[0].data,
	    t->msgs[0].len) : nsq_enc_mpub(&c->out, t->topic, t->msgs,
	    t->nmsgs);
	if (rc == -1) {
		sink_nsq_tcp_conn_down(c,
		    t->nmsgs == 1 ? "out of memory for PUB" :
		    "out of memory for MPUB");
		return -1;
	}
	c->pub = 1;
	/* what waits to be written is this command, but for a NOP or two */
	c->pub_wait = RESPONSE_TIMEOUT(c->t) +
	    (double)(c->out.len - c->outoff) / LINK_RATE_MIN;
	sink_nsq_tcp_timer_arm(c, c->pub_wait);
	return sink_nsq_tcp_conn_flush(c);
}

/* An error frame answering our PUB or MPUB. */
int
sink_nsq_tcp_conn_pub_error(struct nsq_conn *c, const struct nsq_frame *f)
{
	struct nsq_tcp	*t = c->t;
	struct nsq_error e;
	enum nsq_toobig	 tb;
	size_t		 limit;
	char		 why[sizeof(e.text) + 32];

	nsq_error_parse(f->data, f->len, &e);
	snprintf(why, sizeof(why), "nsqd refused the %s: %s", t->cmd, e.text);
	c->pub = 0;
	tb = nsq_error_toobig(&e, &limit);
	if (tb != NSQ_TOOBIG_NO || e.permanent) {
		/*
		 * Too big (too big is not bad: smaller, it goes), or
		 * E_BAD_TOPIC, E_BAD_MESSAGE, E_BAD_BODY: about the request
		 * itself, so every nsqd with the same limits refuses it the
		 * same way, but a broken one refuses what the others take:
		 * the others are asked first.  When none takes it, the
		 * first refusal ends it: cut smaller, or (no retry) the
		 * sender drops its points, counted, rather than hold up
		 * what follows (for an MPUB, sending its messages one by
		 * one first).
		 */
		if (t->refused == REFUSED_NONE ||
		    (t->refused == REFUSED_DATA && tb != NSQ_TOOBIG_NO)) {
			t->refused = tb != NSQ_TOOBIG_NO ? REFUSED_SIZE :
			    REFUSED_DATA;
			t->tb_kind = tb == NSQ_TOOBIG_MESSAGE ?
			    SINK_TOOBIG_MESSAGE : SINK_TOOBIG_BODY;
			t->tb_limit = limit;
			strlcpy(t->tb_server, c->server, sizeof(t->tb_server));
			strlcpy(t->refusal, why, sizeof(t->refusal));
		}
		/* once until it takes one: it may refuse each request */
		if (!c->refusing && t->nconns > 1)
			log_warnx("%s: nsq: %s refused a request: %s; trying "
			    "the other servers", __func__, c->server, why);
		c->refusing = 1;
		/* nsqd hangs up after it; the request is answered */
		if (e.fatal)
			sink_nsq_tcp_conn_drop(c, why);
		sink_nsq_tcp_attempt_failed(t, why);
		return e.fatal ? -1 : 0;
	}
	if (e.fatal) {
		/* E_PUB_FAILED and the like: nsqd closes the connection;
		 * sink_nsq_tcp_conn_down moves the request to the next
		 * server */
		sink_nsq_tcp_conn_down(c, why);
		return -1;
	}
	/* a non-fatal error (none is defined for (M)PUB): the stream is
	 * fine */
	sink_nsq_tcp_arm_idle(c);
	sink_nsq_tcp_avoid(c);
	sink_nsq_tcp_attempt_failed(t, why);
	return 0;
}

void
sink_nsq_tcp_avoid(struct nsq_conn *c)
{
	c->avoid = c->avoid == 0 ? AVOID_MIN :
	    c->avoid * 2 > AVOID_MAX ? AVOID_MAX : c->avoid * 2;
	c->avoid_until = ev_now(c->t->loop) + c->avoid / 2 +
	    c->avoid / 2 * (double)arc4random_uniform(1001) / 1000.0;
}

static int
avoided(const struct nsq_conn *c)
{
	return c->avoid_until > ev_now(c->t->loop);
}

/*
 * A server not yet tried for the request in flight is READY, and no
 * request failed there lately.
 */
static int
ready_ahead(const struct nsq_tcp *t)
{
	const struct nsq_conn	*c;
	size_t			 k;

	for (k = 1; k < t->nconns - t->tried; k++) {
		c = &t->conns[(t->cur + k) % t->nconns];
		if (c->state == CONN_READY && !avoided(c))
			return 1;
	}
	return 0;
}

/* Try the request on t->conns[t->cur]. */
static void
attempt_start(struct nsq_tcp *t)
{
	struct nsq_conn	*c = &t->conns[t->cur];
	char		 why[sizeof(c->err) + 32];

	switch (c->state) {
	case CONN_READY:
		/*
		 * A request failed here lately (an nsqd that answers
		 * IDENTIFY and never a PUB held each one for 10 s).
		 */
		if (avoided(c) && ready_ahead(t)) {
			sink_nsq_tcp_attempt_failed(t, c->err[0] != '\0' ?
			    c->err : "failed a request lately");
			break;
		}
		(void)sink_nsq_tcp_conn_pub(c);
		break;
	case CONN_RESOLVING:
	case CONN_CONNECTING:
	case CONN_IDENTIFYING:
		/*
		 * Another server is up: it takes the request now, rather
		 * than this one's connect or IDENTIFY timeout (a stopped
		 * nsqd, whose kernel still accepts, held each request 10 s).
		 */
		if (ready_ahead(t)) {
			sink_nsq_tcp_attempt_failed(t, c->state ==
			    CONN_IDENTIFYING ? "not ready (IDENTIFY not "
			    "answered yet)" : "not connected yet");
			break;
		}
		/* conn_identified() sends it,
		    sink_nsq_tcp_conn_down() moves it on */
		break;
	case CONN_DOWN:
		if (!ev_is_active(&c->timer)) {
			/* never so, but no reconnect planned: connect now */
			c->err[0] = '\0';
			sink_nsq_tcp_conn_connect(c);
			break;
		}
		/* backing off: the next server, rather than waiting */
		snprintf(why, sizeof(why), "down (%s)", c->err[0] != '\0' ?
		    c->err : "not connected yet");
		sink_nsq_tcp_attempt_failed(t, why);
		break;
	}
}

/* The current server failed the request: the next one, or give up. */
void
sink_nsq_tcp_attempt_failed(struct nsq_tcp *t, const char *why)
{
	reason_add(t, t->conns[t->cur].server, why);
	if (++t->tried < t->nconns) {
		t->cur = (t->cur + 1) % t->nconns;
		log_debug("nsq: failing over to %s", t->conns[t->cur].server);
		attempt_start(t);
		return;
	}
	/* no server took it: what a refusal said, else failed */
	if (t->refused == REFUSED_SIZE)
		message_toobig(t, t->tb_server, t->tb_kind, t->tb_limit,
		    t->refusal);
	else if (t->refused == REFUSED_DATA)
		message_rejected(t, reasons_text(t));
	else
		sink_nsq_tcp_message_done(t, 0, reasons_text(t));
}

static void
sink_nsq_tcp_publish(struct sender *s, const char *topic,
    enum out_format fmt, const struct sink_msg *m, size_t n)
{
	struct nsq_tcp	*t = s->sink;
	struct nsq_msg	*v;
	const char	*bad;
	char		 why[256];
	size_t		 i;

	(void)fmt;	/* a message is one NSQ message in either format */
	if (t->busy) {
		/* the sender never does this; do not lose track of either */
		log_warnx("%s: nsq: publish while a request is in flight",
		    __func__);
		return;
	}
	t->busy = 1;
	if (n > t->capmsgs) {
		if ((v = reallocarray(t->msgs, n, sizeof(*v))) == NULL) {
			sink_nsq_tcp_message_done(t, 0,
			    "out of memory for a request");
			return;
		}
		t->msgs = v;
		t->capmsgs = n;
	}
	t->longest = 0;
	for (i = 0; i < n; i++) {
		if (m[i].len == 0) {
			/* nsqd refuses empty messages and hangs up */
			sink_nsq_tcp_message_done(t, 0, "empty message");
			return;
		}
		if (m[i].len > t->limits.max_msg_size) {
			snprintf(why, sizeof(why), "message of %zu bytes is "
			    "over [output] messagebytes (%zu bytes)", m[i].len,
			    t->limits.max_msg_size);
			message_toobig(t, "nsq", SINK_TOOBIG_MESSAGE,
			    t->limits.max_msg_size, why);
			return;
		}
		if (m[i].len > t->longest)
			t->longest = m[i].len;
		/* the sender keeps the bytes unchanged until we report */
		t->msgs[i].data = m[i].data;
		t->msgs[i].len = m[i].len;
	}
	t->nmsgs = n;
	t->cmd = n == 1 ? "PUB" : "MPUB";
	t->mpubsize = n > 1 ? nsq_mpub_body_size(t->msgs, n) : 0;
	if (n > 1 && t->mpubsize > t->limits.max_body_size) {
		snprintf(why, sizeof(why), "MPUB of %llu bytes is over "
		    "[output] requestbytes (%zu bytes)",
		    (unsigned long long)t->mpubsize, t->limits.max_body_size);
		message_toobig(t, "nsq", SINK_TOOBIG_BODY,
		    t->limits.max_body_size, why);
		return;
	}
	if (!nsq_topic_valid(topic, &bad)) {
		snprintf(why, sizeof(why), "topic \"%.80s\" is not a valid "
		    "NSQ topic: %s", topic, bad);
		sink_nsq_tcp_message_done(t, 0, why);
		return;
	}
	strlcpy(t->topic, topic, sizeof(t->topic));
	buf_reset(&t->reasons);
	t->refused = REFUSED_NONE;
	t->tried = 0;
	t->cur = t->next;
	t->next = (t->next + 1) % t->nconns;
	attempt_start(t);
}

/* "tcp://host:port" or "tcp://[v6]:port" into host and port. */
static int
parse_server(const char *sv, char **host, char **port, char *err,
    size_t errlen)
{
	const char	*p, *h, *colon, *end;
	size_t		 hlen;
	long		 n;
	char		*ep;

	*host = *port = NULL;
	if (strncasecmp(sv, SCHEME, SCHEME_LEN) != 0) {
		snprintf(err, errlen, "[output] servers = \"%s\": the nsq TCP "
		    "output takes tcp://host:port", sv);
		return -1;
	}
	p = sv + SCHEME_LEN;
	if (*p == '[') {
		h = p + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':') {
			snprintf(err, errlen, "[output] servers = \"%s\": "
			    "must be tcp://[v6]:port", sv);
			return -1;
		}
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		h = p;
		if ((colon = strrchr(p, ':')) == NULL) {
			snprintf(err, errlen, "[output] servers = \"%s\": "
			    "must be tcp://host:port", sv);
			return -1;
		}
		hlen = (size_t)(colon - h);
	}
	errno = 0;
	n = strtol(colon + 1, &ep, 10);
	if (hlen == 0 || colon[1] == '\0' || *ep != '\0' || errno != 0 ||
	    n < 1 || n > 65535) {
		snprintf(err, errlen, "[output] servers = \"%s\": must be "
		    "tcp://host:port with a port from 1 to 65535", sv);
		return -1;
	}
	if ((*host = strndup(h, hlen)) == NULL ||
	    (*port = strdup(colon + 1)) == NULL) {
		free(*host);
		*host = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
sink_nsq_tcp_close(struct sender *s)
{
	struct nsq_tcp	*t = s->sink;
	size_t		 i;

	if (t == NULL)
		return;
	/* a request in flight is abandoned: the sender keeps it */
	request_clear(t);
	for (i = 0; i < t->nconns; i++) {
		sink_nsq_tcp_conn_free(&t->conns[i]);
	}
	free(t->conns);
	free(t->msgs);
	buf_free(&t->reasons);
	free(t);
	s->sink = NULL;
}

static int
sink_nsq_tcp_open(struct sender *s, char *err, size_t errlen)
{
	const struct strlist	*sv = &s->w->conf.servers;
	struct nsq_tcp		*t;
	struct nsq_conn		*c;
	char			*dot;
	size_t			 i;

	if (sv->n == 0) {
		snprintf(err, errlen, "the nsq output needs at least one "
		    "server in [output] servers");
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->s = s;
	t->loop = s->w->loop;
	buf_init(&t->reasons);
	s->sink = t;		/* from here on close() cleans up */

	/*
	 * nsqd's limits as configured (a server may report lower ones);
	 * the config table keeps both within the signed 32-bit sizes of
	 * the wire.
	 */
	t->limits.max_msg_size = (size_t)s->w->conf.messagebytes;
	t->limits.max_body_size = (size_t)s->w->conf.requestbytes;
	/* who we are, for nsqd's /stats: the short name is the client id */
	if (gethostname(t->hostname, sizeof(t->hostname) - 1) == -1) {
		log_warn("%s: nsq: gethostname", __func__);
		strlcpy(t->hostname, "unknown", sizeof(t->hostname));
	}
	t->hostname[sizeof(t->hostname) - 1] = '\0';
	strlcpy(t->client_id, t->hostname, sizeof(t->client_id));
	if ((dot = strchr(t->client_id, '.')) != NULL && dot != t->client_id)
		*dot = '\0';

	if ((t->conns = calloc(sv->n, sizeof(*t->conns))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < sv->n; i++) {
		c = &t->conns[i];
		sink_nsq_tcp_conn_init(c, t, i);
		t->nconns++;	/* close() frees what is counted */
		if (parse_server(sv->v[i], &c->host, &c->port, err,
		    errlen) == -1)
			goto fail;
		if ((c->server = strdup(sv->v[i])) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	log_info("nsq: publishing over TCP to %zu server%s, first %s",
	    t->nconns, t->nconns == 1 ? "" : "s", t->conns[0].server);
	/* connect now, so the first request finds a connection up */
	for (i = 0; i < t->nconns; i++)
		sink_nsq_tcp_conn_connect(&t->conns[i]);
	return 0;
fail:
	sink_nsq_tcp_close(s);
	return -1;
}

const struct sink_ops sink_nsq_tcp_ops = {
	.name = "nsq",
	.open = sink_nsq_tcp_open,
	.publish = sink_nsq_tcp_publish,
	.close = sink_nsq_tcp_close,
};
