/* SPDX-License-Identifier: Apache-2.0 */
/* File views: fd/<n> link targets, fdinfo/<n>, and the paths of cwd/root/exe
 * (and of file mappings, for render-maps.c), in the kernel's formats
 * (fs/proc/fd.c, fs/d_path.c) from files.img, remap-fpath.img and memfd.img.
 *
 * Not in the images, so left out or shown as unknown:
 * fd targets: PACKETSK and NS print "socket:[?]" / "<kind>:[?]" (no inode is
 *   stored); EXT and unknown types give -ENOENT.
 * fdinfo: mnt_id only for REG, BPF maps and the paths of FIFOs and TTYs (the
 *   pseudo-filesystem mounts of pipes, sockets and anon inodes are not
 *   dumped), ino only for pipes, FIFOs, sockets and pidfds; eventfd-id, eventfd-semaphore, epoll tfd, inotify,
 *   fanotify, pidfd and lock lines are not in the model. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define RENDER_O_CLOEXEC 02000000u
#define RENDER_FD_CLOEXEC 1u

bool render_file_deleted(const struct ckpt *ck, uint32_t id)
{
	const struct img_remap *rm = ckpt_remap_find(ck, id);

	return rm && (rm->type == IMG_REMAP_GHOST || rm->type == IMG_REMAP_LINKED);
}

int render_put_memfd_name(const struct ckpt *ck, uint32_t inode_id, struct ck_buf *out)
{
	const struct img_memfd *m = ckpt_memfd_find(ck, inode_id);

	if (!m || !m->name)
		return -ENOENT;
	/* anonymous shared memory is dumped as a memfd named by its path */
	if (m->name[0] == '/')
		return ck_buf_printf(out, "%s (deleted)", m->name);
	return ck_buf_printf(out, "/memfd:%s (deleted)", m->name);
}

int render_need_file(const struct ckpt *ck, uint32_t id, const struct img_file **ret)
{
	const struct img_file *f = ckpt_file_find(ck, id);

	if (!f)
		return ck->files_err < 0 ? -EIO : -ENOENT;
	*ret = f;
	return 0;
}

static int put_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out)
{
	const struct img_file *f;
	int rc;

	rc = render_need_file(ck, id, &f);
	if (rc < 0)
		return rc;
	/* the exe of a process started by fexecve() of a memfd */
	if (f->type == IMG_FD_MEMFD)
		return render_put_memfd_name(ck, f->memfd_inode_id, out);
	if (f->type != IMG_FD_REG || !f->name)
		return -ENOENT;
	ck_buf_puts(out, f->name);
	if (render_file_deleted(ck, id))
		ck_buf_puts(out, " (deleted)");
	return 0;
}

int render_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_reg_path(ck, id, out));
}

/* The path column of one maps line; appends nothing for anonymous memory. */
static const char *anon_inode_name(uint32_t type)
{
	switch (type) {
	case IMG_FD_EVENTFD:
		return "anon_inode:[eventfd]";
	case IMG_FD_EVENTPOLL:
		return "anon_inode:[eventpoll]";
	case IMG_FD_SIGNALFD:
		return "anon_inode:[signalfd]";
	case IMG_FD_TIMERFD:
		return "anon_inode:[timerfd]";
	case IMG_FD_INOTIFY:
		return "anon_inode:inotify";
	case IMG_FD_FANOTIFY:
		return "anon_inode:[fanotify]";
	case IMG_FD_BPFMAP:
		return "anon_inode:bpf-map";
	case IMG_FD_PIDFD:
		return "anon_inode:[pidfd]";
	default:
		return NULL;
	}
}

