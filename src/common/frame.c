/*
 * Framed messages over one end of a Unix-domain stream socket, driven by
 * libev.  frame.h has the contract; DESIGN.md section 2 "Framing" and
 * reference/privsep-anchors.md section 3 the reasons.
 *
 * Write side: frames wait in a queue that absorbs partial writes.  Runs
 * of plain frames go out gathered in one sendmsg; a frame with a
 * descriptor goes alone, the SCM_RIGHTS riding on its first byte, so the
 * receiver can tell which frame a descriptor belongs to.
 *
 * Read side: bytes land in a buffer of at most header + maxpayload; each
 * header is checked as soon as its 16 bytes are in, before the buffer
 * grows for its payload.  Descriptors wait in a small FIFO and are
 * claimed, oldest first, by frames flagged FRAME_F_FD.
 *
 * Nothing here logs protocol trouble: the close callback gets the reason
 * and its owner decides what to say.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "frame.h"
#include "log.h"

_Static_assert(sizeof(struct frame_hdr) == FRAME_HDR_LEN,
    "struct frame_hdr must be the wire header, without padding");

#define FRAME_RBUF_MIN	(16 * 1024)	/* read buffer kept between frames */
#define FRAME_RBUF_HOLD	2.0		/* s a grown one outlives its frames */
#define FRAME_FDQ_MAX	4		/* received, not yet claimed */
#define FRAME_IOV_MAX	64		/* frames gathered in one sendmsg */
#define FRAME_WHY_MAX	256
#define FRAME_READS_PER_CB 4		/* reads a wakeup, while they fill */
/*
 * Room for every descriptor one message can carry (Linux's SCM_MAX_FD):
 * the kernel closes those that do not fit itself, in this process, before
 * we could make sure that close does not block (fd_close_untrusted()).
 */
#define FRAME_CMSG_FDS	253
#define FRAME_PURGE_READS 4096		/* backstop of conn_purge_fds() */

struct frame_out {
	TAILQ_ENTRY(frame_out)	 entry;
	size_t			 len;		/* header + payload */
	size_t			 off;		/* bytes already sent */
	int			 fd;		/* -1, or to pass with byte 0 */
	uint8_t			 buf[];
};
TAILQ_HEAD(frame_outq, frame_out);

struct frame_rfd {
	int			 fd;
	uint64_t		 end;		/* stream offset just past the
						 * bytes of its recvmsg */
};

struct frame_conn {
	struct ev_loop		*loop;
	ev_io			 rio;
	ev_io			 wio;
	ev_prepare		 wprep;		/* frames to send this turn */
	int			 fd;
	struct frame_rules	 rules;		/* rules.name -> name[] */
	char			 name[64];
	frame_msg_cb		 msgcb;
	frame_close_cb		 closecb;
	void			*arg;
	uint32_t		 pid;		/* ours, for every header */

	struct frame_outq	 outq;
	size_t			 queued;	/* bytes not yet sent */

	uint8_t			*rbuf;
	size_t			 rlen;
	size_t			 rcap;
	size_t			 rmax;		/* header + edge maxpayload */
	uint64_t		 rbase;		/* stream offset of rbuf[0] */
	ev_tstamp		 rbig;		/* last frame over RBUF_MIN */

	struct frame_rfd	 rfds[FRAME_FDQ_MAX];
	int			 nrfds;

	int			 closed;	/* no more I/O; freed soon */
	int			 notify;	/* close callback still owed */
	int			 wdown;		/* peer reads no more */
	int			 dispatching;	/* inside the message callback */
	int			 in_closecb;
	char			 why[FRAME_WHY_MAX];
};

