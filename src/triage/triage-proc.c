/* SPDX-License-Identifier: Apache-2.0 */
/* Processes, descriptors and sockets: deleted-exe, memfd-exe, exe-in-tmp,
 * ld-preload and secrets of the environment, shell-on-socket, and the
 * connection kind over the checkpoint's sockets (files.img). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ckpt-content.h"
#include "render.h"
#include "triage-priv.h"

#define TCP_STATE_ESTABLISHED 1
#define ETH_P_ALL_NET 0x0300	/* htons(ETH_P_ALL), as a packet socket stores it */

/* ---- the executable ---- */

static void exe_memfd(struct triage_proc *tp, const struct img_file *f)
{
	const struct img_memfd *m = ckpt_memfd_find(tp->ck, f->memfd_inode_id);
	struct triage_finding *x = tr_new(tp->r, TRIAGE_MEMFD_EXE, TRIAGE_HIGH, tp);

	tr_path(tp->r, x, tp->exe);
	if (m && m->name)
		tr_str(tp->r, x, "memfd_name", "%s", m->name);
	if (m)
		tr_int(tp->r, x, "size", (int64_t) m->size);
	tr_summary(tp->r, x, "the process runs from a memfd (a program that has no file)%s%s",
		   m && m->name ? ": " : "", m && m->name ? m->name : "");
}

static void exe_reg(struct triage_proc *tp, const struct img_file *f)
{
	struct triage_run *r = tp->r;
	const struct img_remap *rm = ckpt_remap_find(tp->ck, f->id);
	const struct ckpt_content *data = NULL, *outq = NULL;
	struct triage_finding *x;

	if (rm && (rm->type == IMG_REMAP_GHOST || rm->type == IMG_REMAP_LINKED)) {
		ckpt_fd_contents(tp->ck, f->id, &data, &outq);
		x = tr_new(r, TRIAGE_DELETED_EXE, TRIAGE_HIGH, tp);
		tr_path(r, x, f->name);
		tr_str(r, x, "exe", "%s", tp->exe ? tp->exe : f->name);
		tr_bool(r, x, "content_kept", data != NULL);
		if (data)
			tr_int(r, x, "size", (int64_t) data->size);
		tr_summary(r, x, "the process runs from a deleted file%s",
			   data ? " (its content is in the checkpoint: files/ghost-*)" : "");
	}
	if (tr_tmp_path(f->name)) {
		x = tr_new(r, TRIAGE_EXE_IN_TMP, TRIAGE_HIGH, tp);
		tr_path(r, x, f->name);
		tr_summary(r, x, "the process runs from a world-writable temporary directory");
	} else if (tr_rootfs_find(r, f->name)) {
		x = tr_new(r, TRIAGE_EXE_IN_TMP, TRIAGE_MEDIUM, tp);
		tr_path(r, x, f->name);
		tr_bool(r, x, "in_rootfs_diff", true);
		tr_summary(r, x, "the process runs from a file the container added or changed (rootfs-diff)");
	}
}

static void check_exe(struct triage_proc *tp)
{
	const struct img_file *f = ckpt_file_find(tp->ck, tp->p->mm->exe_file_id);

	if (!f) {
		if (tp->ck->files_err < 0)
			tr_incomplete(tp->r, tp, "exe", "the executable: files.img cannot be read (%s)",
				      strerror(-tp->ck->files_err));
		return;
	}
	if (f->type == IMG_FD_MEMFD)
		exe_memfd(tp, f);
	else if (f->type == IMG_FD_REG && f->name)
		exe_reg(tp, f);
}

/* ---- the environment ---- */

