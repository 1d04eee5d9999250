/*
 * MSG_POINTS and MSG_POINTS_ACK: encoded points from a producer (front,
 * scheduler, collector) to the sender, and the sender's verdict.
 */
#ifndef AGENT_POINTS_MSG_H
#define AGENT_POINTS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"

#define TOPIC_MAX	64	/* NSQ's limit */

enum points_origin {
	ORIGIN_PUSHED = 0,	/* /post, /write: refused (503) when full */
	ORIGIN_SCHEDULED	/* plugins, collectors: oldest dropped */
};

enum points_verdict {
	POINTS_ACCEPTED = 0,
	POINTS_FULL,		/* buffer full: try again later */
	POINTS_REJECTED		/* malformed: never retry */
};

struct points_msg {
	enum out_format		 fmt;
	enum points_origin	 origin;
	char			 topic[TOPIC_MAX + 1];
	uint32_t		 npoints;
	const char		*data;		/* points separated by '\n' */
	size_t			 len;
};

struct pbuf;
struct preader;

void	 points_msg_encode(struct pbuf *, const struct points_msg *);
/* The same without the points: they follow it on the wire, m->len bytes
 * of m->data (frame_send2()). */
void	 points_msg_encode_head(struct pbuf *, const struct points_msg *);
/* Checks every field; data points into the payload. 0 or -1 with err. */
int	 points_msg_decode(struct preader *, struct points_msg *, char *err,
	    size_t errlen);

void	 points_ack_encode(struct pbuf *, enum points_verdict, const char *);
int	 points_ack_decode(struct preader *, enum points_verdict *, char *msg,
	    size_t msglen);

/*
 * Cut `len` bytes of '\n'-separated points into pieces of at most
 * `max` bytes (a point longer than that goes alone) and hand each to
 * `send` with its point count (the scheduler and the collector cut
 * their MSG_POINTS so).  Returns the points whose send returned
 * 0.
 */
size_t	 points_chunks(const char *pts, size_t len, size_t max,
	    int (*send)(const char *, size_t, uint32_t, void *), void *arg);

#endif
