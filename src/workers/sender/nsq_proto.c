/*
 * NSQ client codec, producer side (see nsq_proto.h).
 *
 * Written from the protocol as published at
 * https://nsq.io/clients/tcp_protocol_spec.html (commands, the frame
 * layout and frame types) and https://nsq.io/components/nsqd.html (the
 * HTTP /mpub binary body and the size limit defaults).  Which errors
 * end the connection is nsqd's documented behaviour for "fatal" client
 * errors; see the comment above struct nsq_error.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "encode.h"
#include "jsonw.h"
#include "json_tree.h"
#include "nsq_proto.h"

/* nsqd reads every size as a signed 32-bit integer. */
#define NSQ_SIZE_MAX	((uint64_t)INT32_MAX)

#define READER_MIN	4096

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char	 p[4];

	p[0] = (v >> 24) & 0xff;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
	buf_add(b, p, sizeof(p));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ---- Topic names ---------------------------------------------------- */

static int
topic_char(unsigned char c)
{
	/* Explicit ranges: isalnum() would depend on the locale. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
nsq_topic_valid(const char *topic, const char **why)
{
	const char	*reason = NULL;
	size_t		 len, base, elen, i;

	elen = sizeof(NSQ_EPHEMERAL) - 1;
	/* strnlen: an absurdly long string is refused without a full scan. */
	len = topic == NULL ? 0 : strnlen(topic, NSQ_TOPIC_MAX + 1);
	base = len;
	if (len == 0)
		reason = "empty topic name";
	else if (len > NSQ_TOPIC_MAX)
		reason = "topic name longer than 64 bytes";
	else {
		if (len >= elen &&
		    memcmp(topic + len - elen, NSQ_EPHEMERAL, elen) == 0)
			base = len - elen;
		if (base == 0)
			reason = "topic name is only #ephemeral";
		for (i = 0; reason == NULL && i < base; i++)
			if (!topic_char((unsigned char)topic[i]))
				reason = "topic name has a byte outside "
				    "[.a-zA-Z0-9_-]";
	}
	if (why != NULL)
		*why = reason;
	return reason == NULL;
}

/* ---- Commands ------------------------------------------------------- */

int
nsq_enc_magic(struct buf *b)
{
	buf_add(b, NSQ_MAGIC_V2, NSQ_MAGIC_LEN);
	return buf_failed(b) ? -1 : 0;
}

int
nsq_enc_nop(struct buf *b)
{
	buf_add(b, "NOP\n", 4);
	return buf_failed(b) ? -1 : 0;
}



int
nsq_enc_identify(struct buf *b, const struct nsq_identify *id)
{
	struct buf	 js;
	struct jsonw	 w;
	int		 rc = 0;

	/* Out-of-range values would only earn an E_BAD_BODY and a hang-up. */
	if (id->heartbeat_ms != 0 && id->heartbeat_ms != -1 &&
	    id->heartbeat_ms < NSQ_HEARTBEAT_MIN)
		return -1;
	if (id->msg_timeout_ms != 0 && id->msg_timeout_ms < NSQ_MSG_TIMEOUT_MIN)
		return -1;

	buf_init(&js);
	jsonw_init(&w, &js, JSONW_GO);
	jsonw_map_open(&w);
	if (id->client_id != NULL) {
		jsonw_key(&w, "client_id");
		jsonw_string(&w, id->client_id);
	}
	if (id->hostname != NULL) {
		jsonw_key(&w, "hostname");
		jsonw_string(&w, id->hostname);
	}
	jsonw_key(&w, "user_agent");
	jsonw_string(&w, id->user_agent != NULL ? id->user_agent :
	    "agent/" PACKAGE_VERSION);
	jsonw_key(&w, "feature_negotiation");
	jsonw_bool(&w, 1);
	if (id->heartbeat_ms != 0) {
		jsonw_key(&w, "heartbeat_interval");
		jsonw_int64(&w, id->heartbeat_ms);
	}
	if (id->msg_timeout_ms != 0) {
		jsonw_key(&w, "msg_timeout");
		jsonw_int64(&w, id->msg_timeout_ms);
	}
	jsonw_map_close(&w);
	(void)jsonw_finish(&w);	/* a failure marks js failed */

	if (buf_failed(&js) || js.len > NSQ_SIZE_MAX)
		rc = -1;
	else {
		buf_add(b, "IDENTIFY\n", 9);
		put32(b, (uint32_t)js.len);
		buf_add(b, js.p, js.len);
		if (buf_failed(b))
			rc = -1;
	}
	buf_free(&js);
	return rc;
}

