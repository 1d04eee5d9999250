/*
 * Walks over /proc/<pid> in threads the loop can give up on (see
 * collect_pids.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect_file.h"
#include "collect_pids.h"
#include "log.h"

/*
 * A walk's thread reads small files into buffers on its stack (the
 * largest, status, 16 kB); a sanitizer build's frames are larger.
 */
#define PIDS_STACK	(256 * 1024)

/* One walk, shared by the loop and its thread. */
struct pids_job {
	struct collect_pids	*p;
	struct collect_walk	*w;
	char			*root;
	char			*skip[COLLECT_PIDS_STUCK_MAX];	/* keys */
	size_t			 nskip;
	int			 rc;		/* the walk's, once done */
	int			 done;		/* under p->mtx */
	atomic_int		 abandoned;	/* the loop gave up on it */
	atomic_long		 cur;		/* the pid, or key + 1, being
						 * read; 0 none */
	atomic_ulong		 steps;		/* pids read so far */
	int			 keyed;		/* a walk of keys: its kind */
	int			 overtime;	/* given up on: past budget */
	char			*stuck_key;	/* what later walks skip */
	char			*stuck;		/* "/proc/1234", "statfs /x" */
	struct pids_job		*next;		/* in p->stuck */
};

struct collect_pids {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;		/* a walk is done */
	int			 refs;		/* the loop's, and a thread's */
	double			 patience;
	struct pids_job		*stuck;		/* given up on, still reading */
	size_t			 nstuck[2];	/* by kind: pids, keys */
	char			*back[2 * COLLECT_PIDS_STUCK_MAX]; /* answered */
	size_t			 nback;
};

/* A default mutex fails only when misused: a bug no thread may outlive. */
static void
pids_lock(struct collect_pids *p)
{
	if (pthread_mutex_lock(&p->mtx) != 0)
		abort();
}

static void
pids_unlock(struct collect_pids *p)
{
	if (pthread_mutex_unlock(&p->mtx) != 0)
		abort();
}

static void
pids_destroy(struct collect_pids *p)
{
	size_t	 i;

	for (i = 0; i < p->nback; i++)
		free(p->back[i]);
	(void)pthread_cond_destroy(&p->cv);
	(void)pthread_mutex_destroy(&p->mtx);
	free(p);
}

static void
job_free(struct pids_job *j)
{
	size_t	 i;

	if (j->w != NULL)
		j->w->destroy(j->w);
	for (i = 0; i < j->nskip; i++)
		free(j->skip[i]);
	free(j->stuck_key);
	free(j->stuck);
	free(j->root);
	free(j);
}

int
collect_pids_parse(const char *s)
{
	long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 0 && v <= INT_MAX ? (int)v : -1;
}

static int
skipped(const struct pids_job *j, const char *key)
{
	size_t	 i;

	for (i = 0; i < j->nskip; i++)
		if (strcmp(j->skip[i], key) == 0)
			return 1;
	return 0;
}

/* In the thread: every key, until done, an error, or given up on. */
static int
walk_keys(struct pids_job *j)
{
	struct collect_walk	*w = j->w;
	size_t			 i;

	for (i = 0; i < w->nkeys && !atomic_load(&j->abandoned); i++) {
		if (skipped(j, w->keys[i]))
			continue;
		atomic_store(&j->cur, (long)i + 1);
		if (w->visit_key(w, j->root, i) == -1)
			return -1;
		atomic_store(&j->cur, 0);
		atomic_fetch_add(&j->steps, 1);
	}
	return 0;
}

/* In the thread: every pid, until done, an error, or given up on. */
static int
walk(struct pids_job *j)
{
	struct collect_walk	*w = j->w;
	char			 path[PATH_MAX];
	struct dirent		*de;
	DIR			*d;
	int			 pid, rc = 0;

	if (w->keys != NULL)
		return walk_keys(j);
	if (collect_path(path, sizeof(path), j->root, "/proc") == -1) {
		snprintf(w->err, sizeof(w->err), "%s/proc: path too long",
		    j->root);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(w->err, sizeof(w->err), "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (!atomic_load(&j->abandoned)) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(w->err, sizeof(w->err),
				    "%s: readdir: %s", path, strerror(errno));
				rc = -1;
			}
			break;
		}
		if ((pid = collect_pids_parse(de->d_name)) == -1 ||
		    skipped(j, de->d_name))
			continue;
		atomic_store(&j->cur, pid);
		if (w->visit(w, j->root, pid) == -1) {
			rc = -1;
			break;
		}
		atomic_store(&j->cur, 0);
		atomic_fetch_add(&j->steps, 1);
	}
	(void)closedir(d);
	return rc;
}

static void
unlink_stuck(struct collect_pids *p, struct pids_job *j)
{
	struct pids_job	**pp;

	for (pp = &p->stuck; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			p->nstuck[j->keyed]--;
			break;
		}
}

