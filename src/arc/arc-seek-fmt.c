/* SPDX-License-Identifier: Apache-2.0 */
/* The containers arc-seek.c reads at random: where the units of an .xz or
 * zstd file are, found from its metadata alone, and how one unit decodes.
 * xz: each stream ends in a footer that gives the size of its index, which
 * lists every block; streams are read from the end of the file back, with
 * the stream padding between them. zstd: either the seek table of the
 * seekable format (a skippable frame at the end), or a walk over the frames,
 * whose headers give the content size and whose 3-byte block headers give
 * the frame's length. liblzma and libzstd are used only here. */
#include "arc-seek-priv.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <string.h>
#include <zstd.h>

#include "arc-priv.h"

#define XZ_INDEX_MAX (16u << 20)	/* bytes of one index */
#define XZ_INDEX_MEM (64u << 20)	/* liblzma's memory for one decoded index */
#define XZ_PADDING_MAX (1u << 20)	/* stream padding scanned between streams */
/* An LZMA2 decoder allocates its whole dictionary (64 MiB for xz -9) but
 * only touches what a block fills; larger filter chains are refused. */
#define XZ_DECODER_MEM (80ull << 20)

#define ZST_MAGIC 0xFD2FB528u
#define ZST_SKIP_MAGIC 0x184D2A50u	/* low 4 bits are free */
#define ZST_SKIP_MASK 0xFFFFFFF0u
#define ZST_HEADER_MAX 18
#define ZST_BLOCK_MAX (128u * 1024)

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* Small reads of metadata through a one-page buffer: block headers of a
 * frame are often closer than a page. */
struct seek_rd {
	const struct arc_seek *s;
	uint64_t size;
	uint64_t boff;
	size_t blen;
	uint8_t buf[4096];
};

/* Copy up to @len (at most a page) bytes at @off into @out. Returns the
 * count, short only at the end of the file, or -EIO. */
static ssize_t rd_get(struct seek_rd *r, uint64_t off, void *out, size_t len)
{
	ssize_t n;

	if (off >= r->size)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, r->size - off);
	if (off < r->boff || off + len > r->boff + r->blen) {
		n = arc_seek_read(r->s, r->buf,
				  (size_t) CK_MIN((uint64_t) sizeof(r->buf), r->size - off),
				  off);
		if (n < 0)
			return -EIO;
		r->boff = off;
		r->blen = (size_t) n;
		if (len > r->blen)
			len = r->blen;
	}
	memcpy(out, r->buf + (off - r->boff), len);
	return (ssize_t) len;
}

/* Exactly @len bytes at @off, or -EBADMSG (the file ends first) or -EIO. */
static int read_exact(const struct arc_seek *s, void *buf, size_t len, uint64_t off)
{
	ssize_t n = arc_seek_read(s, buf, len, off);

	if (n < 0)
		return -EIO;
	return (size_t) n == len ? 0 : -EBADMSG;
}

static int io_err(char **ret_error, int rc, uint64_t off)
{
	if (rc == -EBADMSG)
		return ck_err(ret_error, rc, "truncated file: ends before offset %" PRIu64, off);
	return ck_err(ret_error, rc, "cannot read at offset %" PRIu64 ": %s", off, strerror(-rc));
}

/* xz */

static void xz_filters_free(lzma_filter *filters)
{
	for (size_t i = 0; i < LZMA_FILTERS_MAX && filters[i].id != LZMA_VLI_UNKNOWN; i++) {
		free(filters[i].options);
		filters[i].options = NULL;
	}
}

/* Decode the block header at @in (@len bytes available) of unit @u into
 * @block and @filters (to be freed with xz_filters_free() on success), and
 * check the decoder's memory. Returns 0, -ENOTSUP (too much memory) or
 * -EBADMSG, with a reason. */
