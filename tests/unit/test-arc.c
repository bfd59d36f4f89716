/* SPDX-License-Identifier: Apache-2.0 */
/* The archive module on the fixtures (every member against its golden
 * sha256), on extracted directories, and on hostile inputs built here: bad
 * names, duplicates, links, truncation, tar bombs. TAP output. Everything is
 * written below one mkdtemp() directory that is removed at the end. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "imgbuild.h"
#include "sha256.h"
#include "tap.h"
#include "testutil.h"

static const char *data_dir;
static char tmp_root[256];

/* The first @len bytes of @src (or all if @len is larger) into @dst. */
static void copy_prefix(const char *src, const char *dst, size_t len)
{
	FILE *f = fopen(src, "rb");
	char *buf = malloc(len ? len : 1);
	size_t n;

	if (!f || !buf)
		abort();
	n = fread(buf, 1, len, f);
	fclose(f);
	file_put(dst, buf, n);
	free(buf);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_size;
}

static struct arc *open_ok(const char *path, const struct arc_opts *opts)
{
	struct arc *a = NULL;
	char *err = NULL;
	int rc = arc_open(path, opts, &a, &err);

	if (rc < 0)
		printf("# arc_open: %d %s\n", rc, err ? err : "(no message)");
	free(err);
	return a;
}

/* Load @e whole, or NULL; the result is always a fresh copy. */
static uint8_t *load(const struct arc *a, const struct arc_entry *e, size_t *ret_len)
{
	struct ck_blob b;
	void *owned = NULL;
	uint8_t *p;

	if (arc_load(a, e, SIZE_MAX, &b, &owned) < 0)
		return NULL;
	p = malloc(b.len ? b.len : 1);
	memcpy(p, b.data, b.len);
	free(owned);
	*ret_len = b.len;
	return p;
}

/* Sorted, unique, normalised paths; every parent is a directory. */
static bool tree_ok(const struct arc *a, char *why, size_t why_len)
{
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i), *p;
		const char *s = e->path;
		char parent[4096], *slash;

		if (!*s || *s == '/' || strstr(s, "//") || !strcmp(s, ".") || !strncmp(s, "./", 2) ||
		    strstr(s, "/./") || strstr(s, "/../") || !strncmp(s, "../", 3) ||
		    !strcmp(s, "..") || s[strlen(s) - 1] == '/') {
			snprintf(why, why_len, "bad path '%s'", s);
			return false;
		}
		if (i && strcmp(arc_entry_at(a, i - 1)->path, s) >= 0) {
			snprintf(why, why_len, "not sorted at '%s'", s);
			return false;
		}
		snprintf(parent, sizeof(parent), "%s", s);
		slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		p = arc_find(a, parent);
		if (!p || p->type != ARC_DIR) {
			snprintf(why, why_len, "parent of '%s' missing", s);
			return false;
		}
	}
	return true;
}

/* Every member in golden/@name/members.sha256 matches, and there are no
 * other regular members. */
static bool golden_ok(const struct arc *a, const char *name, char *why, size_t why_len)
{
	char *gpath = xasprintf("%s/golden/%s/members.sha256", data_dir, name);
	FILE *f = fopen(gpath, "r");
	char line[4096], hex[65], path[4000];
	size_t lines = 0, regs = 0;
	bool good = true;

	free(gpath);
	if (!f) {
		snprintf(why, why_len, "no golden file");
		return false;
	}
	while (good && fgets(line, sizeof(line), f)) {
		const struct arc_entry *e;
		uint8_t *data;
		size_t len;

		if (sscanf(line, "%64s %3999s", hex, path) != 2)
			continue;
		lines++;
		e = arc_find(a, !strncmp(path, "./", 2) ? path + 2 : path);
		data = e ? load(a, e, &len) : NULL;
		if (!data) {
			snprintf(why, why_len, "cannot load '%.200s'", path);
			good = false;
			break;
		}
		char got[65];

		ck_sha256_hex(data, len, got);
		if (strcmp(got, hex) || len != e->size) {
			snprintf(why, why_len, "sha256 of '%.200s' differs", path);
			good = false;
		}
		free(data);
	}
	fclose(f);
	for (size_t i = 0; i < arc_count(a); i++)
		regs += arc_entry_at(a, i)->type == ARC_REG;
	if (good && regs != lines) {
		snprintf(why, why_len, "%zu regular members, %zu in the golden list", regs, lines);
		good = false;
	}
	return good;
}

