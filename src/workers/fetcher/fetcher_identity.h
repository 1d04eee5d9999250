/*
 * Who this host is to the registry (lodastack-protocols.md 1.3.3, 1.4):
 * hostname, IP list, serial number, and the `.hostname` / `.ip` caches in
 * pluginsdir that track renames between reports.
 */
#ifndef AGENT_FETCHER_IDENTITY_H
#define AGENT_FETCHER_IDENTITY_H

#include <stddef.h>

#include "conf.h"

#define IDENT_SN_PATH		"/sys/class/dmi/id/product_serial"
#define IDENT_SN_MAX		256	/* bytes of a serial number */
#define IDENT_HOST_MAX		256
#define IDENT_CACHE_MAX		65536	/* bytes of a .hostname/.ip file */

/* One address of an interface, as getifaddrs(3) gives it. */
struct ident_addr {
	const char	*ifname;	/* "eth0" ("eth0:1" for a label) */
	unsigned int	 ifindex;	/* kernel order of the interfaces */
	unsigned int	 flags;		/* IFF_UP, IFF_LOOPBACK, ... */
	int		 family;	/* AF_INET, AF_INET6 */
	unsigned char	 addr[16];	/* 4 or 16 bytes */
};

/*
 * The IP list of section 1.4 from `n` addresses: interfaces in kernel
 * order, up, not loopback, name starting with one of `prefixes` (none:
 * no IPs); per interface its IPv4 then its IPv6 addresses, skipping
 * loopback, link-local unicast and link-local multicast ones; IPv4
 * dotted, IPv6 compressed (RFC 5952, as Go prints them).  0 or -1
 * (ENOMEM).  `addrs` is reordered.
 */
int	 fetcher_ident_ip_list(struct ident_addr *addrs, size_t n,
	    const struct strlist *prefixes, struct strlist *out);
/* The same from this host's interfaces. 0, or -1 with err. */
int	 fetcher_ident_host_ips(const struct strlist *prefixes,
    struct strlist *out,
	    char *err, size_t errlen);
/* "a,b,c" (no spaces); "" for none.  NULL on ENOMEM. */
char	*fetcher_ident_join(const struct strlist *, char sep);

/* gethostname(); 0 or -1 with err. */
int	 fetcher_ident_hostname(char *buf, size_t len, char *err,
    size_t errlen);

/*
 * The serial number from `path`: its content with only the spaces
 * removed (the trailing newline stays: the registry compares it with
 * what the Go agent sent).  "" when the file cannot be read.
 */
void	 fetcher_ident_sn_read(const char *path, char *buf, size_t len);

/*
 * HostnameChanged / IPChanged (section 1.3.3) for the cache file
 * `dir`/`name` and the current value `cur`:
 *  - the file is missing or blank: it is (re)written with `cur`, not
 *    changed, *created = 1;
 *  - its content, untrimmed, equals `cur`: not changed;
 *  - else changed, *old = its content.
 * *old is a copy of the file's content the caller frees, NULL when the
 * file was (re)written or could not be read.  Returns 1 changed, 0 not,
 * -1 when the file could not be read or written (err says why; to be
 * treated as unchanged).
 */
int	 fetcher_ident_cache_check(const char *dir, const char *name,
    const char *cur,
	    char **old, int *created, char *err, size_t errlen);
/* Write `value` to dir/name atomically (temp file, rename). 0 or -1. */
int	 fetcher_ident_cache_write(const char *dir, const char *name,
	    const char *value, char *err, size_t errlen);

#endif
