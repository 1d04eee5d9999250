/*
 * libcurl multi on libev for the fetcher; see fetcher_http.h.  The socket
 * and timer plumbing follows libcurl's multi-event.c example (and the
 * sender's sender_http.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fetcher_http.h"
#include "fetcher_registry.h"
#include "log.h"

struct fhttp_sock {
	LIST_ENTRY(fhttp_sock)	 entry;
	struct fhttp		*h;
	curl_socket_t		 fd;
	ev_io			 io;
};

struct fhttp_req {
	LIST_ENTRY(fhttp_req)	 entry;
	struct fhttp		*h;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*url;
	char			*post;
	struct buf		 answer;
	int			 toolarge;
	fhttp_done_fn		 done;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	 check_done(struct fhttp *);

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fhttp_req	*r = arg;
	size_t			 n = size * nmemb;

	if (r->answer.len + n > REG_ANSWER_MAX) {
		/* a short count makes libcurl fail the transfer */
		r->toolarge = 1;
		return 0;
	}
	buf_add(&r->answer, ptr, n);
	return buf_failed(&r->answer) ? 0 : n;
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct fhttp_sock	*hs = io->data;
	struct fhttp		*h = hs->h;
	CURLMcode		 mc;
	int			 flags = 0, running;

	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* hs may be freed inside (CURL_POLL_REMOVE): use the fd copy */
	mc = curl_multi_socket_action(h->multi, hs->fd, flags, &running);
	if (mc != CURLM_OK)
		log_warnx("registry client: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	check_done(h);
	(void)loop;
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fhttp	*h = t->data;
	CURLMcode	 mc;
	int		 running;

	mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	if (mc != CURLM_OK)
		log_warnx("registry client: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	check_done(h);
	(void)loop;
	(void)revents;
}

static void
sock_free(struct fhttp_sock *hs)
{
	ev_io_stop(hs->h->loop, &hs->io);
	LIST_REMOVE(hs, entry);
	free(hs);
}

/* libcurl says what to watch on a socket; -1 fails its transfers. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct fhttp		*h = arg;
	struct fhttp_sock	*hs = sockp;
	CURLMcode		 mc;
	int			 events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL)
			sock_free(hs);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL) {
			log_warnx("registry client: out of memory for a "
			    "socket watcher");
			return -1;
		}
		hs->h = h;
		hs->fd = fd;
		ev_io_init(&hs->io, io_cb, fd, events);
		hs->io.data = hs;
		LIST_INSERT_HEAD(&h->socks, hs, entry);
		if ((mc = curl_multi_assign(h->multi, fd, hs)) != CURLM_OK) {
			log_warnx("registry client: curl_multi_assign: %s",
			    curl_multi_strerror(mc));
			sock_free(hs);
			return -1;
		}
	} else {
		/* ev_io_set needs a stopped watcher */
		ev_io_stop(h->loop, &hs->io);
		ev_io_set(&hs->io, fd, events);
	}
	ev_io_start(h->loop, &hs->io);
	(void)easy;
	return 0;
}

/* Even a 0 goes through the loop: no socket_action from in here. */
static int
timerfn_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct fhttp	*h = arg;

	ev_timer_stop(h->loop, &h->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	(void)multi;
	return 0;
}

static void
req_free(struct fhttp_req *r)
{
	CURLMcode	 mc;

	LIST_REMOVE(r, entry);
	if (r->easy != NULL) {
		if ((mc = curl_multi_remove_handle(r->h->multi, r->easy)) !=
		    CURLM_OK)
			log_warnx("registry client: curl_multi_remove_handle: "
			    "%s", curl_multi_strerror(mc));
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->post);
	buf_free(&r->answer);
	free(r);
}

static void
req_end(struct fhttp_req *r, CURLcode result)
{
	struct fhttp_result	 res;
	char			 why[CURL_ERROR_SIZE + 64], *loc = NULL;
	double			 t = 0;

	memset(&res, 0, sizeof(res));
	res.url = r->url;
	if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &t) == CURLE_OK)
		res.seconds = t;
	if (r->toolarge)
		snprintf(why, sizeof(why), "the answer is larger than %d "
		    "bytes", REG_ANSWER_MAX);
	else if (result == CURLE_WRITE_ERROR && buf_failed(&r->answer))
		snprintf(why, sizeof(why), "out of memory for the answer");
	else if (result != CURLE_OK)
		snprintf(why, sizeof(why), "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(result));
	else if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
	    &res.code) != CURLE_OK)
		snprintf(why, sizeof(why), "no HTTP status");
	else {
		why[0] = '\0';
		if (res.code >= 300 && res.code < 400 &&
		    curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &loc) ==
		    CURLE_OK && loc != NULL)
			snprintf(why, sizeof(why), "HTTP %ld to %.512s: "
			    "redirects are not followed (set registryaddr to "
			    "where it points)", res.code, loc);
	}
	if (why[0] != '\0')
		res.error = why;
	res.body = r->answer.p != NULL ? r->answer.p : "";
	res.len = r->answer.len;
	r->done(r->arg, &res);
	req_free(r);
}