/* arc_pread() at random offsets and lengths, including past the end, agrees
 * with the whole member. */
static bool reads_ok(const struct arc *a, int rounds, char *why, size_t why_len)
{
	uint8_t *buf = malloc(1 << 20);
	bool good = true;

	for (size_t i = 0; good && i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		uint8_t *whole;
		size_t len;

		if (e->type != ARC_REG)
			continue;
		whole = load(a, e, &len);
		for (int r = 0; whole && good && r < rounds; r++) {
			uint64_t off = rng() % (e->size + 16);
			size_t want = (size_t) (rng() % ((r & 1) ? (1 << 20) : 9000));
			size_t exp = off >= e->size ? 0 : CK_MIN(want, e->size - off);
			ssize_t n = arc_pread(a, e, buf, want, off);

			if (n != (ssize_t) exp || (exp && memcmp(buf, whole + off, exp))) {
				snprintf(why, why_len, "'%s' at %llu+%zu: got %zd", e->path,
					 (unsigned long long) off, want, n);
				good = false;
			}
		}
		if (!whole) {
			snprintf(why, why_len, "cannot load '%s'", e->path);
			good = false;
		}
		free(whole);
	}
	free(buf);
	return good;
}

struct fixture {
	const char *file, *golden, *kind;
	bool zero_copy;
};

static const struct fixture fixtures[] = {
	{ "wl-alpha.tar.zst", "wl-alpha", "zstd-compressed tar", false },
	{ "wl-beta.tar.gz", "wl-beta", "gzip-compressed tar", false },
	{ "wl-gamma.tar", "wl-gamma", "plain tar", true },
	/* zstd data, whatever the name says: detected by content */
	{ "busybox-loop.tar.gz", "busybox-loop", "zstd-compressed tar", false },
};

static void test_fixtures(void)
{
	char why[512];

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const struct fixture *fx = &fixtures[i];
		char *path = xasprintf("%s/fixtures/%s", data_dir, fx->file);
		struct timespec t0, t1;
		struct arc *a;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		a = open_ok(path, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(a, "%s opens", fx->file);
		if (!a) {
			free(path);
			continue;
		}
		printf("# %s: %zu entries indexed in %.2f ms\n", fx->file, arc_count(a),
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		CHECK(!strcmp(arc_kind(a), fx->kind), "%s is a %s (got %s)", fx->file, fx->kind,
		      arc_kind(a));
		CHECK(arc_is_zero_copy(a) == fx->zero_copy, "%s zero copy: %s", fx->file,
		      fx->zero_copy ? "yes" : "no");
		why[0] = '\0';
		CHECK(tree_ok(a, why, sizeof(why)), "%s: sorted, normalised, complete tree %s",
		      fx->file, why);
		why[0] = '\0';
		CHECK(golden_ok(a, fx->golden, why, sizeof(why)), "%s: every member matches its sha256 %s",
		      fx->file, why);
		why[0] = '\0';
		CHECK(reads_ok(a, 40, why, sizeof(why)), "%s: random reads match %s", fx->file, why);
		arc_free(a);
		free(path);
	}
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return false;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n == 0;
}

struct reader {
	const struct arc *a;
	bool good;
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	char why[256];

	r->good = reads_ok(r->a, 10, why, sizeof(why));
	return NULL;
}

static bool concurrent_reads_ok(const struct arc *a)
{
	struct reader r[4];
	pthread_t t[4];
	bool good = true;

	for (int i = 0; i < 4; i++) {
		r[i] = (struct reader) { a, false };
		pthread_create(&t[i], NULL, reader_main, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		good &= r[i].good;
	}
	return good;
}

static void test_spill(void)
{
	char *path = xasprintf("%s/fixtures/wl-alpha.tar.zst", data_dir);
	char *cache = xasprintf("%s/cache", tmp_root);
	struct arc_opts opts = { .cache_dir = cache, .mem_limit = 4096 };
	struct arc *a;
	char why[512] = "";
	char *err = NULL;
	int rc;

	mkdir(cache, 0700);
	a = open_ok(path, &opts);
	CHECK(a && !arc_is_zero_copy(a), "small mem_limit: wl-alpha opens, spilling");
	CHECK(a && golden_ok(a, "wl-alpha", why, sizeof(why)), "spilled members match %s", why);
	CHECK(dir_empty(cache), "the spill file is invisible in cache_dir");
	CHECK(a && concurrent_reads_ok(a), "4 threads reading spilled and in-memory members");
	arc_free(a);
	CHECK(dir_empty(cache), "nothing left in cache_dir after arc_free");
	rmdir(cache);

	opts.cache_dir = "/nonexistent/ckptfs-cache";
	a = NULL;
	rc = arc_open(path, &opts, &a, &err);
	CHECK(rc == -ENOENT && !a && err && strstr(err, "spill"), "missing cache_dir: %d (%s)",
	      rc, err ? err : "");
	free(err);

	free(path);
	path = xasprintf("%s/fixtures/wl-gamma.tar", data_dir);
	a = open_ok(path, NULL);
	CHECK(a && concurrent_reads_ok(a), "4 threads reading a plain tar");
	arc_free(a);
	free(cache);
	free(path);
}

/* The st_blocks of the unlinked spill file that this process holds in
 * @cache, in bytes; -1 when there is none. */
static long long spill_disk_bytes(const char *cache)
{
	char link[64], target[512];
	long long ret = -1;
	struct stat st;

	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, cache, strlen(cache)) && fstat(fd, &st) == 0)
			ret = (long long) st.st_blocks * 512;
	}
	return ret;
}

