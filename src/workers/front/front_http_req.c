/*
 * What a handler may ask of a request beyond its fields (see
 * front_http.h): where it came from, its form parameters, and extra
 * headers for its answer.  Nothing here touches a descriptor or an
 * event.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "front_http.h"
#include "front_http_int.h"
#include "sockdiag.h"

#define FORM_CTYPE	"application/x-www-form-urlencoded"

int
front_http_peer_loopback(const struct http_request *req)
{
	return req->via == HTTP_VIA_TCP && sockdiag_is_loopback(&req->peer);
}

const char *
front_http_peer_str(const struct http_request *req, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 a[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (req->via == HTTP_VIA_UNIX) {
		snprintf(buf, len, "unix");
		return buf;
	}
	switch (req->peer.ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)&req->peer;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			break;
		snprintf(buf, len, "%s", a);
		return buf;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&req->peer;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) == NULL)
			break;
		snprintf(buf, len, "[%s]", a);
		return buf;
	default:
		break;
	}
	snprintf(buf, len, "unknown");
	return buf;
}

/* RFC 9110 5.6.2 token characters. */
static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("!#$%&'*+-.^_`|~", *s) == NULL &&
		    !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

int
front_http_request_add_header(struct http_request *req, const char *name,
    const char *value)
{
	struct http_req	*r = req->priv;
	const char	*v;
	size_t		 n;

	if (name == NULL || value == NULL || !is_token(name))
		return -1;
	/* A CR or LF would let the value forge headers or a body. */
	for (v = value; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return -1;
	n = strlen(name) + 2 + strlen(value) + 2;
	if (n > HTTP_XHDR_MAX - r->xhdr.len)
		return -1;
	if (buf_add(&r->xhdr, name, strlen(name)) == -1 ||
	    buf_add(&r->xhdr, ": ", 2) == -1 ||
	    buf_add(&r->xhdr, value, strlen(value)) == -1 ||
	    buf_add(&r->xhdr, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* Content-Type is the form type, parameters (;charset=...) aside. */
static int
is_form(const char *ctype)
{
	size_t	 n = strlen(FORM_CTYPE);

	if (strncasecmp(ctype, FORM_CTYPE, n) != 0)
		return 0;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ' ||
	    ctype[n] == '\t';
}

int
front_http_form_param(const struct http_request *req, const char *key,
    char *buf,
    size_t len)
{
	int	 n, body = HTTP_PARAM_ABSENT;

	if (req == NULL || key == NULL || buf == NULL || len == 0)
		return HTTP_PARAM_ABSENT;
	if (req->method == HTTP_M_POST && req->body != NULL &&
	    req->content_type != NULL && is_form(req->content_type)) {
		body = front_http_param_find(req->body,
		    req->body + req->body_len, key, buf, len);
		/* a broken pair is skipped: the query may still have it */
		if (body != HTTP_PARAM_ABSENT && body != HTTP_PARAM_BADESCAPE)
			return body;
	}
	if (req->query == NULL)
		return body;
	n = front_http_param_find(req->query,
	    req->query + strlen(req->query), key, buf, len);
	return n == HTTP_PARAM_ABSENT ? body : n;
}
