/*
 * The fetcher's HTTP client: libcurl's multi interface on the worker's
 * libev loop, several requests at a time (a refresh and a report may
 * overlap), GET or POST, the whole answer kept (up to REG_ANSWER_MAX).
 *
 * The sender has its own client (sender_http.c) made for one request at
 * a time to a list of servers over plain HTTP with failover; the
 * registry needs HTTPS, GET, concurrent requests and whole answers, so
 * this is a separate small layer rather than a change to that one.  Both
 * run on their loop through the same driver (curl_ev.h).
 *
 * HTTPS certificates and host names are verified with libcurl's defaults
 * (the system CA store); nothing here turns that off.  Redirects are not
 * followed: a 3xx is a failed request that says where it pointed.
 * Every request has a total timeout.
 *
 * libcurl is loaded by the worker's setup hook (curl_dl.h: before the
 * sandbox, single-threaded, curl_global_init included); this layer only
 * uses multi and easy handles through its table.
 */
#ifndef AGENT_FETCHER_HTTP_H
#define AGENT_FETCHER_HTTP_H

#include <stddef.h>
#include <bsd/sys/queue.h>

#include <curl/curl.h>
#include <ev.h>

#include "buf.h"
#include "curl_dl.h"

#define FHTTP_CONTENT_TYPE	"Content-Type: application/json;charset=utf-8"

struct curl_ev;
struct fhttp_req;

/*
 * How a request ended.  error != NULL: no answer (transport failure,
 * timeout, answer too large); else `code` is the HTTP status and the
 * body is body[0..len) (NUL-terminated).
 */
struct fhttp_result {
	const char	*error;
	long		 code;
	const char	*body;
	size_t		 len;
	const char	*url;		/* for messages: fetcher_http_shown() */
	double		 seconds;	/* total time taken */
};

/* The request is freed right after this returns. */
typedef void	(*fhttp_done_fn)(void *arg, const struct fhttp_result *);

struct fhttp {
	const struct curl_dl	*curl;
	struct curl_ev		*ev;
	LIST_HEAD(, fhttp_req)	 reqs;
};

/* 0, or -1 with err; fetcher_http_close() is safe after either. */
int	 fetcher_http_init(struct fhttp *, struct ev_loop *,
	    const struct curl_dl *, char *err, size_t errlen);
/* Abandon every request (no callbacks), free everything. */
void	 fetcher_http_close(struct fhttp *);

/*
 * Start a request: POST `post` (copied; `postlen` bytes, JSON) when not
 * NULL, else GET.  `timeout` seconds in all.  Returns the request (to
 * cancel it) or NULL with err.
 */
struct fhttp_req *fetcher_http_start(struct fhttp *, const char *url,
	    const char *post, size_t postlen, long timeout,
	    fhttp_done_fn, void *arg, char *err, size_t errlen);
/* Abandon one request: no callback. */
void	 fetcher_http_cancel(struct fhttp_req *);
/*
 * The URL for messages: a user and password in registryaddr (HTTP Basic
 * authentication, which libcurl takes from the URL) become ***, so that
 * a registry failing, which a hostile one does at will, does not write
 * them into the log.
 */
void	 fetcher_http_shown(const char *url, char *out, size_t len);

#endif
