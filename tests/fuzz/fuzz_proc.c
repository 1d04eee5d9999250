/*
 * libFuzzer target for the collector's parsers of text that local users
 * (or, for btmp, anybody who can try a login) control:
 * /proc/<pid>/stat, whose comm may hold anything but a NUL
 * (collect_proc.h, collect_cpu.h); status and io lines (collect_proc.h);
 * /proc/mounts and /proc/self/mountinfo, whose mount points and sources
 * a FUSE user chooses (collect_fs.h); the names of a world-writable core
 * directory (collect_coredump.h); a utmp string field (collect_kernel.h);
 * a /proc entry's name (collect_pids.h).
 *
 * Input: byte 0 picks the parser (modulo NMODES), the rest is its text,
 * cut at the first NUL where the parser takes a string (what
 * collect_read() and readdir() hand it can hold none).  Two modes are
 * round trips: a comm of the input's bytes in a stat line the kernel
 * would write, and a mount point and source of them, escaped as the
 * kernel escapes them, in a line of each mount table; each must read
 * back exactly.  The other modes check the parsers' contracts against
 * the text, with a plain reference where one is short.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/collector/collect_coredump.h"
#include "workers/collector/collect_cpu.h"
#include "workers/collector/collect_fs.h"
#include "workers/collector/collect_kernel.h"
#include "workers/collector/collect_pids.h"
#include "workers/collector/collect_proc.h"

#include "fuzz_common.h"

enum {
	M_STAT,		/* a stat line as it comes */
	M_COMM,		/* a stat line around a hostile comm */
	M_LINE,		/* status, io: a number after a key */
	M_MOUNTS,	/* /proc/mounts as it comes */
	M_INFO,		/* /proc/self/mountinfo as it comes */
	M_MOUNTPOINT,	/* a hostile mount point in both tables */
	M_CORE,		/* a core directory's file name */
	M_UTMP,		/* a utmp string field */
	M_PID,		/* a /proc entry's name */
	NMODES
};

