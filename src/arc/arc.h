/* SPDX-License-Identifier: Apache-2.0 */
/* Archive access. arc_open() indexes a checkpoint once: a tar in any
 * compression libarchive reads (detected by content), an extracted checkpoint
 * directory, or a bare CRIU images directory. Afterwards the index is
 * immutable and every read is a pread(): on the archive itself for a plain
 * tar, on a spill file for large members of a compressed one, or from memory
 * for small ones. Safe for concurrent readers after arc_open() returns. */
#ifndef CK_ARC_H
#define CK_ARC_H

#include <errno.h>
#include <sys/stat.h>

#include "util.h"

struct arc;

enum arc_type {
	ARC_REG,
	ARC_DIR,
	ARC_SYMLINK,
	ARC_OTHER,	/* fifo, device, ...: listed, never read */
};

/* One member. Paths are relative and normalised: no leading "./" or "/",
 * no "." or ".." components, no empty components ("checkpoint/core-1.img"). */
struct arc_entry {
	const char *path;
	enum arc_type type;
	mode_t mode;		/* permission bits only */
	uint64_t size;		/* byte size of a regular member */
	int64_t mtime;
	const char *link;	/* symlink target, else NULL */
};

struct arc_opts {
	const char *cache_dir;	/* where large members of compressed archives spill; NULL: $TMPDIR or /tmp */
	uint64_t mem_limit;	/* members up to this size stay in memory; 0: default (1 MiB) */
	/* the most those members may take together (nested tars included);
	 * the rest spills; 0: default (16 MiB) */
	uint64_t mem_budget;
	/* the most the spill files may hold together (nested tars included): a
	 * compressed archive that claims more (a decompression bomb) fails
	 * with -EFBIG, before anything is written when a member's header
	 * already claims too much; 0: 200 times the archive's size, at least
	 * 1 GiB, at most 90% of the free space of the spill directory */
	uint64_t spill_limit;
	/* While arc_open() indexes a tar file: @done of its @total bytes are read,
	 * at most about 10 times a second, and once more with @done == @total at
	 * the end. NULL: no reports. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* For an OCI image that holds several images: the one whose
	 * org.opencontainers.image.ref.name (or manifest digest) this is. */
	const char *image_ref;
};

/* arc_open() of an OCI image whose manifest carries no checkpoint
 * annotation and whose layers hold no inventory.img: not a checkpoint. */
#define ARC_ENOTCKPT ENOPKG

struct arc_kv {
	const char *key, *value;
};

/* What arc_open() followed when its input was a container image (arc-oci.c):
 * an OCI image layout directory, an oci-archive tar, a docker-archive tar,
 * or containerd's checkpoint index inside one of them. */
struct arc_image {
	const char *format;	/* "OCI image layout", "oci-archive", "docker-archive" */
	const char *ref;	/* org.opencontainers.image.ref.name or RepoTags[0]; NULL if unnamed */
	const char *digest;	/* "sha256:<hex>" of the manifest (containerd: its index); NULL for docker-archive */
	const char *media_type;	/* of that manifest or index */
	const char *created;	/* the image config's "created", as written; NULL if absent */
	bool containerd;	/* containerd's checkpoint index (criu.tar, rw layer, config proto) */
	/* containerd's checkpoint index: when its criu.tar says the dump was
	 * written (the mtime of its stats-dump, else of its newest member), in
	 * seconds; 0 unknown or another image. Not the blob files' mtimes:
	 * those say when the layout was written or copied. */
	int64_t ctrd_time;
	size_t n_layers;
	/* the index descriptor's annotations, then the manifest's (a key of
	 * both keeps the manifest's value) */
	const struct arc_kv *annotations;
	size_t n_annotations;
};

/* Index @path. A container image (OCI layout directory, oci-archive,
 * docker-archive: arc-oci.c) is recognised by content and its layers become
 * the archive, each blob's sha256 checked. Returns 0, -ENOENT (missing),
 * -EACCES, -EMEDIUMTYPE (neither a directory nor an archive libarchive can
 * read), -EBADMSG (truncated or corrupt archive or image), -ARC_ENOTCKPT (an
 * image that is no checkpoint), -ENOMEM or another -errno. On failure @ret_error (if not
 * NULL) receives a malloc'ed one-line description without the path. */
int arc_open(const char *path, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error);
/* Index regular member @e of @outer, a tar in any compression, as an archive
 * of its own (rootfs-diff.tar, tmpfs-dev-*.tar.gz.img). A plain inner tar is
 * served in place: its members are preads into the file that holds @e
 * (zero copy); a compressed one spills as arc_open() does (@opts). @outer
 * must outlive the result. Returns 0 or the errors of arc_open(). */
