/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "img-priv.h"

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));	/* images use the dumping host's order: little-endian here */
	return v;
}

int img_reader_init(struct img_reader *r, const struct ck_blob *b, uint32_t expect)
{
	const uint8_t *p = b->data, *end = b->data + b->len;
	uint32_t w;

	if (b->len < 4)
		return -EBADMSG;
	w = get_u32(p);
	p += 4;
	r->head = 0;
	if (w == IMG_COMMON_MAGIC || w == IMG_SERVICE_MAGIC) {
		if (end - p < 4)
			return -EBADMSG;
		r->head = w;
		w = get_u32(p);
		p += 4;
	}
	if (expect && w != expect)
		return -EBADMSG;
	r->magic = w;
	r->p = p;
	r->end = end;
	return 0;
}

int img_reader_next_raw(struct img_reader *r, struct ck_blob *ret)
{
	uint32_t len;

	if (r->p == r->end)
		return 0;
	if (r->end - r->p < 4)
		return -EBADMSG;
	len = get_u32(r->p);
	if ((uint64_t) (r->end - r->p - 4) < len)
		return -EBADMSG;
	ret->data = r->p + 4;
	ret->len = len;
	r->p += 4 + (size_t) len;
	return 1;
}

int img_reader_next(struct img_reader *r, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_msg)
{
	struct ck_blob rec;
	ProtobufCMessage *m;
	int rc;

	rc = img_reader_next_raw(r, &rec);
	if (rc <= 0)
		return rc;
	m = protobuf_c_message_unpack(desc, NULL, rec.len, rec.data);
	if (!m)
		return -EBADMSG;
	*ret_msg = m;
	return 1;
}

int img_reader_extra(struct img_reader *r, uint64_t len, struct ck_blob *ret)
{
	if ((uint64_t) (r->end - r->p) < len)
		return -EBADMSG;
	if (ret) {
		ret->data = r->p;
		ret->len = (size_t) len;
	}
	r->p += len;
	return 0;
}

int img_reader_extra_padded(struct img_reader *r, uint64_t len, uint64_t align, struct ck_blob *ret)
{
	int rc = img_reader_extra(r, len, ret);

	if (rc < 0)
		return rc;
	return img_reader_extra(r, (align - len % align) % align, NULL);
}
