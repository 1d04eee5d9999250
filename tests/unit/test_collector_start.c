/*
 * The collector's start (collector.c): a family whose init fails (out of
 * memory) is left out, and that is counted where an operator looks, in
 * the collector's counters of /me/status (families_off) and in /metrics
 * (agent_collector_families_off), not only in a log line.  The worker is
 * started over a table of two test families, its control edge on a
 * socketpair whose other end is this test as the master.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>

#include <string.h>

#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "status.h"
#include "workers/collector/collector.h"

#include "worker_fixture.h"

/* generous: only a hang fails on it */
#define HANG_BOUND	10.0

static int	 kept;		/* the state of the family that starts */

static void *
broken_init(void)
{
	return NULL;		/* as calloc() out of memory */
}

static void *
kept_init(void)
{
	return &kept;
}

static int
none_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	return 0;
}

static const struct collect_family broken_family = {
	.name = "broken",
	.type = SYS_MEM,
	.init = broken_init,
	.collect = none_collect,
};

static const struct collect_family kept_family = {
	.name = "kept",
	.type = SYS_CPU,
	.init = kept_init,
	.collect = none_collect,
};

static const struct collect_family *const test_families[] = {
	&kept_family, &broken_family,
};

static struct {
	struct ev_loop		*loop;
	struct worker		 w;
	struct frame_conn	*master;
	int			 nstats;
	struct worker_stats	 last;
	struct metric_set	 ms;
} h;

static void
master_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct preader	 pr;
	char		 err[128];

	if (in->hdr.type != MSG_STATS)
		return;
	metrics_free(&h.ms);
	codec_get_init(&pr, in->data, in->datalen);
	cr_assert_eq(status_stats_msg_decode(&pr, &h.last, &h.ms, err,
	    sizeof(err)), 0, "%s", err);
	h.nstats++;
}

static void
closed(struct frame_conn *fc, const char *why, void *arg)
{
}

static void
worker_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
}

static void
setup(void)
{
	struct frame_rules	 rules;
	int			 fd;

	memset(&h, 0, sizeof(h));
	metrics_init(&h.ms);
	log_init("test", LOG_LVL_ERROR);
	cr_assert_not_null(h.loop = ev_loop_new(EVFLAG_AUTO));
	fd = worker_on_edge(&h.w, h.loop, &collector_ops, SOCK_NONBLOCK,
	    worker_msg, closed, &h.w);
	rules.edge = proto_control_edge(ROLE_COLLECTOR);
	rules.self = ROLE_MASTER;
	rules.name = "master<->collector";
	cr_assert_not_null(h.master = frame_conn_new(h.loop, fd, &rules,
	    master_msg, closed, NULL));
}

static void
teardown(void)
{
	collector_ops.cleanup(&h.w);
	worker_stats_free(&h.w);
	frame_conn_close(h.w.ctl);
	frame_conn_close(h.master);
	metrics_free(&h.ms);
	conf_free(&h.w.conf);
	ev_loop_destroy(h.loop);
}

TestSuite(collector_start, .init = setup, .fini = teardown, .timeout = 30);

Test(collector_start, a_family_whose_init_fails_is_left_out_and_counted)
{
	struct collector	*c;
	const struct metric	*m;
	char			 err[256];
	ev_tstamp		 until;

	cr_assert_eq(collector_ops.setup(&h.w, err, sizeof(err)), 0, "%s",
	    err);
	c = h.w.priv;
	c->families = test_families;
	c->nfamilies = sizeof(test_families) / sizeof(test_families[0]);
	cr_assert_eq(collector_ops.start(&h.w, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert(collector_type_has_family(c, SYS_CPU));
	cr_assert_not(collector_type_has_family(c, SYS_MEM));

	/* start() pushed the counters before READY */
	until = ev_time() + HANG_BOUND;
	while (h.nstats == 0 && ev_time() < until)
		ev_run(h.loop, EVRUN_ONCE | EVRUN_NOWAIT);
	cr_assert_eq(h.nstats, 1);
	cr_assert_eq(stat_of(&h.last, "families_off"), 1);
	cr_assert_eq(stat_of(&h.last, "errors"), 0);
	cr_assert_str_eq(h.last.note, "broken: out of memory at the start; "
	    "left out");
	cr_assert_not_null(m = metrics_find(&h.ms, "collector_families_off",
	    NULL));
	cr_assert_eq(m->value, 1);
	cr_assert_not_null(metrics_family("collector_families_off"));
}
