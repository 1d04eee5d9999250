/*
 * The signature check of the gitpull operations ([agent] gitsigners)
 * against real git, real ssh-keygen keys and real repositories: what is
 * signed by a trusted key is checked out; what is unsigned, signed by
 * another key, by a key trusted for another e-mail, by a key whose line
 * expired (even on a commit dated back into its validity) is not, and
 * leaves the checkout where it was; an update to a signed commit that
 * does not descend from the one checked out (the branch moved back, a
 * history of its own force-pushed, with signed tags too) is refused
 * likewise, and so is a plugin moved to a repository that does not
 * carry the history forward; a checkout's own .git/config cannot change
 * the verdict; signed tags instead of signed commits.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "sandbox.h"
#include "workers/gitpull/gitpull_cmd.h"
#include "workers/gitpull/gitpull_op.h"

#include "gitpull_fixture.h"

#define NS	"pool.loda"
#define DEV	"dev@example.com"

struct fx {
	struct src_repo		 s;
	char			 co[PATH_MAX];		/* the checkout */
	char			 good[PATH_MAX];	/* private keys */
	char			 other[PATH_MAX];
	char			*signers;		/* the file's text */
	struct gitpull_conf	 gc;
	struct gitop_stats	 st;
};

static char *
read_text(const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	cr_assert_not_null(buf = calloc(1, 8192));
	n = fread(buf, 1, 8191, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The public key of `key` as one allowed-signers line for `principals`. */
static void
add_signer(struct fx *f, const char *principals, const char *options,
    const char *key)
{
	char	 path[PATH_MAX + 8], *pub, *n;
	size_t	 len;

	snprintf(path, sizeof(path), "%s.pub", key);
	pub = read_text(path);
	pub[strcspn(pub, "\n")] = '\0';
	len = (f->signers != NULL ? strlen(f->signers) : 0) +
	    strlen(principals) + strlen(options) + strlen(pub) + 4;
	cr_assert_not_null(n = calloc(1, len + 1));
	snprintf(n, len + 1, "%s%s %s%s%s\n", f->signers != NULL ?
	    f->signers : "", principals, options, options[0] != '\0' ? " " :
	    "", pub);
	free(f->signers);
	free(pub);
	f->signers = n;
	f->gc.signers = f->signers;
}

static void
fx_init(struct fx *f)
{
	struct agent_conf	 c;
	char			 err[256];

	memset(f, 0, sizeof(*f));
	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
		cr_skip_test("no ssh-keygen (package openssh-client)");
	src_repo_init(&f->s, "gitpull-sign");
	snprintf(f->co, sizeof(f->co), "%s/plugins/%s/proj", f->s.dir, NS);
	snprintf(f->good, sizeof(f->good), "%s/good", f->s.dir);
	snprintf(f->other, sizeof(f->other), "%s/other", f->s.dir);
	sh("ssh-keygen -q -t ed25519 -N '' -C good -f '%s' && "
	    "ssh-keygen -q -t ed25519 -N '' -C other -f '%s'", f->good,
	    f->other);

	cr_assert_eq(conf_defaults(&c), 0);
	snprintf(c.pluginsdir, sizeof(c.pluginsdir), "%s/plugins", f->s.dir);
	snprintf(c.git, sizeof(c.git), "file://%s/src/%%s.git", f->s.dir);
	c.gittimeout = 10;
	cr_assert_eq(gitpull_conf_from(&f->gc, &c, "", "", err, sizeof(err)),
	    0, "%s", err);
	conf_free(&c);
	cr_assert_eq(gitpull_find_git(f->gc.git, sizeof(f->gc.git)), 0);
	cr_assert_eq(gitpull_find_program("ssh-keygen", f->gc.sshkeygen,
	    sizeof(f->gc.sshkeygen)), 0);
	strcpy(f->gc.signers_path, "/etc/agent/allowed_signers");
}

static void
fx_free(struct fx *f)
{
	src_repo_free(&f->s);
	free(f->signers);
}

/*
 * A commit of the plugin echoing `what`, by `email`, signed with `key`
 * (NULL: unsigned), pushed to release.  `env`: more variables for git.
 */
static void
push(struct fx *f, const char *what, const char *key, const char *email,
    const char *env)
{
	char	 sign[PATH_MAX + 80];

	if (key != NULL)
		snprintf(sign, sizeof(sign), "-c gpg.format=ssh -c "
		    "user.signingkey='%s.pub' commit -S", key);
	else
		snprintf(sign, sizeof(sign), "commit");
	sh("cd '%s' && printf '#!/bin/sh\\necho %s\\n' > plugin && "
	    "git add -A && %s git -c user.name=d -c user.email=%s %s -q "
	    "-m '%s' && git push -q -f '%s' HEAD:refs/heads/release",
	    f->s.work, what, env != NULL ? env : "", email, sign, what,
	    f->s.bare);
}

/* An annotated tag on the work tree's HEAD, signed with `key` or not. */
static void
tag(struct fx *f, const char *name, const char *key, const char *email)
{
	char	 sign[PATH_MAX + 80];

	if (key != NULL)
		snprintf(sign, sizeof(sign), "-c gpg.format=ssh -c "
		    "user.signingkey='%s.pub' tag -s", key);
	else
		snprintf(sign, sizeof(sign), "tag -a");
	sh("cd '%s' && git -c user.name=r -c user.email=%s %s -m 'rel %s' "
	    "'%s' && git push -q -f '%s' 'refs/tags/%s'", f->s.work, email,
	    sign, name, name, f->s.bare, name);
}

struct result {
	int		 done;
	struct git_resp	 r;
};

static void
op_cb(struct gitop *op, const struct git_resp *r, void *arg)
{
	struct result	*res = arg;

	res->r = *r;
	res->done = 1;
}

static void
guard_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cr_assert_fail("the git operation did not finish in time");
}

static struct git_resp
run(struct fx *f, int update)
{
	struct ev_loop	*loop;
	struct result	 res;
	struct git_resp	 now;
	struct gitop	*op;
	ev_timer	 guard;

	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	memset(&res, 0, sizeof(res));
	op = gitpull_op_start(loop, &f->gc, NULL, &f->st, NS, "grp/proj",
	    "proj", update, op_cb, &res, &now);
	if (op == NULL) {
		ev_loop_destroy(loop);
		return now;
	}
	/* a hang is the failure here, not a slow machine */
	ev_timer_init(&guard, guard_cb, 60., 0.);
	ev_timer_start(loop, &guard);
	while (!res.done)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	ev_loop_destroy(loop);
	return res.r;
}

/* Nothing of a check or a clone left behind in pluginsdir. */
static void
assert_no_leftovers(const struct fx *f)
{
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	snprintf(p, sizeof(p), "%s/plugins", f->s.dir);
	cr_assert_not_null(d = opendir(p));
	while ((de = readdir(d)) != NULL)
		cr_expect(strncmp(de->d_name, GITPULL_SIGNERS_PREFIX,
		    strlen(GITPULL_SIGNERS_PREFIX)) != 0, "left: %s",
		    de->d_name);
	closedir(d);
	snprintf(p, sizeof(p), "%s/plugins/%s", f->s.dir, NS);
	if ((d = opendir(p)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		cr_expect(strncmp(de->d_name, ".clone-", 7) != 0, "left: %s",
		    de->d_name);
	closedir(d);
}

/* The .clone-* directories in the namespace: clones, or checkouts aside. */
static int
clones_aside(const struct fx *f)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/plugins/%s", f->s.dir, NS);
	return clones_in(p);
}

static void
assert_untrusted(const struct git_resp *r, int kept, const char *why)
{
	cr_assert(!r->ok, "accepted; signer %s", r->signer);
	cr_assert(r->untrusted, "not a refusal: %s", r->error);
	cr_expect_eq(r->kept, kept, "%s", r->error);
	cr_expect_eq(strncmp(r->error, "untrusted: ", 11), 0, "%s", r->error);
	cr_expect(strstr(r->error, why) != NULL, "\"%s\" lacks \"%s\"",
	    r->error, why);
}

static int
exists(const char *p)
{
	struct stat	 st;

	return lstat(p, &st) == 0;
}

Test(gitpull_sign, signed_clone_and_update)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 head[64], co[64];

	fx_init(&f);
	add_signer(&f, DEV, "namespaces=\"git\"", f.good);
	push(&f, "signed", f.good, DEV, NULL);
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.s.work, head, sizeof(head));
	cr_expect_str_eq(r.commit, head);
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, head);
	cr_expect(strncmp(r.signer, DEV " (ED25519 key SHA256:", 33) == 0,
	    "%s", r.signer);
	cr_expect_eq(f.st.verified, 1);
	cr_expect_eq(f.st.clones, 1);

	/* an ensure checks what runs again */
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_eq(f.st.verified, 2);

	/* an update to a newly signed commit switches */
	push(&f, "two", f.good, DEV, NULL);
	head_of(f.s.work, head, sizeof(head));
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, head);
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, head);
	assert_no_leftovers(&f);
	fx_free(&f);
}