int
nsq_enc_pub(struct buf *b, const char *topic, const void *data, size_t len)
{
	/* nsqd refuses an empty message (E_BAD_MESSAGE) and hangs up. */
	if (!nsq_topic_valid(topic, NULL) || len == 0 || len > NSQ_SIZE_MAX)
		return -1;
	buf_add(b, "PUB ", 4);
	buf_adds(b, topic);
	buf_addc(b, '\n');
	put32(b, (uint32_t)len);
	buf_add(b, data, len);
	return buf_failed(b) ? -1 : 0;
}

uint64_t
nsq_mpub_body_size(const struct nsq_msg *m, size_t n)
{
	uint64_t	 sz = 4;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if ((uint64_t)m[i].len > UINT64_MAX - 4 - sz)
			return UINT64_MAX;
		sz += 4 + (uint64_t)m[i].len;
	}
	return sz;
}

/* Messages that can form a body at all: n >= 1, none empty, fits. */
static int
mpub_ok(const struct nsq_msg *m, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (m[i].len == 0)
			return 0;
	return nsq_mpub_body_size(m, n) <= NSQ_SIZE_MAX;
}

/* Count, then each message as size + bytes: MPUB and /mpub alike. */
static void
mpub_body(struct buf *b, const struct nsq_msg *m, size_t n)
{
	size_t	 i;

	put32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		put32(b, (uint32_t)m[i].len);
		buf_add(b, m[i].data, m[i].len);
	}
}

int
nsq_enc_mpub(struct buf *b, const char *topic, const struct nsq_msg *m,
    size_t n)
{
	if (!nsq_topic_valid(topic, NULL) || !mpub_ok(m, n))
		return -1;
	buf_add(b, "MPUB ", 5);
	buf_adds(b, topic);
	buf_addc(b, '\n');
	put32(b, (uint32_t)nsq_mpub_body_size(m, n));
	mpub_body(b, m, n);
	return buf_failed(b) ? -1 : 0;
}

/* ---- HTTP API ------------------------------------------------------- */

static int
http_path(struct buf *b, const char *path, const char *topic,
    const char *tail)
{
	const char	*s;

	if (!nsq_topic_valid(topic, NULL))
		return -1;
	buf_adds(b, path);
	for (s = topic; *s != '\0'; s++) {
		/* A bare '#' would start the URL's fragment. */
		if (*s == '#')
			buf_add(b, "%23", 3);
		else
			buf_addc(b, *s);
	}
	buf_adds(b, tail);
	return buf_failed(b) ? -1 : 0;
}

int
nsq_http_pub_path(struct buf *b, const char *topic)
{
	return http_path(b, "/pub?topic=", topic, "");
}

int
nsq_http_mpub_path(struct buf *b, const char *topic)
{
	return http_path(b, "/mpub?topic=", topic, "&binary=true");
}

int
nsq_http_mpub_body(struct buf *b, const struct nsq_msg *m, size_t n)
{
	if (!mpub_ok(m, n))
		return -1;
	mpub_body(b, m, n);
	return buf_failed(b) ? -1 : 0;
}

/* ---- Limits and the splitter ---------------------------------------- */

