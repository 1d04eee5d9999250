/*
 * HTTP plumbing shared by the sender's HTTP outputs (sink_nsq_http,
 * sink_influxdb): one libcurl easy handle driven on the worker's libev
 * loop (curl_ev.h), one request at a time, and the list of servers a
 * message fails over across.
 *
 * One easy handle serves every request, so the connections it made stay
 * in the multi handle's connection cache between requests and are reused
 * (keep-alive); libcurl opens a new one, resolving the name again (cached
 * for SENDER_HTTP_DNS_CACHE seconds), only when the server closed the old
 * one.
 *
 * Failover: each message starts at the server after the one the previous
 * message started at, so load is spread (a server that failed lately
 * last); on a failure the sink moves on to the next server, trying each
 * server once per message, and when all
 * of them failed reports the message failed with every server's reason.
 * Retrying later, with backoff, is the sender's job.
 *
 * libcurl is loaded, and curl_global_init run, once for the life of the
 * process by the sender's setup hook (curl_dl.h), before the sandbox and
 * before the sender has threads (libcurl's own resolver, the nsq TCP
 * output's lookups: sender_resolve.h); every call goes through that
 * table (s->curl), whichever output the config names, so that a reload
 * to an HTTP output needs nothing the sandbox refuses.
 */
#ifndef AGENT_SENDER_HTTP_H
#define AGENT_SENDER_HTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <ev.h>

#include "buf.h"
#include "sender.h"

#define SENDER_HTTP_CONNECT_TIMEOUT_MS	2000L
/*
 * A request is given [output] timeout more than its body takes to go at
 * this many bytes a second (a 5 MiB body: 90 s by default), so a slow
 * link takes large requests; a server slower than this times out.
 */
#define SENDER_HTTP_LINK_RATE_MIN	65536
#define SENDER_HTTP_DNS_CACHE		60L	/* seconds */
#define SENDER_HTTP_ANSWER_MAX		1024	/* bytes of an answer kept */
#define SENDER_HTTP_SNIPPET_MAX		96	/* of it in a short reason */
#define SENDER_HTTP_TAIL_MAX		64	/* bytes of its end kept */
/*
 * An answer's body is read up to this much, and twice the request's
 * (InfluxDB may quote every line it could not parse); past it the
 * transfer ends there and the status decides: a server sending an
 * endless body after its 200 had the request time out, be sent again,
 * and so forever, a CPU busy reading what was thrown away.
 */
#define SENDER_HTTP_BODY_MAX		(16 * 1024 * 1024)

struct curl_ev;
struct sender_http;

/*
 * A server that failed is put last in each round for a while (from
 * SENDER_HTTP_AVOID_MIN s, doubling at each failure to
 * SENDER_HTTP_AVOID_MAX s, with jitter; an answer ends it): one that
 * hangs would otherwise hold every request that starts there for the
 * request timeout, the other servers up.
 */
#define SENDER_HTTP_AVOID_MIN		2.0
#define SENDER_HTTP_AVOID_MAX		60.0

struct sender_http_srv {
	int			 failing;	/* last attempt there failed */
	int			 refusing;	/* last request there refused */
	double			 avoid;		/* the last avoiding's base */
	ev_tstamp		 avoid_until;	/* put last until then */
};

/* A request ended (answered or not); see sender_http_status(). */
typedef void	(*sender_http_done_fn)(struct sender_http *, void *arg);

struct sender_http {
	struct sender		*s;
	const struct curl_dl	*curl;		/* &s->curl */
	struct ev_loop		*loop;
	const char		*tag;		/* "nsq", "influxdb": logs */
	sender_http_done_fn	 done;
	void			*arg;

	struct curl_ev		*ev;
	CURL			*easy;
	struct curl_slist	*headers;
	int			 attached;	/* a request is in flight */

	/* the servers, copied: the config may change under us */
	char			**servers;
	/*
	 * ... and as logs, last_error and output_limits_by show them: a
	 * password in one (http://user:password@host) is in the URL
	 * libcurl gets, never in what /me/status shows to every client.
	 */
	char			**shown;
	struct sender_http_srv	*srv;		/* per server */
	size_t			*order;		/* this round's, see
						 * sender_http_round_start() */
	size_t			 nservers;
	size_t			 next;		/* where the next message
						 * starts */
	size_t			 cur;		/* server being tried */
	size_t			 tried;
	struct buf		 reasons;	/* "<server>: <why>; ..." */

	/* the last request's outcome */
	CURLcode		 result;
	long			 code;		/* HTTP status, 0 if none */
	char			 answer[SENDER_HTTP_ANSWER_MAX + 1];
	size_t			 answerlen;	/* raw start of the body */
	/* the end of a longer body, where a summary may stand
	 * (InfluxDB's "... dropped=N") */
	char			 tail[SENDER_HTTP_TAIL_MAX + 1];
	size_t			 taillen;
	size_t			 bodylen;	/* the whole body's length */
	size_t			 bodymax;	/* read no more of it */
	int			 bodycut;	/* bodymax was reached */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 refused[256];	/* by prereq_cb(), or "" */
};

/* Never fails; makes sender_http_close() safe whatever happens next. */
void	 sender_http_init(struct sender_http *, struct sender *,
	    const char *tag, sender_http_done_fn, void *arg);
/*
 * Copy the servers, set up libcurl; every request carries `content_type`.
 * -1 with err when it cannot (then call sender_http_close()).
 */
int	 sender_http_open(struct sender_http *, const struct strlist *servers,
	    const char *content_type, char *err, size_t errlen);
/* Abandon a request in flight, close connections, free everything. */
void	 sender_http_close(struct sender_http *);

/*
 * POST `len` bytes of `body` (kept by the caller until done) to `url`.
 * 0: started, done() follows from the loop; -1: libcurl refused the URL
 * (the server entry's fault: fail over); -2: could not start for a
 * reason that is no server's (report the message failed).  `why` says
 * which on failure.
 */
int	 sender_http_post(struct sender_http *, const char *url,
	    const char *body, size_t len, char *why, size_t whylen);

/*
 * After done(): 1 for a 2xx answer; 0 otherwise, with `why` = libcurl's
 * error or "HTTP <code> <start of the body>" (printable ASCII only).
 */
int	 sender_http_status(const struct sender_http *, char *why,
	    size_t whylen);
/* The answer's start made printable (it goes to logs and /me/status). */
void	 sender_http_printable(char *dst, size_t dstlen, const char *src,
	    size_t len);

/*
 * Failover over the servers, one round per message: from the server
 * after the one the last round started at, each once, those avoided
 * after a failure last.
 */
void	 sender_http_round_start(struct sender_http *);
const char *sender_http_server(const struct sender_http *);
/* The same server for messages: any user:password@ of it as ***@. */
const char *sender_http_shown(const struct sender_http *);
/* The current server failed with `why`: 1 = moved to the next one,
 * 0 = every server was tried (sender_http_reasons() says why). */
int	 sender_http_failover(struct sender_http *, const char *why);
/* As sender_http_failover(), for a server that answered (a refusal):
 * logged once until it takes a request, not counted failing, nor
 * avoided. */
int	 sender_http_refused(struct sender_http *, const char *why);
const char *sender_http_reasons(const struct sender_http *);
/* The current server took the message; counts a recovery. */
void	 sender_http_server_ok(struct sender_http *);

/* Append `s` percent-encoded for a URL query (RFC 3986 unreserved kept). */
void	 sender_http_escape(struct buf *, const char *s);

#endif
