/*
 * collect_pids: walks over <root>/proc that a process held in the kernel
 * cannot stop.  A FIFO stands in for the /proc/<pid>/stat of a process
 * held in execve: opening it for reading waits, as that read would,
 * until a writer comes.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workers/collector/collect_file.h"
#include "workers/collector/collect_pids.h"

#define PATIENCE	0.2	/* seconds: short, the tests wait for it */

struct twalk {
	struct collect_walk	 w;
	int			 seen[64];
	size_t			 nseen;
	int			 fail_at;	/* visit of this pid fails */
	long			 nap_ms;	/* per visit */
	atomic_int		*destroyed;
};

static int
tvisit(struct collect_walk *w, const char *root, int pid)
{
	struct twalk	*t = (struct twalk *)w;
	struct timespec	 nap = { 0, t->nap_ms * 1000000L };
	char		 path[PATH_MAX], buf[64];

	if (t->nseen < sizeof(t->seen) / sizeof(t->seen[0]))
		t->seen[t->nseen++] = pid;
	if (pid == t->fail_at) {
		snprintf(w->err, sizeof(w->err), "pid %d failed", pid);
		return -1;
	}
	if (t->nap_ms > 0)
		(void)nanosleep(&nap, NULL);
	/* a FIFO waits here for a writer */
	if (collect_path(path, sizeof(path), root, "/proc/%d/stat",
	    pid) == 0)
		(void)collect_read(path, buf, sizeof(buf));
	return 0;
}

static void
tdestroy(struct collect_walk *w)
{
	struct twalk	*t = (struct twalk *)w;

	if (t->destroyed != NULL)
		atomic_fetch_add(t->destroyed, 1);
	free(t);
}

static struct twalk *
twalk_new(atomic_int *destroyed)
{
	struct twalk	*t;

	cr_assert_not_null(t = calloc(1, sizeof(*t)));
	t->w.visit = tvisit;
	t->w.destroy = tdestroy;
	t->destroyed = destroyed;
	return t;
}

static int
saw(const struct twalk *t, int pid)
{
	size_t	 i;

	for (i = 0; i < t->nseen; i++)
		if (t->seen[i] == pid)
			return 1;
	return 0;
}

/* A root with proc/<pid>/ for each pid, and entries that are no pid. */
static void
make_root(char *root, size_t len, const int *pids, size_t n)
{
	char	 path[PATH_MAX];
	size_t	 i;

	snprintf(root, len, "/tmp/test_collect_pids.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/proc", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/proc/self", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/proc/0", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/proc/%d", root, pids[i]);
		cr_assert_eq(mkdir(path, 0755), 0);
	}
}

static void
make_fifo(const char *root, int pid)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
	cr_assert_eq(mkfifo(path, 0600), 0, "%s: %s", path, strerror(errno));
}

/* A writer for the FIFO: the waiting read returns (empty). */
static void
answer_fifo(const char *root, int pid)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
	/* the reader waits in open already: this open does not wait */
	cr_assert_neq(fd = open(path, O_WRONLY | O_CLOEXEC), -1, "%s: %s",
	    path, strerror(errno));
	(void)close(fd);
	cr_assert_eq(unlink(path), 0);
}

/* The FIFO gone: the next read finds no file, and does not wait. */
static void
answer_fifo_gone(const char *root, int pid)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
	cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
}

static void
wait_stuck(struct collect_pids *p, size_t n)
{
	int	 i;

	for (i = 0; i < 500 && collect_pids_stuck(p) != n; i++)
		(void)usleep(10000);
	cr_assert_eq(collect_pids_stuck(p), n);
}

static void
rm_root(const char *root)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

/*
 * The walker freed while threads wait on `n` pids: they answer, and the
 * threads free the walker and their walks, `want` walks destroyed in all.
 */
static void
free_with_waiters(struct collect_pids *p, char *root, const int *pids,
    int n, atomic_int *destroyed, int want)
{
	int	 i;

	collect_pids_free(p);
	for (i = 0; i < n; i++)
		answer_fifo(root, pids[i]);
	for (i = 0; i < 500 && *destroyed != want; i++)
		(void)usleep(10000);
	cr_assert_eq(*destroyed, want);
	rm_root(root);
}

