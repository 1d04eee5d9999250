/*
 * Private to the sandbox: what sandbox.c (the privilege drop) and
 * sandbox_seccomp.c (the filters) share.  Other modules use sandbox.h.
 */
#ifndef AGENT_SANDBOX_INT_H
#define AGENT_SANDBOX_INT_H

#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

/* Failure without errno: the message into err, then -1. */
int	 sandbox_failx(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* no_new_privs, set and verified; sandbox_seccomp() never loads a filter
 * without it. */
int	 sandbox_set_nnp(char *, size_t);

/*
 * One rule for a syscall given by name; names this architecture lacks
 * are skipped.  0, or -1 with err.
 */
int	 sandbox_rule_add(scmp_filter_ctx, uint32_t, const char *,
	    unsigned int, const struct scmp_arg_cmp *, char *, size_t);
/* The deny-list's rules that keep its process's children off it
 * (sandbox_guard.c). */
int	 sandbox_guard_self(scmp_filter_ctx, char *, size_t);

#endif