/* Whether @lib (@len bytes) is a file some VMA of @tp maps. */
static bool lib_mapped(const struct triage_proc *tp, const char *lib, size_t len)
{
	for (size_t i = 0; i < tp->p->mm->n_vmas; i++) {
		const struct img_vma *v = &tp->p->mm->vmas[i];
		const struct img_file *f;

		if (!(v->status & IMG_VMA_FILE_PRIVATE) || !(f = ckpt_file_find(tp->ck, (uint32_t) v->shmid)) ||
		    !f->name)
			continue;
		if (strlen(f->name) == len && !memcmp(f->name, lib, len))
			return true;
	}
	return false;
}

static void ld_preload(struct triage_proc *tp, const char *value, size_t len, uint64_t addr)
{
	struct triage_run *r = tp->r;
	struct triage_finding *f = tr_new(r, TRIAGE_LD_PRELOAD, TRIAGE_MEDIUM, tp);
	bool mapped = false;

	if (!f)
		return;
	f->has_address = true;
	f->address = addr;
	tr_strn(r, f, "value", value, len);
	/* the libraries, separated by spaces or colons */
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(value + i, ": ");
		char lib[4096];

		if (n > len - i)
			n = len - i;
		if (n && n < sizeof(lib)) {
			memcpy(lib, value + i, n);
			lib[n] = '\0';
			if (!f->path)
				tr_path(r, f, lib);
			mapped |= lib_mapped(tp, lib, n);
			if (lib[0] != '/' || tr_tmp_path(lib) || strstr(lib, "/.") || tr_rootfs_find(r, lib))
				f->severity = TRIAGE_HIGH;
		}
		i += n + 1;
	}
	tr_bool(r, f, "mapped", mapped);
	tr_summary(r, f, "LD_PRELOAD in the environment%s", f->severity == TRIAGE_HIGH ?
		   ": a library from a temporary, hidden, relative or container-added path" : "");
}

static void check_environ(struct triage_proc *tp)
{
	const struct img_mm *mm = tp->p->mm;
	struct ck_buf env = { 0 };
	int rc = render_environ(tp->ck, tp->p, &env);

	if (rc < 0 || env.oom) {
		if (rc != -ENOENT)
			tr_incomplete(tp->r, tp, "environ", "the environment cannot be read (%s)",
				      strerror(rc < 0 ? -rc : ENOMEM));
		ck_buf_done(&env);
		return;
	}
	for (size_t i = 0; i < env.len;) {
		const char *var = env.data + i, *eq;
		size_t n = strnlen(var, env.len - i);

		eq = memchr(var, '=', n);
		if (eq) {
			size_t nlen = (size_t) (eq - var), vlen = n - nlen - 1;
			uint64_t addr = mm->mm_env_start + i + nlen + 1;

			if (nlen == 10 && !memcmp(var, "LD_PRELOAD", 10) && vlen)
				ld_preload(tp, eq + 1, vlen, addr);
			tr_secret_env(tp, var, nlen, eq + 1, vlen, addr);
		}
		i += n + 1;
	}
	ck_buf_done(&env);
}

/* ---- shells on sockets ---- */

/* Whether @base (a basename) is a shell or a script interpreter. */
static bool interpreter(const char *base, size_t len)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "pdksh",
					      "csh", "tcsh", "fish", "busybox", "node", "nodejs" };
	static const char *const families[] = { "python", "perl", "ruby", "php", "lua", "tclsh" };

	for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
		if (strlen(shells[i]) == len && !memcmp(base, shells[i], len))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		size_t n = strlen(families[i]);

		/* python, python3, python3.11 */
		if (len >= n && !memcmp(base, families[i], n) && strspn(base + n, "0123456789.") >= len - n)
			return true;
	}
	return false;
}

