/*
 * libFuzzer target for the master's copy of a worker's stdout or stderr
 * to its terminal (src/master/relay.c, relay_line_take()): the bytes are
 * a worker's, which may be compromised, and what comes out goes to
 * root's terminal.
 *
 * Input: byte 0 seeds the sizes of the reads the bytes after it arrive
 * in (1 to 64 bytes, or whole 4 KiB buffers), as a pipe may hand them
 * over; then EOF.
 *
 * Besides "no crash, no read or write out of bounds": every piece out
 * is one line that ends in its newline; nothing in it is a control
 * character (C0, DEL, or a C1 character U+0080..U+009F) or a byte that
 * is not UTF-8, so no byte of it can drive a terminal; no piece is
 * longer than RELAY_OUT_MAX; every byte in is taken; there are as many
 * pieces as the input's lines, each line of more than RELAY_LINE_MAX
 * bytes counted for its pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/relay.h"

#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_log();
	return 0;
}

/* What relay_line_take() promises of one piece it put out. */
static void
check_piece(const char *out, size_t n)
{
	const unsigned char	*s = (const unsigned char *)out;
	size_t			 i, k;
	uint32_t		 cp;

	FUZZ_ASSERT(n >= 1 && n <= RELAY_OUT_MAX, "piece of %zu bytes", n);
	FUZZ_ASSERT(out[n - 1] == '\n', "piece without its newline");
	for (i = 0; i < n - 1; i += k) {
		FUZZ_ASSERT(s[i] != '\n', "two lines in one piece");
		if (s[i] < 0x80) {
			FUZZ_ASSERT(s[i] >= 0x20 && s[i] != 0x7f,
			    "control byte 0x%02x at %zu", s[i], i);
			k = 1;
			continue;
		}
		k = utf8_seq(s + i, n - 1 - i, &cp);
		FUZZ_ASSERT(k > 1, "byte 0x%02x at %zu is not UTF-8", s[i], i);
		FUZZ_ASSERT(cp > 0x9f, "C1 control U+%04X at %zu", cp, i);
	}
}

/* The pieces `len` bytes make: a line each, long ones in pieces. */
static size_t
expected_pieces(const uint8_t *data, size_t len)
{
	size_t	 i, run = 0, n = 0;

	for (i = 0; i < len; i++) {
		run++;
		if (data[i] == '\n' || run == RELAY_LINE_MAX) {
			n++;
			run = 0;
		}
	}
	return n + (run > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char		 out[RELAY_OUT_MAX + 1];
	struct relay_line	 l;
	const char		*p;
	size_t			 left, chunk, got, pieces = 0, at = 1;
	unsigned		 seed;

	if (len < 1)
		return 0;
	seed = data[0];
	memset(&l, 0, sizeof(l));
	while (at < len) {
		/* a seed of 0 hands the bytes over in whole buffers */
		chunk = seed == 0 ? RELAY_LINE_MAX : 1 + (seed + at) % 64;
		if (chunk > len - at)
			chunk = len - at;
		p = (const char *)data + at;
		left = chunk;
		while ((got = relay_line_take(&l, &p, &left, 0, out)) > 0) {
			check_piece(out, got);
			pieces++;
		}
		FUZZ_ASSERT(left == 0, "%zu bytes of a read not taken", left);
		at += chunk;
	}
	left = 0;
	p = NULL;
	while ((got = relay_line_take(&l, &p, &left, 1, out)) > 0) {
		check_piece(out, got);
		pieces++;
	}
	FUZZ_ASSERT(l.len == 0, "%zu bytes left in the line at EOF", l.len);
	FUZZ_ASSERT(pieces == expected_pieces(data + 1, len - 1),
	    "%zu pieces, %zu lines", pieces,
	    expected_pieces(data + 1, len - 1));
	return 0;
}
