/* SPDX-License-Identifier: Apache-2.0 */
/* Random access into compressed files (arc-seek). A payload (the start of
 * wl-gamma.tar, then position-unique text) is compressed here with the
 * xz, zstd, pzstd and gzip tools and with libzstd (content-size frames and
 * the seekable format), then read back at many offsets, from several
 * threads, and after corrupting units, indexes, seek tables and footers.
 * TAP output; everything lives below one mkdtemp() directory. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "arc.h"
#include "../internal.h"
#include "imgbuild.h"
#include "tap.h"
#include "testutil.h"

static char tmp_root[256];
static uint8_t *payload;
static size_t payload_len;

static char *path_of(const char *name)
{
	static char buf[8][512];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, 512, "%s/%s", tmp_root, name);
	return p;
}

/* Run a shell command in the scratch directory; true if it exited 0. */
static __attribute__((format(printf, 1, 2))) bool sh(const char *fmt, ...)
{
	char cmd[2048];
	int n;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", tmp_root);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t) n, fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

static bool have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void put(const char *name, const void *p, size_t len)
{
	file_put(path_of(name), p, len);
}

static uint8_t *get(const char *name, size_t *ret_len)
{
	struct ck_buf b = { 0 };

	if (file_slurp(path_of(name), &b) < 0)
		return NULL;
	*ret_len = b.len;
	if (!b.data)
		return calloc(1, 1);
	return (uint8_t *) ck_buf_steal(&b, NULL);
}

struct opened {
	struct arc_seek *s;
	int fd;
	int rc;
	char *err;
};

static struct opened open_file(const char *name, const struct arc_seek_opts *opts)
{
	struct opened o = { .fd = open(path_of(name), O_RDONLY | O_CLOEXEC) };
	struct stat st;

	if (o.fd < 0 || fstat(o.fd, &st) < 0) {
		o.rc = -errno;
		return o;
	}
	o.rc = arc_seek_open(o.fd, (uint64_t) st.st_size, opts, &o.s, &o.err);
	if (o.rc < 0)
		printf("# %s: %d (%s)\n", name, o.rc, o.err ? o.err : "no message");
	return o;
}

static void close_file(struct opened *o)
{
	arc_seek_free(o->s);
	free(o->err);
	if (o->fd >= 0)
		close(o->fd);
	*o = (struct opened) { .fd = -1 };
}

/* Read [off, off + len) and compare with the payload. */
static bool range_ok(struct arc_seek *s, uint64_t off, size_t len, uint8_t *buf)
{
	size_t want = off >= payload_len ? 0 : CK_MIN(len, payload_len - (size_t) off);
	ssize_t n = arc_seek_pread(s, buf, len, off);

	if (n != (ssize_t) want) {
		printf("# pread(%zu at %llu) = %zd, want %zu\n", len, (unsigned long long) off, n,
		       want);
		return false;
	}
	if (want && memcmp(buf, payload + off, want)) {
		printf("# pread(%zu at %llu): bytes differ\n", len, (unsigned long long) off);
		return false;
	}
	return true;
}

/* Whole file in 128 KiB reads (each unit decoded once), then random
 * ranges, every unit boundary, and the end. */
static void reads_ok(struct arc_seek *s, const char *label)
{
	size_t cap = 1 << 20, n = s->n;
	uint8_t *buf = malloc(cap + (1 << 20) + 14);
	bool ok = true;
	uint64_t d0 = arc_seek_decodes(s);

	CHECK(arc_seek_size(s) == payload_len, "%s: size %llu", label,
	      (unsigned long long) arc_seek_size(s));
	for (uint64_t off = 0; ok && off < payload_len; off += 128 * 1024)
		ok = range_ok(s, off, 128 * 1024, buf);
	CHECK(ok, "%s: sequential 128 KiB reads", label);
	CHECK(arc_seek_decodes(s) - d0 == n,
	      "%s: sequential reads decode each of %zu units once (%llu)", label, n,
	      (unsigned long long) (arc_seek_decodes(s) - d0));
	pthread_mutex_lock(&s->lock);
	CHECK(n < 3 || s->ahead_decodes > 0, "%s: the read-ahead decoded %llu of them", label,
	      (unsigned long long) s->ahead_decodes);
	pthread_mutex_unlock(&s->lock);
	/* xz decodes some 20 times slower than zstd */
	int nrand = s->fmt == SEEK_XZ ? 120 : 400;

	for (int i = 0; ok && i < nrand; i++) {
		uint64_t off = rng() % (payload_len + 100);
		size_t len = (size_t) (rng() % (i % 4 ? 4096 : cap)) + 1;

		ok = range_ok(s, off, len, buf);
	}
	CHECK(ok, "%s: %d random reads", label, nrand);
	for (size_t i = 1; ok && i < n; i++) {
		uint64_t b = s->units[i].uoff;

		ok = range_ok(s, b - 1, 2, buf) && range_ok(s, b - 3000, 6000, buf) &&
		     range_ok(s, b, 1, buf);
	}
	CHECK(ok, "%s: reads across %zu unit boundaries", label, n - 1);
	/* Across three units at once. */
	if (n >= 4)
		ok = range_ok(s, s->units[2].uoff - 7, s->units[2].usize + 14, buf);
	CHECK(ok && range_ok(s, payload_len - 5, 100, buf) && range_ok(s, payload_len - 1, 1, buf),
	      "%s: reads spanning units and at the end", label);
	CHECK(arc_seek_pread(s, buf, 10, payload_len) == 0 &&
		      arc_seek_pread(s, buf, 10, payload_len + 1) == 0 &&
		      arc_seek_pread(s, buf, 10, UINT64_MAX) == 0 &&
		      arc_seek_pread(s, buf, 0, 0) == 0,
	      "%s: reads at or past the end return 0", label);
	free(buf);
}

struct worker {
	struct arc_seek *s;
	int mode;		/* 0: random ranges, 1: the whole file in order */
	uint64_t seed;
	bool ok;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(300 * 1024);

	rng_state = w->seed;
	w->ok = true;
	if (w->mode == 0) {
		for (int i = 0; w->ok && i < (w->s->fmt == SEEK_XZ ? 50 : 150); i++)
			w->ok = range_ok(w->s, rng() % payload_len,
					 (size_t) (rng() % (300 * 1024)) + 1, buf);
	} else {
		for (uint64_t off = 0; w->ok && off < payload_len; off += 128 * 1024)
			w->ok = range_ok(w->s, off, 128 * 1024, buf);
	}
	free(buf);
	return NULL;
}

static bool threads_ok(struct arc_seek *s, int mode)
{
	struct worker w[4];
	pthread_t t[4];
	bool ok = true;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker) { .s = s, .mode = mode, .seed = 0x1234567ULL * (uint64_t) (i + 1) };
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok = ok && w[i].ok;
	}
	return ok;
}

