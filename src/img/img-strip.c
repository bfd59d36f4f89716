/* SPDX-License-Identifier: Apache-2.0 */
/* Records with a large repeated message field (an MmEntry of 10^6 VMAs):
 * protobuf-c would unpack every element at once. img_rec_unpack() unpacks
 * the record without such fields, and img_rec_next() unpacks their elements
 * one at a time from the record's wire bytes, so that at most one element
 * is in memory. */
#include <errno.h>
#include <string.h>

#include "img-priv.h"

/* The index in @d->fields of the repeated message field a length-delimited
 * @f belongs to, or -1. Only the first 64 fields can be left out. */
static int strippable(const ProtobufCMessageDescriptor *d, const struct ck_pb_field *f)
{
	const ProtobufCFieldDescriptor *fd;

	if (f->wt != 2 || f->id > UINT32_MAX)
		return -1;
	fd = protobuf_c_message_descriptor_get_field(d, (unsigned) f->id);
	if (!fd || fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return -1;
	if (fd - d->fields >= 64)
		return -1;
	return (int) (fd - d->fields);
}

static int unpack_whole(struct img_rec *r)
{
	r->msg = protobuf_c_message_unpack(r->desc, NULL, r->len, r->wire);
	return r->msg ? 0 : -EBADMSG;
}

int img_rec_unpack(struct img_rec *r, const ProtobufCMessageDescriptor *desc,
		   const struct ck_blob *rec, size_t min)
{
	const uint8_t *p = rec->data, *end = rec->data + rec->len;
	_cleanup_free_ uint8_t *copy = NULL;
	size_t total[64] = { 0 }, n = 0, kept = 0;
	struct ck_pb_field f;

	*r = (struct img_rec) { .desc = desc, .wire = rec->data, .len = rec->len };
	while (p < end) {
		int i;

		/* wire protobuf-c may judge otherwise: leave all of it to protobuf-c */
		if (ck_pb_next(&p, end, &f) < 0)
			return unpack_whole(r);
		i = strippable(desc, &f);
		if (i >= 0)
			total[i] += (size_t) (f.end - f.start);
	}
	kept = rec->len;
	for (int i = 0; i < 64; i++) {
		if (total[i] && total[i] >= min) {
			r->stripped |= UINT64_C(1) << i;
			kept -= total[i];
		}
	}
	if (!r->stripped)
		return unpack_whole(r);

	/* the record without the stripped fields' tags, in the same order */
	copy = malloc(kept ? kept : 1);
	if (!copy)
		return -ENOMEM;
	for (p = rec->data; p < end;) {
		int i;

		ck_pb_next(&p, end, &f);	/* walked once already */
		i = strippable(desc, &f);
		if (i >= 0 && (r->stripped >> i & 1))
			continue;
		memcpy(copy + n, f.start, (size_t) (f.end - f.start));
		n += (size_t) (f.end - f.start);
	}
	r->msg = protobuf_c_message_unpack(desc, NULL, n, copy);
	if (!r->msg) {
		r->stripped = 0;
		return -EBADMSG;
	}
	return 0;
}

bool img_rec_stripped(const struct img_rec *r, unsigned int fi)
{
	return fi < 64 && (r->stripped >> fi & 1);
}

/* The next element of the stripped field @fi at or after *@pos: its bytes in
 * @ret. Returns 1, or 0 after the last. */
static int next_elem(const struct img_rec *r, unsigned int fi, size_t *pos, struct ck_blob *ret)
{
	const uint8_t *p = r->wire + *pos, *end = r->wire + r->len;
	uint32_t id = r->desc->fields[fi].id;
	struct ck_pb_field f;

	while (p < end) {
		if (ck_pb_next(&p, end, &f) < 0)
			return 0;	/* cannot happen: img_rec_unpack() walked it */
		if (f.wt == 2 && f.id == id) {
			*pos = (size_t) (p - r->wire);
			*ret = (struct ck_blob) { f.data, f.len };
			return 1;
		}
	}
	*pos = r->len;
	return 0;
}

int img_rec_next(const struct img_rec *r, unsigned int fi, size_t *pos, ProtobufCMessage **ret)
{
	struct ck_blob e;
	int rc;

	if (!img_rec_stripped(r, fi))
		return 0;
	rc = next_elem(r, fi, pos, &e);
	if (rc <= 0)
		return rc;
	*ret = protobuf_c_message_unpack(r->desc->fields[fi].descriptor, NULL, e.len, e.data);
	return *ret ? 1 : -EBADMSG;
}

size_t img_rec_count(const struct img_rec *r, unsigned int fi)
{
	struct ck_blob e;
	size_t pos = 0, n = 0;

	if (!img_rec_stripped(r, fi))
		return 0;
	while (next_elem(r, fi, &pos, &e) > 0)
		n++;
	return n;
}

void img_rec_done(struct img_rec *r)
{
	if (r->msg)
		protobuf_c_message_free_unpacked(r->msg, NULL);
	*r = (struct img_rec) { 0 };
}
