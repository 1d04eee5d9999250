/*
 * FS: open files of the kernel (kernel.files.*) and, per mount, space,
 * inodes and whether it can be used (lodastack-protocols.md section 5.5).
 *
 * Mounts come from /proc/mounts with the Go agent's filters.  Two fixes:
 * the ignored mount point prefixes match whole path components (the Go
 * agent's "/net" also dropped "/network", "/dev" dropped "/devdata"), and
 * of the mounts of one device the shortest path is kept whole (the Go
 * agent kept the options of the first one seen with the shortest path).
 * Escapes in /proc/mounts (\040 for a blank) are decoded.
 *
 * fs.files.rw, without writing anything: the Go agent wrote, read back
 * and removed a probe file in every rw mount, as root.  Here the
 * collector cannot write a file at all (no CAP_DAC_OVERRIDE, read-only
 * opens in its seccomp filter), so for a mount /proc/mounts lists as rw
 * the answer comes from the kernel: 1 unless statfs(2) has ST_RDONLY in
 * f_flags (what statvfs(3) reports as f_flag) or /proc/self/mountinfo
 * says the mount or its superblock is read-only (ext4's
 * errors=remount-ro turns the superblock read-only after an I/O error).
 * What only a write would have found (a full disk, an I/O error that
 * did not turn the file system read-only) is not seen; fs.space.* shows
 * the first.  A ro mount is still stat'ed and read; anything else is 1.
 *
 * The statfs (and that read) of every mount runs in a walk's thread
 * (collect_pids.h): a dead network file system holds them, and would
 * hold the collector; such a mount fails its round and is left out of
 * the next ones until its statfs returns.
 */
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "collect_file.h"
#include "collect_fs.h"
#include "collect_hooks.h"
#include "collect_pids.h"
#include "log.h"
#include "warn_limit.h"

#define FS_MOUNTS_MAX	(16 * 1024 * 1024)	/* bytes of /proc/mounts */
#ifndef ST_VALID
#define ST_VALID	0x0020	/* statfs(2): f_flags is filled in */
#endif
#define MIB		(1024ULL * 1024ULL)

struct fs_state {
	collect_statfs_fn	 statfs;
	struct warn_limit	 cut_warn;	/* /proc/mounts over the cap */
};

static void *
fs_init(void)
{
	struct fs_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->statfs = statfs;
	return st;
}

static void
fs_fini(void *state)
{
	free(state);
}

void
collect_fs_set_statfs(void *state, collect_statfs_fn fn)
{
	struct fs_state	*st = state;

	st->statfs = fn;
}

void
collect_fs_mounts_free(struct fs_mounts *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].spec);
		free(m->v[i].file);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/*
 * One field of a /proc/mounts line, in place: NUL-terminated, octal
 * escapes (\040 blank, \011 tab, \012 newline, \134 backslash) decoded.
 * Returns the field, or NULL at the end of the line; *s moves past it.
 */
static char *
mounts_field(char **s)
{
	char	*p = *s, *f, *o;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	f = o = p;
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7' &&
		    ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0')) != 0) {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 |
			    (p[3] - '0'));
			p += 4;
		} else
			*o++ = *p++;
	}
	if (*p != '\0')
		p++;
	*o = '\0';
	*s = p;
	return f;
}

