/* SPDX-License-Identifier: Apache-2.0 */
/* The data held behind file descriptors (ckpt-content.c): deleted-but-open
 * files, pipe and FIFO buffers, socket queues and memfds, each one content
 * object, joined to files.img (docs/formats.md §8). A content never lives in
 * memory: it is a list of byte ranges of one image member, read with
 * arc_pread(), or a memfd's address space. Immutable after ckpt_load(). */
#ifndef CK_CKPT_CONTENT_H
#define CK_CKPT_CONTENT_H

#include "ckpt.h"

enum ckpt_content_kind {
	CKPT_CONTENT_GHOST,		/* key: ghost id (remap_id), ghost-file-<id hex>.img */
	CKPT_CONTENT_PIPE,		/* key: pipe_id, pipes-data.img */
	CKPT_CONTENT_FIFO,		/* key: pipe_id, fifo-data.img */
	CKPT_CONTENT_UNIX,		/* key: socket file id (id_for), sk-queues.img */
	CKPT_CONTENT_TCP_INQ,		/* key: socket ino, tcp-stream-<ino hex>.img */
	CKPT_CONTENT_TCP_OUTQ,		/* key: socket ino, same image */
	CKPT_CONTENT_MEMFD,		/* key: memfd inode_id, pagemap-shmem-<shmid>.img */
};

/* Content bytes [off, off + len) are at @img_off of the member. */
struct ckpt_piece {
	uint64_t off, len, img_off;
};

struct ckpt_content {
	enum ckpt_content_kind kind;
	uint32_t key;
	char *name;			/* its name under /files/: "pipe-23620", ... */
	uint64_t size;
	const struct arc *arc;
	const struct arc_entry *member;	/* the image holding the bytes; NULL for a memfd */
	struct ckpt_piece *pieces;	/* ascending, disjoint, none empty; gaps read as zeros */
	size_t n_pieces;
	const struct mem_space *mem;	/* memfd: borrowed from ck->shms; NULL reads as zeros */
	int err;			/* < 0: damaged (a length past the end); reads give -EIO */
};

/* ckpt_load_contents() (declared in ckpt.h) indexes the contents of every
 * pipes-data, fifo-data, sk-queues, tcp-stream and ghost-file image and of
 * every memfd.img entry. Only objects that hold bytes are kept, plus every
 * ghost file and memfd whatever its size, and damaged ones, which read as
 * EIO. */

/* The content of @kind and @key, or NULL. Borrowed from @ck. */
const struct ckpt_content *ckpt_content_find(const struct ckpt *ck, enum ckpt_content_kind kind,
					      uint32_t key);
/* What an fd opening files.img entry @file_id holds: in *@ret_data, the bytes
 * a read(2) would see (the deleted file, the pipe or FIFO buffer, the
 * socket's receive queue, the memfd); in *@ret_outq a TCP socket's send
 * queue. Each is NULL when there is none. */
void ckpt_fd_contents(const struct ckpt *ck, uint32_t file_id, const struct ckpt_content **ret_data,
		      const struct ckpt_content **ret_outq);

/* Copy up to @len bytes at @off of @c. Returns the count (0 at the end) or
 * -EIO when @c is damaged or the archive read fails. */
ssize_t ckpt_content_read(const struct ckpt_content *c, void *buf, size_t len, uint64_t off);
/* SEEK_DATA / SEEK_HOLE: the first data (@data) or hole offset >= @off, or
 * -ENXIO when @off >= size (SEEK_DATA also when no data follows). */
int64_t ckpt_content_seek(const struct ckpt_content *c, uint64_t off, bool data);
/* Bytes that hold data (for st_blocks). */
uint64_t ckpt_content_allocated(const struct ckpt_content *c);

/* Append "127.0.0.1:8080" or "[::1]:8080" from an address as files.img
 * stores it (@n words: 1 for IPv4, 4 for IPv6; anything else "?"). */
void ckpt_put_endpoint(struct ck_buf *b, const uint32_t *addr, size_t n, uint32_t port);

#endif
