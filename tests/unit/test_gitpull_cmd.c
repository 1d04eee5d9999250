/* The gitpull worker's command lines: names, URL, argv, environment. */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "workers/gitpull/gitpull_cmd.h"
#include "workers/gitpull/gitpull_du.h"

static void
conf_for(struct gitpull_conf *gc, const char *tmpl)
{
	struct agent_conf	 c;
	char			 err[256];

	cr_assert_eq(conf_defaults(&c), 0);
	strcpy(c.pluginsdir, "/srv/plugins");
	strcpy(c.git, tmpl);
	cr_assert_eq(gitpull_conf_from(gc, &c, "/usr/bin/git", "", err,
	    sizeof(err)), 0, "%s", err);
	conf_free(&c);
}

Test(gitpull_cmd, conf_from)
{
	struct gitpull_conf	 gc;
	struct agent_conf	 c;
	char			 err[256];

	conf_for(&gc, "git://h/%s.git");
	cr_assert_str_eq(gc.branch, "release");
	cr_assert_eq(gc.timeout, 120.0);
	cr_assert_str_eq(gc.gitconfig, "/srv/plugins/" GITPULL_CONFIG_FILE);

	cr_assert_eq(conf_defaults(&c), 0);
	strcpy(c.pluginsdir, "relative");
	cr_assert_eq(gitpull_conf_from(&gc, &c, "/usr/bin/git", "", err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "absolute") != NULL, "%s", err);
	conf_free(&c);
}

Test(gitpull_cmd, repo_names)
{
	cr_assert(gitpull_repo_valid("plugins/mysql"));
	cr_assert(gitpull_repo_valid("a-b_c.d/x.y"));
	cr_assert(!gitpull_repo_valid("mysql"));
	cr_assert(!gitpull_repo_valid("a/b/c"));
	cr_assert(!gitpull_repo_valid("/mysql"));
	cr_assert(!gitpull_repo_valid("plugins/"));
	cr_assert(!gitpull_repo_valid("../mysql"));
	cr_assert(!gitpull_repo_valid("plugins/.."));
	cr_assert(!gitpull_repo_valid("-x/mysql"));
	cr_assert(!gitpull_repo_valid("plugins/-mysql"));
	/* hidden names are gitpull's own */
	cr_assert(!gitpull_repo_valid("plugins/.clone-x3-abcdef"));
	cr_assert(!gitpull_repo_valid(".config/git"));
	cr_assert(!gitpull_repo_valid("plu gins/mysql"));
	cr_assert(!gitpull_repo_valid("plugins/my;sql"));
	cr_assert(!gitpull_repo_valid(""));
}

Test(gitpull_cmd, branch_names)
{
	cr_assert(gitpull_branch_valid("release"));
	cr_assert(gitpull_branch_valid("feature/x-1.2"));
	cr_assert(!gitpull_branch_valid(""));
	cr_assert(!gitpull_branch_valid("-f"));
	cr_assert(!gitpull_branch_valid("a..b"));
	cr_assert(!gitpull_branch_valid(".hidden"));
	cr_assert(!gitpull_branch_valid("x/"));
	cr_assert(!gitpull_branch_valid("x@{1}"));
	cr_assert(!gitpull_branch_valid("x.lock"));
	cr_assert(!gitpull_branch_valid("a b"));
	cr_assert(!gitpull_branch_valid("a:b"));
}

