/* SPDX-License-Identifier: Apache-2.0 */
/* The archive index: the input is the archive file (any format libarchive
 * detects), handed to arc_open() as /proc/self/fd/N of a memfd. Every member
 * is looked up again, loaded and read through; paths must come out
 * normalised (relative, no "." or ".." or empty components). Members spill
 * into a private cache dir that must be empty again after arc_free(). */
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arc.h"
#include "fuzz.h"

static char fuzz_cache[64];

static void fuzz_cleanup(void)
{
	rmdir(fuzz_cache);
}

static void fuzz_check_path(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/')
		fuzz_fail("member path '%s' empty or absolute", p);
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			fuzz_fail("member path '%s' not normalised", p);
		c += n;
		if (*c == '/')
			c++;
		if (*c == '\0' && c[-1] == '/')
			fuzz_fail("member path '%s' ends in /", p);
	}
}

static void fuzz_check_cache_empty(void)
{
	DIR *d = opendir(fuzz_cache);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fuzz_fail("cache dir holds '%s' after arc_free()", de->d_name);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	struct arc_opts opts = { .cache_dir = fuzz_cache, .mem_limit = 4096 };
	struct arc *a = NULL;
	char path[64], *err = NULL;
	int fd;

	if (!fuzz_cache[0]) {
		snprintf(fuzz_cache, sizeof(fuzz_cache), "/tmp/ckptfs-fuzz-arc.XXXXXX");
		if (!mkdtemp(fuzz_cache))
			fuzz_fail("mkdtemp");
		atexit(fuzz_cleanup);
	}
	fd = fuzz_memfd("fuzz-arc", data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (arc_open(path, &opts, &a, &err) < 0) {
		free(err);
		close(fd);
		return 0;
	}
	(void) arc_kind(a);
	(void) arc_is_zero_copy(a);
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		struct ck_blob blob;
		void *owned = NULL;
		uint64_t total = 0;
		ssize_t got;

		fuzz_check_path(e->path);
		if (i > 0 && strcmp(arc_entry_at(a, i - 1)->path, e->path) > 0)
			fuzz_fail("entries not sorted at %zu", i);
		if (!arc_find(a, e->path))
			fuzz_fail("arc_find('%s') misses a listed member", e->path);
		if (e->type == ARC_SYMLINK && !e->link)
			fuzz_fail("symlink '%s' without a target", e->path);
		if (e->type != ARC_REG) {
			if (e->type == ARC_DIR && arc_pread(a, e, buf, sizeof(buf), 0) != -EISDIR)
				fuzz_fail("pread of directory '%s' is not -EISDIR", e->path);
			continue;
		}
		/* Read at most 1 MiB of each member: a header may claim terabytes. */
		while (total < (1u << 20)) {
			got = arc_pread(a, e, buf, sizeof(buf), total);
			if (got < 0)
				break;
			if (got == 0)
				break;
			if ((size_t) got > sizeof(buf))
				fuzz_fail("arc_pread returned more than asked");
			total += (uint64_t) got;
		}
		if (total > e->size)
			fuzz_fail("read %llu bytes of '%s' sized %llu", (unsigned long long) total, e->path,
				  (unsigned long long) e->size);
		(void) arc_pread(a, e, buf, sizeof(buf), e->size > 10 ? e->size - 10 : 0);
		(void) arc_pread(a, e, buf, sizeof(buf), UINT64_MAX - 5);
		if (arc_load(a, e, 1u << 20, &blob, &owned) == 0) {
			if (blob.len != e->size)
				fuzz_fail("arc_load('%s') gave %zu bytes, size %llu", e->path, blob.len,
					  (unsigned long long) e->size);
			free(owned);
		}
	}
	arc_free(a);
	close(fd);
	fuzz_check_cache_empty();
	return 0;
}
