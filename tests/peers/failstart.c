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

#include "shim_role.h"

__attribute__((constructor)) static void
init(void)
{
	const char	*role = getenv("FAILSTART_ROLE");
	const char	*arm = getenv("FAILSTART_ARM");
	char		 c = '0';
	int		 fd;

	if (role == NULL || arm == NULL || !shim_role_is(role))
		return;
	if ((fd = open(arm, O_RDONLY)) == -1)
		return;
	if (read(fd, &c, 1) == 1 && c == '1')
		_exit(2);
	close(fd);
}
