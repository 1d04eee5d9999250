/*
 * The parts of a git command line for the gitpull worker; see
 * gitpull_cmd.h.  Nothing here runs git.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "gitpull_cmd.h"
#include "items.h"
#include "log.h"
#include "rmtree.h"
#include "util.h"

int
gitpull_conf_from(struct gitpull_conf *gc, const struct agent_conf *c,
    const char *git, const char *sshkeygen, char *err, size_t errlen)
{
	memset(gc, 0, sizeof(*gc));
	if (strlcpy(gc->git, git, sizeof(gc->git)) >= sizeof(gc->git) ||
	    strlcpy(gc->sshkeygen, sshkeygen, sizeof(gc->sshkeygen)) >=
	    sizeof(gc->sshkeygen) ||
	    strlcpy(gc->signers_path, c->gitsigners.path,
	    sizeof(gc->signers_path)) >= sizeof(gc->signers_path) ||
	    strlcpy(gc->pluginsdir, c->pluginsdir, sizeof(gc->pluginsdir)) >=
	    sizeof(gc->pluginsdir) ||
	    strlcpy(gc->url_template, c->git, sizeof(gc->url_template)) >=
	    sizeof(gc->url_template) ||
	    strlcpy(gc->branch, c->gitbranch, sizeof(gc->branch)) >=
	    sizeof(gc->branch)) {
		snprintf(err, errlen, "a path or name in the config is too "
		    "long");
		return -1;
	}
	if (gc->pluginsdir[0] != '/') {
		snprintf(err, errlen, "[agent] pluginsdir \"%s\" is not an "
		    "absolute path", gc->pluginsdir);
		return -1;
	}
	snprintf(gc->gitconfig, sizeof(gc->gitconfig), "%s/%s", gc->pluginsdir,
	    GITPULL_CONFIG_FILE);
	gc->timeout = (double)c->gittimeout;
	gc->max_size = c->gitmaxsize;
	gc->signed_tags = c->gitsignedtags;
	if (c->gitsigners.path[0] == '\0')
		return 0;
	/* the master reads the file; a config without its text is a bug */
	if (c->gitsigners.text == NULL) {
		snprintf(err, errlen, "[agent] gitsigners = \"%s\": its "
		    "content did not come with the config", c->gitsigners.path);
		return -1;
	}
	if ((gc->signers = strdup(c->gitsigners.text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
gitpull_conf_free(struct gitpull_conf *gc)
{
	free(gc->signers);
	gc->signers = NULL;
}

static int
is_exe(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

int
gitpull_find_program(const char *name, char *path, size_t len)
{
	static const char *const fixed[] = {
		"/usr/bin", "/bin", "/usr/local/bin", NULL
	};
	const char	*env, *p, *end;
	char		 cand[PATH_MAX];
	size_t		 i, n;

	for (i = 0; fixed[i] != NULL; i++) {
		snprintf(cand, sizeof(cand), "%s/%s", fixed[i], name);
		if (is_exe(cand))
			return strlcpy(path, cand, len) < len ? 0 : -1;
	}
	if ((env = getenv("PATH")) == NULL)
		return -1;
	for (p = env; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		/* relative entries depend on where we happen to be */
		if (n == 0 || *p != '/' || n + strlen(name) + 2 > sizeof(cand))
			continue;
		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, name);
		if (is_exe(cand))
			return strlcpy(path, cand, len) < len ? 0 : -1;
	}
	return -1;
}

int
gitpull_find_git(char *path, size_t len)
{
	return gitpull_find_program("git", path, len);
}

int
gitpull_repo_valid(const char *repo)
{
	const char	*slash;
	char		 group[256];
	size_t		 n;

	if ((slash = strchr(repo, '/')) == NULL ||
	    (n = (size_t)(slash - repo)) >= sizeof(group))
		return 0;
	memcpy(group, repo, n);
	group[n] = '\0';
	/* the project part has no '/': items_path_component_valid refuses it;
	 * no hidden names, gitpull's own (.clone-*) */
	return items_path_component_valid(group)
	    && items_path_component_valid(slash + 1)
	    && group[0] != '.' && slash[1] != '.';
}

/* The config loader's check_gitbranch, again: it becomes an argument. */
int
gitpull_branch_valid(const char *s)
{
	size_t	 n = strlen(s);

	return !(n == 0 || n > 200 || s[0] == '-' || s[0] == '.' ||
	    s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.' ||
	    strstr(s, "..") != NULL || strstr(s, "//") != NULL ||
	    strstr(s, "@{") != NULL || strstr(s, ".lock") != NULL ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_./") != n);
}

int
gitpull_url(const char *tmpl, const char *repo, char *url, size_t len,
    char *err, size_t errlen)
{
	const char	*p, *s = NULL;
	size_t		 n;

	if (*tmpl == '\0') {
		snprintf(err, errlen, "[agent] git is not set");
		return -1;
	}
	for (p = tmpl; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] != 's' || s != NULL) {
			snprintf(err, errlen, "[agent] git \"%.200s\": must "
			    "contain %%s once and no other %%", tmpl);
			return -1;
		}
		s = p;
	}
	if (s == NULL) {
		snprintf(err, errlen, "[agent] git \"%.200s\": must contain "
		    "%%s once and no other %%", tmpl);
		return -1;
	}
	if (!gitpull_repo_valid(repo)) {
		snprintf(err, errlen, "repo \"%.200s\" is not group/project",
		    repo);
		return -1;
	}
	for (p = tmpl; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			snprintf(err, errlen, "[agent] git: control "
			    "character in the template");
			return -1;
		}
	n = (size_t)(s - tmpl);
	if (n + strlen(repo) + strlen(s + 2) >= len) {
		snprintf(err, errlen, "git URL for \"%.200s\" is too long",
		    repo);
		return -1;
	}
	memcpy(url, tmpl, n);
	url[n] = '\0';
	strlcat(url, repo, len);
	strlcat(url, s + 2, len);
	if (url[0] == '-') {
		snprintf(err, errlen, "[agent] git \"%.200s\": a URL cannot "
		    "start with -", tmpl);
		return -1;
	}
	return 0;
}

/* %XX decoded, as git decodes a URL's user and password; -1 on a byte
 * the credential protocol cannot carry (a newline ends a line, a NUL
 * the string) or when it does not fit. */
static int
url_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t		 i, o = 0;
	unsigned int	 c;
	char		 hex[3];

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			hex[2] = '\0';
			c = (unsigned int)strtoul(hex, NULL, 16);
			i += 2;
		}
		if (c == '\0' || c == '\n' || c == '\r' || o + 1 >= len)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
gitpull_url_creds(const char *url, char *bare, size_t barelen,
    struct gitpull_conf *gc, char *err, size_t errlen)
{
	const char	*host, *end, *at, *colon;
	size_t		 scheme;

	gc->cred_match[0] = gc->cred_user[0] = gc->cred_pass[0] = '\0';
	gc->cred_has_pass = 0;
	if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else
		scheme = 0;
	host = url + scheme;
	end = host + strcspn(host, "/?#");
	if (scheme == 0 || (at = memrchr(host, '@', (size_t)(end - host))) ==
	    NULL) {
		if (strlcpy(bare, url, barelen) >= barelen) {
			snprintf(err, errlen, "git URL too long");
			return -1;
		}
		return 0;
	}
	colon = memchr(host, ':', (size_t)(at - host));
	if (url_decode(host, (size_t)((colon != NULL ? colon : at) - host),
	    gc->cred_user, sizeof(gc->cred_user)) == -1 ||
	    (colon != NULL && url_decode(colon + 1, (size_t)(at - colon - 1),
	    gc->cred_pass, sizeof(gc->cred_pass)) == -1)) {
		gc->cred_user[0] = gc->cred_pass[0] = '\0';
		snprintf(err, errlen, "[agent] git: the user or password of "
		    "the URL is too long or holds a newline or NUL");
		return -1;
	}
	gc->cred_has_pass = colon != NULL;
	if ((size_t)snprintf(bare, barelen, "%.*s%s", (int)scheme, url,
	    at + 1) >= barelen || (size_t)snprintf(gc->cred_match,
	    sizeof(gc->cred_match), "%.*s%.*s", (int)scheme, url,
	    (int)(end - at - 1), at + 1) >= sizeof(gc->cred_match)) {
		gc->cred_match[0] = gc->cred_user[0] = gc->cred_pass[0] = '\0';
		snprintf(err, errlen, "git URL too long");
		return -1;
	}
	return 0;
}

int
gitpull_url_strip(const char *url, char *out, size_t len)
{
	const char	*host, *at;
	size_t		 scheme;

	if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else {
		strlcpy(out, url, len);
		return 0;
	}
	host = url + scheme;
	at = memrchr(host, '@', strcspn(host, "/?#"));
	if (at == NULL) {
		strlcpy(out, url, len);
		return 0;
	}
	snprintf(out, len, "%.*s%s", (int)scheme, url, at + 1);
	return 1;
}

void
gitpull_url_redact(const char *url, char *out, size_t len)
{
	const char	*host, *at, *slash;

	if ((host = strstr(url, "://")) == NULL) {
		strlcpy(out, url, len);
		return;
	}
	host += 3;
	slash = strchrnul(host, '/');
	at = memrchr(host, '@', (size_t)(slash - host));
	if (at == NULL) {
		strlcpy(out, url, len);
		return;
	}
	snprintf(out, len, "%.*s***%s", (int)(host - url), url, at);
}

int
gitpull_local_path(const char *url, char *path, size_t len)
{
	const char	*p;

	if (url[0] == '/')
		p = url;
	else if (strncmp(url, "file:///", 8) == 0)
		p = url + 7;
	else
		return 0;
	return strlcpy(path, p, len) < len;
}

int
gitpull_argv(struct gitpull_argv *a, const struct gitpull_conf *gc,
    const char *signers, const char *const args[])
{
	/*
	 * Command-line config outranks the checkout's own .git/config:
	 * no hooks, no fsmonitor command, no credential helper from there,
	 * and no gc detached from us (it would outlive the process group
	 * and the timeout).
	 */
	static const char *const fixed[] = {
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.fsmonitor=false",
		"-c", "credential.helper=",
		"-c", "gc.autoDetach=false",
		"-c", "advice.detachedHead=false",
		/* checkout writes the blobs' bytes, which [agent]
		 * gitmaxsize counted: no end-of-line conversion, no
		 * attributes file of git's HOME (pluginsdir); the
		 * checkout's .git/info/attributes unsets the tree's */
		"-c", "core.autocrlf=false",
		"-c", "core.attributesFile=/dev/null",
		/* what a clone or fetch receives stays one pack, a file
		 * that RLIMIT_FSIZE ([agent] gitmaxsize) bounds, never
		 * loose objects, each bounded alone */
		"-c", "transfer.unpackLimit=1",
		"-c", "fetch.unpackLimit=1",
		NULL
	};
	/*
	 * A signature check: the format is taken from the signature itself,
	 * so the OpenPGP and X.509 programs are made to fail; ssh-keygen is
	 * the one found, not one the repository names; no revocation file
	 * the repository points at; the trust an SSH key gets when its
	 * principal matches is the least accepted.
	 */
	static const char *const verify[] = {
		"-c", "gpg.format=ssh",
		"-c", "gpg.program=/bin/false",
		"-c", "gpg.openpgp.program=/bin/false",
		"-c", "gpg.x509.program=/bin/false",
		"-c", "gpg.ssh.revocationKeyring=/dev/null",
		"-c", "gpg.minTrustLevel=fully",
		NULL
	};
	size_t		 i;

	a->n = 0;
	a->v[a->n++] = (char *)gc->git;
	for (i = 0; fixed[i] != NULL; i++)
		a->v[a->n++] = (char *)fixed[i];
	if (signers != NULL) {
		if (gc->sshkeygen[0] != '/')
			return -1;
		for (i = 0; verify[i] != NULL; i++)
			a->v[a->n++] = (char *)verify[i];
		snprintf(a->program, sizeof(a->program), "gpg.ssh.program=%s",
		    gc->sshkeygen);
		snprintf(a->allowed, sizeof(a->allowed),
		    "gpg.ssh.allowedSignersFile=%s", signers);
		a->v[a->n++] = "-c";
		a->v[a->n++] = a->program;
		a->v[a->n++] = "-c";
		a->v[a->n++] = a->allowed;
	}
	/*
	 * The URL's user and password from the environment (where only
	 * our user can read them), for that server only: not for one a
	 * redirect leads to.  After credential.helper= above, which empties
	 * the list of helpers the repository's config may have begun.
	 */
	if (gc->cred_match[0] != '\0') {
		snprintf(a->helper, sizeof(a->helper), "credential.%s.helper="
		    "!f() { test \"$1\" = get || exit 0; "
		    "printf 'username=%%s\\n' \"$" GITPULL_ENV_USER "\"; "
		    "test -z \"${" GITPULL_ENV_PASS "+x}\" || "
		    "printf 'password=%%s\\n' \"$" GITPULL_ENV_PASS "\"; }; f",
		    gc->cred_match);
		a->v[a->n++] = "-c";
		a->v[a->n++] = a->helper;
	}
	for (i = 0; args[i] != NULL; i++) {
		if (a->n >= GITPULL_ARGV_MAX)
			return -1;
		a->v[a->n++] = (char *)args[i];
	}
	a->v[a->n] = NULL;
	return 0;
}

void
gitpull_env(struct gitpull_env *e, const struct gitpull_conf *gc)
{
	/*
	 * Nothing from the agent's own environment: no proxy, no askpass,
	 * no GIT_DIR.  No prompt (a terminal or SSH askpass would wait
	 * until the timeout), git's own protocols only, no system config.
	 */
	static char *const fixed[] = {
		"PATH=/usr/bin:/bin",
		"LANG=C",
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_ALLOW_PROTOCOL=" GITPULL_PROTOCOLS,
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes",
		NULL
	};
	size_t		 i, n = 0;

	/* a HOME we own; GIT_CONFIG_GLOBAL keeps git off its .gitconfig */
	snprintf(e->home, sizeof(e->home), "HOME=%s", gc->pluginsdir);
	snprintf(e->config, sizeof(e->config), "GIT_CONFIG_GLOBAL=%s",
	    gc->gitconfig);
	for (i = 0; fixed[i] != NULL; i++)
		e->v[n++] = fixed[i];
	e->v[n++] = e->home;
	e->v[n++] = e->config;
	/* for the credential helper of gitpull_argv() */
	if (gc->cred_match[0] != '\0') {
		snprintf(e->user, sizeof(e->user), GITPULL_ENV_USER "=%s",
		    gc->cred_user);
		e->v[n++] = e->user;
		if (gc->cred_has_pass) {
			snprintf(e->pass, sizeof(e->pass), GITPULL_ENV_PASS
			    "=%s", gc->cred_pass);
			e->v[n++] = e->pass;
		}
	}
	e->v[n] = NULL;
}

void
gitpull_trust_init(struct gitpull_trust *t)
{
	memset(t, 0, sizeof(*t));
	strlist_init(&t->paths);
}

void
gitpull_trust_free(struct gitpull_trust *t)
{
	strlist_free(&t->paths);
}

/* A config value in double quotes: \ and " escaped. */
static void
add_quoted(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static int
trust_write(struct gitpull_trust *t, char *err, size_t errlen)
{
	struct buf	 b;
	char		 tmp[sizeof(t->file) + 8];
	size_t		 i;
	int		 fd = -1, rv = -1;

	buf_init(&b);
	buf_adds(&b, "# Written by the agent's gitpull worker: the local "
	    "plugin repositories\n# the [agent] git template leads to.  "
	    "Rewritten at start.\n[safe]\n");
	for (i = 0; i < t->paths.n; i++) {
		buf_adds(&b, "\tdirectory = ");
		add_quoted(&b, t->paths.v[i]);
		buf_addc(&b, '\n');
	}
	if (buf_failed(&b)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || util_write_all(fd, b.p, b.len) == -1) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, t->file) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (fd != -1)
		(void)close(fd);
	if (rv == -1)
		(void)unlink(tmp);
	buf_free(&b);
	return rv;
}

int
gitpull_trust_reset(struct gitpull_trust *t, const char *file, char *err,
    size_t errlen)
{
	strlist_free(&t->paths);
	strlist_init(&t->paths);
	if (strlcpy(t->file, file, sizeof(t->file)) >= sizeof(t->file)) {
		snprintf(err, errlen, "%s: path too long", file);
		return -1;
	}
	return trust_write(t, err, errlen);
}

int
gitpull_trust_url(struct gitpull_trust *t, const char *url, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX], real[PATH_MAX], withgit[PATH_MAX];
	const char	*cand[4];
	size_t		 i, n = 0;
	int		 added = 0;

	if (!gitpull_local_path(url, path, sizeof(path)))
		return 0;
	/*
	 * Git compares safe.directory with the path it opened: for a bare
	 * repository the path itself, for one with a work tree its .git;
	 * either as given or with symlinks resolved.
	 */
	cand[n++] = path;
	if (realpath(path, real) != NULL && strcmp(real, path) != 0)
		cand[n++] = real;
	if (snprintf(withgit, sizeof(withgit), "%s/.git", n > 1 ? real :
	    path) < (int)sizeof(withgit))
		cand[n++] = withgit;
	for (i = 0; i < n; i++) {
		if (strlist_has(&t->paths, cand[i]))
			continue;
		if (strlist_add(&t->paths, cand[i]) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		added = 1;
	}
	return added ? trust_write(t, err, errlen) : 0;
}

/*
 * A checkout may hold a tree deeper than any path may be long, which a
 * repository makes from a few bytes of objects: rmtree.c walks any depth.
 */
int
gitpull_rmtree(const char *path)
{
	struct rmtree_report	 rep;
	struct stat		 top;
	int			 fd, rv;

	if (lstat(path, &top) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(top.st_mode))
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	rv = rmtree_contents(fd, path, &rep);
	(void)close(fd);
	if (rv == -1) {
		log_warnx("%s: cannot remove %s%s", __func__, rep.first,
		    rep.failures > 1 ? " (and more)" : "");
		errno = rep.first_errno != 0 ? rep.first_errno : ENOTEMPTY;
		return -1;
	}
	return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* .clone-<project>-XXXXXX (mkdtemp's six characters, no '-' in them) */
static int
clone_name_match(const char *name, const char *project)
{
	size_t	 pre = strlen(GITPULL_CLONE_PREFIX), n;

	if (strncmp(name, GITPULL_CLONE_PREFIX, pre) != 0)
		return 0;
	if (project == NULL)
		return 1;
	n = strlen(project);
	return strncmp(name + pre, project, n) == 0 &&
	    name[pre + n] == '-' && strlen(name + pre + n + 1) == 6 &&
	    strchr(name + pre + n + 1, '-') == NULL;
}

int
gitpull_rm_clones(const char *dir, const char *project)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!clone_name_match(de->d_name, project))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (gitpull_rmtree(path) == 0)
			n++;
		else
			log_warn("%s: cannot remove the unfinished clone %s",
			    __func__, path);
	}
	(void)closedir(d);
	return n;
}

