/*
 * Typed, labelled figures: the family table, sets of samples, folding a
 * dead worker's counters into a base, and the wire format (metrics.h).
 */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"
#include "point.h"
#include "utf8.h"

/* From a quick check to a plugin that runs into its timeout. */
static const double plugin_bounds[] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300
};

#define NB(a)	(uint32_t)(sizeof(a) / sizeof((a)[0]))

/* GET /metrics and agent(8) list these; the help is what /metrics says. */
const struct metric_family metrics_families[] = {
	{ "build_info", METRIC_GAUGE,
	    "The agent's version (label version); the value is 1.", NULL, 0 },
	{ "start_time_seconds", METRIC_GAUGE,
	    "Unix time the master started.", NULL, 0 },
	{ "config_generation", METRIC_GAUGE,
	    "Config generation the master runs; each applied reload adds "
	    "one.", NULL, 0 },
	{ "worker_up", METRIC_GAUGE,
	    "1 when the worker of the role is running, else 0.", NULL, 0 },
	{ "worker_restarts_total", METRIC_COUNTER,
	    "Times the worker of the role was restarted after it died.",
	    NULL, 0 },
	{ "log_lines_dropped_total", METRIC_COUNTER,
	    "Log lines of the worker role the master dropped: over its budget "
	    "of 100 lines and 64 KiB a second.", NULL, 0 },
	{ "log_lines_stderr_total", METRIC_COUNTER,
	    "Log lines of the worker role the master did not take (its "
	    "control edge full or gone), written to the worker's stderr "
	    "instead.", NULL, 0 },
	{ "points_received_total", METRIC_COUNTER,
	    "Valid points taken in, by source: post, write (the HTTP API), "
	    "plugin, collector, self (these metrics).", NULL, 0 },
	{ "points_published_total", METRIC_COUNTER,
	    "Points the output acknowledged.", NULL, 0 },
	{ "points_dropped_total", METRIC_COUNTER,
	    "Points lost, by reason: buffer_full (aged out while the output "
	    "was down, or scheduled points a full buffer or spool could not "
	    "take), too_large, output_rejected, shutdown, spool "
	    "(scheduled points neither the spool nor memory could take), "
	    "invalid (bad points in a plugin's output or a collector's), "
	    "unsent (the sender was not there, or a SEC plugin's in a "
	    "namespace of one label: no sec. namespace).", NULL, 0 },
	{ "points_refused_total", METRIC_COUNTER,
	    "Pushed points the sender answered 503: its spool (without one, "
	    "its buffer) full or unwritable, or the agent stopping (the "
	    "client sends them again).", NULL, 0 },
	{ "messages_malformed_total", METRIC_COUNTER,
	    "Messages of points the sender could not decode, rejected: a "
	    "broken or compromised producer (the log says which and why).",
	    NULL, 0 },
	{ "buffer_points", METRIC_GAUGE,
	    "Points waiting in the sender's memory buffer.", NULL, 0 },
	{ "buffer_bytes", METRIC_GAUGE,
	    "Bytes of encoded points in the sender's memory buffer.", NULL, 0 },
	{ "spool_bytes", METRIC_GAUGE,
	    "Bytes in the sender's spool on disk ([output] spool).", NULL, 0 },
	{ "spool_segments", METRIC_GAUGE,
	    "Segment files in the sender's spool.", NULL, 0 },
	{ "spool_write_errors_total", METRIC_COUNTER,
	    "Writes to the spool that failed (each answered 503, or the "
	    "scheduled points kept in memory).", NULL, 0 },
	{ "plugin_runs_total", METRIC_COUNTER,
	    "Plugin runs by namespace, plugin and status: ok, failed, "
	    "timeout, skipped (the previous run still went).", NULL, 0 },
	{ "plugin_duration_seconds", METRIC_HISTOGRAM,
	    "How long plugin runs took, by namespace and plugin.",
	    plugin_bounds, NB(plugin_bounds) },
	{ "registry_requests_total", METRIC_COUNTER,
	    "Registry refreshes and reports by result: ok, failed.", NULL, 0 },
	{ "registry_items_rejected", METRIC_GAUGE,
	    "Items of the registry's set in use that are not applied: "
	    "rejected (the log says why), or of a namespace dropped because "
	    "all of them take more than a message.", NULL, 0 },
	{ "collector_families_off", METRIC_GAUGE,
	    "Collector metric families left out since it started: their "
	    "start failed (out of memory; the log says which), and their "
	    "points are missing until the collector restarts.", NULL, 0 },
	{ "git_commands_total", METRIC_COUNTER,
	    "git commands run for the plugins by result: ok, failed, "
	    "timeout.", NULL, 0 },
	{ "plugin_signatures_total", METRIC_COUNTER,
	    "Signature checks of plugin commits ([agent] gitsigners) by "
	    "result: verified, untrusted.", NULL, 0 },
	{ "http_requests_total", METRIC_COUNTER,
	    "HTTP API answers by status code.", NULL, 0 },
	{ "api_tokens_refused_total", METRIC_COUNTER,
	    "Bearer tokens not taken, by reason: wrong, waiting (not checked: "
	    "too many wrong ones from that client).", NULL, 0 },
};

