/*
 * The scheduler worker end to end on one loop, with its peers played by
 * this test over real socketpairs and frames: the fetcher sends items,
 * gitpull answers checkouts, the front asks /plugins/ questions, the
 * sender receives points.  Plugins are real scripts.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "items.h"
#include "log.h"
#include "plugin_msg.h"
#include "points_msg.h"
#include "workers/gitpull/gitpull_marker.h"
#include "workers/scheduler/scheduler.h"
#include "workers/scheduler/scheduler_output.h"

#define NS	"pool.loda"
#define GIT	"git@git.test.com:plugins/mysql.git"
#define COMMIT	"0123456789abcdef0123456789abcdef01234567"

#define FAKE_QMAX	128	/* messages a fake peer keeps */

struct got {
	uint16_t	 type;
	uint32_t	 reqid;
	uint8_t		*data;
	size_t		 len;
};

/* A process on the other side of one edge, played by the test. */
struct fake {
	enum role		 role;
	struct frame_conn	*fc;
	struct got		 q[FAKE_QMAX];
	size_t			 n;
};

static struct {
	struct ev_loop	*loop;
	struct worker	 w;
	struct fake	 peers[ROLE_MAX];
	char		 dir[64];
	ev_timer	 deadline;
	uint32_t	 items_seq;	/* reqid of our last MSG_ITEMS */
} h;

static void
fake_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct fake	*f = arg;
	struct got	*g;

	if (in->hdr.type == MSG_HELLO)
		return;
	cr_assert(f->n < FAKE_QMAX);
	g = &f->q[f->n++];
	g->type = in->hdr.type;
	g->reqid = in->hdr.reqid;
	g->len = in->datalen;
	cr_assert_not_null(g->data = malloc(in->datalen + 1));
	memcpy(g->data, in->data, in->datalen);
}

static void
fake_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct fake	*f = arg;

	f->fc = NULL;
}

static enum role
sched_peer(struct frame_conn *fc)
{
	enum role	 r;

	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (h.w.peers[r] == fc)
			return r;
	return ROLE_MASTER;
}

/* The scheduler's ends: what the worker runtime does, in short. */
static void
sched_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	enum role	 from = sched_peer(fc);

	if (in->hdr.type == MSG_HELLO)
		return;
	cr_assert_eq(scheduler_ops.peer_msg(&h.w, from, in), 0,
	    "%s from %s refused", proto_msg_name(in->hdr.type),
	    proto_role_name(from));
}

static void
sched_close(struct frame_conn *fc, const char *why, void *arg)
{
	enum role	 from = sched_peer(fc);

	h.w.peers[from] = NULL;
	h.w.peer_pid[from] = 0;
	scheduler_ops.peer_changed(&h.w, from, 0);
}

static void
link_peer(enum role r)
{
	struct frame_rules	 ours, theirs;
	int			 sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	ours.edge = theirs.edge = proto_peer_edge_find(ROLE_SCHEDULER, r);
	cr_assert_not_null(ours.edge);
	ours.self = ROLE_SCHEDULER;
	ours.name = "scheduler<->peer";
	theirs.self = r;
	theirs.name = "peer<->scheduler";
	h.w.peers[r] = frame_conn_new(h.loop, sv[0], &ours, sched_msg,
	    sched_close, NULL);
	h.peers[r].role = r;
	h.peers[r].fc = frame_conn_new(h.loop, sv[1], &theirs, fake_msg,
	    fake_close, &h.peers[r]);
	cr_assert_not_null(h.w.peers[r]);
	cr_assert_not_null(h.peers[r].fc);
	/* as the runtime does when the peer's HELLO comes */
	h.w.peer_pid[r] = 4242;
	scheduler_ops.peer_changed(&h.w, r, 4242);
}

/* A checkout as gitpull would leave it, with `script` as the plugin. */
static void
checkout(const char *project, const char *script)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", h.dir, NS);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", h.dir, NS, project);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s/plugin", h.dir, NS, project);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs(script, fp);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(chmod(path, 0755), 0);
}

/*
 * A host name whose plugins start 7 s from now at least.  A host's
 * plugins start at the second of the clock its name falls on: with the
 * machine's own, a test that fires a timer by hand would meet the real
 * one when run in the second before that (a run too many, a tick counted
 * skipped), as the wall clock has it.  Every period the tests use
 * divides 60 s: they all fall on that second.
 */
static void
host_away(void)
{
	struct sched	*s = h.w.priv;
	uint64_t	 want = ((uint64_t)ev_now(h.loop) + 1 + 7) % 60;
	unsigned	 i;

	for (i = 0; i < 100000; i++) {
		snprintf(s->host, sizeof(s->host), "test-%u", i);
		if (scheduler_phase(s->host, 60) == want)
			return;
	}
	cr_assert_fail("no host name falls on second %" PRIu64, want);
}

static void
setup(void)
{
	char	 err[256];

	memset(&h, 0, sizeof(h));
	snprintf(h.dir, sizeof(h.dir), "/tmp/test_sched_flow.XXXXXX");
	cr_assert_not_null(mkdtemp(h.dir));
	cr_assert_not_null(h.loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_eq(conf_defaults(&h.w.conf), 0);
	snprintf(h.w.conf.pluginsdir, sizeof(h.w.conf.pluginsdir), "%s",
	    h.dir);
	snprintf(h.w.conf.format, sizeof(h.w.conf.format), "line");
	h.w.conf.allowrootplugins = 1;
	h.w.loop = h.loop;
	h.w.role = ROLE_SCHEDULER;
	h.w.ops = &scheduler_ops;
	h.w.have_conf = 1;
	log_set_level(LOG_LVL_ERROR);
	cr_assert_eq(scheduler_ops.start(&h.w, err, sizeof(err)), 0, "%s",
	    err);
	host_away();
	link_peer(ROLE_FRONT);
	link_peer(ROLE_FETCHER);
	link_peer(ROLE_GITPULL);
	link_peer(ROLE_SENDER);
}

static void
teardown(void)
{
	enum role	 r;
	size_t		 i;
	char		 cmd[128];

	scheduler_ops.cleanup(&h.w);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		if (h.w.peers[r] != NULL)
			frame_conn_close(h.w.peers[r]);
		if (h.peers[r].fc != NULL)
			frame_conn_close(h.peers[r].fc);
		for (i = 0; i < h.peers[r].n; i++)
			free(h.peers[r].q[i].data);
	}
	conf_free(&h.w.conf);
	ev_loop_destroy(h.loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", h.dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(sched_flow, .init = setup, .fini = teardown, .timeout = 30);

static struct sched *
S(void)
{
	return h.w.priv;
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
}

/* Run the loop until `role` has received `n` messages, or 10 s. */
static void
wait_for(enum role role, size_t n)
{
	ev_timer_init(&h.deadline, deadline_cb, 10., 0.);
	ev_timer_start(h.loop, &h.deadline);
	while (h.peers[role].n < n && ev_is_active(&h.deadline))
		ev_run(h.loop, EVRUN_ONCE);
	ev_timer_stop(h.loop, &h.deadline);
	cr_assert_geq(h.peers[role].n, n, "%s got %zu messages, not %zu",
	    proto_role_name(role), h.peers[role].n, n);
}

/*
 * Run the loop until cond() holds; 10 s is a bound for a hang only.  No
 * test waits for a fixed time: each waits for the state it needs.
 */
static void
wait_state(int (*cond)(uint32_t), uint32_t arg, const char *what)
{
	ev_timer	 tick;

	/* a tick, for states no message announces (a file appearing) */
	ev_timer_init(&tick, deadline_cb, 0.01, 0.01);
	ev_timer_start(h.loop, &tick);
	ev_timer_init(&h.deadline, deadline_cb, 10., 0.);
	ev_timer_start(h.loop, &h.deadline);
	while (!cond(arg) && ev_is_active(&h.deadline))
		ev_run(h.loop, EVRUN_ONCE);
	ev_timer_stop(h.loop, &h.deadline);
	ev_timer_stop(h.loop, &tick);
	cr_assert(cond(arg), "no %s within 10 s", what);
}

/* The plugin "mysql" made the file `arg` names in its directory. */
static const char	*plugin_file;

static int
plugin_made_file(uint32_t unused)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/%s/mysql/%s", h.dir, NS,
	    plugin_file);
	return access(path, F_OK) == 0;
}

/* The fetcher has the scheduler's MSG_ITEMS_ACK of our items `seq`. */
static int
items_acked(uint32_t seq)
{
	size_t	 i;

	for (i = 0; i < h.peers[ROLE_FETCHER].n; i++)
		if (h.peers[ROLE_FETCHER].q[i].type == MSG_ITEMS_ACK &&
		    h.peers[ROLE_FETCHER].q[i].reqid == seq)
			return 1;
	return 0;
}

/* The scheduler took gitpull's answer `reqid`: nothing waits for it. */
static int
git_answered(uint32_t reqid)
{
	struct gitwait	*gw;

	TAILQ_FOREACH(gw, &S()->gitwaits, entry)
		if (gw->reqid == reqid)
			return 0;
	return 1;
}

