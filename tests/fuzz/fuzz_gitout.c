/*
 * libFuzzer target for what the gitpull worker reads from git's output
 * (src/workers/gitpull/): the sizes ls-tree prints, rev-parse's commit
 * id and the origin's URL (gitpull_parse.c); the signature check's
 * readers of commit and tag objects, of the tags on a commit and of
 * git's verdict on a signature, and the printable copy every quoted
 * byte goes through (gitpull_verify_parse.c).  The repository, and the
 * server it came from, may be hostile.
 *
 * Input: byte 0 picks the parser (modulo their number, 8: the seeds
 * start with the digits '0' to '7'), the rest is git's output, given as
 * a malloc'd NUL-terminated copy of exactly those bytes so that ASan
 * sees a read past it.  These parsers take C strings, as gitpull_exec
 * hands them over: an embedded NUL ends the text early, and the checks
 * below look at the text up to it.
 *
 * Besides "no crash, no read past the text": what each header
 * (gitpull_parse.h, gitpull_verify.h) promises, checked against what the
 * target works out on its own where that is short enough to be sure of.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workers/gitpull/gitpull_parse.h"
#include "workers/gitpull/gitpull_verify.h"

#include "fuzz_common.h"

#define HEX		"0123456789abcdef"
#define GOOD		"Good \"git\" signature"
/* what gitpull_op.c compares the origin with: one fixed URL */
#define URL		"https://git.example.com/grp/proj.git"

/* The sizes the callers use (gitpull_op.c, gitpull_verify.c). */
#define SIGNER_LEN	256
#define KEY_LEN		128

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_log();
	return 0;
}

