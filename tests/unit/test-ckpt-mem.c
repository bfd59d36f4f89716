/* SPDX-License-Identifier: Apache-2.0 */
/* Memory of the model on image directories built here with *__pack():
 * shared memory (memfd, legacy shared anonymous, SysV) mapped into a
 * process with COW pages winning, memfd contents as a byte stream,
 * pre-dump chains through `parent` links (and their loops), page-size
 * inference and both page-count encodings. TAP output. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "files.pb-c.h"
#include "../internal.h"
#include "tap.h"
#include "task.pb-c.h"

#define PAGE 4096u

static char root[64];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t) len)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void make_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		exit(2);
	}
}

static void make_link(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
	if (symlink(target, path) < 0) {
		perror(path);
		exit(2);
	}
}

/* Write image @rel: head words for @magic, then the NULL-terminated messages. */
static void write_image(const char *rel, uint32_t magic, ...)
{
	struct ck_buf b = { 0 };
	uint32_t w = IMG_COMMON_MAGIC;
	const ProtobufCMessage *m;
	va_list ap;

	if (magic != IMG_MAGIC_INVENTORY)
		ck_buf_add(&b, &w, 4);
	ck_buf_add(&b, &magic, 4);
	va_start(ap, magic);
	while ((m = va_arg(ap, const ProtobufCMessage *))) {
		uint32_t len = (uint32_t) protobuf_c_message_get_packed_size(m);
		uint8_t *tmp = malloc(len + 1);

		protobuf_c_message_pack(m, tmp);
		ck_buf_add(&b, &len, 4);
		ck_buf_add(&b, tmp, len);
		free(tmp);
	}
	va_end(ap);
	write_file(rel, b.data, b.len);
	ck_buf_done(&b);
}

/* A pages file: page i (of @ps bytes) is filled with fill[i]. */
static void write_pages(const char *rel, const char *fill, uint64_t ps)
{
	size_t n = strlen(fill);
	uint8_t *buf = malloc(n * ps + 1);

	for (size_t i = 0; i < n; i++)
		memset(buf + i * ps, fill[i], ps);
	write_file(rel, buf, n * ps);
	free(buf);
}

enum enc { ENC_NEW, ENC_COMPAT, ENC_LEGACY };

struct pe {
	uint64_t vaddr;
	uint32_t nr;
	uint32_t flags;		/* IMG_PE_*; ENC_LEGACY: only PARENT matters (in_parent) */
	enum enc enc;
};

/* pagemap image @rel: head with @pages_id, then @n entries. */
static void write_pagemap(const char *rel, uint32_t pages_id, const struct pe *e, size_t n)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;
	PagemapEntry pe[8];
	struct ck_buf b = { 0 };
	uint32_t w[2] = { IMG_COMMON_MAGIC, IMG_MAGIC_PAGEMAP };
	uint8_t tmp[256];
	uint32_t len;

	ph.pages_id = pages_id;
	ck_buf_add(&b, w, 8);
	len = (uint32_t) pagemap_head__pack(&ph, tmp);
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, tmp, len);
	for (size_t i = 0; i < n && i < 8; i++) {
		pagemap_entry__init(&pe[i]);
		pe[i].vaddr = e[i].vaddr;
		switch (e[i].enc) {
		case ENC_NEW:	/* what 4.2 writes: compat 0 next to field 5 */
			pe[i].has_compat_nr_pages = 1;
			pe[i].compat_nr_pages = 0;
			pe[i].has_nr_pages = 1;
			pe[i].nr_pages = e[i].nr;
			pe[i].has_flags = 1;
			pe[i].flags = e[i].flags;
			break;
		case ENC_COMPAT:
			pe[i].has_compat_nr_pages = 1;
			pe[i].compat_nr_pages = e[i].nr;
			pe[i].has_flags = 1;
			pe[i].flags = e[i].flags;
			break;
		case ENC_LEGACY:	/* before flags: in_parent only */
			pe[i].has_compat_nr_pages = 1;
			pe[i].compat_nr_pages = e[i].nr;
			pe[i].has_in_parent = 1;
			pe[i].in_parent = (e[i].flags & IMG_PE_PARENT) != 0;
			break;
		}
		len = (uint32_t) pagemap_entry__pack(&pe[i], tmp);
		ck_buf_add(&b, &len, 4);
		ck_buf_add(&b, tmp, len);
	}
	write_file(rel, b.data, b.len);
	ck_buf_done(&b);
}

