/*
 * The plain case of JSON, read without yajl but through yajl's callbacks:
 * a document whose strings are printable ASCII without escapes, whose
 * white space is blanks, tabs and line ends, and which is nested at most
 * JSON_FAST_DEPTH deep.  That is what plugins and clients send nearly
 * always, and yajl's byte-at-a-time lexer was the largest single cost of
 * reading it (bench/README.md, "A plain JSON reader before yajl").
 *
 * For such a document the callbacks see exactly what yajl would make
 * them see, in the same order, and a callback that returns 0 stops both
 * at the same place: the caller can take the outcome as yajl's.  For
 * anything else (an escape, a byte outside printable ASCII, a grammar
 * error, a document cut short) it gives up and says so, maybe after some
 * callbacks: the caller undoes what they did and gives the whole text to
 * yajl, which reads it and says precisely what is wrong.
 *
 * Numbers go to yajl_number as they are written; with only
 * yajl_integer or yajl_double set, a number is left to yajl.
 */
#ifndef AGENT_JSON_FAST_H
#define AGENT_JSON_FAST_H

#include <stddef.h>

#include <yajl/yajl_parse.h>

#define JSON_FAST_DEPTH	32	/* deeper: yajl's */

enum json_fast_status {
	JSON_FAST_OK = 0,	/* read whole, as yajl_status_ok */
	JSON_FAST_CANCELED,	/* a callback said 0 */
	JSON_FAST_NOT_PLAIN	/* undo the callbacks, ask yajl */
};

enum json_fast_status json_fast_parse(const yajl_callbacks *, void *ctx,
	    const char *text, size_t len);

#endif
