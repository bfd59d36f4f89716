/* SPDX-License-Identifier: Apache-2.0 */
/* Index a tar with libarchive, in one pass. An uncompressed tar in a regular
 * file is mapped and handed to libarchive as a single block, so the data
 * pointers it returns lie inside the mapping: a member's data offset is that
 * pointer minus the base, and the data itself is never touched. Anything else
 * is decompressed once: small members into memory, large ones into the spill
 * file. libarchive is used only here and only inside arc_open(). */
#include "arc-priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#define TAR_BUF_SIZE (1024 * 1024)
#define TAR_WIN_SIZE (4 * 1024 * 1024)	/* a multiple of any page size */
#define TAR_AHEAD (64 * 1024)

DEFINE_CLEANUP(tar_archive_freep, struct archive, archive_read_free)

struct tar_src {
	int fd;
	const uint8_t *map;	/* the whole file, when mapped */
	size_t map_len;
	bool map_given;
	uint64_t ahead;		/* prefetched up to here */
	uint8_t *buf;		/* read() buffer otherwise */
	const uint8_t *win;	/* compressed file: the mapped window libarchive reads */
	size_t win_len;
	uint64_t file_len;	/* size of the compressed file, for windows */
	uint64_t consumed;	/* bytes read() so far */
	struct arc *arc;	/* for progress reports, or NULL */
};

/* Compressed input can't be served in place, so it is read, not mapped. */
static const struct {
	const char *name;
	size_t len;
	const char *magic;
} tar_magics[] = {
	{ "gzip", 2, "\x1f\x8b" },
	{ "zstd", 4, "\x28\xb5\x2f\xfd" },
	{ "xz", 6, "\xfd" "7zXZ" "\0" },
	{ "bzip2", 3, "BZh" },
	{ "lz4", 4, "\x04\x22\x4d\x18" },
	{ "lz4", 4, "\x02\x21\x4c\x18" },
	{ "lzip", 4, "LZIP" },
	{ "compress", 2, "\x1f\x9d" },
};

static const char *tar_compression_of(const uint8_t *head, size_t n)
{
	size_t i;

	for (i = 0; n > 0 && i < ARRAY_SIZE(tar_magics); i++)
		if (n >= tar_magics[i].len && !memcmp(head, tar_magics[i].magic, tar_magics[i].len))
			return tar_magics[i].name;
	/* A zstd skippable frame (0x184D2A5?) first: pzstd and seekable zstd. */
	if (n >= 4 && (head[0] & 0xf0) == 0x50 && !memcmp(head + 1, "\x2a\x4d\x18", 3))
		return "zstd";
	return NULL;
}

static const char *tar_compression(int fd)
{
	uint8_t head[8];
	ssize_t n;

	n = ck_pread_full(fd, head, sizeof(head), 0);
	return n > 0 ? tar_compression_of(head, (size_t) n) : NULL;
}

static la_ssize_t tar_read_cb(struct archive *ar, void *data, const void **ret_buf)
{
	struct tar_src *s = data;
	void *map;
	ssize_t n;

	if (s->map) {
		*ret_buf = s->map;
		if (s->map_given)
			return 0;
		s->map_given = true;
		return (la_ssize_t) s->map_len;
	}
	if (s->file_len) {
		/* Compressed input is mapped a window at a time instead of read():
		 * the decompressor reads the page cache directly, and only one
		 * window counts in our RSS. */
		if (s->win)
			munmap((void *) s->win, s->win_len);
		s->win = NULL;
		if (s->consumed >= s->file_len)
			return 0;
		s->win_len = (size_t) CK_MIN((uint64_t) TAR_WIN_SIZE, s->file_len - s->consumed);
		map = mmap(NULL, s->win_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->fd, (off_t) s->consumed);
		if (map != MAP_FAILED) {
			s->win = map;
			*ret_buf = map;
			s->consumed += s->win_len;
			arc_progress(s->arc, s->consumed);
			return (la_ssize_t) s->win_len;
		}
		s->file_len = 0;	/* read() from here on */
		if (lseek(s->fd, (off_t) s->consumed, SEEK_SET) < 0) {
			archive_set_error(ar, errno, "read error: %s", strerror(errno));
			return -1;
		}
	}
	do
		n = read(s->fd, s->buf, TAR_BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(ar, errno, "read error: %s", strerror(errno));
		return -1;
	}
	*ret_buf = s->buf;
	s->consumed += (uint64_t) n;
	arc_progress(s->arc, s->consumed);
	return n;
}

