/*
 * COREDUMP: app.service.coredump = 1, tag service, for each file
 * core.<service>.<pid>.<time> in coredumpdir whose time is within the
 * last interval (lodastack-protocols.md section 5.8).  A missing
 * directory means no cores, not an error.
 *
 * Where this differs from the Go agent: the name is read from the right
 * with dots as separators, so a service with a dot (core_pattern's %e,
 * e.g. "php-fpm7.4") is found; the Go agent's regular expression took
 * any character as a separator and matched such names wrongly or not at
 * all.  The window is the COREDUMP interval (60 s by default), not a
 * fixed 60 s that missed cores when the registry set a longer interval.
 * Files come sorted by name, as Go's ReadDir gave them.
 *
 * The directory is usually world-writable (1777), so its names are
 * anybody's to make: only regular files count (not a symlink, a FIFO, a
 * directory named like a core; d_type, lstat semantics when the file
 * system does not fill it in), a time more than CORE_FUTURE seconds
 * ahead is refused (`touch core.sshd.1.9999999999` alerted every run
 * until 2286), and at most CORE_POINTS_MAX cores a run are sent, the
 * newest, said in the log at most once per WARN_LIMIT_EVERY seconds.
 *
 * The directory may be on a network file system (a shared crash store),
 * whose listing waits as long as its server is away: it is listed in a
 * walk's thread with it as the one key (collect_pids.h), so that a dead
 * server costs the COREDUMP rounds, named in the log, and not every
 * family of the collector.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_coredump.h"
#include "collect_file.h"
#include "collect_pids.h"
#include "log.h"
#include "util.h"
#include "warn_limit.h"

#define CORE_WINDOW	60	/* without items: the default interval */
#define CORE_FUTURE	60	/* seconds a core's time may be ahead */
#define CORE_POINTS_MAX	100	/* per run, the newest */

struct core_state {
	struct warn_limit	 capped;	/* runs over CORE_POINTS_MAX */
};

struct core_ent {
	char	*name;
	int64_t	 ts;
};

static void *
coredump_init(void)
{
	return calloc(1, sizeof(struct core_state));
}

static void
coredump_fini(void *state)
{
	free(state);
}

/* 18 digits cannot overflow int64 */
static int
all_digits(const char *s, size_t n)
{
	return n <= 18 && util_all_digits(s, n);
}

int
collect_coredump_name(const char *name, const char **svc, size_t *svclen,
    int64_t *ts)
{
	const char	*s, *tdot, *pdot, *p;
	size_t		 n;

	if (strncmp(name, "core.", 5) != 0)
		return -1;
	s = name + 5;
	if ((tdot = strrchr(s, '.')) == NULL || tdot == s ||
	    !all_digits(tdot + 1, strlen(tdot + 1)))
		return -1;
	for (pdot = tdot - 1; pdot > s && *pdot != '.'; pdot--)
		;
	if (pdot == s || !all_digits(pdot + 1, (size_t)(tdot - pdot - 1)))
		return -1;
	n = (size_t)(pdot - s);
	for (p = s; p < pdot; p++)
		if (strchr("-_.", *p) == NULL &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9'))
			return -1;
	*svc = s;
	*svclen = n;
	*ts = strtoll(tdot + 1, NULL, 10);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct core_ent *)a)->name,
	    ((const struct core_ent *)b)->name);
}

