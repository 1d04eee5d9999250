/*
 * KERNEL: kernel.user.login from wtmp and btmp files written here as
 * glibc x86-64 struct utmp records (384 bytes, little-endian).
 */
#include "collect_fixture.h"

#include <fcntl.h>

#include "sandbox.h"

extern const struct collect_family collect_kernel_family;

#define NOW	1700000000

struct utrec {
	unsigned char	 b[384];
};

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Strings copied without their NUL: a full field has none. */
static void
ut(struct utrec *r, int type, const char *line, const char *user,
    const char *host, uint32_t sec)
{
	memset(r->b, 0, sizeof(r->b));
	r->b[0] = (unsigned char)type;
	le32(r->b + 4, 4242);				/* ut_pid */
	memcpy(r->b + 8, line, strnlen(line, 32));	/* ut_line */
	memcpy(r->b + 40, "ts/0", 4);			/* ut_id */
	memcpy(r->b + 44, user, strnlen(user, 32));	/* ut_user */
	memcpy(r->b + 76, host, strnlen(host, 256));	/* ut_host */
	le32(r->b + 340, sec);				/* ut_tv.tv_sec */
	le32(r->b + 344, 123456);			/* ut_tv.tv_usec */
	le32(r->b + 348, 0x0100000a);			/* 10.0.0.1 */
}

/* What the collector gives the family: `root` for /, the clock at NOW. */
static void
kernel_env(struct collect_env *env, const char *root)
{
	memset(env, 0, sizeof(*env));
	env->root = root;
	env->now = NOW;
}

static void
run(const char *root, struct point_list *pl)
{
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";

	kernel_env(&env, root);
	cr_assert_not_null(st = collect_kernel_family.init());
	cr_assert_eq(collect_kernel_family.collect(st, &env, pl, err,
	    sizeof(err)), 0, "%s", err);
	collect_kernel_family.fini(st);
	cr_assert_eq(pl->failed, 0);
}

Test(collect_kernel, wtmp_btmp)
{
	struct utrec		 w[10], b[2];
	struct point_list	 pl;
	char			 root[PATH_MAX], longhost[257], *buf;
	char			 want[4096];

	memset(longhost, 'h', 256);
	longhost[256] = '\0';
	ut(&w[0], 7, "pts/9", "old", "192.0.2.1", 1600000000);
	ut(&w[1], 7, "pts/9", "slack", "192.0.2.1", NOW - 3000);
	ut(&w[2], 7, "pts/0", "alice", "10.0.0.1", NOW - 299);
	ut(&w[3], 7, "pts/0", "edge", "10.0.0.1", NOW - 300);
	ut(&w[4], 7, "tty1", "bob", "", NOW - 10);
	ut(&w[5], 8, "pts/0", "", "", NOW - 5);		/* logout */
	ut(&w[6], 7, "pts/1", "abcdefghijklmnopqrstuvwxyz012345", longhost,
	    NOW - 4);
	ut(&w[7], 7, "", "ev\001l\377 x", "   ", NOW - 3);
	ut(&w[8], 2, "~", "reboot", "6.1.0-13-amd64", NOW - 2);
	ut(&w[9], 7, "pts/2", "Jos\xc3\xa9", "h\xe2\x82", NOW + 30);
	ut(&b[0], 6, "ssh:notty", "root", "203.0.113.9", NOW - 60);
	ut(&b[1], 6, "ssh:notty", "admin", "203.0.113.9", NOW - 301);

	tmp_root(root, sizeof(root));
	/* a partial record at the end: left out, the rest still read */
	cr_assert_not_null(buf = calloc(1, sizeof(w) + 100));
	memcpy(buf, w, sizeof(w));
	put_bytes(root, "var/log/wtmp", buf, sizeof(w) + 100);
	free(buf);
	put_bytes(root, "var/log/btmp", b, sizeof(b));

	collect_list_init(&pl);
	run(root, &pl);
	snprintf(want, sizeof(want),
	    "kernel.user.login user=alice,success=true,remote=10.0.0.1,"
	    "device=pts/0 1 @%d\n"
	    "kernel.user.login user=bob,success=true,device=tty1 1 @%d\n"
	    "kernel.user.login user=abcdefghijklmnopqrstuvwxyz012345,"
	    "success=true,remote=%s,device=pts/1 1 @%d\n"
	    "kernel.user.login user=ev?l? x,success=true 1 @%d\n"
	    "kernel.user.login user=reboot,success=true,"
	    "remote=6.1.0-13-amd64,device=~ 1 @%d\n"
	    "kernel.user.login user=Jos\xc3\xa9,success=true,remote=h??,"
	    "device=pts/2 1 @%d\n"
	    "kernel.user.login user=root,success=false,remote=203.0.113.9,"
	    "device=ssh:notty 0 @%d\n",
	    NOW - 299, NOW - 10, longhost, NOW - 4, NOW - 3, NOW - 2,
	    NOW + 30, NOW - 60);
	assert_dump(&pl, want);
	collect_list_free(&pl);
	rm_tree(root);
}

/*
 * Missing files, an empty one, one of 600 MiB (sparse: no disk) with a
 * recent record at its end, a FIFO.
 */
