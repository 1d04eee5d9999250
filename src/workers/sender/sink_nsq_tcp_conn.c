/*
 * One connection of the nsq TCP output to one nsqd (sink_nsq_tcp.c has
 * the sink and its requests): resolving, connecting, IDENTIFY, the
 * heartbeats, reading frames, the timeouts and reconnecting.
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
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <ev.h>

#include "log.h"
#include "sender.h"
#include "sink_nsq_tcp_int.h"

#define RESOLVE_TIMEOUT		5.0	/* seconds for a name lookup */
#define CONNECT_TIMEOUT		2.0	/* seconds, per address */
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

static void	 conn_next_address(struct nsq_conn *, const char *);
static void	 conn_try(struct nsq_conn *);
static int	 conn_read(struct nsq_conn *);

void
sink_nsq_tcp_timer_arm(struct nsq_conn *c, double after)
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
void
sink_nsq_tcp_arm_idle(struct nsq_conn *c)
{
	sink_nsq_tcp_timer_arm(c,
	    c->last_rx + idle_dead(c) - ev_now(c->t->loop));
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
	sender_resolve_cancel(&c->rsv);
	if (c->fd != -1 && close(c->fd) == -1)
		log_warn("%s: nsq: close %s", __func__, c->server);
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
	c->nops = 0;
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
 * it is the caller's business (sink_nsq_tcp_conn_down() moves the request on).
 */
void
sink_nsq_tcp_conn_drop(struct nsq_conn *c, const char *reason)
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
		log_warnx("%s: nsq: %s: %s; reconnecting in %.1f s", __func__,
		    c->server, reason, delay);
	else
		log_debug("nsq: %s: %s; reconnecting in %.1f s", c->server,
		    reason, delay);
	c->quiet = 1;
	c->lost = 1;
	strlcpy(c->err, reason, sizeof(c->err));

	conn_reset(c);
	c->state = CONN_DOWN;
	sink_nsq_tcp_timer_arm(c, delay);
}

/*
 * The connection failed: drop it and, if the request was on it, let the
 * request move on.  That comes last, as it may try the other servers
 * and report to the sender.
 */
void
sink_nsq_tcp_conn_down(struct nsq_conn *c, const char *why)
{
	struct nsq_tcp	*t = c->t;
	char		 reason[sizeof(c->err)];
	int		 had_msg;

	/* `why` may point into the reader or c->err: copy it first */
	strlcpy(reason, why, sizeof(reason));
	had_msg = t->busy && t->cur == c->idx;
	sink_nsq_tcp_conn_drop(c, reason);
	if (had_msg) {
		sink_nsq_tcp_avoid(c);
		sink_nsq_tcp_attempt_failed(t, reason);
	}
}

/* Resolve the name again; conn_resolved() goes on from there. */
void
sink_nsq_tcp_conn_connect(struct nsq_conn *c)
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
	if (sender_resolve_start(&c->rsv, c->host, c->port, &hints,
	    RESOLVE_TIMEOUT, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "resolving %s: %s", c->host, err);
		sink_nsq_tcp_conn_down(c, why);
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

	if (c->state != CONN_RESOLVING) {
		/* cannot be: a reset cancels the lookup; do not leak */
		if (res->res != NULL)
			freeaddrinfo(res->res);
		return;
	}
	if (res->timedout) {
		snprintf(why, sizeof(why), "resolving %s: no answer in "
		    "%.0f s", c->host, RESOLVE_TIMEOUT);
		sink_nsq_tcp_conn_down(c, why);
		return;
	}
	if (res->rc != 0) {
		snprintf(why, sizeof(why), "resolving %s: %s", c->host,
		    res->rc == EAI_SYSTEM ? strerror(res->sys_errno) :
		    gai_strerror(res->rc));
		sink_nsq_tcp_conn_down(c, why);
		return;
	}
	c->state = CONN_CONNECTING;
	c->res = res->res;
	c->ai = c->res;
	c->err[0] = '\0';
	conn_try(c);
}

/* The TCP connection is up: say who we are, if it is to nsqd. */
static void
conn_connected(struct nsq_conn *c)
{
	struct nsq_tcp		*t = c->t;
	struct nsq_identify	 id;
	char			 why[256];

	if (sender_peer_check_fd(&t->s->peer, c->fd, why, sizeof(why)) ==
	    -1) {
		conn_next_address(c, why);
		return;
	}
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
	c->nops = 0;
	if (nsq_enc_magic(&c->out) == -1 ||
	    nsq_enc_identify(&c->out, &id) == -1) {
		sink_nsq_tcp_conn_down(c, "out of memory for IDENTIFY");
		return;
	}
	ev_io_start(t->loop, &c->rio);
	sink_nsq_tcp_timer_arm(c, RESPONSE_TIMEOUT(t));
	(void)sink_nsq_tcp_conn_flush(c);
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
			log_warn("%s: nsq: %s: TCP_NODELAY", __func__,
			    c->server);
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
			sink_nsq_tcp_timer_arm(c, CONNECT_TIMEOUT);
			return;
		}
		snprintf(c->err, sizeof(c->err), "connect: %s",
		    strerror(errno));
		if (close(fd) == -1)
			log_warn("%s: nsq: close %s", __func__, c->server);
		c->fd = -1;
	}
	sink_nsq_tcp_conn_down(c,
	    c->err[0] != '\0' ? c->err : "no address to connect to");
}

