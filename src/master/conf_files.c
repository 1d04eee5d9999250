/*
 * Reading the files the config names for the workers; see conf_files.h.
 * The master may run as root: a file whose content decides what runs
 * is opened without following a symlink and refused when someone else
 * could have written it, in the spirit of sshd's StrictModes.
 */
#include "conf_files.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "pathsafe.h"
#include "signers.h"

static int
check_signers(const char *text, char *why, size_t whylen)
{
	struct signers	 s;

	if (signers_parse(&s, text, why, whylen) == -1)
		return -1;
	signers_free(&s);
	return 0;
}

/* What a file must hold, per key; a key without a check takes any text. */
static const struct {
	const char	*section;
	const char	*key;
	size_t		 max;
	int		(*check)(const char *, char *, size_t);
} file_keys[] = {
	{ "agent", "gitsigners", SIGNERS_TEXT_MAX, check_signers },
};

int
conf_files_check_owner(const struct stat *st, const char *what, char *why,
    size_t whylen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, whylen, "%s is owned by uid %lu: it must be "
		    "root's%s", what, (unsigned long)st->st_uid,
		    geteuid() != 0 ? " or ours" : "");
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0)) {
		snprintf(why, whylen, "%s is writable by group or others "
		    "(mode %03o): whoever can write there decides what is "
		    "trusted", what, (unsigned)(st->st_mode & 0777));
		return -1;
	}
	return 0;
}

int
conf_files_open(const char *path, int follow, char *why, size_t whylen)
{
	struct stat	 st;
	char		 abs[PATH_MAX], dir[PATH_MAX], name[NAME_MAX + 1];
	char		 walk[768];
	int		 dfd, fd;

	if (follow) {
		if (realpath(path, abs) == NULL) {
			snprintf(why, whylen, "%s", strerror(errno));
			return -1;
		}
	} else if (strlcpy(abs, path, sizeof(abs)) >= sizeof(abs)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	if (pathsafe_split(abs, dir, sizeof(dir), name, sizeof(name)) == -1) {
		snprintf(why, whylen, "not an absolute path of a file");
		return -1;
	}
	/* the directory's own words first: what operators meet most */
	if (stat(dir, &st) == -1) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (conf_files_check_owner(&st, "its directory", why, whylen) == -1)
		return -1;
	/*
	 * Then the whole way down, and the open at the directory walked:
	 * by name, another user who owns any directory above could swap
	 * in one of its own between a check and the open.
	 */
	dfd = pathsafe_open_dir(dir, geteuid(), PATHSAFE_CHECK, 0, walk,
	    sizeof(walk));
	if (dfd == PATHSAFE_ABSENT) {
		snprintf(why, whylen, "%s", strerror(ENOENT));
		return -1;
	}
	if (dfd < 0) {
		snprintf(why, whylen, "%s", walk);
		return -1;
	}
	/* O_NONBLOCK: a FIFO put there must not hang the master */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	(void)close(dfd);
	if (fd == -1) {
		snprintf(why, whylen, "%s", errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s", S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		(void)close(fd);
		return -1;
	}
	if (conf_files_check_owner(&st, "the file", why, whylen) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
conf_files_read_one(const char *path, size_t max, char **text, char *why,
    size_t whylen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	*text = NULL;
	if ((fd = conf_files_open(path, 0, why, whylen)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		snprintf(why, whylen, "%lld bytes, at most %zu",
		    (long long)st.st_size, max);
		goto fail;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	/* up to one byte more than allowed: a file that grew is refused */
	while (len <= max &&
	    (n = read(fd, buf + len, max + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "read: %s", strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > max) {
		snprintf(why, whylen, "more than %zu bytes", max);
		goto fail;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(why, whylen, "contains a NUL byte");
		goto fail;
	}
	(void)close(fd);
	*text = buf;
	return 0;
fail:
	free(buf);
	(void)close(fd);
	return -1;
}

int
conf_files_read(struct agent_conf *c, char *err, size_t errlen)
{
	const struct conf_field	*f;
	struct conf_file	*cf;
	char			 why[512];
	size_t			 i, j, max;
	int			(*check)(const char *, char *, size_t);

	for (i = 0; i < conf_field_count; i++) {
		f = &conf_fields[i];
		if (f->type != CONF_T_FILE)
			continue;
		cf = (struct conf_file *)((char *)c + f->offset);
		free(cf->text);
		cf->text = NULL;
		if (cf->path[0] == '\0')
			continue;
		max = CONF_FILE_MAX;
		check = NULL;
		for (j = 0; j < sizeof(file_keys) / sizeof(file_keys[0]); j++)
			if (strcmp(file_keys[j].section, f->section) == 0 &&
			    strcmp(file_keys[j].key, f->key) == 0) {
				max = file_keys[j].max;
				check = file_keys[j].check;
			}
		if (conf_files_read_one(cf->path, max, &cf->text, why,
		    sizeof(why)) == -1 ||
		    (check != NULL &&
		    check(cf->text, why, sizeof(why)) == -1)) {
			snprintf(err, errlen, "[%s] %s = \"%s\": %s",
			    f->section, f->key, cf->path, why);
			return -1;
		}
	}
	return 0;
}
