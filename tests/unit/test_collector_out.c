/*
 * What a collector run publishes (collector_out.c): every point to every
 * namespace, KERNEL copies to security.monitor.loda, PORT and PROC points
 * to their items' namespaces only, invalid points left out, messages cut
 * at COLLECT_MSG_BYTES; and the /me/traffic JSON.  MSG_POINTS are caught
 * by the collector's send hook instead of going to a sender.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "workers/collector/collector.h"

#define NOW	1714538096
#define MSGS_MAX	64

struct sent {
	char	 topic[TOPIC_MAX + 1];
	uint32_t npoints;
	char	*data;
};

/* What the hook caught in the current test (one test per process). */
static struct sent	 msgs[MSGS_MAX];
static size_t		 nmsgs;
static struct worker	 w;
static struct collector	 c;

static int
catch(struct collector *cc, const struct points_msg *m)
{
	struct sent	*s;

	cr_assert_lt(nmsgs, MSGS_MAX);
	s = &msgs[nmsgs++];
	snprintf(s->topic, sizeof(s->topic), "%s", m->topic);
	s->npoints = m->npoints;
	s->data = strndup(m->data, m->len);
	cr_assert_not_null(s->data);
	cr_assert_eq(m->origin, ORIGIN_SCHEDULED);
	return 0;
}

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	memset(&c, 0, sizeof(c));
	nmsgs = 0;
	cr_assert_eq(conf_defaults(&w.conf), 0);
	/* the rate limit of refused points reads the loop's clock */
	cr_assert_not_null(w.loop = ev_loop_new(EVFLAG_AUTO));
	c.w = &w;
	items_init(&c.items);
	collect_list_init(&c.pl);
	buf_init(&c.enc);
	buf_init(&c.msg);
	buf_init(&c.traffic);
	snprintf(c.host, sizeof(c.host), "web-01");
	c.send_hook = catch;
}

static void
teardown(void)
{
	size_t	 i;

	for (i = 0; i < nmsgs; i++)
		free(msgs[i].data);
	collect_list_free(&c.pl);
	ev_loop_destroy(w.loop);
	buf_free(&c.enc);
	buf_free(&c.msg);
	buf_free(&c.traffic);
	free(c.spans);
	free(c.picked);
	items_free(&c.items);
	conf_free(&w.conf);
}

TestSuite(collector_out, .init = setup, .fini = teardown);

static void
namespaces(const char *const *ns)
{
	for (; *ns != NULL; ns++)
		cr_assert_eq(strlist_add(&c.items.namespaces, *ns), 0);
}

static void
port(const char *ns, const char *name)
{
	struct port_item	 p = { (char *)ns, (char *)name, 1, 3 };

	cr_assert_eq(items_add_port(&c.items, &p), 0);
}

static void
proc(const char *ns, const char *name)
{
	struct proc_item	 p = { (char *)ns, (char *)name, "/bin/x" };

	cr_assert_eq(items_add_proc(&c.items, &p), 0);
}

/* The names of the points in message i, space-separated, in order. */
static void
names_of(size_t i, char *out, size_t len)
{
	const char	*p = msgs[i].data, *q;
	size_t		 n = 0;

	out[0] = '\0';
	while ((p = strstr(p, "\"measurement\":\"")) != NULL) {
		p += strlen("\"measurement\":\"");
		q = strchr(p, '"');
		n += (size_t)snprintf(out + n, len - n, "%s%.*s",
		    n > 0 ? " " : "", (int)(q - p), p);
		p = q;
	}
}

static void
expect_msg(size_t i, const char *topic, const char *names)
{
	char	 got[4096];

	cr_assert_lt(i, nmsgs, "message %zu of %zu", i, nmsgs);
	cr_expect_str_eq(msgs[i].topic, topic, "message %zu", i);
	names_of(i, got, sizeof(got));
	cr_expect_str_eq(got, names, "message %zu to %s", i, topic);
}

