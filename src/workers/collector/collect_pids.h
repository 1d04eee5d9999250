/*
 * Walks over /proc/<pid> that a process held in the kernel cannot stop
 * (and over the FS family's mounts, whose statfs a dead network file
 * system holds the same way, and the COREDUMP directory's listing: the
 * walks with keys below).
 *
 * A read of /proc/<pid>/stat, exe or io waits while that process is in
 * execve, and an execve can be held for ever: it closes the process's
 * close-on-exec descriptors, and the close of a FUSE file waits for the
 * FUSE server's answer, which anyone who may mount FUSE can withhold.
 * Read in the collector's loop, one such process would stop every family
 * of the collector for good, and nothing would notice.
 *
 * So a walk runs in a thread of its own, and the loop waits for it as
 * long as it makes progress: a pid that has not answered within the
 * patience (COLLECT_PIDS_PATIENCE) is given up on.  The walk fails that
 * round, its thread is left to its read, and later walks skip that pid
 * until the read returns.  A walk that goes on past its budget (the
 * whole walk's time, see collect_walk.budget) is given up on the same
 * way, though every pid answers in time: processes held and let go one
 * by one, each just within the patience, would otherwise stop the loop
 * for the patience times their number.
 *
 * At most COLLECT_PIDS_STUCK_MAX threads of pid walks are left waiting,
 * and as many of walks with keys (the mounts): past that, walks of that
 * kind are refused until one returns.  Separate, so that processes held
 * in execve do not stop the statfs of the mounts, nor a dead network
 * file system the walks of the processes.
 *
 * The walk owns everything it touches (struct collect_walk, made by the
 * family with what visit() needs and fills): a thread left waiting frees
 * it when its read returns, so nothing it uses belongs to the loop.
 * visit() runs in that thread: it must not log (the log goes to the
 * master over the loop's edge) nor touch anything outside its walk.
 */
#ifndef AGENT_COLLECT_PIDS_H
#define AGENT_COLLECT_PIDS_H

#include <stddef.h>
#include <stdint.h>

#define COLLECT_PIDS_PATIENCE	1.0	/* seconds a pid may take */
#define COLLECT_PIDS_STUCK_MAX	8	/* threads left waiting at most, per
					 * kind of walk (pids, keys) */
#define COLLECT_PIDS_WALK_MAX	10.0	/* seconds a whole walk may take */

struct collect_pids;

struct collect_walk {
	/* one pid of root/proc: 0, or -1 with err to end the walk */
	int	(*visit)(struct collect_walk *, const char *root, int pid);
	/*
	 * Or, with keys (the walk's own strings), each keys[i] in turn
	 * instead of root/proc: the FS family's statfs of every mount,
	 * which a dead network file system holds the same way.  A key that
	 * hangs is named "<verb> <key>" with the hint in parentheses.
	 */
	int	(*visit_key)(struct collect_walk *, const char *root,
		    size_t i);
	char	**keys;
	size_t	  nkeys;
	const char *verb;
	const char *hint;
	/*
	 * Seconds the whole walk may take (collect_pids_budget()); 0 is
	 * COLLECT_PIDS_WALK_MAX.
	 */
	double	  budget;
	/* frees the walk, this struct included */
	void	(*destroy)(struct collect_walk *);
	char	  err[256];
};

/* patience: seconds without progress before a pid is given up on */
struct collect_pids	*collect_pids_new(double patience);
/* Threads still waiting keep what they need until they return. */
void			 collect_pids_free(struct collect_pids *);

/*
 * visit() for every pid of root/proc but the skipped ones (or
 * visit_key() for every key but those).  0: done, and
 * the walk is the caller's again (to read, then destroy).  -1 with err:
 * the walk is not the caller's any more (destroyed, or left to its
 * thread); err names what failed, or the pid that did not answer.
 */
int	 collect_pids_walk(struct collect_pids *, const char *root,
	    struct collect_walk *, char *err, size_t errlen);

/* Pids (and keys) given up on whose read has not returned yet. */
size_t	 collect_pids_stuck(struct collect_pids *);

/*
 * The budget of a walk of a family run every `interval` seconds: half
 * of it, at most COLLECT_PIDS_WALK_MAX.
 */
double	 collect_pids_budget(int64_t interval);

/* A /proc entry's pid, or -1 when the name is not one. */
int	 collect_pids_parse(const char *name);

#endif
