/* The request in flight of an HTTP output; see sink_http.h. */
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "sink_http.h"

void
sink_http_init(struct sink_http *r, struct sender *s, const char *tag,
    sender_http_done_fn end, sink_http_start_fn start, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->start = start;
	r->arg = arg;
	buf_init(&r->url);
	sender_http_init(&r->http, s, tag, end, arg);
}

void
sink_http_opened(const struct sink_http *r, const char *doing)
{
	log_info("%s: %s %zu server%s, first %s", r->http.tag, doing,
	    r->http.nservers, r->http.nservers == 1 ? "" : "s",
	    r->http.shown[0]);
}

void
sink_http_close(struct sink_http *r)
{
	sender_http_close(&r->http);
	r->busy = 0;
	r->body = NULL;
	buf_free(&r->url);
}

void
sink_http_send(struct sink_http *r, const char *body, size_t len)
{
	r->body = body;
	r->len = len;
	r->refused = REFUSED_NONE;
	sender_http_round_start(&r->http);
	r->start(r->arg);
}

void
sink_http_post(struct sink_http *r, const char *scheme, int base,
    const struct buf *path, const char *body, size_t len)
{
	const char	*server = sender_http_server(&r->http);
	size_t		 n = strlen(server);
	char		 why[256];
	int		 rc;

	while (base && n > 0 && server[n - 1] == '/')
		n--;
	buf_reset(&r->url);
	buf_adds(&r->url, scheme);
	buf_add(&r->url, server, n);
	buf_add(&r->url, path->p, path->len);
	if (buf_failed(&r->url)) {
		sink_http_done(r, 0, "out of memory for the URL");
		return;
	}
	rc = sender_http_post(&r->http, r->url.p, body, len, why,
	    sizeof(why));
	if (rc == -1)
		sink_http_failed(r, why);
	else if (rc == -2)
		sink_http_done(r, 0, why);
}

/* Every server was tried: what the refusals say, else failed. */
static void
round_over(struct sink_http *r)
{
	if (r->refused == REFUSED_SIZE)
		sink_http_toobig(r, r->tb_server, r->tb_kind, r->tb_stated,
		    r->refusal);
	else if (r->refused == REFUSED_DATA)
		sink_http_rejected(r, r->refusal);
	else
		sink_http_done(r, 0, sender_http_reasons(&r->http));
}

void
sink_http_failed(struct sink_http *r, const char *why)
{
	if (sender_http_failover(&r->http, why))
		r->start(r->arg);
	else
		round_over(r);
}

void
sink_http_refused(struct sink_http *r, const char *why)
{
	if (r->refused == REFUSED_NONE) {
		r->refused = REFUSED_DATA;
		strlcpy(r->refusal, why, sizeof(r->refusal));
	}
	if (sender_http_refused(&r->http, why))
		r->start(r->arg);
	else
		round_over(r);
}

void
sink_http_refused_size(struct sink_http *r, const char *server,
    enum sink_toobig kind, size_t stated, const char *why)
{
	if (r->refused != REFUSED_SIZE) {
		r->refused = REFUSED_SIZE;
		r->tb_kind = kind;
		r->tb_stated = stated;
		strlcpy(r->tb_server, server, sizeof(r->tb_server));
		strlcpy(r->refusal, why, sizeof(r->refusal));
	}
	if (sender_http_refused(&r->http, why))
		r->start(r->arg);
	else
		round_over(r);
}

/* Nothing is in flight any more; the sender may start the next now. */
static void
request_end(struct sink_http *r)
{
	r->busy = 0;
	r->body = NULL;
}

void
sink_http_done(struct sink_http *r, int ok, const char *err)
{
	request_end(r);
	sender_sink_done(r->s, ok, err);
}

void
sink_http_rejected(struct sink_http *r, const char *why)
{
	request_end(r);
	sender_sink_rejected(r->s, why);
}

void
sink_http_partial(struct sink_http *r, uint64_t dropped, const char *why)
{
	request_end(r);
	/* no request holds more: the sender bounds it by what it sent */
	sender_sink_partial(r->s, dropped > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)dropped, why);
}

void
sink_http_toobig(struct sink_http *r, const char *server,
    enum sink_toobig kind, size_t stated, const char *why)
{
	request_end(r);
	sender_sink_toobig(r->s, server, kind, stated, why);
}