/* The plugin "mysql" is enabled. */
static int
plugin_enabled(uint32_t unused)
{
	struct plugin	*p = scheduler_find(S(), NS "|mysql");

	return p != NULL && p->enabled;
}

/* The scheduler saw the edge to `role` close. */
static int
edge_closed(uint32_t role)
{
	return h.w.peers[role] == NULL;
}

/*
 * Read what the scheduler already wrote to the test's ends: frames sent
 * before one the test has seen are in the sockets, so a few rounds of
 * the loop that do not block take them all.
 */
static void
drain(void)
{
	size_t		 before, i;
	enum role	 r;

	do {
		for (before = 0, r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
			before += h.peers[r].n;
		for (i = 0; i < 3; i++)
			ev_run(h.loop, EVRUN_NOWAIT);
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
			before -= h.peers[r].n;
	} while (before != 0);
}

/* A timer event fed by the test: its callback runs now. */
static void
fire(ev_timer *t)
{
	ev_feed_event(h.loop, t, EV_TIMER);
	ev_invoke_pending(h.loop);
}

static void
send_items(const char *const *gits, const int64_t *intervals, size_t n)
{
	struct items		 it;
	struct plugin_item	 pi;
	struct pbuf		 pb;
	char			 repo[256], project[128], err[128];
	size_t			 i;

	items_init(&it);
	cr_assert_eq(strlist_add(&it.namespaces, NS), 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(items_repo_from_git(gits[i], repo, sizeof(repo),
		    project, sizeof(project), err, sizeof(err)), 0);
		memset(&pi, 0, sizeof(pi));
		strlist_init(&pi.params);
		pi.ns = NS;
		snprintf(err, sizeof(err), "PLUGIN.%s", project);
		pi.name = err;
		pi.git = (char *)gits[i];
		pi.repo = repo;
		pi.project = project;
		pi.interval = intervals[i];
		cr_assert_eq(strlist_add(&pi.params, "-x"), 0);
		cr_assert_eq(items_add_plugin(&it, &pi), 0);
		strlist_free(&pi.params);
	}
	codec_put_init(&pb);
	items_encode(&pb, &it);
	cr_assert_eq(frame_send(h.peers[ROLE_FETCHER].fc, MSG_ITEMS,
	    (uint32_t)++h.items_seq, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
	items_free(&it);
	wait_state(items_acked, h.items_seq, "MSG_ITEMS_ACK");
}

/* Gitpull's message `i`, a MSG_GIT_REQ, decoded. */
static struct got *
git_req_of(size_t i, struct git_req *req)
{
	struct got	*g = &h.peers[ROLE_GITPULL].q[i];
	struct preader	 pr;
	char		 err[128];

	cr_assert_eq(g->type, MSG_GIT_REQ);
	codec_get_init(&pr, g->data, g->len);
	cr_assert_eq(plugin_msg_git_req_decode(&pr, req, err, sizeof(err)), 0,
	    "%s", err);
	return g;
}

/* Gitpull's answer `resp` to request `g`. */
static void
git_reply(const struct got *g, const struct git_resp *resp)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	plugin_msg_git_resp_encode(&pb, resp);
	cr_assert_eq(frame_send(h.peers[ROLE_GITPULL].fc, MSG_GIT_RESP,
	    g->reqid, pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
}

/* Gitpull's answer to its message `i`; the request is checked. */
static void
git_answer(size_t i, int ok, const char *project, int update)
{
	struct git_req	 req;
	struct git_resp	 resp;
	struct got	*g = git_req_of(i, &req);

	cr_assert_str_eq(req.ns, NS);
	cr_assert_str_eq(req.project, project);
	cr_assert_eq(req.update, update);
	memset(&resp, 0, sizeof(resp));
	resp.ok = ok;
	snprintf(resp.commit, sizeof(resp.commit), "%s", ok ? COMMIT : "");
	snprintf(resp.error, sizeof(resp.error), "%s", ok ? "" :
	    "git clone: repository not found");
	git_reply(g, &resp);
	wait_state(git_answered, g->reqid, "use of gitpull's answer");
}

/*
 * Gitpull's part in message `i`, a marker's: gitpull's own code makes or
 * removes it in the test's pluginsdir, at the scheduler's clock (which
 * the sweep test moves).
 */
static void
git_mark(size_t i, enum git_mark want, const char *project)
{
	struct git_req	 req;
	struct git_resp	 resp;
	struct got	*g = git_req_of(i, &req);

	cr_assert_eq(req.mark, want);
	cr_assert_str_eq(req.ns, NS);
	cr_assert_str_eq(req.project, project);
	memset(&resp, 0, sizeof(resp));
	cr_assert_eq(gitpull_marker_apply(h.dir, &req, scheduler_now(),
	    &resp.kept, resp.error, sizeof(resp.error)), 0, "%s", resp.error);
	resp.ok = 1;
	git_reply(g, &resp);
}

/* Gitpull's failure of marker message `i`, with `why`. */
static void
git_fail(size_t i, const char *why)
{
	struct git_req	 req;
	struct git_resp	 resp;
	struct got	*g = git_req_of(i, &req);

	cr_assert_neq(req.mark, GIT_MARK_NONE);
	memset(&resp, 0, sizeof(resp));
	snprintf(resp.error, sizeof(resp.error), "%s", why);
	git_reply(g, &resp);
}

/* Gitpull's refusal of message `i` by the signature check. */
static void
git_untrusted(size_t i, int update, int kept, const char *why)
{
	struct git_req	 req;
	struct git_resp	 resp;
	struct got	*g = git_req_of(i, &req);

	cr_assert_eq(req.update, update);
	memset(&resp, 0, sizeof(resp));
	resp.untrusted = 1;
	resp.kept = kept;
	snprintf(resp.error, sizeof(resp.error), "untrusted: %s", why);
	git_reply(g, &resp);
	wait_state(git_answered, g->reqid, "use of gitpull's answer");
}

static void
front_req_as(uint32_t reqid, enum plugin_op op, const char *ns,
    const char *repo, uint32_t timeout, const char *param, int redact)
{
	struct plugin_req	 r;
	struct pbuf		 pb;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.redact = redact;
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.repo, sizeof(r.repo), "%s", repo);
	r.timeout = timeout;
	if (param != NULL) {
		r.has_param = 1;
		snprintf(r.param, sizeof(r.param), "%s", param);
	}
	codec_put_init(&pb);
	plugin_req_encode(&pb, &r);
	cr_assert_eq(frame_send(h.peers[ROLE_FRONT].fc, MSG_PLUGIN_REQ, reqid,
	    pb.buf, pb.len, -1), 0);
	codec_put_free(&pb);
}

static void
front_req(uint32_t reqid, enum plugin_op op, const char *ns,
    const char *repo, uint32_t timeout, const char *param)
{
	front_req_as(reqid, op, ns, repo, timeout, param, 0);
}

/* The front's answer `i`: its reqid, status and JSON (freed by caller). */
static char *
front_answer(size_t i, uint32_t reqid, int status)
{
	struct got	*g;
	struct preader	 pr;
	char		*json, err[128];
	int		 st;

	wait_for(ROLE_FRONT, i + 1);
	g = &h.peers[ROLE_FRONT].q[i];
	cr_assert_eq(g->type, MSG_PLUGIN_RESP);
	cr_assert_eq(g->reqid, reqid);
	codec_get_init(&pr, g->data, g->len);
	cr_assert_eq(plugin_resp_decode(&pr, &st, &json, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(st, status, "status %d, not %d: %s", st, status, json);
	return json;
}

static void
assert_answer(size_t i, uint32_t reqid, int status, const char *want)
{
	char	*json = front_answer(i, reqid, status);

	cr_assert(strstr(json, want) != NULL, "\"%s\" lacks \"%s\"", json,
	    want);
	free(json);
}

/* The points of the sender's message `i`, as text. */
static void
sender_points(size_t i, const char *topic, uint32_t npoints, char *out,
    size_t outlen)
{
	struct got		*g = &h.peers[ROLE_SENDER].q[i];
	struct points_msg	 m;
	struct preader		 pr;
	char			 err[128];

	cr_assert_eq(g->type, MSG_POINTS);
	codec_get_init(&pr, g->data, g->len);
	cr_assert_eq(points_msg_decode(&pr, &m, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(m.topic, topic);
	cr_assert_eq(m.origin, ORIGIN_SCHEDULED);
	cr_assert_eq(m.fmt, FORMAT_LINE);
	cr_assert_eq(m.npoints, npoints, "%u points", m.npoints);
	cr_assert_lt(m.len, outlen);
	memcpy(out, m.data, m.len);
	out[m.len] = '\0';
}

Test(sched_flow, items_checkout_schedule_run_publish)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 30 };
	struct plugin	*p;
	char		 pts[4096], host[256], listed[1024];
	char		*want, *json;

	checkout("mysql", "#!/bin/sh\n"
	    "echo \"[{\\\"name\\\":\\\"qps\\\",\\\"value\\\":$#}, 1,"
	    "{\\\"name\\\":\\\"arg\\\",\\\"tags\\\":{\\\"a\\\":\\\"$1\\\"},"
	    "\\\"value\\\":1}]\"\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	cr_assert_eq(p->checkout, CHECKOUT_PENDING);
	/* applied, and the fetcher is told so (it then answers /update) */
	wait_for(ROLE_FETCHER, 1);
	cr_assert_eq(h.peers[ROLE_FETCHER].q[0].type, MSG_ITEMS_ACK);
	cr_assert_eq(h.peers[ROLE_FETCHER].q[0].reqid, h.items_seq);
	cr_assert_eq(h.peers[ROLE_FETCHER].q[0].len, 0);
	cr_assert_not(ev_is_active(&p->timer));
	git_answer(0, 1, "mysql", 0);
	cr_assert_eq(p->checkout, CHECKOUT_OK);
	cr_assert_str_eq(p->commit, COMMIT);
	cr_assert(ev_is_active(&p->timer));
	cr_assert_float_eq(p->timer.repeat, 30, 1e-9);

	/* the timer fires: a regular run with the registry's params */
	ev_feed_event(h.loop, &p->timer, EV_TIMER);
	wait_for(ROLE_SENDER, 2);
	snprintf(host, sizeof(host), "%s", S()->host);
	sender_points(0, "collect." NS, 2, pts, sizeof(pts));
	cr_assert_not_null(want = malloc(1024));
	snprintf(want, 1024, "PLUGIN.mysql.qps,host=%s value=1 ", host);
	cr_assert(strncmp(pts, want, strlen(want)) == 0, "%s", pts);
	snprintf(want, 1024, "\nPLUGIN.mysql.arg,a=-x,host=%s value=1 ",
	    host);
	cr_assert(strstr(pts, want) != NULL, "%s", pts);
	sender_points(1, "collect.exception.monitor.loda", 1, pts,
	    sizeof(pts));
	snprintf(want, 1024, "plugin.result,host=%s,name=plugins/mysql,"
	    "ns=" NS ",type=regular value=0 ", host);
	cr_assert(strncmp(pts, want, strlen(want)) == 0, "%s", pts);
	free(want);
	cr_assert_eq(p->runs, 1);
	cr_assert_eq(p->last.ok, 1);
	cr_assert_eq(p->last.points, 2);
	cr_assert_eq(p->last.dropped, 1);
	cr_assert(strstr(p->last.drop_error, "point 1: not an object") !=
	    NULL, "%s", p->last.drop_error);
	cr_assert_eq(S()->st.points_sent, 3);
	cr_assert_eq(S()->st.points_dropped, 1);

	/* the list shows it */
	front_req(7, PLUGIN_OP_LIST, "", "", 0, NULL);
	/* when the next run starts: the timer's moment, in unix seconds */
	snprintf(listed, sizeof(listed), "\"ns\":\"pool.loda\",\"name\":"
	    "\"PLUGIN.mysql\",\"git\":\"git@git.test.com:plugins/mysql.git\","
	    "\"repo\":\"plugins/mysql\",\"project\":\"mysql\","
	    "\"interval\":30,\"params\":[\"-x\"],\"enabled\":true,"
	    "\"scheduled\":true,\"next_run\":%lld,\"checkout\":\"ok\","
	    "\"commit\":\"" COMMIT "\",\"signer\":\"\",\"git_error\":\"\","
	    "\"running\":false,\"last_run\":", (long long)(ev_now(h.loop) +
	    ev_timer_remaining(h.loop, &p->timer) + 0.5));
	assert_answer(0, 7, 200, listed);
	assert_answer(0, 7, 200, "\"status\":\"ok\"");
	assert_answer(0, 7, 200, "\"points\":2,\"dropped\":1,");
	assert_answer(0, 7, 200, "\"stderr\":\"\",\"runs\":1");
	assert_answer(0, 7, 200, "\"runs\":1,\"failures\":0,\"skipped\":0,"
	    "\"timeouts\":0,\"points_total\":2,\"dropped_total\":1}]");

	/* for a client the front does not trust: no params, no stderr */
	front_req_as(8, PLUGIN_OP_LIST, "", "", 0, NULL, 1);
	json = front_answer(1, 8, 200);
	cr_assert_null(strstr(json, "\"params\""), "%s", json);
	cr_assert_null(strstr(json, "\"stderr\""), "%s", json);
	cr_assert_null(strstr(json, "-x"), "%s", json);
	cr_assert_not_null(strstr(json, "\"interval\":30,\"redacted\":true,"
	    "\"enabled\":true,"), "%s", json);
	cr_assert_not_null(strstr(json, "\"status\":\"ok\""), "%s", json);
	cr_assert_not_null(strstr(json, "\"runs\":1,\"failures\":0"), "%s",
	    json);
	free(json);
}

Test(sched_flow, api_run_waits_for_the_end_and_says_how_it_went)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 0 };
	struct plugin	*p;
	char		 pts[4096];

	checkout("mysql", "#!/bin/sh\n"
	    "for a in \"$@\"; do echo \"arg $a\" >&2; done\n"
	    "echo '[{\"name\":\"x\",\"value\":1}]'\nexit 2\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	/* on demand: never scheduled */
	cr_assert_not(ev_is_active(&p->timer));

	front_req(11, PLUGIN_OP_RUN, NS, GIT, 5, "a  b");
	wait_for(ROLE_GITPULL, 2);
	git_answer(1, 1, "mysql", 0);
	assert_answer(0, 11, 200, "{\"ns\":\"pool.loda\",\"repo\":"
	    "\"plugins/mysql\",\"commit\":\"" COMMIT "\",\"status\":"
	    "\"failed\",\"exit\":2,\"signal\":null,\"timed_out\":false,"
	    "\"duration\":");
	assert_answer(0, 11, 200, "\"points\":0,\"dropped\":0,\"error\":"
	    "\"exit status 2\",\"drop_error\":\"\",\"output_bytes\":25,"
	    "\"output_head\":\"[{\\\"name\\\":\\\"x\\\",\\\"value\\\":1}]\\n\","
	    "\"stderr\":\"arg a\\narg b\\n\"}");
	/* a failed run publishes its plugin.result only, type call */
	wait_for(ROLE_SENDER, 1);
	sender_points(0, "collect.exception.monitor.loda", 1, pts,
	    sizeof(pts));
	cr_assert(strstr(pts, ",type=call value=1 ") != NULL, "%s", pts);
	cr_assert_eq(p->failures, 1);
	cr_assert_eq(S()->st.failures, 1);
	/* the list keeps the stderr of the last run */
	front_req(12, PLUGIN_OP_LIST, "", "", 0, NULL);
	assert_answer(1, 12, 200, "\"last_type\":\"call\",\"status\":"
	    "\"failed\"");
	assert_answer(1, 12, 200, "\"error\":\"exit status 2\","
	    "\"drop_error\":\"\",\"stderr\":\"arg a\\narg b\\n\",");
}

Test(sched_flow, api_errors)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 0 };
	size_t		 i = 0;

	checkout("mysql", "#!/bin/sh\nsleep 5\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);

	front_req(1, PLUGIN_OP_RUN, "", GIT, 0, NULL);
	assert_answer(i++, 1, 400, "{\"error\":\"invalid ns or repo\"}");
	front_req(2, PLUGIN_OP_RUN, NS, "plugins/mysql", 0, NULL);
	assert_answer(i++, 2, 400, "{\"error\":\"invalid repo\"}");
	front_req(3, PLUGIN_OP_RUN, NS, "git@h:a/b/c.git", 0, NULL);
	assert_answer(i++, 3, 400, "{\"error\":\"invalid repo\"}");
	front_req(4, PLUGIN_OP_RUN, "other.loda", GIT, 0, NULL);
	assert_answer(i++, 4, 404, "{\"error\":\"plugin doesn't exist, add "
	    "to loda first please\"}");
	front_req(5, PLUGIN_OP_DISABLE, NS, "git@x:plugins/redis.git", 0,
	    NULL);
	assert_answer(i++, 5, 404, "doesn't exist");
	front_req(6, PLUGIN_OP_RUN, NS, GIT, 301, NULL);
	assert_answer(i++, 6, 400, "{\"error\":\"invalid timeout\"}");
	front_req(7, PLUGIN_OP_RUN, NS, GIT, 0, "-x ;rm");
	assert_answer(i++, 7, 400, "invalid parameter \\\";rm\\\"");

	/* a run that lasts, then another one: 409 */
	front_req(8, PLUGIN_OP_RUN, NS, GIT, 1, NULL);
	wait_for(ROLE_GITPULL, 2);
	git_answer(1, 1, "mysql", 0);
	cr_assert_not_null(scheduler_find(S(), NS "|mysql")->run);
	front_req(9, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	assert_answer(i++, 9, 409, "{\"error\":\"plugin is running\"}");
	/* the first one times out after 1 s and says so */
	assert_answer(i++, 8, 200, "\"status\":\"failed\",\"exit\":null,"
	    "\"signal\":15,\"timed_out\":true");

	/* the checkout fails: 502 with git's reason */
	front_req(10, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 3);
	git_answer(2, 0, "mysql", 0);
	assert_answer(i++, 10, 502, "{\"error\":\"checkout failed: git clone: "
	    "repository not found\"}");
	/* an update asks for one, and answers with the commit */
	front_req(12, PLUGIN_OP_UPDATE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 4);
	git_answer(3, 1, "mysql", 1);
	assert_answer(i++, 12, 200, "{\"ns\":\"pool.loda\",\"repo\":"
	    "\"plugins/mysql\",\"commit\":\"" COMMIT "\"}");
	front_req(13, PLUGIN_OP_UPDATE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 5);
	git_answer(4, 0, "mysql", 1);
	assert_answer(i++, 13, 502, "update failed: git clone");

	/* gitpull goes away: 503 at once */
	frame_conn_close(h.peers[ROLE_GITPULL].fc);
	h.peers[ROLE_GITPULL].fc = NULL;
	wait_state(edge_closed, ROLE_GITPULL, "close of the gitpull edge");
	front_req(14, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	assert_answer(i++, 14, 503, "gitpull is not running");
}

Test(sched_flow, disable_persists_and_enable_is_idempotent)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 10 };
	struct plugin	*p;
	char		 path[256];

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	snprintf(path, sizeof(path), "%s/plugin.disabled/" NS "|mysql",
	    h.dir);

	/* nothing changes until gitpull has made the marker */
	front_req(1, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 2);
	drain();
	cr_assert_eq(h.peers[ROLE_FRONT].n, 0);
	cr_assert_eq(p->enabled, 1);
	git_mark(1, GIT_MARK_DISABLE, "mysql");
	assert_answer(0, 1, 200, "{\"ns\":\"pool.loda\",\"repo\":"
	    "\"plugins/mysql\",\"enabled\":false}");
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(p->enabled, 0);
	/* a disabled plugin's timer fires and nothing runs (a run starts
	 * in the timer's callback, or not at all) */
	fire(&p->timer);
	cr_assert_null(p->run);
	cr_assert_eq(p->runs, 0);
	cr_assert_eq(h.peers[ROLE_SENDER].n, 0);
	/* so the list says no next run, though its timer goes on */
	{
		struct buf	 b;

		buf_init(&b);
		scheduler_list_json(S(), &b, 0, 1);
		cr_assert_not(buf_failed(&b));
		cr_assert_not_null(strstr(b.p, "\"enabled\":false,"
		    "\"scheduled\":true,\"next_run\":null,"), "%s", b.p);
		buf_free(&b);
	}

	/* the items again, as after a restart: the marker is read */
	p->enabled = 1;
	send_items(NULL, NULL, 0);
	cr_assert_null(scheduler_find(S(), NS "|mysql"));
	send_items(gits, ivs, 1);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	cr_assert_eq(p->enabled, 0);

	/* gitpull's message 2 is the new plugin's checkout */
	front_req(2, PLUGIN_OP_ENABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 4);
	git_mark(3, GIT_MARK_ENABLE, "mysql");
	assert_answer(1, 2, 200, "\"enabled\":true}");
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(p->enabled, 1);
	front_req(3, PLUGIN_OP_ENABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 5);
	git_mark(4, GIT_MARK_ENABLE, "mysql");
	assert_answer(2, 3, 200, "\"enabled\":true}");

	/* gitpull could not: 500 naming why, the plugin as it was */
	front_req(4, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 6);
	git_fail(5, "create /x/plugin.disabled/pool.loda|mysql: No space "
	    "left on device");
	assert_answer(3, 4, 500, "No space left on device");
	cr_assert_eq(p->enabled, 1);

	/* gitpull goes away: 503 at once, and for one asked already */
	front_req(5, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 7);
	frame_conn_close(h.peers[ROLE_GITPULL].fc);
	h.peers[ROLE_GITPULL].fc = NULL;
	assert_answer(4, 5, 503, "gitpull went away before answering");
	front_req(6, PLUGIN_OP_ENABLE, NS, GIT, 0, NULL);
	assert_answer(5, 6, 503, "gitpull is not running");
	cr_assert_eq(p->enabled, 1);
}

/*
 * `n` plugins (p0, p1, ...) every 30 s, more than gitpull is asked about
 * at once: the first SCHED_GIT_ITEMS_INFLIGHT questions are out.
 */
static void
many_plugins(size_t n)
{
	const char	**gits;
	char		**urls;
	int64_t		*ivs;
	size_t		 i;

	cr_assert_gt(n, SCHED_GIT_ITEMS_INFLIGHT);
	cr_assert_not_null(gits = calloc(n, sizeof(*gits)));
	cr_assert_not_null(urls = calloc(n, sizeof(*urls)));
	cr_assert_not_null(ivs = calloc(n, sizeof(*ivs)));
	for (i = 0; i < n; i++) {
		cr_assert_neq(asprintf(&urls[i],
		    "git@git.test.com:plugins/p%zu.git", i), -1);
		gits[i] = urls[i];
		ivs[i] = 30;
	}
	send_items(gits, ivs, n);
	wait_for(ROLE_GITPULL, SCHED_GIT_ITEMS_INFLIGHT);
	for (i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
	free(gits);
	free(ivs);
}

/* Every plugin's last run left SCHED_STDERR_KEPT bytes of `c`. */
static void
stderr_tails(char c)
{
	struct plugin	*p;

	TAILQ_FOREACH(p, &S()->plugins, entry) {
		p->last.at = 1;
		memset(p->last.stderr_tail, c, SCHED_STDERR_KEPT);
		p->last.stderr_tail[SCHED_STDERR_KEPT] = '\0';
	}
}

/*
 * A list larger than the edge to the front takes (16 MiB): 3000 plugins
 * whose last stderr was 1 kB of control bytes, 6 kB each once escaped.
 * Answered without the tails, each one left out marked, instead of a
 * 500; a list that fits keeps them.
 */
Test(sched_flow, a_list_too_large_goes_without_the_stderr_tails)
{
	enum { N = 3000 };
	struct plugin	*p;
	char		*json;
	const char	*at;
	size_t		 cut;

	many_plugins(N);
	stderr_tails(1);
	front_req(1, PLUGIN_OP_LIST, "", "", 0, NULL);
	json = front_answer(0, 1, 200);
	for (cut = 0, at = json; (at = strstr(at,
	    "\"stderr\":\"\",\"stderr_cut\":true,\"runs\"")) != NULL; at++)
		cut++;
	cr_assert_eq(cut, N, "%zu of %d tails left out", cut, N);
	cr_assert_not_null(strstr(json, "\"project\":\"p2999\""));
	free(json);

	TAILQ_FOREACH(p, &S()->plugins, entry)
		snprintf(p->last.stderr_tail, sizeof(p->last.stderr_tail),
		    "short\x01");
	front_req(2, PLUGIN_OP_LIST, "", "", 0, NULL);
	json = front_answer(1, 2, 200);
	cr_assert_null(strstr(json, "stderr_cut"));
	cr_assert_not_null(strstr(json, "\"stderr\":\"short\\u0001\","
	    "\"runs\""), "%.300s", json);
	free(json);
}

/*
 * Lists of 16 MB asked five at once, before the front reads any: the
 * edge queues 64 MiB at most, so the fifth cannot go, and gets a short
 * 503 in its place instead of no answer (the front's client would wait
 * for its timeout).
 */
Test(sched_flow, lists_the_front_has_no_room_for_get_503)
{
	enum { N = 2500 };
	uint32_t	 id;
	size_t		 i, ok = 0, busy = 0;
	char		*json;

	many_plugins(N);
	stderr_tails(1);
	for (id = 1; id <= 5; id++)
		front_req(id, PLUGIN_OP_LIST, "", "", 0, NULL);
	wait_for(ROLE_FRONT, 5);
	for (i = 0; i < 5; i++) {
		struct got	*g = &h.peers[ROLE_FRONT].q[i];
		struct preader	 pr;
		char		 err[128];
		int		 st;

		codec_get_init(&pr, g->data, g->len);
		cr_assert_eq(plugin_resp_decode(&pr, &st, &json, err,
		    sizeof(err)), 0, "%s", err);
		if (st == 200) {
			cr_assert_null(strstr(json, "stderr_cut"));
			ok++;
		} else {
			cr_assert_eq(st, 503);
			cr_assert_str_eq(json, "{\"error\":\"too many answers "
			    "wait for the front; ask again\"}");
			busy++;
		}
		free(json);
	}
	cr_assert_geq(ok, 3);
	cr_assert_geq(busy, 1);
}

/* The warnings logged, for the tests that look at what was said. */
static char	 warned[8][512];
static size_t	 nwarned;

static void
catch_warn(enum log_level level, const char *msg, void *arg)
{
	if (level >= LOG_LVL_WARN &&
	    nwarned < sizeof(warned) / sizeof(warned[0]))
		snprintf(warned[nwarned++], sizeof(warned[0]), "%s", msg);
}

/* Of the front's answers from..to-1 (each freed), those 503 busy. */
static size_t
front_busy_answers(size_t from, size_t to)
{
	struct got	*g;
	struct preader	 pr;
	char		*json, err[128];
	size_t		 i, busy = 0;
	int		 st;

	for (i = from; i < to; i++) {
		g = &h.peers[ROLE_FRONT].q[i];
		codec_get_init(&pr, g->data, g->len);
		cr_assert_eq(plugin_resp_decode(&pr, &st, &json, err,
		    sizeof(err)), 0, "%s", err);
		if (st == 503)
			busy++;
		free(json);
		free(g->data);
		g->data = NULL;
	}
	return busy;
}

/*
 * Those 503s are logged: the front's client saw one and nothing said
 * why.  One line per WARN_LIMIT_EVERY, the next with how many were not
 * logged meanwhile.
 */
Test(sched_flow, answers_the_front_has_no_room_for_are_logged_at_a_rate)
{
	uint32_t	 id;
	size_t		 busy;
	char		 want[64];

	many_plugins(2500);
	stderr_tails(1);
	log_set_level(LOG_LVL_WARN);
	log_set_sink(catch_warn, NULL);
	for (id = 1; id <= 7; id++)
		front_req(id, PLUGIN_OP_LIST, "", "", 0, NULL);
	wait_for(ROLE_FRONT, 7);
	busy = front_busy_answers(0, 7);
	cr_assert_geq(busy, 2);
	cr_assert_eq(nwarned, 1, "%zu lines for %zu refusals", nwarned, busy);
	cr_assert_not_null(strstr(warned[0], "respond_failed: answer 200 to "
	    "request "), "%s", warned[0]);
	cr_assert_not_null(strstr(warned[0], "not sent: the front has not "
	    "read the 64 MiB sent before it; answered 503 (0 more since the "
	    "last such line)"), "%s", warned[0]);

	/* a rate limit's interval later */
	S()->front_busy.last -= WARN_LIMIT_EVERY;
	for (id = 8; id <= 14; id++)
		front_req(id, PLUGIN_OP_LIST, "", "", 0, NULL);
	wait_for(ROLE_FRONT, 14);
	cr_assert_geq(front_busy_answers(7, 14), 1);
	log_set_sink(NULL, NULL);
	cr_assert_eq(nwarned, 2);
	snprintf(want, sizeof(want), "answered 503 (%zu more since", busy - 1);
	cr_assert_not_null(strstr(warned[1], want), "%s", warned[1]);
}

/*
 * gitpull up and reading nothing, as a stopped one leaves its edge: a
 * new edge whose gitpull end is never read, the scheduler's end filled
 * to within a header (the socket's buffer first).  Its end, to close.
 */
static int
gitpull_reading_nothing(void)
{
	static char		 junk[64 * 1024];
	struct frame_rules	 ours;
	struct frame_conn	*fc;
	size_t			 len, last = 0;
	int			 sv[2];

	frame_conn_close(h.w.peers[ROLE_GITPULL]);
	frame_conn_close(h.peers[ROLE_GITPULL].fc);
	h.peers[ROLE_GITPULL].fc = NULL;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	ours.edge = proto_peer_edge_find(ROLE_SCHEDULER, ROLE_GITPULL);
	ours.self = ROLE_SCHEDULER;
	ours.name = "scheduler<->peer";
	cr_assert_not_null(fc = frame_conn_new(h.loop, sv[0], &ours,
	    sched_msg, sched_close, NULL));
	h.w.peers[ROLE_GITPULL] = fc;
	len = proto_edge_maxpayload(ours.edge, ROLE_SCHEDULER);
	if (len > sizeof(junk))
		len = sizeof(junk);
	while (frame_queued(fc) == 0 || frame_queued(fc) != last) {
		last = frame_queued(fc);
		cr_assert_eq(frame_send(fc, MSG_GIT_REQ, 0, junk, len, -1), 0);
		ev_run(h.loop, EVRUN_NOWAIT);
		last += len + FRAME_HDR_LEN;
	}
	for (;; len /= 2) {
		while (frame_send(fc, MSG_GIT_REQ, 0, junk, len, -1) == 0)
			;
		cr_assert_eq(errno, ENOBUFS, "%s", strerror(errno));
		if (len == 0)
			break;
	}
	return sv[1];
}

/*
 * A client's run, update, enable or disable that gitpull's edge will not
 * take (ENOBUFS) gets 503, and that is logged, once per WARN_LIMIT_EVERY
 * with how many were not: nothing else said it.  gitpull gone (ENOTCONN)
 * is the master's to say.
 */
Test(sched_flow, questions_gitpull_has_no_room_for_are_logged_at_a_rate)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 10 };
	int	 fd;

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	fd = gitpull_reading_nothing();
	log_set_level(LOG_LVL_WARN);
	log_set_sink(catch_warn, NULL);

	front_req(1, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	assert_answer(0, 1, 503, "gitpull is not reading");
	cr_assert_eq(nwarned, 1);
	cr_assert_str_eq(warned[0], "git_unsent: run of plugin " NS "|mysql: "
	    "gitpull not asked: No buffer space available; answered 503 (0 "
	    "more since the last such line)");
	front_req(2, PLUGIN_OP_UPDATE, NS, GIT, 0, NULL);
	assert_answer(1, 2, 503, "gitpull is not reading");
	front_req(3, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	assert_answer(2, 3, 503, "gitpull is not reading");
	cr_assert_eq(nwarned, 1, "%s", warned[nwarned - 1]);

	/* a rate limit's interval later */
	S()->git_unsent.last -= WARN_LIMIT_EVERY;
	front_req(4, PLUGIN_OP_ENABLE, NS, GIT, 0, NULL);
	assert_answer(3, 4, 503, "gitpull is not reading");
	cr_assert_eq(nwarned, 2);
	cr_assert_str_eq(warned[1], "git_unsent: enable of plugin " NS
	    "|mysql: gitpull not asked: No buffer space available; answered "
	    "503 (2 more since the last such line)");

	/* gone: the 503 as before, and no line of ours */
	S()->git_unsent.last -= WARN_LIMIT_EVERY;
	cr_assert_eq(close(fd), 0);
	wait_state(edge_closed, ROLE_GITPULL, "close of the gitpull edge");
	front_req(5, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	assert_answer(4, 5, 503, "gitpull is not running");
	log_set_sink(NULL, NULL);
	cr_assert_eq(nwarned, 2, "%s", warned[nwarned - 1]);
}

/*
 * A run's process limit is never over the hard limit the scheduler has:
 * without CAP_SYS_RESOURCE a child asking for more fails (EPERM), and
 * every plugin with it.  Started without root, it is not applied.
 */
Test(sched_flow, run_limits_stay_under_the_hard_ones)
{
	struct agent_conf	 next;
	struct rlimit		 rl = { 200, 200 };
	char			 err[256];

	cr_assert_eq(S()->run_nproc, 1024);
	cr_assert_eq(S()->run_data, 0);
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &rl), 0, "%s", strerror(errno));
	cr_assert_eq(conf_copy(&next, &h.w.conf), 0);
	next.pluginmaxprocs = 1000;
	cr_assert_eq(scheduler_ops.reconfigure(&h.w, &next, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(S()->run_nproc, 200);
	next.pluginmaxprocs = 100;
	cr_assert_eq(scheduler_ops.reconfigure(&h.w, &next, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(S()->run_nproc, 100);
	h.w.unprivileged = 1;
	next.pluginmaxprocs = 150;
	cr_assert_eq(scheduler_ops.reconfigure(&h.w, &next, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(S()->run_nproc, 0);
	conf_free(&next);
}

Test(sched_flow, items_change_reschedule_remove_and_retry)
{
	static const char *const gits[] = { GIT,
		"git@git.test.com:plugins/redis.git" };
	int64_t		 ivs[] = { 10, 20 };
	struct plugin	*p, *q;

	checkout("mysql", "#!/bin/sh\nsleep 2\n");
	send_items(gits, ivs, 2);
	wait_for(ROLE_GITPULL, 2);
	git_answer(0, 1, "mysql", 0);
	git_answer(1, 0, "redis", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	cr_assert_not_null(q = scheduler_find(S(), NS "|redis"));
	cr_assert(ev_is_active(&p->timer));
	/* its checkout failed: not scheduled, the error kept */
	cr_assert_eq(q->checkout, CHECKOUT_FAILED);
	cr_assert_not(ev_is_active(&q->timer));
	cr_assert_str_eq(q->git_error, "git clone: repository not found");

	/* the same items: only the failed checkout is asked again */
	send_items(gits, ivs, 2);
	wait_for(ROLE_GITPULL, 3);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, 3);
	git_answer(2, 1, "redis", 0);
	cr_assert(ev_is_active(&q->timer));
	cr_assert_float_eq(q->timer.repeat, 20, 1e-9);

	/* an interval changes: rescheduled */
	ivs[1] = 60;
	send_items(gits, ivs, 2);
	cr_assert_float_eq(q->timer.repeat, 60, 1e-9);
	cr_assert(ev_is_active(&q->timer));
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, 3);

	/* mysql runs, then goes from the registry: the run may finish */
	fire(&p->timer);
	cr_assert_not_null(p->run);
	/* and a tick during the run is skipped and counted */
	fire(&p->timer);
	cr_assert_eq(p->skipped, 1);
	cr_assert_eq(S()->st.skipped, 1);
	send_items(&gits[1], &ivs[1], 1);
	cr_assert_eq(p->gone, 1);
	cr_assert_not(ev_is_active(&p->timer));
	cr_assert_null(scheduler_find_repo(S(), NS, "plugins/mysql"));
	front_req(1, PLUGIN_OP_LIST, "", "", 0, NULL);
	{
		char	*json = front_answer(0, 1, 200);

		cr_assert_null(strstr(json, "mysql"), "%s", json);
		cr_assert_not_null(strstr(json, "redis"), "%s", json);
		free(json);
	}
	/* its end is still published */
	wait_for(ROLE_SENDER, 1);
	cr_assert_null(scheduler_find(S(), NS "|mysql"));
}

/* How many scheduled plugins of `period` start at `second`. */
static size_t
held_at(double period, uint64_t second)
{
	struct plugin	*p;
	size_t		 n = 0;

	TAILQ_FOREACH(p, &S()->plugins, entry)
		n += ev_is_active(&p->timer) && p->period == period &&
		    p->second == second;
	return n;
}

/*
 * A host's plugins of one period share its second, SCHED_SECOND_MAX of
 * them, and the next second takes the rest; a period of its own fills
 * its own; a place that a removed plugin left is the next one's.
 */
Test(sched_flow, plugins_of_a_period_share_the_hosts_second)
{
	enum { N = SCHED_SECOND_MAX + 5 };
	const char	*gits[N + 1];
	char		 urls[N + 1][64], project[16];
	int64_t		 ivs[N + 1];
	uint64_t	 ph10 = scheduler_phase(S()->host, 10);
	uint64_t	 ph30 = scheduler_phase(S()->host, 30);
	struct plugin	*p;
	size_t		 i;

	for (i = 0; i <= N; i++) {
		snprintf(urls[i], sizeof(urls[i]),
		    "git@git.test.com:plugins/p%zu.git", i);
		gits[i] = urls[i];
		ivs[i] = i == 0 ? 30 : 10;
	}
	send_items(gits, ivs, N);
	wait_for(ROLE_GITPULL, N);
	for (i = 0; i < N; i++) {
		snprintf(project, sizeof(project), "p%zu", i);
		git_answer(i, 1, project, 0);
	}
	cr_assert_eq(held_at(10, ph10), SCHED_SECOND_MAX);
	cr_assert_eq(held_at(10, (ph10 + 1) % 10), N - 1 - SCHED_SECOND_MAX);
	cr_assert_eq(held_at(30, ph30), 1);
	TAILQ_FOREACH(p, &S()->plugins, entry) {
		/* the timer fires at that second of the clock */
		double at = ev_now(h.loop) + ev_timer_remaining(h.loop,
		    &p->timer);

		cr_assert_lt(fabs(at - nearbyint(at)), 0.01, "%s: %f", p->key,
		    at);
		cr_assert_eq((uint64_t)nearbyint(at) % (uint64_t)p->period,
		    p->second, "%s: %f", p->key, at);
	}

	/* p1, of the host's second, goes; p25 comes and takes its place */
	cr_assert_not_null(p = scheduler_find(S(), NS "|p1"));
	cr_assert_eq(p->second, ph10);
	gits[1] = gits[N];
	ivs[1] = ivs[N];
	send_items(gits, ivs, N);
	cr_assert_eq(held_at(10, ph10), SCHED_SECOND_MAX - 1);
	wait_for(ROLE_GITPULL, N + 1);
	git_answer(N, 1, "p25", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|p25"));
	cr_assert_eq(p->second, ph10);
	cr_assert_eq(held_at(10, ph10), SCHED_SECOND_MAX);
	cr_assert_eq(held_at(10, (ph10 + 1) % 10), N - 1 - SCHED_SECOND_MAX);
}

/*
 * The timer counts the monotonic clock: after a step of the wall clock
 * (NTP at boot) it fires off the second it was set for, while the
 * others are counted there.  Its next run is put back on that second.
 * The step is made here as the timer sees it: its moment moved 3.4 s.
 */
Test(sched_flow, a_step_of_the_clock_is_undone_at_the_next_run)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 30 };
	struct plugin	*p;
	double		 at;

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	cr_assert(ev_is_active(&p->timer));
	ev_timer_stop(h.loop, &p->timer);
	ev_timer_set(&p->timer, 3.4, 30.);
	ev_timer_start(h.loop, &p->timer);
	/* it fires (disabled: no run to wait for) */
	p->enabled = 0;
	fire(&p->timer);
	cr_assert(ev_is_active(&p->timer));
	at = ev_now(h.loop) + ev_timer_remaining(h.loop, &p->timer);
	cr_assert_lt(fabs(at - nearbyint(at)), 0.01, "%f", at);
	cr_assert_eq((uint64_t)nearbyint(at) % 30, p->second, "%f", at);
	cr_assert_float_eq(p->timer.repeat, 30, 1e-9);
	/* a timer on its second is left alone */
	fire(&p->timer);
	cr_assert_float_eq(ev_now(h.loop) + ev_timer_remaining(h.loop,
	    &p->timer), at, 0.01);
}

/*
 * A clock slewed (or stepped) so that a run came a little early, just
 * before its second: the next is put back on its second a period on,
 * not at that second now, which would run the plugin twice in a moment.
 */
Test(sched_flow, a_run_that_came_early_is_not_followed_by_another_at_once)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 30 };
	struct plugin	*p;
	double		 next, now;

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	p->enabled = 0;		/* no run to wait for */
	/* its second the next whole one of the clock; wait for 0.15 s
	 * before it, and fire as libev would, the timer re-armed a period
	 * on from now */
	ev_now_update(h.loop);
	next = ceil(ev_now(h.loop) + 0.2);
	p->second = (uint64_t)next % 30;
	while (ev_now_update(h.loop), (now = ev_now(h.loop)) < next - 0.15)
		usleep(5000);
	ev_timer_stop(h.loop, &p->timer);
	ev_timer_set(&p->timer, 30., 30.);
	ev_timer_start(h.loop, &p->timer);
	fire(&p->timer);
	cr_assert_gt(ev_timer_remaining(h.loop, &p->timer), 15.,
	    "the next run in %.2f s", ev_timer_remaining(h.loop, &p->timer));
	cr_assert_float_eq(now + ev_timer_remaining(h.loop, &p->timer),
	    next + 30, 0.16);
}

Test(sched_flow, gitpull_restarts_and_the_checkout_is_asked_again)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 10 };
	struct plugin	*p;

	checkout("mysql", "#!/bin/sh\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	/* gitpull dies before answering */
	frame_conn_close(h.peers[ROLE_GITPULL].fc);
	h.peers[ROLE_GITPULL].fc = NULL;
	wait_state(edge_closed, ROLE_GITPULL, "close of the gitpull edge");
	cr_assert_null(h.w.peers[ROLE_GITPULL]);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	cr_assert_eq(p->checkout, CHECKOUT_PENDING);
	cr_assert(strstr(p->git_error, "gitpull went away") != NULL);
	/* it comes back: the question again, on the new edge */
	free(h.peers[ROLE_GITPULL].q[0].data);
	h.peers[ROLE_GITPULL].n = 0;
	link_peer(ROLE_GITPULL);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_eq(p->checkout, CHECKOUT_OK);
	cr_assert(ev_is_active(&p->timer));
}

Test(sched_flow, shutdown_ends_the_runs)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 0 };

	checkout("mysql", "#!/bin/sh\ntrap '' TERM\n: > trapped\nsleep 30\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	front_req(1, PLUGIN_OP_RUN, NS, GIT, 60, NULL);
	wait_for(ROLE_GITPULL, 2);
	git_answer(1, 1, "mysql", 0);
	cr_assert_eq(scheduler_runner_active(S()->runner), 1);
	/* the shutdown comes once the plugin ignores SIGTERM */
	plugin_file = "trapped";
	wait_state(plugin_made_file, 0, "SIGTERM ignored by the plugin");
	scheduler_ops.shutdown(&h.w);
	/* SIGTERM is ignored: SIGKILL after the grace, then the answer */
	assert_answer(0, 1, 200, "\"status\":\"failed\",\"exit\":null,"
	    "\"signal\":9");
	assert_answer(0, 1, 200, "stopped with the agent");
	cr_assert_eq(scheduler_runner_active(S()->runner), 0);
}

Test(sched_flow, untrusted_commits_are_not_run)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 30 };
	struct plugin	*p;
	char		 pts[4096];

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	git_answer(0, 1, "mysql", 0);
	cr_assert(ev_is_active(&p->timer));

	/* an update's new tip refused: what runs stays */
	front_req(5, PLUGIN_OP_UPDATE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 2);
	git_untrusted(1, 1, 1, "commit 89abcdef0123 is not signed");
	assert_answer(0, 5, 502, "{\"error\":\"update failed: untrusted: "
	    "commit 89abcdef0123 is not signed\"}");
	cr_assert_eq(p->checkout, CHECKOUT_OK);
	cr_assert_str_eq(p->commit, COMMIT);
	cr_assert(ev_is_active(&p->timer));
	cr_assert_eq(S()->st.untrusted, 1);
	/* its plugin.result */
	wait_for(ROLE_SENDER, 1);
	sender_points(0, "collect." EXCEPTION_NS, 1, pts, sizeof(pts));
	cr_assert(strncmp(pts, "plugin.result,", 14) == 0, "%s", pts);
	cr_assert(strstr(pts, ",name=plugins/mysql,ns=" NS ",type=untrusted "
	    "value=1 ") != NULL, "%s", pts);

	/* what runs refused (a run's check, after a new gitsigners) */
	front_req(6, PLUGIN_OP_RUN, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 3);
	git_untrusted(2, 0, 0, "commit 0123456789ab by <d@e>: no line of "
	    "gitsigners admits that e-mail");
	assert_answer(1, 6, 502, "checkout failed: untrusted: commit "
	    "0123456789ab");
	cr_assert_eq(p->checkout, CHECKOUT_UNTRUSTED);
	cr_assert_str_eq(p->commit, "");
	cr_assert_not(ev_is_active(&p->timer));
	cr_assert_eq(p->runs, 0);
	cr_assert_eq(S()->st.untrusted, 2);
	wait_for(ROLE_SENDER, 2);
	front_req(7, PLUGIN_OP_LIST, "", "", 0, NULL);
	assert_answer(2, 7, 200, "\"scheduled\":false,\"next_run\":null,"
	    "\"checkout\":"
	    "\"untrusted\",\"commit\":\"\",\"signer\":\"\",\"git_error\":"
	    "\"untrusted: commit 0123456789ab by \\u003cd@e\\u003e: no line");

	/* the next items ask again; a signed commit runs again */
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 4);
	git_answer(3, 1, "mysql", 0);
	cr_assert_eq(p->checkout, CHECKOUT_OK);
	cr_assert(ev_is_active(&p->timer));
}

/*
 * A plugin disabled through the API is enabled again by the hourly sweep
 * once its marker is 24 hours old, in memory too: its next tick runs it.
 * The markers' clock is moved forward, not waited for.
 */
Test(sched_flow, hourly_sweep_enables_again_after_a_day)
{
	static const char *const gits[] = { GIT };
	static const int64_t ivs[] = { 10 };
	struct plugin	*p;
	char		 path[256];
	FILE		*fp;

	checkout("mysql", "#!/bin/sh\necho '[]'\n");
	send_items(gits, ivs, 1);
	wait_for(ROLE_GITPULL, 1);
	git_answer(0, 1, "mysql", 0);
	cr_assert_not_null(p = scheduler_find(S(), NS "|mysql"));
	/* the sweep is a timer of the scheduler's, every hour */
	cr_assert(ev_is_active(&S()->sweep));
	cr_assert_float_eq(S()->sweep.repeat, 3600, 1e-9);

	front_req(1, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 2);
	git_mark(1, GIT_MARK_DISABLE, "mysql");
	assert_answer(0, 1, 200, "\"enabled\":false}");
	cr_assert_eq(p->enabled, 0);

	/* an hour later: still disabled, the marker stays, nothing asked */
	scheduler_clock_advance(3600);
	fire(&S()->sweep);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, 2);
	cr_assert_eq(p->enabled, 0);
	cr_assert_eq(scheduler_marker_exists(h.dir, NS "|mysql"), 1);
	fire(&p->timer);
	cr_assert_null(p->run);

	/*
	 * A day after the disable the sweep asks gitpull to remove it, but
	 * the operator disabled it again meanwhile: it stays.
	 */
	scheduler_clock_advance(23 * 3600);
	fire(&S()->sweep);
	wait_for(ROLE_GITPULL, 3);
	front_req(2, PLUGIN_OP_DISABLE, NS, GIT, 0, NULL);
	wait_for(ROLE_GITPULL, 4);
	scheduler_clock_advance(1);
	git_mark(3, GIT_MARK_DISABLE, "mysql");
	assert_answer(1, 2, 200, "\"enabled\":false}");
	git_mark(2, GIT_MARK_ENABLE, "mysql");
	drain();
	cr_assert_eq(p->enabled, 0);
	cr_assert_eq(scheduler_marker_exists(h.dir, NS "|mysql"), 1);

	/* a day after that: enabled, the marker gone; asked once only */
	scheduler_clock_advance(24 * 3600);
	fire(&S()->sweep);
	wait_for(ROLE_GITPULL, 5);
	fire(&S()->sweep);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, 5);
	git_mark(4, GIT_MARK_ENABLE, "mysql");
	wait_state(plugin_enabled, 0, "the sweep's enable");
	cr_assert_eq(scheduler_marker_exists(h.dir, NS "|mysql"), 0);

	/*
	 * Memory follows the files at each sweep: a change whose answer
	 * never came (gitpull restarted after making it) is taken up.
	 */
	snprintf(path, sizeof(path), "%s/plugin.disabled/" NS "|mysql",
	    h.dir);
	cr_assert_not_null(fp = fopen(path, "w"));
	cr_assert_eq(fclose(fp), 0);
	/* at the moved clock: not a day old */
	cr_assert_eq(utimensat(AT_FDCWD, path, (struct timespec[2]){
	    { scheduler_now(), 0 }, { scheduler_now(), 0 } }, 0), 0);
	fire(&S()->sweep);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, 5);
	cr_assert_eq(p->enabled, 0);
	cr_assert_eq(unlink(path), 0);
	fire(&S()->sweep);
	cr_assert_eq(p->enabled, 1);

	/* and its next tick runs it */
	fire(&p->timer);
	cr_assert_not_null(p->run);
	wait_for(ROLE_SENDER, 1);
	cr_assert_eq(p->runs, 1);
	front_req(3, PLUGIN_OP_LIST, "", "", 0, NULL);
	assert_answer(2, 3, 200, "\"enabled\":true,");
}

