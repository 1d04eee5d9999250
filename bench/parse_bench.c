/*
 * parse_bench: the front's work per /post body, in one process: the
 * JSON points parsed, validated, normalized and encoded
 * (points_json_parse(), src/common/points_json.c), then the MSG_POINTS
 * payload for the sender (points_msg_encode()), as front_route_post()
 * does it.  Bodies are shaped like bench/post.py's (1 000 points of
 * sdk-go's shape: a name, a timestamp, 3 tags, a value), the values int,
 * 2 decimals, 16-17 digits or a third of each (mixed).
 *
 * It reports CPU time per point (CLOCK_PROCESS_CPUTIME_ID, the median of
 * ROUNDS) and, to compare two builds on a loaded machine, can run a fixed
 * number of bodies for `valgrind --tool=callgrind` (instruction counts
 * do not depend on what else runs):
 *
 *   bench/parse_bench                 # ns per point, each kind of value
 *   bench/parse_bench -n 50 -k mixed  # 50 bodies of mixed values, once
 *   valgrind --tool=callgrind bench/parse_bench -n 20 -k mixed
 *
 * Before timing, the encoded output of every body is checked to hold
 * 1 000 points; `-o FILE` writes the encoded points of each kind there,
 * so that two builds' outputs can be compared byte for byte.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "codec.h"
#include "encode.h"
#include "points_json.h"
#include "points_msg.h"

#define NPOINTS		1000
#define NBODIES		8
#define ROUNDS		7
#define SECONDS		0.3
#define NOW		1714538096LL

enum kind { K_INT, K_SHORT, K_FULL, K_MIXED, K_MAX };
static const char *kind_name[K_MAX] = { "int", "short", "full", "mixed" };

static uint64_t
rnd(uint64_t *s)
{
	/* xorshift64*: reproducible, good enough for values */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
add_value(struct buf *b, enum kind k, size_t i, uint64_t *s)
{
	if (k == K_MIXED)
		k = (enum kind)(i % 3);
	switch (k) {
	case K_INT:
		buf_printf(b, "%" PRIu64, rnd(s) >> 33);
		break;
	case K_SHORT:
		/* a gauge read somewhere: 2 decimals, as post.py's round() */
		encode_json_float(b, (double)(rnd(s) % 100000) / 100.0);
		break;
	default:
		/* a computed rate: 16-17 significant digits */
		encode_json_float(b, (double)(rnd(s) >> 11) * 0x1p-53 *
		    1000.0);
		break;
	}
}

static void
make_body(struct buf *b, enum kind k, unsigned seed)
{
	uint64_t	 s = 0x9e3779b97f4a7c15ULL * (seed + 1);
	size_t		 i;

	buf_addc(b, '[');
	for (i = 0; i < NPOINTS; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_printf(b, "{\"name\":\"bench.metric%zu\",\"timestamp\":"
		    "%lld,\"tags\":{\"port\":\"%zu\",\"dc\":\"east\","
		    "\"seq\":\"%zu\"},\"value\":", i % 50, NOW, 3306 + i % 8,
		    seed * 100000 + i);
		add_value(b, k, i, &s);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

/* What the front does with one body; the payload's length. */
static size_t
one_body(const struct buf *body, struct buf *pts)
{
	struct post_result	 res;
	struct points_msg	 m;
	struct pbuf		 pb;
	size_t			 n;

	buf_reset(pts);
	if (points_json_parse(body->p, body->len, POINTS_JSON_STRICT, "RUN.",
	    "bench-host", NOW, FORMAT_JSON, pts, 0, &res) == -1) {
		fprintf(stderr, "parse_bench: %s\n", res.err);
		exit(1);
	}
	if (res.npoints != NPOINTS) {
		fprintf(stderr, "parse_bench: %zu points, not %d\n",
		    res.npoints, NPOINTS);
		exit(1);
	}
	memset(&m, 0, sizeof(m));
	strlcpy(m.topic, "collect.bench.loda", sizeof(m.topic));
	m.fmt = FORMAT_JSON;
	m.origin = ORIGIN_PUSHED;
	m.npoints = (uint32_t)res.npoints;
	m.data = pts->p;
	m.len = pts->len;
	codec_put_init(&pb);
	points_msg_encode(&pb, &m);
	if (codec_put_failed(&pb)) {
		fprintf(stderr, "parse_bench: out of memory\n");
		exit(1);
	}
	n = pb.len;
	codec_put_free(&pb);
	return n;
}

static double
cpu_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: parse_bench [-n bodies] [-k int|short|full|"
	    "mixed] [-o file]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct buf	 bodies[K_MAX][NBODIES], pts;
	double		 ns[ROUNDS], t0, t1;
	long		 fixed = 0;
	int		 only = -1, c, r, k, i;
	size_t		 n, bytes = 0;
	FILE		*out = NULL;

	while ((c = getopt(argc, argv, "n:k:o:")) != -1) {
		switch (c) {
		case 'n':
			fixed = strtol(optarg, NULL, 10);
			if (fixed <= 0)
				usage();
			break;
		case 'k':
			for (k = 0; k < K_MAX; k++)
				if (strcmp(optarg, kind_name[k]) == 0)
					only = k;
			if (only == -1)
				usage();
			break;
		case 'o':
			if ((out = fopen(optarg, "w")) == NULL) {
				perror(optarg);
				return 1;
			}
			break;
		default:
			usage();
		}
	}
	buf_init(&pts);
	for (k = 0; k < K_MAX; k++)
		for (i = 0; i < NBODIES; i++) {
			buf_init(&bodies[k][i]);
			make_body(&bodies[k][i], (enum kind)k, (unsigned)i);
		}
	for (k = 0; k < K_MAX; k++) {
		if (only != -1 && k != only)
			continue;
		for (i = 0; i < NBODIES; i++) {
			(void)one_body(&bodies[k][i], &pts);
			if (out != NULL)
				fprintf(out, "%s\n", pts.p);
		}
	}
	if (out != NULL)
		fclose(out);
	if (fixed > 0) {
		/* a fixed amount of work, for callgrind */
		for (k = 0; k < K_MAX; k++) {
			if (only != -1 && k != only)
				continue;
			for (i = 0; i < fixed; i++)
				bytes += one_body(&bodies[k][i % NBODIES],
				    &pts);
		}
		printf("%ld bodies of %d points, %zu payload bytes\n", fixed,
		    NPOINTS, bytes);
		buf_free(&pts);
		return 0;
	}
	printf("%-6s %10s %12s\n", "values", "ns/point", "bytes/point");
	for (k = 0; k < K_MAX; k++) {
		if (only != -1 && k != only)
			continue;
		for (r = 0; r < ROUNDS; r++) {
			n = 0;
			t0 = cpu_now();
			do {
				bytes = one_body(&bodies[k][n % NBODIES], &pts);
				n++;
				t1 = cpu_now();
			} while (t1 - t0 < SECONDS);
			ns[r] = (t1 - t0) * 1e9 / (double)(n * NPOINTS);
		}
		qsort(ns, ROUNDS, sizeof(ns[0]), cmp_double);
		printf("%-6s %10.0f %12.1f   (min %.0f, max %.0f)\n",
		    kind_name[k], ns[ROUNDS / 2], (double)bytes / NPOINTS,
		    ns[0], ns[ROUNDS - 1]);
	}
	for (k = 0; k < K_MAX; k++)
		for (i = 0; i < NBODIES; i++)
			buf_free(&bodies[k][i]);
	buf_free(&pts);
	return 0;
}
