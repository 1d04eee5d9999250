/*
 * PORT: for each PORT item, <item name> = 1 when a TCP connect to
 * 127.0.0.1:<port> succeeds within the item's timeout, else 0; the point
 * goes to the item's namespace (lodastack-protocols.md sections 2.2 and
 * 5.10).
 *
 * All connects run at once, non-blocking, under one poll(): a run takes
 * as long as the slowest check, not the sum of them, so one port that
 * drops SYNs does not hold the others.  A timeout <= 0 is 3 s, as in the
 * Go agent; one over PORT_WAIT_MAX is cut to it, since the collector
 * waits for the checks (a loopback connect not done in 10 s is down).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "log.h"

#define PORT_TIMEOUT	3	/* seconds, for a timeout <= 0 */
#define PORT_WAIT_MAX	10	/* seconds at most per check */

struct port_check {
	int		 fd;		/* -1: done */
	int		 up;
	int		 nosock;	/* errno of socket(), 0: made */
	int64_t		 deadline;	/* ms, monotonic */
};

static void *
port_init(void)
{
	return calloc(1, 1);	/* nothing kept between runs */
}

static void
port_fini(void *state)
{
	free(state);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;	/* not expected; the checks then time out */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
check_done(struct port_check *c, int up)
{
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	c->up = up;
}

/* Start a connect; it may be over at once (refused, or done). */
static void
check_start(struct port_check *c, const struct port_item *it, int64_t now)
{
	struct sockaddr_in	 sin;
	int			 timeout = it->timeout;

	c->fd = -1;
	c->up = 0;
	if (timeout <= 0)
		timeout = PORT_TIMEOUT;
	if (timeout > PORT_WAIT_MAX)
		timeout = PORT_WAIT_MAX;
	c->deadline = now + (int64_t)timeout * 1000;
	if (it->port < 1 || it->port > 65535) {
		log_warnx("%s: collect port: %s: port %d out of range",
		    __func__, it->name, it->port);
		return;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		/* said once a run (port_collect()): thousands of ports
		 * past the descriptor limit were a line each */
		c->nosock = errno;
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)it->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		check_done(c, 1);
	else if (errno != EINPROGRESS)
		check_done(c, 0);	/* refused: nothing listens */
}

/* Wait for the pending connects; each ends by its own deadline. */
static int
checks_wait(struct port_check *c, size_t n)
{
	struct pollfd	*pfd;
	size_t		*idx, k, i;
	int64_t		 now, wait;
	int		 r, soerr;
	socklen_t	 len;

	if ((pfd = calloc(n, sizeof(*pfd))) == NULL ||
	    (idx = calloc(n, sizeof(*idx))) == NULL) {
		free(pfd);
		return -1;
	}
	for (;;) {
		now = now_ms();
		wait = -1;
		for (i = 0, k = 0; i < n; i++) {
			if (c[i].fd == -1)
				continue;
			if (c[i].deadline <= now) {
				check_done(&c[i], 0);	/* timed out */
				continue;
			}
			if (wait == -1 || c[i].deadline - now < wait)
				wait = c[i].deadline - now;
			pfd[k].fd = c[i].fd;
			pfd[k].events = POLLOUT;
			pfd[k].revents = 0;
			idx[k++] = i;
		}
		if (k == 0)
			break;
		if ((r = poll(pfd, k, (int)wait)) == -1 && errno != EINTR) {
			log_warn("%s: collect port: poll", __func__);
			for (i = 0; i < k; i++)
				check_done(&c[idx[i]], 0);
			break;
		}
		for (i = 0; r > 0 && i < k; i++) {
			if (pfd[i].revents == 0)
				continue;
			soerr = 0;
			len = sizeof(soerr);
			if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &len) == -1)
				soerr = errno;
			check_done(&c[idx[i]], soerr == 0);
		}
	}
	free(pfd);
	free(idx);
	return 0;
}

/*
 * One connect per port and run, whatever the number of items that name
 * it (in one namespace or in several), with the longest of their
 * timeouts: the registry's items were each a connect, all at once, and
 * 500 items of a database's port opened 500 connections to it every
 * interval, past its connection limit, its own clients refused.
 */
static int
port_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	const struct items	*it = env->items;
	struct port_check	*c = NULL;
	struct port_item	*uniq = NULL;
	uint32_t		*slot = NULL;	/* port -> 1 + index in uniq */
	const struct port_item	*pi;
	int64_t			 now;
	size_t			 i, k, first = 0, n = 0;
	int			 up;

	if (it == NULL || it->nports == 0)
		return 0;
	if ((c = calloc(it->nports, sizeof(*c))) == NULL ||
	    (uniq = calloc(it->nports, sizeof(*uniq))) == NULL ||
	    (slot = calloc(65536, sizeof(*slot))) == NULL) {
		free(c);
		free(uniq);
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < it->nports; i++) {
		pi = &it->ports[i];
		if (pi->port < 1 || pi->port > 65535) {
			/* the fetcher refuses them: check_start() says so */
			uniq[n++] = *pi;
			continue;
		}
		if (slot[pi->port] == 0) {
			uniq[n] = *pi;
			slot[pi->port] = (uint32_t)++n;
		} else if (pi->timeout > uniq[slot[pi->port] - 1].timeout)
			uniq[slot[pi->port] - 1].timeout = pi->timeout;
	}
	now = now_ms();
	for (i = 0; i < n; i++)
		check_start(&c[i], &uniq[i], now);
	if (checks_wait(c, n) == -1) {
		for (i = 0; i < n; i++)
			check_done(&c[i], 0);
		free(c);
		free(uniq);
		free(slot);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	for (i = 0, k = 0; i < n; i++)
		if (c[i].nosock != 0 && k++ == 0)
			first = i;
	if (k > 0)
		log_warnx("%s: collect port: %zu of %zu ports not checked (no "
		    "socket: %s; the first: %s), reported down", __func__, k, n,
		    strerror(c[first].nosock), uniq[first].name);
	for (i = 0; i < it->nports; i++) {
		pi = &it->ports[i];
		up = pi->port >= 1 && pi->port <= 65535 && slot[pi->port] != 0 ?
		    c[slot[pi->port] - 1].up : 0;
		/* to the item's namespace only */
		collect_list_route(out, pi->ns);
		(void)collect_list_add_int(out, pi->name, up, NULL);
	}
	collect_list_route(out, NULL);
	free(c);
	free(uniq);
	free(slot);
	return 0;
}

const struct collect_family collect_port_family = {
	.name = "port",
	.type = SYS_PORT,
	.init = port_init,
	.fini = port_fini,
	.collect = port_collect,
};