Test(collector_out, every_namespace_same_points)
{
	static const char *const ns[] = { "pool.loda", "web.product.loda",
		NULL };

	namespaces(ns);
	(void)collect_list_add_int(&c.pl, "mem.total", 15885, NULL);
	(void)collect_list_add_float(&c.pl, "net.in", 83128.8, "interface",
	    "eth0", NULL);
	collector_publish(&c, SYS_MEM, NOW);
	cr_assert_eq(nmsgs, 2);
	expect_msg(0, "collect.pool.loda", "mem.total net.in");
	expect_msg(1, "collect.web.product.loda", "mem.total net.in");
	cr_expect_eq(msgs[0].npoints, 2);
	/* the lodastack point, host tag added, sorted, timestamp now */
	cr_expect_str_eq(msgs[0].data,
	    "{\"measurement\":\"mem.total\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":15885}}\n"
	    "{\"measurement\":\"net.in\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"interface\":\"eth0\"},"
	    "\"fields\":{\"value\":83128.8}}");
	cr_expect_str_eq(msgs[0].data, msgs[1].data);
	cr_expect_eq(c.st.points_sent, 4);
	cr_expect_eq(c.st.points_unsent, 0);
}

Test(collector_out, line_format_and_topic_template)
{
	static const char *const ns[] = { "pool.loda", NULL };

	namespaces(ns);
	snprintf(w.conf.format, sizeof(w.conf.format), "line");
	snprintf(w.conf.topic, sizeof(w.conf.topic), "metrics.%%s");
	(void)collect_list_add_float(&c.pl, "cpu.idle", 87.5, NULL);
	collector_publish(&c, SYS_CPU, NOW);
	cr_assert_eq(nmsgs, 1);
	cr_expect_str_eq(msgs[0].topic, "metrics.pool.loda");
	cr_expect_str_eq(msgs[0].data,
	    "cpu.idle,host=web-01 value=87.5 1714538096");
}

/* 4.2: KERNEL also to security.monitor.loda, once per source ns. */
Test(collector_out, kernel_copies)
{
	static const char *const ns[] = { "a.loda", "security.monitor.loda",
		"b.loda", NULL };

	namespaces(ns);
	(void)collect_list_add_int(&c.pl, "kernel.user.login", 1, "user",
	    "root", NULL);
	collector_publish(&c, SYS_KERNEL, NOW);
	cr_assert_eq(nmsgs, 5);
	expect_msg(0, "collect.a.loda", "kernel.user.login");
	expect_msg(1, "collect.security.monitor.loda", "kernel.user.login");
	expect_msg(2, "collect.security.monitor.loda", "kernel.user.login");
	expect_msg(3, "collect.b.loda", "kernel.user.login");
	expect_msg(4, "collect.security.monitor.loda", "kernel.user.login");
	cr_expect_eq(c.st.points_sent, 5);

	/* no namespaces: nothing anywhere, not even the copy */
	nmsgs = 0;
	free(msgs[0].data);
	free(msgs[1].data);
	free(msgs[2].data);
	free(msgs[3].data);
	free(msgs[4].data);
	strlist_free(&c.items.namespaces);
	collect_list_reset(&c.pl);
	(void)collect_list_add_int(&c.pl, "kernel.user.login", 1, "user",
	    "root", NULL);
	collector_publish(&c, SYS_KERNEL, NOW);
	cr_expect_eq(nmsgs, 0);
}

/*
 * A host in no namespace: its points (made for /me/traffic all the
 * same) go nowhere, so none is taken in: received would count what no
 * other counter ever does.
 */
Test(collector_out, no_namespace_nothing_taken_in)
{
	(void)collect_list_add_int(&c.pl, "mem.total", 15885, NULL);
	collector_publish(&c, SYS_MEM, NOW);
	c.self_run = 1;
	collector_publish(&c, SYS_TYPE_MAX, NOW);
	c.self_run = 0;
	cr_expect_eq(nmsgs, 0);
	cr_expect_eq(c.st.points_received, 0);
	cr_expect_eq(c.st.points_received_self, 0);
	cr_expect_eq(c.st.points_sent + c.st.points_unsent, 0);
}

/* PORT points go to the namespaces of the items with their name. */
Test(collector_out, port_by_item_name)
{
	static const char *const ns[] = { "a.loda", "b.loda", "c.loda",
		NULL };

	namespaces(ns);
	port("a.loda", "PORT.sshd.22");
	port("b.loda", "PORT.sshd.22");
	port("b.loda", "PORT.web.80");
	port("b.loda", "PORT.web.80");		/* twice in one ns */
	(void)collect_list_add_int(&c.pl, "PORT.sshd.22", 1, NULL);
	(void)collect_list_add_int(&c.pl, "PORT.web.80", 0, NULL);
	(void)collect_list_add_int(&c.pl, "PORT.web.80", 0,
	    NULL);	/* per item */
	(void)collect_list_add_int(&c.pl, "PORT.gone.1", 1,
	    NULL);	/* no item */
	collector_publish(&c, SYS_PORT, NOW);
	cr_assert_eq(nmsgs, 2);
	expect_msg(0, "collect.a.loda", "PORT.sshd.22");
	expect_msg(1, "collect.b.loda", "PORT.sshd.22 PORT.web.80");
	cr_expect_eq(c.st.points_sent, 3);
}