/* Zeros spill as holes and cost nothing against the limit; bytes that are
 * not zeros still do. */
static void test_sparse(void)
{
	char *dir = xasprintf("%s/sparse", tmp_root), *cache = xasprintf("%s/sparsecache", tmp_root);
	char *p = xasprintf("%s/zeros.tar.zst", tmp_root), *q = xasprintf("%s/bomb.tar.zst", tmp_root);
	struct arc_opts opts = { .cache_dir = cache, .spill_limit = 4 << 20 };
	const struct arc_entry *e;
	char buf[4096], zero[4096] = { 0 };
	struct arc *a;
	char *err = NULL;
	long long disk;
	int rc;

	mkdir(dir, 0700);
	mkdir(cache, 0700);
	/* 64 MiB of zeros with two markers, the second across a block
	 * boundary, and holes up to its end; 64 MiB of 'A' */
	run("cd '%s' && head -c 64M /dev/zero > heap && printf MARK-A | dd of=heap bs=1 seek=4660 conv=notrunc "
	    "status=none && printf MARK-B-ACROSS | dd of=heap bs=1 seek=1048570 conv=notrunc status=none && "
	    "tar -cf - heap | zstd -q -c > '%s' && head -c 64M /dev/zero | tr '\\0' A > heap && "
	    "tar -cf - heap | zstd -q -c > '%s' && rm heap", dir, p, q);
	a = open_ok(p, &opts);
	e = a ? arc_find(a, "heap") : NULL;
	CHECK(e && e->size == 64 << 20, "64 MiB of zeros open within a 4 MiB spill limit");
	disk = spill_disk_bytes(cache);
	CHECK(disk >= 0 && disk <= 64 * 1024, "the spill file holds %lld bytes on disk", disk);
	CHECK(e && arc_pread(a, e, buf, 6, 4660) == 6 && !memcmp(buf, "MARK-A", 6), "marker read back");
	CHECK(e && arc_pread(a, e, buf, 13, 1048570) == 13 && !memcmp(buf, "MARK-B-ACROSS", 13),
	      "marker across a block boundary read back");
	CHECK(e && arc_pread(a, e, buf, sizeof(buf), (64 << 20) - sizeof(buf)) == sizeof(buf) &&
	      !memcmp(buf, zero, sizeof(buf)), "the holes at the end read as zeros");
	arc_free(a);
	a = NULL;
	rc = arc_open(q, &opts, &a, &err);
	CHECK(rc == -EFBIG && err && strstr(err, "member 'heap' needs more temporary space than the spill limit"),
	      "64 MiB of 'A' still stop at the 4 MiB limit: %d (%s)", rc, err ? err : "");
	CHECK(dir_empty(cache), "nothing left in cache_dir");
	free(err);
	rmdir(cache);
	rmdir(dir);
	free(dir);
	free(cache);
	free(p);
	free(q);
}

