/*
 * The scheduler worker: runs plugins as pluginsuser on their intervals
 * and on demand, publishes what they print, and answers the front's
 * /plugins/ requests (issue 4; lodastack-protocols.md 3 and 6).
 *
 * Inputs: MSG_ITEMS from the fetcher (the whole set each time), compared
 * with what runs; MSG_GIT_RESP from gitpull; MSG_PLUGIN_REQ from the
 * front.  Outputs: MSG_POINTS to the sender, MSG_GIT_REQ to gitpull,
 * MSG_PLUGIN_RESP to the front, MSG_STATS to the master.
 *
 * A plugin is scheduled once gitpull says its checkout is there; one
 * ev_timer each, every max(interval, 10) s from a stable per-plugin
 * offset in whole seconds; at most one run of a plugin at a time.
 */
#include "scheduler.h"

#include <sys/resource.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "codec.h"
#include "log.h"
#include "status.h"

#define SWEEP_INTERVAL		3600.0	/* disable markers */
#define STOP_EXTRA		1.0	/* after the grace, at shutdown */
#define PLUGIN_PATH		"/usr/local/bin:/usr/bin:/bin"
#define LOG_STDERR_MAX		300	/* bytes of stderr in a log line */
/*
 * s between MSG_STATS, at least.  Every plugin's counters and histogram
 * (38 KB with 60 plugins), encoded here and decoded by the master, cost
 * a tenth of a plugin run's CPU when sent every 5 s (bench/README.md,
 * "bench/plugins"); /me/status and /metrics ask for them fresh, so what
 * the pace bounds is what a scheduler that crashes loses of its counting.
 */
#define SCHED_STATS_EVERY	30.0

/* FNV-1a: stable across runs and hosts, unlike a seeded hash. */
static uint32_t
key_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/*
 * A registry interval's period in whole seconds, for the sums below; no
 * plugin waits 2^53 s for its first run, so that is as far as it goes.
 */
static uint64_t
period_seconds(double period)
{
	if (!(period >= 1.))
		return 1;
	return period >= 9007199254740992. ? UINT64_C(9007199254740992) :
	    (uint64_t)period;
}

/*
 * The host's own second of a period: its plugins of that period start
 * from there, and other hosts' from theirs, so that a fleet does not
 * publish in the same second.  Periods that divide one another agree:
 * the phase of 60 s falls on a phase of 10 s.
 */
uint64_t
scheduler_phase(const char *host, double period)
{
	return key_hash(host) % period_seconds(period);
}

/*
 * The first second from `phase` on that fewer than SCHED_SECOND_MAX of
 * `taken` (the seconds of this period's other plugins) hold; where none
 * does (more plugins than the period has room for), the least held.
 * First fit, so a plugin added or removed moves no other.  One pass over
 * `taken`: of n plugins, n / SCHED_SECOND_MAX seconds at most are full,
 * so the seconds after those cannot matter.
 */
uint64_t
scheduler_second(uint64_t phase, double period, const uint64_t *taken,
    size_t n)
{
	uint64_t	 sec = period_seconds(period), d;
	size_t		 span, i, best = 0, *held;

	phase %= sec;
	span = n / SCHED_SECOND_MAX + 1;
	if (span > sec)
		span = (size_t)sec;
	if ((held = calloc(span, sizeof(*held))) == NULL)
		return phase;	/* together still, if not within the bound */
	for (i = 0; i < n; i++)
		if ((d = (taken[i] % sec + sec - phase) % sec) < span)
			held[d]++;
	for (i = 0; i < span; i++) {
		if (held[i] < SCHED_SECOND_MAX) {
			best = i;
			break;
		}
		if (held[i] < held[best])
			best = i;
	}
	free(held);
	return (phase + best) % sec;
}

double
scheduler_first_in(uint64_t second, double period, ev_tstamp now)
{
	uint64_t	 sec = period_seconds(period), t;
	int64_t		 whole = (int64_t)now;	/* the clock is positive */

	/* the next whole second of the loop's clock, then that second */
	t = (uint64_t)whole + ((double)whole < now);
	t += (second % sec + sec - t % sec) % sec;
	return (double)t - now;
}

double
scheduler_period(int64_t interval)
{
	return (double)(interval < ITEM_MIN_INTERVAL ? ITEM_MIN_INTERVAL :
	    interval);
}

/* The Go agent's interval - 0.5 s, from the interval as given. */
double
scheduler_timeout(int64_t interval)
{
	double	 t = (double)interval - 0.5;

	return t < 1.0 ? 1.0 : t;
}

