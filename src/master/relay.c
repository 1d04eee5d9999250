/*
 * A worker's stdout and stderr to the master's terminal, escaped; see
 * relay.h.
 */
#include "relay.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"

#define RELAY_READS_PER_CB	16	/* reads of a pipe a wakeup, at most */
/*
 * Reads of each pipe at exit, at most (1 MiB): its worker is gone, but
 * what it left running that holds the pipe (swept by then, or held in
 * the kernel) must not keep the master from ending.
 */
#define RELAY_READS_AT_EXIT	256
/*
 * How often the master looks whether its terminal hung up, and how long
 * after it first saw that a SIGHUP is still taken for the one that came
 * with the hangup: the shell that forwards it, or the kernel, sends it
 * at once.
 */
#define RELAY_HUP_POLL		1.
#define RELAY_HUP_GRACE		3.

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	struct relay_set	*set;
	ev_io			 io;
	ev_io			 wio;		/* room on the terminal */
	int			 fd;		/* the pipe's read end */
	int			 to;		/* our 1 or 2 */
	int			 to_failed;	/* read and dropped since */
	int			 eof;		/* the pipe is at its end */
	char			 name[48];
	struct relay_line	 line;
	char			 in[RELAY_LINE_MAX];	/* read, not taken */
	size_t			 in_off, in_len;
	char			 out[RELAY_OUT_MAX];	/* taken, not written */
	size_t			 out_off, out_len;
};

void
relay_set_init(struct relay_set *s, struct ev_loop *loop)
{
	struct stat	 was, now;
	char		 path[32];
	unsigned int	 ptn;
	int		 i, fd;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->tty[STDOUT_FILENO] = isatty(STDOUT_FILENO) == 1;
	s->tty[STDERR_FILENO] = isatty(STDERR_FILENO) == 1;
	for (i = 0; i < 3; i++) {
		s->out[i] = i;
		if (!s->tty[i])
			continue;
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY |
		    O_CLOEXEC)) == -1) {
			log_warn("%s: %s; the master waits for the terminal",
			    __func__, path);
			continue;
		}
		/* the same terminal: opening a pty's master side (ptmx)
		 * again would make a new pty, which nobody reads */
		if (ioctl(i, TIOCGPTN, &ptn) == 0 ||
		    fstat(i, &was) == -1 || fstat(fd, &now) == -1 ||
		    !S_ISCHR(now.st_mode) || now.st_rdev != was.st_rdev) {
			log_warnx("%s: %s is not the terminal fd %d is; the "
			    "master waits for the terminal", __func__, path,
			    i);
			(void)close(fd);
			continue;
		}
		s->out[i] = fd;
	}
	/* after the opens above, which it would refuse without root */
	for (i = 0; i < 3; i++) {
		/* stdin too: the collector could open it (relay.h) */
		if (isatty(i) != 1)
			continue;
		/* only our controlling terminal's hangup sends us SIGHUP;
		 * another's (setsid -f) is no reason to take one as it */
		s->term[i] = tcgetsid(i) != -1 && tcgetsid(i) == getsid(0);
		if (ioctl(i, TIOCEXCL) == 0)
			s->excl[i] = 1;
		else
			log_warn("%s: TIOCEXCL on fd %d", __func__, i);
	}
	TAILQ_INIT(&s->list);
}

/*
 * How many bytes at the end of buf[0..n) begin a UTF-8 character that is
 * not whole yet (its lead and fewer continuations than it says): they
 * wait for the next piece, so that the character is not escaped as
 * stray bytes where the line buffer happened to end.
 */
static size_t
utf8_tail(const char *buf, size_t n)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i, want;

	for (i = 1; i <= 3 && i <= n; i++) {
		if ((s[n - i] & 0xc0) == 0x80)
			continue;
		if (s[n - i] >= 0xc2 && s[n - i] <= 0xdf)
			want = 2;
		else if (s[n - i] >= 0xe0 && s[n - i] <= 0xef)
			want = 3;
		else if (s[n - i] >= 0xf0 && s[n - i] <= 0xf4)
			want = 4;
		else
			return 0;
		return want > i ? i : 0;
	}
	return 0;
}

