/*
 * agent test -f FILE [-n NS] [-p REPO] [-v]
 * agent plugin run [-f FILE] [-t SECONDS] [-v] NS REPO [-- PARAM...]
 *
 * "Works by hand, fails as a service" (the peers' trackers are full of
 * it): these run what the daemon would run, as it would (testmode.h
 * says how), print on standard output what it would publish, one line
 * per plugin on standard error, and exit 1 when a plugin failed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "conf_load.h"
#include "dirs.h"
#include "log.h"
#include "master.h"
#include "testmode.h"
#include "util.h"
#include "workers/collector/collector.h"
#include "workers/scheduler/scheduler.h"

/* Beyond the longest plugin timeout and git's: only a hang ends here. */
#define RUN_SLACK	120.0

struct selection {
	const char	*ns;		/* -n, or plugin run's NS */
	const char	*repo;		/* -p, or plugin run's REPO */
};

static void
warn_cb(const char *msg, void *arg)
{
	fprintf(stderr, "agent: warning: %s\n", msg);
}

static int
tm_init(struct testmode *tm, const char *path, int verbose)
{
	char	 err[1024];

	memset(tm, 0, sizeof(*tm));
	items_init(&tm->items);
	if (conf_load(path, &tm->conf, warn_cb, NULL, err,
	    sizeof(err)) == -1 ||
	    conf_check_env(&tm->conf, geteuid() == 0, warn_cb, NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "agent: %s\n", err);
		return EXIT_USAGE;
	}
	/* the workers' lines: errors, or everything with -v */
	tm->show = verbose ? LOG_LVL_DEBUG : LOG_LVL_ERROR;
	tm->conf.loglevel = tm->show;
	log_set_level(tm->show);
	/* the daemon's own figures have no place in a test */
	tm->conf.selfmetrics = 0;
	/* the paths under the rules of start; pluginsdir for gitpull */
	if (dirs_check(&tm->conf, geteuid(), err, sizeof(err)) == -1) {
		fprintf(stderr, "agent: %s\n", err);
		return EXIT_USAGE;
	}
	if (dirs_prepare(&tm->conf, geteuid(), err, sizeof(err)) == -1) {
		fprintf(stderr, "agent: %s\n", err);
		return EXIT_FAIL;
	}
	if ((tm->loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "agent: cannot create an event loop\n");
		return EXIT_FAIL;
	}
	relay_set_init(&tm->relays, tm->loop);
	/* a worker that dies under a write must not take us along */
	signal(SIGPIPE, SIG_IGN);
	return EXIT_OK;
}

static void
tm_free(struct testmode *tm)
{
	struct tm_proc	*ps[] = { &tm->sched, &tm->collector, &tm->gitpull,
	    &tm->fetcher };
	size_t		 i;

	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		testmode_stop(tm, ps[i], 5.0);
	for (i = 0; i < 2; i++)
		if (tm->sink[i] != NULL)
			frame_conn_close(tm->sink[i]);
	testmode_batches_free(tm);
	items_free(&tm->items);
	conf_free(&tm->conf);
	if (tm->loop != NULL) {
		relay_set_flush(&tm->relays);
		ev_loop_destroy(tm->loop);
	}
}

/* REPO as the registry's git value, group/project, or the project. */
static int
repo_matches(const struct plugin_item *p, const char *repo)
{
	return strcmp(p->repo, repo) == 0 || strcmp(p->project, repo) == 0 ||
	    strcmp(p->git, repo) == 0;
}

static int
has_ns(const struct strlist *l, const char *ns)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], ns) == 0)
			return 1;
	return 0;
}

/* What -n and -p leave of the items; -1 (said) when NS is not ours. */
static int
select_items(struct testmode *tm, const struct selection *sel,
    struct items *out)
{
	const struct items	*it = &tm->items;
	size_t			 i;

