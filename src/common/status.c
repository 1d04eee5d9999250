#include "status.h"

#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"

void
status_stats_encode(struct pbuf *pb, const struct worker_stats *s)
{
	uint32_t	 i;

	codec_put_u32(pb, s->n);
	for (i = 0; i < s->n && i < STATS_MAX; i++) {
		codec_put_str(pb, s->v[i].key);
		codec_put_u64(pb, s->v[i].value);
	}
	codec_put_u32(pb, s->ntext);
	for (i = 0; i < s->ntext && i < STATS_TEXT_MAX; i++) {
		codec_put_str(pb, s->t[i].key);
		codec_put_str(pb, s->t[i].value);
	}
	codec_put_str(pb, s->note);
}

/* Reads the fields only; the caller checks codec_get_end. */
int
status_stats_decode(struct preader *pr, struct worker_stats *s)
{
	uint32_t	 i;

	memset(s, 0, sizeof(*s));
	s->n = codec_get_u32(pr);
	if (pr->failed || s->n > STATS_MAX)
		return -1;
	for (i = 0; i < s->n; i++) {
		codec_get_strbuf(pr, s->v[i].key, sizeof(s->v[i].key));
		s->v[i].value = codec_get_u64(pr);
	}
	s->ntext = codec_get_u32(pr);
	if (pr->failed || s->ntext > STATS_TEXT_MAX)
		return -1;
	for (i = 0; i < s->ntext; i++) {
		codec_get_strbuf(pr, s->t[i].key, sizeof(s->t[i].key));
		codec_get_strbuf(pr, s->t[i].value, sizeof(s->t[i].value));
	}
	codec_get_strbuf(pr, s->note, sizeof(s->note));
	return pr->failed ? -1 : 0;
}

int
status_stats_msg_decode(struct preader *pr, struct worker_stats *s,
    struct metric_set *ms, char *err, size_t errlen)
{
	if (status_stats_decode(pr, s) == -1) {
		snprintf(err, errlen, "stats: %s", pr->failed ? pr->err :
		    "too many counters");
		return -1;
	}
	if (metrics_decode(pr, ms, err, errlen) == -1)
		return -1;
	if (codec_get_end(pr) == -1) {
		snprintf(err, errlen, "stats: %s", pr->err);
		return -1;
	}
	return 0;
}

void
status_encode(struct pbuf *pb, const struct agent_status *st)
{
	const struct worker_status	*w;
	uint32_t			 i, r;

	codec_put_str(pb, st->version);
	codec_put_u32(pb, st->master_pid);
	codec_put_i64(pb, st->started);
	codec_put_u64(pb, st->generation);
	codec_put_u32(pb, st->nworkers);
	for (i = 0; i < st->nworkers; i++) {
		w = &st->w[i];
		codec_put_u32(pb, w->role);
		codec_put_u32(pb, w->pid);
		codec_put_str(pb, w->state);
		codec_put_u32(pb, w->restarts);
		codec_put_u64(pb, w->log_dropped);
		codec_put_i64(pb, w->started);
		codec_put_str(pb, w->last_exit);
		codec_put_i64(pb, w->last_exit_at);
		codec_put_u64(pb, w->generation);
		status_stats_encode(pb, &w->stats);
		for (r = 0; r < ROLE_MAX; r++)
			codec_put_u32(pb, w->peers[r]);
	}
	metrics_encode(pb, &st->metrics);
}

void
status_free(struct agent_status *st)
{
	metrics_free(&st->metrics);
}

int
status_decode(struct preader *pr, struct agent_status *st, char *err,
    size_t errlen)
{
	struct worker_status	*w;
	uint32_t		 i, r;
	char			 why[256];

	memset(st, 0, sizeof(*st));
	codec_get_strbuf(pr, st->version, sizeof(st->version));
	st->master_pid = codec_get_u32(pr);
	st->started = codec_get_i64(pr);
	st->generation = codec_get_u64(pr);
	st->nworkers = codec_get_u32(pr);
	if (!pr->failed && st->nworkers > ROLE_MAX) {
		snprintf(err, errlen, "status: %u workers, at most %d",
		    st->nworkers, ROLE_MAX);
		return -1;
	}
	for (i = 0; i < st->nworkers && !pr->failed; i++) {
		w = &st->w[i];
		w->role = codec_get_u32(pr);
		w->pid = codec_get_u32(pr);
		codec_get_strbuf(pr, w->state, sizeof(w->state));
		w->restarts = codec_get_u32(pr);
		w->log_dropped = codec_get_u64(pr);
		w->started = codec_get_i64(pr);
		codec_get_strbuf(pr, w->last_exit, sizeof(w->last_exit));
		w->last_exit_at = codec_get_i64(pr);
		w->generation = codec_get_u64(pr);
		if (status_stats_decode(pr, &w->stats) == -1 && !pr->failed) {
			snprintf(err, errlen, "status: worker %u: too many "
			    "counters", i);
			return -1;
		}
		for (r = 0; r < ROLE_MAX; r++)
			w->peers[r] = codec_get_u32(pr);
		if (!pr->failed && w->role >= ROLE_MAX) {
			snprintf(err, errlen, "status: worker %u has role %u",
			    i, w->role);
			return -1;
		}
	}
	if (!pr->failed && metrics_decode(pr, &st->metrics, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "status: %s", why);
		status_free(st);
		return -1;
	}
	if (codec_get_end(pr) == -1) {
		snprintf(err, errlen, "status: %s", pr->err);
		status_free(st);
		return -1;
	}
	return 0;
}
