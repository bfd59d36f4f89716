/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the img module: the pretty-printing hints CRIU attaches to
 * image fields (opts.proto's (criu) options, which protobuf-c does not keep
 * in its descriptors) and the text encoders crit uses for JSON output. */
#ifndef CK_IMG_FMT_H
#define CK_IMG_FMT_H

#include "util.h"

struct img_fmt_hint {
	const char *msg;		/* message name as in the .proto: "vma_entry" */
	const char *field;		/* field name: "prot" */
	const char *flags;		/* flags map name ("mmap.prot") or NULL */
	const char *dict;		/* dict map name ("sk", "gen") or NULL */
	bool hex;			/* "0x%x", inherited by sub-messages */
	bool dev;			/* "major:minor" */
	bool odev;			/* dev with glibc's dev_t encoding */
	bool ipadd;			/* repeated u32 printed as one address string */
	bool unix_name;			/* bytes printed as quoted-printable */
};

/* The hints of field @field of message @msg, or NULL if it has none. */
const struct img_fmt_hint *img_fmt_hint(const char *msg, const char *field);

/* Append the JSON string (with quotes) of flags map @map applied to @v, as
 * crit does: names joined by " | ", leftover bits as 0x.., 0 as "".
 * Returns 0, or -ENOENT if @map is unknown (nothing appended). */
int img_fmt_flags(struct ck_buf *out, const char *map, uint64_t v);

/* The name dict @dict gives @field's value @v, or NULL if there is none. */
const char *img_fmt_dict(const char *dict, const char *field, uint64_t v);

/* Append "major:minor" (not quoted) of @v, kernel or glibc (@odev) encoding. */
void img_fmt_dev(struct ck_buf *out, uint64_t v, bool odev);

/* Append the address string (not quoted) of @n (1 or >= 4) words that hold
 * an IPv4 or IPv6 address in network byte order. Returns 0, or -EINVAL for
 * another word count (nothing appended). */
int img_fmt_ipaddr(struct ck_buf *out, const uint32_t *w, size_t n);

/* Append @len bytes as MIME base64 (a "\n" after every 76 characters and at
 * the end; nothing for 0 bytes), like Python's base64.encodebytes(). */
void img_fmt_base64(struct ck_buf *out, const uint8_t *p, size_t len);

/* Append @len bytes as quoted-printable text, like Python's
 * quopri.encodestring(). */
void img_fmt_qp(struct ck_buf *out, const uint8_t *p, size_t len);

/* Append @len bytes of UTF-8 text as a JSON string (with quotes), escaped as
 * Python's json.dumps() does with ensure_ascii. Malformed UTF-8 bytes become
 * U+FFFD. */
void img_fmt_json_str(struct ck_buf *out, const char *s, size_t len);

#endif
