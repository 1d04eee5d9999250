/*
 * The registry's items into struct items: the checks of each type and
 * the Go agent's rules for duplicates.  See fetcher_items.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/types.h>

#include "codec.h"
#include "fetcher_items.h"
#include "log.h"
#include "util.h"

/* Characters of a metric name (lodastack-protocols.md section 6.4). */
static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";

/*
 * A key of an item.  The Go agent decoded each item into a map, wrote
 * the map back as JSON (keys in byte order, the last of a repeated key
 * kept) and decoded that into a struct, which matches keys in any case
 * and keeps the last value it assigns: of the keys equal to `key` in any
 * case, the greatest in byte order, the last of it when repeated.
 */
static const char *
kv_get(const struct reg_item *it, const char *key)
{
	const struct reg_kv	*best = NULL;
	size_t			 i;

	for (i = 0; i < it->n; i++)
		if (strcasecmp(it->kv[i].key, key) == 0 && (best == NULL ||
		    strcmp(it->kv[i].key, best->key) >= 0))
			best = &it->kv[i];
	return best != NULL ? best->value : NULL;
}

/* Every key asked of kv_get() in this file: keep the two in step. */
int
fetcher_item_key_used(const char *key)
{
	static const char *const used[] = {
		"name", "git", "interval", "parameters", "port",
		"connect_timeout", "bin_path", "param", "cycle", NULL
	};
	size_t	 i;

	if (strcmp(key, "measurement_type") == 0)
		return 1;
	for (i = 0; used[i] != NULL; i++)
		if (strcasecmp(key, used[i]) == 0)
			return 1;
	return 0;
}

