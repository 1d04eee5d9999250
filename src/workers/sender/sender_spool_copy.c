/*
 * Copying what a spool has not read back yet into another one, without
 * moving its cursors or taking anything (sender_spool_copy_unread()): a
 * reload that moves the spool copies first and lets go of the old copies
 * only once the new spool has them all, synced (sender_switch.c).
 *
 * Each lane is walked with a descriptor of its own from where its cursor
 * stands; the two walks are merged by sequence number, as reading back
 * would, so the new spool publishes them in the same order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "sender_spool_int.h"

struct walk {
	struct spool_seg	*seg;
	uint64_t		 off;
	int			 fd;
	uint64_t		 fdpos;
	struct buf		 rb;
	struct spool_rec	 rec;
	int			 have;
};

/* The walk's next record not published yet into w->rec: 0, -1 on error. */
static int
walk_peek(struct spool *sp, struct walk *w, char *err, size_t errlen)
{
	int	 rc;

	while (!w->have && w->seg != NULL) {
		if (w->off >= w->seg->size) {
			if (w->fd != -1)
				(void)close(w->fd);
			w->fd = -1;
			w->seg = TAILQ_NEXT(w->seg, entry);
			w->off = SPOOL_SEG_HDR;
			continue;
		}
		if (w->fd == -1) {
			w->fd = openat(sp->dirfd, w->seg->name, O_RDONLY |
			    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			w->fdpos = 0;
		}
		rc = w->fd == -1 ? -1 : sender_spool_read_record(sp, w->seg,
		    w->fd, &w->fdpos, &w->off, &w->rb, &w->rec, 1, 0);
		if (rc == -1) {
			snprintf(err, errlen, "reading segment %s at offset "
			    "%llu: %s", w->seg->name,
			    (unsigned long long)w->off, strerror(errno));
			return -1;
		}
		if (rc == 0)
			continue;
		if (w->rec.seq < sp->mark) {
			/* published before a crash: not again */
			w->off += w->rec.reclen;
			continue;
		}
		w->have = 1;
	}
	return 0;
}

int
sender_spool_copy_unread(struct spool *from, struct spool *to,
    uint64_t *records, void (*tick)(void *, uint64_t), void *arg, char *err,
    size_t errlen)
{
	struct walk		 w[SPOOL_LANES];
	struct points_msg	 m;
	struct spool_seg	*held;
	struct walk		*best;
	int			 l, rc = 0;

	*records = 0;
	memset(w, 0, sizeof(w));
	for (l = 0; l < SPOOL_LANES; l++) {
		w[l].seg = from->cur[l].seg;
		w[l].off = from->cur[l].off;
		w[l].fd = -1;
		buf_init(&w[l].rb);
	}
	for (;;) {
		best = NULL;
		for (l = 0; l < SPOOL_LANES && rc == 0; l++) {
			rc = walk_peek(from, &w[l], err, errlen);
			if (rc == 0 && w[l].have && (best == NULL ||
			    w[l].rec.seq < best->rec.seq))
				best = &w[l];
		}
		if (rc == -1 || best == NULL)
			break;
		memset(&m, 0, sizeof(m));
		m.fmt = best->rec.fmt;
		strlcpy(m.topic, best->rec.topic, sizeof(m.topic));
		m.npoints = best->rec.npoints;
		m.data = best->rec.data;
		m.len = best->rec.len;
		if ((rc = sender_spool_append(to, best->rec.lane, &m, 0, &held,
		    err, errlen)) == -1)
			break;
		best->off += best->rec.reclen;
		best->have = 0;
		(*records)++;
		if (tick != NULL)
			tick(arg, *records);
	}
	for (l = 0; l < SPOOL_LANES; l++) {
		if (w[l].fd != -1)
			(void)close(w[l].fd);
		buf_free(&w[l].rb);
	}
	return rc;
}

void
sender_spool_discard_from(struct spool *sp, uint64_t first_id)
{
	struct spool_seg	*seg, *next;
	int			 l;

	for (l = 0; l < SPOOL_LANES; l++)
		for (seg = TAILQ_FIRST(&sp->lanes[l]); seg != NULL;
		    seg = next) {
			next = TAILQ_NEXT(seg, entry);
			if (seg->id < first_id || seg->inmem > 0)
				continue;
			/* none of it was ever answered for here */
			seg->dirty = 0;
			sender_spool_seg_seal(sp, seg, 0);
			sender_spool_seg_remove(sp, seg);
		}
}

int
sender_spool_moving_begin(struct spool *sp, uint64_t first_id, char *err,
    size_t errlen)
{
	char	 text[SPOOL_MARK_LEN + 2];
	int	 fd, n;

	n = snprintf(text, sizeof(text), "%016llx\n",
	    (unsigned long long)first_id);
	fd = openat(sp->dirfd, SPOOL_MOVING_NAME, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, text, (size_t)n) != n ||
	    sender_spool_timed_sync(sp, fd, 1) == -1 ||
	    sender_spool_timed_sync(sp, sp->dirfd, 0) == -1) {
		snprintf(err, errlen, "%s/%s: %s", sp->path, SPOOL_MOVING_NAME,
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		(void)unlinkat(sp->dirfd, SPOOL_MOVING_NAME, 0);
		return -1;
	}
	(void)close(fd);
	return 0;
}

int
sender_spool_moving_end(struct spool *sp, char *err, size_t errlen)
{
	if (unlinkat(sp->dirfd, SPOOL_MOVING_NAME, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot remove %s/%s: %s", sp->path,
		    SPOOL_MOVING_NAME, strerror(errno));
		return -1;
	}
	/* a power failure must not bring it back over a copy in use */
	if (sender_spool_timed_sync(sp, sp->dirfd, 0) == -1) {
		snprintf(err, errlen, "fsync of %s: %s", sp->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}
