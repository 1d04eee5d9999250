/*
 * The fetcher's HTTP requests on its libev loop (curl_ev.h); see
 * fetcher_http.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "config.h"
#include "curl_ev.h"
#include "fetcher_http.h"
#include "fetcher_registry.h"
#include "log.h"

struct fhttp_req {
	LIST_ENTRY(fhttp_req)	 entry;
	struct fhttp		*h;
	CURL			*easy;
	int			 attached;	/* easy is in flight */
	struct curl_slist	*headers;
	char			*url;
	char			*shown;		/* url for messages */
	char			*post;
	struct buf		 answer;
	int			 toolarge;
	fhttp_done_fn		 done;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
};

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
req_free(struct fhttp_req *r)
{
	LIST_REMOVE(r, entry);
	if (r->attached)
		curl_ev_remove(r->h->ev, r->easy);
	if (r->easy != NULL)
		r->h->curl->easy_cleanup(r->easy);
	r->h->curl->slist_free_all(r->headers);
	free(r->url);
	free(r->shown);
	free(r->post);
	buf_free(&r->answer);
	free(r);
}

/* A transfer ended, its easy handle out of the multi handle. */
static void
req_end(CURL *easy, CURLcode result, void *arg)
{
	struct fhttp		*h = arg;
	struct fhttp_req	*r = NULL;
	struct fhttp_result	 res;
	char			 why[CURL_ERROR_SIZE + 64], *loc = NULL;
	double			 t = 0;

	/* every handle in there is a request's, its private pointer set */
	if (h->curl->easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) !=
	    CURLE_OK || r == NULL) {
		log_warnx("%s: registry client: a transfer without its request",
		    __func__);
		return;
	}
	r->attached = 0;
	memset(&res, 0, sizeof(res));
	res.url = r->shown;
	if (h->curl->easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &t) ==
	    CURLE_OK)
		res.seconds = t;
	if (r->toolarge)
		snprintf(why, sizeof(why), "the answer is larger than %d "
		    "bytes", REG_ANSWER_MAX);
	else if (result == CURLE_WRITE_ERROR && buf_failed(&r->answer))
		snprintf(why, sizeof(why), "out of memory for the answer");
	else if (result != CURLE_OK)
		snprintf(why, sizeof(why), "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : h->curl->easy_strerror(result));
	else if (h->curl->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
	    &res.code) != CURLE_OK)
		snprintf(why, sizeof(why), "no HTTP status");
	else {
		why[0] = '\0';
		if (res.code >= 300 && res.code < 400 &&
		    h->curl->easy_getinfo(r->easy, CURLINFO_REDIRECT_URL,
		    &loc) == CURLE_OK && loc != NULL)
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

int
fetcher_http_init(struct fhttp *h, struct ev_loop *loop,
    const struct curl_dl *curl, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	LIST_INIT(&h->reqs);
	h->curl = curl;
	if ((h->ev = curl_ev_new(loop, curl, "registry client", req_end, h,
	    err, errlen)) == NULL)
		return -1;
	return 0;
}

void
fetcher_http_close(struct fhttp *h)
{
	struct fhttp_req	*r;

	while ((r = LIST_FIRST(&h->reqs)) != NULL)
		req_free(r);
	/* closes the cached connections */
	curl_ev_free(h->ev);
	h->ev = NULL;
}

static int
req_setup(struct fhttp_req *r, long timeout, size_t postlen, char *err,
    size_t errlen)
{
#define SETOPT(o, v)	CURL_EV_SETOPT(r->h->curl, r->easy, o, v, err, errlen)
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
	return -1;
}

struct fhttp_req *
fetcher_http_start(struct fhttp *h, const char *url, const char *post,
    size_t postlen, long timeout, fhttp_done_fn done, void *arg, char *err,
    size_t errlen)
{
	struct fhttp_req	*r;
	struct curl_slist	*l;

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
	    (r->shown = malloc(strlen(url) + 4)) == NULL ||
	    (post != NULL && (r->post = malloc(postlen + 1)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	fetcher_http_shown(url, r->shown, strlen(url) + 4);
	if (post != NULL) {
		memcpy(r->post, post, postlen);
		r->post[postlen] = '\0';
		/* "Expect:" off: no wait for a 100 Continue */
		if ((l = h->curl->slist_append(NULL, FHTTP_CONTENT_TYPE)) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r->headers = l;
		if ((l = h->curl->slist_append(r->headers, "Expect:")) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r->headers = l;
	}
	if ((r->easy = h->curl->easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		goto fail;
	}
	if (req_setup(r, timeout, postlen, err, errlen) == -1)
		goto fail;
	if (curl_ev_add(h->ev, r->easy, err, errlen) == -1)
		goto fail;
	r->attached = 1;
	return r;
fail:
	req_free(r);
	return NULL;
}

void
fetcher_http_shown(const char *url, char *out, size_t len)
{
	const char	*host, *at;

	if ((host = strstr(url, "://")) == NULL) {
		strlcpy(out, url, len);
		return;
	}
	host += 3;
	at = memrchr(host, '@', strcspn(host, "/?#"));
	if (at == NULL)
		strlcpy(out, url, len);
	else
		snprintf(out, len, "%.*s***%s", (int)(host - url), url, at);
}

void
fetcher_http_cancel(struct fhttp_req *r)
{
	if (r != NULL)
		req_free(r);
}
