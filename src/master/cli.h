/* The operator's commands besides start (cli.c). */
#ifndef AGENT_CLI_H
#define AGENT_CLI_H

#include <sys/types.h>

#include <stdio.h>

#define EXIT_OK		0
#define EXIT_FAIL	1	/* could not do it */
#define EXIT_USAGE	2	/* bad arguments or invalid config */
#define EXIT_NOTRUNNING	3	/* status/reload: no agent runs */

#define DEFAULT_CONF	"/etc/agent.conf"

int	 cli_stop(const char *pidfile, double timeout);
int	 cli_reload(const char *pidfile);
int	 cli_status(const char *pidfile);
/* The children of `master`, one line each, titles escaped (cli_status). */
void	 cli_print_workers(FILE *, pid_t master);
/* Remove everything below dir, not dir itself; symlinks not followed. */
int	 cli_clean_dir(const char *dir);

#endif
