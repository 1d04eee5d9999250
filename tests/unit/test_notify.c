/*
 * The readiness datagrams for systemd (src/master/notify.c): their text,
 * the NOTIFY_SOCKET forms (path, abstract), and one real send to a
 * datagram socket the test owns.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "master/master.h"

Test(notify, messages)
{
	char	 b[512];
	size_t	 n;

	n = notify_build(b, sizeof(b), NOTIFY_READY, 0, "6 workers");
	cr_assert_str_eq(b, "READY=1\nSTATUS=6 workers\n");
	cr_assert_eq(n, strlen(b));
	notify_build(b, sizeof(b), NOTIFY_RELOADING, 123456789, NULL);
	cr_assert_str_eq(b, "RELOADING=1\nMONOTONIC_USEC=123456789\n");
	notify_build(b, sizeof(b), NOTIFY_STOPPING, 0, "");
	cr_assert_str_eq(b, "STOPPING=1\n");
	notify_build(b, sizeof(b), NOTIFY_STATUS, 0, "a\nREADY=1");
	/* a newline in the status cannot smuggle in another assignment */
	cr_assert_str_eq(b, "STATUS=a READY=1\n");
	/* too small for the state itself: nothing rather than half */
	cr_assert_eq(notify_build(b, 5, NOTIFY_READY, 0, NULL), 0);
	/* a long status is cut, the datagram stays well-formed */
	n = notify_build(b, 20, NOTIFY_READY, 0, "0123456789abcdef");
	cr_assert_gt(n, 0);
	cr_assert_eq(b[n - 1], '\n');
	cr_assert_eq(strncmp(b, "READY=1\nSTATUS=0", 16), 0);
}

Test(notify, addresses)
{
	struct sockaddr_un	 sa;
	socklen_t		 len;
	char			 err[256];

	cr_assert_eq(notify_address("/run/systemd/notify", &sa, &len, err,
	    sizeof(err)), 0);
	cr_assert_str_eq(sa.sun_path, "/run/systemd/notify");
	cr_assert_eq(len, offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/systemd/notify") + 1);
	cr_assert_eq(notify_address("@abstract/x", &sa, &len, err,
	    sizeof(err)), 0);
	cr_assert_eq(sa.sun_path[0], '\0');
	cr_assert_eq(memcmp(sa.sun_path + 1, "abstract/x", 10), 0);
	cr_assert_eq(len, offsetof(struct sockaddr_un, sun_path) + 11);
	cr_assert_eq(notify_address("relative", &sa, &len, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "NOTIFY_SOCKET") != NULL, "%s", err);
	cr_assert_eq(notify_address("@", &sa, &len, err, sizeof(err)), -1);
}

Test(notify, sends_to_the_socket_and_clears_the_environment)
{
	struct sockaddr_un	 sa;
	struct notify		 n;
	char			 dir[] = "/tmp/agent-notify-XXXXXX", path[128];
	char			 got[512];
	ssize_t			 r;
	int			 fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	cr_assert_eq(notify_open(&n), 0);
	cr_assert_null(getenv("NOTIFY_SOCKET"));
	notify_send(&n, NOTIFY_RELOADING, NULL);
	r = recv(fd, got, sizeof(got) - 1, 0);
	cr_assert_gt(r, 0);
	got[r] = '\0';
	cr_assert_eq(strncmp(got, "RELOADING=1\nMONOTONIC_USEC=", 27), 0,
	    "%s", got);
	cr_assert_gt(strtoull(got + 27, NULL, 10), 0);
	notify_send(&n, NOTIFY_READY, "ok");
	r = recv(fd, got, sizeof(got) - 1, 0);
	got[r > 0 ? r : 0] = '\0';
	cr_assert_str_eq(got, "READY=1\nSTATUS=ok\n");
	notify_close(&n);
	close(fd);
	unlink(path);
	rmdir(dir);

	/* none at all: nothing to do, nothing sent */
	cr_assert_eq(notify_open(&n), 0);
	cr_assert_eq(n.fd, -1);
	notify_send(&n, NOTIFY_READY, NULL);
}
