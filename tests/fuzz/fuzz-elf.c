/* SPDX-License-Identifier: Apache-2.0 */
/* The ELF core writer over a fuzzed checkpoint (input as for fuzz-ckpt, see
 * fuzz-tar.h): elf_core_new() for every process, then the header and notes,
 * the start and end of every PT_LOAD, and SEEK_DATA/SEEK_HOLE, with the
 * segment table checked against the file size. */
#include <errno.h>

#include "elf.h"
#include "fuzz-tar.h"

static uint8_t fuzz_buf[65536];

static void fuzz_core(const struct ckpt *ck, const struct ckpt_proc *p)
{
	struct elf_core *c = NULL;
	uint64_t size;
	ssize_t got;

	if (elf_core_new(ck, p, &c) < 0)
		return;
	size = elf_core_size(c);
	got = elf_core_read(c, fuzz_buf, sizeof(fuzz_buf), 0);
	if (got > (ssize_t) sizeof(fuzz_buf) || (got >= 0 && (uint64_t) got > size))
		fuzz_fail("elf_core_read overran: %zd of %llu", got, (unsigned long long) size);
	for (size_t i = 0; i < elf_core_seg_count(c); i++) {
		const struct elf_core_seg *s = elf_core_seg_at(c, i);

		if (s->filesz && s->filesz != s->memsz)
			fuzz_fail("segment %zu: filesz %llu, memsz %llu", i, (unsigned long long) s->filesz,
				  (unsigned long long) s->memsz);
		if (s->offset + s->filesz < s->offset || s->offset + s->filesz > size)
			fuzz_fail("segment %zu past the end of the core", i);
		if (i < 64 && s->filesz) {
			(void) elf_core_read(c, fuzz_buf, 4096, s->offset);
			(void) elf_core_read(c, fuzz_buf, 4096, s->offset + s->filesz - 1);
		}
	}
	if (size > 1)
		(void) elf_core_read(c, fuzz_buf, 4096, size - 1);
	if (elf_core_read(c, fuzz_buf, 4096, size) != 0)
		fuzz_fail("elf_core_read at the end is not 0");
	(void) elf_core_read(c, fuzz_buf, 16, UINT64_MAX - 8);
	for (uint64_t off = 0; off < size && off < (1ull << 40); off = off * 2 + 4096) {
		int64_t d = elf_core_seek_data(c, off), h = elf_core_seek_hole(c, off);

		if ((d >= 0 && (uint64_t) d < off) || (h >= 0 && ((uint64_t) h < off || (uint64_t) h > size)))
			fuzz_fail("seek at %llu: data %lld hole %lld", (unsigned long long) off, (long long) d,
				  (long long) h);
	}
	elf_core_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt *ck = NULL;
	char *err = NULL;
	int fd = -1;
	struct arc *a = fuzz_tar_open(data, size, &fd);

	if (!a)
		return 0;
	if (ckpt_load(a, NULL, &ck, &err) == 0) {
		for (size_t i = 0; i < ck->n_procs; i++)
			fuzz_core(ck, &ck->procs[i]);
		ckpt_free(ck);
	}
	free(err);
	arc_free(a);
	close(fd);
	return 0;
}
