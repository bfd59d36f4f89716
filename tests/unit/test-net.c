/* SPDX-License-Identifier: Apache-2.0 */
/* TAP tests for the namespace views: net/{tcp,tcp6,udp,udp6,unix},
 * mountinfo, mounts, cgroup and the ns/ links (render-net.c, render-ns.c),
 * on a model built by hand after the wl-alpha fixture; and the decoders of
 * img-ns.c on images packed here. Expected texts follow the kernel's
 * formats (net/ipv4/tcp_ipv4.c, udp.c, net/ipv6/, net/unix/af_unix.c,
 * fs/proc_namespace.c, kernel/cgroup/cgroup.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files.pb-c.h"
#include "imgbuild.h"
#include "namespaces.pb-c.h"
#include "render.h"
#include "tap.h"
#include "task.pb-c.h"

#define LO 0x0100007Fu		/* 127.0.0.1 as CRIU stores it */
#define LO6 0x01000000u		/* last word of ::1 */

/* ---- the model ---- */

static struct img_file files[] = {
	{ .id = 10, .type = IMG_FD_UNIXSK, .ino = 23621, .sk_family = 1, .sk_type = 1, .sk_state = 1,
	  .peer = 23622, .has_ns_id = true, .ns_id = 10 },
	{ .id = 11, .type = IMG_FD_UNIXSK, .ino = 23622, .sk_family = 1, .sk_type = 1, .sk_state = 1,
	  .peer = 23621, .has_ns_id = true, .ns_id = 10 },
	{ .id = 12, .type = IMG_FD_UNIXSK, .ino = 23623, .sk_family = 1, .sk_type = 1, .sk_state = 10,
	  .backlog = 4, .sk_name = (uint8_t *) "/tmp/work/ctl.sock", .sk_name_len = 19,
	  .has_ns_id = true, .ns_id = 10 },
	{ .id = 13, .type = IMG_FD_INETSK, .ino = 23624, .sk_family = 2, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 10, .src_port = 8080, .backlog = 4, .src_addr = { LO }, .n_src_addr = 1,
	  .n_dst_addr = 1, .has_ns_id = true, .ns_id = 10 },
	{ .id = 14, .type = IMG_FD_INETSK, .ino = 23625, .sk_family = 2, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 1, .src_port = 52018, .dst_port = 8080, .src_addr = { LO }, .n_src_addr = 1,
	  .dst_addr = { LO }, .n_dst_addr = 1, .has_ns_id = true, .ns_id = 10 },
	{ .id = 15, .type = IMG_FD_INETSK, .ino = 23626, .sk_family = 2, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 1, .src_port = 8080, .dst_port = 52018, .src_addr = { LO }, .n_src_addr = 1,
	  .dst_addr = { LO }, .n_dst_addr = 1, .has_ns_id = true, .ns_id = 10 },
	{ .id = 16, .type = IMG_FD_INETSK, .ino = 23627, .sk_family = 2, .sk_type = 2, .sk_proto = 17,
	  .sk_state = 7, .src_port = 5353, .src_addr = { LO }, .n_src_addr = 1, .n_dst_addr = 1,
	  .has_ns_id = true, .ns_id = 10 },
	/* a TCP socket neither listening nor connected: not in /proc/net/tcp */
	{ .id = 17, .type = IMG_FD_INETSK, .ino = 23628, .sk_family = 2, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 7, .src_port = 9000, .src_addr = { LO }, .n_src_addr = 1, .n_dst_addr = 1,
	  .has_ns_id = true, .ns_id = 10 },
	/* another network namespace */
	{ .id = 18, .type = IMG_FD_INETSK, .ino = 23629, .sk_family = 2, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 10, .src_port = 22, .n_src_addr = 1, .n_dst_addr = 1, .has_ns_id = true, .ns_id = 99 },
	{ .id = 19, .type = IMG_FD_INETSK, .ino = 30001, .sk_family = 10, .sk_type = 1, .sk_proto = 6,
	  .sk_state = 10, .src_port = 8443, .backlog = 128, .src_addr = { 0, 0, 0, LO6 }, .n_src_addr = 4,
	  .n_dst_addr = 4, .has_ns_id = true, .ns_id = 10 },
	{ .id = 20, .type = IMG_FD_INETSK, .ino = 30002, .sk_family = 10, .sk_type = 2, .sk_proto = 17,
	  .sk_state = 7, .src_port = 53, .n_src_addr = 4, .n_dst_addr = 4, .has_ns_id = true, .ns_id = 10 },
	/* unbound UDP: not listed */
	{ .id = 21, .type = IMG_FD_INETSK, .ino = 30003, .sk_family = 2, .sk_type = 2, .sk_proto = 17,
	  .sk_state = 7, .n_src_addr = 1, .n_dst_addr = 1, .has_ns_id = true, .ns_id = 10 },
	/* abstract name with a NUL inside; no ns_id: the root namespace (2) */
	{ .id = 22, .type = IMG_FD_UNIXSK, .ino = 42, .sk_family = 1, .sk_type = 2, .sk_state = 7,
	  .sk_name = (uint8_t *) "\0ckpt\0x", .sk_name_len = 7 },
	{ .id = 23, .type = IMG_FD_REG, .name = "/dev/null" },
};

