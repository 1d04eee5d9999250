/*
 * Name lookups off the event loop (sender_resolve.h): answers come
 * through the loop, never from inside sender_resolve_start(); numeric
 * addresses need no thread; a lookup that does not end in time is given
 * up and its thread cleans up after itself; a cancelled or replaced
 * lookup never calls back.  A stand-in for getaddrinfo() that waits on
 * a pipe plays the DNS server that does not answer.  Under ASan/LSan
 * (make unit-san) these also prove the abandoned lookups are freed.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workers/sender/sender_resolve.h"

/* The stand-in's pipe: it answers once a byte can be read. */
static int	 gate[2] = { -1, -1 };

struct seen {
	int			 calls;
	struct resolve_result	 last;
};

static void
record(struct resolver *r, struct resolve_result *res, void *arg)
{
	struct seen	*s = arg;

	s->calls++;
	s->last = *res;
	ev_break(r->loop, EVBREAK_ONE);
}

/* A DNS server that answers when told: after a byte on the gate. */
static int
slow_lookup(const char *host, const char *port,
    const struct addrinfo *hints, struct addrinfo **res)
{
	char	 c;

	while (read(gate[0], &c, 1) == -1 && errno == EINTR)
		;
	return getaddrinfo("127.0.0.1", port, hints, res);
}

static int
failing_lookup(const char *host, const char *port,
    const struct addrinfo *hints, struct addrinfo **res)
{
	return EAI_NONAME;
}

static void
open_gate(void)
{
	cr_assert_eq(write(gate[1], "x", 1), 1);
}

static void
setup(void)
{
	cr_assert_eq(pipe(gate), 0);
}

static void
teardown(void)
{
	close(gate[0]);
	close(gate[1]);
}

static struct addrinfo
tcp_hints(void)
{
	struct addrinfo	 h;

	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;
	h.ai_socktype = SOCK_STREAM;
	h.ai_protocol = IPPROTO_TCP;
	h.ai_flags = AI_NUMERICSERV;
	return h;
}

/* Threads of this process, from /proc. */
static int
threads(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	cr_assert_not_null(d = opendir("/proc/self/task"));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Wait (with a deadline, not a duration to assert) for `n` threads. */
static void
wait_threads(int n)
{
	struct timespec	 ts = { 0, 5 * 1000 * 1000 };
	int		 i;

	for (i = 0; i < 2000 && threads() != n; i++)
		nanosleep(&ts, NULL);
	cr_assert_eq(threads(), n, "threads left behind");
}

/* Run the loop until the callback came (the suite's timeout guards). */
static void
run_until(struct ev_loop *loop, struct seen *s)
{
	while (s->calls == 0)
		ev_run(loop, EVRUN_ONCE);
}

TestSuite(resolve, .init = setup, .fini = teardown, .timeout = 60);

Test(resolve, numeric_address_answered_through_the_loop)
{
	struct ev_loop		*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver		 r;
	struct addrinfo		 h = tcp_hints();
	struct seen		 s = { 0 };
	struct sockaddr_in	*sin;
	char			 err[128];
	int			 base = threads();

	sender_resolve_init(&r, loop, slow_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "127.0.0.1", "4150", &h, 5.0, err,
	    sizeof(err)), 0, "%s", err);
	/* no thread, and no answer from inside the call */
	cr_assert_eq(r.background, 0);
	cr_assert_eq(s.calls, 0);
	cr_assert_eq(threads(), base);
	cr_assert(sender_resolve_busy(&r));
	run_until(loop, &s);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.last.rc, 0);
	cr_assert_eq(s.last.timedout, 0);
	cr_assert_not_null(s.last.res);
	cr_assert_eq(s.last.res->ai_family, AF_INET);
	sin = (struct sockaddr_in *)(void *)s.last.res->ai_addr;
	cr_assert_eq(ntohs(sin->sin_port), 4150);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	freeaddrinfo(s.last.res);
	cr_assert(!sender_resolve_busy(&r));
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, name_looked_up_in_a_thread)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];
	int		 base = threads();

	/* the real getaddrinfo(): localhost is in /etc/hosts */
	sender_resolve_init(&r, loop, NULL, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "localhost", "4150", &h, 30.0,
	    err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.background, 1);
	cr_assert_eq(s.calls, 0);
	run_until(loop, &s);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.last.rc, 0, "%s", gai_strerror(s.last.rc));
	cr_assert_not_null(s.last.res);
	freeaddrinfo(s.last.res);
	wait_threads(base);
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, lookup_error_reported)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];

	sender_resolve_init(&r, loop, failing_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "nsqd.example", "4150", &h, 30.0,
	    err, sizeof(err)), 0, "%s", err);
	run_until(loop, &s);
	cr_assert_eq(s.last.rc, EAI_NONAME);
	cr_assert_eq(s.last.timedout, 0);
	cr_assert_null(s.last.res);
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, no_answer_in_time_gives_up_and_the_thread_cleans_up)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];
	int		 base = threads();

	sender_resolve_init(&r, loop, slow_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "dead-dns.example", "4150", &h,
	    0.05,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.background, 1);
	run_until(loop, &s);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.last.timedout, 1);
	cr_assert_null(s.last.res);
	cr_assert(!sender_resolve_busy(&r));
	/* the server answers late: nobody is told, the thread frees it */
	cr_assert_eq(threads(), base + 1);
	open_gate();
	wait_threads(base);
	ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(s.calls, 1);
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, cancelled_lookup_never_calls_back)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];
	int		 base = threads();

	sender_resolve_init(&r, loop, slow_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "nsqd.example", "4150", &h, 30.0,
	    err, sizeof(err)), 0, "%s", err);
	sender_resolve_cancel(&r);
	cr_assert(!sender_resolve_busy(&r));
	open_gate();
	wait_threads(base);
	/* whatever the thread did, the loop has nothing for us */
	ev_run(loop, EVRUN_NOWAIT);
	ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(s.calls, 0);
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, a_new_lookup_replaces_the_one_in_progress)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];
	int		 base = threads();

	sender_resolve_init(&r, loop, slow_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "old.example", "1", &h, 30.0, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(sender_resolve_start(&r, "::1", "2", &h, 30.0, err,
	    sizeof(err)), 0, "%s", err);
	run_until(loop, &s);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.last.rc, 0);
	cr_assert_eq(s.last.res->ai_family, AF_INET6);
	freeaddrinfo(s.last.res);
	/* the old one ends unheard */
	open_gate();
	wait_threads(base);
	ev_run(loop, EVRUN_NOWAIT);
	cr_assert_eq(s.calls, 1);
	sender_resolve_close(&r);
	ev_loop_destroy(loop);
}

Test(resolve, closed_with_a_lookup_in_progress)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver	 r;
	struct addrinfo	 h = tcp_hints();
	struct seen	 s = { 0 };
	char		 err[128];
	int		 base = threads();

	/* as at shutdown: the resolver goes, the thread still waits */
	sender_resolve_init(&r, loop, slow_lookup, record, &s);
	cr_assert_eq(sender_resolve_start(&r, "nsqd.example", "4150", &h, 30.0,
	    err, sizeof(err)), 0, "%s", err);
	sender_resolve_close(&r);
	memset(&r, 0xa5, sizeof(r));	/* its memory is gone */
	ev_loop_destroy(loop);
	open_gate();
	wait_threads(base);
	cr_assert_eq(s.calls, 0);
}
