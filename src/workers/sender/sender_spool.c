/*
 * The spool's segments (sender_spool.h): appending, sealing, removing
 * what is done, ageing out, syncing.  Reading back is
 * sender_spool_read.c, opening the directory sender_spool_open.c, the
 * record format sender_spool_seg.c.
 *
 * Descriptors: the directory (locked, for openat/unlinkat and fsync), one
 * appending descriptor per lane's write segment, and one reading
 * descriptor per lane's cursor; all close-on-exec, none follows a
 * symbolic link.  Writes are one writev(2) of a whole record.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

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
#include "util.h"

static int	 passed(const struct spool_cursor *, const struct spool_seg *);

void
sender_spool_log(struct spool *sp, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	if (sp->log == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sp->log(msg, sp->logarg);
}

static uint64_t
now_usec(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static const char lane_char[SPOOL_LANES] = { 'p', 's' };

struct spool_seg *
sender_spool_seg_alloc(enum spool_lane lane, uint64_t id)
{
	struct spool_seg	*seg;

	if ((seg = calloc(1, sizeof(*seg))) == NULL)
		return NULL;
	seg->lane = lane;
	seg->id = id;
	seg->wfd = -1;
	snprintf(seg->name, sizeof(seg->name), "%c-%016" PRIx64 ".seg",
	    lane_char[lane], id);
	return seg;
}

/* Insert in id order (the directory lists files in any order). */
void
sender_spool_seg_insert(struct spool *sp, struct spool_seg *seg)
{
	struct spool_seg	*s;

	TAILQ_FOREACH(s, &sp->lanes[seg->lane], entry)
		if (s->id > seg->id) {
			TAILQ_INSERT_BEFORE(s, seg, entry);
			goto counted;
		}
	TAILQ_INSERT_TAIL(&sp->lanes[seg->lane], seg, entry);
counted:
	sp->bytes += seg->size;
	sp->nsegs++;
}

/* ---- segments ---------------------------------------------------------- */

/* Forget a segment and remove its file. */
void
sender_spool_seg_remove(struct spool *sp, struct spool_seg *seg)
{
	struct spool_cursor	*c = &sp->cur[seg->lane];
	struct spool_seg	*next = TAILQ_NEXT(seg, entry);

	if (c->seg == seg)
		sender_spool_cur_set(c, next, SPOOL_SEG_HDR);
	if (sp->wseg[seg->lane] == seg)
		sp->wseg[seg->lane] = NULL;
	if (seg->wfd != -1)
		(void)close(seg->wfd);
	if (unlinkat(sp->dirfd, seg->name, 0) == -1 && errno != ENOENT)
		sender_spool_log(sp, "segment %s: cannot remove it: %s; "
		    "what it holds may be published again at the next start",
		    seg->name, strerror(errno));
	TAILQ_REMOVE(&sp->lanes[seg->lane], seg, entry);
	sp->bytes -= seg->size;
	sp->nsegs--;
	free(seg);
}

int
sender_spool_timed_sync(struct spool *sp, int fd, int data)
{
	uint64_t	 t0 = now_usec();
	int		 rc;

	rc = data ? fdatasync(fd) : fsync(fd);
	sp->st.syncs++;
	sp->st.sync_usec += now_usec() - t0;
	return rc;
}

/*
 * No more appends to it; synced first when `sync` and written to.  What
 * it holds unsynced then stays so: the next sender_spool_sync() fails,
 * so that no answer held for that sync (spoolsync = 0) says 200 for it.
 * A caller for whom what is unsynced no longer matters clears dirty
 * first.
 */
void
sender_spool_seg_seal(struct spool *sp, struct spool_seg *seg, int sync)
{
	if (seg->wfd == -1)
		return;
	if (seg->dirty && !sync)
		snprintf(sp->syncfail, sizeof(sp->syncfail), "segment %s was "
		    "closed before what it holds was synced", seg->name);
	if (sync && seg->dirty &&
	    sender_spool_timed_sync(sp, seg->wfd, 1) == -1) {
		sp->st.write_errors++;
		snprintf(sp->syncfail, sizeof(sp->syncfail), "segment %s: "
		    "fdatasync: %s", seg->name, strerror(errno));
		sender_spool_log(sp, "segment %s: fdatasync: %s", seg->name,
		    strerror(errno));
	}
	if (close(seg->wfd) == -1 && sync)
		sender_spool_log(sp, "segment %s: close: %s", seg->name,
		    strerror(errno));
	seg->wfd = -1;
	seg->dirty = 0;
	if (sp->wseg[seg->lane] == seg)
		sp->wseg[seg->lane] = NULL;
}

