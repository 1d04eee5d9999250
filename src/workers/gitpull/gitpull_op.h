/*
 * One operation on one checkout, pluginsdir/<ns>/<project>, as a short
 * sequence of git commands run one after the other on the event loop:
 *
 * missing:           git clone into pluginsdir/<ns>/.clone-<project>-XXXXXX,
 *                    rename into place when complete
 * present, ensure:   on the branch already: nothing; else switch to it
 *                    (fetch only when no ref of that name is known)
 * present, update:   git fetch <url> +refs/heads/B:refs/remotes/origin/B,
 *                    git checkout --force -B B refs/remotes/origin/B,
 *                    git clean -ffdx
 * always, last:      git rev-parse HEAD: the commit reported
 *
 * A clone is made with --no-checkout, and every checkout (of a clone or
 * an update) waits for git ls-tree to say that the files of the commit
 * fit in [agent] gitmaxsize; git itself runs with RLIMIT_FSIZE at that
 * size, so the pack it receives cannot be larger either.
 *
 * With [agent] gitsigners, nothing is checked out before its signature
 * passes (gitpull_verify.h): the clone is checked out (then renamed into
 * place) once its tip passes; an update
 * checks the fetched tip before the checkout, which stays where it was
 * when it does not pass; an ensure checks the commit it would run, even
 * when the checkout is on the branch already.  With gitsignedtags an
 * update clones anew instead of fetching (a fetch writes a file per
 * tag), the clone swapped in once it passed.
 */
#ifndef AGENT_GITPULL_OP_H
#define AGENT_GITPULL_OP_H

#include <stdint.h>

/* percent of pluginsdir's file system no clone or fetch starts in */
#define GITPULL_RESERVE_PCT	5
#include <sys/types.h>

#include <ev.h>

#include "gitpull_cmd.h"
#include "plugin_msg.h"

struct gitop_stats {
	uint64_t	 runs;		/* git commands started */
	uint64_t	 failures;	/* ... that failed the operation */
	uint64_t	 timeouts;	/* ... killed by the timeout */
	uint64_t	 clones;	/* checkouts created */
	uint64_t	 fetches;	/* git fetch that worked */
	uint64_t	 verified;	/* signature checks passed */
	uint64_t	 untrusted;	/* ... refused */
};

struct gitop;

/* The result; the operation is freed after it returns. */
typedef void	(*gitop_cb)(struct gitop *, const struct git_resp *, void *);

/*
 * Start; the strings are copied.  NULL when it is over already (a bad
 * name, no template, a directory that cannot be made): *now says why.
 * `trust` may be NULL (no safe.directory for local sources).
 */
struct gitop	*gitpull_op_start(struct ev_loop *, const struct gitpull_conf *,
		    struct gitpull_trust *, struct gitop_stats *,
		    const char *ns, const char *repo, const char *project,
		    int update, gitop_cb, void *arg, struct git_resp *now);
/* Kill the git running now; the callback follows with an error. */
void		 gitpull_op_kill(struct gitop *);
/* Kill, reap and clean up now; the callback never runs. */
void		 gitpull_op_abort(struct gitop *);
/* The git running now (its process group), 0 between commands. */
pid_t		 gitpull_op_pid(const struct gitop *);

#endif