static void	 conn_read_cb(struct ev_loop *, ev_io *, int);
static void	 conn_write_cb(struct ev_loop *, ev_io *, int);
static void	 conn_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	 conn_stop_io(struct frame_conn *);
static int	 conn_write(struct frame_conn *);
static void	 conn_drain(struct frame_conn *, size_t);
static void	 conn_write_down(struct frame_conn *);
static int	 conn_take_fds(struct frame_conn *, struct msghdr *, size_t);
static int	 conn_process(struct frame_conn *);
static int	 conn_resize(struct frame_conn *);
static void	 conn_eof(struct frame_conn *);
static void	 conn_fail(struct frame_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 conn_finish(struct frame_conn *);
static void	 conn_free(struct frame_conn *);
static void	 conn_purge_fds(struct frame_conn *);
static int	 conn_peer_may_pass_fd(const struct frame_conn *);
static void	 fd_close(int, const char *);
static void	 fd_close_untrusted(int, const char *);

/* Keep errno: callers report the error that made them close. */
static void
fd_close(int fd, const char *what)
{
	int	 saved = errno;

	if (fd >= 0 && close(fd) == -1)
		log_debug("%s: close %s %d: %s", __func__, what, fd,
		    strerror(errno));
	errno = saved;
}

/*
 * Close a descriptor the peer had no right to send.  A socket it set to
 * linger, with unsent data queued, would hold close() until the linger
 * time ran out (the peer picks it: days): lingering off first, so that
 * close() returns at once whatever the peer set up.
 */
static void
fd_close_untrusted(int fd, const char *what)
{
	struct linger	 l = { 0, 0 };
	int		 saved = errno;

	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)) == -1 && errno != ENOTSOCK)
		log_debug("%s: SO_LINGER off on %s %d: %s", __func__, what,
		    fd, strerror(errno));
	errno = saved;
	fd_close(fd, what);
}

/* Non-zero when the other side may hand us descriptors. */
static int
conn_peer_may_pass_fd(const struct frame_conn *c)
{
	return proto_edge_may_pass_fd(c->rules.edge,
	    proto_edge_other(c->rules.edge, c->rules.self));
}

struct frame_conn *
frame_conn_new(struct ev_loop *loop, int fd, const struct frame_rules *r,
    frame_msg_cb msgcb, frame_close_cb closecb, void *arg)
{
	struct frame_conn	*c = NULL;
	size_t			 in;
	int			 fl;

	if (loop == NULL || fd < 0 || r == NULL || r->edge == NULL ||
	    msgcb == NULL) {
		errno = EINVAL;
		goto fail;
	}
	/* Never block the loop on a slow peer. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		goto fail;
	/* The edge belongs to this process alone, not to what it execs. */
	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		goto fail;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;

	c->loop = loop;
	/* edges are not shared across fork: a child that forks execs */
	c->pid = (uint32_t)getpid();
	c->fd = fd;
	c->rules = *r;
	if (r->name != NULL)
		(void)strlcpy(c->name, r->name, sizeof(c->name));
	else
		(void)snprintf(c->name, sizeof(c->name), "%s<->%s",
		    proto_role_name(r->self),
		    proto_role_name(proto_edge_other(r->edge, r->self)));
	c->rules.name = c->name;
	c->msgcb = msgcb;
	c->closecb = closecb;
	c->arg = arg;
	TAILQ_INIT(&c->outq);

	/* The frame length is a u32: no edge can promise more than that. */
	in = proto_edge_maxpayload(r->edge, proto_edge_other(r->edge,
	    r->self));
	if (in > UINT32_MAX - FRAME_HDR_LEN)
		c->rmax = UINT32_MAX;
	else
		c->rmax = FRAME_HDR_LEN + in;
	c->rcap = c->rmax < FRAME_RBUF_MIN ? c->rmax : FRAME_RBUF_MIN;
	if ((c->rbuf = malloc(c->rcap)) == NULL)
		goto fail;

	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	c->rio.data = c;
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->wio.data = c;
	ev_prepare_init(&c->wprep, conn_prepare_cb);
	ev_set_priority(&c->wprep, EV_MINPRI);
	c->wprep.data = c;
	ev_io_start(loop, &c->rio);
	return c;

fail:
	fl = errno;
	if (c != NULL)
		free(c->rbuf);
	free(c);
	fd_close(fd, "edge");
	errno = fl;
	return NULL;
}

int
frame_send(struct frame_conn *c, uint16_t type, uint32_t reqid,
    const void *data, size_t len, int fd)
{
	return frame_send2(c, type, reqid, data, len, NULL, 0, fd);
}

