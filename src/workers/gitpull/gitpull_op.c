/*
 * One checkout operation as a chain of git commands; see gitpull_op.h.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "gitpull_du.h"
#include "gitpull_exec.h"
#include "gitpull_op.h"
#include "gitpull_parse.h"
#include "gitpull_verify.h"
#include "items.h"
#include "log.h"
#include "signers.h"

enum step {
	ST_CLONE,	/* missing: clone into op->tmp */
	ST_ORIGIN,	/* which repository the checkout is of */
	ST_SCRUB,	/* ... its URL without a user and password */
	ST_SYMREF,	/* which branch is checked out */
	ST_HAS_LOCAL,	/* is there a local branch of that name */
	ST_HAS_REMOTE,	/* or a remote-tracking one */
	ST_FETCH,	/* fetch the branch from the URL */
	ST_CHECKOUT,	/* switch to the local branch as it is */
	ST_CHECKOUT_NEW,/* branch = the fetched commit, tree reset */
	ST_CLEAN,	/* untracked and ignored files go */
	ST_REVPARSE,	/* the commit to report */
	ST_SIZE,	/* the bytes of a tree, before it is checked out */
	ST_RUNNING,	/* an update: the branch's commit before it */
	ST_HAS_RUNNING,	/* ... is in the clone that would replace it */
	ST_ANCESTOR	/* ... and the commit checked descends from it */
};

static const char *const step_names[] = {
	[ST_CLONE] = "clone",
	[ST_ORIGIN] = "config remote.origin.url",
	[ST_SCRUB] = "config remote.origin.url",
	[ST_SYMREF] = "symbolic-ref",
	[ST_HAS_LOCAL] = "rev-parse",
	[ST_HAS_REMOTE] = "rev-parse",
	[ST_FETCH] = "fetch",
	[ST_CHECKOUT] = "checkout",
	[ST_CHECKOUT_NEW] = "checkout",
	[ST_CLEAN] = "clean",
	[ST_REVPARSE] = "rev-parse HEAD",
	[ST_SIZE] = "ls-tree",
	[ST_RUNNING] = "rev-parse",
	[ST_HAS_RUNNING] = "rev-parse",
	[ST_ANCESTOR] = "merge-base --is-ancestor",
};

struct gitop {
	struct ev_loop		*loop;
	struct gitpull_conf	 conf;
	struct gitpull_trust	*trust;
	struct gitop_stats	*stats;
	char			 ns[256];
	char			 repo[512];
	char			 project[256];
	int			 update;
	gitop_cb		 cb;
	void			*arg;
	char			 nsdir[PATH_MAX];
	char			 dir[PATH_MAX];	/* the checkout */
	char			 tmp[PATH_MAX];	/* the clone; "" = none */
	char			 url[CONF_STR_MAX + 512];
	char			 shown[CONF_STR_MAX + 512]; /* redacted */
	char			 local_ref[CONF_STR_MAX + 16];
	char			 remote_ref[CONF_STR_MAX + 32];
	char			 refspec[2 * CONF_STR_MAX + 64];
	char			 target[CONF_STR_MAX + 32]; /* CHECKOUT_NEW */
	struct gitpull_env	 env;
	enum step		 step;
	struct gexec		*run;
	/* the signature check, with [agent] gitsigners */
	int			 signing;
	struct signers		 signers;
	struct gitverify	*ver;		/* running, or NULL */
	enum step		 after;		/* once it passed */
	enum step		 sized;		/* once ST_SIZE passed */
	char			 size_rev[CONF_STR_MAX + 32];
	/* with gitsigners, an update's branch before it ("" = none): what
	 * it checks out must descend from it */
	char			 running[72];
	char			 rev[CONF_STR_MAX + 32];
	int			 cloning;	/* op->tmp not in place yet */
	int			 replacing;	/* ... and op->dir stays until
						 * it is */
	/* with gitsigners, the checkout is of another repository: the
	 * clone that replaces it must descend from its branch */
	int			 moved;
	char			 was[CONF_STR_MAX + 512];	/* redacted */
	char			 signer[256];
};

static void	 step_done(const struct gexec_result *, void *);
static int	 clone_prepare(struct gitop *, struct git_resp *);
static int	 room_for(struct gitop *, struct git_resp *);

