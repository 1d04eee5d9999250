/*
 * The operator's commands (src/master/cli.c).  `agent status` lists the
 * master's children by the title each one set itself: a process that is
 * not ours (a plugin's leftover, reparented to the master) picks it.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "master/cli.h"

/* A terminal's title set, then a colour: what a hostile title would do. */
#define HOSTILE_TITLE	"agent: \033]0;owned\007\033[31mfront"

Test(cli, status_escapes_a_childs_title)
{
	char	*out = NULL, buf[1];
	size_t	 outlen = 0;
	FILE	*fp;
	pid_t	 pid;
	ssize_t	 n;
	int	 p[2], st;

	/* The pipe closes on exec: then the child's cmdline is the new one. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		execl("/bin/sleep", HOSTILE_TITLE, "60", (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
	close(p[1]);
	do {
		n = read(p[0], buf, sizeof(buf));
	} while (n == -1 && errno == EINTR);
	cr_assert_eq(n, 0);
	close(p[0]);

	cr_assert_not_null(fp = open_memstream(&out, &outlen));
	cli_print_workers(fp, getpid());
	cr_assert_eq(fclose(fp), 0);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	cr_assert_not_null(strstr(out, "agent: \\x1b]0;owned\\x07\\x1b[31mfront"),
	    "title not listed escaped: %s", out);
	cr_assert_null(memchr(out, '\033', outlen), "raw ESC in: %s", out);
	cr_assert_null(memchr(out, '\007', outlen), "raw BEL in: %s", out);
	free(out);
}
