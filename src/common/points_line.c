/*
 * Parsing /write bodies: InfluxDB 1.x line protocol (points_line.h for
 * the syntax and how lines map to points).  A line is read in full before
 * any of its points is made, and the whole body is refused at the first
 * bad line; nothing it produced stays in `out` then.
 */
#include "points_line.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "point.h"
#include "utf8.h"

#define SHOW_MAX	64	/* bytes of a key or token in a message */
#define TOKEN_MAX	128	/* bytes of a timestamp; of a field value
				 * on the stack (longer: on the heap) */

/*
 * Each field of a line is a point of its own repeating the line's tags
 * (up to 63 of 256-byte keys and values): one 19 KB line of 700 fields
 * made 11.6 MB of points, and a few dozen such requests filled a 1 GiB
 * spool.  So a line holds at most LP_FIELDS_MAX fields (Telegraf's widest
 * inputs have some tens), and a body makes at most LP_OUT_RATIO times its
 * size in points, or LP_OUT_FLOOR for a small one: about what the most
 * verbose honest line (short fields, the json output) makes.
 */
#define LP_FIELDS_MAX	256
#define LP_OUT_RATIO	64
#define LP_OUT_FLOOR	(1024 * 1024)

/* A field of the current line; its key lives in the scratch buffer. */
struct lp_field {
	size_t			 koff, klen;
	enum point_kind		 kind;
	int64_t			 ival;
	double			 fval;
	int			 bval;
};

struct lp {
	const char		*prefix;
	const char		*host;
	int64_t			 now;
	int64_t			 mul, div;	/* timestamp -> seconds */
	enum out_format		 fmt;
	struct buf		*out;
	size_t			 start;		/* of this body in `out` */
	size_t			 outmax;
	int			 by_ratio;	/* outmax is LP_OUT_RATIO's */
	size_t			 len;		/* of the body */
	struct post_result	*res;

	size_t			 lineno;	/* 1-based, every line */
	size_t			 index;		/* 0-based, data lines */
	const char		*s, *end;	/* the rest of the line */

	struct buf		 scratch;	/* unescaped text */
	struct buf		 name;		/* of the point being made */
	size_t			 moff, mlen;	/* the measurement */
	struct lp_field		*fields;
	size_t			 nfields, fcap;
	struct point		 p;
};

static const struct {
	const char	*name;
	int64_t		 mul, div;
} precisions[] = {
	{ "n", 1, 1000000000 }, { "ns", 1, 1000000000 },
	{ "u", 1, 1000000 }, { "us", 1, 1000000 },
	{ "ms", 1, 1000 }, { "s", 1, 1 },
	{ "m", 60, 1 }, { "h", 3600, 1 },
};

static int
precision_find(const char *precision, int64_t *mul, int64_t *div)
{
	size_t	 i;

	if (precision == NULL || *precision == '\0')
		precision = "n";
	for (i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++)
		if (strcmp(precisions[i].name, precision) == 0) {
			*mul = precisions[i].mul;
			*div = precisions[i].div;
			return 0;
		}
	return -1;
}

int
points_line_precision_valid(const char *precision)
{
	int64_t	 mul, div;

	return precision_find(precision, &mul, &div);
}


/*
 * `"text"` for a message, from len bytes that may hold anything: quotes
 * and backslashes escaped, control bytes and bytes that are not UTF-8 as
 * \xHH, cut after SHOW_MAX bytes with "..." after the closing quote.
 */
struct shown {
	char	 s[4 * SHOW_MAX + 8];
};

