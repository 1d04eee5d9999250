/*
 * The gitpull worker as the master runs it: worker_main() in a forked
 * kid, with this test as its master (control edge: CONF, PEER, SETUP_END,
 * SHUTDOWN) and as the scheduler on the peer edge (GIT_REQ in, GIT_RESP
 * out).  As root the kid switches to nobody under its seccomp filter, like
 * the real thing, and reads a source repository root owns.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "plugin_msg.h"
#include "proto.h"
#include "status.h"
#include "workers/gitpull/gitpull_cmd.h"

#include "gitpull_fixture.h"
#include "worker_fixture.h"

#define NS		"pool.loda"
#define MAXRESP		16

struct resp {
	uint32_t	 reqid;
	struct git_resp	 r;
};

struct h {
	struct worker_kid	 k;
	struct frame_conn	*peer;
	struct resp		 resp[MAXRESP];
	size_t			 nresp;
	struct worker_stats	 stats;
	int			 nstats;
};

static void
ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;

	if (in->hdr.type != MSG_STATS)
		return;
	codec_get_init(&pr, in->data, in->datalen);
	if (status_stats_decode(&pr, &h->stats) == 0)
		h->nstats++;
}

static void
peer_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;
	char		 err[256];

	if (in->hdr.type != MSG_GIT_RESP)
		return;
	cr_assert_lt(h->nresp, MAXRESP);
	codec_get_init(&pr, in->data, in->datalen);
	cr_assert_eq(plugin_msg_git_resp_decode(&pr, &h->resp[h->nresp].r, err,
	    sizeof(err)), 0, "%s", err);
	h->resp[h->nresp].reqid = in->hdr.reqid;
	h->nresp++;
}

static void
peer_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct h	*h = arg;

	h->peer = NULL;
}

static size_t want_resp;

static int
has_resp(void *arg)
{
	struct h	*h = arg;

	return h->nresp >= want_resp;
}

static void
h_start(struct h *h, const struct agent_conf *c)
{
	memset(h, 0, sizeof(*h));
	kid_start(&h->k, ROLE_GITPULL, ctl_msg, h);
	kid_conf(&h->k, c);
	h->peer = kid_peer(&h->k, ROLE_SCHEDULER, peer_msg, peer_close, h);
	cr_assert_eq(frame_send(h->k.ctl, MSG_SETUP_END, 0, NULL, 0, -1), 0);
	peer_hello(h->peer, ROLE_SCHEDULER);
	cr_assert(kid_wait(&h->k, kid_ready, &h->k, 10.), "no READY");
	cr_assert(!h->k.exited, "the worker exited: status %#x",
	    h->k.status);
}

/* The scheduler's question `r` to the worker. */
static void
h_send(struct h *h, uint32_t reqid, const struct git_req *r)
{
	struct pbuf	 pb;

	codec_put_init(&pb);
	plugin_msg_git_req_encode(&pb, r);
	cr_assert_eq(frame_send(h->peer, MSG_GIT_REQ, reqid, pb.buf, pb.len,
	    -1), 0);
	codec_put_free(&pb);
}

static void
h_req(struct h *h, uint32_t reqid, const char *ns, const char *repo,
    const char *project, int update)
{
	struct git_req	 r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.repo, sizeof(r.repo), "%s", repo);
	snprintf(r.project, sizeof(r.project), "%s", project);
	r.update = update;
	h_send(h, reqid, &r);
}

static void
h_mark(struct h *h, uint32_t reqid, const char *project, enum git_mark mark)
{
	struct git_req	 r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", NS);
	snprintf(r.project, sizeof(r.project), "%s", project);
	r.mark = mark;
	h_send(h, reqid, &r);
}

static const struct git_resp *
h_resp(struct h *h, uint32_t reqid)
{
	size_t	 i;

	for (i = 0; i < h->nresp; i++)
		if (h->resp[i].reqid == reqid)
			return &h->resp[i].r;
	cr_assert_fail("no answer to request %u", reqid);
	return NULL;
}

static void
h_stop(struct h *h)
{
	kid_stop(&h->k, 10.);
	if (h->peer != NULL)
		frame_conn_close(h->peer);
	ev_loop_destroy(h->k.loop);
}

static int
stats_settled(void *arg)
{
	struct h	*h = arg;

	return stat_of(&h->stats, "requests") == 6 &&
	    stat_of(&h->stats, "running") == 0;
}

