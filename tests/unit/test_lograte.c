/*
 * The log budget of a worker role (src/master/lograte.c): a flood is cut
 * to the budget and counted, a legitimate logger never meets it; and the
 * master applies it to MSG_LOG (a real loop and control edge, the test
 * playing a compromised worker on the raw end).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "codec.h"
#include "frame.h"
#include "log.h"
#include "master/lograte.h"
#include "master/master.h"
#include "proto.h"
#include "warn_limit.h"

/* A flood at one instant: the burst passes, the rest is counted. */
Test(lograte, a_flood_gets_the_burst_and_is_counted)
{
	struct lograte	 lr;
	int		 i, kept = 0;

	memset(&lr, 0, sizeof(lr));
	for (i = 0; i < 100000; i++)
		kept += lograte_take(&lr, 1000.0, 10);
	cr_assert_eq(kept, (int)LOGRATE_LINES_BURST);
	cr_assert_eq(lr.total, 100000 - LOGRATE_LINES_BURST);
	/* a second later, a second's worth */
	kept = 0;
	for (i = 0; i < 100000; i++)
		kept += lograte_take(&lr, 1001.0, 10);
	cr_assert_eq(kept, (int)LOGRATE_LINES);
}

/* Long lines run out of bytes first: 8000-byte texts, as the flood had. */
Test(lograte, long_lines_are_held_to_the_bytes_budget)
{
	struct lograte	 lr;
	double		 t;
	uint64_t	 bytes = 0;

	memset(&lr, 0, sizeof(lr));
	/* ten minutes at 1000 lines a second */
	for (t = 0; t < 600; t += 0.001)
		if (lograte_take(&lr, 5000.0 + t, 8000))
			bytes += 8000 + LOGRATE_LINE_COST;
	cr_assert_leq(bytes, LOGRATE_BYTES_BURST + 600 * LOGRATE_BYTES,
	    "%llu", (unsigned long long)bytes);
}

/*
 * The busiest legitimate logger: the scheduler when plugins fail, one
 * line a failed run.  256 plugins failing together with 4 KiB lines (the
 * most a worker's line holds), then 60 failing every 10 s for an hour,
 * with a start of all 256 again every minute: nothing dropped.
 */
Test(lograte, failing_plugins_never_meet_the_budget)
{
	struct lograte	 lr;
	int		 i, s;

	memset(&lr, 0, sizeof(lr));
	for (i = 0; i < 256; i++)
		cr_assert(lograte_take(&lr, 10.0, 4096));
	for (s = 10; s < 3600; s += 10) {
		for (i = 0; i < 60; i++)
			cr_assert(lograte_take(&lr, 10.0 + s, 4096),
			    "dropped at %d s, line %d", s, i);
		if (s % 60 == 0)
			for (i = 0; i < 256; i++)
				cr_assert(lograte_take(&lr, 10.5 + s, 4096),
				    "dropped at %d s, burst line %d", s, i);
	}
	cr_assert_eq(lr.total, 0);
}

/* Said at the first drop, then one summary per interval with the counts;
 * those dropped at a flood's end are told later, not lost. */
Test(lograte, the_summary_comes_once_an_interval_with_the_counts)
{
	struct lograte	 lr;
	uint64_t	 lines, bytes;
	double		 secs;
	int		 i, said = 0;

	memset(&lr, 0, sizeof(lr));
	cr_assert_eq(lograte_summary_due(&lr, 100.0, &lines, &bytes, &secs),
	    0);
	for (i = 0; i < (int)LOGRATE_LINES_BURST; i++)
		(void)lograte_take(&lr, 100.0, 100);
	cr_assert_eq(lograte_summary_due(&lr, 100.0, &lines, &bytes, &secs),
	    0, "nothing dropped yet");
	for (i = 0; i < 5000; i++) {
		(void)lograte_take(&lr, 100.0, 100);
		said += lograte_summary_due(&lr, 100.0, &lines, &bytes, &secs);
		if (i == 0) {
			cr_assert_eq(said, 1);
			cr_assert_eq(lines, 1);
			cr_assert_eq(secs, 0);
		}
	}
	cr_assert_eq(said, 1);
	/* the flood stops; the next frame, an interval on, tells the rest */
	cr_assert_eq(lograte_summary_due(&lr, 100.0 + WARN_LIMIT_EVERY - 1,
	    &lines, &bytes, &secs), 0);
	cr_assert_eq(lograte_summary_due(&lr, 100.0 + WARN_LIMIT_EVERY,
	    &lines, &bytes, &secs), 1);
	cr_assert_eq(lines, 4999);
	cr_assert_eq(bytes, 4999 * 100);
	cr_assert_eq(secs, WARN_LIMIT_EVERY);
	cr_assert_eq(lograte_summary_due(&lr, 1000.0, &lines, &bytes, &secs),
	    0, "nothing more to tell");
	cr_assert_eq(lr.total, 5000);
}

