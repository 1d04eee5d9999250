#include "proto.h"

#include <string.h>

static const char *const role_names[ROLE_MAX] = {
	[ROLE_MASTER] = "master",
	[ROLE_FRONT] = "front",
	[ROLE_FETCHER] = "fetcher",
	[ROLE_GITPULL] = "gitpull",
	[ROLE_SCHEDULER] = "scheduler",
	[ROLE_SENDER] = "sender",
	[ROLE_COLLECTOR] = "collector",
};

static const char *const msg_names[MSG_MAX] = {
	[MSG_NONE] = "NONE",
	[MSG_CONF] = "CONF",
	[MSG_PEER] = "PEER",
	[MSG_LISTEN] = "LISTEN",
	[MSG_SETUP_END] = "SETUP_END",
	[MSG_STATUS] = "STATUS",
	[MSG_SHUTDOWN] = "SHUTDOWN",
	[MSG_READY] = "READY",
	[MSG_CONF_ACK] = "CONF_ACK",
	[MSG_LOG] = "LOG",
	[MSG_PEER_STATE] = "PEER_STATE",
	[MSG_STATUS_REQ] = "STATUS_REQ",
	[MSG_STATS] = "STATS",
	[MSG_REOPEN] = "REOPEN",
	[MSG_TRAFFIC] = "TRAFFIC",
	[MSG_HELLO] = "HELLO",
	[MSG_POINTS] = "POINTS",
	[MSG_POINTS_ACK] = "POINTS_ACK",
	[MSG_PLUGIN_REQ] = "PLUGIN_REQ",
	[MSG_PLUGIN_RESP] = "PLUGIN_RESP",
	[MSG_REFRESH] = "REFRESH",
	[MSG_NAMESPACES] = "NAMESPACES",
	[MSG_ITEMS] = "ITEMS",
	[MSG_GIT_REQ] = "GIT_REQ",
	[MSG_GIT_RESP] = "GIT_RESP",
	[MSG_ITEMS_ACK] = "ITEMS_ACK",
	[MSG_OUTPUT_FILE] = "OUTPUT_FILE",
	[MSG_STATS_REQ] = "STATS_REQ",
	[MSG_SPOOL_INUSE] = "SPOOL_INUSE",
};

/* Payload ceilings: config and status may be large, data frames are
 * batches of encoded points, requests are small. */
#define CTL_MAXPAYLOAD		(1024 * 1024)
#define DATA_MAXPAYLOAD		(1024 * 1024)
/*
 * A 1 MiB /post body grows when encoded (prefix, host tag, JSON per
 * point): up to about 15 times for the smallest points.
 */
#define PUSH_MAXPAYLOAD		(24 * 1024 * 1024)
#define REQ_MAXPAYLOAD		(64 * 1024)
/*
 * /plugins/list: every plugin the items name (1 MiB of items can name
 * thousands) with its last run's errors and stderr tail, escaped.
 */
#define LIST_MAXPAYLOAD		(16 * 1024 * 1024)

/* Control edges: the master sends these to every worker ... */
static const uint16_t ctl_master_sends[] = {
	MSG_CONF, MSG_PEER, MSG_LISTEN, MSG_SETUP_END, MSG_STATUS,
	MSG_SHUTDOWN, MSG_STATS_REQ, MSG_NONE
};
/* ... and the sender also the descriptor of the file output. */
static const uint16_t ctl_master_sends_sender[] = {
	MSG_CONF, MSG_PEER, MSG_LISTEN, MSG_SETUP_END, MSG_STATUS,
	MSG_SHUTDOWN, MSG_OUTPUT_FILE, MSG_STATS_REQ, MSG_NONE
};
/* ... and a worker answers with these. */
static const uint16_t ctl_worker_sends[] = {
	MSG_READY, MSG_CONF_ACK, MSG_LOG, MSG_PEER_STATE, MSG_STATS, MSG_NONE
};
/* ... and the sender also which spool it holds after a reload. */
static const uint16_t ctl_sender_sends[] = {
	MSG_READY, MSG_CONF_ACK, MSG_LOG, MSG_PEER_STATE, MSG_STATS,
	MSG_SPOOL_INUSE, MSG_NONE
};
/*
 * The front also asks for the worker table behind /me/status and
 * /metrics, the collector for the figures it publishes as self metrics.
 */
