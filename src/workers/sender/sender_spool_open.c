/*
 * Opening the spool (sender_spool.h): the directory's checks and lock,
 * the segments it holds, the torn tail of the last one written; and
 * closing it.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "sender_spool_int.h"

/* "p-0123456789abcdef.seg": 1 with lane and id, else 0. */
/* 16 lowercase hex digits, as segment names and the moving file have. */
static int
hex16(const char *s, uint64_t *out)
{
	uint64_t	 v = 0;
	int		 i, c;

	for (i = 0; i < 16; i++) {
		c = s[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int
parse_name(const char *name, enum spool_lane *lane, uint64_t *id)
{
	uint64_t	 v = 0;

	if (strlen(name) != SPOOL_NAME_LEN - 2 || name[1] != '-' ||
	    strcmp(name + 18, ".seg") != 0)
		return 0;
	if (name[0] == 'p')
		*lane = SPOOL_PUSHED;
	else if (name[0] == 's')
		*lane = SPOOL_SCHEDULED;
	else
		return 0;
	if (hex16(name + 2, &v) == -1)
		return 0;
	*id = v;
	return 1;
}

/*
 * Call fn with the name of every entry of the spool's directory, until it
 * returns -1.  0, or -1 (fn's, or errno from reading the directory).
 */
static int
each_name(struct spool *sp, int (*fn)(struct spool *, const char *, void *),
    void *arg)
{
	char		 buf[8192], name[256];
	struct dirent64	*d;
	ssize_t		 n, off;

	if (lseek(sp->dirfd, 0, SEEK_SET) == -1)
		return -1;
	while ((n = getdents64(sp->dirfd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct dirent64 *)(buf + off);
			strlcpy(name, d->d_name, sizeof(name));
			if (fn(sp, name, arg) == -1)
				return -1;
		}
	return n == -1 ? -1 : 0;
}

struct cut {
	uint64_t	 first;		/* segments from this id on go */
	uint64_t	 removed;
};

static int
cut_one(struct spool *sp, const char *name, void *arg)
{
	struct cut	*c = arg;
	enum spool_lane	 lane;
	uint64_t	 id;

	if (parse_name(name, &lane, &id) && id >= c->first &&
	    unlinkat(sp->dirfd, name, 0) == 0)
		c->removed++;
	return 0;
}

/*
 * A copy into this spool that its sender did not live to finish
 * (sender_spool_moving_begin()): its segments, first_id on, are a part
 * of records still in the spool they came from, which the next move
 * copies again whole.  Removed before anything is read, or they would
 * be published twice.  A mark that says no number is left alone.
 */
static void
cut_partial_move(struct spool *sp)
{
	struct cut	 cut = { 0, 0 };
	char		 text[SPOOL_MARK_LEN + 2];
	uint64_t	 first = 0;
	ssize_t		 n;
	int		 fd;

	fd = openat(sp->dirfd, SPOOL_MOVING_NAME, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return;
	n = read(fd, text, sizeof(text));
	(void)close(fd);
	if (n != SPOOL_MARK_LEN + 1 || text[SPOOL_MARK_LEN] != '\n') {
		sender_spool_log(sp, "%s/%s: not a segment number: left alone",
		    sp->path, SPOOL_MOVING_NAME);
		return;
	}
	if (hex16(text, &first) == -1)
		return;
	cut.first = first;
	(void)each_name(sp, cut_one, &cut);
	if (unlinkat(sp->dirfd, SPOOL_MOVING_NAME, 0) == -1 ||
	    sender_spool_timed_sync(sp, sp->dirfd, 0) == -1)
		sender_spool_log(sp, "%s: %s", sp->path, strerror(errno));
	sender_spool_log(sp, "a copy into %s was cut short (its sender "
	    "died): its %llu segments removed; the records are in the spool "
	    "they came from, and go with the next move", sp->path,
	    (unsigned long long)cut.removed);
}

/*
 * One file of the directory: a segment of ours, or left alone.  *unsure
 * is set when it could not be looked at for now (it is read at a later
 * open, and its sequence numbers are not known: see scan_newest()).
 */
static int
open_seg(struct spool *sp, const char *name, int *unsure)
{
	struct spool_seg	*seg;
	struct stat		 st;
	enum spool_lane		 lane;
	uint64_t		 id, pos = 0;
	uint8_t			 hdr[SPOOL_SEG_HDR];
	int			 fd, e;

	if (!parse_name(name, &lane, &id))
		return 0;
	if (id >= SPOOL_ID_LIMIT) {
		/* the next id after it could wrap to 0: a segment made
		 * then would sort first in its lane, behind the cursor,
		 * never to be read back */
		sender_spool_log(sp, "segment %s: id past the ones a spool "
		    "makes; left alone", name);
		return 0;
	}
	/* never a name again that is taken, whatever the file is */
	if (id >= sp->next_id)
		sp->next_id = id + 1;
	/*
	 * O_NONBLOCK: a FIFO in a segment's name (its user may make one,
	 * and with the default accounts that includes every plugin) would
	 * hold the open, and the sender's start with it, until a writer
	 * came.  A regular file reads the same either way.
	 */
	fd = openat(sp->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	e = errno;
	/*
	 * One that cannot be opened now (out of descriptors, EIO) is still
	 * ours to read, later: left out, its records would be read at the
	 * next start only, after the mark had passed their numbers.
	 */
	if (fd == -1 ? fstatat(sp->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ==
	    -1 : fstat(fd, &st) == -1) {
		sender_spool_log(sp, "segment %s: %s; left alone", name,
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		sender_spool_log(sp, "segment %s: not a regular file of uid "
		    "%lu; left alone", name, (unsigned long)geteuid());
		if (fd != -1)
			(void)close(fd);
		return 0;
	}
	if ((uint64_t)st.st_size <= SPOOL_SEG_HDR) {
		/* made, but nothing written to it */
		if (fd != -1)
			(void)close(fd);
		if (unlinkat(sp->dirfd, name, 0) == -1)
			sender_spool_log(sp, "segment %s: cannot remove it: "
			    "%s", name, strerror(errno));
		return 0;
	}
	if (fd == -1) {
		/* its numbers are not known: see scan_newest() */
		*unsure = 1;
		sender_spool_log(sp, "segment %s: cannot open it now: %s; "
		    "read later", name, strerror(e));
	} else if (sender_spool_read_at(fd, &pos, 0, hdr, sizeof(hdr)) !=
	    (ssize_t)sizeof(hdr) ||
	    !sender_spool_seg_header_ok(hdr)) {
		sp->st.skipped++;
		sender_spool_log(sp, "segment %s: bad header; reading its "
		    "records anyway", name);
	}
	if (fd != -1)
		(void)close(fd);
	if ((seg = sender_spool_seg_alloc(lane, id)) == NULL)
		return -1;
	seg->size = (uint64_t)st.st_size;
	sender_spool_seg_insert(sp, seg);
	return 0;
}

/* open_seg() for each_name(): -1 (errno 0) only when out of memory. */
static int
open_seg_cb(struct spool *sp, const char *name, void *arg)
{
	if (open_seg(sp, name, arg) == -1) {
		errno = 0;
		return -1;
	}
	return 0;
}

static int
list_segments(struct spool *sp, int *unsure, char *err, size_t errlen)
{
	errno = 0;
	if (each_name(sp, open_seg_cb, unsure) == 0)
		return 0;
	if (errno == 0)
		snprintf(err, errlen, "out of memory");
	else
		snprintf(err, errlen, "reading %s: %s", sp->path,
		    strerror(errno));
	return -1;
}

/*
 * The newest segments hold the last records written: read them through
 * for the highest sequence number, cutting a torn tail on the way.  1
 * when one could not be read (EIO, out of descriptors): the numbers it
 * holds are not known then.
 */
static int
scan_newest(struct spool *sp, enum spool_lane lane, uint64_t *maxseq)
{
	struct spool_seg	*seg, *prev;
	struct spool_rec	 rec;
	struct buf		 rb;
	uint64_t		 off, pos;
	int			 fd, rc, found, unsure = 0;

	buf_init(&rb);
	for (seg = TAILQ_LAST(&sp->lanes[lane], spool_segq); seg != NULL;
	    seg = prev) {
		prev = TAILQ_PREV(seg, spool_segq, entry);
		if ((fd = openat(sp->dirfd, seg->name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1) {
			unsure = 1;
			break;
		}
		off = SPOOL_SEG_HDR;
		pos = 0;
		found = 0;
		while ((rc = sender_spool_read_record(sp, seg, fd, &pos, &off,
		    &rb, &rec, 1, 1)) == 1) {
			if (rec.seq > *maxseq)
				*maxseq = rec.seq;
			found = 1;
			off += rec.reclen;
		}
		(void)close(fd);
		if (seg->size <= SPOOL_SEG_HDR)
			sender_spool_seg_remove(sp, seg);
		if (rc == -1)
			unsure = 1;
		if (found || rc == -1)
			break;
	}
	buf_free(&rb);
	return unsure;
}

/* Why a directory would not open: a link in its place? */
static int
is_symlink(const char *path)
{
	struct stat	 st;
	int		 fd, e = errno, rc;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		errno = e;
		return 0;
	}
	rc = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
	(void)close(fd);
	errno = e;
	return rc;
}

/* The mark (sender_spool.h): kept open, read now. */
static void
open_mark(struct spool *sp)
{
	uint8_t		 buf[SPOOL_MARK_LEN];
	uint64_t	 pos = 0;
	struct stat	 st;

	if ((sp->markfd = openat(sp->dirfd, SPOOL_MARK_NAME, O_RDWR |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fstat(sp->markfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		sender_spool_log(sp, "%s: %s; what was published may be "
		    "published again after a crash", SPOOL_MARK_NAME,
		    strerror(errno));
		if (sp->markfd != -1)
			(void)close(sp->markfd);
		sp->markfd = -1;
		return;
	}
	if (st.st_size == 0)
		return;
	if (sender_spool_read_at(sp->markfd, &pos, 0, buf, sizeof(buf)) !=
	    (ssize_t)sizeof(buf) ||
	    sender_spool_mark_decode(buf, &sp->crc, &sp->mark) == -1) {
		sp->mark = 0;
		sender_spool_log(sp, "%s: not a mark; every record is "
		    "published", SPOOL_MARK_NAME);
	}
}

int
sender_spool_open(struct spool **out, const char *path, uint64_t maxbytes,
    spool_log_fn log, void *logarg, char *err, size_t errlen)
{
	struct spool	*sp;
	struct stat	 st;
	uint64_t	 maxseq = 0;
	int		 l, unsure = 0;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp->dirfd = -1;
	sp->markfd = -1;
	sp->log = log;
	sp->logarg = logarg;
	sp->next_id = 1;
	buf_init(&sp->wbuf);
	for (l = 0; l < SPOOL_LANES; l++) {
		TAILQ_INIT(&sp->lanes[l]);
		sp->cur[l].fd = -1;
		buf_init(&sp->cur[l].rbuf);
	}
	sender_crc32c_init(&sp->crc);
	sender_spool_set_max(sp, maxbytes);
	if (strlcpy(sp->path, path, sizeof(sp->path)) >= sizeof(sp->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		goto fail;
	}
	if ((sp->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, is_symlink(path) ?
		    "is a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(sp->dirfd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %lu, not by the "
		    "sender's uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s: writable by group or others (mode "
		    "%04o)", path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if ((st.st_mode & S_IRWXU) != S_IRWXU) {
		snprintf(err, errlen, "%s: not readable, writable and "
		    "searchable by its owner (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	/* two senders (two agents, one spool) would replay each other's */
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
		    "in use by another sender (locked)" : strerror(errno));
		goto fail;
	}
	open_mark(sp);
	cut_partial_move(sp);
	if (list_segments(sp, &unsure, err, errlen) == -1)
		goto fail;
	for (l = 0; l < SPOOL_LANES; l++)
		unsure |= scan_newest(sp, (enum spool_lane)l, &maxseq);
	sp->next_seq = maxseq + 1 > sp->mark ? maxseq + 1 : sp->mark;
	if (unsure) {
		/*
		 * A record we write must come after every one on disk: read
		 * back later, one numbered below an older record would sit
		 * behind it in memory, and the mark would pass it once the
		 * older one was published (skipped at the next start).
		 */
		sp->next_seq += SPOOL_SEQ_LEAP;
		sender_spool_log(sp, "%s: segments could not all be read; "
		    "new records are numbered from %" PRIu64,
		    sp->path, sp->next_seq);
	}
	for (l = 0; l < SPOOL_LANES; l++)
		sender_spool_cur_set(&sp->cur[l], TAILQ_FIRST(&sp->lanes[l]),
		    SPOOL_SEG_HDR);
	*out = sp;
	return 0;
fail:
	sender_spool_close(sp);
	return -1;
}

void
sender_spool_close(struct spool *sp)
{
	struct spool_seg	*seg;
	int			 l;

	if (sp == NULL)
		return;
	for (l = 0; l < SPOOL_LANES; l++)
		if (sp->wseg[l] != NULL)
			sender_spool_seg_seal(sp, sp->wseg[l], 1);
	/* sealed, the segments that are all done go too (those holding a
	 * record still in memory or unread stay) */
	if (sp->dirfd != -1)
		sender_spool_gc(sp);
	if (sp->dirdirty && sp->dirfd != -1 &&
	    sender_spool_timed_sync(sp, sp->dirfd, 0) == -1)
		sender_spool_log(sp, "fsync of the directory: %s",
		    strerror(errno));
	for (l = 0; l < SPOOL_LANES; l++) {
		sender_spool_cur_close(&sp->cur[l]);
		buf_free(&sp->cur[l].rbuf);
		while ((seg = TAILQ_FIRST(&sp->lanes[l])) != NULL) {
			TAILQ_REMOVE(&sp->lanes[l], seg, entry);
			free(seg);
		}
	}
	sender_spool_write_mark(sp);
	if (sp->markfd != -1)
		(void)close(sp->markfd);
	if (sp->dirfd != -1)
		(void)close(sp->dirfd);
	buf_free(&sp->wbuf);
	free(sp);
}