/* path is prefix or below it: "/dev", "/dev/pts", not "/devdata" */
static int
path_under(const char *path, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

static int
mount_ignored(const char *spec, const char *file, const char *type)
{
	static const char *const specs[] = { "none", "nodev", "tmpfs" };
	static const char *const types[] = { "cgroup", "debugfs",
	    "devtmpfs", "rpc_pipefs", "rootfs", "overlay" };
	static const char *const files[] = { "/dev", "/sys", "/net",
	    "/misc", "/proc", "/lib", "/run/docker/netns" };
	size_t	 i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (strcmp(spec, specs[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	if (strncmp(type, "fuse", 4) == 0)
		return 1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (path_under(file, files[i]))
			return 1;
	return 0;
}

static enum fs_mode
mount_mode(const char *opts)
{
	size_t	 n = strcspn(opts, ",");

	if (n == 2 && strncmp(opts, "rw", 2) == 0)
		return FS_RW;
	if (n == 2 && strncmp(opts, "ro", 2) == 0)
		return FS_RO;
	return FS_OTHER;
}

/*
 * Add a mount, or for a device already listed (a bind mount) keep the
 * one with the shorter path in the first one's place.  0 or -1 (memory).
 */
static int
mounts_add(struct fs_mounts *m, const char *spec, const char *file,
    enum fs_mode mode)
{
	struct fs_mount	*v;
	char		*f;
	size_t		 i, cap;

	if (strncmp(spec, "/dev/", 5) == 0) {
		for (i = 0; i < m->n; i++) {
			if (strcmp(m->v[i].spec, spec) != 0)
				continue;
			if (strlen(file) >= strlen(m->v[i].file))
				return 0;
			if ((f = strdup(file)) == NULL)
				return -1;
			free(m->v[i].file);
			m->v[i].file = f;
			m->v[i].mode = mode;
			return 0;
		}
	}
	if (m->n == m->cap) {
		cap = m->cap == 0 ? 16 : m->cap * 2;
		if ((v = reallocarray(m->v, cap, sizeof(*v))) == NULL)
			return -1;
		m->v = v;
		m->cap = cap;
	}
	v = &m->v[m->n];
	v->spec = strdup(spec);
	v->file = strdup(file);
	v->mode = mode;
	if (v->spec == NULL || v->file == NULL) {
		free(v->spec);
		free(v->file);
		return -1;
	}
	m->n++;
	return 0;
}

/*
 * A mount made on top of another at the same point hides it: statfs by
 * path reaches the top one.  A local user who owns the root of a file
 * system of her own (her home) can mount FUSE there and answer statfs
 * for it, numbers of her choosing under the system mount's name; so
 * only the top mount at a point counts, and a FUSE one is not reported.
 */
static void
mounts_shadow(struct fs_mounts *m, const char *file)
{
	size_t	 i;

	for (i = 0; i < m->n; ) {
		if (strcmp(m->v[i].file, file) != 0) {
			i++;
			continue;
		}
		free(m->v[i].spec);
		free(m->v[i].file);
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) *
		    sizeof(m->v[0]));
		m->n--;
	}
}

int
collect_fs_mounts_parse(char *text, struct fs_mounts *m)
{
	char		*line, *next, *spec, *file, *type, *opts;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((spec = mounts_field(&line)) == NULL ||
		    (file = mounts_field(&line)) == NULL ||
		    (type = mounts_field(&line)) == NULL ||
		    (opts = mounts_field(&line)) == NULL)
			continue;	/* not a mount line */
		if (file[0] != '/')
			continue;
		mounts_shadow(m, file);
		if (mount_ignored(spec, file, type))
			continue;
		if (mounts_add(m, spec, file, mount_mode(opts)) == -1)
			return -1;
	}
	return 0;
}

/*
 * A list over FS_MOUNTS_MAX is read to its cap: a local user with
 * fusermount (1000 mounts, each point up to 4 KiB of blanks, four times
 * that escaped) could make it larger, and the family, refusing it whole,
 * reported no file system at all.  The mounts made first, the system's,
 * come first.
 */
static int
mounts_read(struct fs_state *st, const struct collect_env *env,
    struct fs_mounts *m, char *err, size_t errlen)
{
	struct cfile	 f;
	uint64_t	 n;
	int		 rv;

	memset(&f, 0, sizeof(f));
	if ((rv = collect_slurp_head(env->root, "/proc/mounts",
	    FS_MOUNTS_MAX, &f, err, errlen)) == -1) {
		collect_file_free(&f);
		return -1;
	}
	if (rv == 1 && warn_limit_due(&st->cut_warn, env->mono, &n))
		log_warnx("collect fs: %s/proc/mounts is over %d MiB: the "
		    "mounts past it are left out (a local user's FUSE "
		    "mounts?) (%llu times since the last warning)", env->root,
		    FS_MOUNTS_MAX >> 20, (unsigned long long)n);
	if (collect_fs_mounts_parse(f.p, m) == -1) {
		snprintf(err, errlen, "%s/proc/mounts: %s", env->root,
		    strerror(errno));
		collect_file_free(&f);
		return -1;
	}
	collect_file_free(&f);
	return 0;
}

/*
 * kernel.files.*: max from file-max, allocated from file-nr.  The Go
 * agent stopped at the first file it could not read; so does this.
 */
static void
fs_kernel_files(const char *root, struct point_list *out)
{
	char		 path[PATH_MAX], buf[128];
	const char	*s;
	uint64_t	 max, alloc;

	if (collect_path(path, sizeof(path), root,
	    "/proc/sys/fs/file-max") == -1 ||
	    collect_read(path, buf, sizeof(buf)) == -1) {
		log_warn("%s: collect fs: %s", __func__, path);
		return;
	}
	s = buf;
	if (collect_u64(s, &s, &max) == -1 || max > INT64_MAX) {
		log_warnx("%s: collect fs: %s: not a number", __func__, path);
		return;
	}
	collect_list_add_int(out, "kernel.files.max", (int64_t)max, NULL);
	if (collect_path(path, sizeof(path), root,
	    "/proc/sys/fs/file-nr") == -1 ||
	    collect_read(path, buf, sizeof(buf)) == -1) {
		log_warn("%s: collect fs: %s", __func__, path);
		return;
	}
	s = buf;
	if (collect_u64(s, &s, &alloc) == -1 || alloc > INT64_MAX) {
		log_warnx("%s: collect fs: %s: not a number", __func__, path);
		return;
	}
	collect_list_add_int(out, "kernel.files.allocated", (int64_t)alloc,
	    NULL);
	/* Go divided by a zero max into +Inf, which its JSON refused */
	if (max > 0)
		collect_list_add_float(out, "kernel.files.allocated.percent",
		    collect_trunc2((double)alloc * 100 / (double)max), NULL);
	/* allocated may pass max (root is not held to it): no wrap */
	collect_list_add_int(out, "kernel.files.left",
	    alloc < max ? (int64_t)(max - alloc) : 0, NULL);
}

void
collect_fs_infos_free(struct fs_infos *mi)
{
	size_t	 i;

	for (i = 0; i < mi->n; i++)
		free(mi->v[i].file);
	free(mi->v);
	memset(mi, 0, sizeof(*mi));
}

/* The first option of a comma list is "ro". */
static int
opts_ro(const char *opts)
{
	return strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' ||
	    opts[2] == '\0');
}

