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
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_file.h"
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

/*
 * core.<service>.<pid>.<time>: 0 with the service (a pointer into name,
 * *svclen bytes) and the time, or -1.  service is [-_.a-zA-Z0-9]+.
 */
static int
core_name(const char *name, const char **svc, size_t *svclen, int64_t *ts)
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

static int
coredump_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct core_state	*st = state;
	struct core_ent		*ents = NULL, *ne;
	char			 path[PATH_MAX], svc[NAME_MAX + 1];
	const char		*s;
	struct dirent		*de;
	size_t			 n = 0, cap = 0, i, len;
	int64_t			 window = CORE_WINDOW, ts;
	uint64_t		 nlog;
	DIR			*d;
	int			 rc = 0;

	if (env->coredumpdir == NULL || env->coredumpdir[0] == '\0')
		return 0;
	if (env->items != NULL)
		window = items_interval(env->items, SYS_COREDUMP);
	if (collect_path(path, sizeof(path), env->root, "%s",
	    env->coredumpdir) == -1) {
		snprintf(err, errlen, "%s%s: path too long", env->root,
		    env->coredumpdir);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (core_name(de->d_name, &s, &len, &ts) == -1 ||
		    ts < env->now - window || ts > env->now + CORE_FUTURE ||
		    !core_regular(d, de))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((ne = reallocarray(ents, cap, sizeof(*ne))) ==
			    NULL)
				goto nomem;
			ents = ne;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL)
			goto nomem;
		ents[n].ts = ts;
		n++;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto done;
	}
	if (n > CORE_POINTS_MAX) {
		qsort(ents, n, sizeof(*ents), newest_cmp);
		if (warn_limit_due(&st->capped, env->mono, &nlog))
			log_warnx("%s: collect coredump: %s: %zu cores in the "
			    "window, over the %d a run: the newest sent (%llu "
			    "runs over it since the last line)", __func__, path,
			    n, CORE_POINTS_MAX, (unsigned long long)nlog);
		for (i = CORE_POINTS_MAX; i < n; i++)
			free(ents[i].name);
		n = CORE_POINTS_MAX;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), name_cmp);
	for (i = 0; i < n; i++) {
		if (core_name(ents[i].name, &s, &len, &ts) == -1)
			continue;	/* not reached: matched above */
		memcpy(svc, s, len);
		svc[len] = '\0';
		collect_list_add_int(out, "app.service.coredump", 1, "service",
		    svc, NULL);
	}
	goto done;
 nomem:
	snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
	rc = -1;
 done:
	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	(void)closedir(d);
	return rc;
}

const struct collect_family collect_coredump_family = {
	.name = "coredump",
	.type = SYS_COREDUMP,
	.init = coredump_init,
	.fini = coredump_fini,
	.collect = coredump_collect,
};
