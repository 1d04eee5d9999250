/*
 * Framed messages over a Unix-domain stream socket (one edge end), in the
 * style of OpenBSD's imsg, driven by libev.
 *
 * Wire format: a 16-byte header in host byte order (local IPC only),
 * then `len - FRAME_HDR_LEN` bytes of payload.  A frame with FRAME_F_FD
 * carries exactly one descriptor (SCM_RIGHTS) attached to its first byte.
 *
 * The receiver validates length, flags and type against the edge's rules
 * as soon as the header is complete, before it buffers a byte of payload.
 * Any violation (bad length, unknown flag, type the sender may not send,
 * descriptor missing or unexpected, MSG_CTRUNC, EOF in the middle of a
 * frame) closes the edge: the close callback gets a message naming what
 * was wrong; the process carries on.
 */
#ifndef AGENT_FRAME_H
#define AGENT_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "proto.h"

#define FRAME_HDR_LEN	16
#define FRAME_F_FD	0x0001		/* a descriptor travels with it */
#define FRAME_F_MASK	FRAME_F_FD

/* Bytes queued for output before frame_send() refuses (ENOBUFS). */
#define FRAME_OUTQ_MAX	(64u * 1024 * 1024)

struct frame_hdr {
	uint32_t	len;		/* header + payload, in bytes */
	uint16_t	type;		/* enum msg_type */
	uint16_t	flags;		/* FRAME_F_* */
	uint32_t	reqid;		/* request id, echoed in answers */
	uint32_t	pid;		/* sender's pid */
};

/* A received frame, valid during the callback only. */
struct frame_in {
	struct frame_hdr	 hdr;
	const uint8_t		*data;		/* payload */
	size_t			 datalen;
	int			 fd;		/* -1 unless FRAME_F_FD; the
						 * callback takes it by setting
						 * fd = -1, otherwise the frame
						 * layer closes it */
};

/* What an edge end accepts and sends. */
struct frame_rules {
	const struct edge_def	*edge;		/* allow-lists and limits */
	enum role		 self;		/* our side of the edge */
	const char		*name;		/* for logs: "front<->sender" */
};

struct frame_conn;

/* One complete frame arrived.  The callback may call frame_conn_close(). */
typedef void (*frame_msg_cb)(struct frame_conn *, struct frame_in *,
    void *arg);
/*
 * The edge is gone: EOF (why = "closed by peer"), I/O error, or protocol
 * violation (why names it).  Called once; the conn is freed right after
 * the callback returns, and must not be used again.
 */
typedef void (*frame_close_cb)(struct frame_conn *, const char *why,
    void *arg);

/* Takes ownership of `fd` (made non-blocking and close-on-exec). */
struct frame_conn *frame_conn_new(struct ev_loop *, int fd,
		    const struct frame_rules *, frame_msg_cb, frame_close_cb,
		    void *arg);

/*
 * Queue one frame.  `fd` >= 0 is passed along and owned by the frame layer
 * from this call on (closed once sent, or on failure).  Returns 0, or -1
 * with errno: EPERM (type not allowed for our side; a bug), EMSGSIZE
 * (payload over the edge's limit), ENOBUFS (output queue full), EPIPE
 * (conn already closed), EINVAL (fd given where our side may pass none).
 */
int		 frame_send(struct frame_conn *, uint16_t type, uint32_t reqid,
		    const void *data, size_t len, int fd);
/*
 * frame_send() of a payload in two pieces, joined as it is queued: a
 * head the caller encoded and a body it holds elsewhere, so that a large
 * body is copied once (MSG_POINTS: the points as the producer encoded
 * them, after the fields codec_put_bytes_head() announced).
 */
int		 frame_send2(struct frame_conn *, uint16_t type,
		    uint32_t reqid, const void *head, size_t headlen,
		    const void *body, size_t bodylen, int fd);

/*
 * Read and dispatch what the peer has already sent, without waiting: the
 * last frames of a process that just died.  Returns 0 when the edge is
 * still open, -1 when it closed meanwhile (the close callback ran unless
 * the owner closed it, and the conn is freed).
 */
int		 frame_drain(struct frame_conn *);

/* Write what is queued, waiting up to timeout_ms; 0 when all is out. */
int		 frame_flush(struct frame_conn *, int timeout_ms);

/* Bytes waiting in the output queue. */
size_t		 frame_queued(const struct frame_conn *);

/*
 * Close now from our side (no close callback).  Safe inside the message
 * callback: the conn is then freed when the callback returns.
 */
void		 frame_conn_close(struct frame_conn *);

int		 frame_conn_fd(const struct frame_conn *);
const char	*frame_conn_name(const struct frame_conn *);

/*
 * Header check used by the reader, exposed for tests and fuzzing: 0 when
 * `h` is acceptable from the other side of `r`, else -1 and a reason in
 * `why` (e.g. "frame length 9 below header size 16").
 */
int		 frame_hdr_check(const struct frame_hdr *h,
		    const struct frame_rules *r, char *why, size_t whylen);

#endif