void
nsq_limits_default(struct nsq_limits *l)
{
	l->max_msg_size = NSQ_DEF_MAX_MSG_SIZE;
	l->max_body_size = NSQ_DEF_MAX_BODY_SIZE;
}

/* The limits in force: 0 means nsqd's default, nothing above INT32_MAX. */
static void
limits_eff(const struct nsq_limits *l, uint64_t *msg, uint64_t *body)
{
	*msg = l != NULL && l->max_msg_size != 0 ?
	    l->max_msg_size : NSQ_DEF_MAX_MSG_SIZE;
	*body = l != NULL && l->max_body_size != 0 ?
	    l->max_body_size : NSQ_DEF_MAX_BODY_SIZE;
	if (*msg > NSQ_SIZE_MAX)
		*msg = NSQ_SIZE_MAX;
	if (*body > NSQ_SIZE_MAX)
		*body = NSQ_SIZE_MAX;
}

const char *
nsq_limits_check(const struct nsq_limits *l)
{
	uint64_t	 msg, body;

	if ((uint64_t)l->max_msg_size > NSQ_SIZE_MAX)
		return "max_msg_size above 2147483647";
	if ((uint64_t)l->max_body_size > NSQ_SIZE_MAX)
		return "max_body_size above 2147483647";
	limits_eff(l, &msg, &body);
	if (body < msg + 8)
		return "max_body_size below max_msg_size + 8 "
		    "(one MPUB must hold one message)";
	return NULL;
}

static enum nsq_plan_kind
msg_kind(const struct nsq_msg *m, uint64_t msg, uint64_t body)
{
	if (m->len == 0)
		return NSQ_PLAN_EMPTY;
	/* Alone in an MPUB it takes 4 (count) + 4 (size) + len bytes. */
	if ((uint64_t)m->len > msg || (uint64_t)m->len + 8 > body)
		return NSQ_PLAN_TOO_BIG;
	return NSQ_PLAN_BATCH;
}

int
nsq_split_next(const struct nsq_limits *l, const struct nsq_msg *m,
    size_t n, size_t *pos, struct nsq_plan *out)
{
	uint64_t	 msg, body, sz;
	size_t		 i, j;

	if (*pos >= n)
		return 0;
	limits_eff(l, &msg, &body);
	i = *pos;
	memset(out, 0, sizeof(*out));
	out->first = i;
	out->kind = msg_kind(&m[i], msg, body);
	if (out->kind != NSQ_PLAN_BATCH) {
		out->count = 1;
		*pos = i + 1;
		return 1;
	}
	/* Greedy: the first message fits by msg_kind(), add while room. */
	sz = 4;
	for (j = i; j < n; j++) {
		if (msg_kind(&m[j], msg, body) != NSQ_PLAN_BATCH ||
		    sz + 4 + (uint64_t)m[j].len > body)
			break;
		sz += 4 + (uint64_t)m[j].len;
	}
	out->count = j - i;
	out->body = sz;
	*pos = j;
	return 1;
}

/* ---- Frame reader --------------------------------------------------- */

void
nsq_reader_init(struct nsq_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max != 0 ? max : NSQ_FRAME_MAX_DEFAULT;
}

void
nsq_reader_free(struct nsq_reader *r)
{
	free(r->p);
	r->p = NULL;
	r->off = r->len = r->cap = 0;
}

static int
reader_fail(struct nsq_reader *r, const char *fmt, unsigned long long v)
{
	r->failed = 1;
	(void)snprintf(r->err, sizeof(r->err), fmt, v);
	return -1;
}

