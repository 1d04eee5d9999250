/*
 * The PROC family's parsing (collect_proc.c), apart from its reads: the
 * text is a process's, whose owner controls its comm (16 bytes of
 * anything but a NUL, in stat and, escaped, in status), so the fuzz
 * target tests/fuzz/fuzz_proc.c runs it.  Each takes NUL-terminated
 * text, as collect_read() leaves it.
 */
#ifndef AGENT_COLLECT_PROC_H
#define AGENT_COLLECT_PROC_H

#include <stdint.h>

/*
 * A /proc/<pid>/stat line: utime + stime (fields 14, 15) and starttime
 * (22), counted from the last ')' since the comm before it may hold
 * anything.  0, or -1 (nothing set) when the line is not one.
 */
int	 collect_proc_stat_parse(const char *text, uint64_t *cpu,
	    uint64_t *start);

/*
 * The number after `key` at the start of a line (status' "VmRSS:", io's
 * "read_bytes:"): 0, or -1 when no line starts with key or no number
 * follows the first that does.
 */
int	 collect_proc_line_u64(const char *text, const char *key,
	    uint64_t *out);

#endif
