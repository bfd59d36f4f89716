/* SPDX-License-Identifier: Apache-2.0 */
/* Index a tar with libarchive, in one pass. An uncompressed tar in a regular
 * file is mapped and handed to libarchive as a single block, so the data
 * pointers it returns lie inside the mapping: a member's data offset is that
 * pointer minus the base, and the data itself is never touched. Anything else
 * is decompressed once: small members into memory, large ones into the spill
 * file. A compressed archive recognised by its magic is decoded by a thread
 * of its own (arc-pipe.c) while libarchive parses the decoded tar here and
 * the members are written out; other inputs (streams, in-memory tars without
 * a known magic) go through libarchive's filters on this thread. libarchive
 * is used only in the archive module and only inside arc_open(). */
#include "arc-priv.h"
#include "arc-pipe.h"
#include "arc-midx.h"
#include "arc-seek.h"

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
#define TAR_AHEAD (64 * 1024)
#define TAR_SEEK_READ (64 * 1024)
/* Decoded bytes after the end of the tar that are still checked, see tar_pipe_drain(). */
#define TAR_DRAIN_MAX (16 * 1024 * 1024)

DEFINE_CLEANUP(tar_archive_freep, struct archive, archive_read_free)

struct tar_src {
	int fd;
	const uint8_t *map;	/* the whole file, when mapped */
	size_t map_len;
	bool map_given;
	uint64_t ahead;		/* prefetched up to here */
	uint8_t *buf;		/* read() buffer otherwise */
	uint64_t consumed;	/* bytes read() so far */
	struct arc_pipe *pipe;	/* the decoder thread, for a known compression */
	struct arc_seek *seek;	/* random access into the compressed file, or NULL */
	uint64_t seek_pos;	/* next uncompressed byte to read from @seek */
	uint64_t buf_pos;	/* uncompressed offset of @buf's first byte */
	size_t buf_len;		/* bytes in @buf */
	int pipe_rc;		/* its failure, once libarchive was told */
	const char *comp;	/* the compression tar_compression_of() found, or NULL */
	struct arc *arc;	/* for progress reports, or NULL */
	/* with @seek: its member index, whose headers libarchive reads
	 * instead of the file's (zeros between them), or NULL */
	const struct arc_midx *midx;
	size_t midx_next;	/* the first entry not wholly before seek_pos */
};

/* Compressed input can't be served in place: it goes to the decoder thread. */
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

const char *arc_compression(int fd)
{
	uint8_t head[8];
	ssize_t n;

	n = ck_pread_full(fd, head, sizeof(head), 0);
	return n > 0 ? tar_compression_of(head, (size_t) n) : NULL;
}

/* libarchive asks for the next block only once it is done with the last
 * one, so this is where the decoder gets its chunk back. */
static la_ssize_t tar_pipe_read_cb(struct archive *ar, struct tar_src *s, const void **ret_buf)
{
	uint64_t in_done;
	ssize_t n;

	n = arc_pipe_next(s->pipe, ret_buf, &in_done);
	if (n < 0) {
		s->pipe_rc = (int) n;
		archive_set_error(ar, (int) -n, "%s", arc_pipe_why(s->pipe));
		return -1;
	}
	arc_progress(s->arc, in_done);
	return n;
}

/* A seekable compressed file: libarchive reads the uncompressed tar a
 * buffer at a time, decoding only the units it touches; skipping a member's
 * data (tar_seek_skip_cb) decodes nothing. */
static la_ssize_t tar_seek_read_cb(struct archive *ar, struct tar_src *s, const void **ret_buf)
{
	uint64_t total = arc_seek_size(s->seek);
	ssize_t n;

	/* small reads: what follows a header is decoded only as far as the unit
	 * that holds it, not a whole buffer into a member that will be skipped */
	n = arc_seek_pread(s->seek, s->buf, TAR_SEEK_READ, s->seek_pos);
	if (n < 0) {
		archive_set_error(ar, (int) -n, "%s", n == -EIO ? "corrupt compressed data" : strerror((int) -n));
		return -1;
	}
	*ret_buf = s->buf;
	s->buf_pos = s->seek_pos;
	s->buf_len = (size_t) n;
	s->seek_pos += (uint64_t) n;
	if (total)
		arc_progress(s->arc, (uint64_t) ((double) s->seek_pos / (double) total *
						 (double) (s->arc ? s->arc->progress_total : 0)));
	return n;
}

