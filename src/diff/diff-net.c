/* SPDX-License-Identifier: Apache-2.0 */
/* Sockets of files.img, matched by inode and addresses. A socket with a
 * peer (a connected INET socket, a connected unix socket) is a connection;
 * any other (listeners, unbound, packet, netlink) a socket. Each is shown
 * under the lowest pid holding it; the same socket in another state is
 * one removed and one added. */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ckpt-content.h"
#include "diff-priv.h"
#include "render.h"

#define NET_NO_OWNER ((uint64_t) UINT32_MAX + 1)

struct sk {
	const struct img_file *f;
	uint64_t owner;		/* the lowest pid holding it, or NET_NO_OWNER */
	char proto[16];		/* "tcp", "udp6", "unix", ... */
	char *local, *peer;
	bool conn;
};

struct diff_net {
	struct sk *gone, *added;	/* only in A, only in B; by owner, then key */
	size_t n_gone, n_added, i_gone, i_added;
};

static void sks_free(struct sk *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].local);
		free(v[i].peer);
	}
	free(v);
}

void diff_net_free(struct diff_net *n)
{
	if (!n)
		return;
	sks_free(n->gone, n->n_gone);
	sks_free(n->added, n->n_added);
	free(n);
}

static bool is_socket(uint32_t type)
{
	return type == IMG_FD_INETSK || type == IMG_FD_UNIXSK || type == IMG_FD_PACKETSK ||
	       type == IMG_FD_NETLINKSK;
}

/* "tcp", "udp6", "raw", "unix", "packet", "netlink": crit's names of the
 * protocol (INET) or family, in lower case, as ss names them. */
static void sk_proto(const struct img_file *f, char *out, size_t size)
{
	const char *fam = img_sk_name("family", f->sk_family), *type = img_sk_name("type", f->sk_type);
	bool inet = fam && (!strcmp(fam, "INET") || !strcmp(fam, "INET6"));
	const char *name = inet && type && !strcmp(type, "RAW") ? type : inet ? img_sk_name("proto", f->sk_proto) : fam;
	size_t i = 0;

	if (!name)
		name = "?";
	for (; name[i] && i + 2 < size; i++)
		out[i] = (char) tolower((unsigned char) name[i]);
	if (inet && !strcmp(fam, "INET6"))
		out[i++] = '6';
	out[i] = '\0';
}

/* Fill @s from files.img entry @f. */
static int sk_fill(struct sk *s, const struct img_file *f)
{
	struct ck_buf local = { 0 }, peer = { 0 };
	const char *fam = img_sk_name("family", f->sk_family);

	s->f = f;
	s->owner = NET_NO_OWNER;
	sk_proto(f, s->proto, sizeof(s->proto));
	if (f->type == IMG_FD_INETSK) {
		ckpt_put_endpoint(&local, f->src_addr, f->n_src_addr, f->src_port);
		s->conn = f->dst_port != 0;
		if (s->conn)
			ckpt_put_endpoint(&peer, f->dst_addr, f->n_dst_addr, f->dst_port);
	} else if (fam && !strcmp(fam, "UNIX")) {
		if (f->sk_name)
			render_unix_name(&local, f->sk_name, f->sk_name_len);
		if (f->peer)
			ck_buf_printf(&peer, "socket:[%u]", f->peer);
		s->conn = f->peer != 0;
	}
	ck_buf_putc(&local, '\0');
	ck_buf_putc(&peer, '\0');
	s->local = ck_buf_steal(&local, NULL);
	s->peer = ck_buf_steal(&peer, NULL);
	return s->local && s->peer && !local.oom && !peer.oom ? 0 : -ENOMEM;
}

static int sk_key_cmp(const struct sk *a, const struct sk *b)
{
	int c;

	if (a->f->ino != b->f->ino)
		return a->f->ino < b->f->ino ? -1 : 1;
	if ((c = strcmp(a->proto, b->proto)) || (c = strcmp(a->local, b->local)) || (c = strcmp(a->peer, b->peer)))
		return c;
	return a->f->sk_state < b->f->sk_state ? -1 : a->f->sk_state > b->f->sk_state;
}

static int sk_qcmp(const void *a, const void *b)
{
	return sk_key_cmp(a, b);
}

static int sk_owner_qcmp(const void *a, const void *b)
{
	const struct sk *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return sk_key_cmp(x, y);
}

