/*
 * Unit tests of the front's HTTP server (src/workers/front/front_http.c) over
 * real sockets and a real libev loop.  Clients are non-blocking sockets
 * in the test process itself; the test steps the loop (ev_run ONCE with
 * a 5 ms tick) while it waits for bytes, so nothing relies on sleeping.
 * Responses are parsed with http-parser, which also proves the framing
 * (Content-Length, HEAD without body, pipelined order).
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>
#include <http_parser.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
/* From <sanitizer/allocator_interface.h>, which gcc does not ship. */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

#include "common/log.h"
#include "common/sockdiag.h"
#include "workers/front/front_http.h"

#define MAXRESP		8
#define BIG_LEN		(8 * 1024 * 1024)
#define WAIT		3.0

struct resp {
	int		 status;
	char		 hdrs[4096];	/* "\nname:value" lines, names lower */
	size_t		 hlen;
	char		*body;
	size_t		 blen;
	int		 done;
};

struct client {
	int		 fd;
	http_parser	 p;
	struct resp	 r[MAXRESP];
	int		 n;		/* responses begun */
	int		 head[MAXRESP];	/* response i answers a HEAD */
	int		 in_value;
	int		 eof;
	int		 reset;
	int		 perr;
	char		 raw[65536];	/* first bytes received */
	size_t		 rawlen;
};

static struct ev_loop		*loop;
static struct http_server	*srv;
static int			 port;
static ev_timer			 tick;
static int			 ctx_token;

static struct http_request	*held[8];
static int			 nheld;
static int			 nstatus;
static uint64_t			 ids[32];
static int			 nids;
static int			 nwarn;
static char			 lastwarn[1024];
static char			*big;

/*
 * Handlers
 */

static void
note_id(struct http_request *req, void *ctx)
{
	cr_assert_eq(ctx, &ctx_token);
	if (nids < 32)
		ids[nids++] = req->id;
}

static void
h_status(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	nstatus++;
	cr_assert_eq(req->method, HTTP_M_GET);
	front_http_respond_json(req, 200, "{\"version\":\"test\"}");
}

static void
h_echo(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	cr_assert_eq(req->body[req->body_len], '\0');
	front_http_respond(req, 200, req->content_type[0] != '\0' ?
	    req->content_type : "application/octet-stream", req->body,
	    req->body_len);
}

static void
h_query(struct http_request *req, void *ctx)
{
	char	 v[64], out[256];
	int	 n;

	note_id(req, ctx);
	n = front_http_query_param(req, "a", v, sizeof(v));
	snprintf(out, sizeof(out), "a=%s|%d|%s|%s", n >= 0 ? v : "", n,
	    req->path, req->query);
	front_http_respond(req, 200, "text/plain", out, strlen(out));
}

static void
h_hold(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	cr_assert_lt(nheld, 8);
	held[nheld++] = req;
}

static void
h_hello(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	front_http_respond(req, 200, "text/plain", "hi", 2);
}

static void
h_method(struct http_request *req, void *ctx)
{
	char	 out[32];

	note_id(req, ctx);
	snprintf(out, sizeof(out), "method=%u", req->method);
	front_http_respond(req, 200, "text/plain", out, strlen(out));
}

static void
h_big(struct http_request *req, void *ctx)
{
	size_t	 i;

	note_id(req, ctx);
	if (big == NULL) {
		big = malloc(BIG_LEN);
		cr_assert_not_null(big);
		for (i = 0; i < BIG_LEN; i++)
			big[i] = (char)('a' + (i * 7) % 26);
	}
	front_http_respond(req, 200, "application/octet-stream", big, BIG_LEN);
}

static void
h_err(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	front_http_respond_error(req, 409, "bad \"thing\"\n\\ here");
}

static void
h_bad(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	front_http_respond(req, 42, "text/plain\r\nX-Evil: 1", "x", 1);
}

static void
h_204(struct http_request *req, void *ctx)
{
	note_id(req, ctx);
	cr_assert_eq(req->method, HTTP_M_DELETE);
	front_http_respond(req, 204, "text/plain", "ignored", 7);
}

/* Where the request came from, and its Authorization header. */
static void
h_who(struct http_request *req, void *ctx)
{
	char	 out[512], peer[64];

	note_id(req, ctx);
	snprintf(out, sizeof(out), "via=%s loop=%d peer=%s auth=[%s]",
	    req->via == HTTP_VIA_TCP ? "tcp" : req->via == HTTP_VIA_UNIX ?
	    "unix" : "other", front_http_peer_loopback(req),
	    front_http_peer_str(req, peer, sizeof(peer)), req->authorization);
	front_http_respond(req, 200, "text/plain", out, strlen(out));
}

/* The headers browsers send, as the handler sees them. */
static void
h_browser(struct http_request *req, void *ctx)
{
	char	 out[512];

	note_id(req, ctx);
	snprintf(out, sizeof(out), "origin=%s sfs=%s host=%s",
	    req->origin != NULL ? req->origin : "(none)",
	    req->sec_fetch_site != NULL ? req->sec_fetch_site : "(none)",
	    req->host != NULL ? req->host : "(none)");
	front_http_respond(req, 200, "text/plain", out, strlen(out));
}

/* Holds the request after setting its timeout to ?t= seconds. */
static int	 set_timeout_rc;

static void
h_long(struct http_request *req, void *ctx)
{
	char	 t[32];

	note_id(req, ctx);
	cr_assert_geq(front_http_query_param(req, "t", t, sizeof(t)), 0);
	set_timeout_rc = front_http_request_set_timeout(req, strtod(t, NULL));
	cr_assert_lt(nheld, 8);
	held[nheld++] = req;
}

static void
h_hdr(struct http_request *req, void *ctx)
{
	char	 longv[HTTP_XHDR_MAX];

	note_id(req, ctx);
	cr_assert_eq(front_http_request_add_header(req, "WWW-Authenticate",
	    "Bearer realm=\"agent\""), 0);
	cr_assert_eq(front_http_request_add_header(req, "X-Two", "2\tok"), 0);
	/* Refused: not a token, control characters, too long. */
	cr_assert_eq(front_http_request_add_header(req, "Bad Name", "x"), -1);
	cr_assert_eq(front_http_request_add_header(req, "", "x"), -1);
	cr_assert_eq(front_http_request_add_header(req, "X-Evil",
	    "a\r\nX-More: 1"), -1);
	cr_assert_eq(front_http_request_add_header(req, "X-Evil", "a\nb"), -1);
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	cr_assert_eq(front_http_request_add_header(req, "X-Big", longv), -1);
	front_http_respond_error(req, 401, "token needed");
}

static const struct http_route routes[] = {
	{ "/who", HTTP_M_GET | HTTP_M_POST, h_who },
	{ "/browser", HTTP_M_GET, h_browser },
	{ "/long", HTTP_M_GET, h_long },
	{ "/hdr", HTTP_M_GET, h_hdr },
	{ "/bad", HTTP_M_GET, h_bad },
	{ "/204", HTTP_M_DELETE, h_204 },
	{ "/me/status", HTTP_M_GET, h_status },
	{ "/echo", HTTP_M_POST | HTTP_M_PUT, h_echo },
	{ "/q", HTTP_M_GET, h_query },
	{ "/slow", HTTP_M_GET, h_hold },
	{ "/hello world", HTTP_M_GET, h_hello },
	{ "/m", HTTP_M_GET | HTTP_M_DELETE, h_method },
	{ "/big", HTTP_M_GET, h_big },
	{ "/err", HTTP_M_GET, h_err },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/*
 * Server and loop
 */

static void
sink(enum log_level lvl, const char *msg, void *arg)
{
	if (lvl >= LOG_LVL_WARN) {
		nwarn++;
		snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
	}
	if (getenv("TEST_HTTP_VERBOSE") != NULL)
		fprintf(stderr, "%s %s\n", log_level_name(lvl), msg);
}

static void
tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
}

static double
now(void)
{
	struct timespec	 ts;

	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
step(void)
{
	ev_run(loop, EVRUN_ONCE);
}

static void
run_for(double secs)
{
	double	 end = now() + secs;

	while (now() < end)
		step();
}

static int
listen_tcp(int *portp)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*portp = ntohs(sin.sin_port);
	return fd;
}

static struct http_limits
limits(void)
{
	struct http_limits	 l = HTTP_DEFAULT_LIMITS;

	return l;
}

static void
start(const struct http_limits *lim)
{
	int	 fd;

	log_init("test", LOG_LVL_DEBUG);
	log_set_sink(sink, NULL);
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	srv = front_http_server_new(loop, lim, routes, NROUTES, &ctx_token);
	cr_assert_not_null(srv);
	fd = listen_tcp(&port);
	cr_assert_eq(front_http_server_listen(srv, fd, "tcp"), 0);
	ev_timer_init(&tick, tick_cb, 0.005, 0.005);
	ev_timer_start(loop, &tick);
}

/*
 * Criterion reports a test before LeakSanitizer's exit-time check runs,
 * so a leak would not fail it; in the sanitizer build, check here.
 */
static void
check_leaks(void)
{
#ifdef __SANITIZE_ADDRESS__
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
	    "LeakSanitizer found leaks (see stderr)");
#endif
}

/*
 * A request the server still tracks is no leak to LeakSanitizer, so
 * "front_http_respond frees an orphaned request" is checked by the heap
 * shrinking, which only the sanitizer build can measure exactly.
 */
static void
assert_heap_shrinks(size_t before)
{
#ifdef __SANITIZE_ADDRESS__
	cr_assert_lt(__sanitizer_get_current_allocated_bytes(), before,
	    "request not freed");
#endif
}

static size_t
heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	return 0;
#endif
}

static void
stop(void)
{
	ev_timer_stop(loop, &tick);
	front_http_server_free(srv);
	srv = NULL;
	ev_loop_destroy(loop);
	loop = NULL;
	free(big);
	big = NULL;
	check_leaks();
}

/*
 * Clients
 */

static struct resp *
cur_resp(struct client *cl)
{
	return &cl->r[cl->n - 1];
}