static void rm_tree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void new_root(void)
{
	snprintf(root, sizeof(root), "/tmp/ckptfs-test-ckpt-mem.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(2);
	}
}

/* inventory, pstree (pid 1), core-1 and mm-1 with @vmas in directory @dir. */
static void write_task(const char *dir, VmaEntry **vmas, size_t n_vmas)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	PstreeEntry p1 = PSTREE_ENTRY__INIT;
	CoreEntry c = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	MmEntry mm = MM_ENTRY__INIT;
	uint32_t th[] = { 1 };
	char path[128];

	inv.img_version = 2;
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	write_image(path, IMG_MAGIC_INVENTORY, &inv, NULL);
	p1.pid = 1;
	p1.n_threads = 1;
	p1.threads = th;
	snprintf(path, sizeof(path), "%s/pstree.img", dir);
	write_image(path, IMG_MAGIC_PSTREE, &p1, NULL);
	c.mtype = CORE_ENTRY__MARCH__X86_64;
	tc.comm = "t";
	tc.task_state = 1;
	c.tc = &tc;
	snprintf(path, sizeof(path), "%s/core-1.img", dir);
	write_image(path, IMG_MAGIC_CORE, &c, NULL);
	mm.n_vmas = n_vmas;
	mm.vmas = vmas;
	snprintf(path, sizeof(path), "%s/mm-1.img", dir);
	write_image(path, IMG_MAGIC_MM, &mm, NULL);
}

static void vma(VmaEntry *v, uint64_t start, uint64_t end, uint64_t pgoff, uint64_t shmid, uint32_t status,
		uint32_t flags)
{
	vma_entry__init(v);
	v->start = start;
	v->end = end;
	v->pgoff = pgoff;
	v->shmid = shmid;
	v->status = status;
	v->flags = flags;
	v->prot = 3;
	v->fd = -1;
}

struct loaded {
	struct arc *a;
	struct arc *parents[4];
	struct ckpt *ck;
	char *err;
	int rc;
};

/* Open @dir (relative to root) and build the model with @opts. */
static void load(struct loaded *l, const char *dir, struct ckpt_opts *opts)
{
	char path[256];

	*l = (struct loaded) { 0 };
	snprintf(path, sizeof(path), "%s/%s", root, dir);
	l->rc = arc_open(path, NULL, &l->a, &l->err);
	if (l->rc < 0)
		return;
	if (opts)
		opts->path = path;
	l->rc = ckpt_load(l->a, opts, &l->ck, &l->err);
}

static void unload(struct loaded *l)
{
	ckpt_free(l->ck);
	arc_free(l->a);
	for (size_t i = 0; i < ARRAY_SIZE(l->parents); i++)
		arc_free(l->parents[i]);
	free(l->err);
}

/* True when [addr, addr + len) of @m reads as byte @v everywhere. */
static bool reads_as(const struct mem_space *m, uint64_t addr, size_t len, uint8_t v)
{
	uint8_t *buf = malloc(len);
	bool ok = buf && mem_read(m, addr, buf, len) == (ssize_t) len;

	for (size_t i = 0; ok && i < len; i++)
		ok = buf[i] == v;
	free(buf);
	return ok;
}

/* ---- shared memory ---- */

