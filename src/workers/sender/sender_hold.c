/*
 * What the file output has written but the disk may not have yet.
 *
 * The spool lets a record go once the output has its points
 * (sender_consume()): for nsqd or InfluxDB, once they answered.  The file
 * output has them once write(2) returned, in the page cache: a power
 * failure before the kernel writes them back (some 30 s) would lose
 * them from the output file and, their records let go, from the spool
 * too, though /post answered 200.  So while the output file holds
 * writes not synced, the records they came from stay in the spool (their
 * segments stay, and the mark does not pass them), and the output file
 * is synced on the spool's schedule: spoolsync ms after the first such
 * write, or at the end of the turn with spoolsync = 0 (sender.c,
 * sync_arm_cb()).  Then they go.
 *
 * A sync of the output file that fails may have lost what it held, and
 * the kernel says so once: the records stay held and the sender ends;
 * the next one publishes again from the spool what the mark had not
 * passed (duplicates in the output, never a loss).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "log.h"
#include "sender.h"
#include "sender_spool.h"

void
sender_hold_output(struct sender *s, int fd)
{
	/* without a spool there is nothing to hold, nor to sync for; nor
	 * for a file its file system cannot sync (said once) */
	if (s->spool != NULL && !s->outsync_failed &&
	    s->nosync_fd != fd)
		s->outsync_fd = fd;
}

int
sender_out_unsynced(const struct sender *s)
{
	return s->outsync_fd != -1;
}

/* Let every record held go: the output has them on disk. */
static void
release_all(struct sender *s)
{
	size_t	 i;

	for (i = 0; i < s->nheld; i++)
		sender_spool_release(s->spool, s->held[i]);
	s->nheld = 0;
	s->held_min = 0;
}

int
sender_hold_batch(struct sender *s, const struct batch *b)
{
	struct spool_seg	**v;
	size_t			  cap;

	if (s->outsync_fd == -1 || b->seg == NULL || s->spool == NULL)
		return 0;
	cap = s->capheld == 0 ? 64 : s->capheld * 2;
	if (s->nheld < s->capheld)
		s->held[s->nheld++] = b->seg;
	else if ((v = reallocarray(s->held, cap, sizeof(*v))) != NULL) {
		s->held = v;
		s->capheld = cap;
		s->held[s->nheld++] = b->seg;
	} else {
		/* no room to remember it: the output on disk now */
		log_warnx("%s: out of memory: the output is synced early",
		    __func__);
		if (sender_out_sync(s) == 0)
			return 0;
		/*
		 * The sync failed, and the sender ends: its record stays in
		 * the spool (its segment with it, never released), the mark
		 * before it, for the next one.
		 */
	}
	if (s->held_min == 0 || b->seq < s->held_min)
		s->held_min = b->seq;
	return 1;
}

uint64_t
sender_hold_mark(const struct sender *s, uint64_t first)
{
	if (s->held_min == 0)
		return first;
	/* records not read yet are younger than any that was in memory */
	return first == 0 || s->held_min < first ? s->held_min : first;
}

int
sender_out_sync(struct sender *s)
{
	int	 fd = s->outsync_fd;

	if (s->outsync_failed)
		return -1;
	if (fd == -1)
		return 0;
	while (fdatasync(fd) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EINVAL || errno == ENOTSUP) {
			/*
			 * A file system that cannot sync: as before, and said
			 * once for this file rather than at every sync (a
			 * line a turn with spoolsync = 0).
			 */
			log_warn("%s: %s cannot be synced; points it takes are "
			    "let go from the spool unsynced", __func__,
			    s->w->conf.path);
			s->nosync_fd = fd;
			break;
		}
		log_warn("%s: fdatasync of %s: what it took since its last "
		    "sync may be lost; the sender restarts to publish it "
		    "again from the spool", __func__, s->w->conf.path);
		snprintf(s->last_error, sizeof(s->last_error), "fdatasync of "
		    "%s: %s", s->w->conf.path, strerror(errno));
		/* held for good: the next sender starts from the mark */
		s->outsync_fd = -1;
		s->outsync_failed = 1;
		worker_exit(s->w, 1);
		return -1;
	}
	s->outsync_fd = -1;
	release_all(s);
	sender_set_mark(s);
	sender_spool_write_mark(s->spool);
	return 0;
}
