/*
 * Who is at the other end of a loopback TCP connection.  Loopback is
 * trusted to change plugins (lodastack-protocols.md 6.3), but plugins are
 * local programs too: without this, any plugin could ask /plugins/disable
 * for the others, or read their parameters.  The kernel lists the
 * client's end of every TCP connection in /proc/net/tcp and tcp6 with
 * the uid that owns it; the front opens both before its chroot and reads
 * them when a loopback client wants to change something.
 */
#ifndef AGENT_FRONT_PEERUID_H
#define AGENT_FRONT_PEERUID_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define PEERUID_REFUSED_MAX	2	/* [agent] user, pluginsuser */

struct front_peeruid {
	int	 fd4;		/* /proc/net/tcp, -1: not open */
	int	 fd6;		/* /proc/net/tcp6 */
	uid_t	 refused[PEERUID_REFUSED_MAX];
	size_t	 nrefused;	/* 0: every loopback client is trusted */
};

/*
 * Before the sandbox, as root: the uids of `user` and `pluginsuser`
 * (root is never refused) and the two tables.  Started without root
 * (everything runs as one user) nobody is refused.  0, or -1 with err
 * (the caller trusts loopback as before, and says so).
 */
int	 front_peeruid_setup(struct front_peeruid *, int privileged,
	    const char *user, const char *pluginsuser, char *err,
	    size_t errlen);
void	 front_peeruid_free(struct front_peeruid *);

/* 1 when `uid` is one of the agent's own users', refused. */
int	 front_peeruid_refused(const struct front_peeruid *, uid_t uid);

/*
 * The uid that owns the client's end of the TCP connection from `peer`
 * to `local` (both as getpeername/getsockname give them, IPv4, IPv6 or
 * IPv4-mapped).  0 with *uid, or -1 with err.
 */
int	 front_peeruid_lookup(struct front_peeruid *,
	    const struct sockaddr_storage *peer,
	    const struct sockaddr_storage *local, uid_t *uid, char *err,
	    size_t errlen);

/*
 * In `text` (a /proc/net/tcp or tcp6 table), the uid of the line whose
 * local and remote address are `want_local` and `want_rem`, in the
 * table's own form ("0100007F:1F90").  0 with *uid, -1 when no line is.
 */
int	 front_peeruid_find(const char *text, size_t len,
	    const char *want_local, const char *want_rem, uid_t *uid);

#endif
