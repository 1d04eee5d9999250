/*
 * For the metric family tests: running one family against the fixture
 * trees of tests/fixtures/collect (see the README there), a temporary
 * root to build trees in, and a text dump of a point list ("name
 * tag=v,tag=v value [@ts] [>ns]" per line) so a test compares a whole
 * family output with one string.
 */
#ifndef TEST_COLLECT_FIXTURE_H
#define TEST_COLLECT_FIXTURE_H

#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "workers/collector/collect.h"
#include "workers/collector/collect_pids.h"

#define FIXTURES	"tests/fixtures/collect"

struct famrun {
	const struct collect_family	*f;
	void				*state;
	struct point_list		 pl;
	struct collect_env		 env;
	struct strlist			 prefix;
	char				 root[PATH_MAX];
	char				 err[512];
};

static inline void
fr_init(struct famrun *r, const struct collect_family *f)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	collect_list_init(&r->pl);
	strlist_init(&r->prefix);
	r->env.ifaceprefix = &r->prefix;
	r->env.ntpserver = "";
	r->env.coredumpdir = "/nonexistent";
	cr_assert_not_null(r->env.pids =
	    collect_pids_new(COLLECT_PIDS_PATIENCE));
	r->state = f->init != NULL ? f->init() : NULL;
	cr_assert(f->init == NULL || r->state != NULL, "%s: init", f->name);
}

/* One run on the fixture tree `tree` at monotonic time `mono`: its return. */
static inline int
fr_collect(struct famrun *r, const char *tree, double mono)
{
	int	 rv;

	collect_list_reset(&r->pl);
	snprintf(r->root, sizeof(r->root), "%s/%s", FIXTURES, tree);
	r->env.root = r->root;
	r->env.mono = mono;
	r->env.now = 1714538096 + (int64_t)mono;
	r->err[0] = '\0';
	rv = r->f->collect(r->state, &r->env, &r->pl, r->err,
	    sizeof(r->err));
	cr_assert(!r->pl.failed, "%s: allocation failed", r->f->name);
	return rv;
}

static inline void
fr_fini(struct famrun *r)
{
	if (r->f->fini != NULL)
		r->f->fini(r->state);
	collect_list_free(&r->pl);
	strlist_free(&r->prefix);
	collect_pids_free(r->env.pids);
}

static inline const char *
pt_tag(const struct point *p, const char *key)
{
	size_t	 i;

	for (i = 0; i < p->ntags; i++)
		if (strcmp(p->tags[i].key, key) == 0)
			return p->tags[i].value;
	return NULL;
}

/* The one point named `name` with tag key=value (key NULL: no tags). */
static inline const struct point *
fr_find(const struct famrun *r, const char *name, const char *key,
    const char *value)
{
	const struct point	*p, *found = NULL;
	const char		*v;
	size_t			 i;

	for (i = 0; i < r->pl.n; i++) {
		p = &r->pl.v[i];
		if (strcmp(p->name, name) != 0)
			continue;
		if (key == NULL ? p->ntags != 0 : ((v = pt_tag(p, key)) ==
		    NULL || strcmp(v, value) != 0))
			continue;
		cr_assert_null(found, "%s %s=%s twice", name, key ? key : "",
		    value ? value : "");
		found = p;
	}
	return found;
}

static inline size_t
fr_count(const struct famrun *r, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < r->pl.n; i++)
		n += strcmp(r->pl.v[i].name, name) == 0;
	return n;
}

/* Exact: collect_trunc2() gives one double for one decimal value. */
static inline void
expect_float(const struct famrun *r, const char *name, const char *key,
    const char *value, double want)
{
	const struct point	*p = fr_find(r, name, key, value);

	cr_assert_not_null(p, "no %s %s=%s", name, key ? key : "",
	    value ? value : "");
	cr_expect_eq(p->kind, POINT_FLOAT, "%s: not a float", name);
	cr_expect(p->fval == want, "%s %s=%s: %.17g, want %.17g", name,
	    key ? key : "", value ? value : "", p->fval, want);
}

static inline void
expect_int(const struct famrun *r, const char *name, const char *key,
    const char *value, int64_t want)
{
	const struct point	*p = fr_find(r, name, key, value);

	cr_assert_not_null(p, "no %s %s=%s", name, key ? key : "",
	    value ? value : "");
	cr_expect_eq(p->kind, POINT_INT, "%s: not an integer", name);
	cr_expect_eq(p->ival, want, "%s %s=%s: %lld, want %lld", name,
	    key ? key : "", value ? value : "", (long long)p->ival,
	    (long long)want);
}

