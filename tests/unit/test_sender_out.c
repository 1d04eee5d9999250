/*
 * What the sender does with the output's answers about size
 * (sender_out.c), driven without a worker process: a sender on a loop
 * of its own, points put in its buffer, a sink that records what it is
 * handed, and the answers given by hand.  For points waiting in another
 * format than the output's: a refusal of the rewritten request keeps
 * the limit the server stated and cuts those points smaller, half at
 * each refusal, down to a point at a time; a point over the stated limit
 * in the format it was taken in goes as its rewriting when that fits,
 * and is dropped before it is sent when it does not.
 */
#include <criterion/criterion.h>

#include <sys/resource.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include <ev.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "proto.h"
#include "encode.h"
#include "point.h"
#include "workers/sender/sender.h"
#include "workers/sender/sender_spool.h"
#include "workers/worker.h"

#define NOW		1714538000
#define TOPIC		"collect.pool.loda"
#define MAXPUB		64

struct pub {
	char		 topic[TOPIC_MAX + 1];
	enum out_format	 fmt;
	size_t		 nmsgs;
	uint32_t	 npoints;
	size_t		 longest;
};

static struct worker	 w;
static struct sender	 s;
static struct pub	 pubs[MAXPUB];
static size_t		 npubs;

static void
record_publish(struct sender *sd, const char *topic, enum out_format fmt,
    const struct sink_msg *m, size_t n)
{
	struct pub	*p;
	size_t		 i;

	cr_assert(sd == &s || sd == w.priv);
	cr_assert_lt(npubs, MAXPUB, "more requests than the test expects");
	p = &pubs[npubs++];
	memset(p, 0, sizeof(*p));
	strlcpy(p->topic, topic, sizeof(p->topic));
	p->fmt = fmt;
	p->nmsgs = n;
	for (i = 0; i < n; i++) {
		p->npoints += m[i].npoints;
		if (m[i].len > p->longest)
			p->longest = m[i].len;
	}
}

static void
close_nothing(struct sender *sd)
{
	(void)sd;
}

static const struct sink_ops recording_ops = {
	.name = "recording",
	.publish = record_publish,
	.close = close_nothing,
};

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	npubs = 0;
	cr_assert_eq(conf_defaults(&w.conf), 0);
	w.conf.flushms = 0;
	cr_assert_not_null(w.loop = ev_loop_new(EVFLAG_AUTO));
	s.w = &w;
	s.ops = &recording_ops;
	s.outfile_fd = -1;
	TAILQ_INIT(&s.queue);
	sender_cut_init(&s.cut);
	sender_out_init(&s);
}

static void
teardown(void)
{
	struct batch	*b;

	while ((b = TAILQ_FIRST(&s.queue)) != NULL) {
		TAILQ_REMOVE(&s.queue, b, entry);
		sender_batch_free(&s, b);
	}
	ev_timer_stop(w.loop, &s.flush);
	sender_cut_free(&s.cut);
	ev_loop_destroy(w.loop);
	conf_free(&w.conf);
}

/* Point `seq`, with `nquoted` tags of 250 '"' (two bytes each in json,
 * one in a line). */
static void
make(struct point *p, unsigned seq, unsigned nquoted)
{
	char	 key[16], val[251], err[256];
	unsigned i;

	point_init(p);
	cr_assert_eq(point_set_name(p, "sp.m", 4), 0);
	snprintf(val, sizeof(val), "%u", seq);
	cr_assert_eq(point_add_tag(p, "seq", 3, val, strlen(val)), 0);
	memset(val, '"', 250);
	val[250] = '\0';
	for (i = 0; i < nquoted; i++) {
		snprintf(key, sizeof(key), "q%02u", i);
		cr_assert_eq(point_add_tag(p, key, strlen(key), val, 250), 0);
	}
	point_set_float(p, seq + 0.5);
	p->timestamp = NOW;
	cr_assert_eq(point_normalize(p, "RUN.", "web-01", NOW, err,
	    sizeof(err)), 0, "%s", err);
}