/* `len` bytes, uninitialised to ASan's eye past them, filled with 'x'. */
static char *
fuzz_buf(size_t len)
{
	char	*b;

	if ((b = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memset(b, 'x', len > 0 ? len : 1);
	return b;
}

/* Terminated within its `len` bytes, and nothing below ' ' or DEL. */
static int
printable_ok(const char *s, size_t len)
{
	size_t	 i;

	if (memchr(s, '\0', len) == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
is_digits(const char *p, const char *end)
{
	if (p == end)
		return 0;
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* `in` printed into `len` bytes: exactly the prefix that fits, each byte
 * kept when printable ASCII, '?' else. */
static void
check_printable(const char *in, size_t len)
{
	char	*out = fuzz_buf(len);
	size_t	 i, n = strlen(in);

	gitpull_verify_printable(in, out, len);
	if (len == 0) {
		FUZZ_ASSERT(out[0] == 'x', "written with no room");
		free(out);
		return;
	}
	if (n > len - 1)
		n = len - 1;
	FUZZ_ASSERT(printable_ok(out, len), "len %zu", len);
	FUZZ_ASSERT(strlen(out) == n, "%zu bytes of %zu", strlen(out), n);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(out[i] == ((unsigned char)in[i] >= 0x20 &&
		    (unsigned char)in[i] < 0x7f ? in[i] : '?'), "byte %zu", i);
	free(out);
}

static void
p_printable(const char *t, size_t len)
{
	check_printable(t, 0);
	check_printable(t, 1);
	/* the quotes of gitpull_op.c's errors */
	check_printable(t, 41);
	check_printable(t, 81);
	check_printable(t, len);
	check_printable(t, len + 1);
	check_printable(t, len + 2);
}

/*
 * The lines of `git ls-tree -r --format=%(objectsize)`: the sum, worked
 * out here digit by digit with saturation, or the first line that is
 * neither digits nor "-" (or has no newline).
 */
static void
p_tree_size(const char *t, size_t len)
{
	const char	*p, *nl, *q, *bad = NULL, *want_bad = NULL;
	int64_t		 size = -1, want = 0, v;
	int		 rv;

	for (p = t; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL ||
		    !((nl - p == 1 && *p == '-') || is_digits(p, nl))) {
			want_bad = p;
			break;
		}
		v = 0;
		if (*p != '-')
			for (q = p; q < nl; q++)
				v = v > (INT64_MAX - (*q - '0')) / 10 ?
				    INT64_MAX : v * 10 + (*q - '0');
		/* on disk: whole 4 KiB blocks, one at least (a submodule's
		 * empty directory too) */
		v = v > INT64_MAX - 4095 ? INT64_MAX : (v + 4095) / 4096 * 4096;
		if (v < 4096)
			v = 4096;
		want = v > INT64_MAX - want ? INT64_MAX : want + v;
	}
	rv = gitpull_parse_tree_size(t, &size, &bad);
	if (want_bad == NULL) {
		FUZZ_ASSERT(rv == 0, "refused at %td", bad - t);
		FUZZ_ASSERT(size >= 0 && size == want, "%lld, not %lld",
		    (long long)size, (long long)want);
		return;
	}
	FUZZ_ASSERT(rv == -1, "read, bad at %td", want_bad - t);
	FUZZ_ASSERT(bad == want_bad, "bad at %td, not %td", bad - t,
	    want_bad - t);
	/* what gitpull_op.c quotes of it */
	check_printable(bad, 41);
}

/* rev-parse: 40 lowercase hex digits, then '\n' or the end. */
static void
p_commit(const char *t, size_t len)
{
	static const size_t	 lens[] = { 40, 41, 64 };
	size_t			 i, k;
	char			*c;
	int			 want, rv;

	want = len >= 40 && (t[40] == '\n' || t[40] == '\0');
	for (i = 0; want && i < 40; i++)
		want = strchr(HEX, t[i]) != NULL && t[i] != '\0';
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		c = fuzz_buf(lens[k]);
		rv = gitpull_parse_commit(t, c, lens[k]);
		if (!want || lens[k] <= 40) {
			FUZZ_ASSERT(rv == -1, "read into %zu bytes", lens[k]);
			free(c);
			continue;
		}
		FUZZ_ASSERT(rv == 0, "refused");
		FUZZ_ASSERT(c[40] == '\0' && strspn(c, HEX) == 40 &&
		    memcmp(c, t, 40) == 0, "not the id");
		free(c);
	}
}

/* git config --get: the URL and a newline, nothing else. */
static void
p_origin(const char *t, size_t len)
{
	size_t	 n = strlen(URL);

	FUZZ_ASSERT(gitpull_parse_origin_is(t, URL) == (len == n + 1 &&
	    memcmp(t, URL, n) == 0 && t[n] == '\n'), "URL");
	FUZZ_ASSERT(gitpull_parse_origin_is(t, "") == (len == 1 &&
	    t[0] == '\n'), "empty URL");
}

/* Where the headers of an object end: the blank line, or the end. */
static size_t
headers_end(const char *t, size_t len)
{
	const char	*q;

	if (t[0] == '\n')
		return 0;
	if ((q = strstr(t, "\n\n")) != NULL)
		return (size_t)(q - t) + 1;
	return len;
}

/* A field of the object: terminated, one line, of the headers. */
static void
check_field(const char *f, size_t size, const char *t, size_t hend,
    const char *what)
{
	FUZZ_ASSERT(memchr(f, '\0', size) != NULL, "%s not terminated",
	    what);
	FUZZ_ASSERT(strchr(f, '\n') == NULL, "%s: a newline", what);
	FUZZ_ASSERT(f[0] == '\0' || memmem(t, hend, f, strlen(f)) != NULL,
	    "%s \"%s\" is not in the headers", what, f);
}

static void
check_object(const struct gitpull_object *o, const char *t, size_t hend)
{
	FUZZ_ASSERT(o->sig >= GITPULL_SIG_NONE &&
	    o->sig <= GITPULL_SIG_UNKNOWN, "sig %d", (int)o->sig);
	check_field(o->email, sizeof(o->email), t, hend, "email");
	FUZZ_ASSERT(strchr(o->email, '>') == NULL, "email \"%s\"", o->email);
	check_field(o->object, sizeof(o->object), t, hend, "object");
	check_field(o->type, sizeof(o->type), t, hend, "type");
	check_field(o->name, sizeof(o->name), t, hend, "name");
}

/* `git cat-file commit`: the signature is a header, never the message. */
static void
p_vcommit(const char *t, size_t len)
{
	struct gitpull_object	 o;
	size_t			 hend = headers_end(t, len);
	int			 truncated;

	for (truncated = 0; truncated <= 1; truncated++) {
		gitpull_verify_parse_commit(t, truncated, &o);
		check_object(&o, t, hend);
		FUZZ_ASSERT(o.object[0] == '\0' && o.type[0] == '\0' &&
		    o.name[0] == '\0', "a tag's field in a commit");
		FUZZ_ASSERT(o.sig == GITPULL_SIG_NONE ||
		    memmem(t, hend, "gpgsig", 6) != NULL,
		    "signed, no gpgsig header");
		FUZZ_ASSERT(o.sig != GITPULL_SIG_SSH || memmem(t, hend,
		    "-----BEGIN SSH SIGNATURE-----", 29) != NULL, "SSH");
		FUZZ_ASSERT(o.sig != GITPULL_SIG_OPENPGP || memmem(t, hend,
		    "-----BEGIN PGP ", 15) != NULL, "OpenPGP");
		FUZZ_ASSERT(o.sig != GITPULL_SIG_X509 || memmem(t, hend,
		    "-----BEGIN SIGNED MESSAGE-----", 30) != NULL, "X.509");
	}
}

/*
 * `git cat-file tag`: the signature is in the message; cut off, one may
 * be past the end, so "none" becomes "unknown" and nothing else changes.
 */
static void
p_vtag(const char *t, size_t len)
{
	struct gitpull_object	 o, ot;
	size_t			 hend = headers_end(t, len);

	gitpull_verify_parse_tag(t, 0, &o);
	gitpull_verify_parse_tag(t, 1, &ot);
	check_object(&o, t, hend);
	check_object(&ot, t, hend);
	FUZZ_ASSERT(o.sig == GITPULL_SIG_NONE ||
	    memmem(t + hend, len - hend, "-----BEGIN ", 11) != NULL,
	    "signed, no signature block in the message");
	FUZZ_ASSERT(ot.sig == (o.sig == GITPULL_SIG_NONE ?
	    GITPULL_SIG_UNKNOWN : o.sig), "cut: %d, whole: %d", (int)ot.sig,
	    (int)o.sig);
	FUZZ_ASSERT(strcmp(o.email, ot.email) == 0 &&
	    strcmp(o.object, ot.object) == 0 &&
	    strcmp(o.type, ot.type) == 0 && strcmp(o.name, ot.name) == 0,
	    "the cut changed a header");
}

/*
 * `for-each-ref --format='%(objectname) %(objecttype) %(refname:...)'`:
 * worked out here line by line, the annotated tags ("tag" lines) in
 * order and the count of the others; then read into arrays of exactly
 * `max` entries (ASan sees a write past), for several `max`.
 */
static void
p_vtags(const char *t, size_t len)
{
	static const size_t	 maxes[] = { 0, 1, GITPULL_VERIFY_TAGS_MAX };
	struct gitpull_tag	*v;
	const char		*p, *nl, *sp, *want[GITPULL_VERIFY_TAGS_MAX];
	size_t			 wlen[GITPULL_VERIFY_TAGS_MAX];
	size_t			 k, i, n, light, annotated = 0, others = 0;

	for (p = t; *p != '\0'; p = *nl == '\n' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (nl - p < 42 || strspn(p, HEX) != 40 || p[40] != ' ')
			continue;
		/* the name: after the first space after the type */
		if ((sp = memchr(p + 41, ' ', (size_t)(nl - p - 41))) ==
		    NULL || sp + 1 == nl)
			continue;
		if (sp != p + 44 || memcmp(p + 41, "tag", 3) != 0) {
			others++;
			continue;
		}
		if (annotated < GITPULL_VERIFY_TAGS_MAX) {
			want[annotated] = p;
			wlen[annotated] = (size_t)(nl - sp - 1);
		}
		annotated++;
	}
	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		v = (struct gitpull_tag *)fuzz_buf(maxes[k] * sizeof(*v));
		light = (size_t)-1;
		n = gitpull_verify_parse_tags(t, v, maxes[k], &light);
		FUZZ_ASSERT(n <= maxes[k], "%zu tags in %zu", n, maxes[k]);
		FUZZ_ASSERT(n == (annotated < maxes[k] ? annotated :
		    maxes[k]), "%zu tags, not %zu", n, annotated);
		FUZZ_ASSERT(light == others, "%zu lightweight, not %zu",
		    light, others);
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(memchr(v[i].object, '\0',
			    sizeof(v[i].object)) != NULL &&
			    strlen(v[i].object) == 40 &&
			    strspn(v[i].object, HEX) == 40 &&
			    memcmp(v[i].object, want[i], 40) == 0,
			    "tag %zu: object", i);
			FUZZ_ASSERT(memchr(v[i].name, '\0',
			    sizeof(v[i].name)) != NULL, "tag %zu: name", i);
			FUZZ_ASSERT(v[i].name[0] != '\0' &&
			    strlen(v[i].name) == (wlen[i] <
			    sizeof(v[i].name) ? wlen[i] :
			    sizeof(v[i].name) - 1) &&
			    memcmp(v[i].name, want[i] + 45,
			    strlen(v[i].name)) == 0, "tag %zu: name \"%s\"", i,
			    v[i].name);
		}
		free(v);
	}
}

/*
 * git's verdict (verify-commit's, verify-tag's standard error): the
 * signer, "P (T key FP)", and the key, "T key FP", printable and
 * terminated in the callers' buffers and in small ones, the one a
 * prefix of the other; whole, the signer ends in the key.
 */
static void
p_verdict(const char *t, size_t len)
{
	char	*s, *s8, *k, *k8;
	int	 rv, rv8;
	size_t	 sl, kl;

	s = fuzz_buf(SIGNER_LEN);
	s8 = fuzz_buf(8);
	k = fuzz_buf(KEY_LEN);
	k8 = fuzz_buf(8);
	rv = gitpull_verify_good(t, s, SIGNER_LEN);
	rv8 = gitpull_verify_good(t, s8, 8);
	gitpull_verify_key(t, k, KEY_LEN);
	gitpull_verify_key(t, k8, 8);
	FUZZ_ASSERT(rv == 0 || rv == -1, "%d", rv);
	FUZZ_ASSERT(rv == rv8, "the buffer's size decided");
	FUZZ_ASSERT(printable_ok(k, KEY_LEN) && printable_ok(k8, 8), "key");
	kl = strlen(k);
	FUZZ_ASSERT(strncmp(k8, k, 7) == 0 && strlen(k8) == (kl < 7 ? kl : 7),
	    "the short key is not the key's start");
	FUZZ_ASSERT(k[0] == '\0' || strstr(t, GOOD) != NULL,
	    "a key without a good verdict line");
	if (rv == 0) {
		FUZZ_ASSERT(printable_ok(s, SIGNER_LEN) && printable_ok(s8, 8),
		    "signer");
		sl = strlen(s);
		FUZZ_ASSERT(strncmp(s8, s, 7) == 0 &&
		    strlen(s8) == (sl < 7 ? sl : 7),
		    "the short signer is not the signer's start");
		FUZZ_ASSERT(strstr(t, GOOD " for ") != NULL &&
		    strstr(t, " with ") != NULL, "signer from nowhere");
		/* neither cut: "P (" key ")" */
		if (sl < SIGNER_LEN - 1 && kl < KEY_LEN - 1)
			FUZZ_ASSERT(sl >= kl + 4 && s[sl - 1] == ')' &&
			    memcmp(s + sl - kl - 3, " (", 2) == 0 &&
			    memcmp(s + sl - kl - 1, k, kl) == 0,
			    "signer \"%s\", key \"%s\"", s, k);
	}
	free(s);
	free(s8);
	free(k);
	free(k8);
}

static void (*const parsers[])(const char *, size_t) = {
	p_tree_size,	/* '0' */
	p_commit,	/* '1' */
	p_origin,	/* '2' */
	p_vcommit,	/* '3' */
	p_vtag,		/* '4' */
	p_vtags,	/* '5' */
	p_verdict,	/* '6' */
	p_printable,	/* '7' */
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*t;

	if (size < 1)
		return 0;
	/* exactly the bytes and a NUL: a read past them is ASan's */
	if ((t = malloc(size)) == NULL)
		return 0;
	memcpy(t, data + 1, size - 1);
	t[size - 1] = '\0';
	parsers[data[0] % (sizeof(parsers) / sizeof(parsers[0]))](t,
	    strlen(t));
	free(t);
	return 0;
}
