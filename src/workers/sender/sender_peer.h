/*
 * Who serves the output, when it is on this host.  An output on loopback
 * (nsqd or InfluxDB on 127.0.0.1, the usual set-up) that is down leaves
 * its port free, and any local process may listen there: a plugin, run
 * as pluginsuser, or any local user could take it and answer every
 * request with success, and the points the agent answered 200 for, the
 * spool's included, would go to it, gone from the real output, read by
 * whoever took the port.  So before the first byte goes on a connection
 * to a loopback address, or to one of the host's own (the connection's
 * two ends have one address), its other end is asked of the kernel
 * (sockdiag.h), and the connection fails as a refused one does (the
 * points wait in the spool) when its owner is not the output's:
 *
 *  - `user` or `pluginsuser` (a worker or a plugin) never is;
 *  - with [output] serveruser, only that uid or root is;
 *  - without, a login account's uid is not: 1000-59999, Debian's range
 *    for people, then systemd-homed's users (60001-60513) and the host
 *    users systemd-nspawn --bind-user maps (60514-60577); and 65536 on,
 *    Debian's dynamically allocated accounts (users of a directory, LDAP
 *    or AD, often have such uids) and the subordinate uids a user maps
 *    in a container of their own (/etc/subuid, newuidmap: a user
 *    namespace in the host's network namespace listens on its loopback
 *    as uid 100000 or so).  Between are system uids (systemd's
 *    DynamicUser=, 61184-65519) and nobody.  Daemons run as root or a
 *    system user.
 *
 * Only when the agent runs as root: started without root, the output may
 * well be its own user's.
 */
#ifndef AGENT_SENDER_PEER_H
#define AGENT_SENDER_PEER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "sockdiag.h"

/* user, and each pluginsuser since the start (a reload may name
 * another, and a scheduler started before it runs plugins as the old) */
#define SENDER_PEER_OURS	8
/* uids of people (Debian Policy 9.2.2, systemd's UIDS-GIDS): not a
 * daemon's */
#define SENDER_PEER_LOGIN_MIN	1000
#define SENDER_PEER_LOGIN_MAX	60577
/* and from here on: dynamically allocated accounts, subordinate uids */
#define SENDER_PEER_DYNAMIC_MIN	65536

struct sender_peer {
	struct sockdiag	 diag;
	int		 on;		/* 0: nothing is checked */
	uid_t		 ours[SENDER_PEER_OURS];
	size_t		 nours;
	uid_t		 server;	/* [output] serveruser; -1: none */
};

/* Before the sandbox (the names looked up, the socket opened). */
void	 sender_peer_setup(struct sender_peer *, int privileged,
	    const char *user, const char *pluginsuser);
void	 sender_peer_free(struct sender_peer *);
/* `name` (a user, or a uid as the master sends pluginsuser) is the
 * agent's too, from now on: at setup, and for pluginsuser at reloads. */
void	 sender_peer_ours(struct sender_peer *, const char *name);
/* [output] serveruser as the master sent it: a uid, or "" for none. */
void	 sender_peer_server(struct sender_peer *, const char *serveruser);
/* Whether a loopback output served by `uid` is the output: -1 with
 * `why` when it is not. */
int	 sender_peer_verdict(const struct sender_peer *, uid_t uid,
	    char *why, size_t len);

/*
 * The connection from `local` to `peer` (getsockname, getpeername): -1
 * with `why` when `peer` is a loopback address, or `local`'s own, served
 * by a socket whose owner is not the output's (above); 0 otherwise, also
 * when the kernel
 * cannot say (no sock_diag).
 */
int	 sender_peer_check(struct sender_peer *,
	    const struct sockaddr_storage *peer,
	    const struct sockaddr_storage *local, char *why, size_t len);

/* The same for a connected socket. */
int	 sender_peer_check_fd(struct sender_peer *, int fd, char *why,
	    size_t len);

#endif
