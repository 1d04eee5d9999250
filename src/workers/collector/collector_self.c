/*
 * Self metrics (what Telegraf's inputs.internal does): every
 * [agent] selfmetricsinterval seconds the collector asks the master for
 * its table of samples (MSG_STATUS_REQ on the control edge, the table
 * GET /metrics shows) and publishes it as points under "agent." to every
 * namespace of the host, as it does system points: scheduled points,
 * which may age out of a full buffer like any other.
 *
 *   agent_points_published_total 1234      -> agent.points_published_total
 *   agent_worker_up{role="sender"} 1       -> agent.worker_up role=sender
 *   agent_plugin_duration_seconds{...}     -> agent.plugin_duration_seconds
 *                                             .count and .sum (no buckets)
 *
 * Labels become tags.  [agent] selfmetrics = no stops it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "collector.h"
#include "log.h"
#include "status.h"

#define SELF_PREFIX	"agent."

/* A point `name` = value with the sample's labels as tags; 0 or -1. */
static int
self_point(struct point_list *pl, const char *name, const struct metric *m,
    int is_float, uint64_t iv, double fv)
{
	struct point	*p;
	uint32_t	 i;

	if (is_float)
		p = collect_list_add_float(pl, name, fv, NULL);
	else
		p = collect_list_add_int(pl, name, iv > INT64_MAX ?
		    INT64_MAX : (int64_t)iv, NULL);
	if (p == NULL)
		return -1;
	for (i = 0; i < m->nlabels; i++)
		if (point_add_tag(p, m->label[i].key, strlen(m->label[i].key),
		    m->label[i].value, strlen(m->label[i].value)) == -1) {
			pl->failed = 1;
			return -1;
		}
	return 0;
}

int
collector_self_points(const struct metric_set *s, struct point_list *pl)
{
	const struct metric	*m;
	char			 name[sizeof(SELF_PREFIX) + METRIC_NAME_MAX +
				    8];
	size_t			 i;
	int			 rv = 0;

	for (i = 0; i < s->n; i++) {
		m = &s->v[i];
		if (m->kind != METRIC_HISTOGRAM) {
			snprintf(name, sizeof(name), SELF_PREFIX "%s",
			    m->name);
			rv |= self_point(pl, name, m, 0, m->value, 0.);
			continue;
		}
		snprintf(name, sizeof(name), SELF_PREFIX "%s.count", m->name);
		rv |= self_point(pl, name, m, 0, m->value, 0.);
		snprintf(name, sizeof(name), SELF_PREFIX "%s.sum", m->name);
		rv |= self_point(pl, name, m, 1, 0, m->sum);
	}
	return rv;
}

/* The master's answer: the table into points, published. */
int
collector_self_status(struct collector *c, struct frame_in *in)
{
	struct agent_status	 st;
	struct preader		 pr;
	char			 err[256];

	if (in->hdr.reqid == 0 || in->hdr.reqid != c->self_reqid) {
		log_debug("collector: status %u not asked for (or too late)",
		    in->hdr.reqid);
		return 0;
	}
	c->self_reqid = 0;
	codec_get_init(&pr, in->data, in->datalen);
	if (status_decode(&pr, &st, err, sizeof(err)) == -1) {
		log_warnx("%s: STATUS from the master: %s", __func__, err);
		return -1;
	}
	if (!c->w->conf.selfmetrics || !c->have_items) {
		status_free(&st);
		return 0;
	}
	collect_list_reset(&c->pl);
	if (collector_self_points(&st.metrics, &c->pl) == -1 ||
	    c->pl.failed) {
		snprintf(c->last_error, sizeof(c->last_error),
		    "self metrics: out of memory or a sample the points "
		    "cannot carry");
		c->pl.failed = 0;
	}
	c->st.points_invalid += c->pl.invalid;
	status_free(&st);
	c->self_run = 1;
	collector_publish(c, SYS_TYPE_MAX, (int64_t)time(NULL));
	c->self_run = 0;
	collect_list_reset(&c->pl);
	c->st.self_rounds++;
	return 0;
}

static void
self_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct collector	*c = t->data;

	if (!c->have_items)
		return;
	if (++c->self_seq == 0)
		c->self_seq = 1;
	/* an answer still missing from last time is not waited for */
	c->self_reqid = c->self_seq;
	if (worker_send_ctl(c->w, MSG_STATUS_REQ, c->self_reqid, NULL,
	    0) == -1) {
		log_warn("%s: self metrics: status request", __func__);
		c->self_reqid = 0;
	}
}

void
collector_self_apply(struct collector *c, const struct agent_conf *conf)
{
	double	 period = (double)conf->selfmetricsinterval;

	if (!c->started)
		return;
	if (!conf->selfmetrics) {
		if (ev_is_active(&c->self_timer))
			log_info("collector: selfmetrics = no: no agent.* "
			    "points");
		ev_timer_stop(c->w->loop, &c->self_timer);
		return;
	}
	if (ev_is_active(&c->self_timer) && c->self_timer.repeat == period)
		return;
	ev_timer_stop(c->w->loop, &c->self_timer);
	ev_timer_init(&c->self_timer, self_cb, period, period);
	c->self_timer.data = c;
	ev_timer_start(c->w->loop, &c->self_timer);
	log_debug("collector: self metrics every %.0f s", period);
}
