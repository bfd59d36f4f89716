/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "tree.h"

/* The content never changes while mounted: let the kernel cache it all. */
#define FS_TIMEOUT 86400.0

static struct tree *fs_tree(void)
{
	return fuse_get_context()->private_data;
}

static const struct tree_node *fs_node(const char *path, struct fuse_file_info *fi)
{
	if (fi && fi->fh)
		return (const struct tree_node *) (uintptr_t) fi->fh;
	return path ? tree_lookup(fs_tree(), path) : NULL;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->kernel_cache = 1;
	cfg->entry_timeout = FS_TIMEOUT;
	cfg->attr_timeout = FS_TIMEOUT;
	cfg->negative_timeout = FS_TIMEOUT;
	cfg->nullpath_ok = 1;
	/* Replies of fs_read_buf() go from the archive (or spill) file to
	 * /dev/fuse through a pipe: the bytes are never copied to user space. */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	return fuse_get_context()->private_data;
}

/* The preferred I/O size of large files: cat, cp and stdio read this much at
 * a time, which the kernel turns into fewer, larger FUSE reads. */
#define FS_IO_SIZE (1024 * 1024)

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	const struct tree_node *n = fs_node(path, fi);
	int rc;

	if (!n)
		return -ENOENT;
	rc = tree_getattr(fs_tree(), n, st);
	if (rc == 0 && S_ISREG(st->st_mode) && st->st_size >= FS_IO_SIZE)
		st->st_blksize = FS_IO_SIZE;
	return rc;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	const struct tree_node *n;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	n = tree_lookup(fs_tree(), path);
	if (!n)
		return -ENOENT;
	rc = tree_open(fs_tree(), n);
	if (rc < 0)
		return rc;
	fi->fh = (uint64_t) (uintptr_t) n;
	if (tree_direct_io(n)) {
		/* mem: size 0 like /proc/<pid>/mem, read at any address */
		fi->direct_io = 1;
		fi->keep_cache = 0;
	} else {
		fi->keep_cache = 1;
	}
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct tree_node *n = fs_node(path, fi);
	ssize_t got;

	if (!n)
		return -ENOENT;
	if (off < 0)
		return -EINVAL;
	got = tree_read(fs_tree(), n, buf, size, (uint64_t) off);
	return (int) got;	/* FUSE reads are far below INT_MAX */
}

/* Reads of member, mem and pages files as file extents (FUSE_BUF_IS_FD), which
 * libfuse splices into the reply; holes are zero buffers. Anything else (or
 * a range too fragmented for FS_EXTENTS_MAX) is read into one buffer. The
 * buffers are freed by libfuse: every mem is malloc'ed here. */
#define FS_EXTENTS_MAX 64

static int fs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct tree_node *n = fs_node(path, fi);
	struct arc_extent ext[FS_EXTENTS_MAX];
	struct fuse_bufvec *bv;
	ssize_t k = -EAGAIN;
	void *mem;

	if (!n)
		return -ENOENT;
	if (off < 0)
		return -EINVAL;
	if (size >= 4096)	/* small reads gain nothing from a splice */
		k = tree_extents(fs_tree(), n, (uint64_t) off, size, ext, FS_EXTENTS_MAX);
	if (k >= 0) {
		bv = calloc(1, sizeof(*bv) + (size_t) (k ? k - 1 : 0) * sizeof(bv->buf[0]));
		if (!bv)
			return -ENOMEM;
		bv->count = (size_t) k;
		for (ssize_t i = 0; i < k; i++) {
			struct fuse_buf *b = &bv->buf[i];

			b->size = ext[i].len;
			if (ext[i].fd >= 0) {
				b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
				b->fd = ext[i].fd;
				b->pos = (off_t) ext[i].off;
			} else if (!(b->mem = calloc(1, ext[i].len ? ext[i].len : 1))) {
				while (i-- > 0)
					if (!(bv->buf[i].flags & FUSE_BUF_IS_FD))
						free(bv->buf[i].mem);
				free(bv);
				return -ENOMEM;
			}
		}
		*bufp = bv;
		return 0;
	}
	if (k != -EAGAIN && k != -ENOBUFS)
		return (int) k;
	bv = malloc(sizeof(*bv));
	mem = malloc(size ? size : 1);
	if (!bv || !mem) {
		free(bv);
		free(mem);
		return -ENOMEM;
	}
	k = tree_read(fs_tree(), n, mem, size, (uint64_t) off);
	if (k < 0) {
		free(bv);
		free(mem);
		return (int) k;
	}
	*bv = FUSE_BUFVEC_INIT((size_t) k);
	bv->buf[0].mem = mem;
	*bufp = bv;
	return 0;
}

struct fs_fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fs_fill(void *ctx, const char *name, const struct stat *st)
{
	struct fs_fill_ctx *c = ctx;

	return c->filler(c->buf, name, st, 0, 0);
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	const struct tree_node *n = tree_lookup(fs_tree(), path);

	if (!n)
		return -ENOENT;
	fi->fh = (uint64_t) (uintptr_t) n;
	return 0;
}

/* With nullpath_ok the path may be NULL: the node comes from opendir. */
static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	const struct tree_node *n = fs_node(path, fi);
	struct fs_fill_ctx ctx = { buf, filler };

	if (!n)
		return -ENOENT;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	return tree_readdir(fs_tree(), n, fs_fill, &ctx);
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	const struct tree_node *n = tree_lookup(fs_tree(), path);

	if (!n)
		return -ENOENT;
	return tree_readlink(fs_tree(), n, buf, size);
}

static off_t fs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	const struct tree_node *n = fs_node(path, fi);

	if (!n)
		return -ENOENT;
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	return (off_t) tree_lseek(fs_tree(), n, off, whence);
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	sv->f_flag = ST_RDONLY;
	return 0;
}

static int fs_access(const char *path, int mask)
{
	if (mask & W_OK)
		return -EROFS;
	return tree_lookup(fs_tree(), path) ? 0 : -ENOENT;
}

static int fs_erofs_mode(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_path(const char *path)
{
	return -EROFS;
}

static int fs_erofs_two(const char *from, const char *to)
{
	return -EROFS;
}

static int fs_erofs_rename(const char *from, const char *to, unsigned int flags)
{
	return -EROFS;
}

static int fs_erofs_write(const char *path, const char *buf, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_mknod(const char *path, mode_t mode, dev_t dev)
{
	return -EROFS;
}

static int fs_erofs_mkdir(const char *path, mode_t mode)
{
	return -EROFS;
}

static int fs_erofs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	return -EROFS;
}

static int fs_erofs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	return -EROFS;
}

static int fs_erofs_removexattr(const char *path, const char *name)
{
	return -EROFS;
}

const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.open = fs_open,
	.read = fs_read,
	.read_buf = fs_read_buf,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readlink = fs_readlink,
	.lseek = fs_lseek,
	.statfs = fs_statfs,
	.access = fs_access,
	.mknod = fs_erofs_mknod,
	.mkdir = fs_erofs_mkdir,
	.unlink = fs_erofs_path,
	.rmdir = fs_erofs_path,
	.symlink = fs_erofs_two,
	.rename = fs_erofs_rename,
	.link = fs_erofs_two,
	.chmod = fs_erofs_mode,
	.chown = fs_erofs_chown,
	.truncate = fs_erofs_truncate,
	.write = fs_erofs_write,
	.create = fs_erofs_create,
	.utimens = fs_erofs_utimens,
	.setxattr = fs_erofs_setxattr,
	.removexattr = fs_erofs_removexattr,
};
