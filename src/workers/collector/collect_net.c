/*
 * NET type (lodastack-protocols.md 5.4): per interface from
 * /proc/net/dev, net.{in,out} in bit/s, net.{in,out}.dropped in packets/s,
 * net.{in,out}.percent of the link speed and net.speed (Mb/s, from
 * /sys/class/net/<if>/speed; 0 when unreadable or negative); and from
 * /proc/net/sockstat net.sockets.used, net.tcp.inuse, net.tcp.timewait.
 *
 * Interfaces: those whose name starts with one of [agent] ifaceprefix,
 * all of them when the list is empty (as the Go agent did).  Rates are
 * between this run and the previous one over the monotonic time between
 * them (the Go agent used whole wall-clock seconds).  No per-interface
 * output on the first run; an interface that appears gives nothing until
 * its second sample (the Go agent compared it with zeros: its whole
 * history as one rate); a counter that went backwards (wrap, driver
 * reset) skips that interface for one run.  net.in above the link speed
 * is dropped as implausible, as the Go agent did, and so is its percent
 * (which is then within 0-100).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_file.h"
#include "collect_table.h"

#define IF_NAME_MAX	32	/* IFNAMSIZ is 16 */
#define SPEED_MAX	100000000LL	/* Mb/s; more is a driver's "unknown" */

/* /proc/net/dev columns after "name:" */
enum {
	ND_RX_BYTES = 0,
	ND_RX_DROP = 3,
	ND_TX_BYTES = 8,
	ND_TX_DROP = 11,
	ND_COLUMNS = 16
};

struct iface {
	char			 name[IF_NAME_MAX];
	unsigned long long	 rx_bytes, rx_drop, tx_bytes, tx_drop;
};
_Static_assert(offsetof(struct iface, name) == 0,
    "a collect_table row begins with its name");

struct net_state {
	struct cfile		 dev;
	struct cfile		 sockstat;
	struct collect_table	 ifaces;	/* of struct iface */
};

static void *
net_init(void)
{
	struct net_state	*s;

	if ((s = calloc(1, sizeof(*s))) != NULL)
		collect_table_init(&s->ifaces, sizeof(struct iface));
	return s;
}

static void
net_fini(void *arg)
{
	struct net_state	*s = arg;

	if (s == NULL)
		return;
	collect_file_free(&s->dev);
	collect_file_free(&s->sockstat);
	collect_table_free(&s->ifaces);
	free(s);
}

static int
iface_wanted(const struct collect_env *env, const char *name)
{
	size_t	 i;

	if (env->ifaceprefix == NULL || env->ifaceprefix->n == 0)
		return 1;
	for (i = 0; i < env->ifaceprefix->n; i++)
		if (strncmp(name, env->ifaceprefix->v[i],
		    strlen(env->ifaceprefix->v[i])) == 0)
			return 1;
	return 0;
}

/* Link speed in Mb/s; 0 when unknown (no file, -1, EINVAL when down). */
static long long
iface_speed(const struct collect_env *env, const char *name)
{
	char		 path[PATH_MAX], buf[32], *end;
	long long	 v;

	/* a name from /proc/net/dev is one path component, but check */
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	if (collect_path(path, sizeof(path), env->root,
	    "/sys/class/net/%s/speed", name) == -1 ||
	    collect_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\0' && *end != '\n') ||
	    v <= 0 || v > SPEED_MAX)
		return 0;
	return v;
}

/* "  eth0: 1 2 ... 16" into s->ifaces; 0 (kept or skipped) or -1. */
static int
dev_line(struct net_state *s, const struct collect_env *env, char *line)
{
	uint64_t		 v[ND_COLUMNS];
	struct iface		*f;
	char			*colon, *name, *tok;
	int			 i;

	/* interface names cannot hold ':' (dev_valid_name) */
	if ((colon = strchr(line, ':')) == NULL)
		return 0;
	*colon = '\0';
	name = line + strspn(line, " \t");
	line = colon + 1;
	if (*name == '\0' || strlen(name) >= IF_NAME_MAX ||
	    !iface_wanted(env, name))
		return 0;
	for (i = 0; i < ND_COLUMNS; i++)
		if ((tok = collect_token(&line)) == NULL ||
		    collect_u64(tok, NULL, &v[i]) == -1)
			return 0;
	if (collect_token(&line) != NULL)
		return 0;		/* exactly 16, as the Go agent wanted */
	if ((f = collect_table_add(&s->ifaces)) == NULL)
		return -1;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->rx_bytes = v[ND_RX_BYTES];
	f->rx_drop = v[ND_RX_DROP];
	f->tx_bytes = v[ND_TX_BYTES];
	f->tx_drop = v[ND_TX_DROP];
	return 0;
}

/* bit/s with the plausibility filter; -1 when not sent */
static double
bits(unsigned long long delta, double secs, long long speed)
{
	double	 v = collect_trunc2((double)delta * 8.0 / secs);

	if (!(v >= 0.0) || (speed != 0 && v > (double)speed * 1e6))
		return -1.0;
	return v;
}