static void
hdr_add(struct resp *r, const char *s, size_t len, int lower)
{
	size_t	 i;

	for (i = 0; i < len && r->hlen + 1 < sizeof(r->hdrs); i++)
		r->hdrs[r->hlen++] = lower ?
		    (char)tolower((unsigned char)s[i]) : s[i];
	r->hdrs[r->hlen] = '\0';
}

static int
c_begin(http_parser *p)
{
	struct client	*cl = p->data;

	if (cl->n >= MAXRESP)
		return -1;
	cl->n++;
	memset(cur_resp(cl), 0, sizeof(struct resp));
	cl->in_value = 1;
	return 0;
}

static int
c_field(http_parser *p, const char *at, size_t len)
{
	struct client	*cl = p->data;

	if (cl->in_value) {
		hdr_add(cur_resp(cl), "\n", 1, 0);
		cl->in_value = 0;
	}
	hdr_add(cur_resp(cl), at, len, 1);
	return 0;
}

static int
c_value(http_parser *p, const char *at, size_t len)
{
	struct client	*cl = p->data;

	if (!cl->in_value) {
		hdr_add(cur_resp(cl), ":", 1, 0);
		cl->in_value = 1;
	}
	hdr_add(cur_resp(cl), at, len, 0);
	return 0;
}

static int
c_headers(http_parser *p)
{
	struct client	*cl = p->data;

	hdr_add(cur_resp(cl), "\n", 1, 0);
	cur_resp(cl)->status = p->status_code;
	/* 1 = no body: what a HEAD response must look like. */
	return cl->head[cl->n - 1] ? 1 : 0;
}

static int
c_body(http_parser *p, const char *at, size_t len)
{
	struct client	*cl = p->data;
	struct resp	*r = cur_resp(cl);
	char		*nb;

	nb = realloc(r->body, r->blen + len + 1);
	cr_assert_not_null(nb);
	r->body = nb;
	memcpy(r->body + r->blen, at, len);
	r->blen += len;
	r->body[r->blen] = '\0';
	return 0;
}

static int
c_complete(http_parser *p)
{
	struct client	*cl = p->data;

	cur_resp(cl)->done = 1;
	return 0;
}

static const http_parser_settings client_settings = {
	.on_message_begin = c_begin,
	.on_header_field = c_field,
	.on_header_value = c_value,
	.on_headers_complete = c_headers,
	.on_body = c_body,
	.on_message_complete = c_complete,
};

static struct client *
client_init(int fd)
{
	struct client	*cl;

	cl = calloc(1, sizeof(*cl));
	cr_assert_not_null(cl);
	cl->fd = fd;
	http_parser_init(&cl->p, HTTP_RESPONSE);
	cl->p.data = cl;
	return cl;
}

/* A TCP client; rcvbuf > 0 sets its receive buffer before connecting. */
static struct client *
client_new_rcvbuf(int rcvbuf)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	if (rcvbuf > 0)
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		cr_assert_eq(errno, EINPROGRESS, "connect: %s",
		    strerror(errno));
	return client_init(fd);
}

static struct client *
client_new(void)
{
	return client_new_rcvbuf(0);
}

static void
client_free(struct client *cl)
{
	int	 i;

	if (cl->fd != -1)
		close(cl->fd);
	for (i = 0; i < cl->n; i++)
		free(cl->r[i].body);
	free(cl);
}

/* Close with RST, like a client that crashed. */
static void
client_abort(struct client *cl)
{
	struct linger	 lg = { 1, 0 };

	cr_assert_eq(setsockopt(cl->fd, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(cl->fd);
	cl->fd = -1;
}

static void
client_send(struct client *cl, const char *data, size_t len)
{
	double	 end = now() + WAIT;
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = send(cl->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		cr_assert(n == -1 && (errno == EAGAIN || errno == EINTR),
		    "send: %s", strerror(errno));
		cr_assert_lt(now(), end, "send timed out");
		step();
	}
}

static void
client_sends(struct client *cl, const char *s)
{
	client_send(cl, s, strlen(s));
}

static void
client_poll(struct client *cl)
{
	char	 buf[65536];
	ssize_t	 n;
	size_t	 k;

	while (!cl->eof) {
		n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			cr_assert(errno == ECONNRESET || errno == ECONNREFUSED,
			    "recv: %s", strerror(errno));
			cl->reset = 1;
			cl->eof = 1;
			return;
		}
		if (n == 0) {
			cl->eof = 1;
			return;
		}
		k = (size_t)n;
		if (k > sizeof(cl->raw) - cl->rawlen)
			k = sizeof(cl->raw) - cl->rawlen;
		memcpy(cl->raw + cl->rawlen, buf, k);
		cl->rawlen += k;
		if (!cl->perr && http_parser_execute(&cl->p, &client_settings,
		    buf, n) != (size_t)n)
			cl->perr = 1;
	}
}

static int
client_done(const struct client *cl)
{
	int	 i, k = 0;

	for (i = 0; i < cl->n; i++)
		if (cl->r[i].done)
			k++;
	return k;
}

/* Wait for `n' complete responses (or EOF, or `secs'); how many came. */
static int
client_wait(struct client *cl, int n, double secs)
{
	double	 end = now() + secs;

	for (;;) {
		client_poll(cl);
		if (client_done(cl) >= n || cl->eof || now() >= end)
			break;
		step();
	}
	return client_done(cl);
}

static int
client_wait_eof(struct client *cl, double secs)
{
	double	 end = now() + secs;

	for (;;) {
		client_poll(cl);
		if (cl->eof || now() >= end)
			break;
		step();
	}
	return cl->eof;
}

static int
wait_conns(unsigned n, double secs)
{
	double	 end = now() + secs;

	while (front_http_server_conns(srv) != n && now() < end)
		step();
	return front_http_server_conns(srv) == n;
}

/* Value of header `name' (lower case) in a response, or NULL. */
static const char *
hdr(struct resp *r, const char *name, char *buf, size_t len)
{
	char		 pat[128];
	const char	*s, *e;
	size_t		 n;

	snprintf(pat, sizeof(pat), "\n%s:", name);
	if ((s = strstr(r->hdrs, pat)) == NULL)
		return NULL;
	s += strlen(pat);
	while (*s == ' ')
		s++;
	e = strchr(s, '\n');
	n = e != NULL ? (size_t)(e - s) : strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static int
hdr_is(struct resp *r, const char *name, const char *want)
{
	char		 buf[256];
	const char	*v;

	v = hdr(r, name, buf, sizeof(buf));
	return v != NULL && strcmp(v, want) == 0;
}

static void
assert_resp(struct resp *r, int status, const char *ctype, const char *body)
{
	char	 buf[32];

	cr_assert(r->done, "response not complete");
	cr_assert_eq(r->status, status, "status %d, want %d", r->status,
	    status);
	if (ctype != NULL)
		cr_assert(hdr_is(r, "content-type", ctype),
		    "content-type in %s", r->hdrs);
	cr_assert_not_null(hdr(r, "content-length", buf, sizeof(buf)));
	if (body != NULL) {
		cr_assert_eq(r->blen, strlen(body), "body length %zu: %.*s",
		    r->blen, (int)r->blen, r->body ? r->body : "");
		cr_assert_eq(memcmp(r->body, body, r->blen), 0, "body %s",
		    r->body);
		snprintf(buf, sizeof(buf), "%zu", strlen(body));
		cr_assert(hdr_is(r, "content-length", buf));
	}
}

/* One request on a fresh connection; the connection is returned. */
static struct client *
one(const char *req)
{
	struct client	*cl = client_new();

	client_sends(cl, req);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1, "no response to %s", req);
	return cl;
}

#define GET_STATUS	"GET /me/status HTTP/1.1\r\nHost: x\r\n\r\n"
#define STATUS_BODY	"{\"version\":\"test\"}"
/* a request answered, and the start of the next one: not idle */
#define GET_BUSY	GET_STATUS "GET /me/status HTTP/1.1\r\n"

/*
 * Tests
 */

Test(http, get_json_headers)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one(GET_STATUS);
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	cr_assert(hdr_is(&cl->r[0], "connection", "keep-alive"));
	cr_assert(cl->rawlen > 17 && memcmp(cl->raw, "HTTP/1.1 200 OK\r\n",
	    17) == 0, "status line: %.40s", cl->raw);
	cr_assert_eq(front_http_server_conns(srv), 1);
	cr_assert(!cl->eof);
	client_free(cl);
	stop();
}

Test(http, keepalive_two_requests)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one(GET_STATUS);
	client_sends(cl, "GET /q?a=2 HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	assert_resp(&cl->r[1], 200, "text/plain", "a=2|1|/q|a=2");
	cr_assert(!cl->eof);
	cr_assert_eq(front_http_server_conns(srv), 1);
	cr_assert_eq(nids, 2);
	cr_assert_neq(ids[0], ids[1]);
	client_free(cl);
	stop();
}

Test(http, pipelined_in_order)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, GET_STATUS
	    "GET /q?a=x%20y+z HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	cr_assert_eq(client_wait(cl, 4, WAIT), 4);
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	assert_resp(&cl->r[1], 200, "text/plain",
	    "a=x y z|5|/q|a=x%20y+z");
	assert_resp(&cl->r[2], 404, "application/json",
	    "{\"error\":\"no such endpoint: /nope\"}");
	assert_resp(&cl->r[3], 200, NULL, "abc");
	cr_assert(!cl->eof);
	/* Ids are unique and grow (the 404 took one too). */
	cr_assert_eq(nids, 3);
	cr_assert_lt(ids[0], ids[1]);
	cr_assert_lt(ids[1], ids[2]);
	client_free(cl);
	stop();
}

Test(http, split_into_single_bytes)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	const char		*req = "POST /echo?x=1 HTTP/1.1\r\n"
	    "Host: x\r\nContent-Type: application/x-test\r\n"
	    "Content-Length: 11\r\n\r\nhello world";
	size_t			 i;

	start(&lim);
	cl = client_new();
	for (i = 0; req[i] != '\0'; i++) {
		client_send(cl, req + i, 1);
		step();
	}
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, "application/x-test", "hello world");
	client_free(cl);
	stop();
}

