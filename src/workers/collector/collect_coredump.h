/*
 * The COREDUMP family's reading of a file name (collect_coredump.c),
 * apart from its listing: the directory is usually world-writable, so
 * its names are anybody's, and the fuzz target tests/fuzz/fuzz_proc.c
 * runs this.
 */
#ifndef AGENT_COLLECT_COREDUMP_H
#define AGENT_COLLECT_COREDUMP_H

#include <stddef.h>
#include <stdint.h>

/*
 * core.<service>.<pid>.<time>: 0 with the service (a pointer into name,
 * *svclen bytes) and the time, or -1.  service is [-_.a-zA-Z0-9]+.
 */
int	 collect_coredump_name(const char *name, const char **svc,
	    size_t *svclen, int64_t *ts);

#endif
