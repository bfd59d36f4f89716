/* SPDX-License-Identifier: Apache-2.0 */
/* modified-code: dumped pages inside an executable file mapping. CRIU dumps
 * only the pages of a private file mapping that were written (copied on
 * write), so such a page is code that was changed in memory, with one
 * exception (docs/formats.md §3.2): to run its parasite, CRIU writes 16
 * bytes at the start of the first VMA in address order that is executable
 * and at least 4096 bytes long, and writes the original bytes back. That
 * page is dumped whatever happened before, equal to what the process had
 * there; it is reported only when it differs from the file.
 *
 * The original of a page comes from, in this order: the memfd (a memfd
 * mapping), the ghost file (a deleted file), the rootfs diff, the
 * directory of --rootfs. With none, a dumped page other than the
 * parasite's is reported at medium, without its bytes compared. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckpt-content.h"
#include "triage-priv.h"

/* The most executable mappings with dumped pages one process has compared. */
#define CODE_VMAS_MAX 4096
/* Bytes of the original read at a time while comparing. */
#define CODE_CMP_CHUNK (64u << 10)
/* The bytes shown of a change. */
#define CODE_SHOW 64

enum orig_kind { ORIG_NONE, ORIG_MEM, ORIG_CONTENT, ORIG_ARC, ORIG_FD };

struct orig {
	enum orig_kind kind;
	const char *source;		/* "memfd", "ghost file", "rootfs-diff", "--rootfs" */
	const struct mem_space *mem;
	const struct ckpt_content *content;
	const struct arc *arc;
	const struct arc_entry *e;
	int fd;
};

struct code_vma {
	struct tr_code *c;
	const struct img_vma *v;
	char *path;			/* the file, as maps shows it */
	uint64_t para_start, para_end;	/* the parasite's page inside it, or both 0 */
	struct orig o;
	int open_err;			/* why there is no original: -ENOENT none found */
	uint64_t dumped;
	uint64_t first_other;		/* the first dumped address outside the parasite's page, or 0 */
	uint8_t other[CODE_SHOW];
	size_t other_len;
	uint64_t n_diff, first_diff, last_diff;	/* last_diff: of the first cluster */
	uint8_t shown[CODE_SHOW];
	size_t shown_len;
	int read_err;			/* reading the original failed */
};

struct tr_code {
	struct triage_proc *tp;
	struct code_vma *v;
	size_t n;
	uint8_t *fbuf;
};

static ssize_t orig_read(const void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct orig *o = ctx;

	switch (o->kind) {
	case ORIG_MEM:
		return off >= mem_size(o->mem) ? 0 : mem_read(o->mem, off, buf, len);
	case ORIG_CONTENT:
		return ckpt_content_read(o->content, buf, len, off);
	case ORIG_ARC:
		return arc_pread(o->arc, o->e, buf, len, off);
	case ORIG_FD:
		return ck_pread_full(o->fd, buf, len, (off_t) off);
	default:
		return -ENOENT;
	}
}

/* Find the original of the file VMA @v maps, named @path. */
static void orig_find(struct triage_proc *tp, const struct img_vma *v, const char *path, struct code_vma *cv)
{
	const struct triage_run *r = tp->r;
	const struct ckpt_content *data = NULL, *outq = NULL;
	const struct arc_entry *e;
	int fd;

	cv->open_err = -ENOENT;
	if (v->status & IMG_VMA_AREA_MEMFD) {
		if (ckpt_memfd_content(tp->ck, (uint32_t) v->shmid, &cv->o.mem) == 0)
			cv->o = (struct orig) { ORIG_MEM, "memfd", .mem = cv->o.mem };
		return;
	}
	ckpt_fd_contents(tp->ck, (uint32_t) v->shmid, &data, &outq);
	if (data && data->kind == CKPT_CONTENT_GHOST) {
		cv->o = (struct orig) { ORIG_CONTENT, "ghost file", .content = data };
		return;
	}
	if (!path || path[0] != '/')
		return;
	if ((e = tr_rootfs_find(r, path))) {
		cv->o = (struct orig) { ORIG_ARC, "rootfs-diff", .arc = r->o->rootfs_diff, .e = e };
		return;
	}
	if (r->o->rootfs_fd < 0)
		return;
	fd = tr_rootfs_open(r, path);
	if (fd < 0) {
		cv->open_err = fd;
		return;
	}
	cv->o = (struct orig) { ORIG_FD, "--rootfs", .fd = fd };
}

