/*
 * Small files of the fetcher in pluginsdir (.registry.json, .hostname,
 * .ip): read whole with a bound, written atomically.
 */
#ifndef AGENT_FETCHER_FILE_H
#define AGENT_FETCHER_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include <errno.h>

/* errno of fetcher_file_read_all() for what is not a regular file */
#define FETCHER_FILE_NOTREG	EMEDIUMTYPE

/*
 * Read a whole regular file of at most `max` bytes into a NUL-terminated
 * copy the caller frees.  0, or -1 with errno (EFBIG when it is larger,
 * FETCHER_FILE_NOTREG when it is a FIFO, a device, a directory...).
 */
int	 fetcher_file_read_all(const char *path, size_t max, char **out,
	    size_t *outlen);

/*
 * Write `len` bytes to `path` through a temporary file in the same
 * directory, fsync'ed, then rename(2)d over it: a reader (or a restart
 * after a crash) sees the old file or the new one, never half of one.
 * Mode `mode`.  0, or -1 with what failed in err.
 */
int	 fetcher_file_write_atomic(const char *path, const char *data,
	    size_t len, mode_t mode, char *err, size_t errlen);

#endif