/* The mapping was handed over whole: nothing is left to skip. Returning 0
 * makes libarchive read on, which ends at EOF and reports a truncation. */
static la_int64_t tar_skip_cb(struct archive *ar, void *data, la_int64_t request)
{
	return 0;
}

static void tar_set_kind(struct arc *a, struct archive *ar, const char *comp)
{
	if (archive_filter_count(ar) <= 1 || archive_filter_code(ar, 0) == ARCHIVE_FILTER_NONE)
		snprintf(a->kind, sizeof(a->kind), "plain tar");
	else
		snprintf(a->kind, sizeof(a->kind), "%s-compressed tar",
			 comp ? comp : archive_filter_name(ar, 0));
}

static bool tar_truncated(const char *msg)
{
	return strcasestr(msg, "truncat") || strcasestr(msg, "premature") ||
	       strcasestr(msg, "unexpected end");
}

/* Translate a libarchive failure. @member is the member whose data failed
 * (@in_data) or the last good one; NULL before the first header. */
static int tar_fail(struct archive *ar, const char *member, bool in_data, const char *comp,
		    char **ret_error)
{
	const char *msg = archive_error_string(ar);
	char safe[256], name[256];
	int e = archive_errno(ar);

	arc_safe_name(msg ? msg : "unknown error", safe, sizeof(safe));
	arc_safe_name(member, name, sizeof(name));
	ck_log(CK_LOG_DEBUG, "arc: libarchive: %s (errno %d)", safe, e);
	if (e == ENOMEM)
		return arc_err(ret_error, -ENOMEM, "out of memory");
	if (e == EIO)
		return arc_err(ret_error, -EIO, "%s", safe);
	if (!member && strstr(safe, "Unrecognized archive format")) {
		if (comp)
			return arc_err(ret_error, -EMEDIUMTYPE,
				       "not a tar archive (%s-compressed data of another kind)", comp);
		return arc_err(ret_error, -EMEDIUMTYPE, "not a tar archive (unrecognized format)");
	}
	if (in_data && tar_truncated(safe))
		return arc_err(ret_error, -EBADMSG, "truncated archive: member '%s' ends early", name);
	if (in_data)
		return arc_err(ret_error, -EBADMSG, "corrupt archive: member '%s': %s", name, safe);
	if (member && tar_truncated(safe))
		return arc_err(ret_error, -EBADMSG, "truncated archive: ends after member '%s'", name);
	if (member)
		return arc_err(ret_error, -EBADMSG, "corrupt archive after member '%s': %s", name, safe);
	if (tar_truncated(safe))
		return arc_err(ret_error, -EBADMSG, "truncated archive: %s", safe);
	return arc_err(ret_error, -EBADMSG, "corrupt archive: %s", safe);
}

static int tar_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t) off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const uint8_t *) buf + n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return 0;
}

/* Decompress one member into memory or the spill file, starting from the
 * block already read (@r, @blk, @len, @off). Only what the stream really
 * holds is written, whatever size the header claims. */
