/*
 * libcurl's multi interface on a libev loop (src/common/curl_ev.c), with
 * real transfers to a tiny HTTP server on 127.0.0.1: a forked child
 * that accepts connections and answers each request on them from a
 * canned list by path, keeping the connection open (HTTP/1.1
 * keep-alive) unless told otherwise.  "/slow" is never answered, which
 * makes timeouts, and the server says on a pipe when it has one; a port
 * nobody listens on makes a refused connection.  No test measures time:
 * timeouts are shown by the order in which transfers end.
 * Under ASan/LSan (make unit-san) these also prove that abandoned and
 * freed transfers leave nothing behind.  libcurl is loaded at run time
 * (curl_dl.h), as the fetcher and the sender load it; the test's own
 * calls bind to the same library, linked by soname.
 */
#include <criterion/criterion.h>

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "common/curl_ev.h"
#include "common/log.h"
#include "common/util.h"

#define WAIT		5.0	/* seconds a test waits for its transfers */
#define MAXDONE		8

/* the server: a process group, killed whole at the end */
static pid_t		 server_pid = -1;
static int		 server_port;
static int		 slow_seen[2] = { -1, -1 };	/* a byte per /slow */
static int		 nwarn;
static char		 lastwarn[512];
/* libcurl as the agent loads it */
static struct curl_dl	 curl;
static char		 cerr[256];

/* ---- the server ---- */

static void
answer(int fd, int status, const char *reason, const char *body,
    size_t len, int close_after)
{
	char	 head[256];
	int	 n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
	    status, reason, len, close_after ? "Connection: close\r\n" : "");
	if (util_write_all(fd, head, (size_t)n) == -1 ||
	    util_write_all(fd, body, len) == -1)
		_exit(1);
}

/* More of the request into buf (NUL-terminated); the end at EOF. */
static void
read_more(int fd, char *buf, size_t size, size_t *have)
{
	ssize_t	 n;

	if (*have + 1 >= size)
		_exit(1);
	while ((n = read(fd, buf + *have, size - 1 - *have)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		_exit(0);
	*have += (size_t)n;
	buf[*have] = '\0';
}

/* One connection: its requests one after another, until EOF. */
static void
serve_conn(int fd)
{
	char	 buf[16384], path[256], *end, *cl;
	size_t	 have = 0, need, hlen, blen;
	ssize_t	 n;

	for (;;) {
		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) == NULL)
			read_more(fd, buf, sizeof(buf), &have);
		hlen = (size_t)(end - buf) + 4;
		blen = 0;
		if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL &&
		    cl < end)
			blen = strtoul(cl + 17, NULL, 10);
		need = hlen + blen;
		while (have < need)
			read_more(fd, buf, sizeof(buf), &have);
		if (sscanf(buf, "%*s %255s", path) != 1)
			_exit(1);
		if (strcmp(path, "/ok") == 0)
			answer(fd, 200, "OK", "hello\n", 6, 0);
		else if (strcmp(path, "/echo") == 0)
			answer(fd, 200, "OK", buf + hlen, blen, 0);
		else if (strcmp(path, "/close") == 0) {
			answer(fd, 200, "OK", "bye\n", 4, 1);
			_exit(0);
		} else if (strcmp(path, "/slow") == 0) {
			/* never answer: wait for the client to give up */
			if (write(slow_seen[1], "s", 1) != 1)
				_exit(1);
			while ((n = read(fd, buf, sizeof(buf))) > 0 ||
			    (n == -1 && errno == EINTR))
				;
			_exit(0);
		} else
			answer(fd, 404, "Not Found", "no such thing\n", 14, 0);
		memmove(buf, buf + need, have - need);
		have -= need;
	}
}

/* A listening socket on 127.0.0.1, any port; -1 on failure. */
static int
listen_local(int *portp, int backlog)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (backlog > 0 && listen(fd, backlog) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1) {
		close(fd);
		return -1;
	}
	*portp = ntohs(sin.sin_port);
	return fd;
}

static void
server_run(int lfd)
{
	int	 fd;

	/* the connections' children reap themselves */
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		switch (fork()) {
		case -1:
			_exit(1);
		case 0:
			close(lfd);
			serve_conn(fd);
			_exit(0);
		default:
			close(fd);
		}
	}
}

