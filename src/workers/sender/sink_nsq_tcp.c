/*
 * The nsq output over nsqd's TCP protocol V2 (servers written
 * "tcp://host:port"), with the codec of nsq_proto.h, on the worker's
 * libev loop: non-blocking sockets; names are looked up in a thread per
 * lookup (sender_resolve.h), never on the loop.
 *
 * Connections: one per server, opened at open() and kept for reuse, so
 * a request costs one PUB or MPUB and one answer.  Each goes
 *	DOWN -> RESOLVING -> CONNECTING -> IDENTIFYING -> READY
 * and back to DOWN on any failure, after which it reconnects on its own
 * with exponential backoff and jitter (RECONNECT_MIN doubling to
 * RECONNECT_MAX), so a server that comes back is found again without a
 * message having to fail on it first.  The name is resolved again on
 * every connect, so a server that moved is followed; a lookup that takes
 * longer than RESOLVE_TIMEOUT (a DNS server that does not answer) fails
 * that connect like any connect error, and the loop goes on serving the
 * other servers and the producers meanwhile.  "_heartbeat_" is answered
 * with NOP in every state: nsqd hangs up after two unanswered ones.
 *
 * Requests: the sender hands over one request at a time, of one message
 * or several of one topic, and keeps them in its buffer until
 * sender_sink_done(ok); one message goes out as PUB, several as one
 * MPUB, which nsqd takes all or nothing.  Each request starts at the
 * server after the one the previous request started at (load spread),
 * and when that server fails it (down, refused, timed out, answered an
 * error, hung up) the next one is tried, each server once, before the
 * request is reported failed with every server's reason.  Retrying later
 * is the sender's job, with its own backoff.  A request is only reported
 * published on nsqd's "OK", so a stalled or dropped connection never
 * loses a point; it may duplicate some (nsqd may have taken a command
 * whose answer we never saw), which is NSQ's at-least-once delivery.
 *
 * Sizes: the sender cuts messages within [output] messagebytes (nsqd's
 * -max-msg-size) and requests within requestbytes (-max-body-size).  A
 * server that reports lower limits in its IDENTIFY answer gets only what
 * fits: a message over its max-msg-size goes to another server, a
 * request over its max-body-size back to the sender, which sends its
 * messages one per request.
 *
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <ev.h>

#include "log.h"
#include "nsq_proto.h"
#include "sender.h"
#include "sender_resolve.h"


#define RESOLVE_TIMEOUT		5.0	/* seconds for a name lookup */
#define CONNECT_TIMEOUT		2.0	/* seconds, per address */
#define RESPONSE_TIMEOUT	10.0	/* for the IDENTIFY, (M)PUB answers */
#define RECONNECT_MIN		0.1	/* seconds, doubling ... */
#define RECONNECT_MAX		10.0	/* ... up to this */
/*
 * A READY connection from which nothing came for this long is dead
 * (nsqd vanished without a FIN): 2.5 heartbeats at nsqd's default of
 * 30 s.  Longer heartbeat gaps seen on a connection stretch it.
 */
#define IDLE_DEAD_MIN		75.0
#define IDLE_DEAD_HEARTBEATS	2.5
#define READ_CHUNK		16384
#define OUT_KEEP		(256 * 1024)	/* output buffer kept when idle */
#define SCHEME			"tcp://"
#define SCHEME_LEN		(sizeof(SCHEME) - 1)

struct nsq_tcp;

enum conn_state {
	CONN_DOWN = 0,		/* waiting for the reconnect timer */
	CONN_RESOLVING,		/* the name is being looked up */
	CONN_CONNECTING,	/* non-blocking connect() in progress */
	CONN_IDENTIFYING,	/* magic and IDENTIFY sent, answer awaited */
	CONN_READY
};