static int xz_block_header(const struct seek_unit *u, const uint8_t *in, size_t len,
			   lzma_block *block, lzma_filter *filters, const char **ret_why)
{
	*block = (lzma_block) {
		.version = 1, .check = (lzma_check) u->xz_check, .filters = filters,
	};
	block->header_size = lzma_block_header_size_decode(in[0]);
	if (in[0] == 0 || block->header_size > len) {
		*ret_why = "bad block header size";
		return -EBADMSG;
	}
	if (lzma_block_header_decode(block, NULL, in) != LZMA_OK) {
		*ret_why = "corrupt or unsupported block header";
		return -EBADMSG;
	}
	if (lzma_raw_decoder_memusage(filters) > XZ_DECODER_MEM) {
		xz_filters_free(filters);
		*ret_why = "filters need too much memory";
		return -ENOTSUP;
	}
	if (block->uncompressed_size != LZMA_VLI_UNKNOWN && block->uncompressed_size != u->usize) {
		xz_filters_free(filters);
		*ret_why = "block header and index disagree on the size";
		return -EBADMSG;
	}
	return 0;
}

static int xz_decode(const struct seek_unit *u, const uint8_t *in, uint8_t *out,
		     const char **ret_why)
{
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
	lzma_block block;
	size_t in_pos, out_pos = 0;
	lzma_ret ret;

	if (xz_block_header(u, in, u->csize, &block, filters, ret_why) < 0)
		return -EIO;
	/* The decoder checks the data against this, and the check field. */
	block.uncompressed_size = u->usize;
	in_pos = block.header_size;
	ret = lzma_block_buffer_decode(&block, NULL, in, &in_pos, u->csize, out, &out_pos,
				       u->usize);
	xz_filters_free(filters);
	if (ret != LZMA_OK) {
		*ret_why =
			ret == LZMA_MEM_ERROR ? "out of memory" : "corrupt data or check mismatch";
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
	}
	if (in_pos != u->csize || out_pos != u->usize) {
		*ret_why = "block size differs from the index";
		return -EIO;
	}
	return 0;
}

static void units_reverse(struct seek_unit *u, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct seek_unit t = u[i];

		u[i] = u[n - 1 - i];
		u[n - 1 - i] = t;
	}
}

/* Step back over the stream padding (zero bytes, a multiple of 4) that ends at *@pos. */
static int xz_skip_padding(struct arc_seek *s, uint64_t *pos, char **ret_error)
{
	uint8_t buf[4096];
	uint64_t zeros = 0;
	int rc;

	while (*pos > 0) {
		size_t len = (size_t) CK_MIN((uint64_t) sizeof(buf), *pos), i;

		rc = read_exact(s, buf, len, *pos - len);
		if (rc < 0)
			return io_err(ret_error, rc, *pos);
		for (i = len; i > 0 && buf[i - 1] == 0; i--)
			;
		zeros += len - i;
		*pos -= len - i;
		if (i > 0)
			break;
		if (zeros > XZ_PADDING_MAX)
			return ck_err(ret_error, -ENOTSUP, "over %u bytes of xz stream padding",
				       XZ_PADDING_MAX);
	}
	if (zeros % 4)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt xz file: stream padding of %" PRIu64 " bytes", zeros);
	if (*pos == 0)
		return ck_err(ret_error, -EBADMSG, "corrupt xz file: nothing but padding");
	return 0;
}

static int xz_flags_err(lzma_ret ret, const char *what, uint64_t off, char **ret_error)
{
	if (ret == LZMA_FORMAT_ERROR)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt or truncated xz file: no stream %s at %" PRIu64, what, off);
	if (ret == LZMA_OPTIONS_ERROR)
		return ck_err(ret_error, -ENOTSUP, "unsupported xz stream %s at %" PRIu64, what,
			       off);
	return ck_err(ret_error, -EBADMSG, "corrupt xz stream %s at %" PRIu64, what, off);
}

static void xz_index_endp(lzma_index **p)
{
	if (*p)
		lzma_index_end(*p, NULL);
}