static struct ckpt_tcpq tcpqs[] = {
	{ .ino = 23624, .err = -ENOENT },
	{ .ino = 23625, .err = 0, .inq_len = 0, .outq_len = 0 },
	{ .ino = 23626, .err = 0, .inq_len = 23, .outq_len = 5 },
	{ .ino = 23628, .err = -ENOENT },
	{ .ino = 23629, .err = -ENOENT },
	{ .ino = 30001, .err = -ENOENT },
};

#define MS_RO 0x1u
#define MS_NS (0x2u | 0x4u | 0x8u)
#define MS_RELAT 0x200000u
#define DEV(ma, mi) (((ma) << 20) | (mi))

/* file order: children before parents, as CRIU writes them */
static struct img_mnt mnts[] = {
	{ .mnt_id = 91, .parent_mnt_id = 77, .root_dev = DEV(0, 51), .fstype = 16,
	  .flags = (1u << 17) | 0x400, .root = "/", .mountpoint = "/mnt/s", .source = "u@h:/",
	  .options = "user_id=0", .fsname = "fuse.sshfs" },
	{ .mnt_id = 90, .parent_mnt_id = 77, .root_dev = DEV(0, 50), .fstype = 5,
	  .flags = (1u << 20) | (1u << 19) | 0x1000000u, .has_shared_id = true, .shared_id = 5,
	  .has_master_id = true, .master_id = 3, .root = "/", .mountpoint = "/mnt/a\tb\\c", .source = "",
	  .options = "size=64k" },
	{ .mnt_id = 84, .parent_mnt_id = 77, .root_dev = DEV(254, 0), .fstype = 0, .flags = MS_RELAT,
	  .has_sb_flags = true, .root = "/run/x/my hosts", .mountpoint = "/etc/hosts",
	  .source = "/dev/vda", .options = "discard" },
	{ .mnt_id = 80, .parent_mnt_id = 77, .root_dev = DEV(0, 45), .fstype = 2,
	  .flags = MS_RO | MS_NS | MS_RELAT, .has_sb_flags = true, .sb_flags = MS_RO, .root = "/",
	  .mountpoint = "/sys", .source = "sysfs", .options = "" },
	{ .mnt_id = 77, .parent_mnt_id = 50, .root_dev = DEV(0, 40), .fstype = 17, .flags = MS_RELAT,
	  .has_sb_flags = true, .root = "/", .mountpoint = "/", .source = "overlay",
	  .options = "lowerdir=/l" },
};

static struct ckpt_mntns mntns[] = {
	{ .id = 13, .mnts = mnts, .n_mnts = ARRAY_SIZE(mnts) },
	{ .id = 14, .err = -EBADMSG },
};

static struct img_cg_member ctls[] = {
	{ .name = "", .path = "/pod" },
	{ .name = "cpu,cpuacct", .path = "/pod" },
	{ .name = "memory", .path = "/pod/m" },
	{ .name = "name=systemd", .path = "/pod" },
};

static struct img_cg_set cg_sets[] = {
	{ .id = 1, .ctls = ctls, .n_ctls = 1 },
	{ .id = 2, .ctls = ctls, .n_ctls = ARRAY_SIZE(ctls) },
};

static struct img_core core_1 = { .has_tc = true, .task_state = 1, .has_cg_set = true, .cg_set = 2 };
static struct img_core core_2 = { .has_tc = true, .task_state = 1 };	/* no cg_set: root_cg_set */
static struct ckpt_thread thr_1 = { .tid = 1, .core = &core_1 };
static struct ckpt_thread thr_2 = { .tid = 2, .core = &core_2 };

