/* SPDX-License-Identifier: Apache-2.0 */
/* The triage driver (triage.h): every check on every process, then the
 * sockets and the rootfs diff; and the findings as the checks build them. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "triage-priv.h"

static const char *const kind_names[TRIAGE_KIND_COUNT] = {
	[TRIAGE_RWX_MEMORY] = "rwx-memory",
	[TRIAGE_ANON_EXEC] = "anon-exec",
	[TRIAGE_ELF_IN_ANON] = "elf-in-anon",
	[TRIAGE_MODIFIED_CODE] = "modified-code",
	[TRIAGE_DELETED_EXE] = "deleted-exe",
	[TRIAGE_MEMFD_EXE] = "memfd-exe",
	[TRIAGE_EXE_IN_TMP] = "exe-in-tmp",
	[TRIAGE_SHELL_ON_SOCKET] = "shell-on-socket",
	[TRIAGE_BASH_HISTORY] = "bash-history",
	[TRIAGE_LD_PRELOAD] = "ld-preload",
	[TRIAGE_ROOTFS_ADDED_EXEC] = "rootfs-added-exec",
	[TRIAGE_ROOTFS_PERSISTENCE] = "rootfs-persistence",
	[TRIAGE_LOG_DELETED] = "log-deleted",
	[TRIAGE_CONNECTION] = "connection",
	[TRIAGE_SECRET] = "secret",
	[TRIAGE_JIT_CODE] = "jit-code",
	[TRIAGE_INCOMPLETE] = "incomplete",
};

static const char *const severity_names[] = { "info", "low", "medium", "high" };

const char *triage_kind_name(enum triage_kind k)
{
	return k < TRIAGE_KIND_COUNT ? kind_names[k] : "?";
}

const char *triage_severity_name(enum triage_severity s)
{
	return (size_t) s < ARRAY_SIZE(severity_names) ? severity_names[s] : "?";
}

int triage_severity_parse(const char *s, enum triage_severity *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(severity_names); i++)
		if (!strcmp(s, severity_names[i])) {
			*ret = (enum triage_severity) i;
			return 0;
		}
	return -EINVAL;
}

static void value_done(struct triage_value *v)
{
	free(v->s);
	free(v->ints);
	free(v->us);
	for (size_t i = 0; v->strs && i < v->n; i++)
		free(v->strs[i]);
	free(v->strs);
}

static void finding_free(struct triage_finding *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->summary);
	free(f->maps);
	free(f->excerpt);
	for (size_t i = 0; i < f->n_values; i++)
		value_done(&f->values[i]);
	free(f->values);
	for (size_t i = 0; i < f->n_commands; i++)
		free(f->commands[i].command);
	free(f->commands);
	free(f);
}

void triage_report_done(struct triage_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		finding_free(r->v[i]);
	free(r->v);
	*r = (struct triage_report) { 0 };
}

static void oom(struct triage_run *r)
{
	r->err = -ENOMEM;
}

static struct triage_finding *add(struct triage_run *r, enum triage_kind kind, enum triage_severity sev,
				  const struct triage_proc *tp)
{
	struct triage_finding **v = reallocarray(r->out->v, r->out->n + 1, sizeof(*v));
	struct triage_finding *f = calloc(1, sizeof(*f));

	if (v)
		r->out->v = v;
	if (!v || !f) {
		free(f);
		oom(r);
		return NULL;
	}
	f->kind = kind;
	f->severity = sev;
	if (tp) {
		f->has_pid = true;
		f->pid = tp->p->pid;
		snprintf(f->comm, sizeof(f->comm), "%s", tp->comm);
	}
	r->out->v[r->out->n++] = f;
	return f;
}

struct triage_finding *tr_new(struct triage_run *r, enum triage_kind kind, enum triage_severity sev,
			      const struct triage_proc *tp)
{
	if (r->count[kind] >= TRIAGE_KIND_MAX) {
		if (!r->left_out[kind]++ || sev > r->left_out_sev[kind])
			r->left_out_sev[kind] = sev;
		return NULL;
	}
	r->count[kind]++;
	return add(r, kind, sev, tp);
}

/* One finding per kind that had more than TRIAGE_KIND_MAX: how many more. */
static void left_out(struct triage_run *r)
{
	for (size_t k = 0; k < TRIAGE_KIND_COUNT; k++) {
		struct triage_finding *f;

		if (!r->left_out[k])
			continue;
		f = add(r, (enum triage_kind) k, r->left_out_sev[k], NULL);
		tr_int(r, f, "left_out", (int64_t) r->left_out[k]);
		if (k == TRIAGE_INCOMPLETE)
			tr_summary(r, f, "%zu more checks that could not be made are not listed (the first %d are)",
				   r->left_out[k], TRIAGE_KIND_MAX);
		else
			tr_summary(r, f, "%zu more findings of this kind are not listed (the first %d are)",
				   r->left_out[k], TRIAGE_KIND_MAX);
	}
}

