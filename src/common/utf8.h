/*
 * One UTF-8 sequence at s (len > 0): its length and code point, or 0 for
 * bytes that are not valid UTF-8: overlong forms, surrogates (U+D800 to
 * U+DFFF), code points above U+10FFFF, truncated sequences and stray
 * continuation bytes.  The same rules as Go's utf8 package, so what
 * passes here, Go-based consumers read back unchanged.
 */
#ifndef AGENT_UTF8_H
#define AGENT_UTF8_H

#include <stddef.h>
#include <stdint.h>

size_t	 utf8_seq(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * 1 when all `len` bytes are valid UTF-8 by utf8_seq()'s rules.  (yajl's
 * own check, yajl_gen_validate_utf8, lets overlong forms such as C1 BD
 * and encoded surrogates through: do not rely on it.)
 */
int	 utf8_valid(const char *s, size_t len);

#endif
