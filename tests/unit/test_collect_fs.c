/*
 * FS: kernel.files.*, the mount list of /proc/mounts (filters, bind
 * mounts, escapes), space, inodes and ST_RDONLY from statfs (a table
 * here), fs.files.rw from those flags and /proc/self/mountinfo, in a
 * temporary root; and the real root, under the collector's own seccomp
 * filter, which kills any open for writing: fs.files.rw writes nothing.
 */
#include "collect_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "sandbox.h"
#include "workers/collector/collect_hooks.h"
#include "workers/collector/collect_pids.h"

#ifndef ST_VALID
#define ST_VALID	0x0020
#endif

extern const struct collect_family collect_fs_family;

/* The root the statfs double strips (tests run one at a time per process). */
static char	 fake_root[PATH_MAX];

struct fake_fs {
	const char	*mount;
	long		 bsize, frsize;
	unsigned long	 blocks, bfree, bavail, files, ffree;
	long		 flags;
};

#define RW	ST_VALID
#define RO	(ST_VALID | ST_RDONLY)

static const struct fake_fs fake[] = {
	{ "/", 4096, 4096, 1000000, 400000, 350000, 65536, 60000, RW },
	{ "/data", 1024, 0, 2097152, 2097152, 2097152, 0, 0, RW },
	/* no ST_VALID (a kernel before 2.6.36): the flags say nothing */
	{ "/library", 4096, 4096, 0, 0, 0, 10, 10, ST_RDONLY },
	{ "/network", 4096, 4096, 100, 50, 40, 100, 1, RO },
	{ "/mnt/my disk", 4096, 4096, 1000000, 400000, 350000, 65536, 60000,
	    RW },
	/* turned read-only after /proc/mounts was read */
	{ "/devdata", 4096, 4096, 100, 100, 100, 100, 100, RO },
	{ "/odd", 4096, 4096, 100, 100, 100, 100, 100, RO },
	{ "/ro-missing", 4096, 4096, 100, 100, 100, 100, 100, RO },
	{ "/stale", 4096, 4096, 100, 100, 100, 100, 100, RW },
	{ "/foreign", 4096, 4096, 100, 100, 100, 100, 100, RW },
	{ "/symlinked", 4096, 4096, 100, 100, 100, 100, 100, RW },
	/* its statfs waits until the test lets it answer (hung_statfs) */
	{ "/stuck", 4096, 4096, 100, 50, 50, 100, 50, RW },
	/* used + bavail = 0 with blocks > 0: no NaN */
	{ "/mnt/sandboxing", 4096, 4096, 10, 10, 0, 5, 6, RO },
};

static int
fake_statfs(const char *path, struct statfs *sf)
{
	size_t	 i, n = strlen(fake_root);

	/* in the walk's thread: no assertion here, an answer the dump shows */
	if (strncmp(path, fake_root, n) != 0) {
		errno = EXDEV;
		return -1;
	}
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
		sf->f_flags = fake[i].flags;
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
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, fake_statfs);
	cr_assert_eq(collect_fs_family.collect(st, &env, pl, err,
	    sizeof(err)), 0, "%s", err);
	collect_fs_family.fini(st);
	collect_pids_free(env.pids);
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
	copy_fixture(fake_root, "proc/self/mountinfo", "fs/mountinfo.handmade");
	put_file(fake_root, "proc/sys/fs/file-max", "1000\n");
	put_file(fake_root, "proc/sys/fs/file-nr", "1500\t0\t1000\n");
	mk_dir(fake_root, "data");
	mk_dir(fake_root, "library");
	mk_dir(fake_root, "network");
	mk_dir(fake_root, "mnt/my disk");
	mk_dir(fake_root, "devdata");
	/* the Go agent's probe file: neither looked at nor touched now */
	put_file(fake_root, "foreign/.loda-fs-detect", "precious");

	collect_list_init(&pl);
	run(fake_root, &pl);
	/*
	 * rw in /proc/mounts, and then: / writable; /data's superblock
	 * read-only (mountinfo); /library flags without ST_VALID: ignored;
	 * "/mnt/my disk" (escaped in both files) read-only as a mount;
	 * /devdata ST_RDONLY from statfs; /stale two mounts on one point,
	 * the top one's superblock read-only; /foreign and /symlinked (odd
	 * optional fields) writable.  /odd's first option is neither: 1.
	 * /ro-missing: ro and its directory cannot be read: 0.
	 */
	assert_dump(&pl,
	    "kernel.files.max - 1000\n"
	    "kernel.files.allocated - 1500\n"
	    "kernel.files.allocated.percent - 150f\n"
	    "kernel.files.left - 0\n"
	    M("/", "9", "64", "3906", "2343", "1367", "1")
	    M("/data", "0", "0", "2048", "0", "2048", "0")
	    M("/library", "0", "0", "0", "0", "0", "1")
	    M("/network", "99", "56", "0", "0", "0", "1")
	    M("/mnt/my disk", "9", "64", "3906", "2343", "1367", "0")
	    M("/devdata", "0", "0", "0", "0", "0", "0")
	    M("/odd", "0", "0", "0", "0", "0", "1")
	    M("/ro-missing", "0", "0", "0", "0", "0", "0")
	    M("/stale", "0", "0", "0", "0", "0", "0")
	    M("/foreign", "0", "0", "0", "0", "0", "1")
	    M("/symlinked", "0", "0", "0", "0", "0", "1"));
	collect_list_free(&pl);

	/* nothing written anywhere */
	snprintf(path, sizeof(path), "%s/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/data/.loda-fs-detect", fake_root);
	cr_assert_eq(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/foreign/.loda-fs-detect", fake_root);
	cr_assert_str_eq(get_file(path), "precious");
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
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	snprintf(path, sizeof(path), "%s/proc/mounts", fake_root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, fake_statfs);
	cr_assert_eq(collect_fs_family.collect(st, &env, &pl, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "/proc/mounts") != NULL, "%s", err);
	cr_assert_eq(pl.n, 3);
	collect_fs_family.fini(st);
	collect_pids_free(env.pids);
	collect_list_free(&pl);
	rm_tree(fake_root);
}

