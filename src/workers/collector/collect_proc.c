/*
 * PROC: for each PROC item N (e.g. PROC.nginx), the processes whose
 * /proc/<pid>/exe is the item's bin_path: N.procnum, N.fdnum, N.mem
 * (bytes of VmRSS), N.cpu (% of the whole machine) and N.io.read,
 * N.io.write (bytes/s); into the item's namespace (lodastack-protocols.md
 * section 5.10).
 *
 * Where this differs from the Go agent, and why:
 * - fdnum counts /proc/<pid>/fd and io comes from /proc/<pid>/io
 *   (read_bytes, write_bytes): the Go agent always sent 0 for both;
 * - rates (cpu, io) need two runs: none on the first run, and none for an
 *   item whose bin_path the previous run did not look for; a process
 *   counts in a rate only from its second sighting (the Go agent
 *   compared a new pid with 0: its average since it started);
 * - a pid is the same process only with the same start time (field 22
 *   of stat), so a reused pid is a new process, not a counter reset;
 * - a counter that went backwards gives nothing for that process;
 * - stat is parsed after the last ')' (a comm may hold blanks and
 *   parentheses), where the Go agent split the line on blanks;
 * - an exe link ending in " (deleted)" (the binary was replaced by an
 *   upgrade, the process runs on) still matches its bin_path;
 * - cpu is capped at 100 (process and machine times are read at not
 *   quite the same moment) and no point comes when the machine's total
 *   did not move.
 * io.read and io.write are ceil(bytes / seconds) as in the Go agent,
 * the seconds from the monotonic clock between the runs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "collect_file.h"
#include "collect_pids.h"
#include "collect_proc.h"
#include "log.h"

#define PROC_DELETED	" (deleted)"
#define PROC_STAT_MAX	(1024 * 1024)	/* bytes of /proc/stat */

/* One matching process in one run. */
struct proc_sample {
	int		 pid;
	const char	*bin;		/* the item's bin_path it matched */
	uint64_t	 start;		/* starttime, clock ticks after boot */
	uint64_t	 cpu;		/* utime + stime, clock ticks */
	uint64_t	 rss;		/* kB */
	uint64_t	 fds;
	uint64_t	 rbytes, wbytes;
	int		 has_io;
	int		 seen;		/* in the previous run too */
	uint64_t	 dcpu;		/* since then, when seen */
	uint64_t	 dr, dw;
};

/* What the previous run saw. */
struct proc_state {
	struct proc_sample	*prev;		/* sorted by pid */
	size_t			 nprev;
	char			**bins;		/* bin_paths looked for */
	size_t			 nbins;
	uint64_t		 total;		/* /proc/stat cpu, 0: unknown */
	double			 mono;
	int			 have_prev;
};

struct proc_run {
	struct proc_sample	*v;
	size_t			 n;
	size_t			 cap;
};

static void *
proc_init(void)
{
	return calloc(1, sizeof(struct proc_state));
}

static void
proc_forget(struct proc_state *st)
{
	size_t	 i;

	free(st->prev);
	for (i = 0; i < st->nbins; i++)
		free(st->bins[i]);
	free(st->bins);
	memset(st, 0, sizeof(*st));
}

static void
proc_fini(void *state)
{
	if (state == NULL)
		return;
	proc_forget(state);
	free(state);
}

/* Sum of every number on the "cpu " line of /proc/stat; 0 on failure. */
static uint64_t
cpu_total(const char *root)
{
	struct cfile	 f;
	char		 why[PATH_MAX + 64];
	const char	*s;
	uint64_t	 v, sum = 0;

	memset(&f, 0, sizeof(f));
	if (collect_slurp(root, "/proc/stat", PROC_STAT_MAX, &f, why,
	    sizeof(why)) == -1) {
		log_warnx("%s: collect proc: %s", __func__, why);
		collect_file_free(&f);
		return 0;
	}
	if (strncmp(f.p, "cpu ", 4) != 0) {
		log_warnx("%s: collect proc: %s/proc/stat: no cpu line first",
		    __func__, root);
		collect_file_free(&f);
		return 0;
	}
	s = f.p + 4;
	while (collect_u64(s, &s, &v) == 0) {
		if (sum > UINT64_MAX - v) {
			sum = 0;
			break;
		}
		sum += v;
	}
	collect_file_free(&f);
	return sum;
}

