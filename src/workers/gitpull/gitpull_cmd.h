/*
 * What a git command line of the gitpull worker is made of: the checked
 * names, the URL from the [agent] git template, the argv (no shell), the
 * clean environment, the git config file that trusts the local source
 * repositories (safe.directory), and the settings of a signature check.
 */
#ifndef AGENT_GITPULL_CMD_H
#define AGENT_GITPULL_CMD_H

#include <limits.h>
#include <stddef.h>

#include "conf.h"

#define GITPULL_ARGV_MAX	48
#define GITPULL_ENV_MAX		16
#define GITPULL_CONFIG_FILE	".gitpull.gitconfig"	/* in pluginsdir */
#define GITPULL_CLONE_PREFIX	".clone-"	/* pluginsdir/<ns>/.clone-* */
/* pluginsdir/.gitpull-signers-XXXXXX: the lines for one check */
#define GITPULL_SIGNERS_PREFIX	".gitpull-signers-"
/* The environment of git that holds the user and password of the URL */
#define GITPULL_ENV_USER	"AGENT_GIT_USERNAME"
#define GITPULL_ENV_PASS	"AGENT_GIT_PASSWORD"
/* Git's own protocols only: no ext::, fd:: or remote helpers. */
#define GITPULL_PROTOCOLS	"file:git:http:https:ssh"

/* What one operation needs, copied when it starts. */
struct gitpull_conf {
	char		 git[PATH_MAX];		/* the git binary */
	char		 pluginsdir[CONF_STR_MAX];
	char		 url_template[CONF_STR_MAX];	/* [agent] git */
	char		 branch[CONF_STR_MAX];		/* [agent] gitbranch */
	double		 timeout;		/* seconds per git call */
	int64_t		 max_size;		/* [agent] gitmaxsize */
	char		 gitconfig[CONF_STR_MAX + 32];	/* GIT_CONFIG_GLOBAL */
	/* [agent] gitsigners: the allowed-signers text, NULL = no check */
	char		*signers;
	char		 signers_path[CONF_STR_MAX];	/* for messages */
	int		 signed_tags;		/* [agent] gitsignedtags */
	char		 sshkeygen[PATH_MAX];	/* "" = none found */
	/*
	 * The user and password of an http(s) URL, taken out of it
	 * (gitpull_url_creds()): git gets them from its environment
	 * through a credential helper of ours, for `cred_match` only.
	 * cred_match "" = none.
	 */
	char		 cred_match[CONF_STR_MAX];	/* scheme://host:port */
	char		 cred_user[CONF_STR_MAX];
	char		 cred_pass[CONF_STR_MAX];
	int		 cred_has_pass;
};

/*
 * Fill from the agent config; -1 with err when a value is unusable.
 * `signers` is a copy: gitpull_conf_free() it.
 */
int	 gitpull_conf_from(struct gitpull_conf *, const struct agent_conf *,
	    const char *git, const char *sshkeygen, char *err, size_t errlen);
void	 gitpull_conf_free(struct gitpull_conf *);

/* `name` in /usr/bin, /bin, /usr/local/bin, or PATH. */
int	 gitpull_find_program(const char *name, char *path, size_t len);
/* The git binary: gitpull_find_program("git"). */
int	 gitpull_find_git(char *path, size_t len);

/* "group/project", both valid path components, neither starting with ".". */
int	 gitpull_repo_valid(const char *repo);
/* A branch name git cannot take for an option or a revision range. */
int	 gitpull_branch_valid(const char *branch);
/* The template with %s = repo; exactly one %s and no other %. */
int	 gitpull_url(const char *tmpl, const char *repo, char *url,
	    size_t len, char *err, size_t errlen);
/*
 * An http(s) URL without its user and password, into `bare`; the two,
 * percent-decoded, into gc's cred_* (cred_match "" when the URL has
 * none, or is of another scheme: an ssh user is no secret, and git has
 * nothing to send a password to).  On a command line any local user
 * reads them (/proc/<pid>/cmdline), and clone writes its URL into the
 * checkout's .git/config, which every plugin may read.  -1 with err
 * when a value cannot be passed (a newline, a NUL, too long).
 */
