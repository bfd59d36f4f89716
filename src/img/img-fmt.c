/* SPDX-License-Identifier: Apache-2.0 */
/* Pretty-printing hints and text encoders for img-json.c. The hints and
 * the flag/dict names are facts about CRIU 4.2's images and crit's output;
 * every byte produced here is checked against crit's goldens in
 * tests/unit/test-json.c. */
#include <errno.h>
#include <string.h>

#include "common.pb-c.h"
#include "files.pb-c.h"
#include "namespaces.pb-c.h"
#include "task.pb-c.h"

#include "img-fmt.h"
#include "img-priv.h"

/* Field options from CRIU's opts.proto, per message and field. */
static const struct img_fmt_hint hints[] = {
	{ "bpfmap_file_entry", "flags", .flags = "rfile.flags" },
	{ "thread_info_aarch64", "clear_tid_addr", .hex = true },
	{ "thread_info_aarch64", "gpregs", .hex = true },
	{ "thread_info_arm", "clear_tid_addr", .hex = true },
	{ "thread_info_arm", "gpregs", .hex = true },
	{ "thread_info_mips", "clear_tid_addr", .hex = true },
	{ "thread_info_mips", "gpregs", .hex = true },
	{ "thread_info_mips", "fpregs", .hex = true },
	{ "task_core_entry", "task_state", .dict = "gen" },
	{ "task_core_entry", "blk_sigset", .hex = true },
	{ "task_core_entry", "blk_sigset_extended", .hex = true },
	{ "thread_info_ppc64", "clear_tid_addr", .hex = true },
	{ "thread_info_ppc64", "gpregs", .hex = true },
	{ "thread_info_s390", "clear_tid_addr", .hex = true },
	{ "thread_info_s390", "gpregs", .hex = true },
	{ "thread_info_s390", "fpregs", .hex = true },
	{ "thread_info_s390", "vxrs_low", .hex = true },
	{ "thread_info_s390", "vxrs_high", .hex = true },
	{ "thread_info_s390", "gs_cb", .hex = true },
	{ "thread_info_s390", "gs_bc", .hex = true },
	{ "thread_info_s390", "ri_cb", .hex = true },
	{ "thread_info_x86", "clear_tid_addr", .hex = true },
	{ "thread_info_x86", "gpregs", .hex = true },
	{ "irmap_cache_entry", "dev", .dev = true, .odev = true },
	{ "inotify_wd_entry", "mask", .hex = true },
	{ "inotify_wd_entry", "ignored_mask", .hex = true },
	{ "inotify_wd_entry", "s_dev", .dev = true },
	{ "inotify_file_entry", "flags", .hex = true },
	{ "fanotify_mark_entry", "mflags", .hex = true },
	{ "fanotify_mark_entry", "mask", .hex = true },
	{ "fanotify_mark_entry", "ignored_mask", .hex = true },
	{ "fanotify_mark_entry", "s_dev", .dev = true },
	{ "fanotify_file_entry", "flags", .hex = true },
	{ "fanotify_file_entry", "faflags", .hex = true },
	{ "fanotify_file_entry", "evflags", .hex = true },
	{ "ghost_file_entry", "dev", .dev = true },
	{ "ghost_file_entry", "rdev", .dev = true, .odev = true },
	{ "memfd_file_entry", "flags", .flags = "rfile.flags" },
	{ "memfd_inode_entry", "seals", .flags = "seals.flags" },
	{ "mm_entry", "mm_start_code", .hex = true },
	{ "mm_entry", "mm_end_code", .hex = true },
	{ "mm_entry", "mm_start_data", .hex = true },
	{ "mm_entry", "mm_end_data", .hex = true },
	{ "mm_entry", "mm_start_stack", .hex = true },
	{ "mm_entry", "mm_start_brk", .hex = true },
	{ "mm_entry", "mm_brk", .hex = true },
	{ "mm_entry", "mm_arg_start", .hex = true },
	{ "mm_entry", "mm_arg_end", .hex = true },
	{ "mm_entry", "mm_env_start", .hex = true },
	{ "mm_entry", "mm_env_end", .hex = true },
	{ "mnt_entry", "root_dev", .dev = true },
	{ "mnt_entry", "flags", .hex = true },
	{ "mnt_entry", "sb_flags", .hex = true },
	{ "net_device_entry", "flags", .hex = true },
	{ "packet_sock_entry", "flags", .hex = true },
	{ "pagemap_entry", "vaddr", .hex = true },
	{ "pagemap_entry", "flags", .flags = "pmap.flags" },
	{ "pipe_entry", "flags", .hex = true },
	{ "reg_file_entry", "flags", .flags = "rfile.flags" },
	{ "sa_entry", "sigaction", .hex = true },
	{ "sa_entry", "flags", .hex = true },
	{ "sa_entry", "restorer", .hex = true },
	{ "sa_entry", "mask", .hex = true },
	{ "sa_entry", "mask_extended", .hex = true },
	{ "signalfd_entry", "flags", .hex = true },
	{ "signalfd_entry", "sigmask", .hex = true },
	{ "sit_entry", "local", .ipadd = true },
	{ "sit_entry", "remote", .ipadd = true },
	{ "sit_entry", "rd_prefix", .ipadd = true },
	{ "sit_entry", "relay_prefix", .ipadd = true },
	{ "inet_sk_entry", "family", .dict = "sk" },
	{ "inet_sk_entry", "type", .dict = "sk" },
	{ "inet_sk_entry", "proto", .dict = "sk" },
	{ "inet_sk_entry", "state", .dict = "sk" },
	{ "inet_sk_entry", "flags", .hex = true },
	{ "inet_sk_entry", "src_addr", .ipadd = true },
	{ "inet_sk_entry", "dst_addr", .ipadd = true },
	{ "netlink_sk_entry", "flags", .hex = true },
	{ "unix_sk_entry", "type", .dict = "sk" },
	{ "unix_sk_entry", "state", .dict = "sk" },
	{ "unix_sk_entry", "flags", .hex = true },
	{ "unix_sk_entry", "uflags", .hex = true },
	{ "unix_sk_entry", "name", .unix_name = true },
	{ "tcp_stream_entry", "opt_mask", .hex = true },
	{ "timerfd_entry", "flags", .hex = true },
	{ "timerfd_entry", "settime_flags", .hex = true },
	{ "tty_file_entry", "flags", .hex = true },
	{ "tun_link_entry", "flags", .hex = true },
	{ "vma_entry", "start", .hex = true },
	{ "vma_entry", "end", .hex = true },
	{ "vma_entry", "prot", .flags = "mmap.prot" },
	{ "vma_entry", "flags", .flags = "mmap.flags" },
	{ "vma_entry", "status", .flags = "mmap.status" },
	{ "vma_entry", "madv", .hex = true },
	{ "vma_entry", "fdflags", .hex = true },
};

