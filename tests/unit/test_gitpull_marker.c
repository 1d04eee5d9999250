/*
 * gitpull_marker.c: the disable markers gitpull writes for the scheduler,
 * in a real directory.  What an older agent's plugins may have left in
 * the directory (it was pluginsuser's) is replaced, never followed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "workers/gitpull/gitpull_marker.h"

static char	 dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_gitpull_marker.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	log_set_level(LOG_LVL_ERROR);
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(gitpull_marker, .init = setup, .fini = teardown, .timeout = 10);

static struct git_req
req(enum git_mark mark, const char *ns, const char *project, time_t before)
{
	struct git_req	 r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.project, sizeof(r.project), "%s", project);
	r.mark = mark;
	r.mark_before = (int64_t)before;
	return r;
}

/* Apply and expect success; returns `kept`. */
static int
apply_ok(enum git_mark mark, const char *project, time_t now, time_t before)
{
	struct git_req	 r = req(mark, "pool.loda", project, before);
	char		 err[512] = "";
	int		 kept = -1;

	cr_assert_eq(gitpull_marker_apply(dir, &r, now, &kept, err,
	    sizeof(err)), 0, "%s", err);
	return kept;
}

static const char *
marker(const char *project)
{
	static char	 path[256];

	snprintf(path, sizeof(path), "%s/plugin.disabled/pool.loda|%s", dir,
	    project);
	return path;
}

/* The markers' directory: its path in sub, made when `make`. */
static void
markers_dir(char *sub, size_t len, int make)
{
	snprintf(sub, len, "%s/plugin.disabled", dir);
	if (make)
		cr_assert_eq(mkdir(sub, 0755), 0);
}

/* A file of ours beside the markers, as a link's or a name's target. */
static void
our_file(char *target, size_t len, struct stat *st)
{
	snprintf(target, len, "%s/ours", dir);
	cr_assert_eq(close(open(target, O_WRONLY | O_CREAT, 0644)), 0);
	cr_assert_eq(stat(target, st), 0);
}

static time_t
mtime_of(const char *path)
{
	struct stat	 st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s: not a file", path);
	cr_assert_eq(st.st_uid, geteuid());
	return st.st_mtime;
}

Test(gitpull_marker, disable_again_restarts_the_day_enable_twice_is_fine)
{
	time_t	 t = time(NULL) - 1000;

	/* the directory is made when missing (the master makes it first) */
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", t, 0), 0);
	cr_assert_eq(mtime_of(marker("mysql")), t);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", t + 10, 0), 0);
	cr_assert_eq(mtime_of(marker("mysql")), t + 10);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "mysql", t, 0), 0);
	cr_assert_eq(access(marker("mysql"), F_OK), -1);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "mysql", t, 0), 0);
}

/* The sweep saw the marker at `before`; a disable since then stays. */
Test(gitpull_marker, the_sweep_leaves_a_marker_touched_since)
{
	time_t	 t = time(NULL) - 100000;

	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", t, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", t + 5, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "mysql", t, t), 1);
	cr_assert_eq(mtime_of(marker("mysql")), t + 5);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "mysql", t, t + 5), 0);
	cr_assert_eq(access(marker("mysql"), F_OK), -1);
}

Test(gitpull_marker, enable_without_a_directory_is_enabled_already)
{
	char	 sub[128];

	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "mysql", time(NULL), 0), 0);
	markers_dir(sub, sizeof(sub), 0);
	cr_assert_eq(access(sub, F_OK), -1, "made for an enable");
}

/*
 * Left in the directory while it was pluginsuser's: a FIFO (an open for
 * writing would wait for a reader), a link (to a file of ours that the
 * touch would change), a second name of one of our files, an empty
 * directory.  Each is removed by its name and a marker made there; what
 * a link or a second name led to is untouched.
 */
Test(gitpull_marker, what_a_plugin_left_in_a_marker_s_place_is_replaced)
{
	char		 sub[128], target[128], path[256];
	struct stat	 st;
	time_t		 t = time(NULL) - 50;

	markers_dir(sub, sizeof(sub), 1);
	our_file(target, sizeof(target), &st);

	cr_assert_eq(mkfifo(marker("fifo"), 0666), 0);
	cr_assert_eq(symlink(target, marker("link")), 0);
	cr_assert_eq(link(target, marker("hard")), 0);
	cr_assert_eq(mkdir(marker("dir"), 0755), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "fifo", t, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "link", t, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "hard", t, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "dir", t, 0), 0);
	cr_assert_eq(mtime_of(marker("fifo")), t);
	cr_assert_eq(mtime_of(marker("link")), t);
	cr_assert_eq(mtime_of(marker("hard")), t);
	cr_assert_eq(mtime_of(marker("dir")), t);
	snprintf(path, sizeof(path), "%s", target);
	cr_assert_eq(mtime_of(path), st.st_mtime, "the link was followed");
	cr_assert_eq(stat(target, &st), 0);
	cr_assert_eq(st.st_nlink, 1);
}