static void
warn_sink(enum log_level lvl, const char *msg, void *arg)
{
	if (lvl >= LOG_LVL_WARN) {
		nwarn++;
		snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
	}
}

static void
setup(void)
{
	pid_t	 parent = getpid();
	int	 lfd;

	log_init("test", LOG_LVL_DEBUG);
	log_set_sink(warn_sink, NULL);
	/* as the fetcher and the sender load it (curl_ev's calls) */
	cr_assert_eq(curl_dl_open(&curl, cerr, sizeof(cerr)), 0, "%s", cerr);
	cr_assert_neq(lfd = listen_local(&server_port, 16), -1,
	    "listen: %s", strerror(errno));
	cr_assert_eq(pipe2(slow_seen, O_CLOEXEC), 0, "pipe: %s",
	    strerror(errno));
	cr_assert_neq(server_pid = fork(), -1);
	if (server_pid == 0) {
		/* its own group, so the end kills the connections too;
		 * and gone with a test that crashed before its end */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
		server_run(lfd);
		_exit(0);
	}
	/* also here: the end must not race the child's setpgid */
	setpgid(server_pid, server_pid);
	close(lfd);
	close(slow_seen[1]);
	slow_seen[1] = -1;
}

static void
teardown(void)
{
	if (server_pid > 0) {
		kill(-server_pid, SIGKILL);
		kill(server_pid, SIGKILL);
		while (waitpid(server_pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	server_pid = -1;
	if (slow_seen[0] != -1)
		close(slow_seen[0]);
	slow_seen[0] = -1;
	curl_dl_close(&curl);
}

TestSuite(curl_ev, .init = setup, .fini = teardown, .timeout = 20);

/* ---- the client side ---- */

struct xfer {
	CURL		*easy;
	char		 body[256];
	size_t		 len;
	char		 errbuf[CURL_ERROR_SIZE];
};

struct done_rec {
	CURL		*easy;
	CURLcode	 result;
	long		 code;
	long		 connects;	/* connections it had to open */
	double		 seconds;
	char		 body[256];
};

struct run {
	struct ev_loop	*loop;
	struct curl_ev	*ce;
	int		 want;		/* done() calls to wait for */
	int		 timedout;
	int		 n;
	struct done_rec	 d[MAXDONE];
	/* what done() does besides recording */
	int		 readd;		/* add the handle again, this often */
	CURL		*remove;	/* remove this one, then free ce */
	char		 err[256];
};

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, take;

	take = sizeof(x->body) - 1 - x->len;
	if (take > n)
		take = n;
	memcpy(x->body + x->len, ptr, take);
	x->len += take;
	x->body[x->len] = '\0';
	return n;
}

static void
xfer_init(struct xfer *x, int port, const char *path, long timeout_ms)
{
	char	 url[128];

	memset(x, 0, sizeof(*x));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	cr_assert_not_null(x->easy = curl_easy_init());
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_URL, url), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x),
	    CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L),
	    CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_PROXY, ""), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
	    timeout_ms), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION,
	    write_cb), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x),
	    CURLE_OK);
	cr_assert_eq(curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER,
	    x->errbuf), CURLE_OK);
}

static void
xfer_free(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

static void
record(CURL *easy, CURLcode result, void *arg)
{
	struct run	*r = arg;
	struct done_rec	*d;
	struct xfer	*x = NULL;
	char		 err[256];

	cr_assert_lt(r->n, MAXDONE, "too many done() calls");
	d = &r->d[r->n++];
	d->easy = easy;
	d->result = result;
	cr_assert_eq(curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x),
	    CURLE_OK);
	cr_assert_eq(curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE,
	    &d->code), CURLE_OK);
	cr_assert_eq(curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS,
	    &d->connects), CURLE_OK);
	cr_assert_eq(curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME,
	    &d->seconds), CURLE_OK);
	snprintf(d->body, sizeof(d->body), "%s", x->body);
	if (r->readd > 0) {
		/* the sender's way: the same handle for the next request */
		r->readd--;
		x->len = 0;
		x->body[0] = '\0';
		cr_assert_eq(curl_ev_add(r->ce, easy, err, sizeof(err)), 0,
		    "%s", err);
	}
	if (r->remove != NULL) {
		/* the fetcher's shutdown from a callback: the others
		 * abandoned, then everything freed */
		curl_ev_remove(r->ce, r->remove);
		curl_ev_free(r->ce);
		r->ce = NULL;
		r->remove = NULL;
	}
	if (r->n >= r->want)
		ev_break(r->loop, EVBREAK_ALL);
}

