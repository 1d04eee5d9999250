/*
 * The registry's answers (lodastack-protocols.md 1.0-1.2) and how its
 * items become struct items (section 2.2).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "workers/fetcher/fetcher_items.h"
#include "workers/fetcher/fetcher_registry.h"

#define S(x)	(x), strlen(x)

/* -- helpers ------------------------------------------------------------ */

/* An item from "k=v" strings, NULL-terminated. */
static struct reg_item
mkitem(const char *kv0, ...)
{
	struct reg_item	 it;
	va_list		 ap;
	const char	*kv;
	size_t		 k;

	memset(&it, 0, sizeof(it));
	va_start(ap, kv0);
	for (kv = kv0; kv != NULL; kv = va_arg(ap, const char *)) {
		it.kv = realloc(it.kv, (it.n + 1) * sizeof(*it.kv));
		cr_assert_not_null(it.kv);
		k = strcspn(kv, "=");
		it.kv[it.n].key = strndup(kv, k);
		it.kv[it.n].value = strdup(kv + k + (kv[k] == '=' ? 1 : 0));
		it.n++;
	}
	va_end(ap);
	return it;
}

static void
freeitem(struct reg_item *it)
{
	size_t	 i;

	for (i = 0; i < it->n; i++) {
		free(it->kv[i].key);
		free(it->kv[i].value);
	}
	free(it->kv);
}

/* Apply one item to fresh items; returns the verdict, why in `why`. */
static enum reg_verdict
apply1(struct items *out, char *why, size_t whylen, const char *kv0, ...)
{
	struct reg_item		 it;
	va_list			 ap;
	const char		*kv;
	size_t			 k;
	enum reg_verdict	 v;

	memset(&it, 0, sizeof(it));
	va_start(ap, kv0);
	for (kv = kv0; kv != NULL; kv = va_arg(ap, const char *)) {
		it.kv = realloc(it.kv, (it.n + 1) * sizeof(*it.kv));
		k = strcspn(kv, "=");
		it.kv[it.n].key = strndup(kv, k);
		it.kv[it.n].value = strdup(kv + k + (kv[k] == '=' ? 1 : 0));
		it.n++;
	}
	va_end(ap);
	v = fetcher_item_apply("pool.loda", &it, out, why, whylen);
	freeitem(&it);
	return v;
}

#define REJECTS(substr, ...) do {					\
	struct items	 _it;						\
	char		 _why[512];					\
									\
	items_init(&_it);						\
	cr_assert_eq(apply1(&_it, _why, sizeof(_why), __VA_ARGS__,	\
	    NULL), REG_ITEM_REJECTED, "not rejected: %s", #__VA_ARGS__);\
	cr_assert(strstr(_why, (substr)) != NULL, "why: %s", _why);	\
	cr_assert_eq(_it.nplugins + _it.nports + _it.nprocs, 0);	\
	items_free(&_it);						\
} while (0)

/* -- envelope and namespaces ------------------------------------------- */

