/* SPDX-License-Identifier: Apache-2.0 */
/* Render any CRIU image as the JSON `crit decode [--pretty]` prints: a
 * generic walk over the protobuf-c descriptors, plus the per-type layouts
 * (pagemap head, ghost file data, extras). The text must match crit byte
 * for byte, so the JSON writer copies Python's json.dumps() formatting:
 * indent 4 with "," line ends when pretty, ", " and ": " on one line when
 * plain, ASCII-only strings. */
#include <errno.h>
#include <string.h>

#include "common.pb-c.h"
#include "files.pb-c.h"
#include "namespaces.pb-c.h"
#include "task.pb-c.h"

#include "img-fmt.h"
#include "img-priv.h"

/* Deeper nesting than any CRIU image has; hostile input beyond it is
 * rejected before protobuf-c (which recurses without a limit) sees it. */
#define JSON_MAX_DEPTH 32

static void msg_freep(ProtobufCMessage **m)
{
	if (*m)
		protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_msg_ _cleanup_(msg_freep)
#define _cleanup_rec_ _cleanup_(img_rec_done)

/* ---- JSON writer ------------------------------------------------------- */

struct jw {
	struct ck_buf *b;
	bool pretty;	/* indent 4 and one item a line */
	bool hints;	/* apply the fields' hex/dev/flags/dict/ipadd hints */
	int depth;
	bool empty;	/* the innermost open container has no item yet */
};

static void jw_newline(struct jw *w)
{
	ck_buf_putc(w->b, '\n');
	for (int i = 0; i < w->depth; i++)
		ck_buf_puts(w->b, "    ");
}

/* Start the next item of the open container. */
static void jw_item(struct jw *w)
{
	ck_buf_drain(w->b);	/* what came before this item is final */
	if (!w->empty)
		ck_buf_putc(w->b, ',');
	if (w->pretty)
		jw_newline(w);
	else if (!w->empty)
		ck_buf_putc(w->b, ' ');
	w->empty = false;
}

static void jw_key(struct jw *w, const char *key)
{
	jw_item(w);
	img_fmt_json_str(w->b, key, strlen(key));
	ck_buf_puts(w->b, ": ");
}

static void jw_open(struct jw *w, char c)
{
	ck_buf_putc(w->b, c);
	w->depth++;
	w->empty = true;
}

static void jw_close(struct jw *w, char c)
{
	w->depth--;
	if (!w->empty && w->pretty)
		jw_newline(w);
	ck_buf_putc(w->b, c);
	w->empty = false;
}

static void jw_b64(struct jw *w, const uint8_t *p, size_t len)
{
	struct ck_buf t = { 0 };

	img_fmt_base64(&t, p, len);
	if (t.oom)
		w->b->oom = true;
	else
		img_fmt_json_str(w->b, t.data ? t.data : "", t.len);
	ck_buf_done(&t);
}

/* ---- wire pre-check ---------------------------------------------------- */

/* Walk the wire format of @desc's message and reject nesting deeper than
 * JSON_MAX_DEPTH, so neither protobuf-c nor the renderer recurses without
 * bound. Anything else malformed is left for protobuf-c to refuse. */
static int wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		      int depth)
{
	const uint8_t *end = p + len;
	struct ck_pb_field f;

	if (depth > JSON_MAX_DEPTH)
		return -EBADMSG;
	while (p < end) {
		const ProtobufCFieldDescriptor *fd = NULL;
		int rc;

		if (ck_pb_next(&p, end, &f) < 0)
			return -EBADMSG;
		if (f.wt != 2)
			continue;
		if (f.id <= UINT32_MAX)
			fd = protobuf_c_message_descriptor_get_field(desc, (unsigned) f.id);
		if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			rc = wire_check(fd->descriptor, f.data, f.len, depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

size_t img_json_stream_min = IMG_JSON_STREAM_MIN;
unsigned long img_json_streamed;

/* @rec unpacked as @desc into @ret, its large repeated message fields left
 * for render_streamed() (src/img/img-strip.c). */
static int unpack(const ProtobufCMessageDescriptor *desc, const struct ck_blob *rec,
		  struct img_rec *ret)
{
	if (wire_check(desc, rec->data, rec->len, 0) < 0)
		return -EBADMSG;
	return img_rec_unpack(ret, desc, rec, img_json_stream_min);
}

/* Next record of @r unpacked as @desc: 1, 0 at a clean end, -EBADMSG. */
static int next_msg(struct img_reader *r, const ProtobufCMessageDescriptor *desc,
		    struct img_rec *ret)
{
	struct ck_blob rec;
	int rc;

	rc = img_reader_next_raw(r, &rec);
	if (rc <= 0)
		return rc;
	rc = unpack(desc, &rec, ret);
	return rc < 0 ? rc : 1;
}

/* ---- generic message walk ---------------------------------------------- */

static size_t field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *) m;
	const void *v = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return 1;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *) (base + f->quantifier_offset);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *) (base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
		const void *p = *(const void *const *) v;

		/* an absent string points at its default value, if it has one */
		return p && p != f->default_value;
	}
	if (f->label == PROTOBUF_C_LABEL_NONE)
		return 1;
	return *(const protobuf_c_boolean *) (base + f->quantifier_offset) ? 1 : 0;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static bool type_signed(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
	       t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
	       t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

static int render_fields(struct jw *w, const ProtobufCMessage *m, bool hex, int depth,
			 const struct img_rec *rec);

static int render_object(struct jw *w, const ProtobufCMessage *m, bool hex, int depth,
			 const struct img_rec *rec)
{
	int rc;

	jw_open(w, '{');
	rc = render_fields(w, m, hex, depth, rec);
	jw_close(w, '}');
	return rc;
}

/* An integer field value as crit prints it: pretty mode applies the
 * field's hints, hex first (inherited or its own), then dev, flags, dict. */
static void render_int(struct jw *w, const ProtobufCFieldDescriptor *f,
		       const struct img_fmt_hint *h, bool hex, const void *v)
{
	bool sgn = type_signed(f->type);
	uint64_t u;
	int64_t s;

	if (elem_size(f->type) == 8) {
		memcpy(&u, v, 8);
		s = (int64_t) u;
	} else if (sgn) {
		int32_t x;

		memcpy(&x, v, 4);
		s = x;
		u = (uint64_t) s;
	} else {
		uint32_t x;

		memcpy(&x, v, 4);
		u = x;
		s = (int64_t) u;
	}
	if (sgn && s < 0) {
		/* no CRIU field with dev, flags or dict hints is signed */
		if (w->hints && hex)
			ck_buf_printf(w->b, "\"-0x%llx\"", (unsigned long long) -(uint64_t) s);
		else
			ck_buf_printf(w->b, "%lld", (long long) s);
		return;
	}
	if (w->hints && hex) {
		ck_buf_printf(w->b, "\"0x%llx\"", (unsigned long long) u);
	} else if (w->hints && h && h->dev) {
		ck_buf_putc(w->b, '"');
		img_fmt_dev(w->b, u, h->odev);
		ck_buf_putc(w->b, '"');
	} else if (w->hints && h && h->flags) {
		if (img_fmt_flags(w->b, h->flags, u) < 0)
			ck_buf_printf(w->b, "\"0x%llx\"", (unsigned long long) u);
	} else if (w->hints && h && h->dict && img_fmt_dict(h->dict, f->name, u)) {
		ck_buf_printf(w->b, "\"%s\"", img_fmt_dict(h->dict, f->name, u));
	} else {
		ck_buf_printf(w->b, "%llu", (unsigned long long) u);
	}
}

static int render_value(struct jw *w, const ProtobufCFieldDescriptor *f,
			const struct img_fmt_hint *h, bool hex, const void *v, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return render_object(w, *(const ProtobufCMessage *const *) v, hex, depth + 1, NULL);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *) v;

		img_fmt_json_str(w->b, s, strlen(s));
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *d = v;

		if (h && h->unix_name) {
			struct ck_buf t = { 0 };

			img_fmt_qp(&t, d->data, d->len);
			if (t.oom)
				w->b->oom = true;
			else
				img_fmt_json_str(w->b, t.data ? t.data : "", t.len);
			ck_buf_done(&t);
		} else {
			jw_b64(w, d->data, d->len);
		}
		return 0;
	}
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev;
		int32_t x;

		memcpy(&x, v, 4);
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, x);
		if (ev)
			img_fmt_json_str(w->b, ev->name, strlen(ev->name));
		else
			ck_buf_puts(w->b, "null");
		return 0;
	}
	case PROTOBUF_C_TYPE_BOOL:
		ck_buf_puts(w->b, *(const protobuf_c_boolean *) v ? "true" : "false");
		return 0;
	case PROTOBUF_C_TYPE_FLOAT: {
		float x;

		memcpy(&x, v, 4);
		ck_buf_printf(w->b, "%.9g", x);	/* not used by any CRIU image */
		return 0;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double x;

		memcpy(&x, v, 8);
		ck_buf_printf(w->b, "%.17g", x);
		return 0;
	}
	default:
		render_int(w, f, h, hex, v);
		return 0;
	}
}

