/*
 * The front's HTTP server (see front_http.c): the http-parser callbacks,
 * which build a connection's current request (conn->cur) from its
 * input and count header bytes against limits.max_header and body
 * bytes against limits.max_body.  They never send or close; the most
 * they do to the connection is queue a 100 Continue and move its
 * deadline from the head to the body.  To refuse a
 * request they set conn->err_status and stop the parser, and
 * front_http_conn_process() answers.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "front_http_int.h"
#include "log.h"

/*
 * Parser callbacks.  Returning non-zero stops the parser; err_status
 * then says which answer the client gets (413, 431, 500, 501), else 400.
 */

static int
hdr_account(struct http_conn *c, size_t n)
{
	struct http_req	*r = c->cur;

	if (n > SIZE_MAX - r->hdr_bytes ||
	    r->hdr_bytes + n > c->srv->lim.max_header) {
		c->err_status = 431;
		return -1;
	}
	r->hdr_bytes += n;
	return 0;
}

static int
on_message_begin(http_parser *p)
{
	struct http_conn	*c = p->data;

	if (c->cur != NULL)
		front_http_req_destroy(c->cur);
	if ((c->cur = front_http_req_new(c->srv)) == NULL) {
		log_warn("%s: %s", __func__, c->name);
		c->err_status = 500;
		return -1;
	}
	c->cur->start = ev_now(c->srv->loop);
	return 0;
}

/*
 * Header size is counted from what the callbacks see plus the fixed
 * punctuation of each line: exact for well-formed requests.  Padding
 * the callbacks do not see (extra spaces) is bounded by http-parser's
 * own limit (HTTP_MAX_HEADER_SIZE, 80 KiB), which we also answer with
 * 431; that one also wins if max_header is set higher.
 */
static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;
	size_t			 extra = 0;

	if (r->url.len == 0)	/* "METHOD " and " HTTP/1.1\r\n" */
		extra = strlen(http_method_str(
		    (enum http_method)p->method)) + 12;
	if (hdr_account(c, len + extra) == -1)
		return -1;
	if (buf_add(&r->url, at, len) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;
	size_t			 i;

	if (r->in_value || (r->hname_len == 0 && !r->hname_long)) {
		/* A new header line: ": " and CRLF. */
		r->in_value = 0;
		r->hname_len = 0;
		r->hname_long = 0;
		r->hname_space = 0;
		if (hdr_account(c, 4) == -1)
			return -1;
	}
	if (hdr_account(c, len) == -1)
		return -1;
	/* http-parser, not strict, lets a space into a name (not a tab) */
	if (memchr(at, ' ', len) != NULL)
		r->hname_space = 1;
	for (i = 0; i < len; i++) {
		if (r->hname_len + 1 >= sizeof(r->hname)) {
			r->hname_long = 1;
			break;
		}
		r->hname[r->hname_len++] = at[i];
	}
	r->hname[r->hname_len] = '\0';
	return 0;
}

/*
 * Which header a value belongs to, and whether it is kept: the first
 * Content-Type and Authorization count (a second cannot override), every
 * Expect line is joined.  Origin, Sec-Fetch-Site and Host are kept for
 * the handlers' browser checks; a second Host is refused (RFC 9112 3.2)
 * and a second Sec-Fetch-Site spoils the first.
 */
