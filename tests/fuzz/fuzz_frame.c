/*
 * libFuzzer target: arbitrary bytes (and optionally a descriptor) written
 * into one end of a socketpair whose other end is a frame_conn on a real
 * libev loop.  Whatever arrives, the reader must close the edge with a
 * reason or deliver frames, never crash, leak memory or descriptors.
 *
 * Input: byte 0 picks the edge end and options, byte 1 the chunk size
 * for split writes (low bits) and the chunk that carries the descriptor
 * (top 3 bits); the rest is the byte stream.
 *
 * With FUZZ_WRITE_SEEDS=dir in the environment, the initializer writes
 * a few well-formed streams there as a starting corpus.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "proto.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define OPT_FD		0x08	/* attach a descriptor to the first byte */
#define OPT_CLOSE	0x10	/* close from inside the first callback */
#define OPT_SPLIT	0x20	/* write in small chunks */
#define OPT_REPLY	0x40	/* answer every frame */
#define OPT_MANYFD	0x80	/* a descriptor on every chunk from then on */

/* The harness's own state; frame.c keeps none. */
static struct ev_loop	*loop;

struct scen {
	const struct edge_def	*edge;
	enum role		 self;
};

struct run {
	struct frame_conn	*c;
	int			 done;
	int			 nmsg;
	int			 opts;
	uint16_t		 reply;
};

