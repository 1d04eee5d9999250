/*
 * Name resolution in a thread per lookup, answered on the event loop
 * (see sender_resolve.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sender_resolve.h"

/* One lookup, shared by the loop and its thread. */
struct resolve_job {
	pthread_mutex_t	 mtx;
	int		 refs;		/* loop and thread: 2 while both */
	int		 abandoned;	/* the loop gave up: do not wake it */
	int		 done;		/* the answer is in */
	struct ev_loop	*loop;		/* to wake, unless abandoned */
	ev_async	*async;
	resolve_fn	 fn;
	char		*host;
	char		*port;
	struct addrinfo	 hints;
	int		 rc;
	int		 sys_errno;
	struct addrinfo	*res;
};

/*
 * A default mutex fails to lock or unlock only when it was never set up
 * or is used wrongly: a bug, and no thread may go on after it.
 */
static void
job_lock(struct resolve_job *j)
{
	if (pthread_mutex_lock(&j->mtx) != 0)
		abort();
}

static void
job_unlock(struct resolve_job *j)
{
	if (pthread_mutex_unlock(&j->mtx) != 0)
		abort();
}

static void
job_free(struct resolve_job *j)
{
	if (j->res != NULL)
		freeaddrinfo(j->res);
	free(j->host);
	free(j->port);
	(void)pthread_mutex_destroy(&j->mtx);
	free(j);
}

/* Let go of the job; the last one to do so frees it. */
static void
job_release(struct resolve_job *j)
{
	int	 last;

	job_lock(j);
	last = --j->refs == 0;
	job_unlock(j);
	if (last)
		job_free(j);
}

static void *
resolve_thread(void *arg)
{
	struct resolve_job	*j = arg;
	struct addrinfo		*res = NULL;
	int			 rc, e;

	rc = j->fn(j->host, j->port, &j->hints, &res);
	e = rc == EAI_SYSTEM ? errno : 0;
	job_lock(j);
	j->rc = rc;
	j->sys_errno = e;
	j->res = rc == 0 ? res : NULL;
	j->done = 1;
	/* the loop and its watcher are only there while not abandoned */
	if (!j->abandoned)
		ev_async_send(j->loop, j->async);
	job_unlock(j);
	job_release(j);
	return NULL;
}

/* The lookup in progress ended: hand the answer over, last. */
static void
deliver(struct resolver *r, int timedout)
{
	struct resolve_job	*j = r->job;
	struct resolve_result	 out;

	memset(&out, 0, sizeof(out));
	r->job = NULL;
	ev_timer_stop(r->loop, &r->deadline);
	if (timedout)
		out.timedout = 1;
	else {
		/* done was seen under the lock: the thread wrote these */
		out.rc = j->rc;
		out.sys_errno = j->sys_errno;
		out.res = j->res;
		j->res = NULL;
	}
	job_release(j);
	r->cb(r, &out, r->arg);
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct resolver		*r = w->data;
	int			 done;

	if (r->job == NULL)
		return;		/* from a lookup cancelled since */
	job_lock(r->job);
	done = r->job->done;
	job_unlock(r->job);
	if (done)
		deliver(r, 0);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver		*r = w->data;
	int			 done;

	if (r->job == NULL)
		return;
	job_lock(r->job);
	done = r->job->done;
	if (!done)
		r->job->abandoned = 1;
	job_unlock(r->job);
	/* an answer that came just in time is taken */
	deliver(r, !done);
}

void
sender_resolve_init(struct resolver *r, struct ev_loop *loop, resolve_fn fn,
    resolve_cb cb, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->fn = fn != NULL ? fn : getaddrinfo;
	r->cb = cb;
	r->arg = arg;
	ev_async_init(&r->async, async_cb);
	r->async.data = r;
	ev_async_start(loop, &r->async);
	ev_timer_init(&r->deadline, deadline_cb, 0., 0.);
	r->deadline.data = r;
}

void
sender_resolve_cancel(struct resolver *r)
{
	struct resolve_job	*j = r->job;

	if (j == NULL)
		return;
	r->job = NULL;
	ev_timer_stop(r->loop, &r->deadline);
	job_lock(j);
	j->abandoned = 1;
	job_unlock(j);
	job_release(j);
}

int
sender_resolve_busy(const struct resolver *r)
{
	return r->job != NULL;
}

void
sender_resolve_close(struct resolver *r)
{
	if (r->loop == NULL)
		return;
	sender_resolve_cancel(r);
	ev_async_stop(r->loop, &r->async);
	ev_timer_stop(r->loop, &r->deadline);
}

/* Start the lookup's thread, detached, with every signal blocked. */
static int
job_thread(struct resolve_job *j, char *err, size_t errlen)
{
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sigset_t	 all, old;
	int		 e;

	if ((e = pthread_attr_init(&attr)) != 0) {
		snprintf(err, errlen, "pthread_attr_init: %s", strerror(e));
		return -1;
	}
	if ((e = pthread_attr_setdetachstate(&attr,
	    PTHREAD_CREATE_DETACHED)) != 0) {
		(void)pthread_attr_destroy(&attr);
		snprintf(err, errlen, "pthread_attr_setdetachstate: %s",
		    strerror(e));
		return -1;
	}
	/* the new thread inherits the mask: libev's signals stay ours */
	if (sigfillset(&all) == -1) {
		(void)pthread_attr_destroy(&attr);
		snprintf(err, errlen, "sigfillset: %s", strerror(errno));
		return -1;
	}
	if ((e = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		(void)pthread_attr_destroy(&attr);
		snprintf(err, errlen, "pthread_sigmask: %s", strerror(e));
		return -1;
	}
	e = pthread_create(&tid, &attr, resolve_thread, j);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		abort();	/* the old mask cannot be invalid */
	(void)pthread_attr_destroy(&attr);
	if (e != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(e));
		return -1;
	}
	return 0;
}

int
sender_resolve_start(struct resolver *r, const char *host, const char *port,
    const struct addrinfo *hints, double timeout, char *err, size_t errlen)
{
	struct resolve_job	*j;
	struct addrinfo		 nh, *res = NULL;
	int			 e, rc;

	sender_resolve_cancel(r);
	r->background = 0;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((e = pthread_mutex_init(&j->mtx, NULL)) != 0) {
		free(j);
		snprintf(err, errlen, "pthread_mutex_init: %s", strerror(e));
		return -1;
	}
	j->refs = 1;
	j->loop = r->loop;
	j->async = &r->async;
	j->fn = r->fn;
	j->hints = *hints;
	j->hints.ai_addr = NULL;
	j->hints.ai_canonname = NULL;
	j->hints.ai_next = NULL;
	/* an address needs no DNS: answer it now, through the loop */
	nh = j->hints;
	nh.ai_flags |= AI_NUMERICHOST;
	if ((rc = getaddrinfo(host, port, &nh, &res)) != EAI_NONAME) {
		j->rc = rc;
		j->sys_errno = rc == EAI_SYSTEM ? errno : 0;
		j->res = rc == 0 ? res : NULL;
		j->done = 1;
		r->job = j;
		ev_async_send(r->loop, &r->async);
	} else {
		if ((j->host = strdup(host)) == NULL ||
		    (j->port = strdup(port)) == NULL) {
			job_free(j);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		j->refs = 2;
		if (job_thread(j, err, errlen) == -1) {
			job_free(j);
			return -1;
		}
		r->job = j;
		r->background = 1;
	}
	ev_timer_set(&r->deadline, timeout > 0 ? timeout : 0., 0.);
	ev_timer_start(r->loop, &r->deadline);
	return 0;
}