#define IDS(net, mnt) { .has_pid_ns_id = true, .pid_ns_id = 9, .has_net_ns_id = true, .net_ns_id = (net), \
	.has_ipc_ns_id = true, .ipc_ns_id = 11, .has_uts_ns_id = true, .uts_ns_id = 12, \
	.has_mnt_ns_id = true, .mnt_ns_id = (mnt), .has_user_ns_id = true, .user_ns_id = 7, \
	.has_time_ns_id = true, .time_ns_id = 5 }

static struct ckpt_proc procs[] = {
	{ .pid = 1, .threads = &thr_1, .n_threads = 1, .has_ids = true, .ids = IDS(10, 13) },
	{ .pid = 2, .threads = &thr_2, .n_threads = 1, .has_ids = true, .ids = IDS(2, 14) },
	{ .pid = 3, .ids_err = -EBADMSG },
	{ .pid = 4, .ids_err = -ENOENT },
};

static struct ckpt ck = {
	.inv = { .img_version = 2, .ns_per_id = true, .has_root_cg_set = true, .root_cg_set = 1 },
	.procs = procs, .n_procs = ARRAY_SIZE(procs),
	.files = files, .n_files = ARRAY_SIZE(files),
	.mntns = mntns, .n_mntns = ARRAY_SIZE(mntns),
	.cg_sets = cg_sets, .n_cg_sets = ARRAY_SIZE(cg_sets),
	.tcpqs = tcpqs, .n_tcpqs = ARRAY_SIZE(tcpqs),
	.has_root_ids = true, .root_ids = { .has_net_ns_id = true, .net_ns_id = 2 },
};

/* ---- expected texts ---- */

#define TCP_HDR "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
#define UDP_HDR "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
#define V6_HDR "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
#define KPTR "0000000000000000"

static const char *const tcp_lines[] = {
	TCP_HDR,
	"   0: 0100007F:1F90 00000000:0000 0A 00000004:00000000 00:00000000 00000000     0        0 23624 0 " KPTR " 0 0 0 0 0",
	"   1: 0100007F:CB32 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 23625 0 " KPTR " 0 0 0 0 0",
	"   2: 0100007F:1F90 0100007F:CB32 01 00000005:00000017 00:00000000 00000000     0        0 23626 0 " KPTR " 0 0 0 0 0",
};

static const char *const udp_lines[] = {
	UDP_HDR,
	"    0: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 23627 0 " KPTR " 0",
};

static const char tcp6_text[] =
	V6_HDR "\n"
	"   0: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A 00000080:00000000 00:00000000 00000000     0        0 30001 0 " KPTR " 0 0 0 0 0\n";

static const char udp6_text[] =
	V6_HDR " ref pointer drops\n"
	"    0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 30002 0 " KPTR " 0\n";

static const char unix_text[] =
	"Num       RefCount Protocol Flags    Type St Inode Path\n"
	KPTR ": 00000000 00000000 00000000 0001 03 23621\n"
	KPTR ": 00000000 00000000 00000000 0001 03 23622\n"
	KPTR ": 00000000 00000000 00010000 0001 01 23623 /tmp/work/ctl.sock\n";

static const char unix_root_text[] =
	"Num       RefCount Protocol Flags    Type St Inode Path\n"
	KPTR ": 00000000 00000000 00000000 0002 01    42 @ckpt@x\n";

static const char mountinfo_text[] =
	"77 50 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/l\n"
	"80 77 0:45 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
	"84 77 254:0 /run/x/my\\040hosts /etc/hosts rw,relatime - unknown /dev/vda rw,discard\n"
	"90 77 0:50 / /mnt/a\\011b\\134c rw shared:5 master:3 - tmpfs none rw,size=64k\n"
	"91 77 0:51 / /mnt/s rw,noatime unbindable - fuse.sshfs u@h:/ rw,user_id=0\n";

static const char mounts_text[] =
	"overlay / overlay rw,relatime,lowerdir=/l 0 0\n"
	"sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n"
	"/dev/vda /etc/hosts unknown rw,relatime,discard 0 0\n"
	"none /mnt/a\\011b\\134c tmpfs rw,size=64k 0 0\n"
	"u@h:/ /mnt/s fuse.sshfs rw,noatime,user_id=0 0 0\n";

