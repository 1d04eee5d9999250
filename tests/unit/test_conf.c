/*
 * The config model and loader: the seed file, defaults, every validation
 * error, unknown keys, the wire encoding per role, printing and reloading,
 * and the checks against the running system.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <iniparser/iniparser.h>

#include "as_nobody.h"
#include "common/codec.h"
#include "master/conf_load.h"

#define SEED	"etc/agent.conf"

static char	 tmpdir[64];
static char	 path[128];
static char	 err[2048];

struct warns {
	char	 text[8192];
	int	 n;
};
static struct warns	 w;
static int		 getpwnam_fails;	/* its errno, while set */

/*
 * getpwnam() as NSS answers when its server is down (LDAP, sssd): this
 * definition in the test binary is the one conf_load.c links against.
 */
struct passwd *
getpwnam(const char *name)
{
	struct passwd	*(*real)(const char *);

	if (getpwnam_fails) {
		errno = getpwnam_fails;
		return NULL;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getpwnam");
	cr_assert_not_null(real);
	return real(name);
}

static void
collect_warn(const char *msg, void *arg)
{
	struct warns	*ws = arg;

	ws->n++;
	strlcat(ws->text, msg, sizeof(ws->text));
	strlcat(ws->text, "\n", sizeof(ws->text));
}

static void
setup(void)
{
	strlcpy(tmpdir, "/tmp/test_conf.XXXXXX", sizeof(tmpdir));
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/agent.conf", tmpdir);
	memset(&w, 0, sizeof(w));
	err[0] = '\0';
}

static int
remove_one(const char *name, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		(void)rmdir(name);
	else
		(void)unlink(name);
	return 0;
}

/* The whole tree: tests make directories in it (theirs/etc). */
static void
teardown(void)
{
	(void)nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(conf, .init = setup, .fini = teardown);

/* A skipped test does not reach .fini: clean up first. */
#define skip_test(why)	do {						\
	teardown();							\
	cr_skip_test(why);						\
} while (0)

static void
write_file(const char *p, const char *text)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(p, "w"), "%s: %s", p, strerror(errno));
	cr_assert_eq(fputs(text, fp) < 0, 0);
	cr_assert_eq(fclose(fp), 0);
}

static int
load_text(const char *text, struct agent_conf *c)
{
	write_file(path, text);
	err[0] = '\0';
	return conf_load(path, c, collect_warn, &w, err, sizeof(err));
}

static const struct conf_field *
field(const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; i < conf_field_count; i++)
		if (strcmp(conf_fields[i].section, section) == 0 &&
		    strcmp(conf_fields[i].key, key) == 0)
			return &conf_fields[i];
	cr_assert_fail("no field [%s] %s", section, key);
	return NULL;
}

static size_t
field_index(const char *section, const char *key)
{
	return (size_t)(field(section, key) - conf_fields);
}