static void
item_free(struct plugin_item *it)
{
	free(it->ns);
	free(it->name);
	free(it->git);
	free(it->repo);
	free(it->project);
	strlist_free(&it->params);
	memset(it, 0, sizeof(*it));
	strlist_init(&it->params);
}

static int
item_copy(struct plugin_item *dst, const struct plugin_item *src)
{
	struct plugin_item	 n;

	memset(&n, 0, sizeof(n));
	strlist_init(&n.params);
	n.interval = src->interval;
	if ((n.ns = strdup(src->ns)) == NULL ||
	    (n.name = strdup(src->name)) == NULL ||
	    (n.git = strdup(src->git)) == NULL ||
	    (n.repo = strdup(src->repo)) == NULL ||
	    (n.project = strdup(src->project)) == NULL ||
	    strlist_copy(&n.params, &src->params) == -1) {
		item_free(&n);
		return -1;
	}
	item_free(dst);
	*dst = n;
	return 0;
}

/* The live plugin of `key`, else one removed but still finishing. */
struct plugin *
scheduler_find(struct sched *s, const char *key)
{
	struct plugin	*p, *gone = NULL;

	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (strcmp(p->key, key) != 0)
			continue;
		if (!p->gone)
			return p;
		gone = p;
	}
	return gone;
}

struct plugin *
scheduler_find_repo(struct sched *s, const char *ns, const char *repo)
{
	struct plugin	*p;

	TAILQ_FOREACH(p, &s->plugins, entry)
		if (!p->gone && strcmp(p->item.ns, ns) == 0 &&
		    strcmp(p->item.repo, repo) == 0)
			return p;
	return NULL;
}

static void	 plugin_timer_cb(struct ev_loop *, ev_timer *, int);

struct plugin *
scheduler_plugin_new(struct sched *s, const struct plugin_item *it,
    const char *key)
{
	struct plugin	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	strlist_init(&p->item.params);
	if (item_copy(&p->item, it) == -1) {
		free(p);
		return NULL;
	}
	p->s = s;
	strlcpy(p->key, key, sizeof(p->key));
	p->enabled = !scheduler_marker_exists(s->w->conf.pluginsdir, key);
	ev_timer_init(&p->timer, plugin_timer_cb, 0., 0.);
	p->timer.data = p;
	TAILQ_INSERT_TAIL(&s->plugins, p, entry);
	if (!p->enabled)
		log_info("plugin %s is disabled (marker file)", key);
	return p;
}

int
scheduler_plugin_waits_git(const struct plugin *p)
{
	struct gitwait	*gw;

	TAILQ_FOREACH(gw, &p->s->gitwaits, entry)
		if (gw->p == p)
			return 1;
	return 0;
}

/* A removed plugin goes once its last run has ended. */
void
scheduler_plugin_release(struct plugin *p)
{
	struct sched	*s = p->s;

	if (!p->gone || p->run != NULL || scheduler_plugin_waits_git(p))
		return;
	ev_timer_stop(s->w->loop, &p->timer);
	scheduler_starts_forget(p);
	TAILQ_REMOVE(&s->plugins, p, entry);
	item_free(&p->item);
	free(p);
}

void
scheduler_schedule(struct plugin *p)
{
	struct sched	*s = p->s;
	struct plugin	*q;
	uint64_t	*taken = NULL, phase;
	size_t		 n = 0, cap = 0;
	double		 period, after;

	ev_timer_stop(s->w->loop, &p->timer);
	if (p->gone || s->stopping || p->checkout != CHECKOUT_OK ||
	    p->item.interval <= 0)
		return;
	period = scheduler_period(p->item.interval);
	phase = scheduler_phase(s->host, period);
	TAILQ_FOREACH(q, &s->plugins, entry)
		cap += q != p && ev_is_active(&q->timer) && q->period == period;
	if (cap > 0 && (taken = reallocarray(NULL, cap, sizeof(*taken))) ==
	    NULL)
		log_warnx("%s: out of memory for the seconds of %zu plugins: "
		    "plugin %s starts at the host's own", __func__, cap, p->key);
	TAILQ_FOREACH(q, &s->plugins, entry)
		if (taken != NULL && q != p && ev_is_active(&q->timer) &&
		    q->period == period)
			taken[n++] = q->second;
	p->second = scheduler_second(phase, period, taken, n);
	free(taken);
	p->period = period;
	after = scheduler_first_in(p->second, period, ev_now(s->w->loop));
	ev_timer_set(&p->timer, after, period);
	ev_timer_start(s->w->loop, &p->timer);
	log_debug("plugin %s every %.0f s at second %" PRIu64 ", first in "
	    "%.3f s", p->key, period, p->second, after);
}

