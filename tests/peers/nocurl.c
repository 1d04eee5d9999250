/*
 * LD_PRELOAD shim for the tests: libcurl cannot be loaded (dlopen() of
 * a name holding "libcurl" fails) in "agent worker ROLE", ROLE from
 * NOCURL_ROLE, as on a host without the libcurl4 package.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim_role.h"

static void	*(*real_dlopen)(const char *, int);
static int	 armed;

__attribute__((constructor)) static void
init(void)
{
	const char	*role = getenv("NOCURL_ROLE");

	real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT,
	    "dlopen");
	armed = role != NULL && shim_role_is(role);
}

void *
dlopen(const char *name, int flags)
{
	if (armed && name != NULL && strstr(name, "libcurl") != NULL)
		return NULL;
	return real_dlopen(name, flags);
}
