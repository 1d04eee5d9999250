/*
 * The scheduler's separable parts: when plugins start, timeouts, parameter
 * splitting, the repo check, plugin output into points, plugin.result,
 * message cutting and the disable markers.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "as_nobody.h"
#include "workers/scheduler/scheduler.h"
#include "workers/scheduler/scheduler_output.h"

#define NOW	1714538096

Test(sched_timing, phases_are_stable_spread_and_in_range)
{
	static const char *const hosts[] = {
		"web-01", "web-02", "db-01", "a", "b", "cache", "vm", "x.y.z",
	};
	uint64_t	 o, seen[8];
	size_t		 i, j, same = 0;

	for (i = 0; i < 8; i++) {
		o = scheduler_phase(hosts[i], 60);
		cr_assert(o < 60, "%s: %" PRIu64, hosts[i], o);
		cr_assert_eq(o, scheduler_phase(hosts[i], 60), "not stable");
		seen[i] = o;
		for (j = 0; j < i; j++)
			same += seen[j] == o;
		/* a period that divides another meets it */
		cr_assert_eq(scheduler_phase(hosts[i], 10), o % 10, "%s",
		    hosts[i]);
		cr_assert_eq(scheduler_phase(hosts[i], 20), o % 20, "%s",
		    hosts[i]);
	}
	cr_assert_eq(same, 0, "phases collide");
	/* FNV-1a 32 of "a|b" = 0x294c7dd6 = 692878806, % 60 s */
	cr_assert_eq(scheduler_phase("a|b", 60), 6);
	/* an interval of years is whole seconds too */
	cr_assert_eq(scheduler_phase("a|b", 1e30), 692878806);
}

/*
 * A period's plugins fill the host's second, SCHED_SECOND_MAX of them,
 * then the seconds after it, wrapping at the period; each plugin keeps
 * its second when others come and go.
 */
Test(sched_timing, plugins_fill_seconds_from_the_phase)
{
	uint64_t	 taken[64];
	size_t		 n = 0, i;

	for (i = 0; i < 3 * SCHED_SECOND_MAX; i++) {
		taken[n] = scheduler_second(8, 10, taken, n);
		cr_assert_eq(taken[n], (8 + i / SCHED_SECOND_MAX) % 10,
		    "plugin %zu: second %" PRIu64, i, taken[n]);
		n++;
	}
	/* one of the first second goes: the next takes its place */
	taken[3] = taken[--n];
	cr_assert_eq(scheduler_second(8, 10, taken, n), 8);
	/* plugins at other seconds do not count */
	for (i = 0; i < n; i++)
		taken[i] = (taken[i] + 5) % 10;
	cr_assert_eq(scheduler_second(8, 10, taken, n), 8);
	/* none yet: the phase; a phase past the period wraps */
	cr_assert_eq(scheduler_second(3, 10, NULL, 0), 3);
	cr_assert_eq(scheduler_second(13, 10, NULL, 0), 3);
}

/* More plugins than the period has room for: the least held second. */
Test(sched_timing, a_full_period_takes_the_least_held_second)
{
	uint64_t	 taken[10 * (SCHED_SECOND_MAX + 1)];
	size_t		 n = 0, i, s;

	for (s = 0; s < 10; s++)
		for (i = 0; i < SCHED_SECOND_MAX + (s == 4 ? 0 : 1); i++)
			taken[n++] = s;
	cr_assert_eq(scheduler_second(7, 10, taken, n), 4);
	/* the least held after the phase, where several are */
	n = 0;
	for (s = 0; s < 10; s++)
		for (i = 0; i < SCHED_SECOND_MAX; i++)
			taken[n++] = s;
	cr_assert_eq(scheduler_second(7, 10, taken, n), 7);
}

/*
 * Timers set at different moments for the same second fire at the same
 * moment: the next whole second of the clock that is that second of the
 * period.
 */
