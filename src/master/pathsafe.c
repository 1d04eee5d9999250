/*
 * Paths the master trusts; see pathsafe.h for the rules.  Everything here
 * works on descriptors: a name is looked at once, with AT_SYMLINK_NOFOLLOW
 * or O_NOFOLLOW, and what was opened is what gets checked and used.
 */
#include "pathsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "rmtree.h"

#define WALK_DEPTH_MAX	64	/* directories held open by one walk */
#define WALK_LINKS_MAX	32	/* links followed by one walk (ELOOP) */

struct walk {
	int	 fd[WALK_DEPTH_MAX];
	size_t	 len[WALK_DEPTH_MAX];	/* strlen(at) at each level */
	size_t	 depth;
	char	 at[PATH_MAX];		/* path of fd[depth - 1], no links */
	uid_t	 me;
	char	*err;
	size_t	 errlen;
};

static int __attribute__((format(printf, 3, 4)))
failx(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* "a/b" from "a" and "b", without doubling the slash after "/". */
static void
join(char *buf, size_t len, const char *dir, const char *name)
{
	(void)snprintf(buf, len, "%s%s%s", dir,
	    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
}

static void
owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		strlcpy(buf, pw->pw_name, len);
	else
		(void)snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

static int
owner_trusted(uid_t uid, uid_t me)
{
	return uid == 0 || uid == me;
}

/* "PATH (owner NAME, mode 0755): WHY" */
static int
refuse(char *err, size_t errlen, const char *what, const char *path,
    const struct stat *sb, const char *why)
{
	char	 owner[64];

	owner_name(sb->st_uid, owner, sizeof(owner));
	return failx(err, errlen, "unsafe %s %s (owner %s, mode %04o): %s",
	    what, path, owner, (unsigned)(sb->st_mode & 07777), why);
}

const char *
pathsafe_dir_problem(const struct stat *sb, uid_t me)
{
	mode_t	 m = sb->st_mode;

	if (!S_ISDIR(m))
		return "not a directory";
	if (!owner_trusted(sb->st_uid, me))
		return me == 0 ? "not owned by root" :
		    "not owned by root or the invoking user";
	if ((m & S_ISVTX) == 0 && (m & S_IWOTH) != 0)
		return "writable by others without the sticky bit";
	if ((m & S_ISVTX) == 0 && (m & S_IWGRP) != 0)
		return "writable by its group without the sticky bit";
	return NULL;
}

/* A directory no one but root and `me` can add names to. */
static int
dir_exclusive(const struct stat *sb, uid_t me)
{
	return S_ISDIR(sb->st_mode) && owner_trusted(sb->st_uid, me) &&
	    (sb->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* ---- the walk ---- */

static void
walk_pop(struct walk *w)
{
	w->depth--;
	(void)close(w->fd[w->depth]);
	w->at[w->len[w->depth - 1]] = '\0';
}

static void
walk_free(struct walk *w)
{
	while (w->depth > 0) {
		w->depth--;
		(void)close(w->fd[w->depth]);
	}
}

/* Check the directory just opened and make it the current one. */
static int
walk_push(struct walk *w, int fd, const char *name)
{
	struct stat	 sb;
	const char	*why;
	char		 path[PATH_MAX];
	int		 saved;

	if (name == NULL)
		strlcpy(path, "/", sizeof(path));
	else
		join(path, sizeof(path), w->at, name);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		saved = errno;
		if (fd != -1)
			(void)close(fd);
		return failx(w->err, w->errlen, "%s: %s", path,
		    strerror(saved));
	}
	if ((why = pathsafe_dir_problem(&sb, w->me)) != NULL) {
		(void)close(fd);
		return refuse(w->err, w->errlen, "directory", path, &sb, why);
	}
	if (w->depth == WALK_DEPTH_MAX ||
	    strlcpy(w->at, path, sizeof(w->at)) >= sizeof(w->at)) {
		(void)close(fd);
		return failx(w->err, w->errlen, "%s: too deep", path);
	}
	w->fd[w->depth] = fd;
	w->len[w->depth] = strlen(w->at);
	w->depth++;
	return 0;
}

/* Follow the link `comp` of the current directory: the rest after it. */
static int
walk_link(struct walk *w, const char *comp, const struct stat *sb,
    char *todo, size_t todolen, const char *rest)
{
	char	 target[PATH_MAX], next[PATH_MAX * 2], path[PATH_MAX];
	ssize_t	 n;

	join(path, sizeof(path), w->at, comp);
	if (!owner_trusted(sb->st_uid, w->me))
		return refuse(w->err, w->errlen, "symbolic link", path, sb,
		    w->me == 0 ? "not owned by root" :
		    "not owned by root or the invoking user");
	n = readlinkat(w->fd[w->depth - 1], comp, target, sizeof(target));
	if (n == -1)
		return failx(w->err, w->errlen, "%s: %s", path,
		    strerror(errno));
	if (n == 0 || (size_t)n >= sizeof(target))
		return failx(w->err, w->errlen, "%s: bad link target", path);
	target[n] = '\0';
	if ((size_t)snprintf(next, sizeof(next), "%s/%s", target, rest) >=
	    sizeof(next) || strlcpy(todo, next, todolen) >= todolen)
		return failx(w->err, w->errlen, "%s: path too long", path);
	if (target[0] == '/')
		while (w->depth > 1)
			walk_pop(w);
	return 0;
}

/* One missing directory: made with its final mode, whatever the umask. */
static int
walk_mkdir(struct walk *w, const char *comp, mode_t mode)
{
	char	 path[PATH_MAX];
	mode_t	 old;
	int	 rv, saved;

	old = umask(0);
	rv = mkdirat(w->fd[w->depth - 1], comp, mode);
	saved = errno;
	(void)umask(old);
	if (rv == -1 && saved != EEXIST) {
		join(path, sizeof(path), w->at, comp);
		return failx(w->err, w->errlen, "cannot create %s: %s", path,
		    strerror(saved));
	}
	return 0;
}

static int
walk_run(struct walk *w, const char *path, enum pathsafe_how how,
    mode_t mode)
{
	char		 todo[PATH_MAX * 2], comp[NAME_MAX + 1];
	char		 where[PATH_MAX];
	struct stat	 sb;
	const char	*p, *end;
	unsigned	 links = 0;
	size_t		 len;
	int		 top, last;

	if (path[0] != '/')
		return failx(w->err, w->errlen, "%s: not an absolute path",
		    path);
	if (strlcpy(todo, path, sizeof(todo)) >= sizeof(todo))
		return failx(w->err, w->errlen, "%s: path too long", path);
	if (walk_push(w, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC),
	    NULL) == -1)
		return -1;
	for (p = todo;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return 0;
		end = strchrnul(p, '/');
		if ((len = (size_t)(end - p)) > NAME_MAX)
			return failx(w->err, w->errlen, "%s: name too long",
			    path);
		memcpy(comp, p, len);
		comp[len] = '\0';
		p = end;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (w->depth > 1)
				walk_pop(w);
			continue;
		}
		top = w->fd[w->depth - 1];
		join(where, sizeof(where), w->at, comp);
		if (fstatat(top, comp, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				return failx(w->err, w->errlen, "%s: %s",
				    where, strerror(errno));
			if (how == PATHSAFE_CHECK)
				return PATHSAFE_ABSENT;
			if (how == PATHSAFE_EXISTING)
				return failx(w->err, w->errlen, "%s: %s",
				    where, strerror(ENOENT));
			last = p[strspn(p, "/")] == '\0';
			if (walk_mkdir(w, comp, last ? mode : 0755) == -1)
				return -1;
			if (fstatat(top, comp, &sb, AT_SYMLINK_NOFOLLOW) == -1)
				return failx(w->err, w->errlen, "%s: %s",
				    where, strerror(errno));
		}
		if (S_ISLNK(sb.st_mode)) {
			if (++links > WALK_LINKS_MAX)
				return failx(w->err, w->errlen, "%s: %s",
				    path, strerror(ELOOP));
			if (walk_link(w, comp, &sb, todo, sizeof(todo),
			    p) == -1)
				return -1;
			p = todo;
			continue;
		}
		if (!S_ISDIR(sb.st_mode))
			return failx(w->err, w->errlen, "%s is not a directory",
			    where);
		/* swapped since the fstatat: fails, or walk_push sees it */
		if (walk_push(w, openat(top, comp, O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC), comp) == -1)
			return -1;
	}
}

int
pathsafe_open_dir(const char *path, uid_t me, enum pathsafe_how how,
    mode_t mode, char *err, size_t errlen)
{
	struct walk	 w;
	int		 rv, fd;

	memset(&w, 0, sizeof(w));
	w.me = me;
	w.err = err;
	w.errlen = errlen;
	rv = walk_run(&w, path, how, mode);
	if (rv != 0) {
		walk_free(&w);
		return rv;
	}
	fd = w.fd[--w.depth];
	walk_free(&w);
	return fd;
}

int
pathsafe_check_dir(const char *path, uid_t me, char *err, size_t errlen)
{
	int	 fd;

	fd = pathsafe_open_dir(path, me, PATHSAFE_CHECK, 0, err, errlen);
	if (fd == PATHSAFE_ABSENT)
		return 0;
	if (fd == -1)
		return -1;
	(void)close(fd);
	return 0;
}

/* ---- files ---- */

static const char *
file_problem(const struct stat *sb, uid_t me, int flags)
{
	mode_t	 m = sb->st_mode;

	if (S_ISLNK(m))
		return "a symbolic link";
	if (!S_ISREG(m) && !((flags & PATHSAFE_F_SPECIAL) &&
	    (S_ISFIFO(m) || S_ISCHR(m))))
		return S_ISDIR(m) ? "a directory" : "not a regular file";
	if (!owner_trusted(sb->st_uid, me))
		return me == 0 ? "not owned by root" :
		    "not owned by root or the invoking user";
	/* a hard link: writing it writes a file somewhere else */
	if (S_ISREG(m) && sb->st_nlink != 1)
		return "more than one hard link";
	return NULL;
}

/*
 * lstat of dpath/name through dfd, the joined path into path for
 * messages: 1 with sb, 0 when there is nothing there (nothing to check),
 * -1 with err.
 */
static int
stat_at(int dfd, const char *dpath, const char *name, char *path,
    size_t pathlen, struct stat *sb, char *err, size_t errlen)
{
	join(path, pathlen, dpath, name);
	if (fstatat(dfd, name, sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return failx(err, errlen, "%s: %s", path, strerror(errno));
	}
	return 1;
}

int
pathsafe_check_file_at(int dfd, const char *dpath, const char *name,
    uid_t me, int flags, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*why;
	char		 path[PATH_MAX];
	int		 rc;

	if ((rc = stat_at(dfd, dpath, name, path, sizeof(path), &sb, err,
	    errlen)) != 1)
		return rc;
	if ((why = file_problem(&sb, me, flags)) != NULL)
		return refuse(err, errlen, "file", path, &sb, why);
	return 0;
}

int
pathsafe_check_fd(int fd, const char *dpath, const char *name, uid_t me,
    int flags, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*why;
	char		 path[PATH_MAX];

	join(path, sizeof(path), dpath, name);
	if (fstat(fd, &sb) == -1)
		return failx(err, errlen, "%s: %s", path, strerror(errno));
	if ((why = file_problem(&sb, me, flags)) != NULL)
		return refuse(err, errlen, "file", path, &sb, why);
	return 0;
}

/*
 * fsync of the directory `dfd` (an O_PATH descriptor cannot be synced).
 * EINVAL is a file system that has nothing to sync there; EACCES a
 * directory we may search and write but not read (a master not root in
 * one of root's, mode 1733), which we cannot open to sync: the file is
 * used as it was before directories were synced.
 */
static int
sync_dir(int dfd, const char *dpath, char *err, size_t errlen)
{
	int	 fd, e;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == EACCES)
			return 0;
		return failx(err, errlen, "cannot open %s to sync it: %s",
		    dpath, strerror(errno));
	}
	if (fsync(fd) == -1 && errno != EINVAL) {
		e = errno;
		(void)close(fd);
		return failx(err, errlen, "cannot sync %s: %s", dpath,
		    strerror(e));
	}
	(void)close(fd);
	return 0;
}

int
pathsafe_open_file_at(int dfd, const char *dpath, const char *name,
    int oflags, mode_t mode, uid_t me, int flags, char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	int		 fd = -1, tries, fl, base, created = 0;

	join(path, sizeof(path), dpath, name);
	/* a link, a hard link, another's file: refused before any open */
	if (pathsafe_check_file_at(dfd, dpath, name, me, flags, err,
	    errlen) == -1)
		return -1;
	/* non-blocking: a FIFO without a reader must not hang the master */
	base = oflags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	for (tries = 0; tries < 3 && fd == -1; tries++) {
		if ((fd = openat(dfd, name, base)) != -1)
			break;
		if (errno == ELOOP)
			return pathsafe_check_file_at(dfd, dpath, name, me,
			    flags, err, errlen) == -1 ? -1 : failx(err, errlen,
			    "%s: %s", path, strerror(ELOOP));
		if (errno != ENOENT)
			return failx(err, errlen, "cannot open %s: %s", path,
			    strerror(errno));
		fd = openat(dfd, name, base | O_CREAT | O_EXCL, mode);
		if (fd == -1 && errno != EEXIST)
			return failx(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
		created = fd != -1;
	}
	if (fd == -1)
		return failx(err, errlen, "cannot open %s: it keeps changing",
		    path);
	if (pathsafe_check_fd(fd, dpath, name, me, flags, err, errlen) == -1) {
		(void)close(fd);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		(void)failx(err, errlen, "%s: %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	/* gone again when not synced: the next call creates and syncs */
	if (created && (flags & PATHSAFE_F_SYNCDIR) &&
	    sync_dir(dfd, dpath, err, errlen) == -1) {
		(void)close(fd);
		(void)unlinkat(dfd, name, 0);
		return -1;
	}
	return fd;
}

int
pathsafe_split(const char *path, char *dir, size_t dirlen, char *name,
    size_t namelen)
{
	const char	*slash;

	if (path[0] != '/' || (slash = strrchr(path, '/')) == NULL ||
	    slash[1] == '\0' || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (strlcpy(name, slash + 1, namelen) >= namelen ||
	    (size_t)(slash - path) + 2 > dirlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash == path)
		strlcpy(dir, "/", dirlen);
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	return 0;
}

int
pathsafe_open_file(const char *path, enum pathsafe_how how, mode_t dirmode,
    int oflags, mode_t mode, uid_t me, int flags, char *err, size_t errlen)
{
	char	 dir[PATH_MAX], name[NAME_MAX + 1];
	int	 dfd, fd;

	if (pathsafe_split(path, dir, sizeof(dir), name, sizeof(name)) == -1)
		return failx(err, errlen, "%s: not an absolute path of a file",
		    path);
	dfd = pathsafe_open_dir(dir, me, how == PATHSAFE_CHECK ?
	    PATHSAFE_EXISTING : how, dirmode, err, errlen);
	if (dfd < 0)
		return -1;
	fd = pathsafe_open_file_at(dfd, dir, name, oflags, mode, me, flags,
	    err, errlen);
	(void)close(dfd);
	return fd;
}

int
pathsafe_check_file(const char *path, uid_t me, int flags, char *err,
    size_t errlen)
{
	char	 dir[PATH_MAX], name[NAME_MAX + 1];
	int	 dfd, rv;

	if (pathsafe_split(path, dir, sizeof(dir), name, sizeof(name)) == -1)
		return failx(err, errlen, "%s: not an absolute path of a file",
		    path);
	dfd = pathsafe_open_dir(dir, me, PATHSAFE_CHECK, 0, err, errlen);
	if (dfd == PATHSAFE_ABSENT)
		return 0;
	if (dfd == -1)
		return -1;
	rv = pathsafe_check_file_at(dfd, dir, name, me, flags, err, errlen);
	(void)close(dfd);
	return rv;
}

/* ---- directories for the workers ---- */

/* Who may have made an existing `sb` inside `dfd`. */
static const char *
workdir_problem(int dfd, const struct stat *sb, uid_t uid, uid_t me)
{
	struct stat	 parent;

	if (!S_ISDIR(sb->st_mode))
		return S_ISLNK(sb->st_mode) ? "a symbolic link" :
		    "not a directory";
	if (fstat(dfd, &parent) == -1)
		return strerror(errno);
	/* only root (or we) can have put it there: ours to adopt */
	if (dir_exclusive(&parent, me))
		return NULL;
	if (owner_trusted(sb->st_uid, me) || sb->st_uid == uid ||
	    sb->st_uid == parent.st_uid)
		return NULL;
	return "owned by a user who had no business making it";
}

int
pathsafe_check_workdir_at(int dfd, const char *dpath, const char *name,
    uid_t uid, uid_t me, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*why;
	char		 path[PATH_MAX];
	int		 rc;

	if ((rc = stat_at(dfd, dpath, name, path, sizeof(path), &sb, err,
	    errlen)) != 1)
		return rc;
	if ((why = workdir_problem(dfd, &sb, uid, me)) != NULL)
		return refuse(err, errlen, "directory", path, &sb, why);
	return 0;
}

int
pathsafe_workdir_at(int dfd, const char *dpath, const char *name, uid_t uid,
    gid_t gid, mode_t mode, uid_t me, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*why;
	char		 path[PATH_MAX];
	mode_t		 old;
	int		 fd, rv, saved;

	join(path, sizeof(path), dpath, name);
	old = umask(0);
	rv = mkdirat(dfd, name, mode);
	saved = errno;
	(void)umask(old);
	if (rv == -1 && saved != EEXIST)
		return failx(err, errlen, "cannot create %s: %s", path,
		    strerror(saved));
	/* a link or a file put there: say which, with its owner */
	if (pathsafe_check_workdir_at(dfd, dpath, name, uid, me, err,
	    errlen) == -1)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return failx(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
	/* what we hold now, not what the name meant a moment ago */
	if (fstat(fd, &sb) == -1) {
		saved = errno;
		(void)close(fd);
		return failx(err, errlen, "%s: %s", path, strerror(saved));
	}
	if ((why = workdir_problem(dfd, &sb, uid, me)) != NULL) {
		(void)refuse(err, errlen, "directory", path, &sb, why);
		(void)close(fd);
		return -1;
	}
	if ((uid != (uid_t)-1 && (sb.st_uid != uid || sb.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1) ||
	    ((sb.st_mode & 07777) != mode && fchmod(fd, mode) == -1)) {
		saved = errno;
		(void)close(fd);
		if (uid == (uid_t)-1)
			return failx(err, errlen, "cannot set mode %04o on %s: "
			    "%s", (unsigned)mode, path, strerror(saved));
		return failx(err, errlen, "cannot give %s to uid %lu, mode "
		    "%04o: %s", path, (unsigned long)uid, (unsigned)mode,
		    strerror(saved));
	}
	return fd;
}

/* ---- stop -m clean ---- */

int
pathsafe_empty_dir(const char *path, uid_t me, unsigned *failures,
    char *err, size_t errlen)
{
	struct rmtree_report	 rep;
	char			 dir[PATH_MAX], name[NAME_MAX + 1];
	int			 dfd, fd, rv;

	*failures = 1;
	if (pathsafe_split(path, dir, sizeof(dir), name, sizeof(name)) == -1)
		return failx(err, errlen, "%s: not an absolute path", path);
	if ((dfd = pathsafe_open_dir(dir, me, PATHSAFE_CHECK, 0, err,
	    errlen)) == PATHSAFE_ABSENT) {
		*failures = 0;
		return 0;
	}
	if (dfd == -1)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	(void)close(dfd);
	if (fd == -1) {
		if (errno == ENOENT) {
			*failures = 0;
			return 0;
		}
		return failx(err, errlen, "%s: %s", path, strerror(errno));
	}
	rv = rmtree_contents(fd, path, &rep);
	(void)close(fd);
	*failures = rep.failures;
	if (rv == -1)
		(void)snprintf(err, errlen, "cannot remove %s", rep.first);
	return rv;
}
