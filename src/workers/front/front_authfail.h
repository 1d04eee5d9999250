/*
 * Wrong bearer tokens, counted by where they come from, so that a token
 * cannot be guessed at the speed of the network.  A client's first
 * AUTHFAIL_FREE wrong tokens cost nothing (a typo, a rotated secret);
 * each one after that makes its next token wait, from AUTHFAIL_WAIT_FIRST
 * seconds doubling to AUTHFAIL_WAIT_MAX, and a token sent while it waits
 * is not checked at all (429).  A right token, or AUTHFAIL_FORGET seconds
 * without a wrong one, starts the count again.
 *
 * "Where" is the IPv4 address, or the IPv6 /64 (what one client holds at
 * least: counting single IPv6 addresses would count nothing); on
 * loopback, where every local user has the same address, the uid that
 * owns the client's socket, and so on the host's other addresses, which
 * every local user has too.  Only that source waits: the unix socket,
 * root and apiusers on loopback, other local users and every other
 * address are not slowed, so a guesser cannot lock the operator out,
 * except one sharing its address (a NAT), for AUTHFAIL_WAIT_MAX at most.  The table
 * holds AUTHFAIL_SLOTS sources; a guesser with more addresses than that
 * evicts the quietest, which bounds its memory, not its guessing: a
 * long random token is what makes guessing hopeless.
 */
#ifndef AGENT_FRONT_AUTHFAIL_H
#define AGENT_FRONT_AUTHFAIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#define AUTHFAIL_FREE		5	/* wrong tokens before any wait */
#define AUTHFAIL_WAIT_FIRST	1.0	/* seconds, doubling per wrong one */
#define AUTHFAIL_WAIT_MAX	300.0
#define AUTHFAIL_FORGET		600.0	/* seconds without a wrong one */
#define AUTHFAIL_SLOTS		256
#define AUTHFAIL_KEY		9	/* kind, then 4 or 8 address bytes,
					 * or a uid */

struct authfail_slot {
	uint8_t		 key[AUTHFAIL_KEY];
	int		 used;
	uint32_t	 wrong;		/* since the count started again */
	double		 last;		/* the last wrong token */
	double		 until;		/* no token checked before */
};

struct front_authfail {
	struct authfail_slot	 slot[AUTHFAIL_SLOTS];
	uint64_t		 wrong;		/* wrong tokens, all told */
	uint64_t		 waited;	/* tokens not checked: 429 */
};

/* The source of a client at `peer` (not loopback: see the top). */
void	 front_authfail_key_addr(const struct sockaddr_storage *peer,
	    uint8_t key[AUTHFAIL_KEY]);
/* The source of a client on this host whose socket `uid` owns. */
void	 front_authfail_key_uid(uid_t uid, uint8_t key[AUTHFAIL_KEY]);

/* Seconds the source `key` waits before a token of it is checked; 0:
 * check it now.  `now` is monotonic time. */
double	 front_authfail_wait(const struct front_authfail *,
	    const uint8_t key[AUTHFAIL_KEY], double now);
/* A wrong token from `key`: the seconds its next one now waits. */
double	 front_authfail_wrong(struct front_authfail *,
	    const uint8_t key[AUTHFAIL_KEY], double now);
/* A right token from `key`: its count starts again. */
void	 front_authfail_right(struct front_authfail *,
	    const uint8_t key[AUTHFAIL_KEY]);

#endif
