#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "util.h"

#define LOGFILE_NAME	"agent.log"
#define LOG_LINE_MAX	8192

static int
logfile_open_current(struct logfile *lf, char *err, size_t errlen)
{
	struct stat	 sb;
	int		 fd;

	fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open log file %s: %s", lf->path,
		    strerror(errno));
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
	if (util_mkdir_p(dir, 0750) == -1) {
		snprintf(err, errlen, "cannot create log directory %s: %s",
		    dir, strerror(errno));
		return -1;
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

/* agent.log.(n-1) -> agent.log.n ... agent.log -> agent.log.1 */
static void
logfile_rotate(struct logfile *lf)
{
	char		 from[1200], to[1200], err[256];
	unsigned	 n;

	(void)snprintf(to, sizeof(to), "%s.%u", lf->path, lf->rotate_num);
	if (unlink(to) == -1 && errno != ENOENT)
		dprintf(STDERR_FILENO, "logfile_rotate: unlink %s: %s\n", to,
		    strerror(errno));
	for (n = lf->rotate_num; n > 1; n--) {
		(void)snprintf(from, sizeof(from), "%s.%u", lf->path, n - 1);
		(void)snprintf(to, sizeof(to), "%s.%u", lf->path, n);
		if (rename(from, to) == -1 && errno != ENOENT)
			dprintf(STDERR_FILENO, "logfile_rotate: rename %s: %s\n",
			    from, strerror(errno));
	}
	(void)snprintf(to, sizeof(to), "%s.1", lf->path);
	if (rename(lf->path, to) == -1)
		dprintf(STDERR_FILENO, "logfile_rotate: rename %s: %s\n",
		    lf->path, strerror(errno));
	if (logfile_open_current(lf, err, sizeof(err)) == -1) {
		/*
		 * Keep writing to the file we have (now agent.log.1) and try
		 * again one rotate_size later, instead of rotating on every
		 * line and shifting the kept files out of existence.
		 */
		dprintf(STDERR_FILENO, "logfile_rotate: %s\n", err);
		lf->size = 0;
	}
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
		(void)util_write_all(STDERR_FILENO, line, n);
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
