/*
 * The parser of list values ([ "a", "b" ]), used by conf_load.c for every
 * CONF_T_LIST key.
 */
#ifndef AGENT_CONF_LIST_H
#define AGENT_CONF_LIST_H

#include <stddef.h>

#include "conf.h"

/*
 * Parse a list value as the seed file writes it: [ "a", "b" ], also [] and
 * a bare single word ("eth" or eth) as a one-element list.  -1 with a
 * reason in err on bad syntax (unterminated quote, missing comma, text
 * after the closing bracket, empty element).
 */
int	 conf_parse_list(const char *raw, struct strlist *out, char *err,
	    size_t errlen);

#endif
