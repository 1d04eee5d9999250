/*
 * Internals of the spool, shared by its files (sender_spool.c,
 * sender_spool_read.c, sender_spool_open.c) and by nothing else.
 */
#ifndef AGENT_SENDER_SPOOL_INT_H
#define AGENT_SENDER_SPOOL_INT_H

#include <sys/types.h>

#include "sender_spool.h"

void	 sender_spool_log(struct spool *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
struct spool_seg *sender_spool_seg_alloc(enum spool_lane, uint64_t id);
/* Into its lane's list, in id order, counted. */
void	 sender_spool_seg_insert(struct spool *, struct spool_seg *);
/* Forget a segment and remove its file (a cursor on it moves on). */
void	 sender_spool_seg_remove(struct spool *, struct spool_seg *);
/* No more appends to it; synced first when `sync` and written to. */
void	 sender_spool_seg_seal(struct spool *, struct spool_seg *, int sync);
/* fdatasync (data) or fsync, counted and timed. */
int	 sender_spool_timed_sync(struct spool *, int fd, int data);
/* Remove the segments that are done. */
void	 sender_spool_gc(struct spool *);

/* Read len bytes at off (fewer at the end of the file): bytes or -1. */
ssize_t	 sender_spool_read_at(int fd, uint64_t *fdpos, uint64_t off,
	    void *buf, size_t len);
/*
 * The record at *off of `seg` through `fd`, corruption skipped (counted
 * and logged unless `quiet`) or a torn tail cut (the file too when
 * `truncate`): 1 with rec (into rb), 0 at the end, -1 on I/O error.
 */
int	 sender_spool_read_record(struct spool *, struct spool_seg *, int fd,
	    uint64_t *fdpos, uint64_t *off, struct buf *rb,
	    struct spool_rec *rec, int quiet, int truncate);
void	 sender_spool_cur_close(struct spool_cursor *);
void	 sender_spool_cur_set(struct spool_cursor *, struct spool_seg *,
	    uint64_t off);
/* Past the end of a sealed segment: on to the next one. */
void	 sender_spool_cur_normalize(struct spool *, enum spool_lane);
/* Records and points in [off, size) of seg, from the headers. */
void	 sender_spool_count_from(struct spool *, struct spool_seg *,
	    uint64_t off, uint64_t *records, uint64_t *points);

#endif
