/* Encoded points to the sender; see worker_points.h. */
#include <string.h>

#include "topic.h"
#include "worker_points.h"

struct publish {
	struct worker		*w;
	worker_points_send_fn	 send;
	void			*arg;
	struct points_msg	 m;
};

static int
publish_chunk(const char *data, size_t len, uint32_t n, void *arg)
{
	struct publish	*pub = arg;

	pub->m.npoints = n;
	pub->m.data = data;
	pub->m.len = len;
	if (pub->send != NULL)
		return pub->send(pub->arg, &pub->m);
	return worker_send_points(pub->w, &pub->m);
}

int
worker_points_publish(struct worker *w, const char *ns, enum out_format fmt,
    const char *pts, size_t len, size_t max, worker_points_send_fn send,
    void *arg, size_t *sent, char *why, size_t whylen)
{
	struct publish	 pub;

	*sent = 0;
	memset(&pub, 0, sizeof(pub));
	pub.w = w;
	pub.send = send;
	pub.arg = arg;
	pub.m.fmt = fmt;
	pub.m.origin = ORIGIN_SCHEDULED;
	if (topic_for_ns(w->conf.topic, ns, pub.m.topic, sizeof(pub.m.topic),
	    why, whylen) == -1)
		return -1;
	*sent = points_chunks(pts, len, max, publish_chunk, &pub);
	return 0;
}
