/*
 * A worker's log lines the master does not take: its control edge full
 * (the master reads nothing, FRAME_OUTQ_MAX queued) or gone.  The line
 * goes to the worker's stderr (here a pipe this test reads), and is
 * counted in the worker's own counters (log_lines_stderr in /me/status,
 * agent_log_lines_stderr_total{role} in /metrics), which reach the
 * master once it reads again.  The runtime is hosted in this process
 * (worker_host_init(), no sandbox, no start()); the test is its master.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "conf.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "status.h"
#include "workers/worker.h"

#include "worker_fixture.h"

#define LINE_LEN	2000	/* of a filler line's text */
#define ERR_MAX		(256 * 1024)	/* of stderr kept */

struct h {
	struct worker		 w;
	int			 saved_err;	/* the test's own stderr */
	int			 errpipe;	/* the worker's, read end */
	char			*err;		/* what came on it */
	size_t			 errlen;
	struct frame_conn	*master;
	size_t			 nlogs;		/* MSG_LOG the master read */
	int			 nstats;	/* MSG_STATS answering ours */
	struct worker_stats	 stats;
	struct metric_set	 ms;
};

static void
h_init(struct h *h, int ctlfd)
{
	struct agent_conf	 c;
	int			 p[2];

	memset(h, 0, sizeof(*h));
	metrics_init(&h->ms);
	cr_assert_not_null(h->err = calloc(1, ERR_MAX + 1));
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	/* room for every line the test writes there, none held back */
	cr_assert_neq(fcntl(p[1], F_SETPIPE_SZ, ERR_MAX), -1);
	cr_assert_neq(h->saved_err = dup(STDERR_FILENO), -1);
	cr_assert_neq(dup2(p[1], STDERR_FILENO), -1);
	close(p[1]);
	h->errpipe = p[0];
	cr_assert_eq(conf_defaults(&c), 0);
	cr_assert_eq(worker_host_init(&h->w, ROLE_FETCHER, &c, ctlfd), 0);
	conf_free(&c);
	log_set_level(LOG_LVL_INFO);
}

/* What the worker wrote on its stderr since the last call, appended. */
static void
h_read_err(struct h *h)
{
	ssize_t	 n;

	while (h->errlen < ERR_MAX && (n = read(h->errpipe,
	    h->err + h->errlen, ERR_MAX - h->errlen)) > 0)
		h->errlen += (size_t)n;
	h->err[h->errlen] = '\0';
}

static void
h_free(struct h *h)
{
	/* on the worker's loop, which worker_host_free() ends */
	if (h->master != NULL)
		frame_conn_close(h->master);
	worker_host_free(&h->w);
	cr_assert_neq(dup2(h->saved_err, STDERR_FILENO), -1);
	close(h->saved_err);
	close(h->errpipe);
	free(h->err);
	metrics_free(&h->ms);
}

/* The line as the worker writes it on stderr, from its level on. */
static int
has_line(const struct h *h, const char *level, const char *text)
{
	char	 want[LINE_LEN + 128];

	snprintf(want, sizeof(want), "%s fetcher[%ld]: %s\n", level,
	    (long)getpid(), text);
	return strstr(h->err, want) != NULL;
}

static void
master_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct h	*h = arg;
	struct preader	 pr;
	char		 err[256];

	codec_get_init(&pr, in->data, in->datalen);
	if (in->hdr.type == MSG_LOG)
		h->nlogs++;
	else if (in->hdr.type == MSG_STATS) {
		cr_assert_eq(status_stats_msg_decode(&pr, &h->stats, &h->ms,
		    err, sizeof(err)), 0, "%s", err);
		h->nstats++;
	}
}

static void
master_close(struct frame_conn *fc, const char *why, void *arg)
{
	((struct h *)arg)->master = NULL;
}

