/*
 * frame_bench: benchmark of the inter-process framing layer (frame.c) and
 * of the payload codec (codec.c).  bench/README.md has the method and the
 * results; `make bench` at the top of the tree builds and runs it.
 *
 * Two processes share an AF_UNIX SOCK_STREAM socketpair, each with its
 * own ev_loop (ev_loop_new) and a frame_conn on the real front<->sender
 * edge of proto.c: the parent is the front (sends MSG_POINTS), the child
 * is the sender (answers MSG_POINTS_ACK).  Each measurement gets a fresh
 * socketpair and a fresh child, made as the agent makes its workers (fork,
 * then exec of this binary with "--child"), and starts after a MSG_HELLO
 * exchange as in worker.c.
 *
 *   stream     the front streams N frames of one payload size, keeping at
 *              most WINDOW_BYTES in its output queue (frame_queued() is the
 *              backpressure); the sender checks each frame and acks once,
 *              at the end, with the count, the bytes and a checksum sum.
 *   pingpong   one 64-byte request at a time, answered by a 16-byte ack;
 *              every round trip is timed.
 *   codec      pb_* encode + pr_* decode of a typical message, in-process.
 *
 * The stream and ping-pong runs are repeated without frame.c and libev
 * ("raw": blocking write()/read() of the same bytes) as a baseline.
 *
 * Every payload carries its sequence number and a checksum of its body
 * (mixed with the sequence number), so a lost, reordered, duplicated or
 * corrupted frame stops the benchmark with a message and exit status 1.
 * Times come from CLOCK_MONOTONIC.  Nothing binds a network port.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "proto.h"

#define WINDOW_BYTES	(1024u * 1024u)	/* output queue bound, stream */
#define POOL_N		4		/* distinct payload bodies */
#define HDR_SEQ_LEN	16		/* u64 seq + u64 check in a payload */
#define REQ_SIZE	64		/* ping-pong request payload */
#define ACK_SIZE	16		/* ping-pong answer payload */
#define RUN_TIMEOUT	15.0		/* seconds, per process pair */
#define TOTAL_TIMEOUT	55		/* seconds, whole program */
#define CODEC_SECONDS	1.0		/* per codec variant */
#define GENERATION	1		/* sent in MSG_HELLO */

enum mode { MODE_STREAM, MODE_PINGPONG };

struct run_cfg {
	enum mode	 mode;
	size_t		 size;		/* request payload, bytes */
	uint64_t	 count;		/* frames, or timed round trips */
	uint64_t	 warmup;	/* untimed round trips first */
};

struct run_res {
	double		 seconds;
	uint64_t	 frames;
	uint64_t	 payload_bytes;
	double		 lat_mean_us;
	double		 lat_median_us;
	double		 lat_p99_us;
	double		 lat_max_us;
	uint64_t	 tx_minflt;	/* page faults, front process */
	uint64_t	 rx_minflt;	/* page faults, sender process */
};

/* One end of the edge: the front (parent) or the sender (child). */
struct side {
	struct ev_loop		*loop;
	struct frame_conn	*fc;
	const struct run_cfg	*cfg;
	enum role		 self;
	pid_t			 peer_pid;
	int			 peer_ready;
	int			 done;
	ev_timer		 watchdog;

	/* front: what it sends */
	uint8_t			*pool[POOL_N];
	uint64_t		 pool_sum[POOL_N];
	uint64_t		 sent;
	uint64_t		 sent_agg;	/* sum of the checks sent */
	ev_prepare		 pump;
	uint64_t		 t0, t1;
	uint64_t		 t_req;		/* ping-pong: request sent */
	uint64_t		 req_check;
	uint64_t		*lat;		/* ping-pong: ns per round trip */

	/* sender: what it received */
	uint64_t		 recvd;
	uint64_t		 recvd_bytes;
	uint64_t		 recvd_agg;
};

static int	 in_child;

static void	 die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "frame_bench: %s: ", in_child ? "sender (child)" :
	    "front (parent)");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (in_child)
		_exit(1);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		die("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64 finalizer: ties a check to its sequence number. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Fletcher-style sum over 64-bit words, two independent lanes: the
 * second sum of each lane depends on the order of the words, so a moved
 * or altered word changes the result.  Reads every byte.
 */
static uint64_t
sum64(const uint8_t *p, size_t n)
{
	uint64_t	 a0 = 1, b0 = 0, a1 = 2, b1 = 0, w0, w1;
	size_t		 i = 0;

	for (; i + 16 <= n; i += 16) {
		memcpy(&w0, p + i, 8);
		memcpy(&w1, p + i + 8, 8);
		a0 += w0;
		b0 += a0;
		a1 += w1;
		b1 += a1;
	}
	for (; i < n; i++) {
		a0 += p[i];
		b0 += a0;
	}
	return mix64(a0 ^ (b0 * 3) ^ (a1 << 1) ^ (b1 * 5) ^ n);
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL)
		die("malloc(%zu): %s", n, strerror(errno));
	return p;
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t	 v;
	size_t		 i, k;

	for (i = 0; i < n; i += 8) {
		v = mix64(seed + i);
		k = n - i < 8 ? n - i : 8;
		memcpy(p + i, &v, k);
	}
}