const char *
fetcher_item_name(const struct reg_item *it, size_t index, char *buf,
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
	return util_parse_int64(s, min, max, out);
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

struct plugin_key {
	const char	*project;
	size_t		 i;
};

static int
plugin_key_cmp(const void *a, const void *b)
{
	const struct plugin_key	*x = a, *y = b;
	int			 c = strcmp(x->project, y->project);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * A later item of the same project in a namespace replaces the earlier
 * one (Go's map): of each project among out->plugins[first..], the last
 * stays, in its place.  Sorted, not compared pairwise: a registry may
 * send 10,000 plugins in each of many namespaces.
 */
static int
drop_replaced(struct items *out, size_t first, const char *ns)
{
	struct plugin_key	*k;
	struct plugin_item	*p;
	size_t			 n = out->nplugins - first, i, j, said = 0;
	char			*gone;

	if (n < 2)
		return 0;
	k = calloc(n, sizeof(*k));
	gone = calloc(n, 1);
	if (k == NULL || gone == NULL) {
		free(k);
		free(gone);
		return -1;
	}
	for (i = 0; i < n; i++) {
		k[i].project = out->plugins[first + i].project;
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), plugin_key_cmp);
	for (i = 0; i + 1 < n; i++)
		if (strcmp(k[i].project, k[i + 1].project) == 0)
			gone[k[i].i] = 1;
	for (i = j = 0; i < n; i++) {
		p = &out->plugins[first + i];
		if (!gone[i]) {
			out->plugins[first + j++] = *p;
			continue;
		}
		if (said++ < FETCHER_ITEMS_SAID)
			log_warnx("%s: namespace \"%s\": plugin item \"%s\" is "
			    "replaced by a later item of the same project "
			    "\"%s\"", __func__, ns, p->name, p->project);
		items_plugin_free(p);
	}
	if (said > FETCHER_ITEMS_SAID)
		log_warnx("%s: namespace \"%s\": %zu more plugin items are "
		    "replaced by later items of their project", __func__, ns,
		    said - FETCHER_ITEMS_SAID);
	out->nplugins = first + j;
	free(k);
	free(gone);
	return 0;
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
	if (items_repo_from_git(git, repo, sizeof(repo), project,
	    sizeof(project), err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%s", err);
		return REG_ITEM_REJECTED;
	}
	if (!items_plugin_names_fit(ns, project, why, whylen))
		return REG_ITEM_REJECTED;
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
 * does not reject the item: `why` says so, and the default applies.
 */
static void
apply_check_interval(const struct reg_item *it, enum sys_type t,
    struct items *out, char *why, size_t whylen)
{
	const char	*iv = kv_get(it, "interval");
	long long	 interval = 0;

	if (iv != NULL && iv[0] != '\0' &&
	    parse_integer(iv, 0, INT32_MAX, &interval) == -1) {
		snprintf(why, whylen, "\"interval\" \"%.32s\" is not a number "
		    "of seconds >= 0; the default (%lld s) applies", iv,
		    (long long)items_sys_type_default_interval(t));
		interval = 0;
	}
	out->intervals[t] = interval;
}

const char *
fetcher_item_type(const struct reg_item *it)
{
	const char	*type = NULL;
	size_t		 i;

	/* the Go agent reads the type from the map itself: exact key */
	for (i = 0; i < it->n; i++)
		if (strcmp(it->kv[i].key, "measurement_type") == 0)
			type = it->kv[i].value;
	return type;
}

enum reg_verdict
fetcher_item_apply(const char *ns, const struct reg_item *it, struct items *out,
    char *why, size_t whylen)
{
	enum reg_verdict v;
	const char	*type, *iv;
	enum sys_type	 t;
	long long	 interval = 0;

	why[0] = '\0';
	type = fetcher_item_type(it);
	if (type == NULL || type[0] == '\0') {
		snprintf(why, whylen, "no measurement_type");
		return REG_ITEM_IGNORED;
	}
	if (strcmp(type, "PLUGIN") == 0)
		return apply_plugin(ns, it, out, why, whylen);
	if (strcmp(type, "PORT") == 0) {
		if ((v = apply_port(ns, it, out, why, whylen)) == REG_ITEM_OK)
			apply_check_interval(it, SYS_PORT, out, why,
			    whylen);
		return v;
	}
	if (strcmp(type, "PROC") == 0) {
		if ((v = apply_proc(ns, it, out, why, whylen)) == REG_ITEM_OK)
			apply_check_interval(it, SYS_PROC, out, why,
			    whylen);
		return v;
	}
	if (items_sys_type_parse(type, &t) == -1) {
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

/* What the items of one namespace said, the first few in full. */
static void
item_said(const struct reg_ns *n, size_t j, enum reg_verdict v,
    const char *why, size_t *said)
{
	char	 name[160];

	if (v == REG_ITEM_IGNORED) {
		log_debug("namespace \"%s\": item %s ignored: %s", n->ns,
		    fetcher_item_name(&n->items[j], j, name, sizeof(name)),
		    why);
		return;
	}
	if ((*said)++ >= FETCHER_ITEMS_SAID)
		return;
	log_warnx("namespace \"%s\": item %s %s: %s", n->ns,
	    fetcher_item_name(&n->items[j], j, name, sizeof(name)),
	    v == REG_ITEM_REJECTED ? "rejected" : "taken", why);
}

int
fetcher_regset_to_items(const struct regset *rs, struct items *out,
    size_t *rejected)
{
	const struct reg_ns	*n;
	enum reg_verdict	 v;
	char			 why[512];
	size_t			 i, j, first, said;

	*rejected = 0;
	for (i = 0; i < rs->n; i++) {
		n = &rs->v[i];
		if (strlist_add(&out->namespaces, n->ns) == -1)
			return -1;
		first = out->nplugins;
		said = 0;
		for (j = 0; j < n->nitems; j++) {
			v = fetcher_item_apply(n->ns, &n->items[j], out, why,
			    sizeof(why));
			if (v == REG_ITEM_NOMEM)
				return -1;
			if (v == REG_ITEM_REJECTED)
				(*rejected)++;
			if (why[0] != '\0')
				item_said(n, j, v, why, &said);
		}
		/* a registry may repeat a bad item 10,000 times a refresh */
		if (said > FETCHER_ITEMS_SAID)
			log_warnx("namespace \"%s\": %zu more items rejected "
			    "or taken with a warning, as above", n->ns,
			    said - FETCHER_ITEMS_SAID);
		if (drop_replaced(out, first, n->ns) == -1)
			return -1;
	}
	return 0;
}

/* Bytes one entry adds to items_encode(): a set of it alone, less none. */
static size_t
entry_bytes(struct pbuf *pb, const struct items *view, size_t empty)
{
	codec_put_reset(pb);
	items_encode(pb, view);
	return pb->len - empty;
}

/* Removes the PLUGIN, PORT and PROC items of `ns`; how many there were. */
static size_t
drop_ns_items(struct items *it, const char *ns)
{
	size_t	 i, j, n = 0;

	for (i = j = 0; i < it->nplugins; i++)
		if (strcmp(it->plugins[i].ns, ns) == 0) {
			items_plugin_free(&it->plugins[i]);
			n++;
		} else
			it->plugins[j++] = it->plugins[i];
	it->nplugins = j;
	for (i = j = 0; i < it->nports; i++)
		if (strcmp(it->ports[i].ns, ns) == 0) {
			items_port_free(&it->ports[i]);
			n++;
		} else
			it->ports[j++] = it->ports[i];
	it->nports = j;
	for (i = j = 0; i < it->nprocs; i++)
		if (strcmp(it->procs[i].ns, ns) == 0) {
			items_proc_free(&it->procs[i]);
			n++;
		} else
			it->procs[j++] = it->procs[i];
	it->nprocs = j;
	return n;
}

static ssize_t
ns_index(const struct strlist *l, const char *ns)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], ns) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * The items travel in one message of bounded size; each namespace's may
 * be within the registry's limits and all of them not.  Refusing the
 * whole set would leave every namespace without its plugins (and the
 * cache would bring the same set back at every start): the namespace
 * that takes the most room gives it up instead.
 */
int
fetcher_items_fit(struct items *it, size_t max, size_t *rejected)
{
	struct items	 view;
	struct pbuf	 pb;
	size_t		*bytes = NULL, i, empty, best, n;
	ssize_t		 k;
	int		 dropped = 0, rv = -1;

	codec_put_init(&pb);
	items_encode(&pb, it);
	if (codec_put_failed(&pb))
		goto out;
	if (pb.len <= max) {
		rv = 0;
		goto out;
	}
	if ((bytes = calloc(it->namespaces.n + 1, sizeof(*bytes))) == NULL)
		goto out;
	memset(&view, 0, sizeof(view));
	codec_put_reset(&pb);
	items_encode(&pb, &view);
	empty = pb.len;
	for (i = 0; i < it->nplugins; i++) {
		view.plugins = &it->plugins[i];
		view.nplugins = 1;
		if ((k = ns_index(&it->namespaces, it->plugins[i].ns)) != -1)
			bytes[k] += entry_bytes(&pb, &view, empty);
	}
	view.nplugins = 0;
	for (i = 0; i < it->nports; i++) {
		view.ports = &it->ports[i];
		view.nports = 1;
		if ((k = ns_index(&it->namespaces, it->ports[i].ns)) != -1)
			bytes[k] += entry_bytes(&pb, &view, empty);
	}
	view.nports = 0;
	for (i = 0; i < it->nprocs; i++) {
		view.procs = &it->procs[i];
		view.nprocs = 1;
		if ((k = ns_index(&it->namespaces, it->procs[i].ns)) != -1)
			bytes[k] += entry_bytes(&pb, &view, empty);
	}
	if (codec_put_failed(&pb))
		goto out;
	for (;;) {
		codec_put_reset(&pb);
		items_encode(&pb, it);
		if (codec_put_failed(&pb))
			goto out;
		if (pb.len <= max)
			break;
		for (i = 1, best = 0; i < it->namespaces.n; i++)
			if (bytes[i] > bytes[best])
				best = i;
		if (it->namespaces.n == 0 || bytes[best] == 0) {
			/* the namespaces alone are too many: cannot be */
			log_warnx("%s: %zu bytes of items, more than %zu, and "
			    "no namespace's left to drop", __func__, pb.len,
			    max);
			break;
		}
		n = drop_ns_items(it, it->namespaces.v[best]);
		log_warnx("%s: namespace \"%s\": its items take %zu bytes, and "
		    "all the items %zu, more than the %zu the scheduler and "
		    "the collector take: its %zu PLUGIN, PORT and PROC items "
		    "are dropped, the other namespaces' kept", __func__,
		    it->namespaces.v[best], bytes[best], pb.len, max, n);
		bytes[best] = 0;
		*rejected += n;
		dropped++;
	}
	rv = dropped;
out:
	if (rv == -1)
		log_warnx("%s: out of memory", __func__);
	free(bytes);
	codec_put_free(&pb);
	return rv;
}
