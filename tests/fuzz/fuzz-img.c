/* SPDX-License-Identifier: Apache-2.0 */
/* Image framing, protobuf decoding and JSON rendering. Input: one selector
 * byte that picks the file name (fuzz_img_names[sel % N]), then the image
 * bytes. Runs img_magic_name(), img_explain(), img_render_json() pretty and
 * plain, and every typed img_read_*() decoder. */
#include <errno.h>

#include "fuzz.h"
#include "img.h"

/* BEGIN NAMES (scripts/fuzz matches fixture images by these stems) */
static const char *const fuzz_img_names[] = {
	"inventory.img", "pstree.img", "core-1.img", "mm-1.img", "fs-1.img", "ids-1.img",
	"fdinfo-2.img", "pagemap-1.img", "files.img", "remap-fpath.img", "memfd.img",
	"seccomp.img", "cgroup.img", "mountpoints-13.img", "netns-10.img", "utsns-12.img",
	"ipcns-var-11.img", "timens-0.img", "tcp-stream-1.img", "sk-queues.img",
	"pipes-data.img", "fifo-data.img", "ghost-file-1.img", "pagemap-shmem-1.img",
	"pages-1.img", "tmpfs-dev-1.tar.gz.img", "stats-dump", "irmap-cache.img",
	"signal-s-1.img", "tty-info.img", "creds-1.img", "unknown.img",
};
/* END NAMES */

static void fuzz_img_decoders(const struct ck_blob *b)
{
	struct img_inventory inv = { 0 };
	struct img_pstree_item *items = NULL;
	struct img_core *core = NULL;
	struct img_mm *mm = NULL;
	struct img_fs fs;
	struct img_ids ids;
	struct img_fdinfo *fds = NULL;
	struct img_pagemap pm = { 0 };
	struct img_file *files = NULL;
	struct img_remap *remaps = NULL;
	struct img_memfd *memfds = NULL;
	int64_t *prev = NULL;
	size_t n = 0;

	if (img_read_inventory(b, &inv) == 0)
		img_inventory_done(&inv);
	if (img_read_pstree(b, &items, &n) == 0)
		img_pstree_free(items, n);
	if (img_read_core(b, &core) == 0)
		img_core_free(core);
	if (img_read_mm(b, &mm) == 0) {
		for (size_t i = 0; i < mm->n_vmas; i++)
			(void) mm->vmas[i].end;
		img_mm_free(mm);
	}
	(void) img_read_fs(b, &fs);
	(void) img_read_ids(b, &ids);
	if (img_read_fdinfo(b, &fds, &n) == 0)
		free(fds);
	if (img_read_pagemap(b, &pm) == 0)
		img_pagemap_done(&pm);
	if (img_read_files(b, &files, &n) == 0)
		img_files_free(files, n);
	if (img_read_remaps(b, &remaps, &n) == 0)
		free(remaps);
	if (img_read_memfds(b, &memfds, &n) == 0)
		img_memfds_free(memfds, n);
	if (img_read_seccomp_chain(b, &prev, &n) == 0) {
		/* documented: following prev always ends */
		for (size_t i = 0; i < n; i++) {
			size_t steps = 0;

			for (int64_t k = (int64_t) i; k >= 0; k = prev[k])
				if (k >= (int64_t) n || ++steps > n)
					fuzz_fail("seccomp chain from %zu leaves the table or loops", i);
		}
		free(prev);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name;
	struct ck_blob b;

	if (size < 1)
		return 0;
	name = fuzz_img_names[data[0] % (sizeof(fuzz_img_names) / sizeof(fuzz_img_names[0]))];
	b = (struct ck_blob) { .data = data + 1, .len = size - 1 };

	(void) img_magic_name(name, &b);
	(void) img_explain(name, &b);
	for (int pretty = 0; pretty < 2; pretty++) {
		struct ck_buf out = { 0 };
		int rc = img_render_json(name, &b, pretty, &out);

		if (rc == 0 && (out.len == 0 || out.data[out.len - 1] != '\n'))
			fuzz_fail("img_render_json(%s) succeeded without a trailing newline", name);
		if (rc == 0 && strlen(out.data) != out.len)
			fuzz_fail("img_render_json(%s) output holds a NUL", name);
		ck_buf_done(&out);
	}
	fuzz_img_decoders(&b);
	return 0;
}
