/*
 * An allowed-signers file, as ssh-keygen(1) reads it (ALLOWED SIGNERS):
 *
 *   principals [options] keytype base64-key [comment]
 *
 * principals: comma-separated patterns (`*`, `?`, a leading `!` negates),
 * optionally in double quotes; options: comma-separated, cert-authority,
 * namespaces="...", valid-after="...", valid-before="..." (timestamps
 * YYYYMMDD[HHMM[SS]], local time unless suffixed Z or UTC).
 *
 * The master parses the file to refuse a bad one at start and reload;
 * gitpull parses the copy it gets, and hands git, for each signature,
 * only the lines that admit the signer's e-mail now (signers_pick):
 * git itself finds the principal by the key alone and checks the
 * validity window at the commit's own date, which whoever signs writes.
 */
#ifndef AGENT_SIGNERS_H
#define AGENT_SIGNERS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define SIGNERS_TEXT_MAX	(256 * 1024)	/* bytes of a file */
#define SIGNERS_LINE_MAX	8192		/* bytes of one line */

struct signers_line {
	size_t		 lineno;	/* 1-based, in the file */
	const char	*text;		/* the line as written (not ended) */
	size_t		 len;
	char		*principals;	/* the patterns, quotes removed */
	int64_t		 valid_after;	/* unix seconds, 0 = no bound */
	int64_t		 valid_before;	/* unix seconds, 0 = no bound */
};

struct signers {
	char			*text;		/* our copy of the file */
	struct signers_line	*v;
	size_t			 n;
};

/*
 * Parse `text` (NUL-terminated).  0, or -1 with "line N: what is wrong"
 * in err; `s` then holds nothing to free.
 */
int	 signers_parse(struct signers *s, const char *text, char *err,
	    size_t errlen);
void	 signers_free(struct signers *s);

/*
 * ssh's pattern lists: 1 when `str` matches a pattern of the comma-
 * separated `list` and no negated one, -1 when a negated one matches,
 * 0 when none does.  Case matters.
 */
int	 signers_match_list(const char *str, const char *list);
/* `str` against one pattern of `*` and `?`: 1 or 0. */
int	 signers_match(const char *str, const char *pattern);

/* An ssh-keygen timestamp into unix seconds; 0, or -1 when malformed. */
int	 signers_time_parse(const char *s, int64_t *t);

/* What signers_pick found. */
struct signers_pick {
	size_t		 admitting;	/* lines whose principals admit the
					 * identity */
	size_t		 out_of_time;	/* ... of them not valid now */
	size_t		 picked;	/* ... written to the buffer */
};

/*
 * Append to `out`, one per line, the lines that admit `identity` and
 * are valid at `now`.
 */
void	 signers_pick(const struct signers *s, const char *identity,
	    time_t now, struct buf *out, struct signers_pick *pick);

#endif