/* The value of the stripped field @fi of @rec: its elements unpacked,
 * rendered and freed one at a time, as render_fields() renders a repeated
 * message field whose elements are in memory. */
static int render_streamed(struct jw *w, const struct img_rec *rec, unsigned int fi, bool hex,
			   int depth)
{
	size_t pos = 0;
	int rc;

	__atomic_fetch_add(&img_json_streamed, 1, __ATOMIC_RELAXED);
	jw_open(w, '[');
	for (;;) {
		_cleanup_msg_ ProtobufCMessage *e = NULL;

		rc = img_rec_next(rec, fi, &pos, &e);
		if (rc <= 0)
			break;
		jw_item(w);
		rc = render_object(w, e, hex, depth + 1, NULL);
		if (rc < 0)
			break;
	}
	jw_close(w, ']');
	return rc;
}

/* @rec: the record @m was unpacked from when @m is one, else NULL. */
static int render_fields(struct jw *w, const ProtobufCMessage *m, bool hex, int depth,
			 const struct img_rec *rec)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > JSON_MAX_DEPTH)
		return -EBADMSG;
	/* protobuf-c keeps the fields sorted by number, which is crit's order */
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const struct img_fmt_hint *h = img_fmt_hint(d->name, f->name);
		const char *v = (const char *) m + f->offset;
		bool fhex = hex || (h && h->hex);
		size_t n = field_count(m, f);
		int rc;

		if (rec && img_rec_stripped(rec, i)) {
			jw_key(w, f->name);
			rc = render_streamed(w, rec, i, fhex, depth);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!n)
			continue;
		jw_key(w, f->name);
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			rc = render_value(w, f, h, fhex, v, depth);
			if (rc < 0)
				return rc;
			continue;
		}
		v = *(const char *const *) v;
		jw_open(w, '[');
		if (w->hints && h && h->ipadd && f->type == PROTOBUF_C_TYPE_UINT32 &&
		    (n == 1 || n >= 4)) {
			jw_item(w);
			ck_buf_putc(w->b, '"');
			img_fmt_ipaddr(w->b, (const uint32_t *) v, n);
			ck_buf_putc(w->b, '"');
		} else {
			for (size_t k = 0; k < n; k++) {
				jw_item(w);
				rc = render_value(w, f, h, fhex, v + k * elem_size(f->type), depth);
				if (rc < 0)
					return rc;
			}
		}
		jw_close(w, ']');
	}
	return 0;
}

