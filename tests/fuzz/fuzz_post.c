/*
 * libFuzzer target for the body of POST /post (src/common/points_json.c,
 * strict mode).  The input is the body.
 *
 * Besides "no crash, no leak": the contract of points_json_parse() (a
 * failure leaves the output as it was and says why in printable UTF-8;
 * a success gives one line per point), and agreement with the other
 * door: every point /post takes, written in line protocol, is read back
 * by /write's parser (points_line.c) into the very same bytes.  A point
 * that one door takes and the other refuses (a subnormal value, say) is
 * reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/encode.h"
#include "common/points_json.h"
#include "common/points_line.h"

#include "fuzz_common.h"

#define NOW	1700000000
#define HOST	"fuzz-host"
#define BEFORE	"previous points"

/* Parse in one format; the contract holds whatever the outcome. */
static int
parse(const uint8_t *data, size_t size, enum out_format fmt, struct buf *out,
    struct post_result *res)
{
	size_t	 start;
	int	 rc;

	buf_init(out);
	buf_adds(out, BEFORE);
	start = out->len;
	rc = points_json_parse((const char *)data, size, POINTS_JSON_STRICT,
	    "RUN.", HOST, NOW, fmt, out, 0, res);
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	FUZZ_ASSERT(!buf_failed(out), "out of memory");
	FUZZ_ASSERT(memcmp(out->p, BEFORE, start) == 0, "output before "
	    "the points changed");
	FUZZ_ASSERT(res->ndropped == 0, "strict mode dropped points");
	if (rc == -1) {
		FUZZ_ASSERT(res->npoints == 0 && out->len == start,
		    "a failure left points behind");
		FUZZ_ASSERT(fuzz_msg_ok(res->err), "bad message \"%s\"",
		    res->err);
		return -1;
	}
	FUZZ_ASSERT(res->bad_index == -1, "bad_index %ld", res->bad_index);
	FUZZ_ASSERT(fuzz_count_lines(out->p + start, out->len - start) ==
	    res->npoints, "%zu points, other count of lines", res->npoints);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct post_result	 rl, rj, rw;
	struct buf		 line, json, back;
	const char		*pts;
	size_t			 n;
	int			 cl, cj;

	fuzz_quiet_log();
	cl = parse(data, size, FORMAT_LINE, &line, &rl);
	cj = parse(data, size, FORMAT_JSON, &json, &rj);
	/* Line protocol refuses more (backslash endings), never less. */
	FUZZ_ASSERT(cl == -1 || cj == 0, "line took what json refused: %s",
	    rj.err);
	if (cl == 0 && cj == 0)
		FUZZ_ASSERT(rl.npoints == rj.npoints, "counts differ");

	if (cl == 0 && rl.npoints > 0) {
		pts = line.p + strlen(BEFORE);
		n = line.len - strlen(BEFORE);
		buf_init(&back);
		FUZZ_ASSERT(points_line_parse(pts, n, "", HOST, NOW, "s",
		    FORMAT_LINE, &back, 0, &rw) == 0,
		    "/write refuses what /post wrote: %s in %.*s", rw.err,
		    (int)(n > 300 ? 300 : n), pts);
		FUZZ_ASSERT(rw.npoints == rl.npoints, "/write read %zu "
		    "points of %zu", rw.npoints, rl.npoints);
		FUZZ_ASSERT(fuzz_lines_equal(pts, n, back.p, back.len),
		    "/write read back other points:\n%.*s\n%.*s",
		    (int)n, pts, (int)back.len, back.p);
		buf_free(&back);
	}
	buf_free(&line);
	buf_free(&json);
	return 0;
}
