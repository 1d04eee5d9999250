/*
 * Unit tests of the front's browser checks (src/workers/front/front_guard.c):
 * which Host values name the agent, and which requests may change
 * things, table by table.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "common/strlist.h"
#include "workers/front/front_guard.h"

#define SELF	"web-07"

static struct strlist	 names;

static void
setup(void)
{
	strlist_init(&names);
	cr_assert_eq(strlist_add(&names, "agent.example.org"), 0);
	cr_assert_eq(strlist_add(&names, "web-07.dc1"), 0);
}

static void
teardown(void)
{
	strlist_free(&names);
}

TestSuite(guard, .init = setup, .fini = teardown);

Test(guard, host_names_the_agent)
{
	static const char *const yes[] = {
		"127.0.0.1", "127.0.0.1:1232", "10.1.2.3:80", "0.0.0.0",
		"[::1]", "[::1]:1232", "[2001:db8::7]:65535",
		"[::ffff:127.0.0.1]", "localhost", "LOCALHOST:1232",
		"localhost ", "localhost\t", "localhost \t", "web-07",
		"Web-07:8080", "agent.example.org",
		"AGENT.example.ORG:1", "web-07.dc1",
	};
	static const char *const no[] = {
		"", " ", ":1232", "evil.example", "evil.example:1232",
		"localhost.", "localhost.evil.example", "web-07.", "web-0",
		"127.0.0.1.evil.example", "127.1", "2130706433", "0x7f000001",
		"127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:123456", "127.0.0.1:80:80", "127.0.0.1:8o",
		"::1", "[::1", "[::1]x", "[::1]:", "[]", "[evil.example]",
		"[fe80::1%25eth0]", "[127.0.0.1]", "user@localhost",
		"localhost@evil.example", "example.org",
		"x.agent.example.org", "agent.example.org.evil",
		/* a port needs its colon; one that wraps to 80 is none */
		"[::1]1232", "127.0.0.1:18446744073709551696",
	};
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect_eq(front_guard_host_ok(yes[i], SELF, &names), 1,
		    "\"%s\" refused", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_eq(front_guard_host_ok(no[i], SELF, &names), 0,
		    "\"%s\" taken", no[i]);
	/* without a host name or a list, only addresses and localhost */
	cr_expect_eq(front_guard_host_ok("web-07", "", NULL), 0);
	cr_expect_eq(front_guard_host_ok("localhost", NULL, NULL), 1);
	cr_expect_eq(front_guard_host_ok("[::1]", NULL, NULL), 1);
}

/* Longer than any name, or empty: nothing names the agent, listed or not. */
Test(guard, a_host_too_long_or_empty_names_nothing_even_listed)
{
	struct strlist	 odd;
	char		 n300[301], n301[302];

	memset(n300, 'a', sizeof(n300) - 1);
	n300[sizeof(n300) - 1] = '\0';
	memset(n301, 'a', sizeof(n301) - 1);
	n301[sizeof(n301) - 1] = '\0';
	strlist_init(&odd);
	cr_assert_eq(strlist_add(&odd, n300), 0);
	cr_assert_eq(strlist_add(&odd, n301), 0);
	cr_assert_eq(strlist_add(&odd, ""), 0);
	cr_expect_eq(front_guard_host_ok(n300, NULL, &odd), 1);
	cr_expect_eq(front_guard_host_ok(n301, NULL, &odd), 0);
	cr_expect_eq(front_guard_host_ok(":1232", NULL, &odd), 0);
	cr_expect_eq(front_guard_host_ok(" ", NULL, &odd), 0);
	strlist_free(&odd);
}

struct guard_case {
	enum http_via	 via;
	const char	*origin;
	const char	*sfs;
	const char	*host;
	const char	*why;		/* NULL: passes; else a part of why */
};

