/*
 * What the HTTP outputs (sink_nsq_http.c, sink_influxdb.c) share on top
 * of the plumbing in sender_http.h: the request in flight, one at a
 * time, and its ending.  A request is started with sink_http_send(); a
 * failed server moves it on to the next one (the sink's `start` posts it
 * there again); whatever ends it, the state is cleared before the
 * sender is told, last, since the sender may publish the next request
 * from within that call.
 */
#ifndef AGENT_SINK_HTTP_H
#define AGENT_SINK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sender.h"
#include "sender_http.h"

/* Post the request in flight to the current server, from its start. */
typedef void	(*sink_http_start_fn)(void *arg);

struct sink_http {
	struct sender		*s;
	struct sender_http	 http;
	sink_http_start_fn	 start;
	void			*arg;

	/* the request in flight */
	int			 busy;
	const char		*body;		/* kept until it ends */
	size_t			 len;
	struct buf		 url;
	/* the first refusal of this round, for when no server takes it */
	enum {
		REFUSED_NONE = 0,
		REFUSED_DATA,			/* sink_http_rejected() */
		REFUSED_SIZE			/* sink_http_toobig() */
	}			 refused;
	enum sink_toobig	 tb_kind;
	size_t			 tb_stated;
	char			 tb_server[256];
	char			 refusal[512];
};

/* Never fails; makes sink_http_close() safe whatever happens next. */
void	 sink_http_init(struct sink_http *, struct sender *,
	    const char *tag, sender_http_done_fn, sink_http_start_fn,
	    void *arg);
/* Open for a log line "<tag>: <doing> N servers, first <server>". */
void	 sink_http_opened(const struct sink_http *, const char *doing);
/* An in-flight request is abandoned: the sender keeps its messages. */
void	 sink_http_close(struct sink_http *);

/* The body (kept by the caller until the end) to the servers in turn. */
void	 sink_http_send(struct sink_http *, const char *body, size_t len);
/*
 * POST `body` to <scheme><current server><path>; with `base` the server
 * is a base URL, whose trailing slashes are dropped.  A URL libcurl
 * refuses fails this server over; a failure that is no server's ends
 * the request.
 */
void	 sink_http_post(struct sink_http *, const char *scheme, int base,
	    const struct buf *path, const char *body, size_t len);
/* The current server failed the request: the next one, or give up. */
void	 sink_http_failed(struct sink_http *, const char *why);
/*
 * The current server refused the request for what it holds (a 400) or
 * for its size (a 413): the next one, as another server may take it (a
 * broken one, or a proxy with a body limit, refused each request that
 * started there, and its points were dropped, the others up).  When no
 * server took it, the first refusal for size (the sender cuts smaller),
 * else for what it holds (dropped), ends it; a round of failures only
 * fails it.
 */
void	 sink_http_refused(struct sink_http *, const char *why);
void	 sink_http_refused_size(struct sink_http *, const char *server,
	    enum sink_toobig, size_t stated, const char *why);

/* The request ended: sender_sink_done(), _rejected(), _partial(),
 * _toobig() (see sender.h), after the state is cleared. */
void	 sink_http_done(struct sink_http *, int ok, const char *err);
void	 sink_http_rejected(struct sink_http *, const char *why);
void	 sink_http_partial(struct sink_http *, uint64_t dropped,
	    const char *why);
void	 sink_http_toobig(struct sink_http *, const char *server,
	    enum sink_toobig, size_t stated, const char *why);

#endif
