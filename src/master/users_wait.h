#ifndef USERS_WAIT_H
#define USERS_WAIT_H

#include <stddef.h>

#include "conf.h"

#define USERS_WAIT_SECS	3	/* the name service's answer, at most */

struct bounded;

/*
 * The users `c` names (user, pluginsuser, apiusers) looked up once in a
 * thread (bounded.h), before the checks look them up again on the
 * master's loop: 0 once the name service has answered for each, found
 * or not; -1 with err when it did not within `secs`.  `*pending` holds
 * a lookup given up on (NULL: none): while it has not returned, no
 * other is started and -1 comes at once, so that a name service that
 * never answers keeps one thread of the master, not one a reload.
 * users_wait_release() lets go of it.
 */
int	 users_wait(const struct agent_conf *c, int secs,
	    struct bounded **pending, char *err, size_t errlen);
void	 users_wait_release(struct bounded **pending);

#endif
