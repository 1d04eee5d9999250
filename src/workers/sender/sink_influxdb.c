/*
 * The influxdb output: InfluxDB 1.x's HTTP API, one request (the lines of
 * line protocol of all its messages, joined) per
 * "POST <server>/write?db=<topic>&precision=s",
 * through the shared HTTP plumbing (sender_http.h: libcurl's multi
 * interface on the worker's libev loop, one kept-alive easy handle,
 * the same timeouts and failover as the nsq HTTP output; sink_http.h:
 * the request in flight).
 *
 * servers are base URLs, "http://host:8086" (a path prefix, e.g. behind
 * a reverse proxy, is kept; trailing slashes are not).  The database is
 * the message's topic (collect.<ns> by default).
 *
 * Answers:
 *   204 (any 2xx)	published.
 *   404 "database not found"
 *			POST <server>/query?q=CREATE DATABASE "<db>" (a no-op
 *			when it exists), then the write again, once; what
 *			that write answers decides for this server.
 *   anything else	this server failed the message, with InfluxDB's
 *			error text: try the next server; when every server
 *			failed, the message is reported failed and the sender
 *			retries it later, with backoff.
 *
 * A 413 (InfluxDB's max-body-size, 25 MB by default) is about the size:
 * when no other server takes it either, the sender cuts the request
 * again, smaller (sender_sink_toobig()).
 *
 * A 400 means InfluxDB refused the data itself, all of it or some lines:
 *   "partial write: <reason> dropped=N"
 *			InfluxDB stored the other lines (a field type
 *			conflict, points beyond the retention policy): the
 *			N are counted as refused for good (dropped_rejected,
 *			logged with InfluxDB's reason), the rest as
 *			published, and the request is done.  Sending it
 *			again would only get the same answer.  InfluxDB
 *			1.x reports lines it could not parse next to stored
 *			ones with dropped=0; those are counted by its
 *			"unable to parse" entries.
 *   anything else ("unable to parse ..." for every line)
 *			the other servers are asked (this one may be
 *			broken); when none takes it, the request is
 *			rejected: the sender drops its points, counted and
 *			logged with InfluxDB's reason (or, for a request of
 *			several messages, sends them one by one first, so
 *			only the bad message goes), and goes on with the
 *			rest instead of retrying it forever.
 * A tag key or value ending in a backslash, which 1.x cannot parse at
 * all, is refused by the producers already (point_check_line()).
 *
 * Format: InfluxDB only speaks line protocol, the format the config
 * requires with this output.  Points that waited in json through a
 * reload that made the output influxdb come rewritten as lines
 * (sender_convert.c); a request still in json is one the sender could not
 * rewrite, and is refused here, one message at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "log.h"
#include "sender.h"
#include "sink_http.h"

#define INFLUX_ERROR_MAX	320	/* bytes of InfluxDB's message kept */

enum influx_step {
	STEP_WRITE,		/* the first write to this server */
	STEP_CREATE,		/* CREATE DATABASE after a 404 */
	STEP_RETRY		/* the write again, after creating */
};

struct influx {
	struct sink_http	 r;		/* the body: the sender's or
						 * req's */

	/* the request in flight */
	enum influx_step	 step;
	size_t			 nmsgs;
	struct buf		 req;		/* several messages joined */
	char			 db[TOPIC_MAX + 1];
	struct buf		 write;		/* /write?db=...&precision=s */
	struct buf		 create;	/* /query?q=CREATE... */
};

/*
 * InfluxDB's reason from its answer: the "error" member of the JSON
 * body ({"error":"..."} for /write, {"results":[{"error":"..."}]} for a
 * failed statement), unescaped and made printable; the start of the
 * body when there is none.  "" for an empty body.
 */
static void
influx_error(const char *ans, size_t len, char *out, size_t outlen)
{
	static const char	 key[] = "\"error\":\"";
	const char		*p, *end = ans + len;
	char			 raw[INFLUX_ERROR_MAX + 1];
	size_t			 n = 0;

	if ((p = memmem(ans, len, key, sizeof(key) - 1)) == NULL) {
		sender_http_printable(out, outlen, ans, len <
		    INFLUX_ERROR_MAX ? len : INFLUX_ERROR_MAX);
		return;
	}
	for (p += sizeof(key) - 1; p < end && *p != '"' &&
	    n < INFLUX_ERROR_MAX; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			/* \n, \t and the like read as a space */
			raw[n++] = *p == '"' || *p == '\\' || *p == '/' ? *p :
			    ' ';
			continue;
		}
		raw[n++] = *p;
	}
	sender_http_printable(out, outlen, raw, n);
}

/* POST <current server><path> with `body` (servers are base URLs). */
static void
request(struct influx *h, const struct buf *path, const char *body,
    size_t len)
{
	sink_http_post(&h->r, "", 1, path, body, len);
}

/* Write the message to the current server, from the start. */
static void
attempt_start(void *arg)
{
	struct influx	*h = arg;

	h->step = STEP_WRITE;
	request(h, &h->write, h->r.body, h->r.len);
}

