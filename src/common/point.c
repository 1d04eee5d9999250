/*
 * The point model and its one validator/normalizer (point.h).  Strings
 * are NUL-terminated copies owned by the point; the normalizer works in
 * place because trimming and squeezing never make a string longer.
 *
 * A point's strings and its tag array are carved from chunks it keeps:
 * a point of a few tags takes one malloc() where it took eight (the
 * name, two strings a tag, the array grown a slot at a time, then the
 * prefixed name, the host tag's key and value), which were half of what
 * parsing a point cost (bench/README.md, bench/parse_bench).  Nothing
 * is freed alone: a string replaced (the name given its prefix, the
 * host filled in) stays in the chunk until point_free().
 */
#include "point.h"
#include "utf8.h"

#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first chunk's room, enough for a usual point whole; a chunk that
 * runs out is followed by one twice its size (up to the most a point
 * can need at once: a tag's two strings), or by one of the size asked. */
#define CHUNK_FIRST	256
#define CHUNK_MAX	4096

struct point_chunk {
	struct point_chunk	*next;
	size_t			 size;		/* of data */
	alignas(max_align_t) char data[];
};

void
point_init(struct point *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = POINT_NONE;
}

void
point_free(struct point *p)
{
	struct point_chunk	*c, *next;

	for (c = p->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	point_init(p);
}

/* n bytes of the point's memory, aligned to `align` (a power of 2). */
static void *
point_mem(struct point *p, size_t n, size_t align)
{
	struct point_chunk	*c;
	size_t			 pad, size;
	char			*at;

	pad = (align - ((uintptr_t)p->mem & (align - 1))) & (align - 1);
	if (p->mem == NULL || pad + n > p->memleft) {
		size = p->chunks == NULL ? CHUNK_FIRST : p->chunks->size * 2;
		if (size > CHUNK_MAX)
			size = CHUNK_MAX;
		if (size < n)
			size = n;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = p->chunks;
		c->size = size;
		p->chunks = c;
		p->mem = c->data;
		p->memleft = size;
		pad = 0;
	}
	at = p->mem + pad;
	p->mem = at + n;
	p->memleft -= pad + n;
	return at;
}

/* The point's own NUL-terminated copy of len bytes of s. */
static char *
point_strn(struct point *p, const char *s, size_t len)
{
	char	*c;

	if ((c = point_mem(p, len + 1, 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(c, s, len);
	c[len] = '\0';
	return c;
}

/*
 * A copy of len bytes.  An embedded NUL is refused: the model holds C
 * strings, and a copy cut short at the NUL could pass validation with
 * less than the producer sent.
 */
static char *
copy(struct point *p, const char *s, size_t len)
{
	if (len > 0 && memchr(s, '\0', len) != NULL)
		return NULL;
	return point_strn(p, s, len);
}

/*
 * Room for one more tag: the array doubles (4 slots first), a new one
 * carved and the old left in the chunk.  At most POINT_TAGS_MAX + 1
 * slots are ever asked for (the host tag on top of a full set).
 */
static int
tag_room(struct point *p)
{
	struct point_tag	*t;
	size_t			 cap;

	if (p->ntags < p->tagcap)
		return 0;
	cap = p->tagcap == 0 ? 4 : p->tagcap * 2;
	if (cap > POINT_TAGS_MAX + 1)
		cap = POINT_TAGS_MAX + 1;
	if (cap <= p->ntags)
		return -1;
	if ((t = point_mem(p, cap * sizeof(*t), alignof(struct point_tag)))
	    == NULL)
		return -1;
	if (p->ntags > 0)
		memcpy(t, p->tags, p->ntags * sizeof(*t));
	p->tags = t;
	p->tagcap = cap;
	return 0;
}

int
point_set_name(struct point *p, const char *s, size_t len)
{
	char	*c;

	if (len > POINT_NAME_MAX)
		return -1;
	if ((c = copy(p, s, len)) == NULL)
		return -1;
	p->name = c;
	return 0;
}

int
point_add_tag(struct point *p, const char *key, size_t klen,
    const char *value, size_t vlen)
{
	char	*k, *v;

	if (klen > POINT_TAG_MAX || vlen > POINT_TAG_MAX ||
	    p->ntags >= POINT_TAGS_MAX)
		return -1;
	if ((k = copy(p, key, klen)) == NULL ||
	    (v = copy(p, value, vlen)) == NULL || tag_room(p) == -1)
		return -1;
	p->tags[p->ntags].key = k;
	p->tags[p->ntags].value = v;
	p->ntags++;
	return 0;
}

void
point_set_int(struct point *p, int64_t v)
{
	p->kind = POINT_INT;
	p->ival = v;
}

void
point_set_float(struct point *p, double v)
{
	p->kind = POINT_FLOAT;
	p->fval = v;
}

void
point_set_bool(struct point *p, int v)
{
	p->kind = POINT_BOOL;
	p->bval = v != 0;
}

/* [-_.a-zA-Z0-9] */
static const unsigned char name_chars[256] = {
	['-'] = 1, ['.'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1,
	['_'] = 1, ['a' ... 'z'] = 1,
};

int
point_name_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!name_chars[(unsigned char)s[i]])
			return 0;
	return 1;
}

/*
 * The last second InfluxDB can store: it keeps int64 nanoseconds, and
 * a later one gets the whole write a 400 (the point dropped after the
 * client had its 200).  INT64_MAX / 1e9, rounded down.
 */
#define SECONDS_MAX	9223372036LL

static int64_t
seconds_kept(int64_t s, int64_t now)
{
	return s <= SECONDS_MAX ? s : now;
}

int64_t
point_seconds(int64_t ts, int64_t now)
{
	if (ts >= 1000000000LL && ts < 10000000000LL)
		return seconds_kept(ts, now);
	if (ts >= 1000000000000LL && ts < 10000000000000LL)
		return seconds_kept(ts / 1000, now);
	if (ts >= 1000000000000000LL && ts < 10000000000000000LL)
		return seconds_kept(ts / 1000000, now);
	if (ts >= 1000000000000000000LL)	/* up to INT64_MAX */
		return ts / 1000000000;
	/* 0, negative, or between the ranges: not a time we can trust. */
	return now;
}


/* Trimmed and squeezed away; the only white space the rules know. */
static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* C0 (but tab), DEL and the C1 range U+0080..U+009F. */
static int
is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
}

const char *
point_show(struct point_shown *sh, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n;
	uint32_t		 cp;
	char			 esc[8], *out = sh->s;

	out[o++] = '"';
	while (i < len && i < POINT_SHOW_MAX) {
		n = utf8_seq(u + i, len - i, &cp);
		if (n > 1 && i + n > POINT_SHOW_MAX)
			break;		/* do not split a character */
		if (n == 0 || is_control(cp) || cp == '\t') {
			if (u[i] == '\t')
				memcpy(esc, "\\t", 3);
			else if (u[i] == '\n')
				memcpy(esc, "\\n", 3);
			else if (u[i] == '\r')
				memcpy(esc, "\\r", 3);
			else
				(void)snprintf(esc, sizeof(esc), "\\x%02x",
				    u[i]);
			memcpy(out + o, esc, strlen(esc));
			o += strlen(esc);
			i++;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\')
			out[o++] = '\\';
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o++] = '"';
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* point_show() of a C string. */
static const char *
shows(struct point_shown *sh, const char *s)
{
	return point_show(sh, s, strlen(s));
}

static int	 fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Always -1, with the message in err when there is room for one. */
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Why s is not acceptable tag text, or NULL when it is. */
static const char *
text_problem(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 len, i, n;
	uint32_t		 cp;

	/* printable ASCII and tabs, the common case: nothing to decode */
	for (i = 0; u[i] != '\0'; i++)
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] >= 0x7f)
			break;
	if (u[i] == '\0')
		return NULL;
	len = i + strlen(s + i);
	for (; i < len; i += n) {
		if ((n = utf8_seq(u + i, len - i, &cp)) == 0)
			return "invalid UTF-8";
		if (is_control(cp))
			return "control character";
	}
	return NULL;
}

static int
is_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_space((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Trim white space and turn each inner run of it into one '-', in place.
 * Only ASCII bytes are touched, so valid UTF-8 stays valid.
 */
static void
squeeze(char *s)
{
	char	*r = s, *w = s;
	int	 gap = 0;

	/* most text has no white space at all */
	for (; *r != '\0'; r++)
		if (is_space((unsigned char)*r))
			break;
	if (*r == '\0')
		return;
	r = s;
	while (is_space((unsigned char)*r))
		r++;
	for (; *r != '\0'; r++) {
		if (is_space((unsigned char)*r)) {
			gap = 1;
			continue;
		}
		if (gap) {
			*w++ = '-';
			gap = 0;
		}
		*w++ = *r;
	}
	*w = '\0';
}

static int
norm_name(struct point *p, const char *prefix, char *err, size_t errlen)
{
	struct point_shown	 sh;
	size_t		 plen, nlen;
	char		*full;

	/*
	 * An empty name is refused before the prefix goes on, so that ""
	 * does not turn into a lone prefix such as "RUN.".
	 */
	if (p->name == NULL || p->name[0] == '\0')
		return fail(err, errlen, "name: empty");
	plen = prefix == NULL ? 0 : strlen(prefix);
	if (plen > 0) {
		nlen = strlen(p->name);
		if ((full = point_mem(p, plen + nlen + 1, 1)) == NULL)
			return fail(err, errlen, "name: out of memory");
		memcpy(full, prefix, plen);
		memcpy(full + plen, p->name, nlen + 1);
		p->name = full;
	}
	nlen = strlen(p->name);
	if (!point_name_valid(p->name, nlen))
		return fail(err, errlen, "name %s: only [-_.a-zA-Z0-9] allowed",
		    shows(&sh, p->name));
	if (nlen > POINT_NAME_MAX)
		return fail(err, errlen, "name %s: longer than %d bytes",
		    shows(&sh, p->name), POINT_NAME_MAX);
	return 0;
}

static int
norm_value(struct point *p, char *err, size_t errlen)
{
	switch (p->kind) {
	case POINT_INT:
		return 0;
	case POINT_BOOL:
		p->bval = p->bval != 0;
		return 0;
	case POINT_FLOAT:
		if (isnan(p->fval))
			return fail(err, errlen, "value: NaN not allowed");
		if (isinf(p->fval))
			return fail(err, errlen,
			    "value: infinity not allowed");
		return 0;
	case POINT_NONE:
		break;
	}
	return fail(err, errlen, "value: missing");
}

static int
tag_cmp(const void *a, const void *b)
{
	const struct point_tag	*x = a, *y = b;

	return strcmp(x->key, y->key);
}

/*
 * The value for a host tag the normalizer supplies: `host` normalized
 * like any tag value, in a new string of the point's in *out (NULL when
 * there is no usable host name).
 */
static int
host_value(struct point *p, const char *host, char **out, char *err,
    size_t errlen)
{
	struct point_shown	 sh;
	const char	*why;
	char		*v;

	*out = NULL;
	if (host == NULL || is_blank(host))
		return 0;
	if ((why = text_problem(host)) != NULL)
		return fail(err, errlen, "tag \"host\": value %s: %s",
		    shows(&sh, host), why);
	if ((v = point_strn(p, host, strlen(host))) == NULL)
		return fail(err, errlen, "tag \"host\": out of memory");
	squeeze(v);
	if (strlen(v) > POINT_TAG_MAX)
		return fail(err, errlen,
		    "tag \"host\": value longer than %d bytes", POINT_TAG_MAX);
	*out = v;
	return 0;
}

static int
norm_tags(struct point *p, const char *host, char *err, size_t errlen)
{
	struct point_shown		 sh, sh2;
	struct point_tag	*t, tmp;
	const char		*why;
	char			*hv;
	size_t			 i, at;
	int			 hi = -1;

	if (p->ntags > POINT_TAGS_MAX)
		return fail(err, errlen, "tags: more than %d", POINT_TAGS_MAX);
	for (i = 0; i < p->ntags; i++) {
		t = &p->tags[i];
		if (strlen(t->key) > POINT_TAG_MAX)
			return fail(err, errlen,
			    "tag key %s: longer than %d bytes",
			    shows(&sh, t->key), POINT_TAG_MAX);
		if ((why = text_problem(t->key)) != NULL)
			return fail(err, errlen, "tag key %s: %s",
			    shows(&sh, t->key), why);
		if (is_blank(t->key))
			return fail(err, errlen, "tag key %s: empty",
			    shows(&sh, t->key));
		squeeze(t->key);
	}
	/*
	 * Go's encoder sorts map keys bytewise; strcmp() does the same.  An
	 * insertion sort: a few tags, often in order already (sdk-go's
	 * come sorted), where qsort() would cost more than the compares.
	 */
	for (i = 1; i < p->ntags; i++) {
		tmp = p->tags[i];
		for (at = i; at > 0 && tag_cmp(&p->tags[at - 1], &tmp) > 0;
		    at--)
			p->tags[at] = p->tags[at - 1];
		p->tags[at] = tmp;
	}
	for (i = 1; i < p->ntags; i++)
		if (strcmp(p->tags[i - 1].key, p->tags[i].key) == 0)
			return fail(err, errlen, "tag %s: duplicate key",
			    shows(&sh, p->tags[i].key));
	for (i = 0; i < p->ntags; i++) {
		t = &p->tags[i];
		if (strcmp(t->key, "host") == 0)
			hi = (int)i;
		if (strlen(t->value) > POINT_TAG_MAX)
			return fail(err, errlen,
			    "tag %s: value longer than %d bytes",
			    shows(&sh, t->key), POINT_TAG_MAX);
		if ((why = text_problem(t->value)) != NULL)
			return fail(err, errlen, "tag %s: value %s: %s",
			    shows(&sh, t->key), shows(&sh2, t->value), why);
		if (is_blank(t->value)) {
			/* An empty host is filled in below. */
			if ((int)i == hi)
				continue;
			return fail(err, errlen, "tag %s: empty value",
			    shows(&sh, t->key));
		}
		squeeze(t->value);
	}
	if (hi >= 0 && !is_blank(p->tags[hi].value))
		return 0;		/* the producer's host is kept */
	if (host_value(p, host, &hv, err, errlen) == -1)
		return -1;
	if (hv == NULL) {
		if (hi >= 0)
			return fail(err, errlen, "tag \"host\": empty value");
		return 0;		/* no host name to add */
	}
	if (hi >= 0) {
		p->tags[hi].value = hv;
		return 0;
	}
	if (p->ntags >= POINT_TAGS_MAX)
		return fail(err, errlen,
		    "tags: %d already, no room for \"host\"", POINT_TAGS_MAX);
	if (tag_room(p) == -1 ||
	    (p->tags[p->ntags].key = point_strn(p, "host", 4)) == NULL)
		return fail(err, errlen, "tags: out of memory");
	t = p->tags;
	t[p->ntags].value = hv;
	/* Move it from the end to its sorted place. */
	for (at = p->ntags; at > 0 && strcmp(t[at - 1].key, "host") > 0; at--) {
		tmp = t[at];
		t[at] = t[at - 1];
		t[at - 1] = tmp;
	}
	p->ntags++;
	return 0;
}

static int
ends_in_backslash(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && s[n - 1] == '\\';
}

int
point_check_line(const struct point *p, char *err, size_t errlen)
{
	struct point_shown	 sh, sh2, sh3;
	size_t		 i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (p->name != NULL && ends_in_backslash(p->name))
		return fail(err, errlen, "name %s ends in a backslash, which "
		    "InfluxDB cannot read in line protocol",
		    shows(&sh, p->name));
	for (i = 0; i < p->ntags; i++) {
		if (ends_in_backslash(p->tags[i].key))
			return fail(err, errlen, "name %s, tag key %s ends in "
			    "a backslash, which InfluxDB cannot read in line "
			    "protocol", shows(&sh, p->name != NULL ? p->name :
			    ""), shows(&sh2, p->tags[i].key));
		if (ends_in_backslash(p->tags[i].value))
			return fail(err, errlen, "name %s, tag %s: value %s "
			    "ends in a backslash, which InfluxDB cannot read "
			    "in line protocol", shows(&sh, p->name != NULL ?
			    p->name : ""), shows(&sh2, p->tags[i].key),
			    shows(&sh3, p->tags[i].value));
	}
	return 0;
}

int
point_normalize(struct point *p, const char *prefix, const char *host,
    int64_t now, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (norm_name(p, prefix, err, errlen) == -1)
		return -1;
	if (norm_value(p, err, errlen) == -1)
		return -1;
	if (norm_tags(p, host, err, errlen) == -1)
		return -1;
	p->timestamp = point_seconds(p->timestamp, now);
	return 0;
}