size_t
relay_line_take(struct relay_line *l, const char **in, size_t *inlen,
    int eof, char *out)
{
	const char	*nl;
	size_t		 take, n, keep = 0;
	int		 ended = 0, full;

	if (*inlen > 0) {
		take = sizeof(l->buf) - l->len;
		if (take > *inlen)
			take = *inlen;
		if ((nl = memchr(*in, '\n', take)) != NULL) {
			take = (size_t)(nl - *in) + 1;
			ended = 1;
		}
		memcpy(l->buf + l->len, *in, take);
		l->len += take;
		*in += take;
		*inlen -= take;
	}
	full = l->len == sizeof(l->buf);
	/* neither: all of the input is in the line by now */
	if (!ended && !full && !(eof && (l->len > 0 || l->cont)))
		return 0;
	n = l->len;
	if (ended)
		n--;
	else if (!eof)
		n -= keep = utf8_tail(l->buf, n);
	/* at most 4 bytes out for each in: it all fits */
	log_escape_bytes(out, RELAY_OUT_MAX - 1, l->buf, n);
	n = strlen(out);
	/*
	 * A piece of a longer line goes on without a newline of ours: the
	 * sender's path "-" messages (JSON, one a line) are often longer
	 * than the buffer, and each must stay one line.
	 */
	if (ended || eof)
		out[n++] = '\n';
	l->cont = !ended && !eof;
	memmove(l->buf, l->buf + l->len - keep, keep);
	l->len = keep;
	return n;
}

/*
 * Writes what is pending, and the lines of what was read, to the
 * terminal.  1 when all is written (or dropped: the terminal is gone),
 * 0 when the terminal takes no more for now.
 */
static int
relay_drain(struct relay *r)
{
	const char	*in;
	size_t		 left;
	ssize_t		 n;

	for (;;) {
		while (r->out_off < r->out_len) {
			n = write(r->set->out[r->to], r->out + r->out_off,
			    r->out_len - r->out_off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return 0;
			if (n == -1) {
				/* the terminal is gone: the worker must not
				 * block */
				r->to_failed = 1;
				log_warn("%s: %s: write to the master's fd %d;"
				    " what comes is dropped", __func__,
				    r->name, r->to);
				break;
			}
			r->out_off += (size_t)n;
		}
		r->out_off = r->out_len = 0;
		in = r->in + r->in_off;
		left = r->in_len - r->in_off;
		n = (ssize_t)relay_line_take(&r->line, &in, &left, r->eof,
		    r->out);
		r->in_off = r->in_len - left;
		if (n == 0)
			return 1;
		if (!r->to_failed)
			r->out_len = (size_t)n;
	}
}

static void
relay_free(struct relay *r)
{
	ev_io_stop(r->set->loop, &r->io);
	ev_io_stop(r->set->loop, &r->wio);
	(void)close(r->fd);
	TAILQ_REMOVE(&r->set->list, r, entry);
	free(r);
}

/*
 * Copies what is read, max_reads reads at most, all that was read
 * before written; 1 when the pipe is done with (freed).  When the
 * terminal is full, the pipe is left alone until it has room
 * (relay_wcb): its worker waits, not us.
 */
static int
relay_read(struct relay *r, int max_reads)
{
	ssize_t	 n;
	int	 i;

	for (i = 0; i < max_reads; i++) {
		n = read(r->fd, r->in, sizeof(r->in));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			log_warn("%s: %s", __func__, r->name);
		r->in_off = 0;
		r->in_len = n > 0 ? (size_t)n : 0;
		if (n <= 0)
			r->eof = 1;
		if (!relay_drain(r)) {
			ev_io_stop(r->set->loop, &r->io);
			ev_io_start(r->set->loop, &r->wio);
			return 0;
		}
		if (r->eof) {
			relay_free(r);
			return 1;
		}
	}
	return 0;
}

static void
relay_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)relay_read(io->data, RELAY_READS_PER_CB);
}

/* The terminal has room: what was held, then the pipe again. */
static void
relay_wcb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct relay	*r = io->data;

	if (!relay_drain(r))
		return;
	ev_io_stop(loop, &r->wio);
	if (r->eof) {
		relay_free(r);
		return;
	}
	ev_io_start(loop, &r->io);
}