/* "HTTP <code>: <InfluxDB's reason>", or libcurl's error. */
static void
describe(const struct sender_http *http, const char *doing, char *why,
    size_t whylen)
{
	char	 msg[INFLUX_ERROR_MAX + 1];

	if (http->result != CURLE_OK) {
		(void)sender_http_status(http, msg, sizeof(msg));
		snprintf(why, whylen, "%s%s", doing, msg);
		return;
	}
	influx_error(http->answer, http->answerlen, msg, sizeof(msg));
	snprintf(why, whylen, "%sHTTP %ld%s%s", doing, http->code,
	    msg[0] != '\0' ? ": " : "", msg);
}

/*
 * Points InfluxDB 1.x did not store from a 400 "partial write" answer:
 * the N of its closing "dropped=N" (kept in the answer's tail however
 * long the answer), or, when that is 0 because lines failed to parse
 * (1.x counts only refused points there), one per "unable to parse"
 * entry in the part of the answer kept.  -1 when the answer is not a
 * partial write or says no number.
 */
static int64_t
partial_dropped(const struct sender_http *http)
{
	static const char	 pw[] = "partial write:";
	static const char	 dk[] = "dropped=";
	static const char	 up[] = "unable to parse";
	const char		*p, *last = NULL, *at;
	int64_t			 n = 0;
	size_t			 left;

	if (memmem(http->answer, http->answerlen, pw, sizeof(pw) - 1) ==
	    NULL)
		return -1;
	for (p = http->tail; (p = strstr(p, dk)) != NULL; p += sizeof(dk) - 1)
		last = p;
	if (last == NULL)
		return -1;
	for (p = last + sizeof(dk) - 1; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (p == last + sizeof(dk) - 1)
		return -1;
	if (n > 0)
		return n;
	for (at = http->answer, left = http->answerlen; (p = memmem(at, left,
	    up, sizeof(up) - 1)) != NULL; ) {
		n++;
		left -= (size_t)(p - at) + sizeof(up) - 1;
		at = p + sizeof(up) - 1;
	}
	return n;
}

/*
 * A 400: InfluxDB refused the data, all of it or some points (see the
 * top of the file).
 */
static void
data_refused(struct influx *h, const struct sender_http *http)
{
	char	 why[512], msg[INFLUX_ERROR_MAX + 1];
	int64_t	 dropped;

	if ((dropped = partial_dropped(http)) >= 0) {
		influx_error(http->answer, http->answerlen, msg, sizeof(msg));
		snprintf(why, sizeof(why), "influxdb partial write: %s: %s%s",
		    sender_http_shown(http), msg, http->bodylen >
		    http->answerlen ? " ..." : "");
		sink_http_partial(&h->r, (uint64_t)dropped, why);
		return;
	}
	describe(http, "", why, sizeof(why));
	/* another server may take what this one refused whole */
	sink_http_refused(&h->r, why);
}

static int
db_missing(const struct sender_http *http)
{
	return http->result == CURLE_OK && http->code == 404 &&
	    memmem(http->answer, http->answerlen, "database not found",
	    sizeof("database not found") - 1) != NULL;
}

/* A request ended: judge the answer, go on with the next step. */
static void
attempt_end(struct sender_http *http, void *arg)
{
	struct influx	*h = arg;
	char		 why[512];
	int		 ok;

	if (!h->r.busy)
		return;
	ok = http->result == CURLE_OK && http->code >= 200 &&
	    http->code <= 299;
	if (http->result == CURLE_OK && http->code == 413 &&
	    h->step != STEP_CREATE) {
		/* too big is not bad: smaller, it goes */
		describe(http, "", why, sizeof(why));
		sink_http_refused_size(&h->r, sender_http_shown(http),
		    h->nmsgs > 1 ? SINK_TOOBIG_BODY : SINK_TOOBIG_MESSAGE, 0,
		    why);
		return;
	}
	switch (h->step) {
	case STEP_WRITE:
		if (ok)
			break;
		if (http->result == CURLE_OK && http->code == 400) {
			/* about the lines: every server says the same */
			data_refused(h, http);
			return;
		}
		if (db_missing(http)) {
			log_info("influxdb: %s: database \"%s\" not found, "
			    "creating it", sender_http_shown(http), h->db);
			h->step = STEP_CREATE;
			request(h, &h->create, "", 0);
			return;
		}
		describe(http, "", why, sizeof(why));
		sink_http_failed(&h->r, why);
		return;
	case STEP_CREATE:
		/* a statement that failed still answers 200, with "error" */
		if (ok && memmem(http->answer, http->answerlen, "\"error\"",
		    sizeof("\"error\"") - 1) != NULL)
			ok = 0;
		if (!ok) {
			describe(http, "creating the database: ", why,
			    sizeof(why));
			sink_http_failed(&h->r, why);
			return;
		}
		log_info("influxdb: %s: created database \"%s\"",
		    sender_http_shown(http), h->db);
		h->step = STEP_RETRY;
		request(h, &h->write, h->r.body, h->r.len);
		return;
	case STEP_RETRY:
		if (ok)
			break;
		if (http->result == CURLE_OK && http->code == 400) {
			data_refused(h, http);
			return;
		}
		describe(http, "after creating the database: ", why,
		    sizeof(why));
		sink_http_failed(&h->r, why);
		return;
	}
	sender_http_server_ok(http);
	sink_http_done(&h->r, 1, NULL);
}

/* The identifier `db` quoted for InfluxQL: "..." with " and \ escaped. */
static void
quote_ident(struct buf *b, const char *db)
{
	buf_addc(b, '"');
	for (; *db != '\0'; db++) {
		if (*db == '"' || *db == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *db);
	}
	buf_addc(b, '"');
}

/* The paths of the write and of the database's creation. */
static int
paths(struct influx *h, const char *db)
{
	struct buf	 q;
	int		 failed;

	buf_reset(&h->write);
	buf_adds(&h->write, "/write?db=");
	sender_http_escape(&h->write, db);
	buf_adds(&h->write, "&precision=s");
	buf_init(&q);
	buf_adds(&q, "CREATE DATABASE ");
	quote_ident(&q, db);
	buf_reset(&h->create);
	buf_adds(&h->create, "/query?q=");
	if (!buf_failed(&q))
		sender_http_escape(&h->create, q.p);
	failed = buf_failed(&q) || buf_failed(&h->write) ||
	    buf_failed(&h->create);
	buf_free(&q);
	return failed ? -1 : 0;
}

static void
sink_influxdb_publish(struct sender *s, const char *topic,
    enum out_format fmt, const struct sink_msg *m, size_t n)
{
	struct influx	*h = s->sink;
	const char	*body;
	size_t		 len, i;

	if (h->r.busy) {
		/* the sender never does this; do not lose track of either */
		log_warnx("%s: influxdb: publish while a message is in flight",
		    __func__);
		return;
	}
	h->r.busy = 1;
	h->nmsgs = n;
	if (fmt != FORMAT_LINE) {
		sink_http_rejected(&h->r, "json that the sender could not "
		    "write as lines, and InfluxDB reads line protocol only");
		return;
	}
	if (n == 1) {
		body = m[0].data;
		len = m[0].len;
	} else {
		/* each line message ends in '\n': joined, they are lines */
		buf_reset(&h->req);
		for (i = 0; i < n; i++)
			buf_add(&h->req, m[i].data, m[i].len);
		if (buf_failed(&h->req)) {
			sink_http_done(&h->r, 0,
			    "out of memory for the request");
			return;
		}
		body = h->req.p;
		len = h->req.len;
	}
	if (len == 0) {
		sink_http_done(&h->r, 0, "empty message");
		return;
	}
	if (strcmp(h->db, topic) != 0) {
		strlcpy(h->db, topic, sizeof(h->db));
		if (paths(h, h->db) == -1) {
			h->db[0] = '\0';
			sink_http_done(&h->r, 0, "out of memory for the URL");
			return;
		}
	}
	/* the body stays in the sender's buffer until we report */
	sink_http_send(&h->r, body, len);
}

static void
sink_influxdb_close(struct sender *s)
{
	struct influx	*h = s->sink;

	if (h == NULL)
		return;
	/* an in-flight message is abandoned: the sender keeps it */
	sink_http_close(&h->r);
	buf_free(&h->write);
	buf_free(&h->create);
	buf_free(&h->req);
	free(h);
	s->sink = NULL;
}

static int
sink_influxdb_open(struct sender *s, char *err, size_t errlen)
{
	const struct strlist	*sv = &s->w->conf.servers;
	struct influx		*h;
	size_t			 i;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf_init(&h->write);
	buf_init(&h->create);
	buf_init(&h->req);
	sink_http_init(&h->r, s, "influxdb", attempt_end, attempt_start, h);
	s->sink = h;		/* from here on close() cleans up */

	for (i = 0; i < sv->n; i++)
		if (strncasecmp(sv->v[i], "http://", 7) != 0 ||
		    sv->v[i][7] == '\0' || sv->v[i][7] == '/') {
			snprintf(err, errlen, "[output] servers = \"%s\": the "
			    "influxdb output takes http://host:port base URLs",
			    sv->v[i]);
			goto fail;
		}
	/* what InfluxDB's /write takes; /query ignores it */
	if (sender_http_open(&h->r.http, sv,
	    "Content-Type: text/plain; charset=utf-8", err, errlen) == -1)
		goto fail;
	sink_http_opened(&h->r, "writing to");
	return 0;
fail:
	sink_influxdb_close(s);
	return -1;
}

const struct sink_ops sink_influxdb_ops = {
	.name = "influxdb",
	.uses_curl = 1,
	.open = sink_influxdb_open,
	.publish = sink_influxdb_publish,
	.close = sink_influxdb_close,
};
