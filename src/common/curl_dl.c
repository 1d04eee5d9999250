/*
 * libcurl loaded at run time; see curl_dl.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "curl_dl.h"

/* CURLOPT_PROTOCOLS_STR, the newest option the agent sets, is 7.85.0's. */
#define CURL_DL_MIN_VERSION	0x075500

struct curl_dl_sym {
	const char	*name;
	size_t		 off;
};

#define SYM(f)	{ "curl_" #f, offsetof(struct curl_dl, f) }
static const struct curl_dl_sym curl_dl_syms[] = {
	SYM(global_init), SYM(global_cleanup), SYM(version_info),
	SYM(easy_init), SYM(easy_cleanup), SYM(easy_setopt),
	SYM(easy_getinfo), SYM(easy_strerror), SYM(slist_append),
	SYM(slist_free_all), SYM(multi_init), SYM(multi_cleanup),
	SYM(multi_setopt), SYM(multi_add_handle), SYM(multi_remove_handle),
	SYM(multi_assign), SYM(multi_socket_action), SYM(multi_info_read),
	SYM(multi_strerror),
};
#undef SYM

int
curl_dl_open(struct curl_dl *c, char *err, size_t errlen)
{
	const curl_version_info_data	*vi;
	const char			*e;
	void				*p;
	size_t				 i;
	CURLcode			 rc;

	memset(c, 0, sizeof(*c));
	/*
	 * RTLD_NOW: every symbol of libcurl and of what it needs is bound
	 * here, before the sandbox, not on a first call under it.  Never
	 * dlclose()d: OpenSSL registers exit handlers and libcurl may leave
	 * resolver threads; unloading either under them would crash the
	 * exit.  The process keeps it until it ends.
	 */
	if ((c->handle = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) ==
	    NULL) {
		e = dlerror();
		snprintf(err, errlen, "cannot load libcurl: %s (install "
		    "libcurl4)", e != NULL ? e : CURL_DL_SONAME);
		return -1;
	}
	for (i = 0; i < sizeof(curl_dl_syms) / sizeof(curl_dl_syms[0]); i++) {
		(void)dlerror();
		if ((p = dlsym(c->handle, curl_dl_syms[i].name)) == NULL) {
			e = dlerror();
			snprintf(err, errlen, "libcurl: no %s: %s",
			    curl_dl_syms[i].name, e != NULL ? e : "NULL");
			goto fail;
		}
		/* a function pointer stored through its slot's bytes */
		memcpy((char *)c + curl_dl_syms[i].off, &p, sizeof(p));
	}
	vi = c->version_info(CURLVERSION_NOW);
	if (vi == NULL || vi->version_num < CURL_DL_MIN_VERSION) {
		snprintf(err, errlen, "libcurl %s is too old (7.85.0 or later "
		    "needed)", vi != NULL ? vi->version : "?");
		goto fail;
	}
	/* single-threaded and before the sandbox, as libcurl asks */
	if ((rc = c->global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s",
		    c->easy_strerror(rc));
		goto fail;
	}
	c->global = 1;
	return 0;
fail:
	/* the library stays loaded (see above); the table is unusable */
	memset(c, 0, sizeof(*c));
	return -1;
}

void
curl_dl_close(struct curl_dl *c)
{
	if (c->global)
		c->global_cleanup();
	c->global = 0;
	c->handle = NULL;
}