Test(guard, which_requests_may_change_things)
{
	static const struct guard_case cases[] = {
		/* what curl and the sdk send */
		{ HTTP_VIA_TCP, NULL, NULL, "127.0.0.1:1232", NULL },
		{ HTTP_VIA_TCP, NULL, NULL, "localhost:1232", NULL },
		{ HTTP_VIA_TCP, NULL, NULL, "agent.example.org", NULL },
		{ HTTP_VIA_TCP, NULL, NULL, NULL, NULL },
		{ HTTP_VIA_UNIX, NULL, NULL, "agent", NULL },
		{ HTTP_VIA_UNIX, NULL, NULL, "evil.example", NULL },
		/* a user typing the URL into a browser */
		{ HTTP_VIA_TCP, NULL, "none", "127.0.0.1:1232", NULL },
		/* a web page: Origin, whatever its value */
		{ HTTP_VIA_TCP, "http://evil.example", NULL, "127.0.0.1",
		    "Origin \"http://evil.example\"" },
		{ HTTP_VIA_TCP, "null", "none", "127.0.0.1", "Origin" },
		{ HTTP_VIA_TCP, "", NULL, NULL, "Origin" },
		{ HTTP_VIA_TCP, "http://127.0.0.1:1232", "same-origin",
		    "127.0.0.1:1232", "Origin" },
		{ HTTP_VIA_UNIX, "http://evil.example", NULL, NULL, "Origin" },
		/* Sec-Fetch-Site other than none */
		{ HTTP_VIA_TCP, NULL, "cross-site", "127.0.0.1",
		    "Sec-Fetch-Site \"cross-site\"" },
		{ HTTP_VIA_TCP, NULL, "same-site", "127.0.0.1",
		    "Sec-Fetch-Site" },
		{ HTTP_VIA_TCP, NULL, "same-origin", "localhost",
		    "Sec-Fetch-Site" },
		{ HTTP_VIA_TCP, NULL, "", "localhost", "Sec-Fetch-Site" },
		{ HTTP_VIA_TCP, NULL, "None", "localhost", "Sec-Fetch-Site" },
		{ HTTP_VIA_UNIX, NULL, "cross-site", NULL, "Sec-Fetch-Site" },
		/* DNS rebinding: a name the attacker resolves to us */
		{ HTTP_VIA_TCP, NULL, NULL, "evil.example",
		    "Host \"evil.example\" does not name this agent" },
		{ HTTP_VIA_TCP, NULL, "none", "evil.example:1232", "Host" },
		{ HTTP_VIA_TCP, NULL, NULL, "", "Host \"\"" },
		{ HTTP_VIA_OTHER, NULL, NULL, "evil.example", "Host" },
	};
	struct http_request	 req;
	const char		*why;
	char			 buf[256];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.via = cases[i].via;
		req.origin = cases[i].origin;
		req.sec_fetch_site = cases[i].sfs;
		req.host = cases[i].host;
		why = front_guard_why(&req, SELF, &names, buf, sizeof(buf));
		if (cases[i].why == NULL) {
			cr_expect_null(why, "case %zu refused: %s", i, why);
			continue;
		}
		cr_expect_not_null(why, "case %zu passed", i);
		if (why != NULL)
			cr_expect_not_null(strstr(why, cases[i].why),
			    "case %zu: %s", i, why);
	}
}

/* What a client sent comes back printable and cut. */
Test(guard, values_shown_safely)
{
	struct http_request	 req;
	const char		*why;
	char			 buf[256], longv[400];

	memset(&req, 0, sizeof(req));
	req.via = HTTP_VIA_TCP;
	req.host = "evil\r\n\x1b[31m\xc3\xa9.\x7f\x1f example";
	why = front_guard_why(&req, SELF, &names, buf, sizeof(buf));
	cr_assert_not_null(why);
	cr_expect_not_null(strstr(why,
	    "Host \"evil???[31m??.?? example\""), "%s", why);
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	req.host = longv;
	why = front_guard_why(&req, SELF, &names, buf, sizeof(buf));
	cr_assert_not_null(why);
	cr_expect_not_null(strstr(why, "aaa...\""), "%s", why);
	cr_expect_lt(strlen(why), 200);
}
