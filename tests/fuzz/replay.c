/*
 * The corpus replay of `make check` (tests/fuzz/Makefile, regress), in
 * place of libFuzzer's -runs=0: every input once, each in a heap block
 * of exactly its size, as libFuzzer copies it, so that a read past its
 * end is AddressSanitizer's to report; an empty input first, as
 * libFuzzer runs one before the corpus.
 *
 * Why not libFuzzer itself: its coverage needs the whole library compiled
 * again with clang, which replaying does not, and make check's last round
 * is short of CPU.  Linked with the main build's compiler against the
 * sanitizer archive make check builds anyway (build/libagent-san.a).
 *
 * Usage: TARGET PATH...   each PATH a file, or a directory whose files
 * are read in name order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/* Seeds are a few kB: a file this large was committed by mistake. */
#define REPLAY_MAXLEN	(64U * 1024 * 1024)

static int
replay_read(int fd, const char *path, uint8_t **data, size_t *len)
{
	struct stat	 st;
	size_t		 got = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size > REPLAY_MAXLEN) {
		fprintf(stderr, "replay: %s: %lld bytes, over %u\n", path,
		    (long long)st.st_size, REPLAY_MAXLEN);
		return -1;
	}
	*len = (size_t)st.st_size;
	/* malloc(0) is a block of size 0 to ASan: any read of it reports */
	if ((*data = malloc(*len)) == NULL && *len != 0) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		return -1;
	}
	while (got < *len) {
		if ((n = read(fd, *data + got, *len - got)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "replay: %s: %s\n", path,
			    strerror(errno));
			free(*data);
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "replay: %s: shrank while read\n",
			    path);
			free(*data);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static int
replay_file(int dirfd, const char *name, const char *shown)
{
	uint8_t		*data;
	size_t		 len;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", shown, strerror(errno));
		return -1;
	}
	if (replay_read(fd, shown, &data, &len) == -1) {
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int
replay_keep(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A directory's files in name order; the count replayed, or -1. */
static int
replay_dir(const char *path)
{
	struct dirent	**names;
	char		  shown[4096];
	int		  dirfd, n, i, rc = 0;

	if ((dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((n = scandirat(dirfd, ".", &names, replay_keep, alphasort)) ==
	    -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		(void)close(dirfd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		(void)snprintf(shown, sizeof(shown), "%s/%s", path,
		    names[i]->d_name);
		if (rc == 0 && replay_file(dirfd, names[i]->d_name, shown) ==
		    -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	(void)close(dirfd);
	return rc == 0 ? n : -1;
}

int
main(int argc, char **argv)
{
	struct stat	 st;
	uint8_t		*empty;
	int		 i, n, total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	if ((empty = malloc(0)) == NULL)
		return 1;
	(void)LLVMFuzzerTestOneInput(empty, 0);
	free(empty);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(AT_FDCWD, argv[i], argv[i]) == 0 ? 1 :
			    -1;
		if (n == -1)
			return 1;
		total += n;
	}
	printf("replay: %d inputs, every one passed\n", total);
	return 0;
}
