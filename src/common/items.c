#include "items.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "codec.h"

static const char *const sys_type_names[SYS_TYPE_MAX] = {
	[SYS_CPU] = "CPU",
	[SYS_MEM] = "MEM",
	[SYS_DISK] = "DISK",
	[SYS_NET] = "NET",
	[SYS_FS] = "FS",
	[SYS_KERNEL] = "KERNEL",
	[SYS_TIME] = "TIME",
	[SYS_COREDUMP] = "COREDUMP",
	[SYS_DEV] = "DEV",
	[SYS_PORT] = "PORT",
	[SYS_PROC] = "PROC",
};

/* The Go agent's DEFAULT_INTERVAL (lodastack-protocols.md section 2.2). */
static const int64_t sys_type_defaults[SYS_TYPE_MAX] = {
	[SYS_CPU] = 10, [SYS_MEM] = 10, [SYS_DISK] = 10, [SYS_NET] = 10,
	[SYS_FS] = 300, [SYS_KERNEL] = 300, [SYS_TIME] = 300,
	[SYS_COREDUMP] = 60, [SYS_DEV] = 300, [SYS_PORT] = 60,
	[SYS_PROC] = 60,
};

/* Upper bound of a decoded list, so a bad frame cannot ask for much. */
#define ITEMS_LIST_MAX	100000

const char *
items_sys_type_name(enum sys_type t)
{
	if ((unsigned)t >= SYS_TYPE_MAX)
		return "unknown";
	return sys_type_names[t];
}

int
items_sys_type_parse(const char *s, enum sys_type *out)
{
	int	 t;

	for (t = 0; t < SYS_TYPE_MAX; t++)
		if (strcmp(s, sys_type_names[t]) == 0) {
			*out = (enum sys_type)t;
			return 0;
		}
	return -1;
}

int64_t
items_sys_type_default_interval(enum sys_type t)
{
	if ((unsigned)t >= SYS_TYPE_MAX)
		return 0;
	return sys_type_defaults[t];
}

void
items_init(struct items *it)
{
	memset(it, 0, sizeof(*it));
	strlist_init(&it->namespaces);
}

void
items_plugin_free(struct plugin_item *p)
{
	free(p->ns);
	free(p->name);
	free(p->git);
	free(p->repo);
	free(p->project);
	strlist_free(&p->params);
}

void
items_port_free(struct port_item *p)
{
	free(p->ns);
	free(p->name);
}

void
items_proc_free(struct proc_item *p)
{
	free(p->ns);
	free(p->name);
	free(p->bin_path);
}

void
items_free(struct items *it)
{
	size_t	 i;

	strlist_free(&it->namespaces);
	for (i = 0; i < it->nplugins; i++)
		items_plugin_free(&it->plugins[i]);
	free(it->plugins);
	for (i = 0; i < it->nports; i++)
		items_port_free(&it->ports[i]);
	free(it->ports);
	for (i = 0; i < it->nprocs; i++)
		items_proc_free(&it->procs[i]);
	free(it->procs);
	items_init(it);
}