int
frame_send2(struct frame_conn *c, uint16_t type, uint32_t reqid,
    const void *head, size_t headlen, const void *body, size_t bodylen,
    int fd)
{
	struct frame_out	*fo;
	struct frame_hdr	 h;
	size_t			 len = headlen + bodylen;
	int			 err;

	if (c == NULL || (headlen > 0 && head == NULL) ||
	    (bodylen > 0 && body == NULL) || len < headlen) {
		err = EINVAL;
		goto fail;
	}
	if (c->closed || c->wdown) {
		err = EPIPE;
		goto fail;
	}
	if (!proto_edge_may_send(c->rules.edge, c->rules.self, type)) {
		err = EPERM;
		goto fail;
	}
	if (len > proto_edge_maxpayload(c->rules.edge, c->rules.self) ||
	    len > UINT32_MAX - FRAME_HDR_LEN) {
		err = EMSGSIZE;
		goto fail;
	}
	if (fd >= 0 && !proto_edge_may_pass_fd(c->rules.edge, c->rules.self)) {
		err = EINVAL;
		goto fail;
	}
	if (c->queued > FRAME_OUTQ_MAX ||
	    FRAME_HDR_LEN + len > FRAME_OUTQ_MAX - c->queued) {
		err = ENOBUFS;
		goto fail;
	}
	if ((fo = malloc(sizeof(*fo) + FRAME_HDR_LEN + len)) == NULL) {
		err = ENOMEM;
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	h.len = (uint32_t)(FRAME_HDR_LEN + len);
	h.type = type;
	h.flags = fd >= 0 ? FRAME_F_FD : 0;
	h.reqid = reqid;
	h.pid = c->pid;
	memcpy(fo->buf, &h, sizeof(h));
	if (headlen > 0)
		memcpy(fo->buf + FRAME_HDR_LEN, head, headlen);
	if (bodylen > 0)
		memcpy(fo->buf + FRAME_HDR_LEN + headlen, body, bodylen);
	fo->len = FRAME_HDR_LEN + len;
	fo->off = 0;
	fo->fd = fd >= 0 ? fd : -1;
	TAILQ_INSERT_TAIL(&c->outq, fo, entry);
	c->queued += fo->len;
	/*
	 * Sent before the loop blocks again, after every other callback of
	 * this turn (the lowest priority: frames of a turn go together, in
	 * one sendmsg); the write watcher only once the socket is full.
	 * Waiting for writability first cost two epoll_ctl and a turn of
	 * the loop per message (bench/README.md, "bench/plugins").
	 */
	if (!ev_is_active(&c->wio)) {
		/* outside a turn: the next turn's prepare phase sends */
		ev_prepare_start(c->loop, &c->wprep);
		/* inside one, even inside a prepare callback: this turn */
		if (!ev_is_pending(&c->wprep))
			ev_feed_event(c->loop, &c->wprep, EV_PREPARE);
	}
	return 0;

fail:
	/* The caller gave the descriptor away whatever the outcome. */
	if (fd >= 0)
		fd_close(fd, "unsent descriptor");
	errno = err;
	return -1;
}

/*
 * Send what the socket takes.  Returns 0 when the queue is empty, 1 when
 * the socket is full, -1 on error (errno set).
 */
static int
conn_write(struct frame_conn *c)
{
	struct iovec		 iov[FRAME_IOV_MAX];
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct frame_out	*fo;
	ssize_t			 n;
	int			 niov, passfd;

	while ((fo = TAILQ_FIRST(&c->outq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		niov = 0;
		passfd = fo->fd;
		if (passfd != -1) {
			/* One descriptor per sendmsg, on the frame's first
			 * byte (off is 0: the fd goes with the first part). */
			iov[0].iov_base = fo->buf + fo->off;
			iov[0].iov_len = fo->len - fo->off;
			niov = 1;
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
		} else {
			for (; fo != NULL && fo->fd == -1 &&
			    niov < FRAME_IOV_MAX;
			    fo = TAILQ_NEXT(fo, entry)) {
				iov[niov].iov_base = fo->buf + fo->off;
				iov[niov].iov_len = fo->len - fo->off;
				niov++;
			}
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = niov;

		/* MSG_NOSIGNAL: a dead peer is an error to handle, not a
		 * signal that kills the process. */
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return 1;
			return -1;
		}
		if (passfd != -1) {
			/* The kernel holds its own reference from here; ours
			 * would keep e.g. a pipe open behind its reader. */
			TAILQ_FIRST(&c->outq)->fd = -1;
			fd_close(passfd, "passed descriptor");
		}
		conn_drain(c, (size_t)n);
	}
	return 0;
}

/* Drop what was written: whole frames, then a prefix of the next one. */
static void
conn_drain(struct frame_conn *c, size_t n)
{
	struct frame_out	*fo;
	size_t			 left;

	while (n > 0 && (fo = TAILQ_FIRST(&c->outq)) != NULL) {
		left = fo->len - fo->off;
		if (n < left) {
			fo->off += n;
			c->queued -= n;
			return;
		}
		n -= left;
		c->queued -= left;
		TAILQ_REMOVE(&c->outq, fo, entry);
		fd_close(fo->fd, "queued descriptor");
		free(fo);
	}
}

/*
 * The peer stopped reading (EPIPE): nothing queued can arrive any more.
 * Do not close yet: frames it sent before going may still wait in our
 * receive buffer, and the read side reports the end once they are read.
 */
static void
conn_write_down(struct frame_conn *c)
{
	struct frame_out	*fo;

	c->wdown = 1;
	ev_io_stop(c->loop, &c->wio);
	ev_prepare_stop(c->loop, &c->wprep);
	while ((fo = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, fo, entry);
		fd_close(fo->fd, "queued descriptor");
		free(fo);
	}
	c->queued = 0;
}

/* Send what is queued; the write watcher on only while it cannot go. */
static void
conn_write_now(struct frame_conn *c)
{
	int	 r;

	if (c->closed || c->wdown)
		return;
	if ((r = conn_write(c)) == 0) {
		ev_io_stop(c->loop, &c->wio);
		ev_prepare_stop(c->loop, &c->wprep);
		return;
	}
	if (r == 1) {
		ev_io_start(c->loop, &c->wio);
		return;
	}
	if (errno == EPIPE || errno == ECONNRESET) {
		conn_write_down(c);
		return;
	}
	conn_fail(c, "sendmsg: %s", strerror(errno));
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_write_now(w->data);
}

static void
conn_prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	ev_prepare_stop(loop, p);
	conn_write_now(p->data);
}

/*
 * Blocking flush for the few places that need the bytes out now: before
 * exit, and after passing descriptors at setup (so that they are closed
 * here and do not pile up).  A negative timeout waits without limit.
 */
int
frame_flush(struct frame_conn *c, int timeout_ms)
{
	struct timespec	 t0, t1;
	struct pollfd	 pfd;
	long long	 elapsed;
	int		 left, r;

	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (c->closed || c->wdown) {
		errno = EPIPE;
		return -1;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		return -1;
	for (;;) {
		if ((r = conn_write(c)) == 0) {
			ev_io_stop(c->loop, &c->wio);
			ev_prepare_stop(c->loop, &c->wprep);
			return 0;
		}
		/* On error the write watcher stays on: the loop meets the
		 * same error and closes the edge through the usual path. */
		if (r == -1)
			return -1;

		left = -1;
		if (timeout_ms >= 0) {
			if (clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
				return -1;
			elapsed = (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (elapsed >= timeout_ms) {
				errno = ETIMEDOUT;
				return -1;
			}
			left = (int)(timeout_ms - elapsed);
		}
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, left)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* POLLHUP/POLLERR: the next sendmsg says what happened. */
	}
}

size_t
frame_queued(const struct frame_conn *c)
{
	return c->queued;
}

int
frame_conn_fd(const struct frame_conn *c)
{
	return c->fd;
}

const char *
frame_conn_name(const struct frame_conn *c)
{
	return c->name;
}

/* Reads per drain: a dead peer's socket buffer holds a few hundred KiB. */
#define FRAME_DRAIN_READS	1024

int
frame_drain(struct frame_conn *c)
{
	uint64_t	 base;
	size_t		 len;
	int		 i;

	if (c->closed)
		return -1;
	/* held open across closes inside, so we can tell what happened */
	c->dispatching++;
	for (i = 0; i < FRAME_DRAIN_READS && !c->closed; i++) {
		base = c->rbase;
		len = c->rlen;
		conn_read_cb(c->loop, &c->rio, EV_READ);
		if (!c->closed && c->rbase == base && c->rlen == len)
			break;		/* nothing more to read now */
	}
	c->dispatching--;
	if (c->closed) {
		if (c->dispatching == 0)
			conn_finish(c);
		return -1;
	}
	return 0;
}

void
frame_conn_close(struct frame_conn *c)
{
	if (c == NULL)
		return;
	/* Inside the close callback: freed as soon as it returns. */
	if (c->in_closecb)
		return;
	/* The owner asked for it; it needs no callback telling it. */
	c->notify = 0;
	if (!c->closed) {
		c->closed = 1;
		conn_stop_io(c);
	}
	/* Inside the message callback: the reader frees it on return. */
	if (c->dispatching > 0)
		return;
	conn_free(c);
}

/* Room for the most descriptors one message may bring (FRAME_CMSG_FDS). */
union frame_cmsgbuf {
	struct cmsghdr	 hdr;
	char		 buf[CMSG_SPACE(FRAME_CMSG_FDS * sizeof(int))];
};

/* A recvmsg(2) of up to len bytes into buf, descriptors into cb. */
static void
recv_prepare(struct msghdr *msg, struct iovec *iov, void *buf, size_t len,
    union frame_cmsgbuf *cb)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	memset(msg, 0, sizeof(*msg));
	memset(cb, 0, sizeof(*cb));
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = cb->buf;
	msg->msg_controllen = sizeof(cb->buf);
}

/* The descriptors of an SCM_RIGHTS message that lie within the buffer. */
static size_t
cmsg_nfds(const struct msghdr *msg, const struct cmsghdr *cm)
{
	size_t	 cnt, room;

	if (cm->cmsg_len < CMSG_LEN(0))
		return 0;
	/* Padding may leave room for a second descriptor. */
	cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	/* Never read past the buffer, whatever cmsg_len says. */
	room = (size_t)((char *)msg->msg_control + msg->msg_controllen -
	    (char *)CMSG_DATA(cm)) / sizeof(int);
	return cnt > room ? room : cnt;
}

/* The k-th descriptor of an SCM_RIGHTS message (unaligned in it). */
static int
cmsg_fd(const struct cmsghdr *cm, size_t k)
{
	int	 fd;

	memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
	return fd;
}

/*
 * A read that filled the buffer may have left more behind, typically the
 * rest of a frame larger than the buffer kept between frames, which
 * conn_process() has just grown it for: read again now rather than after
 * another epoll_wait, and, in a process that sleeps between such frames,
 * another wakeup (the scheduler's counters are 40 KB).  A few reads at
 * most, so that one busy edge cannot starve the others.
 */
static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct frame_conn	*c = w->data;
	union frame_cmsgbuf	 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	ssize_t			 n;
	int			 reads = 0;

again:
	if (c->rlen >= c->rcap) {
		/* conn_resize() always leaves room; a bug if not. */
		conn_fail(c, "read buffer full (%zu bytes)", c->rcap);
		return;
	}
	recv_prepare(&msg, &iov, c->rbuf + c->rlen, c->rcap - c->rlen,
	    &cmsgbuf);

	/* MSG_CMSG_CLOEXEC: a received descriptor must not leak into
	 * whatever this process execs (plugins, git). */
	do {
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* Reset: the peer closed with our frames unread in its
		 * buffer.  Same end of the edge as a plain close. */
		if (errno == ECONNRESET) {
			conn_eof(c);
			return;
		}
		conn_fail(c, "recvmsg: %s", strerror(errno));
		return;
	}
	if (conn_take_fds(c, &msg, (size_t)n) == -1)
		return;
	if (n == 0) {
		conn_eof(c);
		return;
	}
	c->rlen += (size_t)n;
	if (conn_process(c) == -1)
		return;
	/* a frame begun and the buffer was full: the rest is likely there */
	if ((size_t)n == iov.iov_len && c->rlen > 0 &&
	    ++reads < FRAME_READS_PER_CB && ev_is_active(&c->rio))
		goto again;
}

/*
 * Queue the descriptors that came with `n` bytes.  Every descriptor that
 * arrives is either queued or closed here.  Returns -1 when the edge was
 * closed (and `c` freed).
 */
static int
conn_take_fds(struct frame_conn *c, struct msghdr *msg, size_t n)
{
	struct cmsghdr	*cm;
	int		 nfd = 0, odd = 0, fd, keep = -1, allowed;
	size_t		 k, cnt;

	allowed = conn_peer_may_pass_fd(c);
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			odd = 1;
			continue;
		}
		cnt = cmsg_nfds(msg, cm);
		for (k = 0; k < cnt; k++) {
			fd = cmsg_fd(cm, k);
			nfd++;
			if (allowed && keep == -1)
				keep = fd;
			else if (allowed)
				fd_close(fd, "received descriptor");
			else
				fd_close_untrusted(fd, "received descriptor");
		}
	}

	if (nfd > 0 && !allowed) {
		conn_fail(c, "descriptor received from %s, which may pass "
		    "none on this edge",
		    proto_role_name(proto_edge_other(c->rules.edge,
		    c->rules.self)));
		return -1;
	}
	if (msg->msg_flags & MSG_CTRUNC) {
		/* Linux drops a descriptor it cannot install and says so
		 * only here: the frame it belongs to would lack it. */
		fd_close(keep, "received descriptor");
		conn_fail(c, "descriptor dropped (MSG_CTRUNC)");
		return -1;
	}
	if (odd) {
		fd_close(keep, "received descriptor");
		conn_fail(c, "unexpected control message");
		return -1;
	}
	if (nfd == 0)
		return 0;
	if (nfd > 1) {
		fd_close(keep, "received descriptor");
		conn_fail(c, "%d descriptors in one message (one per frame)",
		    nfd);
		return -1;
	}
	if (c->nrfds >= FRAME_FDQ_MAX) {
		fd_close(keep, "received descriptor");
		conn_fail(c, "more than %d unclaimed descriptors",
		    FRAME_FDQ_MAX);
		return -1;
	}
	c->rfds[c->nrfds].fd = keep;
	c->rfds[c->nrfds].end = c->rbase + c->rlen + n;
	c->nrfds++;
	return 0;
}