struct nsq_conn {
	struct nsq_tcp		*t;
	size_t			 idx;		/* in t->conns */
	char			*server;	/* as configured, for messages */
	char			*host;
	char			*port;
	enum conn_state		 state;
	int			 fd;
	struct resolver		 rsv;		/* its lookup, off the loop */
	struct addrinfo		*res;		/* this connect's resolution */
	struct addrinfo		*ai;		/* the address being tried */
	ev_io			 rio;
	ev_io			 wio;		/* connect, or output pending */
	/*
	 * One timer, meaning depends on the state: reconnect (DOWN),
	 * connect timeout, IDENTIFY answer timeout, (M)PUB answer timeout or
	 * idle liveness (READY).
	 */
	ev_timer		 timer;
	struct buf		 out;		/* commands not yet written */
	size_t			 outoff;	/* bytes of out already written */
	struct nsq_reader	 rd;
	struct nsq_limits	 limits;	/* what this server takes */
	int			 pub;		/* (M)PUB sent, answer awaited */
	int			 proven;	/* an OK came on this connection */
	ev_tstamp		 ready_at;
	ev_tstamp		 last_rx;
	ev_tstamp		 last_hb;
	ev_tstamp		 hb_gap;	/* longest between heartbeats */
	double			 backoff;	/* last reconnect delay base */
	int			 lost;		/* failed since last READY */
	int			 quiet;		/* the failing is logged already */
	char			 err[256];	/* last failure, for messages */
};

struct nsq_tcp {
	struct sender		*s;
	struct ev_loop		*loop;
	struct nsq_conn		*conns;
	size_t			 nconns;
	size_t			 next;		/* where the next request starts */
	struct nsq_limits	 limits;
	char			 hostname[256];
	char			 client_id[256];

	/* the request in flight */
	int			 busy;
	size_t			 cur;		/* conns[cur] has it */
	size_t			 tried;		/* servers tried, cur included */
	char			 topic[NSQ_TOPIC_MAX + 1];
	struct nsq_msg		*msgs;		/* the sender's, until done */
	size_t			 nmsgs;
	size_t			 capmsgs;
	size_t			 longest;	/* of the messages */
	uint64_t		 mpubsize;	/* the MPUB body, nmsgs > 1 */
	const char		*cmd;		/* "PUB" or "MPUB" */
	struct buf		 reasons;	/* "<server>: <why>; ..." */
};

static void	 conn_connect(struct nsq_conn *);
static void	 conn_try(struct nsq_conn *);
static int	 conn_flush(struct nsq_conn *);
static int	 conn_pub(struct nsq_conn *);
static void	 attempt_start(struct nsq_tcp *);
static void	 attempt_failed(struct nsq_tcp *, const char *why);

static void
timer_arm(struct nsq_conn *c, double after)
{
	struct ev_loop	*loop = c->t->loop;

	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, after > 0 ? after : 0., 0.);
	ev_timer_start(loop, &c->timer);
}

/* Silence after which a READY connection counts as dead. */
static double
idle_dead(const struct nsq_conn *c)
{
	double	 d = IDLE_DEAD_HEARTBEATS * c->hb_gap;

	return d > IDLE_DEAD_MIN ? d : IDLE_DEAD_MIN;
}

/* READY and nothing awaited: watch that the server still talks. */
static void
arm_idle(struct nsq_conn *c)
{
	timer_arm(c, c->last_rx + idle_dead(c) - ev_now(c->t->loop));
}

/* Forget the request: the sender has it (and is told next). */
static void
request_clear(struct nsq_tcp *t)
{
	t->busy = 0;
	t->nmsgs = 0;
}

/* The request is done, one way or the other: tell the sender, last. */
static void
message_done(struct nsq_tcp *t, int ok, const char *err)
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

/* Close the socket and forget the stream; the server stays configured. */
static void
conn_reset(struct nsq_conn *c)
{
	struct ev_loop	*loop = c->t->loop;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->timer);
	/* a lookup in progress is abandoned: its thread cleans up */
	resolver_cancel(&c->rsv);
	if (c->fd != -1 && close(c->fd) == -1)
		log_warn("nsq: close %s", c->server);
	c->fd = -1;
	if (c->res != NULL)
		freeaddrinfo(c->res);
	c->res = NULL;
	c->ai = NULL;
	/* a big MPUB grew it; do not keep megabytes per idle server */
	if (c->out.cap > OUT_KEEP)
		buf_free(&c->out);
	else
		buf_reset(&c->out);
	c->outoff = 0;
	nsq_reader_free(&c->rd);
	nsq_reader_init(&c->rd, 0);
	c->limits = c->t->limits;
	c->pub = 0;
	c->proven = 0;
	c->last_hb = 0;
	c->hb_gap = 0;
}

/*
 * The connection failed: close it and plan the reconnect.  What was on
 * it is the caller's business (conn_down() moves the request on).
 */