/* A seekable tar with a member index: libarchive reads the headers from
 * the index, and zeros in place of the data it does not skip; nothing is
 * decoded. */
static la_ssize_t tar_midx_read_cb(struct tar_src *s, const void **ret_buf)
{
	static const uint8_t zeros[TAR_SEEK_READ];
	const struct arc_midx *m = s->midx;
	uint64_t pos = s->seek_pos, end;
	size_t n;

	while (s->midx_next < m->n_entries && m->entries[s->midx_next].off + m->entries[s->midx_next].len <= pos)
		s->midx_next++;
	if (pos >= m->tar_size)
		return 0;
	if (s->midx_next < m->n_entries && m->entries[s->midx_next].off <= pos) {
		const struct arc_midx_entry *e = &m->entries[s->midx_next];

		*ret_buf = e->hdr + (pos - e->off);
		n = (size_t) (e->off + e->len - pos);
	} else {
		end = s->midx_next < m->n_entries ? m->entries[s->midx_next].off : m->tar_size;
		*ret_buf = zeros;
		n = (size_t) CK_MIN(end - pos, (uint64_t) sizeof(zeros));
	}
	s->seek_pos += n;
	return (la_ssize_t) n;
}

/* With a member index: where the data of the entry libarchive just read
 * starts (its first header is at @hpos), or -EBADMSG. */
static int64_t tar_midx_data(const struct arc_midx *m, la_int64_t hpos)
{
	size_t lo = 0, hi = m->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->entries[mid].off < (uint64_t) hpos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (hpos < 0 || lo >= m->n_entries || m->entries[lo].off != (uint64_t) hpos)
		return -EBADMSG;
	return (int64_t) (m->entries[lo].off + m->entries[lo].len);
}

static la_int64_t tar_seek_skip_cb(struct archive *ar, void *data, la_int64_t request)
{
	struct tar_src *s = data;
	uint64_t left = arc_seek_size(s->seek) - s->seek_pos;
	uint64_t skip = request > 0 ? CK_MIN((uint64_t) request, left) : 0;

	s->seek_pos += skip;
	return (la_int64_t) skip;
}

