/*
 * What gitpull_op.c reads from git's standard output: the size of a
 * tree (ls-tree), a commit id (rev-parse) and the checkout's origin
 * (config).  The repository, and the server it came from, may be
 * hostile: these take any text and only ever answer, never quote it;
 * the caller makes what it quotes printable.  No struct gitop here, so
 * that the unit tests and tests/fuzz/fuzz_gitout.c call them directly.
 */
#ifndef AGENT_GITPULL_PARSE_H
#define AGENT_GITPULL_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * `git ls-tree -r -t --format=%(objectsize)`: a number per file and per
 * directory, "-" for a submodule (none of its files is fetched), each
 * line ending in '\n'.  What the checkout takes on disk: each size
 * rounded up to GITPULL_ENTRY_BYTES, and that much at least (a
 * directory, an empty file: git stores a tree of a thousand empty
 * directories in a few bytes).  0 with the sum in *size (INT64_MAX when
 * it does not fit), or -1 with *bad at the start of the first line that
 * is neither.
 */
#define GITPULL_ENTRY_BYTES	4096ULL	/* a file system's block */

int	 gitpull_parse_tree_size(const char *out, int64_t *size,
	    const char **bad);

/*
 * `git rev-parse`: 40 lowercase hex digits, then '\n' or the end.  0 with
 * them in `commit` (NUL-terminated; len > 40), or -1.
 */
int	 gitpull_parse_commit(const char *out, char *commit, size_t len);

/* `git config --get`: `out` is exactly `url` and a newline. */
int	 gitpull_parse_origin_is(const char *out, const char *url);

#endif
