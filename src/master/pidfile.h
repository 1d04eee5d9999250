/*
 * The pidfile is also the single-instance lock: the master holds an
 * exclusive flock(2) on it for its whole life.  A pidfile nobody holds a
 * lock on is stale, whatever pid it names: it is never trusted.
 */
#ifndef AGENT_PIDFILE_H
#define AGENT_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Readable by its owner alone: whoever can open the file can flock(2) it
 * and pass for a running agent (`stop` would signal the pid in it, and no
 * agent could start).
 */
#define PIDFILE_MODE	0600

struct pidfile {
	char	 path[1024];
	char	 name[256];	/* its last component */
	int	 fd;
	int	 dfd;		/* its directory, walked (pathsafe.h) */
};

/*
 * Take the lock: the directory is walked and made as pathsafe.h says, the
 * file opened with O_NOFOLLOW (created with O_EXCL, PIDFILE_MODE); a
 * stale file others could open is removed and made again, and so is one
 * others could open that is locked while the pid in it does not hold it.
 * Returns 0; or
 * -1 with err: "agent is already running
 * (pid N, pidfile PATH)" when another holds it, or the system error.
 * `stale_pid` receives the pid a stale file named (0 if none).
 */
int	 pidfile_lock(struct pidfile *, const char *path, pid_t *stale_pid,
	    char *err, size_t errlen);
/* Write our pid (after daemonizing). */
int	 pidfile_write(struct pidfile *, pid_t, char *err, size_t errlen);
/* Unlink and release (at exit). */
void	 pidfile_remove(struct pidfile *);

/* For the CLI: unlink a stale pidfile, under its lock. 0 or -1 with err. */
int	 pidfile_remove_stale(const char *path, char *err, size_t errlen);

/*
 * For the CLI: 1 and *pid when a live master holds the lock, 0 when not
 * running (*pid = stale pid or 0), -1 with err on other errors, and when
 * the lock is held but the pid named does not hold the file open (not an
 * agent's lock: whoever could open the file could take it).
 */
int	 pidfile_probe(const char *path, pid_t *pid, char *err,
	    size_t errlen);

/*
 * The name of a file the master keeps beside the pidfile (pidfile name +
 * suffix, in the directory it walked and locked), and that directory's
 * path: 0, or -1 when no pidfile is taken or the name is too long.
 */
int	 pidfile_sibling(const struct pidfile *, const char *suffix,
	    char *name, size_t len, char *dir, size_t dirlen);

/*
 * Open that file (`name` in `dir`, from pidfile_sibling()) for reading
 * and writing, made 0600 when missing (pathsafe_open_file_at() with
 * `flags`).  What took the name and is not a file of ours alone (another
 * user's file or link, planted first in a sticky directory) is removed,
 * the name only, said in the log, and the file made.  -1 with err.
 */
int	 pidfile_sibling_open(const struct pidfile *, const char *dir,
	    const char *name, int flags, char *err, size_t errlen);

#endif
