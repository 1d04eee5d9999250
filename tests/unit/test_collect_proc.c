/*
 * PROC: two snapshots of a fixture /proc (tests/fixtures/collect/proc,
 * 60 s and 6000 clock ticks apart; pid 100 lives on, 101 ends, 102
 * starts, 400's pid is reused, 200's read_bytes goes backwards), then
 * this test binary on the real /proc.
 */
#include "collect_fixture.h"

#include <time.h>

#include "items.h"

extern const struct collect_family collect_proc_family;

#define SNAP1	FIXTURES "/proc/snap1"
#define SNAP2	FIXTURES "/proc/snap2"

static void
add_proc(struct items *it, const char *ns, const char *name, const char *bin)
{
	struct proc_item	 p = { (char *)ns, (char *)name, (char *)bin };

	cr_assert_eq(items_add_proc(it, &p), 0);
}

/*
 * On the real /proc any process of the machine may be held in execve
 * for more than the patience (make check runs an ASan suite beside this
 * one, whose execve of a large forked process can take that long on a
 * loaded machine): that walk fails, as designed, and the next skips the
 * pid.  So a walk of the real /proc that failed on a pid that did not
 * answer is made again, a few times at most, with the same pids state.
 */
#define REAL_WALKS	5

static void
run(void *st, const char *root, const struct items *it, double mono,
    struct point_list *pl)
{
	struct collect_env	 env;
	char			 err[256] = "";
	int			 rc, tries = 0;

