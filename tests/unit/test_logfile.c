/* Log files: size rotation, number of files kept, reopen, level filter. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "master/logfile.h"

static char	 dir[] = "/tmp/agent-logfile-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static off_t
size_of(const char *name)
{
	char		 path[512];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &sb) == -1)
		return -1;
	return sb.st_size;
}

static char *
slurp(const char *name)
{
	char	 path[512], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

TestSuite(logfile, .init = setup, .fini = teardown);

Test(logfile, line_format_has_time_level_role_pid)
{
	struct logfile	 lf;
	char		 err[256], *s;

	cr_assert_eq(logfile_open(&lf, dir, 0, 3, err, sizeof(err)), 0, "%s",
	    err);
	logfile_write(&lf, LOG_LVL_WARN, "front", 42, "hello world");
	logfile_close(&lf);
	s = slurp("agent.log");
	cr_assert_not_null(s);
	cr_assert(strstr(s, " WARN front[42]: hello world\n") != NULL, "%s", s);
	/* 2026-11-24T23:18:00.123Z */
	cr_assert_eq(s[4], '-');
	cr_assert_eq(s[10], 'T');
	cr_assert_eq(s[23], 'Z');
	free(s);
}

Test(logfile, rotates_by_size_and_keeps_n_files)
{
	struct logfile	 lf;
	char		 err[256], msg[64], *s;
	int		 i;

	cr_assert_eq(logfile_open(&lf, dir, 300, 2, err, sizeof(err)), 0);
	for (i = 0; i < 40; i++) {
		snprintf(msg, sizeof(msg), "line %02d", i);
		logfile_write(&lf, LOG_LVL_INFO, "master", 1, msg);
	}
	logfile_close(&lf);
	cr_assert_gt(size_of("agent.log"), 0);
	cr_assert_leq(size_of("agent.log"), 300);
	cr_assert_gt(size_of("agent.log.1"), 0);
	cr_assert_leq(size_of("agent.log.1"), 300);
	cr_assert_gt(size_of("agent.log.2"), 0);
	cr_assert_eq(size_of("agent.log.3"), -1, "only 2 rotated files kept");
	s = slurp("agent.log");
	cr_assert(strstr(s, "line 39") != NULL, "newest line in agent.log");
	free(s);
	s = slurp("agent.log.2");
	cr_assert(strstr(s, "line 39") == NULL);
	cr_assert(strstr(s, "line 00") == NULL, "oldest lines dropped");
	free(s);
}

Test(logfile, level_filter)
{
	struct logfile	 lf;
	char		 err[256], *s;

	cr_assert_eq(logfile_open(&lf, dir, 0, 1, err, sizeof(err)), 0);
	lf.min = LOG_LVL_WARN;
	logfile_write(&lf, LOG_LVL_INFO, "master", 1, "quiet");
	logfile_write(&lf, LOG_LVL_ERROR, "master", 1, "loud");
	logfile_close(&lf);
	s = slurp("agent.log");
	cr_assert(strstr(s, "quiet") == NULL);
	cr_assert(strstr(s, "loud") != NULL);
	free(s);
}

Test(logfile, reopen_after_external_move)
{
	struct logfile	 lf;
	char		 err[256], from[512], to[512], *s;

	cr_assert_eq(logfile_open(&lf, dir, 0, 1, err, sizeof(err)), 0);
	logfile_write(&lf, LOG_LVL_INFO, "master", 1, "before");
	snprintf(from, sizeof(from), "%s/agent.log", dir);
	snprintf(to, sizeof(to), "%s/moved.log", dir);
	cr_assert_eq(rename(from, to), 0);
	cr_assert_eq(logfile_reopen(&lf, err, sizeof(err)), 0, "%s", err);
	logfile_write(&lf, LOG_LVL_INFO, "master", 1, "after");
	logfile_close(&lf);
	s = slurp("agent.log");
	cr_assert(strstr(s, "after") != NULL && strstr(s, "before") == NULL);
	free(s);
	s = slurp("moved.log");
	cr_assert(strstr(s, "before") != NULL);
	free(s);
}

Test(logfile, creates_missing_directory_and_reports_errors)
{
	struct logfile	 lf;
	char		 err[256], sub[512];

	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	cr_assert_eq(logfile_open(&lf, sub, 0, 1, err, sizeof(err)), 0, "%s",
	    err);
	logfile_close(&lf);
	cr_assert_eq(logfile_open(&lf, "/proc/nope/x", 0, 1, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "/proc/nope/x") != NULL, "%s", err);
}

Test(logfile, control_characters_cannot_forge_lines)
{
	struct logfile	 lf;
	char		 err[256], *s, *nl;

	cr_assert_eq(logfile_open(&lf, dir, 0, 1, err, sizeof(err)), 0);
	logfile_write(&lf, LOG_LVL_INFO, "front", 7,
	    "x\n2026-01-01T00:00:00.000Z ERROR master[1]: forged\r\x01");
	logfile_close(&lf);
	s = slurp("agent.log");
	nl = strchr(s, '\n');
	cr_assert_not_null(nl);
	cr_assert_eq(nl[1], '\0', "one record, one line: %s", s);
	cr_assert(strstr(s, "x\\n2026-01-01") != NULL, "%s", s);
	cr_assert(strstr(s, "forged\\r\\x01") != NULL, "%s", s);
	free(s);
}

/* Finding 2 of issue 10: agent.log planted as a link to another file. */
Test(logfile, planted_link_is_refused_and_its_target_kept)
{
	struct logfile	 lf;
	char		 err[1024], link_path[512], victim[512], *s;

	snprintf(link_path, sizeof(link_path), "%s/agent.log", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	cr_assert_eq(close(open(victim, O_WRONLY | O_CREAT, 0600)), 0);
	cr_assert_eq(symlink(victim, link_path), 0);
	cr_assert_eq(logfile_open(&lf, dir, 0, 1, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a symbolic link") != NULL, "%s", err);
	s = slurp("victim");
	cr_assert_str_eq(s, "");
	free(s);
}