Test(gitpull_sign, first_clone_refused_leaves_nothing)
{
	struct fx	 f;
	struct git_resp	 r;

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	/* the fixture's commit: unsigned */
	r = run(&f, 0);
	assert_untrusted(&r, 0, "is not signed");
	cr_expect(strstr(r.error, "untrusted: commit ") != NULL, "%s",
	    r.error);
	cr_expect(!exists(f.co), "the refused clone was put in place");
	assert_no_leftovers(&f);
	cr_expect_eq(f.st.clones, 0);
	cr_expect_eq(f.st.untrusted, 1);

	/* signed by a key nobody listed */
	push(&f, "other", f.other, DEV, NULL);
	r = run(&f, 1);	/* an update with no checkout yet: a clone */
	assert_untrusted(&r, 0, "signed with ED25519 key SHA256:");
	cr_expect(strstr(r.error, "which gitsigners does not trust for that "
	    "e-mail") != NULL, "%s", r.error);
	cr_expect(!exists(f.co));

	/* a trusted key, whose line is for someone else */
	free(f.signers);
	f.signers = NULL;
	add_signer(&f, "ops@example.com", "", f.good);
	push(&f, "good-key", f.good, DEV, NULL);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "by <" DEV ">: no line of gitsigners admits "
	    "that e-mail");
	/* ... or for a pattern that leaves this e-mail out */
	free(f.signers);
	f.signers = NULL;
	add_signer(&f, "*@example.com,!" DEV, "", f.good);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "no line of gitsigners admits");
	/* and one that lets it in */
	free(f.signers);
	f.signers = NULL;
	add_signer(&f, "*@example.com", "", f.good);
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	cr_expect(exists(f.co));
	assert_no_leftovers(&f);
	fx_free(&f);
}