static void *
walk_thread(void *arg)
{
	struct pids_job		*j = arg;
	struct collect_pids	*p = j->p;
	int			 rc, mine, last;

	rc = walk(j);
	pids_lock(p);
	j->rc = rc;
	j->done = 1;
	/* given up on: the walk is this thread's to free, and its pid
	 * may be read again */
	if ((mine = atomic_load(&j->abandoned))) {
		unlink_stuck(p, j);
		/* said by the loop at its next walk */
		if (p->nback < 2 * COLLECT_PIDS_STUCK_MAX &&
		    j->stuck != NULL) {
			p->back[p->nback++] = j->stuck;
			j->stuck = NULL;
		}
	}
	last = --p->refs == 0;
	if (pthread_cond_broadcast(&p->cv) != 0)
		abort();
	pids_unlock(p);
	/* not ours: the loop may free j from here on */
	if (mine)
		job_free(j);
	if (last)
		pids_destroy(p);
	return NULL;
}

struct collect_pids *
collect_pids_new(double patience)
{
	struct collect_pids	*p;
	pthread_condattr_t	 ca;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->refs = 1;
	p->patience = patience;
	if (pthread_mutex_init(&p->mtx, NULL) != 0) {
		free(p);
		return NULL;
	}
	/* the deadline on the monotonic clock: a clock step is no hang */
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&p->cv, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		goto fail;
	}
	(void)pthread_condattr_destroy(&ca);
	return p;
 fail:
	(void)pthread_mutex_destroy(&p->mtx);
	free(p);
	return NULL;
}

void
collect_pids_free(struct collect_pids *p)
{
	int	 last;

	if (p == NULL)
		return;
	pids_lock(p);
	last = --p->refs == 0;
	pids_unlock(p);
	if (last)
		pids_destroy(p);
}

size_t
collect_pids_stuck(struct collect_pids *p)
{
	size_t	 n;

	pids_lock(p);
	n = p->nstuck[0] + p->nstuck[1];
	pids_unlock(p);
	return n;
}

double
collect_pids_budget(int64_t interval)
{
	double	 b = (double)interval / 2;

	return interval <= 0 || b > COLLECT_PIDS_WALK_MAX ?
	    COLLECT_PIDS_WALK_MAX : b;
}

