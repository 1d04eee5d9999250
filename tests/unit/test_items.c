/* The registry's items after the fetcher checked them, and MSG_ITEMS. */
#include <criterion/criterion.h>

#include <string.h>

#include "codec.h"
#include "items.h"
#include "plugin_msg.h"

static void
sample(struct items *it)
{
	struct plugin_item	 p;
	struct port_item	 port = { "pool.loda", "PORT.sshd.22", 22, 3 };
	struct proc_item	 proc = { "pool.loda", "PROC.nginx",
	    "/usr/sbin/nginx" };

	items_init(it);
	cr_assert_eq(strlist_add(&it->namespaces, "pool.loda"), 0);
	cr_assert_eq(strlist_add(&it->namespaces, "web.product.loda"), 0);
	memset(&p, 0, sizeof(p));
	strlist_init(&p.params);
	cr_assert_eq(strlist_add(&p.params, "-x"), 0);
	cr_assert_eq(strlist_add(&p.params, "a$b"), 0);
	p.ns = "pool.loda";
	p.name = "PLUGIN.mysql";
	p.git = "git@git.test.com:plugins/mysql.git";
	p.repo = "plugins/mysql";
	p.project = "mysql";
	p.interval = 60;
	cr_assert_eq(items_add_plugin(it, &p), 0);
	strlist_free(&p.params);
	cr_assert_eq(items_add_port(it, &port), 0);
	cr_assert_eq(items_add_proc(it, &proc), 0);
	it->intervals[SYS_CPU] = 5;
	it->intervals[SYS_FS] = 120;
	it->intervals[SYS_PORT] = 20;
}