static void test_directory(void)
{
	char *dir = xasprintf("%s/extract", tmp_root);
	char *sub, why[512] = "";
	const struct arc_entry *e;
	struct arc *a;

	for (size_t i = 2; i < ARRAY_SIZE(fixtures); i++) {
		const struct fixture *fx = &fixtures[i];

		mkdir(dir, 0700);
		if (run("tar -xf '%s/fixtures/%s' -C '%s' 2>/dev/null", data_dir, fx->file, dir)) {
			SKIP("cannot extract %s with tar", fx->file);
			run("rm -rf '%s'", dir);
			continue;
		}
		sub = xasprintf("%s/checkpoint/link", dir);
		symlink("../some/where", sub);
		free(sub);
		sub = xasprintf("%s/fifo", dir);
		mkfifo(sub, 0600);
		free(sub);

		a = open_ok(dir, NULL);
		CHECK(a && !strcmp(arc_kind(a), "directory"), "extracted %s opens as a directory",
		      fx->file);
		CHECK(a && golden_ok(a, fx->golden, why, sizeof(why)), "directory: members match %s",
		      why);
		CHECK(a && reads_ok(a, 20, why, sizeof(why)), "directory: random reads match %s", why);
		CHECK(a && tree_ok(a, why, sizeof(why)), "directory: sorted tree %s", why);
		e = a ? arc_find(a, "checkpoint/link") : NULL;
		CHECK(e && e->type == ARC_SYMLINK && e->link && !strcmp(e->link, "../some/where"),
		      "directory: symlink recorded with its target, not followed");
		e = a ? arc_find(a, "fifo") : NULL;
		CHECK(e && e->type == ARC_OTHER, "directory: fifo listed as other");
		e = a ? arc_find(a, "checkpoint") : NULL;
		CHECK(e && e->type == ARC_DIR && arc_pread(a, e, why, 1, 0) == -EISDIR,
		      "directory: reading a directory gives -EISDIR");
		arc_free(a);

		/* A bare CRIU images directory. */
		sub = xasprintf("%s/checkpoint", dir);
		a = open_ok(sub, NULL);
		e = a ? arc_find(a, "inventory.img") : NULL;
		CHECK(e && e->type == ARC_REG && e->size > 0, "bare images dir: inventory.img at the top");
		arc_free(a);
		free(sub);
		run("rm -rf '%s'", dir);
	}
	free(dir);
}

static void expect_error(const char *path, int want, const char *needle, const char *what)
{
	struct arc *a = NULL;
	char *err = NULL;
	int rc = arc_open(path, NULL, &a, &err);

	CHECK(rc == want && !a && err && !strchr(err, '\n') && !strstr(err, path) &&
	      (!needle || strstr(err, needle)), "%s: %d (%s)", what, rc, err ? err : "no message");
	free(err);
}