static struct timespec
mono_after(double s)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		abort();	/* CLOCK_MONOTONIC cannot fail */
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int
mono_passed(const struct timespec *t)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		abort();
	return now.tv_sec > t->tv_sec ||
	    (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * Under p->mtx: the pids answered since the last walk go to `back` (to
 * log after, then free), the ones of its kind still stuck to the job's
 * skip list.  -1 with err when too many threads of its kind wait
 * already, or out of memory.
 */
static int
job_prepare(struct collect_pids *p, struct pids_job *j, char **back,
    size_t *nback, char *err, size_t errlen)
{
	struct pids_job	*s;
	size_t		 n;
	int		 first;

	memcpy(back, p->back, p->nback * sizeof(*back));
	*nback = p->nback;
	p->nback = 0;
	if (p->nstuck[j->keyed] >= COLLECT_PIDS_STUCK_MAX) {
		n = (size_t)snprintf(err, errlen, "walks paused: %zu reads "
		    "wait in the kernel (", p->nstuck[j->keyed]);
		for (s = p->stuck, first = 1; s != NULL && n < errlen;
		    s = s->next) {
			if (s->keyed != j->keyed)
				continue;
			n += (size_t)snprintf(err + n, errlen - n, "%s%s",
			    first ? "" : ", ",
			    s->stuck != NULL ? s->stuck : "?");
			first = 0;
		}
		if (n < errlen)
			snprintf(err + n, errlen - n, ")");
		return -1;
	}
	for (s = p->stuck; s != NULL; s = s->next) {
		if (s->stuck_key == NULL || s->keyed != j->keyed)
			continue;
		if ((j->skip[j->nskip] = strdup(s->stuck_key)) == NULL) {
			snprintf(err, errlen, "out of memory for a walk");
			return -1;
		}
		j->nskip++;
	}
	return 0;
}

/* Start the thread with every signal blocked: they are the loop's. */
static int
job_start(struct pids_job *j)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	sigset_t	 all, old;
	int		 e;

	if ((e = pthread_attr_init(&attr)) != 0)
		return e;
	if ((e = pthread_attr_setdetachstate(&attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (e = pthread_attr_setstacksize(&attr, PIDS_STACK)) != 0) {
		(void)pthread_attr_destroy(&attr);
		return e;
	}
	(void)sigfillset(&all);
	if ((e = pthread_sigmask(SIG_SETMASK, &all, &old)) == 0) {
		e = pthread_create(&t, &attr, walk_thread, j);
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	(void)pthread_attr_destroy(&attr);
	return e;
}

/* What the job was reading when given up on: its key, and its name. */
static void
job_name_stuck(struct pids_job *j, long cur)
{
	struct collect_walk	*w = j->w;
	char			 key[32];
	int			 n;

	if (w->keys != NULL && cur > 0 && (size_t)cur <= w->nkeys) {
		j->stuck_key = strdup(w->keys[cur - 1]);
		n = asprintf(&j->stuck, "%s %s", w->verb, w->keys[cur - 1]);
	} else if (w->keys == NULL && cur > 0) {
		snprintf(key, sizeof(key), "%ld", cur);
		j->stuck_key = strdup(key);
		n = asprintf(&j->stuck, "%s/proc/%ld", j->root, cur);
	} else if (j->overtime)
		/* between two: the thread ends at once */
		n = asprintf(&j->stuck, "%s (a walk past its time)",
		    w->keys != NULL ? w->verb : j->root);
	else
		n = asprintf(&j->stuck, "%s/proc (the listing)", j->root);
	/* out of memory: nothing skipped, and named "?" */
	if (n == -1)
		j->stuck = NULL;
}

static const struct timespec *
ts_min(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? a : b;
	return a->tv_nsec <= b->tv_nsec ? a : b;
}

/*
 * Wait for the job while it makes progress, until its budget is spent;
 * under p->mtx.  0 when done, -1 when given up on (it is in p->stuck
 * then; j->overtime when for the budget).
 */
static int
job_wait(struct collect_pids *p, struct pids_job *j, double budget)
{
	struct timespec	 deadline = mono_after(p->patience);
	struct timespec	 end = mono_after(budget);
	unsigned long	 seen = atomic_load(&j->steps), now;
	int		 e;

	while (!j->done) {
		e = pthread_cond_timedwait(&p->cv, &p->mtx,
		    ts_min(&deadline, &end));
		if (e != 0 && e != ETIMEDOUT && e != EINTR)
			abort();
		if (j->done)
			break;
		if (mono_passed(&end))
			j->overtime = 1;
		else if (!mono_passed(&deadline))
			continue;
		else if ((now = atomic_load(&j->steps)) != seen) {
			seen = now;
			deadline = mono_after(p->patience);
			continue;
		}
		atomic_store(&j->abandoned, 1);
		job_name_stuck(j, atomic_load(&j->cur));
		j->next = p->stuck;
		p->stuck = j;
		p->nstuck[j->keyed]++;
		return -1;
	}
	return 0;
}

static void
log_back(char **back, size_t nback)
{
	size_t	 i;

	for (i = 0; i < nback; i++) {
		log_info("collector: %s answers again: read from the next "
		    "walk on", back[i]);
		free(back[i]);
	}
}

int
collect_pids_walk(struct collect_pids *p, const char *root,
    struct collect_walk *w, char *err, size_t errlen)
{
	struct pids_job	*j;
	char		*back[2 * COLLECT_PIDS_STUCK_MAX];
	double		 budget;
	int		 e, rc;
	size_t		 nback = 0;

	err[0] = '\0';
	w->err[0] = '\0';
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->root = strdup(root)) == NULL) {
		snprintf(err, errlen, "out of memory for a walk of %s/proc",
		    root);
		free(j);
		w->destroy(w);
		return -1;
	}
	j->p = p;
	j->w = w;
	j->keyed = w->keys != NULL;
	budget = w->budget > 0 ? w->budget : COLLECT_PIDS_WALK_MAX;
	pids_lock(p);
	if ((rc = job_prepare(p, j, back, &nback, err, errlen)) == 0) {
		p->refs++;
		if ((e = job_start(j)) != 0) {
			p->refs--;
			snprintf(err, errlen, "cannot start a walk of %s/proc: "
			    "%s", root, strerror(e));
			rc = -1;
		}
	}
	if (rc == -1) {
		pids_unlock(p);
		job_free(j);
		log_back(back, nback);
		return -1;
	}
	if (job_wait(p, j, budget) == -1) {
		/* the job is its thread's now */
		if (j->overtime)
			snprintf(err, errlen, "the %s walk took over %g s, at "
			    "%s (%s): given up this round", w->keys != NULL ?
			    w->verb : "/proc", budget,
			    j->stuck != NULL ? j->stuck : "?",
			    w->keys != NULL ? w->hint :
			    "processes held in execve, let go one by one?");
		else
			snprintf(err, errlen, "%s did not answer in %g s (%s): "
			    "skipped until it does",
			    j->stuck != NULL ? j->stuck : "?", p->patience,
			    w->keys != NULL ? w->hint :
			    "a process held in execve?");
		pids_unlock(p);
		log_back(back, nback);
		return -1;
	}
	pids_unlock(p);
	log_back(back, nback);
	if (j->rc == -1) {
		snprintf(err, errlen, "%s", w->err[0] != '\0' ? w->err :
		    "the walk failed (no reason given)");
		job_free(j);
		return -1;
	}
	j->w = NULL;
	job_free(j);
	return 0;
}
