/*
 * LD_PRELOAD shim for the tests: fdatasync() of one file fails with EIO
 * in the sender, once per arming, as a disk that lost the pages would
 * say it.  The file is the one whose inode is SYNCFAIL_INO; the test arms
 * a failure by writing "1" to SYNCFAIL_ARM, which the shim opens in its
 * constructor (before the worker's sandbox and its change of user) and
 * sets back to "0" as it fails; "e" has every fdatasync() of it fail
 * with EINVAL, as on a file system that cannot sync.  Only "agent worker
 * sender" is affected.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim_role.h"

static int	(*real_fdatasync)(int);
static int	 armfd = -1;
static ino_t	 ino;

__attribute__((constructor)) static void
init(void)
{
	const char	*arm = getenv("SYNCFAIL_ARM");
	const char	*i = getenv("SYNCFAIL_INO");

	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (arm == NULL || i == NULL || real_fdatasync == NULL)
		return;
	if (!shim_role_is("sender"))
		return;
	ino = (ino_t)strtoull(i, NULL, 10);
	armfd = open(arm, O_RDWR | O_CLOEXEC);
}

int
fdatasync(int fd)
{
	struct stat	 st;
	char		 c;

	if (armfd != -1 && fstat(fd, &st) == 0 && st.st_ino == ino &&
	    pread(armfd, &c, 1, 0) == 1) {
		if (c == 'e') {
			errno = EINVAL;
			return -1;
		}
		if (c == '1' && pwrite(armfd, "0", 1, 0) == 1) {
			errno = EIO;
			return -1;
		}
	}
	return real_fdatasync(fd);
}