Test(collect_pids, parse)
{
	cr_assert_eq(collect_pids_parse("1"), 1);
	cr_assert_eq(collect_pids_parse("2147483647"), 2147483647);
	cr_assert_eq(collect_pids_parse("2147483648"), -1);
	cr_assert_eq(collect_pids_parse("0"), -1);
	cr_assert_eq(collect_pids_parse(""), -1);
	cr_assert_eq(collect_pids_parse("12a"), -1);
	cr_assert_eq(collect_pids_parse("self"), -1);
	cr_assert_eq(collect_pids_parse("99999999999999999999"), -1);
}

Test(collect_pids, every_pid_and_nothing_else)
{
	const int		 pids[] = { 1, 22, 333 };
	struct collect_pids	*p;
	struct twalk		*t;
	atomic_int		 destroyed = 0;
	char			 root[PATH_MAX], err[256];

	make_root(root, sizeof(root), pids, 3);
	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t->nseen, 3);
	cr_assert(saw(t, 1) && saw(t, 22) && saw(t, 333));
	/* the walk is the caller's again */
	cr_assert_eq(destroyed, 0);
	t->w.destroy(&t->w);
	collect_pids_free(p);
	rm_root(root);
}

Test(collect_pids, slow_but_moving_is_not_stuck)
{
	const int		 pids[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct collect_pids	*p;
	struct twalk		*t;
	char			 root[PATH_MAX], err[256];

	make_root(root, sizeof(root), pids, 8);
	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	t = twalk_new(NULL);
	/* 8 x 60 ms: longer than the patience, each pid well within it */
	t->nap_ms = 60;
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t->nseen, 8);
	t->w.destroy(&t->w);
	collect_pids_free(p);
	rm_root(root);
}

Test(collect_pids, a_failed_visit_fails_the_walk_with_its_error)
{
	const int		 pids[] = { 1, 2 };
	struct collect_pids	*p;
	struct twalk		*t;
	atomic_int		 destroyed = 0;
	char			 root[PATH_MAX], err[256];

	make_root(root, sizeof(root), pids, 2);
	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	t = twalk_new(&destroyed);
	t->fail_at = 2;
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "pid 2 failed");
	/* not the caller's any more: destroyed */
	cr_assert_eq(destroyed, 1);
	collect_pids_free(p);
	rm_root(root);
}

Test(collect_pids, no_proc_names_the_path)
{
	struct collect_pids	*p;
	struct twalk		*t;
	atomic_int		 destroyed = 0;
	char			 err[256];

	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, "/nonexistent", &t->w, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "/nonexistent/proc: No such file or directory");
	cr_assert_eq(destroyed, 1);
	collect_pids_free(p);
}

/*
 * The whole story: a walk stuck on pid 5 is given up on and names it;
 * the next walks skip 5 and succeed; once 5 answers, the thread frees
 * its walk, and 5 is read again.
 */
Test(collect_pids, a_stuck_pid_is_given_up_on_skipped_and_read_again)
{
	const int		 pids[] = { 3, 5, 7 };
	struct collect_pids	*p;
	struct twalk		*t, *stuck;
	atomic_int		 destroyed = 0;
	char			 root[PATH_MAX], err[256], want[PATH_MAX + 128];

	make_root(root, sizeof(root), pids, 3);
	make_fifo(root, 5);
	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	stuck = t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/proc/5 did not answer in 0.2 s (a "
	    "process held in execve?): skipped until it does", root);
	cr_assert_str_eq(err, want);
	cr_assert_eq(collect_pids_stuck(p), 1);
	cr_assert_eq(destroyed, 0, "its thread still has it");

	/* skipped, the others read */
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(saw(t, 3) && saw(t, 7) && !saw(t, 5));
	t->w.destroy(&t->w);
	cr_assert_eq(destroyed, 1);

	/* 5 answers: its thread ends the walk (no more pids) and frees it */
	answer_fifo(root, 5);
	wait_stuck(p, 0);
	cr_assert_eq(destroyed, 2);
	(void)stuck;

	/* and 5 is read again */
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(saw(t, 3) && saw(t, 5) && saw(t, 7));
	t->w.destroy(&t->w);
	collect_pids_free(p);
	rm_root(root);
}

