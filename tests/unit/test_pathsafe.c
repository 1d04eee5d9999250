/*
 * The master's path rules: every refusal (owner, group or other writable,
 * a symbolic link at each component, not a directory), the sticky bit,
 * creation through descriptors, files, worker directories, the cleaning
 * walk, and the unprivileged case.  The cases that change owners need
 * root and say so otherwise.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master/pathsafe.h"

static char	 base[] = "/tmp/agent-pathsafe-XXXXXX";
static char	 err[1024];

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(base));
	/* like the harness: the dropped-privilege cases must get in */
	cr_assert_eq(chmod(base, 0755), 0);
}

static void
teardown(void)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pathsafe, .init = setup, .fini = teardown);

/* In a forked child: become uid u, group 65534, or exit 10. */
static void
child_become(uid_t u)
{
	if (setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(u, u, u) == -1)
		_exit(10);
}

static const char *
at(const char *fmt, ...)
{
	static char	 bufs[4][1024];
	static int	 n;
	char		*b = bufs[n++ % 4];
	char		 rel[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, 1024, "%s/%s", base, rel);
	return b;
}

static void
mkdir_mode(const char *path, mode_t mode)
{
	cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %s", path,
	    strerror(errno));
	cr_assert_eq(chmod(path, mode), 0);
}

static void
need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
}

static uid_t
nobody(void)
{
	struct passwd	*pw = getpwnam("nobody");

	cr_assert_not_null(pw);
	return pw->pw_uid;
}

