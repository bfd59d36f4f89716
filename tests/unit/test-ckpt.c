/* SPDX-License-Identifier: Apache-2.0 */
/* ckpt_load() on image directories built here with *__pack(): the joins
 * (fdinfo by files_id or pid, pages by pages_id), zombies, per-process damage
 * that is not fatal, the choice of the images directory, and the fatal
 * errors with their messages. TAP output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "files.pb-c.h"
#include "../internal.h"
#include "imgbuild.h"
#include "tap.h"
#include "task.pb-c.h"

static char root[128];

/* Write @rel, relative to the test's root directory. */
static void write_file(const char *rel, const void *data, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	file_put(path, data, len);
}

/* Write image @rel: head words for @magic, then the NULL-terminated messages. */
static void write_image(const char *rel, uint32_t magic, ...)
{
	const ProtobufCMessage *m;
	struct ck_buf b;
	va_list ap;

	img_start(&b, magic);
	va_start(ap, magic);
	while ((m = va_arg(ap, const ProtobufCMessage *)))
		img_add(&b, m);
	va_end(ap);
	write_file(rel, b.data, b.len);
	ck_buf_done(&b);
}

static void new_root(void)
{
	int rc = tmpdir_new(root, sizeof(root), "test-ckpt");

	if (rc < 0) {
		fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(-rc));
		exit(2);
	}
}

static int load(struct arc **ret_a, struct ckpt **ret_ck, char **ret_err)
{
	int rc;

	*ret_ck = NULL;
	*ret_err = NULL;
	rc = arc_open(root, NULL, ret_a, NULL);
	if (rc < 0)
		return rc;
	return ckpt_load(*ret_a, NULL, ret_ck, ret_err);
}

static FownEntry fown = FOWN_ENTRY__INIT;

static void inventory(const char *rel, bool per_id)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;

	inv.img_version = 2;
	inv.has_fdinfo_per_id = per_id;
	inv.fdinfo_per_id = per_id;
	write_image(rel, IMG_MAGIC_INVENTORY, &inv, NULL);
}

/* A bare images directory: pid 1 (threads 1, 2), pid 3 with a missing mm and
 * a bad fs image, pid 5 a zombie. */