/*
 * git checks a key's validity at the commit's own date, which whoever
 * signs writes: an expired key would sign a commit dated back.  Lines
 * are checked at the time of the check.
 */
Test(gitpull_sign, expired_line_even_when_dated_back)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 all[PATH_MAX], cmd[3 * PATH_MAX];
	FILE		*fp;
	int		 rc;

	fx_init(&f);
	add_signer(&f, DEV, "valid-before=\"20200101Z\"", f.good);
	push(&f, "now", f.good, DEV, NULL);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "the 1 line of gitsigners for that e-mail is "
	    "not valid now");

	push(&f, "backdated", f.good, DEV,
	    "GIT_COMMITTER_DATE='2019-06-01T00:00:00Z'");
	/* git alone takes it: the date is in the window */
	snprintf(all, sizeof(all), "%s/all-signers", f.s.dir);
	cr_assert_not_null(fp = fopen(all, "w"));
	fputs(f.signers, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "git -C '%s' -c gpg.ssh.allowedSignersFile="
	    "'%s' verify-commit HEAD 2>/dev/null", f.s.work, all);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "git should take the backdated commit; the test proves nothing");
	r = run(&f, 0);
	assert_untrusted(&r, 0, "not valid now");
	cr_expect(!exists(f.co));

	/* not yet valid likewise */
	free(f.signers);
	f.signers = NULL;
	add_signer(&f, DEV, "valid-after=\"20991231Z\"", f.good);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "not valid now");
	fx_free(&f);
}

