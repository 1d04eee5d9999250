/*
 * libFuzzer target for the front's parameter parsing and error bodies
 * (src/workers/front/front_http_text.c): the urlencoded pairs of a query
 * or a form body, and {"error": msg} for any message.
 *
 * Input: byte 0 picks the key looked for and the size of the buffer; the
 * rest is the query or body (any bytes: a form body is not a URL).
 *
 * front_http_param_find() is checked against a plain reading of the rules
 * written here again: pairs split at '&', name and value at the first
 * '=', %XX decoded and '+' a space; the first pair whose name is the key
 * wins; a pair with a broken escape is skipped (as Go's ParseQuery
 * does), but a key found only in such pairs is HTTP_PARAM_BADESCAPE; a
 * value holding a NUL byte, raw or %00, is HTTP_PARAM_NUL, and one that
 * does not fit HTTP_PARAM_TOOLONG.  And the error body of every
 * message is valid JSON, valid UTF-8, and says the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_tree.h"
#include "workers/front/front_http.h"
#include "workers/front/front_http_int.h"

#include "fuzz_common.h"

static const char *const keys[] = { "a", "ns", "msg", "a b", "k+", "" };

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* [s, e) decoded into out (room for e - s bytes); -1 on a broken escape. */
static long
decode(const char *s, const char *e, char *out)
{
	long	 n = 0;

	while (s < e) {
		if (*s == '%') {
			if (e - s < 3 || hex((unsigned char)s[1]) == -1 ||
			    hex((unsigned char)s[2]) == -1)
				return -1;
			out[n++] = (char)(hex((unsigned char)s[1]) << 4 |
			    hex((unsigned char)s[2]));
			s += 3;
		} else {
			out[n++] = *s == '+' ? ' ' : *s;
			s++;
		}
	}
	return n;
}

static int
reference(const char *s, const char *end, const char *key, size_t len,
    char *val)
{
	const char	*q, *amp, *eq;
	char		*name;
	long		 kn, vn;
	int		 rc = HTTP_PARAM_ABSENT;

	if ((name = malloc((size_t)(end - s) + 1)) == NULL)
		abort();
	for (q = s; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		if ((eq = memchr(q, '=', (size_t)(amp - q))) == NULL)
			eq = amp;
		kn = decode(q, eq, name);
		if (kn == -1 || (size_t)kn != strlen(key) ||
		    memcmp(name, key, (size_t)kn) != 0)
			goto next;
		vn = decode(eq < amp ? eq + 1 : amp, amp, val);
		if (vn == -1) {
			rc = HTTP_PARAM_BADESCAPE;
			goto next;
		}
		if (memchr(val, '\0', (size_t)vn) != NULL)
			rc = HTTP_PARAM_NUL;
		else if ((size_t)vn + 1 > len)
			rc = HTTP_PARAM_TOOLONG;
		else {
			val[vn] = '\0';
			rc = (int)vn;
		}
		break;
 next:
		if (amp == end)
			break;
	}
	free(name);
	return rc;
}

static void
check_error_body(const char *msg)
{
	yajl_val			 t, v;
	static const struct json_tree_opts lim = { 1 << 20, 4, 1 << 22, 0 };
	char				 err[256], *body;
	size_t				 len, i, mlen = strlen(msg);

	body = front_http_json_error(msg, &len);
	FUZZ_ASSERT(body != NULL, "no error body");
	t = json_tree_parse(body, len, &lim, err, sizeof(err));
	FUZZ_ASSERT(t != NULL, "error body is not JSON: %s: %s", err, body);
	FUZZ_ASSERT(YAJL_IS_OBJECT(t) && t->u.object.len == 1 &&
	    strcmp(t->u.object.keys[0], "error") == 0 &&
	    YAJL_IS_STRING(t->u.object.values[0]), "shape: %s", body);
	v = t->u.object.values[0];
	if (fuzz_utf8_ok(msg, mlen))
		FUZZ_ASSERT(strcmp(v->u.string, msg) == 0, "message changed");
	else {
		FUZZ_ASSERT(strlen(v->u.string) == mlen, "length changed");
		for (i = 0; i < mlen; i++)
			FUZZ_ASSERT(v->u.string[i] == msg[i] ||
			    v->u.string[i] == '?', "message changed");
	}
	json_tree_free(t);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*key, *s, *end;
	char		*buf, *ref, *msg;
	size_t		 len;
	int		 n, r;

	if (size < 1)
		return 0;
	key = keys[(data[0] & 7) % (sizeof(keys) / sizeof(keys[0]))];
	len = (size_t)(data[0] >> 3) + 1;	/* 1..32 */
	s = (const char *)data + 1;
	end = s + size - 1;
	if ((buf = malloc(len)) == NULL || (ref = malloc(size)) == NULL)
		abort();
	n = front_http_param_find(s, end, key, buf, len);
	r = reference(s, end, key, len, ref);
	FUZZ_ASSERT(n == r, "key \"%s\" in %zu bytes: %d, expected %d", key,
	    len, n, r);
	if (n >= 0)
		FUZZ_ASSERT(strcmp(buf, ref) == 0, "value \"%s\", expected "
		    "\"%s\"", buf, ref);
	free(buf);
	free(ref);

	/* The same bytes as an error message, up to a NUL. */
	if ((msg = strndup(s, size - 1)) == NULL)
		abort();
	check_error_body(msg);
	free(msg);
	return 0;
}
