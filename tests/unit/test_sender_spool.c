/*
 * The sender's spool (sender_spool.h): CRC32C, the record format (every
 * flipped bit found), write and read back, a torn tail at every byte
 * offset of the last record, a corrupt record in the middle, rotation,
 * deletion of what is published, replay order across the two lanes,
 * holding in memory, ageing a segment out, and a directory the spool
 * must refuse.
 */
#include <criterion/criterion.h>

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "workers/sender/sender_spool.h"

#define TOPIC	"collect.pool.loda"

static char	 dir[64];
static char	 logged[4096];
static int	 fdatasync_fails;	/* EIO from fdatasync() while set */
static ino_t	 read_fails_ino;	/* read() of this file fails, EIO, */
static int	 read_fails_left;	/* this many times more */

/*
 * The spool's fdatasync(), as the disk would answer it: this definition
 * in the test binary is the one the spool's objects link against.
 */
int
fdatasync(int fd)
{
	if (fdatasync_fails) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

/* openat() of this name fails, EMFILE, this many times more. */
static char	 openat_fails_name[64];
static int	 openat_fails_left;

int
openat(int dfd, const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (openat_fails_left > 0 && strcmp(path, openat_fails_name) == 0) {
		openat_fails_left--;
		errno = EMFILE;
		return -1;
	}
	return (int)syscall(SYS_openat, dfd, path, flags, mode);
}

/* The spool's read(), as a disk with a hiccup or a bad sector answers. */
ssize_t
read(int fd, void *buf, size_t len)
{
	struct stat	 st;

	if (read_fails_left > 0 && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_ino == read_fails_ino) {
		read_fails_left--;
		errno = EIO;
		return -1;
	}
	return (ssize_t)syscall(SYS_read, fd, buf, len);
}

static void
logfn(const char *msg, void *arg)
{
	strlcat(logged, msg, sizeof(logged));
	strlcat(logged, "\n", sizeof(logged));
}

static void
setup(void)
{
	strlcpy(dir, "/tmp/spool-test.XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	logged[0] = '\0';
}

static void
rm_dir(const char *d)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	cr_assert_eq(system(cmd), 0);
}

static void
teardown(void)
{
	rm_dir(dir);
}

TestSuite(spool, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------- */

/* Points "<tag><i>-<j>..." of `n` points padded to `width` bytes each. */
static char *
points(const char *tag, uint32_t n, size_t width, size_t *len)
{
	struct buf	 b;
	size_t		 start;
	uint32_t	 j;

	buf_init(&b);
	for (j = 0; j < n; j++) {
		if (j > 0)
			buf_addc(&b, '\n');
		start = b.len;
		buf_printf(&b, "%s-%u", tag, j);
		while (b.len - start < width)
			buf_addc(&b, 'x');
	}
	cr_assert(!buf_failed(&b));
	*len = b.len;
	return b.p;
}

static void
msg_of(struct points_msg *m, char *data, size_t len, uint32_t n)
{
	memset(m, 0, sizeof(*m));
	m->fmt = FORMAT_JSON;
	strlcpy(m->topic, TOPIC, sizeof(m->topic));
	m->npoints = n;
	m->data = data;
	m->len = len;
}

static struct spool *
open_ok(uint64_t maxbytes)
{
	struct spool	*sp;
	char		 err[256];

	cr_assert_eq(sender_spool_open(&sp, dir, maxbytes, logfn, NULL, err,
	    sizeof(err)), 0, "%s", err);
	return sp;
}

/* Append record `tag` of n points to lane; returns what held it. */
static struct spool_seg *
append(struct spool *sp, enum spool_lane lane, const char *tag, uint32_t n,
    size_t width, int hold)
{
	struct points_msg	 m;
	struct spool_seg	*held;
	char			*d, err[256];
	size_t			 len;

	d = points(tag, n, width, &len);
	msg_of(&m, d, len, n);
	cr_assert_eq(sender_spool_append(sp, lane, &m, hold, &held, err,
	    sizeof(err)), 0, "%s", err);
	free(d);
	return held;
}

/* Read back every record: their first point's tag, in order. */
static size_t
read_all(struct spool *sp, char tags[][32], size_t max, int release)
{
	struct spool_rec	 rec;
	struct spool_seg	*segs[256];
	char			 err[256];
	size_t			 n = 0, i;
	const char		*dash;

	while (sender_spool_next(sp, &rec, err, sizeof(err)) == 1) {
		cr_assert_lt(n, max);
		dash = strchr(rec.data, '-');
		cr_assert_not_null(dash);
		snprintf(tags[n], 32, "%.*s", (int)(dash - rec.data),
		    rec.data);
		cr_assert_str_eq(rec.topic, TOPIC);
		segs[n] = rec.seg;
		sender_spool_take(sp);
		n++;
	}
	if (release)
		for (i = 0; i < n; i++)
			sender_spool_release(sp, segs[i]);
	return n;
}

static int
count_files(const char *d)
{
	DIR		*dp;
	struct dirent	*e;
	int		 n = 0;

	cr_assert_not_null(dp = opendir(d));
	while ((e = readdir(dp)) != NULL)
		if (strstr(e->d_name, ".seg") != NULL)
			n++;
	closedir(dp);
	return n;
}

/* The one segment file of a lane. */
static void
seg_path(enum spool_lane lane, char *path, size_t len)
{
	DIR		*dp;
	struct dirent	*e;

	path[0] = '\0';
	cr_assert_not_null(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL)
		if (e->d_name[0] == (lane == SPOOL_PUSHED ? 'p' : 's') &&
		    strstr(e->d_name, ".seg") != NULL)
			snprintf(path, len, "%s/%s", dir, e->d_name);
	closedir(dp);
	cr_assert_neq(path[0], '\0');
}

static off_t
file_size(const char *path)
{
	struct stat	 st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

/* ---- CRC32C and the record format ------------------------------------- */

Test(spool, crc32c_known_values)
{
	struct crc32c	 c;
	uint8_t		 buf[64];
	uint32_t	 whole, parts;
	size_t		 cut, off;

	sender_crc32c_init(&c);
	/* RFC 3720 B.4 and the usual check value */
	cr_assert_eq(sender_crc32c(&c, 0, "123456789", 9), 0xE3069283U);
	memset(buf, 0, 32);
	cr_assert_eq(sender_crc32c(&c, 0, buf, 32), 0x8A9136AAU);
	memset(buf, 0xff, 32);
	cr_assert_eq(sender_crc32c(&c, 0, buf, 32), 0x62A8AB43U);
	for (off = 0; off < 32; off++)
		buf[off] = (uint8_t)off;
	cr_assert_eq(sender_crc32c(&c, 0, buf, 32), 0x46DD794EU);
	/* in pieces, at every alignment, the same as at once */
	for (off = 0; off < 64; off++)
		buf[off] = (uint8_t)(off * 37 + 11);
	for (off = 0; off < 8; off++) {
		whole = sender_crc32c(&c, 0, buf + off, 50);
		for (cut = 0; cut <= 50; cut++) {
			parts = sender_crc32c(&c, 0, buf + off, cut);
			parts = sender_crc32c(&c, parts, buf + off + cut,
			    50 - cut);
			cr_assert_eq(parts, whole);
		}
	}
}

/* Whichever way the CPU computes it, the tables' CRC. */
Test(spool, crc32c_fast_path_agrees_with_the_tables)
{
	static uint8_t	 buf[5 * CRC32C_BLOCK];
	struct crc32c	 c;
	size_t		 off, len, i;
	uint32_t	 seed = 12345;

	sender_crc32c_init(&c);
	for (i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (uint8_t)(seed >> 16);
	}
	/* short, and over the 3-block steps and their edges */
	for (off = 0; off < 9; off++)
		for (len = 0; len + off <= sizeof(buf); len += len < 64 ? 1 :
		    len >= 3 * CRC32C_BLOCK - 20 &&
		    len < 3 * CRC32C_BLOCK + 20 ? 1 : 997)
			cr_assert_eq(sender_crc32c(&c, 0x5a5a5a5a, buf + off,
			    len), sender_crc32c_sw(&c, 0x5a5a5a5a, buf + off,
			    len), "off %zu len %zu (hw %d)", off, len, c.hw);
}

Test(spool, record_round_trip_and_every_bit_flip_found)
{
	struct crc32c		 c;
	struct points_msg	 m;
	struct spool_rec	 rec;
	struct buf		 b;
	char			*d;
	uint8_t			*p;
	size_t			 len, i;
	int			 bit;

	sender_crc32c_init(&c);
	d = points("rt", 3, 20, &len);
	msg_of(&m, d, len, 3);
	m.fmt = FORMAT_LINE;
	buf_init(&b);
	cr_assert_eq(sender_spool_rec_encode(&b, &c, 77, SPOOL_SCHEDULED, &m),
	    0);
	cr_assert_eq(b.len, SPOOL_REC_HDR + strlen(TOPIC) + len);
	cr_assert_eq(b.len, sender_spool_record_size(&m));
	p = (uint8_t *)b.p;
	cr_assert_eq(sender_spool_rec_len(p), b.len);
	cr_assert_eq(sender_spool_rec_check(&c, p, b.len, &rec), 0);
	cr_assert_eq(rec.seq, 77);
	cr_assert_eq(rec.fmt, FORMAT_LINE);
	cr_assert_eq(rec.lane, SPOOL_SCHEDULED);
	cr_assert_eq(rec.npoints, 3);
	cr_assert_str_eq(rec.topic, TOPIC);
	cr_assert_eq(rec.len, len);
	cr_assert_eq(memcmp(rec.data, d, len), 0);
	for (i = 0; i < b.len; i++)
		for (bit = 0; bit < 8; bit++) {
			p[i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(sender_spool_rec_check(&c, p, b.len,
			    &rec), -1, "flip of bit %d of byte %zu not found",
			    bit, i);
			p[i] ^= (uint8_t)(1 << bit);
		}
	/* cut short, or a byte more */
	cr_assert_eq(sender_spool_rec_check(&c, p, b.len - 1, &rec), -1);
	cr_assert_eq(sender_spool_rec_check(&c, p, b.len + 1, &rec), -1);
	buf_free(&b);
	free(d);
}

Test(spool, record_with_wrong_point_count_refused)
{
	struct crc32c		 c;
	struct points_msg	 m;
	struct spool_rec	 rec;
	struct buf		 b;
	char			*d;
	size_t			 len;

	sender_crc32c_init(&c);
	d = points("pc", 3, 10, &len);
	/* says 2, has 3: a good CRC does not make it a good record */
	msg_of(&m, d, len, 2);
	buf_init(&b);
	cr_assert_eq(sender_spool_rec_encode(&b, &c, 1, SPOOL_PUSHED, &m), 0);
	cr_assert_eq(sender_spool_rec_check(&c, (uint8_t *)b.p, b.len, &rec),
	    -1);
	buf_free(&b);
	free(d);
}

/* ---- writing and reading back ----------------------------------------- */

Test(spool, write_close_reopen_read_back)
{
	struct spool	*sp;
	char		 tags[16][32];
	size_t		 n;

	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 0);
	append(sp, SPOOL_PUSHED, "a", 5, 30, 0);
	append(sp, SPOOL_PUSHED, "b", 1, 30, 0);
	append(sp, SPOOL_PUSHED, "c", 100, 30, 0);
	cr_assert_eq(sp->st.written, 3);
	cr_assert_eq(sp->nsegs, 1);
	cr_assert_eq(sender_spool_sync(sp, logged, sizeof(logged)), 0);
	cr_assert(!sender_spool_dirty(sp));
	sender_spool_close(sp);

	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 1);
	n = read_all(sp, tags, 16, 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(tags[0], "a");
	cr_assert_str_eq(tags[1], "b");
	cr_assert_str_eq(tags[2], "c");
	cr_assert_eq(sp->st.replayed, 3);
	cr_assert_eq(sp->st.cut + sp->st.skipped, 0, "%s", logged);
	sender_spool_close(sp);
}

Test(spool, replay_order_across_lanes)
{
	struct spool	*sp;
	char		 tags[16][32];
	const char	*want[] = { "p1", "s1", "s2", "p2", "s3", "p3" };
	size_t		 n, i;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "p1", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "s1", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "s2", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "p2", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "s3", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "p3", 2, 10, 0);
	cr_assert_eq(sp->nsegs, 2);
	sender_spool_close(sp);

	/* read back oldest first, whichever lane it is in */
	sp = open_ok(1 << 30);
	n = read_all(sp, tags, 16, 1);
	cr_assert_eq(n, 6);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(tags[i], want[i], "record %zu", i);
	/* all published: nothing left */
	cr_assert_eq(sp->nsegs, 0);
	cr_assert_eq(count_files(dir), 0);
	sender_spool_close(sp);

	/* and the sequence goes on after them */
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 0), 0);
	sender_spool_close(sp);
}

