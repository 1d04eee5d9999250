/*
 * A worker's stdout and stderr copied to the master's terminal, a line at
 * a time, escaped (master/relay.c).
 */
#include <criterion/criterion.h>

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "master/relay.h"

/* Every line the reads in[] make, as one string; eof after the last. */
static void
lines_of(const char *const *in, const size_t *lens, size_t n, char *all,
    size_t alllen)
{
	struct relay_line	 l;
	char			 out[RELAY_OUT_MAX + 1];
	const char		*p;
	size_t			 i, left, got, used = 0;

	memset(&l, 0, sizeof(l));
	all[0] = '\0';
	for (i = 0; i <= n; i++) {
		p = i < n ? in[i] : NULL;
		left = i < n ? lens[i] : 0;
		while ((got = relay_line_take(&l, &p, &left, i == n, out)) >
		    0) {
			cr_assert_leq(got, RELAY_OUT_MAX);
			cr_assert_lt(used + got, alllen);
			memcpy(all + used, out, got);
			used += got;
		}
		cr_assert_eq(left, 0, "read %zu not taken whole", i);
	}
	all[used] = '\0';
}

Test(relay, lines_across_reads_escaped)
{
	const char *const	 in[] = { "plain\nhalf ", "a line\n\x1b]0;t",
	    "itle\x07 and \x1b[2J\n", "no newline at the end" };
	size_t			 lens[4], i;
	char			 all[4096];

	for (i = 0; i < 4; i++)
		lens[i] = strlen(in[i]);
	lines_of(in, lens, 4, all, sizeof(all));
	cr_assert_str_eq(all, "plain\nhalf a line\n"
	    "\\x1b]0;title\\x07 and \\x1b[2J\n"
	    "no newline at the end\n");
}

Test(relay, utf8_kept_c1_nul_and_stray_bytes_escaped)
{
	/* é and 中 are text; U+009B (CSI), a lone 0x9b, NUL and DEL not */
	static const char	 raw[] = "caf\xc3\xa9 \xe4\xb8\xad "
	    "\xc2\x9b" "1m \x9b" "2J \x00 \x7f\n";
	const char *const	 in[] = { raw };
	size_t			 lens[] = { sizeof(raw) - 1 };
	char			 all[4096];

	lines_of(in, lens, 1, all, sizeof(all));
	cr_assert_str_eq(all, "caf\xc3\xa9 \xe4\xb8\xad \\xc2\\x9b1m \\x9b2J "
	    "\\x00 \\x7f\n");
}

/*
 * A line longer than the buffer comes in pieces of it, with no newline
 * between them: one JSON message of the sender's stays one line.
 */
Test(relay, a_long_line_stays_one_line)
{
	static char	 big[RELAY_LINE_MAX * 2 + 10];
	static char	 all[RELAY_LINE_MAX * 3];
	const char	*in[] = { big };
	size_t		 lens[] = { sizeof(big) }, n;

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	lines_of(in, lens, 1, all, sizeof(all));
	n = strlen(all);
	cr_assert_eq(n, sizeof(big));
	cr_assert_eq(strchr(all, '\n'), all + n - 1);
}

/* A character the end of the buffer cuts stays whole, not \xNN bytes. */
Test(relay, utf8_across_the_end_of_the_buffer_stays_whole)
{
	static char	 big[RELAY_LINE_MAX + 16];
	static char	 all[RELAY_LINE_MAX * 2];
	const char	*in[] = { big };
	size_t		 lens[] = { sizeof(big) }, cut;

	/* 中 (3 bytes) with its first byte or two the buffer's last */
	for (cut = 1; cut <= 2; cut++) {
		memset(big, 'x', sizeof(big));
		memcpy(big + RELAY_LINE_MAX - cut, "\xe4\xb8\xad", 3);
		big[sizeof(big) - 1] = '\n';
		lines_of(in, lens, 1, all, sizeof(all));
		cr_assert_eq(strlen(all), sizeof(big), "cut %zu", cut);
		cr_assert_eq(memcmp(all + RELAY_LINE_MAX - cut,
		    "\xe4\xb8\xad", 3), 0, "cut %zu", cut);
		cr_assert_null(strstr(all, "\\x"), "cut %zu", cut);
	}
}

Test(relay, an_escaped_buffer_of_controls_fits)
{
	static char	 ctl[RELAY_LINE_MAX];
	static char	 all[RELAY_OUT_MAX + 8];
	const char	*in[] = { ctl };
	size_t		 lens[] = { sizeof(ctl) };

	memset(ctl, 0x1b, sizeof(ctl));
	lines_of(in, lens, 1, all, sizeof(all));
	cr_assert_eq(strlen(all), RELAY_LINE_MAX * 4 + 1);
}

/* A pipe on our fd `fd`, standing in for the terminal. */
struct standin {
	int	 fd;
	int	 pipe[2];
	int	 saved;
};

static void
standin_start(struct standin *t, int fd)
{
	t->fd = fd;
	cr_assert_eq(pipe(t->pipe), 0);
	cr_assert_neq(t->saved = dup(fd), -1);
	cr_assert_eq(dup2(t->pipe[1], fd), fd);
}

