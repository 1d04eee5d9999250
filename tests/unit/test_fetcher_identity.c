/*
 * Who the host is to the registry: IP list formatting (section 1.4),
 * serial number normalisation, .hostname/.ip cache semantics (1.3.3).
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/fetcher/fetcher_file.h"
#include "workers/fetcher/fetcher_identity.h"

static struct ident_addr
A(const char *name, unsigned int index, unsigned int flags, const char *ip)
{
	struct ident_addr	 a;

	memset(&a, 0, sizeof(a));
	a.ifname = name;
	a.ifindex = index;
	a.flags = flags;
	if (strchr(ip, ':') != NULL) {
		a.family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, a.addr), 1, "%s", ip);
	} else {
		a.family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, a.addr), 1, "%s", ip);
	}
	return a;
}

static char *
ips_of(struct ident_addr *v, size_t n, const char *const *prefixes)
{
	struct strlist	 pl, out;
	char		*s;

	strlist_init(&pl);
	strlist_init(&out);
	for (; *prefixes != NULL; prefixes++)
		cr_assert_eq(strlist_add(&pl, *prefixes), 0);
	cr_assert_eq(fetcher_ident_ip_list(v, n, &pl, &out), 0);
	s = fetcher_ident_join(&out, ',');
	cr_assert_not_null(s);
	strlist_free(&pl);
	strlist_free(&out);
	return s;
}

#define UP	(IFF_UP)

Test(fetcher_identity, ip_list_order_and_filters)
{
	static const char *const eth[] = { "eth", "bond", NULL };
	static const char *const none[] = { NULL };
	struct ident_addr	 v[16];
	size_t			 n = 0;
	char			*s;

	/* as getifaddrs lists them: every IPv4 first, then every IPv6 */
	v[n++] = A("lo", 1, UP | IFF_LOOPBACK, "127.0.0.1");
	v[n++] = A("eth1", 3, UP, "10.0.1.5");
	v[n++] = A("eth0", 2, UP, "10.0.0.5");
	v[n++] = A("eth0:1", 2, UP, "10.0.0.6");	/* a label of eth0 */
	v[n++] = A("eth0", 2, UP, "169.254.3.4");	/* link-local */
	v[n++] = A("docker0", 4, UP, "172.17.0.1");	/* no prefix */
	v[n++] = A("eth2", 5, 0, "10.0.2.5");		/* down */
	v[n++] = A("bond0", 6, UP, "192.168.1.2");
	v[n++] = A("lo", 1, UP | IFF_LOOPBACK, "::1");
	v[n++] = A("eth0", 2, UP, "fe80::1:2");		/* link-local */
	v[n++] = A("eth0", 2, UP, "fd00::5");
	v[n++] = A("eth1", 3, UP, "2001:db8::1");
	v[n++] = A("eth1", 3, UP, "ff02::1");		/* ll multicast */
	v[n++] = A("eth1", 3, UP, "::ffff:10.9.9.9");	/* printed as v4 */
	s = ips_of(v, n, eth);
	/* interfaces in kernel order, per interface IPv4 then IPv6 */
	cr_assert_str_eq(s, "10.0.0.5,10.0.0.6,fd00::5,10.0.1.5,2001:db8::1,"
	    "10.9.9.9,192.168.1.2");
	free(s);
	/* no ifaceprefix: no IPs at all, as in the Go agent */
	s = ips_of(v, n, none);
	cr_assert_str_eq(s, "");
	free(s);
}

Test(fetcher_identity, ipv6_compressed_as_go)
{
	static const char *const all[] = { "e", NULL };
	static const struct {
		const char	*in;
		const char	*out;
	} t[] = {
		{ "2001:db8:0:0:0:0:0:1", "2001:db8::1" },
		{ "2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1" },
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
		{ "1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7" },
		{ "2001:DB8:AB:CD:EF:1:2:3", "2001:db8:ab:cd:ef:1:2:3" },
		{ "fd00:0:0:0:0:0:0:0", "fd00::" },
		{ "0:0:0:0:0:0:1:2", "::1:2" },
		{ "0:0:0:0:0:0:102:304", "::102:304" },
	};
	struct ident_addr	 v[1];
	char			*s;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v[0] = A("e0", 1, UP, t[i].in);
		s = ips_of(v, 1, all);
		cr_assert_str_eq(s, t[i].out, "%s", t[i].in);
		free(s);
	}
}

Test(fetcher_identity, host_ips_run)
{
	struct strlist	 pl, out;
	char		 err[256];

	/* the real interfaces: it must work, whatever they are */
	strlist_init(&pl);
	strlist_init(&out);
	cr_assert_eq(strlist_add(&pl, "lo"), 0);
	cr_assert_eq(fetcher_ident_host_ips(&pl, &out, err, sizeof(err)), 0,
	    "%s",
	    err);
	/* lo is a loopback interface: skipped */
	cr_assert_eq(out.n, 0);
	strlist_free(&pl);
	strlist_free(&out);
}

static char *
tempdir(void)
{
	char	 t[] = "/tmp/test_fetcher_XXXXXX";

	cr_assert_not_null(mkdtemp(t));
	return strdup(t);
}

