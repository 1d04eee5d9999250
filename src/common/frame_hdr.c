/*
 * The check of a frame header against its edge's rules (frame.h), apart
 * from the connection code: the reader runs it on every header before it
 * reads a byte of payload, and the fuzz target of the frame reader too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"

static int	 hdr_reject(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
hdr_reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
frame_hdr_check(const struct frame_hdr *h, const struct frame_rules *r,
    char *why, size_t whylen)
{
	const struct edge_def	*e;
	enum role		 from;
	size_t			 payload;

	if (r == NULL || r->edge == NULL)
		return hdr_reject(why, whylen, "no rules for this edge");
	e = r->edge;
	from = proto_edge_other(e, r->self);

	if (h->len < FRAME_HDR_LEN)
		return hdr_reject(why, whylen,
		    "frame length %u below header size %d", h->len,
		    FRAME_HDR_LEN);
	payload = h->len - FRAME_HDR_LEN;
	if (payload > proto_edge_maxpayload(e, from))
		return hdr_reject(why, whylen,
		    "frame length %u: payload of %zu bytes over the edge "
		    "limit of %zu (%s)", h->len, payload,
		    proto_edge_maxpayload(e, from), proto_msg_name(h->type));
	if (h->flags & ~FRAME_F_MASK)
		return hdr_reject(why, whylen,
		    "unknown frame flags 0x%04x (%s)",
		    (unsigned)(h->flags & ~FRAME_F_MASK),
		    proto_msg_name(h->type));
	if ((h->flags & FRAME_F_FD) && !proto_edge_may_pass_fd(e, from))
		return hdr_reject(why, whylen,
		    "descriptor flag on %s frame, but %s may pass no "
		    "descriptors on this edge", proto_msg_name(h->type),
		    proto_role_name(from));
	if (strcmp(proto_msg_name(h->type), "unknown") == 0)
		return hdr_reject(why, whylen, "unknown message type %u",
		    h->type);
	if (!proto_edge_may_send(e, from, h->type))
		return hdr_reject(why, whylen,
		    "message type %s (%u) not allowed from %s",
		    proto_msg_name(h->type), h->type, proto_role_name(from));
	return 0;
}
