/*
 * Queueing and coalescing of git requests, with a fake runner that
 * records what it was asked to start and finishes when the test says.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "workers/gitpull/gitpull_queue.h"

#define MAXREC	64

struct fake {
	struct gq_checkout	*started[MAXREC];
	int			 start_update[MAXREC];
	char			 start_repo[MAXREC][64];
	size_t			 nstarted;
	int			 fail_now;	/* start() fails at once */
	uint32_t		 answered[4 * GQ_MAX_WAITERS];
	int			 answer_ok[4 * GQ_MAX_WAITERS];
	char			 answer_commit[4 * GQ_MAX_WAITERS][64];
	size_t			 nanswered;
};

static int
fake_start(struct gq *q, struct gq_checkout *c, struct git_resp *now)
{
	struct fake	*f = q->arg;

	cr_assert(f->nstarted < MAXREC);
	f->started[f->nstarted] = c;
	f->start_update[f->nstarted] = c->run_update;
	snprintf(f->start_repo[f->nstarted], 64, "%s", c->run_repo);
	f->nstarted++;
	if (f->fail_now) {
		snprintf(now->error, sizeof(now->error), "no git");
		return -1;
	}
	return 0;
}

static void
fake_answer(struct gq *q, uint32_t reqid, const struct git_resp *r)
{
	struct fake	*f = q->arg;

	f->answered[f->nanswered] = reqid;
	f->answer_ok[f->nanswered] = r->ok;
	snprintf(f->answer_commit[f->nanswered], 64, "%s", r->commit);
	f->nanswered++;
}

static const struct gq_ops fake_ops = { fake_start, fake_answer };

static void
req(struct gq *q, const char *ns, const char *repo, int update,
    uint32_t reqid)
{
	struct git_req	 r;
	const char	*slash = strchr(repo, '/');

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.repo, sizeof(r.repo), "%s", repo);
	snprintf(r.project, sizeof(r.project), "%s", slash + 1);
	r.update = update;
	gitpull_queue_request(q, &r, reqid);
}

/* A request a client waits for (/plugins/run, /plugins/update). */
static void
req_urgent(struct gq *q, const char *ns, const char *repo, int update,
    uint32_t reqid)
{
	struct git_req	 r;
	const char	*slash = strchr(repo, '/');

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.repo, sizeof(r.repo), "%s", repo);
	snprintf(r.project, sizeof(r.project), "%s", slash + 1);
	r.update = update;
	r.urgent = 1;
	gitpull_queue_request(q, &r, reqid);
}

static void
finish(struct gq *q, struct gq_checkout *c, const char *commit)
{
	struct git_resp	 r;

	memset(&r, 0, sizeof(r));
	r.ok = commit != NULL;
	if (commit != NULL)
		snprintf(r.commit, sizeof(r.commit), "%s", commit);
	else
		snprintf(r.error, sizeof(r.error), "it failed");
	gitpull_queue_finish(q, c, &r);
}

static int
answered(const struct fake *f, uint32_t reqid, const char *commit)
{
	size_t	 i;

	for (i = 0; i < f->nanswered; i++)
		if (f->answered[i] == reqid)
			return commit == NULL ? !f->answer_ok[i] :
			    f->answer_ok[i] &&
			    strcmp(f->answer_commit[i], commit) == 0;
	return 0;
}

Test(gitpull_queue, duplicates_share_one_run)
{
	static struct fake	 f;
	struct gq		 q;
	struct gq_checkout	*c;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g/p", 0, 1);
	cr_assert_eq(f.nstarted, 1);
	c = f.started[0];
	/* while it runs: a plain request joins it */
	req(&q, "ns1", "g/p", 0, 2);
	req(&q, "ns1", "g/p", 0, 3);
	cr_assert_eq(f.nstarted, 1);
	cr_assert_eq(q.nwaiters, 3);
	finish(&q, c, "aaaa");
	cr_assert_eq(f.nanswered, 3);
	cr_assert(answered(&f, 1, "aaaa"));
	cr_assert(answered(&f, 2, "aaaa"));
	cr_assert(answered(&f, 3, "aaaa"));
	cr_assert_eq(f.nstarted, 1);
	cr_assert_eq(q.st.coalesced, 2);
	cr_assert_eq(q.nwaiters, 0);
	cr_assert_eq(q.nrunning, 0);
	cr_assert_str_eq(c->commit, "aaaa");
	cr_assert_neq(c->last_run, 0);
	gitpull_queue_free(&q);
}

