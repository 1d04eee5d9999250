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

#include <sys/socket.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include <ev.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "proto.h"
#include "workers/worker.h"

#define MAXFRAMES	16

struct h {
	struct ev_loop		*loop;
	pid_t			 pid;
	int			 status;
	int			 exited;
	struct frame_conn	*ctl;
	struct frame_conn	*sched;
	int			 ready;
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
	char		*msg;

	codec_get_init(&pr, in->data, in->datalen);
	switch (in->hdr.type) {
	case MSG_READY:
		h->ready = 1;
		break;
	case MSG_PEER_STATE:
		role = codec_get_u32(&pr);
		pid = codec_get_u32(&pr);
		if (codec_get_end(&pr) == 0 && role == ROLE_SCHEDULER)
			h->sched_seen = (pid_t)pid;
		break;
	case MSG_LOG:
		(void)codec_get_u32(&pr);
		if ((msg = codec_get_str(&pr)) != NULL) {
			fprintf(stderr, "fetcher: %s\n", msg);
			free(msg);
		}
		break;
	default:
		break;
	}
}

static void
ctl_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct h *)arg)->ctl = NULL;
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

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct h	*h = t->data;
	int		 st;

	if (!h->exited && waitpid(h->pid, &st, WNOHANG) == h->pid) {
		h->exited = 1;
		h->status = st;
	}
}

/* Run the loop until cond(h) or `secs` pass (a hang is the failure). */
static int
wait_for(struct h *h, int (*cond)(struct h *), double secs)
{
	ev_timer	 tick;
	ev_tstamp	 end;

	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	tick.data = h;
	ev_timer_start(h->loop, &tick);
	ev_now_update(h->loop);
	end = ev_now(h->loop) + secs;
	while (!cond(h) && ev_now(h->loop) < end)
		ev_run(h->loop, EVRUN_ONCE);
	ev_timer_stop(h->loop, &tick);
	return cond(h);
}

static int
saw_scheduler(struct h *h)
{
	return h->sched_seen > 0 || h->exited;
}

static int
two_frames(struct h *h)
{
	return (h->ready && h->ntypes >= 2) || h->exited;
}

static int
has_exited(struct h *h)
{
	return h->exited;
}

Test(worker_hello, hello_before_what_start_sends)
{
	static char		 name[] = "agent-test-fetcher";
	char			*argv[] = { name, NULL };
	struct frame_rules	 rules;
	struct agent_conf	 c;
	struct pbuf		 pb;
	struct h		 h;
	int			 sv[2], kv[2];

	memset(&h, 0, sizeof(h));
	cr_assert_eq(conf_defaults(&c), 0);
	snprintf(c.user, sizeof(c.user), "nobody");
	/* no registry: start() publishes the configured namespaces */
	c.registryaddr[0] = '\0';
	cr_assert_eq(strlist_add(&c.namespaces, "hello.test"), 0);
	cr_assert_not_null(h.loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, kv), 0);
	if ((h.pid = fork()) == 0) {
		if (dup2(sv[1], CONTROL_FD) == -1)
			_exit(120);
		closefrom(CONTROL_FD + 1);
		/* _exit: no exit handlers (or LeakSanitizer) under seccomp */
		_exit(worker_main(ROLE_FETCHER, 1, argv));
	}
	cr_assert_neq(h.pid, -1);
	close(sv[1]);

	rules.edge = proto_control_edge(ROLE_FETCHER);
	rules.self = ROLE_MASTER;
	rules.name = "test-master<->fetcher";
	cr_assert_not_null(h.ctl = frame_conn_new(h.loop, sv[0], &rules,
	    ctl_msg, ctl_close, &h));
	rules.edge = proto_peer_edge_find(ROLE_SCHEDULER, ROLE_FETCHER);
	rules.self = ROLE_SCHEDULER;
	rules.name = "test-scheduler<->fetcher";
	cr_assert_not_null(h.sched = frame_conn_new(h.loop, kv[0], &rules,
	    sched_msg, sched_close, &h));

	codec_put_init(&pb);
	codec_put_u64(&pb, 1);
	conf_encode(&pb, &c, ROLE_FETCHER);
	cr_assert(!codec_put_failed(&pb));
	cr_assert_eq(frame_send(h.ctl, MSG_CONF, 0, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
	conf_free(&c);
	codec_put_init(&pb);
	codec_put_u32(&pb, ROLE_SCHEDULER);
	cr_assert_eq(frame_send(h.ctl, MSG_PEER, 0, pb.buf, pb.len, kv[1]),
	    0);
	codec_put_free(&pb);

	/*
	 * A scheduler up already, as after a fetcher's restart: its HELLO
	 * is taken before SETUP_END, so start() has a peer to send to.
	 */
	codec_put_init(&pb);
	codec_put_u32(&pb, ROLE_SCHEDULER);
	codec_put_u64(&pb, 1);
	cr_assert_eq(frame_send(h.sched, MSG_HELLO, 0, pb.buf, pb.len, -1),
	    0);
	codec_put_free(&pb);
	cr_assert(wait_for(&h, saw_scheduler, 10.),
	    "the fetcher never said it saw the scheduler");
	cr_assert(!h.exited, "the fetcher exited: status %#x", h.status);
	cr_assert_eq(h.ntypes, 0, "a frame before SETUP_END: type %u",
	    h.types[0]);

	cr_assert_eq(frame_send(h.ctl, MSG_SETUP_END, 0, NULL, 0, -1), 0);
	cr_assert(wait_for(&h, two_frames, 10.), "no READY and two frames "
	    "(%zu frames)", h.ntypes);
	cr_assert(!h.exited, "the fetcher exited: status %#x", h.status);
	cr_assert_eq(h.types[0], MSG_HELLO, "first frame: %s, not HELLO",
	    proto_msg_name(h.types[0]));
	cr_assert_eq(h.types[1], MSG_ITEMS, "second frame: %s, not ITEMS",
	    proto_msg_name(h.types[1]));

	cr_assert_eq(frame_send(h.ctl, MSG_SHUTDOWN, 0, NULL, 0, -1), 0);
	cr_assert(wait_for(&h, has_exited, 15.), "the fetcher did not stop");
	cr_assert(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0,
	    "status %#x", h.status);
	if (h.ctl != NULL)
		frame_conn_close(h.ctl);
	if (h.sched != NULL)
		frame_conn_close(h.sched);
	ev_loop_destroy(h.loop);
}
