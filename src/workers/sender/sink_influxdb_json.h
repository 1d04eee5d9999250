/*
 * Points the producers encoded in json, written to InfluxDB all the same
 * (sink_influxdb_json.c).
 */
#ifndef AGENT_SINK_INFLUXDB_JSON_H
#define AGENT_SINK_INFLUXDB_JSON_H

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
int	 sink_influxdb_json_lines(const char *doc, size_t len, struct buf *out,
	    size_t *dropped, char *why, size_t whylen);

#endif
