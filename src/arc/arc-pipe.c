/* SPDX-License-Identifier: Apache-2.0 */
/* The decompression front end of arc-tar.c. A producer thread reads the
 * compressed archive and decodes it into a ring of PIPE_CHUNKS chunks:
 * zstd with libzstd (concatenated and skippable frames included), xz with
 * liblzma's multi-threaded decoder (multi-block files decode on every core),
 * gzip with zlib (concatenated members included), and the rarer filters
 * with libarchive's raw format. The consumer is libarchive's read callback
 * on the thread that called arc_open(): it takes the chunks in order and
 * gives each back when it asks for the next, which is exactly how long
 * libarchive may use a block its read callback returned. So the consumer
 * parses and writes out one chunk while the producer decodes the next ones,
 * and the memory held stays at a few MiB whatever the archive's size. */
#include "arc-pipe.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lzma.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "log.h"

/* Small chunks, so that the consumer copies each into the spill file while
 * it is still in a cache: with 1 MiB chunks that copy cost 3-5 times more
 * here (2-core VM) and the pipeline lost to one thread. A multiple of 512:
 * as every chunk but the last is full, no tar header straddles two chunks,
 * and libarchive never has to copy one. */
#define PIPE_CHUNK_SIZE (64 * 1024)
#define PIPE_CHUNKS 32	/* 2 MiB in all */
/* Input is mapped a window at a time: the decoder reads the page cache
 * directly, with no copy, and only one window counts in our RSS. */
#define PIPE_WIN_SIZE (4 * 1024 * 1024)	/* a multiple of any page size */
#define PIPE_IN_SIZE (1024 * 1024)	/* read() buffer where mapping fails */
#define PIPE_XZ_THREADS_MAX 8
/* liblzma runs fewer threads rather than hold more than this (each one
 * keeps a whole block); xz -6 blocks (24 MiB) then decode on one thread. */
#define PIPE_XZ_MEM_THREADING (40 << 20)
/* What libarchive's xz filter allowed: no real archive needs more. */
#define PIPE_XZ_MEM_STOP (1ull << 30)

struct pipe_chunk {
	uint8_t *data;
	size_t len;
	uint64_t in_done;	/* compressed bytes consumed when it was filled */
};

struct arc_pipe {
	pthread_mutex_t lock;
	pthread_cond_t filled_cond;	/* the consumer waits on it */
	pthread_cond_t freed_cond;	/* the producer waits on it */
	struct pipe_chunk chunks[PIPE_CHUNKS];
	/* Under @lock: chunks published by the producer, taken and given back
	 * by the consumer (taken - released is 0 or 1). */
	uint64_t filled, taken, released;
	bool done;		/* the producer has finished; @rc is final */
	bool stop;		/* the consumer is gone; also read without @lock */
	int rc;			/* the producer's -errno (set before @done) */
	bool truncated;
	char why[160];

	/* The producer's own, until @done. */
	int (*run)(struct arc_pipe *p);
	int (*support)(struct archive *ar);	/* libarchive filter, for pipe_archive() */
	const char *comp;
	pthread_t thread;
	bool started;
	int fd;			/* -1: memory input */
	uint64_t file_len;	/* @fd mapped a window at a time: its size; else 0 */
	void *win;		/* the window mapped at @in */
	size_t win_len;
	uint8_t *in_buf;	/* @fd not mapped: the read() buffer at @in */
	const uint8_t *in;	/* the window, @in_buf, or the whole memory input */
	size_t in_pos, in_len;	/* unconsumed input is in[in_pos, in_len) */
	uint64_t in_off;	/* input offset of in[0] */
	bool in_eof;		/* nothing follows in[in_len] */
	uint8_t *out;		/* the chunk being filled, or NULL */
	size_t out_len;
};

/* Record the producer's first failure; returns @rc. */
static int _printf_(4, 5) pipe_fail(struct arc_pipe *p, int rc, bool truncated, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->rc = rc;
	p->truncated = truncated;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return rc;
}

static int pipe_truncated(struct arc_pipe *p)
{
	return pipe_fail(p, -EBADMSG, true, "%s data ends early", p->comp);
}

static bool pipe_stopped(struct arc_pipe *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_RELAXED);
}

