/*
 * What the LD_PRELOAD shims of tests/peers share: which process of the
 * agent this is, from its command line, read in the shim's constructor
 * (before a worker's sandbox would refuse the open).  A worker is
 * "agent\0worker\0ROLE\0", the master "...\0start\0..." (`agent start`);
 * role "master" asks for the latter.  Included by each shim, which is
 * built on its own (harness.py preload()).
 */
#ifndef SHIM_ROLE_H
#define SHIM_ROLE_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int
shim_role_is(const char *role)
{
	static const char	 worker[] = "agent\0worker";
	char			 buf[256];
	size_t			 first;
	ssize_t			 n;
	int			 fd;

	if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	first = strlen(buf) + 1;
	if ((size_t)n <= first)
		return 0;
	if (strcmp(role, "master") == 0)
		return strcmp(buf + first, "start") == 0;
	return (size_t)n > sizeof(worker) &&
	    memcmp(buf, worker, sizeof(worker)) == 0 &&
	    strcmp(buf + sizeof(worker), role) == 0;
}

#endif
