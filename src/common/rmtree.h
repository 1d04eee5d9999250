/*
 * Removing everything below a directory, at any depth, without following
 * a link or leaving the file system (rmtree.c): gitpull's removal of a
 * checkout, and the master's `agent stop -m clean` of pluginsdir.
 */
#ifndef AGENT_RMTREE_H
#define AGENT_RMTREE_H

#include <limits.h>

struct rmtree_report {
	unsigned	 failures;	/* entries that stayed, and why not */
	int		 first_errno;	/* of the first; 0: not an errno */
	char		 first[PATH_MAX + 128];	/* "<path>: <why>" */
};

/*
 * Remove everything inside the directory `fd` (the caller keeps `fd`),
 * which `path` names in the report.  What cannot go is passed and the
 * rest removed all the same.  0 when the directory is left empty; -1
 * with `rep` saying how many entries stayed and why the first did.
 */
int	 rmtree_contents(int fd, const char *path, struct rmtree_report *rep);

#endif
