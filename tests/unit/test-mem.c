/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint model and process memory. Synthetic address spaces built on
 * a temporary pages file, then every fixture under $CKPTFS_DATA: the process
 * tree against golden/<fixture>/proc.json, and every dumped range of
 * golden/<fixture>/memhash.json read back through mem_read() and hashed,
 * plus a SEEK_DATA/SEEK_HOLE walk over the same ranges. TAP output. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "mem.h"
#include "sha256.h"
#include "tap.h"

#define PAGE 4096u

/* ---- synthetic spaces over a temporary images directory ---- */

struct tmp_arc {
	char dir[64];
	struct arc *arc;
	const struct arc_entry *pages;
};

/* A directory holding pages-1.img with @npages pages; page i is filled with byte 'A' + i. */
static int tmp_arc_open(struct tmp_arc *t, unsigned npages)
{
	char path[128];
	uint8_t page[PAGE];
	int fd;

	snprintf(t->dir, sizeof(t->dir), "/tmp/ckptfs-test-mem.XXXXXX");
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/pages-1.img", t->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	for (unsigned i = 0; i < npages; i++) {
		memset(page, 'A' + i, sizeof(page));
		if (write(fd, page, sizeof(page)) != (ssize_t) sizeof(page)) {
			close(fd);
			return -EIO;
		}
	}
	close(fd);
	if (arc_open(t->dir, NULL, &t->arc, NULL) < 0)
		return -EIO;
	t->pages = arc_find(t->arc, "pages-1.img");
	return t->pages ? 0 : -ENOENT;
}

static void tmp_arc_close(struct tmp_arc *t)
{
	char path[128];

	arc_free(t->arc);
	snprintf(path, sizeof(path), "%s/pages-1.img", t->dir);
	unlink(path);
	rmdir(t->dir);
}

