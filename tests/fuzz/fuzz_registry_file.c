/*
 * libFuzzer target for the file:// registry and the registry cache
 * (fetcher_registry_parse_file() and fetcher_cache.c): the same document
 * shape {"ns": {...}, "resources": {...}}.  The input is the document.
 *
 * Besides "no crash, no leak, no stack overflow": what parses is valid
 * (namespaces named, sorted, within the limits), and the cache keeps it
 * exactly: encoded, written, loaded and encoded again, the same bytes.
 * The write and load go through a real file in a directory of our own,
 * as the fetcher does in pluginsdir.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "workers/fetcher/fetcher_cache.h"
#include "workers/fetcher/fetcher_registry.h"

#include "fuzz_common.h"

static char	 dir[PATH_MAX];

static void
cleanup(void)
{
	char	 path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, CACHE_FILE);
	(void)unlink(path);
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz-registry-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct regset	 rs, back;
	struct buf	 a, b;
	char		 err[512];
	size_t		 i;
	int		 rc;

	fuzz_quiet_log();
	fetcher_regset_init(&rs);
	err[0] = '\0';
	rc = fetcher_registry_parse_file("fuzz", (const char *)data, size, &rs,
	    err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	if (rc == -1) {
		FUZZ_ASSERT(err[0] != '\0', "no reason");
		FUZZ_ASSERT(rs.n == 0, "a failure left namespaces");
		return 0;
	}
	FUZZ_ASSERT(rs.n <= REG_NAMESPACES_MAX, "%zu namespaces", rs.n);
	for (i = 0; i < rs.n; i++) {
		FUZZ_ASSERT(fetcher_regset_ns_name_valid(rs.v[i].ns),
		    "namespace \"%s\"", rs.v[i].ns);
		FUZZ_ASSERT(rs.v[i].nitems <= REG_ITEMS_MAX, "items");
		FUZZ_ASSERT(i == 0 || strcmp(rs.v[i - 1].ns, rs.v[i].ns) < 0,
		    "namespaces not sorted or repeated");
		/* the cache only keeps what was answered */
		if (!rs.v[i].answered)
			fetcher_regset_ns_free_items(&rs.v[i]);
	}

	buf_init(&a);
	fetcher_cache_encode(&a, &rs);
	FUZZ_ASSERT(!buf_failed(&a), "cannot encode the cache");
	FUZZ_ASSERT(fetcher_cache_write(dir, &a, err, sizeof(err)) == 0,
	    "cannot write the cache: %s", err);
	fetcher_regset_init(&back);
	FUZZ_ASSERT(fetcher_cache_load(dir, &back, err, sizeof(err)) == 1,
	    "the cache does not load: %s\n%s", err, a.p);
	buf_init(&b);
	fetcher_cache_encode(&b, &back);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "the cache changed on its way:\n%s\n%s", a.p, b.p);
	buf_free(&a);
	buf_free(&b);
	fetcher_regset_free(&back);
	fetcher_regset_free(&rs);
	return 0;
}
