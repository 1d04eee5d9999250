/*
 * KERNEL: kernel.user.login from /var/log/wtmp (value 1, success "true")
 * and /var/log/btmp (value 0, "false") for records of the last five
 * minutes, timestamped with the record's time (lodastack-protocols.md
 * section 5.6).  Records are glibc's struct utmp on x86-64: 384 bytes,
 * little-endian.
 *
 * Only the tail is read: records are appended as logins happen, so the
 * scan goes back from the end and stops at a record older than the window
 * by more than WTMP_SLACK (which absorbs small clock steps), or after
 * WTMP_SCAN_MAX records whatever their times, instead of reading a file
 * of up to 500 MiB every five minutes as the Go agent did.  A file of any
 * size is read so (the Go agent skipped one over 500 MiB: a btmp after
 * some 1.4 million failed logins, a brute force, turned the metric off).
 *
 * Where this differs from the Go agent, and why:
 * - a partial record at the end (a write in progress, or damage) is left
 *   out and logged; the Go agent failed the whole file;
 * - a string field without a NUL is the whole field, as glibc and `last`
 *   read it (a 32-byte user name has none); the Go agent made it empty;
 * - empty tags are left out: a local login has no remote host, and an
 *   empty tag value is refused by point_normalize() (the router dropped
 *   those points, so local logins never arrived);
 * - a record without a user names no login (DEAD_PROCESS at logout) and
 *   is skipped: the router dropped these too, for their empty user;
 * - bytes that are not UTF-8 and control characters (btmp holds whatever
 *   an attacker typed as a user name) become '?', so the point is kept;
 * - at most KERNEL_POINTS_MAX records per file and run, the newest: a
 *   password-guessing storm must not flood the output;
 * - tv_sec is read unsigned (valid to 2106, not 2038).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "collect_file.h"
#include "collect_kernel.h"
#include "log.h"
#include "sandbox.h"
#include "utf8.h"

#define UT_SIZE			384
#define UT_LINE			8	/* char ut_line[32] */
#define UT_LINE_LEN		32
#define UT_USER			44	/* char ut_user[32] */
#define UT_USER_LEN		32
#define UT_HOST			76	/* char ut_host[256] */
#define UT_HOST_LEN		256
#define UT_TV_SEC		340	/* int32_t ut_tv.tv_sec */

#define WTMP_WINDOW		300	/* records later than now - this */
#define WTMP_SLACK		3600
#define WTMP_CHUNK		64	/* records per read */
#define KERNEL_POINTS_MAX	10000	/* per file and run */
/* records looked at going back, per file and run: 7.3 MiB */
#define WTMP_SCAN_MAX		(2 * KERNEL_POINTS_MAX)

static void *
kernel_init(void)
{
	/* nothing kept between runs; a non-NULL state for the framework */
	return calloc(1, 1);
}

