/*
 * Going to the background without losing the start result: the CLI
 * process waits on a pipe until the master says every worker is up (or
 * why not), then exits with the matching code.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "util.h"

static int
redirect_stdio(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* In the CLI process: relay the master's verdict and exit. */
static void __attribute__((noreturn))
await_report(int fd)
{
	char	 buf[1024];
	size_t	 off = 0;
	ssize_t	 n;

	while (off < sizeof(buf) - 1) {
		n = read(fd, buf + off, sizeof(buf) - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	/* our own newline goes; one inside the reason is escaped */
	while (off > 0 && buf[off - 1] == '\n')
		off--;
	buf[off] = '\0';
	/* the reason may quote a worker: no control character gets through */
	if (strncmp(buf, "OK ", 3) == 0) {
		log_print_escaped(stdout, "", buf + 3, "\n");
		exit(0);
	}
	if (strncmp(buf, "ERR ", 4) == 0)
		log_print_escaped(stderr, "agent: ", buf + 4, "\n");
	else
		fprintf(stderr, "agent: the master exited during startup "
		    "without a report; see the log\n");
	exit(1);
}

int
daemon_detach(int *report_fd, char *err, size_t errlen)
{
	int	 p[2];
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		sigset_t	 stop;

		/*
		 * ^C and SIGTERM still end this waiting parent; SIGHUP and
		 * SIGUSR1, for the daemon, stay blocked: the pidfile names
		 * this pid until the child writes its own.
		 */
		sigemptyset(&stop);
		(void)sigaddset(&stop, SIGINT);
		(void)sigaddset(&stop, SIGTERM);
		(void)sigprocmask(SIG_UNBLOCK, &stop, NULL);
		close(p[1]);
		await_report(p[0]);
	}
	close(p[0]);
	if (setsid() == -1 || chdir("/") == -1 || redirect_stdio() == -1) {
		snprintf(err, errlen, "detach: %s", strerror(errno));
		daemon_report(&p[1], 0, err);
		return -1;
	}
	umask(022);
	*report_fd = p[1];
	return 0;
}

void
daemon_report(int *report_fd, int ok, const char *msg)
{
	char	 buf[1024];
	int	 n;

	if (*report_fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%s %s\n", ok ? "OK" : "ERR", msg);
	if (n > 0)
		(void)util_write_all(*report_fd, buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf) - 1);
	close(*report_fd);
	*report_fd = -1;
}
