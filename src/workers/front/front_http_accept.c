/*
 * The front's HTTP server (see front_http.c): which accepted connection
 * is served.  Each kind of listener has its own budget of open
 * connections (limits.max_conns_tcp, max_conns_unix), so TCP clients,
 * whoever they are, cannot take the places of the local producers on
 * the unix socket; TCP clients on this host have one of their own
 * (max_conns_local), so remote ones cannot take theirs; and one TCP
 * client (an address, a local user) may hold at most
 * limits.max_conns_addr of its budget, so one host or user cannot take
 * them all.  Beyond either, a connection of the same budget (and address)
 * idle between two requests gives its place up, the one idle the
 * longest (a keep-alive connection costs its client only a reconnect;
 * kept, a few idle ones would turn every other client away for as long
 * as their owner cared to send a request each idle_timeout).  With none
 * idle: 503 with Retry-After and close.
 *
 * The per-address count walks the open connections: they are a few
 * hundred at most, and nothing else has to be kept in step.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <bsd/sys/queue.h>

#include "front_http.h"
#include "front_http_int.h"
#include "log.h"
#include "sockdiag.h"

/* 503s beyond this many at once are not lingered over. */
#define HTTP_REJECT_LINGER_MAX	64
#define HTTP_REJECT_WARN_IVAL	10.0

/* Key families (the first byte of a key). */
#define ADDRKEY_NONE		0
#define ADDRKEY_LOOPBACK	1
#define ADDRKEY_V4		4
#define ADDRKEY_V6		6

/*
 * The client a TCP connection counts for: all of loopback is one (any
 * local user can use every 127/8 address), an IPv4 address itself (a
 * v4-mapped IPv6 one too), an IPv6 address by its /64 (one site's
 * share: a host usually has a whole /64 to pick from).
 */
void
front_http_addr_key(const struct sockaddr_storage *ss,
    unsigned char key[HTTP_ADDRKEY_LEN])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(key, 0, HTTP_ADDRKEY_LEN);
	if (sockdiag_is_loopback(ss)) {
		key[0] = ADDRKEY_LOOPBACK;
		return;
	}
	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		key[0] = ADDRKEY_V4;
		memcpy(key + 1, &sin->sin_addr, 4);
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key[0] = ADDRKEY_V4;
			memcpy(key + 1, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = ADDRKEY_V6;
			memcpy(key + 1, sin6->sin6_addr.s6_addr, 8);
		}
		break;
	default:
		key[0] = ADDRKEY_NONE;
		break;
	}
}

/* Connections served for the client of key `key'. */
static unsigned
addr_count(struct http_server *srv, const unsigned char *key)
{
	struct http_conn	*c;
	unsigned		 n = 0;

	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->counted && c->budget != HTTP_BUDGET_UNIX &&
		    memcmp(c->addrkey, key, HTTP_ADDRKEY_LEN) == 0)
			n++;
	return n;
}

/*
 * The client `c` counts as (front_http_addr_key), once: the two
 * admissions of an eviction share it.  A client on this host counts as
 * the owner of its socket whatever address it came from: besides
 * 127/8, every address of the host's own (eth0's, a bridge's) reaches
 * us from here, and keyed by address each would be one more share of
 * the same user.  Whether a client is on this host is asked of the
 * kernel (its end of the connection is a socket here, or it is not):
 * any address, not only loopback.
 */
static void
conn_key(struct http_conn *c)
{
	struct http_server	*srv = c->srv;
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	uint32_t		 u;

	front_http_addr_key(&c->peer, c->addrkey);
	if (srv->peer_uid == NULL)
		return;
	memset(&local, 0, sizeof(local));
	if (getsockname(c->fd, (struct sockaddr *)&local, &len) == -1 ||
	    srv->peer_uid(srv->peer_uid_arg, &c->peer, &local,
	    &c->peer_uid) == -1)
		return;	/* remote, gone already, or not to be told */
	c->peer_uid_known = 1;
	/* the same key as for its loopback connections */
	memset(c->addrkey, 0, HTTP_ADDRKEY_LEN);
	c->addrkey[0] = ADDRKEY_LOOPBACK;
	u = (uint32_t)c->peer_uid;
	c->addrkey[1] = 1;
	memcpy(c->addrkey + 2, &u, sizeof(u));
}

void
front_http_server_set_peer_uid(struct http_server *srv, http_peer_uid_fn fn,
    void *arg)
{
	srv->peer_uid = fn;
	srv->peer_uid_arg = arg;
}

/* Served, or why not. */
static int
budget_admit(struct http_conn *c, enum http_reject *why)
{
	struct http_server	*srv = c->srv;
	unsigned		 max;

	/*
	 * A client on this host (its owner found) has a budget apart from
	 * the remote ones: a few remote addresses (or IPv6 /64s, which come
	 * cheap) holding their shares would otherwise fill TCP and turn
	 * the local producers away.
	 */
	if (c->via == HTTP_VIA_UNIX) {
		c->budget = HTTP_BUDGET_UNIX;
		max = srv->lim.max_conns_unix;
	} else if (c->peer_uid_known) {
		c->budget = HTTP_BUDGET_LOCAL;
		max = srv->lim.max_conns_local;
	} else {
		c->budget = HTTP_BUDGET_TCP;
		max = srv->lim.max_conns_tcp;
	}
	if (srv->nbudget[c->budget] >= max) {
		*why = (enum http_reject)c->budget;
		return 0;
	}
	if (c->budget != HTTP_BUDGET_UNIX) {
		if (srv->lim.max_conns_addr > 0 &&
		    addr_count(srv, c->addrkey) >= srv->lim.max_conns_addr) {
			*why = HTTP_REJECT_ADDR;
			return 0;
		}
	}
	return 1;
}