/*
 * The real thing on the real root, in a child under the collector's
 * seccomp filter (an open for writing, unlink, rename, mkdir would kill
 * it): statfs(2), /proc/mounts and /proc/self/mountinfo.  As root, with a
 * tmpfs of our own mounted rw: reported, writable, and still empty.
 */
static int
real_child(int rep, const char *mnt)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "", line[512];
	size_t			 i;
	int			 n, root_seen = 0, mnt_rw = -1;

	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = time(NULL);
	collect_list_init(&pl);
	if ((st = collect_fs_family.init()) == NULL ||
	    (env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE)) == NULL)
		return 2;
	if (sandbox_seccomp(SANDBOX_FILTER_COLLECTOR, err, sizeof(err)) == -1)
		return 3;
	if (collect_fs_family.collect(st, &env, &pl, err, sizeof(err)) == -1)
		return 4;
	collect_fs_family.fini(st);
	collect_pids_free(env.pids);
	if (pl.failed)
		return 5;
	for (i = 0; i < pl.n; i++) {
		const struct point *p = &pl.v[i];

		if (p->kind == POINT_FLOAT && strstr(p->name, "percent") &&
		    (p->fval < 0 || p->fval > 100))
			return 6;
		if (strcmp(p->name, "fs.space.total") == 0 &&
		    strcmp(p->tags[0].value, "/") == 0) {
			root_seen = 1;
			if (p->ival <= 0)
				return 7;
		}
		if (strcmp(p->name, "fs.files.rw") == 0 &&
		    strcmp(p->tags[0].value, "/") == 0 && p->ival != 1)
			return 8;
		if (strcmp(p->name, "fs.files.rw") == 0 &&
		    strcmp(p->tags[0].value, mnt) == 0)
			mnt_rw = (int)p->ival;
	}
	n = snprintf(line, sizeof(line), "root %d mnt %d\n", root_seen,
	    mnt_rw);
	if (write(rep, line, (size_t)n) != n)
		return 9;
	return 0;
}