Test(sched_timing, timers_for_the_same_second_fire_together)
{
	const double	 nows[] = { 1000.001, 1000.5, 1000.999, 1001.0,
	    1002.25, 1003.0 };
	size_t		 i;

	/* 1000 is second 0 of a 10 s period, 1003 second 3 */
	cr_assert_float_eq(scheduler_first_in(3, 10, 1000.0), 3, 1e-9);
	cr_assert_float_eq(scheduler_first_in(0, 10, 1000.0), 0, 1e-9);
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
		cr_assert_float_eq(nows[i] + scheduler_first_in(3, 10, nows[i]),
		    1003.0, 1e-9, "%f", nows[i]);
	cr_assert_float_eq(1003.5 + scheduler_first_in(3, 10, 1003.5), 1013.0,
	    1e-9);
	cr_assert_float_eq(1001.25 + scheduler_first_in(0, 10, 1001.25),
	    1010.0, 1e-9);
	/* a 60 s plugin meets the 10 s ones of the same phase */
	cr_assert_float_eq(1001.25 + scheduler_first_in(3, 60, 1001.25),
	    1023.0, 1e-9);
	/* a second past the period wraps; 2^53 s is as far as it goes */
	cr_assert_float_eq(scheduler_first_in(13, 10, 1000.0), 3, 1e-9);
	cr_assert(scheduler_first_in(5, 1e30, 1000.0) > 1e15);
	/* the largest interval a registry can send: finite, far, whole */
	{
		double		 per = scheduler_period(INT64_MAX), in;
		uint64_t	 taken[] = { 7, 7 }, sec;

		sec = scheduler_second(scheduler_phase("h", per), per, taken,
		    2);
		in = scheduler_first_in(sec, per, 1796600000.25);
		/* the host's second of 2^53 s: the hash's, in seconds of
		 * the clock, some 2^31 s from now */
		cr_assert(isfinite(in) && in > 0 && in < 9007199254740992.,
		    "%f", in);
		cr_assert_float_eq(in - nearbyint(in), -0.25, 1e-3);
	}
}

Test(sched_timing, period_and_timeout_follow_the_go_agent)
{
	cr_assert_float_eq(scheduler_period(1), 10, 1e-9);
	cr_assert_float_eq(scheduler_period(10), 10, 1e-9);
	cr_assert_float_eq(scheduler_period(60), 60, 1e-9);
	/* from the interval as given, at least 1 s */
	cr_assert_float_eq(scheduler_timeout(60), 59.5, 1e-9);
	cr_assert_float_eq(scheduler_timeout(5), 4.5, 1e-9);
	cr_assert_float_eq(scheduler_timeout(1), 1, 1e-9);
}

Test(sched_params, split_on_single_spaces)
{
	struct strlist	 l;
	char		 err[128];

	strlist_init(&l);
	cr_assert_eq(scheduler_split_params("  -x  loda a&b $HOME ", &l, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 4);
	cr_assert_str_eq(l.v[0], "-x");
	cr_assert_str_eq(l.v[1], "loda");
	cr_assert_str_eq(l.v[2], "a&b");
	cr_assert_str_eq(l.v[3], "$HOME");
	strlist_free(&l);
	cr_assert_eq(scheduler_split_params("", &l, err, sizeof(err)), 0);
	cr_assert_eq(l.n, 0);
	strlist_free(&l);
}

Test(sched_params, shell_operators_refuse_the_lot)
{
	static const char *const bad[] = {
		"a&&b", "a ;", "x|y", "<in", "out>", "`id`", "ok a&&",
	};
	struct strlist	 l;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strlist_init(&l);
		cr_assert_eq(scheduler_split_params(bad[i], &l, err,
		    sizeof(err)), -1, "%s", bad[i]);
		cr_assert(strstr(err, "invalid parameter") != NULL, "%s", err);
		strlist_free(&l);
	}
}