static void
conf_for(struct agent_conf *c, const struct src_repo *s, const char *tmpl)
{
	cr_assert_eq(conf_defaults(c), 0);
	snprintf(c->pluginsdir, sizeof(c->pluginsdir), "%s/plugins", s->dir);
	snprintf(c->git, sizeof(c->git), "%s", tmpl);
	snprintf(c->user, sizeof(c->user), "nobody");
	c->gittimeout = 60;
}

/* What the master does: pluginsdir belongs to `user`. */
static void
give_plugins_dir(const struct src_repo *s)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return;
	cr_assert_not_null(pw = getpwnam("nobody"));
	sh("chown -R %lu:%lu '%s/plugins'", (unsigned long)pw->pw_uid,
	    (unsigned long)pw->pw_gid, s->dir);
}

Test(gitpull_worker, serves_the_scheduler)
{
	struct src_repo		 s;
	struct agent_conf	 c;
	struct h		 h;
	const struct git_resp	*r;
	struct stat		 st;
	char			 tmpl[PATH_MAX], one[64], two[64], p[PATH_MAX];

	src_repo_init(&s, "gitpull-w");
	sh("mkdir -p '%s/plugins/%s/.clone-proj-Ab12Cd'", s.dir, NS);
	give_plugins_dir(&s);
	snprintf(tmpl, sizeof(tmpl), "%s/src/%%s.git", s.dir);
	conf_for(&c, &s, tmpl);
	h_start(&h, &c);
	/* a crash's leftovers went before READY */
	snprintf(p, sizeof(p), "%s/plugins/%s/.clone-proj-Ab12Cd", s.dir, NS);
	cr_assert_eq(lstat(p, &st), -1);

	h_req(&h, 1, NS, "grp/proj", "proj", 0);
	h_req(&h, 2, NS, "grp/proj", "proj", 0);
	h_req(&h, 3, NS, "grp/proj", "proj", 0);
	h_req(&h, 4, NS, "grp/nope", "nope", 0);
	h_req(&h, 5, "..", "grp/proj", "proj", 0);
	want_resp = 5;
	cr_assert(kid_wait(&h.k, has_resp, &h, 15.), "%zu answers", h.nresp);
	head_of(s.work, one, sizeof(one));
	r = h_resp(&h, 1);
	cr_assert(r->ok, "%s", r->error);
	cr_assert_str_eq(r->commit, one);
	cr_assert_str_eq(h_resp(&h, 2)->commit, one);
	cr_assert_str_eq(h_resp(&h, 3)->commit, one);
	r = h_resp(&h, 4);
	cr_assert(!r->ok);
	cr_assert(strstr(r->error, "does not exist") != NULL, "%s", r->error);
	r = h_resp(&h, 5);
	cr_assert(!r->ok);
	cr_assert(strstr(r->error, "bad request") != NULL, "%s", r->error);

	/* the checkout is the worker's user's, and complete */
	snprintf(p, sizeof(p), "%s/plugins/%s/proj/plugin", s.dir, NS);
	cr_assert_eq(stat(p, &st), 0);
	if (geteuid() == 0)
		cr_assert_eq(st.st_uid, getpwnam("nobody")->pw_uid);

	/* updated when asked */
	commit_push(&s, "two", "release");
	head_of(s.work, two, sizeof(two));
	h_req(&h, 6, NS, "grp/proj", "proj", 1);
	want_resp = 6;
	cr_assert(kid_wait(&h.k, has_resp, &h, 15.), "%zu answers", h.nresp);
	r = h_resp(&h, 6);
	cr_assert(r->ok, "%s", r->error);
	cr_assert_str_eq(r->commit, two);

	/* a disable marker, made and removed as the worker's user */
	h_mark(&h, 7, "proj", GIT_MARK_DISABLE);
	want_resp = 7;
	cr_assert(kid_wait(&h.k, has_resp, &h, 15.), "%zu answers", h.nresp);
	r = h_resp(&h, 7);
	cr_assert(r->ok, "%s", r->error);
	snprintf(p, sizeof(p), "%s/plugins/plugin.disabled/%s|proj", s.dir,
	    NS);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	if (geteuid() == 0)
		cr_assert_eq(st.st_uid, getpwnam("nobody")->pw_uid);
	h_mark(&h, 8, "proj", GIT_MARK_ENABLE);
	want_resp = 8;
	cr_assert(kid_wait(&h.k, has_resp, &h, 15.), "%zu answers", h.nresp);
	cr_assert(h_resp(&h, 8)->ok, "%s", h_resp(&h, 8)->error);
	cr_assert_eq(stat(p, &st), -1);

	cr_assert(kid_wait_stats(&h.k, stats_settled, &h, 5.), "stats: %u",
	    h.stats.n);
	cr_assert_eq(stat_of(&h.stats, "markers"), 2);
	cr_assert_eq(stat_of(&h.stats, "markers_failed"), 0);
	cr_assert_eq(stat_of(&h.stats, "answered_ok"), 4);
	cr_assert_eq(stat_of(&h.stats, "answered_failed"), 2);
	cr_assert_eq(stat_of(&h.stats, "coalesced"), 2);
	cr_assert_eq(stat_of(&h.stats, "clones"), 1);
	cr_assert_eq(stat_of(&h.stats, "fetches"), 1);
	/* clone + ls-tree + checkout + rev-parse, a failed clone,
	 * origin + fetch + ls-tree + checkout + clean + rev-parse */
	cr_assert_eq(stat_of(&h.stats, "git_runs"), 11);
	cr_assert(strstr(h.stats.note, "nope") != NULL, "%s", h.stats.note);

	h_stop(&h);
	cr_assert(WIFEXITED(h.k.status) && WEXITSTATUS(h.k.status) == 0,
	    "status %#x", h.k.status);
	conf_free(&c);
	src_repo_free(&s);
}