Test(gitpull_queue, update_waits_for_the_next_run)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g/p", 1, 1);
	cr_assert_eq(f.nstarted, 1);
	cr_assert_eq(f.start_update[0], 1);
	/* an update asked while one runs may have been pushed after its
	 * fetch began: it gets a run of its own, after this one */
	req(&q, "ns1", "g/p", 1, 2);
	req(&q, "ns1", "g/p", 0, 3);	/* joins the running update */
	req(&q, "ns1", "g/p", 1, 4);	/* joins the queued update */
	cr_assert_eq(f.nstarted, 1);
	finish(&q, f.started[0], "aaaa");
	cr_assert(answered(&f, 1, "aaaa"));
	cr_assert(answered(&f, 3, "aaaa"));
	cr_assert(!answered(&f, 2, "aaaa"));
	cr_assert_eq(f.nstarted, 2);
	cr_assert_eq(f.start_update[1], 1);
	finish(&q, f.started[1], "bbbb");
	cr_assert(answered(&f, 2, "bbbb"));
	cr_assert(answered(&f, 4, "bbbb"));
	cr_assert_eq(f.nstarted, 2);
	gitpull_queue_free(&q);
}

Test(gitpull_queue, ensure_then_update_queued)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g/p", 0, 1);
	req(&q, "ns1", "g/p", 1, 2);
	req(&q, "ns1", "g/p", 0, 3);
	cr_assert_eq(f.nstarted, 1);
	cr_assert_eq(f.start_update[0], 0);
	finish(&q, f.started[0], "aaaa");
	cr_assert(answered(&f, 1, "aaaa"));
	cr_assert(answered(&f, 3, "aaaa"));
	/* the waiting update runs next, alone */
	cr_assert_eq(f.nstarted, 2);
	cr_assert_eq(f.start_update[1], 1);
	finish(&q, f.started[1], NULL);
	cr_assert(answered(&f, 2, NULL));
	cr_assert_str_eq(f.started[1]->commit, "aaaa");	/* kept */
	cr_assert_str_eq(f.started[1]->error, "it failed");
	gitpull_queue_free(&q);
}

Test(gitpull_queue, at_most_two_and_one_per_checkout)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g/a", 0, 1);
	req(&q, "ns1", "g/b", 0, 2);
	req(&q, "ns2", "g/a", 0, 3);	/* another ns: another checkout */
	req(&q, "ns1", "g/c", 0, 4);
	cr_assert_eq(f.nstarted, 2);
	cr_assert_eq(q.nrunning, 2);
	cr_assert_str_eq(f.started[0]->project, "a");
	cr_assert_str_eq(f.started[1]->project, "b");
	finish(&q, f.started[1], "bbbb");
	/* first come, first served */
	cr_assert_eq(f.nstarted, 3);
	cr_assert_str_eq(f.started[2]->ns, "ns2");
	finish(&q, f.started[0], "aaaa");
	cr_assert_eq(f.nstarted, 4);
	cr_assert_str_eq(f.started[3]->project, "c");
	finish(&q, f.started[2], "cccc");
	finish(&q, f.started[3], "dddd");
	cr_assert_eq(f.nanswered, 4);
	cr_assert(answered(&f, 3, "cccc"));
	cr_assert_eq(q.ncheckouts, 4);
	gitpull_queue_free(&q);
}

/*
 * The registry's new plugins of a slow server take both slots, each for
 * gittimeout, with more of them waiting: a client's request neither
 * waits for a slot nor behind them.
 */
Test(gitpull_queue, a_client_does_not_wait_behind_the_registrys_clones)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g/slow1", 0, 1);
	req(&q, "ns1", "g/slow2", 0, 2);
	req(&q, "ns1", "g/slow3", 0, 3);
	req(&q, "ns1", "g/slow4", 0, 4);
	cr_assert_eq(f.nstarted, 2);
	/* /plugins/run of a plugin checked out long ago: at once */
	req_urgent(&q, "ns2", "g/old", 0, 10);
	cr_assert_eq(f.nstarted, 3);
	cr_assert_str_eq(f.started[2]->project, "old");
	/* one more slot at most: the next client's waits, but first */
	req_urgent(&q, "ns2", "g/other", 1, 11);
	cr_assert_eq(f.nstarted, 3);
	/* an urgent request for a checkout already waiting moves it up */
	req_urgent(&q, "ns1", "g/slow4", 0, 12);
	finish(&q, f.started[2], "oooo");
	cr_assert_eq(f.nstarted, 4);
	cr_assert_str_eq(f.started[3]->project, "slow4");
	finish(&q, f.started[0], "s1s1");
	/* both slots and the extra busy until one ends */
	cr_assert_eq(f.nstarted, 5);
	cr_assert_str_eq(f.started[4]->project, "other");
	cr_assert_eq(f.start_update[4], 1);
	finish(&q, f.started[1], "s2s2");
	cr_assert_eq(f.nstarted, 5);
	finish(&q, f.started[3], "s4s4");
	cr_assert_eq(f.nstarted, 6);
	cr_assert_str_eq(f.started[5]->project, "slow3");
	finish(&q, f.started[4], "otot");
	finish(&q, f.started[5], "s3s3");
	cr_assert_eq(f.nanswered, 7);
	cr_assert(answered(&f, 10, "oooo"));
	cr_assert(answered(&f, 12, "s4s4"));
	cr_assert(answered(&f, 4, "s4s4"));
	cr_assert_eq(q.nrunning, 0);
	gitpull_queue_free(&q);
}