const size_t metrics_family_count =
    sizeof(metrics_families) / sizeof(metrics_families[0]);

const struct metric_family *
metrics_family(const char *name)
{
	size_t	 i;

	for (i = 0; i < metrics_family_count; i++)
		if (strcmp(metrics_families[i].name, name) == 0)
			return &metrics_families[i];
	return NULL;
}

void
metrics_init(struct metric_set *s)
{
	memset(s, 0, sizeof(*s));
}

void
metrics_free(struct metric_set *s)
{
	free(s->v);
	free(s->idx);
	metrics_init(s);
}

void
metrics_reset(struct metric_set *s)
{
	s->n = 0;
	s->failed = 0;
	if (s->idx != NULL)
		memset(s->idx, 0, s->idxcap * sizeof(*s->idx));
}

/* FNV-1a over the name and the labels, with a separator between. */
static uint32_t
sample_hash(const struct metric *m)
{
	const char	*p;
	uint32_t	 h = 2166136261u, i;

#define HASH_STR(str)	do {					\
		for (p = (str); *p != '\0'; p++)			\
			h = (h ^ (unsigned char)*p) * 16777619u;	\
		h = (h ^ 0xffu) * 16777619u;			\
	} while (0)
	HASH_STR(m->name);
	for (i = 0; i < m->nlabels; i++) {
		HASH_STR(m->label[i].key);
		HASH_STR(m->label[i].value);
	}
#undef HASH_STR
	return h;
}

/* Sample `at`, whose sample_hash() is `h`, into the index. */
static void
index_add(struct metric_set *s, size_t at, uint32_t h)
{
	size_t	 mask = s->idxcap - 1, j;

	j = h & mask;
	while (s->idx[j] != 0)
		j = (j + 1) & mask;
	s->idx[j] = (uint32_t)at + 1;
}

/* Room in the index for one more sample (kept under half full). */
static int
index_grow(struct metric_set *s)
{
	uint32_t	*idx;
	size_t		 ncap, i;

	if (s->idxcap >= 2 * (s->n + 1))
		return 0;
	ncap = s->idxcap == 0 ? 64 : s->idxcap * 2;
	while (ncap < 2 * (s->n + 1))
		ncap *= 2;
	if ((idx = calloc(ncap, sizeof(*idx))) == NULL)
		return -1;
	free(s->idx);
	s->idx = idx;
	s->idxcap = ncap;
	for (i = 0; i < s->n; i++)
		index_add(s, i, sample_hash(&s->v[i]));
	return 0;
}

static int
grow(struct metric_set *s)
{
	struct metric	*v;
	size_t		 ncap;

	if (s->n < s->cap)
		return 0;
	if (s->n >= METRICS_MAX)
		return -1;
	ncap = s->cap == 0 ? 16 : s->cap * 2;
	if (ncap > METRICS_MAX)
		ncap = METRICS_MAX;
	if ((v = reallocarray(s->v, ncap, sizeof(*v))) == NULL)
		return -1;
	s->v = v;
	s->cap = ncap;
	return 0;
}

/* A copy of `m` (sample_hash() `h`) at the end of `s`, indexed; NULL
 * when there is no room. */
static struct metric *
append(struct metric_set *s, const struct metric *m, uint32_t h)
{
	if (grow(s) == -1 || index_grow(s) == -1)
		return NULL;
	s->v[s->n] = *m;
	index_add(s, s->n, h);
	return &s->v[s->n++];
}

