/*
 * The FS family's parsing of the mount tables (collect_fs.c), apart from
 * its reads.  Anyone who may mount FUSE chooses a mount point and a
 * source (escaped by the kernel: \040 a blank, \011 a tab, \012 a
 * newline, \134 a backslash), so the fuzz target tests/fuzz/fuzz_proc.c
 * runs these.  Each takes NUL-terminated text and cuts it in place.
 */
#ifndef AGENT_COLLECT_FS_H
#define AGENT_COLLECT_FS_H

#include <stddef.h>

enum fs_mode {
	FS_RW,
	FS_RO,
	FS_OTHER
};

struct fs_mount {
	char		*spec;
	char		*file;
	enum fs_mode	 mode;
};

struct fs_mounts {
	struct fs_mount	*v;
	size_t		 n;
	size_t		 cap;
};

/* One line of /proc/self/mountinfo, as far as fs.files.rw asks. */
struct fs_info {
	char		*file;		/* mount point, unescaped */
	int		 mnt_ro;	/* the mount's own options say ro */
	int		 sb_ro;		/* the superblock's options say ro */
};

struct fs_infos {
	struct fs_info	*v;
	size_t		 n;
	size_t		 cap;
};

/*
 * The lines of /proc/mounts, escapes decoded, with the family's filters
 * (collect_fs.c) and bind mounts kept once, added to m: 0, or -1 with
 * errno when out of memory (what was added stays, for the caller to
 * free).  A line of fewer than four fields is skipped.
 */
int	 collect_fs_mounts_parse(char *text, struct fs_mounts *m);
void	 collect_fs_mounts_free(struct fs_mounts *);

/*
 * The lines of /proc/self/mountinfo (proc(5)): "id parent major:minor
 * root mountpoint mountopts [optional fields...] - fstype source
 * superopts".  Only the mount point and the two option lists are kept;
 * a line not of that shape is skipped.  0, or -1 when out of memory (as
 * above).
 */
int	 collect_fs_infos_parse(char *text, struct fs_infos *mi);
void	 collect_fs_infos_free(struct fs_infos *);

#endif
