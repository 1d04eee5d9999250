/*
 * The configuration model: the field table and everything that walks it
 * without reading the file (defaults, copy, wire encoding, printing).
 * Reading and validating the file is the master's job (conf_load.c).
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "codec.h"

#define R(role)		(1U << (role))
/*
 * The master holds every field (conf_encode with ROLE_MASTER sends them
 * all), so a mask only names the workers that receive a field and a
 * master-only field has 0.
 */
#define R_WORKERS	(((1U << ROLE_MAX) - 1) & ~R(ROLE_MASTER))
#define OFF(m)		offsetof(struct agent_conf, m)
/* Producers encode points for the output (DESIGN.md section 5). */
#define R_PRODUCERS	(R(ROLE_FRONT) | R(ROLE_SCHEDULER) | R(ROLE_COLLECTOR))

/*
 * The order is the order `agent check` prints, and an entry's index is its
 * number on the wire.  Master and workers are one binary, so both sides
 * always share this table and a key may be inserted anywhere.
 */
const struct conf_field conf_fields[] = {
	{ "agent", "listen", CONF_T_STR, OFF(listen), "127.0.0.1:1232",
	    0, 0, R(ROLE_FRONT),
	    "HTTP API TCP address, host:port or [v6]:port; empty for none" },
	{ "agent", "ifaceprefix", CONF_T_LIST, OFF(ifaceprefix), "[]",
	    0, 0, R(ROLE_FETCHER) | R(ROLE_COLLECTOR),
	    "network interface name prefixes to monitor" },
	{ "agent", "registryaddr", CONF_T_STR, OFF(registryaddr), "",
	    0, 0, R(ROLE_FETCHER),
	    "registry base URL (http:// or https://), or file:///path of a "
	    "registry file; empty for none" },
	{ "agent", "pluginsdir", CONF_T_STR, OFF(pluginsdir),
	    "/usr/local/agent-plugins", 0, 0,
	    R(ROLE_FETCHER) | R(ROLE_GITPULL) | R(ROLE_SCHEDULER),
	    "directory holding the plugin checkouts" },
	{ "agent", "pluginsuser", CONF_T_STR, OFF(pluginsuser), "nobody",
	    0, 0, R_WORKERS, "user the plugins run as" },
	{ "agent", "git", CONF_T_STR, OFF(git), "",
	    0, 0, R(ROLE_GITPULL) | R(ROLE_SCHEDULER),
	    "plugin repository URL pattern, %s = project name" },
	{ "agent", "workertimeout", CONF_T_INT, OFF(workertimeout), "60",
	    0, 3600, 0,
	    "seconds a worker may answer nothing on its control edge "
	    "(asked after half of it) before it is killed and restarted; "
	    "0: never" },
	{ "agent", "pidfile", CONF_T_STR, OFF(pidfile), "/run/agent/agent.pid",
	    0, 0, 0, "pid file of the master, locked while it runs" },
	{ "agent", "user", CONF_T_STR, OFF(user), "nobody",
	    0, 0, R_WORKERS, "unprivileged user of the workers" },
	{ "agent", "chroot", CONF_T_STR, OFF(chroot), "/var/empty/agent",
	    0, 0, R_WORKERS,
	    "empty directory the front process is chrooted to" },
	{ "agent", "socket", CONF_T_STR, OFF(socket), "/run/agent/agent.sock",
	    0, 0, R(ROLE_FRONT), "HTTP API unix socket path; empty for none" },
	{ "agent", "allowrootplugins", CONF_T_BOOL, OFF(allowrootplugins),
	    "no", 0, 0, R_WORKERS, "allow pluginsuser to be root" },
	{ "agent", "isolateplugins", CONF_T_BOOL, OFF(isolateplugins),
	    "yes", 0, 0, R(ROLE_SCHEDULER),
	    "each plugin run in a Landlock domain of its own: no access to "
	    "the memory, and from Linux 6.12 no signal, of any process "
	    "outside it (never for plugins run as root)" },
	{ "agent", "namespaces", CONF_T_LIST, OFF(namespaces), "[]",
	    0, 0, R(ROLE_FRONT) | R(ROLE_FETCHER),
	    "namespaces of this host when registryaddr is empty, and until "
	    "the registry answers" },
	{ "agent", "registryinterval", CONF_T_INT, OFF(registryinterval),
	    "600", 10, 86400, R(ROLE_FETCHER),
	    "seconds between registry refreshes (jittered)" },
	{ "agent", "registrytimeout", CONF_T_INT, OFF(registrytimeout),
	    "10", 1, 300, R(ROLE_FETCHER),
	    "seconds a registry request may take" },
	{ "agent", "gitbranch", CONF_T_STR, OFF(gitbranch), "release",
	    0, 0, R(ROLE_GITPULL),
	    "branch of the plugin repositories that is run" },
	{ "agent", "gittimeout", CONF_T_INT, OFF(gittimeout), "120",
	    1, 3600, R(ROLE_GITPULL) | R(ROLE_FRONT),
	    "seconds a git command may take" },
	{ "agent", "gitmaxsize", CONF_T_INT, OFF(gitmaxsize), "268435456",
	    1048576, (int64_t)1 << 40, R(ROLE_GITPULL),
	    "bytes a plugin checkout may take: the largest file git may "
	    "write (the pack a clone or fetch receives), and the files of "
	    "the tree checked out, together" },
	{ "agent", "gitsigners", CONF_T_FILE, OFF(gitsigners), "",
	    0, 0, R(ROLE_GITPULL),
	    "allowed-signers file (ssh-keygen(1)): plugins are checked out "
	    "only from commits signed by a key it lists; empty: off" },
	{ "agent", "gitsignedtags", CONF_T_BOOL, OFF(gitsignedtags), "no",
	    0, 0, R(ROLE_GITPULL),
	    "with gitsigners: require a signed tag on the branch tip instead "
	    "of a signed commit" },
	{ "agent", "pluginoutputmax", CONF_T_INT, OFF(pluginoutputmax),
	    "1048576", 4096, (int64_t)1 << 30, R(ROLE_SCHEDULER),
	    "bytes of a plugin's standard output read at most" },
	{ "agent", "pluginflushms", CONF_T_INT, OFF(pluginflushms), "1000",
	    0, 60000, R(ROLE_SCHEDULER),
	    "milliseconds the points of a finished plugin run wait for the "
	    "runs still going, to reach the output with theirs; 0: none" },
	{ "agent", "pluginmaxprocs", CONF_T_INT, OFF(pluginmaxprocs), "1024",
	    0, 4194304, R(ROLE_SCHEDULER),
	    "processes and threads pluginsuser may have, all of its together, "
	    "past which a plugin's fork fails (RLIMIT_NPROC of each run); 0: "
	    "the system's limit" },
	{ "agent", "pluginmaxmemory", CONF_T_INT, OFF(pluginmaxmemory), "0",
	    0, (int64_t)1 << 40, R(ROLE_SCHEDULER),
	    "bytes of heap and private writable memory each process of a "
	    "plugin may have (RLIMIT_DATA); 0: no limit" },
	{ "agent", "pluginnice", CONF_T_INT, OFF(pluginnice), "10",
	    0, 19, R(ROLE_SCHEDULER),
	    "how much nicer than the agent each plugin run is (setpriority, "
	    "capped at 19; a plugin cannot undo it): a plugin that spins "
	    "does not take the CPU the agent's own processes need; 0: as "
	    "the agent" },
	{ "agent", "token", CONF_T_STR, OFF(token), "",
	    0, 0, R(ROLE_FRONT),
	    "bearer token for changing requests from non-loopback TCP peers; "
	    "empty: those are refused" },
	{ "agent", "hostnames", CONF_T_LIST, OFF(hostnames), "[]",
	    0, 0, R(ROLE_FRONT),
	    "names besides IP addresses, localhost and the host's own name "
	    "that changing API requests may carry in Host" },
	{ "agent", "apiusers", CONF_T_LIST, OFF(apiusers), "[]",
	    0, 0, R(ROLE_FRONT),
	    "local users besides root whose loopback TCP connections may make "
	    "changing API requests without the token" },
	{ "agent", "ntpserver", CONF_T_STR, OFF(ntpserver), "",
	    0, 0, R(ROLE_COLLECTOR),
	    "SNTP server (host or host:port) for time.offset; empty: off" },
	{ "agent", "coredumpdir", CONF_T_STR, OFF(coredumpdir),
	    "/home/coresave", 0, 0, R(ROLE_COLLECTOR),
	    "directory of core files named core.<service>.<pid>.<time>" },
	{ "agent", "collect", CONF_T_BOOL, OFF(collect), "yes", 0, 0,
	    R(ROLE_COLLECTOR),
	    "run the system collectors and the PORT and PROC checks; no: "
	    "none of them runs (selfmetrics has its own key)" },
	{ "agent", "selfmetrics", CONF_T_BOOL, OFF(selfmetrics), "yes", 0, 0,
	    R(ROLE_COLLECTOR),
	    "publish the agent's own figures (those of GET /metrics) as "
	    "agent.* points to every namespace of the host" },
	{ "agent", "selfmetricsinterval", CONF_T_INT, OFF(selfmetricsinterval),
	    "60", 1, 86400, R(ROLE_COLLECTOR),
	    "seconds between two rounds of self metrics" },

	{ "output", "name", CONF_T_STR, OFF(output_name), "nsq",
	    0, 0, R(ROLE_SENDER), "output sink: nsq, influxdb or file" },
	{ "output", "servers", CONF_T_LIST, OFF(servers), "[]",
	    0, 0, R(ROLE_SENDER),
	    "nsqd addresses, host:port (HTTP) or tcp://host:port" },
	{ "output", "buffersize", CONF_T_INT, OFF(buffersize), "65536",
	    1, 10000000, R(ROLE_SENDER),
	    "points kept in memory while the output is slow or down" },
	{ "output", "bufferbytes", CONF_T_INT, OFF(bufferbytes), "67108864",
	    65536, (int64_t)1 << 34, R(ROLE_SENDER),
	    "bytes of encoded points kept in memory at most" },
	{ "output", "topic", CONF_T_STR, OFF(topic), "collect.%s",
	    0, 0, R_PRODUCERS | R(ROLE_SENDER),
	    "NSQ topic (InfluxDB database), %s = namespace" },
	{ "output", "format", CONF_T_STR, OFF(format), "json",
	    0, 0, R_PRODUCERS | R(ROLE_SENDER),
	    "message encoding: json (lodastack body) or line (InfluxDB)" },
	{ "output", "path", CONF_T_STR, OFF(path), "-",
	    0, 0, R(ROLE_SENDER),
	    "file output: path, or - for standard output" },
	{ "output", "batchpoints", CONF_T_INT, OFF(batchpoints), "1000",
	    1, 100000, R(ROLE_SENDER), "points per published message at most" },
	{ "output", "messagebytes", CONF_T_INT, OFF(messagebytes), "1048576",
	    4096, (int64_t)1 << 30, R(ROLE_SENDER),
	    "bytes per published message at most (nsqd's max-msg-size)" },
	/* MPUB sizes are signed 32-bit on the wire: INT32_MAX at most */
	{ "output", "requestbytes", CONF_T_INT, OFF(requestbytes), "5242880",
	    4096, 2147483647, R(ROLE_SENDER),
	    "bytes per request of several messages at most (nsqd's "
	    "max-body-size)" },
	{ "output", "requestmessages", CONF_T_INT, OFF(requestmessages),
	    "100", 1, 100000, R(ROLE_SENDER),
	    "messages per publish request at most; 1: one per request" },
	{ "output", "flushms", CONF_T_INT, OFF(flushms), "20",
	    1, 60000, R(ROLE_SENDER),
	    "milliseconds a point waits for more to batch with" },
	{ "output", "timeout", CONF_T_INT, OFF(timeout), "10",
	    1, 600, R(ROLE_SENDER),
	    "seconds a server has to answer a request, and a second more per "
	    "64 KiB it carries (nsqd over TCP: its IDENTIFY too)" },
	{ "output", "spool", CONF_T_STR, OFF(spool), "/var/lib/agent/spool",
	    0, 0, R(ROLE_SENDER),
	    "directory where accepted points wait on disk until published; "
	    "empty: in memory only" },
	{ "output", "serveruser", CONF_T_STR, OFF(serveruser), "",
	    0, 0, R(ROLE_SENDER),
	    "the user (or uid) a loopback output must be served by, or root; "
	    "empty: anyone but user, pluginsuser and login accounts (uids "
	    "1000-60577, and 65536 on)" },
	{ "output", "spoolsync", CONF_T_INT, OFF(spoolsync), "1000",
	    0, 600000, R(ROLE_SENDER),
	    "milliseconds a spool write the output has not taken waits for "
	    "its fdatasync (what a power failure can take); 0: synced "
	    "before every answer" },
	{ "output", "spoolbytes", CONF_T_INT, OFF(spoolbytes), "1073741824",
	    65536, (int64_t)1 << 40, R(ROLE_SENDER),
	    "bytes of the spool at most; then scheduled points age out and "
	    "pushed ones get 503" },

	{ "log", "logdir", CONF_T_STR, OFF(logdir), "/var/log/agent",
	    0, 0, 0, "directory of the log files" },
	{ "log", "loglevel", CONF_T_LEVEL, OFF(loglevel), "INFO",
	    0, 0, R_WORKERS,
	    "least severe level logged: DEBUG, INFO, WARN or ERROR" },
	{ "log", "logrotatenum", CONF_T_INT, OFF(logrotatenum), "5",
	    1, 1000, 0, "rotated log files kept" },
	{ "log", "logrotatesize", CONF_T_INT, OFF(logrotatesize), "104857600",
	    4096, (int64_t)1 << 40, 0,
	    "log file size in bytes that triggers a rotation" },
};