/* The plugin `p` has finished a run. */
static struct plugin	*ran_plugin;

static int
plugin_ran(uint32_t runs)
{
	return ran_plugin->runs >= runs;
}

/*
 * Two plugins with `flushms` as pluginflushms, checked out, not run yet:
 * "fast", and "slow", which goes on until open_gate().
 */
static void
two_plugins(int64_t flushms, struct plugin **fast, struct plugin **slow)
{
	static const char *const gits[] = {
		"git@git.test.com:plugins/fast.git",
		"git@git.test.com:plugins/slow.git" };
	static const int64_t ivs[] = { 30, 30 };
	char		 script[512];

	h.w.conf.pluginflushms = flushms;
	checkout("fast", "#!/bin/sh\necho '[{\"name\":\"f\",\"value\":1}]'\n");
	snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "while [ ! -e %s/gate ]; do sleep 0.05; done\n"
	    "echo '[{\"name\":\"s\",\"value\":2}]'\n", h.dir);
	checkout("slow", script);
	send_items(gits, ivs, 2);
	wait_for(ROLE_GITPULL, 2);
	git_answer(0, 1, "fast", 0);
	git_answer(1, 1, "slow", 0);
	cr_assert_not_null(*fast = scheduler_find(S(), NS "|fast"));
	cr_assert_not_null(*slow = scheduler_find(S(), NS "|slow"));
	/*
	 * The test starts them (fire()): "slow" hashes to offset 0, so its
	 * own timer fires at the next whole second, and once in a while
	 * that came after its gated run ended and ran it again, a third
	 * message to the sender.
	 */
	ev_timer_stop(h.loop, &(*fast)->timer);
	ev_timer_stop(h.loop, &(*slow)->timer);
}