static void
guard_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct run	*r = t->data;

	r->timedout = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	cr_assert_not_null(r->loop = ev_loop_new(EVFLAG_AUTO));
	r->ce = curl_ev_new(r->loop, &curl, "test", record, r, r->err,
	    sizeof(r->err));
	cr_assert_not_null(r->ce, "curl_ev_new: %s", r->err);
}

/* Run the loop until `want` done() calls or `seconds`. */
static void
run_for(struct run *r, int want, double seconds)
{
	ev_timer	 guard;

	r->want = want;
	r->timedout = 0;
	ev_timer_init(&guard, guard_cb, seconds, 0.);
	guard.data = r;
	ev_timer_start(r->loop, &guard);
	ev_run(r->loop, 0);
	ev_timer_stop(r->loop, &guard);
}

static void
run_free(struct run *r)
{
	curl_ev_free(r->ce);
	r->ce = NULL;
	/*
	 * Nothing of curl_ev's is left on the loop: with no active
	 * watcher this returns at once (else the test's timeout fails it).
	 */
	ev_run(r->loop, 0);
	ev_loop_destroy(r->loop);
}

static void
add(struct run *r, struct xfer *x)
{
	int	 n = r->n;

	cr_assert_eq(curl_ev_add(r->ce, x->easy, r->err, sizeof(r->err)), 0,
	    "curl_ev_add: %s", r->err);
	/* done() only ever comes from the loop */
	cr_assert_eq(r->n, n, "done() from inside curl_ev_add()");
}

/* One handle for `path`, done() `want` times (added again in between). */
static void
one_handle(struct run *r, struct xfer *x, int port, const char *path,
    long timeout_ms, int want)
{
	run_init(r);
	xfer_init(x, port, path, timeout_ms);
	r->readd = want - 1;
	add(r, x);
	run_for(r, want, WAIT);
	cr_assert_eq(r->timedout, 0, "not done in %g s", WAIT);
	cr_assert_eq(r->n, want);
}

/* The end of a test: `x` is the last handle. */
static void
finish(struct run *r, struct xfer *x)
{
	run_free(r);
	xfer_free(x);
	cr_assert_eq(nwarn, 0, "warned: %s", lastwarn);
}

static void
slow_seen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	char	 c;

	if (read(w->fd, &c, 1) == 1)
		ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until the server has a /slow request (or WAIT s). */
static void
run_until_slow_seen(struct run *r)
{
	ev_io	 io;

	ev_io_init(&io, slow_seen_cb, slow_seen[0], EV_READ);
	ev_io_start(r->loop, &io);
	run_for(r, MAXDONE, WAIT);
	ev_io_stop(r->loop, &io);
	cr_assert_eq(r->timedout, 0, "the server never got /slow");
}

/* A handle the server never answers, added, and one it answers. */
static void
slow_and_ok(struct run *r, struct xfer *slow, long slow_ms, struct xfer *ok)
{
	run_init(r);
	xfer_init(slow, server_port, "/slow", slow_ms);
	xfer_init(ok, server_port, "/ok", 3000);
	add(r, slow);
}

/* ---- the tests ---- */

Test(curl_ev, get_answered_through_the_loop)
{
	struct run	 r;
	struct xfer	 x;

	one_handle(&r, &x, server_port, "/ok", 3000, 1);
	cr_assert_eq(r.d[0].easy, x.easy);
	cr_assert_eq(r.d[0].result, CURLE_OK, "%s", x.errbuf);
	cr_assert_eq(r.d[0].code, 200);
	cr_assert_str_eq(r.d[0].body, "hello\n");
	/* a kept-alive connection is in the cache: freed with it */
	finish(&r, &x);
}

