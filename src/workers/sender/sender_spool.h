/*
 * The sender's spool: the points it accepted, on disk, so that a crash of
 * any process of the agent (or of the whole agent) loses none of what it
 * answered 200 for, and a power failure at most `spoolsync` ms of it.
 *
 * Layout: a directory (owned by the sender's user, mode 0700, locked with
 * flock while a sender uses it) of append-only segment files, one lane
 * each: "p-<id>.seg" holds pushed points (/post, /write), "s-<id>.seg"
 * scheduled ones (plugins, collectors), so that scheduled points can age
 * out a whole segment at a time while pushed ones never do.  <id> is 16
 * hex digits, growing across both lanes from 1, below SPOOL_ID_LIMIT: a
 * name past it is none the spool made (it is left alone, logged), and
 * ids used up, no segment is made (appends fail, as on a full disk).
 *
 * A segment: a 16-byte header ("AGSPOOL\1" and its id, little endian),
 * then records, each the points of one MSG_POINTS as the producer encoded
 * them:
 *
 *	off  size
 *	  0     4   magic "AGSR"
 *	  4     4   length of the whole record, header included
 *	  8     4   CRC32C of the whole record with this field as 0
 *	 12     4   points
 *	 16     8   sequence number, growing across both lanes
 *	 24     1   format (enum out_format)
 *	 25     1   lane (enum spool_lane)
 *	 26     1   topic length, 1..TOPIC_MAX
 *	 27     1   0
 *	 28         topic, then the points ('\n' between them)
 *
 * All integers little endian.  A record that fails any check (magic,
 * length, fields, CRC, point count) is corrupt: the reader looks for the
 * next record that passes them all.  When one follows, the bytes between
 * are skipped, counted and logged with the segment and offset; when none
 * does, the rest of the segment is a torn tail (a crash in the middle of
 * a write) and is cut off, counted.
 *
 * Life of a segment: the lane's write segment takes appends until the
 * next record would take it over its size limit (spoolbytes / 8, at most
 * 8 MiB), then it is synced, closed ("sealed") and a new one begins.  A
 * segment is removed once all its records have been read back or held in
 * memory and each has left memory (published or dropped).  A write
 * segment whose records are all gone so starts again (truncated) once it
 * is 1 MiB or more, so that the spool of an output that keeps up stays
 * small and mostly never reaches the disk.  A sender always starts a new
 * write segment; the segments found at start are read back (replayed),
 * oldest record first.
 *
 * The mark: the file "mark" holds the sequence number below which every
 * record is published (or dropped): the first one still held in memory,
 * or else the next one to read back.  The sender moves it on as requests
 * are published; the file follows at the end of the sender's turn of the
 * loop, with a sync, and at close (a pwrite, no sync), once for all the
 * requests of the turn: records below the mark written are not published
 * again after a crash, and those a crash kept from it, or a power
 * failure took, are published twice.
 * 16 bytes: "AGSM", CRC32C of the number, the number (64 bits).
 *
 * Memory in front of disk: the sender holds a window of records in
 * memory (its buffer).  A record appended while nothing older waits on
 * disk, and while the window has room, is held at once and never read
 * back; otherwise it is read back, in sequence order across the two
 * lanes, when the window has room (sender_spool_next(), _take()).
 *
 * Nothing here uses the event loop or the log; it reports through err and
 * its counters, and sender_spool_log() lines the caller may log.
 */
#ifndef AGENT_SENDER_SPOOL_H
#define AGENT_SENDER_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <bsd/sys/queue.h>

#include "buf.h"
#include "encode.h"
#include "points_msg.h"
#include "sender_crc32c.h"

