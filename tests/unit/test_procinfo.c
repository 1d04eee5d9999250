/*
 * procinfo_dying() (src/master/procinfo.c): a process gitpull killed with
 * its group, handed to the master as its parent died first, was said to
 * be "left behind by a worker" at every stop during a clone.  A zombie
 * is dying; a process that lives is not; one reaped is gone.  SIGKILL
 * pending, the other way to be dying, lasts too short a time to be
 * caught here.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "master/procinfo.h"

/* A child that waits for its pipe to close, then exits. */
static pid_t
child_waiting(int *wfd)
{
	int	 p[2];
	pid_t	 pid;
	char	 c;

	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		close(p[1]);
		(void)read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

Test(procinfo, a_living_process_is_not_dying)
{
	pid_t	 pid;
	int	 wfd;

	pid = child_waiting(&wfd);
	cr_assert_eq(procinfo_dying(pid), 0);
	close(wfd);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

Test(procinfo, a_zombie_is_dying_and_a_reaped_one_gone)
{
	siginfo_t	 si;
	pid_t		 pid;
	int		 wfd;

	pid = child_waiting(&wfd);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	/* dead, not reaped: a zombie */
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(procinfo_dying(pid), 1);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(procinfo_dying(pid), -1);
	close(wfd);
}
