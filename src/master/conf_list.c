/*
 * List values as the seed file writes them: [ "a", "b" ].  A file of its
 * own so the one list syntax has one parser, tested alone
 * (tests/unit/test_conf_list.c).
 */
#include "conf_list.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void
skip_blanks(const char **pp)
{
	while (**pp == ' ' || **pp == '\t')
		(*pp)++;
}

/* Append the `len` bytes at `s` as element number `nth`. */
static int
list_add(struct strlist *out, const char *s, size_t len, size_t nth,
    char *why, size_t whylen)
{
	char	 elem[CONF_STR_MAX];

	if (len == 0) {
		snprintf(why, whylen, "element %zu: empty element", nth);
		return -1;
	}
	if (len >= sizeof(elem)) {
		snprintf(why, whylen, "element %zu: longer than %zu bytes",
		    nth, sizeof(elem) - 1);
		return -1;
	}
	memcpy(elem, s, len);
	elem[len] = '\0';
	if (strlist_add(out, elem) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* One quoted element at *pp; the quote character says which kind. */
static int
list_quoted(const char **pp, size_t nth, struct strlist *out, char *why,
    size_t whylen)
{
	const char	*start, *end;

	start = *pp + 1;
	if ((end = strchr(start, **pp)) == NULL) {
		snprintf(why, whylen, "element %zu: unterminated quote", nth);
		return -1;
	}
	if (list_add(out, start, (size_t)(end - start), nth, why,
	    whylen) == -1)
		return -1;
	*pp = end + 1;
	return 0;
}

static int
list_parse(const char *raw, struct strlist *out, char *why, size_t whylen)
{
	const char	*p = raw;
	size_t		 nth = 0, len;

	skip_blanks(&p);
	if (*p == '\0')
		return 0;
	if (*p == '"' || *p == '\'') {
		/* a single element in quotes, as another caller may pass it */
		if (list_quoted(&p, 1, out, why, whylen) == -1)
			return -1;
		skip_blanks(&p);
		if (*p != '\0') {
			snprintf(why, whylen, "text after the value: %s", p);
			return -1;
		}
		return 0;
	}
	if (*p != '[') {
		/* a bare word, the single-element shorthand */
		len = strcspn(p, " \t,[]\"'");
		if (p[len] != '\0' && p[len + strspn(p + len, " \t")] != '\0') {
			snprintf(why, whylen, "a list must be written "
			    "[ \"a\", \"b\" ]");
			return -1;
		}
		return list_add(out, p, len, 1, why, whylen);
	}

	p++;
	for (;;) {
		skip_blanks(&p);
		if (*p == ']')
			break;	/* [] or a trailing comma, as TOML allows */
		nth++;
		if (*p == '\0') {
			snprintf(why, whylen, "missing closing bracket");
			return -1;
		}
		if (*p == ',') {
			snprintf(why, whylen, "element %zu: empty element",
			    nth);
			return -1;
		}
		if (*p != '"' && *p != '\'') {
			snprintf(why, whylen, "element %zu: must be quoted",
			    nth);
			return -1;
		}
		if (list_quoted(&p, nth, out, why, whylen) == -1)
			return -1;
		skip_blanks(&p);
		if (*p == ']')
			break;
		if (*p == '\0') {
			snprintf(why, whylen, "missing closing bracket");
			return -1;
		}
		if (*p != ',') {
			snprintf(why, whylen, "missing comma after element "
			    "%zu", nth);
			return -1;
		}
		p++;
	}
	p++;
	skip_blanks(&p);
	if (*p != '\0') {
		snprintf(why, whylen, "text after the closing bracket: %s", p);
		return -1;
	}
	return 0;
}

int
conf_parse_list(const char *raw, struct strlist *out, char *err,
    size_t errlen)
{
	strlist_init(out);
	if (list_parse(raw, out, err, errlen) == -1) {
		strlist_free(out);
		return -1;
	}
	return 0;
}
