#include "topic.h"

#include <stdio.h>
#include <string.h>

#include "points_msg.h"

int
topic_for_ns(const char *tmpl, const char *ns, char *topic, size_t len,
    char *why, size_t whylen)
{
	const char	*pct;
	size_t		 i;
	int		 n;

	for (i = 0; ns[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-.", ns[i]) ==
		    NULL) {
			snprintf(why, whylen, "ns \"%.64s\": only [-.a-z0-9] "
			    "allowed", ns);
			return -1;
		}
	if (i == 0 || (pct = strstr(tmpl, "%s")) == NULL) {
		snprintf(why, whylen, "empty ns");
		return -1;
	}
	n = snprintf(topic, len, "%.*s%s%s", (int)(pct - tmpl), tmpl, ns,
	    pct + 2);
	if (n < 0 || (size_t)n >= len || n > TOPIC_MAX) {
		snprintf(why, whylen, "ns \"%.64s\" makes a topic longer than "
		    "%d bytes", ns, TOPIC_MAX);
		return -1;
	}
	return 0;
}
