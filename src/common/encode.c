/*
 * Output encodings (encode.h).  Both run once per point at the producer,
 * so they only append bytes: no parsing, no allocation besides the buf.
 *
 * Kept hand-written rather than over the JSON writer (jsonw.h): the same
 * point over jsonw costs 450-600 ns more (2.2x with integer values, 1.45x
 * mixed; bench/README.md, "JSON point encoder"), on the path that limits
 * /post.  jsonw uses this file's string and float encoders for JSONW_GO.
 */
#include "encode.h"
#include "encode_float.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

/*
 * Bytes a JSON string carries as they are: printable ASCII and DEL but
 * " \\ < > &.  Everything else takes the slow way below (escapes, UTF-8).
 */
static const unsigned char json_plain[256] = {
	[' ' ... '!'] = 1,		/* '"' */
	['#' ... '%'] = 1,		/* '&' */
	['\'' ... ';'] = 1,		/* '<' */
	['='] = 1,			/* '>' */
	['?' ... '['] = 1,		/* '\\' */
	[']' ... 0x7f] = 1,
};

const char *
encode_format_name(enum out_format f)
{
	switch (f) {
	case FORMAT_JSON:
		return "json";
	case FORMAT_LINE:
		return "line";
	}
	return "unknown";
}

int
encode_format_parse(const char *s, enum out_format *f)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "json") == 0)
		*f = FORMAT_JSON;
	else if (strcmp(s, "line") == 0)
		*f = FORMAT_LINE;
	else
		return -1;
	return 0;
}


/*
 * Go's encodeState.string with HTML escaping on (what json.Marshal
 * does): \" \\ \n \r \t; other bytes below 0x20 as \u00xx (lower-case
 * hex; Go before 1.22 wrote \b and \f this way too, and that is the Go
 * the lodastack agent was built with); < > & as \u003c \u003e \u0026;
 * U+2028 and U+2029 as \u2028 \u2029; each byte of invalid UTF-8 as
 * \ufffd.  Everything else, DEL and non-ASCII included, is copied.
 */
void
encode_json_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, start = 0, n;
	uint32_t		 cp;
	char			 esc[7];

	buf_addc(b, '"');
	while (i < len) {
		if (json_plain[u[i]]) {
			i++;
			continue;
		}
		if (u[i] < 0x80) {
			buf_add(b, s + start, i - start);
			switch (u[i]) {
			case '"':
			case '\\':
				esc[0] = '\\';
				esc[1] = (char)u[i];
				buf_add(b, esc, 2);
				break;
			case '\n':
				buf_add(b, "\\n", 2);
				break;
			case '\r':
				buf_add(b, "\\r", 2);
				break;
			case '\t':
				buf_add(b, "\\t", 2);
				break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = hexdig[u[i] >> 4];
				esc[5] = hexdig[u[i] & 0xf];
				buf_add(b, esc, 6);
				break;
			}
			start = ++i;
			continue;
		}
		if ((n = utf8_seq(u + i, len - i, &cp)) == 0) {
			buf_add(b, s + start, i - start);
			buf_add(b, "\\ufffd", 6);
			start = ++i;
			continue;
		}
		if (cp == 0x2028 || cp == 0x2029) {
			buf_add(b, s + start, i - start);
			buf_add(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
			start = i + n;
		}
		i += n;
	}
	buf_add(b, s + start, len - start);
	buf_addc(b, '"');
}

/*
 * Go's encoding/json floatEncoder for float64 (Go >= 1.8):
 *   fmt = 'f', or 'e' when |v| < 1e-6 or |v| >= 1e21 (v != 0);
 *   strconv.AppendFloat(v, fmt, -1, 64), i.e. shortest round-trip digits;
 *   then, for 'e', "e-0d" is cleaned up to "e-d" (e-07 -> e-7), while
 *   positive exponents keep strconv's two digits at least (1e+21).
 * So: 1 -> 1, 1e20 -> 100000000000000000000, 1e-6 -> 0.000001,
 * 1e-7 -> 1e-7, 1e21 -> 1e+21, 5e-324 -> 5e-324, -0 -> -0.
 * NaN and infinities have no JSON form (Go fails the whole Marshal);
 * point_normalize() rejects them, and "null" is written should one get
 * here anyway.
 */
void
encode_json_float(struct buf *b, double v)
{
	char	 dig[20], out[48];
	double	 a;
	int	 nd, exp10, dp, i, x;
	size_t	 o = 0;

	if (isnan(v) || isinf(v)) {
		buf_adds(b, "null");
		return;
	}
	if (v == 0) {
		buf_adds(b, signbit(v) ? "-0" : "0");
		return;
	}
	if ((nd = encode_float_digits(v, dig, &exp10)) == 0) {
		/* Not expected with a C library worth the name. */
		buf_printf(b, "%.17g", v);
		return;
	}
	if (v < 0)
		out[o++] = '-';
	a = fabs(v);
	if (a < 1e-6 || a >= 1e21) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			for (i = 1; i < nd; i++)
				out[o++] = dig[i];
		}
		out[o++] = 'e';
		x = exp10;
		if (x < 0) {
			out[o++] = '-';
			x = -x;
		} else {
			out[o++] = '+';
			if (x < 10)
				out[o++] = '0';
		}
		if (x >= 100)
			out[o++] = (char)('0' + x / 100);
		if (x >= 10)
			out[o++] = (char)('0' + x / 10 % 10);
		out[o++] = (char)('0' + x % 10);
		buf_add(b, out, o);
		return;
	}
	/* Plain decimal; here -7 < exp10 < 21, so out is big enough. */
	dp = exp10 + 1;		/* digits before the point */
	if (dp <= 0)
		out[o++] = '0';
	for (i = 0; i < dp; i++)
		out[o++] = i < nd ? dig[i] : '0';
	if (nd > dp) {
		out[o++] = '.';
		for (i = dp; i < nd; i++)
			out[o++] = i < 0 ? '0' : dig[i];
	}
	buf_add(b, out, o);
}

