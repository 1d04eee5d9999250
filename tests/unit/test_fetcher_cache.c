/* The registry cache: its document and the round trip through disk. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/fetcher/fetcher_cache.h"

static void
sample(struct regset *rs)
{
	struct reg_ns	*n;

	fetcher_regset_init(rs);
	n = fetcher_regset_add_ns(rs, "web.product.loda", "b7705b32");
	n->items = calloc(2, sizeof(*n->items));
	n->nitems = 2;
	n->items[0].kv = calloc(3, sizeof(struct reg_kv));
	n->items[0].n = 3;
	n->items[0].kv[0].key = strdup("name");
	n->items[0].kv[0].value = strdup("1");
	n->items[0].kv[1].key = strdup("parameters");
	n->items[0].kv[1].value = strdup("-a \"q\" <x> \\ \n");
	n->items[0].kv[2].key = strdup("measurement_type");
	n->items[0].kv[2].value = strdup("PLUGIN");
	/* an item without keys survives too */
	n->items[1].kv = NULL;
	n->items[1].n = 0;
	n->answered = 1;
	fetcher_regset_add_ns(rs, "empty.loda", "");
	fetcher_regset_sort(rs);
}

static void
assert_same(const struct regset *a, const struct regset *b)
{
	size_t	 i, j, k;

	cr_assert_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		cr_assert_str_eq(a->v[i].ns, b->v[i].ns);
		cr_assert_str_eq(a->v[i].uuid, b->v[i].uuid);
		cr_assert_eq(a->v[i].nitems, b->v[i].nitems);
		for (j = 0; j < a->v[i].nitems; j++) {
			cr_assert_eq(a->v[i].items[j].n, b->v[i].items[j].n);
			for (k = 0; k < a->v[i].items[j].n; k++) {
				cr_assert_str_eq(a->v[i].items[j].kv[k].key,
				    b->v[i].items[j].kv[k].key);
				cr_assert_str_eq(a->v[i].items[j].kv[k].value,
				    b->v[i].items[j].kv[k].value);
			}
		}
	}
}

