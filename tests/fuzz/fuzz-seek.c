/* SPDX-License-Identifier: Apache-2.0 */
/* Random access into compressed files: the input is the compressed file
 * (xz, zstd frames or seekable zstd), handed to arc_seek_open() as a memfd.
 * When it opens, it is read through in order, then at a few offsets taken
 * from the input; a read never returns more than asked or than the size,
 * the end reads as 0, and the same range read twice gives the same bytes
 * (or fails both times). */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../internal.h"
#include "fuzz.h"

#define FUZZ_BUF (64 * 1024)

static void fuzz_reads(struct arc_seek *s, const uint8_t *data, size_t size)
{
	static uint8_t buf[FUZZ_BUF], again[FUZZ_BUF];
	uint64_t total = arc_seek_size(s), off = 0;
	ssize_t n, m;

	/* In order, up to 4 MiB: units are at most 1 MiB here. */
	while (off < total && off < (4u << 20)) {
		n = arc_seek_pread(s, buf, sizeof(buf), off);
		if (n == -EIO) {
			off += sizeof(buf);
			continue;
		}
		if (n <= 0 || (size_t) n > sizeof(buf) || off + (uint64_t) n > total)
			fuzz_fail("pread(%zu at %llu) = %zd of %llu", sizeof(buf),
				  (unsigned long long) off, n, (unsigned long long) total);
		off += (uint64_t) n;
	}
	if (arc_seek_pread(s, buf, sizeof(buf), total) != 0 ||
	    arc_seek_pread(s, buf, 1, UINT64_MAX - 5) != 0)
		fuzz_fail("a read at or past the end returned data");
	n = arc_seek_pread(s, buf, 10, total > 10 ? total - 10 : 0);
	if (n != -EIO && n != (ssize_t) CK_MIN(total, (uint64_t) 10))
		fuzz_fail("the last 10 bytes read as %zd", n);
	for (size_t i = 0; i + 4 <= size && i < 64; i += 16) {
		uint32_t r;

		memcpy(&r, data + size - 4 - i, 4);
		off = total ? r % total : 0;
		n = arc_seek_pread(s, buf, (r >> 20) + 1, off);
		m = arc_seek_pread(s, again, (r >> 20) + 1, off);
		if (n != m || (n > 0 && memcmp(buf, again, (size_t) n)))
			fuzz_fail("two reads of %u bytes at %llu differ", (r >> 20) + 1,
				  (unsigned long long) off);
		if (n > (ssize_t) ((r >> 20) + 1))
			fuzz_fail("pread returned more than asked");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arc_seek_opts opts = { .unit_max = 1u << 20, .cache_max = 2u << 20 };
	struct arc_seek *s = NULL;
	char *err = NULL;
	int fd, rc;

	fd = fuzz_memfd("fuzz-seek", data, size);
	rc = arc_seek_open(fd, size, &opts, &s, &err);
	if (rc < 0) {
		if (rc != -ENOTSUP && rc != -EBADMSG && rc != -ENOMEM)
			fuzz_fail("arc_seek_open: unexpected %d", rc);
		if (!err || strchr(err, '\n'))
			fuzz_fail("arc_seek_open: %d without a one-line message", rc);
		if (s)
			fuzz_fail("arc_seek_open failed but set the result");
		free(err);
		close(fd);
		return 0;
	}
	(void) arc_seek_kind(s);
	fuzz_reads(s, data, size);
	arc_seek_free(s);
	free(err);
	close(fd);
	return 0;
}