int
collect_fs_infos_parse(char *text, struct fs_infos *mi)
{
	struct fs_info	*v;
	char		*line, *next, *fld, *file, *mopts;
	size_t		 cap;
	int		 i;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (i = 0; i < 4; i++)
			if (mounts_field(&line) == NULL)
				break;
		if (i < 4 || (file = mounts_field(&line)) == NULL ||
		    (mopts = mounts_field(&line)) == NULL)
			continue;
		/* the optional fields end with a lone "-" */
		while ((fld = mounts_field(&line)) != NULL &&
		    strcmp(fld, "-") != 0)
			;
		if (fld == NULL || mounts_field(&line) == NULL ||
		    mounts_field(&line) == NULL ||
		    (fld = mounts_field(&line)) == NULL)
			continue;	/* not a mountinfo line */
		if (mi->n == mi->cap) {
			cap = mi->cap == 0 ? 16 : mi->cap * 2;
			if ((v = reallocarray(mi->v, cap, sizeof(*v))) == NULL)
				return -1;
			mi->v = v;
			mi->cap = cap;
		}
		if ((mi->v[mi->n].file = strdup(file)) == NULL)
			return -1;
		mi->v[mi->n].mnt_ro = opts_ro(mopts);
		mi->v[mi->n].sb_ro = opts_ro(fld);
		mi->n++;
	}
	return 0;
}

/*
 * /proc/self/mountinfo, its lines as collect_fs_infos_parse() takes
 * them.  Unreadable: no lines, statfs alone decides (a root made for
 * tests may not have the file).  0, or -1 when out of memory.
 */
static int
infos_read(const char *root, struct fs_infos *mi)
{
	struct cfile	 f;
	char		 err[256];
	int		 rv;

	memset(&f, 0, sizeof(f));
	if (collect_slurp_head(root, "/proc/self/mountinfo", FS_MOUNTS_MAX, &f,
	    err, sizeof(err)) == -1) {
		log_debug("collect fs: %s", err);
		collect_file_free(&f);
		return 0;
	}
	rv = collect_fs_infos_parse(f.p, mi);
	collect_file_free(&f);
	return rv;
}

/* The mount at `file`: the last line, the one on top of the others. */
static const struct fs_info *
infos_find(const struct fs_infos *mi, const char *file)
{
	size_t	 i;

	for (i = mi->n; i > 0; i--)
		if (strcmp(mi->v[i - 1].file, file) == 0)
			return &mi->v[i - 1];
	return NULL;
}

