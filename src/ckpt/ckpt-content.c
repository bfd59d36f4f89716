/* SPDX-License-Identifier: Apache-2.0 */
/* Joins the data images to files.img (docs/formats.md §8): pipes-data and
 * fifo-data by pipe_id, sk-queues by id_for (the socket's file id),
 * tcp-stream-<ino hex> by the socket's ino, ghost-file-<id hex> through the
 * GHOST entries of remap-fpath, memfds through memfd.img's shmid. The
 * scanners (img-content.c) only report where the bytes are; reads pread() the
 * member, so nothing of the data is ever held in memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt-content.h"
#include "ckpt-priv.h"

#define REMAP_GHOST 1
#define LABEL_MAX 160		/* bytes of a path or name kept in a /files/ name */

struct content_vec {
	struct ckpt_content *v;
	size_t n, cap;
};

static void content_done(struct ckpt_content *c)
{
	free(c->name);
	free(c->pieces);
}

static void content_vec_done(struct content_vec *cv)
{
	for (size_t i = 0; cv->v && i < cv->n; i++)
		content_done(&cv->v[i]);
	free(cv->v);
	*cv = (struct content_vec) { 0 };
}

/* Append a zeroed content; NULL on ENOMEM. */
static struct ckpt_content *content_new(const struct ckpt *ck, struct content_vec *cv,
					enum ckpt_content_kind kind, uint32_t key)
{
	struct ckpt_content *c;

	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 16;
		struct ckpt_content *v = realloc(cv->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		cv->v = v;
		cv->cap = cap;
	}
	c = &cv->v[cv->n++];
	*c = (struct ckpt_content) { .kind = kind, .key = key, .arc = ck->arc };
	return c;
}

/* Set @c's only piece: the whole content at @img_off. */
static int content_one_piece(struct ckpt_content *c, uint64_t img_off)
{
	if (!c->size)
		return 0;
	c->pieces = malloc(sizeof(*c->pieces));
	if (!c->pieces)
		return -ENOMEM;
	c->pieces[0] = (struct ckpt_piece) { 0, c->size, img_off };
	c->n_pieces = 1;
	return 0;
}

/* Append "-<label>" to @b when @label is not empty: a path or name as one
 * file-name component (leading slashes dropped, '/' and control bytes as
 * '_', cut at LABEL_MAX bytes). */
static void put_label(struct ck_buf *b, const char *label, size_t len)
{
	while (len && *label == '/') {
		label++;
		len--;
	}
	if (!len)
		return;
	ck_buf_putc(b, '-');
	for (size_t i = 0; i < len && i < LABEL_MAX; i++) {
		unsigned char ch = (unsigned char) label[i];

		ck_buf_putc(b, ch == '/' || ch < 0x20 || ch == 0x7f ? '_' : (char) ch);
	}
}

/* Store @b (or -ENOMEM) as @c's name. */
static int content_name(struct ckpt_content *c, struct ck_buf *b)
{
	if (b->oom) {
		ck_buf_done(b);
		return -ENOMEM;
	}
	c->name = ck_buf_steal(b, NULL);
	return c->name ? 0 : -ENOMEM;
}

struct member_src {
	const struct arc *arc;
	const struct arc_entry *e;
};

static ssize_t member_read(const void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct member_src *m = ctx;

	return arc_pread(m->arc, m->e, buf, len, off);
}

/* The image @name and a scanner source over it; NULL when absent. */
static const struct arc_entry *open_src(const struct ckpt *ck, const char *name,
					struct member_src *ms, struct img_src *src)
{
	const struct arc_entry *e = ckpt_find_image_in(ck->arc, ck->img_dir, name);

	if (!e)
		return NULL;
	*ms = (struct member_src) { ck->arc, e };
	*src = (struct img_src) { member_read, ms, e->size };
	return e;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct img_data_rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The REG path of a FIFO with @pipe_id, or NULL. */
static const char *fifo_path(const struct ckpt *ck, uint32_t pipe_id)
{
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i], *reg;

		if (f->type != IMG_FD_FIFO || f->ino != pipe_id)
			continue;
		reg = ckpt_file_find(ck, f->regf_id);
		if (reg && reg->name)
			return reg->name;
	}
	return NULL;
}

