/*
 * Every metric family the collector runs, in the order they run within
 * one type (collect.h has the convention).
 */
#include "collect.h"

const struct collect_family *const collect_families[] = {
	&collect_cpu_family,
	&collect_mem_family,
	&collect_disk_family,
	&collect_net_family,
	&collect_fs_family,
	&collect_kernel_family,
	&collect_time_family,
	&collect_coredump_family,
	&collect_port_family,
	&collect_proc_family,
};

const size_t collect_family_count =
    sizeof(collect_families) / sizeof(collect_families[0]);