Test(gitpull_sign, update_refused_keeps_the_checkout)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 good[64], co[64], line[64], cmd[PATH_MAX + 32];

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	push(&f, "good", f.good, DEV, NULL);
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, good, sizeof(good));

	push(&f, "unsigned", NULL, DEV, NULL);
	r = run(&f, 1);
	assert_untrusted(&r, 1, "is not signed");
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, good);
	snprintf(cmd, sizeof(cmd), "tail -n 1 '%s/plugin'", f.co);
	sh_out(line, sizeof(line), cmd);
	cr_expect_str_eq(line, "echo good");
	/* and what runs still passes an ensure */
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, good);

	push(&f, "other", f.other, DEV, NULL);
	r = run(&f, 1);
	assert_untrusted(&r, 1, "which gitsigners does not trust");
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, good);

	/* signed again: taken */
	push(&f, "three", f.good, DEV, NULL);
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	sh_out(line, sizeof(line), cmd);
	cr_expect_str_eq(line, "echo three");
	assert_no_leftovers(&f);
	fx_free(&f);
}

/*
 * An update of `f` to a commit that does not descend from `kept`, the
 * one checked out: refused for `why` and still at `kept`, in place and
 * through a clone that would replace the checkout (its .git over twice
 * gitmaxsize), which leaves nothing behind.
 */
static void
assert_not_forward(struct fx *f, const char *why, const char *kept)
{
	struct git_resp	 r;
	char		 co[64];

	r = run(f, 1);
	assert_untrusted(&r, 1, why);
	head_of(f->co, co, sizeof(co));
	cr_expect_str_eq(co, kept);
	f->gc.max_size = 1048576;
	sh("head -c 3000000 /dev/zero > '%s/.git/junk'", f->co);
	r = run(f, 1);
	assert_untrusted(&r, 1, why);
	head_of(f->co, co, sizeof(co));
	cr_expect_str_eq(co, kept);
	assert_no_leftovers(f);
}

/* The server moves the branch back from `v2`, checked out, to `v1`. */
static void
assert_moved_back(struct fx *f, const char *v1, const char *v2)
{
	char	 why[160];

	sh("cd '%s' && git push -q -f '%s' %s:refs/heads/release", f->s.work,
	    f->s.bare, v1);
	snprintf(why, sizeof(why), "commit %.12s does not descend from %.12s",
	    v1, v2);
	assert_not_forward(f, why, v2);
}

/* An update of `f` taken: `want` answered and checked out. */
static void
assert_taken(struct fx *f, const char *want)
{
	struct git_resp	 r;
	char		 co[64];

	r = run(f, 1);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, want);
	head_of(f->co, co, sizeof(co));
	cr_expect_str_eq(co, want);
}

/* `f` made, its key trusted, and signed v1 cloned: v1's commit. */
static void
fx_signed_v1(struct fx *f, char *v1, size_t len)
{
	struct git_resp	 r;

	fx_init(f);
	add_signer(f, DEV, "", f->good);
	push(f, "v1", f->good, DEV, NULL);
	r = run(f, 0);
	cr_assert(r.ok, "%s", r.error);
	head_of(f->co, v1, len);
}

/*
 * Every commit signed by the trusted key, and the server moves the branch
 * back to an older one: refused, in place and through a clone that
 * would replace the checkout (its .git over twice gitmaxsize).
 */
Test(gitpull_sign, a_branch_moved_back_is_refused)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 v1[64], v2[64], v3[64];

	fx_signed_v1(&f, v1, sizeof(v1));
	push(&f, "v2", f.good, DEV, NULL);
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, v2, sizeof(v2));
	cr_assert_str_neq(v1, v2);

	assert_moved_back(&f, v1, v2);

	/* forward again, through the clone: taken */
	push(&f, "v3", f.good, DEV, NULL);
	head_of(f.s.work, v3, sizeof(v3));
	assert_taken(&f, v3);
	fx_free(&f);
}

/*
 * The server force-pushes a history of its own, every commit signed by
 * the trusted key, that the checked-out commit is no part of: refused
 * like a branch moved back, in place and through a clone that would
 * replace the checkout.  The same commit again is no change; a commit on
 * top of the one checked out is taken; the operator takes the new
 * history by removing the checkout.
 */
