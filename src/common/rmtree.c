/*
 * Removing everything below a directory (rmtree.h).
 *
 * Why neither nftw(3) nor a recursion with a descriptor a level: a git
 * repository makes a chain of directories deeper than any path may be
 * long, or than descriptors may be open, from a few bytes of objects;
 * gitpull checks such a tree out, and `agent stop -m clean` removes it.
 * So the walk holds one directory at a time, and a stack of the names it
 * went down by, each with the identity of the directory it names.  A
 * directory is read again from its start each time the walk comes back
 * to it: what was removed is gone, so the first directory the scan finds
 * is the next one to go into; the names that could not be removed are
 * kept with their level, to be passed.
 *
 * Against the owner of the tree, who may change it meanwhile (the master,
 * as root, empties a directory of `user`'s): nothing is opened through a
 * link (O_NOFOLLOW); a name swapped for a link or a file is removed as
 * what it is now, never followed; another file system is not entered;
 * and the walk goes up by ".." only into the directory it came down
 * from.  A directory moved meanwhile has its ".." elsewhere, perhaps in
 * a sticky /tmp where the names the walk removes next would be other
 * users' files: the walk ends there, reported.  "The directory it came
 * from" is its device, inode and, where the file system keeps one, its
 * birth time: an inode number freed (the owner removed that directory)
 * and given to a new directory elsewhere is not taken for it.
 */
#include "rmtree.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "strlist.h"

#define RT_PATH_NAMES	16	/* names of a path spelt out in a report */

/* Which directory: what a freed and reused inode number does not fake. */
struct rt_id {
	dev_t		 dev;
	uint64_t	 ino;
	int64_t		 btime_sec;	/* 0 and 0: not kept by the file */
	uint32_t	 btime_nsec;	/* system */
};

struct rt_level {
	char		*name;		/* in the level above; NULL: the top */
	struct rt_id	 id;
	struct strlist	 kept;		/* names here that stay */
	int		 failed;	/* something here or below stays */
};

struct rt_walk {
	struct rt_level		*lv;
	size_t			 depth;	/* lv[depth] is where the walk is */
	size_t			 cap;
	dev_t			 dev;	/* the top's file system */
	const char		*top;
	int			 over;	/* the walk cannot go on */
	struct rmtree_report	*rep;
};

/* The path of `name` in the walk's directory (NULL: of the directory). */
static void
rt_path(const struct rt_walk *w, const char *name, char *buf, size_t len)
{
	size_t	 i;

	strlcpy(buf, w->top, len);
	if (w->depth > RT_PATH_NAMES) {
		(void)snprintf(buf + strlen(buf), len - strlen(buf),
		    "/%s/(%zu levels)/%s", w->lv[1].name, w->depth - 2,
		    w->lv[w->depth].name);
	} else
		for (i = 1; i <= w->depth; i++) {
			strlcat(buf, "/", len);
			strlcat(buf, w->lv[i].name, len);
		}
	if (name != NULL) {
		strlcat(buf, "/", len);
		strlcat(buf, name, len);
	}
}

/* `name` (NULL: the directory itself) stays, for `what` or errno `err`. */
static void
rt_fail(struct rt_walk *w, const char *name, const char *what, int err)
{
	char	 path[PATH_MAX];

	w->lv[w->depth].failed = 1;
	if (w->rep->failures++ > 0)
		return;
	rt_path(w, name, path, sizeof(path));
	w->rep->first_errno = what == NULL ? err : 0;
	(void)snprintf(w->rep->first, sizeof(w->rep->first), "%s: %s", path,
	    what != NULL ? what : strerror(err));
}

/* ... and is passed from now on. */
static void
rt_keep(struct rt_walk *w, const char *name, const char *what, int err)
{
	rt_fail(w, name, what, err);
	if (strlist_add(&w->lv[w->depth].kept, name) == -1) {
		rt_fail(w, name, NULL, errno);
		w->over = 1;
	}
}

static int
rt_id_of(int fd, struct rt_id *id)
{
	struct statx	 stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT,
	    STATX_INO | STATX_BTIME, &stx) == -1)
		return -1;
	memset(id, 0, sizeof(*id));
	id->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	id->ino = stx.stx_ino;
	if (stx.stx_mask & STATX_BTIME) {
		id->btime_sec = stx.stx_btime.tv_sec;
		id->btime_nsec = stx.stx_btime.tv_nsec;
	}
	return 0;
}

static int
rt_id_equal(const struct rt_id *a, const struct rt_id *b)
{
	return a->dev == b->dev && a->ino == b->ino &&
	    a->btime_sec == b->btime_sec && a->btime_nsec == b->btime_nsec;
}

/* Down into `name`, the directory `id`. */
static int
rt_push(struct rt_walk *w, const char *name, const struct rt_id *id)
{
	struct rt_level	*grown;
	size_t		 at = w->lv == NULL ? 0 : w->depth + 1;

	if (at == w->cap) {
		w->cap = w->cap == 0 ? 64 : w->cap * 2;
		if ((grown = reallocarray(w->lv, w->cap, sizeof(*grown))) ==
		    NULL)
			return -1;
		w->lv = grown;
	}
	memset(&w->lv[at], 0, sizeof(w->lv[at]));
	if (name != NULL && (w->lv[at].name = strdup(name)) == NULL)
		return -1;
	w->lv[at].id = *id;
	strlist_init(&w->lv[at].kept);
	w->depth = at;
	return 0;
}