Test(items, round_trip)
{
	struct items	 it, back;
	struct pbuf	 pb;
	struct preader	 pr;
	char		 err[256];

	sample(&it);
	codec_put_init(&pb);
	items_encode(&pb, &it);
	cr_assert(!codec_put_failed(&pb));
	items_init(&back);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(items_decode(&pr, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.namespaces.n, 2);
	cr_assert_str_eq(back.namespaces.v[1], "web.product.loda");
	cr_assert_eq(back.nplugins, 1);
	cr_assert_str_eq(back.plugins[0].project, "mysql");
	cr_assert_str_eq(back.plugins[0].params.v[1], "a$b");
	cr_assert_eq(back.plugins[0].interval, 60);
	cr_assert_eq(back.nports, 1);
	cr_assert_eq(back.ports[0].port, 22);
	cr_assert_str_eq(back.procs[0].bin_path, "/usr/sbin/nginx");
	/* raised to the minimum; defaults; PORT and PROC as the others */
	cr_assert_eq(items_interval(&back, SYS_CPU), 10);
	cr_assert_eq(items_interval(&back, SYS_FS), 120);
	cr_assert_eq(items_interval(&back, SYS_KERNEL), 300);
	cr_assert_eq(items_interval(&back, SYS_PORT), 20);
	cr_assert_eq(items_interval(&back, SYS_PROC), 60);

	/* a cut payload is an error, never a partial set */
	items_free(&back);
	codec_get_init(&pr, pb.buf, pb.len - 3);
	cr_assert_eq(items_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert_neq(err[0], '\0');
	items_free(&back);
	codec_put_free(&pb);
	items_free(&it);
}

/* `it` encoded, then refused by the decoder with `why`; it is freed. */
static void
refused_on_decode(struct items *it, const char *why)
{
	struct items	 back;
	struct pbuf	 pb;
	struct preader	 pr;
	char		 err[256];

	codec_put_init(&pb);
	items_encode(&pb, it);
	items_init(&back);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(items_decode(&pr, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, why) != NULL, "%s", err);
	items_free(&back);
	codec_put_free(&pb);
	items_free(it);
}

Test(items, bad_project_refused_on_decode)
{
	struct items	 it;

	sample(&it);
	free(it.plugins[0].project);
	cr_assert_not_null(it.plugins[0].project = strdup(".."));
	refused_on_decode(&it, "bad project");
}

Test(items, sys_types)
{
	enum sys_type	 t;

	cr_assert_eq(items_sys_type_parse("COREDUMP", &t), 0);
	cr_assert_eq(t, SYS_COREDUMP);
	cr_assert_str_eq(items_sys_type_name(SYS_NET), "NET");
	cr_assert_eq(items_sys_type_parse("cpu", &t), -1);
	cr_assert_eq(items_sys_type_default_interval(SYS_TIME), 300);
	cr_assert_eq(items_sys_type_default_interval(SYS_PORT), 60);
	cr_assert_eq(items_sys_type_default_interval(SYS_PROC), 60);
}

/* Every type, PORT and PROC too: given or default, at least 10 s. */
Test(items, intervals)
{
	struct items	 it;
	int		 t;

	items_init(&it);
	for (t = 0; t < SYS_TYPE_MAX; t++)
		cr_assert_eq(items_interval(&it, (enum sys_type)t),
		    items_sys_type_default_interval((enum sys_type)t), "%s",
		    items_sys_type_name((enum sys_type)t));
	it.intervals[SYS_PORT] = 1;
	it.intervals[SYS_PROC] = 45;
	cr_assert_eq(items_interval(&it, SYS_PORT), ITEM_MIN_INTERVAL);
	cr_assert_eq(items_interval(&it, SYS_PROC), 45);
	it.intervals[SYS_PROC] = 10;
	cr_assert_eq(items_interval(&it, SYS_PROC), 10);
	it.intervals[SYS_PORT] = 3600;
	cr_assert_eq(items_interval(&it, SYS_PORT), 3600);
	cr_assert_eq(items_interval(&it, SYS_TYPE_MAX), ITEM_MIN_INTERVAL);
	items_free(&it);
}

Test(items, path_components)
{
	cr_assert(items_path_component_valid("mysql"));
	cr_assert(items_path_component_valid("pool.loda"));
	cr_assert(items_path_component_valid("a-b_c.1"));
	cr_assert(!items_path_component_valid(""));
	cr_assert(!items_path_component_valid("."));
	cr_assert(!items_path_component_valid(".."));
	cr_assert(!items_path_component_valid("-rf"));
	cr_assert(!items_path_component_valid("a/b"));
	cr_assert(!items_path_component_valid("a b"));
	cr_assert(!items_path_component_valid("a;b"));
}

Test(items, items_repo_from_git)
{
	char	 repo[128], project[64], err[256];

	cr_assert_eq(items_repo_from_git("git@git.test.com:plugins/mysql.git",
	    repo,
	    sizeof(repo), project, sizeof(project), err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(repo, "plugins/mysql");
	cr_assert_str_eq(project, "mysql");
	cr_assert_eq(items_repo_from_git("group/p", repo, sizeof(repo), project,
	    sizeof(project), err, sizeof(err)), 0);
	cr_assert_str_eq(project, "p");
	cr_assert_eq(items_repo_from_git("git@h:a/b/c.git", repo, sizeof(repo),
	    project, sizeof(project), err, sizeof(err)), -1);
	cr_assert_eq(items_repo_from_git("git@h:ab.git", repo, sizeof(repo),
	    project, sizeof(project), err, sizeof(err)), -1);
	cr_assert_eq(items_repo_from_git("git@h:a/b", repo, sizeof(repo),
	    project,
	    sizeof(project), err, sizeof(err)), -1);
	cr_assert(strstr(err, ".git") != NULL, "%s", err);
	cr_assert_eq(items_repo_from_git("git@h:../x.git", repo, sizeof(repo),
	    project, sizeof(project), err, sizeof(err)), -1);
	cr_assert_eq(items_repo_from_git("git@h:g/-x.git", repo, sizeof(repo),
	    project, sizeof(project), err, sizeof(err)), -1);
	cr_assert_eq(items_repo_from_git("git@h:g/..git", repo, sizeof(repo),
	    project, sizeof(project), err, sizeof(err)), -1);
	/* hidden names are gitpull's: .clone-x-abcdef is x's unfinished
	 * clone, swept at the next clone of x */
	cr_assert_eq(items_repo_from_git("git@h:g/.clone-x3-abcdef.git", repo,
	    sizeof(repo), project, sizeof(project), err, sizeof(err)), -1);
	cr_assert(strstr(err, "dot") != NULL, "%s", err);
	cr_assert_eq(items_repo_from_git("git@h:.config/x.git", repo,
	    sizeof(repo), project, sizeof(project), err, sizeof(err)), -1);
	cr_assert_eq(items_repo_from_git("git@h:g/x.y.git", repo,
	    sizeof(repo), project, sizeof(project), err, sizeof(err)), 0);
}

/* gitpull's names of a project: .clone-<project>-XXXXXX and <ns>|<project> */
Test(items, plugin_names_fit_gitpulls_file_names)
{
	char	 git[400], repo[300], project[260], err[256], ns[200];

	/* the longest project that fits .clone-<project>-XXXXXX */
	snprintf(git, sizeof(git), "git@h:g/%0*d.git", ITEM_PROJECT_MAX, 0);
	cr_assert_eq(items_repo_from_git(git, repo, sizeof(repo), project,
	    sizeof(project), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(project), 241);
	cr_assert(items_plugin_names_fit("ns", project, err, sizeof(err)));
	snprintf(git, sizeof(git), "git@h:g/%0*d.git", ITEM_PROJECT_MAX + 1,
	    0);
	cr_assert_eq(items_repo_from_git(git, repo, sizeof(repo), project,
	    sizeof(project), err, sizeof(err)), -1);
	cr_assert(strstr(err, "longer than 241 bytes") != NULL, "%s", err);
	cr_assert(items_plugin_names_fit("ns", "x", err, sizeof(err)));
	/* <ns>|<project> is one file name: 254 bytes of both at most */
	memset(ns, 'n', ITEM_NS_MAX);
	ns[ITEM_NS_MAX] = '\0';
	memset(project, 'p', 126);
	project[126] = '\0';
	cr_assert(items_plugin_names_fit(ns, project, err, sizeof(err)));
	strcat(project, "p");
	cr_assert_not(items_plugin_names_fit(ns, project, err, sizeof(err)));
	cr_assert(strstr(err, "disable marker") != NULL, "%s", err);
}

/* A decoder refuses them too: a compromised fetcher's items. */
Test(items, plugin_names_too_long_refused_on_decode)
{
	struct items	 it;
	char		 ns[ITEM_NS_MAX + 1];

	sample(&it);
	memset(ns, 'n', ITEM_NS_MAX);
	ns[ITEM_NS_MAX] = '\0';
	free(it.plugins[0].ns);
	cr_assert_not_null(it.plugins[0].ns = strdup(ns));
	free(it.plugins[0].project);
	cr_assert_not_null(it.plugins[0].project = malloc(128));
	memset(it.plugins[0].project, 'p', 127);
	it.plugins[0].project[127] = '\0';
	refused_on_decode(&it, "disable marker");
}

/* `g` encoded and decoded into `back`: the decoder's answer. */
static int
git_req_trip(const struct git_req *g, struct git_req *back, char *err,
    size_t errlen)
{
	struct pbuf	 pb;
	struct preader	 pr;
	int		 rv;

	codec_put_init(&pb);
	plugin_msg_git_req_encode(&pb, g);
	codec_get_init(&pr, pb.buf, pb.len);
	rv = plugin_msg_git_req_decode(&pr, back, err, errlen);
	codec_put_free(&pb);
	return rv;
}

Test(plugin_msg, round_trips)
{
	struct plugin_req	 r, rb;
	struct git_req		 g, gb;
	struct git_resp		 gr, grb;
	struct strlist		 l, lb;
	struct pbuf		 pb;
	struct preader		 pr;
	char			 err[256], e2[64], *json;
	int			 st, ok;

	memset(&r, 0, sizeof(r));
	r.op = PLUGIN_OP_RUN;
	strcpy(r.ns, "pool.loda");
	strcpy(r.repo, "git@h:g/p.git");
	r.timeout = 7;
	r.has_param = 1;
	strcpy(r.param, "-a b");
	r.redact = 1;
	codec_put_init(&pb);
	plugin_req_encode(&pb, &r);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(plugin_req_decode(&pr, &rb, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(memcmp(&r, &rb, sizeof(r)), 0);

	codec_put_reset(&pb);
	plugin_resp_encode(&pb, 409, "{\"error\":\"running\"}");
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(plugin_resp_decode(&pr, &st, &json, err, sizeof(err)), 0);
	cr_assert_eq(st, 409);
	cr_assert_str_eq(json, "{\"error\":\"running\"}");
	free(json);

	memset(&g, 0, sizeof(g));
	strcpy(g.ns, "pool.loda");
	strcpy(g.repo, "g/p");
	strcpy(g.project, "p");
	g.update = 1;
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&g, &gb, sizeof(g)), 0);
	/* a marker's, with the sweep's time */
	g.update = 0;
	g.mark = GIT_MARK_ENABLE;
	g.mark_before = 1764900000;
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&g, &gb, sizeof(g)), 0);
	g.mark = GIT_MARK_MAX;
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), -1);
	cr_assert(strstr(err, "marker operation 3") != NULL, "%s", err);
	g.mark = GIT_MARK_DISABLE;
	g.mark_before = -1;
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), -1);
	cr_assert(strstr(err, "out of range") != NULL, "%s", err);
	g.mark = GIT_MARK_NONE;
	g.mark_before = 0;
	strcpy(g.project, "..");
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), -1);
	/* the peer's bytes in the error are shown, never raw */
	strcpy(g.project, "a\x1b[2Jb");
	cr_assert_eq(git_req_trip(&g, &gb, err, sizeof(err)), -1);
	cr_assert(strstr(err, "project \"a\\x1b[2Jb\"") != NULL, "%s", err);
	cr_assert(strchr(err, '\x1b') == NULL, "%s", err);

	memset(&gr, 0, sizeof(gr));
	strcpy(gr.commit, "0123456789abcdef0123456789abcdef01234567");
	strcpy(gr.error, "git fetch: timed out after 120 s");
	codec_put_reset(&pb);
	plugin_msg_git_resp_encode(&pb, &gr);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(plugin_msg_git_resp_decode(&pr, &grb, err, sizeof(err)),
	    0);
	cr_assert_eq(memcmp(&gr, &grb, sizeof(gr)), 0);

	strlist_init(&l);
	strlist_init(&lb);
	cr_assert_eq(strlist_add(&l, "pool.loda"), 0);
	codec_put_reset(&pb);
	plugin_msg_namespaces_encode(&pb, 0, "registry: timed out", &l);
	codec_get_init(&pr, pb.buf, pb.len);
	cr_assert_eq(plugin_msg_namespaces_decode(&pr, &ok, e2, sizeof(e2), &lb,
	    err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(ok, 0);
	cr_assert_str_eq(e2, "registry: timed out");
	cr_assert_eq(lb.n, 1);
	cr_assert_str_eq(lb.v[0], "pool.loda");
	strlist_free(&l);
	strlist_free(&lb);
	codec_put_free(&pb);
}
