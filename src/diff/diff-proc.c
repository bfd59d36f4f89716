/* SPDX-License-Identifier: Apache-2.0 */
/* Processes (matched by pid), their threads (by tid) and descriptors (by
 * number). A process's values are what its /proc files say (render.h):
 * the command line and environment from memory, the links, the status
 * lines of its credentials and capabilities. Environment values of names
 * that look secret are masked as triage masks them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "diff-priv.h"
#include "render.h"
#include "triage.h"

/* ---- values of a process ---- */

enum pv { PV_COMM, PV_CMDLINE, PV_EXE, PV_CWD, PV_ROOT, PV_STATE, PV_PPID, PV_STATUS };

/* The compared values in the order they are reported; a PV_STATUS value is
 * the status line @line (tabs as spaces). */
static const struct {
	const char *name;
	enum pv how;
	const char *line;
} proc_values[] = {
	{ "comm", PV_COMM, NULL }, { "cmdline", PV_CMDLINE, NULL }, { "exe", PV_EXE, NULL },
	{ "cwd", PV_CWD, NULL }, { "root", PV_ROOT, NULL }, { "state", PV_STATE, NULL },
	{ "ppid", PV_PPID, NULL }, { "uids", PV_STATUS, "Uid:" }, { "gids", PV_STATUS, "Gid:" },
	{ "groups", PV_STATUS, "Groups:" }, { "cap_inh", PV_STATUS, "CapInh:" },
	{ "cap_prm", PV_STATUS, "CapPrm:" }, { "cap_eff", PV_STATUS, "CapEff:" },
	{ "cap_bnd", PV_STATUS, "CapBnd:" }, { "cap_amb", PV_STATUS, "CapAmb:" },
};

/* The status line @key of @status (rendered), its value with tabs as spaces. */
static int status_value(const struct ck_buf *status, const char *key, struct ck_buf *out)
{
	size_t klen = strlen(key);

	for (const char *l = status->data; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t) (nl - l) : strlen(l);

		if (len >= klen && !strncmp(l, key, klen)) {
			for (size_t i = klen; i < len; i++)
				ck_buf_putc(out, l[i] == '\t' ? ' ' : l[i]);
			while (out->len && out->data[out->len - 1] == ' ')
				out->data[--out->len] = '\0';
			while (out->len && out->data[0] == ' ')
				memmove(out->data, out->data + 1, out->len--);
			return out->oom ? -ENOMEM : 0;
		}
		l += len + (nl != NULL);
	}
	return -ENOENT;
}

/* The command line as ps shows it: arguments joined by spaces. */
static int cmdline_value(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	int rc = render_cmdline(ck, p, out);

	for (size_t i = 0; rc == 0 && i < out->len; i++)
		if (!out->data[i])
			out->data[i] = i + 1 < out->len ? ' ' : '\0';
	if (rc == 0 && out->len && !out->data[out->len - 1])
		out->len = strlen(out->data);
	return rc;
}

/* Value @v of @p into @out: 0, -ENOENT (none: shown empty) or -errno. */
static int proc_value(const struct ckpt *ck, const struct ckpt_proc *p, size_t v, const struct ck_buf *status,
		      int status_rc, struct ck_buf *out)
{
	switch (proc_values[v].how) {
	case PV_COMM:
		if (!ckpt_leader_core(p))
			return -EIO;
		return ck_buf_puts(out, ckpt_proc_name(p) ? ckpt_proc_name(p) : "");
	case PV_CMDLINE:
		return cmdline_value(ck, p, out);
	case PV_EXE:
		if (!p->mm)
			return p->mm_err < 0 && !ckpt_is_zombie(p) ? -EIO : -ENOENT;
		return render_reg_path(ck, p->mm->exe_file_id, out);
	case PV_CWD:
	case PV_ROOT:
		if (!p->has_fs)
			return p->fs_err < 0 && p->fs_err != -ENOENT ? -EIO : -ENOENT;
		return render_reg_path(ck, proc_values[v].how == PV_CWD ? p->fs.cwd_id : p->fs.root_id, out);
	case PV_STATE:
		if (!ckpt_leader_core(p))
			return -EIO;
		return ck_buf_puts(out, ckpt_task_state_name(ckpt_task_state(p)));
	case PV_PPID:
		return ck_buf_printf(out, "%u", p->ppid);
	case PV_STATUS:
		return status_rc < 0 ? status_rc : status_value(status, proc_values[v].line, out);
	}
	return -EINVAL;
}

/* ---- the environment ---- */

struct env {
	const char *name, *val;
	size_t nlen, vlen, order;
};

static int env_name_cmp(const struct env *x, const struct env *y)
{
	int c = memcmp(x->name, y->name, CK_MIN(x->nlen, y->nlen));

	if (c || x->nlen == y->nlen)
		return c;
	return x->nlen < y->nlen ? -1 : 1;
}

