/*
 * The collector worker (issue 5; lodastack-protocols.md 5): the built-in
 * system metrics and the PORT and PROC checks.  Root with only the
 * reading capabilities, no_new_privs and a strict seccomp allow-list
 * (sandbox_seccomp.c): it reads /proc and /sys with plain reads and never starts
 * a process.
 *
 * Inputs: MSG_ITEMS from the fetcher (namespaces, intervals, PORT and
 * PROC items; the whole set each time).  Outputs: MSG_POINTS to the
 * sender, MSG_TRAFFIC to the front (GET /me/traffic), MSG_STATS to the
 * master.
 *
 * One ev_timer per type that has a family (collect_families.c), every
 * items_interval() seconds (the registry's, PORT and PROC too, or the
 * default, at least 10 s): the first run one interval after the first
 * items, as the Go agent's schedulers did.  A run calls the type's families in
 * order into one point list; a family that fails is logged (at most once
 * per COLLECT_LOG_EVERY) and counted, and the others still run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "codec.h"
#include "collector.h"
#include "log.h"
#include "metrics.h"
#include "status.h"

#define COLLECT_LOG_EVERY	600.0	/* a failing family's log lines */

static const char *const runs_keys[SYS_TYPE_MAX] = {
	[SYS_CPU] = "runs_cpu", [SYS_MEM] = "runs_mem",
	[SYS_DISK] = "runs_disk", [SYS_NET] = "runs_net",
	[SYS_FS] = "runs_fs", [SYS_KERNEL] = "runs_kernel",
	[SYS_TIME] = "runs_time", [SYS_COREDUMP] = "runs_coredump",
	[SYS_DEV] = "runs_dev", [SYS_PORT] = "runs_port",
	[SYS_PROC] = "runs_proc",
};

static double
mono_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct collector *
collector_state(struct worker *w)
{
	struct collector	*c;
	size_t			 i;

	if (w->priv != NULL)
		return w->priv;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->w = w;
	c->families = collect_families;
	c->nfamilies = collect_family_count;
	if ((c->pids = collect_pids_new(COLLECT_PIDS_PATIENCE)) == NULL)
		fatal("%s: process walker", __func__);
	items_init(&c->items);
	collect_list_init(&c->pl);
	buf_init(&c->enc);
	buf_init(&c->msg);
	buf_init(&c->traffic);
	for (i = 0; i < SYS_TYPE_MAX; i++) {
		c->timers[i].c = c;
		c->timers[i].type = (enum sys_type)i;
	}
	w->priv = c;
	return c;
}

int
collector_type_has_family(const struct collector *c, enum sys_type t)
{
	size_t	 i;

	for (i = 0; i < c->nfam; i++)
		if (c->fam[i].f->type == t && !c->fam[i].off)
			return 1;
	return 0;
}

/* A family failed: count it, log it now and then. */
static void
family_failed(struct collector *c, struct family_run *fr, const char *err,
    double mono)
{
	uint64_t	 n;

	c->st.errors++;
	snprintf(c->last_error, sizeof(c->last_error), "%s: %s", fr->f->name,
	    err);
	if (!warn_limit_due_every(&fr->fail_say, mono, COLLECT_LOG_EVERY, &n))
		return;
	if (n > 1)
		log_warnx("%s: collector: %s: %s (%llu more failures since the "
		    "last report)", __func__, fr->f->name, err,
		    (unsigned long long)(n - 1));
	else
		log_warnx("%s: collector: %s: %s", __func__, fr->f->name, err);
}

/*
 * Points of a family over a point's limits (a mount path, an interface
 * name the system made long): dropped, the rest of the family kept.
 * Counted, and said as failures are, COLLECT_LOG_EVERY at most: what
 * the system names so stays so at every run.
 */
static void
family_dropped(struct collector *c, struct family_run *fr, size_t n,
    double mono)
{
	uint64_t	 runs;

	c->st.points_invalid += n;
	snprintf(c->last_error, sizeof(c->last_error), "%s: %zu points "
	    "dropped: a name or tag over the limits of a point", fr->f->name,
	    n);
	if (!warn_limit_due_every(&fr->drop_say, mono, COLLECT_LOG_EVERY,
	    &runs))
		return;
	log_warnx("%s: collector: %s: %zu points dropped: a name or tag over "
	    "the limits of a point (%llu more such runs since the last "
	    "report)", __func__, fr->f->name, n,
	    (unsigned long long)(runs - 1));
}