#define NFIELDS	(sizeof(conf_fields) / sizeof(conf_fields[0]))

const size_t conf_field_count = NFIELDS;

static void *
field_ptr(struct agent_conf *c, const struct conf_field *f)
{
	return (char *)c + f->offset;
}

static const void *
field_cptr(const struct agent_conf *c, const struct conf_field *f)
{
	return (const char *)c + f->offset;
}

/*
 * The defaults are parsed from the same text `agent check` and the manual
 * show, so the three cannot drift apart.  Every default list is empty: a
 * non-empty one would need the list parser, which belongs to the loader.
 */
static int
set_default(struct agent_conf *c, const struct conf_field *f)
{
	void		*p = field_ptr(c, f);
	const char	*errstr = NULL;
	long long	 v;
	char		*end;

	switch (f->type) {
	case CONF_T_STR:
		if (strlcpy(p, f->defval, CONF_STR_MAX) >= CONF_STR_MAX)
			errstr = "too long";
		break;
	case CONF_T_LIST:
		strlist_init(p);
		if (strcmp(f->defval, "[]") != 0)
			errstr = "non-empty default list";
		break;
	case CONF_T_INT:
		errno = 0;
		v = strtoll(f->defval, &end, 10);
		if (errno != 0 || *end != '\0' || end == f->defval ||
		    v < f->min || v > f->max)
			errstr = "bad integer";
		else
			*(int64_t *)p = v;
		break;
	case CONF_T_BOOL:
		if (strcmp(f->defval, "yes") == 0)
			*(int *)p = 1;
		else if (strcmp(f->defval, "no") == 0)
			*(int *)p = 0;
		else
			errstr = "bad bool";
		break;
	case CONF_T_LEVEL:
		if (log_level_parse(f->defval, p) == -1)
			errstr = "bad level";
		break;
	case CONF_T_FILE:
		if (strlcpy(((struct conf_file *)p)->path, f->defval,
		    CONF_STR_MAX) >= CONF_STR_MAX)
			errstr = "too long";
		((struct conf_file *)p)->text = NULL;
		break;
	default:
		errstr = "bad type";
		break;
	}
	if (errstr != NULL) {
		/* a broken table is a programming error the tests catch */
		log_warnx("%s: [%s] %s: %s", __func__, f->section, f->key,
		    errstr);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
conf_defaults(struct agent_conf *c)
{
	size_t	 i;

	memset(c, 0, sizeof(*c));
	c->serveruid = (uid_t)-1;
	c->pluginsuid = (uid_t)-1;
	for (i = 0; i < NFIELDS; i++) {
		if (set_default(c, &conf_fields[i]) == -1) {
			conf_free(c);
			return -1;
		}
	}
	return 0;
}

void
conf_free(struct agent_conf *c)
{
	struct conf_file	*cf;
	size_t			 i;

	for (i = 0; i < NFIELDS; i++) {
		if (conf_fields[i].type == CONF_T_LIST)
			strlist_free(field_ptr(c, &conf_fields[i]));
		else if (conf_fields[i].type == CONF_T_FILE) {
			cf = field_ptr(c, &conf_fields[i]);
			free(cf->text);
			cf->text = NULL;
		}
	}
}

/* On failure `dst` holds nothing to free (its lists are empty). */
int
conf_copy(struct agent_conf *dst, const struct agent_conf *src)
{
	const struct conf_field	*f;
	const struct conf_file	*sf;
	struct conf_file	*df;
	size_t			 i;

	if (dst == src)
		return 0;
	memcpy(dst, src, sizeof(*dst));
	/* nothing of src's is owned by dst until copied */
	for (i = 0; i < NFIELDS; i++) {
		f = &conf_fields[i];
		if (f->type == CONF_T_LIST)
			strlist_init(field_ptr(dst, f));
		else if (f->type == CONF_T_FILE)
			((struct conf_file *)field_ptr(dst, f))->text = NULL;
	}
	for (i = 0; i < NFIELDS; i++) {
		f = &conf_fields[i];
		if (f->type == CONF_T_LIST) {
			if (strlist_copy(field_ptr(dst, f),
			    field_cptr(src, f)) == -1)
				goto fail;
		} else if (f->type == CONF_T_FILE) {
			sf = field_cptr(src, f);
			df = field_ptr(dst, f);
			if (sf->text != NULL &&
			    (df->text = strdup(sf->text)) == NULL)
				goto fail;
		}
	}
	return 0;
fail:
	conf_free(dst);
	errno = ENOMEM;
	return -1;
}

void
conf_encode(struct pbuf *pb, const struct agent_conf *c, enum role role)
{
	const struct conf_field	*f;
	const struct strlist	*l;
	const struct conf_file	*cf;
	const void		*p;
	size_t			 i, j;

	if ((unsigned)role >= ROLE_MAX)
		return;
	for (i = 0; i < NFIELDS; i++) {
		f = &conf_fields[i];
		if (role != ROLE_MASTER && (f->roles & R(role)) == 0)
			continue;
		p = field_cptr(c, f);
		codec_put_u32(pb, (uint32_t)i);
		switch (f->type) {
		case CONF_T_STR:
			codec_put_str(pb, p);
			break;
		case CONF_T_LIST:
			l = p;
			codec_put_u32(pb, (uint32_t)l->n);
			for (j = 0; j < l->n; j++)
				codec_put_str(pb, l->v[j]);
			break;
		case CONF_T_INT:
			codec_put_i64(pb, *(const int64_t *)p);
			break;
		case CONF_T_BOOL:
			codec_put_bool(pb, *(const int *)p);
			break;
		case CONF_T_LEVEL:
			codec_put_u32(pb, (uint32_t)*(const enum log_level *)p);
			break;
		case CONF_T_FILE:
			cf = p;
			codec_put_str(pb, cf->path);
			codec_put_bool(pb, cf->text != NULL);
			codec_put_str(pb, cf->text);
			break;
		}
	}
}

static const char *
type_name(enum conf_type t)
{
	switch (t) {
	case CONF_T_STR:
		return "string";
	case CONF_T_LIST:
		return "list";
	case CONF_T_INT:
		return "integer";
	case CONF_T_BOOL:
		return "bool";
	case CONF_T_LEVEL:
		return "log level";
	case CONF_T_FILE:
		return "file";
	}
	return "?";
}

/* The codec tag the value of a field of this type starts with. */
static int
type_tag(enum conf_type t)
{
	switch (t) {
	case CONF_T_STR:
	case CONF_T_FILE:	/* the path first */
		return 'S';
	case CONF_T_LIST:
	case CONF_T_LEVEL:
		return 'I';
	case CONF_T_INT:
		return 'J';
	case CONF_T_BOOL:
		return 'B';
	}
	return 0;
}

static int
decode_value(struct preader *r, const struct conf_field *f,
    struct agent_conf *c, char *why, size_t whylen)
{
	struct strlist	*l;
	struct conf_file *cf;
	void		*p = field_ptr(c, f);
	char		*s;
	uint32_t	 n, j, u;
	int64_t		 v;
	int		 tag;

	if ((tag = codec_get_peek(r)) != type_tag(f->type)) {
		if (tag == 0)
			snprintf(why, whylen, "%s value missing",
			    type_name(f->type));
		else
			snprintf(why, whylen, "wrong type: %s expected, "
			    "got tag 0x%02x", type_name(f->type),
			    (unsigned)tag);
		return -1;
	}
	switch (f->type) {
	case CONF_T_STR:
		if (codec_get_strbuf(r, p, CONF_STR_MAX) == -1 || r->failed) {
			/* whatever the codec left there is not a value */
			*(char *)p = '\0';
			goto codec;
		}
		break;
	case CONF_T_LIST:
		l = p;
		n = codec_get_u32(r);
		if (r->failed)
			goto codec;
		/* each element takes at least a tag and a length: 5 bytes */
		if (n > (r->len - r->off) / 5) {
			snprintf(why, whylen, "list of %" PRIu32 " elements "
			    "does not fit in the payload", n);
			return -1;
		}
		strlist_free(l);
		for (j = 0; j < n; j++) {
			if ((s = codec_get_str(r)) == NULL || r->failed) {
				free(s);
				goto codec;
			}
			if (strlen(s) >= CONF_STR_MAX) {
				free(s);
				snprintf(why, whylen, "list element %" PRIu32
				    " longer than %d bytes", j + 1,
				    CONF_STR_MAX - 1);
				return -1;
			}
			if (strlist_add(l, s) == -1) {
				free(s);
				snprintf(why, whylen, "%s", strerror(ENOMEM));
				return -1;
			}
			free(s);
		}
		break;
	case CONF_T_INT:
		v = codec_get_i64(r);
		if (r->failed)
			goto codec;
		if (v < f->min || v > f->max) {
			snprintf(why, whylen, "%" PRId64 " out of range %"
			    PRId64 "-%" PRId64, v, f->min, f->max);
			return -1;
		}
		*(int64_t *)p = v;
		break;
	case CONF_T_BOOL:
		u = (uint32_t)codec_get_bool(r);
		if (r->failed)
			goto codec;
		*(int *)p = u != 0;
		break;
	case CONF_T_LEVEL:
		u = codec_get_u32(r);
		if (r->failed)
			goto codec;
		if (u >= LOG_LVL_MAX) {
			snprintf(why, whylen, "log level %" PRIu32
			    " out of range", u);
			return -1;
		}
		*(enum log_level *)p = (enum log_level)u;
		break;
	case CONF_T_FILE:
		cf = p;
		free(cf->text);
		cf->text = NULL;
		if (codec_get_strbuf(r, cf->path, CONF_STR_MAX) == -1 ||
		    r->failed) {
			cf->path[0] = '\0';
			goto codec;
		}
		u = (uint32_t)codec_get_bool(r);
		s = codec_get_str(r);
		if (r->failed || s == NULL) {
			free(s);
			goto codec;
		}
		if (strlen(s) > CONF_FILE_MAX) {
			free(s);
			snprintf(why, whylen, "file text over %d bytes",
			    CONF_FILE_MAX);
			return -1;
		}
		if (u)
			cf->text = s;
		else
			free(s);
		break;
	}
	return 0;
codec:
	snprintf(why, whylen, "%s", r->err[0] != '\0' ? r->err :
	    "malformed value");
	return -1;
}

int
conf_decode(struct preader *r, struct agent_conf *c, char *err,
    size_t errlen)
{
	const struct conf_field	*f;
	unsigned char		 seen[NFIELDS];
	char			 why[200];
	uint32_t		 idx;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		if (r->failed) {
			snprintf(err, errlen, "%s", r->err);
			return -1;
		}
		if (codec_get_at_end(r))
			break;
		if (codec_get_peek(r) != 'I') {
			snprintf(err, errlen, "field index expected, got tag "
			    "0x%02x", (unsigned)codec_get_peek(r));
			return -1;
		}
		idx = codec_get_u32(r);
		if (r->failed) {
			snprintf(err, errlen, "%s", r->err);
			return -1;
		}
		if (idx >= NFIELDS) {
			snprintf(err, errlen, "field %" PRIu32 ": unknown "
			    "config field index", idx);
			return -1;
		}
		f = &conf_fields[idx];
		if (seen[idx]) {
			snprintf(err, errlen, "field %" PRIu32 " ([%s] %s): "
			    "sent twice", idx, f->section, f->key);
			return -1;
		}
		seen[idx] = 1;
		if (decode_value(r, f, c, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "field %" PRIu32 " ([%s] %s): %s",
			    idx, f->section, f->key, why);
			return -1;
		}
	}
	if (codec_get_end(r) != 0) {
		snprintf(err, errlen, "%s", r->err);
		return -1;
	}
	return 0;
}

/*
 * How iniparser 4 reads a value (iniparser_line()): after "key =", a
 * double quote followed by at least one other byte starts a value that
 * ends at the next double quote (or the end of the line); likewise a
 * single quote; anything else is unquoted: up to the first ';' or '#',
 * with the blanks around it trimmed (isspace).  Before that, a line
 * whose last byte other than blanks is a backslash is joined with the
 * next line, and a line is at most INI_LINE_MAX bytes, its newline
 * included.  The forms below read back as exactly the value written;
 * every value the loader can produce has one (tests/fuzz/fuzz_conf.c
 * checks it over whatever it finds).
 */
#define INI_LINE_MAX	1023

/* Read back as it is when written without quotes. */
static int
unquoted_ok(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || strpbrk(s, "#;") != NULL ||
	    isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
		return 0;
	/* a quote followed by another byte starts a quoted value */
	if ((s[0] == '"' || s[0] == '\'') && s[1] != s[0])
		return 0;
	/* "" and '' alone are iniparser's empty value */
	return strcmp(s, "\"\"") != 0 && strcmp(s, "''") != 0;
}

/*
 * A string: in double quotes, or single quotes when it holds a double
 * quote, or bare when it holds both.  A bare value ending in a backslash
 * gets " #" after it, an empty comment, so that the line does not end
 * in the backslash that would join the next line to it.  `compact`
 * prefers the bare form, the shortest, for lines near INI_LINE_MAX.
 * -1 when no form reads back as the same string.
 */
static int
format_str(const char *s, char *buf, size_t len, int compact)
{
	size_t	 n = strlen(s);
	int	 w;

	/* a newline would end the value early (a CR inside is just a byte) */
	if (strchr(s, '\n') != NULL)
		return -1;
	if (compact && unquoted_ok(s) && s[n - 1] != '\\')
		w = snprintf(buf, len, "%s", s);
	else if (strchr(s, '"') == NULL)
		w = snprintf(buf, len, "\"%s\"", s);
	else if (strchr(s, '\'') == NULL)
		w = snprintf(buf, len, "'%s'", s);
	else if (!unquoted_ok(s))
		return -1;
	else
		w = snprintf(buf, len, "%s%s", s, s[n - 1] == '\\' ? " #" :
		    "");
	if (w < 0 || (size_t)w >= len)
		return -1;
	return 0;
}

/*
 * A list, [ "a", 'b"c' ]: each element in the quotes it does not hold.
 * The list parser (conf_list.c) gets what iniparser read, so an element
 * with a comment sign needs the whole list in double quotes, and then
 * no element can hold a quote: [ 'a;b' ] in "...".  -1 when no form
 * reads back as the same list.
 */
static int
format_list(const struct strlist *l, char *buf, size_t len, int compact)
{
	char	 q[2] = { '"', '\0' };
	size_t	 i;
	int	 wrap = 0;

	if (l->n == 0)
		return strlcpy(buf, "[]", len) < len ? 0 : -1;
	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '\n') != NULL || l->v[i][0] == '\0')
			return -1;
		if (strpbrk(l->v[i], "#;") != NULL)
			wrap = 1;
	}
	buf[0] = '\0';
	if ((wrap && strlcat(buf, "\"", len) >= len) ||
	    strlcat(buf, compact ? "[" : "[ ", len) >= len)
		return -1;
	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '"') == NULL && !wrap)
			q[0] = '"';
		else if (strchr(l->v[i], '\'') == NULL &&
		    (!wrap || strchr(l->v[i], '"') == NULL))
			q[0] = '\'';
		else
			return -1;
		if ((i > 0 && strlcat(buf, compact ? "," : ", ", len) >= len) ||
		    strlcat(buf, q, len) >= len ||
		    strlcat(buf, l->v[i], len) >= len ||
		    strlcat(buf, q, len) >= len)
			return -1;
	}
	if (strlcat(buf, compact ? "]" : " ]", len) >= len ||
	    (wrap && strlcat(buf, "\"", len) >= len))
		return -1;
	return 0;
}

