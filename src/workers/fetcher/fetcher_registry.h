/*
 * The registry's answers as the fetcher keeps them (lodastack-protocols.md
 * section 1): the registry set (fetcher_regset.c) and the parsers that
 * fill it (fetcher_registry.c).  How they become the items the agent runs
 * is fetcher_items.h.
 *
 * A `regset` is what the registry said, in its own shapes: each namespace
 * with its machine uuid and its collect items, every item a flat list of
 * string keys and string values in the order the registry sent them.
 * The fetcher keeps the running regset, writes it to the cache and turns
 * it into `struct items` (items.h) for the scheduler and the collector.
 *
 * Nothing here does I/O: the parsers take the text of an answer.
 */
#ifndef AGENT_FETCHER_REGISTRY_H
#define AGENT_FETCHER_REGISTRY_H

#include <stddef.h>

#include "items.h"

#define REG_ANSWER_MAX		(16 * 1024 * 1024)	/* bytes of JSON */
#define REG_JSON_DEPTH_MAX	32	/* nesting levels of JSON accepted */
#define REG_JSON_MEM_MAX	(64 * 1024 * 1024)	/* bytes its tree may
							 * take (json_tree.h) */
#define REG_UUID_MAX		128	/* bytes of a machine uuid */
#define REG_ITEMS_MAX		10000	/* items of one namespace */
#define REG_NAMESPACES_MAX	256	/* namespaces of one host */
#define REG_KEPT_MAX		(64 * 1024 * 1024)	/* bytes of items of
							 * all namespaces */

struct reg_kv {
	char		*key;
	char		*value;
};

/* One collect item: string keys and values, in the registry's order. */
struct reg_item {
	struct reg_kv	*kv;
	size_t		 n;
};

struct reg_ns {
	char		*ns;
	char		*uuid;		/* machine resource id; may be "" */
	struct reg_item	*items;
	size_t		 nitems;
	int		 answered;	/* items are this refresh's answer */
};

struct regset {
	struct reg_ns	*v;
	size_t		 n;
};

void	 fetcher_regset_init(struct regset *);
/* fetcher_regset_free: and fetcher_regset_init() again */
void	 fetcher_regset_free(struct regset *);
void	 fetcher_regset_item_free(struct reg_item *);
/* fetcher_regset_ns_free_items: and its items empty */
void	 fetcher_regset_ns_free_items(struct reg_ns *);
/* Add a namespace (or set the uuid of one already there); NULL on
 * allocation failure. */
struct reg_ns *fetcher_regset_add_ns(struct regset *, const char *ns,
	    const char *uuid);
struct reg_ns *fetcher_regset_find(const struct regset *, const char *ns);
/* Namespaces in byte order, so every walk over them is deterministic. */
void	 fetcher_regset_sort(struct regset *);
/* Replace dst's items with a copy of src's; 0 or -1 (ENOMEM). */
int	 fetcher_regset_ns_copy_items(struct reg_ns *dst,
    const struct reg_ns *src);
/* Deep copy; 0 or -1 (ENOMEM, dst then empty). */
int	 fetcher_regset_copy(struct regset *dst, const struct regset *src);

/*
 * Namespaces of `next` whose items were not answered take the items they
 * had in `prev` (a namespace new in `next` has none).  Returns how many
 * were taken over, or -1 on allocation failure.
 */
int	 fetcher_regset_keep_unanswered(struct regset *next,
    const struct regset *prev);

/*
 * A namespace name the agent accepts: dot-separated non-empty labels of
 * [-a-z0-9], one path component (items_path_component_valid), at most
 * ITEM_NS_MAX - 1 bytes.
 */
int	 fetcher_regset_ns_name_valid(const char *);

/*
 * The answer to POST /api/v1/agent/ns: HTTP status `code` and the body.
 * Fills `out` (fetcher_regset_init'ed) with the namespaces and uuids of `data`;
 * a namespace with a bad name is logged and left out.  0, or -1 with
 * what was wrong in err (HTTP status and the registry's msg, envelope,
 * JSON error with its byte offset, or the shape, naming the key).
 */
int	 fetcher_registry_parse_ns(long code, const char *body, size_t len,
	    struct regset *out, char *err, size_t errlen);

/*
 * The answer to GET /api/v1/agent/resource for namespace `ns`: its items
 * replace those of `ns` (answered = 1).  An empty list or null is an
 * error, as for the Go agent ("no items under this namespace").  On
 * error `ns` is unchanged.
 */
int	 fetcher_registry_parse_resource(long code, const char *body,
    size_t len,
	    struct reg_ns *ns, char *err, size_t errlen);

/*
 * The file:// registry and the cache (same shape):
 *   {"ns": {"<ns>": "<uuid>", ...},
 *    "resources": {"<ns>": [ {<item>}, ... ], ...}}
 * "resources" and each namespace's list are optional (no items); a
 * namespace whose list is malformed is logged and left unanswered
 * (answered = 0), so the caller can keep what it had.  A document that is
 * not of this shape at all is an error.  `source` names the file in
 * those log lines.
 */
int	 fetcher_registry_parse_file(const char *source, const char *text,
    size_t len,
	    struct regset *out, char *err, size_t errlen);

/* What the items of `ns` take in memory, about (REG_KEPT_MAX). */
size_t	 fetcher_regns_bytes(const struct reg_ns *);

#endif