static int
field_equal(const struct conf_field *f, const struct agent_conf *a,
    const struct agent_conf *b)
{
	const void		*pa = (const char *)a + f->offset;
	const void		*pb = (const char *)b + f->offset;
	const struct strlist	*la = pa, *lb = pb;
	const struct conf_file	*fa = pa, *fb = pb;
	size_t			 i;

	switch (f->type) {
	case CONF_T_STR:
		return strcmp(pa, pb) == 0;
	case CONF_T_LIST:
		if (la->n != lb->n)
			return 0;
		for (i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return 0;
		return 1;
	case CONF_T_INT:
		return *(const int64_t *)pa == *(const int64_t *)pb;
	case CONF_T_BOOL:
		return *(const int *)pa == *(const int *)pb;
	case CONF_T_LEVEL:
		return *(const enum log_level *)pa ==
		    *(const enum log_level *)pb;
	case CONF_T_FILE:
		if (strcmp(fa->path, fb->path) != 0 ||
		    (fa->text == NULL) != (fb->text == NULL))
			return 0;
		return fa->text == NULL || strcmp(fa->text, fb->text) == 0;
	}
	return 0;
}

static void
assert_conf_equal(const struct agent_conf *a, const struct agent_conf *b)
{
	size_t	 i;

	for (i = 0; i < conf_field_count; i++)
		cr_expect(field_equal(&conf_fields[i], a, b), "[%s] %s differs",
		    conf_fields[i].section, conf_fields[i].key);
}

/* Every key set to something other than its default. */
static const char distinct_text[] =
    "[agent]\n"
    "listen = \"[::1]:8080\"\n"
    "ifaceprefix = [ \"en\", \"wl\" ]\n"
    "registryaddr = \"http://registry:9999\"\n"
    "pluginsdir = \"/srv/plugins\"\n"
    "pluginsuser = \"plug\"\n"
    "git = \"https://git.example/%s.git\"\n"
    "pidfile = \"/run/a.pid\"\n"
    "user = \"agentd\"\n"
    "chroot = \"/var/empty\"\n"
    "socket = \"/run/a.sock\"\n"
    "allowrootplugins = yes\n"
    "isolateplugins = no\n"
    "namespaces = [ \"pool.loda\", \"web.product.loda\" ]\n"
    "registryinterval = 60\n"
    "registrytimeout = 3\n"
    "gitbranch = \"stable/v2\"\n"
    "gittimeout = 30\n"
    "gitmaxsize = 1048576\n"
    "workertimeout = 30\n"
    "gitsigners = \"/etc/agent/allowed_signers\"\n"
    "gitsignedtags = yes\n"
    "pluginoutputmax = 65536\n"
    "pluginflushms = 250\n"
    "pluginmaxprocs = 300\n"
    "pluginmaxmemory = 268435456\n"
    "pluginnice = 5\n"
    "token = \"0123456789abcdef0123\"\n"
    "hostnames = [ \"agent.example.org\", \"web-07\" ]\n"
    "apiusers = [ \"alice\", \"deploy\" ]\n"
    "ntpserver = \"ntp.example:123\"\n"
    "coredumpdir = \"/var/crash\"\n"
    "collect = no\n"
    "selfmetrics = no\n"
    "selfmetricsinterval = 15\n"
    "[output]\n"
    "name = \"file\"\n"
    "servers = [ \"tcp://a:1\", \"tcp://b:4150\" ]\n"
    "buffersize = 77\n"
    "bufferbytes = 1048576\n"
    "topic = \"metrics.%s\"\n"
    "format = \"line\"\n"
    "path = \"/srv/points.out\"\n"
    "batchpoints = 50\n"
    "messagebytes = 65536\n"
    "requestbytes = 262144\n"
    "requestmessages = 7\n"
    "flushms = 250\n"
    "timeout = 30\n"
    "spool = \"/srv/spool\"\n"
    "spoolsync = 0\n"
    "serveruser = \"nsqd\"\n"
    "spoolbytes = 65536\n"
    "[log]\n"
    "logdir = \"/srv/log\"\n"
    "loglevel = \"ERROR\"\n"
    "logrotatenum = 9\n"
    "logrotatesize = 5000\n";

static void
load_distinct(struct agent_conf *c)
{
	struct agent_conf	 d;
	size_t			 i;

	cr_assert_eq(load_text(distinct_text, c), 0, "%s", err);
	cr_assert_eq(conf_defaults(&d), 0);
	for (i = 0; i < conf_field_count; i++)
		cr_assert(!field_equal(&conf_fields[i], c, &d),
		    "[%s] %s equals its default", conf_fields[i].section,
		    conf_fields[i].key);
	conf_free(&d);
}

/* ---- the table ---- */

Test(conf, table_is_sane)
{
	const struct conf_field	*f;
	uint32_t		 workers;
	size_t			 i, j;

	workers = ((1U << ROLE_MAX) - 1) & ~(1U << ROLE_MASTER);
	cr_assert_gt(conf_field_count, 0);
	for (i = 0; i < conf_field_count; i++) {
		f = &conf_fields[i];
		cr_expect(strcmp(f->section, "agent") == 0 ||
		    strcmp(f->section, "output") == 0 ||
		    strcmp(f->section, "log") == 0, "%s", f->section);
		cr_expect_eq(f->roles & ~workers, 0, "%s", f->key);
		cr_expect_not_null(f->doc);
		cr_expect_gt(strlen(f->doc), 0, "%s", f->key);
		for (j = 0; j < i; j++)
			cr_expect(strcmp(f->section, conf_fields[j].section) ||
			    strcmp(f->key, conf_fields[j].key), "dup %s",
			    f->key);
		if (f->type == CONF_T_INT)
			cr_expect_lt(f->min, f->max, "%s", f->key);
	}
	cr_expect_eq(field("agent", "pidfile")->roles, 0);
	cr_expect_eq(field("log", "logdir")->roles, 0);
	cr_expect_eq(field("log", "loglevel")->roles, workers);
	cr_expect_eq(field("agent", "listen")->roles, 1U << ROLE_FRONT);
	cr_expect_eq(field("output", "servers")->roles, 1U << ROLE_SENDER);
}

/* ---- defaults ---- */

Test(conf, defaults)
{
	struct agent_conf	 c;

	cr_assert_eq(conf_defaults(&c), 0);
	cr_expect_str_eq(c.listen, "127.0.0.1:1232");
	cr_expect_eq(c.ifaceprefix.n, 0);
	cr_expect_str_eq(c.registryaddr, "");
	cr_expect_str_eq(c.pluginsdir, "/usr/local/agent-plugins");
	cr_expect_str_eq(c.pluginsuser, "nobody");
	cr_expect_str_eq(c.git, "");
	cr_expect_str_eq(c.pidfile, "/run/agent/agent.pid");
	cr_expect_str_eq(c.user, "nobody");
	cr_expect_str_eq(c.chroot, "/var/empty/agent");
	cr_expect_str_eq(c.socket, "/run/agent/agent.sock");
	cr_expect_eq(c.allowrootplugins, 0);
	cr_expect_eq(c.isolateplugins, 1);
	cr_expect_eq(c.collect, 1);
	cr_expect_str_eq(c.output_name, "nsq");
	cr_expect_eq(c.servers.n, 0);
	cr_expect_eq(c.buffersize, 65536);
	cr_expect_eq(c.messagebytes, 1048576);
	/* nsqd's -max-body-size default */
	cr_expect_eq(c.requestbytes, 5242880);
	cr_expect_eq(c.requestmessages, 100);
	cr_expect_str_eq(c.logdir, "/var/log/agent");
	cr_expect_eq(c.loglevel, LOG_LVL_INFO);
	cr_expect_eq(c.logrotatenum, 5);
	cr_expect_eq(c.logrotatesize, 104857600);
	conf_free(&c);
}

Test(conf, absent_keys_keep_defaults)
{
	struct agent_conf	 c, d;

	cr_assert_eq(load_text("[agent]\n", &c), 0, "%s", err);
	cr_assert_eq(conf_defaults(&d), 0);
	assert_conf_equal(&c, &d);
	cr_expect_eq(w.n, 0, "%s", w.text);
	conf_free(&c);

	cr_assert_eq(load_text("[agent]\n[output]\n[log]\nlogrotatenum = 7\n",
	    &c), 0, "%s", err);
	cr_expect_eq(c.logrotatenum, 7);
	c.logrotatenum = d.logrotatenum;
	assert_conf_equal(&c, &d);
	conf_free(&c);
	conf_free(&d);
}

/* ---- the seed file ---- */

Test(conf, seed_file_loads)
{
	struct agent_conf	 c;

	cr_assert_eq(conf_load(SEED, &c, collect_warn, &w, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(w.n, 0, "warnings: %s", w.text);
	cr_expect_str_eq(c.listen, "0.0.0.0:1232");
	cr_assert_eq(c.ifaceprefix.n, 1);
	cr_expect_str_eq(c.ifaceprefix.v[0], "eth");
	cr_expect_str_eq(c.registryaddr, "https://registry.test.com");
	cr_expect_str_eq(c.pluginsdir, "/usr/local/agent-plugins");
	cr_expect_str_eq(c.pluginsuser, "user");
	cr_expect_str_eq(c.git, "git://git@git.test.com/orgname/%s.git");
	cr_expect_str_eq(c.output_name, "nsq");
	cr_assert_eq(c.servers.n, 1);
	cr_expect_str_eq(c.servers.v[0], "0.0.0.0:7777");
	cr_expect_eq(c.buffersize, 1000);
	cr_expect_str_eq(c.logdir, "/tmp/agent/log");
	cr_expect_eq(c.loglevel, LOG_LVL_DEBUG);
	cr_expect_eq(c.logrotatenum, 5);
	cr_expect_eq(c.logrotatesize, 1887436800LL);
	/* keys the seed does not have */
	cr_expect_str_eq(c.pidfile, "/run/agent/agent.pid");
	cr_expect_str_eq(c.user, "nobody");
	cr_expect_str_eq(c.chroot, "/var/empty/agent");
	cr_expect_str_eq(c.socket, "/run/agent/agent.sock");
	cr_expect_eq(c.allowrootplugins, 0);
	conf_free(&c);
}

Test(conf, seed_file_is_verbatim)
{
	static const char want[] =
	    "[agent]\n"
	    "\t# HTTP API listen\n"
	    "\tlisten = \"0.0.0.0:1232\" \n"
	    "\t# which the network interface will be monitored\n"
	    "\tifaceprefix = [ \"eth\" ]\n"
	    "\t# registry server address\n"
	    "\tregistryaddr = \"https://registry.test.com\"\n"
	    "\t# which directory to store plugins \n"
	    "\tpluginsdir = \"/usr/local/agent-plugins\"\n"
	    "\t# run plugins user, must exist on your system\n"
	    "\tpluginsuser = \"user\"\n"
	    "\t# your plugins git organizantion\n"
	    "\tgit = \"git://git@git.test.com/orgname/%s.git\"\n"
	    "\n"
	    "[output]\n"
	    "\t# message queue, now only support NSQ\n"
	    "\tname = \"nsq\"\n"
	    "\t# MQ addresses\n"
	    "\tservers = [ \"0.0.0.0:7777\" ]\n"
	    "\t# how many points cached in local memory\n"
	    "\tbuffersize = 1000\n"
	    "\n"
	    "[log]\n"
	    "\t# log directory\n"
	    "\tlogdir = \"/tmp/agent/log\"\n"
	    "\t# log level\n"
	    "\tloglevel = \"DEBUG\"\n"
	    "\t# how many log files retention\n"
	    "\tlogrotatenum = 5\n"
	    "\t# log file size (unit:byte)\n"
	    "\tlogrotatesize = 1887436800\n";
	char	 buf[4096];
	FILE	*fp;
	size_t	 n;

	cr_assert_not_null(fp = fopen(SEED, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	cr_assert_eq(ferror(fp), 0);
	fclose(fp);
	buf[n] = '\0';
	cr_expect_str_eq(buf, want);
}

/* ---- syntax accepted ---- */
Test(conf, seed_file_with_crlf_loads)
{
	struct agent_conf	 c, seed;
	char			 buf[4096], text[8192];
	FILE			*fp;
	size_t			 n, i, j;

	cr_assert_not_null(fp = fopen(SEED, "r"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	for (i = j = 0; i < n && j + 2 < sizeof(text); i++) {
		if (buf[i] == '\n')
			text[j++] = '\r';
		text[j++] = buf[i];
	}
	text[j] = '\0';
	cr_assert_eq(load_text(text, &c), 0, "%s", err);
	cr_assert_eq(conf_load(SEED, &seed, NULL, NULL, err, sizeof(err)), 0);
	assert_conf_equal(&c, &seed);
	conf_free(&c);
	conf_free(&seed);
}


Test(conf, tabs_comments_and_quoting)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text(
	    "# leading comment\n"
	    "; other comment style\n"
	    "\n"
	    "[AGENT]\n"
	    "\t\t# indented comment\n"
	    "\tLISTEN\t=\t10.1.2.3:80   # comment after a value\n"
	    "  ifaceprefix = eth\n"
	    "\tregistryaddr = 'http://r.example'\n"
	    "\tgit = \"git://g/%s\" ; trailing comment\n"
	    "\tsocket = \"\"\n"
	    "[output]\n"
	    "\tservers = [\"a:1\",\"[::1]:4150\"] # c\n"
	    "\tbuffersize = \"42\"\n"
	    "[log]\n"
	    "\tloglevel = warning\n", &c), 0, "%s", err);
	cr_expect_eq(w.n, 0, "%s", w.text);
	cr_expect_str_eq(c.listen, "10.1.2.3:80");
	cr_assert_eq(c.ifaceprefix.n, 1);
	cr_expect_str_eq(c.ifaceprefix.v[0], "eth");
	cr_expect_str_eq(c.registryaddr, "http://r.example");
	cr_expect_str_eq(c.git, "git://g/%s");
	cr_expect_str_eq(c.socket, "");
	cr_assert_eq(c.servers.n, 2);
	cr_expect_str_eq(c.servers.v[1], "[::1]:4150");
	cr_expect_eq(c.buffersize, 42);
	cr_expect_eq(c.loglevel, LOG_LVL_WARN);
	conf_free(&c);
}

Test(conf, good_values)
{
	static const struct {
		const char	*text;
	} cases[] = {
		{ "[agent]\nlisten = \"[::]:1\"\n" },
		{ "[agent]\nlisten = \"localhost:65535\"\n" },
		{ "[agent]\nlisten = \"\"\nsocket = \"/run/a.sock\"\n" },
		{ "[agent]\nlisten = \"x:1\"\nsocket = \"\"\n" },
		{ "[agent]\nifaceprefix = []\n" },
		{ "[agent]\nifaceprefix = \"\"\n" },
		{ "[agent]\nregistryaddr = \"HTTPS://r\"\n" },
		{ "[agent]\nregistryaddr = \"\"\n" },
		{ "[agent]\ngit = \"\"\n" },
		{ "[agent]\npluginsuser = \"www-data\"\n" },
		{ "[agent]\nuser = \"_agent\"\n" },
		{ "[agent]\nallowrootplugins = TRUE\n" },
		{ "[agent]\nallowrootplugins = 0\n" },
		{ "[output]\nservers = []\n" },
		{ "[output]\nbuffersize = 1\n" },
		{ "[output]\nbuffersize = 10000000\n" },
		{ "[log]\nloglevel = debug\n" },
		{ "[log]\nloglevel = Error\n" },
		{ "[log]\nlogrotatenum = 1000\n" },
		{ "[log]\nlogrotatesize = 4096\n" },
		{ "[log]\nlogrotatesize = 1099511627776\n" },
	};
	struct agent_conf	 c;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load_text(cases[i].text, &c) == 0)
			conf_free(&c);
		else
			cr_expect_fail("%s: %s", cases[i].text, err);
	}
}

Test(conf, socket_path_limit)
{
	struct agent_conf	 c;
	char			 text[256], sock[128];

	/* 107 bytes is the longest path sun_path holds with its NUL */
	memset(sock, 'a', sizeof(sock));
	sock[0] = '/';
	sock[107] = '\0';
	snprintf(text, sizeof(text), "[agent]\nsocket = \"%s\"\n", sock);
	cr_assert_eq(load_text(text, &c), 0, "%s", err);
	cr_expect_eq(strlen(c.socket), 107);
	conf_free(&c);

	sock[107] = 'a';
	sock[108] = '\0';
	snprintf(text, sizeof(text), "[agent]\nsocket = \"%s\"\n", sock);
	cr_assert_eq(load_text(text, &c), -1);
	cr_expect(strstr(err, "longer than a unix socket path (107 bytes)") !=
	    NULL, "%s", err);
}

Test(conf, bools)
{
	static const struct {
		const char	*v;
		int		 want;
	} cases[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "1", 1 }, { "0", 0 }, { "YES", 1 }, { "False", 0 },
	};
	struct agent_conf	 c;
	char			 text[128];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[agent]\nallowrootplugins = %s\n",
		    cases[i].v);
		cr_assert_eq(load_text(text, &c), 0, "%s: %s", cases[i].v,
		    err);
		cr_expect_eq(c.allowrootplugins, cases[i].want, "%s",
		    cases[i].v);
		conf_free(&c);
	}
}

