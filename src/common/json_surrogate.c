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

/*
 * The escape at text[at] (a backslash): 1 when it is half a surrogate
 * pair, else 0 with *next past it (past the pair, for a pair).
 */
static int
escape_lone(const char *text, size_t len, size_t at, size_t *next)
{
	long	 u, low;

	if (at + 1 >= len) {
		*next = len;
		return 0;
	}
	/* not \u, or a bad one (the parser's to name): one escape */
	if ((u = escape_unit(text + at, len - at)) == -1) {
		*next = at + 2;
		return 0;
	}
	*next = at + 6;
	if (u < 0xd800 || u > 0xdfff)
		return 0;
	if (u >= 0xdc00)
		return 1;	/* no high half before it */
	low = escape_unit(text + at + 6, len - at - 6);
	if (low < 0xdc00 || low > 0xdfff)
		return 1;
	*next = at + 12;
	return 0;
}

/* Without comments a backslash is only ever inside a string. */
static size_t
scan_plain(const char *text, size_t len)
{
	const char	*bs;
	size_t		 at = 0;

	while (at < len && (bs = memchr(text + at, '\\', len - at)) != NULL) {
		if (escape_lone(text, len, (size_t)(bs - text), &at))
			return (size_t)(bs - text);
	}
	return JSON_SURROGATE_NONE;
}

/* With comments: strings, comments and the rest told apart. */
static size_t
scan_commented(const char *text, size_t len)
{
	const char	*end;
	size_t		 i = 0, at;
	int		 in_str = 0;

	while (i < len) {
		if (in_str) {
			if (text[i] == '\\') {
				at = i;
				if (escape_lone(text, len, at, &i))
					return at;
				continue;
			}
			in_str = text[i++] != '"';
			continue;
		}
		if (text[i] == '"') {
			in_str = 1;
			i++;
		} else if (text[i] == '/' && i + 1 < len && text[i + 1] == '*') {
			end = memmem(text + i + 2, len - i - 2, "*/", 2);
			i = end != NULL ? (size_t)(end - text) + 2 : len;
		} else if (text[i] == '/' && i + 1 < len && text[i + 1] == '/') {
			end = memchr(text + i + 2, '\n', len - i - 2);
			i = end != NULL ? (size_t)(end - text) + 1 : len;
		} else
			i++;
	}
	return JSON_SURROGATE_NONE;
}

size_t
json_lone_surrogate(const char *text, size_t len, int comments)
{
	/* most texts have no backslash at all: one memchr and done */
	if (memchr(text, '\\', len) == NULL)
		return JSON_SURROGATE_NONE;
	return comments ? scan_commented(text, len) : scan_plain(text, len);
}
