/*
 * The processes of agent test and agent plugin run, and our ends of
 * their edges: real workers (child_spawn, the master's handshake) and
 * hosted children (fork only, a role's code behind its sandbox); their
 * log lines shown on stderr from `tm->show` up; reaping.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "codec.h"
#include "log.h"
#include "testmode.h"
#include "util.h"
#include "workers/worker.h"

#define TICK	0.02	/* seconds between reaping checks */

void
testmode_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", status);
}

/* Control edge, from the child: its log lines, READY, the rest ignored. */
static void
ctl_msg(struct frame_conn *fc, struct frame_in *in, void *arg)
{
	struct tm_proc	*p = arg;
	struct preader	 pr;
	uint32_t	 level;
	char		*text, prefix[64];

	switch (in->hdr.type) {
	case MSG_READY:
		p->ready = 1;
		break;
	case MSG_LOG:
		codec_get_init(&pr, in->data, in->datalen);
		level = codec_get_u32(&pr);
		text = codec_get_str(&pr);
		/* a worker's words: no escape sequence reaches the terminal */
		if (codec_get_end(&pr) == 0 && level < LOG_LVL_MAX &&
		    level >= (uint32_t)p->tm->show) {
			snprintf(prefix, sizeof(prefix), "agent: %s: %s: ",
			    proto_role_name(p->role),
			    log_level_name((enum log_level)level));
			log_print_escaped(stderr, prefix, text, "\n");
		}
		free(text);
		break;
	default:
		/* counters, peer states, acks: nothing to show */
		break;
	}
}

static void
ctl_close(struct frame_conn *fc, const char *why, void *arg)
{
	struct tm_proc	*p = arg;

	p->ctl = NULL;
}

struct frame_conn *
testmode_edge(struct testmode *tm, int fd, enum role self, enum role other,
    frame_msg_cb msg, frame_close_cb close_cb, void *arg)
{
	struct frame_rules	 rules;
	char			 name[64];

	snprintf(name, sizeof(name), "test-%s<->%s", proto_role_name(self),
	    proto_role_name(other));
	rules.edge = self == ROLE_MASTER ? proto_control_edge(other) :
	    proto_peer_edge_find(self, other);
	rules.self = self;
	rules.name = name;
	if (rules.edge == NULL) {
		(void)close(fd);
		return NULL;
	}
	/* as spawn_refuse_fds() does; a kernel before 6.16 cannot */
	(void)util_refuse_fds(fd);
	return frame_conn_new(tm->loop, fd, &rules, msg, close_cb, arg);
}

int
testmode_hello(struct frame_conn *fc, enum role self)
{
	struct pbuf	 pb;
	int		 rv;

	codec_put_init(&pb);
	codec_put_u32(&pb, (uint32_t)self);
	codec_put_u64(&pb, 1);
	rv = codec_put_failed(&pb) ? -1 : frame_send(fc, MSG_HELLO, 0,
	    pb.buf, pb.len, -1);
	codec_put_free(&pb);
	return rv;
}

/* In a new child: default signals, nothing blocked, no stray descriptor. */
static void
child_reset(int keep_up_to)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)syscall(SYS_close_range, keep_up_to + 1, ~0U, 0);
}

static void
proc_init(struct testmode *tm, struct tm_proc *p, enum role role)
{
	memset(p, 0, sizeof(*p));
	p->tm = tm;
	p->role = role;
}

