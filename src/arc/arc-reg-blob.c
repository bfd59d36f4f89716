/* SPDX-License-Identifier: Apache-2.0 */
/* A layer blob of a registry read at random (arc-reg-priv.h). Reads are
 * served from a cache file (unlinked, in cache_dir) in blocks of
 * RBLOB_BLOCK bytes: the blocks a read misses are fetched with one Range
 * request, and when the cache holds more than its limit the blocks used
 * least recently become holes again. A registry that answers a Range
 * request with the whole blob (200) has it streamed once into the file,
 * which then serves every read. Also the whole-blob fetch of layers that
 * give no random access, checked against their digest. */
#include "arc-reg-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define RBLOB_BLOCK (256u << 10)
#define RBLOB_CACHE_DEFAULT (256ull << 20)

struct arc_rblob {
	struct arc_http *h;
	char path[ARC_DIGEST_SIZE + 256];	/* /v2/<repo>/blobs/<digest> */
	uint64_t size;
	int fd;
	pthread_mutex_t lock;
	uint64_t nblocks;
	uint64_t *stamp;	/* per block: 0 absent, else when last used */
	uint64_t clock;
	uint64_t held, held_max;	/* blocks present, and the most kept */
	bool whole;		/* the registry sent the whole blob: all present */
};

int arc_rblob_new(struct arc_http *h, const char *digest, uint64_t size, const char *cache_dir,
		  uint64_t cache_max, struct arc_rblob **ret, char **ret_error)
{
	struct arc_rblob *b = calloc(1, sizeof(*b));
	const char *dir;

	if (!b)
		return -ENOMEM;
	b->h = h;
	b->size = size;
	b->nblocks = (size + RBLOB_BLOCK - 1) / RBLOB_BLOCK;
	b->held_max = CK_MAX((cache_max ? cache_max : RBLOB_CACHE_DEFAULT) / RBLOB_BLOCK, (uint64_t) 1);
	snprintf(b->path, sizeof(b->path), "/v2/%s/blobs/%s", arc_http_repo(h), digest);
	b->stamp = calloc(b->nblocks + 1, sizeof(*b->stamp));
	pthread_mutex_init(&b->lock, NULL);
	b->fd = ck_tmpfile(cache_dir, "ckptfs-blob", &dir);
	if (!b->stamp || b->fd < 0) {
		int rc = b->fd < 0 && b->stamp ? b->fd : -ENOMEM;

		arc_rblob_free(b);
		return ck_err(ret_error, rc, "cannot create a cache file in '%s': %s", dir, strerror(-rc));
	}
	*ret = b;
	return 0;
}

void arc_rblob_free(struct arc_rblob *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b->stamp);
	free(b);
}

/* Where a ranged fetch writes what arrives. */
struct rblob_fill {
	struct arc_rblob *b;
	uint64_t off, got;
	long status;
};

static int rblob_sink(void *ctx, const void *buf, size_t len, long status)
{
	struct rblob_fill *f = ctx;
	uint64_t at = status == 206 ? f->off + f->got : f->got;
	ssize_t n;

	f->status = status;
	if (at + len > f->b->size)
		return -EBADMSG;	/* more than the descriptor's size */
	n = pwrite(f->b->fd, buf, len, (off_t) at);
	if (n != (ssize_t) len)
		return n < 0 ? -errno : -EIO;
	f->got += len;
	return 0;
}

/* With b->lock held: make room for @need more blocks, keeping [@lo, @hi). */
static void rblob_evict(struct arc_rblob *b, uint64_t need, uint64_t lo, uint64_t hi)
{
	while (b->held + need > b->held_max) {
		uint64_t victim = UINT64_MAX, best = UINT64_MAX;

		for (uint64_t i = 0; i < b->nblocks; i++)
			if (b->stamp[i] && b->stamp[i] < best && (i < lo || i >= hi))
				best = b->stamp[i], victim = i;
		if (victim == UINT64_MAX)
			return;	/* one read larger than the cache: it goes over for a while */
		fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) (victim * RBLOB_BLOCK),
			  RBLOB_BLOCK);
		b->stamp[victim] = 0;
		b->held--;
	}
}

