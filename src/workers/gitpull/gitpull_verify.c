/*
 * The signature check as a chain of git commands; see gitpull_verify.h.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "gitpull_exec.h"
#include "gitpull_op.h"
#include "gitpull_parse.h"
#include "gitpull_verify.h"
#include "log.h"

enum vstep {
	V_TIP,		/* the commit REV names */
	V_CAT,		/* the commit object: committer, signature kind */
	V_TAGS,		/* the annotated tags on it */
	V_CATTAG,	/* one tag object: tagger, target, signature */
	V_VERIFY	/* git verify-commit or verify-tag */
};

static const char *const vstep_names[] = {
	[V_TIP] = "rev-parse",
	[V_CAT] = "cat-file commit",
	[V_TAGS] = "for-each-ref",
	[V_CATTAG] = "cat-file tag",
	[V_VERIFY] = "verify",
};

struct gitverify {
	struct ev_loop			*loop;
	const struct gitpull_conf	*conf;
	const struct signers		*signers;
	char *const			*envp;
	struct gitop_stats		*stats;
	gitpull_verify_cb		 cb;
	void				*arg;
	char				 dir[PATH_MAX];
	char				 rev[CONF_STR_MAX + 32];
	enum vstep			 step;
	struct gexec			*run;
	char				 tip[64];
	char				 sigfile[PATH_MAX];	/* "" = none */
	struct gitpull_object		 obj;
	char				 what[320];	/* "commit X" */
	struct gitpull_tag		 tags[GITPULL_VERIFY_TAGS_MAX];
	size_t				 ntags;
	size_t				 itag;
	struct signers_pick		 pick;	/* for the object checked */
	char				 last[GITPULL_REASON_MAX];
};

static void	 vstep_done(const struct gexec_result *, void *);

static void
sigfile_remove(struct gitverify *v)
{
	if (v->sigfile[0] != '\0' && unlink(v->sigfile) == -1)
		log_warn("%s: %s", __func__, v->sigfile);
	v->sigfile[0] = '\0';
}

static void
v_finish(struct gitverify *v, enum gitpull_verdict verdict,
    const char *signer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
v_finish(struct gitverify *v, enum gitpull_verdict verdict,
    const char *signer, const char *fmt, ...)
{
	struct gitpull_verify_result	 res;
	va_list				 ap;

	memset(&res, 0, sizeof(res));
	res.verdict = verdict;
	strlcpy(res.commit, v->tip, sizeof(res.commit));
	if (signer != NULL)
		strlcpy(res.signer, signer, sizeof(res.signer));
	va_start(ap, fmt);
	(void)vsnprintf(res.reason, sizeof(res.reason), fmt, ap);
	va_end(ap);
	if (v->stats != NULL) {
		if (verdict == GITPULL_VERIFIED)
			v->stats->verified++;
		else if (verdict == GITPULL_UNTRUSTED)
			v->stats->untrusted++;
		else
			v->stats->failures++;
	}
	sigfile_remove(v);
	v->cb(&res, v->arg);
	free(v);
}

static int
vstep_start(struct gitverify *v, enum vstep step, char *err, size_t errlen)
{
	struct gitpull_argv	 a;
	const char		*args[8];
	char			 rev[sizeof(v->rev) + 16], at[80], why[256];
	size_t			 n = 0;
	int			 tags = v->conf->signed_tags;

	v->step = step;
	switch (step) {
	case V_TIP:
		snprintf(rev, sizeof(rev), "%s^{commit}", v->rev);
		args[n++] = "rev-parse";
		args[n++] = "--verify";
		args[n++] = "--quiet";
		args[n++] = rev;
		break;
	case V_CAT:
		args[n++] = "cat-file";
		args[n++] = "commit";
		args[n++] = v->tip;
		break;
	case V_TAGS:
		snprintf(at, sizeof(at), "--points-at=%s", v->tip);
		args[n++] = "for-each-ref";
		args[n++] = at;
		args[n++] = "--format=%(objectname) %(objecttype) "
		    "%(refname:lstrip=2)";
		args[n++] = "refs/tags";
		break;
	case V_CATTAG:
		args[n++] = "cat-file";
		args[n++] = "tag";
		args[n++] = v->tags[v->itag].object;
		break;
	case V_VERIFY:
		args[n++] = tags ? "verify-tag" : "verify-commit";
		args[n++] = tags ? v->tags[v->itag].object : v->tip;
		break;
	}
	args[n] = NULL;
	if (gitpull_argv(&a, v->conf, step == V_VERIFY ? v->sigfile : NULL,
	    args) == -1) {
		snprintf(err, errlen, "git %s: %s", vstep_names[step],
		    v->conf->sshkeygen[0] == '\0' ? "no ssh-keygen found "
		    "(package openssh-client)" : "too many arguments");
		return -1;
	}
	if (v->stats != NULL)
		v->stats->runs++;
	v->run = gitpull_exec_start(v->loop, v->conf->git, a.v, v->envp,
	    v->dir, v->conf->timeout, v->conf->max_size, vstep_done, v, why,
	    sizeof(why));
	if (v->run == NULL) {
		snprintf(err, errlen, "git %s: cannot start git: %s",
		    vstep_names[step], why);
		return -1;
	}
	return 0;
}

static void
vstep_run(struct gitverify *v, enum vstep step)
{
	char	 err[512];

	if (vstep_start(v, step, err, sizeof(err)) == -1)
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "%s", err);
}

