/*
 * What a JSON reader makes yajl's callbacks see, written down as text:
 * json_fast.c's plain reader is checked against yajl by comparing the
 * two (test_json_fast.c, tests/fuzz/fuzz_json_fast.c).  Header-only.
 *
 * Each event is one record: "[" "]" "{" "}" "null" "true" "false", and
 * "key:N:bytes", "str:N:bytes", "num:N:bytes" with N the length; records
 * end in '\n' (bytes may hold anything, N says where they end).  With
 * cancel_at > 0, the cancel_at-th event's callback returns 0.
 */
#ifndef AGENT_TEST_JSON_EVENTS_H
#define AGENT_TEST_JSON_EVENTS_H

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/buf.h"
#include "common/json_fast.h"

struct json_events {
	struct buf	 log;
	int		 n;
	int		 cancel_at;
};

static int
ev_note(struct json_events *e, const char *what, const void *p, size_t len)
{
	buf_adds(&e->log, what);
	if (p != NULL) {
		buf_printf(&e->log, ":%zu:", len);
		buf_add(&e->log, p, len);
	}
	buf_addc(&e->log, '\n');
	return ++e->n != e->cancel_at;
}

static int
ev_null(void *ctx)
{
	return ev_note(ctx, "null", NULL, 0);
}

static int
ev_bool(void *ctx, int v)
{
	return ev_note(ctx, v ? "true" : "false", NULL, 0);
}

static int
ev_num(void *ctx, const char *s, size_t len)
{
	return ev_note(ctx, "num", s, len);
}

static int
ev_str(void *ctx, const unsigned char *s, size_t len)
{
	return ev_note(ctx, "str", s, len);
}

static int
ev_key(void *ctx, const unsigned char *s, size_t len)
{
	return ev_note(ctx, "key", s, len);
}

static int
ev_smap(void *ctx)
{
	return ev_note(ctx, "{", NULL, 0);
}

static int
ev_emap(void *ctx)
{
	return ev_note(ctx, "}", NULL, 0);
}

static int
ev_sarr(void *ctx)
{
	return ev_note(ctx, "[", NULL, 0);
}

static int
ev_earr(void *ctx)
{
	return ev_note(ctx, "]", NULL, 0);
}

static const yajl_callbacks json_events_cb = {
	ev_null, ev_bool, NULL, NULL, ev_num, ev_str, ev_smap, ev_key, ev_emap,
	ev_sarr, ev_earr
};

static void
json_events_init(struct json_events *e, int cancel_at)
{
	buf_init(&e->log);
	e->n = 0;
	e->cancel_at = cancel_at;
}

/* yajl with the points' settings (its defaults), as points_json.c runs it */
static yajl_status
json_events_yajl(struct json_events *e, const char *text, size_t len)
{
	yajl_handle	 h;
	yajl_status	 st;

	if ((h = yajl_alloc(&json_events_cb, NULL, e)) == NULL)
		return yajl_status_error;
	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	return st;
}

static enum json_fast_status
json_events_fast(struct json_events *e, const char *text, size_t len)
{
	return json_fast_parse(&json_events_cb, e, text, len);
}

/*
 * 0 when the plain reader agrees with yajl on text (or leaves it to
 * yajl), else 1 and what differs in why; the plain reader's status in
 * *fst.
 */
static int
json_events_differ(const char *text, size_t len, int cancel_at,
    enum json_fast_status *fst, char *why, size_t whylen)
{
	struct json_events	 f, y;
	yajl_status		 yst;
	int			 rv = 0;

	json_events_init(&f, cancel_at);
	json_events_init(&y, cancel_at);
	*fst = json_events_fast(&f, text, len);
	if (*fst != JSON_FAST_NOT_PLAIN) {
		yst = json_events_yajl(&y, text, len);
		rv = 1;
		if (*fst == JSON_FAST_OK && yst != yajl_status_ok)
			snprintf(why, whylen, "the plain reader took what "
			    "yajl refuses");
		else if (*fst == JSON_FAST_CANCELED &&
		    yst != yajl_status_client_canceled)
			snprintf(why, whylen, "the plain reader stopped where "
			    "yajl did not");
		else if (f.log.len != y.log.len || (f.log.len > 0 &&
		    memcmp(f.log.p, y.log.p, f.log.len) != 0))
			snprintf(why, whylen, "other events: plain \"%.100s\", "
			    "yajl \"%.100s\"", buf_str(&f.log), buf_str(&y.log));
		else
			rv = 0;
	}
	buf_free(&f.log);
	buf_free(&y.log);
	return rv;
}

#endif
