/*
 * Points the producers encoded in json, read back as the lines of the
 * same points (sender_json_lines.c).
 */
#ifndef AGENT_SENDER_JSON_LINES_H
#define AGENT_SENDER_JSON_LINES_H

#include <stddef.h>

#include "buf.h"

/*
 * Append to `out` the points of the json message `doc` (encode.h) as
 * lines, each ending in '\n'.  A point not of the encoder's shape, or
 * one line protocol cannot carry (point_check_line), is left out:
 * *dropped counts those, and the first one's reason goes to `why`.  -1
 * with `why` when `doc` is not such a message at all (then nothing was
 * appended); 0 otherwise.
 */
int	 sender_json_lines(const char *doc, size_t len, struct buf *out,
	    size_t *dropped, char *why, size_t whylen);

#endif
