/*
 * The master's paths; see dirs.h.  A directory the master makes for a
 * worker is one row of `workdirs`: its parent must pass the walk of
 * pathsafe.h (root's, not writable by others unless sticky), and the
 * directory itself is made there and given to its user through its own
 * descriptor.  A row with `sub` lives inside the directory of an earlier
 * row, which belongs to a worker: it is opened from that row's
 * descriptor, never by name.
 */
#include "dirs.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "pathsafe.h"
#include "plugin_msg.h"

enum dirs_owner {
	OWNER_ROOT,		/* the master's: walked and checked whole */
	OWNER_USER,		/* [agent] user */
	OWNER_PLUGINSUSER	/* [agent] pluginsuser */
};

struct workdir {
	const char	*key;		/* names the path in messages */
	size_t		 off;		/* of the path in struct agent_conf */
	const char	*sub;		/* NULL, or a name inside that path */
	enum dirs_owner	 owner;
	mode_t		 mode;
	/*
	 * The worker copes without it: a problem with the directory itself
	 * (not with the path to it) is a warning, and the worker says in
	 * its log and /me/status why it does without.
	 */
	int		 optional;
	/* one pluginsuser owns, left by an older agent, is taken over */
	int		 adopt_pluginsusers;
};

#define OFF(f)	offsetof(struct agent_conf, f)

/* An empty path is a directory not wanted by the config. */
static const struct workdir workdirs[] = {
	/* the front's empty jail */
	{ "[agent] chroot", OFF(chroot), NULL, OWNER_ROOT, 0755, 0, 0 },
	/* plugin checkouts (gitpull) and the registry cache (fetcher) */
	{ "[agent] pluginsdir", OFF(pluginsdir), NULL, OWNER_USER, 0755, 0,
	    0 },
	/*
	 * Disable markers: gitpull writes them for the scheduler, which
	 * only reads them.  They were the scheduler's, pluginsuser's, until
	 * 2026-12: every plugin runs as pluginsuser too, and could disable
	 * the others or enable what the operator disabled.
	 */
	{ "[agent] pluginsdir", OFF(pluginsdir), PLUGIN_MARKER_DIR,
	    OWNER_USER, 0755, 0, 1 },
	/* the sender's spool: without it, points are held in memory only */
	{ "[output] spool", OFF(spool), NULL, OWNER_USER, 0700, 1, 0 },
};
#define NWORKDIRS	(sizeof(workdirs) / sizeof(workdirs[0]))

static const char *
wd_path(const struct agent_conf *c, const struct workdir *wd)
{
	return (const char *)c + wd->off;
}

/* The row holding a `sub` row: the earlier one of the same path. */
static size_t
wd_parent(const struct workdir *wd)
{
	size_t	 i;

	for (i = 0; &workdirs[i] != wd; i++)
		if (workdirs[i].off == wd->off && workdirs[i].sub == NULL)
			return i;
	return NWORKDIRS;
}

/* uid and gid of the row's user; (uid_t)-1 when unprivileged. */
static int
wd_user(const struct agent_conf *c, const struct workdir *wd, uid_t me,
    uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd	*pw;
	const char	*name, *key;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (wd->owner == OWNER_ROOT || me != 0)
		return 0;
	name = wd->owner == OWNER_USER ? c->user : c->pluginsuser;
	key = wd->owner == OWNER_USER ? "user" : "pluginsuser";
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "[agent] %s = \"%s\": no such user", key,
		    name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * A `sub` row's directory an older agent gave to pluginsuser, where the
 * row now wants its own user (adopt_pluginsusers): 1 when `sub` inside
 * `parentfd` is such a directory, its descriptor in *fd; 0 if not.
 */
static int
sub_legacy(const struct agent_conf *c, const struct workdir *wd,
    int parentfd, uid_t uid, int *fd)
{
	struct passwd	*pw;
	struct stat	 sb;

	*fd = -1;
	if (!wd->adopt_pluginsusers || uid == (uid_t)-1 ||
	    (pw = getpwnam(c->pluginsuser)) == NULL || pw->pw_uid == uid ||
	    pw->pw_uid == 0)
		return 0;
	*fd = openat(parentfd, wd->sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*fd == -1)
		return 0;
	if (fstat(*fd, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    sb.st_uid == pw->pw_uid)
		return 1;
	close(*fd);
	*fd = -1;
	return 0;
}

/*
 * Give such a directory to the row's user, what is in it kept: the
 * markers in it are the operator's disables.  Who wrote them cannot be
 * told, but pluginsuser could write them all along; from now on it
 * cannot.  Names in it are only ever replaced, never followed
 * (gitpull_marker.c).
 */
static void
sub_adopt(const struct agent_conf *c, const struct workdir *wd,
    int parentfd, const char *path, uid_t uid, gid_t gid)
{
	int	 fd;

	if (!sub_legacy(c, wd, parentfd, uid, &fd))
		return;
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, wd->mode) == -1)
		log_warn("%s: giving %s/%s to [agent] user", __func__, path,
		    wd->sub);
	else
		log_info("%s/%s was [agent] pluginsuser's (an older agent "
		    "made it so): now [agent] user's, so that plugins cannot "
		    "write there", path, wd->sub);
	close(fd);
}