/* Map the window that starts at the page of the first unconsumed byte. */
static int pipe_in_map(struct arc_pipe *p)
{
	uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);
	uint64_t pos = p->in_off + p->in_pos, start = pos & ~(page - 1);
	size_t len;
	void *map;

	if (pos >= p->file_len) {
		p->in_eof = true;
		return 0;
	}
	len = (size_t) CK_MIN((uint64_t) PIPE_WIN_SIZE, p->file_len - start);
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, p->fd, (off_t) start);
	if (map == MAP_FAILED)
		return -errno;
	if (p->win)
		munmap(p->win, p->win_len);
	p->win = map;
	p->win_len = len;
	p->in = map;
	p->in_off = start;
	p->in_pos = (size_t) (pos - start);
	p->in_len = len;
	p->in_eof = start + len >= p->file_len;
	return 0;
}

static int pipe_in_read(struct arc_pipe *p)
{
	ssize_t n;

	if (p->in_pos) {
		memmove(p->in_buf, p->in_buf + p->in_pos, p->in_len - p->in_pos);
		p->in_off += p->in_pos;
		p->in_len -= p->in_pos;
		p->in_pos = 0;
	}
	do
		n = pread(p->fd, p->in_buf + p->in_len, PIPE_IN_SIZE - p->in_len, (off_t) (p->in_off + p->in_len));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	p->in_eof = n == 0;
	p->in_len += (size_t) n;
	return 0;
}

/* Make at least @min (at most a few) unconsumed input bytes available,
 * fewer only at the end of the input. Returns the number available, or
 * -errno (-ECANCELED once the consumer is gone). */
static ssize_t pipe_in_want(struct arc_pipe *p, size_t min)
{
	int rc;

	if (pipe_stopped(p))
		return -ECANCELED;
	while (p->in_len - p->in_pos < min && !p->in_eof) {
		rc = p->file_len ? pipe_in_map(p) : pipe_in_read(p);
		if (rc < 0)
			return pipe_fail(p, -EIO, false, "read error: %s", strerror(-rc));
	}
	return (ssize_t) (p->in_len - p->in_pos);
}

/* Have a chunk to fill in p->out, waiting until the consumer gives one back.
 * Returns 0 or -ECANCELED once the consumer is gone. */
static int pipe_out_get(struct arc_pipe *p)
{
	struct pipe_chunk *c;

	if (p->out)
		return 0;
	pthread_mutex_lock(&p->lock);
	while (p->filled - p->released == PIPE_CHUNKS && !p->stop)
		pthread_cond_wait(&p->freed_cond, &p->lock);
	c = &p->chunks[p->filled % PIPE_CHUNKS];
	pthread_mutex_unlock(&p->lock);
	if (pipe_stopped(p))
		return -ECANCELED;
	p->out = c->data;
	p->out_len = 0;
	return 0;
}

/* Hand the chunk being filled to the consumer, if it holds anything. */
static void pipe_out_put(struct arc_pipe *p)
{
	struct pipe_chunk *c;

	if (!p->out || !p->out_len)
		return;
	pthread_mutex_lock(&p->lock);
	c = &p->chunks[p->filled % PIPE_CHUNKS];
	c->len = p->out_len;
	c->in_done = p->in_off + p->in_pos;
	p->filled++;
	pthread_cond_signal(&p->filled_cond);
	pthread_mutex_unlock(&p->lock);
	p->out = NULL;
}

/* Hand the chunk over once it is full. */
static void pipe_out_done(struct arc_pipe *p)
{
	if (p->out_len == PIPE_CHUNK_SIZE)
		pipe_out_put(p);
}

/* One call of a streaming decoder @dec: decode from the @avail input bytes
 * at p->in + p->in_pos into p->out + p->out_len, advancing both. Returns 0
 * to go on, 1 at the end of the stream, or -errno. */
typedef int pipe_step_fn(struct arc_pipe *p, void *dec, size_t avail);

/* Feed @step input and chunks until it is done, handing over each chunk it
 * fills. */
