/*
 * The sender's state and the interface of its outputs (sinks).  The
 * buffer holds batches of encoded points as producers sent them; the
 * sender cuts messages of up to `batchpoints` points (and `messagebytes`
 * bytes) of one topic and format from its head, and hands the sink a
 * request of one or more of them (several only within `requestbytes`
 * and `requestmessages`, all of one topic: nsqd's MPUB is per topic).
 * The points of a request leave the buffer only when the sink reports
 * the whole request published.
 *
 * With a spool ([output] spool, sender_spool.h) every batch is written
 * to disk before it is accepted, and the buffer is a window on the
 * spool: the oldest records not yet published, read back from disk when
 * they did not fit in memory as they came.  Files: sender.c (the worker:
 * messages, counters, reload, stop), sender_buffer.c (taking points in,
 * the window, ageing out), sender_out.c (requests to the sink and its
 * reports, the limits learned from the output), sender_switch.c (a new
 * spool on reload), sender_cut.c (cutting requests).
 */
#ifndef AGENT_SENDER_H
#define AGENT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <bsd/sys/queue.h>

#include <ev.h>

#include "buf.h"
#include "curl_dl.h"
#include "encode.h"
#include "metrics.h"
#include "points_msg.h"
#include "sender_peer.h"
#include "warn_limit.h"
#include "workers/worker.h"

struct sender;

/*
 * Room for the envelope around the points of a json message (database,
 * retentionPolicy, precision; the topic is counted apart).
 */
#define SENDER_ENVELOPE_BYTES	256
/* Batches of other topics a cut passes over looking for its own. */
#define SENDER_CUT_SCAN		4096

struct spool;
struct spool_seg;

/* One message of a request, as the sink publishes it. */
struct sink_msg {
	const char	*data;
	size_t		 len;
	uint32_t	 npoints;
};

struct sink_ops {
	const char	*name;
	/* an HTTP client: libcurl must be loaded at the setup */
	int		 uses_curl;
	/* Set up from s->w->conf; -1 with err when the config is unusable. */
	int		(*open)(struct sender *, char *err, size_t errlen);
	/*
	 * Publish a request of `n` (>= 1) messages of one topic and format,
	 * together where the output can (nsqd: MPUB, /mpub; one message
	 * goes as PUB, /pub); report once for all of them with
	 * sender_sink_done(), _rejected() or _partial(), now or later.
	 * The messages stay valid and unchanged until then.  Never called
	 * while a request is in flight.
	 */
	void		(*publish)(struct sender *, const char *topic,
			    enum out_format, const struct sink_msg *, size_t n);
	/* Drop connections and state; an in-flight request is abandoned
	 * (its points stay in the buffer). */
	void		(*close)(struct sender *);
};

extern const struct sink_ops sink_file_ops;
/* s->outfile_fd is about to be closed: a write to it in progress fails. */
void	 sink_file_fd_closing(struct sender *);
/* Standard output, or a file from the master: a publish can write. */
int	 sink_file_usable(const struct sender *);
extern const struct sink_ops sink_influxdb_ops;
extern const struct sink_ops sink_nsq_http_ops;
extern const struct sink_ops sink_nsq_tcp_ops;

struct batch {
	TAILQ_ENTRY(batch)	 entry;
	enum out_format		 fmt;
	enum points_origin	 origin;
	char			 topic[TOPIC_MAX + 1];
	char			*data;		/* points separated by '\n' */
	size_t			 len;
	size_t			 off;		/* bytes already published */
	uint32_t		 npoints;
	uint32_t		 done;		/* points already published */
	uint32_t		 flight;	/* points from `off` on in the
						 * request in flight (while
						 * s->busy) */
	ev_tstamp		 arrived;	/* taken in; 0: read back or
						 * due at once */
	struct spool_seg	*seg;		/* its record's; NULL: memory
						 * only */
	uint64_t		 seq;		/* its record's */
	/*
	 * A producer's points the spool could not take: it is told it may
	 * forget them only once they leave memory (published, or dropped,
	 * counted), not when they are taken in, or a sender that dies
	 * loses them.  0: no answer owed.
	 */
	uint32_t		 ackreqid;
	enum role		 ackto;
	pid_t			 ackpid;	/* the producer then */
};
TAILQ_HEAD(batchq, batch);

/* Who waits for the answer to points being taken in. */
struct points_from {
	enum role		 role;
	uint32_t		 reqid;		/* 0: no answer wanted */
	int			 later;		/* set by sender_take(): the
						 * answer goes once the points
						 * leave memory */
};