static int
count_fds(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
scen_pick(int sel, struct scen *s)
{
	switch (sel & 0x07) {
	case 0:
		s->edge = proto_peer_edge_find(ROLE_FRONT, ROLE_SENDER);
		s->self = ROLE_SENDER;
		break;
	case 1:
		s->edge = proto_peer_edge_find(ROLE_FRONT, ROLE_SENDER);
		s->self = ROLE_FRONT;
		break;
	case 2:
	case 3:
		s->edge = proto_control_edge(ROLE_FRONT);
		s->self = ROLE_FRONT;
		break;
	case 4:
		s->edge = proto_control_edge(ROLE_FRONT);
		s->self = ROLE_MASTER;
		break;
	case 5:
		s->edge = proto_peer_edge_find(ROLE_SCHEDULER, ROLE_GITPULL);
		s->self = ROLE_GITPULL;
		break;
	case 6:
		s->edge = proto_control_edge(ROLE_SCHEDULER);
		s->self = ROLE_MASTER;
		break;
	default:
		s->edge = proto_peer_edge_find(ROLE_FETCHER, ROLE_COLLECTOR);
		s->self = ROLE_COLLECTOR;
		break;
	}
}

/* Decode a payload the way a handler would, driven by its own tags. */
static void
walk(const uint8_t *p, size_t len)
{
	struct preader	 r;
	char		*s, buf[32];
	size_t		 n;
	int		 i = 0;

	codec_get_init(&r, p, len);
	while (!codec_get_at_end(&r)) {
		switch (codec_get_peek(&r)) {
		case 'I':
			(void)codec_get_u32(&r);
			break;
		case 'L':
			(void)codec_get_u64(&r);
			break;
		case 'J':
			(void)codec_get_i64(&r);
			break;
		case 'D':
			(void)codec_get_dbl(&r);
			break;
		case 'B':
			(void)codec_get_bool(&r);
			break;
		case 'S':
			if (i++ % 2) {
				(void)codec_get_strbuf(&r, buf, sizeof(buf));
			} else {
				s = codec_get_str(&r);
				if (s != NULL && strlen(s) > len)
					abort();
				free(s);
			}
			break;
		case 'Y':
			(void)codec_get_bytes(&r, &n);
			break;
		default:
			(void)codec_get_u32(&r);	/* fails: unknown tag */
			break;
		}
	}
	if (codec_get_end(&r) == -1 && r.err[0] == '\0')
		abort();
}

static void
msg_cb(struct frame_conn *c, struct frame_in *in, void *arg)
{
	struct run	*rn = arg;
	int		 fd = -1;

	if (rn->c != c || in->datalen + FRAME_HDR_LEN != in->hdr.len)
		abort();
	if ((in->hdr.flags & FRAME_F_FD) != (in->fd >= 0 ? FRAME_F_FD : 0))
		abort();
	rn->nmsg++;
	walk(in->data, in->datalen);
	if (in->fd >= 0 && (fcntl(in->fd, F_GETFD) & FD_CLOEXEC) == 0)
		abort();
	if (rn->opts & OPT_REPLY) {
		/* Exercise the write side, with a descriptor where allowed. */
		if ((rn->nmsg & 1) && in->fd >= 0) {
			fd = in->fd;
			in->fd = -1;
		}
		if (frame_send(c, rn->reply, in->hdr.reqid, in->data,
		    in->datalen, fd) == -1 && errno != EINVAL &&
		    errno != ENOBUFS)
			abort();
	}
	if ((rn->opts & OPT_CLOSE) && rn->nmsg == 1) {
		frame_conn_close(c);
		/* Still valid until we return, but shut for output. */
		if (frame_send(c, rn->reply, 0, NULL, 0, -1) != -1 ||
		    errno != EPIPE)
			abort();
		rn->done = 1;
		rn->c = NULL;
	}
}

static void
close_cb(struct frame_conn *c, const char *why, void *arg)
{
	struct run	*rn = arg;

	if (rn->c != c || rn->done || why == NULL || why[0] == '\0')
		abort();
	rn->done = 1;
	rn->c = NULL;
}

static void
write_stream(int raw, const uint8_t *p, size_t len, size_t chunk, int withfd,
    int fdat, int many)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cb;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	size_t			 off = 0, n;
	ssize_t			 w;
	int			 fd = -1, k = 0;

	while (off < len) {
		if (withfd && fd == -1 && (k == fdat || (many && k > fdat)) &&
		    (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			abort();
		n = len - off < chunk ? len - off : chunk;
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = (void *)(p + off);
		iov.iov_len = n;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (fd != -1) {
			memset(&cb, 0, sizeof(cb));
			msg.msg_control = cb.buf;
			msg.msg_controllen = sizeof(cb.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		w = sendmsg(raw, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Let the reader make room. */
			ev_run(loop, EVRUN_NOWAIT);
			continue;
		}
		if (w == -1)
			break;		/* the reader closed: fine */
		if (fd != -1) {
			close(fd);
			fd = -1;
		}
		off += (size_t)w;
		k++;
		if (chunk < len)
			ev_run(loop, EVRUN_NOWAIT);
	}
	if (fd != -1)
		close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scen		 s;
	struct frame_rules	 rules;
	struct frame_hdr	 h;
	struct run		 rn;
	char			 why[256];
	const uint16_t		*sends;
	int			 sv[2], i, nfds;
	size_t			 chunk;

	if (size < 2)
		return 0;
	/* Counted per input: libFuzzer opens files of its own between. */
	nfds = count_fds();
	scen_pick(data[0], &s);
	if (s.edge == NULL)
		abort();
	rules.edge = s.edge;
	rules.self = s.self;
	rules.name = NULL;

	/* The header check alone, on the first 16 stream bytes. */
	if (size >= 2 + FRAME_HDR_LEN) {
		memcpy(&h, data + 2, sizeof(h));
		why[0] = '\0';
		if (frame_hdr_check(&h, &rules, why, sizeof(why)) == -1 &&
		    why[0] == '\0')
			abort();
	}

	memset(&rn, 0, sizeof(rn));
	rn.opts = data[0];
	sends = s.self == s.edge->a ? s.edge->a_sends : s.edge->b_sends;
	rn.reply = sends[0];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	rn.c = frame_conn_new(loop, sv[0], &rules, msg_cb, close_cb, &rn);
	if (rn.c == NULL)
		abort();

	chunk = (data[0] & OPT_SPLIT) ? (size_t)(data[1] % 17) + 1 : size;
	write_stream(sv[1], data + 2, size - 2, chunk,
	    (data[0] & OPT_FD) != 0, (data[0] & OPT_SPLIT) ? data[1] >> 5 : 0,
	    (data[0] & OPT_MANYFD) != 0);
	/* EOF ends every stream: the edge must close by itself. */
	if (shutdown(sv[1], SHUT_WR) == -1)
		abort();
	for (i = 0; !rn.done && i < 100000; i++)
		ev_run(loop, EVRUN_ONCE);
	if (!rn.done)
		abort();
	close(sv[1]);
	if (count_fds() != nfds)
		abort();
	return 0;
}

static void
seed(const char *dir, const char *name, const void *p, size_t len)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(p, 1, len, f);
	fclose(f);
}

/* Option byte, chunk byte, then frames. */
static size_t
mkseed(uint8_t *b, int opts, const uint16_t *types, int n, int fdflag)
{
	struct frame_hdr	 h;
	struct pbuf		 pb;
	size_t			 len = 2;
	int			 i;

	b[0] = (uint8_t)opts;
	b[1] = 3;
	for (i = 0; i < n; i++) {
		codec_put_init(&pb);
		codec_put_u32(&pb, (uint32_t)i);
		codec_put_u64(&pb, 7);
		codec_put_str(&pb, "seed");
		codec_put_bool(&pb, 1);
		codec_put_bytes(&pb, "\0\1", 2);
		codec_put_dbl(&pb, 0.5);
		codec_put_i64(&pb, -1);
		memset(&h, 0, sizeof(h));
		h.len = (uint32_t)(FRAME_HDR_LEN + pb.len);
		h.type = types[i];
		h.flags = (fdflag && i == 0) ? FRAME_F_FD : 0;
		h.reqid = (uint32_t)i;
		memcpy(b + len, &h, sizeof(h));
		memcpy(b + len + sizeof(h), pb.buf, pb.len);
		len += h.len;
		codec_put_free(&pb);
	}
	return len;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint16_t	 peer[] = { MSG_HELLO, MSG_POINTS, MSG_POINTS };
	static const uint16_t	 ctl[] = { MSG_PEER, MSG_CONF, MSG_SETUP_END };
	static const uint16_t	 ctl2[] = { MSG_SETUP_END, MSG_CONF };
	uint8_t			 b[1024];
	size_t			 n;
	const char		*dir;

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		abort();
	if ((dir = getenv("FUZZ_WRITE_SEEDS")) != NULL) {
		seed(dir, "peer", b, mkseed(b, 0, peer, 3, 0));
		seed(dir, "peer-split-reply", b,
		    mkseed(b, OPT_SPLIT | OPT_REPLY, peer, 3, 0));
		seed(dir, "ctl-fd", b, mkseed(b, 2 | OPT_FD, ctl, 3, 1));
		seed(dir, "ctl-fd-close", b,
		    mkseed(b, 2 | OPT_FD | OPT_CLOSE | OPT_REPLY, ctl, 3, 1));
		/* A descriptor on an unflagged frame, written in 16-byte
		 * chunks so that it rides with that frame alone. */
		n = mkseed(b, 2 | OPT_FD | OPT_SPLIT, ctl2, 2, 0);
		b[1] = 15;
		seed(dir, "ctl-stray-fd", b, n);
	}
	return 0;
}
