/*
 * The sender worker as the master runs it: worker_main() in a forked kid,
 * this test its master (CONF, PEER, SETUP_END, SHUTDOWN) and its front
 * and scheduler peers.  Whether points are pushed (503 when full) or
 * scheduled (aged out when full) follows from the edge they came on, not
 * from what the producer wrote in them: a scheduler claiming its points
 * are pushed does not pin them, a front claiming its are scheduled does
 * not get them aged out.  The output has no server, so nothing leaves the
 * buffer but by ageing, and the buffer holds 10 points (memory only).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "metrics.h"
#include "points_msg.h"
#include "proto.h"
#include "status.h"

#include "worker_fixture.h"

#define MAXACK	16

struct ack {
	uint32_t		 reqid;
	enum points_verdict	 v;
	char			 why[256];
};

struct h {
	struct worker_kid	 k;
	struct frame_conn	*front;
	struct frame_conn	*sched;
	struct ack		 acks[MAXACK];
	size_t			 nacks;
	struct worker_stats	 stats;
	struct metric_set	 ms;		/* its samples, as /metrics has them */
	int			 said_front;	/* log lines of a front's message */
	int			 nstats;
	/* wait_for()'s condition, for cond_holds() */
	int			(*cond)(struct h *, uint64_t);
	uint64_t		 cond_arg;
};

static void
ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;
	char		*msg, err[256];

	codec_get_init(&pr, in->data, in->datalen);
	switch (in->hdr.type) {
	case MSG_LOG:
		/* kid_ctl_msg() printed it; here it is only counted */
		(void)codec_get_u32(&pr);
		if ((msg = codec_get_str(&pr)) != NULL) {
			if (strstr(msg, "POINTS from front") != NULL)
				h->said_front++;
			free(msg);
		}
		break;
	case MSG_STATS:
		if (status_stats_msg_decode(&pr, &h->stats, &h->ms, err,
		    sizeof(err)) == 0)
			h->nstats++;
		break;
	default:
		break;
	}
}

static void
front_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;
	struct ack	*a;

	if (in->hdr.type != MSG_POINTS_ACK)
		return;
	cr_assert_lt(h->nacks, MAXACK);
	a = &h->acks[h->nacks++];
	a->reqid = in->hdr.reqid;
	codec_get_init(&pr, in->data, in->datalen);
	cr_assert_eq(points_ack_decode(&pr, &a->v, a->why, sizeof(a->why)),
	    0);
}

static void
front_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct h *)arg)->front = NULL;
}

static void
sched_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
}

static void
sched_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct h *)arg)->sched = NULL;
}

/* The conditions here take a number (of acks, a counter's value). */
static int
cond_holds(void *arg)
{
	struct h	*h = arg;

	return h->cond(h, h->cond_arg);
}

/* Run the loop until cond(h, arg) or `secs` pass (a hang is the failure). */
static int
wait_for(struct h *h, int (*cond)(struct h *, uint64_t), uint64_t arg,
    double secs)
{
	h->cond = cond;
	h->cond_arg = arg;
	return kid_wait(&h->k, cond_holds, h, secs);
}

/* wait_for() of a condition on the counters, asking for them. */
static int
wait_stats(struct h *h, int (*cond)(struct h *, uint64_t), uint64_t arg,
    double secs)
{
	h->cond = cond;
	h->cond_arg = arg;
	return kid_wait_stats(&h->k, cond_holds, h, secs);
}

static int
has_acks(struct h *h, uint64_t n)
{
	return h->nacks >= n;
}

static int
accepted_is(struct h *h, uint64_t n)
{
	return stat_of(&h->stats, "accepted") == n;
}

static void
h_start(struct h *h)
{
	struct agent_conf	 c;

	memset(h, 0, sizeof(*h));
	cr_assert_eq(conf_defaults(&c), 0);
	snprintf(c.user, sizeof(c.user), "nobody");
	/* no server: no request ever, nothing leaves but by ageing */
	c.spool[0] = '\0';
	c.buffersize = 10;
	kid_start(&h->k, ROLE_SENDER, ctl_msg, h);
	kid_conf(&h->k, &c);
	conf_free(&c);
	h->front = kid_peer(&h->k, ROLE_FRONT, front_msg, front_close, h);
	h->sched = kid_peer(&h->k, ROLE_SCHEDULER, sched_msg, sched_close, h);
	cr_assert_eq(frame_send(h->k.ctl, MSG_SETUP_END, 0, NULL, 0, -1), 0);
	peer_hello(h->front, ROLE_FRONT);
	peer_hello(h->sched, ROLE_SCHEDULER);
	cr_assert(kid_wait(&h->k, kid_ready, &h->k, 10.), "no READY");
	cr_assert(!h->k.exited, "the worker exited: status %#x",
	    h->k.status);
}

static void
h_stop(struct h *h)
{
	kid_stop(&h->k, 15.);
	if (h->front != NULL)
		frame_conn_close(h->front);
	if (h->sched != NULL)
		frame_conn_close(h->sched);
	ev_loop_destroy(h->k.loop);
	metrics_free(&h->ms);
}

