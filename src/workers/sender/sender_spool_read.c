/*
 * Reading the spool back (sender_spool.h): a cursor per lane, records in
 * sequence order across the lanes, corruption skipped or cut.  Reads are
 * read(2) at a tracked offset, with lseek only when it moved.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/param.h>
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

/* ---- reading ---------------------------------------------------------- */

/* Read len bytes at off (fewer at the end of the file): bytes or -1. */
ssize_t
sender_spool_read_at(int fd, uint64_t *fdpos, uint64_t off, void *buf,
    size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	if (*fdpos != off) {
		if (lseek(fd, (off_t)off, SEEK_SET) == -1)
			return -1;
		*fdpos = off;
	}
	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* where the file offset is now is not known */
			*fdpos = UINT64_MAX;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		*fdpos += (uint64_t)n;
	}
	return (ssize_t)got;
}

/* Cut the segment's file at `off` (a torn tail). */
static void
seg_truncate(struct spool *sp, struct spool_seg *seg, uint64_t off)
{
	int	 fd;

	fd = seg->wfd != -1 ? seg->wfd : openat(sp->dirfd, seg->name,
	    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || ftruncate(fd, (off_t)off) == -1)
		sender_spool_log(sp, "segment %s: cannot cut it at offset "
		    "%" PRIu64 ": %s", seg->name, off, strerror(errno));
	if (fd != -1 && fd != seg->wfd)
		(void)close(fd);
	sp->bytes -= seg->size - off;
	seg->size = off;
}

/*
 * How much of a segment a search for the next good record reads at a
 * time.  The whole rest of the segment at once made the search cost the
 * segment's size for every corrupt stretch in it: an 8 MiB segment with
 * every other record corrupt took 41 s to read back.
 */
#ifndef RESYNC_WINDOW		/* the fuzz build's is small (tests/fuzz) */
#define RESYNC_WINDOW	(64U * 1024)
#endif

/*
 * *off holds no good record: find the next one in the segment, a window
 * at a time; a candidate longer than what its window holds gets a
 * window of its own.  One follows: the bytes before it are skipped
 * (counted and logged unless `quiet`), *off moves to it.  None does: a
 * torn tail, cut off (the file too when `truncate`).  -1 when the
 * segment cannot be read.
 */
static int
resync(struct spool *sp, struct spool_seg *seg, int fd, uint64_t *fdpos,
    uint64_t *off, struct buf *rb, int quiet, int truncate)
{
	struct spool_rec	 rec;
	const uint8_t		*p;
	uint64_t		 start = *off, base = start;
	size_t			 want, len, at, from = 1;
	uint32_t		 rlen;
	ssize_t			 n;

	want = (size_t)MIN(seg->size - base, RESYNC_WINDOW);
	while (base < seg->size) {
		buf_reset(rb);
		if (buf_reserve(rb, want) == -1)
			return -1;
		if ((n = sender_spool_read_at(fd, fdpos, base, rb->p,
		    want)) == -1)
			return -1;
		len = (size_t)n;
		p = (const uint8_t *)rb->p;
		for (at = sender_spool_rec_find(p, len, from); at < len;
		    at = sender_spool_rec_find(p, len, at + 1)) {
			/* its header goes on past the window: the next one */
			if (len - at < SPOOL_REC_HDR)
				break;
			if ((rlen = sender_spool_rec_len(p + at)) == 0 ||
			    rlen > seg->size - (base + at))
				continue;
			if (rlen > len - at) {
				/* read short of what it was asked: no more */
				if (at == 0 && want >= rlen)
					continue;
				break;
			}
			if (sender_spool_rec_check(&sp->crc, p + at, rlen,
			    &rec) == -1)
				continue;
			if (!quiet) {
				sp->st.skipped++;
				sender_spool_log(sp, "segment %s: %" PRIu64
				    " corrupt bytes at offset %" PRIu64
				    " skipped; the points in them are lost",
				    seg->name, base + at - start, start);
			}
			*off = base + at;
			return 0;
		}
		if (at < len && len - at >= SPOOL_REC_HDR) {
			/* a candidate longer than the window: its own */
			base += at;
			want = sender_spool_rec_len(p + at);
			from = 0;
			continue;
		}
		/* the file ends here, or is shorter than the segment says */
		if (base + len >= seg->size || len < want)
			break;
		/* on from the first place this window held no header of */
		base += at < len ? at : len - (SPOOL_REC_HDR - 1);
		want = (size_t)MIN(seg->size - base, RESYNC_WINDOW);
		from = 0;
	}
	sp->st.cut++;
	sender_spool_log(sp, "segment %s: torn record at offset %" PRIu64 " (%"
	    PRIu64 " bytes) cut off: a write was interrupted", seg->name,
	    start, seg->size - start);
	if (truncate)
		seg_truncate(sp, seg, start);
	else {
		sp->bytes -= seg->size - start;
		seg->size = start;
	}
	return 0;
}