Test(curl_ev, post_and_http_status)
{
	struct run	 r;
	struct xfer	 a, b;
	const char	 body[] = "{\"x\":1}";
	int		 i;

	run_init(&r);
	xfer_init(&a, server_port, "/echo", 3000);
	cr_assert_eq(curl_easy_setopt(a.easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)(sizeof(body) - 1)), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(a.easy, CURLOPT_POSTFIELDS, body),
	    CURLE_OK);
	xfer_init(&b, server_port, "/missing", 3000);
	add(&r, &a);
	add(&r, &b);
	run_for(&r, 2, WAIT);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(a.len, sizeof(body) - 1);
	cr_assert_str_eq(a.body, body);
	cr_assert_str_eq(b.body, "no such thing\n");
	for (i = 0; i < 2; i++) {
		cr_assert_eq(r.d[i].result, CURLE_OK);
		cr_assert_eq(r.d[i].code, r.d[i].easy == a.easy ? 200 : 404);
	}
	xfer_free(&b);
	finish(&r, &a);
}

/* One handle, added again from done(): the connection is reused. */
Test(curl_ev, readd_from_done_keeps_the_connection)
{
	struct run	 r;
	struct xfer	 x;
	int		 i;

	one_handle(&r, &x, server_port, "/ok", 3000, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(r.d[i].result, CURLE_OK);
		cr_assert_eq(r.d[i].code, 200);
		cr_assert_str_eq(r.d[i].body, "hello\n");
		cr_assert_eq(r.d[i].connects, i == 0 ? 1 : 0,
		    "request %d opened %ld connections", i, r.d[i].connects);
	}
	finish(&r, &x);
}

/* A server that closes after answering: the next request reconnects. */
Test(curl_ev, server_closes_next_request_reconnects)
{
	struct run	 r;
	struct xfer	 x;

	one_handle(&r, &x, server_port, "/close", 3000, 2);
	cr_assert_eq(r.d[0].result, CURLE_OK);
	cr_assert_eq(r.d[1].result, CURLE_OK);
	cr_assert_str_eq(r.d[1].body, "bye\n");
	cr_assert_eq(r.d[1].connects, 1);
	finish(&r, &x);
}

/*
 * Two unanswered requests, the shorter timeout added last: each ends by
 * its own deadline, the shorter first (WAIT is only a bound for a hang).
 */
Test(curl_ev, timeout)
{
	struct run	 r;
	struct xfer	 x, y;
	int		 i;

	run_init(&r);
	xfer_init(&y, server_port, "/slow", 1000);
	xfer_init(&x, server_port, "/slow", 200);
	add(&r, &y);
	add(&r, &x);
	run_for(&r, 2, WAIT);
	cr_assert_eq(r.timedout, 0, "not done in %g s", WAIT);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.d[0].easy, x.easy, "the longer timeout ended first");
	cr_assert_eq(r.d[1].easy, y.easy);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(r.d[i].result, CURLE_OPERATION_TIMEDOUT,
		    "%d: %s", r.d[i].result, i == 0 ? x.errbuf : y.errbuf);
		cr_assert_eq(r.d[i].code, 0);
	}
	cr_assert_neq(x.errbuf[0], '\0');
	xfer_free(&y);
	finish(&r, &x);
}

Test(curl_ev, connection_refused)
{
	struct run	 r;
	struct xfer	 x;
	int		 fd, port;

	/* a port bound but never listened on, then let go */
	cr_assert_neq(fd = listen_local(&port, 0), -1);
	close(fd);
	one_handle(&r, &x, port, "/ok", 3000, 1);
	cr_assert_eq(r.d[0].result, CURLE_COULDNT_CONNECT, "%d: %s",
	    r.d[0].result, x.errbuf);
	cr_assert_eq(r.d[0].code, 0);
	finish(&r, &x);
}

