/*
 * The front's HTTP/1.1 server: libev + http-parser on descriptors that are
 * already listening (the master bound them; the front cannot call socket()
 * or open()).  Keep-alive, limits on header size, body size (413),
 * concurrent connections (503) and idle time, 400 for malformed requests,
 * 404 for unknown paths, 405 (with Allow) for known paths with the wrong
 * method.  Every response has Content-Type and Content-Length.
 *
 * Handlers may answer at once or later (after asking another process):
 * a request stays valid until front_http_respond() is called on it; if its
 * connection died meanwhile, front_http_respond() just frees it.  A request not
 * answered within limits.handler_timeout gets 504 from the server.
 */
#ifndef AGENT_FRONT_HTTP_H
#define AGENT_FRONT_HTTP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

struct http_limits {
	size_t		 max_header;	/* request line + headers, bytes */
	size_t		 max_body;	/* bytes; larger gets 413 */
	/*
	 * Open connections at once, one budget per kind of listener, so
	 * TCP clients cannot crowd out the unix socket, and on TCP one for
	 * clients on this host (whose socket's owner the peer-uid function
	 * found), so remote ones cannot crowd out the local producers; and
	 * the most one TCP client may hold (an address, all of loopback
	 * when owners are not known, an IPv6 client its /64, a local user).
	 * Beyond them: 503 and close.
	 */
	unsigned	 max_conns_tcp;
	unsigned	 max_conns_unix;
	unsigned	 max_conns_local;
	unsigned	 max_conns_addr;
	double		 idle_timeout;	/* seconds without a byte */
	double		 handler_timeout;/* seconds to answer; then 504 */
	/*
	 * Deadlines whatever the idle timer says (<= 0: none): the request
	 * line and headers must be in head_timeout seconds from the accept
	 * (later requests: from their first byte), the body in
	 * body_timeout seconds plus one second per body_rate bytes of its
	 * declared length (chunked: of max_body).  Then 408 and close.
	 */
	double		 head_timeout;
	double		 body_timeout;
	size_t		 body_rate;	/* bytes per second at least */
};

#define HTTP_DEFAULT_LIMITS {						\
	.max_header = 16 * 1024,					\
	.max_body = 1024 * 1024,					\
	.max_conns_tcp = 256,						\
	.max_conns_unix = 256,						\
	.max_conns_local = 256,						\
	.max_conns_addr = 64,						\
	.idle_timeout = 30.0,						\
	.handler_timeout = 30.0,					\
	.head_timeout = 10.0,						\
	.body_timeout = 10.0,						\
	.body_rate = 64 * 1024,						\
}

/* Bits for http_route.methods */
#define HTTP_M_GET	0x01
#define HTTP_M_POST	0x02
#define HTTP_M_PUT	0x04
#define HTTP_M_DELETE	0x08
#define HTTP_M_HEAD	0x10

/* What kind of socket a request came in on (from the listener). */
enum http_via {
	HTTP_VIA_OTHER = 0,
	HTTP_VIA_TCP,		/* AF_INET or AF_INET6 */
	HTTP_VIA_UNIX		/* AF_UNIX */
};