/* Collect finished transfers after libcurl did some work. */
static void
check_done(struct fhttp *h)
{
	CURLMsg			*msg;
	struct fhttp_req	*r;
	int			 left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r) != CURLE_OK || r == NULL)
			continue;
		req_end(r, msg->data.result);
	}
}

int
fhttp_init(struct fhttp *h, struct ev_loop *loop, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	h->loop = loop;
	LIST_INIT(&h->socks);
	LIST_INIT(&h->reqs);
	ev_timer_init(&h->timer, timer_cb, 0., 0.);
	h->timer.data = h;
	if ((h->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		return -1;
	}
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timerfn_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_setopt failed");
		return -1;
	}
	return 0;
}

void
fhttp_close(struct fhttp *h)
{
	struct fhttp_sock	*hs;
	struct fhttp_req	*r;
	CURLMcode		 mc;

	while ((r = LIST_FIRST(&h->reqs)) != NULL)
		req_free(r);
	/* closes the cached connections, calling sock_cb to unwatch them */
	if (h->multi != NULL && (mc = curl_multi_cleanup(h->multi)) !=
	    CURLM_OK)
		log_warnx("registry client: curl_multi_cleanup: %s",
		    curl_multi_strerror(mc));
	h->multi = NULL;
	while ((hs = LIST_FIRST(&h->socks)) != NULL)
		sock_free(hs);
	if (h->loop != NULL)
		ev_timer_stop(h->loop, &h->timer);
}

static int
req_setup(struct fhttp_req *r, long timeout, size_t postlen, char *err,
    size_t errlen)
{
	CURLcode	 rc;
	const char	*opt;

#define SETOPT(o, v) do {						\
	opt = #o;							\
	if ((rc = curl_easy_setopt(r->easy, o, v)) != CURLE_OK)		\
		goto fail;						\
} while (0)
	SETOPT(CURLOPT_URL, r->url);
	SETOPT(CURLOPT_PRIVATE, (char *)r);
	/* no signals (SIGALRM for name lookups): libev owns them */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_TIMEOUT_MS, timeout * 1000L);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REG_ANSWER_MAX);
	SETOPT(CURLOPT_USERAGENT, "agent/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, r);
	SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
	/* TLS: libcurl's defaults verify the peer and its name; kept */
	if (r->post != NULL) {
		SETOPT(CURLOPT_HTTPHEADER, r->headers);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)postlen);
		SETOPT(CURLOPT_POSTFIELDS, r->post);
	} else
		SETOPT(CURLOPT_HTTPGET, 1L);
#undef SETOPT
	return 0;
fail:
	snprintf(err, errlen, "curl_easy_setopt(%s): %s", opt,
	    curl_easy_strerror(rc));
	return -1;
}

struct fhttp_req *
fhttp_start(struct fhttp *h, const char *url, const char *post,
    size_t postlen, long timeout, fhttp_done_fn done, void *arg, char *err,
    size_t errlen)
{
	struct fhttp_req	*r;
	struct curl_slist	*l;
	CURLMcode		 mc;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->h = h;
	r->done = done;
	r->arg = arg;
	buf_init(&r->answer);
	LIST_INSERT_HEAD(&h->reqs, r, entry);
	if ((r->url = strdup(url)) == NULL ||
	    (post != NULL && (r->post = malloc(postlen + 1)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (post != NULL) {
		memcpy(r->post, post, postlen);
		r->post[postlen] = '\0';
		/* "Expect:" off: no wait for a 100 Continue */
		if ((l = curl_slist_append(NULL, FHTTP_CONTENT_TYPE)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r->headers = l;
		if ((l = curl_slist_append(r->headers, "Expect:")) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r->headers = l;
	}
	if ((r->easy = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		goto fail;
	}
	if (req_setup(r, timeout, postlen, err, errlen) == -1)
		goto fail;
	if ((mc = curl_multi_add_handle(h->multi, r->easy)) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		goto fail;
	}
	return r;
fail:
	if (r->easy != NULL) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	req_free(r);
	return NULL;
}

void
fhttp_cancel(struct fhttp_req *r)
{
	if (r != NULL)
		req_free(r);
}
