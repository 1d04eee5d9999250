/*
 * The output topic (NSQ topic, InfluxDB database) of a namespace, from
 * the [output] topic template: every producer of points (front,
 * scheduler, collector) names its messages the same way.
 */
#ifndef AGENT_TOPIC_H
#define AGENT_TOPIC_H

#include <stddef.h>

/*
 * `tmpl` with its first "%s" replaced by `ns`.  The ns must be non-empty
 * and [-.a-z0-9] only (the registry's namespace labels), and the topic at
 * most TOPIC_MAX (points_msg.h) bytes.  0, or -1 with a reason in `why`
 * naming the ns.
 */
int	 topic_for_ns(const char *tmpl, const char *ns, char *topic,
	    size_t len, char *why, size_t whylen);

#endif
