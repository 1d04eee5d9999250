/*
 * A worker's standard output and error, through the master, when the
 * master's own is a terminal (agent start -F, agent test, by hand).
 *
 * A worker shares the master's stdout and stderr (the sender's
 * `path = "-"` output, the sanitizers' reports, a failure before its
 * log reaches the master).  On root's terminal, code run in a
 * compromised worker could write escape sequences to it: set its title,
 * redefine keys, or, on some terminals, have it answer into root's
 * input.  So each worker writes to a pipe instead, and the master
 * copies what comes, a line at a time, with every control character
 * and every byte that is not UTF-8 escaped (log_escape_bytes()), to
 * its own.  Anything else (a file, a pipe, journald) gets the worker's
 * bytes as they are, with no copy through the master.
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/queue.h>

#include <ev.h>

struct relay;

struct relay_set {
	struct ev_loop		*loop;
	int			 tty[3];	/* 1 when our fd i is one */
	/*
	 * What the copies are written to for our fd i: the terminal
	 * opened again, non-blocking (a description of our own, the
	 * shell's stays as it is), so that a terminal that takes nothing
	 * (stopped with ^S, an ssh client that stopped reading) holds the
	 * worker writing there, as before the relay, and not the master;
	 * i itself when that open failed.
	 */
	int			 out[3];
	/*
	 * 1 when we made the terminal on our fd i exclusive (TIOCEXCL):
	 * no open of it without CAP_SYS_ADMIN, by its name or through a
	 * /proc/<pid>/fd/N, until we end.  The collector, root and able to
	 * open any file for reading, could otherwise read what root types
	 * there; no other worker may open it anyway (another uid).
	 */
	int			 excl[3];
	int			 term[3];	/* fd i was our controlling one */
	/*
	 * When the master first saw it hung up (ev_now), 0 while it has
	 * not: a SIGHUP that long after is not the one that came with the
	 * hangup (relay_set_hung_up()).
	 */
	ev_timer		 hup_poll;
	double			 hup_seen;
	TAILQ_HEAD(, relay)	 list;
};

/*
 * Looks at our stdout and stderr: which of them are terminals; makes
 * the terminals on our stdio exclusive (excl above).
 */
void	 relay_set_init(struct relay_set *, struct ev_loop *);

/*
 * The master's: from now on, looks every second whether its
 * controlling terminal, on our stdio, hung up, and notes when
 * (hup_seen).
 */
void	 relay_set_watch_hangup(struct relay_set *);

/*
 * 1 when our controlling terminal, on our stdin, stdout or stderr at
 * relay_set_init(), has hung up, and relay_set_watch_hangup()'s look saw
 * it first a few seconds ago at most, or not yet: the session it
 * belonged to is over (an ssh connection gone, a terminal window
 * closed), and the SIGHUP that came with it is no operator asking for a
 * reload.  A terminal that is not our controlling one (setsid) sends us
 * no SIGHUP when it hangs up, and one the agent outlived (a job
 * disowned, which the shell passes no SIGHUP on to) is long gone by the
 * time an operator's SIGHUP comes: 0, a reload.
 */
int	 relay_set_hung_up(struct relay_set *);

/*
 * For our fd 1 or 2: the descriptor a new child gets in its place, in
 * *child_end (close-on-exec; the caller closes it once the child is
 * started, or failed to), or -1 when that fd of ours is no terminal
 * and the child takes it as it is.  `name` says whose in what the
 * relay says of itself.  0, or -1 with errno.
 */
int	 relay_open(struct relay_set *, int fd, const char *name,
	    int *child_end);

/*
 * relay_open() for both of a child's stdout and stderr: fd is its
 * child_spec's, whose [1] and [2] it sets.  0, or -1 with errno, the
 * caller closing what was set (child_spec_close_stdio()).
 */
int	 relay_open_stdio(struct relay_set *, const char *name, int fd[3]);

/*
 * Copies what is left in every pipe, then frees them all (at exit),
 * waiting for the terminal as the master's own last lines do; the
 * terminals are no longer exclusive.
 */
void	 relay_set_flush(struct relay_set *);

/*
 * The copy of one read: whole lines escaped, each ended with its
 * newline, into out, one at a time; a line longer than RELAY_LINE_MAX
 * in pieces of it, the last one alone ending in the newline (a UTF-8
 * character cut at the end of a piece waits for the next); the rest
 * stays in line for the next read.  At eof, the rest too, with a
 * newline.  Returns the bytes put in out, which holds at least
 * RELAY_OUT_MAX, 0 when there is nothing to put.  For the unit tests.
 */
#define RELAY_LINE_MAX	4096
#define RELAY_OUT_MAX	(RELAY_LINE_MAX * 4 + 2)

struct relay_line {
	char	 buf[RELAY_LINE_MAX];
	size_t	 len;
	int	 cont;		/* pieces of it went out, no newline yet */
};

size_t	 relay_line_take(struct relay_line *, const char **in,
	    size_t *inlen, int eof, char *out);

#endif
