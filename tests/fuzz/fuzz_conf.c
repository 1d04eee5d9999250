/*
 * libFuzzer target for the config file (src/master/conf_load.c over
 * iniparser, and conf_print() of `agent check`).  The input is the file;
 * it reaches the loader by its path, as a memfd seen through /proc.
 *
 * Besides "no crash, no leak": a failure says why in one printable line,
 * and what loads survives `agent check`: printed, loaded again and
 * printed again, the same text and the same config.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/proto.h"
#include "master/conf_load.h"

#include "fuzz_common.h"

static void
warn_cb(const char *msg, void *arg)
{
	FUZZ_ASSERT(msg != NULL && msg[0] != '\0', "empty warning");
}

/* A file holding `len` bytes and its path; the descriptor to close. */
static int
memfile(const void *p, size_t len, char *path, size_t pathlen)
{
	int	 fd;

	if ((fd = memfd_create("fuzz-conf", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		abort();
	}
	if (len > 0 && write(fd, p, len) != (ssize_t)len) {
		perror("write");
		abort();
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* conf_print's text, malloc'ed. */
static char *
printed(const struct agent_conf *c, size_t *len)
{
	char	*text = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&text, len)) == NULL)
		abort();
	conf_print(fp, c);
	if (fclose(fp) != 0)
		abort();
	return text;
}

static void
encoded(const struct agent_conf *c, struct pbuf *b)
{
	codec_put_init(b);
	conf_encode(b, c, ROLE_MASTER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_conf	 c, c2;
	struct pbuf		 e1, e2;
	char			 path[64], err[2048], *t1, *t2;
	size_t			 l1, l2;
	int			 fd, fd2;

	fuzz_quiet_log();
	fd = memfile(data, size, path, sizeof(path));
	err[0] = '\0';
	if (conf_load(path, &c, warn_cb, NULL, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0', "no reason");
		FUZZ_ASSERT(strchr(err, '\n') == NULL, "more than one line: "
		    "%s", err);
		close(fd);
		return 0;
	}
	close(fd);

	t1 = printed(&c, &l1);
	/* a value's line starts "\tkey = ": this one only conf_print writes */
	FUZZ_ASSERT(strstr(t1, "\n\t# ") == NULL,
	    "a value loaded cannot be printed:\n%s", t1);
	fd2 = memfile(t1, l1, path, sizeof(path));
	FUZZ_ASSERT(conf_load(path, &c2, warn_cb, NULL, err, sizeof(err)) ==
	    0, "agent check's output does not load: %s\n%s", err, t1);
	close(fd2);
	t2 = printed(&c2, &l2);
	FUZZ_ASSERT(l1 == l2 && memcmp(t1, t2, l1) == 0,
	    "agent check's output reads back otherwise:\n%s\n---\n%s", t1, t2);
	encoded(&c, &e1);
	encoded(&c2, &e2);
	FUZZ_ASSERT(e1.len == e2.len && memcmp(e1.buf, e2.buf, e1.len) == 0,
	    "agent check's output is another config:\n%s", t1);
	codec_put_free(&e1);
	codec_put_free(&e2);
	free(t1);
	free(t2);
	conf_free(&c);
	conf_free(&c2);
	return 0;
}
