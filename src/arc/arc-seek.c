/* SPDX-License-Identifier: Apache-2.0 */
/* Random access into compressed files: the unit table that
 * arc-seek-fmt.c fills, and reads through a small cache of decoded units.
 *
 * The cache is a list of slots in LRU order under one mutex, which is never
 * held while decoding. A reader that misses adds a busy slot, so that
 * others needing the same unit wait for it (on a condition variable)
 * instead of decoding it again, then decodes without the lock; readers of
 * different units decode in parallel. A slot holds a reference per reader
 * copying from it and is evicted only when unreferenced. The bytes of
 * busy slots count against the budget as well, and at most a few decodes
 * run at once (each also holds its compressed unit), so memory stays
 * within the budget plus a compressed unit per decoder, or one unit per
 * reading thread when that is more.
 *
 * Read-ahead: a read near the end of the previous ones (SEEK_NEAR) asks for
 * the units after the furthest one read; helper threads (as many as decoders)
 * decode them into busy slots exactly as a reader would, so that a
 * sequential reader finds them decoded, or being decoded, and a stream
 * reads at the speed of the decoders together. Random reads ask for none. */
#include "arc-seek-priv.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "arc-oci.h"
#include "arc-priv.h"
#include "log.h"

#define SEEK_UNIT_DEFAULT (32ull << 20)
#define SEEK_CACHE_DEFAULT (48ull << 20)
#define SEEK_CACHE_UNITS 4
/* at least this much: the kernel's read-ahead (4 MiB, fs.h) has several
 * requests in flight and the helpers decode ahead of them; with less, small
 * units (1 MiB xz blocks) were evicted before they were read and decoded
 * again, and a sequential read ran at one decoder's speed */
#define SEEK_CACHE_MIN (16ull << 20)
#define SEEK_SLOTS_MAX 64
#define SEEK_DECODERS_DEFAULT 2
#define SEEK_INBUF_KEEP (4u << 20)
#define SEEK_AHEAD_THREADS 4

int arc_seek_add(struct arc_seek *s, uint64_t coff, uint64_t csize, uint64_t usize,
		 char **ret_error)
{
	if (usize == 0)
		return 0;
	if (usize > s->unit_cap)
		return ck_err(ret_error, -ENOTSUP,
			       "a unit of %" PRIu64 " bytes at %" PRIu64 ", over %" PRIu64, usize,
			       coff, s->unit_cap);
	/* Real encoders stay well within this; more would let one read
	 * allocate far more than the unit it decodes. */
	if (csize > usize + usize / 16 + 65536)
		return ck_err(ret_error, -ENOTSUP,
			       "a unit of %" PRIu64 " compressed bytes at %" PRIu64 " for %" PRIu64,
			       csize, coff, usize);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct seek_unit *u;

		if (s->n >= SEEK_UNITS_MAX)
			return ck_err(ret_error, -ENOTSUP, "over %u units", SEEK_UNITS_MAX);
		u = reallocarray(s->units, cap, sizeof(*u));
		if (!u)
			return ck_err(ret_error, -ENOMEM, "out of memory");
		s->units = u;
		s->cap = cap;
	}
	s->units[s->n++] = (struct seek_unit) {
		.coff = coff, .csize = (uint32_t) csize, .usize = (uint32_t) usize,
	};
	return 0;
}

ssize_t arc_seek_read(const struct arc_seek *s, void *buf, size_t len, uint64_t off)
{
	ssize_t n = s->src.pread(s->src.ctx, buf, len, off);

	if (n > 0) {
		__atomic_add_fetch(&((struct arc_seek *) s)->src_bytes, (uint64_t) n, __ATOMIC_RELAXED);
		__atomic_add_fetch(&((struct arc_seek *) s)->src_reads, 1, __ATOMIC_RELAXED);
	}
	return n;
}

static ssize_t seek_fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	return ck_pread_full((int) (intptr_t) ctx, buf, len, (off_t) off);
}

