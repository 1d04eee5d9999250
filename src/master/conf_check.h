/*
 * Private to the master's config loading: the per-key checks of
 * conf_check.c that conf_load.c runs on every value it sets.
 */
#ifndef AGENT_CONF_CHECK_H
#define AGENT_CONF_CHECK_H

#include <stddef.h>

#include "conf.h"

/* Room for the reason one value is wrong. */
#define WHY_MAX		256

/*
 * The check of the key `f` on its value in `c`, on every element of a
 * list: 0, or -1 with the reason in why.  A key without a check passes.
 */
int	 conf_check_run(const struct conf_field *f, const struct agent_conf *c,
	    char *why, size_t whylen);

#endif