static int put_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out)
{
	const char *anon = anon_inode_name(f->type);

	if (anon)
		return ck_buf_puts(out, anon);
	switch (f->type) {
	case IMG_FD_REG:
		return put_reg_path(ck, f->id, out);
	case IMG_FD_PIPE:
		return ck_buf_printf(out, "pipe:[%u]", f->ino);
	case IMG_FD_FIFO:
	case IMG_FD_TTY:
		return put_reg_path(ck, f->regf_id, out);
	case IMG_FD_INETSK:
	case IMG_FD_UNIXSK:
	case IMG_FD_NETLINKSK:
		return ck_buf_printf(out, "socket:[%u]", f->ino);
	case IMG_FD_PACKETSK:
		return ck_buf_puts(out, "socket:[?]");
	case IMG_FD_MEMFD:
		return render_put_memfd_name(ck, f->memfd_inode_id, out);
	case IMG_FD_NS:
		return ck_buf_printf(out, "%s:[?]", f->name ? f->name : "ns");
	case IMG_FD_TUNF:
		return ck_buf_puts(out, "/dev/net/tun");
	default:
		return -ENOENT;
	}
}

int render_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_fd_target(ck, f, out));
}

static bool has_inode(uint32_t type)
{
	switch (type) {
	case IMG_FD_PIPE:
	case IMG_FD_FIFO:
	case IMG_FD_INETSK:
	case IMG_FD_UNIXSK:
	case IMG_FD_NETLINKSK:
	case IMG_FD_PIDFD:
		return true;
	default:
		return false;
	}
}

static int put_fdinfo(const struct ckpt *ck, const struct img_fdinfo *fd, struct ck_buf *out)
{
	const struct img_file *f, *reg = NULL, *mnt = NULL;
	uint64_t pos;
	uint32_t flags;
	int rc;

	rc = render_need_file(ck, fd->id, &f);
	if (rc < 0)
		return rc;
	pos = f->pos;
	flags = f->flags;
	switch (f->type) {
	case IMG_FD_FIFO:
	case IMG_FD_TTY:
		/* the opened path is a REG entry; a FIFO keeps its flags there too */
		rc = render_need_file(ck, f->regf_id, &reg);
		if (rc < 0)
			return rc;
		if (f->type == IMG_FD_FIFO) {
			pos = reg->pos;
			flags = reg->flags;
		}
		mnt = reg;
		break;
	case IMG_FD_REG:
	case IMG_FD_BPFMAP:
		mnt = f;
		break;
	default:
		/* a unix socket's mnt_id is where it is bound, not sockfs */
		break;
	}
	/* CRIU keeps close-on-exec as an fd flag, not in the file flags. */
	flags |= fd->flags & RENDER_FD_CLOEXEC ? RENDER_O_CLOEXEC : 0;
	ck_buf_printf(out, "pos:\t%lld\nflags:\t0%o\n", (long long)pos, flags);
	if (mnt && mnt->has_mnt_id)
		ck_buf_printf(out, "mnt_id:\t%d\n", mnt->mnt_id);
	if (has_inode(f->type) && f->ino)
		ck_buf_printf(out, "ino:\t%u\n", f->ino);
	switch (f->type) {
	case IMG_FD_EVENTFD:
		ck_buf_printf(out, "eventfd-count: %16llx\n", (unsigned long long)f->efd_counter);
		break;
	case IMG_FD_SIGNALFD:
		ck_buf_printf(out, "sigmask:\t%016llx\n", (unsigned long long)f->sigmask);
		break;
	case IMG_FD_TIMERFD:
		ck_buf_printf(out,
			      "clockid: %d\nticks: %llu\nsettime flags: 0%o\n"
			      "it_value: (%llu, %llu)\nit_interval: (%llu, %llu)\n",
			      (int)f->clockid, (unsigned long long)f->ticks, f->settime_flags,
			      (unsigned long long)f->vsec, (unsigned long long)f->vnsec,
			      (unsigned long long)f->isec, (unsigned long long)f->insec);
		break;
	default:
		break;
	}
	return 0;
}

int render_fdinfo(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_fdinfo *fd,
		     struct ck_buf *out)
{
	size_t start = out->len;

	(void)p;
	return render_finish(out, start, put_fdinfo(ck, fd, out));
}