/* A batch in `fmt` of points first.. with `nquoted` quoted tags each,
 * as the front would have put it in the buffer. */
static void
add_batch(enum out_format fmt, unsigned first, unsigned n, unsigned nquoted)
{
	struct batch	*b;
	struct point	 p;
	struct buf	 d;
	unsigned	 i;

	buf_init(&d);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&d, '\n');
		make(&p, first + i, nquoted);
		encode_point(&d, fmt, &p);
		point_free(&p);
	}
	cr_assert(!buf_failed(&d));
	cr_assert_not_null(b = calloc(1, sizeof(*b)));
	b->data = d.p;
	b->len = d.len;
	b->npoints = n;
	b->fmt = fmt;
	b->origin = ORIGIN_PUSHED;
	strlcpy(b->topic, TOPIC, sizeof(b->topic));
	TAILQ_INSERT_TAIL(&s.queue, b, entry);
	s.qpoints += n;
	s.qbytes += d.len;
}

/* One turn of the loop: whatever is due goes to the sink. */
static void
turn(void)
{
	sender_kick(&s);
	ev_run(w.loop, EVRUN_NOWAIT);
}

static void
use_format(const char *f)
{
	strlcpy(w.conf.format, f, sizeof(w.conf.format));
}

TestSuite(sender_out, .init = setup, .fini = teardown, .timeout = 30);

Test(sender_out, json_over_a_stated_limit_goes_as_its_line_if_it_fits)
{
	use_format("line");
	/* nsqd's IDENTIFY said so */
	sender_sink_limits(&s, "nsq", 3072, 1 << 20);
	cr_assert_eq(sender_msgbytes(&s), 3072);
	add_batch(FORMAT_JSON, 1, 1, 8);	/* json ~4.2 KB, line ~2.1 */
	add_batch(FORMAT_JSON, 2, 1, 16);	/* line ~4.1 KB */
	add_batch(FORMAT_JSON, 3, 2, 0);

	turn();
	cr_assert_eq(npubs, 1);
	cr_assert_eq(pubs[0].fmt, FORMAT_LINE);
	cr_assert_eq(pubs[0].npoints, 1);
	cr_assert_leq(pubs[0].longest, 3072);
	cr_assert_gt(pubs[0].longest, 2000);
	sender_sink_done(&s, 1, NULL);

	/* the second is over even as a line: dropped, never handed over */
	turn();
	cr_assert_eq(s.st.dropped_toolarge, 1);
	cr_assert_eq(npubs, 2);
	cr_assert_eq(pubs[1].fmt, FORMAT_LINE);
	cr_assert_eq(pubs[1].npoints, 2);
	sender_sink_done(&s, 1, NULL);
	cr_assert_eq(s.st.published, 3);
	cr_assert_eq(s.qpoints, 0);
	cr_assert(TAILQ_EMPTY(&s.queue));
}

