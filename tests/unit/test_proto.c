/* The topology table and the status message. */
#include <criterion/criterion.h>

#include <string.h>

#include "codec.h"
#include "proto.h"
#include "status.h"

Test(proto, role_names_round_trip)
{
	enum role	 r, back;

	for (r = ROLE_MASTER; r < ROLE_MAX; r++) {
		cr_assert_eq(proto_role_parse(proto_role_name(r), &back), 0);
		cr_assert_eq(back, r);
	}
	cr_assert_eq(proto_role_parse("frontx", &back), -1);
	cr_assert_str_eq(proto_role_name(ROLE_MAX), "unknown");
}

Test(proto, every_message_type_has_a_name)
{
	uint16_t	 t;

	for (t = 1; t < MSG_MAX; t++)
		cr_assert_str_neq(proto_msg_name(t), "unknown", "type %u", t);
	cr_assert_str_eq(proto_msg_name(MSG_MAX), "unknown");
}

Test(proto, peer_edges_are_sound)
{
	const struct edge_def	*e, *f;
	const uint16_t		*t;
	size_t			 i, j;

	/* DESIGN.md lists 8 peer edges; issue 5 adds collector -> front
	 * (GET /me/traffic) */
	cr_assert_eq(proto_peer_edge_count, 9);
	for (i = 0; i < proto_peer_edge_count; i++) {
		e = &proto_peer_edges[i];
		cr_assert(e->a >= ROLE_FIRST_WORKER && e->a < ROLE_MAX);
		cr_assert(e->b >= ROLE_FIRST_WORKER && e->b < ROLE_MAX);
		cr_assert_neq(e->a, e->b);
		/* no worker hands another a descriptor */
		cr_assert(!proto_edge_may_pass_fd(e, e->a));
		cr_assert(!proto_edge_may_pass_fd(e, e->b));
		cr_assert(proto_edge_may_send(e, e->a, MSG_HELLO));
		cr_assert(proto_edge_may_send(e, e->b, MSG_HELLO));
		for (t = e->a_sends; *t != MSG_NONE; t++)
			cr_assert_lt(*t, MSG_MAX);
		for (t = e->b_sends; *t != MSG_NONE; t++)
			cr_assert_lt(*t, MSG_MAX);
		cr_assert(!proto_edge_may_send(e, e->a, MSG_CONF));
		cr_assert(!proto_edge_may_send(e, ROLE_MASTER, MSG_HELLO));
		for (j = i + 1; j < proto_peer_edge_count; j++) {
			f = &proto_peer_edges[j];
			cr_assert(!((e->a == f->a && e->b == f->b) ||
			    (e->a == f->b && e->b == f->a)), "duplicate edge");
		}
		cr_assert_eq(proto_peer_edge_find(e->b, e->a), e);
		cr_assert_eq(proto_edge_other(e, e->a), e->b);
	}
	cr_assert_null(proto_peer_edge_find(ROLE_GITPULL, ROLE_SENDER));
	cr_assert_null(proto_peer_edge_find(ROLE_FRONT, ROLE_GITPULL));
}

Test(proto, control_edges)
{
	const struct edge_def	*e;
	enum role		 r;

	cr_assert_null(proto_control_edge(ROLE_MASTER));
	cr_assert_null(proto_control_edge(ROLE_MAX));
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		e = proto_control_edge(r);
		cr_assert_not_null(e);
		cr_assert_eq(e->a, ROLE_MASTER);
		cr_assert_eq(e->b, r);
		/* peers, listeners, the file output: down only, so that the
		 * master never closes a descriptor a worker chose */
		cr_assert(proto_edge_may_pass_fd(e, ROLE_MASTER));
		cr_assert(!proto_edge_may_pass_fd(e, r));
		cr_assert(!proto_edge_may_pass_fd(e, ROLE_MAX));
		cr_assert(proto_edge_may_send(e, ROLE_MASTER, MSG_PEER));
		cr_assert(proto_edge_may_send(e, r, MSG_LOG));
		cr_assert(!proto_edge_may_send(e, r, MSG_PEER));
		/* /me/status and /metrics; the self metrics */
		cr_assert_eq(proto_edge_may_send(e, r, MSG_STATUS_REQ),
		    r == ROLE_FRONT || r == ROLE_COLLECTOR);
		/* the file output's descriptor: to the sender, from us */
		cr_assert_eq(proto_edge_may_send(e, ROLE_MASTER,
		    MSG_OUTPUT_FILE), r == ROLE_SENDER);
		cr_assert(!proto_edge_may_send(e, r, MSG_OUTPUT_FILE));
		cr_assert(!proto_edge_may_send(e, ROLE_MASTER, MSG_REOPEN));
		/* fresh counters: the master asks every worker, none asks */
		cr_assert(proto_edge_may_send(e, ROLE_MASTER, MSG_STATS_REQ));
		cr_assert(!proto_edge_may_send(e, r, MSG_STATS_REQ));
		cr_assert(proto_edge_may_send(e, r, MSG_STATS));
		cr_assert(!proto_edge_may_send(e, ROLE_MASTER, MSG_STATS));
	}
}

Test(status, round_trip)
{
	struct agent_status	 st, back;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256];

	memset(&st, 0, sizeof(st));
	strcpy(st.version, "1.2.3");
	st.master_pid = 100;
	st.started = 1700000000;
	st.generation = 7;
	st.nworkers = 2;
	st.w[0].role = ROLE_FRONT;
	st.w[0].pid = 101;
	strcpy(st.w[0].state, "running");
	st.w[0].peers[ROLE_SENDER] = 105;
	st.w[1].role = ROLE_SENDER;
	strcpy(st.w[1].state, "backoff");
	st.w[1].restarts = 3;
	strcpy(st.w[1].last_exit, "killed by signal 9 (Killed)");
	st.w[1].last_exit_at = 1700000100;
	codec_put_init(&pb);
	status_encode(&pb, &st);
	cr_assert(!codec_put_failed(&pb));
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(status_decode(&pr, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&st, &back, sizeof(st)), 0);
	status_free(&back);

	/* the table of samples travels too */
	cr_assert_eq(metrics_put(&st.metrics, "worker_up", 1, "role", "front",
	    NULL), 0);
	codec_put_free(&pb);
	codec_put_init(&pb);
	status_encode(&pb, &st);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(status_decode(&pr, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.metrics.n, 1);
	cr_assert_eq(memcmp(back.metrics.v, st.metrics.v,
	    sizeof(*st.metrics.v)), 0);
	status_free(&back);
	status_free(&st);

	/* a cut message is an error, not a half-filled status */
	codec_get_init(&pr, pb.buf, pb.len - 3);
	cr_assert_eq(status_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "status:") != NULL, "%s", err);
	codec_put_free(&pb);
}

Test(status, too_many_workers_rejected)
{
	struct agent_status	 back;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256];

	codec_put_init(&pb);
	codec_put_str(&pb, "v");
	codec_put_u32(&pb, 1);
	codec_put_i64(&pb, 0);
	codec_put_u64(&pb, 1);
	codec_put_u32(&pb, ROLE_MAX + 1);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(status_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "workers") != NULL, "%s", err);
	codec_put_free(&pb);
}