Test(spool, new_records_after_replay_come_after_it)
{
	struct spool	*sp;
	char		 tags[16][32];

	sp = open_ok(1 << 30);
	append(sp, SPOOL_SCHEDULED, "old1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "old2", 2, 10, 0);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	/* something older waits on disk: the new one is not held */
	cr_assert_null(append(sp, SPOOL_PUSHED, "new", 2, 10, 1));
	cr_assert_eq(read_all(sp, tags, 16, 1), 3);
	cr_assert_str_eq(tags[0], "old1");
	cr_assert_str_eq(tags[1], "old2");
	cr_assert_str_eq(tags[2], "new");
	sender_spool_close(sp);
}

Test(spool, held_records_are_not_read_back)
{
	struct spool		*sp;
	struct spool_seg	*seg;
	char			 tags[16][32];

	sp = open_ok(1 << 30);
	cr_assert(sender_spool_caught_up(sp));
	seg = append(sp, SPOOL_PUSHED, "h1", 3, 10, 1);
	cr_assert_not_null(seg);
	cr_assert_eq(seg->inmem, 1);
	cr_assert(sender_spool_caught_up(sp));
	/* not held: it waits on disk, and what comes after is not held */
	cr_assert_null(append(sp, SPOOL_PUSHED, "d1", 3, 10, 0));
	cr_assert(!sender_spool_caught_up(sp));
	cr_assert_null(append(sp, SPOOL_SCHEDULED, "d2", 3, 10, 1));
	cr_assert_eq(read_all(sp, tags, 16, 0), 2);
	cr_assert_str_eq(tags[0], "d1");
	cr_assert_str_eq(tags[1], "d2");
	cr_assert(sender_spool_caught_up(sp));
	cr_assert_not_null(append(sp, SPOOL_SCHEDULED, "h2", 3, 10, 1));
	sender_spool_close(sp);
}

/* ---- torn and corrupt records ------------------------------------------ */

Test(spool, torn_tail_at_every_byte_offset_of_the_last_record)
{
	struct spool	*sp;
	char		 path[512], tags[16][32], cmd[1024], copy[80];
	off_t		 end2, end3, cut;
	int		 fd;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "r1", 4, 16, 0);
	append(sp, SPOOL_PUSHED, "r2", 4, 16, 0);
	end2 = (off_t)sp->wseg[SPOOL_PUSHED]->size;
	append(sp, SPOOL_PUSHED, "r3", 4, 16, 0);
	end3 = (off_t)sp->wseg[SPOOL_PUSHED]->size;
	sender_spool_close(sp);
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	snprintf(copy, sizeof(copy), "%s.orig", dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", dir, copy);
	cr_assert_eq(system(cmd), 0);

	for (cut = end2; cut < end3; cut++) {
		/* the spool as a crash after `cut - end2` bytes left it */
		rm_dir(dir);
		snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", copy, dir);
		cr_assert_eq(system(cmd), 0);
		cr_assert_eq(truncate(path, cut), 0);
		logged[0] = '\0';
		sp = open_ok(1 << 30);
		/* a torn record was cut, the file with it */
		cr_assert_eq(sp->st.cut, cut > end2 ? 1 : 0, "cut at %lld",
		    (long long)cut);
		cr_assert_eq(sp->st.skipped, 0);
		cr_assert_eq(file_size(path), end2);
		if (cut > end2)
			cr_assert(strstr(logged, "torn record") != NULL &&
			    strstr(logged, "offset") != NULL, "%s", logged);
		cr_assert_eq(read_all(sp, tags, 16, 0), 2);
		cr_assert_str_eq(tags[0], "r1");
		cr_assert_str_eq(tags[1], "r2");
		sender_spool_close(sp);
	}
	/* a crash before the first byte of the segment header was written */
	rm_dir(dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/p-0000000000000009.seg", dir);
	cr_assert_neq(fd = open(path, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 0);
	cr_assert_eq(count_files(dir), 0);
	/* ids go on after it */
	append(sp, SPOOL_PUSHED, "x", 1, 4, 0);
	cr_assert_geq(sp->wseg[SPOOL_PUSHED]->id, 10);
	sender_spool_close(sp);
	rm_dir(copy);
}

Test(spool, corrupt_record_in_the_middle_is_skipped_and_counted)
{
	struct spool	*sp;
	char		 path[512], tags[16][32], want[128];
	off_t		 end1;
	uint8_t		 b;
	int		 fd;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "m1", 4, 16, 0);
	end1 = (off_t)sp->wseg[SPOOL_PUSHED]->size;
	append(sp, SPOOL_PUSHED, "m2", 4, 16, 0);
	append(sp, SPOOL_PUSHED, "m3", 4, 16, 0);
	sender_spool_close(sp);
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	/* one byte of the second record's points flipped */
	cr_assert_neq(fd = open(path, O_RDWR), -1);
	cr_assert_eq(pread(fd, &b, 1, end1 + 60), 1);
	b ^= 0x20;
	cr_assert_eq(pwrite(fd, &b, 1, end1 + 60), 1);
	close(fd);

	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 0), 2);
	cr_assert_str_eq(tags[0], "m1");
	cr_assert_str_eq(tags[1], "m3");
	cr_assert_eq(sp->st.skipped, 1);
	cr_assert_eq(sp->st.cut, 0);
	/* logged with its segment and offset */
	snprintf(want, sizeof(want), "at offset %lld skipped",
	    (long long)end1);
	cr_assert(strstr(logged, strrchr(path, '/') + 1) != NULL &&
	    strstr(logged, want) != NULL, "%s", logged);
	sender_spool_close(sp);
}