/* `n` points that say they are `origin`, on the edge of `fc`. */
static void
points(struct frame_conn *fc, uint32_t reqid, enum points_origin origin,
    uint32_t n, const char *tag)
{
	struct points_msg	 m;
	struct pbuf		 pb;
	char			 data[1024];
	size_t			 len = 0;
	uint32_t		 i;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(data + len, sizeof(data) - len,
		    "%s{\"measurement\":\"%s\",\"n\":%u}", i > 0 ? "\n" : "",
		    tag, i);
	memset(&m, 0, sizeof(m));
	m.fmt = FORMAT_JSON;
	m.origin = origin;
	snprintf(m.topic, sizeof(m.topic), "collect.pool.loda");
	m.npoints = n;
	m.data = data;
	m.len = len;
	codec_put_init(&pb);
	points_msg_encode(&pb, &m);
	cr_assert(!codec_put_failed(&pb));
	cr_assert_eq(frame_send(fc, MSG_POINTS, reqid, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
}

TestSuite(sender_worker, .timeout = 60);

Test(sender_worker, scheduler_claiming_pushed_still_ages_out)
{
	struct h	 h;

	h_start(&h);
	/* the scheduler says "pushed": it is not believed */
	points(h.sched, 0, ORIGIN_PUSHED, 6, "claims.pushed");
	points(h.front, 1, ORIGIN_PUSHED, 4, "front");
	cr_assert(wait_for(&h, has_acks, 1, 10.));
	cr_assert_eq(h.acks[0].v, POINTS_ACCEPTED, "%s", h.acks[0].why);
	cr_assert(wait_stats(&h, accepted_is, 10, 10.));
	/* full: 6 more scheduled points age the scheduler's 6 out */
	points(h.sched, 0, ORIGIN_SCHEDULED, 6, "more");
	cr_assert(wait_stats(&h, accepted_is, 16, 10.), "accepted %llu",
	    (unsigned long long)stat_of(&h.stats, "accepted"));
	cr_assert_eq(stat_of(&h.stats, "dropped_full"), 6);
	cr_assert_eq(stat_of(&h.stats, "refused_full"), 0);
	cr_assert_eq(stat_of(&h.stats, "buffer_points"), 10);
	h_stop(&h);
}

Test(sender_worker, front_claiming_scheduled_is_still_pushed)
{
	struct h	 h;

	h_start(&h);
	/* the front's points say "scheduled": they are pushed all the same */
	points(h.front, 1, ORIGIN_SCHEDULED, 6, "front.claims.scheduled");
	points(h.sched, 0, ORIGIN_SCHEDULED, 4, "sched");
	cr_assert(wait_stats(&h, accepted_is, 10, 10.));
	/* full: room is made from the scheduler's 4 only, never the front's
	 * older 6 */
	points(h.sched, 0, ORIGIN_SCHEDULED, 4, "sched2");
	cr_assert(wait_stats(&h, accepted_is, 14, 10.));
	cr_assert_eq(stat_of(&h.stats, "dropped_full"), 4);
	/* and the front's next points get 503 rather than ageing anything */
	points(h.front, 2, ORIGIN_SCHEDULED, 4, "front2");
	cr_assert(wait_for(&h, has_acks, 2, 10.));
	cr_assert_eq(h.acks[0].v, POINTS_ACCEPTED);
	cr_assert_eq(h.acks[1].reqid, 2);
	cr_assert_eq(h.acks[1].v, POINTS_FULL, "%d %s", h.acks[1].v,
	    h.acks[1].why);
	cr_assert(strstr(h.acks[1].why, "buffer full") != NULL, "%s",
	    h.acks[1].why);
	h_stop(&h);
}

static int
malformed_is(struct h *h, uint64_t n)
{
	const struct metric	*m;

	m = metrics_find(&h->ms, "messages_malformed_total", NULL);
	return stat_of(&h->stats, "rejected_malformed") == n && m != NULL &&
	    m->value == n;
}

/*
 * A message the sender cannot decode comes from a broken or compromised
 * producer: rejected, said, and counted where an operator's alerts look.
 * Such a producer may send them at will: one line for the three.
 */
Test(sender_worker, a_malformed_message_is_counted_in_metrics)
{
	struct h	 h;
	const char	 junk[] = "not a points message";
	uint32_t	 i;

	h_start(&h);
	for (i = 0; i < 3; i++)
		cr_assert_eq(frame_send(h.front, MSG_POINTS, 7 + i, junk,
		    sizeof(junk), -1), 0);
	cr_assert(wait_for(&h, has_acks, 3, 10.));
	cr_assert_eq(h.acks[0].reqid, 7);
	for (i = 0; i < 3; i++)
		cr_assert_eq(h.acks[i].v, POINTS_REJECTED, "%d %s",
		    h.acks[i].v, h.acks[i].why);
	cr_assert(wait_stats(&h, malformed_is, 3, 10.),
	    "rejected_malformed %llu, in metrics %s",
	    (unsigned long long)stat_of(&h.stats, "rejected_malformed"),
	    metrics_find(&h.ms, "messages_malformed_total", NULL) != NULL ?
	    "yes" : "no");
	cr_assert_eq(h.said_front, 1);
	h_stop(&h);
}