/* ---- runs ---- */

/* Stderr for one log line: the end of it, control bytes as spaces. */
static void
stderr_for_log(const char *tail, char *out, size_t outlen)
{
	size_t	 len = strlen(tail), i;

	while (len > 0 && strchr(" \t\r\n", tail[len - 1]) != NULL)
		len--;
	if (len > LOG_STDERR_MAX) {
		tail += len - LOG_STDERR_MAX;
		len = LOG_STDERR_MAX;
	}
	if (len >= outlen)
		len = outlen - 1;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)tail[i] < 0x20 ||
		    tail[i] == 0x7f ? ' ' : tail[i];
	out[len] = '\0';
}

/* The run's output published, its plugin.result, the state updated. */
static void
run_done(const struct run_result *res, void *arg)
{
	struct plugin		*p = arg;
	struct sched		*s = p->s;
	struct last_run		*l = &p->last;
	uint32_t		 reqid = p->run_reqid;
	char			 tail[LOG_STDERR_MAX + 1];
	size_t			 i;
	int			 ok, by_stop;

	p->run = NULL;
	p->run_reqid = 0;
	scheduler_starts_ended(p);
	memset(l, 0, sizeof(*l));
	l->at = p->run_at;
	l->kind = p->run_kind;
	l->duration = res->duration;
	l->exited = res->exited;
	l->status = res->status;
	l->signo = res->signo;
	l->timed_out = res->timed_out;
	l->outbytes = res->outlen;
	i = strlen(res->errtail);
	strlcpy(l->stderr_tail, res->errtail + (i > SCHED_STDERR_KEPT ?
	    i - SCHED_STDERR_KEPT : 0), sizeof(l->stderr_tail));
	ok = scheduler_run_ok(res);
	scheduler_run_describe(res, l->error, sizeof(l->error));
	ok = scheduler_output_publish_run(p, res, ok);

	p->runs++;
	if (res->pid != 0)
		metrics_hist_observe(&p->duration, "plugin_duration_seconds",
		    res->duration);
	p->points += l->points;
	p->dropped += l->dropped;
	s->st.runs++;
	s->st.points_dropped += l->dropped;
	if (res->timed_out) {
		p->timeouts++;
		s->st.timeouts++;
	}
	if (res->output_over)
		s->st.output_over++;
	if (!ok) {
		p->failures++;
		s->st.failures++;
		snprintf(s->last_error, sizeof(s->last_error), "%s: %s",
		    p->key, l->error);
		stderr_for_log(res->errtail, tail, sizeof(tail));
		/*
		 * Ended by the agent's stop (or restart), and by nothing
		 * before it: the plugin did not fail, and a warning at every
		 * stop for each run still going tells the operator nothing.
		 */
		by_stop = res->stopped && !res->timed_out &&
		    !res->output_over && res->err[0] == '\0';
		log_msg(by_stop ? LOG_LVL_INFO : LOG_LVL_WARN,
		    "%s: plugin %s (%s run) %s %.3f s: %s%s%s", __func__,
		    p->key, l->kind == RUN_CALL ? "call" : "regular",
		    by_stop ? "after" : "failed after", l->duration, l->error,
		    tail[0] != '\0' ? "; stderr: " : "", tail);
	} else {
		log_debug("plugin %s: ok in %.3f s, %zu points", p->key,
		    l->duration, l->points);
		if (l->dropped > 0)
			log_warnx("%s: plugin %s: %zu bad points dropped, the "
			    "first: %s", __func__, p->key, l->dropped,
			    l->drop_error);
	}
	if (reqid != 0)
		scheduler_answer_run(p, reqid, res->pid != 0 ? res : NULL);
	if (s->stopping && scheduler_runner_active(s->runner) == 0)
		worker_exit(s->w, 0);
	scheduler_plugin_release(p);
}

/*
 * The plugin's environment, NAME=value each, in one allocation (freed
 * with the block returned, which env[] points into): a run's strings
 * are made every run, and seven asprintf were seven allocations and
 * formats for what is a copy.
 */
static char *
env_pack(char **env, const char *const kv[][2], size_t n)
{
	size_t	 i, len = 0, kl, vl;
	char	*block, *p;

	for (i = 0; i < n; i++)
		len += strlen(kv[i][0]) + strlen(kv[i][1]) + 2;
	if ((block = malloc(len)) == NULL)
		return NULL;
	for (i = 0, p = block; i < n; i++) {
		kl = strlen(kv[i][0]);
		vl = strlen(kv[i][1]);
		env[i] = p;
		memcpy(p, kv[i][0], kl);
		p[kl] = '=';
		memcpy(p + kl + 1, kv[i][1], vl + 1);
		p += kl + vl + 2;
	}
	env[n] = NULL;
	return block;
}