static const char *
show(struct shown *sh, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n;
	uint32_t		 cp;

	sh->s[o++] = '"';
	while (i < len && i < SHOW_MAX) {
		n = utf8_seq(u + i, len - i, &cp);
		if (n > 1 && i + n > SHOW_MAX)
			break;
		if (n == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			o += (size_t)snprintf(sh->s + o, sizeof(sh->s) - o,
			    "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\')
			sh->s[o++] = '\\';
		memcpy(sh->s + o, s + i, n);
		o += n;
		i += n;
	}
	sh->s[o++] = '"';
	if (i < len) {
		memcpy(sh->s + o, "...", 3);
		o += 3;
	}
	sh->s[o] = '\0';
	return sh->s;
}

static const char *
scratch_at(struct lp *l, size_t off)
{
	return l->scratch.p + off;
}

static int	 lp_fail(struct lp *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Always -1: the current line is at fault. */
static int
lp_fail(struct lp *l, const char *fmt, ...)
{
	char	 msg[400];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->res->bad_index = (long)l->index;
	snprintf(l->res->err, sizeof(l->res->err), "line %zu: %s",
	    l->lineno, msg);
	return -1;
}

static int
is_in(char c, const char *set)
{
	return memchr(set, c, strlen(set)) != NULL;
}

static void
skip_spaces(struct lp *l)
{
	while (l->s < l->end && *l->s == ' ')
		l->s++;
}

/*
 * Read an escaped element up to an unescaped byte of `stops` or the end
 * of the line, appending it unescaped to the scratch buffer: a backslash
 * before a byte of `escapable` stands for that byte, before anything else
 * it is itself.
 */
static int
scan_escaped(struct lp *l, const char *escapable, const char *stops,
    size_t *off, size_t *len)
{
	const char	*run = l->s;

	*off = l->scratch.len;
	while (l->s < l->end && !is_in(*l->s, stops)) {
		if (*l->s != '\\') {
			l->s++;
			continue;
		}
		if (l->s + 1 == l->end)
			return lp_fail(l, "backslash at the end of the line "
			    "escapes nothing");
		if (is_in(l->s[1], escapable)) {
			buf_add(&l->scratch, run, (size_t)(l->s - run));
			run = l->s + 1;		/* the escaped byte */
			l->s += 2;
		} else
			l->s++;
	}
	buf_add(&l->scratch, run, (size_t)(l->s - run));
	*len = l->scratch.len - *off;
	return 0;
}

static int
parse_tags(struct lp *l)
{
	struct shown	 sh;
	size_t		 koff, klen, voff, vlen;

	do {
		l->s++;			/* the ',' */
		if (scan_escaped(l, ",= ", ",= ", &koff, &klen) == -1)
			return -1;
		if (klen == 0)
			return lp_fail(l, "empty tag key");
		if (l->s == l->end || *l->s != '=')
			return lp_fail(l, "tag %s: no '=' after the key",
			    show(&sh, scratch_at(l, koff), klen));
		l->s++;
		if (scan_escaped(l, ",= ", ",= ", &voff, &vlen) == -1)
			return -1;
		if (l->s < l->end && *l->s == '=')
			return lp_fail(l, "tag %s: unescaped '=' in the value",
			    show(&sh, scratch_at(l, koff), klen));
		if (vlen == 0)
			return lp_fail(l, "tag %s: empty value",
			    show(&sh, scratch_at(l, koff), klen));
		if (buf_failed(&l->scratch))
			return lp_fail(l, "out of memory");
		if (klen > POINT_TAG_MAX)
			return lp_fail(l, "tag %s: key longer than %d bytes",
			    show(&sh, scratch_at(l, koff), klen),
			    POINT_TAG_MAX);
		if (vlen > POINT_TAG_MAX)
			return lp_fail(l, "tag %s: value longer than %d bytes",
			    show(&sh, scratch_at(l, koff), klen),
			    POINT_TAG_MAX);
		if (l->p.ntags >= POINT_TAGS_MAX)
			return lp_fail(l, "more than %d tags", POINT_TAGS_MAX);
		if (point_add_tag(&l->p, scratch_at(l, koff), klen,
		    scratch_at(l, voff), vlen) == -1)
			return lp_fail(l, "out of memory");
	} while (l->s < l->end && *l->s == ',');
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* -?(d+(.d*)?|.d+)([eE][-+]?d+)? */
static int
float_syntax(const char *s, size_t n)
{
	size_t	 i = 0, j;

	if (i < n && s[i] == '-')
		i++;
	j = digits(s, i, n);
	if (j == i) {
		if (j >= n || s[j] != '.' || digits(s, j + 1, n) == j + 1)
			return 0;
	}
	i = j;
	if (i < n && s[i] == '.')
		i = digits(s, i + 1, n);
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		j = digits(s, i, n);
		if (j == i)
			return 0;
		i = j;
	}
	return i == n;
}

/* -?d+ (with_sign) or d+ */
static int
int_syntax(const char *s, size_t n, int with_sign)
{
	size_t	 i = 0;

	if (with_sign && n > 0 && s[0] == '-')
		i++;
	return i < n && digits(s, i, n) == n;
}

static int
nan_or_inf(const char *s, size_t n)
{
	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		n--;
	}
	return (n == 3 && (strncasecmp(s, "nan", 3) == 0 ||
	    strncasecmp(s, "inf", 3) == 0)) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0);
}

/* A numeric token tok of n bytes, NUL-terminated in num. */
static int
parse_number(struct lp *l, struct lp_field *f, const char *key,
    const char *tok, size_t n, char *num)
{
	struct shown		 sh2;
	char			*end;
	unsigned long long	 ull;
	long long		 ll;

	if (tok[n - 1] == 'i' && int_syntax(tok, n - 1, 1)) {
		num[n - 1] = '\0';
		errno = 0;
		ll = strtoll(num, &end, 10);
		if (errno == ERANGE)
			return lp_fail(l, "field %s: integer %s out of range",
			    key, show(&sh2, tok, n));
		f->kind = POINT_INT;
		f->ival = ll;
		return 0;
	}
	if (tok[n - 1] == 'u' && int_syntax(tok, n - 1, 0)) {
		num[n - 1] = '\0';
		errno = 0;
		ull = strtoull(num, &end, 10);
		if (errno == ERANGE || ull > INT64_MAX)
			return lp_fail(l, "field %s: unsigned %s is above "
			    "%lld, the largest integer accepted", key,
			    show(&sh2, tok, n), (long long)INT64_MAX);
		f->kind = POINT_INT;
		f->ival = (int64_t)ull;
		return 0;
	}
	if (!float_syntax(tok, n))
		return lp_fail(l, "field %s: invalid value %s: a number "
		    "(1.5, 12i, 12u) or a boolean is required", key,
		    show(&sh2, tok, n));
	errno = 0;
	f->fval = strtod(num, &end);
	if (errno == ERANGE && fabs(f->fval) == HUGE_VAL)
		return lp_fail(l, "field %s: %s is out of range", key,
		    show(&sh2, tok, n));
	f->kind = POINT_FLOAT;
	return 0;
}

static int
parse_value(struct lp *l, struct lp_field *f, const char *tok, size_t n)
{
	static const char *const trues[] = { "t", "T", "true", "True",
	    "TRUE" };
	static const char *const falses[] = { "f", "F", "false", "False",
	    "FALSE" };
	struct shown		 sh, sh2;
	const char		*key = show(&sh, scratch_at(l, f->koff),
				    f->klen);
	char			 small[TOKEN_MAX + 1], *num = small;
	size_t			 i;
	int			 rv;

	for (i = 0; i < sizeof(trues) / sizeof(trues[0]); i++) {
		if (strlen(trues[i]) == n && memcmp(trues[i], tok, n) == 0) {
			f->kind = POINT_BOOL;
			f->bval = 1;
			return 0;
		}
		if (strlen(falses[i]) == n && memcmp(falses[i], tok, n) == 0) {
			f->kind = POINT_BOOL;
			f->bval = 0;
			return 0;
		}
	}
	if (n == 0)
		return lp_fail(l, "field %s: no value", key);
	if (nan_or_inf(tok, n))
		return lp_fail(l, "field %s: %s: NaN and infinities are not "
		    "accepted", key, show(&sh2, tok, n));
	/* any finite decimal, however long it is written: on the heap */
	if (n > TOKEN_MAX && (num = malloc(n + 1)) == NULL)
		return lp_fail(l, "out of memory");
	memcpy(num, tok, n);
	num[n] = '\0';
	rv = parse_number(l, f, key, tok, n, num);
	if (num != small)
		free(num);
	return rv;
}

/* After "=": the end of a quoted string, or -1 (unterminated). */
static int
skip_string(struct lp *l)
{
	const char	*s = l->s + 1;

	while (s < l->end) {
		if (*s == '\\' && s + 1 < l->end &&
		    (s[1] == '"' || s[1] == '\\'))
			s += 2;
		else if (*s == '"') {
			l->s = s + 1;
			return 0;
		} else
			s++;
	}
	return -1;
}

static int
parse_fields(struct lp *l)
{
	struct shown	 sh;
	struct lp_field	*f;
	const char	*tok;
	size_t		 koff, klen, ncap;

	for (;;) {
		if (scan_escaped(l, ",= ", ",= ", &koff, &klen) == -1)
			return -1;
		if (buf_failed(&l->scratch))
			return lp_fail(l, "out of memory");
		if (klen == 0)
			return lp_fail(l, l->s == l->end && l->nfields == 0 ?
			    "no fields" : "empty field key");
		if (l->s == l->end || *l->s != '=')
			return lp_fail(l, "field %s: no '=' after the key",
			    show(&sh, scratch_at(l, koff), klen));
		l->s++;
		if (l->nfields == LP_FIELDS_MAX)
			return lp_fail(l, "more than %d fields: each is a "
			    "point of its own, with the line's tags",
			    LP_FIELDS_MAX);
		if (l->nfields == l->fcap) {
			/* doubled: a line may hold a body's worth of fields,
			 * and growing by a few would copy them all each time */
			ncap = l->fcap == 0 ? 16 : l->fcap * 2;
			f = reallocarray(l->fields, ncap, sizeof(*f));
			if (f == NULL)
				return lp_fail(l, "out of memory");
			l->fields = f;
			l->fcap = ncap;
		}
		f = &l->fields[l->nfields];
		memset(f, 0, sizeof(*f));
		f->koff = koff;
		f->klen = klen;
		if (l->s < l->end && *l->s == '"') {
			if (skip_string(l) == -1)
				return lp_fail(l, "field %s: unterminated "
				    "string", show(&sh, scratch_at(l, koff),
				    klen));
			return lp_fail(l, "field %s: strings are not "
			    "accepted as values", show(&sh,
			    scratch_at(l, koff), klen));
		}
		for (tok = l->s; l->s < l->end && *l->s != ',' &&
		    *l->s != ' '; l->s++)
			;
		if (parse_value(l, f, tok, (size_t)(l->s - tok)) == -1)
			return -1;
		l->nfields++;
		if (l->s == l->end || *l->s == ' ')
			return 0;
		l->s++;			/* the ',' */
	}
}

static int
parse_timestamp(struct lp *l, int64_t *ts)
{
	struct shown	 sh;
	const char	*tok;
	char		 num[TOKEN_MAX + 1], *end;
	long long	 ll;
	size_t		 n;

	*ts = 0;
	skip_spaces(l);
	if (l->s == l->end)
		return 0;
	for (tok = l->s; l->s < l->end && *l->s != ' ' && *l->s != '\t';
	    l->s++)
		;
	n = (size_t)(l->s - tok);
	while (l->s < l->end && (*l->s == ' ' || *l->s == '\t'))
		l->s++;
	if (l->s != l->end)
		return lp_fail(l, "unexpected %s after the timestamp",
		    show(&sh, l->s, (size_t)(l->end - l->s)));
	if (n > TOKEN_MAX || !int_syntax(tok, n, 1))
		return lp_fail(l, "timestamp %s is not an integer",
		    show(&sh, tok, n));
	memcpy(num, tok, n);
	num[n] = '\0';
	errno = 0;
	ll = strtoll(num, &end, 10);
	if (errno == ERANGE || (l->mul > 1 &&
	    (ll > INT64_MAX / l->mul || ll < INT64_MIN / l->mul)))
		return lp_fail(l, "timestamp %s out of range",
		    show(&sh, tok, n));
	*ts = (int64_t)ll * l->mul / l->div;
	return 0;
}

/* The points of a line that parsed, one per field. */
static int
emit(struct lp *l, int64_t ts)
{
	struct shown	 sh;
	struct lp_field	*f;
	char		 err[400];
	size_t		 i;

	for (i = 0; i < l->nfields; i++) {
		f = &l->fields[i];
		buf_reset(&l->name);
		buf_add(&l->name, scratch_at(l, l->moff), l->mlen);
		if (f->klen != 5 || memcmp(scratch_at(l, f->koff), "value",
		    5) != 0) {
			buf_addc(&l->name, '.');
			buf_add(&l->name, scratch_at(l, f->koff), f->klen);
		}
		if (buf_failed(&l->name))
			return lp_fail(l, "out of memory");
		if (l->name.len > POINT_NAME_MAX)
			return lp_fail(l, "name %s: longer than %d bytes",
			    show(&sh, l->name.p, l->name.len), POINT_NAME_MAX);
		if (point_set_name(&l->p, l->name.p, l->name.len) == -1)
			return lp_fail(l, "out of memory");
		switch (f->kind) {
		case POINT_INT:
			point_set_int(&l->p, f->ival);
			break;
		case POINT_FLOAT:
			point_set_float(&l->p, f->fval);
			break;
		default:
			point_set_bool(&l->p, f->bval);
			break;
		}
		l->p.timestamp = ts;
		/* The tags are normalized again for each field: a no-op. */
		if (point_normalize(&l->p, l->prefix, l->host, l->now, err,
		    sizeof(err)) == -1)
			return lp_fail(l, "%s", err);
		/* refused here, not dropped by InfluxDB after a 200 */
		if (l->fmt == FORMAT_LINE &&
		    point_check_line(&l->p, err, sizeof(err)) == -1)
			return lp_fail(l, "%s", err);
		if (l->res->npoints > 0)
			buf_addc(l->out, '\n');
		encode_point(l->out, l->fmt, &l->p);
		l->res->npoints++;
		/*
		 * A line's tags are repeated in every point of its fields,
		 * which may be as many as the body has room for: a small
		 * body can encode to gigabytes.  Stop at what one frame
		 * carries, not after building it all.
		 */
		if (l->outmax > 0 && l->out->len - l->start > l->outmax) {
			points_toobig(l->res, l->outmax);
			if (l->by_ratio)
				snprintf(l->res->err, sizeof(l->res->err),
				    "line %zu: the points of this body take "
				    "more than %zu bytes once encoded, the "
				    "most a body of %zu bytes may make (%d "
				    "times its size, 1 MiB at least: each "
				    "field is a point with the line's tags); "
				    "send fewer fields or shorter tags",
				    l->lineno, l->outmax, l->len, LP_OUT_RATIO);
			return -1;
		}
	}
	return 0;
}

/* One data line, [s, end): no newline, not blank, not a comment. */
static int
parse_line(struct lp *l)
{
	int64_t	 ts;

	if (memchr(l->s, '\0', (size_t)(l->end - l->s)) != NULL)
		return lp_fail(l, "NUL byte");
	buf_reset(&l->scratch);
	l->nfields = 0;
	if (scan_escaped(l, ", ", ", ", &l->moff, &l->mlen) == -1)
		return -1;
	if (l->mlen == 0)
		return lp_fail(l, "empty measurement");
	if (l->s < l->end && *l->s == ',' && parse_tags(l) == -1)
		return -1;
	if (l->s == l->end)
		return lp_fail(l, "no fields");
	skip_spaces(l);
	if (l->s == l->end)
		return lp_fail(l, "no fields");
	if (parse_fields(l) == -1 || parse_timestamp(l, &ts) == -1)
		return -1;
	return emit(l, ts);
}

static int
parse_body(struct lp *l, const char *body, size_t len)
{
	const char	*line, *nl, *stop = body + len;
	int		 rv;

	for (line = body; line < stop; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(stop - line))) == NULL)
			nl = stop;
		l->lineno++;
		l->s = line;
		l->end = nl;
		if (l->end > l->s && l->end[-1] == '\r')
			l->end--;
		while (l->s < l->end && (*l->s == ' ' || *l->s == '\t'))
			l->s++;
		if (l->s == l->end || *l->s == '#')
			continue;
		point_init(&l->p);
		rv = parse_line(l);
		point_free(&l->p);
		if (rv == -1)
			return -1;
		l->index++;
	}
	return 0;
}

