/*
 * The fetcher's and the sender's allow-lists (DESIGN.md section 2),
 * loaded for real in a kid (sandbox_fixture.h): what each must refuse
 * (exec, fork, ptrace, the deny-list's calls, writing where its job does
 * not write), and the work each must still be able to do under it, done
 * as the worker does it: libcurl over a real TCP connection to the
 * parent with its threaded resolver, getaddrinfo, getifaddrs, the
 * fetcher's atomic cache write (the real fetcher_file.c), the sender's
 * DNS thread, a TCP client, the file output and spool-style file
 * operations in a directory of its own.
 */
#include "sandbox_fixture.h"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <sys/file.h>

#include <curl/curl.h>

#include "strlist.h"
#include "workers/fetcher/fetcher_file.h"
#include "workers/fetcher/fetcher_identity.h"

/* ---- what both must refuse */

#define CLIENT_DEATHS(suite, filter)					\
Test(suite, dies_execve) { expect_death(filter, call_execve, "execve"); } \
Test(suite, dies_fork) { expect_death(filter, call_fork, "fork"); }	\
Test(suite, dies_vfork) { expect_death(filter, call_vfork_raw, "vfork"); } \
Test(suite, dies_clone_process)						\
{ expect_death(filter, call_clone_process, "clone_process"); }		\
Test(suite, dies_clone_newuser)						\
{ expect_death(filter, call_clone_newuser, "clone_newuser"); }		\
Test(suite, dies_posix_spawn)						\
{ expect_death(filter, call_posix_spawn, "posix_spawn"); }		\
Test(suite, dies_ptrace) { expect_death(filter, call_ptrace, "ptrace"); } \
Test(suite, dies_process_vm_readv)					\
{ expect_death(filter, call_process_vm_readv, "process_vm_readv"); }	\
Test(suite, dies_process_vm_writev)					\
{ expect_death(filter, call_process_vm_writev, "process_vm_writev"); }	\
Test(suite, dies_pidfd_getfd)						\
{ expect_death(filter, call_pidfd_getfd, "pidfd_getfd"); }		\
Test(suite, dies_kill) { expect_death(filter, call_kill_parent, "kill"); } \
Test(suite, dies_tgkill_other)						\
{ expect_death(filter, call_tgkill_parent, "tgkill_other"); }		\
Test(suite, dies_mount) { expect_death(filter, call_mount, "mount"); }	\
Test(suite, dies_chroot) { expect_death(filter, call_chroot, "chroot"); } \
Test(suite, dies_unshare) { expect_death(filter, call_unshare, "unshare"); } \
Test(suite, dies_setns) { expect_death(filter, call_setns, "setns"); }	\
Test(suite, dies_setuid) { expect_death(filter, call_setuid, "setuid"); } \
Test(suite, dies_prctl) { expect_death(filter, call_prctl, "prctl"); }	\
Test(suite, dies_setrlimit)						\
{ expect_death(filter, call_setrlimit, "setrlimit"); }			\
Test(suite, dies_fcntl_setown)						\
{ expect_death(filter, call_fcntl_setown, "fcntl_setown"); }		\
Test(suite, dies_listen) { expect_death(filter, call_listen, "listen"); } \
Test(suite, dies_socket_raw)						\
{ expect_death(filter, call_socket_raw, "socket_raw"); }		\
Test(suite, dies_socket_packet)						\
{ expect_death(filter, call_socket_packet, "socket_packet"); }		\
Test(suite, dies_openat2) { expect_death(filter, call_openat2, "openat2"); } \
Test(suite, dies_creat) { expect_death(filter, call_creat, "creat"); }	\
Test(suite, dies_link) { expect_death(filter, call_link, "link"); }	\
Test(suite, dies_symlink) { expect_death(filter, call_symlink, "symlink"); } \
Test(suite, dies_mknod) { expect_death(filter, call_mknod, "mknod"); }	\
Test(suite, dies_chmod) { expect_death(filter, call_chmod, "chmod"); }	\
Test(suite, dies_chown) { expect_death(filter, call_chown, "chown"); }	\
Test(suite, dies_truncate)						\
{ expect_death(filter, call_truncate, "truncate"); }			\
Test(suite, dies_bpf) { expect_death(filter, call_bpf, "bpf"); }	\
Test(suite, dies_keyctl) { expect_death(filter, call_keyctl, "keyctl"); } \
Test(suite, dies_clock_settime)						\
{ expect_death(filter, call_clock_settime, "clock_settime"); }

