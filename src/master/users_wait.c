/*
 * users_wait.h.  A name service that does not answer (an LDAP server
 * down, sssd stuck) held the master's loop in getpwnam() at every reload
 * for as long as its own timeouts let it: no worker reaped or restarted,
 * no WATCHDOG=1 (systemd's kills the master at 30 s).  The lookups are
 * made first in a thread that the loop waits for a few seconds at most;
 * once the service has answered them, the checks' own lookups get their
 * answers as quickly (from its cache, nscd's or sssd's, or from a server
 * that is up).  A lookup given up on goes on in its thread until the
 * service answers; each reload meanwhile fails at once, without another
 * thread, until that one has its answer.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounded.h"
#include "users_wait.h"

struct users_probe {
	size_t	 n;
	char	*names[2 + CONF_APIUSERS_MAX];
};

static void
probe_free(void *p)
{
	struct users_probe	*u = p;
	size_t			 i;

	for (i = 0; i < u->n; i++)
		free(u->names[i]);
	free(u);
}

static void
probe_run(void *p)
{
	struct users_probe	*u = p;
	struct passwd		 pw, *res;
	char			 buf[16384];
	size_t			 i;

	/* found or not, what counts is that the service answered */
	for (i = 0; i < u->n; i++)
		(void)getpwnam_r(u->names[i], &pw, buf, sizeof(buf), &res);
}

static int
probe_add(struct users_probe *u, const char *name)
{
	if (u->n >= sizeof(u->names) / sizeof(u->names[0]))
		return 0;
	if ((u->names[u->n] = strdup(name)) == NULL)
		return -1;
	u->n++;
	return 0;
}

void
users_wait_release(struct bounded **pending)
{
	if (*pending == NULL)
		return;
	bounded_release(*pending);
	*pending = NULL;
}

int
users_wait(const struct agent_conf *c, int secs, struct bounded **pending,
    char *err, size_t errlen)
{
	struct users_probe	*u;
	size_t			 i;

	if (*pending != NULL && !bounded_done(*pending)) {
		snprintf(err, errlen, "the name service (LDAP? sssd?) has "
		    "still not answered the lookup of [agent] user, "
		    "pluginsuser and apiusers an earlier reload gave up on: "
		    "none is tried again until it does");
		return -1;
	}
	users_wait_release(pending);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		goto nomem;
	if (probe_add(u, c->user) == -1 ||
	    probe_add(u, c->pluginsuser) == -1)
		goto nomem;
	for (i = 0; i < c->apiusers.n; i++)
		if (probe_add(u, c->apiusers.v[i]) == -1)
			goto nomem;
	if (bounded_call(probe_run, u, probe_free, secs, pending) == 0) {
		probe_free(u);
		return 0;
	}
	if (errno == ETIMEDOUT) {
		snprintf(err, errlen, "looking up [agent] user, pluginsuser "
		    "and apiusers took more than %d s: the name service "
		    "(LDAP? sssd?) does not answer", secs);
		return -1;
	}
	snprintf(err, errlen, "looking up [agent] user, pluginsuser and "
	    "apiusers: %s", strerror(errno));
	probe_free(u);
	return -1;
nomem:
	if (u != NULL)
		probe_free(u);
	snprintf(err, errlen, "looking up [agent] user, pluginsuser and "
	    "apiusers: out of memory");
	return -1;
}
