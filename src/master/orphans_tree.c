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
 * while the stop was on its way.  A child of a stopped parent that exits
 * stays a zombie its parent cannot reap, so no pid listed is another
 * process's by the time it is killed.  Then every process gets SIGKILL.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define TREE_PASSES		2
#define TREE_CHILDREN_MAX	4096	/* bytes of pids read per thread */

static int
tree_has(const pid_t *t, size_t n, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (t[i] == pid)
			return 1;
	return 0;
}

/* The children of every thread of `pid`, added to t[] (max in all). */
static void
tree_children(pid_t pid, pid_t *t, size_t *n, size_t max)
{
	char		 path[80], buf[TREE_CHILDREN_MAX + 1], *p, *end;
	struct dirent	*de;
	DIR		*d;
	ssize_t		 r;
	long		 c;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return;		/* gone already */
	while (*n < max && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/children",
		    (long)pid, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (p = buf; *n < max; p = end) {
			c = strtol(p, &end, 10);
			if (end == p)
				break;
			if (c > 0 && c <= INT_MAX && !tree_has(t, *n, (pid_t)c))
				t[(*n)++] = (pid_t)c;
		}
	}
	(void)closedir(d);
}

int
orphans_kill_tree(pid_t root, size_t max)
{
	pid_t	*t;
	size_t	 n = 1, i, stopped = 0;
	int	 pass;

	if (max == 0 || (t = calloc(max, sizeof(*t))) == NULL) {
		/* the process itself at least */
		if (kill(root, SIGKILL) == -1 && errno != ESRCH)
			log_warn("%s: kill(%ld)", __func__, (long)root);
		return 1;
	}
	t[0] = root;
	for (pass = 0; pass < TREE_PASSES; pass++)
		for (i = 0; i < n; i++) {
			if (i == stopped) {
				if (kill(t[i], SIGSTOP) == -1 &&
				    errno != ESRCH)
					log_warn("%s: kill(%ld, SIGSTOP)",
					    __func__, (long)t[i]);
				stopped++;
			}
			tree_children(t[i], t, &n, max);
		}
	for (i = 0; i < n; i++)
		if (kill(t[i], SIGKILL) == -1 && errno != ESRCH)
			log_warn("%s: kill(%ld)", __func__, (long)t[i]);
	free(t);
	return (int)n;
}