/*
 * In the directory `fd`, the walk's: remove every entry that is not a
 * directory, and name the first directory left to go into in `sub` (1),
 * or find none (0).  Read through a descriptor of its own, so that `fd`
 * stays the walk's.
 */
static int
rt_scan(struct rt_walk *w, int fd, char *sub, size_t sublen)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 dfd, found = 0;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(dfd)) == NULL) {
		rt_fail(w, NULL, NULL, errno);
		if (dfd != -1)
			(void)close(dfd);
		return 0;
	}
	while (!found && !w->over && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strlist_has(&w->lv[w->depth].kept, de->d_name))
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				rt_keep(w, de->d_name, NULL, errno);
		} else if (!S_ISDIR(sb.st_mode)) {
			if (unlinkat(fd, de->d_name, 0) == -1 &&
			    errno != ENOENT)
				rt_keep(w, de->d_name, NULL, errno);
		} else if (sb.st_dev != w->dev)
			rt_keep(w, de->d_name, "another file system is "
			    "mounted there", 0);
		else {
			strlcpy(sub, de->d_name, sublen);
			found = 1;
		}
	}
	(void)closedir(d);
	return found;
}

/* Into the directory `sub` of `fd`: its descriptor, or -1 (passed). */
static int
rt_down(struct rt_walk *w, int fd, const char *sub)
{
	struct rt_id	 id;
	int		 next;

	next = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (next == -1) {
		/* swapped for a link or a file since the scan: the name
		 * goes, never what it points to */
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    unlinkat(fd, sub, 0) == 0)
			return -1;
		if (errno != ENOENT)
			rt_keep(w, sub, NULL, errno);
		return -1;
	}
	if (rt_id_of(next, &id) == -1 || id.dev != w->dev) {
		(void)close(next);
		rt_keep(w, sub, "another file system is mounted there", 0);
		return -1;
	}
	if (rt_push(w, sub, &id) == -1) {
		(void)close(next);
		rt_fail(w, sub, NULL, ENOMEM);
		w->over = 1;
		return -1;
	}
	return next;
}

/*
 * Out of the walk's directory, emptied as far as it goes, into the one
 * it came from, and the directory goes.  The descriptor of the level
 * above, or -1 when the walk is over.
 */
static int
rt_up(struct rt_walk *w, int fd)
{
	struct rt_level	*lv = &w->lv[w->depth], *above = lv - 1;
	struct rt_id	 id;
	int		 up, failed = lv->failed;
	char		*name = lv->name;

	up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up == -1 || rt_id_of(up, &id) == -1 ||
	    !rt_id_equal(&id, &above->id)) {
		if (up != -1)
			(void)close(up);
		rt_fail(w, NULL, "moved while it was being removed", 0);
		w->over = 1;
		return -1;
	}
	strlist_free(&lv->kept);
	w->depth--;
	if (unlinkat(up, name, AT_REMOVEDIR) == -1 && errno != ENOENT) {
		if (errno == ENOTDIR && unlinkat(up, name, 0) == 0)
			;	/* a file took its name meanwhile: it goes */
		else if (errno == ENOTEMPTY && failed) {
			/* what stayed below is reported already */
			above->failed = 1;
			if (strlist_add(&above->kept, name) == -1)
				w->over = 1;
		} else
			rt_keep(w, name, NULL, errno);
	}
	free(name);
	return up;
}

int
rmtree_contents(int top, const char *path, struct rmtree_report *rep)
{
	struct rt_walk	 w;
	struct rt_id	 id;
	char		 sub[NAME_MAX + 1];
	int		 fd, next;

	memset(rep, 0, sizeof(*rep));
	memset(&w, 0, sizeof(w));
	w.top = path;
	w.rep = rep;
	if ((fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || rt_id_of(fd, &id) == -1 || rt_push(&w, NULL, &id) == -1) {
		rep->failures = 1;
		rep->first_errno = errno;
		(void)snprintf(rep->first, sizeof(rep->first), "%s: %s", path,
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		free(w.lv);
		return -1;
	}
	w.dev = id.dev;
	while (!w.over) {
		if (rt_scan(&w, fd, sub, sizeof(sub)) == 1) {
			if ((next = rt_down(&w, fd, sub)) != -1) {
				(void)close(fd);
				fd = next;
			}
			continue;
		}
		if (w.depth == 0)
			break;
		if ((next = rt_up(&w, fd)) == -1)
			break;
		(void)close(fd);
		fd = next;
	}
	(void)close(fd);
	for (;;) {
		strlist_free(&w.lv[w.depth].kept);
		free(w.lv[w.depth].name);
		if (w.depth == 0)
			break;
		w.depth--;
	}
	free(w.lv);
	return rep->failures > 0 ? -1 : 0;
}
