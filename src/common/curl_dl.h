/*
 * libcurl, loaded at run time by the two processes that are HTTP clients
 * (the fetcher: the registry; the sender: the nsqd HTTP and InfluxDB
 * outputs), only when their config makes them one, and by nobody else.
 * A reload that makes one of them an HTTP client starts a new process
 * of that role (WORKER_RECONF_RESPAWN, worker.h); a sender without a
 * spool loads it whatever its output, since its stop would lose what it
 * holds.
 *
 * Why not link it: the agent is one binary for seven processes, and a
 * library the binary links is mapped, relocated and initialized in every
 * one of them.  libcurl brings OpenSSL, GnuTLS, Kerberos, LDAP, SSH and
 * more (some 35 libraries); their relocated data alone is about 0.9 MB
 * of private memory per process (bench/README.md, "bench/footprint").  Loaded
 * here, it costs only the two processes that use it.
 *
 * The table holds the few entry points the agent calls, typed as
 * <curl/curl.h> declares them.  Its owner (the role's state) opens it in
 * the setup hook, before the sandbox: the loader opens and maps files
 * and libcurl's global init reads TLS configuration, which the
 * allow-list filters do not permit later.  curl_dl_open() also runs
 * curl_global_init() once; curl_dl_close() runs curl_global_cleanup().
 * The library itself stays mapped until the process exits (see
 * curl_dl.c for why it is never unloaded).
 */
#ifndef AGENT_CURL_DL_H
#define AGENT_CURL_DL_H

#include <stddef.h>

#include <curl/curl.h>

/* The soname of the ABI <curl/curl.h> describes (libcurl4, since 7.16). */
#define CURL_DL_SONAME	"libcurl.so.4"

struct curl_dl {
	void				*handle;	/* dlopen's */
	int				 global;	/* global_init ran */
	__typeof__(curl_global_init)	*global_init;
	__typeof__(curl_global_cleanup)	*global_cleanup;
	__typeof__(curl_version_info)	*version_info;
	__typeof__(curl_easy_init)	*easy_init;
	__typeof__(curl_easy_cleanup)	*easy_cleanup;
	__typeof__(curl_easy_setopt)	*easy_setopt;
	__typeof__(curl_easy_getinfo)	*easy_getinfo;
	__typeof__(curl_easy_strerror)	*easy_strerror;
	__typeof__(curl_slist_append)	*slist_append;
	__typeof__(curl_slist_free_all)	*slist_free_all;
	__typeof__(curl_multi_init)	*multi_init;
	__typeof__(curl_multi_cleanup)	*multi_cleanup;
	__typeof__(curl_multi_setopt)	*multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_assign)	*multi_assign;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_strerror)	*multi_strerror;
};

/*
 * Load libcurl (CURL_DL_SONAME), resolve every entry point and run
 * curl_global_init(CURL_GLOBAL_DEFAULT).  0, or -1 with err naming what
 * failed (the library missing, a symbol it lacks, a version older than
 * the headers' oldest option we use, the global init); curl_dl_close()
 * is safe after either.  Single-threaded, before the sandbox.
 */
int	 curl_dl_open(struct curl_dl *, char *err, size_t errlen);
/* curl_global_cleanup() when curl_dl_open() ran it; the table is unusable
 * afterwards.  A zeroed struct is fine. */
void	 curl_dl_close(struct curl_dl *);

#endif
