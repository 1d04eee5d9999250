/*
 * What the signature check reads from git (gitpull_verify_parse.c):
 * commit and tag objects as `git cat-file` shows them, hostile ones
 * included; the tags on a commit; git's verdict lines; the file of the
 * lines git gets for one signer.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signers.h"
#include "workers/gitpull/gitpull_cmd.h"
#include "workers/gitpull/gitpull_verify.h"

#define SSHSIG \
	"-----BEGIN SSH SIGNATURE-----\n" \
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgpG9keivAq8C7\n" \
	"-----END SSH SIGNATURE-----\n"

#define KEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKRvZHorwKvAu73n" \
		"bL7qVot1DVxuMHXnf1xH8r4K4wxp"

Test(gitpull_verify, commit_objects)
{
	struct gitpull_object	 o;

	gitpull_verify_parse_commit(
	    "tree 3be22be77da4887e869c981806d8452f034dd014\n"
	    "parent 43bff5099a7d00c8fa2d6f478bab00db0f8527e2\n"
	    "author Ann <ann@example.com> 1796314609 +0000\n"
	    "committer Dev Eloper <dev@example.com> 1796314609 +0000\n"
	    "gpgsig -----BEGIN SSH SIGNATURE-----\n"
	    " U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgpG9keivAq8C7\n"
	    " -----END SSH SIGNATURE-----\n"
	    "\n"
	    "signed\n", 0, &o);
	cr_expect_str_eq(o.email, "dev@example.com");
	cr_expect_eq(o.sig, GITPULL_SIG_SSH);

	gitpull_verify_parse_commit(
	    "tree 3be22be77da4887e869c981806d8452f034dd014\n"
	    "author Ann <ann@example.com> 1796314609 +0000\n"
	    "committer Ann <ann@example.com> 1796314609 +0000\n"
	    "\n"
	    "unsigned, but the message looks like a signature:\n"
	    "gpgsig -----BEGIN SSH SIGNATURE-----\n"
	    "committer Evil <dev@example.com> 1 +0000\n", 0, &o);
	cr_expect_str_eq(o.email, "ann@example.com");
	cr_expect_eq(o.sig, GITPULL_SIG_NONE);

	gitpull_verify_parse_commit(
	    "tree 3be22be77da4887e869c981806d8452f034dd014\n"
	    "committer X <x@y> 1 +0000\n"
	    "gpgsig -----BEGIN PGP SIGNATURE-----\n"
	    " iQIzBAABCAAdFiEE\n"
	    " -----END PGP SIGNATURE-----\n\nm\n", 0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_OPENPGP);
	gitpull_verify_parse_commit("committer X <x@y> 1 +0000\n"
	    "gpgsig -----BEGIN SIGNED MESSAGE-----\n x\n\nm\n", 0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_X509);
	gitpull_verify_parse_commit("committer X <x@y> 1 +0000\n"
	    "gpgsig something else\n\nm\n", 0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_UNKNOWN);

	/* odd identities: git's split (first '<', first '>' after it) */
	gitpull_verify_parse_commit("committer A <b> <c@d> 1 +0000\n\n", 0,
	    &o);
	cr_expect_str_eq(o.email, "b");
	gitpull_verify_parse_commit("committer no brackets 1 +0000\n\n", 0,
	    &o);
	cr_expect_str_eq(o.email, "");
	gitpull_verify_parse_commit("committer A <> 1 +0000\n\n", 0, &o);
	cr_expect_str_eq(o.email, "");
	gitpull_verify_parse_commit("", 0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_NONE);
}

Test(gitpull_verify, long_email_is_cut_not_overflowed)
{
	struct gitpull_object	 o;
	char			 raw[2048];

	memset(raw, 'a', sizeof(raw));
	memcpy(raw, "committer X <", 13);
	memcpy(raw + 1000, "> 1 +0000\n\n", 12);
	gitpull_verify_parse_commit(raw, 0, &o);
	cr_expect_eq(strlen(o.email), sizeof(o.email) - 1);
}

Test(gitpull_verify, tag_objects)
{
	struct gitpull_object	 o;

	gitpull_verify_parse_tag(
	    "object 43bff5099a7d00c8fa2d6f478bab00db0f8527e2\n"
	    "type commit\n"
	    "tag v1\n"
	    "tagger Rel <rel@example.com> 1796314782 +0000\n"
	    "\n"
	    "release 1\n"
	    SSHSIG, 0, &o);
	cr_expect_str_eq(o.object, "43bff5099a7d00c8fa2d6f478bab00db0f8527e2");
	cr_expect_str_eq(o.type, "commit");
	cr_expect_str_eq(o.name, "v1");
	cr_expect_str_eq(o.email, "rel@example.com");
	cr_expect_eq(o.sig, GITPULL_SIG_SSH);

	gitpull_verify_parse_tag(
	    "object 43bff5099a7d00c8fa2d6f478bab00db0f8527e2\n"
	    "type commit\ntag v2\ntagger R <r@e> 1 +0000\n\nno signature\n",
	    0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_NONE);
	/* cut before its end: maybe signed, git decides */
	gitpull_verify_parse_tag(
	    "object 43bff5099a7d00c8fa2d6f478bab00db0f8527e2\n"
	    "type commit\ntag v2\ntagger R <r@e> 1 +0000\n\nlong...", 1, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_UNKNOWN);
	/* the first block git knows is the signature */
	gitpull_verify_parse_tag("object x\ntype commit\ntag v3\n\nm\n"
	    "-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"
	    SSHSIG, 0, &o);
	cr_expect_eq(o.sig, GITPULL_SIG_OPENPGP);
	/* a header spelled in the message is not one */
	gitpull_verify_parse_tag("object a\ntype tree\ntag t\n\n"
	    "type commit\nobject b\n", 0, &o);
	cr_expect_str_eq(o.type, "tree");
	cr_expect_str_eq(o.object, "a");
}

