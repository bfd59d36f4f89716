/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/net/{tcp,tcp6,udp,udp6,unix} in the kernel's /proc/net formats,
 * from the INETSK and UNIXSK entries of files.img (docs/formats.md §2.2).
 *
 * Which sockets: like /proc/net, every socket of the task's network
 * namespace, which here means every socket files.img holds with that ns_id
 * (a socket without ns_id is in the root namespace, inventory root_ids).
 * CRIU only dumps sockets some task holds an fd of, so sockets the dumped
 * tree does not hold are missing. As the kernel does, net/tcp leaves out
 * TCP sockets in CLOSE (neither listening nor connected) and net/udp
 * unbound UDP sockets.
 *
 * Not in the images, printed as the kernel prints zero: uid, timers,
 * retransmits, reference counts, kernel pointers (also zero when
 * kptr_restrict hides them), rto/ato/cwnd/ssthresh, UDP drops and the UDP
 * receive queue. `sl` counts the lines from 0; for UDP the kernel prints the
 * hash bucket there, which depends on a per-namespace secret.
 * tx_queue is the queue length CRIU recorded for the socket (`backlog`:
 * the accept backlog limit for a listener, the unacknowledged bytes for a
 * connected TCP socket), rx_queue the inq length of tcp-stream-<ino>.img;
 * when that image exists its outq length is used for tx_queue too. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define NET_AF_INET 2
#define NET_AF_INET6 10
#define NET_TCP 6
#define NET_UDP 17
#define NET_TCP_ESTABLISHED 1
#define NET_TCP_CLOSE 7
#define NET_TCP_LISTEN 10
/* __SO_ACCEPTCON, the Flags column of a listening unix socket */
#define NET_UNIX_ACCEPTCON 0x10000u
#define NET_SS_UNCONNECTED 1
#define NET_SS_CONNECTED 3
/* tcp4 and udp4 lines are padded with spaces to these widths */
#define NET_TCP4_WIDTH 149
#define NET_UDP4_WIDTH 127
#define NET_KPTR "0000000000000000"

/* The network namespace a /<pid>/net file lists. */
struct netns {
	bool known;	/* false for images from before namespaces were tracked */
	uint32_t id;
};

/* The network namespace of @p, and whether the sockets can be listed:
 * 0, or -EIO / -ENOENT when ids-<pid>.img was damaged / is missing, -EIO
 * when files.img was damaged (absent: no sockets). */
static int proc_netns(const struct ckpt *ck, const struct ckpt_proc *p, struct netns *ret)
{
	if (!p->has_ids)
		return p->ids_err == -ENOENT || p->ids_err == 0 ? -ENOENT : -EIO;
	*ret = (struct netns) { p->ids.has_net_ns_id, p->ids.net_ns_id };
	return ck->files_err < 0 && ck->files_err != -ENOENT ? -EIO : 0;
}

/* Whether socket @f belongs to the namespace @ns. */
static bool sk_in_netns(const struct ckpt *ck, const struct img_file *f, const struct netns *ns)
{
	if (!ns->known)
		return true;	/* one namespace */
	if (f->has_ns_id)
		return f->ns_id == ns->id;
	return !ck->has_root_ids || !ck->root_ids.has_net_ns_id || ck->root_ids.net_ns_id == ns->id;
}

static void pad_line(struct ck_buf *out, size_t line_start, size_t width)
{
	while (out->len - line_start < width && !out->oom)
		ck_buf_putc(out, ' ');
	ck_buf_putc(out, '\n');
}

static void put_addr(struct ck_buf *out, const uint32_t *w, size_t n, bool v6, uint32_t port)
{
	if (v6)
		ck_buf_printf(out, "%08X%08X%08X%08X:%04X", n > 0 ? w[0] : 0, n > 1 ? w[1] : 0,
			      n > 2 ? w[2] : 0, n > 3 ? w[3] : 0, port & 0xffff);
	else
		ck_buf_printf(out, "%08X:%04X", n > 0 ? w[0] : 0, port & 0xffff);
}

/* Whether /proc/net would list @f in the file for (@family, @proto). */
static bool inet_listed(const struct img_file *f, int family, int proto)
{
	if (f->type != IMG_FD_INETSK || f->sk_family != (uint32_t) family || f->sk_proto != (uint32_t) proto)
		return false;
	if (proto == NET_TCP)
		return f->sk_state != NET_TCP_CLOSE;
	return f->src_port != 0;
}

/* tx_queue and rx_queue of @f. Returns 0 or -EIO (damaged tcp-stream). */
static int inet_queues(const struct ckpt *ck, const struct img_file *f, uint32_t *ret_tx, uint32_t *ret_rx)
{
	const struct ckpt_tcpq *q = f->sk_proto == NET_TCP ? ckpt_tcpq_find(ck, f->ino) : NULL;

	*ret_tx = f->backlog;
	*ret_rx = 0;
	if (!q || q->err == -ENOENT)
		return 0;
	if (q->err < 0)
		return -EIO;
	if (f->sk_state != NET_TCP_LISTEN) {
		*ret_tx = q->outq_len;
		*ret_rx = q->inq_len;
	}
	return 0;
}

