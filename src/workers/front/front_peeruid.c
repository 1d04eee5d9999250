/* The owner of a loopback client's socket; see front_peeruid.h. */
#include "front_peeruid.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sockdiag.h"
#include "util.h"

#define PEERUID_ADDR_MAX	48	/* "32 hex digits:XXXX" and a NUL */
#define PEERUID_CHUNK		65536

static int
uid_in(const uid_t *set, size_t n, uid_t uid)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (set[i] == uid)
			return 1;
	return 0;
}

int
front_peeruid_setup(struct front_peeruid *pu, int privileged,
    const char *user, const char *pluginsuser, char *err, size_t errlen)
{
	memset(pu, 0, sizeof(*pu));
	pu->fd4 = pu->fd6 = -1;
	pu->allowed[pu->nallowed++] = 0;
	/* without it, lookups read the tables, and loopback is one client */
	sockdiag_open(&pu->diag);
	pu->privileged = privileged;
	front_peeruid_ours(pu, user);
	front_peeruid_ours(pu, pluginsuser);
	pu->fd4 = open("/proc/net/tcp", O_RDONLY | O_CLOEXEC);
	pu->fd6 = open("/proc/net/tcp6", O_RDONLY | O_CLOEXEC);
	/* no IPv6 in the kernel: no tcp6, and no IPv6 client either */
	if (pu->fd4 == -1) {
		snprintf(err, errlen, "/proc/net/tcp: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
front_peeruid_ours(struct front_peeruid *pu, const char *name)
{
	uid_t	 uid;

	if (pu->privileged && util_uid_set_add(pu->ours, &pu->nours,
	    PEERUID_OURS_MAX, name, &uid) == -2)
		log_warnx("%s: uid %lu: %d users of the agent's already since "
		    "the front started; restart the agent for its clients "
		    "to be told apart", __func__, (unsigned long)uid,
		    PEERUID_OURS_MAX);
}

void
front_peeruid_free(struct front_peeruid *pu)
{
	if (pu->fd4 != -1)
		(void)close(pu->fd4);
	if (pu->fd6 != -1)
		(void)close(pu->fd6);
	sockdiag_close(&pu->diag);
	pu->fd4 = pu->fd6 = -1;
}

int
front_peeruid_allow(struct front_peeruid *pu, int privileged,
    const struct strlist *uids, char *err, size_t errlen)
{
	unsigned long	 v;
	char		*end;
	size_t		 i;
	int		 rv = 0;

	pu->nallowed = 0;
	pu->allowed[pu->nallowed++] = 0;
	if (!privileged)
		pu->allowed[pu->nallowed++] = geteuid();
	for (i = 0; i < uids->n && pu->nallowed < PEERUID_ALLOWED_MAX; i++) {
		errno = 0;
		v = strtoul(uids->v[i], &end, 10);
		if (errno != 0 || end == uids->v[i] || *end != '\0' ||
		    v > UINT32_MAX - 1) {
			snprintf(err, errlen, "apiusers: \"%s\" is not a uid",
			    uids->v[i]);
			rv = -1;
			continue;
		}
		pu->allowed[pu->nallowed++] = (uid_t)v;
	}
	if (i < uids->n) {
		snprintf(err, errlen, "apiusers: more than %d", CONF_APIUSERS_MAX);
		rv = -1;
	}
	return rv;
}

enum peeruid_verdict
front_peeruid_verdict(const struct front_peeruid *pu, uid_t uid)
{
	if (uid_in(pu->allowed, pu->nallowed, uid))
		return PEERUID_ALLOWED;
	if (uid_in(pu->ours, pu->nours, uid))
		return PEERUID_OURS;
	return PEERUID_OTHER;
}

/* The next whitespace-separated field at *p (within end): its bounds. */
static int
field(const char **p, const char *end, const char **start, size_t *len)
{
	const char	*s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*start = s;
	while (s < end && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	*len = (size_t)(s - *start);
	*p = s;
	return *len > 0 ? 0 : -1;
}

static int
field_is(const char *f, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(f, want, len) == 0;
}

/*
 * A line: "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...";
 * the header line's second field is "local_address" and never matches.
 * A socket its owner closed is no one's (as in sockdiag.c): its inode is 0,
 * and a time-wait entry (st 06) says uid 0.
 */
int
front_peeruid_find(const char *text, size_t len, const char *want_local,
    const char *want_rem, uid_t *uid)
{
	const char	*p = text, *end = text + len, *eol, *f;
	size_t		 flen;
	unsigned long	 v;
	char		 num[16], *ep;
	int		 i;

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (field(&p, eol, &f, &flen) == -1 ||		/* sl */
		    field(&p, eol, &f, &flen) == -1 ||
		    !field_is(f, flen, want_local) ||
		    field(&p, eol, &f, &flen) == -1 ||
		    !field_is(f, flen, want_rem))
			continue;
		if (field(&p, eol, &f, &flen) == -1 ||		/* st */
		    field_is(f, flen, "06"))
			continue;
		for (i = 0; i < 4; i++)		/* tx:rx .. uid */
			if (field(&p, eol, &f, &flen) == -1)
				break;
		if (i < 4 || flen >= sizeof(num))
			continue;
		memcpy(num, f, flen);
		num[flen] = '\0';
		errno = 0;
		v = strtoul(num, &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == num || v > UINT32_MAX)
			continue;
		if (field(&p, eol, &f, &flen) == -1 ||		/* timeout */
		    field(&p, eol, &f, &flen) == -1 ||		/* inode */
		    field_is(f, flen, "0"))
			continue;
		*uid = (uid_t)v;
		return 0;
	}
	return -1;
}

/*
 * An address as the table prints it: each 32-bit word of the address as
 * the kernel holds it, in hex, then the port.  `v4` an IPv4-mapped IPv6
 * address is written as the IPv4 one (tcp's form), else NULL for it.
 */
static int
table_addr(const struct sockaddr_storage *ss, int v4, char *out,
    size_t outlen)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint32_t			*w;

	switch (ss->ss_family) {
	case AF_INET:
		if (!v4)
			return -1;
		sin = (const struct sockaddr_in *)ss;
		snprintf(out, outlen, "%08X:%04X",
		    (unsigned)sin->sin_addr.s_addr, ntohs(sin->sin_port));
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		w = (const uint32_t *)(const void *)&sin6->sin6_addr;
		if (v4) {
			if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
				return -1;
			snprintf(out, outlen, "%08X:%04X", (unsigned)w[3],
			    ntohs(sin6->sin6_port));
			return 0;
		}
		snprintf(out, outlen, "%08X%08X%08X%08X:%04X", (unsigned)w[0],
		    (unsigned)w[1], (unsigned)w[2], (unsigned)w[3],
		    ntohs(sin6->sin6_port));
		return 0;
	default:
		return -1;
	}
}

/* The whole table at `fd`, read again from its start, into `b`. */
static int
table_read(int fd, struct buf *b)
{
	char	 chunk[PEERUID_CHUNK];
	off_t	 off = 0;
	ssize_t	 n;

	for (;;) {
		n = pread(fd, chunk, sizeof(chunk), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (buf_add(b, chunk, (size_t)n) == -1)
			return -1;
		off += n;
	}
}

/* Not kept: a busy host's table is megabytes, asked for rarely. */
static int
lookup_in(int fd, const char *local, const char *rem, uid_t *uid)
{
	struct buf	 b;
	int		 rv = -1;

	if (fd == -1)
		return -1;
	buf_init(&b);
	if (table_read(fd, &b) == 0)
		rv = front_peeruid_find(b.p != NULL ? b.p : "", b.len, local,
		    rem, uid);
	buf_free(&b);
	return rv;
}

int
front_peeruid_diag(struct front_peeruid *pu,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
    uid_t *uid)
{
	/* the client's end: its own address is our peer */
	return sockdiag_owner(&pu->diag, peer, local, uid);
}

int
front_peeruid_lookup(struct front_peeruid *pu,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
    uid_t *uid, char *err, size_t errlen)
{
	char	 client[PEERUID_ADDR_MAX], us[PEERUID_ADDR_MAX];

	if (front_peeruid_diag(pu, peer, local, uid) == 0)
		return 0;
	/* the client's end: its address is our peer, ours its remote */
	if (table_addr(peer, 0, client, sizeof(client)) == 0 &&
	    table_addr(local, 0, us, sizeof(us)) == 0 &&
	    lookup_in(pu->fd6, client, us, uid) == 0)
		return 0;
	if (table_addr(peer, 1, client, sizeof(client)) == 0 &&
	    table_addr(local, 1, us, sizeof(us)) == 0 &&
	    lookup_in(pu->fd4, client, us, uid) == 0)
		return 0;
	snprintf(err, errlen, "no open socket of it in /proc/net/tcp%s",
	    pu->fd4 == -1 ? " (not open)" : "");
	return -1;
}
