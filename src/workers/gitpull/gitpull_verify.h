/*
 * The signature check of a commit, before it is checked out: a short
 * chain of git commands in a repository, run like every other (same
 * environment, timeout and sandbox), ending in one verdict.
 *
 *   git rev-parse --verify REV^{commit}          the commit
 *   signed commits ([agent] gitsignedtags = no):
 *     git cat-file commit C                      its committer, its kind
 *                                                of signature
 *     git verify-commit C                        with the lines of
 *                                                gitsigners for that
 *                                                committer, valid now
 *   signed tags (gitsignedtags = yes):
 *     git for-each-ref --points-at=C refs/tags   the annotated tags on C
 *     git cat-file tag T, git verify-tag T       each, until one passes
 *
 * Git finds the principal of a signature by its key alone and checks the
 * key's validity at the commit's own date, which whoever signs writes.
 * So git is given only the lines whose principals admit the committer's
 * (tagger's) e-mail and that are valid now: a key trusted for someone
 * else, or no longer trusted, makes no signature pass.
 *
 * gitpull_op.c runs it between a fetch and a checkout; `agent test` and
 * `agent plugin run` can run it on a checkout of their own.
 */
#ifndef AGENT_GITPULL_VERIFY_H
#define AGENT_GITPULL_VERIFY_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <ev.h>

#include "gitpull_cmd.h"
#include "signers.h"

#define GITPULL_VERIFY_TAGS_MAX	8	/* annotated tags tried on a tip */
#define GITPULL_REASON_MAX	768

enum gitpull_verdict {
	GITPULL_VERIFIED = 0,	/* signed by a key trusted for its signer */
	GITPULL_UNTRUSTED,	/* not signed so: do not check it out */
	GITPULL_VERIFY_FAILED	/* the check could not be made (git failed,
				 * timed out, was killed) */
};

struct gitpull_verify_result {
	enum gitpull_verdict	 verdict;
	char			 commit[64];	/* the commit checked, "" if
						 * not found */
	char			 signer[256];	/* VERIFIED: who, which key */
	char			 reason[GITPULL_REASON_MAX]; /* else: why */
};

struct gitverify;
struct gitop_stats;

typedef void	(*gitpull_verify_cb)(const struct gitpull_verify_result *,
		    void *arg);

/*
 * Check REV in the repository `dir`.  `conf` (with its ssh-keygen and
 * pluginsdir, where the lines for git are written), `signers` and `envp`
 * must outlive the check; `stats` may be NULL.  NULL with err when
 * nothing could be started (the callback never runs).
 */
struct gitverify *gitpull_verify_start(struct ev_loop *,
		    const struct gitpull_conf *conf,
		    const struct signers *signers, char *const envp[],
		    const char *dir, const char *rev,
		    struct gitop_stats *stats, gitpull_verify_cb, void *arg,
		    char *err, size_t errlen);
/* Kill the git running now; the callback follows (VERIFY_FAILED). */
void		 gitpull_verify_kill(struct gitverify *);
/* Kill, reap and free now; the callback never runs. */
void		 gitpull_verify_abort(struct gitverify *);
pid_t		 gitpull_verify_pid(const struct gitverify *);

/* ---- the parsing, in gitpull_verify_parse.c ---- */

enum gitpull_sig {
	GITPULL_SIG_NONE = 0,
	GITPULL_SIG_SSH,
	GITPULL_SIG_OPENPGP,
	GITPULL_SIG_X509,
	GITPULL_SIG_UNKNOWN	/* cut off, or a kind git does not know */
};

/* What `git cat-file commit|tag` shows of an object. */
struct gitpull_object {
	char		 email[256];	/* committer (tagger); "" if none */
	enum gitpull_sig sig;
	char		 object[64];	/* tag: the object it names */
	char		 type[16];	/* tag: that object's type */
	char		 name[256];	/* tag: its name */
};

/* `truncated`: the output was cut; a signature may be past the end. */
void	 gitpull_verify_parse_commit(const char *raw, int truncated,
	    struct gitpull_object *);
void	 gitpull_verify_parse_tag(const char *raw, int truncated,
	    struct gitpull_object *);
const char *gitpull_verify_sig_name(enum gitpull_sig);

/* One line of `for-each-ref --format='%(objectname) %(objecttype)
 * %(refname:lstrip=2)'`. */
struct gitpull_tag {
	char		 object[64];
	char		 name[256];
};

/* The annotated tags listed in `out` (at most `max`); *light counts the
 * lightweight ones, which cannot be signed. */
size_t	 gitpull_verify_parse_tags(const char *out, struct gitpull_tag *,
	    size_t max, size_t *light);

/*
 * git's word on a signature it accepted: `Good "git" signature for P
 * with T key FP` gives "P (T key FP)".  0, or -1 when there is no such
 * line.
 */
int	 gitpull_verify_good(const char *out, char *signer, size_t len);
/* "T key FP" of the signature git looked at; "" when it said none. */
void	 gitpull_verify_key(const char *out, char *key, size_t len);

/* `in` for a message: printable ASCII, the rest as '?', cut to fit. */
void	 gitpull_verify_printable(const char *in, char *out, size_t len);

/*
 * The lines of `s` that admit `email` at `now`, in a new file
 * `dir`/.gitpull-signers-XXXXXX (its path in `path`); the counts in
 * *pick.  With no line picked no file is made (path "").  0, or -1 with
 * err.
 */
int	 gitpull_verify_write_signers(const struct signers *s,
	    const char *email, time_t now, const char *dir, char *path,
	    size_t pathlen, struct signers_pick *pick, char *err,
	    size_t errlen);

#endif
