/*
 * front_peeruid.c: the uid behind a loopback client, read from the
 * kernel's own tables, for real connections made here (IPv4, IPv6,
 * IPv4-mapped), and from table text.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "workers/front/front_peeruid.h"

#define NOBODY	65534

static const char table4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:04D0 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 1111 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:A1B2 0100007F:04D0 01 00000000:00000000 00:00000000 "
    "00000000  65534        0 2222 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:04D0 0100007F:A1B2 01 00000000:00000000 00:00000000 "
    "00000000     0        0 3333 1 0000000000000000 20 4 30 10 -1\n";

Test(front_peeruid, the_client_end_of_a_connection_is_found_in_text)
{
	uid_t	 uid = 1;

	cr_assert_eq(front_peeruid_find(table4, strlen(table4),
	    "0100007F:A1B2", "0100007F:04D0", &uid), 0);
	cr_assert_eq(uid, NOBODY);
	/* our own end is root's, and the other way round */
	cr_assert_eq(front_peeruid_find(table4, strlen(table4),
	    "0100007F:04D0", "0100007F:A1B2", &uid), 0);
	cr_assert_eq(uid, 0);
	cr_assert_eq(front_peeruid_find(table4, strlen(table4),
	    "0100007F:A1B3", "0100007F:04D0", &uid), -1);
	/* cut lines, no uid, garbage: not found, no crash */
	cr_assert_eq(front_peeruid_find(table4, 200, "0100007F:A1B2",
	    "0100007F:04D0", &uid), -1);
	cr_assert_eq(front_peeruid_find("1: a b 01 x y z -3\n", 19, "a", "b",
	    &uid), -1);
	cr_assert_eq(front_peeruid_find("1: a b 01 x y z 99999999999\n", 28,
	    "a", "b", &uid), -1);
	cr_assert_eq(front_peeruid_find("", 0, "a", "b", &uid), -1);
}

/*
 * A socket its owner closed: a time-wait entry says uid 0 and inode 0,
 * an orphan still in FIN_WAIT1 its owner's uid and inode 0.  Neither is
 * anyone's (the first was taken for root).
 */
Test(front_peeruid, a_closed_client_in_text_is_no_one)
{
	static const char closed[] =
	    "   1: 0100007F:A1B2 0100007F:04D0 06 00000000:00000000 "
	    "03:00001770 00000000     0        0 0 3 0000000000000000\n"
	    "   2: 0100007F:A1B3 0100007F:04D0 04 00000000:00000000 "
	    "01:00000014 00000000 65534        0 0 2 0000000000000000 20 4 "
	    "30 10 -1\n"
	    "   3: 0100007F:A1B4 0100007F:04D0 01 00000000:00000000 "
	    "00:00000000 00000000 65534        0 4444 1 0000000000000000 20 "
	    "4 30 10 -1\n";
	uid_t	 uid = 1;

	cr_assert_eq(front_peeruid_find(closed, strlen(closed),
	    "0100007F:A1B2", "0100007F:04D0", &uid), -1);
	cr_assert_eq(front_peeruid_find(closed, strlen(closed),
	    "0100007F:A1B3", "0100007F:04D0", &uid), -1);
	cr_assert_eq(uid, 1);
	cr_assert_eq(front_peeruid_find(closed, strlen(closed),
	    "0100007F:A1B4", "0100007F:04D0", &uid), 0);
	cr_assert_eq(uid, NOBODY);
}

/*
 * A listening socket on `family`'s loopback; `mapped`: an IPv6 socket on
 * ::ffff:127.0.0.1, which IPv4 clients reach (as a dual-stack listener
 * of the agent's does), without binding more than loopback.
 */
static int
listener(int family, int mapped, struct sockaddr_storage *ss)
{
	socklen_t	 len = sizeof(*ss);
	int		 fd, off = 0;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)ss)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
	else if (mapped)
		cr_assert_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1",
		    &((struct sockaddr_in6 *)ss)->sin6_addr), 1);
	else
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	cr_assert_geq(fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	if (family == AF_INET6)
		cr_assert_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)ss, family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)ss, &len), 0);
	return fd;
}

/*
 * A client of `to` as `uid` (a child process, which holds the connection
 * until killed); the accepted end in *conn.  The child's pid.
 */
