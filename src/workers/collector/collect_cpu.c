/*
 * CPU type (lodastack-protocols.md 5.1): agent.alive, cpu.idle,
 * cpu.idle.core, cpu.loadavg.{1,5,15} and ps.{zombies,running,total}.num,
 * from /proc/stat, /proc/loadavg and /proc/<pid>/stat.
 *
 * The Go agent sampled /proc/stat every 10 s in the background and took
 * the idle share between its last two samples; here it is taken between
 * this run and the previous one, so over one CPU interval.  No cpu.idle
 * on the first run.  Cores are matched by their number (cpuN), not their
 * position: a core that went offline or came back is left out of that
 * run instead of ending the list, and a counter that went backwards
 * (hotplug) skips that core.  The load averages need no history and are
 * sent from the first run (the Go agent held them back with cpu.idle).
 * ps.total.num counts processes; the Go agent counted `ps axo state`
 * lines, its header included, so one more.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "collect_cpu.h"
#include "collect_file.h"
#include "collect_pids.h"
#include "util.h"

#define CPU_CORES_MAX	65536		/* cpuN beyond this is ignored */

struct cpu_sample {
	unsigned long long	 total;
	unsigned long long	 idle;
	int			 present;
};

struct cpu_state {
	struct cfile		 stat;
	struct cfile		 loadavg;
	struct cpu_sample	 all, prev_all;
	struct cpu_sample	*core, *prev_core;	/* by core number */
	size_t			 ncore, nprev_core;	/* entries in use */
	size_t			 cap, prev_cap;
	int			 have_prev;
	char			 corename[16];
};

static void *
cpu_init(void)
{
	return calloc(1, sizeof(struct cpu_state));
}

static void
cpu_fini(void *arg)
{
	struct cpu_state	*s = arg;

	if (s == NULL)
		return;
	collect_file_free(&s->stat);
	collect_file_free(&s->loadavg);
	free(s->core);
	free(s->prev_core);
	free(s);
}

/* "cpu  1 2 3 ..." (after the label): every column summed, idle = 4th. */
static int
cpu_line(char *rest, struct cpu_sample *out)
{
	unsigned long long	 total = 0, idle = 0;
	uint64_t		 v;
	char			*tok;
	int			 col = 0;

	while ((tok = collect_token(&rest)) != NULL) {
		if (collect_u64(tok, NULL, &v) == -1)
			return -1;
		if (v > ~0ULL - total)
			return -1;
		total += v;
		if (++col == 4)
			idle = v;
	}
	if (col < 4)
		return -1;
	out->total = total;
	out->idle = idle;
	out->present = 1;
	return 0;
}

static int
core_slot(struct cpu_state *s, size_t n)
{
	struct cpu_sample	*c;
	size_t			 cap;

	if (n < s->cap)
		return 0;
	cap = s->cap == 0 ? 64 : s->cap;
	while (cap <= n)
		cap *= 2;
	if ((c = reallocarray(s->core, cap, sizeof(*c))) == NULL)
		return -1;
	memset(c + s->cap, 0, (cap - s->cap) * sizeof(*c));
	s->core = c;
	s->cap = cap;
	return 0;
}

/* /proc/stat into s->all and s->core[]. */
static int
read_stat(struct cpu_state *s, const struct collect_env *env, char *err,
    size_t errlen)
{
	uint64_t		 n;
	char			*p, *label, *line;
	int			 have_all = 0;

	if (collect_slurp(env->root, "/proc/stat", COLLECT_SLURP_MAX,
	    &s->stat, err, errlen) == -1)
		return -1;
	memset(&s->all, 0, sizeof(s->all));
	if (s->cap > 0)
		memset(s->core, 0, s->cap * sizeof(*s->core));
	s->ncore = 0;
	for (p = s->stat.p; (line = collect_line(&p)) != NULL; ) {
		/* the cpu lines come first; the rest is not ours */
		if (strncmp(line, "cpu", 3) != 0)
			break;
		label = collect_token(&line);
		if (strcmp(label, "cpu") == 0) {
			if (cpu_line(line, &s->all) == -1)
				goto bad;
			have_all = 1;
			continue;
		}
		if (collect_u64(label + 3, NULL, &n) == -1 ||
		    n >= CPU_CORES_MAX)
			continue;
		if (core_slot(s, (size_t)n) == -1) {
			snprintf(err, errlen, "/proc/stat: out of memory");
			return -1;
		}
		if (cpu_line(line, &s->core[n]) == -1)
			goto bad;
		if ((size_t)n + 1 > s->ncore)
			s->ncore = (size_t)n + 1;
	}
	if (!have_all)
		goto bad;
	return 0;
 bad:
	snprintf(err, errlen, "%s/proc/stat: no cpu line as expected",
	    env->root);
	return -1;
}

/* Idle share between two samples: -1 when there is none to give. */
static double
idle_share(const struct cpu_sample *prev, const struct cpu_sample *cur)
{
	if (!prev->present || !cur->present ||
	    cur->total < prev->total || cur->idle < prev->idle)
		return -1.0;
	if (cur->total == prev->total)
		return -1.0;
	return collect_trunc2((double)(cur->idle - prev->idle) * 100.0 /
	    (double)(cur->total - prev->total));
}

static void
emit_idle(struct cpu_state *s, struct point_list *out)
{
	double	 v;
	size_t	 i;

	/* Δtotal = 0 over a whole interval cannot happen; the Go agent
	 * sent 0 then, and so do we */
	v = idle_share(&s->prev_all, &s->all);
	if (v >= 0.0)
		(void)collect_list_add_float(out, "cpu.idle", v, NULL);
	else if (s->all.total == s->prev_all.total &&
	    s->all.idle == s->prev_all.idle)
		(void)collect_list_add_float(out, "cpu.idle", 0.0, NULL);
	for (i = 0; i < s->ncore && i < s->nprev_core; i++) {
		if ((v = idle_share(&s->prev_core[i], &s->core[i])) < 0.0)
			continue;
		snprintf(s->corename, sizeof(s->corename), "%zu", i);
		(void)collect_list_add_float(out, "cpu.idle.core", v, "core",
		    s->corename, NULL);
	}
}