static void build_tree(const char *dir, bool per_id)
{
	PstreeEntry p1 = PSTREE_ENTRY__INIT, p3 = PSTREE_ENTRY__INIT, p5 = PSTREE_ENTRY__INIT;
	uint32_t th1[] = { 1, 2 }, th3[] = { 3 }, th5[] = { 5 };
	CoreEntry c = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry thc = THREAD_CORE_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	MmEntry mm = MM_ENTRY__INIT;
	VmaEntry v = VMA_ENTRY__INIT, *vp[1] = { &v };
	FsEntry fs = FS_ENTRY__INIT;
	PagemapHead ph = PAGEMAP_HEAD__INIT;
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;
	FdinfoEntry f0 = FDINFO_ENTRY__INIT, f1 = FDINFO_ENTRY__INIT, f3 = FDINFO_ENTRY__INIT;
	FileEntry fe[3];
	RegFileEntry reg[3];
	char path[128], page[4096];

	snprintf(path, sizeof(path), "%s%sinventory.img", dir, *dir ? "/" : "");
	inventory(path, per_id);

	p1.pid = 1;
	p1.n_threads = 2;
	p1.threads = th1;
	p3.pid = 3;
	p3.ppid = 1;
	p3.n_threads = 1;
	p3.threads = th3;
	p5.pid = 5;
	p5.ppid = 1;
	p5.n_threads = 1;
	p5.threads = th5;
	snprintf(path, sizeof(path), "%s%spstree.img", dir, *dir ? "/" : "");
	/* file order is not pid order */
	write_image(path, IMG_MAGIC_PSTREE, &p5, &p1, &p3, NULL);

	c.mtype = CORE_ENTRY__MARCH__X86_64;
	tc.comm = "leader";
	tc.task_state = 1;
	c.tc = &tc;
	thc.comm = "main";
	c.thread_core = &thc;
	snprintf(path, sizeof(path), "%s%score-1.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_CORE, &c, NULL);
	snprintf(path, sizeof(path), "%s%score-3.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_CORE, &c, NULL);
	c.tc = NULL;
	thc.comm = "worker";
	snprintf(path, sizeof(path), "%s%score-2.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_CORE, &c, NULL);
	c.tc = &tc;
	c.thread_core = NULL;
	tc.task_state = 2;
	tc.comm = "defunct";
	snprintf(path, sizeof(path), "%s%score-5.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_CORE, &c, NULL);

	ids.files_id = 7;
	snprintf(path, sizeof(path), "%s%sids-1.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_IDS, &ids, NULL);

	v.start = 0x400000;
	v.end = 0x402000;
	v.status = IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE;
	mm.n_vmas = 1;
	mm.vmas = vp;
	mm.mm_arg_start = 0x401000;
	mm.mm_arg_end = 0x401004;
	snprintf(path, sizeof(path), "%s%smm-1.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_MM, &mm, NULL);

	fs.cwd_id = 9;
	fs.root_id = 9;
	snprintf(path, sizeof(path), "%s%sfs-1.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_FS, &fs, NULL);
	snprintf(path, sizeof(path), "%s%sfs-3.img", dir, *dir ? "/" : "");
	write_file(path, "\x19\x43\x56\x54\x12\x39\x40\x51\xff\xff\xff\xff", 12);

	ph.pages_id = 4;
	pe.vaddr = 0x401000;
	pe.has_nr_pages = 1;
	pe.nr_pages = 1;
	pe.has_flags = 1;
	pe.flags = IMG_PE_PRESENT;
	snprintf(path, sizeof(path), "%s%spagemap-1.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_PAGEMAP, &ph, &pe, NULL);
	memset(page, 0, sizeof(page));
	memcpy(page, "argv", 4);
	snprintf(path, sizeof(path), "%s%spages-4.img", dir, *dir ? "/" : "");
	write_file(path, page, sizeof(page));

	f0.fd = 3;
	f0.id = 9;
	f0.type = FD_TYPES__REG;
	f1.fd = 0;
	f1.id = 3;
	f1.type = FD_TYPES__REG;
	f3.fd = 1;
	f3.id = 5;
	f3.type = FD_TYPES__REG;
	snprintf(path, sizeof(path), "%s%sfdinfo-%d.img", dir, *dir ? "/" : "", per_id ? 7 : 1);
	write_image(path, IMG_MAGIC_FDINFO, &f0, &f1, &f3, NULL);

	for (int i = 0; i < 3; i++) {
		static const uint32_t id[] = { 9, 3, 5 };
		static const char *const name[] = { "/", "/dev/null", "/tmp/log" };

		file_entry__init(&fe[i]);
		reg_file_entry__init(&reg[i]);
		reg[i].id = id[i];
		reg[i].fown = &fown;
		reg[i].name = (char *) name[i];
		fe[i].type = FD_TYPES__REG;
		fe[i].id = id[i];
		fe[i].reg = &reg[i];
	}
	snprintf(path, sizeof(path), "%s%sfiles.img", dir, *dir ? "/" : "");
	write_image(path, IMG_MAGIC_FILES, &fe[0], &fe[1], &fe[2], NULL);
}

static void check_tree(const char *what, const struct ckpt *ck, const char *dir)
{
	const struct ckpt_proc *p1 = ckpt_proc_find(ck, 1), *p3 = ckpt_proc_find(ck, 3), *p5 = ckpt_proc_find(ck, 5);
	const struct ckpt_thread *t2;
	const struct img_file *f;
	char *path = ckpt_image_path(ck, "core-1.img"), want[64], buf[8];

	snprintf(want, sizeof(want), "%s%score-1.img", dir, *dir ? "/" : "");
	CHECK(strcmp(ck->img_dir, dir) == 0 && path && strcmp(path, want) == 0,
	      "%s: images directory '%s', image path %s", what, dir, path);
	free(path);
	CHECK(ck->n_procs == 3 && ck->procs[0].pid == 1 && ck->procs[1].pid == 3 && ck->procs[2].pid == 5 &&
	      p1 && p3 && p5 && !ckpt_proc_find(ck, 2) && !ckpt_proc_find(ck, 9),
	      "%s: processes sorted, found by pid", what);
	if (!p1 || !p3 || !p5)
		return;
	t2 = ckpt_thread_find(p1, 2);
	CHECK(p1->n_threads == 2 && t2 && t2->core && !t2->core->has_tc && strcmp(t2->core->comm, "worker") == 0 &&
	      ckpt_leader_core(p1) == p1->threads[0].core && !ckpt_thread_find(p1, 3),
	      "%s: threads and leader core", what);
	CHECK(p1->mm && p1->mm_err == 0 && p1->has_fs && p1->fs.cwd_id == 9 && p1->has_ids &&
	      p1->ids.files_id == 7, "%s: pid 1 mm, fs, ids", what);
	CHECK(p1->fds_err == 0 && p1->n_fds == 3 && p1->fds[0].fd == 0 && p1->fds[1].fd == 1 &&
	      p1->fds[2].fd == 3 && p1->fds[2].id == 9, "%s: pid 1 fds sorted by fd", what);
	CHECK(p1->mem && p1->mem_err == 0 && mem_read(p1->mem, 0x401000, buf, 4) == 4 &&
	      memcmp(buf, "argv", 4) == 0 && mem_size(p1->mem) == 0x402000,
	      "%s: pid 1 memory through pages-<pages_id>", what);
	CHECK(!p3->mm && p3->mm_err == -ENOENT && !p3->has_fs && p3->fs_err == -EBADMSG &&
	      !p3->mem && p3->mem_err == -ENOENT && !p3->has_ids && p3->ids_err == -ENOENT,
	      "%s: pid 3 damage recorded, not fatal", what);
	CHECK(ckpt_leader_core(p5) && ckpt_leader_core(p5)->task_state == 2 && !p5->mm && p5->mm_err == 0 &&
	      !p5->mem && p5->mem_err == 0 && !p5->has_fs && p5->fs_err == 0 && p5->fds_err == 0,
	      "%s: zombie has its core only, and no errors", what);
	CHECK(!strcmp(ckpt_proc_name(p1), "main") && !strcmp(ckpt_thread_name(p1, t2), "worker") &&
	      !strcmp(ckpt_proc_name(p5), "defunct") && !strcmp(ckpt_proc_name(p3), "main"),
	      "%s: process and thread names: the thread's comm, else the task's", what);
	f = ckpt_file_find(ck, 5);
	CHECK(ck->n_files == 3 && ck->files[0].id == 3 && f && strcmp(f->name, "/tmp/log") == 0 &&
	      !ckpt_file_find(ck, 4) && !ckpt_file_find(ck, 10), "%s: files.img sorted, found by id", what);
	CHECK(ck->remaps_err == -ENOENT && ck->memfds_err == -ENOENT && ck->seccomp_err == -ENOENT &&
	      !ckpt_remap_find(ck, 1) && !ckpt_memfd_find(ck, 1), "%s: absent optional images", what);
}

static void test_bare(bool per_id)
{
	const char *what = per_id ? "bare dir, fdinfo by files_id" : "bare dir, fdinfo by pid";
	struct arc *a = NULL;
	struct ckpt *ck;
	char *err;
	int rc;

	new_root();
	build_tree("", per_id);
	rc = load(&a, &ck, &err);
	CHECK(rc == 0 && ck, "%s: loads (%s)", what, err ? err : "ok");
	if (ck)
		check_tree(what, ck, "");
	ckpt_free(ck);
	free(err);
	arc_free(a);
	tmpdir_remove(root);
}

static void test_prefer_checkpoint(void)
{
	char path[256];
	struct arc *a = NULL;
	struct ckpt *ck;
	char *err;
	int rc;

	new_root();
	snprintf(path, sizeof(path), "%s/checkpoint", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/a", root);
	mkdir(path, 0755);
	write_file("a/inventory.img", "junk", 4);
	build_tree("checkpoint", true);
	rc = load(&a, &ck, &err);
	CHECK(rc == 0 && ck, "checkpoint/ preferred over a/ (%s)", err ? err : "ok");
	if (ck)
		check_tree("checkpoint dir", ck, "checkpoint");
	ckpt_free(ck);
	free(err);
	arc_free(a);

	/* Fatal: a pid listed twice. */
	{
		PstreeEntry d = PSTREE_ENTRY__INIT;

		d.pid = 1;
		write_image("checkpoint/pstree.img", IMG_MAGIC_PSTREE, &d, &d, NULL);
		rc = load(&a, &ck, &err);
		CHECK(rc == -EBADMSG && !ck && err &&
		      strcmp(err, "checkpoint/pstree.img: malformed image (pid 1 listed twice)") == 0,
		      "duplicate pid: -EBADMSG, '%s'", err ? err : "");
		free(err);
		arc_free(a);
	}

	/* Fatal: pstree.img cut in the middle of a record. */
	snprintf(path, sizeof(path), "checkpoint/pstree.img");
	write_file(path, "\x19\x43\x56\x54\x30\x30\x27\x50\x10\x00\x00\x00\x08\x01", 14);
	rc = load(&a, &ck, &err);
	CHECK(rc == -EBADMSG && !ck && err && strcmp(err, "checkpoint/pstree.img: malformed image (truncated record)") == 0,
	      "truncated pstree: -EBADMSG, '%s'", err ? err : "");
	free(err);
	arc_free(a);

	/* Fatal: no entries in pstree. */
	write_file(path, "\x19\x43\x56\x54\x30\x30\x27\x50", 8);
	rc = load(&a, &ck, &err);
	CHECK(rc == -EBADMSG && err && strcmp(err, "checkpoint/pstree.img: malformed image (no entries)") == 0,
	      "empty pstree: -EBADMSG, '%s'", err ? err : "");
	free(err);
	arc_free(a);

	/* Fatal: pstree missing. */
	snprintf(path, sizeof(path), "%s/checkpoint/pstree.img", root);
	unlink(path);
	rc = load(&a, &ck, &err);
	CHECK(rc == -ARC_ENOTCKPT && err && strstr(err, "checkpoint/pstree.img"), "missing pstree: not a checkpoint, '%s'",
	      err ? err : "");
	free(err);
	arc_free(a);

	/* Fatal: inventory with a bad magic. */
	write_file("checkpoint/inventory.img", "\x16\x11\x31\x59\x00\x00\x00\x00", 8);
	rc = load(&a, &ck, &err);
	CHECK(rc == -EBADMSG && err && strcmp(err, "checkpoint/inventory.img: malformed image (bad magic)") == 0,
	      "bad inventory magic: -EBADMSG, '%s'", err ? err : "");
	free(err);
	arc_free(a);
	tmpdir_remove(root);
}

static void test_not_a_checkpoint(void)
{
	struct arc *a = NULL;
	struct ckpt *ck;
	char *err;
	int rc;

	new_root();
	write_file("hello.txt", "hi\n", 3);
	rc = load(&a, &ck, &err);
	CHECK(rc == -ARC_ENOTCKPT && !ck && err && strcmp(err, "no CRIU images (inventory.img) found") == 0,
	      "no inventory.img: not a checkpoint, '%s'", err ? err : "");
	free(err);
	arc_free(a);
	tmpdir_remove(root);
}

/* CRIU's task states (1 alive, 2 dead, 3 stopped, 6 zombie, and its helper
 * and thread states after compel's last one, 0x7f) have one name each. */
static void test_task_state_names(void)
{
	static const struct { uint32_t state; const char *name; } want[] = {
		{ 1, "Alive" }, { 2, "Dead" }, { 3, "Stopped" }, { 6, "Zombie" }, { 0x80, "Helper" },
		{ 0x81, "Thread" }, { 0, "Unknown" }, { 4, "Unknown" }, { 5, "Unknown" }, { 0x7f, "Unknown" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(!strcmp(ckpt_task_state_name(want[i].state), want[i].name), "task state %#x is %s",
		      want[i].state, want[i].name);
}

int main(void)
{
	test_bare(false);
	test_bare(true);
	test_prefer_checkpoint();
	test_not_a_checkpoint();
	test_task_state_names();
	return tap_done();
}
