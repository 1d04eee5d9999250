/*
 * One easy handle on the sender's libev loop (curl_ev.h), and failover
 * across servers, for the HTTP outputs; see sender_http.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "config.h"
#include "curl_ev.h"
#include "log.h"
#include "sender.h"
#include "sender_http.h"

static int	 sender_http_next(struct sender_http *, const char *);

/* An address as libcurl says it ("127.0.0.1", "::1") and a port. */
static int
addr_of(const char *ip, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/*
 * The connection is made (or reused), the request not sent: a loopback
 * output served by user or pluginsuser gets nothing (sender_peer.h).
 */
static int
prereq_cb(void *arg, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct sender_http	*h = arg;
	struct sockaddr_storage	 peer, local;

	if (addr_of(primary_ip, primary_port, &peer) == -1 ||
	    addr_of(local_ip, local_port, &local) == -1)
		return CURL_PREREQFUNC_OK;
	if (sender_peer_check(&h->s->peer, &peer, &local, h->refused,
	    sizeof(h->refused)) == -1)
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

/*
 * The answer's body: keep the start of it for the sink to judge and to
 * explain failures with (servers say why in a short JSON object), and
 * its last bytes, where a long one may sum up (InfluxDB's partial write
 * ends in "dropped=N"); the rest is read and dropped, as libcurl would
 * otherwise write it to stdout.
 */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sender_http	*h = arg;
	size_t			 n = size * nmemb, take, keep;

	if (n > h->bodymax - h->bodylen) {
		/* enough: the transfer ends here, its status stands */
		h->bodycut = 1;
		return 0;
	}
	take = SENDER_HTTP_ANSWER_MAX - h->answerlen;
	if (take > n)
		take = n;
	memcpy(h->answer + h->answerlen, ptr, take);
	h->answerlen += take;
	h->answer[h->answerlen] = '\0';
	h->bodylen += n;
	if (n >= SENDER_HTTP_TAIL_MAX) {
		memcpy(h->tail, ptr + n - SENDER_HTTP_TAIL_MAX,
		    SENDER_HTTP_TAIL_MAX);
		h->taillen = SENDER_HTTP_TAIL_MAX;
	} else {
		/* slide: keep the newest SENDER_HTTP_TAIL_MAX bytes */
		keep = h->taillen + n > SENDER_HTTP_TAIL_MAX ?
		    SENDER_HTTP_TAIL_MAX - n : h->taillen;
		memmove(h->tail, h->tail + h->taillen - keep, keep);
		memcpy(h->tail + keep, ptr, n);
		h->taillen = keep + n;
	}
	h->tail[h->taillen] = '\0';
	return n;
}

/*
 * A transfer ended, its easy handle out of the multi handle (its
 * connection stays in the multi handle's cache for the next request):
 * tell the sink, which may start the next request or report to the
 * sender.
 */
static void
request_end(CURL *easy, CURLcode result, void *arg)
{
	struct sender_http	*h = arg;
	CURLcode		 rc;
	long			 code = 0;

	h->attached = 0;
	h->result = result;
	h->code = 0;
	/* the body over bodymax (write_cb) is the one error that is not */
	if (result == CURLE_WRITE_ERROR && h->bodycut)
		h->result = result = CURLE_OK;
	/*
	 * A 2xx came, and the body never ended in time (a byte a second
	 * for good): the server took the request, and said so; sending it
	 * again would meet the same, forever.
	 */
	if (result != CURLE_OK && h->curl->easy_getinfo(easy,
	    CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
	    code <= 299) {
		log_warnx("%s: %s: HTTP %ld, then the answer's body failed: "
		    "%s; taken as published", __func__, h->tag, code,
		    h->errbuf[0] != '\0' ? h->errbuf :
		    h->curl->easy_strerror(result));
		h->result = result = CURLE_OK;
	}
	if (result == CURLE_OK && (rc = h->curl->easy_getinfo(easy,
	    CURLINFO_RESPONSE_CODE, &h->code)) != CURLE_OK) {
		h->result = rc;
		snprintf(h->errbuf, sizeof(h->errbuf), "response code: %s",
		    h->curl->easy_strerror(rc));
	}
	h->done(h, h->arg);
}

int
sender_http_post(struct sender_http *h, const char *url, const char *body,
    size_t len, char *why, size_t whylen)
{
	CURLcode	 rc;

	if (h->attached) {
		snprintf(why, whylen, "a request is already in flight");
		return -2;
	}
	h->answerlen = 0;
	h->answer[0] = '\0';
	h->taillen = 0;
	h->tail[0] = '\0';
	h->bodylen = 0;
	h->bodycut = 0;
	h->bodymax = len > (SIZE_MAX - SENDER_HTTP_BODY_MAX) / 2 ? SIZE_MAX :
	    SENDER_HTTP_BODY_MAX + 2 * len;
	h->errbuf[0] = '\0';
	h->refused[0] = '\0';
	h->code = 0;
	h->result = CURLE_OK;
	if ((rc = h->curl->easy_setopt(h->easy, CURLOPT_URL, url)) !=
	    CURLE_OK) {
		/* a URL libcurl refuses is this server's entry's fault */
		snprintf(why, whylen, "URL of %s: %s", h->shown[h->cur],
		    h->curl->easy_strerror(rc));
		return -1;
	}
	/* the body stays with the caller until done() */
	if ((rc = h->curl->easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len)) != CURLE_OK ||
	    (rc = h->curl->easy_setopt(h->easy, CURLOPT_POSTFIELDS, body)) !=
	    CURLE_OK ||
	    (rc = h->curl->easy_setopt(h->easy, CURLOPT_TIMEOUT_MS,
	    (long)h->s->w->conf.timeout * 1000 + (long)(len /
	    (SENDER_HTTP_LINK_RATE_MIN / 1000)))) != CURLE_OK) {
		snprintf(why, whylen, "curl_easy_setopt: %s",
		    h->curl->easy_strerror(rc));
		return -2;
	}
	/* not about the server: no point trying the others */
	if (curl_ev_add(h->ev, h->easy, why, whylen) == -1)
		return -2;
	h->attached = 1;
	return 0;
}

void
sender_http_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t	 i, n = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && n + 1 < dstlen; i++)
		dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : ' ';
	/* what was a newline at the end is no part of the reason */
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

