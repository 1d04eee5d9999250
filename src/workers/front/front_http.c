/*
 * The front's HTTP/1.1 server engine (interface and contract in
 * front_http.h).  The front is chrooted into an empty directory and
 * may not open, socket or connect, so everything here works on
 * descriptors the master already bound; the only calls that reach the
 * kernel are accept4, read, send, shutdown, close, setsockopt,
 * getsockopt, getsockname and fcntl.
 *
 * Shape of a connection:
 *
 *   read -> in[] -> http-parser -> request complete -> handler
 *                                                         |
 *   send <- out[] <---------------- front_http_respond() <------+
 *
 * At most one request per connection is with a handler at a time, so
 * pipelined requests are answered in order: while one is out, the
 * parser is not run and reading stops once HTTP_IN_BUFSZ bytes wait.
 *
 * This file has the requests and the connections, from accept to
 * close: input, parsing, dispatch, the idle, deadline and linger
 * timers.  Which accepted connection is served (the budgets) is in
 * front_http_accept.c, the listeners and the server's public interface
 * in front_http_server.c, the queueing of responses and front_http_respond() in
 * front_http_respond.c, the http-parser callbacks in front_http_parse.c,
 * what a handler may ask of a request in front_http_req.c and the text
 * helpers in front_http_text.c; the structures they share, and who owns
 * a request, are in front_http_int.h.
 *
 * A connection may die (write error, reset) while we are deep inside
 * its own processing, e.g. in a handler that answers at once.  So every
 * entry point brackets its work with front_http_conn_enter() and
 * front_http_conn_leave(), and
 * front_http_conn_kill() only releases the memory once nobody is inside.
 *
 * Method handling, in this order: unknown path -> 404 whatever the
 * method (so a probe learns nothing about methods of paths that do not
 * exist); known path, method in the route's mask -> handler; HEAD on a
 * route that allows GET -> the GET handler (it sees HTTP_M_GET) and the
 * body is dropped; anything else, including methods the header has no
 * bit for (PATCH, OPTIONS, ...) -> 405 with Allow.  Tokens http-parser
 * does not know as methods are malformed requests -> 400.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>
#include <http_parser.h>

#include "front_http.h"
#include "front_http_int.h"
#include "log.h"
#include "sockdiag.h"

/* Read size, and the most we read ahead while a handler is busy. */
#define HTTP_IN_BUFSZ		16384
/* Stop parsing further requests while this much output is unsent. */
#define HTTP_OUT_HIGHWAT	(64 * 1024)
/* Give a larger output buffer back once it drained. */
#define HTTP_OUT_KEEP		(64 * 1024)
/* Upper bound on draining a peer after our last response. */
#define HTTP_LINGER		2.0

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_timer_cb(struct ev_loop *, ev_timer *, int);
static void	conn_deadline_cb(struct ev_loop *, ev_timer *, int);
static void	req_timeout_cb(struct ev_loop *, ev_timer *, int);

/*
 * Requests
 */

struct http_req *
front_http_req_new(struct http_server *srv)
{
	struct http_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->srv = srv;
	r->pub.priv = r;
	r->pub.query = "";
	r->pub.body = "";
	r->pub.content_type = "";
	r->pub.authorization = "";
	ev_init(&r->timer, req_timeout_cb);
	r->timer.data = r;
	return r;
}

void
front_http_req_destroy(struct http_req *r)
{
	ev_timer_stop(r->srv->loop, &r->timer);
	if (r->listed)
		TAILQ_REMOVE(&r->srv->reqs, r, entry);
	buf_free(&r->url);
	buf_free(&r->ctype);
	buf_free(&r->expect);
	buf_free(&r->auth);
	buf_free(&r->origin);
	buf_free(&r->sfs);
	buf_free(&r->host);
	buf_free(&r->te);
	buf_free(&r->xhdr);
	buf_free(&r->body);
	free(r->path);
	free(r->query);
	free(r);
}

/*
 * Split the request target into a percent-decoded path and the raw
 * query.  Returns 0, or -1 with *why set.
 */
