/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
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
	conn->max_read = FS_MAX_READ;
	/* Replies of fs_read_buf() go from the archive (or spill) file to
	 * /dev/fuse through a pipe: the bytes are never copied to user space.
	 * But libfuse also sends a copied reply through the pipe when it may
	 * splice (a write into the pipe, then the splice): one more copy of
	 * every byte. So a seekable archive, whose members are all decoded
	 * into memory, is answered with plain writes. */
	if ((conn->capable & FUSE_CAP_SPLICE_WRITE) && tree_splices(fuse_get_context()->private_data))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	else
		conn->want &= ~FUSE_CAP_SPLICE_WRITE;
	return fuse_get_context()->private_data;
}

/* The preferred I/O size of large files: cat, cp and stdio read this much at
 * a time, which the kernel turns into fewer, larger FUSE reads. */
#define FS_IO_SIZE (1024 * 1024)

static int fs_getattr_locked(const char *path, struct stat *st, struct fuse_file_info *fi)
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

static int fs_open_locked(const char *path, struct fuse_file_info *fi)
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

/* A read: the tree answers with extents of files, which libfuse splices into
 * the reply (holes become zero buffers), or with bytes it copied. libfuse
 * frees the bufvec and every mem buffer in it: all are malloc'ed here. */
static int fs_read_buf_locked(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct tree_node *n = fs_node(path, fi);
	struct tree_reply r;
	struct fuse_bufvec *bv;
	int rc;

	if (!n)
		return -ENOENT;
	if (off < 0)
		return -EINVAL;
	rc = tree_read_reply(fs_tree(), n, (uint64_t) off, size, &r);
	if (rc < 0)
		return rc;
	bv = calloc(1, sizeof(*bv) + (r.n_ext > 1 ? r.n_ext - 1 : 0) * sizeof(bv->buf[0]));
	if (!bv) {
		free(r.mem);
		return -ENOMEM;
	}
	if (!r.n_ext) {
		*bv = FUSE_BUFVEC_INIT(r.len);
		bv->buf[0].mem = r.mem;
		*bufp = bv;
		return 0;
	}
	bv->count = r.n_ext;
	for (size_t i = 0; i < r.n_ext; i++) {
		struct fuse_buf *b = &bv->buf[i];

		b->size = r.ext[i].len;
		if (r.ext[i].fd >= 0) {
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
			b->fd = r.ext[i].fd;
			b->pos = (off_t) r.ext[i].off;
		} else if (!(b->mem = calloc(1, r.ext[i].len ? r.ext[i].len : 1))) {
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

struct fs_fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fs_fill(void *ctx, const char *name, const struct stat *st)
{
	struct fs_fill_ctx *c = ctx;

	return c->filler(c->buf, name, st, 0, 0);
}

static int fs_opendir_locked(const char *path, struct fuse_file_info *fi)
{
	const struct tree_node *n = tree_lookup(fs_tree(), path);
	int rc;

	if (!n)
		return -ENOENT;
	rc = tree_opendir(fs_tree(), n);
	if (rc < 0)
		return rc;
	fi->fh = (uint64_t) (uintptr_t) n;
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	if (fi->fh)
		tree_release(fs_tree(), (const struct tree_node *) (uintptr_t) fi->fh);
	return 0;
}

/* With nullpath_ok the path may be NULL: the node comes from opendir. */
static int fs_readdir_locked(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
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

static int fs_readlink_locked(const char *path, char *buf, size_t size)
{
	const struct tree_node *n = tree_lookup(fs_tree(), path);

	if (!n)
		return -ENOENT;
	return tree_readlink(fs_tree(), n, buf, size);
}

static off_t fs_lseek_locked(const char *path, off_t off, int whence, struct fuse_file_info *fi)
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

struct fs_read_ahead {
	char *mountpoint;
	unsigned kib;
};

static void *fs_read_ahead_main(void *arg)
{
	struct fs_read_ahead *ra = arg;
	char path[64], val[16];
	struct stat st;
	int fd, n;

	/* answered only once the kernel's INIT is: the device is live then */
	if (stat(ra->mountpoint, &st) == 0) {
		snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev),
			 minor(st.st_dev));
		n = snprintf(val, sizeof(val), "%u\n", ra->kib);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, val, (size_t) n) != n)
				ck_log(CK_LOG_DEBUG, "read_ahead_kb: %s", strerror(errno));
			close(fd);
		}
	}
	free(ra->mountpoint);
	free(ra);
	return NULL;
}

int fs_read_ahead_start(const char *mountpoint, unsigned kib)
{
	struct fs_read_ahead *ra = calloc(1, sizeof(*ra));
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	if (!ra || !(ra->mountpoint = strdup(mountpoint))) {
		free(ra);
		return -ENOMEM;
	}
	ra->kib = kib;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&th, &attr, fs_read_ahead_main, ra);
	pthread_attr_destroy(&attr);
	if (rc < 0) {
		free(ra->mountpoint);
		free(ra);
	}
	return rc;
}

/* Every request holds the tree (tree_enter()): nodes stay valid meanwhile. */
#define FS_LOCKED(ret, name, params, args)		\
	static ret fs_##name params			\
	{						\
		ret rc;					\
		tree_enter(fs_tree());			\
		rc = fs_##name##_locked args;		\
		tree_leave(fs_tree());			\
		return rc;				\
	}

FS_LOCKED(int, getattr, (const char *path, struct stat *st, struct fuse_file_info *fi), (path, st, fi))
FS_LOCKED(int, open, (const char *path, struct fuse_file_info *fi), (path, fi))
FS_LOCKED(int, read_buf, (const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
			  struct fuse_file_info *fi), (path, bufp, size, off, fi))
FS_LOCKED(int, opendir, (const char *path, struct fuse_file_info *fi), (path, fi))
FS_LOCKED(int, readdir, (const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
			 struct fuse_file_info *fi, enum fuse_readdir_flags flags), (path, buf, filler, off, fi, flags))
FS_LOCKED(int, readlink, (const char *path, char *buf, size_t size), (path, buf, size))
FS_LOCKED(off_t, lseek, (const char *path, off_t off, int whence, struct fuse_file_info *fi), (path, off, whence, fi))

const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.open = fs_open,
	.read_buf = fs_read_buf,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readlink = fs_readlink,
	.lseek = fs_lseek,
	.statfs = fs_statfs,
	.release = fs_release,
	.releasedir = fs_release,
};