Test(collect_kernel, odd_files)
{
	struct point_list	 pl;
	char			 root[PATH_MAX], path[PATH_MAX * 2];
	struct utrec		 r;
	int			 fd;

	tmp_root(root, sizeof(root));
	collect_list_init(&pl);
	run(root, &pl);
	cr_assert_eq(pl.n, 0);

	ut(&r, 7, "pts/0", "alice", "10.0.0.1", NOW - 1);
	put_bytes(root, "var/log/btmp", "", 0);
	snprintf(path, sizeof(path), "%s/var/log/wtmp", root);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0644), -1);
	cr_assert_eq(pwrite(fd, &r, sizeof(r), 600LL * 1024 * 1024), 384);
	close(fd);
	run(root, &pl);		/* the Go agent skipped any over 500 MiB */
	cr_assert_eq(pl.n, 1);
	cr_assert_str_eq(pl.v[0].tags[0].value, "alice");
	collect_list_reset(&pl);

	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0);
	run(root, &pl);		/* not opened for reading: no hang */
	cr_assert_eq(pl.n, 0);

	cr_assert_eq(unlink(path), 0);
	put_bytes(root, "var/log/wtmp", &r, 200);	/* less than one */
	run(root, &pl);
	cr_assert_eq(pl.n, 0);
	collect_list_free(&pl);
	rm_tree(root);
}

/*
 * A wtmp larger than the collector may read into (its filter kills a
 * pread64 at SANDBOX_COLLECTOR_OFFSET_MAX or beyond), in a child under
 * that filter: left out, btmp still read, and the collector lives; a read
 * of its last records killed it, every family with it, at every run.
 */
static int
huge_child(const char *root)
{
	struct point_list	 pl;
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";

	kernel_env(&env, root);
	collect_list_init(&pl);
	if ((st = collect_kernel_family.init()) == NULL)
		return 2;
	if (sandbox_seccomp(SANDBOX_FILTER_COLLECTOR, err, sizeof(err)) == -1)
		return 3;
	if (collect_kernel_family.collect(st, &env, &pl, err,
	    sizeof(err)) == -1)
		return 4;
	if (pl.failed || pl.n != 1 || strcmp(pl.v[0].tags[0].value,
	    "bob") != 0)
		return 5;
	return 0;
}

Test(collect_kernel, larger_than_the_filter_reads)
{
	char		 root[PATH_MAX], path[PATH_MAX * 2];
	struct utrec	 r;
	pid_t		 pid;
	int		 fd, status;

	tmp_root(root, sizeof(root));
	ut(&r, 6, "ssh:notty", "bob", "203.0.113.9", NOW - 1);
	put_bytes(root, "var/log/btmp", &r, sizeof(r));
	ut(&r, 7, "pts/0", "alice", "10.0.0.1", NOW - 1);
	snprintf(path, sizeof(path), "%s/var/log/wtmp", root);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0644), -1);
	/* sparse: one record, the first whole one past the bound */
	cr_assert_eq(pwrite(fd, &r, sizeof(r),
	    (off_t)(SANDBOX_COLLECTOR_OFFSET_MAX / sizeof(r) + 1) *
	    (off_t)sizeof(r)), 384, "%s", strerror(errno));
	close(fd);
	if ((pid = fork()) == 0)
		_exit(huge_child(root));
	cr_assert_neq(pid, -1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	rm_tree(root);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %s %d", WIFEXITED(status) ? "exited" : "killed by signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* Many records: read over several chunks, newest kept past the cap. */
Test(collect_kernel, many)
{
	struct point_list	 pl;
	struct utrec		*v;
	char			 root[PATH_MAX], user[32];
	size_t			 i, n = 10005;

	cr_assert_not_null(v = calloc(n, sizeof(*v)));
	ut(&v[0], 7, "pts/0", "old", "x", NOW - 100000);
	for (i = 1; i < n; i++) {
		snprintf(user, sizeof(user), "u%zu", i);
		ut(&v[i], 7, "pts/0", user, "x", NOW - 200 + (uint32_t)(i % 7));
	}
	tmp_root(root, sizeof(root));
	put_bytes(root, "var/log/wtmp", v, 201 * sizeof(*v));
	collect_list_init(&pl);
	run(root, &pl);
	cr_assert_eq(pl.n, 200);
	cr_assert_str_eq(pl.v[0].tags[0].value, "u1");
	cr_assert_str_eq(pl.v[199].tags[0].value, "u200");
	collect_list_reset(&pl);

	put_bytes(root, "var/log/wtmp", v, n * sizeof(*v));
	run(root, &pl);
	cr_assert_eq(pl.n, 10000);
	cr_assert_str_eq(pl.v[0].tags[0].value, "u5");
	cr_assert_str_eq(pl.v[9999].tags[0].value, "u10004");
	collect_list_free(&pl);
	free(v);
	rm_tree(root);
}

/*
 * The scan back is bounded (20,000 records) whatever the times: a
 * record of the window further back than that, behind 20,001 records of
 * the slack hour (a brute force of the last hour), is not reached.
 */
Test(collect_kernel, scan_back_bounded)
{
	struct point_list	 pl;
	struct utrec		*v;
	char			 root[PATH_MAX];
	size_t			 i, n = 20003;

	cr_assert_not_null(v = calloc(n, sizeof(*v)));
	ut(&v[0], 6, "ssh:notty", "far", "x", NOW - 10);
	for (i = 1; i < n - 1; i++)
		ut(&v[i], 6, "ssh:notty", "slack", "x", NOW - 1000);
	ut(&v[n - 1], 6, "ssh:notty", "near", "x", NOW - 5);
	tmp_root(root, sizeof(root));
	put_bytes(root, "var/log/btmp", v, n * sizeof(*v));
	collect_list_init(&pl);
	run(root, &pl);
	cr_assert_eq(pl.n, 1);
	cr_assert_str_eq(pl.v[0].tags[0].value, "near");
	collect_list_free(&pl);
	free(v);
	rm_tree(root);
}
