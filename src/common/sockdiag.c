/* The owner of one TCP socket, asked of the kernel; see sockdiag.h. */
#include "sockdiag.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

void
sockdiag_open(struct sockdiag *sd)
{
	sd->seq = 0;
	sd->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG);
}

void
sockdiag_close(struct sockdiag *sd)
{
	if (sd->fd != -1)
		(void)close(sd->fd);
	sd->fd = -1;
}

int
sockdiag_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)ss;

	switch (ss->ss_family) {
	case AF_INET:
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    s6->sin6_addr.s6_addr[12] == 127;
	default:
		return 0;
	}
}

/*
 * One socket's owner by its addresses: `src` its own end, `dst` the other,
 * each 4 or 16 bytes (family's), ports in network order.
 */
static int
diag_ask(struct sockdiag *sd, int family, const void *src,
    uint16_t sport, const void *dst, uint16_t dport, uid_t *uid)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	}			 q;
	union {
		struct nlmsghdr	 nlh;
		char		 b[1024];
	}			 a;
	const struct inet_diag_msg	*m;
	size_t			 alen = family == AF_INET ? 4 : 16;
	ssize_t			 n;
	int			 tries;

	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.nlh.nlmsg_seq = ++sd->seq;
	q.req.sdiag_family = (uint8_t)family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = ~0U;
	q.req.id.idiag_sport = sport;
	q.req.id.idiag_dport = dport;
	memcpy(q.req.id.idiag_src, src, alen);
	memcpy(q.req.id.idiag_dst, dst, alen);
	q.req.id.idiag_cookie[0] = q.req.id.idiag_cookie[1] =
	    INET_DIAG_NOCOOKIE;
	if (send(sd->fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q))
		return -1;
	/* the kernel answers within send(); an older answer may be ahead */
	for (tries = 0; tries < 4; tries++) {
		n = recv(sd->fd, &a, sizeof(a), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(a.nlh) || !NLMSG_OK(&a.nlh, (size_t)n))
			return -1;
		if (a.nlh.nlmsg_seq != sd->seq)
			continue;
		if (a.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    a.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -1;	/* NLMSG_ERROR: no such socket */
		m = NLMSG_DATA(&a.nlh);
		if (m->id.idiag_sport != sport || m->id.idiag_dport != dport)
			return -1;
		/*
		 * Closed by its owner: no file holds it (inode 0), and once
		 * it is a time-wait entry the kernel says uid 0 for it.
		 * Whoever it was, it is no one now: not root.
		 */
		if (m->idiag_inode == 0 || m->idiag_state == TCP_TIME_WAIT)
			return -1;
		*uid = (uid_t)m->idiag_uid;
		return 0;
	}
	return -1;
}

int
sockdiag_owner(struct sockdiag *sd, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, uid_t *uid)
{
	const struct sockaddr_in	*s4, *d4;
	const struct sockaddr_in6	*s6, *d6;

	if (sd->fd == -1 || src->ss_family != dst->ss_family)
		return -1;
	switch (src->ss_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)src;
		d4 = (const struct sockaddr_in *)dst;
		return diag_ask(sd, AF_INET, &s4->sin_addr, s4->sin_port,
		    &d4->sin_addr, d4->sin_port, uid);
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)src;
		d6 = (const struct sockaddr_in6 *)dst;
		/* IPv4 in IPv6's form: a dual-stack socket */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr) &&
		    diag_ask(sd, AF_INET, s6->sin6_addr.s6_addr + 12,
		    s6->sin6_port, d6->sin6_addr.s6_addr + 12, d6->sin6_port,
		    uid) == 0)
			return 0;
		return diag_ask(sd, AF_INET6, &s6->sin6_addr, s6->sin6_port,
		    &d6->sin6_addr, d6->sin6_port, uid);
	default:
		return -1;
	}
}


/*
 * The kernel's lookup of one socket by its four addresses falls back to
 * the listener on the first two when no connection has the other two:
 * asked with the other end 0:0, it names the listener.
 */
int
sockdiag_listener(struct sockdiag *sd, const struct sockaddr_storage *addr,
    uid_t *uid)
{
	static const unsigned char	 any[16];
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	if (sd->fd == -1)
		return -1;
	switch (addr->ss_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)addr;
		return diag_ask(sd, AF_INET, &s4->sin_addr, s4->sin_port, any,
		    0, uid);
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    diag_ask(sd, AF_INET, s6->sin6_addr.s6_addr + 12,
		    s6->sin6_port, any, 0, uid) == 0)
			return 0;
		return diag_ask(sd, AF_INET6, &s6->sin6_addr, s6->sin6_port,
		    any, 0, uid);
	default:
		return -1;
	}
}
