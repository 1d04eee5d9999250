/*
 * Plugin output into points, and the plugin.result point of each run.
 */
#include "scheduler_output.h"

#include <stdio.h>
#include <string.h>

#include "point.h"

void
plugin_target(const char *ns, const char *name, const char *project,
    struct plugin_target *t)
{
	const char	*dot;

	memset(t, 0, sizeof(*t));
	if (strncmp(project, "SEC-", 4) != 0 && strcmp(project, "SEC") != 0) {
		snprintf(t->prefix, sizeof(t->prefix), "%s.", name);
		snprintf(t->ns, sizeof(t->ns), "%s", ns);
		t->send = 1;
		return;
	}
	snprintf(t->prefix, sizeof(t->prefix), "SEC.%s.", name);
	if ((dot = strchr(ns, '.')) == NULL || dot[1] == '\0')
		return;
	snprintf(t->ns, sizeof(t->ns), "sec.%s", dot + 1);
	t->send = 1;
}

int
plugin_output_points(const char *out, size_t len,
    const struct plugin_target *t, const char *host, int64_t now,
    enum out_format fmt, struct buf *pts, struct post_result *res)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", out[i]) == NULL)
			break;
	if (i == len) {
		memset(res, 0, sizeof(*res));
		res->bad_index = -1;
		return 0;
	}
	return points_json_parse(out, len, POINTS_JSON_LENIENT, t->prefix,
	    host, now, fmt, pts, res);
}

int
plugin_result_point(const char *ns, const char *repo, int call, int failed,
    const char *host, int64_t now, enum out_format fmt, struct buf *pts,
    char *err, size_t errlen)
{
	const char	*type = call ? "call" : "regular";
	struct point	 p;
	int		 rv = -1;

	point_init(&p);
	if (point_set_name(&p, PLUGIN_RESULT_NAME,
	    strlen(PLUGIN_RESULT_NAME)) == -1 ||
	    point_add_tag(&p, "ns", 2, ns, strlen(ns)) == -1 ||
	    point_add_tag(&p, "name", 4, repo, strlen(repo)) == -1 ||
	    point_add_tag(&p, "type", 4, type, strlen(type)) == -1) {
		snprintf(err, errlen, "%s: out of memory or over the limits",
		    PLUGIN_RESULT_NAME);
		goto out;
	}
	point_set_int(&p, failed ? 1 : 0);
	p.timestamp = now;
	if (point_normalize(&p, NULL, host, now, err, errlen) == -1)
		goto out;
	if (pts->len > 0)
		buf_addc(pts, '\n');
	encode_point(pts, fmt, &p);
	rv = 0;
out:
	point_free(&p);
	return rv;
}
