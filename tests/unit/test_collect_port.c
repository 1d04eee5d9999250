/*
 * PORT: connects to 127.0.0.1, to a port this test listens on (1), to a
 * closed one (0), and to ports whose listen queue is full (time out),
 * all at once.
 */
#include "collect_fixture.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <time.h>

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

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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
 * A listener whose queue is full drops SYNs: the connect hangs until its
 * timeout.  Three such checks of 1 s each and one live port take about
 * 1 s together, not 3.
 */
Test(collect_port, timeouts_in_parallel)
{
	struct items		 it;
	struct point_list	 pl;
	int			 full, lfd, up, port, fill[4], k;
	double			 t0, dt;

	lfd = listener(16, &up);
	full = listener(0, &port);
	for (k = 0; k < 4; k++)
		fill[k] = connect_to(port);
	usleep(100000);		/* let the handshakes that can, finish */
	items_init(&it);
	add_port(&it, "a.loda", "PORT.full.1", port, 1);
	add_port(&it, "a.loda", "PORT.full.2", port, 1);
	add_port(&it, "a.loda", "PORT.up.3", up, 1);
	add_port(&it, "a.loda", "PORT.full.4", port, 1);
	collect_list_init(&pl);
	t0 = mono();
	run(&it, &pl);
	dt = mono() - t0;
	assert_dump(&pl,
	    "PORT.full.1 - 0 >a.loda\n"
	    "PORT.full.2 - 0 >a.loda\n"
	    "PORT.up.3 - 1 >a.loda\n"
	    "PORT.full.4 - 0 >a.loda\n");
	cr_assert(dt >= 0.9 && dt < 1.8, "took %.3f s", dt);
	collect_list_free(&pl);
	items_free(&it);
	for (k = 0; k < 4; k++)
		close(fill[k]);
	close(full);
	close(lfd);
}
