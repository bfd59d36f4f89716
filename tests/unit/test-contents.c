/* SPDX-License-Identifier: Apache-2.0 */
/* The data behind file descriptors: the img-content.c scanners on images built
 * here with *__pack() (lengths past EOF, bad magic, oversized records,
 * chunked ghosts), the joins of ckpt-content.c on a synthetic images directory
 * (including the tree's fdcontent/ and files/ nodes and EIO for damaged
 * ones), then the marker lines of every wl-* fixture. TAP output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckpt-content.h"
#include "files.pb-c.h"
#include "imgbuild.h"
#include "view.h"
#include "tap.h"
#include "task.pb-c.h"

static char root[128];

static ssize_t buf_read(const void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct ck_buf *b = ctx;

	if (off >= b->len)
		return 0;
	len = CK_MIN(len, b->len - (size_t) off);
	memcpy(buf, b->data + off, len);
	return (ssize_t) len;
}

static struct img_src src_of(const struct ck_buf *b)
{
	return (struct img_src) { buf_read, b, b->len };
}

static void add_raw(struct ck_buf *b, const void *p, size_t len)
{
	ck_buf_add(b, p, len);
}

static void pipe_rec(struct ck_buf *b, uint32_t pipe_id, uint32_t bytes, const char *data)
{
	PipeDataEntry e = PIPE_DATA_ENTRY__INIT;

	e.pipe_id = pipe_id;
	e.bytes = bytes;
	img_add(b, &e.base);
	add_raw(b, data, strlen(data));
}

static void packet(struct ck_buf *b, uint32_t id_for, const char *data)
{
	SkPacketEntry e = SK_PACKET_ENTRY__INIT;

	e.id_for = id_for;
	e.length = (uint32_t) strlen(data);
	img_add(b, &e.base);
	add_raw(b, data, strlen(data));
}

static void tcp_image(struct ck_buf *b, uint32_t inq_len, uint32_t outq_len, const char *data)
{
	TcpStreamEntry e = TCP_STREAM_ENTRY__INIT;

	img_start(b, IMG_MAGIC_TCP_STREAM);
	e.inq_len = inq_len;
	e.outq_len = outq_len;
	img_add(b, &e.base);
	add_raw(b, data, strlen(data));
}

/* A chunked ghost of @size: "abc" at 0, "zz" at 8192; @bad_len makes the
 * second chunk claim more bytes than the image holds. */
static void ghost_chunked(struct ck_buf *b, uint64_t size, uint64_t bad_len)
{
	GhostFileEntry g = GHOST_FILE_ENTRY__INIT;
	GhostChunkEntry c = GHOST_CHUNK_ENTRY__INIT;

	img_start(b, IMG_MAGIC_GHOST_FILE);
	g.mode = 0100600;
	g.has_chunks = g.chunks = true;
	g.has_size = true;
	g.size = size;
	img_add(b, &g.base);
	c.off = 0;
	c.len = 3;
	img_add(b, &c.base);
	add_raw(b, "abc", 3);
	c.off = 8192;
	c.len = bad_len ? bad_len : 2;
	img_add(b, &c.base);
	add_raw(b, "zz", 2);
}