static int env_cmp(const void *a, const void *b)
{
	const struct env *x = a, *y = b;

	return env_name_cmp(x, y) ?: (x->order < y->order ? -1 : x->order > y->order);
}

/* The NAME=VALUE entries of @b, sorted by name (then by their order). */
static int env_split(const struct ck_buf *b, struct env **ret, size_t *ret_n)
{
	size_t n = 0, k = 0;
	struct env *v;

	for (size_t i = 0; i < b->len; i++)
		n += !b->data[i] || i + 1 == b->len;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < b->len;) {
		const char *e = b->data + i;
		size_t len = strnlen(e, b->len - i);
		const char *eq = memchr(e, '=', len);

		if (len)
			v[k++] = (struct env) { .name = e, .nlen = eq ? (size_t) (eq - e) : len,
						.val = eq ? eq + 1 : e + len,
						.vlen = eq ? len - (size_t) (eq - e) - 1 : 0, .order = k };
		i += len + 1;
	}
	qsort(v, k, sizeof(*v), env_cmp);
	*ret = v;
	*ret_n = k;
	return 0;
}

/* One variable added (@a NULL), removed (@b NULL) or changed. */
static int env_event(struct diff_ctx *x, const struct env *a, const struct env *b)
{
	const struct env *e = a ? a : b;
	bool secret = triage_secret_name(e->name, e->nlen);
	_cleanup_(ck_buf_done) struct ck_buf from = { 0 }, to = { 0 };
	struct diff_event ev;

	if (a)
		triage_mask(&from, a->val, a->vlen, !secret);
	if (b)
		triage_mask(&to, b->val, b->vlen, !secret);
	if (from.oom || to.oom)
		return -ENOMEM;
	diff_ev(x, &ev, "process-changed");
	diff_str(&ev, "field", "environ");
	diff_strn(&ev, "name", e->name, e->nlen);
	if (a)
		diff_strn(&ev, "from", from.data, from.len);
	else
		diff_none(&ev, "from");
	if (b)
		diff_strn(&ev, "to", to.data, to.len);
	else
		diff_none(&ev, "to");
	return diff_emit(x, &ev);
}

static int diff_environ(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb,
			struct diff_skip *skip)
{
	_cleanup_(ck_buf_done) struct ck_buf ba = { 0 }, bb = { 0 };
	_cleanup_free_ struct env *ea = NULL, *eb = NULL;
	size_t na, nb, i = 0, j = 0;
	int ra = render_environ(x->a->ck, pa, &ba), rb = render_environ(x->b->ck, pb, &bb), rc;

	if (ra == -ENOMEM || rb == -ENOMEM)
		return -ENOMEM;
	if ((ra < 0 && ra != -ENOENT) || (rb < 0 && rb != -ENOENT)) {
		diff_skip_add(x, skip, "environ", ra == -ENOENT ? 0 : ra, rb == -ENOENT ? 0 : rb);
		return 0;
	}
	if (env_split(&ba, &ea, &na) < 0 || env_split(&bb, &eb, &nb) < 0)
		return -ENOMEM;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : env_name_cmp(&ea[i], &eb[j]);

		rc = 0;
		if (c == 0 && (ea[i].vlen != eb[j].vlen || memcmp(ea[i].val, eb[j].val, ea[i].vlen)))
			rc = env_event(x, &ea[i], &eb[j]);
		else if (c < 0)
			rc = env_event(x, &ea[i], NULL);
		else if (c > 0)
			rc = env_event(x, NULL, &eb[j]);
		if (rc < 0)
			return rc;
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/* ---- processes ---- */

static int diff_values(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb,
		       struct diff_skip *skip)
{
	_cleanup_(ck_buf_done) struct ck_buf sa = { 0 }, sb = { 0 };
	int rsa = render_status(x->a->ck, pa, NULL, &sa), rsb = render_status(x->b->ck, pb, NULL, &sb), rc;

