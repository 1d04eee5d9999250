/*
 * Queueing and coalescing of git requests per checkout; see
 * gitpull_queue.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "gitpull_queue.h"

void
gitpull_queue_init(struct gq *q, const struct gq_ops *ops, void *arg,
    size_t max_running)
{
	memset(q, 0, sizeof(*q));
	q->ops = ops;
	q->arg = arg;
	q->max_running = max_running > 0 ? max_running : 1;
	TAILQ_INIT(&q->checkouts);
	TAILQ_INIT(&q->readyq);
}

static void
waiters_free(struct gq *q, struct gq_waiters *l)
{
	struct gq_waiter	*w;

	while ((w = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, w, entry);
		q->nwaiters--;
		free(w);
	}
}

static void
unready(struct gq *q, struct gq_checkout *c)
{
	if (c->in_ready) {
		TAILQ_REMOVE(&q->readyq, c, ready);
		c->in_ready = 0;
	}
}

static int
pending_urgent(const struct gq_checkout *c)
{
	const struct gq_waiter	*w;

	TAILQ_FOREACH(w, &c->pending, entry)
		if (w->urgent)
			return 1;
	return 0;
}

/* Into the ready queue: at its head when a client waits. */
static void
ready(struct gq *q, struct gq_checkout *c)
{
	int	 urgent = pending_urgent(c);

	if (c->in_ready) {
		if (!urgent)
			return;
		TAILQ_REMOVE(&q->readyq, c, ready);
	}
	if (urgent)
		TAILQ_INSERT_HEAD(&q->readyq, c, ready);
	else
		TAILQ_INSERT_TAIL(&q->readyq, c, ready);
	c->in_ready = 1;
}

static void
checkout_free(struct gq *q, struct gq_checkout *c)
{
	unready(q, c);
	waiters_free(q, &c->running);
	waiters_free(q, &c->pending);
	TAILQ_REMOVE(&q->checkouts, c, entry);
	q->ncheckouts--;
	free(c);
}

void
gitpull_queue_free(struct gq *q)
{
	struct gq_checkout	*c;

	while ((c = TAILQ_FIRST(&q->checkouts)) != NULL)
		checkout_free(q, c);
}

static void
answer_err(struct gq *q, uint32_t reqid, const char *why)
{
	struct git_resp	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.error, why, sizeof(r.error));
	q->st.failed++;
	q->ops->answer(q, reqid, &r);
}

/* Every waiter of the list gets r, and goes. */
static void
answer_all(struct gq *q, struct gq_waiters *l, const struct git_resp *r)
{
	struct gq_waiter	*w;

	while ((w = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, w, entry);
		q->nwaiters--;
		if (r->ok)
			q->st.ok++;
		else
			q->st.failed++;
		q->ops->answer(q, w->reqid, r);
		free(w);
	}
}

static struct gq_checkout *
checkout_find(struct gq *q, const char *ns, const char *project)
{
	struct gq_checkout	*c;

	TAILQ_FOREACH(c, &q->checkouts, entry)
		if (strcmp(c->ns, ns) == 0 && strcmp(c->project, project) == 0)
			return c;
	return NULL;
}

static int
checkout_idle(const struct gq_checkout *c)
{
	return !c->busy && TAILQ_EMPTY(&c->running) &&
	    TAILQ_EMPTY(&c->pending);
}

