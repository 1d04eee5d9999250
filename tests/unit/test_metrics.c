/*
 * Typed samples (metrics.c) and the master's totals across worker
 * restarts (src/master/stats.c): a dead worker's counters stay counted,
 * its gauges do not, and what goes over the wire is checked against the
 * family table.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "master/master.h"
#include "metrics.h"
#include "status.h"

static uint64_t
val(const struct metric_set *s, const char *name, const char *k,
    const char *v)
{
	const struct metric	*m;

	m = k == NULL ? metrics_find(s, name, NULL) :
	    metrics_find(s, name, k, v, NULL);
	cr_assert_not_null(m, "no sample %s %s=%s", name, k ? k : "",
	    v ? v : "");
	return m->value;
}

Test(metrics, put_replaces_and_kinds_are_the_tables)
{
	struct metric_set	 s;
	struct metric_hist	 h;

	metrics_init(&s);
	cr_assert_eq(metrics_put(&s, "points_published_total", 5, NULL), 0);
	cr_assert_eq(metrics_put(&s, "points_published_total", 7, NULL), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(val(&s, "points_published_total", NULL, NULL), 7);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "role", "front", NULL), 0);
	cr_assert_eq(metrics_put(&s, "worker_up", 0, "role", "sender", NULL),
	    0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.failed, 0);

	/* not in the table, a histogram set as a counter, bad labels */
	cr_assert_eq(metrics_put(&s, "no_such_total", 1, NULL), -1);
	cr_assert_eq(metrics_put(&s, "plugin_duration_seconds", 1, NULL), -1);
	memset(&h, 0, sizeof(h));
	cr_assert_eq(metrics_put_hist(&s, "points_published_total", &h, NULL),
	    -1);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "le", "x", NULL), -1);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "__x", "x", NULL), -1);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "9x", "x", NULL), -1);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "a", "1", "b", "2", "c",
	    "3", "d", "4", NULL), -1);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.failed, 1);
	metrics_free(&s);
}

Test(metrics, histogram_buckets_are_cumulative)
{
	const struct metric_family	*fam;
	struct metric_hist		 h;
	struct metric_set		 s;
	const struct metric		*m;
	uint32_t			 i;

	fam = metrics_family("plugin_duration_seconds");
	cr_assert_not_null(fam);
	cr_assert_eq(fam->kind, METRIC_HISTOGRAM);
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.003);
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.3);
	metrics_hist_observe(&h, "plugin_duration_seconds", 1.0);
	metrics_hist_observe(&h, "plugin_duration_seconds", 1000.0);
	cr_assert_eq(h.count, 4);
	cr_assert_float_eq(h.sum, 1001.303, 1e-9);
	for (i = 0; i < fam->nbounds; i++) {
		uint64_t want = (fam->bounds[i] >= 0.003) +
		    (fam->bounds[i] >= 0.3) + (fam->bounds[i] >= 1.0);

		cr_assert_eq(h.bucket[i], want, "le %g: %llu", fam->bounds[i],
		    (unsigned long long)h.bucket[i]);
	}
	metrics_init(&s);
	cr_assert_eq(metrics_put_hist(&s, "plugin_duration_seconds", &h, "ns",
	    "a.b", "plugin", "p", NULL), 0);
	m = metrics_find(&s, "plugin_duration_seconds", "ns", "a.b", "plugin",
	    "p", NULL);
	cr_assert_not_null(m);
	cr_assert_eq(m->nbuckets, fam->nbounds);
	cr_assert_eq(m->value, 4);
	metrics_free(&s);
}

/* One sample by hand, as a worker could send it: no labels, value 1. */
static void
put_bare_sample(struct pbuf *pb, const char *name, uint32_t kind)
{
	codec_put_str(pb, name);
	codec_put_u32(pb, kind);
	codec_put_u32(pb, 0);
	codec_put_u64(pb, 1);
}

/*
 * Decode `a` (then `b`, as one set, when not NULL: metrics_encode2())
 * into `out` through the wire, every byte taken; 0 or -1 with err.
 */
