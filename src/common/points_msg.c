#include "points_msg.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "log.h"

void
points_msg_encode_head(struct pbuf *pb, const struct points_msg *m)
{
	codec_put_u32(pb, (uint32_t)m->fmt);
	codec_put_u32(pb, (uint32_t)m->origin);
	codec_put_str(pb, m->topic);
	codec_put_u32(pb, m->npoints);
	codec_put_bytes_head(pb, m->len);
}

void
points_msg_encode(struct pbuf *pb, const struct points_msg *m)
{
	codec_put_u32(pb, (uint32_t)m->fmt);
	codec_put_u32(pb, (uint32_t)m->origin);
	codec_put_str(pb, m->topic);
	codec_put_u32(pb, m->npoints);
	codec_put_bytes(pb, m->data, m->len);
}

int
points_msg_decode(struct preader *pr, struct points_msg *m, char *err,
    size_t errlen)
{
	uint32_t	 fmt, origin;
	size_t		 lines;
	const char	*nl, *end;
	char		 topic[sizeof(m->topic) * 4];

	memset(m, 0, sizeof(*m));
	fmt = codec_get_u32(pr);
	origin = codec_get_u32(pr);
	codec_get_strbuf(pr, m->topic, sizeof(m->topic));
	m->npoints = codec_get_u32(pr);
	m->data = codec_get_bytes(pr, &m->len);
	if (codec_get_end(pr) == -1) {
		snprintf(err, errlen, "POINTS: %s", pr->err);
		return -1;
	}
	if (fmt > FORMAT_LINE || origin > ORIGIN_SCHEDULED ||
	    m->topic[0] == '\0' || m->npoints == 0) {
		log_escape_all(topic, sizeof(topic), m->topic);
		snprintf(err, errlen, "POINTS: bad header (format %u, origin "
		    "%u, topic \"%.64s\", %u points)", fmt, origin, topic,
		    m->npoints);
		return -1;
	}
	/* the count is what the buffer accounts by: it must be right
	 * (memchr, not a byte loop: this runs on every point the sender
	 * takes) */
	end = m->data + m->len;
	for (lines = 1, nl = m->data; m->len > 0 && (nl = memchr(nl, '\n',
	    (size_t)(end - nl))) != NULL; nl++)
		lines++;
	if (m->len == 0 || lines != m->npoints ||
	    m->data[m->len - 1] == '\n') {
		snprintf(err, errlen, "POINTS: %u points announced, %zu "
		    "found", m->npoints, m->len == 0 ? 0 : lines);
		return -1;
	}
	m->fmt = (enum out_format)fmt;
	m->origin = (enum points_origin)origin;
	return 0;
}

void
points_ack_encode(struct pbuf *pb, enum points_verdict v, const char *msg)
{
	codec_put_u32(pb, (uint32_t)v);
	codec_put_str(pb, msg);
}

int
points_ack_decode(struct preader *pr, enum points_verdict *v, char *msg,
    size_t msglen)
{
	uint32_t	 verdict;

	verdict = codec_get_u32(pr);
	codec_get_strbuf(pr, msg, msglen);
	if (codec_get_end(pr) == -1 || verdict > POINTS_REJECTED)
		return -1;
	*v = (enum points_verdict)verdict;
	return 0;
}

size_t
points_chunks(const char *pts, size_t len, size_t max,
    int (*send)(const char *, size_t, uint32_t, void *), void *arg)
{
	const char	*start = pts, *p = pts, *end = pts + len, *nl;
	size_t		 sent = 0, linelen;
	uint32_t	 n = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		linelen = (size_t)((nl != NULL ? nl : end) - p);
		/* the piece so far plus this point would be too much */
		if (n > 0 && (size_t)(p - start) + linelen > max) {
			if (send(start, (size_t)(p - 1 - start), n, arg) == 0)
				sent += n;
			start = p;
			n = 0;
		}
		n++;
		p = nl != NULL ? nl + 1 : end;
	}
	if (n > 0 && send(start, (size_t)(end - start), n, arg) == 0)
		sent += n;
	return sent;
}