Test(gitpull_sign, a_rewritten_history_is_refused)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 v1[64], v2[64], alien[64], why[160];

	fx_signed_v1(&f, v1, sizeof(v1));

	/* nothing new upstream: the commit checked out is taken again */
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, v1);

	/* a fast-forward, signed: taken */
	push(&f, "v2", f.good, DEV, NULL);
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, v2, sizeof(v2));
	cr_expect_str_eq(r.commit, v2);

	/* a root commit of its own, signed, force-pushed over release */
	sh("cd '%s' && git checkout -q --orphan alien && git rm -rfq . && "
	    "printf '#!/bin/sh\\necho alien\\n' > plugin && git add -A && "
	    "git -c user.name=d -c user.email=" DEV " -c gpg.format=ssh -c "
	    "user.signingkey='%s.pub' commit -S -q -m alien && "
	    "git push -q -f '%s' HEAD:refs/heads/release", f.s.work, f.good,
	    f.s.bare);
	head_of(f.s.work, alien, sizeof(alien));
	snprintf(why, sizeof(why), "commit %.12s does not descend from %.12s",
	    alien, v2);
	cr_expect_eq(f.st.untrusted, 0);
	assert_not_forward(&f, why, v2);
	cr_expect_eq(f.st.untrusted, 2);
	sh("rm -f '%s/.git/junk'", f.co);
	/* what runs still passes an ensure */
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, v2);

	/* the operator's way to take it: the checkout removed, cloned */
	sh("rm -rf '%s'", f.co);
	assert_taken(&f, alien);
	fx_free(&f);
}

/* The repository a checkout is of. */
static void
origin_of(const char *dir, char *out, size_t len)
{
	char	 cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "git -C '%s' config remote.origin.url",
	    dir);
	sh_out(out, len, cmd);
}

/*
 * The registry (or the URL template) moves the plugin to another
 * repository, a mirror holding only an older signed release: refused,
 * by an update and by an ensure (a restart), and the checkout stays as
 * it was; a mirror that carries the history forward is taken, the
 * checkout now of it.
 */
Test(gitpull_sign, a_plugin_moved_to_an_older_release_is_refused)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 v1[64], v2[64], v3[64], co[64], why[160];
	char		 mirror[PATH_MAX], origin[PATH_MAX + 16];

	fx_signed_v1(&f, v1, sizeof(v1));
	push(&f, "v2", f.good, DEV, NULL);
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, v2, sizeof(v2));

	snprintf(mirror, sizeof(mirror), "%s/mirror/grp/proj.git", f.s.dir);
	sh("git init -q --bare '%s' && cd '%s' && git push -q '%s' "
	    "%s:refs/heads/release", mirror, f.s.work, mirror, v1);
	snprintf(f.gc.url_template, sizeof(f.gc.url_template),
	    "file://%s/mirror/%%s.git", f.s.dir);
	snprintf(why, sizeof(why), "commit %.12s does not descend from %.12s",
	    v1, v2);
	r = run(&f, 1);
	assert_untrusted(&r, 1, why);
	cr_expect(strstr(r.error, "a plugin moved to file://") != NULL, "%s",
	    r.error);
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, v2);
	r = run(&f, 0);
	assert_untrusted(&r, 0, why);
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, v2);
	origin_of(f.co, origin, sizeof(origin));
	cr_expect(strstr(origin, "/src/grp/proj.git") != NULL, "%s", origin);
	assert_no_leftovers(&f);

	/* the mirror carries it forward: taken, and the checkout is of it */
	push(&f, "v3", f.good, DEV, NULL);
	head_of(f.s.work, v3, sizeof(v3));
	sh("cd '%s' && git push -q '%s' HEAD:refs/heads/release", f.s.work,
	    mirror);
	assert_taken(&f, v3);
	origin_of(f.co, origin, sizeof(origin));
	cr_expect(strstr(origin, "/mirror/grp/proj.git") != NULL, "%s",
	    origin);
	/* (the old checkout, swapped aside, waits for the next sweep) */
	fx_free(&f);
}

