/*
 * The fetcher's state, shared by fetcher.c (the worker: peers, the
 * running set, status) and fetcher_refresh.c (asking the registry:
 * refresh and report).
 *
 * Message flow:
 *   start          load pluginsdir/.registry.json (the last good answer)
 *                  -> MSG_ITEMS to scheduler and collector, MSG_NAMESPACES
 *                  (reqid 0) to the front; then the first refresh.
 *   refresh        every registryinterval s (+-10 %), at once on
 *                  MSG_REFRESH from the front (answered MSG_NAMESPACES with
 *                  its reqid when the refresh is over) and after a reload
 *                  that changed a registry setting.
 *   a new set      cache rewritten when it differs; MSG_ITEMS only when
 *                  the encoded items differ from what was sent, and
 *                  MSG_NAMESPACES (reqid 0) only when the namespaces did.
 *   a peer (re)appears    it gets the current items / namespaces.
 *   report         http(s) registries only: after the first refresh, then
 *                  after a random 0-10 min, then every 10 min.
 */
#ifndef AGENT_FETCHER_H
#define AGENT_FETCHER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "codec.h"
#include "fetcher_http.h"
#include "fetcher_identity.h"
#include "fetcher_registry.h"
#include "items.h"
#include "workers/worker.h"

#define FETCHER_JITTER		0.1	/* refresh interval +- 10 % */
#define FETCHER_REPORT_EVERY	600.0	/* seconds between reports */
#define FETCHER_WAITERS_MAX	64	/* MSG_REFRESH waiting at once */
#define FETCHER_ERR_MAX		512

enum fetcher_registry_kind {
	REGISTRY_NONE = 0,	/* registryaddr = "" */
	REGISTRY_FILE,		/* file:///path */
	REGISTRY_HTTP		/* http:// or https:// */
};

struct fetcher_stats {
	uint64_t	 refresh_ok;
	uint64_t	 refresh_failed;
	uint64_t	 last_success;	/* unix seconds of the last good one */
	uint64_t	 reports_ok;
	uint64_t	 reports_failed;
	uint64_t	 rejected_items;	/* in the running set */
	uint64_t	 from_cache;	/* running from the cache */
	uint64_t	 items_sent;	/* MSG_ITEMS messages sent */
};

struct refresh;
struct report;

#define FETCHER_ACK_WAIT	5.0	/* seconds /update waits for the
					 * scheduler to apply new items */

struct fetcher {
	struct worker		*w;
	struct fhttp		 http;
	int			 http_up;
	struct curl_dl		 curl;		/* libcurl, loaded at setup */
	char			 sn[IDENT_SN_MAX];

	/* what runs: the registry's set and the items made from it */
	struct regset		 running;
	int			 have_running;	/* else: [agent] namespaces */
	struct items		 items;
	struct pbuf		 items_msg;	/* MSG_ITEMS of `items` */
	struct pbuf		 items_sent;	/* last MSG_ITEMS sent */
	struct strlist		 ns_sent;	/* last MSG_NAMESPACES, reqid 0 */
	int			 ns_sent_once;
	struct buf		 cache_doc;	/* what the cache file holds */

	/* refreshing */
	struct refresh		*rf;		/* NULL: none in flight */
	ev_timer		 refresh_timer;
	uint32_t		 waiters[FETCHER_WAITERS_MAX];
	size_t			 nwaiters;
	/*
	 * /update answers once the scheduler applied what the refresh
	 * changed: the id of the MSG_ITEMS it has not acknowledged yet, and
	 * the answer held until then (or until FETCHER_ACK_WAIT).
	 */
	uint32_t		 items_seq;
	uint32_t		 items_unacked;
	int			 held;
	int			 held_ok;
	char			 held_error[FETCHER_ERR_MAX];
	ev_timer		 ack_timer;
	int			 last_ok;
	char			 last_error[FETCHER_ERR_MAX];

	/* reporting */
	struct report		*rp;		/* NULL: none in flight */
	ev_timer		 report_timer;
	int			 reporting;	/* the report cycle started */

	struct fetcher_stats	 st;
};

enum fetcher_registry_kind fetcher_registry_kind(const char *addr);

/* fetcher.c */
/* Make `next` (sorted) the running set: items, cache, peers.  `next` is
 * taken over (left empty).  0, or -1 on allocation failure (nothing
 * changed). */
int	 fetcher_apply(struct fetcher *, struct regset *next);
/* The running set is [agent] namespaces and nothing else. */
int	 fetcher_apply_conf(struct fetcher *);
void	 fetcher_push_stats(struct fetcher *);
/* The current namespaces (those in the items). */
const struct strlist *fetcher_namespaces(const struct fetcher *);

/* fetcher_refresh.c */
/* Start a refresh unless one is in flight; the end calls
 * fetcher_refresh_done(). */
void	 fetcher_refresh_start(struct fetcher *);
void	 fetcher_refresh_cancel(struct fetcher *);
void	 fetcher_report_start_cycle(struct fetcher *);
void	 fetcher_report_cancel(struct fetcher *);
void	 fetcher_report_timer_cb(struct ev_loop *, ev_timer *, int);

/* fetcher.c: a refresh is over; answers the waiters, re-arms the timer */
void	 fetcher_refresh_done(struct fetcher *, int ok, const char *error);

#endif
