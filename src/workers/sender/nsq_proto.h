/*
 * NSQ client codec, producer side: the TCP protocol V2 commands the
 * sender writes (magic, IDENTIFY, PUB, MPUB, NOP), an incremental reader
 * for the frames nsqd answers with, their classification, topic name
 * rules, and a splitter that plans MPUB commands (or HTTP /mpub bodies)
 * within nsqd's size limits.
 *
 * Written from the public protocol pages:
 *   https://nsq.io/clients/tcp_protocol_spec.html  (commands, frames)
 *   https://nsq.io/components/nsqd.html  (HTTP /pub, /mpub binary mode,
 *     -max-msg-size and -max-body-size defaults)
 *
 * Pure encode/decode: nothing here touches a descriptor, an event loop
 * or the log, so every byte can be checked by unit tests; the sender
 * does the I/O.
 *
 * All integers on the wire are big endian.  nsqd reads sizes as signed
 * 32-bit values and refuses zero, so no size field written here is ever
 * 0 or above INT32_MAX.
 *
 * For the sender's bookkeeping: nsqd answers commands in the order they
 * were sent, one frame each for IDENTIFY (JSON, as feature negotiation
 * is always on and neither TLS nor compression is asked for), PUB and
 * MPUB (OK or an error), none for NOP; "_heartbeat_" frames may come in
 * between and are not answers.  A batch is published once its OK is in.
 */
#ifndef AGENT_NSQ_PROTO_H
#define AGENT_NSQ_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define NSQ_MAGIC_V2		"  V2"
#define NSQ_MAGIC_LEN		4

/* Longest topic name in bytes, "#ephemeral" included. */
#define NSQ_TOPIC_MAX		64
#define NSQ_EPHEMERAL		"#ephemeral"

/*
 * nsqd's defaults for -max-msg-size and -max-body-size.  nsqd does not
 * announce its limits (the IDENTIFY answer of nsqd 1.x has no
 * max_msg_size), so they come from the configuration, defaulting to
 * these; a server that does report one can only lower them
 * (nsq_limits_apply()).
 */
#define NSQ_DEF_MAX_MSG_SIZE	1048576
#define NSQ_DEF_MAX_BODY_SIZE	5242880

/*
 * Largest frame (the size field: frame type + data) the reader accepts
 * unless told otherwise.  A producer only gets short answers, but a
 * message frame (26 bytes of header + a message of up to 1 MiB) must
 * not be mistaken for garbage.
 */
#define NSQ_FRAME_MAX_DEFAULT	(1048576 + 8)

/* Heartbeat interval limits of IDENTIFY (spec: 1000 <= ms, -1 = off). */
#define NSQ_HEARTBEAT_MIN	1000
#define NSQ_MSG_TIMEOUT_MIN	1000

/* One message to publish: bytes are not copied until encoded. */
struct nsq_msg {
	const void	*data;
	size_t		 len;
};

/* ---- Commands (append to a struct buf) ------------------------------ */

/*
 * IDENTIFY fields.  NULL strings and 0 numbers are left out of the JSON
 * so nsqd applies its defaults.  feature_negotiation is always sent as
 * true: the answer is then a JSON document describing the server
 * (nsq_identify_parse()) instead of a bare OK.
 */
struct nsq_identify {
	const char	*client_id;
	const char	*hostname;
	const char	*user_agent;	/* NULL: "agent/<version>" */
	int		 heartbeat_ms;	/* 0: server default; -1: off;
					 * else >= NSQ_HEARTBEAT_MIN */
	int		 msg_timeout_ms;	/* 0: left out; else
						 * >= NSQ_MSG_TIMEOUT_MIN */
};

/*
 * Each encoder returns 0, or -1 when the command cannot be valid (bad
 * topic, empty message, no messages, a size that does not fit in the
 * signed 32-bit field, a bad IDENTIFY number) or the buffer failed.
 * On invalid input nothing is appended.
 */
int	 nsq_enc_magic(struct buf *);
int	 nsq_enc_identify(struct buf *, const struct nsq_identify *);
int	 nsq_enc_pub(struct buf *, const char *topic, const void *, size_t);
int	 nsq_enc_mpub(struct buf *, const char *topic,
	    const struct nsq_msg *, size_t n);
int	 nsq_enc_nop(struct buf *);

/* Size of the MPUB body (after the size field) for these messages. */
uint64_t nsq_mpub_body_size(const struct nsq_msg *, size_t n);

/* ---- HTTP API (nsqd's /pub and /mpub?binary=true) ------------------- */

/*
 * Append "/pub?topic=T" or "/mpub?topic=T&binary=true" ('#' of
 * "#ephemeral" percent-encoded; every other valid topic byte is
 * URL-safe).  -1 for an invalid topic, nothing appended.
 */
int	 nsq_http_pub_path(struct buf *, const char *topic);
int	 nsq_http_mpub_path(struct buf *, const char *topic);

