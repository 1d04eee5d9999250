/*
 * The front's HTTP server (see front_http.c): responses queued on a
 * connection's output, and the handler's side of answering a request
 * (front_http_respond() and its variants, the handler timeout).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_http.h"
#include "front_http_int.h"
#include "log.h"

#define HTTP_CTYPE_MAX		128

static const char fallback_error[] = "{\"error\":\"internal error\"}";

/*
 * Connections: output
 */

int
front_http_out_append(struct http_conn *c, const char *data, size_t n)
{
	size_t	 ncap;
	char	*p;

	if (n == 0)
		return 0;
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (n > SIZE_MAX - c->outlen)
		return -1;
	if (c->outlen + n > c->outcap) {
		ncap = c->outcap ? c->outcap : 4096;
		while (ncap < c->outlen + n) {
			if (ncap > SIZE_MAX / 2) {
				ncap = c->outlen + n;
				break;
			}
			ncap *= 2;
		}
		if ((p = realloc(c->out, ncap)) == NULL)
			return -1;
		c->out = p;
		c->outcap = ncap;
	}
	memcpy(c->out + c->outlen, data, n);
	c->outlen += n;
	return 0;
}

/*
 * Queue one response.  Sending happens in front_http_conn_flush(); a
 * connection that cannot take the response (no memory) is killed.
 */
static void
conn_send(struct http_conn *c, int status, const char *ctype,
    const char *body, size_t len, int head, int keepalive, const char *extra)
{
	char	 hdr[512 + HTTP_XHDR_MAX];
	int	 n, nobody;

	if (c->dead)
		return;
	if (c->drain)
		keepalive = 0;
	/*
	 * Whoever answered, the handler or the server itself (a 404, a
	 * 504): a kept-alive connection is idle again once it is sent, and
	 * may be evicted for a newcomer (conn_idle()).
	 */
	if (!keepalive)
		c->closing = 1;
	else
		c->answered = 1;
	/* RFC 9110 8.6: no Content-Length (and no body) in 204 or 304. */
	nobody = status == 204 || status == 304;
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n", status,
	    front_http_reason(status));
	if (n > 0 && (size_t)n < sizeof(hdr) && !nobody)
		n += snprintf(hdr + n, sizeof(hdr) - n,
		    "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len);
	if (n > 0 && (size_t)n < sizeof(hdr))
		n += snprintf(hdr + n, sizeof(hdr) - n, "Connection: %s\r\n%s%s"
		    "\r\n", keepalive ? "keep-alive" : "close",
		    status == 503 ? "Retry-After: 1\r\n" : "",
		    extra != NULL ? extra : "");
	if (n <= 0 || (size_t)n >= sizeof(hdr)) {
		log_warnx("%s: %s: response header too long", __func__,
		    c->name);
		front_http_conn_kill(c);
		return;
	}
	/* GET /metrics counts what was answered */
	if (status >= HTTP_CODE_FIRST &&
	    status < HTTP_CODE_FIRST + HTTP_CODE_SLOTS)
		c->srv->codes[status - HTTP_CODE_FIRST]++;
	if (front_http_out_append(c, hdr, n) == -1 ||
	    (!head && !nobody && front_http_out_append(c, body, len) == -1)) {
		log_warn("%s: %s: queueing response", __func__, c->name);
		front_http_conn_kill(c);
	}
}

void
front_http_conn_send_error(struct http_conn *c, int status, const char *msg,
    int head, int keepalive, const char *extra)
{
	char	*body;
	size_t	 len;

	if ((body = front_http_json_error(msg, &len)) == NULL) {
		conn_send(c, status, "application/json", fallback_error,
		    sizeof(fallback_error) - 1, head, keepalive, extra);
		return;
	}
	conn_send(c, status, "application/json", body, len, head, keepalive,
	    extra);
	free(body);
}

/*
 * Public interface
 */

void
front_http_respond(struct http_request *req, int status, const char *ctype,
    const char *body, size_t len)
{
	struct http_req		*r = req->priv;
	struct http_conn	*c = r->conn;
	char			 pbuf[HTTP_LOGSTR_MAX];
	size_t			 i;

	if (c == NULL) {
		log_debug("%s: #%llu %s: %s, dropping answer %d", __func__,
		    (unsigned long long)req->id,
		    front_http_logstr(r->path, pbuf, sizeof(pbuf)),
		    r->timed_out ? "504 already sent" : "connection gone",
		    status);
		front_http_req_destroy(r);
		return;
	}
	if (status < 200 || status > 599) {
		log_warnx("%s: #%llu %s: bad status %d, sending 500", __func__,
		    (unsigned long long)req->id,
		    front_http_logstr(r->path, pbuf, sizeof(pbuf)), status);
		status = 500;
	}
	if (ctype == NULL || *ctype == '\0')
		ctype = "text/plain; charset=utf-8";
	for (i = 0; ctype[i] != '\0' && i <= HTTP_CTYPE_MAX; i++)
		if ((unsigned char)ctype[i] < 0x20 || ctype[i] == 0x7f)
			break;
	if (ctype[i] != '\0') {
		/* A CR or LF here would let a handler forge headers. */
		log_warnx("%s: #%llu: unusable content type", __func__,
		    (unsigned long long)req->id);
		ctype = "application/octet-stream";
	}
	if (body == NULL)
		len = 0;
	front_http_conn_enter(c);
	ev_timer_stop(c->srv->loop, &r->timer);
	c->inflight = NULL;
	r->conn = NULL;
	front_http_req_log(c, r, status, len);
	conn_send(c, status, ctype, body, len, r->head, r->keepalive,
	    r->xhdr.len > 0 ? buf_str(&r->xhdr) : NULL);
	front_http_req_destroy(r);
	/*
	 * Called from the handler while front_http_conn_process() is
	 * dispatching: it goes on with the next request itself.  Called
	 * later: resume.
	 */
	if (c->busy == 1)
		front_http_conn_process(c);
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}

int
front_http_request_set_timeout(struct http_request *req, double seconds)
{
	struct http_req		*r = req->priv;
	struct http_server	*srv = r->srv;

	if (r->conn == NULL)
		return -1;
	ev_timer_stop(srv->loop, &r->timer);
	r->timeout = seconds;
	if (seconds > 0) {
		ev_timer_set(&r->timer, seconds, 0.);
		ev_timer_start(srv->loop, &r->timer);
	}
	return 0;
}

void
front_http_respond_json(struct http_request *req, int status, const char *json)
{
	front_http_respond(req, status, "application/json", json,
	    json != NULL ? strlen(json) : 0);
}

void
front_http_respond_error(struct http_request *req, int status, const char *msg)
{
	char	*body;
	size_t	 len;

	if ((body = front_http_json_error(msg != NULL ? msg : "",
	    &len)) == NULL) {
		log_warn("%s", __func__);
		front_http_respond(req, status, "application/json",
		    fallback_error, sizeof(fallback_error) - 1);
		return;
	}
	front_http_respond(req, status, "application/json", body, len);
	free(body);
}
