/*
 * Allowed-signers files as ssh-keygen(1) reads them: the line syntax,
 * errors naming the line, ssh's pattern lists, timestamps, and the pick
 * of the lines that admit one e-mail now.  Checked against ssh-keygen
 * itself where it can say (find-principals).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "signers.h"

#define KEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKRvZHorwKvAu73n" \
		"bL7qVot1DVxuMHXnf1xH8r4K4wxp"
#define KEY2	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKkVxBbOrWCZTtBg" \
		"n5I7wkcFmf8Q/w1kFn89aGCle1WA"

static void
parse_ok(struct signers *s, const char *text)
{
	char	 err[256];

	cr_assert_eq(signers_parse(s, text, err, sizeof(err)), 0, "%s: %s",
	    text, err);
}

static void
parse_bad(const char *text, const char *want)
{
	struct signers	 s;
	char		 err[256];

	err[0] = '\0';
	cr_assert_eq(signers_parse(&s, text, err, sizeof(err)), -1, "%s",
	    text);
	cr_expect(strstr(err, want) != NULL, "\"%s\": \"%s\" lacks \"%s\"",
	    text, err, want);
}

Test(signers, lines_as_ssh_keygen_reads_them)
{
	struct signers	 s;

	parse_ok(&s, "# who may sign plugins\n"
	    "\n"
	    "dev@example.com " KEY " dev laptop\n"
	    "  \"ops@example.com,*@ci.example\"\t" KEY2 "\n"
	    "rel@example.com namespaces=\"git\",valid-after=\"20200101\","
	    "VALID-BEFORE=\"203001010000Z\" " KEY "\n"
	    "ca@example.com cert-authority,namespaces=\"git,file\" " KEY2);
	cr_assert_eq(s.n, 4);
	cr_expect_eq(s.v[0].lineno, 3);
	cr_expect_str_eq(s.v[0].principals, "dev@example.com");
	cr_expect_eq(s.v[0].valid_after, 0);
	cr_expect_eq(s.v[0].valid_before, 0);
	cr_expect_eq(strncmp(s.v[0].text, "dev@example.com ssh-ed25519", 27),
	    0);
	cr_expect_eq(s.v[0].len, strlen("dev@example.com " KEY " dev laptop"));
	cr_expect_str_eq(s.v[1].principals, "ops@example.com,*@ci.example");
	cr_expect_eq(s.v[2].valid_before, 1893456000);	/* 2030-01-01 UTC */
	cr_expect_gt(s.v[2].valid_after, 0);
	cr_expect_str_eq(s.v[3].principals, "ca@example.com");
	cr_expect_eq(s.v[3].lineno, 6);
	signers_free(&s);

	/* nothing at all is a file that trusts nobody */
	parse_ok(&s, "");
	cr_expect_eq(s.n, 0);
	signers_free(&s);
	parse_ok(&s, "# none yet\n\n");
	cr_expect_eq(s.n, 0);
	signers_free(&s);
}

Test(signers, errors_name_the_line)
{
	parse_bad("a@b " KEY "\nbogus line here\n",
	    "line 2: unknown option \"line\"");
	parse_bad("a@b namespaces=\"git\" AAAAC3Nz\n", "line 1: no key type");
	parse_bad("a@b\n", "line 1: no key after the principals");
	parse_bad("\"a@b " KEY "\n", "line 1: principals: no closing quote");
	parse_bad("\"a@b\"x " KEY "\n", "blank expected");
	parse_bad("a@b valid-before=20300101 " KEY "\n",
	    "valid-before: the value must be in double quotes");
	parse_bad("a@b valid-before=\"2030010100\" " KEY "\n",
	    "not YYYYMMDD[HHMM[SS]][Z]");
	parse_bad("a@b valid-before=\"20301301\" " KEY "\n", "not YYYYMMDD");
	parse_bad("a@b no-touch-required " KEY "\n",
	    "unknown option \"no-touch-required\"");
	parse_bad("a@b namespaces=\"git " KEY "\n", "no closing quote");
	parse_bad("a@b cert-authority=\"x\" " KEY "\n", "takes no value");
	parse_bad("a@b namespaces=\"git\",,x " KEY "\n", "line 1:");
	parse_bad("a@b ssh-ed25519 !!!\n", "not base64");
	parse_bad("a@b ssh-ed25519\n", "not base64");
	parse_bad("a@b valid-after=\"20300101\",valid-before=\"20200101\" " KEY
	    "\n", "valid-after is later than valid-before");
	parse_bad("a@b " KEY "\r\n", "line 1: control character 0x0d");
}

