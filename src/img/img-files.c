/* SPDX-License-Identifier: Apache-2.0 */
/* files.img (one tagged union per open file), remap-fpath.img and memfd.img,
 * flattened into struct img_file / img_remap / img_memfd. */
#include <errno.h>
#include <string.h>

#include "files.pb-c.h"
#include "img-read.h"

#define SK_AF_UNIX 1
#define SK_AF_NETLINK 16
#define SK_AF_PACKET 17
/* Older remap-fpath images flag ghosts in the top bit of remap_id. */
#define REMAP_GHOST_BIT 0x80000000u

static size_t copy_addr(uint32_t dst[4], const uint32_t *src, size_t n)
{
	n = CK_MIN(n, 4);
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
	return n;
}

static const char *ns_kind(uint32_t cflag)
{
	static const struct { uint32_t flag; const char *name; } kinds[] = {
		{ 0x00020000, "mnt" }, { 0x04000000, "uts" }, { 0x08000000, "ipc" },
		{ 0x10000000, "user" }, { 0x20000000, "pid" }, { 0x40000000, "net" },
		{ 0x02000000, "cgroup" }, { 0x00000080, "time" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (cflag == kinds[i].flag)
			return kinds[i].name;
	return NULL;
}

static int reg_copy(const RegFileEntry *r, struct img_file *f)
{
	f->flags = r->flags;
	f->pos = r->pos;
	f->has_mnt_id = r->has_mnt_id;
	f->mnt_id = r->mnt_id;
	f->has_size = r->has_size;
	f->size = r->size;
	f->has_mode = r->has_mode;
	f->mode = r->mode;
	return img_dup_str(r->name, &f->name);
}

static void inet_copy(const InetSkEntry *s, struct img_file *f)
{
	f->flags = s->flags;
	f->ino = s->ino;
	f->sk_family = s->family;
	f->sk_type = s->type;
	f->sk_proto = s->proto;
	f->sk_state = s->state;
	f->src_port = s->src_port;
	f->dst_port = s->dst_port;
	f->backlog = s->backlog;
	f->n_src_addr = copy_addr(f->src_addr, s->src_addr, s->n_src_addr);
	f->n_dst_addr = copy_addr(f->dst_addr, s->dst_addr, s->n_dst_addr);
	f->has_ns_id = s->has_ns_id;
	f->ns_id = s->ns_id;
}

static int unix_copy(const UnixSkEntry *s, struct img_file *f)
{
	f->flags = s->flags;
	f->ino = s->ino;
	f->sk_family = SK_AF_UNIX;
	f->sk_type = s->type;
	f->sk_state = s->state;
	f->backlog = s->backlog;
	f->peer = s->peer;
	f->has_ns_id = s->has_ns_id;
	f->ns_id = s->ns_id;
	f->has_mnt_id = s->has_mnt_id;
	f->mnt_id = s->mnt_id;
	if (s->name.len) {
		f->sk_name = malloc(s->name.len);
		if (!f->sk_name)
			return -ENOMEM;
		memcpy(f->sk_name, s->name.data, s->name.len);
		f->sk_name_len = s->name.len;
	}
	f->has_name_dir = s->name_dir != NULL;
	return img_dup_str(s->name_dir, &f->sk_name_dir);
}

static void timerfd_copy(const TimerfdEntry *t, struct img_file *f)
{
	f->flags = t->flags;
	f->clockid = t->clockid;
	f->ticks = t->ticks;
	f->settime_flags = t->settime_flags;
	f->vsec = t->vsec;
	f->vnsec = t->vnsec;
	f->isec = t->isec;
	f->insec = t->insec;
}

static int epoll_copy(const EventpollFileEntry *e, struct img_file *f)
{
	f->flags = e->flags;
	if (!e->n_tfd)
		return 0;
	f->tfds = calloc(e->n_tfd, sizeof(*f->tfds));
	if (!f->tfds)
		return -ENOMEM;
	f->n_tfds = e->n_tfd;
	for (size_t i = 0; i < e->n_tfd; i++) {
		const EventpollTfdEntry *t = e->tfd[i];

		f->tfds[i] = (struct img_epoll_tfd) {
			.tfd = t->tfd, .events = t->events, .data = t->data,
			.has_dev = t->has_dev, .dev = t->dev,
			.has_inode = t->has_inode, .inode = t->inode,
			.has_pos = t->has_pos, .pos = t->pos,
		};
	}
	return 0;
}

/* Copy the sub-message that @e->type selects. A type without its
 * sub-message is malformed: CRIU always writes both. */
/* The socket kinds of file_copy(): 0 also for any other kind. */
static int sock_copy(const FileEntry *e, struct img_file *f)
{
	switch (e->type) {
	case FD_TYPES__INETSK:
		if (!e->isk)
			return -EBADMSG;
		inet_copy(e->isk, f);
		return 0;
	case FD_TYPES__UNIXSK:
		if (!e->usk)
			return -EBADMSG;
		return unix_copy(e->usk, f);
	case FD_TYPES__NETLINKSK:
		if (!e->nlsk)
			return -EBADMSG;
		f->flags = e->nlsk->flags;
		f->ino = e->nlsk->ino;
		f->sk_family = SK_AF_NETLINK;
		f->sk_proto = e->nlsk->protocol;
		f->sk_state = e->nlsk->state;
		f->has_ns_id = e->nlsk->has_ns_id;
		f->ns_id = e->nlsk->ns_id;
		return 0;
	case FD_TYPES__PACKETSK:
		if (!e->psk)
			return -EBADMSG;
		f->flags = e->psk->flags;
		f->sk_family = SK_AF_PACKET;
		f->sk_type = e->psk->type;
		f->sk_proto = e->psk->protocol;
		f->has_ns_id = e->psk->has_ns_id;
		f->ns_id = e->psk->ns_id;
		return 0;
	default:
		return 0;
	}
}

/* The anonymous-inode kinds of file_copy() (eventfd, epoll, signalfd,
 * timerfd, inotify, fanotify): 0 also for any other kind. */
static int anon_copy(const FileEntry *e, struct img_file *f)
{
	switch (e->type) {
	case FD_TYPES__EVENTFD:
		if (!e->efd)
			return -EBADMSG;
		f->flags = e->efd->flags;
		f->efd_counter = e->efd->counter;
		return 0;
	case FD_TYPES__EVENTPOLL:
		if (!e->epfd)
			return -EBADMSG;
		return epoll_copy(e->epfd, f);
	case FD_TYPES__SIGNALFD:
		if (!e->sgfd)
			return -EBADMSG;
		f->flags = e->sgfd->flags;
		f->sigmask = e->sgfd->sigmask;
		return 0;
	case FD_TYPES__TIMERFD:
		if (!e->tfd)
			return -EBADMSG;
		timerfd_copy(e->tfd, f);
		return 0;
	case FD_TYPES__INOTIFY:
		if (!e->ify)
			return -EBADMSG;
		f->flags = e->ify->flags;
		return 0;
	case FD_TYPES__FANOTIFY:
		if (!e->ffy)
			return -EBADMSG;
		f->flags = e->ffy->flags;
		return 0;
	default:
		return 0;
	}
}

static int file_copy(const FileEntry *e, struct img_file *f)
{
	f->id = e->id;
	f->type = e->type;
	switch (e->type) {
	case FD_TYPES__REG:
		if (!e->reg)
			return -EBADMSG;
		return reg_copy(e->reg, f);
	case FD_TYPES__PIPE:
		if (!e->pipe)
			return -EBADMSG;
		f->flags = e->pipe->flags;
		f->ino = e->pipe->pipe_id;
		return 0;
	case FD_TYPES__FIFO:
		if (!e->fifo)
			return -EBADMSG;
		f->ino = e->fifo->pipe_id;
		f->regf_id = e->fifo->regf_id;
		return 0;
	case FD_TYPES__TTY:
		if (!e->tty)
			return -EBADMSG;
		f->flags = e->tty->flags;
		f->regf_id = e->tty->regf_id;
		f->tty_info_id = e->tty->tty_info_id;
		return 0;
	case FD_TYPES__MEMFD:
		if (!e->memfd)
			return -EBADMSG;
		f->flags = e->memfd->flags;
		f->pos = e->memfd->pos;
		f->memfd_inode_id = e->memfd->inode_id;
		return 0;
	case FD_TYPES__NS:
		if (!e->nsf)
			return -EBADMSG;
		f->flags = e->nsf->flags;
		f->has_ns_id = true;
		f->ns_id = e->nsf->ns_id;
		f->ns_cflag = e->nsf->ns_cflag;
		return img_dup_str(ns_kind(e->nsf->ns_cflag), &f->name);
	case FD_TYPES__TUNF:
		if (e->tunf) {
			f->has_ns_id = e->tunf->has_ns_id;
			f->ns_id = e->tunf->ns_id;
		}
		return 0;
	case FD_TYPES__BPFMAP:
		if (!e->bpf)
			return -EBADMSG;
		f->flags = e->bpf->flags;
		f->pos = e->bpf->pos;
		f->has_mnt_id = e->bpf->has_mnt_id;
		f->mnt_id = e->bpf->mnt_id;
		return 0;
	default:
		/* sockets, anonymous-inode files; EXT, PIDFD and kinds this
		 * schema does not know: id and type only */
		return sock_copy(e, f) ?: anon_copy(e, f);
	}
}

struct files_acc {
	struct img_file *files;
	size_t n, cap;
};

static int files_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	struct files_acc *acc = ud;
	struct img_file *f;
	int rc;

	rc = img_grow((void **) &acc->files, &acc->cap, acc->n + 1, sizeof(*acc->files));
	if (rc < 0)
		return rc;
	f = &acc->files[acc->n++];
	memset(f, 0, sizeof(*f));
	return file_copy((const FileEntry *) msg, f);
}

int img_read_files(const struct ck_blob *b, struct img_file **ret_files, size_t *ret_n)
{
	struct files_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_FILES, &file_entry__descriptor, files_cb, &acc);
	if (rc < 0) {
		img_files_free(acc.files, acc.n);
		return rc;
	}
	*ret_files = acc.files;
	*ret_n = acc.n;
	return 0;
}

