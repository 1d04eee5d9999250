/*
 * The file output: one message per line (json), or the lines themselves
 * (line protocol), appended to the file the master opened for us (we run
 * as `user` and open no path: s->outfile_fd, swapped by the master on
 * SIGUSR1 and on reloads) or written to standard output; the messages of
 * a request one after the other.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sender.h"
#include "util.h"

struct sink_file {
	int	 to_stdout;	/* path "-" */
};

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
	f->to_stdout = strcmp(path, "-") == 0;
	s->sink = f;
	return 0;
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
	sender_sink_done(s, 1, NULL);
}

static void
sink_file_close(struct sender *s)
{
	free(s->sink);
	s->sink = NULL;
}

const struct sink_ops sink_file_ops = {
	.name = "file",
	.open = sink_file_open,
	.publish = sink_file_publish,
	.close = sink_file_close,
};
