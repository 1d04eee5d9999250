/*
 * Unit tests for src/common/frame.c over real AF_UNIX socketpairs and a
 * real libev loop.  Every run is bounded by a guard timer: a test that
 * waits for something that never comes fails instead of hanging.
 *
 * A "raw" end is a plain socket the test writes crafted bytes (and
 * descriptors) into, to play a broken or hostile peer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "proto.h"

#define GUARD_SECS	20.0
#define MAXREC		512

struct ctx {
	struct ev_loop	*loop;
	ev_timer	 guard;
	int		 timedout;
};

struct rec {
	uint16_t	 type;
	uint16_t	 flags;
	uint32_t	 reqid;
	uint32_t	 pid;
	size_t		 len;
	int		 fd;		/* taken descriptor, or -1 */
	int		 cloexec;	/* FD_CLOEXEC on it when received */
};

struct end;
typedef void (*hook_fn)(struct end *, struct frame_in *);

struct end {
	struct ctx		*ctx;
	struct frame_conn	*c;
	enum role		 self;
	int			 nmsg;
	int			 nclose;
	int			 bad;		/* payloads not as expected */
	int			 depth;		/* message callbacks running */
	int			 reentered;
	char			 why[256];
	int			 want;		/* ev_break at this many */
	int			 brk_close;	/* ev_break on close */
	int			 take_fd;	/* keep received fds */
	int			 pattern;	/* check payload pattern */
	hook_fn			 hook;
	void			*hookarg;
	struct rec		 rec[MAXREC];
};

/* Payload byte `i` of the frame with request id `reqid`. */
static uint8_t
pat(uint32_t reqid, size_t i)
{
	return (uint8_t)(i * 31 + reqid * 7 + 1);
}

static uint8_t *
patbuf(uint32_t reqid, size_t len)
{
	uint8_t	*p;
	size_t	 i;

	p = malloc(len > 0 ? len : 1);
	cr_assert_not_null(p);
	for (i = 0; i < len; i++)
		p[i] = pat(reqid, i);
	return p;
}

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctx	*x = w->data;

	x->timedout = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
ctx_init(struct ctx *x)
{
	memset(x, 0, sizeof(*x));
	x->loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(x->loop);
	ev_timer_init(&x->guard, guard_cb, GUARD_SECS, 0.);
	x->guard.data = x;
	ev_timer_start(x->loop, &x->guard);
}

/* Run until a callback breaks; the guard timer turns a hang into a
 * failure. */
static void
ctx_run(struct ctx *x)
{
	ev_run(x->loop, 0);
	cr_assert_eq(x->timedout, 0, "guard timer fired: loop did not finish");
}

static void
ctx_done(struct ctx *x)
{
	ev_timer_stop(x->loop, &x->guard);
	ev_loop_destroy(x->loop);
}

static void
msg_cb(struct frame_conn *c, struct frame_in *in, void *arg)
{
	struct end	*e = arg;
	struct rec	*r;
	size_t		 i;
	int		 fl;

	cr_assert_eq(c, e->c);
	if (e->depth > 0)
		e->reentered++;
	e->depth++;
	if (e->nmsg < MAXREC) {
		r = &e->rec[e->nmsg];
		r->type = in->hdr.type;
		r->flags = in->hdr.flags;
		r->reqid = in->hdr.reqid;
		r->pid = in->hdr.pid;
		r->len = in->datalen;
		r->fd = -1;
		if (in->fd >= 0) {
			fl = fcntl(in->fd, F_GETFD);
			cr_assert_neq(fl, -1);
			r->cloexec = (fl & FD_CLOEXEC) != 0;
			if (e->take_fd) {
				r->fd = in->fd;
				in->fd = -1;
			}
		}
	}
	cr_assert_eq(in->datalen + FRAME_HDR_LEN, in->hdr.len);
	if (e->pattern) {
		for (i = 0; i < in->datalen; i++)
			if (in->data[i] != pat(in->hdr.reqid, i)) {
				e->bad++;
				break;
			}
	}
	e->nmsg++;
	if (e->hook != NULL)
		e->hook(e, in);
	e->depth--;
	if (e->want > 0 && e->nmsg == e->want)
		ev_break(e->ctx->loop, EVBREAK_ALL);
}

static void
close_cb(struct frame_conn *c, const char *why, void *arg)
{
	struct end	*e = arg;

	cr_assert_eq(c, e->c);
	cr_assert_not_null(why);
	e->nclose++;
	snprintf(e->why, sizeof(e->why), "%s", why);
	/* Still valid during the callback, but closed for output. */
	errno = 0;
	cr_assert_eq(frame_send(c, MSG_HELLO, 0, NULL, 0, -1), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(frame_flush(c, 10), -1);
	cr_assert_eq(errno, EPIPE);
	/* Harmless here: the layer frees the conn when we return. */
	frame_conn_close(c);
	e->c = NULL;
	if (e->brk_close)
		ev_break(e->ctx->loop, EVBREAK_ALL);
}

static void
end_init(struct end *e, struct ctx *x, enum role self)
{
	memset(e, 0, sizeof(*e));
	e->ctx = x;
	e->self = self;
}

static void
end_open(struct end *e, const struct edge_def *edge, int fd)
{
	struct frame_rules	 r;

	r.edge = edge;
	r.self = e->self;
	r.name = NULL;
	e->c = frame_conn_new(e->ctx->loop, fd, &r, msg_cb, close_cb, e);
	cr_assert_not_null(e->c, "frame_conn_new: %s", strerror(errno));
}

static void
end_close(struct end *e)
{
	if (e->c != NULL)
		frame_conn_close(e->c);
	e->c = NULL;
}

static void
mksock(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* Two frame ends of `edge`. */
static void
pair_open(struct end *a, struct end *b, const struct edge_def *edge)
{
	int	 sv[2];

	mksock(sv);
	end_open(a, edge, sv[0]);
	end_open(b, edge, sv[1]);
}

/* A frame end and a raw socket. */
static int
raw_open(struct end *e, const struct edge_def *edge)
{
	int	 sv[2];

	mksock(sv);
	end_open(e, edge, sv[0]);
	return sv[1];
}

static size_t
mkhdr(uint8_t *buf, uint32_t len, uint16_t type, uint16_t flags,
    uint32_t reqid)
{
	struct frame_hdr	 h;

	h.len = len;
	h.type = type;
	h.flags = flags;
	h.reqid = reqid;
	h.pid = 4242;
	memcpy(buf, &h, sizeof(h));
	return sizeof(h);
}

static void
raw_write(int s, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(s, b, n);
		cr_assert_gt(w, 0, "write: %s", strerror(errno));
		b += w;
		n -= (size_t)w;
	}
}

/* Bytes with `nfd` descriptors attached to the first one. */
static void
raw_sendfds(int s, const void *p, size_t n, const int *fds, int nfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(8 * sizeof(int))];
	}			 cb;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	ssize_t			 w;

	cr_assert_leq(nfd, 8);
	memset(&msg, 0, sizeof(msg));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = (void *)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfd > 0) {
		msg.msg_control = cb.buf;
		msg.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfd * sizeof(int));
	}
	w = sendmsg(s, &msg, MSG_NOSIGNAL);
	cr_assert_eq(w, (ssize_t)n, "sendmsg: %s", strerror(errno));
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

static void
mkpipe(int p[2])
{
	cr_assert_eq(pipe(p), 0);
}