static void
json_value(struct buf *b, const struct point *p)
{
	switch (p->kind) {
	case POINT_INT:
		buf_add_i64(b, p->ival);
		return;
	case POINT_FLOAT:
		encode_json_float(b, p->fval);
		return;
	case POINT_BOOL:
		buf_adds(b, p->bval ? "true" : "false");
		return;
	case POINT_NONE:
		break;
	}
	/* Only a point that skipped point_normalize() gets here. */
	buf_adds(b, "null");
}

static void
json_str(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	encode_json_string(b, s, strlen(s));
}

/* Key order as Go emits the lodastack struct; tags already sorted. */
static void
json_point(struct buf *b, const struct point *p)
{
	size_t	 i;

	buf_adds(b, "{\"measurement\":");
	json_str(b, p->name);
	buf_adds(b, ",\"timestamp\":");
	buf_add_i64(b, p->timestamp);
	buf_adds(b, ",\"tags\":{");
	for (i = 0; i < p->ntags; i++) {
		if (i > 0)
			buf_addc(b, ',');
		json_str(b, p->tags[i].key);
		buf_addc(b, ':');
		json_str(b, p->tags[i].value);
	}
	buf_adds(b, "},\"fields\":{\"value\":");
	json_value(b, p);
	buf_adds(b, "}}");
}

/*
 * Line protocol escaping, written for InfluxDB 1.x's parser (the one
 * Debian ships and lodastack runs), which treats any byte preceded by a
 * backslash as escaped while scanning, and afterwards replaces only "\,",
 * "\ " and "\=" (tags) or "\," and "\ " (measurement) by the bare byte:
 *
 * - measurement: ',' and ' ' get a backslash; tag keys and values: ',',
 *   '=' and ' ' do.
 * - a literal backslash is written as it is, also before a byte that
 *   gets escaped: "a\,b" becomes a\\,b, which 1.x reads back as a\,b
 *   (it turns "\," into ","; "\\" has no meaning to it).  Doubling it
 *   there would store two backslashes in 1.x.
 * - a backslash at the end of an element is written doubled.  1.x cannot
 *   represent it at all: the separator after it reads as escaped either
 *   way and the line is rejected; the doubled form is the one the
 *   current line protocol reference (and later parsers) read as one
 *   backslash, and it keeps the damage to that one line.
 * - UTF-8 is copied.  Control bytes cannot get here from a normalized
 *   point; should one, it is written as U+FFFD so that an encoded point
 *   never holds a newline (the sender splits on them).
 */
static void
line_escaped(struct buf *b, const char *s, int tag)
{
	size_t		 i, start = 0, len;
	unsigned char	 c;

	if (s == NULL)
		return;
	len = strlen(s);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == ',' || c == ' ' || (tag && c == '=')) {
			buf_add(b, s + start, i - start);
			buf_addc(b, '\\');
			start = i;	/* the byte itself follows */
		} else if (c < 0x20 || c == 0x7f) {
			buf_add(b, s + start, i - start);
			buf_adds(b, "\xef\xbf\xbd");
			start = i + 1;
		} else if (c == '\\' && i + 1 == len) {
			buf_add(b, s + start, i - start);
			buf_add(b, "\\\\", 2);
			start = i + 1;
		}
	}
	buf_add(b, s + start, len - start);
}

/*
 * <measurement>[,k=v...] value=<v> <timestamp>.  Numbers are written as
 * floats (no "i" suffix), since a field never changes type in InfluxDB
 * and the lodastack router writes every number as a float; the float
 * digits are the JSON ones, whose exponent form InfluxDB reads too.
 */
static void
line_point(struct buf *b, const struct point *p)
{
	size_t	 i;

	line_escaped(b, p->name, 0);
	for (i = 0; i < p->ntags; i++) {
		buf_addc(b, ',');
		line_escaped(b, p->tags[i].key, 1);
		buf_addc(b, '=');
		line_escaped(b, p->tags[i].value, 1);
	}
	buf_adds(b, " value=");
	json_value(b, p);
	buf_addc(b, ' ');
	buf_add_i64(b, p->timestamp);
}

void
encode_point(struct buf *b, enum out_format f, const struct point *p)
{
	if (f == FORMAT_LINE)
		line_point(b, p);
	else
		json_point(b, p);
}

void
encode_message(struct buf *b, enum out_format f, const char *topic,
    const char *pts, size_t len, size_t n)
{
	const char	*nl;
	size_t		 i;

	/* Tolerate a final separator: it is not an empty point. */
	if (len > 0 && pts[len - 1] == '\n')
		len--;
	if (n == 0)
		len = 0;
	if (f == FORMAT_LINE) {
		if (len > 0) {
			buf_add(b, pts, len);
			buf_addc(b, '\n');
		}
		return;
	}
	buf_adds(b, "{\"database\":");
	json_str(b, topic);
	buf_adds(b, ",\"retentionPolicy\":\"default\",\"points\":[");
	/* The points are JSON objects without newlines: '\n' -> ','. */
	while (len > 0) {
		nl = memchr(pts, '\n', len);
		i = nl == NULL ? len : (size_t)(nl - pts);
		buf_add(b, pts, i);
		if (nl == NULL)
			break;
		buf_addc(b, ',');
		pts += i + 1;
		len -= i + 1;
	}
	buf_adds(b, "],\"precision\":\"s\"}");
}
