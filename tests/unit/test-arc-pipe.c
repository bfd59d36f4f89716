/* SPDX-License-Identifier: Apache-2.0 */
/* The decoder thread of compressed archives (src/arc-pipe.c) and arc-tar.c
 * on top of it. A plain tar is built here, compressed with the zstd, pzstd,
 * xz, gzip, bzip2 and lz4 tools in every shape that matters (single and
 * multiple frames, blocks and members, skippable frames), and each must
 * decode to the same bytes and index to the same members, from a file and
 * from memory (nested). Then truncated and corrupted copies, and consumers
 * that stop early: each fails with its one-line message, and no decoder
 * thread outlives arc_open(). TAP output; everything lives in one mkdtemp()
 * directory. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "../internal.h"
#include "imgbuild.h"
#include "tap.h"
#include "testutil.h"

static char tmp_root[256];
static char plain_path[300];
static struct ck_buf plain;	/* the bytes of plain_path */

static bool have(const char *tool)
{
	return run("command -v %s >/dev/null 2>&1", tool) == 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Threads of this process: 1 unless a decoder thread was left running. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void add(struct archive *w, const char *name, int type, const uint8_t *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned) type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (type == AE_IFREG)
		archive_entry_set_size(e, (la_int64_t) len);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, "rand.bin");
	archive_write_header(w, e);
	if (len)
		archive_write_data(w, data, len);
	archive_entry_free(e);
}

/* About 9.5 MiB: more than the ring holds, with members that end inside
 * chunks and span several, random (stored as is by the compressors) and
 * compressible data, many small members. Mostly 4 bits of entropy a byte,
 * as xz and bzip2 are slow on random data. */
static void write_plain(const char *path, size_t zeros)
{
	struct archive *w = archive_write_new();
	size_t big = (5 << 20) + 123;
	uint8_t *buf = malloc(big);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char name[64];

	for (size_t i = 0; i < big; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = i < (256 << 10) ? (uint8_t) x : (uint8_t) ('A' + (x & 15));
	}
	archive_write_set_format_pax_restricted(w);
	archive_write_open_filename(w, path);
	add(w, "dir", AE_IFDIR, NULL, 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "dir/small-%02d", i);
		add(w, name, AE_IFREG, buf + i * 1000, (size_t) (i * 97 + 1));
	}
	add(w, "rand.bin", AE_IFREG, buf, big);
	add(w, "link", AE_IFLNK, NULL, 0);
	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t) ("checkpoint "[i % 11] + (i >> 16) % 3);
	add(w, "text.bin", AE_IFREG, buf, 3 << 20);
	add(w, "odd.bin", AE_IFREG, buf + 7, (1 << 20) - 1);
	if (zeros) {
		free(buf);
		buf = calloc(1, zeros);
		add(w, "zeros.bin", AE_IFREG, buf, zeros);
	}
	add(w, "last", AE_IFREG, (const uint8_t *) "the end\n", 8);
	archive_write_close(w);
	archive_write_free(w);
	free(buf);
}

/* Append a zstd skippable frame of @len bytes of payload to file @path. */
static void put_skippable(const char *path, uint8_t nibble, size_t len)
{
	FILE *f = fopen(path, "ab");
	uint8_t h[8] = { (uint8_t) (0x50 | nibble), 0x2a, 0x4d, 0x18,
			 (uint8_t) len, (uint8_t) (len >> 8), (uint8_t) (len >> 16), 0 };

	if (!f)
		abort();
	fwrite(h, 1, 8, f);
	for (size_t i = 0; i < len; i++)
		fputc((int) (i * 31), f);
	fclose(f);
}

/* Compress the plain tar into @out with shell command @cmd ("%s" is where
 * the input goes), in pieces split at odd offsets when @pieces > 1, the
 * results concatenated. Returns the system() status. */
static int compress(const char *cmd, int pieces, const char *out)
{
	static const double cuts[] = { 0.37, 0.71 };
	char *piece = xasprintf("%s/piece", tmp_root);
	size_t from = 0;
	int rc = 0;

	unlink(out);
	if (pieces <= 1) {
		rc = run("%s < '%s' > '%s'", cmd, plain_path, out);
		free(piece);
		return rc;
	}
	for (int i = 0; i < pieces && !rc; i++) {
		size_t to = i + 1 < pieces ? (size_t) (plain.len * cuts[i]) + 1 : plain.len;

		file_put(piece, plain.data + from, to - from);
		rc = run("%s < '%s' >> '%s'", cmd, piece, out);
		from = to;
	}
	unlink(piece);
	free(piece);
	return rc;
}

