/* SPDX-License-Identifier: Apache-2.0 */
/* The seekable zstd writer of pack.h. The caller's bytes fill the current
 * frame; a full frame (or one cut where a tar member starts) goes into a
 * ring of jobs that worker threads compress, each with its own context, and
 * the caller writes finished frames in input order, waiting only when the
 * ring is full. The seek table lists each frame's compressed and
 * uncompressed size (docs/formats.md describes the layout). */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "pack.h"
#include "zstd-fmt.h"

#define PACK_FRAME_DEFAULT (4u << 20)
#define PACK_FRAME_LIMIT (64u << 20)	/* sizes in the seek table are 32-bit */
#define PACK_PAX_MAX (64u * 1024)	/* pax headers read for a size= record */
#define TAR_BLOCK 512u
/* the member index (docs/formats.md): a skippable frame of its own */

enum job_state { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_BUSY, JOB_DONE };

struct pack_job {
	enum job_state state;
	uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_len;
	int err;
	char hash[CK_DIGEST_SIZE];	/* of @out, with opts.hash */
};

/* What the tar walk knows: where the next header starts and which entry
 * (with its pax or long-name headers) the frame may be cut before. */
struct tar_walk {
	bool ok;		/* still parsing; false after anything that is not a tar header */
	bool ended;		/* the end-of-archive block was seen: the rest is padding */
	const char *why;	/* why the input is not a whole tar, when it is not */
	uint64_t why_at;	/* and at which input offset */
	uint64_t next_hdr;	/* input offset of the next 512-byte header */
	uint64_t entry_start;	/* input offset of the first header of the current entry */
	bool in_meta;		/* after a pax or GNU long-name header: the entry goes on */
	uint8_t hdr[TAR_BLOCK];
	size_t hdr_have;
	int64_t pax_size;	/* size= of the pending pax header, -1 if none */
	uint8_t *pax;		/* data of the pending pax header */
	size_t pax_len, pax_want;
	uint64_t pax_end;	/* input offset where its data ends */
};

struct pack_zstd {
	pack_sink_fn sink;
	void *sink_ctx;
	int level;
	size_t frame_max, frame_min;
	unsigned n_threads;
	pthread_t *threads;
	unsigned n_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* a job was queued, or stop */
	pthread_cond_t done;	/* a job is done */
	bool stop;
	struct pack_job *jobs;	/* ring: jobs[fill] is filled, jobs[drain] written next */
	size_t n_jobs, fill, drain;
	uint64_t frame_start;	/* input offset of the current frame's first byte */
	uint64_t pos;		/* input bytes so far */
	int err;		/* sticky */
	uint32_t *table;	/* per frame: compressed size, uncompressed size */
	size_t n_frames, cap_frames;
	uint64_t out_bytes;
	struct tar_walk tar;
	bool use_tar;
	struct ck_buf tail;	/* what follows the frames, written last */
	char index_digest[CK_DIGEST_SIZE];
	/* the member index: opts.hash, the frames' digests (64 hex digits
	 * each), and per entry its offset, length and header bytes */
	int (*hash)(const void *buf, size_t len, char out[CK_DIGEST_SIZE]);
	char *hashes;
	struct ck_buf index;
	uint32_t n_entries;
	size_t entry_len_at;	/* where the current entry's length is in @index */
};

static void *worker(void *arg)
{
	struct pack_zstd *w = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	bool ok = cctx && !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, w->level)) &&
		  !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) &&
		  !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1));

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct pack_job *j = NULL;

		for (size_t k = 0; k < w->n_jobs && !j; k++) {
			struct pack_job *c = &w->jobs[(w->drain + k) % w->n_jobs];

			if (c->state == JOB_QUEUED)
				j = c;
		}
		if (!j) {
			if (w->stop)
				break;
			pthread_cond_wait(&w->wake, &w->lock);
			continue;
		}
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&w->lock);
		if (!ok) {
			j->err = -ENOMEM;
		} else {
			size_t r = ZSTD_compress2(cctx, j->out, ZSTD_compressBound(w->frame_max), j->in, j->in_len);

			j->err = ZSTD_isError(r) ? -EIO : 0;
			j->out_len = ZSTD_isError(r) ? 0 : r;
			if (j->err == 0 && w->hash)
				j->err = w->hash(j->out, j->out_len, j->hash);
		}
		pthread_mutex_lock(&w->lock);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	ZSTD_freeCCtx(cctx);
	return NULL;
}