/* Add the blocks of the stream that ends at *@pos, and move *@pos to its start. */
static int xz_stream(struct arc_seek *s, uint64_t *pos, char **ret_error)
{
	uint8_t foot[LZMA_STREAM_HEADER_SIZE], head[LZMA_STREAM_HEADER_SIZE];
	_cleanup_(xz_index_endp) lzma_index *idx = NULL;
	_cleanup_free_ uint8_t *ibuf = NULL;
	lzma_stream_flags ff, hf;
	lzma_index_iter it;
	uint64_t memlimit = XZ_INDEX_MEM, isize, ssize, start, foot_off;
	size_t in_pos = 0, first = s->n;
	lzma_ret ret;
	int rc;

	if (*pos < 2 * LZMA_STREAM_HEADER_SIZE)
		return ck_err(ret_error, -EBADMSG,
			       "truncated xz file: %" PRIu64 " bytes before a footer", *pos);
	foot_off = *pos - LZMA_STREAM_HEADER_SIZE;
	rc = read_exact(s, foot, sizeof(foot), foot_off);
	if (rc < 0)
		return io_err(ret_error, rc, foot_off);
	ret = lzma_stream_footer_decode(&ff, foot);
	if (ret != LZMA_OK)
		return xz_flags_err(ret, "footer", foot_off, ret_error);
	if (!lzma_check_is_supported(ff.check))
		return ck_err(ret_error, -ENOTSUP, "xz integrity check %d not supported",
			       (int) ff.check);
	isize = ff.backward_size;
	if (isize > foot_off - LZMA_STREAM_HEADER_SIZE)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt xz file: index of %" PRIu64 " bytes before offset %" PRIu64,
			       isize, foot_off);
	if (isize > XZ_INDEX_MAX)
		return ck_err(ret_error, -ENOTSUP, "xz index of %" PRIu64 " bytes", isize);
	ibuf = malloc((size_t) isize);
	if (!ibuf)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	rc = read_exact(s, ibuf, (size_t) isize, foot_off - isize);
	if (rc < 0)
		return io_err(ret_error, rc, foot_off - isize);
	ret = lzma_index_buffer_decode(&idx, &memlimit, NULL, ibuf, &in_pos, (size_t) isize);
	if (ret == LZMA_MEMLIMIT_ERROR)
		return ck_err(ret_error, -ENOTSUP, "xz index needs %" PRIu64 " bytes of memory",
			       memlimit);
	if (ret == LZMA_MEM_ERROR)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	if (ret != LZMA_OK || in_pos != isize)
		return ck_err(ret_error, -EBADMSG, "corrupt xz index at %" PRIu64,
			       foot_off - isize);
	/* Stream header, blocks, index and footer, as the index adds them up. */
	ssize = lzma_index_stream_size(idx);
	if (ssize > *pos)
		return ck_err(ret_error, -EBADMSG, "corrupt xz file: the index lists %" PRIu64
			       " bytes of stream before offset %" PRIu64, ssize, *pos);
	start = *pos - ssize;
	rc = read_exact(s, head, sizeof(head), start);
	if (rc < 0)
		return io_err(ret_error, rc, start);
	ret = lzma_stream_header_decode(&hf, head);
	if (ret != LZMA_OK)
		return xz_flags_err(ret, "header", start, ret_error);
	if (lzma_stream_flags_compare(&hf, &ff) != LZMA_OK)
		return ck_err(ret_error, -EBADMSG, "corrupt xz file: stream header at %" PRIu64
			       " and footer differ", start);
	if (s->n + lzma_index_block_count(idx) > SEEK_UNITS_MAX)
		return ck_err(ret_error, -ENOTSUP, "over %u xz blocks", SEEK_UNITS_MAX);
	lzma_index_iter_init(&it, idx);
	while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
		rc = arc_seek_add(s, start + it.block.compressed_stream_offset, it.block.total_size,
				  it.block.uncompressed_size, ret_error);
		if (rc < 0)
			return rc;
	}
	for (size_t i = first; i < s->n; i++)
		s->units[i].xz_check = (uint8_t) ff.check;
	/* Streams come last first: store each one reversed, and reverse all at the end. */
	units_reverse(s->units + first, s->n - first);
	*pos = start;
	return 0;
}

