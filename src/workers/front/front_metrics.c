/*
 * GET /metrics: the master's table of samples (metrics.h) in the
 * Prometheus text exposition format, version 0.0.4: per family a HELP
 * and a TYPE line, then its samples; histograms as _bucket (cumulative,
 * le="+Inf" last), _sum and _count.  Families come in the order of the
 * table in metrics.c, so the page is stable from scrape to scrape.
 *
 * Everything comes from the master over the control edge: the front is
 * chrooted and cannot open anything.  No secrets are in the table (no
 * token, no plugin parameters), so /metrics is readable like
 * /me/status.
 */
#include "front_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Label values escape backslash, double quote and line feed. */
void
front_metrics_label_value(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		default:
			buf_addc(b, *v);
			break;
		}
	}
}

/* HELP text escapes backslash and line feed only. */
void
front_metrics_help_text(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			buf_adds(b, "\\\\");
		else if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
}

/*
 * The shortest decimal that reads back as the same double; whole numbers
 * without an exponent (le="300", not le="3e+02").
 */
const char *
front_metrics_float(char *s, size_t len, double v)
{
	int	 prec;

	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(s, len, "%.0f", v);
		return s;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(s, len, "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	return s;
}

/* {k="v",...[,le="x"]}, nothing when there is no label at all. */
static void
labels(struct buf *b, const struct metric *m, const char *le)
{
	uint32_t	 i;

	if (m->nlabels == 0 && le == NULL)
		return;
	buf_addc(b, '{');
	for (i = 0; i < m->nlabels; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, m->label[i].key);
		buf_adds(b, "=\"");
		front_metrics_label_value(b, m->label[i].value);
		buf_addc(b, '"');
	}
	if (le != NULL) {
		if (m->nlabels > 0)
			buf_addc(b, ',');
		buf_adds(b, "le=\"");
		buf_adds(b, le);
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

static void
histogram(struct buf *b, const struct metric_family *fam,
    const struct metric *m)
{
	char		 num[40];
	uint32_t	 i;

	for (i = 0; i < m->nbuckets && i < fam->nbounds; i++) {
		buf_printf(b, METRIC_PREFIX "%s_bucket", m->name);
		labels(b, m, front_metrics_float(num, sizeof(num),
		    fam->bounds[i]));
		buf_printf(b, " %" PRIu64 "\n", m->bucket[i]);
	}
	buf_printf(b, METRIC_PREFIX "%s_bucket", m->name);
	labels(b, m, "+Inf");
	buf_printf(b, " %" PRIu64 "\n", m->value);
	buf_printf(b, METRIC_PREFIX "%s_sum", m->name);
	labels(b, m, NULL);
	buf_printf(b, " %s\n", front_metrics_float(num, sizeof(num),
	    m->sum));
	buf_printf(b, METRIC_PREFIX "%s_count", m->name);
	labels(b, m, NULL);
	buf_printf(b, " %" PRIu64 "\n", m->value);
}

static const char *const kind_names[METRIC_KIND_MAX] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

int
front_metrics_render(const struct metric_set *s, struct buf *b)
{
	const struct metric_family	*fam;
	const struct metric		*m;
	size_t				 i, j;
	int				 head;

	for (i = 0; i < metrics_family_count; i++) {
		fam = &metrics_families[i];
		head = 0;
		for (j = 0; j < s->n; j++) {
			m = &s->v[j];
			/* decoding checked the kind against the table */
			if (strcmp(m->name, fam->name) != 0 ||
			    m->kind != fam->kind)
				continue;
			if (!head) {
				buf_printf(b, "# HELP " METRIC_PREFIX "%s ",
				    fam->name);
				front_metrics_help_text(b, fam->help);
				buf_printf(b, "\n# TYPE " METRIC_PREFIX "%s "
				    "%s\n", fam->name, kind_names[fam->kind]);
				head = 1;
			}
			if (m->kind == METRIC_HISTOGRAM) {
				histogram(b, fam, m);
				continue;
			}
			buf_printf(b, METRIC_PREFIX "%s", m->name);
			labels(b, m, NULL);
			buf_printf(b, " %" PRIu64 "\n", m->value);
		}
	}
	return buf_failed(b) ? -1 : 0;
}