Test(fetcher_registry, ns_answer)
{
	struct regset	 rs;
	char		 err[512];
	const char	*body = "{\"httpstatus\":200,\"data\":{"
	    "\"web.product.loda\":\"b7705b32\",\"pool.loda\":\"f2f21847\"},"
	    "\"msg\":\"\"}";

	fetcher_regset_init(&rs);
	cr_assert_eq(fetcher_registry_parse_ns(200, S(body), &rs, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs.n, 2);
	/* sorted, whatever the registry's order */
	cr_assert_str_eq(rs.v[0].ns, "pool.loda");
	cr_assert_str_eq(rs.v[0].uuid, "f2f21847");
	cr_assert_str_eq(rs.v[1].ns, "web.product.loda");
	cr_assert_eq(rs.v[0].answered, 0);
	fetcher_regset_free(&rs);
}

Test(fetcher_registry, ns_answer_bad_names_dropped)
{
	struct regset	 rs;
	char		 err[512];
	const char	*body = "{\"httpstatus\":200,\"data\":{"
	    "\"../etc\":\"a\",\"Pool.loda\":\"b\",\"-x.loda\":\"c\","
	    "\"a..b\":\"d\",\"ok.loda\":\"e\",\"x/y\":\"f\",\"\":\"g\","
	    "\"ok.loda\":\"last\"}}";

	fetcher_regset_init(&rs);
	cr_assert_eq(fetcher_registry_parse_ns(200, S(body), &rs, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs.n, 1);
	cr_assert_str_eq(rs.v[0].ns, "ok.loda");
	/* a key given twice: the last wins, as in Go */
	cr_assert_str_eq(rs.v[0].uuid, "last");
	fetcher_regset_free(&rs);
}

/* Every namespace bad: the answer fails (applied, it took every plugin
 * away and counted as a good refresh); none at all is a good answer. */
Test(fetcher_registry, ns_answer_all_bad_fails)
{
	struct regset	 rs;
	char		 err[512];
	const char	*bad = "{\"httpstatus\":200,\"data\":{"
	    "\"A.loda\":\"u\",\"x/y\":\"v\"},\"msg\":\"\"}";
	const char	*none = "{\"httpstatus\":200,\"data\":{}}";
	const char	*file = "{\"ns\":{\"A.loda\":\"u\"},\"resources\":{}}";

	fetcher_regset_init(&rs);
	cr_assert_eq(fetcher_registry_parse_ns(200, S(bad), &rs, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "\"data\": none of its 2 namespaces is valid "
	    "(each is named in the log)");
	cr_assert_eq(fetcher_registry_parse_file("r.json", S(file), &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "none of its 1 namespaces") != NULL, "%s", err);
	cr_assert_eq(fetcher_registry_parse_ns(200, S(none), &rs, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs.n, 0);
	fetcher_regset_free(&rs);
}

Test(fetcher_registry, ns_answer_errors)
{
	static const struct {
		long		 code;
		const char	*body;
		const char	*err;
	} t[] = {
		{ 500, "{\"httpstatus\":500,\"data\":null,\"msg\":\"boom\"}",
		    "HTTP 500: boom" },
		{ 404, "404 page not found\n", "HTTP 404: 404 page not found" },
		{ 502, "", "HTTP 502" },
		{ 200, "", "empty answer" },
		{ 200, "{\"data\":", "invalid JSON at byte 8" },
		{ 200, "<html>", "invalid JSON at byte 0: lexical error" },
		{ 200, "{\"data\":{}} x", "invalid JSON at byte 12" },
		{ 200, "[1,2]", "the answer is an array, not the registry's" },
		{ 200, "{\"httpstatus\":400,\"data\":null,\"msg\":\"invalid "
		    "infomation\"}", "\"httpstatus\" is 400, not 200: invalid "
		    "infomation" },
		{ 200, "{\"httpstatus\":\"200\",\"data\":{}}",
		    "\"httpstatus\" is a string, not 200" },
		{ 200, "{\"httpstatus\":200,\"msg\":\"\"}",
		    "the answer has no \"data\"" },
		{ 200, "{\"data\":null}", "\"data\" is null, not an object" },
		{ 200, "{\"data\":[\"pool.loda\"]}", "\"data\" is an array" },
		{ 200, "{\"data\":{\"pool.loda\":5}}",
		    "the uuid of \"pool.loda\" is a number, not a string" },
		{ 200, "{\"data\":{\"pool.loda\":\"\\u00\"}}",
		    "invalid JSON at byte" },
		{ 200, "{\"data\":{\"pool.loda\":\"\xff\"}}",
		    "invalid JSON at byte" },
	};
	struct regset	 rs;
	struct reg_ns	*n;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fetcher_regset_init(&rs);
		n = fetcher_regset_add_ns(&rs, "keep.loda", "u");
		cr_assert_not_null(n);
		err[0] = '\0';
		cr_assert_eq(fetcher_registry_parse_ns(t[i].code, S(t[i].body),
		    &rs,
		    err, sizeof(err)), -1, "case %zu accepted", i);
		cr_assert(strstr(err, t[i].err) != NULL,
		    "case %zu: \"%s\" does not say \"%s\"", i, err, t[i].err);
		/* a failed answer changes nothing */
		cr_assert_eq(rs.n, 1);
		cr_assert_str_eq(rs.v[0].ns, "keep.loda");
		fetcher_regset_free(&rs);
	}
}

Test(fetcher_registry, json_hostile)
{
	struct regset	 rs;
	char		 err[512], deep[4096];
	const char	 nul[] = "{\"data\":{}}\0garbage";
	size_t		 i;

	fetcher_regset_init(&rs);
	/* a NUL would make yajl read only what is before it */
	cr_assert_eq(fetcher_registry_parse_ns(200, nul, sizeof(nul) - 1, &rs,
	    err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "byte 11: NUL byte") != NULL, "%s", err);
	/* deep nesting is refused before yajl builds (and frees) a tree */
	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = '[';
	deep[sizeof(deep) - 1] = '\0';
	cr_assert_eq(fetcher_registry_parse_ns(200, S(deep), &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nested more than") != NULL, "%s", err);
	/* brackets inside strings do not count */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"data\":{\"a.loda\":\"");
	/* (a uuid, which takes 128 bytes at most) */
	for (i = strlen(deep); i < 140; i++)
		deep[i] = '[';
	strcat(deep, "\"}}");
	cr_assert_eq(fetcher_registry_parse_ns(200, S(deep), &rs, err,
	    sizeof(err)), 0, "%s", err);
	fetcher_regset_free(&rs);
}

/*
 * A comment holding a double quote, then 300 000 '[': the old nesting
 * check took the quote in the comment for the start of a string, so it
 * never saw the brackets, and yajl_tree_free() overflowed the stack on
 * the tree yajl then built.  Now one parser (json_tree.h) skips comments
 * and counts levels; every answer and the file go through it.
 */
static char *
comment_then_brackets(const char *head, size_t n, int close, size_t *len)
{
	size_t	 h = strlen(head);
	char	*p;

	cr_assert_not_null(p = malloc(h + 2 * n + 8));
	memcpy(p, head, h);
	memcpy(p + h, "/*\"*/", 5);
	memset(p + h + 5, '[', n);
	*len = h + 5 + n;
	if (close) {
		memset(p + *len, ']', n);
		*len += n;
	}
	p[*len] = '\0';
	return p;
}

Test(fetcher_registry, comment_hides_no_nesting)
{
	struct regset	 rs;
	struct reg_ns	*n;
	char		 err[512], *p;
	size_t		 len;

	fetcher_regset_init(&rs);
	p = comment_then_brackets("", 300000, 1, &len);
	cr_assert_eq(fetcher_registry_parse_ns(200, p, len, &rs, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "invalid JSON at byte 37: nested more than 32 "
	    "levels deep");
	cr_assert_eq(fetcher_registry_parse_file("f", p, len, &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nested more than") != NULL, "%s", err);
	n = fetcher_regset_add_ns(&rs, "pool.loda", "u");
	cr_assert_eq(fetcher_registry_parse_resource(200, p, len, n, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nested more than") != NULL, "%s", err);
	free(p);

	/* behind a key and a line comment, the same */
	p = comment_then_brackets("{\"data\": // \"\n", 300000, 1, &len);
	cr_assert_eq(fetcher_registry_parse_ns(200, p, len, &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nested more than") != NULL, "%s", err);
	/* a non-200 answer's body is parsed for its msg: bounded as well */
	cr_assert_eq(fetcher_registry_parse_ns(500, p, 60000, &rs, err,
	    sizeof(err)), -1);
	cr_assert(strncmp(err, "HTTP 500: {\"data\":", 18) == 0, "%s", err);
	free(p);
	fetcher_regset_free(&rs);
}

/* 5 MB of unclosed brackets once left the fetcher at 400 MB resident. */
Test(fetcher_registry, answer_memory_bounded)
{
	struct regset	 rs;
	char		 err[512], *p;
	size_t		 i, len, n = 4 * 1024 * 1024;

	fetcher_regset_init(&rs);
	p = comment_then_brackets("", 5 * 1024 * 1024, 0, &len);
	cr_assert_eq(fetcher_registry_parse_ns(200, p + 5, len - 5, &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "nested more than") != NULL, "%s", err);
	free(p);

	/* wide rather than deep: 4 MB of "0," is 2 million values */
	cr_assert_not_null(p = malloc(n + 64));
	len = (size_t)sprintf(p, "{\"data\":{\"a.b\":\"u\"},\"x\":[");
	for (i = 0; i < n / 2; i++) {
		p[len++] = '0';
		p[len++] = ',';
	}
	p[len - 1] = ']';
	p[len++] = '}';
	cr_assert_eq(fetcher_registry_parse_ns(200, p, len, &rs, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "would take more than 67108864 bytes of memory")
	    != NULL, "%s", err);
	free(p);

	/* and a document over the size limit is not parsed at all */
	cr_assert_eq(fetcher_registry_parse_ns(200, "x", REG_ANSWER_MAX + 1,
	    &rs, err, sizeof(err)), -1);
	cr_assert(strstr(err, "bytes, more than") != NULL, "%s", err);
	fetcher_regset_free(&rs);
}

/* Strings reach the cache, names and logs as C strings of UTF-8. */
Test(fetcher_registry, strings_refused_when_not_c_utf8)
{
	struct regset	 rs;
	char		 err[512];

	fetcher_regset_init(&rs);
	cr_assert_eq(fetcher_registry_parse_ns(200,
	    S("{\"data\":{\"a.b\":\"u\\udc00\"}}"), &rs, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "\"\\udc00\" is half of a surrogate pair") !=
	    NULL, "%s", err);
	cr_assert_eq(fetcher_registry_parse_file("f",
	    S("{\"ns\":{\"a.b\\u0000x\":\"u\"}}"), &rs, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "holds \\u0000") != NULL, "%s", err);
	fetcher_regset_free(&rs);
}

/* -- resources ---------------------------------------------------------- */

Test(fetcher_registry, resource_answer)
{
	struct regset	 rs;
	struct reg_ns	*n;
	char		 err[512];
	const char	*body = "{\"httpstatus\":200,\"data\":["
	    "{\"_id\":\"1\",\"interval\":\"10\",\"measurement_type\":\"CPU\","
	    "\"name\":\"cpu.idle\"},"
	    "{\"_id\":\"2\",\"measurement_type\":\"PORT\",\"name\":"
	    "\"PORT.sshd.22\",\"port\":\"22\"}],\"msg\":\"\"}";

	fetcher_regset_init(&rs);
	n = fetcher_regset_add_ns(&rs, "pool.loda", "u");
	cr_assert_eq(fetcher_registry_parse_resource(200, S(body), n, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(n->answered, 1);
	cr_assert_eq(n->nitems, 2);
	/* only what the agent reads is kept: not "_id" */
	cr_assert_eq(n->items[0].n, 3);
	/* the registry's key order is kept */
	cr_assert_str_eq(n->items[0].kv[0].key, "interval");
	cr_assert_str_eq(n->items[1].kv[2].value, "22");
	fetcher_regset_free(&rs);
}

Test(fetcher_registry, resource_answer_errors)
{
	static const struct {
		long		 code;
		const char	*body;
		const char	*err;
	} t[] = {
		{ 500, "{\"httpstatus\":500,\"data\":null,\"msg\":\"ns not "
		    "found\"}", "HTTP 500: ns not found" },
		{ 200, "{\"httpstatus\":200,\"data\":null,\"msg\":\"\"}",
		    "no items under this namespace (\"data\" is null)" },
		{ 200, "{\"data\":[]}", "no items under this namespace" },
		{ 200, "{\"data\":{}}", "\"data\" is an object, not a list" },
		{ 200, "{\"data\":[\"x\"]}", "item #0 is a string, not an "
		    "object" },
		{ 200, "{\"data\":[{\"name\":\"cpu.idle\"},{\"name\":"
		    "\"PLUGIN.x\",\"interval\":60}]}",
		    "item \"PLUGIN.x\": \"interval\" is a number, not a "
		    "string" },
		{ 200, "{\"data\":[{\"interval\":null}]}",
		    "item #0: \"interval\" is null, not a string" },
		{ 200, "{\"data\":[{\"tags\":{\"a\":\"b\"}}]}",
		    "\"tags\" is an object" },
		{ 200, "{\"data\":[{\"a\":true}]}", "\"a\" is a boolean" },
		{ 200, "{\"data\":[{\"a\":\"b\"}", "invalid JSON at byte" },
	};
	struct regset	 rs;
	struct reg_ns	*n;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fetcher_regset_init(&rs);
		n = fetcher_regset_add_ns(&rs, "pool.loda", "u");
		err[0] = '\0';
		cr_assert_eq(fetcher_registry_parse_resource(t[i].code,
		    S(t[i].body),
		    n, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_assert(strstr(err, t[i].err) != NULL,
		    "case %zu: \"%s\" does not say \"%s\"", i, err, t[i].err);
		cr_assert_eq(n->answered, 0);
		cr_assert_eq(n->nitems, 0);
		fetcher_regset_free(&rs);
	}
}

/* -- items -------------------------------------------------------------- */

Test(fetcher_registry, plugin_item)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "_id=e41d",
	    "comment=", "git=git@git.test.com:plugins/mysql.git",
	    "interval=60", "measurement_type=PLUGIN", "name=PLUGIN.mysql",
	    "parameters=-servers  loda:pw@tcp(127.0.0.1:3306)/ a&b $HOME ",
	    NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nplugins, 1);
	cr_assert_str_eq(it.plugins[0].ns, "pool.loda");
	cr_assert_str_eq(it.plugins[0].name, "PLUGIN.mysql");
	cr_assert_str_eq(it.plugins[0].git,
	    "git@git.test.com:plugins/mysql.git");
	cr_assert_str_eq(it.plugins[0].repo, "plugins/mysql");
	cr_assert_str_eq(it.plugins[0].project, "mysql");
	cr_assert_eq(it.plugins[0].interval, 60);
	/* split on single spaces, empty tokens dropped; & and $ allowed */
	cr_assert_eq(it.plugins[0].params.n, 4);
	cr_assert_str_eq(it.plugins[0].params.v[0], "-servers");
	cr_assert_str_eq(it.plugins[0].params.v[1],
	    "loda:pw@tcp(127.0.0.1:3306)/");
	cr_assert_str_eq(it.plugins[0].params.v[2], "a&b");
	cr_assert_str_eq(it.plugins[0].params.v[3], "$HOME");
	items_free(&it);
}

Test(fetcher_registry, plugin_on_demand_and_no_params)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=0",
	    "git=git@h:g/p.git", "measurement_type=PLUGIN", "name=PLUGIN.p",
	    NULL), REG_ITEM_OK, "%s", why);
	/* no interval at all: on demand, as the Go agent decoded it */
	cr_assert_eq(apply1(&it, why, sizeof(why), "git=git@h:g/q.git",
	    "measurement_type=PLUGIN", "name=PLUGIN.q", NULL), REG_ITEM_OK,
	    "%s", why);
	/* keys match in any case, like Go's struct decoding */
	cr_assert_eq(apply1(&it, why, sizeof(why), "GIT=git@h:g/r.git",
	    "Interval=+30", "measurement_type=PLUGIN", "Name=PLUGIN.r", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nplugins, 3);
	cr_assert_eq(it.plugins[0].interval, 0);
	cr_assert_eq(it.plugins[0].params.n, 0);
	cr_assert_eq(it.plugins[1].interval, 0);
	cr_assert_str_eq(it.plugins[2].project, "r");
	cr_assert_eq(it.plugins[2].interval, 30);
	items_free(&it);
}

Test(fetcher_registry, plugin_rejections)
{
	static const char *const bad[] = { "&&", ";", "|", "<", ">", "`" };
	char	 param[64];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(param, sizeof(param), "parameters=-x a%sb", bad[i]);
		REJECTS("contains", "git=git@h:g/p.git", "interval=60",
		    "measurement_type=PLUGIN", "name=PLUGIN.p", param);
	}
	REJECTS("\"interval\" \"10s\" is not a number", "git=git@h:g/p.git",
	    "interval=10s", "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("\"interval\" \" 10\"", "git=git@h:g/p.git",
	    "interval= 10", "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("\"interval\" \"1.5\"", "git=git@h:g/p.git",
	    "interval=1.5", "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("\"interval\" \"-5\"", "git=git@h:g/p.git",
	    "interval=-5", "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("\"interval\" \"\"", "git=git@h:g/p.git",
	    "interval=", "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("no \"git\"", "interval=60", "measurement_type=PLUGIN",
	    "name=PLUGIN.p");
	REJECTS("does not end in .git", "git=git@h:g/p", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("not of the form", "git=git@h:a/b/c.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("group and project", "git=git@h:g/...git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("group and project", "git=git@h:-g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p");
	REJECTS("no \"name\"", "git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN");
	REJECTS("holds characters", "git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.my sql");
	REJECTS("reserved", "git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p", "param=x");
	REJECTS("reserved", "git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p", "Cycle=5");
	{
		char	 git[300];

		/* gitpull could not name its clone: refused here, said */
		snprintf(git, sizeof(git), "git=git@h:g/%0*d.git",
		    ITEM_PROJECT_MAX + 1, 0);
		REJECTS("longer than 241 bytes", git, "interval=60",
		    "measurement_type=PLUGIN", "name=PLUGIN.p");
	}
}

/* <ns>|<project>, the disable marker's name, over NAME_MAX: refused. */
Test(fetcher_registry, plugin_whose_marker_name_is_too_long)
{
	struct items		 out;
	struct reg_item		 it;
	struct reg_kv		 kv[3];
	char			 ns[ITEM_NS_MAX + 1], git[200], why[256];
	char			 k0[] = "git", k1[] = "measurement_type";
	char			 k2[] = "name", v1[] = "PLUGIN", v2[] = "PLUGIN.p";

	memset(ns, 'n', ITEM_NS_MAX);
	ns[ITEM_NS_MAX] = '\0';
	snprintf(git, sizeof(git), "git@h:g/%0*d.git", 127, 0);
	kv[0].key = k0;
	kv[0].value = git;
	kv[1].key = k1;
	kv[1].value = v1;
	kv[2].key = k2;
	kv[2].value = v2;
	it.kv = kv;
	it.n = 3;
	items_init(&out);
	cr_assert_eq(fetcher_item_apply(ns, &it, &out, why, sizeof(why)),
	    REG_ITEM_REJECTED);
	cr_assert(strstr(why, "disable marker") != NULL, "%s", why);
	cr_assert_eq(out.nplugins, 0);
	/* one byte less fits */
	snprintf(git, sizeof(git), "git@h:g/%0*d.git", 126, 0);
	cr_assert_eq(fetcher_item_apply(ns, &it, &out, why, sizeof(why)),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(out.nplugins, 1);
	items_free(&out);
}

Test(fetcher_registry, port_and_proc_items)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "connect_timeout=5",
	    "interval=10", "measurement_type=PORT", "name=PORT.sshd.22",
	    "port=22", NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(apply1(&it, why, sizeof(why), "connect_timeout=0",
	    "measurement_type=PORT", "name=PORT.a.80", "port=80", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(apply1(&it, why, sizeof(why), "connect_timeout=-2",
	    "measurement_type=PORT", "name=PORT.b.81", "port=81", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(apply1(&it, why, sizeof(why), "measurement_type=PORT",
	    "name=PORT.c.82", "port=82", NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nports, 4);
	cr_assert_eq(it.ports[0].port, 22);
	cr_assert_eq(it.ports[0].timeout, 5);
	/* <= 0 or missing: 3 s */
	cr_assert_eq(it.ports[1].timeout, 3);
	cr_assert_eq(it.ports[2].timeout, 3);
	cr_assert_eq(it.ports[3].timeout, 3);
	/* the last PORT item wins, as for the system types: it had none */
	cr_assert_eq(it.intervals[SYS_PORT], 0);

	cr_assert_eq(apply1(&it, why, sizeof(why), "bin_path=/usr/sbin/nginx",
	    "interval=10", "measurement_type=PROC", "name=PROC.nginx", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nprocs, 1);
	cr_assert_str_eq(it.procs[0].bin_path, "/usr/sbin/nginx");
	cr_assert_str_eq(it.procs[0].name, "PROC.nginx");
	cr_assert_eq(it.intervals[SYS_PROC], 10);
	items_free(&it);

	REJECTS("no \"port\"", "measurement_type=PORT", "name=PORT.x");
	REJECTS("\"port\" \"ssh\"", "measurement_type=PORT", "name=PORT.x",
	    "port=ssh");
	REJECTS("\"port\" \"0\"", "measurement_type=PORT", "name=PORT.x",
	    "port=0");
	REJECTS("\"port\" \"65536\"", "measurement_type=PORT", "name=PORT.x",
	    "port=65536");
	REJECTS("\"connect_timeout\" \"3s\"", "measurement_type=PORT",
	    "name=PORT.x", "port=22", "connect_timeout=3s");
	REJECTS("no \"name\"", "measurement_type=PORT", "port=22");
	REJECTS("\"bin_path\" \"nginx\" is not an absolute path",
	    "measurement_type=PROC", "name=PROC.nginx", "bin_path=nginx");
	REJECTS("no \"bin_path\"", "measurement_type=PROC",
	    "name=PROC.nginx");
	REJECTS("holds characters", "measurement_type=PROC",
	    "name=PROC/nginx", "bin_path=/usr/sbin/nginx");
}

/*
 * PORT and PROC items set their type's interval like the system types
 * (the Go agent fixed both at 60 s, quirk 5); a bad one is taken as not
 * given, and the check is kept.
 */
Test(fetcher_registry, port_and_proc_intervals)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=30",
	    "measurement_type=PORT", "name=PORT.a.80", "port=80", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.intervals[SYS_PORT], 30);
	cr_assert_eq(items_interval(&it, SYS_PORT), 30);
	/* the last item wins */
	cr_assert_eq(apply1(&it, why, sizeof(why), "Interval=+20",
	    "measurement_type=PORT", "name=PORT.b.81", "port=81", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.intervals[SYS_PORT], 20);
	/* raised to the minimum */
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=5",
	    "measurement_type=PORT", "name=PORT.c.82", "port=82", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(items_interval(&it, SYS_PORT), 10);
	/* a bad interval: the item is kept, the default applies */
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=1m",
	    "measurement_type=PORT", "name=PORT.d.83", "port=83", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nports, 4);
	cr_assert_eq(it.intervals[SYS_PORT], 0);
	cr_assert_eq(items_interval(&it, SYS_PORT), 60);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=-10",
	    "measurement_type=PORT", "name=PORT.e.84", "port=84", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(items_interval(&it, SYS_PORT), 60);
	/* a rejected item sets nothing */
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=40",
	    "measurement_type=PORT", "name=PORT.f.0", "port=0", NULL),
	    REG_ITEM_REJECTED);
	cr_assert_eq(it.intervals[SYS_PORT], 0);
	cr_assert_eq(it.nports, 5);

	/* PROC: its own type; none given: the default 60 */
	cr_assert_eq(items_interval(&it, SYS_PROC), 60);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=15",
	    "measurement_type=PROC", "name=PROC.a", "bin_path=/bin/a", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(items_interval(&it, SYS_PROC), 15);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=",
	    "measurement_type=PROC", "name=PROC.b", "bin_path=/bin/b", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(items_interval(&it, SYS_PROC), 60);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=120",
	    "measurement_type=PROC", "name=PROC.c", "bin_path=/bin/c", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=x",
	    "measurement_type=PROC", "name=PROC.d", "bin_path=/bin/d", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.nprocs, 4);
	cr_assert_eq(items_interval(&it, SYS_PROC), 60);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=120",
	    "measurement_type=PROC", "name=PROC.e", "bin_path=/bin/e", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_eq(items_interval(&it, SYS_PROC), 120);
	/* and neither touches the other's */
	cr_assert_eq(items_interval(&it, SYS_PORT), 60);
	cr_assert_eq(it.intervals[SYS_CPU], 0);
	items_free(&it);
}

Test(fetcher_registry, system_intervals_and_ignored)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=120",
	    "measurement_type=FS", "name=fs.space.used", NULL), REG_ITEM_OK);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=300",
	    "measurement_type=FS", "name=fs.files.rw", NULL), REG_ITEM_OK);
	/* the last item of a type wins (quirk 4) */
	cr_assert_eq(it.intervals[SYS_FS], 300);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=15",
	    "measurement_type=NET", NULL), REG_ITEM_OK);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=x",
	    "measurement_type=NET", "name=net.speed", NULL),
	    REG_ITEM_REJECTED);
	cr_assert(strstr(why, "\"interval\" \"x\"") != NULL, "%s", why);
	cr_assert_eq(it.intervals[SYS_NET], 15);
	/* not ours: ignored, not rejected */
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "measurement_type=GOPLUGIN", "name=test", NULL),
	    REG_ITEM_IGNORED);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "measurement_type=LOG", "name=kernel.log.OOM", NULL),
	    REG_ITEM_IGNORED);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "measurement_type=HEALTH", NULL), REG_ITEM_IGNORED);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "name=cpu.idle", NULL), REG_ITEM_IGNORED);
	/* the type is read exactly, as the Go agent read it from the map */
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "Measurement_Type=CPU", NULL), REG_ITEM_IGNORED);
	cr_assert_eq(apply1(&it, why, sizeof(why), "interval=10",
	    "measurement_type=cpu", NULL), REG_ITEM_IGNORED);
	cr_assert_eq(it.intervals[SYS_CPU], 0);
	items_free(&it);
}

