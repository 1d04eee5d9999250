/*
 * libFuzzer target for the sender's spool as it is read back at start
 * (src/workers/sender/sender_spool_open.c, sender_spool_read.c): the
 * input becomes a spool directory, what a crash, a torn write or a bad
 * disk may leave, which is opened, read back, closed and opened again as
 * the sender does (sender.c, sender_buffer.c).
 *
 * Input (integers little endian):
 *
 *	flags	1 byte
 *		0x01  a "mark" file (its spec comes last)
 *		0x02    made valid by the harness, for the number given
 *		0x04  each segment starts with a good header the harness
 *		      writes (else its bytes are the whole file)
 *		0x08  publish: every record read back is released and the
 *		      mark moved on as the sender does, then the restart
 *		      must find nothing
 *		0x10  append a record of the harness's
 *		0x20    to the scheduled lane (else pushed)
 *		0x40    before the reading back (else after it)
 *		0x80    asking to hold it in memory (the window has room)
 *	segs	1 byte: (segs & 3) segments; bit 2 + i: a valid record is
 *		planted after the bytes of segment i
 *	per segment:
 *	  name	1 byte: 0x80 "s-" (else "p-"); its id the low 6 bits,
 *		or when 0x40 the low 5 less than UINT64_MAX (0x20, a name
 *		no spool makes) or than SPOOL_ID_LIMIT (the last ids)
 *	  len	2 bytes, then len bytes (fewer when the input ends)
 *	  plant	when planted: 1 byte (bit 0 the record's lane, bit 1 its
 *		format), seq 2 bytes, topic length 1 byte (1 + b % 64),
 *		points length 1 byte (1 + b), then the topic and the points
 *		(a NUL of the topic and a '\n' ending the points replaced)
 *	mark	valid: its number, 2 bytes; else a length byte (% 33) and
 *		that many bytes
 *
 * Two segments of one name make one file, the second appended.  The
 * directory is made once, in $TMPDIR, else /dev/shm (syncs cost nothing
 * there), else /tmp, and emptied before each input.
 *
 * The promise checked: whatever the bytes, no crash, no leak, no hang,
 * and the spool hands back exactly the records a reference reader
 * written here from the format (sender_spool.h) finds, checked on its
 * own: every record at the offset where the last good one ended, or
 * else the first good one after it (the bytes between skipped), none
 * after the last good one (a torn tail, cut), in id order within a lane
 * (a name past the ids is no segment), those below the mark left out,
 * and the two lanes merged oldest first.  So nothing handed back fails a
 * check (magic, length, fields, CRC32C, point count), no good record is
 * lost behind garbage (a planted one is found unless a good record holds
 * it), and the numbers handed back grow where each lane's do.  Besides:
 * each record is the bytes on disk (encoded again, the same) and makes a
 * points message the sender's decoder takes; the counters (skipped, cut,
 * replayed), the bytes and segments counted and the unread count agree
 * with the reference; each skip, cut, bad mark and odd name is logged
 * once, in a printable line; an appended record goes to a new segment
 * after every name, is held in memory only when nothing waits on disk
 * and is read back otherwise (and fails when a name took the last id);
 * and a restart hands back the same records again, or, after
 * publishing, none, with the mark where it was left.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/points_msg.h"
#include "workers/sender/sender_spool.h"

#include "fuzz_common.h"

/* spoolbytes: segments of 128 KiB, far more than an input holds */
#define MAXBYTES	(1U << 20)
#define NSEGS		3
#define NFILES		(NSEGS + 2)	/* and an appended one, and spare */
#define MARK_MAX	32

#define F_MARK		0x01
#define F_MARK_VALID	0x02
#define F_HEADER	0x04
#define F_PUBLISH	0x08
#define F_APPEND	0x10
#define F_APPEND_SCHED	0x20
#define F_APPEND_BEFORE	0x40
#define F_APPEND_HOLD	0x80

#define APPEND_TOPIC	"fuzz.appended"
#define APPEND_POINTS	"fuzz.appended value=1 1\nfuzz.appended value=2 2"

static char		 dir[PATH_MAX];
static struct crc32c	 crc;

/* A record: one the reference finds, or one the spool hands back. */
struct rec {
	uint64_t	 seq;
	uint32_t	 npoints;
	unsigned	 fmt;
	unsigned	 lane;		/* the record's field */
	enum spool_lane	 seglane;	/* its file's */
	char		 topic[TOPIC_MAX + 1];
	char		*data;		/* a copy */
	size_t		 len;
	uint64_t	 reclen;
	char		 seg[SPOOL_NAME_LEN];
	size_t		 off;		/* the reference's: in seg */
	const uint8_t	*raw;		/* the reference's: its bytes */
	struct spool_seg *sseg;		/* the spool's, for release */
};

struct recs {
	struct rec	*v;
	size_t		 n, cap;
};

/* A segment file as the reference reads it. */
struct mseg {
	char		 name[SPOOL_NAME_LEN];
	enum spool_lane	 lane;
	uint64_t	 id;
	uint8_t		*p;
	size_t		 len;
	size_t		 tail;		/* torn: cut off the end */
	size_t		 nrecs;		/* good records, below the mark too */
	int		 clean;		/* nothing skipped, nothing cut */
};

