/*
 * The registry's answers: parsing (envelope, namespaces, resources, the
 * file:// and cache document) and the conversion into struct items.
 * See fetcher_registry.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "fetcher_registry.h"
#include "log.h"
#include "util.h"

#define SNIPPET_MAX	160	/* bytes of a bad answer quoted in errors */

/* Characters of a metric name (lodastack-protocols.md section 6.4). */
static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";

void
regset_init(struct regset *rs)
{
	rs->v = NULL;
	rs->n = 0;
}

static void
reg_item_free(struct reg_item *it)
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

static void
reg_ns_free_items(struct reg_ns *ns)
{
	size_t	 i;

	for (i = 0; i < ns->nitems; i++)
		reg_item_free(&ns->items[i]);
	free(ns->items);
	ns->items = NULL;
	ns->nitems = 0;
}

void
regset_free(struct regset *rs)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++) {
		reg_ns_free_items(&rs->v[i]);
		free(rs->v[i].ns);
		free(rs->v[i].uuid);
	}
	free(rs->v);
	regset_init(rs);
}

struct reg_ns *
regset_find(const struct regset *rs, const char *ns)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].ns, ns) == 0)
			return &rs->v[i];
	return NULL;
}

struct reg_ns *
regset_add_ns(struct regset *rs, const char *ns, const char *uuid)
{
	struct reg_ns	*v, *n;
	char		*u;

	if ((n = regset_find(rs, ns)) != NULL) {
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
regset_sort(struct regset *rs)
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
			reg_item_free(dst);
			return -1;
		}
	}
	return 0;
}

int
reg_ns_copy_items(struct reg_ns *dst, const struct reg_ns *src)
{
	struct reg_item	*v = NULL;
	size_t		 i, n = 0;

	if (src->nitems > 0 &&
	    (v = calloc(src->nitems, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < src->nitems; i++, n++)
		if (reg_item_copy(&v[i], &src->items[i]) == -1)
			goto fail;
	reg_ns_free_items(dst);
	dst->items = v;
	dst->nitems = n;
	return 0;
fail:
	while (n-- > 0)
		reg_item_free(&v[n]);
	free(v);
	return -1;
}

int
regset_copy(struct regset *dst, const struct regset *src)
{
	struct reg_ns	*n;
	size_t		 i;

	regset_init(dst);
	for (i = 0; i < src->n; i++) {
		if ((n = regset_add_ns(dst, src->v[i].ns,
		    src->v[i].uuid)) == NULL ||
		    reg_ns_copy_items(n, &src->v[i]) == -1) {
			regset_free(dst);
			return -1;
		}
		n->answered = src->v[i].answered;
	}
	return 0;
}

int
regset_keep_unanswered(struct regset *next, const struct regset *prev)
{
	struct reg_ns	*old;
	size_t		 i;
	int		 kept = 0;

	for (i = 0; i < next->n; i++) {
		if (next->v[i].answered)
			continue;
		if ((old = regset_find(prev, next->v[i].ns)) == NULL)
			continue;
		if (reg_ns_copy_items(&next->v[i], old) == -1)
			return -1;
		kept++;
	}
	return kept;
}

int
reg_ns_name_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n >= ITEM_NS_MAX || !path_component_valid(s) ||
	    s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n;
}

/* -- JSON ------------------------------------------------------------- */

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
 * Nesting depth outside strings: yajl frees its trees recursively, so a
 * document of a million '[' must not get that far.
 */
static int
json_depth_ok(const char *p, size_t len, size_t *at)
{
	size_t	 i;
	int	 depth = 0, instr = 0, esc = 0;

	for (i = 0; i < len; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (p[i] == '\\')
				esc = 1;
			else if (p[i] == '"')
				instr = 0;
			continue;
		}
		if (p[i] == '"')
			instr = 1;
		else if (p[i] == '{' || p[i] == '[') {
			if (++depth > REG_JSON_DEPTH_MAX) {
				*at = i;
				return 0;
			}
		} else if ((p[i] == '}' || p[i] == ']') && depth > 0)
			depth--;
	}
	return 1;
}

