/*
 * A request of points taken in line protocol, for an output that writes
 * json now.  Producers encode a point once, in the [output] format of
 * the moment (DESIGN.md section 5): points taken while the output was
 * influxdb (or format = line) and still waiting when a reload made it
 * nsq or file with format = json would reach the consumers of the
 * lodastack body as lines they cannot read.  Each message's lines are
 * read back (points_line.c, the /write parser) and written as the json
 * message of the same points, the bytes their producer would have
 * written but for integers, which line protocol keeps as floats.  (The
 * other way, json for influxdb, is sink_influxdb_json.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points_line.h"
#include "sender.h"

int
sender_cut_as_json(struct cut *c, int64_t now, char *why, size_t whylen)
{
	struct post_result	 res;
	struct buf		 body, pts;
	size_t			*off, i;

	if ((off = calloc(c->nmsgs > 0 ? c->nmsgs : 1, sizeof(*off))) ==
	    NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	buf_init(&body);
	buf_init(&pts);
	for (i = 0; i < c->nmsgs; i++) {
		buf_reset(&pts);
		/* every line names its host: the producer put it there */
		if (points_line_parse(c->msgs[i].data, c->msgs[i].len, "", "",
		    now, "s", FORMAT_JSON, &pts, 0, &res) == -1 ||
		    res.npoints != c->msgs[i].npoints) {
			snprintf(why, whylen, "message %zu does not read "
			    "back as %u points: %s", i, c->msgs[i].npoints,
			    res.err[0] != '\0' ? res.err : "another count");
			goto fail;
		}
		off[i] = body.len;
		encode_message(&body, FORMAT_JSON, c->topic, pts.p, pts.len,
		    res.npoints);
	}
	if (buf_failed(&body) || buf_failed(&pts)) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	/* pointers only once the body is done growing */
	for (i = 0; i < c->nmsgs; i++) {
		c->msgs[i].data = body.p + off[i];
		c->msgs[i].len = (i + 1 < c->nmsgs ? off[i + 1] : body.len) -
		    off[i];
	}
	buf_free(&c->body);
	c->body = body;
	c->fmt = FORMAT_JSON;
	buf_free(&pts);
	free(off);
	return 0;
fail:
	buf_free(&body);
	buf_free(&pts);
	free(off);
	return -1;
}