void img_files_free(struct img_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++) {
		free(files[i].name);
		free(files[i].sk_name);
		free(files[i].sk_name_dir);
		free(files[i].tfds);
	}
	free(files);
}

/* ---- remap-fpath.img ---- */

struct remap_acc {
	struct img_remap *r;
	size_t n, cap;
};

static int remap_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const RemapFilePathEntry *e = (const RemapFilePathEntry *) msg;
	struct remap_acc *acc = ud;
	struct img_remap *d;
	int rc;

	rc = img_grow((void **) &acc->r, &acc->cap, acc->n + 1, sizeof(*acc->r));
	if (rc < 0)
		return rc;
	d = &acc->r[acc->n++];
	d->orig_id = e->orig_id;
	d->remap_id = e->remap_id;
	if (e->has_remap_type) {
		d->type = e->remap_type;
	} else if (e->remap_id & REMAP_GHOST_BIT) {
		d->type = REMAP_TYPE__GHOST;
		d->remap_id &= ~REMAP_GHOST_BIT;
	} else {
		d->type = REMAP_TYPE__LINKED;
	}
	return 0;
}

int img_read_remaps(const struct ck_blob *b, struct img_remap **ret, size_t *ret_n)
{
	struct remap_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_REMAP_FPATH, &remap_file_path_entry__descriptor, remap_cb, &acc);
	if (rc < 0) {
		free(acc.r);
		return rc;
	}
	*ret = acc.r;
	*ret_n = acc.n;
	return 0;
}