struct variant {
	const char *name, *tool, *kind;
	const char *cmd;
	int pieces;
	bool skippable;		/* zstd skippable frames before and after */
	bool big_blocks;	/* nothing of a block decodes before its end */
};

static const struct variant variants[] = {
	{ "zstd", "zstd", "zstd", "zstd -q -c", 1, false },
	{ "zstd frames", "zstd", "zstd", "zstd -q -c", 3, true },
	{ "pzstd", "pzstd", "zstd", "pzstd -q -p 2 -c", 1, false },
	{ "xz", "xz", "xz", "xz -q -T1 -0 -c", 1, false },
	{ "xz blocks", "xz", "xz", "xz -q -T2 -0 --block-size=64KiB -c", 1, false },
	{ "xz streams", "xz", "xz", "xz -q -T2 -0 --block-size=1MiB -c", 3, false },
	{ "gzip", "gzip", "gzip", "gzip -c", 1, false },
	{ "gzip members", "gzip", "gzip", "gzip -1 -c", 3, false },
	{ "bzip2", "bzip2", "bzip2", "bzip2 -1 -c", 1, false, true },
	{ "lz4", "lz4", "lz4", "lz4 -q -c", 1, false, true },
};

static char *variant_paths[ARRAY_SIZE(variants)];

/* The path of @v's archive, made on first use, or NULL (after a SKIP)
 * without the tool. */
static const char *variant_path(const struct variant *v)
{
	size_t i = (size_t) (v - variants);
	char *path;

	if (variant_paths[i])
		return variant_paths[i];
	if (!have(v->tool)) {
		SKIP("%s: no %s tool", v->name, v->tool);
		return NULL;
	}
	path = xasprintf("%s/variant-%zu", tmp_root, i);
	if (v->skippable)
		put_skippable(path, 0xa, 100);
	if (compress(v->cmd, v->pieces, path) != 0) {
		SKIP("%s: %s failed", v->name, v->tool);
		free(path);
		return NULL;
	}
	if (v->skippable)
		put_skippable(path, 0xe, 70000);
	variant_paths[i] = path;
	return path;
}

/* Decode @path (from the file, or from memory when @from_mem) with
 * arc_pipe alone: the bytes must equal the plain tar, and the input
 * counted must grow to the file's size. */
static void check_stream(const struct variant *v, const char *path, bool from_mem)
{
	struct ck_buf in = { 0 }, out = { 0 };
	struct arc_pipe *p = NULL;
	uint64_t done, last = 0;
	bool monotonic = true;
	const void *blk;
	ssize_t n;
	int fd = -1, rc;

	file_slurp(path, &in);
	if (from_mem) {
		rc = arc_pipe_start(v->kind, -1, (const uint8_t *) in.data, in.len, &p);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		rc = arc_pipe_start(v->kind, fd, NULL, 0, &p);
	}
	CHECK(rc == 0, "%s: decoder starts (%s)", v->name, from_mem ? "memory" : "file");
	while (p && (n = arc_pipe_next(p, &blk, &done)) > 0) {
		ck_buf_add(&out, blk, (size_t) n);
		monotonic &= done >= last && done <= in.len;
		last = done;
	}
	CHECK(p && n == 0 && out.len == plain.len && !memcmp(out.data, plain.data, plain.len),
	      "%s (%s): decodes to the plain tar (%zu of %zu bytes)", v->name,
	      from_mem ? "memory" : "file", out.len, plain.len);
	CHECK(monotonic && last > in.len / 2, "%s (%s): input counted in order, up to %llu of %zu",
	      v->name, from_mem ? "memory" : "file", (unsigned long long) last, in.len);
	arc_pipe_free(p);
	if (fd >= 0)
		close(fd);
	ck_buf_done(&in);
	ck_buf_done(&out);
}

/* Every entry of @a equals that of @ref: path, type, size, bytes. */
static bool same_members(const struct arc *ref, const struct arc *a, char *why, size_t why_len)
{
	if (arc_count(ref) != arc_count(a)) {
		snprintf(why, why_len, "%zu entries, want %zu", arc_count(a), arc_count(ref));
		return false;
	}
	for (size_t i = 0; i < arc_count(ref); i++) {
		const struct arc_entry *r = arc_entry_at(ref, i), *e = arc_entry_at(a, i);
		struct ck_blob rb, eb;
		void *ro = NULL, *eo = NULL;
		bool good;

		good = !strcmp(r->path, e->path) && r->type == e->type && r->size == e->size &&
		       r->mode == e->mode && (!r->link) == (!e->link);
		if (good && r->type == ARC_REG)
			good = arc_load(ref, r, SIZE_MAX, &rb, &ro) == 0 &&
			       arc_load(a, e, SIZE_MAX, &eb, &eo) == 0 && rb.len == eb.len &&
			       !memcmp(rb.data, eb.data, rb.len);
		free(ro);
		free(eo);
		if (!good) {
			snprintf(why, why_len, "'%s' differs", r->path);
			return false;
		}
	}
	return true;
}

