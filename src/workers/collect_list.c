/*
 * The list a metric family appends its points to (collect.h), and the
 * Go agent's rounding.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "collect.h"

void
pl_init(struct point_list *pl)
{
	memset(pl, 0, sizeof(*pl));
}

void
pl_reset(struct point_list *pl)
{
	size_t	 i;

	for (i = 0; i < pl->n; i++)
		point_free(&pl->v[i]);
	pl->n = 0;
	pl->failed = 0;
}

void
pl_free(struct point_list *pl)
{
	pl_reset(pl);
	free(pl->v);
	free(pl->ns);
	pl_init(pl);
}

/* Room for one more point in both arrays; -1 when out of memory. */
static int
pl_grow(struct point_list *pl)
{
	struct point	 *v;
	const char	**ns;
	size_t		  cap;

	if (pl->n < pl->cap)
		return 0;
	cap = pl->cap == 0 ? 32 : pl->cap * 2;
	if ((v = reallocarray(pl->v, cap, sizeof(*v))) == NULL)
		return -1;
	pl->v = v;
	if ((ns = reallocarray(pl->ns, cap, sizeof(*ns))) == NULL)
		return -1;
	pl->ns = ns;
	pl->cap = cap;
	return 0;
}

/* The point without a value yet, or NULL with pl->failed set. */
static struct point *
pl_add(struct point_list *pl, const char *name, va_list ap)
{
	struct point	*p;
	const char	*k, *v;

	if (pl_grow(pl) == -1)
		goto fail;
	p = &pl->v[pl->n];
	point_init(p);
	if (point_set_name(p, name, strlen(name)) == -1)
		goto failp;
	while ((k = va_arg(ap, const char *)) != NULL) {
		if ((v = va_arg(ap, const char *)) == NULL)
			goto failp;
		if (point_add_tag(p, k, strlen(k), v, strlen(v)) == -1)
			goto failp;
	}
	pl->ns[pl->n] = NULL;
	pl->n++;
	return p;
 failp:
	point_free(p);
 fail:
	pl->failed = 1;
	return NULL;
}

struct point *
pl_add_int(struct point_list *pl, const char *name, int64_t value, ...)
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
pl_add_float(struct point_list *pl, const char *name, double value, ...)
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

void
pl_set_ns(struct point_list *pl, const char *ns)
{
	if (pl->n > 0)
		pl->ns[pl->n - 1] = ns;
}

/*
 * SetPrecision(v, 2) is float64(int64(v*100))/100: truncation of v*100
 * toward zero, the binary product included (0.29 -> 0.28, as in Go).
 * What int64 cannot hold is returned as is rather than converted (Go's
 * result there is machine-defined garbage).
 */
double
trunc2(double v)
{
	double	 x = v * 100;

	if (!isfinite(x) || fabs(x) >= 9.2e18)
		return v;
	return trunc(x) / 100;
}