static void
conn_drop(struct nsq_conn *c, const char *reason)
{
	struct nsq_tcp	*t = c->t;
	double		 delay;

	/*
	 * A connection that worked (an OK came, or it stayed up a while)
	 * reconnects quickly; one that keeps failing right after the
	 * handshake backs off like one that cannot connect at all.
	 */
	if (c->state == CONN_READY && (c->proven ||
	    ev_now(t->loop) - c->ready_at >= RECONNECT_MAX))
		c->backoff = 0;
	c->backoff = c->backoff == 0 ? RECONNECT_MIN :
	    c->backoff * 2 > RECONNECT_MAX ? RECONNECT_MAX : c->backoff * 2;
	/* jitter: servers (and agents) that failed together spread out */
	delay = c->backoff / 2 +
	    c->backoff / 2 * (double)arc4random_uniform(1001) / 1000.0;

	/* one warning per outage, not one per reconnect attempt */
	if (!c->quiet)
		log_warnx("nsq: %s: %s; reconnecting in %.1f s", c->server,
		    reason, delay);
	else
		log_debug("nsq: %s: %s; reconnecting in %.1f s", c->server,
		    reason, delay);
	c->quiet = 1;
	c->lost = 1;
	strlcpy(c->err, reason, sizeof(c->err));

	conn_reset(c);
	c->state = CONN_DOWN;
	timer_arm(c, delay);
}

/*
 * The connection failed: drop it and, if the request was on it, let the
 * request move on.  That comes last, as it may try the other servers
 * and report to the sender.
 */
static void
conn_down(struct nsq_conn *c, const char *why)
{
	struct nsq_tcp	*t = c->t;
	char		 reason[sizeof(c->err)];
	int		 had_msg;

	/* `why` may point into the reader or c->err: copy it first */
	strlcpy(reason, why, sizeof(reason));
	had_msg = t->busy && t->cur == c->idx;
	conn_drop(c, reason);
	if (had_msg)
		attempt_failed(t, reason);
}

/* Resolve the name again; conn_resolved() goes on from there. */
static void
conn_connect(struct nsq_conn *c)
{
	struct addrinfo	 hints;
	char		 why[256], err[160];

	conn_reset(c);
	c->state = CONN_RESOLVING;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if (resolver_start(&c->rsv, c->host, c->port, &hints,
	    RESOLVE_TIMEOUT, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "resolving %s: %s", c->host, err);
		conn_down(c, why);
		return;
	}
	if (c->rsv.background)
		log_debug("nsq: %s: resolving %s in the background",
		    c->server, c->host);
}

/* The lookup ended: connect to the first address, or count a failure. */
static void
conn_resolved(struct resolver *r, struct resolve_result *res, void *arg)
{
	struct nsq_conn	*c = arg;
	char		 why[256];

	(void)r;
	if (c->state != CONN_RESOLVING) {
		/* cannot be: a reset cancels the lookup; do not leak */
		if (res->res != NULL)
			freeaddrinfo(res->res);
		return;
	}
	if (res->timedout) {
		snprintf(why, sizeof(why), "resolving %s: no answer in "
		    "%.0f s", c->host, RESOLVE_TIMEOUT);
		conn_down(c, why);
		return;
	}
	if (res->rc != 0) {
		snprintf(why, sizeof(why), "resolving %s: %s", c->host,
		    res->rc == EAI_SYSTEM ? strerror(res->sys_errno) :
		    gai_strerror(res->rc));
		conn_down(c, why);
		return;
	}
	c->state = CONN_CONNECTING;
	c->res = res->res;
	c->ai = c->res;
	c->err[0] = '\0';
	conn_try(c);
}

/* The TCP connection is up: say who we are. */
static void
conn_connected(struct nsq_conn *c)
{
	struct nsq_tcp		*t = c->t;
	struct nsq_identify	 id;

	ev_io_stop(t->loop, &c->wio);
	c->state = CONN_IDENTIFYING;
	c->last_rx = ev_now(t->loop);
	memset(&id, 0, sizeof(id));
	id.client_id = t->client_id;
	id.hostname = t->hostname;
	/*
	 * 0: nsqd's own default interval (30 s), which is always within
	 * the range that server allows, where a fixed number could be
	 * refused by an nsqd run with a lower --max-heartbeat-interval.
	 */
	id.heartbeat_ms = 0;
	buf_reset(&c->out);
	c->outoff = 0;
	if (nsq_enc_magic(&c->out) == -1 ||
	    nsq_enc_identify(&c->out, &id) == -1) {
		conn_down(c, "out of memory for IDENTIFY");
		return;
	}
	ev_io_start(t->loop, &c->rio);
	timer_arm(c, RESPONSE_TIMEOUT);
	(void)conn_flush(c);
}

