/*
 * libFuzzer target for what nsqd sends the sender over the NSQ TCP
 * protocol (src/workers/sender/nsq_proto.c): frames, pushed in pieces,
 * and what they carry (error frames, the JSON answer to IDENTIFY).
 *
 * Input: byte 0 is the size of the pieces (1..256), byte 1 selects a
 * smaller frame limit when odd; the rest is the byte stream.
 *
 * Besides "no crash, no leak, no stack overflow": a failed reader stays
 * failed and says why, frames lie within what was pushed, and the texts
 * taken from nsqd are printable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workers/sender/nsq_proto.h"

#include "fuzz_common.h"

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_ASSERT((unsigned char)*s >= 0x20 &&
		    (unsigned char)*s < 0x7f, "unprintable byte %#x",
		    (unsigned char)*s);
}

static void
frame(const struct nsq_frame *f)
{
	struct nsq_identify_resp	 id;
	struct nsq_error		 e;
	char				 err[256];

	switch (nsq_frame_kind(f)) {
	case NSQ_K_ERROR:
		nsq_error_parse(f->data, f->len, &e);
		printable(e.text);
		printable(e.name);
		break;
	case NSQ_K_JSON:
		err[0] = '\0';
		if (nsq_identify_parse(f->data, f->len, &id, err,
		    sizeof(err)) == -1) {
			FUZZ_ASSERT(err[0] != '\0', "no reason");
			printable(err);
		} else {
			printable(id.version);
			(void)nsq_identify_check(&id);
		}
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsq_reader	 r;
	struct nsq_frame	 f;
	size_t			 chunk, off, n;
	int			 rc = 0;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] + 1;
	nsq_reader_init(&r, data[1] & 1 ? 4096 : 0);
	data += 2;
	size -= 2;
	for (off = 0; off < size && rc != -1; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (nsq_reader_push(&r, data + off, n) == -1) {
			FUZZ_ASSERT(r.failed, "push failed, reader did not");
			break;
		}
		while ((rc = nsq_reader_next(&r, &f)) == 1) {
			FUZZ_ASSERT(f.data >= r.p && f.data + f.len <= r.p +
			    r.len, "frame outside the buffer");
			frame(&f);
		}
	}
	if (rc == -1 || r.failed) {
		FUZZ_ASSERT(nsq_reader_error(&r) != NULL &&
		    nsq_reader_error(&r)[0] != '\0', "failed without reason");
		FUZZ_ASSERT(nsq_reader_next(&r, &f) == -1 &&
		    nsq_reader_push(&r, "x", 1) == -1, "failure not sticky");
	}
	FUZZ_ASSERT(nsq_reader_pending(&r) <= size, "pending");
	nsq_reader_free(&r);
	return 0;
}
