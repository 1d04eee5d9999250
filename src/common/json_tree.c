/* JSON into a document tree within limits; see json_tree.h. */
#include "json_tree.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <yajl/yajl_parse.h>

#include "json_surrogate.h"
#include "utf8.h"
#include "util.h"

/*
 * What malloc takes beyond the bytes asked for (glibc: a size word,
 * rounded to 16): counted so that a million tiny values cost what they
 * really cost.
 */
#define ALLOC_OVERHEAD	16
#define NODE_COST	(sizeof(struct yajl_val_s) + ALLOC_OVERHEAD)

/* An open container: its node, the room in its arrays, a pending key. */
struct frame {
	yajl_val	 v;
	size_t		 cap;
	char		*key;
};

struct ctx {
	const struct json_tree_opts	*lim;
	struct frame			*stack;
	int				 depth;
	yajl_val			 root;
	size_t				 mem;
	char				 why[128];
};

static int
charge(struct ctx *c, size_t n)
{
	if (n > c->lim->max_mem - c->mem) {
		snprintf(c->why, sizeof(c->why), "would take more than %zu "
		    "bytes of memory", c->lim->max_mem);
		return -1;
	}
	c->mem += n;
	return 0;
}

static int
nomem(struct ctx *c)
{
	snprintf(c->why, sizeof(c->why), "out of memory");
	return -1;
}

void
json_tree_free(yajl_val v)
{
	size_t	 i;

	if (v == NULL)
		return;
	switch (v->type) {
	case yajl_t_string:
		free(v->u.string);
		break;
	case yajl_t_number:
		free(v->u.number.r);
		break;
	case yajl_t_object:
		for (i = 0; i < v->u.object.len; i++) {
			free((char *)v->u.object.keys[i]);
			json_tree_free(v->u.object.values[i]);
		}
		free(v->u.object.keys);
		free(v->u.object.values);
		break;
	case yajl_t_array:
		for (i = 0; i < v->u.array.len; i++)
			json_tree_free(v->u.array.values[i]);
		free(v->u.array.values);
		break;
	default:
		break;
	}
	free(v);
}

/*
 * Room for one more entry in the innermost open container.  Arrays
 * double, so the count of reallocations stays logarithmic.
 */
static int
grow(struct ctx *c, struct frame *f)
{
	yajl_val	 v = f->v;
	size_t		 ncap, per;
	const char	**keys;
	yajl_val	*vals;

	if ((v->type == yajl_t_object ? v->u.object.len : v->u.array.len) <
	    f->cap)
		return 0;
	ncap = f->cap == 0 ? 4 : f->cap * 2;
	per = sizeof(yajl_val) * (v->type == yajl_t_object ? 2 : 1);
	if (ncap > SIZE_MAX / per || charge(c, (ncap - f->cap) * per) == -1)
		return -1;
	if (v->type == yajl_t_object) {
		keys = reallocarray(v->u.object.keys, ncap, sizeof(*keys));
		if (keys == NULL)
			return nomem(c);
		v->u.object.keys = keys;
		vals = reallocarray(v->u.object.values, ncap, sizeof(*vals));
		if (vals == NULL)
			return nomem(c);
		v->u.object.values = vals;
	} else {
		vals = reallocarray(v->u.array.values, ncap, sizeof(*vals));
		if (vals == NULL)
			return nomem(c);
		v->u.array.values = vals;
	}
	f->cap = ncap;
	return 0;
}

/*
 * Hang `v` where the parse is: the root, the next element of an array,
 * or the value of the pending key.  On failure the caller still owns v.
 */
static int
attach(struct ctx *c, yajl_val v)
{
	struct frame	*f;

	if (c->depth == 0) {
		c->root = v;	/* yajl lets only one value through */
		return 0;
	}
	f = &c->stack[c->depth - 1];
	if (grow(c, f) == -1)
		return -1;
	if (f->v->type == yajl_t_object) {
		/* yajl calls map_key before every value of an object */
		f->v->u.object.keys[f->v->u.object.len] = f->key;
		f->v->u.object.values[f->v->u.object.len++] = v;
		f->key = NULL;
	} else
		f->v->u.array.values[f->v->u.array.len++] = v;
	return 0;
}

static yajl_val
node(struct ctx *c, yajl_type type)
{
	yajl_val	 v;

	if (charge(c, NODE_COST) == -1)
		return NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		nomem(c);
		return NULL;
	}
	v->type = type;
	return v;
}

/* yajl's answer for a scalar: go on when it was attached. */
static int
put(struct ctx *c, yajl_val v)
{
	if (v == NULL)
		return 0;
	if (attach(c, v) == -1) {
		json_tree_free(v);
		return 0;
	}
	return 1;
}