/* The read end of a pipe whose every write end is closed reads EOF. */
static void
assert_pipe_eof(int rfd, const char *what)
{
	char	 c;
	ssize_t	 n;
	int	 fl;

	fl = fcntl(rfd, F_GETFL);
	cr_assert_neq(fl, -1);
	cr_assert_eq(fcntl(rfd, F_SETFL, fl | O_NONBLOCK), 0);
	n = read(rfd, &c, 1);
	cr_assert_eq(n, 0, "%s: write end still open somewhere (read %zd, %s)",
	    what, n, n == -1 ? strerror(errno) : "data");
}

static void
set_bufs(int fd, int size)
{
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
	    sizeof(size)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
	    sizeof(size)), 0);
}

static const struct edge_def *
fs_edge(void)
{
	const struct edge_def	*e = proto_peer_edge_find(ROLE_FRONT,
	    ROLE_SENDER);

	cr_assert_not_null(e);
	cr_assert(!proto_edge_may_pass_fd(e, ROLE_FRONT));
	cr_assert(!proto_edge_may_pass_fd(e, ROLE_SENDER));
	return e;
}

static const struct edge_def *
ctl_edge(void)
{
	const struct edge_def	*e = proto_control_edge(ROLE_FRONT);

	cr_assert_not_null(e);
	cr_assert(proto_edge_may_pass_fd(e, ROLE_MASTER));
	cr_assert(!proto_edge_may_pass_fd(e, ROLE_FRONT));
	return e;
}

/* ------------------------------------------------------------------ */

Test(frame, conn_new_sets_flags)
{
	struct ctx		 x;
	struct end		 a, b;
	struct frame_rules	 r;
	int			 sv[2], fl, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	fl = fcntl(frame_conn_fd(a.c), F_GETFL);
	cr_assert(fl != -1 && (fl & O_NONBLOCK));
	fl = fcntl(frame_conn_fd(a.c), F_GETFD);
	cr_assert(fl != -1 && (fl & FD_CLOEXEC));
	cr_assert_str_eq(frame_conn_name(a.c), "front<->sender");
	cr_assert_str_eq(frame_conn_name(b.c), "sender<->front");
	cr_assert_eq(frame_queued(a.c), 0);
	end_close(&a);
	end_close(&b);

	/* Bad arguments: NULL, and the descriptor is not leaked. */
	mksock(sv);
	r.edge = NULL;
	r.self = ROLE_FRONT;
	r.name = "x";
	errno = 0;
	cr_assert_null(frame_conn_new(x.loop, sv[0], &r, msg_cb, close_cb,
	    &a));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(fcntl(sv[0], F_GETFD), -1, "fd must be closed");
	r.edge = fs_edge();
	a.c = frame_conn_new(x.loop, sv[1], &r, msg_cb, close_cb, &a);
	cr_assert_not_null(a.c);
	cr_assert_str_eq(frame_conn_name(a.c), "x");
	end_close(&a);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/*
 * Front and scheduler: requests of 64 KiB at most one way, lists of 16
 * MiB the other.  A front (compromised, say) sending the scheduler a
 * frame over 64 KiB is refused at its header, and cannot make it buffer
 * 16 MiB.
 */
Test(frame, a_limit_per_direction)
{
	const struct edge_def	*e = proto_peer_edge_find(ROLE_FRONT,
				    ROLE_SCHEDULER);
	struct frame_rules	 r;
	struct frame_hdr	 h;
	struct frame_conn	*c;
	struct ev_loop		*loop;
	char			 why[256], *big;
	int			 sv[2];

	cr_assert_not_null(e);
	cr_assert_eq(proto_edge_maxpayload(e, ROLE_FRONT), 64 * 1024);
	cr_assert_eq(proto_edge_maxpayload(e, ROLE_SCHEDULER),
	    16 * 1024 * 1024);
	memset(&h, 0, sizeof(h));
	r.edge = e;
	r.name = "t";

	r.self = ROLE_SCHEDULER;	/* from the front */
	h.type = MSG_PLUGIN_REQ;
	h.len = FRAME_HDR_LEN + 64 * 1024;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0, "%s", why);
	h.len++;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert(strstr(why, "over the edge limit of 65536") != NULL, "%s",
	    why);

	r.self = ROLE_FRONT;		/* from the scheduler */
	h.type = MSG_PLUGIN_RESP;
	h.len = FRAME_HDR_LEN + 16 * 1024 * 1024;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0, "%s", why);
	h.len++;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);

	/* and the front cannot send one either */
	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	mksock(sv);
	cr_assert_not_null(c = frame_conn_new(loop, sv[0], &r, msg_cb,
	    NULL, NULL));
	cr_assert_not_null(big = calloc(1, 64 * 1024 + 1));
	cr_assert_eq(frame_send(c, MSG_PLUGIN_REQ, 1, big, 64 * 1024 + 1, -1),
	    -1);
	cr_assert_eq(errno, EMSGSIZE);
	free(big);
	frame_conn_close(c);
	close(sv[1]);
	ev_loop_destroy(loop);
}

Test(frame, hdr_check_reasons)
{
	char			 want[128];
	struct frame_rules	 r;
	struct frame_hdr	 h;
	char			 why[256];
	const struct edge_def	*fs = fs_edge();

	r.edge = fs;
	r.self = ROLE_SENDER;
	r.name = "t";
	memset(&h, 0, sizeof(h));
	h.len = FRAME_HDR_LEN + 10;
	h.type = MSG_POINTS;
	h.pid = 99999;		/* informative only */
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0);
	h.len = FRAME_HDR_LEN + fs->maxpayload;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0);
	cr_assert_eq(frame_hdr_check(&h, &r, NULL, 0), 0);

	h.len = 9;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "frame length 9 below header size 16");
	cr_assert_eq(frame_hdr_check(&h, &r, NULL, 0), -1);
	h.len = FRAME_HDR_LEN - 1;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "frame length 15 below header size 16");

	/* Without an edge's rules nothing passes. */
	h.len = FRAME_HDR_LEN + 10;
	cr_assert_eq(frame_hdr_check(&h, NULL, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "no rules for this edge");
	r.edge = NULL;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "no rules for this edge");
	r.edge = fs;

	h.len = FRAME_HDR_LEN + fs->maxpayload + 1;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "payload of %zu bytes over the edge "
	    "limit of %zu", fs->maxpayload + 1, fs->maxpayload);
	cr_assert(strstr(why, want) != NULL, "%s", why);

	h.len = 0xffffffffu;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert(strstr(why, "frame length 4294967295") != NULL, "%s", why);

	h.len = FRAME_HDR_LEN;
	h.flags = 0x8000;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert(strstr(why, "unknown frame flags 0x8000") != NULL, "%s", why);

	h.flags = FRAME_F_FD;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert(strstr(why, "descriptor flag on POINTS frame") != NULL,
	    "%s", why);

	h.flags = 0;
	h.type = MSG_POINTS_ACK;	/* sender -> front only */
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why,
	    "message type POINTS_ACK (14) not allowed from front");

	h.type = 999;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "unknown message type 999");

	h.type = MSG_NONE;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);

	/* The control edge passes descriptors: a flagged PEER is fine. */
	r.edge = ctl_edge();
	r.self = ROLE_FRONT;
	h.type = MSG_PEER;
	h.flags = FRAME_F_FD;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0);
	/* A worker's frame is not accepted from the master's side. */
	h.type = MSG_READY;
	h.flags = 0;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "message type READY (7) not allowed from master");
	/* Only the front may ask the master for status. */
	r.edge = proto_control_edge(ROLE_FETCHER);
	r.self = ROLE_MASTER;
	h.type = MSG_STATUS_REQ;
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), -1);
	cr_assert_str_eq(why,
	    "message type STATUS_REQ (11) not allowed from fetcher");
	r.edge = ctl_edge();
	cr_assert_eq(frame_hdr_check(&h, &r, why, sizeof(why)), 0);
}