/*
 * With gitsignedtags the rule holds for the commit a signed tag names:
 * the branch moved back to an older commit that carries its own signed
 * tag is refused.
 */
Test(gitpull_sign, signed_tags_moved_back_are_refused)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 v1[64], v2[64], v3[64];

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	f.gc.signed_tags = 1;
	push(&f, "v1", f.good, DEV, NULL);
	tag(&f, "v1", f.good, DEV);
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, v1, sizeof(v1));
	push(&f, "v2", f.good, DEV, NULL);
	tag(&f, "v2", f.good, DEV);
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, v2, sizeof(v2));
	cr_assert_str_neq(v1, v2);

	assert_moved_back(&f, v1, v2);
	sh("rm -f '%s/.git/junk'", f.co);

	/* forward, tagged: taken */
	push(&f, "v3", f.good, DEV, NULL);
	tag(&f, "v3", f.good, DEV);
	head_of(f.s.work, v3, sizeof(v3));
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, v3);
	cr_expect(strncmp(r.signer, "tag v3: ", 8) == 0, "%s", r.signer);
	/*
	 * With gitsignedtags an update clones anew (a fetch of the tags
	 * wrote a file per tag): the checkout replaced waits aside for the
	 * next clone, one at most.
	 */
	cr_expect_leq(clones_aside(&f), 1);
	fx_free(&f);
}

/* Signatures turned on over checkouts made before: what runs is checked. */
Test(gitpull_sign, ensure_checks_an_old_checkout)
{
	struct fx	 f;
	struct git_resp	 r;

	fx_init(&f);
	r = run(&f, 0);		/* no gitsigners yet: cloned unchecked */
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.signer, "");
	add_signer(&f, DEV, "", f.good);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "is not signed");
	cr_expect(exists(f.co));	/* there, but not to be run */
	fx_free(&f);
}

/*
 * The checkout's own config names a permissive signers file and a fake
 * ssh-keygen that says "Good" to everything; git alone believes it.
 */
Test(gitpull_sign, repository_config_cannot_make_it_pass)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 good[64], co[64], fake[PATH_MAX], perm[PATH_MAX];
	char		 cmd[4 * PATH_MAX];
	FILE		*fp;
	char		*pub;
	int		 rc;

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	push(&f, "good", f.good, DEV, NULL);
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, good, sizeof(good));

	snprintf(fake, sizeof(fake), "%s/fake-ssh-keygen", f.s.dir);
	cr_assert_not_null(fp = fopen(fake, "w"));
	/*
	 * -Y verify reads the signed payload git writes to it: exiting
	 * first would leave git with EPIPE, and git would fail the check
	 * for that reason, not for the signature.
	 */
	fprintf(fp, "#!/bin/sh\ncase \"$*\" in\n"
	    "*find-principals*) echo " DEV ";;\n*) cat >/dev/null; "
	    "echo 'Good \"git\" signature for " DEV " with ED25519 key "
	    "SHA256:fake';;\nesac\nexit 0\n");
	fclose(fp);
	cr_assert_eq(chmod(fake, 0755), 0);
	snprintf(perm, sizeof(perm), "%s/permissive", f.s.dir);
	snprintf(cmd, sizeof(cmd), "%s.pub", f.other);
	pub = read_text(cmd);
	cr_assert_not_null(fp = fopen(perm, "w"));
	fprintf(fp, "* %s", pub);
	fclose(fp);
	free(pub);
	sh("git -C '%s' config gpg.format ssh && "
	    "git -C '%s' config gpg.ssh.program '%s' && "
	    "git -C '%s' config gpg.ssh.allowedSignersFile '%s' && "
	    "git -C '%s' config gpg.program '%s'", f.co, f.co, fake, f.co,
	    perm, f.co, fake);

	/* signed by the other key: the fake, or the permissive file, pass */
	push(&f, "other", f.other, DEV, NULL);
	sh("git -C '%s' fetch -q origin", f.co);
	snprintf(cmd, sizeof(cmd), "git -C '%s' verify-commit origin/release "
	    ">/dev/null 2>&1", f.co);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "the hostile config does not fool git; the test proves nothing");
	r = run(&f, 1);
	assert_untrusted(&r, 1, "which gitsigners does not trust");
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, good);

	/* unsigned: nothing to fake */
	push(&f, "unsigned", NULL, DEV, NULL);
	r = run(&f, 1);
	assert_untrusted(&r, 1, "is not signed");
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, good);
	fx_free(&f);
}

