/*
 * The nsq output over nsqd's HTTP API: one message per
 * "POST http://<server>/pub?topic=<topic>", through libcurl's multi
 * interface driven by the worker's libev loop.
 *
 * One easy handle serves every request, so the connections it made stay
 * in the multi handle's connection cache between messages and are
 * reused (keep-alive); libcurl opens a new one, resolving the name again
 * (cached for DNS_CACHE_TIME), only when the server closed the old one.
 *
 * Failover: each message starts at the server after the one the
 * previous message started at, so load is spread, and on any failure
 * (connect error, timeout, an answer other than 2xx) moves on to the
 * next server, trying each server once.  When all of them failed the
 * message is reported failed with every server's reason; retrying
 * later, with backoff, is the sender's job, not ours.
 *
 * Size: nsqd refuses a /pub body over its -max-msg-size (1 MiB by
 * default, nsq_limits).  The sender cuts messages of up to batchpoints
 * points and does not split by bytes yet, so an oversized message is
 * failed here with a clear error instead of being sent only to come
 * back as 413; the sender reports it in last_error and the counters.
 * Splitting (or /mpub) is a later change.
 *
 * curl_global_init: it must not run concurrently with other threads and
 * may load TLS libraries, so it belongs before the sandbox.  The
 * sender's worker_ops has no setup hook yet, so it runs here, in open(),
 * after the sandbox: that works under the deny-list filter the sender
 * has now (it opens files and maps libraries like any process).  libcurl
 * counts initializations, so every successful open() takes one and its
 * close() gives it back; the last curl_global_cleanup() frees libcurl's
 * globals, e.g. when the output changes to another sink on reload.
 * When the sender gets an allow-list filter, move curl_global_init to a
 * setup hook and keep it for the life of the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include <curl/curl.h>
#include <ev.h>

#include "config.h"
#include "log.h"
#include "nsq_proto.h"
#include "sender.h"

#define CONNECT_TIMEOUT_MS	2000L
#define REQUEST_TIMEOUT_MS	10000L
#define DNS_CACHE_TIME		60L	/* seconds */
#define SNIPPET_MAX		96	/* bytes of an error answer kept */
#define REASONS_MAX		1024

struct nsq_http;

/* One socket libcurl asked us to watch. */
struct nsq_sock {
	LIST_ENTRY(nsq_sock)	 entry;
	struct nsq_http		*h;
	curl_socket_t		 fd;
	ev_io			 io;
};

struct nsq_http {
	struct sender		*s;
	struct ev_loop		*loop;
	CURLM			*multi;
	CURL			*easy;
	struct curl_slist	*headers;
	int			 global_init;	/* took a curl_global_init */
	int			 attached;	/* easy is in multi */
	ev_timer		 timer;		/* libcurl's timeout */
	LIST_HEAD(, nsq_sock)	 socks;

	char			**servers;	/* copies: conf may change */
	int			*failing;	/* last attempt there failed */
	size_t			 nservers;
	size_t			 next;		/* where the next message
						 * starts */
	struct nsq_limits	 limits;

	/* the message in flight */
	int			 busy;
	size_t			 cur;		/* server being tried */
	size_t			 tried;
	struct buf		 path;		/* /pub?topic=... */
	struct buf		 url;
	struct buf		 reasons;	/* "<server>: <why>; ..." */
	char			 snippet[SNIPPET_MAX + 1];
	size_t			 snippetlen;
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	 attempt_start(struct nsq_http *);
static void	 check_done(struct nsq_http *);

/*
 * The answer's body: keep the start of it for the error message (nsqd
 * says why in a short JSON object); the rest is read and dropped, as
 * libcurl would otherwise write it to stdout.
 */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct nsq_http	*h = arg;
	size_t		 n = size * nmemb, take, i;