Test(worker_log, edge_full_lines_to_stderr_counted)
{
	struct frame_rules	 rules;
	const struct metric	*m;
	struct h		 h;
	char			 fill[LINE_LEN + 1], text[LINE_LEN + 64];
	size_t			 i, refused;
	int			 sv[2];
	ev_tstamp		 end;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h_init(&h, sv[1]);
	memset(fill, 'x', LINE_LEN);
	fill[LINE_LEN] = '\0';

	/*
	 * The master reads nothing: the lines queue on the edge until it
	 * refuses more (ENOBUFS); every line of the same length, so that
	 * the first one refused leaves no room for the next.
	 */
	for (i = 0; h.w.log_stderr == 0; i++) {
		cr_assert_lt(i, 2 * FRAME_OUTQ_MAX / LINE_LEN,
		    "the edge took every line");
		log_info("fill %06zu %s", i, fill);
	}
	/* lines 0 to refused - 1 queued, line `refused` not */
	refused = i - 1;
	cr_assert_eq(h.w.log_stderr, 1);
	log_warnx("lost %06zu %s", i, fill);
	cr_assert_eq(h.w.log_stderr, 2);
	h_read_err(&h);
	snprintf(text, sizeof(text), "fill %06zu %s", refused, fill);
	cr_assert(has_line(&h, "INFO", text), "the refused line is not on "
	    "stderr:\n%.300s", h.err);
	snprintf(text, sizeof(text), "lost %06zu %s", i, fill);
	cr_assert(has_line(&h, "WARN", text), "the second refused line is "
	    "not on stderr:\n%.300s", h.err);
	/* the queued ones are the master's, not written twice */
	snprintf(text, sizeof(text), "fill %06zu %s", refused - 1, fill);
	cr_assert(!has_line(&h, "INFO", text));

	/* the master reads again: every queued line, then the counters */
	rules.edge = proto_control_edge(ROLE_FETCHER);
	rules.self = ROLE_MASTER;
	rules.name = "test-master<->fetcher";
	cr_assert_not_null(h.master = frame_conn_new(h.w.loop, sv[0], &rules,
	    master_msg, master_close, &h));
	ev_now_update(h.w.loop);
	end = ev_now(h.w.loop) + 30.;
	while (h.nlogs < refused && h.master != NULL &&
	    ev_now(h.w.loop) < end)
		ev_run(h.w.loop, EVRUN_ONCE);
	/* those refused are not sent later */
	cr_assert_eq(h.nlogs, refused);
	/* asked only now: the answer would not fit in a full queue */
	cr_assert_eq(frame_send(h.master, MSG_STATS_REQ, 7, NULL, 0, -1), 0);
	while (h.nstats == 0 && h.master != NULL && ev_now(h.w.loop) < end)
		ev_run(h.w.loop, EVRUN_ONCE);
	cr_assert_eq(h.nstats, 1, "no answer to MSG_STATS_REQ");
	cr_assert_eq(h.nlogs, refused);
	cr_assert_eq(stat_of(&h.stats, "log_lines_stderr"), 2);
	m = metrics_find(&h.ms, "log_lines_stderr_total", "role", "fetcher",
	    NULL);
	cr_assert_not_null(m, "no log_lines_stderr_total{role=fetcher}");
	cr_assert_eq(m->kind, METRIC_COUNTER);
	cr_assert_eq(m->value, 2);
	h_free(&h);
}

Test(worker_log, edge_gone_lines_to_stderr_counted)
{
	struct h	 h;
	uint64_t	 before;
	int		 sv[2], i;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h_init(&h, sv[1]);
	log_info("before the master went");
	cr_assert_eq(h.w.log_stderr, 0);

	/* the master's end closed: the worker sees it in its loop */
	close(sv[0]);
	for (i = 0; i < 100 && h.w.ctl != NULL; i++)
		ev_run(h.w.loop, EVRUN_NOWAIT);
	cr_assert_null(h.w.ctl, "the edge's end was not seen");
	/* its own last words (ctl_close_cb) had no master either */
	before = h.w.log_stderr;
	cr_assert_geq(before, 1);

	log_warnx("nobody reads this");
	cr_assert_eq(h.w.log_stderr, before + 1);
	h_read_err(&h);
	cr_assert(has_line(&h, "WARN", "nobody reads this"), "not on "
	    "stderr:\n%s", h.err);
	cr_assert(strstr(h.err, "control edge closed") != NULL, "%s", h.err);
	/* queued when the edge went: lost, and not counted (README) */
	cr_assert(!has_line(&h, "INFO", "before the master went"));
	h_free(&h);
}

/*
 * The runtime's sample rides with a role's set of METRICS_MAX samples
 * (a scheduler's of hundreds of plugins), which the decoder would refuse
 * whole with one more: one of the role's is left out instead, and the
 * log says so.
 */
Test(worker_log, the_runtimes_sample_beside_a_full_set)
{
	struct frame_rules	 rules;
	struct metric_set	 ms;
	struct h		 h;
	char			 code[16];
	ev_tstamp		 end;
	size_t			 i;
	int			 sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h_init(&h, sv[1]);
	rules.edge = proto_control_edge(ROLE_FETCHER);
	rules.self = ROLE_MASTER;
	rules.name = "test-master<->fetcher";
	cr_assert_not_null(h.master = frame_conn_new(h.w.loop, sv[0], &rules,
	    master_msg, master_close, &h));
	metrics_init(&ms);
	for (i = 0; i < METRICS_MAX; i++) {
		snprintf(code, sizeof(code), "%zu", i);
		cr_assert_eq(metrics_put(&ms, "http_requests_total", i, "code",
		    code, NULL), 0);
	}
	cr_assert_eq(worker_push_stats_all(&h.w, NULL, 0, NULL, 0, NULL, &ms),
	    0);
	ev_now_update(h.w.loop);
	end = ev_now(h.w.loop) + 30.;
	while (h.nstats == 0 && h.master != NULL && ev_now(h.w.loop) < end)
		ev_run(h.w.loop, EVRUN_ONCE);
	cr_assert_eq(h.nstats, 1, "the counters did not reach the master");
	cr_assert_eq(h.ms.n, METRICS_MAX);
	cr_assert_not_null(metrics_find(&h.ms, "log_lines_stderr_total",
	    "role", "fetcher", NULL));
	cr_assert_not_null(metrics_find(&h.ms, "http_requests_total", "code",
	    "4094", NULL));
	cr_assert_null(metrics_find(&h.ms, "http_requests_total", "code",
	    "4095", NULL));
	cr_assert_eq(stat_of(&h.stats, "log_lines_stderr"), 0);
	/* the cut, said (stats_encode_fit) */
	cr_assert_eq(h.nlogs, 1);
	metrics_free(&ms);
	h_free(&h);
}
