/*
 * What one collector run publishes (lodastack-protocols.md 4.2 and 5):
 * every point normalized once (host tag, now) and encoded once, then sent
 * to each namespace of the host as MSG_POINTS of at most
 * COLLECT_MSG_BYTES.  KERNEL points also go to security.monitor.loda, one
 * copy per source namespace (unless that is the source); PORT and PROC
 * points go only to their item's namespace.  After NET runs, the raw
 * per-interface values for GET /me/traffic (MSG_TRAFFIC to the front).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "collector.h"
#include "jsonw.h"
#include "log.h"
#include "points_msg.h"
#include "workers/worker_points.h"

/* A message to the test's hook instead of the sender. */
static int
send_hook(void *arg, const struct points_msg *m)
{
	struct collector	*c = arg;

	return c->send_hook(c, m);
}

/* The picked points into c->msg and on to the sender for `ns`. */
static void
send_ns(struct collector *c, const char *ns, enum out_format fmt)
{
	char		 why[160];
	size_t		 i, n = 0, sent;

	buf_reset(&c->msg);
	for (i = 0; i < c->pl.n; i++) {
		if (!c->picked[i])
			continue;
		if (n++ > 0)
			buf_addc(&c->msg, '\n');
		buf_add(&c->msg, c->enc.p + c->spans[i].off,
		    c->spans[i].len);
	}
	if (n == 0)
		return;
	if (buf_failed(&c->msg)) {
		log_warnx("%s: out of memory for %zu points to %s", __func__,
		    n, ns);
		c->st.points_unsent += n;
		buf_free(&c->msg);
		buf_init(&c->msg);
		return;
	}
	if (worker_points_publish(c->w, ns, fmt, c->msg.p, c->msg.len,
	    COLLECT_MSG_BYTES, c->send_hook != NULL ? send_hook : NULL, c,
	    &sent, why, sizeof(why)) == -1) {
		log_warnx("%s: %zu points not sent: %s", __func__, n, why);
		c->st.points_unsent += n;
		return;
	}
	c->st.points_sent += sent;
	c->st.points_unsent += n - sent;
}

/* Normalize and encode every point once; c->spans says where each is. */
static int
encode_all(struct collector *c, enum out_format fmt, int64_t now)
{
	struct enc_span	*sp;
	char		*pk;
	char		 why[512];
	size_t		 i, cap, start;
	uint64_t	 n;

	if (c->pl.n > c->spancap) {
		cap = c->pl.n;
		if ((sp = reallocarray(c->spans, cap, sizeof(*sp))) == NULL)
			return -1;
		c->spans = sp;
		if ((pk = realloc(c->picked, cap)) == NULL)
			return -1;
		c->picked = pk;
		c->spancap = cap;
	}
	buf_reset(&c->enc);
	for (i = 0; i < c->pl.n; i++) {
		c->spans[i].ok = 0;
		c->spans[i].off = c->spans[i].len = 0;
		if (point_normalize(&c->pl.v[i], NULL, c->host, now, why,
		    sizeof(why)) == -1) {
			/* a family's bug or an odd name from the system:
			 * the others still go */
			c->st.points_invalid++;
			if (warn_limit_due(&c->norm_warn, ev_now(c->w->loop),
			    &n))
				log_warnx("%s: collector: point dropped: %s "
				    "(%llu such since the last report)",
				    __func__, why, (unsigned long long)n);
			snprintf(c->last_error, sizeof(c->last_error),
			    "point dropped: %s", why);
			continue;
		}
		if (c->self_run)
			c->st.points_received_self++;
		else
			c->st.points_received++;
		start = c->enc.len;
		encode_point(&c->enc, fmt, &c->pl.v[i]);
		c->spans[i].off = start;
		c->spans[i].len = c->enc.len - start;
		c->spans[i].ok = 1;
	}
	return buf_failed(&c->enc) ? -1 : 0;
}

static void
pick_all(struct collector *c)
{
	size_t	 i;

	for (i = 0; i < c->pl.n; i++)
		c->picked[i] = (char)c->spans[i].ok;
}

/* Does point `name` belong to an item of `type` in `ns`? */
static int
item_match(const struct items *it, enum sys_type type, const char *ns,
    const char *name)
{
	size_t	 i, n;

	if (type == SYS_PORT) {
		for (i = 0; i < it->nports; i++)
			if (strcmp(it->ports[i].ns, ns) == 0 &&
			    strcmp(it->ports[i].name, name) == 0)
				return 1;
		return 0;
	}
	for (i = 0; i < it->nprocs; i++) {
		n = strlen(it->procs[i].name);
		if (strcmp(it->procs[i].ns, ns) == 0 &&
		    strncmp(it->procs[i].name, name, n) == 0 &&
		    name[n] == '.')
			return 1;
	}
	return 0;
}

/* PORT and PROC: the points of the items of `ns`, each name once. */
static void
pick_items(struct collector *c, enum sys_type type, const char *ns)
{
	const struct point	*p;
	size_t			 i, j;

	for (i = 0; i < c->pl.n; i++) {
		c->picked[i] = 0;
		if (!c->spans[i].ok)
			continue;
		p = &c->pl.v[i];
		if (c->pl.route[i] != NULL) {
			c->picked[i] = strcmp(c->pl.route[i], ns) == 0;
			continue;
		}
		if (!item_match(&c->items, type, ns, p->name))
			continue;
		for (j = 0; j < i; j++)
			if (c->picked[j] && c->pl.route[j] == NULL &&
			    strcmp(c->pl.v[j].name, p->name) == 0)
				break;
		c->picked[i] = j == i;
	}
}