/* "1.2.3.4:80" or "[::1]:80" of address @a (@n words) and @port. */
static void put_peer(char *out, size_t size, uint32_t family, const uint32_t *a, size_t n, uint32_t port)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (family == AF_INET6 && n >= 4)
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
	else if (n >= 1)
		inet_ntop(AF_INET, a, ip, sizeof(ip));
	snprintf(out, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void check_shell(struct triage_proc *tp)
{
	const char *base = tp->exe ? tr_basename(tp->exe) : tp->comm;
	const struct img_file *sk = NULL;
	int64_t fds[3];
	size_t n = 0;
	char peer[96] = "";
	struct triage_finding *f;

	if (!interpreter(base, strcspn(base, " ")))
		return;
	for (size_t i = 0; i < tp->p->n_fds && tp->p->fds[i].fd <= 2; i++) {
		const struct img_file *x = ckpt_file_find(tp->ck, tp->p->fds[i].id);

		if (x && (x->type == IMG_FD_INETSK || x->type == IMG_FD_UNIXSK)) {
			fds[n++] = tp->p->fds[i].fd;
			sk = sk ? sk : x;
		}
	}
	/* stdin and at least one of stdout and stderr */
	if (n < 2 || fds[0] != 0)
		return;
	f = tr_new(tp->r, TRIAGE_SHELL_ON_SOCKET, sk->type == IMG_FD_INETSK ? TRIAGE_HIGH : TRIAGE_MEDIUM, tp);
	tr_path(tp->r, f, tp->exe);
	tr_ints(tp->r, f, "fds", fds, n);
	tr_str(tp->r, f, "socket", "socket:[%u]", sk->ino);
	if (sk->type == IMG_FD_INETSK) {
		put_peer(peer, sizeof(peer), sk->sk_family, sk->dst_addr, sk->n_dst_addr, sk->dst_port);
		tr_str(tp->r, f, "remote", "%s", peer);
	}
	tr_summary(tp->r, f, "a shell or interpreter whose standard input and output are a %s socket%s%s",
		   sk->type == IMG_FD_INETSK ? "network" : "unix", *peer ? " to " : "", peer);
}

void tr_proc_check(struct triage_proc *tp)
{
	const struct ckpt_proc *p = tp->p;

	if (p->mm) {
		check_exe(tp);
		check_environ(tp);
	}
	if (p->fds_err < 0)
		tr_incomplete(tp->r, tp, "fds", "descriptors: fdinfo-%u.img cannot be read (%s)", p->pid,
			      strerror(-p->fds_err));
	else
		check_shell(tp);
}

/* ---- sockets ---- */

static bool loopback(uint32_t family, const uint32_t *a, size_t n)
{
	const uint8_t *b = (const uint8_t *) a;
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == AF_INET6 && n >= 4)
		return !memcmp(b, v6_lo, 16) || (!memcmp(b, v4_mapped, 12) && b[12] == 127);
	return n >= 1 && b[0] == 127;
}

struct sockets {
	const struct img_file **v;	/* the TCP sockets, sorted by source port */
	size_t n;
};

static int by_src_port(const void *a, const void *b)
{
	const struct img_file *x = *(const struct img_file *const *) a, *y = *(const struct img_file *const *) b;

	return x->src_port < y->src_port ? -1 : x->src_port > y->src_port;
}

/* Whether the other end of TCP socket @f is a socket of the checkpoint. */
static bool internal(const struct sockets *s, const struct img_file *f)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid]->src_port < f->dst_port)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && s->v[lo]->src_port == f->dst_port; lo++) {
		const struct img_file *g = s->v[lo];

		if (g != f && g->dst_port == f->src_port && g->n_src_addr == f->n_dst_addr &&
		    !memcmp(g->src_addr, f->dst_addr, f->n_dst_addr * 4) && g->n_dst_addr == f->n_src_addr &&
		    !memcmp(g->dst_addr, f->src_addr, f->n_src_addr * 4))
			return true;
	}
	return false;
}

