/*
 * What the libFuzzer targets share: a log sink that keeps the parsers'
 * warnings off the terminal (checking each is a message), and the checks
 * every error text must pass.  Header-only: each target is one file.
 */
#ifndef AGENT_FUZZ_COMMON_H
#define AGENT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/utf8.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A broken invariant: say which, then abort() for libFuzzer to report. */
#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

static void
fuzz_log_sink(enum log_level lvl, const char *msg, void *arg)
{
	FUZZ_ASSERT(msg != NULL && lvl < LOG_LVL_MAX, "bad log record");
}

static inline void
fuzz_quiet_log(void)
{
	log_init("fuzz", LOG_LVL_DEBUG);
	log_set_sink(fuzz_log_sink, NULL);
}

/* Valid UTF-8 of `len` bytes. */
static inline int
fuzz_utf8_ok(const char *s, size_t len)
{
	size_t		 i, n;
	uint32_t	 cp;

	for (i = 0; i < len; i += n)
		if ((n = utf8_seq((const unsigned char *)s + i, len - i,
		    &cp)) == 0)
			return 0;
	return 1;
}

/*
 * An error text that goes into a JSON answer, a log line or a terminal:
 * not empty, valid UTF-8, no control character.
 */
static inline int
fuzz_msg_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || !fuzz_utf8_ok(s, len))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Lines of a '\n'-separated batch of encoded points. */
static inline size_t
fuzz_count_lines(const char *p, size_t len)
{
	size_t	 i, n;

	if (len == 0)
		return 0;
	for (i = 0, n = 1; i < len; i++)
		if (p[i] == '\n')
			n++;
	return n;
}

/*
 * Two batches of points in line protocol, "<series> value=<v> <ts>" per
 * line, are the same points: the same series and timestamps byte for
 * byte, and values that are the same text or, numbers, the same double.
 * (Line protocol carries every number as a float, so an integer beyond
 * 2^53 reads back as its nearest double, written otherwise.)
 */
static inline int
fuzz_lines_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	const char	*ae = a + alen, *be = b + blen, *al, *bl;
	const char	*at, *bt, *av, *bv;
	char		 x[64], y[64];

	while (a < ae && b < be) {
		if ((al = memchr(a, '\n', (size_t)(ae - a))) == NULL)
			al = ae;
		if ((bl = memchr(b, '\n', (size_t)(be - b))) == NULL)
			bl = be;
		/* the last two spaces: before the timestamp, the value */
		for (at = al; at > a && at[-1] != ' '; at--)
			;
		for (bt = bl; bt > b && bt[-1] != ' '; bt--)
			;
		if (at <= a + 1 || bt <= b + 1)
			return 0;
		for (av = at - 1; av > a && av[-1] != ' '; av--)
			;
		for (bv = bt - 1; bv > b && bv[-1] != ' '; bv--)
			;
		if (av - a != bv - b || memcmp(a, b, (size_t)(av - a)) != 0 ||
		    al - at != bl - bt ||
		    memcmp(at, bt, (size_t)(al - at)) != 0)
			return 0;
		if (at - av != bt - bv ||
		    memcmp(av, bv, (size_t)(at - av)) != 0) {
			/* "value=" then a number, then the space */
			if (at - av - 7 >= (long)sizeof(x) ||
			    bt - bv - 7 >= (long)sizeof(y) || at - av < 8 ||
			    bt - bv < 8 || memcmp(av, "value=", 6) != 0 ||
			    memcmp(bv, "value=", 6) != 0)
				return 0;
			memcpy(x, av + 6, (size_t)(at - av - 7));
			x[at - av - 7] = '\0';
			memcpy(y, bv + 6, (size_t)(bt - bv - 7));
			y[bt - bv - 7] = '\0';
			if (strtod(x, NULL) != strtod(y, NULL))
				return 0;
		}
		a = al + 1;
		b = bl + 1;
	}
	return a >= ae && b >= be;
}

#endif