	memset(&env, 0, sizeof(env));
	env.root = root;
	env.now = 1700000000;
	env.mono = mono;
	env.items = it;
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	do {
		collect_list_reset(pl);
		err[0] = '\0';
		rc = collect_proc_family.collect(st, &env, pl, err,
		    sizeof(err));
	} while (rc != 0 && root[0] == '\0' && ++tries < REAL_WALKS &&
	    strstr(err, "did not answer") != NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(pl->failed, 0);
	collect_pids_free(env.pids);
}

#define FIRST(n, ns, num, fd, mem)					\
	n ".procnum - " num " >" ns "\n"				\
	n ".fdnum - " fd " >" ns "\n"					\
	n ".mem - " mem " >" ns "\n"
#define RATES(n, ns, num, fd, mem, cpu, r, w)				\
	FIRST(n, ns, num, fd, mem)					\
	n ".cpu - " cpu "f >" ns "\n"					\
	n ".io.read - " r "f >" ns "\n"					\
	n ".io.write - " w "f >" ns "\n"
#define NOCPU(n, ns, num, fd, mem, r, w)				\
	FIRST(n, ns, num, fd, mem)					\
	n ".io.read - " r "f >" ns "\n"					\
	n ".io.write - " w "f >" ns "\n"

Test(collect_proc, snapshots)
{
	struct items		 it;
	struct point_list	 pl;
	void			*st;

	items_init(&it);
	add_proc(&it, "web.loda", "PROC.nginx", "/usr/sbin/nginx");
	add_proc(&it, "db.loda", "PROC.mysqld", "/usr/sbin/mysqld");
	add_proc(&it, "web.loda", "PROC.none", "/opt/none/bin/x");
	add_proc(&it, "db.loda", "PROC.nginx2", "/usr/sbin/nginx");
	collect_list_init(&pl);
	cr_assert_not_null(st = collect_proc_family.init());

	/* first run: counts only; 400's binary was replaced (deleted) */
	run(st, SNAP1, &it, 1000, &pl);
	assert_dump(&pl,
	    FIRST("PROC.nginx", "web.loda", "3", "6", "3670016")
	    FIRST("PROC.mysqld", "db.loda", "1", "5", "102400000")
	    FIRST("PROC.none", "web.loda", "0", "0", "0")
	    FIRST("PROC.nginx2", "db.loda", "3", "6", "3670016"));

	/*
	 * 60 s later: nginx's cpu is pid 100's 311 ticks of 6000 (102 is
	 * new, 400 another process), its reads 6000001 bytes / 60 s; the
	 * mysqld read counter went back, its writes 600 bytes / 60 s.
	 */
	run(st, SNAP2, &it, 1060, &pl);
	assert_dump(&pl,
	    RATES("PROC.nginx", "web.loda", "3", "6", "5480448", "5.18",
	    "100001", "0")
	    RATES("PROC.mysqld", "db.loda", "1", "5", "102400000", "10",
	    "0", "10")
	    RATES("PROC.none", "web.loda", "0", "0", "0", "0", "0", "0")
	    RATES("PROC.nginx2", "db.loda", "3", "6", "5480448", "5.18",
	    "100001", "0"));

	/*
	 * The same tree again with a new item: the machine's ticks did not
	 * move (no cpu), nothing was read or written; the new item's
	 * binary was not looked for before: no rates for it.
	 */
	add_proc(&it, "web.loda", "PROC.late", "/usr/bin/late");
	run(st, SNAP2, &it, 1120, &pl);
	assert_dump(&pl,
	    NOCPU("PROC.nginx", "web.loda", "3", "6", "5480448", "0", "0")
	    NOCPU("PROC.mysqld", "db.loda", "1", "5", "102400000", "0", "0")
	    NOCPU("PROC.none", "web.loda", "0", "0", "0", "0", "0")
	    NOCPU("PROC.nginx2", "db.loda", "3", "6", "5480448", "0", "0")
	    FIRST("PROC.late", "web.loda", "0", "0", "0"));

	/* no items: nothing, and everything forgotten */
	items_free(&it);
	run(st, SNAP2, &it, 1180, &pl);
	cr_assert_eq(pl.n, 0);
	add_proc(&it, "web.loda", "PROC.nginx", "/usr/sbin/nginx");
	run(st, SNAP2, &it, 1240, &pl);
	assert_dump(&pl, FIRST("PROC.nginx", "web.loda", "3", "6",
	    "5480448"));

	collect_proc_family.fini(st);
	collect_list_free(&pl);
	items_free(&it);
}

Test(collect_proc, no_proc)
{
	struct collect_env	 env;
	struct items		 it;
	struct point_list	 pl;
	char			 err[256] = "";
	void			*st;

	items_init(&it);
	add_proc(&it, "web.loda", "PROC.nginx", "/usr/sbin/nginx");
	memset(&env, 0, sizeof(env));
	env.root = FIXTURES "/nonexistent";
	env.items = &it;
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	collect_list_init(&pl);
	cr_assert_not_null(st = collect_proc_family.init());
	cr_assert_eq(collect_proc_family.collect(st, &env, &pl, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nonexistent/proc") != NULL, "%s", err);
	cr_assert_eq(pl.n, 0);
	collect_proc_family.fini(st);
	collect_list_free(&pl);
	collect_pids_free(env.pids);
	items_free(&it);
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct point *
find(const struct point_list *pl, const char *name)
{
	size_t	 i;

	for (i = 0; i < pl->n; i++)
		if (strcmp(pl->v[i].name, name) == 0)
			return &pl->v[i];
	return NULL;
}

/* This test binary, found by its own exe on the real /proc. */
Test(collect_proc, real_process)
{
	struct items		 it;
	struct point_list	 pl;
	const struct point	*p;
	char			 self[PATH_MAX];
	ssize_t			 n;
	double			 t0;
	volatile double		 x = 0;
	void			*st;

	cr_assert_gt(n = readlink("/proc/self/exe", self, sizeof(self) - 1),
	    0);
	self[n] = '\0';
	items_init(&it);
	add_proc(&it, "self.loda", "PROC.self", self);
	collect_list_init(&pl);
	cr_assert_not_null(st = collect_proc_family.init());
	run(st, "", &it, mono(), &pl);
	cr_assert_eq(pl.n, 3);
	/* criterion's runner and this test's process at least */
	cr_assert_not_null(p = find(&pl, "PROC.self.procnum"));
	cr_assert_geq(p->ival, 1);
	cr_assert_not_null(p = find(&pl, "PROC.self.fdnum"));
	cr_assert_geq(p->ival, 3);
	cr_assert_not_null(p = find(&pl, "PROC.self.mem"));
	cr_assert_gt(p->ival, 1024 * 1024);
	assert_normalizes(&pl);

	/* burn some cpu: 0.2 s */
	t0 = mono();
	while (mono() - t0 < 0.2)
		x += 1;
	run(st, "", &it, mono(), &pl);
	cr_assert_eq(pl.n, 6);
	cr_assert_not_null(p = find(&pl, "PROC.self.cpu"));
	cr_assert(p->fval > 0 && p->fval <= 100, "cpu %g", p->fval);
	cr_assert_not_null(p = find(&pl, "PROC.self.io.read"));
	cr_assert_geq(p->fval, 0);
	cr_assert_not_null(p = find(&pl, "PROC.self.io.write"));
	cr_assert_geq(p->fval, 0);
	assert_normalizes(&pl);
	collect_proc_family.fini(st);
	collect_list_free(&pl);
	items_free(&it);
}

/*
 * A process with thousands of supplementary groups: its status has a
 * Groups: line of tens of kilobytes before VmRSS:, past the 16 KiB read
 * at first, and its memory was reported as 0 without a word.
 */
Test(collect_proc, a_status_past_its_first_read_still_gives_the_memory)
{
	struct items		 it;
	struct point_list	 pl;
	char			 root[PATH_MAX], path[PATH_MAX * 2];
	void			*st;
	FILE			*fp;
	int			 g, rc;

	tmp_root(root, sizeof(root));
	snprintf(path, sizeof(path), "cp -a '%s/.' '%s/'", SNAP1, root);
	rc = system(path);
	cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	snprintf(path, sizeof(path), "%s/proc/200/status", root);
	cr_assert_not_null(fp = fopen(path, "w"));
	fprintf(fp, "Name:\tmysqld\nState:\tS (sleeping)\nPid:\t200\n"
	    "Groups:\t");
	for (g = 0; g < 5000; g++)
		fprintf(fp, "%d ", 100000 + g);
	fprintf(fp, "\nVmRSS:\t  100000 kB\nThreads:\t1\n");
	cr_assert_eq(fclose(fp), 0);

	items_init(&it);
	add_proc(&it, "db.loda", "PROC.mysqld", "/usr/sbin/mysqld");
	collect_list_init(&pl);
	cr_assert_not_null(st = collect_proc_family.init());
	run(st, root, &it, 1000, &pl);
	assert_dump(&pl,
	    FIRST("PROC.mysqld", "db.loda", "1", "5", "102400000"));
	collect_proc_family.fini(st);
	collect_list_free(&pl);
	items_free(&it);
	rm_tree(root);
}