/* ---- errors ---- */

Test(conf, bad_values)
{
	static const struct {
		const char	*text;
		const char	*why;
	} cases[] = {
		{ "[agent]\nlisten = \"0.0.0.0:0\"\n", "port must be 1-65535" },
		{ "[agent]\nlisten = \"0.0.0.0:99999\"\n",
		    "port must be 1-65535" },
		{ "[agent]\nlisten = \"0.0.0.0:\"\n", "port must be 1-65535" },
		{ "[agent]\nlisten = \"0.0.0.0:12ab\"\n",
		    "port must be 1-65535" },
		{ "[agent]\nlisten = \"0.0.0.0\"\n",
		    "must be host:port or [v6]:port" },
		{ "[agent]\nlisten = \":1232\"\n", "host must not be empty" },
		{ "[agent]\nlisten = \"::1:1232\"\n", "must be in brackets" },
		{ "[agent]\nlisten = \"[::1:1232\"\n", "missing ']'" },
		{ "[agent]\nlisten = \"[zz]:1232\"\n", "bad IPv6 address" },
		{ "[agent]\nlisten = \"[]:1232\"\n", "bad IPv6 address" },
		{ "[agent]\nlisten = \"[::1]1232\"\n", "must be [v6]:port" },
		{ "[agent]\nlisten = \"a b:1\"\n", "bad character in host" },
		{ "[agent]\nifaceprefix = [ \"eth\"\n",
		    "missing closing bracket" },
		{ "[agent]\nifaceprefix = [ \"eth ]\n", "unterminated quote" },
		{ "[agent]\nifaceprefix = [ \"eth\" \"em\" ]\n",
		    "missing comma" },
		{ "[agent]\nifaceprefix = [ \"eth\" ] x\n", "text after" },
		{ "[agent]\nifaceprefix = [ \"eth\", \"\" ]\n",
		    "empty element" },
		{ "[agent]\nifaceprefix = [ \"eth\", , \"em\" ]\n",
		    "empty element" },
		{ "[agent]\nifaceprefix = [ \"abcdefghijklmnopq\" ]\n",
		    "longer than an interface name" },
		{ "[agent]\nregistryaddr = \"ftp://r\"\n",
		    "must start with http://, https:// or file://" },
		{ "[agent]\nregistryaddr = \"registry:80\"\n",
		    "must start with http://, https:// or file://" },
		{ "[agent]\nregistryaddr = \"file://etc/r.json\"\n",
		    "absolute path" },
		{ "[agent]\ngitbranch = \"-rf\"\n", "not a branch name" },
		{ "[agent]\nntpserver = \"a b\"\n", "not a host" },
		{ "[agent]\ncoredumpdir = \"core\"\n", "absolute path" },
		{ "[agent]\ngitbranch = \"a/../b\"\n", "not a branch name" },
		{ "[agent]\ntoken = \"has space in it ok\"\n", "printable" },
		{ "[agent]\nregistryaddr = \"http://\"\n", "host missing" },
		{ "[agent]\npluginsdir = \"plugins\"\n",
		    "must be an absolute path" },
		{ "[agent]\npluginsdir = \"\"\n", "must be an absolute path" },
		{ "[agent]\npluginsuser = \"two words\"\n", "not a user name" },
		{ "[agent]\npluginsuser = \"\"\n", "not a user name" },
		{ "[output]\nserveruser = \"nsq d\"\n", "not a user name" },
		{ "[output]\nserveruser = \"4294967295\"\n", "not a uid" },
		{ "[agent]\ngit = \"git://g/repo.git\"\n", "%s once" },
		{ "[agent]\ngit = \"git://g/%s/%s.git\"\n", "%s once" },
		{ "[agent]\ngit = \"git://g/%d.git\"\n", "no other %" },
		{ "[agent]\ngit = \"git://g/%s%%.git\"\n", "no other %" },
		{ "[agent]\ngit = \"git://g/%s%\"\n", "no other %" },
		{ "[agent]\npidfile = \"agent.pid\"\n",
		    "must be an absolute path" },
		{ "[agent]\nuser = \"-x\"\n", "not a user name" },
		{ "[agent]\nuser = \"a/b\"\n", "not a user name" },
		{ "[agent]\nchroot = \"empty\"\n", "must be an absolute path" },
		{ "[agent]\nsocket = \"agent.sock\"\n",
		    "must be an absolute path" },
		/* 108 bytes: sun_path holds 107 and the NUL */
		{ "[agent]\nsocket = \"/run/0123456789012345678901234567890123"
		    "45678901234567890123456789012345678901234567890123456789"
		    "0123456789.sock\"\n", "longer than a unix socket path" },
		{ "[agent]\nallowrootplugins = maybe\n",
		    "must be yes, no, true, false, 1 or 0" },
		{ "[agent]\nallowrootplugins = \"\"\n", "must be yes, no" },
		{ "[output]\nname = \"kafka\"\n",
		    "must be nsq, influxdb or file" },
		{ "[output]\nname = \"NSQ\"\n", "must be nsq, influxdb or file" },
		{ "[output]\nservers = [ \"http://a:1\" ]\n",
		    "servers = \"http://a:1\": the nsq output takes host:port" },
		{ "[output]\nname = influxdb\nservers = [ \"a:1\" ]\n",
		    "the influxdb output takes http:// URLs" },
		{ "[output]\nservers = [ \"ftp://a:1\" ]\n",
		    "must be host:port, tcp://host:port or an http:// URL" },
		{ "[output]\ntopic = \"collect\"\n", "must contain %s" },
		{ "[output]\ntopic = \"collect %s\"\n", "NSQ topic names" },
		{ "[output]\nformat = xml\n", "must be json or line" },
		{ "[output]\npath = \"out.txt\"\n", "absolute path" },
		{ "[output]\nbatchpoints = 0\n", "batchpoints" },
		{ "[output]\nrequestbytes = 4095\n", "requestbytes" },
		{ "[output]\nrequestbytes = 2147483648\n", "requestbytes" },
		{ "[output]\nrequestmessages = 0\n", "requestmessages" },
		{ "[output]\nflushms = 60001\n", "flushms" },
		{ "[agent]\npluginflushms = 60001\n", "must be 0-60000" },
		{ "[agent]\npluginflushms = -1\n", "must be 0-60000" },
		{ "[agent]\npluginflushms = 1e3\n", "pluginflushms" },
		{ "[agent]\nnamespaces = [ \"Pool.loda\" ]\n",
		    "not a namespace" },
		{ "[agent]\nnamespaces = [ \"a..b\" ]\n", "not a namespace" },
		{ "[agent]\nhostnames = [ \"ok.example\", \"a:80\" ]\n",
		    "\"a:80\": not a host name" },
		{ "[agent]\nhostnames = [ \"a..b\" ]\n", "not a host name" },
		{ "[agent]\nhostnames = [ \"-a.b\" ]\n", "not a host name" },
		{ "[agent]\nhostnames = [ \"a.b.\" ]\n", "not a host name" },
		{ "[agent]\nhostnames = [ \"\" ]\n", "empty element" },
		{ "[agent]\nhostnames = [ \"[::1]\" ]\n",
		    "not a host name" },
		{ "[agent]\napiusers = [ \"root\", \"a b\" ]\n",
		    "\"a b\": not a user name" },
		{ "[agent]\napiusers = [ \"-x\" ]\n", "not a user name" },
		{ "[output]\nservers = [ \"a:1\", \"b\" ]\n",
		    "\"b\": must be host:port" },
		{ "[output]\nservers = [ \"a:1\", \"tcp://b:2\" ]\n",
		    "not a mix" },
		{ "[output]\nservers = [ \"tcp://a:0\" ]\n",
		    "port must be 1-65535" },
		{ "[output]\nservers = [ \"a:1\"\n", "missing closing bracket" },
		{ "[output]\nbuffersize = 0\n", "must be 1-10000000" },
		{ "[output]\nbuffersize = 10000001\n", "must be 1-10000000" },
		{ "[output]\nbuffersize = -1\n", "must be 1-10000000" },
		{ "[output]\nbuffersize = abc\n", "not a decimal integer" },
		{ "[output]\nbuffersize = 12abc\n", "not a decimal integer" },
		{ "[output]\nbuffersize = 0x10\n", "not a decimal integer" },
		{ "[output]\nbuffersize = 1e3\n", "not a decimal integer" },
		{ "[output]\nbuffersize = +5\n", "not a decimal integer" },
		{ "[output]\nbuffersize = 1 000\n", "not a decimal integer" },
		{ "[output]\nbuffersize = \"\"\n", "not a decimal integer" },
		{ "[output]\nbuffersize = 99999999999999999999999\n",
		    "integer overflow" },
		{ "[output]\nbuffersize = -99999999999999999999999\n",
		    "integer overflow" },
		{ "[log]\nlogdir = \"log\"\n", "must be an absolute path" },
		{ "[log]\nloglevel = \"LOUD\"\n",
		    "must be one of DEBUG, INFO, WARN, ERROR" },
		{ "[log]\nloglevel = \"\"\n", "must be one of" },
		{ "[log]\nlogrotatenum = 0\n", "must be 1-1000" },
		{ "[log]\nlogrotatenum = 1001\n", "must be 1-1000" },
		{ "[log]\nlogrotatesize = 4095\n", "must be 4096-1099511627776" },
		{ "[log]\nlogrotatesize = 1099511627777\n",
		    "must be 4096-1099511627776" },
		{ "[log]\nlogrotatesize = 18446744073709551616\n",
		    "integer overflow" },
		{ "[agent]\nlisten = \"\"\nsocket = \"\"\n", "no listener" },
		{ "[agent]\npluginmaxprocs = 15\n", "pluginmaxprocs = 15: counts "
		    "every process and thread of pluginsuser, the scheduler's "
		    "included; 0 (the system's limit) or at least 16" },
		{ "[agent]\npluginmaxprocs = -1\n", "must be 0-4194304" },
		{ "[agent]\npluginmaxmemory = 16777215\n", "pluginmaxmemory = "
		    "16777215: 0 (no limit) or at least 16777216 bytes" },
		{ "[agent]\npluginnice = 20\n", "must be 0-19" },
		{ "[agent]\npluginnice = -1\n", "must be 0-19" },
	};
	struct agent_conf	 c;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		if (load_text(cases[i].text, &c) == 0) {
			cr_expect_fail("accepted: %s", cases[i].text);
			conf_free(&c);
			continue;
		}
		cr_expect(strstr(err, cases[i].why) != NULL,
		    "%s: error \"%s\", want \"%s\"", cases[i].text, err,
		    cases[i].why);
		cr_expect(strncmp(err, path, strlen(path)) == 0,
		    "error does not name the file: %s", err);
		/* on failure the output holds nothing to free */
		cr_expect_null(c.ifaceprefix.v);
		cr_expect_null(c.servers.v);
		conf_free(&c);
	}
}