static int put_inet_line(const struct ckpt *ck, const struct img_file *f, size_t sl, int family, int proto,
			 struct ck_buf *out)
{
	bool v6 = family == NET_AF_INET6;
	size_t line_start = out->len;
	uint32_t tx, rx;
	int rc;

	rc = inet_queues(ck, f, &tx, &rx);
	if (rc < 0)
		return rc;
	ck_buf_printf(out, proto == NET_TCP ? "%4zu: " : "%5zu: ", sl);
	put_addr(out, f->src_addr, f->n_src_addr, v6, f->src_port);
	ck_buf_putc(out, ' ');
	put_addr(out, f->dst_addr, f->n_dst_addr, v6, f->dst_port);
	/* st tx:rx tr:when retrnsmt uid timeout inode */
	ck_buf_printf(out, " %02X %08X:%08X %02X:%08lX %08X %5u %8d %u", f->sk_state & 0xff, tx, rx, 0, 0UL, 0,
		      0U, 0, f->ino);
	if (proto == NET_TCP)	/* refcnt pointer rto ato quick|pingpong cwnd ssthresh */
		ck_buf_puts(out, " 0 " NET_KPTR " 0 0 0 0 0");
	else			/* ref pointer drops */
		ck_buf_puts(out, " 0 " NET_KPTR " 0");
	if (v6)
		ck_buf_putc(out, '\n');
	else
		pad_line(out, line_start, proto == NET_TCP ? NET_TCP4_WIDTH : NET_UDP4_WIDTH);
	return 0;
}

static void put_inet_header(struct ck_buf *out, int family, int proto)
{
	static const char tcp4[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
	static const char udp4[] =
		"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
	static const char v6[] =
		"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
	size_t start = out->len;

	if (family == NET_AF_INET6) {
		ck_buf_printf(out, "%s%s\n", v6, proto == NET_TCP ? "" : " ref pointer drops");
		return;
	}
	ck_buf_puts(out, proto == NET_TCP ? tcp4 : udp4);
	pad_line(out, start, proto == NET_TCP ? NET_TCP4_WIDTH : NET_UDP4_WIDTH);
}

static int put_inet(const struct ckpt *ck, const struct ckpt_proc *p, int family, int proto,
		       struct ck_buf *out)
{
	struct netns ns;
	size_t sl = 0;
	int rc;

	rc = proc_netns(ck, p, &ns);
	if (rc < 0)
		return rc;
	put_inet_header(out, family, proto);
	/* The kernel walks the listening hash before the established one. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ck->n_files; i++) {
			const struct img_file *f = &ck->files[i];

			if (!inet_listed(f, family, proto) || !sk_in_netns(ck, f, &ns))
				continue;
			if (proto == NET_TCP && (f->sk_state == NET_TCP_LISTEN) != (pass == 0))
				continue;
			if (proto != NET_TCP && pass == 1)
				continue;
			rc = put_inet_line(ck, f, sl++, family, proto, out);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int render_net_inet(const struct ckpt *ck, const struct ckpt_proc *p, int family, int proto,
		       struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_inet(ck, p, family, proto, out));
}

/* The Path column: a bound name as the kernel prints it. Abstract names
 * start with '@'; a NUL inside a name prints as '@'; the NUL that ends a
 * path name is not printed. Relative names print as they were bound. */
void render_unix_name(struct ck_buf *out, const uint8_t *name, size_t len)
{
	size_t i = 0;

	if (!len)
		return;
	if (name[0] == '\0') {
		ck_buf_putc(out, '@');
		i = 1;
	} else if (name[len - 1] == '\0') {
		len--;
	}
	for (; i < len; i++)
		ck_buf_putc(out, name[i] ? (char) name[i] : '@');
}

static int put_unix(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	struct netns ns;
	int rc;

	rc = proc_netns(ck, p, &ns);
	if (rc < 0)
		return rc;
	ck_buf_puts(out, "Num       RefCount Protocol Flags    Type St Inode Path\n");
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i];

		if (f->type != IMG_FD_UNIXSK || !sk_in_netns(ck, f, &ns))
			continue;
		/* The socket state column is derived: every dumped socket is
		 * held by a file, so it is connected or unconnected. */
		ck_buf_printf(out, NET_KPTR ": %08X %08X %08X %04X %02X %5u", 0U, 0U,
			      f->sk_state == NET_TCP_LISTEN ? NET_UNIX_ACCEPTCON : 0U, f->sk_type & 0xffff,
			      f->sk_state == NET_TCP_ESTABLISHED ? NET_SS_CONNECTED : NET_SS_UNCONNECTED,
			      f->ino);
		if (f->sk_name && f->sk_name_len) {
			ck_buf_putc(out, ' ');
			render_unix_name(out, f->sk_name, f->sk_name_len);
		}
		ck_buf_putc(out, '\n');
	}
	return 0;
}

int render_net_unix(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_unix(ck, p, out));
}
