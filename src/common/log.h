/*
 * Logging in every process.  OpenBSD vocabulary: fatal/log_warn append
 * strerror(errno), fatalx/log_warnx do not.  Messages start with the
 * function name by convention ("%s: ...", __func__).
 *
 * The master writes lines to its files (logfile.c); a worker hands each
 * record to a sink that sends it over the control edge.  Until a sink is
 * set, lines go to stderr.
 */
#ifndef AGENT_LOG_H
#define AGENT_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
	LOG_LVL_MAX
};

/* Receives one record; `msg` has no trailing newline. */
typedef void (*log_sink_fn)(enum log_level, const char *msg, void *arg);

void		 log_init(const char *role, enum log_level min);
void		 log_set_sink(log_sink_fn, void *arg);
void		 log_set_level(enum log_level);
enum log_level	 log_get_level(void);
const char	*log_get_role(void);

const char	*log_level_name(enum log_level);
int		 log_level_parse(const char *, enum log_level *);

/* Called once before exit by fatal paths (workers flush the edge). */
void		 log_set_fatal_hook(void (*)(void *), void *arg);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/* For ev_set_syserr_cb: libev would abort(); log and exit instead. */
__attribute__((noreturn)) void fatal_syserr(const char *);

/*
 * Text for a terminal: every control character (below 0x20, 0x7f and
 * the C1 controls U+0080..U+009F) and every byte that is not UTF-8 as
 * \\n, \\r or \\xNN, so no worker's text can drive the operator's
 * terminal.
 */
void	log_escape_all(char *dst, size_t len, const char *src);
/* The same of srclen bytes, a NUL among them as \x00. */
void	log_escape_bytes(char *dst, size_t len, const char *src,
	    size_t srclen);
/* prefix, msg escaped, suffix. */
void	log_print_escaped(FILE *, const char *prefix, const char *msg,
	    const char *suffix);

/* Format "2026-11-24T23:18:00.123Z LEVEL role[pid]: msg" into buf. */
size_t	log_format_line(char *buf, size_t len, enum log_level, const char *role,
	    pid_t pid, const char *msg);

#endif
