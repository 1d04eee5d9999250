/*
 * orphans_kill_tree() (src/master/orphans_tree.c): a process left behind
 * goes with everything under it, whatever group or session each put
 * itself in.  Killing the process and its group left a child in a group
 * of its own alive, which became the master's and did the same again,
 * one generation per sweep, for ever.  The test is a subreaper, as the
 * master is, so that what is killed comes back to it to be reaped and
 * seen dead of SIGKILL.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "master/master.h"

#define DEPTH	4	/* the leftover and three generations under it */

/* The leftover and its generations: each says its pid, puts itself
 * apart (a group, then sessions of their own) and makes the next. */
static void __attribute__((noreturn))
generations(int fd)
{
	pid_t	 self, kid;
	int	 level;

	for (level = 0;; level++) {
		if (level == 1)
			(void)setpgid(0, 0);
		else if (level > 1)
			(void)setsid();
		self = getpid();
		if (write(fd, &self, sizeof(self)) != (ssize_t)sizeof(self))
			_exit(1);
		if (level + 1 == DEPTH || (kid = fork()) != 0)
			break;		/* the last, or a parent: it stays */
	}
	for (;;)
		pause();
}

/* The test a subreaper, and a tree under it: pids[0] its root. */
static void
start_tree(pid_t pids[DEPTH])
{
	pid_t	 root;
	int	 p[2], i;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(root = fork(), -1);
	if (root == 0) {
		(void)close(p[0]);
		generations(p[1]);
	}
	(void)close(p[1]);
	for (i = 0; i < DEPTH; i++)
		cr_assert_eq(read(p[0], &pids[i], sizeof(pids[i])),
		    (ssize_t)sizeof(pids[i]));
	(void)close(p[0]);
	cr_assert_eq(pids[0], root);
}

Test(orphans_tree, a_leftover_goes_with_every_generation_under_it,
    .timeout = 20)
{
	pid_t	 pids[DEPTH], got;
	int	 st, j, dead = 0;

	start_tree(pids);

	cr_assert_eq(orphans_kill_tree(pids[0], 64), DEPTH);
	/* each comes back to us, its subreaper, killed */
	while (dead < DEPTH) {
		got = waitpid(-1, &st, 0);
		cr_assert_neq(got, -1, "waitpid: %s", strerror(errno));
		for (j = 0; j < DEPTH && pids[j] != got; j++)
			;
		cr_assert_lt(j, DEPTH, "pid %ld is not of the tree",
		    (long)got);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		    "generation %d: status %#x", j, st);
		dead++;
	}
}

/* More processes than the bound: as many killed; the rest comes back to
 * the subreaper once its parent is gone, for the next sweep. */
Test(orphans_tree, past_the_bound_the_rest_waits_for_the_next_sweep,
    .timeout = 20)
{
	pid_t	 pids[DEPTH], got;
	int	 st, i;

	start_tree(pids);

	cr_assert_eq(orphans_kill_tree(pids[0], 2), 2);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(got = waitpid(-1, &st, 0), -1);
		cr_assert(got == pids[0] || got == pids[1]);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	/* the third is ours now: the next sweep's */
	cr_assert_eq(orphans_kill_tree(pids[2], 64), 2);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(got = waitpid(-1, &st, 0), -1);
		cr_assert(got == pids[2] || got == pids[3]);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
}