/*
 * <pluginsdir>/<ns>/<project>, joined by hand: three formats a run were
 * a per cent of it.  -1 when it does not fit.
 */
static int
run_dir(char *dir, size_t size, const char *pluginsdir, const char *ns,
    const char *project)
{
	const char	*part[] = { pluginsdir, ns, project };
	size_t		 i, n, at = 0;

	for (i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		n = strlen(part[i]);
		if (at + n + 2 > size)
			return -1;
		if (i > 0)
			dir[at++] = '/';
		memcpy(dir + at, part[i], n);
		at += n;
	}
	dir[at] = '\0';
	return 0;
}

void
scheduler_run(struct plugin *p, enum run_kind kind, const struct strlist *argv,
    double timeout, uint32_t reqid)
{
	struct sched		*s = p->s;
	const struct agent_conf	*c = &s->w->conf;
	struct run_result	 res;
	struct run_spec		 spec;
	char			 dir[CONF_STR_MAX + 2 * 256 + 8];
	char			 path[sizeof(dir) + 8], interval[BUF_I64_MAX];
	char			 err[sizeof(res.err)];
	char			**av = NULL, *env[8], *envblock = NULL;
	size_t			 i, n, ilen;

	p->run_kind = kind;
	p->run_reqid = reqid;
	p->run_at = time(NULL);
	err[0] = '\0';
	/* all of it before fork: the child only execs */
	if (run_dir(dir, sizeof(dir), c->pluginsdir, p->item.ns,
	    p->item.project) == -1) {
		snprintf(err, sizeof(err), "plugin directory: path too long");
		goto fail;
	}
	n = strlen(dir);
	memcpy(path, dir, n);
	memcpy(path + n, "/plugin", sizeof("/plugin"));
	if ((av = calloc(argv->n + 2, sizeof(*av))) == NULL)
		goto fail;
	av[0] = "./plugin";
	for (i = 0; i < argv->n; i++)
		av[i + 1] = argv->v[i];
	const char *const	 kv[][2] = {
		{ "PATH", PLUGIN_PATH },
		{ "LANG", "C" },
		{ "HOME", s->home },
		{ "AGENT_NS", p->item.ns },
		{ "AGENT_NAME", p->item.name },
		{ "AGENT_REPO", p->item.repo },
		{ "AGENT_INTERVAL", buf_i64_str(interval,
		    (long long)p->item.interval, &ilen) },
	};
	if ((envblock = env_pack(env, kv, sizeof(kv) / sizeof(kv[0]))) == NULL)
		goto fail;
	memset(&spec, 0, sizeof(spec));
	spec.dir = dir;
	spec.path = path;
	spec.argv = av;
	spec.envp = env;
	spec.timeout = timeout;
	spec.grace = RUN_GRACE;
	spec.outmax = (size_t)c->pluginoutputmax;
	spec.nproc = s->run_nproc;
	spec.data = s->run_data;
	spec.nice = (int)c->pluginnice;
	p->run = scheduler_run_start(s->runner, &spec, run_done, p, err,
	    sizeof(err));
	if (p->run != NULL)
		log_debug("plugin %s: %s run started, timeout %.1f s",
		    p->key, kind == RUN_CALL ? "call" : "regular", timeout);
fail:
	free(envblock);
	free(av);
	if (p->run != NULL)
		return;
	/* it never started: a failed run all the same (plugin.result 1) */
	memset(&res, 0, sizeof(res));
	res.out = "";
	strlcpy(res.err, err[0] != '\0' ? err : "out of memory",
	    sizeof(res.err));
	run_done(&res, p);
}

double
scheduler_next_at(const struct plugin *p)
{
	struct ev_loop	*loop = p->s->w->loop;

	/* libev reads the timer, but does not say const */
	return ev_now(loop) + ev_timer_remaining(loop, (ev_timer *)&p->timer);
}

/*
 * Put a plugin's timer back on its second of the clock.  The timer counts
 * the monotonic clock, so a step of the wall clock (NTP at boot, `date`)
 * leaves it firing off the second it was set for: no longer with the
 * plugins scheduled after the step, while scheduler_schedule() counts it
 * at its second.  Called as it fires, it is off one period at most.
 */
