/*
 * The checks of single config keys beyond their type: addresses, URLs,
 * paths, names.  Apart from conf_load.c, which reads the file and parses
 * each value by type, so adding a key's rule touches only this file.
 */
#include "conf_check.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "util.h"

#define USER_NAME_MAX	32

/* Checks of single keys beyond their type: 0, or -1 with why. */

static int
check_port(const char *s, char *why, size_t whylen)
{
	size_t	 n = strspn(s, "0123456789");
	long	 v;

	if (n == 0 || s[n] != '\0' || n > 5 ||
	    (v = strtol(s, NULL, 10)) < 1 || v > 65535) {
		snprintf(why, whylen, "port must be 1-65535");
		return -1;
	}
	return 0;
}

/* host:port or [v6]:port, with a host. */
static int
check_hostport(const char *s, char *why, size_t whylen)
{
	struct in6_addr	 a6;
	const char	*colon, *rb;
	char		 host[INET6_ADDRSTRLEN];
	size_t		 len;

	if (s[0] == '[') {
		if ((rb = strchr(s, ']')) == NULL) {
			snprintf(why, whylen, "missing ']' after the IPv6 "
			    "address");
			return -1;
		}
		len = (size_t)(rb - s - 1);
		if (len == 0 || len >= sizeof(host)) {
			snprintf(why, whylen, "bad IPv6 address");
			return -1;
		}
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			snprintf(why, whylen, "bad IPv6 address");
			return -1;
		}
		if (rb[1] != ':') {
			snprintf(why, whylen, "must be [v6]:port");
			return -1;
		}
		return check_port(rb + 2, why, whylen);
	}
	if ((colon = strrchr(s, ':')) == NULL) {
		snprintf(why, whylen, "must be host:port or [v6]:port");
		return -1;
	}
	if (strchr(s, ':') != colon) {
		snprintf(why, whylen, "an IPv6 address must be in brackets: "
		    "[v6]:port");
		return -1;
	}
	if (colon == s) {
		snprintf(why, whylen, "host must not be empty");
		return -1;
	}
	len = (size_t)(colon - s);
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_") != len) {
		snprintf(why, whylen, "bad character in host");
		return -1;
	}
	return check_port(colon + 1, why, whylen);
}

static int
check_listen(const char *s, char *why, size_t whylen)
{
	if (*s == '\0')
		return 0;
	return check_hostport(s, why, whylen);
}

static int	check_url(const char *, char *, size_t);

/* nsqd: host:port (HTTP) or tcp://host:port; InfluxDB: a base URL. */
static int
check_server(const char *s, char *why, size_t whylen)
{
	if (strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0)
		return check_url(s, why, whylen);
	if (strncasecmp(s, "tcp://", 6) == 0)
		s += 6;
	else if (strstr(s, "://") != NULL) {
		snprintf(why, whylen, "must be host:port, tcp://host:port or "
		    "an http:// URL");
		return -1;
	}
	return check_hostport(s, why, whylen);
}

static int
check_iface(const char *s, char *why, size_t whylen)
{
	if (strlen(s) >= IFNAMSIZ) {
		snprintf(why, whylen, "longer than an interface name (%d)",
		    IFNAMSIZ - 1);
		return -1;
	}
	if (strpbrk(s, "/ \t") != NULL) {
		snprintf(why, whylen, "not an interface name");
		return -1;
	}
	return 0;
}

static int
check_url(const char *s, char *why, size_t whylen)
{
	const char	*rest;

	if (*s == '\0')
		return 0;
	if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else {
		snprintf(why, whylen, "must start with http:// or https://");
		return -1;
	}
	if (*rest == '\0' || *rest == '/') {
		snprintf(why, whylen, "host missing");
		return -1;
	}
	if (strpbrk(s, " \t") != NULL) {
		snprintf(why, whylen, "blank in URL");
		return -1;
	}
	return 0;
}

/* The registry: its base URL, or file:///path of a standalone JSON file. */
static int
check_registry(const char *s, char *why, size_t whylen)
{
	if (strncasecmp(s, "file://", 7) == 0) {
		if (s[7] != '/') {
			snprintf(why, whylen, "file:// must be followed by an "
			    "absolute path (file:///etc/agent/registry.json)");
			return -1;
		}
		return 0;
	}
	if (*s != '\0' && strncasecmp(s, "http://", 7) != 0 &&
	    strncasecmp(s, "https://", 8) != 0) {
		snprintf(why, whylen, "must start with http://, https:// or "
		    "file://");
		return -1;
	}
	return check_url(s, why, whylen);
}

/* Becomes a git argument: a ref name that cannot be read as an option. */
static int
check_gitbranch(const char *s, char *why, size_t whylen)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 200 || s[0] == '-' || s[0] == '.' ||
	    s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.' ||
	    strstr(s, "..") != NULL || strstr(s, "//") != NULL ||
	    strstr(s, "@{") != NULL || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") != n) {
		snprintf(why, whylen, "not a branch name ([-_./a-zA-Z0-9], "
		    "no leading - or ., no ..)");
		return -1;
	}
	return 0;
}