	items_init(out);
	if (sel->ns != NULL && !has_ns(&it->namespaces, sel->ns)) {
		fprintf(stderr, "agent: namespace \"%s\" is not one of this "
		    "host's (%zu in the registry's items)\n", sel->ns,
		    it->namespaces.n);
		return -1;
	}
	memcpy(out->intervals, it->intervals, sizeof(out->intervals));
	for (i = 0; i < it->namespaces.n; i++)
		if ((sel->ns == NULL || strcmp(it->namespaces.v[i],
		    sel->ns) == 0) && strlist_add(&out->namespaces,
		    it->namespaces.v[i]) == -1)
			return -1;
	for (i = 0; i < it->nplugins; i++)
		if ((sel->ns == NULL || strcmp(it->plugins[i].ns,
		    sel->ns) == 0) && (sel->repo == NULL ||
		    repo_matches(&it->plugins[i], sel->repo)) &&
		    items_add_plugin(out, &it->plugins[i]) == -1)
			return -1;
	/* PORT and PROC are the collector's: left out with -p */
	for (i = 0; i < it->nports && sel->repo == NULL; i++)
		if ((sel->ns == NULL || strcmp(it->ports[i].ns,
		    sel->ns) == 0) && items_add_port(out, &it->ports[i]) == -1)
			return -1;
	for (i = 0; i < it->nprocs && sel->repo == NULL; i++)
		if ((sel->ns == NULL || strcmp(it->procs[i].ns,
		    sel->ns) == 0) && items_add_proc(out, &it->procs[i]) == -1)
			return -1;
	return 0;
}

/* The registry's answer, one line on stderr; -1 when nothing came. */
static int
registry_line(struct testmode *tm)
{
	const char	*addr = tm->conf.registryaddr;
	char		 why[sizeof(tm->refresh_err) * 4];

	/* it may quote the registry (a namespace's name): escaped */
	log_escape_all(why, sizeof(why), tm->refresh_err);
	if (!tm->have_items) {
		fprintf(stderr, "registry: %s: %s; no last-good cache either\n",
		    addr[0] != '\0' ? addr : "none",
		    why[0] != '\0' ? why : "no answer");
		return -1;
	}
	if (tm->refresh_ok)
		fprintf(stderr, "registry: %s: %zu namespaces, %zu plugins, "
		    "%zu PORT and %zu PROC checks\n", addr[0] != '\0' ? addr :
		    "none ([agent] namespaces)", tm->items.namespaces.n,
		    tm->items.nplugins, tm->items.nports, tm->items.nprocs);
	else
		fprintf(stderr, "registry: %s: %s; the items kept (last-good "
		    "cache): %zu namespaces, %zu plugins\n", addr, why,
		    tm->items.namespaces.n, tm->items.nplugins);
	return 0;
}

/* In the scheduler's child, after its sandbox. */
struct sched_job {
	const struct items		*items;
	struct scheduler_once		 once;
};

static int
sched_body(struct worker *w, void *arg)
{
	struct sched_job	*j = arg;

	return scheduler_once(w, j->items, &j->once) > 0 ? 1 : 0;
}

static int
collect_body(struct worker *w, void *arg)
{
	return collector_once(w, arg) == -1 ? 1 : 0;
}

static int
children_done(struct testmode *tm)
{
	/* reaped, and what they sent read to the end */
	return (tm->sched.pid == 0 || (tm->sched.reaped &&
	    tm->sink[0] == NULL)) && (tm->collector.pid == 0 ||
	    (tm->collector.reaped && tm->sink[1] == NULL));
}

/* gitpull, then the scheduler's child wired to it and to us. */
static int
start_plugins(struct testmode *tm, struct sched_job *job)
{
	static const enum role	 peer = ROLE_SCHEDULER;
	int			 git[2], pts[2], rv;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, git) == -1)
		return -1;
	if (testmode_spawn(tm, &tm->gitpull, ROLE_GITPULL) == -1) {
		close(git[0]);
		close(git[1]);
		return -1;
	}
	/* git[0] is gitpull's from here on, sent or not */
	if (testmode_setup(tm, &tm->gitpull, &peer, &git[0], 1) == -1) {
		close(git[1]);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pts) == -1) {
		close(git[1]);
		return -1;
	}
	rv = testmode_host(tm, &tm->sched, ROLE_SCHEDULER, pts[1], git[1],
	    sched_body, job);
	close(git[1]);
	close(pts[1]);
	if (rv == -1 || (tm->sink[0] = testmode_sink(tm, pts[0],
	    ROLE_SCHEDULER)) == NULL)
		return -1;
	return 0;
}