static int space(const struct tmp_arc *t, const struct img_pagemap_entry *e, size_t n,
		 const struct img_mm *mm, struct mem_space **ret)
{
	struct img_pagemap pm = { .pages_id = 1, .entries = (struct img_pagemap_entry *) e, .n_entries = n };

	return mem_space_new(t->arc, t->pages, &pm, mm, PAGE, ret);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_synthetic(void)
{
	/* File order is not address order; offsets count PRESENT entries only. */
	const struct img_pagemap_entry e[] = {
		{ 0x10000, 2, IMG_PE_PRESENT | IMG_PE_LAZY },	/* pages 0-1: A B */
		{ 0x4000, 1, IMG_PE_PARENT },			/* hole, no pages */
		{ 0x12000, 1, IMG_PE_PRESENT },			/* page 2: C, merges with the first */
		{ 0x3000, 1, IMG_PE_PRESENT },			/* page 3: D */
		{ 0x2000, 1, IMG_PE_PRESENT },			/* page 4: E, touches D but not merged */
		{ 0x20000, 1, IMG_PE_LAZY },			/* lazy without data: hole */
	};
	struct img_vma vmas[] = {
		{ .start = 0x1000, .end = 0x30000, .status = IMG_VMA_AREA_REGULAR },
		{ .start = 0xffffffffff600000ull, .end = 0xffffffffff601000ull, .status = IMG_VMA_AREA_VSYSCALL },
	};
	struct img_mm mm = { .vmas = vmas, .n_vmas = 2 };
	struct img_pagemap_entry bad[2];
	struct mem_space *m = NULL;
	struct tmp_arc t = { 0 };
	uint8_t buf[6 * PAGE];
	int rc;

	rc = tmp_arc_open(&t, 5);
	CHECK(rc == 0, "synthetic: temporary images directory");
	if (rc < 0)
		return;
	rc = space(&t, e, ARRAY_SIZE(e), &mm, &m);
	CHECK(rc == 0, "synthetic: space builds from unsorted entries");
	if (rc == 0) {
		const struct mem_run *r0 = mem_run_at(m, 0), *r2 = mem_run_at(m, 2);

		CHECK(mem_size(m) == 0x30000, "synthetic: size = end of highest regular VMA (vsyscall excluded)");
		CHECK(mem_run_count(m) == 3 && r0->vaddr == 0x2000 && r0->pages_off == 4 * PAGE &&
		      r2->vaddr == 0x10000 && r2->len == 3 * PAGE && r2->pages_off == 0,
		      "synthetic: runs sorted, merged only when pages are contiguous");
		CHECK(mem_dumped_bytes(m) == 5 * PAGE, "synthetic: dumped bytes");
		CHECK(mem_read(m, 0x1000, buf, 4 * PAGE) == 4 * PAGE && all_bytes(buf, PAGE, 0) &&
		      all_bytes(buf + PAGE, PAGE, 'E') && all_bytes(buf + 2 * PAGE, PAGE, 'D') &&
		      all_bytes(buf + 3 * PAGE, PAGE, 0), "synthetic: read across hole, runs, PE_PARENT hole");
		CHECK(mem_read(m, 0x11ff0, buf, 0x20) == 0x20 && all_bytes(buf, 0x10, 'B') &&
		      all_bytes(buf + 0x10, 0x10, 'C'), "synthetic: read inside a merged run");
		CHECK(mem_read(m, 0x2fff0, buf, 0x100) == 0x10 && all_bytes(buf, 0x10, 0),
		      "synthetic: read clipped at mem_size");
		CHECK(mem_read(m, 0x30000, buf, 1) == 0 && mem_read(m, UINT64_MAX, buf, 1) == 0,
		      "synthetic: read at or past the end is 0");
		CHECK(mem_is_dumped(m, 0x2000, 2 * PAGE) && mem_is_dumped(m, 0x10800, 2 * PAGE) &&
		      !mem_is_dumped(m, 0x1fff, 2) && !mem_is_dumped(m, 0x4000, 1) &&
		      !mem_is_dumped(m, 0x20000, 1), "synthetic: mem_is_dumped");
		CHECK(mem_seek_data(m, 0) == 0x2000 && mem_seek_hole(m, 0x2000) == 0x4000 &&
		      mem_seek_data(m, 0x2500) == 0x2500 && mem_seek_data(m, 0x4000) == 0x10000 &&
		      mem_seek_hole(m, 0x10000) == 0x13000 && mem_seek_hole(m, 0x5000) == 0x5000,
		      "synthetic: SEEK_DATA/SEEK_HOLE treat touching runs as one extent");
		CHECK(mem_seek_data(m, 0x13000) == -ENXIO && mem_seek_hole(m, 0x13000) == 0x13000 &&
		      mem_seek_hole(m, 0x30000) == -ENXIO && mem_seek_data(m, 0x30000) == -ENXIO,
		      "synthetic: ENXIO past the data / the end");
	}
	mem_space_free(m);
	m = NULL;

	bad[0] = (struct img_pagemap_entry) { 0x1000, 2, IMG_PE_PRESENT };
	bad[1] = (struct img_pagemap_entry) { 0x2000, 1, IMG_PE_PRESENT };
	CHECK(space(&t, bad, 2, &mm, &m) == -EBADMSG && !m, "synthetic: overlapping entries -> EBADMSG");
	bad[0] = (struct img_pagemap_entry) { 0x1000, 6, IMG_PE_PRESENT };
	CHECK(space(&t, bad, 1, &mm, &m) == -EBADMSG, "synthetic: entry past the pages file -> EBADMSG");
	bad[0] = (struct img_pagemap_entry) { 0x1000, 3, IMG_PE_PRESENT };
	bad[1] = (struct img_pagemap_entry) { 0x8000, 3, IMG_PE_PRESENT };
	CHECK(space(&t, bad, 2, &mm, &m) == -EBADMSG, "synthetic: offsets summing past the pages file -> EBADMSG");
	bad[0] = (struct img_pagemap_entry) { UINT64_MAX - PAGE + 1, 2, IMG_PE_PRESENT };
	CHECK(space(&t, bad, 1, &mm, &m) == -EBADMSG, "synthetic: vaddr overflow -> EBADMSG");
	bad[0] = (struct img_pagemap_entry) { 0, UINT64_MAX / 2, IMG_PE_PRESENT };
	CHECK(space(&t, bad, 1, &mm, &m) == -EBADMSG, "synthetic: nr_pages overflow -> EBADMSG");
	{
		struct img_pagemap pm = { .pages_id = 9, .entries = bad, .n_entries = 1 };

		bad[0] = (struct img_pagemap_entry) { 0x1000, 1, IMG_PE_PRESENT };
		CHECK(mem_space_new(t.arc, NULL, &pm, &mm, PAGE, &m) == -EBADMSG,
		      "synthetic: PRESENT entry without a pages file -> EBADMSG");
		bad[0].flags = IMG_PE_PARENT;
		rc = mem_space_new(t.arc, NULL, &pm, NULL, PAGE, &m);
		CHECK(rc == 0 && mem_run_count(m) == 0 && mem_size(m) == 0 && mem_seek_data(m, 0) == -ENXIO,
		      "synthetic: no pages file, no PRESENT entries, no mm: empty space");
		mem_space_free(m);
	}
	tmp_arc_close(&t);
}

/* ---- fixtures ---- */

static json_object *load_json(const char *path)
{
	json_object *j = json_object_from_file(path);

	return j;
}

static int unhex(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 16);
	return errno || *end ? -EINVAL : 0;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 @s into a malloc'ed buffer. */
static uint8_t *b64_decode(const char *s, size_t *ret_len)
{
	size_t n = strlen(s), o = 0;
	uint8_t *out = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; out && i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0)
			continue;
		acc = acc << 6 | (uint32_t) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t) (acc >> bits);
		}
	}
	*ret_len = o;
	return out;
}