Test(sender_out, rewritten_refusals_keep_the_stated_limit_and_halve_the_cut)
{
	uint32_t	 sent = 0, last;
	size_t		 i;

	use_format("json");
	w.conf.messagebytes = 1 << 16;
	w.conf.requestmessages = 1;
	/* 200 lines of about 100 bytes: one message of 20 KB, in line */
	add_batch(FORMAT_LINE, 1, 200, 0);
	turn();
	cr_assert_eq(npubs, 1);
	cr_assert_eq(pubs[0].fmt, FORMAT_JSON);
	cr_assert_eq(pubs[0].npoints, 200);
	last = 200;

	/* nsqd says 16 KiB, which the json is over and the lines were not */
	sender_sink_toobig(&s, "nsq", SINK_TOOBIG_MESSAGE, 16384,
	    "E_BAD_MESSAGE PUB message too big");
	cr_assert_eq(sender_msgbytes(&s), 16384);
	cr_assert(s.learned.stated);
	cr_assert_eq(s.learned.rewrite_shift, 1);
	cr_assert_eq(s.st.published, 0);

	/* each refusal halves what the points waiting in line are cut at */
	for (i = 2; i <= 4; i++) {
		turn();
		cr_assert_eq(npubs, i);
		cr_assert_eq(pubs[i - 1].fmt, FORMAT_JSON);
		/* the first at 1/2 of 16 KiB of lines, not of the 200 */
		if (i > 2)
			cr_assert_leq(pubs[i - 1].npoints, last / 2 + 1,
			    "cut at %u points after %u", pubs[i - 1].npoints,
			    last);
		else
			cr_assert_lt(pubs[i - 1].npoints, last);
		last = pubs[i - 1].npoints;
		sender_sink_toobig(&s, "nsq", SINK_TOOBIG_MESSAGE, 16384,
		    "E_BAD_MESSAGE PUB message too big");
		cr_assert_eq(s.learned.rewrite_shift, i);
		cr_assert_eq(sender_msgbytes(&s), 16384, "the stated limit "
		    "went from 16384 to %zu", sender_msgbytes(&s));
	}
	/* then taken: everything goes, each point once */
	while (s.qpoints > 0 && npubs < MAXPUB) {
		turn();
		cr_assert_eq(pubs[npubs - 1].fmt, FORMAT_JSON);
		cr_assert_leq(pubs[npubs - 1].longest, 16384);
		sent += pubs[npubs - 1].npoints;
		sender_sink_done(&s, 1, NULL);
	}
	cr_assert_eq(sent, 200);
	cr_assert_eq(s.st.published, 200);
	cr_assert_eq(s.st.dropped_toolarge + s.st.dropped_rejected, 0);
}

Test(sender_out, a_point_over_the_halved_cut_goes_alone_rewritten)
{
	use_format("json");
	w.conf.messagebytes = 1 << 16;
	add_batch(FORMAT_LINE, 1, 30, 4);	/* lines of about 1.1 KB */
	turn();
	cr_assert_eq(npubs, 1);
	/* nsqd's limit, then refusals with no number */
	sender_sink_toobig(&s, "nsq", SINK_TOOBIG_MESSAGE, 32768,
	    "E_BAD_MESSAGE PUB message too big");
	cr_assert(s.learned.stated);
	turn();
	while (pubs[npubs - 1].npoints > 1) {
		sender_sink_toobig(&s, "influxdb", SINK_TOOBIG_BODY, 0,
		    "413 Request Entity Too Large");
		turn();
		cr_assert_lt(npubs, MAXPUB);
	}
	/* 1/32 of the limit is under a point: it goes alone, in json, within
	 * the limit nsqd stated */
	cr_assert_eq(s.learned.rewrite_shift, 5);
	cr_assert_eq(pubs[npubs - 1].npoints, 1);
	cr_assert_eq(pubs[npubs - 1].nmsgs, 1);
	cr_assert_eq(pubs[npubs - 1].fmt, FORMAT_JSON);
	cr_assert_gt(pubs[npubs - 1].longest, 32768 >> 5);
	cr_assert_leq(pubs[npubs - 1].longest, 32768);
	cr_assert_eq(sender_msgbytes(&s), 32768);
	sender_sink_done(&s, 1, NULL);
	cr_assert_eq(s.st.published, 1);
	cr_assert_eq(s.st.dropped_toolarge, 0);
}

/*
 * A spool whose records the sender cannot read for now (out of
 * descriptors: EMFILE) is read again a moment later, and its points go:
 * the segments used to be removed, points answered 200 and all.
 */