/*
 * Deliver every complete frame in the buffer, then make room for more.
 * -1 when the edge was closed (and `c` may be freed).
 */
static int
conn_process(struct frame_conn *c)
{
	struct frame_hdr	 h;
	struct frame_in		 in;
	char			 why[FRAME_WHY_MAX];
	size_t			 pos = 0;
	uint64_t		 start;
	int			 stopped = 0;

	while (c->rlen - pos >= FRAME_HDR_LEN) {
		memcpy(&h, c->rbuf + pos, sizeof(h));
		if (frame_hdr_check(&h, &c->rules, why, sizeof(why)) == -1) {
			conn_fail(c, "%s", why);
			return -1;
		}
		/*
		 * A descriptor arrives with the first byte of its frame.  One
		 * whose bytes all came before this frame began was sent with
		 * a frame that did not claim it.
		 */
		start = c->rbase + pos;
		if (c->nrfds > 0 && c->rfds[0].end <= start) {
			conn_fail(c, "descriptor sent with a frame not "
			    "flagged FD (before %s)", proto_msg_name(h.type));
			return -1;
		}
		if ((h.flags & FRAME_F_FD) && c->nrfds == 0) {
			conn_fail(c, "%s frame flagged FD without a descriptor",
			    proto_msg_name(h.type));
			return -1;
		}
		if (c->rlen - pos < h.len)
			break;

		memset(&in, 0, sizeof(in));
		in.hdr = h;
		in.data = c->rbuf + pos + FRAME_HDR_LEN;
		in.datalen = h.len - FRAME_HDR_LEN;
		in.fd = -1;
		if (h.flags & FRAME_F_FD) {
			in.fd = c->rfds[0].fd;
			c->nrfds--;
			memmove(&c->rfds[0], &c->rfds[1],
			    c->nrfds * sizeof(c->rfds[0]));
		}
		pos += h.len;

		/* No reads while the callback runs: a nested ev_run() must
		 * not move the buffer under in.data or reorder frames. */
		if (!stopped) {
			ev_io_stop(c->loop, &c->rio);
			stopped = 1;
		}
		c->dispatching++;
		c->msgcb(c, &in, c->arg);
		c->dispatching--;
		/* Not taken by the callback: ours to close. */
		fd_close(in.fd, "unclaimed descriptor");
		if (c->closed) {
			if (c->dispatching == 0)
				conn_finish(c);
			return -1;
		}
	}

	if (pos > 0) {
		memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
		c->rlen -= pos;
		c->rbase += pos;
	}
	if (conn_resize(c) == -1)
		return -1;
	if (stopped)
		ev_io_start(c->loop, &c->rio);
	return 0;
}