/* ---- per-type layouts -------------------------------------------------- */

/* tcp-stream's extra: the receive and send queues. */
static int render_tcp_extra(struct jw *w, struct img_reader *r, const TcpStreamEntry *e)
{
	struct ck_blob in, x;
	int rc;

	rc = img_reader_extra(r, e->inq_len, &in);
	if (rc == 0)
		rc = img_reader_extra(r, e->outq_len, &x);
	if (rc < 0)
		return rc;
	jw_key(w, "extra");
	jw_open(w, '{');
	jw_key(w, "inq");
	jw_b64(w, in.data, in.len);
	jw_key(w, "outq");
	jw_b64(w, x.data, x.len);
	jw_close(w, '}');
	return 0;
}

/* A SysV semaphore set's extra (its nsems 16-bit values): an array. */
static void render_sem_values(struct jw *w, const struct ck_blob *x)
{
	jw_open(w, '[');
	for (size_t i = 0; i + 2 <= x->len; i += 2) {
		uint16_t s;

		memcpy(&s, x->data + i, 2);	/* host order, as the dump */
		jw_item(w);
		ck_buf_printf(w->b, "%u", s);
	}
	jw_close(w, ']');
}

/* A SysV message queue's extra: qnum messages, each a record and its
 * text padded to 8 bytes. */