static void
iface_emit(const struct collect_env *env, const struct iface *o,
    const struct iface *f, double secs, struct point_list *out)
{
	long long	 speed;
	double		 in, outb;

	if (f->rx_bytes < o->rx_bytes || f->tx_bytes < o->tx_bytes ||
	    f->rx_drop < o->rx_drop || f->tx_drop < o->tx_drop)
		return;		/* wrapped or reset: one sample lost */
	speed = iface_speed(env, f->name);
	in = bits(f->rx_bytes - o->rx_bytes, secs, speed);
	outb = bits(f->tx_bytes - o->tx_bytes, secs, speed);
	if (in >= 0.0)
		(void)collect_list_add_float(out, "net.in", in, "interface",
		    f->name,
		    NULL);
	if (outb >= 0.0)
		(void)collect_list_add_float(out, "net.out", outb, "interface",
		    f->name,
		    NULL);
	(void)collect_list_add_float(out, "net.in.dropped",
	    collect_trunc2((double)(f->rx_drop - o->rx_drop) / secs),
	    "interface",
	    f->name, NULL);
	(void)collect_list_add_float(out, "net.out.dropped",
	    collect_trunc2((double)(f->tx_drop - o->tx_drop) / secs),
	    "interface",
	    f->name, NULL);
	if (speed != 0 && in >= 0.0)
		(void)collect_list_add_float(out, "net.in.percent",
		    collect_trunc2(in * 100.0 / ((double)speed * 1e6)),
		    "interface",
		    f->name, NULL);
	if (speed != 0 && outb >= 0.0)
		(void)collect_list_add_float(out, "net.out.percent",
		    collect_trunc2(outb * 100.0 / ((double)speed * 1e6)),
		    "interface",
		    f->name, NULL);
	(void)collect_list_add_int(out, "net.speed", speed, "interface",
	    f->name, NULL);
}

static int
read_dev(struct net_state *s, const struct collect_env *env, char *err,
    size_t errlen)
{
	char	*p, *line;

	if (collect_slurp(env->root, "/proc/net/dev", COLLECT_SLURP_MAX,
	    &s->dev, err, errlen) == -1)
		return -1;
	collect_table_begin(&s->ifaces);
	for (p = s->dev.p; (line = collect_line(&p)) != NULL; )
		if (dev_line(s, env, line) == -1) {
			snprintf(err, errlen, "/proc/net/dev: out of memory");
			return -1;
		}
	return 0;
}

/* The number after `key` among the tokens of `line`; -1 if none. */
static int
after_key(char *line, const char *key, uint64_t *out)
{
	char	*tok;

	while ((tok = collect_token(&line)) != NULL)
		if (strcmp(tok, key) == 0)
			return (tok = collect_token(&line)) == NULL ? -1 :
			    collect_u64(tok, NULL, out);
	return -1;
}

/* "sockets: used N" and "TCP: inuse N orphan N tw N ..." */
static int
emit_sockstat(struct net_state *s, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	uint64_t		 used, inuse, tw;
	char			*p, *line, tcp[512];
	int			 have_used = 0, have_tcp = 0;

	if (collect_slurp(env->root, "/proc/net/sockstat", COLLECT_SLURP_MAX,
	    &s->sockstat, err, errlen) == -1)
		return -1;
	for (p = s->sockstat.p; (line = collect_line(&p)) != NULL; ) {
		if (strncmp(line, "sockets:", 8) == 0)
			have_used = after_key(line, "used", &used) == 0;
		else if (strncmp(line, "TCP:", 4) == 0) {
			/* after_key cuts the line: once per key */
			snprintf(tcp, sizeof(tcp), "%s", line);
			have_tcp = after_key(line, "inuse", &inuse) == 0 &&
			    after_key(tcp, "tw", &tw) == 0;
		}
	}
	if (!have_used || !have_tcp) {
		snprintf(err, errlen, "%s/proc/net/sockstat: no \"sockets: "
		    "used\" or \"TCP: inuse ... tw\" line", env->root);
		return -1;
	}
	(void)collect_list_add_int(out, "net.sockets.used", (int64_t)used,
	    NULL);
	(void)collect_list_add_int(out, "net.tcp.inuse", (int64_t)inuse, NULL);
	(void)collect_list_add_int(out, "net.tcp.timewait", (int64_t)tw, NULL);
	return 0;
}

static int
net_collect(void *arg, const struct collect_env *env, struct point_list *out,
    char *err, size_t errlen)
{
	struct net_state	*s = arg;
	const struct iface	*o, *f;
	char			 why[512];
	double			 secs;
	size_t			 i;
	int			 rv = 0;

	err[0] = '\0';
	if (read_dev(s, env, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		collect_table_forget(&s->ifaces);
		rv = -1;
	} else {
		if ((secs = collect_table_interval(&s->ifaces,
		    env->mono)) > 0.0)
			for (i = 0; i < s->ifaces.ncur; i++) {
				f = collect_table_row(&s->ifaces, i);
				if ((o = collect_table_prev(&s->ifaces,
				    f->name)) != NULL)
					iface_emit(env, o, f, secs, out);
			}
		collect_table_keep(&s->ifaces, env->mono);
	}
	if (emit_sockstat(s, env, out, why, sizeof(why)) == -1) {
		if (rv == 0)
			snprintf(err, errlen, "%s", why);
		rv = -1;
	}
	return rv;
}

const struct collect_family collect_net_family = {
	.name = "net",
	.type = SYS_NET,
	.init = net_init,
	.fini = net_fini,
	.collect = net_collect,
};
