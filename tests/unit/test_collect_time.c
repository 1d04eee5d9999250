/*
 * TIME: the SNTP client against a server double on 127.0.0.1 (a thread)
 * that answers well, or badly in one way at a time.  The client's clock
 * is fixed, so T1 = T4 and the offset is exactly what the double adds.
 */
#include "collect_fixture.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <pthread.h>

#include "workers/collector/collect_hooks.h"

extern const struct collect_family collect_time_family;

enum how {
	GOOD,
	WRONG_ORIGIN,
	KOD,
	SHORT,
	CLIENT_MODE,
	UNSYNCED,
	STRATUM16,
	NO_TIMES,
	SILENT,
	SECOND_ONLY,	/* the first request goes unanswered */
	BAD_THEN_GOOD	/* a bad reply, then a good one to the same */
};

struct double_srv {
	int		 fd;
	int		 port;
	enum how	 how;
	double		 offset;	/* seconds the server is ahead */
	int		 requests;
	pthread_t	 th;
};

static void
be64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
rd64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void *
serve(void *arg)
{
	struct double_srv	*d = arg;
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	unsigned char		 req[128], rep[48];
	struct pollfd		 pfd;
	uint64_t		 t1, t;
	ssize_t			 n;
	size_t			 len;

	for (;;) {
		pfd.fd = d->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 3000) <= 0)
			return NULL;
		fl = sizeof(from);
		n = recvfrom(d->fd, req, sizeof(req), 0,
		    (struct sockaddr *)&from, &fl);
		if (n < 0)
			return NULL;
		if (n == 1)
			return NULL;	/* told to stop */
		d->requests++;
		cr_assert_eq(n, 48);
		cr_assert_eq(req[0], 0x23);
		t1 = rd64(req + 40);
		t = t1 + (uint64_t)(int64_t)(d->offset * 4294967296.0);
		memset(rep, 0, sizeof(rep));
		rep[0] = 0x24;		/* leap 0, version 4, server */
		rep[1] = 2;
		memcpy(rep + 12, "GPS", 3);
		be64(rep + 16, t - (1ULL << 32));
		be64(rep + 24, t1);
		be64(rep + 32, t);
		be64(rep + 40, t);
		len = sizeof(rep);
		switch (d->how) {
		case GOOD:
			break;
		case WRONG_ORIGIN:
			be64(rep + 24, t1 + 1);
			break;
		case KOD:
			rep[1] = 0;
			memcpy(rep + 12, "RATE", 4);
			break;
		case SHORT:
			len = 40;
			break;
		case CLIENT_MODE:
			rep[0] = 0x23;
			break;
		case UNSYNCED:
			rep[0] = 0xe4;
			break;
		case STRATUM16:
			rep[1] = 16;
			break;
		case NO_TIMES:
			be64(rep + 40, 0);
			break;
		case SILENT:
			continue;
		case SECOND_ONLY:
			if (d->requests == 1)
				continue;
			break;
		case BAD_THEN_GOOD:
			be64(rep + 24, t1 + 1);
			(void)sendto(d->fd, rep, len, 0,
			    (struct sockaddr *)&from, fl);
			be64(rep + 24, t1);
			break;
		}
		(void)sendto(d->fd, rep, len, 0, (struct sockaddr *)&from, fl);
	}
}

