/*
 * A list of strings the list owns: config lists (servers, namespaces,
 * ifaceprefix) and the namespace lists the workers pass around.
 */
#include "strlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

void
strlist_init(struct strlist *l)
{
	l->v = NULL;
	l->n = 0;
}

int
strlist_add(struct strlist *l, const char *s)
{
	char	**v, *dup;

	if ((dup = strdup(s)) == NULL)
		return -1;
	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL) {
		free(dup);
		return -1;
	}
	v[l->n++] = dup;
	l->v = v;
	return 0;
}

int
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

int
strlist_has(const struct strlist *l, const char *s)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void
strlist_free(struct strlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	strlist_init(l);
}

/* `dst` is overwritten, not freed: it must not own anything yet. */
int
strlist_copy(struct strlist *dst, const struct strlist *src)
{
	size_t	 i;

	strlist_init(dst);
	for (i = 0; i < src->n; i++) {
		if (strlist_add(dst, src->v[i]) == -1) {
			strlist_free(dst);
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}