Test(signers, patterns_as_ssh)
{
	cr_expect_eq(signers_match("dev@example.com", "dev@example.com"), 1);
	cr_expect_eq(signers_match("dev@example.com", "*@example.com"), 1);
	cr_expect_eq(signers_match("dev@example.com", "d?v@*"), 1);
	cr_expect_eq(signers_match("dev@example.com", "*"), 1);
	cr_expect_eq(signers_match("", "*"), 1);
	cr_expect_eq(signers_match("dev@example.com", "Dev@example.com"), 0);
	cr_expect_eq(signers_match("dev@example.com", "dev@example.co"), 0);
	cr_expect_eq(signers_match("dev@example.comx", "*@example.com"), 0);
	cr_expect_eq(signers_match("a", "?"), 1);
	cr_expect_eq(signers_match("", "?"), 0);
	cr_expect_eq(signers_match("abcabcabd", "*abc*abd"), 1);
	/* one backtrack point: no exponential time on a hostile e-mail */
	cr_expect_eq(signers_match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	    "*a*a*a*a*a*a*a*a*a*a*a*a*a*ac"), 0);

	cr_expect_eq(signers_match_list("dev@example.com",
	    "ops@example.com,*@example.com"), 1);
	cr_expect_eq(signers_match_list("evil@example.com",
	    "*@example.com,!evil@example.com"), -1);
	cr_expect_eq(signers_match_list("evil@example.com",
	    "!evil@example.com,*@example.com"), -1);
	cr_expect_eq(signers_match_list("dev@example.com",
	    "!evil@example.com"), 0);
	cr_expect_eq(signers_match_list("dev@other", "*@example.com"), 0);
	cr_expect_eq(signers_match_list("x", ""), 0);
}

Test(signers, timestamps)
{
	int64_t	 t;

	cr_assert_eq(signers_time_parse("20300101Z", &t), 0);
	cr_expect_eq(t, 1893456000);
	cr_assert_eq(signers_time_parse("20300101UTC", &t), 0);
	cr_expect_eq(t, 1893456000);
	cr_assert_eq(signers_time_parse("203001010130z", &t), 0);
	cr_expect_eq(t, 1893456000 + 5400);
	cr_assert_eq(signers_time_parse("20300101013007Z", &t), 0);
	cr_expect_eq(t, 1893456000 + 5407);
	/* local time: whatever the zone, within a day of UTC's */
	cr_assert_eq(signers_time_parse("20300101", &t), 0);
	cr_expect(t > 1893456000 - 86400 && t < 1893456000 + 86400);
	cr_expect_eq(signers_time_parse("2030010", &t), -1);
	cr_expect_eq(signers_time_parse("2030010100", &t), -1);
	cr_expect_eq(signers_time_parse("2030-01-01", &t), -1);
	cr_expect_eq(signers_time_parse("20300100Z", &t), -1);
	cr_expect_eq(signers_time_parse("20300101246000Z", &t), -1);
	cr_expect_eq(signers_time_parse("Z", &t), -1);
	cr_expect_eq(signers_time_parse("", &t), -1);
}