Test(http, http10_closes)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("GET /me/status HTTP/1.0\r\n\r\n");
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert(!cl->reset);
	/* The server lingers until the client is done too. */
	close(cl->fd);
	cl->fd = -1;
	cr_assert(wait_conns(0, 0.5));
	client_free(cl);
	stop();
}

Test(http, http10_keepalive)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("GET /me/status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	cr_assert(hdr_is(&cl->r[0], "connection", "keep-alive"));
	client_sends(cl, "GET /me/status HTTP/1.0\r\n\r\n");
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	cr_assert(hdr_is(&cl->r[1], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));
	client_free(cl);
	stop();
}

Test(http, connection_close_honoured)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	/* The second request comes after "close" and is not answered. */
	client_sends(cl, "GET /me/status HTTP/1.1\r\nConnection: close\r\n\r\n"
	    GET_STATUS);
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_eq(client_done(cl), 1);
	assert_resp(&cl->r[0], 200, "application/json", STATUS_BODY);
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert_eq(nstatus, 1);
	client_free(cl);
	stop();
}

Test(http, not_found_keeps_connection)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("GET /x HTTP/1.1\r\n\r\n");
	assert_resp(&cl->r[0], 404, "application/json",
	    "{\"error\":\"no such endpoint: /x\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "keep-alive"));
	client_sends(cl, GET_STATUS);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	client_free(cl);
	stop();
}

Test(http, method_not_allowed)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "DELETE /me/status HTTP/1.1\r\n\r\n"
	    "PATCH /me/status HTTP/1.1\r\n\r\n"
	    "PATCH /nope HTTP/1.1\r\n\r\n"
	    "POST /m HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
	    "DELETE /m HTTP/1.1\r\n\r\n"
	    "GET /echo HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 6, WAIT), 6);
	assert_resp(&cl->r[0], 405, "application/json", NULL);
	cr_assert(hdr_is(&cl->r[0], "allow", "GET, HEAD"), "%s",
	    cl->r[0].hdrs);
	cr_assert_not_null(strstr(cl->r[0].body, "DELETE"));
	assert_resp(&cl->r[1], 405, "application/json", NULL);
	cr_assert(hdr_is(&cl->r[1], "allow", "GET, HEAD"));
	assert_resp(&cl->r[2], 404, "application/json",
	    "{\"error\":\"no such endpoint: /nope\"}");
	assert_resp(&cl->r[3], 405, NULL, NULL);
	cr_assert(hdr_is(&cl->r[3], "allow", "GET, HEAD, DELETE"));
	assert_resp(&cl->r[4], 200, "text/plain", "method=8");
	assert_resp(&cl->r[5], 405, NULL, NULL);
	cr_assert(hdr_is(&cl->r[5], "allow", "POST, PUT"));
	cr_assert(!cl->eof);
	client_free(cl);
	stop();
}

Test(http, head_like_get_without_body)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 buf[32];

	start(&lim);
	cl = client_new();
	cl->head[0] = 1;
	cl->head[1] = 1;
	client_sends(cl, "HEAD /me/status HTTP/1.1\r\n\r\n"
	    "HEAD /nope HTTP/1.1\r\n\r\n" GET_STATUS);
	cr_assert_eq(client_wait(cl, 3, WAIT), 3);
	cr_assert_eq(cl->r[0].status, 200);
	cr_assert_eq(cl->r[0].blen, 0);
	snprintf(buf, sizeof(buf), "%zu", strlen(STATUS_BODY));
	cr_assert(hdr_is(&cl->r[0], "content-length", buf));
	cr_assert(hdr_is(&cl->r[0], "content-type", "application/json"));
	cr_assert_eq(cl->r[1].status, 404);
	cr_assert_eq(cl->r[1].blen, 0);
	/* Had a HEAD answer carried a body, this would not parse. */
	assert_resp(&cl->r[2], 200, "application/json", STATUS_BODY);
	cr_assert(!cl->perr);
	cr_assert_eq(nstatus, 2);	/* the GET handler served the HEAD */
	client_free(cl);
	stop();
}

Test(http, malformed_400_then_serves_others)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *cl2, *cl3;

	start(&lim);
	cl = one("BOGUS / HTTP/1.1\r\n\r\n");
	assert_resp(&cl->r[0], 400, "application/json", NULL);
	cr_assert_not_null(strstr(cl->r[0].body, "HPE_INVALID_METHOD"),
	    "%s", cl->r[0].body);
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));

	cl2 = one("GET / HTTP/1.1\r\nbad header\r\n\r\n");
	assert_resp(&cl2->r[0], 400, "application/json", NULL);
	cr_assert_not_null(strstr(cl2->r[0].body, "HPE_INVALID_HEADER_TOKEN"),
	    "%s", cl2->r[0].body);
	cr_assert(client_wait_eof(cl2, WAIT));

	cl3 = one(GET_STATUS);
	assert_resp(&cl3->r[0], 200, "application/json", STATUS_BODY);
	client_free(cl);
	client_free(cl2);
	client_free(cl3);
	stop();
}

Test(http, header_over_limit_431)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *ok;
	char			 req[4096];

	lim.max_header = 1024;
	start(&lim);
	/* Just under the limit passes. */
	snprintf(req, sizeof(req), "GET /me/status HTTP/1.1\r\n"
	    "X-Pad: %0*d\r\n\r\n", 950, 0);
	ok = one(req);
	assert_resp(&ok->r[0], 200, NULL, STATUS_BODY);
	snprintf(req, sizeof(req), "GET /me/status HTTP/1.1\r\n"
	    "X-Big: %0*d\r\n\r\n", 2000, 0);
	cl = one(req);
	assert_resp(&cl->r[0], 431, "application/json",
	    "{\"error\":\"request header larger than 1024 bytes\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert(!cl->reset);
	cr_assert_eq(nstatus, 1);
	client_free(ok);
	client_free(cl);
	stop();
}

Test(http, long_url_431)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 req[8192];

	lim.max_header = 1024;
	start(&lim);
	snprintf(req, sizeof(req), "GET /q?a=%0*d HTTP/1.1\r\n\r\n", 4000, 0);
	cl = one(req);
	cr_assert_eq(cl->r[0].status, 431);
	cr_assert(client_wait_eof(cl, WAIT));
	client_free(cl);
	stop();
}

Test(http, content_length_over_limit_413)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *ok;
	char			 req[512];

	lim.max_body = 100;
	start(&lim);
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\n"
	    "Content-Length: 100\r\n\r\n%0*d", 100, 0);
	ok = one(req);
	cr_assert_eq(ok->r[0].status, 200);
	cr_assert_eq(ok->r[0].blen, 100);
	/* Headers only: the answer must not wait for the body. */
	cl = one("POST /echo HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
	assert_resp(&cl->r[0], 413, "application/json",
	    "{\"error\":\"request body larger than 100 bytes\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));
	client_free(ok);
	client_free(cl);
	stop();
}

Test(http, answer_survives_unread_body)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			*body;
	size_t			 blen = 1024 * 1024;

	lim.max_body = 100;
	start(&lim);
	body = malloc(blen);
	cr_assert_not_null(body);
	memset(body, 'x', blen);
	/*
	 * The server answers 413 after the headers while most of the body
	 * is still unread; closing then would reset the connection and
	 * could destroy the answer.  It drains instead.
	 */
	cl = client_new();
	client_sends(cl, "POST /echo HTTP/1.1\r\nContent-Length: 1048576\r\n"
	    "\r\n");
	client_send(cl, body, blen);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	cr_assert_eq(cl->r[0].status, 413);
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert(!cl->reset);
	free(body);
	client_free(cl);
	stop();
}

Test(http, chunked_over_limit_413)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *cl2;
	char			 req[1024];

	lim.max_body = 100;
	start(&lim);
	/* Two chunks of 64: the second one crosses the limit. */
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "40\r\n%0*d\r\n40\r\n%0*d\r\n0\r\n\r\n", 64, 0, 64, 0);
	cl = one(req);
	assert_resp(&cl->r[0], 413, "application/json", NULL);
	cr_assert(client_wait_eof(cl, WAIT));
	/* One chunk announced too large, before its data comes. */
	cl2 = one("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "c8\r\n");
	cr_assert_eq(cl2->r[0].status, 413);
	cr_assert(client_wait_eof(cl2, WAIT));
	cr_assert_eq(nids, 0);
	client_free(cl);
	client_free(cl2);
	stop();
}

Test(http, post_body_intact)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 hdrs[256], body[5000];
	size_t			 i;

	start(&lim);
	for (i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 31);	/* includes NUL bytes */
	cl = client_new();
	snprintf(hdrs, sizeof(hdrs), "PUT /echo HTTP/1.1\r\n"
	    "content-TYPE: application/x-test\r\n"
	    "Content-Length: %zu\r\n\r\n", sizeof(body));
	client_sends(cl, hdrs);
	client_send(cl, body, sizeof(body));
	client_sends(cl, "POST /echo HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "6\r\nhello \r\n8;ext=1\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n");
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	cr_assert_eq(cl->r[0].status, 200);
	cr_assert(hdr_is(&cl->r[0], "content-type", "application/x-test"));
	cr_assert_eq(cl->r[0].blen, sizeof(body));
	cr_assert_eq(memcmp(cl->r[0].body, body, sizeof(body)), 0);
	assert_resp(&cl->r[1], 200, "application/octet-stream",
	    "hello chunked world");
	client_free(cl);
	stop();
}

Test(http, expect_100_continue)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 5\r\n\r\n");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	cr_assert_eq(cl->r[0].status, 100);
	client_sends(cl, "hello");
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[1], 200, NULL, "hello");
	client_free(cl);
	stop();
}

