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
 *
 * A compromised sender can still report the old spool and "" in turn as
 * fast as it writes: each change is a file written and fdatasync'ed, or
 * removed, by root, and a line in the log.  So a change it reports is
 * saved at once only when the last save is SPOOLHELD_SAVE_EVERY ago;
 * otherwise a timer saves whatever is held then (the last state wins,
 * and the master's exit saves one still pending), and its lines are
 * rate-limited.  A reload's changes, the operator's, are saved at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "master.h"

void
spoolheld_flush(struct master *m)
{
	if (m->spoolheld.pending)
		spoolheld_save(m);
}

void
spoolheld_save_due(struct master *m, double now)
{
	if (!m->spoolheld.pending)
		return;
	m->spoolheld.save_next = now + SPOOLHELD_SAVE_EVERY;
	spoolheld_save(m);
}

static void
save_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	spoolheld_save_due(t->data, ev_now(loop));
}

/* The held spool changed at the sender's word, at `now`. */
static void
changed(struct master *m, double now)
{
	struct spoolheld	*sh = &m->spoolheld;

	if (now >= sh->save_next) {
		sh->save_next = now + SPOOLHELD_SAVE_EVERY;
		spoolheld_save(m);
		return;
	}
	sh->pending = 1;
	if (m->loop == NULL || ev_is_active(&sh->save_timer))
		return;
	ev_timer_init(&sh->save_timer, save_timer_cb, sh->save_next - now, 0);
	sh->save_timer.data = m;
	ev_timer_start(m->loop, &sh->save_timer);
}

/* " (N reports since the last line)" when the line stands for more. */
static const char *
times(char *buf, size_t len, uint64_t n)
{
	if (n <= 1)
		return "";
	snprintf(buf, len, " (%" PRIu64 " reports since the last line)", n);
	return buf;
}

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
spoolheld_report(struct master *m, const char *path, double now)
{
	struct spoolheld	*sh = &m->spoolheld;
	uint64_t		 n;
	char			 buf[64];

	if (path[0] == '\0' || strcmp(path, m->conf.spool) == 0) {
		if (sh->held[0] != '\0') {
			if (warn_limit_due(&sh->left_warn, now, &n))
				log_info("the sender left the spool %s%s",
				    sh->held, times(buf, sizeof(buf), n));
			sh->held[0] = '\0';
			changed(m, now);
		}
		return;
	}
	if (!seen(sh, path)) {
		if (warn_limit_due(&sh->unnamed_warn, now, &n))
			log_warnx("%s: the sender says it holds the spool %s, "
			    "which no config named: ignored%s", __func__, path,
			    times(buf, sizeof(buf), n));
		return;
	}
	/* a report comes after a move was tried: each one is said, but
	 * for a sender saying it over and over */
	if (warn_limit_due(&sh->kept_warn, now, &n))
		log_warnx("the sender keeps the spool %s, not [output] spool "
		    "%s: a sender started after it is given %s too, until a "
		    "move works%s", path, m->conf.spool, path,
		    times(buf, sizeof(buf), n));
	if (strcmp(sh->held, path) == 0)
		return;		/* nothing new to save */
	strlcpy(sh->held, path, sizeof(sh->held));
	changed(m, now);
}

const char *
spoolheld_for_start(const struct master *m)
{
	const struct spoolheld	*sh = &m->spoolheld;

	if (sh->held[0] == '\0' || strcmp(sh->held, m->conf.spool) == 0)
		return NULL;
	return sh->held;
}
