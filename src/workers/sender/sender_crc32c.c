/*
 * CRC32C, table-driven (see sender_crc32c.h).  t[0] is the classic
 * byte-at-a-time table; t[k][b] is the CRC of byte b followed by k zero
 * bytes, so eight table look-ups fold eight bytes at once.
 */
#include <string.h>

#include "sender_crc32c.h"

#define POLY	0x82F63B78U	/* 0x1EDC6F41 reflected */

/*
 * The raw CRC register (no inversions) is linear: after a block B it is
 * shift_B(register before) ^ (what B alone gives from 0).  So three
 * blocks computed side by side from 0 (the first from the register) are
 * joined as shift(shift(a) ^ b) ^ c.
 */
static uint32_t
shift_block(const struct crc32c *t, uint32_t crc)
{
	return t->shift[0][crc & 0xff] ^ t->shift[1][(crc >> 8) & 0xff] ^
	    t->shift[2][(crc >> 16) & 0xff] ^ t->shift[3][crc >> 24];
}

#if defined(__x86_64__)
/* crc32q folds 8 bytes into the CRC (the same polynomial, reflected). */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(const struct crc32c *t, uint32_t crc, const unsigned char *p,
    size_t len)
{
	uint64_t	 c = crc, c1, c2, v, v1, v2;
	size_t		 i;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 3 * CRC32C_BLOCK) {
		c1 = c2 = 0;
		for (i = 0; i < CRC32C_BLOCK; i += 8) {
			memcpy(&v, p + i, 8);
			memcpy(&v1, p + CRC32C_BLOCK + i, 8);
			memcpy(&v2, p + 2 * CRC32C_BLOCK + i, 8);
			c = __builtin_ia32_crc32di(c, v);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c = shift_block(t, shift_block(t, (uint32_t)c) ^
		    (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * CRC32C_BLOCK;
		len -= 3 * CRC32C_BLOCK;
	}
	while (len >= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

void
sender_crc32c_init(struct crc32c *c)
{
	uint32_t	 crc, bit[32];
	unsigned	 b, k, i;

	for (b = 0; b < 256; b++) {
		crc = b;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (POLY & (0U - (crc & 1)));
		c->t[0][b] = crc;
	}
	for (b = 0; b < 256; b++)
		for (k = 1; k < 8; k++)
			c->t[k][b] = (c->t[k - 1][b] >> 8) ^
			    c->t[0][c->t[k - 1][b] & 0xff];
	/* each bit of the register over a block of zeros; the shift of a
	 * byte is the XOR of its bits' (the shift is linear) */
	for (k = 0; k < 32; k++) {
		crc = 1U << k;
		for (i = 0; i < CRC32C_BLOCK; i++)
			crc = (crc >> 8) ^ c->t[0][crc & 0xff];
		bit[k] = crc;
	}
	for (k = 0; k < 4; k++)
		for (b = 0; b < 256; b++) {
			crc = 0;
			for (i = 0; i < 8; i++)
				if (b & (1U << i))
					crc ^= bit[8 * k + i];
			c->shift[k][b] = crc;
		}
#if defined(__x86_64__)
	c->hw = __builtin_cpu_supports("sse4.2");
#else
	c->hw = 0;
#endif
}

uint32_t
sender_crc32c(const struct crc32c *c, uint32_t crc, const void *data,
    size_t len)
{
#if defined(__x86_64__)
	if (c->hw)
		return ~crc_hw(c, ~crc, data, len);
#endif
	return sender_crc32c_sw(c, crc, data, len);
}

uint32_t
sender_crc32c_sw(const struct crc32c *c, uint32_t crc, const void *data,
    size_t len)
{
	const unsigned char	*p = data;
	uint32_t		 lo, hi;

	crc = ~crc;
	/* byte by byte up to an 8-byte boundary, then 8 at a time */
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = (crc >> 8) ^ c->t[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		/* the CPUs we build for are little endian; memcpy keeps it
		 * free of alignment and aliasing questions */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = c->t[7][lo & 0xff] ^ c->t[6][(lo >> 8) & 0xff] ^
		    c->t[5][(lo >> 16) & 0xff] ^ c->t[4][lo >> 24] ^
		    c->t[3][hi & 0xff] ^ c->t[2][(hi >> 8) & 0xff] ^
		    c->t[1][(hi >> 16) & 0xff] ^ c->t[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ c->t[0][(crc ^ *p++) & 0xff];
	return ~crc;
}