/* Connect to c->ai, or the next address that does not fail at once. */
static void
conn_try(struct nsq_conn *c)
{
	struct nsq_tcp	*t = c->t;
	struct addrinfo	*ai;
	int		 fd, on = 1;

	for (; (ai = c->ai) != NULL; c->ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			snprintf(c->err, sizeof(c->err), "socket: %s",
			    strerror(errno));
			continue;
		}
		/* small commands and answers: do not wait for Nagle */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) == -1)
			log_warn("nsq: %s: TCP_NODELAY", c->server);
		c->fd = fd;
		ev_io_set(&c->rio, fd, EV_READ);
		ev_io_set(&c->wio, fd, EV_WRITE);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			conn_connected(c);
			return;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			/* writable when it is done, either way */
			ev_io_start(t->loop, &c->wio);
			timer_arm(c, CONNECT_TIMEOUT);
			return;
		}
		snprintf(c->err, sizeof(c->err), "connect: %s",
		    strerror(errno));
		if (close(fd) == -1)
			log_warn("nsq: close %s", c->server);
		c->fd = -1;
	}
	conn_down(c, c->err[0] != '\0' ? c->err : "no address to connect to");
}

/* This address did not work: close it and go on with the next one. */
static void
conn_next_address(struct nsq_conn *c, const char *why)
{
	ev_io_stop(c->t->loop, &c->wio);
	ev_timer_stop(c->t->loop, &c->timer);
	strlcpy(c->err, why, sizeof(c->err));
	if (c->fd != -1 && close(c->fd) == -1)
		log_warn("nsq: close %s", c->server);
	c->fd = -1;
	if (c->ai != NULL)
		c->ai = c->ai->ai_next;
	conn_try(c);
}

/*
 * Write what is pending.  0, or -1 when the connection failed (and was
 * taken down: c's stream state is gone).
 */
static int
conn_flush(struct nsq_conn *c)
{
	struct ev_loop	*loop = c->t->loop;
	ssize_t		 n;
	char		 why[128];

	while (c->outoff < c->out.len) {
		/* MSG_NOSIGNAL: a peer that vanished is an error, not a
		 * SIGPIPE */
		n = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(loop, &c->wio);
				return 0;
			}
			snprintf(why, sizeof(why), "write: %s",
			    strerror(errno));
			conn_down(c, why);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	ev_io_stop(loop, &c->wio);
	buf_reset(&c->out);
	c->outoff = 0;
	return 0;
}

/* Send the request in flight as PUB or MPUB on this READY connection. */
static int
conn_pub(struct nsq_conn *c)
{
	struct nsq_tcp	*t = c->t;
	char		 why[256];
	int		 rc;

	if (t->longest > c->limits.max_msg_size) {
		/* this server said it takes less: another one may do */
		snprintf(why, sizeof(why), "message of %zu bytes is over "
		    "this nsqd's max-msg-size (%zu bytes)", t->longest,
		    c->limits.max_msg_size);
		attempt_failed(t, why);
		return 0;
	}
	if (t->nmsgs > 1 && t->mpubsize > c->limits.max_body_size) {
		/* one by one, they fit: the sender sends them so */
		snprintf(why, sizeof(why), "%s: MPUB of %llu bytes is over "
		    "this nsqd's max-body-size (%zu bytes)", c->server,
		    (unsigned long long)t->mpubsize,
		    c->limits.max_body_size);
		message_rejected(t, why);
		return 0;
	}
	/* topic and sizes were checked in publish(): -1 is memory */
	rc = t->nmsgs == 1 ? nsq_enc_pub(&c->out, t->topic, t->msgs[0].data,
	    t->msgs[0].len) : nsq_enc_mpub(&c->out, t->topic, t->msgs,
	    t->nmsgs);
	if (rc == -1) {
		conn_down(c, t->nmsgs == 1 ? "out of memory for PUB" :
		    "out of memory for MPUB");
		return -1;
	}
	c->pub = 1;
	timer_arm(c, RESPONSE_TIMEOUT);
	return conn_flush(c);
}