int
sender_http_status(const struct sender_http *h, char *why, size_t whylen)
{
	char	 snippet[SENDER_HTTP_SNIPPET_MAX + 1];

	if (h->result != CURLE_OK) {
		snprintf(why, whylen, "%s", h->refused[0] != '\0' ?
		    h->refused : h->errbuf[0] != '\0' ? h->errbuf :
		    h->curl->easy_strerror(h->result));
		return 0;
	}
	if (h->code >= 200 && h->code <= 299)
		return 1;
	sender_http_printable(snippet, sizeof(snippet), h->answer,
	    h->answerlen < SENDER_HTTP_SNIPPET_MAX ? h->answerlen :
	    SENDER_HTTP_SNIPPET_MAX);
	snprintf(why, whylen, "HTTP %ld%s%s", h->code,
	    snippet[0] != '\0' ? " " : "", snippet);
	return 0;
}

void
sender_http_round_start(struct sender_http *h)
{
	ev_tstamp	 now = ev_now(h->loop);
	size_t		 i, k, n = 0, start = h->next;
	int		 last;

	buf_reset(&h->reasons);
	h->tried = 0;
	h->next = (h->next + 1) % h->nservers;
	/* in turn from start, the servers avoided after the others */
	for (last = 0; last < 2; last++)
		for (k = 0; k < h->nservers; k++) {
			i = (start + k) % h->nservers;
			if ((h->srv[i].avoid_until > now) == last)
				h->order[n++] = i;
		}
	h->cur = h->order[0];
}