/*
 * Payload layout: u64 seq, u64 check, body.  check = sum64(body) ^
 * mix64(seq).  The bodies come from a small pool made once, so that the
 * front spends its time in the frame layer, not in making data.
 */
static void
pool_init(struct side *s, size_t size)
{
	int	 k;

	for (k = 0; k < POOL_N; k++) {
		s->pool[k] = xmalloc(size);
		fill_random(s->pool[k], size, 0x1000u * (uint64_t)(k + 1));
		s->pool_sum[k] = sum64(s->pool[k] + HDR_SEQ_LEN,
		    size - HDR_SEQ_LEN);
	}
}

static void
pool_free(struct side *s)
{
	int	 k;

	for (k = 0; k < POOL_N; k++) {
		free(s->pool[k]);
		s->pool[k] = NULL;
	}
}

static const uint8_t *
payload_make(struct side *s, uint64_t seq, uint64_t *check)
{
	uint8_t		*p = s->pool[seq % POOL_N];
	uint64_t	 c = s->pool_sum[seq % POOL_N] ^ mix64(seq);

	memcpy(p, &seq, 8);
	memcpy(p + 8, &c, 8);
	*check = c;
	return p;
}

/* Checks header and payload of frame number `seq`; returns its check. */
static uint64_t
payload_verify(const struct frame_in *in, size_t size, uint64_t seq,
    pid_t peer)
{
	uint64_t	 got, c;

	if (in->hdr.type != MSG_POINTS)
		die("frame %" PRIu64 ": type %s, want POINTS", seq,
		    proto_msg_name(in->hdr.type));
	if (in->hdr.flags != 0 || in->fd != -1)
		die("frame %" PRIu64 ": flags 0x%x, fd %d", seq,
		    in->hdr.flags, in->fd);
	if (in->hdr.pid != (uint32_t)peer)
		die("frame %" PRIu64 ": pid %u, want %ld", seq, in->hdr.pid,
		    (long)peer);
	if (in->datalen != size)
		die("frame %" PRIu64 ": %zu payload bytes, want %zu", seq,
		    in->datalen, size);
	memcpy(&got, in->data, 8);
	if (got != seq)
		die("frame %" PRIu64 " carries sequence number %" PRIu64
		    ": frames lost, duplicated or reordered", seq, got);
	if (in->hdr.reqid != (uint32_t)seq)
		die("frame %" PRIu64 ": request id %u", seq, in->hdr.reqid);
	memcpy(&c, in->data + 8, 8);
	if ((sum64(in->data + HDR_SEQ_LEN, size - HDR_SEQ_LEN) ^
	    mix64(seq)) != c)
		die("frame %" PRIu64 ": payload checksum mismatch (corrupted)",
		    seq);
	return c;
}

static void
send_hello(struct side *s)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)s->self);
	codec_put_u64(&pb, GENERATION);
	if (codec_put_failed(&pb))
		die("encoding HELLO failed");
	if (frame_send(s->fc, MSG_HELLO, 0, pb.buf, pb.len, -1) == -1)
		die("frame_send(HELLO): %s", strerror(errno));
	codec_put_free(&pb);
}

/* A HELLO from the peer: right role, right generation, right process. */
static void
check_hello(struct side *s, const struct frame_in *in)
{
	struct preader	 pr;
	uint32_t	 role;
	uint64_t	 gen;
	enum role	 want = s->self == ROLE_FRONT ? ROLE_SENDER : ROLE_FRONT;

	if (s->peer_ready)
		die("second HELLO from the peer");
	codec_get_init(&pr, in->data, in->datalen);
	role = codec_get_u32(&pr);
	gen = codec_get_u64(&pr);
	if (codec_get_end(&pr) == -1)
		die("bad HELLO payload: %s", pr.err);
	if (role != (uint32_t)want || gen != GENERATION)
		die("HELLO from role %u generation %" PRIu64 ", want %s/%d",
		    role, gen, proto_role_name(want), GENERATION);
	if (in->hdr.pid != (uint32_t)s->peer_pid)
		die("HELLO from pid %u, want %ld", in->hdr.pid,
		    (long)s->peer_pid);
	s->peer_ready = 1;
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct side	*s = w->data;

	die("not done after %.0f s (sent %" PRIu64 ", received %" PRIu64
	    ")", RUN_TIMEOUT, s->sent, s->recvd);
}

static void
close_cb(struct frame_conn *fc, const char *why, void *arg)
{
	struct side	*s = arg;

	s->fc = NULL;		/* freed when we return */
	if (!s->done || strcmp(why, "closed by peer") != 0)
		die("edge %s closed before the end (sent %" PRIu64
		    ", received %" PRIu64 "): %s",
		    s->self == ROLE_FRONT ? "front<->sender" : "sender<->front",
		    s->sent, s->recvd, why);
	ev_break(s->loop, EVBREAK_ALL);
}

/* ---- sender side (child) ---- */