/* The same, both due: the slow one first, the fast one SCHED_START_GAP
 * after it (the slow one still goes). */
static void
two_runs(int64_t flushms, struct plugin **fast, struct plugin **slow)
{
	two_plugins(flushms, fast, slow);
	fire(&(*slow)->timer);
	fire(&(*fast)->timer);
}

/* The slow run may end. */
static void
open_gate(void)
{
	char	 gate[128];
	FILE	*fp;

	snprintf(gate, sizeof(gate), "%s/gate", h.dir);
	cr_assert_not_null(fp = fopen(gate, "w"));
	cr_assert_eq(fclose(fp), 0);
}

/* The fast run has ended, and nothing reached the sender. */
static void
fast_ended_held(struct plugin *fast)
{
	ran_plugin = fast;
	wait_state(plugin_ran, 1, "the fast run's end");
	drain();
	cr_assert_eq(h.peers[ROLE_SENDER].n, 0, "sent while a run still goes");
}

/*
 * The outbox: the points of a run that ends while another still goes
 * wait for it, and both runs' points (and both plugin.result points) go
 * to the sender in one MSG_POINTS per namespace once no run is left.
 */
Test(sched_flow, runs_ending_apart_go_to_the_sender_together)
{
	struct plugin	*fast, *slow;
	char		 pts[4096];

	two_runs(60000, &fast, &slow);
	fast_ended_held(fast);
	cr_assert_eq(S()->outbox.n, 2);
	cr_assert(!ev_is_active(&S()->outbox.now));
	cr_assert(ev_is_active(&S()->outbox.hold), "no bound on the wait");
	/* the slow one ends: everything goes in that turn */
	open_gate();
	wait_for(ROLE_SENDER, 2);
	drain();
	cr_assert_eq(h.peers[ROLE_SENDER].n, 2);
	sender_points(0, "collect." NS, 2, pts, sizeof(pts));
	cr_assert(strstr(pts, "PLUGIN.fast.f,") != NULL, "%s", pts);
	cr_assert(strstr(pts, "PLUGIN.slow.s,") != NULL, "%s", pts);
	sender_points(1, "collect.exception.monitor.loda", 2, pts, sizeof(pts));
	cr_assert_eq(S()->st.points_sent, 4);
	cr_assert(!ev_is_active(&S()->outbox.hold));
	cr_assert_eq(fast->last.points, 1);
}