/* Has an earlier item of `type` the same ns as item `k`? */
static int
ns_seen(const struct items *it, enum sys_type type, size_t k)
{
	size_t	 i;

	for (i = 0; i < k; i++) {
		if (type == SYS_PORT &&
		    strcmp(it->ports[i].ns, it->ports[k].ns) == 0)
			return 1;
		if (type == SYS_PROC &&
		    strcmp(it->procs[i].ns, it->procs[k].ns) == 0)
			return 1;
	}
	return 0;
}

void
collector_publish(struct collector *c, enum sys_type type, int64_t now)
{
	const struct strlist	*nss = &c->items.namespaces;
	enum out_format		 fmt;
	const char		*ns;
	size_t			 i, n;

	if (c->pl.n == 0)
		return;
	/*
	 * In no namespace, the host's points go nowhere: none is taken in
	 * (agent_points_received_total would count what no other counter
	 * does).  PORT and PROC items have one each.
	 */
	if (nss->n == 0 && type != SYS_PORT && type != SYS_PROC)
		return;
	if (encode_format_parse(c->w->conf.format, &fmt) == -1)
		fmt = FORMAT_JSON;
	if (encode_all(c, fmt, now) == -1) {
		log_warnx("%s: out of memory encoding %zu %s points", __func__,
		    c->pl.n, type == SYS_TYPE_MAX ? "self" :
		    items_sys_type_name(type));
		c->st.points_unsent += c->pl.n;
		buf_free(&c->enc);
		buf_init(&c->enc);
		return;
	}
	if (type == SYS_PORT || type == SYS_PROC) {
		n = type == SYS_PORT ? c->items.nports : c->items.nprocs;
		for (i = 0; i < n; i++) {
			if (ns_seen(&c->items, type, i))
				continue;
			ns = type == SYS_PORT ? c->items.ports[i].ns :
			    c->items.procs[i].ns;
			pick_items(c, type, ns);
			send_ns(c, ns, fmt);
		}
		return;
	}
	pick_all(c);
	for (i = 0; i < nss->n; i++) {
		send_ns(c, nss->v[i], fmt);
		/* one copy per source ns, as the Go agent sent them */
		if (type == SYS_KERNEL && strcmp(nss->v[i], SECURITY_NS) != 0)
			send_ns(c, SECURITY_NS, fmt);
	}
}

/* ---- GET /me/traffic ---- */

static void
traffic_point(struct jsonw *w, const struct point *p)
{
	size_t	 i;

	jsonw_map_open(w);
	jsonw_key(w, "name");
	jsonw_string(w, p->name);
	jsonw_key(w, "timestamp");
	jsonw_int64(w, 0);
	jsonw_key(w, "tags");
	jsonw_map_open(w);
	for (i = 0; i < p->ntags; i++) {
		jsonw_key(w, p->tags[i].key);
		jsonw_string(w, p->tags[i].value);
	}
	jsonw_map_close(w);
	jsonw_key(w, "value");
	if (p->kind == POINT_INT)
		jsonw_int64(w, p->ival);
	else
		jsonw_double(w, p->fval);
	jsonw_map_close(w);
}

static int
has_interface(const struct point *p)
{
	size_t	 i;

	for (i = 0; i < p->ntags; i++)
		if (strcmp(p->tags[i].key, "interface") == 0)
			return 1;
	return 0;
}

void
collector_traffic_update(struct collector *c)
{
	const struct point	*p;
	struct jsonw		 w;
	size_t			 i;

	/* the Go agent: null until two NET runs, its first has no rates */
	if (c->net_runs < 2)
		return;
	buf_reset(&c->traffic);
	jsonw_init(&w, &c->traffic, JSONW_GO);
	jsonw_array_open(&w);
	for (i = 0; i < c->pl.n; i++) {
		p = &c->pl.v[i];
		if (!has_interface(p) || (p->kind != POINT_INT &&
		    p->kind != POINT_FLOAT))
			continue;
		traffic_point(&w, p);
	}
	jsonw_array_close(&w);
	if (jsonw_finish(&w) == -1) {
		log_warnx("%s: out of memory", __func__);
		buf_free(&c->traffic);
		buf_init(&c->traffic);
		c->have_traffic = 0;
		return;
	}
	c->have_traffic = 1;
	collector_traffic_send(c);
}

void
collector_traffic_send(struct collector *c)
{
	struct pbuf	 pb;

	if (!c->have_traffic || c->w->peers[ROLE_FRONT] == NULL)
		return;
	codec_put_init(&pb);
	codec_put_str(&pb, c->traffic.p);
	if (codec_put_failed(&pb) || worker_send_peer(c->w, ROLE_FRONT,
	    MSG_TRAFFIC, 0, pb.buf, pb.len) == -1)
		log_warn("%s: %zu bytes to the front", __func__,
		    c->traffic.len);
	else
		c->st.traffic_sent++;
	codec_put_free(&pb);
}