static void
write_file(const char *path, const char *s, mode_t mode)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_neq(fd, -1, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static int
open_dir(const char *path, enum pathsafe_how how)
{
	return pathsafe_open_dir(path, geteuid(), how, 0750, err,
	    sizeof(err));
}

static void
refused(int rv, const char *needle1, const char *needle2)
{
	cr_assert_eq(rv, -1, "not refused");
	cr_assert(strstr(err, needle1) != NULL, "\"%s\" not in: %s", needle1,
	    err);
	if (needle2 != NULL)
		cr_assert(strstr(err, needle2) != NULL, "\"%s\" not in: %s",
		    needle2, err);
}

Test(pathsafe, trusted_path_opens_as_the_directory_itself)
{
	struct stat	 a, b;
	int		 fd;

	mkdir_mode(at("a"), 0755);
	mkdir_mode(at("a/b"), 0700);
	fd = open_dir(at("a/b"), PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &a), 0);
	cr_assert_eq(stat(at("a/b"), &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino);
	close(fd);
	/* . and .. are walked, not refused */
	fd = open_dir(at("a/./b/../b"), PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(pathsafe_check_dir(at("a/b"), geteuid(), err,
	    sizeof(err)), 0, "%s", err);
}

/* "." is no level of its own, and /.. is / as for the kernel. */
Test(pathsafe, dot_and_dotdot_resolve_as_the_kernel_does)
{
	struct stat	 a, b;
	char		 up[1100];
	int		 fd;

	mkdir_mode(at("a"), 0755);
	mkdir_mode(at("a/b"), 0755);
	cr_assert_eq(stat(at("a/b"), &b), 0);
	/* the ".." after a "." leaves b, not the "." */
	fd = open_dir(at("a/b/./../../a/b"), PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &a), 0);
	close(fd);
	cr_assert_eq(a.st_ino, b.st_ino);
	snprintf(up, sizeof(up), "/../..%s/a/b", base);
	fd = open_dir(up, PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s: %s", up, err);
	cr_assert_eq(fstat(fd, &a), 0);
	close(fd);
	cr_assert_eq(a.st_ino, b.st_ino);
}

/* Limits of the walk: refused with a reason, never past its buffers. */
Test(pathsafe, a_name_too_long_and_a_path_too_deep_are_refused)
{
	struct stat	 a, b;
	char		 name[NAME_MAX + 2], deep[256];
	size_t		 n, refused_from = 0;
	int		 fd;

	memset(name, 'n', NAME_MAX + 1);
	name[NAME_MAX + 1] = '\0';
	refused(open_dir(at("%s", name), PATHSAFE_CHECK), ": name too long",
	    NULL);
	/*
	 * Deeper and deeper: each one either opens as itself or is refused
	 * as too deep, and so is every one below the first refused.
	 */
	for (n = 1; n <= 100; n++) {
		memcpy(deep + 2 * (n - 1), "d", 2);
		fd = open_dir(at("%s", deep), PATHSAFE_CREATE);
		if (fd >= 0 && refused_from == 0) {
			cr_assert_eq(fstat(fd, &a), 0);
			cr_assert_eq(stat(at("%s", deep), &b), 0);
			cr_assert_eq(a.st_ino, b.st_ino, "%zu levels", n);
			close(fd);
		} else {
			refused(fd, "too deep", NULL);
			if (refused_from == 0)
				refused_from = n;
		}
		deep[2 * n - 1] = '/';
	}
	cr_assert_geq(refused_from, 32, "only %zu levels", refused_from);
}

Test(pathsafe, relative_path_is_refused)
{
	refused(open_dir("tmp", PATHSAFE_EXISTING), "not an absolute path",
	    NULL);
}

Test(pathsafe, directory_of_another_user_is_refused_with_owner_and_mode)
{
	need_root();
	mkdir_mode(at("log"), 0755);
	cr_assert_eq(chown(at("log"), nobody(), 0), 0);
	refused(open_dir(at("log"), PATHSAFE_EXISTING), at("log"),
	    "(owner nobody, mode 0755): not owned by root");
	/* a component above the target counts the same */
	refused(open_dir(at("log/sub"), PATHSAFE_CREATE),
	    "not owned by root", NULL);
	cr_assert_eq(access(at("log/sub"), F_OK), -1, "nothing made under it");
	refused(pathsafe_check_dir(at("log/x/y"), 0, err, sizeof(err)),
	    at("log"), NULL);
}

Test(pathsafe, group_writable_is_refused)
{
	mkdir_mode(at("g"), 0775);
	refused(open_dir(at("g"), PATHSAFE_EXISTING),
	    "(owner ", "mode 0775): writable by its group");
}

Test(pathsafe, other_writable_is_refused)
{
	mkdir_mode(at("o"), 0757);
	refused(open_dir(at("o"), PATHSAFE_EXISTING),
	    "mode 0757): writable by others without the sticky bit", NULL);
	mkdir_mode(at("w"), 0777);
	refused(open_dir(at("w/x"), PATHSAFE_CREATE), "mode 0777", NULL);
	cr_assert_eq(access(at("w/x"), F_OK), -1);
}

Test(pathsafe, dir_problem_of_each_mode_and_owner)
{
	static const struct {
		mode_t		 mode;
		uid_t		 uid;
		const char	*why;	/* NULL: trusted */
	} cases[] = {
		{ S_IFDIR | 0755, 0, NULL },
		{ S_IFDIR | 0700, 1000, NULL },
		{ S_IFDIR | 01777, 0, NULL },
		{ S_IFDIR | 01775, 0, NULL },
		{ S_IFDIR | 0755, 1001, "not owned by root or the invoking" },
		{ S_IFDIR | 0757, 0, "writable by others" },
		{ S_IFDIR | 0775, 1000, "writable by its group" },
		{ S_IFREG | 0644, 0, "not a directory" },
		{ S_IFLNK | 0777, 0, "not a directory" },
	};
	struct stat	 sb;
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&sb, 0, sizeof(sb));
		sb.st_mode = cases[i].mode;
		sb.st_uid = cases[i].uid;
		why = pathsafe_dir_problem(&sb, 1000);
		if (cases[i].why == NULL)
			cr_expect_null(why, "case %zu: %s", i, why);
		else
			cr_expect(why != NULL && strstr(why, cases[i].why) !=
			    NULL, "case %zu: %s", i, why == NULL ? "(null)" :
			    why);
	}
}

Test(pathsafe, sticky_world_writable_is_allowed_but_not_what_others_own)
{
	int	 fd;

	mkdir_mode(at("tmp"), 01777);
	fd = open_dir(at("tmp/agent/log"), PATHSAFE_CREATE);
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	need_root();
	/* another user was first to make /tmp/agent: refused, not used */
	mkdir_mode(at("tmp/other"), 0755);
	cr_assert_eq(chown(at("tmp/other"), nobody(), 0), 0);
	refused(open_dir(at("tmp/other/log"), PATHSAFE_CREATE),
	    "(owner nobody", NULL);
	cr_assert_eq(access(at("tmp/other/log"), F_OK), -1);
}