Test(fetcher_registry, regset_to_items_order_and_last_wins)
{
	struct regset	 rs;
	struct reg_ns	*a, *b;
	struct items	 it;
	size_t		 rejected;

	fetcher_regset_init(&rs);
	b = fetcher_regset_add_ns(&rs, "web.product.loda", "u2");
	b->items = calloc(2, sizeof(*b->items));
	b->items[0] = mkitem("interval=30", "measurement_type=CPU", NULL);
	b->items[1] = mkitem("git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p", NULL);
	b->nitems = 2;
	a = fetcher_regset_add_ns(&rs, "pool.loda", "u1");
	a->items = calloc(4, sizeof(*a->items));
	a->items[0] = mkitem("interval=20", "measurement_type=CPU", NULL);
	a->items[1] = mkitem("git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.first", NULL);
	a->items[2] = mkitem("git=git@h:g/p.git", "interval=90",
	    "measurement_type=PLUGIN", "name=PLUGIN.second", NULL);
	a->items[3] = mkitem("measurement_type=PORT", "name=PORT.x", NULL);
	a->nitems = 4;
	fetcher_regset_sort(&rs);
	cr_assert_str_eq(rs.v[0].ns, "pool.loda");

	items_init(&it);
	cr_assert_eq(fetcher_regset_to_items(&rs, &it, &rejected), 0);
	cr_assert_eq(rejected, 1);
	cr_assert_eq(it.namespaces.n, 2);
	cr_assert_str_eq(it.namespaces.v[0], "pool.loda");
	cr_assert_str_eq(it.namespaces.v[1], "web.product.loda");
	/* namespaces in byte order: web.product.loda's CPU comes last */
	cr_assert_eq(it.intervals[SYS_CPU], 30);
	/* one plugin per ns and project: the later item replaces */
	cr_assert_eq(it.nplugins, 2);
	cr_assert_str_eq(it.plugins[0].ns, "pool.loda");
	cr_assert_str_eq(it.plugins[0].name, "PLUGIN.second");
	cr_assert_eq(it.plugins[0].interval, 90);
	cr_assert_str_eq(it.plugins[1].ns, "web.product.loda");
	items_free(&it);
	fetcher_regset_free(&rs);
}

