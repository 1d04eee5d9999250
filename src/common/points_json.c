/*
 * Parsing /post bodies and plugin output.  Compatible with what the Go
 * agent accepted: keys are matched case-insensitively and unknown keys
 * are ignored, as Go's encoding/json does; a non-integer timestamp or a
 * string value is an error, as it was there (or as it broke the router).
 *
 * Lenient mode drops a bad point: from the error on, every callback is
 * ignored until the array element that held it is closed, which the
 * count of open containers (`level`) tells.
 */
#include "points_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include <yajl/yajl_parse.h>

#include "json_fast.h"
#include "json_surrogate.h"
#include "point.h"

enum post_key {
	KEY_NONE = 0,
	KEY_NAME,
	KEY_TIMESTAMP,
	KEY_TAGS,
	KEY_VALUE,
	KEY_OTHER		/* ignored, whatever its value */
};

/* Containers open while a dropped point is skipped; past it, the body
 * fails as a whole (yajl keeps a byte per level). */
#define DROP_MAX_LEVEL	1024

struct post_ctx {
	enum points_json_mode	 mode;
	const char		*prefix;
	const char		*host;
	int64_t			 now;
	enum out_format		 fmt;
	struct buf		*out;
	size_t			 start;		/* of this body in `out` */
	size_t			 outmax;
	struct post_result	*res;
	int			 depth;		/* 1 = in the array, 2 = point,
						 * 3 = tags */
	int			 skip;		/* nesting of an ignored value */
	enum post_key		 key;
	char			 tagkey[POINT_TAG_MAX + 1];
	size_t			 tagkeylen;
	struct point_shown	 tagshow;	/* tag_shown()'s */
	int			 in_point;
	struct point		 p;
	size_t			 index;		/* of the current point */
	int			 level;		/* containers open, the top
						 * array included */
	int			 dropping;	/* lenient: skipping a point */
};

static int
post_fail(struct post_ctx *c, int at_point, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The tag key for a message, made when one is (the raw bytes may be
 * anything: point_show()). */
static const char *
tag_shown(struct post_ctx *c)
{
	return point_show(&c->tagshow, c->tagkey, c->tagkeylen);
}

/*
 * A dropped point is behind us once the containers inside the array
 * element are closed (level back to 1, the top array): the next element
 * starts clean.
 */
static void
drop_end(struct post_ctx *c)
{
	if (!c->dropping || c->level != 1)
		return;
	c->dropping = 0;
	point_free(&c->p);
	c->in_point = 0;
	c->index++;
	c->depth = 1;
	c->skip = 0;
	c->key = KEY_NONE;
}

/* A container opened (delta 1) or closed (-1) while dropping. */
static int
drop_step(struct post_ctx *c)
{
	if (c->level > DROP_MAX_LEVEL) {
		snprintf(c->res->err, sizeof(c->res->err), "point %zu: "
		    "nesting deeper than %d", c->index, DROP_MAX_LEVEL);
		return 0;
	}
	drop_end(c);
	return 1;
}

static int
post_fail(struct post_ctx *c, int at_point, const char *fmt, ...)
{
	char	 msg[400];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!at_point) {
		snprintf(c->res->err, sizeof(c->res->err), "%s", msg);
		return 0;	/* stops yajl */
	}
	/* lenient: only the first reason is kept */
	if (c->mode == POINTS_JSON_STRICT || c->res->ndropped == 0) {
		c->res->bad_index = (long)c->index;
		snprintf(c->res->err, sizeof(c->res->err), "point %zu: %s",
		    c->index, msg);
	}
	if (c->mode == POINTS_JSON_STRICT)
		return 0;
	c->res->ndropped++;
	c->dropping = 1;
	drop_end(c);
	return 1;
}

/* A value inside an ignored key: count nesting, accept anything. */
static int
post_skipping(struct post_ctx *c, int delta)
{
	if (c->skip == 0)
		return 0;
	c->skip += delta;
	if (c->skip > POST_MAX_DEPTH)
		return -1;
	return 1;
}

static int
post_scalar_done(struct post_ctx *c)
{
	if (c->skip > 0 && c->skip == 1)
		c->skip = 0;
	c->key = KEY_NONE;
	return 1;
}

