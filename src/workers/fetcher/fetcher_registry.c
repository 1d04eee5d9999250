/*
 * The registry's answers: parsing of the envelope, the namespaces, the
 * resources and the file:// and cache document into a regset.  See
 * fetcher_registry.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "fetcher_items.h"
#include "fetcher_registry.h"
#include "json_tree.h"
#include "log.h"

#define SNIPPET_MAX	160	/* bytes of a bad answer quoted in errors */

static const char *
json_kind(yajl_val v)
{
	if (v == NULL)
		return "missing";
	switch (v->type) {
	case yajl_t_string:
		return "a string";
	case yajl_t_number:
		return "a number";
	case yajl_t_object:
		return "an object";
	case yajl_t_array:
		return "an array";
	case yajl_t_true:
	case yajl_t_false:
		return "a boolean";
	case yajl_t_null:
		return "null";
	default:
		return "of an unknown type";
	}
}

/* The value of `key` in object `o`; the last of duplicates, as Go. */
static yajl_val
json_get(yajl_val o, const char *key)
{
	yajl_val	 v = NULL;
	size_t		 i;

	if (!YAJL_IS_OBJECT(o))
		return NULL;
	for (i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], key) == 0)
			v = o->u.object.values[i];
	return v;
}

/* The start of a bad answer, printable, for an error message. */
static void
snippet(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t	 i, n = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && i < SNIPPET_MAX && n + 1 < dstlen; i++)
		dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : ' ';
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

/*
 * The document, within REG_ANSWER_MAX bytes, REG_JSON_DEPTH_MAX levels
 * and REG_JSON_MEM_MAX bytes of tree (json_tree.h says why each).
 * Comments are accepted, as they always were (a file:// registry is
 * written by people): the parser that skips them is the one that counts
 * the levels, so none can hide brackets from the count.
 */
static int
json_parse(const char *text, size_t len, yajl_val *out, char *err,
    size_t errlen)
{
	static const struct json_tree_opts lim = {
		REG_ANSWER_MAX, REG_JSON_DEPTH_MAX, REG_JSON_MEM_MAX, 1
	};

	if (len == 0) {
		snprintf(err, errlen, "empty answer");
		*out = NULL;
		return -1;
	}
	*out = json_tree_parse(text, len, &lim, err, errlen);
	return *out == NULL ? -1 : 0;
}

/*
 * The registry's envelope {"httpstatus":200,"data":...,"msg":""} of an
 * answer with HTTP status `code`.  On success *tree is the document (the
 * caller frees it) and *data its "data" (NULL when absent).
 */
static int
envelope(long code, const char *body, size_t len, yajl_val *tree,
    yajl_val *data, char *err, size_t errlen)
{
	yajl_val	 t, hs, msg;
	char		 what[SNIPPET_MAX + 1], jerr[256];

	*tree = NULL;
	*data = NULL;
	if (code != 200) {
		/* the registry says why in its envelope's msg */
		t = NULL;
		if (len > 0 && len <= 65536 &&
		    json_parse(body, len, &t, jerr, sizeof(jerr)) == 0 &&
		    YAJL_IS_STRING(msg = json_get(t, "msg")) &&
		    msg->u.string[0] != '\0') {
			snippet(what, sizeof(what), msg->u.string,
			    strlen(msg->u.string));
			snprintf(err, errlen, "HTTP %ld: %s", code, what);
		} else {
			snippet(what, sizeof(what), body, len);
			snprintf(err, errlen, "HTTP %ld%s%s", code,
			    what[0] != '\0' ? ": " : "", what);
		}
		json_tree_free(t);
		return -1;
	}
	if (json_parse(body, len, &t, err, errlen) == -1)
		return -1;
	if (!YAJL_IS_OBJECT(t)) {
		snprintf(err, errlen, "the answer is %s, not the registry's "
		    "{\"httpstatus\",\"data\",\"msg\"} object", json_kind(t));
		json_tree_free(t);
		return -1;
	}
	hs = json_get(t, "httpstatus");
	if (hs != NULL && !(YAJL_IS_INTEGER(hs) && hs->u.number.i == 200)) {
		msg = json_get(t, "msg");
		snippet(what, sizeof(what), YAJL_IS_STRING(msg) ?
		    msg->u.string : "", YAJL_IS_STRING(msg) ?
		    strlen(msg->u.string) : 0);
		if (YAJL_IS_NUMBER(hs))
			snprintf(err, errlen, "\"httpstatus\" is %s, not 200%s%s",
			    hs->u.number.r, what[0] != '\0' ? ": " : "", what);
		else
			snprintf(err, errlen, "\"httpstatus\" is %s, not 200",
			    json_kind(hs));
		json_tree_free(t);
		return -1;
	}
	if ((*data = json_get(t, "data")) == NULL) {
		snprintf(err, errlen, "the answer has no \"data\"");
		json_tree_free(t);
		return -1;
	}
	*tree = t;
	return 0;
}