Test(fetcher_registry, keep_unanswered)
{
	struct regset	 prev, next, copy;
	struct reg_ns	*n;

	fetcher_regset_init(&prev);
	n = fetcher_regset_add_ns(&prev, "a.loda", "1");
	n->items = calloc(1, sizeof(*n->items));
	n->items[0] = mkitem("interval=10", "measurement_type=CPU", NULL);
	n->nitems = 1;
	n = fetcher_regset_add_ns(&prev, "b.loda", "2");
	n->items = calloc(1, sizeof(*n->items));
	n->items[0] = mkitem("interval=20", "measurement_type=MEM", NULL);
	n->nitems = 1;

	fetcher_regset_init(&next);
	n = fetcher_regset_add_ns(&next, "a.loda", "1");	/* failed */
	n = fetcher_regset_add_ns(&next, "b.loda",
	    "2");	/* answered: none kept */
	n->items = calloc(1, sizeof(*n->items));
	n->items[0] = mkitem("interval=30", "measurement_type=DISK", NULL);
	n->nitems = 1;
	n->answered = 1;
	fetcher_regset_add_ns(&next, "c.loda", "3");		/* new,
	    failed */
	cr_assert_eq(fetcher_regset_keep_unanswered(&next, &prev), 1);
	cr_assert_eq(next.v[0].nitems, 1);
	cr_assert_str_eq(next.v[0].items[0].kv[1].value, "CPU");
	cr_assert_str_eq(next.v[1].items[0].kv[1].value, "DISK");
	cr_assert_eq(next.v[2].nitems, 0);

	cr_assert_eq(fetcher_regset_copy(&copy, &next), 0);
	cr_assert_eq(copy.n, 3);
	cr_assert_str_eq(copy.v[1].items[0].kv[0].value, "30");
	fetcher_regset_free(&copy);
	fetcher_regset_free(&next);
	fetcher_regset_free(&prev);
}