/*
 * Append a binary /mpub body: 4-byte count, then per message 4-byte
 * size and the bytes.  Same layout, and so the same limits, as the MPUB
 * body after its size field.  -1 as for nsq_enc_mpub().
 */
int	 nsq_http_mpub_body(struct buf *, const struct nsq_msg *, size_t n);

/* ---- Topic names ---------------------------------------------------- */

/*
 * 1..64 bytes of [.a-zA-Z0-9_-], optionally ending in "#ephemeral"
 * (counted in the 64, with at least one byte before it).  Returns 1 if
 * valid; otherwise 0 and, if `why` is not NULL, a short reason fit for
 * a log line or a counter label.
 */
int	 nsq_topic_valid(const char *topic, const char **why);

/* ---- Limits and the batch splitter ---------------------------------- */

struct nsq_limits {
	size_t		 max_msg_size;	/* one message, 0: default */
	size_t		 max_body_size;	/* one body, 0: default */
};

void	 nsq_limits_default(struct nsq_limits *);
/*
 * NULL if the limits are usable, else why not: the body must hold at
 * least one message of max_msg_size (8 + max_msg_size) and fit a signed
 * 32-bit size.
 */
const char *nsq_limits_check(const struct nsq_limits *);

/*
 * One step of a plan over an array of messages, in input order:
 * NSQ_PLAN_BATCH is a run msgs[first .. first + count) for one MPUB
 * (or one /mpub body) of `body` bytes; the other kinds are a single
 * message (count 1) that cannot be published as it is.
 */
enum nsq_plan_kind {
	NSQ_PLAN_BATCH = 0,
	NSQ_PLAN_TOO_BIG,	/* len > max_msg_size, or 8 + len >
				 * max_body_size: split it or reject it */
	NSQ_PLAN_EMPTY		/* len 0: nsqd refuses empty messages */
};

struct nsq_plan {
	enum nsq_plan_kind	 kind;
	size_t			 first;
	size_t			 count;
	uint64_t		 body;	/* 4 + sum(4 + len), BATCH only */
};

/*
 * Next step starting at *pos (0 at first): returns 1 with `out` filled
 * and *pos advanced past it, or 0 once *pos == n.  Greedy: a batch
 * takes messages while the body stays <= max_body_size, and stops
 * before a message that cannot be sent, which gets its own step.  The
 * plan depends only on the lengths and the limits.  Zero limit fields
 * mean the defaults.
 */
int	 nsq_split_next(const struct nsq_limits *, const struct nsq_msg *,
	    size_t n, size_t *pos, struct nsq_plan *out);

/* ---- Frames from nsqd ----------------------------------------------- */

enum nsq_frame_type {
	NSQ_FRAME_RESPONSE = 0,
	NSQ_FRAME_ERROR = 1,
	NSQ_FRAME_MESSAGE = 2
};

/* A complete frame; data points into the reader. */
struct nsq_frame {
	enum nsq_frame_type	 type;
	const uint8_t		*data;
	size_t			 len;
};

/*
 * Frame reader: push bytes as they arrive, in pieces of any size, then
 * take complete frames with nsq_reader_next().  A frame's data stays
 * valid until the next call on the reader.  A bad size or an unknown
 * frame type is detected as soon as the 8 header bytes are in, before
 * any data is buffered; the reader then stays failed (the connection
 * cannot be resynchronized) and nsq_reader_error() says why.
 */
struct nsq_reader {
	uint8_t		*p;
	size_t		 off;		/* first unread byte */
	size_t		 len;		/* end of buffered bytes */
	size_t		 cap;
	size_t		 max;		/* largest size field accepted */
	int		 failed;
	char		 err[96];
};

/* max: largest size field accepted, 0 for NSQ_FRAME_MAX_DEFAULT. */
void	 nsq_reader_init(struct nsq_reader *, size_t max);
void	 nsq_reader_free(struct nsq_reader *);
/* 0, or -1 if the reader failed or memory ran out. */
int	 nsq_reader_push(struct nsq_reader *, const void *, size_t);
/* 1: a frame; 0: need more bytes; -1: protocol error (see _error()). */
int	 nsq_reader_next(struct nsq_reader *, struct nsq_frame *);
/* Bytes held that are not yet part of a returned frame (EOF check). */
size_t	 nsq_reader_pending(const struct nsq_reader *);
const char *nsq_reader_error(const struct nsq_reader *);

/*
 * What a frame means to a producer.  NSQ_K_HEARTBEAT must be answered
 * with NOP: after two unanswered heartbeats nsqd closes the connection.
 * NSQ_K_JSON is the answer to IDENTIFY with feature negotiation.
 * NSQ_K_MESSAGE is never expected by a producer (it does not SUB).
 */