static int
fail_path(char *err, size_t errlen, const char *key, const char *path,
    const char *why)
{
	snprintf(err, errlen, "%s %s: %s", key, path, why);
	return -1;
}

/* The directory holding a top-level row: -1, or PATHSAFE_ABSENT. */
static int
wd_open_parent(const char *path, const char *key, uid_t me,
    enum pathsafe_how how, char *dir, size_t dirlen, char *name,
    size_t namelen, char *err, size_t errlen)
{
	char	 why[768];
	int	 dfd;

	if (pathsafe_split(path, dir, dirlen, name, namelen) == -1)
		return fail_path(err, errlen, key, path, "not an absolute "
		    "path of a directory");
	dfd = pathsafe_open_dir(dir, me, how, 0755, why, sizeof(why));
	if (dfd == -1)
		return fail_path(err, errlen, key, path, why);
	return dfd;
}

static int
check_workdir(const struct agent_conf *c, const struct workdir *wd,
    uid_t me, char *err, size_t errlen)
{
	const char	*path = wd_path(c, wd);
	char		 dir[PATH_MAX], name[NAME_MAX + 1], why[768];
	uid_t		 uid;
	gid_t		 gid;
	int		 dfd, fd, rv;

	if (wd->owner == OWNER_ROOT) {
		if (pathsafe_check_dir(path, me, why, sizeof(why)) == -1)
			return fail_path(err, errlen, wd->key, path, why);
		return 0;
	}
	if (wd_user(c, wd, me, &uid, &gid, err, errlen) == -1)
		return -1;
	if ((dfd = wd_open_parent(path, wd->key, me, PATHSAFE_CHECK, dir,
	    sizeof(dir), name, sizeof(name), err, errlen)) == -1)
		return -1;
	if (dfd == PATHSAFE_ABSENT)
		return 0;
	if (wd->sub == NULL) {
		rv = pathsafe_check_workdir_at(dfd, dir, name, uid, me, why,
		    sizeof(why));
		close(dfd);
		if (rv == -1 && wd->optional)
			return 0;	/* dirs_prepare() says it */
		return rv == -1 ? fail_path(err, errlen, wd->key, path,
		    why) : 0;
	}
	/* inside a worker's directory: checked from its descriptor */
	fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd == -1)
		return 0;	/* absent, or its own row says what is wrong */
	/* an older agent's: dirs_prepare() takes it over (sub_adopt()) */
	if (sub_legacy(c, wd, fd, uid, &dfd)) {
		close(dfd);
		close(fd);
		return 0;
	}
	rv = pathsafe_check_workdir_at(fd, path, wd->sub, uid, me, why,
	    sizeof(why));
	close(fd);
	/* dirs_prepare() puts it right (sub_replace()): no lockout */
	if (rv == -1)
		log_warnx("%s: %s %s/%s: %s; it will be made again", __func__,
		    wd->key, path, wd->sub, why);
	return 0;
}