/*
 * Grow the buffer to the frame in progress (its header already passed
 * the check, so at most rmax), or give back a large one once no large
 * frame came for FRAME_RBUF_HOLD: giving it back after each one cost a
 * mremap, a TLB shootdown and a fault per page for every large frame,
 * half the sender's CPU under /post load (bench/README.md).  Returns -1
 * when the edge was closed (and `c` freed).
 */
static int
conn_resize(struct frame_conn *c)
{
	struct frame_hdr	 h;
	size_t			 want = FRAME_RBUF_MIN;
	uint8_t			*nbuf;

	if (c->rlen >= FRAME_HDR_LEN) {
		memcpy(&h, c->rbuf, sizeof(h));
		if (h.len > want)
			want = h.len;
	}
	if (want > c->rmax)
		want = c->rmax;
	if (want < c->rlen)
		want = c->rlen;
	if (want > FRAME_RBUF_MIN)
		c->rbig = ev_now(c->loop);
	if (want == c->rcap || (want < c->rcap && (c->rcap <= FRAME_RBUF_MIN ||
	    ev_now(c->loop) - c->rbig < FRAME_RBUF_HOLD)))
		return 0;
	if ((nbuf = realloc(c->rbuf, want)) == NULL) {
		/* Shrinking is only housekeeping. */
		if (want < c->rcap)
			return 0;
		conn_fail(c, "no memory for a frame of %zu bytes", want);
		return -1;
	}
	c->rbuf = nbuf;
	c->rcap = want;
	return 0;
}