/* What one request may hold, from the [output] keys. */
struct cut_limits {
	uint32_t	 points;	/* per message: batchpoints */
	size_t		 msgbytes;	/* per message: messagebytes */
	size_t		 reqbytes;	/* several messages: requestbytes */
	size_t		 reqmsgs;	/* messages: requestmessages */
	/* points a request may hold when it passes over other topics:
	 * what it holds cannot age out while it is in flight */
	size_t		 gather;
};

/* The points a request took from one batch: its first `n` left. */
struct cut_take {
	struct batch	*b;
	uint32_t	 n;
};

/* A request cut from the buffer (sender_cut.c). */
struct cut {
	struct buf	 pts;		/* scratch: one message's points */
	struct buf	 body;		/* the messages, back to back */
	struct sink_msg	*msgs;		/* into body */
	size_t		 nmsgs;
	size_t		 capmsgs;
	struct cut_take	*takes;		/* in the order of the buffer */
	size_t		 ntakes;
	size_t		 captakes;
	uint32_t	 npoints;	/* in all the messages */
	const char	*topic;		/* the first batch's */
	enum out_format	 fmt;
	int		 converted;	/* rewritten in another format
					 * (sender_convert.c) */
};

void	 sender_cut_init(struct cut *);
void	 sender_cut_free(struct cut *);
/*
 * Cut the next request from `q`: messages of the points of the first
 * batch and of the batches after it that share its topic and format, in
 * order, each of at most l->points points and l->msgbytes bytes, and at
 * most l->reqmsgs of them.  Batches of other topics in between are
 * passed over (SENDER_CUT_SCAN of them at most, and only while the
 * request holds fewer than l->gather points), so that producers
 * taking turns do not make a request a batch; a batch of the topic in
 * another format ends the request, so that a topic's points go in the
 * order they came.  A second message is only added while the request,
 * counted as nsqd counts an MPUB body (4 + sum(4 + length)), stays
 * within l->reqbytes; one message alone is bounded by msgbytes only (it
 * goes as PUB).  c->takes says which points of which batches it holds.
 * Returns 1; 0 when `q` is empty; -1 when out of memory; -2 when the
 * first point alone is over l->msgbytes (c->takes is that point).
 */
int	 sender_cut_next(struct cut *, struct batchq *,
	    const struct cut_limits *);
/*
 * The first `n` points left in `b` are gone (published or dropped): the
 * bytes they took, the '\n' after the last included.  All of them left:
 * b->len - b->off, and the caller lets the batch go.
 */
size_t	 sender_batch_advance(struct batch *b, uint32_t n);
/*
 * sender_convert.c: the request `c` rewritten as messages of the same
 * points in `want` (a reload changed the output's format while they
 * waited); nothing to do when it is in `want` already.  Points `want`
 * cannot carry are left out: *left_out counts them, `why` says why the
 * first was, and a message left with none is no longer in `c` (which
 * may then hold none).  The request as it was, with `why`, and -1 when
 * out of memory, -2 when a message does not read back.
 */
int	 sender_cut_convert(struct cut *c, enum out_format want, int64_t now,
	    uint32_t *left_out, char *why, size_t whylen);
/* The body of an MPUB (or binary /mpub) of these messages, in bytes. */
uint64_t sender_cut_mpub_size(const struct sink_msg *, size_t n);

struct sender_stats {
	uint64_t	 accepted;	/* points taken into the buffer */
	uint64_t	 published;	/* points the output confirmed */
	uint64_t	 refused_full;	/* pushed points answered 503 */
	uint64_t	 rejected;	/* points refused as unpublishable */
	uint64_t	 rejected_malformed;/* POINTS messages not decoded */
	uint64_t	 dropped_full;	/* scheduled points aged out */
	uint64_t	 dropped_stop;	/* left when stopping */
	uint64_t	 dropped_toolarge;/* a point over the output's limit */
	uint64_t	 dropped_rejected;/* refused for good by the output */
	uint64_t	 dropped_spool;	/* scheduled, neither on disk nor in
					 * memory (spool write error) */
	uint64_t	 messages;	/* messages published */
	uint64_t	 requests;	/* requests (of messages) published */
	uint64_t	 publish_errors;
	uint64_t	 reconnects;
	uint64_t	 toobig;	/* requests refused for their size */
};

