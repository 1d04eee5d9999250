/*
 * We are the sender of agent test and agent plugin run: the producers'
 * MSG_POINTS are kept as they came, then printed as the file output
 * writes them ([output] format): json, one lodastack message per line;
 * line, the InfluxDB lines themselves.  Nothing is published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "buf.h"
#include "codec.h"
#include "testmode.h"
#include "util.h"

static int
keep(struct testmode *tm, const struct points_msg *m)
{
	struct tm_batch	*b;
	size_t		 ncap;

	if (tm->nbatches == tm->cap) {
		ncap = tm->cap == 0 ? 16 : tm->cap * 2;
		if ((b = reallocarray(tm->batches, ncap, sizeof(*b))) == NULL)
			return -1;
		tm->batches = b;
		tm->cap = ncap;
	}
	b = &tm->batches[tm->nbatches];
	memset(b, 0, sizeof(*b));
	if ((b->data = malloc(m->len > 0 ? m->len : 1)) == NULL)
		return -1;
	memcpy(b->data, m->data, m->len);
	b->len = m->len;
	b->fmt = m->fmt;
	b->npoints = m->npoints;
	strlcpy(b->topic, m->topic, sizeof(b->topic));
	tm->nbatches++;
	tm->npoints += m->npoints;
	return 0;
}

static void
sink_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct testmode		*tm = arg;
	struct points_msg	 m;
	struct preader		 pr;
	char			 why[256];

	if (in->hdr.type != MSG_POINTS)
		return;
	codec_get_init(&pr, in->data, in->datalen);
	if (points_msg_decode(&pr, &m, why, sizeof(why)) == -1) {
		fprintf(stderr, "agent: bad points from a producer: %s\n", why);
		tm->failed = 1;
		return;
	}
	if (keep(tm, &m) == -1) {
		fprintf(stderr, "agent: out of memory for %u points\n",
		    m.npoints);
		tm->failed = 1;
	}
}

static void
sink_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct testmode	*tm = arg;
	size_t		 i;

	for (i = 0; i < 2; i++)
		if (tm->sink[i] == fc)
			tm->sink[i] = NULL;
}

struct frame_conn *
testmode_sink(struct testmode *tm, int fd, enum role from)
{
	struct frame_conn	*fc;

	fc = testmode_edge(tm, fd, ROLE_SENDER, from, sink_msg, sink_close,
	    tm);
	/* up for the producer once it has our HELLO */
	if (fc != NULL && testmode_hello(fc, ROLE_SENDER) == -1) {
		frame_conn_close(fc);
		return NULL;
	}
	return fc;
}

int
testmode_print(struct testmode *tm)
{
	const struct tm_batch	*b;
	struct buf		 out;
	size_t			 i;
	int			 rv = 0;

	buf_init(&out);
	for (i = 0; i < tm->nbatches; i++) {
		b = &tm->batches[i];
		buf_reset(&out);
		encode_message(&out, b->fmt, b->topic, b->data, b->len,
		    b->npoints);
		if (b->fmt == FORMAT_JSON)
			buf_addc(&out, '\n');
		if (buf_failed(&out) ||
		    util_write_all(STDOUT_FILENO, out.p, out.len) == -1) {
			rv = -1;
			break;
		}
	}
	buf_free(&out);
	return rv;
}

void
testmode_batches_free(struct testmode *tm)
{
	size_t	 i;

	for (i = 0; i < tm->nbatches; i++)
		free(tm->batches[i].data);
	free(tm->batches);
	tm->batches = NULL;
	tm->nbatches = tm->cap = 0;
}