/*
 * Why `text` is not JSON, with the byte offset: yajl_tree_parse only
 * says it verbosely on several lines, so parse again with the same
 * options to ask the parser where it stopped.
 */
static void
json_error(const char *text, size_t len, char *err, size_t errlen)
{
	yajl_handle	 h;
	yajl_status	 st;
	unsigned char	*msg;
	size_t		 at, n;
	char		 what[128];

	if ((h = yajl_alloc(NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "invalid JSON");
		return;
	}
	yajl_config(h, yajl_allow_comments, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* yajl counts the byte it stopped at as consumed */
	if ((at = yajl_get_bytes_consumed(h)) > 0)
		at--;
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at = len;
	}
	if (st == yajl_status_ok) {
		snprintf(err, errlen, "invalid JSON");
		yajl_free(h);
		return;
	}
	msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
	strlcpy(what, msg != NULL ? (const char *)msg : "parse error",
	    sizeof(what));
	n = strlen(what);
	while (n > 0 && (what[n - 1] == '\n' || what[n - 1] == ' '))
		what[--n] = '\0';
	if (msg != NULL)
		yajl_free_error(h, msg);
	yajl_free(h);
	snprintf(err, errlen, "invalid JSON at byte %zu: %s", at, what);
}

static int
json_parse(const char *text, size_t len, yajl_val *out, char *err,
    size_t errlen)
{
	char	*copy;
	size_t	 at;
	const char *nul;

	*out = NULL;
	if (len == 0) {
		snprintf(err, errlen, "empty answer");
		return -1;
	}
	if (len > REG_ANSWER_MAX) {
		snprintf(err, errlen, "%zu bytes, more than %d", len,
		    REG_ANSWER_MAX);
		return -1;
	}
	/* yajl_tree_parse stops at a NUL and would accept what is before */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		snprintf(err, errlen, "invalid JSON at byte %zu: NUL byte",
		    (size_t)(nul - text));
		return -1;
	}
	if (!json_depth_ok(text, len, &at)) {
		snprintf(err, errlen, "invalid JSON at byte %zu: nested more "
		    "than %d levels deep", at, REG_JSON_DEPTH_MAX);
		return -1;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if ((*out = yajl_tree_parse(copy, NULL, 0)) == NULL)
		json_error(copy, len, err, errlen);
	free(copy);
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
		yajl_tree_free(t);
		return -1;
	}
	if (json_parse(body, len, &t, err, errlen) == -1)
		return -1;
	if (!YAJL_IS_OBJECT(t)) {
		snprintf(err, errlen, "the answer is %s, not the registry's "
		    "{\"httpstatus\",\"data\",\"msg\"} object", json_kind(t));
		yajl_tree_free(t);
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
		yajl_tree_free(t);
		return -1;
	}
	if ((*data = json_get(t, "data")) == NULL) {
		snprintf(err, errlen, "the answer has no \"data\"");
		yajl_tree_free(t);
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

/* One flat string map into `out`; every value must be a string. */
static int
item_from_json(yajl_val o, size_t index, struct reg_item *out, char *err,
    size_t errlen)
{
	char		 name[80];
	size_t		 i, n;

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
	if (n == 0)
		return 0;
	if ((out->kv = calloc(n, sizeof(*out->kv))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		out->kv[i].key = strdup(o->u.object.keys[i]);
		out->kv[i].value = strdup(o->u.object.values[i]->u.string);
		out->n++;
		if (out->kv[i].key == NULL || out->kv[i].value == NULL)
			goto nomem;
	}
	return 0;
nomem:
	reg_item_free(out);
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
				reg_item_free(&v[i]);
			free(v);
			return -1;
		}
	reg_ns_free_items(ns);
	ns->items = v;
	ns->nitems = n;
	ns->answered = 1;
	return 0;
}

/*
 * The namespaces of a JSON object {ns: uuid} into `out`.  Every value
 * must be a string (the Go agent decodes a string map: one other value
 * fails it all); a bad name or uuid drops that namespace, logged.
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
		if (!reg_ns_name_valid(ns)) {
			log_warnx("registry namespace \"%.128s\" rejected: not "
			    "a namespace name (dot-separated labels of "
			    "[-a-z0-9], at most %d bytes)", ns,
			    ITEM_NS_MAX - 1);
			continue;
		}
		if (strlen(uuid) > REG_UUID_MAX) {
			log_warnx("registry namespace \"%s\" rejected: its "
			    "uuid is longer than %d bytes", ns, REG_UUID_MAX);
			continue;
		}
		if (regset_add_ns(out, ns, uuid) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
reg_parse_ns_answer(long code, const char *body, size_t len,
    struct regset *out, char *err, size_t errlen)
{
	yajl_val	 tree, data;
	struct regset	 rs;

	if (envelope(code, body, len, &tree, &data, err, errlen) == -1)
		return -1;
	if (!YAJL_IS_OBJECT(data)) {
		snprintf(err, errlen, "\"data\" is %s, not an object of "
		    "namespaces", json_kind(data));
		yajl_tree_free(tree);
		return -1;
	}
	regset_init(&rs);
	if (ns_from_json(data, "\"data\"", &rs, err, errlen) == -1) {
		regset_free(&rs);
		yajl_tree_free(tree);
		return -1;
	}
	yajl_tree_free(tree);
	regset_sort(&rs);
	regset_free(out);
	*out = rs;
	return 0;
}

int
reg_parse_resource_answer(long code, const char *body, size_t len,
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
		yajl_tree_free(tree);
		return -1;
	}
	if (!YAJL_IS_ARRAY(data)) {
		snprintf(err, errlen, "\"data\" is %s, not a list of items",
		    json_kind(data));
		yajl_tree_free(tree);
		return -1;
	}
	rc = items_from_json(data, ns, err, errlen);
	yajl_tree_free(tree);
	return rc;
}

int
reg_parse_file(const char *source, const char *text, size_t len,
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
	regset_init(&rs);
	if (ns_from_json(nso, "\"ns\"", &rs, err, errlen) == -1) {
		regset_free(&rs);
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
			log_warnx("%s: the items of \"%s\" are %s, not a list; "
			    "that namespace keeps the items it had", source,
			    n->ns, json_kind(list));
			continue;
		}
		if (items_from_json(list, n, why, sizeof(why)) == -1) {
			if (strcmp(why, "out of memory") == 0) {
				snprintf(err, errlen, "%s", why);
				regset_free(&rs);
				goto fail;
			}
			log_warnx("%s: the items of \"%s\": %s; that namespace "
			    "keeps the items it had", source, n->ns, why);
		}
	}
	for (i = 0; YAJL_IS_OBJECT(res) && i < res->u.object.len; i++)
		if (regset_find(&rs, res->u.object.keys[i]) == NULL)
			log_warnx("%s: \"resources\" of \"%.128s\" ignored: not "
			    "a namespace of \"ns\"", source,
			    res->u.object.keys[i]);
	yajl_tree_free(tree);
	regset_sort(&rs);
	regset_free(out);
	*out = rs;
	return 0;
fail:
	yajl_tree_free(tree);
	return -1;
}

/* -- items ------------------------------------------------------------ */

/*
 * A key of an item.  The Go agent decodes items into structs, which
 * matches keys case-insensitively: an exact match first, then any case.
 */
static const char *
kv_get(const struct reg_item *it, const char *key)
{
	size_t	 i;

	for (i = 0; i < it->n; i++)
		if (strcmp(it->kv[i].key, key) == 0)
			return it->kv[i].value;
	for (i = 0; i < it->n; i++)
		if (strcasecmp(it->kv[i].key, key) == 0)
			return it->kv[i].value;
	return NULL;
}

const char *
reg_item_name(const struct reg_item *it, size_t index, char *buf,
    size_t len)
{
	const char	*name = kv_get(it, "name");

	if (name != NULL && name[0] != '\0')
		snprintf(buf, len, "\"%.128s\"", name);
	else
		snprintf(buf, len, "#%zu", index);
	return buf;
}

/* Go's strconv.Atoi: an optional sign and decimal digits, nothing else. */
static int
parse_integer(const char *s, long long min, long long max, long long *out)
{
	const char	*d = s;

	if (*d == '+' || *d == '-')
		d++;
	if (*d == '\0' || strspn(d, "0123456789") != strlen(d))
		return -1;
	return parse_int64(s, min, max, out);
}

static int
metric_name_valid(const char *s, char *why, size_t whylen)
{
	size_t	 n = strlen(s);

	if (n == 0) {
		snprintf(why, whylen, "no \"name\"");
		return 0;
	}
	if (n >= ITEM_NAME_MAX) {
		snprintf(why, whylen, "\"name\" is longer than %d bytes",
		    ITEM_NAME_MAX - 1);
		return 0;
	}
	if (strspn(s, name_chars) != n) {
		snprintf(why, whylen, "\"name\" \"%.128s\" holds characters "
		    "other than [-_.a-zA-Z0-9]", s);
		return 0;
	}
	return 1;
}

/* Shell metacharacters the Go agent refused in plugin parameters. */
static const char *
forbidden_token(const char *t)
{
	static const char *const bad[] = { "&&", ";", "|", "<", ">", "`" };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(t, bad[i]) != NULL)
			return bad[i];
	return NULL;
}

/* "a  b c" -> ["a", "b", "c"]: split on single spaces, drop empties. */
static enum reg_verdict
split_params(const char *s, struct strlist *out, char *why, size_t whylen)
{
	char		*copy, *p, *tok;
	const char	*bad;
	enum reg_verdict v = REG_ITEM_OK;

	if ((copy = strdup(s)) == NULL)
		return REG_ITEM_NOMEM;
	for (p = copy; (tok = strsep(&p, " ")) != NULL;) {
		if (*tok == '\0')
			continue;
		if ((bad = forbidden_token(tok)) != NULL) {
			snprintf(why, whylen, "parameter \"%.64s\" contains "
			    "\"%s\" (no shell metacharacters: && ; | < > `)",
			    tok, bad);
			v = REG_ITEM_REJECTED;
			break;
		}
		if (strlist_add(out, tok) == -1) {
			v = REG_ITEM_NOMEM;
			break;
		}
	}
	free(copy);
	return v;
}

/* A later item of the same plugin replaces the earlier one (Go's map). */
static void
drop_plugin(struct items *out, const char *ns, const char *project)
{
	struct plugin_item	*p;
	size_t			 i;

	for (i = 0; i < out->nplugins; i++) {
		p = &out->plugins[i];
		if (strcmp(p->ns, ns) != 0 || strcmp(p->project, project) != 0)
			continue;
		log_warnx("namespace \"%s\": plugin item \"%s\" is replaced by "
		    "a later item of the same project \"%s\"", ns, p->name,
		    project);
		free(p->ns);
		free(p->name);
		free(p->git);
		free(p->repo);
		free(p->project);
		strlist_free(&p->params);
		memmove(p, p + 1, (out->nplugins - i - 1) * sizeof(*p));
		out->nplugins--;
		return;
	}
}

static enum reg_verdict
apply_plugin(const char *ns, const struct reg_item *it, struct items *out,
    char *why, size_t whylen)
{
	struct plugin_item	 p;
	const char		*name = kv_get(it, "name"), *git, *iv, *par;
	char			 repo[512], project[256], err[256];
	long long		 interval = 0;
	enum reg_verdict	 v;
	size_t			 i;

	if (!metric_name_valid(name != NULL ? name : "", why, whylen))
		return REG_ITEM_REJECTED;
	/* these collided with the Go agent's own fields: it refused them */
	for (i = 0; i < it->n; i++)
		if (strcasecmp(it->kv[i].key, "param") == 0 ||
		    strcasecmp(it->kv[i].key, "cycle") == 0) {
			snprintf(why, whylen, "it has a key \"%s\" (reserved: "
			    "the parameters are in \"parameters\", the "
			    "interval in \"interval\")", it->kv[i].key);
			return REG_ITEM_REJECTED;
		}
	if ((git = kv_get(it, "git")) == NULL || git[0] == '\0') {
		snprintf(why, whylen, "no \"git\"");
		return REG_ITEM_REJECTED;
	}
	if (repo_from_git(git, repo, sizeof(repo), project, sizeof(project),
	    err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%s", err);
		return REG_ITEM_REJECTED;
	}
	/* absent: 0, run on demand only, as the Go agent did */
	if ((iv = kv_get(it, "interval")) != NULL &&
	    parse_integer(iv, 0, INT32_MAX, &interval) == -1) {
		snprintf(why, whylen, "\"interval\" \"%.32s\" is not a "
		    "number of seconds >= 0", iv);
		return REG_ITEM_REJECTED;
	}
	memset(&p, 0, sizeof(p));
	strlist_init(&p.params);
	if ((par = kv_get(it, "parameters")) != NULL &&
	    (v = split_params(par, &p.params, why, whylen)) != REG_ITEM_OK) {
		strlist_free(&p.params);
		return v;
	}
	p.ns = (char *)ns;
	p.name = (char *)name;
	p.git = (char *)git;
	p.repo = repo;
	p.project = project;
	p.interval = interval;
	drop_plugin(out, ns, project);
	v = items_add_plugin(out, &p) == -1 ? REG_ITEM_NOMEM : REG_ITEM_OK;
	strlist_free(&p.params);
	return v;
}

static enum reg_verdict
apply_port(const char *ns, const struct reg_item *it, struct items *out,
    char *why, size_t whylen)
{
	struct port_item	 p;
	const char		*name = kv_get(it, "name"), *s;
	long long		 port, timeout = 0;

	if (!metric_name_valid(name != NULL ? name : "", why, whylen))
		return REG_ITEM_REJECTED;
	if ((s = kv_get(it, "port")) == NULL) {
		snprintf(why, whylen, "no \"port\"");
		return REG_ITEM_REJECTED;
	}
	if (parse_integer(s, 1, 65535, &port) == -1) {
		snprintf(why, whylen, "\"port\" \"%.32s\" is not a TCP port "
		    "(1-65535)", s);
		return REG_ITEM_REJECTED;
	}
	if ((s = kv_get(it, "connect_timeout")) != NULL && s[0] != '\0' &&
	    parse_integer(s, INT32_MIN, REG_PORT_TIMEOUT_MAX, &timeout) ==
	    -1) {
		snprintf(why, whylen, "\"connect_timeout\" \"%.32s\" is not a "
		    "number of seconds up to %d", s, REG_PORT_TIMEOUT_MAX);
		return REG_ITEM_REJECTED;
	}
	p.ns = (char *)ns;
	p.name = (char *)name;
	p.port = (int)port;
	p.timeout = timeout > 0 ? (int)timeout : REG_PORT_TIMEOUT;
	return items_add_port(out, &p) == -1 ? REG_ITEM_NOMEM : REG_ITEM_OK;
}

static enum reg_verdict
apply_proc(const char *ns, const struct reg_item *it, struct items *out,
    char *why, size_t whylen)
{
	struct proc_item	 p;
	const char		*name = kv_get(it, "name"), *bin;

	if (!metric_name_valid(name != NULL ? name : "", why, whylen))
		return REG_ITEM_REJECTED;
	if ((bin = kv_get(it, "bin_path")) == NULL) {
		snprintf(why, whylen, "no \"bin_path\"");
		return REG_ITEM_REJECTED;
	}
	if (bin[0] != '/' || strlen(bin) >= 4096) {
		snprintf(why, whylen, "\"bin_path\" \"%.128s\" is not an "
		    "absolute path", bin);
		return REG_ITEM_REJECTED;
	}
	p.ns = (char *)ns;
	p.name = (char *)name;
	p.bin_path = (char *)bin;
	return items_add_proc(out, &p) == -1 ? REG_ITEM_NOMEM : REG_ITEM_OK;
}

/*
 * A PORT or PROC item sets the interval of its type, the last one
 * winning as for the other types; the Go agent ignored it (fixed 60 s,
 * quirk 5).  The check itself does not depend on it, so a bad interval
 * does not reject the item: it is logged and the default applies.
 */
static void
apply_check_interval(const char *ns, const struct reg_item *it,
    enum sys_type t, struct items *out)
{
	const char	*iv = kv_get(it, "interval"), *name = kv_get(it, "name");
	long long	 interval = 0;

	if (iv != NULL && iv[0] != '\0' &&
	    parse_integer(iv, 0, INT32_MAX, &interval) == -1) {
		log_warnx("namespace \"%s\": %s item \"%s\": \"interval\" "
		    "\"%.32s\" is not a number of seconds >= 0; the default "
		    "(%lld s) applies", ns, sys_type_name(t), name, iv,
		    (long long)sys_type_default_interval(t));
		interval = 0;
	}
	out->intervals[t] = interval;
}

enum reg_verdict
reg_item_apply(const char *ns, const struct reg_item *it, struct items *out,
    char *why, size_t whylen)
{
	enum reg_verdict v;
	const char	*type = NULL, *iv;
	enum sys_type	 t;
	long long	 interval = 0;
	size_t		 i;

	why[0] = '\0';
	/* the Go agent reads the type from the map itself: exact key */
	for (i = 0; i < it->n; i++)
		if (strcmp(it->kv[i].key, "measurement_type") == 0)
			type = it->kv[i].value;
	if (type == NULL || type[0] == '\0') {
		snprintf(why, whylen, "no measurement_type");
		return REG_ITEM_IGNORED;
	}
	if (strcmp(type, "PLUGIN") == 0)
		return apply_plugin(ns, it, out, why, whylen);
	if (strcmp(type, "PORT") == 0) {
		if ((v = apply_port(ns, it, out, why, whylen)) == REG_ITEM_OK)
			apply_check_interval(ns, it, SYS_PORT, out);
		return v;
	}
	if (strcmp(type, "PROC") == 0) {
		if ((v = apply_proc(ns, it, out, why, whylen)) == REG_ITEM_OK)
			apply_check_interval(ns, it, SYS_PROC, out);
		return v;
	}
	if (sys_type_parse(type, &t) == -1) {
		/* GOPLUGIN (quirk 12), LOG, HEALTH, PS, API...: not ours */
		snprintf(why, whylen, "measurement_type %.32s is not "
		    "collected by this agent", type);
		return REG_ITEM_IGNORED;
	}
	if ((iv = kv_get(it, "interval")) != NULL && iv[0] != '\0' &&
	    parse_integer(iv, 0, INT32_MAX, &interval) == -1) {
		snprintf(why, whylen, "\"interval\" \"%.32s\" is not a number "
		    "of seconds >= 0", iv);
		return REG_ITEM_REJECTED;
	}
	/* the last item of a type wins (quirk 4) */
	out->intervals[t] = interval;
	return REG_ITEM_OK;
}

int
regset_to_items(const struct regset *rs, struct items *out,
    size_t *rejected)
{
	const struct reg_ns	*n;
	enum reg_verdict	 v;
	char			 why[512], name[160];
	size_t			 i, j;

	*rejected = 0;
	for (i = 0; i < rs->n; i++) {
		n = &rs->v[i];
		if (strlist_add(&out->namespaces, n->ns) == -1)
			return -1;
		for (j = 0; j < n->nitems; j++) {
			v = reg_item_apply(n->ns, &n->items[j], out, why,
			    sizeof(why));
			if (v == REG_ITEM_NOMEM)
				return -1;
			if (v == REG_ITEM_IGNORED)
				log_debug("namespace \"%s\": item %s ignored: "
				    "%s", n->ns, reg_item_name(&n->items[j], j,
				    name, sizeof(name)), why);
			if (v != REG_ITEM_REJECTED)
				continue;
			(*rejected)++;
			log_warnx("namespace \"%s\": item %s rejected: %s",
			    n->ns, reg_item_name(&n->items[j], j, name,
			    sizeof(name)), why);
		}
	}
	return 0;
}
