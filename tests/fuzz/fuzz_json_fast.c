/*
 * libFuzzer target for the plain JSON reader (src/common/json_fast.c),
 * which reads /post bodies and plugin output before yajl does.  The
 * input is the text.
 *
 * The reader's promise, checked against yajl itself on every input:
 * what it reads whole, yajl reads whole too, with the same events in the
 * same order; where a callback stops it, yajl stops at the same event.
 * It may leave anything to yajl.  The input's length picks, for one
 * input in three, an event at which the callbacks stop both.
 */
#include <stdint.h>
#include <string.h>

#include "../unit/json_events.h"

#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum json_fast_status	 st;
	char			 why[512];
	int			 cancel_at;

	cancel_at = size % 3 == 0 ? (int)(size / 3 % 24) + 1 : 0;
	FUZZ_ASSERT(json_events_differ((const char *)data, size, cancel_at,
	    &st, why, sizeof(why)) == 0, "%s", why);
	FUZZ_ASSERT(st == JSON_FAST_OK || st == JSON_FAST_CANCELED ||
	    st == JSON_FAST_NOT_PLAIN, "status %d", (int)st);
	return 0;
}
