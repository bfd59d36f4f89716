/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/mountinfo, /<pid>/mounts, /<pid>/cgroup and the /<pid>/ns/<kind> link targets
 * in the kernel's formats (docs/formats.md §2.2), from mountpoints-<ns>.img,
 * cgroup.img and ids-<pid>.img.
 *
 * What the images do not keep:
 * mountinfo: the real type of a file system CRIU did not know ("unsupported",
 *   e.g. ext4 bind mounts) prints as "unknown"; propagate_from is not
 *   recorded; superblock options are printed as CRIU read them.
 * cgroup: hierarchy ids are not recorded. The v2 hierarchy is 0 as in the
 *   kernel; the v1 hierarchies are numbered 1..N in the order of the set in
 *   cgroup.img and printed from N down to 1, the kernel's order. Paths are
 *   the full paths CRIU recorded, i.e. as seen from the root cgroup
 *   namespace.
 * ns: the kernel's namespace inode numbers are not in the images; the links
 *   show CRIU's namespace ids (ids-<pid>.img), e.g. "net:[10]", which are
 *   equal for tasks that share a namespace and differ otherwise. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define RENDER_MS_RDONLY 0x1u
#define RENDER_MS_NOSUID 0x2u
#define RENDER_MS_NODEV 0x4u
#define RENDER_MS_NOEXEC 0x8u
#define RENDER_MS_SYNCHRONOUS 0x10u
#define RENDER_MS_MANDLOCK 0x40u
#define RENDER_MS_DIRSYNC 0x80u
#define RENDER_MS_NOSYMFOLLOW 0x100u
#define RENDER_MS_NOATIME 0x400u
#define RENDER_MS_NODIRATIME 0x800u
#define RENDER_MS_UNBINDABLE (1u << 17)
#define RENDER_MS_SLAVE (1u << 19)
#define RENDER_MS_SHARED (1u << 20)
#define RENDER_MS_RELATIME (1u << 21)
#define RENDER_MS_LAZYTIME (1u << 25)
#define RENDER_FSTYPE_AUTO 16

/* Append @s with space, tab, newline and backslash as 3-digit octal escapes. */
static void put_escaped(struct ck_buf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			ck_buf_printf(out, "\\%03o", (unsigned char) *s);
		else
			ck_buf_putc(out, *s);
	}
}

static const char *fstype_name(const struct img_mnt *m)
{
	static const char *const names[] = {
		[1] = "proc", [2] = "sysfs", [3] = "devtmpfs", [4] = "binfmt_misc", [5] = "tmpfs",
		[6] = "devpts", [7] = "simfs", [8] = "pstore", [9] = "securityfs", [10] = "fusectl",
		[11] = "debugfs", [12] = "cgroup", [13] = "aufs", [14] = "mqueue", [15] = "fuse",
		[17] = "overlay", [18] = "autofs", [19] = "tracefs", [23] = "cgroup2",
	};

	if (m->fsname && m->fsname[0] && (m->fstype == RENDER_FSTYPE_AUTO || m->fstype == 0))
		return m->fsname;
	if (m->fstype < ARRAY_SIZE(names) && names[m->fstype])
		return names[m->fstype];
	return "unknown";
}

static void put_mount(struct ck_buf *out, const struct img_mnt *m)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} mnt_opts[] = {
		{ RENDER_MS_NOSUID, ",nosuid" }, { RENDER_MS_NODEV, ",nodev" }, { RENDER_MS_NOEXEC, ",noexec" },
		{ RENDER_MS_NOATIME, ",noatime" }, { RENDER_MS_NODIRATIME, ",nodiratime" },
		{ RENDER_MS_RELATIME, ",relatime" }, { RENDER_MS_NOSYMFOLLOW, ",nosymfollow" },
	}, sb_opts[] = {
		{ RENDER_MS_SYNCHRONOUS, ",sync" }, { RENDER_MS_DIRSYNC, ",dirsync" },
		{ RENDER_MS_MANDLOCK, ",mand" }, { RENDER_MS_LAZYTIME, ",lazytime" },
	};
	uint32_t sb = m->has_sb_flags ? m->sb_flags : m->flags & RENDER_MS_RDONLY;

	ck_buf_printf(out, "%u %u %u:%u ", m->mnt_id, m->parent_mnt_id, m->root_dev >> 20, m->root_dev & 0xfffff);
	put_escaped(out, m->root);
	ck_buf_putc(out, ' ');
	put_escaped(out, m->mountpoint);
	ck_buf_puts(out, m->flags & RENDER_MS_RDONLY ? " ro" : " rw");
	for (size_t i = 0; i < ARRAY_SIZE(mnt_opts); i++)
		if (m->flags & mnt_opts[i].flag)
			ck_buf_puts(out, mnt_opts[i].name);
	if (m->flags & RENDER_MS_SHARED)
		ck_buf_printf(out, " shared:%u", m->shared_id);
	if (m->flags & RENDER_MS_SLAVE)
		ck_buf_printf(out, " master:%u", m->master_id);
	if (m->flags & RENDER_MS_UNBINDABLE)
		ck_buf_puts(out, " unbindable");
	ck_buf_printf(out, " - %s ", fstype_name(m));
	if (m->source && m->source[0])
		put_escaped(out, m->source);
	else
		ck_buf_puts(out, "none");
	ck_buf_puts(out, sb & RENDER_MS_RDONLY ? " ro" : " rw");
	for (size_t i = 0; i < ARRAY_SIZE(sb_opts); i++)
		if (sb & sb_opts[i].flag)
			ck_buf_puts(out, sb_opts[i].name);
	if (m->options && m->options[0])
		ck_buf_printf(out, ",%s", m->options);
	ck_buf_putc(out, '\n');
}