static int
cb_null(void *ctx)
{
	struct post_ctx	*c = ctx;

	if (c->dropping)
		return 1;
	if (c->skip > 0)
		return post_scalar_done(c);
	if (c->depth == 2 && c->key == KEY_TIMESTAMP) {
		/* Go leaves a null timestamp at 0: "now" */
		c->p.timestamp = 0;
		return post_scalar_done(c);
	}
	/*
	 * The Go agent's Metric has `json:"tags"` without omitempty: its
	 * clients and plugins with nil Tags send "tags":null, which Go
	 * read as no tags.
	 */
	if (c->depth == 2 && c->key == KEY_TAGS)
		return post_scalar_done(c);
	if (c->depth == 2 && c->key == KEY_VALUE)
		return post_fail(c, 1, "value is null; a number or a boolean "
		    "is required");
	if (c->depth == 3)
		return post_fail(c, 1, "tag %s is null, not a string",
		    tag_shown(c));
	if (c->depth == 2 && c->key == KEY_NAME)
		return post_fail(c, 1, "name is null, not a string");
	return post_fail(c, c->depth >= 1, "unexpected null");
}

static int
cb_boolean(void *ctx, int v)
{
	struct post_ctx	*c = ctx;

	if (c->dropping)
		return 1;
	if (c->skip > 0)
		return post_scalar_done(c);
	if (c->depth == 2 && c->key == KEY_VALUE) {
		point_set_bool(&c->p, v);
		return post_scalar_done(c);
	}
	if (c->depth == 3)
		return post_fail(c, 1, "tag %s is a boolean, not a string",
		    tag_shown(c));
	if (c->depth == 2 && c->key == KEY_TIMESTAMP)
		return post_fail(c, 1, "timestamp must be an integer");
	if (c->depth == 2 && c->key == KEY_TAGS)
		return post_fail(c, 1, "tags must be an object");
	if (c->depth == 2)
		return post_fail(c, 1, "name must be a string");
	return post_fail(c, c->depth >= 1, c->depth == 1 ? "not an object" :
	    "the body must be a JSON array of points");
}

/* An integer of at most 18 digits, optionally negative: 1 with it, else 0. */
static int
small_int(const char *s, size_t len, long long *out)
{
	size_t		 i = 0;
	long long	 v = 0;
	int		 neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || len - i > 18)
		return 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

