/*
 * The file output: one message per line (json), or the lines themselves
 * (line protocol), appended to `path` or written to standard output; the
 * messages of a request one after the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sender.h"
#include "util.h"

struct sink_file {
	int	 fd;
	int	 owned;		/* ours to close (not stdout) */
};

static int
sink_file_open(struct sender *s, char *err, size_t errlen)
{
	struct sink_file	*f;
	const char		*path = s->w->conf.path;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(path, "-") == 0) {
		f->fd = STDOUT_FILENO;
	} else {
		f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (f->fd == -1) {
			snprintf(err, errlen, "[output] path \"%s\": %s", path,
			    strerror(errno));
			free(f);
			return -1;
		}
		f->owned = 1;
	}
	s->sink = f;
	return 0;
}

static void
sink_file_publish(struct sender *s, const char *topic, enum out_format fmt,
    const struct sink_msg *m, size_t n)
{
	struct sink_file	*f = s->sink;
	char			 err[256];
	size_t			 i;

	/*
	 * Each message in turn: a json message is one line; line protocol
	 * brings its own.  A write that fails part way leaves the earlier
	 * messages written and all of them in the buffer: written again
	 * later, as at-least-once allows.
	 */
	for (i = 0; i < n; i++) {
		if (util_write_all(f->fd, m[i].data, m[i].len) == -1 ||
		    (fmt == FORMAT_JSON && util_write_all(f->fd, "\n",
		    1) == -1)) {
			snprintf(err, sizeof(err), "write to %s: %s",
			    s->w->conf.path, strerror(errno));
			sender_sink_done(s, 0, err);
			return;
		}
	}
	sender_sink_done(s, 1, NULL);
}

static void
sink_file_close(struct sender *s)
{
	struct sink_file	*f = s->sink;

	if (f == NULL)
		return;
	if (f->owned && close(f->fd) == -1)
		log_warn("%s: %s", __func__, s->w->conf.path);
	free(f);
	s->sink = NULL;
}

/* logrotate moved the file away: continue in a new one at `path` */
static void
sink_file_reopen(struct sender *s)
{
	struct sink_file	*f = s->sink;
	int			 fd;

	if (f == NULL || !f->owned)
		return;
	fd = open(s->w->conf.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (fd == -1) {
		log_warn("%s: %s (still writing the old file)", __func__,
		    s->w->conf.path);
		return;
	}
	if (close(f->fd) == -1)
		log_warn("%s: close", __func__);
	f->fd = fd;
	log_info("output file %s reopened", s->w->conf.path);
}

const struct sink_ops sink_file_ops = {
	.name = "file",
	.open = sink_file_open,
	.publish = sink_file_publish,
	.close = sink_file_close,
	.reopen = sink_file_reopen,
};