/* A file the master writes, and the directory it is in. */
static int
check_file(const char *key, const char *shown, const char *path, uid_t me,
    int flags, char *err, size_t errlen)
{
	char	 why[768];

	if (pathsafe_check_file(path, me, flags, why, sizeof(why)) == -1)
		return fail_path(err, errlen, key, shown, why);
	return 0;
}

/* `path` is `top` or lies below it, spelt as written. */
static int
path_within(const char *path, const char *top)
{
	size_t	 n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		n--;
	if (strncmp(path, top, n) != 0)
		return 0;
	if (n == 1)
		return 1;	/* "/" */
	return path[n] == '\0' || path[n] == '/';
}

/*
 * A directory given to a worker's user must not be, nor hold, one of the
 * master's: with pluginsdir = logdir, the log directory went to `user`,
 * who could remove agent.log (the master wrote on into the unlinked file,
 * and the next start was refused); with a pidfile there, `user` could
 * remove it and `agent stop` said the agent was not running.
 */
static int
check_overlap(const struct agent_conf *c, char *err, size_t errlen)
{
	struct {
		const char	*key;
		const char	*path;
		int		 file;	/* its directory is the master's */
	} ours[] = {
		{ "[log] logdir", c->logdir, 0 },
		{ "[agent] pidfile", c->pidfile, 1 },
		{ "[agent] socket", c->socket, 1 },
		{ "[agent] chroot", c->chroot, 0 },
		{ "[output] path", strcmp(c->output_name, "file") == 0 &&
		    strcmp(c->path, "-") != 0 ? c->path : "", 1 },
		/* `user` could remove it: no reload, stop or start after */
		{ "the config file", c->source, 1 },
	};
	char	 dir[PATH_MAX], name[NAME_MAX + 1];
	size_t	 i, j;

	for (i = 0; i < NWORKDIRS; i++) {
		if (workdirs[i].owner == OWNER_ROOT ||
		    workdirs[i].sub != NULL ||
		    wd_path(c, &workdirs[i])[0] == '\0')
			continue;
		for (j = 0; j < sizeof(ours) / sizeof(ours[0]); j++) {
			if (ours[j].path[0] == '\0')
				continue;
			if (!ours[j].file)
				strlcpy(dir, ours[j].path, sizeof(dir));
			else if (pathsafe_split(ours[j].path, dir, sizeof(dir),
			    name, sizeof(name)) == -1)
				continue;	/* said by its own check */
			if (!path_within(dir, wd_path(c, &workdirs[i])))
				continue;
			snprintf(err, errlen, "%s %s holds %s %s: it is given "
			    "to [agent] %s, and the master's directories must "
			    "stay root's; use a directory of its own",
			    workdirs[i].key, wd_path(c, &workdirs[i]),
			    ours[j].key, ours[j].path,
			    workdirs[i].owner == OWNER_USER ? "user" :
			    "pluginsuser");
			return -1;
		}
	}
	return 0;
}

int
dirs_check(const struct agent_conf *c, uid_t me, char *err, size_t errlen)
{
	char	 path[PATH_MAX], dir[PATH_MAX], name[NAME_MAX + 1], why[768];
	size_t	 i;

	if (check_overlap(c, err, errlen) == -1)
		return -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/agent.log", c->logdir) >=
	    sizeof(path))
		return fail_path(err, errlen, "[log] logdir", c->logdir,
		    "path too long");
	if (check_file("[log] logdir", c->logdir, path, me, 0, err,
	    errlen) == -1 ||
	    check_file("[agent] pidfile", c->pidfile, c->pidfile, me, 0, err,
	    errlen) == -1)
		return -1;
	if (c->socket[0] != '\0') {
		if (pathsafe_split(c->socket, dir, sizeof(dir), name,
		    sizeof(name)) == -1)
			return fail_path(err, errlen, "[agent] socket",
			    c->socket, "not an absolute path");
		if (pathsafe_check_dir(dir, me, why, sizeof(why)) == -1)
			return fail_path(err, errlen, "[agent] socket",
			    c->socket, why);
	}
	/* the master opens it for the sender: root may write there */
	if (strcmp(c->output_name, "file") == 0 && strcmp(c->path, "-") != 0 &&
	    check_file("[output] path", c->path, c->path, me,
	    PATHSAFE_F_SPECIAL, err, errlen) == -1)
		return -1;
	for (i = 0; i < NWORKDIRS; i++)
		if (wd_path(c, &workdirs[i])[0] != '\0' &&
		    check_workdir(c, &workdirs[i], me, err, errlen) == -1)
			return -1;
	return 0;
}