static pid_t
client_as(uid_t uid, int lfd, const struct sockaddr_storage *to,
    int cfamily, int *conn)
{
	struct sockaddr_storage	 dst = *to;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&dst;
	pid_t			 pid;
	int			 fd;
	char			 c;

	/* an IPv4 client of the mapped listener: 127.0.0.1, same port */
	if (cfamily == AF_INET && to->ss_family == AF_INET6) {
		memset(&dst, 0, sizeof(dst));
		d4->sin_family = AF_INET;
		d4->sin_port = ((const struct sockaddr_in6 *)to)->sin6_port;
		d4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		if ((uid != 0 && (setgid(uid) == -1 || setuid(uid) == -1)) ||
		    (fd = socket(cfamily, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&dst, cfamily == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ==
		    -1 || write(fd, "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	cr_assert_geq(*conn = accept(lfd, NULL, NULL), 0);
	cr_assert_eq(read(*conn, &c, 1), 1);
	return pid;
}

static void
check(struct front_peeruid *pu, int family, int cfamily, uid_t uid)
{
	struct sockaddr_storage	 to, peer, local;
	socklen_t		 len;
	char			 err[128] = "";
	uid_t			 got = 12345;
	pid_t			 pid;
	int			 lfd, conn, st, diag;

	lfd = listener(family, family == AF_INET6 && cfamily == AF_INET, &to);
	pid = client_as(uid, lfd, &to, cfamily, &conn);
	len = sizeof(peer);
	cr_assert_eq(getpeername(conn, (struct sockaddr *)&peer, &len), 0);
	len = sizeof(local);
	cr_assert_eq(getsockname(conn, (struct sockaddr *)&local, &len), 0);
	/* the kernel asked for that one socket */
	cr_assert_neq(pu->diag.fd, -1, "no NETLINK_SOCK_DIAG socket");
	cr_assert_eq(front_peeruid_diag(pu, &peer, &local, &got), 0,
	    "family %d/%d: sock_diag", family, cfamily);
	cr_assert_eq(got, uid, "family %d/%d: uid %u by sock_diag", family,
	    cfamily, (unsigned)got);
	/* and the tables, which a kernel without sock_diag leaves */
	diag = pu->diag.fd;
	pu->diag.fd = -1;
	got = 12345;
	cr_assert_eq(front_peeruid_lookup(pu, &peer, &local, &got, err,
	    sizeof(err)), 0, "family %d/%d: %s", family, cfamily, err);
	pu->diag.fd = diag;
	cr_assert_eq(got, uid, "family %d/%d: uid %u", family, cfamily,
	    (unsigned)got);
	/* a socket that is not there: no answer, not a wrong one */
	if (peer.ss_family == AF_INET)
		((struct sockaddr_in *)&peer)->sin_port ^= htons(1);
	else
		((struct sockaddr_in6 *)&peer)->sin6_port ^= htons(1);
	cr_assert_eq(front_peeruid_diag(pu, &peer, &local, &got), -1);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(conn);
	close(lfd);
}

Test(front_peeruid, real_connections_name_their_owner, .timeout = 10)
{
	struct front_peeruid	 pu;
	struct strlist		 none;
	char			 err[128] = "";
	uid_t			 who = geteuid();

	strlist_init(&none);
	cr_assert_eq(front_peeruid_setup(&pu, 1, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(front_peeruid_allow(&pu, 1, &none, err, sizeof(err)), 0);
	if (who == 0) {
		cr_assert_eq(pu.nours, 1);
		cr_assert_eq(front_peeruid_verdict(&pu, NOBODY), PEERUID_OURS);
		cr_assert_eq(front_peeruid_verdict(&pu, 0), PEERUID_ALLOWED);
	}
	check(&pu, AF_INET, AF_INET, who);
	check(&pu, AF_INET6, AF_INET6, who);
	/* an IPv4 client of a dual-stack listener: seen as ::ffff:127.0.0.1 */
	check(&pu, AF_INET6, AF_INET, who);
	if (who == 0) {
		check(&pu, AF_INET, AF_INET, NOBODY);
		check(&pu, AF_INET6, AF_INET, NOBODY);
	}
	front_peeruid_free(&pu);
}

/*
 * The front asks as `user`, with no capability: the kernel still names
 * the owner of root's socket (and of anyone's).
 */
Test(front_peeruid, an_unprivileged_front_sees_roots_socket, .timeout = 10)
{
	struct front_peeruid	 pu;
	struct sockaddr_storage	 to, peer, local;
	socklen_t		 len;
	char			 err[128] = "";
	uid_t			 got = 12345;
	pid_t			 client, asker;
	int			 lfd, conn, st;

	if (geteuid() != 0)
		cr_skip_test("skipped: needs root");
	cr_assert_eq(front_peeruid_setup(&pu, 1, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	lfd = listener(AF_INET, 0, &to);
	client = client_as(0, lfd, &to, AF_INET, &conn);
	len = sizeof(peer);
	cr_assert_eq(getpeername(conn, (struct sockaddr *)&peer, &len), 0);
	len = sizeof(local);
	cr_assert_eq(getsockname(conn, (struct sockaddr *)&local, &len), 0);
	cr_assert_neq(asker = fork(), -1);
	if (asker == 0) {
		if (setgid(NOBODY) == -1 || setuid(NOBODY) == -1)
			_exit(3);
		_exit(front_peeruid_diag(&pu, &peer, &local, &got) == -1 ? 1 :
		    got == 0 ? 0 : 2);
	}
	cr_assert_eq(waitpid(asker, &st, 0), asker);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "as nobody: status %#x (1: no answer, 2: a wrong uid)", st);
	cr_assert_eq(kill(client, SIGKILL), 0);
	cr_assert_eq(waitpid(client, &st, 0), client);
	close(conn);
	close(lfd);
	front_peeruid_free(&pu);
}

/* Root and apiusers are allowed, the agent's own users named, any other
 * user refused; a reload's list replaces the last one. */
Test(front_peeruid, root_and_apiusers_are_allowed_others_not)
{
	struct front_peeruid	 pu;
	struct strlist		 l;
	char			 err[128] = "";

	strlist_init(&l);
	cr_assert_eq(front_peeruid_setup(&pu, 1, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlist_add(&l, "1000"), 0);
	cr_assert_eq(strlist_add(&l, "4294967294"), 0);
	cr_assert_eq(front_peeruid_allow(&pu, 1, &l, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(front_peeruid_verdict(&pu, 0), PEERUID_ALLOWED);
	cr_assert_eq(front_peeruid_verdict(&pu, 1000), PEERUID_ALLOWED);
	cr_assert_eq(front_peeruid_verdict(&pu, 4294967294U), PEERUID_ALLOWED);
	cr_assert_eq(front_peeruid_verdict(&pu, 1001), PEERUID_OTHER);
	if (geteuid() == 0)
		cr_assert_eq(front_peeruid_verdict(&pu, NOBODY), PEERUID_OURS);
	/* the reload's list, in place of the last */
	strlist_free(&l);
	cr_assert_eq(strlist_add(&l, "1001"), 0);
	cr_assert_eq(front_peeruid_allow(&pu, 1, &l, err, sizeof(err)), 0);
	cr_assert_eq(front_peeruid_verdict(&pu, 1000), PEERUID_OTHER);
	cr_assert_eq(front_peeruid_verdict(&pu, 1001), PEERUID_ALLOWED);
	/* what is not a uid is named, the rest taken */
	strlist_free(&l);
	cr_assert_eq(strlist_add(&l, "alice"), 0);
	cr_assert_eq(strlist_add(&l, "1002"), 0);
	cr_assert_eq(strlist_add(&l, "4294967295"), 0);
	cr_assert_eq(front_peeruid_allow(&pu, 1, &l, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "apiusers: \"4294967295\" is not a uid");
	cr_assert_eq(front_peeruid_verdict(&pu, 1002), PEERUID_ALLOWED);
	cr_assert_eq(front_peeruid_verdict(&pu, (uid_t)-1), PEERUID_OTHER);
	strlist_free(&l);
	front_peeruid_free(&pu);
}

/*
 * A reload naming another pluginsuser (the master sends its uid): its
 * clients are the agent's from then on, and so stay the old one's, whose
 * plugins a scheduler started before may still run.  Started without
 * root, nobody is.
 */
Test(front_peeruid, a_reloads_pluginsuser_is_the_agents_too)
{
	struct front_peeruid	 pu;
	char			 err[128] = "";

	cr_assert_eq(front_peeruid_setup(&pu, 1, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(front_peeruid_verdict(&pu, 998), PEERUID_OTHER);
	front_peeruid_ours(&pu, "998");
	cr_assert_eq(front_peeruid_verdict(&pu, 998), PEERUID_OURS);
	cr_assert_eq(front_peeruid_verdict(&pu, NOBODY), PEERUID_OURS);
	front_peeruid_ours(&pu, "0");
	cr_assert_eq(front_peeruid_verdict(&pu, 0), PEERUID_ALLOWED);
	front_peeruid_free(&pu);

	cr_assert_eq(front_peeruid_setup(&pu, 0, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	front_peeruid_ours(&pu, "998");
	cr_assert_eq(pu.nours, 0);
	front_peeruid_free(&pu);
}

/* Started without root: the front's own user is the operator's too. */
Test(front_peeruid, unprivileged_allows_its_own_user)
{
	struct front_peeruid	 pu;
	struct strlist		 none;
	char			 err[128];

	strlist_init(&none);
	cr_assert_eq(front_peeruid_setup(&pu, 0, "nobody", "nobody", err,
	    sizeof(err)), 0);
	cr_assert_eq(front_peeruid_allow(&pu, 0, &none, err, sizeof(err)), 0);
	cr_assert_eq(pu.nours, 0);
	cr_assert_neq(pu.fd4, -1);
	cr_assert_eq(front_peeruid_verdict(&pu, geteuid()), PEERUID_ALLOWED);
	cr_assert_eq(front_peeruid_verdict(&pu, 0), PEERUID_ALLOWED);
	if (geteuid() != 12345)
		cr_assert_eq(front_peeruid_verdict(&pu, 12345), PEERUID_OTHER);
	front_peeruid_free(&pu);
}

/*
 * A client that connected, sent its request and closed before the front
 * looked: the kernel keeps its end as a time-wait or orphan entry, with
 * uid 0 in the first.  Neither table names an owner for it (both named
 * root, so any local user could act as root on the loopback API).
 */
Test(front_peeruid, a_client_that_closed_is_no_one, .timeout = 10)
{
	struct front_peeruid	 pu;
	struct sockaddr_storage	 to, peer, local;
	socklen_t		 len;
	char			 err[128] = "", c;
	uid_t			 got = 12345;
	uid_t			 who = geteuid() == 0 ? NOBODY : geteuid();
	pid_t			 pid;
	int			 lfd, conn, st, fd, diag;

	cr_assert_eq(front_peeruid_setup(&pu, 1, "nobody", "nobody", err,
	    sizeof(err)), 0, "%s", err);
	lfd = listener(AF_INET, 0, &to);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		if ((who != geteuid() && (setgid(who) == -1 ||
		    setuid(who) == -1)) ||
		    (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&to,
		    sizeof(struct sockaddr_in)) == -1 || write(fd, "x", 1) != 1)
			_exit(1);
		_exit(close(fd) == 0 ? 0 : 1);
	}
	cr_assert_geq(conn = accept(lfd, NULL, NULL), 0);
	cr_assert_eq(read(conn, &c, 1), 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* its close has reached us: our end reads the end of the stream */
	cr_assert_eq(read(conn, &c, 1), 0);
	len = sizeof(peer);
	cr_assert_eq(getpeername(conn, (struct sockaddr *)&peer, &len), 0);
	len = sizeof(local);
	cr_assert_eq(getsockname(conn, (struct sockaddr *)&local, &len), 0);
	cr_assert_eq(front_peeruid_diag(&pu, &peer, &local, &got), -1,
	    "sock_diag named uid %u", (unsigned)got);
	diag = pu.diag.fd;
	pu.diag.fd = -1;
	cr_assert_eq(front_peeruid_lookup(&pu, &peer, &local, &got, err,
	    sizeof(err)), -1, "/proc/net/tcp named uid %u", (unsigned)got);
	pu.diag.fd = diag;
	/* our end closed too: the client's is a time-wait entry, of uid 0 */
	close(conn);
	cr_assert_eq(front_peeruid_diag(&pu, &peer, &local, &got), -1,
	    "sock_diag named uid %u", (unsigned)got);
	pu.diag.fd = -1;
	cr_assert_eq(front_peeruid_lookup(&pu, &peer, &local, &got, err,
	    sizeof(err)), -1, "/proc/net/tcp named uid %u", (unsigned)got);
	pu.diag.fd = diag;
	close(lfd);
	front_peeruid_free(&pu);
}
