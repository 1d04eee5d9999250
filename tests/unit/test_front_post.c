/* Parsing /post bodies into encoded points. */
#include <criterion/criterion.h>

#include <string.h>

#include "buf.h"
#include "workers/front_post.h"

#define NOW	1714538096

static int
parse(const char *body, struct buf *out, struct post_result *res)
{
	buf_init(out);
	return post_parse(body, strlen(body), "RUN.", "web-01", NOW,
	    FORMAT_LINE, out, res);
}

Test(front_post, good_points_are_encoded)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[{\"name\":\"qps\",\"timestamp\":1714538000,"
	    "\"tags\":{\"port\":\"3306\"},\"value\":12},"
	    "{\"Name\":\"up\",\"value\":true,\"extra\":{\"a\":[1,{\"b\":2}]}}]",
	    &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 2);
	cr_assert_str_eq(out.p,
	    "RUN.qps,host=web-01,port=3306 value=12 1714538000\n"
	    "RUN.up,host=web-01 value=true 1714538096");
	buf_free(&out);
}

Test(front_post, empty_array_is_fine)
{
	struct post_result	 res;
	struct buf		 out;

	cr_assert_eq(parse("[]", &out, &res), 0);
	cr_assert_eq(res.npoints, 0);
	buf_free(&out);
}

Test(front_post, bad_bodies_name_the_point)
{
	static const struct {
		const char	*body;
		long		 index;
		const char	*want;
	} cases[] = {
		{ "{}", -1, "must be a JSON array" },
		{ "[1]", 0, "not an object" },
		{ "[{\"name\":\"a\",\"value\":1},{\"name\":\"b\",\"value\":\"x\"}]",
		    1, "value is a string" },
		{ "[{\"name\":\"a\",\"value\":null}]", 0, "value is null" },
		{ "[{\"name\":\"a b\",\"value\":1}]", 0, "name" },
		{ "[{\"name\":\"a\",\"value\":1,\"timestamp\":1.5}]", 0,
		    "timestamp 1.5 is not an integer" },
		{ "[{\"name\":\"a\",\"value\":1,\"tags\":{\"k\":1}}]", 0,
		    "tag \"k\" is a number" },
		{ "[{\"name\":\"a\",\"value\":[1]}]", 0, "value must not be an "
		    "array" },
		{ "[{\"name\":\"a\",\"value\":1e999}]", 0, "out of range" },
		{ "[{\"name\":\"a\",\"value\":1}", -1, "invalid JSON" },
		{ "[{\"name\":\"a\",\"value\":1}] x", -1, "invalid JSON" },
		{ "[{\"name\":\"\\u00e9\xff\",\"value\":1}]", -1,
		    "invalid JSON" },
		{ "[{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}]", 0,
		    "nesting deeper" },
		/* line protocol: InfluxDB cannot read it back */
		{ "[{\"name\":\"a\",\"value\":1},{\"name\":\"x\",\"value\":1,"
		    "\"tags\":{\"path\":\"C:\\\\\"}}]", 1,
		    "point 1: name \"RUN.x\", tag \"path\": value \"C:\\\\\" ends in "
		    "a backslash, which InfluxDB cannot read in line protocol" },
	};
	struct post_result	 res;
	struct buf		 out;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].body, &out, &res), -1, "%s",
		    cases[i].body);
		cr_assert_eq(res.bad_index, cases[i].index, "%s: index %ld",
		    cases[i].body, res.bad_index);
		cr_assert(strstr(res.err, cases[i].want) != NULL,
		    "%s: \"%s\" lacks \"%s\"", cases[i].body, res.err,
		    cases[i].want);
		cr_assert_eq(res.npoints, 0);
		buf_free(&out);
	}
}

/* The lodastack json body holds any tag value; only line is checked. */
Test(front_post, trailing_backslash_is_fine_in_json)
{
	static const char	 body[] = "[{\"name\":\"x\",\"value\":1,"
	    "\"tags\":{\"path\":\"C:\\\\\"}}]";
	struct post_result	 res;
	struct buf		 out;

	buf_init(&out);
	cr_assert_eq(post_parse(body, strlen(body), "RUN.", "web-01", NOW,
	    FORMAT_JSON, &out, &res), 0, "%s", res.err);
	cr_assert_eq(res.npoints, 1);
	buf_free(&out);
}