/* The payload: the start of a real checkpoint tar (long runs of zeros,
 * images), then lines that are unique to their position, so that a read
 * from the wrong offset cannot match. */
static void make_payload(void)
{
	const char *dir = getenv("CKPTFS_DATA");
	char path[512];
	FILE *f;
	size_t head = 3 << 20, tail = (3 << 20) + 12345;

	snprintf(path, sizeof(path), "%s/fixtures/wl-gamma.tar", dir ? dir : "tests/data");
	payload = malloc(head + tail);
	f = fopen(path, "rb");
	payload_len = f ? fread(payload, 1, head, f) : 0;
	if (f)
		fclose(f);
	while (payload_len < head + tail) {
		char line[80];
		int k = snprintf(line, sizeof(line), "%010zx ", payload_len);

		static const char *const words[] = { "pid ", "vma ",	"page ", "core ",
						     "fd ",  "mm ",	"tty ",	 "sig ",
						     "ns ",  "cgroup ", "inet ", "pipe " };

		while (k < 63) {
			const char *w = words[rng() % ARRAY_SIZE(words)];

			for (; *w && k < 63; w++)
				line[k++] = *w;
		}
		line[63] = '\n';
		memcpy(payload + payload_len, line, CK_MIN((size_t) 64, head + tail - payload_len));
		payload_len += CK_MIN((size_t) 64, head + tail - payload_len);
	}
	put("p", payload, payload_len);
}

