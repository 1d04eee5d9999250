/*
 * Files the config names and the master reads for the workers
 * ([agent] gitsigners): read at conf_check_env(), refused when someone
 * else could have written them or when they do not parse, sent only to
 * the roles of the key, copied and freed with the config.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <criterion/criterion.h>

#include "common/codec.h"
#include "master/conf_files.h"
#include "master/conf_load.h"

#define KEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKRvZHorwKvAu73n" \
		"bL7qVot1DVxuMHXnf1xH8r4K4wxp"
#define GOOD	"# plugin signers\ndev@example.com namespaces=\"git\" " KEY "\n"

static char	 dir[64];
static char	 err[2048];

struct warns {
	char	 text[4096];
	int	 n;
};

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
	strlcpy(dir, "/tmp/test_conf_files.XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chmod(dir, 0755), 0);
	err[0] = '\0';
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(conf_files, .init = setup, .fini = teardown);

static void
put(const char *name, const char *text, mode_t mode, char *out,
    size_t outlen)
{
	FILE	*fp;

	snprintf(out, outlen, "%s/%s", dir, name);
	cr_assert_not_null(fp = fopen(out, "w"), "%s", out);
	cr_assert_geq(fputs(text, fp), 0);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(chmod(out, mode), 0);
}

/* A default config naming `file` as gitsigners, checked. */
static int
check_with(struct agent_conf *c, const char *file, struct warns *ws)
{
	cr_assert_eq(conf_defaults(c), 0);
	strlcpy(c->gitsigners.path, file, sizeof(c->gitsigners.path));
	err[0] = '\0';
	return conf_check_env(c, 0, collect_warn, ws, err, sizeof(err));
}

/* Accepted: the file is read. */
static void
expect_refused_none(const char *file)
{
	struct agent_conf	 c;
	struct warns		 ws;

	memset(&ws, 0, sizeof(ws));
	cr_expect_eq(check_with(&c, file, &ws), 0, "%s", err);
	conf_free(&c);
}

