/*
 * CRC32C (Castagnoli, the polynomial 0x1EDC6F41, reflected 0x82F63B78),
 * as iSCSI, ext4 and LevelDB use it: the check on every record of the
 * spool.  Table-driven, eight bytes per step ("slicing-by-8"); the
 * tables live in the caller's state, filled once by
 * sender_crc32c_init().  On x86-64 CPUs with SSE4.2 the crc32
 * instruction computes the same CRC eight bytes at a time, on three
 * streams at once (the instruction's latency is three of its issue
 * rate), the three joined by the shift tables; the byte tables stay the
 * reference the unit tests hold it to.
 */
#ifndef AGENT_SENDER_CRC32C_H
#define AGENT_SENDER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#define CRC32C_BLOCK	4096	/* bytes of each of 3 streams at once */

struct crc32c {
	uint32_t	 t[8][256];
	/* the CRC register moved over CRC32C_BLOCK zero bytes, by byte */
	uint32_t	 shift[4][256];
	int		 hw;		/* use the crc32 instruction */
};

void	 sender_crc32c_init(struct crc32c *);
/*
 * Continue a CRC over `len` more bytes: start with crc = 0; the result
 * of one call is the `crc` of the next for data given in pieces.
 */
uint32_t sender_crc32c(const struct crc32c *, uint32_t crc, const void *,
	    size_t len);
/* The same by the tables alone, whatever the CPU (the tests' reference). */
uint32_t sender_crc32c_sw(const struct crc32c *, uint32_t crc, const void *,
	    size_t len);

#endif
