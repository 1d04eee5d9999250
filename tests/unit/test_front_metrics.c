/*
 * GET /metrics text (front_metrics.c): HELP and TYPE per family, label
 * values escaped as the exposition format says (backslash, double quote,
 * line feed), histograms as cumulative buckets, _sum and _count.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "workers/front/front_metrics.h"

static char *
render(const struct metric_set *s)
{
	struct buf	 b;
	char		*out;

	buf_init(&b);
	cr_assert_eq(front_metrics_render(s, &b), 0);
	out = strdup(buf_str(&b));
	buf_free(&b);
	return out;
}

static unsigned
count(const char *t, const char *what)
{
	unsigned	 n = 0;

	while ((t = strstr(t, what)) != NULL) {
		n++;
		t++;
	}
	return n;
}

Test(front_metrics, label_values_are_escaped)
{
	struct buf	 b;

	buf_init(&b);
	front_metrics_label_value(&b, "a\\b\"c\nd\te");
	cr_assert_str_eq(buf_str(&b), "a\\\\b\\\"c\\nd\te");
	buf_reset(&b);
	front_metrics_help_text(&b, "x\\y\"z\nw");
	cr_assert_str_eq(buf_str(&b), "x\\\\y\"z\\nw");
	buf_free(&b);
}

Test(front_metrics, families_with_help_type_and_escaped_samples)
{
	struct metric_set	 s;
	char			*t;

	metrics_init(&s);
	(void)metrics_put(&s, "plugin_runs_total", 4, "ns", "a.b", "plugin",
	    "we\\ird\"na\nme", "status", "ok", NULL);
	(void)metrics_put(&s, "points_published_total", 18446744073709551615ULL,
	    NULL);
	(void)metrics_put(&s, "build_info", 1, "version", "1.2.3", NULL);
	t = render(&s);
	/* the table's order, not the set's */
	cr_assert_str_eq(t,
	    "# HELP agent_build_info The agent's version (label version); "
	    "the value is 1.\n"
	    "# TYPE agent_build_info gauge\n"
	    "agent_build_info{version=\"1.2.3\"} 1\n"
	    "# HELP agent_points_published_total Points the output "
	    "acknowledged.\n"
	    "# TYPE agent_points_published_total counter\n"
	    "agent_points_published_total 18446744073709551615\n"
	    "# HELP agent_plugin_runs_total Plugin runs by namespace, plugin "
	    "and status: ok, failed, timeout, skipped (the previous run "
	    "still went).\n"
	    "# TYPE agent_plugin_runs_total counter\n"
	    "agent_plugin_runs_total{ns=\"a.b\","
	    "plugin=\"we\\\\ird\\\"na\\nme\","
	    "status=\"ok\"} 4\n");
	free(t);
	metrics_free(&s);
}

Test(front_metrics, histogram_lines)
{
	const struct metric_family	*fam;
	struct metric_hist		 h;
	struct metric_set		 s;
	char				*t;

	fam = metrics_family("plugin_duration_seconds");
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.2);
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.1);
	metrics_hist_observe(&h, "plugin_duration_seconds", 400);
	metrics_init(&s);
	(void)metrics_put_hist(&s, "plugin_duration_seconds", &h, "ns", "n",
	    "plugin", "p", NULL);
	t = render(&s);
	cr_assert(strstr(t, "# TYPE agent_plugin_duration_seconds "
	    "histogram\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_bucket{ns=\"n\","
	    "plugin=\"p\",le=\"0.05\"} 0\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_bucket{ns=\"n\","
	    "plugin=\"p\",le=\"0.1\"} 1\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_bucket{ns=\"n\","
	    "plugin=\"p\",le=\"0.25\"} 2\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_bucket{ns=\"n\","
	    "plugin=\"p\",le=\"300\"} 2\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_bucket{ns=\"n\","
	    "plugin=\"p\",le=\"+Inf\"} 3\n") != NULL, "%s", t);
	/* the shortest form that reads back exactly */
	cr_assert(strstr(t, "agent_plugin_duration_seconds_sum{ns=\"n\","
	    "plugin=\"p\"} 400.3\n") != NULL, "%s", t);
	cr_assert(strstr(t, "agent_plugin_duration_seconds_count{ns=\"n\","
	    "plugin=\"p\"} 3\n") != NULL, "%s", t);
	/* every bound once, then +Inf */
	cr_assert_eq(count(t, "_bucket{"), fam->nbounds + 1);
	free(t);
	metrics_free(&s);
}

Test(front_metrics, floats_read_back_exactly)
{
	char	 s[40];

	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 0.25), "0.25");
	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 300), "300");
	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 0.1), "0.1");
	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 1e21), "1e+21");
	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 0), "0");
	/* 0.1 + 0.2 is not 0.3 in binary: all the digits it takes */
	cr_assert_str_eq(front_metrics_float(s, sizeof(s), 0.1 + 0.2),
	    "0.30000000000000004");
}

Test(front_metrics, empty_families_are_left_out)
{
	struct metric_set	 s;
	char			*t;

	metrics_init(&s);
	t = render(&s);
	cr_assert_str_eq(t, "");
	free(t);
	metrics_free(&s);
}