void
collector_run(struct collector *c, enum sys_type type)
{
	struct collect_env	 env;
	struct family_run	*fr;
	char			 err[512];
	double			 t0, t1;
	size_t			 i;
	int			 failed = 0;

	t0 = mono_now();
	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = (int64_t)time(NULL);
	env.mono = t0;
	env.ifaceprefix = &c->w->conf.ifaceprefix;
	env.items = &c->items;
	env.ntpserver = c->w->conf.ntpserver;
	env.coredumpdir = c->w->conf.coredumpdir;
	env.pids = c->pids;

	collect_list_reset(&c->pl);
	for (i = 0; i < c->nfam; i++) {
		fr = &c->fam[i];
		if (fr->off || fr->f->type != type)
			continue;
		err[0] = '\0';
		collect_list_route(&c->pl, NULL);
		if (fr->f->collect(fr->state, &env, &c->pl, err,
		    sizeof(err)) == -1) {
			family_failed(c, fr, err[0] != '\0' ? err :
			    "failed (no reason given)", t0);
			failed = 1;
		}
		if (c->pl.failed) {
			/* the list lost a point: say so, keep the rest */
			family_failed(c, fr, "out of memory for its points",
			    t0);
			c->pl.failed = 0;
			failed = 1;
		}
		if (c->pl.invalid > 0) {
			family_dropped(c, fr, c->pl.invalid, t0);
			c->pl.invalid = 0;
		}
	}
	c->timers[type].runs++;
	if (type == SYS_NET) {
		c->net_runs++;
		if (!failed)
			collector_traffic_update(c);
	}
	collector_publish(c, type, env.now);
	collect_list_reset(&c->pl);
	t1 = mono_now();
	c->st.last_round_us = t1 > t0 ? (uint64_t)((t1 - t0) * 1e6) : 0;
	log_debug("collector: %s run in %.3f ms", items_sys_type_name(type),
	    (t1 - t0) * 1e3);
}

static void
type_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct type_timer	*tt = t->data;

	collector_run(tt->c, tt->type);
}

/*
 * Timers to match the items and the config: started once there are
 * items, restarted (one new period from now) when a period changes,
 * stopped with `collect = no`.
 */
static void
apply_timers(struct collector *c, int enabled)
{
	struct type_timer	*tt;
	double			 period;
	int			 t;

	if (!c->started || !c->have_items)
		return;
	for (t = 0; t < SYS_TYPE_MAX; t++) {
		tt = &c->timers[t];
		period = enabled && collector_type_has_family(c,
		    (enum sys_type)t) ? (double)items_interval(&c->items,
		    (enum sys_type)t) : 0.;
		if (period == tt->period && (period == 0. ||
		    ev_is_active(&tt->timer)))
			continue;
		ev_timer_stop(c->w->loop, &tt->timer);
		tt->period = period;
		if (period == 0.)
			continue;
		ev_timer_init(&tt->timer, type_cb, period, period);
		tt->timer.data = tt;
		ev_timer_start(c->w->loop, &tt->timer);
		log_debug("collector: %s every %.0f s", items_sys_type_name(
		    (enum sys_type)t), period);
	}
}

static int
items_msg(struct collector *c, struct frame_in *in)
{
	struct preader	 pr;
	struct items	 next;
	char		 why[256];

	items_init(&next);
	codec_get_init(&pr, in->data, in->datalen);
	if (items_decode(&pr, &next, why, sizeof(why)) == -1) {
		/* keep what we have: a bad set must not stop collection */
		log_warnx("%s: ITEMS from the fetcher: %s", __func__, why);
		items_free(&next);
		return 0;
	}
	/*
	 * The families see the items only during a run, and runs happen
	 * in this loop: nothing holds the old ones now.
	 */
	items_free(&c->items);
	c->items = next;
	c->have_items = 1;
	log_info("collector: %zu namespaces, %zu PORT and %zu PROC items",
	    c->items.namespaces.n, c->items.nports, c->items.nprocs);
	apply_timers(c, c->w->conf.collect);
	return 0;
}

#define STATS_FIXED	10	/* the counters after the runs, below */

static void
push_stats(struct collector *c)
{
	struct stat_kv	 v[SYS_TYPE_MAX + STATS_FIXED];
	struct metric_set ms;
	size_t		 n = 0;
	int		 t;

	for (t = 0; t < SYS_TYPE_MAX; t++) {
		if (!collector_type_has_family(c, (enum sys_type)t))
			continue;
		v[n].key = runs_keys[t];
		v[n++].value = c->timers[t].runs;
	}
	const struct stat_kv	 fixed[] = {
		{ "points_sent", c->st.points_sent },
		{ "points_unsent", c->st.points_unsent + c->w->inflight.lost },
		/* with the sender, not yet said taken; sent again */
		{ "points_held", c->w->inflight.held },
		{ "points_resent", c->w->inflight.resent },
		{ "points_invalid", c->st.points_invalid },
		{ "errors", c->st.errors },
		{ "families_off", c->st.families_off },
		{ "last_round_us", c->st.last_round_us },
		{ "traffic_sent", c->st.traffic_sent },
		/* processes whose /proc reads hang (collect_pids.h) */
		{ "procs_stuck", collect_pids_stuck(c->pids) },
	};

	_Static_assert(sizeof(fixed) / sizeof(fixed[0]) == STATS_FIXED,
	    "STATS_FIXED is the number of the fixed counters");
	memcpy(&v[n], fixed, sizeof(fixed));
	n += sizeof(fixed) / sizeof(fixed[0]);
	metrics_init(&ms);
	(void)metrics_put(&ms, "points_received_total", c->st.points_received,
	    "source", "collector", NULL);
	(void)metrics_put(&ms, "points_received_total",
	    c->st.points_received_self, "source", "self", NULL);
	(void)metrics_put(&ms, "points_dropped_total", c->st.points_invalid,
	    "reason", "invalid", NULL);
	(void)metrics_put(&ms, "points_dropped_total", c->st.points_unsent +
	    c->w->inflight.lost, "reason", "unsent", NULL);
	(void)metrics_put(&ms, "collector_families_off", c->st.families_off,
	    NULL);
	(void)worker_push_stats_all(c->w, v, n, NULL, 0, c->last_error, &ms);
	metrics_free(&ms);
}