/* The answer to IDENTIFY: check what the server switched on. */
static int
conn_identified(struct nsq_conn *c, const struct nsq_frame *f,
    enum nsq_kind kind)
{
	struct nsq_tcp			*t = c->t;
	struct nsq_identify_resp	 r;
	const char			*bad;
	char				 why[256], perr[160];

	if (kind == NSQ_K_JSON) {
		if (nsq_identify_parse(f->data, f->len, &r, perr,
		    sizeof(perr)) == -1) {
			snprintf(why, sizeof(why), "IDENTIFY: %s", perr);
			conn_down(c, why);
			return -1;
		}
		if ((bad = nsq_identify_check(&r)) != NULL) {
			conn_down(c, bad);
			return -1;
		}
		nsq_limits_apply(&c->limits, &r);
	} else if (kind != NSQ_K_OK) {
		/* OK: an nsqd without feature negotiation, nothing to learn */
		conn_down(c, "unexpected answer to IDENTIFY");
		return -1;
	}
	c->state = CONN_READY;
	c->ready_at = ev_now(t->loop);
	c->quiet = 0;
	c->err[0] = '\0';
	if (c->lost) {
		c->lost = 0;
		log_info("nsq: %s: reconnected", c->server);
		sender_count_reconnect(t->s);
	} else
		log_info("nsq: %s: connected", c->server);
	arm_idle(c);
	/* a request was waiting for this connection */
	if (t->busy && t->cur == c->idx && !c->pub)
		return conn_pub(c);
	return 0;
}

/* An error frame answering our PUB or MPUB. */
static int
conn_pub_error(struct nsq_conn *c, const struct nsq_frame *f)
{
	struct nsq_tcp	*t = c->t;
	struct nsq_error e;
	char		 why[sizeof(e.text) + 32];

	nsq_error_parse(f->data, f->len, &e);
	snprintf(why, sizeof(why), "nsqd refused the %s: %s", t->cmd, e.text);
	c->pub = 0;
	if (e.permanent) {
		/*
		 * E_BAD_TOPIC, E_BAD_MESSAGE, E_BAD_BODY: about the request
		 * itself, so every nsqd with the same limits refuses it the
		 * same way; no failover and no retry: the sender drops its
		 * points, counted, rather than hold up what follows (or,
		 * for an MPUB, sends its messages one by one first).
		 */
		reason_add(t, c->server, why);
		/* nsqd hangs up after it; the request is answered */
		if (e.fatal)
			conn_drop(c, why);
		message_rejected(t, reasons_text(t));
		return e.fatal ? -1 : 0;
	}
	if (e.fatal) {
		/* E_PUB_FAILED and the like: nsqd closes the connection;
		 * conn_down moves the request to the next server */
		conn_down(c, why);
		return -1;
	}
	/* a non-fatal error (none is defined for (M)PUB): the stream is
	 * fine */
	arm_idle(c);
	attempt_failed(t, why);
	return 0;
}

/* One frame from nsqd.  -1 when the connection went down. */
static int
conn_frame(struct nsq_conn *c, const struct nsq_frame *f)
{
	struct nsq_tcp	*t = c->t;
	enum nsq_kind	 kind = nsq_frame_kind(f);
	struct nsq_error e;
	ev_tstamp	 now = ev_now(t->loop);
	char		 why[sizeof(e.text) + 32];

	if (kind == NSQ_K_HEARTBEAT) {
		if (c->last_hb > 0 && now - c->last_hb > c->hb_gap)
			c->hb_gap = now - c->last_hb;
		c->last_hb = now;
		/* appended after any partly written command: in order */
		if (nsq_enc_nop(&c->out) == -1) {
			conn_down(c, "out of memory for NOP");
			return -1;
		}
		/* the idle timer sees last_rx when it fires */
		return conn_flush(c);
	}
	if (c->state == CONN_IDENTIFYING) {
		if (kind == NSQ_K_ERROR) {
			nsq_error_parse(f->data, f->len, &e);
			snprintf(why, sizeof(why), "IDENTIFY refused: %s",
			    e.text);
			conn_down(c, why);
			return -1;
		}
		return conn_identified(c, f, kind);
	}
	if (c->pub) {
		if (kind == NSQ_K_OK) {
			c->pub = 0;
			/* a server that works is retried fast after a drop */
			c->proven = 1;
			arm_idle(c);
			message_done(t, 1, NULL);
			return 0;
		}
		if (kind == NSQ_K_ERROR)
			return conn_pub_error(c, f);
	} else if (kind == NSQ_K_ERROR) {
		nsq_error_parse(f->data, f->len, &e);
		if (!e.fatal) {
			log_warnx("nsq: %s: %s", c->server, e.text);
			return 0;
		}
		snprintf(why, sizeof(why), "nsqd: %s", e.text);
		conn_down(c, why);
		return -1;
	}
	/*
	 * An OK with no (M)PUB out, a message frame (we never SUB), another
	 * response: the stream is not what we think it is.
	 */
	snprintf(why, sizeof(why), "unexpected %s frame from nsqd",
	    kind == NSQ_K_MESSAGE ? "message" :
	    kind == NSQ_K_CLOSE_WAIT ? "CLOSE_WAIT" : "response");
	conn_down(c, why);
	return -1;
}

