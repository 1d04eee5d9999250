/*
 * LD_PRELOAD shim for the tests: the master's fsync() and fdatasync()
 * calls, each a line "fsync PATH" or "fdatasync PATH" (the descriptor's
 * /proc/self/fd link) appended to the file SYNCLOG names, opened for
 * each line (the master closes what it inherited).  With SYNCLOG_FAILDIR=1, fsync() of a directory fails with
 * EIO, as a disk that cannot write would.  Workers ("agent worker ...")
 * are left alone: their sandbox would refuse the readlink.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim_role.h"

static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static const char *logpath;
static int	 faildir;

__attribute__((constructor)) static void
init(void)
{
	const char	*log = getenv("SYNCLOG");
	const char	*fail = getenv("SYNCLOG_FAILDIR");

	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (log == NULL || real_fsync == NULL || real_fdatasync == NULL)
		return;
	/* workers are left alone: their sandbox would refuse the readlink */
	if (!shim_role_is("master"))
		return;
	logpath = log;
	faildir = fail != NULL && strcmp(fail, "1") == 0;
}

static int
note(const char *call, int fd)
{
	struct stat	 st;
	char		 link[64], path[4096], line[4200];
	ssize_t		 n;
	int		 len, dir, logfd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) == -1)
		n = 0;
	path[n] = '\0';
	len = snprintf(line, sizeof(line), "%s %s\n", call, path);
	logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd != -1 && len > 0 && (size_t)len < sizeof(line))
		(void)write(logfd, line, (size_t)len);
	if (logfd != -1)
		(void)close(logfd);
	dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
	return dir && faildir;
}

int
fsync(int fd)
{
	if (logpath != NULL && note("fsync", fd)) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	if (logpath != NULL)
		(void)note("fdatasync", fd);
	return real_fdatasync(fd);
}