/* A clock that goes back refills nothing, and does not stall refills. */
Test(lograte, a_clock_going_back_does_not_stall_the_budget)
{
	struct lograte	 lr;
	int		 i, kept = 0;

	memset(&lr, 0, sizeof(lr));
	for (i = 0; i < 2000; i++)
		(void)lograte_take(&lr, 5000.0, 10);
	cr_assert_eq(lograte_take(&lr, 1000.0, 10), 0);
	for (i = 0; i < 200; i++)
		kept += lograte_take(&lr, 1001.0, 10);
	cr_assert_eq(kept, (int)LOGRATE_LINES);
}

/* The master: a compromised gitpull's MSG_LOG flood. */

static char	 dir[] = "/tmp/agent-lograte-XXXXXX";
static struct master *sink_m;

static void
master_sink(enum log_level level, const char *msg, void *arg)
{
	logfile_write(&sink_m->log, level, "master", getpid(), msg);
}

static void
log_frame(uint8_t *out, size_t *len, const char *text)
{
	struct frame_hdr	 h;
	struct pbuf		 pb;

	codec_put_init(&pb);
	codec_put_u32(&pb, LOG_LVL_WARN);
	codec_put_str(&pb, text);
	cr_assert(!codec_put_failed(&pb));
	memset(&h, 0, sizeof(h));
	h.len = (uint32_t)(FRAME_HDR_LEN + pb.len);
	h.type = MSG_LOG;
	h.pid = (uint32_t)getpid();
	memcpy(out, &h, FRAME_HDR_LEN);
	memcpy(out + FRAME_HDR_LEN, pb.buf, pb.len);
	*len = h.len;
	codec_put_free(&pb);
}

static int
count(const char *s, const char *needle)
{
	int	 n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

#define FLOODED		5000

/*
 * A master on a loop of its own, logging to a file in `dir`, with gitpull
 * RUNNING on a control edge whose other end (*raw) the test writes.
 */
static struct master *
flood_master(int *raw)
{
	struct frame_rules	 rules;
	struct master		*m;
	struct wslot		*w;
	char			 err[256];
	enum role		 r;
	int			 sv[2];

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_not_null(m = calloc(1, sizeof(*m)));
	cr_assert_not_null(m->loop = ev_loop_new(EVFLAG_AUTO));
	m->phase = M_RUNNING;
	m->generation = 1;
	pull_init(m);
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++) {
		m->w[r].m = m;
		m->w[r].role = r;
		metrics_init(&m->w[r].metrics);
		metrics_init(&m->w[r].metrics_spare);
		metrics_init(&m->base[r]);
	}
	cr_assert_eq(logfile_open(&m->log, dir, 0, 1, err, sizeof(err)), 0,
	    "%s", err);
	m->log.min = LOG_LVL_DEBUG;
	sink_m = m;
	log_set_sink(master_sink, NULL);
	w = &m->w[ROLE_GITPULL];
	w->state = W_RUNNING;
	w->pid = getpid();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rules.edge = proto_control_edge(ROLE_GITPULL);
	rules.self = ROLE_MASTER;
	rules.name = NULL;
	cr_assert_not_null(w->ctl = frame_conn_new(m->loop, sv[0], &rules,
	    master_ctl_msg, master_ctl_close, w));
	*raw = sv[1];
	cr_assert_neq(fcntl(*raw, F_SETFL, O_NONBLOCK), -1);
	return m;
}

/* FLOODED copies of the frame, the master's loop turning meanwhile. */
static void
flood_write(struct master *m, int raw, const uint8_t *frame, size_t flen)
{
	size_t		 off = 0, sent = 0;
	ssize_t		 n;

	while (sent < FLOODED) {
		n = write(raw, frame + off, flen - off);
		if (n == -1 && errno == EAGAIN) {
			ev_run(m->loop, EVRUN_NOWAIT);
			continue;
		}
		cr_assert_gt(n, 0, "write: %s", strerror(errno));
		off += (size_t)n;
		if (off == flen) {
			off = 0;
			sent++;
		}
	}
	for (n = 0; n < 20; n++)
		ev_run(m->loop, EVRUN_NOWAIT);
}

