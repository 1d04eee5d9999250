#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value after "key:\t" on a line of status, up to the newline. */
static const char *
status_field(const char *buf, const char *key, size_t *len)
{
	const char	*p = buf, *v;
	size_t		 kl = strlen(key);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			v = p + kl + 1;
			v += strspn(v, " \t");
			*len = strcspn(v, "\n");
			return v;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

int
procinfo_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char		 path[64];
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int
procinfo_ids(pid_t pid, pid_t *ppid, pid_t *pgid, char *comm,
    size_t commlen)
{
	/* buf: status is about 1.5 kB; Name and PPid are in its first
	 * lines */
	char		 buf[1024], *end;
	const char	*v;
	size_t		 len;
	long		 pp;
	pid_t		 pg;

	if (procinfo_read(pid, "status", buf, sizeof(buf)) == -1)
		return -1;
	if ((v = status_field(buf, "PPid", &len)) == NULL)
		return -1;
	errno = 0;
	pp = strtol(v, &end, 10);
	if (errno != 0 || end == v || end != v + len || pp < 0)
		return -1;
	if ((pg = getpgid(pid)) == -1)
		return -1;
	if (comm != NULL) {
		if ((v = status_field(buf, "Name", &len)) == NULL)
			return -1;
		snprintf(comm, commlen, "%.*s", (int)len, v);
	}
	*ppid = (pid_t)pp;
	*pgid = pg;
	return 0;
}

/* A mask of signals as status shows it, in hex: whether SIGKILL is in. */
static int
mask_has_kill(const char *v, size_t len)
{
	/* the last hex digit holds signals 1-4; the third from the end
	 * 9-12, SIGKILL its lowest bit */
	const char	*d;
	int		 x;

	if (len < 3)
		return 0;
	d = v + len - 3;
	if (*d >= '0' && *d <= '9')
		x = *d - '0';
	else if (*d >= 'a' && *d <= 'f')
		x = *d - 'a' + 10;
	else
		return 0;
	return (x & 1) != 0;
}

int
procinfo_dying(pid_t pid)
{
	/* SigPnd and ShdPnd come after the memory lines: the whole file */
	char		 buf[4096];
	const char	*v;
	size_t		 len;

	if (procinfo_read(pid, "status", buf, sizeof(buf)) == -1)
		return -1;
	if ((v = status_field(buf, "State", &len)) != NULL && len > 0 &&
	    (*v == 'Z' || *v == 'X'))
		return 1;
	if ((v = status_field(buf, "SigPnd", &len)) != NULL &&
	    mask_has_kill(v, len))
		return 1;
	if ((v = status_field(buf, "ShdPnd", &len)) != NULL &&
	    mask_has_kill(v, len))
		return 1;
	return 0;
}