/* Flip a byte of a record's points: a corrupt stretch of its length. */
static void
flip_at(const char *path, off_t off)
{
	uint8_t	 b;
	int	 fd;

	cr_assert_neq(fd = open(path, O_RDWR), -1);
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/*
 * The search for the next good record reads a window at a time
 * (RESYNC_WINDOW, 64 KiB): a good record whose header begins in a
 * window and ends in the next, one after corrupt bytes of three
 * windows, and one longer than a window are all found.
 */
Test(spool, the_search_past_corruption_finds_records_across_windows)
{
	struct spool	*sp;
	char		 path[512], tags[16][32];
	uint64_t	 o2, o4;
	size_t		 w;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "a1", 1, 16, 0);
	o2 = sp->wseg[SPOOL_PUSHED]->size;
	/* 10 bytes short of the window: the next header straddles it */
	w = 65536 - 10 - SPOOL_REC_HDR - strlen(TOPIC);
	append(sp, SPOOL_PUSHED, "b2", 1, w, 0);
	cr_assert_eq(sp->wseg[SPOOL_PUSHED]->size - o2, 65536 - 10);
	append(sp, SPOOL_PUSHED, "c3", 1, 16, 0);
	o4 = sp->wseg[SPOOL_PUSHED]->size;
	append(sp, SPOOL_PUSHED, "d4", 1, 200000, 0);
	append(sp, SPOOL_PUSHED, "e5", 2, 40000, 0);
	append(sp, SPOOL_PUSHED, "f6", 1, 16, 0);
	sender_spool_close(sp);
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	flip_at(path, (off_t)o2 + 100);
	flip_at(path, (off_t)o4 + 100);

	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 0), 4);
	cr_assert_str_eq(tags[0], "a1");
	cr_assert_str_eq(tags[1], "c3");
	cr_assert_str_eq(tags[2], "e5");
	cr_assert_str_eq(tags[3], "f6");
	cr_assert_eq(sp->st.skipped, 2);
	cr_assert_eq(sp->st.cut, 0);
	cr_assert(strstr(logged, "65526 corrupt bytes") != NULL, "%s",
	    logged);
	sender_spool_close(sp);
}