Test(fetcher_registry, ns_names)
{
	char	 long_ns[ITEM_NS_MAX + 1];

	cr_assert(fetcher_regset_ns_name_valid("pool.loda"));
	cr_assert(fetcher_regset_ns_name_valid("web-1.product.loda"));
	cr_assert(fetcher_regset_ns_name_valid("loda"));
	cr_assert(!fetcher_regset_ns_name_valid(""));
	cr_assert(!fetcher_regset_ns_name_valid(".loda"));
	cr_assert(!fetcher_regset_ns_name_valid("loda."));
	cr_assert(!fetcher_regset_ns_name_valid("a..loda"));
	cr_assert(!fetcher_regset_ns_name_valid(".."));
	cr_assert(!fetcher_regset_ns_name_valid("-a.loda"));
	cr_assert(!fetcher_regset_ns_name_valid("A.loda"));
	cr_assert(!fetcher_regset_ns_name_valid("a_b.loda"));
	cr_assert(!fetcher_regset_ns_name_valid("a/b"));
	cr_assert(!fetcher_regset_ns_name_valid("a b"));
	memset(long_ns, 'a', ITEM_NS_MAX);
	long_ns[ITEM_NS_MAX] = '\0';
	cr_assert(!fetcher_regset_ns_name_valid(long_ns));
	long_ns[ITEM_NS_MAX - 1] = '\0';
	cr_assert(fetcher_regset_ns_name_valid(long_ns));
}