static void test_scanners(void)
{
	struct img_data_recs r = { 0 };
	struct img_tcp_queues q;
	struct img_ghost g = { 0 };
	struct ck_buf b;
	struct img_src s;
	uint32_t huge = 1u << 30;
	int rc;

	img_start(&b, IMG_MAGIC_PIPES_DATA);
	pipe_rec(&b, 7, 5, "hello");
	pipe_rec(&b, 8, 1000, "short");
	s = src_of(&b);
	rc = img_scan_pipe_data(&s, false, &r);
	CHECK(rc == 0 && r.n == 2 && r.truncated && r.recs[0].key == 7 && r.recs[0].len == 5 &&
	      r.recs[0].err == 0 && memcmp(b.data + r.recs[0].off, "hello", 5) == 0 &&
	      r.recs[1].key == 8 && r.recs[1].err == -EBADMSG,
	      "pipes-data: offsets of each extra; a length past EOF marks that record only");
	img_data_recs_done(&r);
	rc = img_scan_pipe_data(&s, true, &r);
	CHECK(rc == -EBADMSG && r.n == 0, "pipes-data read as fifo-data: bad magic");
	ck_buf_done(&b);

	img_start(&b, IMG_MAGIC_SK_QUEUES);
	packet(&b, 3, "ab");
	packet(&b, 4, "XY");
	add_raw(&b, &huge, 4);		/* a record length far past EOF */
	s = src_of(&b);
	rc = img_scan_sk_queues(&s, &r);
	CHECK(rc == 0 && r.n == 2 && r.truncated && r.recs[1].key == 4 && r.recs[1].len == 2 && !r.recs[1].err,
	      "sk-queues: records before a broken length prefix are kept, the image is truncated");
	img_data_recs_done(&r);
	ck_buf_done(&b);

	tcp_image(&b, 2, 4, "INOUTQ");
	s = src_of(&b);
	rc = img_scan_tcp_stream(&s, &q);
	CHECK(rc == 0 && q.inq.len == 2 && q.outq.len == 4 && q.outq.off == q.inq.off + 2 && !q.inq.err &&
	      !q.outq.err && memcmp(b.data + q.outq.off, "OUTQ", 4) == 0, "tcp-stream: inq then outq");
	ck_buf_done(&b);
	tcp_image(&b, 2, 40, "INOUTQ");
	s = src_of(&b);
	rc = img_scan_tcp_stream(&s, &q);
	CHECK(rc == 0 && !q.inq.err && q.outq.err == -EBADMSG, "tcp-stream: outq past EOF");
	ck_buf_done(&b);
	img_start(&b, IMG_MAGIC_TCP_STREAM);
	s = src_of(&b);
	CHECK(img_scan_tcp_stream(&s, &q) == -EBADMSG, "tcp-stream: no entry");
	ck_buf_done(&b);

	ghost_chunked(&b, 10000, 0);
	s = src_of(&b);
	rc = img_scan_ghost(&s, &g);
	CHECK(rc == 0 && g.chunked && g.size == 10000 && g.n_chunks == 2 && g.err == 0 &&
	      g.chunks[1].off == 8192 && g.chunks[1].len == 2 && memcmp(b.data + g.chunks[1].img_off, "zz", 2) == 0,
	      "ghost-file: chunks with their offsets");
	img_ghost_done(&g);
	ck_buf_done(&b);
	ghost_chunked(&b, 10000, 50);
	s = src_of(&b);
	rc = img_scan_ghost(&s, &g);
	CHECK(rc == 0 && g.err == -EBADMSG, "ghost-file: a chunk past EOF marks the ghost damaged");
	img_ghost_done(&g);
	ck_buf_done(&b);
	ghost_chunked(&b, 100, 0);
	s = src_of(&b);
	rc = img_scan_ghost(&s, &g);
	CHECK(rc == 0 && g.err == -EBADMSG, "ghost-file: a chunk past the file size is damage");
	img_ghost_done(&g);
	ck_buf_done(&b);

	b = (struct ck_buf) { 0 };
	add_raw(&b, "\x19\x43", 2);
	s = src_of(&b);
	CHECK(img_scan_ghost(&s, &g) == -EBADMSG, "ghost-file: shorter than its magic");
	ck_buf_done(&b);
}

/* Write image @name of the test root from @b, and drop @b. */
static void put_image(const char *name, struct ck_buf *b)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	file_put(path, b->data, b->len);
	ck_buf_done(b);
}

