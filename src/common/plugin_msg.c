#include "plugin_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "items.h"
#include "log.h"

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
	codec_put_u32(pb, (uint32_t)r->op);
	codec_put_str(pb, r->ns);
	codec_put_str(pb, r->repo);
	codec_put_u32(pb, r->timeout);
	codec_put_bool(pb, r->has_param);
	codec_put_str(pb, r->param);
	codec_put_bool(pb, r->redact);
}

int
plugin_req_decode(struct preader *pr, struct plugin_req *r, char *err,
    size_t errlen)
{
	uint32_t	 op;

	memset(r, 0, sizeof(*r));
	op = codec_get_u32(pr);
	(void)codec_get_strbuf(pr, r->ns, sizeof(r->ns));
	(void)codec_get_strbuf(pr, r->repo, sizeof(r->repo));
	r->timeout = codec_get_u32(pr);
	r->has_param = codec_get_bool(pr);
	(void)codec_get_strbuf(pr, r->param, sizeof(r->param));
	r->redact = codec_get_bool(pr);
	if (codec_get_end(pr) == -1)
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
	codec_put_u32(pb, (uint32_t)status);
	codec_put_str(pb, json);
}

int
plugin_resp_decode(struct preader *pr, int *status, char **json, char *err,
    size_t errlen)
{
	uint32_t	 st;

	*json = NULL;
	st = codec_get_u32(pr);
	*json = codec_get_str(pr);
	if (codec_get_end(pr) == -1) {
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
plugin_msg_git_req_encode(struct pbuf *pb, const struct git_req *r)
{
	codec_put_str(pb, r->ns);
	codec_put_str(pb, r->repo);
	codec_put_str(pb, r->project);
	codec_put_bool(pb, r->update);
	codec_put_u32(pb, (uint32_t)r->mark);
	codec_put_i64(pb, r->mark_before);
	codec_put_bool(pb, r->urgent);
}

int
plugin_msg_git_req_decode(struct preader *pr, struct git_req *r, char *err,
    size_t errlen)
{
	uint32_t	 mark;
	char		 ns[64 * 4 + 1], project[sizeof(ns)];

	memset(r, 0, sizeof(*r));
	(void)codec_get_strbuf(pr, r->ns, sizeof(r->ns));
	(void)codec_get_strbuf(pr, r->repo, sizeof(r->repo));
	(void)codec_get_strbuf(pr, r->project, sizeof(r->project));
	r->update = codec_get_bool(pr);
	mark = codec_get_u32(pr);
	r->mark_before = codec_get_i64(pr);
	r->urgent = codec_get_bool(pr);
	if (codec_get_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	if (mark >= GIT_MARK_MAX || r->mark_before < 0) {
		snprintf(err, errlen, "marker operation %u, before %lld: out "
		    "of range", mark, (long long)r->mark_before);
		return -1;
	}
	r->mark = (enum git_mark)mark;
	/* Both become path components of pluginsdir/<ns>/<project>. */
	if (!items_path_component_valid(r->ns)
	    || !items_path_component_valid(r->project)) {
		/* the peer's bytes, shown: never raw control characters */
		log_escape_all(ns, sizeof(ns), r->ns);
		log_escape_all(project, sizeof(project), r->project);
		snprintf(err, errlen, "ns \"%.64s\" or project \"%.64s\" "
		    "cannot be a directory name", ns, project);
		return -1;
	}
	return 0;
}

void
plugin_msg_git_resp_encode(struct pbuf *pb, const struct git_resp *r)
{
	codec_put_bool(pb, r->ok);
	codec_put_bool(pb, r->untrusted);
	codec_put_bool(pb, r->kept);
	codec_put_str(pb, r->commit);
	codec_put_str(pb, r->error);
	codec_put_str(pb, r->signer);
	codec_put_bool(pb, r->recheck);
	codec_put_bool(pb, r->stopped);
}

int
plugin_msg_git_resp_decode(struct preader *pr, struct git_resp *r, char *err,
    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->ok = codec_get_bool(pr);
	r->untrusted = codec_get_bool(pr);
	r->kept = codec_get_bool(pr);
	(void)codec_get_strbuf(pr, r->commit, sizeof(r->commit));
	(void)codec_get_strbuf(pr, r->error, sizeof(r->error));
	(void)codec_get_strbuf(pr, r->signer, sizeof(r->signer));
	r->recheck = codec_get_bool(pr);
	r->stopped = codec_get_bool(pr);
	if (codec_get_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	if (r->ok && r->untrusted) {
		snprintf(err, errlen, "an answer both ok and untrusted");
		return -1;
	}
	if (r->stopped && (r->ok || r->untrusted)) {
		snprintf(err, errlen, "an answer both stopped and %s",
		    r->ok ? "ok" : "untrusted");
		return -1;
	}
	return 0;
}

void
plugin_msg_namespaces_encode(struct pbuf *pb, int ok, const char *error,
    const struct strlist *l)
{
	size_t	 i;

	codec_put_bool(pb, ok);
	codec_put_str(pb, error);
	codec_put_u32(pb, (uint32_t)l->n);
	for (i = 0; i < l->n; i++)
		codec_put_str(pb, l->v[i]);
}

int
plugin_msg_namespaces_decode(struct preader *pr, int *ok, char *error,
    size_t errorlen,
    struct strlist *l, char *err, size_t errlen)
{
	uint32_t	 n, i;
	char		*s;

	*ok = codec_get_bool(pr);
	(void)codec_get_strbuf(pr, error, errorlen);
	n = codec_get_u32(pr);
	if (pr->failed)
		return dec_fail(pr, err, errlen, "");
	if (n > NAMESPACES_MAX) {
		snprintf(err, errlen, "%u namespaces, at most %d", n,
		    NAMESPACES_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((s = codec_get_str(pr)) == NULL)
			return dec_fail(pr, err, errlen, "");
		if (strlist_add(l, s) == -1) {
			free(s);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(s);
	}
	if (codec_get_end(pr) == -1)
		return dec_fail(pr, err, errlen, "");
	return 0;
}
