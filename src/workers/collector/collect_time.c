/*
 * TIME: time.offset, seconds the local clock is behind the SNTP server
 * `ntpserver` (host or host:port, [v6]:port; UDP 123 by default; empty:
 * off), as ((T2 - T1) + (T3 - T4)) / 2 (lodastack-protocols.md 5.7).
 *
 * One 48-byte NTPv4 client packet per attempt, at most TIME_ATTEMPTS
 * attempts of TIME_WAIT_MS each, so a run waits 3 s at most for answers
 * (the Go agent: 3 attempts of up to 5 s each) plus the name lookup,
 * which getaddrinfo() bounds by resolv.conf's timeout.  The collector
 * blocks that long; with the 300 s TIME interval that is acceptable, and
 * it needs no state across loop iterations.  Each attempt uses a new
 * connected socket, so a late answer to an earlier attempt cannot be
 * taken for this one's, and attempts go round the resolved addresses.
 *
 * A reply counts when it is a server reply (mode 4) of at least 48
 * bytes, its origin timestamp is our transmit timestamp, the server is
 * synchronized (leap indicator not 3, stratum 1 to 15) and its receive
 * and transmit timestamps are set.  Anything else is ignored until the
 * attempt's time is up; a kiss-o'-death (stratum 0) ends the run, as RFC
 * 5905 asks.  The Go agent checked nothing of this.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "collect_hooks.h"
#include "log.h"

#define TIME_ATTEMPTS	3
#define TIME_WAIT_MS	1000		/* per attempt */
#define NTP_PACKET	48
#define NTP_UNIX_EPOCH	2208988800ULL	/* 1970 - 1900 in seconds */
#define NTP_HOST_MAX	256

struct time_state {
	collect_clock_fn	 clock;
	int			 wait_ms;
};

static void
real_clock(struct timespec *ts)
{
	if (clock_gettime(CLOCK_REALTIME, ts) == -1)
		memset(ts, 0, sizeof(*ts));	/* not expected */
}

static void *
time_init(void)
{
	struct time_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->clock = real_clock;
	st->wait_ms = TIME_WAIT_MS;
	return st;
}

static void
time_fini(void *state)
{
	free(state);
}

void
collect_time_set_clock(void *state, collect_clock_fn fn)
{
	((struct time_state *)state)->clock = fn;
}

void
collect_time_set_wait(void *state, int ms)
{
	((struct time_state *)state)->wait_ms = ms;
}

/* NTP 64-bit timestamp (32.32 fixed point since 1900) of a timespec. */
static uint64_t
ntp_time(const struct timespec *ts)
{
	uint64_t	 sec = (uint64_t)ts->tv_sec + NTP_UNIX_EPOCH;
	uint64_t	 frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000ULL;

	return (sec << 32) | (frac & 0xffffffffULL);
}

static uint64_t
be64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* a - b in seconds; modular, so right across the 2036 era wrap. */
static double
ntp_diff(uint64_t a, uint64_t b)
{
	return (double)(int64_t)(a - b) / 4294967296.0;
}

/*
 * "host", "host:port", "[v6]", "[v6]:port", or a bare v6 address (more
 * than one ':').  0, or -1 with err.
 */
