/*
 * GET /metrics in the Prometheus text format 0.0.4 (front_metrics.c),
 * from the table the master sends in MSG_STATUS.
 */
#ifndef AGENT_FRONT_METRICS_H
#define AGENT_FRONT_METRICS_H

#include <stddef.h>

#include "buf.h"

struct metric_set;

#define FRONT_METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

/* The whole page appended to `b`; 0, or -1 when memory ran out. */
int		 front_metrics_render(const struct metric_set *, struct buf *);
/* A label value with \\, \" and \n escaped. */
void		 front_metrics_label_value(struct buf *, const char *);
/* HELP text with \\ and \n escaped. */
void		 front_metrics_help_text(struct buf *, const char *);
/* The shortest decimal that reads back as `v`, in s (returned). */
const char	*front_metrics_float(char *s, size_t len, double v);

#endif