int	 gitpull_url_creds(const char *url, char *bare, size_t barelen,
	    struct gitpull_conf *gc, char *err, size_t errlen);
/* An http(s) URL without its user and password: 1 if it had them. */
int	 gitpull_url_strip(const char *url, char *out, size_t len);
/* The URL for messages: user:password@ becomes ***@. */
void	 gitpull_url_redact(const char *url, char *out, size_t len);
/* 1 and the path when the URL names a local repository by absolute
 * path (/x/y.git or file:///x/y.git), else 0. */
int	 gitpull_local_path(const char *url, char *path, size_t len);

/*
 * argv: git, the fixed -c options, then `args` (NULL-terminated).  With
 * `signers` (a file of allowed signers), the -c options of a signature
 * check too: SSH signatures only, checked by the ssh-keygen we found
 * against that file, whatever the repository's own config says.
 */
struct gitpull_argv {
	char		*v[GITPULL_ARGV_MAX + 1];
	size_t		 n;
	char		 program[PATH_MAX + 32];
	char		 allowed[PATH_MAX + 48];
	char		 helper[CONF_STR_MAX + 320];
};

int	 gitpull_argv(struct gitpull_argv *, const struct gitpull_conf *,
	    const char *signers, const char *const args[]);

/* The whole environment git gets; the strings live in the struct. */
struct gitpull_env {
	char		 home[CONF_STR_MAX + 8];
	char		 config[CONF_STR_MAX + 64];
	char		 user[CONF_STR_MAX + 32];	/* cred_user */
	char		 pass[CONF_STR_MAX + 32];	/* cred_pass */
	char		*v[GITPULL_ENV_MAX + 1];
};

void	 gitpull_env(struct gitpull_env *, const struct gitpull_conf *);

/*
 * safe.directory for the local source repositories: git >= 2.35 refuses
 * a repository owned by another user (root's, when gitpull runs as
 * `user`), and for a local clone it reads safe.directory only from the
 * global config (GIT_CONFIG_PARAMETERS is not passed to upload-pack).
 * So the worker writes GITPULL_CONFIG_FILE, points GIT_CONFIG_GLOBAL at
 * it, and lists exactly the local repositories the template has led to.
 */
struct gitpull_trust {
	char		 file[CONF_STR_MAX + 32];
	struct strlist	 paths;
};

void	 gitpull_trust_init(struct gitpull_trust *);
void	 gitpull_trust_free(struct gitpull_trust *);
/* Forget every path and (re)write the file empty. */
int	 gitpull_trust_reset(struct gitpull_trust *, const char *file,
	    char *err, size_t errlen);
/* Trust the repository `url` names if it is local; rewrite when new. */
int	 gitpull_trust_url(struct gitpull_trust *, const char *url,
	    char *err, size_t errlen);

/* Remove a directory tree without following symlinks; 0 or -1. */
int	 gitpull_rmtree(const char *path);
/* Remove leftover temporary clones: every `dir`/.clone-<prefix>* (all
 * of them with prefix ""); returns how many went. */
int	 gitpull_rm_clones(const char *dir, const char *prefix);
/*
 * Remove what a fetch that failed left in checkout/.git/objects/pack: a
 * tmp_pack_* (as large as [agent] gitmaxsize) stays behind a write that
 * failed or a git killed, and every retry would add one.  No symlink on
 * the way is followed.  Returns how many went, -1 when the directory
 * cannot be opened (none there is 0).
 */
int	 gitpull_rm_tmp_packs(const char *checkout);
/* Every pluginsdir/<ns>/.clone-*: what a crash mid-clone left. */
int	 gitpull_rm_all_clones(const char *pluginsdir);
/* Every pluginsdir/.gitpull-signers-*: what a crash mid-check left. */
int	 gitpull_rm_signers_files(const char *pluginsdir);

/* Last line(s) of git's stderr, made one line, for an error text. */
void	 gitpull_err_tail(const char *err, char *out, size_t len);

#endif
