/*
 * Creating worker processes and the edges between them.  Each worker is a
 * fork+exec of our own binary with a role argument, so it starts from a
 * fresh address space with only its control edge open on CONTROL_FD.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "master.h"

/* Signals the master handles; the child gets default dispositions back. */
static const int master_signals[] = {
	SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGPIPE
};

/*
 * Only async-signal-safe calls between fork and exec: the master may be
 * interrupted anywhere by the fork, and locks held by other code in the
 * parent do not exist in the child.
 */
static void __attribute__((noreturn))
spawn_child(int ctlfd, int exefd, char *const argv[])
{
	extern char		**environ;
	struct sigaction	 sa;
	struct rlimit		 rl;
	sigset_t		 none;
	unsigned		 i;
	int			 fd, c, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++)
		(void)sigaction(master_signals[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* out of the way first: either may sit on a slot the other needs */
	if ((c = fcntl(ctlfd, F_DUPFD, EXE_FD + 1)) == -1 ||
	    (e = fcntl(exefd, F_DUPFD, EXE_FD + 1)) == -1 ||
	    dup2(c, CONTROL_FD) == -1 || dup2(e, EXE_FD) == -1)
		_exit(127);

	/* the worker gets stdio and its control edge, nothing else */
	if (syscall(SYS_close_range, EXE_FD + 1, ~0U, 0) == -1) {
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(127);
		for (fd = EXE_FD + 1; (rlim_t)fd < rl.rlim_cur; fd++)
			(void)close(fd);
	}
	/*
	 * Exec the image the master runs, not whatever the path names now:
	 * after an upgrade on disk a restarted worker must still speak the
	 * master's protocol.  The descriptor closes on exec.
	 */
	if (fcntl(EXE_FD, F_SETFD, FD_CLOEXEC) == -1)
		_exit(127);
	fexecve(EXE_FD, argv, environ);
	_exit(127);
}

int
spawn_worker(struct master *m, struct wslot *w)
{
	char	*argv[4];
	int	 sv[2];
	pid_t	 pid;
	char	 name[64];
	struct frame_rules rules;

	argv[0] = (char *)"agent";
	argv[1] = (char *)"worker";
	argv[2] = (char *)proto_role_name(w->role);
	argv[3] = NULL;

	/* close-on-exec on both ends: no other worker may inherit them */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("%s: socketpair for %s", __func__,
		    proto_role_name(w->role));
		return -1;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork for %s", __func__, proto_role_name(w->role));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		spawn_child(sv[1], m->exe_fd, argv);

	/* the child's end lives in the child only */
	close(sv[1]);
	snprintf(name, sizeof(name), "master<->%s", proto_role_name(w->role));
	rules.edge = proto_control_edge(w->role);
	rules.self = ROLE_MASTER;
	rules.name = name;
	w->ctl = frame_conn_new(m->loop, sv[0], &rules, master_ctl_msg,
	    master_ctl_close, w);
	if (w->ctl == NULL) {
		log_warn("%s: control edge for %s", __func__,
		    proto_role_name(w->role));
		(void)kill(pid, SIGKILL);
		w->pid = pid;
		w->reaped = 0;
		w->state = W_STARTING;
		return -1;
	}
	w->pid = pid;
	w->reaped = 0;
	w->state = W_STARTING;
	w->last_words[0] = '\0';
	/* counters belong to a process: a new one starts from zero */
	memset(&w->stats, 0, sizeof(w->stats));
	w->started_mono = ev_now(m->loop);
	w->started_wall = time(NULL);
	w->acked_gen = 0;
	memset(w->peers, 0, sizeof(w->peers));
	ev_timer_set(&w->setup_timer, SETUP_TIMEOUT, 0.);
	ev_timer_start(m->loop, &w->setup_timer);
	log_debug("%s: %s started, pid %ld", __func__, proto_role_name(w->role),
	    (long)pid);

	if (spawn_send_conf(m, w) == -1 || spawn_send_listeners(m, w) == -1 ||
	    (w->role == ROLE_SENDER && outfile_send(m, w, &m->conf,
	    0) == -1)) {
		supervise_kill(w, "could not send its configuration");
		return -1;
	}
	return 0;
}

int
spawn_send_conf(struct master *m, struct wslot *w)
{
	struct pbuf	 pb;
	int		 rv;

	codec_put_init(&pb);
	codec_put_u64(&pb, m->generation);
	conf_encode(&pb, &m->conf, w->role);
	if (codec_put_failed(&pb)) {
		codec_put_free(&pb);
		log_warnx("%s: cannot encode config for %s", __func__,
		    proto_role_name(w->role));
		return -1;
	}
	rv = frame_send(w->ctl, MSG_CONF, 0, pb.buf, pb.len, -1);
	if (rv == -1)
		log_warn("%s: config to %s", __func__,
		    proto_role_name(w->role));
	codec_put_free(&pb);
	return rv;
}

static int
send_listener(struct wslot *w, const char *kind, const char *addr, int lfd)
{
	struct pbuf	 pb;
	int		 fd, rv;

	if (lfd == -1)
		return 0;
	/* the master keeps its copy to hand to a restarted front */
	if ((fd = fcntl(lfd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("%s: dup listener", __func__);
		return -1;
	}
	codec_put_init(&pb);
	codec_put_str(&pb, kind);
	codec_put_str(&pb, addr);
	if (codec_put_failed(&pb)) {
		codec_put_free(&pb);
		close(fd);
		return -1;
	}
	rv = frame_send(w->ctl, MSG_LISTEN, 0, pb.buf, pb.len, fd);
	if (rv == -1)
		log_warn("%s: %s listener to %s", __func__, kind,
		    proto_role_name(w->role));
	codec_put_free(&pb);
	return rv;
}

int
spawn_send_listeners(struct master *m, struct wslot *w)
{
	if (w->role != ROLE_FRONT)
		return 0;
	if (send_listener(w, "tcp", m->conf.listen, m->listen_tcp) == -1 ||
	    send_listener(w, "unix", m->conf.socket, m->listen_unix) == -1)
		return -1;
	return 0;
}

static int
slot_alive(const struct wslot *w)
{
	return w->ctl != NULL &&
	    (w->state == W_STARTING || w->state == W_RUNNING);
}

static int
send_peer(struct wslot *w, enum role peer, int fd)
{
	struct pbuf	 pb;
	int		 rv;

	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)peer);
	if (codec_put_failed(&pb)) {
		codec_put_free(&pb);
		close(fd);
		return -1;
	}
	rv = frame_send(w->ctl, MSG_PEER, 0, pb.buf, pb.len, fd);
	codec_put_free(&pb);
	return rv;
}

/*
 * Create the socketpair of one peer edge and hand one end to each side.
 * The master keeps no copy: frame_send closes each end once sent.
 */
int
spawn_wire_edge(struct master *m, const struct edge_def *e)
{
	struct wslot	*a = &m->w[e->a], *b = &m->w[e->b];
	int		 sv[2];

	if (!slot_alive(a) || !slot_alive(b))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair %s<->%s", __func__,
		    proto_role_name(e->a),
		    proto_role_name(e->b));
		return -1;
	}
	if (send_peer(a, e->b, sv[0]) == -1) {
		log_warn("%s: edge end to %s", __func__, proto_role_name(e->a));
		close(sv[1]);
		return -1;
	}
	if (send_peer(b, e->a, sv[1]) == -1) {
		log_warn("%s: edge end to %s", __func__, proto_role_name(e->b));
		return -1;
	}
	log_debug("%s: edge %s<->%s wired", __func__, proto_role_name(e->a),
	    proto_role_name(e->b));
	return 0;
}

/* (Re)create every edge of one worker, then let it finish its setup. */
void
spawn_wire_worker(struct master *m, struct wslot *w)
{
	size_t	 i;

	if (!slot_alive(w))
		return;
	for (i = 0; i < proto_peer_edge_count; i++) {
		if ((proto_peer_edges[i].a == w->role
		    || proto_peer_edges[i].b == w->role)
		    && spawn_wire_edge(m, &proto_peer_edges[i]) == -1) {
			supervise_kill(w, "could not wire its edges");
			return;
		}
	}
	if (frame_send(w->ctl, MSG_SETUP_END, 0, NULL, 0, -1) == -1)
		supervise_kill(w, "could not finish its setup");
}
