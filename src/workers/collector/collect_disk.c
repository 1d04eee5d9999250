/*
 * DISK type (lodastack-protocols.md 5.3): disk.io.{read_requests,
 * write_requests,await,util} per device from /proc/diskstats, as rates
 * between this run and the previous one.
 *
 * Devices: the Go agent's whole disks (sd, vd, xvd, hio, fio followed by
 * letters only; it took sdX and xvdX of one letter, so sdaa was missed),
 * NVMe namespaces (nvme0n1; not its partitions nvme0n1p1 nor the
 * multipath paths nvme0c0n1) and device-mapper devices (dm-0), tagged with
 * their dm name from /sys/block/dm-N/dm/name (LVM's vg-lv, a LUKS
 * mapping) when it can be read, else with dm-N; the name is what stays
 * the same across reboots.  Lines with 0 reads completed are skipped, as
 * the Go agent did.
 *
 * A device gives nothing on its first sample, and nothing for a sample
 * where any counter went backwards (32-bit fields wrapping on old
 * kernels, a dm device removed and created again): the next run compares
 * with the new values.  The interval is the monotonic time between the
 * two runs (the Go agent divided by whole seconds).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_file.h"
#include "collect_table.h"

#define DISK_NAME_MAX	32
#define DISK_TAG_MAX	128

/* diskstats columns after major, minor, name */
enum {
	DS_READS = 0,		/* reads completed */
	DS_READ_MS = 3,		/* ms spent reading */
	DS_WRITES = 4,		/* writes completed */
	DS_WRITE_MS = 7,	/* ms spent writing */
	DS_IO_MS = 9,		/* ms spent doing I/O */
	DS_NEED = 11		/* columns a line must have */
};

struct disk {
	char			 name[DISK_NAME_MAX];	/* sda, dm-0 */
	char			 tag[DISK_TAG_MAX];	/* device tag */
	unsigned long long	 reads, read_ms, writes, write_ms, io_ms;
};
_Static_assert(offsetof(struct disk, name) == 0,
    "a collect_table row begins with its name");

struct disk_state {
	struct cfile		 stats;
	struct collect_table	 disks;		/* of struct disk */
};

static void *
disk_init(void)
{
	struct disk_state	*s;

	if ((s = calloc(1, sizeof(*s))) != NULL)
		collect_table_init(&s->disks, sizeof(struct disk));
	return s;
}

static void
disk_fini(void *arg)
{
	struct disk_state	*s = arg;

	if (s == NULL)
		return;
	collect_file_free(&s->stats);
	collect_table_free(&s->disks);
	free(s);
}

/* prefix followed by one or more lowercase letters */
static int
letters_after(const char *name, const char *prefix)
{
	size_t	 n = strlen(prefix);
	const char *p;

	if (strncmp(name, prefix, n) != 0 || name[n] == '\0')
		return 0;
	for (p = name + n; *p != '\0'; p++)
		if (*p < 'a' || *p > 'z')
			return 0;
	return 1;
}