Test(spool, corrupt_length_field_is_found_and_skipped)
{
	struct spool	*sp;
	char		 path[512], tags[16][32];
	off_t		 end1;
	uint8_t		 len[4] = { 0xff, 0xff, 0xff, 0x00 };
	int		 fd;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "l1", 2, 16, 0);
	end1 = (off_t)sp->wseg[SPOOL_PUSHED]->size;
	append(sp, SPOOL_PUSHED, "l2", 2, 16, 0);
	append(sp, SPOOL_PUSHED, "l3", 2, 16, 0);
	append(sp, SPOOL_PUSHED, "l4", 2, 16, 0);
	sender_spool_close(sp);
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	/* the second record claims 16 MiB: only the CRC scan finds l3 */
	cr_assert_neq(fd = open(path, O_RDWR), -1);
	cr_assert_eq(pwrite(fd, len, 4, end1 + 4), 4);
	close(fd);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 0), 3);
	cr_assert_str_eq(tags[1], "l3");
	cr_assert_eq(sp->st.skipped, 1);
	sender_spool_close(sp);
}

Test(spool, bad_segment_header_still_gives_its_records)
{
	struct spool	*sp;
	char		 path[512], tags[16][32];
	int		 fd;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_SCHEDULED, "bh", 2, 16, 0);
	sender_spool_close(sp);
	seg_path(SPOOL_SCHEDULED, path, sizeof(path));
	cr_assert_neq(fd = open(path, O_RDWR), -1);
	cr_assert_eq(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 0), 1);
	cr_assert_eq(sp->st.skipped, 1);
	cr_assert(strstr(logged, "bad header") != NULL, "%s", logged);
	sender_spool_close(sp);
}

/* ---- segments: rotation, deletion, ageing, recycling ------------------- */

Test(spool, rotation_and_deletion_of_published_segments)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	struct spool_seg	*first;
	char			 err[256], tags[64][32], tag[16];
	size_t			 n;
	int			 i, files;

	/* 256 KiB of spool: segments of 32 KiB */
	sp = open_ok(256 * 1024);
	cr_assert_eq(sp->segmax, 32 * 1024);
	for (i = 0; i < 40; i++) {
		snprintf(tag, sizeof(tag), "r%02d", i);
		append(sp, SPOOL_PUSHED, tag, 20, 200, 0);
	}
	files = count_files(dir);
	cr_assert_geq(files, 4);
	cr_assert_eq((int)sp->nsegs, files);
	first = sender_spool_seg_next(sp, SPOOL_PUSHED, NULL);
	cr_assert_leq(first->size, sp->segmax);
	/* the first segment's records, published one by one */
	n = 0;
	while (sender_spool_next(sp, &rec, err, sizeof(err)) == 1 &&
	    rec.seg == first) {
		sender_spool_take(sp);
		n++;
	}
	cr_assert_gt(n, 1);
	cr_assert_eq(count_files(dir), files);
	while (n-- > 1)
		sender_spool_release(sp, first);
	cr_assert_eq(count_files(dir), files, "removed before all were done");
	sender_spool_release(sp, first);
	cr_assert_eq(count_files(dir), files - 1);
	sender_spool_close(sp);
	/* the rest is still there, in order */
	sp = open_ok(256 * 1024);
	n = read_all(sp, tags, 64, 1);
	cr_assert_gt(n, 30);
	cr_assert_str_eq(tags[n - 1], "r39");
	cr_assert_eq(count_files(dir), 0);
	sender_spool_close(sp);
}

Test(spool, full_when_the_next_record_would_go_over)
{
	struct spool		*sp;
	struct points_msg	 m;
	char			*d;
	size_t			 len;

	sp = open_ok(65536);
	d = points("f", 10, 100, &len);
	msg_of(&m, d, len, 10);
	while (sender_spool_room(sp, sender_spool_record_size(&m)))
		append(sp, SPOOL_PUSHED, "f", 10, 100, 0);
	cr_assert_leq(sp->bytes, 65536);
	cr_assert_gt(sp->bytes + sender_spool_record_size(&m), 65536 -
	    SPOOL_SEG_HDR);
	free(d);
	sender_spool_close(sp);
}

Test(spool, ageing_out_the_oldest_scheduled_segment)
{
	struct spool		*sp;
	struct spool_seg	*seg;
	uint64_t		 pts, before;
	char			 err[256], tags[64][32], tag[16];
	size_t			 n;
	int			 i;

	sp = open_ok(256 * 1024);
	for (i = 0; i < 30; i++) {
		snprintf(tag, sizeof(tag), "s%02d", i);
		append(sp, SPOOL_SCHEDULED, tag, 20, 200, 0);
		if (i % 10 == 0) {
			snprintf(tag, sizeof(tag), "p%02d", i);
			append(sp, SPOOL_PUSHED, tag, 1, 10, 0);
		}
	}
	seg = sender_spool_seg_next(sp, SPOOL_SCHEDULED, NULL);
	before = sp->bytes;
	cr_assert_eq(sender_spool_drop(sp, seg, &pts, err, sizeof(err)), 0);
	/* whole records of 20 points, none read back */
	cr_assert_gt(pts, 0);
	cr_assert_eq(pts % 20, 0);
	cr_assert_lt(sp->bytes, before);
	n = read_all(sp, tags, 64, 1);
	/* what went first is the oldest scheduled; pushed all there */
	cr_assert_eq(n, 30 - pts / 20 + 3);
	cr_assert_str_eq(tags[0], "p00");
	cr_assert_str_eq(tags[n - 1], "s29");
	sender_spool_close(sp);
}

Test(spool, drop_refuses_a_segment_held_in_memory)
{
	struct spool		*sp;
	struct spool_seg	*seg;
	uint64_t		 pts;
	char			 err[256];

	sp = open_ok(1 << 30);
	seg = append(sp, SPOOL_SCHEDULED, "held", 2, 10, 1);
	cr_assert_not_null(seg);
	cr_assert_eq(sender_spool_drop(sp, seg, &pts, err, sizeof(err)), -1);
	sender_spool_release(sp, seg);
	cr_assert_eq(sender_spool_drop(sp, seg, &pts, err, sizeof(err)), 0);
	cr_assert_eq(pts, 0, "it was read already");
	cr_assert_eq(count_files(dir), 0);
	sender_spool_close(sp);
}

Test(spool, published_write_segment_is_recycled)
{
	struct spool		*sp;
	struct spool_seg	*segs[64];
	char			 tag[16], path[512], tags[4][32];
	int			 i;

	sp = open_ok(1 << 30);
	/* held in memory as written, published: 1.3 MiB */
	for (i = 0; i < 64; i++) {
		snprintf(tag, sizeof(tag), "w%02d", i);
		segs[i] = append(sp, SPOOL_PUSHED, tag, 100, 200, 1);
		cr_assert_not_null(segs[i]);
	}
	cr_assert_eq(count_files(dir), 1);
	for (i = 0; i < 64; i++)
		sender_spool_release(sp, segs[i]);
	/* emptied in place: a crash now replays nothing */
	cr_assert_eq(count_files(dir), 1);
	cr_assert_not_null(sp->wseg[SPOOL_PUSHED]);
	cr_assert_eq(sp->wseg[SPOOL_PUSHED]->size, SPOOL_SEG_HDR);
	cr_assert_eq(sp->bytes, SPOOL_SEG_HDR);
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	cr_assert_eq(file_size(path), SPOOL_SEG_HDR);
	cr_assert_not_null(append(sp, SPOOL_PUSHED, "after", 1, 10, 1));
	cr_assert_eq(count_files(dir), 1);
	/* what goes on after it is read back as usual */
	cr_assert_null(append(sp, SPOOL_PUSHED, "disk", 1, 10, 0));
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 4, 1), 2);
	cr_assert_str_eq(tags[0], "after");
	cr_assert_str_eq(tags[1], "disk");
	sender_spool_close(sp);
}