Test(gitpull_verify, tags_on_a_commit)
{
	struct gitpull_tag	 t[3];
	size_t			 n, light;

	n = gitpull_verify_parse_tags(
	    "43bff5099a7d00c8fa2d6f478bab00db0f8527e2 commit light\n"
	    "14f8e957048882d7de6021b700fb55eac5be8d57 tag v1\n"
	    "24f8e957048882d7de6021b700fb55eac5be8d57 tag release/2024 x\n"
	    "garbage line\n"
	    "34f8e957048882d7de6021b700fb55eac5be8d57 tag\n"
	    "44f8e957048882d7de6021b700fb55eac5be8d57 tag c\n"
	    "54f8e957048882d7de6021b700fb55eac5be8d57 tag d\n", t, 3, &light);
	cr_assert_eq(n, 3);
	cr_expect_eq(light, 1);
	cr_expect_str_eq(t[0].object,
	    "14f8e957048882d7de6021b700fb55eac5be8d57");
	cr_expect_str_eq(t[0].name, "v1");
	cr_expect_str_eq(t[1].name, "release/2024 x");
	cr_expect_str_eq(t[2].name, "c");	/* then full */
	n = gitpull_verify_parse_tags("", t, 3, &light);
	cr_expect_eq(n, 0);
	cr_expect_eq(light, 0);
}

Test(gitpull_verify, git_verdicts)
{
	char	 s[256], k[128];

	cr_assert_eq(gitpull_verify_good("Good \"git\" signature for "
	    "dev@example.com with ED25519 key SHA256:VXbX+i57duOi++pAMA9llqqn"
	    "P4a/pC0YVCN/5/ojH6w\n", s, sizeof(s)), 0);
	cr_expect_str_eq(s, "dev@example.com (ED25519 key SHA256:VXbX+i57duOi"
	    "++pAMA9llqqnP4a/pC0YVCN/5/ojH6w)");
	/* a principal that says "with" itself: the last one counts */
	cr_assert_eq(gitpull_verify_good("x\nGood \"git\" signature for a with "
	    "b with RSA key SHA256:z\n", s, sizeof(s)), 0);
	cr_expect_str_eq(s, "a with b (RSA key SHA256:z)");
	/* no principal matched: the key, and no good verdict */
	cr_expect_eq(gitpull_verify_good("Good \"git\" signature with ED25519 "
	    "key SHA256:VvHP\nNo principal matched.\n", s, sizeof(s)), -1);
	gitpull_verify_key("Good \"git\" signature with ED25519 key "
	    "SHA256:VvHP\nNo principal matched.\n", k, sizeof(k));
	cr_expect_str_eq(k, "ED25519 key SHA256:VvHP");
	gitpull_verify_key("error: no signature found\n", k, sizeof(k));
	cr_expect_str_eq(k, "");
	cr_expect_eq(gitpull_verify_good("", s, sizeof(s)), -1);
	cr_expect_eq(gitpull_verify_good("Good \"git\" signature for x\n", s,
	    sizeof(s)), -1);
	/* control bytes never reach a message */
	cr_assert_eq(gitpull_verify_good("Good \"git\" signature for a\033[31m "
	    "with K key F\n", s, sizeof(s)), 0);
	cr_expect_str_eq(s, "a?[31m (K key F)");
	gitpull_verify_printable("\x01\x7f\xff" "ok", s, 4);
	cr_expect_str_eq(s, "???");
}

Test(gitpull_verify, signers_file_for_one_signer)
{
	struct signers		 s;
	struct signers_pick	 pick;
	struct stat		 st;
	char			 d[] = "/tmp/gitpull-verify-XXXXXX";
	char			 path[PATH_MAX], err[256], buf[512];
	FILE			*fp;
	size_t			 n;

	cr_assert_not_null(mkdtemp(d));
	cr_assert_eq(signers_parse(&s, "dev@example.com " KEY "\n"
	    "ops@example.com " KEY " second\n"
	    "old@example.com valid-before=\"20200101Z\" " KEY "\n", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(gitpull_verify_write_signers(&s, "ops@example.com",
	    time(NULL), d, path, sizeof(path), &pick, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(pick.picked, 1);
	cr_assert_eq(strncmp(path, d, strlen(d)), 0);
	cr_assert(strstr(path, "/" GITPULL_SIGNERS_PREFIX) != NULL, "%s",
	    path);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
	cr_assert_not_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_expect_str_eq(buf, "ops@example.com " KEY " second\n");
	cr_assert_eq(unlink(path), 0);

	/* nobody for that e-mail, or only expired lines: no file */
	cr_assert_eq(gitpull_verify_write_signers(&s, "x@y", time(NULL), d,
	    path, sizeof(path), &pick, err, sizeof(err)), 0);
	cr_expect_eq(pick.admitting, 0);
	cr_expect_str_eq(path, "");
	cr_assert_eq(gitpull_verify_write_signers(&s, "old@example.com",
	    time(NULL), d, path, sizeof(path), &pick, err, sizeof(err)), 0);
	cr_expect_eq(pick.admitting, 1);
	cr_expect_eq(pick.out_of_time, 1);
	cr_expect_str_eq(path, "");

	/* a directory it cannot write in */
	cr_assert_eq(gitpull_verify_write_signers(&s, "dev@example.com",
	    time(NULL), "/nonexistent-xq", path, sizeof(path), &pick, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "/nonexistent-xq/") != NULL, "%s", err);
	cr_expect_str_eq(path, "");
	signers_free(&s);
	cr_assert_eq(rmdir(d), 0);
}