/* The page CRIU's parasite wrote to: the first page of the first VMA that
 * is executable, below the task size and at least 4096 bytes long. */
static const struct img_vma *parasite_vma(const struct ckpt_proc *p)
{
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const struct img_vma *v = &p->mm->vmas[i];

		if ((v->prot & IMG_PROT_EXEC) && !(v->status & IMG_VMA_AREA_VSYSCALL) && v->end - v->start >= 4096)
			return v;
	}
	return NULL;
}

/* Compare @len dumped bytes at @addr of @cv with the original. */
static void compare(struct tr_code *c, struct code_vma *cv, uint64_t addr, const uint8_t *p, size_t len,
		    size_t avail)
{
	for (size_t done = 0; done < len && !cv->read_err;) {
		size_t n = CK_MIN(len - done, (size_t) CODE_CMP_CHUNK);
		uint64_t off = cv->v->pgoff + (addr + done - cv->v->start);
		ssize_t got = orig_read(&cv->o, c->fbuf, n, off);

		if (got < 0) {
			cv->read_err = (int) got;
			return;
		}
		/* past the file's end a private mapping reads zeros */
		memset(c->fbuf + got, 0, n - (size_t) got);
		for (size_t i = 0; i < n; i++) {
			uint64_t a = addr + done + i;

			if (p[done + i] == c->fbuf[i])
				continue;
			if (!cv->n_diff++) {
				cv->first_diff = a;
				cv->shown_len = CK_MIN((size_t) CODE_SHOW, avail - (done + i));
				memcpy(cv->shown, p + done + i, cv->shown_len);
			}
			/* the first cluster: differences less than 16 bytes apart */
			if (a - cv->first_diff < CODE_SHOW && (a == cv->first_diff || a - cv->last_diff < 16))
				cv->last_diff = a;
		}
		done += n;
	}
}

static void code_bytes(void *ctx, uint64_t addr, const uint8_t *p, size_t len, size_t avail)
{
	struct code_vma *cv = ctx;
	/* the first byte of [addr, addr + len) outside the parasite's page */
	uint64_t other = addr < cv->para_start || addr >= cv->para_end ? addr : cv->para_end;

	cv->dumped += len;
	if (!cv->first_other && other < addr + len) {
		cv->first_other = other;
		cv->other_len = CK_MIN((size_t) CODE_SHOW, avail - (size_t) (other - addr));
		memcpy(cv->other, p + (other - addr), cv->other_len);
	}
	if (cv->o.kind != ORIG_NONE)
		compare(cv->c, cv, addr, p, len, avail);
}

void tr_code_free(struct tr_code *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		if (c->v[i].o.kind == ORIG_FD)
			close(c->v[i].o.fd);
	}
	free(c->v);
	free(c->fbuf);
	free(c);
}

/* The path of file VMA @v: the files.img name (a memfd's as maps shows it). */
static char *file_path(struct triage_proc *tp, const struct img_vma *v)
{
	const struct img_file *f = ckpt_file_find(tp->ck, (uint32_t) v->shmid);

	if (f && f->type == IMG_FD_REG && f->name)
		return strdup(f->name);
	return tr_vma_path(tp, v);
}

int tr_code_watch(struct triage_proc *tp, struct tr_code **ret)
{
	const struct img_mm *mm = tp->p->mm;
	const struct img_vma *para = parasite_vma(tp->p);
	struct tr_code *c = calloc(1, sizeof(*c));
	size_t more = 0;

	*ret = c;
	if (!c || !(c->fbuf = malloc(CODE_CMP_CHUNK)) ||
	    !(c->v = calloc(CK_MIN(mm->n_vmas, (size_t) CODE_VMAS_MAX) + 1, sizeof(*c->v))))
		return -ENOMEM;
	c->tp = tp;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];
		struct code_vma *cv = &c->v[c->n];

		if (!(v->prot & IMG_PROT_EXEC) || !(v->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_AREA_MEMFD)) ||
		    !mem_dumped_range(tp->p->mem, v->start, v->end))
			continue;
		if (c->n == CODE_VMAS_MAX) {
			more++;
			continue;
		}
		*cv = (struct code_vma) { .c = c, .v = v, .path = file_path(tp, v) };
		if (v == para) {
			cv->para_start = v->start;
			cv->para_end = v->start + tp->p->page_size;
		}
		orig_find(tp, v, cv->path, cv);
		c->n++;
		tr_watch_add(tp, v->start, v->end, code_bytes, cv);
	}
	if (more)
		tr_incomplete(tp->r, tp, "memory", "modified code: %zu executable mappings with dumped pages after the "
			      "first %d", more, CODE_VMAS_MAX);
	return tp->r->err;
}

