/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the img module (img.c, img-json.c, img-fmt.c, img-frame.c):
 * image framing and the magic table. */
#ifndef CK_IMG_PRIV_H
#define CK_IMG_PRIV_H

#include <protobuf-c/protobuf-c.h>

#include "img.h"

#define IMG_COMMON_MAGIC 0x54564319u
#define IMG_SERVICE_MAGIC 0x55105940u

/* Type magics of the images the model reads (docs/formats.md §1.4). */
#define IMG_MAGIC_INVENTORY 0x58313116u
#define IMG_MAGIC_PSTREE 0x50273030u
#define IMG_MAGIC_CORE 0x55053847u
#define IMG_MAGIC_IDS 0x54432030u
#define IMG_MAGIC_MM 0x57492820u
#define IMG_MAGIC_FS 0x51403912u
#define IMG_MAGIC_PAGEMAP 0x56084025u
#define IMG_MAGIC_FDINFO 0x56213732u
#define IMG_MAGIC_FILES 0x56303138u
#define IMG_MAGIC_REMAP_FPATH 0x59133954u
#define IMG_MAGIC_GHOST_FILE 0x52583605u
#define IMG_MAGIC_MEMFD_INODE 0x48453499u
#define IMG_MAGIC_PIPES_DATA 0x56453709u
#define IMG_MAGIC_FIFO_DATA 0x59333054u
#define IMG_MAGIC_SK_QUEUES 0x56264026u
#define IMG_MAGIC_TCP_STREAM 0x51465506u
#define IMG_MAGIC_MNTS 0x55563928u
#define IMG_MAGIC_SECCOMP 0x64413049u
#define IMG_MAGIC_CGROUP 0x59383330u
#define IMG_MAGIC_STATS 0x57093306u

#define IMG_MAGIC_PIDFD 0x54435556u
#define IMG_MAGIC_SIGNAL 0x59255647u
#define IMG_MAGIC_BINFMT_MISC 0x67343323u

/* What follows the records of a type, beyond one message each. */
enum img_layout {
	IMG_LAYOUT_PLAIN,
	IMG_LAYOUT_PAGEMAP,		/* pagemap_head, then pagemap_entry */
	IMG_LAYOUT_GHOST,		/* ghost_file_entry, then data or chunks */
	IMG_LAYOUT_PIPE_DATA,		/* + `bytes` bytes */
	IMG_LAYOUT_SK_QUEUES,		/* + `length` bytes */
	IMG_LAYOUT_TCP_STREAM,		/* + inq_len + outq_len bytes */
	IMG_LAYOUT_BPFMAP_DATA,		/* + keys_bytes + values_bytes */
	IMG_LAYOUT_IPCNS_SEM,		/* + nsems u16, padded to 8 */
	IMG_LAYOUT_IPCNS_MSG,		/* + qnum [ipc_msg record, msize bytes padded to 8] */
	IMG_LAYOUT_IPCNS_SHM,		/* + size bytes padded to 4, unless in_pagemaps */
};

/* How to find the records of one image type. */
struct img_type {
	const char *name;		/* crit's magic name: "CORE" */
	uint32_t magic;
	const ProtobufCMessageDescriptor *desc;	/* entry message; NULL: crit has no handler */
	enum img_layout layout;
};

/* The type whose magic is @magic, disambiguated by the file @name where
 * several types share a magic; NULL if unknown. */
const struct img_type *img_type_lookup(uint32_t magic, const char *name);

/* Whether the file @name (a basename) is a raw image with no magic
 * (pages-*.img, tmpfs-*.tar.gz.img, ip/nft/conntrack dumps, ...). */
bool img_name_is_raw(const char *name);

struct img_reader {
	const uint8_t *p;		/* next unread byte */
	const uint8_t *end;
	uint32_t magic;			/* type magic (after the COMMON/SERVICE head word) */
	uint32_t head;			/* head word, or 0 for single-word images */
};

/* Read the magic word(s) of @b. Returns 0, or -EBADMSG when @b is shorter
 * than a magic word, or @expect (if not 0) differs from the type magic. */
int img_reader_init(struct img_reader *r, const struct ck_blob *b, uint32_t expect);
/* The next record's payload in @ret (borrowed from the blob). Returns 1, 0 at
 * a clean end, -EBADMSG when the length prefix or payload is truncated. */
int img_reader_next_raw(struct img_reader *r, struct ck_blob *ret);
/* Like img_reader_next_raw() and unpack it with @desc (free with
 * protobuf_c_message_free_unpacked()). Returns 1, 0 at the end, -EBADMSG. */
int img_reader_next(struct img_reader *r, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_msg);
/* Consume @len bytes of extra payload that follows a record. Returns 0 or
 * -EBADMSG if fewer remain. @ret (may be NULL) borrows them. */
int img_reader_extra(struct img_reader *r, uint64_t len, struct ck_blob *ret);
/* img_reader_extra() of @len bytes, then of the padding that brings them to
 * a multiple of @align (not borrowed). */
int img_reader_extra_padded(struct img_reader *r, uint64_t len, uint64_t align, struct ck_blob *ret);

/* A record unpacked without its large repeated message fields: each such
 * field whose elements take @min bytes or more on the wire (tags included)
 * is left out of @msg, and img_rec_next() unpacks its elements one at a
 * time from @wire. Only the fields of the record itself, not those of its
 * sub-messages, and only the first 64 of its descriptor are left out. */
struct img_rec {
	ProtobufCMessage *msg;
	const ProtobufCMessageDescriptor *desc;
	const uint8_t *wire;		/* the record, borrowed */
	size_t len;
	uint64_t stripped;		/* bit i: desc->fields[i] is not in @msg */
};
/* Returns 0, -EBADMSG when protobuf-c does not unpack the rest of the
 * record, -ENOMEM. A bad element of a stripped field is found only by
 * img_rec_next(). Free with img_rec_done(). */
int img_rec_unpack(struct img_rec *r, const ProtobufCMessageDescriptor *desc,
		   const struct ck_blob *rec, size_t min);
/* Whether desc->fields[@fi] was left out of r->msg. */
bool img_rec_stripped(const struct img_rec *r, unsigned int fi);
/* The next element of the stripped field @fi, in wire order, from *@pos (0
 * to start). Returns 1 with *@ret to free with
 * protobuf_c_message_free_unpacked(), 0 after the last (or when @fi was
 * not stripped), -EBADMSG when the element does not unpack. */
int img_rec_next(const struct img_rec *r, unsigned int fi, size_t *pos, ProtobufCMessage **ret);
/* How many elements the stripped field @fi has (0 if not stripped). */
size_t img_rec_count(const struct img_rec *r, unsigned int fi);
void img_rec_done(struct img_rec *r);

/* img-json.c: records whose repeated message field takes this many bytes
 * or more are rendered one element at a time (IMG_JSON_STREAM_MIN). Tests
 * lower it to take that path on small images, and count in
 * img_json_streamed how many fields went that way. */
#define IMG_JSON_STREAM_MIN (1u << 20)
extern size_t img_json_stream_min;
extern unsigned long img_json_streamed;

#endif
