/* The pidfile lock: single instance, stale detection, probe. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master/pidfile.h"

static char	 dir[] = "/tmp/agent-pidfile-XXXXXX";
static char	 path[512];

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/agent.pid", dir);
}

static void
teardown(void)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pidfile, .init = setup, .fini = teardown);

Test(pidfile, lock_write_probe_remove)
{
	struct pidfile	 pf;
	char		 err[256];
	pid_t		 stale, pid;

	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(stale, 0);
	cr_assert_eq(pidfile_write(&pf, getpid(), err, sizeof(err)), 0);
	/* a second open file description cannot take the lock */
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 1);
	cr_assert_eq(pid, getpid());
	pidfile_remove(&pf);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 0);
	cr_assert_eq(pid, 0);
}

Test(pidfile, second_instance_is_refused_with_the_pid)
{
	struct pidfile	 pf;
	char		 err[256];
	pid_t		 stale, child;
	int		 status;

	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), 0);
	cr_assert_eq(pidfile_write(&pf, getpid(), err, sizeof(err)), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		struct pidfile	 other;
		char		 e[256], want[64];
		pid_t		 s;

		/* flock belongs to the open file: the child must reopen */
		close(pf.fd);
		if (pidfile_lock(&other, path, &s, e, sizeof(e)) != -1)
			_exit(10);
		snprintf(want, sizeof(want), "already running (pid %ld",
		    (long)getppid());
		_exit(strstr(e, want) != NULL ? 0 : 11);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %d", status);
	pidfile_remove(&pf);
}

Test(pidfile, stale_file_is_reported_and_replaced)
{
	struct pidfile	 pf;
	char		 err[256], dirpath[512];
	pid_t		 stale, pid;
	FILE		*f;

	snprintf(dirpath, sizeof(dirpath), "%s/run", dir);
	cr_assert_eq(mkdir(dirpath, 0755), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "424242\n");
	fclose(f);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 0);
	cr_assert_eq(pid, 424242);
	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), 0);
	cr_assert_eq(stale, 424242);
	cr_assert_eq(pidfile_write(&pf, getpid(), err, sizeof(err)), 0);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 1);
	cr_assert_eq(pid, getpid());
	pidfile_remove(&pf);
}

Test(pidfile, garbage_content_is_no_pid)
{
	char	 err[256], dirpath[512];
	pid_t	 pid;
	FILE	*f;

	snprintf(dirpath, sizeof(dirpath), "%s/run", dir);
	cr_assert_eq(mkdir(dirpath, 0755), 0);
	f = fopen(path, "w");
	fprintf(f, "12ab\n");
	fclose(f);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 0);
	cr_assert_eq(pid, 0);
}

/* A link planted at the pidfile's name: never opened, never truncated. */
Test(pidfile, planted_link_is_refused_and_its_target_kept)
{
	struct pidfile	 pf;
	struct stat	 sb;
	char		 err[1024], dirpath[512], victim[512];
	pid_t		 stale, pid;
	FILE		*f;

	snprintf(dirpath, sizeof(dirpath), "%s/run", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	cr_assert_eq(mkdir(dirpath, 0755), 0);
	f = fopen(victim, "w");
	fprintf(f, "precious\n");
	fclose(f);
	cr_assert_eq(symlink(victim, path), 0);
	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a symbolic link") != NULL, "%s", err);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a symbolic link") != NULL, "%s", err);
	cr_assert_eq(pidfile_remove_stale(path, err, sizeof(err)), -1);
	cr_assert_eq(stat(victim, &sb), 0);
	cr_assert_eq(sb.st_size, 9);
	cr_assert_eq(lstat(path, &sb), 0);
	cr_assert(S_ISLNK(sb.st_mode), "the link itself is left alone");
}

/*
 * In a sticky directory anyone may put a file at the pidfile's name
 * between the CLI's check of the name and its open: what was opened is
 * checked too, or `agent stop` would signal whatever pid that file says.
 */
Test(pidfile, a_file_slipped_in_after_the_check_is_refused, .timeout = 30)
{
	char		 err[1024], dirpath[512], planted[512];
	pid_t		 racer, pid;
	int		 i, status, fd, seen = 0;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	snprintf(dirpath, sizeof(dirpath), "%s/run", dir);
	snprintf(planted, sizeof(planted), "%s/run/x", dir);
	cr_assert_eq(mkdir(dirpath, 0755), 0);
	cr_assert_eq(chmod(dirpath, 01777), 0);
	cr_assert_geq(fd = open(planted, O_WRONLY | O_CREAT | O_EXCL, 0644),
	    0);
	cr_assert_eq(write(fd, "1\n", 2), 2);
	cr_assert_eq(fchown(fd, 65534, 65534), 0);
	close(fd);
	cr_assert_neq(racer = fork(), -1);
	if (racer == 0) {
		for (;;) {
			(void)link(planted, path);
			(void)unlink(path);
		}
	}
	for (i = 0; i < 5000; i++) {
		pid = 0;
		if (pidfile_probe(path, &pid, err, sizeof(err)) != -1 &&
		    pid != 0)
			break;
		if (pid == 0)
			seen++;
	}
	cr_assert_eq(kill(racer, SIGKILL), 0);
	cr_assert_eq(waitpid(racer, &status, 0), racer);
	cr_assert_eq(i, 5000, "probe %d read the planted pid %ld", i,
	    (long)pid);
	cr_assert_eq(seen, 5000);
}

/*
 * flock(2) needs only an open file: a stale pidfile others could open
 * (0644, an older agent's) may be held open by one of them, to take its
 * lock once the master is gone.  It is made again, 0600.
 */
Test(pidfile, stale_file_others_could_open_is_made_again)
{
	struct pidfile	 pf;
	struct stat	 old, now;
	char		 err[256], dirpath[512];
	pid_t		 stale, pid;
	int		 fd;

	snprintf(dirpath, sizeof(dirpath), "%s/run", dir);
	cr_assert_eq(mkdir(dirpath, 0755), 0);
	cr_assert_geq(fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644), 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	cr_assert_eq(write(fd, "424242\n", 7), 7);
	cr_assert_eq(fstat(fd, &old), 0);
	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(stale, 424242);
	cr_assert_eq(pidfile_write(&pf, getpid(), err, sizeof(err)), 0);
	cr_assert_eq(stat(path, &now), 0);
	cr_assert(now.st_ino != old.st_ino, "the readable file was kept");
	cr_assert_eq(now.st_mode & 07777, 0600, "mode %o",
	    (unsigned)(now.st_mode & 07777));
	/* the old one's lock is no one's business any more */
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	cr_assert_eq(pidfile_probe(path, &pid, err, sizeof(err)), 1);
	cr_assert_eq(pid, getpid());
	pidfile_remove(&pf);
	close(fd);
}

Test(pidfile, a_new_file_is_for_its_owner_alone)
{
	struct pidfile	 pf;
	struct stat	 sb;
	char		 err[256];
	pid_t		 stale;
	mode_t		 old;

	old = umask(0);
	cr_assert_eq(pidfile_lock(&pf, path, &stale, err, sizeof(err)), 0,
	    "%s", err);
	(void)umask(old);
	cr_assert_eq(fstat(pf.fd, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0600, "mode %o",
	    (unsigned)(sb.st_mode & 07777));
	pidfile_remove(&pf);
}