static bool mem_equals(const struct mem_space *m, uint64_t start, uint64_t end, const char *b64)
{
	size_t want_len;
	uint8_t *want = b64_decode(b64, &want_len);
	uint8_t *got;
	bool ok;

	if (!want)
		return false;
	if (end < start || end - start != want_len) {
		free(want);
		return false;
	}
	got = malloc(want_len + 1);
	ok = got && mem_read(m, start, got, want_len) == (ssize_t) want_len &&
	     memcmp(got, want, want_len) == 0;
	free(got);
	free(want);
	return ok;
}

static void check_proc(const char *fx, const struct ckpt *ck, const char *pidstr, json_object *jp)
{
	const struct ckpt_proc *p = ckpt_proc_find(ck, (uint32_t) atoi(pidstr));
	const struct img_core *lc;
	json_object *jt, *jv;
	const char *comm;
	bool ok;

	CHECK(p != NULL, "%s: pid %s present", fx, pidstr);
	if (!p)
		return;
	ok = json_object_object_get_ex(jp, "threads", &jt) && (size_t) json_object_array_length(jt) == p->n_threads;
	for (size_t i = 0; ok && i < p->n_threads; i++)
		ok = p->threads[i].tid == (uint32_t) json_object_get_int(json_object_array_get_idx(jt, i)) &&
		     p->threads[i].core && p->threads[i].core_err == 0;
	CHECK(ok && json_object_object_get_ex(jp, "ppid", &jv) && p->ppid == (uint32_t) json_object_get_int(jv) &&
	      json_object_object_get_ex(jp, "pgid", &jv) && p->pgid == (uint32_t) json_object_get_int(jv) &&
	      json_object_object_get_ex(jp, "sid", &jv) && p->sid == (uint32_t) json_object_get_int(jv),
	      "%s: pid %s ppid/pgid/sid/threads and their cores", fx, pidstr);

	lc = ckpt_leader_core(p);
	comm = lc ? (lc->comm ? lc->comm : lc->tc_comm) : NULL;
	CHECK(lc && comm && json_object_object_get_ex(jp, "comm", &jv) &&
	      strcmp(comm, json_object_get_string(jv)) == 0 &&
	      json_object_object_get_ex(jp, "task_state", &jv) &&
	      lc->task_state == (uint32_t) json_object_get_int(jv), "%s: pid %s comm '%s' and task_state",
	      fx, pidstr, comm ? comm : "?");

	ok = p->mm && json_object_object_get_ex(jp, "vmas", &jv) &&
	     (size_t) json_object_array_length(jv) == p->mm->n_vmas;
	for (size_t i = 0; ok && i < p->mm->n_vmas; i++) {
		json_object *r = json_object_array_get_idx(jv, i);
		uint64_t s, e;

		ok = unhex(json_object_get_string(json_object_array_get_idx(r, 0)), &s) == 0 &&
		     unhex(json_object_get_string(json_object_array_get_idx(r, 1)), &e) == 0 &&
		     s == p->mm->vmas[i].start && e == p->mm->vmas[i].end;
	}
	CHECK(ok, "%s: pid %s VMA ranges", fx, pidstr);
	CHECK(p->has_ids && p->has_fs && p->fds && p->n_fds > 0 && p->fds_err == 0 && p->mem && p->mem_err == 0,
	      "%s: pid %s ids, fs, fdinfo, memory loaded", fx, pidstr);
	ok = true;
	for (size_t i = 1; i < p->n_fds; i++)
		ok = ok && p->fds[i - 1].fd < p->fds[i].fd;
	for (size_t i = 0; i < p->n_fds; i++)
		ok = ok && ckpt_file_find(ck, p->fds[i].id) != NULL;
	CHECK(ok, "%s: pid %s fds sorted and each found in files.img", fx, pidstr);

	if (p->mm && p->mem) {
		json_object *jc, *je;

		CHECK(json_object_object_get_ex(jp, "cmdline", &jc) &&
		      mem_equals(p->mem, p->mm->mm_arg_start, p->mm->mm_arg_end, json_object_get_string(jc)),
		      "%s: pid %s argv bytes from memory", fx, pidstr);
		CHECK(json_object_object_get_ex(jp, "environ", &je) &&
		      mem_equals(p->mem, p->mm->mm_env_start, p->mm->mm_env_end, json_object_get_string(je)),
		      "%s: pid %s environment bytes from memory", fx, pidstr);
	}
}

