/*
 * The one payload encoder/decoder of every message type: a stream of
 * typed fields.  Each field starts with a one-byte tag naming its type,
 * so a reader that expects another type fails with a message saying so
 * instead of misreading bytes.
 *
 *   u32   tag 'I', 4 bytes        u64  tag 'L', 8 bytes
 *   i64   tag 'J', 8 bytes        dbl  tag 'D', 8 bytes (IEEE 754)
 *   bool  tag 'B', 1 byte (0|1)
 *   str   tag 'S', u32 length, bytes (no NUL inside, none stored)
 *   bytes tag 'Y', u32 length, bytes
 *
 * Integers are in host byte order: the edges are local.
 *
 * Writer errors (allocation) and reader errors (short payload, wrong tag,
 * length past the end, NUL in a string, bool not 0/1, bytes left over at
 * codec_get_end) are sticky: check once at the end.  The first error is kept in
 * r->err, naming the field index and what was wrong.
 */
#ifndef AGENT_CODEC_H
#define AGENT_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct pbuf {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};

void	 codec_put_init(struct pbuf *);
void	 codec_put_free(struct pbuf *);
void	 codec_put_reset(struct pbuf *);	/* len = 0, keep memory */
void	 codec_put_u32(struct pbuf *, uint32_t);
void	 codec_put_u64(struct pbuf *, uint64_t);
void	 codec_put_i64(struct pbuf *, int64_t);
void	 codec_put_dbl(struct pbuf *, double);
void	 codec_put_bool(struct pbuf *, int);
void	 codec_put_str(struct pbuf *, const char *);	/* NULL encodes as "" */
void	 codec_put_bytes(struct pbuf *, const void *, size_t);
/*
 * The start of a byte string of n bytes that are not in the buffer: it
 * must be the last field, and the n bytes must follow the buffer on the
 * wire (frame_send2()).  Saves copying a large one into the buffer.
 */
void	 codec_put_bytes_head(struct pbuf *, size_t n);
int	 codec_put_failed(const struct pbuf *);

struct preader {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	unsigned	 field;		/* index of the next field */
	int		 failed;
	char		 err[160];
};

void		 codec_get_init(struct preader *, const void *, size_t);
uint32_t	 codec_get_u32(struct preader *);
uint64_t	 codec_get_u64(struct preader *);
int64_t		 codec_get_i64(struct preader *);
double		 codec_get_dbl(struct preader *);
int		 codec_get_bool(struct preader *);
/* A NUL-terminated copy the caller frees; NULL (and failed) on error. */
char		*codec_get_str(struct preader *);
/* Copy into buf; a string that does not fit is an error, not a cut. */
int		 codec_get_strbuf(struct preader *, char *buf, size_t size);
/* Points into the payload; valid as long as it is. */
const void	*codec_get_bytes(struct preader *, size_t *len);
/* Next field's tag, or 0 at the end (does not consume). */
int		 codec_get_peek(const struct preader *);
int		 codec_get_at_end(const struct preader *);
/* 0 when no error happened and every byte was consumed. */
int		 codec_get_end(struct preader *);

#endif