static void
srv_start(struct double_srv *d, enum how how, double offset)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	memset(d, 0, sizeof(*d));
	d->how = how;
	d->offset = offset;
	cr_assert_neq(d->fd = socket(AF_INET, SOCK_DGRAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(d->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(d->fd, (struct sockaddr *)&sin, &len), 0);
	d->port = ntohs(sin.sin_port);
	cr_assert_eq(pthread_create(&d->th, NULL, serve, d), 0);
}

static void
srv_stop(struct double_srv *d)
{
	struct sockaddr_in	 sin;
	int			 fd;

	cr_assert_neq(fd = socket(AF_INET, SOCK_DGRAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)d->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	pthread_join(d->th, NULL);
	close(d->fd);
}

static void
fixed_clock(struct timespec *ts)
{
	ts->tv_sec = 1700000000;
	ts->tv_nsec = 250000000;
}

static int
run(const char *server, struct point_list *pl, char *err, size_t errlen,
    int wait_ms)
{
	struct collect_env	 env;
	void			*st;
	int			 rc;

	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = 1700000000;
	env.ntpserver = server;
	cr_assert_not_null(st = collect_time_family.init());
	collect_time_set_clock(st, fixed_clock);
	collect_time_set_wait(st, wait_ms);
	err[0] = '\0';
	rc = collect_time_family.collect(st, &env, pl, err, errlen);
	collect_time_family.fini(st);
	cr_assert_eq(pl->failed, 0);
	return rc;
}

Test(collect_time, offsets)
{
	struct double_srv	 d;
	struct point_list	 pl;
	char			 server[64], err[256];

	collect_list_init(&pl);
	srv_start(&d, GOOD, 1.25);
	snprintf(server, sizeof(server), "127.0.0.1:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 1000), 0, "%s", err);
	assert_dump(&pl, "time.offset - 1.25f\n");
	srv_stop(&d);
	cr_assert_eq(d.requests, 1);
	collect_list_reset(&pl);

	/* the server behind us: negative */
	srv_start(&d, GOOD, -0.5);
	snprintf(server, sizeof(server), "[127.0.0.1]:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 1000), 0, "%s", err);
	assert_dump(&pl, "time.offset - -0.5f\n");
	srv_stop(&d);
	collect_list_reset(&pl);

	/* a lost answer: the second attempt gets it */
	srv_start(&d, SECOND_ONLY, 0.125);
	snprintf(server, sizeof(server), "127.0.0.1:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 200), 0, "%s", err);
	assert_dump(&pl, "time.offset - 0.125f\n");
	srv_stop(&d);
	cr_assert_eq(d.requests, 2);
	collect_list_reset(&pl);

	/* a forged answer first: ignored, the real one taken */
	srv_start(&d, BAD_THEN_GOOD, 2);
	snprintf(server, sizeof(server), "127.0.0.1:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 1000), 0, "%s", err);
	assert_dump(&pl, "time.offset - 2f\n");
	srv_stop(&d);
	cr_assert_eq(d.requests, 1);
	collect_list_reset(&pl);

	/* localhost may resolve to ::1 first: attempts go round */
	srv_start(&d, GOOD, 3);
	snprintf(server, sizeof(server), "localhost:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 300), 0, "%s", err);
	assert_dump(&pl, "time.offset - 3f\n");
	srv_stop(&d);
	collect_list_free(&pl);
}

Test(collect_time, bad_replies)
{
	static const enum how bad[] = { WRONG_ORIGIN, SHORT, CLIENT_MODE,
	    UNSYNCED, STRATUM16, NO_TIMES, SILENT };
	struct double_srv	 d;
	struct point_list	 pl;
	char			 server[64], err[256];
	size_t			 i;

	collect_list_init(&pl);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		srv_start(&d, bad[i], 1);
		snprintf(server, sizeof(server), "127.0.0.1:%d", d.port);
		cr_assert_eq(run(server, &pl, err, sizeof(err), 100), -1,
		    "case %zu", i);
		cr_assert(strstr(err, "no valid answer in 3 attempts") !=
		    NULL, "%s", err);
		cr_assert_eq(pl.n, 0, "case %zu", i);
		srv_stop(&d);
		cr_assert_eq(d.requests, 3, "case %zu", i);
	}

	/* kiss-o'-death: no second attempt */
	srv_start(&d, KOD, 1);
	snprintf(server, sizeof(server), "127.0.0.1:%d", d.port);
	cr_assert_eq(run(server, &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "kiss-o'-death") != NULL, "%s", err);
	cr_assert_eq(pl.n, 0);
	srv_stop(&d);
	cr_assert_eq(d.requests, 1);
	collect_list_free(&pl);
}

Test(collect_time, servers)
{
	struct point_list	 pl;
	char			 err[256];

	collect_list_init(&pl);
	/* off */
	cr_assert_eq(run("", &pl, err, sizeof(err), 100), 0);
	cr_assert_eq(pl.n, 0);
	/* malformed */
	cr_assert_eq(run("127.0.0.1:99999", &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "bad port") != NULL, "%s", err);
	cr_assert_eq(run("127.0.0.1:", &pl, err, sizeof(err), 100), -1);
	cr_assert_eq(run("[::1", &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "bad [address]") != NULL, "%s", err);
	cr_assert_eq(run(":123", &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "bad host") != NULL, "%s", err);
	/* nothing listens: refused at once, three times */
	cr_assert_eq(run("127.0.0.1:9", &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "no valid answer") != NULL, "%s", err);
	/* a v6 literal without brackets is a host, port 123 */
	cr_assert_eq(run("::1", &pl, err, sizeof(err), 100), -1);
	cr_assert(strstr(err, "no valid answer") != NULL ||
	    strstr(err, "ntpserver ::1") != NULL, "%s", err);
	cr_assert_eq(pl.n, 0);
	collect_list_free(&pl);
}