Test(spool, unread_counts_what_is_left)
{
	struct spool	*sp;
	uint64_t	 recs, pts;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "u1", 7, 10, 0);
	append(sp, SPOOL_SCHEDULED, "u2", 5, 10, 0);
	append(sp, SPOOL_PUSHED, "u3", 3, 10, 0);
	sender_spool_unread(sp, &recs, &pts);
	cr_assert_eq(recs, 3);
	cr_assert_eq(pts, 15);
	sender_spool_close(sp);
}

/* ---- directories the spool refuses ------------------------------------- */

static void
open_fails(const char *path, const char *why)
{
	struct spool	*sp;
	char		 err[512];

	cr_assert_eq(sender_spool_open(&sp, path, 1 << 30, logfn, NULL, err,
	    sizeof(err)), -1, "%s opened", path);
	cr_assert_null(sp);
	cr_assert(strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
	cr_assert(strstr(err, path) != NULL, "\"%s\" lacks the path", err);
}

Test(spool, refused_directories)
{
	struct spool	*sp;
	char		 p[128];

	snprintf(p, sizeof(p), "%s/missing", dir);
	open_fails(p, "No such file");
	cr_assert_eq(chmod(dir, 0770), 0);
	open_fails(dir, "writable by group or others");
	cr_assert_eq(chmod(dir, 0500), 0);
	open_fails(dir, "not readable, writable and searchable");
	cr_assert_eq(chmod(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	cr_assert_eq(symlink(dir, p), 0);
	open_fails(p, "symbolic link");
	snprintf(p, sizeof(p), "%s/file", dir);
	cr_assert_eq(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	open_fails(p, "Not a directory");
	/* one spool, one sender */
	sp = open_ok(1 << 30);
	open_fails(dir, "in use by another sender");
	sender_spool_close(sp);
	sender_spool_close(open_ok(1 << 30));
	if (geteuid() == 0) {
		cr_assert_eq(chown(dir, 12345, 12345), 0);
		open_fails(dir, "owned by uid 12345");
		cr_assert_eq(chown(dir, 0, 0), 0);
	}
}

Test(spool, foreign_files_are_left_alone)
{
	struct spool	*sp;
	char		 p[128];
	int		 fd;

	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	cr_assert_neq(fd = open(p, O_CREAT | O_WRONLY, 0600), -1);
	cr_assert_eq(write(fd, "hello", 5), 5);
	close(fd);
	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 0);
	sender_spool_close(sp);
	cr_assert_eq(access(p, F_OK), 0);
}

/*
 * A FIFO in a segment's name (its user may make one; with the default
 * accounts every plugin is that user) held the sender's start in open(2)
 * until a writer came: the agent silenced for everyone.  It is left
 * alone, and the timeout fails the test where the open would hang.
 */
Test(spool, a_fifo_named_like_a_segment_is_left_alone, .timeout = 10)
{
	struct spool	*sp;
	char		 p[128], tags[16][32];
	struct stat	 st;

	snprintf(p, sizeof(p), "%s/p-0000000000000001.seg", dir);
	cr_assert_eq(mkfifo(p, 0600), 0);
	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 0);
	cr_assert(strstr(logged, "p-0000000000000001.seg: not a regular "
	    "file") != NULL, "%s", logged);
	/* the spool goes on, in names of its own */
	append(sp, SPOOL_PUSHED, "new", 2, 10, 0);
	cr_assert_eq(read_all(sp, tags, 16, 0), 1);
	cr_assert_str_eq(tags[0], "new");
	sender_spool_close(sp);
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
}

/* One put in a segment's place once the spool has looked at it: its
 * read fails, and what follows is read; nothing waits on it. */
Test(spool, a_segment_swapped_for_a_fifo_holds_no_read, .timeout = 10)
{
	struct spool	*sp;
	char		 seg[512], fifo[512], tags[16][32];

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "a", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "b", 2, 10, 0);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 2);
	seg_path(SPOOL_PUSHED, seg, sizeof(seg));
	snprintf(fifo, sizeof(fifo), "%s/swap", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(rename(fifo, seg), 0);
	cr_assert_eq(read_all(sp, tags, 16, 1), 1, "%s", logged);
	cr_assert_str_eq(tags[0], "b");
	cr_assert(strstr(logged, "cannot read it") != NULL, "%s", logged);
	sender_spool_close(sp);
}

/* read() of the lane's only segment fails `n` times from now. */
static void
fail_reads(enum spool_lane lane, int n)
{
	struct stat	 st;
	char		 p[512];

	seg_path(lane, p, sizeof(p));
	cr_assert_eq(stat(p, &st), 0);
	read_fails_ino = st.st_ino;
	read_fails_left = n;
}

/*
 * A spool of record "a" in the pushed lane and `tag2` in `lane2`, opened
 * again with the pushed segment's reads failing `fails` times: the first
 * `calls` reads of it say EIO and give nothing.
 */
static struct spool *
reads_failing(enum spool_lane lane2, const char *tag2, int fails, int calls)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	char			 err[256];
	int			 i;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "a", 2, 10, 0);
	append(sp, lane2, tag2, 2, 10, 0);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	fail_reads(SPOOL_PUSHED, fails);
	for (i = 0; i < calls; i++) {
		cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)),
		    -1, "%d: %s", i, logged);
		cr_assert(strstr(err, "Input/output error") != NULL, "%s",
		    err);
	}
	return sp;
}

/*
 * An EIO reading the spool back gave up the rest of the segment at once:
 * records answered 200, lost to a storage hiccup (a path failing over).
 * The read is now tried again, a refill apart, before that.
 */
Test(spool, a_read_that_fails_with_eio_for_a_while_is_tried_again)
{
	struct spool	*sp;
	char		 tags[16][32];

	sp = reads_failing(SPOOL_PUSHED, "b", 3, 3);
	cr_assert_eq(read_all(sp, tags, 16, 1), 2, "%s", logged);
	cr_assert_str_eq(tags[0], "a");
	cr_assert_str_eq(tags[1], "b");
	cr_assert_eq(sp->st.skipped, 0, "%s", logged);
	sender_spool_close(sp);
}

/* One that does not pass (a bad sector) gives the rest up, as before,
 * and the other lane is read on. */