/* A copy of a decoded string or key, or NULL with c->why. */
static char *
text(struct ctx *c, const unsigned char *s, size_t len)
{
	char		*p;

	if (memchr(s, '\0', len) != NULL) {
		snprintf(c->why, sizeof(c->why), "a string holds \\u0000");
		return NULL;
	}
	if (!utf8_valid((const char *)s, len)) {
		snprintf(c->why, sizeof(c->why), "a string is not valid UTF-8 "
		    "once its escapes are decoded (a lone surrogate?)");
		return NULL;
	}
	if (len > SIZE_MAX - 1 - ALLOC_OVERHEAD ||
	    charge(c, len + 1 + ALLOC_OVERHEAD) == -1)
		return NULL;
	if ((p = malloc(len + 1)) == NULL) {
		nomem(c);
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static int
cb_null(void *ctx)
{
	return put(ctx, node(ctx, yajl_t_null));
}

static int
cb_boolean(void *ctx, int b)
{
	return put(ctx, node(ctx, b ? yajl_t_true : yajl_t_false));
}

/* -?[0-9]+, what yajl_tree takes for an integer if it fits. */
static int
integral(const char *s)
{
	if (*s == '-')
		s++;
	return util_all_digits(s, strlen(s));
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	struct ctx	*c = ctx;
	yajl_val	 v;
	char		*end;

	if ((v = node(c, yajl_t_number)) == NULL)
		return 0;
	if ((v->u.number.r = text(c, (const unsigned char *)s, len)) == NULL) {
		json_tree_free(v);
		return 0;
	}
	if (integral(v->u.number.r)) {
		errno = 0;
		v->u.number.i = strtoll(v->u.number.r, &end, 10);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_INT_VALID;
	}
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return put(c, v);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct ctx	*c = ctx;
	yajl_val	 v;

	if ((v = node(c, yajl_t_string)) == NULL)
		return 0;
	if ((v->u.string = text(c, s, len)) == NULL) {
		json_tree_free(v);
		return 0;
	}
	return put(c, v);
}

static int
open_container(struct ctx *c, yajl_type type)
{
	yajl_val	 v;

	if (c->depth >= c->lim->max_depth) {
		snprintf(c->why, sizeof(c->why), "nested more than %d levels "
		    "deep", c->lim->max_depth);
		return 0;
	}
	if ((v = node(c, type)) == NULL)
		return 0;
	if (attach(c, v) == -1) {
		json_tree_free(v);
		return 0;
	}
	c->stack[c->depth].v = v;
	c->stack[c->depth].cap = 0;
	c->stack[c->depth].key = NULL;
	c->depth++;
	return 1;
}

static int
cb_start_map(void *ctx)
{
	return open_container(ctx, yajl_t_object);
}

static int
cb_start_array(void *ctx)
{
	return open_container(ctx, yajl_t_array);
}

static int
cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct ctx	*c = ctx;
	struct frame	*f = &c->stack[c->depth - 1];

	free(f->key);
	return (f->key = text(c, k, len)) != NULL;
}

static int
cb_end(void *ctx)
{
	struct ctx	*c = ctx;

	c->depth--;
	return 1;
}

static const yajl_callbacks tree_callbacks = {
	cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end, cb_start_array, cb_end
};

/* yajl's words for a syntax error, on one line. */
static void
syntax_error(yajl_handle h, const char *text, size_t len, char *out,
    size_t outlen)
{
	unsigned char	*msg;
	size_t		 n;

	msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
	strlcpy(out, msg != NULL ? (const char *)msg : "parse error", outlen);
	if (msg != NULL)
		yajl_free_error(h, msg);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
}

yajl_val
json_tree_parse(const char *text, size_t len,
    const struct json_tree_opts *lim, char *err, size_t errlen)
{
	struct ctx	 c;
	yajl_handle	 h;
	yajl_status	 st;
	const char	*nul;
	char		 what[128];
	size_t		 at;
	int		 i;

	if (len == 0) {
		snprintf(err, errlen, "empty document");
		return NULL;
	}
	if (len > lim->max_len) {
		snprintf(err, errlen, "%zu bytes, more than %zu", len,
		    lim->max_len);
		return NULL;
	}
	if ((nul = memchr(text, '\0', len)) != NULL) {
		snprintf(err, errlen, "invalid JSON at byte %zu: NUL byte",
		    (size_t)(nul - text));
		return NULL;
	}
	if (lim->max_depth < 1) {
		snprintf(err, errlen, "no nesting allowed at all");
		return NULL;
	}
	if ((at = json_lone_surrogate(text, len, lim->comments)) !=
	    JSON_SURROGATE_NONE) {
		snprintf(err, errlen, "invalid JSON at byte %zu: \"%.6s\" is "
		    "half of a surrogate pair, not a character", at, text + at);
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.lim = lim;
	if ((c.stack = calloc((size_t)lim->max_depth, sizeof(*c.stack))) ==
	    NULL || (h = yajl_alloc(&tree_callbacks, NULL, &c)) == NULL) {
		free(c.stack);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (lim->comments && !yajl_config(h, yajl_allow_comments, 1)) {
		yajl_free(h);
		free(c.stack);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* yajl counts the byte it stopped at as consumed */
	if ((at = yajl_get_bytes_consumed(h)) > 0)
		at--;
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at = len;
	}
	if (st == yajl_status_client_canceled)
		snprintf(err, errlen, "invalid JSON at byte %zu: %s", at,
		    c.why);
	else if (st != yajl_status_ok) {
		syntax_error(h, text, len, what, sizeof(what));
		snprintf(err, errlen, "invalid JSON at byte %zu: %s", at, what);
	}
	yajl_free(h);
	for (i = 0; i < c.depth; i++)
		free(c.stack[i].key);
	free(c.stack);
	if (st != yajl_status_ok) {
		json_tree_free(c.root);
		return NULL;
	}
	return c.root;
}