static enum hdr_kind
hdr_classify(struct http_conn *c, struct http_req *r)
{
	if (r->hname_long)
		return HDR_OTHER;
	if (strcasecmp(r->hname, "content-type") == 0)
		return r->seen_ctype++ ? HDR_OTHER : HDR_CTYPE;
	if (strcasecmp(r->hname, "expect") == 0)
		return HDR_EXPECT;
	if (strcasecmp(r->hname, "authorization") == 0)
		return r->seen_auth++ ? HDR_OTHER : HDR_AUTH;
	if (strcasecmp(r->hname, "origin") == 0)
		return r->seen_origin++ ? HDR_OTHER : HDR_ORIGIN;
	if (strcasecmp(r->hname, "sec-fetch-site") == 0) {
		if (r->seen_sfs++)
			r->seen_sfs = 2;
		return r->seen_sfs == 1 ? HDR_SFS : HDR_OTHER;
	}
	if (strcasecmp(r->hname, "transfer-encoding") == 0)
		return HDR_TE;
	if (strcasecmp(r->hname, "host") == 0) {
		if (r->seen_host++) {
			c->err_status = 400;
			c->err_why = "more than one Host header";
		}
		return HDR_HOST;
	}
	return HDR_OTHER;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;
	struct buf		*d = NULL;

	if (!r->in_value) {
		r->in_value = 1;
		/*
		 * "Content-Length : 2" is a header named "Content-Length ",
		 * which http-parser does not take for the body's length:
		 * the body would be read as the next request.  RFC 9112 5.1
		 * says to refuse it.
		 */
		if (r->hname_space) {
			/* http-parser's tokens and the space: printable */
			snprintf(c->err_text, sizeof(c->err_text), "header "
			    "\"%.64s%s\": a space in a header field name "
			    "(before its colon?)", r->hname, r->hname_long ?
			    "..." : "");
			c->err_status = 400;
			c->err_why = c->err_text;
			return -1;
		}
		r->cur_hdr = hdr_classify(c, r);
		if (c->err_status != 0)
			return -1;
		/* several lines are one list (RFC 9110 5.3) */
		if (r->cur_hdr == HDR_TE && r->te.len > 0 &&
		    buf_add(&r->te, ", ", 2) == -1) {
			c->err_status = 500;
			return -1;
		}
	}
	if (hdr_account(c, len) == -1)
		return -1;
	switch (r->cur_hdr) {
	case HDR_CTYPE:
		d = &r->ctype;
		break;
	case HDR_EXPECT:
		d = &r->expect;
		break;
	case HDR_AUTH:
		d = &r->auth;
		break;
	case HDR_ORIGIN:
		d = &r->origin;
		break;
	case HDR_SFS:
		d = &r->sfs;
		break;
	case HDR_HOST:
		d = &r->host;
		break;
	case HDR_TE:
		d = &r->te;
		break;
	default:
		break;
	}
	if (d != NULL && buf_add(d, at, len) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

/*
 * http-parser reads a body as chunked when chunked is the last coding,
 * whatever comes before it: "gzip, chunked" would hand the handler a
 * gzip body as if it were plain.  Only chunked alone is done here; the
 * rest is 501 naming what was sent (RFC 9112 6.1).  Chunked not last,
 * or with a Content-Length, http-parser refuses itself (400, as RFC 9112
 * 6.3 says).
 */
static int
te_refused(struct http_conn *c, const struct http_req *r)
{
	const char	*v = r->te.p;
	size_t		 n = r->te.len, i, o;
	char		 shown[65];

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 7 && strncasecmp(v, "chunked", 7) == 0)
		return 0;
	/* printable ASCII only: it goes into the JSON answer */
	for (i = o = 0; i < n && o < sizeof(shown) - 1; i++)
		shown[o++] = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' &&
		    v[i] != '\\' ? v[i] : '?';
	shown[o] = '\0';
	snprintf(c->err_text, sizeof(c->err_text), "Transfer-Encoding "
	    "\"%s%s\": only chunked is implemented", shown, i < n ? "..." :
	    "");
	c->err_status = 501;
	c->err_why = c->err_text;
	return 1;
}

/* Seconds the body may take: a floor, then a least rate. */
static double
body_deadline(const struct http_limits *lim, uint64_t len)
{
	if (lim->body_timeout <= 0)
		return 0;
	if (lim->body_rate == 0)
		return lim->body_timeout;
	return lim->body_timeout + (double)len / (double)lim->body_rate;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;
	const struct http_limits *lim = &c->srv->lim;
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	int			 body;

	if (hdr_account(c, 2) == -1)
		return -1;
	if ((p->flags & F_CHUNKED) && te_refused(c, r))
		return -1;
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > lim->max_body) {
		c->err_status = 413;
		return -1;
	}
	body = (p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	/*
	 * The head is in; the body gets its own deadline, by its declared
	 * size (a chunked one may grow to max_body).
	 */
	if (body)
		front_http_conn_deadline(c, HTTP_PHASE_BODY, body_deadline(lim,
		    (p->flags & F_CHUNKED) ? lim->max_body :
		    p->content_length));
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0 &&
	    buf_reserve(&r->body, p->content_length) == -1) {
		c->err_status = 500;
		return -1;
	}
	/*
	 * Clients that ask (curl does for larger bodies) would otherwise
	 * wait a second before sending the body; the size was checked, so
	 * let it come.
	 */
	if (body && r->expect.len > 0 && p->http_major == 1 &&
	    p->http_minor >= 1 &&
	    strcasecmp(r->expect.p, "100-continue") == 0 &&
	    front_http_out_append(c, cont, sizeof(cont) - 1) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
on_chunk_header(http_parser *p)
{
	struct http_conn	*c = p->data;

	/* content_length is the size of the chunk announced. */
	if (p->content_length > c->srv->lim.max_body - c->cur->body.len) {
		c->err_status = 413;
		return -1;
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;

	if (len > c->srv->lim.max_body - r->body.len) {
		c->err_status = 413;
		return -1;
	}
	if (buf_add(&r->body, at, len) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->cur;

	r->hmethod = p->method;
	front_http_conn_deadline(c, HTTP_PHASE_NONE, 0);
	/* We do not switch protocols: answer, then close. */
	r->keepalive = http_should_keep_alive(p) && !p->upgrade;
	http_parser_pause(p, 1);
	return 0;
}

/* Read-only: the parser keeps its state in each connection's parser. */
const http_parser_settings front_http_parser_callbacks = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};