static int
start_collector(struct testmode *tm, struct items *it)
{
	int	 pts[2], rv;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pts) == -1)
		return -1;
	rv = testmode_host(tm, &tm->collector, ROLE_COLLECTOR, pts[1], -1,
	    collect_body, it);
	close(pts[1]);
	if (rv == -1 || (tm->sink[1] = testmode_sink(tm, pts[0],
	    ROLE_COLLECTOR)) == NULL)
		return -1;
	return 0;
}

/* A hosted child that did not end well. */
static int
child_failed(struct tm_proc *p, const char *what)
{
	char	 how[96];

	if (p->pid == 0 || (p->reaped && WIFEXITED(p->status) &&
	    WEXITSTATUS(p->status) <= 1))
		return 0;
	if (!p->reaped)
		snprintf(how, sizeof(how), "did not finish");
	else
		testmode_describe(p->status, how, sizeof(how));
	fprintf(stderr, "agent: %s %s\n", what, how);
	return 1;
}

/*
 * The phases: registry, selection, plugins (with gitpull) and
 * collectors, printing.  `collectors`: agent test without -p.
 */
static int
run(struct testmode *tm, const struct selection *sel,
    struct scheduler_once *once, int collectors, int need_plugin)
{
	struct sched_job	 job;
	struct items		 sel_items, coll_items;
	double			 bound;
	int			 rv = EXIT_OK;

	items_init(&sel_items);
	items_init(&coll_items);
	if (testmode_fetch(tm) == -1 || registry_line(tm) == -1 ||
	    select_items(tm, sel, &sel_items) == -1) {
		rv = EXIT_FAIL;
		goto out;
	}
	if (need_plugin && sel_items.nplugins == 0) {
		fprintf(stderr, "agent: no plugin %s in namespace %s of this "
		    "host's items\n", sel->repo, sel->ns);
		rv = EXIT_FAIL;
		goto out;
	}
	memset(&job, 0, sizeof(job));
	job.items = &sel_items;
	job.once = *once;
	job.once.report_fd = STDERR_FILENO;
	if (sel_items.nplugins > 0 && start_plugins(tm, &job) == -1) {
		rv = EXIT_FAIL;
		goto out;
	}
	if (collectors) {
		if (!tm->conf.collect)
			fprintf(stderr, "collectors: collect = no: none "
			    "runs\n");
		else if (select_items(tm, sel, &coll_items) == -1 ||
		    start_collector(tm, &coll_items) == -1) {
			rv = EXIT_FAIL;
			goto out;
		}
	}
	bound = (double)tm->conf.gittimeout * 3 + RUN_SLACK +
	    (once->timeout > 0 ? once->timeout : 3600);
	if (!testmode_wait(tm, children_done, bound))
		fprintf(stderr, "agent: the runs did not end within %.0f s\n",
		    bound);
	if (child_failed(&tm->sched, "the plugins' scheduler") ||
	    child_failed(&tm->collector, "the collector") || tm->failed ||
	    (tm->sched.pid != 0 && WEXITSTATUS(tm->sched.status) != 0))
		rv = EXIT_FAIL;
	testmode_stop(tm, &tm->gitpull, 10.0);
	if (testmode_print(tm) == -1) {
		fprintf(stderr, "agent: standard output: %s\n",
		    strerror(errno));
		rv = EXIT_FAIL;
	}
	fprintf(stderr, "%zu points printed, none published\n", tm->npoints);
out:
	items_free(&sel_items);
	items_free(&coll_items);
	return rv;
}