struct model {
	struct mseg	 seg[NFILES];
	size_t		 nseg;
	uint64_t	 mark;
	int		 badmark;	/* a mark file that is not one */
	unsigned	 alone;		/* names past the ids, left alone */
	uint64_t	 next_id;	/* past every name taken */
	struct recs	 all;		/* every good record, lane order */
	struct recs	 want[SPOOL_LANES];	/* those to read back */
	uint64_t	 skipped, cut;
	uint64_t	 bytes_open;	/* the spool's count once open */
	uint64_t	 bytes_read;	/* and once all is read */
	uint32_t	 nsegs_open;
	int		 clean;
	uint64_t	 unread, unread_points;
};

/* A record planted by the harness, to be found. */
struct plant {
	char		 seg[SPOOL_NAME_LEN];
	size_t		 off;
	uint64_t	 seq;
};

struct input {
	const uint8_t	*p;
	size_t		 len, off;
};

/* ---- helpers ------------------------------------------------------------ */

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static unsigned
in_byte(struct input *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static unsigned
in_u16(struct input *in)
{
	unsigned	 v = in_byte(in);

	return v | in_byte(in) << 8;
}

/* Up to n bytes: *got says how many the input still had. */
static const uint8_t *
in_take(struct input *in, size_t n, size_t *got)
{
	const uint8_t	*p = in->p + in->off;

	*got = n < in->len - in->off ? n : in->len - in->off;
	in->off += *got;
	return p;
}

static void
recs_add(struct recs *l, const struct rec *r)
{
	struct rec	*v;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		FUZZ_ASSERT((v = realloc(l->v, l->cap * sizeof(*v))) != NULL,
		    "out of memory");
		l->v = v;
	}
	l->v[l->n] = *r;
	FUZZ_ASSERT((l->v[l->n].data = malloc(r->len + 1)) != NULL,
	    "out of memory");
	memcpy(l->v[l->n].data, r->data, r->len);
	l->v[l->n].data[r->len] = '\0';
	l->n++;
}

static void
recs_free(struct recs *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
model_free(struct model *m)
{
	size_t	 i;

	for (i = 0; i < m->nseg; i++)
		free(m->seg[i].p);
	recs_free(&m->all);
	for (i = 0; i < SPOOL_LANES; i++)
		recs_free(&m->want[i]);
}

/* The same record, but for where it was read from. */
static int
rec_same(const struct rec *a, const struct rec *b)
{
	return a->seq == b->seq && a->npoints == b->npoints &&
	    a->fmt == b->fmt && a->lane == b->lane &&
	    a->seglane == b->seglane && a->len == b->len &&
	    a->reclen == b->reclen && strcmp(a->topic, b->topic) == 0 &&
	    strcmp(a->seg, b->seg) == 0 && memcmp(a->data, b->data,
	    a->len) == 0;
}

/* "p-0123456789abcdef.seg", as sender_spool.h has it. */
static int
seg_name(const char *name, enum spool_lane *lane, uint64_t *id)
{
	size_t	 i;

	if (strlen(name) != 22 || (name[0] != 'p' && name[0] != 's') ||
	    name[1] != '-' || strcmp(name + 18, ".seg") != 0)
		return 0;
	*lane = name[0] == 'p' ? SPOOL_PUSHED : SPOOL_SCHEDULED;
	*id = 0;
	for (i = 2; i < 18; i++) {
		if (name[i] >= '0' && name[i] <= '9')
			*id = *id << 4 | (uint64_t)(name[i] - '0');
		else if (name[i] >= 'a' && name[i] <= 'f')
			*id = *id << 4 | (uint64_t)(name[i] - 'a' + 10);
		else
			return 0;
	}
	return 1;
}

static void
make_name(char out[SPOOL_NAME_LEN], enum spool_lane lane, uint64_t id)
{
	snprintf(out, SPOOL_NAME_LEN, "%c-%016llx.seg",
	    lane == SPOOL_PUSHED ? 'p' : 's', (unsigned long long)id);
}

static int
read_file(int dfd, const char *name, uint8_t **p, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	FUZZ_ASSERT(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "%s", name);
	*len = (size_t)st.st_size;
	FUZZ_ASSERT((*p = malloc(*len + 1)) != NULL, "out of memory");
	while (got < *len && (n = read(fd, *p + got, *len - got)) > 0)
		got += (size_t)n;
	FUZZ_ASSERT(got == *len, "%s: short read", name);
	(void)close(fd);
	return 0;
}

static void
write_file(const char *name, const uint8_t *p, size_t len, int append)
{
	char	 path[PATH_MAX + 64];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_ASSERT((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    (append ? O_APPEND : O_TRUNC), 0600)) != -1, "%s: %s", path,
	    strerror(errno));
	FUZZ_ASSERT(len == 0 || write(fd, p, len) == (ssize_t)len,
	    "%s: %s", path, strerror(errno));
	FUZZ_ASSERT(close(fd) == 0, "%s", path);
}

