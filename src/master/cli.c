/*
 * stop, reload and status: they talk to a running master through its
 * pidfile and signals, and read its workers from /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "log.h"
#include "pathsafe.h"
#include "pidfile.h"
#include "procinfo.h"
#include "reloadfile.h"
#include "util.h"

#define RELOAD_WAIT	30.0	/* seconds for the master to say how */

/*
 * Send `sig` to the master holding `pidfile`.  EXIT_OK with *pid;
 * EXIT_NOTRUNNING when nobody holds it (*pid: the stale pid, or 0); or
 * EXIT_FAIL, said why on stderr.
 */
static int
signal_master(const char *pidfile, int sig, pid_t *pid)
{
	char	 err[512];
	int	 running;

	running = pidfile_probe(pidfile, pid, err, sizeof(err));
	if (running == -1) {
		log_print_escaped(stderr, "agent: ", err, "\n");
		return EXIT_FAIL;
	}
	if (running == 0)
		return EXIT_NOTRUNNING;
	if (*pid <= 0) {
		fprintf(stderr, "agent: the agent holding %s is still starting "
		    "(no pid written yet); try again\n", pidfile);
		return EXIT_FAIL;
	}
	if (kill(*pid, sig) == -1) {
		fprintf(stderr, "agent: cannot signal pid %ld: %s\n",
		    (long)*pid, strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int
cli_stop(const char *pidfile, double timeout)
{
	struct timespec	 pause = { 0, 50 * 1000 * 1000 };
	char		 err[512];
	pid_t		 pid, now;
	double		 waited;
	int		 rv;

	rv = signal_master(pidfile, SIGTERM, &pid);
	if (rv == EXIT_NOTRUNNING) {
		if (pid > 0) {
			/* no lock holder: the pid in it may be anyone's */
			if (pidfile_remove_stale(pidfile, err,
			    sizeof(err)) == -1) {
				log_print_escaped(stderr, "agent: ", err, "\n");
				return EXIT_FAIL;
			}
			printf("agent is not running (removed stale pidfile "
			    "%s naming pid %ld)\n", pidfile, (long)pid);
		} else
			printf("agent is not running\n");
		return EXIT_OK;
	}
	if (rv != EXIT_OK)
		return rv;
	/* the lock goes with the master's last descriptor: wait for that */
	for (waited = 0; waited < timeout; waited += 0.05) {
		if (pidfile_probe(pidfile, &now, err, sizeof(err)) == 0) {
			printf("agent stopped (pid %ld)\n", (long)pid);
			return EXIT_OK;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "agent: pid %ld still running after %.0f s\n",
	    (long)pid, timeout);
	return EXIT_FAIL;
}

/*
 * A reload that did not apply, from the master's "<outcome> <generation>:
 * <detail>": what ended it, and what runs now.  A refused config is
 * nobody's; a reload some worker did not apply or acknowledge runs in
 * every worker that did.
 */
static void
cli_reload_failed(const char *how)
{
	char			 outcome[24], head[96], tail[128];
	unsigned long long	 gen;
	int			 n = 0;

	if (sscanf(how, "%23s %llu: %n", outcome, &gen, &n) != 2 || n == 0) {
		log_print_escaped(stderr, "agent: reload ", how,
		    " (see the log)\n");
		return;
	}
	if (strcmp(outcome, "refused") == 0) {
		snprintf(head, sizeof(head), "agent: reload refused: ");
		snprintf(tail, sizeof(tail), " (config generation %llu runs "
		    "on; see the log)\n", gen);
	} else if (strcmp(outcome, "unapplied") == 0) {
		snprintf(head, sizeof(head), "agent: reload of config "
		    "generation %llu not applied: ", gen);
		snprintf(tail, sizeof(tail), " (that worker keeps the config "
		    "it had, the others run this one; see the log)\n");
	} else if (strcmp(outcome, "unacknowledged") == 0) {
		snprintf(head, sizeof(head), "agent: reload of config "
		    "generation %llu not acknowledged in time by: ", gen);
		snprintf(tail, sizeof(tail), " (the workers that acknowledged "
		    "it run it; see the log)\n");
	} else {
		log_print_escaped(stderr, "agent: reload ", how,
		    " (see the log)\n");
		return;
	}
	log_print_escaped(stderr, head, how + n, tail);
}

int
cli_reload(const char *pidfile)
{
	struct timespec	 pause = { 0, 50 * 1000 * 1000 };
	char		 path[1100], before[1024], now[1024], *how;
	char		 why[1024] = "";
	double		 waited;
	size_t		 tok;
	pid_t		 pid;
	int		 had, rv;

	snprintf(path, sizeof(path), "%s%s", pidfile, RELOADFILE_SUFFIX);
	/*
	 * -1: the name is another's (reloadfile_read()), not an answer; the
	 * master takes it back at this reload (pidfile_sibling_open()).
	 */
	if ((had = reloadfile_read(path, before, sizeof(before))) == -1) {
		strlcpy(why, before, sizeof(why));
		had = 0;
	}
	rv = signal_master(pidfile, SIGHUP, &pid);
	if (rv == EXIT_NOTRUNNING)
		fprintf(stderr, "agent: not running (pidfile %s)\n", pidfile);
	if (rv != EXIT_OK)
		return rv;
	/* the master's word on this reload: a line that was not there */
	for (waited = 0; waited < RELOAD_WAIT; waited += 0.05) {
		(void)nanosleep(&pause, NULL);
		if ((rv = reloadfile_read(path, now, sizeof(now))) == -1)
			strlcpy(why, now, sizeof(why));
		if (rv != 1)
			continue;
		why[0] = '\0';
		tok = strcspn(now, " ");
		if (had && strncmp(now, before, tok) == 0 &&
		    before[tok] == ' ')
			continue;
		how = now + tok + 1;
		if (strncmp(how, "applied ", 8) == 0) {
			printf("reload applied (pid %ld): config generation "
			    "%s\n", (long)pid, how + 8);
			return EXIT_OK;
		}
		cli_reload_failed(how);
		return EXIT_FAIL;
	}
	if (why[0] != '\0') {
		/* someone else's file there still: what it says is not told */
		fprintf(stderr, "agent: reload requested (SIGHUP to pid %ld); "
		    "its outcome cannot be read: ", (long)pid);
		log_print_escaped(stderr, "", why, "; see the log\n");
		return EXIT_FAIL;
	}
	if (!had) {
		/* a master older than this command says nothing */
		printf("reload requested (SIGHUP to pid %ld); the result is "
		    "in the log\n", (long)pid);
		return EXIT_OK;
	}
	fprintf(stderr, "agent: reload requested (SIGHUP to pid %ld), no "
	    "answer in %.0f s; see the log\n", (long)pid, RELOAD_WAIT);
	return EXIT_FAIL;
}

/* Seconds since a process started, from /proc (-1 if unknown). */
static long long
proc_age(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long long start;
	double		 up;
	long		 hz;
	FILE		*f;
	int		 field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return -1;
	/* field 22 is the start time; p points at the end of field 2 */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1)
		return -1;
	if ((f = fopen("/proc/uptime", "r")) == NULL)
		return -1;
	if (fscanf(f, "%lf", &up) != 1) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		return -1;
	return (long long)(up - (double)start / (double)hz);
}

void
cli_print_workers(FILE *out, pid_t master)
{
	struct dirent	*de;
	DIR		*d;
	char		 title[256], clean[sizeof(title) * 4], age[32];
	char		 comm[64];
	long long	 pid;
	pid_t		 ppid, pgid;

	if ((d = opendir("/proc")) == NULL) {
		fprintf(stderr, "agent: /proc: %s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (util_parse_int64(de->d_name, 1, 0x7fffffff, &pid) == -1)
			continue;
		if (procinfo_ids((pid_t)pid, &ppid, &pgid, comm,
		    sizeof(comm)) == -1 || ppid != master)
			continue;
		/*
		 * Before the age, which reads stat: a child held in execve
		 * (procinfo.h) has no arguments any more (its exec replaced
		 * its memory).  It is shown by its name from status, and its
		 * stat is left unread: the operator looking for what is stuck
		 * must see it.
		 */
		if (procinfo_read((pid_t)pid, "cmdline", title,
		    sizeof(title)) == -1) {
			log_escape_all(clean, sizeof(clean), comm);
			fprintf(out, "  [%s]%*s pid %-8lld up ? (no command "
			    "line: held in execve, or exiting)\n", clean,
			    strlen(clean) < 18 ? (int)(18 - strlen(clean)) : 0,
			    "", pid);
			continue;
		}
		/*
		 * Any child of the master sets its own title (a worker, or a
		 * plugin's leftover reparented here): escaped, or it could
		 * drive root's terminal.
		 */
		log_escape_all(clean, sizeof(clean), title);
		fprintf(out, "  %-20s pid %-8lld up %s\n", clean, pid,
		    util_format_duration(proc_age((pid_t)pid), age,
		    sizeof(age)));
	}
	closedir(d);
}

int
cli_status(const char *pidfile)
{
	char	 err[512], age[32];
	pid_t	 pid;
	int	 running;

	running = pidfile_probe(pidfile, &pid, err, sizeof(err));
	if (running == -1) {
		log_print_escaped(stderr, "agent: ", err, "\n");
		return EXIT_FAIL;
	}
	if (running == 0) {
		printf("agent is not running%s\n", pid > 0 ?
		    " (stale pidfile)" : "");
		return EXIT_NOTRUNNING;
	}
	if (pid <= 0) {
		printf("agent is starting (pidfile %s)\n", pidfile);
		return EXIT_OK;
	}
	printf("agent is running: pid %ld, up %s, pidfile %s\n", (long)pid,
	    util_format_duration(proc_age(pid), age, sizeof(age)), pidfile);
	cli_print_workers(stdout, pid);
	return EXIT_OK;
}

int
cli_clean_dir(const char *dir)
{
	char		 err[1024], more[32];
	unsigned	 failures;

	/*
	 * The tree belongs to `user`, who may swap a directory for a link
	 * while we walk it: descriptors and unlinkat only (pathsafe.h).
	 */
	if (pathsafe_empty_dir(dir, geteuid(), &failures, err,
	    sizeof(err)) == 0)
		return 0;
	/* the names are `user`'s: escaped, or they could drive the terminal */
	if (failures > 1) {
		(void)snprintf(more, sizeof(more), " (and %u more)\n",
		    failures - 1);
		log_print_escaped(stderr, "agent: ", err, more);
	} else
		log_print_escaped(stderr, "agent: ", err, "\n");
	return -1;
}
