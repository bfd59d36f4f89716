/* SPDX-License-Identifier: Apache-2.0 */
/* A tar inside the archive (rootfs-diff.tar, devshm-checkpoint.tar,
 * tmpfs-dev-*.tar.gz.img) indexed as an archive of its own. The member is
 * mapped wherever it lives (the archive file, the spill file, memory or a
 * file of a directory input) and indexed by arc-tar.c like a whole archive.
 * Members of a plain inner tar then point into that same file: reads stay
 * preads on it, and nothing is copied. */
#include "arc-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Where the bytes of @it live: a file and offset, or memory. */
struct nested_src {
	int fd;			/* -1 for memory */
	bool own_fd;		/* opened here (directory input) */
	uint64_t off;
	const uint8_t *data;
};

static int nested_locate(const struct arc *outer, const struct arc_item *it, struct nested_src *ret)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *path;
	int fd;

	*ret = (struct nested_src) { .fd = -1 };
	switch (it->src) {
	case ARC_SRC_MEM:
		ret->data = it->data;
		return 0;
	case ARC_SRC_ARCHIVE:
		ret->fd = outer->fd;
		ret->off = it->off;
		return 0;
	case ARC_SRC_SPILL:
		ret->fd = outer->spill_fd;
		ret->off = it->off;
		return 0;
	case ARC_SRC_FILE:
		path = it->owner_path ? it->owner_path : it->e.path;
		fd = (int) syscall(SYS_openat2, outer->fd, path, &how, sizeof(how));
		if (fd < 0 && (errno == ENOSYS || errno == EPERM))
			fd = openat(outer->fd, path, (int) how.flags);
		if (fd < 0)
			return -errno;
		ret->fd = fd;
		ret->own_fd = true;
		return 0;
	case ARC_SRC_SEEK:	/* nested_copy() */
	case ARC_SRC_NONE:
		break;
	}
	return -EIO;
}

/* A member of a seekable compressed archive has no bytes on disk to map:
 * decode it once into @a's spill file (where the inner tar's own spilled
 * members follow it) and index it from there. */
static int nested_copy(const struct arc *outer, const struct arc_entry *e, struct arc *a,
		       struct nested_src *ret, char **ret_error)
{
	_cleanup_free_ uint8_t *buf = NULL;
	const size_t chunk = 1024 * 1024;
	uint64_t off;
	ssize_t n;
	int fd, rc;

	fd = arc_spill_fd(a, ret_error);
	if (fd < 0)
		return fd;
	rc = arc_spill_claim(a, e->path, e->size, ret_error);
	if (rc < 0)
		return rc;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	for (off = 0; off < e->size; off += (uint64_t) n) {
		n = arc_pread(outer, e, buf, chunk, off);
		if (n <= 0)
			return ck_err(ret_error, n < 0 ? (int) n : -EIO, "cannot read the member: %s",
				       strerror(n < 0 ? (int) -n : EIO));
		rc = arc_spill_write(a, e->path, buf, (size_t) n, off, ret_error);
		if (rc < 0)
			return rc;
	}
	a->spill_len = (e->size + 4095) & ~(uint64_t) 4095;
	rc = arc_spill_extend(a, a->spill_len, ret_error);
	if (rc < 0)
		return rc;
	*ret = (struct nested_src) { .fd = fd, .off = 0 };
	return 0;
}

/* Point the in-place members of @a, whose offsets are relative to the start
 * of the inner tar, at @src. */
static int nested_rebase(struct arc *a, struct nested_src *src, const uint8_t *base)
{
	bool any = false;

	for (size_t i = 0; i < a->n; i++) {
		struct arc_item *it = &a->items[i];

		if (it->src != ARC_SRC_ARCHIVE)
			continue;
		any = true;
		if (src->fd < 0) {
			it->src = ARC_SRC_MEM;
			it->data = base + it->off;
		} else {
			it->off += src->off;
		}
	}
	if (!any || src->fd < 0)
		return 0;
	if (src->own_fd) {
		a->fd = TAKE_FD(src->fd);
		return 0;
	}
	a->fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 3);
	return a->fd < 0 ? -errno : 0;
}

int arc_open_nested(const struct arc *outer, const struct arc_entry *e, const struct arc_opts *opts,
		    struct arc **ret_arc, char **ret_error)
{
	const struct arc_item *it = (const struct arc_item *) e;
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_free_ char *err = NULL;
	struct nested_src src = { .fd = -1 };
	const uint8_t *base = NULL;
	void *map = MAP_FAILED;
	size_t map_len = 0;
	int rc;

	if (it->owner)
		outer = it->owner;	/* a member of an image's layer */
	a = arc_new(opts);
	if (!a)
		return -ENOMEM;
	/* The inner tar draws on the budget of the archive that holds it. It
	 * is indexed before any reader runs, so nothing races on it. */
	a->budget = ((struct arc *) outer)->budget;

	if (e->type != ARC_REG) {
		rc = ck_err(&err, e->type == ARC_DIR ? -EISDIR : -EMEDIUMTYPE, "not a regular member");
		goto out_error;
	}
	if (e->size == 0 || e->size > SIZE_MAX / 2) {
		rc = ck_err(&err, -EMEDIUMTYPE, "not a tar archive (%s)", e->size ? "too large" : "empty file");
		goto out_error;
	}
	if (it->src == ARC_SRC_SEEK)
		rc = nested_copy(outer, e, a, &src, &err);
	else
		rc = nested_locate(outer, it, &src);
	if (rc < 0) {
		ck_err(&err, rc, "cannot open the member: %s", strerror(-rc));
		goto out_error;
	}
	if (src.own_fd) {
		struct stat st;

		/* mapping past the end of a file that shrank would raise SIGBUS */
		if (fstat(src.fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size < e->size) {
			rc = ck_err(&err, -EIO, "the member changed since it was indexed");
			goto out_error;
		}
	}
	if (src.fd < 0) {
		base = src.data;
	} else {
		uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE), start = src.off & ~(page - 1);

		map_len = (size_t) (e->size + (src.off - start));
		map = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, src.fd, (off_t) start);
		if (map == MAP_FAILED) {
			rc = -errno;
			ck_err(&err, rc, "cannot map the member: %s", strerror(-rc));
			goto out_error;
		}
		madvise(map, map_len, MADV_RANDOM);
		base = (const uint8_t *) map + (src.off - start);
	}
	rc = arc_tar_index_mem(a, base, (size_t) e->size, &err);
	if (rc >= 0)
		rc = arc_finish(a);
	if (rc >= 0)
		rc = nested_rebase(a, &src, base);
	if (map != MAP_FAILED)
		munmap(map, map_len);
	if (rc < 0)
		goto out_error;
	if (src.own_fd)
		close(src.fd);
	a->cache_dir = NULL;
	ck_log(CK_LOG_DEBUG, "arc: nested member: %zu entries, %s%s, %" PRIu64 " bytes spilled",
	       a->n, a->kind, a->zero_copy ? " (zero copy)" : "", a->spill_len);
	*ret_arc = TAKE_PTR(a);
	return 0;

out_error:
	if (src.own_fd && src.fd >= 0)
		close(src.fd);
	if (rc == -ENOMEM)
		ck_err(&err, rc, "out of memory");
	if (ret_error)
		*ret_error = TAKE_PTR(err);
	return rc;
}