/* A number that is not a small integer, NUL-terminated in num. */
static int
number_set(struct post_ctx *c, const char *num, size_t len)
{
	char		*end;
	long long	 ll;
	double		 d;
	int		 integral;

	integral = strpbrk(num, ".eE") == NULL;
	if (c->key == KEY_TIMESTAMP) {
		errno = 0;
		ll = strtoll(num, &end, 10);
		if (!integral || errno != 0 || *end != '\0')
			return post_fail(c, 1, "timestamp %.64s%s is not an "
			    "integer of seconds, ms, us or ns", num,
			    len > 64 ? "..." : "");
		c->p.timestamp = ll;
		return post_scalar_done(c);
	}
	errno = 0;
	/* "-0" is the float -0, as /write reads it, not the integer 0 */
	if (integral && !(num[0] == '-' && strspn(num + 1, "0") == len - 1)) {
		ll = strtoll(num, &end, 10);
		if (errno == 0 && *end == '\0') {
			point_set_int(&c->p, ll);
			return post_scalar_done(c);
		}
	}
	/*
	 * Any finite number is taken, rounded to the nearest double as
	 * Go's ParseFloat and InfluxDB do: so subnormals (1e-310) and
	 * numbers below them (1e-400 is 0), for which strtod() sets ERANGE
	 * too.  Beyond the double range is an error.  /write follows the
	 * same rule (points_line.h).
	 */
	errno = 0;
	d = strtod(num, &end);
	if (*end != '\0' || (errno == ERANGE && isinf(d)))
		return post_fail(c, 1, "value %.64s%s is out of range", num,
		    len > 64 ? "..." : "");
	point_set_float(&c->p, d);
	return post_scalar_done(c);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	struct post_ctx	*c = ctx;
	char		 small[64], *num = small;
	long long	 ll;
	int		 r;

	if (c->dropping)
		return 1;
	if (c->skip > 0)
		return post_scalar_done(c);
	if (c->depth == 3)
		return post_fail(c, 1, "tag %s is a number, not a string",
		    tag_shown(c));
	if (c->depth == 2 && c->key == KEY_TAGS)
		return post_fail(c, 1, "tags must be an object");
	if (c->depth != 2 || (c->key != KEY_VALUE && c->key != KEY_TIMESTAMP))
		return post_fail(c, c->depth >= 1, c->depth == 1 ?
		    "not an object" : c->depth == 2 ? "name must be a string" :
		    "the body must be a JSON array of points");
	/*
	 * Most numbers are short integers (timestamps, counters): yajl has
	 * checked the JSON grammar, so digits after an optional '-' are an
	 * integer; up to 18 of them fit an int64.  "-0" is left to the
	 * general way below (a float for a value).
	 */
	if (len <= 19 && (r = small_int(s, len, &ll)) == 1 &&
	    (ll != 0 || s[0] != '-')) {
		if (c->key == KEY_TIMESTAMP)
			c->p.timestamp = ll;
		else
			point_set_int(&c->p, ll);
		return post_scalar_done(c);
	}
	/* any finite decimal, however long it is written: on the heap */
	if (len >= sizeof(small) && (num = malloc(len + 1)) == NULL)
		return post_fail(c, 1, "out of memory");
	memcpy(num, s, len);
	num[len] = '\0';
	r = number_set(c, num, len);
	if (num != small)
		free(num);
	return r;
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct post_ctx	*c = ctx;

	if (c->dropping)
		return 1;
	if (c->skip > 0)
		return post_scalar_done(c);
	if (c->depth == 3) {
		if (point_add_tag(&c->p, c->tagkey, c->tagkeylen,
		    (const char *)s, len) == -1)
			return post_fail(c, 1, "tag %s: %s", tag_shown(c),
			    memchr(c->tagkey, '\0', c->tagkeylen) != NULL ||
			    memchr(s, '\0', len) != NULL ? "holds a NUL byte" :
			    len > POINT_TAG_MAX ? "value too long" :
			    c->p.ntags >= POINT_TAGS_MAX ? "too many tags" :
			    "out of memory");
		return 1;
	}
	if (c->depth == 2 && c->key == KEY_NAME) {
		if (len > POINT_NAME_MAX)
			return post_fail(c, 1, "name longer than %d bytes",
			    POINT_NAME_MAX);
		if (point_set_name(&c->p, (const char *)s, len) == -1)
			return post_fail(c, 1, "name %s", memchr(s, '\0',
			    len) != NULL ? "holds a NUL byte" :
			    "out of memory");
		return post_scalar_done(c);
	}
	if (c->depth == 2 && c->key == KEY_VALUE)
		return post_fail(c, 1, "value is a string; a number or a "
		    "boolean is required");
	if (c->depth == 2 && c->key == KEY_TIMESTAMP)
		return post_fail(c, 1, "timestamp must be an integer");
	if (c->depth == 2 && c->key == KEY_TAGS)
		return post_fail(c, 1, "tags must be an object");
	return post_fail(c, c->depth >= 1, c->depth == 1 ? "not an object" :
	    "the body must be a JSON array of points");
}

/*
 * A map or an array opens: what a dropped point or an ignored value
 * makes of it.  -1 when the caller must look at it, else yajl's answer.
 */
static int
nest_in(struct post_ctx *c)
{
	int	 r;

	c->level++;
	if (c->dropping)
		return drop_step(c);
	if ((r = post_skipping(c, 1)) != 0)
		return r == 1 ? 1 : post_fail(c, 1, "nesting deeper than %d",
		    POST_MAX_DEPTH);
	return -1;
}

static int
cb_start_map(void *ctx)
{
	struct post_ctx	*c = ctx;
	int		 r;

	if ((r = nest_in(c)) != -1)
		return r;
	if (c->depth == 1) {
		point_init(&c->p);
		c->in_point = 1;
		c->depth = 2;
		c->key = KEY_NONE;
		return 1;
	}
	if (c->depth == 2 && c->key == KEY_TAGS) {
		c->depth = 3;
		return 1;
	}
	if (c->depth == 2 && c->key == KEY_VALUE)
		return post_fail(c, 1, "value is an object; a number or a "
		    "boolean is required");
	if (c->depth == 3)
		return post_fail(c, 1, "tag %s is an object, not a string",
		    tag_shown(c));
	if (c->depth == 2)
		return post_fail(c, 1, "%s must not be an object",
		    c->key == KEY_NAME ? "name" : "timestamp");
	return post_fail(c, 0, "the body must be a JSON array of points");
}