static void put_msgs(const char *name, uint32_t magic, ...)
{
	const ProtobufCMessage *m;
	struct ck_buf b;
	va_list ap;

	img_start(&b, magic);
	va_start(ap, magic);
	while ((m = va_arg(ap, const ProtobufCMessage *)))
		img_add(&b, m);
	va_end(ap);
	put_image(name, &b);
}

static FownEntry fown = FOWN_ENTRY__INIT;

/* pid 1 with fds 0..8 onto files 1..9: pipes 100 (data) and 101 (length
 * past EOF), unix sockets 200 (two packets) and 201, TCP socket 0x300 (both
 * queues), ghosts 2 (chunked) and 3 (chunk past EOF), FIFO 102. */
static void build_dir(void)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	PstreeEntry p = PSTREE_ENTRY__INIT;
	uint32_t th[] = { 1 };
	FdinfoEntry fdi[9], *fdp[9];
	FileEntry fe[10];
	PipeEntry pipe[2];
	UnixSkEntry usk[2];
	InetSkEntry isk = INET_SK_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	RegFileEntry reg[3];
	FifoEntry fifo = FIFO_ENTRY__INIT;
	RemapFilePathEntry rm[2];
	uint32_t lo = 0x0100007f;
	struct ck_buf b;
	static const uint32_t type[9] = { FD_TYPES__PIPE, FD_TYPES__PIPE, FD_TYPES__UNIXSK, FD_TYPES__UNIXSK,
					  FD_TYPES__INETSK, FD_TYPES__REG, FD_TYPES__REG, FD_TYPES__FIFO,
					  FD_TYPES__REG };
	static const char *const names[3] = { "/tmp/gone", "/tmp/bad", "/tmp/fifo" };

	inv.img_version = 2;
	put_msgs("inventory.img", IMG_MAGIC_INVENTORY, &inv, NULL);
	p.pid = 1;
	p.n_threads = 1;
	p.threads = th;
	put_msgs("pstree.img", IMG_MAGIC_PSTREE, &p, NULL);

	img_start(&b, IMG_MAGIC_FDINFO);
	for (int i = 0; i < 9; i++) {
		fdinfo_entry__init(&fdi[i]);
		fdi[i].fd = (uint32_t) i;
		fdi[i].id = (uint32_t) i + 1;
		fdi[i].type = type[i];
		fdp[i] = &fdi[i];
		img_add(&b, &fdp[i]->base);
	}
	put_image("fdinfo-1.img", &b);

	for (int i = 0; i < 10; i++)
		file_entry__init(&fe[i]);
	for (int i = 0; i < 2; i++) {
		pipe_entry__init(&pipe[i]);
		pipe[i].id = (uint32_t) i + 1;
		pipe[i].pipe_id = 100 + (uint32_t) i;
		pipe[i].fown = &fown;
		fe[i].type = FD_TYPES__PIPE;
		fe[i].id = pipe[i].id;
		fe[i].pipe = &pipe[i];
		unix_sk_entry__init(&usk[i]);
		usk[i].id = (uint32_t) i + 3;
		usk[i].ino = 200 + (uint32_t) i;
		usk[i].type = 1;
		usk[i].state = 1;
		usk[i].fown = &fown;
		usk[i].opts = &opts;
		fe[i + 2].type = FD_TYPES__UNIXSK;
		fe[i + 2].id = usk[i].id;
		fe[i + 2].usk = &usk[i];
	}
	isk.id = 5;
	isk.ino = 0x300;
	isk.family = 2;
	isk.type = 1;
	isk.proto = 6;
	isk.state = 1;
	isk.src_port = 8080;
	isk.dst_port = 40000;
	isk.n_src_addr = isk.n_dst_addr = 1;
	isk.src_addr = isk.dst_addr = &lo;
	isk.fown = &fown;
	isk.opts = &opts;
	fe[4].type = FD_TYPES__INETSK;
	fe[4].id = 5;
	fe[4].isk = &isk;
	for (int i = 0; i < 3; i++) {
		static const uint32_t id[3] = { 6, 7, 10 };

		reg_file_entry__init(&reg[i]);
		reg[i].id = id[i];
		reg[i].name = (char *) names[i];
		reg[i].fown = &fown;
	}
	fe[5].type = fe[6].type = fe[9].type = FD_TYPES__REG;
	fe[5].id = 6;
	fe[5].reg = &reg[0];
	fe[6].id = 7;
	fe[6].reg = &reg[1];
	fe[9].id = 10;
	fe[9].reg = &reg[2];
	fifo.id = 8;
	fifo.pipe_id = 102;
	fifo.has_regf_id = true;
	fifo.regf_id = 10;
	fe[7].type = FD_TYPES__FIFO;
	fe[7].id = 8;
	fe[7].fifo = &fifo;
	/* fd 8 opens file 9, which files.img lacks */
	put_msgs("files.img", IMG_MAGIC_FILES, &fe[0], &fe[1], &fe[2], &fe[3], &fe[4], &fe[5], &fe[6], &fe[7],
		 &fe[9], NULL);

	for (int i = 0; i < 2; i++) {
		remap_file_path_entry__init(&rm[i]);
		rm[i].orig_id = 6 + (uint32_t) i;
		rm[i].remap_id = 2 + (uint32_t) i;
		rm[i].has_remap_type = true;
		rm[i].remap_type = REMAP_TYPE__GHOST;
	}
	put_msgs("remap-fpath.img", IMG_MAGIC_REMAP_FPATH, &rm[0], &rm[1], NULL);

	img_start(&b, IMG_MAGIC_PIPES_DATA);
	pipe_rec(&b, 100, 5, "hello");
	pipe_rec(&b, 101, 1000, "short");
	put_image("pipes-data.img", &b);
	img_start(&b, IMG_MAGIC_FIFO_DATA);
	pipe_rec(&b, 102, 5, "fifo!");
	put_image("fifo-data.img", &b);
	img_start(&b, IMG_MAGIC_SK_QUEUES);
	packet(&b, 3, "ab");
	packet(&b, 4, "XY");
	packet(&b, 3, "cd");
	put_image("sk-queues.img", &b);
	tcp_image(&b, 2, 4, "INOUTQ");
	put_image("tcp-stream-300.img", &b);
	ghost_chunked(&b, 10000, 0);
	put_image("ghost-file-2.img", &b);
	ghost_chunked(&b, 10000, 50);
	put_image("ghost-file-3.img", &b);
}

