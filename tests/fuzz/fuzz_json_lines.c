/*
 * libFuzzer target for the sender's rewriting of json messages as line
 * protocol (src/workers/sender/sender_json_lines.c): points taken in
 * json before a reload to line protocol, read back from the buffer or the
 * spool.  The text is normally the agent's own; a spool on disk is CRC
 * checked, not trusted further.
 *
 * Input: the message, as a malloc'd copy of exactly those bytes.
 * Besides "no crash, no read past the text", what the header promises:
 * refused, the output is as it was and the reason is printable text;
 * taken, the output grew by lines, each one point ending in '\n' with no
 * other newline in it; no more lines than objects ('{' in the text), and
 * no more lines and points left out together than the points array has
 * elements (at most one more than the commas in the text).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workers/sender/sender_json_lines.h"

#include "fuzz_common.h"

#define BEFORE	"kept\n"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_log();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 out;
	char		*doc, why[256];
	size_t		 dropped, lines = 0, braces = 0, commas = 0, i;
	int		 rv;

	if ((doc = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(doc, data, size);
	for (i = 0; i < size; i++) {
		braces += doc[i] == '{';
		commas += doc[i] == ',';
	}
	buf_init(&out);
	buf_adds(&out, BEFORE);
	memset(why, 'x', sizeof(why));
	rv = sender_json_lines(doc, size, &out, &dropped, why,
	    sizeof(why));
	FUZZ_ASSERT(!buf_failed(&out), "out of memory");
	FUZZ_ASSERT(out.len >= strlen(BEFORE) &&
	    memcmp(out.p, BEFORE, strlen(BEFORE)) == 0, "output touched");
	if (rv == -1) {
		FUZZ_ASSERT(out.len == strlen(BEFORE), "refused, yet grew");
		FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL &&
		    fuzz_msg_ok(why), "reason");
	} else {
		FUZZ_ASSERT(rv == 0, "returned %d", rv);
		FUZZ_ASSERT(out.len == strlen(BEFORE) ||
		    out.p[out.len - 1] == '\n', "a line without its end");
		for (i = strlen(BEFORE); i < out.len; i++)
			lines += out.p[i] == '\n';
		FUZZ_ASSERT(memchr(out.p, '\0', out.len) == NULL, "a NUL");
		FUZZ_ASSERT(lines <= braces, "%zu lines, %zu braces", lines,
		    braces);
		FUZZ_ASSERT(lines + dropped <= commas + 1, "%zu lines, %zu "
		    "dropped, %zu commas", lines, dropped, commas);
		FUZZ_ASSERT(dropped == 0 || (memchr(why, '\0', sizeof(why)) !=
		    NULL && fuzz_msg_ok(why)), "reason of a point left out");
	}
	buf_free(&out);
	free(doc);
	return 0;
}
