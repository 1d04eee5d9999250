/*
 * What a directory takes on disk, for the bound of a checkout's .git
 * (gitpull_op.c).
 */
#ifndef AGENT_GITPULL_DU_H
#define AGENT_GITPULL_DU_H

#include <stdint.h>

#define GITPULL_DU_DEPTH	32	/* levels below the top, at most */

/*
 * The bytes of every block below `path` and of `path` itself (st_blocks),
 * into *bytes.  Symbolic links are counted, never followed; another file
 * system is not entered.  -1 with errno on an error, and ELOOP for a tree
 * deeper than GITPULL_DU_DEPTH: git's own layout is four levels deep, so
 * only ref names can nest further, and a caller bounding the size treats
 * a tree it cannot measure as too large.
 */
int	 gitpull_du(const char *path, int64_t *bytes);

#endif