/* git failed, timed out or was killed: no verdict on the signature. */
static void
vstep_failed(struct gitverify *v, const struct gexec_result *r)
{
	char	 tail[512];

	if (v->stats != NULL && r->timed_out)
		v->stats->timeouts++;
	if (r->killed) {
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git %s: stopped "
		    "(the agent is stopping)", vstep_names[v->step]);
		return;
	}
	if (r->timed_out) {
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git %s: timed out "
		    "after %g s", vstep_names[v->step], v->conf->timeout);
		return;
	}
	gitpull_err_tail(r->err, tail, sizeof(tail));
	if (tail[0] != '\0')
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git %s: %s",
		    vstep_names[v->step], tail);
	else if (r->exited)
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git %s: exit status "
		    "%d", vstep_names[v->step], r->status);
	else
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git %s: killed by "
		    "signal %d", vstep_names[v->step], r->status);
}

/* Not this one; with tags, the next one. */
static void
refuse(struct gitverify *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
refuse(struct gitverify *v, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(v->last, sizeof(v->last), fmt, ap);
	va_end(ap);
	if (!v->conf->signed_tags) {
		v_finish(v, GITPULL_UNTRUSTED, NULL, "%s", v->last);
		return;
	}
	if (++v->itag < v->ntags) {
		vstep_run(v, V_CATTAG);
		return;
	}
	if (v->ntags == 1)
		v_finish(v, GITPULL_UNTRUSTED, NULL, "%s", v->last);
	else
		v_finish(v, GITPULL_UNTRUSTED, NULL, "none of the %zu tags on "
		    "commit %.12s passes; the last: %s", v->ntags, v->tip,
		    v->last);
}

/*
 * The object in v->obj: is it signed at all, and which lines of
 * gitsigners are for its signer; then git checks the signature.
 */
static void
prepare(struct gitverify *v)
{
	struct signers_pick	*pick = &v->pick;
	char			 email[256], err[512];

	switch (v->obj.sig) {
	case GITPULL_SIG_NONE:
		refuse(v, "%s is not signed", v->what);
		return;
	case GITPULL_SIG_OPENPGP:
	case GITPULL_SIG_X509:
		refuse(v, "%s has an %s signature; only SSH signatures are "
		    "checked", v->what, gitpull_verify_sig_name(v->obj.sig));
		return;
	case GITPULL_SIG_SSH:
	case GITPULL_SIG_UNKNOWN:
		break;
	}
	gitpull_verify_printable(v->obj.email, email, sizeof(email));
	if (gitpull_verify_write_signers(v->signers, v->obj.email,
	    time(NULL), v->conf->pluginsdir, v->sigfile, sizeof(v->sigfile),
	    pick, err, sizeof(err)) == -1) {
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "allowed signers for "
		    "git: %s", err);
		return;
	}
	if (pick->admitting == 0)
		refuse(v, "%s by <%s>: no line of gitsigners admits that "
		    "e-mail", v->what, email);
	else if (pick->picked == 0)
		refuse(v, "%s by <%s>: the %zu line%s of gitsigners for that "
		    "e-mail %s not valid now (valid-after, valid-before)",
		    v->what, email, pick->admitting, pick->admitting == 1 ? "" :
		    "s", pick->admitting == 1 ? "is" : "are");
	else
		vstep_run(v, V_VERIFY);
}

static void
tip_found(struct gitverify *v, const char *out)
{
	if (gitpull_parse_commit(out, v->tip, sizeof(v->tip)) == -1) {
		v_finish(v, GITPULL_VERIFY_FAILED, NULL, "git rev-parse %s: "
		    "not a commit id", v->rev);
		return;
	}
	vstep_run(v, v->conf->signed_tags ? V_TAGS : V_CAT);
}

static void
tags_found(struct gitverify *v, const char *out)
{
	size_t	 light;

	v->ntags = gitpull_verify_parse_tags(out, v->tags,
	    GITPULL_VERIFY_TAGS_MAX, &light);
	v->itag = 0;
	if (v->ntags == 0) {
		v_finish(v, GITPULL_UNTRUSTED, NULL, "commit %.12s carries no "
		    "annotated tag%s (gitsignedtags = yes)", v->tip, light > 0 ?
		    ", only lightweight ones, which cannot be signed" : "");
		return;
	}
	vstep_run(v, V_CATTAG);
}