/* This address did not work: close it and go on with the next one. */
static void
conn_next_address(struct nsq_conn *c, const char *why)
{
	ev_io_stop(c->t->loop, &c->wio);
	ev_timer_stop(c->t->loop, &c->timer);
	strlcpy(c->err, why, sizeof(c->err));
	if (c->fd != -1 && close(c->fd) == -1)
		log_warn("%s: nsq: close %s", __func__, c->server);
	c->fd = -1;
	if (c->ai != NULL)
		c->ai = c->ai->ai_next;
	conn_try(c);
}

/*
 * Write what is pending.  0, or -1 when the connection failed (and was
 * taken down: c's stream state is gone).
 */
int
sink_nsq_tcp_conn_flush(struct nsq_conn *c)
{
	struct ev_loop	*loop = c->t->loop;
	ssize_t		 n;
	char		 why[128];
	int		 rc;

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
			/*
			 * nsqd refuses an (M)PUB from its size field and
			 * hangs up at once, so our write meets a reset: its
			 * answer may be waiting to be read all the same.
			 */
			if (c->pub && !c->draining) {
				c->draining = 1;
				rc = conn_read(c);
				c->draining = 0;
				if (rc == -1)
					return -1;
			}
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	ev_io_stop(loop, &c->wio);
	buf_reset(&c->out);
	c->outoff = 0;
	c->nops = 0;
	return 0;
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
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		if ((bad = nsq_identify_check(&r)) != NULL) {
			sink_nsq_tcp_conn_down(c, bad);
			return -1;
		}
		nsq_limits_apply(&c->limits, &r);
		/*
		 * A server that says it takes less: the only one, cut for it
		 * from now on; one of several, what is over its limits goes
		 * to the others (sink_nsq_tcp_conn_pub()), as what one
		 * server says does not hold for the others.
		 */
		if ((c->limits.max_msg_size < t->limits.max_msg_size ||
		    c->limits.max_body_size < t->limits.max_body_size) &&
		    t->nconns == 1)
			sender_sink_limits(t->s, c->server,
			    c->limits.max_msg_size, c->limits.max_body_size);
		else if (c->limits.max_msg_size < t->limits.max_msg_size ||
		    c->limits.max_body_size < t->limits.max_body_size)
			log_info("nsq: %s: takes messages of %zu bytes and "
			    "requests of %zu at most, it says: larger ones go "
			    "to the other servers", c->server,
			    c->limits.max_msg_size, c->limits.max_body_size);
	} else if (kind != NSQ_K_OK) {
		/* OK: an nsqd without feature negotiation, nothing to learn */
		sink_nsq_tcp_conn_down(c, "unexpected answer to IDENTIFY");
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
	sink_nsq_tcp_arm_idle(c);
	/* a request was waiting for this connection */
	if (t->busy && t->cur == c->idx && !c->pub)
		return sink_nsq_tcp_conn_pub(c);
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
	uint64_t	 n;
	char		 why[sizeof(e.text) + 32];

	if (kind == NSQ_K_HEARTBEAT) {
		if (c->last_hb > 0 && now - c->last_hb > c->hb_gap)
			c->hb_gap = now - c->last_hb;
		c->last_hb = now;
		/*
		 * A server that sends heartbeats and reads nothing would
		 * grow our queue a NOP each: two waiting answer for all the
		 * heartbeats it may count; it closes on the ones it misses.
		 */
		if (c->nops >= 2)
			return 0;
		c->nops++;
		/* appended after any partly written command: in order */
		if (nsq_enc_nop(&c->out) == -1) {
			sink_nsq_tcp_conn_down(c, "out of memory for NOP");
			return -1;
		}
		/* the idle timer sees last_rx when it fires */
		return sink_nsq_tcp_conn_flush(c);
	}
	if (c->state == CONN_IDENTIFYING) {
		if (kind == NSQ_K_ERROR) {
			nsq_error_parse(f->data, f->len, &e);
			snprintf(why, sizeof(why), "IDENTIFY refused: %s",
			    e.text);
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		return conn_identified(c, f, kind);
	}
	if (c->pub) {
		if (kind == NSQ_K_OK) {
			c->pub = 0;
			/* a server that works is retried fast after a drop */
			c->proven = 1;
			c->refusing = 0;
			c->avoid = 0;
			c->avoid_until = 0;
			sink_nsq_tcp_arm_idle(c);
			sink_nsq_tcp_message_done(t, 1, NULL);
			return 0;
		}
		if (kind == NSQ_K_ERROR)
			return sink_nsq_tcp_conn_pub_error(c, f);
	} else if (kind == NSQ_K_ERROR) {
		nsq_error_parse(f->data, f->len, &e);
		if (!e.fatal) {
			/* the server sends as many as it likes: a line per
			 * 10 s, with how many */
			if (warn_limit_due(&c->nonfatal, now, &n))
				log_warnx("%s: nsq: %s: %s (%llu error%s nsqd "
				    "did not hang up after, this one included, "
				    "since the last such line)", __func__,
				    c->server, e.text, (unsigned long long)n,
				    n == 1 ? "" : "s");
			return 0;
		}
		snprintf(why, sizeof(why), "nsqd: %s", e.text);
		sink_nsq_tcp_conn_down(c, why);
		return -1;
	}
	/*
	 * An OK with no (M)PUB out, a message frame (we never SUB), another
	 * response: the stream is not what we think it is.
	 */
	snprintf(why, sizeof(why), "unexpected %s frame from nsqd",
	    kind == NSQ_K_MESSAGE ? "message" :
	    kind == NSQ_K_CLOSE_WAIT ? "CLOSE_WAIT" : "response");
	sink_nsq_tcp_conn_down(c, why);
	return -1;
}

/*
 * Read and act on what nsqd sent, until the socket is drained (0) or the
 * connection went down (-1).
 */
static int
conn_read(struct nsq_conn *c)
{
	struct ev_loop		*loop = c->t->loop;
	struct nsq_frame	 f;
	char			 chunk[READ_CHUNK], why[192];
	ssize_t			 n;
	int			 rc;

	for (;;) {
		n = read(c->fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			snprintf(why, sizeof(why), "read: %s%s%s%s",
			    strerror(errno), c->pub ? " (before the " : "",
			    c->pub ? c->t->cmd : "", c->pub ?
			    " was answered)" : "");
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		if (n == 0) {
			sink_nsq_tcp_conn_down(c, c->pub ? (c->t->nmsgs > 1 ?
			    "nsqd closed the connection before answering the "
			    "MPUB" : "nsqd closed the connection before "
			    "answering the PUB") : c->state ==
			    CONN_IDENTIFYING ? "nsqd closed the connection "
			    "before answering IDENTIFY" :
			    "nsqd closed the connection");
			return -1;
		}
		c->last_rx = ev_now(loop);
		if (nsq_reader_push(&c->rd, chunk, (size_t)n) == -1) {
			snprintf(why, sizeof(why), "reading frames: %s",
			    nsq_reader_error(&c->rd) != NULL ?
			    nsq_reader_error(&c->rd) : "out of memory");
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		while ((rc = nsq_reader_next(&c->rd, &f)) == 1)
			if (conn_frame(c, &f) == -1)
				return -1;
		if (rc == -1) {
			snprintf(why, sizeof(why), "bad frame: %s",
			    nsq_reader_error(&c->rd));
			sink_nsq_tcp_conn_down(c, why);
			return -1;
		}
		/* a short read means the socket is drained */
		if ((size_t)n < sizeof(chunk))
			return 0;
	}
}

static void
rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)conn_read(w->data);
}

static void
wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct nsq_conn	*c = w->data;
	socklen_t	 len;
	int		 soerr;
	char		 why[192];

	if (c->state != CONN_CONNECTING) {
		(void)sink_nsq_tcp_conn_flush(c);
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

	switch (c->state) {
	case CONN_DOWN:
		sink_nsq_tcp_conn_connect(c);
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
		    RESPONSE_TIMEOUT(c->t));
		sink_nsq_tcp_conn_down(c, why);
		break;
	case CONN_READY:
		if (c->pub) {
			/* stalled: the stream cannot be trusted any more */
			snprintf(why, sizeof(why), "no answer to %s in "
			    "%.0f s", c->t->cmd, c->pub_wait);
			sink_nsq_tcp_conn_down(c, why);
			break;
		}
		idle = ev_now(loop) - c->last_rx;
		if (idle >= idle_dead(c)) {
			snprintf(why, sizeof(why), "nothing from nsqd for "
			    "%.0f s", idle);
			sink_nsq_tcp_conn_down(c, why);
			break;
		}
		sink_nsq_tcp_arm_idle(c);
		break;
	}
}

/* A server's connection, DOWN; here so its callbacks stay in this file. */
void
sink_nsq_tcp_conn_init(struct nsq_conn *c, struct nsq_tcp *t, size_t idx)
{
	c->t = t;
	c->idx = idx;
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
	sender_resolve_init(&c->rsv, t->loop, NULL, conn_resolved, c);
}

/* Everything of a connection, its lookup and its server's name. */
void
sink_nsq_tcp_conn_free(struct nsq_conn *c)
{
	conn_reset(c);
	sender_resolve_close(&c->rsv);
	buf_free(&c->out);
	nsq_reader_free(&c->rd);
	free(c->server);
	free(c->host);
	free(c->port);
}
