/*
 * The process topology and the message vocabulary: which processes exist,
 * which edges link them and which message types each side of an edge may
 * send.  Everything that routes, checks or logs a message reads it from
 * here, so the whole wiring can be reviewed in one place (proto.c).
 */
#ifndef AGENT_PROTO_H
#define AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum role {
	ROLE_MASTER = 0,
	ROLE_FRONT,
	ROLE_FETCHER,
	ROLE_GITPULL,
	ROLE_SCHEDULER,
	ROLE_SENDER,
	ROLE_COLLECTOR,
	ROLE_MAX
};
#define ROLE_FIRST_WORKER ROLE_FRONT

/* Fixed descriptor of the control edge in every worker (set before exec). */
#define CONTROL_FD	3

enum msg_type {
	MSG_NONE = 0,

	/* control edge, master -> worker */
	MSG_CONF,		/* u64 generation, conf fields (conf.c) */
	MSG_PEER,		/* u32 peer role; fd = our end of the edge */
	MSG_LISTEN,		/* str kind ("tcp"|"unix"), str address; fd */
	MSG_SETUP_END,		/* empty: initial config and peers delivered */
	MSG_STATUS,		/* answer to MSG_STATUS_REQ: status.c format */
	MSG_SHUTDOWN,		/* empty: finish and exit 0 */

	/* control edge, worker -> master */
	MSG_READY,		/* empty: setup done, sandbox in place */
	MSG_CONF_ACK,		/* u64 generation, u32 ok, str error */
	MSG_LOG,		/* u32 level, str text */
	MSG_PEER_STATE,		/* u32 peer role, u32 peer pid (0 = down) */
	MSG_STATUS_REQ,		/* empty; reqid echoed in MSG_STATUS (front:
				 * /me/status, /metrics; collector: self
				 * metrics) */

	/* peer edges */
	MSG_HELLO,		/* u32 role, u64 generation: first frame */
	MSG_POINTS,		/* producer -> sender: encoded points */
	MSG_POINTS_ACK,		/* sender -> producer: accept/reject */
	MSG_PLUGIN_REQ,		/* front -> scheduler */
	MSG_PLUGIN_RESP,	/* scheduler -> front */
	MSG_REFRESH,		/* front -> fetcher: refresh now */
	MSG_NAMESPACES,		/* fetcher -> front */
	MSG_ITEMS,		/* fetcher -> scheduler, collector */
	MSG_GIT_REQ,		/* scheduler -> gitpull */
	MSG_GIT_RESP,		/* gitpull -> scheduler */

	/* control edge, worker -> master; new types go last, numbers stay */
	MSG_STATS,		/* u32 n, n x (str key, u64 value), str
				 * note: counters shown in /me/status; then
				 * typed samples (metrics.h) for /metrics */
	MSG_REOPEN,		/* retired (number kept): the master now
				 * sends MSG_OUTPUT_FILE on SIGUSR1 */

	/* peer edge, appended: numbers above stay */
	MSG_TRAFFIC,		/* collector -> front: str JSON array of the
				 * latest NET per-interface metrics
				 * (GET /me/traffic) */

	MSG_ITEMS_ACK,		/* scheduler -> fetcher, empty, reqid of the
				 * MSG_ITEMS now applied */

	/* control edge, master -> sender only */
	MSG_OUTPUT_FILE,	/* str path, str error; fd = the file output
				 * opened by the master (none: error, or
				 * path "" = no file output any more) */

	/* control edge, master -> worker */
	MSG_STATS_REQ,		/* empty: send MSG_STATS now, changed or not,
				 * with this reqid (a /me/status or /metrics
				 * is waiting for it) */

	/* control edge, sender -> master */
	MSG_SPOOL_INUSE,	/* str path: the spool the sender holds after
				 * a reload changed [output] spool ("" =
				 * memory only); a restarted sender is given
				 * it when it is not the configured one */
	MSG_MAX
};

/*
 * One edge between two processes.  The lists are the message types each
 * side may send, terminated by MSG_NONE.  The master is side `a` of every
 * control edge.
 */
struct edge_def {
	enum role		 a;
	enum role		 b;
	const uint16_t		*a_sends;
	const uint16_t		*b_sends;
	size_t			 maxpayload;	/* largest payload on this edge */
	int			 a_fdpass;	/* a may pass descriptors to b */
	int			 b_fdpass;	/* b may pass descriptors to a */
	size_t			 b_maxpayload;	/* from b, when not 0: answers
						 * larger than the questions */
};

extern const struct edge_def	proto_peer_edges[];
extern const size_t		proto_peer_edge_count;

const char	*proto_role_name(enum role);
int		 proto_role_parse(const char *, enum role *);
const char	*proto_msg_name(uint16_t);

/* The control edge of a worker (master is side a). */
const struct edge_def *proto_control_edge(enum role worker);

/* Find the peer edge between two roles; NULL when they are not linked. */
const struct edge_def *proto_peer_edge_find(enum role, enum role);

/* The role on the other side of edge `e` from `self`. */
enum role	 proto_edge_other(const struct edge_def *e, enum role self);

/*
 * Non-zero when `from` may pass descriptors on edge `e`.  Per direction:
 * a descriptor the master receives is closed by root, and a worker could
 * pick one whose close() blocks (a socket lingering on a full queue).
 */
int		 proto_edge_may_pass_fd(const struct edge_def *e,
		    enum role from);

/* The largest payload `from` may send on edge `e`. */
size_t		 proto_edge_maxpayload(const struct edge_def *e,
		    enum role from);

/* Non-zero when `from` may send `type` on edge `e`. */
int		 proto_edge_may_send(const struct edge_def *e, enum role from,
		    uint16_t type);

#endif