/*
 * collect_list_route: an item's points to its ns only, even with a shared
 * name.
 */
Test(collector_out, routed_points)
{
	static const char *const ns[] = { "a.loda", "b.loda", NULL };

	namespaces(ns);
	proc("a.loda", "PROC.nginx");
	proc("b.loda", "PROC.nginx");
	collect_list_route(&c.pl, c.items.procs[0].ns);
	(void)collect_list_add_int(&c.pl, "PROC.nginx.procnum", 2, NULL);
	collect_list_route(&c.pl, c.items.procs[1].ns);
	(void)collect_list_add_int(&c.pl, "PROC.nginx.procnum", 0, NULL);
	collect_list_route(&c.pl, NULL);
	collector_publish(&c, SYS_PROC, NOW);
	cr_assert_eq(nmsgs, 2);
	expect_msg(0, "collect.a.loda", "PROC.nginx.procnum");
	expect_msg(1, "collect.b.loda", "PROC.nginx.procnum");
	cr_expect_not_null(strstr(msgs[0].data, "\"value\":2"));
	cr_expect_not_null(strstr(msgs[1].data, "\"value\":0"));
}

/* PROC by name: the item's name and a '.', nothing longer. */
Test(collector_out, proc_by_prefix)
{
	static const char *const ns[] = { "a.loda", "b.loda", NULL };

	namespaces(ns);
	proc("a.loda", "PROC.nginx");
	proc("b.loda", "PROC.nginx-worker");
	(void)collect_list_add_int(&c.pl, "PROC.nginx.procnum", 2, NULL);
	(void)collect_list_add_float(&c.pl, "PROC.nginx.cpu", 1.5, NULL);
	(void)collect_list_add_int(&c.pl, "PROC.nginx-worker.procnum", 4, NULL);
	(void)collect_list_add_int(&c.pl, "PROC.nginxx.procnum", 9, NULL);
	collector_publish(&c, SYS_PROC, NOW);
	cr_assert_eq(nmsgs, 2);
	expect_msg(0, "collect.a.loda", "PROC.nginx.procnum PROC.nginx.cpu");
	expect_msg(1, "collect.b.loda", "PROC.nginx-worker.procnum");
}

/* A point the checks refuse is counted; the others still go. */
Test(collector_out, invalid_point_left_out)
{
	static const char *const ns[] = { "a.loda", NULL };

	namespaces(ns);
	(void)collect_list_add_int(&c.pl, "ok.one", 1, NULL);
	(void)collect_list_add_int(&c.pl, "bad name", 1, NULL);
	(void)collect_list_add_int(&c.pl, "kernel.user.login", 1, "remote", "",
	    NULL);
	(void)collect_list_add_int(&c.pl, "ok.two", 2, NULL);
	collector_publish(&c, SYS_CPU, NOW);
	cr_assert_eq(nmsgs, 1);
	expect_msg(0, "collect.a.loda", "ok.one ok.two");
	cr_expect_eq(msgs[0].npoints, 2);
	cr_expect_eq(c.st.points_invalid, 2);
	cr_expect_neq(c.last_error[0], '\0');
}

/* A bad namespace for the topic: counted as unsent, no message. */
Test(collector_out, bad_namespace)
{
	static const char *const ns[] = { "Bad_NS", "a.loda", NULL };

	namespaces(ns);
	(void)collect_list_add_int(&c.pl, "agent.alive", 1, NULL);
	collector_publish(&c, SYS_CPU, NOW);
	cr_assert_eq(nmsgs, 1);
	expect_msg(0, "collect.a.loda", "agent.alive");
	cr_expect_eq(c.st.points_unsent, 1);
	cr_expect_eq(c.st.points_sent, 1);
}

