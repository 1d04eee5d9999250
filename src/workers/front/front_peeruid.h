/*
 * Who is at the other end of a loopback TCP connection.  The Go agent
 * trusted all of loopback to change plugins (lodastack-protocols.md 6.3),
 * so any local user, and any plugin, could disable the others, run them
 * at will or read their parameters.  Here a loopback client is trusted
 * when its socket is root's or an [agent] apiusers user's (started
 * without root, also the agent's own user's).  The kernel lists the
 * client's end of every TCP connection in /proc/net/tcp and tcp6 with the
 * uid that owns it; the front opens both before its chroot and reads them
 * when a loopback client wants to change something.
 */
#ifndef AGENT_FRONT_PEERUID_H
#define AGENT_FRONT_PEERUID_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "sockdiag.h"

/* [agent] user, and each pluginsuser since the start (a reload may name
 * another, and a scheduler started before it runs plugins as the old) */
#define PEERUID_OURS_MAX	8
/* root, the agent's own user when not root, apiusers */
#define PEERUID_ALLOWED_MAX	(2 + CONF_APIUSERS_MAX)

struct front_peeruid {
	int	 fd4;		/* /proc/net/tcp, -1: not open */
	int	 fd6;		/* /proc/net/tcp6 */
	struct sockdiag diag;	/* fd -1: not open */
	uid_t	 ours[PEERUID_OURS_MAX];	/* named in the refusal */
	size_t	 nours;
	int	 privileged;	/* started as root: ours are told */
	uid_t	 allowed[PEERUID_ALLOWED_MAX];
	size_t	 nallowed;
};

enum peeruid_verdict {
	PEERUID_ALLOWED,	/* root, apiusers (own user unprivileged) */
	PEERUID_OURS,		/* `user` or `pluginsuser`: a worker, a plugin */
	PEERUID_OTHER		/* any other local user */
};

/*
 * Before the sandbox: the two tables, and as root the uids of `user` and
 * `pluginsuser` (for what a refusal says).  Who is allowed is set by
 * front_peeruid_allow().  0, or -1 with err: the tables could not be
 * opened, and every loopback client is refused (the unix socket and the
 * token still work).
 */
int	 front_peeruid_setup(struct front_peeruid *, int privileged,
	    const char *user, const char *pluginsuser, char *err,
	    size_t errlen);
void	 front_peeruid_free(struct front_peeruid *);
/* `name` (a user, or a uid as the master sends pluginsuser) is the
 * agent's too, from now on: at setup, and for pluginsuser at reloads. */
void	 front_peeruid_ours(struct front_peeruid *, const char *name);

/*
 * Who is allowed: root, `uids` (apiusers as the master sends them,
 * decimal uids), and started without root the front's own uid.  At setup
 * and at each reload.  0, or -1 with err naming an entry that is not a
 * uid (the others are taken).
 */
int	 front_peeruid_allow(struct front_peeruid *, int privileged,
	    const struct strlist *uids, char *err, size_t errlen);

enum peeruid_verdict front_peeruid_verdict(const struct front_peeruid *,
	    uid_t uid);

/*
 * The uid that owns the client's end of the TCP connection from `peer`
 * to `local`, asked of the kernel for that one socket (sock_diag), as
 * cheap as an accept: the front asks for every TCP connection, to
 * count each local user's connections apart and local clients apart
 * from remote ones.  0 with *uid, or -1 (no such socket here: a remote
 * client, or one gone; or no sock_diag).
 */
int	 front_peeruid_diag(struct front_peeruid *,
	    const struct sockaddr_storage *peer,
	    const struct sockaddr_storage *local, uid_t *uid);

/*
 * The same, by sock_diag or else from /proc/net/tcp and tcp6 (read
 * whole: megabytes on a busy host, so only for requests that need
 * trust).  Both addresses as getpeername/getsockname give them (IPv4,
 * IPv6 or IPv4-mapped).  0 with *uid, or -1 with err.
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
