/*
 * libFuzzer target for the /proc/net/tcp reader of the front
 * (src/workers/front/front_peeruid.c, front_peeruid_find()).  The kernel
 * writes the table, but a parser is a parser: whatever the text, no
 * crash, no read past it, and a line found is one that holds both
 * addresses the caller asked for.
 *
 * Input: the first line is "local rem" (what is looked for), the rest
 * the table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workers/front/front_peeruid.h"

#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*nl, *sp;
	char		 want[2][64];
	char		*text;
	size_t		 n, wl;
	uid_t		 uid = (uid_t)-2;

	if ((nl = memchr(data, '\n', size)) == NULL)
		return 0;
	wl = (size_t)(nl - (const char *)data);
	if ((sp = memchr(data, ' ', wl)) == NULL)
		return 0;
	n = (size_t)(sp - (const char *)data);
	if (n == 0 || n >= sizeof(want[0]) || wl - n - 1 == 0 ||
	    wl - n - 1 >= sizeof(want[1]))
		return 0;
	memcpy(want[0], data, n);
	want[0][n] = '\0';
	memcpy(want[1], sp + 1, wl - n - 1);
	want[1][wl - n - 1] = '\0';
	/* a copy of exactly the table's bytes: ASan sees any read past */
	size -= wl + 1;
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(text, nl + 1, size);
	if (front_peeruid_find(text, size, want[0], want[1], &uid) == 0) {
		FUZZ_ASSERT(memmem(text, size, want[0], strlen(want[0])) !=
		    NULL && memmem(text, size, want[1], strlen(want[1])) !=
		    NULL, "found a line without both addresses");
		FUZZ_ASSERT(uid != (uid_t)-2, "found, no uid");
	}
	free(text);
	return 0;
}
