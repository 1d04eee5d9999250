#include "procinfo.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The name is in parentheses and may itself hold ") ": parse from the
 * last ')'. */
int
procinfo_stat_ids(pid_t pid, pid_t *ppid, pid_t *pgid, char *comm,
    size_t commlen)
{
	char	 path[64], buf[512], *lp, *rp;
	ssize_t	 n;
	int	 fd;
	long	 pp, pg;
	char	 state;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((lp = strchr(buf, '(')) == NULL ||
	    (rp = strrchr(buf, ')')) == NULL || rp < lp)
		return -1;
	if (comm != NULL)
		snprintf(comm, commlen, "%.*s", (int)(rp - lp - 1), lp + 1);
	if (sscanf(rp + 1, " %c %ld %ld", &state, &pp, &pg) != 3)
		return -1;
	*ppid = (pid_t)pp;
	*pgid = (pid_t)pg;
	return 0;
}