/* A new write segment for the lane. */
static struct spool_seg *
seg_create(struct spool *sp, enum spool_lane lane, char *err, size_t errlen)
{
	struct spool_seg	*seg;
	struct spool_cursor	*c = &sp->cur[lane];
	uint8_t			 hdr[SPOOL_SEG_HDR];
	ssize_t			 n;
	int			 e;

	/* one id a segment: only a name found at open uses them up */
	if (sp->next_id >= SPOOL_ID_LIMIT) {
		snprintf(err, errlen, "cannot create a segment: ids are used "
		    "up (a segment is named %016" PRIx64 ")", sp->next_id - 1);
		errno = ENOSPC;
		return NULL;
	}
	if ((seg = sender_spool_seg_alloc(lane, sp->next_id)) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	seg->wfd = openat(sp->dirfd, seg->name, O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (seg->wfd == -1) {
		e = errno;
		snprintf(err, errlen, "cannot create segment %s: %s",
		    seg->name, strerror(e));
		free(seg);
		errno = e;
		return NULL;
	}
	sp->next_id++;
	sender_spool_seg_header(hdr, seg->id);
	while ((n = write(seg->wfd, hdr, sizeof(hdr))) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(hdr)) {
		e = n == -1 ? errno : ENOSPC;
		snprintf(err, errlen, "cannot write segment %s: %s",
		    seg->name, strerror(e));
		(void)close(seg->wfd);
		(void)unlinkat(sp->dirfd, seg->name, 0);
		free(seg);
		errno = e;
		return NULL;
	}
	seg->size = SPOOL_SEG_HDR;
	seg->dirty = 1;
	sp->dirdirty = 1;
	sender_spool_seg_insert(sp, seg);
	sp->wseg[lane] = seg;
	if (c->seg == NULL)
		sender_spool_cur_set(c, seg, SPOOL_SEG_HDR);
	return seg;
}

uint64_t
sender_spool_record_size(const struct points_msg *m)
{
	return SPOOL_REC_HDR + strlen(m->topic) + (uint64_t)m->len;
}

int
sender_spool_room(const struct spool *sp, uint64_t reclen)
{
	/* and the header of a segment it may open */
	return sp->bytes + reclen + SPOOL_SEG_HDR <= sp->maxbytes;
}

int
sender_spool_append(struct spool *sp, enum spool_lane lane,
    const struct points_msg *m, int hold, struct spool_seg **held,
    char *err, size_t errlen)
{
	struct spool_seg	*seg;
	struct spool_cursor	*c = &sp->cur[lane];
	struct iovec		 iov[2];
	size_t			 len, hlen;
	int			 caught, e;

	*held = NULL;
	caught = hold && sender_spool_caught_up(sp);
	buf_reset(&sp->wbuf);
	if (sender_spool_rec_head(&sp->wbuf, &sp->crc, sp->next_seq, lane,
	    m) == -1) {
		snprintf(err, errlen, "cannot encode a record of %zu bytes",
		    m->len);
		errno = ENOMEM;
		return -1;
	}
	/* the header from wbuf, the points from where they are: no copy */
	hlen = sp->wbuf.len;
	len = hlen + m->len;
	/* full: sealed, synced unless all it holds is done already (it
	 * goes at once then) */
	if ((seg = sp->wseg[lane]) != NULL && seg->size > SPOOL_SEG_HDR &&
	    seg->size + len > sp->segmax) {
		if (seg->inmem == 0 && passed(c, seg))
			seg->dirty = 0;
		sender_spool_seg_seal(sp, seg, 1);
	}
	if ((seg = sp->wseg[lane]) == NULL &&
	    (seg = seg_create(sp, lane, err, errlen)) == NULL) {
		sp->st.write_errors++;
		return -1;
	}
	iov[0].iov_base = sp->wbuf.p;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *)m->data;
	iov[1].iov_len = m->len;
	if (util_writev_all(seg->wfd, iov, 2) == -1) {
		e = errno;
		/* nothing of it counts: never half a record */
		if (ftruncate(seg->wfd, (off_t)seg->size) == -1)
			sender_spool_log(sp, "segment %s: cannot cut a failed "
			    "write off: %s", seg->name, strerror(errno));
		snprintf(err, errlen, "writing segment %s: %s", seg->name,
		    strerror(e));
		sp->st.write_errors++;
		/* the next record starts a fresh segment; the records
		 * before this one may have answers waiting for their sync */
		sender_spool_seg_seal(sp, seg, 1);
		sender_spool_gc(sp);
		errno = e;
		return -1;
	}
	seg->size += len;
	sp->bytes += len;
	seg->dirty = 1;
	sp->next_seq++;
	sp->st.written++;
	if (caught) {
		/* nothing older on disk: memory has it, no read back */
		sender_spool_cur_set(c, seg, seg->size);
		seg->inmem++;
		*held = seg;
	}
	sender_spool_gc(sp);
	return 0;
}

uint64_t
sender_spool_last_seq(const struct spool *sp)
{
	return sp->next_seq - 1;
}

void
sender_spool_set_mark(struct spool *sp, uint64_t first_held)
{
	struct spool_rec	 rec;
	uint64_t		 mark = first_held;
	char			 err[8];
	int			 rc;

	/* a record that cannot be read for now may be the next one: the
	 * mark waits */
	if (mark == 0 && (rc = sender_spool_next(sp, &rec, err,
	    sizeof(err))) == -1)
		return;
	if (mark == 0)
		mark = rc == 1 ? rec.seq : sp->next_seq;
	if (mark <= sp->mark || sp->markfd == -1)
		return;
	sp->mark = mark;
	sp->markdirty = 1;
}

void
sender_spool_write_mark(struct spool *sp)
{
	uint8_t		 buf[SPOOL_MARK_LEN];

	if (!sp->markdirty || sp->markfd == -1)
		return;
	sp->markdirty = 0;
	sender_spool_mark_encode(buf, &sp->crc, sp->mark);
	/* no sync: a mark lost to a power failure means duplicates only */
	if (pwrite(sp->markfd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		sender_spool_log(sp, "%s: %s; what was published may be "
		    "published again after a crash", SPOOL_MARK_NAME,
		    strerror(errno));
		(void)close(sp->markfd);
		sp->markfd = -1;
	}
}

/* The cursor of the lane is past all of `seg`. */
static int
passed(const struct spool_cursor *c, const struct spool_seg *seg)
{
	if (c->seg == NULL)
		return 1;
	if (c->seg != seg)
		return seg->id < c->seg->id;
	return c->off >= seg->size;
}

/*
 * All of the write segment is done: it starts again, in place, rather
 * than making way for a new file (creating files after many removals is
 * slow on ext4: it looks for an inode not removed recently).  What a
 * crash leaves of the old records is below the mark; after a power
 * failure that lost the truncation, a stretch of them reads as corrupt.
 */
static void
recycle(struct spool *sp, struct spool_seg *w, struct spool_cursor *c)
{
	if (ftruncate(w->wfd, (off_t)SPOOL_SEG_HDR) == -1) {
		sender_spool_log(sp, "segment %s: cannot empty it: %s",
		    w->name, strerror(errno));
		/* all it holds is published: unsynced does not matter */
		w->dirty = 0;
		sender_spool_seg_seal(sp, w, 0);
		return;
	}
	sp->bytes -= w->size - SPOOL_SEG_HDR;
	w->size = SPOOL_SEG_HDR;
	w->dirty = 1;
	sender_spool_cur_set(c, w, SPOOL_SEG_HDR);
	/* the reading descriptor's offset is past the end now */
	c->fdpos = UINT64_MAX;
}

/* Remove the segments that are done; recycle a write segment that is. */
void
sender_spool_gc(struct spool *sp)
{
	struct spool_seg	*seg, *next, *w;
	struct spool_cursor	*c;
	int			 l;

	for (l = 0; l < SPOOL_LANES; l++) {
		sender_spool_cur_normalize(sp, (enum spool_lane)l);
		c = &sp->cur[l];
		w = sp->wseg[l];
		if (w != NULL && w->inmem == 0 && w->size >= (sp->segmax <
		    SPOOL_RECYCLE ? sp->segmax : SPOOL_RECYCLE) &&
		    passed(c, w))
			recycle(sp, w, c);
		for (seg = TAILQ_FIRST(&sp->lanes[l]); seg != NULL;
		    seg = next) {
			next = TAILQ_NEXT(seg, entry);
			if (seg->wfd == -1 && seg->inmem == 0 &&
			    passed(c, seg))
				sender_spool_seg_remove(sp, seg);
		}
	}
}

void
sender_spool_release(struct spool *sp, struct spool_seg *seg)
{
	if (seg->inmem > 0)
		seg->inmem--;
	if (seg->inmem == 0)
		sender_spool_gc(sp);
}

struct spool_seg *
sender_spool_seg_next(struct spool *sp, enum spool_lane lane,
    struct spool_seg *after)
{
	return after == NULL ? TAILQ_FIRST(&sp->lanes[lane]) :
	    TAILQ_NEXT(after, entry);
}

int
sender_spool_drop(struct spool *sp, struct spool_seg *seg, uint64_t *points,
    char *err, size_t errlen)
{
	struct spool_cursor	*c = &sp->cur[seg->lane];
	uint64_t		 records = 0, from;

	*points = 0;
	if (seg->inmem > 0) {
		snprintf(err, errlen, "segment %s: %u records in memory",
		    seg->name, seg->inmem);
		return -1;
	}
	if (c->seg == seg)
		from = c->off;
	else if (c->seg != NULL && seg->id > c->seg->id)
		from = SPOOL_SEG_HDR;
	else
		from = seg->size;
	sender_spool_count_from(sp, seg, from, &records, points);
	/* it goes: whether it was synced no longer matters */
	seg->dirty = 0;
	sender_spool_seg_seal(sp, seg, 0);
	sender_spool_seg_remove(sp, seg);
	return 0;
}

/* ---- syncing ------------------------------------------------------------ */

/* Written to a segment, or a segment made, since the last sync. */
static int
written_unsynced(const struct spool *sp)
{
	int	 l;

	for (l = 0; l < SPOOL_LANES; l++)
		if (sp->wseg[l] != NULL && sp->wseg[l]->dirty)
			return 1;
	return sp->dirdirty || sp->syncfail[0] != '\0';
}

int
sender_spool_dirty(const struct spool *sp)
{
	return written_unsynced(sp) || sp->markdirty;
}

int
sender_spool_sync_needed(const struct spool *sp)
{
	/*
	 * The mark passes every record written only once the output has
	 * them all; one that cannot be written never moves, so its spool
	 * is always synced.
	 */
	return sp->mark < sp->next_seq && written_unsynced(sp);
}

int
sender_spool_sync(struct spool *sp, char *err, size_t errlen)
{
	struct spool_seg	*seg;
	int			 l, rc = 0;

	sender_spool_write_mark(sp);
	for (l = 0; l < SPOOL_LANES; l++) {
		if ((seg = sp->wseg[l]) == NULL || !seg->dirty)
			continue;
		if (sender_spool_timed_sync(sp, seg->wfd, 1) == -1) {
			snprintf(err, errlen, "fdatasync %s: %s", seg->name,
			    strerror(errno));
			sp->st.write_errors++;
			/* what it holds is not known to be on disk: no
			 * more appends to it (this sync says it failed) */
			seg->dirty = 0;
			sender_spool_seg_seal(sp, seg, 0);
			rc = -1;
			continue;
		}
		seg->dirty = 0;
	}
	if (sp->dirdirty) {
		if (sender_spool_timed_sync(sp, sp->dirfd, 0) == -1) {
			snprintf(err, errlen, "fsync of the directory: %s",
			    strerror(errno));
			sp->st.write_errors++;
			rc = -1;
		} else
			sp->dirdirty = 0;
	}
	if (sp->syncfail[0] != '\0') {
		if (rc == 0)
			snprintf(err, errlen, "%s", sp->syncfail);
		sp->syncfail[0] = '\0';
		rc = -1;
	}
	return rc;
}

/* ---- opening ------------------------------------------------------------ */

void
sender_spool_set_max(struct spool *sp, uint64_t maxbytes)
{
	sp->maxbytes = maxbytes;
	/* eight segments at least, so ageing frees a part of it */
	sp->segmax = maxbytes / 8 < SPOOL_SEG_MAX ? maxbytes / 8 :
	    SPOOL_SEG_MAX;
	if (sp->segmax < 4096)
		sp->segmax = 4096;
}