const struct img_fmt_hint *img_fmt_hint(const char *msg, const char *field)
{
	for (size_t i = 0; i < ARRAY_SIZE(hints); i++)
		if (!strcmp(hints[i].field, field) && !strcmp(hints[i].msg, msg))
			return &hints[i];
	return NULL;
}

struct fmt_name {
	uint64_t v;
	const char *name;
};

/* Each flags map in crit's order, which is the order names are printed. */
static const struct fmt_name map_mmap_prot[] = {
	{ 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" }, { 0, NULL },
};

static const struct fmt_name map_mmap_flags[] = {
	{ 0x1, "MAP_SHARED" }, { 0x2, "MAP_PRIVATE" }, { 0x8, "MAP_DROPPABLE" },
	{ 0x20, "MAP_ANON" }, { 0x100, "MAP_GROWSDOWN" }, { 0, NULL },
};

static const struct fmt_name map_mmap_status[] = {
	{ 1u << 0, "VMA_AREA_REGULAR" }, { 1u << 1, "VMA_AREA_STACK" },
	{ 1u << 2, "VMA_AREA_VSYSCALL" }, { 1u << 3, "VMA_AREA_VDSO" },
	{ 1u << 5, "VMA_AREA_HEAP" }, { 1u << 6, "VMA_FILE_PRIVATE" },
	{ 1u << 7, "VMA_FILE_SHARED" }, { 1u << 8, "VMA_ANON_SHARED" },
	{ 1u << 9, "VMA_ANON_PRIVATE" }, { 1u << 10, "VMA_AREA_SYSVIPC" },
	{ 1u << 11, "VMA_AREA_SOCKET" }, { 1u << 12, "VMA_AREA_VVAR" },
	{ 1u << 13, "VMA_AREA_AIORING" }, { 1u << 14, "VMA_AREA_MEMFD" },
	{ 1u << 15, "VMA_AREA_SHSTK" }, { 1u << 17, "VMA_AREA_UPROBES" },
	{ 1u << 31, "VMA_UNSUPP" }, { 0, NULL },
};

static const struct fmt_name map_rfile_flags[] = {
	{ 01, "O_WRONLY" }, { 02, "O_RDWR" }, { 0100, "O_CREAT" }, { 0200, "O_EXCL" },
	{ 0400, "O_NOCTTY" }, { 01000, "O_TRUNC" }, { 02000, "O_APPEND" },
	{ 04000, "O_NONBLOCK" }, { 010000, "O_DSYNC" }, { 020000, "FASYNC" },
	{ 040000, "O_DIRECT" }, { 0100000, "O_LARGEFILE" }, { 0200000, "O_DIRECTORY" },
	{ 0400000, "O_NOFOLLOW" }, { 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },
	{ 0, NULL },
};

static const struct fmt_name map_pmap_flags[] = {
	{ 0x1, "PE_PARENT" }, { 0x2, "PE_LAZY" }, { 0x4, "PE_PRESENT" }, { 0, NULL },
};

static const struct fmt_name map_seals_flags[] = {
	{ 0x1, "F_SEAL_SEAL" }, { 0x2, "F_SEAL_SHRINK" }, { 0x4, "F_SEAL_GROW" },
	{ 0x8, "F_SEAL_WRITE" }, { 0x10, "F_SEAL_FUTURE_WRITE" }, { 0, NULL },
};

static const struct {
	const char *name;
	const struct fmt_name *map;
} flags_maps[] = {
	{ "mmap.prot", map_mmap_prot },
	{ "mmap.flags", map_mmap_flags },
	{ "mmap.status", map_mmap_status },
	{ "rfile.flags", map_rfile_flags },
	{ "pmap.flags", map_pmap_flags },
	{ "seals.flags", map_seals_flags },
};

int img_fmt_flags(struct ck_buf *out, const char *map, uint64_t v)
{
	const struct fmt_name *m = NULL;
	uint64_t known = 0;
	bool first = true;

	for (size_t i = 0; i < ARRAY_SIZE(flags_maps); i++)
		if (!strcmp(flags_maps[i].name, map))
			m = flags_maps[i].map;
	if (!m)
		return -ENOENT;
	ck_buf_putc(out, '"');
	for (; m->name; m++) {
		known |= m->v;
		if (!(v & m->v))
			continue;
		ck_buf_printf(out, "%s%s", first ? "" : " | ", m->name);
		first = false;
	}
	v &= ~known;
	if (v)
		ck_buf_printf(out, "%s0x%llx", first ? "" : " | ", (unsigned long long) v);
	ck_buf_putc(out, '"');
	return 0;
}

/* crit 4.2's task_state labels (they do not match CRIU's own codes: 2 is a
 * zombie and 3 a stopped task, see docs/formats.md §6). */
static const struct fmt_name dict_task_state[] = {
	{ 1, "Alive" }, { 3, "Zombie" }, { 6, "Stopped" }, { 0, NULL },
};

static const struct fmt_name dict_sk_family[] = {
	{ 1, "UNIX" }, { 2, "INET" }, { 10, "INET6" }, { 16, "NETLINK" }, { 17, "PACKET" },
	{ 0, NULL },
};

static const struct fmt_name dict_sk_type[] = {
	{ 1, "STREAM" }, { 2, "DGRAM" }, { 3, "RAW" }, { 5, "SEQPACKET" }, { 10, "PACKET" },
	{ 0, NULL },
};

static const struct fmt_name dict_sk_state[] = {
	{ 1, "ESTABLISHED" }, { 2, "SYN_SENT" }, { 3, "SYN_RECV" }, { 4, "FIN_WAIT1" },
	{ 5, "FIN_WAIT2" }, { 6, "TIME_WAIT" }, { 7, "CLOSE" }, { 8, "CLOSE_WAIT" },
	{ 9, "LAST_ACK" }, { 10, "LISTEN" }, { 0, NULL },
};

/* 0 is a real key here, so this list ends at its NULL name, not at v 0. */
static const struct fmt_name dict_sk_proto[] = {
	{ 0, "IP" }, { 6, "TCP" }, { 17, "UDP" }, { 136, "UDPLITE" }, { 0, NULL },
};

static const struct {
	const char *dict, *field;
	const struct fmt_name *map;
} dict_maps[] = {
	{ "gen", "task_state", dict_task_state },
	{ "sk", "family", dict_sk_family },
	{ "sk", "type", dict_sk_type },
	{ "sk", "state", dict_sk_state },
	{ "sk", "proto", dict_sk_proto },
};

const char *img_fmt_dict(const char *dict, const char *field, uint64_t v)
{
	for (size_t i = 0; i < ARRAY_SIZE(dict_maps); i++) {
		const struct fmt_name *m;

		if (strcmp(dict_maps[i].dict, dict) || strcmp(dict_maps[i].field, field))
			continue;
		for (m = dict_maps[i].map; m->name; m++)
			if (m->v == v)
				return m->name;
	}
	return NULL;
}

const char *img_sk_name(const char *field, uint64_t v)
{
	return img_fmt_dict("sk", field, v);
}

void img_fmt_dev(struct ck_buf *out, uint64_t v, bool odev)
{
	uint64_t major, minor;

	if (odev) {
		/* glibc's gnu_dev_major()/gnu_dev_minor() */
		major = ((v >> 8) & 0xfff) | ((v >> 32) & ~0xfffULL);
		minor = (v & 0xff) | ((v >> 12) & ~0xffULL);
	} else {
		/* the kernel's new_encode_dev() layout as CRIU stores it: 20-bit minor */
		major = v >> 20;
		minor = v & 0xfffff;
	}
	ck_buf_printf(out, "%llu:%llu", (unsigned long long) major, (unsigned long long) minor);
}

int img_fmt_ipaddr(struct ck_buf *out, const uint32_t *w, size_t n)
{
	uint8_t b[16];
	unsigned int h[8];
	int best = -1, best_len = 0, run = -1, run_len = 0;

	if (n == 1) {
		memcpy(b, w, 4);	/* network order in memory, whatever the host */
		ck_buf_printf(out, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		return 0;
	}
	if (n < 4)
		return -EINVAL;
	memcpy(b, w, 16);
	for (int i = 0; i < 8; i++) {
		h[i] = (unsigned int) b[2 * i] << 8 | b[2 * i + 1];
		if (h[i]) {
			run = -1;
			run_len = 0;
			continue;
		}
		if (run < 0)
			run = i;
		run_len++;
		if (run_len > best_len) {
			best = run;
			best_len = run_len;
		}
	}
	/* The longest run of two or more zero groups (the first of equals) becomes
	 * "::"; no dotted-quad tail, as Python 3.11's ipaddress prints. */
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			ck_buf_puts(out, i == 0 ? "::" : ":");
			i += best_len - 1;
			continue;
		}
		ck_buf_printf(out, "%x%s", h[i], i < 7 ? ":" : "");
	}
	return 0;
}