/* Newest first; by name within one second. */
static int
newest_cmp(const void *a, const void *b)
{
	const struct core_ent	*x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts > y->ts ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A regular file itself, not what a symlink points to. */
static int
core_regular(DIR *d, const struct dirent *de)
{
	struct stat	 st;

	if (de->d_type == DT_REG)
		return 1;
	if (de->d_type != DT_UNKNOWN)
		return 0;
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;	/* gone since */
	return S_ISREG(st.st_mode);
}

/* What the walk's thread finds in the directory, its one key. */
struct core_walk {
	struct collect_walk	 w;	/* first: the walk is the struct */
	int64_t			 from, to;	/* the times that count */
	struct core_ent		*ents;
	size_t			 n;
	int			 done;	/* listed, not skipped */
	int			 err;	/* errno of the listing; 0: listed */
};

static void
core_walk_destroy(struct collect_walk *w)
{
	struct core_walk	*cw = (struct core_walk *)w;
	size_t			 i;

	for (i = 0; i < cw->n; i++)
		free(cw->ents[i].name);
	free(cw->ents);
	if (w->keys != NULL)
		free(w->keys[0]);
	free(w->keys);
	free(cw);
}

/* In the walk's thread: no log, nothing but the walk's own. */
static int
core_list(struct collect_walk *w, const char *root, size_t i)
{
	struct core_walk	*cw = (struct core_walk *)w;
	struct core_ent		*ne;
	char			 path[PATH_MAX];
	const char		*s;
	struct dirent		*de;
	size_t			 cap = 0, len;
	int64_t			 ts;
	DIR			*d;

	cw->done = 1;
	if (collect_path(path, sizeof(path), root, "%s", w->keys[i]) == -1) {
		cw->err = ENAMETOOLONG;
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		/* a missing directory: no cores */
		cw->err = errno == ENOENT ? 0 : errno;
		return 0;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (collect_coredump_name(de->d_name, &s, &len, &ts) == -1 ||
		    ts < cw->from || ts > cw->to || !core_regular(d, de))
			continue;
		if (cw->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((ne = reallocarray(cw->ents, cap,
			    sizeof(*ne))) == NULL)
				goto nomem;
			cw->ents = ne;
		}
		if ((cw->ents[cw->n].name = strdup(de->d_name)) == NULL)
			goto nomem;
		cw->ents[cw->n++].ts = ts;
	}
	if (errno != 0)
		cw->err = errno;
	(void)closedir(d);
	return 0;
 nomem:
	cw->err = ENOMEM;
	(void)closedir(d);
	return 0;
}

static struct core_walk *
core_walk_new(const char *dir, int64_t from, int64_t to)
{
	struct core_walk	*cw;

	if ((cw = calloc(1, sizeof(*cw))) == NULL)
		return NULL;
	cw->w.visit_key = core_list;
	cw->w.destroy = core_walk_destroy;
	cw->w.verb = "opendir";
	cw->w.hint = "a dead network file system?";
	cw->from = from;
	cw->to = to;
	if ((cw->w.keys = calloc(1, sizeof(*cw->w.keys))) == NULL ||
	    (cw->w.keys[0] = strdup(dir)) == NULL) {
		core_walk_destroy(&cw->w);
		return NULL;
	}
	cw->w.nkeys = 1;
	return cw;
}

/* The points of the cores found: at most CORE_POINTS_MAX, the newest. */
static void
core_points(struct core_state *st, const struct collect_env *env,
    struct core_walk *cw, const char *dir, struct point_list *out)
{
	char		 svc[NAME_MAX + 1];
	const char	*s;
	size_t		 i, len;
	int64_t		 ts;
	uint64_t	 nlog;

	if (cw->n > CORE_POINTS_MAX) {
		qsort(cw->ents, cw->n, sizeof(*cw->ents), newest_cmp);
		if (warn_limit_due(&st->capped, env->mono, &nlog))
			log_warnx("%s: collect coredump: %s%s: %zu cores in "
			    "the window, over the %d a run: the newest sent "
			    "(%llu runs over it since the last line)",
			    __func__, env->root, dir, cw->n, CORE_POINTS_MAX,
			    (unsigned long long)nlog);
		for (i = CORE_POINTS_MAX; i < cw->n; i++)
			free(cw->ents[i].name);
		cw->n = CORE_POINTS_MAX;
	}
	if (cw->n > 0)
		qsort(cw->ents, cw->n, sizeof(*cw->ents), name_cmp);
	for (i = 0; i < cw->n; i++) {
		if (collect_coredump_name(cw->ents[i].name, &s, &len,
		    &ts) == -1)
			continue;	/* not reached: matched when listed */
		memcpy(svc, s, len);
		svc[len] = '\0';
		collect_list_add_int(out, "app.service.coredump", 1, "service",
		    svc, NULL);
	}
}

static int
coredump_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct core_state	*st = state;
	struct core_walk	*cw;
	int64_t			 window = CORE_WINDOW;

	if (env->coredumpdir == NULL || env->coredumpdir[0] == '\0')
		return 0;
	if (env->pids == NULL) {
		snprintf(err, errlen, "no walker for %s", env->coredumpdir);
		return -1;
	}
	if (env->items != NULL)
		window = items_interval(env->items, SYS_COREDUMP);
	if ((cw = core_walk_new(env->coredumpdir, env->now - window,
	    env->now + CORE_FUTURE)) == NULL) {
		snprintf(err, errlen, "%s: %s", env->coredumpdir,
		    strerror(ENOMEM));
		return -1;
	}
	cw->w.budget = collect_pids_budget(env->items != NULL ?
	    items_interval(env->items, SYS_COREDUMP) : 0);
	/* a listing that hangs: named in err, none this round */
	if (collect_pids_walk(env->pids, env->root, &cw->w, err,
	    errlen) == -1)
		return -1;
	if (!cw->done)
		log_debug("collect coredump: %s%s still lists: skipped",
		    env->root, env->coredumpdir);
	else if (cw->err != 0) {
		snprintf(err, errlen, "%s%s: %s", env->root,
		    env->coredumpdir, strerror(cw->err));
		core_walk_destroy(&cw->w);
		return -1;
	} else
		core_points(st, env, cw, env->coredumpdir, out);
	core_walk_destroy(&cw->w);
	return 0;
}

const struct collect_family collect_coredump_family = {
	.name = "coredump",
	.type = SYS_COREDUMP,
	.init = coredump_init,
	.fini = coredump_fini,
	.collect = coredump_collect,
};
