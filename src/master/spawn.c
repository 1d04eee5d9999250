/*
 * Creating worker processes and the edges between them.  Each worker is a
 * fork+exec of our own binary with a role argument (child.c), so it starts
 * from a fresh address space with only its control edge open on
 * CONTROL_FD.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "child.h"
#include "codec.h"
#include "log.h"
#include "master.h"
#include "util.h"

/*
 * No worker passes descriptors, so the master's end of each control edge
 * and both ends of each peer edge refuse them: a descriptor read past is
 * closed by the reader, and the close of one (a file on a FUSE mount
 * whose server never answers, a lingering TCP socket) can block it, the
 * master in an uninterruptible sleep that not even SIGKILL ends.
 */
static void
spawn_refuse_fds(struct master *m, int fd, const char *edge)
{
	if (util_refuse_fds(fd) == 0)
		return;
	if (errno != ENOPROTOOPT && errno != EINVAL)
		log_warn("%s: %s: SO_PASSRIGHTS", __func__, edge);
	else if (!m->fds_warned) {
		m->fds_warned = 1;
		log_warnx("%s: this kernel cannot refuse descriptors on the "
		    "edges between processes (SO_PASSRIGHTS, Linux 6.16): a "
		    "compromised worker may pass the master or another worker "
		    "one whose close blocks it", __func__);
	}
}

int
spawn_worker(struct master *m, struct wslot *w)
{
	extern char		**environ;
	struct child_spec	 cs;
	struct child_fail	 fail;
	char			*argv[4];
	int			 sv[2];
	pid_t			 pid;
	char			 name[64];
	struct frame_rules	 rules;

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
	/*
	 * The worker gets stdio and its control edge on CONTROL_FD, nothing
	 * else.  It runs the image the master runs, not whatever the path
	 * names now: after an upgrade on disk a restarted worker must still
	 * speak the master's protocol.
	 */
	child_spec_init(&cs);
	cs.exec_fd = m->exe_fd;
	cs.argv = argv;
	cs.envp = environ;
	cs.keep[0] = sv[1];
	cs.nkeep = 1;
	/*
	 * Started by hand (start -F), the master's stdio is root's terminal,
	 * its controlling one: code run in a worker could push input into it
	 * (TIOCSTI, which gitpull's and the scheduler's deny-lists let
	 * through) for root's shell to run once the agent ends.  So no
	 * terminal to read, and a session of its own, which has none: the
	 * terminal it may still write to is not its controlling one.
	 */
	if ((cs.fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s: /dev/null for %s", __func__,
		    proto_role_name(w->role));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* on a terminal, what it writes there goes escaped (relay.h) */
	if (relay_open_stdio(&m->relays, proto_role_name(w->role),
	    cs.fd) == -1) {
		log_warn("%s: stdio pipes for %s", __func__,
		    proto_role_name(w->role));
		child_spec_close_stdio(&cs);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	cs.flags = CHILD_SETSID;
	pid = child_spawn(&cs, &fail);
	child_spec_close_stdio(&cs);
	if (pid == -1) {
		log_warn("%s: cannot start %s", __func__,
		    proto_role_name(w->role));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* it exited 127: supervision reaps it and reports the start */
	if (fail.step != CHILD_STEP_NONE)
		log_warnx("%s: %s: %s: %s", __func__, proto_role_name(w->role),
		    child_step_name(fail.step), strerror(fail.err));

	/* the child's end lives in the child only */
	close(sv[1]);
	snprintf(name, sizeof(name), "master<->%s", proto_role_name(w->role));
	spawn_refuse_fds(m, sv[0], name);
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
	w->started_mono = watchdog_mono_now();
	w->started_wall = time(NULL);
	w->acked_gen = 0;
	w->respawning = 0;
	memset(w->peers, 0, sizeof(w->peers));
	/* what its predecessor asked is not this process's question */
	w->status_owed = STATUS_OWED_NONE;
	ev_timer_set(&w->setup_timer, SETUP_TIMEOUT, 0.);
	ev_timer_start(m->loop, &w->setup_timer);
	log_debug("%s: %s started, pid %ld", __func__, proto_role_name(w->role),
	    (long)pid);

	if (spawn_send_conf(m, w, 1) == -1 || spawn_send_listeners(m, w) == -1 ||
	    (w->role == ROLE_SENDER && outfile_send(m, w, &m->conf,
	    0) == -1)) {
		supervise_kill(w, "could not send its configuration");
		return -1;
	}
	return 0;
}

/*
 * The front's apiusers as the uids the master looked up: in its chroot
 * the front cannot look a name up.  0, or -1 with `uids` holding nothing.
 */
static int
spawn_apiuids(const struct agent_conf *c, struct strlist *uids)
{
	char	 num[24];
	size_t	 i;

	strlist_init(uids);
	for (i = 0; i < c->napiuids; i++) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)c->apiuids[i]);
		if (strlist_add(uids, num) == -1) {
			strlist_free(uids);
			return -1;
		}
	}
	return 0;
}

