/* Who serves a loopback output; see sender_peer.h. */
#include "sender_peer.h"

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void
sender_peer_setup(struct sender_peer *sp, int privileged, const char *user,
    const char *pluginsuser)
{
	memset(sp, 0, sizeof(*sp));
	sp->diag.fd = -1;
	sp->server = (uid_t)-1;
	if (!privileged)
		return;
	sp->on = 1;
	sender_peer_ours(sp, user);
	sender_peer_ours(sp, pluginsuser);
	sockdiag_open(&sp->diag);
}

void
sender_peer_ours(struct sender_peer *sp, const char *name)
{
	uid_t	 uid;

	if (!sp->on)
		return;
	switch (util_uid_set_add(sp->ours, &sp->nours, SENDER_PEER_OURS, name,
	    &uid)) {
	case -1:
		log_warnx("%s: \"%s\": not a user here: a loopback output it "
		    "serves is not refused for it", __func__, name);
		break;
	case -2:
		log_warnx("%s: uid %lu: %d users of the agent's already since "
		    "the sender started; restart the agent for a loopback "
		    "output it serves to be refused", __func__,
		    (unsigned long)uid, SENDER_PEER_OURS);
		break;
	}
}

void
sender_peer_server(struct sender_peer *sp, const char *serveruser)
{
	/* the master sends a uid, or "" for none */
	if (serveruser[0] == '\0' || util_uid_of(serveruser, &sp->server) == -1)
		sp->server = (uid_t)-1;
}

int
sender_peer_verdict(const struct sender_peer *sp, uid_t uid, char *why,
    size_t len)
{
	size_t	 i;

	for (i = 0; i < sp->nours; i++)
		if (sp->ours[i] == uid) {
			snprintf(why, len, "the port is served by uid %lu, "
			    "the agent's user or pluginsuser (a plugin?), not "
			    "by the output: nothing sent to it",
			    (unsigned long)uid);
			return -1;
		}
	if (uid == 0 || uid == sp->server)
		return 0;
	if (sp->server != (uid_t)-1) {
		snprintf(why, len, "the port is served by uid %lu, not by "
		    "[output] serveruser (uid %lu) or root: nothing sent to it",
		    (unsigned long)uid, (unsigned long)sp->server);
		return -1;
	}
	if ((uid >= SENDER_PEER_LOGIN_MIN && uid <= SENDER_PEER_LOGIN_MAX) ||
	    uid >= SENDER_PEER_DYNAMIC_MIN) {
		snprintf(why, len, "the port is served by uid %lu, a login "
		    "account's, not a daemon's: nothing sent to it (set "
		    "[output] serveruser if it is the output)",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}

void
sender_peer_free(struct sender_peer *sp)
{
	sockdiag_close(&sp->diag);
	sp->nours = 0;
	sp->on = 0;
}

/*
 * An output at one of the host's own addresses, not loopback: the kernel
 * makes such a connection from that same address (its local route), and
 * the port is anyone's to take there as on loopback.
 */
static int
same_host(const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local)
{
	const struct sockaddr_in	*p4 = (const void *)peer;
	const struct sockaddr_in	*l4 = (const void *)local;
	const struct sockaddr_in6	*p6 = (const void *)peer;
	const struct sockaddr_in6	*l6 = (const void *)local;

	if (peer->ss_family != local->ss_family)
		return 0;
	if (peer->ss_family == AF_INET)
		return p4->sin_addr.s_addr == l4->sin_addr.s_addr;
	if (peer->ss_family == AF_INET6)
		return memcmp(&p6->sin6_addr, &l6->sin6_addr,
		    sizeof(p6->sin6_addr)) == 0;
	return 0;
}

int
sender_peer_check(struct sender_peer *sp, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local, char *why, size_t len)
{
	uid_t	 uid;

	if (!sp->on || (!sockdiag_is_loopback(peer) && !same_host(peer, local)))
		return 0;
	/*
	 * The server's end: its own address is our peer.  Just connected,
	 * it may not be made yet (the handshake's last ACK is still on its
	 * way to the listener): then the listener, whose owner it gets.
	 * Neither: the kernel cannot say, and nothing is refused.
	 */
	if (sockdiag_owner(&sp->diag, peer, local, &uid) == -1 &&
	    sockdiag_listener(&sp->diag, peer, &uid) == -1)
		return 0;
	return sender_peer_verdict(sp, uid, why, len);
}

int
sender_peer_check_fd(struct sender_peer *sp, int fd, char *why, size_t len)
{
	struct sockaddr_storage	 peer, local;
	socklen_t		 pl = sizeof(peer), ll = sizeof(local);

	if (!sp->on)
		return 0;
	if (getpeername(fd, (struct sockaddr *)&peer, &pl) == -1 ||
	    getsockname(fd, (struct sockaddr *)&local, &ll) == -1)
		return 0;
	return sender_peer_check(sp, &peer, &local, why, len);
}