/* Send frames of many sizes both ways; each must arrive whole and in
 * order. */
Test(frame, roundtrip_sizes)
{
	static const size_t	 sizes[] = {
		0, 1, 2, 3, 15, 16, 17, 100, 1000, 4095, 4096, 4097,
		16383, 16384, 16385, 65535, 65536, 65537, 200000,
		1024 * 1024 - 1, 1024 * 1024
	};
	const size_t		 nsz = sizeof(sizes) / sizeof(sizes[0]);
	struct ctx		 x;
	struct end		 a, b;
	uint8_t			*p;
	size_t			 i, total = 0;
	int			 before;

	before = count_fds();
	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	a.pattern = b.pattern = 1;
	pair_open(&a, &b, fs_edge());
	for (i = 0; i < nsz; i++) {
		p = patbuf((uint32_t)i, sizes[i]);
		cr_assert_eq(frame_send(a.c, MSG_POINTS, (uint32_t)i, p,
		    sizes[i], -1), 0, "send %zu: %s", sizes[i],
		    strerror(errno));
		cr_assert_eq(frame_send(b.c, MSG_POINTS_ACK, (uint32_t)i, p,
		    sizes[i], -1), 0);
		total += FRAME_HDR_LEN + sizes[i];
		free(p);
	}
	cr_assert_eq(frame_queued(a.c), total);
	b.want = (int)nsz;
	ctx_run(&x);
	if (a.nmsg < (int)nsz) {
		a.want = (int)nsz;
		ctx_run(&x);
	}
	cr_assert_eq(b.nmsg, (int)nsz);
	cr_assert_eq(a.nmsg, (int)nsz);
	cr_assert_eq(a.bad + b.bad, 0, "payload corrupted");
	for (i = 0; i < nsz; i++) {
		cr_assert_eq(b.rec[i].type, MSG_POINTS);
		cr_assert_eq(b.rec[i].reqid, i);
		cr_assert_eq(b.rec[i].len, sizes[i]);
		cr_assert_eq(b.rec[i].pid, (uint32_t)getpid());
		cr_assert_eq(b.rec[i].flags, 0);
		cr_assert_eq(a.rec[i].type, MSG_POINTS_ACK);
		cr_assert_eq(a.rec[i].reqid, i);
		cr_assert_eq(a.rec[i].len, sizes[i]);
	}
	cr_assert_eq(frame_queued(a.c), 0);
	cr_assert_eq(frame_queued(b.c), 0);
	cr_assert_eq(a.nclose + b.nclose, 0);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* frame_send2: a payload in two pieces arrives as one, in order. */
Test(frame, two_piece_payload_arrives_joined)
{
	static const size_t	 sizes[] = { 1, 17, 4096, 200000 };
	const size_t		 nsz = sizeof(sizes) / sizeof(sizes[0]);
	struct ctx		 x;
	struct end		 a, b;
	uint8_t			*p;
	size_t			 i, cut;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	a.pattern = b.pattern = 1;
	pair_open(&a, &b, fs_edge());
	for (i = 0; i < nsz; i++) {
		p = patbuf((uint32_t)i, sizes[i]);
		cut = i % 2 == 0 ? sizes[i] / 3 : 0;	/* an empty head too */
		cr_assert_eq(frame_send2(a.c, MSG_POINTS, (uint32_t)i, p, cut,
		    p + cut, sizes[i] - cut, -1), 0, "%s", strerror(errno));
		free(p);
	}
	cr_assert_eq(frame_send2(a.c, MSG_POINTS, 99, NULL, 0, NULL, 5, -1),
	    -1);
	cr_assert_eq(errno, EINVAL);
	b.want = (int)nsz;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, (int)nsz);
	cr_assert_eq(b.bad, 0, "payload corrupted");
	for (i = 0; i < nsz; i++)
		cr_assert_eq(b.rec[i].len, sizes[i]);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

/* A frame written a byte at a time arrives once, complete. */
Test(frame, partial_reads)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 buf[2 * (FRAME_HDR_LEN + 100)], *p;
	size_t		 n, i;
	int		 raw;

	ctx_init(&x);
	end_init(&e, &x, ROLE_SENDER);
	e.pattern = 1;
	raw = raw_open(&e, fs_edge());
	p = patbuf(7, 100);
	n = mkhdr(buf, FRAME_HDR_LEN + 100, MSG_POINTS, 0, 7);
	memcpy(buf + n, p, 100);
	n += 100;
	free(p);
	p = patbuf(8, 100);
	n += mkhdr(buf + n, FRAME_HDR_LEN + 100, MSG_HELLO, 0, 8);
	memcpy(buf + n, p, 100);
	n += 100;
	free(p);

	for (i = 0; i < n; i++) {
		raw_write(raw, buf + i, 1);
		/* One byte is readable: one loop pass reads it. */
		ev_run(x.loop, EVRUN_ONCE);
		cr_assert_eq(x.timedout, 0);
		if (i < FRAME_HDR_LEN + 100 - 1)
			cr_assert_eq(e.nmsg, 0, "delivered after %zu bytes",
			    i + 1);
		else if (i < n - 1)
			cr_assert_eq(e.nmsg, 1, "at byte %zu", i + 1);
	}
	cr_assert_eq(e.nmsg, 2);
	cr_assert_eq(e.bad, 0);
	cr_assert_eq(e.rec[0].reqid, 7);
	cr_assert_eq(e.rec[0].type, MSG_POINTS);
	cr_assert_eq(e.rec[0].pid, 4242, "pid is carried, not checked");
	cr_assert_eq(e.rec[1].reqid, 8);
	cr_assert_eq(e.rec[1].type, MSG_HELLO);
	cr_assert_eq(e.nclose, 0);
	end_close(&e);
	close(raw);
	ctx_done(&x);
}

/*
 * A frame larger than the buffer kept between frames (16 KiB), all of it
 * waiting in the socket: delivered in one wakeup, the buffer grown and
 * read again within it, not in a second turn of the loop after another
 * epoll_wait (what a process that sleeps between such frames pays as a
 * second wakeup: the master for the scheduler's counters).
 */
Test(frame, a_large_waiting_frame_in_one_wakeup)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		*buf, *p;
	const size_t	 plen = 40000;
	size_t		 n;
	int		 raw;

	ctx_init(&x);
	end_init(&e, &x, ROLE_SENDER);
	e.pattern = 1;
	raw = raw_open(&e, fs_edge());
	cr_assert_not_null(buf = malloc(FRAME_HDR_LEN + plen));
	p = patbuf(9, plen);
	n = mkhdr(buf, FRAME_HDR_LEN + plen, MSG_POINTS, 0, 9);
	memcpy(buf + n, p, plen);
	raw_write(raw, buf, n + plen);
	free(p);
	free(buf);
	ev_run(x.loop, EVRUN_NOWAIT);
	cr_assert_eq(e.nmsg, 1, "a waiting 40 KB frame took more than a turn");
	cr_assert_eq(e.rec[0].len, plen);
	cr_assert_eq(e.bad, 0);
	cr_assert_eq(e.nclose, 0);
	end_close(&e);
	close(raw);
	ctx_done(&x);
}

/* Big frames through tiny socket buffers: the queue absorbs partial
 * writes, everything arrives intact and in order. */