#define SPOOL_SEG_HDR		16
#define SPOOL_REC_HDR		28
/* a record holds one MSG_POINTS: the front's are up to 24 MiB */
#define SPOOL_REC_MAX		(32U * 1024 * 1024)
#define SPOOL_SEG_MAX		(8U * 1024 * 1024)
#define SPOOL_RECYCLE		(1U * 1024 * 1024)
#define SPOOL_NAME_LEN		24	/* "p-0123456789abcdef.seg" */
/* segment ids stay below: the next after a larger one could wrap to 0 */
#define SPOOL_ID_LIMIT		(UINT64_C(1) << 63)
#define SPOOL_MARK_NAME		"mark"
#define SPOOL_MOVING_NAME	"moving"	/* a copy into it under way */
#define SPOOL_MARK_LEN		16
/*
 * Sequence numbers skipped after a segment that could not be read at
 * open: more than a spool can have written since the mark (records of
 * 30 bytes at least, aged out or not), far fewer than 64 bits hold.
 */
#define SPOOL_SEQ_LEAP		(UINT64_C(1) << 40)

enum spool_lane {
	SPOOL_PUSHED = 0,
	SPOOL_SCHEDULED,
	SPOOL_LANES
};

struct spool;

struct spool_seg {
	TAILQ_ENTRY(spool_seg)	 entry;
	uint64_t		 id;
	enum spool_lane		 lane;
	uint64_t		 size;		/* bytes of it that count */
	int			 wfd;		/* appends go here; -1 once
						 * sealed */
	int			 dirty;		/* written, not synced */
	uint32_t		 inmem;		/* its records held in memory */
	char			 name[SPOOL_NAME_LEN];
};
TAILQ_HEAD(spool_segq, spool_seg);

/* A record read back; data and topic point into the spool until the
 * next call on it. */
struct spool_rec {
	uint64_t		 seq;
	enum out_format		 fmt;
	enum spool_lane		 lane;
	uint32_t		 npoints;
	char			 topic[TOPIC_MAX + 1];
	const char		*data;
	size_t			 len;
	uint64_t		 reclen;	/* on disk, header included */
	struct spool_seg	*seg;
};

/* Where a lane is read from: the first record not yet in memory. */
struct spool_cursor {
	struct spool_seg	*seg;		/* NULL: the lane has none */
	uint64_t		 off;
	int			 fd;		/* open on seg, or -1 */
	uint64_t		 fdpos;		/* fd's file offset */
	int			 peeked;	/* rec is the record at off */
	unsigned		 eio_tries;	/* reads at off that failed
						 * with EIO, in a row */
	struct spool_rec	 rec;
	struct buf		 rbuf;		/* rec's bytes */
};

struct spool_stats {
	uint64_t	 written;	/* records appended */
	uint64_t	 replayed;	/* records read back from disk */
	uint64_t	 cut;		/* torn tails cut off */
	uint64_t	 skipped;	/* corrupt stretches skipped */
	uint64_t	 syncs;		/* fdatasync/fsync rounds */
	uint64_t	 sync_usec;	/* time spent in them */
	uint64_t	 write_errors;	/* appends or syncs that failed */
};

/* A line for the log the caller should write (corruption found). */
typedef void	(*spool_log_fn)(const char *msg, void *arg);

struct spool {
	int			 dirfd;
	char			 path[1024];
	uint64_t		 maxbytes;	/* spoolbytes */
	uint64_t		 segmax;
	struct spool_segq	 lanes[SPOOL_LANES];
	struct spool_seg	*wseg[SPOOL_LANES];
	struct spool_cursor	 cur[SPOOL_LANES];
	int			 picked;	/* lane of the last next() */
	uint64_t		 next_seq;
	uint64_t		 next_id;
	uint64_t		 mark;		/* below it all is done */
	int			 markfd;
	int			 markdirty;	/* moved on, not written */
	uint64_t		 bytes;		/* of every segment */
	uint32_t		 nsegs;
	int			 dirdirty;	/* a segment was created */
	char			 syncfail[160];	/* a segment closed unsynced
						 * since the last sync: why */
	struct buf		 wbuf;		/* the record being appended */
	struct crc32c		 crc;
	struct spool_stats	 st;
	spool_log_fn		 log;
	void			*logarg;
};