static inline void
expect_none(const struct famrun *r, const char *name, const char *key,
    const char *value)
{
	cr_expect_null(fr_find(r, name, key, value), "%s %s=%s sent", name,
	    key ? key : "", value ? value : "");
}

/* No NaN, no infinity, no negative value, ever. */
static inline void
expect_sane(const struct famrun *r)
{
	const struct point	*p;
	size_t			 i;

	for (i = 0; i < r->pl.n; i++) {
		p = &r->pl.v[i];
		if (p->kind == POINT_FLOAT)
			cr_expect(p->fval >= 0.0 && p->fval < 1e300,
			    "%s: %g", p->name, p->fval);
		else
			cr_expect(p->kind == POINT_INT && p->ival >= 0,
			    "%s: kind %d value %lld", p->name, p->kind,
			    (long long)p->ival);
		cr_expect_eq(p->timestamp, 0, "%s: timestamp set", p->name);
	}
}

static inline void
tmp_root(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/agent-collect-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static inline void
rm_tree(const char *dir)
{
	char	 cmd[PATH_MAX + 16];
	int	 rc;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	rc = system(cmd);
	cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

/* root/rel with its parents; rel as printf. */
static inline void
mk_dir(const char *root, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
mk_dir(const char *root, const char *fmt, ...)
{
	char	 rel[PATH_MAX], path[PATH_MAX * 2];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(util_mkdir_p(path, 0755), 0, "mkdir %s", path);
}

/* Write len bytes at root/rel, parents made. */
static inline void
put_bytes(const char *root, const char *rel, const void *data, size_t len)
{
	char	 path[PATH_MAX * 2], *slash;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		cr_assert_eq(util_mkdir_p(path, 0755), 0, "mkdir %s", path);
		*slash = '/';
	}
	cr_assert_not_null(fp = fopen(path, "w"), "%s", path);
	if (len > 0)
		cr_assert_eq(fwrite(data, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
}

static inline void
put_file(const char *root, const char *rel, const char *text)
{
	put_bytes(root, rel, text, strlen(text));
}

/* Copy a fixture file to root/rel. */
static inline void
copy_fixture(const char *root, const char *rel, const char *fixture)
{
	char	 path[PATH_MAX], buf[1 << 16];
	size_t	 n;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, fixture);
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	n = fread(buf, 1, sizeof(buf), fp);
	cr_assert(n < sizeof(buf));
	fclose(fp);
	put_bytes(root, rel, buf, n);
}

/* Whole file into a static buffer (tests only). */
static inline const char *
get_file(const char *path)
{
	static char	 buf[4096];
	size_t		 n;
	FILE		*fp;

	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The list as text; free() it. */
static inline char *
pl_dump(const struct point_list *pl)
{
	char	*out = NULL;
	size_t	 len = 0, i, j;
	FILE	*fp;

	cr_assert_not_null(fp = open_memstream(&out, &len));
	for (i = 0; i < pl->n; i++) {
		const struct point	*p = &pl->v[i];

		fprintf(fp, "%s ", p->name);
		for (j = 0; j < p->ntags; j++)
			fprintf(fp, "%s%s=%s", j > 0 ? "," : "",
			    p->tags[j].key, p->tags[j].value);
		if (p->ntags == 0)
			fprintf(fp, "-");
		if (p->kind == POINT_INT)
			fprintf(fp, " %lld", (long long)p->ival);
		else if (p->kind == POINT_FLOAT)
			fprintf(fp, " %.10gf", p->fval);
		else
			fprintf(fp, " ?");
		if (p->timestamp != 0)
			fprintf(fp, " @%lld", (long long)p->timestamp);
		if (pl->route[i] != NULL)
			fprintf(fp, " >%s", pl->route[i]);
		fprintf(fp, "\n");
	}
	cr_assert_eq(fclose(fp), 0);
	return out;
}

/*
 * Every point passes the normalizer the collector runs them through
 * (which changes them: tags sorted, host added).
 */
static inline void
assert_normalizes(struct point_list *pl)
{
	char	 err[512];
	size_t	 i;

	for (i = 0; i < pl->n; i++)
		cr_assert_eq(point_normalize(&pl->v[i], NULL, "testhost",
		    1700000000, err, sizeof(err)), 0, "point %zu %s: %s", i,
		    pl->v[i].name, err);
}

/*
 * Compare a list with the expected dump, showing both on a mismatch,
 * then normalize it.
 */
#define assert_dump(pl, want) do {					\
	char	*got_ = pl_dump(pl);					\
	cr_assert_str_eq(got_, (want), "got:\n%s\nwant:\n%s", got_,	\
	    (want));							\
	free(got_);							\
	assert_normalizes(pl);						\
} while (0)

#endif
