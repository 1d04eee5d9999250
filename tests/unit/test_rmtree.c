/*
 * rmtree_contents: real trees in a temporary directory.  Any depth, links
 * never followed, and what cannot go (a file system mounted inside) passed
 * and reported while the rest goes.
 */
#include <criterion/criterion.h>

#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rmtree.h"

static char	 top[PATH_MAX];

static void
setup(void)
{
	strcpy(top, "/tmp/test-rmtree-XXXXXX");
	cr_assert_not_null(mkdtemp(top));
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	(void)system(cmd);
}

static void
file_at(int dfd, const char *name)
{
	int	 fd;

	cr_assert_geq(fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644), 0, "%s: %s", name, strerror(errno));
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
}

/* A chain of `levels` directories "a" below `dfd`, a file at each tenth;
 * the deepest one's descriptor. */
static int
chain(int dfd, int levels)
{
	int	 fd, next, i;

	cr_assert_geq(fd = dup(dfd), 0);
	for (i = 0; i < levels; i++) {
		if (i % 10 == 0)
			file_at(fd, "f");
		cr_assert_eq(mkdirat(fd, "a", 0755), 0, "level %d", i);
		cr_assert_geq(next = openat(fd, "a", O_RDONLY | O_DIRECTORY),
		    0);
		close(fd);
		fd = next;
	}
	return fd;
}

