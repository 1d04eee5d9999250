/*
 * The master binds the API sockets and hands them to the front, which may
 * not create sockets itself (its seccomp filter has no socket/bind).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "bounded.h"
#include "listen_holder.h"
#include "log.h"
#include "master.h"
#include "pathsafe.h"
#include "util.h"

#define LISTEN_BACKLOG	128
#define LISTEN_RESOLVE_SECS	3	/* a name's lookup, at most */

/*
 * A name in `listen` is looked up in a thread of its own, waited for
 * LISTEN_RESOLVE_SECS at most (bounded.h): getaddrinfo() waits for a DNS
 * server that does not answer as long as resolv.conf lets it (10 s and
 * more), and the master's loop stood still that long at each reload.
 */
struct lookup {
	char		 host[256];
	char		 port[16];
	struct addrinfo	 hints;
	struct addrinfo	*res;
	int		 rv;
};

static void
lookup_free(void *p)
{
	struct lookup	*l = p;

	if (l->res != NULL)
		freeaddrinfo(l->res);
	free(l);
}

static void
lookup_run(void *p)
{
	struct lookup	*l = p;

	l->rv = getaddrinfo(l->host, l->port, &l->hints, &l->res);
	if (l->rv != 0)
		l->res = NULL;
}

/* getaddrinfo(), a name given up on after LISTEN_RESOLVE_SECS: EAI_AGAIN
 * with *late set. */
static int
lookup_bounded(const char *host, const char *port,
    const struct addrinfo *hints, struct addrinfo **res, int *late)
{
	struct addrinfo		 num = *hints;
	struct lookup		*l;
	int			 rv;

	*late = 0;
	/* an address needs no thread */
	num.ai_flags |= AI_NUMERICHOST;
	if ((rv = getaddrinfo(host, port, &num, res)) != EAI_NONAME)
		return rv;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return EAI_MEMORY;
	if (strlcpy(l->host, host, sizeof(l->host)) >= sizeof(l->host) ||
	    strlcpy(l->port, port, sizeof(l->port)) >= sizeof(l->port)) {
		free(l);
		return EAI_NONAME;
	}
	l->hints = *hints;
	if (bounded_call(lookup_run, l, lookup_free, LISTEN_RESOLVE_SECS,
	    NULL) == -1) {
		if (errno != ETIMEDOUT) {
			free(l);
			return EAI_AGAIN;
		}
		*late = 1;
		return EAI_AGAIN;
	}
	rv = l->rv;
	*res = l->res;
	l->res = NULL;
	lookup_free(l);
	return rv;
}

/* "host:port" or "[v6]:port" into host and port strings. */
static int
split_hostport(const char *s, char *host, size_t hlen, char *port,
    size_t plen)
{
	const char	*colon, *close;

	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL || close[1] != ':')
			return -1;
		if ((size_t)(close - s - 1) >= hlen)
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		if ((size_t)(colon - s) >= hlen)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (strlcpy(port, colon + 1, plen) >= plen)
		return -1;
	return 0;
}

static int
listen_tcp(const char *addr, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[16], holder[128] = "";
	int		 fd = -1, on = 1, rv, saved = 0, late;

	if (split_hostport(addr, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		snprintf(err, errlen, "listen %s: not host:port", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rv = lookup_bounded(host, port, &hints, &res, &late)) != 0) {
		if (late)
			snprintf(err, errlen, "listen %s: the name did not "
			    "resolve within %d s", addr, LISTEN_RESOLVE_SECS);
		else
			snprintf(err, errlen, "listen %s: %s", addr,
			    gai_strerror(rv));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, LISTEN_BACKLOG) == -1) {
			saved = errno;
			close(fd);
			fd = -1;
			if (saved == EADDRINUSE)
				listen_holder(ai->ai_addr, holder,
				    sizeof(holder));
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "cannot listen on %s: %s%s", addr,
		    strerror(saved), holder);
	return fd;
}

static int
listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	char			 dir[sizeof(sun.sun_path)], why[768];
	char			 name[sizeof(sun.sun_path)];
	mode_t			 old;
	int			 fd, dfd, rv;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	if (pathsafe_split(path, dir, sizeof(dir), name, sizeof(name)) == -1) {
		snprintf(err, errlen, "[agent] socket %s: not an absolute path",
		    path);
		return -1;
	}
	/* bind() goes by name: only in a directory no one else can change */
	dfd = pathsafe_open_dir(dir, geteuid(), PATHSAFE_CREATE, 0755, why,
	    sizeof(why));
	if (dfd < 0) {
		snprintf(err, errlen, "[agent] socket %s: %s", path, why);
		return -1;
	}
	/* a socket left by a dead agent; the pidfile lock says none runs */
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			close(dfd);
			return -1;
		}
		if (unlinkat(dfd, name, 0) == -1) {
			snprintf(err, errlen, "cannot remove stale socket %s: "
			    "%s", path, strerror(errno));
			close(dfd);
			return -1;
		}
	}
	close(dfd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The connections it accepts take no descriptors (they inherit
	 * this, from before the accept): a client could hand the front
	 * one whose close, when the front reads past it, blocks it.
	 */
	if (util_refuse_fds(fd) == -1)
		log_warnx("%s: %s: cannot refuse descriptors on it (%s): a "
		    "client may pass the front one whose close blocks it",
		    __func__, path, strerror(errno));
	/*
	 * Born with mode 0660: no chmod by name afterwards, which would
	 * follow whatever took the name in between.
	 */
	old = umask(0117);
	rv = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rv == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listen_open(const struct agent_conf *c, int *tcp, int *unixfd, char *err,
    size_t errlen)
{
	*tcp = -1;
	*unixfd = -1;
	if (c->listen[0] != '\0' &&
	    (*tcp = listen_tcp(c->listen, err, errlen)) == -1)
		return -1;
	if (c->socket[0] != '\0' &&
	    (*unixfd = listen_unix(c->socket, err, errlen)) == -1) {
		if (*tcp != -1)
			close(*tcp);
		*tcp = -1;
		return -1;
	}
	return 0;
}

void
listen_close(const struct agent_conf *c, int *tcp, int *unixfd)
{
	if (*tcp != -1)
		close(*tcp);
	if (*unixfd != -1) {
		close(*unixfd);
		if (unlink(c->socket) == -1 && errno != ENOENT)
			log_warn("%s: unlink %s", __func__, c->socket);
	}
	*tcp = -1;
	*unixfd = -1;
}
