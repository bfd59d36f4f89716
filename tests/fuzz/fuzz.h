/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets. Each tests/fuzz/fuzz-*.c defines
 * LLVMFuzzerTestOneInput(); built with -Dfuzzing=true it links libFuzzer's
 * main(), otherwise the main() below replays every file named on the command
 * line (a directory means each regular file in it, in name order), so that
 * plain `meson test` re-runs tests/fuzz/corpus/<target>/. An input that
 * breaks an invariant calls fuzz_fail(), which aborts like a crash. */
#ifndef CK_FUZZ_H
#define CK_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_fail(...) do { fprintf(stderr, "fuzz invariant: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

/* A memfd named @name holding the @size bytes at @data (none if @size is 0),
 * its offset at the end; the caller closes it. */
static inline int fuzz_memfd(const char *name, const uint8_t *data, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		fuzz_fail("memfd_create");
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0)
			fuzz_fail("write memfd");
		off += (size_t) w;
	}
	return fd;
}

#ifndef CKPTFS_LIBFUZZER
static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int fuzz_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int replayed = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int n;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += fuzz_replay_file(argv[i]) < 0;
			replayed++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, fuzz_name_cmp);
		if (n < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char p[4096];

			snprintf(p, sizeof(p), "%s/%s", argv[i], ents[k]->d_name);
			if (ents[k]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				bad += fuzz_replay_file(p) < 0;
				replayed++;
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("replayed %d inputs, %d unreadable\n", replayed, bad);
	return bad ? 1 : 0;
}
#endif

#endif