Test(conf, error_names_file_section_key_value)
{
	struct agent_conf	 c;
	char			 want[512];

	cr_assert_eq(load_text("[agent]\n\tlisten = \"0.0.0.0:99999\"\n", &c),
	    -1);
	snprintf(want, sizeof(want), "%s: [agent] listen = \"0.0.0.0:99999\": "
	    "port must be 1-65535", path);
	cr_expect_str_eq(err, want);

	cr_assert_eq(load_text("[log]\nloglevel = \"LOUD\"\n", &c), -1);
	snprintf(want, sizeof(want), "%s: [log] loglevel = \"LOUD\": must be "
	    "one of DEBUG, INFO, WARN, ERROR", path);
	cr_expect_str_eq(err, want);

	/* a list shows the text as written */
	cr_assert_eq(load_text("[agent]\nifaceprefix = [ \"eth\" \"em\" ]\n",
	    &c), -1);
	snprintf(want, sizeof(want), "%s: [agent] ifaceprefix = "
	    "[ \"eth\" \"em\" ]: missing comma after element 1", path);
	cr_expect_str_eq(err, want);

	cr_assert_eq(load_text("[agent]\nlisten = \"\"\nsocket = \"\"\n", &c),
	    -1);
	snprintf(want, sizeof(want), "%s: no listener: [agent] listen and "
	    "socket are both empty", path);
	cr_expect_str_eq(err, want);
}

/*
 * No section: every default (an output at 127.0.0.1:4151, the seed's
 * paths), which is what a reload saw of a file truncated by an editor
 * and not yet written.  Refused, and the error says what it saw.
 */
Test(conf, a_file_without_a_section_is_refused)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text("", &c), -1);
	cr_expect(strstr(err, "no [section] in it (empty): refused") !=
	    NULL, "%s", err);
	cr_expect(strncmp(err, path, strlen(path)) == 0, "%s", err);
	cr_assert_eq(load_text("# being written\n\n   \n", &c), -1);
	cr_expect(strstr(err, "(only comments and blank lines)") != NULL,
	    "%s", err);
	/* a section, even empty, is a config: its defaults are asked for */
	cr_assert_eq(load_text("[agent]\n", &c), 0, "%s", err);
	conf_free(&c);
}

Test(conf, first_error_wins)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text("[agent]\npluginsdir = \"rel\"\n"
	    "[log]\nlogrotatenum = 0\n", &c), -1);
	cr_expect(strstr(err, "pluginsdir") != NULL, "%s", err);
}

Test(conf, syntax_error_names_line)
{
	struct agent_conf	 c;
	char			 want[512];

	cr_assert_eq(load_text("[agent]\n# ok\nlisten = \"a:1\"\n"
	    "this line is not ini\n", &c), -1);
	snprintf(want, sizeof(want), "%s: syntax error at line 4: this line "
	    "is not ini", path);
	cr_expect_str_eq(err, want);
}

Test(conf, syntax_errors_counted)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text("[agent]\nbad one\nbad two\n[broken\n", &c),
	    -1);
	cr_expect(strstr(err, "syntax error at line 2: bad one (and 2 more "
	    "errors)") != NULL, "%s", err);
}

Test(conf, line_too_long)
{
	struct agent_conf	 c;
	char			*text;
	size_t			 n = 3000;

	cr_assert_not_null(text = malloc(n + 32));
	strlcpy(text, "[agent]\ngit = \"", n + 32);
	memset(text + strlen(text), 'x', n);
	text[n] = '\0';
	strlcat(text, "%s\"\n", n + 32);
	cr_expect_eq(load_text(text, &c), -1);
	cr_expect(strstr(err, "too long at line 2") != NULL, "%s", err);
	cr_expect(strncmp(err, path, strlen(path)) == 0, "%s", err);
	free(text);
}

static void
setup_stderr(void)
{
	cr_redirect_stderr();
	setup();
}

/*
 * The loader must not write to stderr, and must give stderr back to
 * iniparser afterwards.  Criterion reads a redirected stream only once per
 * test, hence two tests.
 */
Test(conf_stderr, iniparser_errors_captured, .init = setup_stderr,
    .fini = teardown)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text("[agent]\ngarbage line\n", &c), -1);
	cr_expect(strstr(err, "syntax error") != NULL, "%s", err);
	fflush(stderr);
	cr_expect_stderr_eq_str("");
}

Test(conf_stderr, iniparser_callback_restored, .init = setup_stderr,
    .fini = teardown)
{
	struct agent_conf	 c;
	dictionary		*d;

	cr_assert_eq(load_text("[agent]\ngarbage line\n", &c), -1);
	d = iniparser_load(path);
	cr_expect_null(d);
	fflush(stderr);
	cr_expect_stderr_neq_str("");
}

