/*
 * Plugin runs with real child processes on a real libev loop: output,
 * timeouts, stray children, the output cap, exit codes, parameters.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "sandbox.h"
#include "workers/scheduler/scheduler_run.h"

struct fixture {
	struct ev_loop		*loop;
	struct runner		*rn;
	char			 dir[64];
	char			 path[128];
	int			 done;
	struct run_result	 res;
	char			*out;
	ev_timer		 deadline;
};

static struct fixture	 fx;

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_sched_run.XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/plugin", fx.dir);
	cr_assert_not_null(fx.loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_not_null(fx.rn = scheduler_runner_new(fx.loop, 0));
}

static void
teardown(void)
{
	char	 f[160];

	scheduler_runner_free(fx.rn);
	ev_loop_destroy(fx.loop);
	free(fx.out);
	unlink(fx.path);
	snprintf(f, sizeof(f), "%s/pid", fx.dir);
	unlink(f);
	/* the tracer test's, when it failed half-way */
	snprintf(f, sizeof(f), "%s/gate", fx.dir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/pid.new", fx.dir);
	unlink(f);
	rmdir(fx.dir);
}

static void
write_plugin(const char *script)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(fx.path, "w"));
	cr_assert(fputs(script, fp) >= 0);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(chmod(fx.path, 0755), 0);
}

static void
done_cb(const struct run_result *res, void *arg)
{
	cr_assert_eq(arg, &fx);
	fx.res = *res;
	fx.res.out = NULL;
	cr_assert_not_null(fx.out = strdup(res->out));
	cr_assert_eq(strlen(res->out), res->outlen);
	fx.done = 1;
	ev_break(fx.loop, EVBREAK_ALL);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until the run is done or `secs` pass. */
static void
spin(double secs)
{
	ev_timer_init(&fx.deadline, deadline_cb, secs, 0.);
	ev_timer_start(fx.loop, &fx.deadline);
	while (!fx.done && ev_is_active(&fx.deadline))
		ev_run(fx.loop, EVRUN_ONCE);
	ev_timer_stop(fx.loop, &fx.deadline);
}

/* A run of `path` in the fixture's directory, grace 0.5 s. */
static void
fill_spec(struct run_spec *s, const char *path, char *const argv[],
    char *const envp[], double timeout, size_t outmax)
{
	memset(s, 0, sizeof(*s));
	s->dir = fx.dir;
	s->path = path;
	s->argv = argv;
	s->envp = envp;
	s->timeout = timeout;
	s->grace = 0.5;
	s->outmax = outmax;
}

static void
run(char *const argv[], double timeout, size_t outmax)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LANG=C",
		"AGENT_NS=pool.loda", NULL };
	struct run_spec	 s;
	char		 err[256];

	fill_spec(&s, fx.path, argv, envp, timeout, outmax);
	cr_assert_not_null(scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
	    sizeof(err)), "%s", err);
	spin(timeout + 5);
	cr_assert(fx.done, "the run did not end");
	cr_assert_eq(scheduler_runner_active(fx.rn), 0);
}

static char *const plain_argv[] = { "./plugin", NULL };

/* No child of ours is left, reaped or not. */
static void
assert_no_children(void)
{
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
}

TestSuite(scheduler_run, .init = setup, .fini = teardown);