struct hang {
	pid_t	 worker;
	pid_t	 pgid;
};

static struct hang hang;

static int
git_hanging(void *arg)
{
	struct h	*h = arg;

	/* a child found before its setsid and gone since: look again */
	if (hang.pgid > 0 && kill(hang.pgid, 0) == -1 && errno == ESRCH)
		hang.pgid = 0;
	if (hang.pgid == 0)
		hang.pgid = child_of(h->k.pid);
	return hang.pgid > 0 && group_alive(hang.pgid) >= 2;
}

Test(gitpull_worker, stop_kills_a_hanging_git)
{
	const struct git_resp	*r;
	struct src_repo		 s;
	struct agent_conf	 c;
	struct h		 h;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	struct stat		 st;
	char			 tmpl[128], p[PATH_MAX];
	int			 ls, i;

	cr_assert_neq(ls = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(ls, 8), 0);
	cr_assert_eq(getsockname(ls, (struct sockaddr *)&sin, &slen), 0);
	snprintf(tmpl, sizeof(tmpl), "http://127.0.0.1:%d/%%s.git",
	    ntohs(sin.sin_port));

	src_repo_init(&s, "gitpull-w");
	give_plugins_dir(&s);
	conf_for(&c, &s, tmpl);
	h_start(&h, &c);
	h_req(&h, 1, NS, "grp/proj", "proj", 0);
	memset(&hang, 0, sizeof(hang));
	/* a bound for a hang only: a loaded machine (make check runs
	 * the integration suites beside) took more than 10 s */
	cr_assert(kid_wait(&h.k, git_hanging, &h, 30.), "no git running");

	/*
	 * The worker ends without waiting for git: h_stop() allows it 10 s
	 * (a bound for a hang), git's own timeout is 60 s (conf_for), so a
	 * worker that waited for git could not pass.  git's group is gone
	 * after it (10 s, again only a hang bound).  The request it was
	 * for is answered as stopped, not as failed: the scheduler says it
	 * at INFO, whether or not it was told to stop yet.
	 */
	cr_assert_eq(frame_send(h.k.ctl, MSG_SHUTDOWN, 0, NULL, 0, -1), 0);
	want_resp = 1;
	cr_assert(kid_wait(&h.k, has_resp, &h, 10.), "request 1 not answered");
	r = h_resp(&h, 1);
	cr_assert(!r->ok && !r->untrusted && r->stopped, "ok %d, untrusted "
	    "%d, stopped %d: %s", r->ok, r->untrusted, r->stopped, r->error);
	/* asked once: h_stop() only waits for the end */
	if (h.k.ctl != NULL)
		frame_conn_close(h.k.ctl);
	h.k.ctl = NULL;
	h_stop(&h);
	cr_assert(WIFEXITED(h.k.status) && WEXITSTATUS(h.k.status) == 0,
	    "status %#x", h.k.status);
	for (i = 0; i < 1000 && group_alive(hang.pgid) > 0; i++)
		usleep(10000);
	cr_assert_eq(group_alive(hang.pgid), 0);
	/* nothing half-cloned */
	snprintf(p, sizeof(p), "%s/plugins/%s/proj", s.dir, NS);
	cr_assert_eq(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "ls -A '%s/plugins/%s' | grep -c clone || true",
	    s.dir, NS);
	sh_out(tmpl, sizeof(tmpl), p);
	cr_assert_str_eq(tmpl, "0");
	close(ls);
	conf_free(&c);
	src_repo_free(&s);
}