/* host or host:port; empty turns the TIME collector off */
static int
check_ntpserver(const char *s, char *why, size_t whylen)
{
	size_t	 n = strlen(s);

	if (n == 0)
		return 0;
	if (n > 255 || s[0] == '-' || s[0] == ':' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.:[]") != n) {
		snprintf(why, whylen, "not a host or host:port");
		return -1;
	}
	return 0;
}

/* Sent in a header: printable ASCII without blanks. */
static int
check_token(const char *s, char *why, size_t whylen)
{
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~') {
			snprintf(why, whylen, "only printable ASCII without "
			    "blanks allowed");
			return -1;
		}
	if (*s != '\0' && p - s < 16) {
		snprintf(why, whylen, "too short: use at least 16 characters");
		return -1;
	}
	return 0;
}

static int
check_abspath(const char *s, char *why, size_t whylen)
{
	if (s[0] != '/') {
		snprintf(why, whylen, "must be an absolute path");
		return -1;
	}
	return 0;
}

/* An absolute path, or empty for none. */
static int
check_optpath(const char *s, char *why, size_t whylen)
{
	if (s[0] == '\0')
		return 0;
	return check_abspath(s, why, whylen);
}

/*
 * The master chowns pluginsdir to `user` and `stop -m clean` empties it:
 * a system directory there would be handed over or wiped.
 */
static int
check_ownable_dir(const char *s, char *why, size_t whylen)
{
	static const char *const system_dirs[] = {
		"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64",
		"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys",
		"/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local",
		"/usr/local/bin", "/usr/sbin", "/usr/share", "/var",
		"/var/lib", "/var/log", "/var/run", "/var/tmp", NULL
	};
	char		 norm[CONF_STR_MAX];
	size_t		 n, i;

	if (check_abspath(s, why, whylen) == -1)
		return -1;
	if (strstr(s, "/../") != NULL || strstr(s, "/./") != NULL ||
	    (n = strlen(s)) < 2 || strcmp(s + n - 2, "/.") == 0 ||
	    (n >= 3 && strcmp(s + n - 3, "/..") == 0)) {
		snprintf(why, whylen, "must not contain . or .. components");
		return -1;
	}
	strlcpy(norm, s, sizeof(norm));
	while ((n = strlen(norm)) > 1 && norm[n - 1] == '/')
		norm[n - 1] = '\0';
	for (i = 0; system_dirs[i] != NULL; i++) {
		if (strcmp(norm, system_dirs[i]) == 0) {
			snprintf(why, whylen, "is a system directory; use a "
			    "directory of its own");
			return -1;
		}
	}
	return 0;
}

/* "" keeps points in memory only; else the master makes it for `user`. */
static int
check_spool(const char *s, char *why, size_t whylen)
{
	if (*s == '\0')
		return 0;
	return check_ownable_dir(s, why, whylen);
}

static int
check_socket(const char *s, char *why, size_t whylen)
{
	struct sockaddr_un	 sun;

	if (*s == '\0')
		return 0;
	if (check_abspath(s, why, whylen) == -1)
		return -1;
	if (strlen(s) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "longer than a unix socket path (%zu "
		    "bytes)", sizeof(sun.sun_path) - 1);
		return -1;
	}
	return 0;
}

static int
check_username(const char *s, char *why, size_t whylen)
{
	size_t	 n;

	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-");
	/* a trailing '$' is how Samba machine accounts are named */
	if (s[n] == '$')
		n++;
	if (n == 0 || s[n] != '\0' || s[0] == '-' || n > USER_NAME_MAX) {
		snprintf(why, whylen, "not a user name");
		return -1;
	}
	return 0;
}

/* A user name, a uid, or nothing. */
static int
check_serveruser(const char *s, char *why, size_t whylen)
{
	uid_t	 u;

	if (*s == '\0')
		return 0;
	if (!util_all_digits(s, strlen(s)))
		return check_username(s, why, whylen);
	/* below (uid_t)-1, which says "none" */
	if (strlen(s) > 10 || util_uid_of(s, &u) == -1) {
		snprintf(why, whylen, "not a uid");
		return -1;
	}
	return 0;
}

/* The pattern is printf'ed with the project name: one %s, nothing else. */
static int
check_git(const char *s, char *why, size_t whylen)
{
	const char	*p;
	int		 n = 0;

	if (*s == '\0')
		return 0;
	p = s;
	while ((p = strchr(p, '%')) != NULL) {
		if (p[1] != 's') {
			snprintf(why, whylen, "must contain %%s once and no "
			    "other %%");
			return -1;
		}
		n++;
		p += 2;
	}
	if (n != 1) {
		snprintf(why, whylen, "must contain %%s once and no other %%");
		return -1;
	}
	return 0;
}

