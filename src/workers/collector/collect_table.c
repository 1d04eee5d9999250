/* Per-device counter tables of two runs; see collect_table.h. */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "collect_table.h"

#define TABLE_FIRST_CAP	16

void
collect_table_init(struct collect_table *t, size_t rowsize)
{
	memset(t, 0, sizeof(*t));
	t->size = rowsize;
}

void
collect_table_free(struct collect_table *t)
{
	free(t->cur);
	free(t->prev);
	collect_table_init(t, t->size);
}

void
collect_table_begin(struct collect_table *t)
{
	t->ncur = 0;
}

void *
collect_table_add(struct collect_table *t)
{
	char	*v;
	size_t	 cap;

	if (t->ncur == t->capcur) {
		cap = t->capcur == 0 ? TABLE_FIRST_CAP : t->capcur * 2;
		if ((v = reallocarray(t->cur, cap, t->size)) == NULL)
			return NULL;
		t->cur = v;
		t->capcur = cap;
	}
	v = (char *)t->cur + t->ncur++ * t->size;
	memset(v, 0, t->size);
	return v;
}

void *
collect_table_row(const struct collect_table *t, size_t i)
{
	return (char *)t->cur + i * t->size;
}

const void *
collect_table_prev(const struct collect_table *t, const char *name)
{
	const char	*row;
	size_t		 i;

	for (i = 0; i < t->nprev; i++) {
		row = (const char *)t->prev + i * t->size;
		if (strcmp(row, name) == 0)
			return row;
	}
	return NULL;
}

double
collect_table_interval(const struct collect_table *t, double mono)
{
	double	 secs = mono - t->prev_mono;

	/* a clock that did not move (or a test that says so) has no rate */
	return t->have_prev && secs > 0.0 ? secs : 0.0;
}

void
collect_table_keep(struct collect_table *t, double mono)
{
	void	*v = t->prev;
	size_t	 cap = t->capprev;

	t->prev = t->cur;
	t->capprev = t->capcur;
	t->nprev = t->ncur;
	t->cur = v;
	t->capcur = cap;
	t->ncur = 0;
	t->prev_mono = mono;
	t->have_prev = 1;
}

void
collect_table_forget(struct collect_table *t)
{
	t->have_prev = 0;
}