static int pipe_stream(struct arc_pipe *p, pipe_step_fn *step, void *dec)
{
	ssize_t avail;
	int rc;

	for (;;) {
		avail = pipe_in_want(p, 1);
		if (avail < 0)
			return (int) avail;
		rc = pipe_out_get(p);
		if (rc < 0)
			return rc;
		rc = step(p, dec, (size_t) avail);
		pipe_out_done(p);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

DEFINE_CLEANUP(pipe_zstd_freep, ZSTD_DStream, ZSTD_freeDStream)

static int pipe_zstd(struct arc_pipe *p)
{
	_cleanup_(pipe_zstd_freep) ZSTD_DStream *ds = ZSTD_createDStream();
	size_t ret = 0;		/* 0: between frames */
	bool full = false;	/* the last call filled its chunk: output may be pending */
	ssize_t avail;
	int rc;

	if (!ds)
		return -ENOMEM;
	for (;;) {
		avail = pipe_in_want(p, 1);
		if (avail < 0)
			return (int) avail;
		/* At the end of the input, one more call flushes what the last
		 * one could not fit; a frame that is still open was cut short. */
		if (avail == 0 && (!full || ret == 0))
			return ret ? pipe_truncated(p) : 0;
		rc = pipe_out_get(p);
		if (rc < 0)
			return rc;
		ZSTD_inBuffer in = { p->in, p->in_len, p->in_pos };
		ZSTD_outBuffer out = { p->out, PIPE_CHUNK_SIZE, p->out_len };

		ret = ZSTD_decompressStream(ds, &out, &in);
		p->in_pos = in.pos;
		p->out_len = out.pos;
		if (ZSTD_isError(ret)) {
			if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
				return -ENOMEM;
			return pipe_fail(p, -EBADMSG, false, "zstd: %s", ZSTD_getErrorName(ret));
		}
		full = out.pos == out.size;
		pipe_out_done(p);
	}
}

static uint32_t pipe_xz_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (uint32_t) CK_MIN(n, PIPE_XZ_THREADS_MAX);
}

static int pipe_xz_fail(struct arc_pipe *p, lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR:
		return -ENOMEM;
	case LZMA_BUF_ERROR:
		return pipe_truncated(p);
	case LZMA_MEMLIMIT_ERROR:
		return pipe_fail(p, -EBADMSG, false, "xz: needs more than %llu MiB of memory",
				 PIPE_XZ_MEM_STOP >> 20);
	case LZMA_FORMAT_ERROR:
		return pipe_fail(p, -EBADMSG, false, "xz: not in the .xz format");
	case LZMA_OPTIONS_ERROR:
		return pipe_fail(p, -EBADMSG, false, "xz: unsupported options");
	case LZMA_DATA_ERROR:
		return pipe_fail(p, -EBADMSG, false, "xz: compressed data is corrupt");
	default:
		return pipe_fail(p, -EBADMSG, false, "xz: decoder error %d", (int) r);
	}
}

static int pipe_xz_step(struct arc_pipe *p, void *dec, size_t avail)
{
	lzma_stream *s = dec;
	lzma_ret r;

	s->next_in = p->in + p->in_pos;
	s->avail_in = avail;
	s->next_out = p->out + p->out_len;
	s->avail_out = PIPE_CHUNK_SIZE - p->out_len;
	/* LZMA_FINISH lets a truncated file fail instead of waiting for more. */
	r = lzma_code(s, p->in_eof ? LZMA_FINISH : LZMA_RUN);
	p->in_pos = (size_t) (s->next_in - p->in);
	p->out_len = PIPE_CHUNK_SIZE - s->avail_out;
	if (r == LZMA_STREAM_END)
		return 1;
	return r == LZMA_OK ? 0 : pipe_xz_fail(p, r);
}

static int pipe_xz(struct arc_pipe *p)
{
	lzma_mt mt = {
		.flags = LZMA_CONCATENATED,
		.threads = pipe_xz_threads(),
		.memlimit_threading = PIPE_XZ_MEM_THREADING,
		.memlimit_stop = PIPE_XZ_MEM_STOP,
	};
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int rc;

	r = lzma_stream_decoder_mt(&s, &mt);
	if (r != LZMA_OK)
		return pipe_xz_fail(p, r);
	rc = pipe_stream(p, pipe_xz_step, &s);
	lzma_end(&s);
	return rc;
}

static int pipe_gzip_fail(struct arc_pipe *p, int r, const z_stream *z)
{
	switch (r) {
	case Z_MEM_ERROR:
		return -ENOMEM;
	case Z_BUF_ERROR:
		return pipe_truncated(p);
	case Z_NEED_DICT:
		return pipe_fail(p, -EBADMSG, false, "gzip: needs a preset dictionary");
	default:
		return pipe_fail(p, -EBADMSG, false, "gzip: %s", z->msg ? z->msg : "invalid data");
	}
}

/* Another gzip member follows the one that just ended. Anything else after
 * a member is ignored, as gzip -d and libarchive do. */
static int pipe_gzip_more(struct arc_pipe *p)
{
	ssize_t avail = pipe_in_want(p, 2);

	if (avail < 0)
		return (int) avail;
	return avail >= 2 && p->in[p->in_pos] == 0x1f && p->in[p->in_pos + 1] == 0x8b;
}

