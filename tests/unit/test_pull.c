/*
 * Status requests from workers (src/master/pull.c): one answered at a
 * time per worker, whatever it sends.  A real master loop and control
 * edge; the test plays the worker on the raw end.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "master/master.h"
#include "proto.h"
#include "status.h"

#define FLOOD		1000	/* 16 KB of requests: one read */

struct fixture {
	struct master	*m;
	struct wslot	*w;
	int		 raw;
};

static void
fixture_init(struct fixture *fx, enum role role)
{
	struct frame_rules	 rules;
	enum role		 r;
	int			 sv[2];

	memset(fx, 0, sizeof(*fx));
	cr_assert_not_null(fx->m = calloc(1, sizeof(*fx->m)));
	cr_assert_not_null(fx->m->loop = ev_loop_new(EVFLAG_AUTO));
	fx->m->phase = M_RUNNING;
	pull_init(fx->m);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		fx->m->w[r].m = fx->m;
		fx->m->w[r].role = r;
		metrics_init(&fx->m->w[r].metrics);
		metrics_init(&fx->m->w[r].metrics_spare);
		metrics_init(&fx->m->base[r]);
	}
	fx->w = &fx->m->w[role];
	fx->w->state = W_RUNNING;
	fx->w->pid = getpid();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rules.edge = proto_control_edge(role);
	rules.self = ROLE_MASTER;
	rules.name = NULL;
	fx->w->ctl = frame_conn_new(fx->m->loop, sv[0], &rules,
	    master_ctl_msg, master_ctl_close, fx->w);
	cr_assert_not_null(fx->w->ctl);
	fx->raw = sv[1];
	cr_assert_neq(fcntl(fx->raw, F_SETFL, O_NONBLOCK), -1);
}

static void
fixture_done(struct fixture *fx)
{
	pull_stop(fx->m);
	if (fx->w->ctl != NULL)
		frame_conn_close(fx->w->ctl);
	stats_free(fx->m);
	ev_loop_destroy(fx->m->loop);
	free(fx->m);
	close(fx->raw);
}

static void
send_reqs(struct fixture *fx, int n, uint32_t reqid0)
{
	struct frame_hdr	*h;
	size_t			 len = (size_t)n * FRAME_HDR_LEN, off = 0;
	uint8_t			*b;
	ssize_t			 w;
	int			 i;

	cr_assert_not_null(b = calloc(n, FRAME_HDR_LEN));
	for (i = 0; i < n; i++) {
		h = (struct frame_hdr *)(b + i * FRAME_HDR_LEN);
		h->len = FRAME_HDR_LEN;
		h->type = MSG_STATUS_REQ;
		h->reqid = reqid0 + (uint32_t)i;
		h->pid = (uint32_t)getpid();
	}
	while (off < len) {
		w = write(fx->raw, b + off, len - off);
		cr_assert_gt(w, 0, "write: %s", strerror(errno));
		off += (size_t)w;
	}
	free(b);
}

/*
 * Turns of the master's loop, reading what it sent as it goes; the
 * number of MSG_STATUS frames.  Turns, not time: the loop never waits.
 */
static int
run_and_count(struct fixture *fx, int turns)
{
	static uint8_t		 buf[1 << 16];
	static size_t		 have;
	struct frame_hdr	 h;
	ssize_t			 n;
	int			 i, statuses = 0;

	for (i = 0; i < turns; i++) {
		ev_run(fx->m->loop, EVRUN_NOWAIT);
		for (;;) {
			n = read(fx->raw, buf + have, sizeof(buf) - have);
			if (n == -1 && errno == EAGAIN)
				break;
			cr_assert_gt(n, 0, "read: %s", strerror(errno));
			have += (size_t)n;
			while (have >= FRAME_HDR_LEN) {
				memcpy(&h, buf, sizeof(h));
				cr_assert_leq(h.len, sizeof(buf));
				if (have < h.len)
					break;
				if (h.type == MSG_STATUS)
					statuses++;
				memmove(buf, buf + h.len, have - h.len);
				have -= h.len;
			}
		}
	}
	return statuses;
}

/* A flood in one read: one status built and queued, the rest dropped
 * with one warning; and the worker may ask again once answered. */
Test(pull, status_flood_from_the_collector_gets_one_answer)
{
	struct fixture	 fx;

	fixture_init(&fx, ROLE_COLLECTOR);
	send_reqs(&fx, FLOOD, 1);
	cr_assert_eq(run_and_count(&fx, 20), 1);
	cr_assert_eq(fx.w->status_dropped.total, FLOOD - 1);
	cr_assert_eq(fx.w->status_owed, STATUS_OWED_NONE);
	cr_assert_not_null(fx.w->ctl, "the edge closed");

	send_reqs(&fx, 1, FLOOD + 1);
	cr_assert_eq(run_and_count(&fx, 5), 1);
	cr_assert_eq(fx.w->status_dropped.total, FLOOD - 1);
	fixture_done(&fx);
}

/* The front's requests wait for a pull: while one waits, the others are
 * dropped, and no more than one answer comes. */
Test(pull, status_flood_from_the_front_waits_for_one_pull)
{
	struct fixture	 fx;

	fixture_init(&fx, ROLE_FRONT);
	send_reqs(&fx, FLOOD, 1);
	(void)run_and_count(&fx, 20);
	cr_assert_eq(fx.w->status_dropped.total, FLOOD - 1);
	cr_assert_eq(fx.m->pull.nasker, 1);
	fixture_done(&fx);
}