Test(spool, a_read_that_keeps_failing_with_eio_gives_the_rest_up)
{
	struct spool	*sp;
	char		 tags[16][32];

	sp = reads_failing(SPOOL_SCHEDULED, "c", 1000, 10);
	cr_assert_eq(read_all(sp, tags, 16, 1), 1, "%s", logged);
	read_fails_left = 0;
	cr_assert_str_eq(tags[0], "c");
	cr_assert_eq(sp->st.skipped, 1);
	cr_assert(strstr(logged, "Input/output error, read after read; the "
	    "rest of it is lost") != NULL, "%s", logged);
	sender_spool_close(sp);
}

/* The only segment of the spool renamed to `name`. */
static void
rename_seg(enum spool_lane lane, const char *name, char *to, size_t len)
{
	char	 from[512];

	seg_path(lane, from, sizeof(from));
	snprintf(to, len, "%s/%s", dir, name);
	cr_assert_eq(rename(from, to), 0);
}

/*
 * No spool makes an id of 2^63 or more: the next id after one would
 * wrap to 0, and a segment made then would come first in its lane,
 * before the cursor, never read back (or take a name that is there).
 */
Test(spool, a_segment_named_past_the_ids_is_left_alone)
{
	struct spool	*sp;
	char		 odd[512], tags[16][32];

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "old", 2, 10, 0);
	sender_spool_close(sp);
	rename_seg(SPOOL_PUSHED, "p-ffffffffffffffff.seg", odd, sizeof(odd));

	sp = open_ok(1 << 30);
	cr_assert_null(append(sp, SPOOL_PUSHED, "new", 2, 10, 0));
	cr_assert_eq(read_all(sp, tags, 16, 0), 1);
	cr_assert_str_eq(tags[0], "new");
	cr_assert_eq(sp->wseg[SPOOL_PUSHED]->id, 1);
	cr_assert_eq(sp->nsegs, 1);
	cr_assert(strstr(logged, "p-ffffffffffffffff.seg") != NULL, "%s",
	    logged);
	sender_spool_close(sp);
	cr_assert_eq(access(odd, F_OK), 0);
}

/* One named just below: its records are read, and no segment is made
 * past it (ids used up, as a full disk: every append fails). */
Test(spool, no_segment_is_made_past_the_ids)
{
	struct spool		*sp;
	struct points_msg	 m;
	struct spool_seg	*held;
	char			 odd[512], tags[16][32], err[256];
	char			 d[] = "new-0";

	sp = open_ok(1 << 30);
	append(sp, SPOOL_SCHEDULED, "old", 2, 10, 0);
	sender_spool_close(sp);
	rename_seg(SPOOL_SCHEDULED, "s-7fffffffffffffff.seg", odd,
	    sizeof(odd));

	sp = open_ok(1 << 30);
	cr_assert_eq(sp->nsegs, 1);
	msg_of(&m, d, strlen(d), 1);
	cr_assert_eq(sender_spool_append(sp, SPOOL_PUSHED, &m, 0, &held, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "ids") != NULL, "%s", err);
	cr_assert_eq(sp->nsegs, 1);
	cr_assert_eq(read_all(sp, tags, 16, 0), 1);
	cr_assert_str_eq(tags[0], "old");
	sender_spool_close(sp);
}

/* ---- the mark ------------------------------------------------------------ */

/* What the mark file says now; 0 when it says nothing. */
static uint64_t
mark_on_disk(void)
{
	struct crc32c	 c;
	uint8_t		 buf[SPOOL_MARK_LEN];
	uint64_t	 mark = 0;
	char		 path[128];
	int		 fd;

	sender_crc32c_init(&c);
	snprintf(path, sizeof(path), "%s/mark", dir);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    sender_spool_mark_decode(buf, &c, &mark) == -1)
		mark = 0;
	close(fd);
	return mark;
}

/*
 * The mark moves on in memory at every request and reaches its file with
 * the next sync (a pwrite a second, not one a request).
 */
Test(spool, the_mark_reaches_its_file_with_the_sync)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	char			 err[256];
	uint64_t		 first;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "k1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "k2", 2, 10, 0);
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), 1);
	first = rec.seq;
	sender_spool_take(sp);
	sender_spool_release(sp, rec.seg);
	sender_spool_set_mark(sp, first + 1);
	cr_assert_eq(sp->mark, first + 1);
	cr_assert_lt(mark_on_disk(), first + 1);
	cr_assert(sender_spool_dirty(sp));
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mark_on_disk(), first + 1);
	cr_assert_not(sender_spool_dirty(sp));
	sender_spool_close(sp);
}

/*
 * A sync keeps records from a power failure until the output has them:
 * once the mark has passed every record written, there is nothing left
 * for it to keep, though the segment's bytes are still unsynced.
 */
Test(spool, a_sync_is_needed_only_while_a_record_is_unpublished)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	char			 err[256];
	uint64_t		 first;

	sp = open_ok(1 << 30);
	cr_assert_not(sender_spool_sync_needed(sp));
	append(sp, SPOOL_PUSHED, "n1", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "n2", 2, 10, 0);
	cr_assert(sender_spool_sync_needed(sp));
	/* n1 published: n2 is not */
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), 1);
	first = rec.seq;
	sender_spool_take(sp);
	sender_spool_release(sp, rec.seg);
	sender_spool_set_mark(sp, 0);
	cr_assert_eq(sp->mark, first + 1);
	cr_assert(sender_spool_sync_needed(sp));
	/* both published: written, unsynced, and nothing to keep */
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), 1);
	sender_spool_take(sp);
	sender_spool_release(sp, rec.seg);
	sender_spool_set_mark(sp, 0);
	sender_spool_write_mark(sp);
	cr_assert(sender_spool_dirty(sp));
	cr_assert_not(sender_spool_sync_needed(sp));
	cr_assert_eq(sp->st.syncs, 0);
	/* a new record: needed again, and the sync takes all along */
	append(sp, SPOOL_PUSHED, "n3", 2, 10, 0);
	cr_assert(sender_spool_sync_needed(sp));
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(sender_spool_dirty(sp));
	cr_assert_not(sender_spool_sync_needed(sp));
	/* a mark that cannot be written does not move: always synced */
	(void)close(sp->markfd);
	sp->markfd = -1;
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), 1);
	sender_spool_take(sp);
	sender_spool_release(sp, rec.seg);
	sender_spool_set_mark(sp, 0);
	append(sp, SPOOL_PUSHED, "n4", 2, 10, 0);
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), 1);
	sender_spool_take(sp);
	sender_spool_release(sp, rec.seg);
	sender_spool_set_mark(sp, 0);
	cr_assert(sender_spool_sync_needed(sp));
	sender_spool_close(sp);
}

