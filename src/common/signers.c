/*
 * Allowed-signers files: parsing, ssh's pattern lists and timestamps,
 * and the pick of the lines that admit one signer now; see signers.h.
 */
#include "signers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUBPATTERN_MAX	1024	/* ssh gives up on a longer one */

static const char *const key_prefixes[] = {
	"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-sha2-", NULL
};

int
signers_match(const char *s, const char *p)
{
	const char	*star = NULL, *resume = NULL;

	/* one backtrack point is enough for '*': no exponential blow-up */
	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
signers_match_list(const char *str, const char *list)
{
	char		 sub[SUBPATTERN_MAX];
	const char	*p = list, *end;
	size_t		 n;
	int		 negated, positive = 0;

	while (*p != '\0') {
		negated = *p == '!';
		if (negated)
			p++;
		end = strchrnul(p, ',');
		n = (size_t)(end - p);
		if (n >= sizeof(sub))
			return 0;
		memcpy(sub, p, n);
		sub[n] = '\0';
		p = *end == ',' ? end + 1 : end;
		if (!signers_match(str, sub))
			continue;
		if (negated)
			return -1;
		positive = 1;
	}
	return positive;
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
signers_time_parse(const char *s, int64_t *t)
{
	struct tm	 tm;
	time_t		 tt;
	size_t		 n = strlen(s);
	int		 utc = 0, year, mon, day, hour = 0, min = 0, sec = 0;

	if (n > 1 && strcasecmp(s + n - 1, "Z") == 0) {
		utc = 1;
		n -= 1;
	} else if (n > 3 && strcasecmp(s + n - 3, "UTC") == 0) {
		utc = 1;
		n -= 3;
	}
	if ((n != 8 && n != 12 && n != 14) ||
	    digits(s, 4, &year) == -1 || digits(s + 4, 2, &mon) == -1 ||
	    digits(s + 6, 2, &day) == -1 ||
	    (n >= 12 && (digits(s + 8, 2, &hour) == -1 ||
	    digits(s + 10, 2, &min) == -1)) ||
	    (n == 14 && digits(s + 12, 2, &sec) == -1))
		return -1;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hour > 23 || min > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	/* as ssh-keygen: tm_isdst 0, local time unless Z or UTC */
	tt = utc ? timegm(&tm) : mktime(&tm);
	if (tt == (time_t)-1 || tt <= 0)
		return -1;
	*t = (int64_t)tt;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_keytype(const char *p)
{
	size_t	 i;

	for (i = 0; key_prefixes[i] != NULL; i++)
		if (strncmp(p, key_prefixes[i], strlen(key_prefixes[i])) == 0)
			return 1;
	return 0;
}

/* name="value" of one option, in [p, end); *next past it. */
static int
option_value(const char *p, const char *end, const char **val, size_t *vlen,
    const char **next, char *err, size_t errlen, const char *name)
{
	const char	*q;

	if (p >= end || *p != '=' || p + 1 >= end || p[1] != '"') {
		snprintf(err, errlen, "option %s: the value must be in double "
		    "quotes: %s=\"...\"", name, name);
		return -1;
	}
	p += 2;
	if ((q = memchr(p, '"', (size_t)(end - p))) == NULL) {
		snprintf(err, errlen, "option %s: no closing quote", name);
		return -1;
	}
	*val = p;
	*vlen = (size_t)(q - p);
	*next = q + 1;
	return 0;
}

/* The options field [p, end) into `l`. */
static int
parse_options(const char *p, const char *end, struct signers_line *l,
    char *err, size_t errlen)
{
	static const char *const with_value[] = {
		"namespaces", "valid-after", "valid-before", NULL
	};
	const char	*name, *val = NULL;
	char		 ts[32];
	size_t		 nlen, vlen = 0, i;
	int64_t		*bound;

	while (p < end) {
		name = p;
		while (p < end && *p != '=' && *p != ',')
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0) {
			snprintf(err, errlen, "empty option");
			return -1;
		}
		if (nlen == 14 &&
		    strncasecmp(name, "cert-authority", 14) == 0) {
			if (p < end && *p == '=') {
				snprintf(err, errlen, "option cert-authority "
				    "takes no value");
				return -1;
			}
		} else {
			for (i = 0; with_value[i] != NULL; i++)
				if (strlen(with_value[i]) == nlen &&
				    strncasecmp(name, with_value[i], nlen) == 0)
					break;
			if (with_value[i] == NULL) {
				snprintf(err, errlen, "unknown option "
				    "\"%.*s\"", (int)(nlen > 64 ? 64 : nlen),
				    name);
				return -1;
			}
			if (option_value(p, end, &val, &vlen, &p, err, errlen,
			    with_value[i]) == -1)
				return -1;
			if (i > 0) {
				bound = i == 1 ? &l->valid_after :
				    &l->valid_before;
				if (vlen >= sizeof(ts))
					vlen = sizeof(ts) - 1;
				memcpy(ts, val, vlen);
				ts[vlen] = '\0';
				if (signers_time_parse(ts, bound) == -1) {
					snprintf(err, errlen, "option "
					    "%s=\"%s\": not "
					    "YYYYMMDD[HHMM[SS]][Z]",
					    with_value[i], ts);
					return -1;
				}
			}
		}
		if (p < end && *p != ',') {
			snprintf(err, errlen, "options: ',' expected after "
			    "\"%.*s\"", (int)nlen, name);
			return -1;
		}
		if (p < end)
			p++;
	}
	return 0;
}

/* One line (no newline, NUL-terminated copy); 0 skip, 1 a line, -1. */
static int
parse_line(const char *line, struct signers_line *l, char *err,
    size_t errlen)
{
	const char	*p = line, *start, *end;
	int		 quoted = 0;

	while (is_space(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	/* principals, maybe in double quotes */
	if (*p == '"') {
		start = p + 1;
		if ((end = strchr(start, '"')) == NULL) {
			snprintf(err, errlen, "principals: no closing quote");
			return -1;
		}
		p = end + 1;
	} else {
		start = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		end = p;
	}
	if (end == start) {
		snprintf(err, errlen, "empty principals");
		return -1;
	}
	if (*p != '\0' && !is_space(*p)) {
		snprintf(err, errlen, "principals: blank expected after the "
		    "closing quote");
		return -1;
	}
	if ((l->principals = strndup(start, (size_t)(end - start))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (is_space(*p))
		p++;
	if (*p == '\0') {
		snprintf(err, errlen, "no key after the principals");
		return -1;
	}
	if (!is_keytype(p)) {
		/* options: up to the first blank outside double quotes */
		for (start = p; *p != '\0' && (quoted || !is_space(*p)); p++)
			if (*p == '"')
				quoted = !quoted;
		if (quoted) {
			snprintf(err, errlen, "options: no closing quote");
			return -1;
		}
		if (parse_options(start, p, l, err, errlen) == -1)
			return -1;
		while (is_space(*p))
			p++;
		if (!is_keytype(p)) {
			snprintf(err, errlen, "no key type (ssh-ed25519, "
			    "ecdsa-sha2-..., ssh-rsa, sk-...) after the "
			    "options");
			return -1;
		}
	}
	while (*p != '\0' && !is_space(*p))
		p++;
	while (is_space(*p))
		p++;
	start = p;
	p += strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=");
	if (p == start || (*p != '\0' && !is_space(*p))) {
		snprintf(err, errlen, "the key is not base64 after its type");
		return -1;
	}
	if (l->valid_after != 0 && l->valid_before != 0 &&
	    l->valid_after > l->valid_before) {
		snprintf(err, errlen, "valid-after is later than "
		    "valid-before");
		return -1;
	}
	return 1;
}

void
signers_free(struct signers *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].principals);
	free(s->v);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

static int
add_line(struct signers *s, const char *text, size_t len, size_t lineno,
    char *err, size_t errlen)
{
	struct signers_line	 l, *v;
	char			 copy[SIGNERS_LINE_MAX + 1], why[256];
	size_t			 i;
	int			 rv;

	if (len > SIGNERS_LINE_MAX) {
		snprintf(err, errlen, "line %zu: longer than %d bytes",
		    lineno, SIGNERS_LINE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		if (((unsigned char)text[i] < ' ' && text[i] != '\t') ||
		    text[i] == 0x7f) {
			snprintf(err, errlen, "line %zu: control character "
			    "0x%02x", lineno, (unsigned char)text[i]);
			return -1;
		}
	memcpy(copy, text, len);
	copy[len] = '\0';
	memset(&l, 0, sizeof(l));
	if ((rv = parse_line(copy, &l, why, sizeof(why))) <= 0) {
		free(l.principals);
		if (rv == -1)
			snprintf(err, errlen, "line %zu: %s", lineno, why);
		return rv;
	}
	if ((v = reallocarray(s->v, s->n + 1, sizeof(*v))) == NULL) {
		free(l.principals);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->v = v;
	l.lineno = lineno;
	l.text = text;
	l.len = len;
	s->v[s->n++] = l;
	return 1;
}

int
signers_parse(struct signers *s, const char *text, char *err, size_t errlen)
{
	const char	*p, *nl;
	size_t		 lineno = 0, len = strlen(text);

	memset(s, 0, sizeof(*s));
	if (len > SIGNERS_TEXT_MAX) {
		snprintf(err, errlen, "%zu bytes, at most %d", len,
		    SIGNERS_TEXT_MAX);
		return -1;
	}
	if ((s->text = strdup(text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (p = s->text; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		lineno++;
		if (add_line(s, p, (size_t)(nl - p), lineno, err,
		    errlen) == -1) {
			signers_free(s);
			return -1;
		}
	}
	return 0;
}

void
signers_pick(const struct signers *s, const char *identity, time_t now,
    struct buf *out, struct signers_pick *pick)
{
	const struct signers_line	*l;
	size_t				 i;

	memset(pick, 0, sizeof(*pick));
	for (i = 0; i < s->n; i++) {
		l = &s->v[i];
		if (signers_match_list(identity, l->principals) != 1)
			continue;
		pick->admitting++;
		/* ssh-keygen's bounds, both inclusive */
		if ((l->valid_after != 0 && (int64_t)now < l->valid_after) ||
		    (l->valid_before != 0 && (int64_t)now > l->valid_before)) {
			pick->out_of_time++;
			continue;
		}
		pick->picked++;
		buf_add(out, l->text, l->len);
		buf_addc(out, '\n');
	}
}