/* vasprintf into *@dst (replacing it). */
static void set_text(struct triage_run *r, char **dst, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		oom(r);
		return;
	}
	free(*dst);
	*dst = s;
}

void tr_summary(struct triage_run *r, struct triage_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	set_text(r, &f->summary, fmt, ap);
	va_end(ap);
}

void tr_path(struct triage_run *r, struct triage_finding *f, const char *path)
{
	if (!f || !path)
		return;
	free(f->path);
	if (!(f->path = strdup(path)))
		oom(r);
}

/* A new value @key of @type in @f, or NULL. */
static struct triage_value *value_new(struct triage_run *r, struct triage_finding *f, const char *key,
				      enum triage_value_type type)
{
	struct triage_value *v;

	if (!f)
		return NULL;
	v = reallocarray(f->values, f->n_values + 1, sizeof(*v));
	if (!v) {
		oom(r);
		return NULL;
	}
	f->values = v;
	v = &f->values[f->n_values++];
	*v = (struct triage_value) { .key = key, .type = type };
	return v;
}

void tr_str(struct triage_run *r, struct triage_finding *f, const char *key, const char *fmt, ...)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_STR);
	va_list ap;

	if (!v)
		return;
	va_start(ap, fmt);
	set_text(r, &v->s, fmt, ap);
	va_end(ap);
}

void tr_strn(struct triage_run *r, struct triage_finding *f, const char *key, const char *s, size_t len)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_STR);

	if (v && !(v->s = strndup(s, len)))
		oom(r);
}

void tr_int(struct triage_run *r, struct triage_finding *f, const char *key, int64_t i)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_INT);

	if (v)
		v->i = i;
}

void tr_hex(struct triage_run *r, struct triage_finding *f, const char *key, uint64_t u)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_HEX);

	if (v)
		v->u = u;
}

void tr_bool(struct triage_run *r, struct triage_finding *f, const char *key, bool b)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_BOOL);

	if (v)
		v->i = b;
}

void tr_ints(struct triage_run *r, struct triage_finding *f, const char *key, const int64_t *ints, size_t n)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_INTS);

	if (!v || !n)
		return;
	if (!(v->ints = malloc(n * sizeof(*ints)))) {
		oom(r);
		return;
	}
	memcpy(v->ints, ints, n * sizeof(*ints));
	v->n = n;
}

void tr_strs(struct triage_run *r, struct triage_finding *f, const char *key, const char *const *strs, size_t n)
{
	struct triage_value *v = value_new(r, f, key, TRIAGE_V_STRS);

	if (!v || !n)
		return;
	if (!(v->strs = calloc(n, sizeof(*v->strs)))) {
		oom(r);
		return;
	}
	v->n = n;
	for (size_t i = 0; i < n; i++)
		if (!(v->strs[i] = strdup(strs[i])))
			oom(r);
}

