/*
 * The plain case of JSON (json_fast.h).  One pass, no copy: a string is
 * handed to its callback where it lies in the text, as yajl does with a
 * string that has no escapes.  The grammar is RFC 8259's with yajl's
 * defaults (no comments, one value, nothing after it); whatever this
 * reader does not take, it leaves to yajl rather than judge it.
 */
#include "json_fast.h"

#include <string.h>

enum jf_state {
	JF_VALUE,		/* a value must come */
	JF_VALUE_OR_END,	/* just after '[': a value or ']' */
	JF_KEY,			/* after ',' in an object: a key */
	JF_KEY_OR_END,		/* just after '{': a key or '}' */
	JF_AFTER		/* a value ended: ',', the close, or the end */
};

#define JF_NOT_PLAIN	((size_t)-1)

static size_t
jf_blank(const unsigned char *p, size_t i, size_t len)
{
	while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' ||
	    p[i] == '\t'))
		i++;
	return i;
}

/* Bytes a plain string holds: printable ASCII but '"' and '\\'. */
static const unsigned char jf_plain[256] = {
	[' ' ... '!'] = 1,
	['#' ... '['] = 1,
	[']' ... '~'] = 1,
};

/*
 * From the byte after the opening quote: the closing quote's index.
 * Escapes, control bytes, DEL and UTF-8 are yajl's to read.
 */
static size_t
jf_string(const unsigned char *p, size_t i, size_t len)
{
	while (i < len && jf_plain[p[i]])
		i++;
	return i < len && p[i] == '"' ? i : JF_NOT_PLAIN;
}

static size_t
jf_digits(const unsigned char *p, size_t i, size_t len)
{
	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: the index past it. */
static size_t
jf_number(const unsigned char *p, size_t i, size_t len)
{
	size_t	 j;

	if (i < len && p[i] == '-')
		i++;
	if (i == len || p[i] < '0' || p[i] > '9')
		return JF_NOT_PLAIN;
	i = p[i] == '0' ? i + 1 : jf_digits(p, i, len);
	if (i < len && p[i] == '.') {
		if ((j = jf_digits(p, i + 1, len)) == i + 1)
			return JF_NOT_PLAIN;
		i = j;
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < len && (p[i] == '+' || p[i] == '-'))
			i++;
		if ((j = jf_digits(p, i, len)) == i)
			return JF_NOT_PLAIN;
		i = j;
	}
	return i;
}

/* A literal: the index past it, or JF_NOT_PLAIN. */
static size_t
jf_word(const unsigned char *p, size_t i, size_t len, const char *word)
{
	size_t	 n = strlen(word);

	if (len - i < n || memcmp(p + i, word, n) != 0)
		return JF_NOT_PLAIN;
	return i + n;
}

enum json_fast_status
json_fast_parse(const yajl_callbacks *cb, void *ctx, const char *text,
    size_t len)
{
	const unsigned char	*p = (const unsigned char *)text;
	unsigned char		 open[JSON_FAST_DEPTH];	/* '[' or '{' */
	enum jf_state		 st = JF_VALUE;
	size_t			 i = 0, end;
	int			 depth = 0, go;

	for (;;) {
		i = jf_blank(p, i, len);
		if (st == JF_AFTER && depth == 0)
			return i == len ? JSON_FAST_OK : JSON_FAST_NOT_PLAIN;
		if (i == len)
			return JSON_FAST_NOT_PLAIN;	/* cut short */
		go = 1;
		switch (st) {
		case JF_AFTER:
			if (p[i] == ',') {
				st = open[depth - 1] == '[' ? JF_VALUE : JF_KEY;
				i++;
				continue;
			}
			if (p[i] != (open[depth - 1] == '[' ? ']' : '}'))
				return JSON_FAST_NOT_PLAIN;
			depth--;
			if (p[i] == ']')
				go = cb->yajl_end_array == NULL ||
				    cb->yajl_end_array(ctx);
			else
				go = cb->yajl_end_map == NULL ||
				    cb->yajl_end_map(ctx);
			i++;
			break;
		case JF_KEY_OR_END:
			/* an empty object: closed as after a value */
			if (p[i] == '}') {
				st = JF_AFTER;
				continue;
			}
			/* FALLTHROUGH */
		case JF_KEY:
			if (p[i] != '"' ||
			    (end = jf_string(p, i + 1, len)) == JF_NOT_PLAIN)
				return JSON_FAST_NOT_PLAIN;
			if (cb->yajl_map_key != NULL &&
			    !cb->yajl_map_key(ctx, p + i + 1, end - i - 1))
				return JSON_FAST_CANCELED;
			i = jf_blank(p, end + 1, len);
			if (i == len || p[i] != ':')
				return JSON_FAST_NOT_PLAIN;
			i++;
			st = JF_VALUE;
			continue;
		case JF_VALUE_OR_END:
			if (p[i] == ']') {
				st = JF_AFTER;
				continue;
			}
			/* FALLTHROUGH */
		case JF_VALUE:
			st = JF_AFTER;
			switch (p[i]) {
			case '[':
			case '{':
				if (depth == JSON_FAST_DEPTH)
					return JSON_FAST_NOT_PLAIN;
				open[depth++] = p[i];
				if (p[i] == '[') {
					go = cb->yajl_start_array == NULL ||
					    cb->yajl_start_array(ctx);
					st = JF_VALUE_OR_END;
				} else {
					go = cb->yajl_start_map == NULL ||
					    cb->yajl_start_map(ctx);
					st = JF_KEY_OR_END;
				}
				i++;
				break;
			case '"':
				if ((end = jf_string(p, i + 1, len)) ==
				    JF_NOT_PLAIN)
					return JSON_FAST_NOT_PLAIN;
				go = cb->yajl_string == NULL ||
				    cb->yajl_string(ctx, p + i + 1,
				    end - i - 1);
				i = end + 1;
				break;
			case 't':
			case 'f':
				if ((end = jf_word(p, i, len, p[i] == 't' ?
				    "true" : "false")) == JF_NOT_PLAIN)
					return JSON_FAST_NOT_PLAIN;
				go = cb->yajl_boolean == NULL ||
				    cb->yajl_boolean(ctx, p[i] == 't');
				i = end;
				break;
			case 'n':
				if ((end = jf_word(p, i, len, "null")) ==
				    JF_NOT_PLAIN)
					return JSON_FAST_NOT_PLAIN;
				go = cb->yajl_null == NULL || cb->yajl_null(ctx);
				i = end;
				break;
			default:
				/*
				 * yajl ends a number at the first byte that
				 * cannot go on with it, and then must find
				 * one that follows a value: a number that
				 * ends the text is left to it too.
				 */
				if ((end = jf_number(p, i, len)) ==
				    JF_NOT_PLAIN || end == len)
					return JSON_FAST_NOT_PLAIN;
				if (cb->yajl_number != NULL)
					go = cb->yajl_number(ctx, text + i,
					    end - i);
				else if (cb->yajl_integer != NULL ||
				    cb->yajl_double != NULL)
					return JSON_FAST_NOT_PLAIN;
				i = end;
				break;
			}
			break;
		}
		if (!go)
			return JSON_FAST_CANCELED;
	}
}
