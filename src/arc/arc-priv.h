/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by arc.c (index, reads), arc-tar.c (libarchive) and
 * arc-dir.c (directory inputs). Not for other modules. */
#ifndef CK_ARC_PRIV_H
#define CK_ARC_PRIV_H

#include "arc.h"
#include "arc-seek.h"

/* Longest member path we index; longer names are skipped. */
#define ARC_PATH_MAX 4096
/* Members up to this size stay in memory unless arc_opts says otherwise. */
#define ARC_MEM_LIMIT_DEFAULT (1024 * 1024)
/* All the members one archive (nested tars included) keeps in memory
 * together: past it, small members spill too, so that a hostile archive of
 * many small members cannot take more RAM than this. */
#define ARC_MEM_BUDGET (16 * 1024 * 1024)
/* The default spill limit: this many times the compressed archive's size,
 * at least ARC_SPILL_FLOOR, and never more than 90% of the free space. */
#define ARC_SPILL_RATIO 200
#define ARC_SPILL_FLOOR (1ull << 30)
/* The spill file is sparse: blocks of ARC_SPILL_BLOCK bytes of zeros are
 * left as holes and only what is written counts against the limit; but a
 * member whose header claims more than ARC_SPILL_SPARSE times the limit
 * fails at once (decoding that many zeros would take minutes). */
#define ARC_SPILL_BLOCK 4096
#define ARC_SPILL_SPARSE 64

enum arc_src {
	ARC_SRC_NONE,		/* no content: empty file, directory, symlink, ... */
	ARC_SRC_ARCHIVE,	/* @off bytes into the archive file (a->fd) */
	ARC_SRC_SPILL,		/* @off bytes into the spill file */
	ARC_SRC_MEM,		/* @data, borrowed from a->blobs */
	ARC_SRC_FILE,		/* e.path relative to the directory a->fd */
	ARC_SRC_SEEK,		/* @off bytes into the uncompressed stream of a->seek */
};

struct arc_item {
	struct arc_entry e;	/* first: an arc_entry pointer is an item pointer */
	enum arc_src src;
	bool drop;		/* superseded or unusable: left out of the index */
	/* the layer arc that holds the data (an image's, arc-oci.c); NULL: this one */
	const struct arc *owner;
	/* the member's path in @owner when that differs (ARC_SRC_FILE reads
	 * open it); borrowed from @owner */
	const char *owner_path;
	char *hardlink;		/* hard-link target (normalised), until resolved */
	uint64_t off;
	const uint8_t *data;
};

/* What an archive and the tars nested in it may hold on our behalf: one
 * budget, owned by the outermost arc and shared by arc_open_nested(). */
struct arc_budget {
	uint64_t mem_used, mem_max;	/* member bytes held in memory */
	uint64_t spill_used;		/* bytes written to every spill file */
	uint64_t spill_limit;		/* 0 until the first spill file is made */
	uint64_t spill_limit_opt;	/* from the options; 0: the default rule */
	uint64_t archive_size;		/* the compressed input, for the default */
};

struct arc {
	struct arc_item *items;
	size_t n, cap;
	void **blobs;		/* in-memory member data, freed by arc_free() */
	size_t nblobs, blobs_cap;
	int fd;			/* plain tar or directory; -1 when not needed */
	int spill_fd;		/* -1 until a member spills */
	/* random access into a compressed archive (arc-seek.h) whose large
	 * members are ARC_SRC_SEEK; it reads a->fd */
	struct arc_seek *seek;
	uint64_t spill_len;
	struct arc_budget own_budget;
	struct arc_budget *budget;	/* &own_budget, or the outer archive's */
	uint64_t mem_limit;
	const char *cache_dir;	/* borrowed from the options, during arc_open() only */
	const struct arc_opts *progress;	/* reports, during arc_open() only; see arc_progress() */
	uint64_t progress_total, progress_next;	/* archive size; CLOCK_MONOTONIC ns of the next report */
	bool progress_shown;
	size_t n_dropped;	/* members left out for their names (arc_item_new()) */
	char *dropped_first;	/* the first one's name, cut for a message */
	bool zero_copy;
	char kind[96];
	/* an image (arc-oci.c): the arcs its items' owners point to, freed
	 * with this one, and what was followed to them */
	struct arc **subs;
	size_t nsubs;
	struct arc_image *image;
	/* a registry reference (arc-reg.c): the image's connection and the
	 * blobs fetched; a layer read from one: its blob */
	struct arc_reg *reg;
	struct arc_rblob *rblob;
};

/* An empty archive without fds, limits from @opts (which may be NULL), to
 * be freed with arc_free(). Returns NULL when out of memory. */
struct arc *arc_new(const struct arc_opts *opts);
/* Normalise @raw into @out (ARC_PATH_MAX bytes). Returns the length, 0 for the
 * root itself, or -EINVAL for a ".." component or an over-long name. */
int arc_norm_path(const char *raw, char *out);
/* Append an item named @raw (normalised here). Returns 1 and the item in
 * @ret_item (valid until the next call), 0 if the name was skipped as unsafe,
 * or -ENOMEM. */
int arc_item_new(struct arc *a, const char *raw, struct arc_item **ret_item);
/* Hand @p (malloc'ed) to @a, to be freed by arc_free(). Frees @p and returns
 * -ENOMEM on failure. */