	take = SNIPPET_MAX - h->snippetlen;
	if (take > n)
		take = n;
	/* it ends up in a log line and in /me/status: printable only */
	for (i = 0; i < take; i++)
		h->snippet[h->snippetlen++] = ptr[i] >= 0x20 && ptr[i] < 0x7f ?
		    ptr[i] : ' ';
	h->snippet[h->snippetlen] = '\0';
	return n;
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct nsq_sock	*ns = io->data;
	struct nsq_http	*h = ns->h;
	CURLMcode	 mc;
	int		 flags = 0, running;

	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* ns may be freed inside (CURL_POLL_REMOVE): use the fd copy */
	mc = curl_multi_socket_action(h->multi, ns->fd, flags, &running);
	if (mc != CURLM_OK)
		log_warnx("nsq: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	check_done(h);
	(void)loop;
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct nsq_http	*h = t->data;
	CURLMcode	 mc;
	int		 running;

	mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	if (mc != CURLM_OK)
		log_warnx("nsq: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	check_done(h);
	(void)loop;
	(void)revents;
}

static void
sock_free(struct nsq_sock *ns)
{
	ev_io_stop(ns->h->loop, &ns->io);
	LIST_REMOVE(ns, entry);
	free(ns);
}

/*
 * libcurl says what to watch on a socket.  Returning -1 makes it fail
 * the transfers of this multi handle, which is how running out of
 * memory for a watcher ends up as a failed attempt.
 */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct nsq_http	*h = arg;
	struct nsq_sock	*ns = sockp;
	CURLMcode	 mc;
	int		 events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (ns != NULL)
			sock_free(ns);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (ns == NULL) {
		if ((ns = calloc(1, sizeof(*ns))) == NULL) {
			log_warnx("nsq: out of memory for a socket watcher");
			return -1;
		}
		ns->h = h;
		ns->fd = fd;
		ev_io_init(&ns->io, io_cb, fd, events);
		ns->io.data = ns;
		LIST_INSERT_HEAD(&h->socks, ns, entry);
		if ((mc = curl_multi_assign(h->multi, fd, ns)) != CURLM_OK) {
			log_warnx("nsq: curl_multi_assign: %s",
			    curl_multi_strerror(mc));
			sock_free(ns);
			return -1;
		}
	} else {
		/* ev_io_set needs a stopped watcher */
		ev_io_stop(h->loop, &ns->io);
		ev_io_set(&ns->io, fd, events);
	}
	ev_io_start(h->loop, &ns->io);
	(void)easy;
	return 0;
}

/*
 * libcurl wants to be called back after timeout_ms (-1: never).  Even a
 * 0 goes through the loop: calling curl_multi_socket_action() from
 * inside this callback is not allowed.
 */
static int
timerfn_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct nsq_http	*h = arg;

	ev_timer_stop(h->loop, &h->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	(void)multi;
	return 0;
}

/* The message is done, one way or the other: tell the sender, last. */
static void
message_done(struct nsq_http *h, int ok, const char *err)
{
	struct sender	*s = h->s;

	h->busy = 0;
	sender_sink_done(s, ok, err);
}

static void
reason_add(struct nsq_http *h, const char *server, const char *why)
{
	if (h->reasons.len > 0)
		buf_adds(&h->reasons, "; ");
	buf_printf(&h->reasons, "%s: %s", server, why);
}

/* This server failed the message: try the next one, or give up. */
static void
attempt_failed(struct nsq_http *h, const char *why)
{
	const char	*server = h->servers[h->cur];

	if (!h->failing[h->cur])
		log_warnx("nsq: %s: %s", server, why);
	h->failing[h->cur] = 1;
	reason_add(h, server, why);
	if (++h->tried < h->nservers) {
		h->cur = (h->cur + 1) % h->nservers;
		log_debug("nsq: failing over to %s", h->servers[h->cur]);
		attempt_start(h);
		return;
	}
	message_done(h, 0, buf_failed(&h->reasons) ? "every server failed "
	    "(out of memory for the reasons)" : h->reasons.p);
}

/* Post the message to h->servers[h->cur]. */
static void
attempt_start(struct nsq_http *h)
{
	CURLcode	 rc;
	CURLMcode	 mc;
	char		 why[256];

	buf_reset(&h->url);
	buf_printf(&h->url, "http://%s%s", h->servers[h->cur], h->path.p);
	if (buf_failed(&h->url)) {
		message_done(h, 0, "out of memory for the URL");
		return;
	}
	h->snippetlen = 0;
	h->snippet[0] = '\0';
	h->errbuf[0] = '\0';
	if ((rc = curl_easy_setopt(h->easy, CURLOPT_URL, h->url.p)) !=
	    CURLE_OK) {
		/* a URL libcurl refuses is this server's entry's fault */
		snprintf(why, sizeof(why), "URL %s: %s", h->url.p,
		    curl_easy_strerror(rc));
		attempt_failed(h, why);
		return;
	}
	if ((mc = curl_multi_add_handle(h->multi, h->easy)) != CURLM_OK) {
		/* not about the server: no point trying the others */
		snprintf(why, sizeof(why), "curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		message_done(h, 0, why);
		return;
	}
	h->attached = 1;
}

/* A transfer ended: judge the answer. */
static void
attempt_end(struct nsq_http *h, CURLcode result)
{
	CURLMcode	 mc;
	CURLcode	 rc;
	long		 code = 0;
	char		 why[384];
	const char	*server = h->servers[h->cur];

	/* out of the multi handle before it can be added again; its
	 * connection stays in the multi handle's cache for the next one */
	if ((mc = curl_multi_remove_handle(h->multi, h->easy)) != CURLM_OK)
		log_warnx("nsq: curl_multi_remove_handle: %s",
		    curl_multi_strerror(mc));
	h->attached = 0;
	if (result != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", h->errbuf[0] != '\0' ?
		    h->errbuf : curl_easy_strerror(result));
		attempt_failed(h, why);
		return;
	}
	if ((rc = curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE,
	    &code)) != CURLE_OK) {
		snprintf(why, sizeof(why), "response code: %s",
		    curl_easy_strerror(rc));
		attempt_failed(h, why);
		return;
	}
	if (code < 200 || code > 299) {
		/* nsqd explains in a short body, e.g. {"message":"..."} */
		while (h->snippetlen > 0 &&
		    h->snippet[h->snippetlen - 1] == ' ')
			h->snippetlen--;
		snprintf(why, sizeof(why), "HTTP %ld%s%.*s", code,
		    h->snippetlen > 0 ? " " : "", (int)h->snippetlen,
		    h->snippet);
		attempt_failed(h, why);
		return;
	}
	if (h->failing[h->cur]) {
		h->failing[h->cur] = 0;
		log_info("nsq: %s publishes again", server);
		sender_count_reconnect(h->s);
	}
	message_done(h, 1, NULL);
}

