/* SPDX-License-Identifier: Apache-2.0 */
/* Decompression in a thread of its own, for arc-tar.c: a producer thread
 * decodes a compressed archive into a small ring of chunks while the thread
 * that called arc_open() parses the tar in them and writes members out.
 * Internal to the archive module. */
#ifndef CK_ARC_PIPE_H
#define CK_ARC_PIPE_H

#include "util.h"

struct arc_pipe;

/* Start decoding @comp data ("zstd", "xz", "gzip", "bzip2", "lz4", "lzip",
 * "compress", as tar_compression_of() names them) read from @fd at offset 0
 * on, or, when @fd is -1, the @len bytes at @mem, which must stay valid
 * until arc_pipe_free(). Returns 0, -ENOMEM, -EINVAL for another @comp or
 * the -errno of pthread_create(). */
int arc_pipe_start(const char *comp, int fd, const uint8_t *mem, size_t len, struct arc_pipe **ret_pipe);
/* The next bytes of the decoded stream, in order. Releases the block the
 * previous call returned, sets @ret_buf to the next one, which stays valid
 * until the next call or arc_pipe_free(), and @ret_in_done to the
 * compressed bytes consumed up to its end. Returns its length, 0 at the end
 * of the data, or -errno once the decoder failed and everything decoded
 * before the failure was returned: -EBADMSG (corrupt or truncated data),
 * -EIO (read error) or -ENOMEM. */
ssize_t arc_pipe_next(struct arc_pipe *p, const void **ret_buf, uint64_t *ret_in_done);
/* After arc_pipe_next() failed: what went wrong, in a few words for a
 * message ("zstd: Corrupted block detected"), borrowed until arc_pipe_free(). */
const char *arc_pipe_why(const struct arc_pipe *p);
/* After arc_pipe_next() failed with -EBADMSG: true when the compressed data
 * ends early, false when it is corrupt. */
bool arc_pipe_truncated(const struct arc_pipe *p);
/* Stop the producer wherever it is, wait for its thread to end and free
 * everything. Accepts NULL. */
void arc_pipe_free(struct arc_pipe *p);
DEFINE_CLEANUP(arc_pipe_freep, struct arc_pipe, arc_pipe_free)

#endif