static int
round_trip2(const struct metric_set *a, const struct metric_set *b,
    struct metric_set *out, char *err, size_t errlen)
{
	struct pbuf	 pb;
	struct preader	 pr;
	int		 rv;

	codec_put_init(&pb);
	if (b != NULL)
		metrics_encode2(&pb, a, b);
	else
		metrics_encode(&pb, a);
	cr_assert(!codec_put_failed(&pb));
	codec_get_init(&pr, pb.buf, pb.len);
	if ((rv = metrics_decode(&pr, out, err, errlen)) == 0)
		cr_assert_eq(codec_get_end(&pr), 0);
	codec_put_free(&pb);
	return rv;
}

static int
round_trip(const struct metric_set *s, struct metric_set *out, char *err,
    size_t errlen)
{
	return round_trip2(s, NULL, out, err, errlen);
}

Test(metrics, wire_round_trip_and_checks)
{
	struct metric_set	 s, back;
	struct metric_hist	 h;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256];

	metrics_init(&s);
	metrics_init(&back);
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, "plugin_duration_seconds", 2.0);
	cr_assert_eq(metrics_put(&s, "http_requests_total", 3, "code", "200",
	    NULL), 0);
	cr_assert_eq(metrics_put(&s, "buffer_bytes", 99, NULL), 0);
	cr_assert_eq(metrics_put_hist(&s, "plugin_duration_seconds", &h, "ns",
	    "x", "plugin", "quote\"back\\slash\nnl", NULL), 0);
	codec_put_init(&pb);
	metrics_encode(&pb, &s);
	cr_assert(!codec_put_failed(&pb));
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(codec_get_end(&pr), 0);
	cr_assert_eq(back.n, 3);
	cr_assert_eq(memcmp(back.v, s.v, 3 * sizeof(*s.v)), 0);
	codec_put_free(&pb);

	/* a family the table does not have is refused, named */
	codec_put_init(&pb);
	codec_put_u32(&pb, 1);
	put_bare_sample(&pb, "made_up_total", METRIC_COUNTER);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "made_up_total") != NULL, "%s", err);
	codec_put_free(&pb);

	/* a gauge sent as a counter */
	codec_put_init(&pb);
	codec_put_u32(&pb, 1);
	put_bare_sample(&pb, "buffer_bytes", METRIC_COUNTER);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), -1);
	codec_put_free(&pb);

	/* buckets that go down, or above the count */
	codec_put_init(&pb);
	metrics_reset(&s);
	memset(&h, 0, sizeof(h));
	h.count = 1;
	h.bucket[0] = 1;	/* then 0: not cumulative */
	cr_assert_eq(metrics_put_hist(&s, "plugin_duration_seconds", &h,
	    NULL), 0);
	metrics_encode(&pb, &s);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cumulative") != NULL, "%s", err);
	codec_put_free(&pb);

	/* a label value that is not UTF-8 would too (promtool: "invalid
	 * label value"), and Prometheus would refuse the whole page */
	codec_put_init(&pb);
	metrics_reset(&s);
	cr_assert_eq(metrics_put(&s, "http_requests_total", 1, "code",
	    "2\xff0", NULL), 0);
	metrics_encode(&pb, &s);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not UTF-8") != NULL, "%s", err);
	codec_put_free(&pb);

	/* the same sample twice would make /metrics invalid */
	codec_put_init(&pb);
	codec_put_u32(&pb, 2);
	for (int i = 0; i < 2; i++) {
		put_bare_sample(&pb, "buffer_bytes", METRIC_GAUGE);
	}
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "twice") != NULL, "%s", err);
	codec_put_free(&pb);
	metrics_free(&s);
	metrics_free(&back);
}

