#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "utf8.h"

#define LOG_MSG_MAX	4096

/* The one piece of per-process state this module keeps: who we are and
 * where records go.  Set once at process start. */
static struct {
	char		 role[32];
	enum log_level	 min;
	log_sink_fn	 sink;
	void		*sink_arg;
	void		(*fatal_hook)(void *);
	void		*fatal_arg;
} logstate = { "agent", LOG_LVL_INFO, NULL, NULL, NULL, NULL };

static const char *const level_names[LOG_LVL_MAX] = {
	"DEBUG", "INFO", "WARN", "ERROR"
};

void
log_init(const char *role, enum log_level min)
{
	strlcpy(logstate.role, role, sizeof(logstate.role));
	logstate.min = min;
}

void
log_set_sink(log_sink_fn fn, void *arg)
{
	logstate.sink = fn;
	logstate.sink_arg = arg;
}

void
log_set_level(enum log_level min)
{
	logstate.min = min;
}

enum log_level
log_get_level(void)
{
	return logstate.min;
}

const char *
log_get_role(void)
{
	return logstate.role;
}

void
log_set_fatal_hook(void (*hook)(void *), void *arg)
{
	logstate.fatal_hook = hook;
	logstate.fatal_arg = arg;
}

const char *
log_level_name(enum log_level l)
{
	if ((unsigned)l >= LOG_LVL_MAX)
		return "?";
	return level_names[l];
}

int
log_level_parse(const char *s, enum log_level *out)
{
	int	 i;

	for (i = 0; i < LOG_LVL_MAX; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "WARNING") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

/*
 * One record is one line: control characters in a message (a worker's,
 * which may be compromised, or text quoted from input) are escaped so
 * nothing can forge a line of its own, nor drive the terminal or log
 * viewer it is shown in.  Controls are C0, DEL and C1 (U+0080..U+009F:
 * U+009B is CSI, ESC [ to a terminal); bytes that are not UTF-8 are
 * escaped too (a lone 0x9b is CSI to a terminal in an 8-bit charset).
 * Each escaped byte is \xNN (\n, \r for those two); a character or an
 * escape that does not fit is left out whole.
 */
static void
escape(char *dst, size_t len, const char *src, size_t slen, int tab_as_space)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 o = 0, i = 0, n, k;
	uint32_t		 cp;
	int			 w;

	if (len == 0)
		return;
	while (i < slen && o + 1 < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			dst[o++] = (char)s[i++];
			continue;
		}
		if (s[i] == '\t' && tab_as_space) {
			dst[o++] = ' ';
			i++;
			continue;
		}
		n = s[i] >= 0x80 ? utf8_seq(s + i, slen - i, &cp) : 0;
		if (n > 1 && cp > 0x9f) {
			if (n >= len - o)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		/* a C0 or DEL byte, a C1 character, a byte not UTF-8 */
		if (n == 0)
			n = 1;
		for (k = 0; k < n; k++, i++) {
			w = snprintf(dst + o, len - o, s[i] == '\n' ? "\\n" :
			    s[i] == '\r' ? "\\r" : "\\x%02x", s[i]);
			if (w < 0 || (size_t)w >= len - o) {
				dst[o] = '\0';
				return;
			}
			o += (size_t)w;
		}
	}
	dst[o] = '\0';
}

static void
log_escape(char *dst, size_t len, const char *src)
{
	escape(dst, len, src, strlen(src), 1);
}

void
log_escape_all(char *dst, size_t len, const char *src)
{
	escape(dst, len, src, strlen(src), 0);
}

void
log_escape_bytes(char *dst, size_t len, const char *src, size_t srclen)
{
	escape(dst, len, src, srclen, 0);
}

void
log_print_escaped(FILE *f, const char *prefix, const char *msg,
    const char *suffix)
{
	char	 clean[LOG_MSG_MAX * 4];

	log_escape_all(clean, sizeof(clean), msg);
	(void)fprintf(f, "%s%s%s", prefix, clean, suffix);
}

size_t
log_format_line(char *buf, size_t len, enum log_level level, const char *role,
    pid_t pid, const char *msg)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32], clean[LOG_MSG_MAX];
	int		 n;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(when, "0000-00-00T00:00:00", sizeof(when));
	log_escape(clean, sizeof(clean), msg);
	n = snprintf(buf, len, "%s.%03ldZ %s %s[%ld]: %s\n", when,
	    ts.tv_nsec / 1000000, log_level_name(level), role, (long)pid,
	    clean);
	if (n < 0)
		return 0;
	if ((size_t)n >= len) {
		/* keep the newline even when the message was cut */
		if (len >= 2) {
			buf[len - 2] = '\n';
			buf[len - 1] = '\0';
		}
		return len - 1;
	}
	return (size_t)n;
}

static void
log_emit(enum log_level level, const char *msg)
{
	char	 line[LOG_MSG_MAX + 128];
	size_t	 n;

	if (logstate.sink != NULL) {
		logstate.sink(level, msg, logstate.sink_arg);
		return;
	}
	n = log_format_line(line, sizeof(line), level, logstate.role,
	    getpid(), msg);
	/* stderr is the last resort; nothing to do if it fails */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char	 msg[LOG_MSG_MAX];
	int	 saved = errno;

	if (level < logstate.min) {
		errno = saved;
		return;
	}
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		strlcpy(msg, fmt, sizeof(msg));
	log_emit(level, msg);
	errno = saved;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

/* Append ": strerror(errno)" to a message. */
static void
log_verr(enum log_level level, const char *fmt, va_list ap)
{
	char	 msg[LOG_MSG_MAX];
	int	 saved = errno;

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		strlcpy(msg, fmt, sizeof(msg));
	log_msg(level, "%s: %s", msg, strerror(saved));
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_verr(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn))
log_fatal_exit(void)
{
	void	(*hook)(void *) = logstate.fatal_hook;

	logstate.fatal_hook = NULL;
	if (hook != NULL)
		hook(logstate.fatal_arg);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_verr(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	log_fatal_exit();
}

void
fatal_syserr(const char *msg)
{
	fatal("%s", msg);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	log_fatal_exit();
}
