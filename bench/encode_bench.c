/*
 * encode_bench: the point encoder of the /post path (encode_point(),
 * lodastack JSON, src/common/encode.c) against the same encoder written
 * over jsonw (src/common/jsonw.c), in one process, same points, same run.
 * bench/README.md ("JSON point encoder: hand-written or jsonw") has the
 * method and the results; `make -C bench run-encode` runs it.
 *
 * The points are shaped like bench/post.py's: a name, 4 tags once
 * normalized (dc, host, port, seq), a timestamp and a value: an integer,
 * a float with 2 decimals or one with 16-17 significant digits.  Before
 * timing, every point is encoded both ways and the bytes compared: a
 * difference stops the program with status 1.
 *
 * Each measurement encodes every point of the set, one after the other,
 * into one reused buf (as the front does per request), for about
 * SECONDS; the variants alternate, ROUNDS times each, and the median is
 * reported.  Times are CLOCK_PROCESS_CPUTIME_ID.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "encode.h"
#include "jsonw.h"
#include "point.h"

#define NPOINTS		1000
#define ROUNDS		9
#define SECONDS		0.25
#define NOW		1714538096LL

enum kind { K_INT, K_SHORT, K_FULL, K_MIXED };
static const char *kind_name[] = { "int", "2 decimals", "16-17 digits",
    "mixed" };

/* The JSON point of encode.c, written over jsonw. */
static void
jsonw_point(struct buf *b, const struct point *p)
{
	struct jsonw	 w;
	size_t		 i;

	jsonw_init(&w, b, JSONW_GO);
	jsonw_map_open(&w);
	jsonw_key(&w, "measurement");
	jsonw_string(&w, p->name);
	jsonw_key(&w, "timestamp");
	jsonw_int64(&w, p->timestamp);
	jsonw_key(&w, "tags");
	jsonw_map_open(&w);
	for (i = 0; i < p->ntags; i++) {
		jsonw_key(&w, p->tags[i].key);
		jsonw_string(&w, p->tags[i].value);
	}
	jsonw_map_close(&w);
	jsonw_key(&w, "fields");
	jsonw_map_open(&w);
	jsonw_key(&w, "value");
	switch (p->kind) {
	case POINT_INT:
		jsonw_int64(&w, p->ival);
		break;
	case POINT_FLOAT:
		jsonw_double(&w, p->fval);
		break;
	case POINT_BOOL:
		jsonw_bool(&w, p->bval);
		break;
	case POINT_NONE:
		jsonw_null(&w);
		break;
	}
	jsonw_map_close(&w);
	jsonw_map_close(&w);
	(void)jsonw_finish(&w);
}

static void
hand_point(struct buf *b, const struct point *p)
{
	encode_point(b, FORMAT_JSON, p);
}

/* What jsonw_point pays before writing anything: yajl_gen_alloc/free. */
static void
jsonw_empty(struct buf *b, const struct point *p)
{
	struct jsonw	 w;

	jsonw_init(&w, b, JSONW_GO);
	jsonw_null(&w);
	(void)jsonw_finish(&w);
}

static void
die(const char *msg)
{
	fprintf(stderr, "encode_bench: %s\n", msg);
	exit(1);
}

/* A deterministic generator: the same points in every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
make_points(struct point *pts, size_t n, enum kind kind)
{
	uint64_t	 seed = 88172645463325252ULL;
	char		 name[64], port[16], seq[32], err[256];
	size_t		 i;
	enum kind	 k;

	for (i = 0; i < n; i++) {
		point_init(&pts[i]);
		snprintf(name, sizeof(name), "bench.metric%zu", i % 50);
		snprintf(port, sizeof(port), "%zu", 3306 + i % 8);
		snprintf(seq, sizeof(seq), "%zu", 100000 + i);
		if (point_set_name(&pts[i], name, strlen(name)) == -1 ||
		    point_add_tag(&pts[i], "port", 4, port,
		    strlen(port)) == -1 ||
		    point_add_tag(&pts[i], "dc", 2, "east", 4) == -1 ||
		    point_add_tag(&pts[i], "seq", 3, seq, strlen(seq)) == -1)
			die("out of memory");
		k = kind == K_MIXED ? (enum kind)(i % 3) : kind;
		if (k == K_INT)
			point_set_int(&pts[i], (int64_t)(rnd(&seed) >> 33));
		else if (k == K_SHORT)
			point_set_float(&pts[i],
			    (double)(rnd(&seed) % 100000) / 100.0);
		else
			point_set_float(&pts[i], (double)(rnd(&seed) >> 11) /
			    9007199254740992.0 * 1000.0);
		pts[i].timestamp = NOW;
		if (point_normalize(&pts[i], "RUN.", "web-01", NOW, err,
		    sizeof(err)) == -1)
			die(err);
	}
}

static double
cpu_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == -1)
		die("clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ns per point for one variant, over about SECONDS of CPU. */
