/*
 * The agent's own figures with a type and labels: what a worker reports
 * to the master after the flat counters of MSG_STATS, what the master
 * keeps across a worker's restarts and sends the front in MSG_STATUS, and
 * what GET /metrics (front_metrics.c) and the self metrics (the
 * collector) show.
 *
 * Every family is one row of the table in metrics.c: its name (rendered
 * with the "agent_" prefix), its kind and its help text.  A sample whose
 * family is not in the table, or whose kind differs from the table's, is
 * refused when it is added and when it is decoded, so nothing a worker
 * sends can make /metrics say something the table does not describe.
 *
 * A sample is a family and up to METRIC_LABELS_MAX labels; counters and
 * gauges hold one integer, a histogram its observations, their sum and
 * cumulative counts per upper bound (the family's bounds, +Inf implied).
 *
 * Across a restart (metrics_fold, metrics_total): counters and
 * histograms of a worker that died are added to a per-role base, so the
 * totals never go back; gauges belong to the living process only.
 */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct pbuf;
struct preader;

enum metric_kind {
	METRIC_COUNTER = 0,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
	METRIC_KIND_MAX
};

#define METRIC_PREFIX		"agent_"
#define METRIC_NAME_MAX		48	/* without the prefix */
#define METRIC_LABELS_MAX	3
#define METRIC_LKEY_MAX		16
#define METRIC_LVAL_MAX		256
#define METRIC_BUCKETS_MAX	16
#define METRICS_MAX		4096	/* samples in one set */

struct metric_family {
	const char		*name;
	enum metric_kind	 kind;
	const char		*help;
	const double		*bounds;	/* histogram upper bounds */
	uint32_t		 nbounds;
};

struct metric_label {
	char		 key[METRIC_LKEY_MAX];
	char		 value[METRIC_LVAL_MAX];
};

struct metric {
	char			 name[METRIC_NAME_MAX];
	enum metric_kind	 kind;
	uint32_t		 nlabels;
	struct metric_label	 label[METRIC_LABELS_MAX];
	uint64_t		 value;		/* histogram: observations */
	double			 sum;		/* histogram */
	uint32_t		 nbuckets;	/* histogram: the family's */
	uint64_t		 bucket[METRIC_BUCKETS_MAX];	/* cumulative */
};

struct metric_set {
	struct metric	*v;
	size_t		 n;
	size_t		 cap;
	int		 failed;	/* a sample was lost (memory, full) */
	/*
	 * Open addressing over v by name and labels (index + 1, 0 empty):
	 * a scheduler with hundreds of plugins puts thousands of samples a
	 * push, and the master merges them; a linear search made that
	 * quadratic (bench/README.md, "bench/plugins").
	 */
	uint32_t	*idx;
	size_t		 idxcap;	/* a power of two, or 0 */
};

/* What a producer keeps of one histogram between two reports. */
struct metric_hist {
	uint64_t	 count;
	double		 sum;
	uint64_t	 bucket[METRIC_BUCKETS_MAX];	/* cumulative */
};

extern const struct metric_family	metrics_families[];
extern const size_t			metrics_family_count;

/* The family called `name` (no prefix), NULL when there is none. */
const struct metric_family *metrics_family(const char *name);

void	 metrics_init(struct metric_set *);
/* metrics_free: and metrics_init() again */
void	 metrics_free(struct metric_set *);
void	 metrics_reset(struct metric_set *);	/* n = 0, memory kept */
/* Deep copy into dst (its old samples freed); 0 or -1 (ENOMEM). */
int	 metrics_copy(struct metric_set *dst, const struct metric_set *src);

/*
 * Set the counter or gauge `name` with labels given as key, value pairs
 * and a NULL: the sample is created, or its value replaced.  -1 (and
 * set->failed) when the family is unknown or of another kind, a label
 * does not fit, or memory or the set's room ran out.
 */
int	 metrics_put(struct metric_set *, const char *name, uint64_t value,
	    ...) __attribute__((sentinel));
/* The same for a histogram, from what the producer keeps. */
int	 metrics_put_hist(struct metric_set *, const char *name,
	    const struct metric_hist *, ...) __attribute__((sentinel));
/* Count one observation of `v` into the histogram of family `name`. */
void	 metrics_hist_observe(struct metric_hist *, const char *name,
	    double v);

/* The sample with this name and these labels (key, value, ..., NULL). */
const struct metric *metrics_find(const struct metric_set *,
	    const char *name, ...) __attribute__((sentinel));

/*
 * A worker died: its counters and histograms are added to `base` (same
 * sample: summed; else appended), its gauges are dropped.  0 or -1.
 */
int	 metrics_fold(struct metric_set *base, const struct metric_set *dead);
/*
 * `out` = the living worker's samples `cur` plus the counters and
 * histograms of `base`: what the role counted since the master started.
 * 0 or -1.
 */
int	 metrics_total(struct metric_set *out, const struct metric_set *base,
	    const struct metric_set *cur);
/*
 * dst += src: a sample already in `dst` is summed (gauges too: the
 * roles' tables join into one), else appended.  0 or -1.
 */
int	 metrics_merge(struct metric_set *dst, const struct metric_set *src);

/* On the wire (after the flat counters of MSG_STATS; in MSG_STATUS). */
void	 metrics_encode(struct pbuf *, const struct metric_set *);
/*
 * `a`, then `b`, as one set (a worker's own samples before its role's,
 * which are not copied for it): no sample may be in both, and together
 * they must be METRICS_MAX at most, or the decoder refuses them.
 */
void	 metrics_encode2(struct pbuf *, const struct metric_set *a,
	    const struct metric_set *b);
/*
 * Into `out` (metrics_init'ed); every sample checked against the family
 * table.  0, or -1 with err naming the sample and what was wrong.
 */
int	 metrics_decode(struct preader *, struct metric_set *out, char *err,
	    size_t errlen);

#endif