Test(pathsafe, a_file_on_the_way_is_not_a_directory)
{
	write_file(at("f"), "x", 0644);
	refused(open_dir(at("f/x"), PATHSAFE_CREATE), "is not a directory",
	    NULL);
	refused(open_dir(at("f"), PATHSAFE_EXISTING), "is not a directory",
	    NULL);
}

Test(pathsafe, missing_components)
{
	refused(open_dir(at("none/x"), PATHSAFE_EXISTING),
	    "No such file or directory", NULL);
	cr_assert_eq(open_dir(at("none/x"), PATHSAFE_CHECK), PATHSAFE_ABSENT);
	cr_assert_eq(pathsafe_check_dir(at("none/x"), geteuid(), err,
	    sizeof(err)), 0);
	cr_assert_eq(access(at("none"), F_OK), -1, "CHECK creates nothing");
	/* a file to open needs its directory: the error says which */
	err[0] = '\0';
	refused(pathsafe_open_file(at("none/f"), PATHSAFE_CHECK, 0, O_WRONLY,
	    0600, geteuid(), 0, err, sizeof(err)), at("none"),
	    "No such file or directory");
}

/* A place the user cannot look into is no absent one: the check fails. */
Test(pathsafe, an_unsearchable_component_fails_the_check)
{
	pid_t	 pid;
	int	 status;
	uid_t	 u;

	need_root();
	u = nobody();
	mkdir_mode(at("closed"), 0700);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		child_become(u);
		if (pathsafe_check_dir(at("closed/x"), u, err,
		    sizeof(err)) != -1)
			_exit(11);
		if (strstr(err, "Permission denied") == NULL)
			_exit(12);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
}

/*
 * PATHSAFE_F_SYNCDIR in a directory the caller may write and search but
 * not read (root's, mode 1733, a master not root): it cannot be opened
 * to be synced, and the file is made and used as before, not refused.
 */
Test(pathsafe, a_new_file_in_an_unreadable_directory_is_made_unsynced)
{
	pid_t	 pid;
	int	 status, fd;
	uid_t	 u;

	need_root();
	u = nobody();
	mkdir_mode(at("drop"), 01733);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		child_become(u);
		fd = pathsafe_open_file(at("drop/out"), PATHSAFE_EXISTING, 0,
		    O_WRONLY | O_APPEND, 0640, u, PATHSAFE_F_SYNCDIR, err,
		    sizeof(err));
		if (fd == -1)
			_exit(11);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
	cr_assert_eq(access(at("drop/out"), F_OK), 0);
}