static int xz_scan(struct arc_seek *s, char **ret_error)
{
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
	uint8_t head[1024];
	uint64_t pos = s->file_size;
	const char *why = NULL;
	lzma_block block;
	ssize_t n;
	int rc;

	while (pos > 0) {
		rc = xz_skip_padding(s, &pos, ret_error);
		if (rc < 0)
			return rc;
		rc = xz_stream(s, &pos, ret_error);
		if (rc < 0)
			return rc;
	}
	units_reverse(s->units, s->n);
	if (s->n < 2)
		return 0;
	/* Blocks of one file usually share their filters: refuse here, once,
	 * a dictionary too large, rather than failing every read later. */
	n = arc_seek_read(s, head, (size_t) CK_MIN((uint64_t) sizeof(head), s->units[0].csize),
			  s->units[0].coff);
	if (n <= 0)
		return io_err(ret_error, n < 0 ? -EIO : -EBADMSG, s->units[0].coff);
	rc = xz_block_header(&s->units[0], head, (size_t) n, &block, filters, &why);
	if (rc < 0)
		return ck_err(ret_error, rc, "xz block at %" PRIu64 ": %s", s->units[0].coff, why);
	xz_filters_free(filters);
	return 0;
}

/* zstd */

struct zst_head {
	size_t size;
	uint64_t content;	/* or ZSTD_CONTENTSIZE_UNKNOWN */
	bool checksum;
	bool dict;
};

/* Parse the frame header at @h, @n bytes of which are there. Returns 0 or -EBADMSG. */
static int zst_header(const uint8_t *h, size_t n, struct zst_head *ret)
{
	static const uint8_t did_len[4] = { 0, 1, 2, 4 }, fcs_len[4] = { 0, 2, 4, 8 };
	uint8_t fhd;
	bool single;
	size_t dl;
	uint32_t did = 0;
	unsigned long long fcs;

	if (n < 6 || le32(h) != ZST_MAGIC)
		return -EBADMSG;
	fhd = h[4];
	single = fhd & 0x20;
	if (fhd & 0x08)
		return -EBADMSG;	/* reserved bit */
	dl = did_len[fhd & 3];
	ret->size = 5 + !single + dl + (fhd >> 6 == 0 ? single : fcs_len[fhd >> 6]);
	if (n < ret->size)
		return -EBADMSG;
	for (size_t i = 0; i < dl; i++)
		did |= (uint32_t) h[5 + !single + i] << (8 * i);
	fcs = ZSTD_getFrameContentSize(h, ret->size);
	if (fcs == ZSTD_CONTENTSIZE_ERROR)
		return -EBADMSG;
	ret->content = fcs;
	ret->checksum = fhd & 0x04;
	ret->dict = did != 0;
	return 0;
}

/* Walk the frame at @pos (after its header @zh) block by block, and put
 * the offset just past it in @ret_end. Returns 0 or -errno with a message. */
static int zst_frame_end(struct arc_seek *s, struct seek_rd *rd, uint64_t pos,
			 const struct zst_head *zh, uint64_t *ret_end, char **ret_error)
{
	uint64_t end = pos + zh->size;

	for (;;) {
		uint8_t b[3];
		uint32_t bh, type, bsize;
		ssize_t n = rd_get(rd, end, b, 3);

		if (n < 0)
			return io_err(ret_error, -EIO, end);
		if (n < 3)
			return ck_err(ret_error, -EBADMSG,
				       "truncated zstd file: frame at %" PRIu64 " ends early", pos);
		bh = b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16;
		type = (bh >> 1) & 3;
		bsize = bh >> 3;
		if (type == 3 || bsize > ZST_BLOCK_MAX)
			return ck_err(ret_error, -EBADMSG, "corrupt zstd block header at %" PRIu64,
				       end);
		end += 3 + (type == 1 ? 1 : bsize);	/* RLE: one byte, repeated */
		if (end > s->file_size)
			return ck_err(ret_error, -EBADMSG,
				       "truncated zstd file: frame at %" PRIu64 " ends early", pos);
		/* Stop early on a frame far larger than its content (empty blocks). */
		if (end - pos > zh->content + zh->content / 16 + 65536)
			return ck_err(ret_error, -ENOTSUP,
				       "zstd frame at %" PRIu64 " larger than its content", pos);
		if (bh & 1)
			break;
	}
	if (zh->checksum)
		end += 4;
	if (end > s->file_size)
		return ck_err(ret_error, -EBADMSG,
			       "truncated zstd file: frame at %" PRIu64 " ends early", pos);
	*ret_end = end;
	return 0;
}

