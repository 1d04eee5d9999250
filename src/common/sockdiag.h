/*
 * Who owns the other end of a TCP connection on this host, asked of the
 * kernel for that one socket (NETLINK_SOCK_DIAG): the front asks it of a
 * loopback client (front_peeruid.h), the sender of a loopback output it
 * is about to hand points to (sender_peer.c).
 */
#ifndef AGENT_SOCKDIAG_H
#define AGENT_SOCKDIAG_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

struct sockdiag {
	int		 fd;		/* -1: not open */
	uint32_t	 seq;		/* of the last question on it */
};

/* Open before the sandbox; fd -1 when the kernel has no sock_diag. */
void	 sockdiag_open(struct sockdiag *);
void	 sockdiag_close(struct sockdiag *);

/*
 * The uid owning the socket whose own address is `src` and whose other
 * end is `dst` (as getpeername/getsockname give them: IPv4, IPv6 or
 * IPv4-mapped).  0 with *uid, or -1: no such socket (any more: one its
 * owner closed is no one's), or no sock_diag.
 */
int	 sockdiag_owner(struct sockdiag *, const struct sockaddr_storage *src,
	    const struct sockaddr_storage *dst, uid_t *uid);

/*
 * The uid owning the socket listening on `addr` (its address and port),
 * or a wildcard of it: the owner of every connection it accepts.  0 with
 * *uid, or -1.
 */
int	 sockdiag_listener(struct sockdiag *,
	    const struct sockaddr_storage *addr, uid_t *uid);

/* Is `ss` a loopback address (127/8, ::1, IPv4-mapped 127/8)? */
int	 sockdiag_is_loopback(const struct sockaddr_storage *ss);

#endif
