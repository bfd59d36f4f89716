/* SPDX-License-Identifier: Apache-2.0 */
/* The member index of a seekable zstd tar (written by pack/ for
 * --recompress and --build-oci; the layout is in docs/formats.md): a
 * skippable frame just before the seek table that holds the sha256 of each
 * compressed frame and, for each tar entry, its offset in the tar and its
 * header blocks (pax and long-name headers included). Read from the end of
 * the file: the seek table's footer, then the index frame's trailer, then
 * the index and the table in one read, checked against the digest the
 * layer's annotation gives, so that nothing else of the file is fetched to
 * list its members and each frame can be checked before it is decoded. */
#include "arc-midx.h"
#include "arc-seek-priv.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "arc-oci.h"

/* the writer, pack/pack-zstd.c, spells these too (pack cannot see arc) */
#define MIDX_MAX (256u << 20)

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

void arc_midx_free(struct arc_midx *m)
{
	if (!m)
		return;
	free(m->raw);
	free(m->entries);
	free(m->sha256);
	free(m);
}

static int midx_get(const struct arc_seek_src *src, void *buf, size_t len, uint64_t off, char **ret_error)
{
	ssize_t n = src->pread(src->ctx, buf, len, off);

	if (n < 0)
		return ck_err(ret_error, -EIO, "cannot read %zu bytes at %" PRIu64, len, off);
	if ((size_t) n != len)
		return ck_err(ret_error, -EBADMSG, "truncated: ends before offset %" PRIu64, off + len);
	return 0;
}

/* The frame digests and the entries of the index whose content is @p
 * (@len bytes, the trailer excluded). */
static int midx_parse(struct arc_midx *m, const uint8_t *p, size_t len, char **ret_error)
{
	const uint8_t *end = p + len;
	uint32_t n_entries;
	uint64_t last = 0;

	if (len < 28 || memcmp(p, CK_MIDX_ID, 8) || get32(p + 8) != CK_MIDX_VERSION)
		return ck_err(ret_error, -EBADMSG, "member index: unknown format");
	m->n_frames = get32(p + 12);
	n_entries = get32(p + 16);
	m->tar_size = get64(p + 20);
	p += 28;
	if ((uint64_t) m->n_frames * 64 > (uint64_t) (end - p))
		return ck_err(ret_error, -EBADMSG, "member index: %" PRIu32 " frames do not fit", m->n_frames);
	m->sha256 = malloc((size_t) m->n_frames * ARC_DIGEST_SIZE + 1);
	m->entries = calloc((size_t) n_entries + 1, sizeof(*m->entries));
	if (!m->sha256 || !m->entries)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->n_frames; i++, p += 64) {
		char *d = m->sha256 + (size_t) i * ARC_DIGEST_SIZE;

		memcpy(d, "sha256:", 7);
		memcpy(d + 7, p, 64);
		d[71] = '\0';
		if (!arc_digest_ok(d, 71))
			return ck_err(ret_error, -EBADMSG, "member index: frame %" PRIu32 " has no sha256", i);
	}
	for (uint32_t i = 0; i < n_entries; i++) {
		struct arc_midx_entry *e = &m->entries[i];

		if (end - p < 12)
			return ck_err(ret_error, -EBADMSG, "member index: entry %" PRIu32 " cut short", i);
		e->off = get64(p);
		e->len = get32(p + 8);
		e->hdr = p + 12;
		p += 12;
		if (e->len > (uint64_t) (end - p) || e->off < last || e->off > m->tar_size ||
		    e->len > m->tar_size - e->off)
			return ck_err(ret_error, -EBADMSG, "member index: entry %" PRIu32 " out of place", i);
		p += e->len;
		last = e->off + e->len;
	}
	if (p != end)
		return ck_err(ret_error, -EBADMSG, "member index: %zu bytes after its entries", (size_t) (end - p));
	m->n_entries = n_entries;
	return 0;
}

int arc_midx_read(const struct arc_seek_src *src, uint64_t size, const char *digest, struct arc_midx **ret,
		  char **ret_error)
{
	_cleanup_(arc_midx_freep) struct arc_midx *m = calloc(1, sizeof(*m));
	uint8_t foot[CK_ZST_FOOTER_SIZE], trail[8];
	char got[ARC_DIGEST_SIZE];
	uint64_t table, content, start;
	int rc;

	if (!m)
		return -ENOMEM;
	if (size < CK_ZST_FOOTER_SIZE + 16)
		return ck_err(ret_error, -EBADMSG, "member index: a file of %" PRIu64 " bytes", size);
	rc = midx_get(src, foot, sizeof(foot), size - sizeof(foot), ret_error);
	if (rc < 0)
		return rc;
	if (get32(foot + 5) != CK_ZST_SEEKABLE_MAGIC || foot[4] != 0)
		return ck_err(ret_error, -EBADMSG, "member index: no seek table at the end");
	table = (uint64_t) get32(foot) * 8 + CK_ZST_FOOTER_SIZE + 8;
	if (table + 8 > size)
		return ck_err(ret_error, -EBADMSG, "member index: a seek table larger than the file");
	rc = midx_get(src, trail, sizeof(trail), size - table - 8, ret_error);
	if (rc < 0)
		return rc;
	content = get32(trail);
	if (memcmp(trail + 4, CK_MIDX_TRAILER, 4) || content < 36 || content > MIDX_MAX || content + 8 > size - table)
		return ck_err(ret_error, -EBADMSG, "member index: none before the seek table");
	start = size - table - content - 8;
	m->raw = malloc((size_t) (size - start));
	if (!m->raw)
		return -ENOMEM;
	rc = midx_get(src, m->raw, (size_t) (size - start), start, ret_error);
	rc = rc ?: arc_sha256_of(m->raw, (size_t) (size - start), got);
	if (rc < 0)
		return rc;
	if (strcmp(got, digest))
		return ck_err(ret_error, -EBADMSG, "member index and seek table do not match their digest %s "
			      "(their sha256 is %s)", digest + 7, got + 7);
	if (get32(m->raw) != CK_MIDX_MAGIC || get32(m->raw + 4) != content)
		return ck_err(ret_error, -EBADMSG, "member index: its frame header is not one");
	rc = midx_parse(m, m->raw + 8, (size_t) content - 8, ret_error);
	if (rc < 0)
		return rc;
	*ret = TAKE_PTR(m);
	return 0;
}