Test(conf, missing_file)
{
	struct agent_conf	 c;
	char			 want[512], p[256];

	snprintf(p, sizeof(p), "%s/nope.conf", tmpdir);
	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(conf_load(p, &c, NULL, NULL, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot read %s: No such file or "
	    "directory", p);
	cr_expect_str_eq(err, want);
	cr_expect_null(c.ifaceprefix.v);
	cr_expect_eq(c.servers.n, 0);
}

/*
 * The config decides what root runs: read below a directory another user
 * owns (at any depth), it could be that user's file by the time it is
 * read.  Refused; a symbolic link to a file in good directories is read.
 */
Test(conf, below_another_users_directory_is_refused)
{
	struct agent_conf	 c;
	struct passwd		*pw;
	char			 upper[128], lower[160], p[192], link[128];
	FILE			*fp;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_not_null(pw = getpwnam("nobody"));
	snprintf(upper, sizeof(upper), "%s/theirs", tmpdir);
	snprintf(lower, sizeof(lower), "%s/etc", upper);
	snprintf(p, sizeof(p), "%s/agent.conf", lower);
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	cr_assert_eq(mkdir(upper, 0755), 0);
	cr_assert_eq(mkdir(lower, 0755), 0);
	cr_assert_not_null(fp = fopen(p, "w"));
	cr_assert_geq(fputs("[agent]\npluginsuser = \"daemon\"\n", fp), 0);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(symlink(p, link), 0);
	cr_assert_eq(conf_load(link, &c, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(c.pluginsuser, "daemon");
	conf_free(&c);
	cr_assert_eq(chown(upper, pw->pw_uid, (gid_t)-1), 0);
	cr_assert_eq(conf_load(p, &c, NULL, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, upper) != NULL && strstr(err,
	    "not owned by root") != NULL, "%s", err);
	cr_assert_eq(conf_load(link, &c, NULL, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, "not owned by root") != NULL, "%s", err);
}

Test(conf, directory_is_not_a_file)
{
	struct agent_conf	 c;

	cr_assert_eq(conf_load(tmpdir, &c, NULL, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, "Is a directory") != NULL, "%s", err);
}

/* In a child as nobody: 0 when conf_load() did what `arg` says. */
static int
load_as_nobody(void *arg)
{
	struct agent_conf	 c;
	const char		*want = arg;
	int			 rc;

	rc = conf_load(path, &c, NULL, NULL, err, sizeof(err));
	if (want == NULL) {
		if (rc != 0) {
			as_nobody_say("conf_load: %s", err);
			return 1;
		}
		conf_free(&c);
		return 0;
	}
	if (rc != -1 || strstr(err, want) == NULL) {
		as_nobody_say("conf_load returned %d: \"%s\", not \"%s\"",
		    rc, err, want);
		return 1;
	}
	return 0;
}

/* Root reads any file: the reading is done as nobody. */
Test(conf, unreadable_file)
{
	/* nobody may pass the directory: only the file's mode refuses */
	cr_assert_eq(chmod(tmpdir, 0711), 0, "%s", strerror(errno));
	write_file(path, "[agent]\n");
	cr_assert_eq(chmod(path, 0644), 0);
	as_nobody(load_as_nobody, NULL);
	cr_assert_eq(chmod(path, 0), 0);
	as_nobody(load_as_nobody, "Permission denied");
}

/* ---- unknown keys ---- */

Test(conf, unknown_keys_warn_and_continue)
{
	struct agent_conf	 c;
	char			 want[256];

	cr_assert_eq(load_text(
	    "stray = 1\n"
	    "[agent]\n"
	    "listen = \"a:1\"\n"
	    "tokn = \"abc\"\n"
	    "[trace]\n"
	    "enable = true\n"
	    "collector = [ \"localhost:6831\" ]\n"
	    "[member]\n"
	    "[log]\n"
	    "loglevel = \"ERROR\"\n", &c), 0, "%s", err);
	cr_expect_str_eq(c.listen, "a:1");
	cr_expect_eq(c.loglevel, LOG_LVL_ERROR);
	cr_expect_eq(w.n, 5, "%s", w.text);
	snprintf(want, sizeof(want), "%s: unknown key [agent] tokn ignored\n",
	    path);
	cr_expect(strstr(w.text, want) != NULL, "%s", w.text);
	snprintf(want, sizeof(want), "%s: unknown key [trace] enable ignored\n",
	    path);
	cr_expect(strstr(w.text, want) != NULL, "%s", w.text);
	cr_expect(strstr(w.text, "unknown key [trace] collector ignored") !=
	    NULL, "%s", w.text);
	cr_expect(strstr(w.text, "unknown section [member] ignored") != NULL,
	    "%s", w.text);
	cr_expect(strstr(w.text, "key stray outside any section ignored") !=
	    NULL, "%s", w.text);
	conf_free(&c);
}

Test(conf, unknown_keys_without_callback)
{
	struct agent_conf	 c;

	write_file(path, "[trace]\nenable = true\n[agent]\nfoo = 1\n");
	cr_assert_eq(conf_load(path, &c, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	conf_free(&c);
}

Test(conf, go_agent_full_config)
{
	struct agent_conf	 c;

	/* the Go agent's sample with its [trace] and [member] sections */
	cr_assert_eq(load_text(
	    "[agent]\n"
	    "\tlisten = \"0.0.0.0:1234\"\n"
	    "\tifaceprefix = [\"eth\", \"em\", \"bond\"]\n"
	    "\tregistryaddr = \"http://registry.example.com\"\n"
	    "\tpluginsdir = \"/usr/local/agent-plugins\"\n"
	    "\tpluginsuser = \"nobody\"\n"
	    "\tgit = \"git@git.example.com:orgname/%s.git\"\n"
	    "[output]\n"
	    "\tname = \"nsq\"\n"
	    "\tservers = [\"10.0.0.1:4151\", \"10.0.0.2:4151\"]\n"
	    "\tbuffersize = 1000\n"
	    "[trace]\n"
	    "\tenable = false\n"
	    "\tcollector = [\"10.0.0.3:14268\"]\n"
	    "[member]\n"
	    "\tenable = false\n"
	    "\tkey = \"c2VjcmV0a2V5MTIzNDU2Nw==\"\n"
	    "\tnodes = [\"10.0.0.4:7946\"]\n"
	    "[log]\n"
	    "\tlogdir = \"/var/log/agent\"\n"
	    "\tloglevel = \"INFO\"\n"
	    "\tlogrotatenum = 5\n"
	    "\tlogrotatesize = 1887436800\n", &c), 0, "%s", err);
	cr_expect_eq(w.n, 5, "%s", w.text);
	cr_expect_eq(c.ifaceprefix.n, 3);
	cr_expect_eq(c.servers.n, 2);
	conf_free(&c);
}

/* ---- copy ---- */

Test(conf, copy_is_deep)
{
	struct agent_conf	 a, b;

	load_distinct(&a);
	cr_assert_eq(conf_copy(&b, &a), 0);
	assert_conf_equal(&a, &b);
	cr_expect_neq(a.servers.v, b.servers.v);
	cr_expect_neq(a.servers.v[0], b.servers.v[0]);
	conf_free(&a);
	cr_expect_str_eq(b.servers.v[1], "tcp://b:4150");
	cr_expect_str_eq(b.ifaceprefix.v[0], "en");
	conf_free(&b);
	/* conf_free leaves nothing behind: a second call is harmless */
	conf_free(&b);
}

/* ---- encode / decode ---- */

static void
roundtrip(const struct agent_conf *src, enum role role, struct agent_conf *dst)
{
	struct preader	 r;
	struct pbuf	 pb;

	codec_put_init(&pb);
	conf_encode(&pb, src, role);
	cr_assert_eq(codec_put_failed(&pb), 0);
	cr_assert_eq(conf_defaults(dst), 0);
	codec_get_init(&r, pb.buf, pb.len);
	cr_assert_eq(conf_decode(&r, dst, err, sizeof(err)), 0, "%s: %s",
	    proto_role_name(role), err);
	codec_put_free(&pb);
}

/* Field indexes present in the encoding for `role`. */
static void
encoded_fields(const struct agent_conf *c, enum role role, int *present)
{
	const struct conf_field	*f;
	struct preader		 r;
	struct pbuf		 pb;
	uint32_t		 idx, n, j;

	memset(present, 0, conf_field_count * sizeof(*present));
	codec_put_init(&pb);
	conf_encode(&pb, c, role);
	codec_get_init(&r, pb.buf, pb.len);
	while (!codec_get_at_end(&r)) {
		idx = codec_get_u32(&r);
		cr_assert_lt(idx, conf_field_count);
		present[idx]++;
		f = &conf_fields[idx];
		switch (f->type) {
		case CONF_T_STR:
			free(codec_get_str(&r));
			break;
		case CONF_T_LIST:
			n = codec_get_u32(&r);
			for (j = 0; j < n; j++)
				free(codec_get_str(&r));
			break;
		case CONF_T_INT:
			(void)codec_get_i64(&r);
			break;
		case CONF_T_BOOL:
			(void)codec_get_bool(&r);
			break;
		case CONF_T_LEVEL:
			(void)codec_get_u32(&r);
			break;
		case CONF_T_FILE:
			free(codec_get_str(&r));
			(void)codec_get_bool(&r);
			free(codec_get_str(&r));
			break;
		}
	}
	cr_assert_eq(codec_get_end(&r), 0, "%s", r.err);
	codec_put_free(&pb);
}

Test(conf, encode_each_role_gets_its_fields)
{
	struct agent_conf	 src, dst, def;
	int			 present[64];
	size_t			 i;
	int			 role, wanted;

	cr_assert_leq(conf_field_count, 64);
	load_distinct(&src);
	cr_assert_eq(conf_defaults(&def), 0);
	for (role = 0; role < ROLE_MAX; role++) {
		roundtrip(&src, (enum role)role, &dst);
		encoded_fields(&src, (enum role)role, present);
		for (i = 0; i < conf_field_count; i++) {
			wanted = role == ROLE_MASTER ||
			    (conf_fields[i].roles & (1U << role)) != 0;
			cr_expect_eq(present[i], wanted, "%s: [%s] %s sent %d",
			    proto_role_name((enum role)role),
			    conf_fields[i].section, conf_fields[i].key,
			    present[i]);
			cr_expect(field_equal(&conf_fields[i], &dst,
			    wanted ? &src : &def), "%s: [%s] %s",
			    proto_role_name((enum role)role),
			    conf_fields[i].section, conf_fields[i].key);
		}
		conf_free(&dst);
	}
	conf_free(&src);
	conf_free(&def);
}

Test(conf, encode_examples)
{
	struct agent_conf	 src, dst;
	int			 present[64];

	load_distinct(&src);

	roundtrip(&src, ROLE_FRONT, &dst);
	cr_expect_str_eq(dst.listen, "[::1]:8080");
	cr_expect_str_eq(dst.socket, "/run/a.sock");
	cr_expect_eq(dst.servers.n, 0, "front must not get servers");
	cr_expect_str_eq(dst.pidfile, "/run/agent/agent.pid");
	cr_expect_eq(dst.loglevel, LOG_LVL_ERROR);
	conf_free(&dst);

	roundtrip(&src, ROLE_SENDER, &dst);
	cr_assert_eq(dst.servers.n, 2);
	cr_expect_str_eq(dst.servers.v[1], "tcp://b:4150");
	cr_expect_eq(dst.buffersize, 77);
	cr_expect_str_eq(dst.listen, "127.0.0.1:1232");
	conf_free(&dst);

	roundtrip(&src, ROLE_COLLECTOR, &dst);
	cr_assert_eq(dst.ifaceprefix.n, 2);
	cr_expect_str_eq(dst.registryaddr, "");
	conf_free(&dst);

	/* master-only fields go to no worker */
	encoded_fields(&src, ROLE_SCHEDULER, present);
	cr_expect_eq(present[field_index("agent", "pidfile")], 0);
	cr_expect_eq(present[field_index("log", "logdir")], 0);
	cr_expect_eq(present[field_index("log", "logrotatesize")], 0);
	cr_expect_eq(present[field_index("agent", "git")], 1);
	conf_free(&src);
}

Test(conf, encode_seed_for_master_roundtrips)
{
	struct agent_conf	 src, dst;

	cr_assert_eq(conf_load(SEED, &src, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	roundtrip(&src, ROLE_MASTER, &dst);
	assert_conf_equal(&src, &dst);
	conf_free(&src);
	conf_free(&dst);
}

static int
decode_pb(struct pbuf *pb, struct agent_conf *c)
{
	struct preader	 r;
	int		 rc;

	cr_assert_eq(codec_put_failed(pb), 0);
	cr_assert_eq(conf_defaults(c), 0);
	codec_get_init(&r, pb->buf, pb->len);
	err[0] = '\0';
	rc = conf_decode(&r, c, err, sizeof(err));
	conf_free(c);
	codec_put_reset(pb);
	return rc;
}

Test(conf, decode_errors)
{
	struct agent_conf	 c;
	struct pbuf		 pb;
	char			*big;

	codec_put_init(&pb);

	codec_put_u32(&pb, (uint32_t)conf_field_count);
	codec_put_str(&pb, "x");
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "unknown") != NULL, "%s", err);

	codec_put_u32(&pb, 0xffffffffu);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "unknown") != NULL, "%s", err);

	/* listen is a string */
	codec_put_u32(&pb, (uint32_t)field_index("agent", "listen"));
	codec_put_i64(&pb, 5);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "wrong type") != NULL, "%s", err);
	cr_expect(strstr(err, "listen") != NULL, "%s", err);

	codec_put_u32(&pb, (uint32_t)field_index("output", "buffersize"));
	codec_put_str(&pb, "5");
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "wrong type") != NULL, "%s", err);

	codec_put_u32(&pb, (uint32_t)field_index("agent", "allowrootplugins"));
	codec_put_u32(&pb, 1);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "wrong type") != NULL, "%s", err);

	/* the index itself must be a u32 */
	codec_put_str(&pb, "listen");
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "index") != NULL, "%s", err);

	/* out of range */
	codec_put_u32(&pb, (uint32_t)field_index("output", "buffersize"));
	codec_put_i64(&pb, 0);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "out of range") != NULL, "%s", err);

	codec_put_u32(&pb, (uint32_t)field_index("log", "logrotatesize"));
	codec_put_i64(&pb, ((int64_t)1 << 40) + 1);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "out of range") != NULL, "%s", err);

	codec_put_u32(&pb, (uint32_t)field_index("log", "loglevel"));
	codec_put_u32(&pb, LOG_LVL_MAX);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "out of range") != NULL, "%s", err);

	/* value missing at the end */
	codec_put_u32(&pb, (uint32_t)field_index("agent", "listen"));
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "missing") != NULL, "%s", err);

	/* same field twice */
	codec_put_u32(&pb, (uint32_t)field_index("agent", "listen"));
	codec_put_str(&pb, "a:1");
	codec_put_u32(&pb, (uint32_t)field_index("agent", "listen"));
	codec_put_str(&pb, "b:1");
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "twice") != NULL, "%s", err);

	/* a list claiming more elements than the payload can hold */
	codec_put_u32(&pb, (uint32_t)field_index("output", "servers"));
	codec_put_u32(&pb, 1000000);
	codec_put_str(&pb, "a:1");
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "does not fit") != NULL, "%s", err);

	/* a list one element short */
	codec_put_u32(&pb, (uint32_t)field_index("output", "servers"));
	codec_put_u32(&pb, 2);
	codec_put_str(&pb, "a:1");
	codec_put_str(&pb, "b:1");
	codec_put_u32(&pb, 0);
	cr_expect_eq(decode_pb(&pb, &c), -1);

	/* a string longer than the config holds */
	cr_assert_not_null(big = malloc(CONF_STR_MAX + 1));
	memset(big, 'x', CONF_STR_MAX);
	big[CONF_STR_MAX] = '\0';
	codec_put_u32(&pb, (uint32_t)field_index("agent", "git"));
	codec_put_str(&pb, big);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	cr_expect(strstr(err, "git") != NULL, "%s", err);

	codec_put_u32(&pb, (uint32_t)field_index("agent", "ifaceprefix"));
	codec_put_u32(&pb, 1);
	codec_put_str(&pb, big);
	cr_expect_eq(decode_pb(&pb, &c), -1);
	free(big);

	/* empty payload: nothing changes */
	cr_expect_eq(decode_pb(&pb, &c), 0, "%s", err);

	codec_put_free(&pb);
}

