/*
 * JSON from outside the process (registry answers, the registry file and
 * its cache, nsqd's IDENTIFY answer) into a document tree, within limits.
 *
 * yajl_tree_parse() has none: it accepts any nesting, and yajl_tree_free()
 * recurses once per level, so a few hundred kilobytes of '[' overflow the
 * stack; and a wide document costs some 50 bytes per value, far more than
 * its text.  Here the tree is built from yajl's streaming callbacks, and
 * each callback checks the nesting depth and the memory the tree has
 * taken so far, so the parse stops at the first byte over a limit and the
 * check and the parser can never disagree about what the text is.
 *
 * The tree has yajl_tree.h's types, so YAJL_IS_*() and the u.* fields
 * read it; free it with json_tree_free() only.  What is accepted:
 * - one JSON value, standard syntax, nothing after it; comments, which
 *   are not JSON, only where the caller asks (a file people write):
 *   then the parser that reads them is the one that counts the depth;
 * - no NUL byte in the text, and no "\u0000" in a string or a key: the
 *   tree holds C strings, where a NUL would cut a value short;
 * - strings and keys that are valid UTF-8 once their escapes are decoded
 *   (a lone surrogate such as "\udc00" is refused: yajl would decode it
 *   into bytes that are not UTF-8);
 * - numbers as yajl_tree reads them: u.number.r is the text, YAJL_IS_INTEGER
 *   when it is an integer within long long, YAJL_IS_DOUBLE when strtod
 *   reads it without error.
 */
#ifndef AGENT_JSON_TREE_H
#define AGENT_JSON_TREE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

struct json_tree_opts {
	size_t	 max_len;	/* bytes of text */
	int	 max_depth;	/* containers open at once, >= 1 */
	size_t	 max_mem;	/* bytes the tree may take, allocator
				 * overhead counted */
	int	 comments;	/* 1: accept C and C++ comments */
};

/*
 * Parse `len` bytes of `text` (need not be NUL-terminated).  The tree, or
 * NULL with what was wrong in err: "empty document", "N bytes, more than
 * M", or "invalid JSON at byte N: why" (a syntax error as yajl words it,
 * "nested more than D levels deep", "would take more than M bytes of
 * memory", a NUL byte, a string that is not UTF-8), N being the offset of
 * the byte at fault or of the last byte of the token that was.
 */
yajl_val json_tree_parse(const char *text, size_t len,
	    const struct json_tree_opts *, char *err, size_t errlen);

/* Free a tree of json_tree_parse(); NULL is fine.  Never recurses deeper
 * than the tree, which max_depth bounds. */
void	 json_tree_free(yajl_val);

#endif