static void test_shared(void)
{
	VmaEntry v[5], *vp[5] = { &v[0], &v[1], &v[2], &v[3], &v[4] };
	FileEntry fe = FILE_ENTRY__INIT;
	MemfdFileEntry mf = MEMFD_FILE_ENTRY__INIT;
	MemfdInodeEntry mi = MEMFD_INODE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	const struct pe own[] = {
		{ 0x21000, 1, IMG_PE_PRESENT, ENC_NEW },	/* COW page of the private memfd mapping */
		{ 0x50000, 1, IMG_PE_PRESENT | IMG_PE_LAZY, ENC_NEW },
	};
	const struct pe obj[] = {
		{ 0x3000, 2, IMG_PE_PRESENT, ENC_NEW },	/* d e */
		{ 0x0, 2, IMG_PE_PRESENT, ENC_NEW },	/* a b */
	};
	const struct pe one[] = { { 0, 1, IMG_PE_PRESENT, ENC_NEW } };
	const struct ckpt_proc *p;
	const struct ckpt_shm *s;
	const struct mem_space *content = NULL;
	struct ckpt_opts opts = { 0 };
	struct loaded l;
	char buf[64];

	new_root();
	make_dir("img");
	vma(&v[0], 0x10000, 0x14000, 0x1000, 20, IMG_VMA_AREA_REGULAR | IMG_VMA_AREA_MEMFD | IMG_VMA_FILE_SHARED, 1);
	vma(&v[1], 0x20000, 0x22000, 0, 20, IMG_VMA_AREA_REGULAR | IMG_VMA_AREA_MEMFD | IMG_VMA_FILE_PRIVATE, 2);
	vma(&v[2], 0x30000, 0x31000, 0, 777, IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_SHARED, 1);
	vma(&v[3], 0x40000, 0x41000, 0, 5, IMG_VMA_AREA_REGULAR | IMG_VMA_AREA_SYSVIPC, 1);
	vma(&v[4], 0x50000, 0x52000, 0, 0, IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE, 2);
	write_task("img", vp, 5);

	mf.id = 20;
	mf.inode_id = 3;
	mf.fown = &fown;
	fe.type = FD_TYPES__MEMFD;
	fe.id = 20;
	fe.memfd = &mf;
	write_image("img/files.img", IMG_MAGIC_FILES, &fe, NULL);
	mi.name = "shared";
	mi.size = 5 * PAGE - 100;
	mi.shmid = 4242;
	mi.inode_id = 3;
	write_image("img/memfd.img", IMG_MAGIC_MEMFD_INODE, &mi, NULL);

	write_pagemap("img/pagemap-1.img", 1, own, ARRAY_SIZE(own));
	write_pages("img/pages-1.img", "PH", PAGE);
	write_pagemap("img/pagemap-shmem-4242.img", 9, obj, ARRAY_SIZE(obj));
	write_pages("img/pages-9.img", "deab", PAGE);
	write_pagemap("img/pagemap-shmem-777.img", 7, one, 1);
	write_pages("img/pages-7.img", "S", PAGE);
	write_pagemap("img/pagemap-shmem-5.img", 5, one, 1);
	write_pages("img/pages-5.img", "V", PAGE);

	load(&l, "img", &opts);
	CHECK(l.rc == 0 && l.ck, "shared: loads (%s)", l.err ? l.err : "ok");
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && p->mem_err == 0, "shared: pid 1 has memory");
	if (p && p->mem) {
		const struct mem_space *m = p->mem;

		CHECK(reads_as(m, 0x10000, PAGE, 'b') && reads_as(m, 0x11000, PAGE, 0) &&
		      reads_as(m, 0x12000, PAGE, 'd') && reads_as(m, 0x13000, PAGE, 'e'),
		      "shared: MAP_SHARED memfd at pgoff 0x1000 shows object pages b, hole, d, e");
		CHECK(reads_as(m, 0x20000, PAGE, 'a') && reads_as(m, 0x21000, PAGE, 'P'),
		      "shared: MAP_PRIVATE memfd shows the object, the COW page wins");
		CHECK(reads_as(m, 0x30000, PAGE, 'S'), "shared: legacy VMA_ANON_SHARED by shmid");
		CHECK(reads_as(m, 0x40000, PAGE, 'V'), "shared: SysV segment by IPC id");
		CHECK(reads_as(m, 0x50000, PAGE, 'H') && reads_as(m, 0x51000, PAGE, 0),
		      "shared: private anonymous pages unchanged");
		CHECK(mem_is_dumped(m, 0x10000, PAGE) && !mem_is_dumped(m, 0x11000, 1) &&
		      mem_is_dumped(m, 0x12000, 2 * PAGE) && mem_is_dumped(m, 0x20000, 2 * PAGE) &&
		      mem_dumped_bytes(m) == 8 * PAGE && mem_missing_count(m) == 0,
		      "shared: dumped ranges and bytes count the objects");
		CHECK(mem_seek_data(m, 0x11000) == 0x12000 && mem_seek_hole(m, 0x20000) == 0x22000,
		      "shared: SEEK_DATA/SEEK_HOLE see shared pages");
	}
	s = l.ck ? ckpt_shm_find(l.ck, 4242) : NULL;
	CHECK(s && s->memfd && s->mem && s->size == 5 * PAGE - 100 && l.ck->n_shms == 3 &&
	      ckpt_shm_find(l.ck, 777) && ckpt_shm_find(l.ck, 5) && !ckpt_shm_find(l.ck, 20),
	      "shared: three objects, keyed by shmid");
	CHECK(l.ck && ckpt_memfd_content(l.ck, 20, &content) == 0 && content &&
	      mem_size(content) == 5 * PAGE - 100 && reads_as(content, 0, PAGE, 'a') &&
	      reads_as(content, 0x2000, PAGE, 0) && reads_as(content, 0x4000, PAGE - 100, 'e') &&
	      mem_read(content, 0x4000, buf, sizeof(buf)) == sizeof(buf) &&
	      mem_read(content, 5 * PAGE - 100, buf, 1) == 0 &&
	      mem_dumped_bytes(content) == 4 * PAGE - 100,
	      "shared: memfd content as a stream of memfd.img's size");
	CHECK(l.ck && ckpt_memfd_content(l.ck, 21, &content) == -ENOENT && p &&
	      ckpt_vma_shm(l.ck, &p->mm->vmas[0]) == s && !ckpt_vma_shm(l.ck, &p->mm->vmas[4]),
	      "shared: lookups by file id and by VMA");
	unload(&l);

	/* A broken object leaves a hole, not a failed process. */
	write_file("img/pagemap-shmem-777.img", "junk", 4);
	load(&l, "img", NULL);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	s = l.ck ? ckpt_shm_find(l.ck, 777) : NULL;
	CHECK(p && p->mem && s && !s->mem && s->err == -EBADMSG && reads_as(p->mem, 0x30000, PAGE, 0) &&
	      reads_as(p->mem, 0x40000, PAGE, 'V'), "shared: bad pagemap-shmem -> that object only is a hole");
	unload(&l);
	rm_tree(root);
}