/* pluginflushms = 0: a run's points go when it ends, whatever else runs. */
Test(sched_flow, pluginflushms_zero_holds_nothing)
{
	struct plugin	*fast, *slow;
	char		 pts[4096];

	two_runs(0, &fast, &slow);
	wait_for(ROLE_SENDER, 2);
	cr_assert_not_null(slow->run, "the slow run is over already");
	sender_points(0, "collect." NS, 1, pts, sizeof(pts));
	cr_assert(strstr(pts, "PLUGIN.fast.f,") != NULL, "%s", pts);
	open_gate();
	wait_for(ROLE_SENDER, 4);
	sender_points(2, "collect." NS, 1, pts, sizeof(pts));
	cr_assert(strstr(pts, "PLUGIN.slow.s,") != NULL, "%s", pts);
}

/* A stopping scheduler sends what it holds before it goes. */
Test(sched_flow, cleanup_sends_what_the_outbox_holds)
{
	struct plugin	*fast, *slow;
	char		 pts[4096];

	two_runs(60000, &fast, &slow);
	fast_ended_held(fast);
	/* as the worker's end does (the slow run is killed) */
	scheduler_ops.cleanup(&h.w);
	cr_assert_null(h.w.priv);
	wait_for(ROLE_SENDER, 2);
	sender_points(0, "collect." NS, 1, pts, sizeof(pts));
	cr_assert(strstr(pts, "PLUGIN.fast.f,") != NULL, "%s", pts);
	sender_points(1, "collect.exception.monitor.loda", 1, pts, sizeof(pts));
}

