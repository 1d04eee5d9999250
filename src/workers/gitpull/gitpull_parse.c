/*
 * What gitpull_op.c reads from git's output; see gitpull_parse.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gitpull_parse.h"

int
gitpull_parse_tree_size(const char *out, int64_t *size, const char **bad)
{
	const char	*p = out;
	char		*end;
	unsigned long long v;
	int64_t		 sum = 0;

	while (*p != '\0') {
		if (*p == '-') {
			/* a submodule: none of its files is fetched, but its
			 * empty directory is made */
			end = (char *)p + 1;
			v = 0;
		} else {
			/* strtoull alone would take a sign or blanks */
			if (*p < '0' || *p > '9')
				goto bad;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno != 0)
				v = ULLONG_MAX;
		}
		/* a block at least: a tree of empty directories is not free */
		v = v > ULLONG_MAX - (GITPULL_ENTRY_BYTES - 1) ? ULLONG_MAX :
		    (v + GITPULL_ENTRY_BYTES - 1) / GITPULL_ENTRY_BYTES *
		    GITPULL_ENTRY_BYTES;
		if (v < GITPULL_ENTRY_BYTES)
			v = GITPULL_ENTRY_BYTES;
		if (v > (unsigned long long)INT64_MAX - (unsigned long long)sum)
			sum = INT64_MAX;
		else
			sum += (int64_t)v;
		if (*end != '\n')
			goto bad;
		p = end + 1;
	}
	*size = sum;
	return 0;
 bad:
	*bad = p;
	return -1;
}

int
gitpull_parse_commit(const char *out, char *commit, size_t len)
{
	size_t	 n = strspn(out, "0123456789abcdef");

	if (n != 40 || (out[n] != '\n' && out[n] != '\0') || len <= n)
		return -1;
	memcpy(commit, out, n);
	commit[n] = '\0';
	return 0;
}

int
gitpull_parse_origin_is(const char *out, const char *url)
{
	size_t	 n = strlen(url);

	return strncmp(out, url, n) == 0 && out[n] == '\n' &&
	    out[n + 1] == '\0';
}
