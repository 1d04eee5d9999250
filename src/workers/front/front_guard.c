/*
 * The browser checks of changing requests (front_guard.h).
 *
 * A web page cannot read our answers (no CORS), but it can make a
 * browser on this host send requests: a GET from an <img>, a POST with
 * a text/plain or form body, and after DNS rebinding any request to a
 * name the attacker resolves to 127.0.0.1, from a loopback address we
 * trust.  Browsers mark every such request: Origin on cross-origin ones
 * (and on every POST), Sec-Fetch-Site on all of them ("none" only when
 * the user typed the URL), and Host is the name the page used.  curl,
 * the sdk clients and other programs send neither Origin nor
 * Sec-Fetch-Site, and name the agent by its address or by a name the
 * operator knows.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "front.h"
#include "front_guard.h"
#include "log.h"

/* A Host value longer than any name (253) plus a port is no name. */
#define HOST_MAX	300
/* Bytes of a client's value shown back in an error. */
#define SHOW_MAX	64

/* "" or ":" and 1-65535 in decimal. */
static int
port_ok(const char *s)
{
	size_t	 n;
	long	 v = 0;

	if (*s == '\0')
		return 1;
	if (*s++ != ':')
		return 0;
	n = strspn(s, "0123456789");
	if (n == 0 || n > 5 || s[n] != '\0')
		return 0;
	for (; *s != '\0'; s++)
		v = v * 10 + (*s - '0');
	return v >= 1 && v <= 65535;
}

int
front_guard_host_ok(const char *host, const char *self,
    const struct strlist *names)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*rb, *colon;
	char		 h[HOST_MAX + 1];
	size_t		 n, i;

	/* Optional white space around a field value (RFC 9110 5.5). */
	n = strlen(host);
	while (n > 0 && (host[n - 1] == ' ' || host[n - 1] == '\t'))
		n--;
	if (n == 0 || n > HOST_MAX)
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (h[0] == '[') {
		if ((rb = strchr(h, ']')) == NULL || !port_ok(rb + 1))
			return 0;
		h[rb - h] = '\0';
		return inet_pton(AF_INET6, h + 1, &a6) == 1;
	}
	if ((colon = strchr(h, ':')) != NULL) {
		if (!port_ok(colon))
			return 0;
		h[colon - h] = '\0';
	}
	if (h[0] == '\0')
		return 0;
	if (inet_pton(AF_INET, h, &a4) == 1 || strcasecmp(h, "localhost") == 0)
		return 1;
	if (self != NULL && self[0] != '\0' && strcasecmp(h, self) == 0)
		return 1;
	for (i = 0; names != NULL && i < names->n; i++)
		if (strcasecmp(h, names->v[i]) == 0)
			return 1;
	return 0;
}

/* A client's value fit for an error message: printable ASCII, cut. */
static const char *
show(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	return buf;
}

const char *
front_guard_why(const struct http_request *req, const char *self,
    const struct strlist *names, char *buf, size_t len)
{
	char	 v[SHOW_MAX];

	if (req->origin != NULL) {
		snprintf(buf, len, "the request carries Origin \"%s\": web "
		    "pages may not change this agent",
		    show(req->origin, v, sizeof(v)));
		return buf;
	}
	if (req->sec_fetch_site != NULL &&
	    strcmp(req->sec_fetch_site, "none") != 0) {
		snprintf(buf, len, "the request carries Sec-Fetch-Site \"%s\": "
		    "web pages may not change this agent",
		    show(req->sec_fetch_site, v, sizeof(v)));
		return buf;
	}
	/* Browsers cannot reach the unix socket; its clients name it freely. */
	if (req->via == HTTP_VIA_UNIX || req->host == NULL ||
	    front_guard_host_ok(req->host, self, names))
		return NULL;
	snprintf(buf, len, "Host \"%s\" does not name this agent: use its "
	    "address, localhost or its host name, or list the name in "
	    "[agent] hostnames", show(req->host, v, sizeof(v)));
	return buf;
}

int
front_guard_pass(struct front *f, const struct http_request *req)
{
	char	 why[256];

	return front_guard_why(req, f->host, &f->w->conf.hostnames, why,
	    sizeof(why)) == NULL;
}

int
front_guard_check(struct front *f, struct http_request *req)
{
	const char	*why;
	char		 buf[256], peer[80], path[64], note[80];

	if ((why = front_guard_why(req, f->host, &f->w->conf.hostnames, buf,
	    sizeof(buf))) == NULL)
		return 1;
	if (front_throttle_pass(f, &f->refused_guard, note, sizeof(note)))
		log_info("%s from %s refused: %s%s", show(req->path, path,
		    sizeof(path)), front_http_peer_str(req, peer,
		    sizeof(peer)), why, note);
	front_http_respond_error(req, 403, why);
	return 0;
}