int pack_sink_fd(void *ctx, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd = *(const int *) ctx;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static int write_all(struct pack_zstd *w, const void *buf, size_t len)
{
	int rc = w->sink(w->sink_ctx, buf, len);

	if (rc == 0)
		w->out_bytes += len;
	return rc;
}

/* Room in the seek table (and the digests) for one more frame. */
static int table_room(struct pack_zstd *w)
{
	size_t cap = w->cap_frames ? w->cap_frames * 2 : 64;
	uint32_t *t;
	char *h;

	if (w->n_frames < w->cap_frames)
		return 0;
	t = reallocarray(w->table, cap, 2 * sizeof(*t));
	if (!t)
		return -ENOMEM;
	w->table = t;
	if (w->hash) {
		h = reallocarray(w->hashes, cap, 64);
		if (!h)
			return -ENOMEM;
		w->hashes = h;
	}
	w->cap_frames = cap;
	return 0;
}

/* Wait for the oldest job in flight, write its frame and free its slot. */
static int drain_one(struct pack_zstd *w)
{
	struct pack_job *j = &w->jobs[w->drain];
	int rc;

	pthread_mutex_lock(&w->lock);
	while (j->state != JOB_DONE)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
	rc = j->err;
	if (rc == 0)
		rc = table_room(w);
	if (rc == 0)
		rc = write_all(w, j->out, j->out_len);
	if (rc == 0) {
		w->table[2 * w->n_frames] = htole32((uint32_t) j->out_len);
		w->table[2 * w->n_frames + 1] = htole32((uint32_t) j->in_len);
		if (w->hash)
			memcpy(w->hashes + 64 * w->n_frames, j->hash + 7, 64);
		w->n_frames++;
	}
	j->state = JOB_FREE;
	j->in_len = 0;
	w->drain = (w->drain + 1) % w->n_jobs;
	return rc;
}

/* The job being filled, taking a free slot (draining the oldest) if needed. */
static int current(struct pack_zstd *w, struct pack_job **ret)
{
	struct pack_job *j = &w->jobs[w->fill];
	int rc;

	if (j->state != JOB_FILLING) {
		if (j->state != JOB_FREE) {	/* the ring is full: this is the oldest */
			rc = drain_one(w);
			if (rc < 0)
				return rc;
		}
		j->state = JOB_FILLING;
		j->in_len = 0;
		j->err = 0;
	}
	*ret = j;
	return 0;
}

/* Queue the first @keep bytes of the current frame and start the next one
 * with the rest. */
static int submit(struct pack_zstd *w, size_t keep)
{
	struct pack_job *j = &w->jobs[w->fill], *next;
	size_t rest;
	int rc;

	if (j->state != JOB_FILLING || keep == 0)
		return 0;
	rest = j->in_len - keep;
	j->in_len = keep;
	pthread_mutex_lock(&w->lock);
	j->state = JOB_QUEUED;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->fill = (w->fill + 1) % w->n_jobs;
	w->frame_start += keep;
	if (!rest)
		return 0;
	rc = current(w, &next);
	if (rc < 0)
		return rc;
	memcpy(next->in, j->in + keep, rest);
	next->in_len = rest;
	return 0;
}

/* A tar number field: octal, or GNU's base-256 when the top bit is set. */
static bool tar_number(const uint8_t *f, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*ret = v;
		return true;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t) (f[i] - '0');
	}
	if (i < n && f[i] != ' ' && f[i] != '\0')
		return false;
	*ret = v;
	return true;
}

static bool tar_checksum_ok(const uint8_t *h)
{
	uint64_t want, sum = 0;

	if (!tar_number(h + 148, 8, &want))
		return false;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum == want;
}