Test(signers, pick_by_email_and_time)
{
	struct signers		 s;
	struct signers_pick	 p;
	struct buf		 b;
	time_t			 now = 1893456000;	/* 2030-01-01 */

	parse_ok(&s,
	    "dev@example.com " KEY "\n"
	    "*@example.com,!evil@example.com " KEY2 "\n"
	    "old@example.com valid-before=\"20250101Z\" " KEY "\n"
	    "new@example.com valid-after=\"20350101Z\" " KEY "\n"
	    "ok@example.com valid-after=\"20250101Z\","
	    "valid-before=\"20350101Z\" " KEY "\n"
	    "edge@example.com valid-before=\"20300101Z\" " KEY "\n");

	buf_init(&b);
	signers_pick(&s, "dev@example.com", now, &b, &p);
	cr_expect_eq(p.admitting, 2);
	cr_expect_eq(p.picked, 2);
	cr_expect_str_eq(buf_str(&b), "dev@example.com " KEY "\n"
	    "*@example.com,!evil@example.com " KEY2 "\n");

	buf_reset(&b);
	signers_pick(&s, "evil@example.com", now, &b, &p);
	cr_expect_eq(p.admitting, 0);
	cr_expect_eq(b.len, 0);

	buf_reset(&b);
	signers_pick(&s, "someone@elsewhere", now, &b, &p);
	cr_expect_eq(p.admitting, 0);

	/* expired, or not yet valid: admitted, not picked */
	buf_reset(&b);
	signers_pick(&s, "old@example.com", now, &b, &p);
	cr_expect_eq(p.admitting, 2);	/* and *@example.com */
	cr_expect_eq(p.out_of_time, 1);
	cr_expect_eq(p.picked, 1);
	cr_expect(strstr(buf_str(&b), "old@") == NULL);
	buf_reset(&b);
	signers_pick(&s, "new@example.com", now, &b, &p);
	cr_expect_eq(p.out_of_time, 1);
	buf_reset(&b);
	signers_pick(&s, "ok@example.com", now, &b, &p);
	cr_expect_eq(p.out_of_time, 0);
	cr_expect(strstr(buf_str(&b), "ok@example.com valid-after") != NULL);
	/* the bounds are inclusive */
	buf_reset(&b);
	signers_pick(&s, "edge@example.com", now, &b, &p);
	cr_expect_eq(p.out_of_time, 0);
	buf_reset(&b);
	signers_pick(&s, "edge@example.com", now + 1, &b, &p);
	cr_expect_eq(p.out_of_time, 1);
	buf_free(&b);
	signers_free(&s);
}

/*
 * The patterns as ssh-keygen matches them: each (principals, e-mail)
 * pair is also put to `ssh-keygen -Y verify -I e-mail` with a real
 * signature, which matches the e-mail against the line's principals.
 */
Test(signers, agrees_with_ssh_keygen)
{
	static const struct {
		const char	*principals;
		const char	*email;
	} cases[] = {
		{ "dev@example.com", "dev@example.com" },
		{ "*@example.com", "dev@example.com" },
		{ "*@example.com,!dev@example.com", "dev@example.com" },
		{ "d?v@example.com", "dev@example.com" },
		{ "Dev@example.com", "dev@example.com" },
		{ "ops@example.com,dev@*", "dev@example.com" },
		{ "dev@example.co", "dev@example.com" },
	};
	char	 dir[] = "/tmp/test_signers.XXXXXX", cmd[2048], line[1024];
	char	 pub[512];
	FILE	*fp;
	size_t	 i;
	int	 rc, ours;

	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
		cr_skip_test("no ssh-keygen");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cd %s && ssh-keygen -q -t ed25519 -N '' "
	    "-f k && echo payload > m && ssh-keygen -q -Y sign -n git -f k m",
	    dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/k.pub", dir);
	cr_assert_not_null(fp = fopen(cmd, "r"));
	cr_assert_not_null(fgets(pub, sizeof(pub), fp));
	fclose(fp);
	pub[strcspn(pub, "\n")] = '\0';
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "\"%s\" %s\n", cases[i].principals,
		    pub);
		snprintf(cmd, sizeof(cmd), "%s/allowed", dir);
		cr_assert_not_null(fp = fopen(cmd, "w"));
		fputs(line, fp);
		fclose(fp);
		snprintf(cmd, sizeof(cmd), "cd %s && ssh-keygen -q -Y verify "
		    "-n git -f allowed -I '%s' -s m.sig < m >/dev/null 2>&1",
		    dir, cases[i].email);
		rc = system(cmd);
		ours = signers_match_list(cases[i].email,
		    cases[i].principals) == 1;
		cr_expect_eq(ours, rc == 0, "\"%s\" for \"%s\": ours %d, "
		    "ssh-keygen exit %d", cases[i].principals, cases[i].email,
		    ours, rc);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