/* One /proc/PID/mounts line: the fstab-like view of the same mount. */
static void put_mounts_line(struct ck_buf *out, const struct img_mnt *m)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} sb_opts[] = {
		{ RENDER_MS_SYNCHRONOUS, ",sync" }, { RENDER_MS_DIRSYNC, ",dirsync" },
		{ RENDER_MS_MANDLOCK, ",mand" }, { RENDER_MS_LAZYTIME, ",lazytime" },
	}, mnt_opts[] = {
		{ RENDER_MS_NOSUID, ",nosuid" }, { RENDER_MS_NODEV, ",nodev" }, { RENDER_MS_NOEXEC, ",noexec" },
		{ RENDER_MS_NOATIME, ",noatime" }, { RENDER_MS_NODIRATIME, ",nodiratime" },
		{ RENDER_MS_RELATIME, ",relatime" }, { RENDER_MS_NOSYMFOLLOW, ",nosymfollow" },
	};
	uint32_t sb = m->has_sb_flags ? m->sb_flags : m->flags & RENDER_MS_RDONLY;

	if (m->source && m->source[0])
		put_escaped(out, m->source);
	else
		ck_buf_puts(out, "none");
	ck_buf_putc(out, ' ');
	put_escaped(out, m->mountpoint);
	ck_buf_printf(out, " %s %s", fstype_name(m), (m->flags | sb) & RENDER_MS_RDONLY ? "ro" : "rw");
	for (size_t i = 0; i < ARRAY_SIZE(sb_opts); i++)
		if (sb & sb_opts[i].flag)
			ck_buf_puts(out, sb_opts[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(mnt_opts); i++)
		if (m->flags & mnt_opts[i].flag)
			ck_buf_puts(out, mnt_opts[i].name);
	if (m->options && m->options[0])
		ck_buf_printf(out, ",%s", m->options);
	ck_buf_puts(out, " 0 0\n");
}

/* The mount namespace of @p: 0, -ENOENT (no namespace image), -EIO. */
static int proc_mntns(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_mntns **ret)
{
	const struct ckpt_mntns *ns;

	if (!p->has_ids)
		return p->ids_err == -ENOENT || p->ids_err == 0 ? -ENOENT : -EIO;
	if (!p->ids.has_mnt_ns_id)
		return -ENOENT;
	ns = ckpt_mntns_find(ck, p->ids.mnt_ns_id);
	if (!ns || ns->err == -ENOENT)
		return -ENOENT;
	if (ns->err < 0)
		return -EIO;
	*ret = ns;
	return 0;
}

/* One line per mount of @p's namespace, written by @put. CRIU writes
 * children before their parents; the kernel lists a namespace's mounts in
 * the order they were mounted. */
static int put_mnts(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out,
		       void (*put)(struct ck_buf *out, const struct img_mnt *m))
{
	const struct ckpt_mntns *ns;
	int rc;

	rc = proc_mntns(ck, p, &ns);
	if (rc < 0)
		return rc;
	for (size_t i = ns->n_mnts; i-- > 0;)
		put(out, &ns->mnts[i]);
	return 0;
}

int render_mountinfo(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_mnts(ck, p, out, put_mount));
}

int render_mounts(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_mnts(ck, p, out, put_mounts_line));
}

bool render_has_mountinfo(const struct ckpt *ck, const struct ckpt_proc *p)
{
	const struct ckpt_mntns *ns;
	int rc = proc_mntns(ck, p, &ns);

	return rc == 0 || rc == -EIO;
}