/* Ours back on fd; what the stand-in got, as a string, in got. */
static void
standin_end(struct standin *t, char *got, size_t len)
{
	ssize_t	 n;

	cr_assert_eq(dup2(t->saved, t->fd), t->fd);
	close(t->saved);
	close(t->pipe[1]);
	n = read(t->pipe[0], got, len - 1);
	cr_assert_gt(n, 0);
	got[n] = '\0';
	close(t->pipe[0]);
}

/*
 * The whole path: a pipe handed to a "worker" (us), read in the loop,
 * copied to our stdout (a pipe standing in for the terminal) escaped;
 * what is left at the end flushed.  Not a terminal: nothing relayed.
 */
Test(relay, a_childs_writes_reach_our_terminal_escaped)
{
	struct relay_set	 s;
	struct standin		 t;
	struct ev_loop		*loop;
	char			 got[256];
	int			 child, i;
	static const char	 msg[] = "ok\n\x1b[2J then";

	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	standin_start(&t, STDOUT_FILENO);
	relay_set_init(&s, loop);
	cr_assert_eq(s.tty[STDOUT_FILENO], 0);
	cr_assert_eq(relay_open(&s, STDOUT_FILENO, "sched", &child), 0);
	cr_assert_eq(child, -1, "not a terminal: the child takes ours");
	s.tty[STDOUT_FILENO] = 1;
	cr_assert_eq(relay_open(&s, STDOUT_FILENO, "sched", &child), 0);
	cr_assert_geq(child, 0);
	cr_assert(fcntl(child, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(child, msg, sizeof(msg) - 1),
	    (ssize_t)sizeof(msg) - 1);
	for (i = 0; i < 100 && !TAILQ_EMPTY(&s.list); i++) {
		if (i == 1)
			cr_assert_eq(close(child), 0);
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	cr_assert(TAILQ_EMPTY(&s.list), "EOF frees the relay");
	relay_set_flush(&s);
	standin_end(&t, got, sizeof(got));
	cr_assert_str_eq(got, "ok\n\\x1b[2J then\n");
	ev_loop_destroy(loop);
}

/* At exit, what a worker still holding its end wrote is flushed. */
Test(relay, flush_takes_what_a_live_writer_left)
{
	struct relay_set	 s;
	struct standin		 t;
	struct ev_loop		*loop;
	char			 got[256];
	int			 child;

	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	standin_start(&t, STDERR_FILENO);
	relay_set_init(&s, loop);
	s.tty[STDERR_FILENO] = 1;
	cr_assert_eq(relay_open(&s, STDERR_FILENO, "sender", &child), 0);
	cr_assert_eq(write(child, "==1==ERROR: \x07", 13), 13);
	relay_set_flush(&s);
	cr_assert(TAILQ_EMPTY(&s.list));
	close(child);
	standin_end(&t, got, sizeof(got));
	cr_assert_str_eq(got, "==1==ERROR: \\x07\n");
	ev_loop_destroy(loop);
}

/*
 * On a terminal the copies go to a non-blocking description of it of
 * our own (a stopped terminal holds the worker, not us); a pty's master
 * side is not opened again (that would be a new pty): ours as it is.
 */
Test(relay, the_terminal_opened_again_without_blocking)
{
	struct relay_set	 s;
	struct ev_loop		*loop;
	struct stat		 a, b;
	int			 pm, ps, saved, excl;

	cr_assert_not_null(loop = ev_loop_new(EVFLAG_AUTO));
	cr_assert_eq(openpty(&pm, &ps, NULL, NULL, NULL), 0);
	cr_assert_neq(saved = dup(STDOUT_FILENO), -1);

	cr_assert_eq(dup2(ps, STDOUT_FILENO), STDOUT_FILENO);
	relay_set_init(&s, loop);
	cr_assert_eq(s.tty[STDOUT_FILENO], 1);
	cr_assert_neq(s.out[STDOUT_FILENO], STDOUT_FILENO);
	cr_assert(fcntl(s.out[STDOUT_FILENO], F_GETFL) & O_NONBLOCK);
	cr_assert_eq(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(fstat(ps, &a), 0);
	cr_assert_eq(fstat(s.out[STDOUT_FILENO], &b), 0);
	cr_assert_eq(a.st_rdev, b.st_rdev);
	/* exclusive while we run: the collector cannot open it */
	cr_assert_eq(ioctl(ps, TIOCGEXCL, &excl), 0);
	cr_assert_eq(excl, 1);
	relay_set_flush(&s);
	cr_assert_eq(s.out[STDOUT_FILENO], STDOUT_FILENO);
	cr_assert_eq(ioctl(ps, TIOCGEXCL, &excl), 0);
	cr_assert_eq(excl, 0, "the terminal as it was, at the end");

	cr_assert_eq(dup2(pm, STDOUT_FILENO), STDOUT_FILENO);
	relay_set_init(&s, loop);
	cr_assert_eq(s.tty[STDOUT_FILENO], 1);
	cr_assert_eq(s.out[STDOUT_FILENO], STDOUT_FILENO);
	relay_set_flush(&s);

	cr_assert_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	close(pm);
	close(ps);
	ev_loop_destroy(loop);
}
