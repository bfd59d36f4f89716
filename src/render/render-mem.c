/* SPDX-License-Identifier: Apache-2.0 */
/* The views read from the task's memory or saved vectors: cmdline, environ
 * (fs/proc/base.c semantics, setproctitle case included) and auxv.
 * Bytes whose page was not dumped are unknown: the file stops before the
 * first of them, as /proc does when it cannot read the task's memory. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

/* Append [addr, addr + len) of @p's memory, stopping before the first byte
 * whose page was not dumped; with @upto_nul, also after the first NUL. */
static int put_mem(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t addr, uint64_t len,
		   bool upto_nul, struct ck_buf *out)
{
	uint64_t ps = render_page_size(ck);
	char buf[4096];

	while (len) {
		uint64_t n = CK_MIN(len, ps - (addr & (ps - 1)));
		ssize_t got;
		char *nul;

		n = CK_MIN(n, (uint64_t)sizeof(buf));
		if (!mem_is_dumped(p->mem, addr, n))
			break;
		got = mem_read(p->mem, addr, buf, n);
		if (got < 0)
			return (int)got;
		if (got == 0)
			break;
		nul = upto_nul ? memchr(buf, '\0', got) : NULL;
		if (nul) {
			ck_buf_add(out, buf, nul - buf + 1);
			break;
		}
		ck_buf_add(out, buf, got);
		if ((uint64_t)got < n)
			break;
		addr += got;
		len -= got;
	}
	return 0;
}

/* The mm and memory of @p for cmdline/environ, or *ret_mm = NULL for an empty file. */
static int mem_view(const struct ckpt_proc *p, const struct img_mm **ret_mm)
{
	const struct img_mm *mm;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0)
		return rc;
	if (mm && !p->mem) {
		if (p->mem_err < 0)
			return -EIO;
		mm = NULL;	/* nothing was dumped: every byte is unknown */
	}
	*ret_mm = mm;
	return 0;
}

static int put_cmdline(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_mm *mm;
	uint64_t arg_start, arg_end, env_start, env_end;
	char last;
	int rc;

	rc = mem_view(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	arg_start = mm->mm_arg_start;
	arg_end = mm->mm_arg_end;
	env_start = mm->mm_env_start;
	env_end = mm->mm_env_end;
	if (!env_end || arg_start >= arg_end)
		return 0;
	/* setproctitle() may run past argv, but only into the environment. */
	if (env_start != arg_end || env_end < env_start)
		env_end = arg_end;
	if (mem_is_dumped(p->mem, arg_end - 1, 1) && mem_read(p->mem, arg_end - 1, &last, 1) == 1 &&
	    last != '\0')
		return put_mem(ck, p, arg_start, CK_MIN(env_end - arg_start, render_page_size(ck)), true, out);
	return put_mem(ck, p, arg_start, arg_end - arg_start, false, out);
}

int render_cmdline(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_cmdline(ck, p, out));
}

static int put_environ(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_mm *mm;
	int rc;

	rc = mem_view(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	if (!mm->mm_env_end || mm->mm_env_start >= mm->mm_env_end)
		return 0;
	return put_mem(ck, p, mm->mm_env_start, mm->mm_env_end - mm->mm_env_start, false, out);
}

int render_environ(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_environ(ck, p, out));
}

static void put_u64(struct ck_buf *out, uint64_t v)
{
	ck_buf_add(out, &v, sizeof(v));
}

int render_auxv(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_mm *mm;
	size_t start = out->len, i;
	int rc;

	(void)ck;
	rc = render_proc_mm(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	/* The saved vector may be cut before AT_NULL (CRIU keeps 44 words). */
	for (i = 0; i + 1 < mm->n_auxv; i += 2) {
		put_u64(out, mm->auxv[i]);
		put_u64(out, mm->auxv[i + 1]);
		if (mm->auxv[i] == 0)
			return render_finish(out, start, 0);
	}
	put_u64(out, 0);
	put_u64(out, 0);
	return render_finish(out, start, 0);
}