/*
 * The record at *off in `seg` (corruption skipped or cut on the way):
 * 1 with rec (into rb), 0 at the end of the segment, -1 on I/O error.
 */
int
sender_spool_read_record(struct spool *sp, struct spool_seg *seg, int fd,
    uint64_t *fdpos, uint64_t *off, struct buf *rb, struct spool_rec *rec,
    int quiet, int truncate)
{
	uint8_t		 hdr[SPOOL_REC_HDR];
	uint32_t	 len;
	ssize_t		 n;

	while (*off < seg->size) {
		if (seg->size - *off >= SPOOL_REC_HDR) {
			if ((n = sender_spool_read_at(fd, fdpos, *off, hdr,
			    sizeof(hdr))) == -1)
				return -1;
			len = (size_t)n == sizeof(hdr) ?
			    sender_spool_rec_len(hdr) : 0;
			if (len != 0 && len <= seg->size - *off) {
				buf_reset(rb);
				if (buf_reserve(rb, len) == -1)
					return -1;
				memcpy(rb->p, hdr, sizeof(hdr));
				if ((n = sender_spool_read_at(fd, fdpos,
				    *off + sizeof(hdr), rb->p + sizeof(hdr),
				    len - sizeof(hdr))) == -1)
					return -1;
				if ((size_t)n == len - sizeof(hdr) &&
				    sender_spool_rec_check(&sp->crc,
				    (const uint8_t *)rb->p, len, rec) == 0) {
					rec->seg = seg;
					return 1;
				}
			}
		}
		if (resync(sp, seg, fd, fdpos, off, rb, quiet,
		    truncate) == -1)
			return -1;
	}
	return 0;
}

void
sender_spool_cur_close(struct spool_cursor *c)
{
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	c->peeked = 0;
}

void
sender_spool_cur_set(struct spool_cursor *c, struct spool_seg *seg,
    uint64_t off)
{
	if (c->seg != seg)
		sender_spool_cur_close(c);
	if (c->seg != seg || c->off != off)
		c->eio_tries = 0;
	c->seg = seg;
	c->off = off;
	c->peeked = 0;
}

/* Past the end of a sealed segment: on to the next one. */
void
sender_spool_cur_normalize(struct spool *sp, enum spool_lane lane)
{
	struct spool_cursor	*c = &sp->cur[lane];
	struct spool_seg	*next;

	while (c->seg != NULL && c->off >= c->seg->size &&
	    c->seg->wfd == -1 && (next = TAILQ_NEXT(c->seg, entry)) != NULL)
		sender_spool_cur_set(c, next, SPOOL_SEG_HDR);
}

/*
 * The process is short of something for now (descriptors, memory): the
 * segment is not at fault, and is read again later.
 */
static int
for_now(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM;
}

/*
 * EIO is tried again SPOOL_EIO_TRIES times, a refill apart (a second):
 * a storage hiccup (a multipath failover, a network block device that
 * reconnects) passes, and the records it hid were answered 200.  A bad
 * sector does not pass, and the rest of the segment goes as before.
 */
#define SPOOL_EIO_TRIES	10

/*
 * The lane's next record into its cursor: 1, or 0 when none waits, or -1
 * (errno) when it cannot be read for now: the cursor stays where it is.
 */
