/*
 * The collector worker: cpu, memory, disk, network and the PORT and PROC
 * checks, sent once per namespace (issue 5).
 * Until its collectors land it keeps what the fetcher says (namespaces,
 * intervals, PORT and PROC items) and logs changes, so the edge from the
 * fetcher is exercised end to end.
 */
#include <stdlib.h>

#include "codec.h"
#include "items.h"
#include "log.h"
#include "worker.h"

struct collector {
	struct items	 items;
	int		 have_items;
};

static struct collector *
collector_state(struct worker *w)
{
	struct collector	*c;

	if (w->priv != NULL)
		return w->priv;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	items_init(&c->items);
	w->priv = c;
	return c;
}

static int
collector_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct collector	*c = collector_state(w);
	struct preader		 pr;
	struct items		 next;
	char			 why[256];

	if (from != ROLE_FETCHER || in->hdr.type != MSG_ITEMS)
		return -1;
	items_init(&next);
	pr_init(&pr, in->data, in->datalen);
	if (items_decode(&pr, &next, why, sizeof(why)) == -1) {
		/* keep what we have: a bad set must not stop collection */
		log_warnx("%s: ITEMS from the fetcher: %s", __func__, why);
		items_free(&next);
		return 0;
	}
	items_free(&c->items);
	c->items = next;
	c->have_items = 1;
	log_info("collector: %zu namespaces, %zu PORT and %zu PROC items",
	    c->items.namespaces.n, c->items.nports, c->items.nprocs);
	return 0;
}

static void
collector_cleanup(struct worker *w)
{
	struct collector	*c = w->priv;

	if (c == NULL)
		return;
	items_free(&c->items);
	free(c);
	w->priv = NULL;
}

const struct worker_ops collector_ops = {
	.role = ROLE_COLLECTOR,
	.peer_msg = collector_peer_msg,
	.cleanup = collector_cleanup,
};