static int pipe_gzip_step(struct arc_pipe *p, void *dec, size_t avail)
{
	z_stream *z = dec;
	int r, rc;

	z->next_in = (Bytef *) (p->in + p->in_pos);
	z->avail_in = (uInt) CK_MIN(avail, (size_t) UINT_MAX);
	z->next_out = p->out + p->out_len;
	z->avail_out = (uInt) (PIPE_CHUNK_SIZE - p->out_len);
	/* At the end of the input this still flushes what inflate() holds;
	 * Z_BUF_ERROR then means that the member was cut short. */
	r = inflate(z, Z_NO_FLUSH);
	p->in_pos = (size_t) (z->next_in - p->in);
	p->out_len = PIPE_CHUNK_SIZE - z->avail_out;
	if (r == Z_STREAM_END) {
		rc = pipe_gzip_more(p);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
		inflateReset(z);
		return 0;
	}
	return r == Z_OK ? 0 : pipe_gzip_fail(p, r, z);
}

static int pipe_gzip(struct arc_pipe *p)
{
	z_stream z = { 0 };
	int r, rc;

	/* 16: a gzip wrapper, with its CRC-32 checked at the end of each member */
	r = inflateInit2(&z, 16 + MAX_WBITS);
	if (r != Z_OK)
		return r == Z_MEM_ERROR ? -ENOMEM : pipe_fail(p, -EIO, false, "zlib: cannot start");
	rc = pipe_stream(p, pipe_gzip_step, &z);
	inflateEnd(&z);
	return rc;
}

static la_ssize_t pipe_archive_read(struct archive *ar, void *data, const void **ret_buf)
{
	struct arc_pipe *p = data;
	ssize_t n;

	/* The block handed over last time counts as consumed (in_pos), as
	 * libarchive is done with it: the buffer can be refilled. */
	n = pipe_in_want(p, 1);
	if (n < 0) {
		archive_set_error(ar, (int) -n, "%s", p->why);
		return -1;
	}
	*ret_buf = p->in + p->in_pos;
	p->in_pos = p->in_len;
	return (la_ssize_t) CK_MIN((size_t) n, (size_t) SSIZE_MAX);
}

static bool pipe_archive_truncated(const char *msg)
{
	return strcasestr(msg, "truncat") || strcasestr(msg, "premature") ||
	       strcasestr(msg, "unexpected end");
}

static int pipe_archive_fail(struct arc_pipe *p, struct archive *ar)
{
	const char *msg = archive_error_string(ar);
	char safe[128];
	size_t i;

	if (pipe_stopped(p))
		return -ECANCELED;
	if (p->rc)	/* our read callback failed */
		return p->rc;
	if (archive_errno(ar) == ENOMEM)
		return -ENOMEM;
	snprintf(safe, sizeof(safe), "%s", msg ? msg : "unknown error");
	for (i = 0; safe[i]; i++)
		if ((unsigned char) safe[i] < 0x20 || safe[i] == 0x7f)
			safe[i] = '?';
	ck_log(CK_LOG_DEBUG, "arc: libarchive %s filter: %s", p->comp, safe);
	if (pipe_archive_truncated(safe))
		return pipe_truncated(p);
	return pipe_fail(p, -EBADMSG, false, "%s: %s", p->comp, safe);
}

DEFINE_CLEANUP(pipe_archive_freep, struct archive, archive_read_free)

/* Filters we have no decoder of our own for: libarchive's built-in one and
 * its raw format, which passes the decoded bytes through. Blocks, not
 * archive_read_data(): that drops what it copied when a later block fails. */
static int pipe_archive(struct arc_pipe *p)
{
	_cleanup_(pipe_archive_freep) struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	const uint8_t *blk;
	la_int64_t off, want = 0;
	size_t len, n;
	int r, rc;

	if (!ar)
		return -ENOMEM;
	p->support(ar);
	archive_read_support_format_raw(ar);
	if (archive_read_open2(ar, p, NULL, pipe_archive_read, NULL, NULL) != ARCHIVE_OK)
		return pipe_archive_fail(p, ar);
	r = archive_read_next_header(ar, &ae);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return pipe_archive_fail(p, ar);
	while ((r = archive_read_data_block(ar, (const void **) &blk, &len, &off)) == ARCHIVE_OK) {
		if (off != want)	/* the raw format has no holes */
			return pipe_fail(p, -EBADMSG, false, "%s: data out of order", p->comp);
		want += (la_int64_t) len;
		while (len) {
			rc = pipe_out_get(p);
			if (rc < 0)
				return rc;
			n = CK_MIN(len, PIPE_CHUNK_SIZE - p->out_len);
			memcpy(p->out + p->out_len, blk, n);
			p->out_len += n;
			blk += n;
			len -= n;
			pipe_out_done(p);
		}
	}
	return r == ARCHIVE_EOF ? 0 : pipe_archive_fail(p, ar);
}