void tr_hexes_add(struct triage_run *r, struct triage_finding *f, const char *key, uint64_t u)
{
	struct triage_value *v = NULL;
	uint64_t *us;

	if (!f)
		return;
	for (size_t i = 0; i < f->n_values && !v; i++)
		if (f->values[i].type == TRIAGE_V_HEXES && !strcmp(f->values[i].key, key))
			v = &f->values[i];
	if (!v && !(v = value_new(r, f, key, TRIAGE_V_HEXES)))
		return;
	us = reallocarray(v->us, v->n + 1, sizeof(*us));
	if (!us) {
		oom(r);
		return;
	}
	v->us = us;
	v->us[v->n++] = u;
}

void tr_vma(struct triage_proc *tp, struct triage_finding *f, const struct img_vma *v)
{
	struct ck_buf b = { 0 };

	if (!f)
		return;
	if (!f->has_range) {
		f->has_range = true;
		f->start = v->start;
		f->end = v->end;
	}
	if (render_maps_line(tp->ck, tp->p, v, &b) < 0 || b.oom) {
		ck_buf_done(&b);
		return;
	}
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	free(f->maps);
	f->maps = ck_buf_steal(&b, NULL);
}

void tr_excerpt(struct triage_run *r, struct triage_finding *f, uint64_t addr, const uint8_t *p, size_t len)
{
	if (!f || !len)
		return;
	free(f->excerpt);
	f->excerpt_len = 0;
	if (!(f->excerpt = malloc(len))) {
		oom(r);
		return;
	}
	memcpy(f->excerpt, p, len);
	f->excerpt_len = len;
	f->excerpt_addr = addr;
}

void tr_incomplete(struct triage_run *r, const struct triage_proc *tp, const char *check, const char *fmt, ...)
{
	struct triage_finding *f = tr_new(r, TRIAGE_INCOMPLETE, TRIAGE_MEDIUM, tp);
	va_list ap;

	if (!f)
		return;
	tr_str(r, f, "check", "%s", check);
	va_start(ap, fmt);
	set_text(r, &f->summary, fmt, ap);
	va_end(ap);
}

/* ---- VMAs and paths ---- */

static bool vma_before(const void *ctx, size_t i)
{
	const uint64_t *key = ctx;
	const struct img_vma *v = (const struct img_vma *) key[1];

	return v[i].end <= key[0];
}

const struct img_vma *tr_vma_at(const struct ckpt_proc *p, uint64_t addr)
{
	uint64_t key[2] = { addr, 0 };
	size_t i;

	if (!p->mm || !p->mm->n_vmas)
		return NULL;
	key[1] = (uint64_t) (uintptr_t) p->mm->vmas;
	i = ck_lower_bound(p->mm->n_vmas, vma_before, key);
	return i < p->mm->n_vmas && p->mm->vmas[i].start <= addr && addr < p->mm->vmas[i].end ? &p->mm->vmas[i]
											      : NULL;
}

bool tr_vma_anon(const struct img_vma *v)
{
	if (v->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED | IMG_VMA_AREA_MEMFD | IMG_VMA_AREA_SYSVIPC |
			 IMG_VMA_AREA_VDSO | IMG_VMA_AREA_VVAR | IMG_VMA_AREA_VSYSCALL | IMG_VMA_AREA_SOCKET |
			 IMG_VMA_AREA_AIORING))
		return false;
	return true;
}

char *tr_vma_path(const struct triage_proc *tp, const struct img_vma *v)
{
	struct ck_buf b = { 0 };

	if (!(v->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED | IMG_VMA_AREA_MEMFD)))
		return NULL;
	if (render_maps_line(tp->ck, tp->p, v, &b) < 0 || b.oom) {
		ck_buf_done(&b);
		return NULL;
	}
	/* the path is the sixth column of the line */
	{
		const char *s = b.data;
		char *path;

		for (int col = 0; col < 5 && s; col++) {
			s = strchr(s, ' ');
			s = s ? s + strspn(s, " ") : NULL;
		}
		path = s ? strndup(s, strcspn(s, "\n")) : NULL;
		ck_buf_done(&b);
		return path;
	}
}