/* Collect finished transfers after libcurl did some work. */
static void
check_done(struct nsq_http *h)
{
	CURLMsg		*msg;
	int		 left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != h->easy)
			continue;
		if (!h->busy || !h->attached)
			continue;
		/* may report to the sender: nothing of ours after it */
		attempt_end(h, msg->data.result);
		return;
	}
}

static void
sink_nsq_http_publish(struct sender *s, const char *topic,
    enum out_format fmt, const char *body, size_t len)
{
	struct nsq_http	*h = s->sink;
	CURLcode	 rc;
	char		 why[256];

	(void)fmt;
	if (h->busy) {
		/* the sender never does this; do not lose track of either */
		log_warnx("nsq: publish while a message is in flight");
		return;
	}
	h->busy = 1;
	if (len > h->limits.max_msg_size) {
		snprintf(why, sizeof(why), "message of %zu bytes is over "
		    "nsqd's max-msg-size (%zu bytes): lower [output] "
		    "batchpoints", len, h->limits.max_msg_size);
		message_done(h, 0, why);
		return;
	}
	if (len == 0) {
		/* nsqd refuses empty messages (MSG_EMPTY) */
		message_done(h, 0, "empty message");
		return;
	}
	buf_reset(&h->path);
	if (nsq_http_pub_path(&h->path, topic) == -1 ||
	    buf_failed(&h->path)) {
		snprintf(why, sizeof(why), "topic \"%s\" is not a valid NSQ "
		    "topic", topic);
		message_done(h, 0, why);
		return;
	}
	/* the body stays in the sender's buffer until we report */
	if ((rc = curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body)) !=
	    CURLE_OK) {
		snprintf(why, sizeof(why), "curl_easy_setopt: %s",
		    curl_easy_strerror(rc));
		message_done(h, 0, why);
		return;
	}
	buf_reset(&h->reasons);
	h->tried = 0;
	h->cur = h->next;
	h->next = (h->next + 1) % h->nservers;
	attempt_start(h);
}

/* Options of the one easy handle that do not change per request. */
static int
easy_setup(struct nsq_http *h, char *err, size_t errlen)
{
	CURLcode	 rc;
	const char	*opt;

#define SETOPT(o, v) do {						\
	opt = #o;							\
	if ((rc = curl_easy_setopt(h->easy, o, v)) != CURLE_OK)		\
		goto fail;						\
} while (0)
	/* no signals (SIGALRM for name lookups): libev owns them */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	/* plain HTTP to the configured servers only: no proxy from the
	 * environment, no redirects, no other protocol */
	SETOPT(CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SETOPT(CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	SETOPT(CURLOPT_DNS_CACHE_TIMEOUT, DNS_CACHE_TIME);
	/* notice a peer that vanished on an idle kept-alive connection */
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_HTTPHEADER, h->headers);
	SETOPT(CURLOPT_USERAGENT, "agent/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(CURLOPT_POST, 1L);
#undef SETOPT
	return 0;
fail:
	snprintf(err, errlen, "curl_easy_setopt(%s): %s", opt,
	    curl_easy_strerror(rc));
	return -1;
}

static int
multi_setup(struct nsq_http *h, char *err, size_t errlen)
{
	CURLMcode	 mc;
	const char	*opt;

#define MSETOPT(o, v) do {						\
	opt = #o;							\
	if ((mc = curl_multi_setopt(h->multi, o, v)) != CURLM_OK)	\
		goto fail;						\
} while (0)
	MSETOPT(CURLMOPT_SOCKETFUNCTION, sock_cb);
	MSETOPT(CURLMOPT_SOCKETDATA, h);
	MSETOPT(CURLMOPT_TIMERFUNCTION, timerfn_cb);
	MSETOPT(CURLMOPT_TIMERDATA, h);
	/* room for one kept-alive connection per server, as failover
	 * touches them all */
	MSETOPT(CURLMOPT_MAXCONNECTS, (long)h->nservers);
#undef MSETOPT
	return 0;
fail:
	snprintf(err, errlen, "curl_multi_setopt(%s): %s", opt,
	    curl_multi_strerror(mc));
	return -1;
}