Test(conf, decode_partial_failure_is_freeable)
{
	struct agent_conf	 c;
	struct preader		 r;
	struct pbuf		 pb;

	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)field_index("output", "servers"));
	codec_put_u32(&pb, 1);
	codec_put_str(&pb, "a:1");
	codec_put_u32(&pb, 999);
	cr_assert_eq(conf_defaults(&c), 0);
	codec_get_init(&r, pb.buf, pb.len);
	cr_expect_eq(conf_decode(&r, &c, err, sizeof(err)), -1);
	cr_expect_eq(c.servers.n, 1);
	conf_free(&c);
	codec_put_free(&pb);
}

/* ---- printing ---- */

static void
print_to(const char *p, const struct agent_conf *c)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(p, "w"));
	/* 0600 as installed: a 0644 file holding a token is warned about */
	cr_assert_eq(fchmod(fileno(fp), 0600), 0);
	conf_print(fp, c);
	cr_assert_eq(fclose(fp), 0);
}

static void
assert_reloads(const struct agent_conf *c)
{
	struct agent_conf	 back;
	char			 p[256];

	snprintf(p, sizeof(p), "%s/printed.conf", tmpdir);
	print_to(p, c);
	memset(&w, 0, sizeof(w));
	cr_assert_eq(conf_load(p, &back, collect_warn, &w, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(w.n, 0, "%s", w.text);
	assert_conf_equal(c, &back);
	conf_free(&back);
}

Test(conf, print_seed_reloads_same)
{
	struct agent_conf	 c;

	cr_assert_eq(conf_load(SEED, &c, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	assert_reloads(&c);
	conf_free(&c);
}

Test(conf, print_distinct_and_defaults_reload_same)
{
	struct agent_conf	 c;

	load_distinct(&c);
	assert_reloads(&c);
	conf_free(&c);

	cr_assert_eq(conf_defaults(&c), 0);
	assert_reloads(&c);
	conf_free(&c);
}

Test(conf, print_format)
{
	struct agent_conf	 c;
	char			 buf[8192], p[256];
	FILE			*fp;
	size_t			 n;

	cr_assert_eq(conf_load(SEED, &c, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	snprintf(p, sizeof(p), "%s/printed.conf", tmpdir);
	print_to(p, &c);
	cr_assert_not_null(fp = fopen(p, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	cr_expect_eq(strncmp(buf, "[agent]\n", 8), 0, "%s", buf);
	cr_expect(strstr(buf, "\n[output]\n") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\n[log]\n") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\tlisten = \"0.0.0.0:1232\"\n") != NULL);
	cr_expect(strstr(buf, "\tifaceprefix = [ \"eth\" ]\n") != NULL);
	cr_expect(strstr(buf, "\tservers = [ \"0.0.0.0:7777\" ]\n") != NULL);
	cr_expect(strstr(buf, "\tbuffersize = 1000\n") != NULL);
	cr_expect(strstr(buf, "\tallowrootplugins = no\n") != NULL);
	cr_expect(strstr(buf, "\tloglevel = \"DEBUG\"\n") != NULL);
	cr_expect(strstr(buf, "\tlogrotatesize = 1887436800\n") != NULL);
	cr_expect(strstr(buf, "\tname = \"nsq\"\n") != NULL);
	/* every key is printed, exactly once */
	for (n = 0; n < conf_field_count; n++) {
		char	 k[64];

		snprintf(k, sizeof(k), "\t%s = ", conf_fields[n].key);
		cr_expect(strstr(buf, k) != NULL, "%s missing", k);
	}
	conf_free(&c);
}

Test(conf, format_value)
{
	struct agent_conf	 c;
	char			 buf[64];

	cr_assert_eq(conf_defaults(&c), 0);
	cr_expect_eq(conf_format_value(field("agent", "ifaceprefix"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "[]");
	cr_assert_eq(strlist_add(&c.ifaceprefix, "a"), 0);
	cr_assert_eq(strlist_add(&c.ifaceprefix, "b"), 0);
	cr_expect_eq(conf_format_value(field("agent", "ifaceprefix"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "[ \"a\", \"b\" ]");
	cr_expect_eq(conf_format_value(field("agent", "ifaceprefix"), &c, buf,
	    8), -1, "too small a buffer must fail, not cut");
	cr_expect_eq(conf_format_value(field("agent", "listen"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "\"127.0.0.1:1232\"");
	cr_expect_eq(conf_format_value(field("agent", "listen"), &c, buf, 5),
	    -1);
	cr_expect_eq(conf_format_value(field("output", "buffersize"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "65536");
	cr_expect_eq(conf_format_value(field("agent", "allowrootplugins"), &c,
	    buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "no");
	cr_expect_eq(conf_format_value(field("log", "loglevel"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "\"INFO\"");

	/* a double quote inside a string: single quotes read back the same */
	strlcpy(c.git, "git://h/\"%s\"", sizeof(c.git));
	cr_expect_eq(conf_format_value(field("agent", "git"), &c, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "'git://h/\"%s\"'");
	/* no form of the file syntax holds both quotes and a comment sign */
	strlcpy(c.git, "\"'#", sizeof(c.git));
	cr_expect_eq(conf_format_value(field("agent", "git"), &c, buf,
	    sizeof(buf)), -1);
	conf_free(&c);
}

Test(conf, print_quotes_reload_same)
{
	struct agent_conf	 c;

	cr_assert_eq(load_text("[agent]\ngit = a\"b%sc\n"
	    "chroot = \"/x#y;z\"\n", &c), 0, "%s", err);
	cr_expect_str_eq(c.git, "a\"b%sc");
	cr_expect_str_eq(c.chroot, "/x#y;z");
	assert_reloads(&c);
	conf_free(&c);
}

/* ---- the running system ---- */

Test(conf, env_users_exist_as_root)
{
	struct agent_conf	 c;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_eq(conf_defaults(&c), 0);
	/* an account of the plugins' own: nothing to say */
	strlcpy(c.user, "daemon", sizeof(c.user));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(w.n, 0, "%s", w.text);
	conf_free(&c);
}

/* The defaults (nobody twice) work, and say what they cost. */
Test(conf, env_one_user_for_workers_and_plugins_warns)
{
	struct agent_conf	 c;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_eq(conf_defaults(&c), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(w.n, 1, "%s", w.text);
	cr_expect(strstr(w.text, "[agent] user and pluginsuser are both "
	    "\"nobody\": a plugin can rewrite every plugin's checkout") !=
	    NULL, "%s", w.text);
	/* the spool is the sender's user's: a plugin of that uid removes
	 * what was answered 200 */
	cr_expect(strstr(w.text, "remove the spool's points") != NULL, "%s",
	    w.text);
	conf_free(&c);
}

Test(conf, env_missing_user_as_root)
{
	struct agent_conf	 c;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_eq(conf_defaults(&c), 0);
	strlcpy(c.user, "no-such-user-xq", sizeof(c.user));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[agent] user = \"no-such-user-xq\": "
	    "no such user");

	strlcpy(c.user, "nobody", sizeof(c.user));
	strlcpy(c.pluginsuser, "no-such-user-xq", sizeof(c.pluginsuser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[agent] pluginsuser = \"no-such-user-xq\": "
	    "no such user");
	conf_free(&c);
}

/*
 * A user NSS could not look up for now is not a wrong config: -2, which
 * the master's start exits 1 for (the unit restarts it) where a user
 * that does not exist is 2 (it does not).
 */
Test(conf, env_a_lookup_that_fails_for_now_is_told_apart)
{
	struct agent_conf	 c;
	int			 rc;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_eq(conf_defaults(&c), 0);
	getpwnam_fails = EIO;
	rc = conf_check_env(&c, 1, collect_warn, &w, err, sizeof(err));
	getpwnam_fails = 0;
	cr_expect_eq(rc, -2);
	cr_expect_str_eq(err, "[agent] user = \"nobody\": cannot look up: "
	    "Input/output error");

	cr_assert_eq(strlist_add(&c.apiusers, "bin"), 0);
	strlcpy(c.user, "daemon", sizeof(c.user));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	getpwnam_fails = ETIMEDOUT;
	rc = conf_check_env(&c, 1, collect_warn, &w, err, sizeof(err));
	getpwnam_fails = 0;
	cr_expect_eq(rc, -2, "%s", err);
	/* not found, in any of the words getpwnam(3) has for it: -1 */
	getpwnam_fails = ENOENT;
	rc = conf_check_env(&c, 1, collect_warn, &w, err, sizeof(err));
	getpwnam_fails = 0;
	cr_expect_eq(rc, -1, "%s", err);
	cr_expect_str_eq(err, "[agent] user = \"daemon\": no such user");
	conf_free(&c);
}

/* serveruser: a uid as it is, a name looked up, never the agent's own. */
Test(conf, env_serveruser_looked_up_and_not_the_agents_own)
{
	struct agent_conf	 c;
	struct passwd		*bin;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_not_null((bin = getpwnam("bin")));
	cr_assert_eq(conf_defaults(&c), 0);
	cr_expect_eq(c.serveruid, (uid_t)-1);
	strlcpy(c.user, "daemon", sizeof(c.user));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.serveruid, (uid_t)-1, "empty: none");
	strlcpy(c.serveruser, "bin", sizeof(c.serveruser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.serveruid, bin->pw_uid);
	strlcpy(c.serveruser, "4242", sizeof(c.serveruser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.serveruid, 4242, "a uid without an account");
	strlcpy(c.serveruser, "nobody", sizeof(c.serveruser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[output] serveruser = \"nobody\": is [agent] "
	    "pluginsuser, whose processes are never the output");
	strlcpy(c.serveruser, "no-such-user-xq", sizeof(c.serveruser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[output] serveruser = \"no-such-user-xq\": "
	    "no such user");
	conf_free(&c);
}

/* apiusers: looked up for the front, never the agent's own users. */
Test(conf, env_apiusers_looked_up_and_not_the_agents_own)
{
	struct agent_conf	 c;
	struct passwd		*bin;
	size_t			 i;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_not_null((bin = getpwnam("bin")));
	cr_assert_eq(conf_defaults(&c), 0);
	strlcpy(c.user, "daemon", sizeof(c.user));
	cr_assert_eq(strlist_add(&c.apiusers, "root"), 0);
	cr_assert_eq(strlist_add(&c.apiusers, "bin"), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.napiuids, 2);
	cr_expect_eq(c.apiuids[0], 0);
	cr_expect_eq(c.apiuids[1], bin->pw_uid);

	strlist_free(&c.apiusers);
	cr_assert_eq(strlist_add(&c.apiusers, "nobody"), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[agent] apiusers = \"nobody\": is [agent] "
	    "pluginsuser, whose processes (the plugins) may not change "
	    "plugins");
	strlist_free(&c.apiusers);
	cr_assert_eq(strlist_add(&c.apiusers, "daemon"), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "is [agent] user, whose processes (the "
	    "workers)") != NULL, "%s", err);
	strlist_free(&c.apiusers);
	cr_assert_eq(strlist_add(&c.apiusers, "no-such-user-xq"), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[agent] apiusers = \"no-such-user-xq\": "
	    "no such user");
	strlist_free(&c.apiusers);
	for (i = 0; i <= CONF_APIUSERS_MAX; i++)
		cr_assert_eq(strlist_add(&c.apiusers, "bin"), 0);
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "[agent] apiusers: 33 users, at most 32");
	conf_free(&c);
}

Test(conf, env_root_plugins_refused_as_root)
{
	struct agent_conf	 c;

	if (geteuid() != 0)
		skip_test("needs root");
	cr_assert_eq(conf_defaults(&c), 0);
	strlcpy(c.pluginsuser, "root", sizeof(c.pluginsuser));
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "[agent] pluginsuser = \"root\"") != NULL,
	    "%s", err);
	cr_expect(strstr(err, "allowrootplugins") != NULL, "%s", err);

	c.allowrootplugins = 1;
	err[0] = '\0';
	cr_expect_eq(conf_check_env(&c, 1, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(w.n, 1, "%s", w.text);
	cr_expect(strstr(w.text, "pluginsuser") != NULL, "%s", w.text);
	conf_free(&c);
}

Test(conf, env_not_root_only_warns)
{
	struct agent_conf	 c;

	cr_assert_eq(conf_defaults(&c), 0);
	strlcpy(c.user, "no-such-user-xq", sizeof(c.user));
	strlcpy(c.pluginsuser, "no-such-user-xr", sizeof(c.pluginsuser));
	cr_expect_eq(conf_check_env(&c, 0, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(w.n, 3, "%s", w.text);
	cr_expect(strstr(w.text, "[agent] user = \"no-such-user-xq\": no such "
	    "user (ignored: not running as root)") != NULL, "%s", w.text);
	cr_expect(strstr(w.text, "not started as root: the workers and the "
	    "plugins all run as the user who started the agent") != NULL,
	    "%s", w.text);
	cr_expect(strstr(w.text, "[agent] pluginsuser = \"no-such-user-xr\"") !=
	    NULL, "%s", w.text);

	memset(&w, 0, sizeof(w));
	strlcpy(c.pluginsuser, "root", sizeof(c.pluginsuser));
	strlcpy(c.user, "nobody", sizeof(c.user));
	cr_expect_eq(conf_check_env(&c, 0, collect_warn, &w, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect(strstr(w.text, "ignored: not running as root") != NULL,
	    "%s", w.text);

	/* without a callback the warnings just go */
	cr_expect_eq(conf_check_env(&c, 0, NULL, NULL, err, sizeof(err)), 0);
	conf_free(&c);
}

/* The master chowns pluginsdir and `stop -m clean` empties it. */
Test(conf, pluginsdir_must_not_be_a_system_directory)
{
	const char		*bad[] = { "/", "/usr", "/usr/", "/var/lib",
	    "/tmp", "/usr/local/../..", NULL };
	struct agent_conf	 c;
	char			 body[256];
	size_t			 i;

	for (i = 0; bad[i] != NULL; i++) {
		snprintf(body, sizeof(body), "[agent]\npluginsdir = \"%s\"\n",
		    bad[i]);
		cr_assert_eq(load_text(body, &c), -1, "%s accepted", bad[i]);
		cr_assert(strstr(err, "[agent] pluginsdir") != NULL, "%s", err);
	}
	cr_assert_eq(load_text("[agent]\npluginsdir = \"/usr/local/"
	    "agent-plugins\"\n", &c), 0, "%s", err);
	conf_free(&c);
}

/*
 * `agent check` prints a config that reads back as itself, whatever the
 * values hold.  A value with both quote characters is written bare, and
 * one that then ends in a backslash once joined the next line into it.
 * Property: every config the loader takes from a file, printed and loaded
 * again, is the same config, and no value is left out as unwritable.
 * Lines of awkward bytes are tried with a fixed seed (the fuzz target
 * tests/fuzz/fuzz_conf.c goes on from there).
 */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
awkward(uint32_t *s, char *out, size_t maxlen)
{
	static const char *const bits[] = {
		"\"", "'", "\\", ";", "#", " ", "\t", "\v", "=", "[", "]",
		",", "a", "/", "\xc3\xa9", "\x01", "\"\"", "''", "x y",
	};
	size_t	 n = rnd(s) % maxlen, i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		strlcat(out, bits[rnd(s) % (sizeof(bits) / sizeof(bits[0]))],
		    64);
}

static void
assert_print_round_trips(const struct agent_conf *c, const char *src)
{
	struct agent_conf	 back;
	char			 p[256], text[16384];
	FILE			*fp;
	size_t			 n;

	snprintf(p, sizeof(p), "%s/printed.conf", tmpdir);
	print_to(p, c);
	cr_assert_not_null(fp = fopen(p, "r"));
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	cr_assert_null(strstr(text, "\n\t# "), "a value left out; from:\n%s\n"
	    "printed:\n%s", src, text);
	cr_assert_eq(conf_load(p, &back, NULL, NULL, err, sizeof(err)), 0,
	    "%s; from:\n%s\nprinted:\n%s", err, src, text);
	assert_conf_equal(c, &back);
	conf_free(&back);
}

Test(conf, print_round_trips_awkward_values)
{
	static const char *const opens[] = { "", "\"", "'", " " };
	struct agent_conf	 c;
	char			 raw[64], text[256];
	uint32_t		 seed = 0x5eed;
	int			 i, loaded = 0;

	for (i = 0; i < 3000; i++) {
		awkward(&seed, raw, 10);
		if (i % 2 == 0)
			snprintf(text, sizeof(text), "[agent]\ncoredumpdir = "
			    "%s/%s\n", opens[rnd(&seed) % 4], raw);
		else
			snprintf(text, sizeof(text), "[agent]\nifaceprefix = "
			    "%s\n", raw);
		/* a backslash at the end joins the next line */
		if (rnd(&seed) % 4 == 0)
			strlcat(text, "\\ ;x\n", sizeof(text));
		if (load_text(text, &c) == -1)
			continue;
		loaded++;
		assert_print_round_trips(&c, text);
		conf_free(&c);
	}
	/* enough of the lines were values, not errors */
	cr_assert_gt(loaded, 600, "%d loaded", loaded);
}

Test(conf, print_both_quotes_and_backslash)
{
	struct agent_conf	 c;
	char			 buf[64];

	cr_assert_eq(load_text("[agent]\ntoken = a\"b'c0123456789abcd\\\n"
	    "\\ ;x\n", &c), 0, "%s", err);
	cr_assert_str_eq(c.token, "a\"b'c0123456789abcd\\");
	cr_assert_eq(conf_format_value(field("agent", "token"), &c, buf,
	    sizeof(buf)), 0);
	/* bare, and the empty comment keeps the backslash off the end */
	cr_assert_str_eq(buf, "a\"b'c0123456789abcd\\ #");
	assert_print_round_trips(&c, "token");
	conf_free(&c);

	/* list elements with a comment sign: the whole list in quotes */
	cr_assert_eq(load_text("[agent]\nifaceprefix = \"[ 'a;b', 'c#' ]\"\n",
	    &c), 0, "%s", err);
	cr_assert_eq(conf_format_value(field("agent", "ifaceprefix"), &c, buf,
	    sizeof(buf)), 0);
	cr_assert_str_eq(buf, "\"[ 'a;b', 'c#' ]\"");
	assert_print_round_trips(&c, "ifaceprefix");
	conf_free(&c);
}

/* A value near iniparser's line limit is written compactly. */
Test(conf, print_long_values)
{
	struct agent_conf	 c;
	char			 text[1100];

	memset(text, 0, sizeof(text));
	strlcpy(text, "[agent]\ntoken=", sizeof(text));
	memset(text + strlen(text), 'k', 1015);
	strlcat(text, "\n", sizeof(text));
	cr_assert_eq(load_text(text, &c), 0, "%s", err);
	cr_assert_eq(strlen(c.token), 1015);
	assert_print_round_trips(&c, "token of 1015 bytes");
	conf_free(&c);
}

/* The master makes the spool for `user`: never a system directory, never
 * inside pluginsdir (`stop -m clean` empties it) or the chroot. */
Test(conf, spool_keys)
{
	const char		*bad[] = {
		"[output]\nspool = \"spool\"\n", "must be an absolute path",
		"[output]\nspool = \"/var/lib\"\n", "is a system directory",
		"[output]\nspool = \"/var/lib/agent/../x\"\n", ". or ..",
		"[agent]\npluginsdir = \"/srv/p\"\n[output]\n"
		    "spool = \"/srv/p/spool\"\n",
		    "apart from [agent] pluginsdir",
		"[agent]\nchroot = \"/srv/e\"\n[output]\nspool = \"/srv/e\"\n",
		    "apart from [agent] pluginsdir and chroot",
		"[output]\nspoolbytes = 1000\n", "[output] spoolbytes",
		"[output]\nspoolsync = -1\n", "[output] spoolsync",
		NULL, NULL
	};
	struct agent_conf	 c;
	size_t			 i;

	for (i = 0; bad[i] != NULL; i += 2) {
		cr_assert_eq(load_text(bad[i], &c), -1, "%s accepted", bad[i]);
		cr_assert(strstr(err, bad[i + 1]) != NULL, "%s: %s", bad[i],
		    err);
	}
	cr_assert_eq(load_text("[output]\nspool = \"\"\nspoolsync = 0\n",
	    &c), 0, "%s", err);
	cr_assert_str_eq(c.spool, "");
	cr_assert_eq(c.spoolsync, 0);
	conf_free(&c);
	cr_assert_eq(load_text("[agent]\npluginsdir = \"/srv/p\"\n[output]\n"
	    "spool = \"/srv/pp\"\n", &c), 0, "%s", err);
	conf_free(&c);
}