int arc_blob_keep(struct arc *a, void *p);
/* Create the spill file if needed. Returns its fd or -errno (message in @ret_error). */
int arc_spill_fd(struct arc *a, char **ret_error);
/* Whether @size more bytes fit in the spill budget; if not, set the message
 * (naming member @name) and return -EFBIG, else 0. */
int arc_spill_check(struct arc *a, const char *name, uint64_t size, char **ret_error);
/* Whether a member whose header claims @size bytes may be decoded into the
 * spill file (ARC_SPILL_SPARSE); if not, set the message (naming member
 * @name) and return -EFBIG, else 0. */
int arc_spill_claim(struct arc *a, const char *name, uint64_t size, char **ret_error);
/* Write @len bytes of member @name at @off of the spill file (made by
 * arc_spill_fd()), leaving holes for its blocks of zeros; what is written
 * counts against the spill limit (arc_spill_check()). Returns 0 or -errno
 * with a message. */
int arc_spill_write(struct arc *a, const char *name, const void *buf, size_t len, uint64_t off,
		    char **ret_error);
/* Make the spill file at least @end bytes long, so that the holes at the end
 * of the member written last read (and map) as zeros. 0 or -errno with a message. */
int arc_spill_extend(struct arc *a, uint64_t end, char **ret_error);
/* Copy @s into @out (@size bytes) for a one-line message: control bytes become '?'. */
const char *arc_safe_name(const char *s, char *out, size_t size);

/* Reports of @total bytes to @opts->progress (if set) from now on, until
 * arc_progress_end() (which reports the end when @done and a bar is up). */
void arc_progress_begin(struct arc *a, const struct arc_opts *opts, uint64_t total);
void arc_progress_end(struct arc *a, bool done);
/* Report @done bytes of the archive read to arc_opts.progress, if set and
 * if the last report is 100 ms old (the first waits 300 ms, so that quick
 * indexes show nothing). Accepts NULL. */
void arc_progress(struct arc *a, uint64_t done);

/* Index the archive open at @fd (a regular file of @st_size bytes, or a stream). */
int arc_tar_index(struct arc *a, int fd, const struct stat *st, char **ret_error);
struct arc_seek;
struct arc_midx;
/* Index the tar that @seek (taken over, freed on failure) decodes, a
 * compressed file of compression @comp read at random; @a serves its large
 * members through it. With its member index @midx (arc-midx.h), only the
 * index is read and every member is served through @seek. */
int arc_tar_index_seek(struct arc *a, struct arc_seek *seek, const char *comp, const struct arc_midx *midx,
		       char **ret_error);
/* The compression of the file @fd by its first bytes ("zstd", "gzip", ... as
 * arc_pipe_start() takes them), or NULL for none known (arc-tar.c). */
const char *arc_compression(int fd);
/* Index the tar (in any compression) held in @len bytes at @base, which
 * stay the caller's. A plain tar's members become ARC_SRC_ARCHIVE items
 * whose offsets are relative to @base; compressed ones are copied. */
int arc_tar_index_mem(struct arc *a, const uint8_t *base, size_t len, char **ret_error);
/* Resolve hard links, drop duplicates, add implied parents and sort: the
 * last step of every index. Returns 0 or -ENOMEM. */
int arc_finish(struct arc *a);
/* Index the directory open at @fd; a->fd becomes @fd. */
int arc_dir_index(struct arc *a, int fd, char **ret_error);
/* Open member @path of the directory input @a, following no symlink.
 * Returns an fd or -errno. */
int arc_open_member(const struct arc *a, const char *path);
/* Index the regular file or stream open at @fd (taken over) as arc_open()
 * does, without looking for an image, drawing on @budget (that of the
 * archive it belongs to; NULL: one of its own). */
int arc_open_fd(int fd, const struct arc_opts *opts, struct arc_budget *budget, struct arc **ret_arc,
		char **ret_error);

/* Index the zstd:chunked layer blob of @size bytes at @base of @fd (kept
 * open by the caller as long as @a) from its table of contents, placed by
 * the annotation @pos ("OFFSET:LENGTH:SIZE:TYPE") and vouched for by
 * @checksum (the sha256 of its compressed bytes): its members become items
 * of @a whose data a->seek reads frame by frame (arc-seek-chunked.c).
 * Returns 0; -ENOTSUP when the blob cannot be read that way (read it as a
 * stream); -EBADMSG for a TOC that is corrupt, does not match @checksum or
 * points outside the blob; -EIO, -ENOMEM; with a one-line reason. */
int arc_chunked_index(struct arc *a, const struct arc_seek_src *src, uint64_t base, uint64_t size, const char *pos,
		      const char *checksum, char **ret_error);

/* If @a, just indexed from @path, is a container image, build the archive
 * its layers make (taking @a over) in @ret_arc and return 1; return 0 when
 * it is not an image (@a untouched), or -errno with a message. */
int arc_oci_open(struct arc *a, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error);
/* The image the registry reference @ref (docker://...) names, as an outer
 * arc for arc_oci_open(): oci-layout, an index.json naming its manifest,
 * and that manifest; what the manifest names is fetched as the walk asks
 * for it (arc-reg.c). */
int arc_reg_open(const char *ref, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error);
/* Release an image description. Accepts NULL. */
void arc_image_free(struct arc_image *img);

#endif