void img_fmt_base64(struct ck_buf *out, const uint8_t *p, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	while (len) {
		/* 57 input bytes make one 76-character line */
		size_t line = CK_MIN(len, (size_t) 57);
		char o[80];
		size_t k = 0;

		for (size_t i = 0; i < line; i += 3) {
			uint32_t v = (uint32_t) p[i] << 16;
			size_t rest = line - i;

			if (rest > 1)
				v |= (uint32_t) p[i + 1] << 8;
			if (rest > 2)
				v |= p[i + 2];
			o[k++] = tab[(v >> 18) & 63];
			o[k++] = tab[(v >> 12) & 63];
			o[k++] = rest > 1 ? tab[(v >> 6) & 63] : '=';
			o[k++] = rest > 2 ? tab[v & 63] : '=';
		}
		o[k++] = '\n';
		ck_buf_add(out, o, k);
		p += line;
		len -= line;
	}
}

#define QP_LINE 76

static void qp_hex(struct ck_buf *out, uint8_t c)
{
	static const char hx[] = "0123456789ABCDEF";
	char o[3] = { '=', hx[c >> 4], hx[c & 15] };

	ck_buf_add(out, o, 3);
}

/* Python's binascii.b2a_qp(data, quotetabs=False, istext=True, header=False),
 * which quopri.encodestring() uses. */