/* Several at once, each ending on its own (the fetcher's way). */
Test(curl_ev, concurrent_transfers_end_independently)
{
	struct run	 r;
	struct xfer	 ok1, ok2, slow;
	int		 i;

	slow_and_ok(&r, &slow, 400, &ok1);
	xfer_init(&ok2, server_port, "/ok", 3000);
	add(&r, &ok1);
	add(&r, &ok2);
	run_for(&r, 3, WAIT);
	cr_assert_eq(r.n, 3);
	/* the two answers first, the timeout last */
	for (i = 0; i < 2; i++) {
		cr_assert_neq(r.d[i].easy, slow.easy);
		cr_assert_eq(r.d[i].result, CURLE_OK);
		cr_assert_eq(r.d[i].code, 200);
	}
	cr_assert_eq(r.d[2].easy, slow.easy);
	cr_assert_eq(r.d[2].result, CURLE_OPERATION_TIMEDOUT);
	xfer_free(&ok1);
	xfer_free(&ok2);
	finish(&r, &slow);
}

/* Removed in flight: no done(), nothing left behind. */
Test(curl_ev, removed_transfer_never_calls_back)
{
	struct run	 r;
	struct xfer	 slow, ok;

	struct xfer	 later;

	slow_and_ok(&r, &slow, 300, &ok);
	/* the request is at the server before it is abandoned */
	run_until_slow_seen(&r);
	cr_assert_eq(r.n, 0);
	curl_ev_remove(r.ce, slow.easy);
	/* past its timeout (that of one started later, and longer): only
	 * the others end */
	xfer_init(&later, server_port, "/slow", 600);
	add(&r, &ok);
	add(&r, &later);
	run_for(&r, 2, WAIT);
	cr_assert_eq(r.timedout, 0, "not done in %g s", WAIT);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.d[0].easy, ok.easy);
	cr_assert_eq(r.d[0].result, CURLE_OK);
	cr_assert_eq(r.d[1].easy, later.easy);
	cr_assert_eq(r.d[1].result, CURLE_OPERATION_TIMEDOUT);
	xfer_free(&slow);
	xfer_free(&later);
	finish(&r, &ok);
}

/* done() may remove the others and free everything. */
Test(curl_ev, free_from_done)
{
	struct run	 r;
	struct xfer	 ok, slow;

	slow_and_ok(&r, &slow, 3000, &ok);
	r.remove = slow.easy;
	add(&r, &ok);
	run_for(&r, 1, WAIT);
	cr_assert_eq(r.timedout, 0, "not done in %g s", WAIT);
	cr_assert_eq(r.n, 1);
	cr_assert_null(r.ce);
	cr_assert_eq(r.d[0].easy, ok.easy);
	xfer_free(&slow);
	finish(&r, &ok);
}

/* A handle libcurl will not take (already in there) is an error. */
Test(curl_ev, add_twice_fails)
{
	struct run	 r;
	struct xfer	 x;
	char		 err[256];

	run_init(&r);
	xfer_init(&x, server_port, "/ok", 3000);
	add(&r, &x);
	cr_assert_eq(curl_ev_add(r.ce, x.easy, err, sizeof(err)), -1);
	cr_assert(strstr(err, "curl_multi_add_handle: ") == err, "%s", err);
	curl_ev_remove(r.ce, x.easy);
	finish(&r, &x);
}

/* ---- curl_dl: the table itself ---- */

Test(curl_ev, dl_every_entry_point_resolved_and_the_same_library)
{
	void	*const *p;
	size_t	 i, n;

	/* setup() opened it: every slot of the table is filled */
	p = (void *const *)&curl.global_init;
	n = (sizeof(curl) - offsetof(struct curl_dl, global_init)) /
	    sizeof(void *);
	for (i = 0; i < n; i++)
		cr_assert_not_null(p[i], "slot %zu of the table is empty", i);
	/* the one libcurl of the process, not a second copy */
	cr_assert_eq((void *)curl.easy_init, (void *)curl_easy_init);
	cr_assert_str_eq(curl.version_info(CURLVERSION_NOW)->version,
	    curl_version_info(CURLVERSION_NOW)->version);
}

Test(curl_ev, dl_close_then_zeroed_is_harmless)
{
	struct curl_dl	 c;

	memset(&c, 0, sizeof(c));
	curl_dl_close(&c);
	cr_assert_eq(curl_dl_open(&c, cerr, sizeof(cerr)), 0, "%s", cerr);
	cr_assert_eq(c.global, 1);
	curl_dl_close(&c);
	cr_assert_eq(c.global, 0);
	cr_assert_null(c.handle);
}
