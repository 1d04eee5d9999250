/*
 * Requests about plugins between workers:
 *   MSG_PLUGIN_REQ/RESP  front -> scheduler: the /plugins/ API; the answer
 *                        is the HTTP status and JSON body to send back;
 *   MSG_GIT_REQ/RESP     scheduler -> gitpull: make sure a checkout exists
 *                        (and, when asked, update it); the commit it is at;
 *                        or make or remove a plugin's disable marker
 *                        (gitpull owns pluginsdir: plugins cannot write
 *                        there);
 *   MSG_REFRESH          front -> fetcher: ask the registry now (empty);
 *   MSG_NAMESPACES       fetcher -> front: the host's namespaces, after a
 *                        refresh (reqid of the MSG_REFRESH) or when they
 *                        change (reqid 0).
 * The request id of the frame pairs an answer with its request.
 */
#ifndef AGENT_PLUGIN_MSG_H
#define AGENT_PLUGIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pbuf;
struct preader;

enum plugin_op {
	PLUGIN_OP_LIST = 0,
	PLUGIN_OP_RUN,
	PLUGIN_OP_UPDATE,
	PLUGIN_OP_ENABLE,
	PLUGIN_OP_DISABLE,
	PLUGIN_OP_MAX
};

const char	*plugin_op_name(enum plugin_op);

#define PLUGIN_PARAM_MAX	4096

struct plugin_req {
	enum plugin_op	 op;
	char		 ns[256];
	char		 repo[512];	/* as given: git@host:group/p.git */
	uint32_t	 timeout;	/* run: seconds, 0 = default */
	int		 has_param;
	char		 param[PLUGIN_PARAM_MAX];
	int		 redact;	/* list: leave out params and stderr */
};

void	 plugin_req_encode(struct pbuf *, const struct plugin_req *);
int	 plugin_req_decode(struct preader *, struct plugin_req *, char *err,
	    size_t errlen);

/* The answer: an HTTP status and a JSON document. */
void	 plugin_resp_encode(struct pbuf *, int status, const char *json);
/* *json is a NUL-terminated copy the caller frees. */
int	 plugin_resp_decode(struct preader *, int *status, char **json,
	    char *err, size_t errlen);

/*
 * The disable markers' directory inside pluginsdir (the Go agent's
 * name): made by the master, written by gitpull, read by the scheduler.
 */
#define PLUGIN_MARKER_DIR	"plugin.disabled"

/* What a MSG_GIT_REQ asks for besides a checkout. */
enum git_mark {
	GIT_MARK_NONE = 0,	/* the checkout */
	GIT_MARK_DISABLE,	/* make pluginsdir/plugin.disabled/<ns>|<project> */
	GIT_MARK_ENABLE,	/* remove it */
	GIT_MARK_MAX
};

struct git_req {
	char		 ns[256];
	char		 repo[512];	/* group/project */
	char		 project[256];
	int		 update;	/* fetch and reset to the branch */
	enum git_mark	 mark;		/* not NONE: the marker only */
	/*
	 * ENABLE: remove only a marker last touched at or before this time
	 * of day (the sweep's; a disable made since stays); 0: any.
	 */
	int64_t		 mark_before;
	/*
	 * A client waits for the answer (/plugins/run, /plugins/update):
	 * ahead of the registry's new plugins, whose clones may each take
	 * [agent] gittimeout.
	 */
	int		 urgent;
};

/*
 * ok: the checkout is at `commit` (verified, with [agent] gitsigners).
 * !ok && untrusted: the signature check refused a commit (the error is
 * "untrusted: <reason>"); with `kept` the checkout stayed where it was
 * (an update's new tip was refused), without it there is no checkout to
 * run (a first clone, or the checked-out commit itself was refused).
 */
struct git_resp {
	int		 ok;
	int		 untrusted;
	int		 kept;
	char		 commit[64];	/* full hex id, "" when unknown */
	char		 error[1024];	/* when !ok: what failed and why */
	char		 signer[256];	/* ok, verified: who signed, and with
					 * which key */
	/*
	 * Unasked (request id 0): gitsigners or gitsignedtags changed, and
	 * gitpull checks with the new ones from now on: every checkout
	 * must be checked again before it runs again (a key taken out of
	 * gitsigners, say a leaked one, must stop what it signed).
	 */
	int		 recheck;
	/*
	 * Not ok because gitpull stops with the agent (a git it killed, a
	 * request it no longer takes): no failure of the plugin's, said as
	 * such by the scheduler, which may not know yet that it stops too.
	 */
	int		 stopped;
};

void	 plugin_msg_git_req_encode(struct pbuf *, const struct git_req *);
int	 plugin_msg_git_req_decode(struct preader *, struct git_req *,
    char *err,
	    size_t errlen);
void	 plugin_msg_git_resp_encode(struct pbuf *, const struct git_resp *);
int	 plugin_msg_git_resp_decode(struct preader *, struct git_resp *,
    char *err,
	    size_t errlen);

/* ok = the refresh worked; error says why not; namespaces in any case
 * (the ones in use). */
void	 plugin_msg_namespaces_encode(struct pbuf *, int ok, const char *error,
	    const struct strlist *);
int	 plugin_msg_namespaces_decode(struct preader *, int *ok, char *error,
	    size_t errorlen, struct strlist *, char *err, size_t errlen);

#endif
