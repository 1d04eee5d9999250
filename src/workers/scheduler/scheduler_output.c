/*
 * Plugin output into points, and the plugin.result point of each run;
 * the publishing of both to the sender when a run ends.
 */
#include "scheduler_output.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "log.h"
#include "point.h"
#include "scheduler.h"


/* By hand, no printf: this is made for every run (the items' limits
 * make each fit). */
void
scheduler_output_target(const char *ns, const char *name, const char *project,
    struct scheduler_output_target *t)
{
	const char	*dot;

	t->send = 0;
	t->ns[0] = '\0';
	if (strncmp(project, "SEC-", 4) != 0 && strcmp(project, "SEC") != 0) {
		(void)strlcpy(t->prefix, name, sizeof(t->prefix));
		(void)strlcat(t->prefix, ".", sizeof(t->prefix));
		(void)strlcpy(t->ns, ns, sizeof(t->ns));
		t->send = 1;
		return;
	}
	(void)strlcpy(t->prefix, "SEC.", sizeof(t->prefix));
	(void)strlcat(t->prefix, name, sizeof(t->prefix));
	(void)strlcat(t->prefix, ".", sizeof(t->prefix));
	if ((dot = strchr(ns, '.')) == NULL || dot[1] == '\0')
		return;
	(void)strlcpy(t->ns, "sec.", sizeof(t->ns));
	(void)strlcat(t->ns, dot + 1, sizeof(t->ns));
	t->send = 1;
}

int
scheduler_output_points(const char *out, size_t len,
    const struct scheduler_output_target *t, const char *host, int64_t now,
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
	    host, now, fmt, pts, 0, res);
}

int
scheduler_output_result_point(const char *ns, const char *repo,
    const char *type, int failed, const char *host, int64_t now,
    enum out_format fmt, struct buf *pts, char *err, size_t errlen)
{
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

/*
 * A SEC project's points have no namespace to go to (one of a single
 * label): lost, so counted with the points no sender took (they never
 * reach one) and said, every WARN_LIMIT_EVERY at most (a plugin may run
 * every second); the run itself went well.
 */
static void
no_sec_ns(struct plugin *p, size_t npoints)
{
	struct sched	*s = p->s;
	uint64_t	 n;

	s->st.points_unsent += npoints;
	if (warn_limit_due(&s->no_sec_ns, ev_now(s->w->loop), &n))
		log_warnx("%s: plugin %s: %zu points dropped: a SEC project's "
		    "go to namespace sec.<its namespace without the first "
		    "label>, and %s has one (%llu such runs since the last "
		    "warning)", __func__, p->key, npoints, p->item.ns,
		    (unsigned long long)n);
}

int
scheduler_output_publish_run(struct plugin *p, const struct run_result *res,
    int ok)
{
	struct sched		*s = p->s;
	struct last_run		*l = &p->last;
	struct scheduler_output_target	 t;
	struct post_result	 pr;
	struct buf		 pts;
	enum out_format		 fmt;
	int64_t			 now = (int64_t)time(NULL);
	char			 err[SCHED_ERROR_MAX];

	if (encode_format_parse(s->w->conf.format, &fmt) == -1)
		fmt = FORMAT_JSON;
	buf_init(&pts);

	scheduler_output_target(p->item.ns, p->item.name, p->item.project, &t);
	if (ok && scheduler_output_points(res->out, res->outlen, &t, s->host,
	    now, fmt, &pts, &pr) == -1) {
		ok = 0;
		snprintf(l->error, sizeof(l->error), "output: %s", pr.err);
	} else if (ok) {
		s->st.points_received += pr.npoints;
		l->dropped = pr.ndropped;
		if (pr.ndropped > 0)
			strlcpy(l->drop_error, pr.err, sizeof(l->drop_error));
		if (pr.npoints == 0 && pr.ndropped == 0)
			log_debug("plugin %s: no output", p->key);
		else if (!t.send)
			no_sec_ns(p, pr.npoints);
		else
			l->points = scheduler_outbox_add(s, t.ns, fmt, &pts,
			    pr.npoints);
	}
	l->ok = ok;

	buf_reset(&pts);
	if (scheduler_output_result_point(p->item.ns, p->item.repo,
	    p->run_kind == RUN_CALL ? RESULT_CALL : RESULT_REGULAR, !ok,
	    s->host, now, fmt, &pts, err, sizeof(err)) == -1)
		log_warnx("%s: plugin %s: %s", __func__, p->key, err);
	else
		(void)scheduler_outbox_add(s, EXCEPTION_NS, fmt, &pts, 1);
	buf_free(&pts);
	return ok;
}

void
scheduler_output_publish_untrusted(struct plugin *p)
{
	struct sched	*s = p->s;
	struct buf	 pts;
	enum out_format	 fmt;
	char		 err[SCHED_ERROR_MAX];

	if (encode_format_parse(s->w->conf.format, &fmt) == -1)
		fmt = FORMAT_JSON;
	buf_init(&pts);
	if (scheduler_output_result_point(p->item.ns, p->item.repo,
	    RESULT_UNTRUSTED, 1, s->host, (int64_t)time(NULL), fmt, &pts, err,
	    sizeof(err)) == -1)
		log_warnx("%s: plugin %s: %s", __func__, p->key, err);
	else
		(void)scheduler_outbox_add(s, EXCEPTION_NS, fmt, &pts, 1);
	buf_free(&pts);
}