/* ---- memfd.img ---- */

struct memfd_acc {
	struct img_memfd *m;
	size_t n, cap;
};

static int memfd_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const MemfdInodeEntry *e = (const MemfdInodeEntry *) msg;
	struct memfd_acc *acc = ud;
	struct img_memfd *d;
	int rc;

	rc = img_grow((void **) &acc->m, &acc->cap, acc->n + 1, sizeof(*acc->m));
	if (rc < 0)
		return rc;
	d = &acc->m[acc->n];
	*d = (struct img_memfd) {
		.inode_id = (uint32_t) e->inode_id, .size = e->size,
		.shmid = e->shmid, .seals = e->seals,
	};
	rc = img_dup_str(e->name, &d->name);
	if (rc < 0)
		return rc;
	acc->n++;
	return 0;
}

int img_read_memfds(const struct ck_blob *b, struct img_memfd **ret, size_t *ret_n)
{
	struct memfd_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_MEMFD_INODE, &memfd_inode_entry__descriptor, memfd_cb, &acc);
	if (rc < 0) {
		img_memfds_free(acc.m, acc.n);
		return rc;
	}
	*ret = acc.m;
	*ret_n = acc.n;
	return 0;
}

void img_memfds_free(struct img_memfd *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		free(m[i].name);
	free(m);
}