static void
plugin_timer_align(struct plugin *p)
{
	struct ev_loop	*loop = p->s->w->loop;
	double		 now = ev_now(loop), at, on;

	if (!ev_is_active(&p->timer))
		return;		/* not scheduled: a test feeds it */
	/* the next run, a period away, and the moment of its second
	 * nearest to it: never this run's again, however the clock went
	 * (slewed early by a little, or stepped either way) */
	at = scheduler_next_at(p);
	on = at - p->period / 2;
	on += scheduler_first_in(p->second, p->period, on);
	if (fabs(on - at) <= SCHED_ALIGN_SLACK)
		return;
	if (on - now < p->period / 2)	/* fed, not due: not at once */
		on += p->period;
	log_debug("plugin %s: its timer left second %" PRIu64 " of %.0f "
	    "(the clock was set?): put back, next run in %.1f s", p->key,
	    p->second, p->period, on - now);
	ev_timer_stop(loop, &p->timer);
	ev_timer_set(&p->timer, on - now, p->period);
	ev_timer_start(loop, &p->timer);
}

static void
plugin_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct plugin	*p = t->data;
	struct sched	*s = p->s;

	plugin_timer_align(p);
	if (s->stopping || !p->enabled)
		return;
	if (p->run != NULL) {
		p->skipped++;
		s->st.skipped++;
		log_info("plugin %s: the run started %lld s ago still goes; "
		    "this one is skipped", p->key,
		    (long long)(time(NULL) - p->run_at));
		return;
	}
	scheduler_starts_add(p);
}

/* ---- items ---- */

/* Gone from the registry: no more runs; one in progress may finish. */
static void
plugin_remove(struct plugin *p)
{
	struct sched	*s = p->s;
	struct gitwait	*gw, *tmp;

	p->gone = 1;
	ev_timer_stop(s->w->loop, &p->timer);
	TAILQ_FOREACH_SAFE(gw, &s->gitwaits, entry, tmp) {
		if (gw->p != p)
			continue;
		if (gw->why != GIT_FOR_ITEMS)
			scheduler_respond_error(s, gw->front_reqid, 404, "the "
			    "plugin was removed from the registry");
		scheduler_gitwait_free(gw);
	}
	log_info("plugin %s removed from the registry%s", p->key,
	    p->run != NULL ? "; its run in progress may finish" : "");
	scheduler_plugin_release(p);
}

