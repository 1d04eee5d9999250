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
 * Besides "no crash, no read or write out of bounds": no piece out is
 * longer than RELAY_OUT_MAX; a newline only ends a piece; nothing in a
 * piece is a control character (C0, DEL, or a C1 character
 * U+0080..U+009F) or a byte that is not UTF-8, so no byte of it can
 * drive a terminal, and a character cut at the end of the line buffer
 * is never cut in two; every byte in is taken; and the pieces, one
 * after the other, are each line of the input escaped as the log
 * escapes a line (log_escape_bytes()), ended by a newline.
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
	for (i = 0; i < n; i += k) {
		if (s[i] == '\n') {
			FUZZ_ASSERT(i == n - 1, "a newline inside a piece");
			k = 1;
			continue;
		}
		if (s[i] < 0x80) {
			FUZZ_ASSERT(s[i] >= 0x20 && s[i] != 0x7f,
			    "control byte 0x%02x at %zu", s[i], i);
			k = 1;
			continue;
		}
		k = utf8_seq(s + i, n - i, &cp);
		FUZZ_ASSERT(k > 1, "byte 0x%02x at %zu is not UTF-8", s[i], i);
		FUZZ_ASSERT(cp > 0x9f, "C1 control U+%04X at %zu", cp, i);
	}
}

/* Each line of data[0..len) escaped, ended by a newline, into *want. */
static size_t
expected(const uint8_t *data, size_t len, char **want)
{
	const uint8_t	*p = data, *nl;
	size_t		 used = 0, n;
	char		*w;

	/* 4 bytes out for each in at most, a newline for each line */
	if ((w = malloc(len * 4 + len + 2)) == NULL)
		abort();
	while (p < data + len) {
		nl = memchr(p, '\n', (size_t)(data + len - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(data + len - p);
		log_escape_bytes(w + used, n * 4 + 1, (const char *)p, n);
		used += strlen(w + used);
		w[used++] = '\n';
		p += n + (nl != NULL);
	}
	*want = w;
	return used;
}

/* Every piece one read (or EOF) makes, checked, appended to all. */
static void
take(struct relay_line *l, const char *p, size_t left, int eof, char *all,
    size_t *used, size_t cap)
{
	static char	 out[RELAY_OUT_MAX + 1];
	size_t		 got;

	while ((got = relay_line_take(l, &p, &left, eof, out)) > 0) {
		check_piece(out, got);
		FUZZ_ASSERT(*used + got <= cap, "too much out");
		memcpy(all + *used, out, got);
		*used += got;
	}
	FUZZ_ASSERT(left == 0, "%zu bytes of a read not taken", left);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct relay_line	 l;
	char			*all, *want;
	size_t			 chunk, used = 0, at = 1, nwant, cap;
	unsigned		 seed;

	if (len < 1)
		return 0;
	seed = data[0];
	/* what comes out is at most what expected() makes */
	cap = len * 5 + 2;
	if ((all = malloc(cap)) == NULL)
		abort();
	memset(&l, 0, sizeof(l));
	while (at < len) {
		/* a seed of 0 hands the bytes over in whole buffers */
		chunk = seed == 0 ? RELAY_LINE_MAX : 1 + (seed + at) % 64;
		if (chunk > len - at)
			chunk = len - at;
		take(&l, (const char *)data + at, chunk, 0, all, &used, cap);
		at += chunk;
	}
	take(&l, NULL, 0, 1, all, &used, cap);
	FUZZ_ASSERT(l.len == 0 && !l.cont, "the line not ended at EOF");
	nwant = expected(data + 1, len - 1, &want);
	FUZZ_ASSERT(used == nwant && memcmp(all, want, used) == 0,
	    "%zu bytes out, %zu of the lines escaped", used, nwant);
	free(want);
	free(all);
	return 0;
}