static struct plugin	*started_plugin;

static int
plugin_started(uint32_t unused)
{
	return started_plugin->run != NULL;
}

/*
 * Runs due together start one after another: the second once the first
 * has ended (the gap, 30 s here, never passes), and the first run's
 * points wait for the second in the outbox, though no run went on
 * between them.
 */
Test(sched_flow, runs_due_together_start_one_after_another)
{
	struct plugin	*fast, *slow;
	char		 pts[4096];

	two_plugins(60000, &fast, &slow);
	S()->starts.gap_s = 30.;
	fire(&fast->timer);
	fire(&slow->timer);
	cr_assert_not_null(fast->run);
	cr_assert_null(slow->run, "started beside the one before it");
	cr_assert_eq(slow->due, 1);
	ran_plugin = fast;
	wait_state(plugin_ran, 1, "the fast run's end");
	started_plugin = slow;
	wait_state(plugin_started, 0, "the slow run's start");
	cr_assert(ev_is_active(&S()->starts.gap), "the gap is the slow run's");
	drain();
	cr_assert_eq(h.peers[ROLE_SENDER].n, 0, "sent with a start due");
	open_gate();
	wait_for(ROLE_SENDER, 2);
	sender_points(0, "collect." NS, 2, pts, sizeof(pts));
	cr_assert(!ev_is_active(&S()->starts.gap));
}