/*
 * A `sub` row's name taken by something else than a directory: a link or
 * a file put there by the parent directory's owner, a worker's user.
 * That user may remove it too, so removing it (the name, never what a
 * link points to) gives nobody anything; refusing to start over it would
 * let a worker's user keep the agent from ever starting.  0 when it went.
 */
static int
sub_replace(int parentfd, const char *path, const char *sub)
{
	struct stat	 sb;

	if (fstatat(parentfd, sub, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    S_ISDIR(sb.st_mode))
		return -1;
	if (unlinkat(parentfd, sub, 0) == -1) {
		log_warn("%s: removing %s/%s", __func__, path, sub);
		return -1;
	}
	log_warnx("%s: %s/%s was %s (uid %lu), not a directory: removed, "
	    "made again", __func__, path, sub, S_ISLNK(sb.st_mode) ?
	    "a symbolic link" : "a file", (unsigned long)sb.st_uid);
	return 0;
}

/* One row; its descriptor in *fd for the rows inside it. */
static int
prepare_workdir(const struct agent_conf *c, const struct workdir *wd,
    uid_t me, int parentfd, int *fd, char *err, size_t errlen)
{
	const char	*path = wd_path(c, wd);
	char		 dir[PATH_MAX], name[NAME_MAX + 1], why[768];
	uid_t		 uid;
	gid_t		 gid;
	int		 dfd;

	*fd = -1;
	if (wd->owner == OWNER_ROOT) {
		*fd = pathsafe_open_dir(path, me, PATHSAFE_CREATE, wd->mode,
		    why, sizeof(why));
		return *fd < 0 ? fail_path(err, errlen, wd->key, path, why) :
		    0;
	}
	if (wd_user(c, wd, me, &uid, &gid, err, errlen) == -1)
		return -1;
	if (wd->sub != NULL) {
		if (parentfd == -1)
			return fail_path(err, errlen, wd->key, path, "not "
			    "prepared");
		sub_adopt(c, wd, parentfd, path, uid, gid);
		*fd = pathsafe_workdir_at(parentfd, path, wd->sub, uid, gid,
		    wd->mode, me, why, sizeof(why));
		if (*fd == -1 && sub_replace(parentfd, path, wd->sub) == 0)
			*fd = pathsafe_workdir_at(parentfd, path, wd->sub, uid,
			    gid, wd->mode, me, why, sizeof(why));
		return *fd == -1 ? fail_path(err, errlen, wd->key, path, why) :
		    0;
	}
	if ((dfd = wd_open_parent(path, wd->key, me, PATHSAFE_CREATE, dir,
	    sizeof(dir), name, sizeof(name), err, errlen)) < 0)
		return -1;
	*fd = pathsafe_workdir_at(dfd, dir, name, uid, gid, wd->mode, me, why,
	    sizeof(why));
	close(dfd);
	if (*fd == -1 && wd->optional) {
		log_warnx("%s: %s %s: %s; its worker does without", __func__,
		    wd->key, path, why);
		return 0;
	}
	return *fd == -1 ? fail_path(err, errlen, wd->key, path, why) : 0;
}

int
dirs_prepare(const struct agent_conf *c, uid_t me, char *err, size_t errlen)
{
	int	 fds[NWORKDIRS];
	size_t	 i, p;
	int	 rv = 0;

	for (i = 0; i < NWORKDIRS; i++)
		fds[i] = -1;
	for (i = 0; i < NWORKDIRS && rv == 0; i++) {
		if (wd_path(c, &workdirs[i])[0] == '\0')
			continue;
		p = workdirs[i].sub != NULL ? wd_parent(&workdirs[i]) :
		    NWORKDIRS;
		rv = prepare_workdir(c, &workdirs[i], me,
		    p < NWORKDIRS ? fds[p] : -1, &fds[i], err, errlen);
	}
	for (i = 0; i < NWORKDIRS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rv;
}
