/* The registry cache in pluginsdir; see fetcher_cache.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "fetcher_cache.h"
#include "fetcher_file.h"

static void
json_str(struct buf *b, const char *s)
{
	encode_json_string(b, s, strlen(s));
}

void
cache_encode(struct buf *b, const struct regset *rs)
{
	const struct reg_item	*it;
	size_t			 i, j, k;

	buf_adds(b, "{\n  \"ns\": {");
	for (i = 0; i < rs->n; i++) {
		buf_adds(b, i > 0 ? ",\n    " : "\n    ");
		json_str(b, rs->v[i].ns);
		buf_adds(b, ": ");
		json_str(b, rs->v[i].uuid);
	}
	buf_adds(b, rs->n > 0 ? "\n  },\n  \"resources\": {" :
	    "},\n  \"resources\": {");
	for (i = 0; i < rs->n; i++) {
		buf_adds(b, i > 0 ? ",\n    " : "\n    ");
		json_str(b, rs->v[i].ns);
		buf_adds(b, ": [");
		for (j = 0; j < rs->v[i].nitems; j++) {
			it = &rs->v[i].items[j];
			buf_adds(b, j > 0 ? ",\n      {" : "\n      {");
			for (k = 0; k < it->n; k++) {
				if (k > 0)
					buf_adds(b, ", ");
				json_str(b, it->kv[k].key);
				buf_adds(b, ": ");
				json_str(b, it->kv[k].value);
			}
			buf_addc(b, '}');
		}
		buf_adds(b, rs->v[i].nitems > 0 ? "\n    ]" : "]");
	}
	buf_adds(b, rs->n > 0 ? "\n  }\n}\n" : "}\n}\n");
}

int
cache_path(const char *dir, char *path, size_t len, char *err,
    size_t errlen)
{
	if ((size_t)snprintf(path, len, "%s/%s", dir, CACHE_FILE) >= len) {
		snprintf(err, errlen, "%s/%s: path too long", dir, CACHE_FILE);
		return -1;
	}
	return 0;
}

int
cache_write(const char *dir, const struct buf *doc, char *err,
    size_t errlen)
{
	char	 path[PATH_MAX];

	if (buf_failed(doc) || doc->p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cache_path(dir, path, sizeof(path), err, errlen) == -1)
		return -1;
	return file_write_atomic(path, doc->p, doc->len, err, errlen);
}

int
cache_load(const char *dir, struct regset *out, char *err, size_t errlen)
{
	char	 path[PATH_MAX], why[512];
	char	*text;
	size_t	 len;

	if (cache_path(dir, path, sizeof(path), err, errlen) == -1)
		return -1;
	if (file_read_all(path, REG_ANSWER_MAX, &text, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (reg_parse_file(path, text, len, out, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(text);
		return -1;
	}
	free(text);
	return 1;
}