/* The whole of @c, at most 64 KiB, into @buf. */
static ssize_t read_all(const struct ckpt_content *c, char *buf, size_t size)
{
	return c ? ckpt_content_read(c, buf, size, 0) : -ENOENT;
}

static bool content_is(const struct ckpt *ck, uint32_t file_id, const char *want)
{
	const struct ckpt_content *d, *o;
	char buf[256];
	ssize_t n;

	ckpt_fd_contents(ck, file_id, &d, &o);
	n = read_all(d, buf, sizeof(buf));
	return n == (ssize_t) strlen(want) && memcmp(buf, want, (size_t) n) == 0;
}

/* Read the whole of tree node @path into @buf; the count or -errno. */
static ssize_t read_path(struct tree *t, const char *path, char *buf, size_t size)
{
	const struct tree_node *n = tree_lookup(t, path);
	int rc;

	if (!n)
		return -ENOENT;
	rc = tree_open(t, n);
	if (rc < 0)
		return rc;
	return tree_read(t, n, buf, size, 0);
}

static void test_joins(void)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	_cleanup_(tree_freep) struct tree *t = NULL;
	const struct ckpt_content *d, *o, *g;
	struct tree_opts opts = { 0 };
	char buf[16384], *err = NULL;
	static const char *const files[] = { "ghost-2-tmp_gone", "ghost-3-tmp_bad", "pipe-100", "pipe-101",
					     "fifo-102-tmp_fifo", "unix-200.inq", "unix-201.inq",
					     "tcp-768-127.0.0.1:8080-127.0.0.1:40000.inq",
					     "tcp-768-127.0.0.1:8080-127.0.0.1:40000.outq" };
	bool names_ok = true;
	int rc;

	if (tmpdir_new(root, sizeof(root), "test-contents") < 0)
		exit(2);
	build_dir();
	rc = arc_open(root, NULL, &a, NULL);
	if (rc == 0)
		rc = ckpt_load(a, NULL, &ck, &err);
	CHECK(rc == 0, "synthetic checkpoint loads (%s)", err ? err : "ok");
	free(err);
	if (rc < 0) {
		tmpdir_remove(root);
		return;
	}
	CHECK(ck->n_contents == 9, "9 content objects (got %zu)", ck->n_contents);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		bool found = false;

		for (size_t j = 0; j < ck->n_contents; j++)
			found |= strcmp(ck->contents[j].name, files[i]) == 0;
		if (!found) {
			printf("# missing %s\n", files[i]);
			names_ok = false;
		}
	}
	CHECK(names_ok, "content names");
	CHECK(content_is(ck, 1, "hello"), "pipe 100 by its pipe_id");
	ckpt_fd_contents(ck, 2, &d, &o);
	CHECK(d && d->err < 0 && ckpt_content_read(d, buf, sizeof(buf), 0) == -EIO,
	      "pipe 101: length past EOF reads as EIO");
	CHECK(content_is(ck, 3, "abcd"), "unix 200: two packets concatenated");
	CHECK(content_is(ck, 4, "XY"), "unix 201: one packet");
	CHECK(content_is(ck, 8, "fifo!"), "fifo 102");
	ckpt_fd_contents(ck, 5, &d, &o);
	CHECK(d && o && read_all(d, buf, sizeof(buf)) == 2 && memcmp(buf, "IN", 2) == 0 &&
	      read_all(o, buf, sizeof(buf)) == 4 && memcmp(buf, "OUTQ", 4) == 0, "tcp: inq and outq");
	ckpt_fd_contents(ck, 6, &g, &o);
	memset(buf, 'x', sizeof(buf));
	CHECK(g && !o && g->size == 10000 && read_all(g, buf, sizeof(buf)) == 10000 && memcmp(buf, "abc\0", 4) == 0 &&
	      buf[8191] == 0 && memcmp(buf + 8192, "zz\0", 3) == 0 && buf[9999] == 0,
	      "chunked ghost: chunks at their offsets, zeros between");
	CHECK(g && ckpt_content_read(g, buf, 4, 8190) == 4 && memcmp(buf, "\0\0zz", 4) == 0,
	      "chunked ghost: a read across a hole and a chunk");
	CHECK(g && ckpt_content_seek(g, 0, false) == 3 && ckpt_content_seek(g, 3, true) == 8192 &&
	      ckpt_content_seek(g, 8192, false) == 8194 && ckpt_content_seek(g, 8194, true) == -ENXIO &&
	      ckpt_content_seek(g, 10000, false) == -ENXIO && ckpt_content_allocated(g) == 5,
	      "chunked ghost: SEEK_DATA / SEEK_HOLE");
	ckpt_fd_contents(ck, 7, &d, &o);
	CHECK(d && d->err < 0, "ghost with a chunk past EOF is damaged");
	ckpt_fd_contents(ck, 9, &d, &o);
	CHECK(!d && !o, "an fd whose file is missing holds nothing");

	rc = view_tree_new(ck, a, &opts, &t);
	CHECK(rc == 0, "tree builds");
	if (rc == 0) {
		CHECK(read_path(t, "/1/fdcontent/0", buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0,
		      "/1/fdcontent/0 is the pipe's data");
		CHECK(read_path(t, "/1/fdcontent/2", buf, sizeof(buf)) == 4 && memcmp(buf, "abcd", 4) == 0,
		      "/1/fdcontent/2 streams the unix queue");
		CHECK(read_path(t, "/1/fdcontent/4.outq", buf, sizeof(buf)) == 4,
		      "/1/fdcontent/4.outq is the TCP send queue");
		CHECK(read_path(t, "/1/fdcontent/1", buf, sizeof(buf)) == -EIO &&
		      read_path(t, "/1/fdcontent/6", buf, sizeof(buf)) == -EIO,
		      "damaged contents fail with EIO");
		CHECK(!tree_lookup(t, "/1/fdcontent/8") && !tree_lookup(t, "/1/fdcontent/4.inq"),
		      "fds without data have no entry");
		CHECK(read_path(t, "/files/fifo-102-tmp_fifo", buf, sizeof(buf)) == 5 &&
		      read_path(t, "/files/ghost-2-tmp_gone", buf, sizeof(buf)) == 10000,
		      "/files/ holds each content once");
	}
	tmpdir_remove(root);
}