static void
items_plugin(struct sched *s, const struct plugin_item *it)
{
	struct plugin	*p;
	char		 key[SCHED_KEY_MAX];
	int		 moved, changed, was_gone;

	snprintf(key, sizeof(key), "%s|%s", it->ns, it->project);
	if ((p = scheduler_find(s, key)) != NULL && p->seen && !p->gone) {
		log_warnx("%s: plugin %s is listed twice (%s and %s): the "
		    "first is kept", __func__, key, p->item.git, it->git);
		return;
	}
	if (p == NULL) {
		if ((p = scheduler_plugin_new(s, it, key)) == NULL) {
			log_warnx("%s: out of memory for plugin %s", __func__,
			    key);
			return;
		}
		p->seen = 1;
		log_info("new plugin %s (%s, %s)", key, it->git,
		    it->interval > 0 ? "scheduled" : "on demand");
		(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
		return;
	}
	p->seen = 1;
	was_gone = p->gone;
	p->gone = 0;
	moved = strcmp(p->item.git, it->git) != 0 ||
	    strcmp(p->item.repo, it->repo) != 0;
	changed = moved || was_gone || strcmp(p->item.name, it->name) != 0 ||
	    p->item.interval != it->interval ||
	    !strlist_equal(&p->item.params, &it->params);
	if (changed && item_copy(&p->item, it) == -1) {
		log_warnx("%s: out of memory for plugin %s", __func__, key);
		return;
	}
	if (moved) {
		log_info("plugin %s now comes from %s", key, it->git);
		ev_timer_stop(s->w->loop, &p->timer);
		p->checkout = CHECKOUT_NONE;
		p->commit[0] = '\0';
		p->moved = 1;
		(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
	} else if (p->checkout == CHECKOUT_FAILED ||
	    p->checkout == CHECKOUT_UNTRUSTED ||
	    p->checkout == CHECKOUT_NONE)
		(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
	else if (changed) {
		log_info("plugin %s changed: %s", key, p->item.interval > 0 ?
		    "rescheduled" : "on demand only");
		scheduler_schedule(p);
	}
}

static int
items_msg(struct sched *s, struct frame_in *in)
{
	struct plugin	*p, *tmp;
	struct preader	 pr;
	struct items	 it;
	char		 err[256];
	size_t		 i;

	if (s->stopping)
		return 0;
	items_init(&it);
	codec_get_init(&pr, in->data, in->datalen);
	if (items_decode(&pr, &it, err, sizeof(err)) == -1) {
		/* keep what runs: a bad set must not stop every plugin */
		log_warnx("%s: bad ITEMS: %s; the plugins stay as they are",
		    __func__, err);
		items_free(&it);
		return 0;
	}
	TAILQ_FOREACH(p, &s->plugins, entry)
		p->seen = 0;
	for (i = 0; i < it.nplugins; i++)
		items_plugin(s, &it.plugins[i]);
	TAILQ_FOREACH_SAFE(p, &s->plugins, entry, tmp)
		if (!p->seen && !p->gone)
			plugin_remove(p);
	log_debug("%zu plugins in the items", it.nplugins);
	items_free(&it);
	return 0;
}

/* ---- markers, stats ---- */

static void
sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	scheduler_marks_sweep(t->data);
}

/* Per plugin: runs by status and the duration histogram. */
static void
plugin_metrics(struct metric_set *ms, const struct plugin *p)
{
	const char	*ns = p->item.ns, *name = p->item.project;

	/* a timed out run is a failure too: each run counts once */
	(void)metrics_put(ms, "plugin_runs_total", p->runs - p->failures,
	    "ns", ns, "plugin", name, "status", "ok", NULL);
	(void)metrics_put(ms, "plugin_runs_total", p->failures - p->timeouts,
	    "ns", ns, "plugin", name, "status", "failed", NULL);
	(void)metrics_put(ms, "plugin_runs_total", p->timeouts,
	    "ns", ns, "plugin", name, "status", "timeout", NULL);
	(void)metrics_put(ms, "plugin_runs_total", p->skipped,
	    "ns", ns, "plugin", name, "status", "skipped", NULL);
	(void)metrics_put_hist(ms, "plugin_duration_seconds", &p->duration,
	    "ns", ns, "plugin", name, NULL);
}

static void
sched_push_stats(struct sched *s)
{
	struct plugin		*p;
	uint64_t		 plugins = 0, scheduled = 0, running = 0;

	metrics_reset(&s->ms);
	(void)metrics_put(&s->ms, "points_received_total",
	    s->st.points_received, "source", "plugin", NULL);
	(void)metrics_put(&s->ms, "points_dropped_total",
	    s->st.points_dropped, "reason", "invalid", NULL);
	(void)metrics_put(&s->ms, "points_dropped_total",
	    s->st.points_unsent + s->w->inflight.lost, "reason", "unsent",
	    NULL);
	TAILQ_FOREACH(p, &s->plugins, entry) {
		plugins += !p->gone;
		scheduled += ev_is_active(&p->timer) ? 1 : 0;
		running += p->run != NULL;
		/* one finishing after its removal: the live one counts */
		if (!p->gone)
			plugin_metrics(&s->ms, p);
	}
	const struct stat_kv	 v[] = {
		{ "plugins", plugins },
		{ "scheduled", scheduled },
		{ "running", running },
		{ "runs", s->st.runs },
		{ "failures", s->st.failures },
		{ "timeouts", s->st.timeouts },
		{ "skipped", s->st.skipped },
		{ "output_over", s->st.output_over },
		{ "points_sent", s->st.points_sent },
		{ "points_dropped", s->st.points_dropped },
		{ "points_unsent", s->st.points_unsent + s->w->inflight.lost },
		/* with the sender, not yet said taken; sent again */
		{ "points_held", s->w->inflight.held },
		{ "points_resent", s->w->inflight.resent },
		{ "git_errors", s->st.git_errors },
		{ "untrusted", s->st.untrusted },
		{ "requests", s->st.requests },
	};

	(void)worker_push_stats_all(s->w, v, sizeof(v) / sizeof(v[0]), NULL, 0,
	    s->last_error, &s->ms);
}

/* ops->stats */
static void
sched_stats(struct worker *w)
{
	if (w->priv != NULL)
		sched_push_stats(w->priv);
}

/* ---- the worker ---- */

/* The Landlock ABI the runs get (scheduler_isolate.h), said when off. */
static int
sched_isolation(const struct agent_conf *c)
{
	const char	*why;
	int		 abi;

	abi = scheduler_isolate_wanted(c->isolateplugins, getuid(), &why);
	if (abi == ISOLATE_ABI_OFF)
		log_info("plugin runs are not isolated from each other "
		    "(%s)", why);
	return abi;
}

/*
 * A run's limit of `resource`: what [agent] `key` asks, but no more than
 * the hard limit the scheduler has, which, without CAP_SYS_RESOURCE, it
 * cannot raise: a child asking for more would fail every run (EPERM).
 */
static long long
sched_limit(int resource, const char *key, int64_t want)
{
	struct rlimit	 rl;

	if (want <= 0 || getrlimit(resource, &rl) == -1 ||
	    rl.rlim_max == RLIM_INFINITY || (rlim_t)want <= rl.rlim_max)
		return want > 0 ? want : 0;
	log_warnx("[agent] %s = %lld is over the hard limit the agent was "
	    "started with (%llu): plugins get that", key, (long long)want,
	    (unsigned long long)rl.rlim_max);
	return (long long)rl.rlim_max;
}

/*
 * [agent] pluginmaxprocs and pluginmaxmemory as runs get them.  Started
 * without root, plugins run as the invoking user, and the process limit
 * would count all of that user's processes and threads (a desktop's
 * browser has a thousand): it is not applied then.
 */
static void
sched_limits(struct sched *s, const struct agent_conf *c)
{
	if (s->w->unprivileged && c->pluginmaxprocs > 0) {
		log_info("[agent] pluginmaxprocs is not applied: started "
		    "without root, plugins run as the invoking user, all of "
		    "whose processes it would count");
		s->run_nproc = 0;
	} else
		s->run_nproc = sched_limit(RLIMIT_NPROC, "pluginmaxprocs",
		    c->pluginmaxprocs);
	s->run_data = sched_limit(RLIMIT_DATA, "pluginmaxmemory",
	    c->pluginmaxmemory);
}

static int
sched_start(struct worker *w, char *err, size_t errlen)
{
	struct sched	*s;
	struct passwd	*pw;

	/* the sandbox refuses this already; plugins must never be root
	 * by accident */
	if (getuid() == 0 && !w->conf.allowrootplugins) {
		snprintf(err, errlen, "running as root, and allowrootplugins "
		    "is off");
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->w = w;
	w->priv = s;
	TAILQ_INIT(&s->plugins);
	TAILQ_INIT(&s->gitwaits);
	TAILQ_INIT(&s->markwaits);
	scheduler_outbox_init(s);
	scheduler_starts_init(s);
	if ((s->runner = scheduler_runner_new(w->loop,
	    sched_isolation(&w->conf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (gethostname(s->host, sizeof(s->host)) == -1) {
		snprintf(err, errlen, "gethostname: %s", strerror(errno));
		return -1;
	}
	s->host[sizeof(s->host) - 1] = '\0';
	sched_limits(s, &w->conf);
	/* resolved once, here: never between fork and exec */
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		strlcpy(s->home, pw->pw_dir, sizeof(s->home));
	else
		strlcpy(s->home, "/", sizeof(s->home));
	ev_timer_init(&s->sweep, sweep_cb, 0., SWEEP_INTERVAL);
	s->sweep.data = s;
	ev_timer_start(w->loop, &s->sweep);
	/* before READY: /metrics has every family from the start */
	sched_push_stats(s);
	return 0;
}

/* Runs started from now on use the new values. */
static int
sched_reconfigure(struct worker *w, const struct agent_conf *next,
    char *err, size_t errlen)
{
	struct sched	*s = w->priv;

	if (s != NULL && next->isolateplugins != w->conf.isolateplugins)
		(void)scheduler_runner_isolate(s->runner,
		    sched_isolation(next));
	if (s != NULL && (next->pluginmaxprocs != w->conf.pluginmaxprocs ||
	    next->pluginmaxmemory != w->conf.pluginmaxmemory))
		sched_limits(s, next);
	return 0;
}

static int
sched_peer_msg(struct worker *w, enum role from, struct frame_in *in)
{
	struct sched	*s = w->priv;

	if (s == NULL)
		return -1;
	switch (in->hdr.type) {
	case MSG_ITEMS:
		if (from != ROLE_FETCHER || items_msg(s, in) == -1)
			return -1;
		/* applied (or refused and logged): the fetcher may answer */
		if (in->hdr.reqid != 0 && worker_send_peer(s->w, ROLE_FETCHER,
		    MSG_ITEMS_ACK, in->hdr.reqid, NULL, 0) == -1)
			log_warn("%s: ITEMS_ACK", __func__);
		return 0;
	case MSG_GIT_RESP:
		return from == ROLE_GITPULL ? scheduler_git_resp(s, in) : -1;
	case MSG_PLUGIN_REQ:
		return from == ROLE_FRONT ? scheduler_plugin_req(s, in) : -1;
	default:
		return -1;
	}
}

static void
sched_peer_changed(struct worker *w, enum role peer, pid_t pid)
{
	struct sched	*s = w->priv;
	struct plugin	*p;
	struct gitwait	*gw;

	if (s == NULL)
		return;
	if (peer == ROLE_GITPULL) {
		if (pid == 0) {
			scheduler_git_down(s);
			scheduler_marks_clear(s, "gitpull went away before "
			    "answering; try again");
		} else {
			scheduler_git_up(s);
			/* the sweep at our start came before gitpull */
			scheduler_marks_sweep(s);
		}
	} else if (peer == ROLE_FRONT && pid == 0) {
		/* a new front does not know these requests: no answers */
		TAILQ_FOREACH(p, &s->plugins, entry)
			p->run_reqid = 0;
		TAILQ_FOREACH(gw, &s->gitwaits, entry)
			gw->front_reqid = 0;
		scheduler_marks_forget_front(s);
	}
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sched	*s = t->data;

	log_warnx("%s: stopping with %zu plugin runs not reaped", __func__,
	    scheduler_runner_active(s->runner));
	worker_exit(s->w, 0);
}

static void
sched_shutdown(struct worker *w)
{
	struct sched	*s = w->priv;
	struct plugin	*p;
	struct gitwait	*gw;

	if (s == NULL) {
		worker_exit(w, 0);
		return;
	}
	s->stopping = 1;
	TAILQ_FOREACH(p, &s->plugins, entry)
		ev_timer_stop(w->loop, &p->timer);
	scheduler_starts_clear(s);
	ev_timer_stop(w->loop, &s->sweep);
	while ((gw = TAILQ_FIRST(&s->gitwaits)) != NULL) {
		if (gw->why != GIT_FOR_ITEMS)
			scheduler_respond_error(s, gw->front_reqid, 503,
			    "the agent is stopping");
		scheduler_gitwait_free(gw);
	}
	scheduler_marks_clear(s, "the agent is stopping");
	sched_push_stats(s);
	if (scheduler_runner_active(s->runner) == 0) {
		worker_exit(w, 0);
		return;
	}
	log_info("stopping: ending %zu plugin runs",
	    scheduler_runner_active(s->runner));
	scheduler_runner_stop_all(s->runner, RUN_GRACE);
	ev_timer_init(&s->stop_timer, stop_cb, RUN_GRACE + STOP_EXTRA, 0.);
	s->stop_timer.data = s;
	ev_timer_start(w->loop, &s->stop_timer);
}

static void
sched_cleanup(struct worker *w)
{
	struct sched	*s = w->priv;
	struct plugin	*p;
	struct gitwait	*gw;

	if (s == NULL)
		return;
	/*
	 * What runs that ended left: every way out of the loop ends here,
	 * and the worker flushes its edges after (worker_main(),
	 * worker_host_free()).
	 */
	scheduler_outbox_send(s);
	scheduler_outbox_free(s);
	scheduler_starts_clear(s);
	/* kills and reaps what is left, without callbacks */
	scheduler_runner_free(s->runner);
	while ((gw = TAILQ_FIRST(&s->gitwaits)) != NULL)
		scheduler_gitwait_free(gw);
	scheduler_marks_clear(s, NULL);
	while ((p = TAILQ_FIRST(&s->plugins)) != NULL) {
		TAILQ_REMOVE(&s->plugins, p, entry);
		ev_timer_stop(w->loop, &p->timer);
		item_free(&p->item);
		free(p);
	}
	ev_timer_stop(w->loop, &s->sweep);
	ev_timer_stop(w->loop, &s->stop_timer);
	metrics_free(&s->ms);
	free(s);
	w->priv = NULL;
}

const struct worker_ops scheduler_ops = {
	.role = ROLE_SCHEDULER,
	.start = sched_start,
	.reconfigure = sched_reconfigure,
	.peer_msg = sched_peer_msg,
	.peer_changed = sched_peer_changed,
	.shutdown = sched_shutdown,
	.cleanup = sched_cleanup,
	.stats = sched_stats,
	/*
	 * Its counters change with every run, and they carry each plugin's
	 * (a histogram each: 38 KB with 60 plugins), which the master
	 * decodes whole: once a second that was a tenth of what a run
	 * cost the agent (bench/README.md, "bench/plugins").
	 */
	.stats_every = SCHED_STATS_EVERY,
};