/* A run that still goes holds the next start SCHED_START_GAP at most. */
Test(sched_flow, a_slow_run_holds_the_next_start_for_the_gap_only)
{
	struct plugin	*fast, *slow;

	two_plugins(60000, &fast, &slow);
	fire(&slow->timer);
	fire(&fast->timer);
	cr_assert_not_null(slow->run);
	cr_assert_null(fast->run);
	/* a tick while it waits to start is no second start */
	fire(&fast->timer);
	cr_assert_eq(fast->skipped, 0);
	ran_plugin = fast;
	wait_state(plugin_ran, 1, "the fast run, the gap after the slow one");
	cr_assert_not_null(slow->run, "the slow one ended first");
	cr_assert_eq(fast->runs, 1);
	open_gate();
	ran_plugin = slow;
	wait_state(plugin_ran, 1, "the slow run's end");
}

/* What waits to start when the scheduler stops never starts. */
Test(sched_flow, shutdown_drops_the_starts_due)
{
	struct plugin	*fast, *slow;

	two_plugins(60000, &fast, &slow);
	S()->starts.gap_s = 30.;
	fire(&slow->timer);
	fire(&fast->timer);
	cr_assert_eq(fast->due, 1);
	scheduler_ops.shutdown(&h.w);
	cr_assert_eq(fast->due, 0);
	cr_assert(TAILQ_EMPTY(&S()->starts.due));
	cr_assert(!ev_is_active(&S()->starts.gap));
	open_gate();
	ran_plugin = slow;
	wait_state(plugin_ran, 1, "the slow run's end");
	cr_assert_eq(fast->runs, 0);
}

