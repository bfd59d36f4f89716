/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the typed decoders (img.c, img-core.c, img-files.c): a record
 * loop, a growable array and field copy helpers. */
#ifndef CK_IMG_READ_H
#define CK_IMG_READ_H

#include "img-priv.h"

/* Called once per record with the unpacked message (freed by the caller
 * afterwards) and its index. Returns 0 or -errno to stop. */
typedef int (*img_record_fn)(const ProtobufCMessage *msg, size_t idx, void *ud);

/* Check the magic of @b against @magic, then unpack every record with @desc
 * and hand it to @fn. Returns the record count, or -EBADMSG / @fn's error. */
int img_each(const struct ck_blob *b, uint32_t magic, const ProtobufCMessageDescriptor *desc,
	     img_record_fn fn, void *ud);

/* Make room for @n elements of @size bytes in *@arr (capacity *@cap).
 * Returns 0 or -ENOMEM; *@arr is unchanged on failure. */
int img_grow(void **arr, size_t *cap, size_t n, size_t size);

/* Decode a single-entry image: @copy gets the first record (later ones are
 * tolerated and ignored). Returns 0, -EBADMSG (also for zero records) or
 * @copy's error. */
int img_read_first(const struct ck_blob *b, uint32_t magic, const ProtobufCMessageDescriptor *desc,
		   int (*copy)(const ProtobufCMessage *msg, void *dst), void *dst);

/* img_read_first() copy callback for a TaskKobjIdsEntry: fills the
 * struct img_ids at @dst. Always returns 0. */
int img_ids_copy(const ProtobufCMessage *msg, void *dst);

/* strdup() of an optional string field into *@ret (NULL for NULL).
 * Returns 0 or -ENOMEM. */
int img_dup_str(const char *s, char **ret);
/* Copy a repeated uint32 field into a fresh array in *@ret (NULL when @n is
 * 0). Returns 0 or -ENOMEM. */
int img_dup_u32(const uint32_t *src, size_t n, uint32_t **ret);

#endif
