/*
 * FS: kernel.files.*, the mount list of /proc/mounts (filters, bind
 * mounts, escapes), space and inodes from statfs (a table here), and the
 * read/write probe in directories of a temporary root.
 */
#include "collect_fixture.h"

#include <fcntl.h>

#include "workers/collector/collect_hooks.h"

extern const struct collect_family collect_fs_family;

/* The root the statfs double strips (tests run one at a time per process). */
static char	 fake_root[PATH_MAX];

struct fake_fs {
	const char	*mount;
	long		 bsize, frsize;
	unsigned long	 blocks, bfree, bavail, files, ffree;
};

static const struct fake_fs fake[] = {
	{ "/", 4096, 4096, 1000000, 400000, 350000, 65536, 60000 },
	{ "/data", 1024, 0, 2097152, 2097152, 2097152, 0, 0 },
	{ "/library", 4096, 4096, 0, 0, 0, 10, 10 },
	{ "/network", 4096, 4096, 100, 50, 40, 100, 1 },
	{ "/mnt/my disk", 4096, 4096, 1000000, 400000, 350000, 65536, 60000 },
	{ "/devdata", 4096, 4096, 100, 100, 100, 100, 100 },
	{ "/odd", 4096, 4096, 100, 100, 100, 100, 100 },
	{ "/ro-missing", 4096, 4096, 100, 100, 100, 100, 100 },
	{ "/stale", 4096, 4096, 100, 100, 100, 100, 100 },
	{ "/foreign", 4096, 4096, 100, 100, 100, 100, 100 },
	{ "/symlinked", 4096, 4096, 100, 100, 100, 100, 100 },
	/* used + bavail = 0 with blocks > 0: no NaN */
	{ "/mnt/sandboxing", 4096, 4096, 10, 10, 0, 5, 6 },
};