static void
sender_msg_cb(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct side		*s = arg;
	const struct run_cfg	*cfg = s->cfg;
	struct pbuf		 pb;
	uint8_t			 ack[ACK_SIZE];
	uint64_t		 c, seq;

	if (in->hdr.type == MSG_HELLO) {
		check_hello(s, in);
		return;
	}
	if (!s->peer_ready)
		die("%s before HELLO", proto_msg_name(in->hdr.type));
	seq = s->recvd;
	if (seq >= cfg->warmup + cfg->count)
		die("frame %" PRIu64 " beyond the %" PRIu64 " expected", seq,
		    cfg->warmup + cfg->count);
	c = payload_verify(in, cfg->size, seq, s->peer_pid);
	s->recvd++;
	s->recvd_bytes += in->datalen;
	s->recvd_agg += c;

	if (cfg->mode == MODE_PINGPONG) {
		c = mix64(seq) ^ c;
		memcpy(ack, &seq, 8);
		memcpy(ack + 8, &c, 8);
		if (frame_send(fc, MSG_POINTS_ACK, in->hdr.reqid, ack,
		    sizeof(ack), -1) == -1)
			die("frame_send(POINTS_ACK): %s", strerror(errno));
		if (s->recvd == cfg->warmup + cfg->count)
			s->done = 1;
		return;
	}
	if (s->recvd < cfg->count)
		return;
	/* The one ack of a stream: what arrived, for the front to check. */
	codec_put_init(&pb);
	codec_put_u64(&pb, s->recvd);
	codec_put_u64(&pb, s->recvd_bytes);
	codec_put_u64(&pb, s->recvd_agg);
	if (codec_put_failed(&pb))
		die("encoding POINTS_ACK failed");
	if (frame_send(fc, MSG_POINTS_ACK, in->hdr.reqid, pb.buf, pb.len,
	    -1) == -1)
		die("frame_send(POINTS_ACK): %s", strerror(errno));
	codec_put_free(&pb);
	s->done = 1;
}