static const uint16_t ctl_status_sends[] = {
	MSG_READY, MSG_CONF_ACK, MSG_LOG, MSG_PEER_STATE, MSG_STATUS_REQ,
	MSG_STATS, MSG_NONE
};

/*
 * Descriptors go down only (peers, listeners, the file output): a worker
 * never needs to hand one up, and root closing one a compromised worker
 * chose could block the master.
 */
#define CTL_EDGE(r, sends) \
	{ ROLE_MASTER, (r), ctl_master_sends, (sends), CTL_MAXPAYLOAD, 1, 0, 0 }
#define CTL_EDGE_TO(r, msends, sends) \
	{ ROLE_MASTER, (r), (msends), (sends), CTL_MAXPAYLOAD, 1, 0, 0 }

static const struct edge_def control_edges[ROLE_MAX] = {
	[ROLE_FRONT] = CTL_EDGE(ROLE_FRONT, ctl_status_sends),
	[ROLE_FETCHER] = CTL_EDGE(ROLE_FETCHER, ctl_worker_sends),
	[ROLE_GITPULL] = CTL_EDGE(ROLE_GITPULL, ctl_worker_sends),
	[ROLE_SCHEDULER] = CTL_EDGE(ROLE_SCHEDULER, ctl_worker_sends),
	[ROLE_SENDER] = CTL_EDGE_TO(ROLE_SENDER, ctl_master_sends_sender,
	    ctl_sender_sends),
	[ROLE_COLLECTOR] = CTL_EDGE(ROLE_COLLECTOR, ctl_status_sends),
};

static const uint16_t front_to_sender[] = { MSG_HELLO, MSG_POINTS, MSG_NONE };
static const uint16_t sender_to_front[] = { MSG_HELLO, MSG_POINTS_ACK, MSG_NONE };
static const uint16_t front_to_sched[] = { MSG_HELLO, MSG_PLUGIN_REQ, MSG_NONE };
static const uint16_t sched_to_front[] = { MSG_HELLO, MSG_PLUGIN_RESP, MSG_NONE };
static const uint16_t front_to_fetcher[] = { MSG_HELLO, MSG_REFRESH, MSG_NONE };
static const uint16_t fetcher_to_front[] = { MSG_HELLO, MSG_NAMESPACES, MSG_NONE };
static const uint16_t items_sends[] = { MSG_HELLO, MSG_ITEMS, MSG_NONE };
/* the scheduler says when it applied a set: /update answers after that */
static const uint16_t items_acks[] = { MSG_HELLO, MSG_ITEMS_ACK, MSG_NONE };
static const uint16_t sched_to_git[] = { MSG_HELLO, MSG_GIT_REQ, MSG_NONE };
static const uint16_t git_to_sched[] = { MSG_HELLO, MSG_GIT_RESP, MSG_NONE };
static const uint16_t points_sends[] = { MSG_HELLO, MSG_POINTS, MSG_NONE };
/* what the sender took of a producer's (worker_inflight.c) */
static const uint16_t points_acks[] = { MSG_HELLO, MSG_POINTS_ACK, MSG_NONE };
static const uint16_t hello_only[] = { MSG_HELLO, MSG_NONE };
static const uint16_t collector_to_front[] = { MSG_HELLO, MSG_TRAFFIC,
	MSG_NONE };

/*
 * DESIGN.md section 2, "Edges": one row per socketpair between workers.
 * No worker hands another a descriptor: none may travel on these.
 */