int
metrics_copy(struct metric_set *dst, const struct metric_set *src)
{
	size_t	 i;

	metrics_reset(dst);
	for (i = 0; i < src->n; i++)
		if (append(dst, &src->v[i], sample_hash(&src->v[i])) == NULL) {
			dst->failed = 1;
			return -1;
		}
	return 0;
}

/* Prometheus label names, and not one it reserves. */
static int
label_key_valid(const char *k)
{
	size_t	 i;

	if (k[0] == '\0' || (k[0] == '_' && k[1] == '_') ||
	    strcmp(k, "le") == 0)
		return 0;
	for (i = 0; k[i] != '\0'; i++) {
		if ((k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= 'A' && k[i] <= 'Z') || k[i] == '_' ||
		    (i > 0 && k[i] >= '0' && k[i] <= '9'))
			continue;
		return 0;
	}
	return 1;
}

static int
same_labels(const struct metric *a, const struct metric *b)
{
	uint32_t	 i;

	if (a->nlabels != b->nlabels)
		return 0;
	for (i = 0; i < a->nlabels; i++)
		if (strcmp(a->label[i].key, b->label[i].key) != 0 ||
		    strcmp(a->label[i].value, b->label[i].value) != 0)
			return 0;
	return 1;
}

/* The sample of `s` with m's name and labels; `h` is sample_hash(m). */
static struct metric *
find_same(const struct metric_set *s, const struct metric *m, uint32_t h)
{
	const struct metric	*c;
	size_t			 mask = s->idxcap - 1, j;

	if (s->idxcap == 0)
		return NULL;
	for (j = h & mask; s->idx[j] != 0; j = (j + 1) & mask) {
		c = &s->v[s->idx[j] - 1];
		if (strcmp(c->name, m->name) == 0 && same_labels(c, m))
			return &s->v[s->idx[j] - 1];
	}
	return NULL;
}

/* A sample's family, name and labels from the arguments; 0 or -1. */
static int
make_key(struct metric *m, const struct metric_family **fam,
    const char *name, va_list ap)
{
	const char	*k, *v;

	memset(m, 0, sizeof(*m));
	if ((*fam = metrics_family(name)) == NULL ||
	    strlcpy(m->name, name, sizeof(m->name)) >= sizeof(m->name))
		return -1;
	m->kind = (*fam)->kind;
	while ((k = va_arg(ap, const char *)) != NULL) {
		if ((v = va_arg(ap, const char *)) == NULL ||
		    m->nlabels == METRIC_LABELS_MAX || !label_key_valid(k) ||
		    strlcpy(m->label[m->nlabels].key, k,
		    METRIC_LKEY_MAX) >= METRIC_LKEY_MAX ||
		    strlcpy(m->label[m->nlabels].value, v,
		    METRIC_LVAL_MAX) >= METRIC_LVAL_MAX)
			return -1;
		m->nlabels++;
	}
	return 0;
}

/* The sample of `key` in `s`, created when missing; NULL on failure. */
static struct metric *
upsert(struct metric_set *s, const struct metric *key)
{
	struct metric	*m;
	uint32_t	 h = sample_hash(key);

	if ((m = find_same(s, key, h)) != NULL)
		return m;
	return append(s, key, h);
}

/*
 * The sample named by `name` and the labels in `ap`, created when
 * missing, for a histogram family or not as `hist` says; NULL, with
 * s->failed set, when the name, the labels or memory fail.
 */
static struct metric *
put_key(struct metric_set *s, const char *name, va_list ap, int hist,
    const struct metric_family **fam)
{
	struct metric	 key, *m;

	if (make_key(&key, fam, name, ap) == -1 ||
	    ((*fam)->kind == METRIC_HISTOGRAM) != hist ||
	    (m = upsert(s, &key)) == NULL) {
		s->failed = 1;
		return NULL;
	}
	return m;
}

int
metrics_put(struct metric_set *s, const char *name, uint64_t value, ...)
{
	const struct metric_family	*fam;
	struct metric			*m;
	va_list				 ap;

	va_start(ap, value);
	m = put_key(s, name, ap, 0, &fam);
	va_end(ap);
	if (m == NULL)
		return -1;
	m->value = value;
	return 0;
}

