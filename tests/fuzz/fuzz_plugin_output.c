/*
 * libFuzzer target for what a plugin prints: the scheduler's lenient
 * points parse and the naming of its points
 * (src/workers/scheduler/scheduler_output.c over points_json.c).
 *
 * Input: byte 0 picks the plugin (its project, ns and name: SEC plugins
 * are named and routed otherwise), the rest is the plugin's stdout.
 *
 * Besides "no crash, no leak": the contract of scheduler_output_points()
 * (lenient: bad points dropped and counted, the first reason kept in
 * printable UTF-8), every point named with the plugin's prefix, and
 * agreement with strict mode: a body strict mode takes whole loses
 * nothing in lenient mode, and a lenient parse that dropped nothing is
 * what strict mode makes of it, but for a body holding a \u escape of
 * half a surrogate pair anywhere, which strict mode (/post) refuses
 * whole and lenient mode keeps as yajl's "?" (README, POST /post).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/encode.h"
#include "common/json_surrogate.h"
#include "common/points_json.h"
#include "workers/scheduler/scheduler_output.h"

#include "fuzz_common.h"

#define NOW	1700000000
#define HOST	"fuzz-host"

static const char *const projects[] = { "loda", "SEC-audit", "SEC", "SECx" };
static const char *const nss[] = { "pool.loda", "loda", "a.b.c.d", "x." };
static const char *const names[] = { "mysql", "a-b_c.d" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scheduler_output_target	 t;
	struct post_result		 rl, rs;
	struct buf			 lout, sout;
	const char			*out, *s, *e;
	size_t				 len, plen;
	int				 cl, cs;

	if (size < 1)
		return 0;
	fuzz_quiet_log();
	scheduler_output_target(nss[data[0] & 3], names[(data[0] >> 2) & 1],
	    projects[(data[0] >> 3) & 3], &t);
	FUZZ_ASSERT(t.prefix[0] != '\0', "no prefix");
	FUZZ_ASSERT(!t.send || t.ns[0] != '\0', "sent to no ns");
	out = (const char *)data + 1;
	len = size - 1;
	plen = strlen(t.prefix);

	buf_init(&lout);
	cl = scheduler_output_points(out, len, &t, HOST, NOW, FORMAT_JSON,
	    &lout, &rl);
	FUZZ_ASSERT(!buf_failed(&lout), "out of memory");
	if (cl == -1) {
		FUZZ_ASSERT(rl.npoints == 0 && rl.ndropped == 0 &&
		    lout.len == 0 && rl.bad_index == -1,
		    "a whole failure left something behind");
		FUZZ_ASSERT(fuzz_msg_ok(rl.err), "bad message \"%s\"", rl.err);
	} else {
		FUZZ_ASSERT(cl == 0, "rc %d", cl);
		FUZZ_ASSERT(fuzz_count_lines(lout.p, lout.len) == rl.npoints,
		    "%zu points, other count of lines", rl.npoints);
		FUZZ_ASSERT((rl.ndropped == 0) == (rl.bad_index == -1),
		    "dropped %zu, bad_index %ld", rl.ndropped, rl.bad_index);
		if (rl.ndropped > 0)
			FUZZ_ASSERT(fuzz_msg_ok(rl.err), "bad message \"%s\"",
			    rl.err);
		for (s = lout.p; s != NULL && s < lout.p + lout.len;
		    s = e != NULL ? e + 1 : NULL) {
			e = memchr(s, '\n', lout.p + lout.len - s);
			FUZZ_ASSERT(strncmp(s, "{\"measurement\":\"", 16) ==
			    0 && strncmp(s + 16, t.prefix, plen) == 0,
			    "a point not named %s...: %.80s", t.prefix, s);
		}
	}

	buf_init(&sout);
	cs = points_json_parse(out, len, POINTS_JSON_STRICT, t.prefix, HOST,
	    NOW, FORMAT_JSON, &sout, 0, &rs);
	FUZZ_ASSERT(cs == -1 || cl == 0, "lenient refused what strict took: "
	    "%s", rl.err);
	if (cs == 0 && cl == 0)
		FUZZ_ASSERT(rl.ndropped == 0 && rl.npoints == rs.npoints &&
		    lout.len == sout.len &&
		    (sout.len == 0 || memcmp(lout.p, sout.p, sout.len) == 0),
		    "lenient lost what strict took");
	if (cl == 0 && rl.ndropped == 0 && rl.npoints > 0 &&
	    json_lone_surrogate(out, len, 0) == JSON_SURROGATE_NONE)
		FUZZ_ASSERT(cs == 0, "strict refused what lenient took "
		    "whole: %s", rs.err);
	buf_free(&lout);
	buf_free(&sout);
	return 0;
}