/* pipes-data.img or fifo-data.img: one content per pipe with queued bytes. */
static int add_pipes(const struct ckpt *ck, struct content_vec *cv, bool fifo)
{
	_cleanup_(img_data_recs_done) struct img_data_recs r = { 0 };
	const struct arc_entry *e;
	struct member_src ms;
	struct img_src src;
	int rc;

	e = open_src(ck, fifo ? "fifo-data.img" : "pipes-data.img", &ms, &src);
	if (!e)
		return 0;
	rc = img_scan_pipe_data(&src, fifo, &r);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;	/* bad magic: no pipe can be told */
	for (size_t i = 0; i < r.n; i++) {
		const struct img_data_rec *d = &r.recs[i];
		struct ck_buf b = { 0 };
		struct ckpt_content *c;
		const char *path;

		if (!d->len && !d->err)
			continue;
		c = content_new(ck, cv, fifo ? CKPT_CONTENT_FIFO : CKPT_CONTENT_PIPE, d->key);
		if (!c)
			return -ENOMEM;
		c->member = e;
		c->size = d->len;
		c->err = d->err;
		if (!c->err && content_one_piece(c, d->off) < 0)
			return -ENOMEM;
		ck_buf_printf(&b, "%s-%u", fifo ? "fifo" : "pipe", d->key);
		path = fifo ? fifo_path(ck, d->key) : NULL;
		if (path)
			put_label(&b, path, strlen(path));
		if (content_name(c, &b) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* sk-queues.img: the packets queued on each socket, concatenated in file order. */
static int add_sk_queues(const struct ckpt *ck, struct content_vec *cv)
{
	_cleanup_(img_data_recs_done) struct img_data_recs r = { 0 };
	const struct arc_entry *e;
	struct member_src ms;
	struct img_src src;
	size_t i, j;
	int rc;

	e = open_src(ck, "sk-queues.img", &ms, &src);
	if (!e)
		return 0;
	rc = img_scan_sk_queues(&src, &r);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	if (r.n > 1)
		qsort(r.recs, r.n, sizeof(*r.recs), rec_cmp);
	for (i = 0; i < r.n; i = j) {
		const struct img_file *f = ckpt_file_find(ck, r.recs[i].key);
		struct ck_buf b = { 0 };
		struct ckpt_content *c;
		uint64_t size = 0;
		size_t n = 0;
		int err = r.truncated ? -EBADMSG : 0;	/* lost records may be this socket's */

		for (j = i; j < r.n && r.recs[j].key == r.recs[i].key; j++) {
			size += r.recs[j].len;
			n += r.recs[j].len != 0;
			if (r.recs[j].err)
				err = r.recs[j].err;
		}
		if (!size && !err)
			continue;
		c = content_new(ck, cv, CKPT_CONTENT_UNIX, r.recs[i].key);
		if (!c)
			return -ENOMEM;
		c->member = e;
		c->size = size;
		c->err = err;
		if (!err) {
			uint64_t off = 0;

			c->pieces = calloc(n, sizeof(*c->pieces));
			if (!c->pieces)
				return -ENOMEM;
			for (size_t k = i; k < j; k++) {
				const struct img_data_rec *d = &r.recs[k];

				if (!d->len)
					continue;
				c->pieces[c->n_pieces++] = (struct ckpt_piece) { off, d->len, d->off };
				off += d->len;
			}
		}
		if (f && f->type == IMG_FD_UNIXSK)
			ck_buf_printf(&b, "unix-%u.inq", f->ino);
		else
			ck_buf_printf(&b, "sk-id%u.inq", r.recs[i].key);
		if (content_name(c, &b) < 0)
			return -ENOMEM;
	}
	return 0;
}

void ckpt_put_endpoint(struct ck_buf *b, const uint32_t *addr, size_t n, uint32_t port)
{
	char text[INET6_ADDRSTRLEN];

	if (n == 1 && inet_ntop(AF_INET, addr, text, sizeof(text)))
		ck_buf_printf(b, "%s:%u", text, port);
	else if (n == 4 && inet_ntop(AF_INET6, addr, text, sizeof(text)))
		ck_buf_printf(b, "[%s]:%u", text, port);
	else
		ck_buf_printf(b, "?:%u", port);
}

/* One queue of socket @f as found at @q of image @e; @err (< 0) when the
 * image's entry itself is damaged. Empty queues are left out. */
static int add_tcp_queue(const struct ckpt *ck, struct content_vec *cv, const struct img_file *f,
			 const struct arc_entry *e, const struct img_data_rec *q, bool outq,
			 int err)
{
	struct ckpt_content *c;
	struct ck_buf b = { 0 };

	if (!err && !q->len && !q->err)
		return 0;
	c = content_new(ck, cv, outq ? CKPT_CONTENT_TCP_OUTQ : CKPT_CONTENT_TCP_INQ, f->ino);
	if (!c)
		return -ENOMEM;
	c->member = e;
	c->size = err ? 0 : q->len;
	c->err = err ? err : q->err;
	if (!c->err && content_one_piece(c, q->off) < 0)
		return -ENOMEM;
	ck_buf_printf(&b, "tcp-%u-", f->ino);
	ckpt_put_endpoint(&b, f->src_addr, f->n_src_addr, f->src_port);
	ck_buf_putc(&b, '-');
	ckpt_put_endpoint(&b, f->dst_addr, f->n_dst_addr, f->dst_port);
	ck_buf_puts(&b, outq ? ".outq" : ".inq");
	return content_name(c, &b);
}

/* tcp-stream-<ino hex>.img of every INETSK: its receive and send queues. */
static int add_tcp(const struct ckpt *ck, struct content_vec *cv)
{
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i];
		struct img_tcp_queues q = { 0 };
		const struct arc_entry *e;
		struct member_src ms;
		struct img_src src;
		char name[64];
		int rc;

		if (f->type != IMG_FD_INETSK)
			continue;
		snprintf(name, sizeof(name), "tcp-stream-%x.img", f->ino);
		e = open_src(ck, name, &ms, &src);
		if (!e)
			continue;
		rc = img_scan_tcp_stream(&src, &q);
		if (rc == -ENOMEM)
			return rc;
		/* a damaged entry hides both queues; show it as an unreadable inq */
		if (rc == 0)
			rc = add_tcp_queue(ck, cv, f, e, &q.outq, true, 0);
		if (rc != -ENOMEM)
			rc = add_tcp_queue(ck, cv, f, e, &q.inq, false, rc);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ghost-file-<id hex>.img of every GHOST remap: the deleted file's bytes. */
static int add_ghosts(const struct ckpt *ck, struct content_vec *cv)
{
	for (size_t i = 0; i < ck->n_remaps; i++) {
		const struct img_remap *rm = &ck->remaps[i];
		const struct img_file *f = ckpt_file_find(ck, rm->orig_id);
		_cleanup_(img_ghost_done) struct img_ghost g = { 0 };
		const struct arc_entry *e;
		struct ckpt_content *c;
		struct ck_buf b = { 0 };
		struct member_src ms;
		struct img_src src;
		char name[64];
		int rc;

		if (rm->type != REMAP_GHOST)
			continue;
		snprintf(name, sizeof(name), "ghost-file-%x.img", rm->remap_id);
		e = open_src(ck, name, &ms, &src);
		rc = e ? img_scan_ghost(&src, &g) : -ENOENT;
		if (rc == -ENOMEM)
			return rc;
		/* ghosts of directories, devices and symlinks hold no bytes */
		if (rc == 0 && (g.mode & S_IFMT) && !S_ISREG(g.mode))
			continue;
		c = content_new(ck, cv, CKPT_CONTENT_GHOST, rm->remap_id);
		if (!c)
			return -ENOMEM;
		c->member = e;
		c->err = rc < 0 ? rc : g.err;
		if (!c->err) {
			c->size = CK_MIN(g.size, (uint64_t) INT64_MAX);
			c->pieces = calloc(g.n_chunks ? g.n_chunks : 1, sizeof(*c->pieces));
			if (!c->pieces)
				return -ENOMEM;
			for (size_t k = 0; k < g.n_chunks; k++) {
				const struct img_ghost_chunk *gc = &g.chunks[k];

				c->pieces[k] = (struct ckpt_piece) { gc->off, gc->len, gc->img_off };
			}
			c->n_pieces = g.n_chunks;
		}
		ck_buf_printf(&b, "ghost-%x", rm->remap_id);
		if (f && f->name)
			put_label(&b, f->name, strlen(f->name));
		if (content_name(c, &b) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Every memfd.img entry: the memfd's pages (pagemap-shmem-<shmid>.img). */
static int add_memfds(const struct ckpt *ck, struct content_vec *cv)
{
	for (size_t i = 0; i < ck->n_memfds; i++) {
		const struct img_memfd *m = &ck->memfds[i];
		const struct ckpt_shm *shm = ckpt_shm_find(ck, m->shmid);
		struct ckpt_content *c;
		struct ck_buf b = { 0 };

		c = content_new(ck, cv, CKPT_CONTENT_MEMFD, m->inode_id);
		if (!c)
			return -ENOMEM;
		c->size = CK_MIN(m->size, (uint64_t) INT64_MAX);
		if (shm && shm->mem)
			c->mem = shm->mem;
		else if (shm && shm->err != -ENOENT)
			c->err = shm->err ? shm->err : -EBADMSG;
		/* no pagemap-shmem image: nothing was dumped, the memfd reads as zeros */
		ck_buf_printf(&b, "memfd-%u", m->inode_id);
		if (m->name)
			put_label(&b, m->name, strlen(m->name));
		if (content_name(c, &b) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int content_cmp(const void *a, const void *b)
{
	const struct ckpt_content *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

int ckpt_load_contents(struct ckpt *ck)
{
	_cleanup_(content_vec_done) struct content_vec cv = { 0 };
	size_t n = 0;
	int rc;

	rc = add_pipes(ck, &cv, false);
	if (rc == 0)
		rc = add_pipes(ck, &cv, true);
	if (rc == 0)
		rc = add_sk_queues(ck, &cv);
	if (rc == 0)
		rc = add_tcp(ck, &cv);
	if (rc == 0)
		rc = add_ghosts(ck, &cv);
	if (rc == 0)
		rc = add_memfds(ck, &cv);
	if (rc < 0)
		return rc;
	if (cv.n > 1)
		qsort(cv.v, cv.n, sizeof(*cv.v), content_cmp);
	/* hostile images may name one object twice: keep the first */
	for (size_t i = 0; i < cv.n; i++) {
		if (n && cv.v[n - 1].kind == cv.v[i].kind && cv.v[n - 1].key == cv.v[i].key)
			content_done(&cv.v[i]);
		else
			cv.v[n++] = cv.v[i];
	}
	cv.n = n;
	ck->contents = TAKE_PTR(cv.v);
	ck->n_contents = n;
	return 0;
}

void ckpt_contents_done(struct ckpt *ck)
{
	for (size_t i = 0; ck->contents && i < ck->n_contents; i++)
		content_done(&ck->contents[i]);
	free(ck->contents);
	ck->contents = NULL;
	ck->n_contents = 0;
}

struct content_key {
	const struct ckpt *ck;
	enum ckpt_content_kind kind;
	uint32_t key;
};

static bool content_before(const void *ctx, size_t i)
{
	const struct content_key *k = ctx;
	const struct ckpt_content *c = &k->ck->contents[i];

	return c->kind < k->kind || (c->kind == k->kind && c->key < k->key);
}

const struct ckpt_content *ckpt_content_find(const struct ckpt *ck, enum ckpt_content_kind kind,
					      uint32_t key)
{
	struct content_key k = { ck, kind, key };
	size_t lo = ck_lower_bound(ck->n_contents, content_before, &k);

	if (lo < ck->n_contents && ck->contents[lo].kind == kind && ck->contents[lo].key == key)
		return &ck->contents[lo];
	return NULL;
}

void ckpt_fd_contents(const struct ckpt *ck, uint32_t file_id, const struct ckpt_content **ret_data,
		      const struct ckpt_content **ret_outq)
{
	const struct img_file *f = ckpt_file_find(ck, file_id);
	const struct ckpt_content *data = NULL, *outq = NULL;
	const struct img_remap *rm;

	switch (f ? f->type : IMG_FD_UND) {
	case IMG_FD_REG:
		rm = ckpt_remap_find(ck, file_id);
		if (rm && rm->type == REMAP_GHOST)
			data = ckpt_content_find(ck, CKPT_CONTENT_GHOST, rm->remap_id);
		break;
	case IMG_FD_PIPE:
		data = ckpt_content_find(ck, CKPT_CONTENT_PIPE, f->ino);
		break;
	case IMG_FD_FIFO:
		data = ckpt_content_find(ck, CKPT_CONTENT_FIFO, f->ino);
		break;
	case IMG_FD_UNIXSK:
		data = ckpt_content_find(ck, CKPT_CONTENT_UNIX, file_id);
		break;
	case IMG_FD_INETSK:
		data = ckpt_content_find(ck, CKPT_CONTENT_TCP_INQ, f->ino);
		outq = ckpt_content_find(ck, CKPT_CONTENT_TCP_OUTQ, f->ino);
		break;
	case IMG_FD_MEMFD:
		data = ckpt_content_find(ck, CKPT_CONTENT_MEMFD, f->memfd_inode_id);
		break;
	default:
		break;
	}
	*ret_data = data;
	*ret_outq = outq;
}

static uint64_t piece_end(const void *ctx, size_t i)
{
	const struct ckpt_content *c = ctx;

	return c->pieces[i].off + c->pieces[i].len;
}

/* The first piece that ends after @off (n_pieces when none). */
static size_t piece_after(const struct ckpt_content *c, uint64_t off)
{
	return ck_first_ending_after(c->n_pieces, piece_end, c, off);
}

ssize_t ckpt_content_read(const struct ckpt_content *c, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t pos, end;
	size_t i;

	if (c->err < 0)
		return -EIO;
	if (off >= c->size)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, c->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (c->kind == CKPT_CONTENT_MEMFD) {
		ssize_t got = c->mem ? mem_read(c->mem, off, buf, len) : 0;

		if (got < 0)
			return -EIO;
		memset(p + got, 0, len - (size_t) got);
		return (ssize_t) len;
	}
	pos = off;
	end = off + len;
	for (i = piece_after(c, off); pos < end; i++) {
		const struct ckpt_piece *pc = i < c->n_pieces ? &c->pieces[i] : NULL;
		uint64_t start = pc ? CK_MAX(pc->off, pos) : end;
		ssize_t got;
		size_t n;

		if (start > end)
			start = end;
		memset(p + (pos - off), 0, (size_t) (start - pos));
		pos = start;
		if (pos == end)
			break;
		n = (size_t) (CK_MIN(end, pc->off + pc->len) - pos);
		got = arc_pread(c->arc, c->member, p + (pos - off), n,
				pc->img_off + (pos - pc->off));
		if (got < 0 || (size_t) got != n)
			return -EIO;	/* the member is shorter than its index said */
		pos += n;
	}
	return (ssize_t) len;
}

int64_t ckpt_content_seek(const struct ckpt_content *c, uint64_t off, bool data)
{
	size_t i;
	uint64_t pos;

	if (off >= c->size)
		return -ENXIO;
	if (c->err < 0)
		return data ? (int64_t) off : (int64_t) c->size;
	if (c->kind == CKPT_CONTENT_MEMFD) {
		int64_t r;

		if (!c->mem)
			return data ? -ENXIO : (int64_t) off;
		r = data ? mem_seek_data(c->mem, off) : mem_seek_hole(c->mem, off);
		if (data)
			return r >= 0 && (uint64_t) r >= c->size ? -ENXIO : r;
		return r < 0 || (uint64_t) r > c->size ? (int64_t) c->size : r;
	}
	i = piece_after(c, off);
	if (data) {
		if (i == c->n_pieces || c->pieces[i].off >= c->size)
			return -ENXIO;
		return (int64_t) CK_MAX(off, c->pieces[i].off);
	}
	if (i == c->n_pieces || c->pieces[i].off > off)
		return (int64_t) off;
	pos = c->pieces[i].off + c->pieces[i].len;
	while (++i < c->n_pieces && c->pieces[i].off == pos)
		pos += c->pieces[i].len;
	return (int64_t) CK_MIN(pos, c->size);
}

uint64_t ckpt_content_allocated(const struct ckpt_content *c)
{
	uint64_t sum = 0;

	if (c->kind == CKPT_CONTENT_MEMFD)
		return c->mem ? CK_MIN(mem_dumped_bytes(c->mem), c->size) : 0;
	for (size_t i = 0; i < c->n_pieces; i++)
		sum += c->pieces[i].len;
	return sum;
}