/* Every frame declares its content size: walk them. */
static int zst_walk(struct arc_seek *s, struct seek_rd *rd, char **ret_error)
{
	uint64_t pos = 0;
	int rc;

	while (pos < s->file_size) {
		uint8_t h[ZST_HEADER_MAX];
		struct zst_head zh;
		ssize_t n = rd_get(rd, pos, h, sizeof(h));
		uint64_t end = 0;

		if (n < 0)
			return io_err(ret_error, -EIO, pos);
		if (n >= 8 && (le32(h) & ZST_SKIP_MASK) == ZST_SKIP_MAGIC) {
			pos += 8 + (uint64_t) le32(h + 4);
			if (pos > s->file_size)
				return ck_err(
					ret_error, -EBADMSG,
					"truncated zstd file: skippable frame runs past the end");
			continue;
		}
		if (n < 4 || le32(h) != ZST_MAGIC)
			return ck_err(ret_error, -EBADMSG,
				       "corrupt zstd file: no frame at offset %" PRIu64, pos);
		if (zst_header(h, (size_t) n, &zh) < 0)
			return ck_err(ret_error, -EBADMSG, "corrupt zstd frame header at %" PRIu64,
				       pos);
		if (zh.dict)
			return ck_err(ret_error, -ENOTSUP,
				       "zstd frame at %" PRIu64 " needs a dictionary", pos);
		if (zh.content == ZSTD_CONTENTSIZE_UNKNOWN)
			return ck_err(ret_error, -ENOTSUP,
				       "zstd frame at %" PRIu64 " without a content size", pos);
		if (zh.content > s->unit_cap)
			return ck_err(ret_error, -ENOTSUP,
				       "zstd frame at %" PRIu64 " holds %llu bytes, over %" PRIu64,
				       pos, (unsigned long long) zh.content, s->unit_cap);
		rc = zst_frame_end(s, rd, pos, &zh, &end, ret_error);
		if (rc < 0)
			return rc;
		rc = arc_seek_add(s, pos, end - pos, zh.content, ret_error);
		if (rc < 0)
			return rc;
		pos = end;
	}
	return 0;
}

/* The seekable format: @foot is the last 9 bytes of the file. */
static int zst_table(struct arc_seek *s, struct seek_rd *rd, const uint8_t *foot, char **ret_error)
{
	_cleanup_free_ uint8_t *tab = NULL;
	uint32_t nframes = le32(foot);
	uint8_t desc = foot[4];
	size_t esize = desc & 0x80 ? 12 : 8;
	uint64_t tlen, data_len, coff = 0;
	int rc;

	if (desc & 0x7c)
		return ck_err(ret_error, -ENOTSUP, "zstd seek table with reserved bits 0x%02x",
			       desc);
	if (nframes > SEEK_UNITS_MAX)
		return ck_err(ret_error, -ENOTSUP, "zstd seek table of %" PRIu32 " frames",
			       nframes);
	tlen = (uint64_t) nframes * esize + CK_ZST_FOOTER_SIZE;
	if (tlen + 8 > s->file_size)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt zstd seek table: %" PRIu32 " frames in a %" PRIu64
			       "-byte file",
			       nframes, s->file_size);
	data_len = s->file_size - tlen - 8;
	tab = malloc((size_t) tlen + 8);
	if (!tab)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	rc = read_exact(s, tab, (size_t) tlen + 8, data_len);
	if (rc < 0)
		return io_err(ret_error, rc, data_len);
	if (le32(tab) != CK_ZST_TABLE_MAGIC || le32(tab + 4) != tlen)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt zstd seek table: its frame header at %" PRIu64
			       " does not match the footer",
			       data_len);
	for (uint32_t i = 0; i < nframes; i++) {
		const uint8_t *e = tab + 8 + i * esize;
		uint32_t cs = le32(e), us = le32(e + 4);
		uint8_t h[ZST_HEADER_MAX];
		struct zst_head zh;
		ssize_t n;

		if (cs > data_len - coff)
			return ck_err(ret_error, -EBADMSG,
				       "corrupt zstd seek table: frame %" PRIu32
				       " runs past the table",
				       i);
		if (us == 0) {
			coff += cs;
			continue;	/* skippable or empty frames */
		}
		/* One small read per frame: the table must point at frames that
		 * agree with it, unless its digest was checked (each frame is
		 * then checked against its own before it is decoded). */
		if (s->table_trusted)
			goto add;
		n = rd_get(rd, coff, h, sizeof(h));
		if (n < 0)
			return io_err(ret_error, -EIO, coff);
		if ((uint64_t) n > cs)
			n = cs;
		if (zst_header(h, (size_t) n, &zh) < 0)
			return ck_err(ret_error, -EBADMSG,
				       "corrupt zstd seek table: no frame at %" PRIu64
				       " for entry %" PRIu32,
				       coff, i);
		if (zh.dict)
			return ck_err(ret_error, -ENOTSUP,
				       "zstd frame at %" PRIu64 " needs a dictionary", coff);
		if (zh.content != ZSTD_CONTENTSIZE_UNKNOWN && zh.content != us)
			return ck_err(ret_error, -EBADMSG,
				       "corrupt zstd seek table: frame %" PRIu32 " holds %llu"
				       " bytes, the table says %" PRIu32,
				       i, (unsigned long long) zh.content, us);
add:
		rc = arc_seek_add(s, coff, cs, us, ret_error);
		if (rc < 0)
			return rc;
		if (esize == 12 && s->n > 0 && s->units[s->n - 1].coff == coff) {
			s->units[s->n - 1].sum = le32(e + 8);
			s->units[s->n - 1].has_sum = true;
		}
		coff += cs;
	}
	if (coff != data_len)
		return ck_err(ret_error, -EBADMSG,
			       "corrupt zstd seek table: frames add up to %" PRIu64
			       " bytes, %" PRIu64 " precede the table",
			       coff, data_len);
	return 0;
}

