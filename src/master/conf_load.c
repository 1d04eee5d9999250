/*
 * Reading the config file.  iniparser does the INI syntax (sections,
 * comments, quotes, lowercased keys); every value then goes through the
 * parser of its type from conf_fields[] and the check of its key
 * (conf_check.c); the list syntax is conf_list.c.
 * The whole file is validated into a scratch config, so a bad file never
 * leaves half a config behind.
 */
#include "conf_load.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/string.h>
#include <iniparser/iniparser.h>

#include "conf.h"
#include "conf_check.h"
#include "conf_files.h"
#include "conf_list.h"
#include "util.h"

/* the least a plugin run can start with: a shell and a pipeline */
#define CONF_PLUGIN_PROCS_MIN	16
#define CONF_PLUGIN_MEMORY_MIN	(16 * 1024 * 1024)

/*
 * Where iniparser's syntax errors land during iniparser_load().  Its error
 * callback takes printf arguments and no user pointer, so there is no way
 * to hand it a buffer of our own: this is the one piece of global mutable
 * state here.  Only the master loads the config, from one thread, and the
 * callback is installed just around the load and reset right after.
 */
static struct {
	char	 msg[512];
	int	 count;
} ini_err;

static int	ini_capture(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static int
ini_capture(const char *fmt, ...)
{
	va_list	 ap;
	int	 n = 0;

	/* the first error is the one worth reading; count the others */
	if (ini_err.count++ == 0) {
		va_start(ap, fmt);
		n = vsnprintf(ini_err.msg, sizeof(ini_err.msg), fmt, ap);
		va_end(ap);
	}
	return n;
}

/*
 * iniparser says "iniparser: syntax error in FILE (LINE):\n-> TEXT\n".
 * Make that "FILE: syntax error at line LINE: TEXT", on one line, so it
 * reads like every other config error.  Anything shaped otherwise (another
 * iniparser version) is kept as it is, after the file name.
 */
static void
ini_err_format(const char *loaded, const char *path, char *msg, char *out,
    size_t outlen)
{
	char	 mark[CONF_STR_MAX + 16];
	char	*p, *in, *line, *end;
	size_t	 n;

	if (strncmp(msg, "iniparser: ", 11) == 0)
		memmove(msg, msg + 11, strlen(msg + 11) + 1);
	while ((p = strstr(msg, "\n-> ")) != NULL)
		memmove(p + 1, p + 4, strlen(p + 4) + 1);
	n = strlen(msg);
	while (n > 0 && isspace((unsigned char)msg[n - 1]))
		msg[--n] = '\0';
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';

	snprintf(mark, sizeof(mark), " in %s (", loaded);
	if ((in = strstr(msg, mark)) != NULL) {
		line = in + strlen(mark);
		n = strspn(line, "0123456789");
		end = line + n;
		if (n > 0 && *end == ')') {
			snprintf(out, outlen, "%s: %.*s at line %.*s%s", path,
			    (int)(in - msg), msg, (int)n, line, end + 1);
			return;
		}
	}
	snprintf(out, outlen, "%s: %s", path, msg);
}

/*
 * Parse the file open at `fd` (conf_open()), named `path` in messages.
 * iniparser takes only a name: the descriptor's own, in /proc, which is
 * that file whatever its name is now.
 */
static dictionary *
ini_load(int fd, const char *path, char *err, size_t errlen)
{
	dictionary	*d;
	char		 name[64];
	size_t		 n;

	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	memset(&ini_err, 0, sizeof(ini_err));
	iniparser_set_error_callback(ini_capture);
	d = iniparser_load(name);
	iniparser_set_error_callback(NULL);

	if (ini_err.count > 0) {
		ini_err_format(name, path, ini_err.msg, err, errlen);
		n = strlen(err);
		if (ini_err.count > 1 && n < errlen)
			snprintf(err + n, errlen - n, " (and %d more errors)",
			    ini_err.count - 1);
		if (d != NULL)
			iniparser_freedict(d);
		return NULL;
	}
	if (d == NULL)
		snprintf(err, errlen, "%s: cannot load", path);
	return d;
}

/*
 * The file decides what root runs (pluginsuser, allowrootplugins, the
 * paths the master writes): like the files it names (conf_files.c), it
 * must be root's (or ours) and writable by nobody else, in directories
 * of the same kind from / down.  Opened once, here, and read through
 * that descriptor: a name looked at again could be another file by then.
 * The descriptor, or -1 with err.
 */
static int
conf_open(const char *path, char *err, size_t errlen)
{
	char	 why[1024];
	int	 fd;

	if ((fd = conf_files_open(path, 1, why, sizeof(why))) != -1)
		return fd;
	/* the system's words for what the system said; ours otherwise */
	if (strcmp(why, strerror(ENOENT)) == 0 ||
	    strcmp(why, strerror(EISDIR)) == 0 ||
	    strcmp(why, strerror(EACCES)) == 0)
		snprintf(err, errlen, "cannot read %s: %s", path, why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

/* Value parsers: 0, or -1 with the reason in why. */

static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *why,
    size_t whylen)
{
	const char	*p = s;
	char		*end;
	long long	 v;

	if (*p == '-')
		p++;
	/* strtoll alone would take blanks, a '+' and an empty string */
	if (!isdigit((unsigned char)*p)) {
		snprintf(why, whylen, "not a decimal integer");
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		snprintf(why, whylen, "not a decimal integer");
		return -1;
	}
	if (errno == ERANGE) {
		snprintf(why, whylen, "integer overflow: must be %" PRId64
		    "-%" PRId64, min, max);
		return -1;
	}
	if (v < min || v > max) {
		snprintf(why, whylen, "must be %" PRId64 "-%" PRId64, min,
		    max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, int *out, char *why, size_t whylen)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	snprintf(why, whylen, "must be yes, no, true, false, 1 or 0");
	return -1;
}

/* Parse `raw` into the field of `c`, by type, then check it. */
static int
set_field(const struct conf_field *f, const char *raw, struct agent_conf *c,
    char *why, size_t whylen)
{
	struct strlist	 list, *lp;
	struct conf_file *cf;
	void		*p = (char *)c + f->offset;

	switch (f->type) {
	case CONF_T_STR:
		if (strlen(raw) >= CONF_STR_MAX) {
			snprintf(why, whylen, "longer than %d bytes",
			    CONF_STR_MAX - 1);
			return -1;
		}
		strlcpy(p, raw, CONF_STR_MAX);
		break;
	case CONF_T_LIST:
		if (conf_parse_list(raw, &list, why, whylen) == -1)
			return -1;
		lp = p;
		strlist_free(lp);
		*lp = list;
		break;
	case CONF_T_INT:
		if (parse_int(raw, f->min, f->max, p, why, whylen) == -1)
			return -1;
		break;
	case CONF_T_BOOL:
		if (parse_bool(raw, p, why, whylen) == -1)
			return -1;
		break;
	case CONF_T_LEVEL:
		if (log_level_parse(raw, p) == -1) {
			snprintf(why, whylen, "must be one of DEBUG, INFO, "
			    "WARN, ERROR");
			return -1;
		}
		break;
	case CONF_T_FILE:
		/* the text is read by conf_check_env(), not by every load */
		cf = p;
		if (strlen(raw) >= CONF_STR_MAX) {
			snprintf(why, whylen, "longer than %d bytes",
			    CONF_STR_MAX - 1);
			return -1;
		}
		strlcpy(cf->path, raw, CONF_STR_MAX);
		free(cf->text);
		cf->text = NULL;
		break;
	}
	return conf_check_run(f, c, why, whylen);
}

static const struct conf_field *
field_find(const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; i < conf_field_count; i++)
		if (strcmp(conf_fields[i].section, section) == 0 &&
		    strcmp(conf_fields[i].key, key) == 0)
			return &conf_fields[i];
	return NULL;
}

static int
section_known(const char *section)
{
	size_t	 i;

	for (i = 0; i < conf_field_count; i++)
		if (strcmp(conf_fields[i].section, section) == 0)
			return 1;
	return 0;
}

static void
warnf(conf_warn_fn warn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The git URL template names a secret that git would show: a password
 * (user:secret@) in a URL of another scheme than http or https.  Those
 * two's user and password gitpull takes out of the URL and hands git
 * through its environment (gitpull_url_creds()); ssh's user name (git@)
 * is no secret.
 */
static int
git_credentials(const char *url)
{
	const char	*host, *at, *end;

	if ((host = strstr(url, "://")) == NULL ||
	    strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0)
		return 0;
	host += 3;
	end = host + strcspn(host, "/");
	if ((at = memchr(host, '@', (size_t)(end - host))) == NULL)
		return 0;
	return memchr(host, ':', (size_t)(at - host)) != NULL;
}

static void
warnf(conf_warn_fn warn, void *arg, const char *fmt, ...)
{
	char	 msg[CONF_STR_MAX + 256];
	va_list	 ap;

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(msg, arg);
}

/*
 * Walk the dictionary itself rather than its per-section accessors: they
 * cannot reach keys written before the first section header, which
 * deserve a warning like any other stray key.  Entries are in file order.
 */
static int
apply(dictionary *d, const char *path, struct agent_conf *c,
    conf_warn_fn warn, void *warn_arg, char *err, size_t errlen)
{
	const struct conf_field	*f;
	const char		*name, *colon, *val, *key;
	/* room for a list element and the reason it is wrong */
	char			 section[CONF_STR_MAX];
	char			 why[CONF_STR_MAX + 2 * WHY_MAX];
	ssize_t			 i;
	size_t			 len;

	for (i = 0; i < d->size; i++) {
		if ((name = d->key[i]) == NULL)
			continue;
		val = d->val[i];
		if (val == NULL) {
			/* a section header; its keys warn on their own */
			if (!section_known(name) &&
			    iniparser_getsecnkeys(d, name) == 0)
				warnf(warn, warn_arg, "%s: unknown section "
				    "[%s] ignored", path, name);
			continue;
		}
		if ((colon = strchr(name, ':')) == NULL)
			continue;	/* iniparser always writes one */
		len = (size_t)(colon - name);
		if (len >= sizeof(section))
			len = sizeof(section) - 1;
		memcpy(section, name, len);
		section[len] = '\0';
		key = colon + 1;
		if (section[0] == '\0') {
			warnf(warn, warn_arg, "%s: key %s outside any section "
			    "ignored", path, key);
			continue;
		}
		if ((f = field_find(section, key)) == NULL) {
			warnf(warn, warn_arg, "%s: unknown key [%s] %s ignored",
			    path, section, key);
			continue;
		}
		if (set_field(f, val, c, why, sizeof(why)) == -1) {
			if (f->type == CONF_T_LIST)
				snprintf(err, errlen, "%s: [%s] %s = %s: %s",
				    path, f->section, f->key, val, why);
			else
				snprintf(err, errlen, "%s: [%s] %s = \"%s\": "
				    "%s", path, f->section, f->key, val, why);
			return -1;
		}
	}
	return 0;
}

/* `path` is `dir` or below it (both without trailing slashes). */
static int
path_within(const char *path, const char *dir)
{
	size_t	 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* Rules that tie several keys together. */
static int
check_whole(const char *path, const struct agent_conf *c, char *err,
    size_t errlen)
{
	size_t	 i, tcp;
	int	 url;

	if (c->listen[0] == '\0' && c->socket[0] == '\0') {
		snprintf(err, errlen, "%s: no listener: [agent] listen and "
		    "socket are both empty", path);
		return -1;
	}
	/* `stop -m clean` empties pluginsdir; the chroot must stay empty */
	if (c->spool[0] != '\0' && (path_within(c->spool, c->pluginsdir) ||
	    path_within(c->pluginsdir, c->spool) ||
	    path_within(c->spool, c->chroot) ||
	    path_within(c->chroot, c->spool))) {
		snprintf(err, errlen, "%s: [output] spool = \"%s\": must be "
		    "apart from [agent] pluginsdir and chroot", path, c->spool);
		return -1;
	}
	/* below these no plugin, not even a shell, would start */
	if (c->pluginmaxprocs > 0 && c->pluginmaxprocs < CONF_PLUGIN_PROCS_MIN) {
		snprintf(err, errlen, "%s: [agent] pluginmaxprocs = %lld: "
		    "counts every process and thread of pluginsuser, the "
		    "scheduler's included; 0 (the system's limit) or at least "
		    "%d", path, (long long)c->pluginmaxprocs, CONF_PLUGIN_PROCS_MIN);
		return -1;
	}
	if (c->pluginmaxmemory > 0 && c->pluginmaxmemory < CONF_PLUGIN_MEMORY_MIN) {
		snprintf(err, errlen, "%s: [agent] pluginmaxmemory = %lld: "
		    "0 (no limit) or at least %d bytes (16 MiB)", path,
		    (long long)c->pluginmaxmemory, CONF_PLUGIN_MEMORY_MIN);
		return -1;
	}
	/* every point would be refused by the sink after its 200 */
	if (strcmp(c->output_name, "influxdb") == 0 &&
	    strcmp(c->format, "line") != 0) {
		snprintf(err, errlen, "%s: [output] format = \"%s\": the "
		    "influxdb output writes line protocol only (format = "
		    "\"line\", its default)", path, c->format);
		return -1;
	}
	/* which address form fits depends on the output */
	for (i = 0, tcp = 0; i < c->servers.n; i++)
		if (strncasecmp(c->servers.v[i], "tcp://", 6) == 0)
			tcp++;
	if (tcp > 0 && tcp != c->servers.n) {
		snprintf(err, errlen, "%s: [output] servers: all tcp://host:port "
		    "(NSQ TCP protocol) or all host:port (nsqd HTTP API), not "
		    "a mix", path);
		return -1;
	}
	for (i = 0; i < c->servers.n; i++) {
		url = strncasecmp(c->servers.v[i], "http", 4) == 0;
		if (strcmp(c->output_name, "influxdb") == 0 && !url) {
			snprintf(err, errlen, "%s: [output] servers = \"%s\": "
			    "the influxdb output takes http:// URLs", path,
			    c->servers.v[i]);
			return -1;
		}
		if (strcmp(c->output_name, "nsq") == 0 && url) {
			snprintf(err, errlen, "%s: [output] servers = \"%s\": "
			    "the nsq output takes host:port (nsqd HTTP) or "
			    "tcp://host:port", path, c->servers.v[i]);
			return -1;
		}
	}
	return 0;
}

int
conf_load(const char *path, struct agent_conf *out, conf_warn_fn warn,
    void *warn_arg, char *err, size_t errlen)
{
	struct agent_conf	 c;
	dictionary		*d;
	char			 real[PATH_MAX];
	struct stat		 sb;
	int			 rc, fd;

	if (conf_defaults(&c) == -1) {
		snprintf(err, errlen, "%s: defaults: %s", path,
		    strerror(errno));
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if ((fd = conf_open(path, err, errlen)) == -1)
		goto fail;
	if (fstat(fd, &sb) == -1)
		memset(&sb, 0, sizeof(sb));
	d = ini_load(fd, path, err, errlen);
	(void)close(fd);
	if (d == NULL)
		goto fail;
	/*
	 * A file with no section would be every default: an nsq output
	 * without servers and the default paths, in place of what the
	 * operator wrote.  It is what a reload sees of a file that an
	 * editor or `cat >` has truncated and not yet written.
	 */
	if (iniparser_getnsec(d) < 1) {
		snprintf(err, errlen, "%s: no [section] in it (%s): refused, "
		    "as it would be every default; a file still being "
		    "written? write it to another name, then rename it",
		    path, sb.st_size == 0 ? "empty" : "only comments and "
		    "blank lines");
		iniparser_freedict(d);
		goto fail;
	}
	rc = apply(d, path, &c, warn, warn_arg, err, errlen);
	/*
	 * The token lets a client on any non-loopback address change
	 * plugins and read their parameters: in a file every local user and
	 * every plugin (pluginsuser) can read, it keeps none of them out.
	 */
	if (rc == 0 && c.token[0] != '\0' && ((sb.st_mode & S_IROTH) ||
	    ((sb.st_mode & S_IRGRP) && sb.st_gid != 0)))
		warnf(warn, warn_arg, "%s: mode %04o%s: others can read it, "
		    "and with it [agent] token, which gives whoever has it "
		    "the changing API calls (plugins and local users "
		    "included): chmod 0600 it", path,
		    (unsigned)(sb.st_mode & 07777),
		    (sb.st_mode & S_IROTH) ? "" : " (group not root)");
	if (rc == 0 && git_credentials(c.git))
		warnf(warn, warn_arg, "%s: [agent] git: credentials in the "
		    "URL, which git keeps in every checkout's .git/config, "
		    "readable by every plugin and local user: only those of "
		    "an http or https URL are kept out of it; use a key",
		    path);
	/* format's default depends on the output: InfluxDB takes only line */
	if (rc == 0 && strcmp(c.output_name, "influxdb") == 0 &&
	    !iniparser_find_entry(d, "output:format"))
		strlcpy(c.format, "line", sizeof(c.format));
	iniparser_freedict(d);
	if (rc == -1 || check_whole(path, &c, err, errlen) == -1)
		goto fail;
	if (realpath(path, real) != NULL && strlen(real) < sizeof(c.source))
		strlcpy(c.source, real, sizeof(c.source));
	*out = c;
	return 0;
fail:
	conf_free(&c);
	memset(out, 0, sizeof(*out));
	return -1;
}

/*
 * errno after a failed getpwnam: 0 or one of these means the user is not
 * there; anything else is a failed lookup (NSS down, no memory).
 */
static int
pw_missing(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF ||
	    e == EPERM;
}

static int
check_user(const char *key, const char *name, int as_root, uid_t *uid,
    conf_warn_fn warn, void *warn_arg, char *err, size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(name)) != NULL) {
		*uid = pw->pw_uid;
		return 1;
	}
	if (!as_root) {
		warnf(warn, warn_arg, "%s = \"%s\": %s (ignored: not "
		    "running as root)", key, name, pw_missing(errno) ?
		    "no such user" : strerror(errno));
		return 0;
	}
	if (pw_missing(errno)) {
		snprintf(err, errlen, "%s = \"%s\": no such user", key,
		    name);
		return -1;
	}
	snprintf(err, errlen, "%s = \"%s\": cannot look up: %s",
	    key, name, strerror(errno));
	return -2;
}

/*
 * [agent] apiusers: each a user, none the agent's own (a plugin or a
 * worker would be trusted to change plugins).  Their uids go to the front
 * (spawn_send_conf), which cannot look names up in its chroot.
 */
static int
check_apiusers(struct agent_conf *c, int as_root, uid_t uid, uid_t puid,
    conf_warn_fn warn, void *warn_arg, char *err, size_t errlen)
{
	const char	*name;
	uid_t		 u;
	size_t		 i;
	int		 rc;

	c->napiuids = 0;
	if (c->apiusers.n > CONF_APIUSERS_MAX) {
		snprintf(err, errlen, "[agent] apiusers: %zu users, at most %d",
		    c->apiusers.n, CONF_APIUSERS_MAX);
		return -1;
	}
	for (i = 0; i < c->apiusers.n; i++) {
		name = c->apiusers.v[i];
		if ((rc = check_user("[agent] apiusers", name, as_root, &u,
		    warn, warn_arg, err, errlen)) < 0)
			return rc;
		if (rc == 0)
			continue;
		if (as_root && u != 0 && (u == uid || u == puid)) {
			snprintf(err, errlen, "[agent] apiusers = \"%s\": is "
			    "[agent] %s, whose processes (%s) may not change "
			    "plugins", name, u == puid ? "pluginsuser" : "user",
			    u == puid ? "the plugins" : "the workers");
			return -1;
		}
		c->apiuids[c->napiuids++] = u;
	}
	return 0;
}

/*
 * [output] serveruser: the uid a loopback output must be served by
 * (sender_peer.h), a number as it is or a name looked up; the sender,
 * sandboxed, cannot look it up itself.
 */
static int
check_serveruser(struct agent_conf *c, int as_root, uid_t uid, uid_t puid,
    conf_warn_fn warn, void *warn_arg, char *err, size_t errlen)
{
	const char	*s = c->serveruser;
	uid_t		 u;
	int		 rc;

	c->serveruid = (uid_t)-1;
	if (*s == '\0')
		return 0;
	/* a uid as it is (conf_check.c checked its range) */
	if (util_all_digits(s, strlen(s)) && util_uid_of(s, &u) == 0)
		rc = 1;
	else if ((rc = check_user("[output] serveruser", s, as_root, &u,
	    warn, warn_arg, err, errlen)) < 0)
		return rc;
	if (rc == 0)
		return 0;
	if (as_root && u != 0 && (u == uid || u == puid)) {
		snprintf(err, errlen, "[output] serveruser = \"%s\": is [agent] "
		    "%s, whose processes are never the output", s,
		    u == puid ? "pluginsuser" : "user");
		return -1;
	}
	c->serveruid = u;
	return 0;
}

int
conf_check_env(struct agent_conf *c, int as_root, conf_warn_fn warn,
    void *warn_arg, char *err, size_t errlen)
{
	uid_t	 uid = (uid_t)-1, puid = (uid_t)-1;
	int	 rc;

	if ((rc = check_user("[agent] user", c->user, as_root, &uid, warn,
	    warn_arg, err, errlen)) < 0)
		return rc;
	if (as_root && uid == 0)
		warnf(warn, warn_arg, "[agent] user = \"%s\": the workers keep "
		    "root privileges", c->user);
	if ((rc = check_user("[agent] pluginsuser", c->pluginsuser, as_root,
	    &puid, warn, warn_arg, err, errlen)) < 0)
		return rc;
	c->pluginsuid = rc == 1 ? puid : (uid_t)-1;
	if (rc == 1 && puid == 0) {
		if (!as_root)
			warnf(warn, warn_arg, "[agent] pluginsuser = \"%s\": "
			    "is root (ignored: not running as root)",
			    c->pluginsuser);
		else if (!c->allowrootplugins) {
			snprintf(err, errlen, "[agent] pluginsuser = \"%s\": "
			    "plugins would run as root; set allowrootplugins "
			    "= yes to allow it", c->pluginsuser);
			return -1;
		} else
			warnf(warn, warn_arg, "[agent] pluginsuser = \"%s\": "
			    "plugins run as root (allowrootplugins = yes)",
			    c->pluginsuser);
	}
	/* the kernel lets a process signal any other of its uid */
	if (rc == 1 && as_root && puid == uid && puid != 0)
		warnf(warn, warn_arg, "[agent] user and pluginsuser are both "
		    "\"%s\": a plugin can rewrite every plugin's checkout, "
		    "disable or enable any plugin, remove the spool's points "
		    "(answered 200, lost at the sender's next restart), and "
		    "signal, renice or limit the front, fetcher, gitpull and "
		    "sender; give the plugins an account of their own",
		    c->pluginsuser);
	if ((rc = check_apiusers(c, as_root, uid, puid, warn, warn_arg, err,
	    errlen)) < 0)
		return rc;
	if ((rc = check_serveruser(c, as_root, uid, puid, warn, warn_arg,
	    err, errlen)) < 0)
		return rc;
	if (!as_root)
		warnf(warn, warn_arg, "not started as root: the workers and "
		    "the plugins all run as the user who started the agent, "
		    "so a plugin can signal any worker but the scheduler");
	if (c->gitsignedtags && c->gitsigners.path[0] == '\0')
		warnf(warn, warn_arg, "[agent] gitsignedtags = yes has no "
		    "effect while gitsigners is empty: plugins are not "
		    "verified");
	return conf_files_read(c, err, errlen);
}