void img_fmt_qp(struct ck_buf *out, const uint8_t *p, size_t len)
{
	const uint8_t *nl = len ? memchr(p, '\n', len) : NULL;
	bool crlf = nl && nl > p && nl[-1] == '\r';
	const char *soft = crlf ? "=\r\n" : "=\n";
	size_t linelen = 0, start = out->len;

	for (size_t i = 0; i < len;) {
		uint8_t c = p[i];
		bool last = i + 1 == len;
		bool enc = c > 126 || c == '=' ||
			   (c == '.' && linelen == 0 &&
			    (last || p[i + 1] == '\n' || p[i + 1] == '\r' || p[i + 1] == 0)) ||
			   ((c == '\t' || c == ' ') && last) ||
			   (c < 33 && c != '\r' && c != '\n' && c != '\t' && c != ' ');

		if (enc) {
			if (linelen + 3 >= QP_LINE) {
				ck_buf_puts(out, soft);
				linelen = 0;
			}
			qp_hex(out, c);
			linelen += 3;
			i++;
		} else if (c == '\n' || (c == '\r' && !last && p[i + 1] == '\n')) {
			/* trailing whitespace of a line gets encoded */
			if (!out->oom && out->len > start &&
			    (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t')) {
				uint8_t ws = (uint8_t) out->data[out->len - 1];

				out->len--;
				qp_hex(out, ws);
			}
			ck_buf_puts(out, crlf ? "\r\n" : "\n");
			linelen = 0;
			i += c == '\r' ? 2 : 1;
		} else {
			if (!last && p[i + 1] != '\n' && linelen + 1 >= QP_LINE) {
				ck_buf_puts(out, soft);
				linelen = 0;
			}
			linelen++;
			ck_buf_putc(out, (char) c);
			i++;
		}
	}
}

/* Decode one UTF-8 sequence at @s (@n > 0 bytes left). Returns the code
 * point and sets @used; malformed input gives U+FFFD for one byte. */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *used)
{
	uint32_t cp, min;
	size_t len;

	*used = 1;
	if (s[0] < 0x80)
		return s[0];
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0xfffd;
	}
	if (n < len)
		return 0xfffd;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0xfffd;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	*used = len;
	return cp;
}

