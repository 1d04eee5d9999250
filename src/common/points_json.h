/*
 * A JSON array of {name, timestamp, tags, value} objects
 * (lodastack-protocols.md sections 3.5 and 6.3) into encoded points:
 * the body of POST /post (front) and the standard output of a plugin
 * (scheduler).  Parsed through yajl's callbacks (no document tree), each
 * point validated and normalized (point.h) and encoded for the output
 * (encode.h) as it completes.  A plain body (json_fast.h: no escapes,
 * printable ASCII) is read by json_fast.c, for less than half of what
 * yajl's lexer costs; any other by yajl, which also words the errors.
 *
 * Two modes:
 *   strict   (/post): the first bad point fails the whole body, nothing
 *            is published and the client is told which point;
 *   lenient  (plugins): a bad point is dropped and counted, the first
 *            error is kept, the other points are published (the Go
 *            agent's plugin loop meant to do this, quirk 8).
 * In both modes a body that is not JSON, or not an array, fails as a
 * whole: there is no telling which points it held.  A strict body with a
 * "\u" escape of half a surrogate pair fails as a whole too, naming the
 * byte (yajl would decode "\ud800" alone into "?"); a plugin's keeps
 * the "?".
 *
 * Values: integers that fit int64 stay integers ("-0" is the float -0);
 * any other finite number is rounded to the nearest double, subnormals
 * included and 0 below them; beyond the double range is an error: the
 * rule of /write (points_line.h).  Error texts quote what the producer
 * sent with point_show(): printable UTF-8 whatever it held.
 */
#ifndef AGENT_POINTS_JSON_H
#define AGENT_POINTS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "encode.h"

#define POST_MAX_DEPTH	16	/* JSON nesting accepted inside a point */

enum points_json_mode {
	POINTS_JSON_STRICT = 0,
	POINTS_JSON_LENIENT
};

/* Also the result of points_line_parse() (points_line.h). */
struct post_result {
	size_t		 npoints;	/* encoded into `out` */
	size_t		 ndropped;	/* lenient: bad points left out */
	long		 bad_index;	/* first bad point, -1 = none/whole */
	int		 toobig;	/* failed for outmax, not a bad point */
	char		 err[512];	/* the failure, or (lenient) the
					 * first dropped point's reason */
};

/*
 * Parse `body`, prefixing every name with `prefix` ("RUN." for /post,
 * "PLUGIN.mysql." for a plugin).  Encoded points are appended to `out`
 * separated by '\n'.
 * Returns 0 with res->npoints (and, lenient, res->ndropped and the first
 * dropped point's index and reason in res->bad_index and res->err), or
 * -1 with res->err (and res->bad_index when a point is at fault); then
 * res->npoints is 0, `out` is back at the length it had and nothing
 * must be published.
 * `outmax`, when not 0, is the most bytes the points may take in `out`:
 * past it the parse stops at once (whatever the mode) and fails with
 * res->toobig set, so that what one frame cannot carry is never built.
 */
int	 points_json_parse(const char *body, size_t len,
	    enum points_json_mode mode, const char *prefix, const char *host,
	    int64_t now, enum out_format fmt, struct buf *out, size_t outmax,
	    struct post_result *res);

/* The failure of a parse stopped by `outmax` (points_line.c's too). */
void	 points_toobig(struct post_result *res, size_t outmax);

#endif