/* The directory as it was made: empty. */
static void
empty_dir(void)
{
	DIR		*d;
	struct dirent	*e;

	FUZZ_ASSERT((d = opendir(dir)) != NULL, "%s: %s", dir,
	    strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			FUZZ_ASSERT(unlinkat(dirfd(d), e->d_name, 0) == 0,
			    "%s/%s: %s", dir, e->d_name, strerror(errno));
	(void)closedir(d);
}

/* The segments in the directory (a name past the ids is none). */
static int
count_segs(void)
{
	DIR		*d;
	struct dirent	*e;
	enum spool_lane	 lane;
	uint64_t	 id;
	int		 n = 0;

	FUZZ_ASSERT((d = opendir(dir)) != NULL, "%s", dir);
	while ((e = readdir(d)) != NULL)
		n += seg_name(e->d_name, &lane, &id) && id < SPOOL_ID_LIMIT;
	(void)closedir(d);
	return n;
}

/* ---- the reference reader ------------------------------------------------ */

/*
 * The length of the good record at p (avail bytes there), else 0; the
 * checks of sender_spool.h, written again from it.
 */
static size_t
good_record(const uint8_t *p, size_t avail, struct rec *r)
{
	static const uint8_t	 zero[4];
	uint32_t		 len, c, lines;
	size_t			 tlen, dlen, i;
	const uint8_t		*d;

	if (avail < SPOOL_REC_HDR || memcmp(p, "AGSR", 4) != 0)
		return 0;
	len = le32(p + 4);
	tlen = p[26];
	if (len > avail || len > SPOOL_REC_MAX || tlen < 1 ||
	    tlen > TOPIC_MAX || SPOOL_REC_HDR + tlen + 1 > len ||
	    p[24] > FORMAT_LINE || p[25] >= SPOOL_LANES || p[27] != 0 ||
	    le32(p + 12) == 0)
		return 0;
	/* the tables, not the CPU's instruction the spool may use */
	c = sender_crc32c_sw(&crc, 0, p, 8);
	c = sender_crc32c_sw(&crc, c, zero, 4);
	c = sender_crc32c_sw(&crc, c, p + 12, len - 12);
	if (c != le32(p + 8) || memchr(p + SPOOL_REC_HDR, '\0', tlen) != NULL)
		return 0;
	d = p + SPOOL_REC_HDR + tlen;
	dlen = len - SPOOL_REC_HDR - tlen;
	if (d[dlen - 1] == '\n')
		return 0;
	for (lines = 1, i = 0; i < dlen; i++)
		lines += d[i] == '\n';
	if (lines != le32(p + 12))
		return 0;
	memset(r, 0, sizeof(*r));
	r->seq = le64(p + 16);
	r->npoints = lines;
	r->fmt = p[24];
	r->lane = p[25];
	memcpy(r->topic, p + SPOOL_REC_HDR, tlen);
	r->data = (char *)d;
	r->len = dlen;
	r->reclen = len;
	r->raw = p;
	return len;
}

/* One segment: its good records, skips and torn tail. */
static void
model_seg(struct model *m, struct mseg *s)
{
	struct rec	 r;
	size_t		 off = SPOOL_SEG_HDR, len, at;

	s->clean = 1;
	if (memcmp(s->p, "AGSPOOL\1", 8) != 0)
		m->skipped++;
	while (off < s->len) {
		if ((len = good_record(s->p + off, s->len - off, &r)) != 0) {
			r.seglane = s->lane;
			strlcpy(r.seg, s->name, sizeof(r.seg));
			r.off = off;
			recs_add(&m->all, &r);
			s->nrecs++;
			off += len;
			continue;
		}
		s->clean = 0;
		for (at = off + 1; at < s->len &&
		    good_record(s->p + at, s->len - at, &r) == 0; at++)
			;
		if (at == s->len) {
			m->cut++;
			s->tail = s->len - off;
			break;
		}
		m->skipped++;
		off = at;
	}
}

static int
mseg_cmp(const void *a, const void *b)
{
	const struct mseg	*x = a, *y = b;

	if (x->lane != y->lane)
		return x->lane < y->lane ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* What the spool in dir holds, read by the reference. */
static void
model_read(struct model *m)
{
	static const uint8_t	 magic[4] = { 'A', 'G', 'S', 'M' };
	DIR			*d;
	struct dirent		*e;
	struct mseg		*s;
	enum spool_lane		 lane;
	uint8_t			*mp;
	size_t			 i, j, mlen;
	int			 l, newest;
	uint64_t		 mark, id;

	memset(m, 0, sizeof(*m));
	m->next_id = 1;
	FUZZ_ASSERT((d = opendir(dir)) != NULL, "%s", dir);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, SPOOL_MARK_NAME) == 0) {
			FUZZ_ASSERT(read_file(dirfd(d), e->d_name, &mp,
			    &mlen) == 0, "mark");
			/* "AGSM", CRC32C of the number, the number */
			if (mlen >= SPOOL_MARK_LEN && memcmp(mp, magic, 4) ==
			    0 && le32(mp + 4) == sender_crc32c_sw(&crc, 0,
			    mp + 8, 8))
				m->mark = le64(mp + 8);
			else if (mlen > 0)
				m->badmark = 1;
			free(mp);
			continue;
		}
		if (!seg_name(e->d_name, &lane, &id))
			continue;
		if (id >= SPOOL_ID_LIMIT) {
			m->alone++;
			continue;
		}
		if (id >= m->next_id)
			m->next_id = id + 1;
		FUZZ_ASSERT(m->nseg < NFILES, "too many segments");
		s = &m->seg[m->nseg];
		s->lane = lane;
		s->id = id;
		strlcpy(s->name, e->d_name, sizeof(s->name));
		FUZZ_ASSERT(read_file(dirfd(d), s->name, &s->p, &s->len) == 0,
		    "%s", s->name);
		/* made, nothing written: removed at open */
		if (s->len <= SPOOL_SEG_HDR) {
			free(s->p);
			continue;
		}
		m->nseg++;
	}
	(void)closedir(d);
	qsort(m->seg, m->nseg, sizeof(m->seg[0]), mseg_cmp);
	for (i = 0; i < m->nseg; i++)
		model_seg(m, &m->seg[i]);

	/*
	 * Open reads the newest segments of each lane back to the first
	 * with a record: their tails are cut, those without one removed.
	 */
	m->clean = 1;
	for (l = 0; l < SPOOL_LANES; l++) {
		newest = 1;
		for (j = m->nseg; j-- > 0; ) {
			s = &m->seg[j];
			if ((int)s->lane != l)
				continue;
			m->clean &= s->clean;
			m->bytes_read += s->len - s->tail;
			if (newest && s->nrecs == 0) {
				m->bytes_read -= SPOOL_SEG_HDR;
				continue;
			}
			m->nsegs_open++;
			m->bytes_open += newest ? s->len - s->tail : s->len;
			newest = 0;
		}
	}
	mark = m->mark;
	for (i = 0; i < m->all.n; i++)
		if (m->all.v[i].seq >= mark) {
			recs_add(&m->want[m->all.v[i].seglane], &m->all.v[i]);
			m->unread++;
			m->unread_points += m->all.v[i].npoints;
		}
}

