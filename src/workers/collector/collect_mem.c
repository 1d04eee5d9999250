/*
 * MEM type (lodastack-protocols.md 5.2), from /proc/meminfo: kB values,
 * sent in MiB (integer division by 1024, as the Go agent's bytes / MB).
 * Free memory is MemAvailable when the kernel has that line (3.14+), else
 * MemFree + Buffers + Cached.  No swap: mem.swap.used.percent is 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_file.h"

enum {
	MI_TOTAL, MI_FREE, MI_AVAILABLE, MI_BUFFERS, MI_CACHED,
	MI_SWAPTOTAL, MI_SWAPFREE, MI_COUNT
};

static const char *const mi_keys[MI_COUNT] = {
	"MemTotal:", "MemFree:", "MemAvailable:", "Buffers:", "Cached:",
	"SwapTotal:", "SwapFree:"
};

struct mem_state {
	struct cfile	 meminfo;
};

static void *
mem_init(void)
{
	return calloc(1, sizeof(struct mem_state));
}

static void
mem_fini(void *arg)
{
	struct mem_state	*s = arg;

	if (s == NULL)
		return;
	collect_file_free(&s->meminfo);
	free(s);
}

static double
percent(unsigned long long part, unsigned long long whole)
{
	if (whole == 0)
		return 0.0;
	return collect_trunc2((double)part * 100.0 / (double)whole);
}

static int
mem_collect(void *arg, const struct collect_env *env, struct point_list *out,
    char *err, size_t errlen)
{
	struct mem_state	*s = arg;
	uint64_t		 v[MI_COUNT], total, freekb, used, swapused;
	int			 have[MI_COUNT];
	char			*p, *line, *key, *num;
	size_t			 i;

	if (collect_slurp(env->root, "/proc/meminfo", COLLECT_SLURP_MAX,
	    &s->meminfo, err, errlen) == -1)
		return -1;
	memset(v, 0, sizeof(v));
	memset(have, 0, sizeof(have));
	for (p = s->meminfo.p; (line = collect_line(&p)) != NULL; ) {
		if ((key = collect_token(&line)) == NULL ||
		    (num = collect_token(&line)) == NULL)
			continue;
		for (i = 0; i < MI_COUNT; i++) {
			if (strcmp(key, mi_keys[i]) != 0)
				continue;
			if (collect_u64(num, NULL, &v[i]) == -1) {
				snprintf(err, errlen, "%s/proc/meminfo: %s "
				    "\"%.32s\" is not a number", env->root,
				    key, num);
				return -1;
			}
			have[i] = 1;
		}
	}
	if (!have[MI_TOTAL] || !have[MI_FREE]) {
		snprintf(err, errlen, "%s/proc/meminfo: no MemTotal or MemFree",
		    env->root);
		return -1;
	}
	total = v[MI_TOTAL];
	if (have[MI_AVAILABLE])
		freekb = v[MI_AVAILABLE];
	else
		freekb = v[MI_FREE] + v[MI_BUFFERS] + v[MI_CACHED];
	/* never a wrapped unsigned: free over total is used 0 */
	used = freekb < total ? total - freekb : 0;
	if (freekb > total)
		freekb = total;
	swapused = v[MI_SWAPFREE] < v[MI_SWAPTOTAL] ?
	    v[MI_SWAPTOTAL] - v[MI_SWAPFREE] : 0;

	(void)collect_list_add_int(out, "mem.total", (int64_t)(total / 1024),
	    NULL);
	(void)collect_list_add_int(out, "mem.used", (int64_t)(used / 1024),
	    NULL);
	(void)collect_list_add_int(out, "mem.free", (int64_t)(freekb / 1024),
	    NULL);
	(void)collect_list_add_float(out, "mem.used.percent", percent(used,
	    total),
	    NULL);
	(void)collect_list_add_int(out, "mem.buffers",
	    (int64_t)(v[MI_BUFFERS] / 1024),
	    NULL);
	(void)collect_list_add_int(out, "mem.cached",
	    (int64_t)(v[MI_CACHED] / 1024),
	    NULL);
	(void)collect_list_add_float(out, "mem.swap.used.percent",
	    percent(swapused, v[MI_SWAPTOTAL]), NULL);
	return 0;
}

const struct collect_family collect_mem_family = {
	.name = "mem",
	.type = SYS_MEM,
	.init = mem_init,
	.fini = mem_fini,
	.collect = mem_collect,
};