struct extent {
	uint64_t start, end;
};

static void check_memhash(const char *fx, const struct ckpt_proc *p, const char *pidstr, json_object *ranges)
{
	size_t n = json_object_array_length(ranges), n_ext = 0, bad = 0, walk_n = 0;
	struct extent *ext = calloc(n ? n : 1, sizeof(*ext));
	uint64_t total = 0;
	bool walk_ok = true;
	int64_t off = 0;
	uint8_t *buf;

	if (!p || !p->mem || !ext) {
		CHECK(false, "%s: pid %s has memory", fx, pidstr);
		free(ext);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(ranges, i);
		uint64_t vaddr, len = (uint64_t) json_object_get_int64(json_object_array_get_idx(r, 1)) * PAGE;
		const char *want = json_object_get_string(json_object_array_get_idx(r, 2));
		char got[65];

		if (unhex(json_object_get_string(json_object_array_get_idx(r, 0)), &vaddr) < 0) {
			bad++;
			continue;
		}
		buf = malloc(len);
		if (!buf || mem_read(p->mem, vaddr, buf, len) != (ssize_t) len) {
			bad++;
		} else {
			ck_sha256_hex(buf, len, got);
			if (strcmp(got, want) != 0 || !mem_is_dumped(p->mem, vaddr, len))
				bad++;
		}
		free(buf);
		total += len;
		if (n_ext && ext[n_ext - 1].end == vaddr)
			ext[n_ext - 1].end += len;
		else
			ext[n_ext++] = (struct extent) { vaddr, vaddr + len };
	}
	CHECK(bad == 0, "%s: pid %s: %zu memhash ranges read back with matching sha256", fx, pidstr, n);
	CHECK(mem_dumped_bytes(p->mem) == total, "%s: pid %s dumped bytes = %llu", fx, pidstr,
	      (unsigned long long) total);

	/* memhash lists entries in address order: merge the touching ones. */
	while ((off = mem_seek_data(p->mem, (uint64_t) off)) >= 0) {
		int64_t hole = mem_seek_hole(p->mem, (uint64_t) off);

		if (walk_n >= n_ext || hole < 0 || (uint64_t) off != ext[walk_n].start ||
		    (uint64_t) hole != ext[walk_n].end) {
			walk_ok = false;
			break;
		}
		walk_n++;
		off = hole;
	}
	CHECK(walk_ok && walk_n == n_ext && off == -ENXIO, "%s: pid %s SEEK_DATA/SEEK_HOLE walk visits %zu extents",
	      fx, pidstr, n_ext);
	free(ext);
}

/* wl-* fixtures hold one memfd with "MEMFD-MARKER-<tag>\n": its content,
 * read as a stream of memfd.img's size, is the marker then zeros. Page
 * sizes are inferred as 4096 and nothing is missing (no parents). */