static enum post_key
key_of(const unsigned char *k, size_t len)
{
	const char	*s = (const char *)k;

	/* by length first: most keys are one of these, a compare each */
	switch (len) {
	case 4:
		if (strncasecmp(s, "name", 4) == 0)
			return KEY_NAME;
		if (strncasecmp(s, "tags", 4) == 0)
			return KEY_TAGS;
		break;
	case 5:
		if (strncasecmp(s, "value", 5) == 0)
			return KEY_VALUE;
		break;
	case 9:
		if (strncasecmp(s, "timestamp", 9) == 0)
			return KEY_TIMESTAMP;
		break;
	}
	return KEY_OTHER;
}

static int
cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct post_ctx	*c = ctx;

	if (c->dropping)
		return 1;
	if (c->skip > 0)
		return 1;
	if (c->depth == 3) {
		if (len > POINT_TAG_MAX)
			return post_fail(c, 1, "tag key longer than %d bytes",
			    POINT_TAG_MAX);
		memcpy(c->tagkey, k, len);
		c->tagkey[len] = '\0';
		c->tagkeylen = len;
		return 1;
	}
	c->key = key_of(k, len);
	if (c->key == KEY_OTHER)
		c->skip = 1;
	return 1;
}

static int
cb_end_map(void *ctx)
{
	struct post_ctx	*c = ctx;
	char		 err[400];

	c->level--;
	if (c->dropping)
		return drop_step(c);
	if (c->skip > 0) {
		if (--c->skip == 1) {
			c->skip = 0;
			c->key = KEY_NONE;
		}
		return 1;
	}
	if (c->depth == 3) {
		c->depth = 2;
		c->key = KEY_NONE;
		return 1;
	}
	/* a point is complete */
	if (point_normalize(&c->p, c->prefix, c->host, c->now, err,
	    sizeof(err)) == -1)
		return post_fail(c, 1, "%s", err);
	/* refused here, not dropped by InfluxDB after a 200 */
	if (c->fmt == FORMAT_LINE &&
	    point_check_line(&c->p, err, sizeof(err)) == -1)
		return post_fail(c, 1, "%s", err);
	if (c->res->npoints > 0)
		buf_addc(c->out, '\n');
	encode_point(c->out, c->fmt, &c->p);
	c->res->npoints++;
	if (c->outmax > 0 && c->out->len - c->start > c->outmax) {
		points_toobig(c->res, c->outmax);
		return 0;
	}
	point_free(&c->p);
	c->in_point = 0;
	c->index++;
	c->depth = 1;
	return 1;
}

static int
cb_start_array(void *ctx)
{
	struct post_ctx	*c = ctx;
	int		 r;

	if ((r = nest_in(c)) != -1)
		return r;
	if (c->depth == 0) {
		c->depth = 1;
		return 1;
	}
	if (c->depth == 1)
		return post_fail(c, 1, "not an object");
	if (c->depth == 3)
		return post_fail(c, 1, "tag %s is an array, not a string",
		    tag_shown(c));
	return post_fail(c, 1, "%s must not be an array",
	    c->key == KEY_VALUE ? "value" : c->key == KEY_TAGS ? "tags" :
	    c->key == KEY_NAME ? "name" : "timestamp");
}

static int
cb_end_array(void *ctx)
{
	struct post_ctx	*c = ctx;

	c->level--;
	if (c->dropping)
		return drop_step(c);
	if (c->skip > 0) {
		if (--c->skip == 1) {
			c->skip = 0;
			c->key = KEY_NONE;
		}
		return 1;
	}
	c->depth = 0;
	return 1;
}

void
points_toobig(struct post_result *res, size_t outmax)
{
	res->toobig = 1;
	res->bad_index = -1;
	snprintf(res->err, sizeof(res->err), "the points of this body take "
	    "more than %zu bytes once encoded, the most one request can "
	    "carry; send fewer per request", outmax);
}