const char *tr_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool tr_tmp_path(const char *path)
{
	static const char *const dirs[] = { "/tmp/", "/var/tmp/", "/dev/shm/" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

/* ---- the run ---- */

/* What every check of @tp needs: the name, the exe, the stack. */
static void proc_setup(struct triage_proc *tp)
{
	const struct ckpt_proc *p = tp->p;
	const char *name = ckpt_proc_name(p);
	struct ck_buf b = { 0 };

	tp->comm = name && *name ? name : "?";
	if (p->mm && render_reg_path(tp->ck, p->mm->exe_file_id, &b) == 0 && !b.oom)
		tp->exe = ck_buf_steal(&b, NULL);
	ck_buf_done(&b);
	if (p->mm)
		tp->stack = tr_vma_at(p, p->mm->mm_start_stack);
	tp->bash = !strcmp(tp->comm, "bash");
	if (tp->exe) {
		const char *base = tr_basename(tp->exe);
		size_t n = strcspn(base, " ");

		tp->bash = n == 4 && !strncmp(base, "bash", 4);
		tp->dash = n == 4 && !strncmp(base, "dash", 4);
	}
}

/* The memory checks of @tp: maps, the pass, modified code, history. */
static void proc_memory(struct triage_proc *tp)
{
	const struct ckpt_proc *p = tp->p;
	struct tr_code *code = NULL;

	if (!p->mm) {
		if (p->mm_err < 0)
			tr_incomplete(tp->r, tp, "maps", "memory maps: mm-%u.img cannot be read (%s)",
				      p->pid, strerror(-p->mm_err));
		return;
	}
	tr_jit_find(tp);
	tr_maps_check(tp);
	if (!p->mem) {
		if (p->mem_err < 0)
			tr_incomplete(tp->r, tp, "memory",
				      "memory: pagemap-%u.img or its pages cannot be read (%s)", p->pid,
				      strerror(-p->mem_err));
		return;
	}
	if (tr_code_watch(tp, &code) < 0 || tr_scan(tp) < 0)
		tp->r->err = -ENOMEM;
	else
		tr_code_report(tp, code);
	tr_code_free(code);
	if (tp->bad_bytes)
		tr_incomplete(tp->r, tp, "memory", "memory: %" PRIu64 " bytes from 0x%" PRIx64
			      " cannot be read (%s)", tp->bad_bytes, tp->bad_first,
			      strerror(-tp->bad_err));
	if (mem_missing_count(p->mem)) {
		const struct mem_range *m = mem_missing_at(p->mem, 0);
		uint64_t bytes = 0;

		for (size_t i = 0; i < mem_missing_count(p->mem); i++)
			bytes += mem_missing_at(p->mem, i)->len;
		tr_incomplete(tp->r, tp, "memory", "memory: %" PRIu64 " bytes in %zu ranges (the first 0x%" PRIx64 "-0x%" PRIx64
			      ") are kept in a parent checkpoint that was not given (-o parent=)", bytes,
			      mem_missing_count(p->mem), m->vaddr, m->vaddr + m->len);
	}
	if (tp->bash)
		tr_history(tp);
	if (tp->dash)
		tr_dash_input(tp);
}

int triage_checkpoint(const struct ckpt *ck, const struct triage_opts *o, struct triage_report *out)
{
	struct triage_run r = { .ck = ck, .o = o, .out = out };

	for (size_t i = 0; i < ck->n_procs && !r.err; i++) {
		struct triage_proc tp = { .r = &r, .ck = ck, .p = &ck->procs[i] };

		if (ckpt_is_zombie(tp.p))
			continue;
		proc_setup(&tp);
		tr_proc_check(&tp);
		proc_memory(&tp);
		tr_secrets_done(&tp);
		free(tp.exe);
		free(tp.w);
	}
	if (!r.err)
		tr_connections(&r);
	if (!r.err)
		tr_rootfs_check(&r);
	left_out(&r);
	return r.err;
}