int
metrics_put_hist(struct metric_set *s, const char *name,
    const struct metric_hist *h, ...)
{
	const struct metric_family	*fam;
	struct metric			*m;
	va_list				 ap;

	va_start(ap, h);
	m = put_key(s, name, ap, 1, &fam);
	va_end(ap);
	if (m == NULL)
		return -1;
	m->value = h->count;
	m->sum = h->sum;
	m->nbuckets = fam->nbounds;
	memcpy(m->bucket, h->bucket, sizeof(m->bucket));
	return 0;
}

void
metrics_hist_observe(struct metric_hist *h, const char *name, double v)
{
	const struct metric_family	*fam;
	uint32_t			 i;

	if ((fam = metrics_family(name)) == NULL ||
	    fam->kind != METRIC_HISTOGRAM || isnan(v))
		return;
	h->count++;
	h->sum += v;
	for (i = 0; i < fam->nbounds && i < METRIC_BUCKETS_MAX; i++)
		if (v <= fam->bounds[i])
			h->bucket[i]++;
}

const struct metric *
metrics_find(const struct metric_set *s, const char *name, ...)
{
	const struct metric_family	*fam;
	struct metric			 key;
	va_list				 ap;
	int				 rv;

	va_start(ap, name);
	rv = make_key(&key, &fam, name, ap);
	va_end(ap);
	return rv == -1 ? NULL : find_same(s, &key, sample_hash(&key));
}

/* a += b for a counter or a histogram of the same family. */
static void
add_sample(struct metric *a, const struct metric *b)
{
	uint32_t	 i;

	a->value += b->value;
	if (a->kind != METRIC_HISTOGRAM)
		return;
	a->sum += b->sum;
	for (i = 0; i < a->nbuckets && i < b->nbuckets; i++)
		a->bucket[i] += b->bucket[i];
}

/* dst += src sample by sample; gauges too when `gauges`. */
static int
merge(struct metric_set *dst, const struct metric_set *src, int gauges)
{
	struct metric	*m;
	size_t		 i;
	uint32_t	 h;
	int		 rv = 0;

	for (i = 0; i < src->n; i++) {
		if (src->v[i].kind == METRIC_GAUGE && !gauges)
			continue;
		h = sample_hash(&src->v[i]);
		if ((m = find_same(dst, &src->v[i], h)) != NULL) {
			add_sample(m, &src->v[i]);
			continue;
		}
		if (append(dst, &src->v[i], h) == NULL) {
			dst->failed = 1;
			rv = -1;
		}
	}
	return rv;
}

int
metrics_fold(struct metric_set *base, const struct metric_set *dead)
{
	return merge(base, dead, 0);
}

int
metrics_total(struct metric_set *out, const struct metric_set *base,
    const struct metric_set *cur)
{
	if (metrics_copy(out, cur) == -1)
		return -1;
	return merge(out, base, 0);
}

int
metrics_merge(struct metric_set *dst, const struct metric_set *src)
{
	return merge(dst, src, 1);
}

static void
encode_samples(struct pbuf *pb, const struct metric_set *s)
{
	const struct metric	*m;
	size_t			 i;
	uint32_t		 j;

	for (i = 0; i < s->n; i++) {
		m = &s->v[i];
		codec_put_str(pb, m->name);
		codec_put_u32(pb, (uint32_t)m->kind);
		codec_put_u32(pb, m->nlabels);
		for (j = 0; j < m->nlabels; j++) {
			codec_put_str(pb, m->label[j].key);
			codec_put_str(pb, m->label[j].value);
		}
		codec_put_u64(pb, m->value);
		if (m->kind != METRIC_HISTOGRAM)
			continue;
		codec_put_dbl(pb, m->sum);
		codec_put_u32(pb, m->nbuckets);
		for (j = 0; j < m->nbuckets; j++)
			codec_put_u64(pb, m->bucket[j]);
	}
}

void
metrics_encode(struct pbuf *pb, const struct metric_set *s)
{
	codec_put_u32(pb, (uint32_t)s->n);
	encode_samples(pb, s);
}

void
metrics_encode2(struct pbuf *pb, const struct metric_set *a,
    const struct metric_set *b)
{
	codec_put_u32(pb, (uint32_t)(a->n + b->n));
	encode_samples(pb, a);
	encode_samples(pb, b);
}