Test(frame, partial_writes)
{
	struct ctx	 x;
	struct end	 a, b;
	uint8_t		*p;
	size_t		 len[40], i;
	int		 sv[2];

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	b.pattern = 1;
	mksock(sv);
	set_bufs(sv[0], 4096);
	set_bufs(sv[1], 4096);
	end_open(&a, fs_edge(), sv[0]);
	end_open(&b, fs_edge(), sv[1]);
	for (i = 0; i < 40; i++) {
		len[i] = i % 4 == 0 ? 1024 * 1024 : (i * 7919) % 20000;
		p = patbuf((uint32_t)i, len[i]);
		cr_assert_eq(frame_send(a.c, MSG_POINTS, (uint32_t)i, p,
		    len[i], -1), 0);
		free(p);
	}
	b.want = 40;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, 40);
	cr_assert_eq(b.bad, 0);
	for (i = 0; i < 40; i++) {
		cr_assert_eq(b.rec[i].reqid, i);
		cr_assert_eq(b.rec[i].len, len[i]);
	}
	cr_assert_eq(frame_queued(a.c), 0);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

/* A pipe's write end crosses the edge and still works on the far side;
 * the sender's copy is closed once sent. */
Test(frame, fd_passing)
{
	struct ctx	 x;
	struct end	 m, w;
	int		 p[2], before;
	char		 buf[16];
	uint32_t	 role = ROLE_SENDER;

	before = count_fds();
	ctx_init(&x);
	end_init(&m, &x, ROLE_MASTER);
	end_init(&w, &x, ROLE_FRONT);
	w.take_fd = 1;
	pair_open(&m, &w, ctl_edge());
	mkpipe(p);
	cr_assert_eq(frame_send(m.c, MSG_PEER, 5, &role, sizeof(role), p[1]),
	    0);
	w.want = 1;
	ctx_run(&x);
	cr_assert_eq(w.nmsg, 1);
	cr_assert_eq(w.rec[0].type, MSG_PEER);
	cr_assert_eq(w.rec[0].flags, FRAME_F_FD);
	cr_assert_eq(w.rec[0].reqid, 5);
	cr_assert_geq(w.rec[0].fd, 0);
	cr_assert_eq(w.rec[0].cloexec, 1, "received fd lacks FD_CLOEXEC");
	cr_assert_eq(write(w.rec[0].fd, "hello", 5), 5);
	cr_assert_eq(close(w.rec[0].fd), 0);
	cr_assert_eq(read(p[0], buf, sizeof(buf)), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	assert_pipe_eof(p[0], "passed write end");
	close(p[0]);
	end_close(&m);
	end_close(&w);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* Several descriptor frames in a row, some between plain frames and
 * through small socket buffers: each descriptor reaches its own frame. */
Test(frame, fd_frames_in_a_row)
{
	struct ctx	 x;
	struct end	 m, w;
	int		 p[8][2], sv[2], i, j, before, n = 0;
	uint32_t	 idx;
	uint8_t		*big, c;

	before = count_fds();
	ctx_init(&x);
	end_init(&m, &x, ROLE_MASTER);
	end_init(&w, &x, ROLE_FRONT);
	w.take_fd = 1;
	mksock(sv);
	set_bufs(sv[0], 4096);
	set_bufs(sv[1], 4096);
	end_open(&m, ctl_edge(), sv[0]);
	end_open(&w, ctl_edge(), sv[1]);
	big = patbuf(1, 300000);
	for (i = 0; i < 8; i++) {
		mkpipe(p[i]);
		/* Frames 0..2 back to back; then plain frames between. */
		if (i >= 3) {
			cr_assert_eq(frame_send(m.c, MSG_CONF, 1, big,
			    i % 2 ? 300000 : 10, -1), 0);
			n++;
		}
		idx = (uint32_t)i;
		cr_assert_eq(frame_send(m.c, MSG_PEER, 100 + (uint32_t)i,
		    &idx, sizeof(idx), p[i][1]), 0);
		n++;
	}
	free(big);
	w.want = n;
	ctx_run(&x);
	cr_assert_eq(w.nmsg, n);
	for (i = 0, j = 0; i < n; i++) {
		if (w.rec[i].type != MSG_PEER) {
			cr_assert_eq(w.rec[i].fd, -1);
			continue;
		}
		cr_assert_eq(w.rec[i].reqid, 100 + (uint32_t)j);
		cr_assert_geq(w.rec[i].fd, 0);
		cr_assert_eq(w.rec[i].cloexec, 1);
		c = (uint8_t)('a' + j);
		cr_assert_eq(write(w.rec[i].fd, &c, 1), 1);
		cr_assert_eq(close(w.rec[i].fd), 0);
		j++;
	}
	cr_assert_eq(j, 8);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(read(p[i][0], &c, 1), 1);
		cr_assert_eq(c, 'a' + i, "descriptor %d went to another frame",
		    i);
		assert_pipe_eof(p[i][0], "passed write end");
		close(p[i][0]);
	}
	end_close(&m);
	end_close(&w);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* A descriptor the callback does not take is closed by the layer. */
Test(frame, fd_not_taken_is_closed)
{
	struct ctx	 x;
	struct end	 m, w;
	int		 p[2], before;

	before = count_fds();
	ctx_init(&x);
	end_init(&m, &x, ROLE_MASTER);
	end_init(&w, &x, ROLE_FRONT);
	pair_open(&m, &w, ctl_edge());
	mkpipe(p);
	cr_assert_eq(frame_send(m.c, MSG_LISTEN, 0, NULL, 0, p[1]), 0);
	w.want = 1;
	ctx_run(&x);
	cr_assert_eq(w.nmsg, 1);
	cr_assert_eq(w.rec[0].cloexec, 1);
	assert_pipe_eof(p[0], "untaken descriptor");
	close(p[0]);
	end_close(&m);
	end_close(&w);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* ------------------------------------------------------------------ */
/* Malformed input: the edge closes with a reason, the process and its
 * other edges carry on, no descriptor leaks. */

struct bad {
	const struct edge_def	*edge;
	enum role		 self;
	const uint8_t		*bytes;
	size_t			 len;
	int			 nfd;		/* pipe write ends to attach */
	int			 hangup;	/* close the raw end after */
	int			 nmsg;		/* frames delivered before */
	const char		*want;
};

static void
run_bad(const struct bad *t)
{
	struct ctx	 x;
	struct end	 e, h1, h2;
	int		 raw, fds[8], p[8][2], i, before;
	ssize_t		 n;
	char		 c;

	before = count_fds();
	ctx_init(&x);
	end_init(&e, &x, t->self);
	e.brk_close = 1;
	raw = raw_open(&e, t->edge);
	/* A healthy edge on the same loop. */
	end_init(&h1, &x, ROLE_FRONT);
	end_init(&h2, &x, ROLE_SENDER);
	pair_open(&h1, &h2, fs_edge());

	for (i = 0; i < t->nfd; i++) {
		mkpipe(p[i]);
		fds[i] = p[i][1];
	}
	raw_sendfds(raw, t->bytes, t->len, fds, t->nfd);
	/* Our copies: the receiver's must be closed by the frame layer. */
	for (i = 0; i < t->nfd; i++)
		close(p[i][1]);
	if (t->hangup) {
		close(raw);
		raw = -1;
	}
	ctx_run(&x);
	cr_assert_eq(e.nclose, 1, "no close callback");
	cr_assert_null(e.c);
	cr_assert(strstr(e.why, t->want) != NULL,
	    "reason \"%s\" lacks \"%s\"", e.why, t->want);
	cr_assert_eq(e.nmsg, t->nmsg, "frames delivered: %d", e.nmsg);
	for (i = 0; i < t->nfd; i++) {
		assert_pipe_eof(p[i][0], "descriptor kept by the receiver");
		close(p[i][0]);
	}
	if (raw != -1) {
		/* The receiver closed its end. */
		n = read(raw, &c, 1);
		cr_assert(n == 0 || (n == -1 && errno == ECONNRESET),
		    "raw end not closed: %zd", n);
		close(raw);
	}

	/* The other edge still works. */
	cr_assert_eq(frame_send(h1.c, MSG_POINTS, 1, "ok", 2, -1), 0);
	h2.want = 1;
	ctx_run(&x);
	cr_assert_eq(h2.nmsg, 1);
	cr_assert_eq(h1.nclose + h2.nclose, 0);
	end_close(&h1);
	end_close(&h2);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before, "descriptor leak");
}

Test(frame_bad, length_below_header)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, 9, MSG_HELLO, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "frame length 9 below header size 16";
	run_bad(&t);
}

Test(frame_bad, length_over_max)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	/* Only the header goes: the reject must not wait for a payload
	 * (the raw end stays open, so no EOF helps). */
	static char	 want[64];

	mkhdr(b, FRAME_HDR_LEN + fs_edge()->maxpayload + 1, MSG_POINTS, 0,
	    0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	snprintf(want, sizeof(want), "over the edge limit of %zu",
	    fs_edge()->maxpayload);
	t.want = want;
	run_bad(&t);
}

Test(frame_bad, length_huge_after_good_frame)
{
	uint8_t		 b[2 * FRAME_HDR_LEN + 3];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN + 3, MSG_POINTS, 0, 0);
	memcpy(b + FRAME_HDR_LEN, "abc", 3);
	mkhdr(b + FRAME_HDR_LEN + 3, 0xffffffffu, MSG_POINTS, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.nmsg = 1;
	t.want = "frame length 4294967295";
	run_bad(&t);
}

Test(frame_bad, unknown_flag)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_HELLO, 0x0100, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "unknown frame flags 0x0100";
	run_bad(&t);
}

