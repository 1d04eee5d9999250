/* The JSON writer over yajl_gen; see jsonw.h. */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "utf8.h"

_Static_assert(sizeof(long long) == sizeof(int64_t),
    "yajl_gen_integer takes a long long");

/* yajl prints straight into the caller's buf: no second copy. */
static void
print_buf(void *ctx, const char *s, size_t len)
{
	buf_add(ctx, s, len);
}

void
jsonw_init(struct jsonw *w, struct buf *out, int flags)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->flags = flags;
	if ((w->g = yajl_gen_alloc(NULL)) == NULL) {
		w->failed = 1;
		return;
	}
	if (!yajl_gen_config(w->g, yajl_gen_print_callback, print_buf, out))
		w->failed = 1;
	if ((flags & JSONW_UTF8) &&
	    !yajl_gen_config(w->g, yajl_gen_validate_utf8, 1))
		w->failed = 1;
	if ((flags & JSONW_PRETTY) &&
	    (!yajl_gen_config(w->g, yajl_gen_beautify, 1) ||
	    !yajl_gen_config(w->g, yajl_gen_indent_string, "  ")))
		w->failed = 1;
}

int
jsonw_finish(struct jsonw *w)
{
	int	 rc = 0;

	if (w->g != NULL)
		yajl_gen_free(w->g);
	w->g = NULL;
	/* exactly one value, every container closed */
	if (w->failed || w->depth != 0 || w->values != 1 ||
	    buf_failed(w->out)) {
		w->failed = 1;
		w->out->failed = 1;
		rc = -1;
	}
	return rc;
}

int
jsonw_failed(const struct jsonw *w)
{
	return w->failed;
}

/*
 * The result of one yajl call.  yajl itself forgets an error at the next
 * call (a key refused, then a string accepted), so we remember it.
 * Returns whether to go on.
 */
static int
step(struct jsonw *w, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok) {
		w->failed = 1;
		return 0;
	}
	return 1;
}

/* A value (or a container's opening) at the top counts toward one. */
static void
counted(struct jsonw *w)
{
	if (w->depth == 0)
		w->values++;
}

/*
 * Our own bytes for a value yajl does not write the way we want (Go's
 * string escaping, Go's floats): yajl writes `ph`, a placeholder of the
 * same kind, so that it puts the separator and indentation in and keeps
 * its state; then the placeholder is taken back and the caller appends
 * the real bytes in its place.  In pretty mode yajl ends a complete
 * document with a newline after the value: *nl says to put it back.
 * 0, or -1 (failed) when the output does not end as expected.
 */
static int
take_back(struct jsonw *w, const char *ph, size_t len, int *nl)
{
	struct buf	*b = w->out;
	size_t		 n;

	*nl = (w->flags & JSONW_PRETTY) && w->depth == 0;
	n = len + (*nl ? 1 : 0);
	if (buf_failed(b) || b->len < n ||
	    memcmp(b->p + b->len - n, ph, len) != 0 ||
	    (*nl && b->p[b->len - 1] != '\n')) {
		w->failed = 1;
		return -1;
	}
	b->len -= n;
	b->p[b->len] = '\0';
	return 0;
}

static void
put_string(struct jsonw *w, const char *s, size_t len)
{
	int	 nl;

	if (w->failed)
		return;
	if (s == NULL) {
		w->failed = 1;
		return;
	}
	if (!(w->flags & JSONW_GO)) {
		/* yajl's own check lets overlong forms through */
		if ((w->flags & JSONW_UTF8) && !utf8_valid(s, len)) {
			w->failed = 1;
			return;
		}
		if (step(w, yajl_gen_string(w->g, (const unsigned char *)s,
		    len)))
			counted(w);
		return;
	}
	if (!step(w, yajl_gen_string(w->g, (const unsigned char *)"", 0)) ||
	    take_back(w, "\"\"", 2, &nl) == -1)
		return;
	encode_json_string(w->out, s, len);
	if (nl)
		buf_addc(w->out, '\n');
	counted(w);
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	/* yajl knows a key from a value by its place: both are strings. */
	put_string(w, key, key != NULL ? strlen(key) : 0);
}

void
jsonw_string(struct jsonw *w, const char *s)
{
	put_string(w, s, s != NULL ? strlen(s) : 0);
}

void
jsonw_stringn(struct jsonw *w, const char *s, size_t len)
{
	put_string(w, s, len);
}

void
jsonw_map_open(struct jsonw *w)
{
	if (w->failed || !step(w, yajl_gen_map_open(w->g)))
		return;
	counted(w);
	w->depth++;
}

void
jsonw_map_close(struct jsonw *w)
{
	if (w->failed || !step(w, yajl_gen_map_close(w->g)))
		return;
	w->depth--;
}

void
jsonw_array_open(struct jsonw *w)
{
	if (w->failed || !step(w, yajl_gen_array_open(w->g)))
		return;
	counted(w);
	w->depth++;
}

void
jsonw_array_close(struct jsonw *w)
{
	if (w->failed || !step(w, yajl_gen_array_close(w->g)))
		return;
	w->depth--;
}

void
jsonw_int64(struct jsonw *w, int64_t v)
{
	if (w->failed || !step(w, yajl_gen_integer(w->g, (long long)v)))
		return;
	counted(w);
}

void
jsonw_uint64(struct jsonw *w, uint64_t v)
{
	char	 num[24];
	int	 n;

	if (w->failed)
		return;
	/* yajl_gen_integer is signed: above INT64_MAX it would wrap */
	n = snprintf(num, sizeof(num), "%" PRIu64, v);
	if (n < 0 || (size_t)n >= sizeof(num)) {
		w->failed = 1;
		return;
	}
	if (step(w, yajl_gen_number(w->g, num, (size_t)n)))
		counted(w);
}

void
jsonw_double(struct jsonw *w, double v)
{
	int	 nl;

	if (w->failed)
		return;
	/* no JSON for them; encode_json_float would write null */
	if (!isfinite(v)) {
		w->failed = 1;
		return;
	}
	if (!step(w, yajl_gen_number(w->g, "0", 1)) ||
	    take_back(w, "0", 1, &nl) == -1)
		return;
	encode_json_float(w->out, v);
	if (nl)
		buf_addc(w->out, '\n');
	counted(w);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the whole string. */
static int
is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

void
jsonw_number(struct jsonw *w, const char *num)
{
	if (w->failed)
		return;
	/* yajl_gen_number copies whatever it is given */
	if (num == NULL || !is_number(num)) {
		w->failed = 1;
		return;
	}
	if (step(w, yajl_gen_number(w->g, num, strlen(num))))
		counted(w);
}

void
jsonw_bool(struct jsonw *w, int v)
{
	if (w->failed || !step(w, yajl_gen_bool(w->g, v)))
		return;
	counted(w);
}

void
jsonw_null(struct jsonw *w)
{
	if (w->failed || !step(w, yajl_gen_null(w->g)))
		return;
	counted(w);
}

int
jsonw_error_body(struct buf *out, const char *msg, long index)
{
	struct jsonw	 w;

	jsonw_init(&w, out, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "error");
	jsonw_string(&w, msg);
	if (index >= 0) {
		jsonw_key(&w, "index");
		jsonw_int64(&w, index);
	}
	jsonw_map_close(&w);
	return jsonw_finish(&w);
}