Test(http, max_conns_503)
{
	struct http_limits	 lim = limits();
	struct client		*c1, *c2, *c3, *c4;

	lim.max_conns_tcp = 2;
	start(&lim);
	/* each with a request begun: not idle, so nobody's to give up */
	c1 = one(GET_BUSY);
	c2 = one(GET_BUSY);
	cr_assert_eq(front_http_server_conns(srv), 2);
	c3 = client_new();
	/* The server answers at once, before any request. */
	cr_assert_eq(client_wait(c3, 1, WAIT), 1);
	assert_resp(&c3->r[0], 503, "application/json",
	    "{\"error\":\"too many connections\"}");
	cr_assert(hdr_is(&c3->r[0], "retry-after", "1"));
	cr_assert(hdr_is(&c3->r[0], "connection", "close"));
	cr_assert(client_wait_eof(c3, WAIT));
	cr_assert_eq(front_http_server_conns(srv), 2);
	cr_assert_geq(nwarn, 1);
	cr_assert_not_null(strstr(lastwarn, "max_conns_tcp"), "%s", lastwarn);
	/* A slot frees up: served again. */
	client_free(c1);
	cr_assert(wait_conns(1, WAIT));
	c4 = one(GET_STATUS);
	assert_resp(&c4->r[0], 200, NULL, STATUS_BODY);
	cr_assert_eq(front_http_server_conns(srv), 2);
	client_free(c2);
	client_free(c3);
	client_free(c4);
	stop();
}

Test(http, idle_timeout_closes_silently)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *cl2;
	double			 t0;

	lim.idle_timeout = 0.2;
	start(&lim);
	t0 = now();
	cl = client_new();
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_geq(now() - t0, 0.15);
	cr_assert_eq(cl->rawlen, 0);
	/* Idle after an answer: same. */
	t0 = now();
	cl2 = one(GET_STATUS);
	cr_assert(client_wait_eof(cl2, WAIT));
	cr_assert_geq(now() - t0, 0.15);
	cr_assert_eq(client_done(cl2), 1);
	cr_assert(wait_conns(0, WAIT));
	client_free(cl);
	client_free(cl2);
	stop();
}

Test(http, idle_timeout_partial_request_408)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.idle_timeout = 0.2;
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /me/status HTTP/1.1\r\nHost:");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 408, "application/json",
	    "{\"error\":\"request timed out\"}");
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_eq(nstatus, 0);
	client_free(cl);
	stop();
}

static void
answer_later_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	cr_assert_eq(nheld, 1);
	front_http_respond_json(held[0], 200, "{\"late\":true}");
}

Test(http, async_answer_later)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	ev_timer		 t;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 1, 0.05), 0);
	cr_assert_eq(nheld, 1);
	cr_assert_str_eq(held[0]->path, "/slow");
	cr_assert_str_eq(held[0]->query, "");
	cr_assert_str_eq(held[0]->content_type, "");
	cr_assert_eq(held[0]->body_len, 0);
	ev_timer_init(&t, answer_later_cb, 0.05, 0.);
	ev_timer_start(loop, &t);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, "application/json", "{\"late\":true}");
	client_sends(cl, GET_STATUS);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	client_free(cl);
	stop();
}

Test(http, idle_timeout_spares_busy_handler)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	ev_timer		 t;

	lim.idle_timeout = 0.1;
	lim.handler_timeout = 0;	/* disabled */
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	ev_timer_init(&t, answer_later_cb, 0.4, 0.);
	ev_timer_start(loop, &t);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, "application/json", "{\"late\":true}");
	/* Idle again afterwards: now it applies. */
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_eq(client_done(cl), 1);
	client_free(cl);
	stop();
}

Test(http, async_pipelined_waits_its_turn)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n" GET_STATUS);
	cr_assert_eq(client_wait(cl, 1, 0.1), 0);
	cr_assert_eq(nheld, 1);
	cr_assert_eq(nstatus, 0, "second request dispatched too early");
	front_http_respond(held[0], 200, "text/plain", "first", 5);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[0], 200, "text/plain", "first");
	assert_resp(&cl->r[1], 200, "application/json", STATUS_BODY);
	client_free(cl);
	stop();
}

Test(http, async_client_reset_before_answer)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	size_t			 before;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	while (nheld == 0)
		step();
	cr_assert_eq(front_http_server_conns(srv), 1);
	client_abort(cl);
	cr_assert(wait_conns(0, WAIT));
	/* The connection is gone: this only frees the request. */
	before = heap_in_use();
	front_http_respond_json(held[0], 200, "{}");
	assert_heap_shrinks(before);
	run_for(0.02);
	client_free(cl);
	stop();
}

Test(http, async_client_closed_before_answer)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	while (nheld == 0)
		step();
	close(cl->fd);
	cl->fd = -1;
	run_for(0.05);
	front_http_respond_json(held[0], 200, "{}");
	cr_assert(wait_conns(0, WAIT));
	client_free(cl);
	stop();
}

Test(http, handler_timeout_504)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	size_t			 before;

	lim.handler_timeout = 0.2;
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 504, "application/json",
	    "{\"error\":\"handler timed out\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "keep-alive"));
	cr_assert_geq(nwarn, 1);
	/* The connection goes on. */
	client_sends(cl, GET_STATUS);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	/* The late answer is dropped and frees the request. */
	cr_assert_eq(nheld, 1);
	before = heap_in_use();
	front_http_respond_json(held[0], 200, "{\"late\":true}");
	assert_heap_shrinks(before);
	run_for(0.05);
	cr_assert_eq(cl->n, 2);
	cr_assert(!cl->eof);
	client_free(cl);
	stop();
}

Test(http, server_free_with_pending_request)
{
	struct http_limits	 lim = limits();
	struct client		*cl, *cl2;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\n\r\n");
	cl2 = client_new();
	client_sends(cl2, "GET /me/status HTTP/1.1\r\nHost: partial");
	while (nheld == 0)
		step();
	run_for(0.02);
	/* Frees the held request, the partial one and both connections;
	 * the leak checker of the sanitizer build proves it. */
	stop();
	cr_assert(client_wait_eof(cl, 0));
	client_free(cl);
	client_free(cl2);
}

Test(http, stop_listening_drains)
{
	struct http_limits	 lim = limits();
	struct client		*idle, *busy, *late;

	start(&lim);
	idle = one(GET_STATUS);
	busy = client_new();
	client_sends(busy, "GET /slow HTTP/1.1\r\n\r\n");
	while (nheld == 0)
		step();
	front_http_server_stop_listening(srv);
	cr_assert(client_wait_eof(idle, WAIT));
	cr_assert_eq(front_http_server_conns(srv), 1);
	/* The listening socket is gone. */
	late = client_new();
	cr_assert(client_wait_eof(late, WAIT));
	cr_assert_eq(client_done(late), 0);
	front_http_respond(held[0], 200, "text/plain", "done", 4);
	cr_assert_eq(client_wait(busy, 1, WAIT), 1);
	assert_resp(&busy->r[0], 200, "text/plain", "done");
	cr_assert(hdr_is(&busy->r[0], "connection", "close"));
	cr_assert(client_wait_eof(busy, WAIT));
	close(busy->fd);
	busy->fd = -1;
	cr_assert(wait_conns(0, 0.5));
	client_free(idle);
	client_free(busy);
	client_free(late);
	stop();
}

Test(http, percent_decoded_path)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	static const char *const bad[] = {
		"GET /me%zzstatus HTTP/1.1\r\n\r\n",
		"GET /me%2 HTTP/1.1\r\n\r\n",
		"GET /a%00b HTTP/1.1\r\n\r\n",
	};
	size_t			 i;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /hello%20world HTTP/1.1\r\n\r\n"
	    "GET /me%2Fstatus HTTP/1.1\r\n\r\n"
	    "GET /q?a=%zz&a=ok HTTP/1.1\r\n\r\n"
	    "GET /%71 HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 4, WAIT), 4);
	assert_resp(&cl->r[0], 200, "text/plain", "hi");
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	assert_resp(&cl->r[2], 200, NULL, "a=ok|2|/q|a=%zz&a=ok");
	assert_resp(&cl->r[3], 200, NULL, "a=|-1|/q|");
	client_free(cl);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cl = one(bad[i]);
		assert_resp(&cl->r[0], 400, "application/json",
		    "{\"error\":\"invalid percent-encoding in path\"}");
		cr_assert(client_wait_eof(cl, WAIT));
		client_free(cl);
	}
	cr_assert_eq(nstatus, 1);
	stop();
}

Test(http, json_error_escaping)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /a%22b%5Cc%0A%01 HTTP/1.1\r\n\r\n"
	    "GET /%FF%C3%A9 HTTP/1.1\r\n\r\n"
	    "GET /%C3%A9 HTTP/1.1\r\n\r\n"
	    "GET /err HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 4, WAIT), 4);
	assert_resp(&cl->r[0], 404, "application/json",
	    "{\"error\":\"no such endpoint: /a\\\"b\\\\c\\n\\u0001\"}");
	/* Not UTF-8: the message keeps its ASCII. */
	assert_resp(&cl->r[1], 404, "application/json",
	    "{\"error\":\"no such endpoint: /???\"}");
	assert_resp(&cl->r[2], 404, "application/json",
	    "{\"error\":\"no such endpoint: /\xc3\xa9\"}");
	assert_resp(&cl->r[3], 409, "application/json",
	    "{\"error\":\"bad \\\"thing\\\"\\n\\\\ here\"}");
	client_free(cl);
	stop();
}

Test(http, big_response_backpressure)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new_rcvbuf(65536);
	client_sends(cl, "GET /big HTTP/1.1\r\n\r\n" GET_STATUS);
	/* Not reading: the server must park the rest, not fail. */
	run_for(0.1);
	cr_assert_eq(front_http_server_conns(srv), 1);
	cr_assert_eq(nstatus, 0, "dispatched past the output high-water mark");
	/* 8 MiB through a 64 KiB window: 60 s only bounds a hang (10 s
	 * were too few under ASan on a loaded 2-core machine) */
	cr_assert_eq(client_wait(cl, 2, 60.0), 2, "%zu bytes of the body",
	    cl->r[0].blen);
	cr_assert_eq(cl->r[0].status, 200);
	cr_assert_eq(cl->r[0].blen, BIG_LEN);
	cr_assert_eq(memcmp(cl->r[0].body, big, BIG_LEN), 0);
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	client_free(cl);
	stop();
}

