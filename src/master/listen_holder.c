/*
 * listen_holder.h.  Only on the error path: the walk of every process's
 * descriptors is not cheap on a large host, and is made once, for the
 * message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_holder.h"

/* The /proc/net/tcp[6] address of `sa`, as the kernel prints it. */
static int
net_addr(const struct sockaddr *sa, char *hex, size_t len)
{
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;
	const uint32_t			*w;

	if (sa->sa_family == AF_INET) {
		snprintf(hex, len, "%08X:%04X", s4->sin_addr.s_addr,
		    ntohs(s4->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		w = (const uint32_t *)(const void *)&s6->sin6_addr;
		snprintf(hex, len, "%08X%08X%08X%08X:%04X", w[0], w[1], w[2],
		    w[3], ntohs(s6->sin6_port));
		return 0;
	}
	return -1;
}

/* The listening socket's uid and inode from the table: 0, or -1. */
static int
net_find(const char *table, const char *hex, unsigned long *uid,
    unsigned long *inode)
{
	char	 line[512], local[64], state[8];
	FILE	*fp;
	int	 found = -1;

	if ((fp = fopen(table, "re")) == NULL)
		return -1;
	while (found == -1 && fgets(line, sizeof(line), fp) != NULL) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %63s %*s %7s %*s %*s %*s %lu %*s %lu",
		    local, state, uid, inode) == 4 &&
		    strcmp(state, "0A") == 0 && strcasecmp(local, hex) == 0)
			found = 0;
	}
	(void)fclose(fp);
	return found;
}

/* The process holding socket `inode`: its pid, 0 when none is seen. */
static pid_t
inode_pid(unsigned long inode, char *comm, size_t len)
{
	char		 want[64], p[300], link[64];
	DIR		*proc, *fds;
	struct dirent	*pe, *fe;
	FILE		*fp;
	ssize_t		 n;
	pid_t		 pid = 0;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((proc = opendir("/proc")) == NULL)
		return 0;
	while (pid == 0 && (pe = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/fd", pe->d_name);
		if ((fds = opendir(p)) == NULL)
			continue;
		while (pid == 0 && (fe = readdir(fds)) != NULL) {
			snprintf(p, sizeof(p), "/proc/%s/fd/%s", pe->d_name,
			    fe->d_name);
			n = readlink(p, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0)
				pid = (pid_t)atol(pe->d_name);
		}
		(void)closedir(fds);
	}
	(void)closedir(proc);
	comm[0] = '\0';
	snprintf(p, sizeof(p), "/proc/%ld/comm", (long)pid);
	if (pid > 0 && (fp = fopen(p, "re")) != NULL) {
		if (fgets(comm, (int)len, fp) == NULL)
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		(void)fclose(fp);
	}
	return pid;
}

void
listen_holder(const struct sockaddr *sa, char *out, size_t len)
{
	unsigned long	 uid, inode;
	char		 hex[64], comm[64];
	size_t		 n;
	pid_t		 pid;

	out[0] = '\0';
	if (net_addr(sa, hex, sizeof(hex)) == -1 ||
	    net_find(sa->sa_family == AF_INET ? "/proc/net/tcp" :
	    "/proc/net/tcp6", hex, &uid, &inode) == -1)
		return;
	/* no name: a name service that does not answer must not hold the
	 * master's loop for a message (users_wait.c) */
	n = (size_t)snprintf(out, len, ", held by uid %lu", uid);
	if (n >= len || inode == 0 || (pid = inode_pid(inode, comm,
	    sizeof(comm))) == 0)
		return;
	/* the comm is the holder's to choose: the log and the command
	 * line escape what they print */
	snprintf(out + n, len - n, ", pid %ld (%s)", (long)pid, comm);
}
