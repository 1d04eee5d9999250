/*
 * Private to the sandbox: what sandbox.c (the privilege drop) and
 * sandbox_seccomp.c (the filters) share.  Other modules use sandbox.h.
 */
#ifndef AGENT_SANDBOX_INT_H
#define AGENT_SANDBOX_INT_H

#include <stddef.h>

/* Failure without errno: the message into err, then -1. */
int	 sandbox_failx(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* no_new_privs, set and verified; sandbox_seccomp() never loads a filter
 * without it. */
int	 sandbox_set_nnp(char *, size_t);

#endif
