/*
 * The KERNEL family's reading of a utmp string field (collect_kernel.c),
 * apart from its reads: btmp holds whatever was typed as a user name at
 * a failed login, anybody's on the network, so the fuzz target
 * tests/fuzz/fuzz_proc.c runs this.
 */
#ifndef AGENT_COLLECT_KERNEL_H
#define AGENT_COLLECT_KERNEL_H

#include <stddef.h>

/*
 * A utmp string field as a tag value: up to the first NUL or the whole
 * field, each byte of invalid UTF-8 and each control character as one
 * '?', so out needs len + 1 bytes.  Returns 0 when nothing but blanks is
 * left (the tag is omitted: the normalizer would trim it to empty).
 */
int	 collect_kernel_ut_string(const unsigned char *f, size_t len,
	    char *out);

#endif
