/*
 * The registry for agent test and agent plugin run: the real fetcher,
 * to which we are the front and the scheduler.  It starts from its
 * last-good cache (pluginsdir/.registry.json) as in the daemon, then asks
 * the registry (HTTP, a file, or [agent] namespaces without one); we
 * ask for a refresh as /update does and wait for its answer, which comes
 * once the items it changed were sent (and acknowledged, as the
 * scheduler does).  The items we hold then are what the daemon would
 * run; a refresh that failed leaves those the fetcher kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "plugin_msg.h"
#include "testmode.h"

#define FETCH_SLACK	30.0	/* seconds beyond the registry's timeouts */
/* registrytimeouts waited for at most: the ns call and resource calls;
 * each is bounded by the fetcher, this only catches a hang */
#define FETCH_CALLS	16

/* On the front's edge: HELLO (ask for a refresh), then the answer. */
static void
front_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct testmode	*tm = arg;
	struct strlist	 ns;
	struct preader	 pr;
	char		 err[256];
	int		 ok;

	if (in->hdr.type == MSG_HELLO) {
		tm->fetcher_up = 1;
		tm->refresh_reqid = 1;
		if (frame_send(fc, MSG_REFRESH, tm->refresh_reqid, NULL, 0,
		    -1) == -1) {
			snprintf(tm->refresh_err, sizeof(tm->refresh_err),
			    "cannot ask the fetcher: %s", strerror(errno));
			tm->refreshed = 1;
		}
		return;
	}
	if (in->hdr.type != MSG_NAMESPACES || in->hdr.reqid == 0 ||
	    in->hdr.reqid != tm->refresh_reqid)
		return;
	strlist_init(&ns);
	codec_get_init(&pr, in->data, in->datalen);
	if (plugin_msg_namespaces_decode(&pr, &ok, tm->refresh_err,
	    sizeof(tm->refresh_err), &ns, err, sizeof(err)) == -1) {
		snprintf(tm->refresh_err, sizeof(tm->refresh_err),
		    "bad answer from the fetcher: %s", err);
		ok = 0;
	}
	strlist_free(&ns);
	tm->refresh_ok = ok;
	tm->refreshed = 1;
}

/* On the scheduler's edge: the items, acknowledged as it would. */
static void
sched_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct testmode	*tm = arg;
	struct preader	 pr;
	struct items	 next;
	char		 err[256];

	if (in->hdr.type != MSG_ITEMS)
		return;
	items_init(&next);
	codec_get_init(&pr, in->data, in->datalen);
	if (items_decode(&pr, &next, err, sizeof(err)) == -1) {
		fprintf(stderr, "agent: bad items from the fetcher: %s\n", err);
		items_free(&next);
		return;
	}
	items_free(&tm->items);
	tm->items = next;
	tm->have_items = 1;
	if (in->hdr.reqid != 0)
		(void)frame_send(fc, MSG_ITEMS_ACK, in->hdr.reqid, NULL, 0,
		    -1);
}

static void
edge_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct testmode	*tm = arg;

	if (fc == tm->as_front)
		tm->as_front = NULL;
	if (fc == tm->as_sched)
		tm->as_sched = NULL;
}

static int
refreshed(struct testmode *tm)
{
	/* a fetcher that died answers nothing more */
	return tm->refreshed || tm->fetcher.reaped;
}

int
testmode_fetch(struct testmode *tm)
{
	static const enum role	 peers[2] = { ROLE_FRONT, ROLE_SCHEDULER };
	int			 front[2], sched[2], fds[2];
	char			 how[96];
	double			 bound;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, front) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sched) == -1) {
		close(front[0]);
		close(front[1]);
		return -1;
	}
	tm->as_front = testmode_edge(tm, front[0], ROLE_FRONT, ROLE_FETCHER,
	    front_msg, edge_close, tm);
	tm->as_sched = testmode_edge(tm, sched[0], ROLE_SCHEDULER,
	    ROLE_FETCHER, sched_msg, edge_close, tm);
	fds[0] = front[1];
	fds[1] = sched[1];
	if (tm->as_front == NULL || tm->as_sched == NULL ||
	    testmode_hello(tm->as_front, ROLE_FRONT) == -1 ||
	    testmode_hello(tm->as_sched, ROLE_SCHEDULER) == -1 ||
	    testmode_spawn(tm, &tm->fetcher, ROLE_FETCHER) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (testmode_setup(tm, &tm->fetcher, peers, fds, 2) == -1)
		return -1;
	bound = (double)tm->conf.registrytimeout * FETCH_CALLS + FETCH_SLACK;
	if (!testmode_wait(tm, refreshed, bound)) {
		fprintf(stderr, "agent: registry: no answer within %.0f s\n",
		    bound);
		tm->refresh_ok = 0;
	} else if (!tm->refreshed) {
		testmode_describe(tm->fetcher.status, how, sizeof(how));
		snprintf(tm->refresh_err, sizeof(tm->refresh_err),
		    "the fetcher %s", how);
	}
	testmode_stop(tm, &tm->fetcher, 10.0);
	if (tm->as_front != NULL)
		frame_conn_close(tm->as_front);
	if (tm->as_sched != NULL)
		frame_conn_close(tm->as_sched);
	tm->as_front = tm->as_sched = NULL;
	return 0;
}
