/*
 * What the signature check reads from git: commit and tag objects, the
 * tags on a commit, git's verdict line; and the file of the allowed
 * signers git gets for one check.  See gitpull_verify.h.  Everything
 * here comes from a repository that may be hostile: it is only looked
 * at, bounded, and never decides on its own that a signature is good.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "gitpull_verify.h"
#include "util.h"

/* The first line of a signature block says its kind (git's own list). */
static enum gitpull_sig
sig_kind(const char *line)
{
	if (strncmp(line, "-----BEGIN SSH SIGNATURE-----", 29) == 0)
		return GITPULL_SIG_SSH;
	if (strncmp(line, "-----BEGIN PGP SIGNATURE-----", 29) == 0 ||
	    strncmp(line, "-----BEGIN PGP MESSAGE-----", 27) == 0)
		return GITPULL_SIG_OPENPGP;
	if (strncmp(line, "-----BEGIN SIGNED MESSAGE-----", 30) == 0)
		return GITPULL_SIG_X509;
	return GITPULL_SIG_NONE;
}

const char *
gitpull_verify_sig_name(enum gitpull_sig s)
{
	switch (s) {
	case GITPULL_SIG_NONE:
		return "none";
	case GITPULL_SIG_SSH:
		return "SSH";
	case GITPULL_SIG_OPENPGP:
		return "OpenPGP";
	case GITPULL_SIG_X509:
		return "X.509";
	case GITPULL_SIG_UNKNOWN:
		break;
	}
	return "unknown";
}

/* The e-mail of "Name <email> time zone", as git splits it. */
static void
ident_email(const char *p, const char *end, char *out, size_t len)
{
	const char	*lt, *gt;
	size_t		 n;

	out[0] = '\0';
	if ((lt = memchr(p, '<', (size_t)(end - p))) == NULL ||
	    (gt = memchr(lt, '>', (size_t)(end - lt))) == NULL)
		return;
	n = (size_t)(gt - lt - 1);
	if (n >= len)
		n = len - 1;
	memcpy(out, lt + 1, n);
	out[n] = '\0';
}