/*
 * A link alone in a marker's place, to a file of ours with one name or
 * to nothing: removed by its name; its target neither touched nor made.
 * An enable goes by the link's own time, not by what it points to.
 */
Test(gitpull_marker, a_link_in_a_marker_s_place_is_never_followed)
{
	char		 sub[128], target[128], dangling[128];
	struct timespec	 ts[2];
	struct stat	 st;
	time_t		 t = time(NULL) - 50;

	markers_dir(sub, sizeof(sub), 1);
	our_file(target, sizeof(target), &st);
	snprintf(dangling, sizeof(dangling), "%s/made", dir);
	cr_assert_eq(symlink(target, marker("link")), 0);
	cr_assert_eq(symlink(dangling, marker("dangling")), 0);

	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "link", t, 0), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "dangling", t, 0), 0);
	cr_assert_eq(mtime_of(marker("link")), t);
	cr_assert_eq(mtime_of(marker("dangling")), t);
	cr_assert_eq(mtime_of(target), st.st_mtime, "the link was followed");
	cr_assert_eq(access(dangling, F_OK), -1, "made through the link");

	/* the sweep judges the link by its own time, never its target's */
	cr_assert_eq(unlink(marker("link")), 0);
	cr_assert_eq(symlink(target, marker("link")), 0);
	ts[0].tv_sec = ts[1].tv_sec = 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	cr_assert_eq(utimensat(AT_FDCWD, marker("link"), ts,
	    AT_SYMLINK_NOFOLLOW), 0);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "link", t, 2000), 0);
	cr_assert_eq(access(marker("link"), F_OK), -1);
	cr_assert_eq(access(target, F_OK), 0);
}

/* A FIFO someone reads: the open succeeds, and it is still no marker. */
Test(gitpull_marker, a_fifo_with_a_reader_is_replaced)
{
	char	 sub[128];
	time_t	 t = time(NULL) - 50;
	int	 rfd;

	markers_dir(sub, sizeof(sub), 1);
	cr_assert_eq(mkfifo(marker("fifo"), 0666), 0);
	cr_assert_geq(rfd = open(marker("fifo"), O_RDONLY | O_NONBLOCK), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "fifo", t, 0), 0);
	cr_assert_eq(mtime_of(marker("fifo")), t);
	close(rfd);
}

/*
 * As gitpull runs, unprivileged: another user's marker it may not write
 * (EACCES) is replaced; a marker it may not remove fails the enable,
 * rather than saying the plugin is enabled while the marker stays.
 */