static void
conn_eof(struct frame_conn *c)
{
	struct frame_hdr	 h;

	if (c->rlen == 0) {
		conn_fail(c, "closed by peer");
		return;
	}
	if (c->rlen < FRAME_HDR_LEN) {
		conn_fail(c, "EOF inside a frame header (%zu of %d bytes)",
		    c->rlen, FRAME_HDR_LEN);
		return;
	}
	memcpy(&h, c->rbuf, sizeof(h));
	conn_fail(c, "EOF inside a frame (%zu of %u bytes)", c->rlen, h.len);
}

/*
 * The edge is gone.  The close callback runs once, never from inside the
 * message callback (a nested loop could get here): then it waits until
 * that callback returns.
 */
static void
conn_fail(struct frame_conn *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->closed)
		return;
	c->closed = 1;
	c->notify = 1;
	va_start(ap, fmt);
	(void)vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	conn_stop_io(c);
	if (c->dispatching > 0)
		return;
	conn_finish(c);
}

/* No more reading or writing: every watcher of the conn stopped. */
static void
conn_stop_io(struct frame_conn *c)
{
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_prepare_stop(c->loop, &c->wprep);
}

static void
conn_finish(struct frame_conn *c)
{
	if (c->notify && c->closecb != NULL) {
		c->notify = 0;
		c->in_closecb = 1;
		c->closecb(c, c->why, c->arg);
		c->in_closecb = 0;
	}
	conn_free(c);
}

