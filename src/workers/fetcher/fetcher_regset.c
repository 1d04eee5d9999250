/*
 * The registry set: the namespaces and their items as the registry sent
 * them, and the copies the fetcher makes of them.  See fetcher_registry.h.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "fetcher_registry.h"
#include "util.h"

void
fetcher_regset_init(struct regset *rs)
{
	rs->v = NULL;
	rs->n = 0;
}

void
fetcher_regset_item_free(struct reg_item *it)
{
	size_t	 i;

	for (i = 0; i < it->n; i++) {
		free(it->kv[i].key);
		free(it->kv[i].value);
	}
	free(it->kv);
	it->kv = NULL;
	it->n = 0;
}

void
fetcher_regset_ns_free_items(struct reg_ns *ns)
{
	size_t	 i;

	for (i = 0; i < ns->nitems; i++)
		fetcher_regset_item_free(&ns->items[i]);
	free(ns->items);
	ns->items = NULL;
	ns->nitems = 0;
}

void
fetcher_regset_free(struct regset *rs)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++) {
		fetcher_regset_ns_free_items(&rs->v[i]);
		free(rs->v[i].ns);
		free(rs->v[i].uuid);
	}
	free(rs->v);
	fetcher_regset_init(rs);
}

struct reg_ns *
fetcher_regset_find(const struct regset *rs, const char *ns)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].ns, ns) == 0)
			return &rs->v[i];
	return NULL;
}

struct reg_ns *
fetcher_regset_add_ns(struct regset *rs, const char *ns, const char *uuid)
{
	struct reg_ns	*v, *n;
	char		*u;

	if ((n = fetcher_regset_find(rs, ns)) != NULL) {
		/* a key given twice: the last one wins, as in Go's maps */
		if ((u = strdup(uuid)) == NULL)
			return NULL;
		free(n->uuid);
		n->uuid = u;
		return n;
	}
	if ((v = reallocarray(rs->v, rs->n + 1, sizeof(*v))) == NULL)
		return NULL;
	rs->v = v;
	n = &v[rs->n];
	memset(n, 0, sizeof(*n));
	if ((n->ns = strdup(ns)) == NULL || (n->uuid = strdup(uuid)) == NULL) {
		free(n->ns);
		return NULL;
	}
	rs->n++;
	return n;
}

static int
ns_cmp(const void *a, const void *b)
{
	const struct reg_ns	*x = a, *y = b;

	return strcmp(x->ns, y->ns);
}

void
fetcher_regset_sort(struct regset *rs)
{
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof(*rs->v), ns_cmp);
}

static int
reg_item_copy(struct reg_item *dst, const struct reg_item *src)
{
	size_t	 i;

	dst->n = 0;
	if (src->n == 0) {
		dst->kv = NULL;
		return 0;
	}
	if ((dst->kv = calloc(src->n, sizeof(*dst->kv))) == NULL)
		return -1;
	for (i = 0; i < src->n; i++) {
		dst->kv[i].key = strdup(src->kv[i].key);
		dst->kv[i].value = strdup(src->kv[i].value);
		dst->n++;
		if (dst->kv[i].key == NULL || dst->kv[i].value == NULL) {
			fetcher_regset_item_free(dst);
			return -1;
		}
	}
	return 0;
}

int
fetcher_regset_ns_copy_items(struct reg_ns *dst, const struct reg_ns *src)
{
	struct reg_item	*v = NULL;
	size_t		 i, n = 0;

	if (src->nitems > 0 &&
	    (v = calloc(src->nitems, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < src->nitems; i++, n++)
		if (reg_item_copy(&v[i], &src->items[i]) == -1)
			goto fail;
	fetcher_regset_ns_free_items(dst);
	dst->items = v;
	dst->nitems = n;
	return 0;
fail:
	while (n-- > 0)
		fetcher_regset_item_free(&v[n]);
	free(v);
	return -1;
}

int
fetcher_regset_copy(struct regset *dst, const struct regset *src)
{
	struct reg_ns	*n;
	size_t		 i;

	fetcher_regset_init(dst);
	for (i = 0; i < src->n; i++) {
		if ((n = fetcher_regset_add_ns(dst, src->v[i].ns,
		    src->v[i].uuid)) == NULL ||
		    fetcher_regset_ns_copy_items(n, &src->v[i]) == -1) {
			fetcher_regset_free(dst);
			return -1;
		}
		n->answered = src->v[i].answered;
	}
	return 0;
}

int
fetcher_regset_keep_unanswered(struct regset *next, const struct regset *prev)
{
	struct reg_ns	*old;
	size_t		 i;
	int		 kept = 0;

	for (i = 0; i < next->n; i++) {
		if (next->v[i].answered)
			continue;
		if ((old = fetcher_regset_find(prev, next->v[i].ns)) == NULL)
			continue;
		if (fetcher_regset_ns_copy_items(&next->v[i], old) == -1)
			return -1;
		kept++;
	}
	return kept;
}

int
fetcher_regset_ns_name_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n >= ITEM_NS_MAX || !items_path_component_valid(s) ||
	    s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n;
}