Test(sched_repo, the_original_check)
{
	static const char *const bad[] = {
		"", "plugins/mysql", "git@h:plugins/mysql", "git@h:mysql.git",
		"git@h:a/b/c.git", "git@h:a:b/c.git", "git@h:/x.git",
		"git@h:../x.git", "git@h:a/..git", "git@h:a/-x.git",
		"git@h:a/b c.git", "git@h:.git",
	};
	char	 repo[512], project[256];
	size_t	 i;

	cr_assert_eq(scheduler_check_repo("git@git.test.com:plugins/mysql.git",
	    repo, sizeof(repo), project, sizeof(project)), 0);
	cr_assert_str_eq(repo, "plugins/mysql");
	cr_assert_str_eq(project, "mysql");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(scheduler_check_repo(bad[i], repo, sizeof(repo),
		    project, sizeof(project)), -1, "%s", bad[i]);
}

Test(sched_output, target_names_and_sec_plugins)
{
	struct scheduler_output_target	 t;

	scheduler_output_target("pool.loda", "PLUGIN.mysql", "mysql", &t);
	cr_assert_str_eq(t.prefix, "PLUGIN.mysql.");
	cr_assert_str_eq(t.ns, "pool.loda");
	cr_assert_eq(t.send, 1);
	scheduler_output_target("web.product.loda", "PLUGIN.scan", "SEC-scan",
	    &t);
	cr_assert_str_eq(t.prefix, "SEC.PLUGIN.scan.");
	cr_assert_str_eq(t.ns, "sec.product.loda");
	cr_assert_eq(t.send, 1);
	scheduler_output_target("loda", "PLUGIN.scan", "SEC-scan", &t);
	cr_assert_eq(t.send, 0);
	/* only the first '-' field counts */
	scheduler_output_target("a.b", "PLUGIN.x", "SECURE-x", &t);
	cr_assert_str_eq(t.prefix, "PLUGIN.x.");
	cr_assert_str_eq(t.ns, "a.b");
}

static int
output(const char *out, struct buf *pts, struct post_result *res)
{
	struct scheduler_output_target	 t;

	scheduler_output_target("pool.loda", "PLUGIN.mysql", "mysql", &t);
	buf_init(pts);
	return scheduler_output_points(out, strlen(out), &t, "web-01", NOW,
	    FORMAT_LINE, pts, res);
}

Test(sched_output, points_are_prefixed_and_bad_ones_dropped)
{
	struct post_result	 res;
	struct buf		 pts;

	cr_assert_eq(output("[{\"name\":\"qps\",\"timestamp\":1714538000,"
	    "\"tags\":{\"port\":\"3306\"},\"value\":12},"
	    "{\"name\":\"bad name\",\"value\":1},"
	    "{\"name\":\"up\",\"value\":1},"
	    "{\"name\":\"s\",\"value\":\"str\"},"
	    "{\"name\":\"last\",\"value\":false}]\n", &pts, &res), 0, "%s",
	    res.err);
	cr_assert_eq(res.npoints, 3);
	cr_assert_eq(res.ndropped, 2);
	cr_assert(strstr(res.err, "point 1: name") != NULL, "%s", res.err);
	cr_assert_str_eq(pts.p,
	    "PLUGIN.mysql.qps,host=web-01,port=3306 value=12 1714538000\n"
	    "PLUGIN.mysql.up,host=web-01 value=1 1714538096\n"
	    "PLUGIN.mysql.last,host=web-01 value=false 1714538096");
	buf_free(&pts);
}

Test(sched_output, empty_output_is_nothing)
{
	struct post_result	 res;
	struct buf		 pts;

	cr_assert_eq(output("", &pts, &res), 0);
	cr_assert_eq(res.npoints, 0);
	cr_assert_eq(res.ndropped, 0);
	cr_assert_eq(output(" \n\t\r\n", &pts, &res), 0);
	cr_assert_eq(res.npoints, 0);
	cr_assert_eq(output("[]", &pts, &res), 0);
	cr_assert_eq(res.npoints, 0);
	buf_free(&pts);
}