/* Name the processes holding file @id in @x: the first as its pid. */
static void owners(struct triage_run *r, struct triage_finding *x, uint32_t id)
{
	int64_t pids[16], fds[16];
	size_t n = 0, n_pids = 0;

	for (size_t i = 0; i < r->ck->n_procs && n < ARRAY_SIZE(pids); i++) {
		const struct ckpt_proc *p = &r->ck->procs[i];

		for (size_t k = 0; k < p->n_fds && n < ARRAY_SIZE(pids); k++)
			if (p->fds[k].id == id) {
				n_pids += !n || pids[n_pids - 1] != p->pid;
				pids[n_pids - 1] = p->pid;
				fds[n++] = p->fds[k].fd;
				if (x && !x->has_pid) {
					const char *name = ckpt_proc_name(p);

					x->has_pid = true;
					x->pid = p->pid;
					snprintf(x->comm, sizeof(x->comm), "%s", name && *name ? name : "?");
				}
			}
	}
	tr_ints(r, x, "pids", pids, n_pids);
	tr_ints(r, x, "fds", fds, n);
}

static void established(struct triage_run *r, const struct sockets *s, const struct img_file *f)
{
	char local[96], peer[96];
	struct triage_finding *x;
	bool lo = loopback(f->sk_family, f->dst_addr, f->n_dst_addr);

	if (lo && internal(s, f))
		return;
	x = tr_new(r, TRIAGE_CONNECTION, TRIAGE_INFO, NULL);
	put_peer(local, sizeof(local), f->sk_family, f->src_addr, f->n_src_addr, f->src_port);
	put_peer(peer, sizeof(peer), f->sk_family, f->dst_addr, f->n_dst_addr, f->dst_port);
	tr_str(r, x, "proto", "tcp");
	tr_str(r, x, "state", "ESTABLISHED");
	tr_str(r, x, "local", "%s", local);
	tr_str(r, x, "remote", "%s", peer);
	tr_str(r, x, "socket", "socket:[%u]", f->ino);
	owners(r, x, f->id);
	tr_summary(r, x, "an established TCP connection to %s%s", peer,
		   lo ? " (loopback, its other end is not in the checkpoint)" : "");
}

static void raw(struct triage_run *r, const struct img_file *f)
{
	struct triage_finding *x = tr_new(r, TRIAGE_CONNECTION, TRIAGE_MEDIUM, NULL);
	bool packet = f->type == IMG_FD_PACKETSK;

	tr_str(r, x, "proto", packet ? "packet" : "raw");
	tr_str(r, x, "family", packet ? "AF_PACKET" : f->sk_family == AF_INET6 ? "AF_INET6" : "AF_INET");
	tr_int(r, x, "type", f->sk_type);
	tr_int(r, x, "protocol", f->sk_proto);
	if (packet && f->sk_proto == ETH_P_ALL_NET)
		tr_str(r, x, "protocol_name", "ETH_P_ALL");
	owners(r, x, f->id);
	tr_summary(r, x, "a %s socket%s: it can read traffic not addressed to it", packet ? "packet" : "raw",
		   packet && f->sk_proto == ETH_P_ALL_NET ? " for every protocol (a sniffer)" : "");
}

void tr_connections(struct triage_run *r)
{
	const struct ckpt *ck = r->ck;
	struct sockets s = { .v = calloc(ck->n_files ? ck->n_files : 1, sizeof(*s.v)) };

	if (ck->files_err < 0 && ck->files_err != -ENOENT)
		tr_incomplete(r, NULL, "sockets", "sockets: files.img cannot be read (%s)",
			      strerror(-ck->files_err));
	if (!s.v) {
		r->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < ck->n_files; i++)
		if (ck->files[i].type == IMG_FD_INETSK && ck->files[i].sk_type == SOCK_STREAM)
			s.v[s.n++] = &ck->files[i];
	qsort(s.v, s.n, sizeof(*s.v), by_src_port);
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i];

		if (f->type == IMG_FD_INETSK && f->sk_type == SOCK_STREAM && f->sk_state == TCP_STATE_ESTABLISHED)
			established(r, &s, f);
		else if ((f->type == IMG_FD_INETSK && f->sk_type == SOCK_RAW) || f->type == IMG_FD_PACKETSK)
			raw(r, f);
	}
	free(s.v);
}
