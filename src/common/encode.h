/*
 * Output encodings, applied once by the producer (DESIGN.md section 5);
 * the sender joins encoded points into messages without parsing them.
 *
 * json: the lodastack message body (lodastack-protocols.md section 4.2),
 *   byte-compatible with Go's encoding/json output:
 *   {"database":"<topic>","retentionPolicy":"default","points":[P,P],
 *    "precision":"s"}
 *   with P = {"measurement":"<name>","timestamp":<s>,"tags":{sorted},
 *   "fields":{"value":<v>}}.  Integers print as integers; floats the way
 *   Go prints float64 (shortest round-trip; plain decimal for
 *   1e-6 <= |v| < 1e21, exponent form otherwise, e.g. 1e+21, 1e-7);
 *   booleans as true/false.  Strings escaped as Go does (including
 *   \u003c \u003e \u0026 for < > & and \u2028 \u2029).
 * line: InfluxDB line protocol, precision s:
 *   <measurement>[,<tagk>=<tagv>...] value=<v> <timestamp>
 *   measurement escapes comma and space; tag keys and values escape
 *   comma, equals sign and space; the field key is "value"; numbers are
 *   written as floats (no "i" suffix: a series never changes field type,
 *   as with the lodastack router), booleans as true/false.
 *
 * An encoded point never contains a newline, so a batch of them travels
 * as one byte string with '\n' between points.
 */
#ifndef AGENT_ENCODE_H
#define AGENT_ENCODE_H

#include <stddef.h>

#include "buf.h"
#include "point.h"

enum out_format {
	FORMAT_JSON = 0,
	FORMAT_LINE
};

const char	*encode_format_name(enum out_format);
int		 encode_format_parse(const char *, enum out_format *);

/* Append one normalized point (no trailing newline). */
void	 encode_point(struct buf *, enum out_format, const struct point *);

/*
 * Append one message for `topic` from `n` encoded points held in `pts`
 * (`len` bytes, points separated by '\n').  json: one document with all
 * of them; line: the lines as they are, each ending in '\n'.
 */
void	 encode_message(struct buf *, enum out_format, const char *topic,
	    const char *pts, size_t len, size_t n);

/* Append a JSON string literal with Go's escaping. */
void	 encode_json_string(struct buf *, const char *, size_t);
/* Append a float64 as Go's encoding/json would. */
void	 encode_json_float(struct buf *, double);

#endif
