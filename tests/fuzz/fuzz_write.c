/*
 * libFuzzer target for the body of POST /write: InfluxDB line protocol
 * (src/workers/front/points_line.c).  The input is the body; a first
 * line "#p=<precision>" (a comment to the parser) picks the precision.
 *
 * Besides "no crash, no leak": the contract of points_line_parse(), and
 * agreement of the two doors.  What /write takes, in line protocol, reads
 * back into the same bytes; and each point, turned into the /post shape
 * {name, timestamp, tags, value}, is taken by /post's parser
 * (points_json.c) into the same JSON encoding.  A point that one door
 * takes and the other refuses (a subnormal value, say) is reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/encode.h"
#include "common/json_tree.h"
#include "common/jsonw.h"
#include "common/points_json.h"
#include "common/points_line.h"

#include "fuzz_common.h"

#define NOW	1700000000
#define HOST	"fuzz-host"

static const struct json_tree_opts lim = { 1 << 20, 8, 1 << 24, 0 };

static yajl_val
get(yajl_val o, const char *key)
{
	size_t	 i;

	FUZZ_ASSERT(YAJL_IS_OBJECT(o), "not an object");
	for (i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], key) == 0)
			return o->u.object.values[i];
	FUZZ_ASSERT(0, "no \"%s\"", key);
	return NULL;
}

/* One encoded point {"measurement",...,"fields":{"value"}} as /post's. */
static void
to_post(struct jsonw *w, const char *p, size_t len)
{
	yajl_val	 t, tags, v;
	char		 err[256];
	size_t		 i;

	t = json_tree_parse(p, len, &lim, err, sizeof(err));
	FUZZ_ASSERT(t != NULL, "encoded point is not JSON: %s: %.*s", err,
	    (int)len, p);
	jsonw_map_open(w);
	jsonw_key(w, "name");
	jsonw_string(w, get(t, "measurement")->u.string);
	jsonw_key(w, "timestamp");
	jsonw_number(w, get(t, "timestamp")->u.number.r);
	jsonw_key(w, "tags");
	jsonw_map_open(w);
	tags = get(t, "tags");
	for (i = 0; i < tags->u.object.len; i++) {
		jsonw_key(w, tags->u.object.keys[i]);
		jsonw_string(w, tags->u.object.values[i]->u.string);
	}
	jsonw_map_close(w);
	jsonw_key(w, "value");
	v = get(get(t, "fields"), "value");
	if (YAJL_IS_NUMBER(v))
		jsonw_number(w, v->u.number.r);
	else
		jsonw_bool(w, YAJL_IS_TRUE(v));
	jsonw_map_close(w);
	json_tree_free(t);
}

static int
parse(const char *body, size_t size, const char *prefix, const char *prec,
    enum out_format fmt, struct buf *out, struct post_result *res)
{
	int	 rc;

	buf_init(out);
	rc = points_line_parse(body, size, prefix, HOST, NOW, prec, fmt, out,
	    0, res);
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	FUZZ_ASSERT(!buf_failed(out), "out of memory");
	if (rc == -1) {
		FUZZ_ASSERT(res->npoints == 0 && out->len == 0,
		    "a failure left points behind");
		FUZZ_ASSERT(fuzz_msg_ok(res->err), "bad message \"%s\"",
		    res->err);
		return -1;
	}
	FUZZ_ASSERT(fuzz_count_lines(out->p, out->len) == res->npoints,
	    "%zu points, other count of lines", res->npoints);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct post_result	 rl, rj, r2;
	struct buf		 line, json, back, post;
	struct jsonw		 w;
	const char		*body = (const char *)data, *nl, *s, *e;
	char			 prec[8] = "";
	int			 cl, cj;

	fuzz_quiet_log();
	if (size > 3 && memcmp(data, "#p=", 3) == 0 &&
	    (nl = memchr(data, '\n', size)) != NULL &&
	    (size_t)(nl - body) - 3 < sizeof(prec))
		memcpy(prec, body + 3, (size_t)(nl - body) - 3);
	cl = parse(body, size, "RUN.", prec, FORMAT_LINE, &line, &rl);
	cj = parse(body, size, "RUN.", prec, FORMAT_JSON, &json, &rj);
	FUZZ_ASSERT(cl == -1 || cj == 0, "line took what json refused: %s",
	    rj.err);

	if (cl == 0 && rl.npoints > 0) {
		/* Seconds now, and the names complete: no prefix again. */
		FUZZ_ASSERT(parse(line.p, line.len, "", "s", FORMAT_LINE, &back,
		    &r2) == 0, "/write refuses what it wrote: %s", r2.err);
		FUZZ_ASSERT(r2.npoints == rl.npoints && fuzz_lines_equal(line.p,
		    line.len, back.p, back.len),
		    "/write read back other points:\n%s\n%s", line.p, back.p);
		buf_free(&back);
	}
	if (cj == 0 && rj.npoints > 0) {
		buf_init(&post);
		jsonw_init(&w, &post, JSONW_GO);
		jsonw_array_open(&w);
		for (s = json.p; s < json.p + json.len; s = e + 1) {
			if ((e = memchr(s, '\n', json.p + json.len - s)) ==
			    NULL)
				e = json.p + json.len;
			to_post(&w, s, (size_t)(e - s));
		}
		jsonw_array_close(&w);
		FUZZ_ASSERT(jsonw_finish(&w) == 0, "writing the /post body");
		buf_init(&back);
		FUZZ_ASSERT(points_json_parse(post.p, post.len,
		    POINTS_JSON_STRICT, "", HOST, NOW, FORMAT_JSON, &back,
		    0, &r2) == 0, "/post refuses what /write took: %s in %s",
		    r2.err, post.p);
		FUZZ_ASSERT(back.len == json.len &&
		    memcmp(back.p, json.p, json.len) == 0,
		    "/post read other points:\n%s\n%s", json.p, back.p);
		buf_free(&back);
		buf_free(&post);
	}
	buf_free(&line);
	buf_free(&json);
	return 0;
}