Test(frame_bad, fd_flag_on_plain_edge)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_POINTS, FRAME_F_FD, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.nfd = 1;
	t.want = "descriptor received from front, which may pass none on "
	    "this edge";
	run_bad(&t);

	/* Flag without the descriptor: the header check says it. */
	t.nfd = 0;
	t.want = "descriptor flag on POINTS frame, but front may pass no "
	    "descriptors on this edge";
	run_bad(&t);
}

Test(frame_bad, fd_flag_without_descriptor)
{
	uint8_t		 b[FRAME_HDR_LEN + 4];
	struct bad	 t = { 0 };

	mkhdr(b, sizeof(b), MSG_PEER, FRAME_F_FD, 0);
	memset(b + FRAME_HDR_LEN, 0, 4);
	t.edge = ctl_edge();
	t.self = ROLE_FRONT;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "PEER frame flagged FD without a descriptor";
	run_bad(&t);
	/* Even with only the header in, and the peer still there. */
	t.len = FRAME_HDR_LEN;
	run_bad(&t);
}

Test(frame_bad, descriptor_on_plain_edge)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_HELLO, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.nfd = 1;
	t.want = "descriptor received from front, which may pass none on "
	    "this edge";
	run_bad(&t);
}

/* A TCP socket set to linger for a day: its last close() would sleep. */
static int
mklinger(void)
{
	struct linger	 l = { 1, 100000 };
	int		 s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_neq(s, -1, "socket: %s", strerror(errno));
	cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	return s;
}

static int
lingers(int s)
{
	struct linger	 l;
	socklen_t	 len = sizeof(l);

	memset(&l, 0, sizeof(l));
	cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len), 0);
	return l.l_onoff;
}

/*
 * Descriptors go down the control edge only: a worker sending one up is
 * refused before any frame is delivered, and the master closes what came
 * without lingering (the test keeps a copy: it can see SO_LINGER).
 */
Test(frame_bad, descriptor_from_worker_to_master)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 b[FRAME_HDR_LEN];
	int		 raw, s, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&e, &x, ROLE_MASTER);
	e.brk_close = 1;
	e.take_fd = 1;
	raw = raw_open(&e, ctl_edge());
	s = mklinger();
	mkhdr(b, FRAME_HDR_LEN, MSG_LOG, FRAME_F_FD, 1);
	raw_sendfds(raw, b, sizeof(b), &s, 1);
	/* Old code took the frame: then the end of the edge stops the run. */
	close(raw);
	ctx_run(&x);
	cr_assert_eq(e.nclose, 1);
	cr_assert(strstr(e.why, "descriptor received from front, which may "
	    "pass none") != NULL, "%s", e.why);
	cr_assert_eq(e.nmsg, 0, "a frame was delivered");
	cr_assert_eq(lingers(s), 0, "closed with SO_LINGER still on");
	close(s);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* The flag alone is refused by the header check, naming the sender. */
Test(frame_bad, fd_flag_from_worker_to_master)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_LOG, FRAME_F_FD, 0);
	t.edge = ctl_edge();
	t.self = ROLE_MASTER;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "descriptor flag on LOG frame, but front may pass no "
	    "descriptors on this edge";
	run_bad(&t);
}

/*
 * Descriptors still queued when the edge closes: the kernel would close
 * them in the receiver, lingering.  The frame layer takes them out first.
 */
Test(frame_bad, queued_descriptors_closed_without_lingering)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 b[FRAME_HDR_LEN];
	int		 raw, p[2], s, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&e, &x, ROLE_MASTER);
	e.brk_close = 1;
	e.take_fd = 1;
	raw = raw_open(&e, ctl_edge());
	mkpipe(p);
	s = mklinger();
	/* Two messages: the kernel hands over one's descriptors a read. */
	mkhdr(b, FRAME_HDR_LEN, MSG_LOG, FRAME_F_FD, 1);
	raw_sendfds(raw, b, sizeof(b), &p[1], 1);
	close(p[1]);
	mkhdr(b, FRAME_HDR_LEN, MSG_LOG, FRAME_F_FD, 2);
	raw_sendfds(raw, b, sizeof(b), &s, 1);
	close(raw);
	ctx_run(&x);
	cr_assert_eq(e.nclose, 1);
	cr_assert_eq(e.nmsg, 0, "a frame was delivered");
	assert_pipe_eof(p[0], "first descriptor");
	close(p[0]);
	cr_assert_eq(lingers(s), 0, "queued socket closed lingering");
	close(s);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* On an fdpass edge, a descriptor sent with an unflagged frame is found
 * out at the next frame, and never handed to it. */
Test(frame_bad, descriptor_without_flag)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 b[FRAME_HDR_LEN];
	int		 raw, p[2], fd, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&e, &x, ROLE_FRONT);
	e.brk_close = 1;
	e.take_fd = 1;
	raw = raw_open(&e, ctl_edge());
	mkpipe(p);
	fd = p[1];
	mkhdr(b, FRAME_HDR_LEN, MSG_SETUP_END, 0, 1);
	raw_sendfds(raw, b, sizeof(b), &fd, 1);
	close(p[1]);
	/* Next frame claims a descriptor: it must not get the stray one. */
	mkhdr(b, FRAME_HDR_LEN, MSG_LISTEN, FRAME_F_FD, 2);
	raw_write(raw, b, sizeof(b));
	ctx_run(&x);
	cr_assert_eq(e.nclose, 1);
	cr_assert(strstr(e.why, "descriptor sent with a frame not flagged FD")
	    != NULL, "%s", e.why);
	cr_assert_eq(e.nmsg, 1);
	cr_assert_eq(e.rec[0].fd, -1);
	assert_pipe_eof(p[0], "stray descriptor");
	close(p[0]);
	close(raw);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