void img_fmt_json_str(struct ck_buf *out, const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *) str;

	ck_buf_putc(out, '"');
	for (size_t i = 0; i < len;) {
		size_t used;
		uint32_t cp = utf8_next(s + i, len - i, &used);

		i += used;
		switch (cp) {
		case '"':
			ck_buf_puts(out, "\\\"");
			break;
		case '\\':
			ck_buf_puts(out, "\\\\");
			break;
		case '\n':
			ck_buf_puts(out, "\\n");
			break;
		case '\r':
			ck_buf_puts(out, "\\r");
			break;
		case '\t':
			ck_buf_puts(out, "\\t");
			break;
		case '\b':
			ck_buf_puts(out, "\\b");
			break;
		case '\f':
			ck_buf_puts(out, "\\f");
			break;
		default:
			if (cp >= 0x20 && cp < 0x7f)
				ck_buf_putc(out, (char) cp);
			else if (cp < 0x10000)
				ck_buf_printf(out, "\\u%04x", cp);
			else	/* a UTF-16 surrogate pair */
				ck_buf_printf(out, "\\u%04x\\u%04x",
					      0xd800 + ((cp - 0x10000) >> 10),
					      0xdc00 + (cp & 0x3ff));
		}
	}
	ck_buf_putc(out, '"');
}

