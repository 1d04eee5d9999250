/*
 * The order of a worker's first frames on a peer edge: its HELLO before
 * anything its role's start() sends (183f125).  The fetcher, run as the
 * master runs it (worker_main() in a forked kid), sends its items in
 * start() when the scheduler is up already; this test is its master and
 * that scheduler, and reads what arrives on the scheduler's edge in the
 * order it was written.  Items before the HELLO were taken by the real
 * scheduler from a fetcher it did not know up, and its ITEMS_ACK failed
 * (ENOTCONN), about one start in three.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "proto.h"

#include "worker_fixture.h"

#define MAXFRAMES	16

struct h {
	struct worker_kid	 k;
	struct frame_conn	*sched;
	pid_t			 sched_seen;	/* the pid it says it saw */
	uint16_t		 types[MAXFRAMES];	/* on the edge, in order */
	size_t			 ntypes;
};

static void
ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;
	uint32_t	 role, pid;

	if (in->hdr.type != MSG_PEER_STATE)
		return;
	codec_get_init(&pr, in->data, in->datalen);
	role = codec_get_u32(&pr);
	pid = codec_get_u32(&pr);
	if (codec_get_end(&pr) == 0 && role == ROLE_SCHEDULER)
		h->sched_seen = (pid_t)pid;
}

static void
sched_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;

	if (h->ntypes < MAXFRAMES)
		h->types[h->ntypes++] = in->hdr.type;
}

static void
sched_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct h *)arg)->sched = NULL;
}

static int
saw_scheduler(void *arg)
{
	struct h	*h = arg;

	return h->sched_seen > 0 || h->k.exited;
}

static int
two_frames(void *arg)
{
	struct h	*h = arg;

	return (h->k.ready && h->ntypes >= 2) || h->k.exited;
}

Test(worker_hello, hello_before_what_start_sends)
{
	struct agent_conf	 c;
	struct h		 h;

	memset(&h, 0, sizeof(h));
	cr_assert_eq(conf_defaults(&c), 0);
	snprintf(c.user, sizeof(c.user), "nobody");
	/* no registry: start() publishes the configured namespaces */
	c.registryaddr[0] = '\0';
	cr_assert_eq(strlist_add(&c.namespaces, "hello.test"), 0);
	kid_start(&h.k, ROLE_FETCHER, ctl_msg, &h);
	kid_conf(&h.k, &c);
	conf_free(&c);
	h.sched = kid_peer(&h.k, ROLE_SCHEDULER, sched_msg, sched_close, &h);

	/*
	 * A scheduler up already, as after a fetcher's restart: its HELLO
	 * is taken before SETUP_END, so start() has a peer to send to.
	 */
	peer_hello(h.sched, ROLE_SCHEDULER);
	cr_assert(kid_wait(&h.k, saw_scheduler, &h, 10.),
	    "the fetcher never said it saw the scheduler");
	cr_assert(!h.k.exited, "the fetcher exited: status %#x", h.k.status);
	cr_assert_eq(h.ntypes, 0, "a frame before SETUP_END: type %u",
	    h.types[0]);

	cr_assert_eq(frame_send(h.k.ctl, MSG_SETUP_END, 0, NULL, 0, -1), 0);
	cr_assert(kid_wait(&h.k, two_frames, &h, 10.), "no READY and two "
	    "frames (%zu frames)", h.ntypes);
	cr_assert(!h.k.exited, "the fetcher exited: status %#x", h.k.status);
	cr_assert_eq(h.types[0], MSG_HELLO, "first frame: %s, not HELLO",
	    proto_msg_name(h.types[0]));
	cr_assert_eq(h.types[1], MSG_ITEMS, "second frame: %s, not ITEMS",
	    proto_msg_name(h.types[1]));

	kid_stop(&h.k, 15.);
	cr_assert(WIFEXITED(h.k.status) && WEXITSTATUS(h.k.status) == 0,
	    "status %#x", h.k.status);
	if (h.sched != NULL)
		frame_conn_close(h.sched);
	ev_loop_destroy(h.k.loop);
}