/* -- the file:// document ------------------------------------------------ */

Test(fetcher_registry, file_document)
{
	struct regset	 rs;
	char		 err[512];
	const char	*doc =
	    "/* standalone registry */\n"
	    "{\"ns\": {\"pool.loda\": \"u1\", \"web.loda\": \"\", "
	    "\"none.loda\": \"u3\", \"bad.loda\": \"u4\", "
	    "\"worse.loda\": \"u5\"},\n"
	    " \"resources\": {\n"
	    "  \"pool.loda\": [{\"interval\": \"10\", \"measurement_type\": "
	    "\"CPU\"}],\n"
	    "  \"web.loda\": null,\n"
	    "  \"bad.loda\": [{\"interval\": 10}],\n"
	    "  \"worse.loda\": \"x\",\n"
	    "  \"stray.loda\": []\n"
	    " }}\n";

	fetcher_regset_init(&rs);
	cr_assert_eq(fetcher_registry_parse_file("test", S(doc), &rs, err,
	    sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(rs.n, 5);
	cr_assert_str_eq(rs.v[0].ns, "bad.loda");
	cr_assert_eq(rs.v[0].answered, 0);
	cr_assert_str_eq(rs.v[1].ns, "none.loda");
	cr_assert_eq(rs.v[1].answered, 1);
	cr_assert_eq(rs.v[1].nitems, 0);
	cr_assert_str_eq(rs.v[2].ns, "pool.loda");
	cr_assert_eq(rs.v[2].nitems, 1);
	cr_assert_str_eq(rs.v[3].ns, "web.loda");
	cr_assert_str_eq(rs.v[3].uuid, "");
	cr_assert_eq(rs.v[3].answered, 1);
	cr_assert_str_eq(rs.v[4].ns, "worse.loda");
	cr_assert_eq(rs.v[4].answered, 0);
	fetcher_regset_free(&rs);
}

Test(fetcher_registry, file_document_errors)
{
	static const struct {
		const char	*doc;
		const char	*err;
	} t[] = {
		{ "", "empty" },
		{ "[]", "the document is an array, not an object" },
		{ "{}", "\"ns\" is missing, not an object" },
		{ "{\"ns\": [\"pool.loda\"]}", "\"ns\" is an array" },
		{ "{\"ns\": {\"pool.loda\": 1}}", "the uuid of \"pool.loda\" is "
		    "a number" },
		{ "{\"ns\": {}, \"resources\": []}", "\"resources\" is an "
		    "array" },
		{ "{\"ns\": {}, ", "invalid JSON at byte 11" },
	};
	struct regset	 rs;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fetcher_regset_init(&rs);
		err[0] = '\0';
		cr_assert_eq(fetcher_registry_parse_file("test", S(t[i].doc),
		    &rs, err,
		    sizeof(err)), -1, "case %zu accepted", i);
		cr_assert(strstr(err, t[i].err) != NULL,
		    "case %zu: \"%s\" does not say \"%s\"", i, err, t[i].err);
		fetcher_regset_free(&rs);
	}
}

static size_t
encoded_len(const struct items *it)
{
	struct pbuf	 pb;
	size_t		 n;

	codec_put_init(&pb);
	items_encode(&pb, it);
	cr_assert(!codec_put_failed(&pb));
	n = pb.len;
	codec_put_free(&pb);
	return n;
}

/* One namespace's items too many for one MSG_ITEMS: the others stay. */
Test(fetcher_registry, items_fit_drops_the_largest_namespace)
{
	struct regset	 rs;
	struct reg_ns	*a, *b;
	struct items	 it;
	char		 kv[1100], name[64];
	size_t		 i, rejected, full, max;

	fetcher_regset_init(&rs);
	a = fetcher_regset_add_ns(&rs, "big.loda", "u1");
	a->items = calloc(200, sizeof(*a->items));
	memset(kv, 'x', sizeof(kv));
	memcpy(kv, "bin_path=/", 10);
	kv[sizeof(kv) - 1] = '\0';
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "name=PROC.p%zu", i);
		a->items[i] = mkitem("measurement_type=PROC", name, kv, NULL);
	}
	a->nitems = 200;
	b = fetcher_regset_add_ns(&rs, "small.loda", "u2");
	b->items = calloc(2, sizeof(*b->items));
	b->items[0] = mkitem("git=git@h:g/p.git", "interval=60",
	    "measurement_type=PLUGIN", "name=PLUGIN.p", NULL);
	b->items[1] = mkitem("measurement_type=PORT", "name=PORT.x",
	    "port=22", NULL);
	b->nitems = 2;
	fetcher_regset_sort(&rs);

	items_init(&it);
	cr_assert_eq(fetcher_regset_to_items(&rs, &it, &rejected), 0);
	cr_assert_eq(rejected, 0);
	cr_assert_eq(it.nprocs, 200);
	full = encoded_len(&it);

	/* room enough: nothing changes */
	cr_assert_eq(fetcher_items_fit(&it, full, &rejected), 0);
	cr_assert_eq(rejected, 0);
	cr_assert_eq(it.nprocs, 200);

	/* 100 KiB: big.loda's 200 KiB go, small.loda's items stay */
	max = 100 * 1024;
	cr_assert_gt(full, max);
	cr_assert_eq(fetcher_items_fit(&it, max, &rejected), 1);
	cr_assert_eq(rejected, 200);
	cr_assert_leq(encoded_len(&it), max);
	cr_assert_eq(it.nprocs, 0);
	cr_assert_eq(it.nplugins, 1);
	cr_assert_str_eq(it.plugins[0].ns, "small.loda");
	cr_assert_eq(it.nports, 1);
	cr_assert_str_eq(it.ports[0].ns, "small.loda");
	/* both stay namespaces of the host */
	cr_assert_eq(it.namespaces.n, 2);
	items_free(&it);
	fetcher_regset_free(&rs);
}