/* The log closed and read whole (the caller frees it). */
static char *
flood_log(struct master *m)
{
	char	 path[512], *buf;
	FILE	*f;
	long	 sz;

	log_set_sink(NULL, NULL);
	logfile_close(&m->log);
	snprintf(path, sizeof(path), "%s/agent.log", dir);
	cr_assert_not_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	cr_assert_not_null(buf = calloc(1, (size_t)sz + 1));
	cr_assert_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	return buf;
}

static void
flood_master_free(struct master *m, int raw)
{
	struct wslot	*w = &m->w[ROLE_GITPULL];
	char		 cmd[512];

	if (w->ctl != NULL)
		frame_conn_close(w->ctl);
	pull_stop(m);
	stats_free(m);
	ev_loop_destroy(m->loop);
	free(m);
	close(raw);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}


Test(lograte, the_master_cuts_a_workers_log_flood)
{
	struct master		*m;
	struct wslot		*w;
	static uint8_t		 frame[512];
	char			 text[200], *buf;
	size_t			 flen;
	int			 raw, lines;

	m = flood_master(&raw);
	w = &m->w[ROLE_GITPULL];
	memset(text, 'E', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	log_frame(frame, &flen, text);
	flood_write(m, raw, frame, flen);
	cr_assert_not_null(w->ctl, "the edge closed");
	buf = flood_log(m);
	lines = count(buf, text);
	/* the burst, and what the budget refilled while the test ran:
	 * generous, for a slow machine; none of the rest */
	cr_assert_geq(lines, (int)LOGRATE_LINES_BURST);
	cr_assert_lt(lines, FLOODED / 2, "%d lines of %d written", lines,
	    FLOODED);
	cr_assert_eq(count(buf, "gitpull[") - lines, 1, "the master said it "
	    "once");
	cr_assert(strstr(buf, "logs over its role's budget") != NULL);
	cr_assert_eq(w->lograte.total + (uint64_t)lines, FLOODED);
	free(buf);
	flood_master_free(m, raw);
}

/* A worker's CONF_ACK (ok 0, with its reason) or READY, as it sends it. */
static void
ctl_frame(uint8_t *out, size_t *len, uint16_t type, const char *text)
{
	struct frame_hdr	 h;
	struct pbuf		 pb;

	codec_put_init(&pb);
	if (type == MSG_CONF_ACK) {
		codec_put_u64(&pb, 1);
		codec_put_u32(&pb, 0);
		codec_put_str(&pb, text);
	}
	cr_assert(!codec_put_failed(&pb));
	memset(&h, 0, sizeof(h));
	h.len = (uint32_t)(FRAME_HDR_LEN + pb.len);
	h.type = type;
	h.pid = (uint32_t)getpid();
	memcpy(out, &h, FRAME_HDR_LEN);
	if (pb.len > 0)
		memcpy(out + FRAME_HDR_LEN, pb.buf, pb.len);
	*len = h.len;
	codec_put_free(&pb);
}

/*
 * The other lines a worker's frames make the master write: a CONF_ACK
 * that refuses a config (its reason quoted) and a READY sent again.  A
 * compromised worker sending them without end wrote a master line for
 * each, past any budget, and rotated the log away.
 */
static void
flood_master_lines(uint16_t type, const char *needle)
{
	struct master		*m;
	static uint8_t		 frame[512];
	char			 text[200], *buf;
	size_t			 flen;
	int			 raw, lines;

	m = flood_master(&raw);
	memset(text, 'E', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ctl_frame(frame, &flen, type, text);
	flood_write(m, raw, frame, flen);
	buf = flood_log(m);
	lines = count(buf, needle);
	cr_assert_gt(lines, 0);
	cr_assert_lt(lines, FLOODED / 2, "%d lines of %d written", lines,
	    FLOODED);
	cr_assert(strstr(buf, "logs over its role's budget") != NULL);
	free(buf);
	flood_master_free(m, raw);
}

Test(lograte, the_master_cuts_a_workers_refused_config_flood)
{
	flood_master_lines(MSG_CONF_ACK, "cannot apply config generation");
}

Test(lograte, the_master_cuts_a_workers_ready_flood)
{
	flood_master_lines(MSG_READY, "sent READY twice");
}