/* size= of pax records "LEN key=value\n", or -1. */
static int64_t pax_size_of(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t rec = 0;
		size_t j = i;

		while (j < len && p[j] >= '0' && p[j] <= '9' && rec < len)
			rec = rec * 10 + (uint64_t) (p[j++] - '0');
		if (j >= len || p[j] != ' ' || rec == 0 || rec > len - i)
			return -1;
		if (rec - (j + 1 - i) > 5 && !memcmp(p + j + 1, "size=", 5)) {
			uint64_t v = 0;

			for (size_t k = j + 6; k < i + rec && p[k] >= '0' && p[k] <= '9'; k++)
				v = v * 10 + (uint64_t) (p[k] - '0');
			return v > INT64_MAX ? -1 : (int64_t) v;
		}
		i += rec;
	}
	return -1;
}

/* A header is complete: find where the next one starts, and cut the frame
 * before an entry large enough to deserve frames of its own. */
static int tar_header(struct pack_zstd *w)
{
	struct tar_walk *t = &w->tar;
	const uint8_t *h = t->hdr;
	uint64_t size;
	bool zero = true;
	char type;

	for (size_t i = 0; i < TAR_BLOCK && zero; i++)
		zero = h[i] == 0;
	if (zero) {		/* the end-of-archive blocks */
		t->next_hdr = w->pos;
		t->ended = true;
		return 0;
	}
	if (!tar_checksum_ok(h) || !tar_number(h + 124, 12, &size) || size > UINT64_MAX / 2) {
		t->ok = false;
		t->why = "not a tar header";
		t->why_at = w->pos - TAR_BLOCK;
		return -EBADMSG;
	}
	type = (char) h[156];
	if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
		t->in_meta = true;
		if (type == 'x' && size <= PACK_PAX_MAX) {
			t->pax_want = size;
			t->pax_len = 0;
			t->pax_end = w->pos + size;
		}
	} else {
		if (t->pax_size >= 0)
			size = (uint64_t) t->pax_size;
		t->pax_size = -1;
		t->in_meta = false;
	}
	t->next_hdr = w->pos + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	/* a large member starts a frame, unless it already does */
	if (!t->in_meta && size >= w->frame_min && t->entry_start > w->frame_start)
		return submit(w, (size_t) (t->entry_start - w->frame_start));
	return 0;
}

/* The member index: an entry starts at w->pos (its offset, and its
 * length, filled in by index_add()). */
static void index_entry(struct pack_zstd *w)
{
	uint64_t off = htole64(w->pos);
	uint32_t zero = 0;

	if (!w->hash)
		return;
	ck_buf_add(&w->index, &off, sizeof(off));
	w->entry_len_at = w->index.len;
	ck_buf_add(&w->index, &zero, sizeof(zero));
	w->n_entries++;
}

/* @n more header bytes of the current entry. */
static void index_add(struct pack_zstd *w, const void *p, size_t n)
{
	uint32_t len;

	if (!w->n_entries || ck_buf_add(&w->index, p, n) < 0)
		return;
	memcpy(&len, w->index.data + w->entry_len_at, sizeof(len));
	len = htole32(le32toh(len) + (uint32_t) n);
	memcpy(w->index.data + w->entry_len_at, &len, sizeof(len));
}

int pack_zstd_write(struct pack_zstd *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct tar_walk *t = &w->tar;
	struct pack_job *j;
	int rc = w->err;

	while (rc == 0 && len) {
		size_t n;
		bool in_hdr = false;

		if (w->use_tar && t->ok && !t->ended && w->pos == t->next_hdr && t->hdr_have == 0 && !t->in_meta) {
			t->entry_start = w->pos;
			index_entry(w);
			if (w->pos - w->frame_start >= w->frame_min)
				rc = submit(w, (size_t) (w->pos - w->frame_start));
			if (rc < 0)
				break;
		}
		rc = current(w, &j);
		if (rc < 0)
			break;
		n = CK_MIN(len, w->frame_max - j->in_len);
		if (w->use_tar && t->ok && !t->ended) {
			if (w->pos >= t->next_hdr) {
				in_hdr = true;
				n = CK_MIN(n, TAR_BLOCK - t->hdr_have);
			} else {
				n = (size_t) CK_MIN((uint64_t) n, t->next_hdr - w->pos);
			}
		}
		memcpy(j->in + j->in_len, p, n);
		j->in_len += n;
		if (w->hash && t->ok && !t->ended && (in_hdr || t->in_meta))
			index_add(w, p, n);
		if (in_hdr) {
			memcpy(t->hdr + t->hdr_have, p, n);
			t->hdr_have += n;
		} else if (t->pax_want && w->pos < t->pax_end) {
			size_t m = (size_t) CK_MIN((uint64_t) n, t->pax_end - w->pos);

			memcpy(t->pax + t->pax_len, p, m);
			t->pax_len += m;
			if (t->pax_len == t->pax_want) {
				t->pax_size = pax_size_of(t->pax, t->pax_len);
				t->pax_want = 0;
			}
		}
		w->pos += n;
		p += n;
		len -= n;
		if (in_hdr && t->hdr_have == TAR_BLOCK) {
			t->hdr_have = 0;
			rc = tar_header(w);
		}
		if (rc == 0 && w->jobs[w->fill].state == JOB_FILLING &&
		    w->jobs[w->fill].in_len == w->frame_max)
			rc = submit(w, w->frame_max);
	}
	w->err = rc;
	return rc;
}