static int
open_top(void)
{
	int	 fd;

	cr_assert_geq(fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	return fd;
}

static int
is_empty(const char *path)
{
	char	 cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	return system(cmd) == 0;
}

TestSuite(rmtree, .init = setup, .fini = teardown);

/*
 * 2100 levels: deeper than a path may be long (PATH_MAX) and than the
 * descriptors a process may hold by default; each directory of the
 * chain also has a sibling directory with files, so that the walk comes
 * back to a directory and finds more in it.
 */
Test(rmtree, any_depth, .timeout = 60)
{
	struct rmtree_report	 rep;
	int			 fd, deep, i;

	fd = open_top();
	deep = chain(fd, 2100);
	close(deep);
	for (i = 0; i < 5; i++) {
		char	 name[16];
		int	 sub;

		snprintf(name, sizeof(name), "side%d", i);
		cr_assert_eq(mkdirat(fd, name, 0755), 0);
		cr_assert_geq(sub = openat(fd, name, O_RDONLY | O_DIRECTORY),
		    0);
		close(chain(sub, 20));
		close(sub);
	}
	cr_assert_eq(rmtree_contents(fd, top, &rep), 0, "%s", rep.first);
	cr_assert_eq(rep.failures, 0);
	close(fd);
	cr_assert(is_empty(top));
}

/* A link, to a directory or a file, goes as a name: what it points to
 * stays. */
Test(rmtree, links_are_names)
{
	struct rmtree_report	 rep;
	char			 outside[PATH_MAX], p[PATH_MAX + 16];
	int			 fd, od;

	snprintf(outside, sizeof(outside), "%s.outside", top);
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_geq(od = open(outside, O_RDONLY | O_DIRECTORY), 0);
	file_at(od, "keep");
	close(od);
	snprintf(p, sizeof(p), "%s/dirlink", top);
	cr_assert_eq(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/filelink", top);
	snprintf(outside + strlen(outside), sizeof(outside) - strlen(outside),
	    "/keep");
	cr_assert_eq(symlink(outside, p), 0);
	fd = open_top();
	cr_assert_eq(rmtree_contents(fd, top, &rep), 0, "%s", rep.first);
	close(fd);
	cr_assert(is_empty(top));
	cr_assert_eq(access(outside, F_OK), 0);
	cr_assert_eq(unlink(outside), 0);
	*strrchr(outside, '/') = '\0';
	cr_assert_eq(rmdir(outside), 0);
}

/*
 * A file system mounted 40 levels down is not entered: reported with a
 * path that says how deep, counted once, and everything else goes (the
 * directories above it stay, not empty, and are not counted again).
 */
Test(rmtree, what_stays_is_passed_and_the_rest_goes, .timeout = 60)
{
	struct rmtree_report	 rep;
	char			 mnt[PATH_MAX + 16];
	int			 fd, deep, sub, rv;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	/* in a mount namespace of this test's own: nothing seen outside */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		cr_skip_test("skipped: no mount namespace: %s",
		    strerror(errno));
	fd = open_top();
	deep = chain(fd, 40);
	cr_assert_eq(mkdirat(deep, "mnt", 0755), 0);
	file_at(deep, "next-to-it");
	snprintf(mnt, sizeof(mnt), "/proc/self/fd/%d/mnt", deep);
	cr_assert_eq(mount("tmpfs", mnt, "tmpfs", 0, NULL), 0, "%s",
	    strerror(errno));
	cr_assert_geq(sub = openat(deep, "mnt", O_RDONLY | O_DIRECTORY), 0);
	file_at(sub, "inside");
	close(sub);
	cr_assert_eq(mkdirat(fd, "other", 0755), 0);
	cr_assert_geq(sub = openat(fd, "other", O_RDONLY | O_DIRECTORY), 0);
	close(chain(sub, 5));
	close(sub);

	rv = rmtree_contents(fd, top, &rep);
	cr_assert_eq(faccessat(deep, "mnt/inside", F_OK, 0), 0, "entered");
	cr_assert_eq(faccessat(deep, "next-to-it", F_OK, 0), -1);
	cr_assert_eq(faccessat(fd, "other", F_OK, 0), -1);
	cr_assert_eq(umount2(mnt, MNT_DETACH), 0);
	close(deep);
	close(fd);
	cr_assert_eq(rv, -1);
	cr_assert_eq(rep.failures, 1, "%u: %s", rep.failures, rep.first);
	cr_assert_eq(rep.first_errno, 0);
	snprintf(mnt, sizeof(mnt), "%s/a/(38 levels)/a/mnt: another file "
	    "system is mounted there", top);
	cr_assert_str_eq(rep.first, mnt);
}

/* Nothing to remove, and a descriptor that is not a directory. */
Test(rmtree, empty_and_not_a_directory)
{
	struct rmtree_report	 rep;
	char			 p[PATH_MAX + 8];
	int			 fd;

	fd = open_top();
	cr_assert_eq(rmtree_contents(fd, top, &rep), 0);
	cr_assert_eq(rep.failures, 0);
	file_at(fd, "file");
	close(fd);
	snprintf(p, sizeof(p), "%s/file", top);
	cr_assert_geq(fd = open(p, O_RDONLY), 0);
	cr_assert_eq(rmtree_contents(fd, p, &rep), -1);
	close(fd);
	cr_assert_eq(rep.failures, 1);
	cr_assert_eq(rep.first_errno, ENOTDIR);
	cr_assert(strstr(rep.first, "/file: Not a directory") != NULL, "%s",
	    rep.first);
	cr_assert_eq(access(p, F_OK), 0);
}

struct mover {
	int	 ino;		/* inotify, on top/x */
	char	 from[PATH_MAX + 8];
	char	 to[PATH_MAX + 16];
	int	 moved;
};

static void *
mover_main(void *arg)
{
	struct mover	*m = arg;
	char		 buf[4096];

	/* the first file the walk removes in x: x moves out of the tree */
	if (read(m->ino, buf, sizeof(buf)) > 0 && rename(m->from, m->to) == 0)
		m->moved = 1;
	return NULL;
}

/*
 * The owner of the tree moves the directory the walk is in, out of the
 * tree, next to a file of the same name as the directory had: a walk that
 * went up by ".." blindly would be there and remove that name (as root,
 * in a sticky /tmp, another user's file).  The walk notices and stops.
 * x holds 8000 files, so that the move, made at the first removal,
 * lands long before the walk is done with them.
 */
Test(rmtree, a_directory_moved_out_ends_the_walk, .timeout = 60)
{
	struct rmtree_report	 rep;
	struct mover		 m;
	pthread_t		 t;
	char			 outside[PATH_MAX], victim[PATH_MAX + 8];
	char			 name[16];
	int			 fd, x, i, rv;

	snprintf(outside, sizeof(outside), "%s.outside", top);
	cr_assert_eq(mkdir(outside, 0755), 0);
	snprintf(victim, sizeof(victim), "%s/x", outside);
	cr_assert_eq(close(open(victim, O_WRONLY | O_CREAT, 0644)), 0);
	fd = open_top();
	cr_assert_eq(mkdirat(fd, "x", 0755), 0);
	cr_assert_geq(x = openat(fd, "x", O_RDONLY | O_DIRECTORY), 0);
	for (i = 0; i < 8000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		file_at(x, name);
	}
	close(x);
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s/x", top);
	snprintf(m.to, sizeof(m.to), "%s/moved", outside);
	cr_assert_geq(m.ino = inotify_init1(IN_CLOEXEC), 0);
	cr_assert_geq(inotify_add_watch(m.ino, m.from, IN_DELETE), 0);
	cr_assert_eq(pthread_create(&t, NULL, mover_main, &m), 0);

	rv = rmtree_contents(fd, top, &rep);
	cr_assert_eq(pthread_join(t, NULL), 0);
	close(m.ino);
	close(fd);
	cr_assert(m.moved, "not moved");
	cr_assert_eq(access(victim, F_OK), 0, "the walk removed %s", victim);
	cr_assert_eq(rv, -1);
	snprintf(victim, sizeof(victim), "%s/x: moved while it was being "
	    "removed", top);
	cr_assert_str_eq(rep.first, victim);
	snprintf(victim, sizeof(victim), "rm -rf '%s'", outside);
	cr_assert_eq(system(victim), 0);
}
