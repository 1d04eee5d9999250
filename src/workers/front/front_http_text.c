/*
 * Small helpers of the front's HTTP server (see front_http.c): a
 * growable buffer, percent-decoding, log-safe copies, reason phrases,
 * method bits and the Allow header, JSON error bodies, and the query
 * parameters of the public interface.  Nothing here touches a
 * descriptor, an event or the log.
 */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <http_parser.h>

#include "buf.h"
#include "jsonw.h"
#include "front_http.h"
#include "front_http_int.h"

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Next byte of [*sp, end) with %XX decoded (and '+' as a space when
 * `plus').  -1 for a broken escape, and for %00: every consumer of
 * these strings treats them as C strings, where a NUL would silently
 * cut the value short.
 */
int
front_http_pct_next(const char **sp, const char *end, int plus)
{
	const char	*s = *sp;
	int		 hi, lo;

	if (*s == '%') {
		if (end - s < 3 || (hi = hexval((unsigned char)s[1])) == -1 ||
		    (lo = hexval((unsigned char)s[2])) == -1)
			return -1;
		if (hi == 0 && lo == 0)
			return -1;
		*sp = s + 3;
		return hi << 4 | lo;
	}
	*sp = s + 1;
	if (plus && *s == '+')
		return ' ';
	return (unsigned char)*s;
}

/* Copy for a log line: attacker-chosen bytes must not forge log lines. */
const char *
front_http_logstr(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

const char *
front_http_reason(int status)
{
	const char	*r;

	r = http_status_str((enum http_status)status);
	if (r == NULL || r[0] == '<')
		return "Unknown";
	return r;
}

unsigned
front_http_method_bit(unsigned m)
{
	switch (m) {
	case HTTP_GET:
		return HTTP_M_GET;
	case HTTP_HEAD:
		return HTTP_M_HEAD;
	case HTTP_POST:
		return HTTP_M_POST;
	case HTTP_PUT:
		return HTTP_M_PUT;
	case HTTP_DELETE:
		return HTTP_M_DELETE;
	default:
		return 0;
	}
}

/* "Allow: ...\r\n" for a route; HEAD rides along with GET. */
void
front_http_allow_header(unsigned methods, char *buf, size_t len)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ HTTP_M_GET, "GET" },
		{ HTTP_M_HEAD, "HEAD" },
		{ HTTP_M_POST, "POST" },
		{ HTTP_M_PUT, "PUT" },
		{ HTTP_M_DELETE, "DELETE" },
	};
	size_t	 i;
	int	 first = 1;

	if (methods & HTTP_M_GET)
		methods |= HTTP_M_HEAD;
	strlcpy(buf, "Allow: ", len);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((methods & names[i].bit) == 0)
			continue;
		if (!first)
			strlcat(buf, ", ", len);
		strlcat(buf, names[i].name, len);
		first = 0;
	}
	strlcat(buf, "\r\n", len);
}

/*
 * {"error": msg}, malloc'ed.  yajl escapes; a decoded path can hold
 * anything, so a message that is not UTF-8 (by utf8_valid(): yajl's own
 * check lets overlong forms through) goes out with its non-ASCII bytes
 * as '?'.
 */
char *
front_http_json_error(const char *msg, size_t *lenp)
{
	struct buf	 b;
	struct jsonw	 w;
	char		*safe = NULL;
	const char	*text = msg;
	size_t		 i;

	buf_init(&b);
	for (;;) {
		jsonw_init(&w, &b, JSONW_UTF8);
		jsonw_map_open(&w);
		jsonw_key(&w, "error");
		jsonw_string(&w, text);
		jsonw_map_close(&w);
		if (jsonw_finish(&w) == 0 || safe != NULL)
			break;
		/* not UTF-8: say it in ASCII rather than not at all */
		if ((safe = strdup(msg)) == NULL)
			break;
		for (i = 0; safe[i] != '\0'; i++)
			if ((unsigned char)safe[i] >= 0x80)
				safe[i] = '?';
		text = safe;
		buf_reset(&b);
	}
	free(safe);
	if (buf_failed(&b)) {
		buf_free(&b);
		return NULL;
	}
	*lenp = b.len;
	return b.p;
}

/*
 * A value of the urlencoded pairs, [s, end): its decoded length, -1 for
 * a broken escape, or HTTP_PARAM_NUL when it holds a NUL byte, raw (a
 * form body is any bytes) or as %00.
 */
static long
param_value_check(const char *s, const char *end)
{
	long	 n = 0;
	int	 ch, nul = 0;

	while (s < end) {
		if (end - s >= 3 && memcmp(s, "%00", 3) == 0) {
			/* front_http_pct_next() takes it for broken */
			nul = 1;
			s += 3;
		} else if ((ch = front_http_pct_next(&s, end, 1)) == -1)
			return -1;
		else if (ch == 0)
			nul = 1;
		n++;
	}
	return nul ? HTTP_PARAM_NUL : n;
}

/*
 * First `key' in the urlencoded pairs of [s, end) wins.  Both names and
 * values are decoded ('+' is a space); like Go's url.ParseQuery, a pair
 * with a broken escape is skipped, so a later well-formed one can match.
 * A name holding a NUL byte is no key's.  The value's length,
 * HTTP_PARAM_ABSENT, HTTP_PARAM_NUL when the value holds a NUL byte
 * (raw or %00: it would be cut short in buf), HTTP_PARAM_TOOLONG when
 * it does not fit in len - 1 bytes, or HTTP_PARAM_BADESCAPE when the key
 * is only in pairs whose value has a broken escape: the client did send
 * it, and taking it for absent would use a default it did not ask for.
 */
int
front_http_param_find(const char *s0, const char *endall, const char *key,
    char *buf, size_t len)
{
	const char	*q, *end, *eq, *s, *k;
	size_t		 n;
	long		 vlen;
	int		 ch, ok, broken = 0;

	for (q = s0; q < endall; q = end < endall ? end + 1 : end) {
		if ((end = memchr(q, '&', endall - q)) == NULL)
			end = endall;
		if ((eq = memchr(q, '=', end - q)) == NULL)
			eq = end;
		s = q;
		k = key;
		ok = 1;
		while (s < eq) {
			ch = front_http_pct_next(&s, eq, 1);
			if (ch == -1 || *k == '\0' || (unsigned char)*k != ch) {
				ok = 0;
				break;
			}
			k++;
		}
		if (!ok || *k != '\0')
			continue;
		s = eq < end ? eq + 1 : end;
		if ((vlen = param_value_check(s, end)) == -1) {
			broken = 1;
			continue;
		}
		if (vlen == HTTP_PARAM_NUL)
			return HTTP_PARAM_NUL;
		if ((size_t)vlen + 1 > len || vlen >= INT_MAX)
			return HTTP_PARAM_TOOLONG;
		for (n = 0; s < end; n++)
			buf[n] = (char)front_http_pct_next(&s, end, 1);
		buf[n] = '\0';
		return (int)n;
	}
	return broken ? HTTP_PARAM_BADESCAPE : HTTP_PARAM_ABSENT;
}

int
front_http_query_param(const struct http_request *req, const char *key,
    char *buf,
    size_t len)
{
	if (req == NULL || req->query == NULL || key == NULL || buf == NULL ||
	    len == 0)
		return HTTP_PARAM_ABSENT;
	return front_http_param_find(req->query,
	    req->query + strlen(req->query), key, buf, len);
}