/* Many points: several messages, none over the limit, none lost. */
Test(collector_out, messages_are_bounded)
{
	static const char *const ns[] = { "a.loda", NULL };
	char		 name[32];
	uint64_t	 total = 0;
	size_t		 i;

	namespaces(ns);
	for (i = 0; i < 8000; i++) {
		snprintf(name, sizeof(name), "m.%zu", i);
		(void)collect_list_add_float(&c.pl, name, (double)i / 3.0,
		    "device",
		    "some-rather-long-device-mapper-name-for-bulk", NULL);
	}
	collector_publish(&c, SYS_DISK, NOW);
	cr_assert_gt(nmsgs, 1);
	for (i = 0; i < nmsgs; i++) {
		cr_expect_leq(strlen(msgs[i].data), COLLECT_MSG_BYTES);
		total += msgs[i].npoints;
	}
	cr_expect_eq(total, 8000);
	cr_expect_eq(c.st.points_sent, 8000);
}

/* GET /me/traffic: raw NET values, null (nothing) before two runs. */
Test(collector_out, traffic_json)
{
	c.net_runs = 1;
	(void)collect_list_add_float(&c.pl, "net.in", 83128.8, "interface",
	    "eth0", NULL);
	(void)collect_list_add_int(&c.pl, "net.sockets.used", 40, NULL);
	(void)collect_list_add_int(&c.pl, "net.speed", 1000, "interface",
	    "eth0", NULL);
	collector_traffic_update(&c);
	cr_expect_eq(c.have_traffic, 0);
	c.net_runs = 2;
	collector_traffic_update(&c);
	cr_assert_eq(c.have_traffic, 1);
	cr_expect_str_eq(c.traffic.p,
	    "[{\"name\":\"net.in\",\"timestamp\":0,\"tags\":{\"interface\":"
	    "\"eth0\"},\"value\":83128.8},{\"name\":\"net.speed\","
	    "\"timestamp\":0,\"tags\":{\"interface\":\"eth0\"},\"value\":"
	    "1000}]");
	/* no interfaces any more: an empty list, not null */
	collect_list_reset(&c.pl);
	collector_traffic_update(&c);
	cr_expect_str_eq(c.traffic.p, "[]");
}

/* The master's table as agent.* points, to every namespace. */
Test(collector_out, self_metrics_to_every_namespace)
{
	static const char *const nss[] = { "a.loda", "b.loda", NULL };
	struct metric_set	 s;
	struct metric_hist	 h;

	namespaces(nss);
	metrics_init(&s);
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.5);
	metrics_hist_observe(&h, "plugin_duration_seconds", 0.25);
	cr_assert_eq(metrics_put(&s, "points_published_total", 42, NULL), 0);
	cr_assert_eq(metrics_put(&s, "worker_up", 1, "role", "sender", NULL),
	    0);
	cr_assert_eq(metrics_put_hist(&s, "plugin_duration_seconds", &h, "ns",
	    "a.loda", "plugin", "mysql", NULL), 0);
	cr_assert_eq(collector_self_points(&s, &c.pl), 0);
	cr_assert_eq(c.pl.n, 4);
	c.self_run = 1;
	collector_publish(&c, SYS_TYPE_MAX, NOW);
	c.self_run = 0;
	cr_assert_eq(nmsgs, 2);
	cr_assert_str_eq(msgs[0].topic, "collect.a.loda");
	cr_assert_str_eq(msgs[1].topic, "collect.b.loda");
	cr_assert_eq(msgs[0].npoints, 4);
	cr_assert_str_eq(msgs[0].data,
	    "{\"measurement\":\"agent.points_published_total\",\"timestamp\":"
	    "1714538096,\"tags\":{\"host\":\"web-01\"},\"fields\":{\"value\":"
	    "42}}\n"
	    "{\"measurement\":\"agent.worker_up\",\"timestamp\":1714538096,"
	    "\"tags\":{\"host\":\"web-01\",\"role\":\"sender\"},\"fields\":"
	    "{\"value\":1}}\n"
	    "{\"measurement\":\"agent.plugin_duration_seconds.count\","
	    "\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\",\"ns\":"
	    "\"a.loda\",\"plugin\":\"mysql\"},\"fields\":{\"value\":2}}\n"
	    "{\"measurement\":\"agent.plugin_duration_seconds.sum\","
	    "\"timestamp\":1714538096,\"tags\":{\"host\":\"web-01\",\"ns\":"
	    "\"a.loda\",\"plugin\":\"mysql\"},\"fields\":{\"value\":0.75}}");
	/* counted as their own source, not as system points */
	cr_assert_eq(c.st.points_received_self, 4);
	cr_assert_eq(c.st.points_received, 0);
	metrics_free(&s);
}
