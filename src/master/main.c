/*
 * agent: command line.  `agent start` becomes the master; `agent worker
 * ROLE` is how the master re-executes itself for each worker.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "conf_load.h"
#include "config.h"
#include "dirs.h"
#include "log.h"
#include "master.h"
#include "proto.h"
#include "testmode.h"
#include "util.h"
#include "workers/worker.h"

static const char usage_text[] =
"usage: agent <command> [options]\n"
"\n"
"commands:\n"
"  start  [-f FILE] [-F]              start the daemon (-F: stay in the "
"foreground)\n"
"  stop   [-f FILE] [-p PIDFILE] [-m clean] [-t SECONDS]\n"
"                                     stop it; -m clean also removes the\n"
"                                     plugins and caches\n"
"  reload [-f FILE] [-p PIDFILE]      check FILE, then make the daemon "
"re-read\n"
"                                     its config (FILE should be the file it\n"
"                                     was started with)\n"
"  status [-f FILE] [-p PIDFILE]      is it running, since when, which "
"workers\n"
"  check  [-f FILE]                   validate FILE (values and the paths\n"
"                                     it names) and print the effective "
"config\n"
"  test   [-f FILE] [-n NS] [-p REPO] [-v]\n"
"                                     run every collector and plugin once as\n"
"                                     the daemon would; print the points,\n"
"                                     publish nothing\n"
"  plugin run [-f FILE] [-t SECONDS] [-v] NS REPO [-- PARAM...]\n"
"                                     the same for one plugin\n"
"  version                            print the version\n"
"\n"
"FILE defaults to " DEFAULT_CONF "; PIDFILE to the config's pidfile.\n"
"exit codes: 0 ok, 1 failure (test: a plugin failed), 2 usage or invalid\n"
"config, 3 not running.\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

static void
print_warning(const char *msg, void *arg)
{
	log_print_escaped(stderr, "agent: warning: ", msg, "\n");
}

struct cli_opts {
	const char	*conf;
	const char	*pidfile;
	const char	*mode;
	double		 timeout;
	int		 foreground;
	int		 conf_given;
};

static int
parse_opts(int argc, char **argv, const char *allowed, struct cli_opts *o)
{
	long long	 t;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->conf = DEFAULT_CONF;
	o->timeout = 30;
	optind = 1;
	while ((ch = getopt(argc, argv, allowed)) != -1) {
		switch (ch) {
		case 'f':
			o->conf = optarg;
			o->conf_given = 1;
			break;
		case 'F':
			o->foreground = 1;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "clean") != 0) {
				fprintf(stderr, "agent: -m takes \"clean\", "
				    "not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			o->mode = optarg;
			break;
		case 't':
			if (util_parse_int64(optarg, 1, 3600, &t) == -1) {
				fprintf(stderr, "agent: -t takes seconds "
				    "(1-3600), not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			o->timeout = (double)t;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "agent: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * The pidfile of a running agent: -p, else the config's key.  A default
 * config that does not exist is fine (the default pidfile applies).
 */
static int
load_for_control(struct cli_opts *o, struct agent_conf *c)
{
	char	 err[1024];

	if (!o->conf_given && access(o->conf, F_OK) == -1 && errno == ENOENT)
		return conf_defaults(c) == 0 ? 0 : EXIT_FAIL;
	if (conf_load(o->conf, c, print_warning, NULL, err,
	    sizeof(err)) == -1) {
		log_print_escaped(stderr, "agent: ", err, "\n");
		return EXIT_USAGE;
	}
	return 0;
}

static int
cmd_check(struct cli_opts *o)
{
	struct agent_conf	 c;
	char			 err[1024];
	int			 rv = EXIT_OK, rc = 0;

	if (conf_load(o->conf, &c, print_warning, NULL, err,
	    sizeof(err)) == -1) {
		log_print_escaped(stderr, "agent: ", err, "\n");
		return EXIT_USAGE;
	}
	if ((rc = conf_check_env(&c, geteuid() == 0, print_warning, NULL,
	    err, sizeof(err))) != 0 ||
	    dirs_check(&c, geteuid(), err, sizeof(err)) == -1) {
		log_print_escaped(stderr, "agent: ", err, "\n");
		/* a lookup that failed for now is no fault of the file */
		rv = rc == -2 ? EXIT_FAIL : EXIT_USAGE;
	} else {
		printf("# %s: configuration is valid; effective values:\n",
		    o->conf);
		conf_print(stdout, &c);
	}
	conf_free(&c);
	return rv;
}