/* strdup that maps NULL to "" so every string field is set. */
static char *
dupstr(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
items_add_plugin(struct items *it, const struct plugin_item *src)
{
	struct plugin_item	*v, *p;

	if ((v = reallocarray(it->plugins, it->nplugins + 1,
	    sizeof(*v))) == NULL)
		return -1;
	it->plugins = v;
	p = &v[it->nplugins];
	memset(p, 0, sizeof(*p));
	strlist_init(&p->params);
	p->interval = src->interval;
	if ((p->ns = dupstr(src->ns)) == NULL ||
	    (p->name = dupstr(src->name)) == NULL ||
	    (p->git = dupstr(src->git)) == NULL ||
	    (p->repo = dupstr(src->repo)) == NULL ||
	    (p->project = dupstr(src->project)) == NULL ||
	    strlist_copy(&p->params, &src->params) == -1) {
		items_plugin_free(p);
		return -1;
	}
	it->nplugins++;
	return 0;
}

int
items_add_port(struct items *it, const struct port_item *src)
{
	struct port_item	*v, *p;

	if ((v = reallocarray(it->ports, it->nports + 1, sizeof(*v))) == NULL)
		return -1;
	it->ports = v;
	p = &v[it->nports];
	*p = *src;
	p->ns = dupstr(src->ns);
	p->name = dupstr(src->name);
	if (p->ns == NULL || p->name == NULL) {
		free(p->ns);
		free(p->name);
		return -1;
	}
	it->nports++;
	return 0;
}

int
items_add_proc(struct items *it, const struct proc_item *src)
{
	struct proc_item	*v, *p;

	if ((v = reallocarray(it->procs, it->nprocs + 1, sizeof(*v))) == NULL)
		return -1;
	it->procs = v;
	p = &v[it->nprocs];
	p->ns = dupstr(src->ns);
	p->name = dupstr(src->name);
	p->bin_path = dupstr(src->bin_path);
	if (p->ns == NULL || p->name == NULL || p->bin_path == NULL) {
		free(p->ns);
		free(p->name);
		free(p->bin_path);
		return -1;
	}
	it->nprocs++;
	return 0;
}

int64_t
items_interval(const struct items *it, enum sys_type t)
{
	int64_t	 v;

	if ((unsigned)t >= SYS_TYPE_MAX)
		return ITEM_MIN_INTERVAL;
	v = it->intervals[t] > 0 ? it->intervals[t] : sys_type_defaults[t];
	return v < ITEM_MIN_INTERVAL ? ITEM_MIN_INTERVAL : v;
}

static void
enc_strlist(struct pbuf *pb, const struct strlist *l)
{
	size_t	 i;

	codec_put_u32(pb, (uint32_t)l->n);
	for (i = 0; i < l->n; i++)
		codec_put_str(pb, l->v[i]);
}

void
items_encode(struct pbuf *pb, const struct items *it)
{
	const struct plugin_item	*p;
	size_t				 i;
	int				 t;

	enc_strlist(pb, &it->namespaces);
	codec_put_u32(pb, SYS_TYPE_MAX);
	for (t = 0; t < SYS_TYPE_MAX; t++)
		codec_put_i64(pb, it->intervals[t]);
	codec_put_u32(pb, (uint32_t)it->nplugins);
	for (i = 0; i < it->nplugins; i++) {
		p = &it->plugins[i];
		codec_put_str(pb, p->ns);
		codec_put_str(pb, p->name);
		codec_put_str(pb, p->git);
		codec_put_str(pb, p->repo);
		codec_put_str(pb, p->project);
		codec_put_i64(pb, p->interval);
		enc_strlist(pb, &p->params);
	}
	codec_put_u32(pb, (uint32_t)it->nports);
	for (i = 0; i < it->nports; i++) {
		codec_put_str(pb, it->ports[i].ns);
		codec_put_str(pb, it->ports[i].name);
		codec_put_u32(pb, (uint32_t)it->ports[i].port);
		codec_put_u32(pb, (uint32_t)it->ports[i].timeout);
	}
	codec_put_u32(pb, (uint32_t)it->nprocs);
	for (i = 0; i < it->nprocs; i++) {
		codec_put_str(pb, it->procs[i].ns);
		codec_put_str(pb, it->procs[i].name);
		codec_put_str(pb, it->procs[i].bin_path);
	}
}

/* A list length that the rest of the payload could hold at all. */
static int
dec_count(struct preader *pr, uint32_t *n, const char *what, char *err,
    size_t errlen)
{
	*n = codec_get_u32(pr);
	if (pr->failed)
		return -1;
	if (*n > ITEMS_LIST_MAX) {
		snprintf(err, errlen, "%s: %u entries, at most %d", what, *n,
		    ITEMS_LIST_MAX);
		return -1;
	}
	return 0;
}

static int
dec_strlist(struct preader *pr, struct strlist *l, const char *what,
    char *err, size_t errlen)
{
	uint32_t	 n, i;
	char		*s;

	if (dec_count(pr, &n, what, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((s = codec_get_str(pr)) == NULL)
			return -1;
		if (strlist_add(l, s) == -1) {
			free(s);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(s);
	}
	return 0;
}

static int
dec_plugin(struct preader *pr, struct items *it, char *err, size_t errlen)
{
	struct plugin_item	 p;
	char			 why[160];
	int			 r = -1;

	memset(&p, 0, sizeof(p));
	strlist_init(&p.params);
	p.ns = codec_get_str(pr);
	p.name = codec_get_str(pr);
	p.git = codec_get_str(pr);
	p.repo = codec_get_str(pr);
	p.project = codec_get_str(pr);
	p.interval = codec_get_i64(pr);
	if (pr->failed ||
	    dec_strlist(pr, &p.params, "plugin params", err, errlen) == -1)
		goto out;
	if (p.interval < 0 || !items_path_component_valid(p.project) ||
	    strlen(p.ns) > ITEM_NS_MAX || !items_path_component_valid(p.ns)) {
		snprintf(err, errlen, "plugin \"%.64s\" in \"%.64s\": bad "
		    "project, ns or interval", p.project, p.ns);
		goto out;
	}
	if (!items_plugin_names_fit(p.ns, p.project, why, sizeof(why))) {
		snprintf(err, errlen, "plugin in \"%.64s\": %s", p.ns, why);
		goto out;
	}
	if (items_add_plugin(it, &p) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = 0;
out:
	items_plugin_free(&p);
	return r;
}

int
items_decode(struct preader *pr, struct items *it, char *err, size_t errlen)
{
	struct port_item	 port;
	struct proc_item	 proc;
	uint32_t		 n, i;
	int			 t, r;

	err[0] = '\0';
	if (dec_strlist(pr, &it->namespaces, "namespaces", err, errlen) == -1)
		goto fail;
	if ((n = codec_get_u32(pr)) != SYS_TYPE_MAX && !pr->failed) {
		snprintf(err, errlen, "%u interval types, expected %d", n,
		    SYS_TYPE_MAX);
		goto fail;
	}
	for (t = 0; t < SYS_TYPE_MAX; t++)
		it->intervals[t] = codec_get_i64(pr);
	if (dec_count(pr, &n, "plugins", err, errlen) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (dec_plugin(pr, it, err, errlen) == -1)
			goto fail;
	if (dec_count(pr, &n, "ports", err, errlen) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		port.ns = codec_get_str(pr);
		port.name = codec_get_str(pr);
		port.port = (int)codec_get_u32(pr);
		port.timeout = (int)codec_get_u32(pr);
		r = pr->failed ? -1 : items_add_port(it, &port);
		free(port.ns);
		free(port.name);
		if (r == -1)
			goto fail;
	}
	if (dec_count(pr, &n, "procs", err, errlen) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		proc.ns = codec_get_str(pr);
		proc.name = codec_get_str(pr);
		proc.bin_path = codec_get_str(pr);
		r = pr->failed ? -1 : items_add_proc(it, &proc);
		free(proc.ns);
		free(proc.name);
		free(proc.bin_path);
		if (r == -1)
			goto fail;
	}
	if (codec_get_end(pr) == 0)
		return 0;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "%s", pr->failed ? pr->err :
		    "out of memory");
	return -1;
}

int
items_path_component_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '-' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n;
}

int
items_repo_from_git(const char *git, char *repo, size_t repolen, char *project,
    size_t projectlen, char *err, size_t errlen)
{
	const char	*colon, *start, *slash;
	size_t		 len;
	char		 group[256];

	if ((colon = strchr(git, ':')) != NULL) {
		start = colon + 1;
		len = strlen(start);
		if (len <= 4 || strcmp(start + len - 4, ".git") != 0) {
			snprintf(err, errlen, "git \"%.128s\": does not end in "
			    ".git", git);
			return -1;
		}
		len -= 4;
	} else {
		start = git;
		len = strlen(git);
	}
	slash = memchr(start, '/', len);
	if (slash == NULL || memchr(slash + 1, '/', len -
	    (size_t)(slash + 1 - start)) != NULL) {
		snprintf(err, errlen, "git \"%.128s\": not of the form "
		    "git@host:group/project.git", git);
		return -1;
	}
	if ((size_t)(slash - start) >= sizeof(group) || len >= repolen ||
	    len - (size_t)(slash + 1 - start) >= projectlen) {
		snprintf(err, errlen, "git \"%.128s\": too long", git);
		return -1;
	}
	memcpy(group, start, (size_t)(slash - start));
	group[slash - start] = '\0';
	memcpy(repo, start, len);
	repo[len] = '\0';
	memcpy(project, slash + 1, len - (size_t)(slash + 1 - start));
	project[len - (size_t)(slash + 1 - start)] = '\0';
	if (!items_path_component_valid(group)
	    || !items_path_component_valid(project)) {
		snprintf(err, errlen, "git \"%.128s\": group and project may "
		    "only hold [-_.a-zA-Z0-9], not start with - and not be "
		    "..", git);
		return -1;
	}
	/*
	 * Hidden names are gitpull's own in a checkout's directory: a
	 * project .clone-x-abcdef would be taken for an unfinished clone
	 * of x and removed.
	 */
	if (group[0] == '.' || project[0] == '.') {
		snprintf(err, errlen, "git \"%.128s\": group and project may "
		    "not start with a dot", git);
		return -1;
	}
	if (strlen(project) > ITEM_PROJECT_MAX) {
		snprintf(err, errlen, "git \"%.128s...\": its project is "
		    "longer than %d bytes (gitpull clones it into "
		    ".clone-<project>-XXXXXX, one file name)", git,
		    ITEM_PROJECT_MAX);
		return -1;
	}
	return 0;
}

int
items_plugin_names_fit(const char *ns, const char *project, char *why,
    size_t whylen)
{
	size_t	 n = strlen(ns), m = strlen(project);

	if (m > ITEM_PROJECT_MAX) {
		snprintf(why, whylen, "project \"%.64s...\" is longer than %d "
		    "bytes", project, ITEM_PROJECT_MAX);
		return 0;
	}
	if (n + 1 + m > NAME_MAX) {
		snprintf(why, whylen, "namespace and project are %zu bytes "
		    "together, over the %d of the disable marker's file name "
		    "<ns>|<project>", n + m, NAME_MAX - 1);
		return 0;
	}
	return 1;
}