/* The value of `f` in file syntax, written short with `compact`. */
static int
format_value(const struct conf_field *f, const struct agent_conf *c,
    char *buf, size_t len, int compact)
{
	const void	*p = field_cptr(c, f);
	int		 w;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	switch (f->type) {
	case CONF_T_STR:
		return format_str(p, buf, len, compact);
	case CONF_T_LIST:
		return format_list(p, buf, len, compact);
	case CONF_T_INT:
		w = snprintf(buf, len, "%" PRId64, *(const int64_t *)p);
		break;
	case CONF_T_BOOL:
		w = snprintf(buf, len, "%s", *(const int *)p ? "yes" : "no");
		break;
	case CONF_T_LEVEL:
		w = snprintf(buf, len, "\"%s\"",
		    log_level_name(*(const enum log_level *)p));
		break;
	case CONF_T_FILE:
		return format_str(((const struct conf_file *)p)->path, buf,
		    len, compact);
	default:
		return -1;
	}
	if (w < 0 || (size_t)w >= len)
		return -1;
	return 0;
}

int
conf_format_value(const struct conf_field *f, const struct agent_conf *c,
    char *buf, size_t len)
{
	return format_value(f, c, buf, len, 0);
}

/* Room for the longest value of `c` in file syntax. */
static size_t
print_buflen(const struct agent_conf *c)
{
	const struct strlist	*l;
	size_t			 i, j, n, len;

	len = 2 * CONF_STR_MAX + 8;
	for (i = 0; i < NFIELDS; i++) {
		if (conf_fields[i].type != CONF_T_LIST)
			continue;
		l = field_cptr(c, &conf_fields[i]);
		n = 8;
		for (j = 0; j < l->n; j++)
			n += strlen(l->v[j]) + 4;
		if (n > len)
			len = n;
	}
	return len;
}

void
conf_print(FILE *fp, const struct agent_conf *c)
{
	const struct conf_field	*f;
	const char		*section = NULL;
	char			*buf;
	size_t			 i, len;

	len = print_buflen(c);
	if ((buf = malloc(len)) == NULL) {
		fprintf(fp, "# %s: %s\n", __func__, strerror(errno));
		return;
	}
	for (i = 0; i < NFIELDS; i++) {
		f = &conf_fields[i];
		if (section == NULL || strcmp(section, f->section) != 0) {
			fprintf(fp, "%s[%s]\n", section == NULL ? "" : "\n",
			    f->section);
			section = f->section;
		}
		/* the compact form when the usual one is too long a line */
		if (format_value(f, c, buf, len, 0) == 0 &&
		    strlen(f->key) + strlen(buf) + 5 <= INI_LINE_MAX)
			fprintf(fp, "\t%s = %s\n", f->key, buf);
		else if (format_value(f, c, buf, len, 1) == 0 &&
		    strlen(f->key) + strlen(buf) + 2 <= INI_LINE_MAX)
			fprintf(fp, "%s=%s\n", f->key, buf);
		else
			fprintf(fp, "\t# %s: value cannot be written in "
			    "this file's syntax\n", f->key);
	}
	free(buf);
}