Test(sender_out, a_spool_short_of_descriptors_is_read_again_in_a_moment)
{
	struct spool		*sp;
	struct spool_seg	*held;
	struct points_msg	 m;
	struct point		 p;
	struct buf		 d;
	struct rlimit		 old, rl;
	char			 dir[] = "/tmp/sender-out-test.XXXXXX";
	char			 err[256], cmd[128];
	unsigned		 i;
	int			 fd;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(sender_spool_open(&sp, dir, 1 << 30, NULL, NULL, err,
	    sizeof(err)), 0, "%s", err);
	for (i = 0; i < 3; i++) {
		buf_init(&d);
		make(&p, i, 0);
		encode_point(&d, FORMAT_JSON, &p);
		point_free(&p);
		cr_assert(!buf_failed(&d));
		memset(&m, 0, sizeof(m));
		m.fmt = FORMAT_JSON;
		strlcpy(m.topic, TOPIC, sizeof(m.topic));
		m.npoints = 1;
		m.data = d.p;
		m.len = d.len;
		cr_assert_eq(sender_spool_append(sp, i == 1 ? SPOOL_SCHEDULED :
		    SPOOL_PUSHED, &m, 0, &held, err, sizeof(err)), 0, "%s",
		    err);
		buf_free(&d);
	}
	sender_spool_close(sp);
	cr_assert_eq(sender_spool_open(&s.spool, dir, 1 << 30, NULL, NULL,
	    err, sizeof(err)), 0, "%s", err);
	sender_refill_init(&s);

	/* the next descriptor is one too many */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_neq(fd = dup(0), -1);
	close(fd);
	rl = old;
	rl.rlim_cur = (rlim_t)fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	sender_refill(&s);
	turn();
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert(TAILQ_EMPTY(&s.queue));
	cr_assert_eq(npubs, 0);
	cr_assert(strstr(s.last_error, "Too many open files") != NULL, "%s",
	    s.last_error);

	/* a moment later */
	ev_run(w.loop, EVRUN_ONCE);
	turn();
	cr_assert_eq(npubs, 1);
	cr_assert_eq(pubs[0].npoints, 3);
	sender_sink_done(&s, 1, NULL);
	cr_assert(TAILQ_EMPTY(&s.queue));
	cr_assert_eq(s.spool->st.skipped + s.spool->st.cut, 0);
	ev_timer_stop(w.loop, &s.refill_timer);
	sender_spool_close(s.spool);
	s.spool = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Point `seq` of `topic` taken in by `sd` as a producer's message of
 * one point. */
static enum points_verdict
take_in(struct sender *sd, const char *topic, enum points_origin origin,
    unsigned seq)
{
	struct points_msg	 m;
	struct point		 p;
	struct buf		 d;
	enum points_verdict	 v;
	char			 why[256];
	int			 spooled;

	buf_init(&d);
	make(&p, seq, 0);
	encode_point(&d, FORMAT_JSON, &p);
	point_free(&p);
	cr_assert(!buf_failed(&d));
	memset(&m, 0, sizeof(m));
	m.fmt = FORMAT_JSON;
	m.origin = origin;
	strlcpy(m.topic, topic, sizeof(m.topic));
	m.npoints = 1;
	m.data = d.p;
	m.len = d.len;
	v = sender_take(sd, &m, origin, 0, NULL, &spooled, why, sizeof(why));
	buf_free(&d);
	return v;
}

static enum points_verdict
take(const char *topic, enum points_origin origin, unsigned seq)
{
	return take_in(&s, topic, origin, seq);
}

/*
 * A request takes its topic's points past another topic's (producers of
 * two namespaces in turn), and what it took stays in the buffer until it
 * is answered: a full buffer ages out none of it, though it is not at
 * the head.
 */
Test(sender_out, a_request_past_another_topic_keeps_what_it_took)
{
	/* half the buffer may go past another topic: two points */
	w.conf.buffersize = 4;
	cr_assert_eq(take(TOPIC, ORIGIN_SCHEDULED, 0), POINTS_ACCEPTED);
	cr_assert_eq(take("collect.b.loda", ORIGIN_PUSHED, 1),
	    POINTS_ACCEPTED);
	cr_assert_eq(take(TOPIC, ORIGIN_SCHEDULED, 2), POINTS_ACCEPTED);
	cr_assert_eq(take("collect.b.loda", ORIGIN_PUSHED, 3),
	    POINTS_ACCEPTED);
	turn();
	cr_assert_eq(npubs, 1);
	cr_assert_str_eq(pubs[0].topic, TOPIC);
	cr_assert_eq(pubs[0].npoints, 2, "both points of the topic");
	cr_assert(s.busy);
	/*
	 * The only scheduled points are in flight: nothing may age out.
	 * The point refused is its producer's to forget: dropped, alone.
	 */
	cr_assert_eq(take("collect.c.loda", ORIGIN_SCHEDULED, 4), POINTS_FULL);
	cr_assert_eq(s.qpoints, 4);
	cr_assert_eq(s.st.dropped_full, 1);
	cr_assert_eq(s.st.refused_full, 0);
	sender_sink_done(&s, 1, NULL);
	cr_assert_eq(s.qpoints, 2);
	cr_assert_eq(s.st.published, 2);
	turn();
	cr_assert_eq(npubs, 2);
	cr_assert_str_eq(pubs[1].topic, "collect.b.loda");
	cr_assert_eq(pubs[1].npoints, 2);
	/* a failed request keeps its points, and holds them no more */
	sender_sink_done(&s, 0, "test");
	cr_assert(!s.busy);
	cr_assert_eq(TAILQ_FIRST(&s.queue)->flight, 0);
	cr_assert_eq(s.qpoints, 2);
}

/*
 * The stop's bound passes with a request in flight and no spool: what the
 * buffer holds is dropped (dropped_stop) and the sender ends with the
 * turn.  The output's answer may come in that same turn, after the
 * stop: it finds the points gone, neither counts them published nor
 * touches the batches the request was cut from (freed).
 */
Test(sender_out, an_answer_after_the_stop_dropped_the_buffer_is_ignored)
{
	struct sender		*sd;
	struct frame_in		 in;
	struct pbuf		 pb;

	/* a sender as the worker makes it: the stop's timer and all */
	w.role = ROLE_SENDER;
	codec_put_init(&pb);
	codec_put_str(&pb, "");
	codec_put_str(&pb, "");
	cr_assert(!codec_put_failed(&pb));
	memset(&in, 0, sizeof(in));
	in.hdr.type = MSG_OUTPUT_FILE;
	in.data = pb.buf;
	in.datalen = pb.len;
	in.fd = -1;
	cr_assert_eq(sender_ops.control_msg(&w, &in), 0);
	codec_put_free(&pb);
	cr_assert_not_null(sd = w.priv);
	sd->peer.diag.fd = -1;
	sd->ops = &recording_ops;
	cr_assert_eq(take_in(sd, TOPIC, ORIGIN_PUSHED, 0), POINTS_ACCEPTED);
	cr_assert_eq(take_in(sd, "collect.b.loda", ORIGIN_PUSHED, 1),
	    POINTS_ACCEPTED);
	cr_assert_eq(take_in(sd, TOPIC, ORIGIN_PUSHED, 2), POINTS_ACCEPTED);
	sender_kick(sd);
	ev_run(w.loop, EVRUN_NOWAIT);
	cr_assert_eq(npubs, 1);
	cr_assert_eq(pubs[0].npoints, 2);
	cr_assert(sd->busy);
	/* the stop: its bound at once */
	sender_ops.shutdown(&w);
	cr_assert(sd->stopping);
	ev_feed_event(w.loop, &sd->stop_timer, EV_TIMER);
	ev_invoke_pending(w.loop);
	cr_assert(TAILQ_EMPTY(&sd->queue));
	cr_assert_eq(sd->st.dropped_stop, 3);
	/* the output's answer, later in the same turn */
	sender_sink_done(sd, 1, NULL);
	cr_assert_eq(sd->st.published, 0, "dropped, then counted published");
	cr_assert_eq(sd->qpoints, 0);
	cr_assert(!sd->busy);
	sender_ops.cleanup(&w);
	cr_assert_null(w.priv);
}