/* rw mount: can the kernel still write there?  1 or 0, never a write. */
static int
fs_writable(const char *file, const struct statfs *sf,
    const struct fs_info *info)
{
	const char	*why;

	if ((sf->f_flags & ST_VALID) != 0 && (sf->f_flags & ST_RDONLY) != 0)
		why = "statfs says ST_RDONLY";
	else if (info != NULL && info->sb_ro)
		why = "its superblock is read-only";
	else if (info != NULL && info->mnt_ro)
		why = "the mount is read-only";
	else
		return 1;
	log_warnx("%s: collect fs: %s is listed rw but %s", __func__, file,
	    why);
	return 0;
}

/* ro mount: stat it and read its directory.  0, or an errno. */
static int
probe_ro(const char *dir)
{
	struct stat	 st;
	DIR		*d;
	int		 e;

	if (stat(dir, &st) == -1 || (d = opendir(dir)) == NULL)
		return errno != 0 ? errno : EIO;
	errno = 0;
	e = readdir(d) != NULL ? 0 : errno != 0 ? errno : ENOENT;
	(void)closedir(d);
	return e;
}

/* ceil(part * 100 / whole) as the Go agent's df; 0 for nothing */
static double
ceil_percent(uint64_t part, uint64_t whole)
{
	if (whole == 0)
		return 0;
	return ceil((double)part * 100.0 / (double)whole);
}

static int64_t
mib(uint64_t units, uint64_t size)
{
	unsigned __int128	 b = (unsigned __int128)units * size / MIB;

	return b > INT64_MAX ? INT64_MAX : (int64_t)b;
}

/*
 * What a walk's thread finds of each mount (collect_pids.h): a statfs of
 * a dead network file system waits as long as its server is away, and
 * would hold the whole collector.  The keys are the mount points.
 */
struct fs_probe {
	struct statfs	 sf;
	int		 done;		/* visited (not skipped) */
	int		 err;		/* statfs's errno; 0: sf is good */
	int		 ro_err;	/* FS_RO: probe_ro()'s; 0: it read */
};

struct fs_walk {
	struct collect_walk	 w;	/* first: the walk is the struct */
	collect_statfs_fn	 statfs;
	enum fs_mode		*modes;
	struct fs_probe		*probes;
};

static void
fs_walk_destroy(struct collect_walk *w)
{
	struct fs_walk	*fw = (struct fs_walk *)w;
	size_t		 i;

	for (i = 0; i < w->nkeys; i++)
		free(w->keys[i]);
	free(w->keys);
	free(fw->modes);
	free(fw->probes);
	free(fw);
}

static int
fs_visit(struct collect_walk *w, const char *root, size_t i)
{
	struct fs_walk	*fw = (struct fs_walk *)w;
	struct fs_probe	*pr = &fw->probes[i];
	char		 path[PATH_MAX];

	pr->done = 1;
	if (collect_path(path, sizeof(path), root, "%s", w->keys[i]) == -1) {
		pr->err = ENAMETOOLONG;
		return 0;
	}
	if (fw->statfs(path, &pr->sf) == -1) {
		pr->err = errno != 0 ? errno : EIO;
		return 0;
	}
	if (fw->modes[i] == FS_RO)
		pr->ro_err = probe_ro(path);
	return 0;
}

/* A walk for the mounts of m; NULL when out of memory. */
static struct fs_walk *
fs_walk_new(const struct fs_state *st, const struct fs_mounts *m)
{
	struct fs_walk	*fw;
	size_t		 i;

	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		return NULL;
	fw->w.visit_key = fs_visit;
	fw->w.destroy = fs_walk_destroy;
	fw->w.verb = "statfs";
	fw->w.hint = "a dead network file system?";
	fw->statfs = st->statfs;
	if ((fw->w.keys = calloc(m->n + 1, sizeof(*fw->w.keys))) == NULL ||
	    (fw->modes = calloc(m->n + 1, sizeof(*fw->modes))) == NULL ||
	    (fw->probes = calloc(m->n + 1, sizeof(*fw->probes))) == NULL) {
		fs_walk_destroy(&fw->w);
		return NULL;
	}
	for (i = 0; i < m->n; i++) {
		if ((fw->w.keys[i] = strdup(m->v[i].file)) == NULL) {
			fs_walk_destroy(&fw->w);
			return NULL;
		}
		fw->w.nkeys++;
		fw->modes[i] = m->v[i].mode;
	}
	return fw;
}