	for (size_t v = 0; v < ARRAY_SIZE(proc_values); v++) {
		_cleanup_(ck_buf_done) struct ck_buf va = { 0 }, vb = { 0 };
		int ra = proc_value(x->a->ck, pa, v, &sa, rsa, &va), rb = proc_value(x->b->ck, pb, v, &sb, rsb, &vb);
		struct diff_event ev;

		if (ra == -ENOMEM || rb == -ENOMEM || va.oom || vb.oom)
			return -ENOMEM;
		if ((ra < 0 && ra != -ENOENT) || (rb < 0 && rb != -ENOENT)) {
			diff_skip_add(x, skip, proc_values[v].name, ra == -ENOENT ? 0 : ra, rb == -ENOENT ? 0 : rb);
			continue;
		}
		if (va.len == vb.len && !memcmp(va.data ?: "", vb.data ?: "", va.len))
			continue;
		diff_ev(x, &ev, "process-changed");
		rc = diff_change(x, &ev, proc_values[v].name, va.data ?: "", vb.data ?: "");
		if (rc < 0)
			return rc;
	}
	return diff_environ(x, pa, pb, skip);
}

/* ---- threads ---- */

static int tid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

/* The tids of @p, sorted. */
static uint32_t *tids(const struct ckpt_proc *p)
{
	uint32_t *v = calloc(p->n_threads + 1, sizeof(*v));

	for (size_t i = 0; v && i < p->n_threads; i++)
		v[i] = p->threads[i].tid;
	if (v)
		qsort(v, p->n_threads, sizeof(*v), tid_cmp);
	return v;
}

static int thread_event(struct diff_ctx *x, const struct ckpt_proc *p, uint32_t tid, const char *kind)
{
	const char *name = ckpt_thread_name(p, ckpt_thread_find(p, tid));
	struct diff_event ev;

	diff_ev(x, &ev, kind);
	diff_num(&ev, "tid", tid);
	diff_str(&ev, "name", name ? name : "");
	return diff_emit(x, &ev);
}

static int diff_threads(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb)
{
	_cleanup_free_ uint32_t *ta = tids(pa), *tb = tids(pb);
	size_t i = 0, j = 0;
	int rc = 0;

	if (!ta || !tb)
		return -ENOMEM;
	while (rc == 0 && (i < pa->n_threads || j < pb->n_threads)) {
		if (i < pa->n_threads && j < pb->n_threads && ta[i] == tb[j]) {
			i++;
			j++;
		} else if (i < pa->n_threads && (j == pb->n_threads || ta[i] < tb[j])) {
			rc = thread_event(x, pa, ta[i++], "thread-removed");
		} else {
			rc = thread_event(x, pb, tb[j++], "thread-added");
		}
	}
	return rc;
}

/* ---- descriptors ---- */

/* What an fd shows: its link text, and the pos and flags of its fdinfo. */
struct fdv {
	struct ck_buf target, info;
	const char *pos, *flags;
	size_t pos_len, flags_len;
	int err;
};

static void fdv_done(struct fdv *v)
{
	ck_buf_done(&v->target);
	ck_buf_done(&v->info);
}

/* The value of line @key of fdinfo text @info. */
static const char *fdinfo_value(const struct ck_buf *info, const char *key, size_t *ret_len)
{
	size_t klen = strlen(key);

	for (const char *l = info->data; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t) (nl - l) : strlen(l);

		if (len > klen && !strncmp(l, key, klen)) {
			*ret_len = len - klen;
			return l + klen;
		}
		l += len + (nl != NULL);
	}
	*ret_len = 0;
	return "";
}

static void fd_value(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_fdinfo *fd, struct fdv *v)
{
	const struct img_file *f = ckpt_file_find(ck, fd->id);

	v->err = f ? render_fd_target(ck, f, &v->target) : -EIO;
	v->err = v->err ?: render_fdinfo(ck, p, fd, &v->info);
	if (v->target.oom || v->info.oom)
		v->err = -ENOMEM;
	v->pos = fdinfo_value(&v->info, "pos:\t", &v->pos_len);
	v->flags = fdinfo_value(&v->info, "flags:\t", &v->flags_len);
}

static int fd_event(struct diff_ctx *x, const struct ckpt *ck, const struct ckpt_proc *p,
		    const struct img_fdinfo *fd, const char *kind)
{
	_cleanup_(fdv_done) struct fdv v = { 0 };
	struct diff_event ev;

	fd_value(ck, p, fd, &v);
	if (v.err == -ENOMEM)
		return -ENOMEM;
	diff_ev(x, &ev, kind);
	diff_num(&ev, "fd", fd->fd);
	diff_strn(&ev, "target", v.err ? "?" : v.target.data, v.err ? 1 : v.target.len);
	diff_strn(&ev, "pos", v.pos, v.pos_len);
	diff_strn(&ev, "flags", v.flags, v.flags_len);
	return diff_emit(x, &ev);
}

