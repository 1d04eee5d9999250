/*
 * Wrong bearer tokens by source; see front_authfail.h.
 */
#include <netinet/in.h>

#include <string.h>

#include "front_authfail.h"

/* An IPv4 address (a mapped one too), an IPv6 /64. */
void
front_authfail_key_addr(const struct sockaddr_storage *ss,
    uint8_t key[AUTHFAIL_KEY])
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	memset(key, 0, AUTHFAIL_KEY);
	if (ss->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, sin6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, sin6->sin6_addr.s6_addr, 8);
	}
}

void
front_authfail_key_uid(uid_t uid, uint8_t key[AUTHFAIL_KEY])
{
	uint32_t	 u = (uint32_t)uid;

	memset(key, 0, AUTHFAIL_KEY);
	key[0] = 'u';
	memcpy(key + 1, &u, sizeof(u));
}

/* The slot of the source `key`, or -1. */
static int
slot_of(const struct front_authfail *a, const uint8_t key[AUTHFAIL_KEY])
{
	int	 i;

	for (i = 0; i < AUTHFAIL_SLOTS; i++)
		if (a->slot[i].used &&
		    memcmp(a->slot[i].key, key, AUTHFAIL_KEY) == 0)
			return i;
	return -1;
}

/*
 * A slot for a new source: a free one, else the one whose last wrong
 * token is oldest among those not waiting, else the oldest of all.
 */
static struct authfail_slot *
take(struct front_authfail *a, double now)
{
	struct authfail_slot	*s, *idle = NULL, *any = NULL;
	size_t			 i;

	for (i = 0; i < AUTHFAIL_SLOTS; i++) {
		s = &a->slot[i];
		if (!s->used)
			return s;
		if (s->until <= now && (idle == NULL || s->last < idle->last))
			idle = s;
		if (any == NULL || s->last < any->last)
			any = s;
	}
	return idle != NULL ? idle : any;
}

double
front_authfail_wait(const struct front_authfail *a,
    const uint8_t key[AUTHFAIL_KEY], double now)
{
	int	 i;

	if ((i = slot_of(a, key)) == -1 || a->slot[i].until <= now)
		return 0.;
	return a->slot[i].until - now;
}

double
front_authfail_wrong(struct front_authfail *a,
    const uint8_t key[AUTHFAIL_KEY], double now)
{
	struct authfail_slot	*s;
	double			 wait = AUTHFAIL_WAIT_FIRST;
	uint32_t		 n;
	int			 i;

	a->wrong++;
	if ((i = slot_of(a, key)) == -1) {
		s = take(a, now);
		memset(s, 0, sizeof(*s));
		memcpy(s->key, key, AUTHFAIL_KEY);
		s->used = 1;
	} else if (now - (s = &a->slot[i])->last >= AUTHFAIL_FORGET &&
	    s->until <= now)
		s->wrong = 0;
	s->last = now;
	if (s->wrong < UINT32_MAX)
		s->wrong++;
	if (s->wrong <= AUTHFAIL_FREE)
		return 0.;
	for (n = s->wrong - AUTHFAIL_FREE; n > 1 && wait < AUTHFAIL_WAIT_MAX;
	    n--)
		wait *= 2;
	if (wait > AUTHFAIL_WAIT_MAX)
		wait = AUTHFAIL_WAIT_MAX;
	s->until = now + wait;
	return wait;
}

void
front_authfail_right(struct front_authfail *a,
    const uint8_t key[AUTHFAIL_KEY])
{
	int	 i;

	if ((i = slot_of(a, key)) != -1)
		memset(&a->slot[i], 0, sizeof(a->slot[i]));
}