static la_ssize_t tar_read_cb(struct archive *ar, void *data, const void **ret_buf)
{
	struct tar_src *s = data;
	ssize_t n;

	if (s->pipe)
		return tar_pipe_read_cb(ar, s, ret_buf);
	if (s->midx)
		return tar_midx_read_cb(s, ret_buf);
	if (s->seek)
		return tar_seek_read_cb(ar, s, ret_buf);
	if (s->map) {
		*ret_buf = s->map;
		if (s->map_given)
			return 0;
		s->map_given = true;
		return (la_ssize_t) s->map_len;
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

static void tar_set_kind(struct arc *a, struct archive *ar, const struct tar_src *src)
{
	if (src->pipe)
		snprintf(a->kind, sizeof(a->kind), "%s-compressed tar", src->comp);
	else if (src->seek)
		snprintf(a->kind, sizeof(a->kind), "%s-compressed tar (seekable)", src->comp);
	else if (archive_filter_count(ar) <= 1 || archive_filter_code(ar, 0) == ARCHIVE_FILTER_NONE)
		snprintf(a->kind, sizeof(a->kind), "plain tar");
	else
		snprintf(a->kind, sizeof(a->kind), "%s-compressed tar",
			 src->comp ? src->comp : archive_filter_name(ar, 0));
}

static bool tar_truncated(const char *msg)
{
	return strcasestr(msg, "truncat") || strcasestr(msg, "premature") ||
	       strcasestr(msg, "unexpected end");
}

/* Translate a libarchive failure, or the decoder failure behind it. @member
 * is the member whose data failed (@in_data) or the last good one; NULL
 * before the first header. */
static int tar_fail(struct archive *ar, const struct tar_src *src, const char *member, bool in_data,
		    char **ret_error)
{
	const char *msg = archive_error_string(ar);
	char safe[256], name[256];
	int e = archive_errno(ar);
	bool truncated;

	if (src->pipe_rc < 0) {
		/* libarchive's own message would only say that the read failed */
		msg = arc_pipe_why(src->pipe);
		e = -src->pipe_rc;
	}
	arc_safe_name(msg ? msg : "unknown error", safe, sizeof(safe));
	arc_safe_name(member, name, sizeof(name));
	ck_log(CK_LOG_DEBUG, "arc: %s: %s (errno %d)", src->pipe_rc < 0 ? "decoder" : "libarchive", safe, e);
	if (e == ENOMEM)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	if (e == EIO)
		return ck_err(ret_error, -EIO, "%s", safe);
	if (!member && src->pipe_rc == 0 && strstr(safe, "Unrecognized archive format")) {
		if (src->comp)
			return ck_err(ret_error, -EMEDIUMTYPE,
				       "not a tar archive (%s-compressed data of another kind)", src->comp);
		return ck_err(ret_error, -EMEDIUMTYPE, "not a tar archive (unrecognized format)");
	}
	truncated = src->pipe_rc < 0 ? arc_pipe_truncated(src->pipe) : tar_truncated(safe);
	if (in_data && truncated)
		return ck_err(ret_error, -EBADMSG, "truncated archive: member '%s' ends early", name);
	if (in_data)
		return ck_err(ret_error, -EBADMSG, "corrupt archive: member '%s': %s", name, safe);
	if (member && truncated)
		return ck_err(ret_error, -EBADMSG, "truncated archive: ends after member '%s'", name);
	if (member)
		return ck_err(ret_error, -EBADMSG, "corrupt archive after member '%s': %s", name, safe);
	if (truncated)
		return ck_err(ret_error, -EBADMSG, "truncated archive: %s", safe);
	return ck_err(ret_error, -EBADMSG, "corrupt archive: %s", safe);
}

/* Decompress one member into memory or the spill file, starting from the
 * block already read (@r, @blk, @len, @off). Only what the stream really
 * holds is written, whatever size the header claims, and its blocks of
 * zeros are left as holes: only the rest counts against the spill limit.
 * A header that claims far more than the limit fails at once, before
 * anything is decoded (arc_spill_claim()). Small members stay in memory
 * while the archive's memory budget lasts, and spill after that. */
static int tar_copy(struct arc *a, struct archive *ar, const struct tar_src *src, struct arc_item *it,
		    int r, const void *blk, size_t len, la_int64_t off, char **ret_error)
{
	struct arc_budget *b = a->budget;
	/* Page-aligned, so that member reads map onto whole cache pages. */
	uint64_t size = it->e.size, base = (a->spill_len + 4095) & ~(uint64_t) 4095;
	char name[256];
	uint8_t *mem = NULL;
	int fd = -1, rc;

	if (size <= a->mem_limit && size <= b->mem_max - b->mem_used) {
		mem = calloc(1, (size_t) size);
		if (!mem)
			return -ENOMEM;
		rc = arc_blob_keep(a, mem);
		if (rc < 0)
			return rc;
		b->mem_used += size;
	} else {
		fd = arc_spill_fd(a, ret_error);
		if (fd < 0)
			return fd;
		rc = arc_spill_claim(a, it->e.path, size, ret_error);
		if (rc < 0)
			return rc;
	}
	for (; r == ARCHIVE_OK || r == ARCHIVE_WARN; r = archive_read_data_block(ar, &blk, &len, &off)) {
		if (off < 0 || (uint64_t) off > size || len > size - (uint64_t) off)
			return ck_err(ret_error, -EBADMSG, "corrupt archive: member '%s' has data past its size",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		if (mem) {
			memcpy(mem + off, blk, len);
			continue;
		}
		rc = arc_spill_write(a, it->e.path, blk, len, base + (uint64_t) off, ret_error);
		if (rc < 0)
			return rc;
	}
	if (r != ARCHIVE_EOF)
		return tar_fail(ar, src, it->e.path, true, ret_error);
	if (mem) {
		it->src = ARC_SRC_MEM;
		it->data = mem;
	} else {
		rc = arc_spill_extend(a, base + size, ret_error);
		if (rc < 0)
			return rc;
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
		    struct tar_src *src, struct arc_item *it, bool *copied, char **ret_error)
{
	uint64_t size = it->e.size, doff;
	const void *blk = NULL;
	la_int64_t off = 0;
	size_t len = 0;
	char name[256];
	int r;

	if (src->midx) {
		/* every member stays in the compressed file, read when asked for */
		int64_t at = tar_midx_data(src->midx, archive_read_header_position(ar));

		if (at < 0 || archive_entry_sparse_count(ae) || size > arc_seek_size(src->seek) - (uint64_t) at)
			return ck_err(ret_error, -EBADMSG, "member index: member '%s' is not where it says",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		it->src = ARC_SRC_SEEK;
		it->off = (uint64_t) at;
		return 0;
	}
	r = archive_read_data_block(ar, &blk, &len, &off);
	if (src->map && r == ARCHIVE_OK && off == 0 && archive_entry_sparse_count(ae) == 0 &&
	    (const uint8_t *) blk >= src->map && (const uint8_t *) blk < src->map + src->map_len) {
		doff = (uint64_t) ((const uint8_t *) blk - src->map);
		if (size > src->map_len - doff)
			return ck_err(ret_error, -EBADMSG, "truncated archive: member '%s' ends early",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		if (len == size) {
			it->src = ARC_SRC_ARCHIVE;
			it->off = doff;
			tar_prefetch(src, doff + ((size + 511) & ~(uint64_t) 511));
			return 0;
		}
	}
	/* In a seekable compressed file a large member stays where it is: its
	 * first block lies in our buffer, which places it in the stream, and
	 * libarchive skips the rest without decoding it. */
	if (src->seek && size > a->mem_limit && r == ARCHIVE_OK && off == 0 &&
	    archive_entry_sparse_count(ae) == 0 && (const uint8_t *) blk >= src->buf &&
	    (const uint8_t *) blk < src->buf + src->buf_len) {
		doff = src->buf_pos + (uint64_t) ((const uint8_t *) blk - src->buf);
		if (size > arc_seek_size(src->seek) - doff)
			return ck_err(ret_error, -EBADMSG, "truncated archive: member '%s' ends early",
				       arc_safe_name(it->e.path, name, sizeof(name)));
		it->src = ARC_SRC_SEEK;
		it->off = doff;
		return 0;
	}
	ck_log(CK_LOG_DEBUG, "arc: copying member #%zu (%" PRIu64 " bytes)", a->n - 1, size);
	*copied = true;
	return tar_copy(a, ar, src, it, r, blk, len, off, ret_error);
}

static int tar_add(struct arc *a, struct archive *ar, struct archive_entry *ae,
		   struct tar_src *src, char *last, bool *copied, char **ret_error)
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
	return tar_data(a, ar, ae, src, it, copied, ret_error);
}

/* The tar has ended: decode the compressed data to its end too, so that the
 * check at its end (zstd frame checksum, xz block CRC, gzip CRC-32) is
 * verified and a cut after the last member noticed, as zstd -d, xz -d and
 * gzip -d would. More than TAR_DRAIN_MAX bytes of trailing data are not
 * the tar's and are left alone. libarchive reads no more, so the chunk it
 * had may go back to the decoder. */
static int tar_pipe_drain(struct archive *ar, struct tar_src *src, const char *last, char **ret_error)
{
	uint64_t left = TAR_DRAIN_MAX, in_done;
	const void *blk;
	ssize_t n;

	while ((n = arc_pipe_next(src->pipe, &blk, &in_done)) > 0) {
		if ((uint64_t) n >= left)
			return 0;
		left -= (uint64_t) n;
	}
	if (n == 0)
		return 0;
	src->pipe_rc = (int) n;
	return tar_fail(ar, src, *last ? last : NULL, false, ret_error);
}

static int tar_walk(struct arc *a, struct archive *ar, struct tar_src *src, char **ret_error)
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
			return tar_fail(ar, src, count ? last : NULL, false, ret_error);
		if (r == ARCHIVE_WARN)
			ck_log(CK_LOG_DEBUG, "arc: libarchive warning on member #%zu", count);
		if (count++ == 0)
			tar_set_kind(a, ar, src);
		rc = tar_add(a, ar, ae, src, last, &copied, ret_error);
		if (rc < 0)
			return rc;
		if (src->map && src->fd >= 0)
			arc_progress(a, src->ahead);
	}
	if (!count)
		tar_set_kind(a, ar, src);
	if (src->pipe) {
		rc = tar_pipe_drain(ar, src, last, ret_error);
		if (rc < 0)
			return rc;
	}
	a->zero_copy = src->map && !copied && !strcmp(a->kind, "plain tar");
	return 0;
}

static int tar_index_src(struct arc *a, struct tar_src *src, char **ret_error);
static int tar_index_with(struct arc *a, struct tar_src *src, struct arc_seek *seek_in, char **ret_error);

/* Index the output of the decoder thread, @src->pipe, and stop it. */
static int tar_index_pipe(struct arc *a, struct tar_src *src, char **ret_error)
{
	int rc;

	rc = tar_index_src(a, src, ret_error);
	/* after libarchive: it may point into a chunk until it is freed */
	arc_pipe_free(TAKE_PTR(src->pipe));
	return rc;
}

/* Index a multi-block xz or multi-frame zstd file without decoding the
 * large members (arc-seek.h). Returns -ENOTSUP when the file does not allow
 * it (the caller makes the full pass), else what tar_index_src() does; on
 * success a->seek serves the ARC_SRC_SEEK members. */
static int tar_index_seek(struct arc *a, struct tar_src *src, uint64_t file_size, char **ret_error)
{
	struct arc_seek *seek = NULL;
	_cleanup_free_ char *why = NULL;
	int rc;

	rc = arc_seek_open(src->fd, file_size, NULL, &seek, &why);
	if (rc < 0) {
		/* -EBADMSG too: the full pass names the member where it breaks */
		ck_log(CK_LOG_DEBUG, "arc: no random access: %s", why ? why : strerror(-rc));
		return rc == -ENOMEM ? rc : -ENOTSUP;
	}
	return tar_index_with(a, src, seek, ret_error);
}

int arc_tar_index_seek(struct arc *a, struct arc_seek *seek, const char *comp, const struct arc_midx *midx,
		       char **ret_error)
{
	struct tar_src src = { .fd = -1, .arc = a, .comp = comp, .midx = midx };

	if (midx && midx->tar_size != arc_seek_size(seek)) {
		arc_seek_free(seek);
		return ck_err(ret_error, -EBADMSG, "member index: a tar of %" PRIu64 " bytes, the frames hold %" PRIu64,
			      midx->tar_size, arc_seek_size(seek));
	}
	return tar_index_with(a, &src, seek, ret_error);
}

/* Index the tar @seek decodes (taken over) into @a. */
static int tar_index_with(struct arc *a, struct tar_src *src, struct arc_seek *seek_in, char **ret_error)
{
	_cleanup_(arc_seek_freep) struct arc_seek *seek = seek_in;
	_cleanup_free_ uint8_t *buf = NULL;
	int rc;

	ck_log(CK_LOG_DEBUG, "arc: random access: %s", arc_seek_kind(seek));
	buf = malloc(TAR_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	src->buf = buf;
	src->seek = seek;
	rc = tar_index_src(a, src, ret_error);
	src->seek = NULL;
	src->buf = NULL;
	if (rc == 0)
		a->seek = TAKE_PTR(seek);
	return rc;
}

int arc_tar_index(struct arc *a, int fd, const struct stat *st, char **ret_error)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tar_src src = { .fd = fd, .arc = a };
	void *map;
	int rc;

	if (S_ISREG(st->st_mode)) {
		if (st->st_size == 0)
			return ck_err(ret_error, -EMEDIUMTYPE, "not a tar archive (empty file)");
		src.comp = arc_compression(fd);
		if (src.comp && (!strcmp(src.comp, "xz") || !strcmp(src.comp, "zstd"))) {
			rc = tar_index_seek(a, &src, (uint64_t) st->st_size, ret_error);
			if (rc != -ENOTSUP)
				return rc;
		}
		if (src.comp) {
			rc = arc_pipe_start(src.comp, fd, NULL, 0, &src.pipe);
			if (rc == 0)
				return tar_index_pipe(a, &src, ret_error);
			if (rc != -EAGAIN)
				return rc;
			/* no thread to be had: decompress on this one */
			ck_log(CK_LOG_DEBUG, "arc: no decoder thread, decompressing in line");
		} else if ((uint64_t) st->st_size <= SIZE_MAX) {
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
	}
	rc = tar_index_src(a, &src, ret_error);
	if (src.map)
		munmap((void *) src.map, src.map_len);
	return rc;
}

int arc_tar_index_mem(struct arc *a, const uint8_t *base, size_t len, char **ret_error)
{
	struct tar_src src = { .fd = -1, .map = base, .map_len = len };
	int rc;

	if (len == 0)
		return ck_err(ret_error, -EMEDIUMTYPE, "not a tar archive (empty file)");
	src.comp = tar_compression_of(base, CK_MIN(len, (size_t) 8));
	if (src.comp) {
		rc = arc_pipe_start(src.comp, -1, base, len, &src.pipe);
		if (rc == 0) {
			src.map = NULL;
			return tar_index_pipe(a, &src, ret_error);
		}
		if (rc != -EAGAIN)
			return rc;
		ck_log(CK_LOG_DEBUG, "arc: no decoder thread, decompressing in line");
	}
	return tar_index_src(a, &src, ret_error);
}

/* Run libarchive over @src. A mapping in @src stays the caller's. */
static int tar_index_src(struct arc *a, struct tar_src *src, char **ret_error)
{
	_cleanup_(tar_archive_freep) struct archive *ar = NULL;
	int rc;

	ar = archive_read_new();
	if (!ar)
		return -ENOMEM;
	/* Built-in decompressors only: filter_all would also run external
	 * programs (lrzip, lzop, grzip) on hostile input. The decoder thread
	 * hands over a tar, which no filter may touch. */
	if (!src->pipe && !src->seek) {
		archive_read_support_filter_gzip(ar);
		archive_read_support_filter_bzip2(ar);
		archive_read_support_filter_xz(ar);
		archive_read_support_filter_lzma(ar);
		archive_read_support_filter_zstd(ar);
		archive_read_support_filter_lz4(ar);
		archive_read_support_filter_lzip(ar);
		archive_read_support_filter_compress(ar);
	}
	archive_read_support_format_tar(ar);
	if (archive_read_open2(ar, src, NULL, tar_read_cb,
			       src->pipe ? NULL : src->seek ? tar_seek_skip_cb : tar_skip_cb, NULL) != ARCHIVE_OK)
		rc = tar_fail(ar, src, NULL, false, ret_error);
	else
		rc = tar_walk(a, ar, src, ret_error);
	/* libarchive may still point into the mapping until it is freed. */
	archive_read_free(TAKE_PTR(ar));
	return rc;
}