/*
 * A root whose first COLLECT_PIDS_STUCK_MAX pids are FIFOs, and as many
 * walks given up on them: every waiting thread's slot taken.
 */
static struct collect_pids *
fill_stuck_slots(char *root, size_t rootlen, int *pids, int npids,
    atomic_int *destroyed)
{
	struct collect_pids	*p;
	struct twalk		*t;
	char			 err[1024];
	int			 i;

	for (i = 0; i < npids; i++)
		pids[i] = 100 + i;
	make_root(root, rootlen, pids, npids);
	for (i = 0; i < COLLECT_PIDS_STUCK_MAX; i++)
		make_fifo(root, pids[i]);
	cr_assert_not_null(p = collect_pids_new(PATIENCE));
	for (i = 0; i < COLLECT_PIDS_STUCK_MAX; i++) {
		t = twalk_new(destroyed);
		cr_assert_eq(collect_pids_walk(p, root, &t->w, err,
		    sizeof(err)), -1);
		cr_assert(strstr(err, "did not answer") != NULL, "%s", err);
	}
	cr_assert_eq(collect_pids_stuck(p), COLLECT_PIDS_STUCK_MAX);
	return p;
}

/*
 * At most COLLECT_PIDS_STUCK_MAX threads wait; then walks are refused,
 * naming the pids, until one returns.  The walker freed while threads
 * still wait is freed by the last of them.
 */
Test(collect_pids, waiting_threads_are_bounded, .timeout = 30)
{
	int			 pids[COLLECT_PIDS_STUCK_MAX + 1];
	struct collect_pids	*p;
	struct twalk		*t;
	atomic_int		 destroyed = 0;
	/* err: eight paths under the test's root, as /proc is in it */
	char			 root[PATH_MAX], err[1024], want[16];
	int			 i;

	p = fill_stuck_slots(root, sizeof(root), pids,
	    COLLECT_PIDS_STUCK_MAX + 1, &destroyed);
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), -1);
	cr_assert(strncmp(err, "walks paused: 8 reads wait in the kernel "
	    "(/tmp/", 47) == 0, "%s", err);
	for (i = 0; i < COLLECT_PIDS_STUCK_MAX; i++) {
		snprintf(want, sizeof(want), "/proc/%d", pids[i]);
		cr_assert(strstr(err, want) != NULL, "%s", err);
	}
	cr_assert_eq(err[strlen(err) - 1], ')', "%s", err);
	cr_assert_eq(destroyed, 1, "the refused walk is destroyed");

	/* one answers: walks go again, skipping the other seven */
	answer_fifo(root, pids[0]);
	wait_stuck(p, COLLECT_PIDS_STUCK_MAX - 1);
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(saw(t, 100) && saw(t, 108) && !saw(t, 101));
	t->w.destroy(&t->w);

	/* freed with seven threads waiting: they free it, and their walks */
	free_with_waiters(p, root, pids + 1, COLLECT_PIDS_STUCK_MAX - 1,
	    &destroyed, COLLECT_PIDS_STUCK_MAX + 2);
}

Test(collect_pids, budget)
{
	cr_assert(collect_pids_budget(10) == 5.0);
	cr_assert(collect_pids_budget(60) == COLLECT_PIDS_WALK_MAX);
	cr_assert(collect_pids_budget(0) == COLLECT_PIDS_WALK_MAX);
}

/* Lets go, one every 50 ms, of whichever FIFO a reader waits on. */
struct pacer {
	const char	*root;
	const int	*pids;
	int		 n;
	atomic_int	 stop;
	atomic_int	 answered;
};

static void *
pacer_run(void *arg)
{
	struct pacer	*pc = arg;
	struct timespec	 nap = { 0, 50 * 1000000L };
	char		 path[PATH_MAX];
	int		 i, fd;

	while (!atomic_load(&pc->stop)) {
		(void)nanosleep(&nap, NULL);
		for (i = 0; i < pc->n; i++) {
			snprintf(path, sizeof(path), "%s/proc/%d/stat",
			    pc->root, pc->pids[i]);
			/* ENXIO: nobody reads this one now */
			if ((fd = open(path, O_WRONLY | O_NONBLOCK |
			    O_CLOEXEC)) == -1)
				continue;
			(void)close(fd);
			atomic_fetch_add(&pc->answered, 1);
			break;
		}
	}
	return NULL;
}