Test(collect_fs, real_root_under_the_filter)
{
	char		 mnt[64] = "", out[512] = "", want[128];
	pid_t		 pid;
	ssize_t		 n;
	size_t		 len = 0;
	int		 p[2], status, mounted = 0;
	DIR		*d;
	struct dirent	*de;

	if (geteuid() == 0) {
		snprintf(mnt, sizeof(mnt), "/tmp/collect-fs.XXXXXX");
		cr_assert_not_null(mkdtemp(mnt));
		/* spec and type the FS filters keep */
		cr_assert_eq(mount("agent-fs-test", mnt, "tmpfs", MS_NOSUID |
		    MS_NODEV | MS_NOEXEC, "size=64k,mode=0755"), 0,
		    "mount: %s", strerror(errno));
		mounted = 1;
	} else
		cr_log_info("skipped: needs root: a mount of our own");
	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		(void)close(p[0]);
		_exit(real_child(p[1], mnt));
	}
	cr_assert_neq(pid, -1);
	(void)close(p[1]);
	while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	(void)close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (mounted) {
		/* empty: nothing was made there */
		cr_assert_not_null(d = opendir(mnt));
		while ((de = readdir(d)) != NULL)
			cr_assert(strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0, "%s/%s appeared",
			    mnt, de->d_name);
		(void)closedir(d);
		cr_assert_eq(umount(mnt), 0);
		(void)rmdir(mnt);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %s %d", WIFEXITED(status) ? "exited" : "killed by signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	snprintf(want, sizeof(want), "root 1 mnt %d\n", mounted ? 1 : -1);
	cr_assert_str_eq(out, want);
	cr_assert_eq(access("/.loda-fs-detect", F_OK), -1);
}

/*
 * A mount whose statfs never answers (a dead NFS server, hard-mounted):
 * the round that meets it fails naming it, the next ones report every
 * other mount and leave it out, and once it answers it is back.
 */
static int	 hang_pipe[2] = { -1, -1 };

static int
hung_statfs(const char *path, struct statfs *sf)
{
	char	 c;
	size_t	 n = strlen(path);

	if (n >= 6 && strcmp(path + n - 6, "/stuck") == 0 &&
	    read(hang_pipe[0], &c, 1) != 1) {
		errno = EIO;
		return -1;
	}
	return fake_statfs(path, sf);
}

static int
fs_run(struct collect_env *env, void *st, struct point_list *pl, char *err,
    size_t errlen)
{
	collect_list_reset(pl);
	return collect_fs_family.collect(st, env, pl, err, errlen);
}

Test(collect_fs, a_mount_whose_statfs_hangs_is_skipped_until_it_answers,
    .timeout = 30)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256];
	int			 i;

	tmp_root(fake_root, sizeof(fake_root));
	put_file(fake_root, "proc/mounts",
	    "/dev/x /mnt/sandboxing ext4 ro 0 0\n"
	    "server:/export /stuck nfs4 rw 0 0\n");
	mk_dir(fake_root, "mnt/sandboxing");
	mk_dir(fake_root, "stuck");
	put_file(fake_root, "proc/sys/fs/file-max", "0\n");
	cr_assert_eq(pipe(hang_pipe), 0);
	memset(&env, 0, sizeof(env));
	env.root = fake_root;
	env.now = 1700000000;
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, hung_statfs);
	collect_list_init(&pl);

	/* met: the round fails naming it; kernel.files.* still there */
	cr_assert_eq(fs_run(&env, st, &pl, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "statfs /stuck did not answer in 1 s (a dead "
	    "network file system?): skipped until it does");
	assert_dump(&pl, "kernel.files.max - 0\n");
	cr_assert_eq(collect_pids_stuck(env.pids), 1);

	/* then left out, the others reported */
	cr_assert_eq(fs_run(&env, st, &pl, err, sizeof(err)), 0, "%s", err);
	assert_dump(&pl,
	    "kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1"));

	/* it answers: its thread ends, and the next round has it */
	cr_assert_eq(write(hang_pipe[1], "x", 1), 1);
	for (i = 0; i < 500 && collect_pids_stuck(env.pids) != 0; i++)
		(void)usleep(10000);
	cr_assert_eq(collect_pids_stuck(env.pids), 0);
	cr_assert_eq(write(hang_pipe[1], "x", 1), 1);	/* for that round */
	cr_assert_eq(fs_run(&env, st, &pl, err, sizeof(err)), 0, "%s", err);
	assert_dump(&pl,
	    "kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1")
	    M("/stuck", "50", "50", "0", "0", "0", "1"));

	collect_fs_family.fini(st);
	collect_pids_free(env.pids);
	collect_list_free(&pl);
	(void)close(hang_pipe[0]);
	(void)close(hang_pipe[1]);
	rm_tree(fake_root);
}

/* Every mount answers as /mnt/sandboxing does in the table. */
static int
any_statfs(const char *path, struct statfs *sf)
{
	char	 p[PATH_MAX * 2];

	(void)path;
	snprintf(p, sizeof(p), "%s/mnt/sandboxing", fake_root);
	return fake_statfs(p, sf);
}

/*
 * One FS round over fake_root, which holds proc/mounts and the mount
 * points: every mount answers statfs as /mnt/sandboxing does.  Its
 * points are `want`, `invalid` of them dropped; fake_root goes after.
 */
