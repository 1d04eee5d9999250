/*
 * Each plugin once, for `agent test` and `agent plugin run`: the
 * scheduler's own code in a hosted worker (worker_host_init), so a run is
 * what the daemon's would be: pluginsuser and the scheduler's sandbox,
 * the checkout through gitpull (signatures checked with gitsigners), the
 * plugins' environment, timeout, output parsing and naming, plugin.result
 * (regular for a timer's run, call for /plugins/run's), and the points to
 * the sender, which is the command that prints them instead of
 * publishing.
 *
 * The scheduler is put in its stopping state from the start: nothing is
 * scheduled on a timer (each plugin runs exactly once, now), and the end
 * of the last run ends the loop.
 */
#include "scheduler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define ONCE_GITPULL_WAIT	30.0	/* seconds for gitpull's HELLO */
#define ONCE_STDERR_SHOWN	300	/* bytes of stderr on a line */

struct once_wait {
	struct worker	*w;
	int		 expired;
	ev_timer	 t;
};

static void
expired_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct once_wait	*ow = t->data;

	ow->expired = 1;
}

static int
gitpull_up(const struct worker *w)
{
	return w->peers[ROLE_GITPULL] != NULL &&
	    w->peer_pid[ROLE_GITPULL] > 0;
}

/* Run the loop until gitpull says HELLO, or it is gone, or time is up. */
static int
wait_gitpull(struct worker *w)
{
	struct once_wait	 ow;

	memset(&ow, 0, sizeof(ow));
	ow.w = w;
	ev_timer_init(&ow.t, expired_cb, ONCE_GITPULL_WAIT, 0.);
	ow.t.data = &ow;
	ev_timer_start(w->loop, &ow.t);
	while (!gitpull_up(w) && w->peers[ROLE_GITPULL] != NULL &&
	    !ow.expired)
		ev_run(w->loop, EVRUN_ONCE);
	ev_timer_stop(w->loop, &ow.t);
	return gitpull_up(w) ? 0 : -1;
}

/* Every checkout answered, or gitpull gone (nothing more will come). */
static void
wait_checkouts(struct sched *s)
{
	struct worker	*w = s->w;

	while (!TAILQ_EMPTY(&s->gitwaits) && gitpull_up(w))
		ev_run(w->loop, EVRUN_ONCE);
}

/*
 * One line of the report on the terminal.  It quotes the plugin's stderr,
 * git's (a git server's words) and the like: escaped as the log is
 * (log_escape_all), so no control character or escape sequence reaches
 * the terminal.
 */
static void	 say(const struct scheduler_once *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
say(const struct scheduler_once *o, const char *fmt, ...)
{
	char	 line[2048], clean[4 * sizeof(line)];
	va_list	 ap;

	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	log_escape_all(clean, sizeof(clean), line);
	(void)dprintf(o->report_fd, "%s\n", clean);
}

/* The end of stderr on one line: control bytes as spaces. */
static void
one_line(const char *in, char *out, size_t outlen)
{
	size_t	 len = strlen(in), i;

	while (len > 0 && strchr(" \t\r\n", in[len - 1]) != NULL)
		len--;
	if (len > ONCE_STDERR_SHOWN) {
		in += len - ONCE_STDERR_SHOWN;
		len = ONCE_STDERR_SHOWN;
	}
	if (len >= outlen)
		len = outlen - 1;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? ' ' :
		    in[i];
	out[len] = '\0';
}

/* The plugin's line; 1 when it counts as failed. */
static int
report(const struct scheduler_once *o, const struct plugin *p, int ran)
{
	const struct last_run	*l = &p->last;
	char			 tail[ONCE_STDERR_SHOWN + 1];
	const char		*status;

	if (!ran) {
		if (p->checkout == CHECKOUT_OK && !p->enabled) {
			say(o, "plugin %s: disabled (marker file), not run",
			    p->key);
			return 0;
		}
		say(o, "plugin %s: %s, not run: %s", p->key,
		    p->checkout == CHECKOUT_UNTRUSTED ? "untrusted" :
		    "no checkout", p->git_error[0] != '\0' ? p->git_error :
		    "gitpull did not answer");
		return 1;
	}
	status = l->ok ? "ok" : l->timed_out ? "timeout" : "failed";
	if (l->ok && l->dropped == 0) {
		say(o, "plugin %s: ok in %.3f s, %zu points", p->key,
		    l->duration, l->points);
		return 0;
	}
	if (l->ok) {
		say(o, "plugin %s: ok in %.3f s, %zu points, %zu bad ones "
		    "dropped, the first: %s", p->key,
		    l->duration, l->points, l->dropped, l->drop_error);
		return 0;
	}
	one_line(l->stderr_tail, tail, sizeof(tail));
	say(o, "plugin %s: %s in %.3f s, %zu points: %s%s%s",
	    p->key, status, l->duration, l->points, l->error,
	    tail[0] != '\0' ? "; stderr: " : "", tail);
	return !l->ok;
}

int
scheduler_once(struct worker *w, const struct items *it,
    const struct scheduler_once *o)
{
	struct sched	*s = w->priv;
	struct plugin	*p;
	char		 key[SCHED_KEY_MAX];
	size_t		 i;
	int		 failed = 0;

	if (s == NULL)
		return (int)it->nplugins;
	/* no timer of ours: each plugin runs here, once */
	s->stopping = 1;
	for (i = 0; i < it->nplugins; i++) {
		snprintf(key, sizeof(key), "%s|%s", it->plugins[i].ns,
		    it->plugins[i].project);
		if (scheduler_find(s, key) != NULL) {
			log_warnx("%s: plugin %s is listed twice: the first is "
			    "kept", __func__, key);
			continue;
		}
		if ((p = scheduler_plugin_new(s, &it->plugins[i], key)) ==
		    NULL) {
			say(o, "plugin %s: out of memory", key);
			failed++;
			continue;
		}
		p->seen = 1;
	}
	if (TAILQ_EMPTY(&s->plugins))
		return failed;
	if (wait_gitpull(w) == -1)
		log_warnx("%s: gitpull is not there: no checkout can be "
		    "made", __func__);
	else {
		/* clone what is missing, as for new items */
		TAILQ_FOREACH(p, &s->plugins, entry)
			(void)scheduler_git(s, p, GIT_FOR_ITEMS, 0);
		wait_checkouts(s);
	}
	TAILQ_FOREACH(p, &s->plugins, entry) {
		if (p->checkout != CHECKOUT_OK ||
		    (!p->enabled && !o->disabled_too))
			continue;
		scheduler_run(p, o->kind, o->argv != NULL ? o->argv :
		    &p->item.params, o->timeout > 0 ? o->timeout :
		    scheduler_timeout(p->item.interval), 0);
	}
	/* the last run's end leaves the loop (s->stopping) */
	if (scheduler_runner_active(s->runner) > 0)
		ev_run(w->loop, 0);
	/* last.at: set by every run, even one that could not start */
	TAILQ_FOREACH(p, &s->plugins, entry)
		failed += report(o, p, p->last.at != 0);
	return failed;
}