/* This sample becomes the previous one: swap the arrays, no copy. */
static void
keep_sample(struct cpu_state *s)
{
	struct cpu_sample	*t = s->prev_core;
	size_t			 c = s->prev_cap;

	s->prev_all = s->all;
	s->prev_core = s->core;
	s->prev_cap = s->cap;
	s->nprev_core = s->ncore;
	s->core = t;
	s->cap = c;
	s->ncore = 0;
	s->have_prev = 1;
}

static int
emit_loadavg(struct cpu_state *s, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	static const char *const names[3] = {
		"cpu.loadavg.1", "cpu.loadavg.5", "cpu.loadavg.15"
	};
	double	 v[3];
	char	*p, *tok, *end;
	int	 i;

	if (collect_slurp(env->root, "/proc/loadavg", COLLECT_SLURP_MAX,
	    &s->loadavg, err, errlen) == -1)
		return -1;
	p = s->loadavg.p;
	for (i = 0; i < 3; i++) {
		if ((tok = collect_token(&p)) == NULL)
			goto bad;
		errno = 0;
		v[i] = strtod(tok, &end);
		if (errno != 0 || end == tok || *end != '\0' || !(v[i] >= 0.0))
			goto bad;
	}
	for (i = 0; i < 3; i++)
		(void)collect_list_add_float(out, names[i], v[i], NULL);
	return 0;
 bad:
	snprintf(err, errlen, "%s/proc/loadavg: not three load averages",
	    env->root);
	return -1;
}

/* Counts of processes by state, made in a walk's thread. */
struct ps_walk {
	struct collect_walk	 w;	/* first: the walk is the struct */
	int64_t			 total, running, zombies;
};

int
collect_cpu_ps_state(const char *text)
{
	const char	*rp;

	if ((rp = strrchr(text, ')')) == NULL || rp[1] != ' ' ||
	    rp[2] == '\0')
		return -1;
	return (unsigned char)rp[2];
}

/* A process that ends while we look is not counted. */
static int
ps_visit(struct collect_walk *w, const char *root, int pid)
{
	struct ps_walk	*pw = (struct ps_walk *)w;
	/* buf: a whole stat line (about 1200 bytes at most) */
	char		 path[PATH_MAX], buf[2048];
	int		 state;

	if (collect_path(path, sizeof(path), root, "/proc/%d/stat",
	    pid) == -1 ||
	    collect_read(path, buf, sizeof(buf)) <= 0 ||
	    (state = collect_cpu_ps_state(buf)) == -1)
		return 0;
	pw->total++;
	/* the collector itself runs (this walk): its stat shows the main
	 * thread, asleep waiting for the walk */
	if (state == 'R' || (root[0] == '\0' && pid == getpid()))
		pw->running++;
	else if (state == 'Z')
		pw->zombies++;
	return 0;
}

static void
ps_destroy(struct collect_walk *w)
{
	free(w);
}

/* ps.*.num: a walk of every process (collect_pids.h says why a walk). */
static int
emit_ps(const struct collect_env *env, struct point_list *out, char *err,
    size_t errlen)
{
	struct ps_walk	*pw;

	if (env->pids == NULL) {
		snprintf(err, errlen, "ps: no process walker");
		return -1;
	}
	if ((pw = calloc(1, sizeof(*pw))) == NULL) {
		snprintf(err, errlen, "ps: %s", strerror(errno));
		return -1;
	}
	pw->w.visit = ps_visit;
	pw->w.destroy = ps_destroy;
	pw->w.budget = collect_pids_budget(env->items != NULL ?
	    items_interval(env->items, SYS_CPU) : 0);
	if (collect_pids_walk(env->pids, env->root, &pw->w, err,
	    errlen) == -1)
		return -1;
	(void)collect_list_add_int(out, "ps.zombies.num", pw->zombies, NULL);
	(void)collect_list_add_int(out, "ps.running.num", pw->running, NULL);
	(void)collect_list_add_int(out, "ps.total.num", pw->total, NULL);
	ps_destroy(&pw->w);
	return 0;
}

static int
cpu_collect(void *arg, const struct collect_env *env, struct point_list *out,
    char *err, size_t errlen)
{
	struct cpu_state	*s = arg;
	char			 why[512];
	int			 rv = 0;

	err[0] = '\0';
	(void)collect_list_add_int(out, "agent.alive", 1, NULL);
	/* each source on its own: one that fails does not take the
	 * others with it; the first failure is the one reported */
	if (read_stat(s, env, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		rv = -1;
		/* the next good sample is a first one again */
		s->have_prev = 0;
	} else {
		if (s->have_prev)
			emit_idle(s, out);
		keep_sample(s);
	}
	if (emit_loadavg(s, env, out, why, sizeof(why)) == -1) {
		if (rv == 0)
			snprintf(err, errlen, "%s", why);
		rv = -1;
	}
	if (emit_ps(env, out, why, sizeof(why)) == -1) {
		if (rv == 0)
			snprintf(err, errlen, "%s", why);
		rv = -1;
	}
	return rv;
}

const struct collect_family collect_cpu_family = {
	.name = "cpu",
	.type = SYS_CPU,
	.init = cpu_init,
	.fini = cpu_fini,
	.collect = cpu_collect,
};