static void test_errors(void)
{
	char *gamma = xasprintf("%s/fixtures/wl-gamma.tar", data_dir);
	char *p = xasprintf("%s/input", tmp_root);
	uint8_t *junk = malloc(65536);
	off_t gsize = file_size(gamma);

	expect_error("/nonexistent/ckptfs/checkpoint.tar", -ENOENT, NULL, "missing file");
	file_put(p, "", 0);
	expect_error(p, -EMEDIUMTYPE, "not a tar archive", "empty file");
	for (size_t i = 0; i < 65536; i++)
		junk[i] = (uint8_t) rng();
	junk[0] = 'x';
	file_put(p, junk, 65536);
	expect_error(p, -EMEDIUMTYPE, "not a tar archive", "random bytes");
	file_put(p, "hello, world\n", 13);
	expect_error(p, -EMEDIUMTYPE, "not a tar archive", "a short text file");
	run("printf 'no tar here' | gzip -c > '%s'", p);
	expect_error(p, -EMEDIUMTYPE, "not a tar archive", "gzip-compressed text");

	if (geteuid() == 0) {
		SKIP("permission test: running as root");
	} else {
		file_put(p, "x", 1);
		chmod(p, 0);
		expect_error(p, -EACCES, NULL, "unreadable file");
		chmod(p, 0600);
	}

	/* Truncated plain tars: inside member data, inside a header. */
	copy_prefix(gamma, p, (size_t) gsize / 2);
	expect_error(p, -EBADMSG, "truncated archive: member '", "plain tar cut in a member");
	/* headers: artifacts/ at 0, devshm-checkpoint.tar at 512, config.dump at 2560 */
	copy_prefix(gamma, p, 2560 + 100);
	expect_error(p, -EBADMSG, "truncated archive: ends after member 'devshm-checkpoint.tar'",
		     "plain tar cut in a header");
	/* A damaged header in the middle: the checksum no longer matches. */
	{
		uint8_t *whole = malloc((size_t) gsize);
		FILE *f = fopen(gamma, "rb");

		if (!whole || !f || fread(whole, 1, (size_t) gsize, f) != (size_t) gsize)
			abort();
		fclose(f);
		memset(whole + 2560, 'Z', 100);
		file_put(p, whole, (size_t) gsize);
		free(whole);
		expect_error(p, -EBADMSG, "after member 'devshm-checkpoint.tar'", "damaged header");
	}
	copy_prefix(gamma, p, (size_t) gsize - 2048);
	expect_error(p, -EBADMSG, "truncated", "plain tar cut near the end");

	/* Truncated compressed archives. */
	static const char *const comp[] = { "wl-beta.tar.gz", "wl-alpha.tar.zst" };

	for (size_t i = 0; i < ARRAY_SIZE(comp); i++) {
		char *src = xasprintf("%s/fixtures/%s", data_dir, comp[i]);

		copy_prefix(src, p, (size_t) file_size(src) / 2);
		expect_error(p, -EBADMSG, "truncated", comp[i]);
		copy_prefix(src, p, (size_t) file_size(src) - 64);
		expect_error(p, -EBADMSG, NULL, comp[i]);
		copy_prefix(src, p, 40);
		expect_error(p, -EBADMSG, NULL, comp[i]);
		free(src);
	}
	for (const char *c = "xz bzip2 lz4"; *c;) {
		char name[16];
		int n;

		sscanf(c, "%15s%n", name, &n);
		c += n;
		while (*c == ' ')
			c++;
		if (run("%s -c < '%s' > '%s.c' 2>/dev/null", name, gamma, p)) {
			SKIP("no %s tool", name);
			continue;
		}
		char *cp = xasprintf("%s.c", p);
		struct arc *a = open_ok(cp, NULL);
		char kind[64], why[512] = "";

		snprintf(kind, sizeof(kind), "%s-compressed tar", name);
		CHECK(a && !strcmp(arc_kind(a), kind) && golden_ok(a, "wl-gamma", why, sizeof(why)),
		      "%s: opens as %s, members match %s", name, kind, why);
		arc_free(a);
		copy_prefix(cp, p, (size_t) file_size(cp) / 2);
		expect_error(p, -EBADMSG, NULL, name);
		unlink(cp);
		free(cp);
	}
	free(junk);
	free(p);
	free(gamma);
}

static void add(struct archive *w, const char *name, int type, const char *data, size_t len,
		const char *link, bool hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned) type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (type == AE_IFREG && !hard)
		archive_entry_set_size(e, (la_int64_t) len);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		printf("# write_header %s: %s\n", name, archive_error_string(w));
	if (len && !hard)
		archive_write_data(w, data, len);
	archive_entry_free(e);
}

#define BIG (3 << 20)