Test(http, unix_socket)
{
	struct http_limits	 lim = limits();
	struct sockaddr_un	 sun;
	struct client		*cl;
	char			 dir[] = "/tmp/test_http.XXXXXX";
	int			 fd, cfd;

	start(&lim);
	cr_assert_not_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/agent.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(front_http_server_listen(srv, fd, "unix"), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(cfd, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cl = client_init(cfd);
	client_sends(cl, "POST /echo?ns=x HTTP/1.1\r\nHost: loda:1234\r\n"
	    "Content-Type: application/json;charset=UTF-8\r\n"
	    "Content-Length: 2\r\n\r\n[]");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, "application/json;charset=UTF-8", "[]");
	client_free(cl);
	stop();
	cr_assert_eq(unlink(sun.sun_path), 0);
	cr_assert_eq(rmdir(dir), 0);
}

Test(http, not_a_listening_socket)
{
	struct http_limits	 lim = limits();
	int			 fd;

	start(&lim);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(front_http_server_listen(srv, fd, "bad"), -1);
	/* It took the descriptor and closed it. */
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	stop();
}

Test(http, accept_emfile_pauses)
{
	struct http_limits	 lim = limits();
	struct rlimit		 orig, low;
	struct client		*cl;
	int			 free_fd, warn0;

	start(&lim);
	/* Connected and sent before the limit: the backlog holds it. */
	cl = client_new();
	client_sends(cl, GET_STATUS);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &orig), 0);
	free_fd = fcntl(0, F_DUPFD, 0);
	cr_assert_geq(free_fd, 0);
	close(free_fd);
	low = orig;
	low.rlim_cur = free_fd;		/* no new descriptor fits */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	warn0 = nwarn;
	run_for(0.3);
	cr_assert_eq(client_done(cl), 0);
	cr_assert_geq(nwarn - warn0, 1);
	/* Paused, not spinning: one warning per pause. */
	cr_assert_leq(nwarn - warn0, 2, "%d warnings", nwarn - warn0);
	cr_assert_not_null(strstr(lastwarn, "accept4"), "%s", lastwarn);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &orig), 0);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, NULL, STATUS_BODY);
	client_free(cl);
	stop();
}

Test(http, handler_mistakes_contained)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 buf[64];

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /bad HTTP/1.1\r\n\r\n"
	    "DELETE /204 HTTP/1.1\r\n\r\n" GET_STATUS);
	cr_assert_eq(client_wait(cl, 3, WAIT), 3);
	/* Status 42 becomes 500; a header injection attempt is refused. */
	assert_resp(&cl->r[0], 500, "application/octet-stream", "x");
	cr_assert_null(hdr(&cl->r[0], "x-evil", buf, sizeof(buf)));
	/* 204: no Content-Length, no body, and the framing holds. */
	cr_assert_eq(cl->r[1].status, 204);
	cr_assert_null(hdr(&cl->r[1], "content-length", buf, sizeof(buf)));
	cr_assert_eq(cl->r[1].blen, 0);
	assert_resp(&cl->r[2], 200, NULL, STATUS_BODY);
	cr_assert_geq(nwarn, 2);
	client_free(cl);
	stop();
}

/*
 * front_http_query_param on its own
 */

static int
qp(const char *query, const char *key, char *buf, size_t len)
{
	struct http_request	 req;

	memset(&req, 0, sizeof(req));
	req.query = query;
	return front_http_query_param(&req, key, buf, len);
}

Test(query, decoding)
{
	char	 v[16];

	cr_assert_eq(qp("a=1&b=2", "b", v, sizeof(v)), 1);
	cr_assert_str_eq(v, "2");
	cr_assert_eq(qp("a=x+y%21", "a", v, sizeof(v)), 4);
	cr_assert_str_eq(v, "x y!");
	cr_assert_eq(qp("a=1&a=2", "a", v, sizeof(v)), 1);
	cr_assert_str_eq(v, "1");
	cr_assert_eq(qp("flag&b=1", "flag", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "");
	cr_assert_eq(qp("a=", "a", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "");
	cr_assert_eq(qp("a=1", "b", v, sizeof(v)), -1);
	cr_assert_eq(qp("", "a", v, sizeof(v)), -1);
	cr_assert_eq(qp("&&a=1&", "a", v, sizeof(v)), 1);
	cr_assert_str_eq(v, "1");
	cr_assert_eq(qp("a%20b=1", "a b", v, sizeof(v)), 1);
	cr_assert_eq(qp("a+b=2", "a b", v, sizeof(v)), 1);
	cr_assert_str_eq(v, "2");
	cr_assert_eq(qp("ab=1", "a", v, sizeof(v)), -1);
	cr_assert_eq(qp("a=1", "ab", v, sizeof(v)), -1);
	cr_assert_eq(qp("a=%2B%2b%3d=", "a", v, sizeof(v)), 4);
	cr_assert_str_eq(v, "++==");
	cr_assert_eq(qp("a=%C3%A9", "a", v, sizeof(v)), 2);
	cr_assert_str_eq(v, "\xc3\xa9");
	/* Exactly fits (15 + NUL), then one too many. */
	cr_assert_eq(qp("a=123456789012345", "a", v, sizeof(v)), 15);
	cr_assert_eq(qp("a=1234567890123456", "a", v, sizeof(v)),
	    HTTP_PARAM_TOOLONG);
	cr_assert_eq(qp("a=1", "a", v, 1), HTTP_PARAM_TOOLONG);
	/*
	 * A broken escape spoils only its own pair, but a key sent only
	 * with broken ones is not absent; %00 is a NUL.
	 */
	cr_assert_eq(qp("a=%zz", "a", v, sizeof(v)), HTTP_PARAM_BADESCAPE);
	cr_assert_eq(qp("a=%4", "a", v, sizeof(v)), HTTP_PARAM_BADESCAPE);
	cr_assert_eq(qp("a=ok%zz&b=1", "a", v, sizeof(v)),
	    HTTP_PARAM_BADESCAPE);
	cr_assert_eq(qp("b=%zz", "a", v, sizeof(v)), HTTP_PARAM_ABSENT);
	cr_assert_eq(qp("a=%00x", "a", v, sizeof(v)), HTTP_PARAM_NUL);
	cr_assert_eq(qp("a=%zz&a=ok", "a", v, sizeof(v)), 2);
	cr_assert_str_eq(v, "ok");
	cr_assert_eq(qp("%zz=1&b=2", "b", v, sizeof(v)), 1);
	cr_assert_eq(qp("ns=pool.loda&repo=git%40git.test.com%3Agroup%2Fp.git",
	    "ns", v, sizeof(v)), 9);
	cr_assert_str_eq(v, "pool.loda");
	cr_assert_eq(qp("=x", "", v, sizeof(v)), 1);
	cr_assert_eq(qp("a=1", "a", NULL, 10), -1);
}

/*
 * What handlers learn about a request: listener kind, peer address,
 * Authorization; per-request timeouts; extra answer headers.
 */

Test(http, peer_tcp_loopback)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("GET /who HTTP/1.1\r\n\r\n");
	assert_resp(&cl->r[0], 200, "text/plain",
	    "via=tcp loop=1 peer=127.0.0.1 auth=[]");
	client_free(cl);
	stop();
}

Test(http, peer_unix)
{
	struct http_limits	 lim = limits();
	struct sockaddr_un	 sun;
	struct client		*cl;
	char			 dir[] = "/tmp/test_http.XXXXXX";
	int			 fd, cfd;

	start(&lim);
	cr_assert_not_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/agent.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(front_http_server_listen(srv, fd, "unix"), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(cfd, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cl = client_init(cfd);
	client_sends(cl, "POST /who HTTP/1.1\r\nAuthorization: Bearer s3\r\n"
	    "Content-Length: 0\r\n\r\n");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	/* Unix: not "loopback" (that is a TCP notion), the kind says it. */
	assert_resp(&cl->r[0], 200, "text/plain",
	    "via=unix loop=0 peer=unix auth=[Bearer s3]");
	client_free(cl);
	stop();
	cr_assert_eq(unlink(sun.sun_path), 0);
	cr_assert_eq(rmdir(dir), 0);
}

Test(http, authorization_first_header_wins)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /who HTTP/1.1\r\nAUTHORIZATION:   Bearer a b\r\n"
	    "authorization: Bearer evil\r\n\r\n"
	    "GET /who HTTP/1.1\r\nAuthorizations: Bearer no\r\n\r\n");
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[0], 200, NULL,
	    "via=tcp loop=1 peer=127.0.0.1 auth=[Bearer a b]");
	/* Each request starts without one. */
	assert_resp(&cl->r[1], 200, NULL,
	    "via=tcp loop=1 peer=127.0.0.1 auth=[]");
	client_free(cl);
	stop();
}

Test(http, set_timeout_extends)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.handler_timeout = 0.1;
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /long?t=0.6 HTTP/1.1\r\n\r\n");
	while (nheld == 0)
		step();
	cr_assert_eq(set_timeout_rc, 0);
	/* Well past the server's 0.1 s: still with the handler. */
	run_for(0.3);
	client_poll(cl);
	cr_assert_eq(cl->n, 0, "answered %d", cl->r[0].status);
	front_http_respond_json(held[0], 200, "{\"ran\":true}");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, "application/json", "{\"ran\":true}");
	client_free(cl);
	stop();
}

Test(http, set_timeout_shortens_and_504)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	double			 t0;

	start(&lim);		/* 30 s */
	cl = client_new();
	t0 = now();
	client_sends(cl, "GET /long?t=0.2 HTTP/1.1\r\n\r\n");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	cr_assert_geq(now() - t0, 0.19);
	assert_resp(&cl->r[0], 504, "application/json",
	    "{\"error\":\"handler timed out\"}");
	cr_assert_not_null(strstr(lastwarn, "within 0.2s"), "%s", lastwarn);
	/* Answered by the server: the handler's later call says so. */
	cr_assert_eq(nheld, 1);
	cr_assert_eq(front_http_request_set_timeout(held[0], 10), -1);
	front_http_respond_json(held[0], 200, "{}");
	client_free(cl);
	stop();
}

