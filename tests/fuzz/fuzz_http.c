/*
 * libFuzzer target for the front's HTTP server
 * (src/workers/front/front_http*.c): request heads through the
 * http-parser callbacks, the request target split into path and query,
 * bodies, query and form parameters, answers now and later.
 *
 * The server listens on a unix socket of its own (abstract namespace)
 * with small limits, as the front does on the master's sockets; each
 * input is written by a client that connects, sends it (in pieces when
 * byte 0 says so), shuts its side and reads every answer until the
 * server closes.  Besides "no crash, no leak, no hang": every answer is
 * an HTTP/1.1 status line, every request a handler sees is consistent,
 * a form or query parameter is never cut short by a NUL byte, and no
 * connection or descriptor outlives its client.
 *
 * Routes: /a answers at once with the parameters it read, /e answers
 * 400 with the "msg" parameter as the error text, /h adds a header
 * taken from the "h" parameter, /l answers later (from the loop).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "common/buf.h"
#include "workers/front/front_http.h"

#include "fuzz_common.h"

#define PARAM_LEN	64
#define LATER_MAX	16

struct harness {
	struct ev_loop		*loop;
	struct http_server	*srv;
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	struct http_request	*later[LATER_MAX];
	int			 nlater;
};

static struct harness	 H;

static int
count_fds(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* A parameter as a handler reads it: never cut short at a NUL. */
static int
param(struct http_request *req, const char *key, char *buf, size_t len)
{
	int	 n;

	n = front_http_form_param(req, key, buf, len);
	if (n >= 0) {
		FUZZ_ASSERT((size_t)n < len, "%d bytes in %zu", n, len);
		FUZZ_ASSERT(strlen(buf) == (size_t)n, "parameter %s: %d bytes "
		    "read, %zu seen: a NUL cut it short", key, n, strlen(buf));
	} else
		FUZZ_ASSERT(n == HTTP_PARAM_ABSENT || n == HTTP_PARAM_TOOLONG ||
		    n == HTTP_PARAM_NUL || n == HTTP_PARAM_BADESCAPE,
		    "parameter %s: %d", key, n);
	n = front_http_query_param(req, key, buf, len);
	if (n >= 0)
		FUZZ_ASSERT(strlen(buf) == (size_t)n, "query parameter %s cut "
		    "short", key);
	return n;
}

static void
handler(struct http_request *req, void *ctx)
{
	struct buf	 b;
	char		 v[PARAM_LEN], peer[64];
	unsigned	 m = req->method;

	FUZZ_ASSERT(ctx == &H, "ctx");
	FUZZ_ASSERT(m != 0 && (m & (m - 1)) == 0, "method bits %#x", m);
	FUZZ_ASSERT(req->path != NULL && req->path[0] == '/', "path");
	FUZZ_ASSERT(req->query != NULL && req->content_type != NULL &&
	    req->authorization != NULL, "NULL field");
	FUZZ_ASSERT(req->body != NULL && req->body[req->body_len] == '\0',
	    "body not terminated");
	FUZZ_ASSERT(req->via == HTTP_VIA_UNIX, "via %d", req->via);
	FUZZ_ASSERT(strcmp(front_http_peer_str(req, peer, sizeof(peer)),
	    "unix") == 0, "peer %s", peer);

	if (strcmp(req->path, "/e") == 0) {
		if (param(req, "msg", v, sizeof(v)) < 0)
			v[0] = '\0';
		front_http_respond_error(req, 400, v);
		return;
	}
	if (strcmp(req->path, "/h") == 0) {
		if (param(req, "h", v, sizeof(v)) >= 0)
			(void)front_http_request_add_header(req, "X-Fuzz", v);
		front_http_respond(req, 204, NULL, NULL, 0);
		return;
	}
	if (strcmp(req->path, "/l") == 0 && H.nlater < LATER_MAX) {
		H.later[H.nlater++] = req;
		return;
	}
	buf_init(&b);
	buf_printf(&b, "{\"a\":%d,\"ns\":%d,\"timeout\":%d}",
	    param(req, "a", v, sizeof(v)), param(req, "ns", v, sizeof(v)),
	    param(req, "timeout", v, 8));
	front_http_respond(req, 200, "application/json", buf_str(&b), b.len);
	buf_free(&b);
}