static int
check_output(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "nsq") != 0 && strcmp(s, "influxdb") != 0 &&
	    strcmp(s, "file") != 0) {
		snprintf(why, whylen, "must be nsq, influxdb or file");
		return -1;
	}
	return 0;
}

static int
check_format(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "json") != 0 && strcmp(s, "line") != 0) {
		snprintf(why, whylen, "must be json or line");
		return -1;
	}
	return 0;
}

/* An NSQ topic once %s is replaced: [.a-zA-Z0-9_-], one %s. */
static int
check_topic(const char *s, char *why, size_t whylen)
{
	const char	*p;
	int		 n = 0;

	for (p = s; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			n++;
			p++;
			continue;
		}
		if (strchr("._-", *p) == NULL && !isalnum((unsigned char)*p)) {
			snprintf(why, whylen, "only [.a-zA-Z0-9_-] and one %%s "
			    "allowed (NSQ topic names)");
			return -1;
		}
	}
	if (n != 1) {
		snprintf(why, whylen, "must contain %%s (the namespace) once");
		return -1;
	}
	return 0;
}

/* Registry namespaces: dot-separated labels of [-a-z0-9]. */
static int
check_namespace(const char *s, char *why, size_t whylen)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 56 || s[0] == '.' || s[n - 1] == '.' ||
	    strstr(s, "..") != NULL ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") != n) {
		snprintf(why, whylen, "not a namespace (labels of [-a-z0-9] "
		    "joined by dots, at most 56 bytes)");
		return -1;
	}
	return 0;
}

/*
 * A DNS name as the Host header carries it: labels of [-a-zA-Z0-9]
 * joined by dots, no port, no trailing dot.
 */
static int
check_hostname(const char *s, char *why, size_t whylen)
{
	const char	*label;
	size_t		 n = strlen(s), len;

	if (n == 0 || n > 253 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.") != n)
		goto bad;
	for (label = s; ; label += len + 1) {
		len = strcspn(label, ".");
		if (len == 0 || len > 63 || label[0] == '-' ||
		    label[len - 1] == '-')
			goto bad;
		if (label[len] == '\0')
			return 0;
	}
 bad:
	snprintf(why, whylen, "not a host name (labels of [-a-zA-Z0-9] "
	    "joined by dots, no port)");
	return -1;
}

static int
check_outpath(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "-") == 0)
		return 0;
	return check_abspath(s, why, whylen);
}

/*
 * Per-key checks.  For a list the check runs on every element.  Integer
 * ranges live in conf_fields[] and are checked by the type parser.
 */
static const struct {
	const char	*section;
	const char	*key;
	int		(*check)(const char *, char *, size_t);
} key_checks[] = {
	{ "agent", "listen", check_listen },
	{ "agent", "ifaceprefix", check_iface },
	{ "agent", "registryaddr", check_registry },
	{ "agent", "gitbranch", check_gitbranch },
	{ "agent", "gitsigners", check_optpath },
	{ "agent", "token", check_token },
	{ "agent", "ntpserver", check_ntpserver },
	{ "agent", "coredumpdir", check_abspath },
	{ "agent", "pluginsdir", check_ownable_dir },
	{ "agent", "pluginsuser", check_username },
	{ "agent", "git", check_git },
	{ "agent", "pidfile", check_abspath },
	{ "agent", "user", check_username },
	{ "agent", "chroot", check_abspath },
	{ "agent", "socket", check_socket },
	{ "agent", "namespaces", check_namespace },
	{ "agent", "hostnames", check_hostname },
	{ "agent", "apiusers", check_username },
	{ "output", "name", check_output },
	{ "output", "servers", check_server },
	{ "output", "topic", check_topic },
	{ "output", "format", check_format },
	{ "output", "path", check_outpath },
	{ "output", "spool", check_spool },
	{ "output", "serveruser", check_serveruser },
	{ "log", "logdir", check_abspath },
};

int
conf_check_run(const struct conf_field *f, const struct agent_conf *c,
    char *why,
    size_t whylen)
{
	const struct strlist	*l;
	const void		*p = (const char *)c + f->offset;
	char			 sub[WHY_MAX];
	size_t			 i, j;

	for (i = 0; i < sizeof(key_checks) / sizeof(key_checks[0]); i++) {
		if (strcmp(key_checks[i].section, f->section) != 0 ||
		    strcmp(key_checks[i].key, f->key) != 0)
			continue;
		if (f->type == CONF_T_STR)
			return key_checks[i].check(p, why, whylen);
		if (f->type == CONF_T_FILE)
			return key_checks[i].check(
			    ((const struct conf_file *)p)->path, why, whylen);
		if (f->type != CONF_T_LIST)
			return 0;
		l = p;
		for (j = 0; j < l->n; j++) {
			if (key_checks[i].check(l->v[j], sub,
			    sizeof(sub)) == -1) {
				snprintf(why, whylen, "\"%s\": %s", l->v[j],
				    sub);
				return -1;
			}
		}
		return 0;
	}
	return 0;
}
