/*
 * libFuzzer target for the payload decoders of the messages between the
 * processes that no other target reads (src/common/): the config a
 * worker receives (conf_decode), the typed samples (metrics_decode), the
 * plugin API and git requests and answers, the namespaces, points and
 * their acknowledgement, and the master's status (status_decode).  The
 * other end of each edge may be a compromised process.
 *
 * Input: byte 0 picks the decoder (modulo their number), the rest is the
 * payload.
 *
 * Besides "no crash, no leak": a payload that fails says why, in a
 * terminated text that is not empty.  Not necessarily a printable one
 * (fuzz_msg_ok): the git request's and the points' texts quote the
 * peer's ns, project or topic as they came, and only go back to that
 * peer or to the log, which escapes them.  One that passes encodes back to
 * exactly the bytes read (each of these encodings is canonical: a field
 * has one form and every field is read), and that decodes again to the
 * same.  The config is the exception: its fields come in any order and
 * any subset, and the encoder writes them all, so there the invariant is
 * encode(decode(encode(c))) == encode(c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/items.h"
#include "common/metrics.h"
#include "common/plugin_msg.h"
#include "common/points_msg.h"
#include "common/status.h"
#include "common/strlist.h"

#include "fuzz_common.h"

/* The sizes the receivers use (front_plugins.c, front_data.c). */
#define NS_ERROR_LEN	1024
#define ACK_MSG_LEN	256

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_log();
	return 0;
}

/*
 * err was filled with a non-NUL byte before the decoder ran: a failure
 * that wrote no text leaves it unterminated.
 */
static void
check_err(const char *err, size_t size)
{
	FUZZ_ASSERT(memchr(err, '\0', size) != NULL,
	    "error text not written or not terminated");
	FUZZ_ASSERT(err[0] != '\0', "empty error text");
}

/* The payload `p` encodes back to itself. */
static void
check_same(const struct pbuf *pb, const uint8_t *p, size_t len)
{
	FUZZ_ASSERT(!codec_put_failed(pb), "encode");
	FUZZ_ASSERT(pb->len == len && (len == 0 ||
	    memcmp(pb->buf, p, len) == 0), "%zu bytes read, %zu encoded",
	    len, pb->len);
}

