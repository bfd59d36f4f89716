/* SPDX-License-Identifier: Apache-2.0 */
/* ckpt-core ARCHIVE PID OUTFILE: write the ELF core that /<pid>/core serves
 * to OUTFILE, sparse (holes where elf_core_seek_hole() reports them), so that
 * gdb, readelf and eu-readelf can be run on it without mounting. A test
 * helper, not installed. Exit status: 0, 1 usage or I/O, 2 no core. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "elf.h"

/* Copy the data extents of @c into @fd and set the size. */
static int write_core(const struct elf_core *c, int fd)
{
	static char buf[1 << 20];
	uint64_t size = elf_core_size(c);
	int64_t off = 0;

	while ((off = elf_core_seek_data(c, (uint64_t) off)) >= 0) {
		int64_t hole = elf_core_seek_hole(c, (uint64_t) off);

		if (hole < 0)
			return (int) hole;
		while (off < hole) {
			size_t n = (size_t) CK_MIN((uint64_t) (hole - off), sizeof(buf));
			ssize_t got = elf_core_read(c, buf, n, (uint64_t) off);

			if (got <= 0)
				return got < 0 ? (int) got : -EIO;
			if (pwrite(fd, buf, (size_t) got, off) != got)
				return -errno;
			off += got;
		}
	}
	if (off != -ENXIO)
		return (int) off;
	return ftruncate(fd, (off_t) size) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	_cleanup_(elf_core_freep) struct elf_core *c = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_close_ int fd = -1;
	const struct ckpt_proc *p;
	uint64_t pid;
	int rc;

	if (argc != 4 || ck_parse_u64(argv[2], &pid) < 0 || pid > UINT32_MAX)
		return fprintf(stderr, "usage: ckpt-core ARCHIVE PID OUTFILE\n"), 1;
	rc = arc_open(argv[1], NULL, &a, &err);
	if (rc < 0)
		return fprintf(stderr, "cannot open '%s': %s\n", argv[1], err ? err : strerror(-rc)), 1;
	rc = ckpt_load(a, NULL, &ck, &err);
	if (rc < 0)
		return fprintf(stderr, "cannot load '%s': %s\n", argv[1], err ? err : strerror(-rc)), 1;
	p = ckpt_proc_find(ck, (uint32_t) pid);
	if (!p)
		return fprintf(stderr, "no process %s\n", argv[2]), 2;
	rc = elf_core_new(ck, p, &c);
	if (rc < 0)
		return fprintf(stderr, "no core for %s: %s\n", argv[2], strerror(-rc)), 2;
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fprintf(stderr, "cannot create '%s': %s\n", argv[3], strerror(errno)), 1;
	rc = write_core(c, fd);
	if (rc < 0)
		return fprintf(stderr, "cannot write '%s': %s\n", argv[3], strerror(-rc)), 1;
	return 0;
}