/* Hex digits of @len bytes at @p. */
static void hex_value(struct triage_run *r, struct triage_finding *f, const char *key, const uint8_t *p, size_t len)
{
	char buf[2 * CODE_SHOW + 1];

	for (size_t i = 0; i < len && i < CODE_SHOW; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	buf[2 * CK_MIN(len, (size_t) CODE_SHOW)] = '\0';
	tr_str(r, f, key, "%s", buf);
}

/* A modified-code finding about @cv at @addr, the file offset in *@ret_off. */
static struct triage_finding *code_finding(struct triage_proc *tp, struct code_vma *cv, enum triage_severity sev,
					   uint64_t addr, uint64_t *ret_off)
{
	struct triage_finding *f = tr_new(tp->r, TRIAGE_MODIFIED_CODE, sev, tp);

	*ret_off = cv->v->pgoff + (addr - cv->v->start);
	if (!f)
		return NULL;
	f->has_address = true;
	f->address = addr;
	tr_vma(tp, f, cv->v);
	tr_path(tp->r, f, cv->path);
	tr_hex(tp->r, f, "file_offset", *ret_off);
	return f;
}

/* The bytes at @cv's first difference differ from its original. */
static void report_diff(struct triage_proc *tp, struct code_vma *cv)
{
	struct triage_run *r = tp->r;
	struct tr_file file = { orig_read, &cv->o };
	uint64_t off, delta;
	struct triage_finding *f = code_finding(tp, cv, TRIAGE_HIGH, cv->first_diff, &off);
	size_t len = (size_t) (cv->last_diff - cv->first_diff + 1);
	uint8_t orig[CODE_SHOW] = { 0 };
	char sym[128];

	if (!f)
		return;
	tr_int(r, f, "len", (int64_t) len);
	hex_value(r, f, "bytes", cv->shown, CK_MIN(len, cv->shown_len));
	if (orig_read(&cv->o, orig, len, off) >= 0)
		hex_value(r, f, "original", orig, len);
	tr_int(r, f, "differing_bytes", (int64_t) cv->n_diff);
	tr_int(r, f, "dumped", (int64_t) cv->dumped);
	tr_str(r, f, "original_from", "%s", cv->o.source);
	tr_bool(r, f, "parasite_page", cv->first_diff >= cv->para_start && cv->first_diff < cv->para_end);
	tr_excerpt(r, f, cv->first_diff, cv->shown, cv->shown_len);
	if (tr_elf_symbol(&file, off, sym, sizeof(sym), &delta) == 0) {
		tr_str(r, f, "symbol", "%s", sym);
		tr_hex(r, f, "symbol_offset", delta);
		tr_summary(r, f, "code differs from the file in %" PRIu64 " bytes, the first at %s+0x%" PRIx64
			   " (file offset 0x%" PRIx64 ")", cv->n_diff, sym, delta, off);
	} else {
		tr_summary(r, f, "code differs from the file in %" PRIu64 " bytes, the first at file offset 0x%" PRIx64,
			   cv->n_diff, off);
	}
}

/* Pages of @cv other than the parasite's were dumped; no original to
 * compare them with. */
static void report_unknown(struct triage_proc *tp, struct code_vma *cv)
{
	struct triage_run *r = tp->r;
	uint64_t off;
	struct triage_finding *f = code_finding(tp, cv, TRIAGE_MEDIUM, cv->first_other, &off);
	int err = cv->read_err ? cv->read_err : cv->open_err;

	if (!f)
		return;
	tr_int(r, f, "dumped", (int64_t) cv->dumped);
	tr_excerpt(r, f, cv->first_other, cv->other, cv->other_len);
	if (err != -ENOENT)
		tr_str(r, f, "original_error", "%s", strerror(-err));
	tr_summary(r, f, "pages of an executable file mapping were written (dumped from file offset 0x%" PRIx64
		   "); the file was not available to compare (--rootfs DIR)", off);
}

void tr_code_report(struct triage_proc *tp, struct tr_code *c)
{
	for (size_t i = 0; c && i < c->n; i++) {
		struct code_vma *cv = &c->v[i];

		if (cv->o.kind != ORIG_NONE && !cv->read_err) {
			if (cv->n_diff)
				report_diff(tp, cv);
		} else if (cv->first_other) {
			report_unknown(tp, cv);
		}
	}
}