struct arc_seek_src arc_seek_fd_src(int fd)
{
	return (struct arc_seek_src) { seek_fd_pread, (void *) (intptr_t) fd };
}

int arc_seek_open(int fd, uint64_t file_size, const struct arc_seek_opts *opts,
		  struct arc_seek **ret_seek, char **ret_error)
{
	struct arc_seek_src src = arc_seek_fd_src(fd);

	return arc_seek_open_src(&src, file_size, opts, ret_seek, ret_error);
}

int arc_seek_set_sha256(struct arc_seek *s, const char *hex, size_t n)
{
	char *copy;

	if (n != s->n)
		return -EBADMSG;
	copy = malloc(n * ARC_DIGEST_SIZE + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, hex, n * ARC_DIGEST_SIZE);
	free(s->sha256);
	s->sha256 = copy;
	return 0;
}

struct arc_seek *arc_seek_new(const struct arc_seek_src *src, uint64_t file_size, const struct arc_seek_opts *opts)
{
	struct arc_seek *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->src = *src;
	s->file_size = file_size;
	s->table_trusted = opts && opts->table_trusted;
	s->unit_cap = SEEK_UNIT_DEFAULT;
	if (opts && opts->unit_max)
		s->unit_cap = CK_MIN(opts->unit_max, SEEK_UNIT_CAP_MAX);
	return s;
}

static const char *const seek_kinds[] = {
	[SEEK_XZ] = "xz", [SEEK_ZSTD] = "zstd", [SEEK_ZSTD_TABLE] = "zstd seekable",
	[SEEK_ZSTD_CHUNKED] = "zstd:chunked",
};