Test(gitpull_marker, unprivileged_another_s_marker_is_replaced_a_stuck_one_fails)
{
	char	 sub[128], ro[128], stuck[256];
	pid_t	 pid;
	int	 status, fd;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	cr_assert_eq(chmod(dir, 0755), 0);
	markers_dir(sub, sizeof(sub), 1);
	cr_assert_eq(chown(sub, 65534, 65534), 0);
	cr_assert_geq(fd = open(marker("theirs"), O_WRONLY | O_CREAT, 0644),
	    0);
	cr_assert_eq(fchown(fd, 4003, 4003), 0);
	cr_assert_eq(close(fd), 0);
	/* a pluginsdir whose markers' directory is root's */
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	cr_assert_eq(mkdir(ro, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/ro/plugin.disabled", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(stuck, sizeof(stuck), "%s/pool.loda|stuck", sub);
	cr_assert_eq(close(open(stuck, O_WRONLY | O_CREAT, 0644)), 0);

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct git_req	 r;
		struct stat	 st;
		char		 err[512];
		int		 kept;

		if (setgroups(0, NULL) == -1 || setresgid(65534, 65534,
		    65534) == -1 || setresuid(65534, 65534, 65534) == -1)
			_exit(10);
		r = req(GIT_MARK_DISABLE, "pool.loda", "theirs", 0);
		if (gitpull_marker_apply(dir, &r, 1000, &kept, err,
		    sizeof(err)) != 0)
			_exit(11);
		if (lstat(marker("theirs"), &st) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_uid != 65534 ||
		    st.st_mtime != 1000)
			_exit(12);
		r = req(GIT_MARK_ENABLE, "pool.loda", "stuck", 0);
		if (gitpull_marker_apply(ro, &r, 1000, &kept, err,
		    sizeof(err)) != -1)
			_exit(13);
		if (strstr(err, "remove") == NULL ||
		    strstr(err, "Permission denied") == NULL)
			_exit(14);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
	cr_assert_eq(access(stuck, F_OK), 0);
}

/* An older agent's plugin's marker (pluginsuser's file): made ours. */
Test(gitpull_marker, another_user_s_marker_is_replaced_by_ours)
{
	char	 sub[128];
	int	 fd;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root (a file of another user)");
	markers_dir(sub, sizeof(sub), 1);
	cr_assert_geq(fd = open(marker("mysql"), O_WRONLY | O_CREAT, 0600),
	    0);
	cr_assert_eq(fchown(fd, 65534, 65534), 0);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", 1000, 0), 0);
	cr_assert_eq(mtime_of(marker("mysql")), 1000);
}

/* Names that are no file name, a link for the directory: clear errors. */
Test(gitpull_marker, bad_names_and_a_linked_directory_are_refused)
{
	struct git_req	 r;
	char		 err[512], sub[128], elsewhere[128], big[300];
	int		 kept;

	r = req(GIT_MARK_DISABLE, ".hidden", "x", 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "not a file name") != NULL, "%s", err);
	memset(big, 'a', 200);
	big[200] = '\0';
	r = req(GIT_MARK_DISABLE, big, big, 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "not a file name") != NULL, "%s", err);
	r = req(GIT_MARK_DISABLE, "pool.loda", "a/b", 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "not a file name") != NULL, "%s", err);
	r = req(GIT_MARK_NONE, "pool.loda", "x", 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "no marker operation") != NULL, "%s", err);

	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", dir);
	cr_assert_eq(mkdir(elsewhere, 0755), 0);
	markers_dir(sub, sizeof(sub), 0);
	cr_assert_eq(symlink(elsewhere, sub), 0);
	r = req(GIT_MARK_DISABLE, "pool.loda", "x", 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "plugin.disabled: not a directory") != NULL,
	    "%s", err);
	snprintf(sub, sizeof(sub), "%s/elsewhere/pool.loda|x", dir);
	cr_assert_eq(access(sub, F_OK), -1, "the link was followed");
	r = req(GIT_MARK_ENABLE, "pool.loda", "x", 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
}

/* "ns|project" of NAME_MAX bytes is a name; one more would be cut. */
Test(gitpull_marker, a_name_of_name_max_bytes_and_one_more)
{
	struct git_req	 r;
	char		 err[512], half[128];
	int		 kept;

	memset(half, 'a', 127);
	half[127] = '\0';
	r = req(GIT_MARK_DISABLE, half, half, 0);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), 0, "%s", err);
	snprintf(r.project, sizeof(r.project), "%sb", half);
	cr_assert_eq(gitpull_marker_apply(dir, &r, 1, &kept, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "not a file name") != NULL, "%s", err);
}

/*
 * A directory with things inside, in a marker's place (a plugin of an
 * older agent made it, and what is in it is not ours to remove): moved
 * aside under a dot name, for a disable and for an enable.
 */
Test(gitpull_marker, a_full_directory_in_a_marker_s_place_is_moved_aside)
{
	char		 sub[128], path[256], cmd[256];
	time_t		 t = time(NULL) - 70;
	FILE		*fp;

	markers_dir(sub, sizeof(sub), 1);
	cr_assert_eq(mkdir(marker("held"), 0755), 0);
	cr_assert_eq(mkdir(marker("victim"), 0755), 0);
	snprintf(path, sizeof(path), "%s/inside", marker("held"));
	cr_assert_not_null(fp = fopen(path, "w"));
	cr_assert_eq(fclose(fp), 0);
	snprintf(path, sizeof(path), "%s/inside", marker("victim"));
	cr_assert_not_null(fp = fopen(path, "w"));
	cr_assert_eq(fclose(fp), 0);

	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "held", t, 0), 0);
	cr_assert_eq(mtime_of(marker("held")), t);
	cr_assert_eq(apply_ok(GIT_MARK_ENABLE, "victim", t, 0), 0);
	cr_assert_eq(access(marker("victim"), F_OK), -1);
	/* both aside, with what they held */
	snprintf(cmd, sizeof(cmd), "test $(ls -d %s/.aside.* | wc -l) = 2 && "
	    "test $(ls %s/.aside.*/inside | wc -l) = 2", sub, sub);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Made with whatever umask: the scheduler, another user, must read it. */
Test(gitpull_marker, the_directory_is_made_readable_whatever_the_umask)
{
	char		 sub[128];
	struct stat	 st;
	mode_t		 old = umask(077);

	cr_assert_eq(apply_ok(GIT_MARK_DISABLE, "mysql", time(NULL), 0), 0);
	umask(old);
	markers_dir(sub, sizeof(sub), 0);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755, "mode %o", st.st_mode & 07777);
}