Test(http, set_timeout_zero_never)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.handler_timeout = 0.05;
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /long?t=0 HTTP/1.1\r\n\r\n");
	run_for(0.25);
	client_poll(cl);
	cr_assert_eq(cl->n, 0);
	cr_assert_eq(nheld, 1);
	front_http_respond_json(held[0], 200, "{}");
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, NULL, "{}");
	client_free(cl);
	stop();
}

Test(http, extra_headers)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /hdr HTTP/1.1\r\n\r\n" GET_STATUS);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[0], 401, "application/json",
	    "{\"error\":\"token needed\"}");
	cr_assert(hdr_is(&cl->r[0], "www-authenticate",
	    "Bearer realm=\"agent\""), "%s", cl->r[0].hdrs);
	cr_assert(hdr_is(&cl->r[0], "x-two", "2\tok"), "%s", cl->r[0].hdrs);
	cr_assert_null(strstr(cl->r[0].hdrs, "x-evil"));
	cr_assert_null(strstr(cl->r[0].hdrs, "x-more"));
	cr_assert_null(strstr(cl->r[0].hdrs, "x-big"));
	/* Only that answer has them. */
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	cr_assert_null(strstr(cl->r[1].hdrs, "www-authenticate"));
	client_free(cl);
	stop();
}

/*
 * Addresses and form parameters on their own
 */

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage		 ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		cr_assert_eq(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1, "%s",
		    s);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

Test(addr, loopback)
{
	static const char *const yes[] = { "127.0.0.1", "127.255.0.9",
	    "::1", "::ffff:127.0.0.1", "::ffff:127.1.2.3" };
	static const char *const no[] = { "10.0.0.1", "192.0.2.2",
	    "128.0.0.1", "0.0.0.0", "::", "::2", "fe80::1", "::ffff:10.0.0.1",
	    "::127.0.0.1", "2001:db8::1", "126.255.255.255" };
	struct sockaddr_storage	 ss;
	struct http_request	 req;
	char			 buf[64];
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		ss = addr(yes[i]);
		cr_expect_eq(sockdiag_is_loopback(&ss), 1, "%s", yes[i]);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		ss = addr(no[i]);
		cr_expect_eq(sockdiag_is_loopback(&ss), 0, "%s", no[i]);
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	cr_expect_eq(sockdiag_is_loopback(&ss), 0);
	/* A loopback address counts only on a TCP listener. */
	memset(&req, 0, sizeof(req));
	req.peer = addr("127.0.0.1");
	req.via = HTTP_VIA_OTHER;
	cr_expect_eq(front_http_peer_loopback(&req), 0);
	req.via = HTTP_VIA_TCP;
	cr_expect_eq(front_http_peer_loopback(&req), 1);
	cr_expect_str_eq(front_http_peer_str(&req, buf, sizeof(buf)),
	    "127.0.0.1");
	req.peer = addr("fe80::1");
	cr_expect_str_eq(front_http_peer_str(&req, buf, sizeof(buf)),
	    "[fe80::1]");
	cr_expect_str_eq(front_http_peer_str(&req, buf, 5), "[fe8");
	req.via = HTTP_VIA_UNIX;
	cr_expect_str_eq(front_http_peer_str(&req, buf, sizeof(buf)), "unix");
}

static int
fp(unsigned method, const char *ctype, const char *body, const char *query,
    const char *key, char *buf, size_t len)
{
	struct http_request	 req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.content_type = ctype;
	req.body = body;
	req.body_len = strlen(body);
	req.query = query;
	return front_http_form_param(&req, key, buf, len);
}

#define FORM	"application/x-www-form-urlencoded"

Test(query, form_param)
{
	char	 v[8];

	/* The body wins over the query, as with Go's FormValue. */
	cr_assert_eq(fp(HTTP_M_POST, FORM, "a=1&b=x+y", "a=q&c=3", "a", v,
	    sizeof(v)), 1);
	cr_assert_str_eq(v, "1");
	cr_assert_eq(fp(HTTP_M_POST, FORM, "a=1&b=x+y", "a=q&c=3", "b", v,
	    sizeof(v)), 3);
	cr_assert_str_eq(v, "x y");
	cr_assert_eq(fp(HTTP_M_POST, FORM, "a=1", "a=q&c=3", "c", v,
	    sizeof(v)), 1);
	cr_assert_str_eq(v, "3");
	cr_assert_eq(fp(HTTP_M_POST, FORM "; charset=UTF-8", "a=1", "", "a",
	    v, sizeof(v)), 1);
	cr_assert_eq(fp(HTTP_M_POST, "Application/X-WWW-Form-Urlencoded",
	    "a=1", "", "a", v, sizeof(v)), 1);
	/* Not a form, or not a POST: the body is not looked at. */
	cr_assert_eq(fp(HTTP_M_POST, "application/json", "a=1", "a=q", "a", v,
	    sizeof(v)), 1);
	cr_assert_str_eq(v, "q");
	cr_assert_eq(fp(HTTP_M_POST, FORM "x", "a=1", "", "a", v, sizeof(v)),
	    HTTP_PARAM_ABSENT);
	cr_assert_eq(fp(HTTP_M_GET, FORM, "a=1", "", "a", v, sizeof(v)),
	    HTTP_PARAM_ABSENT);
	/* Present and empty is not absent. */
	cr_assert_eq(fp(HTTP_M_GET, "", "", "param&x=1", "param", v,
	    sizeof(v)), 0);
	cr_assert_str_eq(v, "");
	cr_assert_eq(fp(HTTP_M_GET, "", "", "param=", "param", v, sizeof(v)),
	    0);
	cr_assert_eq(fp(HTTP_M_GET, "", "", "x=1", "param", v, sizeof(v)),
	    HTTP_PARAM_ABSENT);
	/* 7 bytes fit in 8, 8 do not: too long, not absent. */
	cr_assert_eq(fp(HTTP_M_GET, "", "", "a=1234567", "a", v, sizeof(v)),
	    7);
	cr_assert_eq(fp(HTTP_M_GET, "", "", "a=12345678", "a", v, sizeof(v)),
	    HTTP_PARAM_TOOLONG);
	cr_assert_eq(fp(HTTP_M_POST, FORM, "a=%41%42%43%44%45%46%47%48", "",
	    "a", v, sizeof(v)), HTTP_PARAM_TOOLONG);
	/* A body with a NUL ends nothing early: its length counts. */
	{
		struct http_request	 req;
		static const char	 body[] = "x=1\0&a=2";

		memset(&req, 0, sizeof(req));
		req.method = HTTP_M_POST;
		req.content_type = FORM;
		req.body = body;
		req.body_len = sizeof(body) - 1;
		req.query = "";
		cr_assert_eq(front_http_form_param(&req, "a", v, sizeof(v)), 1);
		cr_assert_str_eq(v, "2");
	}
}

/*
 * Deadlines: a client that keeps the idle timer happy with a byte now
 * and then is still cut when the head or body deadline passes.  The
 * deadlines here are short and the idle timeout long; WAIT bounds a
 * hang, nothing measures time.
 */

/* Send one byte of `s' per tick of about 20 ms until EOF or `secs'. */
static void
trickle(struct client *cl, const char *s, double secs)
{
	double	 end = now() + secs, next = 0;
	size_t	 off = 0, len = strlen(s);
	ssize_t	 n;

	while (now() < end) {
		client_poll(cl);
		if (cl->eof)
			return;
		if (off < len && now() >= next) {
			n = send(cl->fd, s + off, 1, MSG_NOSIGNAL);
			if (n == 1)
				off++;
			else
				cr_assert(n == -1 && (errno == EAGAIN ||
				    errno == EPIPE || errno == ECONNRESET),
				    "send: %s", strerror(errno));
			next = now() + 0.02;
		}
		step();
	}
}

#define SLOW_HEAD	"GET /me/status HTTP/1.1\r\nHost: x\r\nX-Pad: " \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"\r\n\r\n"

Test(deadline, slow_head_gets_408)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.head_timeout = 0.3;
	start(&lim);
	cl = client_new();
	/* ~200 bytes at one per 20 ms would take 4 s: far past 0.3 s. */
	trickle(cl, SLOW_HEAD, WAIT);
	cr_assert(cl->eof, "a trickled head was not cut");
	cr_assert_eq(client_done(cl), 1);
	assert_resp(&cl->r[0], 408, "application/json",
	    "{\"error\":\"request head not complete within 0.3 s\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert_eq(nstatus, 0);
	cr_assert(wait_conns(0, WAIT));
	client_free(cl);
	stop();
}

Test(deadline, silent_connection_closed_without_answer)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.head_timeout = 0.2;
	start(&lim);
	cl = client_new();
	/* idle_timeout is 30 s: only the head deadline can end this. */
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_eq(cl->rawlen, 0);
	cr_assert(wait_conns(0, WAIT));
	client_free(cl);
	stop();
}

/* CRLFs before a request start no message in http-parser: still cut. */
Test(deadline, blank_lines_do_not_hold_a_connection)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.head_timeout = 0.3;
	start(&lim);
	cl = one(GET_STATUS);
	trickle(cl, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
	    WAIT);
	cr_assert(cl->eof, "blank lines held the connection");
	cr_assert(wait_conns(0, WAIT));
	client_free(cl);
	stop();
}

/* Between requests only the idle timer counts; a later head's clock
 * starts with its first byte. */
Test(deadline, keepalive_pause_is_not_a_slow_head)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.head_timeout = 0.2;
	start(&lim);
	cl = one(GET_STATUS);
	assert_resp(&cl->r[0], 200, NULL, STATUS_BODY);
	run_for(0.5);
	client_poll(cl);
	cr_assert(!cl->eof, "closed while idle between requests");
	client_sends(cl, GET_STATUS);
	cr_assert_eq(client_wait(cl, 2, WAIT), 2);
	assert_resp(&cl->r[1], 200, NULL, STATUS_BODY);
	/* and that head has its deadline again */
	trickle(cl, SLOW_HEAD, WAIT);
	cr_assert(cl->eof);
	cr_assert_eq(client_done(cl), 3);
	cr_assert_eq(cl->r[2].status, 408);
	client_free(cl);
	stop();
}