/* With b->lock held: fetch the blocks of [@lo, @hi) that are missing. */
static int rblob_fill(struct arc_rblob *b, uint64_t lo, uint64_t hi)
{
	uint64_t first = hi, last = lo, missing = 0;
	struct rblob_fill f = { .b = b };
	struct arc_http_req r = { .path = b->path, .range = true, .sink = rblob_sink, .ctx = &f };
	_cleanup_free_ char *err = NULL;
	int rc;

	for (uint64_t i = lo; i < hi; i++)
		if (!b->stamp[i]) {
			first = CK_MIN(first, i);
			last = i;
			missing++;
		}
	if (!missing)
		return 0;
	rblob_evict(b, last + 1 - first, lo, hi);
	f.off = first * RBLOB_BLOCK;
	r.off = f.off;
	r.len = CK_MIN((last + 1) * RBLOB_BLOCK, b->size) - f.off;
	rc = arc_http_get(b->h, &r, &err);
	if (rc == 0 && r.status != 206 && r.status != 200)
		rc = ck_err(&err, -EIO, "HTTP %ld %s", r.status, arc_http_reason(r.status));
	else if (rc == 0 && r.status == 206 && f.got != r.len)
		rc = ck_err(&err, -EIO, "%" PRIu64 " bytes for a range of %" PRIu64, f.got, r.len);
	else if (rc == 0 && r.status == 200 && f.got != b->size)
		rc = ck_err(&err, -EIO, "%" PRIu64 " bytes of %" PRIu64, f.got, b->size);
	if (rc < 0) {
		ck_log(CK_LOG_ERR, "registry: %s: %s", b->path, err ? err : strerror(-rc));
		return -EIO;
	}
	if (r.status == 200) {
		/* the registry ignores ranges: the whole blob is here now */
		ck_log(CK_LOG_DEBUG, "registry: %s: no ranges, the whole blob was read", b->path);
		b->whole = true;
		return 0;
	}
	for (uint64_t i = first; i <= last; i++)
		if (!b->stamp[i]) {
			b->stamp[i] = 1;
			b->held++;
		}
	return 0;
}

ssize_t arc_rblob_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct arc_rblob *b = ctx;
	uint64_t lo, hi;
	ssize_t n;
	int rc = 0;

	if (off >= b->size || !len)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, b->size - off);
	lo = off / RBLOB_BLOCK;
	hi = (off + len + RBLOB_BLOCK - 1) / RBLOB_BLOCK;
	pthread_mutex_lock(&b->lock);
	if (!b->whole)
		rc = rblob_fill(b, lo, hi);
	for (uint64_t i = lo; rc == 0 && !b->whole && i < hi; i++)
		b->stamp[i] = ++b->clock + 1;
	/* under the lock: no eviction may punch what is being read */
	n = rc < 0 ? rc : ck_pread_full(b->fd, buf, len, (off_t) off);
	pthread_mutex_unlock(&b->lock);
	return n < 0 ? -EIO : n;
}

/* The whole-blob fetch: hashed and written as it comes. */
struct rblob_whole {
	struct arc *a;
	int fd;
	uint64_t got, size;
	struct arc_sha256 *sha;
};

static int whole_sink(void *ctx, const void *buf, size_t len, long status)
{
	struct rblob_whole *w = ctx;
	int rc;

	/* no more than the descriptor's size, which the manifest's digest vouches for */
	if (status != 200 || w->got + len > w->size)
		return -EBADMSG;
	rc = arc_sha256_add(w->sha, buf, len);
	if (rc == 0 && ck_pwrite_full(w->fd, buf, len, (off_t) w->got) < 0)
		rc = -errno;
	w->got += len;
	arc_progress(w->a, w->got);
	return rc;
}

int arc_rblob_fetch_file(struct arc_http *h, const char *digest, uint64_t size, struct arc *a,
			 const struct arc_opts *opts, char **ret_error)
{
	_cleanup_(arc_sha256_freep) struct arc_sha256 *sha = arc_sha256_new();
	char path[ARC_DIGEST_SIZE + 256], got[ARC_DIGEST_SIZE];
	struct rblob_whole w = { .a = a, .size = size, .sha = sha };
	struct arc_http_req r = { .path = path, .sink = whole_sink, .ctx = &w };
	const char *dir;
	int rc;

	if (!sha)
		return -ENOMEM;
	w.fd = ck_tmpfile(opts ? opts->cache_dir : NULL, "ckptfs-blob", &dir);
	if (w.fd < 0)
		return ck_err(ret_error, w.fd, "cannot create a spill file in '%s': %s", dir, strerror(-w.fd));
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", arc_http_repo(h), digest);
	rc = arc_http_get(h, &r, ret_error);
	if (rc == 0 && r.status != 200)
		rc = ck_err(ret_error, r.status == 404 ? -EBADMSG : -EIO, "blob %s: HTTP %ld %s%s%s", digest,
			    r.status, arc_http_reason(r.status), r.why[0] ? ": " : "", r.why);
	else if (rc == 0 && w.got != size)
		rc = ck_err(ret_error, -EBADMSG, "blob %s: %" PRIu64 " bytes, its descriptor says %" PRIu64, digest,
			    w.got, size);
	if (rc == 0) {
		arc_sha256_end(sha, got);
		if (strcmp(got, digest))
			rc = ck_err(ret_error, -EBADMSG, "blob %s does not match its digest (its sha256 is %s)", digest,
				    got + 7);
	}
	if (rc < 0) {
		close(w.fd);
		return rc;
	}
	return w.fd;
}