static void
tag_read(struct gitverify *v, const struct gexec_result *r)
{
	char	 name[256];

	gitpull_verify_parse_tag(r->out, r->out_truncated, &v->obj);
	gitpull_verify_printable(v->tags[v->itag].name, name, sizeof(name));
	snprintf(v->what, sizeof(v->what), "tag %s", name);
	if (strcmp(v->obj.object, v->tip) != 0 ||
	    strcmp(v->obj.type, "commit") != 0) {
		refuse(v, "%s names another object than commit %.12s",
		    v->what, v->tip);
		return;
	}
	prepare(v);
}

/* git verify-commit or verify-tag has answered. */
static void
verified(struct gitverify *v, const struct gexec_result *r)
{
	char	 signer[256], key[128], email[256], tail[512];
	char	 who[300], late[128] = "";
	size_t	 n = v->pick.out_of_time;

	if (r->exited && r->status == 0 &&
	    gitpull_verify_good(r->err, signer, sizeof(signer)) == 0) {
		if (v->conf->signed_tags) {
			snprintf(who, sizeof(who), "%s: %s", v->what, signer);
			v_finish(v, GITPULL_VERIFIED, who, "%s", "");
		} else
			v_finish(v, GITPULL_VERIFIED, signer, "%s", "");
		return;
	}
	if (!r->exited || (r->status != 0 && r->status != 1)) {
		vstep_failed(v, r);
		return;
	}
	gitpull_verify_printable(v->obj.email, email, sizeof(email));
	gitpull_verify_key(r->err, key, sizeof(key));
	gitpull_err_tail(r->err, tail, sizeof(tail));
	/* the key may be on a line left out for its dates */
	if (n > 0)
		snprintf(late, sizeof(late), "; %zu line%s for that e-mail %s "
		    "not valid now (valid-after, valid-before)", n, n == 1 ?
		    "" : "s", n == 1 ? "is" : "are");
	if (strstr(r->err, "No principal matched") != NULL && key[0] != '\0')
		refuse(v, "%s by <%s>: signed with %s, which gitsigners does "
		    "not trust for that e-mail%s", v->what, email, key, late);
	else
		refuse(v, "%s by <%s>: signature refused: %s%s", v->what,
		    email, tail[0] != '\0' ? tail : "git said nothing of a "
		    "good signature", late);
}

static void
vstep_done(const struct gexec_result *r, void *arg)
{
	struct gitverify	*v = arg;
	int			 ok = r->exited && r->status == 0;

	v->run = NULL;
	if (v->step == V_VERIFY)
		sigfile_remove(v);
	if (r->killed || r->timed_out) {
		vstep_failed(v, r);
		return;
	}
	switch (v->step) {
	case V_TIP:
		if (!ok) {
			if (r->exited && r->status == 1)
				v_finish(v, GITPULL_VERIFY_FAILED, NULL,
				    "no commit at %s", v->rev);
			else
				vstep_failed(v, r);
			return;
		}
		tip_found(v, r->out);
		return;
	case V_CAT:
		if (!ok)
			break;
		gitpull_verify_parse_commit(r->out, r->out_truncated, &v->obj);
		snprintf(v->what, sizeof(v->what), "commit %.12s", v->tip);
		prepare(v);
		return;
	case V_TAGS:
		if (!ok)
			break;
		tags_found(v, r->out);
		return;
	case V_CATTAG:
		if (!ok)
			break;
		tag_read(v, r);
		return;
	case V_VERIFY:
		verified(v, r);
		return;
	}
	vstep_failed(v, r);
}

struct gitverify *
gitpull_verify_start(struct ev_loop *loop, const struct gitpull_conf *conf,
    const struct signers *signers, char *const envp[], const char *dir,
    const char *rev, struct gitop_stats *stats, gitpull_verify_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct gitverify	*v;

	if (conf->sshkeygen[0] != '/') {
		snprintf(err, errlen, "no ssh-keygen found (package "
		    "openssh-client): signatures cannot be checked");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->loop = loop;
	v->conf = conf;
	v->signers = signers;
	v->envp = envp;
	v->stats = stats;
	v->cb = cb;
	v->arg = arg;
	if (strlcpy(v->dir, dir, sizeof(v->dir)) >= sizeof(v->dir) ||
	    strlcpy(v->rev, rev, sizeof(v->rev)) >= sizeof(v->rev)) {
		snprintf(err, errlen, "path or revision too long");
		free(v);
		return NULL;
	}
	if (vstep_start(v, V_TIP, err, errlen) == -1) {
		free(v);
		return NULL;
	}
	return v;
}

void
gitpull_verify_kill(struct gitverify *v)
{
	if (v->run != NULL)
		gitpull_exec_kill(v->run);
}

void
gitpull_verify_abort(struct gitverify *v)
{
	if (v->run != NULL)
		gitpull_exec_abort(v->run);
	v->run = NULL;
	sigfile_remove(v);
	free(v);
}

pid_t
gitpull_verify_pid(const struct gitverify *v)
{
	return v->run != NULL ? gitpull_exec_pid(v->run) : 0;
}
