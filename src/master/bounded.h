#ifndef BOUNDED_H
#define BOUNDED_H

/*
 * A call that may block for as long as a server lets it (the name
 * service: DNS, LDAP, sssd), run in a thread of its own and waited for a
 * few seconds at most, so that the master's loop, which reaps and
 * restarts the workers and pings systemd's watchdog, never stands still
 * for it.
 */
typedef void	(*bounded_fn)(void *arg);

struct bounded;

/*
 * fn(arg) in a detached thread with every signal blocked, waited for
 * `secs`.  0: it returned, and arg is the caller's again.  -1 with errno
 * ETIMEDOUT: it goes on, and free_arg(arg) runs once it returns and
 * nobody holds it (the caller must not touch arg); any other errno: no
 * thread was made, and arg is the caller's.
 *
 * `held`, when not NULL, gets the call given up on, so that the caller
 * can tell when it has returned (bounded_done()) before it starts
 * another for the same server: a server that never answers would
 * otherwise keep one more thread at each try.  bounded_release() lets
 * go of it.
 */
int	 bounded_call(bounded_fn fn, void *arg, void (*free_arg)(void *),
	    int secs, struct bounded **held);
int	 bounded_done(struct bounded *);
void	 bounded_release(struct bounded *);

#endif