/* ---- pre-dump chains ---- */

static void test_chain(void)
{
	VmaEntry v[1], *vp[1] = { &v[0] };
	const struct pe child[] = {
		{ 0x10000, 1, IMG_PE_PRESENT, ENC_NEW },	/* c */
		{ 0x11000, 2, IMG_PE_PARENT, ENC_NEW },
		{ 0x13000, 1, IMG_PE_PARENT, ENC_LEGACY },	/* in_parent */
		{ 0x14000, 1, IMG_PE_PRESENT, ENC_LEGACY },	/* d: no flags, not in_parent */
	};
	const struct pe parent[] = {
		{ 0x13000, 1, IMG_PE_PRESENT, ENC_COMPAT },	/* q */
		{ 0x12000, 1, IMG_PE_PARENT, ENC_NEW },
		{ 0x11000, 1, IMG_PE_PRESENT, ENC_NEW },	/* p */
		{ 0x10000, 1, IMG_PE_PRESENT, ENC_NEW },	/* stale: the child's own page wins */
	};
	const struct pe grand[] = { { 0x12000, 1, IMG_PE_PRESENT, ENC_NEW } };	/* g */
	const struct ckpt_proc *p;
	struct ckpt_opts opts = { 0 };
	struct loaded l;

	new_root();
	make_dir("1");
	make_dir("2");
	make_dir("3");
	vma(&v[0], 0x10000, 0x18000, 0, 0, IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE, 2);
	write_task("3", vp, 1);
	write_pagemap("3/pagemap-1.img", 1, child, ARRAY_SIZE(child));
	write_pages("3/pages-1.img", "cd", PAGE);
	make_link("../2", "3/parent");
	/* A pre-dump: no inventory, only memory. */
	write_pagemap("2/pagemap-1.img", 1, parent, ARRAY_SIZE(parent));
	write_pages("2/pages-1.img", "qpx", PAGE);
	make_link("../1", "2/parent");
	write_pagemap("1/pagemap-1.img", 4, grand, 1);
	write_pages("1/pages-4.img", "g", PAGE);

	load(&l, "3", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(l.rc == 0 && p && p->mem && l.ck->n_levels == 3 && l.ck->chain_err == 0,
	      "chain: three levels through `parent` links (%s)", l.err ? l.err : "ok");
	if (p && p->mem) {
		CHECK(reads_as(p->mem, 0x10000, PAGE, 'c') && reads_as(p->mem, 0x11000, PAGE, 'p') &&
		      reads_as(p->mem, 0x12000, PAGE, 'g') && reads_as(p->mem, 0x13000, PAGE, 'q') &&
		      reads_as(p->mem, 0x14000, PAGE, 'd') && reads_as(p->mem, 0x15000, PAGE, 0),
		      "chain: own, parent, grandparent, legacy in_parent and compat count pages");
		CHECK(mem_dumped_bytes(p->mem) == 5 * PAGE && mem_missing_count(p->mem) == 0 &&
		      mem_is_dumped(p->mem, 0x10000, 5 * PAGE), "chain: all resolved, nothing missing");
	}
	unload(&l);

	/* The grandparent's link loops back to the child: cut, still readable. */
	make_link("../3", "1/parent");
	load(&l, "3", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && l.ck->n_levels == 3 && l.ck->chain_err == -ELOOP &&
	      reads_as(p->mem, 0x12000, PAGE, 'g'), "chain: a loop of `parent` links is cut (-ELOOP)");
	unload(&l);

	/* Without the grandparent, its page is a hole listed as missing. */
	make_link("../nowhere", "2/parent");
	load(&l, "3", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && l.ck->n_levels == 2 && l.ck->chain_err == -ENOENT &&
	      reads_as(p->mem, 0x12000, PAGE, 0) && reads_as(p->mem, 0x11000, PAGE, 'p') &&
	      mem_missing_count(p->mem) == 1 && mem_missing_at(p->mem, 0)->vaddr == 0x12000 &&
	      mem_missing_at(p->mem, 0)->len == PAGE && !mem_is_dumped(p->mem, 0x12000, 1),
	      "chain: dangling link -> the grandparent's page is missing");
	unload(&l);

	/* Explicit parents win over the link; a damaged parent only loses its pages. */
	{
		char path[256];
		struct ckpt_parent par[1];

		snprintf(path, sizeof(path), "%s/1", root);
		write_pagemap("1/pagemap-1.img", 4, grand, 1);
		CHECK(arc_open(path, NULL, &l.parents[0], NULL) == 0, "chain: open an explicit parent");
		par[0] = (struct ckpt_parent) { .arc = l.parents[0], .path = path };
		opts.parents = par;
		opts.n_parents = 1;
		{
			struct arc *keep = l.parents[0];

			load(&l, "3", &opts);
			l.parents[0] = keep;
		}
		p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
		CHECK(p && p->mem && l.ck->n_levels == 2 && reads_as(p->mem, 0x11000, PAGE, 0) &&
		      reads_as(p->mem, 0x12000, PAGE, 'g') && reads_as(p->mem, 0x13000, PAGE, 0) &&
		      mem_missing_count(p->mem) == 2 && mem_missing_at(p->mem, 0)->vaddr == 0x11000 &&
		      mem_missing_at(p->mem, 0)->len == PAGE && mem_missing_at(p->mem, 1)->vaddr == 0x13000,
		      "chain: -o parent= replaces the link; what it lacks is missing");
		opts.parents = NULL;
		opts.n_parents = 0;
		unload(&l);
	}

	write_file("2/pages-1.img", "short", 5);
	load(&l, "3", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && reads_as(p->mem, 0x10000, PAGE, 'c') && mem_missing_count(p->mem) == 1 &&
	      mem_missing_at(p->mem, 0)->len == 3 * PAGE,
	      "chain: parent pagemap past its pages file -> its ranges missing, the rest readable");
	unload(&l);

	write_pagemap("3/pagemap-1.img", 1, child, 3);
	write_pages("3/pages-1.img", "c", PAGE);
	load(&l, "3", NULL);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && mem_run_count(p->mem) == 1 && mem_missing_count(p->mem) == 1,
	      "chain: without opts.path the link of a directory is not followed outside it");
	unload(&l);
	rm_tree(root);
}