Test(gitpull_cmd, url_from_template)
{
	char	 url[256], err[256];

	cr_assert_eq(gitpull_url("git://git@git.test.com/%s.git",
	    "plugins/mysql", url, sizeof(url), err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(url, "git://git@git.test.com/plugins/mysql.git");
	cr_assert_eq(gitpull_url("/srv/git/%s.git", "g/p", url, sizeof(url),
	    err, sizeof(err)), 0);
	cr_assert_str_eq(url, "/srv/git/g/p.git");
	cr_assert_eq(gitpull_url("%s", "g/p", url, sizeof(url), err,
	    sizeof(err)), 0);
	cr_assert_str_eq(url, "g/p");

	cr_assert_eq(gitpull_url("", "g/p", url, sizeof(url), err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "[agent] git is not set");
	cr_assert_eq(gitpull_url("git://h/g.git", "g/p", url, sizeof(url),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "%s once") != NULL, "%s", err);
	cr_assert_eq(gitpull_url("git://h/%s/%s.git", "g/p", url,
	    sizeof(url), err, sizeof(err)), -1);
	cr_assert_eq(gitpull_url("git://h/%d/%s.git", "g/p", url,
	    sizeof(url), err, sizeof(err)), -1);
	cr_assert_eq(gitpull_url("git://h/%s%", "g/p", url, sizeof(url),
	    err, sizeof(err)), -1);
	cr_assert_eq(gitpull_url("git://h/\n%s", "g/p", url, sizeof(url),
	    err, sizeof(err)), -1);
	cr_assert_eq(gitpull_url("-u%s", "g/p", url, sizeof(url), err,
	    sizeof(err)), -1);
	/* the repo is checked here too */
	cr_assert_eq(gitpull_url("git://h/%s.git", "../../etc", url,
	    sizeof(url), err, sizeof(err)), -1);
	cr_assert(strstr(err, "group/project") != NULL, "%s", err);
	cr_assert_eq(gitpull_url("git://h/%s.git", "g/p", url, 12, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "too long") != NULL, "%s", err);
}

Test(gitpull_cmd, url_redacted)
{
	char	 out[256];

	gitpull_url_redact("https://bob:s3cret@git.example/g/p.git", out,
	    sizeof(out));
	cr_assert_str_eq(out, "https://***@git.example/g/p.git");
	gitpull_url_redact("https://git.example/a@b/p.git", out,
	    sizeof(out));
	cr_assert_str_eq(out, "https://git.example/a@b/p.git");
	gitpull_url_redact("git@host:g/p.git", out, sizeof(out));
	cr_assert_str_eq(out, "git@host:g/p.git");
}

Test(gitpull_cmd, url_credentials_out_of_the_url)
{
	static struct gitpull_conf	 gc;
	struct gitpull_env		 env;
	struct gitpull_argv		 a;
	const char			*args[] = { "fetch", NULL };
	char				 bare[256], err[256];
	size_t				 i;
	int				 helper = 0;

	cr_assert_eq(gitpull_url_creds("https://bob:s%3Acr%40t@git.example:8443"
	    "/a@b/p.git", bare, sizeof(bare), &gc, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(bare, "https://git.example:8443/a@b/p.git");
	cr_assert_str_eq(gc.cred_match, "https://git.example:8443");
	cr_assert_str_eq(gc.cred_user, "bob");
	cr_assert_str_eq(gc.cred_pass, "s:cr@t");
	cr_assert_eq(gc.cred_has_pass, 1);
	/* in the environment and a helper for that server, not on the
	 * command line */
	gitpull_env(&env, &gc);
	cr_assert_eq(gitpull_argv(&a, &gc, NULL, args), 0);
	for (i = 0; env.v[i] != NULL; i++)
		if (strcmp(env.v[i], GITPULL_ENV_PASS "=s:cr@t") == 0)
			break;
	cr_assert_not_null(env.v[i]);
	for (i = 0; i < a.n; i++) {
		cr_assert_null(strstr(a.v[i], "s:cr@t"), "%s", a.v[i]);
		cr_assert_null(strstr(a.v[i], "bob"), "%s", a.v[i]);
		if (strncmp(a.v[i], "credential.https://git.example:8443."
		    "helper=!", 44) == 0)
			helper = 1;
	}
	cr_assert(helper);

	/* a token alone: a user without a password */
	cr_assert_eq(gitpull_url_creds("http://tok@h/g/p.git", bare,
	    sizeof(bare), &gc, err, sizeof(err)), 0);
	cr_assert_str_eq(bare, "http://h/g/p.git");
	cr_assert_str_eq(gc.cred_user, "tok");
	cr_assert_eq(gc.cred_has_pass, 0);
	gitpull_env(&env, &gc);
	for (i = 0; env.v[i] != NULL; i++)
		cr_assert_neq(strncmp(env.v[i], GITPULL_ENV_PASS "=",
		    strlen(GITPULL_ENV_PASS) + 1), 0);

	/* ssh's user is no secret; nothing to take out of the others */
	cr_assert_eq(gitpull_url_creds("ssh://git@h/g/p.git", bare,
	    sizeof(bare), &gc, err, sizeof(err)), 0);
	cr_assert_str_eq(bare, "ssh://git@h/g/p.git");
	cr_assert_str_eq(gc.cred_match, "");
	cr_assert_eq(gitpull_url_creds("https://h/g/p.git", bare,
	    sizeof(bare), &gc, err, sizeof(err)), 0);
	cr_assert_str_eq(bare, "https://h/g/p.git");
	cr_assert_str_eq(gc.cred_match, "");

	/* a line of the credential protocol cannot be smuggled in */
	cr_assert_eq(gitpull_url_creds("https://bob:x%0Ahost=evil@h/g/p.git",
	    bare, sizeof(bare), &gc, err, sizeof(err)), -1);
	cr_assert_str_eq(gc.cred_match, "");
	cr_assert_eq(gitpull_url_creds("https://bob:x%00@h/g/p.git", bare,
	    sizeof(bare), &gc, err, sizeof(err)), -1);

	cr_assert_eq(gitpull_url_strip("https://bob:pw@h/g/p.git", bare,
	    sizeof(bare)), 1);
	cr_assert_str_eq(bare, "https://h/g/p.git");
	cr_assert_eq(gitpull_url_strip("git@h:g/p.git", bare,
	    sizeof(bare)), 0);
	cr_assert_str_eq(bare, "git@h:g/p.git");
}

Test(gitpull_cmd, local_paths)
{
	char	 p[256];

	cr_assert_eq(gitpull_local_path("/srv/g/p.git", p, sizeof(p)), 1);
	cr_assert_str_eq(p, "/srv/g/p.git");
	cr_assert_eq(gitpull_local_path("file:///srv/g/p.git", p,
	    sizeof(p)), 1);
	cr_assert_str_eq(p, "/srv/g/p.git");
	cr_assert_eq(gitpull_local_path("git://h/g/p.git", p, sizeof(p)), 0);
	cr_assert_eq(gitpull_local_path("git@h:g/p.git", p, sizeof(p)), 0);
	cr_assert_eq(gitpull_local_path("file://host/g/p.git", p,
	    sizeof(p)), 0);
}

Test(gitpull_cmd, argv_and_env)
{
	struct gitpull_conf	 gc;
	struct gitpull_argv	 a;
	struct gitpull_env	 e;
	const char		*args[] = { "fetch", "--", "/x", NULL };
	const char		*many[GITPULL_ARGV_MAX + 1];
	size_t			 i;
	int			 saw_home = 0, saw_cfg = 0, saw_proto = 0;

	conf_for(&gc, "/x/%s");
	cr_assert_eq(gitpull_argv(&a, &gc, NULL, args), 0);
	cr_assert_str_eq(a.v[0], "/usr/bin/git");
	/* the -c pairs, then the command, then NULL */
	for (i = 1; i + 3 < a.n; i += 2)
		cr_assert_str_eq(a.v[i], "-c");
	cr_assert_str_eq(a.v[a.n - 3], "fetch");
	cr_assert_str_eq(a.v[a.n - 1], "/x");
	cr_assert_null(a.v[a.n]);
	for (i = 0; i < GITPULL_ARGV_MAX; i++)
		many[i] = "x";
	many[i] = NULL;
	cr_assert_eq(gitpull_argv(&a, &gc, NULL, many), -1);

	gitpull_env(&e, &gc);
	for (i = 0; e.v[i] != NULL; i++) {
		cr_assert(strchr(e.v[i], '=') != NULL);
		if (strcmp(e.v[i], "HOME=/srv/plugins") == 0)
			saw_home = 1;
		if (strcmp(e.v[i], "GIT_CONFIG_GLOBAL=/srv/plugins/"
		    GITPULL_CONFIG_FILE) == 0)
			saw_cfg = 1;
		if (strcmp(e.v[i], "GIT_ALLOW_PROTOCOL=file:git:http:https:"
		    "ssh") == 0)
			saw_proto = 1;
		cr_assert(strncmp(e.v[i], "SSH_ASKPASS", 11) != 0);
	}
	cr_assert(i <= GITPULL_ENV_MAX);
	cr_assert(saw_home && saw_cfg && saw_proto);
}

Test(gitpull_cmd, err_tail)
{
	char	 out[64];

	gitpull_err_tail("fatal: repository 'x' does not exist\n", out,
	    sizeof(out));
	cr_assert_str_eq(out, "fatal: repository 'x' does not exist");
	gitpull_err_tail("a\n\n\tb  \n", out, sizeof(out));
	cr_assert_str_eq(out, "a / b");
	gitpull_err_tail("", out, sizeof(out));
	cr_assert_str_eq(out, "");
	gitpull_err_tail("first line that is long enough to be cut off\n"
	    "fatal: the end\n", out, 24);
	cr_assert_str_eq(out, "...off / fatal: the end");
}

static char *
tmpdir(void)
{
	char	 tmpl[] = "/tmp/gitpull-cmd-XXXXXX";
	char	*d = mkdtemp(tmpl);

	cr_assert_not_null(d);
	return strdup(d);
}

static void
touch_dir(const char *dir, const char *name)
{
	char	 p[PATH_MAX], f[PATH_MAX + 8];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(mkdir(p, 0700), 0, "%s", p);
	snprintf(f, sizeof(f), "%s/f", p);
	cr_assert_not_null(fp = fopen(f, "w"));
	fclose(fp);
}

static int
exists(const char *dir, const char *name)
{
	char		 p[PATH_MAX];
	struct stat	 st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

Test(gitpull_cmd, leftover_clones)
{
	char	*d = tmpdir(), ns[PATH_MAX];

	snprintf(ns, sizeof(ns), "%s/pool.loda", d);
	cr_assert_eq(mkdir(ns, 0755), 0);
	touch_dir(ns, ".clone-foo-a1B2c3");
	touch_dir(ns, ".clone-foo-bar-a1B2c3");
	touch_dir(ns, ".clone-foo-toolong1");
	touch_dir(ns, "foo");
	/* one project's leftovers only, not another's with a longer name */
	cr_assert_eq(gitpull_rm_clones(ns, "foo"), 1);
	cr_assert(!exists(ns, ".clone-foo-a1B2c3"));
	cr_assert(exists(ns, ".clone-foo-bar-a1B2c3"));
	cr_assert(exists(ns, ".clone-foo-toolong1"));
	/* at start: all of them, in every ns, and nothing else */
	cr_assert_eq(gitpull_rm_all_clones(d), 2);
	cr_assert(!exists(ns, ".clone-foo-bar-a1B2c3"));
	cr_assert(exists(ns, "foo"));
	cr_assert_eq(gitpull_rmtree(d), 0);
	cr_assert(access(d, F_OK) == -1);
	cr_assert_eq(gitpull_rmtree(d), 0);	/* gone already: fine */
	free(d);
}

Test(gitpull_cmd, rmtree_keeps_symlink_targets)
{
	char	*d = tmpdir(), *keep = tmpdir(), t[PATH_MAX], l[PATH_MAX];

	touch_dir(keep, "precious");
	snprintf(t, sizeof(t), "%s/precious", keep);
	snprintf(l, sizeof(l), "%s/link", d);
	cr_assert_eq(symlink(t, l), 0);
	cr_assert_eq(gitpull_rmtree(d), 0);
	cr_assert(exists(keep, "precious/f"));
	cr_assert_eq(gitpull_rmtree(keep), 0);
	free(d);
	free(keep);
}

/*
 * A tree deeper than a path may be long: a repository makes one from a
 * few bytes of objects, and nftw(3) left it (ENAMETOOLONG) with the
 * plugin failed for good.  Removed whole, with files at every level.
 */
Test(gitpull_cmd, rmtree_takes_a_tree_deeper_than_a_path, .timeout = 60)
{
	char	*d = tmpdir();
	int	 fd, next, f, i;

	cr_assert_geq(fd = open(d, O_RDONLY | O_DIRECTORY), 0);
	for (i = 0; i < 2100; i++) {
		cr_assert_eq(mkdirat(fd, "a", 0755), 0, "level %d", i);
		if (i % 500 == 0) {
			cr_assert_geq(f = openat(fd, "f", O_WRONLY | O_CREAT |
			    O_CLOEXEC, 0644), 0);
			close(f);
		}
		cr_assert_geq(next = openat(fd, "a", O_RDONLY | O_DIRECTORY),
		    0);
		close(fd);
		fd = next;
	}
	close(fd);
	cr_assert_eq(gitpull_rmtree(d), 0);
	cr_assert_eq(access(d, F_OK), -1);
	free(d);
}

/*
 * gitpull_du: the blocks of everything below, symbolic links counted and
 * not followed (a link to a large file adds nothing of it), and a tree
 * deeper than GITPULL_DU_DEPTH refused rather than measured in part.
 */
Test(gitpull_cmd, du_counts_blocks_and_bounds_the_depth)
{
	char	*d = tmpdir(), *big = tmpdir(), p[PATH_MAX];
	int64_t	 empty, used;
	int	 fd, i;

	cr_assert_eq(gitpull_du(d, &empty), 0);
	snprintf(p, sizeof(p), "%s/blob", big);
	cr_assert_geq(fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);
	cr_assert_eq(posix_fallocate(fd, 0, 1 << 20), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/link", d);
	cr_assert_eq(symlink(big, p), 0);
	cr_assert_eq(gitpull_du(d, &used), 0);
	cr_assert_lt(used, empty + 65536, "%lld", (long long)used);

	snprintf(p, sizeof(p), "%s/sub", d);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/data", d);
	cr_assert_geq(fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);
	cr_assert_eq(posix_fallocate(fd, 0, 1 << 20), 0);
	close(fd);
	cr_assert_eq(gitpull_du(d, &used), 0);
	cr_assert_geq(used, empty + (1 << 20), "%lld", (long long)used);
	cr_assert_lt(used, empty + (1 << 20) + 65536, "%lld",
	    (long long)used);

	/* as deep as allowed, then one more */
	cr_assert_geq(fd = open(d, O_RDONLY | O_DIRECTORY), 0);
	for (i = 0; i < GITPULL_DU_DEPTH; i++) {
		int	 next;

		cr_assert_eq(mkdirat(fd, "a", 0755), 0);
		cr_assert_geq(next = openat(fd, "a", O_RDONLY | O_DIRECTORY),
		    0);
		close(fd);
		fd = next;
	}
	cr_assert_eq(gitpull_du(d, &used), 0);
	cr_assert_eq(mkdirat(fd, "a", 0755), 0);
	close(fd);
	cr_assert_eq(gitpull_du(d, &used), -1);
	cr_assert_eq(errno, ELOOP);

	cr_assert_eq(gitpull_du(p, &used), -1);	/* a file */
	cr_assert_eq(gitpull_rmtree(d), 0);
	cr_assert_eq(gitpull_rmtree(big), 0);
	free(d);
	free(big);
}

Test(gitpull_cmd, trust_file)
{
	struct gitpull_trust	 t;
	char			*d = tmpdir(), file[PATH_MAX], err[256];
	char			 buf[4096];
	FILE			*fp;
	size_t			 n;

	snprintf(file, sizeof(file), "%s/%s", d, GITPULL_CONFIG_FILE);
	gitpull_trust_init(&t);
	cr_assert_eq(gitpull_trust_reset(&t, file, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(access(file, R_OK), 0);
	/* remote URLs are not trusted with anything */
	cr_assert_eq(gitpull_trust_url(&t, "git://h/g/p.git", err,
	    sizeof(err)), 0);
	cr_assert_eq(t.paths.n, 0);
	cr_assert_eq(gitpull_trust_url(&t, "file:///nonexistent/g/\"p.git",
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.paths.n, 2);	/* the path and its .git */
	cr_assert_eq(gitpull_trust_url(&t, "file:///nonexistent/g/\"p.git",
	    err, sizeof(err)), 0);
	cr_assert_eq(t.paths.n, 2);	/* once */
	cr_assert_not_null(fp = fopen(file, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_assert(strstr(buf, "[safe]\n") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\tdirectory = \"/nonexistent/g/\\\"p.git\"\n")
	    != NULL, "%s", buf);
	/* a new template starts from nothing */
	cr_assert_eq(gitpull_trust_reset(&t, file, err, sizeof(err)), 0);
	cr_assert_eq(t.paths.n, 0);
	gitpull_trust_free(&t);
	cr_assert_eq(gitpull_rmtree(d), 0);
	free(d);
}

Test(gitpull_cmd, find_git)
{
	char	 p[PATH_MAX];

	cr_assert_eq(gitpull_find_git(p, sizeof(p)), 0);
	cr_assert_eq(p[0], '/');
	cr_assert_eq(access(p, X_OK), 0);
}

Test(gitpull_cmd, find_program)
{
	char	 p[PATH_MAX];

	cr_assert_eq(gitpull_find_program("ssh-keygen", p, sizeof(p)), 0,
	    "openssh-client is a dependency");
	cr_assert_eq(p[0], '/');
	cr_assert_eq(access(p, X_OK), 0);
	cr_assert_eq(gitpull_find_program("no-such-program-xq", p,
	    sizeof(p)), -1);
}

/* The arguments after `git` up to the command: every -c value given. */
static int
has_config(const struct gitpull_argv *a, const char *kv)
{
	size_t	 i;

	for (i = 1; i + 1 < a->n && strcmp(a->v[i], "-c") == 0; i += 2)
		if (strcmp(a->v[i + 1], kv) == 0)
			return 1;
	return 0;
}

Test(gitpull_cmd, verify_argv)
{
	struct gitpull_conf	 gc;
	struct gitpull_argv	 a;
	const char		*args[] = { "verify-commit", "0123abc", NULL };
	static const char *const forced[] = {
		"core.hooksPath=/dev/null",
		"gpg.format=ssh",
		"gpg.program=/bin/false",
		"gpg.openpgp.program=/bin/false",
		"gpg.x509.program=/bin/false",
		"gpg.ssh.revocationKeyring=/dev/null",
		"gpg.minTrustLevel=fully",
		"gpg.ssh.program=/usr/bin/ssh-keygen",
		"gpg.ssh.allowedSignersFile=/srv/plugins/"
		    ".gitpull-signers-Ab12Cd",
		NULL
	};
	size_t			 i;

	conf_for(&gc, "/x/%s");
	/* without ssh-keygen there is no check to make */
	cr_assert_eq(gitpull_argv(&a, &gc, "/srv/plugins/.gitpull-signers-"
	    "Ab12Cd", args), -1);
	strcpy(gc.sshkeygen, "/usr/bin/ssh-keygen");
	cr_assert_eq(gitpull_argv(&a, &gc, "/srv/plugins/.gitpull-signers-"
	    "Ab12Cd", args), 0);
	for (i = 0; forced[i] != NULL; i++)
		cr_expect(has_config(&a, forced[i]), "no -c %s", forced[i]);
	cr_assert_str_eq(a.v[a.n - 2], "verify-commit");
	cr_assert_str_eq(a.v[a.n - 1], "0123abc");
	cr_assert_null(a.v[a.n]);

	/* the other commands get none of it */
	cr_assert_eq(gitpull_argv(&a, &gc, NULL, args), 0);
	cr_expect(has_config(&a, "core.hooksPath=/dev/null"));
	cr_expect(!has_config(&a, "gpg.format=ssh"));
	for (i = 0; i < a.n; i++)
		cr_expect(strncmp(a.v[i], "gpg.", 4) != 0, "%s", a.v[i]);
}

Test(gitpull_cmd, conf_with_signers)
{
	struct gitpull_conf	 gc;
	struct agent_conf	 c;
	char			 err[256];

	cr_assert_eq(conf_defaults(&c), 0);
	strcpy(c.pluginsdir, "/srv/plugins");
	strcpy(c.gitsigners.path, "/etc/agent/signers");
	c.gitsignedtags = 1;
	/* the master always sends the text with the path */
	cr_assert_eq(gitpull_conf_from(&gc, &c, "/usr/bin/git",
	    "/usr/bin/ssh-keygen", err, sizeof(err)), -1);
	cr_expect(strstr(err, "did not come with the config") != NULL, "%s",
	    err);
	c.gitsigners.text = strdup("a@b ssh-ed25519 AAAA\n");
	cr_assert_not_null(c.gitsigners.text);
	cr_assert_eq(gitpull_conf_from(&gc, &c, "/usr/bin/git",
	    "/usr/bin/ssh-keygen", err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(gc.signers);
	cr_expect_neq(gc.signers, c.gitsigners.text);
	cr_expect_str_eq(gc.signers, "a@b ssh-ed25519 AAAA\n");
	cr_expect_str_eq(gc.signers_path, "/etc/agent/signers");
	cr_expect_str_eq(gc.sshkeygen, "/usr/bin/ssh-keygen");
	cr_expect_eq(gc.signed_tags, 1);
	gitpull_conf_free(&gc);
	cr_expect_null(gc.signers);
	conf_free(&c);

	/* off: no text, no check */
	conf_for(&gc, "/x/%s");
	cr_expect_null(gc.signers);
	gitpull_conf_free(&gc);
}

Test(gitpull_cmd, rm_signers_files)
{
	char	 d[] = "/tmp/gitpull-cmd-XXXXXX", p[PATH_MAX];
	FILE	*fp;

	cr_assert_not_null(mkdtemp(d));
	snprintf(p, sizeof(p), "%s/" GITPULL_SIGNERS_PREFIX "Ab12Cd", d);
	cr_assert_not_null(fp = fopen(p, "w"));
	fclose(fp);
	snprintf(p, sizeof(p), "%s/.gitpull.gitconfig", d);
	cr_assert_not_null(fp = fopen(p, "w"));
	fclose(fp);
	cr_assert_eq(gitpull_rm_signers_files(d), 1);
	cr_assert_eq(access(p, F_OK), 0);	/* only those */
	cr_assert_eq(gitpull_rm_signers_files(d), 0);
	cr_assert_eq(gitpull_rmtree(d), 0);
}
