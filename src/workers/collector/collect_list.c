/*
 * The point list the metric families append to (collect.h), and collect_trunc2.
 * One list lives in the collector's state and is reused run after run, so
 * a steady round allocates the points and nothing else.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"

#define PL_FIRST_CAP	64

void
collect_list_init(struct point_list *pl)
{
	memset(pl, 0, sizeof(*pl));
}

void
collect_list_reset(struct point_list *pl)
{
	collect_list_truncate(pl, 0);
	pl->cur_route = NULL;
	pl->failed = 0;
	pl->invalid = 0;
}

void
collect_list_truncate(struct point_list *pl, size_t n)
{
	while (pl->n > n)
		point_free(&pl->v[--pl->n]);
}

void
collect_list_free(struct point_list *pl)
{
	collect_list_truncate(pl, 0);
	free(pl->v);
	free(pl->route);
	collect_list_init(pl);
}

void
collect_list_route(struct point_list *pl, const char *ns)
{
	pl->cur_route = ns;
}

static int
pl_grow(struct point_list *pl)
{
	struct point	*v;
	const char	**r;
	size_t		 cap;

	if (pl->n < pl->cap)
		return 0;
	cap = pl->cap == 0 ? PL_FIRST_CAP : pl->cap * 2;
	if ((v = reallocarray(pl->v, cap, sizeof(*v))) == NULL)
		return -1;
	pl->v = v;
	if ((r = reallocarray(pl->route, cap, sizeof(*r))) == NULL)
		return -1;
	pl->route = r;
	pl->cap = cap;
	return 0;
}

/*
 * The common part of pl_add_*: name and tags; NULL on failure.  A point
 * the limits of point.h refuse (a name or a tag too long, too many tags:
 * a mount point of 300 bytes) is dropped alone and counted in
 * pl->invalid; only an allocation that fails sets pl->failed, which
 * then refuses every later point of the run.
 */
static struct point *
pl_add(struct point_list *pl, const char *name, va_list ap)
{
	struct point	*p;
	const char	*k, *v;
	size_t		 nlen, klen, vlen;

	if (pl->failed || pl_grow(pl) == -1) {
		pl->failed = 1;
		return NULL;
	}
	p = &pl->v[pl->n];
	point_init(p);
	if ((nlen = strlen(name)) > POINT_NAME_MAX)
		goto invalid;
	if (point_set_name(p, name, nlen) == -1)
		goto fail;
	while ((k = va_arg(ap, const char *)) != NULL) {
		if ((v = va_arg(ap, const char *)) == NULL)
			goto invalid;
		klen = strlen(k);
		vlen = strlen(v);
		if (klen > POINT_TAG_MAX || vlen > POINT_TAG_MAX ||
		    p->ntags >= POINT_TAGS_MAX)
			goto invalid;
		if (point_add_tag(p, k, klen, v, vlen) == -1)
			goto fail;
	}
	pl->route[pl->n] = pl->cur_route;
	pl->n++;
	return p;
 invalid:
	point_free(p);
	pl->invalid++;
	return NULL;
 fail:
	point_free(p);
	pl->failed = 1;
	return NULL;
}

struct point *
collect_list_add_int(struct point_list *pl, const char *name, int64_t value,
    ...)
{
	struct point	*p;
	va_list		 ap;

	va_start(ap, value);
	p = pl_add(pl, name, ap);
	va_end(ap);
	if (p != NULL)
		point_set_int(p, value);
	return p;
}

struct point *
collect_list_add_float(struct point_list *pl, const char *name, double value,
    ...)
{
	struct point	*p;
	va_list		 ap;

	va_start(ap, value);
	p = pl_add(pl, name, ap);
	va_end(ap);
	if (p != NULL)
		point_set_float(p, value);
	return p;
}

/*
 * Go: math.Trunc(f*100) / 100.  The same operations in the same order
 * give the same double, so 0.29 stays 0.28 as it did there.
 */
double
collect_trunc2(double v)
{
	return trunc(v * 100.0) / 100.0;
}