Test(gitpull_sign, signed_tags)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 head[64], co[64];

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	f.gc.signed_tags = 1;

	/* a signed commit is not enough */
	push(&f, "commit-only", f.good, DEV, NULL);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "carries no annotated tag (gitsignedtags = "
	    "yes)");
	/* a lightweight tag cannot be signed */
	sh("cd '%s' && git tag light && git push -q '%s' refs/tags/light",
	    f.s.work, f.s.bare);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "only lightweight ones");
	/* an annotated tag, unsigned or by another key */
	tag(&f, "v0", NULL, DEV);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "tag v0 is not signed");
	tag(&f, "v0b", f.other, DEV);
	r = run(&f, 0);
	assert_untrusted(&r, 0, "none of the 2 tags on commit");
	cr_expect(!exists(f.co));

	/* a signed tag on the tip: cloned */
	tag(&f, "v1", f.good, DEV);
	head_of(f.s.work, head, sizeof(head));
	r = run(&f, 0);
	cr_assert(r.ok, "%s", r.error);
	cr_expect_str_eq(r.commit, head);
	cr_expect(strncmp(r.signer, "tag v1: " DEV " (", 24) == 0, "%s",
	    r.signer);

	/* an update without a tag on the new tip: refused, kept */
	push(&f, "untagged", f.good, DEV, NULL);
	r = run(&f, 1);
	assert_untrusted(&r, 1, "carries no annotated tag");
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, head);
	/* tagged: fetched with the tags, taken */
	tag(&f, "v2", f.good, DEV);
	head_of(f.s.work, head, sizeof(head));
	r = run(&f, 1);
	cr_assert(r.ok, "%s", r.error);
	head_of(f.co, co, sizeof(co));
	cr_expect_str_eq(co, head);
	/* the tag deleted upstream: gone here too at the next update */
	sh("git -C '%s' tag -d v2 >/dev/null", f.s.bare);
	r = run(&f, 1);
	assert_untrusted(&r, 1, "carries no annotated tag");
	assert_no_leftovers(&f);
	fx_free(&f);
}

Test(gitpull_sign, no_ssh_keygen_or_bad_signers_fail_clearly)
{
	struct fx	 f;
	struct git_resp	 r;

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	push(&f, "good", f.good, DEV, NULL);
	f.gc.sshkeygen[0] = '\0';
	r = run(&f, 0);
	cr_assert(!r.ok);
	cr_expect(!r.untrusted, "%s", r.error);
	cr_expect(strstr(r.error, "no ssh-keygen found") != NULL, "%s",
	    r.error);
	cr_expect(!exists(f.co));
	assert_no_leftovers(&f);
	cr_assert_eq(gitpull_find_program("ssh-keygen", f.gc.sshkeygen,
	    sizeof(f.gc.sshkeygen)), 0);

	f.gc.signers = "dev@example.com\n";
	r = run(&f, 0);
	cr_assert(!r.ok);
	cr_expect(strstr(r.error, "[agent] gitsigners = \"/etc/agent/allowed_"
	    "signers\": line 1: no key") != NULL, "%s", r.error);
	fx_free(&f);
}

/* Git, ssh-keygen and the check under the filter gitpull runs with. */
Test(gitpull_sign, works_under_the_seccomp_filter)
{
	struct fx	 f;
	struct git_resp	 r;
	char		 err[256];
	pid_t		 pid;
	int		 st;

	fx_init(&f);
	add_signer(&f, DEV, "", f.good);
	push(&f, "good", f.good, DEV, NULL);
	if ((pid = fork()) == 0) {
		if (sandbox_seccomp(SANDBOX_FILTER_DENYLIST, err,
		    sizeof(err)) == -1)
			_exit(2);
		r = run(&f, 0);
		_exit(r.ok ? 0 : 3);
	}
	cr_assert_neq(pid, -1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert(exists(f.co));
	fx_free(&f);
}
