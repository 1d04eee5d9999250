/*
 * libFuzzer target for what the master reads from a worker in MSG_STATS
 * (status_stats_msg_decode: the flat counters, then the typed samples of
 * src/common/metrics.c), and for what the front makes of the samples
 * that pass (front_metrics_render: GET /metrics).  A compromised worker
 * writes these bytes.
 *
 * Input: the MSG_STATS payload.
 *
 * A payload that fails says why in a printable message.  One that passes
 * encodes back to what was read (decoded into a set that held it already,
 * as the master reuses its sets), its samples are all of the family table
 * (name and kind), and they survive the master's arithmetic: folded into
 * a base twice, a counter is doubled and a gauge is gone.  The /metrics
 * page made of them is lines of "# HELP agent_", "# TYPE agent_" or a
 * sample "agent_...{k=\"v\",...} number", with every label value
 * escaped: no raw line feed, quote or lone backslash inside one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/metrics.h"
#include "common/status.h"
#include "workers/front/front_metrics.h"

#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_log();
	return 0;
}

/* One sample line: name, optional labels with escaped values, value. */
static void
check_sample(const char *l, const char *e)
{
	const char	*p = l;

	FUZZ_ASSERT(e - p > 6 && memcmp(p, "agent_", 6) == 0, "%.*s",
	    (int)(e - l), l);
	while (p < e && *p != '{' && *p != ' ')
		p++;
	if (p < e && *p == '{') {
		for (p++; p < e && *p != '}';) {
			while (p < e && *p != '=')
				p++;
			FUZZ_ASSERT(p + 1 < e && p[1] == '"', "%.*s",
			    (int)(e - l), l);
			for (p += 2; p < e && *p != '"'; p++)
				if (*p == '\\') {
					FUZZ_ASSERT(p + 1 < e && strchr("\\\"n",
					    p[1]) != NULL, "bad escape");
					p++;
				}
			FUZZ_ASSERT(p < e, "unterminated value");
			p++;
			if (p < e && *p == ',')
				p++;
		}
		FUZZ_ASSERT(p < e, "unterminated labels");
		p++;
	}
	FUZZ_ASSERT(p < e && *p == ' ' && p + 1 < e, "no value: %.*s",
	    (int)(e - l), l);
}

static void
check_page(const char *s, size_t len)
{
	const char	*l = s, *e, *end = s + len;

	FUZZ_ASSERT(len == 0 || s[len - 1] == '\n', "page not ended");
	for (; l < end; l = e + 1) {
		e = memchr(l, '\n', (size_t)(end - l));
		FUZZ_ASSERT(e != NULL, "line not ended");
		FUZZ_ASSERT(memchr(l, '\0', (size_t)(e - l)) == NULL, "NUL");
		if (e - l > 14 && (memcmp(l, "# HELP agent_", 13) == 0 ||
		    memcmp(l, "# TYPE agent_", 13) == 0))
			continue;
		check_sample(l, e);
	}
}

static void
check_arithmetic(const struct metric_set *s)
{
	struct metric_set	 base, total;
	const struct metric	*t;
	size_t			 i;

	metrics_init(&base);
	metrics_init(&total);
	FUZZ_ASSERT(metrics_fold(&base, s) == 0, "fold");
	FUZZ_ASSERT(metrics_total(&total, &base, s) == 0, "total");
	for (i = 0; i < s->n; i++) {
		/* the first sample of that name and labels */
		t = NULL;
		for (size_t j = 0; j < total.n && t == NULL; j++)
			if (strcmp(total.v[j].name, s->v[i].name) == 0 &&
			    total.v[j].nlabels == s->v[i].nlabels &&
			    memcmp(total.v[j].label, s->v[i].label,
			    sizeof(s->v[i].label)) == 0)
				t = &total.v[j];
		FUZZ_ASSERT(t != NULL, "sample %zu lost", i);
		FUZZ_ASSERT(t->value == (s->v[i].kind == METRIC_GAUGE ?
		    s->v[i].value : s->v[i].value * 2), "sample %zu", i);
	}
	metrics_free(&base);
	metrics_free(&total);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_stats	 flat, flat2;
	struct metric_set	 ms, ms2;
	struct preader		 pr;
	struct pbuf		 pb;
	struct buf		 page;
	char			 err[512];
	size_t			 i;

	metrics_init(&ms);
	metrics_init(&ms2);
	codec_get_init(&pr, data, size);
	memset(err, 0, sizeof(err));
	if (status_stats_msg_decode(&pr, &flat, &ms, err, sizeof(err)) ==
	    -1) {
		FUZZ_ASSERT(fuzz_msg_ok(err), "error text: %s", err);
		metrics_free(&ms);
		return 0;
	}
	for (i = 0; i < ms.n; i++) {
		const struct metric_family *f = metrics_family(ms.v[i].name);

		FUZZ_ASSERT(f != NULL && f->kind == ms.v[i].kind, "%s",
		    ms.v[i].name);
	}
	/* the master decodes a push into the set of the push before last:
	 * fill ms2 first, so that the round trip below reuses it */
	codec_get_init(&pr, data, size);
	FUZZ_ASSERT(status_stats_msg_decode(&pr, &flat2, &ms2, err,
	    sizeof(err)) == 0, "again: %s", err);
	/* what was read is what encodes back */
	codec_put_init(&pb);
	status_stats_encode(&pb, &flat);
	metrics_encode(&pb, &ms);
	FUZZ_ASSERT(!codec_put_failed(&pb), "encode");
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(status_stats_msg_decode(&pr, &flat2, &ms2, err,
	    sizeof(err)) == 0, "round trip: %s", err);
	FUZZ_ASSERT(memcmp(&flat, &flat2, sizeof(flat)) == 0, "flat stats");
	FUZZ_ASSERT(ms.n == ms2.n && (ms.n == 0 || memcmp(ms.v, ms2.v,
	    ms.n * sizeof(*ms.v)) == 0), "samples");
	codec_put_free(&pb);

	check_arithmetic(&ms);
	buf_init(&page);
	FUZZ_ASSERT(front_metrics_render(&ms, &page) == 0, "render");
	check_page(buf_str(&page), page.len);
	buf_free(&page);
	metrics_free(&ms);
	metrics_free(&ms2);
	return 0;
}
