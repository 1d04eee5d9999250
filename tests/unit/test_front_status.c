/*
 * The front's /me/status and /metrics when the master reads nothing
 * (front.c): its control edge holds 64 MiB already, the status request
 * cannot go, and the clients get 503.  That is said in the log, once per
 * WARN_LIMIT_EVERY with how many were not: nothing else told the
 * operator why.  One process: the front worker on a loop, its control
 * edge on a socketpair whose other end, the master, reads nothing, its
 * API on a unix socket this test connects to.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "workers/front/front.h"

#include "worker_fixture.h"

/* generous: only a hang fails on it */
#define HANG_BOUND	10.0

static struct {
	struct ev_loop	*loop;
	struct worker	 w;
	int		 master;	/* the master's end: never read */
	char		 dir[64];
	char		 path[128];
	char		 warned[8][512];
	size_t		 nwarned;
} h;

static void
catch_warn(enum log_level level, const char *msg, void *arg)
{
	if (level >= LOG_LVL_WARN &&
	    h.nwarned < sizeof(h.warned) / sizeof(h.warned[0]))
		snprintf(h.warned[h.nwarned++], sizeof(h.warned[0]), "%s", msg);
}

static void
ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
}

static void
ctl_closed(struct frame_conn *fc, const char *why, void *arg)
{
	cr_assert_fail("the control edge closed: %s", why);
}

/* A unix listener handed to the front as the master would (MSG_LISTEN). */
static void
listen_unix(void)
{
	struct sockaddr_un	 sun;
	struct frame_in		 in;
	struct pbuf		 pb;
	int			 fd;

	snprintf(h.path, sizeof(h.path), "%s/agent.sock", h.dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h.path);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	codec_put_init(&pb);
	codec_put_str(&pb, "unix");
	codec_put_str(&pb, h.path);
	cr_assert_not(codec_put_failed(&pb));
	memset(&in, 0, sizeof(in));
	in.hdr.type = MSG_LISTEN;
	in.data = pb.buf;
	in.datalen = pb.len;
	in.fd = fd;
	cr_assert_eq(front_ops.control_msg(&h.w, &in), 0);
	cr_assert_eq(in.fd, -1, "the front did not take the listener");
	codec_put_free(&pb);
}

static void
setup(void)
{
	memset(&h, 0, sizeof(h));
	snprintf(h.dir, sizeof(h.dir), "/tmp/test_front_status.XXXXXX");
	cr_assert_not_null(mkdtemp(h.dir));
	log_init("test", LOG_LVL_WARN);
	log_set_sink(catch_warn, NULL);
	cr_assert_not_null(h.loop = ev_loop_new(EVFLAG_AUTO));
	h.master = worker_on_edge(&h.w, h.loop, &front_ops, SOCK_CLOEXEC,
	    ctl_msg, ctl_closed, NULL);
	listen_unix();
}

static void
teardown(void)
{
	char	 cmd[128];

	log_set_sink(NULL, NULL);
	front_ops.cleanup(&h.w);
	frame_conn_close(h.w.ctl);
	(void)close(h.master);
	conf_free(&h.w.conf);
	ev_loop_destroy(h.loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", h.dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(front_status, .init = setup, .fini = teardown, .timeout = 30);

/*
 * The edge to the master full, as a master that reads nothing leaves
 * it: the socket's buffer first, then the queue to within a header.
 */
static void
fill(struct frame_conn *fc, uint16_t type)
{
	static char	 junk[64 * 1024];
	size_t		 len, last = 0;

	/* what the kernel takes goes as the loop turns, until it takes none */
	while (frame_queued(fc) == 0 || frame_queued(fc) != last) {
		last = frame_queued(fc);
		cr_assert_eq(frame_send(fc, type, 0, junk, sizeof(junk), -1),
		    0);
		ev_run(h.loop, EVRUN_NOWAIT);
		last += sizeof(junk) + FRAME_HDR_LEN;
	}
	for (len = sizeof(junk); ; len /= 2) {
		while (frame_send(fc, type, 0, junk, len, -1) == 0)
			;
		cr_assert_eq(errno, ENOBUFS, "%s", strerror(errno));
		if (len == 0)
			break;
	}
	cr_assert_gt(frame_queued(fc), FRAME_OUTQ_MAX - FRAME_HDR_LEN);
}

static void
fill_ctl(void)
{
	fill(h.w.ctl, MSG_LOG);
}

/* GET `path` on the unix socket: the answer's status code. */
static int
get(const char *path)
{
	struct sockaddr_un	 sun;
	char			 req[256], resp[4096];
	size_t			 got = 0;
	ssize_t			 n;
	ev_tstamp		 until = ev_time() + HANG_BOUND;
	int			 fd, code = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h.path);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost"
	    "\r\nConnection: close\r\n\r\n", path);
	cr_assert_eq(write(fd, req, (size_t)n), n);
	for (;;) {
		ev_run(h.loop, EVRUN_NOWAIT);
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		else
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
		cr_assert_lt(ev_time(), until, "no answer to %s", path);
	}
	(void)close(fd);
	resp[got] = '\0';
	cr_assert_eq(sscanf(resp, "HTTP/1.1 %d ", &code), 1, "%s", resp);
	if (code == 503)
		cr_assert_not_null(strstr(resp, strncmp(path, "/plugins", 8) ==
		    0 ? "the scheduler is not available" : "the master is not "
		    "reachable"), "%s", resp);
	return code;
}