/* The points of one mount, from what the walk found. */
static void
fs_mount(const struct fs_mount *m, const struct fs_probe *pr,
    const struct fs_infos *mi, struct point_list *out)
{
	const struct statfs	*sf = &pr->sf;
	uint64_t		 frsize, used, iused;
	int			 rw;

	if (!pr->done)
		return;		/* skipped: its statfs still waits */
	if (pr->err != 0) {
		/* gone, or not ours to see: as the Go agent, skip it */
		log_debug("collect fs: statfs %s: %s", m->file,
		    strerror(pr->err));
		return;
	}
	frsize = sf->f_frsize != 0 ? (uint64_t)sf->f_frsize :
	    (uint64_t)sf->f_bsize;
	used = sf->f_blocks > sf->f_bfree ? sf->f_blocks - sf->f_bfree : 0;
	iused = sf->f_files > sf->f_ffree ? sf->f_files - sf->f_ffree : 0;
	collect_list_add_float(out, "fs.inodes.used.percent",
	    ceil_percent(iused, sf->f_files), "mount", m->file, NULL);
	collect_list_add_float(out, "fs.space.used.percent",
	    sf->f_blocks == 0 ? 0 : ceil_percent(used, used + sf->f_bavail),
	    "mount", m->file, NULL);
	collect_list_add_int(out, "fs.space.total", mib(sf->f_blocks, frsize),
	    "mount", m->file, NULL);
	collect_list_add_int(out, "fs.space.used", mib(used, frsize),
	    "mount", m->file, NULL);
	collect_list_add_int(out, "fs.space.free", mib(sf->f_bavail, frsize),
	    "mount", m->file, NULL);
	switch (m->mode) {
	case FS_RW:
		rw = fs_writable(m->file, sf, infos_find(mi, m->file));
		break;
	case FS_RO:
		rw = pr->ro_err == 0;
		if (!rw)
			log_warnx("%s: collect fs: probe: %s: %s", __func__,
			    m->file, strerror(pr->ro_err));
		break;
	default:
		rw = 1;
		break;
	}
	collect_list_add_int(out, "fs.files.rw", rw, "mount", m->file, NULL);
}

static int
fs_collect(void *state, const struct collect_env *env,
    struct point_list *out, char *err, size_t errlen)
{
	struct fs_state		*st = state;
	struct fs_mounts	 m;
	struct fs_infos		 mi;
	struct fs_walk		*fw;
	size_t			 i;
	int			 rc = 0;

	fs_kernel_files(env->root, out);
	if (env->pids == NULL) {
		snprintf(err, errlen, "no walker for the mounts");
		return -1;
	}
	memset(&m, 0, sizeof(m));
	memset(&mi, 0, sizeof(mi));
	if (mounts_read(st, env, &m, err, errlen) == -1) {
		collect_fs_mounts_free(&m);
		return -1;
	}
	if (infos_read(env->root, &mi) == -1) {
		snprintf(err, errlen, "%s/proc/self/mountinfo: %s", env->root,
		    strerror(errno));
		collect_fs_infos_free(&mi);
		collect_fs_mounts_free(&m);
		return -1;
	}
	if ((fw = fs_walk_new(st, &m)) == NULL) {
		snprintf(err, errlen, "out of memory for the mounts");
		rc = -1;
		goto done;
	}
	fw->w.budget = collect_pids_budget(env->items != NULL ?
	    items_interval(env->items, SYS_FS) : 0);
	if (collect_pids_walk(env->pids, env->root, &fw->w, err,
	    errlen) == -1)
		rc = -1;	/* a mount that hangs: none this round */
	else {
		for (i = 0; i < m.n; i++)
			fs_mount(&m.v[i], &fw->probes[i], &mi, out);
		fs_walk_destroy(&fw->w);
	}
 done:
	collect_fs_infos_free(&mi);
	collect_fs_mounts_free(&m);
	return rc;
}

const struct collect_family collect_fs_family = {
	.name = "fs",
	.type = SYS_FS,
	.init = fs_init,
	.fini = fs_fini,
	.collect = fs_collect,
};
