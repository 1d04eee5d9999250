/*
 * reloadfile_read: what `agent reload` takes for the master's word, and
 * what it takes for a line still being written.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/reloadfile.h"

static char	 dir[64], path[128];

static void
setup(void)
{
	strcpy(dir, "/tmp/reloadfile.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.pid.reload", dir);
}

static void
teardown(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

TestSuite(reloadfile, .init = setup, .fini = teardown);

static void
put(const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fputs(text, f) < 0, 0);
	cr_assert_eq(fclose(f), 0);
}

Test(reloadfile, a_whole_line_is_read_without_its_newline)
{
	char	 buf[256];

	put("123:4 refused 1: cannot listen on 127.0.0.1:80\n");
	cr_assert_eq(reloadfile_read(path, buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, "123:4 refused 1: cannot listen on "
	    "127.0.0.1:80");
}

Test(reloadfile, what_is_not_a_whole_line_is_not_yet_an_answer)
{
	char	 buf[256];

	cr_assert_eq(reloadfile_read(path, buf, sizeof(buf)), 0);
	put("");
	cr_assert_eq(reloadfile_read(path, buf, sizeof(buf)), 0);
	put("123:5 appl");
	cr_assert_eq(reloadfile_read(path, buf, sizeof(buf)), 0);
	put("123:5\n");
	cr_assert_eq(reloadfile_read(path, buf, sizeof(buf)), 0);
	/* longer than the buffer: no newline in what fits */
	put("123:6 refused 1: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
	cr_assert_eq(reloadfile_read(path, buf, 16), 0);
}