static void
sink_nsq_http_close(struct sender *s)
{
	struct nsq_http	*h = s->sink;
	struct nsq_sock	*ns;
	CURLMcode	 mc;
	size_t		 i;

	if (h == NULL)
		return;
	/* an in-flight message is abandoned: the sender keeps it */
	if (h->attached && (mc = curl_multi_remove_handle(h->multi,
	    h->easy)) != CURLM_OK)
		log_warnx("nsq: curl_multi_remove_handle: %s",
		    curl_multi_strerror(mc));
	h->attached = 0;
	h->busy = 0;
	/* closes the cached connections, calling sock_cb to unwatch them */
	if (h->multi != NULL && (mc = curl_multi_cleanup(h->multi)) !=
	    CURLM_OK)
		log_warnx("nsq: curl_multi_cleanup: %s",
		    curl_multi_strerror(mc));
	if (h->easy != NULL)
		curl_easy_cleanup(h->easy);
	/* whatever libcurl did not unwatch is ours to drop */
	while ((ns = LIST_FIRST(&h->socks)) != NULL)
		sock_free(ns);
	ev_timer_stop(h->loop, &h->timer);
	curl_slist_free_all(h->headers);
	for (i = 0; i < h->nservers; i++)
		free(h->servers[i]);
	free(h->servers);
	free(h->failing);
	buf_free(&h->path);
	buf_free(&h->url);
	buf_free(&h->reasons);
	if (h->global_init)
		curl_global_cleanup();
	free(h);
	s->sink = NULL;
}

static int
sink_nsq_http_open(struct sender *s, char *err, size_t errlen)
{
	const struct strlist	*sv = &s->w->conf.servers;
	struct nsq_http		*h;
	struct curl_slist	*l;
	CURLcode		 rc;
	const char		*why;
	size_t			 i;

	if (sv->n == 0) {
		snprintf(err, errlen, "the nsq output needs at least one "
		    "server in [output] servers");
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->s = s;
	h->loop = s->w->loop;
	LIST_INIT(&h->socks);
	buf_init(&h->path);
	buf_init(&h->url);
	buf_init(&h->reasons);
	ev_timer_init(&h->timer, timer_cb, 0., 0.);
	h->timer.data = h;
	s->sink = h;		/* from here on close() cleans up */

	nsq_limits_default(&h->limits);
	if ((why = nsq_limits_check(&h->limits)) != NULL) {
		snprintf(err, errlen, "nsq limits: %s", why);
		goto fail;
	}
	if ((h->servers = calloc(sv->n, sizeof(*h->servers))) == NULL ||
	    (h->failing = calloc(sv->n, sizeof(*h->failing))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < sv->n; i++) {
		if ((h->servers[i] = strdup(sv->v[i])) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		h->nservers++;
	}

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s",
		    curl_easy_strerror(rc));
		goto fail;
	}
	h->global_init = 1;

	/*
	 * Content-Type: nsqd takes the body as the message, whatever it is.
	 * An empty "Expect:" stops libcurl from waiting for
	 * "100 Continue" before larger bodies, a round trip nsqd never
	 * needs.
	 */
	if ((l = curl_slist_append(NULL,
	    "Content-Type: application/octet-stream")) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->headers = l;
	if ((l = curl_slist_append(h->headers, "Expect:")) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->headers = l;

	if ((h->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		goto fail;
	}
	if ((h->easy = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		goto fail;
	}
	if (multi_setup(h, err, errlen) == -1 ||
	    easy_setup(h, err, errlen) == -1)
		goto fail;
	for (i = 0; i < h->nservers; i++)
		if (strncasecmp(h->servers[i], "tcp://", 6) == 0) {
			/* sink_for() never picks us for those */
			snprintf(err, errlen, "[output] servers = \"%s\": the "
			    "nsq HTTP output takes host:port", h->servers[i]);
			goto fail;
		}
	log_info("nsq: publishing over HTTP to %zu server%s, first %s",
	    h->nservers, h->nservers == 1 ? "" : "s", h->servers[0]);
	return 0;
fail:
	sink_nsq_http_close(s);
	return -1;
}

const struct sink_ops sink_nsq_http_ops = {
	.name = "nsq",
	.open = sink_nsq_http_open,
	.publish = sink_nsq_http_publish,
	.close = sink_nsq_http_close,
};