/* prefix followed by one or more digits; *end past them */
static int
digits_after(const char *s, const char *prefix, const char **end)
{
	size_t	 n = strlen(prefix);

	if (strncmp(s, prefix, n) != 0)
		return 0;
	s += n;
	if (*s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	*end = s;
	return 1;
}

/* Which device names are reported (see the top of the file). */
static int
disk_wanted(const char *name)
{
	const char	*e;

	if (letters_after(name, "sd") || letters_after(name, "vd") ||
	    letters_after(name, "xvd") || letters_after(name, "hio") ||
	    letters_after(name, "fio"))
		return 1;
	/* nvme<ctrl>n<ns>, nothing after */
	if (digits_after(name, "nvme", &e) && digits_after(e, "n", &e) &&
	    *e == '\0')
		return 1;
	if (digits_after(name, "dm-", &e) && *e == '\0')
		return 1;
	return 0;
}

/* The device tag: the dm name when there is one to read. */
static void
disk_tag(const struct collect_env *env, const char *name, char *tag,
    size_t len)
{
	/* a dm name (at most 127 bytes) and its newline */
	char	 path[PATH_MAX], buf[DISK_TAG_MAX + 1];
	ssize_t	 n;

	snprintf(tag, len, "%s", name);
	if (strncmp(name, "dm-", 3) != 0)
		return;
	if (collect_path(path, sizeof(path), env->root,
	    "/sys/block/%s/dm/name", name) == -1 ||
	    (n = collect_read(path, buf, sizeof(buf))) <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n > 0)
		snprintf(tag, len, "%s", buf);
}

/* One diskstats line into s->disks; 0 (kept or skipped) or -1 (memory). */
static int
disk_line(struct disk_state *s, const struct collect_env *env, char *line)
{
	uint64_t		 v[DS_NEED];
	const struct disk	*old;
	struct disk		*d;
	char			*name, *tok;
	int			 i;

	/* major, minor */
	if (collect_token(&line) == NULL || collect_token(&line) == NULL ||
	    (name = collect_token(&line)) == NULL)
		return 0;
	for (i = 0; i < DS_NEED; i++) {
		if ((tok = collect_token(&line)) == NULL ||
		    collect_u64(tok, NULL, &v[i]) == -1)
			return 0;
	}
	if (v[DS_READS] == 0 || strlen(name) >= DISK_NAME_MAX ||
	    !disk_wanted(name))
		return 0;
	if ((d = collect_table_add(&s->disks)) == NULL)
		return -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* the dm name is read once, while the device stays */
	if ((old = collect_table_prev(&s->disks, name)) != NULL)
		snprintf(d->tag, sizeof(d->tag), "%s", old->tag);
	else
		disk_tag(env, name, d->tag, sizeof(d->tag));
	d->reads = v[DS_READS];
	d->read_ms = v[DS_READ_MS];
	d->writes = v[DS_WRITES];
	d->write_ms = v[DS_WRITE_MS];
	d->io_ms = v[DS_IO_MS];
	return 0;
}

static void
disk_emit(const struct disk *o, const struct disk *d, double secs,
    struct point_list *out)
{
	unsigned long long	 dr, dw, dms, dio;
	double			 util;

	if (d->reads < o->reads || d->writes < o->writes ||
	    d->read_ms < o->read_ms || d->write_ms < o->write_ms ||
	    d->io_ms < o->io_ms)
		return;		/* wrapped or reset: this sample is lost */
	dr = d->reads - o->reads;
	dw = d->writes - o->writes;
	dms = (d->read_ms - o->read_ms) + (d->write_ms - o->write_ms);
	dio = d->io_ms - o->io_ms;
	(void)collect_list_add_float(out, "disk.io.read_requests",
	    collect_trunc2((double)dr / secs), "device", d->tag, NULL);
	(void)collect_list_add_float(out, "disk.io.write_requests",
	    collect_trunc2((double)dw / secs), "device", d->tag, NULL);
	(void)collect_list_add_float(out, "disk.io.await", dr + dw == 0 ? 0.0 :
	    collect_trunc2((double)dms / (double)(dr + dw)), "device", d->tag,
	    NULL);
	util = collect_trunc2((double)dio * 100.0 / (secs * 1000.0));
	if (util > 100.0)
		util = 100.0;
	(void)collect_list_add_float(out, "disk.io.util", util, "device",
	    d->tag, NULL);
}

static int
disk_collect(void *arg, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct disk_state	*s = arg;
	const struct disk	*o, *d;
	char			*p, *line;
	double			 secs;
	size_t			 i;

	if (collect_slurp(env->root, "/proc/diskstats", COLLECT_SLURP_MAX,
	    &s->stats, err, errlen) == -1) {
		collect_table_forget(&s->disks);
		return -1;
	}
	collect_table_begin(&s->disks);
	for (p = s->stats.p; (line = collect_line(&p)) != NULL; )
		if (disk_line(s, env, line) == -1) {
			snprintf(err, errlen, "/proc/diskstats: out of memory");
			collect_table_forget(&s->disks);
			return -1;
		}
	if ((secs = collect_table_interval(&s->disks, env->mono)) > 0.0)
		for (i = 0; i < s->disks.ncur; i++) {
			d = collect_table_row(&s->disks, i);
			if ((o = collect_table_prev(&s->disks,
			    d->name)) != NULL)
				disk_emit(o, d, secs, out);
		}
	/* this sample is the previous one of the next run */
	collect_table_keep(&s->disks, env->mono);
	return 0;
}

const struct collect_family collect_disk_family = {
	.name = "disk",
	.type = SYS_DISK,
	.init = disk_init,
	.fini = disk_fini,
	.collect = disk_collect,
};
