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
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_file.h"
#include "log.h"
#include "util.h"

#define CORE_WINDOW	60	/* without items: the default interval */

static void *
coredump_init(void)
{
	return calloc(1, 1);	/* nothing kept between runs */
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
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
coredump_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	char		 path[PATH_MAX], svc[NAME_MAX + 1], **names = NULL;
	char		**nn;
	const char	*s;
	struct dirent	*de;
	size_t		 n = 0, cap = 0, i, len;
	int64_t		 window = CORE_WINDOW, ts;
	DIR		*d;
	int		 rc = 0;

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
		    ts < env->now - window)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nn = reallocarray(names, cap, sizeof(*nn))) ==
			    NULL)
				goto nomem;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto done;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (core_name(names[i], &s, &len, &ts) == -1)
			continue;	/* not reached: matched above */
		memcpy(svc, s, len);
		svc[len] = '\0';
		collect_list_add_int(out, "app.service.coredump", 1, "service",
		    svc,
		    NULL);
	}
	goto done;
 nomem:
	snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
	rc = -1;
 done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
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
