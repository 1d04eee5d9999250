/*
 * The last good registry answer on disk, pluginsdir/.registry.json, in
 * the shape of a file:// registry (fetcher_registry.h,
     fetcher_registry_parse_file):
 *
 *   {
 *     "ns": { "pool.loda": "f2f21847-...", ... },
 *     "resources": {
 *       "pool.loda": [
 *         {"_id": "...", "interval": "10", "measurement_type": "CPU", ...},
 *         ...
 *       ]
 *     }
 *   }
 *
 * indented by yajl (jsonw.h, two spaces, one key per line), strings
 * escaped as Go escapes them.
 * Namespaces in byte order, items and their keys in the registry's order.
 * Written atomically (temp file + rename) by the fetcher, loaded at start
 * so the agent runs from it while the registry cannot be reached.
 */
#ifndef AGENT_FETCHER_CACHE_H
#define AGENT_FETCHER_CACHE_H

#include <stddef.h>

#include "buf.h"
#include "fetcher_registry.h"

#define CACHE_FILE	".registry.json"

/* The document for `rs`, appended to `b` (check buf_failed()). */
void	 fetcher_cache_encode(struct buf *b, const struct regset *rs);

/*
 * The document to write for `rs`, into `b` (empty, buf_init'ed): 0 the
 * whole of it; 1 only the items of the types the agent collects, and
 * only their keys it reads, since the whole was larger than the cache is
 * read back at (REG_ANSWER_MAX); 2 even that was larger, and the items of
 * the namespaces marked in `skip` (rs->n bytes) are left out, largest
 * first; 3 even the namespaces alone are larger; -1 out of memory.
 */
int	 fetcher_cache_doc(struct buf *b, const struct regset *rs, char *skip);

/* dir/.registry.json; 0 or -1 with err. */
int	 fetcher_cache_path(const char *dir, char *path, size_t len, char *err,
	    size_t errlen);

/*
 * Write `doc` (fetcher_cache_encode's) to the cache in `dir`.  0, or -1
 * with err.
 */
int	 fetcher_cache_write(const char *dir, const struct buf *doc, char *err,
	    size_t errlen);

/*
 * Load the cache of `dir` into `out` (fetcher_regset_init'ed).  1 loaded, 0 no
 * cache, -1 unreadable or malformed (err says why).
 */
int	 fetcher_cache_load(const char *dir, struct regset *out, char *err,
	    size_t errlen);

#endif
