/*
 * What the registry says this host must collect, once the fetcher has
 * checked it (lodastack-protocols.md section 2): the namespaces, the
 * plugins, the PORT and PROC checks and the interval of every system
 * collector type.  MSG_ITEMS carries the whole set from the fetcher to
 * the scheduler and the collector; they compare it with what they run.
 */
#ifndef AGENT_ITEMS_H
#define AGENT_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define ITEM_NS_MAX		128	/* bytes of a namespace */
#define ITEM_NAME_MAX		256	/* bytes of an item name */
/*
 * Bytes of a plugin's project: gitpull clones it into
 * .clone-<project>-XXXXXX (mkdtemp), one file name of NAME_MAX bytes.
 */
#define ITEM_PROJECT_MAX	(255 - 14)
#define ITEM_MIN_INTERVAL	10	/* seconds; shorter is raised */

/* System collector types whose interval the registry sets. */
enum sys_type {
	SYS_CPU = 0,
	SYS_MEM,
	SYS_DISK,
	SYS_NET,
	SYS_FS,
	SYS_KERNEL,
	SYS_TIME,
	SYS_COREDUMP,
	SYS_DEV,
	SYS_PORT,
	SYS_PROC,
	SYS_TYPE_MAX
};

const char	*items_sys_type_name(enum sys_type);	/* "CPU" ... */
int		 items_sys_type_parse(const char *, enum sys_type *);
int64_t		 items_sys_type_default_interval(enum sys_type);

struct plugin_item {
	char		*ns;
	char		*name;		/* PLUGIN.mysql: prefix of its metrics */
	char		*git;		/* as the registry gave it */
	char		*repo;		/* group/project */
	char		*project;	/* project: the directory name */
	int64_t		 interval;	/* seconds as given; 0 = on demand */
	struct strlist	 params;	/* argv after ./plugin */
};

struct port_item {
	char		*ns;
	char		*name;		/* PORT.sshd.22 */
	int		 port;
	int		 timeout;	/* connect timeout, seconds */
};

struct proc_item {
	char		*ns;
	char		*name;		/* PROC.nginx */
	char		*bin_path;	/* compared with /proc/<pid>/exe */
};

struct items {
	struct strlist		 namespaces;
	struct plugin_item	*plugins;
	size_t			 nplugins;
	struct port_item	*ports;
	size_t			 nports;
	struct proc_item	*procs;
	size_t			 nprocs;
	int64_t			 intervals[SYS_TYPE_MAX]; /* 0 = not given */
};

void	 items_init(struct items *);
void	 items_free(struct items *);	/* and items_init() again */
/* What one item holds (not the item itself). */
void	 items_plugin_free(struct plugin_item *);
void	 items_port_free(struct port_item *);
void	 items_proc_free(struct proc_item *);

/* Append a copy; -1 on allocation failure. */
int	 items_add_plugin(struct items *, const struct plugin_item *);
int	 items_add_port(struct items *, const struct port_item *);
int	 items_add_proc(struct items *, const struct proc_item *);

/* The interval a collector of type t runs at: given or default, >= 10. */
int64_t	 items_interval(const struct items *, enum sys_type);

void	 items_encode(struct pbuf *, const struct items *);
/* Into `it` (items_init'ed by the caller); 0 or -1 with err. */
int	 items_decode(struct preader *, struct items *, char *err,
	    size_t errlen);

/*
 * A name that becomes one path component or one command argument:
 * non-empty, at most 255 bytes, no '/', no NUL, not "." or "..", no
 * leading '-' and nothing but [-_.a-zA-Z0-9].
 */
int	 items_path_component_valid(const char *);

/*
 * The repository from a registry `git` value, as the Go agent derived it
 * (lodastack-protocols.md section 3.1): "git@host:group/project.git" ->
 * repo "group/project", project "project".  Both parts must pass
 * items_path_component_valid() and not start with '.'.  0, or -1 with a
 * reason in err.
 */
int	 items_repo_from_git(const char *git, char *repo, size_t repolen,
	    char *project, size_t projectlen, char *err, size_t errlen);

/*
 * 1 when a plugin's namespace and project fit the file names gitpull
 * makes of them: the clone's (ITEM_PROJECT_MAX) and the disable
 * marker's, <ns>|<project>, at most NAME_MAX bytes.  0 with why.
 */
int	 items_plugin_names_fit(const char *ns, const char *project,
	    char *why, size_t whylen);

#endif