/*
 * One sample; -1 with err (the reader may have failed instead).  `last`
 * is the family of the sample before: a family's samples come together,
 * so it is most often this one's too.
 */
static int
decode_one(struct preader *pr, struct metric *m,
    const struct metric_family **last, char *err, size_t errlen)
{
	const struct metric_family	*fam;
	struct point_shown		 sh;
	uint32_t			 kind, j;

	memset(m, 0, sizeof(*m));
	codec_get_strbuf(pr, m->name, sizeof(m->name));
	kind = codec_get_u32(pr);
	m->nlabels = codec_get_u32(pr);
	if (pr->failed)
		return -1;
	if (*last != NULL && strcmp((*last)->name, m->name) == 0)
		fam = *last;
	else if ((fam = metrics_family(m->name)) != NULL)
		*last = fam;
	else {
		/* a worker's bytes, shown printably */
		snprintf(err, errlen, "unknown family %s", point_show(&sh,
		    m->name, strlen(m->name)));
		return -1;
	}
	if (kind != (uint32_t)fam->kind || m->nlabels > METRIC_LABELS_MAX) {
		snprintf(err, errlen, "%s: kind %u or %u labels", m->name,
		    kind, m->nlabels);
		return -1;
	}
	m->kind = fam->kind;
	for (j = 0; j < m->nlabels && !pr->failed; j++) {
		codec_get_strbuf(pr, m->label[j].key, METRIC_LKEY_MAX);
		codec_get_strbuf(pr, m->label[j].value, METRIC_LVAL_MAX);
		if (!pr->failed && !label_key_valid(m->label[j].key)) {
			snprintf(err, errlen, "%s: bad label name", m->name);
			return -1;
		}
		/* Prometheus refuses the whole page for one such value */
		if (!pr->failed && !utf8_valid(m->label[j].value,
		    strlen(m->label[j].value))) {
			snprintf(err, errlen, "%s: label value not UTF-8",
			    m->name);
			return -1;
		}
	}
	m->value = codec_get_u64(pr);
	if (pr->failed || m->kind != METRIC_HISTOGRAM)
		return pr->failed ? -1 : 0;
	m->sum = codec_get_dbl(pr);
	m->nbuckets = codec_get_u32(pr);
	if (!pr->failed && m->nbuckets != fam->nbounds) {
		snprintf(err, errlen, "%s: %u buckets, the family has %u",
		    m->name, m->nbuckets, fam->nbounds);
		return -1;
	}
	for (j = 0; j < m->nbuckets && !pr->failed; j++) {
		m->bucket[j] = codec_get_u64(pr);
		/* cumulative, and never more than the observations */
		if (m->bucket[j] > m->value ||
		    (j > 0 && m->bucket[j] < m->bucket[j - 1])) {
			snprintf(err, errlen, "%s: bucket %u not cumulative",
			    m->name, j);
			return -1;
		}
	}
	if (!pr->failed && !isfinite(m->sum)) {
		snprintf(err, errlen, "%s: sum is not finite", m->name);
		return -1;
	}
	return pr->failed ? -1 : 0;
}

int
metrics_decode(struct preader *pr, struct metric_set *out, char *err,
    size_t errlen)
{
	const struct metric_family	*last = NULL;
	char				 why[256];
	uint32_t			 n, i, h;

	metrics_reset(out);
	n = codec_get_u32(pr);
	if (pr->failed)
		goto bad;
	if (n > METRICS_MAX) {
		snprintf(err, errlen, "metrics: %u samples, at most %d", n,
		    METRICS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (grow(out) == -1 || index_grow(out) == -1) {
			snprintf(err, errlen, "metrics: out of memory");
			return -1;
		}
		if (decode_one(pr, &out->v[out->n], &last, why,
		    sizeof(why)) == -1) {
			if (pr->failed)
				goto bad;
			snprintf(err, errlen, "metrics: sample %u: %s", i, why);
			return -1;
		}
		h = sample_hash(&out->v[out->n]);
		if (find_same(out, &out->v[out->n], h) != NULL) {
			snprintf(err, errlen, "metrics: sample %u: %s twice", i,
			    out->v[out->n].name);
			return -1;
		}
		index_add(out, out->n, h);
		out->n++;
	}
	return 0;
bad:
	snprintf(err, errlen, "metrics: %s", pr->err);
	return -1;
}