Test(frame_bad, two_descriptors_in_one_message)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_PEER, FRAME_F_FD, 0);
	t.edge = ctl_edge();
	t.self = ROLE_FRONT;
	t.bytes = b;
	t.len = sizeof(b);
	t.nfd = 2;
	t.want = "2 descriptors in one message";
	run_bad(&t);
}

/*
 * The control buffer holds as many as one message can carry: none is left
 * for the kernel to close (it would, in the receiver, lingering), and all
 * are closed here (run_bad() checks each one).
 */
Test(frame_bad, many_descriptors_in_one_message)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_PEER, FRAME_F_FD, 0);
	t.edge = ctl_edge();
	t.self = ROLE_FRONT;
	t.bytes = b;
	t.len = sizeof(b);
	t.nfd = 8;
	t.want = "8 descriptors in one message";
	run_bad(&t);
}

/* Descriptors piling up with no frame to claim them. */
Test(frame_bad, too_many_unclaimed)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 b[FRAME_HDR_LEN];
	int		 raw, p[6][2], fd, i, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&e, &x, ROLE_FRONT);
	e.brk_close = 1;
	raw = raw_open(&e, ctl_edge());
	mkhdr(b, FRAME_HDR_LEN + 100, MSG_CONF, 0, 0);
	raw_write(raw, b, sizeof(b));
	for (i = 0; i < 6; i++) {
		mkpipe(p[i]);
		fd = p[i][1];
		raw_sendfds(raw, "x", 1, &fd, 1);
		close(p[i][1]);
	}
	ctx_run(&x);
	cr_assert_eq(e.nclose, 1);
	cr_assert(strstr(e.why, "unclaimed descriptors") != NULL, "%s",
	    e.why);
	for (i = 0; i < 6; i++) {
		assert_pipe_eof(p[i][0], "unclaimed descriptor");
		close(p[i][0]);
	}
	close(raw);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

Test(frame_bad, type_not_allowed_from_side)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	/* The sender's own answer type, arriving from the front. */
	mkhdr(b, FRAME_HDR_LEN, MSG_POINTS_ACK, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "message type POINTS_ACK (14) not allowed from front";
	run_bad(&t);

	/* A control message on a peer edge. */
	mkhdr(b, FRAME_HDR_LEN, MSG_SHUTDOWN, 0, 0);
	t.want = "message type SHUTDOWN (6) not allowed from front";
	run_bad(&t);

	/*
	 * A worker may not ask the master for status (the front for
	 * /me/status and /metrics, the collector for self metrics only).
	 */
	mkhdr(b, FRAME_HDR_LEN, MSG_STATUS_REQ, 0, 0);
	t.edge = proto_control_edge(ROLE_SENDER);
	t.self = ROLE_MASTER;
	t.want = "message type STATUS_REQ (11) not allowed from sender";
	run_bad(&t);
}

Test(frame_bad, unknown_type)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, 999, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.want = "unknown message type 999";
	run_bad(&t);
}

Test(frame_bad, eof_mid_header)
{
	uint8_t		 b[FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_HELLO, 0, 0);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = 5;
	t.hangup = 1;
	t.want = "EOF inside a frame header (5 of 16 bytes)";
	run_bad(&t);
}

Test(frame_bad, eof_mid_payload)
{
	uint8_t		 b[FRAME_HDR_LEN + 20];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN + 100, MSG_POINTS, 0, 0);
	memset(b + FRAME_HDR_LEN, 'x', 20);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.hangup = 1;
	t.want = "EOF inside a frame (36 of 116 bytes)";
	run_bad(&t);
}

Test(frame_bad, eof_mid_fd_frame)
{
	uint8_t		 b[FRAME_HDR_LEN + 2];
	struct bad	 t = { 0 };

	/* The descriptor came, its frame did not: it must not leak. */
	mkhdr(b, FRAME_HDR_LEN + 4, MSG_PEER, FRAME_F_FD, 0);
	t.edge = ctl_edge();
	t.self = ROLE_FRONT;
	t.bytes = b;
	t.len = sizeof(b);
	t.nfd = 1;
	t.hangup = 1;
	t.want = "EOF inside a frame (18 of 20 bytes)";
	run_bad(&t);
}

Test(frame_bad, eof_at_boundary)
{
	uint8_t		 b[2 * FRAME_HDR_LEN];
	struct bad	 t = { 0 };

	mkhdr(b, FRAME_HDR_LEN, MSG_HELLO, 0, 0);
	mkhdr(b + FRAME_HDR_LEN, FRAME_HDR_LEN, MSG_POINTS, 0, 1);
	t.edge = fs_edge();
	t.self = ROLE_SENDER;
	t.bytes = b;
	t.len = sizeof(b);
	t.hangup = 1;
	t.nmsg = 2;
	t.want = "closed by peer";
	run_bad(&t);
}

/* ------------------------------------------------------------------ */

Test(frame, send_errors)
{
	struct ctx	 x;
	struct end	 a, b, m, w;
	uint8_t		*big;
	int		 p[2], before;

	before = count_fds();
	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	end_init(&m, &x, ROLE_MASTER);
	end_init(&w, &x, ROLE_FRONT);
	pair_open(&m, &w, ctl_edge());

	/* EPERM: a type our side may not send. */
	errno = 0;
	cr_assert_eq(frame_send(a.c, MSG_POINTS_ACK, 0, NULL, 0, -1), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(frame_send(w.c, MSG_CONF, 0, NULL, 0, -1), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(frame_send(a.c, 999, 0, NULL, 0, -1), -1);
	cr_assert_eq(errno, EPERM);
	/* ... and a descriptor given along is closed. */
	mkpipe(p);
	cr_assert_eq(frame_send(m.c, MSG_READY, 0, NULL, 0, p[1]), -1);
	cr_assert_eq(errno, EPERM);
	assert_pipe_eof(p[0], "fd after EPERM");
	close(p[0]);

	/* EMSGSIZE: over the edge's payload limit. */
	big = calloc(1, fs_edge()->maxpayload + 1);
	cr_assert_not_null(big);
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, big,
	    fs_edge()->maxpayload + 1, -1), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, big, 1024 * 1024, -1), 0);
	mkpipe(p);
	cr_assert_eq(frame_send(m.c, MSG_CONF, 0, big, 1024 * 1024 + 1,
	    p[1]), -1);
	cr_assert_eq(errno, EMSGSIZE);
	assert_pipe_eof(p[0], "fd after EMSGSIZE");
	close(p[0]);
	free(big);
	/* The 64 KiB request edge. */
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, "", 0, -1), 0);

	/* EINVAL: a descriptor on an edge without fdpass. */
	mkpipe(p);
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, "x", 1, p[1]), -1);
	cr_assert_eq(errno, EINVAL);
	assert_pipe_eof(p[0], "fd after EINVAL");
	close(p[0]);
	/* EINVAL: a worker's descriptor up the control edge. */
	mkpipe(p);
	cr_assert_eq(frame_send(w.c, MSG_LOG, 0, "x", 1, p[1]), -1);
	cr_assert_eq(errno, EINVAL);
	assert_pipe_eof(p[0], "worker's fd after EINVAL");
	close(p[0]);
	/* EINVAL: data pointer missing. */
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, NULL, 3, -1), -1);
	cr_assert_eq(errno, EINVAL);

	cr_assert_eq(a.nclose + b.nclose + m.nclose + w.nclose, 0);
	end_close(&a);
	end_close(&b);
	end_close(&m);
	end_close(&w);
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