/*
 * Open (and lock) the spool in `path`, which must be a directory owned by
 * the effective uid and not writable by group or others; look at what it
 * holds (the newest segment of each lane is read through, and a torn
 * tail cut).  -1 with a reason in err when it cannot be used at all.
 */
int	 sender_spool_open(struct spool **, const char *path,
	    uint64_t maxbytes, spool_log_fn, void *logarg, char *err,
	    size_t errlen);
/*
 * Sync what is written, remove the segments that are done, unlock, free.
 * A record held in memory and not released counts as not done.  NULL is
 * fine.
 */
void	 sender_spool_close(struct spool *);
/* New spoolbytes (segments already made keep their size). */
void	 sender_spool_set_max(struct spool *, uint64_t maxbytes);

/* Bytes a record of these points takes on disk. */
uint64_t sender_spool_record_size(const struct points_msg *);
/* 1 when a record of `reclen` bytes fits within spoolbytes. */
int	 sender_spool_room(const struct spool *, uint64_t reclen);

/*
 * Append the points as a record of `lane` (the write(2) returned when this
 * does).  `hold`: the caller will keep it in memory if it may, that is if
 * nothing older waits on disk; then *held is its segment (whose inmem
 * counts it), else NULL.  -1 with errno and a reason in err: nothing of it
 * counts (a partial write is cut off again).
 */
int	 sender_spool_append(struct spool *, enum spool_lane,
	    const struct points_msg *, int hold, struct spool_seg **held,
	    char *err, size_t errlen);
/* The sequence number of the record appended last. */
uint64_t sender_spool_last_seq(const struct spool *);
/* 1 when no record waits on disk to be read back. */
int	 sender_spool_caught_up(struct spool *);

/*
 * The oldest record (by sequence number, over both lanes) not yet in
 * memory: 1 and `rec`, 0 when there is none, -1 with err when a segment
 * cannot be read for now (the process is out of descriptors or memory):
 * nothing moved, ask again later.  A segment that cannot be read for
 * another reason (EIO) is given up from there on, counted and logged.
 * Asking again without _take() gives the same record.
 */
int	 sender_spool_next(struct spool *, struct spool_rec *, char *err,
	    size_t errlen);
/* The record of the last _next() is now held in memory. */
void	 sender_spool_take(struct spool *);
/* One record of `seg` left memory (published or dropped): segments that
 * are done are removed. */
void	 sender_spool_release(struct spool *, struct spool_seg *);

/*
 * The oldest segment of `lane` after `after` (NULL: from the first), to
 * walk the candidates for ageing out.
 */
struct spool_seg *sender_spool_seg_next(struct spool *, enum spool_lane,
	    struct spool_seg *after);
/*
 * Remove a segment none of whose records is in memory (inmem == 0): its
 * records not read back yet are lost, and *points says how many points
 * they held.  0, or -1 with err when it could not be removed.
 */
int	 sender_spool_drop(struct spool *, struct spool_seg *,
	    uint64_t *points, char *err, size_t errlen);

/*
 * Move the mark on: `first_held` is the sequence number of the oldest
 * record held in memory, 0 when none is (the next one on disk, or the
 * next one to be written, then).
 */
void	 sender_spool_set_mark(struct spool *, uint64_t first_held);

/* The mark to its file now, when it moved on. */
void	 sender_spool_write_mark(struct spool *);

/* 1 when something was written or made, or the mark moved on, since the
 * last sync. */
int	 sender_spool_dirty(const struct spool *);
/*
 * 1 when a sync would keep something from a power failure: written or
 * made since the last sync, and a record written is not yet published
 * (or dropped).  Once the mark has passed every record written, the
 * output has them and the bytes on disk matter no more (a crash would
 * not publish them again either); the next sync, for later records,
 * takes them along.
 */