Test(fetcher_cache, document)
{
	struct regset	 rs, back;
	struct buf	 b;
	char		 err[256];

	sample(&rs);
	buf_init(&b);
	fetcher_cache_encode(&b, &rs);
	cr_assert(!buf_failed(&b));
	/* yajl's indentation; strings escaped as Go escapes them */
	cr_assert_str_eq(b.p,
	    "{\n"
	    "  \"ns\": {\n"
	    "    \"empty.loda\": \"\",\n"
	    "    \"web.product.loda\": \"b7705b32\"\n"
	    "  },\n"
	    "  \"resources\": {\n"
	    "    \"empty.loda\": [\n"
	    "\n"
	    "    ],\n"
	    "    \"web.product.loda\": [\n"
	    "      {\n"
	    "        \"name\": \"1\",\n"
	    "        \"parameters\": \"-a \\\"q\\\" \\u003cx\\u003e "
	    "\\\\ \\n\",\n"
	    "        \"measurement_type\": \"PLUGIN\"\n"
	    "      },\n"
	    "      {\n"
	    "\n"
	    "      }\n"
	    "    ]\n"
	    "  }\n"
	    "}\n");
	fetcher_regset_init(&back);
	cr_assert_eq(fetcher_registry_parse_file("test", b.p, b.len, &back, err,
	    sizeof(err)), 0, "%s", err);
	assert_same(&rs, &back);
	fetcher_regset_free(&back);

	/* nothing at all */
	fetcher_regset_free(&rs);
	buf_reset(&b);
	fetcher_cache_encode(&b, &rs);
	cr_assert_str_eq(b.p,
	    "{\n  \"ns\": {\n\n  },\n  \"resources\": {\n\n  }\n}\n");
	cr_assert_eq(fetcher_registry_parse_file("test", b.p, b.len, &back, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n, 0);
	buf_free(&b);
}

Test(fetcher_cache, disk_round_trip)
{
	char		 t[] = "/tmp/test_fetcher_cache_XXXXXX", err[512];
	char		 path[600], cmd[700];
	struct regset	 rs, back;
	struct buf	 b;
	FILE		*fp;

	cr_assert_not_null(mkdtemp(t));
	fetcher_regset_init(&back);
	/* no cache yet */
	cr_assert_eq(fetcher_cache_load(t, &back, err, sizeof(err)), 0);

	sample(&rs);
	buf_init(&b);
	fetcher_cache_encode(&b, &rs);
	cr_assert_eq(fetcher_cache_write(t, &b, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(fetcher_cache_load(t, &back, err, sizeof(err)), 1, "%s",
	    err);
	assert_same(&rs, &back);
	fetcher_regset_free(&back);

	/* a damaged cache is an error that names the file */
	cr_assert_eq(fetcher_cache_path(t, path, sizeof(path), err,
	    sizeof(err)), 0);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("{\"ns\": {\"pool.loda\": ", fp);
	fclose(fp);
	cr_assert_eq(fetcher_cache_load(t, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, ".registry.json: invalid JSON at byte") != NULL,
	    "%s", err);
	cr_assert_eq(back.n, 0);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t);
	cr_assert_eq(system(cmd), 0);
	buf_free(&b);
	fetcher_regset_free(&rs);
}

static struct reg_item
kvs(size_t n, const char *const *pairs)
{
	struct reg_item	 it;
	size_t		 i;

	it.n = n;
	it.kv = calloc(n, sizeof(*it.kv));
	cr_assert_not_null(it.kv);
	for (i = 0; i < n; i++) {
		it.kv[i].key = strdup(pairs[2 * i]);
		it.kv[i].value = strdup(pairs[2 * i + 1]);
	}
	return it;
}

/* `doc` written as the cache in a new directory `t`, and read back. */
static void
round_trip(char *t, const struct buf *doc, struct regset *back)
{
	char	 err[512];

	cr_assert_not_null(mkdtemp(t));
	cr_assert_eq(fetcher_cache_write(t, doc, err, sizeof(err)), 0, "%s",
	    err);
	fetcher_regset_init(back);
	cr_assert_eq(fetcher_cache_load(t, back, err, sizeof(err)), 1, "%s",
	    err);
}

/*
 * Two answers of 9 MiB each, each within what an answer may be: the
 * cache of both must still load at the next start.
 */
Test(fetcher_cache, answers_larger_than_the_cache_is_read_at)
{
	char		 t[] = "/tmp/test_fetcher_cache_XXXXXX";
	char		 cmd[700], *big;
	const char	*nss[2] = { "a.loda", "b.loda" };
	struct regset	 rs, back;
	struct reg_ns	*n;
	struct reg_item	*it;
	struct buf	 b;
	size_t		 i, j;
	char		 skip[2];

	cr_assert_not_null(big = malloc(2001));
	memset(big, 'x', 2000);
	big[2000] = '\0';
	fetcher_regset_init(&rs);
	for (j = 0; j < 2; j++) {
		n = fetcher_regset_add_ns(&rs, nss[j], "u");
		cr_assert_not_null(n->items = calloc(4501, sizeof(*n->items)));
		for (i = 0; i < 4500; i++) {
			const char *const log[] = { "measurement_type", "LOG",
			    "comment", big };
			n->items[i] = kvs(2, log);
		}
		{
			const char *const plugin[] = { "_id", "1",
			    "measurement_type", "PLUGIN", "Name", "PLUGIN.p",
			    "comment", big, "git", "git@h:g/p.git",
			    "interval", "60" };
			n->items[4500] = kvs(6, plugin);
		}
		n->nitems = 4501;
		n->answered = 1;
	}
	free(big);

	/* the whole would not be read back */
	buf_init(&b);
	fetcher_cache_encode(&b, &rs);
	cr_assert_gt(b.len, REG_ANSWER_MAX);
	buf_reset(&b);

	cr_assert_eq(fetcher_cache_doc(&b, &rs, skip), 1);
	cr_assert(!skip[0] && !skip[1]);
	cr_assert_leq(b.len, REG_ANSWER_MAX);
	round_trip(t, &b, &back);
	cr_assert_eq(back.n, 2);
	for (j = 0; j < 2; j++) {
		cr_assert_str_eq(back.v[j].ns, nss[j]);
		cr_assert_eq(back.v[j].nitems, 1);
		it = &back.v[j].items[0];
		/* what the items' conversion reads, in any case, and no more */
		cr_assert_eq(it->n, 4);
		cr_assert_str_eq(it->kv[0].key, "measurement_type");
		cr_assert_str_eq(it->kv[1].key, "Name");
		cr_assert_str_eq(it->kv[1].value, "PLUGIN.p");
		cr_assert_str_eq(it->kv[2].key, "git");
		cr_assert_str_eq(it->kv[3].key, "interval");
	}
	fetcher_regset_free(&back);

	/* an answer of the usual size is cached whole */
	fetcher_regset_free(&rs);
	sample(&rs);
	buf_reset(&b);
	cr_assert_eq(fetcher_cache_doc(&b, &rs, skip), 0);
	cr_assert_not_null(strstr(b.p, "\"parameters\""));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t);
	cr_assert_eq(system(cmd), 0);
	buf_free(&b);
	fetcher_regset_free(&rs);
}

/* `count` plugins in `ns`, each with parameters of `size` bytes (keys the
 * agent reads: the lean cache keeps them). */
static void
plugins(struct regset *rs, const char *ns, size_t count, size_t size)
{
	struct reg_ns	*n;
	char		*param, git[64];
	size_t		 i;

	cr_assert_not_null(param = malloc(size + 1));
	memset(param, 'p', size);
	param[size] = '\0';
	cr_assert_not_null(n = fetcher_regset_add_ns(rs, ns, "u"));
	cr_assert_not_null(n->items = calloc(count, sizeof(*n->items)));
	for (i = 0; i < count; i++) {
		snprintf(git, sizeof(git), "git@h:g/p%zu.git", i);
		const char *const kv[] = { "measurement_type", "PLUGIN",
		    "name", "PLUGIN.p", "git", git, "parameters", param };
		n->items[i] = kvs(4, kv);
	}
	n->nitems = count;
	n->answered = 1;
	free(param);
}

/*
 * Even the lean cache over what it is read back at: the items of the
 * largest namespaces are left out, largest first, until it fits, and it
 * is written (an older cache stayed, which brought back at the next
 * start plugins the registry had since taken away).
 */
Test(fetcher_cache, too_large_even_lean_leaves_out_the_largest)
{
	char		 t[] = "/tmp/test_fetcher_cache_XXXXXX";
	char		 cmd[700], skip[3];
	struct regset	 rs, back;
	struct buf	 b;

	fetcher_regset_init(&rs);
	plugins(&rs, "a.loda", 5000, 2000);	/* about 10 MiB */
	plugins(&rs, "b.loda", 4000, 2000);	/* about 8 MiB */
	plugins(&rs, "c.loda", 1, 10);
	fetcher_regset_sort(&rs);
	buf_init(&b);
	cr_assert_eq(fetcher_cache_doc(&b, &rs, skip), 2);
	cr_assert_leq(b.len, REG_ANSWER_MAX);
	cr_assert_eq(skip[0], 1, "a.loda's items kept");
	cr_assert_eq(skip[1] | skip[2], 0);

	round_trip(t, &b, &back);
	/* every namespace still the host's; a.loda with no items */
	cr_assert_eq(back.n, 3);
	cr_assert_str_eq(back.v[0].ns, "a.loda");
	cr_assert_eq(back.v[0].nitems, 0);
	cr_assert_eq(back.v[1].nitems, 4000);
	cr_assert_eq(back.v[2].nitems, 1);
	fetcher_regset_free(&back);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t);
	cr_assert_eq(system(cmd), 0);
	buf_free(&b);
	fetcher_regset_free(&rs);
}