/* zstd frames of @frame bytes each, with content sizes (or not), and a
 * seek table (or not). Frames are compressed with libzstd here; the table
 * checksums are taken from the frame checksums of a second compression. */
static void make_zstd(const char *name, size_t frame, bool content_size, bool table, bool sums)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct ck_buf out = { 0 }, tab = { 0 };
	size_t cap = ZSTD_compressBound(frame), nframes = 0;
	uint8_t *tmp = malloc(cap);
	uint32_t w;

	for (size_t off = 0; off < payload_len; off += frame) {
		size_t len = CK_MIN(frame, payload_len - off), c;
		uint32_t sum = 0;

		ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		c = ZSTD_compress2(cc, tmp, cap, payload + off, len);
		memcpy(&sum, tmp + c - 4, 4);	/* low 32 bits of XXH64, little-endian */
		ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, !table);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, content_size);
		c = ZSTD_compress2(cc, tmp, cap, payload + off, len);
		ck_buf_add(&out, tmp, c);
		w = (uint32_t) c;
		ck_buf_add(&tab, &w, 4);
		w = (uint32_t) len;
		ck_buf_add(&tab, &w, 4);
		if (sums)
			ck_buf_add(&tab, &sum, 4);
		nframes++;
		if (nframes == 2) {
			/* A skippable frame: an empty entry in the table, skipped by the walk. */
			static const uint8_t skip[] = { 0x53, 0x2a, 0x4d, 0x18, 5, 0, 0,
							0,    1,    2,	  3,	4, 5 };

			ck_buf_add(&out, skip, sizeof(skip));
			w = sizeof(skip);
			ck_buf_add(&tab, &w, 4);
			w = 0;
			ck_buf_add(&tab, &w, 4);
			if (sums)
				ck_buf_add(&tab, &w, 4);
			nframes++;
		}
	}
	if (table) {
		w = 0x184D2A5E;
		ck_buf_add(&out, &w, 4);
		w = (uint32_t) (tab.len + 9);
		ck_buf_add(&out, &w, 4);
		ck_buf_add(&out, tab.data, tab.len);
		w = (uint32_t) nframes;
		ck_buf_add(&out, &w, 4);
		ck_buf_putc(&out, sums ? (char) 0x80 : 0);
		w = 0x8F92EAB1;
		ck_buf_add(&out, &w, 4);
	}
	put(name, out.data, out.len);
	ck_buf_done(&out);
	ck_buf_done(&tab);
	free(tmp);
	ZSTD_freeCCtx(cc);
}

/* Units of @unit bytes over the payload. */
static size_t units_of(size_t unit)
{
	return (payload_len + unit - 1) / unit;
}

/* Open @name, expect success, kind @fmt with @n units, and full reads. */
static void good_file(const char *name, const char *fmt, size_t n, const struct arc_seek_opts *opts)
{
	struct opened o = open_file(name, opts);
	char kind[64];

	snprintf(kind, sizeof(kind), fmt, n);
	CHECK(o.rc == 0 && !strcmp(arc_seek_kind(o.s), kind), "%s opens as %s", name,
	      o.rc == 0 ? arc_seek_kind(o.s) : "(failed)");
	if (o.rc == 0)
		reads_ok(o.s, name);
	close_file(&o);
}