struct http_request {
	unsigned	 method;	/* one HTTP_M_* bit */
	const char	*path;		/* path without query, percent-decoded */
	const char	*query;		/* raw query string, "" if none */
	const char	*body;		/* NUL-terminated copy of the body */
	size_t		 body_len;
	const char	*content_type;	/* header value or "" */
	const char	*authorization;	/* first Authorization value or "" */
	/*
	 * What browsers send and other clients do not: the first value of
	 * each, NULL when absent (a repeated Sec-Fetch-Site reads "", a
	 * repeated Host is a 400 before any handler).
	 */
	const char	*origin;
	const char	*sec_fetch_site;
	const char	*host;
	enum http_via	 via;
	struct sockaddr_storage peer;	/* the client's address (from accept) */
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

struct http_server *front_http_server_new(struct ev_loop *,
    const struct http_limits *,
		    const struct http_route *routes, size_t nroutes, void *ctx);
/* Serve connections accepted on listening socket `fd` (owned from now). */
int		 front_http_server_listen(struct http_server *, int fd,
		    const char *label);
/* Stop accepting; open connections finish their current request. */
void		 front_http_server_stop_listening(struct http_server *);
void		 front_http_server_free(struct http_server *);
unsigned	 front_http_server_conns(const struct http_server *);
/* Answers sent so far by status code: slot i counts HTTP_CODE_FIRST + i. */
#define HTTP_CODE_FIRST	100
#define HTTP_CODE_SLOTS	500
const uint64_t	*front_http_server_codes(const struct http_server *);

void		 front_http_respond(struct http_request *, int status,
		    const char *content_type, const char *body, size_t len);
/* JSON body; Content-Type: application/json */
void		 front_http_respond_json(struct http_request *, int status,
		    const char *json);
/* {"error": msg} with the given status */
void		 front_http_respond_error(struct http_request *, int status,
		    const char *msg);

/*
 * Answer 504 if this request is not answered within `seconds` from now
 * (<= 0: never), instead of limits.handler_timeout.  For handlers that
 * knowingly wait longer (a plugin run).  -1 when the request was
 * answered by the server already (504) or its connection is gone.
 */
int		 front_http_request_set_timeout(struct http_request *,
    double seconds);
/*
 * One more header line for the answer (before front_http_respond*).  -1 when
 * the name is not a token, the value holds control characters, or the
 * extra headers of this request would exceed HTTP_XHDR_MAX bytes.
 */
#define HTTP_XHDR_MAX	512
int		 front_http_request_add_header(struct http_request *,
    const char *name,
		    const char *value);

/*
 * The client a TCP peer counts as for limits.max_conns_addr: all of
 * loopback is one, an IPv4 address (also v4-mapped) itself, an IPv6
 * address its /64.  Equal keys, same client.  A client on this host
 * whose socket's owner is known (front_http_server_set_peer_uid) counts
 * as that user, on loopback or on another address of the host: any
 * local user may use every 127/8 address and every address of the
 * host, so one user could otherwise take their places from the others.
 */
#define HTTP_ADDRKEY_LEN	17
void		 front_http_addr_key(const struct sockaddr_storage *,
		    unsigned char key[HTTP_ADDRKEY_LEN]);
/*
 * Who owns a client's socket when it is on this host, asked once per TCP
 * connection at its accept (so it must be cheap: one question to the
 * kernel, not a table read).  0 with *uid, or -1: not known (a remote
 * client, or no answer), and such a client is its address; loopback
 * ones not known all count as one client.
 */
typedef int	(*http_peer_uid_fn)(void *arg,
		    const struct sockaddr_storage *peer,
		    const struct sockaddr_storage *local, uid_t *uid);
void		 front_http_server_set_peer_uid(struct http_server *,
		    http_peer_uid_fn, void *arg);
/* The owner of a loopback client's socket as found at accept: 0, or -1. */
int		 front_http_request_peer_uid(const struct http_request *,
		    uid_t *);
/*
 * The owner of the socket of a client on this host (loopback or another
 * of its addresses) as found at accept: 0, or -1.  Not for trust.
 */
int		 front_http_request_host_uid(const struct http_request *,
		    uid_t *);
/* 1 when the request came over TCP from a loopback address. */
int		 front_http_peer_loopback(const struct http_request *);
/* Our own address on the request's connection (getsockname); 0 or -1. */
int		 front_http_request_local(const struct http_request *,
		    struct sockaddr_storage *);
/*
 * Two ints the handlers keep with the request's connection, for what
 * holds for all its requests (0 at first); NULL once the connection is
 * gone.
 */
int		*front_http_request_note(struct http_request *);
/* "unix", "1.2.3.4" or "[::1]" for messages; always NUL-terminated. */
const char	*front_http_peer_str(const struct http_request *, char *buf,
		    size_t len);

/*
 * A form parameter: from the body of a POST whose Content-Type is
 * application/x-www-form-urlencoded, else from the query (a body value
 * wins, as in Go's FormValue).  Percent-decoded into buf; returns its
 * length, HTTP_PARAM_ABSENT, HTTP_PARAM_TOOLONG when the value does
 * not fit in len - 1 bytes, HTTP_PARAM_NUL when it holds a NUL byte,
 * raw or as %00 (a C string would silently cut the value short), or
 * HTTP_PARAM_BADESCAPE when it was sent only with a broken %-escape.
 * The caller answers 400 naming the parameter for the last three: only
 * an absent parameter may fall back to a default.  "key" alone counts as
 * present and empty.
 */
#define HTTP_PARAM_ABSENT	(-1)
#define HTTP_PARAM_TOOLONG	(-2)
#define HTTP_PARAM_NUL		(-3)
#define HTTP_PARAM_BADESCAPE	(-4)
/* The same for a query parameter only. */
int		 front_http_query_param(const struct http_request *,
    const char *key,
		    char *buf, size_t len);
int		 front_http_form_param(const struct http_request *,
    const char *key,
		    char *buf, size_t len);

/*
 * s copied into buf for a log line, every byte outside printable ASCII
 * as '?': client-given bytes must not forge log lines.  Returns buf.
 */
const char	*front_http_logstr(const char *s, char *buf, size_t len);

#endif
