/*
 * Hostname, IP list, serial number and the .hostname/.ip caches, as the
 * Go agent computed them (lodastack-protocols.md 1.3.3 and 1.4).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fetcher_file.h"
#include "fetcher_identity.h"
#include "util.h"

static int
has_prefix(const char *name, const struct strlist *prefixes)
{
	size_t	 i;

	for (i = 0; i < prefixes->n; i++)
		if (strncmp(name, prefixes->v[i],
		    strlen(prefixes->v[i])) == 0)
			return 1;
	return 0;
}

/* An IPv6 address that Go treats as IPv4 (::ffff:a.b.c.d). */
static int
v4_mapped(const unsigned char *a)
{
	static const unsigned char pfx[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* Go's IsLoopback, IsLinkLocalUnicast, IsLinkLocalMulticast. */
static int
v4_skipped(const unsigned char *a)
{
	return a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	    (a[0] == 224 && a[1] == 0 && a[2] == 0);
}

static int
v6_skipped(const unsigned char *a)
{
	static const unsigned char loop[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};

	return memcmp(a, loop, 16) == 0 ||
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    (a[0] == 0xff && (a[1] & 0x0f) == 0x02);
}

/* RFC 5952 as Go prints it: the longest run of two or more zero groups
 * (the first of equal ones) becomes "::", lower-case hex. */
static void
fmt_ip6(const unsigned char *a, char *buf, size_t len)
{
	unsigned int	 w[8];
	int		 i, best = -1, bestlen = 0, run;
	size_t		 n = 0;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		for (run = 0; i + run < 8 && w[i + run] == 0; run++)
			;
		if (run >= 2 && run > bestlen) {
			best = i;
			bestlen = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)snprintf(buf + n, len - n, "::");
			i += bestlen - 1;
			continue;
		}
		/* 8 groups of 4 digits and 7 colons fit in len >= 40 */
		n += (size_t)snprintf(buf + n, len - n, "%s%x",
		    i > 0 && i != best + bestlen ? ":" : "", w[i]);
	}
	if (n == 0)
		buf[0] = '\0';
}

/* Interfaces in kernel order, then IPv4 before IPv6, else as given. */
static int
addr_before(const struct ident_addr *x, const struct ident_addr *y)
{
	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex;
	return x->family == AF_INET && y->family == AF_INET6;
}

int
fetcher_ident_ip_list(struct ident_addr *addrs, size_t n,
    const struct strlist *prefixes, struct strlist *out)
{
	struct ident_addr	 t;
	const unsigned char	*a;
	char			 ip[64], base[IF_NAMESIZE + 1];	/* ip >= 40 */
	size_t			 i, j;

	/* insertion sort: stable, and there are few addresses */
	for (i = 1; i < n; i++) {
		t = addrs[i];
		for (j = i; j > 0 && addr_before(&t, &addrs[j - 1]); j--)
			addrs[j] = addrs[j - 1];
		addrs[j] = t;
	}
	for (i = 0; i < n; i++) {
		if (!(addrs[i].flags & IFF_UP) ||
		    (addrs[i].flags & IFF_LOOPBACK))
			continue;
		/* "eth0:1" is a label of eth0: the prefix is the link's */
		snprintf(base, sizeof(base), "%s", addrs[i].ifname);
		base[strcspn(base, ":")] = '\0';
		if (!has_prefix(base, prefixes))
			continue;
		a = addrs[i].addr;
		if (addrs[i].family == AF_INET6 && v4_mapped(a))
			a += 12;
		else if (addrs[i].family == AF_INET6) {
			if (v6_skipped(a))
				continue;
			fmt_ip6(a, ip, sizeof(ip));
			if (strlist_add(out, ip) == -1)
				return -1;
			continue;
		} else if (addrs[i].family != AF_INET)
			continue;
		if (v4_skipped(a))
			continue;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2],
		    a[3]);
		if (strlist_add(out, ip) == -1)
			return -1;
	}
	return 0;
}

/*
 * The kernel's index of interface `name`, from the AF_PACKET entry
 * getifaddrs(3) lists for every link: if_nametoindex(3) would ask with an
 * ioctl on a socket of its own, which the fetcher's filter refuses.
 * 0 when the link is gone.
 */
