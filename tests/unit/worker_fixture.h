/*
 * For the tests that run a worker as the master runs it (worker_main() in
 * a forked kid) and are its master and its peers: the fork, the control
 * edge, what the master sends before SETUP_END, the wait in the loop for
 * what the kid does, and its stop.  For those that host a worker's state
 * in the test instead, that worker on its control edge.  And for every
 * test that reads a worker's counters, the look-up of one of them.
 */
#ifndef TEST_WORKER_FIXTURE_H
#define TEST_WORKER_FIXTURE_H

#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include <ev.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "proto.h"
#include "status.h"
#include "workers/worker.h"

/* The value of counter `key`, UINT64_MAX when there is none. */
static inline uint64_t
stat_of(const struct worker_stats *st, const char *key)
{
	uint32_t	 i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->v[i].key, key) == 0)
			return st->v[i].value;
	return UINT64_MAX;
}

/*
 * A worker of `ops`' role hosted in the test on `loop`, its conf the
 * defaults, nothing started: not worker_host_init(), whose callbacks
 * would take the control edge from the test's msg, closed and arg.  The
 * edge is one end of a socketpair of SOCK_STREAM | `flags`; the other,
 * the master's, is returned.
 */
static inline int
worker_on_edge(struct worker *w, struct ev_loop *loop,
    const struct worker_ops *ops, int flags, frame_msg_cb msg,
    frame_close_cb closed, void *arg)
{
	struct frame_rules	 rules;
	char			 ename[64];
	int			 sv[2];

	cr_assert_eq(conf_defaults(&w->conf), 0);
	w->loop = loop;
	w->role = ops->role;
	w->ops = ops;
	w->have_conf = 1;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | flags, 0, sv), 0);
	snprintf(ename, sizeof(ename), "%s<->master",
	    proto_role_name(ops->role));
	rules.edge = proto_control_edge(ops->role);
	rules.self = ops->role;
	rules.name = ename;
	cr_assert_not_null(w->ctl = frame_conn_new(loop, sv[0], &rules, msg,
	    closed, arg));
	return sv[1];
}

/* A forked worker and the master's end of its control edge. */
struct worker_kid {
	struct ev_loop		*loop;
	enum role		 role;
	pid_t			 pid;
	int			 status;	/* once exited */
	int			 exited;
	int			 ready;		/* MSG_READY came */
	struct frame_conn	*ctl;		/* NULL once closed */
	frame_msg_cb		 msg;		/* the test's, for ctl */
	void			*arg;		/* and its argument */
	int			 asking;	/* for counters, each tick */
	uint32_t		 stats_reqid;
};

/* What every such test does with the kid's frames, before its own. */
static inline void
kid_ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct worker_kid	*k = arg;
	struct preader		 pr;
	char			*msg;

	switch (in->hdr.type) {
	case MSG_READY:
		k->ready = 1;
		break;
	case MSG_LOG:
		/* the kid's log, to read beside a failure */
		codec_get_init(&pr, in->data, in->datalen);
		(void)codec_get_u32(&pr);
		if ((msg = codec_get_str(&pr)) != NULL) {
			fprintf(stderr, "%s: %s\n", proto_role_name(k->role),
			    msg);
			free(msg);
		}
		break;
	default:
		break;
	}
	k->msg(fc, in, k->arg);
}

static inline void
kid_ctl_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct worker_kid *)arg)->ctl = NULL;
}

/*
 * Fork the worker of `role` as spawn_child() does (its control edge on
 * CONTROL_FD, nothing else open), on a new loop; what it sends the master
 * goes to msg(.., arg), after kid_ctl_msg().
 */