const char *
sender_http_server(const struct sender_http *h)
{
	return h->servers[h->cur];
}

const char *
sender_http_shown(const struct sender_http *h)
{
	return h->shown[h->cur];
}

/*
 * `server` for messages: the user information of a URL (before the
 * last '@' of its authority) as "***", as gitpull shows git URLs.  NULL
 * when out of memory.
 */
static char *
server_shown(const char *server)
{
	const char	*host, *at;
	char		*s;

	if ((host = strstr(server, "://")) != NULL)
		host += 3;
	else
		host = server;
	at = memrchr(host, '@', strcspn(host, "/?#"));
	if (at == NULL)
		return strdup(server);
	if (asprintf(&s, "%.*s***%s", (int)(host - server), server, at) == -1)
		return NULL;
	return s;
}

int
sender_http_failover(struct sender_http *h, const char *why)
{
	struct sender_http_srv	*sv = &h->srv[h->cur];
	const char		*server = h->shown[h->cur];
	double			 a;

	if (!sv->failing)
		log_warnx("%s: %s: %s: %s", __func__, h->tag, server, why);
	sv->failing = 1;
	/* put last for a while, longer at each failure in a row */
	sv->avoid = sv->avoid == 0 ? SENDER_HTTP_AVOID_MIN :
	    sv->avoid * 2 > SENDER_HTTP_AVOID_MAX ? SENDER_HTTP_AVOID_MAX :
	    sv->avoid * 2;
	a = sv->avoid / 2 + sv->avoid / 2 *
	    (double)arc4random_uniform(1001) / 1000.0;
	sv->avoid_until = ev_now(h->loop) + a;
	return sender_http_next(h, why);
}

int
sender_http_refused(struct sender_http *h, const char *why)
{
	struct sender_http_srv	*sv = &h->srv[h->cur];

	/* once until it takes a request: it may refuse each one */
	if (!sv->refusing && h->nservers > 1)
		log_warnx("%s: %s: %s refused a request: %s; trying the "
		    "other servers", __func__, h->tag, h->shown[h->cur],
		    why);
	sv->refusing = 1;
	return sender_http_next(h, why);
}

static int
sender_http_next(struct sender_http *h, const char *why)
{
	if (h->reasons.len > 0)
		buf_adds(&h->reasons, "; ");
	buf_printf(&h->reasons, "%s: %s", h->shown[h->cur], why);
	if (++h->tried < h->nservers) {
		h->cur = h->order[h->tried];
		log_debug("%s: failing over to %s", h->tag,
		    h->shown[h->cur]);
		return 1;
	}
	return 0;
}

const char *
sender_http_reasons(const struct sender_http *h)
{
	return buf_failed(&h->reasons) || h->reasons.len == 0 ? "every "
	    "server failed (out of memory for the reasons)" : h->reasons.p;
}

void
sender_http_server_ok(struct sender_http *h)
{
	struct sender_http_srv	*sv = &h->srv[h->cur];

	sv->avoid = 0;
	sv->avoid_until = 0;
	sv->refusing = 0;
	if (!sv->failing)
		return;
	sv->failing = 0;
	log_info("%s: %s publishes again", h->tag, h->shown[h->cur]);
	sender_count_reconnect(h->s);
}

void
sender_http_escape(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_addc(b, (char)c);
			continue;
		}
		buf_addc(b, '%');
		buf_addc(b, hex[c >> 4]);
		buf_addc(b, hex[c & 0x0f]);
	}
}