Test(spool, mark_keeps_published_records_from_coming_back)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	uint64_t		 third = 0;
	char			 err[256], tags[16][32], path[128];
	int			 i, fd;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "k1", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "k2", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "k3", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "k4", 2, 10, 0);
	/* the first two published; k3 held in memory, k4 read back */
	for (i = 0; i < 3; i++) {
		cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)),
		    1);
		sender_spool_take(sp);
		if (i < 2)
			sender_spool_release(sp, rec.seg);
		else
			third = rec.seq;	/* held: not released */
	}
	sender_spool_set_mark(sp, third);
	cr_assert_eq(sp->mark, third);
	/* a mark never goes back */
	sender_spool_set_mark(sp, third - 1);
	cr_assert_eq(sp->mark, third);
	sender_spool_close(sp);

	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 1), 2);
	cr_assert_str_eq(tags[0], "k3");
	cr_assert_str_eq(tags[1], "k4");
	/* nothing in memory, nothing unread: the next one to be written */
	sender_spool_set_mark(sp, 0);
	cr_assert_eq(sp->mark, sp->next_seq);
	sender_spool_close(sp);

	/* a mark that is no mark: everything comes back */
	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "z1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "z2", 2, 10, 0);
	sender_spool_close(sp);
	snprintf(path, sizeof(path), "%s/mark", dir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_TRUNC), -1);
	cr_assert_eq(write(fd, "garbage garbage!", 16), 16);
	close(fd);
	logged[0] = '\0';
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 1), 2);
	cr_assert(strstr(logged, "not a mark") != NULL, "%s", logged);
	sender_spool_close(sp);
}

/* ---- spoolsync = 0: what a sync promises ------------------------------ */

/*
 * A write that fails (the disk full) ends its segment: the records before
 * it in that segment, written since the last sync, may have answers
 * waiting for the next one, so the segment is synced as it is closed.  It
 * used to be closed unsynced, and the next sync, finding nothing dirty,
 * let those answers say 200.
 */
Test(spool, a_failed_write_syncs_what_came_before_it)
{
	struct spool		*sp;
	struct points_msg	 m;
	struct spool_seg	*held;
	struct sigaction	 sa, osa;
	struct rlimit		 rl, orl;
	char			 path[512], err[256], *d;
	size_t			 len;
	uint64_t		 syncs;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "a1", 2, 10, 0);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	append(sp, SPOOL_PUSHED, "a2", 2, 10, 0);
	cr_assert(sender_spool_dirty(sp));
	syncs = sp->st.syncs;

	/* the file may not grow past its size: the next write fails */
	seg_path(SPOOL_PUSHED, path, sizeof(path));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	cr_assert_eq(sigaction(SIGXFSZ, &sa, &osa), 0);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &orl), 0);
	rl = orl;
	rl.rlim_cur = (rlim_t)file_size(path) + 8;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	d = points("b", 4, 100, &len);
	msg_of(&m, d, len, 4);
	cr_assert_eq(sender_spool_append(sp, SPOOL_PUSHED, &m, 0, &held, err,
	    sizeof(err)), -1);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &orl), 0);
	cr_assert_eq(sigaction(SIGXFSZ, &osa, NULL), 0);
	free(d);
	cr_assert(strstr(err, "File too large") != NULL, "%s", err);

	/* a2 was synced as its segment closed: the sync may say so */
	cr_assert_eq(sp->st.syncs, syncs + 1);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	sender_spool_close(sp);
}

/*
 * A full segment is synced as it is closed; when that sync fails, the
 * next sender_spool_sync() fails too, though the segment it finds in use
 * is another one, new and synced fine: the answers held for it cannot
 * say 200.  Once said, the sync after is clean again.
 */
Test(spool, a_failed_sync_of_a_full_segment_fails_the_next_sync)
{
	struct spool	*sp;
	char		 err[256];
	int		 i;

	sp = open_ok(32768);	/* segments of 4 KiB */
	append(sp, SPOOL_PUSHED, "c0", 10, 100, 0);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	fdatasync_fails = 1;
	for (i = 1; i <= 4; i++)
		append(sp, SPOOL_PUSHED, "c", 10, 100, 0);
	fdatasync_fails = 0;
	cr_assert_geq(count_files(dir), 2, "no segment was closed");
	cr_assert(sp->st.write_errors >= 1);
	cr_assert(sender_spool_dirty(sp));
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), -1);
	cr_assert(strstr(err, "fdatasync: Input/output error") != NULL,
	    "%s", err);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(sender_spool_dirty(sp));
	sender_spool_close(sp);
}

/*
 * A sender that dies while it copies a spool into this one (a reload's
 * move, sender_switch.c) leaves a part of the records here, which are
 * still in the spool they came from: the next open removes that part, or
 * the next move would copy them again and they would be published twice.
 * What was here before the copy, and a copy made whole, stay.
 */
