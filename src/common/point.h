/*
 * A data point and the one validator/normalizer every producer uses
 * (DESIGN.md section 5): the front for /post and /write, the scheduler for
 * plugin output, the collector for system metrics.
 */
#ifndef AGENT_POINT_H
#define AGENT_POINT_H

#include <stddef.h>
#include <stdint.h>

#define POINT_NAME_MAX		256	/* bytes, after the prefix */
#define POINT_TAG_MAX		256	/* bytes of a tag key or value */
#define POINT_TAGS_MAX		64	/* tags per point */
#define POINT_SHOW_MAX		64	/* bytes of a value a message shows */

enum point_kind {
	POINT_NONE = 0,		/* no value set yet */
	POINT_INT,		/* JSON integer: no fraction, no exponent */
	POINT_FLOAT,
	POINT_BOOL
};

struct point_tag {
	char	*key;
	char	*value;
};

struct point_chunk;

/*
 * The strings and the tag array are the point's own, carved from chunks
 * of memory it keeps (point.c): never free() one alone, and never set
 * one to memory of the caller's; point_free() frees them all.
 */
struct point {
	char			*name;
	struct point_tag	*tags;
	size_t			 ntags;
	enum point_kind		 kind;
	int64_t			 ival;
	double			 fval;
	int			 bval;
	int64_t			 timestamp;	/* as given; seconds after
						 * point_normalize() */
	size_t			 tagcap;	/* slots in tags */
	struct point_chunk	*chunks;	/* the newest first */
	char			*mem;		/* free in the newest */
	size_t			 memleft;
};

void	 point_init(struct point *);
void	 point_free(struct point *);		/* and point_init() again */
/* Copies; -1 on allocation failure or when over the limits above. */
int	 point_set_name(struct point *, const char *, size_t);
int	 point_add_tag(struct point *, const char *key, size_t klen,
	    const char *value, size_t vlen);
void	 point_set_int(struct point *, int64_t);
void	 point_set_float(struct point *, double);
void	 point_set_bool(struct point *, int);

/*
 * `"value"` for an error message, from `len` bytes of anything: quotes,
 * backslashes and control characters escaped (\t \n \r, else \xHH),
 * bytes that are not valid UTF-8 as \xHH, so that the message is
 * printable, valid UTF-8 and unambiguous; cut after POINT_SHOW_MAX bytes
 * with `...` after the closing quote.  Returns sh->s.
 */
struct point_shown {
	char	 s[4 * POINT_SHOW_MAX + 8];
};
const char *point_show(struct point_shown *sh, const char *s, size_t len);

/* [-_.a-zA-Z0-9]+ */
int	 point_name_valid(const char *, size_t);

/*
 * Seconds from a producer's timestamp: 0 -> now; seconds in
 * [1e9, 1e10) kept; milliseconds [1e12, 1e13), microseconds
 * [1e15, 1e16) and nanoseconds [1e18, INT64_MAX] divided down;
 * anything else (negative, between the ranges) -> now, and so are
 * seconds past 9223372036 (after the division): InfluxDB keeps int64
 * nanoseconds and refuses a later time, after the client's 200.
 */
int64_t	 point_seconds(int64_t ts, int64_t now);

/*
 * Validate and normalize in place, for publishing:
 * - name: `prefix` (may be NULL or "") prepended, then must be non-empty
 *   and [-_.a-zA-Z0-9] only, at most POINT_NAME_MAX bytes;
 * - tags: keys and values trimmed of white space, inner runs of white
 *   space -> "-"; an empty key or value after that, a control character,
 *   invalid UTF-8, or a duplicate key is an error; sorted by key;
 * - `host` tag added with `host` unless present and non-empty;
 * - a value must be set; NaN and infinities are errors;
 * - timestamp through point_seconds().
 * Returns 0, or -1 with a reason in err naming the field, e.g.
 * `name "cpu idle": only [-_.a-zA-Z0-9] allowed` or `tag "dc": empty
 * value`.
 */
int	 point_normalize(struct point *, const char *prefix, const char *host,
	    int64_t now, char *err, size_t errlen);

/*
 * For the line format, after point_normalize(): can InfluxDB 1.x read
 * the point back from line protocol?  Not when a tag key or value ends
 * in a backslash: 1.x takes the '=', ',' or ' ' after it as escaped and
 * refuses the whole line (or, in a request, drops it), and no escaping
 * says "one backslash, then the separator".  The measurement and the
 * field key ("value") cannot hold one ([-_.a-zA-Z0-9]).  Returns 0, or
 * -1 with a reason naming the point and the tag, e.g. `name "RUN.x",
 * tag "path": value "C:\\" ends in a backslash, which InfluxDB cannot
 * read in line protocol` (values shown escaped, as point_normalize()
 * shows them).
 */
int	 point_check_line(const struct point *, char *err, size_t errlen);

#endif