static void not_seekable(const char *name, const char *what)
{
	struct opened o = open_file(name, NULL);

	CHECK(o.rc == -ENOTSUP && o.err && !o.s, "%s: -ENOTSUP (%s)", what,
	      o.err ? o.err : "no message");
	close_file(&o);
}

/* Write @name as a copy of @src with the byte at @off (from the end if
 * negative) xor'ed with @x, or cut to @cut bytes (if not 0). */
static void mangle(const char *src, const char *name, int64_t off, uint8_t x, size_t cut)
{
	size_t len;
	uint8_t *p = get(src, &len);

	if (off < 0)
		off += (int64_t) len;
	if (x && off >= 0 && (size_t) off < len)
		p[off] ^= x;
	put(name, p, cut ? CK_MIN(cut, len) : len);
	free(p);
}

static void bad_meta(const char *src, const char *what, int64_t off, uint8_t x, size_t cut,
		     int want)
{
	struct opened o;

	mangle(src, "bad", off, x, cut);
	o = open_file("bad", NULL);
	CHECK(o.rc == want && o.err && !strchr(o.err, '\n'), "%s: %s (%s)", what,
	      want == -EBADMSG ? "-EBADMSG" : "-ENOTSUP", o.err ? o.err : "no message");
	close_file(&o);
}

/* Corrupt the compressed data of the middle unit: reads touching it fail
 * with -EIO, its neighbours still read correctly. */
static void bad_unit(const char *src, const char *label)
{
	struct opened o = open_file(src, NULL);
	uint8_t *buf = malloc(1 << 20);
	const struct seek_unit *u;
	size_t k;

	if (o.rc < 0) {
		CHECK(false, "%s: opens", label);
		close_file(&o);
		free(buf);
		return;
	}
	k = o.s->n / 2;
	u = &o.s->units[k];
	mangle(src, "bad", (int64_t) (u->coff + u->csize / 2), 0x55, 0);
	mangle("bad", "bad", (int64_t) (u->coff + u->csize / 2 + 1), 0xaa, 0);
	close_file(&o);
	o = open_file("bad", NULL);
	CHECK(o.rc == 0, "%s: corrupt unit data still opens", label);
	if (o.rc == 0) {
		u = &o.s->units[k];
		CHECK(arc_seek_pread(o.s, buf, 100, u->uoff + 10) == -EIO &&
		      arc_seek_pread(o.s, buf, 100, u->uoff - 50) == -EIO &&
		      arc_seek_pread(o.s, buf, 100, u->uoff + 10) == -EIO,
		      "%s: reads touching the corrupt unit give -EIO, again and again", label);
		CHECK(range_ok(o.s, o.s->units[k - 1].uoff, o.s->units[k - 1].usize, buf) &&
		      range_ok(o.s, o.s->units[k + 1].uoff, o.s->units[k + 1].usize, buf) &&
		      range_ok(o.s, 0, 4096, buf) && range_ok(o.s, payload_len - 4096, 4096, buf),
		      "%s: the other units read correctly", label);
	}
	close_file(&o);
	free(buf);
}

/* Flip each of the last @span bytes in turn: open fails cleanly, or reads
 * of the first, a middle and the last unit give -EIO or bytes, which must
 * be the payload's unless a flipped unit size moved the offsets. */
static void flip_tail(const char *src, size_t span, const char *label)
{
	uint8_t *buf = malloc(1 << 20);
	size_t len;
	uint8_t *orig = get(src, &len);
	bool ok = true;
	int opened = 0;

	for (size_t i = 1; ok && i <= span && i <= len; i++) {
		struct opened o;

		orig[len - i] ^= 0x21;
		put("flip", orig, len);
		orig[len - i] ^= 0x21;
		o = open_file("flip", NULL);
		if (o.rc == 0) {
			uint64_t size = arc_seek_size(o.s), at[3] = { 0, size / 2, size - 1 };

			opened++;
			for (int k = 0; ok && k < 3; k++) {
				ssize_t n = arc_seek_pread(o.s, buf, 4096, at[k]);

				ok = n == -EIO || (n > 0 && at[k] + (uint64_t) n <= size &&
						   (size != payload_len ||
						    !memcmp(buf, payload + at[k], (size_t) n)));
			}
		} else {
			ok = (o.rc == -EBADMSG || o.rc == -ENOTSUP) && o.err && !o.s;
		}
		if (!ok)
			printf("# %s: flipping byte -%zu breaks the invariant\n", label, i);
		close_file(&o);
	}
	CHECK(ok, "%s: each of the last %zu bytes flipped: clean failures (%d still open)", label,
	      span, opened);
	free(orig);
	free(buf);
}