/*
 * Processes held in execve and let go one by one, each well within the
 * patience: the walk still ends at its budget (8 x 50 ms cannot fit in
 * 0.2 s), named as such, and the next walk, with a budget to spare, is
 * not refused.
 */
Test(collect_pids, a_walk_past_its_budget_is_given_up, .timeout = 30)
{
	const int		 pids[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct collect_pids	*p;
	struct twalk		*t;
	struct pacer		 pc;
	pthread_t		 th;
	atomic_int		 destroyed = 0;
	char			 root[PATH_MAX], err[PATH_MAX + 256];
	int			 i;

	make_root(root, sizeof(root), pids, 8);
	for (i = 0; i < 8; i++)
		make_fifo(root, pids[i]);
	/* a patience the pacer never comes near */
	cr_assert_not_null(p = collect_pids_new(5.0));
	memset(&pc, 0, sizeof(pc));
	pc.root = root;
	pc.pids = pids;
	pc.n = 8;
	cr_assert_eq(pthread_create(&th, NULL, pacer_run, &pc), 0);
	t = twalk_new(&destroyed);
	t->w.budget = 0.2;
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), -1);
	cr_assert(strncmp(err, "the /proc walk took over 0.2 s, at ",
	    35) == 0, "%s", err);
	cr_assert(strstr(err, "(processes held in execve, let go one by "
	    "one?): given up this round") != NULL, "%s", err);
	cr_assert_lt(atomic_load(&pc.answered), 8);
	/* its thread stops after the pid it reads now */
	wait_stuck(p, 0);
	for (i = 0; i < 500 && destroyed != 1; i++)
		(void)usleep(10000);
	cr_assert_eq(destroyed, 1);
	atomic_store(&pc.stop, 1);
	cr_assert_eq(pthread_join(th, NULL), 0);

	for (i = 0; i < 8; i++)
		answer_fifo_gone(root, pids[i]);
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t->nseen, 8);
	t->w.destroy(&t->w);
	collect_pids_free(p);
	rm_root(root);
}

struct kwalk {
	struct collect_walk	 w;
	size_t			 nseen;
};

static int
kvisit(struct collect_walk *w, const char *root, size_t i)
{
	((struct kwalk *)w)->nseen++;
	return 0;
}

static void
kdestroy(struct collect_walk *w)
{
	free(w->keys[0]);
	free(w->keys);
	free(w);
}

/*
 * The limit of waiting threads is per kind: with every slot of the pid
 * walks taken (processes held in execve), the statfs walk of the mounts
 * still runs, and a pid walk is still refused.
 */
Test(collect_pids, key_walks_have_their_own_limit, .timeout = 30)
{
	int			 pids[COLLECT_PIDS_STUCK_MAX];
	struct collect_pids	*p;
	struct twalk		*t;
	struct kwalk		*k;
	atomic_int		 destroyed = 0;
	char			 root[PATH_MAX], err[1024];

	p = fill_stuck_slots(root, sizeof(root), pids, COLLECT_PIDS_STUCK_MAX,
	    &destroyed);
	t = twalk_new(&destroyed);
	cr_assert_eq(collect_pids_walk(p, root, &t->w, err, sizeof(err)), -1);
	cr_assert(strncmp(err, "walks paused: 8 reads", 21) == 0, "%s", err);

	cr_assert_not_null(k = calloc(1, sizeof(*k)));
	k->w.visit_key = kvisit;
	k->w.destroy = kdestroy;
	k->w.verb = "statfs";
	k->w.hint = "test";
	cr_assert_not_null(k->w.keys = calloc(1, sizeof(*k->w.keys)));
	cr_assert_not_null(k->w.keys[0] = strdup("/"));
	k->w.nkeys = 1;
	cr_assert_eq(collect_pids_walk(p, root, &k->w, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(k->nseen, 1);
	k->w.destroy(&k->w);

	free_with_waiters(p, root, pids, COLLECT_PIDS_STUCK_MAX, &destroyed,
	    COLLECT_PIDS_STUCK_MAX + 1);
}