/* Found, or made (forgetting the least recently used idle one). */
static struct gq_checkout *
checkout_get(struct gq *q, const char *ns, const char *project)
{
	struct gq_checkout	*c;

	if ((c = checkout_find(q, ns, project)) != NULL) {
		TAILQ_REMOVE(&q->checkouts, c, entry);
		TAILQ_INSERT_TAIL(&q->checkouts, c, entry);
		return c;
	}
	if (q->ncheckouts >= GQ_MAX_CHECKOUTS) {
		TAILQ_FOREACH(c, &q->checkouts, entry)
			if (checkout_idle(c))
				break;
		if (c == NULL)
			return NULL;
		checkout_free(q, c);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->q = q;
	strlcpy(c->ns, ns, sizeof(c->ns));
	strlcpy(c->project, project, sizeof(c->project));
	TAILQ_INIT(&c->running);
	TAILQ_INIT(&c->pending);
	TAILQ_INSERT_TAIL(&q->checkouts, c, entry);
	q->ncheckouts++;
	return c;
}

/* Record the result, answer who waited for it, queue what waits next. */
static void
complete(struct gq *q, struct gq_checkout *c, const struct git_resp *r)
{
	size_t			 n = 0;
	struct gq_waiter	*w;

	c->busy = 0;
	c->op = NULL;
	q->nrunning--;
	c->last_run = time(NULL);
	c->runs++;
	if (r->ok) {
		strlcpy(c->commit, r->commit, sizeof(c->commit));
		c->error[0] = '\0';
	} else
		strlcpy(c->error, r->error, sizeof(c->error));
	TAILQ_FOREACH(w, &c->running, entry)
		n++;
	if (n > 1)
		q->st.coalesced += n - 1;
	answer_all(q, &c->running, r);
	if (!TAILQ_EMPTY(&c->pending) && !q->stopping)
		ready(q, c);
}

/* The next operation of c: every waiting request for one repository. */
static void
take_pending(struct gq_checkout *c)
{
	struct gq_waiter	*w, *next;

	/* the repository a client waits for, if one does */
	TAILQ_FOREACH(w, &c->pending, entry)
		if (w->urgent)
			break;
	if (w == NULL)
		w = TAILQ_FIRST(&c->pending);
	strlcpy(c->run_repo, w->repo, sizeof(c->run_repo));
	c->run_update = 0;
	for (w = TAILQ_FIRST(&c->pending); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (strcmp(w->repo, c->run_repo) != 0)
			continue;
		c->run_update |= w->update;
		TAILQ_REMOVE(&c->pending, w, entry);
		TAILQ_INSERT_TAIL(&c->running, w, entry);
	}
}

static void
kick(struct gq *q)
{
	struct gq_checkout	*c;
	struct git_resp		 now;

	/* complete() of an operation over at once must not recurse */
	if (q->kicking)
		return;
	q->kicking = 1;
	while (!q->stopping && (c = TAILQ_FIRST(&q->readyq)) != NULL &&
	    (q->nrunning < q->max_running || (q->nrunning < q->max_running +
	    GQ_URGENT_EXTRA && pending_urgent(c)))) {
		unready(q, c);
		if (c->busy || TAILQ_EMPTY(&c->pending))
			continue;
		take_pending(c);
		c->busy = 1;
		c->run_gen = q->gen;
		q->nrunning++;
		memset(&now, 0, sizeof(now));
		if (q->ops->start(q, c, &now) == -1)
			complete(q, c, &now);
	}
	q->kicking = 0;
}

void
gitpull_queue_request(struct gq *q, const struct git_req *req, uint32_t reqid)
{
	struct gq_checkout	*c;
	struct gq_waiter	*w;

	q->st.requests++;
	if (q->stopping) {
		q->st.refused++;
		answer_err(q, reqid, "the agent is stopping");
		return;
	}
	if (q->nwaiters >= GQ_MAX_WAITERS) {
		q->st.refused++;
		answer_err(q, reqid, "too many git requests waiting");
		return;
	}
	if ((c = checkout_get(q, req->ns, req->project)) == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		q->st.refused++;
		answer_err(q, reqid, c == NULL ? "too many checkouts busy" :
		    "out of memory");
		return;
	}
	w->reqid = reqid;
	w->update = req->update;
	w->urgent = req->urgent;
	strlcpy(w->repo, req->repo, sizeof(w->repo));
	q->nwaiters++;
	if (c->busy && !req->update && strcmp(req->repo, c->run_repo) == 0 &&
	    c->run_gen == q->gen) {
		/* whatever the running one finds answers this too */
		TAILQ_INSERT_TAIL(&c->running, w, entry);
		return;
	}
	TAILQ_INSERT_TAIL(&c->pending, w, entry);
	if (!c->busy)
		ready(q, c);
	kick(q);
}

void
gitpull_queue_finish(struct gq *q, struct gq_checkout *c,
    const struct git_resp *r)
{
	complete(q, c, r);
	kick(q);
}

void
gitpull_queue_drop_waiters(struct gq *q)
{
	struct gq_checkout	*c;

	TAILQ_FOREACH(c, &q->checkouts, entry) {
		waiters_free(q, &c->running);
		waiters_free(q, &c->pending);
		unready(q, c);
	}
}

void
gitpull_queue_settings_changed(struct gq *q)
{
	q->gen++;
}

void
gitpull_queue_stop(struct gq *q, const char *why)
{
	struct gq_checkout	*c;
	struct gq_waiter	*w;

	q->stopping = 1;
	TAILQ_FOREACH(c, &q->checkouts, entry) {
		unready(q, c);
		while ((w = TAILQ_FIRST(&c->pending)) != NULL) {
			TAILQ_REMOVE(&c->pending, w, entry);
			q->nwaiters--;
			answer_err(q, w->reqid, why);
			free(w);
		}
	}
}