/* ---- the spool ----------------------------------------------------------- */

struct logs {
	unsigned	 lines;
};

static void
logfn(const char *msg, void *arg)
{
	struct logs	*lg = arg;

	FUZZ_ASSERT(fuzz_msg_ok(msg), "log line \"%s\"", msg);
	lg->lines++;
}

/* Open, and what it found as the reference has it. */
static struct spool *
open_spool(const struct model *m, struct logs *lg)
{
	struct spool	*sp;
	uint64_t	 nrec, pts;
	char		 err[512];

	FUZZ_ASSERT(sender_spool_open(&sp, dir, MAXBYTES, logfn, lg, err,
	    sizeof(err)) == 0, "open: %s", err);
	FUZZ_ASSERT(sp->mark == m->mark, "mark %llu, want %llu",
	    (unsigned long long)sp->mark, (unsigned long long)m->mark);
	FUZZ_ASSERT(sp->nsegs == m->nsegs_open && sp->bytes == m->bytes_open,
	    "open: %u segments of %llu bytes, want %u of %llu", sp->nsegs,
	    (unsigned long long)sp->bytes, m->nsegs_open,
	    (unsigned long long)m->bytes_open);
	sender_spool_unread(sp, &nrec, &pts);
	/* from the headers alone: exact when no record is corrupt */
	FUZZ_ASSERT(!m->clean || (nrec == m->unread &&
	    pts == m->unread_points), "unread %llu records of %llu points, "
	    "want %llu of %llu", (unsigned long long)nrec,
	    (unsigned long long)pts, (unsigned long long)m->unread,
	    (unsigned long long)m->unread_points);
	return sp;
}

/*
 * All read back (n records): the counters, the log and the bytes as the
 * reference has them (`more`: those of a segment appended since).
 */
static void
check_read(struct spool *sp, const struct model *m, const struct logs *lg,
    size_t n, uint64_t more)
{
	uint64_t	 nrec, pts;

	FUZZ_ASSERT(sp->st.replayed == n, "replayed %llu of %zu",
	    (unsigned long long)sp->st.replayed, n);
	FUZZ_ASSERT(sp->st.skipped == m->skipped && sp->st.cut == m->cut,
	    "skipped %llu, cut %llu, want %llu and %llu",
	    (unsigned long long)sp->st.skipped,
	    (unsigned long long)sp->st.cut,
	    (unsigned long long)m->skipped, (unsigned long long)m->cut);
	/* each skip and cut logged, a mark that is not one, a name */
	FUZZ_ASSERT(lg->lines == m->skipped + m->cut + m->badmark + m->alone,
	    "%u lines logged, want %llu", lg->lines,
	    (unsigned long long)(m->skipped + m->cut + m->badmark +
	    m->alone));
	FUZZ_ASSERT(sp->bytes == m->bytes_read + more, "read: %llu bytes, "
	    "want %llu", (unsigned long long)sp->bytes,
	    (unsigned long long)(m->bytes_read + more));
	sender_spool_unread(sp, &nrec, &pts);
	FUZZ_ASSERT(nrec == 0 && pts == 0 && sender_spool_caught_up(sp),
	    "all read, %llu records unread", (unsigned long long)nrec);
}

