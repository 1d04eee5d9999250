/* Small helpers shared by several processes. */
#ifndef AGENT_UTIL_H
#define AGENT_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A unix socket that refuses descriptors (SCM_RIGHTS), Linux 6.16: one
 * read past is closed in the reader's name, and the close of a TCP
 * socket set to linger with unsent data blocks the reader.  The
 * asm-generic value (x86, arm, arm64, riscv, ...): glibc's headers may
 * predate it.
 */
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS	83
#endif

/*
 * This end of a unix socket takes no descriptors (SO_PASSRIGHTS off): a
 * sender's SCM_RIGHTS fails with EPERM.  0, or -1 with errno (ENOPROTOOPT
 * or EINVAL: a kernel before 6.16, which cannot).
 */
int	 util_refuse_fds(int fd);

/* write(2) until done or a real error; EINTR retried. 0 or -1. */
int	 util_write_all(int fd, const void *, size_t);
struct iovec;
/*
 * All of iov in as few writev(2) calls as the kernel allows (retried on
 * EINTR and after a short write; iov is consumed); 0 or -1 (errno).
 */
int	 util_writev_all(int fd, struct iovec *iov, int iovcnt);
/*
 * mkdir -p, each directory made with `mode` whatever the umask; existing
 * directories are fine (and left as they are). 0 or -1 with errno.
 * Follows links by name: for a worker inside its own directory only,
 * never for the master (src/master/pathsafe.h).
 */
int	 util_mkdir_p(const char *path, mode_t mode);
/* 1 when the n bytes at s are all decimal digits and n > 0. */
int	 util_all_digits(const char *s, size_t n);
/*
 * The uid a user name or a decimal uid (as the master sends a name it
 * looked up) stands for; 0, or -1 when neither (a name looked up in a
 * sandbox may well not be found).
 */
int	 util_uid_of(const char *name, uid_t *uid);
/*
 * The uid `name` stands for (util_uid_of()) into the set of *n (cap at
 * most), root left out: 0 when it is there now (or root), -1 when `name`
 * is no uid, -2 when the set is full (*uid says which was left out).
 */
int	 util_uid_set_add(uid_t *set, size_t *n, size_t cap,
	    const char *name, uid_t *uid);
/* Strict decimal parse of the whole string; 0 or -1. */
int	 util_parse_int64(const char *, long long min, long long max,
	    long long *out);
/*
 * Append n bytes to buf (*len used of cap), keeping only the last cap
 * bytes: the tail of a stream, where errors are.
 */
void	 util_tail_append(char *buf, size_t cap, size_t *len, const void *p,
	    size_t n);
/* "1h2m3s" style; buf of at least 32 bytes. */
const char *util_format_duration(long long seconds, char *buf, size_t len);

#endif