Test(deadline, slow_body_gets_408)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 body[201];

	lim.body_timeout = 0.3;
	start(&lim);
	memset(body, 'b', 200);
	body[200] = '\0';
	cl = client_new();
	client_sends(cl, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 200\r\n\r\n");
	/* 0.3 s + 200 B / 64 KiB/s: a byte per 20 ms is far too slow. */
	trickle(cl, body, WAIT);
	cr_assert(cl->eof, "a trickled body was not cut");
	cr_assert_eq(client_done(cl), 1);
	assert_resp(&cl->r[0], 408, "application/json",
	    "{\"error\":\"request body not complete within 0.303 s\"}");
	cr_assert_eq(nids, 0);
	client_free(cl);
	stop();
}

/* The body's deadline grows with its declared length. */
Test(deadline, body_deadline_scales_with_length)
{
	struct http_limits	 lim = limits();
	struct client		*cl;
	char			 body[1001];

	lim.body_timeout = 0.1;
	lim.body_rate = 100;	/* 1000 bytes: 0.1 + 10 s */
	start(&lim);
	memset(body, 'b', 1000);
	body[1000] = '\0';
	cl = client_new();
	client_sends(cl, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1000\r\n\r\n");
	/* well past the floor, well within the scaled deadline */
	run_for(0.5);
	client_sends(cl, body);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, NULL, body);
	client_free(cl);
	stop();
}

/* Once the request is complete the handler's timeout rules, not ours. */
Test(deadline, handler_time_is_not_the_clients)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	lim.head_timeout = 0.1;
	lim.body_timeout = 0.1;
	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
	while (nheld < 1)
		step();
	run_for(0.4);
	client_poll(cl);
	cr_assert(!cl->eof);
	cr_assert_eq(client_done(cl), 0);
	front_http_respond(held[0], 200, "text/plain", "late", 4);
	cr_assert_eq(client_wait(cl, 1, WAIT), 1);
	assert_resp(&cl->r[0], 200, NULL, "late");
	client_free(cl);
	stop();
}

/*
 * Budgets: one per kind of listener, and a share per TCP client address.
 */

static int	 unix_lfd = -1;
static char	 unix_dir[64];
static struct sockaddr_un unix_sun;

static void
unix_listen(void)
{
	int	 fd;

	snprintf(unix_dir, sizeof(unix_dir), "/tmp/test_http.XXXXXX");
	cr_assert_not_null(mkdtemp(unix_dir));
	memset(&unix_sun, 0, sizeof(unix_sun));
	unix_sun.sun_family = AF_UNIX;
	snprintf(unix_sun.sun_path, sizeof(unix_sun.sun_path),
	    "%s/agent.sock", unix_dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&unix_sun,
	    sizeof(unix_sun)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(front_http_server_listen(srv, fd, "unix"), 0);
	unix_lfd = fd;
}

static void
unix_cleanup(void)
{
	cr_assert_eq(unlink(unix_sun.sun_path), 0);
	cr_assert_eq(rmdir(unix_dir), 0);
}

static struct client *
unix_client(void)
{
	int	 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&unix_sun,
	    sizeof(unix_sun)), 0);
	return client_init(fd);
}

/* A TCP client from loopback address `src' (127.x.y.z). */
static struct client *
client_from(const char *src)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "bind %s: %s", src, strerror(errno));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		cr_assert_eq(errno, EINPROGRESS, "connect: %s",
		    strerror(errno));
	return client_init(fd);
}

/* A full TCP budget leaves the unix socket served, and the other way. */
Test(budget, tcp_and_unix_apart)
{
	struct http_limits	 lim = limits();
	struct client		*t[3], *u[2];
	int			 i;

	lim.max_conns_tcp = 2;
	lim.max_conns_unix = 1;
	start(&lim);
	unix_listen();
	t[0] = one(GET_BUSY);
	t[1] = one(GET_BUSY);
	t[2] = client_new();
	cr_assert_eq(client_wait(t[2], 1, WAIT), 1);
	cr_assert_eq(t[2]->r[0].status, 503);
	u[0] = unix_client();
	client_sends(u[0], GET_BUSY);
	cr_assert_eq(client_wait(u[0], 1, WAIT), 1);
	assert_resp(&u[0]->r[0], 200, NULL, STATUS_BODY);
	/* the unix budget is full now, TCP is no help to it */
	u[1] = unix_client();
	cr_assert_eq(client_wait(u[1], 1, WAIT), 1);
	assert_resp(&u[1]->r[0], 503, NULL,
	    "{\"error\":\"too many connections\"}");
	cr_assert_not_null(strstr(lastwarn, "max_conns_unix"), "%s",
	    lastwarn);
	cr_assert_eq(front_http_server_conns(srv), 3);
	for (i = 0; i < 3; i++)
		client_free(t[i]);
	for (i = 0; i < 2; i++)
		client_free(u[i]);
	stop();
	unix_cleanup();
}

/*
 * A full budget: the connection idle the longest between two requests
 * is closed for a newcomer; one with a request begun is not.
 */
Test(budget, an_idle_keep_alive_connection_gives_its_place_up)
{
	struct http_limits	 lim = limits();
	struct client		*a, *b, *c, *d;

	lim.max_conns_tcp = 3;
	start(&lim);
	a = one(GET_STATUS);
	b = one(GET_BUSY);
	c = one(GET_STATUS);
	/* a is idle the longest, b is busy: a goes for d */
	d = one(GET_STATUS);
	assert_resp(&d->r[0], 200, NULL, STATUS_BODY);
	cr_assert(client_wait_eof(a, WAIT));
	cr_assert_eq(front_http_server_conns(srv), 3);
	/* then c, the idle one left; b's request still completes */
	client_free(a);
	a = one(GET_STATUS);
	assert_resp(&a->r[0], 200, NULL, STATUS_BODY);
	cr_assert(client_wait_eof(c, WAIT));
	client_sends(b, "Host: x\r\n\r\n");
	cr_assert_eq(client_wait(b, 2, WAIT), 2);
	assert_resp(&b->r[1], 200, NULL, STATUS_BODY);
	client_free(a);
	client_free(b);
	client_free(c);
	client_free(d);
	stop();
}

/* Every loopback address is the same client: 127.0.0.2 gains nothing. */
/* A client "on this host" for the budget tests: 127.0.0.2 is uid 1000. */
static int
fake_peer_uid(void *arg, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local, uid_t *uid)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)peer;

	if (peer->ss_family != AF_INET ||
	    sin->sin_addr.s_addr != htonl(0x7f000002))
		return -1;
	*uid = 1000;
	return 0;
}

/*
 * Clients on this host (their owner found) have a budget apart from the
 * others: the others holding all of TCP cannot turn them away.
 */
Test(budget, local_clients_apart)
{
	struct http_limits	 lim = limits();
	struct client		*a, *b, *c, *d, *e;

	lim.max_conns_tcp = 1;
	lim.max_conns_local = 2;
	lim.max_conns_addr = 10;
	start(&lim);
	front_http_server_set_peer_uid(srv, fake_peer_uid, NULL);
	a = one(GET_BUSY);		/* owner unknown: TCP's, now full */
	b = client_from("127.0.0.2");
	client_sends(b, GET_BUSY);
	cr_assert_eq(client_wait(b, 1, WAIT), 1);
	assert_resp(&b->r[0], 200, NULL, STATUS_BODY);
	c = client_from("127.0.0.2");
	client_sends(c, GET_BUSY);
	cr_assert_eq(client_wait(c, 1, WAIT), 1);
	assert_resp(&c->r[0], 200, NULL, STATUS_BODY);
	d = client_from("127.0.0.2");
	cr_assert_eq(client_wait(d, 1, WAIT), 1);
	cr_assert_eq(d->r[0].status, 503);
	cr_assert_not_null(strstr(lastwarn, "max_conns_local"), "%s",
	    lastwarn);
	e = client_new();
	cr_assert_eq(client_wait(e, 1, WAIT), 1);
	cr_assert_eq(e->r[0].status, 503);
	cr_assert_not_null(strstr(lastwarn, "max_conns_tcp"), "%s",
	    lastwarn);
	cr_assert_eq(front_http_server_conns(srv), 3);
	client_free(a);
	client_free(b);
	client_free(c);
	client_free(d);
	client_free(e);
	stop();
}

Test(budget, share_per_address)
{
	struct http_limits	 lim = limits();
	struct client		*a, *b, *c, *d;

	lim.max_conns_tcp = 10;
	lim.max_conns_addr = 2;
	start(&lim);
	unix_listen();
	a = one(GET_BUSY);
	b = client_from("127.0.0.2");
	client_sends(b, GET_BUSY);
	cr_assert_eq(client_wait(b, 1, WAIT), 1);
	assert_resp(&b->r[0], 200, NULL, STATUS_BODY);
	c = client_from("127.3.4.5");
	cr_assert_eq(client_wait(c, 1, WAIT), 1);
	assert_resp(&c->r[0], 503, "application/json",
	    "{\"error\":\"too many connections from your address\"}");
	cr_assert(hdr_is(&c->r[0], "retry-after", "1"));
	cr_assert(client_wait_eof(c, WAIT));
	cr_assert_not_null(strstr(lastwarn, "max_conns_addr"), "%s",
	    lastwarn);
	/* the unix socket is not an address's share */
	d = unix_client();
	client_sends(d, GET_STATUS);
	cr_assert_eq(client_wait(d, 1, WAIT), 1);
	assert_resp(&d->r[0], 200, NULL, STATUS_BODY);
	/* a place given back is taken again */
	client_free(a);
	cr_assert(wait_conns(2, WAIT));
	a = one(GET_STATUS);
	assert_resp(&a->r[0], 200, NULL, STATUS_BODY);
	client_free(a);
	client_free(b);
	client_free(c);
	client_free(d);
	stop();
	unix_cleanup();
}