static int render_msg_extra(struct jw *w, struct img_reader *r, const IpcMsgEntry *e)
{
	uint64_t qnum = e->qnum;
	struct ck_blob x;
	int rc;

	jw_key(w, "extra");
	jw_open(w, '[');
	for (uint64_t i = 0; i < qnum; i++) {
		_cleanup_rec_ struct img_rec msg = { 0 };
		bool hints = w->hints;
		uint32_t msize;

		rc = next_msg(r, &ipc_msg__descriptor, &msg);
		if (rc <= 0)
			return rc < 0 ? rc : -EBADMSG;
		msize = ((const IpcMsg *) msg.msg)->msize;
		rc = img_reader_extra_padded(r, msize, 8, &x);
		if (rc < 0)
			return rc;
		/* crit converts these without its pretty hints */
		jw_item(w);
		w->hints = false;
		rc = render_object(w, msg.msg, false, 1, &msg);
		w->hints = hints;
		if (rc < 0)
			return rc;
		jw_item(w);
		jw_b64(w, x.data, x.len);
	}
	jw_close(w, ']');
	return 0;
}

/* The extra payload after @m, rendered as the value of an "extra" key. */
static int render_extra(struct jw *w, struct img_reader *r, const struct img_type *t,
			const ProtobufCMessage *m)
{
	struct ck_blob x;
	int rc;

	switch (t->layout) {
	case IMG_LAYOUT_PIPE_DATA:
		rc = img_reader_extra(r, ((const PipeDataEntry *) m)->bytes, &x);
		break;
	case IMG_LAYOUT_SK_QUEUES:
		rc = img_reader_extra(r, ((const SkPacketEntry *) m)->length, &x);
		break;
	case IMG_LAYOUT_BPFMAP_DATA: {
		const BpfmapDataEntry *e = (const BpfmapDataEntry *) m;

		rc = img_reader_extra(r, (uint64_t) e->keys_bytes + e->values_bytes, &x);
		break;
	}
	case IMG_LAYOUT_IPCNS_SHM: {
		const IpcShmEntry *e = (const IpcShmEntry *) m;

		/* Since CRIU 3.0 the contents are in pagemap-shmem (in_pagemaps):
		 * nothing follows the entry. crit reads `size` bytes regardless. */
		if (e->has_in_pagemaps && e->in_pagemaps)
			return 0;
		rc = img_reader_extra_padded(r, e->size, 4, &x);
		break;
	}
	case IMG_LAYOUT_IPCNS_SEM:
		/* nsems 16-bit values, padded to 8 bytes */
		rc = img_reader_extra_padded(r, 2 * (uint64_t) ((const IpcSemEntry *) m)->nsems, 8, &x);
		break;
	case IMG_LAYOUT_TCP_STREAM:
		return render_tcp_extra(w, r, (const TcpStreamEntry *) m);
	case IMG_LAYOUT_IPCNS_MSG:
		return render_msg_extra(w, r, (const IpcMsgEntry *) m);
	default:
		return 0;
	}
	if (rc < 0)
		return rc;
	jw_key(w, "extra");
	if (t->layout == IMG_LAYOUT_IPCNS_SEM)
		render_sem_values(w, &x);
	else
		jw_b64(w, x.data, x.len);
	return 0;
}

