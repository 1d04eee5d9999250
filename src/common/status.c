#include "status.h"

#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"

void
stats_encode(struct pbuf *pb, const struct worker_stats *s)
{
	uint32_t	 i;

	pb_u32(pb, s->n);
	for (i = 0; i < s->n && i < STATS_MAX; i++) {
		pb_str(pb, s->v[i].key);
		pb_u64(pb, s->v[i].value);
	}
	pb_str(pb, s->note);
}

/* Reads the fields only; the caller checks pr_end. */
int
stats_decode(struct preader *pr, struct worker_stats *s)
{
	uint32_t	 i;

	memset(s, 0, sizeof(*s));
	s->n = pr_u32(pr);
	if (pr->failed || s->n > STATS_MAX)
		return -1;
	for (i = 0; i < s->n; i++) {
		pr_strbuf(pr, s->v[i].key, sizeof(s->v[i].key));
		s->v[i].value = pr_u64(pr);
	}
	pr_strbuf(pr, s->note, sizeof(s->note));
	return pr->failed ? -1 : 0;
}

void
status_encode(struct pbuf *pb, const struct agent_status *st)
{
	const struct worker_status	*w;
	uint32_t			 i, r;

	pb_str(pb, st->version);
	pb_u32(pb, st->master_pid);
	pb_i64(pb, st->started);
	pb_u64(pb, st->generation);
	pb_u32(pb, st->nworkers);
	for (i = 0; i < st->nworkers; i++) {
		w = &st->w[i];
		pb_u32(pb, w->role);
		pb_u32(pb, w->pid);
		pb_str(pb, w->state);
		pb_u32(pb, w->restarts);
		pb_i64(pb, w->started);
		pb_str(pb, w->last_exit);
		pb_i64(pb, w->last_exit_at);
		pb_u64(pb, w->generation);
		stats_encode(pb, &w->stats);
		for (r = 0; r < ROLE_MAX; r++)
			pb_u32(pb, w->peers[r]);
	}
}

int
status_decode(struct preader *pr, struct agent_status *st, char *err,
    size_t errlen)
{
	struct worker_status	*w;
	uint32_t		 i, r;

	memset(st, 0, sizeof(*st));
	pr_strbuf(pr, st->version, sizeof(st->version));
	st->master_pid = pr_u32(pr);
	st->started = pr_i64(pr);
	st->generation = pr_u64(pr);
	st->nworkers = pr_u32(pr);
	if (!pr->failed && st->nworkers > ROLE_MAX) {
		snprintf(err, errlen, "status: %u workers, at most %d",
		    st->nworkers, ROLE_MAX);
		return -1;
	}
	for (i = 0; i < st->nworkers && !pr->failed; i++) {
		w = &st->w[i];
		w->role = pr_u32(pr);
		w->pid = pr_u32(pr);
		pr_strbuf(pr, w->state, sizeof(w->state));
		w->restarts = pr_u32(pr);
		w->started = pr_i64(pr);
		pr_strbuf(pr, w->last_exit, sizeof(w->last_exit));
		w->last_exit_at = pr_i64(pr);
		w->generation = pr_u64(pr);
		if (stats_decode(pr, &w->stats) == -1 && !pr->failed) {
			snprintf(err, errlen, "status: worker %u: too many "
			    "counters", i);
			return -1;
		}
		for (r = 0; r < ROLE_MAX; r++)
			w->peers[r] = pr_u32(pr);
		if (!pr->failed && w->role >= ROLE_MAX) {
			snprintf(err, errlen, "status: worker %u has role %u",
			    i, w->role);
			return -1;
		}
	}
	if (pr_end(pr) == -1) {
		snprintf(err, errlen, "status: %s", pr->err);
		return -1;
	}
	return 0;
}