static int
req_split_url(struct http_req *r, const char **why)
{
	struct http_parser_url	 u;
	const char		*s, *end;
	size_t			 plen, n;
	int			 ch;

	http_parser_url_init(&u);
	if (r->url.len == 0 || http_parser_parse_url(r->url.p, r->url.len,
	    r->hmethod == HTTP_CONNECT, &u) != 0) {
		*why = "invalid request target";
		return -1;
	}
	if (u.field_set & (1 << UF_PATH)) {
		s = r->url.p + u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	} else {
		s = "/";
		plen = 1;
	}
	if ((r->path = malloc(plen + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	end = s + plen;
	n = 0;
	while (s < end) {
		if ((ch = front_http_pct_next(&s, end, 0)) == -1) {
			*why = "invalid percent-encoding in path";
			free(r->path);
			r->path = NULL;
			return -1;
		}
		r->path[n++] = (char)ch;
	}
	r->path[n] = '\0';
	if (u.field_set & (1 << UF_QUERY))
		r->query = strndup(r->url.p + u.field_data[UF_QUERY].off,
		    u.field_data[UF_QUERY].len);
	else
		r->query = strdup("");
	if (r->query == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/*
 * Connections: output
 */

static void
conn_touch(struct http_conn *c)
{
	struct http_server	*srv = c->srv;

	if (c->lingering || c->inflight != NULL ||
	    srv->lim.idle_timeout <= 0)
		return;
	c->timer.repeat = srv->lim.idle_timeout;
	ev_timer_again(srv->loop, &c->timer);
}

void
front_http_conn_flush(struct http_conn *c)
{
	ssize_t	 n;

	while (!c->dead && c->outoff < c->outlen) {
		/* MSG_NOSIGNAL: a vanished peer is an error, not SIGPIPE. */
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("%s: %s: send: %s", __func__, c->name,
			    strerror(errno));
			front_http_conn_kill(c);
			return;
		}
		c->outoff += n;
		conn_touch(c);
	}
}

/*
 * Connections: lifetime
 */

void
front_http_conn_enter(struct http_conn *c)
{
	c->busy++;
}

static void
conn_free(struct http_conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

void
front_http_conn_leave(struct http_conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

/*
 * Close now.  The request a handler holds survives (its conn pointer
 * is cleared, front_http_respond() will free it); the memory of the
 * connection goes once no caller is inside it.
 */
void
front_http_conn_kill(struct http_conn *c)
{
	struct http_server	*srv = c->srv;
	struct http_req		*r;

	if (c->dead)
		return;
	c->dead = 1;
	ev_io_stop(srv->loop, &c->rio);
	ev_io_stop(srv->loop, &c->wio);
	ev_timer_stop(srv->loop, &c->timer);
	ev_timer_stop(srv->loop, &c->deadline);
	if (close(c->fd) == -1)
		log_debug("%s: %s: close: %s", __func__, c->name,
		    strerror(errno));
	c->fd = -1;
	TAILQ_REMOVE(&srv->conns, c, entry);
	if (c->counted) {
		srv->nconns--;
		srv->nbudget[c->budget]--;
	} else
		srv->nrejects--;
	if (c->cur != NULL) {
		front_http_req_destroy(c->cur);
		c->cur = NULL;
	}
	if ((r = c->inflight) != NULL) {
		ev_timer_stop(srv->loop, &r->timer);
		r->conn = NULL;
		c->inflight = NULL;
	}
	log_debug("%s: %s: closed", __func__, c->name);
	if (c->busy == 0)
		conn_free(c);
}

/*
 * Our last response is out.  Closing at once would make the kernel
 * answer the client's unread bytes (the rest of a 413 body, pipelined
 * requests) with RST, which can destroy the response before the client
 * reads it; so send FIN and drain for a bounded time, as nginx's
 * lingering close does.
 */
static void
conn_linger(struct http_conn *c)
{
	struct http_server	*srv = c->srv;
	double			 t;

	c->lingering = 1;
	c->inoff = c->inlen = 0;
	if (shutdown(c->fd, SHUT_WR) == -1) {
		log_debug("%s: %s: shutdown: %s", __func__, c->name,
		    strerror(errno));
		front_http_conn_kill(c);
		return;
	}
	t = HTTP_LINGER;
	if (srv->lim.idle_timeout > 0 && srv->lim.idle_timeout < t)
		t = srv->lim.idle_timeout;
	ev_timer_stop(srv->loop, &c->timer);
	ev_timer_set(&c->timer, t, 0.);
	ev_timer_start(srv->loop, &c->timer);
}

static void
io_want(struct ev_loop *loop, ev_io *w, int want)
{
	if (want && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!want && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* After any event: close, linger, or set watchers and the idle timer. */
void
front_http_conn_settle(struct http_conn *c)
{
	struct http_server	*srv = c->srv;
	int			 want_read;

	if (c->dead)
		return;
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->outcap > HTTP_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
		if (c->closing) {
			if (c->rd_eof) {
				front_http_conn_kill(c);
				return;
			}
			if (!c->lingering) {
				conn_linger(c);
				if (c->dead)
					return;
			}
		} else if (c->rd_eof && c->inflight == NULL &&
		    c->inoff == c->inlen) {
			/* The peer is done and so are we. */
			front_http_conn_kill(c);
			return;
		}
	}
	/* What is under way ends with our answer, not with the client. */
	if (c->closing || c->inflight != NULL)
		front_http_conn_deadline(c, HTTP_PHASE_NONE, 0);
	want_read = !c->rd_eof && (c->closing || c->inlen < HTTP_IN_BUFSZ);
	io_want(srv->loop, &c->rio, want_read);
	io_want(srv->loop, &c->wio, c->outoff < c->outlen);
	if (c->lingering)
		return;
	if (c->inflight != NULL || srv->lim.idle_timeout <= 0)
		ev_timer_stop(srv->loop, &c->timer);
	else if (!ev_is_active(&c->timer)) {
		c->timer.repeat = srv->lim.idle_timeout;
		ev_timer_again(srv->loop, &c->timer);
	}
}

void
front_http_req_log(struct http_conn *c, struct http_req *r, int status,
    size_t len)
{
	char	 pbuf[HTTP_LOGSTR_MAX];

	log_debug("%s: %s: #%llu %s %s -> %d, %zu bytes, %.1f ms",
	    __func__, c->name, (unsigned long long)r->pub.id,
	    http_method_str((enum http_method)r->hmethod),
	    front_http_logstr(r->path != NULL ? r->path : buf_str(&r->url),
	    pbuf,
	    sizeof(pbuf)), status, len,
	    (ev_now(c->srv->loop) - r->start) * 1000.0);
}

/* Server-made answer to a complete request that no handler gets. */
static void
conn_reply(struct http_conn *c, struct http_req *r, int status,
    const char *msg, int keepalive, const char *extra)
{
	front_http_req_log(c, r, status, 0);
	front_http_conn_send_error(c, status, msg, r->head, keepalive, extra);
	front_http_req_destroy(r);
}

static void
conn_dispatch(struct http_conn *c, struct http_req *r)
{
	struct http_server	*srv = c->srv;
	const struct http_route	*route = NULL;
	const char		*why;
	char			*msg;
	char			 allow[64];
	size_t			 i;
	unsigned		 m;

	r->pub.id = ++srv->next_id;
	r->head = r->hmethod == HTTP_HEAD;
	if (req_split_url(r, &why) == -1) {
		conn_reply(c, r, 400, why, 0, NULL);
		return;
	}
	for (i = 0; i < srv->nroutes; i++)
		if (strcmp(srv->routes[i].path, r->path) == 0) {
			route = &srv->routes[i];
			break;
		}
	if (route == NULL) {
		if (asprintf(&msg, "no such endpoint: %s", r->path) == -1)
			msg = NULL;
		conn_reply(c, r, 404, msg != NULL ? msg : "no such endpoint",
		    r->keepalive, NULL);
		free(msg);
		return;
	}
	m = front_http_method_bit(r->hmethod);
	if (m != 0 && (route->methods & m))
		r->pub.method = m;
	else if (m == HTTP_M_HEAD && (route->methods & HTTP_M_GET))
		r->pub.method = HTTP_M_GET;
	else {
		front_http_allow_header(route->methods, allow, sizeof(allow));
		if (asprintf(&msg, "method %s not allowed on %s",
		    http_method_str((enum http_method)r->hmethod),
		    r->path) == -1)
			msg = NULL;
		conn_reply(c, r, 405, msg != NULL ? msg : "method not allowed",
		    r->keepalive, allow);
		free(msg);
		return;
	}
	r->pub.path = r->path;
	r->pub.query = r->query;
	r->pub.body = buf_str(&r->body);
	r->pub.body_len = r->body.len;
	r->pub.content_type = buf_str(&r->ctype);
	r->pub.authorization = buf_str(&r->auth);
	r->pub.origin = r->seen_origin ? buf_str(&r->origin) : NULL;
	r->pub.sec_fetch_site = r->seen_sfs == 0 ? NULL :
	    r->seen_sfs == 1 ? buf_str(&r->sfs) : "";
	r->pub.host = r->seen_host ? buf_str(&r->host) : NULL;
	r->pub.via = c->via;
	r->pub.peer = c->peer;
	TAILQ_INSERT_TAIL(&srv->reqs, r, entry);
	r->listed = 1;
	r->conn = c;
	c->inflight = r;
	/* The handler timeout covers the connection until the answer. */
	ev_timer_stop(srv->loop, &c->timer);
	r->timeout = srv->lim.handler_timeout;
	if (r->timeout > 0) {
		ev_timer_set(&r->timer, r->timeout, 0.);
		ev_timer_start(srv->loop, &r->timer);
	}
	route->handler(&r->pub, srv->ctx);
	/* `r' may be gone now. */
}

static void
conn_parse_error(struct http_conn *c, enum http_errno e)
{
	struct http_server	*srv = c->srv;
	char			*msg = NULL;
	const char		*m;
	int			 status = c->err_status;

	if (status == 0 && e == HPE_HEADER_OVERFLOW)
		status = 431;
	switch (status) {
	case 413:
		if (asprintf(&msg, "request body larger than %zu bytes",
		    srv->lim.max_body) == -1)
			msg = NULL;
		break;
	case 431:
		if (asprintf(&msg, "request header larger than %zu bytes",
		    srv->lim.max_header) == -1)
			msg = NULL;
		break;
	case 400:
	case 501:
		if (c->err_why != NULL && (msg = strdup(c->err_why)) == NULL)
			log_warn("%s", __func__);
		break;
	case 0:
		status = 400;
		if (asprintf(&msg, "malformed request: %s: %s",
		    http_errno_name(e), http_errno_description(e)) == -1)
			msg = NULL;
		break;
	default:
		break;
	}
	m = msg != NULL ? msg : front_http_reason(status);
	log_debug("%s: %s: %d: %s", __func__, c->name, status, m);
	if (c->cur != NULL) {
		front_http_req_destroy(c->cur);
		c->cur = NULL;
	}
	front_http_conn_send_error(c, status, m, 0, 0, NULL);
	free(msg);
}

/*
 * Run the parser over buffered input and hand out complete requests,
 * one at a time.  The parser pauses itself at the end of each message
 * (on_message_complete), so pipelined input stays in c->in until the
 * request before it was answered.
 */
void
front_http_conn_process(struct http_conn *c)
{
	struct http_req	*r;
	enum http_errno	 e;
	size_t		 n;

	front_http_conn_enter(c);
	while (!c->dead && !c->closing && c->inflight == NULL &&
	    c->outlen - c->outoff < HTTP_OUT_HIGHWAT && c->inoff < c->inlen) {
		/* A later request's head: its clock starts with its bytes. */
		if (c->phase == HTTP_PHASE_NONE)
			front_http_conn_deadline(c, HTTP_PHASE_HEAD,
			    c->srv->lim.head_timeout);
		n = http_parser_execute(&c->parser,
		    &front_http_parser_callbacks,
		    c->in + c->inoff, c->inlen - c->inoff);
		c->inoff += n;
		e = HTTP_PARSER_ERRNO(&c->parser);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			r = c->cur;
			c->cur = NULL;
			if (r != NULL)
				conn_dispatch(c, r);
			continue;
		}
		if (e != HPE_OK) {
			conn_parse_error(c, e);
			break;
		}
		if (c->inoff < c->inlen) {
			/* Only an upgrade stops early; we speak no other
			 * protocol. */
			c->closing = 1;
			break;
		}
	}
	if (!c->dead) {
		if (c->inoff == c->inlen)
			c->inoff = c->inlen = 0;
		else if (c->inoff > 0) {
			memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
			c->inlen -= c->inoff;
			c->inoff = 0;
		}
		front_http_conn_flush(c);
	}
	front_http_conn_leave(c);
}

/*
 * Event callbacks
 */

static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn	*c = w->data;
	char			 scratch[4096];
	ssize_t			 n;

	front_http_conn_enter(c);
	if (c->closing) {
		/* Nothing more will be parsed; drain what the peer sends. */
		n = read(c->fd, scratch, sizeof(scratch));
	} else {
		if (c->inlen >= HTTP_IN_BUFSZ) {
			/* Full while a handler works; settle stops reading. */
			goto out;
		}
		if (c->in == NULL && (c->in = malloc(HTTP_IN_BUFSZ)) == NULL) {
			log_warn("%s: %s", __func__, c->name);
			front_http_conn_kill(c);
			goto out;
		}
		n = read(c->fd, c->in + c->inlen, HTTP_IN_BUFSZ - c->inlen);
	}
	if (n == -1) {
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("%s: %s: read: %s", __func__, c->name,
			    strerror(errno));
			front_http_conn_kill(c);
		}
		goto out;
	}
	if (n == 0)
		c->rd_eof = 1;
	else if (!c->closing) {
		c->inlen += n;
		conn_touch(c);
	}
	front_http_conn_process(c);
 out:
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn	*c = w->data;

	front_http_conn_enter(c);
	front_http_conn_flush(c);
	/* Output below the high-water mark again: go on parsing. */
	front_http_conn_process(c);
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn	*c = w->data;

	front_http_conn_enter(c);
	if (c->lingering) {
		front_http_conn_kill(c);
	} else if (c->inflight != NULL) {
		ev_timer_stop(loop, w);
	} else if (c->outoff < c->outlen) {
		log_debug("%s: %s: peer not reading, closing", __func__,
		    c->name);
		front_http_conn_kill(c);
	} else if (c->cur != NULL || c->inoff < c->inlen) {
		log_debug("%s: %s: request incomplete after %.1fs, 408",
		    __func__, c->name, c->srv->lim.idle_timeout);
		if (c->cur != NULL) {
			front_http_req_destroy(c->cur);
			c->cur = NULL;
		}
		front_http_conn_send_error(c, 408, "request timed out", 0, 0,
		    NULL);
		front_http_conn_flush(c);
	} else {
		log_debug("%s: %s: idle, closing", __func__, c->name);
		front_http_conn_kill(c);
	}
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

static void
req_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_req		*r = w->data;
	struct http_conn	*c = r->conn;
	char			 pbuf[HTTP_LOGSTR_MAX];

	r->timed_out = 1;
	if (c == NULL)
		return;
	log_warnx("%s: %s: #%llu %s %s: no answer within %.1fs, sent 504",
	    __func__, c->name, (unsigned long long)r->pub.id,
	    http_method_str((enum http_method)r->hmethod),
	    front_http_logstr(r->path, pbuf, sizeof(pbuf)), r->timeout);
	front_http_conn_enter(c);
	/* The request stays with the handler until front_http_respond(). */
	c->inflight = NULL;
	r->conn = NULL;
	front_http_conn_send_error(c, 504, "handler timed out", r->head,
	    r->keepalive,
	    NULL);
	if (c->busy == 1)
		front_http_conn_process(c);
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

/*
 * The deadline of a request: whatever the idle timer says, a client
 * that trickles its head or body gets 408 once it passes.
 */
void
front_http_conn_deadline(struct http_conn *c, enum http_phase phase,
    double secs)
{
	struct ev_loop	*loop = c->srv->loop;

	ev_timer_stop(loop, &c->deadline);
	c->phase = phase;
	c->phase_len = secs;
	if (phase == HTTP_PHASE_NONE || secs <= 0)
		return;
	ev_timer_set(&c->deadline, secs, 0.);
	ev_timer_start(loop, &c->deadline);
}

static void
conn_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn	*c = w->data;
	const char		*what;
	char			 msg[96];

	front_http_conn_enter(c);
	what = c->phase == HTTP_PHASE_BODY ? "body" : "head";
	c->phase = HTTP_PHASE_NONE;
	if (c->closing || c->lingering || c->inflight != NULL) {
		/* Our answer is under way; its own timers rule. */
	} else if (c->cur == NULL && c->inoff == c->inlen) {
		/* Nothing asked: nothing to answer. */
		log_debug("%s: %s: no request within %.1fs, closing", __func__,
		    c->name, c->phase_len);
		front_http_conn_kill(c);
	} else {
		log_debug("%s: %s: request %s not complete within %.1fs, 408",
		    __func__, c->name, what, c->phase_len);
		if (c->cur != NULL) {
			front_http_req_destroy(c->cur);
			c->cur = NULL;
		}
		snprintf(msg, sizeof(msg), "request %s not complete within "
		    "%.3g s", what, c->phase_len);
		front_http_conn_send_error(c, 408, msg, 0, 0, NULL);
		front_http_conn_flush(c);
	}
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

/*
 * Accepted connections
 */

static void
conn_name(struct http_conn *c, const char *label,
    const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 a[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			strlcpy(a, "?", sizeof(a));
		snprintf(c->name, sizeof(c->name), "%s %s:%u", label, a,
		    ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) == NULL)
			strlcpy(a, "?", sizeof(a));
		snprintf(c->name, sizeof(c->name), "%s [%s]:%u", label, a,
		    ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(c->name, sizeof(c->name), "%s fd %d", label, c->fd);
		break;
	}
}

struct http_conn *
front_http_conn_new(struct http_listener *l, int fd,
    const struct sockaddr_storage *ss)
{
	struct http_server	*srv = l->srv;
	struct http_conn	*c;
	int			 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->srv = srv;
	c->fd = fd;
	c->via = l->via;
	c->peer = *ss;
	conn_name(c, l->label, ss);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	c->rio.data = c;
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->wio.data = c;
	ev_init(&c->timer, conn_timer_cb);
	c->timer.data = c;
	ev_init(&c->deadline, conn_deadline_cb);
	c->deadline.data = c;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	/*
	 * Pipelined answers go out as separate small sends; without this
	 * Nagle holds the second one until the client's delayed ACK.
	 */
	if ((ss->ss_family == AF_INET || ss->ss_family == AF_INET6) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_debug("%s: %s: TCP_NODELAY: %s", __func__, c->name,
		    strerror(errno));
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	return c;
}

int
front_http_request_local(const struct http_request *req,
    struct sockaddr_storage *ss)
{
	const struct http_req	*r = req->priv;
	socklen_t		 len = sizeof(*ss);

	if (r == NULL || r->conn == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	return getsockname(r->conn->fd, (struct sockaddr *)ss, &len);
}

int
front_http_request_host_uid(const struct http_request *req, uid_t *uid)
{
	const struct http_req	*r = req->priv;

	if (r == NULL || r->conn == NULL || !r->conn->peer_uid_known)
		return -1;
	*uid = r->conn->peer_uid;
	return 0;
}

int
front_http_request_peer_uid(const struct http_request *req, uid_t *uid)
{
	const struct http_req	*r = req->priv;

	/*
	 * Known also of a client on another address of this host (for its
	 * share of the connections), but trust is loopback's alone: such a
	 * client is asked for the token like any other address.
	 */
	if (r == NULL || r->conn == NULL ||
	    !sockdiag_is_loopback(&r->conn->peer))
		return -1;
	return front_http_request_host_uid(req, uid);
}

int *
front_http_request_note(struct http_request *req)
{
	struct http_req	*r = req->priv;

	return r != NULL && r->conn != NULL ? r->conn->note : NULL;
}
