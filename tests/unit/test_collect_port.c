/*
 * PORT: connects to 127.0.0.1, to a port this test listens on (1), to a
 * closed one (0), and to ports whose listen queue is full (time out),
 * all at once.
 */
#include "collect_fixture.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <dirent.h>

#include "items.h"

extern const struct collect_family collect_port_family;

/* A listening socket on 127.0.0.1 and its port. */
static int
listener(int backlog, int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	return fd;
}

static void
add_port(struct items *it, const char *ns, const char *name, int port,
    int timeout)
{
	struct port_item	 p = { (char *)ns, (char *)name, port, timeout };

	cr_assert_eq(items_add_port(it, &p), 0);
}

static void
run(const struct items *it, struct point_list *pl)
{
	struct collect_env	 env;
	void			*st;
	char			 err[256] = "";

	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = 1700000000;
	env.items = it;
	cr_assert_not_null(st = collect_port_family.init());
	cr_assert_eq(collect_port_family.collect(st, &env, pl, err,
	    sizeof(err)), 0, "%s", err);
	collect_port_family.fini(st);
	cr_assert_eq(pl->failed, 0);
}

Test(collect_port, up_down)
{
	struct items		 it;
	struct point_list	 pl;
	int			 lfd, up, cfd, closed;
	char			 want[512];

	lfd = listener(16, &up);
	cfd = listener(1, &closed);
	close(cfd);		/* nothing listens there any more */
	items_init(&it);
	add_port(&it, "a.loda", "PORT.sshd.22", up, 3);
	add_port(&it, "b.loda", "PORT.gone.1", closed, 0);
	add_port(&it, "a.loda", "PORT.bad.0", 0, 3);
	add_port(&it, "b.loda", "PORT.web.80", up, -1);
	collect_list_init(&pl);
	run(&it, &pl);
	snprintf(want, sizeof(want),
	    "PORT.sshd.22 - 1 >a.loda\n"
	    "PORT.gone.1 - 0 >b.loda\n"
	    "PORT.bad.0 - 0 >a.loda\n"
	    "PORT.web.80 - 1 >b.loda\n");
	assert_dump(&pl, want);
	collect_list_free(&pl);
	items_free(&it);
	close(lfd);
}

/* No items: no points. */
Test(collect_port, none)
{
	struct items		 it;
	struct point_list	 pl;

	items_init(&it);
	collect_list_init(&pl);
	run(&it, &pl);
	cr_assert_eq(pl.n, 0);
	collect_list_free(&pl);
}

/*
 * The TCP sockets of this network namespace in `state` (02 SYN_SENT, 0A
 * LISTEN) whose remote (LISTEN: local) port is `port`, from
 * /proc/net/tcp; their local ports into lports (up to max), the queue of
 * the last one into *rxq.  Returns how many.
 */
static int
tcp_sockets(int state, int port, int *lports, int max, unsigned *rxq)
{
	FILE		*fp;
	char		 line[512];
	unsigned	 lport, rport, st, txq, rq;
	int		 n = 0;

	cr_assert_not_null(fp = fopen("/proc/net/tcp", "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " %*u: %*8x:%4x %*8x:%4x %2x %8x:%8x",
		    &lport, &rport, &st, &txq, &rq) != 5 || (int)st != state)
			continue;
		if ((int)(state == 0x0A ? lport : rport) != port)
			continue;
		if (n < max)
			lports[n] = (int)lport;
		if (rxq != NULL)
			*rxq = rq;
		n++;
	}
	fclose(fp);
	return n;
}

/* 1 when a descriptor of this process is the socket of that inode. */
static int
own_socket(unsigned long inode)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], link[64], want[40];
	ssize_t		 n;
	int		 found = 0;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	cr_assert_not_null(d = opendir("/proc/self/fd"));
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/*
 * Connects of this process to `port` in SYN_SENT, but for the `nex`
 * local ports of `exclude`: other processes' sockets (tests running
 * beside this one) are not ours to count.
 */
static int
own_syn_sent(int port, const int *exclude, int nex)
{
	FILE		*fp;
	char		 line[512];
	unsigned	 lport, rport, st;
	unsigned long	 inode;
	int		 n = 0, j;

	cr_assert_not_null(fp = fopen("/proc/net/tcp", "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " %*u: %*8x:%4x %*8x:%4x %2x %*8x:%*8x "
		    "%*x:%*x %*x %*u %*u %lu", &lport, &rport, &st,
		    &inode) != 4 || st != 0x02 || (int)rport != port)
			continue;
		for (j = 0; j < nex && (int)lport != exclude[j]; j++)
			;
		if (j == nex && own_socket(inode))
			n++;
	}
	fclose(fp);
	return n;
}