static void
run_sender(int fd, const struct run_cfg *cfg, pid_t parent)
{
	struct frame_rules	 rules;
	struct side		 s;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.self = ROLE_SENDER;
	s.peer_pid = parent;
	if ((s.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		die("ev_loop_new failed");
	rules.edge = proto_peer_edge_find(ROLE_SENDER, ROLE_FRONT);
	rules.self = ROLE_SENDER;
	rules.name = "sender<->front";
	if (rules.edge == NULL)
		die("no front<->sender edge in proto.c");
	if ((s.fc = frame_conn_new(s.loop, fd, &rules, sender_msg_cb,
	    close_cb, &s)) == NULL)
		die("frame_conn_new: %s", strerror(errno));
	ev_timer_init(&s.watchdog, watchdog_cb, RUN_TIMEOUT, 0.);
	s.watchdog.data = &s;
	ev_timer_start(s.loop, &s.watchdog);
	send_hello(&s);

	/* Runs until the front closes the edge after the last ack. */
	(void)ev_run(s.loop, 0);
	if (!s.done || s.fc != NULL)
		die("event loop ended early (received %" PRIu64 ")", s.recvd);
	ev_timer_stop(s.loop, &s.watchdog);
	ev_loop_destroy(s.loop);
}

/* ---- front side (parent) ---- */

static void
pump_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct side	*s = w->data;
	const uint8_t	*p;
	uint64_t	 c;

	/* Top the output queue up to the window before each poll. */
	while (s->sent < s->cfg->count && frame_queued(s->fc) < WINDOW_BYTES) {
		p = payload_make(s, s->sent, &c);
		if (frame_send(s->fc, MSG_POINTS, (uint32_t)s->sent, p,
		    s->cfg->size, -1) == -1)
			die("frame_send(POINTS #%" PRIu64 ", %zu bytes, %zu "
			    "queued): %s", s->sent, s->cfg->size,
			    frame_queued(s->fc), strerror(errno));
		s->sent_agg += c;
		s->sent++;
	}
	if (s->sent == s->cfg->count)
		ev_prepare_stop(loop, w);
}

static void
send_request(struct side *s)
{
	const uint8_t	*p;

	p = payload_make(s, s->sent, &s->req_check);
	s->t_req = now_ns();
	if (s->sent == s->cfg->warmup)
		s->t0 = s->t_req;
	if (frame_send(s->fc, MSG_POINTS, (uint32_t)s->sent, p, s->cfg->size,
	    -1) == -1)
		die("frame_send(POINTS #%" PRIu64 "): %s", s->sent,
		    strerror(errno));
	s->sent++;
}

static void
finish(struct side *s, struct frame_conn *fc, uint64_t t)
{
	s->t1 = t;
	s->done = 1;
	frame_conn_close(fc);	/* safe in the message callback */
	s->fc = NULL;
	ev_break(s->loop, EVBREAK_ALL);
}

static void
front_msg_cb(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct side		*s = arg;
	const struct run_cfg	*cfg = s->cfg;
	struct preader		 pr;
	uint64_t		 t, seq, c, n, bytes, agg;

	if (in->hdr.type == MSG_HELLO) {
		check_hello(s, in);
		/* Both ends are up: the clock starts now. */
		if (cfg->mode == MODE_STREAM) {
			s->t0 = now_ns();
			ev_prepare_start(s->loop, &s->pump);
		} else
			send_request(s);
		return;
	}
	t = now_ns();
	if (!s->peer_ready)
		die("%s before HELLO", proto_msg_name(in->hdr.type));
	if (in->hdr.type != MSG_POINTS_ACK || in->hdr.flags != 0 ||
	    in->fd != -1 || in->hdr.pid != (uint32_t)s->peer_pid)
		die("unexpected %s frame (flags 0x%x, pid %u)",
		    proto_msg_name(in->hdr.type), in->hdr.flags, in->hdr.pid);

	if (cfg->mode == MODE_STREAM) {
		codec_get_init(&pr, in->data, in->datalen);
		n = codec_get_u64(&pr);
		bytes = codec_get_u64(&pr);
		agg = codec_get_u64(&pr);
		if (codec_get_end(&pr) == -1)
			die("bad POINTS_ACK payload: %s", pr.err);
		if (s->sent != cfg->count || n != cfg->count ||
		    bytes != cfg->count * cfg->size || agg != s->sent_agg)
			die("stream ack: %" PRIu64 " frames, %" PRIu64 " bytes, "
			    "check %016" PRIx64 "; sent %" PRIu64 " frames, %"
			    PRIu64 " bytes, check %016" PRIx64, n, bytes, agg,
			    s->sent, s->sent * cfg->size, s->sent_agg);
		s->recvd = n;
		finish(s, fc, t);
		return;
	}

	/* Ping-pong: the answer to the one request in flight. */
	seq = s->sent - 1;
	if (in->datalen != ACK_SIZE || in->hdr.reqid != (uint32_t)seq)
		die("ack %u of %zu bytes, want ack %" PRIu64 " of %d bytes",
		    in->hdr.reqid, in->datalen, seq, ACK_SIZE);
	memcpy(&n, in->data, 8);
	memcpy(&c, in->data + 8, 8);
	if (n != seq || c != (mix64(seq) ^ s->req_check))
		die("ack %" PRIu64 ": wrong content (seq %" PRIu64 ")", seq, n);
	s->recvd++;
	if (seq >= cfg->warmup)
		s->lat[seq - cfg->warmup] = t - s->t_req;
	if (s->sent == cfg->warmup + cfg->count) {
		finish(s, fc, t);
		return;
	}
	send_request(s);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts lat[n] (ns) and fills the latency fields of res (us). */
static void
lat_stats(uint64_t *lat, uint64_t n, struct run_res *res)
{
	uint64_t	 sum = 0, i;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	for (i = 0; i < n; i++)
		sum += lat[i];
	res->lat_mean_us = (double)sum / (double)n / 1e3;
	res->lat_median_us = (n % 2 ? (double)lat[n / 2] :
	    ((double)lat[n / 2 - 1] + (double)lat[n / 2]) / 2) / 1e3;
	/* nearest rank: the smallest value with 99% of them at or below */
	res->lat_p99_us = (double)lat[(n * 99 + 99) / 100 - 1] / 1e3;
	res->lat_max_us = (double)lat[n - 1] / 1e3;
}

static void
run_front(int fd, const struct run_cfg *cfg, pid_t child,
    struct run_res *res)
{
	struct frame_rules	 rules;
	struct side		 s;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.cfg = cfg;
	s.self = ROLE_FRONT;
	s.peer_pid = child;
	pool_init(&s, cfg->size);
	if (cfg->mode == MODE_PINGPONG)
		s.lat = xmalloc(cfg->count * sizeof(*s.lat));
	if ((s.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		die("ev_loop_new failed");
	rules.edge = proto_peer_edge_find(ROLE_FRONT, ROLE_SENDER);
	rules.self = ROLE_FRONT;
	rules.name = "front<->sender";
	if (rules.edge == NULL)
		die("no front<->sender edge in proto.c");
	if (cfg->size > rules.edge->maxpayload)
		die("payload %zu over the edge limit %zu", cfg->size,
		    rules.edge->maxpayload);
	if ((s.fc = frame_conn_new(s.loop, fd, &rules, front_msg_cb,
	    close_cb, &s)) == NULL)
		die("frame_conn_new: %s", strerror(errno));
	ev_prepare_init(&s.pump, pump_cb);
	s.pump.data = &s;
	ev_timer_init(&s.watchdog, watchdog_cb, RUN_TIMEOUT, 0.);
	s.watchdog.data = &s;
	ev_timer_start(s.loop, &s.watchdog);
	send_hello(&s);

	(void)ev_run(s.loop, 0);
	if (!s.done || s.fc != NULL)
		die("event loop ended early (sent %" PRIu64 ")", s.sent);
	ev_prepare_stop(s.loop, &s.pump);
	ev_timer_stop(s.loop, &s.watchdog);
	ev_loop_destroy(s.loop);

	res->seconds = (double)(s.t1 - s.t0) / 1e9;
	res->frames = cfg->count;
	res->payload_bytes = cfg->count * cfg->size;
	if (cfg->mode == MODE_PINGPONG) {
		lat_stats(s.lat, cfg->count, res);
		free(s.lat);
	}
	pool_free(&s);
}

/*
 * ---- baselines: the same socketpair, no frame layer, no libev ----
 *
 * Blocking write()/read() of the same bytes (16-byte header + payload),
 * to tell what the socket and the scheduler cost from what frame.c and
 * libev add.  Only byte counts and sequence numbers are checked here.
 */

static void
util_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			die("write: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Returns 0 at EOF before the first byte, else reads exactly n. */
static int
read_all(int fd, void *buf, size_t n)
{
	uint8_t		*p = buf;
	size_t		 got = 0;
	ssize_t		 r;

	while (got < n) {
		if ((r = read(fd, p + got, n - got)) == -1) {
			if (errno == EINTR)
				continue;
			die("read: %s", strerror(errno));
		}
		if (r == 0) {
			if (got == 0)
				return 0;
			die("EOF after %zu of %zu bytes", got, n);
		}
		got += (size_t)r;
	}
	return 1;
}

static void
raw_child(int fd, const struct run_cfg *cfg)
{
	size_t		 bufsz = cfg->mode == MODE_STREAM ? 256 * 1024 :
			    FRAME_HDR_LEN + cfg->size;
	uint8_t		*buf = xmalloc(bufsz), ack[FRAME_HDR_LEN + ACK_SIZE];
	uint64_t	 total = 0, seq = 0, got;
	ssize_t		 r;

	if (cfg->mode == MODE_STREAM) {
		for (;;) {
			if ((r = read(fd, buf, bufsz)) == -1) {
				if (errno == EINTR)
					continue;
				die("read: %s", strerror(errno));
			}
			if (r == 0)
				break;
			total += (uint64_t)r;
		}
		util_write_all(fd, &total, sizeof(total));
	} else {
		memset(ack, 0, sizeof(ack));
		while (read_all(fd, buf, bufsz)) {
			memcpy(&got, buf + FRAME_HDR_LEN, 8);
			if (got != seq)
				die("raw request %" PRIu64 " carries %" PRIu64,
				    seq, got);
			memcpy(ack + FRAME_HDR_LEN, &seq, 8);
			util_write_all(fd, ack, sizeof(ack));
			seq++;
		}
	}
	free(buf);
}

static void
raw_front(int fd, const struct run_cfg *cfg, struct run_res *res)
{
	size_t		 flen = FRAME_HDR_LEN + cfg->size;
	uint8_t		*buf = xmalloc(flen), ack[FRAME_HDR_LEN + ACK_SIZE];
	uint64_t	*lat = NULL, i, t, t0 = 0, t1 = 0, total, got;

	memset(res, 0, sizeof(*res));
	fill_random(buf, flen, 99);
	if (cfg->mode == MODE_STREAM) {
		t0 = now_ns();
		for (i = 0; i < cfg->count; i++)
			util_write_all(fd, buf, flen);
		if (shutdown(fd, SHUT_WR) == -1)
			die("shutdown: %s", strerror(errno));
		if (!read_all(fd, &total, sizeof(total)))
			die("raw stream: no byte count back");
		t1 = now_ns();
		if (total != cfg->count * flen)
			die("raw stream: %" PRIu64 " bytes arrived of %" PRIu64,
			    total, cfg->count * flen);
	} else {
		lat = xmalloc(cfg->count * sizeof(*lat));
		for (i = 0; i < cfg->warmup + cfg->count; i++) {
			memcpy(buf + FRAME_HDR_LEN, &i, 8);
			t = now_ns();
			if (i == cfg->warmup)
				t0 = t;
			util_write_all(fd, buf, flen);
			if (!read_all(fd, ack, sizeof(ack)))
				die("raw ping-pong: EOF");
			t1 = now_ns();
			memcpy(&got, ack + FRAME_HDR_LEN, 8);
			if (got != i)
				die("raw ack %" PRIu64 " carries %" PRIu64, i,
				    got);
			if (i >= cfg->warmup)
				lat[i - cfg->warmup] = t1 - t;
		}
		lat_stats(lat, cfg->count, res);
		free(lat);
	}
	res->seconds = (double)(t1 - t0) / 1e9;
	res->frames = cfg->count;
	res->payload_bytes = cfg->count * cfg->size;
	free(buf);
}

/*
 * One measurement: a fresh socketpair and a fresh sender process, made
 * the way the agent makes its workers: fork, then exec of this binary
 * (main() sees "--child").  The exec matters: a forked child would carry
 * the parent's malloc state (heap, and glibc's mmap threshold, which moves
 * as big blocks are freed), and large frames cost the receiver very
 * different amounts depending on it (README.md, observation 2).
 */
static void
run_pair(const struct run_cfg *cfg, int raw, struct run_res *res)
{
	struct rusage	 ru0, ru1, cru;
	char		 a_mode[8], a_size[32], a_count[32], a_warm[32];
	char		 a_fd[16], a_ppid[16];
	char		*cargv[10];
	int		 sv[2], status, fl;
	pid_t		 parent = getpid(), pid, w;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair: %s", strerror(errno));
	if (fflush(stdout) == EOF)
		die("fflush: %s", strerror(errno));
	if (getrusage(RUSAGE_SELF, &ru0) == -1)
		die("getrusage: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		in_child = 1;
		/* Never outlive the front, whatever happens to it; the
		 * setting survives the exec. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			die("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		if (getppid() != parent)
			die("parent already gone");
		if ((fl = fcntl(sv[1], F_GETFD)) == -1 ||
		    fcntl(sv[1], F_SETFD, fl & ~FD_CLOEXEC) == -1)
			die("fcntl: %s", strerror(errno));
		(void)snprintf(a_mode, sizeof(a_mode), "%s",
		    raw ? (cfg->mode == MODE_STREAM ? "rs" : "rp") :
		    (cfg->mode == MODE_STREAM ? "fs" : "fp"));
		(void)snprintf(a_size, sizeof(a_size), "%zu", cfg->size);
		(void)snprintf(a_count, sizeof(a_count), "%" PRIu64,
		    cfg->count);
		(void)snprintf(a_warm, sizeof(a_warm), "%" PRIu64,
		    cfg->warmup);
		(void)snprintf(a_fd, sizeof(a_fd), "%d", sv[1]);
		(void)snprintf(a_ppid, sizeof(a_ppid), "%ld", (long)parent);
		cargv[0] = "frame_bench";
		cargv[1] = "--child";
		cargv[2] = a_mode;
		cargv[3] = a_size;
		cargv[4] = a_count;
		cargv[5] = a_warm;
		cargv[6] = a_fd;
		cargv[7] = a_ppid;
		cargv[8] = NULL;
		execv("/proc/self/exe", cargv);
		die("execv(/proc/self/exe): %s", strerror(errno));
	}
	if (close(sv[1]) == -1)
		die("close: %s", strerror(errno));
	if (raw) {
		raw_front(sv[0], cfg, res);
		if (close(sv[0]) == -1)
			die("close: %s", strerror(errno));
	} else
		run_front(sv[0], cfg, pid, res);
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		die("getrusage: %s", strerror(errno));
	do {
		w = wait4(pid, &status, 0, &cru);
	} while (w == -1 && errno == EINTR);
	if (w == -1)
		die("wait4: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			die("sender process killed by signal %d",
			    WTERMSIG(status));
		die("sender process failed (exit %d)", WEXITSTATUS(status));
	}
	res->tx_minflt = (uint64_t)(ru1.ru_minflt - ru0.ru_minflt);
	res->rx_minflt = (uint64_t)cru.ru_minflt;
}

static uint64_t
parse_u64(const char *s, const char *what)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		die("bad %s \"%s\"", what, s);
	return (uint64_t)v;
}

/* The sender process: frame_bench --child MODE SIZE COUNT WARMUP FD PPID */
static int
child_main(int argc, char *argv[])
{
	struct run_cfg	 cfg;
	const char	*m;
	uint64_t	 fd, ppid;
	int		 raw;

	in_child = 1;
	if (argc != 8)
		die("--child wants 6 arguments, got %d", argc - 2);
	m = argv[2];
	if (strlen(m) != 2 || (m[0] != 'f' && m[0] != 'r') ||
	    (m[1] != 's' && m[1] != 'p'))
		die("bad mode \"%s\"", m);
	memset(&cfg, 0, sizeof(cfg));
	raw = m[0] == 'r';
	cfg.mode = m[1] == 's' ? MODE_STREAM : MODE_PINGPONG;
	cfg.size = (size_t)parse_u64(argv[3], "size");
	cfg.count = parse_u64(argv[4], "count");
	cfg.warmup = parse_u64(argv[5], "warmup");
	fd = parse_u64(argv[6], "descriptor");
	ppid = parse_u64(argv[7], "parent pid");
	if (cfg.size < HDR_SEQ_LEN || cfg.count == 0 || fd > INT32_MAX ||
	    ppid > INT32_MAX)
		die("arguments out of range");
	if (getppid() != (pid_t)ppid)
		die("parent %" PRIu64 " already gone", ppid);
	if (raw)
		raw_child((int)fd, &cfg);
	else
		run_sender((int)fd, &cfg, (pid_t)ppid);
	return 0;
}

/* ---- codec, in one process ---- */

#define CODEC_BYTES	1024

struct codec_res {
	uint64_t	 ops;
	double		 seconds;
	size_t		 enclen;
};

/* A typical message: u32, u64, two short strings, 1 KiB of bytes. */
static const char	 codec_s1[] = "collect.web.product.loda";
static const char	 codec_s2[] = "PLUGIN.mysql.qps";

static void
codec_encode(struct pbuf *pb, uint64_t i, const uint8_t *blob)
{
	codec_put_u32(pb, (uint32_t)i);
	codec_put_u64(pb, i * 0x9e3779b97f4a7c15ULL);
	codec_put_str(pb, codec_s1);
	codec_put_str(pb, codec_s2);
	codec_put_bytes(pb, blob, CODEC_BYTES);
	if (codec_put_failed(pb))
		die("codec: encoding failed");
}

static void
codec_check(uint64_t i, uint32_t v32, uint64_t v64, const char *s1,
    const char *s2, const void *b, size_t blen, const uint8_t *blob)
{
	if (v32 != (uint32_t)i || v64 != i * 0x9e3779b97f4a7c15ULL ||
	    strcmp(s1, codec_s1) != 0 || strcmp(s2, codec_s2) != 0 ||
	    blen != CODEC_BYTES || memcmp(b, blob, CODEC_BYTES) != 0)
		die("codec: message %" PRIu64 " decoded to other values", i);
}

/*
 * reuse = 1: one pbuf kept across messages (codec_put_reset), strings read into
 * stack buffers (codec_get_strbuf).  reuse = 0: what worker.c does for each
 * message today: codec_put_init/codec_put_free,
     strings read with codec_get_str (malloc).
 */
static void
bench_codec(int reuse, struct codec_res *res)
{
	struct pbuf	 pb;
	struct preader	 pr;
	uint8_t		 blob[CODEC_BYTES];
	char		 b1[64], b2[64], *s1, *s2;
	const void	*b;
	size_t		 blen;
	uint64_t	 i = 0, t0, t;
	uint32_t	 v32;
	uint64_t	 v64;

	fill_random(blob, sizeof(blob), 42);
	memset(res, 0, sizeof(*res));
	codec_put_init(&pb);
	t0 = now_ns();
	for (;;) {
		if (reuse)
			codec_put_reset(&pb);
		else
			codec_put_init(&pb);
		codec_encode(&pb, i, blob);
		res->enclen = pb.len;

		codec_get_init(&pr, pb.buf, pb.len);
		v32 = codec_get_u32(&pr);
		v64 = codec_get_u64(&pr);
		if (reuse) {
			if (codec_get_strbuf(&pr, b1, sizeof(b1)) == -1 ||
			    codec_get_strbuf(&pr, b2, sizeof(b2)) == -1)
				die("codec: codec_get_strbuf: %s", pr.err);
			s1 = b1;
			s2 = b2;
		} else {
			if ((s1 = codec_get_str(&pr)) == NULL)
				die("codec: codec_get_str: %s", pr.err);
			if ((s2 = codec_get_str(&pr)) == NULL)
				die("codec: codec_get_str: %s", pr.err);
		}
		if ((b = codec_get_bytes(&pr, &blen)) == NULL)
			die("codec: codec_get_bytes: %s", pr.err);
		if (codec_get_end(&pr) == -1)
			die("codec: codec_get_end: %s", pr.err);
		codec_check(i, v32, v64, s1, s2, b, blen, blob);
		if (!reuse) {
			free(s1);
			free(s2);
			codec_put_free(&pb);
		}
		i++;
		if (i % 1024 == 0 &&
		    (t = now_ns()) - t0 >= (uint64_t)(CODEC_SECONDS * 1e9)) {
			res->ops = i;
			res->seconds = (double)(t - t0) / 1e9;
			break;
		}
	}
	codec_put_free(&pb);
}

/* Checksum speed alone, to tell its share of the stream numbers. */
static double
bench_sum64(void)
{
	size_t		 n = 256 * 1024;
	uint8_t		*p = xmalloc(n);
	uint64_t	 t0, t, x = 0, rounds = 0;

	fill_random(p, n, 7);
	t0 = now_ns();
	do {
		x ^= sum64(p, n);
		p[rounds % n] ^= (uint8_t)x;	/* keep it from folding */
		rounds++;
	} while ((t = now_ns()) - t0 < 200000000u);
	free(p);
	return (double)(rounds * n) / ((double)(t - t0) / 1e9) / 1e9;
}

/* ---- main ---- */

static void
on_alarm(int sig)
{
	static const char msg[] = "frame_bench: overall time limit reached\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: frame_bench [-s scale]\n"
	    "  -s scale  multiply the frame and round-trip counts "
	    "(default 1)\n");
	exit(2);
}

static uint64_t
scaled(uint64_t n, double scale)
{
	double	 v = (double)n * scale;

	return v < 1 ? 1 : (uint64_t)v;
}

int
main(int argc, char *argv[])
{
	/* About a second each on a 2-core VM (bench/README.md). */
	static const struct {
		size_t		 size;
		uint64_t	 count;		/* frames through frame.c */
		uint64_t	 raw_count;	/* plain writes, baseline */
	} streams[] = {
		{ 64, 5000000, 500000 },
		{ 1024, 3000000, 500000 },
		{ 16 * 1024, 300000, 300000 },
		{ 256 * 1024, 20000, 20000 },
	};
	struct run_cfg		 cfg;
	struct run_res		 r;
	struct codec_res	 cr;
	struct sigaction	 sa;
	struct ev_loop		*loop;
	unsigned		 backend;
	char			*end;
	double			 scale = 1.0;
	size_t			 i;
	int			 ch, raw, reuse;

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			errno = 0;
			scale = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(scale > 0) ||
			    scale > 100)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	if (sigemptyset(&sa.sa_mask) == -1 ||
	    sigaction(SIGALRM, &sa, NULL) == -1)
		die("sigaction: %s", strerror(errno));
	if (scale <= 1.0)
		alarm(TOTAL_TIMEOUT);

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		die("ev_loop_new failed");
	backend = ev_backend(loop);
	ev_loop_destroy(loop);
	printf("frame_bench: edge front<->sender (proto.c), AF_UNIX "
	    "SOCK_STREAM socketpair,\n"
	    "two processes, one ev_loop each (libev %d.%d, backend %s), "
	    "%d-byte frame header\n\n", ev_version_major(),
	    ev_version_minor(), backend == EVBACKEND_EPOLL ? "epoll" :
	    backend == EVBACKEND_POLL ? "poll" :
	    backend == EVBACKEND_SELECT ? "select" : "other", FRAME_HDR_LEN);

	printf("(1) one-way stream, front -> sender; frame: output queue "
	    "bounded to %u KiB (frame_queued)\n", WINDOW_BYTES / 1024);
	printf("%10s  %-5s %9s %7s %10s %8s %9s %8s %8s\n", "payload",
	    "path", "frames", "seconds", "frames/s", "MB/s", "wire MB/s",
	    "tx flt/f", "rx flt/f");
	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		for (raw = 0; raw <= 1; raw++) {
			memset(&cfg, 0, sizeof(cfg));
			cfg.mode = MODE_STREAM;
			cfg.size = streams[i].size;
			cfg.count = scaled(raw ? streams[i].raw_count :
			    streams[i].count, scale);
			run_pair(&cfg, raw, &r);
			printf("%8zu B  %-5s %9" PRIu64 " %7.3f %10.0f %8.1f "
			    "%9.1f %8.2f %8.2f\n", cfg.size,
			    raw ? "raw" : "frame", r.frames, r.seconds,
			    (double)r.frames / r.seconds,
			    (double)r.payload_bytes / r.seconds / 1e6,
			    (double)(r.payload_bytes + r.frames *
			    FRAME_HDR_LEN) / r.seconds / 1e6,
			    (double)r.tx_minflt / (double)r.frames,
			    (double)r.rx_minflt / (double)r.frames);
		}
	}
	printf("  MB = 10^6 bytes of payload; wire MB/s adds the 16-byte "
	    "header; flt/f = minor\n  page faults per frame in the front "
	    "(tx) and sender (rx) process.  frame: every\n  frame's sequence "
	    "number and checksum verified by the sender.  raw: one\n  "
	    "blocking write() per frame, reads of 256 KiB, no frame layer, "
	    "no libev.\n\n");

	printf("(2) request/response, %d-byte POINTS -> %d-byte POINTS_ACK, "
	    "one in flight\n", REQ_SIZE, ACK_SIZE);
	printf("%-5s %11s %8s %10s %9s %9s %9s %9s\n", "path", "round trips",
	    "seconds", "rt/s", "mean us", "median us", "p99 us", "max us");
	for (raw = 0; raw <= 1; raw++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.mode = MODE_PINGPONG;
		cfg.size = REQ_SIZE;
		cfg.count = scaled(50000, scale);
		cfg.warmup = 2000;
		run_pair(&cfg, raw, &r);
		printf("%-5s %11" PRIu64 " %8.3f %10.0f %9.1f %9.1f %9.1f "
		    "%9.1f\n", raw ? "raw" : "frame", r.frames, r.seconds,
		    (double)r.frames / r.seconds, r.lat_mean_us,
		    r.lat_median_us, r.lat_p99_us, r.lat_max_us);
	}
	printf("  each after %" PRIu64 " untimed round trips.  raw: blocking "
	    "write()/read() of the\n  same bytes, no frame layer, no "
	    "libev.\n\n", cfg.warmup);

	printf("(3) codec alone, one process: encode + decode of u32, u64, "
	    "2 short str, %d B bytes\n", CODEC_BYTES);
	printf("%-34s %9s %8s %12s %9s %10s\n", "variant", "messages",
	    "seconds", "msgs/s", "ns/msg", "MB/s");
	for (reuse = 1; reuse >= 0; reuse--) {
		bench_codec(reuse, &cr);
		printf("%-34s %9" PRIu64 " %8.3f %12.0f %9.0f %10.1f\n",
		    reuse ? "reused pbuf, codec_get_strbuf" :
		    "codec_put_init/codec_put_free, codec_get_str (malloc)",
		    cr.ops, cr.seconds, (double)cr.ops / cr.seconds,
		    cr.seconds * 1e9 / (double)cr.ops,
		    (double)cr.ops * (double)cr.enclen / cr.seconds / 1e6);
	}
	printf("  encoded message: %zu bytes; MB/s counts encoded bytes; "
	    "decoded values checked\n\n", cr.enclen);

	printf("payload checksum (sum64, verification cost): %.1f GB/s\n",
	    bench_sum64());
	return 0;
}
