/*
 * The workers' figures as the master keeps them: each worker's last
 * MSG_STATS, and per role what its dead processes had counted, so the
 * totals behind GET /metrics and the self metrics never go back when a
 * worker is restarted (a Prometheus rate() would take that for a reset).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "metrics.h"

int
stats_worker_msg(struct wslot *w, struct preader *pr, char *err,
    size_t errlen)
{
	struct worker_stats	 flat;
	struct metric_set	 old;

	/*
	 * Into the storage of the set before last, kept: growing a new set
	 * of a thousand samples (a kilobyte each) from nothing at every
	 * push, and freeing the old, was a tenth of what the master cost a
	 * plugin run (bench/README.md, "bench/plugins").  A bad message
	 * leaves the worker's set as it was.
	 */
	if (status_stats_msg_decode(pr, &flat, &w->metrics_spare, err,
	    errlen) == -1)
		return -1;
	w->stats = flat;
	old = w->metrics;
	w->metrics = w->metrics_spare;
	w->metrics_spare = old;
	return 0;
}

void
stats_worker_died(struct master *m, struct wslot *w)
{
	if (metrics_fold(&m->base[w->role], &w->metrics) == -1)
		log_warnx("%s: %s: some counters of the dead worker are lost "
		    "(out of memory or room)", __func__,
		    proto_role_name(w->role));
	metrics_free(&w->metrics);
	metrics_free(&w->metrics_spare);
}

/* The master's own samples: version, start, generation, each worker. */
static int
master_samples(struct master *m, struct metric_set *out)
{
	const struct wslot	*w;
	enum role		 r;
	int			 rv = 0;

	rv |= metrics_put(out, "build_info", 1, "version", PACKAGE_VERSION,
	    NULL);
	rv |= metrics_put(out, "start_time_seconds", (uint64_t)m->started,
	    NULL);
	rv |= metrics_put(out, "config_generation", m->generation, NULL);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		w = &m->w[r];
		rv |= metrics_put(out, "worker_up", w->state == W_RUNNING,
		    "role", proto_role_name(r), NULL);
		rv |= metrics_put(out, "worker_restarts_total", w->restarts,
		    "role", proto_role_name(r), NULL);
		/* said every 10 s in the log, which is what they flood */
		rv |= metrics_put(out, "log_lines_dropped_total",
		    w->lograte.total, "role", proto_role_name(r), NULL);
	}
	return rv;
}

int
stats_table(struct master *m, struct metric_set *out, unsigned skip)
{
	return stats_table_cut(m, out, skip, ROLE_MAX, 0);
}

int
stats_table_cut(struct master *m, struct metric_set *out, unsigned skip,
    enum role cut, size_t keep)
{
	struct metric_set	 role;
	enum role		 r;
	int			 rv = 0;

	metrics_reset(out);
	metrics_init(&role);
	if (master_samples(m, out) == -1)
		rv = -1;
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		if ((skip & (1U << r)) != 0)
			continue;
		if (metrics_total(&role, &m->base[r], &m->w[r].metrics) == -1)
			rv = -1;
		/* the living worker's first, then what dead ones counted */
		if (r == cut && role.n > keep)
			role.n = keep;
		if (metrics_merge(out, &role) == -1)
			rv = -1;
	}
	metrics_free(&role);
	return rv;
}

size_t
stats_role_samples(const struct master *m, enum role r)
{
	return m->base[r].n + m->w[r].metrics.n;
}

void
stats_free(struct master *m)
{
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		metrics_free(&m->base[r]);
		metrics_free(&m->w[r].metrics);
		metrics_free(&m->w[r].metrics_spare);
	}
}

/* The role with the most samples not in `skip`, or ROLE_MAX. */
enum role
stats_largest(const struct master *m, unsigned skip)
{
	enum role	 r, best = ROLE_MAX;
	size_t		 n, most = 0;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		if ((skip & (1U << r)) != 0)
			continue;
		n = m->base[r].n + m->w[r].metrics.n;
		if (best == ROLE_MAX || n > most) {
			best = r;
			most = n;
		}
	}
	return best;
}