/* A NUL-terminated copy of the text, up to its first NUL. */
static char *
text_dup(const uint8_t *p, size_t len)
{
	const uint8_t	*z;
	char		*s;

	if ((z = memchr(p, '\0', len)) != NULL)
		len = (size_t)(z - p);
	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static size_t
count_lines(const char *s)
{
	size_t	 n = 1;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void
fuzz_stat(const char *text)
{
	const char	*rp;
	uint64_t	 cpu = 7, start = 7;
	int		 r, state;

	r = collect_proc_stat_parse(text, &cpu, &start);
	state = collect_cpu_ps_state(text);
	rp = strrchr(text, ')');
	if (r == -1)
		FUZZ_ASSERT(cpu == 7 && start == 7, "a failure set something");
	else
		FUZZ_ASSERT(rp != NULL, "parsed with no ')'");
	if (state != -1)
		FUZZ_ASSERT(rp != NULL && rp[1] == ' ' &&
		    state == (unsigned char)rp[2], "state %d", state);
	/* what the kernel writes after the comm both read alike */
	if (r == 0 && rp[1] == ' ' && rp[2] != ' ')
		FUZZ_ASSERT(state == (unsigned char)rp[2],
		    "stat parsed, state %d", state);
}

/*
 * The comm of the input in a line as the kernel writes it (fields from
 * a real one, tpgid and nice negative): fields 14, 15 and 22 read back,
 * and the state letter, whatever the comm holds.
 */
static void
fuzz_comm(const uint8_t *p, size_t len)
{
	char		*comm, line[1024];
	uint64_t	 cpu, start, ut, st, t0;
	int		 n;

	if (len < 3)
		return;
	/* the times from the first bytes, the comm from the rest */
	ut = (uint64_t)p[0] << 40 | p[1];
	st = (uint64_t)p[2] * 1000003;
	t0 = (uint64_t)p[0] * p[1] * p[2];
	comm = text_dup(p + 3, len - 3 > 64 ? 64 : len - 3);
	n = snprintf(line, sizeof(line), "4242 (%s) %c 1 4242 4242 0 -1 "
	    "4194560 2297 0 0 0 %llu %llu 0 0 20 -5 1 0 %llu 14454784 "
	    "1129 18446744073709551615 1 1 0 0 0 0 0 4096 17003 0 0 0 17 1 "
	    "0 0 0 0 0 0 0 0 0 0 0 0 0\n", comm, "RSDZTtXIWP"[p[0] % 10],
	    (unsigned long long)ut, (unsigned long long)st,
	    (unsigned long long)t0);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(line), "line cut");
	FUZZ_ASSERT(collect_proc_stat_parse(line, &cpu, &start) == 0,
	    "refused: %s", line);
	FUZZ_ASSERT(cpu == ut + st && start == t0, "read %llu %llu: %s",
	    (unsigned long long)cpu, (unsigned long long)start, line);
	FUZZ_ASSERT(collect_cpu_ps_state(line) == "RSDZTtXIWP"[p[0] % 10],
	    "state: %s", line);
	free(comm);
}

/* The reference: the first line that starts with key, then a number. */
static int
ref_line_u64(const char *s, const char *key, uint64_t *out)
{
	size_t		 n = strlen(key);
	uint64_t	 v = 0;

	for (;;) {
		if (strncmp(s, key, n) == 0)
			break;
		if ((s = strchr(s, '\n')) == NULL)
			return -1;
		s++;
	}
	s += n;
	s += strspn(s, " \t");
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static void
fuzz_line(const uint8_t *p, size_t len)
{
	static const char *const keys[] = { "VmRSS:", "read_bytes:",
	    "write_bytes:", "Name:" };
	char		*text;
	const char	*key;
	uint64_t	 a = 1, b = 2;
	int		 ra, rb;

	if (len < 1)
		return;
	key = keys[p[0] & 3];
	text = text_dup(p + 1, len - 1);
	ra = collect_proc_line_u64(text, key, &a);
	rb = ref_line_u64(text, key, &b);
	FUZZ_ASSERT(ra == rb && (ra == -1 || a == b),
	    "%s: %d %llu, reference %d %llu", key, ra, (unsigned long long)a,
	    rb, (unsigned long long)b);
	free(text);
}

static int
ignored_file(const char *f)
{
	static const char *const files[] = { "/dev", "/sys", "/net",
	    "/misc", "/proc", "/lib", "/run/docker/netns" };
	size_t	 i, n;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = strlen(files[i]);
		if (strncmp(f, files[i], n) == 0 &&
		    (f[n] == '\0' || f[n] == '/'))
			return 1;
	}
	return 0;
}

static void
fuzz_mounts(const uint8_t *p, size_t len)
{
	struct fs_mounts	 m;
	char			*text;
	size_t			 i, j, lines, tlen;

	memset(&m, 0, sizeof(m));
	text = text_dup(p, len);
	tlen = strlen(text);
	lines = count_lines(text);
	FUZZ_ASSERT(collect_fs_mounts_parse(text, &m) == 0, "failed");
	FUZZ_ASSERT(m.n <= lines && m.n <= m.cap, "%zu mounts of %zu lines",
	    m.n, lines);
	for (i = 0; i < m.n; i++) {
		FUZZ_ASSERT(m.v[i].spec[0] != '\0' && m.v[i].file[0] == '/',
		    "mount %zu: \"%s\" on \"%s\"", i, m.v[i].spec,
		    m.v[i].file);
		/* decoded, so never longer than the line's field */
		FUZZ_ASSERT(strlen(m.v[i].spec) <= tlen &&
		    strlen(m.v[i].file) <= tlen, "grew");
		FUZZ_ASSERT(!ignored_file(m.v[i].file), "kept %s",
		    m.v[i].file);
		FUZZ_ASSERT(m.v[i].mode <= FS_OTHER, "mode %d", m.v[i].mode);
		if (strncmp(m.v[i].spec, "/dev/", 5) == 0)
			for (j = 0; j < i; j++)
				FUZZ_ASSERT(strcmp(m.v[i].spec,
				    m.v[j].spec) != 0, "%s twice",
				    m.v[i].spec);
	}
	collect_fs_mounts_free(&m);
	FUZZ_ASSERT(m.v == NULL && m.n == 0, "not freed");
	free(text);
}

static void
fuzz_infos(const uint8_t *p, size_t len)
{
	struct fs_infos	 mi;
	char		*text;
	size_t		 i, lines, tlen;

	memset(&mi, 0, sizeof(mi));
	text = text_dup(p, len);
	tlen = strlen(text);
	lines = count_lines(text);
	FUZZ_ASSERT(collect_fs_infos_parse(text, &mi) == 0, "failed");
	FUZZ_ASSERT(mi.n <= lines && mi.n <= mi.cap, "%zu of %zu lines",
	    mi.n, lines);
	for (i = 0; i < mi.n; i++) {
		FUZZ_ASSERT(mi.v[i].file[0] != '\0' &&
		    strlen(mi.v[i].file) <= tlen, "mount %zu", i);
		FUZZ_ASSERT((mi.v[i].mnt_ro | mi.v[i].sb_ro) <= 1, "flags");
	}
	collect_fs_infos_free(&mi);
	free(text);
}

/* As the kernel's mangle() (fs/proc_namespace.c): " \t\n\\" octal. */
static size_t
mangle(char *out, const char *s)
{
	size_t	 o = 0;

	for (; *s != '\0'; s++) {
		if (strchr(" \t\n\\", *s) != NULL) {
			out[o++] = '\\';
			out[o++] = (char)('0' + (((unsigned char)*s >> 6) & 7));
			out[o++] = (char)('0' + (((unsigned char)*s >> 3) & 7));
			out[o++] = (char)('0' + ((unsigned char)*s & 7));
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
	return o;
}

/*
 * "/mnt/<input>" mounted from "/dev/fz-<input>", each escaped as the
 * kernel does: one line of each table, the same point and source back.
 */
static void
fuzz_mountpoint(const uint8_t *p, size_t len)
{
	struct fs_mounts	 m;
	struct fs_infos		 mi;
	char			*raw, *file, *spec, *mfile, *mspec, *line;
	size_t			 n, cut;

	if (len < 1)
		return;
	raw = text_dup(p + 1, len - 1);
	n = strlen(raw);
	/* byte 0: where the source's bytes end and the point's begin */
	cut = n == 0 ? 0 : p[0] % (n + 1);
	if ((file = malloc(n + 8)) == NULL || (spec = malloc(n + 16)) == NULL ||
	    (mfile = malloc(4 * n + 32)) == NULL ||
	    (mspec = malloc(4 * n + 32)) == NULL ||
	    (line = malloc(8 * n + 256)) == NULL)
		abort();
	snprintf(spec, n + 16, "/dev/fz-%.*s", (int)cut, raw);
	snprintf(file, n + 8, "/mnt/%s", raw + cut);
	mangle(mspec, spec);
	mangle(mfile, file);

	memset(&m, 0, sizeof(m));
	snprintf(line, 8 * n + 256, "/dev/root / ext4 rw 0 0\n"
	    "%s %s ext4 ro,relatime 0 0\n", mspec, mfile);
	FUZZ_ASSERT(collect_fs_mounts_parse(line, &m) == 0, "failed");
	FUZZ_ASSERT(m.n == 2 && strcmp(m.v[1].spec, spec) == 0 &&
	    strcmp(m.v[1].file, file) == 0 && m.v[1].mode == FS_RO,
	    "%zu mounts; \"%s\" on \"%s\" read as \"%s\" on \"%s\"", m.n,
	    spec, file, m.n == 2 ? m.v[1].spec : "", m.n == 2 ?
	    m.v[1].file : "");
	collect_fs_mounts_free(&m);

	memset(&mi, 0, sizeof(mi));
	snprintf(line, 8 * n + 256, "25 1 8:1 / / rw,relatime shared:1 - "
	    "ext4 /dev/root rw\n"
	    "36 25 8:2 / %s rw,nosuid master:1 shared:7 - fuse.x %s "
	    "ro,user_id=1000\n", mfile, mspec);
	FUZZ_ASSERT(collect_fs_infos_parse(line, &mi) == 0, "failed");
	FUZZ_ASSERT(mi.n == 2 && strcmp(mi.v[1].file, file) == 0 &&
	    !mi.v[1].mnt_ro && mi.v[1].sb_ro, "%zu infos; \"%s\" read as "
	    "\"%s\"", mi.n, file, mi.n == 2 ? mi.v[1].file : "");
	collect_fs_infos_free(&mi);

	free(raw);
	free(file);
	free(spec);
	free(mfile);
	free(mspec);
	free(line);
}

static void
fuzz_core(const uint8_t *p, size_t len)
{
	char		*name, back[600];
	const char	*svc, *q;
	size_t		 svclen, i;
	int64_t		 ts = -7;

	/* a directory entry's name: NAME_MAX bytes at most */
	name = text_dup(p, len > 255 ? 255 : len);
	if (collect_coredump_name(name, &svc, &svclen, &ts) == -1) {
		FUZZ_ASSERT(ts == -7, "a failure set the time");
		free(name);
		return;
	}
	FUZZ_ASSERT(svc == name + 5 && svclen > 0 &&
	    svclen <= strlen(name) - 5, "service out of the name");
	for (i = 0; i < svclen; i++)
		FUZZ_ASSERT(strchr("-_.", svc[i]) != NULL ||
		    (svc[i] >= 'a' && svc[i] <= 'z') ||
		    (svc[i] >= 'A' && svc[i] <= 'Z') ||
		    (svc[i] >= '0' && svc[i] <= '9'), "service byte %d",
		    svc[i]);
	FUZZ_ASSERT(ts >= 0, "time %lld", (long long)ts);
	/* the name is the service, a pid of digits and the time */
	q = svc + svclen;
	FUZZ_ASSERT(q[0] == '.' && q[1] >= '0' && q[1] <= '9', "no pid");
	for (q++; *q >= '0' && *q <= '9'; q++)
		;
	FUZZ_ASSERT(*q == '.', "pid not digits");
	snprintf(back, sizeof(back), "%lld", (long long)ts);
	/* leading zeros aside */
	for (q++; *q == '0' && q[1] != '\0'; q++)
		;
	FUZZ_ASSERT(strcmp(q, back) == 0, "time %s read as %s", q, back);
	free(name);
}

static void
fuzz_utmp(const uint8_t *p, size_t len)
{
	unsigned char	*f;
	char		 out[2 * 256 + 1];
	size_t		 n, i, olen;
	int		 seen, nonblank = 0;

	/* the field's own size, copied so that ASan sees a read past it */
	n = len > 256 ? 256 : len;
	if ((f = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(f, p, n);
	memset(out, 'x', sizeof(out));
	seen = collect_kernel_ut_string(f, n, out);
	olen = strnlen(out, sizeof(out));
	FUZZ_ASSERT(olen <= n, "%zu bytes out of %zu", olen, n);
	FUZZ_ASSERT(fuzz_utf8_ok(out, olen), "not UTF-8");
	for (i = 0; i < olen; i++) {
		FUZZ_ASSERT((unsigned char)out[i] >= 0x20 && out[i] != 0x7f,
		    "control byte %d", out[i]);
		if (out[i] != ' ')
			nonblank = 1;
	}
	FUZZ_ASSERT(seen == nonblank, "seen %d, %s", seen, out);
	free(f);
}

static void
fuzz_pid(const uint8_t *p, size_t len)
{
	char	*name, *end;
	long	 ref;
	int	 pid;

	name = text_dup(p, len > 255 ? 255 : len);
	pid = collect_pids_parse(name);
	errno = 0;
	ref = name[0] >= '0' && name[0] <= '9' ? strtol(name, &end, 10) : -1;
	if (ref != -1 && (*end != '\0' || errno != 0 || ref <= 0 ||
	    ref > INT_MAX))
		ref = -1;
	FUZZ_ASSERT(pid == ref, "\"%s\": %d, reference %ld", name, pid, ref);
	FUZZ_ASSERT(pid == -1 || pid > 0, "pid %d", pid);
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p;
	char		*text;
	size_t		 len;

	if (size < 1)
		return 0;
	fuzz_quiet_log();
	p = data + 1;
	len = size - 1;
	switch (data[0] % NMODES) {
	case M_STAT:
		text = text_dup(p, len);
		fuzz_stat(text);
		free(text);
		break;
	case M_COMM:
		fuzz_comm(p, len);
		break;
	case M_LINE:
		fuzz_line(p, len);
		break;
	case M_MOUNTS:
		fuzz_mounts(p, len);
		break;
	case M_INFO:
		fuzz_infos(p, len);
		break;
	case M_MOUNTPOINT:
		fuzz_mountpoint(p, len);
		break;
	case M_CORE:
		fuzz_core(p, len);
		break;
	case M_UTMP:
		fuzz_utmp(p, len);
		break;
	case M_PID:
		fuzz_pid(p, len);
		break;
	}
	return 0;
}
