/*
 * The CPU family's parsing of a process's stat (collect_cpu.c), apart
 * from its read: the comm in it is the process owner's to choose, so the
 * fuzz target tests/fuzz/fuzz_proc.c runs it.
 */
#ifndef AGENT_COLLECT_CPU_H
#define AGENT_COLLECT_CPU_H

/*
 * The state letter of a /proc/<pid>/stat line (NUL-terminated): the
 * character after the last ')' and a blank (the comm may hold
 * anything), as an unsigned char; -1 when there is none.
 */
int	 collect_cpu_ps_state(const char *text);

#endif