const char *pack_zstd_tar_why(const struct pack_zstd *w, uint64_t *ret_at)
{
	*ret_at = w->tar.why_at;
	return w->tar.why;
}

static int tail_add(struct pack_zstd *w, const void *p, size_t len);
static int index_frame(struct pack_zstd *w);

int pack_zstd_finish(struct pack_zstd *w, struct pack_stats *st)
{
	uint8_t foot[9];
	uint32_t hdr[2], n;
	struct tar_walk *t = &w->tar;
	int rc = w->err;

	/* a tar must end where a header would start (the end-of-archive
	 * blocks are optional, as for tar(1)), not inside a member */
	if (rc == 0 && w->use_tar && !t->ended && (t->hdr_have || w->pos != t->next_hdr || t->in_meta ||
						    !w->pos)) {
		t->why = w->pos ? "the tar ends inside a member (truncated)" : "empty, not a tar";
		t->why_at = w->pos;
		rc = w->err = -EBADMSG;
	}
	if (rc == 0 && w->jobs[w->fill].state == JOB_FILLING)
		rc = submit(w, w->jobs[w->fill].in_len);
	while (rc == 0 && w->jobs[w->drain].state != JOB_FREE && w->jobs[w->drain].state != JOB_FILLING)
		rc = drain_one(w);
	if (rc == 0 && w->hash)
		rc = index_frame(w);
	if (rc == 0 && w->n_frames > (UINT32_MAX - 9) / 8)
		rc = -EFBIG;
	if (rc == 0) {
		n = (uint32_t) w->n_frames;
		hdr[0] = htole32(CK_ZST_TABLE_MAGIC);
		hdr[1] = htole32(n * 8 + 9);
		rc = tail_add(w, hdr, sizeof(hdr));
	}
	if (rc == 0 && n)
		rc = tail_add(w, w->table, (size_t) n * 8);
	if (rc == 0) {
		uint32_t v = htole32(n), magic = htole32(CK_ZST_SEEKABLE_MAGIC);

		memcpy(foot, &v, 4);
		foot[4] = 0;	/* descriptor: no per-frame checksums in the table */
		memcpy(foot + 5, &magic, 4);
		rc = tail_add(w, foot, sizeof(foot));
	}
	if (rc == 0 && w->hash)
		rc = w->hash(w->tail.data, w->tail.len, w->index_digest);
	if (rc == 0)
		rc = write_all(w, w->tail.data, w->tail.len);
	w->err = rc;
	if (rc == 0 && st) {
		*st = (struct pack_stats) { .in_bytes = w->pos, .out_bytes = w->out_bytes, .frames = w->n_frames };
		memcpy(st->index_digest, w->index_digest, sizeof(st->index_digest));
	}
	return rc;
}

/* What follows the frames is gathered before it is written: with a member
 * index, its digest covers it all. */
static int tail_add(struct pack_zstd *w, const void *p, size_t len)
{
	return ck_buf_add(&w->tail, p, len);
}

/* The member index frame (docs/formats.md), listed in the seek table as
 * a frame of no content. */