static int
cmd_control(const char *cmd, struct cli_opts *o)
{
	struct agent_conf	 c;
	char			 pidfile[1024], err[1024];
	int			 rv;

	if ((rv = load_for_control(o, &c)) != 0) {
		/* reload refuses a file the master would only reject */
		if (o->pidfile == NULL || strcmp(cmd, "reload") == 0)
			return rv;
		/* an explicit pidfile still lets stop and status work */
		if (conf_defaults(&c) == -1)
			return EXIT_FAIL;
	}
	strlcpy(pidfile, o->pidfile != NULL ? o->pidfile : c.pidfile,
	    sizeof(pidfile));
	if (strcmp(cmd, "stop") == 0) {
		rv = cli_stop(pidfile, o->timeout);
		if (rv == EXIT_OK && o->mode != NULL) {
			if (cli_clean_dir(c.pluginsdir) == -1)
				rv = EXIT_FAIL;
			else
				printf("removed the contents of %s\n",
				    c.pluginsdir);
		}
	} else if (strcmp(cmd, "reload") == 0) {
		/* what the master would reject, refuse before signalling it */
		if ((rv = conf_check_env(&c, geteuid() == 0, print_warning,
		    NULL, err, sizeof(err))) != 0 ||
		    dirs_check(&c, geteuid(), err, sizeof(err)) == -1) {
			log_print_escaped(stderr, "agent: ", err, "\n");
			rv = rv == -2 ? EXIT_FAIL : EXIT_USAGE;
		} else
			rv = cli_reload(pidfile);
	}
	else
		rv = cli_status(pidfile);
	conf_free(&c);
	return rv;
}

int
main(int argc, char **argv)
{
	struct cli_opts	 o;
	struct stat	 sb;
	const char	*cmd;
	enum role	 role;
	int		 rv;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "worker") == 0) {
		/* only the master execs us like this, control edge on fd 3 */
		if (argc != 3 || proto_role_parse(argv[2], &role) == -1 ||
		    role == ROLE_MASTER || fstat(CONTROL_FD, &sb) == -1 ||
		    !S_ISSOCK(sb.st_mode)) {
			fprintf(stderr, "agent: worker: the master starts "
			    "workers; not for use by hand\n");
			return EXIT_USAGE;
		}
		/*
		 * _exit: exit handlers would run inside the worker's seccomp
		 * filter, where some (LeakSanitizer's tracer) cannot work.
		 */
		_exit(worker_main(role, argc, argv));
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "-v") == 0) {
		printf("agent %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "test") == 0)
		return testmode_test(argc - 1, argv + 1);
	if (strcmp(cmd, "plugin") == 0) {
		if (argc < 3 || strcmp(argv[2], "run") != 0) {
			fprintf(stderr, "agent: plugin takes \"run\"\n");
			usage(stderr);
			return EXIT_USAGE;
		}
		return testmode_plugin_run(argc - 2, argv + 2);
	}
	if (strcmp(cmd, "start") == 0)
		rv = parse_opts(argc - 1, argv + 1, "f:Fh", &o);
	else if (strcmp(cmd, "stop") == 0)
		rv = parse_opts(argc - 1, argv + 1, "f:p:m:t:h", &o);
	else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "status") == 0)
		rv = parse_opts(argc - 1, argv + 1, "f:p:h", &o);
	else if (strcmp(cmd, "check") == 0)
		rv = parse_opts(argc - 1, argv + 1, "f:h", &o);
	else {
		fprintf(stderr, "agent: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (rv != 0)
		return rv == -1 ? EXIT_OK : rv;

	if (strcmp(cmd, "start") == 0)
		return master_start(o.conf, o.foreground);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(&o);
	return cmd_control(cmd, &o);
}
