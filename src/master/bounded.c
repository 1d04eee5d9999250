/*
 * bounded.h: a blocking call in a thread, waited for a while.  The thread
 * and the caller share a small block; the last of the two to let go of
 * it frees it, and the argument too when the caller gave up waiting.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "bounded.h"

struct bounded {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 refs;
	int		 done;
	int		 abandoned;	/* the caller gave up: arg is ours */
	bounded_fn	 fn;
	void		*arg;
	void		(*free_arg)(void *);
};

static void
bounded_unref(struct bounded *b)
{
	int	 left, abandoned;

	pthread_mutex_lock(&b->mtx);
	left = --b->refs;
	abandoned = b->abandoned;
	pthread_mutex_unlock(&b->mtx);
	if (left > 0)
		return;
	if (abandoned && b->free_arg != NULL)
		b->free_arg(b->arg);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mtx);
	free(b);
}

static void *
bounded_thread(void *p)
{
	struct bounded	*b = p;

	b->fn(b->arg);
	pthread_mutex_lock(&b->mtx);
	b->done = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
	bounded_unref(b);
	return NULL;
}

static struct bounded *
bounded_new(void)
{
	struct bounded		*b;
	pthread_condattr_t	 ca;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0) {
		free(b);
		return NULL;
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&b->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		free(b);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&b->mtx, NULL) != 0) {
		pthread_cond_destroy(&b->cv);
		free(b);
		return NULL;
	}
	return b;
}

int
bounded_done(struct bounded *b)
{
	int	 done;

	pthread_mutex_lock(&b->mtx);
	done = b->done;
	pthread_mutex_unlock(&b->mtx);
	return done;
}

void
bounded_release(struct bounded *b)
{
	bounded_unref(b);
}

int
bounded_call(bounded_fn fn, void *arg, void (*free_arg)(void *), int secs,
    struct bounded **held)
{
	struct bounded	*b;
	pthread_attr_t	 ta;
	pthread_t	 t;
	sigset_t	 all, old;
	struct timespec	 until;
	int		 rc, timed_out;

	if ((b = bounded_new()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->fn = fn;
	b->arg = arg;
	b->free_arg = free_arg;
	b->refs = 2;
	if (pthread_attr_init(&ta) != 0) {
		b->refs = 1;
		bounded_unref(b);
		errno = ENOMEM;
		return -1;
	}
	(void)pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	/* the master's signals are for its loop, not for this thread */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &ta, bounded_thread, b);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (rc != 0) {
		b->refs = 1;
		bounded_unref(b);
		errno = rc;
		return -1;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &until) == -1)
		abort();	/* CLOCK_MONOTONIC cannot fail */
	until.tv_sec += secs;
	rc = 0;
	pthread_mutex_lock(&b->mtx);
	while (!b->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&b->cv, &b->mtx, &until);
	timed_out = !b->done;
	b->abandoned = timed_out;
	pthread_mutex_unlock(&b->mtx);
	if (timed_out && held != NULL) {
		/* our reference goes to the caller */
		*held = b;
		errno = ETIMEDOUT;
		return -1;
	}
	bounded_unref(b);
	if (timed_out) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}