/* Two sets as one (a worker's own samples before its role's). */
Test(metrics, two_sets_encode_as_one)
{
	struct metric_set	 a, b, back;
	char			 err[256];

	metrics_init(&a);
	metrics_init(&b);
	metrics_init(&back);
	cr_assert_eq(metrics_put(&a, "log_lines_stderr_total", 5, "role",
	    "front", NULL), 0);
	cr_assert_eq(metrics_put(&b, "http_requests_total", 3, "code", "200",
	    NULL), 0);
	cr_assert_eq(metrics_put(&b, "buffer_bytes", 99, NULL), 0);
	cr_assert_eq(round_trip2(&a, &b, &back, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(back.n, 3);
	cr_assert_eq(memcmp(&back.v[0], &a.v[0], sizeof(*a.v)), 0);
	cr_assert_eq(memcmp(&back.v[1], b.v, 2 * sizeof(*b.v)), 0);

	/* an empty first set is the second alone, as metrics_encode() */
	metrics_reset(&a);
	cr_assert_eq(round_trip2(&a, &b, &back, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(back.n, 2);
	metrics_free(&a);
	metrics_free(&b);
	metrics_free(&back);
}

Test(metrics, fold_keeps_counters_drops_gauges)
{
	struct metric_set	 base, dead, cur, total;

	metrics_init(&base);
	metrics_init(&dead);
	metrics_init(&cur);
	metrics_init(&total);
	(void)metrics_put(&dead, "points_published_total", 100, NULL);
	(void)metrics_put(&dead, "buffer_points", 40, NULL);
	(void)metrics_put(&dead, "points_dropped_total", 3, "reason",
	    "buffer_full", NULL);
	cr_assert_eq(metrics_fold(&base, &dead), 0);
	cr_assert_eq(base.n, 2);
	cr_assert_null(metrics_find(&base, "buffer_points", NULL));

	/* the new process starts from zero and counts on */
	(void)metrics_put(&cur, "points_published_total", 10, NULL);
	(void)metrics_put(&cur, "buffer_points", 2, NULL);
	cr_assert_eq(metrics_total(&total, &base, &cur), 0);
	cr_assert_eq(val(&total, "points_published_total", NULL, NULL), 110);
	cr_assert_eq(val(&total, "buffer_points", NULL, NULL), 2);
	/* a counter the new process has not reported yet still shows */
	cr_assert_eq(val(&total, "points_dropped_total", "reason",
	    "buffer_full"), 3);

	/* a second death adds up */
	cr_assert_eq(metrics_fold(&base, &cur), 0);
	cr_assert_eq(val(&base, "points_published_total", NULL, NULL), 110);
	metrics_free(&base);
	metrics_free(&dead);
	metrics_free(&cur);
	metrics_free(&total);
}

/* A worker's MSG_STATS as worker_push_stats_all() encodes it. */
static void
stats_msg(struct wslot *w, uint64_t published, uint64_t queued)
{
	struct worker_stats	 flat;
	struct metric_set	 ms;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256];

	memset(&flat, 0, sizeof(flat));
	flat.n = 1;
	strcpy(flat.v[0].key, "published");
	flat.v[0].value = published;
	metrics_init(&ms);
	(void)metrics_put(&ms, "points_published_total", published, NULL);
	(void)metrics_put(&ms, "buffer_points", queued, NULL);
	codec_put_init(&pb);
	status_stats_encode(&pb, &flat);
	metrics_encode(&pb, &ms);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(stats_worker_msg(w, &pr, err, sizeof(err)), 0, "%s",
	    err);
	codec_put_free(&pb);
	metrics_free(&ms);
}

Test(stats, master_totals_survive_restarts)
{
	struct master		*m;
	struct wslot		*w;
	struct metric_set	 t;
	enum role		 r;

	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		m->w[r].m = m;
		m->w[r].role = r;
		m->w[r].state = W_RUNNING;
	}
	m->generation = 3;
	w = &m->w[ROLE_SENDER];
	metrics_init(&t);

	stats_msg(w, 500, 7);
	cr_assert_eq(stats_table(m, &t, 0), 0);
	cr_assert_eq(val(&t, "points_published_total", NULL, NULL), 500);
	cr_assert_eq(val(&t, "buffer_points", NULL, NULL), 7);
	cr_assert_eq(val(&t, "worker_up", "role", "sender"), 1);
	cr_assert_eq(val(&t, "config_generation", NULL, NULL), 3);

	/* killed: what it counted stays, what it held does not */
	stats_worker_died(m, w);
	w->state = W_BACKOFF;
	w->restarts = 1;
	cr_assert_eq(stats_table(m, &t, 0), 0);
	cr_assert_eq(val(&t, "points_published_total", NULL, NULL), 500);
	cr_assert_null(metrics_find(&t, "buffer_points", NULL));
	cr_assert_eq(val(&t, "worker_up", "role", "sender"), 0);
	cr_assert_eq(val(&t, "worker_restarts_total", "role", "sender"), 1);

	/* the new sender counts from zero; the total goes on from 500 */
	w->state = W_RUNNING;
	stats_msg(w, 20, 1);
	cr_assert_eq(stats_table(m, &t, 0), 0);
	cr_assert_eq(val(&t, "points_published_total", NULL, NULL), 520);
	cr_assert_eq(val(&t, "buffer_points", NULL, NULL), 1);
	/* /me/status keeps showing the process's own counters */
	cr_assert_eq(w->stats.v[0].value, 20);

	stats_worker_died(m, w);
	stats_msg(w, 5, 0);
	cr_assert_eq(stats_table(m, &t, 0), 0);
	cr_assert_eq(val(&t, "points_published_total", NULL, NULL), 525);

	metrics_free(&t);
	stats_free(m);
	free(m);
}

Test(stats, a_bad_stats_message_is_refused_and_changes_nothing)
{
	struct master		*m;
	struct wslot		*w;
	struct pbuf		 pb;
	struct preader		 pr;
	struct worker_stats	 flat;
	char			 err[256];

	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	w = &m->w[ROLE_SCHEDULER];
	w->m = m;
	w->role = ROLE_SCHEDULER;
	stats_msg(w, 9, 0);
	memset(&flat, 0, sizeof(flat));
	codec_put_init(&pb);
	status_stats_encode(&pb, &flat);
	codec_put_u32(&pb, 1);
	put_bare_sample(&pb, "evil_total", METRIC_COUNTER);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(stats_worker_msg(w, &pr, err, sizeof(err)), -1);
	cr_assert(strstr(err, "evil_total") != NULL, "%s", err);
	cr_assert_eq(val(&w->metrics, "points_published_total", NULL, NULL),
	    9);
	/* the next good one is taken whole, into what the bad one filled */
	stats_msg(w, 11, 4);
	cr_assert_eq(val(&w->metrics, "points_published_total", NULL, NULL),
	    11);
	cr_assert_eq(val(&w->metrics, "buffer_points", NULL, NULL), 4);
	cr_assert_eq(w->metrics.n, 2);
	codec_put_free(&pb);
	stats_free(m);
	free(m);
}

/*
 * The master decodes each push into the set of the push before last:
 * what that held is gone, what the push has is found by name and
 * labels.  Samples of one family come together, and each is still
 * checked against its own family, not the one before it.
 */
Test(metrics, a_decode_into_a_used_set_holds_the_new_samples_only)
{
	struct metric_set	 a, b, out;
	struct metric_hist	 h;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256];

	metrics_init(&a);
	metrics_init(&b);
	metrics_init(&out);
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.2);
	cr_assert_eq(metrics_put(&a, "http_requests_total", 3, "code", "200",
	    NULL), 0);
	cr_assert_eq(metrics_put(&a, "http_requests_total", 4, "code", "404",
	    NULL), 0);
	cr_assert_eq(metrics_put(&a, "spool_bytes", 99, NULL), 0);
	cr_assert_eq(round_trip(&a, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.n, 3);

	cr_assert_eq(metrics_put(&b, "plugin_runs_total", 1, "ns", "n",
	    "plugin", "p", "status", "ok", NULL), 0);
	cr_assert_eq(metrics_put_hist(&b, "plugin_duration_seconds", &h, "ns",
	    "n", "plugin", "p", NULL), 0);
	cr_assert_eq(metrics_put(&b, "plugin_runs_total", 2, "ns", "n",
	    "plugin", "q", "status", "ok", NULL), 0);
	cr_assert_eq(metrics_put(&b, "http_requests_total", 8, "code", "200",
	    NULL), 0);
	cr_assert_eq(round_trip(&b, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.n, 4);
	cr_assert_eq(memcmp(out.v, b.v, 4 * sizeof(*b.v)), 0);
	cr_assert_eq(val(&out, "http_requests_total", "code", "200"), 8);
	cr_assert_null(metrics_find(&out, "http_requests_total", "code", "404",
	    NULL));
	cr_assert_null(metrics_find(&out, "spool_bytes", NULL));
	cr_assert_eq(metrics_find(&out, "plugin_runs_total", "ns", "n",
	    "plugin", "q", "status", "ok", NULL)->value, 2);

	/* a gauge's name after a counter's, claiming the counter's kind */
	codec_put_init(&pb);
	codec_put_u32(&pb, 2);
	put_bare_sample(&pb, "points_published_total", METRIC_COUNTER);
	put_bare_sample(&pb, "buffer_points", METRIC_COUNTER);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(metrics_decode(&pr, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "sample 1: buffer_points: kind") != NULL, "%s",
	    err);
	codec_put_free(&pb);

	metrics_free(&a);
	metrics_free(&b);
	metrics_free(&out);
}

/*
 * Thousands of samples (a scheduler with hundreds of plugins): each is
 * found by name and labels through the index, a second put replaces
 * rather than adds, a reset empties the index too, and a fold into a set
 * that has half of them adds to those and appends the rest.
 */
Test(metrics, many_samples_are_found_and_merged)
{
	struct metric_set	 s, base;
	const struct metric	*m;
	char			 plugin[16];
	int			 i;

	metrics_init(&s);
	metrics_init(&base);
	for (i = 0; i < 3000; i++) {
		snprintf(plugin, sizeof(plugin), "p%04d", i);
		cr_assert_eq(metrics_put(&s, "plugin_runs_total", 1, "ns", "a",
		    "plugin", plugin, "status", "ok", NULL), 0);
		cr_assert_eq(metrics_put(&s, "plugin_runs_total", (uint64_t)i,
		    "ns", "a", "plugin", plugin, "status", "ok", NULL), 0);
		if (i % 2 == 0)
			cr_assert_eq(metrics_put(&base, "plugin_runs_total", 5,
			    "ns", "a", "plugin", plugin, "status", "ok", NULL),
			    0);
	}
	cr_assert_eq(s.n, 3000);
	for (i = 0; i < 3000; i += 7) {
		snprintf(plugin, sizeof(plugin), "p%04d", i);
		m = metrics_find(&s, "plugin_runs_total", "ns", "a", "plugin",
		    plugin, "status", "ok", NULL);
		cr_assert_not_null(m, "%s", plugin);
		cr_assert_eq(m->value, (uint64_t)i);
	}
	cr_assert_null(metrics_find(&s, "plugin_runs_total", "ns", "b",
	    "plugin", "p0001", "status", "ok", NULL));
	cr_assert_eq(metrics_fold(&base, &s), 0);
	cr_assert_eq(base.n, 3000);
	m = metrics_find(&base, "plugin_runs_total", "ns", "a", "plugin",
	    "p0002", "status", "ok", NULL);
	cr_assert_eq(m->value, 5 + 2);
	m = metrics_find(&base, "plugin_runs_total", "ns", "a", "plugin",
	    "p0003", "status", "ok", NULL);
	cr_assert_eq(m->value, 3);
	metrics_reset(&s);
	cr_assert_null(metrics_find(&s, "plugin_runs_total", "ns", "a",
	    "plugin", "p0002", "status", "ok", NULL));
	cr_assert_eq(metrics_put(&s, "plugin_runs_total", 1, "ns", "a",
	    "plugin", "p0002", "status", "ok", NULL), 0);
	cr_assert_eq(s.n, 1);
	metrics_free(&s);
	metrics_free(&base);
}