/* The cg_set id of @p's leader: 0, -ENOENT (none recorded), -EIO. */
static int proc_cg_set(const struct ckpt *ck, const struct ckpt_proc *p, uint32_t *ret)
{
	const struct img_core *c = ckpt_leader_core(p);

	if (!c)
		return p->n_threads && p->threads[0].core_err == -EBADMSG ? -EIO : -ENOENT;
	if (c->has_cg_set)
		*ret = c->cg_set;
	else if (ck->inv.has_root_cg_set)
		*ret = ck->inv.root_cg_set;
	else
		return -ENOENT;
	return 0;
}

static int put_cgroup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_cg_set *set;
	size_t n_v1 = 0, id;
	uint32_t set_id;
	int rc;

	if (ck->cg_err < 0)
		return ck->cg_err == -ENOENT ? -ENOENT : -EIO;
	rc = proc_cg_set(ck, p, &set_id);
	if (rc < 0)
		return rc;
	set = ckpt_cg_set_find(ck, set_id);
	if (!set)
		return -EIO;	/* the core names a set cgroup.img does not have */
	for (size_t i = 0; i < set->n_ctls; i++)
		n_v1 += set->ctls[i].name && set->ctls[i].name[0];
	id = n_v1;
	for (size_t i = set->n_ctls; i-- > 0;) {
		const struct img_cg_member *m = &set->ctls[i];

		if (!m->name || !m->name[0])
			continue;
		ck_buf_printf(out, "%zu:%s:%s\n", id--, m->name, m->path ? m->path : "/");
	}
	for (size_t i = 0; i < set->n_ctls; i++) {
		const struct img_cg_member *m = &set->ctls[i];

		if (!m->name || !m->name[0])
			ck_buf_printf(out, "0::%s\n", m->path ? m->path : "/");
	}
	return 0;
}

int render_cgroup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_cgroup(ck, p, out));
}

bool render_has_cgroup(const struct ckpt *ck, const struct ckpt_proc *p)
{
	uint32_t id;

	if (ck->cg_err == -ENOENT || (ck->cg_err == 0 && !ck->n_cg_sets))
		return false;
	return ck->cg_err < 0 || proc_cg_set(ck, p, &id) != -ENOENT;
}

/* The id of namespace @kind in @ids and whether it was recorded. */
static bool ns_id_of(const struct img_ids *ids, const char *kind, uint32_t *ret)
{
	static const struct {
		const char *kind;
		size_t has_off, id_off;
	} map[] = {
#define NS_FIELD(k, f) { k, offsetof(struct img_ids, has_##f), offsetof(struct img_ids, f) }
		NS_FIELD("cgroup", cgroup_ns_id), NS_FIELD("ipc", ipc_ns_id), NS_FIELD("mnt", mnt_ns_id),
		NS_FIELD("net", net_ns_id), NS_FIELD("pid", pid_ns_id), NS_FIELD("time", time_ns_id),
		NS_FIELD("user", user_ns_id), NS_FIELD("uts", uts_ns_id),
#undef NS_FIELD
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		bool has;

		if (strcmp(map[i].kind, kind) != 0)
			continue;
		memcpy(&has, (const char *) ids + map[i].has_off, sizeof(has));
		memcpy(ret, (const char *) ids + map[i].id_off, sizeof(*ret));
		return has;
	}
	return false;
}

/* "pid_for_children" shows the pid namespace, "time_for_children" the time one. */
static void ns_base_kind(const char *name, char *buf, size_t size)
{
	const char *us = strstr(name, "_for_children");
	size_t len = us ? (size_t) (us - name) : strlen(name);

	if (len >= size)
		len = size - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
}

int render_ns_link(const struct ckpt *ck, const struct ckpt_proc *p, const char *name, struct ck_buf *out)
{
	size_t start = out->len;
	char kind[16];
	uint32_t id;

	(void) ck;
	if (!p->has_ids)
		return p->ids_err == -ENOENT || p->ids_err == 0 ? -ENOENT : -EIO;
	ns_base_kind(name, kind, sizeof(kind));
	if (!ns_id_of(&p->ids, kind, &id))
		return -ENOENT;
	ck_buf_printf(out, "%s:[%u]", kind, id);
	return render_finish(out, start, 0);
}

bool render_has_ns_link(const struct ckpt_proc *p, const char *name)
{
	char kind[16];
	uint32_t id;

	if (!p->has_ids)
		return p->ids_err != -ENOENT && p->ids_err != 0;
	ns_base_kind(name, kind, sizeof(kind));
	return ns_id_of(&p->ids, kind, &id);
}