/* A sequential reader through FUSE: the kernel's read-ahead requests come
 * in a window at a time, served in any order. Read 256 KiB chunks in the
 * order 1, 0, 3, 2 of every 1 MiB (no read starts where the one before
 * ended): the bytes are right, each unit is decoded once, and the
 * read-ahead still decodes some of them. */
static void shuffled_ok(const char *name, const char *label)
{
	static const int order[] = { 1, 0, 3, 2 };
	const size_t chunk = 256 * 1024;
	struct opened o = open_file(name, &(struct arc_seek_opts) { .cache_max = 64 << 20 });
	uint8_t *buf = malloc(chunk + 14);
	bool ok = o.rc == 0 && buf;

	for (uint64_t w = 0; ok && w < payload_len; w += 4 * chunk)
		for (int k = 0; ok && k < 4; k++)
			ok = range_ok(o.s, w + order[k] * chunk, chunk, buf);
	CHECK(ok, "%s: 256 KiB reads, 1 0 3 2 in every MiB", label);
	if (o.rc == 0) {
		CHECK(arc_seek_decodes(o.s) == o.s->n, "%s: each of %zu units decoded once (%llu)", label,
		      o.s->n, (unsigned long long) arc_seek_decodes(o.s));
		pthread_mutex_lock(&o.s->lock);
		CHECK(o.s->ahead_decodes > 0, "%s: the read-ahead decoded %llu of them", label,
		      (unsigned long long) o.s->ahead_decodes);
		pthread_mutex_unlock(&o.s->lock);
	}
	free(buf);
	close_file(&o);
}