Test(front_status, a_master_reading_nothing_gets_status_503_said_at_a_rate)
{
	struct front	*f = h.w.priv;

	fill_ctl();
	cr_assert_eq(get("/me/status"), 503);
	cr_assert_eq(h.nwarned, 1);
	cr_assert_str_eq(h.warned[0], "status_ask: status request not sent "
	    "to the master: No buffer space available; answered 503 to "
	    "/me/status and /metrics (1 waiting)");
	cr_assert_eq(get("/metrics"), 503);
	cr_assert_eq(get("/me/status"), 503);
	cr_assert_eq(h.nwarned, 1, "%s", h.warned[h.nwarned - 1]);

	/* a rate limit's interval later */
	f->unsent_status.last -= WARN_LIMIT_EVERY;
	cr_assert_eq(get("/metrics"), 503);
	cr_assert_eq(h.nwarned, 2);
	cr_assert_str_eq(h.warned[1], "status_ask: status request not sent "
	    "to the master: No buffer space available; answered 503 to "
	    "/me/status and /metrics (1 waiting); 2 more not logged since the "
	    "last such line");
}

static void
peer_closed(struct frame_conn *fc, const char *why, void *arg)
{
	cr_assert_fail("the scheduler's edge closed: %s", why);
}

/*
 * The same for the plugin list and a scheduler that reads nothing: its
 * edge full, every list gets 503, said once per WARN_LIMIT_EVERY.  Any
 * client can ask again and again; a line each was the log's end.
 */
Test(front_status, a_scheduler_reading_nothing_gets_lists_503_said_at_a_rate)
{
	struct front		*f = h.w.priv;
	struct frame_rules	 rules;
	int			 sv[2], i;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	rules.edge = proto_peer_edge_find(ROLE_FRONT, ROLE_SCHEDULER);
	rules.self = ROLE_FRONT;
	rules.name = "front<->scheduler";
	cr_assert_not_null(rules.edge);
	cr_assert_not_null(h.w.peers[ROLE_SCHEDULER] = frame_conn_new(h.loop,
	    sv[0], &rules, ctl_msg, peer_closed, NULL));
	h.w.peer_pid[ROLE_SCHEDULER] = 1;	/* its HELLO came */
	fill(h.w.peers[ROLE_SCHEDULER], MSG_PLUGIN_REQ);
	for (i = 0; i < 3; i++)
		cr_assert_eq(get("/plugins/list"), 503);
	cr_assert_eq(h.nwarned, 1, "%zu", h.nwarned);
	cr_assert_str_eq(h.warned[0], "plugin_unsent: PLUGIN_REQ to the "
	    "scheduler: No buffer space available; answered 503");
	f->unsent_plugin.last -= WARN_LIMIT_EVERY;
	cr_assert_eq(get("/plugins/list"), 503);
	cr_assert_eq(h.nwarned, 2);
	cr_assert_str_eq(h.warned[1], "plugin_unsent: PLUGIN_REQ to the "
	    "scheduler: No buffer space available; answered 503; 2 more not "
	    "logged since the last such line");
	frame_conn_close(h.w.peers[ROLE_SCHEDULER]);
	h.w.peers[ROLE_SCHEDULER] = NULL;
	(void)close(sv[1]);
}
