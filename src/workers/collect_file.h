/*
 * Plain reads for the metric families: a whole file under env->root into
 * a buffer the family keeps between runs (so a steady round does not
 * allocate), or a small file into a fixed buffer.
 */
#ifndef AGENT_COLLECT_FILE_H
#define AGENT_COLLECT_FILE_H

#include <stddef.h>

#include "collect.h"

#define COLLECT_PATH_MAX	4096

struct cfile {
	char	*p;		/* NUL-terminated after a read */
	size_t	 len;
	size_t	 cap;
};

void	 cfile_free(struct cfile *);

/* root + path into `out`; -1 (with err) when it does not fit. */
int	 collect_path(const struct collect_env *, const char *path,
	    char *out, size_t outlen, char *err, size_t errlen);

/*
 * The whole of root + path into f (grown as needed, at most 64 MiB).
 * 0, or -1 with err ("/proc/stat: No such file or directory"); errno is
 * kept so a caller can tell a vanished /proc/<pid> (ENOENT, ESRCH).
 */
int	 collect_slurp(const struct collect_env *, const char *path,
	    struct cfile *f, char *err, size_t errlen);

/*
 * At most len - 1 bytes of root + path into buf, NUL-terminated (the
 * start of a /proc/<pid>/stat, a /sys attribute).  Bytes read, or -1 with
 * errno.
 */
ssize_t	 collect_read_small(const struct collect_env *, const char *path,
	    char *buf, size_t len);

/* Next whitespace-separated token of *s (advanced); NULL at the end. */
char	*collect_token(char **s);

/* A decimal unsigned counter; 0, or -1 when `s` is not one. */
int	 collect_u64(const char *s, unsigned long long *out);

#endif