static int index_frame(struct pack_zstd *w)
{
	uint32_t head[2], v32, content;
	uint64_t v64;
	int rc;

	if (w->index.oom)
		return -ENOMEM;
	content = (uint32_t) (8 + 4 * 3 + 8 + 64 * w->n_frames + w->index.len + 8);
	if ((uint64_t) 8 + 4 * 3 + 8 + 64 * (uint64_t) w->n_frames + w->index.len + 8 > UINT32_MAX - 8)
		return -EFBIG;
	head[0] = htole32(CK_MIDX_MAGIC);
	head[1] = htole32(content);
	rc = tail_add(w, head, sizeof(head));
	rc = rc ?: tail_add(w, CK_MIDX_ID, 8);
	v32 = htole32(CK_MIDX_VERSION);
	rc = rc ?: tail_add(w, &v32, 4);
	v32 = htole32((uint32_t) w->n_frames);
	rc = rc ?: tail_add(w, &v32, 4);
	v32 = htole32(w->n_entries);
	rc = rc ?: tail_add(w, &v32, 4);
	v64 = htole64(w->pos);
	rc = rc ?: tail_add(w, &v64, 8);
	rc = rc ?: tail_add(w, w->hashes ? w->hashes : "", 64 * w->n_frames);
	rc = rc ?: tail_add(w, w->index.data ? w->index.data : "", w->index.len);
	v32 = htole32(content);
	rc = rc ?: tail_add(w, &v32, 4);
	rc = rc ?: tail_add(w, CK_MIDX_TRAILER, 4);
	rc = rc ?: table_room(w);
	if (rc < 0)
		return rc;
	w->table[2 * w->n_frames] = htole32(content + 8);
	w->table[2 * w->n_frames + 1] = 0;
	/* a frame of the table, not one of the data: no digest of its own */
	if (w->hashes)
		memset(w->hashes + 64 * w->n_frames, '0', 64);
	w->n_frames++;
	return 0;
}

void pack_zstd_free(struct pack_zstd *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n_started; i++)
		pthread_join(w->threads[i], NULL);
	for (size_t i = 0; w->jobs && i < w->n_jobs; i++) {
		free(w->jobs[i].in);
		free(w->jobs[i].out);
	}
	free(w->jobs);
	free(w->threads);
	free(w->table);
	free(w->hashes);
	ck_buf_done(&w->index);
	ck_buf_done(&w->tail);
	free(w->tar.pax);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	free(w);
}

int pack_zstd_new(const struct pack_opts *opts, pack_sink_fn sink, void *ctx, struct pack_zstd **ret)
{
	struct pack_zstd *w;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if ((opts->level && (opts->level < ZSTD_minCLevel() || opts->level > ZSTD_maxCLevel())) ||
	    opts->frame_max > PACK_FRAME_LIMIT || (opts->frame_max && opts->frame_max < 4 * TAR_BLOCK))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	w->sink = sink;
	w->sink_ctx = ctx;
	w->level = opts->level ? opts->level : ZSTD_CLEVEL_DEFAULT;
	w->frame_max = opts->frame_max ? opts->frame_max : PACK_FRAME_DEFAULT;
	w->frame_min = w->frame_max / 4;
	w->n_threads = opts->threads ? opts->threads : (unsigned) CK_MAX(cpus, 1L);
	w->n_threads = CK_MIN(w->n_threads, 64u);
	w->n_jobs = 2 * (size_t) w->n_threads + 1;
	w->use_tar = opts->tar;
	w->hash = opts->tar ? opts->hash : NULL;
	w->tar = (struct tar_walk) { .ok = true, .pax_size = -1 };
	w->jobs = calloc(w->n_jobs, sizeof(*w->jobs));
	w->threads = calloc(w->n_threads, sizeof(*w->threads));
	w->tar.pax = malloc(PACK_PAX_MAX);
	rc = w->jobs && w->threads && w->tar.pax ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < w->n_jobs; i++) {
		w->jobs[i].in = malloc(w->frame_max);
		w->jobs[i].out = malloc(ZSTD_compressBound(w->frame_max));
		if (!w->jobs[i].in || !w->jobs[i].out)
			rc = -ENOMEM;
	}
	for (unsigned i = 0; rc == 0 && i < w->n_threads; i++) {
		rc = -pthread_create(&w->threads[i], NULL, worker, w);
		if (rc == 0)
			w->n_started++;
	}
	if (rc < 0) {
		pack_zstd_free(w);
		return rc;
	}
	*ret = w;
	return 0;
}
