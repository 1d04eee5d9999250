/*
 * The front's HTTP/1.1 server: libev + http-parser on descriptors that are
 * already listening (the master bound them; the front cannot call socket()
 * or open()).  Keep-alive, limits on header size, body size (413),
 * concurrent connections (503) and idle time, 400 for malformed requests,
 * 404 for unknown paths, 405 (with Allow) for known paths with the wrong
 * method.  Every response has Content-Type and Content-Length.
 *
 * Handlers may answer at once or later (after asking another process):
 * a request stays valid until http_respond() is called on it; if its
 * connection died meanwhile, http_respond() just frees it.  A request not
 * answered within limits.handler_timeout gets 504 from the server.
 */
#ifndef AGENT_FRONT_HTTP_H
#define AGENT_FRONT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

struct http_limits {
	size_t		 max_header;	/* request line + headers, bytes */
	size_t		 max_body;	/* bytes; larger gets 413 */
	unsigned	 max_conns;	/* open connections at once */
	double		 idle_timeout;	/* seconds without a byte */
	double		 handler_timeout;/* seconds to answer; then 504 */
};

#define HTTP_DEFAULT_LIMITS \
	{ 16 * 1024, 1024 * 1024, 256, 30.0, 30.0 }

/* Bits for http_route.methods */
#define HTTP_M_GET	0x01
#define HTTP_M_POST	0x02
#define HTTP_M_PUT	0x04
#define HTTP_M_DELETE	0x08
#define HTTP_M_HEAD	0x10

struct http_request {
	unsigned	 method;	/* one HTTP_M_* bit */
	const char	*path;		/* path without query, percent-decoded */
	const char	*query;		/* raw query string, "" if none */
	const char	*body;		/* NUL-terminated copy of the body */
	size_t		 body_len;
	const char	*content_type;	/* header value or "" */
	uint64_t	 id;		/* unique per server */
	void		*priv;		/* server internals */
};

struct http_server;

typedef void (*http_handler)(struct http_request *, void *ctx);

struct http_route {
	const char	*path;		/* exact match */
	unsigned	 methods;	/* HTTP_M_* allowed */
	http_handler	 handler;
};

struct http_server *http_server_new(struct ev_loop *, const struct http_limits *,
		    const struct http_route *routes, size_t nroutes, void *ctx);
/* Serve connections accepted on listening socket `fd` (owned from now). */
int		 http_server_listen(struct http_server *, int fd,
		    const char *label);
/* Stop accepting; open connections finish their current request. */
void		 http_server_stop_listening(struct http_server *);
void		 http_server_free(struct http_server *);
unsigned	 http_server_conns(const struct http_server *);

void		 http_respond(struct http_request *, int status,
		    const char *content_type, const char *body, size_t len);
/* JSON body; Content-Type: application/json */
void		 http_respond_json(struct http_request *, int status,
		    const char *json);
/* {"error": msg} with the given status */
void		 http_respond_error(struct http_request *, int status,
		    const char *msg);

/* Value of query parameter `key`, percent-decoded into buf; -1 if absent. */
int		 http_query_param(const struct http_request *, const char *key,
		    char *buf, size_t len);

#endif