/* ---- page size ---- */

static void test_page_size(void)
{
	const uint64_t big = 16384;
	VmaEntry v[1], *vp[1] = { &v[0] };
	const struct pe e[] = {
		{ 0x100000, 1, IMG_PE_PRESENT, ENC_NEW },	/* X */
		{ 0x108000, 2, IMG_PE_PRESENT, ENC_COMPAT },	/* Y Z */
		{ 0x104000, 1, IMG_PE_PARENT, ENC_NEW },
	};
	const struct ckpt_proc *p;
	struct ckpt_opts opts = { 0 };
	struct loaded l;

	new_root();
	make_dir("img");
	vma(&v[0], 0x100000, 0x110000, 0, 0, IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE, 2);
	write_task("img", vp, 1);
	write_pagemap("img/pagemap-1.img", 1, e, ARRAY_SIZE(e));
	write_pages("img/pages-1.img", "XYZ", big);

	load(&l, "img", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && p->page_size == big && l.ck->page_size == big && mem_page_size(p->mem) == big,
	      "page size: 16 KiB inferred from 3 pages in 48 KiB");
	if (p && p->mem) {
		CHECK(reads_as(p->mem, 0x100000, big, 'X') && reads_as(p->mem, 0x108000, big, 'Y') &&
		      reads_as(p->mem, 0x10c000, big, 'Z') && reads_as(p->mem, 0x104000, big, 0),
		      "page size: offsets and lengths in 16 KiB pages");
		CHECK(mem_dumped_bytes(p->mem) == 3 * big && mem_missing_count(p->mem) == 1 &&
		      mem_missing_at(p->mem, 0)->len == big, "page size: dumped and missing bytes");
	}
	unload(&l);

	opts.page_size = 4096;
	load(&l, "img", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && p->page_size == 4096 && l.ck->page_size == 4096 &&
	      reads_as(p->mem, 0x108000, PAGE, 'X') && reads_as(p->mem, 0x100000, PAGE, 'X') &&
	      mem_dumped_bytes(p->mem) == 3 * PAGE, "page size: ckpt_opts.page_size is honoured");
	unload(&l);
	opts.page_size = 0;

	/* 3 pages in 40 KiB: not a power of two, fall back to 4096. */
	{
		uint8_t *buf = calloc(1, 40960);

		write_file("img/pages-1.img", buf, 40960);
		free(buf);
	}
	load(&l, "img", &opts);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(p && p->mem && p->page_size == 4096 && l.ck->page_size == 4096,
	      "page size: sizes that do not fit fall back to 4096");
	unload(&l);
	rm_tree(root);
}