int arc_open_nested(const struct arc *outer, const struct arc_entry *e, const struct arc_opts *opts,
		    struct arc **ret_arc, char **ret_error);
/* Release everything, including the spill file. Accepts NULL. */
void arc_free(struct arc *a);
DEFINE_CLEANUP(arc_freep, struct arc, arc_free)

/* Number of members; entries are sorted by path. */
size_t arc_count(const struct arc *a);
/* Member @i (0 <= i < arc_count()); borrowed until arc_free(). */
const struct arc_entry *arc_entry_at(const struct arc *a, size_t i);
/* The member named @path (normalised as above), or NULL. Symlinks are not followed. */
const struct arc_entry *arc_find(const struct arc *a, const char *path);
/* Copy up to @len bytes of @e from offset @off. Returns the byte count (0 at
 * or past the end) or -errno (-EIO if the underlying file fails, -EISDIR for
 * a directory). */
ssize_t arc_pread(const struct arc *a, const struct arc_entry *e, void *buf, size_t len, uint64_t off);
/* Where bytes of a member live on disk, for replies that let the kernel
 * splice them instead of copying: @len bytes at @off of file @fd (borrowed
 * from the arc, valid until arc_free()). fd -1 means @len zero bytes. */
struct arc_extent {
	int fd;
	uint64_t off;
	uint64_t len;
};
/* The extent holding offset @off of @e, clipped to @len bytes and to the
 * member's end (len 0 at or past the end). Returns 0, -EAGAIN when @e is
 * not in a file that stays open (held in memory, or a directory input's
 * member: use arc_pread()), -EISDIR or -EINVAL as arc_pread(). */
int arc_extent_at(const struct arc *a, const struct arc_entry *e, uint64_t off, uint64_t len,
		  struct arc_extent *ret);
/* The whole content of @e in memory: borrowed when the member is held in
 * memory already (@ret_owned = NULL), else read into a malloc'ed buffer that
 * is returned in @ret_owned and must be freed. Members larger than @max give
 * -EFBIG. Returns 0 or -errno. */
int arc_load(const struct arc *a, const struct arc_entry *e, size_t max, struct ck_blob *ret_blob, void **ret_owned);
/* The image @a was read from, or NULL when its input was not an image. */
const struct arc_image *arc_image(const struct arc *a);
/* The decoded bytes of the archive file @path in order, whatever its
 * compression (found by content, as arc_open() does; none is read as is):
 * for rewriting an archive (--recompress). */
struct arc_stream;
/* Returns 0 or -errno with a one-line reason in @ret_err (malloc'ed). */
int arc_stream_open(const char *path, struct arc_stream **ret, char **ret_err);
/* The next bytes, valid until the next call: their length, 0 at the end,
 * or -errno with a reason in @ret_err (corrupt or truncated data, -EBADMSG). */
ssize_t arc_stream_next(struct arc_stream *s, const void **ret_buf, char **ret_err);
/* The name of the compression read ("zstd", "gzip", ...), or "none". */
const char *arc_stream_compression(const struct arc_stream *s);
void arc_stream_free(struct arc_stream *s);
DEFINE_CLEANUP(arc_stream_freep, struct arc_stream, arc_stream_free)
/* Allow (or not) the read-ahead threads of randomly accessed archives
 * (arc-seek.c). Off until a caller turns it on: a process that will still
 * fork (fuse_daemonize()) must not have them, since the child would inherit
 * their state but not the threads. Turn it on once the process is final. */
void arc_read_ahead_enable(bool on);
/* "plain tar", "zstd-compressed tar", "gzip-compressed tar", "directory", ...:
 * for messages and the summary. */
const char *arc_kind(const struct arc *a);
/* Members left out of the index for their names: a path of ARC_PATH_MAX
 * (4096) bytes or more once normalised, or a ".." component. Sets
 * @ret_first (if not NULL) to the first one's name, cut to 127 bytes, with
 * control bytes as '?'. */
size_t arc_dropped(const struct arc *a, const char **ret_first);
/* True when no member was copied: every read is a pread() on the original
 * archive file (plain tar) or on the member's own file (directory). */
bool arc_is_zero_copy(const struct arc *a);
/* False when the large members are decoded on read (a seekable compressed
 * archive): no read of them can be answered with a file extent to splice. */
bool arc_splices(const struct arc *a);

#endif
