/*
 * A list of strings the list owns (strlist.c).
 */
#ifndef AGENT_STRLIST_H
#define AGENT_STRLIST_H

#include <stddef.h>

struct strlist {
	char		**v;
	size_t		  n;
};

void	 strlist_init(struct strlist *);
int	 strlist_add(struct strlist *, const char *);
void	 strlist_free(struct strlist *);
/* `dst` is overwritten, not freed: it must not own anything yet. */
int	 strlist_copy(struct strlist *dst, const struct strlist *src);
/* Same strings in the same order. */
int	 strlist_equal(const struct strlist *, const struct strlist *);
/* `s` is one of them. */
int	 strlist_has(const struct strlist *, const char *s);

#endif
