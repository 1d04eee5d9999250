/* The registry cache in pluginsdir; see fetcher_cache.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetcher_cache.h"
#include "fetcher_file.h"
#include "fetcher_items.h"
#include "items.h"
#include "jsonw.h"

/* An item of a type the agent collects (the exact key, as it reads it). */
static int
item_used(const struct reg_item *it)
{
	const char	*type = fetcher_item_type(it);
	enum sys_type	 t;

	return type != NULL && (strcmp(type, "PLUGIN") == 0 ||
	    items_sys_type_parse(type, &t) == 0);
}

/* `skip`: namespaces whose items are left out (NULL: none). */
static void
encode(struct buf *b, const struct regset *rs, int lean, const char *skip)
{
	const struct reg_item	*it;
	struct jsonw		 w;
	size_t			 i, j, k;

	/* Go's escaping: what the registry sent comes back the same */
	jsonw_init(&w, b, JSONW_GO | JSONW_PRETTY);
	jsonw_map_open(&w);
	jsonw_key(&w, "ns");
	jsonw_map_open(&w);
	for (i = 0; i < rs->n; i++) {
		jsonw_key(&w, rs->v[i].ns);
		jsonw_string(&w, rs->v[i].uuid);
	}
	jsonw_map_close(&w);
	jsonw_key(&w, "resources");
	jsonw_map_open(&w);
	for (i = 0; i < rs->n; i++) {
		if (skip != NULL && skip[i])
			continue;
		jsonw_key(&w, rs->v[i].ns);
		jsonw_array_open(&w);
		for (j = 0; j < rs->v[i].nitems; j++) {
			it = &rs->v[i].items[j];
			if (lean && !item_used(it))
				continue;
			jsonw_map_open(&w);
			for (k = 0; k < it->n; k++) {
				if (lean && !fetcher_item_key_used(it->kv[k].key))
					continue;
				jsonw_key(&w, it->kv[k].key);
				jsonw_string(&w, it->kv[k].value);
			}
			jsonw_map_close(&w);
		}
		jsonw_array_close(&w);
	}
	jsonw_map_close(&w);
	jsonw_map_close(&w);
	/* a failure marks b failed, which fetcher_cache_write() checks */
	(void)jsonw_finish(&w);
}

void
fetcher_cache_encode(struct buf *b, const struct regset *rs)
{
	encode(b, rs, 0, NULL);
}

/*
 * Lean, without the items of the namespaces whose items take the most
 * room, largest first, until it fits: `skip` marks them.  The set that
 * runs has lost those first too (fetcher_items_fit()), for the 1 MiB the
 * scheduler takes.  0, or -1 out of memory.
 */
static int
encode_trimmed(struct buf *b, const struct regset *rs, char *skip)
{
	struct regset	 one;
	struct buf	 t;
	size_t		*bytes, i, best, total, none;
	int		 rv = -1;

	if ((bytes = calloc(rs->n + 1, sizeof(*bytes))) == NULL)
		return -1;
	buf_init(&t);
	one.n = 0;
	one.v = NULL;
	encode(&t, &one, 1, NULL);
	none = t.len;
	for (i = 0; i < rs->n; i++) {
		one.v = &rs->v[i];
		one.n = 1;
		buf_reset(&t);
		encode(&t, &one, 1, NULL);
		bytes[i] = t.len - none;
	}
	if (buf_failed(&t))
		goto out;
	/* the sizes are about right (each counts its "ns" entry too): the
	 * document, encoded, has the last word */
	for (total = b->len; b->len > REG_ANSWER_MAX;) {
		for (i = 0, best = rs->n; i < rs->n; i++)
			if (!skip[i] && (best == rs->n ||
			    bytes[i] > bytes[best]))
				best = i;
		if (best == rs->n)
			break;
		skip[best] = 1;
		total -= bytes[best] < total ? bytes[best] : total;
		if (total > REG_ANSWER_MAX)
			continue;
		buf_reset(b);
		encode(b, rs, 1, skip);
		if (buf_failed(b))
			goto out;
		total = b->len;
	}
	rv = 0;
out:
	buf_free(&t);
	free(bytes);
	return rv;
}

/*
 * Each answer may take REG_ANSWER_MAX, and the cache holds them all but
 * is read back within that same bound: a cache of the whole answers
 * could be written that no start would load.  Without what the agent
 * does not read it is far smaller, and gives the same items; when even
 * that is too large, the items of the largest namespaces are left out,
 * as they are of what runs, rather than keep an older cache that would
 * bring back plugins the registry has since taken away.
 */
int
fetcher_cache_doc(struct buf *b, const struct regset *rs, char *skip)
{
	memset(skip, 0, rs->n);
	encode(b, rs, 0, NULL);
	if (buf_failed(b))
		return -1;
	if (b->len <= REG_ANSWER_MAX)
		return 0;
	buf_reset(b);
	encode(b, rs, 1, NULL);
	if (buf_failed(b))
		return -1;
	if (b->len <= REG_ANSWER_MAX)
		return 1;
	if (encode_trimmed(b, rs, skip) == -1)
		return -1;
	return b->len <= REG_ANSWER_MAX ? 2 : 3;
}

int
fetcher_cache_path(const char *dir, char *path, size_t len, char *err,
    size_t errlen)
{
	if ((size_t)snprintf(path, len, "%s/%s", dir, CACHE_FILE) >= len) {
		snprintf(err, errlen, "%s/%s: path too long", dir, CACHE_FILE);
		return -1;
	}
	return 0;
}

int
fetcher_cache_write(const char *dir, const struct buf *doc, char *err,
    size_t errlen)
{
	char	 path[PATH_MAX];

	if (buf_failed(doc) || doc->p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (fetcher_cache_path(dir, path, sizeof(path), err, errlen) == -1)
		return -1;
	/* plugin parameters often hold credentials: the fetcher's alone */
	return fetcher_file_write_atomic(path, doc->p, doc->len, 0600, err,
	    errlen);
}

int
fetcher_cache_load(const char *dir, struct regset *out, char *err,
    size_t errlen)
{
	char	 path[PATH_MAX], why[512];
	char	*text;
	size_t	 len;

	if (fetcher_cache_path(dir, path, sizeof(path), err, errlen) == -1)
		return -1;
	if (fetcher_file_read_all(path, REG_ANSWER_MAX, &text, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fetcher_registry_parse_file(path, text, len, out, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(text);
		return -1;
	}
	free(text);
	return 1;
}