Test(sched_output, garbage_is_an_error)
{
	struct post_result	 res;
	struct buf		 pts;

	cr_assert_eq(output("mysql: connection refused\n", &pts, &res), -1);
	cr_assert(strstr(res.err, "invalid JSON") != NULL, "%s", res.err);
	cr_assert_eq(res.npoints, 0);
	cr_assert_eq(output("{\"name\":\"a\",\"value\":1}", &pts, &res),
	    -1);
	cr_assert_eq(pts.len, 0);
	buf_free(&pts);
}

Test(sched_output, plugin_result_in_both_formats)
{
	struct buf	 pts;
	char		 err[128];

	buf_init(&pts);
	cr_assert_eq(scheduler_output_result_point("pool.loda", "plugins/mysql",
	    RESULT_REGULAR, 0,
	    "web-01", NOW, FORMAT_LINE, &pts, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(scheduler_output_result_point("pool.loda", "plugins/mysql",
	    RESULT_CALL, 1,
	    "web-01", NOW, FORMAT_JSON, &pts, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(pts.p,
	    "plugin.result,host=web-01,name=plugins/mysql,ns=pool.loda,"
	    "type=regular value=0 1714538096\n"
	    "{\"measurement\":\"plugin.result\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"name\":\"plugins/mysql\","
	    "\"ns\":\"pool.loda\",\"type\":\"call\"},"
	    "\"fields\":{\"value\":1}}");
	buf_free(&pts);
}

struct chunks {
	char		 got[8][64];
	uint32_t	 n[8];
	int		 count;
	int		 fail_at;	/* this piece's send fails, -1 none */
};

static int
chunk_send(const char *data, size_t len, uint32_t n, void *arg)
{
	struct chunks	*c = arg;

	cr_assert(c->count < 8);
	cr_assert(len < sizeof(c->got[0]));
	memcpy(c->got[c->count], data, len);
	c->got[c->count][len] = '\0';
	c->n[c->count] = n;
	return c->count++ == c->fail_at ? -1 : 0;
}

Test(sched_output, points_are_cut_at_point_boundaries)
{
	const char	*pts = "aaaa\nbb\ncccccccccc\nd";
	struct chunks	 c;

	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	cr_assert_eq(points_chunks(pts, strlen(pts), 8, chunk_send, &c), 4);
	cr_assert_eq(c.count, 3);
	cr_assert_str_eq(c.got[0], "aaaa\nbb");
	cr_assert_eq(c.n[0], 2);
	/* longer than the limit: alone */
	cr_assert_str_eq(c.got[1], "cccccccccc");
	cr_assert_eq(c.n[1], 1);
	cr_assert_str_eq(c.got[2], "d");
	memset(&c, 0, sizeof(c));
	c.fail_at = 1;
	cr_assert_eq(points_chunks(pts, strlen(pts), 8, chunk_send, &c), 3);
	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	cr_assert_eq(points_chunks(pts, strlen(pts), 1000, chunk_send, &c),
	    4);
	cr_assert_eq(c.count, 1);
	cr_assert_str_eq(c.got[0], pts);
	cr_assert_eq(points_chunks("", 0, 8, chunk_send, &c), 0);
}

struct swept {
	char	 keys[4][64];
	time_t	 mtimes[4];
	int	 n;
};

static void
swept_cb(const char *key, time_t mtime, void *arg)
{
	struct swept	*sw = arg;

	cr_assert_lt(sw->n, 4);
	snprintf(sw->keys[sw->n], sizeof(sw->keys[0]), "%s", key);
	sw->mtimes[sw->n++] = mtime;
}

static void
touch_at(const char *path, time_t t)
{
	struct timespec	 ts[2];
	int		 fd;

	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT, 0644), 0, "%s",
	    path);
	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	cr_assert_eq(futimens(fd, ts), 0);
	cr_assert_eq(close(fd), 0);
}

static void
never_cb(const char *key, time_t mtime, void *arg)
{
}

/*
 * As nobody: the sweep of pluginsdir `arg` fails, naming the directory,
 * and a marker there counts as present.
 */
static int
expired_as_nobody(void *arg)
{
	const char	*dir = arg;
	char		 err[512] = "";

	if (scheduler_marker_exists(dir, "a|new") != 1 ||
	    scheduler_marker_exists(dir, "a|none") != 1) {
		as_nobody_say("a marker that cannot be looked at is not one");
		return 1;
	}

	if (scheduler_marker_expired(dir, time(NULL), 24 * 3600, never_cb,
	    NULL, err, sizeof(err)) != -1) {
		as_nobody_say("the sweep of %s read it", dir);
		return 1;
	}
	if (strstr(err, "plugin.disabled: Permission denied") == NULL) {
		as_nobody_say("\"%s\" lacks the directory or EACCES", err);
		return 1;
	}
	return 0;
}

/*
 * The sweep's list: markers a day old and more, with their times (which
 * gitpull checks again before it removes one); dot files and names that
 * are not <ns>|<project> left alone; no directory, nothing disabled.
 * The scheduler removes nothing itself: gitpull does (scheduler_marks.c).
 */
Test(sched_markers, the_sweep_lists_markers_a_day_old)
{
	char		 dir[64], sub[128], path[256], err[256] = "";
	time_t		 now = time(NULL), old = now - 24 * 3600 - 1;
	struct swept	 sw;

	snprintf(dir, sizeof(dir), "/tmp/test_sched_markers.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(&sw, 0, sizeof(sw));
	cr_assert_eq(scheduler_marker_expired(dir, now, 24 * 3600, swept_cb,
	    &sw, err, sizeof(err)), 0, "%s", err);
	snprintf(sub, sizeof(sub), "%s/plugin.disabled", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/a|old", sub);
	touch_at(path, old);
	snprintf(path, sizeof(path), "%s/a|new", sub);
	touch_at(path, now - 60);
	snprintf(path, sizeof(path), "%s/.a|hidden", sub);
	touch_at(path, old);
	snprintf(path, sizeof(path), "%s/stray", sub);
	touch_at(path, old);
	cr_assert_eq(scheduler_marker_expired(dir, now, 24 * 3600, swept_cb,
	    &sw, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(sw.n, 1);
	cr_assert_str_eq(sw.keys[0], "a|old");
	cr_assert_eq(sw.mtimes[0], old);
	cr_assert_eq(scheduler_marker_exists(dir, "a|old"), 1);
	cr_assert_eq(scheduler_marker_exists(dir, "a|new"), 1);
	cr_assert_eq(scheduler_marker_exists(dir, "a|none"), 0);
	cr_assert_eq(scheduler_marker_exists(dir, "../x"), 0);
	/* only a file is a marker: a directory is neither one nor listed */
	snprintf(path, sizeof(path), "%s/a|dir", sub);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(utimensat(AT_FDCWD, path, (struct timespec[2]){
	    { old, 0 }, { old, 0 } }, 0), 0);
	cr_assert_eq(scheduler_marker_exists(dir, "a|dir"), 0);
	memset(&sw, 0, sizeof(sw));
	cr_assert_eq(scheduler_marker_expired(dir, now, 24 * 3600, swept_cb,
	    &sw, err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(sw.keys[0], "a|old");
	/*
	 * A directory it cannot read is an error naming it; a marker it
	 * cannot look at counts as one (a disabled plugin must not run
	 * because of an error).
	 */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(sub, 0700), 0);
	as_nobody(expired_as_nobody, dir);
	cr_assert_eq(chmod(sub, 0755), 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_assert_eq(system(path), 0);
}
