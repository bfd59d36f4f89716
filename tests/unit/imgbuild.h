/* SPDX-License-Identifier: Apache-2.0 */
/* Building CRIU images and files for the tests, header-only: image framing
 * (head words, then length-prefixed packed records), whole-file reads and
 * writes, and a scratch directory. I/O failures here end the test with
 * status 2: they are the test's own, not the code's under test. */
#ifndef CK_TEST_IMGBUILD_H
#define CK_TEST_IMGBUILD_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../internal.h"

/* Start image @b for @magic: the common magic (except for inventory.img,
 * which has none), then @magic. Any earlier contents of @b are dropped
 * without being freed. */
static inline void img_start(struct ck_buf *b, uint32_t magic)
{
	uint32_t w = IMG_COMMON_MAGIC;

	*b = (struct ck_buf) { 0 };
	if (magic != IMG_MAGIC_INVENTORY)
		ck_buf_add(b, &w, 4);
	ck_buf_add(b, &magic, 4);
}

/* Append @m packed, after its 32-bit length. */
static inline void img_add(struct ck_buf *b, const ProtobufCMessage *m)
{
	uint32_t len = (uint32_t) protobuf_c_message_get_packed_size(m);
	uint8_t *tmp = malloc(len ? len : 1);

	protobuf_c_message_pack(m, tmp);
	ck_buf_add(b, &len, 4);
	ck_buf_add(b, tmp, len);
	free(tmp);
}

/* A view of @b's bytes, valid while @b is unchanged. */
static inline struct ck_blob blob_of(const struct ck_buf *b)
{
	return (struct ck_blob) { (const uint8_t *) b->data, b->len };
}

/* Append the whole of file @path to @ret. Returns 0 or -errno. */
static inline int file_slurp(const char *path, struct ck_buf *ret)
{
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t n;

	if (!f)
		return -errno;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		ck_buf_add(ret, tmp, n);
	fclose(f);
	return ret->oom ? -ENOMEM : 0;
}

/* Create or truncate @path to hold the @len bytes at @data, or exit(2). */
static inline void file_put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* Create a fresh directory "ckptfs-@tag-XXXXXX" under $TMPDIR (or /tmp)
 * and put its path in @ret (of @size bytes). Returns 0 or -errno. */
static inline int tmpdir_new(char *ret, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(ret, size, "%s/ckptfs-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (n < 0 || (size_t) n >= size)
		return -ENAMETOOLONG;
	return mkdtemp(ret) ? 0 : -errno;
}

/* Remove @dir and everything below it; complains on stderr if it cannot. */
static inline void tmpdir_remove(const char *dir)
{
	char *cmd;

	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

#endif
