/* A budget for a worker role's log lines: lograte.h. */
#include "lograte.h"
#include "warn_limit.h"

static void
top_up(struct lograte *lr, double now)
{
	double	 dt;

	if (!lr->started) {
		lr->started = 1;
		lr->lines = LOGRATE_LINES_BURST;
		lr->bytes = LOGRATE_BYTES_BURST;
		lr->at = now;
		return;
	}
	dt = now - lr->at;
	lr->at = now;
	if (dt <= 0)
		return;		/* the clock went back: no refill */
	lr->lines += dt * LOGRATE_LINES;
	if (lr->lines > LOGRATE_LINES_BURST)
		lr->lines = LOGRATE_LINES_BURST;
	lr->bytes += dt * LOGRATE_BYTES;
	if (lr->bytes > LOGRATE_BYTES_BURST)
		lr->bytes = LOGRATE_BYTES_BURST;
}

int
lograte_take(struct lograte *lr, double now, size_t len)
{
	double	 cost = (double)len + LOGRATE_LINE_COST;

	top_up(lr, now);
	if (lr->lines >= 1 && lr->bytes >= cost) {
		lr->lines -= 1;
		lr->bytes -= cost;
		return 1;
	}
	if (lr->dropped == 0)
		lr->dropped_since = now;
	lr->dropped++;
	lr->dropped_bytes += len;
	lr->total++;
	return 0;
}

int
lograte_summary_due(struct lograte *lr, double now, uint64_t *lines,
    uint64_t *bytes, double *secs)
{
	if (lr->dropped == 0)
		return 0;
	if (lr->said && now - lr->said_at < WARN_LIMIT_EVERY)
		return 0;
	*lines = lr->dropped;
	*bytes = lr->dropped_bytes;
	*secs = now - lr->dropped_since;
	lr->dropped = 0;
	lr->dropped_bytes = 0;
	lr->said = 1;
	lr->said_at = now;
	return 1;
}
