/*
 * Reading what the metric families look at: every path is under the
 * collect_env root ("" on a real host, a fixture tree in tests).  A whole
 * /proc table goes into a buffer the family may keep between runs (so a
 * steady round does not allocate), a small file into a fixed buffer.
 */
#ifndef AGENT_COLLECT_FILE_H
#define AGENT_COLLECT_FILE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* What collect_slurp() reads at most unless a family says less. */
#define COLLECT_SLURP_MAX	(64u * 1024 * 1024)

struct cfile {
	char	*p;		/* NUL-terminated after a read */
	size_t	 len;
	size_t	 cap;
};

void	 collect_file_free(struct cfile *);

/* root then the formatted path into buf; -1 (ENAMETOOLONG) if cut. */
int	 collect_path(char *buf, size_t len, const char *root,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The whole of root + path, at most max bytes, into f (grown as needed).
 * 0, or -1 with err ("/proc/stat: No such file or directory") and errno
 * kept (EFBIG beyond max; ENOENT, ESRCH for a vanished /proc/<pid>).
 */
int	 collect_slurp(const char *root, const char *path, size_t max,
	    struct cfile *f, char *err, size_t errlen);

/*
 * collect_slurp(), but a file longer than max is read to its last whole
 * line within max: 1 then, 0 when whole, -1 as collect_slurp() (and when
 * no line ends within max).
 */
int	 collect_slurp_head(const char *root, const char *path, size_t max,
	    struct cfile *f, char *err, size_t errlen);

/*
 * A whole small file into buf, NUL-terminated: its length, or -1 with
 * errno (EFBIG when it does not fit in len - 1 bytes).
 */
ssize_t	 collect_read(const char *path, char *buf, size_t len);

/*
 * The next line of a buffer collect_slurp() filled: NUL-terminated in
 * place, *s moved past it; NULL at the end.
 */
char	*collect_line(char **s);

/* Next whitespace-separated token of *s (advanced); NULL at the end. */
char	*collect_token(char **s);

/*
 * A decimal unsigned number at s after blanks.  With end, *end is set
 * past it; without, the number must be the rest of s.  0, or -1 (*end
 * untouched) when there is none, it overflows or, without end, something
 * follows it.
 */
int	 collect_u64(const char *s, const char **end, uint64_t *out);

#endif
