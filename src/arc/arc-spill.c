/* SPDX-License-Identifier: Apache-2.0 */
/* The spill file (arc-priv.h): where members of compressed archives that
 * do not stay in memory are decoded to. One unlinked file per archive in
 * cache_dir, written sparse (blocks of zeros stay holes), its stored bytes
 * counted against the spill limit the archive and its nested tars share,
 * so that a decompression bomb fails before it fills the disk. */
#include "arc-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

int arc_spill_fd(struct arc *a, char **ret_error)
{
	const char *dir;
	int fd;

	if (a->spill_fd >= 0)
		return a->spill_fd;
	fd = ck_tmpfile(a->cache_dir, "ckptfs-spill", &dir);
	if (fd < 0)
		return ck_err(ret_error, fd, "cannot create a spill file in '%s': %s", dir, strerror(-fd));
	if (!a->budget->spill_limit) {
		struct arc_budget *b = a->budget;
		struct statvfs sv;

		b->spill_limit = b->spill_limit_opt;
		if (!b->spill_limit) {
			/* A bomb is a small archive that claims a lot: without
			 * -o spill_limit= the spill may be ARC_SPILL_RATIO times the
			 * archive (at least ARC_SPILL_FLOOR), and never more than 90%
			 * of the free space. */
			b->spill_limit = b->archive_size > ARC_SPILL_FLOOR / ARC_SPILL_RATIO
					 ? b->archive_size * ARC_SPILL_RATIO : ARC_SPILL_FLOOR;
			if (fstatvfs(fd, &sv) == 0)
				b->spill_limit = CK_MIN(b->spill_limit,
							(uint64_t) sv.f_bavail * sv.f_frsize / 10 * 9);
			if (!b->spill_limit)
				b->spill_limit = 1;
		}
	}
	ck_log(CK_LOG_DEBUG, "arc: spill file in '%s', at most %" PRIu64 " bytes in all", dir,
	       a->budget->spill_limit);
	a->spill_fd = fd;
	return fd;
}

int arc_spill_check(struct arc *a, const char *name, uint64_t size, char **ret_error)
{
	const struct arc_budget *b = a->budget;
	char safe[256];

	if (b->spill_used <= b->spill_limit && size <= b->spill_limit - b->spill_used)
		return 0;
	return ck_err(ret_error, -EFBIG,
		       "member '%s' needs more temporary space than the spill limit (%" PRIu64
		       " bytes%s; a decompression bomb, or choose -o spill_limit= and -o cache_dir=)",
		       arc_safe_name(name, safe, sizeof(safe)), b->spill_limit,
		       b->spill_limit_opt ? "" : ", the default");
}

int arc_spill_claim(struct arc *a, const char *name, uint64_t size, char **ret_error)
{
	const struct arc_budget *b = a->budget;
	char safe[256];

	if (size / ARC_SPILL_SPARSE <= b->spill_limit)
		return 0;
	return ck_err(ret_error, -EFBIG,
		       "member '%s' claims %" PRIu64 " bytes, more than %d times the spill limit (%" PRIu64
		       " bytes%s; a decompression bomb, or choose -o spill_limit= and -o cache_dir=)",
		       arc_safe_name(name, safe, sizeof(safe)), size, ARC_SPILL_SPARSE, b->spill_limit,
		       b->spill_limit_opt ? "" : ", the default");
}

/* Whether the @len bytes at @p are all zeros. */
static bool arc_zeros(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* The end of the blocks from @p on (the bytes of @off bytes into the spill
 * file, cut where its blocks start) that are all zeros (@zeros) or all not. */
static const uint8_t *arc_blocks(const uint8_t *p, const uint8_t *end, uint64_t off, bool zeros)
{
	while (p < end) {
		size_t n = CK_MIN((size_t) (end - p), ARC_SPILL_BLOCK - (size_t) (off % ARC_SPILL_BLOCK));

		if (arc_zeros(p, n) != zeros)
			break;
		p += n;
		off += n;
	}
	return p;
}

int arc_spill_write(struct arc *a, const char *name, const void *buf, size_t len, uint64_t off,
		    char **ret_error)
{
	const uint8_t *p = buf, *end = p + len, *q;
	int rc;

	for (; p < end; off += (uint64_t) (q - p), p = q) {
		q = arc_blocks(p, end, off, true);	/* a hole */
		if (q > p)
			continue;
		q = arc_blocks(p, end, off, false);
		rc = arc_spill_check(a, name, (uint64_t) (q - p), ret_error);
		if (rc < 0)
			return rc;
		rc = ck_pwrite_full(a->spill_fd, p, (size_t) (q - p), (off_t) off);
		if (rc < 0)
			return ck_err(ret_error, rc, "cannot write the spill file: %s", strerror(-rc));
		a->budget->spill_used += (uint64_t) (q - p);
	}
	return 0;
}

int arc_spill_extend(struct arc *a, uint64_t end, char **ret_error)
{
	struct stat st;
	int rc;

	if (fstat(a->spill_fd, &st) == 0 && (uint64_t) st.st_size >= end)
		return 0;
	if (ftruncate(a->spill_fd, (off_t) end) == 0)
		return 0;
	rc = -errno;
	return ck_err(ret_error, rc, "cannot extend the spill file: %s", strerror(-rc));
}