int
gitpull_rm_tmp_packs(const char *checkout)
{
	static const char *const path[] = { ".git", "objects", "pack" };
	struct dirent	*de;
	DIR		*d;
	size_t		 i;
	int		 fd, next, n = 0;

	if ((fd = open(checkout, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		next = openat(fd, path[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		(void)close(fd);
		if (next == -1)
			return errno == ENOENT ? 0 : -1;
		fd = next;
	}
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "tmp_", 4) == 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	(void)closedir(d);
	return n;
}

int
gitpull_rm_signers_files(const char *pluginsdir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	int		 n = 0;

	if ((d = opendir(pluginsdir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, GITPULL_SIGNERS_PREFIX,
		    strlen(GITPULL_SIGNERS_PREFIX)) != 0 ||
		    snprintf(path, sizeof(path), "%s/%s", pluginsdir,
		    de->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) == 0)
			n++;
		else
			log_warn("%s: cannot remove %s", __func__, path);
	}
	(void)closedir(d);
	return n;
}

int
gitpull_rm_all_clones(const char *pluginsdir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 n = 0;

	if ((d = opendir(pluginsdir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!items_path_component_valid(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", pluginsdir,
		    de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		n += gitpull_rm_clones(path, NULL);
	}
	(void)closedir(d);
	return n;
}

void
gitpull_err_tail(const char *err, char *out, size_t len)
{
	struct buf	 b;
	const char	*p, *nl, *start, *end;

	buf_init(&b);
	/* every non-empty line, trimmed, joined with " / " */
	for (p = err; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		start = p;
		end = nl;
		while (start < end && (*start == ' ' || *start == '\t' ||
		    *start == '\r'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\r'))
			end--;
		if (end == start)
			continue;
		if (b.len > 0)
			buf_adds(&b, " / ");
		buf_add(&b, start, (size_t)(end - start));
	}
	if (len == 0)
		goto out;
	if (buf_failed(&b) || b.len == 0)
		out[0] = '\0';
	else if (b.len < len)
		memcpy(out, b.p, b.len + 1);
	else if (len > 4)
		/* the end says what finally failed */
		snprintf(out, len, "...%s", b.p + b.len - (len - 4));
	else
		out[0] = '\0';
out:
	buf_free(&b);
}
