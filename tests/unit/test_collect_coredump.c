/* COREDUMP: core files of the last interval in a fixture directory. */
#include "collect_fixture.h"

#include "items.h"

extern const struct collect_family collect_coredump_family;

static int
run(const char *root, const char *dir, const struct items *it,
    struct point_list *pl, char *err, size_t errlen)
{
	struct collect_env	 env;
	void			*st;
	int			 rc;

	memset(&env, 0, sizeof(env));
	env.root = root;
	env.now = 1700000000;
	env.coredumpdir = dir;
	env.items = it;
	/* the directory is listed in a walk's thread (collect_pids.h) */
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	cr_assert_not_null(st = collect_coredump_family.init());
	rc = collect_coredump_family.collect(st, &env, pl, err, errlen);
	collect_coredump_family.fini(st);
	collect_pids_free(env.pids);
	cr_assert_eq(pl->failed, 0);
	return rc;
}

Test(collect_coredump, fixture)
{
	struct point_list	 pl;
	struct items		 it;
	char			 err[256] = "";

	collect_list_init(&pl);
	/* no items: the default 60 s window; names sorted; "future" is
	 * 100 s ahead, over the 60 s a clock may be off: left out */
	cr_assert_eq(run(FIXTURES "/coredump", "/home/coresave", NULL, &pl,
	    err, sizeof(err)), 0, "%s", err);
	assert_dump(&pl,
	    "app.service.coredump service=my_svc 1\n"
	    "app.service.coredump service=nginx 1\n"
	    "app.service.coredump service=php-fpm7.4 1\n");
	collect_list_reset(&pl);

	/* the registry's COREDUMP interval is the window */
	items_init(&it);
	it.intervals[SYS_COREDUMP] = 120;
	cr_assert_eq(run(FIXTURES "/coredump", "/home/coresave", &it, &pl,
	    err, sizeof(err)), 0, "%s", err);
	assert_dump(&pl,
	    "app.service.coredump service=my_svc 1\n"
	    "app.service.coredump service=nginx 1\n"
	    "app.service.coredump service=old 1\n"
	    "app.service.coredump service=php-fpm7.4 1\n");
	collect_list_reset(&pl);
	items_free(&it);

	/* no directory: nothing, no error; none configured: nothing */
	cr_assert_eq(run(FIXTURES "/coredump", "/var/crash", NULL, &pl,
	    err, sizeof(err)), 0);
	cr_assert_eq(run(FIXTURES "/coredump", "", NULL, &pl, err,
	    sizeof(err)), 0);
	cr_assert_eq(pl.n, 0);

	/* not a directory: the family fails, naming it */
	cr_assert_eq(run(FIXTURES "/coredump",
	    "/home/coresave/core.a.b.c", NULL, &pl, err, sizeof(err)), -1);
	cr_assert(strstr(err, "core.a.b.c: Not a directory") != NULL, "%s",
	    err);
	cr_assert_eq(pl.n, 0);
	collect_list_free(&pl);
}

/*
 * The directory is anybody's (1777): a core dated in the future (by
 * more than 60 s), a symlink, a FIFO and a directory named like cores do
 * not count, and at most 100 cores a run are sent, the newest.
 */
Test(collect_coredump, odd_names_and_a_flood)
{
	struct point_list	 pl;
	char			 root[PATH_MAX], path[PATH_MAX * 2];
	char			 rel[128], err[256] = "", *dump;
	int			 i;

	tmp_root(root, sizeof(root));
	put_file(root, "cores/core.edge.1.1700000060", "");	/* +60: in */
	put_file(root, "cores/core.sshd.1.9999999999", "");
	put_file(root, "cores/core.sshd.2.1700000061", "");
	snprintf(path, sizeof(path), "%s/cores/core.link.1.1700000000",
	    root);
	cr_assert_eq(symlink("core.edge.1.1700000060", path), 0);
	snprintf(path, sizeof(path), "%s/cores/core.fifo.1.1700000000",
	    root);
	cr_assert_eq(mkfifo(path, 0600), 0);
	mk_dir(root, "cores/core.dir.1.1700000000");
	collect_list_init(&pl);
	cr_assert_eq(run(root, "/cores", NULL, &pl, err, sizeof(err)), 0,
	    "%s", err);
	assert_dump(&pl, "app.service.coredump service=edge 1\n");
	collect_list_reset(&pl);

	/* 150 more, a second apart: the newest 100 of the 151 sent */
	for (i = 0; i < 150; i++) {
		snprintf(rel, sizeof(rel), "cores/core.s%03d.1.%d", i,
		    1700000000 - 59 + i / 3);
		put_file(root, rel, "");
	}
	cr_assert_eq(run(root, "/cores", NULL, &pl, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(pl.n, 100, "%zu points", pl.n);
	dump = pl_dump(&pl);
	cr_assert(strstr(dump, "service=edge ") != NULL, "%s", dump);
	cr_assert(strstr(dump, "service=s149 ") != NULL, "%s", dump);
	cr_assert(strstr(dump, "service=s051 ") != NULL, "%s", dump);
	cr_assert(strstr(dump, "service=s050 ") == NULL, "%s", dump);
	cr_assert(strstr(dump, "service=sshd") == NULL, "%s", dump);
	free(dump);
	collect_list_free(&pl);
	rm_tree(root);
}
