/*
 * The body of POST /write: InfluxDB 1.x line protocol (what Telegraf and
 * the InfluxDB client libraries send), one point per line:
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * read the way InfluxDB 1.x reads it, then validated and normalized
 * (point.h) and encoded for the output (encode.h) exactly like the
 * points of POST /post (points_json.h), whose result struct it shares.
 *
 * Syntax accepted:
 * - lines end in "\n" or "\r\n"; empty lines, lines of only spaces and
 *   tabs, and lines whose first non-blank byte is '#' are skipped;
 *   leading blanks before the measurement are skipped; the sections are
 *   separated by one or more spaces; trailing spaces and tabs are fine.
 * - escapes: a backslash before ',' or ' ' in the measurement, and before
 *   ',', '=' or ' ' in tag keys, tag values and field keys, stands for
 *   that byte.  A backslash before any other byte, another backslash
 *   included, is kept as it is (InfluxDB 1.x does the same, and
 *   encode.c writes for that reading: "a\\,b" is "a\,b").  A backslash
 *   that ends the line is an error, and so are an unescaped '=' in a tag
 *   value, an empty tag key or value, and an empty field key or value.
 * - field values: floats (1, -1.5, 1e3, .5, 1.), integers with an "i"
 *   suffix (12i, -12i), unsigned integers with a "u" suffix (12u, at most
 *   INT64_MAX, the largest integer a point holds), booleans t T true
 *   True TRUE f F false False FALSE.  A double-quoted string (with \" and
 *   \\ escapes inside) is recognized and refused: "strings are not
 *   accepted as values".  NaN and infinities in any spelling, and floats
 *   beyond the double range, are refused; any other float is rounded to
 *   the nearest double, subnormals included (7e-317) and 0 below them,
 *   the rule of /post too (points_json.c).
 * - timestamp: an optional integer (may be negative) in the unit given by
 *   `precision`: "n" or "ns" (the default, also for NULL or ""), "u" or
 *   "us", "ms", "s", "m", "h"; converted to seconds (truncated) before
 *   point_normalize(), which turns 0, a missing timestamp and anything
 *   implausible into `now`.
 *
 * Mapping to points (one value per point): every field of a line becomes
 * one point with the line's tags and timestamp, named
 * <measurement>.<field key>, except that a field named "value" gives a
 * point named <measurement> alone.  So "cpu value=1" is the point "cpu"
 * and "cpu idle=90,user=5" are "cpu.idle" and "cpu.user".  (Telegraf's
 * own InfluxDB output keeps the fields of a line together in one series;
 * our model has a single value per point.)  A key repeated in one line
 * gives two points, in line order (InfluxDB would keep the last).  Each
 * name then gets `prefix` ("RUN." from the front), and the tags are
 * checked, trimmed and completed with `host` by point_normalize().
 */
#ifndef AGENT_POINTS_LINE_H
#define AGENT_POINTS_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "encode.h"
#include "points_json.h"

/*
 * Parse `body` (`len` bytes, NUL bytes refused) and append one encoded
 * point per field to `out`, separated by '\n'.  Returns 0 with
 * res->npoints set (0 for a body without data lines), or -1 with
 * res->err and res->npoints = 0; `out` is then back at the length it had,
 * and nothing must be published.  When a line is at fault,
 * res->bad_index is its index among the data lines (0-based; empty and
 * comment lines are not counted) and res->err starts with "line N: ",
 * N being its 1-based line number in the body (all lines counted), e.g.
 * `line 3: field "x": strings are not accepted as values`.  An unknown
 * `precision` is an error with bad_index -1.  `outmax`, when not 0, is
 * the most bytes the points may take in `out`: past it the parse stops
 * and fails with res->toobig set (points_json.h).  Each field being a
 * point that repeats its line's tags, a line of more than 256 fields
 * is an error, and the points may take at most 64 times `len` (1 MiB for
 * a body under 16 KiB) whatever `outmax`: past it, res->toobig too, and
 * res->err names the line.
 */
int	 points_line_parse(const char *body, size_t len, const char *prefix,
	    const char *host, int64_t now, const char *precision,
	    enum out_format fmt, struct buf *out, size_t outmax,
	    struct post_result *res);

/* 0 when `precision` is one points_line_parse() takes (NULL included),
    or -1. */
int	 points_line_precision_valid(const char *precision);

#endif
