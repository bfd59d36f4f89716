/* SPDX-License-Identifier: Apache-2.0 */
/* Where the data behind file descriptors lies inside its image (docs/formats.md
 * §1.3). Records are read one at a time through a pread-like callback and
 * each extra payload is skipped by its length, so a multi-GiB ghost file or
 * socket queue is never loaded: only its offset and length are kept. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "files.pb-c.h"
#include "img-read.h"

/* Header records are a few dozen bytes; anything above this is damage. */
#define DATA_REC_MAX 65536u
/* Bounds the index of one image (records or ghost chunks); beyond it the
 * image counts as truncated. A real queue holds far fewer packets. */
#define DATA_MAX_RECS (1u << 20)

struct walker {
	const struct img_src *src;
	uint64_t pos;
	uint8_t buf[DATA_REC_MAX];
};

/* Read exactly @len bytes at @off. Returns 0, -EBADMSG past the end, -EIO. */
static int src_read(const struct img_src *s, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > s->size || len > s->size - off)
		return -EBADMSG;
	while (done < len) {
		ssize_t got = s->read(s->ctx, (uint8_t *) buf + done, len - done, off + done);

		if (got < 0)
			return (int) got;
		if (got == 0)
			return -EIO;	/* the source is shorter than it said */
		done += (size_t) got;
	}
	return 0;
}

/* Check the head word(s) against @magic and position @w after them. */
static int walk_init(struct walker *w, const struct img_src *src, uint32_t magic)
{
	struct img_reader r;
	uint8_t head[8];
	size_t n = (size_t) CK_MIN(src->size, (uint64_t) sizeof(head));
	int rc;

	w->src = src;
	rc = src_read(src, head, n, 0);
	if (rc < 0)
		return rc;
	rc = img_reader_init(&r, &(struct ck_blob) { head, n }, magic);
	if (rc < 0)
		return rc;
	w->pos = (uint64_t) (r.p - head);
	return 0;
}

/* Unpack the next record with @desc. Returns 1, 0 at a clean end, -EBADMSG
 * (truncated, oversized or undecodable), -EIO. */
static int walk_next(struct walker *w, const ProtobufCMessageDescriptor *desc,
		     ProtobufCMessage **ret)
{
	uint32_t len;
	int rc;

	if (w->pos == w->src->size)
		return 0;
	rc = src_read(w->src, &len, sizeof(len), w->pos);
	if (rc < 0)
		return rc;
	if (len > DATA_REC_MAX)
		return -EBADMSG;
	rc = src_read(w->src, w->buf, len, w->pos + 4);
	if (rc < 0)
		return rc;
	*ret = protobuf_c_message_unpack(desc, NULL, len, w->buf);
	if (!*ret)
		return -EBADMSG;
	w->pos += 4 + (uint64_t) len;
	return 1;
}

/* Skip an extra of @len bytes, recording where it is in @rec. Returns 0, or
 * -EBADMSG (and rec->err) when it runs past the end of the image. */
static int walk_extra(struct walker *w, uint64_t len, struct img_data_rec *rec)
{
	rec->off = w->pos;
	rec->len = len;
	rec->err = 0;
	if (len > w->src->size - w->pos) {
		rec->err = -EBADMSG;
		return -EBADMSG;
	}
	w->pos += len;
	return 0;
}

static int recs_push(struct img_data_recs *r, size_t *cap, const struct img_data_rec *rec)
{
	if (img_grow((void **) &r->recs, cap, r->n + 1, sizeof(*r->recs)) < 0)
		return -ENOMEM;
	r->recs[r->n++] = *rec;
	return 0;
}

