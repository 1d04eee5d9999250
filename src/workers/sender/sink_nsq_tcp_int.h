/*
 * Internals of the nsq TCP output, shared by its two files and by
 * nothing else: sink_nsq_tcp.c (the sink: requests, failover across the
 * servers, open and close) and sink_nsq_tcp_conn.c (one connection to
 * one nsqd).  The interface is sink_nsq_tcp_ops (sender.h).
 */
#ifndef AGENT_SINK_NSQ_TCP_INT_H
#define AGENT_SINK_NSQ_TCP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <netdb.h>

#include <ev.h>

#include "buf.h"
#include "nsq_proto.h"
#include "sender.h"
#include "sender_resolve.h"
#include "warn_limit.h"

/*
 * The IDENTIFY answer is awaited [output] timeout (RESPONSE_TIMEOUT(t)),
 * an (M)PUB's that much more than the command takes to go at
 * LINK_RATE_MIN bytes a second (a 5 MiB MPUB: 90 s by default), so a
 * slow link takes large requests; a server that reads slower than this
 * still times out.
 */
#define RESPONSE_TIMEOUT(t)	((double)(t)->s->w->conf.timeout)
#define LINK_RATE_MIN		65536.0

struct nsq_tcp;

enum conn_state {
	CONN_DOWN = 0,		/* waiting for the reconnect timer */
	CONN_RESOLVING,		/* the name is being looked up */
	CONN_CONNECTING,	/* non-blocking connect() in progress */
	CONN_IDENTIFYING,	/* magic and IDENTIFY sent, answer awaited */
	CONN_READY
};

struct nsq_conn {
	struct nsq_tcp		*t;
	size_t			 idx;		/* in t->conns */
	char			*server;	/* as configured, for messages */
	char			*host;
	char			*port;
	enum conn_state		 state;
	int			 fd;
	struct resolver		 rsv;		/* its lookup, off the loop */
	struct addrinfo		*res;		/* this connect's resolution */
	struct addrinfo		*ai;		/* the address being tried */
	ev_io			 rio;
	ev_io			 wio;		/* connect, or output pending */
	/*
	 * One timer, meaning depends on the state: reconnect (DOWN),
	 * connect timeout, IDENTIFY answer timeout, (M)PUB answer timeout or
	 * idle liveness (READY).
	 */
	ev_timer		 timer;
	struct buf		 out;		/* commands not yet written */
	size_t			 outoff;	/* bytes of out already written */
	int			 nops;		/* NOPs in out, unwritten */
	struct nsq_reader	 rd;
	struct nsq_limits	 limits;	/* what this server takes */
	int			 pub;		/* (M)PUB sent, answer awaited */
	double			 pub_wait;	/* seconds it is awaited */
	/* reading on after a write failed: nsqd's error frame */
	int			 draining;
	int			 proven;	/* an OK came on this connection */
	ev_tstamp		 ready_at;
	ev_tstamp		 last_rx;
	ev_tstamp		 last_hb;
	ev_tstamp		 hb_gap;	/* longest between heartbeats */
	double			 backoff;	/* last reconnect delay base */
	/*
	 * A request failed here (no answer, hung up, E_PUB_FAILED): the
	 * next ones go to another READY server until avoid_until, longer
	 * at each failure in a row (AVOID_MIN doubling to AVOID_MAX); an
	 * OK ends it.
	 */
	double			 avoid;
	ev_tstamp		 avoid_until;
	int			 lost;		/* failed since last READY */
	int			 quiet;		/* the failing is logged already */
	int			 refusing;	/* a refusal is logged already */
	struct warn_limit	 nonfatal;	/* errors nsqd did not hang up
						 * after: lines per 10 s */
	char			 err[256];	/* last failure, for messages */
};

struct nsq_tcp {
	struct sender		*s;
	struct ev_loop		*loop;
	struct nsq_conn		*conns;
	size_t			 nconns;
	size_t			 next;		/* where the next request starts */
	struct nsq_limits	 limits;
	char			 hostname[256];
	char			 client_id[256];

	/* the request in flight */
	int			 busy;
	size_t			 cur;		/* conns[cur] has it */
	size_t			 tried;		/* servers tried, cur included */
	char			 topic[NSQ_TOPIC_MAX + 1];
	struct nsq_msg		*msgs;		/* the sender's, until done */
	size_t			 nmsgs;
	size_t			 capmsgs;
	size_t			 longest;	/* of the messages */
	uint64_t		 mpubsize;	/* the MPUB body, nmsgs > 1 */
	const char		*cmd;		/* "PUB" or "MPUB" */
	struct buf		 reasons;	/* "<server>: <why>; ..." */
	/*
	 * The first refusal of the request (for its size, or permanent):
	 * what ends it when no other server takes it.
	 */
	enum {
		REFUSED_NONE = 0,
		REFUSED_DATA,
		REFUSED_SIZE
	}			 refused;
	enum sink_toobig	 tb_kind;
	size_t			 tb_limit;
	char			 tb_server[256];
	char			 refusal[256];
};

#define AVOID_MIN		2.0	/* seconds, doubling ... */
#define AVOID_MAX		60.0	/* ... up to this */

/* sink_nsq_tcp_conn.c */
void	 sink_nsq_tcp_conn_init(struct nsq_conn *, struct nsq_tcp *,
    size_t idx);
void	 sink_nsq_tcp_conn_free(struct nsq_conn *);
/* Resolve the name again and connect; reconnects on its own after. */
void	 sink_nsq_tcp_conn_connect(struct nsq_conn *);
/* Write what is pending; -1 when the connection failed (and went down). */
int	 sink_nsq_tcp_conn_flush(struct nsq_conn *);
/* Close the connection and plan the reconnect, the request left alone. */
void	 sink_nsq_tcp_conn_drop(struct nsq_conn *, const char *reason);
/* sink_nsq_tcp_conn_drop(), then the request on it (if any) moves on. */
void	 sink_nsq_tcp_conn_down(struct nsq_conn *, const char *why);
/* The connection's one timer, to fire `after` seconds from now. */
void	 sink_nsq_tcp_timer_arm(struct nsq_conn *, double after);
void	 sink_nsq_tcp_arm_idle(struct nsq_conn *);

/* sink_nsq_tcp.c */
/* The request is done: the sender is told, last. */
void	 sink_nsq_tcp_message_done(struct nsq_tcp *, int ok, const char *err);
/* The request in flight as PUB or MPUB on this READY connection. */
int	 sink_nsq_tcp_conn_pub(struct nsq_conn *);
/* An error frame answering the PUB or MPUB; -1 when the connection went
 * down. */
int	 sink_nsq_tcp_conn_pub_error(struct nsq_conn *,
    const struct nsq_frame *);
/* The current server failed the request: the next one, or give up. */
void	 sink_nsq_tcp_attempt_failed(struct nsq_tcp *, const char *why);
/* The request failed on this server's account: avoid it a while. */
void	 sink_nsq_tcp_avoid(struct nsq_conn *);

#endif
