/*
 * The spool's read back of a damaged segment (bench/README.md, "The
 * spool's search past corruption"): one segment of SPOOL_SEG_MAX filled
 * with records of one point, every Nth record's points damaged by a
 * flipped byte, then the spool opened and read back whole, as a sender
 * starting on it would.  Prints the records read back and skipped, and
 * the time of the open and read back.
 *
 *	spool_resync [-k N] [-d DIR]	N: every Nth record damaged (0:
 *					none; default 10); DIR: where the
 *					spool goes (default /dev/shm)
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "workers/sender/sender_spool.h"

static double
resync_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fill one segment; the length of each record goes to *lens. */
static size_t
resync_fill(const char *dir, uint32_t **lens)
{
	struct spool		*sp;
	struct spool_seg	*held;
	struct points_msg	 m;
	char			 e[256], point[128];
	size_t			 n = 0, cap = 0;

	if (sender_spool_open(&sp, dir, 64ULL << 20, NULL, NULL, e,
	    sizeof(e)) == -1)
		errx(1, "%s", e);
	memset(&m, 0, sizeof(m));
	m.fmt = FORMAT_LINE;
	strlcpy(m.topic, "bench", sizeof(m.topic));
	m.npoints = 1;
	*lens = NULL;
	while (sp->wseg[SPOOL_PUSHED] == NULL ||
	    sp->wseg[SPOOL_PUSHED]->size + 128 < SPOOL_SEG_MAX) {
		snprintf(point, sizeof(point), "cpu,host=h value=%zu "
		    "1700000000000000000", n);
		m.data = point;
		m.len = strlen(point);
		if (sender_spool_append(sp, SPOOL_PUSHED, &m, 0, &held, e,
		    sizeof(e)) == -1)
			errx(1, "%s", e);
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((*lens = reallocarray(*lens, cap,
			    sizeof(**lens))) == NULL)
				err(1, "reallocarray");
		}
		(*lens)[n++] = (uint32_t)sender_spool_record_size(&m);
	}
	sender_spool_close(sp);
	return n;
}

/* Flip a byte in the points of every kth record of the one segment. */
static void
resync_damage(const char *dir, const uint32_t *lens, size_t n, int k)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[512] = "", c;
	uint64_t	 off = SPOOL_SEG_HDR;
	size_t		 i;
	int		 fd;

	if ((d = opendir(dir)) == NULL)
		err(1, "%s", dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == 'p')
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	if ((fd = open(path, O_RDWR)) == -1)
		err(1, "%s", path);
	for (i = 0; i < n; off += lens[i], i++) {
		if (k <= 0 || i % (size_t)k != 1)
			continue;
		if (pread(fd, &c, 1, (off_t)off + SPOOL_REC_HDR + 8) != 1)
			err(1, "pread");
		c ^= 1;
		if (pwrite(fd, &c, 1, (off_t)off + SPOOL_REC_HDR + 8) != 1)
			err(1, "pwrite");
	}
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct spool		*sp;
	struct spool_rec	 rec;
	uint32_t		*lens;
	const char		*where = "/dev/shm";
	char			 dir[256], e[256], cmd[300];
	size_t			 n, got = 0;
	double			 t0;
	int			 ch, k = 10;

	while ((ch = getopt(argc, argv, "d:k:")) != -1) {
		switch (ch) {
		case 'd':
			where = optarg;
			break;
		case 'k':
			k = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: spool_resync [-k N] [-d DIR]\n");
			return 2;
		}
	}
	snprintf(dir, sizeof(dir), "%s/spool_resync.XXXXXX", where);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp %s", dir);
	n = resync_fill(dir, &lens);
	resync_damage(dir, lens, n, k);
	free(lens);

	t0 = resync_now();
	if (sender_spool_open(&sp, dir, 64ULL << 20, NULL, NULL, e,
	    sizeof(e)) == -1)
		errx(1, "%s", e);
	while (sender_spool_next(sp, &rec, e, sizeof(e)) == 1) {
		sender_spool_take(sp);
		got++;
	}
	printf("%zu records, every %dth damaged: %zu read back, %" PRIu64
	    " skipped, %.2f s\n", n, k, got, sp->st.skipped,
	    resync_now() - t0);
	sender_spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		warnx("%s failed", cmd);
	return 0;
}