static int
cur_peek(struct spool *sp, enum spool_lane lane)
{
	struct spool_cursor	*c = &sp->cur[lane];
	struct spool_seg	*seg;
	int			 rc, e;

	while (!c->peeked) {
		sender_spool_cur_normalize(sp, lane);
		if ((seg = c->seg) == NULL || c->off >= seg->size)
			return 0;
		if (c->fd == -1) {
			c->fd = openat(sp->dirfd, seg->name, O_RDONLY |
			    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			c->fdpos = 0;
		}
		rc = c->fd == -1 ? -1 : sender_spool_read_record(sp, seg, c->fd,
		    &c->fdpos, &c->off, &c->rbuf, &c->rec, 0, 0);
		if (rc >= 0)
			c->eio_tries = 0;
		if (rc == 1 && c->rec.seq < sp->mark) {
			/* published before a crash: not again */
			c->off += c->rec.reclen;
			continue;
		}
		if (rc == 1) {
			c->peeked = 1;
			break;
		}
		if (rc == 0)
			continue;
		if (for_now(errno) || (errno == EIO &&
		    ++c->eio_tries <= SPOOL_EIO_TRIES)) {
			/* not (yet) the segment's fault: read later */
			e = errno;
			sender_spool_cur_close(c);
			errno = e;
			return -1;
		}
		/* never stuck on it, never crashed by it: the rest goes */
		e = errno;
		sp->st.skipped++;
		sender_spool_log(sp, "segment %s: cannot read it at offset "
		    "%" PRIu64 ": %s%s; the rest of it is lost", seg->name,
		    c->off, strerror(e), e == EIO ? ", read after read" : "");
		c->eio_tries = 0;
		sp->bytes -= seg->size - c->off;
		seg->size = c->off;
		/* appends would go past what counts: a new segment takes
		 * them; the cursor moves on, and the segment goes once its
		 * records in memory are done */
		sender_spool_seg_seal(sp, seg, 0);
		sender_spool_gc(sp);
	}
	return 1;
}

int
sender_spool_caught_up(struct spool *sp)
{
	struct spool_cursor	*c;
	int			 l;

	for (l = 0; l < SPOOL_LANES; l++) {
		sender_spool_cur_normalize(sp, (enum spool_lane)l);
		c = &sp->cur[l];
		if (c->seg != NULL && c->off < c->seg->size)
			return 0;
	}
	return 1;
}

int
sender_spool_next(struct spool *sp, struct spool_rec *rec, char *err,
    size_t errlen)
{
	int	 l, best = -1, rc;

	for (l = 0; l < SPOOL_LANES; l++) {
		if ((rc = cur_peek(sp, (enum spool_lane)l)) == -1) {
			/* the oldest may be the one not read: none now */
			snprintf(err, errlen, "reading segment %s at offset "
			    "%" PRIu64 ": %s", sp->cur[l].seg->name,
			    sp->cur[l].off, strerror(errno));
			return -1;
		}
		if (rc == 1 && (best == -1 ||
		    sp->cur[l].rec.seq < sp->cur[best].rec.seq))
			best = l;
	}
	if (best == -1)
		return 0;
	sp->picked = best;
	*rec = sp->cur[best].rec;
	return 1;
}

void
sender_spool_take(struct spool *sp)
{
	struct spool_cursor	*c = &sp->cur[sp->picked];

	if (!c->peeked)
		return;
	c->off += c->rec.reclen;
	c->peeked = 0;
	c->rec.seg->inmem++;
	sp->st.replayed++;
}

/* Records and points in [off, size) of seg, from the headers. */
void
sender_spool_count_from(struct spool *sp, struct spool_seg *seg, uint64_t off,
    uint64_t *records, uint64_t *points)
{
	uint8_t		 hdr[SPOOL_REC_HDR];
	uint64_t	 pos = 0;
	uint32_t	 len;
	int		 fd;

	if (off >= seg->size || (fd = openat(sp->dirfd, seg->name, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return;
	while (off + SPOOL_REC_HDR <= seg->size &&
	    sender_spool_read_at(fd, &pos, off, hdr, sizeof(hdr)) ==
	    (ssize_t)sizeof(hdr) &&
	    (len = sender_spool_rec_len(hdr)) != 0 &&
	    len <= seg->size - off) {
		if (sender_spool_rec_seq(hdr) >= sp->mark) {
			(*records)++;
			*points += sender_spool_rec_npoints(hdr);
		}
		off += len;
	}
	(void)close(fd);
}

void
sender_spool_unread(struct spool *sp, uint64_t *records, uint64_t *points)
{
	struct spool_cursor	*c;
	struct spool_seg	*seg;
	int			 l;

	*records = *points = 0;
	for (l = 0; l < SPOOL_LANES; l++) {
		c = &sp->cur[l];
		for (seg = c->seg; seg != NULL; seg = TAILQ_NEXT(seg, entry))
			sender_spool_count_from(sp, seg, seg == c->seg ?
			    c->off : SPOOL_SEG_HDR, records, points);
	}
}