static const char cgroup_text[] =
	"3:name=systemd:/pod\n"
	"2:memory:/pod/m\n"
	"1:cpu,cpuacct:/pod\n"
	"0::/pod\n";

/* @lines joined, each padded with spaces to @width columns, then "\n". */
static char *padded(const char *const *lines, size_t n, size_t width)
{
	struct ck_buf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(lines[i]);

		ck_buf_puts(&b, lines[i]);
		for (; len < width; len++)
			ck_buf_putc(&b, ' ');
		ck_buf_putc(&b, '\n');
	}
	return ck_buf_steal(&b, NULL);
}

/* ---- render cases ---- */

enum view { V_TCP, V_TCP6, V_UDP, V_UDP6, V_UNIX, V_MOUNTINFO, V_MOUNTS, V_CGROUP, V_NS };

struct rcase {
	const char *name;
	enum view view;
	size_t proc;		/* index into procs[] */
	const char *arg;	/* ns link name */
	const char *expect;	/* NULL: see @err */
	int err;
};

static const struct rcase rcases[] = {
	{ "tcp6: the v6 listener, unpadded", V_TCP6, 0, NULL, tcp6_text, 0 },
	{ "udp6: the bound v6 socket", V_UDP6, 0, NULL, udp6_text, 0 },
	{ "unix: socketpair and the listener with its path", V_UNIX, 0, NULL, unix_text, 0 },
	{ "unix: a socket without ns_id is in the root netns, abstract name", V_UNIX, 1, NULL,
	  unix_root_text, 0 },
	{ "mountinfo: parents first, escapes, propagation, fstypes", V_MOUNTINFO, 0, NULL, mountinfo_text, 0 },
	{ "mounts: the same mounts in fstab form", V_MOUNTS, 0, NULL, mounts_text, 0 },
	{ "cgroup: v1 hierarchies counted down, v2 last", V_CGROUP, 0, NULL, cgroup_text, 0 },
	{ "cgroup: no cg_set falls back to inventory root_cg_set", V_CGROUP, 1, NULL, "0::/pod\n", 0 },
	{ "ns/net is net:[10]", V_NS, 0, "net", "net:[10]", 0 },
	{ "ns/pid_for_children is the pid ns", V_NS, 0, "pid_for_children", "pid:[9]", 0 },
	{ "ns/time_for_children is the time ns", V_NS, 0, "time_for_children", "time:[5]", 0 },
	{ "ns/cgroup not recorded: ENOENT", V_NS, 0, "cgroup", NULL, -ENOENT },
	{ "damaged ids: net/tcp EIO", V_TCP, 2, NULL, NULL, -EIO },
	{ "damaged ids: ns/net EIO", V_NS, 2, "net", NULL, -EIO },
	{ "damaged ids: mountinfo EIO", V_MOUNTINFO, 2, NULL, NULL, -EIO },
	{ "missing ids: net/unix ENOENT", V_UNIX, 3, NULL, NULL, -ENOENT },
	{ "damaged mountpoints image: mountinfo EIO", V_MOUNTINFO, 1, NULL, NULL, -EIO },
};

static int render(const struct ckpt *c, enum view v, const struct ckpt_proc *p, const char *arg,
		  struct ck_buf *out)
{
	switch (v) {
	case V_TCP:
		return render_net_inet(c, p, 2, 6, out);
	case V_TCP6:
		return render_net_inet(c, p, 10, 6, out);
	case V_UDP:
		return render_net_inet(c, p, 2, 17, out);
	case V_UDP6:
		return render_net_inet(c, p, 10, 17, out);
	case V_UNIX:
		return render_net_unix(c, p, out);
	case V_MOUNTINFO:
		return render_mountinfo(c, p, out);
	case V_MOUNTS:
		return render_mounts(c, p, out);
	case V_CGROUP:
		return render_cgroup(c, p, out);
	case V_NS:
		return render_ns_link(c, p, arg, out);
	}
	return -EINVAL;
}

/* Render and compare; on a mismatch print both texts as TAP comments. */
static bool check_text(const struct ckpt *c, enum view v, const struct ckpt_proc *p, const char *arg,
		       const char *expect, int err)
{
	struct ck_buf out = { 0 };
	bool ok;
	int rc;

	ck_buf_puts(&out, "keep");	/* renderers append, and drop their part on error */
	rc = render(c, v, p, arg, &out);
	if (expect)
		ok = rc == 0 && strcmp(out.data + 4, expect) == 0;
	else
		ok = rc == err && out.len == 4;
	if (!ok)
		printf("# rc %d, got:\n%s\n# expected:\n%s\n", rc, out.data ? out.data + 4 : "",
		       expect ? expect : "(error)");
	ck_buf_done(&out);
	return ok;
}

