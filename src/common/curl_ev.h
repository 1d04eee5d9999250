/*
 * libcurl's multi interface driven by a libev loop, for the processes
 * that speak HTTP as clients (the sender's HTTP outputs: sender_http.h;
 * the fetcher's registry client: fetcher_http.h).  The socket and timer
 * plumbing follows libcurl's multi-event.c example: libcurl says which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); an ev_io per socket and one ev_timer do so
 * through curl_multi_socket_action(), and every finished transfer is
 * handed to done().
 *
 * Only the driving lives here.  The easy handles are the caller's: it
 * creates them, sets every option (URL, timeouts, CURLOPT_NOSIGNAL,
 * what to do with the answer, TLS), and frees them.  The connection
 * cache belongs to the multi handle, so an easy handle used for one
 * request after another keeps its connections alive between them.
 *
 * libcurl itself is the caller's too: it loads it (curl_dl.h) and hands
 * curl_ev the table, which must outlive the struct curl_ev.
 */
#ifndef AGENT_CURL_EV_H
#define AGENT_CURL_EV_H

#include <stddef.h>

#include <curl/curl.h>
#include <ev.h>

#include "curl_dl.h"

struct curl_ev;

/*
 * A transfer ended with `result` (CURLE_OK: an answer came, whatever its
 * HTTP status).  `easy` is already out of the multi handle, its
 * connection back in the cache: done() may read its info, add it again,
 * free it, add or remove other handles, or even curl_ev_free() the whole
 * thing (and then use it no more).
 */
typedef void	(*curl_ev_done_fn)(CURL *easy, CURLcode result, void *arg);

/*
 * A multi handle on `loop`.  `tag` starts every log message and must
 * outlive it (a string literal: "nsq", "registry client").  NULL with
 * err when it cannot.
 */
struct curl_ev	*curl_ev_new(struct ev_loop *loop, const struct curl_dl *,
		    const char *tag, curl_ev_done_fn done, void *arg,
		    char *err, size_t errlen);
/*
 * Close the cached connections and free everything.  Remove the
 * transfers still running first (curl_ev_remove: the caller knows its
 * handles, and frees them, before or after this).  NULL is fine.
 */
void		 curl_ev_free(struct curl_ev *);

/*
 * For options of the multi handle itself (CURLMOPT_MAXCONNECTS, ...);
 * the socket and timer callbacks are curl_ev's.
 */
CURLM		*curl_ev_multi(const struct curl_ev *);

/*
 * Start a transfer: done() follows from the loop, never from in here.
 * -1 with err when libcurl refuses the handle.
 */
int		 curl_ev_add(struct curl_ev *, CURL *easy, char *err,
		    size_t errlen);
/* Abandon a transfer in flight: no done() for it. */
void		 curl_ev_remove(struct curl_ev *, CURL *easy);

/*
 * For setting up an easy handle option by option: curl_easy_setopt()
 * through the table `c`, and when libcurl refuses, `err` names the
 * option and says why and control goes to the caller's `fail` label.
 * The call goes through a pointer, so <curl/curl.h>'s type checks of
 * the value do not apply: pass long, curl_off_t, pointers as libcurl's
 * documentation of the option says.  Needs <stdio.h>.
 */
#define CURL_EV_SETOPT(c, easy, o, v, err, errlen) do {			\
	CURLcode	 rc_;						\
									\
	if ((rc_ = (c)->easy_setopt((easy), o, v)) != CURLE_OK) {	\
		snprintf((err), (errlen), "curl_easy_setopt(%s): %s",	\
		    #o, (c)->easy_strerror(rc_));			\
		goto fail;						\
	}								\
} while (0)

#endif
