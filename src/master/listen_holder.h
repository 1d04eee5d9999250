#ifndef LISTEN_HOLDER_H
#define LISTEN_HOLDER_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Who listens on the TCP address `sa` (its family's /proc/net table, then
 * the process holding that socket): ", held by uid U, pid P (comm)"
 * into out, or "" when it cannot be told.  For the error of a
 * listen that found its port taken: any local user may take a port
 * above 1023 first, and the operator needs to know who.
 */
void	 listen_holder(const struct sockaddr *sa, char *out, size_t len);

#endif