static int
local_port(int fd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

struct bg_run {
	const struct items	*it;
	struct point_list	 pl;
	int			 rc;
	char			 err[256];
};

/* run() in a thread: no Criterion asserts here, the test checks after. */
static void *
bg_collect(void *arg)
{
	struct bg_run		*b = arg;
	struct collect_env	 env;
	void			*st;

	memset(&env, 0, sizeof(env));
	env.root = "";
	env.now = 1700000000;
	env.items = b->it;
	b->rc = -1;
	if ((st = collect_port_family.init()) == NULL)
		return NULL;
	b->rc = collect_port_family.collect(st, &env, &b->pl, b->err,
	    sizeof(b->err));
	collect_port_family.fini(st);
	return NULL;
}

/* A listener on *port whose accept queue is full: SYNs to it are dropped
 * from then on.  Its 4 connections in fill[], their local ports in
 * fillport[]. */
static int
full_listener(int *port, int *fill, int *fillport)
{
	unsigned	 rxq = 0;
	int		 fd, k, n, tries;

	fd = listener(0, port);
	for (k = 0; k < 4; k++)
		fill[k] = connect_to(*port);
	/* until the accept queue (one connection for a backlog of 0) is
	 * full */
	for (tries = 0; tries < 2000 && (tcp_sockets(0x0A, *port, &n, 1,
	    &rxq) != 1 || rxq < 1); tries++)
		usleep(10000);
	cr_assert_geq(rxq, 1, "the accept queue did not fill");
	for (k = 0; k < 4; k++)
		fillport[k] = local_port(fill[k]);
	return fd;
}

/*
 * A listener whose queue is full drops SYNs: a connect there hangs until
 * its timeout.  The checks run at once, not one after the other: while
 * the run is on, the test sees the connects to the two full ports in
 * SYN_SENT together.  Items of one port share one connect: three items
 * of the first make one connect to it, never more.  Then it closes the
 * listeners, so the next SYN retransmission is refused and the run ends
 * without waiting out the timeouts (10 s each: only a hang would reach
 * them).
 */
Test(collect_port, checks_in_parallel)
{
	struct items		 it;
	struct bg_run		 b;
	pthread_t		 th;
	int			 full, full2, lfd, up, port, port2;
	int			 fill[4], fillport[4], fill2[4], fillport2[4];
	int			 k, n1 = 0, n2 = 0, most = 0, tries;

	lfd = listener(16, &up);
	full = full_listener(&port, fill, fillport);
	full2 = full_listener(&port2, fill2, fillport2);

	items_init(&it);
	add_port(&it, "a.loda", "PORT.full.1", port, 10);
	add_port(&it, "a.loda", "PORT.full.2", port, 10);
	add_port(&it, "a.loda", "PORT.up.3", up, 10);
	add_port(&it, "a.loda", "PORT.full.4", port, 10);
	add_port(&it, "b.loda", "PORT.other.5", port2, 10);
	memset(&b, 0, sizeof(b));
	b.it = &it;
	collect_list_init(&b.pl);
	cr_assert_eq(pthread_create(&th, NULL, bg_collect, &b), 0);

	/* both full ports' connects in flight at the same time (20 s: a
	 * bound for a hang only) */
	for (tries = 0; tries < 2000; tries++) {
		n1 = own_syn_sent(port, fillport, 4);
		n2 = own_syn_sent(port2, fillport2, 4);
		if (n1 > most)
			most = n1;
		if (n1 >= 1 && n2 >= 1)
			break;
		usleep(10000);
	}
	/* a while longer: a second connect to the first port would show */
	for (k = 0; k < 20; k++) {
		if ((n1 = own_syn_sent(port, fillport, 4)) > most)
			most = n1;
		usleep(10000);
	}
	close(full);
	close(full2);
	cr_assert_eq(pthread_join(th, NULL), 0);
	/* side by side, and one connect for the three items of a port */
	cr_assert_geq(n2, 1, "the other port's connect not seen meanwhile");
	cr_assert_eq(most, 1, "%d connects at once to one port", most);
	cr_assert_eq(b.rc, 0, "%s", b.err);
	cr_assert_eq(b.pl.failed, 0);
	assert_dump(&b.pl,
	    "PORT.full.1 - 0 >a.loda\n"
	    "PORT.full.2 - 0 >a.loda\n"
	    "PORT.up.3 - 1 >a.loda\n"
	    "PORT.full.4 - 0 >a.loda\n"
	    "PORT.other.5 - 0 >b.loda\n");
	collect_list_free(&b.pl);
	items_free(&it);
	for (k = 0; k < 4; k++) {
		close(fill[k]);
		close(fill2[k]);
	}
	close(lfd);
}

struct port_said {
	int	 lines;
	char	 last[512];
};

static void
port_sink(enum log_level lvl, const char *msg, void *arg)
{
	struct port_said	*s = arg;

	if (strstr(msg, "collect port") == NULL)
		return;
	s->lines++;
	snprintf(s->last, sizeof(s->last), "%s", msg);
}

/*
 * Past the descriptor limit (a registry listing thousands of ports) no
 * check can open its socket: each is reported down, and the log gets
 * one line for all of them, not one each.
 */
Test(collect_port, out_of_descriptors_is_one_line)
{
	struct items		 it;
	struct point_list	 pl;
	struct port_said	 said;
	struct rlimit		 rl, low;
	char			 name[32];
	int			 i, fd;

	memset(&said, 0, sizeof(said));
	log_init("test", LOG_LVL_DEBUG);
	log_set_sink(port_sink, &said);
	items_init(&it);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "PORT.p.%d", 20000 + i);
		add_port(&it, "a.loda", name, 20000 + i, 1);
	}
	collect_list_init(&pl);
	/* no descriptor left: the lowest free one is the limit */
	cr_assert_neq(fd = dup(0), -1);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	run(&it, &pl);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	log_set_sink(NULL, NULL);
	cr_assert_eq(pl.n, 300);
	for (i = 0; i < 300; i++)
		cr_assert_eq(pl.v[i].ival, 0, "%s", pl.v[i].name);
	cr_assert_eq(said.lines, 1, "%d lines, the last: %s", said.lines,
	    said.last);
	cr_assert(strstr(said.last, "300 of 300 ports not checked (no socket: "
	    "Too many open files; the first: PORT.p.20000), reported down") !=
	    NULL, "%s", said.last);
	collect_list_free(&pl);
	items_free(&it);
}