/* What the output said it takes (0: as configured). */
struct sender_learned {
	size_t		 msgbytes;
	size_t		 reqbytes;
	int		 stated;	/* msgbytes is the server's number */
	char		 by[256];	/* "<server>: <its refusal>" */
	/*
	 * Points waiting in another format than the output's are cut
	 * within the limits >> this: their rewriting, after the cut, was
	 * refused as too big (sender_sink_toobig).
	 */
	unsigned	 rewrite_shift;
};

struct sender {
	struct worker		*w;
	struct curl_dl		 curl;		/* libcurl, loaded at setup */
	struct sender_peer	 peer;		/* who serves a loopback output */
	const struct sink_ops	*ops;
	void			*sink;		/* the sink's own state */
	struct batchq		 queue;
	size_t			 qpoints;
	size_t			 qbytes;
	int			 busy;		/* a request is with the sink */
	uint32_t		 inflight;	/* points in that request */
	uint32_t		 left_out;	/* of those, what its format
						 * change left out, refused */
	struct cut		 cut;		/* the request */
	struct warn_limit	 unconverted;	/* sent as they were taken */
	struct warn_limit	 leftout_warn;	/* left out by a conversion */
	/* scheduled points aged out: said every WARN_LIMIT_EVERY at most */
	struct warn_limit	 aged_warn;
	uint64_t		 aged_said;	/* dropped_full at the last line */
	/* a producer's points refused: its answer is not logged there */
	struct warn_limit	 refused_warn;
	struct warn_limit	 pushed_warn;	/* pushes answered not 200 */
	/* messages not decoded: their producer may send them at will */
	struct warn_limit	 malformed_warn;
	/*
	 * Points at the head of the buffer that go one message per
	 * request: the output refused a request of several messages, and
	 * alone each one is accepted or refused on its own.
	 */
	uint32_t		 solo;
	double			 backoff;	/* after a failed publish */
	int			 stopping;
	int			 flushing;	/* in flush_cb */
	ev_timer		 flush;
	ev_timer		 stop_timer;	/* bounded flush at shutdown */
	ev_timer		 refill_timer;	/* the spool could not be read
						 * for now: again */
	struct sender_stats	 st;
	struct metric_set	 ms;		/* /metrics, push after push */
	char			 last_error[256];
	int			 started;	/* sender_start() ran */
	/*
	 * The file output, opened by the master (MSG_OUTPUT_FILE): the
	 * sender may not be able to open it itself, and must not open
	 * paths at all.  -1 with the master's reason when it could not.
	 */
	int			 outfile_fd;
	char			 outfile_err[256];
	struct sender_learned	 learned;

	/* the spool; NULL: memory only (off, or it cannot be used) */
	struct spool		*spool;
	char			 spool_error[256];
	ev_tstamp		 spool_warned;	/* last write error logged */
	ev_timer		 sync_timer;	/* spoolsync > 0: one-shot */
	/* the first turn that left a record unsynced and unpublished; 0:
	 * none is */
	ev_tstamp		 unsynced_since;
	ev_prepare		 sync_arm;	/* arms it when a sync is due */
	/*
	 * spoolsync = 0: the answers to /post wait here for the next sync,
	 * made once per loop iteration for all of them (group commit).
	 */
	ev_prepare		 group;
	uint32_t		*acks;		/* their request ids */
	size_t			 nacks;
	size_t			 capacks;

	/*
	 * sender_hold.c: the spool records of points the file output has
	 * written and not synced yet, and where to sync: -1, nothing is
	 * waiting for a sync of the output.
	 */
	int			 outsync_fd;
	int			 outsync_failed;/* the records stay held */
	int			 nosync_fd;	/* an output that cannot be
						 * synced (said once); -1 */
	struct spool_seg	**held;		/* a segment a record */
	size_t			 nheld;
	size_t			 capheld;
	uint64_t		 held_min;	/* the oldest record's seq */
};

/* The sink's report on the request it was given: all published, or
 * none (retried after a backoff). */
void	 sender_sink_done(struct sender *, int ok, const char *err);
/*
 * The output refused the request for good (malformed for it: nsqd's
 * E_BAD_MESSAGE or E_BAD_BODY, HTTP 400 or 413, InfluxDB's "unable to
 * parse"): sending it again cannot help.  A request of one message has
 * its points dropped, counted and logged, and the rest goes on; one of
 * several messages is sent again one message per request, so that only
 * the message at fault is dropped.
 */
void	 sender_sink_rejected(struct sender *, const char *err);
/*
 * The output stored the request but `dropped` of its points (InfluxDB's
 * "partial write: ... dropped=N"): those are counted as refused for good
 * with `err`, the rest as published, and the request leaves the buffer.
 */