static void
rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct nsq_conn		*c = w->data;
	struct nsq_frame	 f;
	char			 chunk[READ_CHUNK], why[192];
	ssize_t			 n;
	int			 rc;

	(void)revents;
	for (;;) {
		n = read(c->fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(why, sizeof(why), "read: %s%s%s%s",
			    strerror(errno), c->pub ? " (before the " : "",
			    c->pub ? c->t->cmd : "", c->pub ?
			    " was answered)" : "");
			conn_down(c, why);
			return;
		}
		if (n == 0) {
			conn_down(c, c->pub ? (c->t->nmsgs > 1 ?
			    "nsqd closed the connection before answering the "
			    "MPUB" : "nsqd closed the connection before "
			    "answering the PUB") : c->state ==
			    CONN_IDENTIFYING ? "nsqd closed the connection "
			    "before answering IDENTIFY" :
			    "nsqd closed the connection");
			return;
		}
		c->last_rx = ev_now(loop);
		if (nsq_reader_push(&c->rd, chunk, (size_t)n) == -1) {
			snprintf(why, sizeof(why), "reading frames: %s",
			    nsq_reader_error(&c->rd) != NULL ?
			    nsq_reader_error(&c->rd) : "out of memory");
			conn_down(c, why);
			return;
		}
		while ((rc = nsq_reader_next(&c->rd, &f)) == 1)
			if (conn_frame(c, &f) == -1)
				return;
		if (rc == -1) {
			snprintf(why, sizeof(why), "bad frame: %s",
			    nsq_reader_error(&c->rd));
			conn_down(c, why);
			return;
		}
		/* a short read means the socket is drained */
		if ((size_t)n < sizeof(chunk))
			return;
	}
}

static void
wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct nsq_conn	*c = w->data;
	socklen_t	 len;
	int		 soerr;
	char		 why[192];

	(void)loop;
	(void)revents;
	if (c->state != CONN_CONNECTING) {
		(void)conn_flush(c);
		return;
	}
	soerr = 0;
	len = sizeof(soerr);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(soerr));
		conn_next_address(c, why);
		return;
	}
	conn_connected(c);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct nsq_conn	*c = w->data;
	double		 idle;
	char		 why[128];

	(void)revents;
	switch (c->state) {
	case CONN_DOWN:
		conn_connect(c);
		break;
	case CONN_RESOLVING:
		/* the resolver keeps its own deadline */
		break;
	case CONN_CONNECTING:
		snprintf(why, sizeof(why), "connect: no answer in %.0f s",
		    CONNECT_TIMEOUT);
		conn_next_address(c, why);
		break;
	case CONN_IDENTIFYING:
		snprintf(why, sizeof(why), "no answer to IDENTIFY in %.0f s",
		    RESPONSE_TIMEOUT);
		conn_down(c, why);
		break;
	case CONN_READY:
		if (c->pub) {
			/* stalled: the stream cannot be trusted any more */
			snprintf(why, sizeof(why), "no answer to %s in "
			    "%.0f s", c->t->cmd, RESPONSE_TIMEOUT);
			conn_down(c, why);
			break;
		}
		idle = ev_now(loop) - c->last_rx;
		if (idle >= idle_dead(c)) {
			snprintf(why, sizeof(why), "nothing from nsqd for "
			    "%.0f s", idle);
			conn_down(c, why);
			break;
		}
		arm_idle(c);
		break;
	}
}