CLIENT_DEATHS(fetcher, SANDBOX_FILTER_FETCHER)
CLIENT_DEATHS(sender, SANDBOX_FILTER_SENDER)

#if defined(__x86_64__)
static void
call_x32(pid_t other)
{
	/* x32 ABI: x86_64 numbers with bit 30 set */
	(void)syscall(0x40000000 | SYS_getpid);
}

Test(fetcher, dies_foreign_arch_x32)
{
	expect_death(SANDBOX_FILTER_FETCHER, call_x32, "x32");
}

Test(sender, dies_foreign_arch_x32)
{
	expect_death(SANDBOX_FILTER_SENDER, call_x32, "x32");
}
#endif

/* ---- the fetcher writes only new files: no clobbering, no truncating */

#define FETCHER_DEATH(name, fn)						\
Test(fetcher, dies_##name)						\
{									\
	expect_death(SANDBOX_FILTER_FETCHER, fn, #name);		\
}

FETCHER_DEATH(open_write, call_open_write)
FETCHER_DEATH(open_rdwr, call_open_rdwr)
FETCHER_DEATH(open_trunc, call_open_trunc)
FETCHER_DEATH(open_append, call_open_append)
FETCHER_DEATH(openat_write, call_openat_write)
FETCHER_DEATH(openat_rdwr, call_openat_rdwr_existing)
FETCHER_DEATH(open_tmpfile, call_open_tmpfile)
FETCHER_DEATH(ftruncate, call_ftruncate)
FETCHER_DEATH(pwrite, call_pwrite)

/* ---- the sender writes files, but changes nothing else by name */

Test(sender, dies_fchmod)
{
	expect_death(SANDBOX_FILTER_SENDER, call_fchmod, "fchmod");
}

Test(sender, dies_bind)
{
	expect_death(SANDBOX_FILTER_SENDER, call_bind, "bind");
}

/* ---- an HTTP peer in the parent: one request, one canned answer */

struct peer {
	int		 lfd;
	int		 port;
	char		 req[4096];	/* what the kid sent */
};

static void
peer_listen(struct peer *p)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);

	memset(p, 0, sizeof(*p));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(p->lfd, -1, "socket: %s", strerror(errno));
	cr_assert_eq(bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(p->lfd, 8), 0);
	cr_assert_eq(getsockname(p->lfd, (struct sockaddr *)&sin, &slen), 0);
	p->port = ntohs(sin.sin_port);
}

/* Accept one connection, read its head (and body), answer 200 "ok". */
static void
peer_serve(struct peer *p, struct kid *k)
{
	static const char	 ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2"
				    "\r\nConnection: close\r\n\r\nok";
	struct pollfd		 pfd;
	size_t			 len = 0;
	ssize_t			 n;
	int			 c;

	pfd.fd = p->lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, KID_TIMEOUT_MS) != 1) {
		(void)kill(k->pid, SIGKILL);
		kid_finish(k);
		cr_assert_fail("no connection from the kid; it said:\n%s",
		    k->out);
	}
	c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_neq(c, -1, "accept: %s", strerror(errno));
	pfd.fd = c;
	while (strstr(p->req, "\r\n\r\n") == NULL ||
	    (strncmp(p->req, "POST", 4) == 0 && strstr(p->req,
	    "\r\n\r\npoints") == NULL)) {
		cr_assert_eq(poll(&pfd, 1, KID_TIMEOUT_MS), 1,
		    "request incomplete: %s", p->req);
		n = read(c, p->req + len, sizeof(p->req) - 1 - len);
		cr_assert_gt(n, 0, "read: %s", strerror(errno));
		len += (size_t)n;
		p->req[len] = '\0';
	}
	cr_assert_eq(write(c, ans, sizeof(ans) - 1), (ssize_t)sizeof(ans) - 1);
	(void)close(c);
}

static size_t
sink_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	char	*out = arg;
	size_t	 have = strlen(out), n = size * nmemb;

	if (have + n >= 64)
		return 0;
	memcpy(out + have, ptr, n);
	out[have + n] = '\0';
	return n;
}

/*
 * A request through libcurl as the workers make it: a name, so that its
 * threaded resolver starts a thread for getaddrinfo; IPv4, where the
 * peer listens.  0 when the peer's "ok" came back.
 */
