/*
 * The file output: one message per line (json), or the lines themselves
 * (line protocol), appended to the file the master opened for us (we run
 * as `user` and open no path: s->outfile_fd, swapped by the master on
 * SIGUSR1 and on reloads) or written to standard output; the messages of
 * a request one after the other.
 *
 * A FIFO or a character device given by the master is written without
 * blocking, as far as it takes, the rest when it is writable again: a
 * reader that stops reading holds up the output, not the sender's loop
 * (a blocking write held it: no point taken, no answer, and the master
 * killed the sender as hung).  The descriptor is the sender's alone, so
 * its O_NONBLOCK is no one else's business; standard output is shared
 * with the master and stays blocking.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include <ev.h>

#include "log.h"
#include "sender.h"
#include "util.h"

struct sink_file {
	struct sender	*s;
	int		 to_stdout;	/* path "-" */
	/* a request being written to a FIFO or device, without blocking */
	int		 fd;		/* -1: none */
	ev_io		 wio;
	struct iovec	*iov;		/* two per message, what is left */
	size_t		 niov;
	size_t		 capiov;
	size_t		 cur;		/* first iov not written in full */
};

static void	 pipe_write(struct sink_file *);

static void
wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	pipe_write(w->data);
}

static int
sink_file_open(struct sender *s, char *err, size_t errlen)
{
	struct sink_file	*f;
	const char		*path = s->w->conf.path;

	if (strcmp(path, "-") != 0 && s->outfile_fd == -1) {
		snprintf(err, errlen, "[output] path \"%s\": %s", path,
		    s->outfile_err[0] != '\0' ? s->outfile_err :
		    "not opened by the master");
		return -1;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->s = s;
	f->to_stdout = strcmp(path, "-") == 0;
	f->fd = -1;
	ev_io_init(&f->wio, wio_cb, -1, EV_WRITE);
	f->wio.data = f;
	s->sink = f;
	return 0;
}

/* The write in progress is over, one way or the other: tell the sender. */
static void
pipe_done(struct sink_file *f, int ok, const char *err)
{
	ev_io_stop(f->s->w->loop, &f->wio);
	f->fd = -1;
	f->niov = f->cur = 0;
	sender_sink_done(f->s, ok, err);
}

/* Write what the pipe takes now; wait for it to be writable for more. */
static void
pipe_write(struct sink_file *f)
{
	struct ev_loop	*loop = f->s->w->loop;
	char		 err[256];
	ssize_t		 n;
	size_t		 left;
	int		 cnt;

	while (f->cur < f->niov) {
		left = f->niov - f->cur;
		cnt = left > IOV_MAX ? IOV_MAX : (int)left;
		if ((n = writev(f->fd, f->iov + f->cur, cnt)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!ev_is_active(&f->wio)) {
					ev_io_set(&f->wio, f->fd, EV_WRITE);
					ev_io_start(loop, &f->wio);
				}
				return;
			}
			/* a reader has what went: nothing to cut back */
			snprintf(err, sizeof(err), "write to %s: %s",
			    f->s->w->conf.path, strerror(errno));
			pipe_done(f, 0, err);
			return;
		}
		/* past what went whole, then into the one that went part way */
		while (f->cur < f->niov && (size_t)n >= f->iov[f->cur].iov_len) {
			n -= (ssize_t)f->iov[f->cur].iov_len;
			f->cur++;
		}
		if (n > 0) {
			f->iov[f->cur].iov_base =
			    (char *)f->iov[f->cur].iov_base + n;
			f->iov[f->cur].iov_len -= (size_t)n;
		}
	}
	pipe_done(f, 1, NULL);
}

