/*
 * Reading the config file (master only).  iniparser does the INI syntax;
 * this module maps keys onto struct agent_conf through conf_fields[] and
 * validates every value.
 */
#ifndef AGENT_CONF_LOAD_H
#define AGENT_CONF_LOAD_H

#include <stddef.h>

#include "conf.h"

typedef void (*conf_warn_fn)(const char *msg, void *arg);

/*
 * Load `path` into `out` (defaults first, then the file).  Returns 0, or -1
 * with a message in err that names the file and, for a bad value, the
 * section, key and value: `agent.conf: [log] loglevel = "LOUD": must be one
 * of DEBUG, INFO, WARN, ERROR`.  Unknown sections and keys are reported
 * through warn (may be NULL) and otherwise ignored.  On -1, `out` holds
 * nothing to free.
 */
int	 conf_load(const char *path, struct agent_conf *out, conf_warn_fn warn,
	    void *warn_arg, char *err, size_t errlen);

/*
 * Checks that need the running system: users exist (as root), pluginsuser
 * is not root unless allowrootplugins; then the files the config names
 * for the workers are read into it (conf_files.h).  Problems that matter
 * only as root are warnings when not root.
 * 0; -1 with err when the config is wrong for this system; -2 with err
 * when a user could not be looked up (NSS down: LDAP, sssd), which is no
 * fault of the file, and may pass.
 */
int	 conf_check_env(struct agent_conf *, int as_root,
	    conf_warn_fn warn, void *warn_arg, char *err, size_t errlen);

#endif
