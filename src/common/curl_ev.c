/*
 * libcurl's multi interface on a libev loop; see curl_ev.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/sys/queue.h>

#include "curl_ev.h"
#include "log.h"

/* One socket libcurl asked us to watch. */
struct curl_ev_sock {
	LIST_ENTRY(curl_ev_sock) entry;
	struct curl_ev		*ce;
	curl_socket_t		 fd;
	ev_io			 io;
};

struct curl_ev {
	struct ev_loop		*loop;
	const struct curl_dl	*curl;
	const char		*tag;		/* for logs */
	curl_ev_done_fn		 done;
	void			*arg;
	CURLM			*multi;
	ev_timer		 timer;		/* libcurl's timeout */
	LIST_HEAD(, curl_ev_sock) socks;
	int			 depth;		/* dispatch() calls running */
	int			 freed;		/* curl_ev_free() from done() */
};

/*
 * Hand every finished transfer to done(), each out of the multi handle
 * first so done() may add it again at once.  done() may free us: then
 * curl_ev_free() has let go of libcurl and the watchers, and the struct
 * itself goes here, once nothing of ours is on the stack.
 */
static void
dispatch(struct curl_ev *ce)
{
	CURLMsg		*msg;
	CURL		*easy;
	CURLcode	 result;
	int		 left;

	ce->depth++;
	while (!ce->freed &&
	    (msg = ce->curl->multi_info_read(ce->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg goes away with the handle's removal: copy first */
		easy = msg->easy_handle;
		result = msg->data.result;
		curl_ev_remove(ce, easy);
		ce->done(easy, result, ce->arg);
	}
	if (--ce->depth == 0 && ce->freed)
		free(ce);
}

static void
socket_action(struct curl_ev *ce, curl_socket_t fd, int flags)
{
	CURLMcode	 mc;
	int		 running;

	mc = ce->curl->multi_socket_action(ce->multi, fd, flags, &running);
	if (mc != CURLM_OK)
		log_warnx("%s: %s: curl_multi_socket_action: %s", __func__,
		    ce->tag, ce->curl->multi_strerror(mc));
	dispatch(ce);
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct curl_ev_sock	*cs = io->data;
	int			 flags = 0;

	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* cs may be freed inside (CURL_POLL_REMOVE): pass copies */
	socket_action(cs->ce, cs->fd, flags);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static void
sock_free(struct curl_ev_sock *cs)
{
	ev_io_stop(cs->ce->loop, &cs->io);
	LIST_REMOVE(cs, entry);
	free(cs);
}

/*
 * libcurl says what to watch on a socket.  Returning -1 makes it fail
 * the transfers of this multi handle, which is how running out of
 * memory for a watcher ends up as a failed transfer.
 */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct curl_ev		*ce = arg;
	struct curl_ev_sock	*cs = sockp;
	CURLMcode		 mc;
	int			 events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL)
			sock_free(cs);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL) {
			log_warnx("%s: %s: out of memory for a socket watcher",
			    __func__, ce->tag);
			return -1;
		}
		cs->ce = ce;
		cs->fd = fd;
		ev_io_init(&cs->io, io_cb, fd, events);
		cs->io.data = cs;
		LIST_INSERT_HEAD(&ce->socks, cs, entry);
		if ((mc = ce->curl->multi_assign(ce->multi, fd, cs)) !=
		    CURLM_OK) {
			log_warnx("%s: %s: curl_multi_assign: %s", __func__,
			    ce->tag, ce->curl->multi_strerror(mc));
			sock_free(cs);
			return -1;
		}
	} else {
		/* ev_io_set needs a stopped watcher */
		ev_io_stop(ce->loop, &cs->io);
		ev_io_set(&cs->io, fd, events);
	}
	ev_io_start(ce->loop, &cs->io);
	return 0;
}

/*
 * libcurl wants to be called back after timeout_ms (-1: never).  Even a
 * 0 goes through the loop: calling curl_multi_socket_action() from
 * inside this callback is not allowed.
 */
static int
timerfn_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct curl_ev	*ce = arg;

	ev_timer_stop(ce->loop, &ce->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&ce->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(ce->loop, &ce->timer);
	}
	return 0;
}

static int
multi_setup(struct curl_ev *ce, char *err, size_t errlen)
{
	CURLMcode	 mc;
	const char	*opt;

#define MSETOPT(o, v) do {						\
	opt = #o;							\
	if ((mc = ce->curl->multi_setopt(ce->multi, o, v)) != CURLM_OK)	\
		goto fail;						\
} while (0)
	MSETOPT(CURLMOPT_SOCKETFUNCTION, sock_cb);
	MSETOPT(CURLMOPT_SOCKETDATA, ce);
	MSETOPT(CURLMOPT_TIMERFUNCTION, timerfn_cb);
	MSETOPT(CURLMOPT_TIMERDATA, ce);
#undef MSETOPT
	return 0;
fail:
	snprintf(err, errlen, "curl_multi_setopt(%s): %s", opt,
	    ce->curl->multi_strerror(mc));
	return -1;
}

struct curl_ev *
curl_ev_new(struct ev_loop *loop, const struct curl_dl *curl, const char *tag,
    curl_ev_done_fn done, void *arg, char *err, size_t errlen)
{
	struct curl_ev	*ce;

	if ((ce = calloc(1, sizeof(*ce))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ce->loop = loop;
	ce->curl = curl;
	ce->tag = tag;
	ce->done = done;
	ce->arg = arg;
	LIST_INIT(&ce->socks);
	ev_timer_init(&ce->timer, timer_cb, 0., 0.);
	ce->timer.data = ce;
	if ((ce->multi = ce->curl->multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		free(ce);
		return NULL;
	}
	if (multi_setup(ce, err, errlen) == -1) {
		curl_ev_free(ce);
		return NULL;
	}
	return ce;
}

void
curl_ev_free(struct curl_ev *ce)
{
	struct curl_ev_sock	*cs;
	CURLMcode		 mc;

	if (ce == NULL || ce->freed)
		return;
	/* closes the cached connections, calling sock_cb to unwatch them */
	if ((mc = ce->curl->multi_cleanup(ce->multi)) != CURLM_OK)
		log_warnx("%s: %s: curl_multi_cleanup: %s", __func__, ce->tag,
		    ce->curl->multi_strerror(mc));
	ce->multi = NULL;
	/* whatever libcurl did not unwatch is ours to drop */
	while ((cs = LIST_FIRST(&ce->socks)) != NULL)
		sock_free(cs);
	ev_timer_stop(ce->loop, &ce->timer);
	if (ce->depth > 0) {
		/* from inside done(): dispatch() frees the struct */
		ce->freed = 1;
		return;
	}
	free(ce);
}

CURLM *
curl_ev_multi(const struct curl_ev *ce)
{
	return ce->multi;
}

int
curl_ev_add(struct curl_ev *ce, CURL *easy, char *err, size_t errlen)
{
	CURLMcode	 mc;

	if ((mc = ce->curl->multi_add_handle(ce->multi, easy)) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_add_handle: %s",
		    ce->curl->multi_strerror(mc));
		return -1;
	}
	return 0;
}

void
curl_ev_remove(struct curl_ev *ce, CURL *easy)
{
	CURLMcode	 mc;

	if ((mc = ce->curl->multi_remove_handle(ce->multi, easy)) != CURLM_OK)
		log_warnx("%s: %s: curl_multi_remove_handle: %s", __func__,
		    ce->tag, ce->curl->multi_strerror(mc));
}
