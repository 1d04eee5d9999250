/*
 * Reading what the metric families look at: every path is under the
 * collect_env root ("" on a real host, a fixture tree in tests).
 */
#ifndef AGENT_COLLECT_IO_H
#define AGENT_COLLECT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* root then the formatted path into buf; -1 (ENAMETOOLONG) if cut. */
int	 cf_path(char *buf, size_t len, const char *root, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));

/*
 * A whole file into buf, NUL-terminated: its length, or -1 with errno
 * (EFBIG when it does not fit in len - 1 bytes).
 */
ssize_t	 cf_read(const char *path, char *buf, size_t len);

/*
 * A whole file of up to max bytes into a malloc'ed NUL-terminated
 * buffer (*out, length *outlen); 0, or -1 with errno (EFBIG beyond max).
 * /proc files report no size, so it grows as it reads.
 */
int	 cf_slurp(const char *path, size_t max, char **out, size_t *outlen);

/*
 * A decimal unsigned number at *s after blanks; *s moves past it.  0, or
 * -1 when there is none or it overflows.
 */
int	 cf_u64(const char **s, uint64_t *out);

#endif