/* The "name" of a JSON item, for error messages. */
static const char *
json_item_name(yajl_val o, size_t index, char *buf, size_t len)
{
	yajl_val	 v = json_get(o, "name");

	if (YAJL_IS_STRING(v) && v->u.string[0] != '\0')
		snprintf(buf, len, "\"%.64s\"", v->u.string);
	else
		snprintf(buf, len, "#%zu", index);
	return buf;
}

/*
 * One flat string map into `out`; every value must be a string.  Only
 * the keys the agent reads are kept (fetcher_item_key_used()): a registry
 * that sends 50 keys an item, 10000 items a namespace, 256 namespaces,
 * would otherwise be held whole in memory, twice over a refresh.
 */
static int
item_from_json(yajl_val o, size_t index, struct reg_item *out, char *err,
    size_t errlen)
{
	char		 name[80];
	size_t		 i, n, used;

	out->kv = NULL;
	out->n = 0;
	if (!YAJL_IS_OBJECT(o)) {
		snprintf(err, errlen, "item #%zu is %s, not an object", index,
		    json_kind(o));
		return -1;
	}
	n = o->u.object.len;
	for (i = 0; i < n; i++)
		if (!YAJL_IS_STRING(o->u.object.values[i])) {
			snprintf(err, errlen, "item %s: \"%.64s\" is %s, not a "
			    "string", json_item_name(o, index, name,
			    sizeof(name)), o->u.object.keys[i],
			    json_kind(o->u.object.values[i]));
			return -1;
		}
	for (i = 0, used = 0; i < n; i++)
		used += fetcher_item_key_used(o->u.object.keys[i]);
	if (used == 0)
		return 0;
	if ((out->kv = calloc(used, sizeof(*out->kv))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (!fetcher_item_key_used(o->u.object.keys[i]))
			continue;
		out->kv[out->n].key = strdup(o->u.object.keys[i]);
		out->kv[out->n].value =
		    strdup(o->u.object.values[i]->u.string);
		out->n++;
		if (out->kv[out->n - 1].key == NULL ||
		    out->kv[out->n - 1].value == NULL)
			goto nomem;
	}
	return 0;
nomem:
	fetcher_regset_item_free(out);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A JSON list of items into `ns` (replacing its items). */
static int
items_from_json(yajl_val list, struct reg_ns *ns, char *err, size_t errlen)
{
	struct reg_item	*v;
	size_t		 i, n = list->u.array.len;

	if (n > REG_ITEMS_MAX) {
		snprintf(err, errlen, "%zu items, at most %d", n,
		    REG_ITEMS_MAX);
		return -1;
	}
	if ((v = calloc(n > 0 ? n : 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (item_from_json(list->u.array.values[i], i, &v[i], err,
		    errlen) == -1) {
			while (i-- > 0)
				fetcher_regset_item_free(&v[i]);
			free(v);
			return -1;
		}
	fetcher_regset_ns_free_items(ns);
	ns->items = v;
	ns->nitems = n;
	ns->answered = 1;
	return 0;
}

/*
 * The namespaces of a JSON object {ns: uuid} into `out`.  Every value
 * must be a string (the Go agent decodes a string map: one other value
 * fails it all); a bad name or uuid drops that namespace, logged.  When
 * that drops every one, the answer fails: applied, it would take every
 * plugin away and count as a good refresh.
 */
static int
ns_from_json(yajl_val o, const char *what, struct regset *out, char *err,
    size_t errlen)
{
	const char	*ns, *uuid;
	size_t		 i, n = o->u.object.len;

	if (n > REG_NAMESPACES_MAX) {
		snprintf(err, errlen, "%s: %zu namespaces, at most %d", what,
		    n, REG_NAMESPACES_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!YAJL_IS_STRING(o->u.object.values[i])) {
			snprintf(err, errlen, "%s: the uuid of \"%.64s\" is %s, "
			    "not a string", what, o->u.object.keys[i],
			    json_kind(o->u.object.values[i]));
			return -1;
		}
	for (i = 0; i < n; i++) {
		ns = o->u.object.keys[i];
		uuid = o->u.object.values[i]->u.string;
		if (!fetcher_regset_ns_name_valid(ns)) {
			log_warnx("%s: registry namespace \"%.128s\" rejected: "
			    "not a namespace name (dot-separated labels of "
			    "[-a-z0-9], at most %d bytes)", __func__, ns,
			    ITEM_NS_MAX - 1);
			continue;
		}
		if (strlen(uuid) > REG_UUID_MAX) {
			log_warnx("%s: registry namespace \"%s\" rejected: its "
			    "uuid is longer than %d bytes", __func__, ns,
			    REG_UUID_MAX);
			continue;
		}
		if (fetcher_regset_add_ns(out, ns, uuid) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (n > 0 && out->n == 0) {
		snprintf(err, errlen, "%s: none of its %zu namespaces is "
		    "valid (each is named in the log)", what, n);
		return -1;
	}
	return 0;
}

int
fetcher_registry_parse_ns(long code, const char *body, size_t len,
    struct regset *out, char *err, size_t errlen)
{
	yajl_val	 tree, data;
	struct regset	 rs;

	if (envelope(code, body, len, &tree, &data, err, errlen) == -1)
		return -1;
	if (!YAJL_IS_OBJECT(data)) {
		snprintf(err, errlen, "\"data\" is %s, not an object of "
		    "namespaces", json_kind(data));
		json_tree_free(tree);
		return -1;
	}
	fetcher_regset_init(&rs);
	if (ns_from_json(data, "\"data\"", &rs, err, errlen) == -1) {
		fetcher_regset_free(&rs);
		json_tree_free(tree);
		return -1;
	}
	json_tree_free(tree);
	fetcher_regset_sort(&rs);
	fetcher_regset_free(out);
	*out = rs;
	return 0;
}

int
fetcher_registry_parse_resource(long code, const char *body, size_t len,
    struct reg_ns *ns, char *err, size_t errlen)
{
	yajl_val	 tree, data;
	int		 rc;

	if (envelope(code, body, len, &tree, &data, err, errlen) == -1)
		return -1;
	if (YAJL_IS_NULL(data) ||
	    (YAJL_IS_ARRAY(data) && data->u.array.len == 0)) {
		snprintf(err, errlen, "no items under this namespace (\"data\" "
		    "is %s)", YAJL_IS_NULL(data) ? "null" : "[]");
		json_tree_free(tree);
		return -1;
	}
	if (!YAJL_IS_ARRAY(data)) {
		snprintf(err, errlen, "\"data\" is %s, not a list of items",
		    json_kind(data));
		json_tree_free(tree);
		return -1;
	}
	rc = items_from_json(data, ns, err, errlen);
	json_tree_free(tree);
	return rc;
}

int
fetcher_registry_parse_file(const char *source, const char *text, size_t len,
    struct regset *out, char *err, size_t errlen)
{
	yajl_val	 tree, nso, res, list;
	struct regset	 rs;
	struct reg_ns	*n;
	char		 why[256];
	size_t		 i;

	if (json_parse(text, len, &tree, err, errlen) == -1)
		return -1;
	if (!YAJL_IS_OBJECT(tree)) {
		snprintf(err, errlen, "the document is %s, not an object "
		    "{\"ns\": {...}, \"resources\": {...}}", json_kind(tree));
		goto fail;
	}
	nso = json_get(tree, "ns");
	if (!YAJL_IS_OBJECT(nso)) {
		snprintf(err, errlen, "\"ns\" is %s, not an object of "
		    "namespaces and their uuids", json_kind(nso));
		goto fail;
	}
	res = json_get(tree, "resources");
	if (res != NULL && !YAJL_IS_NULL(res) && !YAJL_IS_OBJECT(res)) {
		snprintf(err, errlen, "\"resources\" is %s, not an object of "
		    "namespaces and their items", json_kind(res));
		goto fail;
	}
	fetcher_regset_init(&rs);
	if (ns_from_json(nso, "\"ns\"", &rs, err, errlen) == -1) {
		fetcher_regset_free(&rs);
		goto fail;
	}
	for (i = 0; i < rs.n; i++) {
		n = &rs.v[i];
		list = json_get(res, n->ns);
		if (list == NULL || YAJL_IS_NULL(list)) {
			n->answered = 1;	/* no items */
			continue;
		}
		if (!YAJL_IS_ARRAY(list)) {
			log_warnx("%s: %s: the items of \"%s\" are %s, not a "
			    "list; that namespace keeps the items it had",
			    __func__, source, n->ns, json_kind(list));
			continue;
		}
		if (items_from_json(list, n, why, sizeof(why)) == -1) {
			if (strcmp(why, "out of memory") == 0) {
				snprintf(err, errlen, "%s", why);
				fetcher_regset_free(&rs);
				goto fail;
			}
			log_warnx("%s: %s: the items of \"%s\": %s; that "
			    "namespace keeps the items it had",
			    __func__, source, n->ns,
			    why);
		}
	}
	for (i = 0; YAJL_IS_OBJECT(res) && i < res->u.object.len; i++)
		if (fetcher_regset_find(&rs, res->u.object.keys[i]) == NULL)
			log_warnx("%s: %s: \"resources\" of \"%.128s\" "
			    "ignored: not a namespace of \"ns\"",
			    __func__, source,
			    res->u.object.keys[i]);
	json_tree_free(tree);
	fetcher_regset_sort(&rs);
	fetcher_regset_free(out);
	*out = rs;
	return 0;
fail:
	json_tree_free(tree);
	return -1;
}

size_t
fetcher_regns_bytes(const struct reg_ns *ns)
{
	size_t	 i, k, n = ns->nitems * sizeof(struct reg_item);

	for (i = 0; i < ns->nitems; i++)
		for (k = 0; k < ns->items[i].n; k++)
			n += sizeof(struct reg_kv) +
			    strlen(ns->items[i].kv[k].key) +
			    strlen(ns->items[i].kv[k].value) + 2;
	return n;
}
