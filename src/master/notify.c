/*
 * The service manager's readiness protocol (sd_notify(3), without
 * libsystemd): when the master was started with NOTIFY_SOCKET in its
 * environment (systemd's Type=notify, with `agent start -F`), it sends
 * one datagram per state change to that AF_UNIX socket:
 *
 *   READY=1                     every worker is up (and after a reload)
 *   RELOADING=1 MONOTONIC_USEC  SIGHUP: a reload starts
 *   STOPPING=1                  SIGTERM/SIGINT: the workers are stopping
 *   STATUS=...                  a line for `systemctl status`
 *   WATCHDOG=1                  every half of WATCHDOG_USEC, from the
 *                               loop (systemd's WatchdogSec=)
 *
 * NOTIFY_SOCKET is a path ("/run/systemd/notify") or an abstract name
 * ("@..."); anything else is ignored with a warning.  The variable is
 * removed from the environment at once, so no worker, git or plugin
 * inherits it (only the master speaks for the service); WATCHDOG_USEC and
 * WATCHDOG_PID too.  A failed send
 * is logged and changes nothing: the agent runs on without a manager.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

void
notify_init(struct notify *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
}

int
notify_address(const char *path, struct sockaddr_un *sa, socklen_t *salen,
    char *err, size_t errlen)
{
	size_t	 len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || len < 2) {
		snprintf(err, errlen, "NOTIFY_SOCKET=\"%.64s\": neither a path "
		    "nor an abstract socket (@name)", path);
		return -1;
	}
	if (len > sizeof(sa->sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET: %zu bytes, longer than a "
		    "socket address", len);
		return -1;
	}
	memcpy(sa->sun_path, path, len);
	/* an abstract name starts with a NUL and is not NUL-terminated */
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/' ? 1 : 0));
	if (*salen > sizeof(*sa))
		*salen = sizeof(*sa);
	return 0;
}

/* WATCHDOG_USEC, when meant for this process (WATCHDOG_PID); 0: none. */
static uint64_t
watchdog_usec(void)
{
	const char		*v, *pid;
	char			*end;
	unsigned long long	 us;

	v = getenv("WATCHDOG_USEC");
	pid = getenv("WATCHDOG_PID");
	if (v == NULL || (pid != NULL && strtol(pid, NULL, 10) != getpid()))
		return 0;
	errno = 0;
	us = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return 0;
	return (uint64_t)us;
}

int
notify_open(struct notify *n)
{
	const char	*env;

	notify_init(n);
	n->watchdog_usec = watchdog_usec();
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
	if ((env = getenv("NOTIFY_SOCKET")) == NULL)
		return 0;
	if (notify_address(env, &n->sa, &n->salen, n->err,
	    sizeof(n->err)) == -1) {
		(void)unsetenv("NOTIFY_SOCKET");
		return -1;
	}
	/* nothing we start may talk to the service manager in our name */
	(void)unsetenv("NOTIFY_SOCKET");
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(n->err, sizeof(n->err), "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct notify	*n = t->data;

	if (n->fd != -1 && sendto(n->fd, "WATCHDOG=1\n", 11, MSG_NOSIGNAL,
	    (struct sockaddr *)&n->sa, n->salen) == -1)
		log_warn("%s: to the service manager", __func__);
}

void
notify_watchdog_start(struct notify *n, struct ev_loop *loop)
{
	double	 half = (double)n->watchdog_usec / 2e6;

	if (n->fd == -1 || n->watchdog_usec == 0)
		return;
	n->loop = loop;
	ev_timer_init(&n->watchdog, watchdog_cb, half, half);
	n->watchdog.data = n;
	ev_timer_start(loop, &n->watchdog);
	log_info("%s: WATCHDOG=1 every %.3f s to the service manager",
	    __func__, half);
}

void
notify_close(struct notify *n)
{
	if (n->loop != NULL)
		ev_timer_stop(n->loop, &n->watchdog);
	n->loop = NULL;
	if (n->fd != -1)
		(void)close(n->fd);
	n->fd = -1;
}

size_t
notify_build(char *buf, size_t len, enum notify_state state,
    uint64_t monotonic_usec, const char *status)
{
	const char	*first;
	int		 k;

	switch (state) {
	case NOTIFY_READY:
		first = "READY=1\n";
		break;
	case NOTIFY_RELOADING:
		first = "RELOADING=1\n";
		break;
	case NOTIFY_STOPPING:
		first = "STOPPING=1\n";
		break;
	default:
		first = "";
		break;
	}
	if (state == NOTIFY_RELOADING)
		k = snprintf(buf, len, "%sMONOTONIC_USEC=%llu\n", first,
		    (unsigned long long)monotonic_usec);
	else
		k = snprintf(buf, len, "%s", first);
	if (k < 0 || (size_t)k >= len)
		return 0;
	if (status != NULL && status[0] != '\0') {
		if ((size_t)k + sizeof("STATUS=\n") > len)
			return 0;
		memcpy(buf + k, "STATUS=", 7);
		k += 7;
		/* one line (a newline would start another assignment), cut
		 * to fit */
		for (; *status != '\0' && (size_t)k + 2 < len; status++)
			buf[k++] = *status == '\n' ? ' ' : *status;
		buf[k++] = '\n';
		buf[k] = '\0';
	}
	return (size_t)k;
}

static uint64_t
monotonic_usec(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
notify_send(struct notify *n, enum notify_state state, const char *status)
{
	char	 msg[512];
	size_t	 len;

	if (n->fd == -1)
		return;
	len = notify_build(msg, sizeof(msg), state, state == NOTIFY_RELOADING ?
	    monotonic_usec() : 0, status);
	if (len == 0)
		return;
	if (sendto(n->fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&n->sa,
	    n->salen) == -1)
		log_warn("%s: to the service manager", __func__);
}
