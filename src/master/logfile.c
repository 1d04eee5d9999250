#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "pathsafe.h"
#include "util.h"

#define LOGFILE_NAME	"agent.log"
#define LOG_LINE_MAX	8192

/* The log directory, walked and checked (pathsafe.h), made if missing. */
static int
logfile_dir(const struct logfile *lf, char *err, size_t errlen)
{
	char	 why[768];
	int	 dfd;

	dfd = pathsafe_open_dir(lf->dir, geteuid(), PATHSAFE_CREATE, 0750,
	    why, sizeof(why));
	if (dfd < 0) {
		snprintf(err, errlen, "[log] logdir %s: %s", lf->dir, why);
		return -1;
	}
	return dfd;
}

/* agent.log in `dfd`: appended to, or created (never through a link). */
static int
logfile_open_at(struct logfile *lf, int dfd, char *err, size_t errlen)
{
	struct stat	 sb;
	char		 why[768];
	int		 fd;

	fd = pathsafe_open_file_at(dfd, lf->dir, LOGFILE_NAME,
	    O_WRONLY | O_APPEND, 0640, geteuid(), 0, why, sizeof(why));
	if (fd == -1) {
		snprintf(err, errlen, "log file: %s", why);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "cannot stat log file %s: %s", lf->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (lf->fd != -1)
		close(lf->fd);
	lf->fd = fd;
	lf->size = (uint64_t)sb.st_size;
	return 0;
}

static int
logfile_open_current(struct logfile *lf, char *err, size_t errlen)
{
	int	 dfd, rv;

	if ((dfd = logfile_dir(lf, err, errlen)) == -1)
		return -1;
	rv = logfile_open_at(lf, dfd, err, errlen);
	close(dfd);
	return rv;
}

int
logfile_open(struct logfile *lf, const char *dir, uint64_t rotate_size,
    unsigned rotate_num, char *err, size_t errlen)
{
	memset(lf, 0, sizeof(*lf));
	lf->fd = -1;
	lf->min = LOG_LVL_INFO;
	return logfile_configure(lf, dir, rotate_size, rotate_num, err,
	    errlen);
}

int
logfile_configure(struct logfile *lf, const char *dir, uint64_t rotate_size,
    unsigned rotate_num, char *err, size_t errlen)
{
	struct logfile	 next = *lf;

	if (strlcpy(next.dir, dir, sizeof(next.dir)) >= sizeof(next.dir) ||
	    (size_t)snprintf(next.path, sizeof(next.path), "%s/%s", dir,
	    LOGFILE_NAME) >= sizeof(next.path)) {
		snprintf(err, errlen, "log directory name too long: %s", dir);
		return -1;
	}
	next.rotate_size = rotate_size;
	next.rotate_num = rotate_num;
	if (lf->fd != -1 && strcmp(lf->path, next.path) == 0) {
		lf->rotate_size = rotate_size;
		lf->rotate_num = rotate_num;
		return 0;
	}
	next.fd = -1;
	if (logfile_open_current(&next, err, errlen) == -1)
		return -1;
	if (lf->fd != -1)
		close(lf->fd);
	*lf = next;
	return 0;
}

int
logfile_reopen(struct logfile *lf, char *err, size_t errlen)
{
	return logfile_open_current(lf, err, errlen);
}

/*
 * Never over an existing name: in a directory others may add names to
 * (sticky), whatever appeared there stays, and the rename says so.
 */
static int
rename_noreplace(int dfd, const char *from, const char *to)
{
	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	/* a file system without it: the directory is ours anyway */
	if (errno == EINVAL)
		return renameat(dfd, from, dfd, to);
	return -1;
}

/* agent.log.(n-1) -> agent.log.n ... agent.log -> agent.log.1 */
static void
logfile_rotate(struct logfile *lf)
{
	char		 from[64], to[64], err[1024];
	unsigned	 n;
	int		 dfd;

	if ((dfd = logfile_dir(lf, err, sizeof(err))) == -1) {
		dprintf(STDERR_FILENO, "logfile_rotate: %s\n", err);
		/* keep this file; try again one rotate_size later */
		lf->size = 0;
		return;
	}
	(void)snprintf(to, sizeof(to), "%s.%u", LOGFILE_NAME, lf->rotate_num);
	if (unlinkat(dfd, to, 0) == -1 && errno != ENOENT)
		dprintf(STDERR_FILENO, "logfile_rotate: unlink %s/%s: %s\n",
		    lf->dir, to, strerror(errno));
	for (n = lf->rotate_num; n > 1; n--) {
		(void)snprintf(from, sizeof(from), "%s.%u", LOGFILE_NAME,
		    n - 1);
		(void)snprintf(to, sizeof(to), "%s.%u", LOGFILE_NAME, n);
		if (rename_noreplace(dfd, from, to) == -1 && errno != ENOENT)
			dprintf(STDERR_FILENO, "logfile_rotate: rename %s/%s: "
			    "%s\n", lf->dir, from, strerror(errno));
	}
	(void)snprintf(to, sizeof(to), "%s.1", LOGFILE_NAME);
	if (rename_noreplace(dfd, LOGFILE_NAME, to) == -1)
		dprintf(STDERR_FILENO, "logfile_rotate: rename %s: %s\n",
		    lf->path, strerror(errno));
	if (logfile_open_at(lf, dfd, err, sizeof(err)) == -1) {
		/*
		 * Keep writing to the file we have (now agent.log.1) and try
		 * again one rotate_size later, instead of rotating on every
		 * line and shifting the kept files out of existence.
		 */
		dprintf(STDERR_FILENO, "logfile_rotate: %s\n", err);
		lf->size = 0;
	}
	close(dfd);
}

/* The -F copy of a line; said once the terminal takes again. */
static void
copy_to_stderr(struct logfile *lf, const char *line, size_t n)
{
	char	 note[160];
	int	 k;

	if (lf->err_nb <= 0) {
		(void)util_write_all(STDERR_FILENO, line, n);
		return;
	}
	if (lf->err_skipped > 0) {
		/* a newline first: the last line may have been cut */
		k = snprintf(note, sizeof(note), "\nagent: %llu lines not "
		    "shown here, the terminal took nothing; the log file has "
		    "them\n", (unsigned long long)lf->err_skipped);
		if (k < 0 || write(lf->err_nb, note, (size_t)k) != k) {
			lf->err_skipped++;
			return;
		}
		lf->err_skipped = 0;
	}
	if (write(lf->err_nb, line, n) != (ssize_t)n)
		lf->err_skipped++;
}

void
logfile_write(struct logfile *lf, enum log_level level, const char *role,
    pid_t pid, const char *msg)
{
	char	 line[LOG_LINE_MAX];
	size_t	 n;

	if (level < lf->min)
		return;
	n = log_format_line(line, sizeof(line), level, role, pid, msg);
	if (n == 0)
		return;
	if (lf->to_stderr)
		copy_to_stderr(lf, line, n);
	if (lf->fd == -1)
		return;
	if (lf->rotate_size > 0 && lf->size > 0 &&
	    lf->size + n > lf->rotate_size)
		logfile_rotate(lf);
	if (lf->fd == -1)
		return;
	if (util_write_all(lf->fd, line, n) == -1) {
		dprintf(STDERR_FILENO, "logfile_write: %s: %s\n", lf->path,
		    strerror(errno));
		return;
	}
	lf->size += n;
}

void
logfile_close(struct logfile *lf)
{
	if (lf->fd != -1)
		close(lf->fd);
	lf->fd = -1;
}
