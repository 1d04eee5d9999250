/* The bodies posted to the registry (lodastack-protocols.md 1.1, 1.3). */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "workers/fetcher/fetcher_report.h"

Test(fetcher_report, ns_request)
{
	struct buf	 b;

	buf_init(&b);
	fetcher_report_ns_json(&b, "web-01", "10.0.0.5,fd00::5",
	    "CZ1234ABCD\n");
	cr_assert(!buf_failed(&b));
	cr_assert_str_eq(b.p, "{\"hostname\":\"web-01\",\"ip\":\"10.0.0.5,"
	    "fd00::5\",\"sn\":\"CZ1234ABCD\\n\"}");
	buf_free(&b);
}

static void
list(struct strlist *l, const char *a, const char *b)
{
	strlist_init(l);
	if (a != NULL)
		cr_assert_eq(strlist_add(l, a), 0);
	if (b != NULL)
		cr_assert_eq(strlist_add(l, b), 0);
}

Test(fetcher_report, report_field_order)
{
	struct report_info	 r;
	struct strlist		 uuid, newip, oldip, ns;
	struct buf		 b;

	list(&uuid, "f2f21847-652d-4a50-bfbb-d12df9b30b46", NULL);
	list(&newip, "10.0.0.5", NULL);
	list(&oldip, "10.0.0.4", NULL);
	list(&ns, "pool.loda", "web.loda");
	memset(&r, 0, sizeof(r));
	r.uuid = &uuid;
	r.sn = "CZ1234ABCD\n";
	r.newiplist = &newip;
	r.oldiplist = &oldip;
	r.ns = &ns;
	r.build.version = "0.5.0";
	r.build.commit = "58dbc7e";
	r.build.branch = "master";
	r.build.buildtime = "2022-01-12T10:00:00Z";
	r.build.compiler = "gcc 12.2.0";
	r.newhostname = "web-01";
	r.oldhostname = "web-00";
	r.update = 1;
	r.utime = "2024-05-01T12:34:56.123456789+08:00";
	buf_init(&b);
	fetcher_report_json(&b, &r);
	cr_assert(!buf_failed(&b));
	cr_assert_str_eq(b.p, "{\"uuid\":[\"f2f21847-652d-4a50-bfbb-"
	    "d12df9b30b46\"],\"sn\":\"CZ1234ABCD\\n\",\"newiplist\":"
	    "[\"10.0.0.5\"],\"oldiplist\":[\"10.0.0.4\"],\"ns\":[\"pool.loda\","
	    "\"web.loda\"],\"version\":\"0.5.0\",\"commit\":\"58dbc7e\","
	    "\"branch\":\"master\",\"buildtime\":\"2022-01-12T10:00:00Z\","
	    "\"goversion\":\"gcc 12.2.0\",\"newhostname\":\"web-01\","
	    "\"oldhostname\":\"web-00\",\"agenttype\":\"loda-agent\","
	    "\"update\":true,\"utime\":\"2024-05-01T12:34:56.123456789+08:00\""
	    "}");

	/* before the first answer: null uuid, null oldiplist, [] lists */
	strlist_free(&newip);
	strlist_free(&ns);
	r.uuid = NULL;
	r.oldiplist = NULL;
	r.oldhostname = "web-01";
	r.update = 0;
	r.sn = "<&>";
	buf_reset(&b);
	fetcher_report_json(&b, &r);
	cr_assert(strstr(b.p, "{\"uuid\":null,\"sn\":\"\\u003c\\u0026\\u003e\","
	    "\"newiplist\":[],\"oldiplist\":null,\"ns\":[],") == b.p, "%s",
	    b.p);
	cr_assert(strstr(b.p, "\"update\":false,") != NULL);
	buf_free(&b);
	strlist_free(&uuid);
	strlist_free(&oldip);
}

Test(fetcher_report, utime_as_go)
{
	struct timespec	 ts;
	char		 buf[64];

	setenv("TZ", "UTC0", 1);
	tzset();
	ts.tv_sec = 1714538096;
	ts.tv_nsec = 123456789;
	cr_assert_eq(fetcher_report_format_utime(&ts, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "2024-05-01T04:34:56.123456789Z");
	/* trailing zeros of the fraction go, and a zero fraction */
	ts.tv_nsec = 120000000;
	cr_assert_eq(fetcher_report_format_utime(&ts, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "2024-05-01T04:34:56.12Z");
	ts.tv_nsec = 0;
	cr_assert_eq(fetcher_report_format_utime(&ts, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "2024-05-01T04:34:56Z");
	/* the local offset */
	setenv("TZ", "CST-8", 1);
	tzset();
	ts.tv_nsec = 5;
	cr_assert_eq(fetcher_report_format_utime(&ts, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "2024-05-01T12:34:56.000000005+08:00");
	setenv("TZ", "XXX+5:30", 1);
	tzset();
	cr_assert_eq(fetcher_report_format_utime(&ts, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "2024-04-30T23:04:56.000000005-05:30");
}

Test(fetcher_report, build_info)
{
	struct build_info	 b;

	fetcher_report_build_info(&b);
	cr_assert_str_eq(b.version, PACKAGE_VERSION);
	cr_assert_str_eq(b.commit, "unknown");
	cr_assert_str_eq(b.branch, "unknown");
	cr_assert_str_eq(b.buildtime, "unknown");
	cr_assert(strncmp(b.compiler, "gcc ", 4) == 0 ||
	    strncmp(b.compiler, "clang ", 6) == 0, "%s", b.compiler);
}