static const struct {
	const char *name;
	int (*run)(struct arc_pipe *p);
	int (*support)(struct archive *ar);
} pipe_decoders[] = {
	{ "zstd", pipe_zstd, NULL },
	{ "xz", pipe_xz, NULL },
	{ "gzip", pipe_gzip, NULL },
	{ "bzip2", pipe_archive, archive_read_support_filter_bzip2 },
	{ "lz4", pipe_archive, archive_read_support_filter_lz4 },
	{ "lzip", pipe_archive, archive_read_support_filter_lzip },
	{ "compress", pipe_archive, archive_read_support_filter_compress },
};

static void *pipe_main(void *data)
{
	struct arc_pipe *p = data;
	int rc;

	rc = p->run(p);
	if (rc != -ECANCELED)
		pipe_out_put(p);	/* the last chunk, or what came before a failure */
	if (rc == -ENOMEM)
		pipe_fail(p, rc, false, "out of memory");
	pthread_mutex_lock(&p->lock);
	p->rc = rc < 0 ? rc : 0;
	p->done = true;
	pthread_cond_signal(&p->filled_cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int arc_pipe_start(const char *comp, int fd, const uint8_t *mem, size_t len, struct arc_pipe **ret_pipe)
{
	_cleanup_(arc_pipe_freep) struct arc_pipe *p = NULL;
	sigset_t all, old;
	struct stat st;
	size_t i;
	int rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled_cond, NULL);
	pthread_cond_init(&p->freed_cond, NULL);
	p->fd = fd;
	for (i = 0; i < ARRAY_SIZE(pipe_decoders); i++)
		if (!strcmp(comp, pipe_decoders[i].name)) {
			p->comp = pipe_decoders[i].name;
			p->run = pipe_decoders[i].run;
			p->support = pipe_decoders[i].support;
		}
	if (!p->run)
		return -EINVAL;
	for (i = 0; i < PIPE_CHUNKS; i++) {
		p->chunks[i].data = malloc(PIPE_CHUNK_SIZE);
		if (!p->chunks[i].data)
			return -ENOMEM;
	}
	if (fd < 0) {
		p->in = mem;
		p->in_len = len;
		p->in_eof = true;
	} else {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			p->file_len = (uint64_t) st.st_size;
		if (p->file_len && pipe_in_map(p) < 0)
			p->file_len = 0;	/* read() instead */
		if (!p->file_len) {
			p->in_buf = malloc(PIPE_IN_SIZE);
			if (!p->in_buf)
				return -ENOMEM;
			p->in = p->in_buf;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	/* Signals are for the thread that called arc_open(), not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, pipe_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	p->started = true;
	*ret_pipe = TAKE_PTR(p);
	return 0;
}

ssize_t arc_pipe_next(struct arc_pipe *p, const void **ret_buf, uint64_t *ret_in_done)
{
	const struct pipe_chunk *c;

	pthread_mutex_lock(&p->lock);
	if (p->taken > p->released) {
		p->released++;
		pthread_cond_signal(&p->freed_cond);
	}
	while (p->taken == p->filled && !p->done)
		pthread_cond_wait(&p->filled_cond, &p->lock);
	if (p->taken == p->filled) {
		int rc = p->rc;

		pthread_mutex_unlock(&p->lock);
		return rc;
	}
	c = &p->chunks[p->taken++ % PIPE_CHUNKS];
	pthread_mutex_unlock(&p->lock);
	*ret_buf = c->data;
	*ret_in_done = c->in_done;
	return (ssize_t) c->len;
}

const char *arc_pipe_why(const struct arc_pipe *p)
{
	return p->why[0] ? p->why : "decoder error";
}

bool arc_pipe_truncated(const struct arc_pipe *p)
{
	return p->truncated;
}

void arc_pipe_free(struct arc_pipe *p)
{
	size_t i;

	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		__atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
		pthread_cond_signal(&p->freed_cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->freed_cond);
	pthread_cond_destroy(&p->filled_cond);
	pthread_mutex_destroy(&p->lock);
	for (i = 0; i < PIPE_CHUNKS; i++)
		free(p->chunks[i].data);
	if (p->win)
		munmap(p->win, p->win_len);
	free(p->in_buf);
	free(p);
}