static void write_hostile(const char *path, bool gz, const char *big)
{
	struct archive *w = archive_write_new();

	archive_write_set_format_pax_restricted(w);
	if (gz)
		archive_write_add_filter_gzip(w);
	archive_write_open_filename(w, path);
	add(w, "./", AE_IFDIR, NULL, 0, NULL, false);
	add(w, "../evil", AE_IFREG, "evil", 4, NULL, false);
	add(w, "a/../../evil2", AE_IFREG, "evil", 4, NULL, false);
	add(w, "ok/../../evil3", AE_IFREG, "evil", 4, NULL, false);
	add(w, "/abs/path", AE_IFREG, "abs", 3, NULL, false);
	add(w, "./x//y", AE_IFREG, "xy", 2, NULL, false);
	add(w, "dup", AE_IFREG, "one", 3, NULL, false);
	add(w, "hl", AE_IFREG, NULL, 0, "dup", true);
	add(w, "dup", AE_IFREG, "two!", 4, NULL, false);
	add(w, "hl2", AE_IFREG, NULL, 0, "hl", true);
	add(w, "dangling", AE_IFREG, NULL, 0, "nowhere", true);
	add(w, "sl", AE_IFLNK, NULL, 0, "../../etc/passwd", false);
	add(w, "deep/er/file", AE_IFREG, "deep", 4, NULL, false);
	add(w, "f", AE_IFREG, "file", 4, NULL, false);
	add(w, "f/g", AE_IFREG, "g", 1, NULL, false);
	add(w, "big", AE_IFREG, big, BIG, NULL, false);
	add(w, "empty", AE_IFREG, NULL, 0, NULL, false);
	add(w, "dev", AE_IFCHR, NULL, 0, NULL, false);
	add(w, "dir", AE_IFDIR, NULL, 0, NULL, false);
	add(w, "dir", AE_IFDIR, NULL, 0, NULL, false);
	archive_write_close(w);
	archive_write_free(w);
}

static bool content_is(const struct arc *a, const char *path, const char *want)
{
	const struct arc_entry *e = arc_find(a, path);
	uint8_t *data;
	size_t len;
	bool good;

	if (!e || e->type != ARC_REG)
		return false;
	data = load(a, e, &len);
	good = data && len == strlen(want) && !memcmp(data, want, len);
	free(data);
	return good;
}

static void test_hostile(void)
{
	char *p = xasprintf("%s/hostile.tar", tmp_root);
	char *big = malloc(BIG);

	for (size_t i = 0; i < BIG; i++)
		big[i] = (char) (i * 7 + (i >> 12));
	for (int gz = 0; gz < 2; gz++) {
		const char *what = gz ? "hostile tar.gz" : "hostile tar";
		const struct arc_entry *e;
		bool evil = false;
		struct ck_blob b;
		void *owned = NULL;
		char why[512] = "";
		struct arc *a;

		write_hostile(p, gz, big);
		a = open_ok(p, NULL);
		CHECK(a, "%s opens", what);
		if (!a)
			continue;
		for (size_t i = 0; i < arc_count(a); i++)
			evil |= !!strstr(arc_entry_at(a, i)->path, "evil");
		CHECK(!evil, "%s: no '..' member escapes", what);
		CHECK(tree_ok(a, why, sizeof(why)), "%s: normalised, complete tree %s", what, why);
		CHECK(content_is(a, "abs/path", "abs"), "%s: /abs/path becomes abs/path", what);
		CHECK(content_is(a, "x/y", "xy"), "%s: ./x//y becomes x/y", what);
		CHECK(content_is(a, "dup", "two!"), "%s: the last duplicate wins", what);
		CHECK(content_is(a, "hl", "one") && content_is(a, "hl2", "one"),
		      "%s: hard links get the content their target had", what);
		CHECK(!arc_find(a, "dangling"), "%s: a hard link to nothing is dropped", what);
		e = arc_find(a, "sl");
		CHECK(e && e->type == ARC_SYMLINK && !strcmp(e->link, "../../etc/passwd"),
		      "%s: symlink target kept verbatim", what);
		e = arc_find(a, "deep/er");
		CHECK(e && e->type == ARC_DIR && arc_find(a, "deep")->type == ARC_DIR,
		      "%s: implied directories synthesised", what);
		e = arc_find(a, "f");
		CHECK(e && e->type == ARC_DIR && content_is(a, "f/g", "g"),
		      "%s: a file with members below it becomes a directory", what);
		e = arc_find(a, "big");
		CHECK(e && e->size == BIG && arc_load(a, e, BIG, &b, &owned) == 0 && b.len == BIG &&
		      !memcmp(b.data, big, BIG), "%s: 3 MiB member intact", what);
		free(owned);
		owned = NULL;
		CHECK(e && arc_load(a, e, BIG - 1, &b, &owned) == -EFBIG, "%s: arc_load max gives -EFBIG",
		      what);
		e = arc_find(a, "empty");
		CHECK(e && e->size == 0 && arc_load(a, e, 0, &b, &owned) == 0 && b.len == 0 && !owned &&
		      arc_pread(a, e, why, 10, 0) == 0, "%s: empty member", what);
		e = arc_find(a, "dev");
		CHECK(e && e->type == ARC_OTHER && arc_pread(a, e, why, 1, 0) < 0, "%s: device is other",
		      what);
		CHECK(arc_count(a) == 17, "%s: 17 entries (got %zu)", what, arc_count(a));
		CHECK(arc_is_zero_copy(a) == !gz, "%s: zero copy %s", what, gz ? "no" : "yes");
		CHECK(!arc_find(a, "") && !arc_find(a, "/dup") && !arc_find(a, "nope"),
		      "%s: arc_find misses", what);
		arc_free(a);
	}
	free(big);
	free(p);
}