int
nsq_reader_push(struct nsq_reader *r, const void *data, size_t n)
{
	size_t	 cap;
	uint8_t	*p;

	if (r->failed)
		return -1;
	if (n == 0)
		return 0;
	/* Frames already returned are gone: move the partial one down. */
	if (r->off > 0) {
		memmove(r->p, r->p + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (n > SIZE_MAX - r->len) {
		r->failed = 1;
		(void)snprintf(r->err, sizeof(r->err), "out of memory");
		return -1;
	}
	if (r->len + n > r->cap) {
		cap = r->cap < READER_MIN ? READER_MIN : r->cap;
		while (cap < r->len + n)
			cap = cap > SIZE_MAX / 2 ? r->len + n : cap * 2;
		if ((p = realloc(r->p, cap)) == NULL) {
			r->failed = 1;
			(void)snprintf(r->err, sizeof(r->err),
			    "out of memory");
			return -1;
		}
		r->p = p;
		r->cap = cap;
	}
	memcpy(r->p + r->len, data, n);
	r->len += n;
	return 0;
}

int
nsq_reader_next(struct nsq_reader *r, struct nsq_frame *f)
{
	size_t		 avail;
	uint32_t	 size, type;

	if (r->failed)
		return -1;
	avail = r->len - r->off;
	if (avail < 4)
		return 0;
	size = get32(r->p + r->off);
	/* The size counts the 4-byte frame type, so it is at least 4. */
	if (size < 4)
		return reader_fail(r, "NSQ frame size %llu below 4",
		    (unsigned long long)size);
	if (size > r->max) {
		/* The limit is in the message: it tells what to raise. */
		r->failed = 1;
		(void)snprintf(r->err, sizeof(r->err),
		    "NSQ frame size %lu above the maximum %zu",
		    (unsigned long)size, r->max);
		return -1;
	}
	if (avail < 8)
		return 0;
	type = get32(r->p + r->off + 4);
	if (type > NSQ_FRAME_MESSAGE)
		return reader_fail(r, "unknown NSQ frame type %llu",
		    (unsigned long long)type);
	if (avail - 4 < size)
		return 0;
	f->type = (enum nsq_frame_type)type;
	f->data = r->p + r->off + 8;
	f->len = size - 4;
	r->off += 4 + (size_t)size;
	return 1;
}

size_t
nsq_reader_pending(const struct nsq_reader *r)
{
	return r->len - r->off;
}

const char *
nsq_reader_error(const struct nsq_reader *r)
{
	return r->failed ? r->err : NULL;
}

/* ---- Classification ------------------------------------------------- */

static int
data_is(const struct nsq_frame *f, const char *s)
{
	size_t	 n = strlen(s);

	return f->len == n && memcmp(f->data, s, n) == 0;
}

enum nsq_kind
nsq_frame_kind(const struct nsq_frame *f)
{
	switch (f->type) {
	case NSQ_FRAME_ERROR:
		return NSQ_K_ERROR;
	case NSQ_FRAME_MESSAGE:
		return NSQ_K_MESSAGE;
	case NSQ_FRAME_RESPONSE:
		break;
	}
	if (data_is(f, "OK"))
		return NSQ_K_OK;
	if (data_is(f, "_heartbeat_"))
		return NSQ_K_HEARTBEAT;
	if (data_is(f, "CLOSE_WAIT"))
		return NSQ_K_CLOSE_WAIT;
	if (f->len > 0 && f->data[0] == '{')
		return NSQ_K_JSON;
	return NSQ_K_RESPONSE;
}

/* ---- Errors --------------------------------------------------------- */

/*
 * fatal: nsqd hangs up after sending it (all but the three consumer
 * errors about one in-flight message).  permanent: about the content
 * of the command, so the same bytes are refused again.
 */
static const struct {
	const char	*name;
	enum nsq_ecode	 code;
	int		 fatal;
	int		 permanent;
} ecodes[] = {
	{ "E_INVALID",		NSQ_E_INVALID,		1, 0 },
	{ "E_BAD_BODY",		NSQ_E_BAD_BODY,		1, 1 },
	{ "E_BAD_TOPIC",	NSQ_E_BAD_TOPIC,	1, 1 },
	{ "E_BAD_CHANNEL",	NSQ_E_BAD_CHANNEL,	1, 1 },
	{ "E_BAD_MESSAGE",	NSQ_E_BAD_MESSAGE,	1, 1 },
	{ "E_PUB_FAILED",	NSQ_E_PUB_FAILED,	1, 0 },
	{ "E_MPUB_FAILED",	NSQ_E_MPUB_FAILED,	1, 0 },
	{ "E_DPUB_FAILED",	NSQ_E_DPUB_FAILED,	1, 0 },
	{ "E_FIN_FAILED",	NSQ_E_FIN_FAILED,	0, 0 },
	{ "E_REQ_FAILED",	NSQ_E_REQ_FAILED,	0, 0 },
	{ "E_TOUCH_FAILED",	NSQ_E_TOUCH_FAILED,	0, 0 },
	{ "E_SUB_FAILED",	NSQ_E_SUB_FAILED,	1, 0 },
	{ "E_IDENTIFY_FAILED",	NSQ_E_IDENTIFY_FAILED,	1, 0 },
	{ "E_AUTH_FIRST",	NSQ_E_AUTH_FIRST,	1, 0 },
	{ "E_AUTH_FAILED",	NSQ_E_AUTH_FAILED,	1, 0 },
	{ "E_AUTH_DISABLED",	NSQ_E_AUTH_DISABLED,	1, 0 },
	{ "E_AUTH_ERROR",	NSQ_E_AUTH_ERROR,	1, 0 },
	{ "E_UNAUTHORIZED",	NSQ_E_UNAUTHORIZED,	1, 0 },
};

const char *
nsq_ecode_name(enum nsq_ecode c)
{
	size_t	 i;

	for (i = 0; i < sizeof(ecodes) / sizeof(ecodes[0]); i++)
		if (ecodes[i].code == c)
			return ecodes[i].name;
	return "E_OTHER";
}

/* Copy for logs and status pages: printable ASCII only, cut with "...". */
static void
printable(char *dst, size_t dstlen, const uint8_t *s, size_t n)
{
	size_t	 i, room = dstlen - 1;

	if (n > room) {
		n = room - 3;
		memcpy(dst + n, "...", 3);
		dst[n + 3] = '\0';
	} else
		dst[n] = '\0';
	for (i = 0; i < n; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
}

void
nsq_error_parse(const void *data, size_t len, struct nsq_error *e)
{
	const uint8_t	*s = data;
	size_t		 n, i;

	memset(e, 0, sizeof(*e));
	e->code = NSQ_E_OTHER;
	e->fatal = 1;
	printable(e->text, sizeof(e->text), s, len);

	for (n = 0; n < len; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			break;
	if (n < 3 || n >= sizeof(e->name) || memcmp(s, "E_", 2) != 0 ||
	    (n < len && s[n] != ' '))
		return;
	memcpy(e->name, s, n);
	e->name[n] = '\0';
	for (i = 0; i < sizeof(ecodes) / sizeof(ecodes[0]); i++)
		if (strcmp(ecodes[i].name, e->name) == 0) {
			e->code = ecodes[i].code;
			e->fatal = ecodes[i].fatal;
			e->permanent = ecodes[i].permanent;
			break;
		}
}

/* ---- IDENTIFY answer ------------------------------------------------ */

static void
sane_err(char *err, size_t errlen, const char *what, const char *detail)
{
	char	*p;

	if (err == NULL || errlen == 0)
		return;
	(void)snprintf(err, errlen, "%s%s%s", what,
	    detail != NULL && *detail != '\0' ? ": " : "",
	    detail != NULL ? detail : "");
	/* yajl's messages span lines and quote the input. */
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
}

int
nsq_identify_parse(const void *data, size_t len,
    struct nsq_identify_resp *r, char *err, size_t errlen)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} nums[] = {
	{ "max_rdy_count", offsetof(struct nsq_identify_resp, max_rdy_count) },
	{ "max_msg_timeout",
	    offsetof(struct nsq_identify_resp, max_msg_timeout) },
	{ "msg_timeout", offsetof(struct nsq_identify_resp, msg_timeout) },
	{ "output_buffer_size",
	    offsetof(struct nsq_identify_resp, output_buffer_size) },
	{ "output_buffer_timeout",
	    offsetof(struct nsq_identify_resp, output_buffer_timeout) },
	{ "sample_rate", offsetof(struct nsq_identify_resp, sample_rate) },
	{ "max_msg_size", offsetof(struct nsq_identify_resp, max_msg_size) },
	{ "max_body_size",
	    offsetof(struct nsq_identify_resp, max_body_size) },
	}, bools[] = {
	{ "tls_v1", offsetof(struct nsq_identify_resp, tls_v1) },
	{ "deflate", offsetof(struct nsq_identify_resp, deflate) },
	{ "snappy", offsetof(struct nsq_identify_resp, snappy) },
	{ "auth_required",
	    offsetof(struct nsq_identify_resp, auth_required) },
	};
	/* nsqd's answer is a flat object of a dozen keys */
	static const struct json_tree_opts lim = {
		NSQ_FRAME_MAX_DEFAULT, 8, 4 * 1024 * 1024, 0
	};
	char		 ebuf[160];
	yajl_val	 root, v;
	const char	*key;
	size_t		 i, k;

	memset(r, 0, sizeof(*r));
	for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
		*(int64_t *)(void *)((char *)r + nums[k].off) = NSQ_ABSENT;

	if (memchr(data, '\0', len) != NULL) {
		sane_err(err, errlen, "IDENTIFY answer holds a NUL byte",
		    NULL);
		return -1;
	}
	if ((root = json_tree_parse(data, len, &lim, ebuf,
	    sizeof(ebuf))) == NULL) {
		sane_err(err, errlen, "IDENTIFY answer is not JSON", ebuf);
		return -1;
	}
	if (!YAJL_IS_OBJECT(root)) {
		json_tree_free(root);
		sane_err(err, errlen, "IDENTIFY answer is not a JSON object",
		    NULL);
		return -1;
	}
	for (i = 0; i < root->u.object.len; i++) {
		key = root->u.object.keys[i];
		v = root->u.object.values[i];
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (strcmp(key, nums[k].key) == 0 &&
			    YAJL_IS_INTEGER(v))
				*(int64_t *)(void *)((char *)r + nums[k].off) =
				    YAJL_GET_INTEGER(v);
		for (k = 0; k < sizeof(bools) / sizeof(bools[0]); k++)
			if (strcmp(key, bools[k].key) == 0)
				*(int *)(void *)((char *)r + bools[k].off) =
				    YAJL_IS_TRUE(v);
		if (strcmp(key, "version") == 0 && YAJL_IS_STRING(v) &&
		    v->u.string != NULL)
			printable(r->version, sizeof(r->version),
			    (const uint8_t *)v->u.string, strlen(v->u.string));
	}
	json_tree_free(root);
	return 0;
}

const char *
nsq_identify_check(const struct nsq_identify_resp *r)
{
	if (r->auth_required)
		return "nsqd requires AUTH, which this client does not send";
	if (r->tls_v1)
		return "nsqd switched on TLS, which was not asked for";
	if (r->snappy || r->deflate)
		return "nsqd switched on compression, which was not asked for";
	return NULL;
}

void
nsq_limits_apply(struct nsq_limits *l, const struct nsq_identify_resp *r)
{
	uint64_t	 msg, body;

	limits_eff(l, &msg, &body);
	if (r->max_msg_size > 0 && (uint64_t)r->max_msg_size < msg)
		msg = (uint64_t)r->max_msg_size;
	if (r->max_body_size > 0 && (uint64_t)r->max_body_size < body)
		body = (uint64_t)r->max_body_size;
	l->max_msg_size = (size_t)msg;
	l->max_body_size = (size_t)body;
}
