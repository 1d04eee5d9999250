/*
 * The body of POST /post: a JSON array of {name, timestamp, tags, value}
 * objects (lodastack-protocols.md section 6.3), parsed with yajl's
 * callbacks (no document tree), each point validated and normalized
 * (point.h) and encoded for the output (encode.h) as it completes.
 */
#ifndef AGENT_FRONT_POST_H
#define AGENT_FRONT_POST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "encode.h"

#define POST_MAX_DEPTH	16	/* JSON nesting accepted inside a point */

struct post_result {
	size_t		 npoints;	/* encoded into `out` */
	long		 bad_index;	/* first bad point, -1 = none/whole */
	char		 err[512];
};

/*
 * Parse `body`, prefixing every name with `prefix` ("RUN." for /post).
 * Encoded points are appended to `out` separated by '\n'.  Returns 0, or
 * -1 with res->err (and res->bad_index when a point is at fault); then
 * nothing must be published.
 */
int	 post_parse(const char *body, size_t len, const char *prefix,
	    const char *host, int64_t now, enum out_format fmt,
	    struct buf *out, struct post_result *res);

#endif