/* ops->stats */
static void
collector_stats(struct worker *w)
{
	if (w->priv != NULL)
		push_stats(w->priv);
}

/* ---- the worker ---- */

static int
collector_setup(struct worker *w, char *err, size_t errlen)
{
	struct collector	*c = collector_state(w);

	/* the host tag; uname is allowed later too, but why wait */
	if (gethostname(c->host, sizeof(c->host)) == -1) {
		snprintf(err, errlen, "gethostname: %s", strerror(errno));
		return -1;
	}
	c->host[sizeof(c->host) - 1] = '\0';
	return 0;
}

static int
collector_start(struct worker *w, char *err, size_t errlen)
{
	struct collector	*c = collector_state(w);
	struct family_run	*fr;
	size_t			 i;

	if ((c->fam = calloc(c->nfamilies, sizeof(*c->fam))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->nfam = c->nfamilies;
	for (i = 0; i < c->nfam; i++) {
		fr = &c->fam[i];
		fr->f = c->families[i];
		if (fr->f->init == NULL)
			continue;
		if ((fr->state = fr->f->init()) == NULL) {
			log_warnx("%s: collector: %s: out of memory; left out",
			    __func__, fr->f->name);
			fr->off = 1;
			/* its points are missing until a restart: counted */
			c->st.families_off++;
			snprintf(c->last_error, sizeof(c->last_error), "%s: out "
			    "of memory at the start; left out", fr->f->name);
		}
	}
	/* before READY: /metrics has every family from the start */
	push_stats(c);
	c->started = 1;
	if (!w->conf.collect)
		log_info("collector: collect = no: nothing is collected");
	/* items that came before the sandbox was in place */
	apply_timers(c, w->conf.collect);
	collector_self_apply(c, &w->conf);
	return 0;
}

static int
collector_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct collector	*c = collector_state(w);

	if (next->collect != w->conf.collect)
		log_info("collector: collect = %s", next->collect ? "yes" :
		    "no");
	/* the other keys are read at each run */
	apply_timers(c, next->collect);
	collector_self_apply(c, next);
	return 0;
}

/* The master's answer to the self metrics' status request. */
static int
collector_control(struct worker *w, struct frame_in *in)
{
	struct collector	*c = collector_state(w);

	if (in->hdr.type != MSG_STATUS)
		return -1;
	return collector_self_status(c, in);
}

static int
collector_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct collector	*c = collector_state(w);

	if (from != ROLE_FETCHER || in->hdr.type != MSG_ITEMS)
		return -1;
	return items_msg(c, in);
}

static void
collector_peer_changed(struct worker *w, enum role peer, pid_t pid)
{
	struct collector	*c = w->priv;

	/* a new front knows nothing yet */
	if (c != NULL && peer == ROLE_FRONT && pid > 0)
		collector_traffic_send(c);
}

static void
collector_cleanup(struct worker *w)
{
	struct collector	*c = w->priv;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < SYS_TYPE_MAX; i++)
		ev_timer_stop(w->loop, &c->timers[i].timer);
	ev_timer_stop(w->loop, &c->self_timer);
	for (i = 0; i < c->nfam; i++)
		if (c->fam[i].f->fini != NULL && c->fam[i].state != NULL)
			c->fam[i].f->fini(c->fam[i].state);
	free(c->fam);
	collect_list_free(&c->pl);
	buf_free(&c->enc);
	buf_free(&c->msg);
	buf_free(&c->traffic);
	free(c->spans);
	free(c->picked);
	items_free(&c->items);
	/* a walk still stuck keeps it until its read returns */
	collect_pids_free(c->pids);
	free(c);
	w->priv = NULL;
}

const struct worker_ops collector_ops = {
	.role = ROLE_COLLECTOR,
	.setup = collector_setup,
	.start = collector_start,
	.reconfigure = collector_reconfigure,
	.control_msg = collector_control,
	.peer_msg = collector_peer_msg,
	.peer_changed = collector_peer_changed,
	.cleanup = collector_cleanup,
	.stats = collector_stats,
};