/* Slow clients from one address hold its share until the deadline,
 * and never the unix socket's places. */
Test(budget, slow_clients_cannot_lock_out_unix)
{
	struct http_limits	 lim = limits();
	struct client		*slow[8], *u;
	int			 i, cut = 0, refused = 0;

	lim.max_conns_tcp = 8;
	lim.max_conns_addr = 4;
	lim.max_conns_unix = 4;
	lim.head_timeout = 0.5;
	start(&lim);
	unix_listen();
	for (i = 0; i < 8; i++) {
		slow[i] = client_new();
		client_sends(slow[i], "GET /me/status HTTP/1.1\r\n");
	}
	u = unix_client();
	client_sends(u, GET_STATUS);
	cr_assert_eq(client_wait(u, 1, WAIT), 1);
	assert_resp(&u->r[0], 200, NULL, STATUS_BODY);
	for (i = 0; i < 8; i++) {
		cr_assert(client_wait_eof(slow[i], WAIT));
		cr_assert_eq(client_done(slow[i]), 1);
		if (slow[i]->r[0].status == 408)
			cut++;
		else if (slow[i]->r[0].status == 503)
			refused++;
	}
	cr_assert_eq(cut, 4);
	cr_assert_eq(refused, 4);
	for (i = 0; i < 8; i++)
		client_free(slow[i]);
	client_free(u);
	stop();
	unix_cleanup();
}

/* What the per-address share counts by. */
Test(budget, address_keys)
{
	static const char *const same[][2] = {
		{ "127.0.0.1", "127.9.9.9" },
		{ "127.0.0.1", "::1" },
		{ "::1", "::ffff:127.0.0.1" },
		{ "10.0.0.1", "::ffff:10.0.0.1" },
		{ "2001:db8::1", "2001:db8::ffff:1" },
		{ "2001:db8:0:7::1", "2001:db8:0:7:1:2:3:4" },
	};
	static const char *const apart[][2] = {
		{ "10.0.0.1", "10.0.0.2" },
		{ "127.0.0.1", "10.0.0.1" },
		{ "2001:db8::1", "2001:db8:0:1::1" },
		{ "::ffff:10.0.0.1", "2001:db8::1" },
		{ "::1", "::2" },
	};
	struct sockaddr_storage	 a, b;
	unsigned char		 ka[17], kb[17];
	size_t			 i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		a = addr(same[i][0]);
		b = addr(same[i][1]);
		front_http_addr_key(&a, ka);
		front_http_addr_key(&b, kb);
		cr_expect_eq(memcmp(ka, kb, sizeof(ka)), 0, "%s %s",
		    same[i][0], same[i][1]);
	}
	for (i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
		a = addr(apart[i][0]);
		b = addr(apart[i][1]);
		front_http_addr_key(&a, ka);
		front_http_addr_key(&b, kb);
		cr_expect_neq(memcmp(ka, kb, sizeof(ka)), 0, "%s %s",
		    apart[i][0], apart[i][1]);
	}
}

/*
 * The headers browsers send reach the handler: first value, NULL when
 * absent, "" for a repeated Sec-Fetch-Site; a second Host is a 400.
 */
Test(http, browser_headers)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = client_new();
	client_sends(cl, "GET /browser HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"
	    "ORIGIN: http://evil.example\r\nOrigin: null\r\n"
	    "sec-fetch-site: cross-site\r\n\r\n"
	    "GET /browser HTTP/1.1\r\n\r\n"
	    "GET /browser HTTP/1.1\r\nHost:\r\nSec-Fetch-Site: none\r\n"
	    "Sec-Fetch-Site: none\r\n\r\n");
	cr_assert_eq(client_wait(cl, 3, WAIT), 3);
	assert_resp(&cl->r[0], 200, NULL, "origin=http://evil.example "
	    "sfs=cross-site host=127.0.0.1:80");
	assert_resp(&cl->r[1], 200, NULL,
	    "origin=(none) sfs=(none) host=(none)");
	assert_resp(&cl->r[2], 200, NULL, "origin=(none) sfs= host=");
	client_free(cl);
	cl = one("GET /browser HTTP/1.1\r\nHost: localhost\r\n"
	    "Host: evil.example\r\n\r\n");
	assert_resp(&cl->r[0], 400, NULL,
	    "{\"error\":\"more than one Host header\"}");
	cr_assert(client_wait_eof(cl, WAIT));
	client_free(cl);
	stop();
}

/*
 * "Content-Length : 2": http-parser takes the name with its space, so not
 * for the body's length, and the body would be the next request (the
 * smuggling RFC 9112 5.1 forbids).  Refused, naming why (http-parser
 * itself refuses a tab there).
 */
Test(http, whitespace_in_a_header_name_is_refused)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n"
	    "\r\nGET /who HTTP/1.1\r\n\r\n");
	assert_resp(&cl->r[0], 400, NULL, "{\"error\":\"header "
	    "\\\"Content-Length \\\": a space in a header field name "
	    "(before its colon?)\"}");
	cr_assert(client_wait_eof(cl, WAIT));
	cr_assert_eq(cl->n, 1, "the body was taken for a request");
	client_free(cl);
	cl = one("GET /who HTTP/1.1\r\nX\tY: 1\r\n\r\n");
	assert_resp(&cl->r[0], 400, NULL, "{\"error\":\"malformed request: "
	    "HPE_INVALID_HEADER_TOKEN: invalid character in header\"}");
	client_free(cl);
	stop();
}

/*
 * http-parser reads a body as chunked when chunked is the last coding:
 * "gzip, chunked" handed the handler a gzip body as if plain (a 400
 * "invalid JSON at byte 1" for /post).  Only chunked alone is taken; the
 * rest is 501 naming it, and chunked not last stays http-parser's 400.
 */
Test(http, transfer_codings_other_than_chunked_are_refused)
{
	struct http_limits	 lim = limits();
	struct client		*cl;

	start(&lim);
	cl = one("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n5\r\nhello\r\n0\r\n\r\n");
	assert_resp(&cl->r[0], 501, NULL, "{\"error\":\"Transfer-Encoding "
	    "\\\"gzip, chunked\\\": only chunked is implemented\"}");
	cr_assert(hdr_is(&cl->r[0], "connection", "close"));
	cr_assert(client_wait_eof(cl, WAIT));
	client_free(cl);
	/* two lines are one list */
	cl = one("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
	assert_resp(&cl->r[0], 501, NULL, "{\"error\":\"Transfer-Encoding "
	    "\\\"gzip, chunked\\\": only chunked is implemented\"}");
	client_free(cl);
	cl = one("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n"
	    "\r\n5\r\nhello\r\n0\r\n\r\n");
	cr_assert_eq(cl->r[0].status, 400);
	cr_assert_not_null(strstr(cl->r[0].body, "HPE_INVALID_TRANSFER_ENCODING"),
	    "%s", cl->r[0].body);
	client_free(cl);
	cr_assert_eq(nids, 0);
	/* chunked alone, in any case */
	cl = one("POST /echo HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n");
	assert_resp(&cl->r[0], 200, "application/octet-stream", "hello");
	client_free(cl);
	stop();
}

/* A form body is any bytes, not a URL: len, not strlen. */
#define B(x)	(x), sizeof(x) - 1

static int
fpn(const char *body, size_t len, const char *key, char *buf, size_t blen)
{
	struct http_request	 req;

	memset(&req, 0, sizeof(req));
	req.method = HTTP_M_POST;
	req.content_type = FORM;
	req.body = body;
	req.body_len = len;
	req.query = "a=query";
	return front_http_form_param(&req, key, buf, blen);
}

/*
 * A raw NUL in a form value was copied into buf and cut the value short
 * without a word ("a=x\0y" read as "x"); %00 was refused.  Both are now
 * HTTP_PARAM_NUL, which handlers answer with a 400 naming the parameter.
 */
Test(query, form_param_nul)
{
	char	 v[8];

	cr_assert_eq(fpn(B("a=x\0y"), "a", v, sizeof(v)), HTTP_PARAM_NUL);
	cr_assert_eq(fpn(B("a=x%00y"), "a", v, sizeof(v)), HTTP_PARAM_NUL);
	cr_assert_eq(fpn(B("a=\0"), "a", v, sizeof(v)), HTTP_PARAM_NUL);
	/* the first pair of the key decides, even when a later one is fine */
	cr_assert_eq(fpn(B("a=\0&a=ok"), "a", v, sizeof(v)), HTTP_PARAM_NUL);
	/* but a broken escape still spoils only its own pair */
	cr_assert_eq(fpn(B("a=%zz\0&a=ok"), "a", v, sizeof(v)), 2);
	cr_assert_str_eq(v, "ok");
	/* a NUL elsewhere is not this key's business */
	cr_assert_eq(fpn(B("b=\0&a=ok"), "a", v, sizeof(v)), 2);
	cr_assert_eq(fpn(B("a\0=1&a=ok"), "a", v, sizeof(v)), 2);
	/* no "a" in the body: the query's */
	cr_assert_eq(fpn(B("a%00=1"), "a", v, sizeof(v)), 5);
	cr_assert_str_eq(v, "query");
	/* NUL before "too long": a value that would not fit says NUL */
	cr_assert_eq(fpn(B("a=1234567\0"), "a", v, sizeof(v)),
	    HTTP_PARAM_NUL);
	/* from the query too (a URL cannot hold a raw one) */
	cr_assert_eq(fp(HTTP_M_GET, "", "", "a=%00", "a", v, sizeof(v)),
	    HTTP_PARAM_NUL);
	/* front_http_query_param() says so too: not absent */
	cr_assert_eq(qp("a=%00", "a", v, sizeof(v)), HTTP_PARAM_NUL);
	/* a broken body pair leaves the query's, else says broken */
	cr_assert_eq(fpn(B("a=%zz"), "a", v, sizeof(v)), 5);
	cr_assert_str_eq(v, "query");
	cr_assert_eq(fp(HTTP_M_POST, FORM, "a=%zz", "b=1", "a", v, sizeof(v)),
	    HTTP_PARAM_BADESCAPE);
}
