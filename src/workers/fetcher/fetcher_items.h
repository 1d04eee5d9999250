/*
 * The registry's items into the items the agent runs
 * (lodastack-protocols.md section 2.2): what fetcher_registry.h parsed,
 * checked type by type, into `struct items` (items.h).
 *
 * Nothing here does I/O: the conversion logs each rejected item (log.h)
 * and counts it.
 */
#ifndef AGENT_FETCHER_ITEMS_H
#define AGENT_FETCHER_ITEMS_H

#include <stddef.h>

#include "fetcher_registry.h"
#include "items.h"

#define REG_PORT_TIMEOUT	3	/* connect_timeout <= 0 or missing */
#define REG_PORT_TIMEOUT_MAX	600	/* seconds */
/* items of a namespace said one by one in the log; the rest counted */
#define FETCHER_ITEMS_SAID	10

enum reg_verdict {
	REG_ITEM_OK = 0,	/* added to the items */
	REG_ITEM_IGNORED,	/* a type the agent does not use */
	REG_ITEM_REJECTED,	/* bad: `why` says what */
	REG_ITEM_NOMEM = -1
};

/*
 * A key the conversion reads (any case; measurement_type exactly): the
 * cache leaves the others out.
 */
int		 fetcher_item_key_used(const char *key);

/* An item's measurement_type (the exact key, the last one), or NULL. */
const char	*fetcher_item_type(const struct reg_item *);

/*
 * One item of namespace `ns` into `out` (lodastack-protocols.md 2.2):
 * PLUGIN, PORT and PROC items are added, a system type sets
 * out->intervals[type] (the last one wins; PORT and PROC items too, a
 * bad interval there logged and taken as not given), anything else is
 * ignored.
 */
enum reg_verdict fetcher_item_apply(const char *ns, const struct reg_item *,
	    struct items *out, char *why, size_t whylen);

/*
 * Every item of every namespace of `rs` (sorted first by the caller) into
 * `out` (items_init'ed), the namespaces too.  Each rejected item is
 * logged with its namespace, its name and why, and counted in
 * *rejected.  0, or -1 on allocation failure.
 */
int	 fetcher_regset_to_items(const struct regset *, struct items *out,
	    size_t *rejected);

/*
 * Make the encoded `it` (items_encode) fit in `max` bytes, the largest
 * message the scheduler and the collector take: while it does not, the
 * namespace whose PLUGIN, PORT and PROC items encode largest loses them
 * all (it stays a namespace of the host), logged.  The count of items
 * dropped is added to *rejected.  Returns how many namespaces lost their
 * items, or -1 on allocation failure.
 */
int	 fetcher_items_fit(struct items *it, size_t max, size_t *rejected);

/* The name of an item for logs: its "name" value or "#<index>". */
const char *fetcher_item_name(const struct reg_item *, size_t index, char *buf,
	    size_t len);

#endif