int
collect_proc_stat_parse(const char *text, uint64_t *cpu, uint64_t *start)
{
	const char	*q;
	uint64_t	 v, ut = 0, stt = 0, st = 0;
	int		 field;

	if ((q = strrchr(text, ')')) == NULL)
		return -1;
	q++;
	/* field 3 is the state letter; numbers from field 4 on */
	while (*q == ' ')
		q++;
	if (!isalpha((unsigned char)*q))
		return -1;
	q++;
	for (field = 4; field <= 22; field++) {
		if (collect_u64(q, &q, &v) == -1) {
			/* tpgid, priority and nice may be negative */
			while (*q == ' ')
				q++;
			if (*q != '-')
				return -1;
			q++;
			if (collect_u64(q, &q, &v) == -1)
				return -1;
		}
		if (field == 14)
			ut = v;
		else if (field == 15)
			stt = v;
		else if (field == 22)
			st = v;
	}
	if (ut > UINT64_MAX - stt)
		return -1;
	*cpu = ut + stt;
	*start = st;
	return 0;
}

static int
read_stat(const char *root, int pid, struct proc_sample *s)
{
	char		 path[PATH_MAX], buf[2048];

	if (collect_path(path, sizeof(path), root, "/proc/%d/stat",
	    pid) == -1 ||
	    collect_read(path, buf, sizeof(buf)) == -1)
		return -1;
	return collect_proc_stat_parse(buf, &s->cpu, &s->start);
}

int
collect_proc_line_u64(const char *text, const char *key, uint64_t *out)
{
	const char	*p = text;
	size_t		 n = strlen(key);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, n) == 0) {
			p += n;
			return collect_u64(p, &p, out);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/*
 * VmRSS comes after Groups:, which a process with thousands of
 * supplementary groups makes longer than buf: its status is then read
 * whole, up to STATUS_MAX (65536 groups of 10 digits), rather than its
 * memory taken for 0.
 */
#define STATUS_MAX	(1024 * 1024)

static void
read_rss(const char *root, int pid, struct proc_sample *s)
{
	struct cfile	 f;
	char		 path[PATH_MAX], rel[64], buf[16384], err[256];

	/* none (a kernel thread, a zombie): 0 */
	s->rss = 0;
	snprintf(rel, sizeof(rel), "/proc/%d/status", pid);
	if (collect_path(path, sizeof(path), root, "%s", rel) == -1)
		return;
	if (collect_read(path, buf, sizeof(buf)) != -1) {
		if (collect_proc_line_u64(buf, "VmRSS:", &s->rss) == -1)
			s->rss = 0;
		return;
	}
	if (errno != EFBIG)
		return;
	memset(&f, 0, sizeof(f));
	if (collect_slurp(root, rel, STATUS_MAX, &f, err, sizeof(err)) == 0 &&
	    collect_proc_line_u64(f.p, "VmRSS:", &s->rss) == -1)
		s->rss = 0;
	collect_file_free(&f);
}

static void
read_io(const char *root, int pid, struct proc_sample *s)
{
	char	 path[PATH_MAX], buf[1024];

	s->has_io = 0;
	if (collect_path(path, sizeof(path), root, "/proc/%d/io", pid) == -1 ||
	    collect_read(path, buf, sizeof(buf)) == -1)
		return;		/* gone, or no task io accounting */
	if (collect_proc_line_u64(buf, "read_bytes:", &s->rbytes) == 0 &&
	    collect_proc_line_u64(buf, "write_bytes:", &s->wbytes) == 0)
		s->has_io = 1;
}

static void
count_fds(const char *root, int pid, struct proc_sample *s)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*d;

	s->fds = 0;
	if (collect_path(path, sizeof(path), root, "/proc/%d/fd", pid) == -1 ||
	    (d = opendir(path)) == NULL)
		return;		/* gone meanwhile */
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			s->fds++;
	(void)closedir(d);
}

/* The bin_path (of bins) /proc/<pid>/exe names, or NULL. */
static const char *
match_exe(const char *root, int pid, char *const *bins, size_t nbins)
{
	char	 path[PATH_MAX], exe[PATH_MAX + sizeof(PROC_DELETED)];
	ssize_t	 n;
	size_t	 i, dl = strlen(PROC_DELETED);

	if (collect_path(path, sizeof(path), root, "/proc/%d/exe", pid) == -1)
		return NULL;
	/* kernel threads and zombies have none */
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((size_t)n > dl && strcmp(exe + n - dl, PROC_DELETED) == 0)
		exe[n - dl] = '\0';
	for (i = 0; i < nbins; i++)
		if (strcmp(exe, bins[i]) == 0)
			return bins[i];
	return NULL;
}