/* Start writing a request to a FIFO or device without blocking. */
static void
pipe_publish(struct sink_file *f, int fd, enum out_format fmt,
    const struct sink_msg *m, size_t n)
{
	struct iovec	*v;
	char		 err[256];
	size_t		 i;
	int		 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || ((fl & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
		snprintf(err, sizeof(err), "%s: O_NONBLOCK: %s",
		    f->s->w->conf.path, strerror(errno));
		sender_sink_done(f->s, 0, err);
		return;
	}
	if (n > f->capiov / 2) {
		if ((v = reallocarray(f->iov, n, 2 * sizeof(*v))) == NULL) {
			sender_sink_done(f->s, 0,
			    "out of memory for a request");
			return;
		}
		f->iov = v;
		f->capiov = 2 * n;
	}
	f->niov = 0;
	for (i = 0; i < n; i++) {
		/* the sender keeps the bytes unchanged until we report */
		f->iov[f->niov].iov_base = (void *)m[i].data;
		f->iov[f->niov++].iov_len = m[i].len;
		/* a json message is one line; line protocol brings its own */
		if (fmt == FORMAT_JSON) {
			f->iov[f->niov].iov_base = (void *)"\n";
			f->iov[f->niov++].iov_len = 1;
		}
	}
	f->cur = 0;
	f->fd = fd;
	pipe_write(f);
}

void
sink_file_fd_closing(struct sender *s)
{
	struct sink_file	*f = s->sink;

	/* what the old file took, on its disk before it goes */
	if (s->outsync_fd != -1 && s->outsync_fd == s->outfile_fd)
		(void)sender_out_sync(s);
	/* the next file may be on a file system that syncs */
	if (s->nosync_fd == s->outfile_fd)
		s->nosync_fd = -1;
	if (s->ops != &sink_file_ops || f == NULL || f->fd == -1 ||
	    f->fd != s->outfile_fd)
		return;
	/* the whole request again, to the new file */
	pipe_done(f, 0, "the output file was reopened during a write");
}

/* Whether a publish could write anywhere: standard output, or a file
 * the master gave us. */
int
sink_file_usable(const struct sender *s)
{
	return strcmp(s->w->conf.path, "-") == 0 || s->outfile_fd != -1;
}

/*
 * A write that failed part way (the disk full) left the start of a
 * message: the retry would glue the whole message to it, one line no
 * reader can parse.  A regular file, which the sender alone appends to,
 * is cut back to where the request began: the retry writes it all again,
 * and on a disk with room for it once, not for the messages written
 * before the failure twice.  (A pipe or terminal cannot be: a reader has
 * the fragment already.)
 */
static void
file_cut(struct sender *s, int fd, int reg, off_t end)
{
	struct stat	 st;

	if (reg && fstat(fd, &st) == 0 && st.st_size > end &&
	    ftruncate(fd, end) == -1)
		log_warn("%s: cutting a partial write off %s", __func__,
		    s->w->conf.path);
}

static void
sink_file_publish(struct sender *s, const char *topic, enum out_format fmt,
    const struct sink_msg *m, size_t n)
{
	struct sink_file	*f = s->sink;
	char			 err[256];
	struct iovec		 iov[2];
	struct stat		 st;
	off_t			 start;
	size_t			 i;
	int			 fd, reg;

	fd = f->to_stdout ? STDOUT_FILENO : s->outfile_fd;
	/*
	 * A sync of the output failed and the sender ends with this turn:
	 * what it wrote now would be let go from the spool unsynced, its
	 * segment removed before the next sender could publish it again.
	 */
	if (s->outsync_failed) {
		sender_sink_done(s, 0, "the output file could not be synced: "
		    "the sender restarts");
		return;
	}
	if (fd == -1) {
		sender_sink_done(s, 0, "no output file from the master");
		return;
	}
	/*
	 * Each message in turn: a json message is one line; line protocol
	 * brings its own.  A write that fails part way leaves all of them
	 * in the buffer, to be written again later (file_cut()).
	 */
	reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (!f->to_stdout && !reg) {
		pipe_publish(f, fd, fmt, m, n);
		return;
	}
	start = reg ? st.st_size : 0;
	for (i = 0; i < n; i++) {
		/* one writev: a line reaches a reader whole, in one call */
		iov[0].iov_base = (void *)m[i].data;
		iov[0].iov_len = m[i].len;
		iov[1].iov_base = (void *)"\n";
		iov[1].iov_len = fmt == FORMAT_JSON ? 1 : 0;
		if (util_writev_all(fd, iov, 2) == -1) {
			snprintf(err, sizeof(err), "write to %s: %s",
			    s->w->conf.path, strerror(errno));
			file_cut(s, fd, reg, start);
			sender_sink_done(s, 0, err);
			return;
		}
	}
	/* taken, not yet on disk: their records wait (sender_hold.c) */
	if (reg)
		sender_hold_output(s, fd);
	sender_sink_done(s, 1, NULL);
}

static void
sink_file_close(struct sender *s)
{
	struct sink_file	*f = s->sink;

	if (f == NULL)
		return;
	(void)sender_out_sync(s);
	/* a write in progress is abandoned: the sender keeps its points */
	ev_io_stop(s->w->loop, &f->wio);
	free(f->iov);
	free(f);
	s->sink = NULL;
}

const struct sink_ops sink_file_ops = {
	.name = "file",
	.open = sink_file_open,
	.publish = sink_file_publish,
	.close = sink_file_close,
};
