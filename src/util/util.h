/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every module: cleanup attributes, a growable byte
 * buffer and a read-only byte view. */
#ifndef CK_UTIL_H
#define CK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(ck_freep)
#define _cleanup_close_ _cleanup_(ck_closep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define TAKE_PTR(p) ({ typeof(p) _p_ = (p); (p) = NULL; _p_; })
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -1; _fd_; })
#define DEFINE_CLEANUP(name, type, fn) \
	static inline void name(type **p) { if (*p) fn(*p); }
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* free(*p); for _cleanup_free_. */
void ck_freep(void *p);
/* close(*fd) if it is >= 0; for _cleanup_close_. */
void ck_closep(int *fd);

/* A read-only view of bytes owned by someone else. */
struct ck_blob {
	const uint8_t *data;
	size_t len;
};

/* A growable, always NUL-terminated byte buffer. */
struct ck_buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;	/* set once an append failed; later appends are no-ops */
	/* Optional: where ck_buf_drain() moves what the buffer holds, so that
	 * a large text need not stay in memory while it is written. @sink
	 * returns 0 or -errno; @sunk counts what it took. */
	int (*sink)(void *ctx, const char *p, size_t len);
	void *sink_ctx;
	uint64_t sunk;
	int sink_err;	/* the sink's failure (then @oom is set too) */
};

/* Bytes a buffer with a sink holds before ck_buf_drain() empties it. */
#define CK_BUF_DRAIN_MIN (256 * 1024)

/* At a point where nothing written so far will be looked at or changed
 * again: hand the content to @b->sink, if there is one and the buffer holds
 * at least CK_BUF_DRAIN_MIN bytes (@force: any), and empty it. */
void ck_buf_drain_at(struct ck_buf *b, bool force);
static inline void ck_buf_drain(struct ck_buf *b)
{
	if (b->sink && b->len >= CK_BUF_DRAIN_MIN)
		ck_buf_drain_at(b, false);
}

/* Append @len bytes; on allocation failure sets @b->oom and returns -ENOMEM. */
int ck_buf_add(struct ck_buf *b, const void *p, size_t len);
/* Append a NUL-terminated string. Same return as ck_buf_add(). */
int ck_buf_puts(struct ck_buf *b, const char *s);
/* Append one byte. Same return as ck_buf_add(). */
int ck_buf_putc(struct ck_buf *b, char c);
/* Append formatted text. Same return as ck_buf_add(). */
int ck_buf_printf(struct ck_buf *b, const char *fmt, ...) _printf_(2, 3);
/* Same as ck_buf_printf() with a va_list. */
int ck_buf_vprintf(struct ck_buf *b, const char *fmt, va_list ap);
/* Append @len bytes of @p as `hexdump -C` shows them: lines of "@indent",
 * the 16-digit hex address (from @addr), 16 bytes in hex, and the bytes
 * as ASCII ('.' for the rest) between bars. The one hex/ASCII excerpt of
 * every report (triage evidence, diff --bytes). */
void ck_buf_hexdump(struct ck_buf *b, const uint8_t *p, size_t len, uint64_t addr, const char *indent);
/* Release the storage; the buffer is empty and reusable afterwards. Accepts NULL. */
void ck_buf_done(struct ck_buf *b);
/* Hand the storage to the caller (NUL-terminated; may be NULL when empty) and reset @b. */
char *ck_buf_steal(struct ck_buf *b, size_t *ret_len);

/* A process tree given as (pid, ppid) pairs, with each process's children
 * found in linear time. Every process is reached exactly once: those that
 * no root reaches (a ppid cycle, or a process under one) become roots of
 * their own, after the real roots, and are counted in @n_cut. */
struct ck_forest {
	size_t *roots;		/* indexes into the caller's array, in its order */
	size_t n_roots;
	size_t n_cut;		/* roots that had a parent in the list (a cycle) */
	size_t n_unreached;	/* processes under those: not reached from a real root */
	size_t *kids;		/* children of i: kids[kid_start[i] .. kid_start[i + 1]) */
	size_t *kid_start;
};
/* Build the forest of the @n elements of @size bytes at @base, whose
 * uint32_t pid and ppid are at @pid_off and @ppid_off. A process whose ppid
 * is its own pid or names no listed pid is a root. Children keep the array's
 * order; a cycle's new root is nobody's child, so that a walk from the
 * roots meets every process once. Returns 0 or -ENOMEM. */
int ck_forest_build(struct ck_forest *f, const void *base, size_t n, size_t size, size_t pid_off,
		    size_t ppid_off);
void ck_forest_done(struct ck_forest *f);

/* Binary search over the indexes [0, @n) of a sorted sequence: the first
 * index for which @before(@ctx, i) is false, where @before is true on a
 * prefix of the range and false after it; @n when it is never false. */
size_t ck_lower_bound(size_t n, bool (*before)(const void *ctx, size_t i), const void *ctx);
/* Over @n sorted, disjoint extents whose ends (exclusive) are @end_of(@ctx,
 * i): the index of the first that ends after @pos (the one holding @pos,
 * else the next one), or @n. */
size_t ck_first_ending_after(size_t n, uint64_t (*end_of)(const void *ctx, size_t i), const void *ctx,
			     uint64_t pos);

/* An unlinked temporary file for reading and writing in @dir (NULL or "":
 * $TMPDIR, else /tmp), named @prefix-XXXXXX while it has a name at all (an
 * O_TMPFILE file never has one). Returns the fd or -errno; *@ret_dir (may
 * be NULL) is the directory used, for messages. */
int ck_tmpfile(const char *dir, const char *prefix, const char **ret_dir);
/* Format a one-line reason into *@ret_error (malloc'ed) unless @ret_error is
 * NULL or already holds one (the first reason wins); returns @rc, so that
 * `return ck_err(ret_error, -EIO, "...")` reports and fails at once. */
int ck_err(char **ret_error, int rc, const char *fmt, ...) _printf_(3, 4);
/* strdup() that returns NULL for a NULL input. */
char *ck_strdup0(const char *s);
/* The one number parser of the command line: an unsigned integer that spans
 * the whole string, decimal or 0x-prefixed hex (no octal: "010" is ten).
 * Returns 0, -EINVAL or -ERANGE. */
int ck_parse_u64(const char *s, uint64_t *ret);
/* A size: a number as ck_parse_u64() takes it, in bytes, or followed by K,
 * M, G or T (also k; optionally KiB or KB ...), powers of 1024. Returns 0,
 * -EINVAL, -ERANGE or -ENOMEM. */
int ck_parse_size(const char *s, uint64_t *ret);
/* pread() until @len bytes or EOF; returns the byte count or -errno. */
ssize_t ck_pread_full(int fd, void *buf, size_t len, off_t off);
/* pwrite() all @len bytes; returns 0 or -errno (-EIO if nothing was written). */
int ck_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/* One field of a protobuf message on the wire. */
struct ck_pb_field {
	const uint8_t *start, *end;	/* the whole field, tag included */
	uint64_t id;			/* field number */
	unsigned int wt;		/* wire type: 0, 1, 2 or 5 */
	const uint8_t *data;		/* types 1, 2, 5: the payload; NULL for varints */
	size_t len;
};
/* Read the protobuf field at *@p (before @end) into @f and move *@p past
 * it. Returns 0, or -EBADMSG for a cut or overlong varint, a length past
 * @end or a group (wire types 3, 4, 6, 7), which protobuf-c refuses too. */
int ck_pb_next(const uint8_t **p, const uint8_t *end, struct ck_pb_field *f);

#endif