static int
curl_request(int rep, int port, const char *post)
{
	CURL		*h;
	CURLcode	 rc;
	char		 url[128], got[64] = "";
	long		 code = 0;

	if ((h = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://localhost:%d/x", port);
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
	(void)curl_easy_setopt(h, CURLOPT_PROXY, "");
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)KID_TIMEOUT_MS);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_cb);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
	if (post != NULL)
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	rc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK || code != 200 || strcmp(got, "ok") != 0) {
		say(rep, "curl: %s, code %ld, body \"%s\"",
		    curl_easy_strerror(rc), code, got);
		return -1;
	}
	return 0;
}

/* What glibc and libcurl try on their own: refused, no death. */
static int
refused_quietly(int netlink_ok)
{
	void	*m;
	int	 fd;

	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EACCES)
		return -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (netlink_ok ? fd == -1 : fd != -1 || errno != EACCES)
		return -1;
	if (fd != -1)
		(void)close(fd);
	/* dlopen of an NSS module after the drop: EPERM, not death */
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED || errno != EPERM)
		return -1;
	/* clone3: ENOSYS, so that glibc uses clone, which is checked */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return -1;
	if (ioctl(0, TCGETS, &fd) != -1 || errno != ENOTTY)
		return -1;
	return 0;
}

/* ---- FETCHER */

struct fetchkid {
	int	 port;
	char	 dir[64];	/* pluginsdir stand-in */
};

static int
kid_fetcher_work(int rep, int go, void *arg)
{
	struct fetchkid		*fk = arg;
	struct addrinfo		 hints, *res = NULL;
	struct ifaddrs		*ifa = NULL;
	struct strlist		 any, before, after;
	pthread_t		 t;
	char			 path[128], err[256], buf[64], *text = NULL;
	size_t			 len;
	int			 fd, sv[2], v = 0;

	/* as fetcher_setup does, before the sandbox */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 3;
	/* the report's IP list, every interface, as the worker sees it
	 * before the filter */
	strlist_init(&any);
	strlist_init(&before);
	strlist_init(&after);
	if (strlist_add(&any, "") == -1 ||
	    fetcher_ident_host_ips(&any, &before, err, sizeof(err)) == -1)
		return 5;
	if (install(rep, SANDBOX_FILTER_FETCHER) == -1)
		return 2;

	/* the registry over HTTP, through libcurl's resolver thread */
	if (curl_request(rep, fk->port, NULL) == -1)
		return 10;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo("localhost", "80", &hints, &res) != 0 || res == NULL)
		return 11;
	freeaddrinfo(res);
	/* the report's IP list: the same, in the same order (interfaces
	 * in kernel order, told without an ioctl) */
	if (getifaddrs(&ifa) == -1)
		return 12;
	freeifaddrs(ifa);
	if (fetcher_ident_host_ips(&any, &after, err, sizeof(err)) == -1) {
		say(rep, "host_ips: %s", err);
		return 13;
	}
	if (!strlist_equal(&before, &after) || before.n == 0) {
		say(rep, "IP lists differ or are empty (%zu, %zu)", before.n,
		    after.n);
		return 14;
	}
	strlist_free(&any);
	strlist_free(&before);
	strlist_free(&after);

	/* read-only: a file:// registry, the resolver's and CA files */
	if ((fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, buf, sizeof(buf)) <= 0 || close(fd) == -1)
		return 20;
	/* the cache, replaced atomically over an old one */
	snprintf(path, sizeof(path), "%s/.registry.json", fk->dir);
	if (fetcher_file_write_atomic(path, "{\"new\":1}", 9, 0600, err,
	    sizeof(err)) == -1) {
		say(rep, "write_atomic: %s", err);
		return 21;
	}
	if (fetcher_file_read_all(path, 1024, &text, &len) == -1 ||
	    strcmp(text, "{\"new\":1}") != 0)
		return 22;
	free(text);
	/* a new file, exclusively: the only way to create one */
	snprintf(path, sizeof(path), "%s/.ip", fk->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1 || write(fd, "1", 1) != 1 || fsync(fd) == -1 ||
	    close(fd) == -1 || unlink(path) == -1)
		return 23;
	/* and not over an existing one: EEXIST from the kernel */
	snprintf(path, sizeof(path), "%s/.registry.json", fk->dir);
	if (open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) != -1 ||
	    errno != EEXIST)
		return 24;

	if ((errno = pthread_create(&t, NULL, thread_main, &v)) != 0 ||
	    (errno = pthread_join(t, NULL)) != 0 || v != 42)
		return 30;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    close(sv[0]) == -1 || close(sv[1]) == -1)
		return 31;
	if (refused_quietly(1) == -1)
		return 32;
	curl_global_cleanup();
	say(rep, "done");
	return 0;
}