static void
put(const char *dir, const char *name, const char *content)
{
	char	 p[512];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_not_null(fp = fopen(p, "w"));
	fputs(content, fp);
	fclose(fp);
}

static char *
get(const char *dir, const char *name)
{
	char	 p[512], *s;
	size_t	 n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (fetcher_file_read_all(p, 4096, &s, &n) == -1)
		return NULL;
	return s;
}

static void
rmtree(const char *dir)
{
	char	 cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(fetcher_identity, serial_number)
{
	char	*d = tempdir(), p[512], sn[IDENT_SN_MAX];

	/* only spaces go; the trailing newline stays (quirk 1) */
	put(d, "sn", "  CZ 1234\tAB CD \n");
	snprintf(p, sizeof(p), "%s/sn", d);
	fetcher_ident_sn_read(p, sn, sizeof(sn));
	cr_assert_str_eq(sn, "CZ1234\tABCD\n");
	/* unreadable: empty */
	snprintf(p, sizeof(p), "%s/missing", d);
	fetcher_ident_sn_read(p, sn, sizeof(sn));
	cr_assert_str_eq(sn, "");
	rmtree(d);
	free(d);
}

Test(fetcher_identity, cache_semantics)
{
	char	*d = tempdir(), sub[512], err[256], *old, *s;
	int	 created;

	/* pluginsdir is made when missing; no file: written, unchanged */
	snprintf(sub, sizeof(sub), "%s/plugins", d);
	cr_assert_eq(fetcher_ident_cache_check(sub, ".hostname", "web-01", &old,
	    &created, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(created, 1);
	cr_assert_null(old);
	cr_assert_str_eq(s = get(sub, ".hostname"), "web-01");
	free(s);

	/* same content: unchanged, old = the content */
	cr_assert_eq(fetcher_ident_cache_check(sub, ".hostname", "web-01", &old,
	    &created, err, sizeof(err)), 0);
	cr_assert_eq(created, 0);
	cr_assert_str_eq(old, "web-01");
	free(old);

	/* another name: changed, old = the file; the file is untouched */
	cr_assert_eq(fetcher_ident_cache_check(sub, ".hostname", "web-02", &old,
	    &created, err, sizeof(err)), 1);
	cr_assert_str_eq(old, "web-01");
	free(old);
	cr_assert_str_eq(s = get(sub, ".hostname"), "web-01");
	free(s);

	/* compared untrimmed: a newline makes it differ */
	put(sub, ".hostname", "web-02\n");
	cr_assert_eq(fetcher_ident_cache_check(sub, ".hostname", "web-02", &old,
	    &created, err, sizeof(err)), 1);
	cr_assert_str_eq(old, "web-02\n");
	free(old);

	/* blank: rewritten, unchanged */
	put(sub, ".hostname", " \n\t");
	cr_assert_eq(fetcher_ident_cache_check(sub, ".hostname", "web-03", &old,
	    &created, err, sizeof(err)), 0);
	cr_assert_eq(created, 1);
	cr_assert_null(old);
	cr_assert_str_eq(s = get(sub, ".hostname"), "web-03");
	free(s);

	/* the write after an accepted report */
	cr_assert_eq(fetcher_ident_cache_write(sub, ".ip", "10.0.0.1,10.0.0.2",
	    err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(fetcher_ident_cache_check(sub, ".ip", "10.0.0.1", &old,
	    &created, err, sizeof(err)), 1);
	cr_assert_str_eq(old, "10.0.0.1,10.0.0.2");
	free(old);
	rmtree(d);
	free(d);
}

Test(fetcher_identity, hostname)
{
	char	 h[IDENT_HOST_MAX], err[256];

	cr_assert_eq(fetcher_ident_hostname(h, sizeof(h), err, sizeof(err)), 0,
	    "%s",
	    err);
	cr_assert_neq(h[0], '\0');
}

Test(fetcher_identity, atomic_write_and_bounded_read)
{
	char		*d = tempdir(), p[512], err[256], *s;
	size_t		 n;
	struct stat	 st;

	snprintf(p, sizeof(p), "%s/f", d);
	cr_assert_eq(fetcher_file_write_atomic(p, "abc", 3, 0644, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	/* the mode asked for, whatever the file had */
	cr_assert_eq(fetcher_file_write_atomic(p, "defg", 4, 0600, err,
	    sizeof(err)), 0);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(fetcher_file_read_all(p, 4, &s, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(s, "defg");
	free(s);
	cr_assert_eq(fetcher_file_read_all(p, 3, &s, &n), -1);
	cr_assert_eq(errno, EFBIG);
	/* no temporary file left behind */
	snprintf(p, sizeof(p), "ls -A '%s' | wc -l | grep -qx 1", d);
	cr_assert_eq(system(p), 0);
	/* a directory that does not exist: an error naming the file */
	snprintf(p, sizeof(p), "%s/nodir/f", d);
	cr_assert_eq(fetcher_file_write_atomic(p, "x", 1, 0644, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nodir/f") != NULL, "%s", err);
	rmtree(d);
	free(d);
}