static void test_xz(void)
{
	struct arc_seek_opts small = { .unit_max = 100000 }, tiny_cache = { .cache_max = 1 };
	struct opened o;

	if (!have("xz")) {
		SKIP("xz not installed");
		return;
	}
	CHECK(sh("xz -T2 -1 --block-size=262144 -c p > p.xz"), "xz -T2 --block-size=256KiB");
	good_file("p.xz", "xz, %zu blocks", units_of(262144), NULL);
	o = open_file("p.xz", &small);
	CHECK(o.rc == -ENOTSUP, "xz: blocks over unit_max are -ENOTSUP");
	close_file(&o);
	o = open_file("p.xz", &tiny_cache);
	CHECK(o.rc == 0 && o.s->cache_max == 262144, "xz: the cache holds at least one unit");
	if (o.rc == 0)
		CHECK(threads_ok(o.s, 0), "xz: 4 threads, random reads, one-unit cache");
	close_file(&o);
	o = open_file("p.xz", NULL);
	if (o.rc == 0)
		CHECK(threads_ok(o.s, 0), "xz: 4 threads, random reads, every byte checked");
	close_file(&o);
	shuffled_ok("p.xz", "xz out of order");
	o = open_file("p.xz", &(struct arc_seek_opts) { .cache_max = 64 << 20 });
	if (o.rc == 0)
		CHECK(threads_ok(o.s, 1) && arc_seek_decodes(o.s) == o.s->n,
		      "xz: 4 threads reading it all at once decode each unit once (%llu for %zu)",
		      (unsigned long long) arc_seek_decodes(o.s), o.s->n);
	close_file(&o);

	/* Two streams, stream padding between and after them, CRC32 and SHA-256 checks. */
	CHECK(sh("head -c 2500000 p | xz -1 -T2 --check=crc32 --block-size=300000 > a.xz && "
		 "tail -c +2500001 p | xz -1 -T2 --check=sha256 --block-size=400000 > b.xz && "
		 "{ cat a.xz; head -c 8 /dev/zero; cat b.xz; head -c 4 /dev/zero; } > multi.xz"),
	      "xz: two streams with padding");
	good_file("multi.xz", "xz, %zu blocks", (size_t) 9 + 10, NULL);
	CHECK(sh("{ cat a.xz; head -c 3 /dev/zero; cat b.xz; } > badpad.xz"),
	      "xz: padding of 3 bytes");
	bad_meta("badpad.xz", "xz: stream padding not a multiple of 4", 0, 0, 0, -EBADMSG);

	CHECK(sh("xz -1 -T1 -c p > single.xz"), "xz: single block");
	not_seekable("single.xz", "single-block xz");

	bad_unit("p.xz", "xz");
	bad_meta("p.xz", "xz: footer CRC", -10, 0x01, 0, -EBADMSG);
	bad_meta("p.xz", "xz: footer magic", -1, 0x01, 0, -EBADMSG);
	bad_meta("p.xz", "xz: index record", -20, 0x10, 0, -EBADMSG);
	bad_meta("p.xz", "xz: index size in the footer", -8, 0x01, 0, -EBADMSG);
	bad_meta("p.xz", "xz: stream header", 7, 0x01, 0, -EBADMSG);
	{
		size_t len;
		uint8_t *p = get("p.xz", &len);

		put("cut.xz", p, len - 100);
		put("short.xz", p, 10);
		free(p);
	}
	bad_meta("cut.xz", "xz: truncated by 100 bytes", 0, 0, 0, -EBADMSG);
	bad_meta("short.xz", "xz: 10 bytes", 0, 0, 0, -EBADMSG);
	flip_tail("p.xz", 200, "xz");
}