/* ---- image types ------------------------------------------------------- */

#define T(n, m, d) { n, m, &d##__descriptor, IMG_LAYOUT_PLAIN }
#define TL(n, m, d, l) { n, m, &d##__descriptor, IMG_LAYOUT_##l }

/* Every type crit 4.2 can decode, with the magic and entry message of
 * docs/formats.md §1.4, plus those it names but has no handler for. */
static const struct img_type types[] = {
	T("INVENTORY", 0x58313116u, inventory_entry),
	T("PSTREE", 0x50273030u, pstree_entry),
	T("CORE", 0x55053847u, core_entry),
	T("IDS", 0x54432030u, task_kobj_ids_entry),
	T("MM", 0x57492820u, mm_entry),
	T("FS", 0x51403912u, fs_entry),
	TL("PAGEMAP", 0x56084025u, pagemap_entry, PAGEMAP),
	T("FDINFO", 0x56213732u, fdinfo_entry),
	T("FILES", 0x56303138u, file_entry),
	T("REMAP_FPATH", 0x59133954u, remap_file_path_entry),
	TL("GHOST_FILE", 0x52583605u, ghost_file_entry, GHOST),
	T("MEMFD_INODE", 0x48453499u, memfd_inode_entry),
	TL("PIPES_DATA", 0x56453709u, pipe_data_entry, PIPE_DATA),
	TL("FIFO_DATA", 0x59333054u, pipe_data_entry, PIPE_DATA),
	TL("SK_QUEUES", 0x56264026u, sk_packet_entry, SK_QUEUES),
	TL("TCP_STREAM", 0x51465506u, tcp_stream_entry, TCP_STREAM),
	T("TTY_INFO", 0x59453036u, tty_info_entry),
	T("TTY_DATA", 0x59413026u, tty_data_entry),
	T("FILE_LOCKS", 0x54323616u, file_lock_entry),
	T("BPFMAP_FILE", 0x57506142u, bpfmap_file_entry),
	TL("BPFMAP_DATA", 0x64324033u, bpfmap_data_entry, BPFMAP_DATA),
	T("MNTS", 0x55563928u, mnt_entry),
	T("NETNS", 0x55933752u, netns_entry),
	T("NETDEV", 0x57373951u, net_device_entry),
	T("UTSNS", 0x54473203u, utsns_entry),
	T("IPC_VAR", 0x53115007u, ipc_var_entry),
	TL("IPCNS_SHM", 0x46283044u, ipc_shm_entry, IPCNS_SHM),
	TL("IPCNS_MSG", 0x55453737u, ipc_msg_entry, IPCNS_MSG),
	TL("IPCNS_SEM", 0x59573019u, ipc_sem_entry, IPCNS_SEM),
	T("USERNS", 0x55474906u, userns_entry),
	T("PIDNS", 0x61157326u, pidns_entry),
	T("TIMENS", 0x43114433u, timens_entry),
	T("CGROUP", 0x59383330u, cgroup_entry),
	T("SECCOMP", 0x64413049u, seccomp_entry),
	T("APPARMOR", 0x59423047u, apparmor_entry),
	T("CPUINFO", 0x61404013u, cpuinfo_entry),
	T("AUTOFS", 0x49353943u, autofs_entry),
	T("STATS", 0x57093306u, stats_entry),
	T("IRMAP_CACHE", 0x57004059u, irmap_cache_entry),
	/* before v3.4: one image per file type */
	T("REG_FILES", 0x50363636u, reg_file_entry),
	T("EXT_FILES", 0x59255641u, ext_file_entry),
	T("NS_FILES", 0x61394011u, ns_file_entry),
	T("EVENTFD_FILE", 0x44523722u, eventfd_file_entry),
	T("EVENTPOLL_FILE", 0x45023858u, eventpoll_file_entry),
	T("EVENTPOLL_TFD", 0x44433746u, eventpoll_tfd_entry),
	T("SIGNALFD", 0x57323820u, signalfd_entry),
	T("INOTIFY_FILE", 0x48424431u, inotify_file_entry),
	T("INOTIFY_WD", 0x54562009u, inotify_wd_entry),
	T("FANOTIFY_FILE", 0x55096122u, fanotify_file_entry),
	T("FANOTIFY_MARK", 0x56506035u, fanotify_mark_entry),
	T("PIPES", 0x56513555u, pipe_entry),
	T("FIFO", 0x58364939u, fifo_entry),
	T("UNIXSK", 0x54373943u, unix_sk_entry),
	T("INETSK", 0x56443851u, inet_sk_entry),
	T("PACKETSK", 0x60454618u, packet_sock_entry),
	T("NETLINK_SK", 0x58005614u, netlink_sk_entry),
	T("TUNFILE", 0x57143751u, tunfile_entry),
	T("TIMERFD", 0x50493712u, timerfd_entry),
	T("TTY_FILES", 0x59433025u, tty_file_entry),
	/* before v1.3: per-task images */
	T("CREDS", 0x54023547u, creds_entry),
	T("VMAS", 0x54123737u, vma_entry),
	T("SIGACT", 0x55344201u, sa_entry),
	T("RLIMIT", 0x57113925u, rlimit_entry),
	T("ITIMERS", 0x57464056u, itimer_entry),
	T("POSIX_TIMERS", 0x52603957u, posix_timer_entry),
	/* crit names these but cannot decode them */
	{ "SIGNAL", IMG_MAGIC_SIGNAL, NULL, IMG_LAYOUT_PLAIN },
	{ "BINFMT_MISC", IMG_MAGIC_BINFMT_MISC, NULL, IMG_LAYOUT_PLAIN },
	{ "PIDFD", IMG_MAGIC_PIDFD, NULL, IMG_LAYOUT_PLAIN },
};