/* Try the request on t->conns[t->cur]. */
static void
attempt_start(struct nsq_tcp *t)
{
	struct nsq_conn	*c = &t->conns[t->cur];
	char		 why[sizeof(c->err) + 32];

	switch (c->state) {
	case CONN_READY:
		(void)conn_pub(c);
		break;
	case CONN_RESOLVING:
	case CONN_CONNECTING:
	case CONN_IDENTIFYING:
		/* conn_identified() sends it, conn_down() moves it on */
		break;
	case CONN_DOWN:
		if (!ev_is_active(&c->timer)) {
			/* never so, but no reconnect planned: connect now */
			c->err[0] = '\0';
			conn_connect(c);
			break;
		}
		/* backing off: the next server, rather than waiting */
		snprintf(why, sizeof(why), "down (%s)", c->err[0] != '\0' ?
		    c->err : "not connected yet");
		attempt_failed(t, why);
		break;
	}
}

/* The current server failed the request: the next one, or give up. */
static void
attempt_failed(struct nsq_tcp *t, const char *why)
{
	reason_add(t, t->conns[t->cur].server, why);
	if (++t->tried < t->nconns) {
		t->cur = (t->cur + 1) % t->nconns;
		log_debug("nsq: failing over to %s", t->conns[t->cur].server);
		attempt_start(t);
		return;
	}
	message_done(t, 0, reasons_text(t));
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
		log_warnx("nsq: publish while a request is in flight");
		return;
	}
	t->busy = 1;
	if (n > t->capmsgs) {
		if ((v = reallocarray(t->msgs, n, sizeof(*v))) == NULL) {
			message_done(t, 0, "out of memory for a request");
			return;
		}
		t->msgs = v;
		t->capmsgs = n;
	}
	t->longest = 0;
	for (i = 0; i < n; i++) {
		if (m[i].len == 0) {
			/* nsqd refuses empty messages and hangs up */
			message_done(t, 0, "empty message");
			return;
		}
		if (m[i].len > t->limits.max_msg_size) {
			snprintf(why, sizeof(why), "message of %zu bytes is "
			    "over nsqd's max-msg-size (%zu bytes): lower "
			    "[output] messagebytes", m[i].len,
			    t->limits.max_msg_size);
			/* no nsqd with these limits takes it, now or later */
			message_rejected(t, why);
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
		snprintf(why, sizeof(why), "MPUB of %llu bytes is over nsqd's "
		    "max-body-size (%zu bytes)",
		    (unsigned long long)t->mpubsize, t->limits.max_body_size);
		/* the sender sends its messages one by one */
		message_rejected(t, why);
		return;
	}
	if (!nsq_topic_valid(topic, &bad)) {
		snprintf(why, sizeof(why), "topic \"%.80s\" is not a valid "
		    "NSQ topic: %s", topic, bad);
		message_done(t, 0, why);
		return;
	}
	strlcpy(t->topic, topic, sizeof(t->topic));
	buf_reset(&t->reasons);
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
	struct nsq_conn	*c;
	size_t		 i;

	if (t == NULL)
		return;
	/* a request in flight is abandoned: the sender keeps it */
	request_clear(t);
	for (i = 0; i < t->nconns; i++) {
		c = &t->conns[i];
		conn_reset(c);
		resolver_close(&c->rsv);
		buf_free(&c->out);
		nsq_reader_free(&c->rd);
		free(c->server);
		free(c->host);
		free(c->port);
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
		log_warn("nsq: gethostname");
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
		c->t = t;
		c->idx = i;
		c->fd = -1;
		c->state = CONN_DOWN;
		c->limits = t->limits;
		buf_init(&c->out);
		nsq_reader_init(&c->rd, 0);
		ev_io_init(&c->rio, rio_cb, -1, EV_READ);
		c->rio.data = c;
		ev_io_init(&c->wio, wio_cb, -1, EV_WRITE);
		c->wio.data = c;
		ev_timer_init(&c->timer, timer_cb, 0., 0.);
		c->timer.data = c;
		resolver_init(&c->rsv, t->loop, NULL, conn_resolved, c);
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
		conn_connect(&t->conns[i]);
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
