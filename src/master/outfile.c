/*
 * The file output ([output] name = "file"): opened by the master, which
 * may write where the operator points it, and handed to the sender as a
 * descriptor over its control edge: when the sender starts, on a reload
 * that changes it, and on SIGUSR1 (logrotate).  The sender, running as
 * `user`, only writes to what it was given.
 *
 * The file is opened as pathsafe.h says (its directory walked and
 * trusted, never through a link, created with O_EXCL), with O_APPEND;
 * a new file gets OUTFILE_MODE, and its directory is synced: the sender
 * syncs the file before its spool lets the points go (sender_hold.c),
 * which is worth nothing if the file's entry is lost.  "-" is the
 * sender's standard output.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "master.h"
#include "pathsafe.h"

#define OUTFILE_MODE	0640	/* points may be private: not for all */

static int
outfile_wanted(const struct agent_conf *c)
{
	return strcmp(c->output_name, "file") == 0 && strcmp(c->path, "-") != 0;
}

int
outfile_changed(const struct agent_conf *a, const struct agent_conf *b)
{
	return outfile_wanted(a) != outfile_wanted(b) ||
	    (outfile_wanted(b) && strcmp(a->path, b->path) != 0);
}

int
outfile_send(struct master *m, struct wslot *w, const struct agent_conf *c,
    int keep)
{
	struct pbuf	 pb;
	char		 err[768] = "";
	int		 fd = -1, rv;

	if (w->ctl == NULL)
		return -1;
	if (outfile_wanted(c)) {
		fd = pathsafe_open_file(c->path, PATHSAFE_EXISTING, 0,
		    O_WRONLY | O_APPEND, OUTFILE_MODE, geteuid(),
		    PATHSAFE_F_SPECIAL | PATHSAFE_F_SYNCDIR, err, sizeof(err));
		if (fd == -1) {
			log_warnx("%s: [output] path %s: %s", __func__, c->path,
			    err);
			/* SIGUSR1: better the old file than none */
			if (keep)
				return -1;
		}
	}
	codec_put_init(&pb);
	codec_put_str(&pb, outfile_wanted(c) ? c->path : "");
	codec_put_str(&pb, err);
	if (codec_put_failed(&pb)) {
		codec_put_free(&pb);
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* the frame layer owns fd from here, sent or not */
	rv = frame_send(w->ctl, MSG_OUTPUT_FILE, 0, pb.buf, pb.len, fd);
	codec_put_free(&pb);
	if (rv == -1)
		log_warn("%s: output file to the sender", __func__);
	return rv;
}
