#ifndef USERS_WAIT_H
#define USERS_WAIT_H

#include <stddef.h>

#include "conf.h"

#define USERS_WAIT_SECS	3	/* the name service's answer, at most */

/*
 * The users `c` names (user, pluginsuser, apiusers) looked up once in a
 * thread (bounded.h), before the checks look them up again on the
 * master's loop: 0 once the name service has answered for each, found
 * or not; -1 with err when it did not within `secs`.
 */
int	 users_wait(const struct agent_conf *c, int secs, char *err,
	    size_t errlen);

#endif