Test(scheduler_run, prints_metrics)
{
	char	 why[128];

	write_plugin("#!/bin/sh\n"
	    "echo '[{\"name\":\"qps\",\"value\":12}]'\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.exited, 1);
	cr_assert_eq(fx.res.status, 0);
	cr_assert_str_eq(fx.out, "[{\"name\":\"qps\",\"value\":12}]\n");
	cr_assert_str_eq(fx.res.err, "");
	scheduler_run_describe(&fx.res, why, sizeof(why));
	cr_assert_str_eq(why, "");
	cr_assert(fx.res.duration >= 0 && fx.res.duration < 5);
	assert_no_children();
}

Test(scheduler_run, parameters_environment_and_directory)
{
	static char *const argv[] = { "./plugin", "-x", "a&b", "$HOME",
		NULL };
	char	 want[512];

	write_plugin("#!/bin/sh\n"
	    "echo \"$0\"\n"
	    "for a in \"$@\"; do echo \"[$a]\"; done\n"
	    "echo \"$AGENT_NS $LANG $PATH\"\n"
	    "pwd\n"
	    "grep '^SigBlk' /proc/self/status\n"
	    "grep '^SigIgn' /proc/self/status\n"
	    "ls /proc/self/fd | wc -l\n");
	run(argv, 5, 1 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	/* nothing blocked or ignored, only 0-2 (and ls's own) open */
	snprintf(want, sizeof(want), "%s\n[-x]\n[a&b]\n[$HOME]\n"
	    "pool.loda C /usr/bin:/bin\n%s\nSigBlk:\t0000000000000000\n"
	    "SigIgn:\t0000000000000000\n4\n", fx.path, fx.dir);
	cr_assert_str_eq(fx.out, want);
}

Test(scheduler_run, exits_non_zero_and_keeps_stderr)
{
	char	 why[128];

	write_plugin("#!/bin/sh\necho oops >&2\nexit 3\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert_not(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.exited, 1);
	cr_assert_eq(fx.res.status, 3);
	cr_assert_str_eq(fx.res.errtail, "oops\n");
	scheduler_run_describe(&fx.res, why, sizeof(why));
	cr_assert_str_eq(why, "exit status 3");
	assert_no_children();
}

Test(scheduler_run, stderr_keeps_its_tail)
{
	write_plugin("#!/bin/sh\n"
	    "head -c 10000 /dev/zero | tr '\\0' a >&2\n"
	    "printf 'THE END' >&2\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.errtotal, 10007);
	cr_assert_eq(strlen(fx.res.errtail), RUN_STDERR_TAIL);
	cr_assert_str_eq(fx.res.errtail + RUN_STDERR_TAIL - 7, "THE END");
	cr_assert_eq(fx.res.errtail[0], 'a');
}

/*
 * The pipes go unwatched for the first moments of a run (the end drains
 * them): a plugin that says more than they hold must still be read from
 * then on, or it would hang until its timeout.
 */
Test(scheduler_run, more_than_the_pipes_hold_arrives_whole)
{
	size_t	 i;

	write_plugin("#!/bin/sh\n"
	    "head -c 1000000 /dev/zero | tr '\\0' x\n"
	    "head -c 300000 /dev/zero | tr '\\0' e >&2\n"
	    "printf y\n");
	run(plain_argv, 5, 2 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.outlen, 1000001);
	for (i = 0; i < 1000000 && fx.out[i] == 'x'; i++)
		;
	cr_assert_eq(i, 1000000);
	cr_assert_eq(fx.out[i], 'y');
	cr_assert_eq(fx.res.errtotal, 300000);
	assert_no_children();
}

Test(scheduler_run, garbage_is_the_caller_s_problem)
{
	write_plugin("#!/bin/sh\necho 'Traceback: not json'\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_str_eq(fx.out, "Traceback: not json\n");
}

Test(scheduler_run, timeout_and_sigterm_ignored_ends_with_sigkill)
{
	char	 why[128];

	write_plugin("#!/bin/sh\n"
	    "trap '' TERM\n"
	    "echo started\n"
	    "while :; do sleep 0.1; done\n");
	run(plain_argv, 1, 1 << 20);
	cr_assert_not(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.timed_out, 1);
	cr_assert_eq(fx.res.exited, 0);
	cr_assert_eq(fx.res.signo, SIGKILL);
	cr_assert_str_eq(fx.out, "started\n");
	/* 1 s, then 0.5 s of grace */
	cr_assert(fx.res.duration >= 1.4 && fx.res.duration < 3.5, "%f",
	    fx.res.duration);
	scheduler_run_describe(&fx.res, why, sizeof(why));
	cr_assert_str_eq(why, "timed out after 1 s (killed by signal 9)");
	assert_no_children();
}

Test(scheduler_run, timeout_and_sigterm_obeyed)
{
	write_plugin("#!/bin/sh\nexec sleep 30\n");
	run(plain_argv, 0.5, 1 << 20);
	cr_assert_eq(fx.res.timed_out, 1);
	cr_assert_eq(fx.res.signo, SIGTERM);
	cr_assert(fx.res.duration < 1.5, "%f", fx.res.duration);
}

Test(scheduler_run, a_child_that_outlives_the_plugin_is_killed)
{
	char	 f[160];
	FILE	*fp;
	long	 pid = 0;
	int	 status;

	/*
	 * Orphans come back to us, as they do to the master (the scheduler
	 * is no subreaper: they go past it), so that we can see how this
	 * one ended.
	 */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	write_plugin("#!/bin/sh\n"
	    "sleep 60 &\n"
	    "echo $! > pid\n"
	    "echo '[]'\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_str_eq(fx.out, "[]\n");
	snprintf(f, sizeof(f), "%s/pid", fx.dir);
	cr_assert_not_null(fp = fopen(f, "r"));
	cr_assert_eq(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	cr_assert(pid > 1);
	/* killed with the plugin's group, not left to its 60 s */
	alarm(5);
	cr_assert_eq(waitpid((pid_t)pid, &status, 0), (pid_t)pid);
	alarm(0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "pid %ld: status %#x", pid, status);
	assert_no_children();
}

/* Ticks of a timer: a loop that blocks misses them. */
static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(*(int *)t->data)++;
}

static double
cpu_seconds(void)
{
	struct rusage	 ru;

	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * A plugin that ends while another process traces it is the tracer's
 * to see first: until the tracer goes, the run's pidfd is readable and
 * there is nothing to reap.  The loop must neither block in waitpid (a
 * hung scheduler: no other plugin runs) nor spin on the pidfd (a CPU at
 * 100 %), and the run ends once the tracer is gone.
 */
Test(scheduler_run, a_plugin_a_tracer_holds_ends_when_the_tracer_goes)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct run_spec	 s;
	ev_timer	 tick;
	char		 err[256], gate[160], f[160], c;
	int		 ticks = 0, ready[2], status, i;
	pid_t		 tracer;
	long		 plugin = 0;
	double		 cpu;
	FILE		*fp;

	snprintf(gate, sizeof(gate), "%s/gate", fx.dir);
	snprintf(f, sizeof(f), "%s/pid", fx.dir);
	/*
	 * Nothing after the seize may signal it (a child's SIGCHLD would
	 * stop it for the tracer, which never lets it go on): builtins only
	 */
	write_plugin("#!/bin/sh\n"
	    "echo $$ > pid.new && mv pid.new pid\n"
	    "while [ ! -e gate ]; do :; done\n"
	    "echo '[]'\n");
	fill_spec(&s, fx.path, plain_argv, envp, 20, 1 << 20);
	cr_assert_not_null(scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
	    sizeof(err)), "%s", err);
	for (i = 0; i < 500 && (fp = fopen(f, "r")) == NULL; i++)
		usleep(10000);
	cr_assert_not_null(fp, "the plugin wrote no pid");
	cr_assert_eq(fscanf(fp, "%ld", &plugin), 1);
	fclose(fp);
	cr_assert_eq(pipe(ready), 0);
	if ((tracer = fork()) == 0) {
		/* seize without stopping it, then hold on for 1.5 s */
		if (ptrace(PTRACE_SEIZE, (pid_t)plugin, NULL, NULL) == -1) {
			c = errno == EPERM ? 'p' : 'e';
			(void)write(ready[1], &c, 1);
			_exit(1);
		}
		(void)write(ready[1], "x", 1);
		usleep(1500000);
		_exit(0);
	}
	cr_assert_gt(tracer, 0);
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the tracer died");
	close(ready[0]);
	/*
	 * Yama (ptrace_scope 1, Ubuntu's default) lets a process trace only
	 * its descendants, and the tracer is the plugin's sibling: a kernel
	 * that refuses says nothing of the reap.  Let the plugin end first.
	 */
	if (c == 'p') {
		cr_assert_eq(close(open(gate, O_WRONLY | O_CREAT, 0644)), 0);
		spin(10);
		cr_assert(fx.done, "the run did not end");
		cr_assert_eq(waitpid(tracer, &status, 0), tracer);
		unlink(gate);
		cr_skip_test("skipped: PTRACE_SEIZE refused (Yama "
		    "ptrace_scope?)");
	}
	cr_assert_eq(c, 'x', "PTRACE_SEIZE failed");
	cpu = cpu_seconds();
	cr_assert_eq(close(open(gate, O_WRONLY | O_CREAT, 0644)), 0);
	ev_timer_init(&tick, tick_cb, 0.1, 0.1);
	tick.data = &ticks;
	ev_timer_start(fx.loop, &tick);
	spin(10);
	ev_timer_stop(fx.loop, &tick);
	cr_assert(fx.done, "the run did not end");
	cr_assert(scheduler_run_ok(&fx.res));
	cr_assert_str_eq(fx.out, "[]\n");
	/* the loop ran on while the tracer held the plugin, and idled */
	cr_assert_geq(ticks, 8, "%d ticks: the loop blocked", ticks);
	cr_assert_lt(cpu_seconds() - cpu, 0.5, "%.2f s of CPU: it spun",
	    cpu_seconds() - cpu);
	cr_assert_eq(waitpid(tracer, &status, 0), tracer);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(gate);
	assert_no_children();
}

Test(scheduler_run, a_hundred_megabytes_are_capped_and_killed)
{
	char	 why[128];

	write_plugin("#!/bin/sh\n"
	    "head -c 100000000 /dev/zero | tr '\\0' x\n"
	    "sleep 30\n");
	run(plain_argv, 10, 1 << 20);
	cr_assert_not(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.output_over, 1);
	cr_assert_eq(fx.res.outlen, 1 << 20);
	cr_assert_eq(fx.res.exited, 0);
	cr_assert(fx.res.duration < 5, "%f", fx.res.duration);
	scheduler_run_describe(&fx.res, why, sizeof(why));
	cr_assert_str_eq(why, "output over 1048576 bytes");
	assert_no_children();
}

Test(scheduler_run, a_missing_plugin_does_not_start)
{
	static char *const envp[] = { NULL };
	struct run_spec	 s;
	char		 err[256];

	memset(&s, 0, sizeof(s));
	s.dir = fx.dir;
	s.path = fx.path;
	s.argv = plain_argv;
	s.envp = envp;
	s.timeout = 1;
	cr_assert_null(scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
	    sizeof(err)));
	cr_assert(strstr(err, "No such file") != NULL, "%s", err);
	write_plugin("#!/bin/sh\n");
	cr_assert_eq(chmod(fx.path, 0644), 0);
	cr_assert_null(scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
	    sizeof(err)));
	cr_assert(strstr(err, "not an executable") != NULL, "%s", err);
}

Test(scheduler_run, an_exec_failure_is_reported)
{
	char	 why[256];

	write_plugin("#!/nonexistent/interpreter\n");
	run(plain_argv, 5, 1 << 20);
	cr_assert_not(scheduler_run_ok(&fx.res));
	cr_assert_eq(fx.res.status, 127);
	scheduler_run_describe(&fx.res, why, sizeof(why));
	cr_assert_str_eq(why, "exec ./plugin: No such file or directory");
}

Test(scheduler_run, stop_all_ends_every_run)
{
	write_plugin("#!/bin/sh\nexec sleep 30\n");
	{
		static char *const envp[] = { NULL };
		struct run_spec	 s;
		char		 err[256];

		fill_spec(&s, fx.path, plain_argv, envp, 60, 1024);
		cr_assert_not_null(scheduler_run_start(fx.rn, &s, done_cb, &fx,
		    err,
		    sizeof(err)));
	}
	spin(0.2);
	cr_assert_not(fx.done);
	scheduler_runner_stop_all(fx.rn, 0.5);
	spin(3);
	cr_assert(fx.done);
	cr_assert_eq(fx.res.stopped, 1);
	cr_assert_eq(fx.res.timed_out, 0);
	cr_assert_eq(fx.res.signo, SIGTERM);
	assert_no_children();
}

/*
 * In the scheduler's own sandbox (pluginsuser, no_new_privs, the
 * deny-list filter, which the plugin inherits): the run works the same.
 * In a child, which cannot come back from the sandbox.
 */
Test(scheduler_run, works_inside_the_scheduler_sandbox)
{
	struct sandbox_plan	 plan;
	struct agent_conf	 conf;
	struct run_spec		 s;
	char			 err[256], want[64];
	pid_t			 pid;
	int			 status;

	write_plugin("#!/bin/sh\nid -u\n");
	cr_assert_eq(chmod(fx.dir, 0755), 0);
	cr_assert_eq(conf_defaults(&conf), 0);
	snprintf(conf.pluginsuser, sizeof(conf.pluginsuser), "nobody");
	cr_assert_eq(sandbox_plan(ROLE_SCHEDULER, &conf, &plan, err,
	    sizeof(err)), 0, "%s", err);
	conf_free(&conf);
	snprintf(want, sizeof(want), "%lu\n", (unsigned long)plan.uid);
	if ((pid = fork()) == 0) {
		if (sandbox_enter(&plan, err, sizeof(err)) == -1)
			_exit(10);
		memset(&s, 0, sizeof(s));
		s.dir = fx.dir;
		s.path = fx.path;
		s.argv = plain_argv;
		s.envp = plain_argv + 1;
		s.timeout = 5;
		s.grace = 0.5;
		s.outmax = 1024;
		if (scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
		    sizeof(err)) ==
		    NULL)
			_exit(11);
		spin(5);
		if (!fx.done)
			_exit(12);
		if (!scheduler_run_ok(&fx.res))
			_exit(13);
		_exit(strcmp(fx.out, want) == 0 ? 0 : 14);
	}
	cr_assert_neq(pid, -1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "step %d failed",
	    WEXITSTATUS(status));
}

/*
 * What a hostile plugin tries on a process of its uid that is not one of
 * its own: open its memory to read it or to write it, signal it.  Each
 * line says what worked.  (Not its environment: refused to a plugin,
 * but these tests run as root, whom the kernel lets read it.)
 */
static const char probe_script[] =
    "#!/bin/sh\n"
    "v=$1\n"
    "(exec 3</proc/$v/mem) 2>/dev/null && echo read\n"
    "(exec 3>/proc/$v/mem) 2>/dev/null && echo write\n"
    "(exec 3</proc/$v/fd/1) 2>/dev/null && echo fdread\n"
    "(exec 3>/proc/$v/fd/1) 2>/dev/null && echo fdwrite\n"
    "kill -0 $v 2>/dev/null && echo signal\n"
    "echo done\n";

static void
probe(pid_t victim)
{
	char	 pid[32];
	char	*argv[] = { "./plugin", pid, NULL };

	snprintf(pid, sizeof(pid), "%ld", (long)victim);
	write_plugin(probe_script);
	run(argv, 5, 4096);
	cr_assert(scheduler_run_ok(&fx.res), "%s", fx.res.err);
}

/* The probes themselves work: outside a domain, everything does. */
static void
assert_probes_work(pid_t victim)
{
	char	 cmd[256], out[128];
	FILE	*p;
	size_t	 n;

	write_plugin(probe_script);
	snprintf(cmd, sizeof(cmd), "%s %ld", fx.path, (long)victim);
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0);
	cr_assert_str_eq(out, "read\nwrite\nfdread\nfdwrite\nsignal\ndone\n");
}

/* A process outside every run, its stdout a pipe as a run's may be. */
static pid_t
start_sleeper(void)
{
	pid_t	 pid;
	int	 p[2];

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		if (dup2(p[1], 1) == -1)
			_exit(127);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	cr_assert_neq(pid, -1);
	cr_assert_eq(close(p[0]), 0);
	cr_assert_eq(close(p[1]), 0);
	return pid;
}

/* What the run's descriptor fd is: S_IFIFO, S_IFSOCK. */
static mode_t
run_fd_kind(long pid, int fd)
{
	char		 path[64];
	struct stat	 st;

	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", pid, fd);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & S_IFMT;
}

static void
stop_sleeper(pid_t pid)
{
	int	 status;

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
}

Test(scheduler_run, a_run_cannot_reach_a_process_outside_it)
{
	pid_t	 victim = start_sleeper();

	/* what git run by gitpull, or another worker, would be */
	assert_probes_work(victim);
	cr_assert_eq(scheduler_runner_isolation(fx.rn), ISOLATE_SIGNALS,
	    "this kernel has Landlock ABI 6 (Linux 6.12) or later");
	probe(victim);
	cr_assert_str_eq(fx.out, "done\n");
	stop_sleeper(victim);
}

static void
victim_done(const struct run_result *res, void *arg)
{
	*(int *)arg = 1;
}

/* Another plugin, running: it says its pid and waits. */
static long
start_victim_run(int *vdone)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	static char *const vargv[] = { "victim", NULL };
	char		 vpath[160], pidfile[160], err[256];
	struct run_spec	 s;
	struct stat	 st;
	FILE		*fp;
	long		 victim = 0;
	int		 i;

	snprintf(vpath, sizeof(vpath), "%s/victim", fx.dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", fx.dir);
	cr_assert_not_null(fp = fopen(vpath, "w"));
	fprintf(fp, "#!/bin/sh\necho $$ > %s.tmp && mv %s.tmp %s\n"
	    "exec sleep 30\n", pidfile, pidfile, pidfile);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(chmod(vpath, 0755), 0);
	fill_spec(&s, vpath, vargv, envp, 30, 1024);
	cr_assert_not_null(scheduler_run_start(fx.rn, &s, victim_done, vdone,
	    err, sizeof(err)), "%s", err);
	for (i = 0; i < 100 && stat(pidfile, &st) == -1; i++) {
		ev_timer_init(&fx.deadline, deadline_cb, 0.05, 0.);
		ev_timer_start(fx.loop, &fx.deadline);
		ev_run(fx.loop, EVRUN_ONCE);
		ev_timer_stop(fx.loop, &fx.deadline);
	}
	cr_assert_not_null(fp = fopen(pidfile, "r"));
	cr_assert_eq(fscanf(fp, "%ld", &victim), 1);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(unlink(vpath), 0);
	return victim;
}

Test(scheduler_run, two_runs_cannot_reach_each_other)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	char		 err[256], pid[32];
	char		*argv[] = { "./plugin", pid, NULL };
	struct run_spec	 s;
	int		 vdone = 0;

	snprintf(pid, sizeof(pid), "%ld", start_victim_run(&vdone));
	/* in a domain, its output goes through pipes, which the probe's
	 * open through /proc would reach but for the domain */
	cr_assert_eq(run_fd_kind(atol(pid), 1), S_IFIFO);
	cr_assert_eq(run_fd_kind(atol(pid), 2), S_IFIFO);
	/* the hostile plugin, while the other runs */
	write_plugin(probe_script);
	fill_spec(&s, fx.path, argv, envp, 5, 4096);
	cr_assert_not_null(scheduler_run_start(fx.rn, &s, done_cb, &fx, err,
	    sizeof(err)), "%s", err);
	spin(10);
	cr_assert(fx.done);
	cr_assert_str_eq(fx.out, "done\n");
	cr_assert_eq(vdone, 0, "the other plugin still runs");
}

