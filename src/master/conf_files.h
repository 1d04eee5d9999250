/*
 * The files the config names that the master reads for the workers
 * (CONF_T_FILE keys, such as [agent] gitsigners): a worker may not be
 * able to read them, and what they hold decides what the agent trusts.
 */
#ifndef AGENT_CONF_FILES_H
#define AGENT_CONF_FILES_H

#include <stddef.h>

#include "conf.h"

/*
 * Read every CONF_T_FILE key with a path into its text, and check what
 * it holds.  A file must be a regular file (not a symlink), owned by
 * root or by us, not writable by group or others, in a directory of the
 * same kind (or a sticky one).  0, or -1 with err naming the key, the
 * path and what is wrong; texts read before a failure stay in `c`
 * (conf_free() frees them).
 */
int	 conf_files_read(struct agent_conf *c, char *err, size_t errlen);

/*
 * `st` (of a file or of its directory, named `what` in the reason) is
 * owned by root or by us, and only its owner may write it (a sticky
 * directory aside): 0, or -1 with why.
 */
struct stat;
int	 conf_files_check_owner(const struct stat *st, const char *what,
	    char *why, size_t whylen);

/*
 * Open for reading a file whose content decides what root does: its
 * directory as conf_files_check_owner() says, then every directory from
 * / down walked as pathsafe.c walks them (so no directory another user
 * could rename or replace, at any depth), the file opened in the last
 * one without following a link and checked as opened.  `follow`: a
 * symbolic link as the file's own name is resolved first (the config;
 * the target is then checked the same way); otherwise it is refused.
 * The descriptor, or -1 with why (ENOENT: strerror's words alone).
 */
int	 conf_files_open(const char *path, int follow, char *why,
	    size_t whylen);

/* One file as conf_files_read() reads it; *text is the caller's. */
int	 conf_files_read_one(const char *path, size_t max, char **text,
	    char *why, size_t whylen);

#endif