static void test_decoders(const struct arc *ref)
{
	char why[256], kind[64];

	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		const struct variant *v = &variants[i];
		struct arc_opts opts = { .mem_limit = 64 * 1024 };	/* most bytes spill */
		const char *path = variant_path(v);
		struct arc *a = NULL;
		char *err = NULL;
		int rc;

		if (!path)
			continue;
		check_stream(v, path, false);
		check_stream(v, path, true);
		rc = arc_open(path, &opts, &a, &err);
		/* multi-block xz is read by random access (arc-seek.c), not decoded whole */
		snprintf(kind, sizeof(kind), "%s-compressed tar%s", v->kind,
			 !strncmp(v->name, "xz ", 3) ? " (seekable)" : "");
		CHECK(rc == 0 && !strcmp(arc_kind(a), kind), "%s: opens as a %s (%d %s)", v->name, kind,
		      rc, err ? err : "");
		why[0] = '\0';
		CHECK(a && same_members(ref, a, why, sizeof(why)), "%s: every member as in the plain tar %s",
		      v->name, why);
		/* a seekable archive keeps its read-ahead helpers (arc-seek.c) until freed */
		if (strncmp(v->name, "xz ", 3))
			CHECK(thread_count() == 1, "%s: no thread left after arc_open()", v->name);
		arc_free(a);
		CHECK(thread_count() == 1, "%s: no thread left after arc_free()", v->name);
		free(err);
	}
}

/* A plain outer tar holding compressed inner tars, opened with arc_open_nested(). */
static void test_nested(const struct arc *ref)
{
	static const size_t pick[] = { 0, 4, 6 };	/* zstd, xz blocks, gzip */
	char *outer = xasprintf("%s/outer.tar", tmp_root);
	struct archive *w = archive_write_new();
	struct ck_buf data[ARRAY_SIZE(pick)] = { 0 };
	bool made[ARRAY_SIZE(pick)] = { false };
	struct arc *o = NULL;
	char why[256];

	archive_write_set_format_pax_restricted(w);
	archive_write_open_filename(w, outer);
	for (size_t i = 0; i < ARRAY_SIZE(pick); i++) {
		const char *inner = variant_path(&variants[pick[i]]);

		made[i] = inner && file_slurp(inner, &data[i]) == 0;
		if (made[i]) {
			snprintf(why, sizeof(why), "inner-%zu.tar", i);
			add(w, why, AE_IFREG, (const uint8_t *) data[i].data, data[i].len);
		}
	}
	archive_write_close(w);
	archive_write_free(w);
	CHECK(arc_open(outer, NULL, &o, NULL) == 0, "outer tar of compressed tars opens");
	for (size_t i = 0; o && i < ARRAY_SIZE(pick); i++) {
		const struct variant *v = &variants[pick[i]];
		const struct arc_entry *e;
		struct arc *a = NULL;
		char *err = NULL;
		int rc;

		if (!made[i])
			continue;
		snprintf(why, sizeof(why), "inner-%zu.tar", i);
		e = arc_find(o, why);
		rc = e ? arc_open_nested(o, e, NULL, &a, &err) : -ENOENT;
		why[0] = '\0';
		CHECK(rc == 0 && same_members(ref, a, why, sizeof(why)),
		      "nested %s: every member as in the plain tar (%d %s) %s", v->name, rc,
		      err ? err : "", why);
		arc_free(a);
		CHECK(thread_count() == 1, "nested %s: no thread left after arc_free()", v->name);
		free(err);
	}
	arc_free(o);
	for (size_t i = 0; i < ARRAY_SIZE(pick); i++)
		ck_buf_done(&data[i]);
	unlink(outer);
	free(outer);
}

/* arc_open(@path) must fail with -EBADMSG, one line holding @needle (if
 * any), quickly, and leave no thread behind. */