/*
 * Without Landlock (isolateplugins = no, plugins run as root, or ABI 1,
 * which is not used) runs are not isolated, and what keeps another
 * plugin from a run's output is that it goes through sockets, which no
 * open through /proc gives.  Turned on again, runs are isolated again.
 */
Test(scheduler_run, without_landlock_the_output_is_still_a_socket)
{
	const char	*why;
	char		 path[64];
	pid_t		 victim;
	long		 pid;
	int		 vdone = 0;

	cr_assert_eq(scheduler_isolate_wanted(1, 1000, &why), 0);
	cr_assert_null(why);
	cr_assert_eq(scheduler_isolate_wanted(0, 1000, &why),
	    ISOLATE_ABI_OFF);
	cr_assert_str_eq(why, "isolateplugins = no");
	cr_assert_eq(scheduler_isolate_wanted(1, 0, &why), ISOLATE_ABI_OFF);
	cr_assert_str_eq(why, "plugins run as root");
	cr_assert_eq(scheduler_runner_isolate(fx.rn, 1), ISOLATE_NONE);
	cr_assert_eq(scheduler_runner_isolate(fx.rn, ISOLATE_ABI_OFF),
	    ISOLATE_NONE);
	victim = start_sleeper();
	probe(victim);
	cr_assert_str_eq(fx.out, "read\nwrite\nfdread\nfdwrite\nsignal\ndone\n");
	fx.done = 0;
	free(fx.out);
	fx.out = NULL;
	cr_assert_eq(scheduler_runner_isolate(fx.rn, 0), ISOLATE_SIGNALS);
	probe(victim);
	cr_assert_str_eq(fx.out, "done\n");
	cr_assert_eq(scheduler_runner_isolate(fx.rn, ISOLATE_ABI_OFF),
	    ISOLATE_NONE);
	stop_sleeper(victim);

	pid = start_victim_run(&vdone);
	cr_assert_eq(run_fd_kind(pid, 1), S_IFSOCK);
	cr_assert_eq(run_fd_kind(pid, 2), S_IFSOCK);
	snprintf(path, sizeof(path), "/proc/%ld/fd/1", pid);
	cr_assert_eq(open(path, O_RDONLY), -1);
	cr_assert_eq(errno, ENXIO, "%s", strerror(errno));
	cr_assert_eq(open(path, O_WRONLY), -1);
	cr_assert_eq(errno, ENXIO, "%s", strerror(errno));
}

Test(scheduler_run, before_abi_6_runs_are_isolated_and_may_still_rename)
{
	pid_t	 victim = start_sleeper();
	char	 sub[160];

	scheduler_runner_free(fx.rn);
	cr_assert_not_null(fx.rn = scheduler_runner_new(fx.loop, 2));
	cr_assert_eq(scheduler_runner_isolation(fx.rn), ISOLATE_PTRACE);
	probe(victim);
	/* signals are scoped only from ABI 6 */
	cr_assert_str_eq(fx.out, "signal\ndone\n");
	stop_sleeper(victim);
	fx.done = 0;
	free(fx.out);
	fx.out = NULL;

	/* a file handled ruleset refuses reparenting unless a rule allows */
	write_plugin("#!/bin/sh\nmkdir a b && echo x > a/f && mv a/f b/f && "
	    "ln b/f a/g && mv a b/a && echo moved\n");
	run(plain_argv, 5, 1024);
	cr_assert(scheduler_run_ok(&fx.res), "%s", fx.res.err);
	cr_assert_str_eq(fx.out, "moved\n");
	snprintf(sub, sizeof(sub), "rm -rf %s/b", fx.dir);
	cr_assert_eq(system(sub), 0);
}