int
points_line_parse(const char *body, size_t len, const char *prefix,
    const char *host, int64_t now, const char *precision,
    enum out_format fmt, struct buf *out, size_t outmax,
    struct post_result *res)
{
	struct lp	 l;
	struct shown	 sh;
	size_t		 start = out->len, ratio;
	int		 rv = 0;

	memset(res, 0, sizeof(*res));
	res->bad_index = -1;
	memset(&l, 0, sizeof(l));
	if (precision_find(precision, &l.mul, &l.div) == -1) {
		snprintf(res->err, sizeof(res->err), "precision %s: not one of "
		    "n, ns, u, us, ms, s, m, h", show(&sh, precision,
		    strlen(precision)));
		return -1;
	}
	l.prefix = prefix;
	l.host = host;
	l.now = now;
	l.fmt = fmt;
	l.out = out;
	l.start = start;
	l.outmax = outmax;
	l.len = len;
	ratio = len > LP_OUT_FLOOR / LP_OUT_RATIO ? (len > SIZE_MAX /
	    LP_OUT_RATIO ? SIZE_MAX : len * LP_OUT_RATIO) : LP_OUT_FLOOR;
	if (outmax == 0 || ratio < outmax) {
		l.outmax = ratio;
		l.by_ratio = 1;
	}
	l.res = res;
	buf_init(&l.scratch);
	buf_init(&l.name);
	point_init(&l.p);
	if (len > 0 && parse_body(&l, body, len) == -1)
		rv = -1;
	else if (buf_failed(out)) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		rv = -1;
	}
	buf_free(&l.scratch);
	buf_free(&l.name);
	free(l.fields);
	if (rv == -1) {
		res->npoints = 0;
		if (!buf_failed(out) && out->p != NULL) {
			out->len = start;
			out->p[start] = '\0';
		}
	}
	return rv;
}