static void
kernel_fini(void *state)
{
	free(state);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
collect_kernel_ut_string(const unsigned char *f, size_t len,
    char *out)
{
	const unsigned char	*end;
	size_t			 n, i = 0, o = 0, k;
	uint32_t		 cp;
	int			 seen = 0;

	if ((end = memchr(f, '\0', len)) != NULL)
		len = (size_t)(end - f);
	while (i < len) {
		n = utf8_seq(f + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			out[o++] = '?';
			i += n == 0 ? 1 : n;
			seen = 1;
			continue;
		}
		for (k = 0; k < n; k++)
			out[o++] = (char)f[i + k];
		if (cp != ' ')
			seen = 1;
		i += n;
	}
	out[o] = '\0';
	return seen;
}

static void
ut_point(const unsigned char *r, int64_t value, struct point_list *out)
{
	char		 user[UT_USER_LEN + 1], host[UT_HOST_LEN + 1];
	char		 line[UT_LINE_LEN + 1];
	const char	*tags[4] = { NULL, NULL, NULL, NULL };
	struct point	*p;
	size_t		 t = 0;

	if (!collect_kernel_ut_string(r + UT_USER, UT_USER_LEN, user))
		return;
	if (collect_kernel_ut_string(r + UT_HOST, UT_HOST_LEN, host)) {
		tags[t++] = "remote";
		tags[t++] = host;
	}
	if (collect_kernel_ut_string(r + UT_LINE, UT_LINE_LEN, line)) {
		tags[t++] = "device";
		tags[t++] = line;
	}
	/* the optional pairs last: a NULL key ends the list */
	p = collect_list_add_int(out, "kernel.user.login", value, "user", user,
	    "success", value ? "true" : "false", tags[0], tags[1], tags[2],
	    tags[3], NULL);
	if (p != NULL)
		p->timestamp = (int64_t)le32(r + UT_TV_SEC);
}

/* pread() of n whole records at record index i; 0 or -1. */
static int
ut_read(int fd, unsigned char *buf, size_t i, size_t n)
{
	size_t	 want = n * UT_SIZE, off = 0;
	ssize_t	 r;

	while (off < want) {
		r = pread(fd, buf + off, want - off,
		    (off_t)(i * UT_SIZE + off));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * The index of the first record to look at: going back from the end,
 * just after the first one older than the window and the slack, or
 * where KERNEL_POINTS_MAX records of the window have been counted, or
 * WTMP_SCAN_MAX records back (an hour of a brute force lies within the
 * slack: without this bound the scan would read all of it every run).
 */
static int
ut_start(int fd, size_t nrec, int64_t cutoff, unsigned char *buf,
    size_t *start)
{
	size_t	 bottom, hi = nrec, lo, i, inwin = 0;
	int64_t	 t;

	bottom = nrec > WTMP_SCAN_MAX ? nrec - WTMP_SCAN_MAX : 0;
	while (hi > bottom) {
		lo = hi - bottom > WTMP_CHUNK ? hi - WTMP_CHUNK : bottom;
		if (ut_read(fd, buf, lo, hi - lo) == -1)
			return -1;
		for (i = hi; i > lo; i--) {
			t = (int64_t)le32(buf + (i - 1 - lo) * UT_SIZE +
			    UT_TV_SEC);
			if (t + WTMP_SLACK <= cutoff) {
				*start = i;
				return 0;
			}
			if (t > cutoff && ++inwin > KERNEL_POINTS_MAX) {
				*start = i;
				return 0;
			}
		}
		hi = lo;
	}
	*start = bottom;
	return 0;
}

static void
kernel_file(const struct collect_env *env, const char *rel, int64_t value,
    struct point_list *out)
{
	unsigned char	 buf[WTMP_CHUNK * UT_SIZE];
	char		 path[PATH_MAX];
	struct stat	 st;
	size_t		 nrec, start, i, n, k;
	int64_t		 cutoff = env->now - WTMP_WINDOW;
	int		 fd;

	if (collect_path(path, sizeof(path), env->root, "%s", rel) == -1) {
		log_warnx("%s: collect kernel: %s%s: path too long", __func__,
		    env->root, rel);
		return;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			log_debug("collect kernel: %s: %s", path,
			    strerror(errno));
		else
			log_warn("%s: collect kernel: %s", __func__, path);
		return;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: collect kernel: %s", __func__, path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: collect kernel: %s: not a regular file",
		    __func__, path);
		goto done;
	}
	/* a read that far in would kill the collector, every family with
	 * it, at every run (its filter: sandbox.h) */
	if ((uint64_t)st.st_size > SANDBOX_COLLECTOR_OFFSET_MAX) {
		log_warnx("%s: collect kernel: %s: %lld bytes, more than the "
		    "%llu the collector may read into: left out", __func__,
		    path, (long long)st.st_size,
		    (unsigned long long)SANDBOX_COLLECTOR_OFFSET_MAX);
		goto done;
	}
	nrec = (size_t)st.st_size / UT_SIZE;
	if (st.st_size % UT_SIZE != 0)
		log_info("collect kernel: %s: %lld bytes at the end are not "
		    "a whole record: left out", path,
		    (long long)(st.st_size % UT_SIZE));
	if (ut_start(fd, nrec, cutoff, buf, &start) == -1) {
		log_warn("%s: collect kernel: read %s", __func__, path);
		goto done;
	}
	for (i = start; i < nrec; i += n) {
		n = nrec - i < WTMP_CHUNK ? nrec - i : WTMP_CHUNK;
		if (ut_read(fd, buf, i, n) == -1) {
			/* truncated under us (log rotation): what we have */
			log_warn("%s: collect kernel: read %s", __func__, path);
			break;
		}
		for (k = 0; k < n; k++)
			if ((int64_t)le32(buf + k * UT_SIZE + UT_TV_SEC) >
			    cutoff)
				ut_point(buf + k * UT_SIZE, value, out);
	}
 done:
	(void)close(fd);
}

static int
kernel_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	kernel_file(env, "/var/log/wtmp", 1, out);
	kernel_file(env, "/var/log/btmp", 0, out);
	return 0;
}

const struct collect_family collect_kernel_family = {
	.name = "kernel",
	.type = SYS_KERNEL,
	.init = kernel_init,
	.fini = kernel_fini,
	.collect = kernel_collect,
};