/* One warning line for many drops, with their count. */
Test(pull, warn_limit_one_line_per_interval)
{
	struct warn_limit	 wl;
	uint64_t		 n = 0;
	int			 i, lines = 0;

	memset(&wl, 0, sizeof(wl));
	for (i = 0; i < 1000; i++)
		lines += warn_limit_due(&wl, 100.0, &n);
	cr_assert_eq(lines, 1);
	cr_assert_eq(n, 1);
	cr_assert_eq(warn_limit_due(&wl, 100.0 + WARN_LIMIT_EVERY, &n), 1);
	cr_assert_eq(n, 1000, "%llu", (unsigned long long)n);
	cr_assert_eq(wl.total, 1001);
}

/* The next MSG_STATUS the master sent, decoded: 1, or 0 when none came. */
static int
read_status(struct fixture *fx, struct agent_status *st, size_t *len)
{
	static uint8_t		 buf[4 << 20];
	struct frame_hdr	 h;
	struct preader		 pr;
	size_t			 have = 0;
	ssize_t			 n;
	char			 err[256];
	int			 i;

	for (i = 0; i < 200; i++) {
		ev_run(fx->m->loop, EVRUN_NOWAIT);
		while ((n = read(fx->raw, buf + have, sizeof(buf) - have)) > 0)
			have += (size_t)n;
		if (have < FRAME_HDR_LEN)
			continue;
		memcpy(&h, buf, sizeof(h));
		cr_assert_leq(h.len, sizeof(buf));
		if (have < h.len)
			continue;
		cr_assert_eq(h.type, MSG_STATUS);
		*len = h.len - FRAME_HDR_LEN;
		codec_get_init(&pr, buf + FRAME_HDR_LEN, *len);
		cr_assert_eq(status_decode(&pr, st, err, sizeof(err)), 0, "%s",
		    err);
		return 1;
	}
	return 0;
}

static int
has_sample(const struct metric_set *ms, const char *name)
{
	size_t	 i;

	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->v[i].name, name) == 0)
			return 1;
	return 0;
}

/* How many samples named `name` the set holds. */
static size_t
count_samples(const struct metric_set *ms, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->v[i].name, name) == 0)
			n++;
	return n;
}

/*
 * The workers' samples together pass what a frame carries (each within
 * it on its own): the status still goes, with the role with the most
 * cut to what fits, the others whole.  It used to fail to send, every
 * time, until the master restarted; then it left that role out whole.
 */
Test(pull, a_status_too_large_cuts_the_largest_roles_samples)
{
	struct fixture		 fx;
	struct agent_status	 st;
	struct metric_set	*big;
	char			 plugin[256];
	size_t			 len;
	int			 i;

	fixture_init(&fx, ROLE_COLLECTOR);
	big = &fx.m->w[ROLE_SCHEDULER].metrics;
	for (i = 0; i < 4000; i++) {
		/* 250 bytes: 4000 of them pass 1 MiB */
		snprintf(plugin, sizeof(plugin), "p%08d-%0240d", i, 0);
		cr_assert_eq(metrics_put(big, "plugin_runs_total", 1, "ns",
		    "pool.loda", "plugin", plugin, "status", "ok", NULL), 0);
	}
	cr_assert_eq(metrics_put(&fx.m->w[ROLE_SENDER].metrics,
	    "points_published_total", 7, NULL), 0);
	send_reqs(&fx, 1, 1);
	memset(&st, 0, sizeof(st));
	cr_assert(read_status(&fx, &st, &len), "no status");
	cr_assert_leq(len, proto_control_edge(ROLE_COLLECTOR)->maxpayload);
	cr_assert(has_sample(&st.metrics, "points_published_total"));
	i = (int)count_samples(&st.metrics, "plugin_runs_total");
	cr_assert(i > 0 && i < 4000, "%d of the scheduler's 4000", i);
	status_free(&st);
	fixture_done(&fx);
}

/*
 * A front that asks and never reads: once 1 MiB waits for it (pull.c's
 * bound), the answer waits too instead of being queued on top, so the
 * queue cannot grow to the edge's limit, where the master could no
 * longer hand the front the edge of a peer that restarts (and killed
 * the peer for it, again at each restart).  Read, it gets its answer.
 */
Test(pull, a_front_that_does_not_read_is_not_queued_more)
{
	struct fixture	 fx;
	size_t		 before;
	int		 i;

	fixture_init(&fx, ROLE_FRONT);
	/* the socket's buffer full, and 1 MiB waiting behind it */
	while (frame_queued(fx.w->ctl) < (1 << 20)) {
		master_send_status(fx.m, fx.w, 0);
		ev_run(fx.m->loop, EVRUN_NOWAIT);
	}
	before = frame_queued(fx.w->ctl);
	send_reqs(&fx, 1, 7);
	ev_run(fx.m->loop, EVRUN_NOWAIT);
	cr_assert_eq(fx.w->status_owed, STATUS_OWED_PULL);
	/* the pull asks the front too, which does not answer: its wait */
	for (i = 0; i < 20 && (fx.m->pull.nasker > 0 || fx.m->pull.out); i++)
		ev_run(fx.m->loop, EVRUN_ONCE);
	cr_assert_eq(fx.m->pull.nasker, 0, "the pull is not over");
	/* the pull's own request to it (a header), not a status */
	cr_assert_leq(frame_queued(fx.w->ctl), before + 64, "%zu queued on "
	    "top", frame_queued(fx.w->ctl) - before);
	cr_assert_eq(fx.w->status_owed, STATUS_OWED_NOW);
	/* what it reads makes room: then the answer goes */
	cr_assert_geq(run_and_count(&fx, 400), 1);
	cr_assert_eq(fx.w->status_owed, STATUS_OWED_NONE);
	fixture_done(&fx);
}