static void
fs_round_is(const char *want, size_t invalid)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";

	put_file(fake_root, "proc/sys/fs/file-max", "0\n");
	memset(&env, 0, sizeof(env));
	env.root = fake_root;
	env.now = 1700000000;
	cr_assert_not_null(env.pids = collect_pids_new(COLLECT_PIDS_PATIENCE));
	cr_assert_not_null(st = collect_fs_family.init());
	collect_fs_set_statfs(st, any_statfs);
	collect_list_init(&pl);
	cr_assert_eq(collect_fs_family.collect(st, &env, &pl, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(pl.failed, 0);
	cr_assert_eq(pl.invalid, invalid, "%zu dropped", pl.invalid);
	assert_dump(&pl, want);
	collect_fs_family.fini(st);
	collect_pids_free(env.pids);
	collect_list_free(&pl);
	rm_tree(fake_root);
}

/*
 * A mount point longer than a tag value may be (POINT_TAG_MAX): its
 * points alone are dropped and counted; the mounts after it are still
 * reported and the list has not failed.
 */
Test(collect_fs, a_mount_point_too_long_for_a_tag_drops_only_its_points)
{
	char	 mounts[1024], longm[301];

	memset(longm, 'a', sizeof(longm) - 1);
	longm[0] = '/';
	longm[sizeof(longm) - 1] = '\0';
	tmp_root(fake_root, sizeof(fake_root));
	snprintf(mounts, sizeof(mounts), "/dev/y %s ext4 rw 0 0\n"
	    "/dev/x /mnt/sandboxing ext4 ro 0 0\n", longm);
	put_file(fake_root, "proc/mounts", mounts);
	mk_dir(fake_root, "mnt/sandboxing");
	fs_round_is("kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1"), 6);
}

/*
 * A /proc/mounts over its cap (16 MiB): a local user with fusermount can
 * make one (1000 mounts whose points hold kilobytes of escaped blanks).
 * The family refused it whole and reported no file system at all; now
 * the mounts within the cap, the system's (mounted first), are reported.
 */
Test(collect_fs, a_mount_list_over_its_cap_reports_the_mounts_within_it)
{
	char		 path[PATH_MAX], point[4096];
	FILE		*fp;
	size_t		 written = 0;
	int		 i;

	tmp_root(fake_root, sizeof(fake_root));
	put_file(fake_root, "proc/mounts", "/dev/x /mnt/sandboxing ext4 ro "
	    "0 0\n");
	snprintf(path, sizeof(path), "%s/proc/mounts", fake_root);
	cr_assert_not_null(fp = fopen(path, "a"));
	memset(point, 0, sizeof(point));
	strcpy(point, "/home/u/m");
	for (i = strlen(point); i < 4000; i += 4)
		memcpy(point + i, "\\040", 4);
	for (i = 0; written <= 17u * 1024 * 1024; i++)
		written += (size_t)fprintf(fp, "u%d %s%d fuse.x rw 0 0\n", i,
		    point, i);
	cr_assert_eq(fclose(fp), 0);
	mk_dir(fake_root, "mnt/sandboxing");
	fs_round_is("kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1"), 0);
}

/*
 * A local user who owns the root of a file system of her own mounts FUSE
 * on it: statfs of that path then reaches her server, which answered
 * for the system's mount, with numbers of her choosing.  Only the top
 * mount at a point counts, and a FUSE one is not reported; a mount on
 * top of the same kind (a bind mount in place) still is.
 */
Test(collect_fs, a_mount_hidden_under_another_is_not_reported)
{
	tmp_root(fake_root, sizeof(fake_root));
	put_file(fake_root, "proc/mounts",
	    "/dev/x /mnt/sandboxing ext4 ro 0 0\n"
	    "/dev/y /home/alice ext4 rw 0 0\n"
	    "alice /home/alice fuse.sshfs rw,nosuid,nodev 0 0\n"
	    "/dev/z /srv ext4 ro 0 0\n"
	    "/dev/z /srv ext4 ro 0 0\n");
	mk_dir(fake_root, "mnt/sandboxing");
	mk_dir(fake_root, "home/alice");
	mk_dir(fake_root, "srv");
	fs_round_is("kernel.files.max - 0\n"
	    M("/mnt/sandboxing", "0", "0", "0", "0", "0", "1")
	    M("/srv", "0", "0", "0", "0", "0", "1"), 0);
}
