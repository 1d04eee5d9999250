/*
 * Internals of the front's HTTP server engine, shared by its files and
 * by nothing else: front_http.c (requests, connections, dispatch),
 * front_http_server.c (listeners, accepting, the server's public
 * interface), front_http_respond.c (queueing responses,
 * front_http_respond()), front_http_parse.c (the http-parser callbacks),
 * front_http_req.c (what a handler may ask of a request) and
 * front_http_text.c (text helpers).  The interface is front_http.h.
 */
#ifndef AGENT_FRONT_HTTP_INT_H
#define AGENT_FRONT_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <ev.h>
#include <http_parser.h>

#include "buf.h"
#include "front_http.h"

#define HTTP_HNAME_MAX		24	/* "transfer-encoding" and a NUL */
#define HTTP_LOGSTR_MAX		128

enum hdr_kind {
	HDR_OTHER = 0,
	HDR_CTYPE,
	HDR_EXPECT,
	HDR_AUTH,
	HDR_ORIGIN,
	HDR_SFS,		/* Sec-Fetch-Site */
	HDR_HOST,
	HDR_TE			/* Transfer-Encoding */
};

/* Which deadline a connection's deadline timer is running for. */
enum http_phase {
	HTTP_PHASE_NONE = 0,	/* no request being received */
	HTTP_PHASE_HEAD,	/* request line and headers */
	HTTP_PHASE_BODY
};

/*
 * The budget a connection counts toward: the kind of its listener, and
 * on TCP whether its client is on this host (its socket's owner known);
 * within TCP and LOCAL, the client's key as the per-address share sees
 * it.
 */
enum http_budget {
	HTTP_BUDGET_TCP = 0,
	HTTP_BUDGET_UNIX,
	HTTP_BUDGET_LOCAL,
	HTTP_BUDGET_MAX
};
/* Why a connection was turned away: its budget full, or its address's share. */
enum http_reject {
	HTTP_REJECT_TCP = HTTP_BUDGET_TCP,
	HTTP_REJECT_UNIX = HTTP_BUDGET_UNIX,
	HTTP_REJECT_LOCAL = HTTP_BUDGET_LOCAL,
	HTTP_REJECT_ADDR,
	HTTP_REJECT_MAX
};

struct http_conn;

struct http_listener {
	TAILQ_ENTRY(http_listener) entry;
	struct http_server	*srv;
	ev_io			 io;
	int			 fd;
	enum http_via		 via;
	char			 label[128];
};

/*
 * Ownership of a request (struct http_req):
 *   - while parsed it belongs to its connection (conn->cur);
 *   - once handed to a handler it sits on srv->reqs until exactly one
 *     front_http_respond() frees it.  Its `conn' pointer is cleared when the
 *     connection dies or when the server answered 504 for it, and
 *     front_http_respond() on such a request only frees it;
 *   - front_http_server_free() frees whatever is still on srv->reqs, so no
 *     front_http_respond() may follow front_http_server_free(),
     and a handler must
 *     not call front_http_server_free() itself.
 */
