/*
 * The front's HTTP server and its listeners (see front_http.c): the
 * descriptors the master bound, accepting on them in batches, pausing
 * when out of descriptors, and the server's public interface (new,
 * listen, stop listening, free).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include "front_http.h"
#include "front_http_int.h"
#include "log.h"

#define HTTP_ACCEPT_BATCH	32
/* After EMFILE and friends, like nginx: stop accepting this long. */
#define HTTP_ACCEPT_PAUSE	0.5

/*
 * Accepting
 */

static void
accept_pause(struct http_server *srv)
{
	struct http_listener	*l;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		ev_io_stop(srv->loop, &l->io);
	srv->accept_paused = 1;
	ev_timer_stop(srv->loop, &srv->accept_timer);
	ev_timer_set(&srv->accept_timer, HTTP_ACCEPT_PAUSE, 0.);
	ev_timer_start(srv->loop, &srv->accept_timer);
}

static void
accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_server	*srv = w->data;
	struct http_listener	*l;

	srv->accept_paused = 0;
	TAILQ_FOREACH(l, &srv->listeners, entry)
		ev_io_start(loop, &l->io);
}

static void
listener_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_listener	*l = w->data;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i;

	for (i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		/* CLOEXEC: the front never execs, but nothing may leak. */
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			/* accept(2): pending network errors, retry. */
			case EPROTO:
			case ENETDOWN:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
				continue;
			default:
				/*
				 * EMFILE, ENFILE, ENOBUFS, ENOMEM and the
				 * unexpected: the socket stays readable, so
				 * retrying now would spin.
				 */
				log_warn("%s: accept4 on %s, pausing %.1fs",
				    __func__, l->label, HTTP_ACCEPT_PAUSE);
				accept_pause(l->srv);
				return;
			}
		}
		front_http_conn_accepted(l, fd, &ss);
	}
}

/*
 * Public interface
 */

struct http_server *
front_http_server_new(struct ev_loop *loop, const struct http_limits *lim,
    const struct http_route *routes, size_t nroutes, void *ctx)
{
	static const struct http_limits	 deflim = HTTP_DEFAULT_LIMITS;
	struct http_server		*srv;
	size_t				 i;

	if (loop == NULL || (nroutes > 0 && routes == NULL)) {
		log_warnx("%s: no loop or no routes", __func__);
		return NULL;
	}
	if (lim == NULL)
		lim = &deflim;
	if (lim->max_header == 0 || lim->max_conns_tcp == 0 ||
	    lim->max_conns_unix == 0 || lim->max_conns_local == 0) {
		log_warnx("%s: max_header and max_conns_* must be positive",
		    __func__);
		return NULL;
	}
	for (i = 0; i < nroutes; i++)
		if (routes[i].path == NULL || routes[i].handler == NULL) {
			log_warnx("%s: route %zu lacks a path or handler",
			    __func__, i);
			return NULL;
		}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		log_warn("%s", __func__);
		return NULL;
	}
	srv->loop = loop;
	srv->lim = *lim;
	srv->ctx = ctx;
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->reqs);
	ev_init(&srv->accept_timer, accept_resume_cb);
	srv->accept_timer.data = srv;
	/* Own copies: the caller's table may be temporary. */
	if (nroutes > 0 &&
	    (srv->routes = calloc(nroutes, sizeof(*srv->routes))) == NULL) {
		log_warn("%s", __func__);
		free(srv);
		return NULL;
	}
	for (i = 0; i < nroutes; i++) {
		srv->routes[i] = routes[i];
		if ((srv->routes[i].path = strdup(routes[i].path)) == NULL) {
			log_warn("%s", __func__);
			srv->nroutes = i;
			front_http_server_free(srv);
			return NULL;
		}
	}
	srv->nroutes = nroutes;
	return srv;
}

int
front_http_server_listen(struct http_server *srv, int fd, const char *label)
{
	struct http_listener	*l;
	struct sockaddr_storage	 ss;
	enum http_via		 via;
	int			 flags, acc = 0;
	socklen_t		 len = sizeof(acc), sslen = sizeof(ss);

	if (label == NULL)
		label = "http";
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1) {
		log_warn("%s: %s: getsockopt", __func__, label);
		goto fail;
	}
	if (!acc) {
		log_warnx("%s: %s: fd %d is not listening", __func__, label,
		    fd);
		goto fail;
	}
	/* Handlers decide what to trust by the kind of socket. */
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		log_warn("%s: %s: getsockname", __func__, label);
		goto fail;
	}
	switch (ss.ss_family) {
	case AF_INET:
	case AF_INET6:
		via = HTTP_VIA_TCP;
		break;
	case AF_UNIX:
		via = HTTP_VIA_UNIX;
		break;
	default:
		via = HTTP_VIA_OTHER;
		break;
	}
	/*
	 * Non-blocking: a client that resets between readiness and
	 * accept4 must not block the whole front.
	 */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("%s: %s: fcntl", __func__, label);
		goto fail;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("%s: %s", __func__, label);
		goto fail;
	}
	l->srv = srv;
	l->fd = fd;
	l->via = via;
	strlcpy(l->label, label, sizeof(l->label));
	ev_io_init(&l->io, listener_cb, fd, EV_READ);
	l->io.data = l;
	TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
	if (!srv->accept_paused)
		ev_io_start(srv->loop, &l->io);
	log_debug("%s: %s on fd %d", __func__, l->label, fd);
	return 0;
 fail:
	/* The descriptor was handed over: it is ours to close either way. */
	if (close(fd) == -1)
		log_warn("%s: %s: close", __func__, label);
	return -1;
}

static void
listeners_close(struct http_server *srv)
{
	struct http_listener	*l;

	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		ev_io_stop(srv->loop, &l->io);
		if (close(l->fd) == -1)
			log_warn("%s: %s: close", __func__, l->label);
		free(l);
	}
	ev_timer_stop(srv->loop, &srv->accept_timer);
	srv->accept_paused = 0;
}

void
front_http_server_stop_listening(struct http_server *srv)
{
	struct http_conn	*c, *tc;

	listeners_close(srv);
	TAILQ_FOREACH_SAFE(c, &srv->conns, entry, tc) {
		/* Whatever is under way ends with Connection: close. */
		c->drain = 1;
		if (c->counted && c->busy == 0 && c->cur == NULL &&
		    c->inflight == NULL && c->inoff == c->inlen &&
		    c->outoff == c->outlen && !c->closing)
			front_http_conn_kill(c);
	}
}

void
front_http_server_free(struct http_server *srv)
{
	struct http_conn	*c;
	struct http_req		*r;
	size_t			 i;

	if (srv == NULL)
		return;
	listeners_close(srv);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		front_http_conn_kill(c);
	/* Requests still with handlers; no front_http_respond may follow. */
	while ((r = TAILQ_FIRST(&srv->reqs)) != NULL)
		front_http_req_destroy(r);
	for (i = 0; i < srv->nroutes; i++)
		free((char *)srv->routes[i].path);
	free(srv->routes);
	free(srv);
}

unsigned
front_http_server_conns(const struct http_server *srv)
{
	return srv->nconns;
}

const uint64_t *
front_http_server_codes(const struct http_server *srv)
{
	return srv->codes;
}