int
relay_open(struct relay_set *s, int fd, const char *name, int *child_end)
{
	struct relay	*r;
	int		 p[2] = { -1, -1 };

	*child_end = -1;
	if (fd < STDOUT_FILENO || fd > STDERR_FILENO || !s->tty[fd])
		return 0;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		if (p[0] != -1) {
			(void)close(p[0]);
			(void)close(p[1]);
		}
		free(r);
		return -1;
	}
	r->set = s;
	r->fd = p[0];
	r->to = fd;
	snprintf(r->name, sizeof(r->name), "%s's %s", name,
	    fd == STDOUT_FILENO ? "stdout" : "stderr");
	ev_io_init(&r->io, relay_cb, r->fd, EV_READ);
	r->io.data = r;
	ev_io_init(&r->wio, relay_wcb, s->out[fd], EV_WRITE);
	r->wio.data = r;
	ev_io_start(s->loop, &r->io);
	TAILQ_INSERT_TAIL(&s->list, r, entry);
	*child_end = p[1];
	return 0;
}

int
relay_open_stdio(struct relay_set *s, const char *name, int fd[3])
{
	if (relay_open(s, STDOUT_FILENO, name, &fd[STDOUT_FILENO]) == -1 ||
	    relay_open(s, STDERR_FILENO, name, &fd[STDERR_FILENO]) == -1)
		return -1;
	return 0;
}

/* 1 when a terminal that was on our stdio polls as hung up. */
static int
terminal_gone(const struct relay_set *s)
{
	struct pollfd	 p;
	int		 i;

	for (i = 0; i < 3; i++) {
		if (!s->term[i])
			continue;
		/* a hung-up terminal's descriptors poll as POLLHUP for
		 * good; a live one never does */
		p.fd = i;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
			return 1;
	}
	return 0;
}

static void
hup_poll_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct relay_set	*s = t->data;

	(void)revents;
	if (!terminal_gone(s))
		return;
	s->hup_seen = ev_now(loop);
	ev_timer_stop(loop, t);
}

void
relay_set_watch_hangup(struct relay_set *s)
{
	int	 i;

	for (i = 0; i < 3; i++)
		if (s->term[i])
			break;
	if (i == 3)
		return;
	ev_timer_init(&s->hup_poll, hup_poll_cb, RELAY_HUP_POLL,
	    RELAY_HUP_POLL);
	s->hup_poll.data = s;
	ev_timer_start(s->loop, &s->hup_poll);
}

int
relay_set_hung_up(struct relay_set *s)
{
	if (!terminal_gone(s))
		return 0;
	/*
	 * Seen hung up seconds ago and run on since: nothing stopped us
	 * then (setsid, a disowned job), and this SIGHUP is an operator's
	 * `agent reload`, which must not end an agent that outlived its
	 * terminal.
	 */
	return s->hup_seen == 0 ||
	    ev_now(s->loop) - s->hup_seen < RELAY_HUP_GRACE;
}

void
relay_set_flush(struct relay_set *s)
{
	struct relay	*r;
	int		 i;

	ev_timer_stop(s->loop, &s->hup_poll);
	/* our own descriptors again, which wait for the terminal */
	TAILQ_FOREACH(r, &s->list, entry)
		ev_io_stop(s->loop, &r->wio);
	for (i = 0; i < 3; i++)
		if (s->out[i] != i) {
			(void)close(s->out[i]);
			s->out[i] = i;
		}
	for (i = 0; i < 3; i++)
		if (s->excl[i]) {
			/* the terminal as we found it: theirs to open */
			(void)ioctl(i, TIOCNXCL);
			s->excl[i] = 0;
		}
	while ((r = TAILQ_FIRST(&s->list)) != NULL) {
		/* what a full terminal held first */
		(void)relay_drain(r);
		if (!r->eof && relay_read(r, RELAY_READS_AT_EXIT))
			continue;
		/* what it read last, and the line it did not end */
		r->eof = 1;
		(void)relay_drain(r);
		relay_free(r);
	}
}
