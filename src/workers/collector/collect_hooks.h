/*
 * What unit tests replace in the FS and TIME families: the statfs(2) of
 * a mount (fixture trees have no real file systems) and the wall clock
 * and waiting of the SNTP client (exact offsets, quick failures).  The
 * collector never calls these.
 */
#ifndef AGENT_COLLECT_HOOKS_H
#define AGENT_COLLECT_HOOKS_H

#include <sys/statfs.h>
#include <time.h>

typedef int	(*collect_statfs_fn)(const char *path, struct statfs *);
typedef void	(*collect_clock_fn)(struct timespec *);

/* state: what collect_fs_family.init() returned */
void	 collect_fs_set_statfs(void *state, collect_statfs_fn);

/* state: what collect_time_family.init() returned */
void	 collect_time_set_clock(void *state, collect_clock_fn);
void	 collect_time_set_wait(void *state, int ms_per_attempt);

#endif