static const yajl_callbacks post_callbacks = {
	cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array
};

/* A context for one body, fresh: again when the plain reader gave up. */
static void
post_ctx_init(struct post_ctx *c, const struct post_ctx *tmpl)
{
	*c = *tmpl;
	point_init(&c->p);
}

/* The body through yajl: 0, or -1 with res->err. */
static int
post_yajl(struct post_ctx *c, const char *body, size_t len)
{
	yajl_handle	 h;
	yajl_status	 st;
	unsigned char	*msg;
	size_t		 n;
	int		 rv = 0;

	if ((h = yajl_alloc(&post_callbacks, NULL, c)) == NULL) {
		snprintf(c->res->err, sizeof(c->res->err), "out of memory");
		return -1;
	}
	st = yajl_parse(h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_client_canceled)
		rv = -1;
	else if (st != yajl_status_ok) {
		msg = yajl_get_error(h, 0, (const unsigned char *)body, len);
		/* yajl ends its message with a newline: not in ours */
		n = msg != NULL ? strcspn((const char *)msg, "\n") : 0;
		snprintf(c->res->err, sizeof(c->res->err), "invalid JSON at "
		    "byte %zu: %.*s", yajl_get_bytes_consumed(h), (int)n,
		    msg != NULL ? (const char *)msg : "");
		if (msg != NULL)
			yajl_free_error(h, msg);
		if (n == 0)
			strlcat(c->res->err, "parse error",
			    sizeof(c->res->err));
		rv = -1;
	}
	yajl_free(h);
	return rv;
}

/* The body's points gone from out, which is as it was before. */
static void
post_out_reset(struct buf *out, size_t start)
{
	if (buf_failed(out))
		return;
	out->len = start;
	if (out->p != NULL)
		out->p[start] = '\0';
}

/*
 * The plain reader first (json_fast.h): the same callbacks, the same
 * outcome, without yajl's cost.  What it does not take goes to yajl
 * whole, which also says what is wrong with it.
 */
int
points_json_parse(const char *body, size_t len, enum points_json_mode mode,
    const char *prefix, const char *host, int64_t now, enum out_format fmt,
    struct buf *out, size_t outmax, struct post_result *res)
{
	struct post_ctx	 tmpl, c;
	size_t		 start = out->len, n;
	int		 rv = 0;

	memset(res, 0, sizeof(*res));
	res->bad_index = -1;
	/*
	 * A client is told; a plugin's string keeps yajl's "?" (which of
	 * its points held it cannot be told before the parse).
	 */
	if (mode == POINTS_JSON_STRICT &&
	    (n = json_lone_surrogate(body, len, 0)) != JSON_SURROGATE_NONE) {
		snprintf(res->err, sizeof(res->err), "invalid JSON at byte %zu: "
		    "\"%.6s\" is half of a surrogate pair, not a character",
		    n, body + n);
		return -1;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.mode = mode;
	tmpl.prefix = prefix;
	tmpl.host = host;
	tmpl.now = now;
	tmpl.fmt = fmt;
	tmpl.out = out;
	tmpl.start = out->len;
	tmpl.outmax = outmax;
	tmpl.res = res;
	post_ctx_init(&c, &tmpl);
	switch (json_fast_parse(&post_callbacks, &c, body, len)) {
	case JSON_FAST_OK:
		break;
	case JSON_FAST_CANCELED:
		rv = -1;
		break;
	case JSON_FAST_NOT_PLAIN:
		point_free(&c.p);
		post_out_reset(out, start);
		memset(res, 0, sizeof(*res));
		res->bad_index = -1;
		post_ctx_init(&c, &tmpl);
		rv = post_yajl(&c, body, len);
		break;
	}
	if (rv == 0 && buf_failed(out)) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		rv = -1;
	}
	point_free(&c.p);
	if (rv == -1) {
		res->npoints = 0;
		/* a whole-body failure in lenient mode is no point's fault */
		if (mode == POINTS_JSON_LENIENT || res->toobig)
			res->bad_index = -1;
		res->ndropped = 0;
		post_out_reset(out, start);
	}
	return rv;
}
