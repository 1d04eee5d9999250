/*
 * Requests that change things must come from a program, not from a web
 * page in a browser on (or near) this host (front_guard.c).
 */
#ifndef AGENT_FRONT_GUARD_H
#define AGENT_FRONT_GUARD_H

#include <stddef.h>

#include "front_http.h"
#include "strlist.h"

/*
 * 1 when a Host header value names this agent: an IPv4 literal or a
 * bracketed IPv6 literal, "localhost", `self' (the host's name) or one
 * of `names', each with an optional ":port"; names compare without
 * regard to case.  0 for anything else, "" included.
 */
int		 front_guard_host_ok(const char *host, const char *self,
		    const struct strlist *names);

/*
 * NULL when the request may change things as far as browsers go, else
 * why not (in buf): it carries Origin (any value), or Sec-Fetch-Site
 * other than "none", or, over TCP, a Host that does not name this agent
 * (DNS rebinding).  A request without Host passes that check: browsers
 * always send one.
 */
const char	*front_guard_why(const struct http_request *,
		    const char *self, const struct strlist *names, char *buf,
		    size_t len);

struct front;

/*
 * front_guard_why() with this host's name and [agent] hostnames; logs
 * and answers 403 when refused.  1: go on, 0: answered.
 */
int		 front_guard_check(struct front *, struct http_request *);
/* The same question without answering: 1 when not refused. */
int		 front_guard_pass(struct front *, const struct http_request *);

#endif