static inline void
kid_start(struct worker_kid *k, enum role role, frame_msg_cb msg, void *arg)
{
	struct frame_rules	 rules;
	char			 name[64], *argv[] = { name, NULL };
	char			 ename[64];
	int			 sv[2];

	memset(k, 0, sizeof(*k));
	k->role = role;
	k->msg = msg;
	k->arg = arg;
	cr_assert_not_null(k->loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((k->pid = fork()) == 0) {
		snprintf(name, sizeof(name), "agent-test-%s",
		    proto_role_name(role));
		if (dup2(sv[1], CONTROL_FD) == -1)
			_exit(120);
		closefrom(CONTROL_FD + 1);
		/* _exit: no exit handlers (or LeakSanitizer) under seccomp */
		_exit(worker_main(role, 1, argv));
	}
	cr_assert_neq(k->pid, -1);
	close(sv[1]);

	snprintf(ename, sizeof(ename), "test-master<->%s",
	    proto_role_name(role));
	rules.edge = proto_control_edge(role);
	rules.self = ROLE_MASTER;
	rules.name = ename;
	cr_assert_not_null(k->ctl = frame_conn_new(k->loop, sv[0], &rules,
	    kid_ctl_msg, kid_ctl_close, k));
}

/* The master's MSG_CONF: `c` as the worker's role has it. */
static inline void
kid_conf(struct worker_kid *k, const struct agent_conf *c)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	codec_put_u64(&pb, 1);
	conf_encode(&pb, c, k->role);
	cr_assert(!codec_put_failed(&pb));
	cr_assert_eq(frame_send(k->ctl, MSG_CONF, 0, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
}

/*
 * The test as the worker's peer `self`: a new edge, the worker's end
 * passed in MSG_PEER, the test's end returned with its callbacks.
 */
static inline struct frame_conn *
kid_peer(struct worker_kid *k, enum role self, frame_msg_cb msg,
    frame_close_cb closed, void *arg)
{
	struct frame_rules	 rules;
	struct frame_conn	*fc;
	struct pbuf		 pb;
	char			 ename[64];
	int			 pv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pv), 0);
	snprintf(ename, sizeof(ename), "test-%s<->%s", proto_role_name(self),
	    proto_role_name(k->role));
	rules.edge = proto_peer_edge_find(self, k->role);
	rules.self = self;
	rules.name = ename;
	cr_assert_not_null(fc = frame_conn_new(k->loop, pv[0], &rules, msg,
	    closed, arg));
	codec_put_init(&pb);
	codec_put_u32(&pb, self);
	cr_assert_eq(frame_send(k->ctl, MSG_PEER, 0, pb.buf, pb.len, pv[1]),
	    0);
	codec_put_free(&pb);
	return fc;
}

/* The HELLO a peer `self` says first on its edge `fc`. */
static inline void
peer_hello(struct frame_conn *fc, enum role self)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	codec_put_u32(&pb, self);
	codec_put_u64(&pb, 1);
	cr_assert_eq(frame_send(fc, MSG_HELLO, 0, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
}

/*
 * Each tick: the kid reaped once it exits, and, while k->asking, its
 * counters asked for as the master does before a /me/status (its own
 * pushes are seconds apart).
 */
static inline void
kid_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker_kid	*k = t->data;
	int			 st;

	if (!k->exited && waitpid(k->pid, &st, WNOHANG) == k->pid) {
		k->exited = 1;
		k->status = st;
	}
	if (k->asking && k->ctl != NULL) {
		if (++k->stats_reqid == 0)
			k->stats_reqid = 1;
		(void)frame_send(k->ctl, MSG_STATS_REQ, k->stats_reqid, NULL,
		    0, -1);
	}
}

/*
 * Run the loop until cond(arg) or `secs` pass, ticking every 20 ms; 1
 * when cond held.  `secs` bounds a hang, which is the failure.
 */
static inline int
kid_wait(struct worker_kid *k, int (*cond)(void *), void *arg, double secs)
{
	ev_timer	 tick;
	ev_tstamp	 end;

	ev_timer_init(&tick, kid_tick, 0.02, 0.02);
	tick.data = k;
	ev_timer_start(k->loop, &tick);
	ev_now_update(k->loop);
	end = ev_now(k->loop) + secs;
	while (!cond(arg) && ev_now(k->loop) < end)
		ev_run(k->loop, EVRUN_ONCE);
	ev_timer_stop(k->loop, &tick);
	return cond(arg);
}

/* kid_wait() of a condition on the counters, asking for them. */
static inline int
kid_wait_stats(struct worker_kid *k, int (*cond)(void *), void *arg,
    double secs)
{
	int	 rv;

	k->asking = 1;
	rv = kid_wait(k, cond, arg, secs);
	k->asking = 0;
	return rv;
}

/* For kid_wait(), of the struct worker_kid itself. */
static inline int
kid_ready(void *arg)
{
	struct worker_kid	*k = arg;

	return k->ready || k->exited;
}

static inline int
kid_exited(void *arg)
{
	return ((struct worker_kid *)arg)->exited;
}

/*
 * SHUTDOWN (unless the test closed the edge), the end awaited for at most
 * `secs`, the edge closed; the test's peers and the loop are its own.
 */
static inline void
kid_stop(struct worker_kid *k, double secs)
{
	if (k->ctl != NULL)
		cr_assert_eq(frame_send(k->ctl, MSG_SHUTDOWN, 0, NULL, 0, -1),
		    0);
	cr_assert(kid_wait(k, kid_exited, k, secs), "the %s did not stop",
	    proto_role_name(k->role));
	if (k->ctl != NULL)
		frame_conn_close(k->ctl);
	k->ctl = NULL;
}

#endif