/* Records with one u32 key and one extra each (pipes-data, fifo-data, sk-queues). */
static int scan_keyed(const struct img_src *src, uint32_t magic,
		      const ProtobufCMessageDescriptor *desc, struct img_data_recs *ret)
{
	_cleanup_free_ struct walker *w = malloc(sizeof(*w));
	struct img_data_recs r = { 0 };
	size_t cap = 0;
	int rc;

	if (!w)
		return -ENOMEM;
	rc = walk_init(w, src, magic);
	if (rc < 0)
		return rc;
	for (;;) {
		struct img_data_rec rec = { 0 };
		ProtobufCMessage *m = NULL;
		uint64_t len;

		if (r.n == DATA_MAX_RECS) {
			r.truncated = true;
			break;
		}
		rc = walk_next(w, desc, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			r.truncated = true;
			break;
		}
		if (magic == IMG_MAGIC_SK_QUEUES) {
			rec.key = ((const SkPacketEntry *) m)->id_for;
			len = ((const SkPacketEntry *) m)->length;
		} else {
			rec.key = ((const PipeDataEntry *) m)->pipe_id;
			len = ((const PipeDataEntry *) m)->bytes;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		rc = walk_extra(w, len, &rec);
		if (recs_push(&r, &cap, &rec) < 0) {
			img_data_recs_done(&r);
			return -ENOMEM;
		}
		if (rc < 0) {
			r.truncated = true;
			break;
		}
	}
	*ret = r;
	return 0;
}

int img_scan_pipe_data(const struct img_src *src, bool fifo, struct img_data_recs *ret)
{
	uint32_t magic = fifo ? IMG_MAGIC_FIFO_DATA : IMG_MAGIC_PIPES_DATA;

	return scan_keyed(src, magic, &pipe_data_entry__descriptor, ret);
}

int img_scan_sk_queues(const struct img_src *src, struct img_data_recs *ret)
{
	return scan_keyed(src, IMG_MAGIC_SK_QUEUES, &sk_packet_entry__descriptor, ret);
}

void img_data_recs_done(struct img_data_recs *r)
{
	if (!r)
		return;
	free(r->recs);
	*r = (struct img_data_recs) { 0 };
}

int img_scan_tcp_stream(const struct img_src *src, struct img_tcp_queues *ret)
{
	_cleanup_free_ struct walker *w = malloc(sizeof(*w));
	struct img_tcp_queues q = { 0 };
	ProtobufCMessage *m = NULL;
	uint32_t inq, outq;
	int rc;

	if (!w)
		return -ENOMEM;
	rc = walk_init(w, src, IMG_MAGIC_TCP_STREAM);
	if (rc < 0)
		return rc;
	rc = walk_next(w, &tcp_stream_entry__descriptor, &m);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;
	inq = ((const TcpStreamEntry *) m)->inq_len;
	outq = ((const TcpStreamEntry *) m)->outq_len;
	protobuf_c_message_free_unpacked(m, NULL);
	/* the send queue starts where the receive queue ends, even a damaged one */
	if (walk_extra(w, inq, &q.inq) < 0) {
		q.outq = (struct img_data_rec) { .off = src->size, .len = outq, .err = -EBADMSG };
	} else {
		walk_extra(w, outq, &q.outq);
	}
	*ret = q;
	return 0;
}

/* Chunked ghost data: ghost_chunk_entry records, each followed by its bytes.
 * Chunks must come in file order without overlapping (CRIU writes them as
 * SEEK_DATA finds them); anything else marks the ghost damaged. */
static int scan_chunks(struct walker *w, struct img_ghost *g, bool has_size)
{
	size_t cap = 0;
	uint64_t end = 0;
	int rc;

	for (;;) {
		struct img_data_rec rec;
		ProtobufCMessage *m = NULL;
		uint64_t off, len;

		rc = walk_next(w, &ghost_chunk_entry__descriptor, &m);
		if (rc == 0)
			break;
		if (rc < 0 || g->n_chunks == DATA_MAX_RECS)
			goto out_damaged;
		off = ((const GhostChunkEntry *) m)->off;
		len = ((const GhostChunkEntry *) m)->len;
		protobuf_c_message_free_unpacked(m, NULL);
		if (walk_extra(w, len, &rec) < 0 || off < end || len > UINT64_MAX - off ||
		    (has_size && off + len > g->size))
			goto out_damaged;
		if (!len)
			continue;
		if (img_grow((void **) &g->chunks, &cap, g->n_chunks + 1, sizeof(*g->chunks)) < 0)
			return -ENOMEM;
		g->chunks[g->n_chunks++] = (struct img_ghost_chunk) { off, len, rec.off };
		end = off + len;
	}
	if (!has_size)
		g->size = end;
	return 0;
out_damaged:
	g->err = -EBADMSG;
	return 0;
}

int img_scan_ghost(const struct img_src *src, struct img_ghost *ret)
{
	_cleanup_free_ struct walker *w = malloc(sizeof(*w));
	struct img_ghost g = { 0 };
	const GhostFileEntry *e;
	ProtobufCMessage *m = NULL;
	bool has_size;
	int rc;

	if (!w)
		return -ENOMEM;
	rc = walk_init(w, src, IMG_MAGIC_GHOST_FILE);
	if (rc < 0)
		return rc;
	rc = walk_next(w, &ghost_file_entry__descriptor, &m);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;
	e = (const GhostFileEntry *) m;
	g.mode = e->mode;
	g.chunked = e->has_chunks && e->chunks;
	has_size = e->has_size;
	g.size = e->has_size ? e->size : 0;
	protobuf_c_message_free_unpacked(m, NULL);
	if (g.chunked) {
		rc = scan_chunks(w, &g, has_size);
		if (rc < 0) {
			img_ghost_done(&g);
			return rc;
		}
	} else {
		/* raw: the file's bytes run to the end of the image */
		g.size = src->size - w->pos;
		if (g.size) {
			g.chunks = malloc(sizeof(*g.chunks));
			if (!g.chunks)
				return -ENOMEM;
			g.chunks[0] = (struct img_ghost_chunk) { 0, g.size, w->pos };
			g.n_chunks = 1;
		}
	}
	*ret = g;
	return 0;
}

void img_ghost_done(struct img_ghost *g)
{
	if (!g)
		return;
	free(g->chunks);
	*g = (struct img_ghost) { 0 };
}
