/*
 * spoolheld.c: which spool a restarted sender is given.  The path comes
 * from the sender, a worker the threat model lets be compromised: only a
 * spool some config of this master named is ever taken.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"
#include "master/master.h"
#include "warn_limit.h"

static struct master *
master_with_spool(const char *spool)
{
	struct master	*m;

	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	snprintf(m->conf.spool, sizeof(m->conf.spool), "%s", spool);
	spoolheld_configured(m, spool);
	log_set_level(LOG_LVL_ERROR);
	return m;
}

/* The config names `spool`: what the remembering alone does with it. */
static void
reload(struct master *m, const char *spool)
{
	snprintf(m->conf.spool, sizeof(m->conf.spool), "%s", spool);
	spoolheld_configured(m, spool);
}

/* A reload to `spool`, as master.c applies it: the old one held too. */
static void
reload_from_current(struct master *m, const char *spool)
{
	char	 prev[sizeof(m->conf.spool)];

	snprintf(prev, sizeof(prev), "%s", m->conf.spool);
	snprintf(m->conf.spool, sizeof(m->conf.spool), "%s", spool);
	spoolheld_reload(m, prev, spool);
}

Test(spoolheld, the_old_spool_is_held_until_a_move_or_a_reload_back)
{
	struct master	*m = master_with_spool("/var/spool/agent");

	cr_assert_null(spoolheld_for_start(m));
	reload(m, "/mnt/small");
	/* the sender could not move: it keeps the old one */
	spoolheld_report(m, "/var/spool/agent", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
	/* another reload it could not move to either: still the old one */
	reload(m, "/mnt/other");
	cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
	/* then one that worked */
	spoolheld_report(m, "/mnt/other", 0);
	cr_assert_null(spoolheld_for_start(m));

	/* held again, then the config names it again: nothing to hold */
	reload(m, "/mnt/small");
	spoolheld_report(m, "/mnt/other", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/mnt/other");
	reload(m, "/mnt/other");
	cr_assert_null(spoolheld_for_start(m));

	/* memory only is nothing to hold */
	reload(m, "/mnt/small");
	spoolheld_report(m, "/mnt/other", 0);
	spoolheld_report(m, "", 0);
	cr_assert_null(spoolheld_for_start(m));
	free(m);
}

/* What no config named is never given to a sender, nor to the master's
 * directory preparation. */
Test(spoolheld, a_path_no_config_named_is_ignored)
{
	struct master	*m = master_with_spool("/var/spool/agent");

	reload(m, "/mnt/small");
	spoolheld_report(m, "/etc", 0);
	cr_assert_null(spoolheld_for_start(m));
	spoolheld_report(m, "/var/spool/agent/../../../etc", 0);
	cr_assert_null(spoolheld_for_start(m));
	/* an earlier one held stays held through a lie */
	spoolheld_report(m, "/var/spool/agent", 0);
	spoolheld_report(m, "/root", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
	free(m);
}

/* Only the last SPOOLHELD_SEEN_MAX spools named are remembered. */
Test(spoolheld, the_oldest_spools_named_are_forgotten)
{
	struct master	*m = master_with_spool("/s/0");
	char		 path[32];
	int		 i;

	for (i = 1; i <= SPOOLHELD_SEEN_MAX; i++) {
		snprintf(path, sizeof(path), "/s/%d", i);
		reload(m, path);
	}
	spoolheld_report(m, "/s/0", 0);
	cr_assert_null(spoolheld_for_start(m));
	spoolheld_report(m, "/s/1", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/s/1");
	free(m);
}

/*
 * From the reload on, the old spool is held until the sender says it
 * moved: it may die before the config reaches it, or during the copy.
 */
Test(spoolheld, a_reload_holds_the_old_spool_until_the_sender_moved)
{
	struct master	*m = master_with_spool("/var/spool/agent");

	reload_from_current(m, "/mnt/new");
	cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
	spoolheld_report(m, "/mnt/new", 0);
	cr_assert_null(spoolheld_for_start(m));
	/* a reload that changes nothing holds nothing */
	reload_from_current(m, "/mnt/new");
	cr_assert_null(spoolheld_for_start(m));
	/* one held already stays held through another reload */
	reload_from_current(m, "/mnt/third");
	spoolheld_report(m, "/mnt/new", 0);
	reload_from_current(m, "/mnt/fourth");
	cr_assert_str_eq(spoolheld_for_start(m), "/mnt/new");
	/* from memory only there is nothing to hold */
	spoolheld_report(m, "/mnt/fourth", 0);
	reload_from_current(m, "");
	spoolheld_report(m, "", 0);
	reload_from_current(m, "/mnt/fifth");
	cr_assert_null(spoolheld_for_start(m));
	free(m);
}

/*
 * Two reloads before the sender answers the first: it moved to the
 * first new spool, and says so while the config names the second.  The
 * one it holds is then that first new spool, not the start one.
 */
Test(spoolheld, a_spool_named_by_a_reload_is_one_the_sender_may_hold)
{
	struct master	*m = master_with_spool("/var/spool/agent");

	reload_from_current(m, "/mnt/a");
	reload_from_current(m, "/mnt/b");
	cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
	spoolheld_report(m, "/mnt/a", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/mnt/a");
	free(m);
}

/*
 * What takes a place among those remembered: each spool once, and no
 * memory-only config; an eviction forgets the oldest and only it.
 */
Test(spoolheld, each_spool_named_is_remembered_once_and_evicted_oldest_first)
{
	struct master	*m = master_with_spool("/s/0");
	char		 path[32];
	int		 i;

	/* back and forth, and memory only in between: two places */
	for (i = 0; i < 2 * SPOOLHELD_SEEN_MAX; i++) {
		reload(m, i % 2 == 0 ? "/s/1" : "");
		reload(m, "/s/0");
	}
	spoolheld_report(m, "/s/1", 0);
	cr_assert_str_eq(spoolheld_for_start(m), "/s/1");
	spoolheld_report(m, "/s/0", 0);
	/* one more than it remembers: all but /s/0 */
	for (i = 2; i <= SPOOLHELD_SEEN_MAX; i++) {
		snprintf(path, sizeof(path), "/s/%d", i);
		reload(m, path);
	}
	for (i = 1; i < SPOOLHELD_SEEN_MAX; i++) {
		snprintf(path, sizeof(path), "/s/%d", i);
		spoolheld_report(m, path, 0);
		cr_assert_not_null(spoolheld_for_start(m), "%s forgotten",
		    path);
		cr_assert_str_eq(spoolheld_for_start(m), path);
		spoolheld_report(m, "", 0);
	}
	spoolheld_report(m, "/s/0", 0);
	cr_assert_null(spoolheld_for_start(m), "/s/0 remembered");
	free(m);
}

/*
 * A compromised sender saying the old spool and "" in turn, as fast as
 * it writes: each change was a file written and fdatasync'ed (or
 * removed) by root and a line in the log.  Now at most one save per
 * SPOOLHELD_SAVE_EVERY and one line per WARN_LIMIT_EVERY of each kind;
 * and whatever it said last is what the file says once the timer ran.
 */
static int	 sink_lines;

static void
count_sink(enum log_level level, const char *msg, void *arg)
{
	sink_lines++;
}

/* The file the master keeps the held spool in: its content, or NULL. */
static char *
held_on_disk(const char *dir, char *buf, size_t len)
{
	char	 path[256];
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/agent.pid.spool", dir);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
flood(int ends_held)
{
	struct master	*m = master_with_spool("/var/spool/agent");
	char		 dir[] = "/tmp/agent-spoolheld-XXXXXX", buf[256];
	double		 now = 1000.0;
	int		 i, n = 10000 + (ends_held ? 1 : 0);

	cr_assert_not_null(mkdtemp(dir));
	snprintf(m->pidfile.path, sizeof(m->pidfile.path), "%s/agent.pid",
	    dir);
	snprintf(m->pidfile.name, sizeof(m->pidfile.name), "agent.pid");
	cr_assert_geq(m->pidfile.dfd = open(dir, O_DIRECTORY | O_RDONLY), 0);
	log_set_level(LOG_LVL_DEBUG);
	sink_lines = 0;
	log_set_sink(count_sink, NULL);

	reload_from_current(m, "/mnt/new");
	cr_assert_eq(m->spoolheld.saves, 1);
	cr_assert_str_eq(held_on_disk(dir, buf, sizeof(buf)),
	    "/var/spool/agent\n");
	/* 10,000 reports in 6 s, the timer firing when due */
	for (i = 0; i < n; i++) {
		spoolheld_report(m, i % 2 == 0 ? "/var/spool/agent" : "", now);
		now += 0.0006;
		if (m->spoolheld.pending && now >= m->spoolheld.save_next)
			spoolheld_save_due(m, now);
	}
	cr_assert_leq(m->spoolheld.saves, 1 + 6 / SPOOLHELD_SAVE_EVERY + 1,
	    "%llu saves", (unsigned long long)m->spoolheld.saves);
	cr_assert_leq(sink_lines, 2, "%d lines", sink_lines);
	/* the timer's last run: what it said last is on disk */
	spoolheld_save_due(m, now + SPOOLHELD_SAVE_EVERY);
	cr_assert_eq(m->spoolheld.pending, 0);
	if (ends_held) {
		cr_assert_str_eq(spoolheld_for_start(m), "/var/spool/agent");
		cr_assert_not_null(held_on_disk(dir, buf, sizeof(buf)));
		cr_assert_str_eq(buf, "/var/spool/agent\n");
	} else {
		cr_assert_null(spoolheld_for_start(m));
		cr_assert_null(held_on_disk(dir, buf, sizeof(buf)));
	}

	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
	close(m->pidfile.dfd);
	free(m);
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	cr_assert_eq(system(buf), 0);
}

Test(spoolheld, a_sender_flipping_its_spool_gets_bounded_saves_and_lines)
{
	flood(0);
	flood(1);
}

/* One change still pending when the master exits is saved then. */
Test(spoolheld, a_change_still_pending_is_saved_at_exit)
{
	struct master	*m = master_with_spool("/var/spool/agent");
	char		 dir[] = "/tmp/agent-spoolheld-XXXXXX", buf[256];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(m->pidfile.path, sizeof(m->pidfile.path), "%s/agent.pid",
	    dir);
	snprintf(m->pidfile.name, sizeof(m->pidfile.name), "agent.pid");
	cr_assert_geq(m->pidfile.dfd = open(dir, O_DIRECTORY | O_RDONLY), 0);
	reload(m, "/mnt/new");
	spoolheld_report(m, "/var/spool/agent", 50.0);
	spoolheld_report(m, "", 50.1);
	spoolheld_report(m, "/var/spool/agent", 50.2);
	cr_assert_eq(m->spoolheld.saves, 1);
	spoolheld_report(m, "", 50.3);
	cr_assert_not_null(held_on_disk(dir, buf, sizeof(buf)));
	spoolheld_flush(m);
	cr_assert_null(held_on_disk(dir, buf, sizeof(buf)), "%s", buf);
	cr_assert_eq(m->spoolheld.saves, 2);
	close(m->pidfile.dfd);
	free(m);
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	cr_assert_eq(system(buf), 0);
}