static double
measure(void (*enc)(struct buf *, const struct point *),
    const struct point *pts, size_t n, struct buf *b)
{
	double		 t0, t;
	unsigned long	 loops = 0;
	size_t		 i;

	t0 = cpu_now();
	do {
		buf_reset(b);
		for (i = 0; i < n; i++) {
			enc(b, &pts[i]);
			buf_addc(b, '\n');
		}
		if (buf_failed(b))
			die("out of memory");
		loops++;
	} while ((t = cpu_now()) - t0 < SECONDS);
	return (t - t0) * 1e9 / ((double)loops * (double)n);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
check_same(const struct point *pts, size_t n)
{
	struct buf	 a, b;
	size_t		 i;

	buf_init(&a);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		buf_reset(&a);
		buf_reset(&b);
		hand_point(&a, &pts[i]);
		jsonw_point(&b, &pts[i]);
		if (buf_failed(&a) || buf_failed(&b))
			die("encoding failed");
		if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
			fprintf(stderr, "point %zu:\n  hand  %s\n  jsonw %s\n",
			    i, a.p, b.p);
			die("the two encoders differ");
		}
	}
	buf_free(&a);
	buf_free(&b);
}

int
main(void)
{
	static struct point	 pts[NPOINTS];
	double			 hand[ROUNDS], jw[ROUNDS], empty[ROUNDS];
	struct buf		 b;
	size_t			 i;
	int			 k, r;

	buf_init(&b);
	printf("%-14s %12s %12s %8s   (ns per point, median of %d)\n",
	    "values", "hand-written", "jsonw", "ratio", ROUNDS);
	make_points(pts, NPOINTS, K_INT);
	for (r = 0; r < ROUNDS; r++)
		empty[r] = measure(jsonw_empty, pts, NPOINTS, &b);
	qsort(empty, ROUNDS, sizeof(empty[0]), cmp_dbl);
	for (i = 0; i < NPOINTS; i++)
		point_free(&pts[i]);
	for (k = K_INT; k <= K_MIXED; k++) {
		make_points(pts, NPOINTS, (enum kind)k);
		check_same(pts, NPOINTS);
		for (r = 0; r < ROUNDS; r++) {
			hand[r] = measure(hand_point, pts, NPOINTS, &b);
			jw[r] = measure(jsonw_point, pts, NPOINTS, &b);
		}
		qsort(hand, ROUNDS, sizeof(hand[0]), cmp_dbl);
		qsort(jw, ROUNDS, sizeof(jw[0]), cmp_dbl);
		printf("%-14s %12.0f %12.0f %7.2fx   (hand %.0f-%.0f, "
		    "jsonw %.0f-%.0f)\n", kind_name[k], hand[ROUNDS / 2],
		    jw[ROUNDS / 2], jw[ROUNDS / 2] / hand[ROUNDS / 2],
		    hand[0], hand[ROUNDS - 1], jw[0], jw[ROUNDS - 1]);
		for (i = 0; i < NPOINTS; i++)
			point_free(&pts[i]);
	}
	printf("of which jsonw_init + one null + jsonw_finish: %.0f ns\n",
	    empty[ROUNDS / 2]);
	buf_free(&b);
	return 0;
}