Test(fetcher, http_resolver_cache_threads, .timeout = 60)
{
	struct fetchkid	 fk;
	struct peer	 p;
	struct kid	 k;
	char		 path[128], *text = NULL;
	size_t		 len;

	peer_listen(&p);
	memset(&fk, 0, sizeof(fk));
	fk.port = p.port;
	(void)strlcpy(fk.dir, "/tmp/sandbox-fetch.XXXXXX", sizeof(fk.dir));
	cr_assert_not_null(mkdtemp(fk.dir));
	snprintf(path, sizeof(path), "%s/.registry.json", fk.dir);
	cr_assert_eq(fetcher_file_write_atomic(path, "{\"old\":1}", 9, 0600,
	    p.req, sizeof(p.req)), 0);

	kid_start(&k, kid_fetcher_work, &fk);
	peer_serve(&p, &k);
	kid_finish(&k);
	(void)close(p.lfd);
	cr_assert_not_null(strstr(p.req, "GET /x HTTP/1.1\r\n"), "%s", p.req);
	cr_assert_eq(fetcher_file_read_all(path, 1024, &text, &len), 0);
	cr_assert_str_eq(text, "{\"new\":1}");
	free(text);
	(void)unlink(path);
	cr_assert_eq(rmdir(fk.dir), 0, "left in %s: %s", fk.dir,
	    strerror(errno));
	assert_exit0(&k);
}

/* ---- SENDER */

struct sendkid {
	int			 port;		/* HTTP peer */
	struct sockaddr_in	 tcp;		/* a listener never accepting */
	char			 dir[64];	/* spool stand-in */
	char			 out[96];	/* [output] path */
};

struct lookup {
	int	 fd;		/* write end: the answer */
};

/* sender_resolve.c's way: a detached thread, the answer on a pipe */
static void *
lookup_thread(void *arg)
{
	struct lookup	*l = arg;
	struct addrinfo	 hints, *res = NULL;
	char		 c;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	c = getaddrinfo("localhost", "4150", &hints, &res) == 0 ? 'y' : 'n';
	if (res != NULL)
		freeaddrinfo(res);
	if (write(l->fd, &c, 1) != 1)
		return NULL;
	return NULL;
}

/* A spool's life in its own directory, through a directory handle. */
static int
spool_ops(int rep, const char *dir)
{
	struct stat	 st;
	struct dirent	*de;
	struct flock	 lk;
	DIR		*d;
	char		 buf[16];
	int		 dfd, fd, n = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 40;
	if (flock(dfd, LOCK_EX | LOCK_NB) == -1)
		return 41;
	if ((fd = openat(dfd, "seg.tmp", O_WRONLY | O_CREAT | O_APPEND |
	    O_EXCL | O_CLOEXEC, 0600)) == -1)
		return 42;
	memset(&lk, 0, sizeof(lk));
	lk.l_type = F_WRLCK;
	lk.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &lk) == -1)
		return 43;
	if (write(fd, "rec1rec2", 8) != 8 || pwrite(fd, "rec3", 4, 8) != 4 ||
	    fdatasync(fd) == -1 || fsync(fd) == -1 ||
	    fstat(fd, &st) == -1 || st.st_size != 12 ||
	    lseek(fd, 0, SEEK_END) != 12 || ftruncate(fd, 8) == -1 ||
	    posix_fallocate(fd, 0, 4096) != 0 || ftruncate(fd, 8) == -1 ||
	    close(fd) == -1)
		return 44;
	if (renameat(dfd, "seg.tmp", dfd, "seg.1") == -1 ||
	    mkdirat(dfd, "sub", 0700) == -1)
		return 45;
	if ((fd = openat(dfd, "seg.1", O_RDONLY | O_CLOEXEC)) == -1 ||
	    pread(fd, buf, 8, 0) != 8 || memcmp(buf, "rec1rec2", 8) != 0 ||
	    close(fd) == -1)
		return 46;
	/* replay lists the directory */
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL)
		return 47;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, "seg.1") == 0 ||
		    strcmp(de->d_name, "sub") == 0;
	(void)closedir(d);
	if (n != 2)
		return 48;
	if (unlinkat(dfd, "seg.1", 0) == -1 ||
	    unlinkat(dfd, "sub", AT_REMOVEDIR) == -1 || close(dfd) == -1)
		return 49;
	say(rep, "spool ok");
	return 0;
}