/*
 * A record handed back checks on its own, and makes the points message
 * a producer would have sent, which the sender's decoder takes.
 */
static void
check_rec(const struct spool_rec *r, struct rec *out)
{
	struct points_msg	 m, m2;
	struct pbuf		 pb;
	struct preader		 pr;
	size_t			 tlen;
	char			 err[512];

	FUZZ_ASSERT(r->seg != NULL, "no segment");
	tlen = strnlen(r->topic, sizeof(r->topic));
	FUZZ_ASSERT(tlen >= 1 && tlen <= TOPIC_MAX, "topic of %zu", tlen);
	FUZZ_ASSERT(r->fmt <= FORMAT_LINE && r->lane < SPOOL_LANES,
	    "format %u lane %u", r->fmt, r->lane);
	FUZZ_ASSERT(r->data != NULL && r->len > 0 &&
	    r->data[r->len - 1] != '\n' &&
	    fuzz_count_lines(r->data, r->len) == r->npoints,
	    "%u points in %zu bytes", r->npoints, r->len);
	FUZZ_ASSERT(r->reclen == SPOOL_REC_HDR + tlen + r->len,
	    "record of %llu bytes", (unsigned long long)r->reclen);

	memset(&m, 0, sizeof(m));
	m.fmt = r->fmt;
	m.origin = r->lane == SPOOL_PUSHED ? ORIGIN_PUSHED : ORIGIN_SCHEDULED;
	memcpy(m.topic, r->topic, tlen + 1);
	m.npoints = r->npoints;
	m.data = r->data;
	m.len = r->len;
	codec_put_init(&pb);
	points_msg_encode(&pb, &m);
	FUZZ_ASSERT(!codec_put_failed(&pb), "encode");
	codec_get_init(&pr, pb.buf, pb.len);
	FUZZ_ASSERT(points_msg_decode(&pr, &m2, err, sizeof(err)) == 0,
	    "the sender's decoder refuses it: %s", err);
	FUZZ_ASSERT(m2.fmt == m.fmt && m2.npoints == m.npoints &&
	    strcmp(m2.topic, m.topic) == 0 && m2.len == m.len &&
	    memcmp(m2.data, m.data, m.len) == 0, "points differ");
	codec_put_free(&pb);

	memset(out, 0, sizeof(*out));
	out->seq = r->seq;
	out->npoints = r->npoints;
	out->fmt = r->fmt;
	out->lane = r->lane;
	out->seglane = r->seg->lane;
	memcpy(out->topic, r->topic, tlen + 1);
	out->data = (char *)r->data;
	out->len = r->len;
	out->reclen = r->reclen;
	strlcpy(out->seg, r->seg->name, sizeof(out->seg));
	out->sseg = r->seg;
}