/* One fd-changed per value of @fa and @fb that differs. */
static int fd_both(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb,
		   const struct img_fdinfo *fa, const struct img_fdinfo *fb, struct diff_skip *skip)
{
	_cleanup_(fdv_done) struct fdv a = { 0 }, b = { 0 };
	struct {
		const char *name, *va, *vb;
		size_t la, lb;
	} vals[3];
	int rc;

	fd_value(x->a->ck, pa, fa, &a);
	fd_value(x->b->ck, pb, fb, &b);
	if (a.err == -ENOMEM || b.err == -ENOMEM)
		return -ENOMEM;
	if (a.err || b.err) {
		char name[32];

		snprintf(name, sizeof(name), "fd %u", fa->fd);
		diff_skip_add(x, skip, name, a.err, b.err);
		return 0;
	}
	vals[0] = (typeof(vals[0])) { "target", a.target.data, b.target.data, a.target.len, b.target.len };
	vals[1] = (typeof(vals[0])) { "pos", a.pos, b.pos, a.pos_len, b.pos_len };
	vals[2] = (typeof(vals[0])) { "flags", a.flags, b.flags, a.flags_len, b.flags_len };
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		struct diff_event ev;

		if (vals[i].la == vals[i].lb && !memcmp(vals[i].va, vals[i].vb, vals[i].la))
			continue;
		diff_ev(x, &ev, "fd-changed");
		diff_num(&ev, "fd", fb->fd);
		diff_strn(&ev, "target", b.target.data, b.target.len);
		diff_str(&ev, "field", vals[i].name);
		diff_strn(&ev, "from", vals[i].va, vals[i].la);
		diff_strn(&ev, "to", vals[i].vb, vals[i].lb);
		rc = diff_emit(x, &ev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int diff_fds(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb,
		    struct diff_skip *skip)
{
	int ea = pa->fds_err == -ENOENT ? 0 : pa->fds_err, eb = pb->fds_err == -ENOENT ? 0 : pb->fds_err;
	size_t i = 0, j = 0;
	int rc = 0;

	if (ea < 0 || eb < 0) {
		diff_skip_add(x, skip, "descriptors", ea, eb);
		return 0;
	}
	while (rc == 0 && (i < pa->n_fds || j < pb->n_fds)) {
		const struct img_fdinfo *fa = i < pa->n_fds ? &pa->fds[i] : NULL;
		const struct img_fdinfo *fb = j < pb->n_fds ? &pb->fds[j] : NULL;

		if (fa && fb && fa->fd == fb->fd) {
			rc = fd_both(x, pa, pb, fa, fb, skip);
			i++;
			j++;
		} else if (fa && (!fb || fa->fd < fb->fd)) {
			rc = fd_event(x, x->a->ck, pa, fa, "fd-removed");
			i++;
		} else {
			rc = fd_event(x, x->b->ck, pb, fb, "fd-added");
			j++;
		}
	}
	return rc;
}

/* ---- the walk ---- */

/* A process only one side has: @kind is process-added or process-removed. */
static int proc_one(struct diff_ctx *x, const struct ckpt *ck, const struct ckpt_proc *p, const char *kind)
{
	_cleanup_(ck_buf_done) struct ck_buf cmd = { 0 };
	struct diff_event ev;
	int rc;

	x->comm = ckpt_proc_name(p);
	rc = cmdline_value(ck, p, &cmd);
	if (rc == -ENOMEM || cmd.oom)
		return -ENOMEM;
	diff_ev(x, &ev, kind);
	diff_str(&ev, "comm", x->comm);
	diff_strn(&ev, "cmdline", cmd.data, rc < 0 ? 0 : cmd.len);
	diff_num(&ev, "ppid", p->ppid);
	rc = diff_emit(x, &ev);
	return rc ?: diff_net_proc(x, p->pid);
}

static int proc_both(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb)
{
	struct diff_skip skip = { 0 };
	int rc;

	x->comm = ckpt_proc_name(pb) ? ckpt_proc_name(pb) : ckpt_proc_name(pa);
	rc = diff_values(x, pa, pb, &skip);
	rc = rc ?: diff_threads(x, pa, pb);
	rc = rc ?: diff_fds(x, pa, pb, &skip);
	diff_skip_say(x, &skip, pa->pid);
	rc = rc ?: diff_net_proc(x, pa->pid);
	return rc ?: diff_mem(x, pa, pb);
}

int diff_procs(struct diff_ctx *x)
{
	const struct ckpt *ca = x->a->ck, *cb = x->b->ck;
	size_t na = ca ? ca->n_procs : 0, nb = cb ? cb->n_procs : 0, i = 0, j = 0;
	int rc = 0;

	x->group = DIFF_GROUP_PROC;
	while (rc == 0 && (i < na || j < nb)) {
		const struct ckpt_proc *pa = i < na ? &ca->procs[i] : NULL, *pb = j < nb ? &cb->procs[j] : NULL;

		x->pid = pa && (!pb || pa->pid <= pb->pid) ? pa->pid : pb->pid;
		if (pa && pb && pa->pid == pb->pid) {
			rc = proc_both(x, pa, pb);
			i++;
			j++;
		} else if (pa && (!pb || pa->pid < pb->pid)) {
			rc = proc_one(x, ca, pa, "process-removed");
			i++;
		} else {
			rc = proc_one(x, cb, pb, "process-added");
			j++;
		}
	}
	return rc;
}
