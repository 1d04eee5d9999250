/*
 * Run part of a test as an unprivileged user, also when the suite runs
 * as root (as CI does): a forked child drops to nobody (65534) for good,
 * runs the function and exits with what it returned.  Root reads and
 * writes anything, so "permission denied" paths can only be shown this
 * way.  The child reports by its exit status, never by Criterion
 * asserts (those belong to the test's own process); it writes what went
 * wrong to `why`, a shared page the parent prints.
 */
#ifndef TEST_AS_NOBODY_H
#define TEST_AS_NOBODY_H

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define NOBODY_ID	65534
#define AS_NOBODY_WHY	1024

/* The child's reason for a non-zero return, for the parent's message. */
static char	*as_nobody_why;

static inline void
as_nobody_say(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(as_nobody_why, AS_NOBODY_WHY, fmt, ap);
	va_end(ap);
}

/*
 * fn(arg) in a child running as nobody (or as the current user when that
 * is not root already); asserts it returned 0.
 */
static inline void
as_nobody(int (*fn)(void *), void *arg)
{
	pid_t	 pid;
	int	 status, rc;

	as_nobody_why = mmap(NULL, AS_NOBODY_WHY, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(as_nobody_why, MAP_FAILED, "mmap: %s",
	    strerror(errno));
	as_nobody_why[0] = '\0';
	cr_assert_neq(pid = fork(), -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID) == -1 ||
		    setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID) == -1)) {
			as_nobody_say("dropping to nobody: %s",
			    strerror(errno));
			_exit(100);
		}
		if (geteuid() == 0) {
			as_nobody_say("still root after the drop");
			_exit(100);
		}
		rc = fn(arg);
		_exit(rc < 0 || rc > 99 ? 99 : rc);
	}
	while (waitpid(pid, &status, 0) == -1)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "as nobody: status %#x: %s", status, as_nobody_why);
	(void)munmap(as_nobody_why, AS_NOBODY_WHY);
}

#endif