#undef T
#undef TL

const struct img_type *img_type_lookup(uint32_t magic, const char *name)
{
	/* pagemap-/pagemap-shmem-, signal-s-/signal-p- and the two binfmt-misc
	 * layouts share a magic, but crit decodes each pair alike, so @name
	 * does not change the answer today. */
	(void) name;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].magic == magic)
			return &types[i];
	return NULL;
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool has_suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), k = strlen(sfx);

	return n >= k && !strcmp(s + n - k, sfx);
}

bool img_name_is_raw(const char *name)
{
	static const char *const raw_prefix[] = {
		"pages-", "ifaddr-", "route-", "route6-", "rule-", "iptables-",
		"ip6tables-", "nftables-", "netns-ct-", "netns-exp-",
	};

	if (!name)
		return false;
	if (has_prefix(name, "tmpfs-") && has_suffix(name, ".tar.gz.img"))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(raw_prefix); i++)
		if (has_prefix(name, raw_prefix[i]))
			return true;
	return false;
}

const char *img_magic_name(const char *name, const struct ck_blob *b)
{
	const struct img_type *t;
	struct img_reader r;

	if (img_name_is_raw(name) || img_reader_init(&r, b, 0) < 0)
		return NULL;
	t = img_type_lookup(r.magic, name);
	return t && t->desc ? t->name : NULL;
}
