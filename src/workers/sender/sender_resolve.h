/*
 * Name resolution off the sender's event loop, for the nsq TCP output.
 *
 * getaddrinfo() may wait for a DNS server for many seconds (glibc:
 * timeout x attempts x nameservers); called on the loop it would stall
 * every output and the producers' answers with it.  So each lookup runs
 * getaddrinfo() in a short-lived thread of its own and hands the answer
 * back to the loop through an ev_async; a deadline on the loop gives up
 * on a lookup that takes too long.  glibc's getaddrinfo_a() is the same
 * idea with less control: gai_cancel() cannot stop a lookup in progress,
 * whose request block then may not be freed until it ends.
 *
 * Ownership: a lookup is shared by the loop and its thread, counted,
 * and freed by whichever lets go last.  The loop lets go when the answer
 * is taken, at the deadline, or on sender_resolve_cancel(); a thread that ends
 * after that frees the lookup and its answer itself, and never touches
 * the resolver (it checks, under the lookup's lock, that it was not
 * abandoned before it wakes the loop).  A thread still waiting for DNS
 * when the process exits is simply ended with it.
 *
 * Threads and the sandbox: the sender's allow-list (sandbox_seccomp.c,
 * build_client) lets clone() through only with CLONE_THREAD, CLONE_VM
 * and CLONE_SIGHAND and no namespace flag, gives clone3 ENOSYS so glibc
 * falls back to clone, and keeps futex, mmap/munmap, mprotect (no
 * PROT_EXEC), madvise, set_robust_list, rseq and eventfd2 for the
 * ev_async.  The thread blocks every signal: libev handles them on the
 * loop's thread.
 *
 * Numeric addresses are resolved at once, on the loop: getaddrinfo()
 * with AI_NUMERICHOST never waits.
 */
#ifndef AGENT_SENDER_RESOLVE_H
#define AGENT_SENDER_RESOLVE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stddef.h>

#include <ev.h>

struct resolver;
struct resolve_job;

/* The lookup function: getaddrinfo(), or a stand-in in tests. */
typedef int	(*resolve_fn)(const char *host, const char *port,
		    const struct addrinfo *hints, struct addrinfo **res);

/*
 * How a lookup ended.  res (rc 0) is the callee's to freeaddrinfo();
 * otherwise rc is an EAI_* code (EAI_SYSTEM: sys_errno says more), or
 * timedout is set.
 */
struct resolve_result {
	int		 rc;
	int		 sys_errno;
	int		 timedout;
	struct addrinfo	*res;
};

typedef void	(*resolve_cb)(struct resolver *, struct resolve_result *,
		    void *arg);

/* One lookup at a time, owned by its user (e.g. one per connection). */
struct resolver {
	struct ev_loop		*loop;
	resolve_fn		 fn;
	resolve_cb		 cb;
	void			*arg;
	ev_async		 async;		/* the thread is done */
	ev_timer		 deadline;
	struct resolve_job	*job;		/* the lookup in progress */
	int			 background;	/* it went to a thread */
};

/* Never fails; `fn` NULL means getaddrinfo(). */
void	 sender_resolve_init(struct resolver *, struct ev_loop *, resolve_fn,
	    resolve_cb, void *arg);
/*
 * Look `host` up (a lookup in progress is abandoned first).  The answer
 * comes through the callback from the loop, never from inside this call,
 * at the latest `timeout` seconds later.  -1 with `err` when no lookup
 * could start (out of memory, no thread); no callback then.
 */
int	 sender_resolve_start(struct resolver *, const char *host,
    const char *port,
	    const struct addrinfo *hints, double timeout, char *err,
	    size_t errlen);
/* Abandon the lookup in progress, if any; no callback for it. */
void	 sender_resolve_cancel(struct resolver *);
/* 1 while a lookup is in progress. */
int	 sender_resolve_busy(const struct resolver *);
/* Cancel and stop the watchers: before the resolver's memory goes. */
void	 sender_resolve_close(struct resolver *);

#endif