static int
pid_cmp(const void *a, const void *b)
{
	const struct proc_sample	*x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * A walk for the matching processes, made in a walk's thread
 * (collect_pids.h): it owns a copy of the items' bin_paths, which its
 * samples point into.
 */
struct proc_walk {
	struct collect_walk	 w;	/* first: the walk is the struct */
	char			**bins;
	size_t			 nbins;
	struct proc_run		 run;
};

static void
proc_walk_destroy(struct collect_walk *w)
{
	struct proc_walk	*pw = (struct proc_walk *)w;
	size_t			 i;

	for (i = 0; i < pw->nbins; i++)
		free(pw->bins[i]);
	free(pw->bins);
	free(pw->run.v);
	free(pw);
}

static int
proc_visit(struct collect_walk *w, const char *root, int pid)
{
	struct proc_walk	*pw = (struct proc_walk *)w;
	struct proc_run		*run = &pw->run;
	struct proc_sample	 s, *nv;
	const char		*bin;
	size_t			 cap;

	if ((bin = match_exe(root, pid, pw->bins, pw->nbins)) == NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	s.pid = pid;
	s.bin = bin;
	if (read_stat(root, pid, &s) == -1)
		return 0;	/* gone meanwhile */
	read_rss(root, pid, &s);
	count_fds(root, pid, &s);
	read_io(root, pid, &s);
	if (run->n == run->cap) {
		cap = run->cap == 0 ? 16 : run->cap * 2;
		if ((nv = reallocarray(run->v, cap, sizeof(*nv))) == NULL) {
			snprintf(w->err, sizeof(w->err), "%s",
			    strerror(errno));
			return -1;
		}
		run->v = nv;
		run->cap = cap;
	}
	run->v[run->n++] = s;
	return 0;
}

/*
 * Every matching process, sorted by pid: the walk (the caller's to
 * destroy), or NULL with err.
 */
static struct proc_walk *
scan(const struct collect_env *env, char *err, size_t errlen)
{
	struct proc_walk	*pw;
	const struct items	*it = env->items;

	if (env->pids == NULL) {
		snprintf(err, errlen, "no process walker");
		return NULL;
	}
	if ((pw = calloc(1, sizeof(*pw))) == NULL ||
	    (pw->bins = calloc(it->nprocs, sizeof(*pw->bins))) == NULL) {
		free(pw);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	pw->w.visit = proc_visit;
	pw->w.destroy = proc_walk_destroy;
	pw->w.budget = collect_pids_budget(items_interval(it, SYS_PROC));
	for (pw->nbins = 0; pw->nbins < it->nprocs; pw->nbins++)
		if ((pw->bins[pw->nbins] =
		    strdup(it->procs[pw->nbins].bin_path)) == NULL) {
			proc_walk_destroy(&pw->w);
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return NULL;
		}
	if (collect_pids_walk(env->pids, env->root, &pw->w, err,
	    errlen) == -1)
		return NULL;
	if (pw->run.n > 0)
		qsort(pw->run.v, pw->run.n, sizeof(*pw->run.v), pid_cmp);
	return pw;
}

/* Deltas of every sample against the previous run's same process. */
static void
deltas(const struct proc_state *st, struct proc_run *run)
{
	struct proc_sample	*s, *p;
	size_t			 i;

	if (st->nprev == 0)
		return;
	for (i = 0; i < run->n; i++) {
		s = &run->v[i];
		p = bsearch(s, st->prev, st->nprev, sizeof(*p), pid_cmp);
		if (p == NULL || p->start != s->start)
			continue;	/* new, or a reused pid */
		s->seen = 1;
		/* a counter that went backwards gives nothing */
		s->dcpu = s->cpu >= p->cpu ? s->cpu - p->cpu : 0;
		if (s->has_io && p->has_io) {
			s->dr = s->rbytes >= p->rbytes ?
			    s->rbytes - p->rbytes : 0;
			s->dw = s->wbytes >= p->wbytes ?
			    s->wbytes - p->wbytes : 0;
		}
	}
}

static int
bin_seen(const struct proc_state *st, const char *bin)
{
	size_t	 i;

	for (i = 0; i < st->nbins; i++)
		if (strcmp(st->bins[i], bin) == 0)
			return 1;
	return 0;
}

/* N.<suffix> into the item's namespace; names over the limit skipped. */
static void
emit(struct point_list *out, const struct proc_item *pi, const char *suffix,
    int is_float, int64_t iv, double fv)
{
	char		 name[POINT_NAME_MAX + 1];
	int		 n;

	n = snprintf(name, sizeof(name), "%s.%s", pi->name, suffix);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		log_warnx("%s: collect proc: %s.%s: name longer than %d bytes",
		    __func__, pi->name, suffix, POINT_NAME_MAX);
		return;
	}
	/* to the item's namespace only */
	collect_list_route(out, pi->ns);
	if (is_float)
		(void)collect_list_add_float(out, name, fv, NULL);
	else
		(void)collect_list_add_int(out, name, iv, NULL);
	collect_list_route(out, NULL);
}

static int64_t
clamp64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void
item_points(const struct proc_state *st, const struct proc_run *run,
    const struct proc_item *pi, uint64_t total, double mono,
    struct point_list *out)
{
	const struct proc_sample	*s;
	uint64_t			 num = 0, fds = 0, rss = 0, dcpu = 0;
	uint64_t			 dr = 0, dw = 0;
	double				 dt, pct;
	size_t				 i;
	int				 rates;

	for (i = 0; i < run->n; i++) {
		s = &run->v[i];
		if (strcmp(s->bin, pi->bin_path) != 0)
			continue;
		num++;
		fds += s->fds;
		rss += s->rss;
		if (!s->seen)
			continue;
		dcpu += s->dcpu;
		dr += s->dr;
		dw += s->dw;
	}
	emit(out, pi, "procnum", 0, clamp64(num), 0);
	emit(out, pi, "fdnum", 0, clamp64(fds), 0);
	emit(out, pi, "mem", 0, rss > (uint64_t)INT64_MAX / 1024 ?
	    INT64_MAX : (int64_t)(rss * 1024), 0);
	rates = st->have_prev && bin_seen(st, pi->bin_path);
	if (rates && st->total != 0 && total > st->total) {
		pct = (double)dcpu * 100 / (double)(total - st->total);
		emit(out, pi, "cpu", 1, 0,
		    collect_trunc2(pct > 100 ? 100 : pct));
	}
	dt = mono - st->mono;
	if (rates && dt > 0) {
		emit(out, pi, "io.read", 1, 0, ceil((double)dr / dt));
		emit(out, pi, "io.write", 1, 0, ceil((double)dw / dt));
	}
}

/*
 * This run becomes the previous one: its samples and the walk's copy of
 * the bin_paths they were matched against, taken from the walk.
 */
static void
remember(struct proc_state *st, struct proc_walk *pw, uint64_t total,
    double mono)
{
	proc_forget(st);
	st->prev = pw->run.v;
	st->nprev = pw->run.n;
	pw->run.v = NULL;
	st->bins = pw->bins;
	st->nbins = pw->nbins;
	pw->bins = NULL;
	pw->nbins = 0;
	st->total = total;
	st->mono = mono;
	st->have_prev = 1;
}

static int
proc_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct proc_state	*st = state;
	struct proc_walk	*pw;
	struct proc_run		*run;
	uint64_t		 total;
	size_t			 i;

	if (env->items == NULL || env->items->nprocs == 0) {
		proc_forget(st);
		return 0;
	}
	total = cpu_total(env->root);
	if ((pw = scan(env, err, errlen)) == NULL)
		return -1;
	run = &pw->run;
	deltas(st, run);
	for (i = 0; i < env->items->nprocs; i++)
		item_points(st, run, &env->items->procs[i], total, env->mono,
		    out);
	/* only pids and numbers are used from the previous run */
	for (i = 0; i < run->n; i++)
		run->v[i].bin = NULL;
	remember(st, pw, total, env->mono);
	proc_walk_destroy(&pw->w);
	return 0;
}

const struct collect_family collect_proc_family = {
	.name = "proc",
	.type = SYS_PROC,
	.init = proc_init,
	.fini = proc_fini,
	.collect = proc_collect,
};