void	 sender_sink_partial(struct sender *, uint32_t dropped,
	    const char *err);
/* A sink lost and re-established its connection. */
void	 sender_count_reconnect(struct sender *);

/* What of a request the output refused for its size. */
enum sink_toobig {
	SINK_TOOBIG_MESSAGE,	/* a message: nsqd's max-msg-size */
	SINK_TOOBIG_BODY	/* the request: nsqd's max-body-size */
};
/*
 * The output refused the request for its size (nsqd's "E_BAD_MESSAGE ...
 * message too big N > M", "E_BAD_BODY ... body too big N > M", HTTP
 * 413).  `stated`: the limit the refusal gave (M), 0 when it gave none
 * (then half of what was refused).  Too big is not bad: the sender lowers
 * its limits for the output to that (logged once, in /me/status) and
 * cuts the points again, down to one point per message; only a single
 * point refused on its own is dropped, counted.
 */
void	 sender_sink_toobig(struct sender *, const char *server,
	    enum sink_toobig, size_t stated, const char *err);
/* A server reported lower limits (nsqd's IDENTIFY answer). */
void	 sender_sink_limits(struct sender *, const char *server,
	    size_t msgbytes, size_t reqbytes);

/* ---- inside the sender ---------------------------------------------- */

/* sender.c: the answer a batch's producer waits for, if it is still
 * the one that sent it */
void	 sender_answer_later(struct sender *, const struct batch *);

/* A stop waits for nothing more from the producers: no spool to keep
 * what they send, or the scheduler and the collector gone (sender.c). */
int	 sender_producers_gone(const struct sender *);

/* sender_buffer.c */
/* Free a batch that left memory (its producer answered, if owed). */
void	 sender_batch_free(struct sender *, struct batch *);
/* What of a batch is not published yet into `to`, as a record of its
 * own (0, or -1 with err). */
int	 sender_batch_append(struct spool *to, const struct batch *,
	    char *err, size_t errlen);
/* Take a producer's points in (origin from the edge they came on).
 * `batched`: the producer held them already (the scheduler's outbox):
 * they are due at once, not after flushms.  *spooled is set when they
 * were written to the spool; from->later when they were accepted into
 * memory only while a spool is in use (it cannot be written): the
 * producer, scheduler or collector, is answered when they leave memory
 * (sender_answer_later()). */
enum points_verdict sender_take(struct sender *, const struct points_msg *,
	    enum points_origin, int batched, struct points_from *from,
	    int *spooled, char *why, size_t whylen);
/* The points of the request `c` are published or dropped: let them
 * go. */
void	 sender_consume(struct sender *, struct cut *c);
/* Fill the window from the spool, oldest first (again in a moment when
 * it cannot be read for now). */
void	 sender_refill(struct sender *);
void	 sender_refill_init(struct sender *);
/* The spool's write errors: logged at most once a second. */
void	 sender_spool_warn(struct sender *, const char *what, const char *err);

/* sender_hold.c */
/* `fd`, a regular file, holds points written and not synced. */
void	 sender_hold_output(struct sender *, int fd);
/* The record of `b`, leaving the buffer, stays in the spool until the
 * output is synced; 0 when it need not (it is let go at once). */
int	 sender_hold_batch(struct sender *, const struct batch *b);
/* The mark as far as `first` (the oldest record in memory; 0: none)
 * and the records held allow. */
uint64_t sender_hold_mark(const struct sender *, uint64_t first);
/* The output holds points not synced. */
int	 sender_out_unsynced(const struct sender *);
/* Sync the output and let the records held go; -1 when the sync failed
 * (they stay, and the sender must end: see sender_hold.c). */
int	 sender_out_sync(struct sender *);

/* sender_out.c */
void	 sender_out_init(struct sender *);
/* The spool's mark to the oldest record still wanted. */
void	 sender_set_mark(struct sender *);
void	 sender_kick(struct sender *);
void	 sender_consume_request(struct sender *);
/* The request in flight has its answer, or none will come. */
void	 sender_flight_end(struct sender *);
/* The message limit of the next request (config or learned). */
size_t	 sender_msgbytes(const struct sender *);

/* sender_switch.c: the spool of `path` ("" none) in place of the one in
 * use, what that one holds carried over. */
void	 sender_spool_switch(struct sender *, const char *path,
	    uint64_t maxbytes);
/* Log lines of the spool (corruption found). */
void	 sender_spool_logfn(const char *, void *);

#endif