static void
hook_close_then_send(struct end *e, struct frame_in *in)
{
	int	 p[2];

	frame_conn_close(e->c);
	/* The conn is still valid until the callback returns, but shut. */
	errno = 0;
	cr_assert_eq(frame_send(e->c, MSG_POINTS_ACK, 0, NULL, 0, -1), -1);
	cr_assert_eq(errno, EPIPE);
	mkpipe(p);
	/* EPIPE wins over EINVAL; the descriptor is closed either way. */
	cr_assert_eq(frame_send(e->c, MSG_POINTS_ACK, 0, NULL, 0, p[1]), -1);
	cr_assert_eq(errno, EPIPE);
	assert_pipe_eof(p[0], "fd after EPIPE");
	close(p[0]);
	cr_assert_eq(frame_flush(e->c, 10), -1);
	cr_assert_eq(errno, EPIPE);
	frame_conn_close(e->c);		/* twice is harmless */
}

/* frame_conn_close() inside the message callback: no further frames, no
 * close callback, the peer sees the end. */
Test(frame, close_inside_msg_cb)
{
	struct ctx	 x;
	struct end	 a, b;
	int		 i, before;

	before = count_fds();
	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	b.hook = hook_close_then_send;
	for (i = 0; i < 5; i++)
		cr_assert_eq(frame_send(a.c, MSG_POINTS, (uint32_t)i, "abc", 3,
		    -1), 0);
	/* All five in the socket at once, so they are read together. */
	cr_assert_eq(frame_flush(a.c, 1000), 0);
	a.brk_close = 1;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, 1, "frames delivered after close");
	cr_assert_eq(b.nclose, 0, "close callback after frame_conn_close");
	cr_assert_eq(a.nclose, 1);
	cr_assert_str_eq(a.why, "closed by peer");
	ctx_done(&x);
	cr_assert_eq(count_fds(), before);
}

/* The peer goes away while we still have output queued: one close
 * callback, "closed by peer", and what it sent before is delivered. */
Test(frame, peer_gone_with_output_queued)
{
	struct ctx	 x;
	struct end	 a, b;
	uint8_t		*big;
	int		 sv[2], i;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	mksock(sv);
	set_bufs(sv[0], 4096);
	set_bufs(sv[1], 4096);
	end_open(&a, fs_edge(), sv[0]);
	end_open(&b, fs_edge(), sv[1]);
	big = patbuf(0, 1024 * 1024);
	for (i = 0; i < 4; i++)
		cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, big, 1024 * 1024,
		    -1), 0);
	free(big);
	/* b's last words, then b goes. */
	cr_assert_eq(frame_send(b.c, MSG_POINTS_ACK, 77, "bye", 3, -1), 0);
	cr_assert_eq(frame_flush(b.c, 1000), 0);
	end_close(&b);
	a.brk_close = 1;
	ctx_run(&x);
	cr_assert_eq(a.nmsg, 1);
	cr_assert_eq(a.rec[0].reqid, 77);
	cr_assert_eq(a.nclose, 1);
	cr_assert_str_eq(a.why, "closed by peer");
	ctx_done(&x);
}

static void
hook_nested_run(struct end *e, struct frame_in *in)
{
	struct end	*peer = e->hookarg;

	if (in->hdr.reqid != 0)
		return;
	/* More input arrives while we run a nested loop: it must wait
	 * until this callback has returned. */
	cr_assert_eq(frame_send(peer->c, MSG_POINTS, 1, "b", 1, -1), 0);
	cr_assert_eq(frame_flush(peer->c, 1000), 0);
	ev_run(e->ctx->loop, EVRUN_NOWAIT);
	ev_run(e->ctx->loop, EVRUN_NOWAIT);
	cr_assert_eq(e->nmsg, 1);
}

Test(frame, no_reentry_from_nested_loop)
{
	struct ctx	 x;
	struct end	 a, b;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	b.hook = hook_nested_run;
	b.hookarg = &a;
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, "a", 1, -1), 0);
	b.want = 2;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, 2);
	cr_assert_eq(b.reentered, 0, "message callback re-entered");
	cr_assert_eq(b.rec[1].reqid, 1);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

/* Closing from our side: no callback here, "closed by peer" there. */
Test(frame, close_from_outside)
{
	struct ctx	 x;
	struct end	 a, b;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, "a", 1, -1), 0);
	end_close(&a);		/* queued frame discarded: "close now" */
	b.brk_close = 1;
	ctx_run(&x);
	cr_assert_eq(a.nclose, 0);
	cr_assert_eq(b.nclose, 1);
	cr_assert_eq(b.nmsg, 0);
	cr_assert_str_eq(b.why, "closed by peer");
	ctx_done(&x);
}

/* The output queue refuses past FRAME_OUTQ_MAX, then drains. */
Test(frame, queue_bound)
{
	struct ctx	 x;
	struct end	 a, b;
	uint8_t		*big;
	size_t		 sz = 1024 * 1024;
	int		 n = 0, p[2];

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	b.pattern = 1;
	pair_open(&a, &b, fs_edge());
	big = patbuf(3, sz);
	while (frame_send(a.c, MSG_POINTS, 3, big, sz, -1) == 0) {
		n++;
		cr_assert_leq(frame_queued(a.c), FRAME_OUTQ_MAX);
		cr_assert_lt(n, 1000);
	}
	cr_assert_eq(errno, ENOBUFS);
	cr_assert_eq(n, (int)(FRAME_OUTQ_MAX / (FRAME_HDR_LEN + sz)));
	cr_assert_eq(frame_queued(a.c), (size_t)n * (FRAME_HDR_LEN + sz));
	/* What still fits is accepted. */
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 3, big, 1000, -1), 0);
	n++;
	free(big);
	b.want = n;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, n);
	cr_assert_eq(b.bad, 0);
	cr_assert_eq(frame_queued(a.c), 0);
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 3, "x", 1, -1), 0);
	end_close(&a);
	end_close(&b);

	/* ENOBUFS closes a descriptor given along (control edge). */
	end_init(&a, &x, ROLE_MASTER);
	end_init(&b, &x, ROLE_FRONT);
	pair_open(&a, &b, ctl_edge());
	big = calloc(1, sz);
	cr_assert_not_null(big);
	while (frame_send(a.c, MSG_CONF, 0, big, sz, -1) == 0)
		;
	cr_assert_eq(errno, ENOBUFS);
	mkpipe(p);
	cr_assert_eq(frame_send(a.c, MSG_PEER, 0, big, sz, p[1]), -1);
	cr_assert_eq(errno, ENOBUFS);
	assert_pipe_eof(p[0], "fd after ENOBUFS");
	close(p[0]);
	free(big);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