/* The record handed back is the bytes on disk, encoded again. */
static void
check_bytes(const struct rec *r, const struct rec *want)
{
	struct points_msg	 m;
	struct buf		 b;

	if (want->raw == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.fmt = (enum out_format)r->fmt;
	strlcpy(m.topic, r->topic, sizeof(m.topic));
	m.npoints = r->npoints;
	m.data = r->data;
	m.len = r->len;
	buf_init(&b);
	FUZZ_ASSERT(sender_spool_rec_encode(&b, &crc, r->seq,
	    (enum spool_lane)r->lane, &m) == 0, "encode");
	FUZZ_ASSERT(b.len == want->reclen && memcmp(b.p, want->raw,
	    b.len) == 0, "seq %llu: not the bytes on disk",
	    (unsigned long long)r->seq);
	buf_free(&b);
}

/*
 * Read every record back as the sender does: each is the next expected
 * of its lane, and no older than the head of the other lane.
 */
static void
replay(struct spool *sp, struct recs want[SPOOL_LANES], struct recs *got)
{
	struct spool_rec	 sr;
	struct rec		 r;
	const struct rec	*w, *o;
	size_t			 idx[SPOOL_LANES] = { 0, 0 }, total, i;
	uint64_t		 last = 0;
	char			 err[512];
	int			 rc, l, mono = 1;

	total = want[0].n + want[1].n;
	for (l = 0; l < SPOOL_LANES; l++)
		for (i = 1; i < want[l].n; i++)
			mono &= want[l].v[i - 1].seq < want[l].v[i].seq;
	while ((rc = sender_spool_next(sp, &sr, err, sizeof(err))) == 1) {
		FUZZ_ASSERT(got->n < total, "more records than %zu", total);
		check_rec(&sr, &r);
		l = (int)r.seglane;
		FUZZ_ASSERT(idx[l] < want[l].n, "lane %d: a record more "
		    "(seq %llu)", l, (unsigned long long)r.seq);
		w = &want[l].v[idx[l]];
		FUZZ_ASSERT(rec_same(&r, w), "lane %d record %zu: seq %llu "
		    "of %s, want seq %llu of %s at %zu", l, idx[l],
		    (unsigned long long)r.seq, r.seg,
		    (unsigned long long)w->seq, w->seg, w->off);
		check_bytes(&r, w);
		if (idx[1 - l] < want[1 - l].n) {
			o = &want[1 - l].v[idx[1 - l]];
			FUZZ_ASSERT(r.seq <= o->seq, "seq %llu before %llu "
			    "of the other lane", (unsigned long long)r.seq,
			    (unsigned long long)o->seq);
		}
		/* the numbers of each lane grow, as the spool writes
		 * them: those handed back too (the same number in both
		 * lanes only where garbage made it) */
		FUZZ_ASSERT(!mono || got->n == 0 || r.seq >= last,
		    "seq %llu after %llu", (unsigned long long)r.seq,
		    (unsigned long long)last);
		last = r.seq;
		/* the same again until taken */
		FUZZ_ASSERT(sender_spool_next(sp, &sr, err, sizeof(err)) ==
		    1 && sr.seq == r.seq && sr.seg == r.sseg, "not the same");
		sender_spool_take(sp);
		recs_add(got, &r);
		idx[l]++;
	}
	FUZZ_ASSERT(rc == 0, "next: %d %s", rc, err);
	for (l = 0; l < SPOOL_LANES; l++)
		FUZZ_ASSERT(idx[l] == want[l].n, "lane %d: %zu records of "
		    "%zu read back, seq %llu lost", l, idx[l], want[l].n,
		    (unsigned long long)want[l].v[idx[l]].seq);
}

static void
append_msg(struct points_msg *m, int sched)
{
	memset(m, 0, sizeof(*m));
	m->fmt = FORMAT_LINE;
	m->origin = sched ? ORIGIN_SCHEDULED : ORIGIN_PUSHED;
	strlcpy(m->topic, APPEND_TOPIC, sizeof(m->topic));
	m->npoints = 2;
	m->data = APPEND_POINTS;
	m->len = strlen(APPEND_POINTS);
}

/*
 * Append the harness's record as the sender does: held in memory only
 * when nothing waits on disk.  1 and its rec, with sseg the segment
 * holding it in memory or NULL; 0 when the ids are used up.
 */
static int
append(struct spool *sp, int flags, const struct model *m,
    size_t handed, struct rec *r)
{
	struct points_msg	 pm;
	struct spool_seg	*held;
	enum spool_lane		 lane;
	char			 err[512];
	int			 rc;

	lane = flags & F_APPEND_SCHED ? SPOOL_SCHEDULED : SPOOL_PUSHED;
	append_msg(&pm, lane == SPOOL_SCHEDULED);
	FUZZ_ASSERT(sender_spool_room(sp, sender_spool_record_size(&pm)),
	    "no room");
	rc = sender_spool_append(sp, lane, &pm, (flags & F_APPEND_HOLD) != 0,
	    &held, err, sizeof(err));
	/* a name took the last id: as a full disk */
	if (m->next_id >= SPOOL_ID_LIMIT) {
		FUZZ_ASSERT(rc == -1 && fuzz_msg_ok(err), "appended with "
		    "ids used up");
		return 0;
	}
	FUZZ_ASSERT(rc == 0, "append: %s", err);
	/* a new segment, after every name there is */
	FUZZ_ASSERT(sp->wseg[lane] != NULL &&
	    sp->wseg[lane]->id == m->next_id, "write segment %s",
	    sp->wseg[lane] != NULL ? sp->wseg[lane]->name : "none");
	/* before the reading back: held only if there is none to do */
	if (held != NULL && (flags & F_APPEND_BEFORE))
		FUZZ_ASSERT(m->want[0].n + m->want[1].n == 0, "held with "
		    "%zu records waiting on disk", m->want[0].n +
		    m->want[1].n);
	if (!(flags & F_APPEND_HOLD))
		FUZZ_ASSERT(held == NULL, "held, not asked to");
	if (flags & F_APPEND_HOLD && !(flags & F_APPEND_BEFORE))
		FUZZ_ASSERT(held != NULL, "not held after %zu records read "
		    "back", handed);
	memset(r, 0, sizeof(*r));
	r->seq = sender_spool_last_seq(sp);
	r->npoints = pm.npoints;
	r->fmt = pm.fmt;
	r->lane = lane;
	r->seglane = lane;
	strlcpy(r->topic, pm.topic, sizeof(r->topic));
	r->data = (char *)pm.data;
	r->len = pm.len;
	r->reclen = sender_spool_record_size(&pm);
	strlcpy(r->seg, sp->wseg[lane]->name, sizeof(r->seg));
	r->sseg = held;
	return 1;
}

/* ---- one input ----------------------------------------------------------- */

static size_t
file_size(const char *name)
{
	struct stat	 st;
	char		 path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == -1) {
		FUZZ_ASSERT(errno == ENOENT, "%s: %s", path, strerror(errno));
		return 0;
	}
	return (size_t)st.st_size;
}

