/*
 * The JSON writer: a thin layer over yajl_gen that appends one document
 * to a struct buf (buf.h).  yajl keeps the structure (commas, colons,
 * nesting, keys before values, its depth limit, indentation); this layer
 * makes its errors sticky, so that a caller writes the whole document and
 * checks once, in jsonw_finish().
 *
 * Strings are escaped by yajl, or, with JSONW_GO, as Go's encoding/json
 * escapes them (encode_json_string: \u003c \u003e \u0026, \u2028 \u2029,
 * invalid UTF-8 as \ufffd), for the bodies that stay byte for byte what
 * the Go agent sent.  Floats are always written in Go's
 * shortest round-trip form (encode_json_float), never with yajl's
 * "%.20g"; NaN and infinities are errors.
 *
 *	struct jsonw	 w;
 *
 *	jsonw_init(&w, &b, JSONW_GO);
 *	jsonw_map_open(&w);
 *	jsonw_key(&w, "ns");
 *	jsonw_string(&w, ns);
 *	jsonw_map_close(&w);
 *	if (jsonw_finish(&w) == -1)
 *		... b is failed (buf_failed), its bytes are not a document
 */
#ifndef AGENT_JSONW_H
#define AGENT_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "buf.h"

#define JSONW_GO	0x01	/* strings escaped as Go escapes them */
#define JSONW_UTF8	0x02	/* yajl's escaping; bad UTF-8 is an error
				 * (without either, bytes go as they are;
				 * with JSONW_GO, they become U+FFFD) */
#define JSONW_PRETTY	0x04	/* yajl's indentation (two spaces), final
				 * newline */

struct jsonw {
	yajl_gen	 g;
	struct buf	*out;
	int		 flags;
	int		 failed;
	int		 depth;		/* containers open */
	int		 values;	/* top-level values written */
};

/* Start a document appended to `out`; a failure here is sticky too. */
void	 jsonw_init(struct jsonw *, struct buf *out, int flags);
/*
 * End it: 0 when one complete document was written without error, else
 * -1, and then `out` is marked failed.  Frees what jsonw_init took.
 */
int	 jsonw_finish(struct jsonw *);
int	 jsonw_failed(const struct jsonw *);

void	 jsonw_map_open(struct jsonw *);
void	 jsonw_map_close(struct jsonw *);
void	 jsonw_array_open(struct jsonw *);
void	 jsonw_array_close(struct jsonw *);

/* A map key; NULL is an error. */
void	 jsonw_key(struct jsonw *, const char *);
/* String values; NULL is an error.  jsonw_stringn takes any bytes. */
void	 jsonw_string(struct jsonw *, const char *);
void	 jsonw_stringn(struct jsonw *, const char *, size_t);
void	 jsonw_int64(struct jsonw *, int64_t);
void	 jsonw_uint64(struct jsonw *, uint64_t);
void	 jsonw_double(struct jsonw *, double);
/* A number already formatted ("%.3f"); checked against JSON's grammar. */
void	 jsonw_number(struct jsonw *, const char *);
void	 jsonw_bool(struct jsonw *, int);
void	 jsonw_null(struct jsonw *);

/*
 * The body of an API error, {"error": msg, "index": n} (n left out when
 * negative), Go's escaping, appended to `out`: 0, or -1 (out of memory).
 */
int	 jsonw_error_body(struct buf *out, const char *msg, long index);

#endif