/* A ustar header claiming @size bytes of data for member "bomb". */
static void bomb_header(uint8_t h[512], uint64_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	strcpy((char *) h, "bomb");
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *) h + 124, 12, "%011llo", (unsigned long long) size);
	memcpy(h + 136, "14536673400", 12);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *) h + 148, 8, "%06o", sum);
}

static void test_bomb(void)
{
	char *p = xasprintf("%s/bomb.tar", tmp_root);
	char *cache = xasprintf("%s/bombcache", tmp_root);
	struct arc_opts opts = { .cache_dir = cache, .spill_limit = 64 << 20 };
	size_t len = 512 + (4 << 20);
	uint8_t *buf = calloc(1, len);
	struct timespec t0, t1;
	struct arc *a = NULL;
	char *err = NULL;
	double ms;
	int rc;

	mkdir(cache, 0700);
	bomb_header(buf, 077777777777ULL);	/* 8 GiB claimed, 4 MiB present */
	file_put(p, buf, len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = arc_open(p, &opts, &a, &err);
	CHECK(rc == -EBADMSG && err && strstr(err, "member 'bomb' ends early"),
	      "plain tar bomb: %d (%s)", rc, err ? err : "");
	free(err);
	err = NULL;
	run("gzip -f '%s'", p);
	free(p);
	p = xasprintf("%s/bomb.tar.gz", tmp_root);
	rc = arc_open(p, &opts, &a, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	/* 8 GiB claimed is past 64 times the spill limit of 64 MiB (zeros
	 * would be holes, but decoding them would take long): it fails on the
	 * header, before anything is decoded */
	CHECK(rc == -EFBIG && err && strstr(err, "member 'bomb' claims 8589934591 bytes") &&
	      strstr(err, "spill limit"),
	      "compressed tar bomb: %d (%s) in %.0f ms", rc, err ? err : "", ms);
	CHECK(dir_empty(cache), "tar bomb leaves no spill file behind");
	free(err);
	rmdir(cache);
	free(cache);
	free(buf);
	free(p);
}

int main(void)
{
	data_dir = getenv("CKPTFS_DATA");
	if (!data_dir)
		data_dir = "tests/data";
	if (tmpdir_new(tmp_root, sizeof(tmp_root), "test-arc") < 0) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	/* Spill files of the default options land here too. */
	setenv("TMPDIR", tmp_root, 1);

	test_fixtures();
	test_spill();
	test_sparse();
	test_directory();
	test_errors();
	test_hostile();
	test_bomb();

	tmpdir_remove(tmp_root);
	return tap_done();
}