static void render_tests(void)
{
	static const char *const no_lines[] = { TCP_HDR };
	_cleanup_free_ char *tcp = padded(tcp_lines, ARRAY_SIZE(tcp_lines), 149);
	_cleanup_free_ char *udp = padded(udp_lines, ARRAY_SIZE(udp_lines), 127);
	_cleanup_free_ char *tcp_other = padded(no_lines, 1, 149);
	struct ckpt bad = ck;
	struct ckpt_tcpq bad_q[ARRAY_SIZE(tcpqs)];

	CHECK(check_text(&ck, V_TCP, &procs[0], NULL, tcp, 0),
	      "tcp: listeners first, padded to 149, queues from tcp-stream, CLOSE left out");
	CHECK(check_text(&ck, V_UDP, &procs[0], NULL, udp, 0), "udp: bound socket padded to 127");
	CHECK(check_text(&ck, V_TCP, &procs[1], NULL, tcp_other, 0),
	      "tcp of another netns: header only");
	for (size_t i = 0; i < ARRAY_SIZE(rcases); i++) {
		const struct rcase *c = &rcases[i];

		CHECK(check_text(&ck, c->view, &procs[c->proc], c->arg, c->expect, c->err), "%s", c->name);
	}

	bad.files_err = -EBADMSG;
	CHECK(check_text(&bad, V_UNIX, &procs[0], NULL, NULL, -EIO), "damaged files.img: net/unix EIO");
	bad = ck;
	bad.files = NULL;
	bad.n_files = 0;
	bad.files_err = -ENOENT;
	CHECK(check_text(&bad, V_UDP6, &procs[0], NULL, V6_HDR " ref pointer drops\n", 0),
	      "no files.img: header only");
	bad = ck;
	memcpy(bad_q, tcpqs, sizeof(bad_q));
	bad_q[2].err = -EBADMSG;
	bad.tcpqs = bad_q;
	CHECK(check_text(&bad, V_TCP, &procs[0], NULL, NULL, -EIO), "damaged tcp-stream: net/tcp EIO");
	bad = ck;
	bad.cg_err = -EBADMSG;
	CHECK(check_text(&bad, V_CGROUP, &procs[0], NULL, NULL, -EIO), "damaged cgroup.img: cgroup EIO");
	bad = ck;
	core_1.cg_set = 7;
	CHECK(check_text(&bad, V_CGROUP, &procs[0], NULL, NULL, -EIO), "cg_set not in cgroup.img: EIO");
	core_1.cg_set = 2;

	CHECK(render_has_mountinfo(&ck, &procs[0]) && render_has_mountinfo(&ck, &procs[1]) &&
	      render_has_mountinfo(&ck, &procs[2]) && !render_has_mountinfo(&ck, &procs[3]),
	      "mountinfo shown when the image exists or is damaged");
	CHECK(render_has_ns_link(&procs[0], "uts") && !render_has_ns_link(&procs[0], "cgroup") &&
	      render_has_ns_link(&procs[2], "cgroup") && !render_has_ns_link(&procs[3], "net"),
	      "ns links shown for recorded ids, all of them when ids is damaged");
}

/* ---- decoders ---- */