const struct edge_def proto_peer_edges[] = {
	{ ROLE_FRONT, ROLE_SENDER, front_to_sender, sender_to_front,
	    PUSH_MAXPAYLOAD, 0, 0, 0 },
	/* requests are small; /plugins/list answers grow with the number
	 * of plugins */
	{ ROLE_FRONT, ROLE_SCHEDULER, front_to_sched, sched_to_front,
	    REQ_MAXPAYLOAD, 0, 0, LIST_MAXPAYLOAD },
	{ ROLE_FRONT, ROLE_FETCHER, front_to_fetcher, fetcher_to_front,
	    REQ_MAXPAYLOAD, 0, 0, 0 },
	{ ROLE_FETCHER, ROLE_SCHEDULER, items_sends, items_acks,
	    DATA_MAXPAYLOAD, 0, 0, 0 },
	{ ROLE_FETCHER, ROLE_COLLECTOR, items_sends, hello_only,
	    DATA_MAXPAYLOAD, 0, 0, 0 },
	{ ROLE_SCHEDULER, ROLE_GITPULL, sched_to_git, git_to_sched,
	    REQ_MAXPAYLOAD, 0, 0, 0 },
	{ ROLE_SCHEDULER, ROLE_SENDER, points_sends, points_acks,
	    DATA_MAXPAYLOAD, 0, 0, 0 },
	{ ROLE_COLLECTOR, ROLE_SENDER, points_sends, points_acks,
	    DATA_MAXPAYLOAD, 0, 0, 0 },
	/* GET /me/traffic: the collector's latest NET values */
	{ ROLE_COLLECTOR, ROLE_FRONT, collector_to_front, hello_only,
	    DATA_MAXPAYLOAD, 0, 0, 0 },
};
const size_t proto_peer_edge_count =
    sizeof(proto_peer_edges) / sizeof(proto_peer_edges[0]);

const char *
proto_role_name(enum role r)
{
	if ((unsigned)r >= ROLE_MAX)
		return "unknown";
	return role_names[r];
}

int
proto_role_parse(const char *s, enum role *out)
{
	int	 r;

	for (r = 0; r < ROLE_MAX; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum role)r;
			return 0;
		}
	}
	return -1;
}

const char *
proto_msg_name(uint16_t type)
{
	if (type >= MSG_MAX || msg_names[type] == NULL)
		return "unknown";
	return msg_names[type];
}

const struct edge_def *
proto_control_edge(enum role worker)
{
	if (worker < ROLE_FIRST_WORKER || worker >= ROLE_MAX)
		return NULL;
	return &control_edges[worker];
}

const struct edge_def *
proto_peer_edge_find(enum role x, enum role y)
{
	size_t	 i;

	for (i = 0; i < proto_peer_edge_count; i++) {
		if ((proto_peer_edges[i].a == x
		    && proto_peer_edges[i].b == y) ||
		    (proto_peer_edges[i].a == y && proto_peer_edges[i].b == x))
			return &proto_peer_edges[i];
	}
	return NULL;
}

enum role
proto_edge_other(const struct edge_def *e, enum role self)
{
	return e->a == self ? e->b : e->a;
}

int
proto_edge_may_pass_fd(const struct edge_def *e, enum role from)
{
	if (from == e->a)
		return e->a_fdpass;
	if (from == e->b)
		return e->b_fdpass;
	return 0;
}

size_t
proto_edge_maxpayload(const struct edge_def *e, enum role from)
{
	return from == e->b && e->b_maxpayload != 0 ? e->b_maxpayload :
	    e->maxpayload;
}

int
proto_edge_may_send(const struct edge_def *e, enum role from, uint16_t type)
{
	const uint16_t	*t;

	if (from == e->a)
		t = e->a_sends;
	else if (from == e->b)
		t = e->b_sends;
	else
		return 0;
	for (; *t != MSG_NONE; t++)
		if (*t == type)
			return 1;
	return 0;
}
