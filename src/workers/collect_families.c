/*
 * Every metric family the collector runs, in the order they run within
 * one type (collect.h has the convention).  The FS, KERNEL, TIME,
 * COREDUMP, PORT and PROC families (collect_fs.c, collect_kernel.c,
 * collect_time.c, collect_coredump.c, collect_port.c, collect_proc.c)
 * join this list when their files are merged.
 */
#include "collect.h"

const struct collect_family *const collect_families[] = {
	&collect_cpu_family,
	&collect_mem_family,
	&collect_disk_family,
	&collect_net_family,
};

const size_t collect_family_count =
    sizeof(collect_families) / sizeof(collect_families[0]);