/* The sockets of @ck, sorted by key, with their owners. */
static int sks_of(const struct ckpt *ck, struct sk **ret, size_t *ret_n)
{
	struct sk *v;
	size_t n = 0;
	uint64_t *owner;

	*ret = NULL;
	*ret_n = 0;
	if (!ck)
		return 0;
	owner = calloc(ck->n_files + 1, sizeof(*owner));
	v = calloc(ck->n_files + 1, sizeof(*v));
	if (!owner || !v) {
		free(owner);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ck->n_files; i++)
		owner[i] = NET_NO_OWNER;
	/* procs are sorted by pid: the first holder is the lowest */
	for (size_t i = 0; i < ck->n_procs; i++)
		for (size_t k = 0; k < ck->procs[i].n_fds; k++) {
			const struct img_file *f = ckpt_file_find(ck, ck->procs[i].fds[k].id);

			if (f && owner[f - ck->files] == NET_NO_OWNER)
				owner[f - ck->files] = ck->procs[i].pid;
		}
	for (size_t i = 0; i < ck->n_files; i++) {
		if (!is_socket(ck->files[i].type))
			continue;
		if (sk_fill(&v[n++], &ck->files[i]) < 0) {
			free(owner);
			sks_free(v, n);
			return -ENOMEM;
		}
		v[n - 1].owner = owner[i];
	}
	free(owner);
	qsort(v, n, sizeof(*v), sk_qcmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Move @s to the end of @v (room for it is there). */
static void sk_move(struct sk *v, size_t *n, struct sk *s)
{
	v[(*n)++] = *s;
	s->local = s->peer = NULL;
}

int diff_net_new(struct diff_ctx *x)
{
	struct sk *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	struct diff_net *n = calloc(1, sizeof(*n));
	int rc = n ? 0 : -ENOMEM;

	rc = rc ?: sks_of(x->a->ck, &a, &na);
	rc = rc ?: sks_of(x->b->ck, &b, &nb);
	if (rc == 0) {
		n->gone = calloc(na + 1, sizeof(*n->gone));
		n->added = calloc(nb + 1, sizeof(*n->added));
		if (!n->gone || !n->added)
			rc = -ENOMEM;
	}
	while (rc == 0 && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : sk_key_cmp(&a[i], &b[j]);

		if (c < 0)
			sk_move(n->gone, &n->n_gone, &a[i]);
		else if (c > 0)
			sk_move(n->added, &n->n_added, &b[j]);
		i += c <= 0;
		j += c >= 0;
	}
	sks_free(a, na);
	sks_free(b, nb);
	if (rc < 0) {
		diff_net_free(n);
		return rc;
	}
	qsort(n->gone, n->n_gone, sizeof(*n->gone), sk_owner_qcmp);
	qsort(n->added, n->n_added, sizeof(*n->added), sk_owner_qcmp);
	x->net = n;
	return 0;
}

static int sk_event(struct diff_ctx *x, const struct sk *s, bool added)
{
	const char *state = img_sk_name("state", s->f->sk_state);
	char num[16];
	struct diff_event ev;

	snprintf(num, sizeof(num), "%u", s->f->sk_state);
	diff_ev(x, &ev, s->conn ? (added ? "connection-added" : "connection-removed") :
		(added ? "socket-added" : "socket-removed"));
	diff_str(&ev, "proto", s->proto);
	diff_str(&ev, "local", s->local);
	diff_str(&ev, "peer", s->peer);
	diff_str(&ev, "state", state ? state : num);
	diff_num(&ev, "inode", s->f->ino);
	return diff_emit(x, &ev);
}

/* Emit what is left of both lists up to owner @upto. */
static int net_upto(struct diff_ctx *x, uint64_t upto)
{
	struct diff_net *n = x->net;
	int rc = 0;

	while (rc == 0 && n->i_gone < n->n_gone && n->gone[n->i_gone].owner <= upto)
		rc = sk_event(x, &n->gone[n->i_gone++], false);
	while (rc == 0 && n->i_added < n->n_added && n->added[n->i_added].owner <= upto)
		rc = sk_event(x, &n->added[n->i_added++], true);
	return rc;
}

int diff_net_proc(struct diff_ctx *x, uint32_t pid)
{
	return net_upto(x, pid);
}

int diff_net_rest(struct diff_ctx *x)
{
	return net_upto(x, NET_NO_OWNER);
}
