/*
 * For the gitpull tests: real repositories in a temporary directory (a
 * bare source with a `release` branch holding a `plugin` script, and the
 * work tree its commits come from), and a look at process groups.
 */
#ifndef TEST_GITPULL_FIXTURE_H
#define TEST_GITPULL_FIXTURE_H

#include <criterion/criterion.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/procinfo.h"

#define GITC	"git -c user.name=t -c user.email=t@t -c init.defaultBranch=x"

struct src_repo {
	char	 dir[PATH_MAX];		/* the temporary directory */
	char	 work[PATH_MAX];	/* where commits are made */
	char	 bare[PATH_MAX];	/* dir/src/grp/proj.git */
};

static inline void
sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline void
sh(const char *fmt, ...)
{
	char	 cmd[4096];
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "command failed (%d): %s", rc, cmd);
}

/* First line of a command's output. */
static inline void
sh_out(char *out, size_t len, const char *cmd)
{
	FILE	*fp;

	cr_assert_not_null(fp = popen(cmd, "r"));
	if (fgets(out, (int)len, fp) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(fp);
}

/* How many .clone-* directories (clones, checkouts aside) are in `dir`. */
static inline int
clones_in(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".clone-", 7) == 0)
			n++;
	closedir(d);
	return n;
}

static inline void
head_of(const char *dir, char *out, size_t len)
{
	char	 cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD", dir);
	sh_out(out, len, cmd);
	cr_assert_eq(strlen(out), 40, "rev-parse in %s: %s", dir, out);
}

/* Commit in the work tree (a plugin echoing `what`) and push it. */
static inline void
commit_push(const struct src_repo *s, const char *what, const char *branch)
{
	sh("cd '%s' && printf '#!/bin/sh\\necho %s\\n' > plugin && "
	    "chmod +x plugin && git add -A && " GITC " commit -q -m '%s' && "
	    "git push -q -f '%s' HEAD:refs/heads/%s", s->work, what, what,
	    s->bare, branch);
}

/* A fresh temporary directory with the source in it. */
static inline void
src_repo_init(struct src_repo *s, const char *prefix)
{
	char	 tmpl[64];

	memset(s, 0, sizeof(*s));
	snprintf(tmpl, sizeof(tmpl), "/tmp/%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(tmpl));
	sh("chmod 0755 '%s'", tmpl);
	snprintf(s->dir, sizeof(s->dir), "%s", tmpl);
	snprintf(s->work, sizeof(s->work), "%s/work", s->dir);
	snprintf(s->bare, sizeof(s->bare), "%s/src/grp/proj.git", s->dir);
	sh("mkdir -p '%s/plugins' && git init -q --bare '%s' && "
	    GITC " init -q -b release '%s'", s->dir, s->bare, s->work);
	sh("cd '%s' && echo old > old && " GITC " commit -q --allow-empty "
	    "-m root", s->work);
	commit_push(s, "one", "release");
}

static inline void
src_repo_free(struct src_repo *s)
{
	sh("rm -rf '%s'", s->dir);
}

/*
 * The look at other processes reads what the master reads (procinfo.h):
 * getpgid(2) and /proc/<pid>/status, never /proc/<pid>/stat.  A read of
 * the stat of a process held in execve (a close-on-exec descriptor on a
 * file system that does not answer its FLUSH: the integration suites'
 * FuseStall, which make check runs beside these tests) waits as long as
 * it is held; a scan of every /proc/<pid>/stat held a test's event loop,
 * and the gitpull operation under test with it, for as long.
 */

/* 1 for a zombie (or a process gone), 0 for one alive. */
static inline int
proc_zombie(pid_t pid)
{
	char	 buf[512], *v;

	if (procinfo_read(pid, "status", buf, sizeof(buf)) == -1 ||
	    (v = strstr(buf, "\nState:\t")) == NULL)
		return 1;
	return v[strlen("\nState:\t")] == 'Z';
}

/* The next pid in /proc, 0 at the end. */
static inline pid_t
next_pid(DIR *d)
{
	struct dirent	*de;

	while ((de = readdir(d)) != NULL)
		if (strspn(de->d_name, "0123456789") == strlen(de->d_name))
			return (pid_t)atol(de->d_name);
	return 0;
}

/* How many processes of group `pgid` are alive (not zombies). */
static inline int
group_alive(pid_t pgid)
{
	DIR	*d;
	pid_t	 pid;
	int	 n = 0;

	cr_assert_not_null(d = opendir("/proc"));
	while ((pid = next_pid(d)) != 0)
		if (getpgid(pid) == pgid && !proc_zombie(pid))
			n++;
	closedir(d);
	return n;
}

/* A child of `parent` (the first found), 0 when there is none. */
static inline pid_t
child_of(pid_t parent)
{
	DIR	*d;
	pid_t	 pid, ppid, pgid, found = 0;

	cr_assert_not_null(d = opendir("/proc"));
	while (found == 0 && (pid = next_pid(d)) != 0)
		if (procinfo_ids(pid, &ppid, &pgid, NULL, 0) == 0 &&
		    ppid == parent && !proc_zombie(pid))
			found = pid;
	closedir(d);
	return found;
}

#endif
