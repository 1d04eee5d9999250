/*
 * Producers encode a point once, in the [output] format of the moment
 * (DESIGN.md section 5): points that waited in the buffer or the spool
 * while a reload made the output line protocol (influxdb, or format =
 * line) are lodastack json messages.  They were answered 200, so they
 * are rewritten (sender_convert.c), point by point, into the lines their
 * producer would have encoded, rather than dropped or sent in a format
 * the output or its consumers do not read.
 *
 * The text is the agent's own (encode.c, through a CRC-checked spool),
 * so nothing is guessed: a text that is not such a message is refused
 * whole, a point not of that shape is left out and counted, with the
 * ones line protocol cannot carry.
 */
#include "sender_json_lines.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "json_tree.h"
#include "point.h"

/* The message's own shape: points of four keys, tags, one field. */
#define JSON_DEPTH	4
#define JSON_MEM_PER_BYTE	64	/* tree bytes per byte of text */

static const char *
key_str(yajl_val obj, const char *key)
{
	const char	*path[] = { key, NULL };
	yajl_val	 v = yajl_tree_get(obj, path, yajl_t_string);

	return v != NULL ? YAJL_GET_STRING(v) : NULL;
}

/*
 * A float as the producers take it (points_json.h): strtod's nearest
 * double, subnormals included, for which it says ERANGE (and json_tree
 * does not call them doubles); only beyond the double range is an error.
 */
static const char *
number_from(const char *text, struct point *p)
{
	char	*end;
	double	 d;

	if (text == NULL)
		return "a value that is not a number";
	errno = 0;
	d = strtod(text, &end);
	if (*end != '\0' || !isfinite(d) || (errno != 0 && errno != ERANGE))
		return "a number beyond the range of a double";
	point_set_float(p, d);
	return NULL;
}

/* One json point into `p`; NULL, or what is wrong with it. */
static const char *
point_from(yajl_val o, struct point *p)
{
	const char	*ts_path[] = { "timestamp", NULL };
	const char	*tags_path[] = { "tags", NULL };
	const char	*value_path[] = { "fields", "value", NULL };
	const char	*name, *tv;
	yajl_val	 ts, tags, v;
	size_t		 i;

	if (!YAJL_IS_OBJECT(o))
		return "a point is not an object";
	if ((name = key_str(o, "measurement")) == NULL ||
	    point_set_name(p, name, strlen(name)) == -1)
		return "no measurement";
	if ((ts = yajl_tree_get(o, ts_path, yajl_t_number)) == NULL ||
	    !YAJL_IS_INTEGER(ts))
		return "no timestamp";
	p->timestamp = YAJL_GET_INTEGER(ts);
	if ((tags = yajl_tree_get(o, tags_path, yajl_t_object)) == NULL)
		return "no tags";
	for (i = 0; i < tags->u.object.len; i++) {
		v = tags->u.object.values[i];
		if (!YAJL_IS_STRING(v) || (tv = v->u.string) == NULL ||
		    point_add_tag(p, tags->u.object.keys[i],
		    strlen(tags->u.object.keys[i]), tv, strlen(tv)) == -1)
			return "a tag that is not a string";
	}
	if ((v = yajl_tree_get(o, value_path, yajl_t_any)) == NULL)
		return "no fields.value";
	/* "-0" is how a float -0 was written (points_json.h) */
	if (YAJL_IS_INTEGER(v) && !(YAJL_GET_INTEGER(v) == 0 &&
	    v->u.number.r != NULL && v->u.number.r[0] == '-'))
		point_set_int(p, YAJL_GET_INTEGER(v));
	else if (YAJL_IS_NUMBER(v))
		return number_from(v->u.number.r, p);
	else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		point_set_bool(p, YAJL_IS_TRUE(v));
	else
		return "a value that is not a number or a boolean";
	return NULL;
}

int
sender_json_lines(const char *doc, size_t len, struct buf *out,
    size_t *dropped, char *why, size_t whylen)
{
	const char		*pts_path[] = { "points", NULL };
	struct json_tree_opts	 o;
	struct point		 p;
	const char		*bad;
	yajl_val		 tree, pts;
	size_t			 i;
	char			 err[256];

	*dropped = 0;
	memset(&o, 0, sizeof(o));
	o.max_len = len;
	o.max_depth = JSON_DEPTH;
	o.max_mem = len * JSON_MEM_PER_BYTE + 65536;
	if ((tree = json_tree_parse(doc, len, &o, err, sizeof(err))) == NULL) {
		snprintf(why, whylen, "a json message: %s", err);
		return -1;
	}
	if ((pts = yajl_tree_get(tree, pts_path, yajl_t_array)) == NULL) {
		json_tree_free(tree);
		snprintf(why, whylen, "a json message without points");
		return -1;
	}
	for (i = 0; i < pts->u.array.len; i++) {
		point_init(&p);
		if ((bad = point_from(pts->u.array.values[i], &p)) != NULL) {
			if ((*dropped)++ == 0)
				snprintf(why, whylen, "a json message, point "
				    "%zu: %s", i, bad);
		} else if (point_check_line(&p, err, sizeof(err)) == -1) {
			if ((*dropped)++ == 0)
				snprintf(why, whylen, "%s", err);
		} else {
			encode_point(out, FORMAT_LINE, &p);
			buf_addc(out, '\n');
		}
		point_free(&p);
	}
	json_tree_free(tree);
	return 0;
}
