#include "plugin_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "items.h"

static const char *const plugin_op_names[PLUGIN_OP_MAX] = {
	[PLUGIN_OP_LIST] = "list",
	[PLUGIN_OP_RUN] = "run",
	[PLUGIN_OP_UPDATE] = "update",
	[PLUGIN_OP_ENABLE] = "enable",
	[PLUGIN_OP_DISABLE] = "disable",
};

#define NAMESPACES_MAX		1024

const char *
plugin_op_name(enum plugin_op op)
{
	if ((unsigned)op >= PLUGIN_OP_MAX)
		return "unknown";
	return plugin_op_names[op];
}

/* The reader's error, or ours when the reader had none. */
static int
dec_fail(struct preader *pr, char *err, size_t errlen, const char *what)
{
	if (pr->failed)
		snprintf(err, errlen, "%s", pr->err);
	else
		snprintf(err, errlen, "%s", what);
	return -1;
}

void
plugin_req_encode(struct pbuf *pb, const struct plugin_req *r)
{
	pb_u32(pb, (uint32_t)r->op);
	pb_str(pb, r->ns);
	pb_str(pb, r->repo);
	pb_u32(pb, r->timeout);
	pb_bool(pb, r->has_param);
	pb_str(pb, r->param);
}

int
plugin_req_decode(struct preader *pr, struct plugin_req *r, char *err,
    size_t errlen)
{
	uint32_t	 op;

	memset(r, 0, sizeof(*r));
	op = pr_u32(pr);
	(void)pr_strbuf(pr, r->ns, sizeof(r->ns));
	(void)pr_strbuf(pr, r->repo, sizeof(r->repo));
	r->timeout = pr_u32(pr);
	r->has_param = pr_bool(pr);
	(void)pr_strbuf(pr, r->param, sizeof(r->param));
	if (pr_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	if (op >= PLUGIN_OP_MAX) {
		snprintf(err, errlen, "unknown plugin operation %u", op);
		return -1;
	}
	r->op = (enum plugin_op)op;
	return 0;
}

void
plugin_resp_encode(struct pbuf *pb, int status, const char *json)
{
	pb_u32(pb, (uint32_t)status);
	pb_str(pb, json);
}

int
plugin_resp_decode(struct preader *pr, int *status, char **json, char *err,
    size_t errlen)
{
	uint32_t	 st;

	*json = NULL;
	st = pr_u32(pr);
	*json = pr_str(pr);
	if (pr_end(pr) == -1) {
		free(*json);
		*json = NULL;
		return dec_fail(pr, err, errlen, "");
	}
	if (st < 100 || st > 599) {
		free(*json);
		*json = NULL;
		snprintf(err, errlen, "HTTP status %u out of range", st);
		return -1;
	}
	*status = (int)st;
	return 0;
}

void
git_req_encode(struct pbuf *pb, const struct git_req *r)
{
	pb_str(pb, r->ns);
	pb_str(pb, r->repo);
	pb_str(pb, r->project);
	pb_bool(pb, r->update);
}

int
git_req_decode(struct preader *pr, struct git_req *r, char *err,
    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	(void)pr_strbuf(pr, r->ns, sizeof(r->ns));
	(void)pr_strbuf(pr, r->repo, sizeof(r->repo));
	(void)pr_strbuf(pr, r->project, sizeof(r->project));
	r->update = pr_bool(pr);
	if (pr_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	/* Both become path components of pluginsdir/<ns>/<project>. */
	if (!path_component_valid(r->ns) || !path_component_valid(r->project)) {
		snprintf(err, errlen, "ns \"%.64s\" or project \"%.64s\" "
		    "cannot be a directory name", r->ns, r->project);
		return -1;
	}
	return 0;
}

void
git_resp_encode(struct pbuf *pb, const struct git_resp *r)
{
	pb_bool(pb, r->ok);
	pb_str(pb, r->commit);
	pb_str(pb, r->error);
}

int
git_resp_decode(struct preader *pr, struct git_resp *r, char *err,
    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->ok = pr_bool(pr);
	(void)pr_strbuf(pr, r->commit, sizeof(r->commit));
	(void)pr_strbuf(pr, r->error, sizeof(r->error));
	if (pr_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	return 0;
}

void
namespaces_encode(struct pbuf *pb, int ok, const char *error,
    const struct strlist *l)
{
	size_t	 i;

	pb_bool(pb, ok);
	pb_str(pb, error);
	pb_u32(pb, (uint32_t)l->n);
	for (i = 0; i < l->n; i++)
		pb_str(pb, l->v[i]);
}

int
namespaces_decode(struct preader *pr, int *ok, char *error, size_t errorlen,
    struct strlist *l, char *err, size_t errlen)
{
	uint32_t	 n, i;
	char		*s;

	*ok = pr_bool(pr);
	(void)pr_strbuf(pr, error, errorlen);
	n = pr_u32(pr);
	if (pr->failed)
		return dec_fail(pr, err, errlen, "");
	if (n > NAMESPACES_MAX) {
		snprintf(err, errlen, "%u namespaces, at most %d", n,
		    NAMESPACES_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((s = pr_str(pr)) == NULL)
			return dec_fail(pr, err, errlen, "");
		if (strlist_add(l, s) == -1) {
			free(s);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(s);
	}
	if (pr_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	return 0;
}