static int
parse_server(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen, char *err, size_t errlen)
{
	const char	*h = s, *p = NULL, *c;
	size_t		 n;
	long		 v;
	char		*end;

	if (s[0] == '[') {
		if ((c = strchr(s, ']')) == NULL || (c[1] != '\0' &&
		    c[1] != ':')) {
			snprintf(err, errlen, "ntpserver \"%s\": bad [address]",
			    s);
			return -1;
		}
		h = s + 1;
		n = (size_t)(c - h);
		if (c[1] == ':')
			p = c + 2;
	} else if ((c = strchr(s, ':')) != NULL && strchr(c + 1, ':') ==
	    NULL) {
		n = (size_t)(c - s);
		p = c + 1;
	} else
		n = strlen(s);
	if (n == 0 || n >= hostlen) {
		snprintf(err, errlen, "ntpserver \"%s\": bad host", s);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (p == NULL)
		p = "123";
	errno = 0;
	v = strtol(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 || v < 1 ||
	    v > 65535) {
		snprintf(err, errlen, "ntpserver \"%s\": bad port", s);
		return -1;
	}
	snprintf(port, portlen, "%ld", v);
	return 0;
}

enum reply {
	REPLY_OK,
	REPLY_BAD,	/* ignored: keep waiting */
	REPLY_KOD	/* the server asks us to stop */
};

static enum reply
check_reply(const unsigned char *b, ssize_t len, uint64_t t1,
    const char *server)
{
	int	 leap, mode, stratum;

	if (len < NTP_PACKET) {
		log_debug("collect time: %s: %zd-byte reply", server, len);
		return REPLY_BAD;
	}
	leap = b[0] >> 6;
	mode = b[0] & 7;
	stratum = b[1];
	if (mode != 4) {
		log_debug("collect time: %s: reply in mode %d", server, mode);
		return REPLY_BAD;
	}
	if (be64(b + 24) != t1) {
		log_debug("collect time: %s: reply to another request",
		    server);
		return REPLY_BAD;
	}
	if (stratum == 0) {
		log_warnx("%s: collect time: %s: kiss-o'-death \"%.4s\"",
		    __func__, server, (const char *)b + 12);
		return REPLY_KOD;
	}
	if (leap == 3 || stratum > 15) {
		log_debug("collect time: %s: not synchronized (leap %d, "
		    "stratum %d)", server, leap, stratum);
		return REPLY_BAD;
	}
	if (be64(b + 32) == 0 || be64(b + 40) == 0) {
		log_debug("collect time: %s: reply without times", server);
		return REPLY_BAD;
	}
	return REPLY_OK;
}

/*
 * One request to one address.  1 with *offset, 0 for no usable answer
 * in time, -1 when the server said to stop.
 */
static int
attempt(struct time_state *st, const struct addrinfo *ai, const char *server,
    double *offset)
{
	unsigned char	 req[NTP_PACKET], rep[NTP_PACKET + 512];
	struct timespec	 ts, mono;
	struct pollfd	 pfd;
	uint64_t	 t1, t4;
	int64_t		 deadline, now;
	ssize_t		 n;
	int		 fd, rc = 0, r;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		log_warn("%s: collect time: %s: socket", __func__, server);
		return 0;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		log_warn("%s: collect time: %s: connect", __func__, server);
		goto done;
	}
	memset(req, 0, sizeof(req));
	req[0] = 0x23;		/* leap 0, version 4, mode 3 (client) */
	st->clock(&ts);
	t1 = ntp_time(&ts);
	put_be64(req + 40, t1);
	if (send(fd, req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		log_warn("%s: collect time: %s: send", __func__, server);
		goto done;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &mono) == -1)
		goto done;
	deadline = (int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000 +
	    st->wait_ms;
	for (;;) {
		if (clock_gettime(CLOCK_MONOTONIC, &mono) == -1)
			break;
		now = (int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000;
		if (now >= deadline)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, rep, sizeof(rep), 0);
		st->clock(&ts);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1) {
			/* ECONNREFUSED: nothing listens there */
			log_debug("collect time: %s: recv: %s", server,
			    strerror(errno));
			break;
		}
		t4 = ntp_time(&ts);
		switch (check_reply(rep, n, t1, server)) {
		case REPLY_OK:
			*offset = (ntp_diff(be64(rep + 32), t1) +
			    ntp_diff(be64(rep + 40), t4)) / 2;
			rc = 1;
			goto done;
		case REPLY_KOD:
			rc = -1;
			goto done;
		case REPLY_BAD:
			break;
		}
	}
 done:
	(void)close(fd);
	return rc;
}

static int
time_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct time_state	*st = state;
	struct addrinfo		 hints, *res, *ai;
	char			 host[NTP_HOST_MAX], port[8];
	double			 offset = 0;
	int			 i, r = 0, gai;

	if (env->ntpserver == NULL || env->ntpserver[0] == '\0')
		return 0;
	if (parse_server(env->ntpserver, host, sizeof(host), port,
	    sizeof(port), err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "ntpserver %s: %s", env->ntpserver,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	for (i = 0, ai = res; i < TIME_ATTEMPTS; i++) {
		if ((r = attempt(st, ai, env->ntpserver, &offset)) != 0)
			break;
		if ((ai = ai->ai_next) == NULL)
			ai = res;
	}
	freeaddrinfo(res);
	if (r == 1) {
		collect_list_add_float(out, "time.offset", offset, NULL);
		return 0;
	}
	if (r == -1)
		snprintf(err, errlen, "ntpserver %s: kiss-o'-death: not asked "
		    "again this run", env->ntpserver);
	else
		snprintf(err, errlen, "ntpserver %s: no valid answer in %d "
		    "attempts of %d ms", env->ntpserver, TIME_ATTEMPTS,
		    st->wait_ms);
	return -1;
}

const struct collect_family collect_time_family = {
	.name = "time",
	.type = SYS_TIME,
	.init = time_init,
	.fini = time_fini,
	.collect = time_collect,
};
