/*
 * The configuration model.  The master loads and validates the file
 * (src/master/conf_load.c) and sends each worker the fields its role needs
 * (conf_encode with the role); workers never read the file.
 *
 * One table in conf.c describes every key: section, name, type, default,
 * which roles receive it, and a one-line description.  Loading, encoding,
 * decoding and `agent check` printing all walk that table.
 */
#ifndef AGENT_CONF_H
#define AGENT_CONF_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "proto.h"
#include "strlist.h"

struct pbuf;
struct preader;

#define CONF_STR_MAX	1024
#define CONF_FILE_MAX	(256 * 1024)	/* bytes of a file read for workers */
#define CONF_APIUSERS_MAX 32		/* [agent] apiusers entries */

/*
 * A file the config names and the master reads for the workers, which
 * may not be able to (CONF_T_FILE): the path is the key's value, the
 * text is filled by conf_check_env() and travels with the config.
 */
struct conf_file {
	char		 path[CONF_STR_MAX];	/* "" = none */
	char		*text;			/* NULL = not read */
};

struct agent_conf {
	/* [agent] */
	char		 listen[CONF_STR_MAX];		/* "host:port" or "" */
	struct strlist	 ifaceprefix;
	char		 registryaddr[CONF_STR_MAX];
	char		 pluginsdir[CONF_STR_MAX];
	char		 pluginsuser[CONF_STR_MAX];
	char		 git[CONF_STR_MAX];
	char		 pidfile[CONF_STR_MAX];
	char		 user[CONF_STR_MAX];
	char		 chroot[CONF_STR_MAX];
	char		 socket[CONF_STR_MAX];		/* "" = no unix socket */
	int		 allowrootplugins;
	int		 isolateplugins;
	struct strlist	 namespaces;	/* until the registry tells us */
	int64_t		 registryinterval;	/* seconds between refreshes */
	int64_t		 registrytimeout;	/* seconds per request */
	char		 gitbranch[CONF_STR_MAX];
	int64_t		 gittimeout;		/* seconds per git call */
	int64_t		 gitmaxsize;		/* bytes of a checkout */
	int64_t		 workertimeout;		/* seconds; 0 = off */
	struct conf_file gitsigners;	/* allowed signers, "" = off */
	int		 gitsignedtags;	/* a signed tag, not a signed commit */
	int64_t		 pluginoutputmax;	/* stdout bytes kept per run */
	int64_t		 pluginflushms;	/* runs' points held for others */
	int64_t		 pluginmaxprocs;	/* RLIMIT_NPROC of a run, 0 off */
	int64_t		 pluginmaxmemory;	/* RLIMIT_DATA of a run, 0 off */
	int64_t		 pluginnice;	/* a run this much nicer, 0 off */
	char		 token[CONF_STR_MAX];	/* API bearer token, "" none */
	struct strlist	 hostnames;	/* Host names of changing requests */
	struct strlist	 apiusers;	/* loopback users who may change */
	char		 ntpserver[CONF_STR_MAX];	/* TIME, "" = off */
	char		 coredumpdir[CONF_STR_MAX];	/* COREDUMP */
	int		 collect;	/* system collectors, PORT, PROC */
	int		 selfmetrics;	/* agent.* points to the output */
	int64_t		 selfmetricsinterval;	/* seconds between them */

	/* [output] */
	char		 output_name[CONF_STR_MAX];	/* nsq, influxdb, file */
	struct strlist	 servers;
	int64_t		 buffersize;	/* points */
	int64_t		 bufferbytes;
	char		 topic[CONF_STR_MAX];		/* printf, %s = ns */
	char		 format[CONF_STR_MAX];		/* json, line */
	char		 path[CONF_STR_MAX];		/* file output */
	int64_t		 batchpoints;	/* points per message at most */
	int64_t		 messagebytes;	/* bytes per message at most */
	int64_t		 requestbytes;	/* bytes per request of several */
	int64_t		 requestmessages;	/* messages per request */
	int64_t		 flushms;	/* oldest point waits this long */
	int64_t		 timeout;	/* s a server has to answer */
	char		 spool[CONF_STR_MAX];		/* "" = memory only */
	char		 serveruser[CONF_STR_MAX];	/* "" = see conf.c */
	int64_t		 spoolsync;	/* ms between syncs, 0: each answer */
	int64_t		 spoolbytes;	/* on disk at most */

	/* [log] */
	char		 logdir[CONF_STR_MAX];
	enum log_level	 loglevel;
	int64_t		 logrotatenum;
	int64_t		 logrotatesize;

	/*
	 * Not from the file: apiusers' uids, looked up by the master
	 * (conf_check_env), which sends them to the front in place of the
	 * names: the front, in its chroot, cannot look names up.
	 */
	uid_t		 apiuids[CONF_APIUSERS_MAX];
	size_t		 napiuids;
	/*
	 * Not from the file: serveruser's uid, looked up by the master; -1:
	 * none.  The sender gets it in serveruser, as a number.
	 */
	uid_t		 serveruid;
	/*
	 * Not from the file: pluginsuser's uid, looked up by the master; -1:
	 * not known.  The front and the sender get it in pluginsuser, as a
	 * number: in their sandbox they cannot look a name up, and a reload
	 * may name another (the plugins of a scheduler started since run as
	 * it, those of the one before as the old one: they keep both).
	 */
	uid_t		 pluginsuid;
	/*
	 * Not from the file: the file's own path, links resolved
	 * (conf_load), "" when unknown; dirs_check() keeps the workers'
	 * directories off its directory.
	 */
	char		 source[CONF_STR_MAX];
};

enum conf_type {
	CONF_T_STR,
	CONF_T_LIST,
	CONF_T_INT,
	CONF_T_BOOL,
	CONF_T_LEVEL,
	CONF_T_FILE		/* struct conf_file */
};

struct conf_field {
	const char	*section;
	const char	*key;
	enum conf_type	 type;
	size_t		 offset;	/* into struct agent_conf */
	const char	*defval;	/* as it would be written in the file */
	int64_t		 min;		/* CONF_T_INT bounds */
	int64_t		 max;
	uint32_t	 roles;		/* bit (1 << role) per receiving role */
	const char	*doc;
};

extern const struct conf_field	conf_fields[];
extern const size_t		conf_field_count;

/* Defaults for every field (allocates the default lists). */
int	 conf_defaults(struct agent_conf *);
void	 conf_free(struct agent_conf *);
/* Deep copy; 0 or -1 (ENOMEM). */
int	 conf_copy(struct agent_conf *dst, const struct agent_conf *src);

/* Encode the fields `role` receives (ROLE_MASTER = all). */
void	 conf_encode(struct pbuf *, const struct agent_conf *, enum role);
/*
 * Decode into `c` (set to defaults first by the caller).  Returns 0, or -1
 * with a reason in err ("field 7: ..."), `c` then partly filled.
 */
int	 conf_decode(struct preader *, struct agent_conf *, char *err,
	    size_t errlen);

/* Render the value of field `f` as it would be written in the file. */
int	 conf_format_value(const struct conf_field *f,
	    const struct agent_conf *, char *buf, size_t len);
/* Write the effective config, section by section, in file syntax. */
void	 conf_print(FILE *, const struct agent_conf *);

#endif
