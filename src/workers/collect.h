/*
 * The collector's metric families (issue 5): one file per family
 * (collect_cpu.c, collect_mem.c, ...), each turning plain reads of /proc,
 * /sys and /var/log into points.  The collector worker (collector.c)
 * schedules them by type, normalizes and encodes what they return, and
 * sends it once per namespace.
 *
 * Every path a family reads is under env->root ("" on a real host, a
 * fixture tree in tests), so unit tests compare exact values from
 * captured files.
 */
#ifndef AGENT_COLLECT_H
#define AGENT_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "items.h"
#include "point.h"

/* What a family may look at. */
struct collect_env {
	const char		*root;		/* prefix of every path read */
	int64_t			 now;		/* wall clock, seconds */
	double			 mono;		/* monotonic clock, seconds */
	const struct strlist	*ifaceprefix;	/* [agent] ifaceprefix */
	const struct items	*items;		/* PORT/PROC items, intervals */
	const char		*ntpserver;	/* TIME; "" = off */
	const char		*coredumpdir;	/* COREDUMP */
};

/*
 * Points a family produced; names final, no host tag (added later).
 * ns[i] is where v[i] goes: NULL (the default) sends it once per
 * namespace of the host; PORT and PROC set their item's namespace with
 * pl_set_ns(), and such a point goes to that namespace only.
 */
struct point_list {
	struct point	*v;
	const char	**ns;		/* parallel to v */
	size_t		 n;
	size_t		 cap;
	int		 failed;	/* an append failed: sticky */
};

void	 pl_init(struct point_list *);
void	 pl_free(struct point_list *);		/* and pl_init() again */
/* n = 0, points freed, failed cleared; the arrays are kept. */
void	 pl_reset(struct point_list *);
/*
 * Append a point; tags as NULL-terminated key, value pairs.  Returns the
 * point (to set a timestamp) or NULL with pl->failed set: no memory, or
 * a name or tag over the limits of point.h (a family's bug), or a key
 * without a value.
 */
struct point	*pl_add_int(struct point_list *, const char *name, int64_t,
		    ...) __attribute__((sentinel));
struct point	*pl_add_float(struct point_list *, const char *name, double,
		    ...) __attribute__((sentinel));

/*
 * The namespace of the point added last (NULL: every namespace).  Not
 * copied: it is the item's string (env->items), so the list must be sent
 * before the items change.  No-op on an empty list.
 */
void		 pl_set_ns(struct point_list *, const char *ns);

/* Truncation toward zero to 2 decimals, as the Go agent's SetPrecision. */
double	 trunc2(double);

/*
 * One family.  `state` keeps what rates need between runs (previous
 * counters); a family emits no rate on its first run, never NaN and never
 * a negative rate.  collect() returns 0 (points appended, maybe none) or
 * -1 with err (a family that failed as a whole; the others still run).
 */
struct collect_family {
	const char	*name;		/* "cpu", "mem", ... for logs */
	enum sys_type	 type;		/* whose interval it runs at */
	void		*(*init)(void);
	void		 (*fini)(void *state);
	int		 (*collect)(void *state, const struct collect_env *,
			    struct point_list *out, char *err, size_t errlen);
};

/* In the order they run within one type. */
extern const struct collect_family collect_families[];
extern const size_t collect_family_count;

#endif
