/*
 * agent test: the system collectors once, for real.  Every type that has
 * a family runs twice a second apart, as the daemon's timers would run
 * it (same families, same sandbox, same normalizing, encoding and
 * routing per namespace): the first run only primes what rates need
 * (cpu, disk, net), so its points are thrown away, and the second one's
 * go to the sender, which is the command that prints them.
 */
#include <string.h>

#include "collector.h"
#include "log.h"

#define ONCE_GAP	1.0	/* seconds between the two runs */

static int
discard(struct collector *c, const struct points_msg *m)
{
	return 0;
}

static void
gap_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static void
run_all(struct collector *c)
{
	int	 t;

	for (t = 0; t < SYS_TYPE_MAX; t++)
		if (collector_type_has_family(c, (enum sys_type)t))
			collector_run(c, (enum sys_type)t);
}

int
collector_once(struct worker *w, struct items *it)
{
	struct collector	*c = w->priv;
	ev_timer		 gap;

	if (c == NULL)
		return -1;
	items_free(&c->items);
	c->items = *it;
	items_init(it);
	c->have_items = 1;
	if (!w->conf.collect) {
		log_info("collector: collect = no: nothing is collected");
		return 0;
	}
	c->send_hook = discard;
	run_all(c);
	c->send_hook = NULL;
	/* the loop, not a sleep: what the edges have to say goes on */
	ev_timer_init(&gap, gap_cb, ONCE_GAP, 0.);
	ev_timer_start(w->loop, &gap);
	ev_run(w->loop, 0);
	ev_timer_stop(w->loop, &gap);
	run_all(c);
	return 0;
}