static unsigned int
ifindex_of(const struct ifaddrs *ifa, const char *name)
{
	const struct ifaddrs	*p;

	for (p = ifa; p != NULL; p = p->ifa_next)
		if (p->ifa_addr != NULL && p->ifa_name != NULL &&
		    p->ifa_addr->sa_family == AF_PACKET &&
		    strcmp(p->ifa_name, name) == 0)
			return (unsigned int)((const struct sockaddr_ll *)
			    (const void *)p->ifa_addr)->sll_ifindex;
	return 0;
}

int
fetcher_ident_host_ips(const struct strlist *prefixes, struct strlist *out,
    char *err, size_t errlen)
{
	struct ifaddrs		*ifa, *p;
	struct ident_addr	*v = NULL, *nv;
	char			 base[IF_NAMESIZE + 1];
	size_t			 n = 0;
	int			 rc = -1;

	if (getifaddrs(&ifa) == -1) {
		snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (p = ifa; p != NULL; p = p->ifa_next) {
		if (p->ifa_addr == NULL || p->ifa_name == NULL ||
		    (p->ifa_addr->sa_family != AF_INET &&
		    p->ifa_addr->sa_family != AF_INET6))
			continue;
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
			goto nomem;
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].ifname = p->ifa_name;
		snprintf(base, sizeof(base), "%s", p->ifa_name);
		base[strcspn(base, ":")] = '\0';
		/* 0 (gone meanwhile) sorts first; it is still listed */
		v[n].ifindex = ifindex_of(ifa, base);
		v[n].flags = p->ifa_flags;
		v[n].family = p->ifa_addr->sa_family;
		if (v[n].family == AF_INET)
			memcpy(v[n].addr, &((struct sockaddr_in *)(void *)
			    p->ifa_addr)->sin_addr, 4);
		else
			memcpy(v[n].addr, &((struct sockaddr_in6 *)(void *)
			    p->ifa_addr)->sin6_addr, 16);
		n++;
	}
	if (fetcher_ident_ip_list(v, n, prefixes, out) == -1)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(v);
	freeifaddrs(ifa);
	return rc;
}

char *
fetcher_ident_join(const struct strlist *l, char sep)
{
	struct buf	 b;
	size_t		 i;

	if (l->n == 0)
		return strdup("");
	buf_init(&b);
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addc(&b, sep);
		buf_adds(&b, l->v[i]);
	}
	if (buf_failed(&b) || b.p == NULL) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

int
fetcher_ident_hostname(char *buf, size_t len, char *err, size_t errlen)
{
	if (gethostname(buf, len) == -1) {
		snprintf(err, errlen, "gethostname: %s", strerror(errno));
		return -1;
	}
	buf[len - 1] = '\0';
	if (buf[0] == '\0') {
		snprintf(err, errlen, "the hostname is empty");
		return -1;
	}
	return 0;
}

void
fetcher_ident_sn_read(const char *path, char *buf, size_t len)
{
	char	*raw;
	size_t	 rawlen, i, n = 0;

	buf[0] = '\0';
	if (fetcher_file_read_all(path, 4096, &raw, &rawlen) == -1)
		return;
	/* only spaces go: the newline stays (quirk 1) */
	for (i = 0; i < rawlen && n + 1 < len; i++)
		if (raw[i] != ' ')
			buf[n++] = raw[i];
	buf[n] = '\0';
	free(raw);
}

static int
blank(const char *s)
{
	return s[strspn(s, " \t\r\n\v\f")] == '\0';
}

int
fetcher_ident_cache_check(const char *dir, const char *name, const char *cur,
    char **old, int *created, char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	char	*content;
	size_t	 len;

	*old = NULL;
	*created = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, name);
		return -1;
	}
	if (util_mkdir_p(dir, 0755) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fetcher_file_read_all(path, IDENT_CACHE_MAX, &content,
	    &len) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			return -1;
		}
		content = NULL;
	}
	if (content == NULL || blank(content)) {
		free(content);
		*created = 1;
		if (fetcher_ident_cache_write(dir, name, cur, err,
		    errlen) == -1)
			return -1;
		return 0;
	}
	/* compared untrimmed, as the Go agent did */
	*old = content;
	return strcmp(content, cur) != 0 || strlen(content) != len;
}

int
fetcher_ident_cache_write(const char *dir, const char *name, const char *value,
    char *err, size_t errlen)
{
	char	 path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, name);
		return -1;
	}
	return fetcher_file_write_atomic(path, value, strlen(value), 0644,
	    err, errlen);
}