static void
conn_free(struct frame_conn *c)
{
	struct frame_out	*fo;
	int			 i;

	conn_stop_io(c);
	while ((fo = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, fo, entry);
		fd_close(fo->fd, "queued descriptor");
		free(fo);
	}
	/* Descriptors no frame claimed would otherwise leak. */
	for (i = 0; i < c->nrfds; i++)
		fd_close(c->rfds[i].fd, "unclaimed descriptor");
	conn_purge_fds(c);
	free(c->rbuf);
	fd_close(c->fd, "edge");
	free(c);
}

/*
 * Descriptors still queued in the socket when it closes are closed by the
 * kernel, in this process, lingering as their sender set them up.  From
 * a peer that may pass none, take them out first and close them as
 * conn_take_fds() does.  With our read side shut the peer cannot queue
 * more, so the queue runs dry; the bound is for a shutdown that failed.
 */
static void
conn_purge_fds(struct frame_conn *c)
{
	union frame_cmsgbuf	 cmsgbuf;
	uint8_t			 sink[4096];
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct iovec		 iov;
	ssize_t			 n;
	size_t			 k, cnt;
	int			 i;

	if (c->fd < 0 || conn_peer_may_pass_fd(c))
		return;
	if (shutdown(c->fd, SHUT_RD) == -1 && errno != ENOTCONN)
		log_debug("%s: shutdown %s: %s", __func__, c->name,
		    strerror(errno));
	for (i = 0; i < FRAME_PURGE_READS; i++) {
		recv_prepare(&msg, &iov, sink, sizeof(sink), &cmsgbuf);
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			cnt = cmsg_nfds(&msg, cm);
			for (k = 0; k < cnt; k++)
				fd_close_untrusted(cmsg_fd(cm, k),
				    "queued descriptor");
		}
	}
}
