/*
 * A request of points taken in another format than the output's.
 * Producers encode a point once, in the [output] format of the moment
 * (DESIGN.md section 5), so points still waiting when a reload changed
 * the format are in the old one:
 *
 *  - lines, for nsq or file with format = json, whose consumers read the
 *    lodastack body: each message's lines are read back (points_line.c,
 *    the /write parser) and written as the json message of the same
 *    points, the bytes their producer would have written but for
 *    integers beyond 2^53, which line protocol kept as floats;
 *  - json, for influxdb (which reads lines only) or format = line: each
 *    point is written as the line its producer would have written
 *    (sender_json_lines.c).  A point a line cannot say (a tag ending in
 *    a backslash, which json takes) is left out and counted.
 *
 * Either way a message that does not read back leaves the request as it
 * was: it goes in the format it was taken in, never dropped here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "points_line.h"
#include "sender.h"
#include "sender_json_lines.h"

/*
 * The parsers say that they ran out of memory in their error text only,
 * and that is no reason to send a message unrewritten: -1 for it, -2
 * for a message that does not read back.
 */
static int
convert_failed(const char *err)
{
	static const char	 oom[] = "out of memory";
	size_t			 n = strlen(err);

	return n >= sizeof(oom) - 1 &&
	    strcmp(err + n - (sizeof(oom) - 1), oom) == 0 ? -1 : -2;
}

/*
 * Message `m`'s points, in `want`, into `pts`; *kept and *left add up to
 * them.  -1 out of memory, -2 when it does not read back as its points,
 * with `why` either way.
 */
static int
convert_points(const struct sink_msg *m, enum out_format want, int64_t now,
    struct buf *pts, uint32_t *kept, uint32_t *left, char *why,
    size_t whylen)
{
	struct post_result	 res;
	size_t			 dropped, lines = 0, i;

	if (want == FORMAT_JSON) {
		/* every line names its host: the producer put it there */
		if (points_line_parse(m->data, m->len, "", "", now, "s",
		    FORMAT_JSON, pts, 0, &res) == -1 ||
		    res.npoints != m->npoints) {
			snprintf(why, whylen, "%s", res.err[0] != '\0' ?
			    res.err : "another count");
			return convert_failed(why);
		}
		*kept = m->npoints;
		*left = 0;
		return 0;
	}
	if (sender_json_lines(m->data, m->len, pts, &dropped, why,
	    whylen) == -1)
		return convert_failed(why);
	for (i = 0; i < pts->len; i++)
		lines += pts->p[i] == '\n';
	if (lines + dropped != m->npoints) {
		snprintf(why, whylen, "%zu points", lines + dropped);
		return -2;
	}
	*kept = (uint32_t)lines;
	*left = (uint32_t)dropped;
	return 0;
}

int
sender_cut_convert(struct cut *c, enum out_format want, int64_t now,
    uint32_t *left_out, char *why, size_t whylen)
{
	struct buf	 body, pts;
	size_t		*off, i, n = 0;
	uint32_t	*kept, k, left, total = 0;
	char		 err[256], first[256] = "";
	int		 rc, rv = -2;

	*left_out = 0;
	if (c->fmt == want)
		return 0;
	off = calloc(c->nmsgs > 0 ? c->nmsgs : 1, sizeof(*off));
	kept = calloc(c->nmsgs > 0 ? c->nmsgs : 1, sizeof(*kept));
	if (off == NULL || kept == NULL) {
		free(off);
		free(kept);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	buf_init(&body);
	buf_init(&pts);
	for (i = 0; i < c->nmsgs; i++) {
		buf_reset(&pts);
		err[0] = '\0';
		rc = convert_points(&c->msgs[i], want, now, &pts, &k, &left,
		    err, sizeof(err));
		if (buf_failed(&pts))
			break;		/* out of memory: below */
		if (rc == -1) {
			snprintf(why, whylen, "%s", err);
			rv = -1;
			goto fail;
		}
		if (rc == -2) {
			snprintf(why, whylen, "message %zu does not read back "
			    "as %u points: %s", i, c->msgs[i].npoints, err);
			goto fail;
		}
		if (left > 0 && total == 0)
			strlcpy(first, err, sizeof(first));
		total += left;
		/* a message of points all left out is no message */
		if (k == 0)
			continue;
		off[n] = body.len;
		kept[n] = k;
		n++;
		encode_message(&body, want, c->topic, pts.p, pts.len, k);
	}
	if (buf_failed(&body) || buf_failed(&pts)) {
		snprintf(why, whylen, "out of memory");
		rv = -1;
		goto fail;
	}
	c->converted = 1;
	/* pointers only once the body is done growing */
	for (i = 0; i < n; i++) {
		c->msgs[i].data = body.p + off[i];
		c->msgs[i].len = (i + 1 < n ? off[i + 1] : body.len) - off[i];
		c->msgs[i].npoints = kept[i];
	}
	c->nmsgs = n;
	buf_free(&c->body);
	c->body = body;
	c->fmt = want;
	*left_out = total;
	if (total > 0)
		snprintf(why, whylen, "%s", first);
	buf_free(&pts);
	free(off);
	free(kept);
	return 0;
fail:
	buf_free(&body);
	buf_free(&pts);
	free(off);
	free(kept);
	return rv;
}