Test(spool, a_copy_its_sender_did_not_finish_is_removed_at_the_next_open)
{
	struct spool	*sp;
	char		 tags[16][32], moving[128], err[256];
	size_t		 n;
	pid_t		 pid;
	int		 st;

	snprintf(moving, sizeof(moving), "%s/%s", dir, SPOOL_MOVING_NAME);
	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "before", 2, 30, 0);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	sender_spool_close(sp);

	/* the dying sender: the copy begun, two records in, then gone */
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		sp = open_ok(1 << 30);
		if (sender_spool_moving_begin(sp, sp->next_id, err,
		    sizeof(err)) == -1)
			_exit(2);
		append(sp, SPOOL_PUSHED, "copied", 3, 30, 0);
		append(sp, SPOOL_SCHEDULED, "copied", 1, 30, 0);
		if (sender_spool_sync(sp, err, sizeof(err)) == -1)
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_eq(access(moving, F_OK), 0);

	sp = open_ok(1 << 30);
	cr_assert(strstr(logged, "was cut short (its sender died): its 2 "
	    "segments removed") != NULL, "%s", logged);
	cr_assert_eq(access(moving, F_OK), -1);
	n = read_all(sp, tags, 16, 1);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(tags[0], "before");

	/* a copy made whole stays */
	cr_assert_eq(sender_spool_moving_begin(sp, sp->next_id, err,
	    sizeof(err)), 0, "%s", err);
	append(sp, SPOOL_PUSHED, "whole", 1, 30, 0);
	cr_assert_eq(sender_spool_sync(sp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sender_spool_moving_end(sp, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(access(moving, F_OK), -1);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	n = read_all(sp, tags, 16, 1);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(tags[0], "whole");
	sender_spool_close(sp);
}

static void
count_tick(void *arg, uint64_t records)
{
	uint64_t	*seen = arg;

	cr_assert_eq(records, *seen + 1);
	*seen = records;
}

/* A copy says how far it is after each record (the sender's progress
 * lines and its word to the watchdog during a long move). */
Test(spool, a_copy_ticks_after_each_record)
{
	struct spool	*a, *b;
	char		 other[80], err[256], tags[16][32];
	uint64_t	 records, seen = 0;

	a = open_ok(1 << 30);
	append(a, SPOOL_PUSHED, "one", 1, 30, 0);
	append(a, SPOOL_SCHEDULED, "two", 2, 30, 0);
	append(a, SPOOL_PUSHED, "three", 3, 30, 0);
	snprintf(other, sizeof(other), "%s/b", dir);
	cr_assert_eq(mkdir(other, 0700), 0);
	cr_assert_eq(sender_spool_open(&b, other, 1 << 30, logfn, NULL, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(sender_spool_copy_unread(a, b, &records, count_tick,
	    &seen, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(records, 3);
	cr_assert_eq(seen, 3);
	cr_assert_eq(read_all(b, tags, 16, 1), 3);
	cr_assert_str_eq(tags[0], "one");
	cr_assert_str_eq(tags[2], "three");
	sender_spool_close(b);
	sender_spool_close(a);
}

/* ---- reading back when the process is short of descriptors ------------ */

/* The soft limit on descriptors set so that the next one fails (EMFILE):
 * the old limit, to give back. */
static struct rlimit
no_more_descriptors(void)
{
	struct rlimit	 old, rl;
	int		 fd;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_neq(fd = dup(0), -1);
	close(fd);
	rl = old;
	rl.rlim_cur = (rlim_t)fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(dup(0), -1);
	cr_assert_eq(errno, EMFILE);
	return old;
}

/*
 * A segment that cannot be opened for now (EMFILE, ENFILE, ENOMEM) is
 * read later: it used to be taken for one that cannot be read, cut to its
 * header, and removed with every record it held, all of them answered
 * 200; and a mark moved on then passed them all.
 */
Test(spool, a_segment_that_cannot_be_opened_for_now_is_read_later)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	struct rlimit		 old;
	char			 err[256], tags[16][32];
	int			 rc;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "e1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "e2", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "e3", 2, 10, 0);
	sender_spool_close(sp);

	sp = open_ok(1 << 30);
	cr_assert_eq(count_files(dir), 2);
	old = no_more_descriptors();
	rc = sender_spool_next(sp, &rec, err, sizeof(err));
	/* what the sender does after a turn: the mark follows */
	sender_spool_set_mark(sp, 0);
	sender_spool_write_mark(sp);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(count_files(dir), 2, "%s", logged);
	/* read now, all of them */
	cr_assert_eq(read_all(sp, tags, 16, 1), 3, "%s", logged);
	cr_assert_str_eq(tags[0], "e1");
	cr_assert_str_eq(tags[2], "e3");
	cr_assert_eq(sp->st.skipped + sp->st.cut, 0, "%s", logged);
	cr_assert_eq(rc, -1, "%d", rc);
	cr_assert(strstr(err, "Too many open files") != NULL, "%s", err);
	sender_spool_close(sp);

	/* and a spool closed after the failure still has them */
	sp = open_ok(1 << 30);
	cr_assert_eq(count_files(dir), 0);
	append(sp, SPOOL_PUSHED, "f1", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "f2", 2, 10, 0);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	old = no_more_descriptors();
	cr_assert_eq(sender_spool_next(sp, &rec, err, sizeof(err)), -1);
	sender_spool_set_mark(sp, 0);
	sender_spool_close(sp);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 1), 2, "%s", logged);
	cr_assert_str_eq(tags[0], "f1");
	cr_assert_str_eq(tags[1], "f2");
	sender_spool_close(sp);
}

/*
 * The newest segment could not be read at open (EIO, a storage hiccup
 * the reader waits out): the sequence numbers it holds were not seen,
 * and new records were numbered below them.  Read back after the old
 * ones, a new record sat behind a higher number in memory; the mark
 * moved past it with the old one published, and the next start skipped
 * it: answered 200, lost.
 */
Test(spool, records_written_after_an_unreadable_newest_segment_come_after_it)
{
	struct spool		*sp;
	struct spool_rec	 rec;
	struct spool_seg	*segs[8];
	uint64_t		 seqs[8];
	char			 err[256], tags[16][32];
	int			 n = 0, i;

	sp = open_ok(1 << 30);
	append(sp, SPOOL_SCHEDULED, "s1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "p1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "p2", 2, 10, 0);
	sender_spool_close(sp);

	/* the open's reads of the pushed segment fail (its header's, and
	 * the scan's), then pass */
	fail_reads(SPOOL_PUSHED, 2);
	sp = open_ok(1 << 30);
	read_fails_left = 0;
	cr_assert(strstr(logged, "could not all be read") != NULL, "%s",
	    logged);
	append(sp, SPOOL_PUSHED, "p3", 2, 10, 0);
	/* in memory, in the order the sender reads them */
	while (sender_spool_next(sp, &rec, err, sizeof(err)) == 1) {
		cr_assert_lt(n, 8);
		segs[n] = rec.seg;
		seqs[n++] = rec.seq;
		sender_spool_take(sp);
	}
	cr_assert_eq(n, 4, "%s", logged);
	for (i = 1; i < n; i++)
		cr_assert_gt(seqs[i], seqs[i - 1], "record %d: seq %llu after "
		    "%llu", i, (unsigned long long)seqs[i],
		    (unsigned long long)seqs[i - 1]);
	/* s1 and p1 published: the mark is the first one held, p2 */
	sender_spool_release(sp, segs[0]);
	sender_spool_release(sp, segs[1]);
	sender_spool_set_mark(sp, seqs[2]);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 1), 2, "%s", logged);
	cr_assert_str_eq(tags[0], "p2");
	cr_assert_str_eq(tags[1], "p3");
	sender_spool_close(sp);
}

/*
 * A segment that could not be opened at the open (out of descriptors)
 * was left out: its records were not read in that life of the spool,
 * the mark passed their numbers, and the next open skipped them.  It is
 * read later now, and new records come after it.
 */
Test(spool, a_segment_that_cannot_be_opened_at_the_open_is_read_later)
{
	struct spool	*sp;
	char		 p[512], tags[16][32];

	sp = open_ok(1 << 30);
	append(sp, SPOOL_PUSHED, "p1", 2, 10, 0);
	append(sp, SPOOL_PUSHED, "p2", 2, 10, 0);
	append(sp, SPOOL_SCHEDULED, "s1", 2, 10, 0);
	sender_spool_close(sp);

	seg_path(SPOOL_PUSHED, p, sizeof(p));
	strlcpy(openat_fails_name, strrchr(p, '/') + 1,
	    sizeof(openat_fails_name));
	openat_fails_left = 2;		/* the listing's, the scan's */
	sp = open_ok(1 << 30);
	openat_fails_left = 0;
	append(sp, SPOOL_PUSHED, "p3", 2, 10, 0);
	cr_assert_eq(read_all(sp, tags, 16, 1), 4, "%s", logged);
	cr_assert_str_eq(tags[0], "p1");
	cr_assert_str_eq(tags[1], "p2");
	cr_assert_str_eq(tags[2], "s1");
	cr_assert_str_eq(tags[3], "p3");
	sender_spool_set_mark(sp, 0);
	sender_spool_close(sp);
	sp = open_ok(1 << 30);
	cr_assert_eq(read_all(sp, tags, 16, 1), 0, "%s", logged);
	sender_spool_close(sp);
}
