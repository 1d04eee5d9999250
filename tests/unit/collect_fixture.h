/*
 * Running one metric family against the fixture trees of
 * tests/fixtures/collect (see the README there), for the
 * test_collect_*.c files.
 */
#ifndef TEST_COLLECT_FIXTURE_H
#define TEST_COLLECT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "workers/collect.h"

#define FIX	"tests/fixtures/collect/"

struct famrun {
	const struct collect_family	*f;
	void				*state;
	struct point_list		 pl;
	struct collect_env		 env;
	struct strlist			 prefix;
	char				 err[512];
};

__attribute__((unused)) static void
fr_init(struct famrun *r, const struct collect_family *f)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	pl_init(&r->pl);
	strlist_init(&r->prefix);
	r->env.ifaceprefix = &r->prefix;
	r->env.ntpserver = "";
	r->env.coredumpdir = "/nonexistent";
	r->state = f->init != NULL ? f->init() : NULL;
	cr_assert(f->init == NULL || r->state != NULL, "%s: init", f->name);
}

/* One run on fixture `root` at monotonic time `mono`: its return. */
__attribute__((unused)) static int
fr_collect(struct famrun *r, const char *root, double mono)
{
	int	 rv;

	pl_reset(&r->pl);
	r->env.root = root;
	r->env.mono = mono;
	r->env.now = 1714538096 + (int64_t)mono;
	r->err[0] = '\0';
	rv = r->f->collect(r->state, &r->env, &r->pl, r->err,
	    sizeof(r->err));
	cr_assert(!r->pl.failed, "%s: allocation failed", r->f->name);
	return rv;
}

__attribute__((unused)) static void
fr_fini(struct famrun *r)
{
	if (r->f->fini != NULL)
		r->f->fini(r->state);
	pl_free(&r->pl);
	strlist_free(&r->prefix);
}

__attribute__((unused)) static const char *
pt_tag(const struct point *p, const char *key)
{
	size_t	 i;

	for (i = 0; i < p->ntags; i++)
		if (strcmp(p->tags[i].key, key) == 0)
			return p->tags[i].value;
	return NULL;
}

/* The one point named `name` with tag key=value (key NULL: no tags). */
__attribute__((unused)) static const struct point *
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

__attribute__((unused)) static size_t
fr_count(const struct famrun *r, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < r->pl.n; i++)
		n += strcmp(r->pl.v[i].name, name) == 0;
	return n;
}

/* Exact: trunc2() gives one double for one decimal value. */
__attribute__((unused)) static void
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

__attribute__((unused)) static void
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

__attribute__((unused)) static void
expect_none(const struct famrun *r, const char *name, const char *key,
    const char *value)
{
	cr_expect_null(fr_find(r, name, key, value), "%s %s=%s sent", name,
	    key ? key : "", value ? value : "");
}

/* No NaN, no infinity, no negative value, ever. */
__attribute__((unused)) static void
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

#endif