int arc_seek_ready(struct arc_seek *s, const struct arc_seek_opts *opts, char **ret_error)
{
	uint64_t cache;

	for (size_t i = 0; i < s->n; i++) {
		s->units[i].uoff = s->size;
		s->size += s->units[i].usize;
		s->unit_largest = CK_MAX(s->unit_largest, (uint64_t) s->units[i].usize);
		s->in_len = CK_MAX(s->in_len, (uint64_t) s->units[i].csize);
	}
	cache = CK_MIN(CK_MAX(SEEK_CACHE_UNITS * s->unit_largest, SEEK_CACHE_MIN), SEEK_CACHE_DEFAULT);
	if (opts && opts->cache_max)
		cache = opts->cache_max;
	s->cache_max = CK_MAX(cache, s->unit_largest);
	s->decoders = opts && opts->decoders ? opts->decoders : SEEK_DECODERS_DEFAULT;
	s->decoders = CK_MIN(s->decoders, (unsigned) ARRAY_SIZE(s->inbufs));
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	if (pthread_cond_init(&s->done, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		return ck_err(ret_error, -ENOMEM, "out of memory");
	}
	if (pthread_cond_init(&s->ahead_cond, NULL) != 0) {
		pthread_cond_destroy(&s->done);
		pthread_mutex_destroy(&s->lock);
		return ck_err(ret_error, -ENOMEM, "out of memory");
	}
	s->seq_end = UINT64_MAX;
	s->lock_ready = true;
	snprintf(s->kind, sizeof(s->kind), "%s, %zu %s", seek_kinds[s->fmt], s->n,
		 s->fmt == SEEK_XZ ? "blocks" : s->fmt == SEEK_ZSTD_CHUNKED ? "units" : "frames");
	ck_log(CK_LOG_DEBUG, "seek: %s, %" PRIu64 " bytes, units up to %" PRIu64 ", cache %" PRIu64
	       ", %u decoders", s->kind, s->size, s->unit_largest, s->cache_max, s->decoders);
	return 0;
}

int arc_seek_open_src(const struct arc_seek_src *src, uint64_t file_size, const struct arc_seek_opts *opts,
		      struct arc_seek **ret_seek, char **ret_error)
{
	_cleanup_(arc_seek_freep) struct arc_seek *s = arc_seek_new(src, file_size, opts);
	int rc;

	if (!s)
		return ck_err(ret_error, -ENOMEM, "out of memory");
	rc = arc_seek_scan(s, ret_error);
	if (rc < 0)
		return rc;
	if (s->n < 2)
		return ck_err(ret_error, -ENOTSUP, "a single %s",
			       s->fmt == SEEK_XZ ? "xz block" : "zstd frame");
	rc = arc_seek_ready(s, opts, ret_error);
	if (rc < 0)
		return rc;
	*ret_seek = TAKE_PTR(s);
	return 0;
}

static void slot_unlink(struct arc_seek *s, struct seek_slot *slot)
{
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		s->head = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	else
		s->tail = slot->prev;
	slot->prev = slot->next = NULL;
	slot->linked = false;
	s->nslots--;
	s->used -= s->unit_largest;
}

static void slot_push(struct arc_seek *s, struct seek_slot *slot)
{
	slot->prev = NULL;
	slot->next = s->head;
	if (s->head)
		s->head->prev = slot;
	else
		s->tail = slot;
	s->head = slot;
	slot->linked = true;
	s->nslots++;
	s->used += s->unit_largest;
}

/* Unit buffers are mapped, not malloc'ed: glibc would keep the freed
 * ones of every reading thread's arena resident. */
static uint8_t *buf_new(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void buf_free(uint8_t *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

static void slot_free(struct arc_seek *s, struct seek_slot *slot)
{
	buf_free(slot->data, s->unit_largest);
	free(slot);
}

/* With s->lock held: evict unreferenced slots, least recent first, until
 * the cache is within its budget. The first buffer evicted goes to @want
 * (if not NULL), a slot about to be decoded: every slot's buffer holds the
 * largest unit, and one already touched costs no page faults. */
static void seek_trim(struct arc_seek *s, struct seek_slot *want)
{
	struct seek_slot *slot = s->tail, *prev;

	for (; slot && (s->used > s->cache_max || s->nslots > SEEK_SLOTS_MAX); slot = prev) {
		prev = slot->prev;
		if (slot->refs)
			continue;
		slot_unlink(s, slot);
		if (want && !want->data)
			want->data = TAKE_PTR(slot->data);
		slot_free(s, slot);
	}
}

/* With s->lock held: drop a reference taken by seek_hold(). */
static void slot_unref(struct arc_seek *s, struct seek_slot *slot)
{
	if (--slot->refs == 0 && !slot->linked)
		slot_free(s, slot);
	else
		seek_trim(s, NULL);
}

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

#define XXH_P1 0x9E3779B185EBCA87ull
#define XXH_P2 0xC2B2AE3D27D4EB4Full
#define XXH_P3 0x165667B19E3779F9ull
#define XXH_P4 0x85EBCA77C2B2AE63ull
#define XXH_P5 0x27D4EB2F165667C5ull

static uint64_t xxh_lane(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
	return rotl64(acc + lane * XXH_P2, 31) * XXH_P1;
}

static uint64_t xxh_merge(uint64_t h, uint64_t v)
{
	return (h ^ xxh_round(0, v)) * XXH_P1 + XXH_P4;
}

/* XXH64 with seed 0, as the seek table's checksums use (the zstd seekable
 * format specification). */
static uint64_t seek_xxh64(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	uint64_t h;

	if (len >= 32) {
		uint64_t v[4] = { XXH_P1 + XXH_P2, XXH_P2, 0, -XXH_P1 };

		for (; end - p >= 32; p += 32)
			for (int k = 0; k < 4; k++)
				v[k] = xxh_round(v[k], xxh_lane(p + 8 * k));
		h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
		for (int k = 0; k < 4; k++)
			h = xxh_merge(h, v[k]);
	} else {
		h = XXH_P5;
	}
	h += len;
	for (; end - p >= 8; p += 8)
		h = rotl64(h ^ xxh_round(0, xxh_lane(p)), 27) * XXH_P1 + XXH_P4;
	if (end - p >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		h = rotl64(h ^ (uint64_t) le32toh(w) * XXH_P1, 23) * XXH_P2 + XXH_P3;
		p += 4;
	}
	for (; p < end; p++)
		h = rotl64(h ^ *p * XXH_P5, 11) * XXH_P1;
	h ^= h >> 33;
	h *= XXH_P2;
	h ^= h >> 29;
	h *= XXH_P3;
	return h ^ (h >> 32);
}

/* Do the compressed bytes of unit @i at @in hash to the digest the member
 * index recorded for them? (seek_decode() says why not.) */
static bool seek_sha256_ok(const struct arc_seek *s, size_t i, const uint8_t *in)
{
	char got[ARC_DIGEST_SIZE];

	return arc_sha256_of(in, s->units[i].csize, got) == 0 && !strcmp(got, s->sha256 + i * ARC_DIGEST_SIZE);
}

/* Decode unit @i into @out, using @in (s->in_len bytes) for the
 * compressed data. Returns 0 or -errno. */
static int seek_decode(struct arc_seek *s, size_t i, uint8_t *in, uint8_t *out)
{
	const struct seek_unit *u = &s->units[i];
	const char *why = "read error";
	ssize_t n;
	int rc = -EIO;

	if (u->zeros) {
		memset(out, 0, u->usize);
		return 0;
	}
	n = arc_seek_read(s, in, u->csize, u->coff);
	if (n >= 0 && (size_t) n != u->csize)
		why = "file truncated";
	else if (n >= 0 && s->sha256 && !seek_sha256_ok(s, i, in))
		why = "does not match its sha256 in the member index";
	else if (n >= 0)
		rc = arc_seek_decode(s, u, in, out, &why);
	if (rc == 0 && u->has_sum && (uint32_t) seek_xxh64(out, u->usize) != u->sum) {
		why = "checksum mismatch";
		rc = -EIO;
	}
	if (rc == 0 && u->has_sha && !arc_seek_sha_ok(s, i, out)) {
		why = "sha256 differs from the table of contents";
		rc = -EIO;
	}
	/* units vouched for by a zstd:chunked TOC or a member index: say why
	 * one fails, once for a unit read again and again */
	if (rc < 0)
		ck_log((s->fmt == SEEK_ZSTD_CHUNKED || s->sha256) &&
		       __atomic_exchange_n(&s->warned, i + 1, __ATOMIC_RELAXED) != i + 1 ? CK_LOG_WARNING : CK_LOG_DEBUG,
		       "seek: %s unit %zu (%" PRIu32 " bytes at %" PRIu64 "): %s",
		       s->kind, i, u->csize, u->coff, why);
	return rc;
}

/* Decode into the busy @slot, with s->lock held on entry and on return
 * but not while decoding. Returns 0 or -errno. */
static int seek_fill(struct arc_seek *s, struct seek_slot *slot)
{
	uint8_t *in = NULL;
	int rc = -ENOMEM;

	/* Each decode holds a compressed and a decoded unit: bound them. */
	while (s->decoding >= s->decoders)
		pthread_cond_wait(&s->done, &s->lock);
	s->decoding++;
	if (s->ninbufs)
		in = s->inbufs[--s->ninbufs];
	pthread_mutex_unlock(&s->lock);

	if (!slot->data)
		slot->data = buf_new(s->unit_largest);
	if (!in)
		in = buf_new(s->in_len);
	if (slot->data && in)
		rc = seek_decode(s, slot->unit, in, slot->data);

	pthread_mutex_lock(&s->lock);
	s->decoding--;
	/* Small compressed buffers are kept, one per decoder. */
	if (in && s->in_len <= SEEK_INBUF_KEEP && s->ninbufs < ARRAY_SIZE(s->inbufs))
		s->inbufs[s->ninbufs++] = TAKE_PTR(in);
	buf_free(in, s->in_len);
	__atomic_add_fetch(&s->decodes, 1, __ATOMIC_RELAXED);
	return rc;
}

/* With s->lock held: a new slot for unit @i, decoded here (the lock is
 * dropped meanwhile) while others needing it wait. Returns it with one
 * reference; when the decode failed, *@rc says how and the slot is off the
 * list, its error left for its waiters. NULL when out of memory. */
static struct seek_slot *slot_decode(struct arc_seek *s, size_t i, int *rc)
{
	struct seek_slot *slot = calloc(1, sizeof(*slot));

	if (!slot) {
		*rc = -ENOMEM;
		return NULL;
	}
	slot->unit = i;
	slot->refs = 1;
	slot->busy = true;
	slot_push(s, slot);
	seek_trim(s, slot);
	*rc = seek_fill(s, slot);
	slot->busy = false;
	if (*rc < 0) {
		slot->err = *rc;
		slot_unlink(s, slot);
	}
	pthread_cond_broadcast(&s->done);
	return slot;
}

/* A referenced slot holding unit @i decoded: from the cache, from another
 * thread's decode, or decoded here. Returns 0 or -errno. */
static int seek_hold(struct arc_seek *s, size_t i, struct seek_slot **ret_slot)
{
	struct seek_slot *slot;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (slot = s->head; slot && slot->unit != i; slot = slot->next)
		;
	if (slot) {
		slot->refs++;
		if (slot != s->head) {
			slot_unlink(s, slot);
			slot_push(s, slot);
		}
		while (slot->busy)
			pthread_cond_wait(&s->done, &s->lock);
		rc = slot->err;
		if (rc < 0)
			slot_unref(s, slot);
		pthread_mutex_unlock(&s->lock);
		if (rc == 0)
			*ret_slot = slot;
		return rc;
	}
	slot = slot_decode(s, i, &rc);
	if (slot && rc < 0)
		slot_unref(s, slot);	/* waiters see the error; the next reader tries again */
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		*ret_slot = slot;
	return rc;
}

/* A read-ahead helper: decode the wanted units that are neither cached nor
 * being decoded, lowest first, into slots that stay in the cache. */
static void *seek_ahead_main(void *arg)
{
	struct arc_seek *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->ahead_stop) {
		struct seek_slot *slot = NULL;
		size_t i;
		int rc;

		for (i = s->ahead_from; i < s->ahead_to; i++) {
			for (slot = s->head; slot && slot->unit != i; slot = slot->next)
				;
			if (!slot)
				break;
		}
		/* Each wanted unit is decoded once: when the cache cannot keep
		 * it (readers hold the rest), it is not decoded again and again
		 * while readers wait for a decoder. A failed decode is left to
		 * the reader that wants it, which decodes it again and sees
		 * the error. */
		if (i < s->ahead_to && (slot = slot_decode(s, i, &rc))) {
			s->ahead_decodes++;
			if (s->ahead_from <= i)
				s->ahead_from = i + 1;
			slot_unref(s, slot);
			continue;
		}
		pthread_cond_wait(&s->ahead_cond, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static bool seek_ahead_on;

void arc_read_ahead_enable(bool on)
{
	__atomic_store_n(&seek_ahead_on, on, __ATOMIC_RELEASE);
}

/* The unit holding @off (< s->size). */
struct unit_key {
	const struct arc_seek *s;
	uint64_t off;
};

static bool unit_starts_at_or_before(const void *ctx, size_t i)
{
	const struct unit_key *k = ctx;

	return k->s->units[i].uoff <= k->off;
}

static size_t seek_find(const struct arc_seek *s, uint64_t off)
{
	struct unit_key k = { s, off };
	size_t after = ck_lower_bound(s->n, unit_starts_at_or_before, &k);

	return after ? after - 1 : 0;	/* the last unit starting at or before @off */
}

/* Reads this close to the furthest end so far belong to one stream: the
 * kernel's read-ahead sends a file's next requests at once, and the FUSE
 * threads serve them in any order, so a sequential reader's requests do
 * not arrive one after the other (tree.h, fs.c). */
#define SEEK_NEAR (16ull << 20)

/* After a read of [off, end): when it lies near the previous ones (see
 * SEEK_NEAR), want the units after the furthest one read decoded ahead. */
static void seek_ahead(struct arc_seek *s, uint64_t off, uint64_t end)
{
	pthread_mutex_lock(&s->lock);
	/* seq_end is UINT64_MAX until the first read */
	if (s->seq_end != UINT64_MAX && off <= s->seq_end + SEEK_NEAR && off + SEEK_NEAR >= s->seq_end) {
		size_t last;

		s->seq_end = CK_MAX(s->seq_end, end);
		last = seek_find(s, s->seq_end - 1);
		if (last + 1 < s->n && !s->ahead_stop && __atomic_load_n(&seek_ahead_on, __ATOMIC_ACQUIRE)) {
			s->ahead_from = last + 1;
			s->ahead_to = CK_MIN(s->n, last + 1 + (size_t) s->decoders);
			while (s->n_ahead_threads < CK_MIN(s->decoders, (unsigned) SEEK_AHEAD_THREADS) &&
			       pthread_create(&s->ahead_threads[s->n_ahead_threads], NULL, seek_ahead_main, s) == 0)
				s->n_ahead_threads++;
			pthread_cond_broadcast(&s->ahead_cond);
		}
	} else {
		s->seq_end = end;	/* a jump: a new stream starts here */
	}
	pthread_mutex_unlock(&s->lock);
}

ssize_t arc_seek_pread(struct arc_seek *s, void *buf, size_t len, uint64_t off)
{
	size_t done = 0, i;

	if (off >= s->size || len == 0)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, CK_MIN(s->size - off, (uint64_t) SSIZE_MAX));
	for (i = seek_find(s, off); done < len; i++) {
		const struct seek_unit *u = &s->units[i];
		uint64_t at = off + done - u->uoff;
		size_t k = (size_t) CK_MIN((uint64_t) (len - done), u->usize - at);
		struct seek_slot *slot = NULL;
		int rc = seek_hold(s, i, &slot);

		if (rc < 0)
			return rc;
		memcpy((uint8_t *) buf + done, slot->data + at, k);
		pthread_mutex_lock(&s->lock);
		slot_unref(s, slot);
		pthread_mutex_unlock(&s->lock);
		done += k;
	}
	seek_ahead(s, off, off + done);
	return (ssize_t) done;
}

void arc_seek_free(struct arc_seek *s)
{
	struct seek_slot *slot, *next;

	if (!s)
		return;
	if (s->src_reads)
		ck_log(CK_LOG_DEBUG, "seek: %s: %" PRIu64 " compressed bytes read in %" PRIu64 " reads, %" PRIu64
		       " decodes", s->kind, s->src_bytes, s->src_reads, s->decodes);
	if (s->lock_ready) {
		pthread_mutex_lock(&s->lock);
		s->ahead_stop = true;
		pthread_cond_broadcast(&s->ahead_cond);
		pthread_mutex_unlock(&s->lock);
		for (unsigned k = 0; k < s->n_ahead_threads; k++)
			pthread_join(s->ahead_threads[k], NULL);
	}
	for (slot = s->head; slot; slot = next) {
		next = slot->next;
		slot_free(s, slot);
	}
	for (unsigned k = 0; k < s->ninbufs; k++)
		buf_free(s->inbufs[k], s->in_len);
	if (s->lock_ready) {
		pthread_cond_destroy(&s->ahead_cond);
		pthread_cond_destroy(&s->done);
		pthread_mutex_destroy(&s->lock);
	}
	free(s->units);
	free(s->sha256);
	free(s->shas);
	free(s->sha_first);
	free(s);
}

uint64_t arc_seek_size(const struct arc_seek *s)
{
	return s->size;
}

const char *arc_seek_kind(const struct arc_seek *s)
{
	return s->kind;
}

uint64_t arc_seek_decodes(const struct arc_seek *s)
{
	return __atomic_load_n(&s->decodes, __ATOMIC_RELAXED);
}