/* Options of the one easy handle that do not change per request. */
static int
easy_setup(struct sender_http *h, char *err, size_t errlen)
{
#define SETOPT(o, v)	CURL_EV_SETOPT(h->curl, h->easy, o, v, err, errlen)
	/* no signals (SIGALRM for name lookups): libev owns them */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	/* plain HTTP to the configured servers only: no proxy from the
	 * environment, no redirects, no other protocol */
	SETOPT(CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, SENDER_HTTP_CONNECT_TIMEOUT_MS);
	/* each request sets its own (sender_http_post()) */
	SETOPT(CURLOPT_TIMEOUT_MS, (long)h->s->w->conf.timeout * 1000);
	SETOPT(CURLOPT_DNS_CACHE_TIMEOUT, SENDER_HTTP_DNS_CACHE);
	/* notice a peer that vanished on an idle kept-alive connection */
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_HTTPHEADER, h->headers);
	SETOPT(CURLOPT_USERAGENT, "agent/" PACKAGE_VERSION);
	SETOPT(CURLOPT_PREREQFUNCTION, prereq_cb);
	SETOPT(CURLOPT_PREREQDATA, h);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(CURLOPT_POST, 1L);
#undef SETOPT
	return 0;
fail:
	return -1;
}

void
sender_http_init(struct sender_http *h, struct sender *s, const char *tag,
    sender_http_done_fn done, void *arg)
{
	memset(h, 0, sizeof(*h));
	h->s = s;
	h->curl = &s->curl;
	h->loop = s->w->loop;
	h->tag = tag;
	h->done = done;
	h->arg = arg;
	buf_init(&h->reasons);
}

int
sender_http_open(struct sender_http *h, const struct strlist *sv,
    const char *content_type, char *err, size_t errlen)
{
	struct curl_slist	*l;
	CURLMcode		 mc;
	size_t			 i;

	if (sv->n == 0) {
		snprintf(err, errlen, "the %s output needs at least one "
		    "server in [output] servers", h->tag);
		return -1;
	}
	if ((h->servers = calloc(sv->n, sizeof(*h->servers))) == NULL ||
	    (h->shown = calloc(sv->n, sizeof(*h->shown))) == NULL ||
	    (h->srv = calloc(sv->n, sizeof(*h->srv))) == NULL ||
	    (h->order = calloc(sv->n, sizeof(*h->order))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < sv->n; i++) {
		if ((h->servers[i] = strdup(sv->v[i])) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		h->nservers++;
		if ((h->shown[i] = server_shown(sv->v[i])) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}

	/*
	 * An empty "Expect:" stops libcurl from waiting for "100 Continue"
	 * before larger bodies, a round trip our servers never need.
	 */
	if ((l = h->curl->slist_append(NULL, content_type)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->headers = l;
	if ((l = h->curl->slist_append(h->headers, "Expect:")) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->headers = l;

	if ((h->ev = curl_ev_new(h->loop, h->curl, h->tag, request_end, h,
	    err, errlen)) == NULL)
		return -1;
	/* room for one kept-alive connection per server, as failover
	 * touches them all */
	if ((mc = h->curl->multi_setopt(curl_ev_multi(h->ev),
	    CURLMOPT_MAXCONNECTS, (long)h->nservers)) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_setopt"
		    "(CURLMOPT_MAXCONNECTS): %s", h->curl->multi_strerror(mc));
		return -1;
	}
	if ((h->easy = h->curl->easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	return easy_setup(h, err, errlen);
}

void
sender_http_close(struct sender_http *h)
{
	size_t	 i;

	/* a request in flight is abandoned: the sender keeps its message */
	if (h->attached)
		curl_ev_remove(h->ev, h->easy);
	h->attached = 0;
	/* closes the cached connections */
	curl_ev_free(h->ev);
	h->ev = NULL;
	if (h->easy != NULL)
		h->curl->easy_cleanup(h->easy);
	h->easy = NULL;
	if (h->headers != NULL)
		h->curl->slist_free_all(h->headers);
	h->headers = NULL;
	for (i = 0; i < h->nservers; i++) {
		free(h->servers[i]);
		if (h->shown != NULL)
			free(h->shown[i]);
	}
	free(h->servers);
	h->servers = NULL;
	free(h->shown);
	h->shown = NULL;
	free(h->srv);
	h->srv = NULL;
	free(h->order);
	h->order = NULL;
	h->nservers = 0;
	buf_free(&h->reasons);
}