/* `want` bytes of the input, padded with `pad` where it ended. */
static void
in_fill(struct input *in, char *out, size_t want, char pad)
{
	const uint8_t	*p;
	size_t		 got;

	p = in_take(in, want, &got);
	memcpy(out, p, got);
	memset(out + got, pad, want - got);
}

/* A good record of the input's bytes after the segment's, as a plant. */
static void
plant(struct input *in, struct buf *b, size_t base, struct plant *pl)
{
	struct points_msg	 pm;
	char			 pts[256];
	size_t			 tlen, plen, i;
	unsigned		 fields;

	fields = in_byte(in);
	pl->seq = in_u16(in);
	tlen = 1 + in_byte(in) % TOPIC_MAX;
	plen = 1 + in_byte(in);
	memset(&pm, 0, sizeof(pm));
	pm.fmt = fields & 2 ? FORMAT_LINE : FORMAT_JSON;
	in_fill(in, pm.topic, tlen, 't');
	for (i = 0; i < tlen; i++)
		if (pm.topic[i] == '\0')
			pm.topic[i] = '_';
	in_fill(in, pts, plen, 'x');
	if (pts[plen - 1] == '\n')
		pts[plen - 1] = ' ';
	pm.npoints = (uint32_t)fuzz_count_lines(pts, plen);
	pm.data = pts;
	pm.len = plen;
	pl->off = base + b->len;
	FUZZ_ASSERT(sender_spool_rec_encode(b, &crc, pl->seq,
	    (enum spool_lane)(fields & 1), &pm) == 0, "encode");
}

/* The input's segments and mark into the directory: the plants made. */
static size_t
build(struct input *in, int flags, struct plant *plants)
{
	struct buf	 b;
	uint8_t		 hdr[SPOOL_SEG_HDR], mark[MARK_MAX];
	char		 name[SPOOL_NAME_LEN];
	const uint8_t	*p;
	size_t		 nseg, nplant = 0, i, base, len;
	uint64_t	 id;
	unsigned	 segs, nb;

	segs = in_byte(in);
	nseg = segs & 3;
	buf_init(&b);
	for (i = 0; i < nseg; i++) {
		nb = in_byte(in);
		if (!(nb & 0x40))
			id = nb & 0x3f;
		else
			id = (nb & 0x20 ? UINT64_MAX : SPOOL_ID_LIMIT - 1) -
			    (nb & 0x1f);
		make_name(name, nb & 0x80 ? SPOOL_SCHEDULED : SPOOL_PUSHED,
		    id);
		/* a name again: its file goes on */
		base = file_size(name);
		buf_reset(&b);
		if (flags & F_HEADER) {
			sender_spool_seg_header(hdr, id);
			buf_add(&b, hdr, sizeof(hdr));
		}
		len = in_u16(in);
		p = in_take(in, len, &len);
		buf_add(&b, p, len);
		if (segs & (4U << i)) {
			plant(in, &b, base, &plants[nplant]);
			strlcpy(plants[nplant].seg, name,
			    sizeof(plants[nplant].seg));
			nplant++;
		}
		FUZZ_ASSERT(!buf_failed(&b), "out of memory");
		write_file(name, (const uint8_t *)b.p, b.len, base > 0);
	}
	buf_free(&b);
	if (flags & F_MARK) {
		if (flags & F_MARK_VALID) {
			sender_spool_mark_encode(mark, &crc, in_u16(in));
			len = SPOOL_MARK_LEN;
		} else {
			len = in_byte(in) % (MARK_MAX + 1);
			p = in_take(in, len, &len);
			memcpy(mark, p, len);
		}
		write_file(SPOOL_MARK_NAME, mark, len, 0);
	}
	return nplant;
}

/*
 * A planted record at or over the mark is read back, unless a good
 * record before it holds it.
 */
static void
check_plants(const struct plant *pl, size_t n, const struct model *m,
    const struct recs *got)
{
	const struct rec	*r;
	enum spool_lane		 lane;
	uint64_t		 id;
	size_t			 i, j;

	for (i = 0; i < n; i++) {
		/* below the mark, in the header, or not in a segment */
		if (pl[i].seq < m->mark || pl[i].off < SPOOL_SEG_HDR ||
		    !seg_name(pl[i].seg, &lane, &id) || id >= SPOOL_ID_LIMIT)
			continue;
		for (j = 0; j < m->all.n; j++) {
			r = &m->all.v[j];
			if (strcmp(r->seg, pl[i].seg) == 0 &&
			    r->off < pl[i].off && r->off + r->reclen >
			    pl[i].off)
				break;
		}
		if (j < m->all.n)
			continue;
		for (j = 0; j < got->n; j++) {
			r = &got->v[j];
			if (strcmp(r->seg, pl[i].seg) == 0 &&
			    r->seq == pl[i].seq)
				break;
		}
		FUZZ_ASSERT(j < got->n, "the record planted at %zu of %s "
		    "(seq %llu) is lost", pl[i].off, pl[i].seg,
		    (unsigned long long)pl[i].seq);
	}
}