int	 sender_spool_sync_needed(const struct spool *);
/* Write the mark, fdatasync the written segments (and fsync the
 * directory after a new one): 0, or -1 with err.  -1 too when a segment
 * was closed since the last sync while what it held was not synced (a
 * failed write or fdatasync sealed it): the answers held for this sync
 * cannot know their records are on disk. */
int	 sender_spool_sync(struct spool *, char *err, size_t errlen);

/*
 * Append to `to` a copy of every record of `from` not read back yet, in
 * sequence order, without moving from's cursors or taking anything
 * (sender_spool_copy.c): *records copied.  -1 with err on a read or write
 * error; what was copied stays in `to`.  `tick` (may be NULL) is called
 * after each record with the count so far: a copy of gigabytes takes
 * long, and the sender must show it is alive.
 */
int	 sender_spool_copy_unread(struct spool *from, struct spool *to,
	    uint64_t *records, void (*tick)(void *, uint64_t), void *arg,
	    char *err, size_t errlen);
/* Remove the segments numbered first_id or more that hold nothing in
 * memory: what a failed copy left in a spool about to be closed. */
void	 sender_spool_discard_from(struct spool *, uint64_t first_id);

/*
 * A copy into this spool begins at segment first_id: said on disk
 * (SPOOL_MOVING_NAME, synced) before a record is copied, so that a
 * sender that dies during the copy leaves a partial copy the next open
 * removes (sender_spool_open()), instead of one published twice once
 * the move is made again.  0, or -1 with err (then no copy: the
 * directory takes no file).
 */
int	 sender_spool_moving_begin(struct spool *, uint64_t first_id,
	    char *err, size_t errlen);
/*
 * The copy is whole (and synced), or was discarded: the mark goes, for
 * good (the directory synced).  -1 with err when that cannot be made
 * sure of: the mark may stay, and the next open would remove the copy,
 * so a whole copy must not be relied on then.
 */
int	 sender_spool_moving_end(struct spool *, char *err, size_t errlen);

/*
 * What the spool still holds that is not in memory (records, their
 * points and bytes), read from the record headers.
 */
void	 sender_spool_unread(struct spool *, uint64_t *records,
	    uint64_t *points);

/* sender_spool_seg.c: the record format, pure. */
void	 sender_spool_seg_header(uint8_t out[SPOOL_SEG_HDR], uint64_t id);
int	 sender_spool_seg_header_ok(const uint8_t in[SPOOL_SEG_HDR]);
/* The record's header and topic, its CRC over the points too, appended
 * to `b` (the points follow it on disk): 0, or -1 (memory). */
int	 sender_spool_rec_head(struct buf *, const struct crc32c *,
	    uint64_t seq, enum spool_lane, const struct points_msg *);
/* The whole record of these points, appended to `b`: 0, or -1. */
int	 sender_spool_rec_encode(struct buf *, const struct crc32c *,
	    uint64_t seq, enum spool_lane, const struct points_msg *);
/*
 * From the first SPOOL_REC_HDR bytes: the record's length, or 0 when
 * the header cannot start a record.
 */
uint32_t sender_spool_rec_len(const uint8_t *hdr);
/* A whole record checked (CRC, fields, point count): 0 and `out`
 * pointing into `p`, or -1. */
int	 sender_spool_rec_check(const struct crc32c *, const uint8_t *p,
	    size_t len, struct spool_rec *out);
/* Fields of a record header (sender_spool_rec_len() said it is one). */
uint64_t sender_spool_rec_seq(const uint8_t *hdr);
uint32_t sender_spool_rec_npoints(const uint8_t *hdr);
void	 sender_spool_mark_encode(uint8_t out[SPOOL_MARK_LEN],
	    const struct crc32c *, uint64_t seq);
int	 sender_spool_mark_decode(const uint8_t in[SPOOL_MARK_LEN],
	    const struct crc32c *, uint64_t *seq);
/* The offset in p[0..len) of the first byte that may start a record
 * (the magic), from `from` on; len when there is none. */
size_t	 sender_spool_rec_find(const uint8_t *p, size_t len, size_t from);

#endif