/* Value of a header line "key value" into out, cut to fit. */
static int
header(const char *p, const char *end, const char *key, char *out,
    size_t len)
{
	size_t	 k = strlen(key), n;

	if ((size_t)(end - p) <= k || strncmp(p, key, k) != 0 || p[k] != ' ')
		return 0;
	p += k + 1;
	n = (size_t)(end - p);
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

/* Each header line of `raw` (up to the blank line) to `fn`. */
static const char *
headers(const char *raw, void (*fn)(const char *, const char *, void *),
    void *arg)
{
	const char	*p = raw, *nl;

	while (*p != '\0') {
		nl = strchrnul(p, '\n');
		if (nl == p)
			return *nl == '\n' ? nl + 1 : nl;	/* the body */
		fn(p, nl, arg);
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return p;
}

static void
commit_header(const char *p, const char *end, void *arg)
{
	struct gitpull_object	*o = arg;
	char			 v[64];

	if (end - p > 10 && strncmp(p, "committer ", 10) == 0)
		ident_email(p, end, o->email, sizeof(o->email));
	else if (header(p, end, "gpgsig", v, sizeof(v)) ||
	    header(p, end, "gpgsig-sha256", v, sizeof(v))) {
		if (o->sig == GITPULL_SIG_NONE &&
		    (o->sig = sig_kind(v)) == GITPULL_SIG_NONE)
			o->sig = GITPULL_SIG_UNKNOWN;
	}
}

void
gitpull_verify_parse_commit(const char *raw, int truncated,
    struct gitpull_object *o)
{
	memset(o, 0, sizeof(*o));
	/* the headers come first: a cut-off message loses nothing here */
	(void)headers(raw, commit_header, o);
}

static void
tag_header(const char *p, const char *end, void *arg)
{
	struct gitpull_object	*o = arg;

	if (end - p > 7 && strncmp(p, "tagger ", 7) == 0)
		ident_email(p, end, o->email, sizeof(o->email));
	else if (!header(p, end, "object", o->object, sizeof(o->object)) &&
	    !header(p, end, "type", o->type, sizeof(o->type)))
		(void)header(p, end, "tag", o->name, sizeof(o->name));
}

void
gitpull_verify_parse_tag(const char *raw, int truncated,
    struct gitpull_object *o)
{
	const char	*p, *nl;
	enum gitpull_sig k;

	memset(o, 0, sizeof(*o));
	/* the signature is the first block of the message git knows */
	for (p = headers(raw, tag_header, o); *p != '\0';
	    p = *nl == '\n' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if ((k = sig_kind(p)) != GITPULL_SIG_NONE) {
			o->sig = k;
			return;
		}
	}
	if (truncated)
		o->sig = GITPULL_SIG_UNKNOWN;
}

static int
is_hex40(const char *p)
{
	return strspn(p, "0123456789abcdef") == 40;
}

size_t
gitpull_verify_parse_tags(const char *out, struct gitpull_tag *v,
    size_t max, size_t *light)
{
	const char	*p, *nl, *type, *name;
	size_t		 n = 0, len;

	*light = 0;
	for (p = out; *p != '\0'; p = *nl == '\n' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (nl - p < 42 || !is_hex40(p) || p[40] != ' ')
			continue;
		type = p + 41;
		if ((name = memchr(type, ' ', (size_t)(nl - type))) == NULL ||
		    ++name == nl)
			continue;
		if (strncmp(type, "tag ", 4) != 0) {
			(*light)++;
			continue;
		}
		if (n == max)
			continue;
		memcpy(v[n].object, p, 40);
		v[n].object[40] = '\0';
		len = (size_t)(nl - name);
		if (len >= sizeof(v[n].name))
			len = sizeof(v[n].name) - 1;
		memcpy(v[n].name, name, len);
		v[n].name[len] = '\0';
		n++;
	}
	return n;
}

#define GOOD	"Good \"git\" signature"

/* The line of git's verdict, its end, and its last " with ". */
static const char *
good_line(const char *out, const char **end, const char **with)
{
	const char	*p, *nl, *w;

	for (p = out; *p != '\0'; p = *nl == '\n' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (strncmp(p, GOOD, strlen(GOOD)) != 0)
			continue;
		*with = NULL;
		for (w = p; (w = strstr(w, " with ")) != NULL && w < nl; w++)
			*with = w;
		if (*with == NULL)
			continue;
		*end = nl;
		return p;
	}
	return NULL;
}

int
gitpull_verify_good(const char *out, char *signer, size_t len)
{
	const char	*p, *end, *with, *who;
	char		 raw[512];

	if ((p = good_line(out, &end, &with)) == NULL)
		return -1;
	who = p + strlen(GOOD);
	if (strncmp(who, " for ", 5) != 0 || who + 5 >= with)
		return -1;
	who += 5;
	snprintf(raw, sizeof(raw), "%.*s (%.*s)", (int)(with - who), who,
	    (int)(end - with - 6), with + 6);
	gitpull_verify_printable(raw, signer, len);
	return 0;
}

void
gitpull_verify_key(const char *out, char *key, size_t len)
{
	const char	*end, *with;
	char		 raw[256];

	key[0] = '\0';
	if (good_line(out, &end, &with) == NULL)
		return;
	snprintf(raw, sizeof(raw), "%.*s", (int)(end - with - 6), with + 6);
	gitpull_verify_printable(raw, key, len);
}

void
gitpull_verify_printable(const char *in, char *out, size_t len)
{
	size_t	 i;

	if (len == 0)
		return;
	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		out[i] = (unsigned char)in[i] >= ' ' &&
		    (unsigned char)in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

int
gitpull_verify_write_signers(const struct signers *s, const char *email,
    time_t now, const char *dir, char *path, size_t pathlen,
    struct signers_pick *pick, char *err, size_t errlen)
{
	struct buf	 b;
	int		 fd = -1, rv = -1, made = 0;

	path[0] = '\0';
	buf_init(&b);
	signers_pick(s, email, now, &b, pick);
	if (buf_failed(&b)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pick->picked == 0) {
		rv = 0;
		goto out;
	}
	if ((size_t)snprintf(path, pathlen, "%s/%sXXXXXX", dir,
	    GITPULL_SIGNERS_PREFIX) >= pathlen) {
		snprintf(err, errlen, "%s: path too long", dir);
		goto out;
	}
	/* mkstemp: 0600, ours alone; git runs as the same user */
	if ((fd = mkstemp(path)) != -1)
		made = 1;
	if (fd == -1 || util_write_all(fd, b.p, b.len) == -1) {
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	rv = 0;
out:
	if (fd != -1)
		(void)close(fd);
	if (rv == -1 && made)
		(void)unlink(path);
	if (rv == -1)
		path[0] = '\0';
	buf_free(&b);
	return rv;
}