static void
resp_fail(struct git_resp *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
resp_fail(struct git_resp *resp, const char *fmt, ...)
{
	va_list	 ap;

	memset(resp, 0, sizeof(*resp));
	va_start(ap, fmt);
	(void)vsnprintf(resp->error, sizeof(resp->error), fmt, ap);
	va_end(ap);
}

static void
op_free(struct gitop *op)
{
	if (op->tmp[0] != '\0' && gitpull_rmtree(op->tmp) == -1)
		log_warn("%s: remove %s", __func__, op->tmp);
	signers_free(&op->signers);
	/* the URL's password, and the template's */
	explicit_bzero(op, sizeof(*op));
	free(op);
}

static void
op_finish(struct gitop *op, const struct git_resp *resp)
{
	op->cb(op, resp, op->arg);
	op_free(op);
}

static void
op_fail(struct gitop *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
op_fail(struct gitop *op, const char *fmt, ...)
{
	struct git_resp	 resp;
	va_list		 ap;

	memset(&resp, 0, sizeof(resp));
	va_start(ap, fmt);
	(void)vsnprintf(resp.error, sizeof(resp.error), fmt, ap);
	va_end(ap);
	op_finish(op, &resp);
}

/* Start the git command of `step`; -1 with err when it cannot be. */
static int
step_start(struct gitop *op, enum step step, char *err, size_t errlen)
{
	struct gitpull_argv	 a;
	const char		*args[12];
	const char		*cwd = op->cloning ? op->tmp : op->dir;
	size_t			 n = 0;
	char			 why[256];

	op->step = step;
	switch (step) {
	case ST_CLONE:
		/*
		 * --no-local: a local source is read through upload-pack
		 * like a remote one, never hard-linked or copied file by
		 * file (whatever its objects directory holds).
		 */
		args[n++] = "clone";
		args[n++] = "--quiet";
		args[n++] = "--no-local";
		/* nothing in the work tree before its size (and signature)
		 * passed */
		args[n++] = "--no-checkout";
		args[n++] = "--branch";
		args[n++] = op->conf.branch;
		args[n++] = "--";
		args[n++] = op->url;
		args[n++] = op->tmp;
		cwd = op->nsdir;
		break;
	case ST_ORIGIN:
		/* the checkout's own file, as the clone wrote it */
		args[n++] = "config";
		args[n++] = "--local";
		args[n++] = "--no-includes";
		args[n++] = "--get";
		args[n++] = "remote.origin.url";
		break;
	case ST_SCRUB:
		args[n++] = "config";
		args[n++] = "--local";
		args[n++] = "remote.origin.url";
		args[n++] = op->url;
		break;
	case ST_SYMREF:
		args[n++] = "symbolic-ref";
		args[n++] = "--quiet";
		args[n++] = "HEAD";
		break;
	case ST_HAS_LOCAL:
	case ST_HAS_REMOTE:
		args[n++] = "rev-parse";
		args[n++] = "--verify";
		args[n++] = "--quiet";
		args[n++] = step == ST_HAS_LOCAL ? op->local_ref :
		    op->remote_ref;
		break;
	case ST_FETCH:
		/*
		 * From the URL of the config, not the checkout's origin: the
		 * template is what the operator wants now.  The explicit
		 * refspec updates refs/remotes/origin/B whatever the
		 * checkout's fetch config says; + because a branch may be
		 * rewritten upstream (with gitsigners, forward_then then
		 * refuses to check it out).
		 */
		/* and what an earlier one left when it was stopped */
		(void)gitpull_rm_tmp_packs(op->dir);
		/* never with gitsignedtags: fetch_or_clone() clones */
		args[n++] = "fetch";
		args[n++] = "--quiet";
		args[n++] = "--no-tags";
		args[n++] = "--";
		args[n++] = op->url;
		args[n++] = op->refspec;
		break;
	case ST_CHECKOUT:
		args[n++] = "checkout";
		args[n++] = "--quiet";
		args[n++] = "--force";
		args[n++] = op->conf.branch;
		args[n++] = "--";
		break;
	case ST_CHECKOUT_NEW:
		/* on the branch already, this is git reset --hard */
		args[n++] = "checkout";
		args[n++] = "--quiet";
		args[n++] = "--force";
		args[n++] = "-B";
		args[n++] = op->conf.branch;
		args[n++] = op->target;	/* the commit checked, if checked */
		args[n++] = "--";
		break;
	case ST_CLEAN:
		args[n++] = "clean";
		args[n++] = "--quiet";
		args[n++] = "-ffdx";
		break;
	case ST_REVPARSE:
		args[n++] = "rev-parse";
		args[n++] = "--verify";
		args[n++] = "--quiet";
		args[n++] = "HEAD^{commit}";
		break;
	case ST_RUNNING:
	case ST_HAS_RUNNING:
		snprintf(op->rev, sizeof(op->rev), "%s^{commit}",
		    step == ST_RUNNING ? op->local_ref : op->running);
		args[n++] = "rev-parse";
		args[n++] = "--verify";
		args[n++] = "--quiet";
		args[n++] = op->rev;
		break;
	case ST_ANCESTOR:
		args[n++] = "merge-base";
		args[n++] = "--is-ancestor";
		args[n++] = op->running;
		args[n++] = op->target;
		break;
	case ST_SIZE:
		/* a number per file and directory ("-" for a submodule) */
		args[n++] = "ls-tree";
		args[n++] = "-r";
		args[n++] = "-t";
		args[n++] = "--format=%(objectsize)";
		args[n++] = op->size_rev;
		args[n++] = "--";
		break;
	}
	args[n] = NULL;
	if (gitpull_argv(&a, &op->conf, NULL, args) == -1) {
		snprintf(err, errlen, "git %s: too many arguments",
		    step_names[step]);
		return -1;
	}
	op->stats->runs++;
	op->run = gitpull_exec_start(op->loop, op->conf.git, a.v, op->env.v,
	    cwd, op->conf.timeout, op->conf.max_size, step_done, op, why,
	    sizeof(why));
	if (op->run == NULL) {
		op->stats->failures++;
		snprintf(err, errlen, "git %s in %s/%s: cannot start git: %s",
		    step_names[step], op->ns, op->project, why);
		return -1;
	}
	return 0;
}

/* The next command; when it cannot start, the operation is over. */
static void
step_run(struct gitop *op, enum step step)
{
	char	 err[1024];

	if (step_start(op, step, err, sizeof(err)) == -1)
		op_fail(op, "%s", err);
}

/* A failed command: the error says which, where and what git said. */
static void
step_failed(struct gitop *op, const struct gexec_result *r)
{
	char	 tail[700], where[600];

	if (op->step == ST_CLONE)
		snprintf(where, sizeof(where), "git clone of %s into %s/%s",
		    op->shown, op->ns, op->project);
	else if (op->step == ST_FETCH)
		snprintf(where, sizeof(where), "git fetch of %s in %s/%s",
		    op->shown, op->ns, op->project);
	else
		snprintf(where, sizeof(where), "git %s in %s/%s",
		    step_names[op->step], op->ns, op->project);
	op->stats->failures++;
	if (op->step == ST_FETCH && gitpull_rm_tmp_packs(op->dir) == -1)
		log_warn("%s: %s/.git/objects/pack: the failed fetch's "
		    "temporary files", __func__, op->dir);
	if (r->killed) {
		op_fail(op, "%s: stopped (the agent is stopping)", where);
		return;
	}
	if (r->timed_out) {
		op->stats->timeouts++;
		op_fail(op, "%s: timed out after %g s", where,
		    op->conf.timeout);
		return;
	}
	gitpull_err_tail(r->err, tail, sizeof(tail));
	if (strstr(tail, "File too large") != NULL)
		op_fail(op, "%s: a file reached [agent] gitmaxsize (%lld "
		    "bytes): %s", where, (long long)op->conf.max_size, tail);
	else if (strstr(tail, "Out of memory") != NULL ||
	    strstr(tail, "out of memory") != NULL)
		op_fail(op, "%s: git ran out of the memory it may take (%lld "
		    "bytes, twice [agent] gitmaxsize and %lld MiB): %s", where,
		    (long long)GEXEC_DATA(op->conf.max_size),
		    GEXEC_DATA_BASE / (1024 * 1024), tail);
	else if (tail[0] != '\0')
		op_fail(op, "%s: %s", where, tail);
	else if (r->exited)
		op_fail(op, "%s: exit status %d", where, r->status);
	else
		op_fail(op, "%s: killed by signal %d", where, r->status);
}

/*
 * $GIT_DIR/info/attributes, which outranks the tree's .gitattributes:
 * every file is checked out as its blob's bytes.  Otherwise the
 * repository chooses what checkout writes (ident turns each 4-byte
 * $Id$ into 47 bytes, working-tree-encoding=UTF-32LE makes text four
 * times bigger, eol=crlf more, a filter runs a command), past the
 * sizes ST_SIZE summed.  Never through a symlink.  -1 with errno.
 */
static int
attributes_neutral(const char *checkout)
{
	static const char	 attrs[] = "# gitpull: the blobs' bytes, "
	    "whatever .gitattributes says\n"
	    "* -text -ident -filter -working-tree-encoding -eol\n";
	int			 fd, dfd, e;
	ssize_t			 w;

	if ((dfd = open(checkout, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	fd = openat(dfd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	(void)close(dfd);
	if ((dfd = fd) == -1)
		return -1;
	if (mkdirat(dfd, "info", 0755) == -1 && errno != EEXIST) {
		e = errno;
		(void)close(dfd);
		errno = e;
		return -1;
	}
	fd = openat(dfd, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	(void)close(dfd);
	if ((dfd = fd) == -1)
		return -1;
	fd = openat(dfd, "attributes", O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	e = errno;
	(void)close(dfd);
	if (fd == -1) {
		errno = e;
		return -1;
	}
	w = write(fd, attrs, sizeof(attrs) - 1);
	e = errno;
	if (close(fd) == -1 && w != -1) {
		e = errno;
		w = -1;
	}
	if (w != (ssize_t)sizeof(attrs) - 1) {
		errno = w == -1 ? e : EIO;
		return -1;
	}
	return 0;
}

/*
 * `next`, but a checkout only once the tree it writes fits in [agent]
 * gitmaxsize: a small pack can hold a tree of any size (a file of
 * zeros compresses to nothing), so the pack's limit is not enough.
 * The files written are the blobs summed: no attribute converts them.
 */
static void
proceed(struct gitop *op, enum step next)
{
	const char	*where = op->cloning ? op->tmp : op->dir;

	if (next != ST_CHECKOUT && next != ST_CHECKOUT_NEW) {
		step_run(op, next);
		return;
	}
	if (attributes_neutral(where) == -1) {
		op_fail(op, "%s/.git/info/attributes: %s", where,
		    strerror(errno));
		return;
	}
	strlcpy(op->size_rev, next == ST_CHECKOUT ? op->local_ref :
	    op->target, sizeof(op->size_rev));
	op->sized = next;
	step_run(op, ST_SIZE);
}

/*
 * What ls-tree printed: the bytes of every file of the tree, summed into
 * *size; -1 (the operation failed) when it cannot be read.
 */
static int
tree_size(struct gitop *op, const struct gexec_result *r, int64_t *size)
{
	const char	*bad;
	char		 shown[41];

	if (r->out_truncated) {
		op_fail(op, "git ls-tree %s in %s/%s: more files than can be "
		    "counted (over %d bytes of sizes): not checked out",
		    op->size_rev, op->ns, op->project, GEXEC_OUT_MAX);
		return -1;
	}
	if (gitpull_parse_tree_size(r->out, size, &bad) == -1) {
		/* the repository's bytes: no escape reaches the log */
		gitpull_verify_printable(bad, shown, sizeof(shown));
		op_fail(op, "git ls-tree %s in %s/%s: not a size: \"%s\"",
		    op->size_rev, op->ns, op->project, shown);
		return -1;
	}
	return 0;
}

/* The signature check refused what would have been checked out. */
static void
op_untrusted(struct gitop *op, const char *reason)
{
	struct git_resp	 resp;

	memset(&resp, 0, sizeof(resp));
	resp.untrusted = 1;
	/* an update refused leaves the checkout as it was; nothing else */
	resp.kept = op->update && (!op->cloning || op->replacing);
	snprintf(resp.error, sizeof(resp.error), "untrusted: %s", reason);
	op_finish(op, &resp);
}

/*
 * An update with gitsigners: a branch only moves forward.  Any commit a
 * trusted key signed passes the signature check, so a server could
 * otherwise move the branch back to an older signed commit (a bug fixed
 * since) and have it checked out.  What the update checks out must have
 * the branch's commit before it as an ancestor (or be it); a clone that
 * would replace the checkout must hold that commit.
 */
static void
forward_then(struct gitop *op, enum step next)
{
	if (op->running[0] == '\0' || next != ST_CHECKOUT_NEW) {
		proceed(op, next);
		return;
	}
	step_run(op, op->cloning ? ST_HAS_RUNNING : ST_ANCESTOR);
}

static void
not_forward(struct gitop *op)
{
	char	 why[900];

	op->stats->untrusted++;
	if (op->moved)
		snprintf(why, sizeof(why), "commit %.12s does not descend "
		    "from %.12s, the branch's commit checked out from %.200s: "
		    "a plugin moved to %.200s, which does not hold that "
		    "history, is refused (remove the checkout to take it)",
		    op->target, op->running, op->was, op->shown);
	else
		snprintf(why, sizeof(why), "commit %.12s does not descend "
		    "from %.12s, the branch's commit checked out: a branch "
		    "moved back or rewritten is refused (remove the checkout "
		    "to take it)", op->target, op->running);
	op_untrusted(op, why);
}

static void
verify_done(const struct gitpull_verify_result *res, void *arg)
{
	struct gitop	*op = arg;

	op->ver = NULL;
	switch (res->verdict) {
	case GITPULL_VERIFIED:
		strlcpy(op->signer, res->signer, sizeof(op->signer));
		/* exactly the commit that passed, whatever the ref says */
		strlcpy(op->target, res->commit, sizeof(op->target));
		log_debug("%s/%s: commit %.12s signed by %s", op->ns,
		    op->project, res->commit, res->signer);
		forward_then(op, op->after);
		return;
	case GITPULL_UNTRUSTED:
		op_untrusted(op, res->reason);
		return;
	case GITPULL_VERIFY_FAILED:
		/* counted by the check */
		op_fail(op, "signature check in %s/%s: %s", op->ns,
		    op->project, res->reason);
		return;
	}
}

/* `next` once `rev` passed the signature check (at once without one). */
static void
verify_then(struct gitop *op, const char *rev, enum step next)
{
	char	 err[512];

	if (!op->signing) {
		proceed(op, next);
		return;
	}
	op->after = next;
	op->ver = gitpull_verify_start(op->loop, &op->conf, &op->signers,
	    op->env.v, op->cloning ? op->tmp : op->dir, rev, op->stats,
	    verify_done, op, err, sizeof(err));
	if (op->ver == NULL) {
		op->stats->failures++;
		op_fail(op, "signature check in %s/%s: %s", op->ns,
		    op->project, err);
	}
}

/*
 * A clone in place of a checkout that stayed meanwhile: the two swapped
 * at once, so that a run finds one or the other.  The old one keeps its
 * temporary name, .clone-<project>-XXXXXX, until the next clone of the
 * project or the next start of gitpull sweeps it: a run still going in
 * it keeps its files.  A file system that cannot swap has the old one
 * renamed aside first, and put back if the new one cannot take its
 * place.
 */
static int
clone_swap(struct gitop *op)
{
	char	 aside[PATH_MAX];
	int	 e;

	if (renameat2(AT_FDCWD, op->tmp, AT_FDCWD, op->dir,
	    RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* an empty directory of its own, which the rename replaces */
	snprintf(aside, sizeof(aside), "%s/%s%s-XXXXXX", op->nsdir,
	    GITPULL_CLONE_PREFIX, op->project);
	if (mkdtemp(aside) == NULL)
		return -1;
	if (rename(op->dir, aside) == -1) {
		e = errno;
		(void)rmdir(aside);
		errno = e;
		return -1;
	}
	if (rename(op->tmp, op->dir) == -1) {
		e = errno;
		if (rename(aside, op->dir) == -1)
			log_warn("%s: put %s back as %s", __func__, aside,
			    op->dir);
		errno = e;
		return -1;
	}
	return 0;
}

/* The clone is complete (and checked out): now it may be seen and run. */
static void
clone_done(struct gitop *op)
{
	if (op->replacing ? clone_swap(op) == -1 :
	    rename(op->tmp, op->dir) == -1) {
		op_fail(op, "rename %s to %s: %s", op->tmp, op->dir,
		    strerror(errno));
		return;
	}
	op->tmp[0] = '\0';
	op->cloning = 0;
	op->stats->clones++;
	log_info("cloned %s into %s/%s%s", op->shown, op->ns, op->project,
	    op->signing ? " (signature checked)" : "");
	step_run(op, ST_REVPARSE);
}

/*
 * The checkout is of another repository than the one asked for: the
 * plugin moved (in the registry, or the operator's URL template) while
 * no scheduler knew, say across a restart.  It is not ours to keep or to
 * fetch into: it goes, and the repository asked for is cloned in its
 * place (verified first, with gitsigners), so that if that fails nothing
 * of the old one is left to run.
 */
static void
origin_shown(const char *out, char *was, size_t len)
{
	char		 raw[CONF_STR_MAX + 512], shown[sizeof(raw)];

	if (out == NULL) {
		strlcpy(was, "no repository", len);
		return;
	}
	/* the checkout's config, written by whoever could: printable */
	snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(out, "\n"), out);
	gitpull_verify_printable(raw, shown, sizeof(shown));
	gitpull_url_redact(shown, was, len);
}

static void
origin_moved(struct gitop *op, const char *out)
{
	struct git_resp	 now;
	char		 was[CONF_STR_MAX + 512];

	origin_shown(out, was, sizeof(was));
	log_info("%s/%s: the checkout is of %s, not %s: removed, to be cloned "
	    "anew", op->ns, op->project, was, op->shown);
	if (gitpull_rmtree(op->dir) == -1) {
		op_fail(op, "remove %s (a checkout of another repository): %s",
		    op->dir, strerror(errno));
		return;
	}
	if (clone_prepare(op, &now) == -1) {
		op_fail(op, "%s", now.error);
		return;
	}
	step_run(op, ST_CLONE);
}

/*
 * The same with gitsigners: any commit a trusted key signed passes the
 * signature check, so a registry (or a changed URL template) pointing
 * the plugin at another repository holding an older signed release (a
 * mirror, a fork) would roll it back, as a branch moved back would.  So
 * the checkout stays and runs until a clone of the new repository takes
 * its place, and the clone must hold the branch's commit checked out and
 * descend from it (forward_then()), as an update's must: a plugin that
 * moves with its history moves; one moved to a repository of its own is
 * refused until the operator removes the checkout.
 */
static void
origin_moved_signed(struct gitop *op, const char *out)
{
	op->moved = 1;
	origin_shown(out, op->was, sizeof(op->was));
	log_info("%s/%s: the checkout is of %s, not %s: cloned anew beside "
	    "it, to take its place once the clone's commit is signed and "
	    "descends from the one checked out", op->ns, op->project,
	    op->was, op->shown);
	step_run(op, ST_RUNNING);
}

/* A clone to be swapped in for the checkout once it passed. */
static void
clone_replacing(struct gitop *op)
{
	struct git_resp	 now;

	if (clone_prepare(op, &now) == -1) {
		op_fail(op, "%s", now.error);
		return;
	}
	op->replacing = 1;
	step_run(op, ST_CLONE);
}

/*
 * An update fetches into the checkout, unless its .git is over twice
 * [agent] gitmaxsize: every fetch adds a pack (each up to it), and what
 * a rewritten branch leaves behind stays (git keeps unreachable objects
 * two weeks, and merges packs from 50 on), so a repository that keeps
 * rewriting its branch, or a caller of /plugins/update who keeps asking,
 * would fill the disk a pack at a time.  Past it the repository is
 * cloned anew, which holds only what the branch needs, and swapped in
 * once it passed every check; the old checkout runs until then, and
 * stays when the clone fails.  So .git stays under twice gitmaxsize and
 * a pack, and a fresh clone (a pack up to gitmaxsize, its index, git's
 * own index) is not cloned anew at every update.
 */
static void
fetch_or_clone(struct gitop *op)
{
	struct git_resp	 now;
	char		 gitdir[PATH_MAX];
	int64_t		 used;

	/*
	 * With gitsignedtags an update wants the tags too, and a fetch
	 * writes each ref it takes as a file of its own: a server adding a
	 * million tags made a million files (a block and an inode each),
	 * which neither RLIMIT_FSIZE nor gitmaxsize bounds.  A clone writes
	 * them all into one packed-refs, a file RLIMIT_FSIZE bounds, and
	 * holds exactly the server's tags, a tag deleted there gone.
	 */
	if (op->signing && op->conf.signed_tags) {
		clone_replacing(op);
		return;
	}
	snprintf(gitdir, sizeof(gitdir), "%s/.git", op->dir);
	if (gitpull_du(gitdir, &used) == 0) {
		if (used <= 2 * op->conf.max_size) {
			if (room_for(op, &now) == -1)
				op_fail(op, "%s", now.error);
			else
				step_run(op, ST_FETCH);
			return;
		}
		log_info("%s/%s: .git takes %lld bytes, over twice [agent] "
		    "gitmaxsize (%lld): cloned anew instead of fetched into",
		    op->ns, op->project, (long long)used,
		    (long long)op->conf.max_size);
	} else
		log_info("%s/%s: .git cannot be measured (%s): cloned anew "
		    "instead of fetched into", op->ns, op->project,
		    strerror(errno));
	clone_replacing(op);
}

/*
 * Is the checkout's origin (git config's one line) the URL asked for?
 * Their users and passwords aside: those of an older agent's clone
 * (1: to be taken out), or a template whose password changed, which
 * moves nothing.  -1 when another repository.
 */
static int
origin_is(struct gitop *op, const char *out)
{
	char	 line[CONF_STR_MAX + 512], bare[sizeof(line)];
	size_t	 n = strcspn(out, "\n");
	int	 had;

	if (out[n] != '\n' || out[n + 1] != '\0' || n >= sizeof(line))
		return -1;
	memcpy(line, out, n);
	line[n] = '\0';
	had = gitpull_url_strip(line, bare, sizeof(bare));
	explicit_bzero(line, sizeof(line));
	return strcmp(bare, op->url) == 0 ? had : -1;
}

/* The checkout is of the repository asked for: on with the operation. */
static void
origin_same(struct gitop *op)
{
	if (op->update && op->signing)
		step_run(op, ST_RUNNING);
	else if (op->update)
		fetch_or_clone(op);
	else
		step_run(op, ST_SYMREF);
}

static void
step_done(const struct gexec_result *r, void *arg)
{
	struct gitop	*op = arg;
	struct git_resp	 resp;
	int64_t		 size;
	char		 shown[81];
	int		 had;
	int		 ok = r->exited && r->status == 0;
	int		 no = r->exited && r->status == 1;

	op->run = NULL;
	if (r->killed || r->timed_out) {
		step_failed(op, r);
		return;
	}
	switch (op->step) {
	case ST_ORIGIN:
		/* exit 1: no origin at all, as good as another one */
		if (!ok && !no)
			break;
		if (ok && (had = origin_is(op, r->out)) != -1) {
			if (had)
				step_run(op, ST_SCRUB);
			else
				origin_same(op);
			return;
		}
		if (op->signing)
			origin_moved_signed(op, ok ? r->out : NULL);
		else
			origin_moved(op, ok ? r->out : NULL);
		return;
	case ST_SCRUB:
		if (!ok)
			break;
		log_info("%s/%s: the user and password of %s taken out of the "
		    "checkout's .git/config", op->ns, op->project, op->shown);
		origin_same(op);
		return;
	case ST_CLONE:
		if (!ok)
			break;
		/* checked out in place only once its tip passed, and its
		 * tree's size */
		op->cloning = 1;
		verify_then(op, op->remote_ref, ST_CHECKOUT_NEW);
		return;
	case ST_SYMREF:
		/* exit 1: detached HEAD */
		if (ok && strncmp(r->out, op->local_ref,
		    strlen(op->local_ref)) == 0 &&
		    r->out[strlen(op->local_ref)] == '\n')
			/* what runs is checked too: gitsigners may be new */
			verify_then(op, "HEAD", ST_REVPARSE);
		else if (ok || no)
			step_run(op, ST_HAS_LOCAL);
		else
			break;
		return;
	case ST_HAS_LOCAL:
		if (ok)
			verify_then(op, op->local_ref, ST_CHECKOUT);
		else if (no)
			step_run(op, ST_HAS_REMOTE);
		else
			break;
		return;
	case ST_HAS_REMOTE:
		if (ok)
			verify_then(op, op->remote_ref, ST_CHECKOUT_NEW);
		else if (no && op->signing && op->conf.signed_tags)
			clone_replacing(op);	/* as fetch_or_clone() */
		else if (no)
			step_run(op, ST_FETCH);
		else
			break;
		return;
	case ST_FETCH:
		if (!ok)
			break;
		op->stats->fetches++;
		verify_then(op, op->remote_ref, ST_CHECKOUT_NEW);
		return;
	case ST_CHECKOUT:
		if (!ok)
			break;
		log_info("%s/%s: switched to branch %s", op->ns, op->project,
		    op->conf.branch);
		step_run(op, ST_REVPARSE);
		return;
	case ST_CHECKOUT_NEW:
		if (!ok)
			break;
		if (op->cloning)
			clone_done(op);
		else
			step_run(op, op->update ? ST_CLEAN : ST_REVPARSE);
		return;
	case ST_CLEAN:
		if (!ok)
			break;
		step_run(op, ST_REVPARSE);
		return;
	case ST_SIZE:
		if (!ok)
			break;
		if (tree_size(op, r, &size) == -1)
			return;
		if (size > op->conf.max_size) {
			op_fail(op, "%s/%s: the tree of %s takes %lld bytes "
			    "on disk, over [agent] gitmaxsize (%lld): not "
			    "checked out (each file and directory takes a "
			    "block of %llu bytes at least)", op->ns,
			    op->project, op->size_rev, (long long)size,
			    (long long)op->conf.max_size, GITPULL_ENTRY_BYTES);
			return;
		}
		step_run(op, op->sized);
		return;
	case ST_RUNNING:
		/* exit 1: no such branch yet, nothing to descend from */
		if (ok && gitpull_parse_commit(r->out, op->running,
		    sizeof(op->running)) == -1) {
			gitpull_verify_printable(r->out, shown, sizeof(shown));
			op_fail(op, "git rev-parse %s in %s/%s: not a commit "
			    "id: \"%s\"", op->local_ref, op->ns, op->project,
			    shown);
			return;
		}
		if (!ok && !no)
			break;
		if (op->moved)
			clone_replacing(op);
		else
			fetch_or_clone(op);
		return;
	case ST_HAS_RUNNING:
		if (ok)
			step_run(op, ST_ANCESTOR);
		else if (no)
			not_forward(op);
		else
			break;
		return;
	case ST_ANCESTOR:
		if (ok)
			proceed(op, ST_CHECKOUT_NEW);
		else if (no)
			not_forward(op);
		else
			break;
		return;
	case ST_REVPARSE:
		if (!ok)
			break;
		memset(&resp, 0, sizeof(resp));
		if (gitpull_parse_commit(r->out, resp.commit,
		    sizeof(resp.commit)) == -1) {
			gitpull_verify_printable(r->out, shown, sizeof(shown));
			op_fail(op, "git rev-parse HEAD in %s/%s: not a commit "
			    "id: \"%s\"", op->ns, op->project, shown);
			return;
		}
		resp.ok = 1;
		strlcpy(resp.signer, op->signer, sizeof(resp.signer));
		op_finish(op, &resp);
		return;
	}
	step_failed(op, r);
}

/*
 * Room on pluginsdir's file system for what a clone or a fetch may
 * write: a pack and a tree of [agent] gitmaxsize each, above the last
 * GITPULL_RESERVE_PCT percent of its blocks and inodes.  gitmaxsize
 * bounds one checkout, not how many: a registry may list a plugin in
 * 256 namespaces, and another 256 at the next refresh (checkouts of
 * plugins it stops listing stay), until the disk the host shares with
 * everything else is full.  -1 with `now` saying why.
 */
static int
room_for(struct gitop *op, struct git_resp *now)
{
	struct statvfs	 sv;
	long double	 avail, need, reserve;

	if (statvfs(op->conf.pluginsdir, &sv) == -1) {
		resp_fail(now, "statvfs %s: %s", op->conf.pluginsdir,
		    strerror(errno));
		return -1;
	}
	avail = (long double)sv.f_bavail * sv.f_frsize;
	reserve = (long double)sv.f_blocks * sv.f_frsize *
	    GITPULL_RESERVE_PCT / 100;
	need = reserve + 2.0L * op->conf.max_size;
	if (avail < need) {
		resp_fail(now, "%s/%s: the file system of %s has %.0Lf bytes "
		    "free, under twice [agent] gitmaxsize and %d %% of it "
		    "(%.0Lf): nothing is cloned or fetched", op->ns,
		    op->project, op->conf.pluginsdir, avail,
		    GITPULL_RESERVE_PCT, need);
		return -1;
	}
	if (sv.f_files > 0 && (long double)sv.f_favail <
	    (long double)sv.f_files * GITPULL_RESERVE_PCT / 100) {
		resp_fail(now, "%s/%s: the file system of %s has %llu inodes "
		    "free, under %d %% of them: nothing is cloned or fetched",
		    op->ns, op->project, op->conf.pluginsdir,
		    (unsigned long long)sv.f_favail, GITPULL_RESERVE_PCT);
		return -1;
	}
	return 0;
}

/* The directory to clone into, op->tmp; -1 with `now` saying why. */
static int
clone_prepare(struct gitop *op, struct git_resp *now)
{
	if (room_for(op, now) == -1)
		return -1;
	/* what an earlier attempt left behind, then a fresh one */
	(void)gitpull_rm_clones(op->nsdir, op->project);
	snprintf(op->tmp, sizeof(op->tmp), "%s/%s%s-XXXXXX", op->nsdir,
	    GITPULL_CLONE_PREFIX, op->project);
	if (mkdtemp(op->tmp) == NULL) {
		resp_fail(now, "mkdtemp %s: %s", op->tmp, strerror(errno));
		op->tmp[0] = '\0';
		return -1;
	}
	/* mkdtemp makes it 0700: the plugins' user must get in */
	if (chmod(op->tmp, 0755) == -1) {
		resp_fail(now, "chmod %s: %s", op->tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* pluginsdir/<ns>, made when missing; never through a symlink. */
static int
make_nsdir(struct gitop *op, struct git_resp *now)
{
	struct stat	 st;

	if (mkdir(op->nsdir, 0755) == 0) {
		/* whatever the umask: the plugins' user must get in */
		if (chmod(op->nsdir, 0755) == -1) {
			resp_fail(now, "chmod %s: %s", op->nsdir,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		resp_fail(now, "mkdir %s: %s", op->nsdir, strerror(errno));
		return -1;
	}
	if (lstat(op->nsdir, &st) == -1) {
		resp_fail(now, "%s: %s", op->nsdir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		resp_fail(now, "%s is not a directory", op->nsdir);
		return -1;
	}
	return 0;
}

static int
paths(struct gitop *op, struct git_resp *now)
{
	const char	*b = op->conf.branch;

	if ((size_t)snprintf(op->nsdir, sizeof(op->nsdir), "%s/%s",
	    op->conf.pluginsdir, op->ns) >= sizeof(op->nsdir) ||
	    (size_t)snprintf(op->dir, sizeof(op->dir), "%s/%s", op->nsdir,
	    op->project) >= sizeof(op->dir) ||
	    (size_t)snprintf(op->tmp, sizeof(op->tmp), "%s/%s%s-XXXXXX",
	    op->nsdir, GITPULL_CLONE_PREFIX, op->project) >= sizeof(op->tmp)) {
		resp_fail(now, "checkout path for %s/%s is too long", op->ns,
		    op->project);
		return -1;
	}
	op->tmp[0] = '\0';	/* no clone yet */
	snprintf(op->local_ref, sizeof(op->local_ref), "refs/heads/%s", b);
	snprintf(op->remote_ref, sizeof(op->remote_ref),
	    "refs/remotes/origin/%s", b);
	snprintf(op->refspec, sizeof(op->refspec), "+%s:%s", op->local_ref,
	    op->remote_ref);
	strlcpy(op->target, op->remote_ref, sizeof(op->target));
	return 0;
}

static int
check_args(const struct gitpull_conf *conf, const char *ns, const char *repo,
    const char *project, struct git_resp *now)
{
	const char	*slash;
	char		 why[256];

	/*
	 * The decoder checked; these become paths and arguments here.  No
	 * hidden names: pluginsdir is git's HOME (.config, .netrc) and
	 * .clone-* in a namespace are gitpull's unfinished clones.
	 */
	if (strlen(ns) >= 256 || !items_path_component_valid(ns) ||
	    ns[0] == '.') {
		resp_fail(now, "ns \"%.64s\" cannot be a directory name (not "
		    "empty, [-_.a-zA-Z0-9], no leading - or .)", ns);
		return -1;
	}
	if (strlen(project) >= 256 || !items_path_component_valid(project) ||
	    project[0] == '.') {
		resp_fail(now, "project \"%.64s\" cannot be a directory name "
		    "(not empty, [-_.a-zA-Z0-9], no leading - or .)", project);
		return -1;
	}
	if (!items_plugin_names_fit(ns, project, why, sizeof(why))) {
		resp_fail(now, "%s", why);
		return -1;
	}
	if (strlen(repo) >= 512 || !gitpull_repo_valid(repo) ||
	    (slash = strchr(repo, '/')) == NULL ||
	    strcmp(slash + 1, project) != 0) {
		resp_fail(now, "repo \"%.64s\" is not group/%.64s", repo,
		    project);
		return -1;
	}
	if (!gitpull_branch_valid(conf->branch)) {
		resp_fail(now, "[agent] gitbranch \"%.64s\" is not a branch "
		    "name", conf->branch);
		return -1;
	}
	if (conf->git[0] != '/') {
		resp_fail(now, "no git binary found");
		return -1;
	}
	return 0;
}

struct gitop *
gitpull_op_start(struct ev_loop *loop, const struct gitpull_conf *conf,
    struct gitpull_trust *trust, struct gitop_stats *stats, const char *ns,
    const char *repo, const char *project, int update, gitop_cb cb,
    void *arg, struct git_resp *now)
{
	struct gitop	*op;
	struct stat	 st;
	char		 err[1024], gitdir[PATH_MAX + 8];
	char		 full[CONF_STR_MAX + 512];
	int		 missing;

	memset(now, 0, sizeof(*now));
	if (check_args(conf, ns, repo, project, now) == -1)
		return NULL;
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		resp_fail(now, "out of memory");
		return NULL;
	}
	op->loop = loop;
	op->conf = *conf;
	op->trust = trust;
	op->stats = stats;
	strlcpy(op->ns, ns, sizeof(op->ns));
	strlcpy(op->repo, repo, sizeof(op->repo));
	strlcpy(op->project, project, sizeof(op->project));
	op->update = update;
	op->cb = cb;
	op->arg = arg;
	/* the text is the caller's: parsed here, not kept */
	op->conf.signers = NULL;
	if (conf->signers != NULL) {
		if (signers_parse(&op->signers, conf->signers, err,
		    sizeof(err)) == -1) {
			resp_fail(now, "[agent] gitsigners = \"%s\": %s",
			    conf->signers_path, err);
			goto fail;
		}
		op->signing = 1;
	}
	/* op->url is without the user and password of the template */
	if (gitpull_url(conf->url_template, repo, full, sizeof(full), err,
	    sizeof(err)) == -1 || gitpull_url_creds(full, op->url,
	    sizeof(op->url), &op->conf, err, sizeof(err)) == -1) {
		explicit_bzero(full, sizeof(full));
		resp_fail(now, "%s", err);
		goto fail;
	}
	explicit_bzero(full, sizeof(full));
	gitpull_env(&op->env, &op->conf);
	gitpull_url_redact(op->url, op->shown, sizeof(op->shown));
	if (paths(op, now) == -1 || make_nsdir(op, now) == -1)
		goto fail;
	if (lstat(op->dir, &st) == -1) {
		if (errno != ENOENT) {
			resp_fail(now, "%s: %s", op->dir, strerror(errno));
			goto fail;
		}
		missing = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		resp_fail(now, "%s is not a directory", op->dir);
		goto fail;
	} else {
		missing = 0;
		snprintf(gitdir, sizeof(gitdir), "%s/.git", op->dir);
		if (lstat(gitdir, &st) == -1 || !S_ISDIR(st.st_mode)) {
			resp_fail(now, "%s exists but is not a git checkout; "
			    "remove it to have it cloned", op->dir);
			goto fail;
		}
	}
	/* even an ensure may have to fetch (a branch switch) */
	if (trust != NULL &&
	    gitpull_trust_url(trust, op->url, err, sizeof(err)) == -1) {
		resp_fail(now, "safe.directory for %s: %s", op->shown, err);
		goto fail;
	}
	if (missing && clone_prepare(op, now) == -1)
		goto fail;
	if (step_start(op, missing ? ST_CLONE : ST_ORIGIN, err,
	    sizeof(err)) == -1) {
		resp_fail(now, "%s", err);
		goto fail;
	}
	return op;
fail:
	op_free(op);
	return NULL;
}

void
gitpull_op_kill(struct gitop *op)
{
	if (op->run != NULL)
		gitpull_exec_kill(op->run);
	if (op->ver != NULL)
		gitpull_verify_kill(op->ver);
}

void
gitpull_op_abort(struct gitop *op)
{
	if (op->run != NULL)
		gitpull_exec_abort(op->run);
	op->run = NULL;
	if (op->ver != NULL)
		gitpull_verify_abort(op->ver);
	op->ver = NULL;
	op_free(op);
}

pid_t
gitpull_op_pid(const struct gitop *op)
{
	if (op->ver != NULL)
		return gitpull_verify_pid(op->ver);
	return op->run != NULL ? gitpull_exec_pid(op->run) : 0;
}