int
spawn_send_conf(struct master *m, struct wslot *w, int starting)
{
	struct agent_conf	 c = m->conf;	/* shallow: only read */
	struct strlist		 uids;
	const char		*held;
	struct pbuf		 pb;
	int			 rv;

	if (starting && w->role == ROLE_SENDER &&
	    (held = spoolheld_for_start(m)) != NULL) {
		log_warnx("%s: the sender is given the spool %s its "
		    "predecessor held, not [output] spool %s: it reads it, "
		    "then tries the move again", __func__, held,
		    m->conf.spool);
		strlcpy(c.spool, held, sizeof(c.spool));
	}
	strlist_init(&uids);
	if (w->role == ROLE_FRONT) {
		if (spawn_apiuids(&m->conf, &uids) == -1) {
			log_warn("%s: apiusers for the front", __func__);
			return -1;
		}
		c.apiusers = uids;
	}
	/* they tell plugins by it, and cannot look a new name up */
	if ((w->role == ROLE_SENDER || w->role == ROLE_FRONT) &&
	    c.pluginsuid != (uid_t)-1)
		snprintf(c.pluginsuser, sizeof(c.pluginsuser), "%lu",
		    (unsigned long)c.pluginsuid);
	/* the sender, sandboxed, cannot look the name up: its uid */
	if (c.serveruid != (uid_t)-1)
		snprintf(c.serveruser, sizeof(c.serveruser), "%lu",
		    (unsigned long)c.serveruid);
	else
		c.serveruser[0] = '\0';
	codec_put_init(&pb);
	codec_put_u64(&pb, m->generation);
	conf_encode(&pb, &c, w->role);
	strlist_free(&uids);
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
 * The master keeps no copy: frame_send closes each end once sent.  On
 * failure *failed is the side whose control queue refused its end (full:
 * it does not read it), NULL when the master could not make the pair.
 */
int
spawn_wire_edge(struct master *m, const struct edge_def *e,
    struct wslot **failed)
{
	struct wslot	*a = &m->w[e->a], *b = &m->w[e->b];
	int		 sv[2];

	*failed = NULL;
	if (!slot_alive(a) || !slot_alive(b))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair %s<->%s", __func__,
		    proto_role_name(e->a),
		    proto_role_name(e->b));
		return -1;
	}
	spawn_refuse_fds(m, sv[0], proto_role_name(e->a));
	spawn_refuse_fds(m, sv[1], proto_role_name(e->b));
	if (send_peer(a, e->b, sv[0]) == -1) {
		log_warn("%s: edge end to %s", __func__, proto_role_name(e->a));
		close(sv[1]);
		*failed = a;
		return -1;
	}
	if (send_peer(b, e->a, sv[1]) == -1) {
		log_warn("%s: edge end to %s", __func__, proto_role_name(e->b));
		*failed = b;
		return -1;
	}
	log_debug("%s: edge %s<->%s wired", __func__, proto_role_name(e->a),
	    proto_role_name(e->b));
	return 0;
}

/*
 * (Re)create every edge of one worker, then let it finish its setup.  A
 * running peer that cannot take its end is the one killed: its control
 * queue is full, it does not read it, and its restart wires the edge
 * again.  Killing the new worker instead let a peer that stopped reading
 * keep it from ever starting.
 */
void
spawn_wire_worker(struct master *m, struct wslot *w)
{
	struct wslot	*failed;
	size_t		 i;

	if (!slot_alive(w))
		return;
	for (i = 0; i < proto_peer_edge_count; i++) {
		if ((proto_peer_edges[i].a != w->role &&
		    proto_peer_edges[i].b != w->role) ||
		    spawn_wire_edge(m, &proto_peer_edges[i], &failed) == 0)
			continue;
		if (failed != NULL && failed != w) {
			supervise_kill(failed, "its control queue is full: "
			    "it does not read what the master sends it");
			continue;
		}
		supervise_kill(w, "could not wire its edges");
		return;
	}
	if (frame_send(w->ctl, MSG_SETUP_END, 0, NULL, 0, -1) == -1)
		supervise_kill(w, "could not finish its setup");
}
