/* One log line per interval for an event that may come at will. */
#include "warn_limit.h"

int
warn_limit_due(struct warn_limit *wl, double now, uint64_t *n_since)
{
	return warn_limit_due_every(wl, now, WARN_LIMIT_EVERY, n_since);
}

int
warn_limit_due_every(struct warn_limit *wl, double now, double every,
    uint64_t *n_since)
{
	wl->count++;
	wl->total++;
	if (wl->total > 1 && now - wl->last < every)
		return 0;
	*n_since = wl->count;
	wl->count = 0;
	wl->last = now;
	return 1;
}
