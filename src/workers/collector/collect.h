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
struct collect_pids;

struct collect_env {
	const char		*root;		/* prefix of every path read */
	int64_t			 now;		/* wall clock, seconds */
	double			 mono;		/* monotonic clock, seconds */
	const struct strlist	*ifaceprefix;	/* [agent] ifaceprefix */
	const struct items	*items;		/* PORT/PROC items, intervals */
	const char		*ntpserver;	/* TIME; "" = off */
	const char		*coredumpdir;	/* COREDUMP */
	struct collect_pids	*pids;		/* walks of /proc/<pid> */
};

/*
 * Points a family produced; names final, no host tag (added later).
 * route[i] is the namespace point i goes to: NULL = every namespace of
 * the host (see collect_list_route()).
 */
struct point_list {
	struct point	*v;
	const char	**route;
	size_t		 n;
	size_t		 cap;
	const char	*cur_route;	/* given to the points added next */
	int		 failed;	/* an allocation failed: sticky */
	size_t		 invalid;	/* points refused by a limit: dropped */
};

void	 collect_list_init(struct point_list *);
/* collect_list_free: and collect_list_init() again */
void	 collect_list_free(struct point_list *);
void	 collect_list_reset(struct point_list *);		/* n = 0,
    points freed */
/* Drop the points from index n on (a set a family could not finish). */
void	 collect_list_truncate(struct point_list *, size_t n);
/*
 * Append a point; tags as NULL-terminated key, value pairs.  Returns the
 * point (to set a timestamp) or NULL: with pl->failed set when out of
 * memory, or with pl->invalid counting it when a limit of point.h
 * refused it (a name or tag too long, too many tags); such a point is
 * dropped alone and the next ones are still added.
 */
struct point	*collect_list_add_int(struct point_list *, const char *name,
    int64_t,
		    ...) __attribute__((sentinel));
struct point	*collect_list_add_float(struct point_list *, const char *name,
    double,
		    ...) __attribute__((sentinel));
/*
 * PORT and PROC: the points added from now on go to namespace `ns` only
 * (an item's ns; the string must live until the run ends, as the items
 * do); NULL = back to every namespace.  A PORT or PROC point added
 * without a route goes to the namespace of every item of its type whose
 * name is the point's name (PORT) or its prefix up to a '.' (PROC), once
 * per namespace.
 */
void	 collect_list_route(struct point_list *, const char *ns);

/* Truncation toward zero to 2 decimals, as the Go agent's SetPrecision. */
double	 collect_trunc2(double);

/*
 * One family.  `state` keeps what rates need between runs (previous
 * counters); a family emits no rate on its first run, never NaN and never
 * a negative rate.  collect() returns 0 (points appended, maybe none) or
 * -1 with err naming what failed: logged (rate-limited) and counted; the
 * points it did append are still sent (a family with several sources
 * appends what it could read; collect_list_truncate() drops a half-made set),
     and
 * the other families still run.  init may be NULL (no state); an init
 * that returns NULL is out of memory and the family is left out.
 */
struct collect_family {
	const char	*name;		/* "cpu", "mem", ... for logs */
	enum sys_type	 type;		/* whose interval it runs at */
	void		*(*init)(void);
	void		 (*fini)(void *state);
	int		 (*collect)(void *state, const struct collect_env *,
			    struct point_list *out, char *err, size_t errlen);
};

/*
 * The convention: family <name> lives in collect_<name>.c, which defines
 * `const struct collect_family collect_<name>_family`;
 * collect_families.c lists them all, in the order they run within one
 * type.
 */
extern const struct collect_family collect_cpu_family;
extern const struct collect_family collect_mem_family;
extern const struct collect_family collect_disk_family;
extern const struct collect_family collect_net_family;
extern const struct collect_family collect_fs_family;
extern const struct collect_family collect_kernel_family;
extern const struct collect_family collect_time_family;
extern const struct collect_family collect_coredump_family;
extern const struct collect_family collect_port_family;
extern const struct collect_family collect_proc_family;

extern const struct collect_family *const collect_families[];
extern const size_t collect_family_count;

#endif