static void expect_bad(const char *path, const char *needle, const char *what, const char *name)
{
	struct arc *a = NULL;
	char *err = NULL;
	double t0 = now_ms(), ms;
	int rc;

	rc = arc_open(path, NULL, &a, &err);
	ms = now_ms() - t0;
	CHECK(rc == -EBADMSG && !a && err && !strchr(err, '\n') && (!needle || strstr(err, needle)) &&
	      ms < 20000 && thread_count() == 1, "%s %s: %d (%s) in %.0f ms", name, what, rc,
	      err ? err : "no message", ms);
	arc_free(a);
	free(err);
}

/* A seekable archive with damage in a member's data: the index skips it, so
 * the archive opens (or fails where the damage meets a header) and reading
 * the damaged member fails with -EIO; no member reads wrong bytes. */
static void expect_eio(const char *path, const char *what, const char *name)
{
	struct arc *a = NULL;
	char *err = NULL;
	size_t eio = 0, other = 0;
	uint8_t *buf = malloc(1 << 20);
	int rc = arc_open(path, NULL, &a, &err);

	for (size_t i = 0; rc == 0 && buf && i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);

		for (uint64_t off = 0; e->type == ARC_REG && off < e->size; off += 1 << 20) {
			ssize_t n = arc_pread(a, e, buf, 1 << 20, off);

			if (n == -EIO) {
				eio++;
				break;
			}
			if (n <= 0)
				other++;
		}
	}
	CHECK((rc == -EBADMSG && err) || (rc == 0 && eio >= 1 && other == 0),
	      "%s %s: open %d (%s), %zu member(s) EIO, %zu other failures", name, what, rc,
	      err ? err : "", eio, other);
	free(buf);
	arc_free(a);
	free(err);
}

static void test_damage(void)
{
	char *bad = xasprintf("%s/bad", tmp_root);

	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		const struct variant *v = &variants[i];
		const char *good = variant_path(v);
		struct ck_buf b = { 0 };
		size_t len;

		if (!good)
			continue;
		file_slurp(good, &b);
		len = b.len;
		/* cut inside the random member: its start decodes, then the data ends */
		file_put(bad, b.data, len / 3);
		expect_bad(bad, v->big_blocks ? "truncated archive" :
			   "truncated archive: member 'rand.bin' ends early", "cut at a third", v->name);
		file_put(bad, b.data, len - 64);
		expect_bad(bad, NULL, "cut 64 bytes before the end", v->name);
		/* the tar is whole, the compressed data's end (its check) is not */
		file_put(bad, b.data, len - 1);
		expect_bad(bad, v->big_blocks ? "truncated archive" :
			   "truncated archive: ends after member 'last'", "cut by one byte", v->name);
		file_put(bad, b.data, 40);
		expect_bad(bad, NULL, "cut to 40 bytes", v->name);
		/* flipped bits in the middle: a check or the decoder notices */
		for (size_t k = 0; k < 16; k++)
			b.data[len / 2 + k * 13] ^= 0x5a;
		file_put(bad, b.data, len);
		if (!strncmp(v->name, "xz ", 3))
			expect_eio(bad, "with damage in the middle", v->name);
		else
			expect_bad(bad, "corrupt archive", "with damage in the middle", v->name);
		ck_buf_done(&b);
	}
	unlink(bad);
	free(bad);
}

/* A damaged tar header behind a large member: the consumer stops while the
 * decoder is chunks ahead. */
static void test_stop_early(void)
{
	char *path = xasprintf("%s/stop.tar", tmp_root);
	char *z = xasprintf("%s/stop.tar.c", tmp_root);
	char *cache = xasprintf("%s/cache", tmp_root);
	/* one xz block: several would be read by random access, never spilled */
	static const char *const cmds[] = { "zstd -q -c", "xz -q -T1 -0 -c", "gzip -1 -c" };
	struct ck_buf b = { 0 };
	size_t hdr;

	write_plain(path, 40 << 20);
	file_slurp(path, &b);
	/* the header of "zeros.bin" follows odd.bin: find it and damage it */
	hdr = 0;
	for (size_t off = 0; off + 512 <= b.len; off += 512)
		if (!memcmp(b.data + off, "zeros.bin", 10))
			hdr = off;
	if (hdr)
		memset(b.data + hdr + 124, 'X', 8);	/* its size field */
	file_put(path, b.data, b.len);
	mkdir(cache, 0700);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct arc_opts opts = { .cache_dir = cache, .spill_limit = 2 << 20 };
		struct arc *a = NULL;
		char *err = NULL, tool[8];
		double t0;
		int rc;

		sscanf(cmds[i], "%7s", tool);
		if (!have(tool)) {
			SKIP("no %s tool", tool);
			continue;
		}
		if (run("%s < '%s' > '%s'", cmds[i], path, z)) {
			SKIP("%s failed", tool);
			continue;
		}
		expect_bad(z, "corrupt archive after member 'odd.bin'", "damaged header behind 12 MiB", tool);
		/* the spill limit stops the consumer in the random member */
		t0 = now_ms();
		rc = arc_open(z, &opts, &a, &err);
		CHECK(rc == -EFBIG && err && strstr(err, "spill limit") && thread_count() == 1,
		      "%s: spill limit: %d (%s) in %.0f ms", tool, rc, err ? err : "", now_ms() - t0);
		arc_free(a);
		free(err);
	}
	rmdir(cache);
	ck_buf_done(&b);
	unlink(path);
	unlink(z);
	free(path);
	free(z);
	free(cache);
}

