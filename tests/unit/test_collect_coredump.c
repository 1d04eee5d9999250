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
	cr_assert_not_null(st = collect_coredump_family.init());
	rc = collect_coredump_family.collect(st, &env, pl, err, errlen);
	collect_coredump_family.fini(st);
	cr_assert_eq(pl->failed, 0);
	return rc;
}

Test(collect_coredump, fixture)
{
	struct point_list	 pl;
	struct items		 it;
	char			 err[256] = "";

	collect_list_init(&pl);
	/* no items: the default 60 s window; names sorted */
	cr_assert_eq(run(FIXTURES "/coredump", "/home/coresave", NULL, &pl,
	    err, sizeof(err)), 0, "%s", err);
	assert_dump(&pl,
	    "app.service.coredump service=future 1\n"
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
	    "app.service.coredump service=future 1\n"
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