static int tar_copy(struct arc *a, struct archive *ar, struct arc_item *it, int r,
		    const void *blk, size_t len, la_int64_t off, const char *comp, char **ret_error)
{
	/* Page-aligned, so that member reads map onto whole cache pages. */
	uint64_t size = it->e.size, base = (a->spill_len + 4095) & ~(uint64_t) 4095;
	char name[256];
	uint8_t *mem = NULL;
	int fd = -1, rc;

	if (size <= a->mem_limit) {
		mem = calloc(1, (size_t) size);
		if (!mem)
			return -ENOMEM;
		rc = arc_blob_keep(a, mem);
		if (rc < 0)
			return rc;
	} else {
		fd = arc_spill_fd(a, ret_error);
		if (fd < 0)
			return fd;
	}
	for (; r == ARCHIVE_OK || r == ARCHIVE_WARN; r = archive_read_data_block(ar, &blk, &len, &off)) {
		if (off < 0 || (uint64_t) off > size || len > size - (uint64_t) off)
			return arc_err(ret_error, -EBADMSG, "corrupt archive: member '%s' has data past its size",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		if (mem) {
			memcpy(mem + off, blk, len);
			continue;
		}
		if (base + (uint64_t) off + len > a->spill_limit)
			return arc_err(ret_error, -EFBIG,
				       "member '%s' needs more temporary space than the spill limit (%" PRIu64
				       " bytes; a decompression bomb, or choose -o cache_dir=)",
				       arc_safe_name(it->e.path, name, sizeof(name)), a->spill_limit);
		rc = tar_pwrite(fd, blk, len, base + (uint64_t) off);
		if (rc < 0)
			return arc_err(ret_error, rc, "cannot write the spill file: %s", strerror(-rc));
	}
	if (r != ARCHIVE_EOF)
		return tar_fail(ar, it->e.path, true, comp, ret_error);
	if (mem) {
		it->src = ARC_SRC_MEM;
		it->data = mem;
	} else {
		it->src = ARC_SRC_SPILL;
		it->off = base;
		a->spill_len = base + size;
	}
	return 0;
}

/* The mapping is MADV_RANDOM, so each header costs one synchronous page
 * read. After skipping a member's data, ask for the next TAR_AHEAD bytes in
 * the background: a run of small members then comes in one read, and a large
 * member loses at most that much to the cache. */
static void tar_prefetch(struct tar_src *src, uint64_t next)
{
	if (src->fd < 0 || next + 512 <= src->ahead || next >= src->map_len)
		return;
	src->ahead = CK_MIN(next + TAR_AHEAD, src->map_len);
	posix_fadvise(src->fd, (off_t) next, (off_t) (src->ahead - next), POSIX_FADV_WILLNEED);
}

/* Locate a regular member's data: in place when mapped, else copy it. */
static int tar_data(struct arc *a, struct archive *ar, struct archive_entry *ae,
		    struct tar_src *src, struct arc_item *it, bool *copied,
		    const char *comp, char **ret_error)
{
	uint64_t size = it->e.size, doff;
	const void *blk = NULL;
	la_int64_t off = 0;
	size_t len = 0;
	char name[256];
	int r;

	r = archive_read_data_block(ar, &blk, &len, &off);
	if (src->map && r == ARCHIVE_OK && off == 0 && archive_entry_sparse_count(ae) == 0 &&
	    (const uint8_t *) blk >= src->map && (const uint8_t *) blk < src->map + src->map_len) {
		doff = (uint64_t) ((const uint8_t *) blk - src->map);
		if (size > src->map_len - doff)
			return arc_err(ret_error, -EBADMSG, "truncated archive: member '%s' ends early",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		if (len == size) {
			it->src = ARC_SRC_ARCHIVE;
			it->off = doff;
			tar_prefetch(src, doff + ((size + 511) & ~(uint64_t) 511));
			return 0;
		}
	}
	ck_log(CK_LOG_DEBUG, "arc: copying member #%zu (%" PRIu64 " bytes)", a->n - 1, size);
	*copied = true;
	return tar_copy(a, ar, it, r, blk, len, off, comp, ret_error);
}

static int tar_add(struct arc *a, struct archive *ar, struct archive_entry *ae,
		   struct tar_src *src, char *last, bool *copied, const char *comp,
		   char **ret_error)
{
	const char *hardlink = archive_entry_hardlink(ae);
	char target[ARC_PATH_MAX];
	struct arc_item *it;
	int rc;

	rc = arc_item_new(a, archive_entry_pathname(ae), &it);
	if (rc <= 0) {
		if (rc == 0)
			ck_log(CK_LOG_DEBUG, "arc: skipping a member with an unsafe name");
		return rc;
	}
	snprintf(last, ARC_PATH_MAX, "%s", it->e.path);
	it->e.mode = archive_entry_perm(ae) & 07777;
	it->e.mtime = archive_entry_mtime(ae);
	if (hardlink && archive_entry_size(ae) <= 0) {
		/* Resolved against earlier members once all are known. */
		it->e.type = ARC_REG;
		if (arc_norm_path(hardlink, target) <= 0) {
			it->drop = true;
			return 0;
		}
		it->hardlink = strdup(target);
		return it->hardlink ? 0 : -ENOMEM;
	}
	switch (archive_entry_filetype(ae)) {
	case AE_IFDIR:
		it->e.type = ARC_DIR;
		return 0;
	case AE_IFLNK:
		it->e.type = ARC_SYMLINK;
		it->e.link = strdup(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "");
		return it->e.link ? 0 : -ENOMEM;
	case AE_IFREG:
		break;
	default:
		if (!hardlink) {
			it->e.type = ARC_OTHER;
			return 0;
		}
	}
	it->e.type = ARC_REG;
	it->e.size = archive_entry_size(ae) > 0 ? (uint64_t) archive_entry_size(ae) : 0;
	if (!it->e.size)
		return 0;
	return tar_data(a, ar, ae, src, it, copied, comp, ret_error);
}

static int tar_walk(struct arc *a, struct archive *ar, struct tar_src *src,
		    const char *comp, char **ret_error)
{
	char last[ARC_PATH_MAX] = "";
	struct archive_entry *ae;
	bool copied = false;
	size_t count = 0;
	int r, rc;

	for (;;) {
		r = archive_read_next_header(ar, &ae);
		if (r == ARCHIVE_EOF)
			break;
		/* ARCHIVE_RETRY too: libarchive would resync past a damaged header. */
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return tar_fail(ar, count ? last : NULL, false, comp, ret_error);
		if (r == ARCHIVE_WARN)
			ck_log(CK_LOG_DEBUG, "arc: libarchive warning on member #%zu", count);
		if (count++ == 0)
			tar_set_kind(a, ar, comp);
		rc = tar_add(a, ar, ae, src, last, &copied, comp, ret_error);
		if (rc < 0)
			return rc;
		if (src->map && src->fd >= 0)
			arc_progress(a, src->ahead);
	}
	if (!count)
		tar_set_kind(a, ar, comp);
	a->zero_copy = src->map && !copied && !strcmp(a->kind, "plain tar");
	return 0;
}

static int tar_index_src(struct arc *a, struct tar_src *src, const char *comp, char **ret_error);

int arc_tar_index(struct arc *a, int fd, const struct stat *st, char **ret_error)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tar_src src = { .fd = fd, .arc = a };
	const char *comp = NULL;
	void *map;
	int rc;

	if (S_ISREG(st->st_mode)) {
		if (st->st_size == 0)
			return arc_err(ret_error, -EMEDIUMTYPE, "not a tar archive (empty file)");
		comp = tar_compression(fd);
		if (!comp && (uint64_t) st->st_size <= SIZE_MAX) {
			map = mmap(NULL, (size_t) st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (map != MAP_FAILED) {
				/* No read-ahead: only header pages are faulted in. */
				madvise(map, (size_t) st->st_size, MADV_RANDOM);
				src.map = map;
				src.map_len = (size_t) st->st_size;
			} else {
				ck_log(CK_LOG_DEBUG, "arc: mmap failed (%m), reading instead");
			}
		}
	}
	if (!src.map) {
		buf = malloc(TAR_BUF_SIZE);
		if (!buf)
			return -ENOMEM;
		src.buf = buf;
		if (comp && S_ISREG(st->st_mode) && lseek(fd, 0, SEEK_CUR) == 0)
			src.file_len = (uint64_t) st->st_size;
	}
	rc = tar_index_src(a, &src, comp, ret_error);
	if (src.map)
		munmap((void *) src.map, src.map_len);
	if (src.win)
		munmap((void *) src.win, src.win_len);
	return rc;
}

int arc_tar_index_mem(struct arc *a, const uint8_t *base, size_t len, char **ret_error)
{
	struct tar_src src = { .fd = -1, .map = base, .map_len = len };

	if (len == 0)
		return arc_err(ret_error, -EMEDIUMTYPE, "not a tar archive (empty file)");
	return tar_index_src(a, &src, tar_compression_of(base, CK_MIN(len, (size_t) 8)), ret_error);
}

/* Run libarchive over @src. A mapping in @src stays the caller's. */
static int tar_index_src(struct arc *a, struct tar_src *src, const char *comp, char **ret_error)
{
	_cleanup_(tar_archive_freep) struct archive *ar = NULL;
	int rc;

	ar = archive_read_new();
	if (!ar)
		return -ENOMEM;
	/* Built-in decompressors only: filter_all would also run external
	 * programs (lrzip, lzop, grzip) on hostile input. */
	archive_read_support_filter_gzip(ar);
	archive_read_support_filter_bzip2(ar);
	archive_read_support_filter_xz(ar);
	archive_read_support_filter_lzma(ar);
	archive_read_support_filter_zstd(ar);
	archive_read_support_filter_lz4(ar);
	archive_read_support_filter_lzip(ar);
	archive_read_support_filter_compress(ar);
	archive_read_support_format_tar(ar);
	if (archive_read_open2(ar, src, NULL, tar_read_cb, tar_skip_cb, NULL) != ARCHIVE_OK)
		rc = tar_fail(ar, NULL, false, comp, ret_error);
	else
		rc = tar_walk(a, ar, src, comp, ret_error);
	/* libarchive may still point into the mapping until it is freed. */
	archive_read_free(TAKE_PTR(ar));
	return rc;
}
