/*
 * What a directory takes on disk (gitpull_du.h).  Recursive, one
 * descriptor a level: the depth is bounded, unlike rmtree.c's walk,
 * whose trees come from a repository's contents.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "gitpull_du.h"

#define DU_BLOCK	512	/* the unit of st_blocks */

/* Takes `fd` and closes it. */
static int
du_dir(int fd, dev_t dev, int depth, int64_t *bytes)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 sub, rv = 0, e;

	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	/* NULL with errno set is an error, not the end */
	while (rv == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				rv = -1;
			continue;
		}
		*bytes += (int64_t)sb.st_blocks * DU_BLOCK;
		if (!S_ISDIR(sb.st_mode) || sb.st_dev != dev)
			continue;
		if (depth >= GITPULL_DU_DEPTH) {
			errno = ELOOP;
			rv = -1;
		} else if ((sub = openat(dirfd(d), de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    du_dir(sub, dev, depth + 1, bytes) == -1)
			rv = -1;
	}
	if (rv == 0 && errno != 0)
		rv = -1;
	e = errno;
	(void)closedir(d);
	errno = e;
	return rv;
}

int
gitpull_du(const char *path, int64_t *bytes)
{
	struct stat	 sb;
	int		 fd;

	*bytes = 0;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1) {
		(void)close(fd);
		return -1;
	}
	*bytes = (int64_t)sb.st_blocks * DU_BLOCK;
	return du_dir(fd, sb.st_dev, 0, bytes);
}