/*
 * Idle between two requests: answered before, nothing under way, nothing
 * to send or parse.  A connection that has sent nothing yet is not: its
 * client is about to.
 */
static int
conn_idle(const struct http_conn *c)
{
	return c->counted && !c->dead && c->answered && !c->closing &&
	    !c->lingering && c->cur == NULL && c->inflight == NULL &&
	    c->outoff >= c->outlen && c->inoff >= c->inlen;
}

/* Close the connection of `c`'s budget (and address) idle the longest. */
static int
evict_idle(struct http_conn *c, enum http_reject why)
{
	struct http_server	*srv = c->srv;
	struct http_conn	*o, *oldest = NULL;

	TAILQ_FOREACH(o, &srv->conns, entry) {
		if (o == c || !conn_idle(o) || o->budget != c->budget ||
		    (why == HTTP_REJECT_ADDR && memcmp(o->addrkey,
		    c->addrkey, HTTP_ADDRKEY_LEN) != 0))
			continue;
		/* the idle timer restarts at each answer: it says when */
		if (oldest == NULL || ev_timer_remaining(srv->loop,
		    &o->timer) < ev_timer_remaining(srv->loop, &oldest->timer))
			oldest = o;
	}
	if (oldest == NULL)
		return 0;
	log_debug("%s: %s: idle, closed for %s", __func__, oldest->name,
	    c->name);
	front_http_conn_enter(oldest);
	front_http_conn_kill(oldest);
	front_http_conn_leave(oldest);
	return 1;
}

static void
reject_warn(struct http_server *srv, struct http_listener *l,
    struct http_conn *c, enum http_reject why)
{
	ev_tstamp	 now = ev_now(srv->loop);

	srv->rejected[why]++;
	if (srv->reject_warned[why] != 0 &&
	    now - srv->reject_warned[why] < HTTP_REJECT_WARN_IVAL)
		return;
	switch (why) {
	case HTTP_REJECT_ADDR:
		if (c->peer_uid_known)
			log_warnx("%s: %s: %u connections open from uid %lu "
			    "on %s (max_conns_addr), %llu turned away "
			    "with 503", __func__, c->name,
			    srv->lim.max_conns_addr,
			    (unsigned long)c->peer_uid,
			    sockdiag_is_loopback(&c->peer) ? "loopback" :
			    "this host",
			    (unsigned long long)srv->rejected[why]);
		else
			log_warnx("%s: %s: %u connections open from that "
			    "address (max_conns_addr), %llu turned away with "
			    "503", __func__, c->name, srv->lim.max_conns_addr,
			    (unsigned long long)srv->rejected[why]);
		break;
	default:
		log_warnx("%s: %s: %u connections open (max_conns_%s), %llu "
		    "turned away with 503", __func__, l->label,
		    srv->nbudget[c->budget], why == HTTP_REJECT_UNIX ? "unix" :
		    why == HTTP_REJECT_LOCAL ? "local" : "tcp",
		    (unsigned long long)srv->rejected[why]);
		break;
	}
	srv->rejected[why] = 0;
	srv->reject_warned[why] = now;
}

void
front_http_conn_accepted(struct http_listener *l, int fd,
    const struct sockaddr_storage *ss)
{
	struct http_server	*srv = l->srv;
	struct http_conn	*c;
	enum http_reject	 why;

	if ((c = front_http_conn_new(l, fd, ss)) == NULL) {
		log_warn("%s: %s", __func__, l->label);
		if (close(fd) == -1)
			log_warn("%s: close", __func__);
		return;
	}
	front_http_conn_enter(c);
	if (c->via != HTTP_VIA_UNIX)
		conn_key(c);
	if (!budget_admit(c, &why) &&
	    (!evict_idle(c, why) || !budget_admit(c, &why))) {
		/* Not counted: it only carries the 503 and goes. */
		srv->nrejects++;
		reject_warn(srv, l, c, why);
		front_http_conn_send_error(c, 503, why == HTTP_REJECT_ADDR ?
		    (c->peer_uid_known ? "too many connections of your user" :
		    "too many connections from your address") :
		    "too many connections", 0, 0, NULL);
		front_http_conn_flush(c);
		if (srv->nrejects > HTTP_REJECT_LINGER_MAX)
			front_http_conn_kill(c);
	} else {
		c->counted = 1;
		srv->nconns++;
		srv->nbudget[c->budget]++;
		/* The first request's head is due from the accept. */
		front_http_conn_deadline(c, HTTP_PHASE_HEAD,
		    srv->lim.head_timeout);
		log_debug("%s: %s: accepted", __func__, c->name);
	}
	front_http_conn_settle(c);
	front_http_conn_leave(c);
}