/*
 * gitsigners changed while a check ran with the old one: the scheduler's
 * request to check again must not take that check's verdict.
 */
Test(gitpull_queue, no_joining_a_run_of_older_settings)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns", "g/a", 0, 1);
	cr_assert_eq(f.nstarted, 1);
	req(&q, "ns", "g/a", 0, 2);		/* joins: same settings */
	gitpull_queue_settings_changed(&q);
	req(&q, "ns", "g/a", 0, 3);		/* waits for its own */
	finish(&q, f.started[0], "old1");
	cr_assert(answered(&f, 1, "old1"));
	cr_assert(answered(&f, 2, "old1"));
	cr_assert_eq(f.nanswered, 2);
	cr_assert_eq(f.nstarted, 2);
	finish(&q, f.started[1], "new1");
	cr_assert(answered(&f, 3, "new1"));
	gitpull_queue_free(&q);
}

Test(gitpull_queue, other_repo_same_directory_runs_apart)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 2);
	req(&q, "ns1", "g1/p", 0, 1);
	req(&q, "ns1", "g2/p", 0, 2);	/* same checkout directory */
	cr_assert_eq(f.nstarted, 1);
	finish(&q, f.started[0], "aaaa");
	cr_assert(answered(&f, 1, "aaaa"));
	cr_assert_eq(f.nstarted, 2);
	cr_assert_str_eq(f.start_repo[1], "g2/p");
	finish(&q, f.started[1], NULL);
	cr_assert(answered(&f, 2, NULL));
	gitpull_queue_free(&q);
}

Test(gitpull_queue, start_failing_at_once)
{
	static struct fake	 f;
	struct gq		 q;

	f.fail_now = 1;
	gitpull_queue_init(&q, &fake_ops, &f, 1);
	req(&q, "ns1", "g/a", 0, 1);
	req(&q, "ns1", "g/b", 0, 2);
	cr_assert_eq(f.nstarted, 2);
	cr_assert(answered(&f, 1, NULL));
	cr_assert(answered(&f, 2, NULL));
	cr_assert_eq(q.nrunning, 0);
	cr_assert_eq(q.st.failed, 2);
	gitpull_queue_free(&q);
}

Test(gitpull_queue, requester_gone)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 1);
	req(&q, "ns1", "g/a", 0, 1);
	req(&q, "ns1", "g/b", 0, 2);
	gitpull_queue_drop_waiters(&q);
	cr_assert_eq(q.nwaiters, 0);
	/* the running one finishes, answers nobody, starts nothing */
	finish(&q, f.started[0], "aaaa");
	cr_assert_eq(f.nanswered, 0);
	cr_assert_eq(f.nstarted, 1);
	cr_assert_str_eq(f.started[0]->commit, "aaaa");
	gitpull_queue_free(&q);
}

Test(gitpull_queue, stopping)
{
	static struct fake	 f;
	struct gq		 q;

	gitpull_queue_init(&q, &fake_ops, &f, 1);
	req(&q, "ns1", "g/a", 0, 1);
	req(&q, "ns1", "g/b", 0, 2);
	gitpull_queue_stop(&q, "the agent is stopping");
	cr_assert(answered(&f, 2, NULL));
	req(&q, "ns1", "g/c", 0, 3);
	cr_assert(answered(&f, 3, NULL));
	finish(&q, f.started[0], NULL);
	cr_assert(answered(&f, 1, NULL));
	cr_assert_eq(f.nstarted, 1);
	cr_assert_eq(q.nrunning, 0);
	gitpull_queue_free(&q);
}

Test(gitpull_queue, bounded)
{
	static struct fake	 f;
	struct gq		 q;
	uint32_t		 i;
	char			 repo[64];

	gitpull_queue_init(&q, &fake_ops, &f, 1);
	for (i = 0; i < GQ_MAX_WAITERS; i++)
		req(&q, "ns1", "g/a", 1, i + 1);
	cr_assert_eq(f.nanswered, 0);
	req(&q, "ns1", "g/a", 1, 99999);
	cr_assert(answered(&f, 99999, NULL));
	cr_assert_eq(q.st.refused, 1);
	gitpull_queue_free(&q);

	/* checkouts: the least recently used idle one is forgotten */
	memset(&f, 0, sizeof(f));
	gitpull_queue_init(&q, &fake_ops, &f, 1);
	for (i = 0; i < GQ_MAX_CHECKOUTS + 5; i++) {
		snprintf(repo, sizeof(repo), "g/p%u", i);
		req(&q, "ns1", repo, 0, i + 1);
		finish(&q, f.started[0], "aaaa");
		f.nstarted = 0;
	}
	cr_assert_eq(q.ncheckouts, GQ_MAX_CHECKOUTS);
	cr_assert_str_eq(TAILQ_FIRST(&q.checkouts)->project, "p5");
	gitpull_queue_free(&q);
}
