/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by arc-seek.c (unit table, cache, reads) and
 * arc-seek-fmt.c (xz and zstd containers: scanning and decoding one unit).
 * Not for other modules. */
#ifndef CK_ARC_SEEK_PRIV_H
#define CK_ARC_SEEK_PRIV_H

#include <pthread.h>

#include "arc-seek.h"
#include "zstd-fmt.h"

/* Units above this many make the file -ENOTSUP: 32 bytes each in memory. */
#define SEEK_UNITS_MAX (1u << 18)
/* opts.unit_max is clamped to this, so that unit sizes fit in 32 bits. */
#define SEEK_UNIT_CAP_MAX (1ull << 30)


enum seek_fmt {
	SEEK_XZ,
	SEEK_ZSTD,		/* frames that declare their content size */
	SEEK_ZSTD_TABLE,	/* the seekable format: a seek table at the end */
	SEEK_ZSTD_CHUNKED,	/* zstd:chunked: the members' frames, from its TOC (arc-seek-chunked.c) */
};

/* One independently decodable unit: an xz block (with its padding and
 * check) or a zstd frame. */
struct seek_unit {
	uint64_t coff;		/* compressed bytes at @coff of the file */
	uint64_t uoff;		/* uncompressed offset */
	uint32_t csize;
	uint32_t usize;		/* never 0: empty units are left out */
	uint32_t sum;		/* seek table checksum: low 32 bits of XXH64 */
	uint8_t xz_check;	/* lzma_check of the unit's xz stream */
	bool has_sum;
	bool has_sha;		/* pieces from arc_seek.sha_first[i] give its sha256s */
	bool zeros;		/* zstd:chunked: a run of zeros, not read (usize only) */
};

/* zstd:chunked: the sha256 of @len decoded bytes, a piece of a unit (the
 * pieces of a unit follow each other and add up to it). */
struct seek_sha {
	uint32_t len;
	bool set;		/* else unknown: not checked */
	uint8_t sha[32];
};

/* A decoded unit in the cache, or one being decoded. */
struct seek_slot {
	struct seek_slot *prev, *next;	/* LRU list, most recent first */
	size_t unit;
	uint8_t *data;
	unsigned refs;		/* readers copying from @data, and the decoder */
	bool busy;		/* being decoded: wait on arc_seek.done */
	bool linked;		/* on the list; else freed by the last unref */
	int err;		/* the decode failed with this -errno */
};

struct arc_seek {
	struct arc_seek_src src;	/* where the compressed bytes are read */
	char *sha256;		/* per unit, ARC_DIGEST_SIZE bytes each, or NULL */
	bool table_trusted;
	uint64_t file_size;
	enum seek_fmt fmt;
	struct seek_unit *units;	/* by uoff, contiguous from 0 */
	size_t n, cap;
	uint64_t size;		/* sum of usize */
	uint64_t unit_cap;	/* from the options */
	uint64_t unit_largest;
	uint64_t cache_max;
	unsigned decoders;	/* most decodes at once */
	uint64_t in_len;	/* the largest csize */
	pthread_mutex_t lock;	/* the fields below */
	pthread_cond_t done;	/* a decode finished */
	bool lock_ready;
	struct seek_slot *head, *tail;
	size_t nslots;
	uint64_t used;		/* bytes of the slots on the list */
	unsigned decoding;	/* decodes running */
	uint8_t *inbufs[16];	/* compressed buffers to reuse, s->in_len bytes each */
	unsigned ninbufs;
	uint64_t decodes;
	/* Read-ahead (arc-seek.c): once reads run sequentially, helper threads
	 * decode the units [ahead_from, ahead_to) before they are asked for. */
	pthread_cond_t ahead_cond;	/* wanted units changed, or stop */
	pthread_t ahead_threads[4];
	unsigned n_ahead_threads;
	size_t ahead_from, ahead_to;
	uint64_t seq_end;	/* where the last read ended */
	uint64_t ahead_decodes;	/* units the helpers decoded */
	bool ahead_stop;
	struct seek_sha *shas;	/* zstd:chunked: the pieces of the units, in order */
	size_t nshas, shas_cap;
	uint32_t *sha_first;	/* per unit with has_sha: its first piece */
	uint64_t src_bytes, src_reads;	/* through arc_seek_read(): for the debug log */
	size_t warned;		/* 1 + the unit whose failure was last warned of */
	char kind[48];
};

/* Append a unit of @csize compressed bytes at @coff holding @usize bytes
 * (uoff is set later). Units of size 0 are skipped. Returns 0, -ENOTSUP
 * (too large, too many, or a compressed size out of proportion) or -ENOMEM,
 * with a message. */
int arc_seek_add(struct arc_seek *s, uint64_t coff, uint64_t csize, uint64_t usize,
		 char **ret_error);
/* A table without units for the compressed file read through @src
 * (@file_size bytes), with the limits of @opts (may be NULL); NULL when out
 * of memory. Fill it (arc_seek_add()), then arc_seek_ready(). */
struct arc_seek *arc_seek_new(const struct arc_seek_src *src, uint64_t file_size, const struct arc_seek_opts *opts);
/* Number the units and set up the cache and its locks. 0 or -ENOMEM. */
int arc_seek_ready(struct arc_seek *s, const struct arc_seek_opts *opts, char **ret_error);
/* Read @len bytes at @off of the compressed file through s->src: the one
 * way units, tables and a zstd:chunked file's metadata are read (counted
 * for the debug log). The count, short only at the end, or -errno. */
ssize_t arc_seek_read(const struct arc_seek *s, void *buf, size_t len, uint64_t off);
/* Whether unit @i of @s, decoded at @out, has the sha256s of its pieces
 * (arc-seek-chunked.c). */
bool arc_seek_sha_ok(const struct arc_seek *s, size_t i, const uint8_t *out);
/* Fill the unit table of @s from the file s->src: every stream of an xz
 * file, from the last one back; the seek table or the frames of a zstd
 * file. Returns 0 or the errors of arc_seek_open(). */
int arc_seek_scan(struct arc_seek *s, char **ret_error);
/* Decode unit @u of @s, whose @u->csize compressed bytes are at @in, into
 * @out (@u->usize bytes). Returns 0, or -EIO or -ENOMEM and a static
 * reason in @ret_why. */
int arc_seek_decode(const struct arc_seek *s, const struct seek_unit *u, const uint8_t *in,
		    uint8_t *out, const char **ret_why);

#endif