Test(pathsafe, creation_through_descriptors_sets_exact_modes)
{
	struct stat	 sb;
	int		 fd;

	/* whatever the umask: the modes asked for */
	umask(077);
	fd = pathsafe_open_dir(at("x/y/z"), geteuid(), PATHSAFE_CREATE, 0750,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(stat(at("x"), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0755);
	cr_assert_eq(sb.st_uid, geteuid());
	cr_assert_eq(stat(at("x/y"), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0755);
	cr_assert_eq(stat(at("x/y/z"), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0750);
	/* existing directories keep their mode */
	cr_assert_eq(chmod(at("x/y/z"), 0700), 0);
	fd = pathsafe_open_dir(at("x/y/z"), geteuid(), PATHSAFE_CREATE, 0750,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(stat(at("x/y/z"), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700);
}

/* A link owned by nobody in place of each component in turn. */
Test(pathsafe, symlink_of_another_user_at_each_component_is_refused)
{
	const char	*comps[] = { "a", "a/b", "a/b/c" };
	char		 real[1024], moved[1024];
	size_t		 i;

	need_root();
	mkdir_mode(at("a"), 0755);
	mkdir_mode(at("a/b"), 0755);
	mkdir_mode(at("a/b/c"), 0755);
	for (i = 0; i < 3; i++) {
		snprintf(real, sizeof(real), "%s", at("%s", comps[i]));
		snprintf(moved, sizeof(moved), "%s.real", real);
		cr_assert_eq(rename(real, moved), 0);
		cr_assert_eq(symlink(moved, real), 0);
		cr_assert_eq(lchown(real, nobody(), 0), 0);
		refused(open_dir(at("a/b/c"), PATHSAFE_CREATE),
		    "unsafe symbolic link", real);
		refused(pathsafe_check_dir(at("a/b/c"), 0, err, sizeof(err)),
		    "(owner nobody", NULL);
		cr_assert_eq(unlink(real), 0);
		cr_assert_eq(rename(moved, real), 0);
	}
}

Test(pathsafe, root_symlink_in_a_trusted_directory_is_followed_and_walked)
{
	struct stat	 a, b;
	int		 fd;

	need_root();
	mkdir_mode(at("real"), 0755);
	mkdir_mode(at("real/log"), 0750);
	/* like /var/run -> /run: absolute, and relative with .. */
	cr_assert_eq(symlink(at("real"), at("run")), 0);
	mkdir_mode(at("v"), 0755);
	cr_assert_eq(symlink("../real/log", at("v/log")), 0);
	fd = open_dir(at("run/log"), PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &a), 0);
	close(fd);
	fd = open_dir(at("v/log"), PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &b), 0);
	close(fd);
	cr_assert_eq(a.st_ino, b.st_ino);
	/* a trusted link to an untrusted place: the target is refused */
	mkdir_mode(at("theirs"), 0755);
	cr_assert_eq(chown(at("theirs"), nobody(), 0), 0);
	cr_assert_eq(symlink(at("theirs"), at("tolink")), 0);
	refused(open_dir(at("tolink/x"), PATHSAFE_CREATE), at("theirs"),
	    "not owned by root");
	cr_assert_eq(access(at("theirs/x"), F_OK), -1);
	/* a loop ends */
	cr_assert_eq(symlink(at("loop"), at("loop")), 0);
	refused(open_dir(at("loop"), PATHSAFE_EXISTING),
	    "Too many levels of symbolic links", NULL);
}

Test(pathsafe, files_are_created_exclusively_and_never_followed)
{
	struct stat	 sb;
	int		 dfd, fd;

	dfd = open_dir(base, PATHSAFE_EXISTING);
	cr_assert_geq(dfd, 0, "%s", err);
	umask(022);
	fd = pathsafe_open_file_at(dfd, base, "new.log", O_WRONLY | O_APPEND,
	    0640, geteuid(), 0, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0640);
	cr_assert_eq(write(fd, "a", 1), 1);
	close(fd);
	/* the second open appends to the same file */
	fd = pathsafe_open_file_at(dfd, base, "new.log", O_WRONLY | O_APPEND,
	    0640, geteuid(), 0, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(write(fd, "b", 1), 1);
	close(fd);
	cr_assert_eq(stat(at("new.log"), &sb), 0);
	cr_assert_eq(sb.st_size, 2);

	/* a planted link: refused, its target untouched */
	write_file(at("secret"), "root only\n", 0600);
	cr_assert_eq(symlink(at("secret"), at("agent.log")), 0);
	refused(pathsafe_open_file_at(dfd, base, "agent.log",
	    O_WRONLY | O_APPEND, 0640, geteuid(), 0, err, sizeof(err)),
	    "a symbolic link", at("agent.log"));
	refused(pathsafe_check_file(at("agent.log"), geteuid(), 0, err,
	    sizeof(err)), "a symbolic link", NULL);
	cr_assert_eq(stat(at("secret"), &sb), 0);
	cr_assert_eq(sb.st_size, 10);

	/* a hard link to a file elsewhere */
	cr_assert_eq(link(at("secret"), at("hard.log")), 0);
	refused(pathsafe_open_file_at(dfd, base, "hard.log",
	    O_WRONLY | O_APPEND, 0640, geteuid(), 0, err, sizeof(err)),
	    "more than one hard link", NULL);
	cr_assert_eq(stat(at("secret"), &sb), 0);
	cr_assert_eq(sb.st_size, 10);

	/* a FIFO only where allowed, and never a hang without a reader */
	cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
	refused(pathsafe_open_file_at(dfd, base, "fifo", O_WRONLY, 0640,
	    geteuid(), 0, err, sizeof(err)), "not a regular file", NULL);
	cr_assert_eq(pathsafe_open_file_at(dfd, base, "fifo", O_WRONLY, 0640,
	    geteuid(), PATHSAFE_F_SPECIAL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "No such device or address") != NULL, "%s",
	    err);
	close(dfd);
	/* a character device, by its whole path */
	fd = pathsafe_open_file("/dev/null", PATHSAFE_EXISTING, 0, O_WRONLY,
	    0640, geteuid(), PATHSAFE_F_SPECIAL, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	refused(pathsafe_open_file("/dev/null", PATHSAFE_EXISTING, 0,
	    O_WRONLY, 0640, geteuid(), 0, err, sizeof(err)),
	    "not a regular file", NULL);
	cr_assert_eq(pathsafe_check_file(at("none/x"), geteuid(), 0, err,
	    sizeof(err)), 0);
}

Test(pathsafe, a_file_planted_by_another_user_is_refused)
{
	int	 dfd;

	need_root();
	mkdir_mode(at("tmp"), 01777);
	write_file(at("tmp/agent.pid"), "1\n", 0644);
	cr_assert_eq(chown(at("tmp/agent.pid"), nobody(), 0), 0);
	dfd = open_dir(at("tmp"), PATHSAFE_EXISTING);
	cr_assert_geq(dfd, 0, "%s", err);
	refused(pathsafe_open_file_at(dfd, at("tmp"), "agent.pid", O_RDWR,
	    0644, 0, 0, err, sizeof(err)), "(owner nobody, mode 0644)",
	    "not owned by root");
	close(dfd);
}

Test(pathsafe, split)
{
	char	 d[64], n[64];

	cr_assert_eq(pathsafe_split("/a/b/c", d, sizeof(d), n, sizeof(n)), 0);
	cr_assert_str_eq(d, "/a/b");
	cr_assert_str_eq(n, "c");
	cr_assert_eq(pathsafe_split("/c", d, sizeof(d), n, sizeof(n)), 0);
	cr_assert_str_eq(d, "/");
	cr_assert_str_eq(n, "c");
	cr_assert_eq(pathsafe_split("/a/", d, sizeof(d), n, sizeof(n)), -1);
	cr_assert_eq(pathsafe_split("a", d, sizeof(d), n, sizeof(n)), -1);
	cr_assert_eq(pathsafe_split("/a/..", d, sizeof(d), n, sizeof(n)), -1);
	cr_assert_eq(pathsafe_split("/a/.", d, sizeof(d), n, sizeof(n)), -1);
	cr_assert_eq(pathsafe_split("a/b", d, sizeof(d), n, sizeof(n)), -1);
	/* a name cut short would be another file */
	cr_assert_eq(pathsafe_split("/a/bcd", d, sizeof(d), n, 4), 0);
	cr_assert_str_eq(n, "bcd");
	errno = 0;
	cr_assert_eq(pathsafe_split("/a/bcd", d, sizeof(d), n, 3), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
}

Test(pathsafe, workdir_is_made_and_given_through_its_descriptor)
{
	struct stat	 sb;
	int		 dfd, fd;

	need_root();
	dfd = open_dir(base, PATHSAFE_EXISTING);
	cr_assert_geq(dfd, 0, "%s", err);
	fd = pathsafe_workdir_at(dfd, base, "spool", nobody(), 0, 0700, 0,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_assert_eq(sb.st_uid, nobody());
	cr_assert_eq(sb.st_mode & 07777, 0700);
	close(fd);
	/* an existing one is adopted: owner and mode put right */
	cr_assert_eq(chown(at("spool"), 0, 0), 0);
	cr_assert_eq(chmod(at("spool"), 0755), 0);
	fd = pathsafe_workdir_at(dfd, base, "spool", nobody(), 0, 0700, 0,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(stat(at("spool"), &sb), 0);
	cr_assert_eq(sb.st_uid, nobody());
	cr_assert_eq(sb.st_mode & 07777, 0700);
	/* the right owner with another group: the group put right too */
	cr_assert_eq(chown(at("spool"), nobody(), 4242), 0);
	fd = pathsafe_workdir_at(dfd, base, "spool", nobody(), 0, 0700, 0,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(stat(at("spool"), &sb), 0);
	cr_assert_eq(sb.st_gid, 0);
	/* uid (uid_t)-1: neither owner nor group changed, only the mode */
	cr_assert_eq(chmod(at("spool"), 0755), 0);
	fd = pathsafe_workdir_at(dfd, base, "spool", (uid_t)-1, 4242, 0700, 0,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(stat(at("spool"), &sb), 0);
	cr_assert_eq(sb.st_uid, nobody());
	cr_assert_eq(sb.st_gid, 0);
	cr_assert_eq(sb.st_mode & 07777, 0700);
	close(dfd);
}

/* pathsafe_workdir_at() for `worker` on parent/d, which `maker` made. */
static int
workdir_made_by(const char *parent, mode_t mode, uid_t maker, uid_t worker)
{
	int	 pfd, fd;

	mkdir_mode(at("%s", parent), mode);
	mkdir_mode(at("%s/d", parent), 0755);
	cr_assert_eq(chown(at("%s/d", parent), maker, 0), 0);
	cr_assert_geq(pfd = open(at("%s", parent), O_PATH | O_DIRECTORY), 0);
	fd = pathsafe_workdir_at(pfd, at("%s", parent), "d", worker, 0, 0700,
	    0, err, sizeof(err));
	close(pfd);
	return fd;
}

/*
 * In a directory others may write (a worker's), what root, the worker's
 * user or that directory's owner made is adopted, what a stranger made
 * is not; in one only root writes, whatever is there is ours.
 */
Test(pathsafe, workdir_is_adopted_from_whoever_could_have_made_it)
{
	static const uid_t	 worker = 4001, owner = 4002, stranger = 4003;
	const uid_t		 makers[] = { 0, worker, owner };
	struct stat		 sb;
	size_t			 i;
	int			 pfd, fd;

	need_root();
	mkdir_mode(at("p"), 0755);
	cr_assert_eq(chown(at("p"), owner, 0), 0);
	cr_assert_geq(pfd = open(at("p"), O_PATH | O_DIRECTORY), 0);
	for (i = 0; i < sizeof(makers) / sizeof(makers[0]); i++) {
		mkdir_mode(at("p/d"), 0755);
		cr_assert_eq(chown(at("p/d"), makers[i], 0), 0);
		fd = pathsafe_workdir_at(pfd, at("p"), "d", worker, 0, 0700, 0,
		    err, sizeof(err));
		cr_assert_geq(fd, 0, "made by uid %lu: %s",
		    (unsigned long)makers[i], err);
		cr_assert_eq(fstat(fd, &sb), 0);
		cr_assert_eq(sb.st_uid, worker);
		close(fd);
		cr_assert_eq(rmdir(at("p/d")), 0);
	}
	mkdir_mode(at("p/d"), 0755);
	cr_assert_eq(chown(at("p/d"), stranger, 0), 0);
	refused(pathsafe_workdir_at(pfd, at("p"), "d", worker, 0, 0700, 0,
	    err, sizeof(err)), "(owner uid 4003", NULL);
	close(pfd);

	/* root's, but its group may write: not root's alone */
	refused(workdir_made_by("g", 0775, stranger, worker),
	    "(owner uid 4003", NULL);

	/* root's alone: adopted */
	fd = workdir_made_by("r", 0755, stranger, worker);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_assert_eq(sb.st_uid, worker);
	close(fd);
}

/* The master forks its workers: nothing opened here may leak into one,
 * and a file is written blocking whatever the open needed. */
Test(pathsafe, descriptors_are_close_on_exec_and_files_blocking)
{
	int	 dfd, fd, fl;

	fd = open_dir("/", PATHSAFE_EXISTING);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "/ leaks");
	close(fd);
	dfd = open_dir(base, PATHSAFE_EXISTING);
	cr_assert_geq(dfd, 0, "%s", err);
	cr_assert(fcntl(dfd, F_GETFD) & FD_CLOEXEC, "the directory leaks");
	fd = pathsafe_open_file_at(dfd, base, "f", O_WRONLY | O_APPEND, 0600,
	    geteuid(), 0, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the file leaks");
	cr_assert_neq(fl = fcntl(fd, F_GETFL), -1);
	cr_assert_eq(fl & O_NONBLOCK, 0, "the file is non-blocking");
	close(fd);
	fd = pathsafe_workdir_at(dfd, base, "w", (uid_t)-1, 0, 0700,
	    geteuid(), err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the workdir leaks");
	close(fd);
	close(dfd);
}

/* Finding 1: pluginsdir/plugin.disabled swapped for a link to root's. */
Test(pathsafe, workdir_link_in_a_user_directory_is_refused_target_unchanged)
{
	struct stat	 sb;
	int		 pfd, dfd;

	need_root();
	mkdir_mode(at("secret"), 0700);
	mkdir_mode(at("plugins"), 0755);
	cr_assert_eq(chown(at("plugins"), nobody(), 0), 0);
	cr_assert_eq(symlink(at("secret"), at("plugins/plugin.disabled")), 0);
	cr_assert_eq(lchown(at("plugins/plugin.disabled"), nobody(), 0), 0);
	dfd = open_dir(base, PATHSAFE_EXISTING);
	cr_assert_geq(dfd, 0, "%s", err);
	pfd = pathsafe_workdir_at(dfd, base, "plugins", nobody(), 0, 0755, 0,
	    err, sizeof(err));
	cr_assert_geq(pfd, 0, "%s", err);
	refused(pathsafe_check_workdir_at(pfd, at("plugins"),
	    "plugin.disabled", nobody(), 0, err, sizeof(err)),
	    at("plugins/plugin.disabled"), "a symbolic link");
	refused(pathsafe_workdir_at(pfd, at("plugins"), "plugin.disabled",
	    nobody(), 0, 0755, 0, err, sizeof(err)), "(owner nobody",
	    "a symbolic link");
	cr_assert_eq(stat(at("secret"), &sb), 0);
	cr_assert_eq(sb.st_uid, 0);
	cr_assert_eq(sb.st_mode & 07777, 0700);
	close(pfd);
	close(dfd);
}

Test(pathsafe, workdir_in_a_user_directory_made_by_a_stranger_is_refused)
{
	struct passwd	*daemon_pw;
	uid_t		 stranger;
	int		 pfd, fd;

	need_root();
	if ((daemon_pw = getpwnam("daemon")) == NULL)
		cr_skip_test("skipped: no user daemon");
	/* before getpwnam("nobody") reuses the same buffer */
	stranger = daemon_pw->pw_uid;
	mkdir_mode(at("plugins"), 0755);
	cr_assert_eq(chown(at("plugins"), nobody(), 0), 0);
	mkdir_mode(at("plugins/plugin.disabled"), 0755);
	cr_assert_eq(chown(at("plugins/plugin.disabled"), stranger, 0), 0);
	pfd = open(at("plugins"), O_PATH | O_DIRECTORY);
	cr_assert_geq(pfd, 0);
	refused(pathsafe_workdir_at(pfd, at("plugins"), "plugin.disabled",
	    nobody(), 0, 0755, 0, err, sizeof(err)), "(owner daemon", NULL);
	/* made by the owner of pluginsdir: adopted */
	cr_assert_eq(chown(at("plugins/plugin.disabled"), nobody(), 0), 0);
	fd = pathsafe_workdir_at(pfd, at("plugins"), "plugin.disabled",
	    nobody(), 0, 0755, 0, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	close(pfd);
}

static void
tree(const char *top, int n)
{
	char	 p[1024];
	int	 i;

	mkdir_mode(top, 0755);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%d", top, i);
		write_file(p, "data\n", 0644);
	}
}

Test(pathsafe, empty_dir_removes_inside_only_and_never_follows)
{
	struct stat	 sb;
	unsigned	 failures;

	tree(at("outside"), 5);
	mkdir_mode(at("plugins"), 0755);
	tree(at("plugins/ns"), 3);
	tree(at("plugins/ns/proj"), 3);
	tree(at("plugins/ns/proj/.git"), 2);
	cr_assert_eq(symlink(at("outside"), at("plugins/ns/link")), 0);
	cr_assert_eq(symlink(at("outside/f0"), at("plugins/filelink")), 0);
	/* a link to another file system is a name like any other */
	cr_assert_eq(symlink("/proc", at("plugins/ns/proclink")), 0);
	cr_assert_eq(mkfifo(at("plugins/fifo"), 0600), 0);
	cr_assert_eq(pathsafe_empty_dir(at("plugins"), geteuid(), &failures,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(failures, 0);
	cr_assert_eq(rmdir(at("plugins")), 0, "plugins left non-empty");
	cr_assert_eq(stat(at("outside/f4"), &sb), 0);
	cr_assert_eq(stat(at("outside/f0"), &sb), 0);
	/* nothing to do */
	cr_assert_eq(pathsafe_empty_dir(at("plugins"), geteuid(), &failures,
	    err, sizeof(err)), 0, "%s", err);
	/* pluginsdir a link itself: not followed */
	cr_assert_eq(symlink(at("outside"), at("plugins")), 0);
	cr_assert_eq(pathsafe_empty_dir(at("plugins"), geteuid(), &failures,
	    err, sizeof(err)), -1);
	cr_assert_eq(stat(at("outside/f1"), &sb), 0);
}

Test(pathsafe, empty_dir_under_an_untrusted_parent_is_refused)
{
	unsigned	 failures;

	need_root();
	mkdir_mode(at("p"), 0777);
	tree(at("p/plugins"), 2);
	refused(pathsafe_empty_dir(at("p/plugins"), 0, &failures, err,
	    sizeof(err)), "writable by others", NULL);
	cr_assert_eq(access(at("p/plugins/f1"), F_OK), 0);
}

/*
 * Deeper than a path may be long, as a repository can make a checkout:
 * emptied all the same (a recursion stopped at 128 levels, "nested too
 * deep", and left it).
 */
Test(pathsafe, empty_dir_takes_a_tree_deeper_than_a_path, .timeout = 60)
{
	unsigned	 failures;
	int		 fd, next, i;

	mkdir_mode(at("plugins"), 0755);
	cr_assert_geq(fd = open(at("plugins"), O_RDONLY | O_DIRECTORY), 0);
	for (i = 0; i < 2100; i++) {
		cr_assert_eq(mkdirat(fd, "d", 0755), 0);
		cr_assert_geq(next = openat(fd, "d", O_RDONLY | O_DIRECTORY),
		    0);
		close(fd);
		fd = next;
	}
	close(fd);
	cr_assert_eq(pathsafe_empty_dir(at("plugins"), geteuid(), &failures,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(failures, 0);
	cr_assert_eq(rmdir(at("plugins")), 0, "plugins left non-empty");
}

/* A file system mounted inside is not entered: reported, left whole. */
Test(pathsafe, empty_dir_never_leaves_the_file_system)
{
	unsigned	 failures;
	int		 rv;

	need_root();
	/* in a mount namespace of this test's own: nothing seen outside */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		cr_skip_test("skipped: no mount namespace: %s",
		    strerror(errno));
	mkdir_mode(at("plugins"), 0755);
	mkdir_mode(at("plugins/mnt"), 0755);
	cr_assert_eq(mount("tmpfs", at("plugins/mnt"), "tmpfs", 0, NULL), 0,
	    "%s", strerror(errno));
	write_file(at("plugins/mnt/f"), "x", 0644);
	rv = pathsafe_empty_dir(at("plugins"), geteuid(), &failures, err,
	    sizeof(err));
	cr_expect_eq(access(at("plugins/mnt/f"), F_OK), 0, "entered");
	cr_assert_eq(umount2(at("plugins/mnt"), MNT_DETACH), 0);
	refused(rv, "another file system is mounted there", NULL);
}

/* As root, with `me` standing for the invoking user. */
Test(pathsafe, unprivileged_me_is_trusted_as_owner)
{
	int	 fd;

	need_root();
	mkdir_mode(at("home"), 0700);
	cr_assert_eq(chown(at("home"), nobody(), 0), 0);
	fd = pathsafe_open_dir(at("home"), nobody(), PATHSAFE_EXISTING, 0,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	refused(pathsafe_open_dir(at("home"), 1, PATHSAFE_EXISTING, 0, err,
	    sizeof(err)), "not owned by root or the invoking user", NULL);
}

/* Really unprivileged: the walk with O_PATH, creation as that user. */
Test(pathsafe, unprivileged_start_for_real)
{
	struct passwd	*daemon_pw;
	struct stat	 sb;
	pid_t		 pid;
	int		 status, fd;
	uid_t		 u;

	need_root();
	u = nobody();
	mkdir_mode(at("home"), 0711);
	cr_assert_eq(chown(at("home"), u, 0), 0);
	daemon_pw = getpwnam("daemon");
	if (daemon_pw != NULL) {
		mkdir_mode(at("stranger"), 0755);
		cr_assert_eq(chown(at("stranger"), daemon_pw->pw_uid, 0), 0);
	}
	u = nobody();
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		child_become(u);
		fd = pathsafe_open_dir(at("home/agent/log"), u,
		    PATHSAFE_CREATE, 0750, err, sizeof(err));
		if (fd < 0 || fstat(fd, &sb) == -1 || sb.st_uid != u)
			_exit(11);
		close(fd);
		if (daemon_pw != NULL && (pathsafe_check_dir(at("stranger"),
		    u, err, sizeof(err)) != -1 ||
		    strstr(err, "the invoking user") == NULL))
			_exit(12);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
}
