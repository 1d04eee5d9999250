/*
 * A process left behind, with everything under it (orphans.c).  Killing
 * it and its group was not enough: a plugin's leftover that put a child
 * in a group of its own before the sweep came had that child outlive it,
 * reparented to the master, where it did the same again: a lineage that
 * lived on, one generation killed every sweep, as the plugins' user, in
 * the plugin's sandbox.
 *
 * Each process of the tree is stopped before its children are read, so
 * what it forks is in the list; a second pass finds what was forked
 * while the stop was on its way.  Then every process gets SIGKILL.
 *
 * Every process is held by its /proc/<pid> directory from the moment it
 * is listed, read through it and signalled through it (a pidfd, for
 * pidfd_send_signal), never by its pid alone.  A child of a stopped
 * parent that exits is not always left a zombie holding its pid: the
 * kernel reaps it at once when the parent ignores SIGCHLD (or set
 * SA_NOCLDWAIT), stopped or not, and its pid may then be anyone's.  A
 * plugin's leftover did that under a walk, with the host's pid counter
 * brought round, and the master, root, stopped and killed whichever
 * process was given the pid next.  A directory opened from a pid that
 * was already another's is caught by its parent: a child listed in the
 * children file of `t` is taken when its status names `t` as parent
 * while `t`, held, is still there (so `t`'s pid was still `t`'s).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define TREE_PASSES		2
#define TREE_CHILDREN_MAX	4096	/* bytes of pids read per thread */

struct tree_proc {
	pid_t	 pid;
	int	 dfd;		/* its /proc/<pid>: this process, none other */
};

static int
tree_has(const struct tree_proc *t, size_t n, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (t[i].pid == pid)
			return 1;
	return 0;
}

/* The process `dfd` holds is still there (a zombie counts: it keeps its
 * pid); once reaped, what its directory names is gone. */
static int
tree_alive(int dfd)
{
	struct stat	 sb;

	return fstatat(dfd, "status", &sb, 0) == 0;
}

/* The PPid of the process `dfd` holds; -1 when it is gone. */
static pid_t
tree_ppid(int dfd)
{
	char		 buf[1024], *v, *end;
	ssize_t		 r;
	long		 pp;
	int		 fd;

	/* status, never stat: a read of stat waits for a process caught in
	 * execve (procinfo.h) */
	if ((fd = openat(dfd, "status", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if ((v = strstr(buf, "\nPPid:")) == NULL)
		return -1;
	errno = 0;
	pp = strtol(v + 6, &end, 10);
	if (errno != 0 || end == v + 6 || pp <= 0 || pp > INT_MAX)
		return -1;
	return (pid_t)pp;
}

/*
 * `pid`, listed as a child of t[p]: held in t[*n] when it is one.  0 when
 * taken or not a child (gone, or its pid another's already), -1 when no
 * more descriptors can be had: the rest waits for a later sweep, as past
 * the bound.
 */
static int
tree_take(struct tree_proc *t, size_t p, size_t *n, pid_t pid)
{
	char	 path[64];
	int	 dfd;

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errno == EMFILE || errno == ENFILE ? -1 : 0;
	/* its parent as it is now, then that parent still the one listing
	 * it: the pid read was t[p]'s, so this is t[p]'s child */
	if (tree_ppid(dfd) != t[p].pid || !tree_alive(t[p].dfd)) {
		(void)close(dfd);
		return 0;
	}
	t[*n].pid = pid;
	t[*n].dfd = dfd;
	(*n)++;
	return 0;
}

/* The children of every thread of t[p], added to t[] (max in all). */
static void
tree_children(struct tree_proc *t, size_t p, size_t *n, size_t max)
{
	char		 path[64], buf[TREE_CHILDREN_MAX + 1], *s, *end;
	struct dirent	*de;
	DIR		*d;
	ssize_t		 r;
	long		 c;
	int		 fd, tfd;

	if ((tfd = openat(t[p].dfd, "task", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;		/* gone already */
	if ((d = fdopendir(tfd)) == NULL) {
		(void)close(tfd);
		return;
	}
	while (*n < max && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%.20s/children", de->d_name);
		if ((fd = openat(tfd, path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (s = buf; *n < max; s = end) {
			c = strtol(s, &end, 10);
			if (end == s)
				break;
			if (c <= 0 || c > INT_MAX || tree_has(t, *n, (pid_t)c))
				continue;
			if (tree_take(t, p, n, (pid_t)c) == -1) {
				(void)closedir(d);
				return;
			}
		}
	}
	(void)closedir(d);
}

/* `sig` to the process t[i] holds, whoever has its pid now. */
static void
tree_signal(const struct tree_proc *t, size_t i, int sig)
{
	if (syscall(SYS_pidfd_send_signal, t[i].dfd, sig, NULL, 0) == 0 ||
	    errno == ESRCH)
		return;
	/* before Linux 5.1: by its pid, as before (the plugins' runs need
	 * 5.4 anyway, for their pidfds) */
	if (errno == ENOSYS && (kill(t[i].pid, sig) == 0 || errno == ESRCH))
		return;
	log_warn("%s: signal %d to %ld", __func__, sig, (long)t[i].pid);
}

int
orphans_kill_tree(pid_t root, size_t max)
{
	struct tree_proc	*t = NULL;
	char			 path[64];
	size_t			 n = 1, i, stopped = 0;
	int			 pass;

	/* the root is our child, unreaped: its pid is its own */
	snprintf(path, sizeof(path), "/proc/%ld", (long)root);
	if (max == 0 || (t = calloc(max, sizeof(*t))) == NULL ||
	    (t[0].dfd = open(path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		free(t);
		/* the process itself at least */
		if (kill(root, SIGKILL) == -1 && errno != ESRCH)
			log_warn("%s: kill(%ld)", __func__, (long)root);
		return 1;
	}
	t[0].pid = root;
	for (pass = 0; pass < TREE_PASSES; pass++)
		for (i = 0; i < n; i++) {
			if (i == stopped) {
				tree_signal(t, i, SIGSTOP);
				stopped++;
			}
			tree_children(t, i, &n, max);
		}
	for (i = 0; i < n; i++)
		tree_signal(t, i, SIGKILL);
	for (i = 0; i < n; i++)
		(void)close(t[i].dfd);
	free(t);
	return (int)n;
}