int
testmode_spawn(struct testmode *tm, struct tm_proc *p, enum role role)
{
	extern char		**environ;
	struct child_spec	 spec;
	struct child_fail	 cf;
	char			*argv[4];
	int			 sv[2];
	pid_t			 pid;

	proc_init(tm, p, role);
	argv[0] = (char *)"agent";
	argv[1] = (char *)"worker";
	argv[2] = (char *)proto_role_name(role);
	argv[3] = NULL;
	/* close-on-exec: the next child must not inherit this one's edge */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "agent: socketpair: %s\n", strerror(errno));
		return -1;
	}
	/*
	 * As the master's children (spawn.c): stdio but a terminal to read,
	 * which here is root's, in a session of its own, so that it cannot
	 * push input into the terminal (TIOCSTI); the control edge on 3.
	 */
	child_spec_init(&spec);
	spec.path = "/proc/self/exe";
	spec.argv = argv;
	spec.envp = environ;
	spec.keep[spec.nkeep++] = sv[1];
	spec.flags = CHILD_SETSID;
	if ((spec.fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "agent: /dev/null: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* on a terminal, what it writes there goes escaped (relay.h) */
	if (relay_open_stdio(&tm->relays, proto_role_name(role),
	    spec.fd) == -1) {
		fprintf(stderr, "agent: stdio pipes for %s: %s\n",
		    proto_role_name(role), strerror(errno));
		child_spec_close_stdio(&spec);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pid = child_spawn(&spec, &cf);
	child_spec_close_stdio(&spec);
	/* the child's end lives in the child only */
	close(sv[1]);
	if (pid == -1 || cf.step != CHILD_STEP_NONE) {
		fprintf(stderr, "agent: start %s: %s: %s\n",
		    proto_role_name(role), pid == -1 ? "clone" :
		    child_step_name(cf.step), strerror(pid == -1 ? errno :
		    cf.err));
		close(sv[0]);
		if (pid != -1)
			(void)waitpid(pid, NULL, 0);
		return -1;
	}
	p->pid = pid;
	if ((p->ctl = testmode_edge(tm, sv[0], ROLE_MASTER, role, ctl_msg,
	    ctl_close, p)) == NULL) {
		fprintf(stderr, "agent: control edge of %s: %s\n",
		    proto_role_name(role), strerror(errno));
		return -1;
	}
	return 0;
}

int
testmode_setup(struct testmode *tm, struct tm_proc *p, const enum role *peers,
    const int *fds, size_t n)
{
	struct pbuf	 pb;
	size_t		 i;
	int		 rv = 0;

	codec_put_init(&pb);
	codec_put_u64(&pb, 1);
	conf_encode(&pb, &tm->conf, p->role);
	if (codec_put_failed(&pb) || p->ctl == NULL ||
	    frame_send(p->ctl, MSG_CONF, 0, pb.buf, pb.len, -1) == -1)
		rv = -1;
	for (i = 0; i < n; i++) {
		codec_put_reset(&pb);
		codec_put_u32(&pb, (uint32_t)peers[i]);
		if (rv == -1 || codec_put_failed(&pb)) {
			(void)close(fds[i]);
			rv = -1;
			continue;
		}
		/* the frame layer owns the descriptor, sent or not */
		if (frame_send(p->ctl, MSG_PEER, 0, pb.buf, pb.len, fds[i]) ==
		    -1)
			rv = -1;
	}
	codec_put_free(&pb);
	if (rv == 0 && frame_send(p->ctl, MSG_SETUP_END, 0, NULL, 0, -1) == -1)
		rv = -1;
	if (rv == -1)
		fprintf(stderr, "agent: cannot set up %s\n",
		    proto_role_name(p->role));
	return rv;
}

int
testmode_host(struct testmode *tm, struct tm_proc *p, enum role role,
    int sinkfd, int gitfd, int (*body)(struct worker *, void *), void *arg)
{
	struct worker	 w;
	int		 sv[2], code;
	pid_t		 pid;

	proc_init(tm, p, role);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "agent: socketpair: %s\n", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		fprintf(stderr, "agent: fork: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* 3: control, 4: the sender (us), 5: gitpull; each out of
		 * the way first, as one may sit on a slot another needs */
		if ((sv[1] = fcntl(sv[1], F_DUPFD, 6)) == -1 ||
		    (sinkfd = fcntl(sinkfd, F_DUPFD, 6)) == -1 ||
		    (gitfd != -1 && (gitfd = fcntl(gitfd, F_DUPFD, 6)) == -1) ||
		    dup2(sv[1], 3) == -1 || dup2(sinkfd, 4) == -1 ||
		    (gitfd != -1 && dup2(gitfd, 5) == -1))
			_exit(127);
		child_reset(gitfd != -1 ? 5 : 4);
		/* the parent's loop stays untouched; ours is new */
		if (worker_host_init(&w, role, &tm->conf, 3) == -1)
			_exit(127);
		if (worker_peer_attach(&w, ROLE_SENDER, 4) == -1 ||
		    (gitfd != -1 && worker_peer_attach(&w, ROLE_GITPULL,
		    5) == -1) || worker_host_enter(&w) == -1) {
			worker_host_free(&w);
			_exit(2);
		}
		code = body(&w, arg);
		worker_host_free(&w);
		/* _exit: no exit handlers under the worker's seccomp */
		_exit(code);
	}
	close(sv[1]);
	p->pid = pid;
	if ((p->ctl = testmode_edge(tm, sv[0], ROLE_MASTER, role, ctl_msg,
	    ctl_close, p)) == NULL) {
		fprintf(stderr, "agent: control edge of %s\n",
		    proto_role_name(role));
		return -1;
	}
	return 0;
}

static void
reap(struct testmode *tm)
{
	struct tm_proc	*ps[] = { &tm->fetcher, &tm->gitpull, &tm->sched,
	    &tm->collector };
	size_t		 i;
	int		 st;

	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		if (ps[i]->pid <= 0 || ps[i]->reaped)
			continue;
		if (waitpid(ps[i]->pid, &st, WNOHANG) == ps[i]->pid) {
			ps[i]->reaped = 1;
			ps[i]->status = st;
		}
	}
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	reap(t->data);
}

struct deadline {
	int		 hit;
	ev_timer	 t;
};

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct deadline	*d = t->data;

	d->hit = 1;
}

int
testmode_wait(struct testmode *tm, int (*cond)(struct testmode *),
    double seconds)
{
	struct deadline	 d;
	ev_timer	 tick;

	memset(&d, 0, sizeof(d));
	ev_timer_init(&tick, tick_cb, TICK, TICK);
	tick.data = tm;
	ev_timer_start(tm->loop, &tick);
	ev_timer_init(&d.t, deadline_cb, seconds, 0.);
	d.t.data = &d;
	ev_timer_start(tm->loop, &d.t);
	reap(tm);
	while (!cond(tm) && !d.hit)
		ev_run(tm->loop, EVRUN_ONCE);
	ev_timer_stop(tm->loop, &tick);
	ev_timer_stop(tm->loop, &d.t);
	return cond(tm);
}

static int
gone(struct testmode *tm)
{
	return tm->stopping->reaped;
}

void
testmode_stop(struct testmode *tm, struct tm_proc *p, double grace)
{
	if (p->pid <= 0 || p->reaped)
		return;
	if (p->ctl != NULL)
		(void)frame_send(p->ctl, MSG_SHUTDOWN, 0, NULL, 0, -1);
	else
		(void)kill(p->pid, SIGTERM);
	tm->stopping = p;
	if (!testmode_wait(tm, gone, grace)) {
		(void)kill(p->pid, SIGKILL);
		if (waitpid(p->pid, &p->status, 0) == p->pid)
			p->reaped = 1;
	}
	tm->stopping = NULL;
	if (p->ctl != NULL) {
		frame_conn_close(p->ctl);
		p->ctl = NULL;
	}
}