static void decoder_tests(void)
{
	struct ck_buf b;
	struct ck_blob blob;
	struct img_mnt *m = NULL;
	struct img_cg_set *s = NULL;
	struct img_tcp_stream ts = { 0 };
	struct img_ids ids = { 0 };
	size_t n = 0;
	int rc;

	{
		MntEntry e = MNT_ENTRY__INIT;

		e.fstype = 5;
		e.mnt_id = 79;
		e.root_dev = DEV(0, 44);
		e.parent_mnt_id = 77;
		e.flags = 0x100000a;
		e.root = "/";
		e.mountpoint = "/dev";
		e.source = "tmpfs";
		e.options = "size=65536k,mode=755";
		e.has_sb_flags = true;
		e.sb_flags = 0;
		img_start(&b, IMG_MAGIC_MNTS);
		img_add(&b, &e.base);
		e.mnt_id = 80;
		e.has_shared_id = true;
		e.shared_id = 4;
		img_add(&b, &e.base);
		blob = blob_of(&b);
		rc = img_read_mnts(&blob, &m, &n);
		CHECK(rc == 0 && n == 2 && m[0].mnt_id == 79 && m[1].mnt_id == 80 && m[1].has_shared_id &&
		      m[1].shared_id == 4 && !strcmp(m[0].options, "size=65536k,mode=755") &&
		      m[0].has_sb_flags && !m[0].fsname, "mountpoints: two entries decoded");
		img_mnts_free(m, n);
		m = NULL;
		b.len -= 3;
		blob = blob_of(&b);
		CHECK(img_read_mnts(&blob, &m, &n) == -EBADMSG && !m, "mountpoints: truncated record");
		blob.len = 6;
		CHECK(img_read_mnts(&blob, &m, &n) == -EBADMSG, "mountpoints: truncated magic");
		ck_buf_done(&b);
		img_start(&b, IMG_MAGIC_CGROUP);
		img_add(&b, &e.base);
		blob = blob_of(&b);
		CHECK(img_read_mnts(&blob, &m, &n) == -EBADMSG, "mountpoints: bad magic");
		ck_buf_done(&b);
	}
	{
		CgMemberEntry m1 = CG_MEMBER_ENTRY__INIT, m2 = CG_MEMBER_ENTRY__INIT;
		CgMemberEntry *mp[] = { &m1, &m2 };
		CgSetEntry set = CG_SET_ENTRY__INIT;
		CgSetEntry *sp[] = { &set };
		CgroupEntry cg = CGROUP_ENTRY__INIT;

		m1.name = "";
		m1.path = "/a";
		m2.name = "cpu";
		m2.path = "/b";
		m2.has_cgns_prefix = true;
		m2.cgns_prefix = 2;
		set.id = 3;
		set.n_ctls = 2;
		set.ctls = mp;
		cg.n_sets = 1;
		cg.sets = sp;
		img_start(&b, IMG_MAGIC_CGROUP);
		img_add(&b, &cg.base);
		blob = blob_of(&b);
		rc = img_read_cg_sets(&blob, &s, &n);
		CHECK(rc == 0 && n == 1 && s[0].id == 3 && s[0].n_ctls == 2 && !strcmp(s[0].ctls[0].path, "/a") &&
		      !strcmp(s[0].ctls[1].name, "cpu") && s[0].ctls[1].has_cgns_prefix,
		      "cgroup: one set with two members");
		img_cg_sets_free(s, n);
		ck_buf_done(&b);
	}
	{
		TcpStreamEntry t = TCP_STREAM_ENTRY__INIT;

		t.inq_len = 3;
		t.outq_len = 2;
		img_start(&b, IMG_MAGIC_TCP_STREAM);
		img_add(&b, &t.base);
		ck_buf_add(&b, "abcde", 5);
		blob = blob_of(&b);
		rc = img_read_tcp_stream(&blob, &ts);
		CHECK(rc == 0 && ts.inq_len == 3 && ts.outq_len == 2, "tcp-stream: queue lengths");
		blob.len -= 1;
		CHECK(img_read_tcp_stream(&blob, &ts) == -EBADMSG, "tcp-stream: queue bytes cut short");
		ck_buf_done(&b);
	}
	{
		TaskKobjIdsEntry r = TASK_KOBJ_IDS_ENTRY__INIT;
		InventoryEntry inv = INVENTORY_ENTRY__INIT;

		inv.img_version = 2;
		img_start(&b, IMG_MAGIC_INVENTORY);
		img_add(&b, &inv.base);
		blob = blob_of(&b);
		CHECK(img_read_root_ids(&blob, &ids) == -ENOENT, "inventory without root_ids: ENOENT");
		ck_buf_done(&b);
		r.has_net_ns_id = true;
		r.net_ns_id = 2;
		inv.root_ids = &r;
		img_start(&b, IMG_MAGIC_INVENTORY);
		img_add(&b, &inv.base);
		blob = blob_of(&b);
		CHECK(img_read_root_ids(&blob, &ids) == 0 && ids.has_net_ns_id && ids.net_ns_id == 2,
		      "inventory root_ids decoded");
		ck_buf_done(&b);
	}
}

int main(void)
{
	render_tests();
	decoder_tests();
	return tap_done();
}
