/*
 * LD_PRELOAD shim for the tests: a worker of the role FAILSTART_ROLE
 * ("agent worker ROLE") exits 2 as it starts, before anything else, while
 * the file FAILSTART_ARM says "1": as a worker whose config cannot work
 * does, which the master restarts only after its longest backoff.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void
init(void)
{
	char		 buf[96], want[96], c = '0';
	const char	*role = getenv("FAILSTART_ROLE");
	const char	*arm = getenv("FAILSTART_ARM");
	size_t		 wlen;
	ssize_t		 n;
	int		 fd;

	if (role == NULL || arm == NULL || strlen(role) > 40)
		return;
	/* "agent\0worker\0ROLE\0" */
	memcpy(want, "agent\0worker\0", 13);
	memcpy(want + 13, role, strlen(role) + 1);
	wlen = 13 + strlen(role) + 1;
	if ((fd = open("/proc/self/cmdline", O_RDONLY)) == -1)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < (ssize_t)wlen || memcmp(buf, want, wlen) != 0)
		return;
	if ((fd = open(arm, O_RDONLY)) == -1)
		return;
	if (read(fd, &c, 1) == 1 && c == '1')
		_exit(2);
	close(fd);
}
