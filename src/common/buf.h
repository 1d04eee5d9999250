/*
 * A growable byte buffer for building text (encoders, HTTP bodies).
 * Allocation failures are sticky: check buf_failed() once at the end.
 */
#ifndef AGENT_BUF_H
#define AGENT_BUF_H

#include <stddef.h>

struct buf {
	char	*p;		/* NUL-terminated when len > 0 or after use */
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keep memory */
/* buf_add and buf_reserve also answer -1 once the buffer has failed. */
int	 buf_add(struct buf *, const void *, size_t);
/* Room for `more` bytes and the NUL without another allocation. */
int	 buf_reserve(struct buf *, size_t more);
/* The text, "" when nothing was ever added. */
const char	*buf_str(const struct buf *);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_failed(const struct buf *);

#endif
