/*
 * yajl decodes a "\ud800" that no "\udc00".."\udfff" follows into "?",
 * and a lone "\udc00" into bytes that are not UTF-8: the first changes
 * what a client sent without a word.  A JSON text is looked over for
 * such escapes before it is parsed.
 */
#ifndef AGENT_JSON_SURROGATE_H
#define AGENT_JSON_SURROGATE_H

#include <stddef.h>

#define JSON_SURROGATE_NONE	((size_t)-1)

/*
 * The offset of the first "\u" escape of a surrogate that is not half of
 * a pair, or JSON_SURROGATE_NONE.  `comments`: the text may hold C and
 * C++ comments (where a backslash is no escape), as json_tree allows.
 */
size_t	 json_lone_surrogate(const char *text, size_t len, int comments);

#endif
