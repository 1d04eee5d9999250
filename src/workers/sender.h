/*
 * The sender's state and the interface of its outputs (sinks).  The
 * buffer holds batches of encoded points as producers sent them; the
 * sender cuts messages of up to `batchpoints` points of one topic and
 * format from its head and hands one message at a time to the sink.  A
 * message leaves the buffer only when the sink reports it published.
 */
#ifndef AGENT_SENDER_H
#define AGENT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <bsd/sys/queue.h>

#include <ev.h>

#include "buf.h"
#include "encode.h"
#include "points_msg.h"
#include "worker.h"

struct sender;

struct sink_ops {
	const char	*name;
	/* Set up from s->w->conf; -1 with err when the config is unusable. */
	int		(*open)(struct sender *, char *err, size_t errlen);
	/*
	 * Publish one message; report with sender_sink_done(), now or later.
	 * Never called while a message is in flight.
	 */
	void		(*publish)(struct sender *, const char *topic,
			    enum out_format, const char *body, size_t len);
	/* Drop connections and state; an in-flight message is abandoned
	 * (it stays in the buffer). */
	void		(*close)(struct sender *);
	/* SIGUSR1: reopen files (may be NULL). */
	void		(*reopen)(struct sender *);
};

extern const struct sink_ops sink_file_ops;
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
};
TAILQ_HEAD(batchq, batch);

struct sender_stats {
	uint64_t	 accepted;	/* points taken into the buffer */
	uint64_t	 published;	/* points the output confirmed */
	uint64_t	 refused_full;	/* pushed points answered 503 */
	uint64_t	 rejected;	/* points refused as unpublishable */
	uint64_t	 rejected_malformed;/* POINTS messages not decoded */
	uint64_t	 dropped_full;	/* scheduled points aged out */
	uint64_t	 dropped_stop;	/* left when stopping */
	uint64_t	 dropped_toolarge;/* a point over messagebytes */
	uint64_t	 dropped_rejected;/* refused for good by the output */
	uint64_t	 messages;	/* messages published */
	uint64_t	 publish_errors;
	uint64_t	 reconnects;
};

struct sender {
	struct worker		*w;
	const struct sink_ops	*ops;
	void			*sink;		/* the sink's own state */
	struct batchq		 queue;
	size_t			 qpoints;
	size_t			 qbytes;
	int			 busy;		/* a message is with the sink */
	uint32_t		 inflight;	/* points in that message */
	struct buf		 pts;		/* points of the message */
	struct buf		 body;		/* the message as published */
	double			 backoff;	/* after a failed publish */
	int			 stopping;
	ev_tstamp		 stop_deadline;
	ev_timer		 flush;
	ev_timer		 stats_timer;
	struct sender_stats	 st;
	struct sender_stats	 st_sent;	/* last pushed to the master */
	char			 last_error[256];
};

/* The sink's report on the message it was given. */
void	 sender_sink_done(struct sender *, int ok, const char *err);
/*
 * The output refused the message for good (malformed for it: nsqd's
 * E_BAD_MESSAGE, InfluxDB's "unable to parse"): retrying cannot help, so
 * its points are dropped, counted and logged, and the rest goes on.
 */
void	 sender_sink_rejected(struct sender *, const char *err);
/* A sink lost and re-established its connection. */
void	 sender_count_reconnect(struct sender *);

#endif