/* One entry object: @rec's fields, then its extra if the type has one. */
static int render_entry(struct jw *w, struct img_reader *r, const struct img_type *t,
			const struct img_rec *rec)
{
	int rc;

	jw_item(w);
	jw_open(w, '{');
	rc = render_fields(w, rec->msg, false, 0, rec);
	if (rc == 0)
		rc = render_extra(w, r, t, rec->msg);
	jw_close(w, '}');
	return rc;
}

/* ghost-file: the ghost_file_entry, then either the raw file contents to
 * EOF (its "extra") or, with chunks, ghost_chunk_entry records each
 * followed by its data. */
static int render_ghost(struct jw *w, struct img_reader *r)
{
	_cleanup_rec_ struct img_rec m = { 0 };
	const GhostFileEntry *g;
	struct ck_blob x;
	int rc;

	rc = next_msg(r, &ghost_file_entry__descriptor, &m);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;	/* crit fails on an empty file too */
	g = (const GhostFileEntry *) m.msg;
	jw_item(w);
	jw_open(w, '{');
	rc = render_fields(w, m.msg, false, 0, &m);
	if (rc == 0 && !(g->has_chunks && g->chunks)) {
		img_reader_extra(r, (uint64_t) (r->end - r->p), &x);
		jw_key(w, "extra");
		jw_b64(w, x.data, x.len);
	}
	jw_close(w, '}');
	if (rc < 0 || !(g->has_chunks && g->chunks))
		return rc;
	for (;;) {
		_cleanup_rec_ struct img_rec c = { 0 };

		rc = next_msg(r, &ghost_chunk_entry__descriptor, &c);
		if (rc <= 0)
			return rc;
		rc = img_reader_extra(r, ((const GhostChunkEntry *) c.msg)->len, &x);
		if (rc < 0)
			return rc;
		jw_item(w);
		jw_open(w, '{');
		rc = render_fields(w, c.msg, false, 0, &c);
		jw_key(w, "extra");
		jw_b64(w, x.data, x.len);
		jw_close(w, '}');
		if (rc < 0)
			return rc;
	}
}

static int render_entries(struct jw *w, struct img_reader *r, const struct img_type *t)
{
	if (t->layout == IMG_LAYOUT_GHOST)
		return render_ghost(w, r);
	for (size_t i = 0;; i++) {
		_cleanup_rec_ struct img_rec m = { 0 };
		const ProtobufCMessageDescriptor *d = t->desc;
		int rc;

		if (t->layout == IMG_LAYOUT_PAGEMAP && i == 0)
			d = &pagemap_head__descriptor;
		rc = next_msg(r, d, &m);
		if (rc <= 0)
			return rc;
		rc = render_entry(w, r, t, &m);
		if (rc < 0)
			return rc;
	}
}

int img_render_json(const char *name, const struct ck_blob *b, bool pretty, struct ck_buf *out)
{
	_cleanup_(ck_buf_done) struct ck_buf tmp = { 0 };
	struct jw w = { .b = &tmp, .pretty = pretty, .hints = pretty, .empty = true };
	const struct img_type *t;
	struct img_reader r;
	int rc;

	if (img_name_is_raw(name))
		return -EMEDIUMTYPE;
	/* a large image's JSON goes to @out's sink as it is written, in order */
	ck_buf_drain_at(out, true);
	tmp.sink = out->sink;
	tmp.sink_ctx = out->sink_ctx;
	rc = img_reader_init(&r, b, 0);
	if (rc < 0)
		return rc;
	t = img_type_lookup(r.magic, name);
	if (!t || !t->desc)
		return -EMEDIUMTYPE;

	jw_open(&w, '{');
	jw_key(&w, "magic");
	img_fmt_json_str(&tmp, t->name, strlen(t->name));
	jw_key(&w, "entries");
	jw_open(&w, '[');
	rc = render_entries(&w, &r, t);
	if (rc < 0)
		return rc;
	jw_close(&w, ']');
	jw_close(&w, '}');
	ck_buf_putc(&tmp, '\n');
	if (tmp.sink_err)
		return tmp.sink_err;
	if (tmp.oom)
		return -ENOMEM;
	out->sunk += tmp.sunk;
	return ck_buf_add(out, tmp.data, tmp.len);
}