/*
 * A key given twice, or in several cases, resolves as the Go agent's
 * map-then-struct decoding did: the greatest key in byte order among
 * those equal in any case, the last of it when repeated.
 */
Test(fetcher_registry, repeated_keys_resolve_as_go_did)
{
	struct items	 it;
	char		 why[512];

	items_init(&it);
	cr_assert_eq(apply1(&it, why, sizeof(why), "measurement_type=PLUGIN",
	    "name=PLUGIN.a", "git=git@h:g/a.git", "interval=60", "interval=0",
	    NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.plugins[0].interval, 0);
	cr_assert_eq(apply1(&it, why, sizeof(why), "measurement_type=PLUGIN",
	    "name=PLUGIN.b", "git=git@h:g/b.git", "interval=70",
	    "Interval=5", NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.plugins[1].interval, 70);
	cr_assert_eq(apply1(&it, why, sizeof(why), "measurement_type=PLUGIN",
	    "name=PLUGIN.c", "git=git@h:g/c.git", "INTERVAL=5",
	    "Interval=80", "INTERVAL=6", NULL), REG_ITEM_OK, "%s", why);
	cr_assert_eq(it.plugins[2].interval, 80);
	cr_assert_eq(apply1(&it, why, sizeof(why), "measurement_type=PLUGIN",
	    "name=PLUGIN.x", "git=git@h:g/d.git", "name=PLUGIN.d", NULL),
	    REG_ITEM_OK, "%s", why);
	cr_assert_str_eq(it.plugins[3].name, "PLUGIN.d");
	items_free(&it);
}

/* Lines of `f` holding `needle`. */
static size_t
count_lines(FILE *f, const char *needle)
{
	char	 line[4096];
	size_t	 n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	return n;
}

/*
 * Many plugins of one project in a namespace, and many bad items: the
 * last of each project stays, in its place, and the log says the first
 * few of each kind and how many more (a line each rotated the log away).
 */
Test(fetcher_registry, thousands_of_repeats_and_rejects_said_in_a_few_lines)
{
	struct regset	 rs;
	struct reg_ns	*n;
	struct items	 it;
	char		 git[64], name[64];
	size_t		 rejected, i, nitems = 9000;
	FILE		*log;
	int		 saved;

	/* the log goes to stderr outside a worker: into a file, to count */
	cr_assert_not_null(log = tmpfile());
	cr_assert_neq(saved = dup(2), -1);
	cr_assert_neq(dup2(fileno(log), 2), -1);
	fetcher_regset_init(&rs);
	n = fetcher_regset_add_ns(&rs, "pool.loda", "u1");
	cr_assert_not_null(n->items = calloc(nitems, sizeof(*n->items)));
	/* 3000 projects, each twice, then 3000 bad ports */
	for (i = 0; i < 6000; i++) {
		snprintf(git, sizeof(git), "git=git@h:g/p%zu.git", i % 3000);
		snprintf(name, sizeof(name), "name=PLUGIN.n%zu", i);
		n->items[i] = mkitem("measurement_type=PLUGIN", git, name,
		    NULL);
	}
	for (; i < nitems; i++)
		n->items[i] = mkitem("measurement_type=PORT", "name=PORT.x",
		    "port=0", NULL);
	n->nitems = nitems;
	n->answered = 1;

	items_init(&it);
	cr_assert_eq(fetcher_regset_to_items(&rs, &it, &rejected), 0);
	cr_assert_eq(rejected, 3000);
	cr_assert_eq(it.nplugins, 3000);
	/* the last of each: items 3000..5999, in their order */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "PLUGIN.n%zu", 3000 + i);
		cr_assert_str_eq(it.plugins[i].name, name);
		snprintf(name, sizeof(name), "p%zu", i);
		cr_assert_str_eq(it.plugins[i].project, name);
	}
	fflush(stderr);
	cr_assert_neq(dup2(saved, 2), -1);
	(void)close(saved);
	cr_assert_eq(count_lines(log, "is replaced by a later item"),
	    FETCHER_ITEMS_SAID);
	cr_assert_eq(count_lines(log, "2990 more plugin items are "
	    "replaced"), 1);
	cr_assert_eq(count_lines(log, "rejected: \"port\" \"0\""),
	    FETCHER_ITEMS_SAID);
	cr_assert_eq(count_lines(log, "2990 more items rejected"), 1);
	(void)fclose(log);
	items_free(&it);
	fetcher_regset_free(&rs);
}