/* ---- a real checkpoint split by scripts/mkincremental ---- */

/* True when every dumped byte of @a reads the same through @b. */
static bool same_bytes(const struct mem_space *a, const struct mem_space *b)
{
	bool ok = mem_dumped_bytes(a) == mem_dumped_bytes(b);

	for (size_t i = 0; ok && i < mem_run_count(a); i++) {
		const struct mem_run *r = mem_run_at(a, i);
		uint8_t *x = malloc(r->len), *y = malloc(r->len);

		ok = x && y && mem_read(a, r->vaddr, x, r->len) == (ssize_t) r->len &&
		     mem_read(b, r->vaddr, y, r->len) == (ssize_t) r->len && !memcmp(x, y, r->len) &&
		     mem_is_dumped(b, r->vaddr, r->len);
		free(x);
		free(y);
	}
	return ok;
}

/* moved.txt ("vaddr nr level" lines) as sorted, merged ranges. */
static size_t read_moved(const char *path, struct mem_range *out, size_t max)
{
	FILE *f = fopen(path, "r");
	unsigned long long va, nr;
	size_t n = 0, w = 0;
	int level;

	while (f && n < max && fscanf(f, "%llx %llu %d", &va, &nr, &level) == 3)
		out[n++] = (struct mem_range) { va, nr * PAGE };
	if (f)
		fclose(f);
	for (size_t i = 1; i < n; i++)	/* insertion sort: the file is short */
		for (size_t k = i; k > 0 && out[k].vaddr < out[k - 1].vaddr; k--) {
			struct mem_range t = out[k];

			out[k] = out[k - 1];
			out[k - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (w && out[w - 1].vaddr + out[w - 1].len == out[i].vaddr)
			out[w - 1].len += out[i].len;
		else
			out[w++] = out[i];
	}
	return w;
}

static void test_mkincremental(const char *data)
{
	struct mem_range want[2048];
	struct loaded orig, l;
	struct ckpt_opts opts = { 0 };
	const struct ckpt_proc *po, *p;
	char cmd[1024], path[256];
	size_t n_want;
	bool ok;

	if (!data || system("command -v python3 >/dev/null && command -v tar >/dev/null") != 0) {
		printf("# python3, tar or CKPTFS_DATA missing: mkincremental tests skipped\n");
		return;
	}
	new_root();
	snprintf(cmd, sizeof(cmd),
		 "mkdir '%s/x' && tar -xf '%s/fixtures/wl-gamma.tar' -C '%s/x' && "
		 "python3 '%s/../../scripts/mkincremental' '%s/x/checkpoint' 1 '%s/inc'",
		 root, data, root, data, root, root);
	CHECK(system(cmd) == 0, "mkincremental: wl-gamma pid 1 split into child and parent");

	load(&orig, "x", &opts);
	opts = (struct ckpt_opts) { 0 };
	load(&l, "inc/child", &opts);
	po = orig.ck ? ckpt_proc_find(orig.ck, 1) : NULL;
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	CHECK(po && po->mem && p && p->mem && l.ck->n_levels == 2 && mem_missing_count(p->mem) == 0 &&
	      same_bytes(po->mem, p->mem) && mem_dumped_bytes(p->mem) > 0,
	      "mkincremental: through the `parent` link every dumped byte reads the same");
	po = orig.ck ? ckpt_proc_find(orig.ck, 6) : NULL;
	p = l.ck ? ckpt_proc_find(l.ck, 6) : NULL;
	CHECK(po && po->mem && p && p->mem && same_bytes(po->mem, p->mem), "mkincremental: pid 6 untouched");
	unload(&l);

	/* Without the parent, exactly the moved ranges are missing. */
	load(&l, "inc/child", NULL);
	p = l.ck ? ckpt_proc_find(l.ck, 1) : NULL;
	snprintf(path, sizeof(path), "%s/inc/moved.txt", root);
	n_want = read_moved(path, want, ARRAY_SIZE(want));
	ok = p && p->mem && n_want > 0 && mem_missing_count(p->mem) == n_want;
	for (size_t i = 0; ok && i < n_want; i++)
		ok = mem_missing_at(p->mem, i)->vaddr == want[i].vaddr && mem_missing_at(p->mem, i)->len == want[i].len &&
		     !mem_is_dumped(p->mem, want[i].vaddr, 1);
	po = orig.ck ? ckpt_proc_find(orig.ck, 1) : NULL;
	CHECK(ok && po && mem_dumped_bytes(p->mem) < mem_dumped_bytes(po->mem),
	      "mkincremental: without the parent the %zu moved ranges are holes listed as missing", n_want);
	unload(&l);
	unload(&orig);
	rm_tree(root);
}

int main(void)
{
	test_shared();
	test_chain();
	test_page_size();
	test_mkincremental(getenv("CKPTFS_DATA"));
	return tap_done();
}