static void
msg_conf(const uint8_t *p, size_t len)
{
	struct agent_conf	 c, c2;
	struct preader		 pr;
	struct pbuf		 pb, pb2;
	char			 err[512];

	/* as a worker does (worker.c): the defaults, then what came */
	FUZZ_ASSERT(conf_defaults(&c) == 0, "defaults");
	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (conf_decode(&pr, &c, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		conf_free(&c);
		return;
	}
	codec_put_init(&pb);
	conf_encode(&pb, &c, ROLE_MASTER);
	FUZZ_ASSERT(!codec_put_failed(&pb), "encode");
	FUZZ_ASSERT(conf_defaults(&c2) == 0, "defaults");
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(conf_decode(&pr, &c2, err, sizeof(err)) == 0,
	    "round trip: %s", err);
	codec_put_init(&pb2);
	conf_encode(&pb2, &c2, ROLE_MASTER);
	check_same(&pb2, pb.buf, pb.len);
	codec_put_free(&pb);
	codec_put_free(&pb2);
	conf_free(&c);
	conf_free(&c2);
}

/*
 * The samples are followed by the end (MSG_STATS, MSG_STATUS), which the
 * callers check: done here too, so that the bytes left over are refused.
 */
static void
msg_metrics(const uint8_t *p, size_t len)
{
	struct metric_set	 ms, ms2;
	struct preader		 pr;
	struct pbuf		 pb;
	char			 err[512];
	size_t			 used;

	metrics_init(&ms);
	metrics_init(&ms2);
	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (metrics_decode(&pr, &ms, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		metrics_free(&ms);
		return;
	}
	used = pr.off;
	if (codec_get_end(&pr) == -1)
		check_err(pr.err, sizeof(pr.err));
	codec_put_init(&pb);
	metrics_encode(&pb, &ms);
	check_same(&pb, p, used);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(metrics_decode(&pr, &ms2, err, sizeof(err)) == 0 &&
	    codec_get_end(&pr) == 0, "round trip: %s / %s", err, pr.err);
	/* struct metric holds no pointer and decode_one zeroes it first */
	FUZZ_ASSERT(ms.n == ms2.n && (ms.n == 0 || memcmp(ms.v, ms2.v,
	    ms.n * sizeof(*ms.v)) == 0), "samples differ");
	codec_put_free(&pb);
	metrics_free(&ms);
	metrics_free(&ms2);
}

static void
msg_plugin_req(const uint8_t *p, size_t len)
{
	struct plugin_req	 r, r2;
	struct preader		 pr;
	struct pbuf		 pb;
	char			 err[512];

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (plugin_req_decode(&pr, &r, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		return;
	}
	FUZZ_ASSERT((unsigned)r.op < PLUGIN_OP_MAX, "op %u", r.op);
	codec_put_init(&pb);
	plugin_req_encode(&pb, &r);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(plugin_req_decode(&pr, &r2, err, sizeof(err)) == 0,
	    "round trip: %s", err);
	/* no pointer inside, and the decoder zeroes it first */
	FUZZ_ASSERT(memcmp(&r, &r2, sizeof(r)) == 0, "requests differ");
	codec_put_free(&pb);
}

static void
msg_plugin_resp(const uint8_t *p, size_t len)
{
	struct preader	 pr;
	struct pbuf	 pb;
	char		 err[512], *json, *json2;
	int		 status, status2;

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (plugin_resp_decode(&pr, &status, &json, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		FUZZ_ASSERT(json == NULL, "json left after a failure");
		return;
	}
	FUZZ_ASSERT(status >= 100 && status <= 599 && json != NULL,
	    "status %d", status);
	codec_put_init(&pb);
	plugin_resp_encode(&pb, status, json);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(plugin_resp_decode(&pr, &status2, &json2, err,
	    sizeof(err)) == 0, "round trip: %s", err);
	FUZZ_ASSERT(status == status2 && strcmp(json, json2) == 0,
	    "answers differ");
	codec_put_free(&pb);
	free(json);
	free(json2);
}

static void
msg_git_req(const uint8_t *p, size_t len)
{
	struct git_req	 r, r2;
	struct preader	 pr;
	struct pbuf	 pb;
	char		 err[512];

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (plugin_msg_git_req_decode(&pr, &r, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		return;
	}
	/* they become path components of pluginsdir */
	FUZZ_ASSERT(items_path_component_valid(r.ns) &&
	    items_path_component_valid(r.project), "ns \"%s\", project "
	    "\"%s\"", r.ns, r.project);
	codec_put_init(&pb);
	plugin_msg_git_req_encode(&pb, &r);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(plugin_msg_git_req_decode(&pr, &r2, err, sizeof(err)) ==
	    0, "round trip: %s", err);
	FUZZ_ASSERT(memcmp(&r, &r2, sizeof(r)) == 0, "requests differ");
	codec_put_free(&pb);
}

static void
msg_git_resp(const uint8_t *p, size_t len)
{
	struct git_resp	 r, r2;
	struct preader	 pr;
	struct pbuf	 pb;
	char		 err[512];

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (plugin_msg_git_resp_decode(&pr, &r, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		return;
	}
	FUZZ_ASSERT(!(r.ok && r.untrusted), "ok and untrusted");
	codec_put_init(&pb);
	plugin_msg_git_resp_encode(&pb, &r);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(plugin_msg_git_resp_decode(&pr, &r2, err, sizeof(err)) ==
	    0, "round trip: %s", err);
	/* no pointer inside, and the decoder zeroes it first */
	FUZZ_ASSERT(memcmp(&r, &r2, sizeof(r)) == 0, "answers differ");
	codec_put_free(&pb);
}

static void
msg_namespaces(const uint8_t *p, size_t len)
{
	struct strlist	 l, l2;
	struct preader	 pr;
	struct pbuf	 pb;
	char		 error[NS_ERROR_LEN], error2[NS_ERROR_LEN], err[512];
	int		 ok, ok2;

	/* as the front does: an empty list, freed whatever happens */
	strlist_init(&l);
	strlist_init(&l2);
	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (plugin_msg_namespaces_decode(&pr, &ok, error, sizeof(error), &l,
	    err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		strlist_free(&l);
		return;
	}
	FUZZ_ASSERT(memchr(error, '\0', sizeof(error)) != NULL, "error");
	codec_put_init(&pb);
	plugin_msg_namespaces_encode(&pb, ok, error, &l);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(plugin_msg_namespaces_decode(&pr, &ok2, error2,
	    sizeof(error2), &l2, err, sizeof(err)) == 0, "round trip: %s",
	    err);
	FUZZ_ASSERT(ok == ok2 && strcmp(error, error2) == 0 &&
	    strlist_equal(&l, &l2), "namespaces differ");
	codec_put_free(&pb);
	strlist_free(&l);
	strlist_free(&l2);
}

static void
msg_points(const uint8_t *p, size_t len)
{
	struct points_msg	 m, m2;
	struct preader		 pr;
	struct pbuf		 pb;
	char			 err[512];

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (points_msg_decode(&pr, &m, err, sizeof(err)) == -1) {
		check_err(err, sizeof(err));
		return;
	}
	/* what the sender's accounting relies on */
	FUZZ_ASSERT(m.len > 0 && m.data[m.len - 1] != '\n' &&
	    fuzz_count_lines(m.data, m.len) == m.npoints &&
	    (const uint8_t *)m.data >= p && (const uint8_t *)m.data + m.len <=
	    p + len, "%u points", m.npoints);
	codec_put_init(&pb);
	points_msg_encode(&pb, &m);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(points_msg_decode(&pr, &m2, err, sizeof(err)) == 0,
	    "round trip: %s", err);
	FUZZ_ASSERT(m.fmt == m2.fmt && m.origin == m2.origin &&
	    strcmp(m.topic, m2.topic) == 0 && m.npoints == m2.npoints &&
	    m.len == m2.len && memcmp(m.data, m2.data, m.len) == 0,
	    "points differ");
	codec_put_free(&pb);
}

/*
 * points_ack_decode takes no error text (the front logs a fixed line):
 * a failure is the reader's, which says why, or a verdict out of range.
 */
static void
msg_points_ack(const uint8_t *p, size_t len)
{
	enum points_verdict	 v, v2;
	struct preader		 pr;
	struct pbuf		 pb;
	char			 msg[ACK_MSG_LEN], msg2[ACK_MSG_LEN];

	codec_get_init(&pr, p, len);
	memset(msg, 'x', sizeof(msg));
	if (points_ack_decode(&pr, &v, msg, sizeof(msg)) == -1) {
		if (pr.failed)
			check_err(pr.err, sizeof(pr.err));
		else {
			codec_get_init(&pr, p, len);
			FUZZ_ASSERT(codec_get_u32(&pr) > POINTS_REJECTED,
			    "refused without a reason");
		}
		return;
	}
	FUZZ_ASSERT(memchr(msg, '\0', sizeof(msg)) != NULL, "message");
	codec_put_init(&pb);
	points_ack_encode(&pb, v, msg);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(points_ack_decode(&pr, &v2, msg2, sizeof(msg2)) == 0,
	    "round trip: %s", pr.err);
	FUZZ_ASSERT(v == v2 && strcmp(msg, msg2) == 0, "answers differ");
	codec_put_free(&pb);
}

static void
msg_status(const uint8_t *p, size_t len)
{
	struct agent_status	 st, st2;
	struct preader		 pr;
	struct pbuf		 pb;
	char			 err[512];

	codec_get_init(&pr, p, len);
	memset(err, 'x', sizeof(err));
	if (status_decode(&pr, &st, err, sizeof(err)) == -1) {
		/*
		 * Nothing to free (status.h): the leak check holds the
		 * decoder to that.
		 */
		check_err(err, sizeof(err));
		return;
	}
	codec_put_init(&pb);
	status_encode(&pb, &st);
	check_same(&pb, p, len);
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(status_decode(&pr, &st2, err, sizeof(err)) == 0,
	    "round trip: %s", err);
	/* st holds a pointer (the samples): compared by what it encodes to */
	codec_put_reset(&pb);
	status_encode(&pb, &st2);
	check_same(&pb, p, len);
	codec_put_free(&pb);
	status_free(&st);
	status_free(&st2);
}

static void (*const decoders[])(const uint8_t *, size_t) = {
	msg_conf,
	msg_metrics,
	msg_plugin_req,
	msg_plugin_resp,
	msg_git_req,
	msg_git_resp,
	msg_namespaces,
	msg_points,
	msg_points_ack,
	msg_status,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	decoders[data[0] % (sizeof(decoders) / sizeof(decoders[0]))](data + 1,
	    size - 1);
	return 0;
}