struct http_req {
	struct http_request	 pub;
	TAILQ_ENTRY(http_req)	 entry;		/* srv->reqs once handed out */
	int			 listed;
	struct http_server	*srv;
	struct http_conn	*conn;		/* NULL: answered or orphaned */
	ev_timer		 timer;		/* handler timeout */
	double			 timeout;	/* its length, seconds */
	ev_tstamp		 start;
	unsigned		 hmethod;	/* enum http_method */
	int			 keepalive;
	int			 head;
	int			 timed_out;
	int			 seen_ctype;
	int			 seen_auth;
	int			 seen_origin;
	int			 seen_sfs;	/* 2: more than one */
	int			 seen_host;
	size_t			 hdr_bytes;
	enum hdr_kind		 cur_hdr;
	int			 in_value;
	int			 hname_long;
	int			 hname_space;	/* a space in it */
	char			 hname[HTTP_HNAME_MAX];
	size_t			 hname_len;
	struct buf		 url;
	struct buf		 ctype;
	struct buf		 expect;
	struct buf		 auth;		/* Authorization */
	struct buf		 origin;
	struct buf		 sfs;		/* Sec-Fetch-Site */
	struct buf		 host;
	struct buf		 te;		/* Transfer-Encoding, joined */
	struct buf		 xhdr;	/* front_http_request_add_header */
	struct buf		 body;
	char			*path;
	char			*query;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	int			 fd;
	enum http_via		 via;		/* of its listener */
	struct sockaddr_storage	 peer;		/* from accept4 */
	int			 note[2];	/* the handlers' (front_http.h) */
	char			 name[192];	/* "label peer", for logs */
	ev_io			 rio;
	ev_io			 wio;
	ev_timer		 timer;		/* idle, then linger */
	ev_timer		 deadline;	/* head or body deadline */
	enum http_phase		 phase;		/* what `deadline' is for */
	double			 phase_len;	/* its length, seconds */
	enum http_budget	 budget;
	unsigned char		 addrkey[HTTP_ADDRKEY_LEN];
	uid_t			 peer_uid;	/* loopback: its socket's owner */
	int			 peer_uid_known;
	http_parser		 parser;
	char			*in;
	size_t			 inoff;
	size_t			 inlen;
	char			*out;
	size_t			 outoff;
	size_t			 outlen;
	size_t			 outcap;
	struct http_req		*cur;		/* being parsed */
	struct http_req		*inflight;	/* with a handler */
	int			 err_status;	/* set by parser callbacks */
	const char		*err_why;	/* and for a 400, why */
	char			 err_text[160];	/* err_why when composed */
	int			 busy;
	int			 counted;	/* toward its budget */
	int			 answered;	/* a request was, keep-alive */
	int			 dead;
	int			 closing;	/* close once output is sent */
	int			 lingering;
	int			 rd_eof;
	int			 drain;		/* server stopped listening */
};

struct http_server {
	struct ev_loop		*loop;
	struct http_limits	 lim;
	struct http_route	*routes;
	size_t			 nroutes;
	void			*ctx;
	http_peer_uid_fn	 peer_uid;	/* NULL: loopback is one */
	void			*peer_uid_arg;
	TAILQ_HEAD(, http_listener) listeners;
	TAILQ_HEAD(, http_conn)	 conns;
	TAILQ_HEAD(, http_req)	 reqs;
	ev_timer		 accept_timer;
	int			 accept_paused;
	unsigned		 nconns;	/* counted, all budgets */
	unsigned		 nbudget[HTTP_BUDGET_MAX];
	unsigned		 nrejects;
	uint64_t		 next_id;
	uint64_t		 rejected[HTTP_REJECT_MAX];
	ev_tstamp		 reject_warned[HTTP_REJECT_MAX];
	uint64_t		 codes[HTTP_CODE_SLOTS];	/* answers */
};

/* front_http.c */
struct http_req	*front_http_req_new(struct http_server *);
void		 front_http_req_destroy(struct http_req *);
/*
 * Entry points bracket their work: front_http_conn_kill() frees once none
 * is in.
 */
void		 front_http_conn_enter(struct http_conn *);
void		 front_http_conn_leave(struct http_conn *);
void		 front_http_conn_kill(struct http_conn *);
void		 front_http_conn_settle(struct http_conn *);
void		 front_http_conn_process(struct http_conn *);
/* Send what is queued, as far as the socket takes it. */
void		 front_http_conn_flush(struct http_conn *);
void		 front_http_req_log(struct http_conn *, struct http_req *, int,
    size_t);
/* Set up a connection just accepted (served from now on). */
struct http_conn *front_http_conn_new(struct http_listener *, int,
		    const struct sockaddr_storage *);
/* Start the deadline of `phase' (HEAD: also on accept). */
void		 front_http_conn_deadline(struct http_conn *, enum http_phase,
		    double);

/* front_http_accept.c */
/* A connection just accepted: served, or a 503 beyond its budget. */
void		 front_http_conn_accepted(struct http_listener *, int,
		    const struct sockaddr_storage *);

/* front_http_respond.c */
int		 front_http_out_append(struct http_conn *, const char *,
    size_t);
void		 front_http_conn_send_error(struct http_conn *, int,
    const char *, int,
		    int, const char *);

/* front_http_parse.c */
extern const http_parser_settings front_http_parser_callbacks;

/* front_http_text.c */
int		 front_http_pct_next(const char **, const char *, int);
const char	*front_http_reason(int);
unsigned	 front_http_method_bit(unsigned);
int		 front_http_param_find(const char *, const char *, const char *,
		    char *, size_t);
void		 front_http_allow_header(unsigned, char *, size_t);
char		*front_http_json_error(const char *, size_t *);

#endif