static void
answer_later(void)
{
	int	 i;

	for (i = 0; i < H.nlater; i++)
		front_http_respond(H.later[i], i % 2 ? 202 : 503, "text/plain",
		    "later", 5);
	H.nlater = 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct http_route	 routes[] = {
		{ "/a", HTTP_M_GET | HTTP_M_POST, handler },
		{ "/e", HTTP_M_GET | HTTP_M_POST | HTTP_M_PUT, handler },
		{ "/h", HTTP_M_POST, handler },
		{ "/l", HTTP_M_GET | HTTP_M_POST | HTTP_M_DELETE, handler },
	};
	/* Small, so that the limits are reached. */
	static const struct http_limits	 lim = {
		1024, 4096, 4, 30.0, 30.0
	};
	int	 fd;

	fuzz_quiet_log();
	if ((H.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		abort();
	H.srv = front_http_server_new(H.loop, &lim, routes,
	    sizeof(routes) / sizeof(routes[0]), &H);
	if (H.srv == NULL)
		abort();
	memset(&H.sun, 0, sizeof(H.sun));
	H.sun.sun_family = AF_UNIX;
	/* abstract: nothing on disk to clean up */
	snprintf(H.sun.sun_path + 1, sizeof(H.sun.sun_path) - 1,
	    "agent-fuzz-http-%ld", (long)getpid());
	H.sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(H.sun.sun_path + 1));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&H.sun, H.sunlen) == -1 ||
	    listen(fd, 16) == -1 ||
	    front_http_server_listen(H.srv, fd, "fuzz") == -1) {
		perror("listener");
		abort();
	}
	return 0;
}

/* Everything the server sent: answers, each with a status line. */
static void
check_output(const struct buf *out, int sent_any)
{
	if (out->len == 0)
		return;
	FUZZ_ASSERT(out->len >= 12 && memcmp(out->p, "HTTP/1.1 ", 9) == 0,
	    "not an HTTP answer: %.40s", out->p);
	FUZZ_ASSERT(sent_any, "an answer to nothing");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 out;
	char		 rbuf[8192];
	size_t		 off = 0, chunk;
	ssize_t		 n;
	int		 fd, nfds, i, eof = 0;

	if (size < 1)
		return 0;
	nfds = count_fds();
	chunk = data[0] & 0x80 ? (size_t)(data[0] & 0x7f) + 1 : size;
	data++;
	size--;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 || connect(fd, (struct sockaddr *)&H.sun, H.sunlen) == -1)
		abort();
	buf_init(&out);
	if (size == 0 && shutdown(fd, SHUT_WR) == -1)
		abort();
	/* A hang is the failure here: the bound is far above any need. */
	for (i = 0; !eof && i < 200000; i++) {
		if (off < size) {
			n = send(fd, data + off, size - off < chunk ?
			    size - off : chunk, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n == -1 && errno != EAGAIN)
				off = size;	/* the server closed: fine */
			if (off == size && shutdown(fd, SHUT_WR) == -1 &&
			    errno != ENOTCONN)
				abort();
		}
		ev_run(H.loop, EVRUN_NOWAIT);
		answer_later();
		while ((n = read(fd, rbuf, sizeof(rbuf))) > 0)
			buf_add(&out, rbuf, (size_t)n);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			eof = 1;
		else if (n == -1 && errno != EAGAIN)
			abort();
	}
	FUZZ_ASSERT(eof, "the server never closed the connection");
	check_output(&out, size > 0);
	close(fd);
	/* The server notices the close on its next turn. */
	for (i = 0; front_http_server_conns(H.srv) > 0 && i < 1000; i++)
		ev_run(H.loop, EVRUN_NOWAIT);
	FUZZ_ASSERT(front_http_server_conns(H.srv) == 0, "a connection "
	    "outlived its client");
	FUZZ_ASSERT(H.nlater == 0, "requests left");
	FUZZ_ASSERT(count_fds() == nfds, "descriptor leak");
	buf_free(&out);
	return 0;
}
