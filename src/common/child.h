/*
 * Starting a program in a child process: the one helper behind every
 * fork->exec of the agent (workers from the master, plugins from the
 * scheduler, git from gitpull).  See child.c for how and why.
 *
 * What every child gets, whoever asks: every signal 1..64 but SIGKILL and
 * SIGSTOP back to SIG_DFL and an empty signal mask; the descriptors of
 * the spec on 0, 1, 2 and from 3 on, every other one closed; then, as
 * the spec says, a Landlock domain of its own, its own session or process
 * group, a lower priority, SIGKILL when the parent dies, a umask, limits
 * of file size, processes and data, and a working directory; then execve (or
 * execveat of a descriptor).  Nothing the parent allocated, locked or
 * resolved is used in between.
 */
#ifndef AGENT_CHILD_H
#define AGENT_CHILD_H

#include <sys/types.h>

#define CHILD_KEEP_MAX	4	/* descriptors passed on from 3 */

/* spec.flags */
#define CHILD_SETSID	0x01	/* own session, so own process group */
#define CHILD_SETPGID	0x02	/* own process group */
#define CHILD_PDEATHSIG	0x04	/* SIGKILL when the parent (thread) dies */

/* The step that failed, in child_fail.step; 0: the exec happened. */
enum child_step {
	CHILD_STEP_NONE = 0,
	CHILD_STEP_SETSID,
	CHILD_STEP_SETPGID,
	CHILD_STEP_PDEATHSIG,
	CHILD_STEP_FDS,
	CHILD_STEP_CHDIR,
	CHILD_STEP_EXEC,
	CHILD_STEP_RLIMIT,
	CHILD_STEP_LANDLOCK,
	CHILD_STEP_NICE
};

struct child_spec {
	const char	*path;		/* execve(path); NULL: exec_fd */
	int		 exec_fd;	/* execveat(exec_fd, "", AT_EMPTY_PATH)
					 * when path is NULL; the image the
					 * descriptor holds, whatever its name
					 * says now */
	char *const	*argv;		/* NULL-terminated */
	char *const	*envp;		/* the whole environment */
	const char	*dir;		/* chdir there; NULL: the parent's */
	int		 fd[3];		/* become 0, 1, 2; -1: left as they are */
	int		 keep[CHILD_KEEP_MAX];	/* become 3, 4, ... */
	int		 nkeep;
	int		 flags;		/* CHILD_* */
	int		 umask;		/* -1: the parent's */
	long long	 fsize;		/* > 0: RLIMIT_FSIZE, soft and hard, in
					 * bytes, and SIGXFSZ ignored: a write
					 * past it fails with EFBIG */
	long long	 nproc;		/* > 0: RLIMIT_NPROC, soft and hard:
					 * the processes and threads of the
					 * child's uid, all of them, past which
					 * its fork and clone fail (EAGAIN) */
	long long	 data;		/* > 0: RLIMIT_DATA, soft and hard, in
					 * bytes: its heap and private writable
					 * mappings, past which they fail
					 * (ENOMEM) */
	int		 landlock_fd;	/* >= 0: no new privileges, and a
					 * Landlock domain of this ruleset,
					 * first; -1: neither */
	int		 nice;		/* > 0: this much nicer than the
					 * parent (setpriority, capped at
					 * 19), in its own session, which
					 * it cannot undo without
					 * CAP_SYS_NICE */
	int		*pidfd;		/* non-NULL: a pidfd of the child goes
					 * here (close-on-exec); it turns
					 * readable when the child has ended */
};

struct child_fail {
	int	 step;		/* enum child_step; CHILD_STEP_NONE: none */
	int	 err;		/* errno of that step */
};

/* A spec with nothing set: no descriptors, no flags, umask kept. */
void		 child_spec_init(struct child_spec *);
/* Closes the parent's copies of fd[0..2] that are set (after the start). */
void		 child_spec_close_stdio(struct child_spec *);

/*
 * Start the child.  When this returns the child has either exec'd or
 * exited: the pid is returned either way, and the caller reaps it as
 * usual (an exit before exec has status 127).  `fail` says which step
 * failed and why (step CHILD_STEP_NONE when the exec happened).  -1 with
 * errno when no child was made (bad spec, out of descriptors, clone).
 */
pid_t		 child_spawn(const struct child_spec *, struct child_fail *);

/* "setsid", "descriptors", "chdir", "exec", ...: for messages. */
const char	*child_step_name(int step);

#endif