/* Consumers that walk away from a decoder in the middle. */
static void test_abandon(void)
{
	char *path = xasprintf("%s/abandon.tar.zst", tmp_root);
	struct arc_pipe *p = NULL;
	const void *blk;
	uint64_t done;
	int fd;

	if (!have("zstd") || compress("zstd -q -c", 1, path)) {
		SKIP("no zstd tool");
		free(path);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* never read: the decoder fills the ring and waits */
	CHECK(arc_pipe_start("zstd", fd, NULL, 0, &p) == 0, "decoder starts");
	usleep(100 * 1000);
	arc_pipe_free(p);
	CHECK(thread_count() == 1, "freed with a full ring: the thread is gone");
	p = NULL;
	CHECK(arc_pipe_start("zstd", fd, NULL, 0, &p) == 0 && arc_pipe_next(p, &blk, &done) > 0,
	      "first chunk");
	arc_pipe_free(p);
	CHECK(thread_count() == 1, "freed holding a chunk: the thread is gone");
	p = NULL;
	CHECK(arc_pipe_start("zstd", fd, NULL, 0, &p) == 0, "decoder starts");
	arc_pipe_free(p);
	CHECK(thread_count() == 1, "freed at once: the thread is gone");
	p = NULL;
	CHECK(arc_pipe_start("brotli", fd, NULL, 0, &p) == -EINVAL && !p, "unknown compression: -EINVAL");
	close(fd);
	unlink(path);
	free(path);
}

struct progress {
	uint64_t last, total;
	int calls;
	bool monotonic;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *pr = ctx;

	pr->monotonic &= done >= pr->last && done <= total && (!pr->total || total == pr->total);
	pr->last = done;
	pr->total = total;
	pr->calls++;
}

/* Reports count compressed bytes. They start after 300 ms, so a quick
 * index may show none; whatever comes must be in order and end at the size. */
static void test_progress(void)
{
	const char *path = variant_path(&variants[3]);	/* xz, one block */
	struct progress pr = { .monotonic = true };
	struct arc_opts opts = { .progress = on_progress, .progress_ctx = &pr };
	struct arc *a = NULL;
	struct stat st;

	if (!path)
		return;
	stat(path, &st);
	CHECK(arc_open(path, &opts, &a, NULL) == 0, "progress: opens");
	CHECK(pr.monotonic && (!pr.calls || pr.last == (uint64_t) st.st_size),
	      "progress: %d reports in order, the last %llu of %lld", pr.calls,
	      (unsigned long long) pr.last, (long long) st.st_size);
	arc_free(a);
}

int main(void)
{
	struct arc *ref = NULL;

	if (tmpdir_new(tmp_root, sizeof(tmp_root), "test-arc-pipe") < 0) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	setenv("TMPDIR", tmp_root, 1);
	snprintf(plain_path, sizeof(plain_path), "%s/plain.tar", tmp_root);
	write_plain(plain_path, 0);
	if (file_slurp(plain_path, &plain) < 0 || plain.len % 512)
		abort();
	CHECK(arc_open(plain_path, NULL, &ref, NULL) == 0 && arc_is_zero_copy(ref),
	      "the plain tar opens in place (%zu bytes)", plain.len);
	if (ref) {
		test_decoders(ref);
		test_nested(ref);
	}
	test_damage();
	test_stop_early();
	test_abandon();
	test_progress();
	arc_free(ref);
	ck_buf_done(&plain);
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++)
		free(variant_paths[i]);
	tmpdir_remove(tmp_root);
	return tap_done();
}