static void check_memory_extras(const char *fx, const struct ckpt *ck)
{
	size_t n_memfd = 0, missing = 0;
	bool ps_ok = ck->page_size == PAGE;

	for (size_t i = 0; i < ck->n_procs; i++) {
		const struct ckpt_proc *p = &ck->procs[i];

		ps_ok = ps_ok && p->page_size == PAGE && (!p->mem || mem_page_size(p->mem) == PAGE);
		missing += p->mem ? mem_missing_count(p->mem) : 0;
	}
	CHECK(ps_ok && missing == 0 && ck->n_levels == 1, "%s: page size 4096 inferred, no parent, nothing missing",
	      fx);
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i];
		const struct img_memfd *md = ckpt_memfd_find(ck, f->memfd_inode_id);
		const struct mem_space *m = NULL;
		char want[64];
		uint8_t *buf;
		size_t wlen;
		bool ok;

		if (f->type != IMG_FD_MEMFD)
			continue;
		n_memfd++;
		snprintf(want, sizeof(want), "MEMFD-MARKER-%s\n", fx + 3);
		wlen = strlen(want);
		ok = md && ckpt_memfd_content(ck, f->id, &m) == 0 && mem_size(m) == md->size && md->size >= wlen;
		buf = ok ? malloc(md->size + 1) : NULL;
		ok = buf && mem_read(m, 0, buf, md->size + 1) == (ssize_t) md->size && !memcmp(buf, want, wlen) &&
		     all_bytes(buf + wlen, md->size - wlen, 0);
		CHECK(ok, "%s: memfd file %u reads 'MEMFD-MARKER-%s\\n' then zeros to its size %llu", fx, f->id,
		      fx + 3, md ? (unsigned long long) md->size : 0ull);
		free(buf);
	}
	if (!strncmp(fx, "wl-", 3))
		CHECK(n_memfd == 1 && ck->n_shms >= 1, "%s: one memfd, its object loaded", fx);
}

static void test_fixture(const char *data, const char *fx, const char *file)
{
	char path[512];
	struct arc *a = NULL;
	struct ckpt *ck = NULL;
	char *err = NULL;
	json_object *proc, *memhash;
	int rc;

	snprintf(path, sizeof(path), "%s/fixtures/%s", data, file);
	rc = arc_open(path, NULL, &a, &err);
	CHECK(rc == 0, "%s: arc_open (%s)", fx, err ? err : "ok");
	free(err);
	err = NULL;
	if (rc < 0)
		return;
	rc = ckpt_load(a, NULL, &ck, &err);
	CHECK(rc == 0, "%s: ckpt_load (%s)", fx, err ? err : "ok");
	free(err);
	if (rc < 0) {
		arc_free(a);
		return;
	}
	CHECK(strcmp(ck->img_dir, "checkpoint") == 0 && ck->inv.img_version == 2 && ck->files_err == 0 &&
	      ck->n_files > 0, "%s: images in checkpoint/, inventory v2, files.img", fx);
	for (size_t i = 1; i < ck->n_procs; i++)
		if (ck->procs[i - 1].pid >= ck->procs[i].pid)
			rc = -1;
	CHECK(rc == 0, "%s: procs sorted by pid", fx);

	snprintf(path, sizeof(path), "%s/golden/%s/proc.json", data, fx);
	proc = load_json(path);
	snprintf(path, sizeof(path), "%s/golden/%s/memhash.json", data, fx);
	memhash = load_json(path);
	CHECK(proc && memhash, "%s: golden proc.json and memhash.json", fx);
	if (proc && memhash) {
		CHECK((size_t) json_object_object_length(proc) == ck->n_procs, "%s: %zu processes", fx, ck->n_procs);
		json_object_object_foreach(proc, pid, jp)
			check_proc(fx, ck, pid, jp);
		json_object_object_foreach(memhash, mpid, ranges)
			check_memhash(fx, ckpt_proc_find(ck, (uint32_t) atoi(mpid)), mpid, ranges);
	}
	check_memory_extras(fx, ck);
	json_object_put(proc);
	json_object_put(memhash);
	ckpt_free(ck);
	arc_free(a);
}

int main(void)
{
	static const char *const fixtures[][2] = {
		{ "busybox-loop", "busybox-loop.tar.gz" },
		{ "wl-alpha", "wl-alpha.tar.zst" },
		{ "wl-beta", "wl-beta.tar.gz" },
		{ "wl-gamma", "wl-gamma.tar" },
	};
	const char *data = getenv("CKPTFS_DATA");

	test_synthetic();
	if (!data) {
		printf("# CKPTFS_DATA unset: fixture tests skipped\n");
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
			test_fixture(data, fixtures[i][0], fixtures[i][1]);
	}
	return tap_done();
}