/* The markers on pid 1 of a wl-* fixture: fd -> expected line. */
static void test_fixture(const char *data, const char *fx, const char *tag)
{
	static const struct {
		unsigned fd;
		const char *what;
	} fds[] = {
		{ 5, "PIPE-DATA" }, { 6, "PIPE-DATA" }, { 14, "FIFO-DATA" }, { 8, "UNIX-QUEUE" },
		{ 12, "TCP-QUEUE" }, { 15, "GHOST-FILE" }, { 17, "MEMFD" },
	};
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	const struct ckpt_proc *p;
	char path[512], *err = NULL;
	size_t with_data = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/fixtures/%s", data, fx);
	rc = arc_open(path, NULL, &a, NULL);
	if (rc == 0)
		rc = ckpt_load(a, NULL, &ck, &err);
	CHECK(rc == 0, "%s: loads (%s)", fx, err ? err : "ok");
	free(err);
	if (rc < 0)
		return;
	CHECK(ck->n_contents == 6, "%s: 6 content objects (got %zu)", fx, ck->n_contents);
	p = ckpt_proc_find(ck, 1);
	if (!p)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		const struct ckpt_content *d = NULL, *o = NULL;
		char want[64], buf[64];
		ssize_t n = -ENOENT;

		snprintf(want, sizeof(want), "%s-MARKER-%s\n", fds[i].what, tag);
		for (size_t j = 0; j < p->n_fds; j++)
			if (p->fds[j].fd == fds[i].fd)
				ckpt_fd_contents(ck, p->fds[j].id, &d, &o);
		if (d)
			n = ckpt_content_read(d, buf, sizeof(buf), 0);
		CHECK(n == (ssize_t) strlen(want) && memcmp(buf, want, (size_t) n) == 0 && !o,
		      "%s: fd %u holds %s-MARKER-%s", fx, fds[i].fd, fds[i].what, tag);
	}
	for (size_t j = 0; j < p->n_fds; j++) {
		const struct ckpt_content *d, *o;

		ckpt_fd_contents(ck, p->fds[j].id, &d, &o);
		with_data += d || o;
	}
	CHECK(with_data == ARRAY_SIZE(fds), "%s: only those %zu fds hold data (got %zu)", fx, ARRAY_SIZE(fds),
	      with_data);
}

int main(void)
{
	const char *data = getenv("CKPTFS_DATA");
	static const char *const fx[][2] = {
		{ "wl-alpha.tar.zst", "alpha" }, { "wl-beta.tar.gz", "beta" }, { "wl-gamma.tar", "gamma" },
	};

	test_scanners();
	test_joins();
	if (!data) {
		SKIP("CKPTFS_DATA unset: fixture tests skipped");
		return tap_done();
	}
	for (size_t i = 0; i < ARRAY_SIZE(fx); i++)
		test_fixture(data, fx[i][0], fx[i][1]);
	return tap_done();
}
