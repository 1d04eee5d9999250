/*
 * libFuzzer target for the registry's answers
 * (src/workers/fetcher/fetcher_registry.c): POST /api/v1/agent/ns and
 * GET /api/v1/agent/resource, then the items they give
 * (fetcher_items.c) as the fetcher hands them to the other workers.
 *
 * Input: byte 0 picks the answer (bit 0: ns or resource) and its HTTP
 * status (bits 1-2: 200, 200, 404, 500); the rest is the body.
 *
 * Besides "no crash, no leak, no stack overflow": the contract of the
 * parsers (an error says why; the namespaces are valid, sorted and within
 * the limits), and the items survive their encoding to the other workers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/items.h"
#include "workers/fetcher/fetcher_items.h"
#include "workers/fetcher/fetcher_registry.h"

#include "fuzz_common.h"

static const long codes[] = { 200, 200, 404, 500 };

/* The items of `rs`, encoded, decoded and encoded again: same bytes. */
static void
items_check(struct regset *rs)
{
	struct items	 it, back;
	struct pbuf	 a, b;
	struct preader	 r;
	size_t		 rejected = 0, nns;
	char		 err[256];

	items_init(&it);
	FUZZ_ASSERT(fetcher_regset_to_items(rs, &it, &rejected) == 0,
	    "out of memory");
	codec_put_init(&a);
	items_encode(&a, &it);
	items_init(&back);
	codec_get_init(&r, a.buf, a.len);
	FUZZ_ASSERT(items_decode(&r, &back, err, sizeof(err)) == 0,
	    "the items do not decode: %s", err);
	codec_put_init(&b);
	items_encode(&b, &back);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
	    "the items changed on their way");
	codec_put_free(&b);

	/*
	 * Made to fit half of what they take: either they fit, or every
	 * namespace gave its items up; the namespaces themselves stay.
	 */
	nns = it.namespaces.n;
	FUZZ_ASSERT(fetcher_items_fit(&it, a.len / 2, &rejected) >= 0,
	    "out of memory");
	FUZZ_ASSERT(it.namespaces.n == nns, "namespaces lost");
	codec_put_init(&b);
	items_encode(&b, &it);
	FUZZ_ASSERT(b.len <= a.len / 2 || (it.nplugins == 0 &&
	    it.nports == 0 && it.nprocs == 0), "%zu bytes of items left, "
	    "more than %zu", b.len, a.len / 2);
	codec_put_free(&a);
	codec_put_free(&b);
	items_free(&it);
	items_free(&back);
}

static void
regset_check(const struct regset *rs)
{
	size_t	 i;

	FUZZ_ASSERT(rs->n <= REG_NAMESPACES_MAX, "%zu namespaces", rs->n);
	for (i = 0; i < rs->n; i++) {
		FUZZ_ASSERT(fetcher_regset_ns_name_valid(rs->v[i].ns),
		    "namespace \"%s\"", rs->v[i].ns);
		FUZZ_ASSERT(strlen(rs->v[i].uuid) <= REG_UUID_MAX, "uuid");
		FUZZ_ASSERT(rs->v[i].nitems <= REG_ITEMS_MAX, "items");
		FUZZ_ASSERT(i == 0 || strcmp(rs->v[i - 1].ns, rs->v[i].ns) < 0,
		    "namespaces not sorted or repeated");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct regset	 rs;
	struct reg_ns	*ns;
	const char	*body;
	char		 err[512];
	size_t		 len;
	long		 code;
	int		 rc;

	if (size < 1)
		return 0;
	fuzz_quiet_log();
	code = codes[(data[0] >> 1) & 3];
	body = (const char *)data + 1;
	len = size - 1;
	fetcher_regset_init(&rs);
	err[0] = '\0';
	if ((data[0] & 1) == 0) {
		rc = fetcher_registry_parse_ns(code, body, len, &rs, err,
		    sizeof(err));
	} else {
		ns = fetcher_regset_add_ns(&rs, "pool.loda", "uuid-1");
		FUZZ_ASSERT(ns != NULL, "out of memory");
		rc = fetcher_registry_parse_resource(code, body, len, ns, err,
		    sizeof(err));
		FUZZ_ASSERT(rc == -1 || (ns->answered && ns->nitems > 0),
		    "an answer of no items");
		FUZZ_ASSERT(rc == 0 || ns->nitems == 0, "a failure changed "
		    "the namespace");
	}
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	FUZZ_ASSERT(rc == 0 || code == 200 || err[0] != '\0', "no reason");
	if (rc == -1)
		FUZZ_ASSERT(err[0] != '\0' && memchr(err, '\0', sizeof(err)),
		    "no reason");
	if (rc == 0) {
		FUZZ_ASSERT(code == 200, "HTTP %ld taken", code);
		regset_check(&rs);
		items_check(&rs);
	}
	fetcher_regset_free(&rs);
	return 0;
}