static void test_zstd(void)
{
	struct opened o;

	make_zstd("frames.zst", 400000, true, false, false);
	good_file("frames.zst", "zstd, %zu frames", units_of(400000), NULL);
	bad_unit("frames.zst", "zstd frames");
	o = open_file("frames.zst", NULL);
	if (o.rc == 0)
		CHECK(threads_ok(o.s, 0), "zstd frames: 4 threads, random reads");
	close_file(&o);
	shuffled_ok("frames.zst", "zstd frames out of order");

	make_zstd("table.zst", 300000, false, true, true);
	good_file("table.zst", "zstd seekable, %zu frames", units_of(300000), NULL);
	bad_unit("table.zst", "zstd seekable (table checksums)");
	make_zstd("table-nosum.zst", 1 << 20, true, true, false);
	good_file("table-nosum.zst", "zstd seekable, %zu frames", units_of(1 << 20), NULL);

	/* Frames without content size and no table: a full pass. */
	make_zstd("nosize.zst", 400000, false, false, false);
	not_seekable("nosize.zst", "zstd frames without content size");
	{
		/* Entries: 12 bytes each, one per frame plus the skippable one. */
		int64_t e = (int64_t) units_of(300000) + 1, tab = 9 + 12 * e;
		size_t len;
		uint8_t *p = get("table.zst", &len);
		struct opened b;
		uint8_t buf[64];

		bad_meta("table.zst", "seekable: frame count + 1", -9, 0x01, 0, -EBADMSG);
		bad_meta("table.zst", "seekable: reserved descriptor bit", -5, 0x04, 0, -ENOTSUP);
		bad_meta("table.zst", "seekable: Frame_Size", -(tab + 4), 0x01, 0, -EBADMSG);
		bad_meta("table.zst", "seekable: skippable magic of the table", -(tab + 8), 0x01, 0,
			 -EBADMSG);
		bad_meta("table.zst", "seekable: first compressed size", -tab, 0x01, 0, -EBADMSG);
		bad_meta("table.zst", "seekable: first compressed size huge", -tab + 3, 0x80, 0,
			 -EBADMSG);
		bad_meta("table.zst", "seekable: frame count huge", -6, 0x80, 0, -ENOTSUP);
		bad_meta("table.zst", "seekable: frame magic", 0, 0x01, 0, -ENOTSUP);
		put("cut.zst", p, len - 5);
		bad_meta("cut.zst", "seekable: footer cut", 0, 0, 0, -ENOTSUP);
		free(p);

		/* A decompressed size that disagrees with the frame (which has no content size). */
		mangle("table.zst", "bad", -tab + 12 + 4, 0x01, 0);
		b = open_file("bad", NULL);
		CHECK(b.rc == 0, "seekable: a wrong decompressed size still opens");
		if (b.rc == 0)
			CHECK(arc_seek_pread(b.s, buf, 10, b.s->units[1].uoff) == -EIO &&
			      arc_seek_pread(b.s, buf, 10, 0) == 10,
			      "seekable: a frame whose size differs from the table gives -EIO");
		close_file(&b);
	}
	o = open_file("frames.zst", NULL);
	if (o.rc == 0) {
		int64_t second = (int64_t) o.s->units[1].coff;

		bad_meta("frames.zst", "zstd frames: reserved header bit", 4, 0x08, 0, -EBADMSG);
		bad_meta("frames.zst", "zstd frames: second frame magic", second, 0x01, 0,
			 -EBADMSG);
		sh("{ cat frames.zst; printf 'junk!'; } > junk.zst");
		bad_meta("junk.zst", "zstd frames: trailing garbage", 0, 0, 0, -EBADMSG);
	}
	close_file(&o);
	{
		size_t len;
		uint8_t *p = get("frames.zst", &len);

		bad_meta("frames.zst", "zstd frames: truncated", 0, 0, len / 3, -EBADMSG);
		free(p);
	}
	flip_tail("table.zst", 300, "seekable");
	flip_tail("frames.zst", 100, "zstd frames");

	if (!have("zstd")) {
		SKIP("zstd not installed");
		return;
	}
	CHECK(sh("split -b 700000 p chunk. && for f in chunk.*; do zstd -q -c $f; done > cli.zst"),
	      "zstd CLI on split chunks");
	good_file("cli.zst", "zstd, %zu frames", units_of(700000), NULL);
	CHECK(sh("zstd -q -c p > one.zst && zstd -q -c < p > stream.zst"), "zstd: single frame");
	not_seekable("one.zst", "single-frame zstd");
	not_seekable("stream.zst", "streamed zstd (no content size)");
	CHECK(sh("head -c 1000000 p | zstd -q > small.zst"), "zstd: one small frame");
	not_seekable("small.zst", "one small zstd frame");
	if (have("pzstd")) {
		CHECK(sh("pzstd -q -p 2 -c p > p.pzst"), "pzstd");
		not_seekable("p.pzst", "pzstd output");
	} else {
		SKIP("pzstd not installed");
	}
}

static void test_other(void)
{
	not_seekable("p", "uncompressed data");
	if (have("gzip")) {
		CHECK(sh("gzip -1 -c p > p.gz"), "gzip");
		not_seekable("p.gz", "gzip");
	} else {
		SKIP("gzip not installed");
	}
	put("empty", "", 0);
	not_seekable("empty", "empty file");
}

int main(void)
{
	arc_read_ahead_enable(true);
	snprintf(tmp_root, sizeof(tmp_root), "%s/ckptfs-seek.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 2;
	}
	make_payload();
	CHECK(payload_len > (6 << 20), "payload of %zu bytes", payload_len);
	test_xz();
	test_zstd();
	test_other();
	arc_seek_free(NULL);
	sh("cd / && rm -rf '%s'", tmp_root);
	free(payload);
	return tap_done();
}
