/*
 * Disable markers, pluginsdir/plugin.disabled/<ns>|<project> (the Go
 * agent's layout, lodastack-protocols.md 3.3), written by gitpull for the
 * scheduler.  gitpull runs as `user`, the owner of pluginsdir; the
 * scheduler runs as pluginsuser, as every plugin does, so a directory the
 * scheduler could write in, any plugin could too: disable the others,
 * or enable what the operator disabled.  The scheduler only reads it.
 */
#ifndef AGENT_GITPULL_MARKER_H
#define AGENT_GITPULL_MARKER_H

#include <stddef.h>
#include <time.h>

#include "plugin_msg.h"

/*
 * Carry out r->mark (DISABLE or ENABLE) for r->ns and r->project: the
 * marker made (its time set to `now`, the 24 hours start again) or
 * removed.  An ENABLE with a mark_before finds a marker touched after it
 * (disabled again since the sweep looked): the marker stays, *kept = 1.
 * 0, or -1 with err naming the file and what failed.
 */
int	 gitpull_marker_apply(const char *pluginsdir, const struct git_req *r,
	    time_t now, int *kept, char *err, size_t errlen);

#endif