/* The records of `got` in lane l, and the appended one held. */
static void
lane_of(const struct recs *got, const struct rec *held, int l,
    struct recs *out)
{
	size_t	 i;

	for (i = 0; i < got->n; i++)
		if ((int)got->v[i].seglane == l)
			recs_add(out, &got->v[i]);
	if (held != NULL && (int)held->seglane == l)
		recs_add(out, held);
}

static void
cleanup(void)
{
	empty_dir();
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");
	struct stat	 st;

	/* memory, not a disk, when there is no other wish: syncs are free */
	if (tmp == NULL || *tmp == '\0')
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz-spool-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	sender_crc32c_init(&crc);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input		 in = { data, size, 0 };
	struct plant		 plants[NSEGS];
	struct model		 m, m2;
	struct recs		 got = { NULL, 0, 0 }, again = { NULL, 0, 0 };
	struct recs		 want2[SPOOL_LANES];
	struct spool		*sp;
	struct spool_rec	 sr;
	struct logs		 lg = { 0 };
	struct rec		 app, r, *held = NULL;
	uint64_t		 first, mark;
	size_t			 nplant, i;
	char			 err[512];
	int			 flags, l, appended = 0;

	empty_dir();
	flags = (int)in_byte(&in);
	nplant = build(&in, flags, plants);
	model_read(&m);

	sp = open_spool(&m, &lg);

	if ((flags & F_APPEND) && (flags & F_APPEND_BEFORE) &&
	    (appended = append(sp, flags, &m, 0, &app))) {
		if (app.sseg != NULL)
			held = &app;
		else
			recs_add(&m.want[app.seglane], &app);
	}
	replay(sp, m.want, &got);
	check_read(sp, &m, &lg, got.n, appended ? SPOOL_SEG_HDR +
	    app.reclen : 0);
	check_plants(plants, nplant, &m, &got);

	if ((flags & F_APPEND) && !(flags & F_APPEND_BEFORE) &&
	    append(sp, flags, &m, got.n, &app)) {
		if (app.sseg != NULL) {
			held = &app;
			FUZZ_ASSERT(sender_spool_next(sp, &sr, err,
			    sizeof(err)) == 0, "held and read back");
		} else {
			FUZZ_ASSERT(sender_spool_next(sp, &sr, err,
			    sizeof(err)) == 1, "appended, not read back");
			check_rec(&sr, &r);
			FUZZ_ASSERT(rec_same(&r, &app), "appended seq %llu, "
			    "read back %llu of %s", (unsigned long long)app.seq,
			    (unsigned long long)r.seq, r.seg);
			sender_spool_take(sp);
			recs_add(&got, &r);
			FUZZ_ASSERT(sender_spool_next(sp, &sr, err,
			    sizeof(err)) == 0, "a record after the appended");
		}
	}

	mark = m.mark;
	if (flags & F_PUBLISH) {
		/* published in order, the mark at the oldest still held
		 * (sender_out.c) */
		for (i = 0; i < got.n; i++) {
			sender_spool_release(sp, got.v[i].sseg);
			first = i + 1 < got.n ? got.v[i + 1].seq :
			    held != NULL ? held->seq : 0;
			sender_spool_set_mark(sp, first);
		}
		if (held != NULL) {
			sender_spool_release(sp, held->sseg);
			sender_spool_set_mark(sp, 0);
		}
		if (got.n == 0 && held == NULL)
			sender_spool_set_mark(sp, 0);
		sender_spool_write_mark(sp);
		FUZZ_ASSERT(sp->mark >= m.mark, "the mark went back");
		mark = sp->mark;
	}
	sender_spool_close(sp);
	if (flags & F_PUBLISH)
		FUZZ_ASSERT(count_segs() == 0, "%d segments left, all "
		    "published", count_segs());

	/* the restart: the same records, or none once published */
	model_read(&m2);
	FUZZ_ASSERT(m2.mark == mark, "mark %llu after the restart, want %llu",
	    (unsigned long long)m2.mark, (unsigned long long)mark);
	for (l = 0; l < SPOOL_LANES; l++) {
		memset(&want2[l], 0, sizeof(want2[l]));
		if (!(flags & F_PUBLISH))
			lane_of(&got, held, l, &want2[l]);
		FUZZ_ASSERT(m2.want[l].n == want2[l].n, "lane %d: %zu records "
		    "after the restart, want %zu", l, m2.want[l].n,
		    want2[l].n);
		for (i = 0; i < want2[l].n; i++)
			FUZZ_ASSERT(rec_same(&m2.want[l].v[i], &want2[l].v[i]),
			    "lane %d record %zu changed on restart", l, i);
		recs_free(&want2[l]);
	}
	lg.lines = 0;
	sp = open_spool(&m2, &lg);
	replay(sp, m2.want, &again);
	check_read(sp, &m2, &lg, again.n, 0);
	sender_spool_close(sp);

	recs_free(&got);
	recs_free(&again);
	model_free(&m);
	model_free(&m2);
	return 0;
}