static void
expect_refused(const char *file, const char *why)
{
	struct agent_conf	 c;
	struct warns		 ws;
	char			 want[512];

	memset(&ws, 0, sizeof(ws));
	cr_expect_eq(check_with(&c, file, &ws), -1, "%s accepted", file);
	snprintf(want, sizeof(want), "[agent] gitsigners = \"%s\": ", file);
	cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	cr_expect(strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
	conf_free(&c);
}

static void
roundtrip(const struct agent_conf *src, enum role role,
    struct agent_conf *dst)
{
	struct pbuf	 pb;
	struct preader	 r;

	codec_put_init(&pb);
	conf_encode(&pb, src, role);
	cr_assert_eq(codec_put_failed(&pb), 0);
	cr_assert_eq(conf_defaults(dst), 0);
	codec_get_init(&r, pb.buf, pb.len);
	cr_assert_eq(conf_decode(&r, dst, err, sizeof(err)), 0, "%s", err);
	codec_put_free(&pb);
}

Test(conf_files, read_and_sent_to_gitpull_only)
{
	struct agent_conf	 c, d, e;
	struct warns		 ws;
	char			 f[128];

	put("signers", GOOD, 0644, f, sizeof(f));
	memset(&ws, 0, sizeof(ws));
	cr_assert_eq(check_with(&c, f, &ws), 0, "%s", err);
	cr_assert_not_null(c.gitsigners.text);
	cr_expect_str_eq(c.gitsigners.text, GOOD);
	/* checked as if not root: that warning alone */
	cr_expect_eq(ws.n, 1, "%s", ws.text);
	cr_expect(strstr(ws.text, "not started as root") != NULL, "%s",
	    ws.text);

	roundtrip(&c, ROLE_GITPULL, &d);
	cr_expect_str_eq(d.gitsigners.path, f);
	cr_assert_not_null(d.gitsigners.text);
	cr_expect_str_eq(d.gitsigners.text, GOOD);
	conf_free(&d);
	roundtrip(&c, ROLE_MASTER, &d);
	cr_expect_str_eq(d.gitsigners.text, GOOD);
	conf_free(&d);
	roundtrip(&c, ROLE_SCHEDULER, &d);
	cr_expect_str_eq(d.gitsigners.path, "");
	cr_expect_null(d.gitsigners.text);
	conf_free(&d);

	/* a copy owns its own text */
	cr_assert_eq(conf_copy(&e, &c), 0);
	cr_assert_neq(e.gitsigners.text, c.gitsigners.text);
	cr_expect_str_eq(e.gitsigners.text, GOOD);
	conf_free(&c);
	cr_expect_str_eq(e.gitsigners.text, GOOD);
	conf_free(&e);

	/* not read yet: nothing travels, and a worker can tell */
	cr_assert_eq(conf_defaults(&c), 0);
	strlcpy(c.gitsigners.path, f, sizeof(c.gitsigners.path));
	roundtrip(&c, ROLE_GITPULL, &d);
	cr_expect_str_eq(d.gitsigners.path, f);
	cr_expect_null(d.gitsigners.text);
	conf_free(&d);
	conf_free(&c);
}

Test(conf_files, empty_path_reads_nothing)
{
	struct agent_conf	 c;
	struct warns		 ws;

	memset(&ws, 0, sizeof(ws));
	cr_assert_eq(check_with(&c, "", &ws), 0, "%s", err);
	cr_expect_null(c.gitsigners.text);
	/* tags asked for, but nothing to check them with */
	c.gitsignedtags = 1;
	cr_assert_eq(conf_check_env(&c, 0, collect_warn, &ws, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect(strstr(ws.text, "gitsignedtags = yes has no effect") !=
	    NULL, "%s", ws.text);
	conf_free(&c);
}

Test(conf_files, loaded_from_the_file_and_printed)
{
	struct agent_conf	 c;
	struct warns		 ws;
	char			 f[128], conf[128], text[512];
	FILE			*fp;
	char			*out = NULL;
	size_t			 outlen = 0;

	put("signers", GOOD, 0600, f, sizeof(f));
	snprintf(text, sizeof(text), "[agent]\ngitsigners = %s\n"
	    "gitsignedtags = yes\n", f);
	put("agent.conf", text, 0644, conf, sizeof(conf));
	memset(&ws, 0, sizeof(ws));
	cr_assert_eq(conf_load(conf, &c, collect_warn, &ws, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_null(c.gitsigners.text);	/* read by the env check */
	cr_expect_eq(c.gitsignedtags, 1);
	cr_assert_eq(conf_check_env(&c, 0, collect_warn, &ws, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.gitsigners.text, GOOD);
	cr_assert_not_null(fp = open_memstream(&out, &outlen));
	conf_print(fp, &c);
	fclose(fp);
	snprintf(text, sizeof(text), "\tgitsigners = \"%s\"\n", f);
	cr_expect(strstr(out, text) != NULL, "%s", out);
	cr_expect(strstr(out, "\tgitsignedtags = yes\n") != NULL, "%s", out);
	free(out);
	conf_free(&c);

	/* a relative path is a bad value */
	put("agent.conf", "[agent]\ngitsigners = signers\n", 0644, conf,
	    sizeof(conf));
	cr_assert_eq(conf_load(conf, &c, NULL, NULL, err, sizeof(err)), -1);
	cr_expect(strstr(err, "[agent] gitsigners = \"signers\": must be an "
	    "absolute path") != NULL, "%s", err);
}

Test(conf_files, bad_content_names_the_line)
{
	char	 f[128];

	put("signers", GOOD "broken\n", 0644, f, sizeof(f));
	expect_refused(f, "line 3: no key after the principals");
	put("signers", "a@b valid-before=\"yesterday\" " KEY "\n", 0644, f,
	    sizeof(f));
	expect_refused(f, "line 1: option valid-before=\"yesterday\"");
	put("signers", "a@b " KEY "\n\x01\n", 0644, f, sizeof(f));
	expect_refused(f, "line 2: control character");
}

Test(conf_files, refused_when_others_could_write_it)
{
	char	 f[128], sub[128], link[160];

	put("signers", GOOD, 0664, f, sizeof(f));
	expect_refused(f, "the file is writable by group or others");
	cr_assert_eq(chmod(f, 0646), 0);
	expect_refused(f, "writable by group or others");
	cr_assert_eq(chmod(f, 0644), 0);

	/* ... or could replace it */
	cr_assert_eq(chmod(dir, 0777), 0);
	expect_refused(f, "its directory is writable by group or others");
	cr_assert_eq(chmod(dir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/none", dir);
	expect_refused(sub, "No such file or directory");

	/* a symlink is not followed, wherever it points */
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(symlink(f, link), 0);
	expect_refused(link, "is a symbolic link");

	/* a directory, a FIFO (which must not hang the master) */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	expect_refused(sub, "Is a directory");
	snprintf(sub, sizeof(sub), "%s/fifo", dir);
	cr_assert_eq(mkfifo(sub, 0644), 0);
	expect_refused(sub, "not a regular file");
}

Test(conf_files, sticky_directory_accepted)
{
	struct agent_conf	 c;
	struct warns		 ws;
	char			 f[128];

	put("signers", GOOD, 0644, f, sizeof(f));
	cr_assert_eq(chmod(dir, 01777), 0);
	memset(&ws, 0, sizeof(ws));
	cr_expect_eq(check_with(&c, f, &ws), 0, "%s", err);
	conf_free(&c);
	cr_assert_eq(chmod(dir, 0755), 0);
}

Test(conf_files, refused_when_owned_by_another_user)
{
	struct passwd	*pw;
	char		 f[128];

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	cr_assert_not_null(pw = getpwnam("nobody"));
	put("signers", GOOD, 0644, f, sizeof(f));
	cr_assert_eq(chown(f, pw->pw_uid, (gid_t)-1), 0);
	expect_refused(f, "the file is owned by uid");
	cr_assert_eq(chown(f, 0, (gid_t)-1), 0);
	cr_assert_eq(chown(dir, pw->pw_uid, (gid_t)-1), 0);
	expect_refused(f, "its directory is owned by uid");
	cr_assert_eq(chown(dir, 0, (gid_t)-1), 0);
}

/*
 * A directory above, at any depth, that another user owns: that user
 * could rename it away and put one of its own in its place between a
 * check and the open.  Refused, as the whole config is (test_conf).
 */
Test(conf_files, refused_below_another_users_directory)
{
	struct passwd	*pw;
	char		 upper[128], lower[128], f[192];
	FILE		*fp;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	cr_assert_not_null(pw = getpwnam("nobody"));
	snprintf(upper, sizeof(upper), "%s/theirs", dir);
	snprintf(lower, sizeof(lower), "%s/ours", upper);
	snprintf(f, sizeof(f), "%s/signers", lower);
	cr_assert_eq(mkdir(upper, 0755), 0);
	cr_assert_eq(mkdir(lower, 0755), 0);
	cr_assert_not_null(fp = fopen(f, "w"));
	cr_assert_geq(fputs(GOOD, fp), 0);
	cr_assert_eq(fclose(fp), 0);
	expect_refused_none(f);
	cr_assert_eq(chown(upper, pw->pw_uid, (gid_t)-1), 0);
	expect_refused(f, "not owned by root");
	expect_refused(f, upper);
}

Test(conf_files, size_bounded)
{
	char	*big, f[128];
	size_t	 n = CONF_FILE_MAX + 10;

	cr_assert_not_null(big = malloc(n + 1));
	memset(big, '#', n);
	big[n] = '\0';
	put("signers", big, 0644, f, sizeof(f));
	free(big);
	expect_refused(f, "bytes, at most");
}
