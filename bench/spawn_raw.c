/*
 * spawn_raw: the floor bench/plugins.py holds the agent's cost per plugin
 * run against.  The same plugin, run the plainest way a C program can:
 * posix_spawn() with its standard output on a pipe, the output read to
 * the end, waitpid().  No event loop, no sandbox, no parsing: what any
 * runner of external programs pays.
 *
 *   spawn_raw [-s | -g [-m MOST]] -n RUNS_PER_ROUND -i INTERVAL -d SECONDS
 *       PROGRAM [ARG...]
 *
 * Every INTERVAL seconds, a round of RUNS_PER_ROUND runs one after the
 * other, back to back, for SECONDS.  With -s (spread) the runs of a
 * round are INTERVAL / RUNS_PER_ROUND seconds apart instead, each on its
 * own, as plugins with offsets spread over their interval fall due.
 * With -g (grouped) they fall due in whole seconds, as the agent starts
 * the plugins of one interval: MOST to a second (default 20, the
 * scheduler's SCHED_SECOND_MAX), run i of a round at second
 * floor(i / MOST) of it, the runs of one second back to back.
 * What a run costs depends on it: on a virtual machine a run that wakes
 * an idle CPU costs twice what one right after another does
 * (bench/README.md).  It prints one JSON line: the runs, the bytes read, and the
 * CPU time of this process only (its own threads; the children's time is
 * theirs, as for the agent's count): from /proc/self/schedstat in ns and
 * from getrusage(RUSAGE_SELF) in us.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static unsigned long long
self_ns(void)
{
	FILE			*f;
	unsigned long long	 ns = 0;

	if ((f = fopen("/proc/self/schedstat", "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

static unsigned long long
self_rusage_us(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    1000000ULL + (unsigned long long)(ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_usec);
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run; the bytes it wrote, or -1. */
static long
run_once(char *const argv[])
{
	posix_spawn_file_actions_t	 fa;
	char				 buf[65536];
	pid_t				 pid;
	ssize_t				 n;
	long				 total = 0;
	int				 p[2], st, rc;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		errno = rc;
		return -1;
	}
	for (;;) {
		n = read(p[0], buf, sizeof(buf));
		if (n > 0) {
			total += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return total;
}

static void
usage(void)
{
	fprintf(stderr, "usage: spawn_raw [-s | -g [-m most]] -n runs "
	    "-i interval -d seconds program [arg...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned long long	 ns0, ns1, us0, us1;
	double			 interval = 10, duration = 60, start, next, at;
	long			 per = 60, runs = 0, failed = 0, bytes = 0, b;
	long			 most = 20;
	int			 c, i, spread = 0, grouped = 0;

	while ((c = getopt(argc, argv, "+sgm:n:i:d:")) != -1) {
		switch (c) {
		case 's':
			spread = 1;
			break;
		case 'g':
			grouped = 1;
			break;
		case 'm':
			most = strtol(optarg, NULL, 10);
			break;
		case 'n':
			per = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval = strtod(optarg, NULL);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || per <= 0 || interval <= 0 || duration <= 0 ||
	    most <= 0 || (spread && grouped))
		usage();
	ns0 = self_ns();
	us0 = self_rusage_us();
	start = next = mono();
	while (mono() - start < duration) {
		for (i = 0; i < per; i++) {
			if ((b = run_once(argv + optind)) == -1)
				failed++;
			else {
				runs++;
				bytes += b;
			}
			if ((!spread && !grouped) || i + 1 == per)
				continue;
			/* a second already begun: no wait, back to back */
			at = grouped ? (double)((i + 1) / most) :
			    interval * (i + 1) / (double)per;
			at += next;
			if (at - start >= duration)
				break;
			while (mono() < at)
				usleep((useconds_t)((at - mono()) * 1e6) + 100);
		}
		next += interval;
		while (mono() < next && next - start < duration)
			usleep((useconds_t)((next - mono()) * 1e6) + 1000);
		if (next - start >= duration)
			break;
	}
	ns1 = self_ns();
	us1 = self_rusage_us();
	printf("{\"runs\": %ld, \"failed\": %ld, \"bytes\": %ld, "
	    "\"cpu_ns\": %llu, \"cpu_us_rusage\": %llu, \"seconds\": %.3f}\n",
	    runs, failed, bytes, ns1 - ns0, us1 - us0, mono() - start);
	return failed > 0 ? 1 : 0;
}