static int
fake_statfs(const char *path, struct statfs *sf)
{
	size_t	 i, n = strlen(fake_root);

	cr_assert(strncmp(path, fake_root, n) == 0, "statfs %s", path);
	for (i = 0; i < sizeof(fake) / sizeof(fake[0]); i++) {
		if (strcmp(path + n, fake[i].mount) != 0)
			continue;
		memset(sf, 0, sizeof(*sf));
		sf->f_bsize = fake[i].bsize;
		sf->f_frsize = fake[i].frsize;
		sf->f_blocks = fake[i].blocks;
		sf->f_bfree = fake[i].bfree;
		sf->f_bavail = fake[i].bavail;
		sf->f_files = fake[i].files;
		sf->f_ffree = fake[i].ffree;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

static void
run(const char *root, struct point_list *pl)
{
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";

	memset(&env, 0, sizeof(env));
	env.root = root;
	env.now = 1700000000;
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, fake_statfs);
	cr_assert_eq(collect_fs_family.collect(st, &env, pl, err,
	    sizeof(err)), 0, "%s", err);
	collect_fs_family.fini(st);
	cr_assert_eq(pl->failed, 0);
}

#define M(mount, ino, sp, tot, used, fr, rw)				\
	"fs.inodes.used.percent mount=" mount " " ino "f\n"		\
	"fs.space.used.percent mount=" mount " " sp "f\n"		\
	"fs.space.total mount=" mount " " tot "\n"			\
	"fs.space.used mount=" mount " " used "\n"			\
	"fs.space.free mount=" mount " " fr "\n"			\
	"fs.files.rw mount=" mount " " rw "\n"

Test(collect_fs, handmade)
{
	struct point_list	 pl;
	char			 path[PATH_MAX * 2];
	struct stat		 st;

	tmp_root(fake_root, sizeof(fake_root));
	copy_fixture(fake_root, "proc/mounts", "fs/mounts.handmade");
	put_file(fake_root, "proc/sys/fs/file-max", "1000\n");
	put_file(fake_root, "proc/sys/fs/file-nr", "1500\t0\t1000\n");
	mk_dir(fake_root, "data");
	mk_dir(fake_root, "library");
	mk_dir(fake_root, "network");
	mk_dir(fake_root, "mnt/my disk");
	mk_dir(fake_root, "devdata");
	/* a probe file an earlier collector left: removed, probe passes */
	put_file(fake_root, "stale/.loda-fs-detect", "FS-RW2023-01-01 00:00:00");
	/* somebody else's file of that name: left alone, probe fails */
	put_file(fake_root, "foreign/.loda-fs-detect", "precious");
	/* a symlink to a file outside: not followed, not removed */
	put_file(fake_root, "target", "keep");
	mk_dir(fake_root, "symlinked");
	snprintf(path, sizeof(path), "%s/symlinked/.loda-fs-detect", fake_root);
	cr_assert_eq(symlink("../target", path), 0);

	collect_list_init(&pl);
	run(fake_root, &pl);
	assert_dump(&pl,
	    "kernel.files.max - 1000\n"
	    "kernel.files.allocated - 1500\n"
	    "kernel.files.allocated.percent - 150f\n"
	    "kernel.files.left - 0\n"
	    M("/", "9", "64", "3906", "2343", "1367", "1")
	    M("/data", "0", "0", "2048", "0", "2048", "1")
	    M("/library", "0", "0", "0", "0", "0", "1")
	    M("/network", "99", "56", "0", "0", "0", "1")
	    M("/mnt/my disk", "9", "64", "3906", "2343", "1367", "1")
	    M("/devdata", "0", "0", "0", "0", "0", "1")
	    M("/odd", "0", "0", "0", "0", "0", "1")
	    M("/ro-missing", "0", "0", "0", "0", "0", "0")
	    M("/stale", "0", "0", "0", "0", "0", "1")
	    M("/foreign", "0", "0", "0", "0", "0", "0")
	    M("/symlinked", "0", "0", "0", "0", "0", "0"));
	collect_list_free(&pl);

	/* probes cleaned up after themselves, and only after themselves */
	snprintf(path, sizeof(path), "%s/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/data/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/stale/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/foreign/.loda-fs-detect", fake_root);
	cr_assert_str_eq(get_file(path), "precious");
	snprintf(path, sizeof(path), "%s/symlinked/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	snprintf(path, sizeof(path), "%s/target", fake_root);
	cr_assert_str_eq(get_file(path), "keep");
	/* /odd was never probed: its directory does not even exist */
	rm_tree(fake_root);
}

Test(collect_fs, captured)
{
	struct point_list	 pl;

	tmp_root(fake_root, sizeof(fake_root));
	copy_fixture(fake_root, "proc/mounts", "fs/mounts.captured");
	copy_fixture(fake_root, "proc/sys/fs/file-max", "fs/file-max.captured");
	copy_fixture(fake_root, "proc/sys/fs/file-nr", "fs/file-nr.captured");
	collect_list_init(&pl);
	run(fake_root, &pl);
	/* only / is left of this machine's mounts */
	assert_dump(&pl,
	    "kernel.files.max - 2466177\n"
	    "kernel.files.allocated - 1124\n"
	    "kernel.files.allocated.percent - 0.04f\n"
	    "kernel.files.left - 2465053\n"
	    M("/", "9", "64", "3906", "2343", "1367", "1"));
	collect_list_free(&pl);
	rm_tree(fake_root);
}

Test(collect_fs, no_kernel_files)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "", path[PATH_MAX * 2];

	/* file-nr missing: max alone, as the Go agent */
	tmp_root(fake_root, sizeof(fake_root));
	put_file(fake_root, "proc/mounts",
	    "/dev/x /mnt/sandboxing ext4 ro 0 0\n");
	mk_dir(fake_root, "mnt/sandboxing");
	put_file(fake_root, "proc/sys/fs/file-max", "0\n");
	collect_list_init(&pl);
	run(fake_root, &pl);
	assert_dump(&pl,
	    "kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1"));
	collect_list_reset(&pl);

	/* max 0: no percent (Go divided into +Inf) */
	put_file(fake_root, "proc/sys/fs/file-nr", "7 0 0\n");
	run(fake_root, &pl);
	assert_dump(&pl,
	    "kernel.files.max - 0\n"
	    "kernel.files.allocated - 7\n"
	    "kernel.files.left - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1"));
	collect_list_reset(&pl);

	/* no /proc/mounts: the family fails, kernel.files.* stay */
	memset(&env, 0, sizeof(env));
	env.root = fake_root;
	env.now = 1700000000;
	snprintf(path, sizeof(path), "%s/proc/mounts", fake_root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, fake_statfs);
	cr_assert_eq(collect_fs_family.collect(st, &env, &pl, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "/proc/mounts") != NULL, "%s", err);
	cr_assert_eq(pl.n, 3);
	collect_fs_family.fini(st);
	collect_list_free(&pl);
	rm_tree(fake_root);
}

/* The real thing on the real root: statfs(2) and a probe in /tmp's fs. */
Test(collect_fs, real_root)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";
	size_t			 i;
	int			 root_seen = 0;

	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = time(NULL);
	collect_list_init(&pl);
	cr_assert_not_null(st = collect_fs_family.init());
	cr_assert_eq(collect_fs_family.collect(st, &env, &pl, err,
	    sizeof(err)), 0, "%s", err);
	collect_fs_family.fini(st);
	cr_assert_eq(pl.failed, 0);
	for (i = 0; i < pl.n; i++) {
		const struct point *p = &pl.v[i];

		if (p->kind == POINT_FLOAT && strstr(p->name, "percent"))
			cr_assert(p->fval >= 0 && p->fval <= 100,
			    "%s %g", p->name, p->fval);
		if (strcmp(p->name, "fs.space.total") == 0 &&
		    strcmp(p->tags[0].value, "/") == 0) {
			root_seen = 1;
			cr_assert_gt(p->ival, 0);
		}
		if (strcmp(p->name, "fs.files.rw") == 0 && geteuid() == 0 &&
		    strcmp(p->tags[0].value, "/") == 0)
			cr_assert_eq(p->ival, 1);
	}
	cr_assert(root_seen);
	cr_assert_eq(access("/.loda-fs-detect", F_OK), -1);
	collect_list_free(&pl);
}