static void
usage_test(FILE *f)
{
	fprintf(f, "usage: agent test [-f FILE] [-n NS] [-p REPO] [-v]\n");
}

static void
usage_plugin(FILE *f)
{
	fprintf(f, "usage: agent plugin run [-f FILE] [-t SECONDS] [-v] NS "
	    "REPO [-- PARAM...]\n");
}

int
testmode_test(int argc, char **argv)
{
	struct testmode		 tm;
	struct scheduler_once	 once;
	struct selection	 sel;
	const char		*conf = DEFAULT_CONF;
	int			 ch, verbose = 0, rv;

	memset(&sel, 0, sizeof(sel));
	optind = 1;
	while ((ch = getopt(argc, argv, "f:n:p:vh")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 'n':
			sel.ns = optarg;
			break;
		case 'p':
			sel.repo = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage_test(stdout);
			return EXIT_OK;
		default:
			usage_test(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage_test(stderr);
		return EXIT_USAGE;
	}
	if ((rv = tm_init(&tm, conf, verbose)) != EXIT_OK) {
		tm_free(&tm);
		return rv;
	}
	memset(&once, 0, sizeof(once));
	once.kind = RUN_REGULAR;
	rv = run(&tm, &sel, &once, sel.repo == NULL, 0);
	tm_free(&tm);
	return rv;
}

int
testmode_plugin_run(int argc, char **argv)
{
	struct testmode		 tm;
	struct scheduler_once	 once;
	struct selection	 sel;
	struct strlist		 params;
	const char		*conf = DEFAULT_CONF;
	char			 joined[PLUGIN_PARAM_MAX], err[256];
	long long		 t;
	int			 ch, verbose = 0, rv, end = argc, i;

	/* PARAMs are what follows "--", untouched by getopt */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			break;
		}
	memset(&once, 0, sizeof(once));
	memset(&sel, 0, sizeof(sel));
	strlist_init(&params);
	optind = 1;
	while ((ch = getopt(end, argv, "f:t:vh")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 't':
			if (util_parse_int64(optarg, 1, SCHED_RUN_TIMEOUT_MAX,
			    &t) == -1) {
				fprintf(stderr, "agent: -t takes seconds "
				    "(1-%d), not \"%s\"\n",
				    SCHED_RUN_TIMEOUT_MAX, optarg);
				return EXIT_USAGE;
			}
			once.timeout = (double)t;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage_plugin(stdout);
			return EXIT_OK;
		default:
			usage_plugin(stderr);
			return EXIT_USAGE;
		}
	}
	if (end - optind != 2) {
		usage_plugin(stderr);
		return EXIT_USAGE;
	}
	sel.ns = argv[optind];
	sel.repo = argv[optind + 1];
	/* the parameters pass the rule /plugins/run's param= passes */
	joined[0] = '\0';
	for (i = end + 1; i < argc; i++) {
		if (i > end + 1)
			strlcat(joined, " ", sizeof(joined));
		if (strlcat(joined, argv[i], sizeof(joined)) >=
		    sizeof(joined)) {
			fprintf(stderr, "agent: parameters over %d bytes\n",
			    PLUGIN_PARAM_MAX - 1);
			return EXIT_USAGE;
		}
	}
	if (end < argc && scheduler_split_params(joined, &params, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "agent: %s\n", err);
		strlist_free(&params);
		return EXIT_USAGE;
	}
	if ((rv = tm_init(&tm, conf, verbose)) != EXIT_OK) {
		tm_free(&tm);
		strlist_free(&params);
		return rv;
	}
	/* as /plugins/run: a call, disabled or not, its own timeout */
	once.kind = RUN_CALL;
	once.disabled_too = 1;
	if (once.timeout == 0)
		once.timeout = SCHED_RUN_TIMEOUT;
	once.argv = end < argc ? &params : NULL;
	rv = run(&tm, &sel, &once, 0, 1);
	tm_free(&tm);
	strlist_free(&params);
	return rv;
}
