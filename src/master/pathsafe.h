/*
 * Paths the master trusts, in the manner of sshd's StrictModes: the master
 * runs as root and writes where the config points, so it follows no name an
 * unprivileged user could have changed.
 *
 * A directory is trusted when it is owned by root or by `me` (the invoking
 * user of an unprivileged start; 0 as root) and is not writable by group or
 * others, unless the sticky bit is set (/tmp: others may add names there,
 * but never rename or remove ours).  A path is trusted when every directory
 * from / down to it is: the walk opens each component with
 * openat(O_NOFOLLOW) relative to the one before and checks what it opened,
 * so nothing can be swapped between the check and the use.  A symbolic link
 * on the way (/var/run -> /run) is followed only when it is owned by root or
 * `me` and sits in a trusted directory; its target is then walked the same
 * way.  The last component of a file is never followed.
 *
 * Every function reports a refusal in err, naming the path, its owner and
 * its mode.
 */
#ifndef AGENT_PATHSAFE_H
#define AGENT_PATHSAFE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* How pathsafe_open_dir() treats a missing component. */
enum pathsafe_how {
	PATHSAFE_EXISTING,	/* an error */
	PATHSAFE_CREATE,	/* made with mkdirat (0755, the last `mode`) */
	PATHSAFE_CHECK		/* fine: return PATHSAFE_ABSENT */
};

#define PATHSAFE_ABSENT		(-2)

/* pathsafe_*_file flags: besides regular files, FIFOs and char devices. */
#define PATHSAFE_F_SPECIAL	0x1
/*
 * pathsafe_open_file*(): a file it creates has its directory synced
 * before it returns (the entry; the caller syncs the data), or is
 * removed again and the call fails: what the caller syncs into it then
 * survives a power failure on any file system, not only on those (ext4,
 * XFS) that commit the entry with the file's own sync.
 */
#define PATHSAFE_F_SYNCDIR	0x2

/*
 * Why a directory with this stat is not trusted, or NULL when it is.
 */
const char *pathsafe_dir_problem(const struct stat *, uid_t me);

/*
 * Walk the absolute `path` from / and return an O_PATH descriptor of the
 * directory (for the *at calls), or -1 with err; PATHSAFE_ABSENT when `how`
 * is PATHSAFE_CHECK and a component does not exist (what exists passed).
 */
int	 pathsafe_open_dir(const char *path, uid_t me, enum pathsafe_how how,
	    mode_t mode, char *err, size_t errlen);

/* 0 when `path` passes the walk or does not exist yet; -1 with err. */
int	 pathsafe_check_dir(const char *path, uid_t me, char *err,
	    size_t errlen);

/*
 * The entry `name` of directory `dfd` (named `dpath` in messages), which
 * the master is about to write: 0 when it does not exist or is a regular
 * file (or with PATHSAFE_F_SPECIAL a FIFO or character device) owned by
 * root or `me` with a single link; -1 with err otherwise (a symbolic link,
 * a hard link to a file elsewhere, a file planted by another user).
 */
int	 pathsafe_check_file_at(int dfd, const char *dpath, const char *name,
	    uid_t me, int flags, char *err, size_t errlen);

/*
 * The same checks on what an open of dpath/name gave: for a file opened
 * after pathsafe_check_file_at(), which another user may have replaced
 * in between in a sticky directory.  0, or -1 with err.
 */
int	 pathsafe_check_fd(int fd, const char *dpath, const char *name,
	    uid_t me, int flags, char *err, size_t errlen);

/*
 * Open `name` in `dfd` for writing, never following a link: `oflags`
 * (O_WRONLY|O_APPEND, O_RDWR) plus O_NOFOLLOW|O_CLOEXEC; created with
 * O_CREAT|O_EXCL and `mode` when missing; then checked as above.  The
 * descriptor is blocking.  -1 with err.
 */
int	 pathsafe_open_file_at(int dfd, const char *dpath, const char *name,
	    int oflags, mode_t mode, uid_t me, int flags, char *err,
	    size_t errlen);

/* Split an absolute path into its directory and last component. */
int	 pathsafe_split(const char *path, char *dir, size_t dirlen,
	    char *name, size_t namelen);

/* Both of the above for a whole path; the directory as `how` says. */
int	 pathsafe_open_file(const char *path, enum pathsafe_how how,
	    mode_t dirmode, int oflags, mode_t mode, uid_t me, int flags,
	    char *err, size_t errlen);
int	 pathsafe_check_file(const char *path, uid_t me, int flags, char *err,
	    size_t errlen);

/*
 * A directory the master makes for a worker: `name` in `dfd`, made with
 * `mode` when missing, never followed when a link, then given to uid:gid
 * (fchown; skipped when uid is (uid_t)-1) and `mode` (fchmod) through its
 * own descriptor.  When `dfd` itself is not trusted (a worker's directory
 * holding another one, like pluginsdir/plugin.disabled), an existing entry
 * must belong to root, `me`, uid or the owner of `dfd`, the only users who
 * could have put it there.  Returns an O_RDONLY descriptor of it, or -1.
 */
int	 pathsafe_workdir_at(int dfd, const char *dpath, const char *name,
	    uid_t uid, gid_t gid, mode_t mode, uid_t me, char *err,
	    size_t errlen);
/* The same rules without a change: 0 when absent or fine, -1 with err. */
int	 pathsafe_check_workdir_at(int dfd, const char *dpath,
	    const char *name, uid_t uid, uid_t me, char *err, size_t errlen);

/*
 * Remove everything inside the directory `path` (its parent walked as
 * above), depth first with unlinkat relative to directory descriptors:
 * never follows a link, never leaves the file system.  0 when the
 * directory is empty or absent; -1 with the first failure in err and how
 * many there were in *failures.
 */
int	 pathsafe_empty_dir(const char *path, uid_t me, unsigned *failures,
	    char *err, size_t errlen);

#endif
