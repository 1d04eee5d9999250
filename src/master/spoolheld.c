/*
 * The spool the sender holds when it is not the configured one.
 *
 * A reload that moves [output] spool carries the records over all or
 * nothing (sender_switch.c); when the new directory cannot take them, the
 * sender keeps the old one, and says so (MSG_SPOOL_INUSE).  A sender
 * started after it (a crash, a kill by the watchdog) would be given the
 * configured path and leave every acknowledged record in the old
 * directory unsent.  So the master remembers the spool held: from the
 * reload on until the sender says it moved (it may die before the new
 * config reaches it, or in the middle of the copy), or after it said it
 * kept the old one.  A sender it starts gets that spool, reads it, and
 * is then sent the config's, to try the move again.
 *
 * The path comes from a worker, so it is only taken when it is one the
 * config named since the master started: a compromised sender can make
 * the next one use an earlier spool of this host's config, nothing else.
 * The directory was prepared (dirs.c) when that config was loaded.
 */
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "master.h"

static int
seen(const struct spoolheld *sh, const char *path)
{
	size_t	 i;

	for (i = 0; i < sh->nseen; i++)
		if (strcmp(sh->seen[i], path) == 0)
			return 1;
	return 0;
}

void
spoolheld_reload(struct master *m, const char *prev, const char *next)
{
	struct spoolheld	*sh = &m->spoolheld;

	/*
	 * Until the sender says it moved, it holds what it held: it may die
	 * before the new config reaches it, or in the middle of the copy
	 * (the watchdog, a crash), and its successor must read the old one.
	 */
	if (sh->held[0] == '\0' && strcmp(prev, next) != 0) {
		strlcpy(sh->held, prev, sizeof(sh->held));
		spoolheld_save(m);
	}
	spoolheld_configured(m, next);
}

void
spoolheld_configured(struct master *m, const char *path)
{
	struct spoolheld	*sh = &m->spoolheld;

	if (path[0] != '\0' && !seen(sh, path)) {
		/* the oldest goes: a spool named that long ago is moot */
		if (sh->nseen == SPOOLHELD_SEEN_MAX) {
			memmove(sh->seen[0], sh->seen[1], sizeof(sh->seen[0]) *
			    (SPOOLHELD_SEEN_MAX - 1));
			sh->nseen--;
		}
		strlcpy(sh->seen[sh->nseen++], path, sizeof(sh->seen[0]));
	}
	/* configured again: nothing to hold over */
	if (sh->held[0] != '\0' && strcmp(sh->held, path) == 0) {
		sh->held[0] = '\0';
		spoolheld_save(m);
	}
}

void
spoolheld_report(struct master *m, const char *path)
{
	struct spoolheld	*sh = &m->spoolheld;

	if (path[0] == '\0' || strcmp(path, m->conf.spool) == 0) {
		if (sh->held[0] != '\0') {
			log_info("the sender left the spool %s", sh->held);
			sh->held[0] = '\0';
			spoolheld_save(m);
		}
		return;
	}
	if (!seen(sh, path)) {
		log_warnx("%s: the sender says it holds the spool %s, which "
		    "no config named: ignored", __func__, path);
		return;
	}
	/* a report comes after a move was tried: each one is said */
	log_warnx("the sender keeps the spool %s, not [output] spool %s: a "
	    "sender started after it is given %s too, until a move works",
	    path, m->conf.spool, path);
	strlcpy(sh->held, path, sizeof(sh->held));
	spoolheld_save(m);
}

const char *
spoolheld_for_start(const struct master *m)
{
	const struct spoolheld	*sh = &m->spoolheld;

	if (sh->held[0] == '\0' || strcmp(sh->held, m->conf.spool) == 0)
		return NULL;
	return sh->held;
}