Test(frame, flush)
{
	struct ctx	 x;
	struct end	 a, b;
	uint8_t		*big;
	int		 sv[2];

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	b.pattern = 1;
	mksock(sv);
	set_bufs(sv[0], 4096);
	set_bufs(sv[1], 4096);
	end_open(&a, fs_edge(), sv[0]);
	end_open(&b, fs_edge(), sv[1]);

	/* Nothing queued: done at once. */
	cr_assert_eq(frame_flush(a.c, 0), 0);
	/* Small frames fit in the socket. */
	big = patbuf(1, 2);
	cr_assert_eq(frame_send(a.c, MSG_HELLO, 1, big, 2, -1), 0);
	free(big);
	cr_assert_eq(frame_flush(a.c, 1000), 0);
	cr_assert_eq(frame_queued(a.c), 0);
	/* Nobody reads: a big frame cannot go out in time. */
	big = patbuf(2, 512 * 1024);
	cr_assert_eq(frame_send(a.c, MSG_POINTS, 2, big, 512 * 1024, -1), 0);
	free(big);
	errno = 0;
	cr_assert_eq(frame_flush(a.c, 30), -1);
	cr_assert_eq(errno, ETIMEDOUT);
	cr_assert_gt(frame_queued(a.c), 0);
	cr_assert_lt(frame_queued(a.c), FRAME_HDR_LEN + 512 * 1024,
	    "partial progress expected");
	/* The loop finishes the job; the frame arrives whole. */
	b.want = 2;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, 2);
	cr_assert_eq(b.bad, 0);
	cr_assert_eq(b.rec[1].len, 512 * 1024);
	cr_assert_eq(frame_queued(a.c), 0);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

/* The close callback comes once, even when both directions fail. */
Test(frame, close_callback_once)
{
	struct ctx	 x;
	struct end	 a, b;
	int		 i;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	for (i = 0; i < 3; i++)
		cr_assert_eq(frame_send(a.c, MSG_POINTS, 0, "x", 1, -1), 0);
	/* b dies with unread input and pending output. */
	cr_assert_eq(frame_send(b.c, MSG_HELLO, 0, NULL, 0, -1), 0);
	cr_assert_eq(shutdown(frame_conn_fd(b.c), SHUT_RDWR), 0);
	b.brk_close = 1;
	ctx_run(&x);
	cr_assert_eq(b.nclose, 1);
	cr_assert_null(b.c);
	/* a notices too, once. */
	if (a.nclose == 0) {
		a.brk_close = 1;
		ctx_run(&x);
	}
	cr_assert_eq(a.nclose, 1);
	/* A further loop pass must not call anything again. */
	ev_run(x.loop, EVRUN_NOWAIT);
	cr_assert_eq(a.nclose, 1);
	cr_assert_eq(b.nclose, 1);
	ctx_done(&x);
}

/* A codec payload crosses an edge unchanged. */
Test(frame, codec_payload)
{
	struct ctx	 x;
	struct end	 a, b;
	struct pbuf	 pb;

	ctx_init(&x);
	end_init(&a, &x, ROLE_FRONT);
	end_init(&b, &x, ROLE_SENDER);
	pair_open(&a, &b, fs_edge());
	codec_put_init(&pb);
	codec_put_u32(&pb, ROLE_FRONT);
	codec_put_u64(&pb, 12);
	cr_assert_eq(codec_put_failed(&pb), 0);
	cr_assert_eq(frame_send(a.c, MSG_HELLO, 9, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
	b.want = 1;
	ctx_run(&x);
	cr_assert_eq(b.nmsg, 1);
	cr_assert_eq(b.rec[0].type, MSG_HELLO);
	cr_assert_eq(b.rec[0].len, 5 + 9);
	end_close(&a);
	end_close(&b);
	ctx_done(&x);
}

/* A dead peer's last frames are delivered by frame_drain, then the EOF. */
Test(frame, drain_delivers_last_frames_then_close)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 buf[64];
	size_t		 n;
	int		 raw, i;

	ctx_init(&x);
	end_init(&e, &x, ROLE_MASTER);
	raw = raw_open(&e, proto_control_edge(ROLE_SENDER));
	for (i = 0; i < 3; i++) {
		n = mkhdr(buf, FRAME_HDR_LEN + 4, MSG_LOG, 0, (uint32_t)i);
		memcpy(buf + n, "abcd", 4);
		raw_write(raw, buf, n + 4);
	}
	close(raw);
	/* no ev_run: the frames are read synchronously */
	cr_assert_eq(frame_drain(e.c), -1);
	cr_assert_eq(e.nmsg, 3);
	cr_assert_eq(e.rec[2].reqid, 2);
	cr_assert_eq(e.nclose, 1);
	cr_assert_str_eq(e.why, "closed by peer");
	ctx_done(&x);
}

/* A live peer: what is there is read, the edge stays open. */
Test(frame, drain_on_live_edge_keeps_it_open)
{
	struct ctx	 x;
	struct end	 e;
	uint8_t		 buf[64];
	size_t		 n;
	int		 raw;

	ctx_init(&x);
	end_init(&e, &x, ROLE_MASTER);
	raw = raw_open(&e, proto_control_edge(ROLE_SENDER));
	cr_assert_eq(frame_drain(e.c), 0);
	cr_assert_eq(e.nmsg, 0);
	n = mkhdr(buf, FRAME_HDR_LEN, MSG_READY, 0, 9);
	raw_write(raw, buf, n);
	cr_assert_eq(frame_drain(e.c), 0);
	cr_assert_eq(e.nmsg, 1);
	cr_assert_eq(e.nclose, 0);
	end_close(&e);
	close(raw);
	ctx_done(&x);
}

/* ------------------------------------------------------------------ */
/*
 * When a frame leaves: before the loop blocks again, in the same turn,
 * whatever sent it, a prepare callback included (a worker's counters
 * and the sender's held answers go from there).  Bytes waiting on the
 * raw end right after one non-blocking turn prove it; a frame left for
 * a later turn would hang an idle worker's message until some other
 * event woke it.
 */
struct sendctx {
	struct end	*e;
	int		 sent;
};

static void
send_from_prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct sendctx	*s = p->data;

	ev_prepare_stop(loop, p);
	cr_assert_eq(frame_send(s->e->c, MSG_HELLO, 9, "hi", 2, -1), 0);
	s->sent++;
}

static ssize_t
raw_pending(int raw, uint8_t *buf, size_t len)
{
	ssize_t	 n;

	n = recv(raw, buf, len, MSG_DONTWAIT);
	return n == -1 && errno == EAGAIN ? 0 : n;
}

Test(frame, a_frame_leaves_in_the_turn_it_was_sent)
{
	struct ctx	 x;
	struct end	 e;
	struct sendctx	 s = { &e, 0 };
	ev_prepare	 p;
	uint8_t		 buf[256];
	int		 raw;

	ctx_init(&x);
	end_init(&e, &x, ROLE_SENDER);
	raw = raw_open(&e, fs_edge());

	/* sent outside the loop: the next turn's prepare phase sends it */
	cr_assert_eq(frame_send(e.c, MSG_HELLO, 1, "a", 1, -1), 0);
	cr_assert_eq(raw_pending(raw, buf, sizeof(buf)), 0);
	ev_run(x.loop, EVRUN_NOWAIT);
	cr_assert_eq(raw_pending(raw, buf, sizeof(buf)), FRAME_HDR_LEN + 1);

	/* sent from a prepare callback: still this turn */
	ev_prepare_init(&p, send_from_prepare_cb);
	p.data = &s;
	ev_prepare_start(x.loop, &p);
	ev_run(x.loop, EVRUN_NOWAIT);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(raw_pending(raw, buf, sizeof(buf)), FRAME_HDR_LEN + 2);

	/* two frames of one turn: one after the other, both there */
	cr_assert_eq(frame_send(e.c, MSG_HELLO, 2, "bb", 2, -1), 0);
	cr_assert_eq(frame_send(e.c, MSG_HELLO, 3, "ccc", 3, -1), 0);
	ev_run(x.loop, EVRUN_NOWAIT);
	cr_assert_eq(raw_pending(raw, buf, sizeof(buf)),
	    2 * FRAME_HDR_LEN + 5);
	cr_assert_eq(frame_queued(e.c), 0);

	end_close(&e);
	close(raw);
	ctx_done(&x);
}
