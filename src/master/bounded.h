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

/*
 * fn(arg) in a detached thread with every signal blocked, waited for
 * `secs`.  0: it returned, and arg is the caller's again.  -1 with errno
 * ETIMEDOUT: it goes on, and free_arg(arg) runs once it returns (the
 * caller must not touch arg); any other errno: no thread was made, and
 * arg is the caller's.
 */
int	 bounded_call(bounded_fn fn, void *arg, void (*free_arg)(void *),
	    int secs);

#endif