/*
 * A namespace of more plugins than gitpull queues questions for (1024)
 * left no room for another's: the scheduler asks about at most
 * SCHED_GIT_ITEMS_INFLIGHT at a time, the next as each is answered.
 */
Test(sched_flow, item_questions_to_gitpull_wait_their_turn)
{
	struct got	*g;
	struct git_req	 req;
	struct preader	 pr;
	char		 err[128];
	size_t		 i;

	many_plugins(SCHED_GIT_ITEMS_INFLIGHT + 20);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, SCHED_GIT_ITEMS_INFLIGHT);
	for (i = 0; i < 3; i++) {
		g = &h.peers[ROLE_GITPULL].q[i];
		codec_get_init(&pr, g->data, g->len);
		cr_assert_eq(plugin_msg_git_req_decode(&pr, &req, err,
		    sizeof(err)), 0, "%s", err);
		git_answer(i, 0, req.project, 0);
		wait_for(ROLE_GITPULL, SCHED_GIT_ITEMS_INFLIGHT + i + 1);
		drain();
		cr_assert_eq(h.peers[ROLE_GITPULL].n,
		    SCHED_GIT_ITEMS_INFLIGHT + i + 1);
	}
}

/*
 * A question whose wait expired is still gitpull's to answer: its room
 * stays taken until the answer comes.  Counted down at the expiry and
 * again at the late answer, the scheduler went on sending more than
 * SCHED_GIT_ITEMS_INFLIGHT, and gitpull's queue filled for everyone.
 */
Test(sched_flow, an_expired_question_holds_its_room_until_answered)
{
	struct gitwait	*gw;
	struct got	*g;
	struct git_req	 req;

	many_plugins(SCHED_GIT_ITEMS_INFLIGHT + 5);
	drain();
	g = git_req_of(0, &req);
	TAILQ_FOREACH(gw, &S()->gitwaits, entry)
		if (gw->sent && gw->reqid == g->reqid)
			break;
	cr_assert_not_null(gw);
	/* its wait expires: gitpull still works on it, nothing more goes */
	fire(&gw->expire);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, SCHED_GIT_ITEMS_INFLIGHT);
	cr_assert_eq(S()->git_inflight, SCHED_GIT_ITEMS_INFLIGHT);
	/* its late answer frees the room: one more question, not two */
	git_answer(0, 0, req.project, 0);
	wait_for(ROLE_GITPULL, SCHED_GIT_ITEMS_INFLIGHT + 1);
	drain();
	cr_assert_eq(h.peers[ROLE_GITPULL].n, SCHED_GIT_ITEMS_INFLIGHT + 1);
	cr_assert_eq(S()->git_inflight, SCHED_GIT_ITEMS_INFLIGHT);
}