enum nsq_kind {
	NSQ_K_OK = 0,		/* "OK" */
	NSQ_K_HEARTBEAT,	/* "_heartbeat_" */
	NSQ_K_CLOSE_WAIT,	/* "CLOSE_WAIT", the answer to CLS */
	NSQ_K_JSON,		/* a response starting with '{' */
	NSQ_K_RESPONSE,		/* any other response */
	NSQ_K_ERROR,		/* nsq_error_parse() */
	NSQ_K_MESSAGE
};

enum nsq_kind nsq_frame_kind(const struct nsq_frame *);

/* ---- Error frames --------------------------------------------------- */

/* Error codes of the spec and of nsqd. */
enum nsq_ecode {
	NSQ_E_OTHER = 0,	/* unknown or unparsable code */
	NSQ_E_INVALID,
	NSQ_E_BAD_BODY,
	NSQ_E_BAD_TOPIC,
	NSQ_E_BAD_CHANNEL,
	NSQ_E_BAD_MESSAGE,
	NSQ_E_PUB_FAILED,
	NSQ_E_MPUB_FAILED,
	NSQ_E_DPUB_FAILED,
	NSQ_E_FIN_FAILED,
	NSQ_E_REQ_FAILED,
	NSQ_E_TOUCH_FAILED,
	NSQ_E_SUB_FAILED,
	NSQ_E_IDENTIFY_FAILED,
	NSQ_E_AUTH_FIRST,
	NSQ_E_AUTH_FAILED,
	NSQ_E_AUTH_DISABLED,
	NSQ_E_AUTH_ERROR,
	NSQ_E_UNAUTHORIZED
};

/*
 * An error frame's data is "E_CODE description".
 *
 * fatal: nsqd closes the connection right after sending it.  That is
 * every error except E_FIN_FAILED, E_REQ_FAILED and E_TOUCH_FAILED
 * (consumer-side, about one in-flight message); in particular
 * E_INVALID, E_BAD_BODY, E_BAD_TOPIC, E_BAD_MESSAGE, E_PUB_FAILED and
 * E_MPUB_FAILED all end the connection.  Unknown codes count as fatal:
 * reconnecting is always safe, trusting a half-closed stream is not.
 *
 * permanent: the refusal is about what was sent (topic name, body or
 * message sizes), so sending the same command again, to any nsqd with
 * the same limits, fails the same way; the caller must split or reject
 * instead of retrying.  E_PUB_FAILED / E_MPUB_FAILED (e.g. the topic
 * was being deleted) are not permanent: retry, maybe elsewhere.
 */
struct nsq_error {
	enum nsq_ecode	 code;
	int		 fatal;
	int		 permanent;
	char		 name[24];	/* the code; "" if unparsable */
	char		 text[160];	/* all of it, printable, cut */
};

void	 nsq_error_parse(const void *, size_t, struct nsq_error *);
const char *nsq_ecode_name(enum nsq_ecode);

/*
 * A refusal for size, as nsqd words them: "E_BAD_MESSAGE PUB message too
 * big 103867 > 65536" (also MPUB's and DPUB's, about one message:
 * NSQ_TOOBIG_MESSAGE) and "E_BAD_BODY MPUB body too big 200000 > 131072"
 * (NSQ_TOOBIG_BODY).  *limit is the number after '>' (the server's
 * max-msg-size or max-body-size), 0 when there is none.
 */
enum nsq_toobig {
	NSQ_TOOBIG_NO = 0,
	NSQ_TOOBIG_MESSAGE,
	NSQ_TOOBIG_BODY
};
enum nsq_toobig nsq_error_toobig(const struct nsq_error *, size_t *limit);

/* ---- IDENTIFY answer ------------------------------------------------ */

#define NSQ_ABSENT	INT64_MIN	/* number not in the answer */

struct nsq_identify_resp {
	int64_t		 max_rdy_count;
	int64_t		 max_msg_timeout;	/* ms */
	int64_t		 msg_timeout;		/* ms */
	int64_t		 output_buffer_size;
	int64_t		 output_buffer_timeout;	/* ms */
	int64_t		 sample_rate;
	int64_t		 max_msg_size;		/* nsqd 1.x: absent */
	int64_t		 max_body_size;		/* nsqd 1.x: absent */
	int		 tls_v1;
	int		 deflate;
	int		 snappy;
	int		 auth_required;
	char		 version[32];		/* "" if absent */
};

/*
 * Parse the JSON answer to IDENTIFY.  0, or -1 with a reason in `err`
 * when it is not a JSON object.  Unknown keys are ignored.
 */
int	 nsq_identify_parse(const void *, size_t, struct nsq_identify_resp *,
	    char *err, size_t errlen);
/*
 * NULL if a plain producer connection can go on, else why not: the
 * server wants AUTH, or switched on TLS or compression, none of which
 * this client asks for or speaks.
 */
const char *nsq_identify_check(const struct nsq_identify_resp *);
/* Lower the configured limits to what the server reported, if it did. */
void	 nsq_limits_apply(struct nsq_limits *,
	    const struct nsq_identify_resp *);

#endif
