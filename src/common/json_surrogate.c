/* Lone surrogate escapes in a JSON text; see json_surrogate.h. */
#include "json_surrogate.h"

#include <string.h>

/* The code unit of "\uXXXX" at s (6 bytes there), or -1. */
static long
escape_unit(const char *s, size_t left)
{
	long	 v = 0;
	int	 i, d;

	if (left < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

size_t
json_lone_surrogate(const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *bs;
	long		 u, next;

	/* most texts have no backslash: one memchr and done */
	while ((bs = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (bs + 1 >= end)
			break;
		if (bs[1] != 'u') {
			p = bs + 2;	/* "\\", "\"", "\n": one escape */
			continue;
		}
		/* a bad escape is the parser's to name */
		if ((u = escape_unit(bs, (size_t)(end - bs))) == -1) {
			p = bs + 2;
			continue;
		}
		p = bs + 6;
		if (u < 0xd800 || u > 0xdfff)
			continue;
		if (u >= 0xdc00)
			return (size_t)(bs - text);	/* no high half first */
		next = escape_unit(p, (size_t)(end - p));
		if (next < 0xdc00 || next > 0xdfff)
			return (size_t)(bs - text);
		p += 6;
	}
	return JSON_SURROGATE_NONE;
}