static int zst_decode(const struct seek_unit *u, const uint8_t *in, uint8_t *out,
		      const char **ret_why)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t r;

	if (!dctx) {
		*ret_why = "out of memory";
		return -ENOMEM;
	}
	/* One shot into the whole unit: no window buffer is allocated. Frame
	 * checksums, when present, are verified. */
	r = ZSTD_decompressDCtx(dctx, out, u->usize, in, u->csize);
	ZSTD_freeDCtx(dctx);
	if (ZSTD_isError(r)) {
		*ret_why = ZSTD_getErrorName(r);
		return -EIO;
	}
	if (r != u->usize) {
		*ret_why = "frame size differs from the table";
		return -EIO;
	}
	return 0;
}

static int zst_scan(struct arc_seek *s, char **ret_error)
{
	struct seek_rd rd = { .s = s, .size = s->file_size };
	uint8_t foot[CK_ZST_FOOTER_SIZE];
	int rc;

	if (s->file_size >= CK_ZST_FOOTER_SIZE + 8) {
		rc = read_exact(s, foot, sizeof(foot), s->file_size - sizeof(foot));
		if (rc < 0)
			return io_err(ret_error, rc, s->file_size - sizeof(foot));
		if (le32(foot + 5) == CK_ZST_SEEKABLE_MAGIC) {
			s->fmt = SEEK_ZSTD_TABLE;
			return zst_table(s, &rd, foot, ret_error);
		}
	}
	s->fmt = SEEK_ZSTD;
	return zst_walk(s, &rd, ret_error);
}

int arc_seek_scan(struct arc_seek *s, char **ret_error)
{
	uint8_t head[8];
	ssize_t n = arc_seek_read(s, head, sizeof(head), 0);

	if (n < 0)
		return io_err(ret_error, -EIO, 0);
	if ((size_t) n >= sizeof(xz_magic) && !memcmp(head, xz_magic, sizeof(xz_magic))) {
		s->fmt = SEEK_XZ;
		return xz_scan(s, ret_error);
	}
	if (n >= 4 && (le32(head) == ZST_MAGIC || (le32(head) & ZST_SKIP_MASK) == ZST_SKIP_MAGIC))
		return zst_scan(s, ret_error);
	return ck_err(ret_error, -ENOTSUP, "neither xz nor zstd");
}

int arc_seek_decode(const struct arc_seek *s, const struct seek_unit *u, const uint8_t *in,
		    uint8_t *out, const char **ret_why)
{
	return s->fmt == SEEK_XZ ? xz_decode(u, in, out, ret_why) : zst_decode(u, in, out, ret_why);
}