static int
kid_sender_work(int rep, int go, void *arg)
{
	struct sendkid	*sk = arg;
	struct lookup	 l;
	pthread_attr_t	 attr;
	pthread_t	 t;
	char		 c;
	int		 p[2], fd, s, rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 3;
	if (pipe2(p, O_CLOEXEC) == -1)
		return 4;
	if (install(rep, SANDBOX_FILTER_SENDER) == -1)
		return 2;

	/* the DNS thread of the nsq TCP output */
	l.fd = p[1];
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    (errno = pthread_create(&t, &attr, lookup_thread, &l)) != 0)
		return 10;
	(void)pthread_attr_destroy(&attr);
	if (read(p[0], &c, 1) != 1 || c != 'y')
		return 11;
	/* nsqd TCP: connect and write */
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sk->tcp, sizeof(sk->tcp)) == -1 ||
	    write(s, "  V2", 4) != 4 || close(s) == -1)
		return 12;
	/* nsqd HTTP and InfluxDB: a POST through libcurl */
	if (curl_request(rep, sk->port, "points") == -1)
		return 13;

	/* the file output */
	if ((fd = open(sk->out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1 || write(fd, "point\n", 6) != 6 || close(fd) == -1)
		return 20;
	if ((rc = spool_ops(rep, sk->dir)) != 0)
		return rc;
	if (refused_quietly(0) == -1)
		return 30;
	curl_global_cleanup();
	say(rep, "done");
	return 0;
}

Test(sender, threads_outputs_spool, .timeout = 60)
{
	struct sendkid	 sk;
	struct peer	 p;
	struct kid	 k;
	socklen_t	 slen = sizeof(sk.tcp);
	char		*text = NULL;
	size_t		 len;
	int		 l;

	peer_listen(&p);
	memset(&sk, 0, sizeof(sk));
	sk.port = p.port;
	sk.tcp.sin_family = AF_INET;
	sk.tcp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(l, -1);
	cr_assert_eq(bind(l, (struct sockaddr *)&sk.tcp, sizeof(sk.tcp)), 0);
	cr_assert_eq(listen(l, 4), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&sk.tcp, &slen), 0);
	(void)strlcpy(sk.dir, "/tmp/sandbox-spool.XXXXXX", sizeof(sk.dir));
	cr_assert_not_null(mkdtemp(sk.dir));
	snprintf(sk.out, sizeof(sk.out), "%s.out", sk.dir);

	kid_start(&k, kid_sender_work, &sk);
	peer_serve(&p, &k);
	kid_finish(&k);
	(void)close(p.lfd);
	(void)close(l);
	cr_assert_not_null(strstr(p.req, "POST /x HTTP/1.1\r\n"), "%s", p.req);
	cr_assert_eq(fetcher_file_read_all(sk.out, 1024, &text, &len), 0);
	cr_assert_str_eq(text, "point\n");
	free(text);
	(void)unlink(sk.out);
	/* the spool cleaned up after itself */
	cr_assert_eq(rmdir(sk.dir), 0, "left in %s: %s", sk.dir,
	    strerror(errno));
	assert_exit0(&k);
	cr_assert_not_null(strstr(k.out, "spool ok\n"), "%s", k.out);
}

static int
kid_client_pause(int rep, int go, void *arg)
{
	if (install(rep, *(const enum sandbox_filter *)arg) == -1)
		return 2;
	say(rep, "ready");
	wait_go(go);
	return 0;
}

/* What /proc shows, as test_sandbox.py checks in the real workers. */
Test(sender, status_seen_by_parent)
{
	const enum sandbox_filter	 f[] = { SANDBOX_FILTER_FETCHER,
	    SANDBOX_FILTER_SENDER };
	struct kid			 k;
	size_t				 i;

	for (i = 0; i < 2; i++) {
		kid_start(&k, kid_client_pause, (void *)&f[i]);
		kid_expect(&k, "ready");
		assert_status(k.pid, "Seccomp", "2");
		assert_status(k.pid, "NoNewPrivs", "1");
		kid_finish(&k);
		assert_exit0(&k);
	}
}
