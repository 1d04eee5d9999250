/*
 * A family's table of per-device counters (disks, interfaces) and the
 * one of the previous run, which rates are taken against.  Rows are of
 * one size and begin with the device's name, a NUL-terminated char
 * array as the first member, which is what rows are matched by across
 * runs.  The two arrays are swapped at the end of a run, not copied, so
 * a steady round does not allocate.
 */
#ifndef AGENT_COLLECT_TABLE_H
#define AGENT_COLLECT_TABLE_H

#include <stddef.h>

struct collect_table {
	void	*cur, *prev;
	size_t	 ncur, nprev;
	size_t	 capcur, capprev;
	size_t	 size;		/* of a row */
	double	 prev_mono;	/* when the previous run read */
	int	 have_prev;
};

void	 collect_table_init(struct collect_table *, size_t rowsize);
void	 collect_table_free(struct collect_table *);
/* A new run: the current table empty (its memory kept). */
void	 collect_table_begin(struct collect_table *);
/* A new zeroed row at the end of the current table; NULL: no memory. */
void	*collect_table_add(struct collect_table *);
/* Row i of the current table. */
void	*collect_table_row(const struct collect_table *, size_t i);
/* The previous run's row of that name; NULL when it had none. */
const void *collect_table_prev(const struct collect_table *,
	    const char *name);
/*
 * Seconds since the previous run, to take rates over; 0 when there is
 * no previous run or the clock did not move (no rate then).
 */
double	 collect_table_interval(const struct collect_table *,
	    double mono);
/* This run becomes the previous one, read at `mono`. */
void	 collect_table_keep(struct collect_table *, double mono);
/* This run failed: the next one has nothing to compare with. */
void	 collect_table_forget(struct collect_table *);

#endif
